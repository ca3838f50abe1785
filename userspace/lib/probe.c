/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* probe.c - non-blocking health probes (TCP connect, HTTP GET) run on the event loop */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cellgate/probe.h"
#include "cellgate/text.h"

#define PROBE_QUOTE_MAX 48  /* bytes of an answer quoted in an error text */
#define PROBE_REQ_MAX	512 /* an HTTP request: the path, the host and the fixed headers */

/* Where a probe is; the timeout text names it. */
enum probe_stage {
	PROBE_CONNECTING, /* connect() in progress: waiting for EPOLLOUT */
	PROBE_SENDING,	  /* HTTP: the request partly sent, waiting for EPOLLOUT */
	PROBE_READING,	  /* HTTP: waiting for the status line (EPOLLIN) */
	PROBE_FAILED,	  /* failed in cg_probe_start(): fd closed, res reported by a 0 ms timer */
};

/* One probe in flight. */
struct probe {
	struct cg_prober *pr;	 /* owner */
	struct probe *prev;	 /* previous probe in flight, NULL for the first */
	struct probe *next;	 /* next probe in flight */
	int id;			 /* handle given to the caller, > 0 */
	int fd;			 /* the socket, -1 once closed */
	int timer;		 /* the timeout (or, PROBE_FAILED, the report) timer; 0 if none */
	enum probe_stage stage;	 /* what it waits for */
	uint8_t kind;		 /* enum cg_probe_kind */
	uint16_t expect;	 /* CG_PROBE_HTTP: the status code wanted */
	uint32_t timeout_ms;	 /* its timeout, for the text */
	uint64_t start_us;	 /* the prober's clock at the start */
	cg_probe_cb cb;		 /* result callback */
	void *arg;		 /* its argument */
	char req[PROBE_REQ_MAX]; /* CG_PROBE_HTTP: the request */
	size_t req_len;		 /* its length */
	size_t req_off;		 /* bytes of it sent */
	char buf[CG_PROBE_LINE_MAX]; /* CG_PROBE_HTTP: the answer's first bytes */
	size_t len;		     /* bytes in buf */
	struct cg_probe_result res;  /* PROBE_FAILED: the result to report */
};

struct cg_prober {
	struct cg_loop *loop;	   /* where the probes run */
	unsigned int max_inflight; /* cg_probe_start() refuses beyond */
	unsigned int inflight;	   /* probes on the list */
	cg_probe_clock clock;	   /* latency clock (us) */
	void *clock_arg;	   /* its argument */
	struct probe *probes;	   /* probes in flight, newest first */
	int next_id;		   /* id of the next probe, 1..INT_MAX */
};

/* ---- the status line (pure) ---- */

/* src[0..n) quoted for a message: escaped, cut after PROBE_QUOTE_MAX bytes with "...". */
static void probe_quote(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t cut = n > PROBE_QUOTE_MAX ? PROBE_QUOTE_MAX : n, used;

	if (dstlen < 4) {
		if (dstlen)
			dst[0] = '\0';
		return;
	}
	used = cg_escape(dst, dstlen - 3, src, cut, CG_ESC_QUOTES);
	if (used < n)
		strcat(dst, "...");
}

