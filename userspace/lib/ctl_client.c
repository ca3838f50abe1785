/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* ctl_client.c - control socket client: connect, send one request, wait for its reply */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cellgate/ctl.h"

#define CTL_REPLY_MAX	     (64 * 1024 * 1024) /* longest reply line accepted */
#define CTL_CONNECT_RETRY_MS 10			/* wait before retrying a full backlog */
#define CTL_NO_DEADLINE	     UINT64_MAX

struct cg_ctl_conn {
	int fd;		    /* connected socket, non-blocking */
	char *path;	    /* socket path, for messages */
	char *buf;	    /* received bytes not yet consumed */
	size_t len;	    /* bytes in buf */
	size_t cap;	    /* size of buf */
	json_int_t next_id; /* "id" of the next request */
	bool broken;	    /* a local failure left the stream out of step */
};

static void ctl_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ctl_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t ctl_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? CTL_NO_DEADLINE : cg_loop_now_ms() + (uint64_t)timeout_ms;
}

/* Milliseconds left for poll(): -1 without a deadline, 0 once it passed. */
static int ctl_left(uint64_t deadline)
{
	uint64_t now;

	if (deadline == CTL_NO_DEADLINE)
		return -1;
	now = cg_loop_now_ms();
	if (now >= deadline)
		return 0;
	return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

static struct cg_ctl_conn *ctl_connect_until(const char *path, char *err, size_t errlen,
					     uint64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cg_ctl_conn *conn = NULL;
	int ret = 0, fd = -1;
	bool hint;

	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		ctl_seterr(err, errlen, "cannot connect to '%s': socket path too long or empty",
			   path ? path : "");
		ret = -ENAMETOOLONG;
		goto out;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		ctl_seterr(err, errlen, "cannot create a socket: %s", strerror(-ret));
		goto out;
	}
	for (;;) {
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		ret = -errno;
		if (ret == -EINTR)
			continue;
		if (ret != -EAGAIN) {
			hint = ret == -ENOENT || ret == -ECONNREFUSED;
			ctl_seterr(err, errlen, "cannot connect to '%s': %s%s", path,
				   strerror(-ret), hint ? " (is cellgated running?)" : "");
			goto out;
		}
		/* the server's backlog is full: it is alive but busy */
		if (!ctl_left(deadline)) {
			ret = -ETIMEDOUT;
			ctl_seterr(err, errlen, "cannot connect to '%s': server busy", path);
			goto out;
		}
		poll(NULL, 0, CTL_CONNECT_RETRY_MS);
	}
	ret = 0;
	conn = calloc(1, sizeof(*conn));
	if (conn)
		conn->path = strdup(path);
	if (!conn || !conn->path) {
		ret = -ENOMEM;
		ctl_seterr(err, errlen, "cannot connect to '%s': %s", path, strerror(ENOMEM));
		goto out;
	}
	conn->fd = fd;
	conn->next_id = 1;
out:
	if (ret) {
		if (fd >= 0)
			close(fd);
		if (conn)
			free(conn->path);
		free(conn);
		errno = -ret;
		return NULL;
	}
	return conn;
}

struct cg_ctl_conn *cg_ctl_connect(const char *path, char *err, size_t errlen, int timeout_ms)
{
	return ctl_connect_until(path, err, errlen, ctl_deadline(timeout_ms));
}

void cg_ctl_close(struct cg_ctl_conn *conn)
{
	if (!conn)
		return;
	close(conn->fd);
	free(conn->path);
	free(conn->buf);
	free(conn);
}

/* Wait for events on the connection. Returns 0 or -ETIMEDOUT. */
static int ctl_wait(struct cg_ctl_conn *conn, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = conn->fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, ctl_left(deadline));
	} while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : -ETIMEDOUT;
}

