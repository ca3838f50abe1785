/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/names.h - the words for enum values, one table each for the config, JSON and the CLI */
#ifndef CELLGATE_NAMES_H
#define CELLGATE_NAMES_H

/* One word of a table; a NULL name ends the table. */
struct cg_enum {
	const char *name;   /* as written in the config, JSON and on the command line */
	unsigned int value; /* the enum value */
};

extern const struct cg_enum cg_xdp_mode_names[];     /* auto, native, generic */
extern const struct cg_enum cg_encap_names[];	     /* ipip, gue */
extern const struct cg_enum cg_cell_state_names[];   /* active, draining, down */
extern const struct cg_enum cg_proto_names[];	     /* tcp, udp */
extern const struct cg_enum cg_probe_names[];	     /* off, tcp, http */
extern const struct cg_enum cg_loc_mode_names[];     /* spread, local-first */
extern const struct cg_enum cg_region_state_names[]; /* active, draining, evacuated, restoring */
extern const struct cg_enum cg_region_event_names[]; /* evacuate, restore, ..., step-done */
extern const struct cg_enum cg_saga_phase_names[];   /* idle, forward, back, done, ... */
extern const struct cg_enum cg_bp_mode_names[];	     /* auto, manual, off */
extern const struct cg_enum cg_bp_own_mode_names[];  /* default, auto, manual, off */

/* cg_enum_name - the word for value, or unknown if the table has none. */
const char *cg_enum_name(const struct cg_enum *t, unsigned int value, const char *unknown);

/* cg_enum_value - the value of word name: 0, or -EINVAL if the table has no such word. */
int cg_enum_value(const struct cg_enum *t, const char *name, unsigned int *value);

/* cg_enum_list - "a, b or c": the table's words, for error messages. */
void cg_enum_list(const struct cg_enum *t, char *buf, size_t len);

#endif /* CELLGATE_NAMES_H */
