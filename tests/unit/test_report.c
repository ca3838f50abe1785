// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_report.c - cell load reports: the wire format, each bad field, auth, replay, rate limit */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cellgate/report.h"

#define ERRLEN 256

static const uint8_t key[CG_REPORT_KEY] = "0123456789abcdef0123456789abcdef";
static const uint8_t other[CG_REPORT_KEY] = "fedcba9876543210fedcba9876543210";

static struct cg_report good(void)
{
	return (struct cg_report){ .cell = 7,
				   .seq = 42,
				   .ts_ms = 1765000000123ULL,
				   .util_ppm = 730000,
				   .queue_us = 1500,
				   .inflight = 12,
				   .capacity = 64 };
}

static void test_report_bytes_are_the_documented_ones(void **unused)
{
	/* docs/protocol.md, Cell load reports: the example datagram */
	static const uint8_t want[CG_REPORT_BODY] = {
		0x43, 0x47, 0x4c, 0x52, 0x01, 0x01, 0x00, 0x2c, /* magic, version, flags, length */
		0x00, 0x00, 0x00, 0x07,				/* cell 7 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* seq 42 */
		0x00, 0x00, 0x01, 0x9a, 0xf2, 0x32, 0xb2, 0x7b, /* ts 1765000000123 */
		0x00, 0x0b, 0x23, 0x90,				/* utilization 730000 ppm */
		0x00, 0x00, 0x05, 0xdc,				/* queue 1500 us */
		0x00, 0x00, 0x00, 0x0c,				/* in flight 12 */
		0x00, 0x00, 0x00, 0x40,				/* capacity 64 */
	};
	struct cg_report r = good(), back;
	uint8_t buf[CG_REPORT_MAX];
	char err[ERRLEN] = "";

	assert_int_equal(cg_report_encode(&r, NULL, buf, sizeof(buf)), CG_REPORT_BODY);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(cg_report_decode(buf, CG_REPORT_BODY, NULL, &back, err, sizeof(err)), 0);
	assert_int_equal(back.cell, 7);
	assert_int_equal(back.seq, 42);
	assert_true(back.ts_ms == r.ts_ms);
	assert_int_equal(back.util_ppm, 730000);
	assert_int_equal(back.queue_us, 1500);
	assert_int_equal(back.inflight, 12);
	assert_int_equal(back.capacity, 64);
	assert_int_equal(back.flags, CG_REPORT_F_CAPACITY);
	assert_int_equal(cg_report_encode(&r, NULL, buf, CG_REPORT_BODY - 1), -ENOSPC);
}

static void test_report_signed_round_trip_and_tampering(void **unused)
{
	struct cg_report r = good(), back;
	uint8_t buf[CG_REPORT_MAX];
	char err[ERRLEN];

	assert_int_equal(cg_report_encode(&r, key, buf, sizeof(buf)), CG_REPORT_MAX);
	assert_int_equal(buf[5], CG_REPORT_F_CAPACITY | CG_REPORT_F_AUTH);
	assert_int_equal(cg_report_decode(buf, CG_REPORT_MAX, key, &back, err, sizeof(err)), 0);
	assert_int_equal(back.util_ppm, 730000);
	/* another key, a flipped bit of the body, of the tag: refused by the tag */
	assert_int_equal(cg_report_decode(buf, CG_REPORT_MAX, other, &back, err, sizeof(err)),
			 -EPERM);
	assert_string_equal(err, "report: auth: tag does not verify");
	buf[30] ^= 1;
	assert_int_equal(cg_report_decode(buf, CG_REPORT_MAX, key, &back, err, sizeof(err)), -EPERM);
	buf[30] ^= 1;
	buf[CG_REPORT_MAX - 1] ^= 0x80;
	assert_int_equal(cg_report_decode(buf, CG_REPORT_MAX, key, &back, err, sizeof(err)), -EPERM);
	/* a signed report without a key set, an unsigned one with a key set */
	assert_int_equal(cg_report_decode(buf, CG_REPORT_MAX, NULL, &back, err, sizeof(err)), -EPERM);
	assert_string_equal(err, "report: auth: signed report refused (no key is set)");
	assert_int_equal(cg_report_encode(&r, NULL, buf, sizeof(buf)), CG_REPORT_BODY);
	assert_int_equal(cg_report_decode(buf, CG_REPORT_BODY, key, &back, err, sizeof(err)),
			 -EPERM);
	assert_string_equal(err, "report: auth: unsigned report refused (a key is set)");
}

/* One bad datagram: a good one with bytes at off replaced, or cut to len. */
struct bad {
	const char *what;
	size_t off;	    /* first byte replaced */
	size_t n;	    /* bytes replaced */
	uint8_t val[8];	    /* with these */
	size_t len;	    /* 0: the whole datagram, else its length */
	const char *expect; /* the whole message */
};

