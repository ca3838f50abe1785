/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* loop.c - the daemon's single-threaded event loop: epoll fds and monotonic timers */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cellgate/loop.h"

#define LOOP_MAX_EVENTS 64 /* events taken from the kernel per iteration */

/* One watched fd. Its address is the epoll cookie, so a stale event is recognised. */
struct loop_watch {
	int fd;			 /* the watched fd */
	uint32_t events;	 /* events asked for */
	cg_loop_fd_cb cb;	 /* callback */
	void *arg;		 /* its argument */
	bool dead;		 /* deleted; freed once no batch can refer to it */
	struct loop_watch *next; /* next on the list of dead watches */
};

/* One pending timer, on a list sorted by (deadline, seq). */
struct loop_timer {
	uint64_t deadline_ns;	 /* monotonic time it is due */
	uint64_t seq;		 /* creation order: breaks ties, bounds one iteration */
	int id;			 /* handle given to the caller */
	cg_loop_timer_cb cb;	 /* callback */
	void *arg;		 /* its argument */
	struct loop_timer *next; /* later timer */
};

struct cg_loop {
	int epfd;		   /* the epoll instance */
	struct loop_watch **by_fd; /* watch of each fd number, NULL if none */
	size_t nby_fd;		   /* entries in by_fd */
	struct loop_watch *dead;   /* deleted watches awaiting the end of the batch */
	bool dispatching;	   /* inside a batch of fd callbacks */
	struct loop_timer *timers; /* pending timers, earliest first */
	uint64_t timer_seq;	   /* seq of the next timer */
	int next_id;		   /* id of the next timer, 1..INT_MAX */
	bool stop;		   /* cg_loop_run() must return */
};

static uint64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t cg_loop_now_ms(void)
{
	return loop_now_ns() / 1000000ULL;
}

struct cg_loop *cg_loop_new(void)
{
	struct cg_loop *loop;

	loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int err = errno;

		free(loop);
		errno = err;
		return NULL;
	}
	loop->next_id = 1;
	return loop;
}

static void loop_reap(struct cg_loop *loop)
{
	struct loop_watch *w;

	while ((w = loop->dead)) {
		loop->dead = w->next;
		free(w);
	}
}

void cg_loop_free(struct cg_loop *loop)
{
	struct loop_timer *t;
	size_t i;

	if (!loop)
		return;
	for (i = 0; i < loop->nby_fd; i++)
		free(loop->by_fd[i]);
	free(loop->by_fd);
	loop_reap(loop);
	while ((t = loop->timers)) {
		loop->timers = t->next;
		free(t);
	}
	close(loop->epfd);
	free(loop);
}

static struct loop_watch *loop_find(struct cg_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nby_fd)
		return NULL;
	return loop->by_fd[fd];
}

/* Make by_fd[fd] addressable. */
static int loop_reserve(struct cg_loop *loop, int fd)
{
	struct loop_watch **by_fd;
	size_t n = loop->nby_fd ? loop->nby_fd : 64;

	if ((size_t)fd < loop->nby_fd)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	by_fd = realloc(loop->by_fd, n * sizeof(*by_fd));
	if (!by_fd)
		return -ENOMEM;
	memset(by_fd + loop->nby_fd, 0, (n - loop->nby_fd) * sizeof(*by_fd));
	loop->by_fd = by_fd;
	loop->nby_fd = n;
	return 0;
}

int cg_loop_add(struct cg_loop *loop, int fd, uint32_t events, cg_loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = { 0 };
	struct loop_watch *w;
	int err;

	if (fd < 0)
		return -EBADF;
	if (loop_find(loop, fd))
		return -EEXIST;
	err = loop_reserve(loop, fd);
	if (err)
		return err;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->events = events;
	w->cb = cb;
	w->arg = arg;
	ev.events = events;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = -errno;
		free(w);
		return err;
	}
	loop->by_fd[fd] = w;
	return 0;
}

int cg_loop_mod(struct cg_loop *loop, int fd, uint32_t events)
{
	struct loop_watch *w = loop_find(loop, fd);
	struct epoll_event ev = { 0 };

	if (!w)
		return -ENOENT;
	ev.events = events;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	w->events = events;
	return 0;
}

