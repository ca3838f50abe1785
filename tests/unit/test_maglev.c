/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_maglev.c - unit tests of the weighted Maglev table builder */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cellgate/maglev.h"

#define BIG 65537 /* CG_DEFAULT_TABLE_SIZE */
#define NAME_LEN 32

/* A set of cells named "cell-00000", "cell-00001", ... with id = index, weight 1. */
struct cell_set {
	struct cg_maglev_cell *cells; /* n entries */
	char (*names)[NAME_LEN];      /* backing store of the names */
	size_t n;                     /* number of cells */
};

static void set_init(struct cell_set *s, size_t n)
{
	size_t i;

	s->n = n;
	s->cells = calloc(n + 1, sizeof(*s->cells)); /* + 1: room for an added cell */
	s->names = calloc(n + 1, sizeof(*s->names));
	assert_non_null(s->cells);
	assert_non_null(s->names);
	for (i = 0; i < n + 1; i++) {
		snprintf(s->names[i], NAME_LEN, "cell-%05zu", i);
		s->cells[i].id = (uint32_t)i;
		s->cells[i].name = s->names[i];
		s->cells[i].weight = 1;
	}
}

static void set_free(struct cell_set *s)
{
	free(s->cells);
	free(s->names);
}

static uint32_t *table_new(uint32_t size)
{
	uint32_t *t = malloc(size * sizeof(*t));

	assert_non_null(t);
	return t;
}

/* xorshift64*: a fixed, seeded PRNG so every run shuffles the same way. */
static uint64_t prng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void shuffle(struct cg_maglev_cell *c, size_t n, uint64_t *state)
{
	size_t i, j;
	struct cg_maglev_cell t;

	for (i = n; i > 1; i--) {
		j = prng_next(state) % i;
		t = c[i - 1];
		c[i - 1] = c[j];
		c[j] = t;
	}
}

/* counts[id] = entries of id; every entry must be an id below nids. */
static void count_ids(const uint32_t *t, uint32_t size, uint32_t *counts, size_t nids)
{
	uint32_t i;

	memset(counts, 0, nids * sizeof(*counts));
	for (i = 0; i < size; i++) {
		assert_true(t[i] < nids);
		counts[t[i]]++;
	}
}

/*
 * Every cell's count within 1% of size * weight / sum(weights), relative to
 * that expectation. Prints the worst relative error.
 */
static void assert_shares(const struct cell_set *s, uint32_t size, const char *what)
{
	uint32_t *t = table_new(size);
	uint32_t *counts = calloc(s->n, sizeof(*counts));
	double wsum = 0, worst = 0;
	size_t i;

	assert_non_null(counts);
	for (i = 0; i < s->n; i++)
		wsum += s->cells[i].weight;
	assert_int_equal(cg_maglev_build(s->cells, s->n, t, size), 0);
	count_ids(t, size, counts, s->n);
	for (i = 0; i < s->n; i++) {
		double fair = size * (s->cells[i].weight / wsum);
		double err = counts[i] > fair ? counts[i] - fair : fair - counts[i];

		assert_true(err <= 0.01 * fair);
		if (err / fair > worst)
			worst = err / fair;
	}
	print_message("%s: worst share error %.3f%% of the expected share\n", what, 100 * worst);
	free(counts);
	free(t);
}

static void test_maglev_is_prime_matches_known_values(void **state)
{
	static const uint32_t primes[] = { 2, 3, 5, 7, 13, 65537, 1048573, 4294967291U };
	static const uint32_t others[] = { 0, 1, 4, 9, 25, 65535, 65536, 1048575, 4294967295U,
					   65521U * 65519U };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		assert_int_equal(cg_maglev_is_prime(primes[i]), 1);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_int_equal(cg_maglev_is_prime(others[i]), 0);
}

