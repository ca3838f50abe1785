/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_loop.c - unit tests of the epoll and timer event loop */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cellgate/loop.h"

#define MAX_RECORDS 16

/* What the callbacks saw. */
struct record {
	int fds[MAX_RECORDS];         /* fd of each fd callback, in order */
	uint32_t events[MAX_RECORDS]; /* its events */
	int nfd;                      /* fd callbacks made */
	int tags[MAX_RECORDS];        /* tag of each timer callback, in order */
	int ntimer;                   /* timer callbacks made */
};

/* Context of a callback that acts on the loop. */
struct actor {
	struct record *rec;   /* where to record */
	int tag;              /* timer: what to record */
	int victim_fd;        /* fd to delete (and close), -1 if none */
	int victim_timer;     /* timer to cancel, 0 if none */
	int *pipe_other;      /* write end of the victim's pipe, closed too */
	int rearm;            /* timer: re-arm itself this many times with delay 0 */
};

static void record_fd(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct record *rec = arg;

	assert_true(rec->nfd < MAX_RECORDS);
	rec->fds[rec->nfd] = fd;
	rec->events[rec->nfd] = events;
	rec->nfd++;
}

static void record_timer(struct cg_loop *loop, void *arg)
{
	struct actor *a = arg;

	assert_true(a->rec->ntimer < MAX_RECORDS);
	a->rec->tags[a->rec->ntimer++] = a->tag;
	if (a->victim_timer)
		assert_int_equal(cg_loop_timer_cancel(loop, a->victim_timer), 0);
	if (a->rearm > 0) {
		a->rearm--;
		assert_true(cg_loop_timer(loop, 0, record_timer, a) > 0);
	}
}

static void stop_timer(struct cg_loop *loop, void *arg)
{
	cg_loop_stop(loop);
}

/* fd callback: record, then delete the victim fd (itself or another) and close it. */
static void delete_fd(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct actor *a = arg;
	int victim = a->victim_fd;

	record_fd(loop, fd, events, a->rec);
	if (victim < 0)
		return;
	a->victim_fd = -1;
	assert_int_equal(cg_loop_del(loop, victim), 0);
	close(victim);
	if (a->pipe_other) {
		close(*a->pipe_other);
		*a->pipe_other = -1;
	}
}