static __attribute__((format(printf, 3, 4))) void probe_why(char *why, size_t whylen,
							    const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static bool probe_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A byte of the reason phrase: HTAB, SP, VCHAR or obs-text (RFC 9112). */
static bool probe_reason_byte(unsigned char c)
{
	return c == '\t' || (c >= ' ' && c != 0x7f);
}

int cg_probe_status_parse(const char *buf, size_t len, struct cg_http_status *st, char *why,
			  size_t whylen)
{
	static const char version[] = "HTTP/1.";
	size_t scan = len < CG_PROBE_LINE_MAX ? len : CG_PROBE_LINE_MAX, n, i;
	const char *lf = memchr(buf, '\n', scan);
	char q[PROBE_QUOTE_MAX * 4 + 8];
	unsigned int code = 0;

	n = lf ? (size_t)(lf - buf) : scan;
	/* a CR ends a complete line; at the end of a partial one it may start the CRLF */
	if (n && buf[n - 1] == '\r')
		n--;
	probe_quote(q, sizeof(q), buf, n);
	for (i = 0; i < n; i++) {
		char c = buf[i];
		bool good;

		if (i < 5)
			good = c == version[i];
		else if (i == 5)
			good = probe_digit(c);
		else if (i < 7)
			good = c == version[i];
		else if (i == 7 || (i >= 9 && i <= 11))
			good = probe_digit(c);
		else if (i == 8 || i == 12)
			good = c == ' ';
		else
			good = probe_reason_byte((unsigned char)c);
		if (i == 5 && good && c != '1') {
			probe_why(why, whylen, "http: unsupported version in '%s'", q);
			return -EPROTONOSUPPORT;
		}
		if (!good) {
			probe_why(why, whylen, "http: malformed status line '%s'", q);
			return -EBADMSG;
		}
		if (i >= 9 && i <= 11)
			code = code * 10 + (unsigned int)(c - '0');
		if (i == 11 && (code < 100 || code > 599)) {
			probe_why(why, whylen, "http: status code %u out of range 100..599", code);
			return -EBADMSG;
		}
	}
	if (!lf) {
		if (len < CG_PROBE_LINE_MAX)
			return -EAGAIN;
		probe_why(why, whylen, "http: status line longer than %d bytes", CG_PROBE_LINE_MAX);
		return -EMSGSIZE;
	}
	if (n < 12) {
		probe_why(why, whylen, "http: malformed status line '%s'", q);
		return -EBADMSG;
	}
	if (st) {
		st->major = 1;
		st->minor = (uint8_t)(buf[7] - '0');
		st->code = (uint16_t)code;
		st->line_len = (size_t)(lf - buf) + 1;
	}
	return 0;
}

int cg_probe_http_decide(const char *buf, size_t len, bool eof, uint16_t expect, uint16_t *status,
			 int *errnum, char *err, size_t errlen)
{
	struct cg_http_status st;
	char q[PROBE_QUOTE_MAX * 4 + 8];
	int ret;

	*status = 0;
	*errnum = EBADMSG;
	ret = cg_probe_status_parse(buf, len, &st, err, errlen);
	if (ret == 0) {
		*status = st.code;
		if (st.code == expect) {
			*errnum = 0;
			probe_why(err, errlen, "%s", "");
			return 1;
		}
		*errnum = EPROTO;
		probe_why(err, errlen, "http status %u, expected %u", st.code, expect);
		return 0;
	}
	if (ret != -EAGAIN)
		return 0;
	if (!eof)
		return -EAGAIN;
	if (!len) {
		probe_why(err, errlen, "http: connection closed before the status line");
	} else {
		probe_quote(q, sizeof(q), buf, len);
		probe_why(err, errlen, "http: connection closed inside the status line '%s'", q);
	}
	return 0;
}

/* ---- the prober ---- */

static uint64_t probe_monotonic_us(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

struct cg_prober *cg_prober_new(struct cg_loop *loop, unsigned int max_inflight,
				cg_probe_clock clock, void *clock_arg)
{
	struct cg_prober *pr;

	if (!loop || !max_inflight || max_inflight > CG_PROBE_INFLIGHT_MAX) {
		errno = EINVAL;
		return NULL;
	}
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return NULL;
	pr->loop = loop;
	pr->max_inflight = max_inflight;
	pr->clock = clock ? clock : probe_monotonic_us;
	pr->clock_arg = clock_arg;
	pr->next_id = 1;
	return pr;
}

/* Take p off the loop and the list, close its fd, free it. Calls nothing. */
static void probe_release(struct probe *p)
{
	struct cg_prober *pr = p->pr;

	if (p->fd >= 0) {
		cg_loop_del(pr->loop, p->fd);
		close(p->fd);
	}
	if (p->timer > 0)
		cg_loop_timer_cancel(pr->loop, p->timer);
	if (p->prev)
		p->prev->next = p->next;
	else
		pr->probes = p->next;
	if (p->next)
		p->next->prev = p->prev;
	pr->inflight--;
	free(p);
}

void cg_prober_free(struct cg_prober *pr)
{
	if (!pr)
		return;
	while (pr->probes)
		probe_release(pr->probes);
	free(pr);
}

unsigned int cg_prober_inflight(const struct cg_prober *pr)
{
	return pr ? pr->inflight : 0;
}

int cg_probe_cancel(struct cg_prober *pr, int id)
{
	struct probe *p;

	if (!pr)
		return -ENOENT;
	for (p = pr->probes; p; p = p->next) {
		if (p->id == id) {
			probe_release(p);
			return 0;
		}
	}
	return -ENOENT;
}

/* Microseconds since p started on the prober's clock; 0 if that clock went back. */
static uint64_t probe_latency(const struct probe *p)
{
	uint64_t now = p->pr->clock(p->pr->clock_arg);

	return now > p->start_us ? now - p->start_us : 0;
}

/* Fill p->res with a failure (latency now) without reporting it. */
static __attribute__((format(printf, 3, 0))) void probe_set_failure(struct probe *p, int errnum,
								    const char *fmt, va_list ap)
{
	p->res.ok = false;
	p->res.errnum = errnum;
	p->res.latency_us = probe_latency(p);
	vsnprintf(p->res.err, sizeof(p->res.err), fmt, ap);
}

/* Release p, then report res: the callback may free the prober, so nothing touches it after. */
static void probe_report(struct probe *p, const struct cg_probe_result *res)
{
	struct cg_probe_result copy = *res;
	cg_probe_cb cb = p->cb;
	void *arg = p->arg;

	probe_release(p);
	cb(&copy, arg);
}

static __attribute__((format(printf, 3, 4))) void probe_fail(struct probe *p, int errnum,
							     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	probe_set_failure(p, errnum, fmt, ap);
	va_end(ap);
	probe_report(p, &p->res);
}

static void probe_ok(struct probe *p, uint16_t status)
{
	p->res.ok = true;
	p->res.errnum = 0;
	p->res.status = status;
	p->res.latency_us = probe_latency(p);
	p->res.err[0] = '\0';
	probe_report(p, &p->res);
}

static void probe_timeout(struct cg_loop *loop, void *arg)
{
	static const char *const what[] = {
		[PROBE_CONNECTING] = "connecting",
		[PROBE_SENDING] = "sending the request",
		[PROBE_READING] = "waiting for the status line",
		[PROBE_FAILED] = "failed",
	};
	struct probe *p = arg;

	p->timer = 0; /* gone once it fires */
	probe_fail(p, ETIMEDOUT, "timeout after %u ms (%s)", p->timeout_ms, what[p->stage]);
}

/* The 0 ms timer of a probe that failed in cg_probe_start(). */
static void probe_report_timer(struct cg_loop *loop, void *arg)
{
	struct probe *p = arg;

	p->timer = 0;
	probe_report(p, &p->res);
}

static void probe_read(struct probe *p)
{
	ssize_t n;
	int ret, errnum;
	uint16_t status;

	n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - p->len, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		errnum = errno;
		probe_fail(p, errnum, "http: recv: %s", strerror(errnum));
		return;
	}
	p->len += (size_t)n;
	ret = cg_probe_http_decide(p->buf, p->len, n == 0, p->expect, &status, &errnum, p->res.err,
				   sizeof(p->res.err));
	if (ret == -EAGAIN)
		return;
	if (ret == 1) {
		probe_ok(p, status);
		return;
	}
	p->res.ok = false;
	p->res.errnum = errnum;
	p->res.status = status;
	p->res.latency_us = probe_latency(p);
	probe_report(p, &p->res);
}

static void probe_send(struct probe *p)
{
	ssize_t n;
	int err;

	while (p->req_off < p->req_len) {
		n = send(p->fd, p->req + p->req_off, p->req_len - p->req_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return; /* the rest when EPOLLOUT says so */
			if (errno == EINTR)
				continue;
			err = errno;
			probe_fail(p, err, "http: send: %s", strerror(err));
			return;
		}
		p->req_off += (size_t)n;
	}
	p->stage = PROBE_READING;
	err = cg_loop_mod(p->pr->loop, p->fd, EPOLLIN);
	if (err)
		probe_fail(p, -err, "http: cannot watch the socket: %s", strerror(-err));
}

static void probe_io(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct probe *p = arg;
	socklen_t optlen;
	int err = 0;

	switch (p->stage) {
	case PROBE_CONNECTING:
		optlen = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &optlen) < 0)
			err = errno;
		if (!err && !(events & EPOLLOUT))
			err = ECONNRESET; /* hung up with no error to say why */
		if (err) {
			probe_fail(p, err, "connect: %s", strerror(err));
			return;
		}
		if (p->kind == CG_PROBE_TCP) {
			probe_ok(p, 0);
			return;
		}
		p->stage = PROBE_SENDING;
		probe_send(p);
		return;
	case PROBE_SENDING:
		probe_send(p);
		return;
	case PROBE_READING:
		probe_read(p);
		return;
	case PROBE_FAILED:
		return; /* has no fd */
	}
}

