/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_probe.c - unit tests of the health prober: status-line parser, probes in a private netns */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cellgate/loop.h"
#include "cellgate/probe.h"
#include "testskip.h"

/* ---- the status line (pure) ---- */

/* One status-line case: the bytes, what the parser returns and reads. */
struct line_case {
	const char *in;      /* the answer's first bytes */
	int ret;             /* cg_probe_status_parse()'s return */
	int minor;           /* HTTP/1.minor when ret is 0 */
	int code;            /* status code when ret is 0 */
	size_t line_len;     /* line length with its LF when ret is 0 */
	const char *why;     /* the reason when ret < 0 and not -EAGAIN, NULL: not checked */
};

static const struct line_case line_cases[] = {
	{ "HTTP/1.1 200 OK\r\n", 0, 1, 200, 17, NULL },
	{ "HTTP/1.0 404 Not Found\r\n", 0, 0, 404, 24, NULL },
	{ "HTTP/1.1 100 Continue\r\n", 0, 1, 100, 23, NULL },
	{ "HTTP/1.1 599 x\r\n", 0, 1, 599, 16, NULL },
	{ "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 0, 1, 503, 34, NULL },
	{ "HTTP/1.1 204\r\n", 0, 1, 204, 14, NULL },
	{ "HTTP/1.1 200 OK\n", 0, 1, 200, 16, NULL },
	{ "HTTP/1.1 200 \r\n", 0, 1, 200, 15, NULL },
	{ "HTTP/1.1 200 all\tgood \xc3\xa9t\xc3\xa9\r\n", 0, 1, 200, 29, NULL },
	{ "HTTP/1.9 302 Found\r\n", 0, 9, 302, 20, NULL },

	{ "", -EAGAIN, 0, 0, 0, NULL },
	{ "H", -EAGAIN, 0, 0, 0, NULL },
	{ "HTTP/1.", -EAGAIN, 0, 0, 0, NULL },
	{ "HTTP/1.1 2", -EAGAIN, 0, 0, 0, NULL },
	{ "HTTP/1.1 200", -EAGAIN, 0, 0, 0, NULL },
	{ "HTTP/1.1 200 OK", -EAGAIN, 0, 0, 0, NULL },
	{ "HTTP/1.1 200 OK\r", -EAGAIN, 0, 0, 0, NULL },

	{ "HTTP/1.1 099 Low\r\n", -EBADMSG, 0, 0, 0, "http: status code 99 out of range 100..599" },
	{ "HTTP/1.1 600 High\r\n", -EBADMSG, 0, 0, 0, "http: status code 600 out of range 100..599" },
	{ "HTTP/1.1 000\r\n", -EBADMSG, 0, 0, 0, "http: status code 0 out of range 100..599" },
	{ "HTTP/1.1 999", -EBADMSG, 0, 0, 0, "http: status code 999 out of range 100..599" },
	{ "HTTP/1.1 20x OK\r\n", -EBADMSG, 0, 0, 0, "http: malformed status line 'HTTP/1.1 20x OK'" },
	{ "HTTP/1.1  200 OK\r\n", -EBADMSG, 0, 0, 0, "http: malformed status line 'HTTP/1.1  200 OK'" },
	{ "http/1.1 200 OK\r\n", -EBADMSG, 0, 0, 0, "http: malformed status line 'http/1.1 200 OK'" },
	{ "HTTP/1.1 200OK\r\n", -EBADMSG, 0, 0, 0, "http: malformed status line 'HTTP/1.1 200OK'" },
	{ "HTTP/1.1 20\r\n", -EBADMSG, 0, 0, 0, "http: malformed status line 'HTTP/1.1 20'" },
	{ "HTTP/1.1\r\n", -EBADMSG, 0, 0, 0, "http: malformed status line 'HTTP/1.1'" },
	{ "HTTP/11 200 OK\r\n", -EBADMSG, 0, 0, 0, "http: malformed status line 'HTTP/11 200 OK'" },
	{ "\r\n", -EBADMSG, 0, 0, 0, "http: malformed status line ''" },
	{ "\r\nHTTP/1.1 200 OK\r\n", -EBADMSG, 0, 0, 0, "http: malformed status line ''" },
	{ "<html>", -EBADMSG, 0, 0, 0, "http: malformed status line '<html>'" },
	{ "garbage", -EBADMSG, 0, 0, 0, "http: malformed status line 'garbage'" },
	{ "\x1b[2J", -EBADMSG, 0, 0, 0, "http: malformed status line '\\x1b[2J'" },
	{ "HTTP/1.1 200 O\x01K\r\n", -EBADMSG, 0, 0, 0,
	  "http: malformed status line 'HTTP/1.1 200 O\\x01K'" },
	{ "HTTP/1.1 200 OK\r\r\n", -EBADMSG, 0, 0, 0,
	  "http: malformed status line 'HTTP/1.1 200 OK\\x0d'" },
	{ "HTTP/1.1 2\xe2\x80\xae" "00 OK\r\n", -EBADMSG, 0, 0, 0,
	  "http: malformed status line 'HTTP/1.1 2\\u{202e}00 OK'" },
	{ "HTTP/1.1 200 'q'\x7f\r\n", -EBADMSG, 0, 0, 0,
	  "http: malformed status line 'HTTP/1.1 200 \\x27q\\x27\\x7f'" },
	{ "HTTP/1.1 200 \xe2\x80\xae" "evil\r\n", 0, 1, 200, 22, NULL }, /* obs-text, never shown */

	{ "HTTP/2 200\r\n", -EPROTONOSUPPORT, 0, 0, 0, "http: unsupported version in 'HTTP/2 200'" },
	{ "HTTP/2.0 200 OK\r\n", -EPROTONOSUPPORT, 0, 0, 0,
	  "http: unsupported version in 'HTTP/2.0 200 OK'" },
	{ "HTTP/0.9 200 OK\r\n", -EPROTONOSUPPORT, 0, 0, 0,
	  "http: unsupported version in 'HTTP/0.9 200 OK'" },
};

static void test_probe_status_parse_cases(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];
		struct cg_http_status st = { 0 };
		char why[CG_PROBE_ERR_MAX] = "";
		int ret;

		ret = cg_probe_status_parse(c->in, strlen(c->in), &st, why, sizeof(why));
		if (ret != c->ret || (c->why && strcmp(why, c->why)))
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, ret, why, c->ret,
				 c->why ? c->why : "");
		if (ret)
			continue;
		assert_int_equal(st.major, 1);
		assert_int_equal(st.minor, c->minor);
		assert_int_equal(st.code, c->code);
		assert_int_equal(st.line_len, c->line_len);
	}
}

