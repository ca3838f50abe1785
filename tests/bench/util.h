/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* util.h - what every benchmark part uses: clocks, medians, CPU pinning, program facts, JSON entries */
#ifndef CG_BENCH_UTIL_H
#define CG_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

/* bench_ns - clock c (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID, ...) in nanoseconds. */
uint64_t bench_ns(clockid_t c);

/* bench_median - median of v[0..n) (v is reordered); 0 if n is 0. */
double bench_median(double *v, size_t n);

/* bench_pin_cpu - run the calling thread on cpu only. Returns 0 or -errno. */
int bench_pin_cpu(int cpu);

/* bench_online_cpus - the online CPUs in cpus[0..cap), ascending; returns how many, or -errno. */
int bench_online_cpus(int *cpus, int cap);

/* What the kernel says about a loaded program. */
struct bench_prog_facts {
	uint32_t xlated_insns;	 /* instructions after the verifier's rewrites */
	uint32_t jited_bytes;	 /* bytes of machine code */
	uint32_t verified_insns; /* instructions the verifier walked to accept it */
};

/* bench_prog_facts - xlated and jited sizes of program fd. Returns 0 or -errno. */
int bench_prog_facts(int fd, struct bench_prog_facts *f);

/* bench_prog_facts_json - those facts as a JSON object (a new reference). */
json_t *bench_prog_facts_json(const struct bench_prog_facts *f, const char *prog);

/*
 * bench_runs_json - v[0..n) as a JSON array of numbers rounded to 0.01
 * (a new reference).
 */
json_t *bench_runs_json(const double *v, size_t n);

/* bench_round2 - x rounded to 2 decimals, as figures are reported. */
double bench_round2(double x);

/*
 * bench_fd_memlock - the "memlock:" bytes of /proc/self/fdinfo/<fd> (what a
 * BPF map charges). Returns the bytes, or -1 if not found.
 */
long long bench_fd_memlock(int fd);

/* bench_write_json - write j (indented) to path atomically (temp file, rename). Returns 0 or -errno. */
int bench_write_json(json_t *j, const char *path);

#endif /* CG_BENCH_UTIL_H */
