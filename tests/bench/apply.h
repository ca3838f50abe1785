/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* apply.h - config apply to map update latency: a CLI call timed until the program's tables change */
#ifndef CG_BENCH_APPLY_H
#define CG_BENCH_APPLY_H

/*
 * bench_apply_main - "bench apply": run two commands (cellctl calls that each
 * change a table, back and forth) alternately, each time measuring from the
 * moment the command is started to (1) the first watched slot of the pinned
 * tables map pointing at another table - what the next packet sees - and (2)
 * the command's exit. Writes both medians to the JSON file. Returns the exit
 * status: 0, 1 (a command failed or changed nothing), 2 (usage).
 */
int bench_apply_main(int argc, char **argv);

#endif /* CG_BENCH_APPLY_H */