/* 0 if t is a target cg_probe_start() takes, else -EINVAL. */
static int probe_check(const struct cg_probe_target *t)
{
	size_t i, n;

	if (t->kind != CG_PROBE_TCP && t->kind != CG_PROBE_HTTP)
		return -EINVAL;
	if (t->addr.family != CG_AF_INET && t->addr.family != CG_AF_INET6)
		return -EINVAL;
	if (t->source.family && t->source.family != t->addr.family)
		return -EINVAL;
	if (!t->port || !t->timeout_ms || t->timeout_ms > CG_PROBE_TIMEOUT_MAX)
		return -EINVAL;
	if (t->kind == CG_PROBE_TCP)
		return 0;
	if (t->expect_status < 100 || t->expect_status > 599)
		return -EINVAL;
	n = strnlen(t->path, sizeof(t->path));
	if (n == sizeof(t->path) || t->path[0] != '/')
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (t->path[i] <= ' ' || t->path[i] >= 0x7f)
			return -EINVAL; /* no space, no control: nothing can end the request line */
	}
	return 0;
}

/* The socket address of a (network order) and port (host order); returns its length. */
static socklen_t probe_sockaddr(const struct cg_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == CG_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = a->a[0];
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a->a, sizeof(sin6->sin6_addr));
		return sizeof(*sin6);
	}
}

