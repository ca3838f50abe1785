/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tables.h - the control plane's table work measured: Maglev build, atomic table swap */
#ifndef CG_BENCH_TABLES_H
#define CG_BENCH_TABLES_H

#include <stdbool.h>

#include <jansson.h>

#include "cellgate/dataplane.h"

/*
 * bench_tables - time cg_maglev_build() for 10, 100, 1000 and 4000 cells at
 * 65537 slots, and cg_dp_table_swap() of one table and
 * cg_dp_table_swap_many() of 16 on dp (services 0..15 get tables of cells
 * 1..64; run it after the fast path, which reads those tables). Appends one
 * JSON entry ("ms") per figure to out. Returns 0, or -1 with the reason on
 * stderr.
 */
int bench_tables(struct cg_dp *dp, bool verbose, json_t *out);

#endif /* CG_BENCH_TABLES_H */
