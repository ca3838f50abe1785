// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stats.c - the snapshot layer: read every counter once, subtract two reads, make rates */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/state.h"
#include "cellgate/stats.h"

struct cg_stats_snap *cg_stats_new(void)
{
	struct cg_stats_snap *s = calloc(1, sizeof(*s));

	if (!s)
		errno = ENOMEM;
	return s;
}

void cg_stats_free(struct cg_stats_snap *s)
{
	free(s);
}

int cg_stats_read(struct cg_dp *dp, struct cg_stats_snap *s, uint64_t now_ns)
{
	uint32_t i, class;
	int err;

	memset(s, 0, sizeof(*s));
	s->t_ns = now_ns;
	if (!dp)
		return -EINVAL;
	err = cg_dp_stats_read(dp, s->stats);
	if (err)
		memset(s->stats, 0, sizeof(s->stats));
	for (i = 0; i < CG_MAX_SERVICES; i++)
		if (cg_dp_svc_stats_read(dp, i, &s->svc[i]))
			memset(&s->svc[i], 0, sizeof(s->svc[i]));
	for (i = 0; i < CG_MAX_CELLS; i++)
		for (class = 0; class < CG_MAX_CLASSES; class ++)
			if (cg_dp_cell_stats_read(dp, i, class, &s->cell[i][class]))
				memset(&s->cell[i][class], 0, sizeof(s->cell[i][class]));
	for (i = 0; i < CG_MAX_CELLS; i++)
		cg_dp_cell_moves_read(dp, i, &s->moved[i]); /* 0 if it cannot be read */
	cg_dp_conn_count(dp, &s->conn_entries);
	s->conn_capacity = cg_dp_conn_capacity(dp);
	return err;
}

void cg_stats_read_cells(struct cg_dp *dp, const struct cg_state *st, struct cg_stats_snap *s,
			 uint64_t now_ns)
{
	memset(s, 0, sizeof(*s));
	s->t_ns = now_ns;
	for (size_t i = 0; dp && i < st->ncells; i++) {
		uint32_t id = st->cells[i].id;

		for (uint32_t class = 0; id < CG_MAX_CELLS && class < CG_MAX_CLASSES; class ++)
			if (cg_dp_cell_stats_read(dp, id, class, &s->cell[id][class]))
				memset(&s->cell[id][class], 0, sizeof(s->cell[id][class]));
	}
}

int cg_stats_read_state(struct cg_dp *dp, const struct cg_state *st, struct cg_stats_snap *s,
			uint64_t now_ns)
{
	int err;

	cg_stats_read_cells(dp, st, s, now_ns);
	if (!dp)
		return -EINVAL;
	cg_stats_read_services(dp, st, s);
	err = cg_dp_stats_read(dp, s->stats);
	if (err)
		memset(s->stats, 0, sizeof(s->stats));
	for (size_t i = 0; i < st->ncells; i++)
		if (st->cells[i].id < CG_MAX_CELLS)
			cg_dp_cell_moves_read(dp, st->cells[i].id, &s->moved[st->cells[i].id]);
	cg_dp_conn_count(dp, &s->conn_entries);
	s->conn_capacity = cg_dp_conn_capacity(dp);
	return err;
}

void cg_stats_read_services(struct cg_dp *dp, const struct cg_state *st, struct cg_stats_snap *s)
{
	for (size_t i = 0; dp && i < st->nservices; i++) {
		uint32_t id = st->services[i].id;

		if (id < CG_MAX_SERVICES && cg_dp_svc_stats_read(dp, id, &s->svc[id]))
			memset(&s->svc[id], 0, sizeof(s->svc[id]));
	}
}

/* b - a, or 0 when the counter went down (a reset between the reads). */
static uint64_t sub(uint64_t a, uint64_t b)
{
	return b >= a ? b - a : 0;
}

/* Every cg_* counter struct here is a run of __u64: subtract them word by word. */
static void sub_words(const void *a, const void *b, void *out, size_t size)
{
	const uint64_t *x = a, *y = b;
	uint64_t *o = out;
	size_t i;

	for (i = 0; i < size / sizeof(uint64_t); i++)
		o[i] = sub(x[i], y[i]);
}

void cg_stats_delta(const struct cg_stats_snap *a, const struct cg_stats_snap *b,
		    struct cg_stats_snap *out)
{
	out->t_ns = sub(a->t_ns, b->t_ns);
	sub_words(a->stats, b->stats, out->stats, sizeof(out->stats));
	sub_words(a->svc, b->svc, out->svc, sizeof(out->svc));
	sub_words(a->cell, b->cell, out->cell, sizeof(out->cell));
	sub_words(a->moved, b->moved, out->moved, sizeof(out->moved));
	/* occupancy is a level, not a counter: the delta carries the newer value */
	out->conn_entries = b->conn_entries;
	out->conn_capacity = b->conn_capacity;
}

uint64_t cg_stats_counter_delta(uint64_t a, uint64_t b)
{
	return sub(a, b);
}

double cg_stats_rate(uint64_t delta, uint64_t dt_ns)
{
	if (!dt_ns)
		return 0.0;
	return (double)delta * 1e9 / (double)dt_ns;
}

void cg_stats_cell_sum(const struct cg_stats_snap *s, uint32_t cell_id, struct cg_cell_stats *out)
{
	uint32_t class;

	memset(out, 0, sizeof(*out));
	if (cell_id >= CG_MAX_CELLS)
		return;
	for (class = 0; class < CG_MAX_CLASSES; class ++) {
		const struct cg_cell_stats *c = &s->cell[cell_id][class];

		out->packets += c->packets;
		out->bytes += c->bytes;
		out->new_flows += c->new_flows;
		out->drops += c->drops;
		out->shed += c->shed;
		out->shed_hard += c->shed_hard;
		out->ceiling += c->ceiling;
		out->guard += c->guard;
	}
}

void cg_stats_read_cell(struct cg_dp *dp, uint32_t cell_id, struct cg_cell_stats *out)
{
	uint32_t class;

	memset(out, 0, sizeof(*out));
	for (class = 0; class < CG_MAX_CLASSES; class ++) {
		struct cg_cell_stats c;

		if (cg_dp_cell_stats_read(dp, cell_id, class, &c))
			continue;
		out->packets += c.packets;
		out->bytes += c.bytes;
		out->new_flows += c.new_flows;
		out->drops += c.drops;
		out->shed += c.shed;
		out->shed_hard += c.shed_hard;
		out->ceiling += c.ceiling;
		out->guard += c.guard;
	}
}
