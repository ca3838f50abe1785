/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/loop.h - the daemon's single-threaded event loop: epoll fds and monotonic timers */
#ifndef CELLGATE_LOOP_H
#define CELLGATE_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

/*
 * One loop per thread; nothing here locks. Callbacks run from
 * cg_loop_run_once() and may add, modify or delete any fd and add or cancel
 * any timer, including the one being dispatched: an fd deleted inside a
 * callback gets no further callback, even if it had an event pending in the
 * same batch, and a number reused at once by a new fd never receives the old
 * fd's events.
 *
 * The loop never closes an fd: the caller deletes it, then closes it.
 */

struct cg_loop;

/* Called with the epoll events (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR, ...) of fd. */
typedef void (*cg_loop_fd_cb)(struct cg_loop *loop, int fd, uint32_t events, void *arg);
/* Called once, when the timer is due; the timer is already gone by then. */
typedef void (*cg_loop_timer_cb)(struct cg_loop *loop, void *arg);

/*
 * cg_loop_new - create an empty loop.
 * Returns the loop, or NULL with errno set (ENOMEM, EMFILE, ...).
 */
struct cg_loop *cg_loop_new(void);

/*
 * cg_loop_free - release the loop, its fd registrations and pending timers.
 * Closes none of the registered fds and calls no callback. NULL is a no-op.
 * Must not be called from a callback of that loop.
 */
void cg_loop_free(struct cg_loop *loop);

/*
 * cg_loop_add - watch fd for events (EPOLLIN, EPOLLOUT, ...; level-triggered
 * unless EPOLLET is given) and call cb(loop, fd, events, arg) when one occurs.
 * EPOLLHUP and EPOLLERR are always reported. Returns 0, -EBADF for a negative
 * fd, -EEXIST if fd is already watched, -ENOMEM, or the -errno of epoll_ctl()
 * (-EPERM for a regular file, ...). Nothing is registered on failure.
 */
int cg_loop_add(struct cg_loop *loop, int fd, uint32_t events, cg_loop_fd_cb cb, void *arg);

/*
 * cg_loop_mod - replace the events watched on fd (0 leaves only EPOLLHUP and
 * EPOLLERR). Returns 0, -ENOENT if fd is not watched, or the -errno of
 * epoll_ctl().
 */
int cg_loop_mod(struct cg_loop *loop, int fd, uint32_t events);

/*
 * cg_loop_del - stop watching fd. Safe from any callback, for the fd being
 * dispatched or any other. Call it before closing fd; if fd was closed first,
 * the registration is still dropped. Returns 0 or -ENOENT if fd is not watched.
 */
int cg_loop_del(struct cg_loop *loop, int fd);

/*
 * cg_loop_timer - call cb(loop, arg) once, delay_ms milliseconds from now on
 * the monotonic clock (at the first cg_loop_run_once() at or after that time).
 * Timers due at the same time fire in the order they were added. A timer
 * added from a timer callback fires at the earliest in the next iteration,
 * so a callback re-arming itself with delay 0 cannot starve the fds.
 * Returns the timer's id (> 0) or -ENOMEM.
 */
int cg_loop_timer(struct cg_loop *loop, uint64_t delay_ms, cg_loop_timer_cb cb, void *arg);

/*
 * cg_loop_timer_cancel - forget the timer id before it fires. Returns 0, or
 * -ENOENT if there is no such pending timer (already fired, cancelled, or a
 * timer cancelling itself from its own callback).
 */
int cg_loop_timer_cancel(struct cg_loop *loop, int id);

/*
 * cg_loop_run_once - wait for fd events or the next due timer, at most
 * max_wait_ms milliseconds (-1: no limit but the timers; 0: do not wait),
 * then dispatch the fd events and the timers due. Returns the number of
 * callbacks made (0 on timeout or EINTR), or -errno if epoll_wait() failed.
 */
int cg_loop_run_once(struct cg_loop *loop, int max_wait_ms);

/*
 * cg_loop_run - run iterations until cg_loop_stop() is called. Returns 0 once
 * stopped, or -errno if waiting failed. A stop requested before the call is
 * forgotten: every call runs at least one iteration.
 */
int cg_loop_run(struct cg_loop *loop);

/*
 * cg_loop_stop - make cg_loop_run() return after the current iteration.
 * Meant for callbacks (a signalfd handler, a shutdown command).
 */
void cg_loop_stop(struct cg_loop *loop);

/* cg_loop_now_ms - the monotonic clock (CLOCK_MONOTONIC) in milliseconds. */
uint64_t cg_loop_now_ms(void);

#endif /* CELLGATE_LOOP_H */
