// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stats_view.c - the JSON of `cellctl stats`, built from one counter snapshot */
#include <stdint.h>
#include <time.h>

#include "cellgate/names.h"
#include "cellgate/stats.h"
#include "cellgate/view.h"

/* Monotonic now for the snapshot's stamp (a label here, never a decision). */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

json_t *cg_view_stats(const struct cg_state *st, struct cg_dp *dp)
{
	struct cg_stats_snap *s;
	json_t *o, *counters, *svcs, *cells;
	int err;
	size_t i;

	o = json_object();
	if (!o || !dp)
		return o;
	s = cg_stats_new();
	if (!s) {
		json_decref(o);
		return NULL;
	}
	err = cg_stats_read(dp, s, mono_ns());

	counters = json_object();
	if (!err)
		for (i = 0; i < CG_STAT_MAX; i++)
			json_object_set_new(counters, cg_stat_name((unsigned int)i),
					    json_pack("{s:I, s:I}", "packets",
						      (json_int_t)s->stats[i].packets, "bytes",
						      (json_int_t)s->stats[i].bytes));
	json_object_set_new(o, "counters", counters);

	svcs = json_object();
	for (i = 0; i < st->nservices; i++) {
		const struct cg_svc_stats *ss;

		if (st->services[i].id >= CG_MAX_SERVICES)
			continue;
		ss = &s->svc[st->services[i].id];
		json_object_set_new(
			svcs, st->services[i].name,
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "packets",
				  (json_int_t)ss->packets, "bytes", (json_int_t)ss->bytes,
				  "new_flows", (json_int_t)ss->new_flows, "drops",
				  (json_int_t)ss->drops, "icmp", (json_int_t)ss->icmp, "too_big",
				  (json_int_t)ss->too_big, "retries", (json_int_t)ss->retries));
	}
	json_object_set_new(o, "services", svcs);

	cells = json_object();
	for (i = 0; i < st->ncells; i++) {
		struct cg_cell_stats cs;

		cg_stats_cell_sum(s, st->cells[i].id, &cs);
		json_object_set_new(cells, st->cells[i].name,
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "packets",
					      (json_int_t)cs.packets, "bytes", (json_int_t)cs.bytes,
					      "new_flows", (json_int_t)cs.new_flows, "drops",
					      (json_int_t)cs.drops, "shed", (json_int_t)cs.shed,
					      "shed_hard", (json_int_t)cs.shed_hard, "ceiling",
					      (json_int_t)cs.ceiling, "guard",
					      (json_int_t)cs.guard));
	}
	json_object_set_new(o, "cells", cells);

	json_object_set_new(o, "conntrack",
			    json_pack("{s:I, s:I}", "entries", (json_int_t)s->conn_entries,
				      "capacity", (json_int_t)s->conn_capacity));
	cg_stats_free(s);
	return o;
}
