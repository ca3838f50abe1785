/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* rtenv.h - a loaded router with cells, services and tables, for packet tests and benchmarks */
#ifndef CG_TEST_RTENV_H
#define CG_TEST_RTENV_H

#include <stddef.h>
#include <stdint.h>

#include "cellgate/dataplane.h"

/*
 * The maps are filled through libcellgate's dataplane.c, as the controller
 * fills them. Every function returns 0 or -errno; addresses are text.
 */

/* rtenv_open - load the router (nothing pinned) with settings: outer sources, mtu. */
struct cg_dp *rtenv_open(uint32_t conntrack_size, const char *src4, const char *src6, uint32_t mtu);

/* rtenv_cell - an active cell: gateway gw (family from the text), GUE if gue_port, else IPIP. */
int rtenv_cell(struct cg_dp *dp, uint32_t id, const char *gw, uint16_t gue_port, uint16_t vlan,
	       const uint8_t mac[6]);

/* rtenv_service - a service (and its port-0 fragment alias if alias) of class default_class. */
int rtenv_service(struct cg_dp *dp, uint32_t id, const char *vip, uint16_t port, uint8_t proto,
		  uint8_t default_class, int alias);

/* rtenv_table - a Maglev table of size slots over cells ids[0..n) (names "c<id>", weight 1). */
int rtenv_table(struct cg_dp *dp, uint32_t svc_id, const uint32_t *ids, size_t n, uint32_t size);

/* rtenv_addr - text to a 16-byte address; returns CG_AF_INET/CG_AF_INET6, or 0 if bad. */
int rtenv_addr(const char *text, uint32_t out[4]);

#endif /* CG_TEST_RTENV_H */
