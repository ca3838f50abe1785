/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bench.h - what the benchmark's BPF wrapper (tests/bpf/bench.bpf.c) and its userspace share */
#ifndef CG_BENCH_H
#define CG_BENCH_H

#ifdef __BPF__
/* vmlinux.h provides the types */
#else
#include <linux/types.h>
#endif

/* Largest frame a wrapped figure restores; the copy in .bss is this big. */
#define CG_BENCH_MAX_FRAME 256
/* cg_bench_frame.saddr_off / sport_off: the field is not rewritten (the same flow every round) */
#define CG_BENCH_NO_VARY 0xffff

/*
 * The frame every round of a wrapped figure starts from, written by userspace
 * into the wrapper's .bss before a run. With saddr_off and sport_off set, the
 * wrapper first writes its round counter seq into the copy: the low 16 bits
 * of the source address get seq >> 16 and the source port seq & 0xffff (both
 * big-endian), so every round is a flow never seen before (checksums are left
 * as they were: the router does not verify them).
 */
struct cg_bench_frame {
	__u32 len;	 /* bytes of data[] that make the frame, 14..CG_BENCH_MAX_FRAME */
	__u16 saddr_off; /* offset of the source address's last 2 bytes, or CG_BENCH_NO_VARY */
	__u16 sport_off; /* offset of the source port, or CG_BENCH_NO_VARY */
	__u8 data[CG_BENCH_MAX_FRAME]; /* the frame as the NIC would hand it over */
};

#endif /* CG_BENCH_H */
