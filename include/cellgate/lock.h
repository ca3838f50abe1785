/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/lock.h - one cellgated per pin directory and state directory; directories only it writes */
#ifndef CELLGATE_LOCK_H
#define CELLGATE_LOCK_H

#include <stddef.h>

/*
 * Locks are flock(2) locks on small files that hold the owner's pid: the
 * kernel drops them when the owner exits, however it exits (kill -9
 * included), so a crashed daemon never leaves a stale lock behind.
 *
 * The pin directory is on bpffs, which holds no regular files, so its lock
 * lives in CG_LOCK_DIR under a name made from the directory's canonical path
 * ("/sys/fs/bpf/cellgate" -> "pins%2fsys%2ffs%2fbpf%2fcellgate.lock"); the
 * state directory's lock is the file CG_LOCK_FILE inside it.
 */
#define CG_LOCK_DIR  "/run/cellgate"  /* where the pin directories' locks live */
#define CG_LOCK_FILE "cellgated.lock" /* the state directory's lock, inside it */

/*
 * cg_lock_path - the lock file of pin directory pin_dir into buf (len
 * bytes), under lock_dir (CG_LOCK_DIR if NULL). The path is canonical: two
 * spellings of one directory ("/sys/fs/bpf/x/", "/sys/fs/bpf//x") give the
 * same lock. Returns 0, -EINVAL if pin_dir is not absolute, -ENAMETOOLONG.
 */
int cg_lock_path(const char *lock_dir, const char *pin_dir, char *buf, size_t len);

/*
 * cg_lock_take - take the exclusive lock at path without waiting, creating
 * the file (mode 0600) and its directory (0700) if needed, and write this
 * process's pid into it. what names the locked thing in messages ("pin
 * directory '/sys/fs/bpf/cellgate'").
 *
 * Returns the lock's file descriptor (keep it open: closing it releases the
 * lock; it is close-on-exec), or -errno with one line in err: -EBUSY when
 * another process holds it ("another cellgated (pid 1234) holds pin directory
 * '...'"), the error of the failed system call otherwise.
 */
int cg_lock_take(const char *path, const char *what, char *err, size_t errlen);

/*
 * cg_dir_check_safe - refuse a directory others could write into: dir must
 * be a directory owned by root or this process's effective uid, and not
 * writable by its group or the world (a symlink is followed, the directory it
 * names is what is checked). what names it in messages ("state directory").
 * Returns 0, or -errno with one line in err: -EPERM for an unsafe directory
 * ("refusing state directory '/x': writable by others (mode 0777)"),
 * -ENOTDIR, or the error of stat().
 */
int cg_dir_check_safe(const char *dir, const char *what, char *err, size_t errlen);

#endif /* CELLGATE_LOCK_H */
