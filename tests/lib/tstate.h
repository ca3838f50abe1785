/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tstate.h - a desired state from a config text, for the unit tests of the controllers */
#ifndef CG_TEST_TSTATE_H
#define CG_TEST_TSTATE_H

#include "cellgate/state.h"

/*
 * The head of the controllers' test configs: this LB in r1, three regions at
 * locality costs 0 (r1), 10 (r2) and 20 (r3); cells and services follow.
 */
#define TSTATE_REGIONS3                \
	"region: r1\n"                 \
	"interfaces: [eth0]\n"         \
	"source: {ipv4: 198.18.0.1}\n" \
	"regions:\n"                   \
	"  - {name: r1, cost: 0}\n"    \
	"  - {name: r2, cost: 10}\n"   \
	"  - {name: r3, cost: 20}\n"

/*
 * tstate_parse - initialise *st and parse the config text yaml into it
 * (ids not assigned, as the parser leaves them). 0, or -1 with the parser's
 * one-line error on stderr.
 */
int tstate_parse(struct cg_state *st, const char *yaml);

/*
 * tstate_lab - 3 regions x 2 cells as the lab has them: r1 (cost 0: a1,
 * a2), r2 (10: b1, b2), r3 (20: c1, c2 draining), GUE; one service web on
 * all six cells.
 */
extern const char tstate_lab[];

#endif
