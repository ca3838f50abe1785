// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* saga.c - the generic saga runner: do in order, persist around each step, undo in reverse */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cellgate/saga.h"

static int save(const struct cg_saga *s, struct cg_saga_rec *rec, uint32_t done, uint8_t phase,
		uint8_t in_step, char *err, size_t len)
{
	rec->done = done;
	rec->phase = phase;
	rec->in_step = in_step;
	return s->persist ? s->persist(s->arg, rec, err, len) : 0;
}

/* Undo the steps below rec->done, the last first. */
static int compensate(const struct cg_saga *s, struct cg_saga_rec *rec, char *err, size_t len)
{
	char e[256];

	while (rec->done > 0) {
		size_t i = rec->done - 1;

		e[0] = '\0';
		save(s, rec, rec->done, CG_SAGA_BACK, 1, e, sizeof(e));
		if (s->steps[i].undo && s->steps[i].undo(s->arg, i, e, sizeof(e))) {
			save(s, rec, rec->done, CG_SAGA_STUCK, 1, e, sizeof(e));
			if (err && len)
				snprintf(err, len, "compensation of step '%s' failed: %s",
					 s->steps[i].name, e);
			return -EIO;
		}
		save(s, rec, (uint32_t)i, CG_SAGA_BACK, 0, e, sizeof(e));
	}
	save(s, rec, 0, CG_SAGA_COMPENSATED, 0, e, sizeof(e));
	return 0;
}

/* Run at most max steps from rec->done forward; on failure compensate everything started. */
static int forward(const struct cg_saga *s, struct cg_saga_rec *rec, size_t max, char *err,
		   size_t len)
{
	char e[256];
	int ret;

	for (; rec->done < s->nsteps && max; max--) {
		size_t i = rec->done;

		e[0] = '\0';
		ret = save(s, rec, (uint32_t)i, CG_SAGA_FORWARD, 1, e, sizeof(e));
		if (!ret)
			ret = s->steps[i].run(s->arg, i, e, sizeof(e));
		if (!ret)
			ret = save(s, rec, (uint32_t)i + 1, CG_SAGA_FORWARD, 0, e, sizeof(e));
		if (ret) {
			if (err && len)
				snprintf(err, len, "step '%s': %s", s->steps[i].name, e);
			/* the failing step may have half happened: it is undone too */
			rec->done = (uint32_t)i + 1;
			if (compensate(s, rec, e, sizeof(e))) {
				if (err && len)
					snprintf(err, len, "step '%s' failed, then %s",
						 s->steps[i].name, e);
				return -EIO;
			}
			return ret;
		}
	}
	if (rec->done < s->nsteps)
		return 0; /* between steps: the caller runs the next one when it is due */
	return save(s, rec, (uint32_t)s->nsteps, CG_SAGA_DONE, 0, err, len);
}

int cg_saga_run(const struct cg_saga *s, struct cg_saga_rec *rec, char *err, size_t len)
{
	memset(rec, 0, sizeof(*rec));
	return forward(s, rec, s->nsteps, err, len);
}

/* Is rec FORWARD between two steps? Says why not in err. */
static bool between(const struct cg_saga_rec *rec, char *err, size_t len)
{
	if (rec->phase == CG_SAGA_FORWARD && !rec->in_step)
		return true;
	if (err && len)
		snprintf(err, len, "the saga is %s, not between two steps",
			 rec->in_step ? "inside a step" : "not running forward");
	return false;
}

int cg_saga_next(const struct cg_saga *s, struct cg_saga_rec *rec, char *err, size_t len)
{
	if (rec->phase == CG_SAGA_IDLE)
		memset(rec, 0, sizeof(*rec));
	else if (!between(rec, err, len))
		return -EINVAL;
	return forward(s, rec, 1, err, len);
}

int cg_saga_abort(const struct cg_saga *s, struct cg_saga_rec *rec, char *err, size_t len)
{
	if (!between(rec, err, len))
		return -EINVAL;
	return compensate(s, rec, err, len) ? -EIO : 0;
}

enum cg_saga_action cg_saga_decide(const struct cg_saga_rec *rec)
{
	switch (rec->phase) {
	case CG_SAGA_FORWARD:
		return rec->in_step ? CG_SAGA_COMPENSATE : CG_SAGA_RESUME;
	case CG_SAGA_BACK:
		return CG_SAGA_COMPENSATE;
	default:
		return CG_SAGA_NOTHING;
	}
}

int cg_saga_resume(const struct cg_saga *s, struct cg_saga_rec *rec, char *err, size_t len)
{
	switch (cg_saga_decide(rec)) {
	case CG_SAGA_RESUME:
		return forward(s, rec, s->nsteps, err, len);
	case CG_SAGA_COMPENSATE:
		if (rec->phase == CG_SAGA_FORWARD)
			rec->done++; /* the half-done step is undone too */
		if (compensate(s, rec, err, len))
			return -EIO;
		if (err && len)
			snprintf(err, len, "interrupted saga compensated");
		return -ECANCELED;
	default:
		break;
	}
	if (rec->phase == CG_SAGA_STUCK)
		return -EIO;
	if (rec->phase == CG_SAGA_COMPENSATED)
		return -ECANCELED;
	return 0;
}
