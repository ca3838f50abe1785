// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fuzz_report.c - libFuzzer target: the cell load report decoder, unsigned and signed */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cellgate/report.h"
#include "fuzz_common.h"

static const uint8_t key[CG_REPORT_KEY] = "fuzz-key-fuzz-key-fuzz-key-fuzz";

/*
 * The input as a datagram, without a key and with one. Properties: it is
 * refused with -EBADMSG or -EPERM and a one-line message, or it decodes to a
 * report that encodes back to the very same bytes (nothing is read that the
 * format does not define, nothing accepted that the encoder would not write).
 */
static void one(const uint8_t *data, size_t size, const uint8_t *k)
{
	struct cg_report r;
	uint8_t back[CG_REPORT_MAX];
	char err[256] = "";
	int ret, n;

	ret = cg_report_decode(data, size, k, &r, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret == -EBADMSG || ret == -EPERM, "returned %d", ret);
		FUZZ_CHECK(fuzz_one_line(err), "message '%s'", err);
		return;
	}
	FUZZ_CHECK(r.cell < 4096, "cell %u", r.cell);
	n = cg_report_encode(&r, k, back, sizeof(back));
	FUZZ_CHECK(n > 0 && (size_t)n == size, "encoded %d bytes of %zu", n, size);
	FUZZ_CHECK(!memcmp(back, data, size), "encoded bytes differ");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, NULL);
	one(data, size, key);
	return 0;
}
