// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* names.c - the words for enum values, one table each for the config, JSON and the CLI */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cellgate/abi/consts.h"
#include "cellgate/names.h"
#include "cellgate/state.h"

const struct cg_enum cg_xdp_mode_names[] = {
	{ "auto", CG_XDP_AUTO },
	{ "native", CG_XDP_NATIVE },
	{ "generic", CG_XDP_GENERIC },
	{ NULL, 0 },
};

const struct cg_enum cg_encap_names[] = {
	{ "ipip", CG_ENCAP_IPIP },
	{ "gue", CG_ENCAP_GUE },
	{ NULL, 0 },
};

const struct cg_enum cg_cell_state_names[] = {
	{ "active", CG_CELL_ACTIVE },
	{ "draining", CG_CELL_DRAINING },
	{ "down", CG_CELL_DOWN },
	{ NULL, 0 },
};

const struct cg_enum cg_loc_mode_names[] = {
	{ "spread", CG_LOC_SPREAD },
	{ "local-first", CG_LOC_LOCAL_FIRST },
	{ NULL, 0 },
};

const struct cg_enum cg_proto_names[] = {
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
	{ NULL, 0 },
};

const struct cg_enum cg_bp_mode_names[] = {
	{ "auto", CG_BP_AUTO },
	{ "manual", CG_BP_MANUAL },
	{ "off", CG_BP_OFF },
	{ NULL, 0 },
};

const struct cg_enum cg_bp_own_mode_names[] = {
	{ "default", CG_BP_OWN_DEFAULT },
	{ "auto", CG_BP_OWN_AUTO },
	{ "manual", CG_BP_OWN_MANUAL },
	{ "off", CG_BP_OWN_OFF },
	{ NULL, 0 },
};

const struct cg_enum cg_probe_names[] = {
	{ "off", CG_PROBE_OFF },
	{ "tcp", CG_PROBE_TCP },
	{ "http", CG_PROBE_HTTP },
	{ NULL, 0 },
};

const struct cg_enum cg_region_state_names[] = {
	{ "active", CG_REGION_ACTIVE },
	{ "draining", CG_REGION_DRAINING },
	{ "evacuated", CG_REGION_EVACUATED },
	{ "restoring", CG_REGION_RESTORING },
	{ NULL, 0 },
};

/* cg_region_event_name()'s words */
const struct cg_enum cg_region_event_names[] = {
	{ "evacuate", CG_EV_EVACUATE },	  { "restore", CG_EV_RESTORE },
	{ "abort", CG_EV_ABORT },	  { "extend", CG_EV_EXTEND },
	{ "expire", CG_EV_EXPIRE },	  { "flap", CG_EV_FLAP },
	{ "step-done", CG_EV_STEP_DONE }, { NULL, 0 },
};

const struct cg_enum cg_saga_phase_names[] = {
	{ "idle", CG_SAGA_IDLE },
	{ "forward", CG_SAGA_FORWARD },
	{ "back", CG_SAGA_BACK },
	{ "done", CG_SAGA_DONE },
	{ "compensated", CG_SAGA_COMPENSATED },
	{ "stuck", CG_SAGA_STUCK },
	{ NULL, 0 },
};

const char *cg_enum_name(const struct cg_enum *t, unsigned int value, const char *unknown)
{
	for (; t->name; t++)
		if (t->value == value)
			return t->name;
	return unknown;
}

int cg_enum_value(const struct cg_enum *t, const char *name, unsigned int *value)
{
	for (; t->name; t++)
		if (!strcmp(t->name, name)) {
			*value = t->value;
			return 0;
		}
	return -EINVAL;
}

void cg_enum_list(const struct cg_enum *t, char *buf, size_t len)
{
	size_t i, used = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; t[i].name && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s",
				 i ? (t[i + 1].name ? ", " : " or ") : "", t[i].name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}
