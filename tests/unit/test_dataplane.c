/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_dataplane.c - unit tests of the data-plane library against the real kernel (root) */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "cellgate/dataplane.h"
#include "cellgate/abi/hash.h"
#include "testseed.h"
#include "testskip.h"

#define BIG 65537     /* CG_DEFAULT_TABLE_SIZE */
#define SMALL 251     /* another prime, for size changes */
#define CONNS 4096    /* conntrack entries per CPU in the plain fixture */
#define VETH "cgt0"   /* made in the test's own network namespace */
#define VETH_PEER "cgt1"

/* What each test works on; torn down even when an assertion ends the test. */
struct fx {
	struct cg_dp *dp;  /* the data plane under test, NULL once closed */
	char pin_dir[64];  /* /sys/fs/bpf/cg-test-<pid>, for the tests that pin */
	bool veth;         /* VETH was created */
};

static bool is_root;

/* xorshift64*: a fixed, seeded PRNG so every run builds the same tables. */
static uint64_t prng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint32_t *table_random(uint32_t size, uint32_t ncells, uint64_t seed)
{
	uint32_t *t = malloc(size * sizeof(*t));
	uint32_t i;

	assert_non_null(t);
	for (i = 0; i < size; i++)
		t[i] = (uint32_t)(prng_next(&seed) % ncells);
	return t;
}

static uint32_t *table_fill(uint32_t size, uint32_t cell)
{
	uint32_t *t = malloc(size * sizeof(*t));
	uint32_t i;

	assert_non_null(t);
	for (i = 0; i < size; i++)
		t[i] = cell;
	return t;
}

/* The live table of service_id must be exactly want[0..size-1]. */
static void assert_table(struct cg_dp *dp, uint32_t service_id, const uint32_t *want, uint32_t size)
{
	uint32_t *got = calloc(CG_MAX_TABLE_SIZE, sizeof(*got));
	uint32_t n = 0;

	assert_non_null(got);
	assert_int_equal(cg_dp_table_read(dp, service_id, got, CG_MAX_TABLE_SIZE, &n), 0);
	assert_int_equal(n, size);
	assert_memory_equal(got, want, size * sizeof(*want));
	free(got);
}

static struct cg_service_key svc_key4(const char *vip, uint16_t port, uint8_t proto)
{
	struct cg_service_key k = { .port = htons(port), .proto = proto, .family = CG_AF_INET };

	assert_int_equal(inet_pton(AF_INET, vip, &k.addr[0]), 1);
	return k;
}

static struct cg_cell cell4(const char *gw, uint8_t region, uint8_t last_mac)
{
	struct cg_cell c = {
		.state = CG_CELL_ACTIVE,
		.encap = CG_ENCAP_IPIP,
		.family = CG_AF_INET,
		.region = region,
		.dmac = { 0x02, 0, 0, 0, 0, last_mac },
	};

	assert_int_equal(inet_pton(AF_INET, gw, &c.gw[0]), 1);
	return c;
}

static struct cg_flow_key flow4(const char *src, uint16_t sport, const char *vip, uint16_t dport)
{
	struct cg_flow_key k = {
		.sport = htons(sport),
		.dport = htons(dport),
		.proto = IPPROTO_UDP,
		.family = CG_AF_INET,
	};

	assert_int_equal(inet_pton(AF_INET, src, &k.saddr[0]), 1);
	assert_int_equal(inet_pton(AF_INET, vip, &k.daddr[0]), 1);
	return k;
}

/* Remove a pin directory and whatever is in it, without the library. */
static void rm_pins(const char *dir)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static bool path_exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s%s", dir, name ? "/" : "", name ? name : "");
	return stat(path, &st) == 0;
}

static uint32_t prog_id(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
	return info.id;
}

static uint32_t xdp_prog_on(int ifindex)
{
	uint32_t id = 0;

	assert_int_equal(bpf_xdp_query_id(ifindex, 0, &id), 0);
	return id;
}

static struct cg_dp *open_pinned(struct fx *fx, uint32_t conntrack_size, bool adopt)
{
	struct cg_dp_opts o = {
		.pin_dir = fx->pin_dir,
		.conntrack_size = conntrack_size,
		.adopt = adopt,
	};

	return cg_dp_open(&o);
}

/* Start of every test: skip without root, which BPF needs. */
static struct fx *fx_get(void **state)
{
	cg_test_require_root("BPF");
	return *state;
}

static int setup_plain(void **state)
{
	/* conntrack keeps an LRU list per CPU: room for CONNS on the one CPU that inserts them */
	struct cg_dp_opts o = { .conntrack_size = CONNS * (uint32_t)libbpf_num_possible_cpus() };
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	if (!is_root)
		return 0;
	fx->dp = cg_dp_open(&o);
	return fx->dp ? 0 : -1;
}

static int setup_pinned(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->pin_dir, sizeof(fx->pin_dir), "/sys/fs/bpf/cg-test-%d", (int)getpid());
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char stage[128];

	cg_dp_close(fx->dp);
	if (fx->pin_dir[0]) {
		rm_pins(fx->pin_dir);
		snprintf(stage, sizeof(stage), "%s-staging-%d", fx->pin_dir, (int)getpid());
		rm_pins(stage);
	}
	if (fx->veth && system("ip link del " VETH " 2>/dev/null")) {
		/* gone with the namespace at exit anyway */
	}
	free(fx);
	return 0;
}

/* A veth pair in the test's own namespace; returns the ifindex of VETH or skips. */
static int veth_make(struct fx *fx)
{
	cg_test_require(!system("ip link add " VETH " type veth peer name " VETH_PEER
				" && ip link set " VETH " up && ip link set " VETH_PEER " up"),
			"cannot make the veth pair " VETH);
	fx->veth = true;
	return (int)if_nametoindex(VETH);
}

