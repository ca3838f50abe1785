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

/* The totals of the current reading with the rates since the previous (one reading, no --watch). */
static void print_sample(const struct span *sp)
{
	const json_t *cur = sp->cur->stats;
	char n1[16], n2[16];
	json_t *shedding;

	printf("rates over %.1f s\n\n", (double)sp->d->t_ns / 1e9);
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

/* ---- the --watch dashboard: rates first, one block per kind of row ---- */

#define DASH_TOP_DROPS 5 /* drop reasons shown, the fastest first */
#define DASH_COLS      8 /* name, 5 rates, 2 totals */

/* What a dashboard row shows, counted the same for services, cells and (cell, class). */
struct dash_vals {
	uint64_t packets, bytes, new_flows, drops; /* as in the records */
	uint64_t shed; /* shed + shed_hard: flows and packets refused by shedding */
};

static void dash_of_cell(const struct cg_cell_stats *c, struct dash_vals *v)
{
	*v = (struct dash_vals){ c->packets, c->bytes, c->new_flows, c->drops,
				 c->shed + c->shed_hard };
}

static void dash_of_svc(const struct cg_svc_stats *c, struct dash_vals *v)
{
	*v = (struct dash_vals){ c->packets, c->bytes, c->new_flows, c->drops, 0 };
}

/* A record of the stats JSON (a cell's class): the keys a dash_vals counts. */
static void dash_of_json(const json_t *o, struct dash_vals *v)
{
	*v = (struct dash_vals){ cli_u64(o, "packets"), cli_u64(o, "bytes"),
				 cli_u64(o, "new_flows"), cli_u64(o, "drops"),
				 cli_u64(o, "shed") + cli_u64(o, "shed_hard") };
}

static void dash_delta(const struct dash_vals *a, const struct dash_vals *b, struct dash_vals *d)
{
	d->packets = cg_stats_counter_delta(a->packets, b->packets);
	d->bytes = cg_stats_counter_delta(a->bytes, b->bytes);
	d->new_flows = cg_stats_counter_delta(a->new_flows, b->new_flows);
	d->drops = cg_stats_counter_delta(a->drops, b->drops);
	d->shed = cg_stats_counter_delta(a->shed, b->shed);
}

/* A rate for a column that names its unit: "0" only when nothing moved, "<0.1", "12.3", "4.5k". */
static const char *dash_rate(uint64_t delta, double per_s, char *buf, size_t len)
{
	static const char *const si[] = { "", "k", "M", "G", "T", "P" };
	size_t i = 0;

	if (!delta)
		return "0";
	if (per_s < 0.05)
		return "<0.1";
	while (per_s >= 999.5 && i + 1 < sizeof(si) / sizeof(si[0])) {
		per_s /= 1000;
		i++;
	}
	snprintf(buf, len, per_s < 99.95 ? "%.1f%s" : "%.0f%s", per_s, si[i]);
	return buf;
}

/*
 * The cells of row from its first lead columns on: packets, bits, new flows,
 * drops (and shed if shed) a second over dt_ns, "-" where there is no
 * previous reading (d NULL), then the packet and drop totals if totals.
 */
static size_t dash_cells(const char **row, size_t col, const struct dash_vals *cur,
			 const struct dash_vals *d, uint64_t dt_ns, bool shed, bool totals,
			 char (*buf)[24])
{
	const uint64_t dv[5] = { d ? d->packets : 0, d ? d->bytes : 0, d ? d->new_flows : 0,
				 d ? d->drops : 0, d ? d->shed : 0 };
	size_t k;

	for (k = 0; k < (shed ? 5u : 4u); k++, col++) {
		double r = cg_stats_rate(dv[k], dt_ns);

		row[col] = !d || !dt_ns ? NULL : dash_rate(dv[k], k == 1 ? 8 * r : r, buf[col], 24);
	}
	if (totals) {
		row[col] = cli_count(cur->packets, buf[col], 24);
		col++;
		row[col] = cli_count(cur->drops, buf[col], 24);
		col++;
	}
	return col;
}

/* The sorted keys of object o (borrowed from it); NULL on ENOMEM or when empty. */
static const char **sorted_keys(const json_t *o, size_t *n)
{
	const char **keys, *key;
	json_t *v;

	*n = 0;
	keys = calloc(json_object_size(o) + 1, sizeof(*keys));
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)o, key, v)
		keys[(*n)++] = key;
	qsort(keys, *n, sizeof(*keys), by_key);
	return keys;
}

