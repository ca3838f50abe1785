// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* apply.c - config apply to map update latency: a CLI call timed until the program's tables change */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "apply.h"
#include "util.h"

#define AP_MAX_WATCH 64
#define AP_MAX_RUNS  64
#define AP_POLL_NS   20000	   /* between two looks at the tables */
#define AP_TIMEOUT   5000000000ULL /* a command and its change, at most */

extern char **environ;

struct ap_cmd {
	char **argv; /* NULL-terminated, inside the caller's argv */
};

/* Inner map ids of the watched slots; 0 for an empty slot. */
static void ap_ids(int fd, const uint32_t *watch, int n, uint32_t *ids)
{
	int i;

	for (i = 0; i < n; i++)
		if (bpf_map_lookup_elem(fd, &watch[i], &ids[i]))
			ids[i] = 0;
}

static int ap_changed(int fd, const uint32_t *watch, int n, const uint32_t *before)
{
	uint32_t ids[AP_MAX_WATCH];
	int i;

	ap_ids(fd, watch, n, ids);
	for (i = 0; i < n; i++)
		if (ids[i] != before[i])
			return 1;
	return 0;
}

/*
 * One run: start cmd, poll until a watched slot changes and the command has
 * exited. *vis_ms and *cli_ms from the start. Returns 0, or -1 with why.
 */
static int ap_run(const struct ap_cmd *cmd, int fd, const uint32_t *watch, int n, double *vis_ms,
		  double *cli_ms)
{
	const struct timespec poll = { 0, AP_POLL_NS };
	posix_spawn_file_actions_t fa;
	uint32_t before[AP_MAX_WATCH];
	uint64_t t0, now, vis = 0, done = 0;
	int status = 0, err;
	pid_t pid;

	ap_ids(fd, watch, n, before);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	t0 = bench_ns(CLOCK_MONOTONIC);
	err = posix_spawnp(&pid, cmd->argv[0], &fa, NULL, cmd->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "bench: cannot run '%s': %s\n", cmd->argv[0], strerror(err));
		return -1;
	}
	for (;;) {
		now = bench_ns(CLOCK_MONOTONIC);
		if (!vis && ap_changed(fd, watch, n, before))
			vis = now;
		if (!done && waitpid(pid, &status, WNOHANG) == pid)
			done = bench_ns(CLOCK_MONOTONIC);
		if (vis && done)
			break;
		if (done && !vis && ap_changed(fd, watch, n, before))
			vis = done; /* changed between the last look and the exit */
		if (done && !vis)
			break;
		if (now - t0 > AP_TIMEOUT) {
			if (!done) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
			}
			fprintf(stderr, "bench: '%s' took more than 5 s\n", cmd->argv[0]);
			return -1;
		}
		nanosleep(&poll, NULL);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "bench: '%s %s' failed (status %d)\n", cmd->argv[0],
			cmd->argv[1] ? cmd->argv[1] : "", status);
		return -1;
	}
	if (!vis) {
		fprintf(stderr, "bench: '%s' succeeded but no watched table changed\n",
			cmd->argv[0]);
		return -1;
	}
	*vis_ms = (double)(vis - t0) / 1e6;
	*cli_ms = (double)(done - t0) / 1e6;
	return 0;
}

static int ap_watch_parse(const char *s, uint32_t *watch)
{
	char *end;
	int n = 0;

	while (*s && n < AP_MAX_WATCH) {
		errno = 0;
		unsigned long v = strtoul(s, &end, 10);

		if (errno || end == s || v > 1023)
			return -1;
		watch[n++] = (uint32_t)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return n;
}

int bench_apply_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "name", required_argument, NULL, 'n' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "watch", required_argument, NULL, 'w' },
		{ "runs", required_argument, NULL, 'r' },
		{ "target", required_argument, NULL, 't' },
		{ "what", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	const char *json = NULL, *name = NULL, *pin = NULL, *what = "";
	double vis[AP_MAX_RUNS], cli[AP_MAX_RUNS], v[AP_MAX_RUNS], target = 0;
	uint32_t watch[AP_MAX_WATCH];
	struct ap_cmd cmds[2];
	char path[4096], cli_name[128];
	int c, i, n = 0, runs = 20, fd = -1, rc = 1;
	json_t *out = NULL, *e;

	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
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
		case 'w':
			n = ap_watch_parse(optarg, watch);
			break;
		case 'r':
			runs = atoi(optarg);
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
	/* -- CMD-A... -- CMD-B... (getopt stopped at the first "--" and skipped it) */
	if (!json || !name || !pin || n <= 0 || runs < 2 || runs > AP_MAX_RUNS || optind >= argc) {
		fprintf(stderr, "bench apply: missing or bad arguments (see bench help)\n");
		return 2;
	}
	cmds[0].argv = &argv[optind];
	for (i = optind; i < argc && strcmp(argv[i], "--"); i++)
		;
	if (i >= argc - 1) {
		fprintf(stderr, "bench apply: want -- CMD-A... -- CMD-B...\n");
		return 2;
	}
	argv[i] = NULL; /* ends CMD-A */
	cmds[1].argv = &argv[i + 1];

	prctl(PR_SET_TIMERSLACK, 1000UL); /* poll every 20 us, not every 70 */
	snprintf(path, sizeof(path), "%s/tables", pin);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, "bench: cannot open '%s': %s\n", path, strerror(errno));
		return 1;
	}
	for (i = 0; i < runs; i++)
		if (ap_run(&cmds[i % 2], fd, watch, n, &vis[i], &cli[i]))
			goto out;

	out = json_array();
	memcpy(v, vis, sizeof(double) * runs);
	e = json_pack("{s:s, s:f, s:n, s:n, s:o, s:s}", "name", name, "ms",
		      bench_round2(bench_median(v, runs)), "baseline", "ratio", "runs",
		      bench_runs_json(vis, runs), "what", what);
	if (target > 0)
		json_object_set_new(e, "target", json_real(target));
	json_array_append_new(out, e);
	snprintf(cli_name, sizeof(cli_name), "%s_cli", name);
	memcpy(v, cli, sizeof(double) * runs);
	json_array_append_new(out, json_pack("{s:s, s:f, s:n, s:n, s:o, s:s}", "name", cli_name,
					     "ms", bench_round2(bench_median(v, runs)), "baseline",
					     "ratio", "runs", bench_runs_json(cli, runs), "what",
					     "the same, until the CLI exits (an upper bound)"));
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
