/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/hashkey.h - the deployment's secret hash key: load, create, seeds, fingerprint */
#ifndef CELLGATE_HASHKEY_H
#define CELLGATE_HASHKEY_H

#include <stddef.h>
#include <stdint.h>

#define CG_HASH_KEY_LEN	 32	    /* bytes of a hash key */
#define CG_HASH_KEY_FILE "hash.key" /* the generated key's name in the state directory */
#define CG_HASH_KEY_FP	 17	    /* a fingerprint's text: 16 hex digits and NUL */

/* The secret the flow hash seeds come from; every LB of a fleet shares it. */
struct cg_hash_key {
	uint8_t b[CG_HASH_KEY_LEN]; /* random bytes */
};

/*
 * cg_hash_key_load - read the key in path: 32 bytes, or 64 hex digits and an
 * optional newline. The file must be a regular file (no symlink) owned by
 * this user and not readable or writable by group or others (mode 0600 or
 * stricter). Returns 0, or -errno with a one-line message in err (the path
 * quoted) and *key untouched.
 */
int cg_hash_key_load(const char *path, struct cg_hash_key *key, char *err, size_t errlen);

/*
 * cg_hash_key_create - a new random key (getrandom) written to path as 64
 * hex digits and a newline, mode 0600, atomically: a temp file beside it,
 * fsync, then link(2), so an existing file is never replaced (-EEXIST).
 * Returns 0 with the key in *key, or -errno with a message in err and
 * nothing left behind.
 */
int cg_hash_key_create(const char *path, struct cg_hash_key *key, char *err, size_t errlen);

/*
 * cg_hash_key_seeds - the two flow hash seeds of a key (settings seed_cell,
 * seed_admit), the same on every host: the key's little-endian 32-bit words
 * folded, even words into the cell seed, odd words into the admission seed.
 */
void cg_hash_key_seeds(const struct cg_hash_key *key, uint32_t *cell, uint32_t *admit);

/*
 * cg_hash_key_fingerprint - 16 hex digits that name a key in logs and
 * output without giving it (nor its seeds) away; out holds CG_HASH_KEY_FP.
 */
void cg_hash_key_fingerprint(const struct cg_hash_key *key, char out[CG_HASH_KEY_FP]);

#endif /* CELLGATE_HASHKEY_H */
