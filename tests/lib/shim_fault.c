// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* shim_fault.c - LD_PRELOAD fault injection for the e2e tests: fsync of a directory, BPF map calls */
/*
 * Built as build/tests/lib/shim_fault.so, never linked into a product or a
 * test program. A test starts cellgated with LD_PRELOAD=.../shim_fault.so and
 * CG_FAULT_DIR=DIR, then turns a fault on by creating a file in DIR and off
 * by removing it:
 *
 *   DIR/fsync_dir    fsync() of a directory fails with EIO (the state file's
 *                    directory sync, after the rename)
 *   DIR/map_create   bpf(BPF_MAP_CREATE) fails with ENOMEM (a table of a new
 *                    size needs a new inner map)
 *   DIR/table_publish bpf(BPF_MAP_UPDATE_BATCH) fails with ENOMEM (only the
 *                    tables' swap uses it: whatever table was filled, the
 *                    data plane refuses the change)
 *
 * Without CG_FAULT_DIR, or without the file, every call is passed through.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

/* Is the fault named name turned on? */
static int fault_on(const char *name)
{
	const char *dir = getenv("CG_FAULT_DIR");
	char path[PATH_MAX];

	if (!dir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

int fsync(int fd)
{
	static int (*real)(int);
	struct stat sb;

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (fault_on("fsync_dir") && !fstat(fd, &sb) && S_ISDIR(sb.st_mode)) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;
	int i;

	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == __NR_bpf && ((a[0] == BPF_MAP_CREATE && fault_on("map_create")) ||
			       (a[0] == BPF_MAP_UPDATE_BATCH && fault_on("table_publish")))) {
		errno = ENOMEM;
		return -1;
	}
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
