// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* hashkey.c - the deployment's secret hash key: load (mode checked), create atomically, seeds */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cellgate/hashkey.h"
#include "cellgate/text.h"

#define HEX_LEN	 (2 * CG_HASH_KEY_LEN) /* the text form's digits */
#define READ_MAX (HEX_LEN + 3)	       /* enough to tell a longer file from a good one */

/* The key in buf[0..n): raw bytes, or hex digits and an optional newline. */
static int key_parse(const char *buf, size_t n, struct cg_hash_key *key)
{
	size_t i;
	int hi, lo;

	if (n == CG_HASH_KEY_LEN) {
		memcpy(key->b, buf, CG_HASH_KEY_LEN);
		return 0;
	}
	if (n == HEX_LEN + 1 && buf[HEX_LEN] == '\n')
		n--;
	if (n != HEX_LEN)
		return -EINVAL;
	for (i = 0; i < CG_HASH_KEY_LEN; i++) {
		hi = cg_hex_digit(buf[2 * i]);
		lo = cg_hex_digit(buf[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		key->b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int cg_hash_key_load(const char *path, struct cg_hash_key *key, char *err, size_t errlen)
{
	struct cg_hash_key k;
	char buf[READ_MAX];
	struct stat sb;
	size_t n = 0, i;
	ssize_t r;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open hash key '%s': %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &sb)) {
		ret = -errno;
		snprintf(err, errlen, "cannot stat hash key '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "hash key '%s' is not a regular file", path);
		goto out;
	}
	if (sb.st_uid != geteuid()) {
		ret = -EPERM;
		snprintf(err, errlen, "hash key '%s' is owned by uid %u, not %u", path,
			 (unsigned int)sb.st_uid, (unsigned int)geteuid());
		goto out;
	}
	if (sb.st_mode & 077) {
		ret = -EPERM;
		snprintf(err, errlen, "hash key '%s' has mode %04o: group or others can read it",
			 path, (unsigned int)(sb.st_mode & 07777));
		goto out;
	}
	while (n < sizeof(buf)) {
		r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot read hash key '%s': %s", path,
				 strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (key_parse(buf, n, &k)) {
		ret = -EINVAL;
		snprintf(err, errlen, "hash key '%s' must be %d bytes or %d hex digits", path,
			 CG_HASH_KEY_LEN, HEX_LEN);
		goto out;
	}
	for (i = 0; i < CG_HASH_KEY_LEN && !k.b[i]; i++)
		;
	if (i == CG_HASH_KEY_LEN) {
		ret = -EINVAL;
		snprintf(err, errlen, "hash key '%s' is all zeros", path);
		goto out;
	}
	*key = k;
out:
	memset(buf, 0, sizeof(buf));
	memset(&k, 0, sizeof(k));
	close(fd);
	return ret;
}

/* fsync the directory path lies in, so a rename or link into it survives a crash. */
static int sync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, ret = 0;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return -ENAMETOOLONG;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

int cg_hash_key_create(const char *path, struct cg_hash_key *key, char *err, size_t errlen)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[PATH_MAX], text[HEX_LEN + 1];
	struct cg_hash_key k;
	size_t i, done = 0;
	ssize_t r;
	int fd = -1, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "hash key path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	for (i = 0; i < CG_HASH_KEY_LEN; i += (size_t)r) {
		r = getrandom(k.b + i, CG_HASH_KEY_LEN - i, 0);
		if (r < 0 && errno == EINTR) {
			r = 0;
			continue;
		}
		if (r < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot generate a hash key: %s", strerror(errno));
			return ret;
		}
	}
	for (i = 0; i < CG_HASH_KEY_LEN; i++) {
		text[2 * i] = digits[k.b[i] >> 4];
		text[2 * i + 1] = digits[k.b[i] & 15];
	}
	text[HEX_LEN] = '\n';
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
		goto out;
	}
	while (done < sizeof(text)) {
		r = write(fd, text + done, sizeof(text) - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			break;
		}
		done += (size_t)r;
	}
	if (!ret && fsync(fd))
		ret = -errno;
	if (!ret && link(tmp, path))
		ret = -errno;
	if (ret) {
		snprintf(err, errlen, "cannot write hash key '%s': %s", path, strerror(-ret));
		unlink(tmp);
		goto out;
	}
	unlink(tmp);
	ret = sync_dir_of(path);
	if (ret) {
		snprintf(err, errlen, "cannot sync the directory of '%s': %s", path,
			 strerror(-ret));
		unlink(path);
		goto out;
	}
	*key = k;
out:
	if (fd >= 0)
		close(fd);
	memset(text, 0, sizeof(text));
	memset(&k, 0, sizeof(k));
	return ret;
}

static uint32_t key_word(const struct cg_hash_key *key, size_t i)
{
	const uint8_t *p = key->b + 4 * i;

	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void cg_hash_key_seeds(const struct cg_hash_key *key, uint32_t *cell, uint32_t *admit)
{
	size_t i;

	*cell = 0;
	*admit = 0;
	for (i = 0; i < CG_HASH_KEY_LEN / 4; i += 2) {
		*cell ^= key_word(key, i);
		*admit ^= key_word(key, i + 1);
	}
}

/* splitmix64's finaliser: every output bit depends on every input bit. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void cg_hash_key_fingerprint(const struct cg_hash_key *key, char out[CG_HASH_KEY_FP])
{
	uint64_t h = 0x63656c6c67617465ULL; /* "cellgate": not the seeds' derivation */
	size_t i;

	for (i = 0; i < CG_HASH_KEY_LEN / 8; i++) {
		uint64_t lo = key_word(key, 2 * i), hi = key_word(key, 2 * i + 1);

		h = mix64(h ^ mix64((hi << 32 | lo) + i));
	}
	snprintf(out, CG_HASH_KEY_FP, "%016" PRIx64, h);
}
