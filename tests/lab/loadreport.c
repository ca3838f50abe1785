/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* loadreport.c - the lab's cell load report tool: send made-up reports, or receive and print them */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cellgate/report.h"

/*
 * loadreport send --to ADDR:PORT --cell ID [options]
 *   sends --count reports (default 1), one every --interval-ms, with
 *   sequence numbers from --seq (default 1; --same-seq repeats it: a
 *   replay), the sender's clock moved by --ts-offset-ms, and the signals
 *   given (--util PPM, --inflight N, --capacity N, --queue-us N; the rest
 *   "not measured"), signed with --key FILE, from --from ADDR.
 * loadreport recv --on ADDR:PORT [--count N] [--timeout-ms MS] [--key FILE]
 *   prints each datagram received, decoded:
 *     report cell=<id> seq=<n> ts_ms=<ms> util_ppm=<ppm|none> queue_us=<us|none>
 *            inflight=<n|none> capacity=<n> signed=<0|1>
 *   or "bad <the decoder's one line>", until --count datagrams or
 *   --timeout-ms (default 5000) without one.
 * Exit 0, 1 if a send failed or nothing was received, 2 on bad usage.
 */

struct lr {
	bool recv;		/* the recv command (else send) */
	const char *addr;	/* --to or --on */
	const char *from;	/* --from */
	const char *keyfile;	/* --key */
	uint8_t key[CG_REPORT_KEY];
	long cell;		/* --cell, -1 unset */
	uint64_t seq;		/* --seq */
	bool same_seq;		/* --same-seq */
	long count;		/* --count */
	long interval_ms;	/* --interval-ms */
	long ts_offset_ms;	/* --ts-offset-ms */
	long timeout_ms;	/* --timeout-ms */
	uint32_t util, inflight, capacity, queue_us; /* CG_REPORT_NONE when not given */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: loadreport send --to ADDR:PORT --cell ID [--from ADDR] [--seq N] [--same-seq]\n"
		   "                       [--count N] [--interval-ms MS] [--ts-offset-ms MS] [--key FILE]\n"
		   "                       [--util PPM] [--inflight N] [--capacity N] [--queue-us US]\n"
		   "       loadreport recv --on ADDR:PORT [--count N] [--timeout-ms MS] [--key FILE]\n");
}

/* A whole number of option name in lo..hi, or -1 with a message. */
static int num(const char *name, const char *text, long long lo, long long hi, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(text, &end, 10);
	if (errno || end == text || *end || *v < lo || *v > hi) {
		fprintf(stderr, "loadreport: %s '%s' is not a number in %lld..%lld\n", name, text, lo,
			hi);
		return -1;
	}
	return 0;
}

/* ADDR:PORT ([v6]:PORT) to a sockaddr; the family or -1. */
static int sockaddr_of(const char *text, int port_min, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(text, ':');
	char host[64];
	long long port;
	size_t n;

	if (!colon || colon == text || (n = (size_t)(colon - text)) >= sizeof(host)) {
		fprintf(stderr, "loadreport: '%s' is not ADDR:PORT\n", text);
		return -1;
	}
	if (num("port", colon + 1, port_min, 65535, &port) < 0)
		return -1;
	memcpy(host, text, n);
	host[n] = '\0';
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in6);
		return AF_INET6;
	}
	fprintf(stderr, "loadreport: '%s' is not an IP address\n", host);
	return -1;
}

static int read_key(struct lr *l)
{
	char text[128], err[160];
	FILE *f = fopen(l->keyfile, "r");

	if (!f || !fgets(text, sizeof(text), f)) {
		fprintf(stderr, "loadreport: --key %s: cannot read it\n", l->keyfile);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	if (cg_report_key_parse(text, l->key, err, sizeof(err)) < 0) {
		fprintf(stderr, "loadreport: --key %s: %s\n", l->keyfile, err);
		return -1;
	}
	return 0;
}

static int do_send(struct lr *l)
{
	struct sockaddr_storage to, from;
	socklen_t tolen, fromlen;
	uint8_t buf[CG_REPORT_MAX];
	struct timespec now, gap = { l->interval_ms / 1000, (l->interval_ms % 1000) * 1000000 };
	int fd, family, n, ret = 0;
	long i;

	family = sockaddr_of(l->addr, 1, &to, &tolen);
	if (family < 0)
		return 2;
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "loadreport: socket: %s\n", strerror(errno));
		return 1;
	}
	if (l->from) {
		char with_port[80];

		snprintf(with_port, sizeof(with_port), "%s%s%s:0", strchr(l->from, ':') ? "[" : "",
			 l->from, strchr(l->from, ':') ? "]" : "");
		if (sockaddr_of(with_port, 0, &from, &fromlen) != family ||
		    bind(fd, (struct sockaddr *)&from, fromlen) < 0) {
			fprintf(stderr, "loadreport: cannot send from '%s': %s\n", l->from,
				strerror(errno));
			close(fd);
			return 1;
		}
	}
	for (i = 0; i < l->count; i++) {
		struct cg_report r = {
			.version = CG_REPORT_VERSION,
			.cell = (uint32_t)l->cell,
			.seq = l->same_seq ? l->seq : l->seq + (uint64_t)i,
			.util_ppm = l->util,
			.queue_us = l->queue_us,
			.inflight = l->inflight,
			.capacity = l->capacity == CG_REPORT_NONE ? 0 : l->capacity,
		};

		clock_gettime(CLOCK_REALTIME, &now);
		r.ts_ms = (uint64_t)((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 +
				     l->ts_offset_ms);
		n = cg_report_encode(&r, l->keyfile ? l->key : NULL, buf, sizeof(buf));
		if (n < 0) {
			fprintf(stderr, "loadreport: these values do not make a report: %s\n",
				strerror(-n));
			ret = 2;
			break;
		}
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&to, tolen) < 0) {
			fprintf(stderr, "loadreport: send: %s\n", strerror(errno));
			ret = 1;
			break;
		}
		if (i + 1 < l->count && l->interval_ms)
			nanosleep(&gap, NULL);
	}
	close(fd);
	return ret;
}

