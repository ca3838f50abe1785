/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* labclient.c - the lab's client: many TCP connections or UDP flows, paced requests, who answered */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * labclient tcp|udp VIP PORT [options]
 *
 * Opens --conns TCP connections (or --flows UDP sockets, each connect()ed:
 * its own source port), then sends on each --requests requests, one every
 * --interval-ms: "req <conn> <i>" (a line for TCP, a datagram for UDP). The
 * answer must be "cell=<name> req <conn> <i>"; the cells that answered a
 * connection are noted in order, a change of cell being a "move". A request
 * unanswered within --timeout-ms fails (a late answer is ignored), a
 * connection that is reset or closed fails all its remaining requests, and
 * once --deadline-ms has passed since the start every unanswered request
 * fails, so ok + fail is always --requests per connection.
 *
 * With --stream the connections are a paced stream instead, as HTTP/1.0
 * clients make: connection i opens at start + i * --interval-ms, sends its
 * one request ("req <i> 0") as soon as it is connected and is closed once
 * answered. No request is retried by labclient: the kernel's own SYN
 * retransmissions are the only retries, and the request fails unless
 * answered within --timeout-ms of its connect() (the SYN), or at once on a
 * refusal or a reset. At most --conns connections, ok + fail is --conns,
 * and the "connected" line is not printed.
 *
 * Output (stdout, line-buffered):
 *   connected conns=<n> failed=<n>           once the connections are set up (not --stream)
 *   conn=<i> sport=<port> cells=<a>[,<b>...] ok=<n> fail=<n> reset=<0|1>
 *   total ok=<n> fail=<n> reset=<n> moved=<n>
 * SIGUSR1 prints the same lines prefixed with "status " while it runs;
 * SIGINT and SIGTERM stop it early (the rest fails). Exit 0 when nothing
 * failed, 1 otherwise, 2 on bad usage or a setup error.
 */

#define LC_MAX_CONNS 10000	/* connections or flows at most */
#define LC_CELLS_MAX 8		/* distinct cell changes remembered per connection */
#define LC_NAME_MAX 64		/* cell name length, NUL included */
#define LC_IN_MAX 1024		/* receive buffer per connection (answers are short) */
#define LC_REQ_MAX 48		/* one request: "req <conn> <i>\n" */

/* Where a connection is. */
enum lc_state {
	LC_CONNECTING,	/* TCP connect under way */
	LC_IDLE,	/* waiting for the time of the next request */
	LC_WAITING,	/* a request is out, its answer not in */
	LC_DONE,	/* all requests answered or failed */
};

/* One TCP connection or UDP flow. */
struct lc_conn {
	int fd;				/* socket, -1 once closed */
	enum lc_state state;		/* see enum lc_state */
	uint16_t sport;			/* local port, host order; 0 if never bound */
	int next;			/* index of the next request to send */
	int pending;			/* request awaiting its answer, -1 if none */
	int64_t send_at;		/* monotonic ms when request next is due */
	int64_t due;			/* monotonic ms when the pending request times out */
	int ok;				/* requests answered correctly */
	int fail;			/* requests failed */
	bool reset;			/* the connection was refused, reset or closed */
	int ncells;			/* entries in cells */
	bool more_cells;		/* more changes than cells holds */
	char cells[LC_CELLS_MAX][LC_NAME_MAX]; /* cells that answered, in order, each change once */
	size_t nin;			/* bytes in in */
	char in[LC_IN_MAX];		/* received bytes not yet consumed (TCP) */
	size_t nout;			/* request bytes not yet sent (TCP) */
	char out[LC_REQ_MAX];		/* those bytes */
};

/* Options and run-wide state. */
struct lc {
	bool tcp;			/* TCP (else UDP) */
	const char *vip;		/* destination address (text) */
	int port;			/* destination port */
	int nconns;			/* --conns / --flows */
	int requests;			/* --requests per connection */
	int interval_ms;		/* --interval-ms between requests of one connection */
	int timeout_ms;			/* --timeout-ms for one answer */
	int connect_timeout_ms;		/* --connect-timeout-ms for the TCP handshakes */
	int deadline_ms;		/* --deadline-ms cap on the whole run */
	bool stream;			/* --stream: one request a connection, paced opens */
	const char *src;		/* --src address to bind, or NULL */
	struct sockaddr_storage dst;	/* parsed vip:port */
	socklen_t dstlen;		/* its length */
	struct sockaddr_storage srcaddr; /* parsed src, port 0 */
	socklen_t srclen;		/* its length, 0 without --src */
	int64_t start;			/* monotonic ms at start */
	int64_t deadline;		/* start + deadline_ms */
	struct lc_conn *conns;		/* nconns entries */
	struct pollfd *pfds;		/* poll set, one per connection */
};

