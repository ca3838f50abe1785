/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* fastpath.h - the data-plane benchmarks: packet path, Maglev build, table swap, map memory */
#ifndef CG_BENCH_FASTPATH_H
#define CG_BENCH_FASTPATH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* How hard to measure. */
struct fp_opts {
	int cpu;	 /* CPU the measurements run on; -1: the last one this process may use */
	int rounds;	 /* rounds per figure; the median is reported */
	uint32_t repeat; /* BPF_PROG_TEST_RUN repeat of one round */
	uint32_t repeat_new; /* repeat of a fwd_new_flow_v4 round (bounded by free LRU entries) */
	uint32_t conntrack;  /* connection table entries (max_entries) */
	bool verbose;	     /* progress on stderr */
	const char *profile; /* only run this figure, untimed, for profile_s seconds */
	double profile_s;	/* how long --profile runs */
	const char *perf_ctl;	/* perf's control fifo: "enable" / "disable" around the profile */
};

/*
 * bench_dataplane - load the router with realistic sizes, fill its maps the
 * way the controller does, then measure the packet path (each figure checked
 * against the exact expected frame and counters first), the Maglev build,
 * the table swap and the maps' memory. Appends one JSON entry per figure to
 * out. Returns 0, or -1 if something could not run or a check failed (the
 * reason is on stderr); a missed target is not a failure.
 */
int bench_dataplane(const struct fp_opts *o, json_t *out);

#endif /* CG_BENCH_FASTPATH_H */
