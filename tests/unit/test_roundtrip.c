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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configs_write_the_stored_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