static void make_pipe(int p[2], int with_byte)
{
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	if (with_byte)
		assert_int_equal(write(p[1], "x", 1), 1);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void test_loop_fd_callback_gets_fd_events_and_arg(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	int p[2];

	assert_non_null(loop);
	make_pipe(p, 1);
	assert_int_equal(cg_loop_add(loop, p[0], EPOLLIN, record_fd, &rec), 0);
	assert_int_equal(cg_loop_run_once(loop, 1000), 1);
	assert_int_equal(rec.nfd, 1);
	assert_int_equal(rec.fds[0], p[0]);
	assert_true(rec.events[0] & EPOLLIN);
	cg_loop_free(loop);
	close(p[0]);
	close(p[1]);
}

static void test_loop_mod_replaces_the_events(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	int sv[2];

	assert_non_null(loop);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(cg_loop_add(loop, sv[0], EPOLLIN, record_fd, &rec), 0);
	assert_int_equal(cg_loop_run_once(loop, 0), 0); /* nothing to read */
	assert_int_equal(cg_loop_mod(loop, sv[0], EPOLLOUT), 0);
	assert_int_equal(cg_loop_run_once(loop, 0), 1);
	assert_int_equal(rec.events[0] & (EPOLLIN | EPOLLOUT), EPOLLOUT);
	assert_int_equal(cg_loop_mod(loop, sv[0], 0), 0);
	assert_int_equal(cg_loop_run_once(loop, 0), 0);
	cg_loop_free(loop);
	close(sv[0]);
	close(sv[1]);
}

static void test_loop_rejects_bad_registrations(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	int p[2];

	assert_non_null(loop);
	make_pipe(p, 0);
	assert_int_equal(cg_loop_add(loop, -1, EPOLLIN, record_fd, &rec), -EBADF);
	assert_int_equal(cg_loop_add(loop, p[0], EPOLLIN, record_fd, &rec), 0);
	assert_int_equal(cg_loop_add(loop, p[0], EPOLLIN, record_fd, &rec), -EEXIST);
	assert_int_equal(cg_loop_mod(loop, p[1], EPOLLOUT), -ENOENT);
	assert_int_equal(cg_loop_del(loop, p[1]), -ENOENT);
	assert_int_equal(cg_loop_del(loop, 100000), -ENOENT);
	assert_int_equal(cg_loop_del(loop, p[0]), 0);
	assert_int_equal(cg_loop_del(loop, p[0]), -ENOENT);
	/* a closed fd: epoll refuses it, nothing is kept */
	close(p[1]);
	assert_int_equal(cg_loop_add(loop, p[1], EPOLLIN, record_fd, &rec), -EBADF);
	cg_loop_free(loop);
	close(p[0]);
}

static void test_loop_del_of_itself_in_callback_stops_its_events(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	struct actor a = { .rec = &rec };
	int p[2];

	assert_non_null(loop);
	make_pipe(p, 1);
	a.victim_fd = p[0];
	assert_int_equal(cg_loop_add(loop, p[0], EPOLLIN, delete_fd, &a), 0);
	assert_int_equal(cg_loop_run_once(loop, 1000), 1);
	assert_int_equal(cg_loop_run_once(loop, 0), 0);
	assert_int_equal(rec.nfd, 1);
	cg_loop_free(loop);
	close(p[1]);
}

static void test_loop_del_of_another_fd_in_the_same_batch_skips_its_event(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 }, fresh = { 0 };
	struct actor a1 = { .rec = &rec }, a2 = { .rec = &rec };
	int p1[2], p2[2], p3[2];

	assert_non_null(loop);
	make_pipe(p1, 1);
	make_pipe(p2, 1);
	/* whichever comes first deletes and closes the other, pending event and all */
	a1.victim_fd = p2[0];
	a1.pipe_other = &p2[1];
	a2.victim_fd = p1[0];
	a2.pipe_other = &p1[1];
	assert_int_equal(cg_loop_add(loop, p1[0], EPOLLIN, delete_fd, &a1), 0);
	assert_int_equal(cg_loop_add(loop, p2[0], EPOLLIN, delete_fd, &a2), 0);
	assert_int_equal(cg_loop_run_once(loop, 1000), 1);
	assert_int_equal(rec.nfd, 1);

	/* the survivor is still served; a new fd reusing the number gets no stale event */
	if (rec.fds[0] == p1[0]) {
		p2[0] = -1;
		make_pipe(p3, 0);
		assert_int_equal(cg_loop_add(loop, p3[0], EPOLLIN, record_fd, &fresh), 0);
		assert_int_equal(cg_loop_run_once(loop, 0), 1);
		assert_int_equal(rec.fds[1], p1[0]);
	} else {
		p1[0] = -1;
		make_pipe(p3, 0);
		assert_int_equal(cg_loop_add(loop, p3[0], EPOLLIN, record_fd, &fresh), 0);
		assert_int_equal(cg_loop_run_once(loop, 0), 1);
		assert_int_equal(rec.fds[1], p2[0]);
	}
	assert_int_equal(fresh.nfd, 0);
	cg_loop_free(loop);
	close_fd(&p1[0]);
	close_fd(&p1[1]);
	close_fd(&p2[0]);
	close_fd(&p2[1]);
	close_fd(&p3[0]);
	close_fd(&p3[1]);
}

/* fd callback: delete its own fd and watch it again with record_fd. */
static void readd_fd(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct record *rec = arg;

	assert_int_equal(cg_loop_del(loop, fd), 0);
	assert_int_equal(cg_loop_add(loop, fd, EPOLLIN, record_fd, rec), 0);
}

static void test_loop_del_then_add_of_the_same_fd_in_callback(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	int p[2];

	assert_non_null(loop);
	make_pipe(p, 1);
	assert_int_equal(cg_loop_add(loop, p[0], EPOLLIN, readd_fd, &rec), 0);
	assert_int_equal(cg_loop_run_once(loop, 1000), 1);
	assert_int_equal(rec.nfd, 0);
	assert_int_equal(cg_loop_run_once(loop, 1000), 1);
	assert_int_equal(rec.nfd, 1);
	assert_int_equal(rec.fds[0], p[0]);
	cg_loop_free(loop);
	close(p[0]);
	close(p[1]);
}

