// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tstate.c - a desired state from a config text, for the unit tests of the controllers */
#include <stdio.h>
#include <string.h>

#include "cellgate/config.h"
#include "tstate.h"

int tstate_parse(struct cg_state *st, const char *yaml)
{
	char err[256];

	cg_state_init(st);
	if (cg_config_parse_buf("t.yaml", yaml, strlen(yaml), st, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

const char tstate_lab[] =
	"region: r1\n"
	"interfaces: [eth0]\n"
	"source: {ipv4: 198.18.0.1}\n"
	"regions:\n"
	"  - {name: r1, cost: 0}\n"
	"  - {name: r2, cost: 10}\n"
	"  - {name: r3, cost: 20}\n"
	"cells:\n"
	"  - {name: a1, region: r1, gateway: 198.18.1.10, encap: gue}\n"
	"  - {name: a2, region: r1, gateway: 198.18.1.11, encap: gue}\n"
	"  - {name: b1, region: r2, gateway: 198.18.2.10, encap: gue}\n"
	"  - {name: b2, region: r2, gateway: 198.18.2.11, encap: gue}\n"
	"  - {name: c1, region: r3, gateway: 198.18.3.10, encap: gue}\n"
	"  - {name: c2, region: r3, gateway: 198.18.3.11, encap: gue, state: draining}\n"
	"services:\n"
	"  - {name: web, vip: 203.0.113.10, port: 80, protocol: tcp,"
	" cells: [a1, a2, b1, b2, c1, c2]}\n";
