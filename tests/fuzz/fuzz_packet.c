// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fuzz_packet.c - libFuzzer target: the router's packet parser (bpf/parse.h) built for userspace */
#include <stdint.h>
#include <string.h>

#include "cellgate/abi/consts.h"
#include "fuzz_common.h"
#include "uparse.h"

static struct cg_vip_filter vf_all, vf_none; /* every bucket set; none set */

/*
 * The input is one frame. ASan catches a read outside it (libFuzzer's copy
 * is exactly size bytes). Properties: a known result; on UPARSE_OK the
 * datagram lies inside the frame at a place an Ethernet header with 0-2 tags
 * puts it, and the key is a TCP/UDP flow of a known family; a filter with
 * every bucket set changes nothing, one with none turns every IP packet the
 * parser would route, pass as L4_OTHER or drop as a hostile packet to a VIP
 * (L2_GROUP, MARTIAN, PORT_ZERO) into NOT_VIP.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uparse_pkt p, q;
	int res, res_all, res_none;

	if (!vf_all.bits[0])
		memset(&vf_all, 0xff, sizeof(vf_all));
	res = uparse_flow(data, size, NULL, &p);
	FUZZ_CHECK(res >= UPARSE_OK && res <= UPARSE_PORT_ZERO, "result %d", res);
	FUZZ_CHECK(res != UPARSE_NOT_VIP, "NOT_VIP without a filter");
	if (res == UPARSE_OK) {
		FUZZ_CHECK(p.l3_off == 14 || p.l3_off == 18 || p.l3_off == 22, "l3_off %u",
			   p.l3_off);
		FUZZ_CHECK((size_t)p.l3_off + p.l3_len <= size, "datagram %u+%u past %zu", p.l3_off,
			   p.l3_len, size);
		FUZZ_CHECK(p.key.family == CG_AF_INET || p.key.family == CG_AF_INET6, "family %u",
			   p.key.family);
		FUZZ_CHECK(p.key.proto == 6 || p.key.proto == 17, "proto %u", p.key.proto);
		FUZZ_CHECK(p.l3_len >= (p.key.family == CG_AF_INET ? 20u : 40u), "l3_len %u",
			   p.l3_len);
	}
	res_all = uparse_flow(data, size, &vf_all, &q);
	FUZZ_CHECK(res_all == res && !memcmp(&p, &q, sizeof(p)), "full filter: %s, not %s",
		   uparse_res_name(res_all), uparse_res_name(res));
	res_none = uparse_flow(data, size, &vf_none, &q);
	if (res == UPARSE_OK || res == UPARSE_L4_OTHER || res == UPARSE_L2_GROUP ||
	    res == UPARSE_MARTIAN || res == UPARSE_PORT_ZERO)
		FUZZ_CHECK(res_none == UPARSE_NOT_VIP, "empty filter: %s after %s",
			   uparse_res_name(res_none), uparse_res_name(res));
	else
		FUZZ_CHECK(res_none == res || res_none == UPARSE_NOT_VIP,
			   "empty filter: %s after %s", uparse_res_name(res_none),
			   uparse_res_name(res));
	return 0;
}