/*
 * Worked out by hand from the definition in cellgate/maglev.h (and checked
 * with a separate script): permutations of size 13
 *   a: offset 5 skip 4:  5 9 0 4 8 12 3 7 11 2 6 10 1
 *   b: offset 6 skip 8:  6 1 9 4 12 7 2 10 5 0 8 3 11
 *   c: offset 9 skip 11: 9 7 5 3 1 12 10 8 6 4 2 0 11
 * Ids 100, 200, 300 show that ids, not name-order indexes, are written.
 */
static void test_maglev_golden_table_abc_size_13(void **state)
{
	/* equal weights: rounds a5 b6 c9, a0 b1 c7, a4 b12 c3, a8 b2 c10, a11 */
	static const uint32_t equal[13] = { 100, 200, 200, 300, 100, 100, 200,
					    300, 100, 300, 300, 100, 200 };
	/* weights 1, 2, 3: a places every third round, b two rounds of three */
	static const uint32_t weighted[13] = { 100, 200, 200, 300, 200, 100, 200,
					       300, 300, 300, 300, 300, 300 };
	struct cg_maglev_cell c[3] = {
		{ .id = 300, .name = "c", .weight = 1 },
		{ .id = 100, .name = "a", .weight = 1 },
		{ .id = 200, .name = "b", .weight = 1 },
	};
	uint32_t t[13];

	(void)state;
	assert_int_equal(cg_maglev_build(c, 3, t, 13), 0);
	assert_memory_equal(t, equal, sizeof(t));

	c[0].weight = 3;
	c[1].weight = 1;
	c[2].weight = 2;
	assert_int_equal(cg_maglev_build(c, 3, t, 13), 0);
	assert_memory_equal(t, weighted, sizeof(t));
}

static void test_maglev_equal_cells_share_within_1pct(void **state)
{
	struct cell_set s;

	(void)state;
	set_init(&s, 100);
	assert_shares(&s, BIG, "100 equal cells, 65537 slots");
	set_free(&s);
}

static void test_maglev_weights_1_to_4_share_within_1pct(void **state)
{
	struct cell_set s;
	size_t i;

	(void)state;
	set_init(&s, 40);
	for (i = 0; i < s.n; i++)
		s.cells[i].weight = (uint32_t)(i % 4 + 1);
	assert_shares(&s, BIG, "40 cells, weights 1,2,3,4");
	set_free(&s);
}

static void test_maglev_weights_1_and_10_share_within_1pct(void **state)
{
	struct cell_set s;
	size_t i;

	(void)state;
	set_init(&s, 20);
	for (i = 0; i < s.n; i++)
		s.cells[i].weight = i % 2 ? 10 : 1;
	assert_shares(&s, BIG, "20 cells, weights 1,10");
	set_free(&s);

	set_init(&s, 2);
	s.cells[0].weight = 1;
	s.cells[1].weight = 10;
	assert_shares(&s, BIG, "2 cells, weights 1,10");
	set_free(&s);
}

/* Weights are relative: scaling them all leaves the table as it was. */
static void test_maglev_scaled_weights_give_same_table(void **state)
{
	struct cell_set s;
	uint32_t *a = table_new(BIG), *b = table_new(BIG);
	size_t i;

	(void)state;
	set_init(&s, 30);
	for (i = 0; i < s.n; i++)
		s.cells[i].weight = (uint32_t)(i % 3 + 1);
	assert_int_equal(cg_maglev_build(s.cells, s.n, a, BIG), 0);
	for (i = 0; i < s.n; i++)
		s.cells[i].weight *= 1000;
	assert_int_equal(cg_maglev_build(s.cells, s.n, b, BIG), 0);
	assert_memory_equal(a, b, BIG * sizeof(*a));
	free(a);
	free(b);
	set_free(&s);
}