/* Run iterations until n timer callbacks were made, at most 2 s. */
static void run_until_timers(struct cg_loop *loop, struct record *rec, int n)
{
	uint64_t end = cg_loop_now_ms() + 2000;

	while (rec->ntimer < n && cg_loop_now_ms() < end)
		assert_true(cg_loop_run_once(loop, 100) >= 0);
	assert_int_equal(rec->ntimer, n);
}

static void test_loop_timers_fire_by_deadline_then_creation_order(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	struct actor a30 = { .rec = &rec, .tag = 30 }, a10a = { .rec = &rec, .tag = 10 };
	struct actor a20 = { .rec = &rec, .tag = 20 }, a10b = { .rec = &rec, .tag = 11 };
	int id30, id10a, id20, id10b;

	assert_non_null(loop);
	id30 = cg_loop_timer(loop, 30, record_timer, &a30);
	id10a = cg_loop_timer(loop, 10, record_timer, &a10a);
	id20 = cg_loop_timer(loop, 20, record_timer, &a20);
	id10b = cg_loop_timer(loop, 10, record_timer, &a10b);
	assert_true(id30 > 0 && id10a > 0 && id20 > 0 && id10b > 0);
	assert_true(id30 != id10a && id10a != id20 && id20 != id10b);
	run_until_timers(loop, &rec, 4);
	assert_int_equal(rec.tags[0], 10);
	assert_int_equal(rec.tags[1], 11);
	assert_int_equal(rec.tags[2], 20);
	assert_int_equal(rec.tags[3], 30);
	cg_loop_free(loop);
}

static void test_loop_timer_waits_its_delay(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	struct actor a = { .rec = &rec, .tag = 1 };
	uint64_t start = cg_loop_now_ms();

	assert_non_null(loop);
	assert_true(cg_loop_timer(loop, 50, record_timer, &a) > 0);
	/* run_once(-1) sleeps until the timer, not forever */
	while (!rec.ntimer)
		assert_true(cg_loop_run_once(loop, -1) >= 0);
	assert_true(cg_loop_now_ms() - start >= 50);
	assert_true(cg_loop_now_ms() - start < 1000);
	cg_loop_free(loop);
}

static void test_loop_cancelled_timer_never_fires(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	struct actor a1 = { .rec = &rec, .tag = 1 }, a2 = { .rec = &rec, .tag = 2 };
	struct actor a3 = { .rec = &rec, .tag = 3 };
	int id1, id2;

	assert_non_null(loop);
	id1 = cg_loop_timer(loop, 5, record_timer, &a1);
	id2 = cg_loop_timer(loop, 10, record_timer, &a2);
	assert_true(cg_loop_timer(loop, 20, record_timer, &a3) > 0);
	assert_int_equal(cg_loop_timer_cancel(loop, id1), 0);
	assert_int_equal(cg_loop_timer_cancel(loop, id1), -ENOENT);
	assert_int_equal(cg_loop_timer_cancel(loop, 987654), -ENOENT);
	run_until_timers(loop, &rec, 2);
	assert_int_equal(rec.tags[0], 2);
	assert_int_equal(rec.tags[1], 3);
	/* a fired timer is gone */
	assert_int_equal(cg_loop_timer_cancel(loop, id2), -ENOENT);
	cg_loop_free(loop);
}

static void test_loop_timer_cancelled_by_an_earlier_one_due_together(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	struct actor a1 = { .rec = &rec, .tag = 1 }, a2 = { .rec = &rec, .tag = 2 };
	struct actor a3 = { .rec = &rec, .tag = 3 };

	assert_non_null(loop);
	assert_true(cg_loop_timer(loop, 10, record_timer, &a1) > 0);
	a1.victim_timer = cg_loop_timer(loop, 10, record_timer, &a2);
	assert_true(cg_loop_timer(loop, 10, record_timer, &a3) > 0);
	usleep(20 * 1000); /* all three are due in the same iteration */
	assert_int_equal(cg_loop_run_once(loop, 0), 2);
	assert_int_equal(rec.ntimer, 2);
	assert_int_equal(rec.tags[0], 1);
	assert_int_equal(rec.tags[1], 3);
	cg_loop_free(loop);
}

