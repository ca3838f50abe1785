// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* metrics.c - the Prometheus text exposition of one counter snapshot and the desired state */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/dataplane.h"
#include "cellgate/health.h"
#include "cellgate/metrics.h"
#include "cellgate/names.h"

#define LBL_MAX 6 /* labels of one sample at most */

/* One label of a sample. */
struct lbl {
	const char *k; /* its name */
	const char *v; /* its value, escaped when written */
};

/* One counter of a record: the series it is, and where it lies in the struct. */
struct series {
	const char *name; /* cellgate_..._total */
	const char *help; /* its HELP line */
	size_t off;	  /* offsetof the __u64 in the record */
};

static const struct series svc_series[] = {
	{ "cellgate_service_packets_total", "Packets of the service forwarded to a cell.",
	  offsetof(struct cg_svc_stats, packets) },
	{ "cellgate_service_received_bytes_total", "Bytes of those packets as received.",
	  offsetof(struct cg_svc_stats, bytes) },
	{ "cellgate_service_new_flows_total", "Connection entries created for the service.",
	  offsetof(struct cg_svc_stats, new_flows) },
	{ "cellgate_service_dropped_packets_total", "Packets to the service dropped, any reason.",
	  offsetof(struct cg_svc_stats, drops) },
	{ "cellgate_service_icmp_errors_total", "ICMP errors about the service's flows forwarded.",
	  offsetof(struct cg_svc_stats, icmp) },
	{ "cellgate_service_too_big_total",
	  "Packets answered with ICMP too big or dropped as too big.",
	  offsetof(struct cg_svc_stats, too_big) },
	{ "cellgate_service_syn_retries_total", "SYNs of flows already in the SYN state.",
	  offsetof(struct cg_svc_stats, retries) },
};

static const struct series cell_series[] = {
	{ "cellgate_cell_packets_total", "Packets forwarded to the cell, by class.",
	  offsetof(struct cg_cell_stats, packets) },
	{ "cellgate_cell_received_bytes_total", "Bytes of those packets as received.",
	  offsetof(struct cg_cell_stats, bytes) },
	{ "cellgate_cell_new_flows_total", "Flows pinned to the cell, by class.",
	  offsetof(struct cg_cell_stats, new_flows) },
	{ "cellgate_cell_dropped_packets_total", "Packets of the cell's flows dropped, any reason.",
	  offsetof(struct cg_cell_stats, drops) },
};

/* The refusals of a (cell, class): one series, the reason a label. */
static const struct series refused_reasons[] = {
	{ "shed", NULL, offsetof(struct cg_cell_stats, shed) },
	{ "shed_hard", NULL, offsetof(struct cg_cell_stats, shed_hard) },
	{ "ceiling", NULL, offsetof(struct cg_cell_stats, ceiling) },
	{ "guard", NULL, offsetof(struct cg_cell_stats, guard) },
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t u64_at(const void *rec, size_t off)
{
	return *(const uint64_t *)((const char *)rec + off);
}

const char *cg_metrics_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (!len)
		return buf;
	for (; *s; s++) {
		const char *e = NULL;
		size_t n;

		if (*s == '\\')
			e = "\\\\";
		else if (*s == '"')
			e = "\\\"";
		else if (*s == '\n')
			e = "\\n";
		n = e ? 2 : 1;
		if (o + n >= len)
			break;
		if (e)
			memcpy(buf + o, e, 2);
		else
			buf[o] = *s;
		o += n;
	}
	buf[o] = '\0';
	return buf;
}

/* s escaped as a label value, straight into f. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* The HELP and TYPE lines of a family; every sample of it follows at once. */
static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels} without the value. */
static void name_labels(FILE *f, const char *name, const struct lbl *l, size_t n)
{
	fputs(name, f);
	if (!n)
		return;
	fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "", l[i].k);
		put_escaped(f, l[i].v);
		fputc('"', f);
	}
	fputc('}', f);
}

static void put_u64(FILE *f, const char *name, const struct lbl *l, size_t n, uint64_t v)
{
	name_labels(f, name, l, n);
	fprintf(f, " %llu\n", (unsigned long long)v);
}

/* A share in parts per million, written exactly as a decimal fraction. */
static void put_ppm(FILE *f, const char *name, const struct lbl *l, size_t n, uint64_t ppm)
{
	name_labels(f, name, l, n);
	fprintf(f, " %llu.%06llu\n", (unsigned long long)(ppm / 1000000),
		(unsigned long long)(ppm % 1000000));
}

