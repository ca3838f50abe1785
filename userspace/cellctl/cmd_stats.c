// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_stats.c - cellctl stats: counters and rates per service, cell and reason, once or watched */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cellgate/loop.h"
#include "cellgate/stats.h"
#include "cellgate/view.h"
#include "cellctl.h"

#define STATS_MIN_INTERVAL 0.1	   /* seconds: faster than this measures the CLI, not traffic */
#define STATS_MAX_INTERVAL 3600.0  /* seconds */
#define STATS_MAX_COUNT	   1000000 /* --count ceiling */

/* One reading of the counters. */
struct sample {
	json_t *stats; /* the stats result */
	uint64_t ms;   /* monotonic time it was taken */
};

static json_t *local_stats(struct cli_local *loc)
{
	return cg_view_stats(&loc->st, loc->dp);
}

static int take(struct sample *s)
{
	int ret = cli_read("stats", local_stats, &s->stats);

	s->ms = cg_loop_now_ms();
	return ret;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Per-second rate of key between two readings of one object; -1 if unknown. */
static double rate(const json_t *prev, const json_t *cur, const char *key, double dt)
{
	if (!prev || !cur || dt <= 0)
		return -1;
	/* the library's arithmetic: a counter that went back (restarted) gives 0 */
	return cg_stats_rate(cg_stats_counter_delta(cli_u64(prev, key), cli_u64(cur, key)),
			     (uint64_t)(dt * 1e9 + 0.5));
}

/* A counter column of a stats table, and the rate column after it. */
struct stat_col {
	const char *key;  /* field of each object: "packets" */
	const char *head; /* "PACKETS" */
	const char *rate; /* "PKT RATE" */
	const char *unit; /* of the rate: "pps" */
	bool bytes;	  /* counts bytes: shown in IEC units, the rate in bits */
};

static const struct stat_col object_cols[] = {
	{ "packets", "PACKETS", "PKT RATE", "pps", false },
	{ "bytes", "BYTES", "BIT RATE", "bit/s", true },
	{ "new_flows", "NEW FLOWS", "FLOW RATE", "/s", false },
	{ "drops", "DROPS", "DROP RATE", "/s", false },
};

/* Why the cells' flows were dropped: shown only when some cell has such a drop. */
static const struct stat_col shed_cols[] = {
	{ "shed", "SHED", "SHED RATE", "/s", false },
	{ "shed_hard", "SHED HARD", "HARD RATE", "/s", false },
	{ "ceiling", "CEILING", "CEIL RATE", "/s", false },
	{ "guard", "GUARD", "GUARD RATE", "/s", false },
};

static const struct stat_col reason_cols[] = {
	{ "packets", "PACKETS", "PKT RATE", "pps", false },
	{ "bytes", "BYTES", "BIT RATE", "bit/s", true },
};

#define STATS_MAX_COLS 9 /* name + 4 counters with their rates */

static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * A table of a stats object ({name: {counters}}): one row per name (sorted
 * if sort, else in the object's order), each counter of cols with its rate
 * since prev ("-" without one).
 */
static void print_table(const char *title, const json_t *cur, const json_t *prev, double dt,
			const struct stat_col *cols, size_t ncols, bool sort)
{
	bool right[STATS_MAX_COLS] = { false };
	char buf[STATS_MAX_COLS][24];
	const char *row[STATS_MAX_COLS];
	const char **keys, *key;
	struct cli_table *t;
	size_t i = 0, k, nkeys = json_object_size(cur);
	json_t *o;

	keys = calloc(nkeys + 1, sizeof(*keys));
	if (!keys)
		return;
	json_object_foreach((json_t *)cur, key, o)
		keys[i++] = key;
	if (sort)
		qsort(keys, nkeys, sizeof(*keys), by_key);
	row[0] = title;
	for (k = 0; k < ncols; k++) {
		row[1 + 2 * k] = cols[k].head;
		row[2 + 2 * k] = cols[k].rate;
		right[1 + 2 * k] = right[2 + 2 * k] = true;
	}
	t = cli_table_new(1 + 2 * ncols, right);
	cli_table_row(t, row);
	for (i = 0; i < nkeys; i++) {
		const json_t *c = json_object_get(cur, keys[i]);
		const json_t *q = json_object_get(prev, keys[i]);

		row[0] = keys[i];
		for (k = 0; k < ncols; k++) {
			uint64_t n = cli_u64(c, cols[k].key);
			double r = rate(q, c, cols[k].key, dt);

			row[1 + 2 * k] = cols[k].bytes ? cli_bytes(n, buf[1 + 2 * k], 24) :
							 cli_count(n, buf[1 + 2 * k], 24);
			row[2 + 2 * k] = r < 0 ? NULL :
						 cli_rate(cols[k].bytes ? 8 * r : r, cols[k].unit,
							  buf[2 + 2 * k], 24);
		}
		cli_table_row(t, row);
	}
	cli_table_print(t);
	free(keys);
}

/* The cells of cells ({name: counters}) with a drop of a shed_cols reason; NULL on ENOMEM. */
static json_t *shedding_cells(const json_t *cells)
{
	json_t *o = json_object(), *c;
	const char *name;
	size_t k;

	json_object_foreach((json_t *)cells, name, c)
		for (k = 0; o && k < 4; k++)
			if (cli_u64(c, shed_cols[k].key)) {
				json_object_set(o, name, c);
				break;
			}
	return o;
}

/* The totals of cur with the rates since prev; watch adds the time of day. */
static void print_sample(const struct sample *prev, const struct sample *cur, bool watch)
{
	const json_t *ct = json_object_get(cur->stats, "conntrack"), *p = prev->stats;
	double dt = (double)(cur->ms - prev->ms) / 1000.0;
	char n1[16], n2[16], when[16] = "";
	time_t now = time(NULL);
	json_t *shedding;

	if (watch)
		strftime(when, sizeof(when), ", at %H:%M:%S", localtime(&now));
	printf("rates over %.1f s%s\n\n", dt, when);
	print_table("SERVICE", json_object_get(cur->stats, "services"),
		    json_object_get(p, "services"), dt, object_cols, 4, true);
	putchar('\n');
	print_table("CELL", json_object_get(cur->stats, "cells"), json_object_get(p, "cells"), dt,
		    object_cols, 4, true);
	putchar('\n');
	shedding = shedding_cells(json_object_get(cur->stats, "cells"));
	if (json_object_size(shedding)) {
		print_table("CELL", shedding, json_object_get(p, "cells"), dt, shed_cols, 4, true);
		putchar('\n');
	}
	json_decref(shedding);
	/* reasons in the data plane's order: verdicts grouped as the router counts them */
	print_table("REASON", json_object_get(cur->stats, "counters"),
		    json_object_get(p, "counters"), dt, reason_cols, 2, false);
	putchar('\n');
	printf("conntrack: %s of %s entries\n", cli_count(cli_u64(ct, "entries"), n1, sizeof(n1)),
	       cli_count(cli_u64(ct, "capacity"), n2, sizeof(n2)));
	fflush(stdout);
}

/* Seconds with an optional fraction, "1" or "0.5", in range. -1 with a usage error if bad. */
static int parse_interval(const char *text, double *out)
{
	size_t digits = strspn(text, "0123456789"), frac = 0;
	double v;

	if (text[digits] == '.')
		frac = strspn(text + digits + 1, "0123456789") + 1;
	if (!digits || text[digits + frac] || frac == 1) {
		cli_usage_err("bad --interval '%s': not a number of seconds", text);
		return -1;
	}
	v = strtod(text, NULL);
	if (v < STATS_MIN_INTERVAL || v > STATS_MAX_INTERVAL) {
		cli_usage_err("bad --interval '%s': must be %.1f..%.0f seconds", text,
			      STATS_MIN_INTERVAL, STATS_MAX_INTERVAL);
		return -1;
	}
	*out = v;
	return 0;
}

static int do_show(int argc, char **argv)
{
	enum { O_WATCH, O_INTERVAL, O_COUNT, O_MAX };
	struct cli_opt o[] = {
		[O_WATCH] = { .name = "--watch", .flag = true },
		[O_INTERVAL] = { .name = "--interval" },
		[O_COUNT] = { .name = "--count" },
		[O_MAX] = { .name = NULL },
	};
	struct sample prev = { 0 }, cur = { 0 };
	bool watch, tty = isatty(STDOUT_FILENO);
	double interval = 1.0;
	uint64_t count = 0, n, ms;
	int ret;

	ret = cli_parse_opts(argc, argv, o);
	if (ret)
		return ret;
	watch = o[O_WATCH].val != NULL;
	if (o[O_INTERVAL].val && parse_interval(o[O_INTERVAL].val, &interval))
		return CLI_USAGE;
	if (o[O_COUNT].val && cli_parse_u64("--count", o[O_COUNT].val, 1, STATS_MAX_COUNT, &count))
		return CLI_USAGE;
	if (o[O_COUNT].val && !watch)
		return cli_usage_err("--count needs --watch");
	ms = (uint64_t)(interval * 1000 + 0.5);

	ret = take(&prev);
	if (ret)
		return ret;
	if (!json_object_get(prev.stats, "counters")) {
		json_decref(prev.stats);
		return cli_err("no counters: nothing is pinned in '%s'", cli.pin_dir);
	}
	if (cli.json) {
		/* raw counters, one document per reading: scripts compute their own rates */
		for (n = 1;; n++) {
			ret = cli_json_out(prev.stats);
			json_decref(prev.stats);
			if (ret || !watch || (count && n >= count))
				return ret;
			sleep_ms(ms);
			ret = take(&prev);
			if (ret)
				return ret;
		}
	}
	for (n = 0; !n || (watch && (!count || n < count)); n++) {
		sleep_ms(ms - ((cg_loop_now_ms() - prev.ms) % ms));
		ret = take(&cur);
		if (ret)
			break;
		/* a terminal is redrawn in place; a pipe or file gets readings in a row */
		if (watch)
			fputs(tty ? "\033[H\033[2J" : n ? "\n" : "", stdout);
		print_sample(&prev, &cur, watch);
		json_decref(prev.stats);
		prev = cur;
		cur.stats = NULL;
	}
	json_decref(prev.stats);
	return ret;
}

static const struct cli_cmd cmds[] = {
	{ "show", do_show, "[show] [--watch] [--interval SECONDS] [--count N]",
	  "Counters and rates per service, per cell and per reason; the cells' drops by\n"
	  "shedding, ceiling and guard when there are any.\n\n"
	  "  --interval S      rates from two readings S seconds apart (default 1, 0.1..3600)\n"
	  "  --watch           redraw every interval\n"
	  "  --count N         with --watch: stop after N redraws\n"
	  "With -j: the counters at once, no rates; with --watch one document a line.\n" },
	{ NULL, NULL, NULL, NULL },
};

int do_stats(int argc, char **argv)
{
	return cli_dispatch("stats", cmds, "show", argc, argv);
}
