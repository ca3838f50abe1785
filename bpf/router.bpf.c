// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* router.bpf.c - XDP cell router: flows to cells by consistent hashing, encapsulated to their gateways */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "router.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The packet path is in router.h (cg_router_run), its steps listed in running order at the top. */
SEC("xdp")
int cg_router(struct xdp_md *ctx)
{
	return cg_router_run(ctx);
}