/* The (name, region) labels of cell i, the start of every cell sample. */
static size_t cell_lbl(const struct cg_cell_cfg *c, struct lbl *l)
{
	l[0] = (struct lbl){ "cell", c->name };
	l[1] = (struct lbl){ "region", c->region };
	return 2;
}

static void render_build(FILE *f, const struct cg_metrics_in *in)
{
	const struct cg_state *st = in->st;
	char digest[16];
	struct lbl l[1];

	head(f, "cellgate_build_info", "gauge", "The build of cellgated, as a label; always 1.");
	l[0] = (struct lbl){ "version", in->version ? in->version : "" };
	put_u64(f, "cellgate_build_info", l, 1, 1);
	head(f, "cellgate_uptime_seconds", "gauge", "Seconds since cellgated started.");
	name_labels(f, "cellgate_uptime_seconds", NULL, 0);
	fprintf(f, " %llu.%03llu\n", (unsigned long long)(in->uptime_ms / 1000),
		(unsigned long long)(in->uptime_ms % 1000));
	head(f, "cellgate_fail_static", "gauge",
	     "1 while cellgated is fail-static: the data plane is left as it is.");
	put_u64(f, "cellgate_fail_static", NULL, 0, in->fail_static);
	head(f, "cellgate_state_generation", "gauge",
	     "Generation of the desired state the tables were built from (bumped by each change).");
	put_u64(f, "cellgate_state_generation", NULL, 0, st->generation);
	head(f, "cellgate_config_digest_info", "gauge",
	     "Digest of the desired state's canonical form, as a label; always 1.");
	snprintf(digest, sizeof(digest), "%08x", in->digest);
	l[0] = (struct lbl){ "digest", digest };
	put_u64(f, "cellgate_config_digest_info", l, 1, 1);
	head(f, "cellgate_config_objects", "gauge", "Objects of the desired state, by kind.");
	l[0] = (struct lbl){ "kind", "regions" };
	put_u64(f, "cellgate_config_objects", l, 1, st->nregions);
	l[0] = (struct lbl){ "kind", "cells" };
	put_u64(f, "cellgate_config_objects", l, 1, st->ncells);
	l[0] = (struct lbl){ "kind", "services" };
	put_u64(f, "cellgate_config_objects", l, 1, st->nservices);
	l[0] = (struct lbl){ "kind", "classes" };
	put_u64(f, "cellgate_config_objects", l, 1, st->nclasses);
	l[0] = (struct lbl){ "kind", "shed" };
	put_u64(f, "cellgate_config_objects", l, 1, st->nshed);
}

/* The verdict of a counter slot: drop, pass (to the kernel) or tx (sent back out). */
static const char *stat_verdict(unsigned int s)
{
	if (CG_STAT_IS_DROP(s))
		return "drop";
	return strncmp(cg_stat_name(s), "pass_", 5) ? "tx" : "pass";
}

static void render_counters(FILE *f, const struct cg_metrics_in *in)
{
	const struct cg_stats_snap *s = in->snap;
	struct lbl l[2];

	if (!in->counters_read)
		return;
	head(f, "cellgate_packets_total", "counter",
	     "Packets the router saw, by verdict and reason.");
	for (unsigned int i = 0; i < CG_STAT_MAX; i++) {
		l[0] = (struct lbl){ "verdict", stat_verdict(i) };
		l[1] = (struct lbl){ "reason", cg_stat_name(i) };
		put_u64(f, "cellgate_packets_total", l, 2, s->stats[i].packets);
	}
	head(f, "cellgate_received_bytes_total", "counter",
	     "Bytes of those packets as received, by verdict and reason.");
	for (unsigned int i = 0; i < CG_STAT_MAX; i++) {
		l[0] = (struct lbl){ "verdict", stat_verdict(i) };
		l[1] = (struct lbl){ "reason", cg_stat_name(i) };
		put_u64(f, "cellgate_received_bytes_total", l, 2, s->stats[i].bytes);
	}
}

static void render_services(FILE *f, const struct cg_metrics_in *in)
{
	const struct cg_state *st = in->st;
	struct lbl l[1];

	head(f, "cellgate_service_cells", "gauge", "Cells the service's table is built over.");
	for (size_t i = 0; i < st->nservices; i++) {
		l[0] = (struct lbl){ "service", st->services[i].name };
		put_u64(f, "cellgate_service_cells", l, 1, st->services[i].ncells);
	}
	if (!in->snap)
		return;
	for (size_t k = 0; k < NELEMS(svc_series); k++) {
		head(f, svc_series[k].name, "counter", svc_series[k].help);
		for (size_t i = 0; i < st->nservices; i++) {
			const struct cg_service_cfg *sv = &st->services[i];

			if (sv->id >= CG_MAX_SERVICES)
				continue;
			l[0] = (struct lbl){ "service", sv->name };
			put_u64(f, svc_series[k].name, l, 1,
				u64_at(&in->snap->svc[sv->id], svc_series[k].off));
		}
	}
}

