/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/probe.h - non-blocking health probes (TCP connect, HTTP GET) run on the event loop */
#ifndef CELLGATE_PROBE_H
#define CELLGATE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/loop.h"
#include "cellgate/state.h"

/*
 * A prober runs probes on one struct cg_loop and never blocks it: each probe
 * is one non-blocking socket (connect() in progress, EPOLLOUT, SO_ERROR), one
 * timer for its whole timeout, and a callback made exactly once with the
 * result, from a loop callback (never from cg_probe_start()). A cancelled
 * probe, or one still running when the prober is freed, is released without
 * a callback. Every path closes the probe's fd.
 *
 * An HTTP probe sends
 *   GET <path> HTTP/1.1\r\nHost: <addr>[:<port>]\r\nConnection: close\r\n
 *   User-Agent: cellgate-probe\r\n\r\n
 * (the port given unless it is 80) and reads only the status line (at most
 * CG_PROBE_LINE_MAX bytes), which must carry the expected status code; the
 * rest of the answer is not read.
 * A probe's connection is closed with a reset (SO_LINGER 0), so probing
 * leaves no TIME_WAIT sockets behind on the prober's side.
 */

#define CG_PROBE_PATH_MAX     256 /* an HTTP probe's path, with its NUL */
#define CG_PROBE_LINE_MAX     256 /* bytes of the answer read for the status line, CRLF included */
#define CG_PROBE_ERR_MAX      256 /* a result's error text, with its NUL */
#define CG_PROBE_TIMEOUT_MAX  600000 /* longest timeout in ms (10 minutes) */
#define CG_PROBE_INFLIGHT_MAX 4096   /* bound of cg_prober_new()'s max_inflight */

/* What to probe and how. */
struct cg_probe_target {
	uint8_t kind;	     /* CG_PROBE_TCP or CG_PROBE_HTTP (state.h); CG_PROBE_OFF is refused */
	struct cg_addr addr; /* where to connect: CG_AF_INET or CG_AF_INET6 */
	uint16_t port;	     /* host order, 1..65535 */
	struct cg_addr source;	      /* bound before connecting (family 0: the kernel picks) */
	uint32_t timeout_ms;	      /* whole probe, 1..CG_PROBE_TIMEOUT_MAX */
	uint16_t expect_status;	      /* CG_PROBE_HTTP: the status code wanted, 100..599 */
	char path[CG_PROBE_PATH_MAX]; /* CG_PROBE_HTTP: "/" then visible ASCII, no space */
};

/*
 * The outcome of one probe. errnum: ETIMEDOUT, the errno of connect(), send()
 * or recv(), EBADMSG when the answer has no valid status line, EPROTO when it
 * carries another status than the one expected.
 */
struct cg_probe_result {
	bool ok;    /* the target is healthy */
	int errnum; /* 0 if ok, else ETIMEDOUT, connect()'s errno, EBADMSG or EPROTO (below) */
	uint64_t latency_us;	    /* start to decision, on the prober's clock */
	uint16_t status;	    /* CG_PROBE_HTTP: status code received, 0 if none */
	char err[CG_PROBE_ERR_MAX]; /* "" if ok; else why, safe to print (network bytes escaped) */
};

/*
 * Called once per probe with its result (valid during the call only). It
 * runs from a loop callback after the probe is released: it may start new
 * probes, cancel others, or free the prober.
 */
typedef void (*cg_probe_cb)(const struct cg_probe_result *res, void *arg);

/* A monotonic clock in microseconds, for the latency. */
typedef uint64_t (*cg_probe_clock)(void *arg);

struct cg_prober;

/*
 * cg_prober_new - a prober running its probes on loop, at most max_inflight
 * (1..CG_PROBE_INFLIGHT_MAX) at a time. clock measures latencies (NULL:
 * CLOCK_MONOTONIC); timeouts are the loop's timers, on CLOCK_MONOTONIC.
 * Returns the prober, or NULL with errno EINVAL or ENOMEM.
 */
struct cg_prober *cg_prober_new(struct cg_loop *loop, unsigned int max_inflight,
				cg_probe_clock clock, void *clock_arg);

/*
 * cg_prober_free - release the prober, cancelling every probe in flight:
 * their fds are removed from the loop and closed, their timers cancelled,
 * and no callback is made. The loop must still exist. NULL is a no-op. May
 * be called from a probe callback.
 */
void cg_prober_free(struct cg_prober *pr);

/*
 * cg_probe_start - start probing target; cb(res, arg) is called once with the
 * result, or never if the probe is cancelled. A connect() failing at once
 * (refused, unreachable) is a result like any other, delivered from the loop.
 * Returns the probe's id (> 0), or -EINVAL for a bad target (see struct
 * cg_probe_target), -EBUSY with max_inflight probes in flight, -ENOMEM, or the
 * -errno of socket() (-EMFILE, ...) or of bind() to the source address
 * (-EADDRNOTAVAIL, ...); nothing is left behind and no callback is made then.
 */
int cg_probe_start(struct cg_prober *pr, const struct cg_probe_target *target, cg_probe_cb cb,
		   void *arg);

/*
 * cg_probe_cancel - stop probe id: its fd is removed from the loop and
 * closed, its timer cancelled, and its callback never called. Returns 0, or
 * -ENOENT if no such probe is in flight (already reported or cancelled).
 */
int cg_probe_cancel(struct cg_prober *pr, int id);

/* cg_prober_inflight - the number of probes started and neither reported nor cancelled. */
unsigned int cg_prober_inflight(const struct cg_prober *pr);

/* An HTTP status line as cg_probe_status_parse() read it. */
struct cg_http_status {
	uint8_t major;	 /* HTTP/major.minor: always 1 */
	uint8_t minor;	 /* 0..9 */
	uint16_t code;	 /* 100..599 */
	size_t line_len; /* bytes of the line, its LF included */
};

/*
 * cg_probe_status_parse - read the status line at the start of buf[0..len),
 * the first bytes of an answer ("HTTP/1.1 200 OK\r\n", a bare LF accepted):
 * "HTTP/1." and a digit, a space, three digits 100..599, then nothing or a
 * space and a reason of tabs, spaces and visible characters (any byte from
 * 0x80). Bytes after the line are not looked at. Pure. Returns 0 with *st
 * filled; -EAGAIN if the bytes so far are a valid start but the line has not
 * ended; -EMSGSIZE if CG_PROBE_LINE_MAX bytes hold no LF; -EPROTONOSUPPORT for
 * an HTTP version other than 1.x; -EBADMSG for anything else. On failure why
 * (whylen bytes, may be NULL) says what is wrong, bytes received quoted
 * escaped ("http: malformed status line 'HTTP/1.1 2x0'").
 */
int cg_probe_status_parse(const char *buf, size_t len, struct cg_http_status *st, char *why,
			  size_t whylen);

/*
 * cg_probe_http_decide - the result of an HTTP probe from the first len bytes
 * of the answer, eof when the server has closed its side after them. Pure.
 * Returns 1 (healthy: the status line carries expect), 0 (unhealthy: *errnum
 * is EPROTO for another status, EBADMSG for no valid status line, and err
 * says why: "http status 503, expected 200", "http: connection closed before
 * the status line", or cg_probe_status_parse()'s reason) or -EAGAIN (more
 * bytes are needed). *status is the code read, 0 if none.
 */
int cg_probe_http_decide(const char *buf, size_t len, bool eof, uint16_t expect, uint16_t *status,
			 int *errnum, char *err, size_t errlen);

#endif /* CELLGATE_PROBE_H */
