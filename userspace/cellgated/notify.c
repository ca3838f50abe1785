// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* notify.c - running under systemd: sd_notify readiness, status, watchdog, reload and stop; log priorities for journald */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "cellgate/text.h"
#include "cellgated.h"

/* What cellgated told the service manager; one daemon per process, so one of these. */
static struct {
	bool on;	      /* NOTIFY_SOCKET was set when the daemon became ready */
	struct cgd *d;	      /* the daemon whose status is told */
	uint64_t watchdog_ms; /* WATCHDOG=1 this often (half of WATCHDOG_USEC), 0 if none */
	int watchdog_id;      /* the ping timer, 0 if none */
	int status_id;	      /* the status timer, 0 if none */
	char status[CGD_NOTIFY_STATUS_MAX]; /* the last STATUS= sent, "" if none */
} nt;

static int journal = -1; /* stderr is the journal: 1, not: 0, not looked at yet: -1 */

/* Send one notification (newline-separated assignments); failures are logged once. */
static void notify_send(const char *msg)
{
	static bool warned;
	int ret;

	ret = sd_notify(0, msg);
	if (ret < 0 && !warned) {
		warned = true;
		cgd_log("warning: cannot notify the service manager: %s", strerror(-ret));
	}
}

/* One line for STATUS=: the state, or why cellgated is fail-static (escaped: no line break). */
static void status_of(const struct cgd *d, char *buf, size_t len)
{
	static const char head[] = "fail-static: ";

	if (d->fail_static[0] && len > sizeof(head)) {
		memcpy(buf, head, sizeof(head));
		cg_escape(buf + sizeof(head) - 1, len - sizeof(head) + 1, d->fail_static,
			  strnlen(d->fail_static, sizeof(d->fail_static)), 0);
		return;
	}
	snprintf(buf, len, "serving %zu services, %zu cells on %zu interfaces, gen %llu",
		 d->st.nservices, d->st.ncells, d->nifaces, (unsigned long long)d->st.generation);
}

/* Send STATUS= if it changed since the last one (extra: assignments sent with it, or ""). */
static void status_send(const char *extra)
{
	char now[CGD_NOTIFY_STATUS_MAX], msg[CGD_NOTIFY_STATUS_MAX + 64];

	status_of(nt.d, now, sizeof(now));
	if (!strcmp(now, nt.status) && !extra[0])
		return;
	snprintf(nt.status, sizeof(nt.status), "%s", now);
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", extra, now);
	notify_send(msg);
}

/* The ping: from the event loop, so a loop that stops turning stops the pings. */
static void watchdog_due(struct cg_loop *loop, void *arg)
{
	int id;

	nt.watchdog_id = 0;
	notify_send("WATCHDOG=1");
	id = cg_loop_timer(loop, nt.watchdog_ms, watchdog_due, arg);
	if (id > 0)
		nt.watchdog_id = id;
}

/* State changes (commits, expiries, fail-static and its end) show in STATUS= within this tick. */
static void status_due(struct cg_loop *loop, void *arg)
{
	int id;

	nt.status_id = 0;
	status_send("");
	id = cg_loop_timer(loop, CGD_NOTIFY_STATUS_MS, status_due, arg);
	if (id > 0)
		nt.status_id = id;
}

void cgd_notify_ready(struct cgd *d)
{
	uint64_t usec = 0;
	int id;

	if (nt.on) {
		status_send("READY=1\n");
		return;
	}
	if (!getenv("NOTIFY_SOCKET"))
		return;
	nt.on = true;
	nt.d = d;
	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, is this process */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
		nt.watchdog_ms = usec / 2000;
	status_send("READY=1\n");
	if (nt.watchdog_ms) {
		notify_send("WATCHDOG=1");
		id = cg_loop_timer(d->loop, nt.watchdog_ms, watchdog_due, d);
		if (id > 0)
			nt.watchdog_id = id;
		else
			cgd_log("warning: cannot arm the watchdog timer: %s", strerror(-id));
	}
	id = cg_loop_timer(d->loop, CGD_NOTIFY_STATUS_MS, status_due, d);
	if (id > 0)
		nt.status_id = id;
	cgd_log("told the service manager: ready%s%llu%s",
		nt.watchdog_ms ? ", watchdog every " : "", (unsigned long long)nt.watchdog_ms,
		nt.watchdog_ms ? " ms" : "");
}