static void render_cell_counters(FILE *f, const struct cg_metrics_in *in)
{
	const struct cg_state *st = in->st;
	const struct cg_stats_snap *s = in->snap;
	struct lbl l[LBL_MAX];
	size_t n;

	for (size_t k = 0; k < NELEMS(cell_series); k++) {
		head(f, cell_series[k].name, "counter", cell_series[k].help);
		for (size_t i = 0; i < st->ncells; i++) {
			if (st->cells[i].id >= CG_MAX_CELLS)
				continue;
			n = cell_lbl(&st->cells[i], l);
			for (size_t c = 0; c < st->nclasses; c++) {
				l[n] = (struct lbl){ "class", st->classes[c].name };
				put_u64(f, cell_series[k].name, l, n + 1,
					u64_at(&s->cell[st->cells[i].id][st->classes[c].id],
					       cell_series[k].off));
			}
		}
	}
	head(f, "cellgate_cell_refused_total", "counter",
	     "New flows or packets of the cell refused, by class and reason (shed, shed_hard, "
	     "ceiling, guard).");
	for (size_t i = 0; i < st->ncells; i++) {
		if (st->cells[i].id >= CG_MAX_CELLS)
			continue;
		n = cell_lbl(&st->cells[i], l);
		for (size_t c = 0; c < st->nclasses; c++) {
			l[n] = (struct lbl){ "class", st->classes[c].name };
			for (size_t r = 0; r < NELEMS(refused_reasons); r++) {
				l[n + 1] = (struct lbl){ "reason", refused_reasons[r].name };
				put_u64(f, "cellgate_cell_refused_total", l, n + 2,
					u64_at(&s->cell[st->cells[i].id][st->classes[c].id],
					       refused_reasons[r].off));
			}
		}
	}
	head(f, "cellgate_cell_moved_flows_total", "counter",
	     "Flows picked again because their cell could not hold them.");
	for (size_t i = 0; i < st->ncells; i++) {
		if (st->cells[i].id >= CG_MAX_CELLS)
			continue;
		n = cell_lbl(&st->cells[i], l);
		put_u64(f, "cellgate_cell_moved_flows_total", l, n, s->moved[st->cells[i].id]);
	}
}

static void render_cells(FILE *f, const struct cg_metrics_in *in)
{
	static const char *const health_states[] = { "unknown", "up", "down" };
	const struct cg_state *st = in->st;
	struct lbl l[LBL_MAX];
	size_t n;

	head(f, "cellgate_cell_info", "gauge",
	     "A cell of the desired state with its state (active, draining, down); always 1.");
	for (size_t i = 0; i < st->ncells; i++) {
		n = cell_lbl(&st->cells[i], l);
		l[n] = (struct lbl){ "state", cg_enum_name(cg_cell_state_names, st->cells[i].state,
							   "unknown") };
		put_u64(f, "cellgate_cell_info", l, n + 1, 1);
	}
	head(f, "cellgate_cell_weight", "gauge", "The cell's Maglev weight.");
	for (size_t i = 0; i < st->ncells; i++) {
		n = cell_lbl(&st->cells[i], l);
		put_u64(f, "cellgate_cell_weight", l, n, st->cells[i].weight);
	}
	head(f, "cellgate_cell_capacity", "gauge",
	     "New flows a second the cell can carry; 0 = unknown.");
	for (size_t i = 0; i < st->ncells; i++) {
		n = cell_lbl(&st->cells[i], l);
		put_u64(f, "cellgate_cell_capacity", l, n, st->cells[i].capacity);
	}
	head(f, "cellgate_cell_health", "gauge",
	     "1 for the cell's health state (unknown, up, down), 0 for the others.");
	for (size_t i = 0; i < st->ncells; i++) {
		uint8_t h = in->health ? in->health[i] : CG_HEALTH_UNKNOWN;

		n = cell_lbl(&st->cells[i], l);
		for (size_t k = 0; k < NELEMS(health_states); k++) {
			l[n] = (struct lbl){ "state", health_states[k] };
			put_u64(f, "cellgate_cell_health", l, n + 1, h == k);
		}
	}
	if (in->snap)
		render_cell_counters(f, in);
}

