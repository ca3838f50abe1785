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
