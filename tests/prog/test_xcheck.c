// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_xcheck.c - the packet corpus through the userspace-built parser and the real router: verdicts agree */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/bpf.h>

#include "cellgate/abi/consts.h"
#include "cellgate/abi/hash.h"
#include "cellgate/dataplane.h"
#include "pkt.h"
#include "rtenv.h"
#include "testrun.h"
#include "testskip.h"
#include "uparse.h"

/*
 * Every frame of tests/fuzz/corpus/fuzz_packet/ (and of the folders in
 * $XCHECK_CORPUS, ':'-separated, e.g. what `make fuzz` found in
 * build/fuzz/corpus/fuzz_packet) goes through uparse_flow(), bpf/parse.h
 * compiled for userspace with the VIP filter the router's map holds, and
 * through router.bpf.c with BPF_PROG_TEST_RUN. Exactly one global counter
 * slot must count the frame, and "agree" means:
 *
 *   parser says       the program returns   and counts
 *   NOT_IP            XDP_PASS              CG_STAT_PASS_NOT_IP
 *   L4_OTHER          XDP_PASS              CG_STAT_PASS_L4_OTHER
 *   V6_EXT            XDP_PASS              CG_STAT_PASS_V6_EXT
 *   NOT_VIP           XDP_PASS              CG_STAT_PASS_NO_SERVICE
 *   MALFORMED         XDP_DROP              CG_STAT_DROP_MALFORMED
 *   L2_GROUP          XDP_DROP              CG_STAT_DROP_L2_GROUP
 *   MARTIAN           XDP_DROP              CG_STAT_DROP_MARTIAN
 *   PORT_ZERO         XDP_DROP              CG_STAT_DROP_PORT_ZERO
 *   OK                any verdict           any slot but those eight parse ones: the packet
 *                                           got past parsing (PASS_NO_SERVICE included, a
 *                                           port of a VIP with no service)
 *
 * A frame shorter than an Ethernet header is not run (the kernel refuses
 * it); the parser must call it MALFORMED.
 *
 * The addresses match tests/fuzz/gen_packets.c, which made the seeds.
 */
#define VIP4 "198.51.100.10"
#define VIP6 "2001:db8:100::10"
#define CORPUS "tests/fuzz/corpus/fuzz_packet"
#define MAC(last) { 0x02, 0x00, 0x5e, 0x10, 0x00, (last) }

static struct cg_dp *dp;
static int prog_fd = -1;
static struct cg_vip_filter vf; /* what the router's vips map holds */

/* Does the program's (verdict, counted slot) agree with the parser's res? (the table above) */
static bool agree(int res, uint32_t verdict, int stat)
{
	switch (res) {
	case UPARSE_NOT_IP:
		return verdict == XDP_PASS && stat == CG_STAT_PASS_NOT_IP;
	case UPARSE_L4_OTHER:
		return verdict == XDP_PASS && stat == CG_STAT_PASS_L4_OTHER;
	case UPARSE_V6_EXT:
		return verdict == XDP_PASS && stat == CG_STAT_PASS_V6_EXT;
	case UPARSE_NOT_VIP:
		return verdict == XDP_PASS && stat == CG_STAT_PASS_NO_SERVICE;
	case UPARSE_MALFORMED:
		return verdict == XDP_DROP && stat == CG_STAT_DROP_MALFORMED;
	case UPARSE_L2_GROUP:
		return verdict == XDP_DROP && stat == CG_STAT_DROP_L2_GROUP;
	case UPARSE_MARTIAN:
		return verdict == XDP_DROP && stat == CG_STAT_DROP_MARTIAN;
	case UPARSE_PORT_ZERO:
		return verdict == XDP_DROP && stat == CG_STAT_DROP_PORT_ZERO;
	case UPARSE_OK:
		return stat >= 0 && stat < CG_STAT_MAX && stat != CG_STAT_PASS_NOT_IP &&
		       stat != CG_STAT_PASS_L4_OTHER && stat != CG_STAT_PASS_V6_EXT &&
		       stat != CG_STAT_DROP_MALFORMED && stat != CG_STAT_DROP_L2_GROUP &&
		       stat != CG_STAT_DROP_MARTIAN && stat != CG_STAT_DROP_PORT_ZERO;
	}
	return false;
}

static void vf_add(const char *vip)
{
	uint32_t a[4];
	int family = rtenv_addr(vip, a);
	uint32_t b;

	assert_true(family);
	b = cg_vip_bucket(a, (uint8_t)family);
	vf.bits[b / 64] |= 1ULL << (b % 64);
}

static int setup_all(void **state)
{
	static const uint8_t mac[6] = MAC(0xa1);
	static const uint32_t ids[] = { 1, 2 };
	static const struct {
		const char *vip;
		uint8_t proto;
	} svcs[] = { { VIP4, 6 }, { VIP4, 17 }, { VIP6, 6 }, { VIP6, 17 } };

	(void)state;
	dp = rtenv_open(65536, "198.18.0.1", "2001:db8::1", 1500);
	if (!dp) {
		fprintf(stderr, "cannot load the router: %s\n", strerror(errno));
		return -1;
	}
	prog_fd = cg_dp_prog_fd(dp);
	if (rtenv_cell(dp, 1, "198.18.1.10", 0, 0, mac) ||
	    rtenv_cell(dp, 2, "2001:db8:1::10", 6080, 0, mac))
		return -1;
	for (uint32_t i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++)
		if (rtenv_service(dp, i + 1, svcs[i].vip, 80, svcs[i].proto, 0, 1) ||
		    rtenv_table(dp, i + 1, ids, 2, CG_DEFAULT_TABLE_SIZE))
			return -1;
	vf_add(VIP4);
	vf_add(VIP6);
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	cg_dp_close(dp);
	dp = NULL;
	return 0;
}