static const struct bad bads[] = {
	{ "empty", 0, 0, { 0 }, 1, "report: 1 bytes are too short for a header (8)" },
	{ "magic", 0, 1, { 'X' }, 0, "report: magic 0x58474c52 is not 0x43474c52 ('CGLR')" },
	{ "version 0", 4, 1, { 0 }, 0, "report: version 0 is not supported (only 1)" },
	{ "version 2", 4, 1, { 2 }, 0, "report: version 2 is not supported (only 1)" },
	{ "flags", 5, 1, { 0x05 }, 0, "report: flags 0x05 has unknown bits 0x04" },
	{ "length field", 6, 2, { 0, 40 }, 0, "report: length 40 is not 44 (the length its flags give)" },
	{ "datagram short", 0, 0, { 0 }, 43, "report: length 44 does not match the datagram's 43 bytes" },
	{ "auth flag, no tag", 5, 1, { 0x03 }, 0, "report: length 44 is not 76 (the length its flags give)" },
	{ "cell", 8, 4, { 0, 0, 0x10, 0 }, 0, "report: cell 4096 is out of range (0..4095)" },
	{ "seq 0", 12, 8, { 0 }, 0, "report: seq 0 is not allowed (it starts at 1)" },
	{ "timestamp 0", 20, 8, { 0 }, 0, "report: timestamp 0 is not allowed" },
	{ "utilization", 28, 4, { 0, 0x98, 0x96, 0x81 }, 0,
	  "report: utilization 10000001 ppm is out of range (0..10000000, or 0xffffffff: none)" },
	{ "capacity 0 with the flag", 40, 4, { 0 }, 0,
	  "report: capacity 0 is out of range (1..4294967294 with the capacity flag)" },
	{ "capacity without the flag", 5, 1, { 0 }, 0,
	  "report: capacity 64 given without the capacity flag (must be 0)" },
	{ "no signal", 28, 8, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 0, NULL },
};

static void test_report_each_bad_field_gives_its_one_line(void **unused)
{
	struct cg_report r = good(), back;
	uint8_t buf[CG_REPORT_MAX];
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		size_t len;

		assert_int_equal(cg_report_encode(&r, NULL, buf, sizeof(buf)), CG_REPORT_BODY);
		memcpy(buf + b->off, b->val, b->n);
		len = b->len ? b->len : CG_REPORT_BODY;
		if (!b->expect) { /* no signal: utilization and queue none, in-flight no capacity */
			memset(buf + 5, 0, 1);
			memset(buf + 40, 0, 4);
		}
		memset(&back, 0x5a, sizeof(back));
		memset(err, 0, sizeof(err));
		assert_int_equal(cg_report_decode(buf, len, NULL, &back, err, sizeof(err)), -EBADMSG);
		if (b->expect && strcmp(err, b->expect))
			fail_msg("case '%s': got '%s', want '%s'", b->what, err, b->expect);
		if (!b->expect)
			assert_string_equal(err, "report: no load signal: utilization, queue delay, or "
						 "in-flight with capacity");
		assert_null(strchr(err, '\n'));
		assert_int_equal(back.cell, 0x5a5a5a5a); /* untouched */
	}
}

static void test_report_optional_signals(void **unused)
{
	struct cg_report r = good(), back;
	uint8_t buf[CG_REPORT_MAX];
	char err[ERRLEN];

	/* only a queue delay: fine, no capacity */
	r.util_ppm = CG_REPORT_NONE;
	r.inflight = CG_REPORT_NONE;
	r.capacity = 0;
	assert_int_equal(cg_report_encode(&r, NULL, buf, sizeof(buf)), CG_REPORT_BODY);
	assert_int_equal(buf[5], 0);
	assert_int_equal(cg_report_decode(buf, CG_REPORT_BODY, NULL, &back, err, sizeof(err)), 0);
	assert_int_equal(back.capacity, 0);
	/* an encoder does not write what the decoder would refuse */
	r.queue_us = CG_REPORT_NONE;
	assert_int_equal(cg_report_encode(&r, NULL, buf, sizeof(buf)), -EINVAL);
}