/* Send all of buf. Returns 0, -ETIMEDOUT or the -errno of send(). */
static int ctl_send_all(struct cg_ctl_conn *conn, const char *buf, size_t len, uint64_t deadline)
{
	ssize_t n;
	int err;

	while (len) {
		n = send(conn->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			err = ctl_wait(conn, POLLOUT, deadline);
			if (err)
				return err;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Receive until buf holds a whole line. Returns its length (without '\n'),
 * or -ETIMEDOUT, -ECONNRESET (closed), -EMSGSIZE, -ENOMEM, -errno of read().
 */
static ssize_t ctl_recv_line(struct cg_ctl_conn *conn, uint64_t deadline)
{
	size_t scanned = 0, cap;
	ssize_t n;
	char *nl, *buf;
	int err;

	for (;;) {
		nl = conn->len ? memchr(conn->buf + scanned, '\n', conn->len - scanned) : NULL;
		if (nl)
			return nl - conn->buf;
		scanned = conn->len;
		if (conn->len > CTL_REPLY_MAX)
			return -EMSGSIZE;
		if (conn->len == conn->cap) {
			cap = conn->cap ? conn->cap * 2 : 4096;
			buf = realloc(conn->buf, cap);
			if (!buf)
				return -ENOMEM;
			conn->buf = buf;
			conn->cap = cap;
		}
		n = read(conn->fd, conn->buf + conn->len, conn->cap - conn->len);
		if (n > 0) {
			conn->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		err = ctl_wait(conn, POLLIN, deadline);
		if (err)
			return err;
	}
}

/* Read the reply to request id. Returns as cg_ctl_request(). */
static int ctl_read_reply(struct cg_ctl_conn *conn, json_int_t id, json_t **result, char *err,
			  size_t errlen, uint64_t deadline, int timeout_ms)
{
	json_t *reply = NULL, *ok, *rid, *res, *msg;
	json_error_t jerr;
	ssize_t len;
	int ret, e;

	len = ctl_recv_line(conn, deadline);
	if (len < 0) {
		ret = (int)len;
		if (ret == -ETIMEDOUT)
			ctl_seterr(err, errlen, "no reply from '%s' within %d ms", conn->path,
				   timeout_ms);
		else if (ret == -ECONNRESET)
			ctl_seterr(err, errlen, "'%s' closed the connection without a reply",
				   conn->path);
		else
			ctl_seterr(err, errlen, "cannot read the reply from '%s': %s", conn->path,
				   strerror(-ret));
		conn->broken = true;
		return ret;
	}
	reply = json_loadb(conn->buf, (size_t)len, 0, &jerr);
	memmove(conn->buf, conn->buf + len + 1, conn->len - (size_t)len - 1);
	conn->len -= (size_t)len + 1;
	ok = json_object_get(reply, "ok");
	rid = json_object_get(reply, "id");
	if (!json_is_boolean(ok)) {
		ctl_seterr(err, errlen, "invalid reply from '%s': %s", conn->path,
			   reply ? "no boolean \"ok\"" : jerr.text);
		ret = -EPROTO;
		conn->broken = true;
		goto out;
	}
	/* refusals (EACCES, EBUSY, idle timeout) come before any request: they carry no id */
	if (rid && (!json_is_integer(rid) || json_integer_value(rid) != id)) {
		ctl_seterr(err, errlen, "invalid reply from '%s': not for request %lld", conn->path,
			   (long long)id);
		ret = -EPROTO;
		conn->broken = true;
		goto out;
	}
	if (json_is_true(ok)) {
		res = json_object_get(reply, "result");
		if (result)
			*result = res ? json_incref(res) : json_object();
		ret = result && !*result ? -ENOMEM : 0;
		goto out;
	}
	e = cg_ctl_code_errno(json_string_value(json_object_get(reply, "code")));
	if (!e)
		e = EIO;
	msg = json_object_get(reply, "error");
	if (json_is_string(msg))
		ctl_seterr(err, errlen, "%s", json_string_value(msg));
	else
		ctl_seterr(err, errlen, "%s", strerror(e));
	ret = -e;
out:
	json_decref(reply);
	return ret;
}

static int ctl_request_until(struct cg_ctl_conn *conn, const char *cmd, json_t *args,
			     json_t **result, char *err, size_t errlen, uint64_t deadline,
			     int timeout_ms)
{
	json_t *req = NULL;
	json_int_t id;
	char *line = NULL;
	size_t len;
	int ret, sent;

	if (result)
		*result = NULL;
	if (!conn || !cmd) {
		ctl_seterr(err, errlen, "invalid request: no %s", conn ? "command" : "connection");
		ret = -EINVAL;
		goto out;
	}
	if (args && !json_is_object(args)) {
		ctl_seterr(err, errlen, "invalid request '%s': args is not an object", cmd);
		ret = -EINVAL;
		goto out;
	}
	if (conn->broken) {
		ctl_seterr(err, errlen, "connection to '%s' is out of step after an error",
			   conn->path);
		ret = -ENOTCONN;
		goto out;
	}
	id = conn->next_id++;
	req = json_pack("{s:s, s:I}", "cmd", cmd, "id", id);
	if (!req || (args && json_object_set(req, "args", args))) {
		ctl_seterr(err, errlen, "cannot encode '%s': %s", cmd, strerror(ENOMEM));
		ret = -ENOMEM;
		goto out;
	}
	line = json_dumps(req, JSON_COMPACT);
	if (!line) {
		ctl_seterr(err, errlen, "cannot encode '%s'", cmd);
		ret = -EINVAL;
		goto out;
	}
	len = strlen(line);
	if (len > CG_CTL_MAX_LINE) {
		ctl_seterr(err, errlen, "request '%s' of %zu bytes is longer than %d", cmd, len,
			   CG_CTL_MAX_LINE);
		ret = -EMSGSIZE;
		goto out;
	}
	line[len] = '\n'; /* replaces the NUL: the buffer is used by length from here */
	sent = ctl_send_all(conn, line, len + 1, deadline);
	if (sent == -ETIMEDOUT) {
		ctl_seterr(err, errlen, "cannot send to '%s' within %d ms", conn->path, timeout_ms);
		conn->broken = true;
		ret = sent;
		goto out;
	}
	/* a send failing on a closed connection may still leave the server's last word to read */
	ret = ctl_read_reply(conn, id, result, err, errlen, deadline, timeout_ms);
	if (sent && ret == -ECONNRESET)
		ctl_seterr(err, errlen, "cannot send to '%s': %s", conn->path, strerror(-sent));
out:
	free(line);
	json_decref(req);
	json_decref(args);
	return ret;
}

int cg_ctl_request(struct cg_ctl_conn *conn, const char *cmd, json_t *args, json_t **result,
		   char *err, size_t errlen, int timeout_ms)
{
	return ctl_request_until(conn, cmd, args, result, err, errlen, ctl_deadline(timeout_ms),
				 timeout_ms);
}

int cg_ctl_call(const char *path, const char *cmd, json_t *args, json_t **result, char *err,
		size_t errlen, int timeout_ms)
{
	uint64_t deadline = ctl_deadline(timeout_ms);
	struct cg_ctl_conn *conn;
	int ret;

	if (result)
		*result = NULL;
	conn = ctl_connect_until(path, err, errlen, deadline);
	if (!conn) {
		ret = -errno;
		json_decref(args);
		return ret;
	}
	ret = ctl_request_until(conn, cmd, args, result, err, errlen, deadline, timeout_ms);
	cg_ctl_close(conn);
	return ret;
}