static void test_open_without_pins_starts_empty(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_counter stats[CG_STAT_MAX];
	struct cg_cell cell, zero = {};
	uint32_t slot, n = 0;
	uint64_t conns = 1;
	unsigned int i;

	assert_true(cg_dp_prog_fd(fx->dp) >= 0);
	assert_int_equal(cg_dp_conn_count(fx->dp, &conns), 0);
	assert_int_equal(conns, 0);
	assert_true(cg_dp_conn_capacity(fx->dp) >= 4096);
	assert_int_equal(cg_dp_cell_get(fx->dp, 0, &cell), 0);
	assert_memory_equal(&cell, &zero, sizeof(cell));
	assert_int_equal(cg_dp_table_read(fx->dp, 0, &slot, 1, &n), -ENOENT);
	assert_int_equal(cg_dp_stats_read(fx->dp, stats), 0);
	for (i = 0; i < CG_STAT_MAX; i++)
		assert_int_equal(stats[i].packets, 0);
}

static void test_cell_set_then_get_returns_it(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_cell want = cell4("198.18.1.7", 3, 7), got;

	want.vlan = htons(42);
	assert_int_equal(cg_dp_cell_set(fx->dp, 7, &want), 0);
	assert_int_equal(cg_dp_cell_get(fx->dp, 7, &got), 0);
	assert_memory_equal(&got, &want, sizeof(got));

	want = cell4("198.18.1.8", 0, 8);
	want.state = CG_CELL_DRAINING;
	assert_int_equal(cg_dp_cell_set(fx->dp, CG_MAX_CELLS - 1, &want), 0);
	assert_int_equal(cg_dp_cell_get(fx->dp, CG_MAX_CELLS - 1, &got), 0);
	assert_memory_equal(&got, &want, sizeof(got));
}

static void test_cell_set_refuses_bad_id_and_fields(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_cell c = cell4("198.18.1.7", 0, 7), got;

	assert_int_equal(cg_dp_cell_set(fx->dp, CG_MAX_CELLS, &c), -ERANGE);
	assert_int_equal(cg_dp_cell_get(fx->dp, CG_MAX_CELLS, &got), -ERANGE);
	c.state = CG_CELL_DOWN + 1;
	assert_int_equal(cg_dp_cell_set(fx->dp, 1, &c), -EINVAL);
	c = cell4("198.18.1.7", CG_MAX_REGIONS, 7);
	assert_int_equal(cg_dp_cell_set(fx->dp, 1, &c), -EINVAL);
	c = cell4("198.18.1.7", 0, 7);
	c.encap = 0;
	assert_int_equal(cg_dp_cell_set(fx->dp, 1, &c), -EINVAL);
	c = cell4("198.18.1.7", 0, 7);
	c.family = 5;
	assert_int_equal(cg_dp_cell_set(fx->dp, 1, &c), -EINVAL);
}

static void test_service_set_get_del(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_service_key k = svc_key4("203.0.113.10", 443, IPPROTO_TCP);
	struct cg_service_key frag = svc_key4("203.0.113.10", 0, IPPROTO_TCP);
	struct cg_service want = { .id = 5, .default_class = 2 }, got;
	struct cg_service alias = { .id = 5, .default_class = 2, .flags = CG_SVC_F_FRAG_ALIAS };

	assert_int_equal(cg_dp_service_get(fx->dp, &k, &got), -ENOENT);
	assert_int_equal(cg_dp_service_set(fx->dp, &k, &want), 0);
	assert_int_equal(cg_dp_service_set(fx->dp, &frag, &alias), 0);
	assert_int_equal(cg_dp_service_get(fx->dp, &k, &got), 0);
	assert_memory_equal(&got, &want, sizeof(got));
	assert_int_equal(cg_dp_service_get(fx->dp, &frag, &got), 0);
	assert_memory_equal(&got, &alias, sizeof(got));

	assert_int_equal(cg_dp_service_del(fx->dp, &k), 0);
	assert_int_equal(cg_dp_service_get(fx->dp, &k, &got), -ENOENT);
	assert_int_equal(cg_dp_service_del(fx->dp, &k), -ENOENT);
	assert_int_equal(cg_dp_service_get(fx->dp, &frag, &got), 0);
}

static void test_service_set_refuses_bad_key_and_value(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_service_key k = svc_key4("203.0.113.10", 53, IPPROTO_UDP);
	struct cg_service svc = { .id = 1 };

	k.addr[2] = 1; /* IPv4 keys are zero after addr[0] */
	assert_int_equal(cg_dp_service_set(fx->dp, &k, &svc), -EINVAL);
	k = svc_key4("203.0.113.10", 53, IPPROTO_ICMP);
	assert_int_equal(cg_dp_service_set(fx->dp, &k, &svc), -EINVAL);
	k = svc_key4("203.0.113.10", 53, IPPROTO_UDP);
	k.family = 0;
	assert_int_equal(cg_dp_service_set(fx->dp, &k, &svc), -EINVAL);
	k = svc_key4("203.0.113.10", 0, IPPROTO_UDP); /* port 0 is the fragment alias only */
	assert_int_equal(cg_dp_service_set(fx->dp, &k, &svc), -EINVAL);
	k = svc_key4("203.0.113.10", 53, IPPROTO_UDP);
	svc.flags = CG_SVC_F_FRAG_ALIAS;
	assert_int_equal(cg_dp_service_set(fx->dp, &k, &svc), -EINVAL);
	svc.flags = 0;
	svc.default_class = CG_MAX_CLASSES;
	assert_int_equal(cg_dp_service_set(fx->dp, &k, &svc), -EINVAL);
	svc.default_class = 0;
	svc.id = CG_MAX_SERVICES;
	assert_int_equal(cg_dp_service_set(fx->dp, &k, &svc), -ERANGE);
	assert_int_equal(cg_dp_service_get(fx->dp, &k, &svc), -ENOENT);
}

