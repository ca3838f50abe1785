// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fuzz_config.c - libFuzzer target: the desired-state YAML reader, the check, a write/re-read round trip */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/check.h"
#include "cellgate/codec.h"
#include "fuzz_common.h"

/* *st in canonical form, malloc'ed in *buf (*len bytes); aborts if writing fails. */
static void write_state(const struct cg_state *st, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int ret;

	FUZZ_CHECK(f, "open_memstream: %s", strerror(errno));
	ret = cg_state_write(st, f);
	FUZZ_CHECK(!fclose(f) && !ret, "cg_state_write: %d", ret);
}

/*
 * Properties: a refused input gets a one-line message; an accepted one passes
 * cg_state_check(), and its canonical form reads back to a state whose
 * canonical form is the same bytes, with the same digest.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_state st, back;
	char err[512] = "", *out1 = NULL, *out2 = NULL;
	size_t len1 = 0, len2 = 0;
	int ret;

	ret = cg_config_parse_buf("fuzz.yaml", (const char *)data, size, &st, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL || ret == -EFBIG || ret == -ENOMEM, "returned %d", ret);
		FUZZ_CHECK(fuzz_one_line(err), "message '%s'", err);
		return 0;
	}
	ret = cg_state_check(&st, NULL, err, sizeof(err));
	FUZZ_CHECK(!ret, "accepted state fails the check: %s", err);
	write_state(&st, &out1, &len1);
	ret = cg_config_parse_buf("out1.yaml", out1, len1, &back, err, sizeof(err));
	FUZZ_CHECK(!ret, "canonical form refused: %s\n--- canonical form:\n%.*s", err, (int)len1,
		   out1);
	write_state(&back, &out2, &len2);
	FUZZ_CHECK(len1 == len2 && !memcmp(out1, out2, len1),
		   "second write differs\n--- first:\n%.*s\n--- second:\n%.*s", (int)len1, out1,
		   (int)len2, out2);
	FUZZ_CHECK(cg_state_digest(&st) == cg_state_digest(&back), "digests differ");
	free(out1);
	free(out2);
	cg_state_free(&st);
	cg_state_free(&back);
	return 0;
}
