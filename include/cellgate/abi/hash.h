/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/abi/hash.h - the flow hash, one definition for the BPF programs and userspace */
#ifndef CELLGATE_HASH_H
#define CELLGATE_HASH_H

#include "cellgate/abi/consts.h"
#include "cellgate/abi/structs.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * Seeds: one per use, so that decisions made from one hash do not correlate,
 * and both secret: they come from the deployment's hash key (cg_config
 * seed_cell, seed_admit; see userspace/lib/hashkey.c), never from a constant
 * a client could read and choose its ports against.
 */

static __always_inline __u32 cg_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 cg_mix32(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51U;
	k = cg_rotl32(k, 15);
	k *= 0x1b873593U;
	h ^= k;
	h = cg_rotl32(h, 13);
	return h * 5 + 0xe6546b64U;
}

static __always_inline __u32 cg_fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

/*
 * cg_flow_hash - 32-bit hash of a flow key (MurmurHash3's mixing over the
 * key's ten 32-bit words as they lie in memory).
 * The words are read in host order, so every LB of a fleet must share the
 * host byte order for tables to agree; all supported hosts are little-endian.
 * Fragmented datagrams carry zero ports in the key, so all their fragments
 * hash alike. Returns the hash; never fails.
 */
static __always_inline __u32 cg_flow_hash(const struct cg_flow_key *k, __u32 seed)
{
	__u32 h = seed;

	h = cg_mix32(h, k->saddr[0]);
	h = cg_mix32(h, k->saddr[1]);
	h = cg_mix32(h, k->saddr[2]);
	h = cg_mix32(h, k->saddr[3]);
	h = cg_mix32(h, k->daddr[0]);
	h = cg_mix32(h, k->daddr[1]);
	h = cg_mix32(h, k->daddr[2]);
	h = cg_mix32(h, k->daddr[3]);
	h = cg_mix32(h, ((__u32)k->sport << 16) | k->dport);
	h = cg_mix32(h, ((__u32)k->proto << 8) | k->family);
	return cg_fmix32(h ^ (__u32)sizeof(*k));
}

/*
 * cg_maglev_slot - the table slot (1-based: slot 0 of a table holds its size)
 * for a flow hash in a table of size slots. size must be > 0.
 */
static __always_inline __u32 cg_maglev_slot(__u32 hash, __u32 size)
{
	return 1 + hash % size;
}

/*
 * cg_vip_bucket - the VIP pre-filter bucket of a destination address
 * (addr[0] for IPv4, all four words for IPv6, as they lie in memory).
 */
static __always_inline __u32 cg_vip_bucket(const __be32 *addr, __u8 family)
{
	__u32 h = addr[0];

	if (family != CG_AF_INET)
		h ^= addr[1] ^ addr[2] ^ addr[3];
	h = cg_fmix32(h ^ family);
	return h & (CG_VIP_FILTER_BITS - 1);
}

#endif /* CELLGATE_HASH_H */
