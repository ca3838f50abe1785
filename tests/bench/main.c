// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* main.c - cellgate's benchmark program: the parts scripts/bench.sh runs, one subcommand each */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <jansson.h>

#include "apply.h"
#include "fastpath.h"
#include "send.h"
#include "shed.h"
#include "util.h"

/*
 * bench dataplane --json FILE [--cpu N] [--rounds N] [--repeat N] [--repeat-new N] [--quick] [-v]
 * bench apply --json FILE --name NAME --pin-dir DIR --watch ID[,ID...] [--runs N]
 *             -- CMD-A... -- CMD-B...
 * bench send --dst ADDR --port N [--seconds S] [--count N] [--size N] [--flows N]
 * bench shed --json FILE --name NAME --pin-dir DIR --to ADDR --port N --cells ID@ADDR,...
 *            --period-ms MS [--util PPM] [--target MS]
 *
 * Each part prints what went wrong on stderr and exits 1; figures go to the
 * JSON file as a list of entries (scripts/bench.sh merges them).
 */

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench dataplane --json FILE [--cpu N] [--rounds N] [--repeat N]\n"
		   "                       [--repeat-new N] [--conntrack N] [--quick] [-v]\n"
		   "                       [--profile FIGURE [--seconds S] [--perf-ctl FIFO]]\n"
		   "       bench apply --json FILE --name NAME --pin-dir DIR --watch ID[,ID...]\n"
		   "                   [--runs N] -- CMD-A... -- CMD-B...\n"
		   "       bench send --dst ADDR --port N [--seconds S] [--count N] [--size N]\n"
		   "                  [--flows N]\n"
		   "       bench shed --json FILE --name NAME --pin-dir DIR --to ADDR --port N\n"
		   "                  --cells ID@ADDR[,ID@ADDR...] --period-ms MS [--util PPM]\n"
		   "                  [--target MS] [--what TEXT]\n");
}

/* A decimal number in [min, max], or exit 2 naming the option. */
static long long num_arg(const char *opt, const char *s, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "bench: bad %s '%s': want %lld..%lld\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

static int cmd_dataplane(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "repeat-new", required_argument, NULL, 'N' },
		{ "conntrack", required_argument, NULL, 'C' },
		{ "profile", required_argument, NULL, 'P' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "perf-ctl", required_argument, NULL, 'F' },
		{ "quick", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct fp_opts o = { .cpu = -1,
			     .rounds = 7,
			     .repeat = 2000000,
			     .repeat_new = 50000,
			     .conntrack = 1U << 20,
			     .profile_s = 3 };
	const char *json = NULL;
	json_t *out;
	int c, err;

	while ((c = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = optarg;
			break;
		case 'c':
			o.cpu = (int)num_arg("--cpu", optarg, 0, 4095);
			break;
		case 'r':
			o.rounds = (int)num_arg("--rounds", optarg, 1, 64);
			break;
		case 'n':
			o.repeat = (uint32_t)num_arg("--repeat", optarg, 1, 100000000);
			break;
		case 'N':
			o.repeat_new = (uint32_t)num_arg("--repeat-new", optarg, 1, 10000000);
			break;
		case 'C':
			o.conntrack = (uint32_t)num_arg("--conntrack", optarg, 1024, 1U << 28);
			break;
		case 'P':
			o.profile = optarg;
			break;
		case 'F':
			o.perf_ctl = optarg;
			break;
		case 'S':
			o.profile_s = (double)num_arg("--seconds", optarg, 1, 60);
			break;
		case 'q':
			o.rounds = 3;
			o.repeat = 200000;
			o.repeat_new = 20000;
			break;
		case 'v':
			o.verbose = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!json || optind != argc) {
		usage(stderr);
		return 2;
	}
	out = json_array();
	err = bench_dataplane(&o, out);
	if (!err && bench_write_json(out, json)) {
		fprintf(stderr, "bench: cannot write '%s'\n", json);
		err = -1;
	}
	json_decref(out);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	libbpf_set_print(libbpf_quiet);
	if (!strcmp(cmd, "dataplane"))
		return cmd_dataplane(argc - 1, argv + 1);
	if (!strcmp(cmd, "apply"))
		return bench_apply_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "send"))
		return bench_send_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "shed"))
		return bench_shed_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