static void test_loop_timer_rearmed_from_callback_fires_next_iteration(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	struct actor a = { .rec = &rec, .tag = 7, .rearm = 3 };

	assert_non_null(loop);
	assert_true(cg_loop_timer(loop, 0, record_timer, &a) > 0);
	assert_int_equal(cg_loop_run_once(loop, 0), 1);
	assert_int_equal(cg_loop_run_once(loop, 0), 1);
	assert_int_equal(cg_loop_run_once(loop, 0), 1);
	assert_int_equal(cg_loop_run_once(loop, 0), 1);
	assert_int_equal(cg_loop_run_once(loop, 0), 0);
	assert_int_equal(rec.ntimer, 4);
	cg_loop_free(loop);
}

static void count_fd(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	(*(int *)arg)++;
}

static void test_loop_run_returns_after_stop(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	struct actor a = { .rec = &rec, .tag = 1 };
	int p[2], calls = 0;

	assert_non_null(loop);
	make_pipe(p, 1);
	/* a level-triggered readable fd is called back on every iteration until the stop */
	assert_int_equal(cg_loop_add(loop, p[0], EPOLLIN, count_fd, &calls), 0);
	assert_true(cg_loop_timer(loop, 5, record_timer, &a) > 0);
	assert_true(cg_loop_timer(loop, 20, stop_timer, NULL) > 0);
	assert_int_equal(cg_loop_run(loop), 0);
	assert_int_equal(rec.ntimer, 1);
	assert_true(calls > 1);
	cg_loop_free(loop);
	close(p[0]);
	close(p[1]);
}

static void test_loop_run_once_waits_at_most_max_wait(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	uint64_t start = cg_loop_now_ms();

	assert_non_null(loop);
	assert_int_equal(cg_loop_run_once(loop, 30), 0);
	assert_true(cg_loop_now_ms() - start >= 29);
	assert_true(cg_loop_now_ms() - start < 1000);
	cg_loop_free(loop);
}

static void test_loop_free_releases_pending_fds_and_timers(void **state)
{
	struct cg_loop *loop = cg_loop_new();
	struct record rec = { 0 };
	struct actor a = { .rec = &rec };
	int p[2];

	assert_non_null(loop);
	make_pipe(p, 1);
	assert_int_equal(cg_loop_add(loop, p[0], EPOLLIN, record_fd, &rec), 0);
	assert_true(cg_loop_timer(loop, 100000, record_timer, &a) > 0);
	cg_loop_free(loop); /* leak-checked under SAN=1 */
	cg_loop_free(NULL);
	/* the fd is the caller's: still open */
	assert_int_equal(write(p[1], "y", 1), 1);
	close(p[0]);
	close(p[1]);
	assert_int_equal(rec.nfd, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_fd_callback_gets_fd_events_and_arg),
		cmocka_unit_test(test_loop_mod_replaces_the_events),
		cmocka_unit_test(test_loop_rejects_bad_registrations),
		cmocka_unit_test(test_loop_del_of_itself_in_callback_stops_its_events),
		cmocka_unit_test(test_loop_del_of_another_fd_in_the_same_batch_skips_its_event),
		cmocka_unit_test(test_loop_del_then_add_of_the_same_fd_in_callback),
		cmocka_unit_test(test_loop_timers_fire_by_deadline_then_creation_order),
		cmocka_unit_test(test_loop_timer_waits_its_delay),
		cmocka_unit_test(test_loop_cancelled_timer_never_fires),
		cmocka_unit_test(test_loop_timer_cancelled_by_an_earlier_one_due_together),
		cmocka_unit_test(test_loop_timer_rearmed_from_callback_fires_next_iteration),
		cmocka_unit_test(test_loop_run_returns_after_stop),
		cmocka_unit_test(test_loop_run_once_waits_at_most_max_wait),
		cmocka_unit_test(test_loop_free_releases_pending_fds_and_timers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