static void test_config_set_then_get_returns_it(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_config want = { .mtu = 1500 }, got;

	assert_int_equal(inet_pton(AF_INET, "198.18.0.254", &want.src4), 1);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::fe", want.src6), 1);
	assert_int_equal(cg_dp_config_set(fx->dp, &want), 0);
	assert_int_equal(cg_dp_config_get(fx->dp, &got), 0);
	assert_memory_equal(&got, &want, sizeof(got));
	/* unknown flags, a guard without a burst or with a bad prefix: refused, nothing written */
	want.flags = 1U << 31;
	assert_int_equal(cg_dp_config_set(fx->dp, &want), -EINVAL);
	want.flags = CG_CFG_F_HARD;
	want.guard_rate = 10;
	want.guard_prefix4 = 24;
	want.guard_prefix6 = 64;
	assert_int_equal(cg_dp_config_set(fx->dp, &want), -EINVAL);
	want.guard_burst = 20;
	want.guard_prefix4 = 33;
	assert_int_equal(cg_dp_config_set(fx->dp, &want), -EINVAL);
	assert_int_equal(cg_dp_config_get(fx->dp, &got), 0);
	assert_int_equal(got.flags, 0);
	assert_int_equal(got.guard_rate, 0);
	want.guard_prefix4 = 24;
	assert_int_equal(cg_dp_config_set(fx->dp, &want), 0);
	assert_int_equal(cg_dp_config_get(fx->dp, &got), 0);
	assert_memory_equal(&got, &want, sizeof(got));
}

static void test_table_swap_reads_back_identical_slots(void **state)
{
	struct fx *fx = fx_get(state);
	uint32_t *t = table_random(BIG, CG_MAX_CELLS, 1);
	uint32_t small[3], n = 0;

	assert_int_equal(cg_dp_table_swap(fx->dp, 3, t, BIG), 0);
	assert_table(fx->dp, 3, t, BIG);
	assert_int_equal(cg_dp_table_read(fx->dp, 3, small, 3, &n), -ENOSPC);
	assert_int_equal(n, BIG);
	assert_int_equal(cg_dp_table_read(fx->dp, 4, small, 3, &n), -ENOENT);
	assert_int_equal(cg_dp_table_read(fx->dp, CG_MAX_SERVICES, small, 3, &n), -ERANGE);

	/* the highest service id and the largest table */
	free(t);
	t = table_random(CG_MAX_TABLE_SIZE, CG_MAX_CELLS, 2);
	assert_int_equal(cg_dp_table_swap(fx->dp, CG_MAX_SERVICES - 1, t, CG_MAX_TABLE_SIZE), 0);
	assert_table(fx->dp, CG_MAX_SERVICES - 1, t, CG_MAX_TABLE_SIZE);
	free(t);
}

static void test_table_swap_refuses_invalid_and_keeps_old_table(void **state)
{
	struct fx *fx = fx_get(state);
	uint32_t *old = table_random(BIG, 64, 3);
	uint32_t *bad = table_random(CG_MAX_TABLE_SIZE + 1, 64, 4);

	assert_int_equal(cg_dp_table_swap(fx->dp, 9, old, BIG), 0);

	assert_int_equal(cg_dp_table_swap(fx->dp, 9, bad, 0), -EINVAL);
	assert_int_equal(cg_dp_table_swap(fx->dp, 9, bad, CG_MAX_TABLE_SIZE + 1), -EINVAL);
	bad[BIG - 1] = CG_MAX_CELLS; /* only the last slot is out of range */
	assert_int_equal(cg_dp_table_swap(fx->dp, 9, bad, BIG), -EINVAL);
	bad[BIG - 1] = 0;
	assert_int_equal(cg_dp_table_swap(fx->dp, 9, NULL, BIG), -EINVAL);
	assert_table(fx->dp, 9, old, BIG);

	assert_int_equal(cg_dp_table_swap(fx->dp, CG_MAX_SERVICES, bad, BIG), -EINVAL);
	assert_table(fx->dp, 9, old, BIG);
	free(old);
	free(bad);
}

static void test_table_swap_changes_size(void **state)
{
	struct fx *fx = fx_get(state);
	uint32_t *big = table_random(BIG, 100, 5);
	uint32_t *small = table_random(SMALL, 100, 6);
	uint32_t one = 42;

	assert_int_equal(cg_dp_table_swap(fx->dp, 2, big, BIG), 0);
	assert_table(fx->dp, 2, big, BIG);
	assert_int_equal(cg_dp_table_swap(fx->dp, 2, small, SMALL), 0);
	assert_table(fx->dp, 2, small, SMALL);
	assert_int_equal(cg_dp_table_swap(fx->dp, 2, &one, 1), 0);
	assert_table(fx->dp, 2, &one, 1);
	assert_int_equal(cg_dp_table_swap(fx->dp, 2, big, BIG), 0);
	assert_table(fx->dp, 2, big, BIG);
	free(big);
	free(small);
}

/* id of the inner table the pinned outer map holds for service sid */
static uint32_t live_table_id(const char *dir, uint32_t sid)
{
	char path[512];
	uint32_t id = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/tables", dir);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &sid, &id), 0);
	close(fd);
	return id;
}

/*
 * A replaced table is kept and filled again for its service's next swap of
 * the same size (two tables take turns); one of another size is new; what
 * is read back is always what was swapped in last.
 */
static void test_table_swap_fills_retired_table_again(void **state)
{
	struct fx *fx = fx_get(state);
	uint32_t *t[4], id[4], *small = table_random(SMALL, 100, 14), i;

	fx->dp = open_pinned(fx, 4096, false);
	assert_non_null(fx->dp);
	for (i = 0; i < 4; i++) {
		t[i] = table_random(BIG, CG_MAX_CELLS, 10 + i);
		assert_int_equal(cg_dp_table_swap(fx->dp, 5, t[i], BIG), 0);
		assert_table(fx->dp, 5, t[i], BIG);
		id[i] = live_table_id(fx->pin_dir, 5);
	}
	assert_int_not_equal(id[0], id[1]);
	assert_int_equal(id[2], id[0]);
	assert_int_equal(id[3], id[1]);
	/* another size: a new table; back to the first size: a new one again */
	assert_int_equal(cg_dp_table_swap(fx->dp, 5, small, SMALL), 0);
	assert_table(fx->dp, 5, small, SMALL);
	assert_int_not_equal(live_table_id(fx->pin_dir, 5), id[0]);
	assert_int_not_equal(live_table_id(fx->pin_dir, 5), id[1]);
	assert_int_equal(cg_dp_table_swap(fx->dp, 5, t[0], BIG), 0);
	assert_table(fx->dp, 5, t[0], BIG);
	/* a deleted service keeps nothing: its next table is new */
	id[0] = live_table_id(fx->pin_dir, 5);
	assert_int_equal(cg_dp_table_del(fx->dp, 5), 0);
	assert_int_equal(cg_dp_table_swap(fx->dp, 5, t[1], BIG), 0);
	assert_int_not_equal(live_table_id(fx->pin_dir, 5), id[0]);
	assert_table(fx->dp, 5, t[1], BIG);
	for (i = 0; i < 4; i++)
		free(t[i]);
	free(small);
}

