// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* shed.c - load report to shed level latency: one report over the target, timed until the shed map changes */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cellgate/abi/consts.h"
#include "cellgate/abi/structs.h"
#include "cellgate/report.h"
#include "shed.h"
#include "util.h"

#define SH_MAX_RUNS 64
#define SH_POLL_NS  20000	    /* between two looks at the shed map */
#define SH_TIMEOUT  5000000000ULL /* a report to its level, at most */

/* One cell to report for: its id and the address its reports must come from. */
struct sh_cell {
	uint32_t id;		 /* cell id */
	struct sockaddr_in from; /* its gateway, port 0 */
};

/* The cell has a soft level in some class. -1 if the map cannot be read. */
static int sh_shed(int fd, uint32_t cell)
{
	for (uint32_t k = 0; k < CG_MAX_CLASSES; k++) {
		uint32_t key = cell * CG_MAX_CLASSES + k;
		struct cg_shed v;

		if (bpf_map_lookup_elem(fd, &key, &v))
			return -1;
		if (v.soft)
			return 1;
	}
	return 0;
}

/* "ID@ADDR,ID@ADDR,..." into cells; the count, or -1. */
static int sh_cells_parse(char *s, struct sh_cell *cells)
{
	int n = 0;

	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		char *at = strchr(tok, '@'), *end;
		unsigned long id;

		if (!at || n >= SH_MAX_RUNS)
			return -1;
		*at = '\0';
		errno = 0;
		id = strtoul(tok, &end, 10);
		if (errno || end == tok || *end || id >= CG_MAX_CELLS)
			return -1;
		memset(&cells[n].from, 0, sizeof(cells[n].from));
		cells[n].from.sin_family = AF_INET;
		if (inet_pton(AF_INET, at + 1, &cells[n].from.sin_addr) != 1)
			return -1;
		cells[n].id = (uint32_t)id;
		n++;
	}
	return n;
}

/*
 * One run for cell c: wait wait_ns, send one report of util ppm to to, poll
 * until the cell has a soft level. *ms from just before the send. 0, or -1
 * with why.
 */
static int sh_run(const struct sh_cell *c, const struct sockaddr_in *to, uint32_t util, int fd,
		  uint64_t wait_ns, double *ms)
{
	const struct timespec poll = { 0, SH_POLL_NS };
	struct timespec w = { (time_t)(wait_ns / 1000000000ULL), (long)(wait_ns % 1000000000ULL) };
	struct timespec rt;
	uint8_t buf[CG_REPORT_MAX];
	uint64_t t0, now;
	int s = -1, n, ret = -1, shed;

	shed = sh_shed(fd, c->id);
	if (shed) {
		fprintf(stderr, "bench: cell %u %s before its report\n", c->id,
			shed < 0 ? "cannot be read from the shed map" : "is shed already");
		return -1;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (const struct sockaddr *)&c->from, sizeof(c->from))) {
		fprintf(stderr, "bench: cannot send from cell %u's gateway: %s\n", c->id,
			strerror(errno));
		goto out;
	}
	nanosleep(&w, NULL);
	clock_gettime(CLOCK_REALTIME, &rt);
	n = cg_report_encode(
		&(struct cg_report){
			.version = CG_REPORT_VERSION,
			.cell = c->id,
			.seq = 1,
			.ts_ms = (uint64_t)rt.tv_sec * 1000 + (uint64_t)rt.tv_nsec / 1000000,
			.util_ppm = util,
			.queue_us = CG_REPORT_NONE,
			.inflight = CG_REPORT_NONE,
		},
		NULL, buf, sizeof(buf));
	if (n < 0) {
		fprintf(stderr, "bench: cannot encode a report: %s\n", strerror(-n));
		goto out;
	}
	t0 = bench_ns(CLOCK_MONOTONIC);
	if (sendto(s, buf, (size_t)n, 0, (const struct sockaddr *)to, sizeof(*to)) != n) {
		fprintf(stderr, "bench: cannot send the report: %s\n", strerror(errno));
		goto out;
	}
	for (;;) {
		now = bench_ns(CLOCK_MONOTONIC);
		shed = sh_shed(fd, c->id);
		if (shed > 0)
			break;
		if (shed < 0 || now - t0 > SH_TIMEOUT) {
			fprintf(stderr, "bench: cell %u: no shed level %s after its report\n", c->id,
				shed < 0 ? "readable" : "5 s");
			goto out;
		}
		nanosleep(&poll, NULL);
	}
	*ms = (double)(now - t0) / 1e6;
	ret = 0;
