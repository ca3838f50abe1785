// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* statefile.c - the persisted desired state: header, crc, atomic save, strict load */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include <zlib.h>

#include "cellgate/check.h"
#include "cellgate/codec.h"
#include "cellgate/statefile.h"

#define CG_STATE_HEADER CG_STATE_MAGIC "crc32=%08x len=%zu\n"

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fail with a message: "cannot <what> '<path>': <strerror>". */
static int sys_fail(char *err, size_t errlen, int ret, const char *what, const char *path)
{
	if (errlen)
		snprintf(err, errlen, "cannot %s '%s': %s", what, path, strerror(-ret));
	return ret;
}

int cg_state_save(const struct cg_state *st, const char *path, char *err, size_t errlen)
{
	char *body = NULL, *tmp = NULL, *dircopy = NULL, *dir, hdr[96], msg[512];
	size_t blen = 0, hlen;
	uint32_t crc;
	bool created = false;
	int fd = -1, dfd = -1, ret;
	FILE *mem;

	mem = open_memstream(&body, &blen);
	if (!mem) {
		ret = sys_fail(err, errlen, -errno, "save state to", path);
		goto out;
	}
	ret = cg_state_write(st, mem);
	if (fclose(mem) && !ret)
		ret = -ENOMEM;
	if (ret) {
		sys_fail(err, errlen, ret, "save state to", path);
		goto out;
	}
	/* never persist what the loader would refuse */
	ret = cg_state_check(st, NULL, msg, sizeof(msg));
	if (ret) {
		if (errlen)
			snprintf(err, errlen, "cannot save an invalid state to '%s': %s", path,
				 msg);
		goto out;
	}
	crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), (const Bytef *)body, (uInt)blen);
	hlen = (size_t)snprintf(hdr, sizeof(hdr), CG_STATE_HEADER, crc, blen);
	if (hlen + blen > CG_CONFIG_MAX_SIZE) {
		ret = -EFBIG;
		if (errlen)
			snprintf(err, errlen, "cannot save state to '%s': %zu bytes, at most %u",
				 path, hlen + blen, CG_CONFIG_MAX_SIZE);
		goto out;
	}

	dircopy = strdup(path);
	if (!dircopy || asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		tmp = NULL;
		ret = sys_fail(err, errlen, -ENOMEM, "save state to", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		ret = sys_fail(err, errlen, -errno, "create", tmp);
		goto out;
	}
	created = true;
	ret = write_all(fd, hdr, hlen);
	if (!ret)
		ret = write_all(fd, body, blen);
	if (ret) {
		sys_fail(err, errlen, ret, "write", tmp);
		goto out;
	}
	if (fsync(fd)) {
		ret = sys_fail(err, errlen, -errno, "sync", tmp);
		goto out;
	}
	ret = close(fd);
	fd = -1;
	if (ret) {
		ret = sys_fail(err, errlen, -errno, "close", tmp);
		goto out;
	}
	if (rename(tmp, path)) {
		ret = -errno;
		if (errlen)
			snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path,
				 strerror(-ret));
		goto out;
	}
	created = false;
	/* the rename is only durable once the directory is on disk */
	dir = dirname(dircopy);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd)) {
		/* the new file is in place, only its durability is unknown: not a refusal */
		if (errlen)
			snprintf(err, errlen, "saved, durability unknown (fsync of %s: %s)", dir,
				 strerror(errno));
		ret = CG_STATE_SAVED_UNSYNCED;
	}
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (created)
		unlink(tmp);
	free(tmp);
	free(dircopy);
	free(body);
	return ret;
}

/*
 * Read the header line line[0..len) (without its '\n') into *crc and *blen.
 * Strict: true only if it is exactly what cg_state_save() writes.
 */
static bool header_read(const char *line, size_t len, uint32_t *crc, size_t *blen)
{
	char hdr[96], want[96];
	int used = 0;

	/* longer than any header cg_state_save() writes, or a NUL sscanf would stop at */
	if (len >= sizeof(hdr) || memchr(line, '\0', len))
		return false;
	memcpy(hdr, line, len);
	hdr[len] = '\0';
	if (sscanf(hdr, CG_STATE_MAGIC "crc32=%8x len=%zu%n", crc, blen, &used) != 2 ||
	    (size_t)used != len)
		return false;
	snprintf(want, sizeof(want), CG_STATE_MAGIC "crc32=%08x len=%zu", *crc, *blen);
	return !strcmp(want, hdr);
}

