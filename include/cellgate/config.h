/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/config.h - config file parser; desired state: copy, ids, write, persist, diff */
#ifndef CELLGATE_CONFIG_H
#define CELLGATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cellgate/state.h"

/*
 * The config file and the persisted state share one YAML format, described
 * in docs/config.md. A state file is the canonical form of a state (what
 * cg_state_write() prints) behind a one-line header:
 *
 *     # cellgate-state v1 crc32=%08x len=%zu
 *
 * where crc32 (zlib) and len cover every byte after that line.
 *
 * Error messages are one line without a newline, in git's style: what is
 * wrong first, the subject quoted. Parse errors read `FILE:LINE: what`.
 */

#define CG_CONFIG_MAX_SIZE  (4U << 20)		   /* largest config or state file, bytes */
#define CG_CONFIG_MAX_DEPTH 32			   /* deepest YAML nesting accepted */
#define CG_STATE_MAGIC	    "# cellgate-state v1 " /* first bytes of a state file */
#define CG_STATE_DIR	    "/var/lib/cellgate"	   /* cellgated's default --state-dir */
#define CG_STATE_FILE	    "state.yaml"	   /* the desired state inside the state dir */

/* Kinds passed to a cg_state_diff() callback. */
#define CG_KIND_SETTING "setting" /* a top-level setting: region, mtu, ... */
#define CG_KIND_REGION	"region"  /* a region, by name */
#define CG_KIND_CELL	"cell"	  /* a cell, by name */
#define CG_KIND_SERVICE "service" /* a service, by name */
#define CG_KIND_CLASS	"class"	  /* a class, by name */
#define CG_KIND_RULE	"rule"	  /* a class rule: "198.18.11.0/24", "dscp 46" */
#define CG_KIND_SHED	"shed"	  /* a shed entry, "CELL/CLASS": "use1-a/sheddable" */

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
 * cg_config_read_file - read a whole file of at most CG_CONFIG_MAX_SIZE bytes.
 * On success *buf holds *len bytes plus a terminating NUL (free() it).
 * Returns 0, or -errno with a message in err: -ENOENT and the other open and
 * read errors ("cannot open 'x': No such file or directory"), -EFBIG if the
 * file is larger than the cap, -ENOMEM. On failure *buf and *len are unchanged.
 */
int cg_config_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen);

/*
 * cg_config_parse - read and check the config file at path (see
 * docs/config.md) into *st. path is used as the file name in messages.
 *
 * On success returns 0 and *st holds a new state (its previous contents are
 * overwritten, not freed; release it with cg_state_free()). Objects are sorted
 * by name, each service's cell list too, classes by id, rules and shed entries
 * as cg_state_write() prints them; ids not given are CG_ID_AUTO and defaults
 * are filled in (the four default classes when `classes:` is absent).
 *
 * On failure returns -EINVAL for a bad config, -EFBIG for a file over
 * CG_CONFIG_MAX_SIZE, -ENOMEM, or the -errno of a failed open or read, and
 * err (errlen bytes, may be 0) holds one line, e.g.
 * "lab.yaml:12: cell 'use1-a': unknown region 'us-wst'". *st is untouched.
 */
int cg_config_parse(const char *path, struct cg_state *st, char *err, size_t errlen);

/*
 * cg_config_parse_buf - as cg_config_parse(), from len bytes at buf (no NUL
 * needed). name stands for the file in messages.
 */
int cg_config_parse_buf(const char *name, const char *buf, size_t len, struct cg_state *st,
			char *err, size_t errlen);

/*
 * cg_state_write - print *st to f in the canonical form of the config format:
 * every field explicit (defaults included), objects sorted by name, each
 * service's cells sorted, ids written when assigned; classes by id, class
 * rules by kind (prefixes by family, address, length; then DSCP values),
 * shed entries by cell then class, levels by cg_level_format(). cg_config_parse_buf()
 * of the output gives back the same state (line numbers aside) for any state
 * the parser accepts. Does not check the state.
 * Returns 0, -EIO if writing to f fails, -ENOMEM.
 */
int cg_state_write(const struct cg_state *st, FILE *f);

/*
 * cg_state_digest - zlib crc32 of the canonical form of *st without its
 * generation line: equal states (whatever their object order or history)
 * have equal digests on every load balancer. 0 if memory runs out.
 */
uint32_t cg_state_digest(const struct cg_state *st);

/*
 * cg_state_save - persist *st at path atomically: the canonical form behind
 * the state header goes to path.tmp.<pid> in the same directory, which is
 * fsync'ed, renamed over path, and the directory fsync'ed. The state is first
 * checked with the parser, so a state the loader would refuse is never saved.
 *
 * Returns 0, or -errno with one line in err: -EINVAL (state invalid), -EFBIG,
 * -ENOMEM, or the error of the failed system call. A failure before the
 * rename leaves the old file as it was and removes the temp file; a failure
 * to sync the directory after it is reported, the new file in place.
 */
int cg_state_save(const struct cg_state *st, const char *path, char *err, size_t errlen);

/*
 * cg_state_load - read a state file written by cg_state_save() into *st
 * (as cg_config_parse() does: overwritten on success, untouched on failure).
 * Returns 0; -ENOENT if there is none (start from the config file); -EBADMSG
 * if the header is missing or its length or crc32 does not match the rest
 * (truncated, corrupted); the errors of cg_config_parse() otherwise. err holds
 * one line, e.g. "state.yaml: state file is corrupted: crc32 is 5e6f7a8b, the
 * header says 1a2b3c4d".
 */
int cg_state_load(const char *path, struct cg_state *st, char *err, size_t errlen);

/*
 * cg_state_tmp_clean - remove the temp files cg_state_save() leaves when it is
 * killed between creating and renaming one (path.tmp.<pid>). Only for the one
 * owner of the state directory (cellgated, under its lock): any such file is
 * stale then. Other files are not touched. Returns how many were removed, or
 * -errno with one line in err.
 */
int cg_state_tmp_clean(const char *path, char *err, size_t errlen);

/*
 * cg_state_diff - report each change from from to to through emit (may be
 * NULL to only count): settings (the guard's as "guard.*"), then classes,
 * rules, regions, cells, services and shed entries, each in canonical
 * order; an object is matched by name (a rule by its prefix or DSCP value, a
 * shed entry by cell and class id), and one changed object is one call
 * listing every changed field (ids included; generation and lines not
 * compared). Returns the number of changes, or -ENOMEM.
 */
int cg_state_diff(const struct cg_state *from, const struct cg_state *to, cg_config_diff_fn emit,
		  void *arg);

#endif /* CELLGATE_CONFIG_H */
