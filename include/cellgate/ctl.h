/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/ctl.h - the control socket: line-delimited JSON protocol, server and client */
#ifndef CELLGATE_CTL_H
#define CELLGATE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "cellgate/loop.h"

/*
 * The wire format is described in docs/protocol.md: over a Unix stream
 * socket, one JSON object a line each way,
 *
 *   -> {"cmd": "cell.set", "args": {...}, "id": 7}
 *   <- {"ok": true, "result": {...}, "id": 7}
 *   <- {"ok": false, "error": "cell 'x' not found", "code": "ENOENT", "id": 7}
 *
 * Replies come in request order. "code" is the symbolic name of an errno
 * value (see cg_ctl_code_name()).
 */

#define CG_CTL_PROTOCOL	    1			     /* protocol version reported by hello */
#define CG_CTL_DEFAULT_PATH "/run/cellgate/ctl.sock" /* cellgated's socket */
#define CG_CTL_MAX_LINE \
	(16 << 20) /* longest request line without its newline: a 4 MiB config, escaped */
#define CG_CTL_DEFAULT_MODE	   0600		 /* socket file mode without a group */
#define CG_CTL_DEFAULT_GROUP_MODE  0660		 /* ... with a group allowed */
#define CG_CTL_DEFAULT_MAX_CLIENTS 32		 /* connections served at once */
#define CG_CTL_DEFAULT_IDLE_MS	   30000	 /* without a complete request: dropped */
#define CG_CTL_DEFAULT_RATE	   100		 /* requests a second per connection */
#define CG_CTL_DEFAULT_MAX_OUTPUT  (1024 * 1024) /* reply bytes a client may leave unread */
#define CG_CTL_DEFAULT_TIMEOUT_MS  5000		 /* suggested client timeout */

/* One command a server answers. Tables are kept, not copied: they must outlive the server. */
struct cg_ctl_cmd {
	const char *name; /* "cell.set"; unique in the table ("hello" is built in) */
	/*
	 * Run the command. args is the request's "args" object (an empty object
	 * if the request had none), borrowed. On success return 0 and set
	 * *result to a new reference (any JSON value; left NULL the reply
	 * carries {}). On failure return -errno and write a one-line message
	 * to err (errlen bytes; left empty, strerror() is used); *result is
	 * then ignored and released if set.
	 */
	int (*fn)(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen);
	bool mutating; /* changes state: refused (EPERM) for read-only peers */
};

/* Server settings; zero (or a NULL opts) means the default of each. */
struct cg_ctl_opts {
	mode_t mode;		      /* socket file mode; 0: 0600, or 0660 with a group */
	gid_t group;		      /* group whose members may connect, if group_set */
	bool group_set;		      /* allow members of group (primary or supplementary) */
	bool group_may_mutate;	      /* ... to run mutating commands too, not only read-only */
	unsigned int max_clients;     /* 0: 32; more are accepted, sent EBUSY and closed */
	unsigned int idle_timeout_ms; /* 0: 30 s without a complete request drops the connection */
	unsigned int max_rate;	      /* 0: 100 requests a second per connection (burst as many) */
	size_t max_output;	      /* 0: 1 MiB of unread replies drops the connection */
	const char *server;	      /* name reported by hello; NULL: "cellgated" */
	const char *version;	      /* version reported by hello; NULL: "unknown" */
	/*
	 * Where the server's messages go (NULL: nowhere): why creating it failed
	 * (LOG_ERR), connections refused or dropped (LOG_WARNING, LOG_INFO).
	 * prio is a syslog priority; msg is one line without '\n'.
	 */
	void (*log)(void *log_arg, int prio, const char *msg);
	void *log_arg; /* first argument of log */
};

struct cg_ctl_server;

/*
 * cg_ctl_server_new - listen on the Unix socket path and serve the commands
 * cmds[0..ncmds-1], plus the built-in hello, from loop. Handlers get ctx.
 *
 * The parent directory is created (0755) if missing. If path exists and is a
 * socket someone answers on, nothing is touched: another server is running.
 * If nobody answers, the stale file is replaced. The socket gets opts->mode
 * (and the group, if set) before it listens.
 *
 * Peers are checked with SO_PEERCRED: uid 0 and the server's own uid may run
 * everything; members of opts->group read-only commands (all of them if
 * group_may_mutate); anyone else gets an EACCES reply and is closed.
 *
 * Returns the server, or NULL with errno set: EADDRINUSE (another server
 * answers on path), ENAMETOOLONG, EEXIST (path is not a socket), EINVAL
 * (bad table: NULL name or fn, duplicate name), or the errno of the failing
 * system call; the reason is also sent to opts->log.
 */
struct cg_ctl_server *cg_ctl_server_new(struct cg_loop *loop, const char *path,
					const struct cg_ctl_cmd *cmds, size_t ncmds, void *ctx,
					const struct cg_ctl_opts *opts);

/*
 * cg_ctl_server_free - close every connection (unsent replies are lost), stop
 * listening and unlink the socket file if it is still the one this server
 * made. NULL is a no-op. Must not be called from one of its own handlers:
 * stop the loop there and free the server after it returns.
 */
void cg_ctl_server_free(struct cg_ctl_server *srv);