static void test_maglev_input_order_gives_identical_table(void **state)
{
	struct cell_set s;
	uint32_t *ref = table_new(BIG), *t = table_new(BIG);
	uint64_t seed = 0x5eed;
	size_t i;
	int round;

	(void)state;
	set_init(&s, 200);
	for (i = 0; i < s.n; i++)
		s.cells[i].weight = (uint32_t)(i % 7); /* includes weight 0 */
	assert_int_equal(cg_maglev_build(s.cells, s.n, ref, BIG), 0);
	for (round = 0; round < 8; round++) {
		shuffle(s.cells, s.n, &seed);
		memset(t, 0xa5, BIG * sizeof(*t));
		assert_int_equal(cg_maglev_build(s.cells, s.n, t, BIG), 0);
		assert_memory_equal(ref, t, BIG * sizeof(*t));
	}
	free(ref);
	free(t);
	set_free(&s);
}

/* The id plays no part in placement: other ids, same names, same slots. */
static void test_maglev_ids_do_not_seed_permutation(void **state)
{
	struct cell_set s;
	uint32_t *a = table_new(BIG), *b = table_new(BIG);
	uint32_t i;

	(void)state;
	set_init(&s, 50);
	assert_int_equal(cg_maglev_build(s.cells, s.n, a, BIG), 0);
	for (i = 0; i < s.n; i++)
		s.cells[i].id = 1000 + 7 * i;
	assert_int_equal(cg_maglev_build(s.cells, s.n, b, BIG), 0);
	for (i = 0; i < BIG; i++)
		assert_int_equal(b[i], 1000 + 7 * a[i]);
	free(a);
	free(b);
	set_free(&s);
}

/*
 * Remove each of the first up to 10 cells of n in turn; count the slots that
 * changed although they did not belong to the removed cell.
 */
static void check_remove_one(size_t n)
{
	struct cell_set s;
	struct cg_maglev_cell *rest = calloc(n, sizeof(*rest));
	uint32_t *before = table_new(BIG), *after = table_new(BIG);
	size_t k, i, tries = n < 10 ? n : 10;
	uint32_t moved, worst = 0;
	double sum = 0;

	assert_non_null(rest);
	set_init(&s, n);
	assert_int_equal(cg_maglev_build(s.cells, n, before, BIG), 0);
	for (k = 0; k < tries; k++) {
		memcpy(rest, s.cells, k * sizeof(*rest));
		memcpy(rest + k, s.cells + k + 1, (n - k - 1) * sizeof(*rest));
		assert_int_equal(cg_maglev_build(rest, n - 1, after, BIG), 0);
		moved = 0;
		for (i = 0; i < BIG; i++) {
			assert_int_not_equal(after[i], (uint32_t)k);
			if (before[i] != k && before[i] != after[i])
				moved++;
		}
		if (moved > worst)
			worst = moved;
		sum += moved;
	}
	print_message("remove 1 of %zu: other cells' slots moved: mean %.3f%%, worst %.3f%% "
		      "(removed cell held ~%.1f%%)\n",
		      n, 100.0 * sum / tries / BIG, 100.0 * worst / BIG, 100.0 / n);
	assert_true(worst <= 0.02 * BIG);
	free(rest);
	free(before);
	free(after);
	set_free(&s);
}

static void test_maglev_remove_one_of_10_moves_under_2pct_of_others(void **state)
{
	(void)state;
	check_remove_one(10);
}

static void test_maglev_remove_one_of_100_moves_under_2pct_of_others(void **state)
{
	(void)state;
	check_remove_one(100);
}

/*
 * Add one cell to n; count the slots that changed but did not go to the new
 * cell, and check the new cell got its fair share.
 */
static void check_add_one(size_t n)
{
	struct cell_set s;
	uint32_t *before = table_new(BIG), *after = table_new(BIG);
	uint32_t i, moved = 0, to_new = 0;

	set_init(&s, n);
	assert_int_equal(cg_maglev_build(s.cells, n, before, BIG), 0);
	assert_int_equal(cg_maglev_build(s.cells, n + 1, after, BIG), 0);
	for (i = 0; i < BIG; i++) {
		if (after[i] == n)
			to_new++;
		else if (after[i] != before[i])
			moved++;
	}
	print_message("add 1 to %zu: %.3f%% of slots to the new cell, %.3f%% moved between "
		      "old cells\n",
		      n, 100.0 * to_new / BIG, 100.0 * moved / BIG);
	assert_true(to_new >= BIG / (n + 1) - 1 && to_new <= BIG / (n + 1) + 1);
	assert_true(moved <= 0.02 * BIG);
	free(before);
	free(after);
	set_free(&s);
}

