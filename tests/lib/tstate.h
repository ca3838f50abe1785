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

#endif
