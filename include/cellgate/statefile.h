/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/statefile.h - the persisted desired state: header, crc32, atomic save, strict load */
#ifndef CELLGATE_STATEFILE_H
#define CELLGATE_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cellgate/state.h"

/*
 * A state file is the canonical form of a state (cg_state_write(), codec.h)
 * behind a one-line header:
 *
 *     # cellgate-state v1 crc32=%08x len=%zu
 *
 * where crc32 (zlib) and len cover every byte after that line.
 */

#define CG_STATE_MAGIC		"# cellgate-state v1 " /* first bytes of a state file */
#define CG_STATE_DIR		"/var/lib/cellgate"    /* cellgated's default --state-dir */
#define CG_STATE_FILE		"state.yaml"	       /* the desired state inside the state dir */
#define CG_STATE_SAVED_UNSYNCED 1 /* cg_state_save(): saved, but the directory's fsync failed */

/*
 * cg_state_save - persist *st at path atomically: the canonical form behind
 * the state header goes to path.tmp.<pid> in the same directory, which is
 * fsync'ed, renamed over path, and the directory fsync'ed. The state is first
 * checked with the parser, so a state the loader would refuse is never saved.
 *
 * Returns 0, or -errno with one line in err: -EINVAL (state invalid), -EFBIG,
 * -ENOMEM, or the error of the failed system call. A failure before the
 * rename leaves the old file as it was and removes the temp file. A failure
 * to open or sync the directory after the rename is not a refusal: the new
 * file is in place (a reader sees it), only whether it survives a power cut
 * is unknown; that returns CG_STATE_SAVED_UNSYNCED with the warning
 * "saved, durability unknown (fsync of DIR: ERR)" in err.
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
 * cg_state_load_buf - as cg_state_load(), from the len bytes of a state file
 * at buf (no NUL needed; not modified). name stands for the file in messages.
 * Never returns -ENOENT.
 */
int cg_state_load_buf(const char *name, const char *buf, size_t len, struct cg_state *st, char *err,
		      size_t errlen);

/*
 * cg_state_tmp_clean - remove the temp files cg_state_save() leaves when it is
 * killed between creating and renaming one (path.tmp.<pid>). Only for the one
 * owner of the state directory (cellgated, under its lock): any such file is
 * stale then. Other files are not touched. Returns how many were removed, or
 * -errno with one line in err.
 */
int cg_state_tmp_clean(const char *path, char *err, size_t errlen);

#endif /* CELLGATE_STATEFILE_H */
