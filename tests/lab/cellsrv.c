/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellsrv.c - the lab's cell server: answers TCP lines and UDP datagrams as one named cell */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cellgate/report.h"

/*
 * One process, one epoll loop. TCP: every line received ("...\n") is
 * answered with "cell=<name> <line>\n" on the same connection, which stays
 * open for as many requests as the client sends. UDP: every datagram is
 * answered with "cell=<name> <payload>" from the address it was sent to
 * (IP_PKTINFO), so a wildcard bind answers from the VIP too. SIGTERM and
 * SIGINT end it cleanly, SIGUSR1 prints the counters, both to stderr.
 * A TCP line "GET <path> HTTP/1.x" is answered "HTTP/1.1 200 OK" (what a
 * health probe asks for). SIGUSR2 toggles sickness: the TCP listeners of the
 * --gateway addresses (bound like --bind) are closed, so probes to the
 * gateway are refused while the VIP keeps serving, and opened again.
 *
 * A capacity, for the backpressure loop: with --service-ms MS each TCP
 * request (not a GET) is served by one of --workers N workers for MS ms
 * before its answer is sent; requests wait in arrival order while every
 * worker is busy, so past N / MS requests a millisecond the queue and the
 * answers' delay grow as a real server's would. With --report ADDR:PORT it
 * sends cellgated a cell load report (docs/protocol.md, "Cell load
 * reports") every --report-ms: --report-cell ID, requests in flight (queued
 * or served), the workers as capacity, the share of workers busy, and the
 * queue delay a request arriving now would see; signed with --report-key
 * FILE (64 hex digits) when given, sent from --report-from ADDR if given.
 * A GET is answered at once whatever the queue: health is not load.
 */

#define SRV_MAX_BINDS 16	 /* --bind addresses accepted */
#define SRV_NAME_MAX 64		 /* cell name length, NUL included */
#define SRV_LINE_MAX 4096	 /* longest TCP request line; longer ones close the connection */
#define SRV_OUT_MAX (64 * 1024)	 /* pending reply bytes per connection before reading stops */
#define SRV_DGRAM_MAX 65536	 /* largest UDP datagram */
#define SRV_EVENTS 64		 /* epoll events taken per iteration */
#define SRV_FD_RESERVE 16	 /* fds kept free of connections: listeners, epoll, stdio */
#define SRV_WORKERS_MAX 4096	 /* --workers at most */
#define SRV_JOBS_MAX 65536	 /* requests queued or in service at once; more close their connection */

/* What an epoll cookie points to: the first member of every watched object. */
enum srv_kind {
	SRV_SIGNAL,	/* the signalfd */
	SRV_LISTEN,	/* a TCP listener */
	SRV_UDP,	/* a UDP socket */
	SRV_CONN,	/* an accepted TCP connection */
};

/* A listener, UDP socket or the signalfd. */
struct srv_sock {
	enum srv_kind kind;	/* SRV_SIGNAL, SRV_LISTEN or SRV_UDP */
	int fd;			/* the socket */
	int family;		/* AF_INET or AF_INET6 */
	bool paused;		/* listener taken off epoll: out of fds */
	bool gateway;		/* a --gateway TCP listener: closed while sick */
	const char *addr;	/* the address it is bound to (text) */
};

/* One accepted TCP connection. */
struct srv_conn {
	enum srv_kind kind;	/* SRV_CONN */
	int fd;			/* the socket; -1 once closed with jobs still queued */
	size_t jobs;		/* its requests queued or in service */
	uint32_t events;	/* events registered with epoll */
	size_t nin;		/* bytes in in[] */
	char *out;		/* pending reply bytes (malloc'd, NULL when none yet) */
	size_t nout;		/* bytes in out */
	size_t outcap;		/* size of out */
	char in[SRV_LINE_MAX];	/* received bytes not yet answered */
};

/* A request being served (--service-ms): answered at due. */
struct srv_job {
	struct srv_conn *conn;	/* whose request; freed when closed and its last job is done */
	int64_t due;		/* monotonic ms when the answer goes out */
	size_t len;		/* bytes of line */
	char *line;		/* the request line, without its end (malloc'd) */
};

