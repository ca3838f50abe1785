/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/saga.h - a generic saga runner: steps with compensations, persisted progress, resume */
#ifndef CELLGATE_SAGA_H
#define CELLGATE_SAGA_H

#include <stddef.h>
#include <stdint.h>

/*
 * A saga is a list of steps, each with a do and a compensation (undo). The
 * runner persists its progress (struct cg_saga_rec) through a callback before
 * and after every step, so a crash leaves a record that says how far it got.
 * An undo must be safe on a step that did not run or ran only partly: a
 * failing or interrupted step is compensated too. Pure: everything it touches
 * goes through the callbacks.
 */

/* Where a saga is. */
enum cg_saga_phase {
	CG_SAGA_IDLE = 0,	 /* not started */
	CG_SAGA_FORWARD = 1,	 /* running the steps' do in order */
	CG_SAGA_BACK = 2,	 /* running the compensations in reverse */
	CG_SAGA_DONE = 3,	 /* every step done */
	CG_SAGA_COMPENSATED = 4, /* every started step undone: back to the before state */
	CG_SAGA_STUCK = 5,	 /* a compensation failed: needs an operator */
};

/* The persisted progress of one saga (plain, so it can be a field table). */
struct cg_saga_rec {
	uint32_t done;	 /* FORWARD: steps whose do completed; BACK: steps not yet undone */
	uint8_t phase;	 /* enum cg_saga_phase */
	uint8_t in_step; /* 1: step `done` (FORWARD) or `done - 1` (BACK) was started, not finished */
	uint8_t pad[2];
};

/* One step. Both callbacks return 0 or -errno with a message in err. */
struct cg_saga_step {
	const char *name;					    /* e.g. "preshed" */
	int (*run)(void *arg, size_t step, char *err, size_t len);  /* do */
	int (*undo)(void *arg, size_t step, char *err, size_t len); /* compensate, idempotent */
};

/* A saga: its steps and where progress goes. */
struct cg_saga {
	const struct cg_saga_step *steps; /* steps[0..nsteps) */
	size_t nsteps;
	/* store *rec durably; 0 or -errno. A failing persist stops the saga like a failing step */
	int (*persist)(void *arg, const struct cg_saga_rec *rec, char *err, size_t len);
	void *arg; /* passed to every callback */
};

/* What cg_saga_decide() says to do with a record found after a restart. */
enum cg_saga_action {
	CG_SAGA_NOTHING = 0,	/* idle, done, compensated or stuck: nothing to run */
	CG_SAGA_RESUME = 1,	/* forward, between steps: run the remaining steps */
	CG_SAGA_COMPENSATE = 2, /* a step was cut in half, or compensation had begun: undo */
};

/*
 * cg_saga_run - run every step of s from the start. On a failing step (or
 * persist) the started steps are compensated in reverse, the failing one
 * first. Returns 0 when every step is done (rec DONE); the failing step's
 * -errno with "step 'NAME': ..." in err when it compensated (rec COMPENSATED);
 * -EIO when a compensation failed too (rec STUCK). *rec always holds the last
 * progress handed to persist.
 */
int cg_saga_run(const struct cg_saga *s, struct cg_saga_rec *rec, char *err, size_t len);

/*
 * cg_saga_next - run one step, for a saga whose steps fall due one at a time
 * (a restore's ramp): the first when rec is IDLE, else step rec->done of a
 * saga FORWARD between two steps. After the last step rec is DONE. Returns
 * like cg_saga_run() (a failing step compensates every started one, in
 * reverse); -EINVAL when rec is not between two steps.
 */
int cg_saga_next(const struct cg_saga *s, struct cg_saga_rec *rec, char *err, size_t len);

/*
 * cg_saga_abort - compensate, in reverse, every step a saga FORWARD between
 * two steps has done (a restore's ramp given up). Returns 0 (rec
 * COMPENSATED), -EIO when a compensation failed (rec STUCK), -EINVAL when
 * rec is not between two steps.
 */
int cg_saga_abort(const struct cg_saga *s, struct cg_saga_rec *rec, char *err, size_t len);

/* cg_saga_decide - what to do with rec after a crash (see enum cg_saga_action). */
enum cg_saga_action cg_saga_decide(const struct cg_saga_rec *rec);

/*
 * cg_saga_resume - continue after a crash from the persisted *rec: resume the
 * remaining steps or compensate, as cg_saga_decide() says. Returns like
 * cg_saga_run(); 0 with nothing run for CG_SAGA_NOTHING on DONE, -ECANCELED
 * when the record says it compensated, -EIO when stuck.
 */
int cg_saga_resume(const struct cg_saga *s, struct cg_saga_rec *rec, char *err, size_t len);

#endif /* CELLGATE_SAGA_H */