static void test_maglev_add_one_to_10_moves_slots_mostly_to_new_cell(void **state)
{
	(void)state;
	check_add_one(10);
}

static void test_maglev_add_one_to_100_moves_slots_mostly_to_new_cell(void **state)
{
	(void)state;
	check_add_one(100);
}

static void test_maglev_zero_weight_cells_get_nothing(void **state)
{
	struct cell_set s;
	uint32_t *t = table_new(BIG), *ref = table_new(BIG);
	uint32_t counts[12];
	size_t i;

	(void)state;
	set_init(&s, 12);
	for (i = 0; i < s.n; i++)
		s.cells[i].weight = i % 3 ? 1 : 0;
	assert_int_equal(cg_maglev_build(s.cells, s.n, t, BIG), 0);
	count_ids(t, BIG, counts, s.n);
	for (i = 0; i < s.n; i++)
		if (i % 3 == 0)
			assert_int_equal(counts[i], 0);
		else
			assert_true(counts[i] > 0);

	/* weight 0 is the same as absent */
	for (i = 0; i < 8; i++)
		s.cells[i] = s.cells[i / 2 * 3 + i % 2 + 1];
	assert_int_equal(cg_maglev_build(s.cells, 8, ref, BIG), 0);
	assert_memory_equal(t, ref, BIG * sizeof(*t));
	free(t);
	free(ref);
	set_free(&s);
}

/* Fewer slots than cells: the table fills in the first round, by name order. */
static void test_maglev_more_cells_than_slots_fills_table(void **state)
{
	struct cell_set s;
	uint32_t t[13], counts[50];
	size_t i;

	(void)state;
	set_init(&s, 50);
	assert_int_equal(cg_maglev_build(s.cells, s.n, t, 13), 0);
	count_ids(t, 13, counts, s.n);
	for (i = 0; i < s.n; i++)
		assert_int_equal(counts[i], i < 13 ? 1 : 0);
	set_free(&s);
}

static void test_maglev_bad_size_is_einval_table_untouched(void **state)
{
	static const uint32_t bad[] = { 0, 1, 4, 9, 65536, 4294967295U };
	struct cg_maglev_cell c = { .id = 1, .name = "a", .weight = 1 };
	uint32_t t[16];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(t, 0xa5, sizeof(t));
		assert_int_equal(cg_maglev_build(&c, 1, t, bad[i]), -EINVAL);
		for (j = 0; j < 16; j++)
			assert_int_equal(t[j], 0xa5a5a5a5);
	}
	/* the smallest prime works: one cell takes both slots */
	assert_int_equal(cg_maglev_build(&c, 1, t, 2), 0);
	assert_int_equal(t[0], 1);
	assert_int_equal(t[1], 1);
}

static void test_maglev_no_cells_is_einval_table_untouched(void **state)
{
	struct cg_maglev_cell c[3] = {
		{ .id = 1, .name = "a", .weight = 0 },
		{ .id = 2, .name = "b", .weight = 0 },
		{ .id = 3, .name = "c", .weight = 0 },
	};
	uint32_t t[13];
	size_t j;

	(void)state;
	memset(t, 0xa5, sizeof(t));
	assert_int_equal(cg_maglev_build(c, 0, t, 13), -EINVAL);
	assert_int_equal(cg_maglev_build(NULL, 0, t, 13), -EINVAL);
	assert_int_equal(cg_maglev_build(NULL, 3, t, 13), -EINVAL);
	assert_int_equal(cg_maglev_build(c, 3, t, 13), -EINVAL); /* all weights 0 */
	for (j = 0; j < 13; j++)
		assert_int_equal(t[j], 0xa5a5a5a5);
	c[1].weight = 1;
	assert_int_equal(cg_maglev_build(c, 3, NULL, 13), -EINVAL);
}