static void test_report_key_text(void **unused)
{
	uint8_t k[CG_REPORT_KEY];
	char err[ERRLEN];

	assert_int_equal(cg_report_key_parse("000102030405060708090a0b0c0d0e0f"
					     "101112131415161718191A1B1C1D1E1F\n",
					     k, err, sizeof(err)),
			 0);
	assert_int_equal(k[0], 0);
	assert_int_equal(k[31], 0x1f);
	assert_int_equal(cg_report_key_parse("00", k, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "report: key: 2 characters, not 64 hex digits");
	assert_int_equal(cg_report_key_parse("g00102030405060708090a0b0c0d0e0f"
					     "101112131415161718191a1b1c1d1e1f",
					     k, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "report: key: character 1 is not a hex digit");
}

static void test_report_rate_limit_on_the_virtual_clock(void **unused)
{
	struct cg_report_bucket b = { 0 };
	int n = 0;

	/* full at first (burst 5), then 10 a second: one every 100 ms */
	for (int i = 0; i < 20; i++)
		n += cg_report_rate_allow(&b, 1000, 10, 5);
	assert_int_equal(n, 5);
	assert_false(cg_report_rate_allow(&b, 1099, 10, 5));
	assert_true(cg_report_rate_allow(&b, 1100, 10, 5));
	assert_false(cg_report_rate_allow(&b, 1100, 10, 5));
	/* a clock that steps back refills nothing */
	assert_false(cg_report_rate_allow(&b, 500, 10, 5));
	/* a long pause refills up to the burst only */
	n = 0;
	for (int i = 0; i < 20; i++)
		n += cg_report_rate_allow(&b, 100000, 10, 5);
	assert_int_equal(n, 5);
	/* over a virtual minute at 100 a second offered, 10 a second pass (plus the burst) */
	n = 0;
	for (int64_t t = 200000; t < 260000; t += 10)
		n += cg_report_rate_allow(&b, t, 10, 5);
	assert_in_range(n, 600, 605);
	assert_false(cg_report_rate_allow(&b, 0, 0, 5));
}

static void test_report_replay_order_restart_and_skew(void **unused)
{
	struct cg_report_rx rx = { 0 };
	struct cg_report r = good();
	int64_t now = (int64_t)r.ts_ms;
	char why[ERRLEN];

	assert_int_equal(cg_report_admit(&rx, &r, now, 5000, 20, 10, why, sizeof(why)),
			 CG_REPORT_ACCEPTED);
	/* the same datagram again: a replay, no token taken */
	for (int i = 0; i < 100; i++)
		assert_int_equal(cg_report_admit(&rx, &r, now, 5000, 20, 10, why, sizeof(why)),
				 CG_REPORT_REPLAYED);
	assert_string_equal(why, "cell 7: seq 42 at 1765000000123 is not after seq 42 at "
				 "1765000000123 (replayed or late)");
	assert_int_equal(rx.replayed, 100);
	/* a later one; then an older one arriving late */
	r.seq = 45;
	r.ts_ms += 1000;
	assert_int_equal(cg_report_admit(&rx, &r, now + 1000, 5000, 20, 10, NULL, 0),
			 CG_REPORT_ACCEPTED);
	assert_int_equal(rx.lost, 2);
	r.seq = 44;
	r.ts_ms -= 500;
	assert_int_equal(cg_report_admit(&rx, &r, now + 1000, 5000, 20, 10, NULL, 0),
			 CG_REPORT_REPLAYED);
	/* the sender restarted: seq from 1, its clock later */
	r.seq = 1;
	r.ts_ms += 2000;
	assert_int_equal(cg_report_admit(&rx, &r, now + 2500, 5000, 20, 10, NULL, 0),
			 CG_REPORT_ACCEPTED);
	assert_int_equal(rx.restarts, 1);
	/* a timestamp far off the receiver's clock: refused, no token taken */
	r.seq = 2;
	r.ts_ms += 60000;
	assert_int_equal(cg_report_admit(&rx, &r, now + 3000, 5000, 20, 10, why, sizeof(why)),
			 CG_REPORT_SKEWED);
	assert_string_equal(why, "cell 7: timestamp 59500 ms off this clock (at most 5000)");
	/* skew 0: not checked */
	assert_int_equal(cg_report_admit(&rx, &r, now + 3000, 0, 20, 10, NULL, 0),
			 CG_REPORT_ACCEPTED);
	assert_int_equal(rx.accepted, 4);
	assert_int_equal(rx.limited, 0);
	/* a timestamp at the end of time is skewed, not an overflow */
	r.seq = 3;
	r.ts_ms = UINT64_MAX;
	assert_int_equal(cg_report_admit(&rx, &r, now, 5000, 20, 10, NULL, 0), CG_REPORT_SKEWED);
}

static void test_report_rate_limit_per_cell(void **unused)
{
	struct cg_report_rx a = { 0 }, b = { 0 };
	struct cg_report r = good();
	int64_t now = (int64_t)r.ts_ms;
	int ok = 0;

	/* 50 fresh reports of cell a in one ms: the burst passes, the rest is limited */
	for (int i = 0; i < 50; i++) {
		r.seq++;
		ok += cg_report_admit(&a, &r, now, 0, 20, 10, NULL, 0) == CG_REPORT_ACCEPTED;
	}
	assert_int_equal(ok, 10);
	assert_int_equal(a.limited, 40);
	/* cell b is not touched by a's flood */
	r.cell = 8;
	assert_int_equal(cg_report_admit(&b, &r, now, 0, 20, 10, NULL, 0), CG_REPORT_ACCEPTED);
	assert_string_equal(cg_report_verdict_name(CG_REPORT_LIMITED), "limited");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_bytes_are_the_documented_ones),
		cmocka_unit_test(test_report_signed_round_trip_and_tampering),
		cmocka_unit_test(test_report_each_bad_field_gives_its_one_line),
		cmocka_unit_test(test_report_optional_signals),
		cmocka_unit_test(test_report_key_text),
		cmocka_unit_test(test_report_rate_limit_on_the_virtual_clock),
		cmocka_unit_test(test_report_replay_order_restart_and_skew),
		cmocka_unit_test(test_report_rate_limit_per_cell),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
