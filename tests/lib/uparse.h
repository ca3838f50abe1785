/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* uparse.h - the router's packet parser (bpf/parse.h) compiled for userspace: fuzzing, cross-checks */
#ifndef CG_TEST_UPARSE_H
#define CG_TEST_UPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "cellgate/abi/consts.h"
#include "cellgate/abi/structs.h"

/* enum cg_parse_res of bpf/parse.h, for files that cannot include it (uparse.c asserts equal) */
enum uparse_res {
	UPARSE_OK = 0,	  /* a TCP/UDP flow (or the flow an ICMP error is about) */
	UPARSE_NOT_IP,	  /* not IPv4/IPv6: the router passes it */
	UPARSE_L4_OTHER,  /* IP, nothing routed: passed */
	UPARSE_V6_EXT,	  /* IPv6 extension chain too long: passed */
	UPARSE_MALFORMED, /* truncated or invalid: dropped */
	UPARSE_NOT_VIP,	  /* ruled out by the VIP pre-filter: passed */
	UPARSE_L2_GROUP,  /* to a VIP in a broadcast/multicast frame: dropped */
	UPARSE_MARTIAN,	  /* to a VIP from a martian source: dropped */
	UPARSE_PORT_ZERO, /* TCP/UDP to port 0: dropped */
};

/* What cg_parse_flow() left in its struct cg_pkt, copied out. */
struct uparse_pkt {
	struct cg_flow_key key; /* the flow */
	uint32_t l3_off;	/* offset of the IP header */
	uint32_t l3_len;	/* IP datagram length from its header */
	uint8_t tos;		/* TOS / traffic class */
	uint8_t frag;		/* CG_FRAG_* */
	uint8_t df;		/* 1: must not be fragmented */
	uint8_t icmp_err;	/* 1: an ICMP error about key */
	uint8_t tcp_flags;	/* TCP flags byte, 0 otherwise */
};

/*
 * uparse_flow - run bpf/parse.h's cg_parse_flow() on the frame
 * data[0..len) with the VIP pre-filter vf (NULL: none), exactly as the
 * router does. Returns its enum cg_parse_res (as enum uparse_res); *out gets
 * what it parsed (zero where it stopped). -1 if out of memory.
 */
int uparse_flow(const void *data, size_t len, const struct cg_vip_filter *vf,
		struct uparse_pkt *out);

/* uparse_res_name - "OK", "MALFORMED" etc., "?" for an unknown value. */
const char *uparse_res_name(int res);

#endif /* CG_TEST_UPARSE_H */