static void test_maglev_duplicate_or_null_names_are_einval(void **state)
{
	struct cg_maglev_cell c[3] = {
		{ .id = 1, .name = "cell-a", .weight = 1 },
		{ .id = 2, .name = "cell-b", .weight = 1 },
		{ .id = 3, .name = "cell-a", .weight = 1 },
	};
	char copy[] = "cell-b"; /* equal bytes at another address */
	uint32_t t[13];
	size_t j;

	(void)state;
	memset(t, 0xa5, sizeof(t));
	assert_int_equal(cg_maglev_build(c, 3, t, 13), -EINVAL);
	c[2].weight = 0; /* a duplicate is an error even out of the table */
	assert_int_equal(cg_maglev_build(c, 3, t, 13), -EINVAL);
	c[2].name = copy;
	assert_int_equal(cg_maglev_build(c, 3, t, 13), -EINVAL);
	c[2].name = NULL;
	assert_int_equal(cg_maglev_build(c, 3, t, 13), -EINVAL);
	for (j = 0; j < 13; j++)
		assert_int_equal(t[j], 0xa5a5a5a5);
	c[2].name = "cell-c";
	assert_int_equal(cg_maglev_build(c, 3, t, 13), 0);
}

/* n cells (the first of weight wmax if not 0, the rest 1) fill a full-size table. Timed in make bench. */
static void build_ok(size_t n, uint32_t wmax)
{
	struct cell_set s;
	uint32_t *t = table_new(BIG);
	size_t i;

	set_init(&s, n);
	if (wmax)
		s.cells[0].weight = wmax;
	assert_int_equal(cg_maglev_build(s.cells, n, t, BIG), 0);
	for (i = 0; i < BIG; i++)
		assert_true(t[i] < n);
	free(t);
	set_free(&s);
}

static void test_maglev_builds_1000_cells(void **state)
{
	(void)state;
	build_ok(1000, 0);
}

static void test_maglev_builds_4000_cells(void **state)
{
	(void)state;
	build_ok(4000, 0);
}

/* A literal round-robin would visit every cell in each of ~65537 rounds here. */
static void test_maglev_builds_with_one_cell_of_the_largest_weight(void **state)
{
	(void)state;
	build_ok(4000, UINT32_MAX);
}

/*
 * Reference model: the definition in cellgate/maglev.h, written as literally
 * as possible (full permutations, credits, one pass over the cells a round).
 */
static uint64_t ref_fnv(uint64_t seed, const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t ref_mix(uint64_t z)
{
	z ^= z >> 30;
	z *= 0xbf58476d1ce4e5b9ULL;
	z ^= z >> 27;
	z *= 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z;
}

static int ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cg_maglev_cell *)a)->name,
		      ((const struct cg_maglev_cell *)b)->name);
}

static void ref_build(const struct cg_maglev_cell *in, size_t n, uint32_t *table, uint32_t size)
{
	struct cg_maglev_cell *c = malloc(n * sizeof(*c));
	uint32_t *perm = malloc((size_t)n * size * sizeof(*perm));
	uint32_t *next = calloc(n, sizeof(*next));
	uint64_t *credit = calloc(n, sizeof(*credit));
	char *taken = calloc(size, 1);
	uint32_t wmax = 0, filled = 0, j, pos;
	size_t i;

	assert_true(c && perm && next && credit && taken);
	memcpy(c, in, n * sizeof(*c));
	qsort(c, n, sizeof(*c), ref_cmp);
	for (i = 0; i < n; i++) {
		uint64_t off = ref_mix(ref_fnv(0, c[i].name)) % size;
		uint64_t skip = ref_mix(ref_fnv(0x9e3779b97f4a7c15ULL, c[i].name)) % (size - 1) + 1;

		for (j = 0; j < size; j++)
			perm[i * size + j] = (uint32_t)((off + j * skip) % size);
		if (c[i].weight > wmax)
			wmax = c[i].weight;
	}
	while (filled < size) {
		for (i = 0; i < n && filled < size; i++) {
			credit[i] += c[i].weight;
			while (credit[i] >= wmax && filled < size) {
				credit[i] -= wmax;
				do
					pos = perm[i * size + next[i]++];
				while (taken[pos]);
				taken[pos] = 1;
				table[pos] = c[i].id;
				filled++;
			}
		}
	}
	free(c);
	free(perm);
	free(next);
	free(credit);
	free(taken);
}