int cg_state_load_buf(const char *name, const char *buf, size_t len, struct cg_state *st, char *err,
		      size_t errlen)
{
	const char *nl;
	uint32_t crc, hcrc = 0;
	size_t hlen, blen, hblen = 0;

	nl = memchr(buf, '\n', len);
	if (!nl || len < strlen("# cellgate-state ") ||
	    memcmp(buf, "# cellgate-state ", strlen("# cellgate-state "))) {
		if (errlen)
			snprintf(err, errlen,
				 "%s:1: not a cellgate state file (no '%scrc32=... len=...' "
				 "header)",
				 name, CG_STATE_MAGIC);
		return -EBADMSG;
	}
	if (len < strlen(CG_STATE_MAGIC) || memcmp(buf, CG_STATE_MAGIC, strlen(CG_STATE_MAGIC))) {
		if (errlen)
			snprintf(err, errlen,
				 "%s:1: unsupported state file version (expected '%s')", name,
				 CG_STATE_MAGIC "...");
		return -EBADMSG;
	}
	hlen = (size_t)(nl - buf) + 1;
	if (!header_read(buf, hlen - 1, &hcrc, &hblen)) {
		if (errlen)
			snprintf(err, errlen,
				 "%s:1: bad state header (expected '%scrc32=%%08x len=N')", name,
				 CG_STATE_MAGIC);
		return -EBADMSG;
	}
	blen = len - hlen;
	if (blen != hblen) {
		if (errlen)
			snprintf(err, errlen,
				 "%s: state file %s: %zu bytes after the header, which says %zu",
				 name, blen < hblen ? "is truncated" : "has trailing data", blen,
				 hblen);
		return -EBADMSG;
	}
	crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), (const Bytef *)(buf + hlen), (uInt)blen);
	if (crc != hcrc) {
		if (errlen)
			snprintf(err, errlen,
				 "%s: state file is corrupted: crc32 is %08x, the header says %08x",
				 name, crc, hcrc);
		return -EBADMSG;
	}
	/* the whole file, so that line numbers in messages are the file's */
	return cg_config_parse_buf(name, buf, len, st, err, errlen);
}

int cg_state_load(const char *path, struct cg_state *st, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = cg_config_read_file(path, &buf, &len, err, errlen);
	if (!ret)
		ret = cg_state_load_buf(path, buf, len, st, err, errlen);
	free(buf);
	return ret;
}

int cg_state_tmp_clean(const char *path, char *err, size_t errlen)
{
	char *dircopy = NULL, *dir, prefix[NAME_MAX + 8];
	const char *pid, *base, *slash = strrchr(path, '/');
	struct dirent *de;
	size_t plen;
	int n = 0, ret = 0;
	DIR *dh;

	dircopy = strdup(path);
	if (!dircopy)
		return sys_fail(err, errlen, -ENOMEM, "clean temp files of", path);
	base = slash ? slash + 1 : path;
	dir = dirname(dircopy);
	snprintf(prefix, sizeof(prefix), "%.*s.tmp.", NAME_MAX, base);
	plen = strlen(prefix);
	dh = opendir(dir);
	if (!dh) {
		ret = sys_fail(err, errlen, -errno, "read directory", dir);
		goto out;
	}
	while ((de = readdir(dh))) {
		if (strncmp(de->d_name, prefix, plen))
			continue;
		pid = de->d_name + plen;
		if (!*pid || strspn(pid, "0123456789") != strlen(pid))
			continue; /* not a name cg_state_save() makes */
		if (unlinkat(dirfd(dh), de->d_name, 0) && errno != ENOENT) {
			ret = sys_fail(err, errlen, -errno, "remove stale temp file in", dir);
			break;
		}
		n++;
	}
	closedir(dh);
out:
	free(dircopy);
	return ret ? ret : n;
}