/* The server: options, sockets and counters. */
struct srv {
	char name[SRV_NAME_MAX];		/* the cell answered as */
	size_t namelen;				/* strlen(name) */
	int tcp_port;				/* 0: no TCP */
	int udp_port;				/* 0: no UDP */
	const char *binds[SRV_MAX_BINDS];	/* addresses to bind (text) */
	int nbinds;				/* entries in binds */
	bool gw[SRV_MAX_BINDS];			/* binds[i] came from --gateway */
	bool sick;				/* SIGUSR2: gateway listeners closed */
	int epfd;				/* the epoll instance */
	struct srv_sock sig;			/* the signalfd */
	struct srv_sock socks[2 * SRV_MAX_BINDS + 2]; /* listeners and UDP sockets */
	int nsocks;				/* entries in socks */
	long max_conns;				/* connections allowed at once (fd limit) */
	long nconns;				/* connections open now */
	unsigned long long accepted;		/* TCP connections accepted */
	unsigned long long tcp_requests;	/* TCP lines answered */
	unsigned long long udp_requests;	/* UDP datagrams answered */
	unsigned long long errors;		/* failed sends, receives and accepts */
	bool stop;				/* SIGTERM or SIGINT seen */
	int service_ms;				/* a request's service time; 0: answered at once */
	int workers;				/* requests served at once (--workers) */
	int64_t free_at[SRV_WORKERS_MAX];	/* monotonic ms each worker is free again */
	struct srv_job *jobs;			/* ring of SRV_JOBS_MAX, in due order */
	size_t job_head, njobs;			/* first job, jobs in the ring */
	const char *report_to;			/* ADDR:PORT of the reports; NULL: none */
	const char *report_from;		/* source address of the reports; NULL: any */
	const char *report_key;			/* key file; NULL: unsigned */
	uint8_t key[CG_REPORT_KEY];		/* the key read from it */
	long report_cell;			/* the cell id in the reports; -1 if not given */
	int report_ms;				/* between two reports */
	int report_fd;				/* connected UDP socket, -1 if none */
	uint64_t report_seq;			/* the last report's sequence number */
	int64_t report_at;			/* monotonic ms of the next report */
	unsigned long long reports;		/* reports sent */
};

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t unix_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cellsrv --name CELL [--tcp PORT] [--udp PORT] [--bind ADDR]... [--gateway ADDR]...\n"
		   "               [--service-ms MS [--workers N]]\n"
		   "               [--report ADDR:PORT --report-cell ID [--report-ms MS] [--report-from ADDR]\n"
		   "                [--report-key FILE]]\n"
		   "  answers each TCP line and UDP datagram with 'cell=CELL <request>';\n"
		   "  without --bind listens on 0.0.0.0 and ::\n");
}