static void render_regions(FILE *f, const struct cg_metrics_in *in)
{
	static const uint8_t states[] = { CG_REGION_ACTIVE, CG_REGION_DRAINING, CG_REGION_EVACUATED,
					  CG_REGION_RESTORING };
	const struct cg_state *st = in->st;
	struct lbl l[2];

	head(f, "cellgate_region_cost", "gauge", "Locality cost of the region from this LB.");
	for (size_t i = 0; i < st->nregions; i++) {
		l[0] = (struct lbl){ "region", st->regions[i].name };
		put_u64(f, "cellgate_region_cost", l, 1, st->regions[i].cost);
	}
	head(f, "cellgate_region_state", "gauge",
	     "1 for the region's state (active, draining, evacuated, restoring), 0 for the others.");
	for (size_t i = 0; i < st->nregions; i++) {
		uint8_t cur = CG_REGION_ACTIVE;

		for (size_t e = 0; e < st->nevacs; e++)
			if (!strcmp(st->evacs[e].region, st->regions[i].name))
				cur = st->evacs[e].state;
		l[0] = (struct lbl){ "region", st->regions[i].name };
		for (size_t k = 0; k < NELEMS(states); k++) {
			l[1] = (struct lbl){ "state",
					     cg_enum_name(cg_region_state_names, states[k], "?") };
			put_u64(f, "cellgate_region_state", l, 2, cur == states[k]);
		}
	}
}

static void render_classes(FILE *f, const struct cg_metrics_in *in)
{
	const struct cg_state *st = in->st;
	char id[12];
	struct lbl l[3];

	head(f, "cellgate_class_info", "gauge",
	     "A class with its id and whether the controller may shed it; always 1.");
	for (size_t c = 0; c < st->nclasses; c++) {
		snprintf(id, sizeof(id), "%u", st->classes[c].id);
		l[0] = (struct lbl){ "class", st->classes[c].name };
		l[1] = (struct lbl){ "id", id };
		l[2] = (struct lbl){ "protected", st->classes[c].protected ? "true" : "false" };
		put_u64(f, "cellgate_class_info", l, 3, 1);
	}
}

static void render_shed(FILE *f, const struct cg_metrics_in *in)
{
	const struct cg_state *st = in->st;
	struct lbl l[LBL_MAX];

	head(f, "cellgate_shed_level_ratio", "gauge",
	     "An operator's shed level: the share of new flows of (cell, class) refused, with who "
	     "set it and why.");
	for (size_t i = 0; i < st->nshed; i++) {
		const struct cg_shed_cfg *e = &st->shed[i];
		const struct cg_class_cfg *k = cg_state_class_by_id(st, e->class);

		l[0] = (struct lbl){ "cell", e->cell };
		l[1] = (struct lbl){ "class", k ? k->name : "?" };
		l[2] = (struct lbl){ "hard", e->hard ? "true" : "false" };
		l[3] = (struct lbl){ "by", e->by };
		l[4] = (struct lbl){ "reason", e->reason };
		put_ppm(f, "cellgate_shed_level_ratio", l, 5, e->level_ppm);
	}
	head(f, "cellgate_shed_expires_timestamp_seconds", "gauge",
	     "Unix time an operator's shed level stops applying; 0 = permanent.");
	for (size_t i = 0; i < st->nshed; i++) {
		const struct cg_shed_cfg *e = &st->shed[i];
		const struct cg_class_cfg *k = cg_state_class_by_id(st, e->class);

		l[0] = (struct lbl){ "cell", e->cell };
		l[1] = (struct lbl){ "class", k ? k->name : "?" };
		put_u64(f, "cellgate_shed_expires_timestamp_seconds", l, 2,
			e->expires > 0 ? (uint64_t)e->expires : 0);
	}
}