static void test_probe_status_parse_every_code_100_to_599(void **state)
{
	struct cg_http_status st;
	char line[32];
	int code;

	for (code = 0; code <= 999; code++) {
		int ret;

		snprintf(line, sizeof(line), "HTTP/1.1 %03d Reason\r\n", code);
		ret = cg_probe_status_parse(line, strlen(line), &st, NULL, 0);
		if (code >= 100 && code <= 599) {
			assert_int_equal(ret, 0);
			assert_int_equal(st.code, code);
		} else {
			assert_int_equal(ret, -EBADMSG);
		}
	}
}

static void test_probe_status_parse_bounds_the_line(void **state)
{
	char buf[1024], why[CG_PROBE_ERR_MAX];
	struct cg_http_status st;

	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "HTTP/1.1 200 ", 13);
	/* no LF in the first CG_PROBE_LINE_MAX bytes: refused, whatever follows */
	assert_int_equal(cg_probe_status_parse(buf, CG_PROBE_LINE_MAX - 1, &st, why, sizeof(why)),
			 -EAGAIN);
	assert_int_equal(cg_probe_status_parse(buf, CG_PROBE_LINE_MAX, &st, why, sizeof(why)),
			 -EMSGSIZE);
	assert_string_equal(why, "http: status line longer than 256 bytes");
	buf[CG_PROBE_LINE_MAX] = '\n';
	assert_int_equal(cg_probe_status_parse(buf, sizeof(buf), &st, why, sizeof(why)), -EMSGSIZE);
	/* the longest line taken: CG_PROBE_LINE_MAX bytes with its CRLF */
	buf[CG_PROBE_LINE_MAX - 2] = '\r';
	buf[CG_PROBE_LINE_MAX - 1] = '\n';
	assert_int_equal(cg_probe_status_parse(buf, sizeof(buf), &st, why, sizeof(why)), 0);
	assert_int_equal(st.line_len, CG_PROBE_LINE_MAX);
	/* a long malformed line is quoted cut short */
	memcpy(buf, "HTTP/1.1 2x0 ", 13);
	assert_int_equal(cg_probe_status_parse(buf, sizeof(buf), &st, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "http: malformed status line "
				 "'HTTP/1.1 2x0 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
	/* a NUL is a byte like any other */
	assert_int_equal(cg_probe_status_parse("HTTP/1.1 200 \0\r\n", 16, &st, why, sizeof(why)),
			 -EBADMSG);
	assert_string_equal(why, "http: malformed status line 'HTTP/1.1 200 \\x00'");
}

static void test_probe_http_decide_cases(void **state)
{
	char err[CG_PROBE_ERR_MAX];
	uint16_t status;
	int errnum;

	assert_int_equal(cg_probe_http_decide("HTTP/1.1 200 OK\r\n", 17, false, 200, &status, &errnum,
					      err, sizeof(err)), 1);
	assert_int_equal(status, 200);
	assert_int_equal(errnum, 0);
	assert_string_equal(err, "");

	assert_int_equal(cg_probe_http_decide("HTTP/1.0 503 Busy\r\n", 19, true, 200, &status, &errnum,
					      err, sizeof(err)), 0);
	assert_int_equal(status, 503);
	assert_int_equal(errnum, EPROTO);
	assert_string_equal(err, "http status 503, expected 200");

	assert_int_equal(cg_probe_http_decide("HTTP/1.1 200 OK\r\n", 17, false, 204, &status, &errnum,
					      err, sizeof(err)), 0);
	assert_string_equal(err, "http status 200, expected 204");

	assert_int_equal(cg_probe_http_decide("HTTP/1.1 20", 11, false, 200, &status, &errnum, err,
					      sizeof(err)), -EAGAIN);
	assert_int_equal(cg_probe_http_decide("HTTP/1.1 20", 11, true, 200, &status, &errnum, err,
					      sizeof(err)), 0);
	assert_int_equal(status, 0);
	assert_int_equal(errnum, EBADMSG);
	assert_string_equal(err, "http: connection closed inside the status line 'HTTP/1.1 20'");

	assert_int_equal(cg_probe_http_decide("", 0, true, 200, &status, &errnum, err, sizeof(err)),
			 0);
	assert_string_equal(err, "http: connection closed before the status line");

	assert_int_equal(cg_probe_http_decide("SSH-2.0-OpenSSH\r\n", 17, false, 200, &status, &errnum,
					      err, sizeof(err)), 0);
	assert_int_equal(errnum, EBADMSG);
	assert_string_equal(err, "http: malformed status line 'SSH-2.0-OpenSSH'");
}

/* ---- probes in a private network namespace ---- */

#define WAIT_MS  5000 /* longest a test waits for results */
#define MAX_CONN 512  /* connections a test server holds */

/* What a test server does with a request. */
enum srv_mode {
	SRV_REPLY,  /* send the reply, then close */
	SRV_SILENT, /* read the request, answer nothing */
	SRV_CLOSE,  /* read the request, close without a word */
};

struct server;

/* One connection a test server accepted. */
struct conn {
	struct server *srv; /* owner */
	int fd;             /* -1 when closed */
	char req[1024];     /* the request so far */
	size_t len;         /* bytes in req */
};

/* A tiny server on the probes' loop. */
struct server {
	struct cg_loop *loop;          /* where it runs */
	int lfd;                       /* listening socket */
	uint16_t port;                 /* its port */
	enum srv_mode mode;            /* what it does */
	const char *reply;             /* SRV_REPLY: what it sends */
	size_t reply_len;              /* its length */
	struct conn conns[MAX_CONN];   /* accepted connections */
	int nconn;                     /* entries of conns used */
	int requests;                  /* whole requests received */
	char last_req[1024];           /* the last whole request, NUL-terminated */
	struct sockaddr_storage peer;  /* the last peer accepted */
};

/* A probe's outcome as its callback saw it. */
struct outcome {
	int calls;                   /* callbacks made */
	struct cg_probe_result res;  /* the last result */
	uint64_t at_ms;              /* cg_loop_now_ms() at the callback */
};

static struct {
	const char *skip; /* why the namespace tests skip, NULL if they run */
	char why[128];    /* its text */
	bool ipv6;        /* ::1 works in the namespace */
} ns;

static void conn_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	cg_loop_del(c->srv->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

static void conn_io(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	struct server *s = c->srv;
	ssize_t n;

	n = recv(fd, c->req + c->len, sizeof(c->req) - 1 - c->len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (!strstr(c->req, "\r\n\r\n"))
		return;
	s->requests++;
	memcpy(s->last_req, c->req, c->len + 1);
	switch (s->mode) {
	case SRV_REPLY:
		/* a probe gone already (cancelled, its prober freed) resets the connection */
		if (send(fd, s->reply, s->reply_len, MSG_NOSIGNAL) != (ssize_t)s->reply_len)
			assert_true(errno == EPIPE || errno == ECONNRESET);
		conn_close(c);
		break;
	case SRV_CLOSE:
		conn_close(c);
		break;
	case SRV_SILENT:
		cg_loop_mod(loop, fd, 0);
		break;
	}
}

static void server_accept(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct server *s = arg;
	socklen_t len = sizeof(s->peer);
	struct conn *c;
	int cfd;

	cfd = accept4(fd, (struct sockaddr *)&s->peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	assert_true(s->nconn < MAX_CONN);
	c = &s->conns[s->nconn++];
	c->srv = s;
	c->fd = cfd;
	c->len = 0;
	assert_int_equal(cg_loop_add(loop, cfd, EPOLLIN, conn_io, c), 0);
}

static struct sockaddr_storage sockaddr_of(int family, const char *addr, uint16_t port,
					   socklen_t *len)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		*len = sizeof(*sin6);
	}
	return ss;
}

/* A socket bound to addr, port 0, listening with backlog (< 0: not listening); sets *port. */
static int bound_socket(int family, const char *addr, int backlog, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	ss = sockaddr_of(family, addr, 0, &len);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	if (backlog >= 0)
		assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static struct server *server_new(struct cg_loop *loop, int family, enum srv_mode mode,
				 const char *reply, size_t reply_len)
{
	struct server *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->loop = loop;
	s->mode = mode;
	s->reply = reply;
	s->reply_len = reply_len;
	s->lfd = bound_socket(family, family == AF_INET ? "127.0.0.1" : "::1", SOMAXCONN,
			      &s->port);
	assert_int_equal(cg_loop_add(loop, s->lfd, EPOLLIN, server_accept, s), 0);
	return s;
}

static void server_free(struct server *s)
{
	int i;

	for (i = 0; i < s->nconn; i++)
		conn_close(&s->conns[i]);
	cg_loop_del(s->loop, s->lfd);
	close(s->lfd);
	free(s);
}

static void on_result(const struct cg_probe_result *res, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->res = *res;
	o->at_ms = cg_loop_now_ms();
}

static struct cg_addr addr_of(const char *text)
{
	struct cg_addr a = { 0 };

	if (inet_pton(AF_INET, text, a.a) == 1) {
		a.family = CG_AF_INET;
		return a;
	}
	assert_int_equal(inet_pton(AF_INET6, text, a.a), 1);
	a.family = CG_AF_INET6;
	return a;
}

static struct cg_probe_target tcp_target(const char *addr, uint16_t port, uint32_t timeout_ms)
{
	struct cg_probe_target t = { 0 };

	t.kind = CG_PROBE_TCP;
	t.addr = addr_of(addr);
	t.port = port;
	t.timeout_ms = timeout_ms;
	return t;
}

static struct cg_probe_target http_target(const char *addr, uint16_t port, const char *path,
					  uint16_t expect)
{
	struct cg_probe_target t = tcp_target(addr, port, 2000);

	t.kind = CG_PROBE_HTTP;
	t.expect_status = expect;
	snprintf(t.path, sizeof(t.path), "%s", path);
	return t;
}

/* Run the loop until *calls reaches want (or WAIT_MS pass). */
static void run_until(struct cg_loop *loop, const int *calls, int want)
{
	uint64_t end = cg_loop_now_ms() + WAIT_MS;

	while (*calls < want && cg_loop_now_ms() < end)
		assert_true(cg_loop_run_once(loop, 50) >= 0);
}

/* Run the loop for about ms milliseconds. */
static void run_for(struct cg_loop *loop, int ms)
{
	uint64_t end = cg_loop_now_ms() + (uint64_t)ms;

	while (cg_loop_now_ms() < end)
		assert_true(cg_loop_run_once(loop, 10) >= 0);
}

/* Open fds of this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

/* A loop and a prober for one test. */
struct fixture {
	struct cg_loop *loop;  /* the loop */
	struct cg_prober *pr;  /* a prober on it, up to 64 in flight */
	int fds;               /* fds open before the test made any */
};

static int fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->fds = count_fds();
	fx->loop = cg_loop_new();
	fx->pr = cg_prober_new(fx->loop, 64, NULL, NULL);
	if (!fx->loop || !fx->pr)
		return -1;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *fx = *state;

	cg_prober_free(fx->pr);
	cg_loop_free(fx->loop);
	free(fx);
	return 0;
}

static void skip_if_no_ns(void)
{
	cg_test_require(!ns.skip, "%s", ns.skip);
}

static void test_probe_tcp_connect_to_a_listener_succeeds(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	struct cg_probe_target t;
	struct server *s;
	int id;

	skip_if_no_ns();
	s = server_new(fx->loop, AF_INET, SRV_SILENT, NULL, 0);
	t = tcp_target("127.0.0.1", s->port, 2000);
	id = cg_probe_start(fx->pr, &t, on_result, &o);
	assert_true(id > 0);
	assert_int_equal(o.calls, 0); /* never from cg_probe_start() */
	assert_int_equal(cg_prober_inflight(fx->pr), 1);
	run_until(fx->loop, &o.calls, 1);
	assert_int_equal(o.calls, 1);
	assert_true(o.res.ok);
	assert_int_equal(o.res.errnum, 0);
	assert_string_equal(o.res.err, "");
	assert_int_equal(o.res.status, 0);
	assert_true(o.res.latency_us < 2000000);
	assert_int_equal(cg_prober_inflight(fx->pr), 0);
	assert_int_equal(cg_probe_cancel(fx->pr, id), -ENOENT);
	run_for(fx->loop, 50);
	assert_int_equal(o.calls, 1); /* exactly once */
	server_free(s);
	assert_int_equal(count_fds(), fx->fds + 1); /* the loop's epoll fd */
}

static void test_probe_tcp_to_a_closed_port_is_refused(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	struct cg_probe_target t;
	uint16_t port;
	int fd;

	skip_if_no_ns();
	fd = bound_socket(AF_INET, "127.0.0.1", -1, &port); /* holds the port, listens not */
	t = tcp_target("127.0.0.1", port, 2000);
	assert_true(cg_probe_start(fx->pr, &t, on_result, &o) > 0);
	assert_int_equal(o.calls, 0);
	run_until(fx->loop, &o.calls, 1);
	assert_int_equal(o.calls, 1);
	assert_false(o.res.ok);
	assert_int_equal(o.res.errnum, ECONNREFUSED);
	assert_string_equal(o.res.err, "connect: Connection refused");
	assert_int_equal(cg_prober_inflight(fx->pr), 0);
	close(fd);
	assert_int_equal(count_fds(), fx->fds + 1);
}

/*
 * A listener with backlog 0 holding one connection nobody accepts: its accept queue is full, so
 * the kernel drops every further SYN and a connect() to it hangs until the probe's timeout.
 */
static int full_listener(int family, const char *addr, uint16_t *port, int *filler)
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t len;
	int lfd, fd;

	lfd = bound_socket(family, addr, 0, port);
	ss = sockaddr_of(family, addr, *port, &len);
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	/* the filler is in the accept queue once the listener is readable */
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	*filler = fd;
	return lfd;
}

static void test_probe_tcp_timeout_on_a_full_accept_queue(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	struct cg_probe_target t;
	uint64_t start;
	uint16_t port;
	int lfd, filler;

	skip_if_no_ns();
	lfd = full_listener(AF_INET, "127.0.0.1", &port, &filler);
	t = tcp_target("127.0.0.1", port, 300);
	start = cg_loop_now_ms();
	assert_true(cg_probe_start(fx->pr, &t, on_result, &o) > 0);
	run_until(fx->loop, &o.calls, 1);
	assert_int_equal(o.calls, 1);
	assert_false(o.res.ok);
	assert_int_equal(o.res.errnum, ETIMEDOUT);
	assert_string_equal(o.res.err, "timeout after 300 ms (connecting)");
	assert_true(o.at_ms - start >= 300);
	assert_true(o.res.latency_us >= 300000);
	close(filler);
	close(lfd);
	assert_int_equal(count_fds(), fx->fds + 1);
}

/* Probe s over HTTP with expect; returns the outcome after the callback. */
static struct outcome http_probe(struct fixture *fx, struct server *s, const char *addr,
				 uint16_t expect)
{
	struct cg_probe_target t = http_target(addr, s->port, "/healthz", expect);
	struct outcome o = { 0 };

	assert_true(cg_probe_start(fx->pr, &t, on_result, &o) > 0);
	run_until(fx->loop, &o.calls, 1);
	assert_int_equal(o.calls, 1);
	assert_int_equal(cg_prober_inflight(fx->pr), 0);
	return o;
}

#define REPLY(s) s, sizeof(s) - 1

static void test_probe_http_200_expected_200_is_ok(void **state)
{
	struct fixture *fx = *state;
	char want[256];
	struct outcome o;
	struct server *s;

	skip_if_no_ns();
	s = server_new(fx->loop, AF_INET, SRV_REPLY,
		       REPLY("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
	o = http_probe(fx, s, "127.0.0.1", 200);
	assert_true(o.res.ok);
	assert_int_equal(o.res.status, 200);
	assert_string_equal(o.res.err, "");
	assert_int_equal(s->requests, 1);
	snprintf(want, sizeof(want),
		 "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n"
		 "User-Agent: cellgate-probe\r\n\r\n", s->port);
	assert_string_equal(s->last_req, want);
	server_free(s);
	assert_int_equal(count_fds(), fx->fds + 1);
}

static void test_probe_http_503_expected_200_fails_with_the_status(void **state)
{
	struct fixture *fx = *state;
	struct outcome o;
	struct server *s;

	skip_if_no_ns();
	s = server_new(fx->loop, AF_INET, SRV_REPLY,
		       REPLY("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"));
	o = http_probe(fx, s, "127.0.0.1", 200);
	assert_false(o.res.ok);
	assert_int_equal(o.res.status, 503);
	assert_int_equal(o.res.errnum, EPROTO);
	assert_string_equal(o.res.err, "http status 503, expected 200");
	server_free(s);
}

static void test_probe_http_garbage_fails_as_malformed_and_escaped(void **state)
{
	struct fixture *fx = *state;
	struct outcome o;
	struct server *s;

	skip_if_no_ns();
	s = server_new(fx->loop, AF_INET, SRV_REPLY, REPLY("\x1b]0;owned\x07 <html>\r\n"));
	o = http_probe(fx, s, "127.0.0.1", 200);
	assert_false(o.res.ok);
	assert_int_equal(o.res.errnum, EBADMSG);
	assert_string_equal(o.res.err, "http: malformed status line '\\x1b]0;owned\\x07 <html>'");
	server_free(s);
}

static void test_probe_http_huge_status_line_fails(void **state)
{
	struct fixture *fx = *state;
	static char huge[8192];
	struct outcome o;
	struct server *s;

	skip_if_no_ns();
	memset(huge, 'x', sizeof(huge));
	memcpy(huge, "HTTP/1.1 200 ", 13);
	s = server_new(fx->loop, AF_INET, SRV_REPLY, huge, sizeof(huge));
	o = http_probe(fx, s, "127.0.0.1", 200);
	assert_false(o.res.ok);
	assert_int_equal(o.res.errnum, EBADMSG);
	assert_string_equal(o.res.err, "http: status line longer than 256 bytes");
	server_free(s);
	assert_int_equal(count_fds(), fx->fds + 1);
}

static void test_probe_http_server_closing_early_fails(void **state)
{
	struct fixture *fx = *state;
	struct outcome o;
	struct server *s;

	skip_if_no_ns();
	s = server_new(fx->loop, AF_INET, SRV_CLOSE, NULL, 0);
	o = http_probe(fx, s, "127.0.0.1", 200);
	assert_false(o.res.ok);
	assert_int_equal(o.res.errnum, EBADMSG);
	assert_string_equal(o.res.err, "http: connection closed before the status line");
	server_free(s);

	s = server_new(fx->loop, AF_INET, SRV_REPLY, REPLY("HTTP/1.1 20"));
	o = http_probe(fx, s, "127.0.0.1", 200);
	assert_false(o.res.ok);
	assert_string_equal(o.res.err, "http: connection closed inside the status line 'HTTP/1.1 20'");
	server_free(s);
	assert_int_equal(count_fds(), fx->fds + 1);
}

static void test_probe_http_timeout_waiting_for_the_status_line(void **state)
{
	struct fixture *fx = *state;
	struct cg_probe_target t;
	struct outcome o = { 0 };
	struct server *s;
	uint64_t start;

	skip_if_no_ns();
	s = server_new(fx->loop, AF_INET, SRV_SILENT, NULL, 0);
	t = http_target("127.0.0.1", s->port, "/", 200);
	t.timeout_ms = 200;
	start = cg_loop_now_ms();
	assert_true(cg_probe_start(fx->pr, &t, on_result, &o) > 0);
	run_until(fx->loop, &o.calls, 1);
	assert_int_equal(o.calls, 1);
	assert_false(o.res.ok);
	assert_int_equal(o.res.errnum, ETIMEDOUT);
	assert_string_equal(o.res.err, "timeout after 200 ms (waiting for the status line)");
	assert_true(o.at_ms - start >= 200);
	assert_int_equal(s->requests, 1);
	server_free(s);
	assert_int_equal(count_fds(), fx->fds + 1);
}

static void test_probe_cancel_makes_no_callback_and_leaks_no_fd(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 }, refused = { 0 };
	struct cg_probe_target t;
	struct server *s;
	uint16_t port;
	int id, fd;

	skip_if_no_ns();
	s = server_new(fx->loop, AF_INET, SRV_SILENT, NULL, 0);
	t = http_target("127.0.0.1", s->port, "/", 200);
	id = cg_probe_start(fx->pr, &t, on_result, &o);
	assert_true(id > 0);
	/* in flight: connected, request sent, waiting for the answer */
	while (s->requests < 1)
		assert_true(cg_loop_run_once(fx->loop, 50) >= 0);
	assert_int_equal(count_fds(), fx->fds + 1 + 2 + 1); /* loop, listener and its conn, probe */
	assert_int_equal(cg_probe_cancel(fx->pr, id), 0);
	assert_int_equal(cg_probe_cancel(fx->pr, id), -ENOENT);
	assert_int_equal(cg_prober_inflight(fx->pr), 0);
	assert_int_equal(count_fds(), fx->fds + 1 + 2);

	/* a failure found at the start, cancelled before the loop reported it */
	fd = bound_socket(AF_INET, "127.0.0.1", -1, &port);
	t = tcp_target("127.0.0.1", port, 1000);
	id = cg_probe_start(fx->pr, &t, on_result, &refused);
	assert_true(id > 0);
	assert_int_equal(cg_probe_cancel(fx->pr, id), 0);
	close(fd);

	run_for(fx->loop, 300);
	assert_int_equal(o.calls, 0);
	assert_int_equal(refused.calls, 0);
	server_free(s);
	assert_int_equal(count_fds(), fx->fds + 1);
}

static void test_probe_free_with_probes_in_flight_is_safe(void **state)
{
	struct fixture *fx = *state;
	struct outcome o[3] = { 0 };
	struct cg_probe_target t;
	struct cg_prober *pr;
	struct server *s;
	uint16_t port, fport;
	int fd, lfd, filler;

	skip_if_no_ns();
	pr = cg_prober_new(fx->loop, 8, NULL, NULL);
	assert_non_null(pr);
	s = server_new(fx->loop, AF_INET, SRV_SILENT, NULL, 0);
	fd = bound_socket(AF_INET, "127.0.0.1", -1, &port);
	lfd = full_listener(AF_INET, "127.0.0.1", &fport, &filler);
	t = http_target("127.0.0.1", s->port, "/", 200);
	assert_true(cg_probe_start(pr, &t, on_result, &o[0]) > 0);
	t = tcp_target("127.0.0.1", fport, 1000);
	assert_true(cg_probe_start(pr, &t, on_result, &o[1]) > 0);
	while (s->requests < 1)
		assert_true(cg_loop_run_once(fx->loop, 50) >= 0);
	t = tcp_target("127.0.0.1", port, 1000); /* refused, to be reported by the loop */
	assert_true(cg_probe_start(pr, &t, on_result, &o[2]) > 0);
	assert_int_equal(cg_prober_inflight(pr), 3);
	cg_prober_free(pr); /* leak-checked under SAN=1 */
	run_for(fx->loop, 200);
	assert_int_equal(o[0].calls + o[1].calls + o[2].calls, 0);
	close(fd);
	close(filler);
	close(lfd);
	server_free(s);
	assert_int_equal(count_fds(), fx->fds + 1);
}

/* Callback that frees the prober arg points at while other probes are in flight. */
struct freeing {
	struct cg_prober *pr; /* freed at the first result */
	int calls;            /* results seen */
};

static void free_on_result(const struct cg_probe_result *res, void *arg)
{
	struct freeing *f = arg;

	f->calls++;
	cg_prober_free(f->pr);
	f->pr = NULL;
}

static void test_probe_callback_may_free_the_prober(void **state)
{
	struct fixture *fx = *state;
	struct freeing f = { 0 };
	struct cg_probe_target t;
	struct server *s;
	int i;

	skip_if_no_ns();
	f.pr = cg_prober_new(fx->loop, 8, NULL, NULL);
	assert_non_null(f.pr);
	s = server_new(fx->loop, AF_INET, SRV_REPLY, REPLY("HTTP/1.1 200 OK\r\n\r\n"));
	t = http_target("127.0.0.1", s->port, "/", 200);
	for (i = 0; i < 4; i++)
		assert_true(cg_probe_start(f.pr, &t, free_on_result, &f) > 0);
	run_until(fx->loop, &f.calls, 1);
	run_for(fx->loop, 100);
	assert_int_equal(f.calls, 1); /* the others went with the prober */
	server_free(s);
	assert_int_equal(count_fds(), fx->fds + 1);
}

#define MANY 48

static void test_probe_many_in_flight_each_reported_once(void **state)
{
	struct fixture *fx = *state;
	static struct outcome o[MANY];
	struct cg_probe_target t;
	struct server *s;
	int i, total = 0, ok = 0;

	skip_if_no_ns();
	memset(o, 0, sizeof(o));
	s = server_new(fx->loop, AF_INET, SRV_REPLY, REPLY("HTTP/1.0 204 No Content\r\n\r\n"));
	for (i = 0; i < MANY; i++) {
		t = i % 2 ? http_target("127.0.0.1", s->port, "/", 204)
			  : tcp_target("127.0.0.1", s->port, 2000);
		assert_true(cg_probe_start(fx->pr, &t, on_result, &o[i]) > 0);
	}
	assert_int_equal(cg_prober_inflight(fx->pr), MANY);
	for (i = 0; i < MANY; i++) {
		run_until(fx->loop, &o[i].calls, 1);
	}
	run_for(fx->loop, 50);
	for (i = 0; i < MANY; i++) {
		assert_int_equal(o[i].calls, 1);
		total += o[i].calls;
		ok += o[i].res.ok;
		if (i % 2)
			assert_int_equal(o[i].res.status, 204);
	}
	assert_int_equal(total, MANY);
	assert_int_equal(ok, MANY);
	assert_int_equal(s->requests, MANY / 2);
	assert_int_equal(cg_prober_inflight(fx->pr), 0);
	server_free(s);
	assert_int_equal(count_fds(), fx->fds + 1);
}

static void test_probe_inflight_limit_refuses_with_ebusy(void **state)
{
	struct fixture *fx = *state;
	struct outcome o[4] = { 0 };
	struct cg_probe_target t;
	struct cg_prober *pr;
	struct server *s;
	int ids[3], i, fds;

	skip_if_no_ns();
	pr = cg_prober_new(fx->loop, 3, NULL, NULL);
	assert_non_null(pr);
	s = server_new(fx->loop, AF_INET, SRV_SILENT, NULL, 0);
	t = http_target("127.0.0.1", s->port, "/", 200);
	for (i = 0; i < 3; i++) {
		ids[i] = cg_probe_start(pr, &t, on_result, &o[i]);
		assert_true(ids[i] > 0);
	}
	fds = count_fds();
	assert_int_equal(cg_probe_start(pr, &t, on_result, &o[3]), -EBUSY);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(cg_prober_inflight(pr), 3);
	assert_int_equal(cg_probe_cancel(pr, ids[1]), 0);
	ids[1] = cg_probe_start(pr, &t, on_result, &o[3]);
	assert_true(ids[1] > 0);
	assert_true(ids[1] != ids[0] && ids[1] != ids[2]);
	assert_int_equal(cg_probe_start(pr, &t, on_result, &o[3]), -EBUSY);
	cg_prober_free(pr);
	server_free(s);
	for (i = 0; i < 4; i++)
		assert_int_equal(o[i].calls, 0);
	assert_int_equal(count_fds(), fx->fds + 1);
}

static void test_probe_ipv6_tcp_http_refused_and_timeout(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	struct cg_probe_target t;
	struct server *s;
	char want[256];
	uint16_t port;
	int fd, lfd, filler;

	skip_if_no_ns();
	cg_test_require(ns.ipv6, "no IPv6 on lo in the namespace");
	s = server_new(fx->loop, AF_INET6, SRV_REPLY, REPLY("HTTP/1.1 200 OK\r\n\r\n"));
	t = tcp_target("::1", s->port, 2000);
	assert_true(cg_probe_start(fx->pr, &t, on_result, &o) > 0);
	run_until(fx->loop, &o.calls, 1);
	assert_true(o.res.ok);

	o = http_probe(fx, s, "::1", 200);
	assert_true(o.res.ok);
	assert_int_equal(o.res.status, 200);
	snprintf(want, sizeof(want),
		 "GET /healthz HTTP/1.1\r\nHost: [::1]:%u\r\nConnection: close\r\n"
		 "User-Agent: cellgate-probe\r\n\r\n", s->port);
	assert_string_equal(s->last_req, want);
	server_free(s);

	fd = bound_socket(AF_INET6, "::1", -1, &port);
	t = tcp_target("::1", port, 2000);
	memset(&o, 0, sizeof(o));
	assert_true(cg_probe_start(fx->pr, &t, on_result, &o) > 0);
	run_until(fx->loop, &o.calls, 1);
	assert_false(o.res.ok);
	assert_string_equal(o.res.err, "connect: Connection refused");
	close(fd);

	lfd = full_listener(AF_INET6, "::1", &port, &filler);
	t = tcp_target("::1", port, 200);
	memset(&o, 0, sizeof(o));
	assert_true(cg_probe_start(fx->pr, &t, on_result, &o) > 0);
	run_until(fx->loop, &o.calls, 1);
	assert_int_equal(o.res.errnum, ETIMEDOUT);
	assert_true(o.res.latency_us >= 200000);
	close(filler);
	close(lfd);
	assert_int_equal(count_fds(), fx->fds + 1);
}

static void test_probe_leaves_from_the_source_address(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in *peer;
	struct outcome o = { 0 };
	struct cg_probe_target t;
	struct server *s;
	char text[INET_ADDRSTRLEN];

	skip_if_no_ns();
	s = server_new(fx->loop, AF_INET, SRV_REPLY, REPLY("HTTP/1.1 200 OK\r\n\r\n"));
	t = http_target("127.0.0.1", s->port, "/", 200);
	t.source = addr_of("127.0.0.2"); /* all of 127/8 is local on lo */
	assert_true(cg_probe_start(fx->pr, &t, on_result, &o) > 0);
	run_until(fx->loop, &o.calls, 1);
	assert_true(o.res.ok);
	peer = (struct sockaddr_in *)&s->peer;
	assert_non_null(inet_ntop(AF_INET, &peer->sin_addr, text, sizeof(text)));
	assert_string_equal(text, "127.0.0.2");

	/* an address this host does not have: refused at the start, nothing left open */
	t.source = addr_of("192.0.2.1");
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EADDRNOTAVAIL);
	assert_int_equal(cg_prober_inflight(fx->pr), 0);
	server_free(s);
	assert_int_equal(o.calls, 1);
	assert_int_equal(count_fds(), fx->fds + 1);
}

/* A clock the test moves by hand. */
static uint64_t hand_clock(void *arg)
{
	return *(uint64_t *)arg;
}

static void test_probe_latency_comes_from_the_given_clock(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	struct cg_probe_target t;
	struct cg_prober *pr;
	struct server *s;
	uint64_t now = 5000;

	skip_if_no_ns();
	pr = cg_prober_new(fx->loop, 4, hand_clock, &now);
	assert_non_null(pr);
	s = server_new(fx->loop, AF_INET, SRV_REPLY, REPLY("HTTP/1.1 200 OK\r\n\r\n"));
	t = http_target("127.0.0.1", s->port, "/", 200);
	assert_true(cg_probe_start(pr, &t, on_result, &o) > 0);
	now = 12345;
	run_until(fx->loop, &o.calls, 1);
	assert_true(o.res.ok);
	assert_int_equal(o.res.latency_us, 12345 - 5000);
	cg_prober_free(pr);
	server_free(s);
}

static void test_probe_start_refuses_bad_targets(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	struct cg_probe_target good = http_target("127.0.0.1", 80, "/healthz", 200), t;

	assert_null(cg_prober_new(fx->loop, 0, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(cg_prober_new(fx->loop, CG_PROBE_INFLIGHT_MAX + 1, NULL, NULL));
	assert_null(cg_prober_new(NULL, 4, NULL, NULL));

	assert_int_equal(cg_probe_start(fx->pr, NULL, on_result, &o), -EINVAL);
	assert_int_equal(cg_probe_start(fx->pr, &good, NULL, &o), -EINVAL);
	t = good, t.kind = 7;
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, t.kind = CG_PROBE_OFF;
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, t.addr.family = 0;
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, t.port = 0;
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, t.timeout_ms = 0;
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, t.timeout_ms = CG_PROBE_TIMEOUT_MAX + 1;
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, t.source = addr_of("::1"); /* another family */
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, t.expect_status = 99;
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, t.expect_status = 600;
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, strcpy(t.path, "healthz");
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, strcpy(t.path, "");
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, strcpy(t.path, "/a b");
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, strcpy(t.path, "/x HTTP/1.1\r\nHost: evil");
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, strcpy(t.path, "/\xc3\xa9");
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	t = good, memset(t.path, '/', sizeof(t.path)); /* no NUL */
	assert_int_equal(cg_probe_start(fx->pr, &t, on_result, &o), -EINVAL);
	assert_int_equal(cg_prober_inflight(fx->pr), 0);
	assert_int_equal(o.calls, 0);
	assert_int_equal(count_fds(), fx->fds + 1);
}

/* A private network namespace with lo up; fills ns.skip when there cannot be one. */
static void ns_enter(void)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in6 six = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd;

	ns.skip = ns.why;
	if (geteuid() != 0) {
		snprintf(ns.why, sizeof(ns.why), "needs root (a private network namespace)");
		return;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(ns.why, sizeof(ns.why), "cannot unshare the network namespace: %s",
			 strerror(errno));
		return;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)) {
		snprintf(ns.why, sizeof(ns.why), "cannot bring lo up: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ns.ipv6 = fd >= 0 && bind(fd, (struct sockaddr *)&six, sizeof(six)) == 0;
	if (fd >= 0)
		close(fd);
	ns.skip = NULL;
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_probe_status_parse_cases),
		cmocka_unit_test(test_probe_status_parse_every_code_100_to_599),
		cmocka_unit_test(test_probe_status_parse_bounds_the_line),
		cmocka_unit_test(test_probe_http_decide_cases),
	};
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
	const struct CMUnitTest net[] = {
		T(test_probe_start_refuses_bad_targets),
		T(test_probe_tcp_connect_to_a_listener_succeeds),
		T(test_probe_tcp_to_a_closed_port_is_refused),
		T(test_probe_tcp_timeout_on_a_full_accept_queue),
		T(test_probe_http_200_expected_200_is_ok),
		T(test_probe_http_503_expected_200_fails_with_the_status),
		T(test_probe_http_garbage_fails_as_malformed_and_escaped),
		T(test_probe_http_huge_status_line_fails),
		T(test_probe_http_server_closing_early_fails),
		T(test_probe_http_timeout_waiting_for_the_status_line),
		T(test_probe_cancel_makes_no_callback_and_leaks_no_fd),
		T(test_probe_free_with_probes_in_flight_is_safe),
		T(test_probe_callback_may_free_the_prober),
		T(test_probe_many_in_flight_each_reported_once),
		T(test_probe_inflight_limit_refuses_with_ebusy),
		T(test_probe_ipv6_tcp_http_refused_and_timeout),
		T(test_probe_leaves_from_the_source_address),
		T(test_probe_latency_comes_from_the_given_clock),
	};
#undef T
	int failed;

	failed = cmocka_run_group_tests(pure, NULL, NULL);
	ns_enter();
	failed += cmocka_run_group_tests(net, NULL, NULL);
	return failed;
}
