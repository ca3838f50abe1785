// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bench.bpf.c - benchmark wrappers: restore the input frame, then run the router's packet path */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "router.h"
#include "bench.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * BPF_PROG_TEST_RUN with repeat runs the program again and again on the same
 * buffer, which keeps what the previous round did to it: from the second
 * round on, an encapsulating program would see its own output. So every
 * round first puts the original frame back (bench_restore), then runs the
 * router (cg_router_run from router.h, the very code of router.bpf.c, on the
 * router's own maps: userspace points every map here at the router's with
 * bpf_map__reuse_fd before load). bench_restore_only does the restore alone;
 * its cost is measured and taken out of the wrapped figures.
 */

struct cg_bench_frame frame; /* written by userspace before each run */
__u32 seq;		     /* round counter of varying frames; userspace sets the start */

/*
 * Back to frame.len bytes (the router only ever grows or shrinks the head of
 * an unpadded frame, so moving the head back restores the original offset),
 * then the original bytes, with the round counter written in if the frame
 * varies. The head is moved on every round, by 0 when nothing changed, so
 * that restore-only pays the same helper calls as the wrapper.
 * Returns 0, or -1 if the frame could not be restored (XDP_ABORTED follows).
 */
static __always_inline int bench_restore(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 len = frame.len, soff = frame.saddr_off, poff = frame.sport_off, s;
	__u64 cur = end - data;

	/* a scalar from here on: clang would otherwise fold the two subtractions into
	 * 32-bit pointer arithmetic, which the verifier refuses */
	asm volatile("" : "+r"(cur));
	if (len < sizeof(struct ethhdr) || len > CG_BENCH_MAX_FRAME)
		return -1;
	if (bpf_xdp_adjust_head(ctx, (int)cur - (int)len))
		return -1;
	if (soff != CG_BENCH_NO_VARY) {
		if (soff > CG_BENCH_MAX_FRAME - 2 || poff > CG_BENCH_MAX_FRAME - 2)
			return -1;
		s = seq++;
		frame.data[soff] = s >> 24;
		frame.data[soff + 1] = s >> 16;
		frame.data[poff] = s >> 8;
		frame.data[poff + 1] = s;
	}
	if (bpf_xdp_store_bytes(ctx, 0, frame.data, len))
		return -1;
	return 0;
}

/* The restore alone: its cost is subtracted from the wrapped figures. */
SEC("xdp")
int bench_restore_only(struct xdp_md *ctx)
{
	return bench_restore(ctx) ? XDP_ABORTED : XDP_DROP;
}

/* The restore, then the router's whole packet path. */
SEC("xdp")
int bench_router(struct xdp_md *ctx)
{
	if (bench_restore(ctx))
		return XDP_ABORTED;
	return cg_router_run(ctx);
}