static void render_bp(FILE *f, const struct cg_metrics_in *in)
{
	const struct cg_state *st = in->st;
	struct lbl l[LBL_MAX];
	size_t n;

	head(f, "cellgate_backpressure_target_ratio", "gauge",
	     "Load the controller keeps each cell at or under, share of its capacity.");
	put_ppm(f, "cellgate_backpressure_target_ratio", NULL, 0, st->bp.target_ppm);
	if (!in->bp)
		return;
	head(f, "cellgate_backpressure_mode", "gauge",
	     "1 for the controller's mode of the cell (auto, manual, off), 0 for the others.");
	for (size_t i = 0; i < st->ncells; i++) {
		if (!in->bp[i].valid)
			continue;
		n = cell_lbl(&st->cells[i], l);
		for (unsigned int m = CG_BP_AUTO; m <= CG_BP_OFF; m++) {
			l[n] = (struct lbl){ "mode", cg_enum_name(cg_bp_mode_names, m, "?") };
			put_u64(f, "cellgate_backpressure_mode", l, n + 1, in->bp[i].mode == m);
		}
	}
	head(f, "cellgate_backpressure_load_known", "gauge",
	     "1 while the cell's load is known (a report fresher than stale_ms).");
	for (size_t i = 0; i < st->ncells; i++) {
		if (!in->bp[i].valid)
			continue;
		n = cell_lbl(&st->cells[i], l);
		put_u64(f, "cellgate_backpressure_load_known", l, n, in->bp[i].known);
	}
	head(f, "cellgate_backpressure_load_ratio", "gauge",
	     "The cell's smoothed reported load, share of its capacity (while known).");
	for (size_t i = 0; i < st->ncells; i++) {
		if (!in->bp[i].valid || !in->bp[i].known)
			continue;
		n = cell_lbl(&st->cells[i], l);
		put_ppm(f, "cellgate_backpressure_load_ratio", l, n, in->bp[i].load_ppm);
	}
	head(f, "cellgate_backpressure_last_report_ratio", "gauge",
	     "The load the cell's last accepted report gave, unsmoothed.");
	for (size_t i = 0; i < st->ncells; i++) {
		if (!in->bp[i].valid || !in->bp[i].accepted)
			continue;
		n = cell_lbl(&st->cells[i], l);
		put_ppm(f, "cellgate_backpressure_last_report_ratio", l, n, in->bp[i].last_ppm);
	}
	head(f, "cellgate_backpressure_ladder", "gauge",
	     "Position of the cell on the shed ladder, in classes.");
	for (size_t i = 0; i < st->ncells; i++) {
		if (!in->bp[i].valid)
			continue;
		n = cell_lbl(&st->cells[i], l);
		put_ppm(f, "cellgate_backpressure_ladder", l, n, in->bp[i].ladder_ppm);
	}
	head(f, "cellgate_backpressure_level_ratio", "gauge",
	     "A level the controller set (mode auto) or advises (mode manual) on (cell, class).");
	for (size_t i = 0; i < st->ncells; i++) {
		if (!in->bp[i].valid)
			continue;
		n = cell_lbl(&st->cells[i], l);
		l[n + 1] = (struct lbl){ "by", "controller" };
		for (size_t c = 0; c < st->nclasses; c++) {
			l[n] = (struct lbl){ "class", st->classes[c].name };
			put_ppm(f, "cellgate_backpressure_level_ratio", l, n + 2,
				in->bp[i].level_ppm[st->classes[c].id]);
		}
	}
	head(f, "cellgate_backpressure_reports_total", "counter",
	     "Cell load reports received, by result (accepted, refused).");
	for (size_t i = 0; i < st->ncells; i++) {
		if (!in->bp[i].valid)
			continue;
		n = cell_lbl(&st->cells[i], l);
		l[n] = (struct lbl){ "result", "accepted" };
		put_u64(f, "cellgate_backpressure_reports_total", l, n + 1, in->bp[i].accepted);
		l[n] = (struct lbl){ "result", "refused" };
		put_u64(f, "cellgate_backpressure_reports_total", l, n + 1, in->bp[i].refused);
	}
}

static void render_conntrack(FILE *f, const struct cg_metrics_in *in)
{
	const struct cg_stats_snap *s = in->snap;

	head(f, "cellgate_conntrack_entries", "gauge", "Connection entries in use.");
	put_u64(f, "cellgate_conntrack_entries", NULL, 0, s->conn_entries);
	head(f, "cellgate_conntrack_capacity", "gauge", "Size of the connection table.");
	put_u64(f, "cellgate_conntrack_capacity", NULL, 0, s->conn_capacity);
	head(f, "cellgate_conntrack_occupancy_ratio", "gauge",
	     "Share of the connection table in use.");
	put_ppm(f, "cellgate_conntrack_occupancy_ratio", NULL, 0,
		s->conn_capacity ? s->conn_entries * 1000000ULL / s->conn_capacity : 0);
}

int cg_metrics_render(const struct cg_metrics_in *in, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	*out = NULL;
	*len = 0;
	f = open_memstream(&buf, &n);
	if (!f)
		return -ENOMEM;
	render_build(f, in);
	if (in->snap)
		render_counters(f, in);
	render_services(f, in);
	render_cells(f, in);
	render_regions(f, in);
	render_classes(f, in);
	render_shed(f, in);
	render_bp(f, in);
	if (in->snap)
		render_conntrack(f, in);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return -ENOMEM;
	}
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = n;
	return 0;
}
