// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* send.c - a bounded UDP packet generator for the lab's throughput figure */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "send.h"
#include "util.h"

#define SD_BATCH     64 /* datagrams per sendmmsg */
#define SD_MAX_FLOWS 256
#define SD_MAX_SIZE  1400

int bench_send_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dst", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 'z' },
		{ "flows", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t payload[SD_MAX_SIZE];
	struct mmsghdr msgs[SD_BATCH];
	struct iovec iov[SD_BATCH];
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *dst = NULL;
	double seconds = 5;
	long long count = 10000000, sent = 0;
	int port = 0, size = 18, flows = 16, fds[SD_MAX_FLOWS], c, i, k, rc = 1;
	uint64_t t0, deadline, now;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			dst = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'c':
			count = atoll(optarg);
			break;
		case 'z':
			size = atoi(optarg);
			break;
		case 'f':
			flows = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!dst || port < 1 || port > 65535 || seconds <= 0 || seconds > 60 || count < 1 ||
	    size < 1 || size > SD_MAX_SIZE || flows < 1 || flows > SD_MAX_FLOWS) {
		fprintf(stderr, "bench send: missing or bad arguments (see bench help)\n");
		return 2;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, dst, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sslen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, dst, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sslen = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "bench send: bad --dst '%s'\n", dst);
		return 2;
	}
	for (i = 0; i < flows; i++)
		fds[i] = -1;
	for (i = 0; i < flows; i++) {
		fds[i] = socket(ss.ss_family, SOCK_DGRAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&ss, sslen)) {
			fprintf(stderr, "bench send: cannot connect to '%s': %s\n", dst,
				strerror(errno));
			goto out;
		}
	}
	memset(payload, 'b', sizeof(payload));
	for (k = 0; k < SD_BATCH; k++) {
		iov[k] = (struct iovec){ .iov_base = payload, .iov_len = (size_t)size };
		memset(&msgs[k], 0, sizeof(msgs[k]));
		msgs[k].msg_hdr.msg_iov = &iov[k];
		msgs[k].msg_hdr.msg_iovlen = 1;
	}
	t0 = bench_ns(CLOCK_MONOTONIC);
	deadline = t0 + (uint64_t)(seconds * 1e9);
	now = t0;
	for (i = 0; sent < count && now < deadline; i = (i + 1) % flows) {
		int want = count - sent < SD_BATCH ? (int)(count - sent) : SD_BATCH;
		int n = sendmmsg(fds[i], msgs, (unsigned int)want, 0);

		if (n > 0)
			sent += n;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED &&
			 errno != EINTR) {
			fprintf(stderr, "bench send: %s\n", strerror(errno));
			goto out;
		}
		now = bench_ns(CLOCK_MONOTONIC);
	}
	printf("{\"sent\": %lld, \"seconds\": %.3f, \"pps\": %.0f}\n", sent, (now - t0) / 1e9,
	       sent / ((now - t0) / 1e9));
	rc = 0;
out:
	for (i = 0; i < flows; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}