out:
	if (s >= 0)
		close(s);
	return ret;
}

/* The nearest-rank percentile p (0..100) of v[0..n) (v is sorted). */
static double sh_pct(double *v, int n, double p)
{
	int r = (int)ceil(p / 100.0 * n);

	bench_median(v, (size_t)n); /* sorts */
	return v[r < 1 ? 0 : r - 1];
}

int bench_shed_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "name", required_argument, NULL, 'n' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "to", required_argument, NULL, 'T' },
		{ "port", required_argument, NULL, 'P' },
		{ "cells", required_argument, NULL, 'c' },
		{ "period-ms", required_argument, NULL, 'e' },
		{ "util", required_argument, NULL, 'u' },
		{ "target", required_argument, NULL, 't' },
		{ "what", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	const char *json = NULL, *name = NULL, *pin = NULL, *what = "";
	struct sh_cell cells[SH_MAX_RUNS];
	struct sockaddr_in to = { .sin_family = AF_INET };
	double ms[SH_MAX_RUNS], v[SH_MAX_RUNS], target = 0;
	long period = 0, util = 2000000, port = 0;
	unsigned int seed = 1;
	char path[4096], p95_name[128];
	int c, i, n = -1, fd = -1, rc = 1;
	bool addr = false;
	json_t *out = NULL, *e;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'T':
			addr = inet_pton(AF_INET, optarg, &to.sin_addr) == 1;
			break;
		case 'P':
			port = atol(optarg);
			break;
		case 'c':
			n = sh_cells_parse(optarg, cells);
			break;
		case 'e':
			period = atol(optarg);
			break;
		case 'u':
			util = atol(optarg);
			break;
		case 't':
			target = atof(optarg);
			break;
		case 'W':
			what = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!json || !name || !pin || !addr || port <= 0 || port > 65535 || n < 2 ||
	    period <= 0 || util <= 0 || util > CG_REPORT_UTIL_MAX || optind != argc) {
		fprintf(stderr, "bench shed: missing or bad arguments (see bench help)\n");
		return 2;
	}
	to.sin_port = htons((uint16_t)port);
	prctl(PR_SET_TIMERSLACK, 1000UL); /* poll every 20 us, not every 70 */
	snprintf(path, sizeof(path), "%s/shed", pin);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, "bench: cannot open '%s': %s\n", path, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		/* anywhere in the period: the step's timer does not wait for the report */
		uint64_t wait = (uint64_t)(rand_r(&seed) % (unsigned int)period) * 1000000ULL;

		if (sh_run(&cells[i], &to, (uint32_t)util, fd, wait, &ms[i]))
			goto out;
	}

	out = json_array();
	memcpy(v, ms, sizeof(double) * n);
	e = json_pack("{s:s, s:f, s:n, s:n, s:o, s:I, s:s}", "name", name, "ms",
		      bench_round2(bench_median(v, n)), "baseline", "ratio", "runs",
		      bench_runs_json(ms, n), "period_ms", (json_int_t)period, "what", what);
	if (target > 0)
		json_object_set_new(e, "target", json_real(target));
	json_array_append_new(out, e);
	snprintf(p95_name, sizeof(p95_name), "%s_p95", name);
	memcpy(v, ms, sizeof(double) * n);
	e = json_pack("{s:s, s:f, s:n, s:n, s:o, s:I, s:s}", "name", p95_name, "ms",
		      bench_round2(sh_pct(v, n, 95)), "baseline", "ratio", "runs",
		      bench_runs_json(ms, n), "period_ms", (json_int_t)period, "what",
		      "the same, 95th percentile (nearest rank)");
	if (target > 0)
		json_object_set_new(e, "target", json_real(target));
	json_array_append_new(out, e);
	if (bench_write_json(out, json)) {
		fprintf(stderr, "bench: cannot write '%s'\n", json);
		goto out;
	}
	rc = 0;
out:
	json_decref(out);
	close(fd);
	return rc;
}
