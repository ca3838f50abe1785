/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/codec.h - the YAML format of configs and state files: read, write, digest */
#ifndef CELLGATE_CODEC_H
#define CELLGATE_CODEC_H

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

#define CG_CONFIG_MAX_SIZE  (4U << 20) /* largest config or state file, bytes */
#define CG_CONFIG_MAX_DEPTH 32	       /* deepest YAML nesting accepted */

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
 * cg_config_text_check - the first thing cg_config_parse_buf() checks: that
 * buf is UTF-8 text without hidden characters (cellgate/text.h; tab, LF and CR
 * allowed). Returns 0, or -EINVAL with "NAME:LINE: column N: U+0085 (a C1
 * control character) is not allowed in a config" in err. cellctl runs it
 * before it sends a file, so every path refuses the same bytes the same way.
 */
int cg_config_text_check(const char *name, const char *buf, size_t len, char *err, size_t errlen);

/*
 * cg_state_write - print *st to f in the canonical form of the config format:
 * every field explicit (defaults included), objects sorted by name, each
 * service's cells sorted, ids written when assigned; classes by id, class
 * rules by kind (prefixes by family, address, length; then DSCP values),
 * shed entries by cell then class, levels by cg_level_format(). cg_config_parse_buf()
 * of the output gives back the same state (line numbers aside) for any state
 * the parser accepts. Written by libyaml's emitter (docs/config.md). Does not
 * check the state. Returns 0, -EIO if writing to f fails, -ENOMEM, -EINVAL if
 * a text is not UTF-8 (cg_state_check() refuses it).
 */
int cg_state_write(const struct cg_state *st, FILE *f);

/*
 * cg_state_digest - zlib crc32 of the canonical form of *st without its
 * generation line: equal states (whatever their object order or history)
 * have equal digests on every load balancer. 0 if memory runs out (or a text
 * is not UTF-8).
 */
uint32_t cg_state_digest(const struct cg_state *st);

#endif /* CELLGATE_CODEC_H */