/* Write the HTTP request of t into p->req. */
static void probe_request(struct probe *p, const struct cg_probe_target *t)
{
	char host[INET6_ADDRSTRLEN + 2], port[8] = "";
	int n;

	if (t->addr.family == CG_AF_INET) {
		inet_ntop(AF_INET, t->addr.a, host, sizeof(host));
	} else {
		host[0] = '[';
		inet_ntop(AF_INET6, t->addr.a, host + 1, sizeof(host) - 2);
		strcat(host, "]");
	}
	if (t->port != 80)
		snprintf(port, sizeof(port), ":%u", t->port);
	n = snprintf(p->req, sizeof(p->req),
		     "GET %s HTTP/1.1\r\nHost: %s%s\r\nConnection: close\r\n"
		     "User-Agent: cellgate-probe\r\n\r\n",
		     t->path, host, port);
	/* CG_PROBE_PATH_MAX + the longest host and port fit PROBE_REQ_MAX */
	p->req_len = (size_t)n;
}

/* Record a failure found at the start, closing the fd, to be reported from the loop. */
static __attribute__((format(printf, 3, 4))) int probe_fail_later(struct probe *p, int errnum,
								  const char *fmt, ...)
{
	va_list ap;
	int id;

	va_start(ap, fmt);
	probe_set_failure(p, errnum, fmt, ap);
	va_end(ap);
	close(p->fd);
	p->fd = -1;
	cg_loop_timer_cancel(p->pr->loop, p->timer);
	p->timer = 0;
	id = cg_loop_timer(p->pr->loop, 0, probe_report_timer, p);
	if (id < 0)
		return id;
	p->timer = id;
	p->stage = PROBE_FAILED;
	return 0;
}

int cg_probe_start(struct cg_prober *pr, const struct cg_probe_target *t, cg_probe_cb cb, void *arg)
{
	struct linger nolinger = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_storage ss;
	struct probe *p = NULL;
	socklen_t sslen;
	int err, one = 1;

	if (!pr || !t || !cb)
		return -EINVAL;
	err = probe_check(t);
	if (err)
		return err;
	if (pr->inflight >= pr->max_inflight)
		return -EBUSY;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pr = pr;
	p->fd = -1;
	p->kind = t->kind;
	p->expect = t->expect_status;
	p->timeout_ms = t->timeout_ms;
	p->cb = cb;
	p->arg = arg;
	p->stage = PROBE_CONNECTING;
	/* before the timer is armed: a timeout's latency is never below the timeout */
	p->start_us = pr->clock(pr->clock_arg);
	if (t->kind == CG_PROBE_HTTP)
		probe_request(p, t);

	p->fd = socket(t->addr.family == CG_AF_INET ? AF_INET : AF_INET6,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (p->fd < 0) {
		err = -errno;
		goto out;
	}
	/* close with a reset: a probe leaves no TIME_WAIT socket behind (best effort) */
	setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &nolinger, sizeof(nolinger));
	if (t->source.family) {
		/* the port is picked at connect(), for the 4-tuple: bind() alone would hold one */
		setsockopt(p->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		sslen = probe_sockaddr(&t->source, 0, &ss);
		if (bind(p->fd, (struct sockaddr *)&ss, sslen) < 0) {
			err = -errno;
			goto out;
		}
	}
	p->timer = cg_loop_timer(pr->loop, t->timeout_ms, probe_timeout, p);
	if (p->timer < 0) {
		err = p->timer;
		p->timer = 0;
		goto out;
	}
	sslen = probe_sockaddr(&t->addr, t->port, &ss);
	if (connect(p->fd, (struct sockaddr *)&ss, sslen) == 0 || errno == EINPROGRESS) {
		/* connected at once too: EPOLLOUT comes at once, one path for both */
		err = cg_loop_add(pr->loop, p->fd, EPOLLOUT, probe_io, p);
	} else {
		err = errno;
		err = probe_fail_later(p, err, "connect: %s", strerror(err));
	}
	if (err)
		goto out;

	p->id = pr->next_id;
	pr->next_id = pr->next_id == INT_MAX ? 1 : pr->next_id + 1;
	p->next = pr->probes;
	if (p->next)
		p->next->prev = p;
	pr->probes = p;
	pr->inflight++;
	return p->id;
out:
	if (p->timer > 0)
		cg_loop_timer_cancel(pr->loop, p->timer);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
	return err;
}