static void print_opt(const char *name, uint32_t v)
{
	if (v == CG_REPORT_NONE)
		printf(" %s=none", name);
	else
		printf(" %s=%" PRIu32, name, v);
}

static int do_recv(struct lr *l)
{
	struct sockaddr_storage on;
	socklen_t onlen;
	uint8_t buf[2048];
	char err[200];
	long got = 0;
	int fd, family, one = 1;

	family = sockaddr_of(l->addr, 1, &on, &onlen);
	if (family < 0)
		return 2;
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&on, onlen) < 0) {
		fprintf(stderr, "loadreport: cannot receive on %s: %s\n", l->addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (got < l->count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct cg_report r;
		ssize_t n;

		if (poll(&p, 1, (int)l->timeout_ms) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			continue;
		got++;
		if (cg_report_decode(buf, (size_t)n, l->keyfile ? l->key : NULL, &r, err,
				     sizeof(err)) < 0) {
			printf("bad %s\n", err); /* the decoder's line names a field, never raw bytes */
			continue;
		}
		printf("report cell=%" PRIu32 " seq=%" PRIu64 " ts_ms=%" PRIu64, r.cell, r.seq, r.ts_ms);
		print_opt("util_ppm", r.util_ppm);
		print_opt("queue_us", r.queue_us);
		print_opt("inflight", r.inflight);
		printf(" capacity=%" PRIu32 " signed=%d\n", r.capacity, !!(r.flags & CG_REPORT_F_AUTH));
	}
	close(fd);
	return got ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },	     { "on", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, 'f' },    { "cell", required_argument, NULL, 'c' },
		{ "seq", required_argument, NULL, 's' },     { "same-seq", no_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'n' },   { "interval-ms", required_argument, NULL, 'i' },
		{ "ts-offset-ms", required_argument, NULL, 'T' },
		{ "timeout-ms", required_argument, NULL, 'w' },
		{ "key", required_argument, NULL, 'k' },     { "util", required_argument, NULL, 'u' },
		{ "inflight", required_argument, NULL, 'I' }, { "capacity", required_argument, NULL, 'C' },
		{ "queue-us", required_argument, NULL, 'q' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lr l = { .cell = -1, .seq = 1, .count = 1, .timeout_ms = 5000 };
	long long v;
	int c;

	l.util = l.inflight = l.capacity = l.queue_us = CG_REPORT_NONE;
	if (argc < 2 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv"))) {
		usage(stderr);
		return 2;
	}
	l.recv = !strcmp(argv[1], "recv");
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
		case 'o':
			l.addr = optarg;
			break;
		case 'f':
			l.from = optarg;
			break;
		case 'k':
			l.keyfile = optarg;
			break;
		case 'S':
			l.same_seq = true;
			break;
		case 'c':
			if (num("--cell", optarg, 0, UINT32_MAX, &v) < 0)
				return 2;
			l.cell = (long)v;
			break;
		case 's':
			if (num("--seq", optarg, 0, INT64_MAX, &v) < 0)
				return 2;
			l.seq = (uint64_t)v;
			break;
		case 'n':
			if (num("--count", optarg, 1, 1000000, &v) < 0)
				return 2;
			l.count = (long)v;
			break;
		case 'i':
			if (num("--interval-ms", optarg, 0, 60000, &v) < 0)
				return 2;
			l.interval_ms = (long)v;
			break;
		case 'T':
			if (num("--ts-offset-ms", optarg, -86400000LL * 365, 86400000LL * 365, &v) < 0)
				return 2;
			l.ts_offset_ms = (long)v;
			break;
		case 'w':
			if (num("--timeout-ms", optarg, 1, 600000, &v) < 0)
				return 2;
			l.timeout_ms = (long)v;
			break;
		case 'u':
		case 'I':
		case 'C':
		case 'q':
			if (num("a signal", optarg, 0, UINT32_MAX - 1, &v) < 0)
				return 2;
			*(c == 'u' ? &l.util : c == 'I' ? &l.inflight : c == 'C' ? &l.capacity
										: &l.queue_us) = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !l.addr || (!l.recv && l.cell < 0)) {
		usage(stderr);
		return 2;
	}
	if (l.keyfile && read_key(&l) < 0)
		return 2;
	return l.recv ? do_recv(&l) : do_send(&l);
}
