/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/maglev.h - deterministic, weighted Maglev lookup table builder */
#ifndef CELLGATE_MAGLEV_H
#define CELLGATE_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every load balancer of a fleet must compute byte-identical tables from the
 * same set of cells, so the algorithm below is part of the contract: changing
 * any step of it moves flows.
 *
 * 1. Cells are ordered by name (strcmp, i.e. unsigned bytes); input order is
 *    irrelevant. Cells of weight 0 are left out.
 * 2. Each cell's permutation of the slots comes from its name bytes (the id
 *    plays no part; no terminating NUL, so no host byte order either):
 *
 *        fnv(s, name) = FNV-1a 64 of the bytes, started from 0xcbf29ce484222325 ^ s
 *        mix(z)       = splitmix64 finalizer: z ^= z >> 30; z *= 0xbf58476d1ce4e5b9;
 *                       z ^= z >> 27; z *= 0x94d049bb133111eb; z ^= z >> 31
 *        h1 = mix(fnv(0, name))        offset = h1 % size
 *        h2 = mix(fnv(0x9e3779b97f4a7c15, name))  skip = h2 % (size - 1) + 1
 *        perm[j] = (offset + j * skip) % size
 *
 * 3. Filling goes in rounds. W is the largest weight. In each round every
 *    cell, in name order, adds its weight to its credit; while the credit is
 *    at least W, it takes the first slot of its permutation that is still
 *    free, writes its id there and subtracts W. The table is done when every
 *    slot is taken. A cell of weight W places one entry per round, so each
 *    cell ends with size * weight / sum(weights) entries, within one.
 *
 * Equal weights give plain Maglev (one entry per cell per round).
 */

/* One cell as the table builder sees it. */
struct cg_maglev_cell {
	uint32_t id;	  /* cell id written into the table (index of the cells map) */
	const char *name; /* stable, unique cell name; seeds the permutation (not the id) */
	uint32_t weight;  /* relative weight; 0 = not in the table */
};

/*
 * cg_maglev_is_prime - tell whether n is prime.
 * Returns 1 if it is, 0 if not (0 and 1 are not).
 */
int cg_maglev_is_prime(uint32_t n);

/*
 * cg_maglev_build - fill table[0..size-1] with the ids of cells, as described
 * at the top of this file. Ids are written in host byte order, as the data
 * plane's map expects them.
 *
 * size must be prime; cells must hold ncells >= 1 entries with non-NULL,
 * unique names, at least one with a weight above 0. Neither cells nor the
 * strings are modified or kept.
 *
 * Returns 0 on success, -EINVAL on a bad argument (NULL pointer, size not
 * prime, no cell of weight above 0, NULL or duplicate name), -ENOMEM if
 * working memory cannot be had. On any error the table is left untouched.
 */
int cg_maglev_build(const struct cg_maglev_cell *cells, size_t ncells, uint32_t *table,
		    uint32_t size);

#endif /* CELLGATE_MAGLEV_H */
