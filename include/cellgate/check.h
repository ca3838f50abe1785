/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/check.h - is a desired state one cellgated can apply? Checked on the struct */
#ifndef CELLGATE_CHECK_H
#define CELLGATE_CHECK_H

#include <stddef.h>

#include "cellgate/state.h"

/*
 * struct cg_where - where a state's objects were written, for messages: the
 * codec passes one while it still holds the parsed text; a state built at
 * runtime has none. line() returns the line of object idx of kind (the
 * name of its cg_object: "cell", "class_rule", "settings", ...), of its key
 * (a field name such as "gateway" or "source.ipv4"; NULL for the object
 * itself), and of item (the index in a list value, -1 for the value), or 0
 * if it does not know. idx is the index in the state's array as it is
 * checked.
 */
struct cg_where {
	const char *file; /* the file's name in messages */
	unsigned int (*line)(void *arg, const char *kind, size_t idx, const char *key, long item);
	void *arg;
};

/*
 * cg_state_check - every rule a state must keep, on the struct: each field
 * within its field table's bounds (cg_object_check()), and what holds
 * between objects: names and ids unique per kind, every reference (region,
 * cell, class) to an object that exists, gateways of a family the source
 * has, services with cells and prime tables at least as large as their cell
 * lists, one service per (VIP, port, protocol), rules and shed entries unique
 * and within their counts. The objects may be in any order (before
 * cg_state_sort()). Returns 0, or -EINVAL with one line in err: with where,
 * "FILE:LINE: what" (earlier lines named in the message), without it only
 * "what", e.g. "cell 'use1-a': unknown region 'us-wst'".
 */
int cg_state_check(const struct cg_state *st, const struct cg_where *where, char *err,
		   size_t errlen);

#endif /* CELLGATE_CHECK_H */