static int parse_port(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

static int ep_add(struct srv *s, int fd, uint32_t events, void *cookie)
{
	struct epoll_event ev = { .events = events, .data.ptr = cookie };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int ep_mod(struct srv *s, int fd, uint32_t events, void *cookie)
{
	struct epoll_event ev = { .events = events, .data.ptr = cookie };

	return epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

/* Text address to sockaddr; returns the family or -1. */
static int parse_addr(const char *text, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return AF_INET6;
	}
	return -1;
}

/* open_sock - a bound (and for TCP listening) non-blocking socket on text:port, or -1. */
static int open_sock(const char *text, int port, int type, int *family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	*family = parse_addr(text, port, &ss, &len);
	if (*family < 0) {
		fprintf(stderr, "cellsrv: '%s' is not an IP address\n", text);
		return -1;
	}
	fd = socket(*family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (*family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (type == SOCK_DGRAM) {
		/* learn each datagram's destination, to answer from it */
		if (*family == AF_INET && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
			goto fail;
		if (*family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 4096) < 0)
		goto fail;
	return fd;
fail:
	fprintf(stderr, "cellsrv: cannot listen on %s %s port %d: %s\n",
		type == SOCK_STREAM ? "tcp" : "udp", text, port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int srv_open(struct srv *s)
{
	static const char *const wildcard[] = { "0.0.0.0", "::" };
	const char *const *addrs = s->binds;
	int naddrs = s->nbinds, i, fd, family;
	struct srv_sock *k;

	if (!naddrs) {
		addrs = wildcard;
		naddrs = 2;
	}
	for (i = 0; i < naddrs; i++) {
		if (s->tcp_port) {
			fd = open_sock(addrs[i], s->tcp_port, SOCK_STREAM, &family);
			if (fd < 0)
				return -1;
			k = &s->socks[s->nsocks++];
			*k = (struct srv_sock){ .kind = SRV_LISTEN,
						.fd = fd,
						.family = family,
						.gateway = addrs == s->binds && s->gw[i],
						.addr = addrs[i] };
			if (ep_add(s, fd, EPOLLIN, k) < 0)
				return -1;
			fprintf(stderr, "cellsrv: %s: listening on tcp %s port %d\n", s->name, addrs[i],
				s->tcp_port);
		}
		if (s->udp_port) {
			fd = open_sock(addrs[i], s->udp_port, SOCK_DGRAM, &family);
			if (fd < 0)
				return -1;
			k = &s->socks[s->nsocks++];
			*k = (struct srv_sock){ .kind = SRV_UDP, .fd = fd, .family = family };
			if (ep_add(s, fd, EPOLLIN, k) < 0)
				return -1;
			fprintf(stderr, "cellsrv: %s: listening on udp %s port %d\n", s->name, addrs[i],
				s->udp_port);
		}
	}
	return 0;
}

static void print_counters(const struct srv *s, const char *when)
{
	fprintf(stderr,
		"cellsrv: %s: %s: connections=%llu open=%ld tcp_requests=%llu udp_requests=%llu "
		"queued=%zu reports=%llu errors=%llu\n",
		s->name, when, s->accepted, s->nconns, s->tcp_requests, s->udp_requests, s->njobs,
		s->reports, s->errors);
}

static void listeners_pause(struct srv *s, bool pause)
{
	int i;

	for (i = 0; i < s->nsocks; i++) {
		struct srv_sock *k = &s->socks[i];

		if (k->kind != SRV_LISTEN || k->paused == pause)
			continue;
		if (pause)
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, k->fd, NULL);
		else
			ep_add(s, k->fd, EPOLLIN, k);
		k->paused = pause;
	}
}

static void conn_close(struct srv *s, struct srv_conn *c)
{
	close(c->fd); /* also removes it from epoll */
	c->fd = -1;
	if (--s->nconns < s->max_conns)
		listeners_pause(s, false); /* no-op unless paused */
	if (c->jobs)
		return; /* freed with its last job */
	free(c->out);
	free(c);
}

/* conn_flush - send what is pending. Returns 0, or -1 if the connection failed. */
static int conn_flush(struct srv *s, struct srv_conn *c)
{
	ssize_t n;

	while (c->nout) {
		n = send(c->fd, c->out, c->nout, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno != ECONNRESET && errno != EPIPE)
				s->errors++;
			return -1;
		}
		c->nout -= n;
		memmove(c->out, c->out + n, c->nout);
	}
	return 0;
}

/* out_room - make room for need more bytes in c->out. false if the client is not reading. */
static bool out_room(struct srv_conn *c, size_t need)
{
	size_t cap = c->outcap ? c->outcap : 4096;
	char *p;

	if (c->nout + need <= c->outcap)
		return true;
	while (cap < c->nout + need)
		cap *= 2;
	if (cap > SRV_OUT_MAX)
		return false;
	p = realloc(c->out, cap);
	if (!p)
		return false;
	c->out = p;
	c->outcap = cap;
	return true;
}

/* The earliest free worker. */
static int worker_next(const struct srv *s)
{
	int i, w = 0;

	for (i = 1; i < s->workers; i++)
		if (s->free_at[i] < s->free_at[w])
			w = i;
	return w;
}

/*
 * job_add - queue the request line for the earliest free worker. With one
 * service time for all, answers fall due in arrival order: the ring stays
 * sorted. -1 if the queue is full or out of memory (the connection closes).
 */
static int job_add(struct srv *s, struct srv_conn *c, const char *line, size_t len)
{
	int64_t now = mono_ms(), start;
	struct srv_job *j;
	int w;

	if (s->njobs == SRV_JOBS_MAX) {
		s->errors++;
		return -1;
	}
	j = &s->jobs[(s->job_head + s->njobs) % SRV_JOBS_MAX];
	j->line = malloc(len ? len : 1);
	if (!j->line) {
		s->errors++;
		return -1;
	}
	memcpy(j->line, line, len);
	j->len = len;
	w = worker_next(s);
	start = s->free_at[w] > now ? s->free_at[w] : now;
	s->free_at[w] = start + s->service_ms;
	j->due = s->free_at[w];
	j->conn = c;
	c->jobs++;
	s->njobs++;
	return 0;
}

static void conn_event(struct srv *s, struct srv_conn *c, uint32_t events);

/*
 * jobs_due - answer every job due by now, in order; a job whose connection
 * closed meanwhile is dropped (the connection is freed with its last one).
 */
static void jobs_due(struct srv *s)
{
	int64_t now = mono_ms();

	while (s->njobs && s->jobs[s->job_head].due <= now) {
		struct srv_job *j = &s->jobs[s->job_head];
		struct srv_conn *c = j->conn;
		size_t need = sizeof("cell= \n") - 1 + s->namelen + j->len;

		s->job_head = (s->job_head + 1) % SRV_JOBS_MAX;
		s->njobs--;
		c->jobs--;
		if (c->fd >= 0 && out_room(c, need)) {
			memcpy(c->out + c->nout, "cell=", 5);
			memcpy(c->out + c->nout + 5, s->name, s->namelen);
			c->out[c->nout + 5 + s->namelen] = ' ';
			memcpy(c->out + c->nout + 6 + s->namelen, j->line, j->len);
			c->out[c->nout + need - 1] = '\n';
			c->nout += need;
			s->tcp_requests++;
		} else if (c->fd >= 0) {
			s->errors++; /* the client stopped reading */
		}
		free(j->line);
		if (c->fd < 0) {
			if (!c->jobs) {
				free(c->out);
				free(c);
			}
			continue;
		}
		conn_event(s, c, EPOLLOUT);
	}
}

/* report_send - one load report of the moment to cellgated. */
static void report_send(struct srv *s)
{
	uint8_t buf[CG_REPORT_MAX];
	int64_t now = mono_ms(), wait;
	struct cg_report r = {
		.version = CG_REPORT_VERSION,
		.cell = (uint32_t)s->report_cell,
		.seq = ++s->report_seq,
		.ts_ms = unix_ms(),
		.util_ppm = 0,
		.queue_us = CG_REPORT_NONE,
		.inflight = (uint32_t)s->njobs,
		.capacity = (uint32_t)s->workers,
	};
	int i, busy = 0, n;

	for (i = 0; i < s->workers; i++)
		busy += s->free_at[i] > now;
	r.util_ppm = (uint32_t)((uint64_t)busy * 1000000 / (uint64_t)s->workers);
	if (s->service_ms) {
		wait = s->free_at[worker_next(s)] - now;
		r.queue_us = wait > 0 ? (uint32_t)(wait * 1000) : 0;
	}
	n = cg_report_encode(&r, s->report_key ? s->key : NULL, buf, sizeof(buf));
	if (n >= 0 && send(s->report_fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		s->reports++;
	else if (n < 0 || errno != ECONNREFUSED) /* refused: nobody listens yet, or any more */
		s->errors++;
}

/* report_open - the connected UDP socket the reports leave by. 0 or -1. */
static int report_open(struct srv *s)
{
	struct sockaddr_storage to, from;
	socklen_t tolen, fromlen;
	char host[64];
	const char *colon = strrchr(s->report_to, ':');
	int family, port;
	FILE *f;
	char text[128], err[160];

	if (!colon || colon == s->report_to || (size_t)(colon - s->report_to) >= sizeof(host) ||
	    (port = parse_port(colon + 1)) < 0) {
		fprintf(stderr, "cellsrv: --report '%s' is not ADDR:PORT\n", s->report_to);
		return -1;
	}
	memcpy(host, s->report_to, (size_t)(colon - s->report_to));
	host[colon - s->report_to] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	family = parse_addr(host, port, &to, &tolen);
	if (family < 0) {
		fprintf(stderr, "cellsrv: --report '%s': '%s' is not an IP address\n", s->report_to,
			host);
		return -1;
	}
	if (s->report_key) {
		f = fopen(s->report_key, "r");
		if (!f || !fgets(text, sizeof(text), f)) {
			fprintf(stderr, "cellsrv: --report-key %s: cannot read it\n", s->report_key);
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		if (cg_report_key_parse(text, s->key, err, sizeof(err)) < 0) {
			fprintf(stderr, "cellsrv: --report-key %s: %s\n", s->report_key, err);
			return -1;
		}
	}
	s->report_fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->report_fd < 0)
		goto fail;
	if (s->report_from) {
		if (parse_addr(s->report_from, 0, &from, &fromlen) != family) {
			fprintf(stderr, "cellsrv: --report-from '%s' is not an address of --report's family\n",
				s->report_from);
			return -1;
		}
		if (bind(s->report_fd, (struct sockaddr *)&from, fromlen) < 0)
			goto fail;
	}
	if (connect(s->report_fd, (struct sockaddr *)&to, tolen) < 0)
		goto fail;
	s->report_at = mono_ms();
	fprintf(stderr, "cellsrv: %s: reporting to %s as cell %ld every %d ms%s\n", s->name,
		s->report_to, s->report_cell, s->report_ms, s->report_key ? ", signed" : "");
	return 0;
fail:
	fprintf(stderr, "cellsrv: --report %s: %s\n", s->report_to, strerror(errno));
	return -1;
}

/* The epoll timeout: until the next answer or report is due; -1 if none. */
static int next_timeout(struct srv *s)
{
	int64_t now = mono_ms(), at = -1;

	if (s->njobs)
		at = s->jobs[s->job_head].due;
	if (s->report_fd >= 0 && (at < 0 || s->report_at < at))
		at = s->report_at;
	if (at < 0)
		return -1;
	return at <= now ? 0 : (int)(at - now > 60000 ? 60000 : at - now);
}

/*
 * conn_answer - append a reply for every complete line in c->in while the
 * output buffer has room (the rest waits in c->in). Returns 0, or -1 for a
 * line too long to accept.
 */
static int conn_answer(struct srv *s, struct srv_conn *c)
{
	static const char http_ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	bool get;
	size_t used = 0, linelen, need;
	char *nl, *line;

	while ((nl = memchr(c->in + used, '\n', c->nin - used))) {
		line = c->in + used;
		linelen = nl - line;
		if (linelen && line[linelen - 1] == '\r')
			linelen--;
		get = linelen > 4 && !memcmp(line, "GET ", 4);
		need = get ? sizeof(http_ok) - 1 : sizeof("cell= \n") - 1 + s->namelen + linelen;
		/* a GET (a health probe) is answered at once, the rest after their service */
		if ((get || !s->service_ms) && !out_room(c, need))
			break; /* the client is not reading: wait until it does */
		if (get) {
			memcpy(c->out + c->nout, http_ok, need);
			c->nout += need;
			used = nl + 1 - c->in;
			s->tcp_requests++;
			continue;
		}
		if (s->service_ms) {
			if (job_add(s, c, line, linelen) < 0)
				return -1;
			used = nl + 1 - c->in;
			continue;
		}
		memcpy(c->out + c->nout, "cell=", 5);
		memcpy(c->out + c->nout + 5, s->name, s->namelen);
		c->out[c->nout + 5 + s->namelen] = ' ';
		memcpy(c->out + c->nout + 6 + s->namelen, line, linelen);
		c->out[c->nout + need - 1] = '\n';
		c->nout += need;
		used = nl + 1 - c->in;
		s->tcp_requests++;
	}
	memmove(c->in, c->in + used, c->nin - used);
	c->nin -= used;
	/* full without a line end: a line too long (full of lines: waiting for output room) */
	if (c->nin == sizeof(c->in) && !memchr(c->in, '\n', c->nin))
		return -1;
	return 0;
}

/* conn_events - register what the connection waits for now. */
static int conn_events(struct srv *s, struct srv_conn *c)
{
	uint32_t ev = 0;

	if (c->nin < sizeof(c->in) && c->nout < SRV_OUT_MAX / 2)
		ev |= EPOLLIN;
	if (c->nout)
		ev |= EPOLLOUT;
	if (ev == c->events)
		return 0;
	c->events = ev;
	return ep_mod(s, c->fd, ev, c);
}

static void conn_event(struct srv *s, struct srv_conn *c, uint32_t events)
{
	bool eof = false;
	ssize_t n;

	if (events & EPOLLOUT) {
		if (conn_flush(s, c) < 0)
			goto close;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = recv(c->fd, c->in + c->nin, sizeof(c->in) - c->nin, MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			if (errno != ECONNRESET)
				s->errors++;
			goto close;
		}
		if (n == 0)
			eof = true;
		if (n > 0)
			c->nin += n;
	}
	/*
	 * Answer and send until the socket is full or no whole line is left: lines held
	 * back for want of room must not wait for an event that may never come.
	 */
	do {
		if (conn_answer(s, c) < 0 || conn_flush(s, c) < 0)
			goto close;
	} while (!c->nout && memchr(c->in, '\n', c->nin));
	if (eof)
		goto close; /* whatever could be sent now was */
	if (conn_events(s, c) < 0)
		goto close;
	return;
close:
	conn_close(s, c);
}

static void listen_event(struct srv *s, struct srv_sock *k)
{
	struct srv_conn *c;
	int fd, one = 1;

	fd = accept4(k->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			s->errors++;
		if (errno == EMFILE || errno == ENFILE)
			listeners_pause(s, true); /* resumed when a connection closes */
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		s->errors++;
		close(fd);
		return;
	}
	c->kind = SRV_CONN;
	c->fd = fd;
	c->events = EPOLLIN;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ep_add(s, fd, c->events, c) < 0) {
		s->errors++;
		close(fd);
		free(c);
		return;
	}
	s->accepted++;
	if (++s->nconns >= s->max_conns)
		listeners_pause(s, true);
}

/* udp_reply_ctl - control data making the reply leave from the request's destination; its length. */
static size_t udp_reply_ctl(struct msghdr *req, char *buf)
{
	struct cmsghdr *cm, *rcm = (struct cmsghdr *)buf;

	for (cm = CMSG_FIRSTHDR(req); cm; cm = CMSG_NXTHDR(req, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			rcm->cmsg_level = IPPROTO_IP;
			rcm->cmsg_type = IP_PKTINFO;
			rcm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(rcm), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			pi.ipi6_ifindex = 0;
			rcm->cmsg_level = IPPROTO_IPV6;
			rcm->cmsg_type = IPV6_PKTINFO;
			rcm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(rcm), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

static void udp_event(struct srv *s, struct srv_sock *k)
{
	static char in[SRV_DGRAM_MAX], out[SRV_DGRAM_MAX + SRV_NAME_MAX + 8];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl, rctl;
	struct sockaddr_storage peer;
	struct iovec iov = { in, sizeof(in) };
	struct msghdr msg = {
		.msg_name = &peer,
		.msg_namelen = sizeof(peer),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	size_t rlen;
	ssize_t n;
	int len;

	n = recvmsg(k->fd, &msg, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			s->errors++;
		return;
	}
	len = snprintf(out, sizeof(out), "cell=%s ", s->name);
	if ((size_t)len + n > sizeof(out))
		n = sizeof(out) - len;
	memcpy(out + len, in, n);

	memset(&rctl, 0, sizeof(rctl));
	rlen = udp_reply_ctl(&msg, rctl.buf);
	iov = (struct iovec){ out, len + n };
	msg.msg_control = rlen ? rctl.buf : NULL;
	msg.msg_controllen = rlen;
	msg.msg_flags = 0;
	if (sendmsg(k->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		s->errors++;
		return;
	}
	s->udp_requests++;
}

/* set_sick - close (sick) or reopen the gateway TCP listeners. */
static void set_sick(struct srv *s, bool sick)
{
	int i, family;

	for (i = 0; i < s->nsocks; i++) {
		struct srv_sock *k = &s->socks[i];

		if (!k->gateway)
			continue;
		if (sick && k->fd >= 0) {
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, k->fd, NULL);
			close(k->fd);
			k->fd = -1;
		} else if (!sick && k->fd < 0) {
			k->fd = open_sock(k->addr, s->tcp_port, SOCK_STREAM, &family);
			if (k->fd >= 0 && ep_add(s, k->fd, EPOLLIN, k) < 0)
				s->errors++;
		}
	}
	s->sick = sick;
	fprintf(stderr, "cellsrv: %s: %s\n", s->name, sick ? "sick" : "well");
}

/* signal_event - act on the signals read from the signalfd. */
static void signal_event(struct srv *s)
{
	struct signalfd_siginfo si;

	while (read(s->sig.fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			print_counters(s, "now");
		else if (si.ssi_signo == SIGUSR2)
			set_sick(s, !s->sick);
		else
			s->stop = true;
	}
}

static int srv_run(struct srv *s)
{
	struct epoll_event ev[SRV_EVENTS];
	int i, n;

	while (!s->stop) {
		n = epoll_wait(s->epfd, ev, SRV_EVENTS, next_timeout(s));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "cellsrv: epoll_wait: %s\n", strerror(errno));
			return -1;
		}
		for (i = 0; i < n; i++) {
			enum srv_kind *kind = ev[i].data.ptr;

			switch (*kind) {
			case SRV_SIGNAL:
				signal_event(s);
				break;
			case SRV_LISTEN:
				listen_event(s, ev[i].data.ptr);
				break;
			case SRV_UDP:
				udp_event(s, ev[i].data.ptr);
				break;
			case SRV_CONN:
				/* epoll reports an fd once per batch: a connection freed here has
				 * no later event in it */
				conn_event(s, ev[i].data.ptr, ev[i].events);
				break;
			}
		}
		jobs_due(s);
		if (s->report_fd >= 0 && mono_ms() >= s->report_at) {
			report_send(s);
			s->report_at += s->report_ms;
			if (s->report_at < mono_ms()) /* a stall: no burst of reports to catch up */
				s->report_at = mono_ms() + s->report_ms;
		}
	}
	return 0;
}

static int parse_args(struct srv *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "tcp", required_argument, NULL, 't' },
		{ "udp", required_argument, NULL, 'u' },
		{ "bind", required_argument, NULL, 'b' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "service-ms", required_argument, NULL, 'S' },
		{ "workers", required_argument, NULL, 'W' },
		{ "report", required_argument, NULL, 'R' },
		{ "report-cell", required_argument, NULL, 'C' },
		{ "report-ms", required_argument, NULL, 'M' },
		{ "report-from", required_argument, NULL, 'F' },
		{ "report-key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	s->workers = 1;
	s->report_cell = -1;
	s->report_ms = 100;
	while ((c = getopt_long(argc, argv, "n:t:u:b:g:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!optarg[0] || strlen(optarg) >= sizeof(s->name) || strpbrk(optarg, " \n")) {
				fprintf(stderr, "cellsrv: bad cell name '%s'\n", optarg);
				return -1;
			}
			strcpy(s->name, optarg);
			break;
		case 't':
		case 'u':
			if (parse_port(optarg) < 0) {
				fprintf(stderr, "cellsrv: bad port '%s'\n", optarg);
				return -1;
			}
			*(c == 't' ? &s->tcp_port : &s->udp_port) = parse_port(optarg);
			break;
		case 'b':
		case 'g':
			s->gw[s->nbinds] = c == 'g';
			if (s->nbinds == SRV_MAX_BINDS) {
				fprintf(stderr, "cellsrv: at most %d --bind\n", SRV_MAX_BINDS);
				return -1;
			}
			s->binds[s->nbinds++] = optarg;
			break;
		case 'S':
		case 'W':
		case 'C':
		case 'M': {
			/* each a whole number in its range */
			static const struct {
				int opt;
				const char *name;
				long lo, hi;
			} r[] = { { 'S', "--service-ms", 0, 60000 },
				  { 'W', "--workers", 1, SRV_WORKERS_MAX },
				  { 'C', "--report-cell", 0, 4095 },
				  { 'M', "--report-ms", 10, 60000 } };
			char *end;
			long v;
			size_t k;

			for (k = 0; r[k].opt != c; k++)
				;
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < r[k].lo || v > r[k].hi) {
				fprintf(stderr, "cellsrv: %s '%s' is not a number in %ld..%ld\n", r[k].name,
					optarg, r[k].lo, r[k].hi);
				return -1;
			}
			if (c == 'S')
				s->service_ms = (int)v;
			else if (c == 'W')
				s->workers = (int)v;
			else if (c == 'C')
				s->report_cell = v;
			else
				s->report_ms = (int)v;
			break;
		}
		case 'R':
			s->report_to = optarg;
			break;
		case 'F':
			s->report_from = optarg;
			break;
		case 'K':
			s->report_key = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || !s->name[0] || (!s->tcp_port && !s->udp_port)) {
		usage(stderr);
		return -1;
	}
	if (!s->report_to != (s->report_cell < 0)) {
		fprintf(stderr, "cellsrv: --report and --report-cell go together\n");
		return -1;
	}
	if (!s->report_to && (s->report_from || s->report_key)) {
		fprintf(stderr, "cellsrv: --report-from and --report-key need --report\n");
		return -1;
	}
	s->namelen = strlen(s->name);
	return 0;
}

/* Raise the soft fd limit to the hard one; connections allowed follow from it. */
static void set_fd_limit(struct srv *s)
{
	struct rlimit rl;

	s->max_conns = 1024 - SRV_FD_RESERVE - 4 * SRV_MAX_BINDS;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	s->max_conns = (long)rl.rlim_cur - SRV_FD_RESERVE - 4 * SRV_MAX_BINDS;
}

int main(int argc, char **argv)
{
	static struct srv s;
	sigset_t mask;
	int ret = 1, i;

	s.epfd = -1;
	s.sig.fd = -1;
	s.report_fd = -1;
	if (parse_args(&s, argc, argv) < 0)
		return 2;
	s.jobs = calloc(SRV_JOBS_MAX, sizeof(*s.jobs));
	if (!s.jobs) {
		fprintf(stderr, "cellsrv: out of memory\n");
		return 1;
	}
	set_fd_limit(&s);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s.epfd < 0) {
		fprintf(stderr, "cellsrv: epoll_create1: %s\n", strerror(errno));
		goto out;
	}
	s.sig.kind = SRV_SIGNAL;
	s.sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s.sig.fd < 0 || ep_add(&s, s.sig.fd, EPOLLIN, &s.sig) < 0) {
		fprintf(stderr, "cellsrv: signalfd: %s\n", strerror(errno));
		goto out;
	}
	if (srv_open(&s) < 0 || (s.report_to && report_open(&s) < 0))
		goto out;
	fprintf(stderr, "cellsrv: %s: ready\n", s.name);
	if (srv_run(&s) == 0)
		ret = 0;
	print_counters(&s, "exit");
out:
	/* open connections are reclaimed by exit: only the summary matters here */
	for (i = 0; i < s.nsocks; i++)
		if (s.socks[i].fd >= 0)
			close(s.socks[i].fd);
	if (s.sig.fd >= 0)
		close(s.sig.fd);
	if (s.epfd >= 0)
		close(s.epfd);
	if (s.report_fd >= 0)
		close(s.report_fd);
	return ret;
}
