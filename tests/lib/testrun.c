/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* testrun.c - run XDP programs on test frames through BPF_PROG_TEST_RUN and show what differs */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "testrun.h"

#define HEX_LINE 16 /* bytes per line of a hex dump */

int trun_xdp(int prog_fd, const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len,
	     uint32_t *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = in_len, .data_out = out,
		    .data_size_out = out_cap, .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err < 0)
		return -errno;
	*verdict = opts.retval;
	*out_len = opts.data_size_out;
	return 0;
}

const char *trun_verdict_name(uint32_t verdict)
{
	switch (verdict) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	}
	return "XDP_?";
}

/* One half of a dump line: the bytes of b at [off, off + HEX_LINE), "--" past len. */
static void hex_half(FILE *f, const uint8_t *b, size_t len, size_t off)
{
	size_t i;

	for (i = off; i < off + HEX_LINE; i++) {
		if (i < len)
			fprintf(f, " %02x", b[i]);
		else
			fprintf(f, " --");
	}
}

static bool byte_differs(const uint8_t *g, size_t glen, const uint8_t *w, size_t wlen, size_t i)
{
	if (i >= glen || i >= wlen)
		return i < glen || i < wlen;
	return g[i] != w[i];
}

/* Carets under the bytes of [off, off + HEX_LINE) where g and w differ. */
static void caret_half(FILE *f, const uint8_t *g, size_t glen, const uint8_t *w, size_t wlen,
		       size_t off)
{
	size_t i;

	for (i = off; i < off + HEX_LINE; i++)
		fprintf(f, "%s", byte_differs(g, glen, w, wlen, i) ? " ^^" : "   ");
}

void trun_hexdiff(FILE *f, const void *got, size_t got_len, const void *want, size_t want_len)
{
	const uint8_t *g = got, *w = want;
	size_t max = got_len > want_len ? got_len : want_len;
	size_t first = max, off, i;
	bool line_differs;

	for (i = 0; i < max; i++) {
		if (byte_differs(g, got_len, w, want_len, i)) {
			first = i;
			break;
		}
	}
	if (first == max)
		fprintf(f, "frames are equal (%zu bytes)\n", got_len);
	else
		fprintf(f, "first difference at offset %zu (0x%zx); got %zu bytes, want %zu\n",
			first, first, got_len, want_len);
	fprintf(f, "  off  %-*s   %s\n", HEX_LINE * 3, " got", " want");
	for (off = 0; off < max; off += HEX_LINE) {
		line_differs = false;
		for (i = off; i < off + HEX_LINE && i < max; i++)
			line_differs |= byte_differs(g, got_len, w, want_len, i);
		fprintf(f, "%c%04zx ", line_differs ? '!' : ' ', off);
		hex_half(f, g, got_len, off);
		fprintf(f, "  |");
		hex_half(f, w, want_len, off);
		fprintf(f, "\n");
		if (!line_differs)
			continue;
		/* carets under the differing bytes, in both halves */
		fprintf(f, "      ");
		caret_half(f, g, got_len, w, want_len, off);
		fprintf(f, "   ");
		caret_half(f, g, got_len, w, want_len, off);
		fprintf(f, "\n");
	}
}

bool trun_frame_eq(const char *what, const void *got, size_t got_len, const void *want,
		   size_t want_len)
{
	if (got_len == want_len && !memcmp(got, want, got_len))
		return true;
	fprintf(stderr, "%s: frame differs from the expected one\n", what);
	trun_hexdiff(stderr, got, got_len, want, want_len);
	return false;
}

int trun_percpu_sum(int map_fd, uint32_t key, uint64_t *sum, size_t nwords)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	size_t cpu, i;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	/* per-CPU values come back one after the other, each rounded up to 8 bytes */
	vals = calloc((size_t)ncpu * nwords, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &key, vals) < 0) {
		err = -errno;
		goto out;
	}
	memset(sum, 0, nwords * sizeof(*sum));
	for (cpu = 0; cpu < (size_t)ncpu; cpu++)
		for (i = 0; i < nwords; i++)
			sum[i] += vals[cpu * nwords + i];
out:
	free(vals);
	return err;
}
