// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fuzz_statefile.c - libFuzzer target: the state file loader (header, length, crc32, body) */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "cellgate/codec.h"
#include "cellgate/statefile.h"
#include "fuzz_common.h"

/*
 * The input as it is, and once more behind a header that is right for it,
 * so the fuzzer reaches the body past the crc32. Properties: -EBADMSG or a
 * parse error with a one-line message, or a state.
 */
static void load(const char *buf, size_t len)
{
	struct cg_state st;
	char err[512] = "";
	int ret;

	ret = cg_state_load_buf("state.yaml", buf, len, &st, err, sizeof(err));
	if (!ret) {
		cg_state_free(&st);
		return;
	}
	FUZZ_CHECK(ret == -EBADMSG || ret == -EINVAL || ret == -EFBIG || ret == -ENOMEM,
		   "returned %d", ret);
	FUZZ_CHECK(fuzz_one_line(err), "message '%s'", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hdr[96], *buf;
	int hlen;

	load((const char *)data, size);
	/* a body of its own: data is taken as the body when it does not start with the magic */
	if (size >= strlen(CG_STATE_MAGIC) && !memcmp(data, CG_STATE_MAGIC, strlen(CG_STATE_MAGIC)))
		return 0;
	hlen = snprintf(hdr, sizeof(hdr), CG_STATE_MAGIC "crc32=%08x len=%zu\n",
			(unsigned int)crc32(crc32(0, Z_NULL, 0), data, (uInt)size), size);
	buf = malloc((size_t)hlen + size);
	FUZZ_CHECK(buf, "out of memory");
	memcpy(buf, hdr, (size_t)hlen);
	memcpy(buf + hlen, data, size);
	load(buf, (size_t)hlen + size);
	free(buf);
	return 0;
}