/* The one global slot that counted a packet between before and after, -1 if not exactly one. */
static int counted_slot(const struct cg_counter *before, const struct cg_counter *after)
{
	int slot = -1;

	for (int i = 0; i < CG_STAT_MAX; i++) {
		if (after[i].packets == before[i].packets)
			continue;
		if (slot >= 0 || after[i].packets != before[i].packets + 1)
			return -1;
		slot = i;
	}
	return slot;
}

/* Cross-check one frame; prints and returns false on a disagreement. */
static bool xcheck_frame(const char *path, const uint8_t *frame, size_t len)
{
	static uint8_t out[TPKT_MAX_FRAME + 256];
	struct cg_counter before[CG_STAT_MAX], after[CG_STAT_MAX];
	struct uparse_pkt p;
	uint32_t verdict = 0;
	size_t out_len = 0;
	int res, slot, ret;

	res = uparse_flow(frame, len, &vf, &p);
	if (len < TPKT_ETH_HLEN) {
		if (res == UPARSE_MALFORMED)
			return true;
		fprintf(stderr, "%s: %zu bytes: parser says %s, not MALFORMED\n", path, len,
			uparse_res_name(res));
		return false;
	}
	assert_int_equal(cg_dp_stats_read(dp, before), 0);
	ret = trun_xdp(prog_fd, frame, len, out, sizeof(out), &out_len, &verdict);
	if (ret) {
		fprintf(stderr, "%s: test run: %s\n", path, strerror(-ret));
		return false;
	}
	assert_int_equal(cg_dp_stats_read(dp, after), 0);
	slot = counted_slot(before, after);
	if (agree(res, verdict, slot))
		return true;
	fprintf(stderr, "%s: parser says %s, the router %s counted in slot %d\n", path,
		uparse_res_name(res), trun_verdict_name(verdict), slot);
	return false;
}

/* Cross-check every file of dir; returns how many disagree, adds the files seen to *n. */
static int xcheck_dir(const char *dir, size_t *n)
{
	static uint8_t frame[TPKT_MAX_FRAME];
	char path[4096];
	struct dirent *de;
	int bad = 0;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "cannot open '%s': %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		size_t len;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		if (!f) {
			fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
			bad++;
			continue;
		}
		len = fread(frame, 1, sizeof(frame), f);
		fclose(f);
		bad += !xcheck_frame(path, frame, len);
		(*n)++;
	}
	closedir(d);
	return bad;
}

static void test_corpus_verdicts_agree(void **state)
{
	const char *more = getenv("XCHECK_CORPUS");
	size_t n = 0;
	int bad;

	(void)state;
	bad = xcheck_dir(CORPUS, &n);
	if (more && *more) {
		char *list = strdup(more), *save = NULL;

		assert_non_null(list);
		for (char *dir = strtok_r(list, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
			bad += xcheck_dir(dir, &n);
		free(list);
	}
	printf("xcheck: %zu frames, %d disagree\n", n, bad);
	assert_true(n >= 20); /* the committed seeds at least */
	assert_int_equal(bad, 0);
}

/* The check itself can fail: wrong pairings are refused, whichever way they are wrong. */
static void test_agree_refuses_mismatches(void **state)
{
	(void)state;
	assert_true(agree(UPARSE_MALFORMED, XDP_DROP, CG_STAT_DROP_MALFORMED));
	assert_false(agree(UPARSE_MALFORMED, XDP_PASS, CG_STAT_PASS_NOT_IP));
	assert_false(agree(UPARSE_MALFORMED, XDP_DROP, CG_STAT_DROP_NO_CELL));
	assert_false(agree(UPARSE_NOT_IP, XDP_DROP, CG_STAT_PASS_NOT_IP));
	assert_false(agree(UPARSE_NOT_VIP, XDP_PASS, CG_STAT_PASS_L4_OTHER));
	assert_true(agree(UPARSE_OK, XDP_TX, CG_STAT_FWD));
	assert_true(agree(UPARSE_OK, XDP_PASS, CG_STAT_PASS_NO_SERVICE));
	assert_false(agree(UPARSE_OK, XDP_DROP, CG_STAT_DROP_MALFORMED));
	assert_false(agree(UPARSE_OK, XDP_PASS, CG_STAT_PASS_V6_EXT));
	assert_false(agree(UPARSE_OK, XDP_TX, -1)); /* counted twice or not at all */
	assert_int_equal(counted_slot((struct cg_counter[CG_STAT_MAX]){ 0 },
				      (struct cg_counter[CG_STAT_MAX]){ [3] = { .packets = 2 } }),
			 -1);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_agree_refuses_mismatches),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_verdicts_agree),
	};
	int failed;

	failed = cmocka_run_group_tests_name("xcheck_rules", pure, NULL, NULL);
	failed += cg_test_run_group(tests, setup_all, teardown_all,
				    geteuid() != 0 ? "needs root (BPF)" : NULL);
	return failed;
}
