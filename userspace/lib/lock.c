// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* lock.c - exclusive, crash-safe locks: one cellgated per pin directory and state directory */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cellgate/lock.h"

/* Canonical form of an absolute path: no "//", no "/./", no trailing '/'; realpath if it exists. */
static int lock_canon(const char *path, char *out, size_t len)
{
	char real[PATH_MAX];
	size_t n = 0;
	const char *p;

	if (path[0] != '/')
		return -EINVAL;
	if (realpath(path, real))
		path = real;
	for (p = path; *p;) {
		const char *end;
		size_t seg;

		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		seg = (size_t)(end - p);
		if (seg && !(seg == 1 && p[0] == '.')) {
			if (n + seg + 2 > len)
				return -ENAMETOOLONG;
			out[n++] = '/';
			memcpy(out + n, p, seg);
			n += seg;
		}
		p = end;
	}
	if (!n) {
		if (len < 2)
			return -ENAMETOOLONG;
		out[n++] = '/';
	}
	out[n] = '\0';
	return 0;
}

int cg_lock_path(const char *lock_dir, const char *pin_dir, char *buf, size_t len)
{
	char canon[PATH_MAX];
	size_t n;
	int ret, w;

	ret = lock_canon(pin_dir, canon, sizeof(canon));
	if (ret)
		return ret;
	w = snprintf(buf, len, "%s/pins", lock_dir ? lock_dir : CG_LOCK_DIR);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	n = (size_t)w;
	for (const char *p = canon; *p; p++) {
		unsigned char c = (unsigned char)*p;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';

		if (n + (plain ? 1 : 3) + sizeof(".lock") > len)
			return -ENAMETOOLONG;
		if (plain)
			buf[n++] = (char)c;
		else
			n += (size_t)sprintf(buf + n, "%%%02x", c);
	}
	memcpy(buf + n, ".lock", sizeof(".lock"));
	return 0;
}

/* Create path's directory (one level) with mode 0700 if it is missing. */
static int lock_mkdir_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int cg_lock_take(const char *path, const char *what, char *err, size_t errlen)
{
	char pid[32] = "";
	ssize_t n;
	int fd, ret;

	ret = lock_mkdir_parent(path);
	if (ret) {
		snprintf(err, errlen, "cannot lock %s: cannot create the directory of '%s': %s",
			 what, path, strerror(-ret));
		return ret;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot lock %s: cannot open '%s': %s", what, path,
			 strerror(-ret));
		return ret;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (ret == -EBUSY) {
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strspn(pid, "0123456789")] = '\0';
			snprintf(err, errlen, "another cellgated%s%s%s holds %s",
				 *pid ? " (pid " : "", pid, *pid ? ")" : "", what);
		} else {
			snprintf(err, errlen, "cannot lock %s: %s", what, strerror(-ret));
		}
		close(fd);
		return ret;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n) {
		ret = -errno;
		snprintf(err, errlen, "cannot lock %s: cannot write '%s': %s", what, path,
			 strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

int cg_dir_check_safe(const char *dir, const char *what, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	if (stat(dir, &st)) {
		ret = -errno;
		snprintf(err, errlen, "cannot use %s '%s': %s", what, dir, strerror(-ret));
		return ret;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot use %s '%s': not a directory", what, dir);
		return -ENOTDIR;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "refusing %s '%s': owned by uid %u, not root", what, dir,
			 (unsigned int)st.st_uid);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "refusing %s '%s': writable by others (mode %04o)", what, dir,
			 (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}
