/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/report.h - cell load reports: the datagram, its checks, replay and rate limit */
#ifndef CELLGATE_REPORT_H
#define CELLGATE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A cell (or an agent beside it) sends its load to cellgated in one small UDP
 * datagram, docs/protocol.md "Cell load reports" byte by byte: a 44-byte body
 * in network byte order, optionally followed by a 32-byte HMAC-SHA512-256 tag
 * (libsodium's crypto_auth) of the body under a key shared with cellgated.
 * Everything here is pure: no sockets, no clock; the receiver passes its
 * time in (ms) and keeps one struct cg_report_rx per cell.
 */

#define CG_REPORT_MAGIC	   0x43474c52U /* "CGLR" */
#define CG_REPORT_VERSION  1	       /* the one version this code reads and writes */
#define CG_REPORT_BODY	   44	       /* bytes of a version 1 body */
#define CG_REPORT_TAG	   32	       /* bytes of the tag (crypto_auth_BYTES) */
#define CG_REPORT_MAX	   (CG_REPORT_BODY + CG_REPORT_TAG) /* largest version 1 datagram */
#define CG_REPORT_KEY	   32	      /* bytes of the shared key (crypto_auth_KEYBYTES) */
#define CG_REPORT_NONE	   UINT32_MAX /* a signal the cell does not measure */
#define CG_REPORT_UTIL_MAX 10000000U  /* utilization ppm at most: 10 x capacity */

#define CG_REPORT_F_CAPACITY 0x01 /* the capacity field is given */
#define CG_REPORT_F_AUTH     0x02 /* a tag follows the body */
#define CG_REPORT_F_ALL	     0x03 /* every flag version 1 knows */

/* One report, as decoded (host byte order). */
struct cg_report {
	uint8_t version;   /* CG_REPORT_VERSION */
	uint8_t flags;	   /* CG_REPORT_F_* */
	uint32_t cell;	   /* the cell's id (cellgate's cell id, < CG_MAX_CELLS) */
	uint64_t seq;	   /* the sender's sequence number, from 1, +1 a report */
	uint64_t ts_ms;	   /* the sender's unix time, ms, when it measured */
	uint32_t util_ppm; /* demand over capacity, ppm (may pass 1 when work queues); NONE */
	uint32_t queue_us; /* queue delay, us; CG_REPORT_NONE: not measured */
	uint32_t inflight; /* requests in flight; CG_REPORT_NONE: not measured */
	uint32_t capacity; /* requests in flight the cell can carry; 0 unless F_CAPACITY */
};

/*
 * cg_report_encode - write r into buf (len bytes), signed with key when key is
 * not NULL (the F_AUTH flag follows key, whatever r->flags says; F_CAPACITY
 * follows r->capacity != 0). Returns the datagram's length (44 or 76), -ENOSPC
 * if len is too short, -EINVAL if r would not decode (the same checks as
 * cg_report_decode()). Used by the lab's sender and the tests.
 */
int cg_report_encode(const struct cg_report *r, const uint8_t *key, uint8_t *buf, size_t len);

/*
 * cg_report_decode - read the datagram buf (len bytes) into *out, field by
 * field in wire order: magic, version, flags, length, then the tag (key NULL:
 * a signed report is refused; key set: an unsigned one is), then each value.
 * Returns 0; -EBADMSG for a malformed datagram, -EPERM for one whose tag is
 * missing, unexpected or wrong; err gets one line naming the field
 * ("report: seq 0 is not allowed (it starts at 1)"). *out is set only on 0.
 */
int cg_report_decode(const uint8_t *buf, size_t len, const uint8_t *key, struct cg_report *out,
		     char *err, size_t errlen);

/*
 * cg_report_key_parse - a shared key from its text form: 64 hex digits, an
 * optional final newline. Returns 0, or -EINVAL with one line in err.
 */
int cg_report_key_parse(const char *text, uint8_t key[CG_REPORT_KEY], char *err, size_t errlen);

/* A token bucket on the receiver's clock. The zero value is full. */
struct cg_report_bucket {
	uint64_t milli; /* tokens x 1000 */
	int64_t at_ms;	/* when milli was last brought up to date */
	bool started;	/* false: never used (full) */
};

/*
 * cg_report_rate_allow - take one token from b at time now_ms, refilled at
 * rate a second up to burst: true if there was one. A clock that steps back
 * refills nothing. rate or burst 0: nothing is allowed.
 */
bool cg_report_rate_allow(struct cg_report_bucket *b, int64_t now_ms, uint32_t rate,
			  uint32_t burst);

/* What the receiver did with a report that decoded. */
enum cg_report_verdict {
	CG_REPORT_ACCEPTED = 0, /* newer than the last one, in time, within the rate */
	CG_REPORT_REPLAYED = 1, /* not newer than the last accepted (a copy, a replay, late) */
	CG_REPORT_SKEWED = 2,	/* its timestamp is too far from the receiver's clock */
	CG_REPORT_LIMITED = 3,	/* over the cell's rate */
};

/* A receiver's record of one cell's reports. The zero value has seen none. */
struct cg_report_rx {
	uint64_t last_ts_ms;	       /* the newest accepted report's timestamp */
	uint64_t last_seq;	       /* and sequence number */
	int64_t last_rx_ms;	       /* the receiver's time it was accepted; 0: none yet */
	struct cg_report_bucket limit; /* the cell's rate limit */
	uint64_t accepted;	       /* reports accepted */
	uint64_t replayed;	       /* refused as not newer */
	uint64_t skewed;	       /* refused for their timestamp */
	uint64_t limited;	       /* refused over the rate */
	uint64_t lost;		       /* gaps in the accepted sequence numbers */
	uint64_t restarts;	       /* the sequence started again under a later timestamp */
};

/*
 * cg_report_admit - decide on report r (decoded, of this rx's cell) received
 * at now_ms (unix ms): refused as skewed when max_skew_ms is not 0 and its
 * timestamp is more than that away from now_ms; as replayed unless (ts_ms,
 * seq) is after the last accepted one's (a sender that restarts keeps its
 * clock: a later timestamp with a lower seq is a restart, accepted); as
 * limited when rate/burst are spent; else accepted, rx updated. Replays and
 * skewed reports take no token, so a flood of them cannot starve the cell's
 * real reports. why (may be NULL) gets one line for the log.
 */
enum cg_report_verdict cg_report_admit(struct cg_report_rx *rx, const struct cg_report *r,
				       int64_t now_ms, uint32_t max_skew_ms, uint32_t rate,
				       uint32_t burst, char *why, size_t whylen);

/* cg_report_verdict_name - "accepted", "replayed", "skewed", "limited". */
const char *cg_report_verdict_name(unsigned int v);

#endif /* CELLGATE_REPORT_H */
