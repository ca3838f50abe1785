// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* metrics.c - /metrics over HTTP (libmicrohttpd) on the daemon's own loop: one scrape, one render */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "cellgate/codec.h"
#include "cellgate/field.h"
#include "cellgate/health.h"
#include "cellgate/metrics.h"
#include "cellgated.h"

#define METRICS_CONN_MAX     32 /* scrapers served at once; more wait in the backlog */
#define METRICS_CONN_TIMEOUT 10 /* s an idle connection is kept */

/* The HTTP server and its place on the loop. */
struct cgd_metrics {
	struct MHD_Daemon *mhd;		    /* the server, NULL when not serving */
	int epfd;			    /* its epoll fd, watched by the loop; -1 if none */
	int timer_id;			    /* its next timeout on the loop, 0 if none */
	char listen[CG_METRICS_LISTEN_MAX]; /* what it serves on, as configured */
	uint64_t scrapes;		    /* /metrics answered */
	char error[320];		    /* why listen is not served, or "" */
};

static void metrics_arm(struct cgd *d);

/* Run what MHD has to do, then tell the loop when it next must. */
static void metrics_run(struct cgd *d)
{
	if (!d->metrics || !d->metrics->mhd)
		return;
	MHD_run(d->metrics->mhd);
	metrics_arm(d);
}

static void metrics_due(struct cg_loop *loop, void *arg)
{
	struct cgd *d = arg;

	d->metrics->timer_id = 0;
	metrics_run(d);
}

static void metrics_readable(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	metrics_run(arg);
}

/* One timer at MHD's next timeout (connection timeouts, work already pending: 0). */
static void metrics_arm(struct cgd *d)
{
	struct cgd_metrics *m = d->metrics;
	MHD_UNSIGNED_LONG_LONG ms;
	int id;

	if (m->timer_id) {
		cg_loop_timer_cancel(d->loop, m->timer_id);
		m->timer_id = 0;
	}
	if (MHD_get_timeout(m->mhd, &ms) != MHD_YES)
		return;
	id = cg_loop_timer(d->loop, ms, metrics_due, d);
	if (id > 0)
		m->timer_id = id;
}

/*
 * The text of one scrape: the counters of the state's objects read now (the slots cellctl stats
 * shows), the state, health and the controller.
 */
static int metrics_text(struct cgd *d, char **out, size_t *len)
{
	struct cg_metrics_bp_cell *bp = NULL;
	struct cg_stats_snap *snap = NULL;
	struct cg_metrics_in in = { 0 };
	uint8_t *health = NULL;
	int ret = -ENOMEM;

	health = calloc(d->st.ncells + 1, sizeof(*health));
	bp = calloc(d->st.ncells + 1, sizeof(*bp));
	if (!health || !bp)
		goto out;
	in.st = &d->st;
	if (d->dp) {
		snap = cg_stats_new();
		if (!snap)
			goto out;
		in.counters_read =
			!cg_stats_read_state(d->dp, &d->st, snap, cg_loop_now_ms() * 1000000ULL);
		in.snap = snap;
	}
	if (cgd_health_view(d, health, false))
		in.health = health;
	if (d->bp) {
		for (size_t i = 0; i < d->st.ncells; i++)
			cgd_bp_metrics(d, &d->st.cells[i], &bp[i]);
		in.bp = bp;
	}
	in.version = CGD_VERSION;
	in.digest = cg_state_digest(&d->st);
	in.fail_static = d->fail_static[0] != '\0';
	in.uptime_ms = cg_loop_now_ms() - d->started_ms;
	ret = cg_metrics_render(&in, out, len);
out:
	cg_stats_free(snap);
	free(health);
	free(bp);
	return ret;
}

/* A short text/plain answer with status. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct cgd *d = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text;
	size_t len;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (*upload_size) /* a GET with a body: take none of it */
		return MHD_NO;
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "not found: cellgated serves /metrics\n");
	if (metrics_text(d, &text, &len))
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CG_METRICS_CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	d->metrics->scrapes++;
	return ret;
}

