// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* pass.bpf.c - an empty XDP program that returns XDP_PASS: a benchmark baseline, and the
 * program a veth peer needs so that XDP_TX frames sent to it are received */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int cg_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
