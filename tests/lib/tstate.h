/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tstate.h - a desired state from a config text, for the unit tests of the controllers */
#ifndef CG_TEST_TSTATE_H
#define CG_TEST_TSTATE_H

#include "cellgate/state.h"

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
