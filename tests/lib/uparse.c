// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* uparse.c - bpf/parse.h compiled for userspace: the very parser the router runs, on a buffer */
#include "bpf_user.h" /* first: the kernel's header structs, before any glibc network header */
#include "../../bpf/parse.h"

#include <stdlib.h>
#include <string.h>

#include "uparse.h"

/* enum uparse_res mirrors enum cg_parse_res */
_Static_assert((int)UPARSE_OK == CG_PARSE_OK && (int)UPARSE_NOT_IP == CG_PARSE_NOT_IP &&
		       (int)UPARSE_L4_OTHER == CG_PARSE_L4_OTHER &&
		       (int)UPARSE_V6_EXT == CG_PARSE_V6_EXT &&
		       (int)UPARSE_MALFORMED == CG_PARSE_MALFORMED &&
		       (int)UPARSE_NOT_VIP == CG_PARSE_NOT_VIP &&
		       (int)UPARSE_L2_GROUP == CG_PARSE_L2_GROUP &&
		       (int)UPARSE_MARTIAN == CG_PARSE_MARTIAN &&
		       (int)UPARSE_PORT_ZERO == CG_PARSE_PORT_ZERO,
	       "enum uparse_res must mirror enum cg_parse_res");

int uparse_flow(const void *data, size_t len, const struct cg_vip_filter *vf,
		struct uparse_pkt *out)
{
	struct cg_pkt pkt;
	char *buf;
	int res;

	/*
	 * The frame as the kernel lays it out with NET_IP_ALIGN: 2 bytes past an
	 * aligned address, so the IP header and everything after it is 4-aligned
	 * (UBSan's alignment check holds the parser to that); the buffer ends
	 * where the frame does, so ASan sees any read past it.
	 */
	buf = malloc(len + 2);
	if (!buf)
		return -1;
	memcpy(buf + 2, data, len);
	memset(&pkt, 0, sizeof(pkt));
	res = cg_parse_flow(buf + 2, buf + 2 + len, &pkt, vf);
	free(buf);
	memset(out, 0, sizeof(*out));
	out->key = pkt.key;
	out->l3_off = pkt.l3_off;
	out->l3_len = pkt.l3_len;
	out->tos = pkt.tos;
	out->frag = pkt.frag;
	out->df = pkt.df;
	out->icmp_err = pkt.icmp_err;
	out->tcp_flags = pkt.tcp_flags;
	return res;
}

const char *uparse_res_name(int res)
{
	switch (res) {
	case CG_PARSE_OK:
		return "OK";
	case CG_PARSE_NOT_IP:
		return "NOT_IP";
	case CG_PARSE_L4_OTHER:
		return "L4_OTHER";
	case CG_PARSE_V6_EXT:
		return "V6_EXT";
	case CG_PARSE_MALFORMED:
		return "MALFORMED";
	case CG_PARSE_NOT_VIP:
		return "NOT_VIP";
	case CG_PARSE_L2_GROUP:
		return "L2_GROUP";
	case CG_PARSE_MARTIAN:
		return "MARTIAN";
	case CG_PARSE_PORT_ZERO:
		return "PORT_ZERO";
	}
	return "?";
}