static volatile sig_atomic_t got_usr1; /* SIGUSR1 seen: print status */
static volatile sig_atomic_t got_stop; /* SIGINT or SIGTERM seen: stop */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: labclient tcp VIP PORT [--conns N] [options]\n"
		"       labclient udp VIP PORT [--flows N] [options]\n"
		"options: --requests M (1)  --interval-ms T (100)  --timeout-ms X (2000)\n"
		"         --connect-timeout-ms X (5000)  --deadline-ms X (30000)  --src ADDR\n"
		"         --stream (N one-request connections, one opened every T ms)\n");
}

static int parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_addr(const char *text, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

static int parse_args(struct lc *lc, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conns", required_argument, NULL, 'n' },
		{ "flows", required_argument, NULL, 'n' },
		{ "requests", required_argument, NULL, 'm' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "connect-timeout-ms", required_argument, NULL, 'c' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ "src", required_argument, NULL, 's' },
		{ "stream", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, bad = 0;

	lc->nconns = 1;
	lc->requests = 1;
	lc->interval_ms = 100;
	lc->timeout_ms = 2000;
	lc->connect_timeout_ms = 5000;
	lc->deadline_ms = 30000;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			bad |= parse_int(optarg, 1, LC_MAX_CONNS, &lc->nconns);
			break;
		case 'm':
			bad |= parse_int(optarg, 1, 10000000, &lc->requests);
			break;
		case 'i':
			bad |= parse_int(optarg, 0, 3600000, &lc->interval_ms);
			break;
		case 't':
			bad |= parse_int(optarg, 1, 3600000, &lc->timeout_ms);
			break;
		case 'c':
			bad |= parse_int(optarg, 1, 3600000, &lc->connect_timeout_ms);
			break;
		case 'd':
			bad |= parse_int(optarg, 1, 86400000, &lc->deadline_ms);
			break;
		case 's':
			lc->src = optarg;
			break;
		case 'S':
			lc->stream = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		if (bad) {
			fprintf(stderr, "labclient: bad value '%s'\n", optarg);
			return -1;
		}
	}
	if (lc->stream && lc->requests != 1) {
		fprintf(stderr, "labclient: --stream sends one request a connection (no --requests)\n");
		return -1;
	}
	/* GNU getopt has moved the positional arguments (before or after the options) last */
	if (argc - optind != 3) {
		usage(stderr);
		return -1;
	}
	if (!strcmp(argv[optind], "tcp")) {
		lc->tcp = true;
	} else if (strcmp(argv[optind], "udp")) {
		fprintf(stderr, "labclient: unknown mode '%s' (tcp or udp)\n", argv[optind]);
		return -1;
	}
	lc->vip = argv[optind + 1];
	if (parse_int(argv[optind + 2], 1, 65535, &lc->port) < 0) {
		fprintf(stderr, "labclient: bad port '%s'\n", argv[optind + 2]);
		return -1;
	}
	if (parse_addr(lc->vip, lc->port, &lc->dst, &lc->dstlen) < 0) {
		fprintf(stderr, "labclient: '%s' is not an IP address\n", lc->vip);
		return -1;
	}
	if (lc->src) {
		if (parse_addr(lc->src, 0, &lc->srcaddr, &lc->srclen) < 0) {
			fprintf(stderr, "labclient: '%s' is not an IP address\n", lc->src);
			return -1;
		}
		if (lc->srcaddr.ss_family != lc->dst.ss_family) {
			fprintf(stderr, "labclient: source '%s' and VIP '%s' differ in family\n",
				lc->src, lc->vip);
			return -1;
		}
	}
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* conn_finish_all - fail every request not yet answered or failed; the connection is done. */
static void conn_finish_all(struct lc *lc, struct lc_conn *c)
{
	c->fail += lc->requests - c->ok - c->fail;
	c->pending = -1;
	c->next = lc->requests;
	c->state = LC_DONE;
}

static void conn_reset(struct lc *lc, struct lc_conn *c)
{
	c->reset = true;
	conn_finish_all(lc, c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* conn_resolve - the pending request is answered (ok) or failed; schedule the next one. */
static void conn_resolve(struct lc *lc, struct lc_conn *c, bool ok, int64_t now)
{
	if (ok)
		c->ok++;
	else
		c->fail++;
	c->pending = -1;
	c->next++;
	if (c->next >= lc->requests) {
		c->state = LC_DONE;
		return;
	}
	c->state = LC_IDLE;
	c->send_at = lc->start + (int64_t)c->next * lc->interval_ms;
	if (c->send_at < now)
		c->send_at = now;
}

static void note_cell(struct lc_conn *c, const char *name, size_t len)
{
	if (len >= LC_NAME_MAX)
		len = LC_NAME_MAX - 1;
	if (c->ncells && strlen(c->cells[c->ncells - 1]) == len &&
	    !memcmp(c->cells[c->ncells - 1], name, len))
		return;
	if (c->ncells == LC_CELLS_MAX) {
		c->more_cells = true;
		return;
	}
	memcpy(c->cells[c->ncells], name, len);
	c->cells[c->ncells][len] = '\0';
	c->ncells++;
}

/*
 * conn_answer - judge one answer (len bytes, no newline) to connection i.
 * An answer to an earlier, already failed request is ignored.
 */
static void conn_answer(struct lc *lc, int i, const char *msg, size_t len, int64_t now)
{
	struct lc_conn *c = &lc->conns[i];
	char text[LC_IN_MAX + 1], *sp;
	int conn, req, used = 0;

	if (len > LC_IN_MAX)
		len = LC_IN_MAX;
	memcpy(text, msg, len);
	text[len] = '\0';
	if (strncmp(text, "cell=", 5) || !(sp = strchr(text + 5, ' ')) || sp == text + 5 ||
	    sscanf(sp + 1, "req %d %d%n", &conn, &req, &used) != 2 || sp[1 + used] || conn != i) {
		if (c->pending >= 0)
			conn_resolve(lc, c, false, now); /* garbage: the pending request fails */
		return;
	}
	if (req != c->pending)
		return; /* late answer to a request that timed out */
	note_cell(c, text + 5, sp - (text + 5));
	conn_resolve(lc, c, true, now);
}

/* open_conn - a non-blocking socket, bound to --src if given, connect started. */
static int open_conn(struct lc *lc, struct lc_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1;

	c->fd = socket(lc->dst.ss_family, (lc->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
		       SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (lc->tcp)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (lc->srclen && bind(c->fd, (struct sockaddr *)&lc->srcaddr, lc->srclen) < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&lc->dst, lc->dstlen) < 0 && errno != EINPROGRESS)
		return -errno;
	if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
		c->sport = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
							   ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static void print_results(const struct lc *lc, const char *prefix)
{
	int i, j, ok = 0, fail = 0, reset = 0, moved = 0;

	for (i = 0; i < lc->nconns; i++) {
		const struct lc_conn *c = &lc->conns[i];

		printf("%sconn=%d sport=%u cells=", prefix, i, c->sport);
		if (!c->ncells)
			printf("-");
		for (j = 0; j < c->ncells; j++)
			printf("%s%s", j ? "," : "", c->cells[j]);
		printf("%s ok=%d fail=%d reset=%d\n", c->more_cells ? ",..." : "", c->ok, c->fail,
		       c->reset);
		ok += c->ok;
		fail += c->fail;
		reset += c->reset;
		moved += c->ncells > 1;
	}
	printf("%stotal ok=%d fail=%d reset=%d moved=%d\n", prefix, ok, fail, reset, moved);
	fflush(stdout);
}

/* wait_events - ppoll until timeout_ms or a signal; SIGUSR1 is only delivered in here. */
static int wait_events(struct lc *lc, int64_t timeout_ms, const sigset_t *waitmask)
{
	struct timespec ts;
	int n;

	if (timeout_ms < 0)
		timeout_ms = 0;
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (timeout_ms % 1000) * 1000000;
	n = ppoll(lc->pfds, lc->nconns, &ts, waitmask);
	if (n < 0 && errno != EINTR) {
		fprintf(stderr, "labclient: ppoll: %s\n", strerror(errno));
		return -1;
	}
	if (got_usr1) {
		got_usr1 = 0;
		print_results(lc, "status ");
	}
	return 0;
}

/* connect_all - open every connection and wait for the TCP handshakes. */
static int connect_all(struct lc *lc, const sigset_t *waitmask)
{
	int64_t until = now_ms() + lc->connect_timeout_ms, now;
	int i, err, ok = 0, failed = 0, left = 0;
	socklen_t el = sizeof(err);

	if (until > lc->deadline)
		until = lc->deadline;
	for (i = 0; i < lc->nconns; i++) {
		struct lc_conn *c = &lc->conns[i];

		c->pending = -1;
		c->state = lc->tcp ? LC_CONNECTING : LC_IDLE;
		err = open_conn(lc, c);
		if (err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM) {
			fprintf(stderr, "labclient: cannot open connection %d: %s\n", i,
				strerror(-err));
			return -1;
		}
		if (err < 0) {
			fprintf(stderr, "labclient: conn %d: %s\n", i, strerror(-err));
			conn_reset(lc, c);
		}
		left += c->state == LC_CONNECTING;
	}
	while (left && !got_stop && (now = now_ms()) < until) {
		for (i = 0; i < lc->nconns; i++) {
			lc->pfds[i].fd = lc->conns[i].state == LC_CONNECTING ? lc->conns[i].fd : -1;
			lc->pfds[i].events = POLLOUT;
			lc->pfds[i].revents = 0;
		}
		if (wait_events(lc, until - now, waitmask) < 0)
			return -1;
		for (i = 0; i < lc->nconns; i++) {
			struct lc_conn *c = &lc->conns[i];

			if (c->state != LC_CONNECTING || !lc->pfds[i].revents)
				continue;
			left--;
			err = 0;
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
				err = errno;
			if (err) {
				fprintf(stderr, "labclient: conn %d: %s\n", i, strerror(err));
				conn_reset(lc, c);
			} else {
				c->state = LC_IDLE;
			}
		}
	}
	for (i = 0; i < lc->nconns; i++) {
		struct lc_conn *c = &lc->conns[i];

		if (c->state == LC_CONNECTING) {
			fprintf(stderr, "labclient: conn %d: connect timed out\n", i);
			conn_finish_all(lc, c); /* not a reset: nothing answered */
			close(c->fd);
			c->fd = -1;
		}
		if (c->state == LC_IDLE)
			ok++;
		else
			failed++;
	}
	printf("connected conns=%d failed=%d\n", ok, failed);
	fflush(stdout);
	return 0;
}

static void send_request(struct lc *lc, int i, int64_t now)
{
	struct lc_conn *c = &lc->conns[i];
	ssize_t n;
	int len;

	len = snprintf(c->out, sizeof(c->out), lc->tcp ? "req %d %d\n" : "req %d %d", i, c->next);
	c->nout = len;
	c->pending = c->next;
	c->due = now + lc->timeout_ms;
	c->state = LC_WAITING;
	n = send(c->fd, c->out, c->nout, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		n = 0;
	if (n < 0) {
		if (lc->tcp) {
			conn_reset(lc, c);
		} else {
			c->nout = 0;
			conn_resolve(lc, c, false, now); /* e.g. an ICMP error seen earlier */
		}
		return;
	}
	if (!lc->tcp) {
		c->nout = 0; /* a datagram that did not go counts as lost: the timeout says so */
		return;
	}
	c->nout -= n;
	memmove(c->out, c->out + n, c->nout);
}

static void flush_request(struct lc *lc, struct lc_conn *c)
{
	ssize_t n = send(c->fd, c->out, c->nout, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_reset(lc, c);
		return;
	}
	c->nout -= n;
	memmove(c->out, c->out + n, c->nout);
}

static void receive_tcp(struct lc *lc, int i, int64_t now)
{
	struct lc_conn *c = &lc->conns[i];
	size_t used = 0;
	ssize_t n;
	char *nl;

	n = recv(c->fd, c->in + c->nin, sizeof(c->in) - c->nin, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_reset(lc, c); /* reset, or closed by the server */
		return;
	}
	c->nin += n;
	while ((nl = memchr(c->in + used, '\n', c->nin - used))) {
		conn_answer(lc, i, c->in + used, nl - (c->in + used), now);
		used = nl + 1 - c->in;
	}
	memmove(c->in, c->in + used, c->nin - used);
	c->nin -= used;
	if (c->nin == sizeof(c->in)) {
		c->nin = 0; /* a line longer than any answer: garbage */
		if (c->pending >= 0)
			conn_resolve(lc, c, false, now);
	}
}

static void receive_udp(struct lc *lc, int i, int64_t now)
{
	struct lc_conn *c = &lc->conns[i];
	char buf[LC_IN_MAX];
	ssize_t n;

	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		/* an ICMP error (port or host unreachable) for the request: it failed */
		if (c->pending >= 0)
			conn_resolve(lc, c, false, now);
		return;
	}
	conn_answer(lc, i, buf, n, now);
}

/* run - send the requests on schedule and judge the answers until all are done or time is up. */
static int run(struct lc *lc, const sigset_t *waitmask)
{
	int64_t now, wake;
	int i, active;

	lc->start = now_ms();
	for (i = 0; i < lc->nconns; i++)
		lc->conns[i].send_at = lc->start;
	for (;;) {
		now = now_ms();
		if (got_stop || now >= lc->deadline)
			break;
		wake = lc->deadline;
		active = 0;
		for (i = 0; i < lc->nconns; i++) {
			struct lc_conn *c = &lc->conns[i];

			if (c->state == LC_IDLE && now >= c->send_at)
				send_request(lc, i, now);
			if (c->state == LC_WAITING && now >= c->due)
				conn_resolve(lc, c, false, now);
			if (c->state == LC_IDLE && now >= c->send_at)
				send_request(lc, i, now); /* the next one, due at once after a timeout */
			lc->pfds[i].fd = c->state == LC_DONE ? -1 : c->fd;
			lc->pfds[i].events = POLLIN | (c->nout ? POLLOUT : 0);
			lc->pfds[i].revents = 0;
			if (c->state == LC_IDLE && c->send_at < wake)
				wake = c->send_at;
			if (c->state == LC_WAITING && c->due < wake)
				wake = c->due;
			active += c->state != LC_DONE;
		}
		if (!active)
			break;
		if (wait_events(lc, wake - now, waitmask) < 0)
			return -1;
		now = now_ms();
		for (i = 0; i < lc->nconns; i++) {
			struct lc_conn *c = &lc->conns[i];

			if (!lc->pfds[i].revents || c->state == LC_DONE)
				continue;
			if (lc->pfds[i].revents & POLLOUT && c->nout)
				flush_request(lc, c);
			if (c->state == LC_DONE)
				continue;
			if (lc->pfds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
				if (lc->tcp)
					receive_tcp(lc, i, now);
				else
					receive_udp(lc, i, now);
			}
		}
	}
	if (got_stop || now_ms() >= lc->deadline)
		fprintf(stderr, "labclient: %s: unanswered requests fail\n",
			got_stop ? "stopped" : "deadline reached");
	for (i = 0; i < lc->nconns; i++)
		if (lc->conns[i].state != LC_DONE)
			conn_finish_all(lc, &lc->conns[i]);
	return 0;
}

/* stream_open - connection i of --stream: connect started, its request due within timeout_ms. */
static int stream_open(struct lc *lc, int i, int64_t now)
{
	struct lc_conn *c = &lc->conns[i];
	int err;

	c->pending = -1;
	c->state = lc->tcp ? LC_CONNECTING : LC_IDLE;
	err = open_conn(lc, c);
	if (err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM) {
		fprintf(stderr, "labclient: cannot open connection %d: %s\n", i, strerror(-err));
		return -1;
	}
	if (err < 0) {
		fprintf(stderr, "labclient: conn %d: %s\n", i, strerror(-err));
		conn_reset(lc, c);
		return 0;
	}
	if (c->state == LC_IDLE)
		send_request(lc, i, now);
	c->due = now + lc->timeout_ms; /* from the connect(): the SYN's retransmissions count */
	return 0;
}

/* stream_event - what poll saw on a --stream connection; a finished one is closed. */
static void stream_event(struct lc *lc, int i, short revents, int64_t now)
{
	struct lc_conn *c = &lc->conns[i];
	socklen_t el = sizeof(int);
	int64_t due = c->due;
	int err = 0;

	if (c->state == LC_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err) {
			conn_reset(lc, c); /* refused, or unreachable */
			return;
		}
		c->state = LC_IDLE;
		send_request(lc, i, now);
		c->due = due;
	} else {
		if (revents & POLLOUT && c->nout)
			flush_request(lc, c);
		if (c->state != LC_DONE && revents & (POLLIN | POLLERR | POLLHUP)) {
			if (lc->tcp)
				receive_tcp(lc, i, now);
			else
				receive_udp(lc, i, now);
		}
	}
	if (c->state == LC_DONE && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

/*
 * run_stream - --stream: open connection i at start + i * interval_ms, one
 * request on each, until all are answered or failed or time is up.
 */
static int run_stream(struct lc *lc, const sigset_t *waitmask)
{
	int64_t now, wake, at;
	int i, opened = 0, active;

	lc->start = now_ms();
	for (i = 0; i < lc->nconns; i++)
		lc->pfds[i].fd = -1;
	for (;;) {
		now = now_ms();
		if (got_stop || now >= lc->deadline)
			break;
		while (opened < lc->nconns &&
		       now >= lc->start + (int64_t)opened * lc->interval_ms) {
			if (stream_open(lc, opened, now) < 0)
				return -1;
			opened++;
		}
		at = lc->start + (int64_t)opened * lc->interval_ms;
		wake = opened < lc->nconns && at < lc->deadline ? at : lc->deadline;
		active = opened < lc->nconns;
		for (i = 0; i < opened; i++) {
			struct lc_conn *c = &lc->conns[i];

			if (c->state != LC_DONE && now >= c->due) {
				conn_resolve(lc, c, false, now); /* unanswered in time: failed */
				close(c->fd);
				c->fd = -1;
			}
			lc->pfds[i].fd = c->state == LC_DONE ? -1 : c->fd;
			lc->pfds[i].events = c->state == LC_CONNECTING ? POLLOUT :
					     POLLIN | (c->nout ? POLLOUT : 0);
			lc->pfds[i].revents = 0;
			if (c->state == LC_DONE)
				continue;
			active++;
			if (c->due < wake)
				wake = c->due;
		}
		if (!active)
			break;
		if (wait_events(lc, wake - now, waitmask) < 0)
			return -1;
		now = now_ms();
		for (i = 0; i < opened; i++)
			if (lc->pfds[i].revents && lc->conns[i].state != LC_DONE)
				stream_event(lc, i, lc->pfds[i].revents, now);
	}
	if (got_stop || now_ms() >= lc->deadline)
		fprintf(stderr, "labclient: %s: unanswered requests fail\n",
			got_stop ? "stopped" : "deadline reached");
	for (i = 0; i < lc->nconns; i++)
		if (lc->conns[i].state != LC_DONE)
			conn_finish_all(lc, &lc->conns[i]);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct lc lc = { 0 };
	sigset_t block, waitmask;
	int i, ret = 2, fail = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(&lc, argc, argv) < 0)
		return 2;
	raise_fd_limit();

	/* signals are blocked except inside ppoll(): none is lost between check and wait */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lc.conns = calloc(lc.nconns, sizeof(*lc.conns));
	lc.pfds = calloc(lc.nconns, sizeof(*lc.pfds));
	if (!lc.conns || !lc.pfds) {
		fprintf(stderr, "labclient: out of memory\n");
		goto out;
	}
	for (i = 0; i < lc.nconns; i++)
		lc.conns[i].fd = -1;
	lc.deadline = now_ms() + lc.deadline_ms;
	if (lc.stream ? run_stream(&lc, &waitmask) < 0 :
			(connect_all(&lc, &waitmask) < 0 || run(&lc, &waitmask) < 0))
		goto out;
	print_results(&lc, "");
	for (i = 0; i < lc.nconns; i++)
		fail += lc.conns[i].fail;
	ret = fail ? 1 : 0;
out:
	if (lc.conns)
		for (i = 0; i < lc.nconns; i++)
			if (lc.conns[i].fd >= 0)
				close(lc.conns[i].fd);
	free(lc.conns);
	free(lc.pfds);
	return ret;
}
