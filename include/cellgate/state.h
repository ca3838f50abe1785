/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/state.h - the desired state: what the operator wants, as cellgated holds and persists it */
#ifndef CELLGATE_STATE_H
#define CELLGATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "cellgate/consts.h"

/*
 * The desired state is the config file plus every runtime change an operator
 * made (cellctl cell set ...), plus the ids cellgated assigned. It is the
 * single source of truth: cellgated reconciles it into the maps and persists
 * it atomically; `cellctl config dump` prints it in the config file format.
 *
 * Objects refer to each other by name, never by pointer or index, so a state
 * can be copied, diffed and edited without fixing up references. Ids (the map
 * indexes) are assigned once and kept: connection entries hold cell ids, so a
 * cell's id must never change while it exists.
 */

#define CG_NAME_MAX   32	 /* names: 1..31 of [A-Za-z0-9._-], first a letter or digit */
#define CG_MAX_IFACES 8		 /* interfaces cellgated attaches to */
#define CG_ID_AUTO    UINT32_MAX /* id not given: cellgated assigns one */

/* An address with its family; bytes in network order. */
struct cg_addr {
	uint8_t family; /* CG_AF_INET or CG_AF_INET6; 0 = unset */
	uint8_t pad[3];
	uint32_t a[4]; /* network order; IPv4 in a[0] */
};

enum cg_xdp_mode {
	CG_XDP_AUTO = 0,    /* native, falling back to generic with a warning */
	CG_XDP_NATIVE = 1,  /* native only: fail if the driver cannot */
	CG_XDP_GENERIC = 2, /* generic (skb) mode */
};

struct cg_region_cfg {
	char name[CG_NAME_MAX]; /* e.g. us-east */
	uint32_t id;		/* < CG_MAX_REGIONS; CG_ID_AUTO until assigned */
	uint32_t cost;		/* locality cost from this LB: lower is nearer, 0 = local */
	unsigned int line;	/* config line it was defined on, 0 if not from a file */
};

struct cg_cell_cfg {
	char name[CG_NAME_MAX]; /* e.g. use1-a */
	uint32_t id; /* index in the cells map, < CG_MAX_CELLS; CG_ID_AUTO until assigned */
	char region[CG_NAME_MAX]; /* name of its region */
	struct cg_addr gw;	  /* gateway: outer destination */
	uint8_t encap;		  /* CG_ENCAP_IPIP or CG_ENCAP_GUE */
	uint8_t state;		  /* desired: CG_CELL_ACTIVE, _DRAINING or _DOWN */
	uint16_t gue_port;	  /* host order; CG_GUE_DEFAULT_PORT if not given */
	uint32_t weight;	  /* relative Maglev weight, 1..65535 */
	uint32_t capacity;	  /* load the cell can carry (new flows per second), 0 = unknown */
	unsigned int line;
};

struct cg_service_cfg {
	char name[CG_NAME_MAX];
	uint32_t
		id; /* index of its table and counters, < CG_MAX_SERVICES; CG_ID_AUTO until assigned */
	struct cg_addr vip;
	uint16_t port;	       /* host order, 1..65535 */
	uint8_t proto;	       /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t default_class; /* < CG_MAX_CLASSES */
	uint32_t table_size;   /* prime, <= CG_MAX_TABLE_SIZE; CG_DEFAULT_TABLE_SIZE if not given */
	size_t ncells;
	char (*cells)[CG_NAME_MAX]; /* names of the cells that serve it, sorted, unique */
	unsigned int line;
};

struct cg_state {
	uint64_t generation;	  /* bumped on every change that is persisted */
	char region[CG_NAME_MAX]; /* this LB's region (locality costs are from here) */
	char ifaces[CG_MAX_IFACES][IF_NAMESIZE]; /* interfaces to attach to */
	size_t nifaces;
	uint8_t xdp_mode;	 /* enum cg_xdp_mode */
	struct cg_addr src4;	 /* outer IPv4 source (family 0: no IPv4 cells) */
	struct cg_addr src6;	 /* outer IPv6 source (family 0: no IPv6 cells) */
	uint32_t mtu;		 /* of the path to the cells, 576..9216 */
	uint32_t conntrack_size; /* connection table entries, at load time only */
	size_t nregions, ncells, nservices;
	struct cg_region_cfg *regions;
	struct cg_cell_cfg *cells;
	struct cg_service_cfg *services;
};

#endif /* CELLGATE_STATE_H */
