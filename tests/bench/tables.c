// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tables.c - the control plane's table work measured: Maglev build, atomic table swap */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/abi/consts.h"
#include "cellgate/maglev.h"
#include "tables.h"
#include "util.h"

#define TABLE_SIZE  CG_DEFAULT_TABLE_SIZE
#define SWAP_TABLES 16
#define SWAP_CELLS  64

/* One entry of ms figures: median, every round, the target if any (lower is better). */
static int tb_entry(json_t *out, const char *name, const char *what, double *ms, int n,
		    double target)
{
	json_t *e;
	double v[64];

	memcpy(v, ms, sizeof(double) * n);
	e = json_pack("{s:s, s:f, s:n, s:n, s:o, s:s}", "name", name, "ms",
		      bench_round2(bench_median(v, n)), "baseline", "ratio", "runs",
		      bench_runs_json(ms, n), "what", what);
	if (e && target > 0)
		json_object_set_new(e, "target", json_real(target));
	return json_array_append_new(out, e) ? -1 : 0;
}

/* n cells named cell-0000..., equal weights (names and weights drive the cost, not ids). */
static struct cg_maglev_cell *tb_cells(size_t n, char (**names)[16])
{
	struct cg_maglev_cell *c = calloc(n, sizeof(*c));
	size_t i;

	*names = calloc(n, sizeof(**names));
	if (!c || !*names) {
		free(c);
		free(*names);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		snprintf((*names)[i], sizeof((*names)[i]), "cell-%04u", (unsigned int)(i % 10000));
		c[i] = (struct cg_maglev_cell){ .id = (uint32_t)i,
						.name = (*names)[i],
						.weight = 100 };
	}
	return c;
}

static int tb_maglev(bool verbose, json_t *out)
{
	static const size_t counts[] = { 10, 100, 1000, 4000 };
	struct cg_maglev_cell *cells;
	char(*names)[16] = NULL;
	uint32_t *table;
	char name[64], what[128];
	double ms[64];
	size_t i;
	int r, rounds, err;

	table = calloc(TABLE_SIZE, sizeof(*table));
	if (!table)
		return -1;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		cells = tb_cells(counts[i], &names);
		if (!cells) {
			free(table);
			return -1;
		}
		rounds = counts[i] >= 1000 ? 7 : 11;
		for (r = 0; r < rounds; r++) {
			uint64_t t0 = bench_ns(CLOCK_MONOTONIC);

			err = cg_maglev_build(cells, counts[i], table, TABLE_SIZE);
			ms[r] = (double)(bench_ns(CLOCK_MONOTONIC) - t0) / 1e6;
			if (err) {
				fprintf(stderr, "bench: maglev build of %zu cells: %s\n", counts[i],
					strerror(-err));
				free(cells);
				free(names);
				free(table);
				return -1;
			}
		}
		if (verbose)
			fprintf(stderr, "bench: maglev_build_%zu done\n", counts[i]);
		snprintf(name, sizeof(name), "maglev_build_%zu", counts[i]);
		snprintf(what, sizeof(what), "cg_maglev_build, %zu cells, %u slots", counts[i],
			 TABLE_SIZE);
		err = tb_entry(out, name, what, ms, rounds, counts[i] == 1000 ? 50.0 : 0);
		free(cells);
		free(names);
		if (err) {
			free(table);
			return -1;
		}
	}
	free(table);
	return 0;
}

static int tb_swap(struct cg_dp *dp, json_t *out)
{
	struct cg_dp_table tabs[SWAP_TABLES];
	struct cg_maglev_cell *cells;
	char(*names)[16] = NULL;
	uint32_t *slots[SWAP_TABLES] = { NULL };
	double one[64], many[64];
	int i, r, err = -1, rounds = 7;

	cells = tb_cells(SWAP_CELLS, &names);
	if (!cells)
		return -1;
	for (i = 0; i < SWAP_CELLS; i++)
		cells[i].id = (uint32_t)i + 1; /* the fast path's cells 1..64 */
	for (i = 0; i < SWAP_TABLES; i++) {
		slots[i] = calloc(TABLE_SIZE, sizeof(uint32_t));
		if (!slots[i] || cg_maglev_build(cells, SWAP_CELLS, slots[i], TABLE_SIZE))
			goto out;
		tabs[i] = (struct cg_dp_table){ .service_id = (uint32_t)i,
						.slots = slots[i],
						.size = TABLE_SIZE };
	}
	for (r = 0; r < rounds; r++) {
		uint64_t t0 = bench_ns(CLOCK_MONOTONIC);
		int e1, e2;

		e1 = cg_dp_table_swap(dp, 0, slots[0], TABLE_SIZE);
		one[r] = (double)(bench_ns(CLOCK_MONOTONIC) - t0) / 1e6;
		t0 = bench_ns(CLOCK_MONOTONIC);
		e2 = cg_dp_table_swap_many(dp, tabs, SWAP_TABLES);
		many[r] = (double)(bench_ns(CLOCK_MONOTONIC) - t0) / 1e6;
		if (e1 || e2) {
			fprintf(stderr, "bench: table swap: %s\n", strerror(-(e1 ? e1 : e2)));
			goto out;
		}
	}
	if (tb_entry(out, "table_swap_1",
		     "cg_dp_table_swap: fill (a retired table) and publish one "
		     "65537-slot table (one RCU grace period)",
		     one, rounds, 0) ||
	    tb_entry(out, "table_swap_16",
		     "cg_dp_table_swap_many: 16 tables of 65537 slots, one "
		     "batch (one grace period)",
		     many, rounds, 0))
		goto out;
	err = 0;
out:
	for (i = 0; i < SWAP_TABLES; i++)
		free(slots[i]);
	free(cells);
	free(names);
	return err;
}

int bench_tables(struct cg_dp *dp, bool verbose, json_t *out)
{
	if (tb_maglev(verbose, out))
		return -1;
	return tb_swap(dp, out);
}