/* MHD's own errors, one log line each. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	cgd_log("metrics: %s", line);
}

/* Stop serving: off the loop, the server stopped (its sockets closed). */
static void metrics_stop(struct cgd *d)
{
	struct cgd_metrics *m = d->metrics;

	if (m->timer_id)
		cg_loop_timer_cancel(d->loop, m->timer_id);
	m->timer_id = 0;
	if (m->epfd >= 0)
		cg_loop_del(d->loop, m->epfd);
	m->epfd = -1;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	m->mhd = NULL;
	m->listen[0] = '\0';
	m->error[0] = '\0';
}

/* Serve on d->st.metrics.listen; a failure is logged and leaves nothing served. */
static void metrics_start(struct cgd *d)
{
	struct cgd_metrics *m = d->metrics;
	const union MHD_DaemonInfo *info;
	struct sockaddr_in6 s6 = { 0 };
	struct sockaddr_in s4 = { 0 };
	struct sockaddr *sa;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct cg_addr a;
	char err[256], q[CG_SHOW_TEXT_MAX];
	uint16_t port;
	int ret;

	ret = cg_listen_parse(d->st.metrics.listen, "metrics.listen", &a, &port, err, sizeof(err));
	snprintf(m->listen, sizeof(m->listen), "%s", d->st.metrics.listen);
	if (ret) {
		if (ret < 0) {
			snprintf(m->error, sizeof(m->error), "%s", err);
			cgd_log("metrics: %s; not served", err);
		}
		return;
	}
	if (a.family == CG_AF_INET6) {
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons(port);
		memcpy(&s6.sin6_addr, a.a, sizeof(s6.sin6_addr));
		sa = (struct sockaddr *)&s6;
		flags |= MHD_USE_IPv6;
	} else {
		s4.sin_family = AF_INET;
		s4.sin_port = htons(port);
		s4.sin_addr.s_addr = a.a[0];
		sa = (struct sockaddr *)&s4;
	}
	m->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, d, MHD_OPTION_SOCK_ADDR, sa,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_CONN_MAX,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_CONN_TIMEOUT,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(m->error, sizeof(m->error), "cannot serve on '%s': %s",
			 cg_show(m->listen, q, sizeof(q)), strerror(errno ? errno : EADDRINUSE));
		cgd_log("metrics: %s", m->error);
		return;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	ret = info ? cg_loop_add(d->loop, info->epoll_fd, EPOLLIN, metrics_readable, d) : -EINVAL;
	if (ret) {
		snprintf(m->error, sizeof(m->error), "cannot watch the server: %s", strerror(-ret));
		cgd_log("metrics: %s", m->error);
		MHD_stop_daemon(m->mhd);
		m->mhd = NULL;
		return;
	}
	m->epfd = info->epoll_fd;
	cgd_log("metrics: serving /metrics on %s", cg_show(m->listen, q, sizeof(q)));
	metrics_arm(d);
}

int cgd_metrics_init(struct cgd *d)
{
	d->metrics = calloc(1, sizeof(*d->metrics));
	if (!d->metrics)
		return -ENOMEM;
	d->metrics->epfd = -1;
	metrics_start(d);
	return 0;
}

void cgd_metrics_sync(struct cgd *d)
{
	if (!d->metrics || !strcmp(d->metrics->listen, d->st.metrics.listen))
		return;
	metrics_stop(d);
	metrics_start(d);
}

void cgd_metrics_free(struct cgd *d)
{
	if (!d->metrics)
		return;
	metrics_stop(d);
	free(d->metrics);
	d->metrics = NULL;
}

json_t *cgd_metrics_json(const struct cgd *d)
{
	const struct cgd_metrics *m = d->metrics;

	if (!m)
		return json_null();
	return json_pack("{s:s, s:b, s:I, s:s}", "listen", d->st.metrics.listen, "serving",
			 m->mhd != NULL, "scrapes", (json_int_t)m->scrapes, "error", m->error);
}