static void test_maglev_matches_round_robin_reference(void **state)
{
	static const uint32_t sizes[] = { 2, 3, 13, 101, 1009, 4093 };
	static const uint32_t wpick[] = { 0, 1, 1, 2, 3, 5, 7, 100, 1000, UINT32_MAX };
	struct cg_maglev_cell c[64];
	char names[64][NAME_LEN];
	uint32_t *got = table_new(4093), *want = table_new(4093);
	uint64_t seed = 42;
	size_t i, n, k, cases = 0;
	int round;

	(void)state;
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (round = 0; round < 25; round++) {
			n = 1 + prng_next(&seed) % 64;
			for (i = 0; i < n; i++) {
				/* short random names exercise every byte value but NUL */
				size_t len = prng_next(&seed) % 6, b;

				for (b = 0; b < len; b++)
					names[i][b] = (char)(1 + prng_next(&seed) % 255);
				snprintf(names[i] + len, NAME_LEN - len, "#%zu", i); /* unique */
				c[i].id = (uint32_t)(prng_next(&seed));
				c[i].name = names[i];
				/* with the heavy weights only some of the time */
				c[i].weight = wpick[prng_next(&seed) % (round % 2 ? 10 : 7)];
			}
			c[0].weight = c[0].weight ? c[0].weight : 1;
			assert_int_equal(cg_maglev_build(c, n, got, sizes[k]), 0);
			ref_build(c, n, want, sizes[k]);
			assert_memory_equal(got, want, sizes[k] * sizeof(*got));
			cases++;
		}
	}
	print_message("%zu random cases equal to the round-robin reference\n", cases);
	free(got);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maglev_is_prime_matches_known_values),
		cmocka_unit_test(test_maglev_golden_table_abc_size_13),
		cmocka_unit_test(test_maglev_equal_cells_share_within_1pct),
		cmocka_unit_test(test_maglev_weights_1_to_4_share_within_1pct),
		cmocka_unit_test(test_maglev_weights_1_and_10_share_within_1pct),
		cmocka_unit_test(test_maglev_scaled_weights_give_same_table),
		cmocka_unit_test(test_maglev_input_order_gives_identical_table),
		cmocka_unit_test(test_maglev_ids_do_not_seed_permutation),
		cmocka_unit_test(test_maglev_remove_one_of_10_moves_under_2pct_of_others),
		cmocka_unit_test(test_maglev_remove_one_of_100_moves_under_2pct_of_others),
		cmocka_unit_test(test_maglev_add_one_to_10_moves_slots_mostly_to_new_cell),
		cmocka_unit_test(test_maglev_add_one_to_100_moves_slots_mostly_to_new_cell),
		cmocka_unit_test(test_maglev_zero_weight_cells_get_nothing),
		cmocka_unit_test(test_maglev_more_cells_than_slots_fills_table),
		cmocka_unit_test(test_maglev_bad_size_is_einval_table_untouched),
		cmocka_unit_test(test_maglev_no_cells_is_einval_table_untouched),
		cmocka_unit_test(test_maglev_duplicate_or_null_names_are_einval),
		cmocka_unit_test(test_maglev_builds_1000_cells),
		cmocka_unit_test(test_maglev_builds_4000_cells),
		cmocka_unit_test(test_maglev_builds_with_one_cell_of_the_largest_weight),
		cmocka_unit_test(test_maglev_matches_round_robin_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
