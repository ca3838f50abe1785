/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* shed.h - load report to shed level latency: one report over the target, timed until the shed map changes */
#ifndef CG_BENCH_SHED_H
#define CG_BENCH_SHED_H

/*
 * bench_shed_main - "bench shed": for each cell given (ID@ADDR, its id and
 * its gateway's address, which reports must come from), one run: check the
 * cell has no soft shed level in the pinned shed map, wait a pseudo-random
 * part of a control period (so the report lands anywhere in the period),
 * send one cell load report (cg_report_encode(), utilization --util) from
 * ADDR to --to, and poll the map until some class of that cell has a soft
 * level. Each cell is used once: a cell that has never reported is in a
 * released state, and its first report is taken as it is (no smoothing
 * history, no dwell). Writes the median and the 95th percentile to the JSON
 * file. Returns the exit status: 0, 1 (a run failed or timed out), 2 (usage).
 */
int bench_shed_main(int argc, char **argv);

#endif /* CG_BENCH_SHED_H */