/* Who sent the request being handled: the kernel's word (SO_PEERCRED), not the client's. */
struct cg_ctl_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/*
 * cg_ctl_server_peer - the credentials of the peer whose request a handler
 * is running for; NULL outside a handler. An audit trail records these.
 */
const struct cg_ctl_peer *cg_ctl_server_peer(const struct cg_ctl_server *srv);

/* cg_ctl_server_clients - the number of connections being served. */
size_t cg_ctl_server_clients(const struct cg_ctl_server *srv);

#define CG_CTL_MSG_MAX 512 /* longest error message in a reply, bytes with its NUL */

/* One request line, parsed (cg_ctl_parse_request()). */
struct cg_ctl_req {
	json_t *root;	 /* the parsed line; the caller's reference (NULL if not JSON) */
	json_t *id;	 /* its "id", borrowed from root; NULL if none */
	const char *cmd; /* its "cmd", borrowed from root; NULL unless valid */
	json_t *args;	 /* its "args" object, borrowed from root; NULL if none */
};

/*
 * cg_ctl_parse_request - parse and check one request line line[0..len)
 * (without its '\n'; no NUL needed): a JSON object whose "cmd" is a string
 * and whose "args", if present, is an object. Its nesting (32 levels) and
 * number of values (4096) are bounded before the JSON parser sees it.
 *
 * Returns 0 with every field of *req set; 1 for a blank line (spaces, tabs,
 * '\r' only; *req all NULL); -EINVAL with one line in msg (msglen bytes),
 * where req->root and req->id are still set if the line was a JSON object,
 * so that a reply can echo the id. Whatever it returns, the caller releases
 * req->root with json_decref().
 */
int cg_ctl_parse_request(const char *line, size_t len, struct cg_ctl_req *req, char *msg,
			 size_t msglen);

/*
 * cg_ctl_reply_line - a reply line, '\n' included, in a new malloc'ed string
 * of *len bytes plus a NUL; NULL if out of memory. ret 0: {"ok": true,
 * "result": result} (result stolen; NULL gives {}). ret < 0: {"ok": false,
 * "error": msg, "code": cg_ctl_code_name(ret) or "EIO"}, msg (NULL:
 * strerror) cut to CG_CTL_MSG_MAX bytes, control characters made spaces and
 * invalid UTF-8 made '?'. id, if not NULL, is echoed as "id". The line holds
 * one JSON object and no other '\n'.
 */
char *cg_ctl_reply_line(int ret, json_t *result, const char *msg, json_t *id, size_t *len);

/*
 * cg_ctl_code_name - the protocol "code" of an errno value, sign ignored
 * ("EINVAL" for EINVAL or -EINVAL). Returns NULL for a value the protocol
 * does not name (the server then sends "EIO").
 */
const char *cg_ctl_code_name(int err);

/*
 * cg_ctl_code_errno - the positive errno value of a protocol "code"
 * ("ENOENT" -> ENOENT). Returns 0 for NULL or an unknown name.
 */
int cg_ctl_code_errno(const char *code);

/* A client connection, for several requests in a row. */
struct cg_ctl_conn;

/*
 * cg_ctl_connect - connect to the server at path within timeout_ms (< 0: no
 * limit). Returns the connection, or NULL with errno set and a message in
 * err: "cannot connect to '/run/cellgate/ctl.sock': No such file or
 * directory (is cellgated running?)". err may be NULL.
 */
struct cg_ctl_conn *cg_ctl_connect(const char *path, char *err, size_t errlen, int timeout_ms);

/*
 * cg_ctl_request - send cmd with args (an object, or NULL for none; the
 * reference is stolen, even on failure) and wait up to timeout_ms (< 0: no
 * limit) for the reply. result may be NULL if the result is not wanted.
 *
 * Returns 0 with *result a new reference to the reply's "result" ({} if it
 * had none). Returns the negative errno of the server's "code" with its
 * "error" in err (-EIO for a code this client does not know), or -errno of
 * a local failure with a message in err: -ETIMEDOUT (no reply in time),
 * -ECONNRESET (connection closed), -EPROTO (reply that is not protocol),
 * -EINVAL (args not an object), -ENOMEM. *result is NULL on any failure.
 * After a local failure the connection is unusable: close it.
 */
int cg_ctl_request(struct cg_ctl_conn *conn, const char *cmd, json_t *args, json_t **result,
		   char *err, size_t errlen, int timeout_ms);

/* cg_ctl_close - close a connection. NULL is a no-op. */
void cg_ctl_close(struct cg_ctl_conn *conn);

/*
 * cg_ctl_call - one request on a connection of its own: cg_ctl_connect(),
 * cg_ctl_request(), cg_ctl_close(), all within timeout_ms (< 0: no limit).
 * args is stolen even on failure. Returns as cg_ctl_request(), or the
 * -errno of the connection failure with its message in err. The two can
 * share a value (-ENOENT: no socket, or the server's "not found"): a caller
 * that must tell "daemon down" apart connects with cg_ctl_connect() first.
 */
int cg_ctl_call(const char *path, const char *cmd, json_t *args, json_t **result, char *err,
		size_t errlen, int timeout_ms);

#endif /* CELLGATE_CTL_H */
