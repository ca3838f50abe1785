/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* ctl_server.c - control socket server: listens, checks peers, frames lines, dispatches commands */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "cellgate/ctl.h"
#include "cellgate/lock.h"
#include "cellgate/text.h"

#define CTL_ACCEPT_BURST    16		/* connections accepted per wakeup: others get a turn */
#define CTL_ACCEPT_PAUSE_MS 100		/* accept() pause when out of fds or memory */
#define CTL_IN_MIN	    4096	/* first input buffer; grows to CG_CTL_MAX_LINE + 1 */
#define CTL_OUT_KEEP	    (64 * 1024) /* output buffer kept once drained; a larger one is freed */
#define CTL_MSG_MAX	    CG_CTL_MSG_MAX /* error messages, handlers' included */
#define CTL_PEER_GROUPS	    64		   /* supplementary groups looked at without allocating */
#define CTL_IN_KEEP	    (64 * 1024) /* input buffer kept once drained; a larger one shrinks */
#define CTL_PARSE_ID_MAX    4096	/* a refused line this short is parsed to echo its id */
#define CTL_FLOOD_FACTOR    2		/* lines refused past max_rate x this, in a row: dropped */
#define CTL_FLOOD_MIN	    64		/* ... and never fewer than this many */
#define CTL_EVICT_QUIET_MS  1000	/* a full server closes a client this quiet for a new one */
#define CTL_LOG_BURST	    20		/* per-connection log lines in a burst ... */
#define CTL_LOG_RATE	    5		/* ... and a second after it; the rest are counted */

/* One connection. */
struct ctl_client {
	struct cg_ctl_server *srv; /* server it belongs to */
	struct ctl_client *prev;   /* neighbours on srv->clients */
	struct ctl_client *next;
	int fd;			 /* the connection, non-blocking */
	struct cg_ctl_peer peer; /* credentials (SO_PEERCRED) */
	bool may_mutate;	 /* may run mutating commands */
	char *in;		 /* received bytes: at most one partial line between reads */
	size_t in_len;		 /* bytes in in */
	size_t in_cap;		 /* size of in, at most CG_CTL_MAX_LINE + 1 */
	size_t in_scanned;	 /* leading bytes of in known to hold no '\n' */
	char *out;		 /* replies not yet sent: out[out_off..out_len) */
	size_t out_off;
	size_t out_len;
	size_t out_cap;	    /* size of out */
	uint32_t events;    /* events asked of the loop */
	int idle_timer;	    /* pending idle check, 0 if none */
	uint64_t active_ms; /* last valid request (cg_loop_now_ms); junk does not count */
	uint64_t sent_ms;   /* last reply progress: a slow reader of real replies is not idle */
	uint64_t refused;   /* lines refused by the rate limit since the last one admitted */
	uint64_t tokens;    /* rate limiter, in thousandths of a request */
	uint64_t refill_ms; /* when tokens was last topped up */
	bool closing;	    /* reads no more; closes once out is sent */
	bool dead;	    /* to be freed when the current callback ends */
};

struct cg_ctl_server {
	struct cg_loop *loop;		/* loop it runs on */
	int fd;				/* listening socket */
	char *path;			/* socket file */
	dev_t dev;			/* identity of the socket file it made: */
	ino_t ino;			/* a replaced file is not unlinked */
	bool own_path;			/* path is ours to unlink */
	const struct cg_ctl_cmd *cmds;	/* command table, kept */
	size_t ncmds;			/* entries in cmds */
	void *ctx;			/* handlers' context */
	const struct cg_ctl_peer *peer; /* of the request a handler runs for, else NULL */
	struct cg_ctl_opts opts;	/* settings, defaults filled in */
	uid_t uid;			/* own effective uid: allowed everything */
	struct ctl_client *clients;	/* connections served */
	size_t nclients;		/* entries in clients */
	int accept_timer;		/* resumes accepting after a pause, 0 if none */
	uint64_t log_tokens;		/* per-connection log lines allowed now, in thousandths */
	uint64_t log_refill_ms;		/* when log_tokens was last topped up */
	uint64_t log_suppressed;	/* lines not logged since the last one that was */
};

