/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/diff.h - what changed between two desired states, one call per changed object */
#ifndef CELLGATE_DIFF_H
#define CELLGATE_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "cellgate/state.h"

/* Kinds passed to a cg_state_diff() callback. */
#define CG_KIND_SETTING	   "setting"	/* a top-level setting: region, mtu, ... */
#define CG_KIND_REGION	   "region"	/* a region, by name */
#define CG_KIND_CELL	   "cell"	/* a cell, by name */
#define CG_KIND_SERVICE	   "service"	/* a service, by name */
#define CG_KIND_CLASS	   "class"	/* a class, by name */
#define CG_KIND_RULE	   "rule"	/* a class rule: "198.18.11.0/24", "dscp 46" */
#define CG_KIND_SHED	   "shed"	/* a shed entry, "CELL/CLASS": "use1-a/sheddable" */
#define CG_KIND_EVACUATION "evacuation" /* a region's evacuation record, by region */

/*
 * cg_config_diff_fn - receives one change found by cg_state_diff().
 * op is '+' (added), '-' (removed) or '~' (changed); kind one of CG_KIND_*;
 * name the object's name (for a setting, the key: "mtu", "source.ipv6",
 * "guard.burst"; for a rule "198.18.11.0/24" or "dscp 46"; for a shed entry
 * "use1-a/sheddable", the cell "*" for every cell);
 * detail never NULL: for '+' the new object's fields ("id 3, region us-east,
 * ..."), for '-' "", for '~' what changed ("weight 100 -> 200, state active
 * -> draining"). The strings live until the callback returns.
 */
typedef void (*cg_config_diff_fn)(void *arg, char op, const char *kind, const char *name,
				  const char *detail);

/*
 * cg_state_diff - report each change from from to to through emit (may be
 * NULL to only count): settings (the guard's as "guard.*", the saga in flight
 * as "saga.*"), then classes, rules, regions, cells, services, shed entries
 * and evacuation records, each in canonical
 * order; an object is matched by name (a rule by its prefix or DSCP value, a
 * shed entry by cell and class id), and one changed object is one call
 * listing every changed field (ids included; generation and lines not
 * compared). Returns the number of changes, or -ENOMEM.
 */
int cg_state_diff(const struct cg_state *from, const struct cg_state *to, cg_config_diff_fn emit,
		  void *arg);

#endif /* CELLGATE_DIFF_H */