int cg_loop_del(struct cg_loop *loop, int fd)
{
	struct loop_watch *w = loop_find(loop, fd);

	if (!w)
		return -ENOENT;
	/* fails with EBADF if the caller closed fd first: the kernel already forgot it */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->by_fd[fd] = NULL;
	if (loop->dispatching) {
		/* events of this batch may still point at w: keep it until the batch ends */
		w->dead = true;
		w->next = loop->dead;
		loop->dead = w;
	} else {
		free(w);
	}
	return 0;
}

int cg_loop_timer(struct cg_loop *loop, uint64_t delay_ms, cg_loop_timer_cb cb, void *arg)
{
	struct loop_timer *t, **pos;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	/* a delay of centuries is no delay to saturate into a wrap */
	if (delay_ms > UINT64_MAX / 2000000ULL)
		delay_ms = UINT64_MAX / 2000000ULL;
	t->deadline_ns = loop_now_ns() + delay_ms * 1000000ULL;
	t->seq = loop->timer_seq++;
	t->cb = cb;
	t->arg = arg;
	t->id = loop->next_id;
	loop->next_id = loop->next_id == INT_MAX ? 1 : loop->next_id + 1;
	/* a newer timer never goes before an older one of the same deadline */
	pos = &loop->timers;
	while (*pos && (*pos)->deadline_ns <= t->deadline_ns)
		pos = &(*pos)->next;
	t->next = *pos;
	*pos = t;
	return t->id;
}

int cg_loop_timer_cancel(struct cg_loop *loop, int id)
{
	struct loop_timer *t, **pos;

	for (pos = &loop->timers; (t = *pos); pos = &t->next) {
		if (t->id == id) {
			*pos = t->next;
			free(t);
			return 0;
		}
	}
	return -ENOENT;
}

/* Milliseconds epoll_wait() may sleep: max_wait_ms, shortened to the first timer (rounded up). */
static int loop_wait_ms(struct cg_loop *loop, int max_wait_ms)
{
	uint64_t now, left;

	if (!loop->timers)
		return max_wait_ms;
	now = loop_now_ns();
	if (loop->timers->deadline_ns <= now)
		return 0;
	left = (loop->timers->deadline_ns - now + 999999ULL) / 1000000ULL;
	if (left > INT_MAX)
		left = INT_MAX;
	if (max_wait_ms >= 0 && (uint64_t)max_wait_ms < left)
		return max_wait_ms;
	return (int)left;
}

/* Fire the timers due now that existed when this was called. */
static int loop_fire_timers(struct cg_loop *loop)
{
	uint64_t now = loop_now_ns(), limit = loop->timer_seq;
	struct loop_timer *t;
	int n = 0;

	/*
	 * Timers added by the callbacks have seq >= limit and a deadline >= now,
	 * so they sort after every timer due here: stopping at the first one
	 * that is not due, or is too new, skips none that should fire.
	 */
	while ((t = loop->timers) && t->deadline_ns <= now && t->seq < limit) {
		loop->timers = t->next;
		t->cb(loop, t->arg);
		free(t);
		n++;
	}
	return n;
}

int cg_loop_run_once(struct cg_loop *loop, int max_wait_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int i, n, calls = 0;

	n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, loop_wait_ms(loop, max_wait_ms));
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	loop->dispatching = true;
	for (i = 0; i < n; i++) {
		struct loop_watch *w = evs[i].data.ptr;

		if (w->dead)
			continue;
		w->cb(loop, w->fd, evs[i].events, w->arg);
		calls++;
	}
	loop->dispatching = false;
	loop_reap(loop);
	return calls + loop_fire_timers(loop);
}

int cg_loop_run(struct cg_loop *loop)
{
	int ret;

	loop->stop = false;
	do {
		ret = cg_loop_run_once(loop, -1);
		if (ret < 0)
			return ret;
	} while (!loop->stop);
	return 0;
}

void cg_loop_stop(struct cg_loop *loop)
{
	loop->stop = true;
}
