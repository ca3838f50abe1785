/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* maglev.c - deterministic, weighted Maglev lookup table builder */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/maglev.h"

/*
 * Hash constants. Part of the table contract (see cellgate/maglev.h): every
 * load balancer must use the same ones, and changing one moves every flow.
 */
#define CG_FNV64_BASIS	      0xcbf29ce484222325ULL /* FNV-1a 64 offset basis */
#define CG_FNV64_PRIME	      0x100000001b3ULL	    /* FNV-1a 64 prime */
#define CG_MAGLEV_SEED_OFFSET 0x0ULL		    /* seed of h1, which gives the offset */
#define CG_MAGLEV_SEED_SKIP   0x9e3779b97f4a7c15ULL /* seed of h2, which gives the skip */

/* Filling state of one cell of weight above 0. */
struct cg_maglev_cursor {
	uint32_t pos;	 /* next slot of its permutation to try */
	uint32_t skip;	 /* permutation step, 1..size-1 */
	uint32_t id;	 /* cell id it writes */
	uint32_t weight; /* its weight, above 0 */
	uint32_t placed; /* entries written so far */
};

/* A heap node: when a cell writes its next entry. Ordered by (round, cell). */
struct cg_maglev_turn {
	uint64_t round; /* round of that entry, counted from 1 */
	size_t cell;	/* index in name order; breaks ties as the round-robin would */
};

int cg_maglev_is_prime(uint32_t n)
{
	uint32_t i;

	if (n < 2)
		return 0;
	if (n < 4)
		return 1;
	if (n % 2 == 0 || n % 3 == 0)
		return 0;
	/* i <= n / i rather than i * i <= n: no overflow near UINT32_MAX */
	for (i = 5; i <= n / i; i += 6)
		if (n % i == 0 || n % (i + 2) == 0)
			return 0;
	return 1;
}

/* Bytes, not words: the same value on any host. */
static uint64_t maglev_fnv1a(uint64_t seed, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t h = CG_FNV64_BASIS ^ seed;

	for (; *p; p++) {
		h ^= *p;
		h *= CG_FNV64_PRIME;
	}
	return h;
}

/* splitmix64 finalizer: FNV alone mixes the last bytes poorly into the low bits. */
static uint64_t maglev_mix(uint64_t z)
{
	z ^= z >> 30;
	z *= 0xbf58476d1ce4e5b9ULL;
	z ^= z >> 27;
	z *= 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z;
}

/* perm[j + 1] from perm[j]; pos, skip < size, so no overflow near UINT32_MAX. */
static inline uint32_t maglev_step(uint32_t pos, uint32_t skip, uint32_t size)
{
	return pos >= size - skip ? pos - (size - skip) : pos + skip;
}

/*
 * The round in which a cell of weight w writes its k-th entry (k >= 1): the
 * first r with r * w >= k * wmax. k <= size and wmax fit in 32 bits, so the
 * product fits in 64.
 */
static uint64_t maglev_round(uint32_t k, uint32_t wmax, uint32_t w)
{
	uint64_t p = (uint64_t)k * wmax;

	return p / w + (p % w != 0);
}

static int maglev_turn_before(const struct cg_maglev_turn *a, const struct cg_maglev_turn *b)
{
	if (a->round != b->round)
		return a->round < b->round;
	return a->cell < b->cell;
}

static void maglev_sift_down(struct cg_maglev_turn *heap, size_t n, size_t i)
{
	struct cg_maglev_turn t = heap[i];
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && maglev_turn_before(&heap[c + 1], &heap[c]))
			c++;
		if (!maglev_turn_before(&heap[c], &t))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = t;
}

static int maglev_cmp_name(const void *a, const void *b)
{
	const struct cg_maglev_cell *x = *(const struct cg_maglev_cell *const *)a;
	const struct cg_maglev_cell *y = *(const struct cg_maglev_cell *const *)b;

	return strcmp(x->name, y->name);
}

/*
 * The round-robin of maglev.h, driven by a heap of (round, cell) so that the
 * cost is O(size * (log ncells + probes)) whatever the spread of the weights;
 * a literal round-robin costs ncells visits a round, and a round can place as
 * little as one entry when one weight dwarfs the others.
 */
int cg_maglev_build(const struct cg_maglev_cell *cells, size_t ncells, uint32_t *table,
		    uint32_t size)
{
	const struct cg_maglev_cell **sorted = NULL;
	struct cg_maglev_cursor *cur = NULL;
	struct cg_maglev_turn *heap = NULL;
	uint64_t *taken = NULL;
	size_t i, n, nactive = 0;
	uint32_t wmax = 0, filled = 0;
	int err = 0;

	if (!cells || !table || ncells == 0 || !cg_maglev_is_prime(size))
		return -EINVAL;
	for (i = 0; i < ncells; i++) {
		if (!cells[i].name)
			return -EINVAL;
		if (cells[i].weight) {
			nactive++;
			if (cells[i].weight > wmax)
				wmax = cells[i].weight;
		}
	}
	if (nactive == 0)
		return -EINVAL;

	sorted = calloc(ncells, sizeof(*sorted));
	cur = calloc(nactive, sizeof(*cur));
	heap = calloc(nactive, sizeof(*heap));
	taken = calloc(((size_t)size + 63) / 64, sizeof(*taken));
	if (!sorted || !cur || !heap || !taken) {
		err = -ENOMEM;
		goto out;
	}

	for (i = 0; i < ncells; i++)
		sorted[i] = &cells[i];
	qsort(sorted, ncells, sizeof(*sorted), maglev_cmp_name);
	for (i = 1; i < ncells; i++) {
		if (!strcmp(sorted[i - 1]->name, sorted[i]->name)) {
			err = -EINVAL;
			goto out;
		}
	}

	for (i = 0, n = 0; i < ncells; i++) {
		const struct cg_maglev_cell *c = sorted[i];
		uint64_t h1, h2;

		if (!c->weight)
			continue;
		h1 = maglev_mix(maglev_fnv1a(CG_MAGLEV_SEED_OFFSET, c->name));
		h2 = maglev_mix(maglev_fnv1a(CG_MAGLEV_SEED_SKIP, c->name));
		cur[n].pos = (uint32_t)(h1 % size);
		cur[n].skip = (uint32_t)(h2 % (size - 1) + 1);
		cur[n].id = c->id;
		cur[n].weight = c->weight;
		heap[n].round = maglev_round(1, wmax, c->weight);
		heap[n].cell = n;
		n++;
	}
	for (i = nactive / 2; i-- > 0;)
		maglev_sift_down(heap, nactive, i);

	/*
	 * size is prime and 0 < skip < size, so a permutation visits every slot:
	 * while a slot is free the probe loop ends.
	 */
	for (;;) {
		struct cg_maglev_cursor *c = &cur[heap[0].cell];
		uint32_t pos = c->pos;

		while (taken[pos / 64] & (1ULL << (pos % 64)))
			pos = maglev_step(pos, c->skip, size);
		taken[pos / 64] |= 1ULL << (pos % 64);
		table[pos] = c->id;
		c->pos = maglev_step(pos, c->skip, size);
		c->placed++;
		if (++filled == size)
			break;
		heap[0].round = maglev_round(c->placed + 1, wmax, c->weight);
		maglev_sift_down(heap, nactive, 0);
	}

out:
	free(taken);
	free(heap);
	free(cur);
	free(sorted);
	return err;
}
