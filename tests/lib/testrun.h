/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* testrun.h - run XDP programs on test frames through BPF_PROG_TEST_RUN and show what differs */
#ifndef CG_TEST_TESTRUN_H
#define CG_TEST_TESTRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * trun_xdp - run the XDP program prog_fd once on the frame in[0..in_len)
 * (BPF_PROG_TEST_RUN; the kernel wants in_len >= 14). On success *verdict
 * gets the program's return value (XDP_PASS, ...) and out[0..*out_len) the
 * frame as the program left it (also on XDP_DROP). Returns 0, or -errno from
 * the kernel (-ENOSPC: the output frame did not fit in out_cap; -EINVAL: bad
 * input length). Program state (maps) changes as on a real packet.
 */
int trun_xdp(int prog_fd, const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len,
	     uint32_t *verdict);

/* trun_verdict_name - "XDP_PASS" etc. for an XDP return value, "XDP_?" if unknown. */
const char *trun_verdict_name(uint32_t verdict);

/*
 * trun_hexdiff - print got and want side by side in hex to f, 16 bytes a
 * line, with the offset of the first difference and a caret under every
 * differing byte. Bytes past the end of the shorter frame show as "--".
 */
void trun_hexdiff(FILE *f, const void *got, size_t got_len, const void *want, size_t want_len);

/*
 * trun_frame_eq - tell whether got equals want byte for byte (lengths
 * included). When not, prints what (a label for the message) and
 * trun_hexdiff() to stderr, so a failing assertion explains itself.
 * Returns true if equal.
 */
bool trun_frame_eq(const char *what, const void *got, size_t got_len, const void *want,
		   size_t want_len);

/*
 * trun_percpu_sum - read entry key of the per-CPU map map_fd, whose value is
 * nwords __u64 counters, and write into sum[0..nwords) each counter summed
 * over all possible CPUs. Returns 0, -errno from the lookup, or -ENOMEM.
 */
int trun_percpu_sum(int map_fd, uint32_t key, uint64_t *sum, size_t nwords);

#endif /* CG_TEST_TESTRUN_H */
