/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bpf_user.h - what bpf/parse.h takes from vmlinux.h and bpf_helpers, for a userspace build */
#ifndef CG_TEST_BPF_USER_H
#define CG_TEST_BPF_USER_H

/*
 * Included before bpf/parse.h by tests/lib/uparse.c, the only userspace
 * file that compiles the parser. The kernel's UAPI headers give the same
 * header structs vmlinux.h does (field names included); libbpf's
 * bpf_endian.h works in userspace as it is. No glibc network header may
 * come before these: its struct in6_addr lacks the in6_u the parser reads.
 */
#include <linux/types.h>
#include <linux/in.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* `#pragma unroll` is clang's; gcc compiles the bounded loops as they are */
#pragma GCC diagnostic ignored "-Wunknown-pragmas"

#endif /* CG_TEST_BPF_USER_H */
