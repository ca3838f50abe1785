/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_hashkey.c - the secret hash key: loading and its checks, atomic creation, seeds */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cellgate/hashkey.h"

#define HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cg-key-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/hash.key", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *text, size_t n, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* *key filled with 0xee; a failed load must leave it so. */
static void poison(struct cg_hash_key *key)
{
	memset(key, 0xee, sizeof(*key));
}

static bool poisoned(const struct cg_hash_key *key)
{
	for (size_t i = 0; i < sizeof(key->b); i++)
		if (key->b[i] != 0xee)
			return false;
	return true;
}

static void test_hashkey_hex_and_raw_give_the_same_key(void **state)
{
	struct cg_hash_key a, b;
	char err[256] = "", raw[CG_HASH_KEY_LEN];

	(void)state;
	put(HEX "\n", sizeof(HEX), 0600);
	assert_int_equal(cg_hash_key_load(path, &a, err, sizeof(err)), 0);
	for (int i = 0; i < CG_HASH_KEY_LEN; i++)
		raw[i] = (char)i;
	put(raw, sizeof(raw), 0400);
	assert_int_equal(cg_hash_key_load(path, &b, err, sizeof(err)), 0);
	assert_memory_equal(a.b, raw, sizeof(raw));
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_hashkey_bad_length_is_one_line_and_changes_nothing(void **state)
{
	struct cg_hash_key k;
	char err[256] = "", bad[sizeof(HEX)];

	(void)state;
	put(HEX "0", sizeof(HEX), 0600); /* 65 hex digits */
	poison(&k);
	assert_int_equal(cg_hash_key_load(path, &k, err, sizeof(err)), -EINVAL);
	assert_true(poisoned(&k));
	assert_non_null(strstr(err, "must be 32 bytes or 64 hex digits"));
	assert_non_null(strstr(err, path));
	assert_null(strchr(err, '\n'));
	put("short\n", 6, 0600);
	assert_int_equal(cg_hash_key_load(path, &k, err, sizeof(err)), -EINVAL);
	memcpy(bad, HEX, sizeof(bad));
	bad[0] = 'z'; /* not hex */
	put(bad, sizeof(bad) - 1, 0600);
	assert_int_equal(cg_hash_key_load(path, &k, err, sizeof(err)), -EINVAL);
	assert_true(poisoned(&k));
}

static void test_hashkey_others_can_read_is_refused(void **state)
{
	struct cg_hash_key k;
	char err[256] = "";

	(void)state;
	put(HEX, sizeof(HEX) - 1, 0644);
	poison(&k);
	assert_int_equal(cg_hash_key_load(path, &k, err, sizeof(err)), -EPERM);
	assert_true(poisoned(&k));
	assert_non_null(strstr(err, "mode 0644"));
	assert_null(strchr(err, '\n'));
	put(HEX, sizeof(HEX) - 1, 0640);
	assert_int_equal(cg_hash_key_load(path, &k, err, sizeof(err)), -EPERM);
	assert_true(poisoned(&k));
}

static void test_hashkey_missing_or_not_a_file_is_refused(void **state)
{
	struct cg_hash_key k;
	char err[256] = "", link_path[160];

	(void)state;
	poison(&k);
	assert_int_equal(cg_hash_key_load(path, &k, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot open hash key"));
	assert_null(strchr(err, '\n'));
	assert_int_equal(cg_hash_key_load(dir, &k, err, sizeof(err)), -EINVAL);
	put(HEX, sizeof(HEX) - 1, 0600);
	snprintf(link_path, sizeof(link_path), "%s/link.key", dir);
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_equal(cg_hash_key_load(link_path, &k, err, sizeof(err)), -ELOOP);
	assert_true(poisoned(&k));
}

static void test_hashkey_all_zeros_is_refused(void **state)
{
	struct cg_hash_key k;
	char zeros[CG_HASH_KEY_LEN] = { 0 }, err[256] = "";

	(void)state;
	put(zeros, sizeof(zeros), 0600);
	poison(&k);
	assert_int_equal(cg_hash_key_load(path, &k, err, sizeof(err)), -EINVAL);
	assert_true(poisoned(&k));
}

static void test_hashkey_create_is_0600_loads_back_and_never_replaces(void **state)
{
	struct cg_hash_key made, loaded, again;
	char err[256] = "", cmd[160];
	struct stat sb;

	(void)state;
	assert_int_equal(cg_hash_key_create(path, &made, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_size, 2 * CG_HASH_KEY_LEN + 1);
	assert_int_equal(cg_hash_key_load(path, &loaded, err, sizeof(err)), 0);
	assert_memory_equal(&made, &loaded, sizeof(made));
	poison(&again);
	assert_int_equal(cg_hash_key_create(path, &again, err, sizeof(err)), -EEXIST);
	assert_true(poisoned(&again));
	assert_int_equal(cg_hash_key_load(path, &loaded, err, sizeof(err)), 0);
	assert_memory_equal(&made, &loaded, sizeof(made)); /* the first key stays */
	snprintf(cmd, sizeof(cmd), "test $(ls '%s' | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd), 0); /* no temp file left */
}

static void test_hashkey_seeds_and_fingerprint_follow_the_key(void **state)
{
	struct cg_hash_key a = { { 0 } }, b;
	uint32_t c1, a1, c2, a2;
	char f1[CG_HASH_KEY_FP], f2[CG_HASH_KEY_FP];

	(void)state;
	for (int i = 0; i < CG_HASH_KEY_LEN; i++)
		a.b[i] = (uint8_t)i;
	cg_hash_key_seeds(&a, &c1, &a1);
	/* words 0x03020100 ^ 0x0b0a0908 ^ 0x13121110 ^ 0x1b1a1918, and the odd ones */
	assert_int_equal(c1, 0x00000000U);
	assert_int_equal(a1, 0x00000000U ^ 0x07060504U ^ 0x0f0e0d0cU ^ 0x17161514U ^ 0x1f1e1d1cU);
	b = a;
	b.b[0] ^= 1;
	cg_hash_key_seeds(&b, &c2, &a2);
	assert_int_equal(c2, c1 ^ 1);
	assert_int_equal(a2, a1);
	cg_hash_key_fingerprint(&a, f1);
	cg_hash_key_fingerprint(&b, f2);
	assert_int_equal(strlen(f1), 16);
	assert_string_not_equal(f1, f2);
	cg_hash_key_fingerprint(&a, f2);
	assert_string_equal(f1, f2);
}

/* Every one-bit change of the key changes the print; no 4 key bytes show up in it as hex. */
static void test_hashkey_fingerprint_differs_per_key_and_shows_no_key_bytes(void **state)
{
	static char seen[CG_HASH_KEY_LEN * 8 + 1][CG_HASH_KEY_FP];
	char keyhex[2 * CG_HASH_KEY_LEN + 1], fp[CG_HASH_KEY_FP], again[CG_HASH_KEY_FP];
	struct cg_hash_key k, base;
	size_t n = 0, i, j;

	(void)state;
	for (i = 0; i < CG_HASH_KEY_LEN; i++)
		base.b[i] = (uint8_t)(0x5a ^ (i * 37));
	for (i = 0; i <= CG_HASH_KEY_LEN * 8; i++) {
		k = base;
		if (i < CG_HASH_KEY_LEN * 8)
			k.b[i / 8] ^= (uint8_t)(1 << (i % 8));
		cg_hash_key_fingerprint(&k, fp);
		cg_hash_key_fingerprint(&k, again);
		assert_string_equal(fp, again); /* same key, same print */
		for (j = 0; j < n; j++)
			assert_string_not_equal(fp, seen[j]);
		memcpy(seen[n++], fp, sizeof(fp));
		for (j = 0; j < CG_HASH_KEY_LEN; j++)
			snprintf(keyhex + 2 * j, 3, "%02x", k.b[j]);
		/* any 8 digits of the print (4 bytes) found in the key's hex would be a leak */
		for (j = 0; j + 8 <= strlen(fp); j++) {
			char window[9];

			memcpy(window, fp + j, 8);
			window[8] = '\0';
			assert_null(strstr(keyhex, window));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hashkey_hex_and_raw_give_the_same_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hashkey_bad_length_is_one_line_and_changes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hashkey_others_can_read_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hashkey_missing_or_not_a_file_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hashkey_all_zeros_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hashkey_create_is_0600_loads_back_and_never_replaces,
						setup, teardown),
		cmocka_unit_test(test_hashkey_seeds_and_fingerprint_follow_the_key),
		cmocka_unit_test(test_hashkey_fingerprint_differs_per_key_and_shows_no_key_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
