// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* report.c - cell load reports: the datagram, its checks, replay and rate limit */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cellgate/abi/consts.h"
#include "cellgate/report.h"
#include "cellgate/text.h"

_Static_assert(CG_REPORT_TAG == crypto_auth_BYTES, "the tag is crypto_auth's");
_Static_assert(CG_REPORT_KEY == crypto_auth_KEYBYTES, "the key is crypto_auth's");

/* Offsets of the version 1 body (docs/protocol.md, Cell load reports). */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 4,
	OFF_FLAGS = 5,
	OFF_LENGTH = 6,
	OFF_CELL = 8,
	OFF_SEQ = 12,
	OFF_TS = 20,
	OFF_UTIL = 28,
	OFF_QUEUE = 32,
	OFF_INFLIGHT = 36,
	OFF_CAPACITY = 40,
};

static int rerr(int ret, char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int rerr(int ret, char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!err || !len)
		return ret;
	n = snprintf(err, len, "report: ");
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(err + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	return ret;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* libsodium picks its implementations once; later calls return at once. */
static int sodium_ready(void)
{
	return sodium_init() < 0 ? -ENOSYS : 0;
}

/* The checks of the values, in wire order, shared by the encoder and the decoder. */
static int check_values(const struct cg_report *r, char *err, size_t len)
{
	if (r->cell >= CG_MAX_CELLS)
		return rerr(-EBADMSG, err, len, "cell %u is out of range (0..%u)", r->cell,
			    CG_MAX_CELLS - 1);
	if (!r->seq)
		return rerr(-EBADMSG, err, len, "seq 0 is not allowed (it starts at 1)");
	if (!r->ts_ms)
		return rerr(-EBADMSG, err, len, "timestamp 0 is not allowed");
	if (r->util_ppm != CG_REPORT_NONE && r->util_ppm > CG_REPORT_UTIL_MAX)
		return rerr(-EBADMSG, err, len,
			    "utilization %u ppm is out of range (0..%u, or 0xffffffff: none)",
			    r->util_ppm, CG_REPORT_UTIL_MAX);
	if (r->flags & CG_REPORT_F_CAPACITY ? !r->capacity || r->capacity == CG_REPORT_NONE :
					      r->capacity != 0)
		return rerr(
			-EBADMSG, err, len,
			r->flags & CG_REPORT_F_CAPACITY ?
				"capacity %u is out of range (1..4294967294 with the capacity flag)" :
				"capacity %u given without the capacity flag (must be 0)",
			r->capacity);
	if (r->util_ppm == CG_REPORT_NONE && r->queue_us == CG_REPORT_NONE &&
	    (r->inflight == CG_REPORT_NONE || !r->capacity))
		return rerr(-EBADMSG, err, len,
			    "no load signal: utilization, queue delay, or in-flight with capacity");
	return 0;
}

int cg_report_encode(const struct cg_report *r, const uint8_t *key, uint8_t *buf, size_t len)
{
	struct cg_report w = *r;
	size_t n = key ? CG_REPORT_MAX : CG_REPORT_BODY;

	w.version = CG_REPORT_VERSION;
	w.flags = (uint8_t)((w.capacity ? CG_REPORT_F_CAPACITY : 0) | (key ? CG_REPORT_F_AUTH : 0));
	if (check_values(&w, NULL, 0))
		return -EINVAL;
	if (len < n)
		return -ENOSPC;
	put32(buf + OFF_MAGIC, CG_REPORT_MAGIC);
	buf[OFF_VERSION] = w.version;
	buf[OFF_FLAGS] = w.flags;
	put16(buf + OFF_LENGTH, (uint16_t)n);
	put32(buf + OFF_CELL, w.cell);
	put64(buf + OFF_SEQ, w.seq);
	put64(buf + OFF_TS, w.ts_ms);
	put32(buf + OFF_UTIL, w.util_ppm);
	put32(buf + OFF_QUEUE, w.queue_us);
	put32(buf + OFF_INFLIGHT, w.inflight);
	put32(buf + OFF_CAPACITY, w.capacity);
	if (key) {
		if (sodium_ready())
			return -ENOSYS;
		crypto_auth(buf + CG_REPORT_BODY, buf, CG_REPORT_BODY, key);
	}
	return (int)n;
}

int cg_report_decode(const uint8_t *buf, size_t len, const uint8_t *key, struct cg_report *out,
		     char *err, size_t errlen)
{
	struct cg_report r = { 0 };
	size_t want;
	uint32_t magic;
	uint16_t length;
	int ret;

	if (len < OFF_LENGTH + 2)
		return rerr(-EBADMSG, err, errlen, "%zu bytes are too short for a header (8)", len);
	magic = get32(buf + OFF_MAGIC);
	if (magic != CG_REPORT_MAGIC)
		return rerr(-EBADMSG, err, errlen, "magic 0x%08x is not 0x%08x ('CGLR')", magic,
			    CG_REPORT_MAGIC);
	r.version = buf[OFF_VERSION];
	if (r.version != CG_REPORT_VERSION)
		return rerr(-EBADMSG, err, errlen, "version %u is not supported (only %u)",
			    r.version, CG_REPORT_VERSION);
	r.flags = buf[OFF_FLAGS];
	if (r.flags & ~CG_REPORT_F_ALL)
		return rerr(-EBADMSG, err, errlen, "flags 0x%02x has unknown bits 0x%02x", r.flags,
			    r.flags & ~CG_REPORT_F_ALL & 0xff);
	length = get16(buf + OFF_LENGTH);
	want = r.flags & CG_REPORT_F_AUTH ? CG_REPORT_MAX : CG_REPORT_BODY;
	if (length != want)
		return rerr(-EBADMSG, err, errlen,
			    "length %u is not %zu (the length its flags give)", length, want);
	if (len != want)
		return rerr(-EBADMSG, err, errlen,
			    "length %u does not match the datagram's %zu bytes", length, len);
	if (key && !(r.flags & CG_REPORT_F_AUTH))
		return rerr(-EPERM, err, errlen, "auth: unsigned report refused (a key is set)");
	if (!key && r.flags & CG_REPORT_F_AUTH)
		return rerr(-EPERM, err, errlen, "auth: signed report refused (no key is set)");
	if (key) {
		if (sodium_ready())
			return rerr(-EPERM, err, errlen, "auth: libsodium did not start");
		if (crypto_auth_verify(buf + CG_REPORT_BODY, buf, CG_REPORT_BODY, key))
			return rerr(-EPERM, err, errlen, "auth: tag does not verify");
	}
	r.cell = get32(buf + OFF_CELL);
	r.seq = get64(buf + OFF_SEQ);
	r.ts_ms = get64(buf + OFF_TS);
	r.util_ppm = get32(buf + OFF_UTIL);
	r.queue_us = get32(buf + OFF_QUEUE);
	r.inflight = get32(buf + OFF_INFLIGHT);
	r.capacity = get32(buf + OFF_CAPACITY);
	ret = check_values(&r, err, errlen);
	if (ret)
		return ret;
	*out = r;
	return 0;
}

int cg_report_key_parse(const char *text, uint8_t key[CG_REPORT_KEY], char *err, size_t errlen)
{
	uint8_t k[CG_REPORT_KEY];
	size_t n = strlen(text);

	if (n && text[n - 1] == '\n')
		n--;
	if (n != 2 * CG_REPORT_KEY)
		return rerr(-EINVAL, err, errlen, "key: %zu characters, not %d hex digits", n,
			    2 * CG_REPORT_KEY);
	for (size_t i = 0; i < CG_REPORT_KEY; i++) {
		int hi = cg_hex_digit(text[2 * i]), lo = cg_hex_digit(text[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			sodium_memzero(k, sizeof(k));
			return rerr(-EINVAL, err, errlen, "key: character %zu is not a hex digit",
				    2 * i + (hi < 0 ? 1 : 2));
		}
		k[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(key, k, sizeof(k));
	sodium_memzero(k, sizeof(k));
	return 0;
}

bool cg_report_rate_allow(struct cg_report_bucket *b, int64_t now_ms, uint32_t rate, uint32_t burst)
{
	uint64_t full = (uint64_t)burst * 1000;

	if (!rate || !burst)
		return false;
	if (!b->started) {
		b->milli = full;
		b->at_ms = now_ms;
		b->started = true;
	} else if (now_ms > b->at_ms) {
		/* rate tokens a second: rate milli-tokens a ms; a long pause fills it */
		uint64_t gap = (uint64_t)now_ms - (uint64_t)b->at_ms;
		uint64_t add = gap >= full ? full : gap * rate;

		b->milli = add >= full || b->milli + add >= full ? full : b->milli + add;
		b->at_ms = now_ms;
	}
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}

static void why_set(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

enum cg_report_verdict cg_report_admit(struct cg_report_rx *rx, const struct cg_report *r,
				       int64_t now_ms, uint32_t max_skew_ms, uint32_t rate,
				       uint32_t burst, char *why, size_t whylen)
{
	int64_t skew = INT64_MAX;

	/* both within +-2^62 ms (146 million years) cannot overflow the difference */
	if (r->ts_ms < (1ULL << 62) && now_ms > -(1LL << 62) && now_ms < (1LL << 62))
		skew = (int64_t)r->ts_ms - now_ms;
	if (max_skew_ms && (skew > (int64_t)max_skew_ms || skew < -(int64_t)max_skew_ms)) {
		rx->skewed++;
		why_set(why, whylen, "cell %u: timestamp %lld ms off this clock (at most %u)",
			r->cell, (long long)skew, max_skew_ms);
		return CG_REPORT_SKEWED;
	}
	if (rx->last_rx_ms &&
	    (r->ts_ms < rx->last_ts_ms || (r->ts_ms == rx->last_ts_ms && r->seq <= rx->last_seq))) {
		rx->replayed++;
		why_set(why, whylen,
			"cell %u: seq %llu at %llu is not after seq %llu at %llu (replayed or late)",
			r->cell, (unsigned long long)r->seq, (unsigned long long)r->ts_ms,
			(unsigned long long)rx->last_seq, (unsigned long long)rx->last_ts_ms);
		return CG_REPORT_REPLAYED;
	}
	if (!cg_report_rate_allow(&rx->limit, now_ms, rate, burst)) {
		rx->limited++;
		why_set(why, whylen, "cell %u: over %u reports a second (burst %u)", r->cell, rate,
			burst);
		return CG_REPORT_LIMITED;
	}
	if (rx->last_rx_ms && r->seq <= rx->last_seq)
		rx->restarts++;
	else if (rx->last_rx_ms && r->seq > rx->last_seq + 1)
		rx->lost += r->seq - rx->last_seq - 1;
	rx->last_ts_ms = r->ts_ms;
	rx->last_seq = r->seq;
	rx->last_rx_ms = now_ms ? now_ms : 1;
	rx->accepted++;
	why_set(why, whylen, "cell %u: seq %llu accepted", r->cell, (unsigned long long)r->seq);
	return CG_REPORT_ACCEPTED;
}

const char *cg_report_verdict_name(unsigned int v)
{
	switch (v) {
	case CG_REPORT_ACCEPTED:
		return "accepted";
	case CG_REPORT_REPLAYED:
		return "replayed";
	case CG_REPORT_SKEWED:
		return "skewed";
	case CG_REPORT_LIMITED:
		return "limited";
	default:
		return "unknown";
	}
}
