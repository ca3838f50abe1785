// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* drop.bpf.c - an empty XDP program that returns XDP_DROP: a benchmark baseline */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int cg_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}