static void ctl_log(const struct cg_ctl_opts *opts, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ctl_log(const struct cg_ctl_opts *opts, int prio, const char *fmt, ...)
{
	char msg[CTL_MSG_MAX + 128];
	va_list ap;

	if (!opts || !opts->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	opts->log(opts->log_arg, prio, msg);
}

static void ctl_log_client(struct cg_ctl_server *srv, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Log a line about one connection, at most CTL_LOG_BURST in a burst and
 * CTL_LOG_RATE a second after it: a connection storm must not flood the log.
 * What is not logged is counted and reported with the next line that is.
 */
static void ctl_log_client(struct cg_ctl_server *srv, int prio, const char *fmt, ...)
{
	uint64_t now = cg_loop_now_ms(), full = CTL_LOG_BURST * 1000ULL;
	char msg[CTL_MSG_MAX + 128];
	va_list ap;

	if (!srv->opts.log)
		return;
	srv->log_tokens += (now - srv->log_refill_ms) * CTL_LOG_RATE;
	if (srv->log_tokens > full)
		srv->log_tokens = full;
	srv->log_refill_ms = now;
	if (srv->log_tokens < 1000) {
		srv->log_suppressed++;
		return;
	}
	srv->log_tokens -= 1000;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (srv->log_suppressed)
		ctl_log(&srv->opts, prio, "%s (and %llu more control-socket messages not logged)",
			msg, (unsigned long long)srv->log_suppressed);
	else
		ctl_log(&srv->opts, prio, "%s", msg);
	srv->log_suppressed = 0;
}

static void ctl_drop(struct ctl_client *c, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Mark c to be closed when the current callback ends, saying why. */
static void ctl_drop(struct ctl_client *c, int prio, const char *fmt, ...)
{
	char why[CTL_MSG_MAX];
	va_list ap;

	if (c->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ctl_log_client(c->srv, prio, "control client pid %d uid %u dropped: %s", (int)c->peer.pid,
		       (unsigned int)c->peer.uid, why);
	c->dead = true;
}

static void ctl_client_free(struct ctl_client *c)
{
	struct cg_ctl_server *srv = c->srv;

	if (c->idle_timer)
		cg_loop_timer_cancel(srv->loop, c->idle_timer);
	cg_loop_del(srv->loop, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nclients--;
	free(c->in);
	free(c->out);
	free(c);
}

/* Ask the loop for what c needs now; a closing client with nothing left to send is done. */
static void ctl_update_events(struct ctl_client *c)
{
	bool pending = c->out_len > c->out_off;
	uint32_t want;

	if (c->dead)
		return;
	if (c->closing && !pending) {
		c->dead = true;
		return;
	}
	want = (c->closing ? 0 : EPOLLIN) | (pending ? EPOLLOUT : 0);
	if (want == c->events)
		return;
	if (cg_loop_mod(c->srv->loop, c->fd, want) < 0) {
		ctl_drop(c, LOG_WARNING, "cannot watch: %s", strerror(errno));
		return;
	}
	c->events = want;
}

/* Send what the socket takes now. */
static void ctl_flush(struct ctl_client *c)
{
	ssize_t n;

	while (!c->dead && c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ctl_drop(c, LOG_INFO, "cannot send: %s", strerror(errno));
			break;
		}
		c->out_off += (size_t)n;
		c->sent_ms = cg_loop_now_ms();
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->out_cap > CTL_OUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
}

/* Queue a reply line (stolen). A client leaving more than max_output unread is dropped. */
static void ctl_queue(struct ctl_client *c, char *line, size_t len)
{
	size_t need, cap;
	char *out;

	if (c->out_len - c->out_off > c->srv->opts.max_output) {
		ctl_flush(c);
		if (c->out_len - c->out_off > c->srv->opts.max_output)
			ctl_drop(c, LOG_WARNING, "%zu bytes of replies unread",
				 c->out_len - c->out_off);
	}
	if (c->dead)
		goto out;
	if (c->out_off && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + len;
	if (need > c->out_cap) {
		for (cap = c->out_cap ? c->out_cap : CTL_IN_MIN; cap < need; cap *= 2)
			;
		out = realloc(c->out, cap);
		if (!out) {
			ctl_drop(c, LOG_ERR, "cannot queue a reply: %s", strerror(ENOMEM));
			goto out;
		}
		c->out = out;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, len);
	c->out_len += len;
out:
	free(line);
}

static void ctl_reply(struct ctl_client *c, int ret, json_t *result, const char *msg, json_t *id)
{
	char *line;
	size_t len;

	line = cg_ctl_reply_line(ret, result, msg, id, &len);
	if (!line) {
		ctl_drop(c, LOG_ERR, "cannot build a reply: %s", strerror(ENOMEM));
		return;
	}
	ctl_queue(c, line, len);
}

/* Take one request from the token bucket: max_rate a second, bursts of max_rate. */
static bool ctl_take_token(struct ctl_client *c)
{
	uint64_t now = cg_loop_now_ms(), full = (uint64_t)c->srv->opts.max_rate * 1000;

	c->tokens += (now - c->refill_ms) * c->srv->opts.max_rate;
	if (c->tokens > full)
		c->tokens = full;
	c->refill_ms = now;
	if (c->tokens < 1000)
		return false;
	c->tokens -= 1000;
	return true;
}

static json_t *ctl_hello(struct ctl_client *c)
{
	const struct cg_ctl_server *srv = c->srv;
	json_t *res, *names;
	size_t i;

	names = json_array();
	if (!names)
		return NULL;
	json_array_append_new(names, json_string("hello"));
	for (i = 0; i < srv->ncmds; i++)
		json_array_append_new(names, json_string(srv->cmds[i].name));
	res = json_pack("{s:i, s:s, s:s, s:b, s:o}", "protocol", CG_CTL_PROTOCOL, "server",
			srv->opts.server, "version", srv->opts.version, "read_only", !c->may_mutate,
			"commands", names);
	return res;
}

static const struct cg_ctl_cmd *ctl_find(const struct cg_ctl_server *srv, const char *name)
{
	size_t i;

	for (i = 0; i < srv->ncmds; i++)
		if (!strcmp(srv->cmds[i].name, name))
			return &srv->cmds[i];
	return NULL;
}

/* Answer one request line (without its '\n'). */
static void ctl_handle_line(struct ctl_client *c, const char *line, size_t len)
{
	struct cg_ctl_server *srv = c->srv;
	struct cg_ctl_req req = { 0 };
	json_t *args, *result = NULL;
	const struct cg_ctl_cmd *cmd;
	char msg[CTL_MSG_MAX] = "", q[CG_SHOW_TEXT_MAX];
	size_t i;
	int ret;

	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'); i++)
		;
	/* every line costs a token before any parsing, blank and junk lines too */
	if (!ctl_take_token(c)) {
		uint64_t flood = (uint64_t)srv->opts.max_rate * CTL_FLOOD_FACTOR;

		if (++c->refused > (flood > CTL_FLOOD_MIN ? flood : CTL_FLOOD_MIN)) {
			ctl_drop(c, LOG_WARNING, "flooding: %llu lines over %u a second",
				 (unsigned long long)c->refused, srv->opts.max_rate);
			return;
		}
		if (i == len)
			return;
		/* a short line is parsed only to echo its id */
		if (len <= CTL_PARSE_ID_MAX)
			cg_ctl_parse_request(line, len, &req, msg, sizeof(msg));
		ret = -EBUSY;
		snprintf(msg, sizeof(msg), "more than %u requests a second", srv->opts.max_rate);
		goto reply;
	}
	c->refused = 0;
	ret = cg_ctl_parse_request(line, len, &req, msg, sizeof(msg));
	if (ret > 0)
		return; /* blank lines are allowed between requests */
	if (ret)
		goto reply;
	c->active_ms = cg_loop_now_ms(); /* a request: the connection is in use */
	args = req.args;
	if (!strcmp(req.cmd, "hello")) {
		result = ctl_hello(c);
		ret = result ? 0 : -ENOMEM;
		goto reply;
	}
	cmd = ctl_find(srv, req.cmd);
	if (!cmd) {
		ret = -ENOSYS;
		snprintf(msg, sizeof(msg), "unknown command '%s'", cg_show(req.cmd, q, sizeof(q)));
		goto reply;
	}
	if (cmd->mutating && !c->may_mutate) {
		ret = -EPERM;
		snprintf(msg, sizeof(msg), "'%s' changes state: uid %u may only read",
			 cg_show(req.cmd, q, sizeof(q)), (unsigned int)c->peer.uid);
		goto reply;
	}
	if (!args) {
		args = json_object();
		if (!args) {
			ret = -ENOMEM;
			goto reply;
		}
		json_object_set_new(req.root, "args", args); /* released with req */
	}
	srv->peer = &c->peer;
	ret = cmd->fn(srv->ctx, args, &result, msg, sizeof(msg));
	srv->peer = NULL;
	if (ret > 0) {
		/* a handler breaking its contract is still answered */
		snprintf(msg, sizeof(msg), "'%s' returned %d", cg_show(req.cmd, q, sizeof(q)), ret);
		ret = -EIO;
	}
	if (ret) {
		json_decref(result);
		result = NULL;
	}
reply:
	ctl_reply(c, ret, result, ret && msg[0] ? msg : NULL, req.id);
	json_decref(req.root);
}

/* Answer every complete line received; refuse a line that cannot fit. */
static void ctl_process(struct ctl_client *c)
{
	char msg[64], *nl;
	size_t start = 0, len;

	while (!c->dead && !c->closing) {
		nl = memchr(c->in + c->in_scanned, '\n', c->in_len - c->in_scanned);
		if (!nl) {
			c->in_scanned = c->in_len;
			break;
		}
		len = (size_t)(nl - (c->in + start));
		ctl_handle_line(c, c->in + start, len);
		start += len + 1;
		c->in_scanned = start;
	}
	if (start) {
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
		c->in_scanned -= start;
	}
	if (!c->dead && !c->closing && c->in_len > CG_CTL_MAX_LINE) {
		ctl_log_client(c->srv, LOG_WARNING,
			       "control client pid %d uid %u sent a request longer than %d bytes",
			       (int)c->peer.pid, (unsigned int)c->peer.uid, CG_CTL_MAX_LINE);
		snprintf(msg, sizeof(msg), "request longer than %d bytes", CG_CTL_MAX_LINE);
		ctl_reply(c, -EMSGSIZE, NULL, msg, NULL);
		c->closing = true;
	}
	if (c->closing)
		c->in_len = c->in_scanned = 0;
	/* a huge request's buffer is not kept once it is answered */
	if (c->in_cap > CTL_IN_KEEP && c->in_len <= CTL_IN_MIN) {
		char *in = malloc(CTL_IN_MIN);

		if (in) {
			memcpy(in, c->in, c->in_len);
			free(c->in);
			c->in = in;
			c->in_cap = CTL_IN_MIN;
		}
	}
}

static void ctl_read(struct ctl_client *c)
{
	size_t cap;
	ssize_t n;
	char *in;

	if (c->in_len == c->in_cap) {
		/* ctl_process() refused a full buffer without a '\n': room is left */
		cap = c->in_cap ? c->in_cap * 2 : CTL_IN_MIN;
		if (cap > CG_CTL_MAX_LINE + 1)
			cap = CG_CTL_MAX_LINE + 1;
		in = realloc(c->in, cap);
		if (!in) {
			ctl_drop(c, LOG_ERR, "cannot buffer a request: %s", strerror(ENOMEM));
			return;
		}
		c->in = in;
		c->in_cap = cap;
	}
	n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			ctl_drop(c, LOG_INFO, "cannot read: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		/* the peer sent all it will: answer what came whole, drop a partial line */
		c->closing = true;
		c->in_len = c->in_scanned = 0;
		return;
	}
	c->in_len += (size_t)n;
	ctl_process(c);
}

static void ctl_on_client(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct ctl_client *c = arg;

	if (events & EPOLLOUT)
		ctl_flush(c);
	/* one read per wakeup: a flooding client cannot starve the others */
	if (!c->dead && (c->events & EPOLLIN) && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		ctl_read(c);
	else if (!c->dead && (events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLOUT))
		ctl_drop(c, LOG_INFO, "connection closed with %zu bytes of replies unsent",
			 c->out_len - c->out_off);
	if (!c->dead)
		ctl_flush(c);
	ctl_update_events(c);
	if (c->dead)
		ctl_client_free(c);
}

static void ctl_on_idle(struct cg_loop *loop, void *arg)
{
	struct ctl_client *c = arg;
	unsigned int idle = c->srv->opts.idle_timeout_ms;
	uint64_t last = c->active_ms, quiet;

	char msg[96], *line;
	size_t len;

	c->idle_timer = 0;
	/* a client still taking in replies to real requests is busy, not idle */
	if (c->out_len > c->out_off && c->sent_ms > last)
		last = c->sent_ms;
	quiet = cg_loop_now_ms() - last;
	if (quiet < idle) {
		c->idle_timer = cg_loop_timer(loop, idle - quiet, ctl_on_idle, c);
		if (c->idle_timer > 0)
			return;
		c->idle_timer = 0;
	}
	/* say why, unless that would land in the middle of a reply */
	if (c->out_len == c->out_off) {
		snprintf(msg, sizeof(msg), "no complete request for %u ms", idle);
		line = cg_ctl_reply_line(-ETIMEDOUT, NULL, msg, NULL, &len);
		if (line)
			send(c->fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(line);
	}
	ctl_drop(c, LOG_INFO, "idle for %u ms", idle);
	ctl_client_free(c);
}

/* Whether the peer of fd has gid among its groups (primary or supplementary). */
static bool ctl_peer_in_group(int fd, const struct ucred *cred, gid_t gid)
{
	bool found = cred->gid == gid;
#ifdef SO_PEERGROUPS
	gid_t small[CTL_PEER_GROUPS], *groups = small;
	socklen_t len = sizeof(small);
	size_t i;

	if (found)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE)
			return false;
		groups = malloc(len);
		if (!groups || getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
			goto out;
	}
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			found = true;
out:
	if (groups != small)
		free(groups);
#endif
	return found;
}

/* Send a final error line to a connection being refused, and close it. */
static void ctl_refuse(int fd, int err, const char *msg)
{
	char *line;
	size_t len;

	line = cg_ctl_reply_line(err, NULL, msg, NULL, &len);
	/* a new connection's buffer is empty: this does not block, and the loss is harmless */
	if (line)
		send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(line);
	close(fd);
}

/*
 * A full server makes room for a newcomer by closing the connection that has
 * sent no valid request for the longest, if that is at least
 * CTL_EVICT_QUIET_MS: connections holding slots with junk or silence cannot
 * lock the operator out, and busy ones are never cut.
 */
static void ctl_evict_quiet(struct cg_ctl_server *srv)
{
	uint64_t now = cg_loop_now_ms();
	struct ctl_client *c, *oldest = NULL;
	char *line;
	size_t len;

	for (c = srv->clients; c; c = c->next)
		if (!c->dead && c->out_len == c->out_off &&
		    now - c->active_ms >= CTL_EVICT_QUIET_MS &&
		    (!oldest || c->active_ms < oldest->active_ms))
			oldest = c;
	if (!oldest)
		return;
	line = cg_ctl_reply_line(-EBUSY, NULL, "closed to make room: no request for a while", NULL,
				 &len);
	if (line)
		send(oldest->fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(line);
	ctl_drop(oldest, LOG_INFO, "quiet for %llu ms while the server was full",
		 (unsigned long long)(now - oldest->active_ms));
	ctl_client_free(oldest);
}

static void ctl_admit(struct cg_ctl_server *srv, int fd)
{
	const struct cg_ctl_opts *o = &srv->opts;
	socklen_t len = sizeof(struct ucred);
	struct ucred cred;
	struct ctl_client *c;
	char msg[CTL_MSG_MAX];
	bool rw;
	int err;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		ctl_log_client(srv, LOG_WARNING,
			       "cannot get the credentials of a control client: %s",
			       strerror(errno));
		ctl_refuse(fd, -EACCES, "cannot get peer credentials");
		return;
	}
	if (cred.uid == 0 || cred.uid == srv->uid) {
		rw = true;
	} else if (o->group_set && ctl_peer_in_group(fd, &cred, o->group)) {
		rw = o->group_may_mutate;
	} else {
		if (o->group_set)
			snprintf(msg, sizeof(msg),
				 "permission denied: uid %u is not root nor in group %u",
				 (unsigned int)cred.uid, (unsigned int)o->group);
		else
			snprintf(msg, sizeof(msg), "permission denied: uid %u is not root",
				 (unsigned int)cred.uid);
		ctl_log_client(srv, LOG_WARNING, "control client pid %d refused: %s", (int)cred.pid,
			       msg);
		ctl_refuse(fd, -EACCES, msg);
		return;
	}
	if (srv->nclients >= o->max_clients)
		ctl_evict_quiet(srv);
	if (srv->nclients >= o->max_clients) {
		snprintf(msg, sizeof(msg), "too many clients (%u)", o->max_clients);
		ctl_log_client(srv, LOG_WARNING, "control client pid %d uid %u refused: %s",
			       (int)cred.pid, (unsigned int)cred.uid, msg);
		ctl_refuse(fd, -EBUSY, msg);
		return;
	}

	c = calloc(1, sizeof(*c));
	if (!c) {
		ctl_refuse(fd, -ENOMEM, NULL);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->peer.uid = cred.uid;
	c->peer.pid = cred.pid;
	c->peer.gid = cred.gid;
	c->may_mutate = rw;
	c->events = EPOLLIN;
	c->active_ms = c->sent_ms = c->refill_ms = cg_loop_now_ms();
	c->tokens = (uint64_t)o->max_rate * 1000;
	c->idle_timer = cg_loop_timer(srv->loop, o->idle_timeout_ms, ctl_on_idle, c);
	err = c->idle_timer < 0 ? c->idle_timer : 0;
	if (!err)
		err = cg_loop_add(srv->loop, fd, EPOLLIN, ctl_on_client, c);
	if (err) {
		ctl_log_client(srv, LOG_ERR, "cannot serve control client pid %d: %s",
			       (int)cred.pid, strerror(-err));
		if (c->idle_timer > 0)
			cg_loop_timer_cancel(srv->loop, c->idle_timer);
		free(c);
		ctl_refuse(fd, err, NULL);
		return;
	}
	c->next = srv->clients;
	if (c->next)
		c->next->prev = c;
	srv->clients = c;
	srv->nclients++;
}

static void ctl_on_resume(struct cg_loop *loop, void *arg)
{
	struct cg_ctl_server *srv = arg;

	srv->accept_timer = 0;
	cg_loop_mod(loop, srv->fd, EPOLLIN);
}

static void ctl_on_accept(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct cg_ctl_server *srv = arg;
	int i, cfd;

	for (i = 0; i < CTL_ACCEPT_BURST; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			ctl_admit(srv, cfd);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		/* out of fds or memory: the socket stays readable, so do not spin on it */
		ctl_log(&srv->opts, LOG_WARNING, "cannot accept on '%s': %s", srv->path,
			strerror(errno));
		if (!srv->accept_timer) {
			srv->accept_timer =
				cg_loop_timer(loop, CTL_ACCEPT_PAUSE_MS, ctl_on_resume, srv);
			if (srv->accept_timer > 0)
				cg_loop_mod(loop, fd, 0);
			else
				srv->accept_timer = 0;
		}
		return;
	}
}

/* mkdir -p of the directory holding path, each new level 0755. */
static int ctl_make_parent(const char *path)
{
	char *dir, *p, c;
	int err = 0;

	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	p = strrchr(dir, '/');
	if (!p || p == dir)
		goto out;
	*p = '\0';
	for (p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			err = -errno;
			goto out;
		}
		*p = c;
		if (!c)
			break;
	}
out:
	free(dir);
	return err;
}

/* The socket's directory must be one only root (or we) can write into. */
static int ctl_check_parent(const char *path, const struct cg_ctl_opts *o)
{
	char *dir, *slash, err[CTL_MSG_MAX];
	int ret;

	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	ret = cg_dir_check_safe(dir, "socket directory", err, sizeof(err));
	if (ret)
		ctl_log(o, LOG_ERR, "%s", err);
	free(dir);
	return ret;
}

/*
 * Deal with a file already at path: 0 if there is none or it was a stale
 * socket (now unlinked), -EADDRINUSE if a server answers on it, -EEXIST if it
 * is not a socket, or another -errno.
 */
static int ctl_clear_path(const struct sockaddr_un *sa, const struct cg_ctl_opts *o)
{
	struct stat st;
	int fd, err;

	if (lstat(sa->sun_path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		ctl_log(o, LOG_ERR, "cannot stat '%s': %s", sa->sun_path, strerror(-err));
		return err;
	}
	if (S_ISLNK(st.st_mode)) {
		ctl_log(o, LOG_ERR, "cannot listen on '%s': it is a symbolic link", sa->sun_path);
		return -EEXIST;
	}
	if (!S_ISSOCK(st.st_mode)) {
		ctl_log(o, LOG_ERR, "cannot listen on '%s': it exists and is not a socket",
			sa->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		ctl_log(o, LOG_ERR, "cannot create a socket: %s", strerror(-err));
		return err;
	}
	err = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;
	close(fd);
	/* EAGAIN: its backlog is full, so it is alive */
	if (!err || err == -EAGAIN) {
		ctl_log(o, LOG_ERR, "cannot listen on '%s': another %s is running", sa->sun_path,
			o->server);
		return -EADDRINUSE;
	}
	if (err != -ECONNREFUSED && err != -ENOENT) {
		ctl_log(o, LOG_ERR, "cannot probe '%s': %s", sa->sun_path, strerror(-err));
		return err;
	}
	if (unlink(sa->sun_path) < 0 && errno != ENOENT) {
		err = -errno;
		ctl_log(o, LOG_ERR, "cannot remove stale socket '%s': %s", sa->sun_path,
			strerror(-err));
		return err;
	}
	ctl_log(o, LOG_INFO, "removed stale socket '%s'", sa->sun_path);
	return 0;
}

static int ctl_check_table(const struct cg_ctl_cmd *cmds, size_t ncmds, const struct cg_ctl_opts *o)
{
	size_t i, j;

	if (ncmds && !cmds)
		return -EINVAL;
	for (i = 0; i < ncmds; i++) {
		if (!cmds[i].name || !cmds[i].name[0] || !cmds[i].fn) {
			ctl_log(o, LOG_ERR, "control command %zu has no name or no handler", i);
			return -EINVAL;
		}
		if (!strcmp(cmds[i].name, "hello")) {
			ctl_log(o, LOG_ERR, "control command 'hello' is built in");
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (!strcmp(cmds[i].name, cmds[j].name)) {
				ctl_log(o, LOG_ERR, "control command '%s' is defined twice",
					cmds[i].name);
				return -EINVAL;
			}
		}
	}
	return 0;
}

struct cg_ctl_server *cg_ctl_server_new(struct cg_loop *loop, const char *path,
					const struct cg_ctl_cmd *cmds, size_t ncmds, void *ctx,
					const struct cg_ctl_opts *opts)
{
	struct cg_ctl_server *srv = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cg_ctl_opts o = { 0 };
	mode_t old_umask;
	struct stat st;
	int err, ret;

	if (opts)
		o = *opts;
	if (!o.mode)
		o.mode = o.group_set ? CG_CTL_DEFAULT_GROUP_MODE : CG_CTL_DEFAULT_MODE;
	if (!o.max_clients)
		o.max_clients = CG_CTL_DEFAULT_MAX_CLIENTS;
	if (!o.idle_timeout_ms)
		o.idle_timeout_ms = CG_CTL_DEFAULT_IDLE_MS;
	if (!o.max_rate)
		o.max_rate = CG_CTL_DEFAULT_RATE;
	if (!o.max_output)
		o.max_output = CG_CTL_DEFAULT_MAX_OUTPUT;
	if (!o.server)
		o.server = "cellgated";
	if (!o.version)
		o.version = "unknown";

	if (!loop || !path) {
		err = -EINVAL;
		goto out;
	}
	err = ctl_check_table(cmds, ncmds, &o);
	if (err)
		goto out;
	if (!path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		ctl_log(&o, LOG_ERR, "cannot listen on '%s': socket path too long", path);
		err = -ENAMETOOLONG;
		goto out;
	}
	strcpy(sa.sun_path, path);

	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		err = -ENOMEM;
		goto out;
	}
	srv->fd = -1;
	srv->loop = loop;
	srv->cmds = cmds;
	srv->ncmds = ncmds;
	srv->ctx = ctx;
	srv->opts = o;
	srv->uid = geteuid();
	srv->log_tokens = CTL_LOG_BURST * 1000ULL;
	srv->log_refill_ms = cg_loop_now_ms();
	srv->path = strdup(path);
	if (!srv->path) {
		err = -ENOMEM;
		goto out;
	}

	err = ctl_make_parent(path);
	if (err) {
		ctl_log(&o, LOG_ERR, "cannot create the directory of '%s': %s", path,
			strerror(-err));
		goto out;
	}
	err = ctl_check_parent(path, &o);
	if (err)
		goto out;
	err = ctl_clear_path(&sa, &o);
	if (err)
		goto out;
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		err = -errno;
		ctl_log(&o, LOG_ERR, "cannot create a socket: %s", strerror(-err));
		goto out;
	}
	/* the file is made with its final mode: no chmod through a path someone could swap */
	old_umask = umask(~o.mode & 0777);
	ret = bind(srv->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (ret < 0) {
		err = -errno;
		/* a server started between the probe and now */
		if (err == -EADDRINUSE)
			ctl_log(&o, LOG_ERR, "cannot listen on '%s': another %s is running", path,
				o.server);
		else
			ctl_log(&o, LOG_ERR, "cannot bind to '%s': %s", path, strerror(-err));
		goto out;
	}
	srv->own_path = true;
	if (lstat(path, &st) == 0) {
		srv->dev = st.st_dev;
		srv->ino = st.st_ino;
	}
	/* nobody can connect before listen(): the group is set first, never through a link */
	if (o.group_set && lchown(path, (uid_t)-1, o.group) < 0) {
		err = -errno;
		ctl_log(&o, LOG_ERR, "cannot give '%s' to group %u: %s", path,
			(unsigned int)o.group, strerror(-err));
		goto out;
	}
	if (listen(srv->fd, SOMAXCONN) < 0) {
		err = -errno;
		ctl_log(&o, LOG_ERR, "cannot listen on '%s': %s", path, strerror(-err));
		goto out;
	}
	err = cg_loop_add(loop, srv->fd, EPOLLIN, ctl_on_accept, srv);
	if (err)
		ctl_log(&o, LOG_ERR, "cannot watch '%s': %s", path, strerror(-err));
out:
	if (err) {
		if (srv && srv->fd >= 0 && srv->own_path)
			unlink(path);
		if (srv && srv->fd >= 0)
			close(srv->fd);
		if (srv)
			free(srv->path);
		free(srv);
		errno = -err;
		return NULL;
	}
	return srv;
}

void cg_ctl_server_free(struct cg_ctl_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	while (srv->clients)
		ctl_client_free(srv->clients);
	if (srv->accept_timer)
		cg_loop_timer_cancel(srv->loop, srv->accept_timer);
	cg_loop_del(srv->loop, srv->fd);
	close(srv->fd);
	/* someone may have replaced the file since: leave theirs alone */
	if (srv->own_path && lstat(srv->path, &st) == 0 && st.st_dev == srv->dev &&
	    st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv->path);
	free(srv);
}

const struct cg_ctl_peer *cg_ctl_server_peer(const struct cg_ctl_server *srv)
{
	return srv->peer;
}

size_t cg_ctl_server_clients(const struct cg_ctl_server *srv)
{
	return srv->nclients;
}