void cgd_notify_reloading(struct cgd *d)
{
	char msg[128];

	if (!nt.on)
		return;
	/* MONOTONIC_USEC: what systemd 253's Type=notify-reload asks of a reload; harmless before */
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=applying a config",
		 (unsigned long long)cg_loop_now_ms() * 1000ULL);
	notify_send(msg);
}

void cgd_notify_stopping(struct cgd *d)
{
	if (!nt.on)
		return;
	notify_send("STOPPING=1\nSTATUS=stopping; the data plane keeps forwarding on the pinned "
		    "maps");
	if (nt.watchdog_id > 0 && d->loop)
		cg_loop_timer_cancel(d->loop, nt.watchdog_id);
	if (nt.status_id > 0 && d->loop)
		cg_loop_timer_cancel(d->loop, nt.status_id);
	nt.watchdog_id = nt.status_id = 0;
	nt.on = false;
}

bool cgd_journal_stderr(void)
{
	unsigned long long dev, ino;
	const char *e;
	struct stat st;
	char end;

	if (journal >= 0)
		return journal;
	journal = 0;
	e = getenv("JOURNAL_STREAM");
	/* systemd sets it to stderr's device:inode; a redirected stderr no longer matches */
	if (e && sscanf(e, "%llu:%llu%c", &dev, &ino, &end) == 2 && !fstat(STDERR_FILENO, &st) &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		journal = 1;
	return journal;
}

/* A message's level by how it starts (after an optional "subsystem: "); keep in sync with cgd_log's callers' wording. */
static const struct {
	const char *start; /* the message, or what follows its subsystem, starts with this */
	int prio;	   /* its syslog priority */
} prios[] = {
	{ "cannot ", LOG_ERR },
	{ "reconcile (", LOG_INFO }, /* "... failed" is found below */
	{ "out of memory", LOG_ERR },
	{ "PANIC", LOG_CRIT },
	{ "warning", LOG_WARNING },
	{ "fail-static", LOG_WARNING },
	{ "refused", LOG_WARNING },
	{ "forced", LOG_WARNING },
	{ "signal ", LOG_NOTICE },
	{ "ready", LOG_NOTICE },
	{ "generated a hash key", LOG_NOTICE },
};

/* the prio of the first entry of prios[] that s starts with, or -1 */
static int prio_of_start(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(prios) / sizeof(prios[0]); i++)
		if (!strncmp(s, prios[i].start, strlen(prios[i].start)))
			return prios[i].prio;
	return -1;
}

int cgd_log_prio(const char *msg)
{
	const char *rest;
	int prio;

	if (strstr(msg, "refusing to start") || strstr(msg, "STUCK") || strstr(msg, ") failed:"))
		return LOG_ERR;
	prio = prio_of_start(msg);
	if (prio >= 0)
		return prio;
	/* "health: ", "control socket: ", "cell X: ": the subsystem, then the message */
	rest = strstr(msg, ": ");
	if (rest && rest - msg < 40) {
		prio = prio_of_start(rest + 2);
		if (prio >= 0)
			return prio;
	}
	return LOG_INFO;
}

const char *cgd_log_prefix(int prio)
{
	static const char *const tags[] = {
		"<0>", "<1>", "<2>", "<3>", "<4>", "<5>", "<6>", "<7>"
	};

	if (!cgd_journal_stderr())
		return "";
	return tags[prio < 0 ? LOG_ERR : prio > LOG_DEBUG ? LOG_DEBUG : prio];
}