/* SERVICE or CELL rows: rates, then totals; sorted by name. */
static void dash_objects(const struct span *sp, const char *title, const char *member,
			 enum cg_stats_key kind)
{
	static const bool right[DASH_COLS] = { false, true, true, true, true, true, true, true };
	const json_t *rows = json_object_get(sp->cur->stats, member);
	const json_t *prev_rows = json_object_get(sp->prev->stats, member);
	bool cells = kind == CG_STATS_CELL;
	const char *row[DASH_COLS] = { title, "PKT/S", "BIT/S", "FLOWS/S", "DROPS/S" };
	char buf[DASH_COLS][24];
	struct cli_table *t;
	const char **keys;
	size_t i, n, col;

	keys = sorted_keys(rows, &n);
	if (!keys)
		return;
	col = 5;
	if (cells)
		row[col++] = "SHED/S";
	row[col++] = "PACKETS";
	row[col++] = "DROPS";
	t = cli_table_new(col, right);
	cli_table_row(t, row);
	for (i = 0; i < n; i++) {
		int slot = cg_stats_slot(sp->names, kind, keys[i]);
		struct dash_vals cur, prev, d;
		struct cg_cell_stats sum;

		if (slot < 0)
			continue;
		if (cells) {
			cg_stats_cell_sum(sp->cur->snap, (uint32_t)slot, &sum);
			dash_of_cell(&sum, &cur);
			cg_stats_cell_sum(sp->prev->snap, (uint32_t)slot, &sum);
			dash_of_cell(&sum, &prev);
		} else {
			dash_of_svc(&sp->cur->snap->svc[slot], &cur);
			dash_of_svc(&sp->prev->snap->svc[slot], &prev);
		}
		dash_delta(&prev, &cur, &d);
		row[0] = keys[i];
		dash_cells(row, 1, &cur, json_object_get(prev_rows, keys[i]) ? &d : NULL,
			   sp->d->t_ns, cells, true, buf);
		cli_table_row(t, row);
	}
	cli_table_print(t);
	free(keys);
}

/*
 * The (cell, class) rows: each cell's classes that have counted anything,
 * sorted by cell then class; under the header a line saying so when none
 * has (or the daemon is older and gives no classes per cell).
 */
static void dash_classes(const struct span *sp)
{
	static const bool right[DASH_COLS] = { false, false, true, true, true, true, true, true };
	const json_t *cells = json_object_get(sp->cur->stats, "cells");
	const json_t *prev_cells = json_object_get(sp->prev->stats, "cells");
	const char *row[DASH_COLS] = { "CELL",	  "CLASS",   "PKT/S",  "BIT/S",
				       "FLOWS/S", "DROPS/S", "SHED/S", "PACKETS" };
	const char **cell_keys, **class_keys;
	size_t i, j, ncells, nclasses, shown = 0;
	char buf[DASH_COLS][24];
	struct cli_table *t;

	cell_keys = sorted_keys(cells, &ncells);
	if (!cell_keys)
		return;
	t = cli_table_new(DASH_COLS, right);
	cli_table_row(t, row);
	for (i = 0; i < ncells; i++) {
		const json_t *cl = json_object_get(json_object_get(cells, cell_keys[i]), "classes");
		const json_t *prev_cl =
			json_object_get(json_object_get(prev_cells, cell_keys[i]), "classes");

		class_keys = sorted_keys(cl, &nclasses);
		for (j = 0; class_keys && j < nclasses; j++) {
			const json_t *p = json_object_get(prev_cl, class_keys[j]);
			struct dash_vals cur, prev, d;

			dash_of_json(json_object_get(cl, class_keys[j]), &cur);
			if (!cur.packets && !cur.new_flows && !cur.drops && !cur.shed)
				continue;
			dash_of_json(p, &prev);
			dash_delta(&prev, &cur, &d);
			row[0] = cell_keys[i];
			row[1] = class_keys[j];
			dash_cells(row, 2, &cur, p ? &d : NULL, sp->d->t_ns, true, false, buf);
			row[7] = cli_count(cur.packets, buf[7], 24);
			cli_table_row(t, row);
			shown++;
		}
		free(class_keys);
	}
	cli_table_print(t);
	if (!shown)
		printf("(no traffic counted by class yet)\n");
	free(cell_keys);
}

/* A drop reason and how fast it counted: the order of the top drops. */
struct dash_drop {
	const char *name; /* "drop_no_cell" */
	double rate;	  /* packets a second */
	uint64_t delta;	  /* packets in the span */
	uint64_t total;	  /* packets ever */
};

