// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_roundtrip.c - the canonical output stays byte-identical: configs against stored fixtures */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cellgate/config.h"

/*
 * Each config is parsed, given ids, written by cg_state_write() and compared
 * byte for byte with tests/data/NAME.state.yaml; its digest with
 * tests/data/NAME.digest. The fixtures were made by the implementation
 * before the codec was rewritten (CG_REGEN=1 writes them again).
 */
static const char *const configs[][2] = {
	{ "docs/cellgate.example.yaml", "example" },
	{ "tests/data/minimal.yaml", "minimal" },
	{ "tests/data/shed6.yaml", "shed6" },
};

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
out:
	fclose(f);
	return buf;
}

static char *write_state(const struct cg_state *st, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(cg_state_write(st, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_configs_write_the_stored_bytes(void **unused)
{
	char path[256], err[512], digest[32], *out, *again, *want;
	struct cg_state st, st2;
	size_t i, len, len2, wlen;

	(void)unused;
	for (i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		cg_state_init(&st);
		if (cg_config_parse(configs[i][0], &st, err, sizeof(err)))
			fail_msg("%s", err);
		assert_int_equal(cg_state_assign_ids(&st, NULL), 0);
		out = write_state(&st, &len);
		snprintf(digest, sizeof(digest), "%08x\n", cg_state_digest(&st));

		snprintf(path, sizeof(path), "tests/data/%s.state.yaml", configs[i][1]);
		if (getenv("CG_REGEN")) {
			FILE *f = fopen(path, "wb");

			assert_non_null(f);
			assert_int_equal(fwrite(out, 1, len, f), len);
			fclose(f);
			snprintf(path, sizeof(path), "tests/data/%s.digest", configs[i][1]);
			f = fopen(path, "wb");
			assert_non_null(f);
			fputs(digest, f);
			fclose(f);
			snprintf(path, sizeof(path), "tests/data/%s.state.yaml", configs[i][1]);
		}
		want = slurp(path, &wlen);
		assert_non_null(want);
		assert_int_equal(len, wlen);
		assert_memory_equal(out, want, len);
		free(want);
		snprintf(path, sizeof(path), "tests/data/%s.digest", configs[i][1]);
		want = slurp(path, &wlen);
		assert_non_null(want);
		assert_string_equal(digest, want);
		free(want);

		/* what was written reads back to the same bytes */
		cg_state_init(&st2);
		assert_int_equal(cg_config_parse_buf("written", out, len, &st2, err, sizeof(err)),
				 0);
		again = write_state(&st2, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(out, again, len);
		assert_int_equal(cg_state_digest(&st), cg_state_digest(&st2));
		free(again);
		free(out);
		cg_state_free(&st2);
		cg_state_free(&st);
	}
}

/* The state of path with ids, or a failed test. */
static void load(const char *path, struct cg_state *st)
{
	char err[512];

	cg_state_init(st);
	if (cg_config_parse(path, st, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cg_state_assign_ids(st, NULL), 0);
}

/* st written, read back and written again: the same state, bytes and digest. Returns the text. */
static char *round_trip(const struct cg_state *st)
{
	char err[512], *out, *again;
	struct cg_state back;
	size_t len, len2;

	out = write_state(st, &len);
	cg_state_init(&back);
	if (cg_config_parse_buf("written", out, len, &back, err, sizeof(err)))
		fail_msg("%s\n%s", err, out);
	assert_int_equal(cg_state_diff(st, &back, NULL, NULL), 0);
	assert_int_equal(cg_state_digest(st), cg_state_digest(&back));
	again = write_state(&back, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(out, again, len);
	free(again);
	cg_state_free(&back);
	out = realloc(out, len + 1);
	assert_non_null(out);
	out[len] = '\0';
	return out;
}

/*
 * Hidden characters the check refuses (text.h) but the emitter still escapes,
 * should a state ever hold one: the writer never prints them raw.
 */
static const char *const hidden[] = {
	"\xe2\x80\xae" "evil\xe2\x80\xac",	/* bidi: right-to-left override, pop */
	"line\xc2\x85next",			/* U+0085, a YAML 1.1 line break */
	"a\xe2\x80\xa8" "b\xe2\x80\xa9" "c", /* line and paragraph separators */
	"\xef\xbb\xbf" "bom",			/* a byte order mark */
	"\xc2\x80\xc2\x9f",			/* C1 controls */
};

/* Client text the emitter must quote or escape: each reads back byte for byte. */
static const char *const odd[] = {
	"%directive",
	"@reserved `tick",
	"{flow: map}",
	"|literal >folded ? key",
	"no-break\xc2\xa0space",
	"caf\xc3\xa9 \xf0\x9f\x98\x80",		/* non-ASCII, a 4-byte character */
	"say \"hi\"\\",
	" lead and trail ",
	"# not a comment",
	"key: value",
	"- item",
	"*",
	"&anchor *alias !tag",
	"true",
	"null",
	"~",
};

static void test_odd_strings_are_escaped_and_read_back(void **unused)
{
	static const char *const ifaces[] = { "a\"b", "#x", "-x", "x,y", "[x]", "'q'", "x\\y", "true" };
	struct cg_state st, back;
	char err[512], *out;
	const unsigned char *c;
	size_t i, j, n = sizeof(odd) / sizeof(odd[0]);

	(void)unused;
	load("tests/data/minimal.yaml", &st);
	for (i = 0; i < CG_MAX_IFACES; i++)
		snprintf(st.ifaces[i], sizeof(st.ifaces[i]), "%s", ifaces[i]);
	st.nifaces = CG_MAX_IFACES;
	st.shed = calloc(n / 2, sizeof(*st.shed));
	assert_non_null(st.shed);
	st.nshed = n / 2;
	for (i = 0; i < n / 2; i++) { /* (cell, class) unique: * and c1 by the four classes */
		snprintf(st.shed[i].cell, sizeof(st.shed[i].cell), "%s", i % 2 ? "c1" : "*");
		st.shed[i].class = (uint8_t)(i / 2);
		st.shed[i].level_ppm = 500000;
		snprintf(st.shed[i].by, sizeof(st.shed[i].by), "%s", odd[2 * i]);
		snprintf(st.shed[i].reason, sizeof(st.shed[i].reason), "%s", odd[2 * i + 1]);
	}
	assert_int_equal(cg_state_check(&st, NULL, err, sizeof(err)), 0);
	out = round_trip(&st);
	for (c = (const unsigned char *)out; *c; c++) /* every character escaped to ASCII */
		assert_true(*c == '\n' || (*c >= 0x20 && *c < 0x7f));
	assert_non_null(strstr(out, "by: \"%directive\"\n"));
	assert_non_null(strstr(out, "reason: \"@reserved `tick\"\n"));
	assert_non_null(strstr(out, "by: \"{flow: map}\"\n"));
	assert_non_null(strstr(out, "reason: \"|literal >folded ? key\"\n"));
	assert_non_null(strstr(out, "by: \"no-break\\_space\"\n"));
	assert_non_null(strstr(out, "by: \"say \\\"hi\\\"\\\\\"\n"));
	assert_non_null(strstr(out, "reason: \"*\"\n"));
	assert_non_null(strstr(out, "reason: true\n")); /* a word, as before: text is never a bool */
	assert_non_null(strstr(out, "interfaces: [\"#x\", \"'q'\", \"-x\", \"[x]\", \"a\\\"b\", "
				    "true, \"x,y\", \"x\\\\y\"]\n"));
	cg_state_init(&back);
	assert_int_equal(cg_config_parse_buf("written", out, strlen(out), &back, err, sizeof(err)), 0);
	assert_int_equal(back.nshed, n / 2);
	for (i = 0; i < n / 2; i++) {
		for (j = 0; j < back.nshed; j++)
			if (!strcmp(back.shed[j].cell, st.shed[i].cell) &&
			    back.shed[j].class == st.shed[i].class)
				break;
		assert_true(j < back.nshed);
		assert_string_equal(back.shed[j].by, odd[2 * i]);
		assert_string_equal(back.shed[j].reason, odd[2 * i + 1]);
	}
	assert_int_equal(back.nifaces, CG_MAX_IFACES);
	for (i = 0; i < CG_MAX_IFACES; i++) {
		for (j = 0; j < back.nifaces && strcmp(back.ifaces[j], ifaces[i]); j++)
			;
		assert_true(j < back.nifaces);
	}
	free(out);
	cg_state_free(&back);
	cg_state_free(&st);
}

/* A hidden character is refused by the check, and escaped if written anyway. */
static void test_hidden_text_is_refused_and_escaped(void **unused)
{
	static const char *const want[] = { "\\u202Eevil\\u202C", "line\\Nnext", "a\\Lb\\Pc",
					    "\\uFEFFbom", "\\x80\\x9F" };
	struct cg_state st;
	char err[512], *out;
	const unsigned char *c;
	size_t i, len;

	(void)unused;
	load("tests/data/shed6.yaml", &st);
	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		snprintf(st.shed[0].reason, sizeof(st.shed[0].reason), "%s", hidden[i]);
		assert_int_equal(cg_state_check(&st, NULL, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "reason '"));
		out = write_state(&st, &len);
		out = realloc(out, len + 1);
		assert_non_null(out);
		out[len] = '\0';
		for (c = (const unsigned char *)out; *c; c++)
			assert_true(*c == '\n' || (*c >= 0x20 && *c < 0x7f));
		if (!strstr(out, want[i]))
			fail_msg("'%s' not in the written state", want[i]);
		free(out);
	}
	cg_state_free(&st);
}

/* Every field type at its edges: the largest numbers, both families, ids left to assign. */
static void test_every_field_type_round_trips(void **unused)
{
	struct cg_state st;
	char *out;

	(void)unused;
	load("docs/cellgate.example.yaml", &st);
	st.cells[0].capacity = UINT32_MAX;
	st.cells[0].weight = CG_MAX_WEIGHT;
	st.cells[0].gue_port = 65535;
	st.cells[0].probe_port = 1;
	st.classes[3].packets_per_sec = UINT32_MAX;
	st.classes[3].burst = UINT32_MAX;
	st.guard.ipv4_prefix = 32;
	st.guard.ipv6_prefix = 128;
	st.guard.new_flows_per_sec = UINT32_MAX;
	st.guard.burst = UINT32_MAX;
	st.guard.ipv4_aggregate = 8;
	st.guard.aggregate_new_flows_per_sec = UINT32_MAX;
	st.vlan = CG_MAX_VLAN_ID;
	st.icmp_rate = 0;
	st.shed[0].expires = INT64_MAX;
	st.shed[0].hard = true;
	st.shed[0].level_ppm = 1;
	st.shed[1].level_ppm = CG_LEVEL_ONE;
	st.shed[1].by[0] = '\0';
	st.regions[2].id = CG_ID_AUTO;
	st.services[0].default_class = 3;
	out = round_trip(&st);
	assert_non_null(strstr(out, "    capacity: 4294967295\n"));
	assert_non_null(strstr(out, "    gue_port: 65535\n    weight: " "65535\n    probe_port: 1\n"));
	assert_non_null(strstr(out, "guard:\n    ipv4_prefix: 32\n    ipv6_prefix: 128\n"
				    "    new_flows_per_sec: 4294967295\n    burst: 4294967295\n"
				    "    ipv4_aggregate: 8\n    ipv6_aggregate: 48\n"
				    "    aggregate_new_flows_per_sec: 4294967295\n"
				    "    aggregate_burst: 0\n"));
	assert_non_null(strstr(out, "vlan: 4094\nicmp_errors_per_sec: 0\n"
				    "icmp_too_big_per_sec: 1000\n"));
	assert_non_null(strstr(out, "    level: 0.000001\n    hard: true\n"
				    "    expires: 9223372036854775807\n"));
	assert_non_null(strstr(out, "    level: 1\n    hard: false\n"));
	assert_non_null(strstr(out, "    by: \"\"\n"));
	assert_non_null(strstr(out, "  - {name: us-west, cost: 5}\n"));
	assert_non_null(strstr(out, "    default_class: 3\n"));
	assert_non_null(strstr(out, "  - {prefix: \"2001:db8:0:11::/64\", class: critical}\n"));
	assert_non_null(strstr(out, "  - {dscp: 8, class: sheddable}\n"));
	assert_non_null(strstr(out, "source: {ipv4: 198.18.0.1, ipv6: \"2001:db8::1\"}\n"));
	free(out);
	cg_state_free(&st);
}

/* A state file of the hand-printed writer (\x22 for a quote) loads to the same state. */
static void test_old_escapes_still_load(void **unused)
{
	struct cg_state now, old;
	char err[512], *text, *at;
	size_t len;

	(void)unused;
	text = slurp("tests/data/shed6.state.yaml", &len);
	assert_non_null(text);
	cg_state_init(&now);
	assert_int_equal(cg_config_parse_buf("new", text, len, &now, err, sizeof(err)), 0);
	at = strstr(text, "\"me \\\"x\\\"\"");
	assert_non_null(at);
	text = realloc(text, len + 8);
	assert_non_null(text);
	at = strstr(text, "\"me \\\"x\\\"\"");
	memmove(at + 14, at + 10, len - (size_t)(at + 10 - text) + 1);
	memcpy(at, "\"me \\x22x\\x22\"", 14);
	assert_non_null(strstr(text, "by: \"me \\x22x\\x22\"\n"));
	cg_state_init(&old);
	assert_int_equal(cg_config_parse_buf("old", text, strlen(text), &old, err, sizeof(err)), 0);
	assert_int_equal(cg_state_diff(&now, &old, NULL, NULL), 0);
	assert_int_equal(cg_state_digest(&now), cg_state_digest(&old));
	free(text);
	cg_state_free(&now);
	cg_state_free(&old);
}

/* Text that is not UTF-8 is refused by the check, and cannot be written. */
static void test_text_not_utf8_is_refused(void **unused)
{
	static const char *const bad[] = { "\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80" };
	struct cg_state st;
	char err[512];
	FILE *f;
	size_t i;

	(void)unused;
	load("tests/data/shed6.yaml", &st);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(st.shed[0].reason, sizeof(st.shed[0].reason), "%s", bad[i]);
		assert_int_equal(cg_state_check(&st, NULL, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "invalid UTF-8 byte"));
		f = fopen("/dev/null", "w");
		assert_non_null(f);
		assert_int_equal(cg_state_write(&st, f), -EINVAL);
		fclose(f);
		assert_int_equal(cg_state_digest(&st), 0);
	}
	cg_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configs_write_the_stored_bytes),
		cmocka_unit_test(test_odd_strings_are_escaped_and_read_back),
		cmocka_unit_test(test_hidden_text_is_refused_and_escaped),
		cmocka_unit_test(test_every_field_type_round_trips),
		cmocka_unit_test(test_old_escapes_still_load),
		cmocka_unit_test(test_text_not_utf8_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
