// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_stats.c - cellctl stats: counters and rates per service, cell and reason, once or watched */
#include <errno.h>
#include <stddef.h>
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
	json_t *stats;		    /* the stats result: which rows there are, in which order */
	struct cg_stats_snap *snap; /* its counters, rebuilt from it (text output only) */
	uint64_t ms;		    /* monotonic time cellctl took it: paces --watch */
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

/* The snapshot of s's JSON, its names at their slots in names. */
static int rebuild(struct cg_stats_names *names, struct sample *s)
{
	char err[256];

	s->snap = cg_stats_new();
	if (!s->snap)
		return cli_err("%s", strerror(errno));
	if (cg_stats_from_json(s->stats, names, s->snap, err, sizeof(err)))
		return cli_err("%s", err);
	return CLI_OK;
}

static void sample_free(struct sample *s)
{
	json_decref(s->stats);
	cg_stats_free(s->snap);
	*s = (struct sample){ 0 };
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A counter column of a stats table, and the rate column after it. */
struct stat_col {
	size_t off;	  /* offsetof the counter in the row's record */
	const char *head; /* "PACKETS" */
	const char *rate; /* "PKT RATE" */
	const char *unit; /* of the rate: "pps" */
	bool bytes;	  /* counts bytes: shown in IEC units, the rate in bits */
};

/* The counters services and cells share, in the record type of either. */
#define OBJECT_COLS(type)                                                             \
	{ offsetof(type, packets), "PACKETS", "PKT RATE", "pps", false },             \
		{ offsetof(type, bytes), "BYTES", "BIT RATE", "bit/s", true },        \
		{ offsetof(type, new_flows), "NEW FLOWS", "FLOW RATE", "/s", false }, \
	{                                                                             \
		offsetof(type, drops), "DROPS", "DROP RATE", "/s", false              \
	}

static const struct stat_col svc_cols[] = { OBJECT_COLS(struct cg_svc_stats) };
static const struct stat_col cell_cols[] = { OBJECT_COLS(struct cg_cell_stats) };

/* Why the cells' flows were dropped: shown only when some cell has such a drop. */
static const struct stat_col shed_cols[] = {
	{ offsetof(struct cg_cell_stats, shed), "SHED", "SHED RATE", "/s", false },
	{ offsetof(struct cg_cell_stats, shed_hard), "SHED HARD", "HARD RATE", "/s", false },
	{ offsetof(struct cg_cell_stats, ceiling), "CEILING", "CEIL RATE", "/s", false },
	{ offsetof(struct cg_cell_stats, guard), "GUARD", "GUARD RATE", "/s", false },
};

static const struct stat_col reason_cols[] = {
	{ offsetof(struct cg_counter, packets), "PACKETS", "PKT RATE", "pps", false },
	{ offsetof(struct cg_counter, bytes), "BYTES", "BIT RATE", "bit/s", true },
};

#define STATS_MAX_COLS 9 /* name + 4 counters with their rates */

/* Two readings and the delta between them: what the tables are printed from. */
struct span {
	const struct cg_stats_names *names; /* slots of the rows' names */
	const struct sample *prev, *cur;
	const struct cg_stats_snap *d; /* cur - prev; d->t_ns is the time between the reads */
};

/* The record of slot of kind in s, as a struct cg_counter, cg_svc_stats or cg_cell_stats. */
static const void *record(const struct cg_stats_snap *s, enum cg_stats_key kind, int slot,
			  struct cg_cell_stats *sum)
{
	switch (kind) {
	case CG_STATS_REASON:
		return &s->stats[slot];
	case CG_STATS_SERVICE:
		return &s->svc[slot];
	case CG_STATS_CELL:
		break;
	}
	cg_stats_cell_sum(s, (uint32_t)slot, sum);
	return sum;
}

static uint64_t col_value(const void *rec, const struct stat_col *col)
{
	return *(const uint64_t *)((const char *)rec + col->off);
}

static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * A table of the rows of the object rows ({name: counters}, keys of member of
 * the stats JSON, of kind): one row per name (sorted if sort, else in the
 * object's order), each counter of cols with its rate since the previous
 * reading ("-" if that reading has no such row).
 */
static void print_table(const char *title, const struct span *sp, const char *member,
			enum cg_stats_key kind, const json_t *rows, const struct stat_col *cols,
			size_t ncols, bool sort)
{
	const json_t *prev_rows = json_object_get(sp->prev->stats, member);
	bool right[STATS_MAX_COLS] = { false };
	char buf[STATS_MAX_COLS][24];
	const char *row[STATS_MAX_COLS];
	const char **keys, *key;
	struct cli_table *t;
	size_t i = 0, k, nkeys = json_object_size(rows);
	json_t *o;

	keys = calloc(nkeys + 1, sizeof(*keys));
	if (!keys)
		return;
	json_object_foreach((json_t *)rows, key, o)
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
		int slot = cg_stats_slot(sp->names, kind, keys[i]);
		bool has_rate = sp->d->t_ns && json_object_get(prev_rows, keys[i]);
		struct cg_cell_stats cur_sum, d_sum;
		const void *cur, *d;

		if (slot < 0) /* cannot be: rebuilding the reading gave every row a slot */
			continue;
		cur = record(sp->cur->snap, kind, slot, &cur_sum);
		d = record(sp->d, kind, slot, &d_sum);
		row[0] = keys[i];
		for (k = 0; k < ncols; k++) {
			uint64_t n = col_value(cur, &cols[k]);
			double r = cg_stats_rate(col_value(d, &cols[k]), sp->d->t_ns);

			row[1 + 2 * k] = cols[k].bytes ? cli_bytes(n, buf[1 + 2 * k], 24) :
							 cli_count(n, buf[1 + 2 * k], 24);
			row[2 + 2 * k] = !has_rate ? NULL :
						     cli_rate(cols[k].bytes ? 8 * r : r,
							      cols[k].unit, buf[2 + 2 * k], 24);
		}
		cli_table_row(t, row);
	}
	cli_table_print(t);
	free(keys);
}

/* The cells of the current reading with a drop of a shed_cols reason; NULL on ENOMEM. */
static json_t *shedding_cells(const struct span *sp)
{
	const json_t *cells = json_object_get(sp->cur->stats, "cells");
	json_t *o = json_object(), *c;
	struct cg_cell_stats sum;
	const char *name;
	size_t k;
	int slot;

	json_object_foreach((json_t *)cells, name, c) {
		slot = cg_stats_slot(sp->names, CG_STATS_CELL, name);
		if (slot < 0)
			continue;
		cg_stats_cell_sum(sp->cur->snap, (uint32_t)slot, &sum);
		for (k = 0; o && k < 4; k++)
			if (col_value(&sum, &shed_cols[k])) {
				json_object_set(o, name, c);
				break;
			}
	}
	return o;
}

/*
 * The cells flows were moved off (picked again because the cell could no
 * longer hold them), with the rate since the previous reading; nothing if
 * none was. The total is printed by print_sample.
 */
static void print_moves(const struct span *sp)
{
	const json_t *cells = json_object_get(sp->cur->stats, "cells");
	const json_t *prev_cells = json_object_get(sp->prev->stats, "cells");
	static const bool right[3] = { false, true, true };
	const char *row[3], **keys, *key;
	size_t i = 0, n = 0, nkeys = json_object_size(cells);
	struct cli_table *t;
	char b1[24], b2[24];
	json_t *c;
	int slot;

	keys = calloc(nkeys + 1, sizeof(*keys));
	if (!keys)
		return;
	json_object_foreach((json_t *)cells, key, c) {
		slot = cg_stats_slot(sp->names, CG_STATS_CELL, key);
		if (slot >= 0 && sp->cur->snap->moved[slot])
			keys[n++] = key;
	}
	if (!n) {
		free(keys);
		return;
	}
	qsort(keys, n, sizeof(*keys), by_key);
	t = cli_table_new(3, right);
	row[0] = "CELL";
	row[1] = "MOVED OFF";
	row[2] = "MOVE RATE";
	cli_table_row(t, row);
	for (i = 0; i < n; i++) {
		slot = cg_stats_slot(sp->names, CG_STATS_CELL, keys[i]);
		row[0] = keys[i];
		row[1] = cli_count(sp->cur->snap->moved[slot], b1, sizeof(b1));
		row[2] = !sp->d->t_ns || !json_object_get(prev_cells, keys[i]) ?
				 NULL :
				 cli_rate(cg_stats_rate(sp->d->moved[slot], sp->d->t_ns), "/s", b2,
					  sizeof(b2));
		cli_table_row(t, row);
	}
	cli_table_print(t);
	putchar('\n');
	free(keys);
}

/* The stats' "moved" total, 0 if absent (an older daemon). */
static uint64_t moved_total(const json_t *stats)
{
	const json_t *v = json_object_get(stats, "moved");

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

/* The totals of the current reading with the rates since the previous; watch adds the time of day. */
static void print_sample(const struct span *sp, bool watch)
{
	const json_t *cur = sp->cur->stats;
	char n1[16], n2[16], when[16] = "";
	time_t now = time(NULL);
	json_t *shedding;

	if (watch)
		strftime(when, sizeof(when), ", at %H:%M:%S", localtime(&now));
	printf("rates over %.1f s%s\n\n", (double)sp->d->t_ns / 1e9, when);
	print_table("SERVICE", sp, "services", CG_STATS_SERVICE, json_object_get(cur, "services"),
		    svc_cols, 4, true);
	putchar('\n');
	print_table("CELL", sp, "cells", CG_STATS_CELL, json_object_get(cur, "cells"), cell_cols, 4,
		    true);
	putchar('\n');
	shedding = shedding_cells(sp);
	if (json_object_size(shedding)) {
		print_table("CELL", sp, "cells", CG_STATS_CELL, shedding, shed_cols, 4, true);
		putchar('\n');
	}
	json_decref(shedding);
	print_moves(sp);
	/* reasons in the data plane's order: verdicts grouped as the router counts them */
	print_table("REASON", sp, "counters", CG_STATS_REASON, json_object_get(cur, "counters"),
		    reason_cols, 2, false);
	putchar('\n');
	printf("conntrack: %s of %s entries\n",
	       cli_count(sp->cur->snap->conn_entries, n1, sizeof(n1)),
	       cli_count(sp->cur->snap->conn_capacity, n2, sizeof(n2)));
	printf("moved: %s flows picked again off a cell that could not hold them\n",
	       cli_count(moved_total(sp->cur->stats), n1, sizeof(n1)));
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

/* --json: raw counters, one document per reading; scripts compute their own rates. */
static int show_json(struct sample *first, bool watch, uint64_t count, uint64_t ms)
{
	struct sample s = *first;
	uint64_t n;
	int ret;

	for (n = 1;; n++) {
		ret = cli_json_out(s.stats);
		json_decref(s.stats);
		if (ret || !watch || (count && n >= count))
			return ret;
		sleep_ms(ms);
		ret = take(&s);
		if (ret)
			return ret;
	}
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
	struct cg_stats_names *names = NULL;
	struct cg_stats_snap *d = NULL;
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
	if (cli.json)
		return show_json(&prev, watch, count, ms);

	/* rates come from the snapshots' own read times, not from when cellctl got them */
	names = malloc(sizeof(*names));
	d = cg_stats_new();
	if (!names || !d) {
		ret = cli_err("%s", strerror(ENOMEM));
		goto out;
	}
	cg_stats_names_init(names, NULL);
	ret = rebuild(names, &prev);
	for (n = 0; !ret && (!n || (watch && (!count || n < count))); n++) {
		sleep_ms(ms - ((cg_loop_now_ms() - prev.ms) % ms));
		ret = take(&cur);
		if (!ret)
			ret = rebuild(names, &cur);
		if (ret)
			break;
		cg_stats_delta(prev.snap, cur.snap, d);
		/* a terminal is redrawn in place; a pipe or file gets readings in a row */
		if (watch && tty) {
			/* the one escape sequence cellctl sends: past the escaping stdout (main.c) */
			static const char clear[] = "\033[H\033[2J";

			fflush(stdout);
			if (write(STDOUT_FILENO, clear, sizeof(clear) - 1) < 0)
				ret = -errno;
		} else if (watch && n) {
			fputc('\n', stdout);
		}
		print_sample(&(struct span){ .names = names, .prev = &prev, .cur = &cur, .d = d },
			     watch);
		sample_free(&prev);
		prev = cur;
		cur = (struct sample){ 0 };
	}
out:
	sample_free(&cur);
	sample_free(&prev);
	cg_stats_free(d);
	free(names);
	return ret;
}

static const struct cli_cmd cmds[] = {
	{ "show", do_show, "[show] [--watch] [--interval SECONDS] [--count N]",
	  "Counters and rates per service, per cell and per reason; the cells' drops by\n"
	  "shedding, ceiling and guard, and the flows moved off cells (picked again\n"
	  "because their cell could no longer hold them), when there are any.\n\n"
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