static void test_table_del_removes_table(void **state)
{
	struct fx *fx = fx_get(state);
	uint32_t *t = table_random(SMALL, 10, 7);
	uint32_t n;

	assert_int_equal(cg_dp_table_swap(fx->dp, 11, t, SMALL), 0);
	assert_int_equal(cg_dp_table_del(fx->dp, 11), 0);
	assert_int_equal(cg_dp_table_read(fx->dp, 11, t, SMALL, &n), -ENOENT);
	assert_int_equal(cg_dp_table_del(fx->dp, 11), -ENOENT);
	assert_int_equal(cg_dp_table_del(fx->dp, CG_MAX_SERVICES), -ERANGE);
	free(t);
}

static void test_table_swap_many_swaps_each_table(void **state)
{
	struct fx *fx = fx_get(state);
	uint32_t *a = table_random(BIG, 50, 10), *b = table_random(SMALL, 50, 11);
	uint32_t *c = table_random(7, 50, 12);
	struct cg_dp_table batch[] = {
		{ .service_id = 0, .slots = a, .size = BIG },
		{ .service_id = 5, .slots = b, .size = SMALL },
		{ .service_id = CG_MAX_SERVICES - 1, .slots = c, .size = 7 },
	};

	assert_int_equal(cg_dp_table_swap_many(fx->dp, batch, 3), 0);
	assert_table(fx->dp, 0, a, BIG);
	assert_table(fx->dp, 5, b, SMALL);
	assert_table(fx->dp, CG_MAX_SERVICES - 1, c, 7);

	/* one bad table or a repeated service: none of the batch is swapped */
	batch[0].slots = b;
	batch[0].size = SMALL;
	batch[2].size = 0;
	assert_int_equal(cg_dp_table_swap_many(fx->dp, batch, 3), -EINVAL);
	batch[2].size = 7;
	batch[1].service_id = 0;
	assert_int_equal(cg_dp_table_swap_many(fx->dp, batch, 3), -EINVAL);
	assert_int_equal(cg_dp_table_swap_many(fx->dp, batch, 0), -EINVAL);
	assert_table(fx->dp, 0, a, BIG);
	assert_table(fx->dp, 5, b, SMALL);
	free(a);
	free(b);
	free(c);
}

/* Repeated swaps of a big table and a batch swap each leave exactly the new tables (timing: make bench). */
static void test_table_swap_big_and_batched(void **state)
{
	struct fx *fx = fx_get(state);
	enum { BATCH = 64 };
	uint32_t *t = table_random(BIG, 64, 8);
	struct cg_dp_table batch[BATCH];
	int i;

	for (i = 0; i < 15; i++) {
		t[0] = (uint32_t)i; /* a different table each time */
		assert_int_equal(cg_dp_table_swap(fx->dp, 1, t, BIG), 0);
		assert_table(fx->dp, 1, t, BIG);
	}

	for (i = 0; i < BATCH; i++)
		batch[i] = (struct cg_dp_table){ .service_id = (uint32_t)i, .slots = t,
						 .size = BIG };
	for (i = 0; i < 5; i++) {
		t[0] = (uint32_t)(100 + i);
		assert_int_equal(cg_dp_table_swap_many(fx->dp, batch, BATCH), 0);
	}
	assert_table(fx->dp, 0, t, BIG);
	assert_table(fx->dp, BATCH - 1, t, BIG);
	free(t);
}

