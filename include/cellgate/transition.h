/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/transition.h - a region transition as a saga over the desired state: evacuate, restore */
#ifndef CELLGATE_TRANSITION_H
#define CELLGATE_TRANSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellgate/region.h"
#include "cellgate/saga.h"
#include "cellgate/state.h"

/*
 * The steps of the two multi-step region transitions, their compensations
 * and the progress they save, as changes of the desired state. Each step is
 * one commit through the caller's ops->commit (validated, saved atomically,
 * applied); the saga's progress (st->saga) is saved by commits of its own
 * before and after every step (cellgate/saga.h), so the persisted state
 * always says how far a transition got. Pure: the state, the clock and the
 * commits are the caller's.
 *
 *   evacuate (3 steps, run at once)       compensation
 *     preshed  the pre-shed levels        clear the region's pre-shed levels
 *     shift    the record draining        the record as it was
 *     settle   ops->applied(); evacuated  back to draining
 *
 *   restore (one step per ramp step, each run when it falls due)
 *     ramp1    restoring at ramp step 0   back to evacuated (x->back), the
 *                                         region's pre-shed levels kept and
 *                                         given the record's expiry
 *     rampK    restoring at step K-1      back to restoring at step K-2
 *     active   the record active          back to restoring at the last step
 *   The restore's end (DONE saved) clears the region's pre-shed levels in the
 *   same commit that clears the saga: until then a compensation finds them.
 *
 * ops->fault(arg, NAME) is asked at the start of each step (NAME the step's
 * name) and of each progress save ("persist"): true makes it fail.
 */

#define CG_PRESHED_BY "cellgated: pre-shed for " /* then the region: fits CG_SHED_BY_MAX */

/* What a transition needs from its caller. */
struct cg_trans_ops {
	const struct cg_state *(*state)(void *arg); /* the current desired state */
	/* make next the desired state as one step (what: why, for the log); 0 or -errno with err */
	int (*commit)(void *arg, struct cg_state *next, const char *what, char *err, size_t len);
	bool (*fault)(void *arg, const char *point); /* a failure injected at point; may be NULL */
	bool (*applied)(void *arg); /* the data plane took the last commit; NULL: yes */
	void *arg;		    /* passed to every callback */
};

/* One region transition in flight. */
struct cg_trans {
	const struct cg_trans_ops *ops;
	uint8_t event;	       /* CG_EV_EVACUATE or CG_EV_RESTORE */
	struct cg_evac before; /* the region's record before the saga began */
	struct cg_evac target; /* the record the next step writes (draining; a ramp step) */
	struct cg_evac back;   /* restore: the record ramp1's compensation writes; "": before */
	const struct cg_shed_cfg *pre; /* evacuate: the pre-shed levels to set */
	size_t npre;
	size_t nsteps; /* restore: the saga's steps, the ramp's and "active" (2..CG_RAMP_MAX + 1) */
	int64_t now;   /* unix seconds: the time of the step (or compensation) run */
	char cause[160]; /* what started it, the head of every commit's cause */
};

/* cg_trans_evacuate - run an evacuation's saga (every step). Returns like cg_saga_run(). */
int cg_trans_evacuate(struct cg_trans *x, struct cg_saga_rec *rec, char *err, size_t len);

/*
 * cg_trans_restore - the first step of a restore's saga (ramp1: x->target,
 * restoring at step 0). Returns like cg_saga_next(): 0 with the saga between
 * two steps (or DONE for a one-step ramp), a failure compensated, -EIO stuck.
 */
int cg_trans_restore(struct cg_trans *x, struct cg_saga_rec *rec, char *err, size_t len);

/*
 * cg_trans_ramp - the next step of the restore in flight (*rec from
 * cg_trans_of()): x->target is the record the step writes (the next ramp
 * step, or active after the last), as cg_evac_transition() made it. Returns like
 * cg_saga_next(); -EINVAL when x->target is not the saga's next step.
 */
int cg_trans_ramp(struct cg_trans *x, struct cg_saga_rec *rec, char *err, size_t len);

/*
 * cg_trans_back - give up the restore in flight (a flap, an abort): every
 * ramp step done is compensated, the last first, down to x->back (evacuated).
 * Returns 0 (rec COMPENSATED), -EIO (a compensation failed: STUCK), -EINVAL.
 */
int cg_trans_back(struct cg_trans *x, struct cg_saga_rec *rec, char *err, size_t len);

/*
 * cg_trans_of - the transition in flight for region in st, rebuilt from the
 * persisted state, into *x (ops left to the caller) and *rec: the saga st
 * names (event, what it started from) or, for a restoring region no saga
 * names (a restore that began before the ramp was a saga, an evacuation of a
 * restoring region compensated), a restore between steps at its ramp step.
 * x->before is the record the saga started from, x->target the record as
 * persisted (draining while a shift may have run), x->back for a restore
 * the region evacuated again (step 0, since now, expiring now + r->ttl).
 * Returns 0, -ENOENT when nothing is in flight for region.
 */
int cg_trans_of(struct cg_trans *x, struct cg_saga_rec *rec, const struct cg_state *st,
		const char *region, const struct cg_rules *r, int64_t now);

/*
 * cg_trans_resume - after a restart, the transition cg_trans_of() found:
 * cut inside a step or while compensating, it is compensated (every step,
 * in reverse); between two steps, an evacuation runs its remaining steps and
 * a restore waits for its next ramp step (nothing run, 0). Returns like
 * cg_saga_resume().
 */
int cg_trans_resume(struct cg_trans *x, struct cg_saga_rec *rec, char *err, size_t len);

/*
 * cg_trans_set - commit r as its region's record (no saga), the region's
 * pre-shed levels cleared too when clear; for the single-commit events
 * (extend, abort of a draining region). 0 or -errno with err.
 */
int cg_trans_set(struct cg_trans *x, const struct cg_evac *r, bool clear, const char *what,
		 char *err, size_t len);

/* cg_trans_is_preshed - is e a pre-shed level of region's evacuation? */
bool cg_trans_is_preshed(const struct cg_shed_cfg *e, const char *region);

#endif /* CELLGATE_TRANSITION_H */
