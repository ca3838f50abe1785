/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* csum.h - Internet checksums for the headers the programs write */
#ifndef CG_BPF_CSUM_H
#define CG_BPF_CSUM_H

/* cg_csum_fold - fold a 32-bit one's complement sum to the 16-bit checksum field value. */
static __always_inline __u16 cg_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * cg_ipv4_csum - checksum of a 20-byte IPv4 header (no options) whose check
 * field is zero. Unrolled: cheaper than bpf_csum_diff for a fixed size.
 */
static __always_inline __u16 cg_ipv4_csum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += w[i];
	return cg_csum_fold(sum);
}

/* cg_addr_sum - one's complement partial sum of a 16-byte address, for pseudo-headers. */
static __always_inline __u32 cg_addr_sum(const __be32 *a)
{
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++)
		sum += (a[i] >> 16) + (a[i] & 0xffff);
	return sum;
}

#endif /* CG_BPF_CSUM_H */