static void test_conn_set_lookup_count_del(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_flow_key k1 = flow4("198.18.0.1", 1000, "203.0.113.10", 53);
	struct cg_flow_key k2 = flow4("198.18.0.2", 1000, "203.0.113.10", 53);
	struct cg_conn c1 = { .cell = 7, .service = 3, .class = 1 }, got;
	struct cg_config cfg = { .mtu = 1500, .seed_cell = CG_TEST_SEED_CELL };
	struct cg_conn bad = { .cell = CG_MAX_CELLS };
	uint64_t n = 0;
	int i;

	assert_int_equal(cg_dp_config_set(fx->dp, &cfg), 0);
	assert_int_equal(cg_dp_conn_lookup(fx->dp, &k1, &got), -ENOENT);
	assert_int_equal(cg_dp_conn_set(fx->dp, &k1, &c1), 0);
	assert_int_equal(cg_dp_conn_set(fx->dp, &k2, &c1), 0);
	assert_int_equal(cg_dp_conn_set(fx->dp, &k2, &bad), -ERANGE);
	assert_int_equal(cg_dp_conn_lookup(fx->dp, &k1, &got), 0);
	c1.hash = cg_flow_hash(&k1, CG_TEST_SEED_CELL); /* the library fills it in */
	assert_memory_equal(&got, &c1, sizeof(got));
	assert_int_equal(cg_dp_conn_count(fx->dp, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(cg_dp_conn_del(fx->dp, &k1), 0);
	assert_int_equal(cg_dp_conn_del(fx->dp, &k1), -ENOENT);
	assert_int_equal(cg_dp_conn_count(fx->dp, &n), 0);
	assert_int_equal(n, 1);

	/* more than one batch of the walk, less than one CPU's LRU share */
	for (i = 0; i < 3000; i++) {
		k1.sport = htons((uint16_t)(2000 + i));
		assert_int_equal(cg_dp_conn_set(fx->dp, &k1, &c1), 0);
	}
	assert_int_equal(cg_dp_conn_count(fx->dp, &n), 0);
	assert_int_equal(n, 3001);
}

static void test_stat_names_cover_every_counter(void **state)
{
	unsigned int i, j;

	(void)state;
	for (i = 0; i < CG_STAT_MAX; i++) {
		assert_non_null(cg_stat_name(i));
		for (j = 0; j < i; j++)
			assert_string_not_equal(cg_stat_name(i), cg_stat_name(j));
	}
	assert_string_equal(cg_stat_name(CG_STAT_PASS_NOT_IP), "pass_not_ip");
	assert_string_equal(cg_stat_name(CG_STAT_DROP_ERROR), "drop_error");
	assert_null(cg_stat_name(CG_STAT_MAX));
}

/* An Ethernet + IPv4 + UDP frame from src:sport to vip:dport, 18 bytes of payload. */
struct udp4_frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	uint8_t payload[18];
} __attribute__((packed));

static void udp4_build(struct udp4_frame *f, const struct cg_flow_key *k)
{
	uint16_t w[sizeof(struct iphdr) / 2];
	uint32_t sum = 0;
	size_t i;

	memset(f, 0, sizeof(*f));
	memcpy(f->eth.h_dest, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	memcpy(f->eth.h_source, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	f->eth.h_proto = htons(ETH_P_IP);
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.tot_len = htons(sizeof(*f) - sizeof(f->eth));
	f->ip.ttl = 64;
	f->ip.frag_off = htons(0x4000); /* DF */
	f->ip.protocol = IPPROTO_UDP;
	f->ip.saddr = k->saddr[0];
	f->ip.daddr = k->daddr[0];
	memcpy(w, &f->ip, sizeof(w));
	for (i = 0; i < sizeof(w) / 2; i++)
		sum += w[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f->ip.check = (uint16_t)~sum;
	f->udp.source = k->sport;
	f->udp.dest = k->dport;
	f->udp.len = htons(sizeof(f->udp) + sizeof(f->payload));
}

static int run_frame(struct cg_dp *dp, const struct cg_flow_key *k)
{
	uint8_t out[512];
	struct udp4_frame f;
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = &f, .data_size_in = sizeof(f),
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	udp4_build(&f, k);
	assert_int_equal(bpf_prog_test_run_opts(cg_dp_prog_fd(dp), &topts), 0);
	return (int)topts.retval;
}

/*
 * The maps the library writes are the ones the program reads: a flow goes
 * to the cell of the table, a swapped table takes new flows elsewhere, and
 * the pinned flow stays. A smoke test; tests/prog owns the packet path.
 */
static void test_packet_follows_swapped_table(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_service_key sk = svc_key4("203.0.113.10", 53, IPPROTO_UDP);
	struct cg_service svc = { .id = 3, .default_class = 1 };
	struct cg_flow_key k1 = flow4("198.18.0.1", 1000, "203.0.113.10", 53);
	struct cg_flow_key k2 = flow4("198.18.0.1", 1001, "203.0.113.10", 53);
	struct cg_cell c7 = cell4("198.18.1.7", 0, 7), c9 = cell4("198.18.1.9", 1, 9);
	struct cg_config cfg = { .mtu = 1500 };
	uint32_t *to7 = table_fill(BIG, 7), *to9 = table_fill(SMALL, 9);
	struct cg_counter stats[CG_STAT_MAX];
	struct cg_svc_stats ss;
	struct cg_cell_stats cs;
	struct cg_conn conn;

	assert_int_equal(inet_pton(AF_INET, "198.18.0.254", &cfg.src4), 1);
	assert_int_equal(cg_dp_config_set(fx->dp, &cfg), 0);
	assert_int_equal(cg_dp_cell_set(fx->dp, 7, &c7), 0);
	assert_int_equal(cg_dp_cell_set(fx->dp, 9, &c9), 0);
	assert_int_equal(cg_dp_service_set(fx->dp, &sk, &svc), 0);
	assert_int_equal(cg_dp_table_swap(fx->dp, 3, to7, BIG), 0);

	assert_int_equal(run_frame(fx->dp, &k1), XDP_TX);
	assert_int_equal(cg_dp_conn_lookup(fx->dp, &k1, &conn), 0);
	assert_int_equal(conn.cell, 7);
	assert_int_equal(conn.service, 3);

	assert_int_equal(cg_dp_table_swap(fx->dp, 3, to9, SMALL), 0);
	assert_int_equal(run_frame(fx->dp, &k2), XDP_TX);
	assert_int_equal(cg_dp_conn_lookup(fx->dp, &k2, &conn), 0);
	assert_int_equal(conn.cell, 9);
	assert_int_equal(run_frame(fx->dp, &k1), XDP_TX);
	assert_int_equal(cg_dp_conn_lookup(fx->dp, &k1, &conn), 0);
	assert_int_equal(conn.cell, 7);

	assert_int_equal(cg_dp_stats_read(fx->dp, stats), 0);
	assert_int_equal(stats[CG_STAT_FWD].packets, 3);
	assert_int_equal(stats[CG_STAT_FWD].bytes, 3 * sizeof(struct udp4_frame));
	assert_int_equal(cg_dp_svc_stats_read(fx->dp, 3, &ss), 0);
	assert_int_equal(ss.packets, 3);
	assert_int_equal(ss.new_flows, 2);
	assert_int_equal(cg_dp_cell_stats_read(fx->dp, 7, 1, &cs), 0);
	assert_int_equal(cs.packets, 2);
	assert_int_equal(cs.new_flows, 1);
	assert_int_equal(cg_dp_cell_stats_read(fx->dp, 9, 1, &cs), 0);
	assert_int_equal(cs.packets, 1);
	assert_int_equal(cg_dp_cell_stats_read(fx->dp, CG_MAX_CELLS, 0, &cs), -ERANGE);
	assert_int_equal(cg_dp_cell_stats_read(fx->dp, 0, CG_MAX_CLASSES, &cs), -ERANGE);
	assert_int_equal(cg_dp_svc_stats_read(fx->dp, CG_MAX_SERVICES, &ss), -ERANGE);
	free(to7);
	free(to9);
}

static void test_pinned_state_survives_adopt(void **state)
{
	struct fx *fx = fx_get(state);
	static const char *const pins[] = { "services", "cells", "tables", "conntrack",
					    "settings", "stats", "svc_stats", "cell_stats",
					    "prog" };
	struct cg_service_key k1 = svc_key4("203.0.113.10", 443, IPPROTO_TCP);
	struct cg_service_key k2 = svc_key4("203.0.113.11", 53, IPPROTO_UDP);
	struct cg_service s1 = { .id = 1, .default_class = 0 };
	struct cg_service s2 = { .id = 2, .default_class = 3 };
	struct cg_cell c1 = cell4("198.18.1.1", 0, 1), c2 = cell4("198.18.1.2", 1, 2), got;
	struct cg_flow_key fk = flow4("198.18.0.1", 1000, "203.0.113.11", 53);
	struct cg_conn conn = { .cell = 2, .service = 2, .class = 3 }, gconn;
	struct cg_config cfg = { .mtu = 1400, .seed_cell = CG_TEST_SEED_CELL }, gcfg;
	uint32_t *t1 = table_random(BIG, 2, 9), t2[7] = { 1, 2, 1, 2, 1, 2, 1 };
	struct cg_service gs;
	uint32_t capacity;
	uint64_t n;
	size_t i;

	fx->dp = open_pinned(fx, 4096, false);
	assert_non_null(fx->dp);
	for (i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		assert_true(path_exists(fx->pin_dir, pins[i]));
	capacity = cg_dp_conn_capacity(fx->dp);
	assert_true(capacity >= 4096);

	assert_int_equal(cg_dp_config_set(fx->dp, &cfg), 0);
	assert_int_equal(cg_dp_cell_set(fx->dp, 1, &c1), 0);
	assert_int_equal(cg_dp_cell_set(fx->dp, 2, &c2), 0);
	assert_int_equal(cg_dp_service_set(fx->dp, &k1, &s1), 0);
	assert_int_equal(cg_dp_service_set(fx->dp, &k2, &s2), 0);
	assert_int_equal(cg_dp_table_swap(fx->dp, 1, t1, BIG), 0);
	assert_int_equal(cg_dp_table_swap(fx->dp, 2, t2, 7), 0);
	assert_int_equal(cg_dp_conn_set(fx->dp, &fk, &conn), 0);
	cg_dp_close(fx->dp);
	fx->dp = NULL;
	assert_true(path_exists(fx->pin_dir, "tables"));

	/* another conntrack size asked for: adoption keeps the pinned one */
	fx->dp = open_pinned(fx, 8 * 4096, true);
	assert_non_null(fx->dp);
	assert_int_equal(cg_dp_conn_capacity(fx->dp), capacity);
	assert_int_equal(cg_dp_config_get(fx->dp, &gcfg), 0);
	assert_memory_equal(&gcfg, &cfg, sizeof(cfg));
	assert_int_equal(cg_dp_cell_get(fx->dp, 1, &got), 0);
	assert_memory_equal(&got, &c1, sizeof(got));
	assert_int_equal(cg_dp_cell_get(fx->dp, 2, &got), 0);
	assert_memory_equal(&got, &c2, sizeof(got));
	assert_int_equal(cg_dp_service_get(fx->dp, &k1, &gs), 0);
	assert_memory_equal(&gs, &s1, sizeof(gs));
	assert_int_equal(cg_dp_service_get(fx->dp, &k2, &gs), 0);
	assert_memory_equal(&gs, &s2, sizeof(gs));
	assert_table(fx->dp, 1, t1, BIG);
	assert_table(fx->dp, 2, t2, 7);
	assert_int_equal(cg_dp_conn_lookup(fx->dp, &fk, &gconn), 0);
	conn.hash = cg_flow_hash(&fk, CG_TEST_SEED_CELL);
	assert_memory_equal(&gconn, &conn, sizeof(conn));
	assert_int_equal(cg_dp_conn_count(fx->dp, &n), 0);
	assert_int_equal(n, 1);

	/* the adopted maps take writes, swaps included */
	t2[0] = 2;
	assert_int_equal(cg_dp_table_swap(fx->dp, 2, t2, 7), 0);
	assert_table(fx->dp, 2, t2, 7);

	assert_int_equal(cg_dp_unpin(fx->dp), 0);
	assert_false(path_exists(fx->pin_dir, NULL));
	free(t1);
}

static void test_open_fresh_refuses_existing_pins(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_dp *second;

	fx->dp = open_pinned(fx, 4096, false);
	assert_non_null(fx->dp);
	second = open_pinned(fx, 4096, false);
	assert_null(second);
	assert_int_equal(errno, EEXIST);
	assert_true(path_exists(fx->pin_dir, "cells"));
}

static void test_adopt_needs_every_pin(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_dp_opts o = { .adopt = true };
	char path[512];

	assert_null(cg_dp_open(&o)); /* adopting without a pin_dir */
	assert_int_equal(errno, EINVAL);
	assert_null(open_pinned(fx, 0, true));
	assert_int_equal(errno, ENOENT);

	fx->dp = open_pinned(fx, 4096, false);
	assert_non_null(fx->dp);
	cg_dp_close(fx->dp);
	fx->dp = NULL;
	snprintf(path, sizeof(path), "%s/cell_stats", fx->pin_dir);
	assert_int_equal(unlink(path), 0);
	assert_null(open_pinned(fx, 0, true));
	assert_int_equal(errno, ENOENT);
}

/* Pin at dir/name a map of another build's layout: value_size bytes a value. */
static void pin_other_abi(const char *dir, const char *name, enum bpf_map_type type,
			  uint32_t key_size, uint32_t value_size, uint32_t entries, uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(unlink(path), 0);
	fd = bpf_map_create(type, name, key_size, value_size, entries, &o);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
}

/* value_size of the map pinned at dir/name */
static uint32_t pinned_value_size(const char *dir, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.value_size;
}

static void test_adopt_refuses_map_of_other_abi(void **state)
{
	struct fx *fx = fx_get(state);

	fx->dp = open_pinned(fx, 4096, false);
	assert_non_null(fx->dp);
	cg_dp_close(fx->dp);
	fx->dp = NULL;

	/* a conntrack whose value grew: another build's ABI, and flows would move */
	pin_other_abi(fx->pin_dir, "conntrack", BPF_MAP_TYPE_LRU_HASH, sizeof(struct cg_flow_key),
		      sizeof(struct cg_conn) + 8, 4096, BPF_F_NO_COMMON_LRU);
	assert_null(open_pinned(fx, 0, true));
	assert_int_equal(errno, EPROTO);
	/* refused: nothing replaced */
	assert_int_equal(pinned_value_size(fx->pin_dir, "conntrack"), sizeof(struct cg_conn) + 8);
	assert_int_equal(cg_dp_unpin_dir(fx->pin_dir), 0);
	assert_false(path_exists(fx->pin_dir, NULL));
}

/*
 * An upgrade that grew a derived map and added a resettable one: adopted,
 * both fresh and empty, the old pins kept until cg_dp_pin_recreated(); the
 * other maps are the pinned ones, contents included.
 */
static void test_adopt_recreates_derived_and_resettable_maps(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_cell c1 = cell4("198.18.1.1", 0, 1), got;
	struct cg_config cfg, zero = { 0 };
	char path[512];

	fx->dp = open_pinned(fx, 4096, false);
	assert_non_null(fx->dp);
	assert_int_equal(cg_dp_cell_set(fx->dp, 1, &c1), 0);
	cg_dp_close(fx->dp);
	fx->dp = NULL;
	pin_other_abi(fx->pin_dir, "settings", BPF_MAP_TYPE_ARRAY, 4, 48, 1, 0);
	snprintf(path, sizeof(path), "%s/budgets", fx->pin_dir);
	assert_int_equal(unlink(path), 0);

	assert_null(cg_dp_open(&(struct cg_dp_opts){ .pin_dir = fx->pin_dir, .readonly = true }));
	assert_int_equal(errno, EPROTO); /* a reader needs every map as it is */

	fx->dp = open_pinned(fx, 0, true);
	assert_non_null(fx->dp);
	assert_int_equal(cg_dp_recreated(fx->dp), 2);
	assert_int_equal(cg_dp_config_get(fx->dp, &cfg), 0);
	assert_memory_equal(&cfg, &zero, sizeof(cfg));
	assert_int_equal(cg_dp_cell_get(fx->dp, 1, &got), 0);
	assert_memory_equal(&got, &c1, sizeof(got));
	assert_int_equal(pinned_value_size(fx->pin_dir, "settings"), 48);
	assert_false(path_exists(fx->pin_dir, "budgets"));

	assert_int_equal(cg_dp_pin_recreated(fx->dp), 0);
	assert_int_equal(cg_dp_recreated(fx->dp), 0);
	assert_int_equal(pinned_value_size(fx->pin_dir, "settings"), sizeof(struct cg_config));
	assert_true(path_exists(fx->pin_dir, "budgets"));
	cg_dp_close(fx->dp);
	fx->dp = NULL;

	/* the replaced pins are this build's: the next adoption recreates nothing */
	fx->dp = open_pinned(fx, 0, true);
	assert_non_null(fx->dp);
	assert_int_equal(cg_dp_recreated(fx->dp), 0);
}

/*
 * An old build's pins have no cell_moves (a counter map added later): a
 * reader still opens them and reads the moves as 0; an adoption creates the
 * map fresh at zero, keeps the kept counters, and pins it after.
 */
static void test_adopt_creates_a_missing_counter_map(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_cell c1 = cell4("198.18.1.1", 0, 1), got;
	struct cg_dp *reader;
	char path[512];
	uint64_t n = 1;

	fx->dp = open_pinned(fx, 4096, false);
	assert_non_null(fx->dp);
	assert_int_equal(cg_dp_cell_set(fx->dp, 1, &c1), 0);
	assert_int_equal(cg_dp_cell_moves_read(fx->dp, 1, &n), 0);
	assert_int_equal(n, 0);
	cg_dp_close(fx->dp);
	fx->dp = NULL;
	snprintf(path, sizeof(path), "%s/cell_moves", fx->pin_dir);
	assert_int_equal(unlink(path), 0);

	reader = cg_dp_open(&(struct cg_dp_opts){ .pin_dir = fx->pin_dir, .readonly = true });
	assert_non_null(reader);
	n = 1;
	assert_int_not_equal(cg_dp_cell_moves_read(reader, 1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cg_dp_cell_get(reader, 1, &got), 0);
	cg_dp_close(reader);

	fx->dp = open_pinned(fx, 0, true);
	assert_non_null(fx->dp);
	assert_int_equal(cg_dp_recreated(fx->dp), 1);
	n = 1;
	assert_int_equal(cg_dp_cell_moves_read(fx->dp, 1, &n), 0);
	assert_int_equal(n, 0);
	assert_false(path_exists(fx->pin_dir, "cell_moves"));
	assert_int_equal(cg_dp_pin_recreated(fx->dp), 0);
	assert_true(path_exists(fx->pin_dir, "cell_moves"));
}

static void test_unpin_removes_pin_dir(void **state)
{
	struct fx *fx = fx_get(state);
	struct cg_cell c = cell4("198.18.1.1", 0, 1), got;

	fx->dp = open_pinned(fx, 4096, false);
	assert_non_null(fx->dp);
	assert_true(path_exists(fx->pin_dir, NULL));
	assert_int_equal(cg_dp_unpin(fx->dp), 0);
	assert_false(path_exists(fx->pin_dir, NULL));
	assert_int_equal(cg_dp_unpin(fx->dp), 0);
	/* the maps live on until close */
	assert_int_equal(cg_dp_cell_set(fx->dp, 1, &c), 0);
	assert_int_equal(cg_dp_cell_get(fx->dp, 1, &got), 0);
}

static void test_pinned_link_survives_close_and_adopt(void **state)
{
	struct fx *fx = fx_get(state);
	int ifindex = veth_make(fx);
	uint32_t old_id;

	assert_true(ifindex > 0);
	fx->dp = open_pinned(fx, 4096, false);
	assert_non_null(fx->dp);
	assert_int_equal(cg_dp_attach(fx->dp, ifindex, XDP_FLAGS_SKB_MODE), 0);
	old_id = prog_id(cg_dp_prog_fd(fx->dp));
	assert_int_equal(xdp_prog_on(ifindex), old_id);
	assert_true(path_exists(fx->pin_dir, "link_" VETH));

	cg_dp_close(fx->dp); /* a daemon that died */
	fx->dp = NULL;
	assert_int_equal(xdp_prog_on(ifindex), old_id);

	fx->dp = open_pinned(fx, 0, true);
	assert_non_null(fx->dp);
	assert_int_not_equal(prog_id(cg_dp_prog_fd(fx->dp)), old_id);
	assert_int_equal(cg_dp_attach(fx->dp, ifindex, XDP_FLAGS_SKB_MODE), 0);
	assert_int_equal(xdp_prog_on(ifindex), prog_id(cg_dp_prog_fd(fx->dp)));

	assert_int_equal(cg_dp_detach(fx->dp, ifindex), 0);
	assert_int_equal(xdp_prog_on(ifindex), 0);
	assert_false(path_exists(fx->pin_dir, "link_" VETH));
	assert_int_equal(cg_dp_detach(fx->dp, ifindex), -ENOENT);
}

static void test_attach_refuses_other_mode_and_unpin_detaches(void **state)
{
	struct fx *fx = fx_get(state);
	int ifindex = veth_make(fx);

	fx->dp = open_pinned(fx, 4096, false);
	assert_non_null(fx->dp);
	assert_int_equal(cg_dp_attach(fx->dp, ifindex, XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE),
			 -EINVAL);
	assert_int_equal(cg_dp_attach(fx->dp, ifindex, XDP_FLAGS_SKB_MODE), 0);
	assert_int_equal(cg_dp_attach(fx->dp, ifindex, XDP_FLAGS_DRV_MODE), -EEXIST);
	assert_int_equal(cg_dp_attach(fx->dp, ifindex, 0), 0);
	assert_int_equal(xdp_prog_on(ifindex), prog_id(cg_dp_prog_fd(fx->dp)));
	assert_int_equal(cg_dp_unpin(fx->dp), 0);
	assert_int_equal(xdp_prog_on(ifindex), 0);
	assert_false(path_exists(fx->pin_dir, NULL));
}

static void test_unpinned_link_detaches_on_close(void **state)
{
	struct fx *fx = fx_get(state);
	int ifindex = veth_make(fx);

	assert_int_equal(cg_dp_detach(fx->dp, ifindex), -ENOENT);
	assert_int_equal(cg_dp_attach(fx->dp, ifindex, XDP_FLAGS_SKB_MODE), 0);
	assert_int_equal(xdp_prog_on(ifindex), prog_id(cg_dp_prog_fd(fx->dp)));
	/* again: the held link is switched in place */
	assert_int_equal(cg_dp_attach(fx->dp, ifindex, XDP_FLAGS_SKB_MODE), 0);
	assert_int_equal(cg_dp_attach(fx->dp, 1 << 30, XDP_FLAGS_SKB_MODE), -ENODEV);
	cg_dp_close(fx->dp);
	fx->dp = NULL;
	assert_int_equal(xdp_prog_on(ifindex), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_without_pins_starts_empty, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_cell_set_then_get_returns_it, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_cell_set_refuses_bad_id_and_fields,
						setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_service_set_get_del, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_service_set_refuses_bad_key_and_value,
						setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_config_set_then_get_returns_it, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_table_swap_reads_back_identical_slots,
						setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_table_swap_refuses_invalid_and_keeps_old_table,
						setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_table_swap_changes_size, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_table_del_removes_table, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_table_swap_many_swaps_each_table, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_table_swap_big_and_batched, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_conn_set_lookup_count_del, setup_plain,
						teardown),
		cmocka_unit_test(test_stat_names_cover_every_counter),
		cmocka_unit_test_setup_teardown(test_packet_follows_swapped_table, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_table_swap_fills_retired_table_again,
						setup_pinned, teardown),
		cmocka_unit_test_setup_teardown(test_pinned_state_survives_adopt, setup_pinned,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_fresh_refuses_existing_pins,
						setup_pinned, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_needs_every_pin, setup_pinned,
						teardown),
		cmocka_unit_test_setup_teardown(test_adopt_refuses_map_of_other_abi, setup_pinned,
						teardown),
		cmocka_unit_test_setup_teardown(test_adopt_recreates_derived_and_resettable_maps,
						setup_pinned, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_creates_a_missing_counter_map,
						setup_pinned, teardown),
		cmocka_unit_test_setup_teardown(test_unpin_removes_pin_dir, setup_pinned,
						teardown),
		cmocka_unit_test_setup_teardown(test_pinned_link_survives_close_and_adopt,
						setup_pinned, teardown),
		cmocka_unit_test_setup_teardown(test_attach_refuses_other_mode_and_unpin_detaches,
						setup_pinned, teardown),
		cmocka_unit_test_setup_teardown(test_unpinned_link_detaches_on_close, setup_plain,
						teardown),
	};

	is_root = geteuid() == 0;
	/* interfaces the tests make vanish with this namespace */
	if (is_root && unshare(CLONE_NEWNET)) {
		perror("test_dataplane: cannot make a network namespace");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