/* Fastest first, then the most ever, then by name: a stable order between redraws. */
static int by_drop_rate(const void *a, const void *b)
{
	const struct dash_drop *x = a, *y = b;

	if (x->rate != y->rate)
		return x->rate < y->rate ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The drop reasons that ever counted, the DASH_TOP_DROPS fastest; a line if none did. */
static void dash_drops(const struct span *sp)
{
	static const bool right[4] = { false, true, true, true };
	const char *row[4] = { "TOP DROPS", "PKT/S", "BIT/S", "PACKETS" };
	struct dash_drop drops[CG_STAT_MAX];
	char buf[4][24];
	struct cli_table *t;
	size_t i, n = 0;

	for (i = 0; i < CG_STAT_MAX; i++) {
		if (!CG_STAT_IS_DROP(i) || !sp->cur->snap->stats[i].packets)
			continue;
		drops[n++] = (struct dash_drop){
			.name = cg_stat_name((unsigned int)i),
			.rate = cg_stats_rate(sp->d->stats[i].packets, sp->d->t_ns),
			.delta = sp->d->stats[i].packets,
			.total = sp->cur->snap->stats[i].packets,
		};
	}
	if (!n) {
		printf("TOP DROPS: none counted\n");
		return;
	}
	qsort(drops, n, sizeof(drops[0]), by_drop_rate);
	t = cli_table_new(4, right);
	cli_table_row(t, row);
	for (i = 0; i < n && i < DASH_TOP_DROPS; i++) {
		unsigned int slot =
			(unsigned int)cg_stats_slot(sp->names, CG_STATS_REASON, drops[i].name);
		double bits = 8 * cg_stats_rate(sp->d->stats[slot].bytes, sp->d->t_ns);

		row[0] = drops[i].name;
		row[1] = dash_rate(drops[i].delta, drops[i].rate, buf[1], 24);
		row[2] = dash_rate(sp->d->stats[slot].bytes, bits, buf[2], 24);
		row[3] = cli_count(drops[i].total, buf[3], 24);
		cli_table_row(t, row);
	}
	cli_table_print(t);
	if (n > DASH_TOP_DROPS)
		printf("(%zu more drop reasons counted: cellctl stats)\n", n - DASH_TOP_DROPS);
}

/* The desired state's generation for the header; -1 when it cannot be had. */
static json_t *local_generation(struct cli_local *loc)
{
	return json_pack("{s:I}", "generation", (json_int_t)loc->st.generation);
}

static long long generation(void)
{
	json_t *st = NULL;
	long long g = -1;

	if (!cli_read("status", local_generation, &st) &&
	    json_is_integer(json_object_get(st, "generation")))
		g = (long long)cli_u64(st, "generation");
	json_decref(st);
	return g;
}

/*
 * One screen of --watch: the header (the span the rates are over, the time,
 * the interval asked for, the generation), then services, cells, their
 * classes and the top drop reasons, each block sorted, then the totals.
 */
static void print_dashboard(const struct span *sp, double interval)
{
	char n1[16], n2[16], when[16], gen[48] = "";
	time_t now = time(NULL);
	long long g = generation();

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (g >= 0)
		snprintf(gen, sizeof(gen), ", generation %lld", g);
	printf("rates over %.1f s, at %s, every %.1f s%s%s\n\n", (double)sp->d->t_ns / 1e9, when,
	       interval, gen, json_object_get(sp->cur->stats, "source") ? " (cellgated down)" : "");
	dash_objects(sp, "SERVICE", "services", CG_STATS_SERVICE);
	putchar('\n');
	dash_objects(sp, "CELL", "cells", CG_STATS_CELL);
	putchar('\n');
	dash_classes(sp);
	putchar('\n');
	dash_drops(sp);
	putchar('\n');
	printf("conntrack: %s of %s entries; moved: %s flows\n",
	       cli_count(sp->cur->snap->conn_entries, n1, sizeof(n1)),
	       cli_count(sp->cur->snap->conn_capacity, n2, sizeof(n2)),
	       cli_count(moved_total(sp->cur->stats), when, sizeof(when)));
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
		if (watch)
			print_dashboard(
				&(struct span){
					.names = names, .prev = &prev, .cur = &cur, .d = d },
				interval);
		else
			print_sample(&(struct span){
				.names = names, .prev = &prev, .cur = &cur, .d = d });
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
