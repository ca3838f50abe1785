/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_ctl.c - unit tests of the control socket: protocol, server limits, client */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cellgate/ctl.h"
#include "cellgate/loop.h"
#include "testskip.h"

#define WAIT_MS 2000          /* longest a test waits for anything */
#define RAW_BUF (256 * 1024)  /* raw client's receive buffer */
#define TEST_VERSION "test-1.0"

/* A server running in a child process, on a socket in a directory of its own. */
struct server {
	pid_t pid;       /* the child */
	char dir[64];    /* mkdtemp directory */
	char run[96];    /* dir/run: made by the server */
	char path[128];  /* dir/run/ctl.sock */
};

/* A client speaking the protocol by hand. */
struct raw {
	int fd;    /* connected socket, blocking */
	char *buf; /* received, not yet consumed */
	size_t len; /* bytes in buf */
};

/* Handlers of the test server. */

static int cmd_echo(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	*result = json_pack("{s:O}", "args", (json_t *)args);
	return *result ? 0 : -ENOMEM;
}

static int cmd_cell_get(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(args, "name"));

	if (!name) {
		snprintf(err, errlen, "missing cell name");
		return -EINVAL;
	}
	if (strcmp(name, "a")) {
		snprintf(err, errlen, "cell '%s' not found", name);
		return -ENOENT;
	}
	*result = json_pack("{s:s, s:i}", "name", name, "weight", 100);
	return 0;
}

static int cmd_cell_set(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	*result = json_pack("{s:b}", "changed", 1);
	return 0;
}

/* Fails with args.errno and no message. */
static int cmd_fail(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	*result = json_object(); /* released by the server, as the error wins */
	return -(int)json_integer_value(json_object_get(args, "errno"));
}

/* Returns a string of args.size bytes. */
static int cmd_blob(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	size_t n = (size_t)json_integer_value(json_object_get(args, "size"));
	char *s = malloc(n + 1);

	if (!s)
		return -ENOMEM;
	memset(s, 'b', n);
	s[n] = '\0';
	*result = json_pack("{s:s}", "data", s);
	free(s);
	return *result ? 0 : -ENOMEM;
}

static unsigned int log_lines; /* lines the server child logged */

/* log.count: how many lines the server has logged so far. */
static int cmd_log_count(void *ctx, const json_t *args, json_t **result, char *err, size_t errlen)
{
	*result = json_pack("{s:i}", "lines", (int)log_lines);
	return *result ? 0 : -ENOMEM;
}

static const struct cg_ctl_cmd test_cmds[] = {
	{ "echo", cmd_echo, false },
	{ "cell.get", cmd_cell_get, false },
	{ "cell.set", cmd_cell_set, true },
	{ "fail", cmd_fail, false },
	{ "blob", cmd_blob, false },
	{ "log.count", cmd_log_count, false },
};

#define NCMDS (sizeof(test_cmds) / sizeof(test_cmds[0]))

/* Log callback: quiet unless CG_TEST_VERBOSE is set; keeps the last message. */
static char last_log[512];

static void test_log(void *arg, int prio, const char *msg)
{
	snprintf(last_log, sizeof(last_log), "%s", msg);
	log_lines++;
	if (getenv("CG_TEST_VERBOSE"))
		fprintf(stderr, "  [%s %d] %s\n", arg ? (const char *)arg : "test", prio, msg);
}

/* signalfd callback of the server child: SIGTERM stops the loop. */
static void server_on_signal(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si))
		cg_loop_stop(loop);
}

/* The server child: serve until SIGTERM, then clean up. Never returns. */
static void server_main(const char *path, const struct cg_ctl_opts *opts, int ready)
{
	struct cg_ctl_server *srv = NULL;
	struct cg_ctl_opts o = { 0 };
	struct cg_loop *loop;
	sigset_t mask;
	int sfd, status = 0;

	if (opts)
		o = *opts;
	o.version = TEST_VERSION;
	o.log = test_log;
	o.log_arg = "server";
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	loop = cg_loop_new();
	/* the daemon's way: the signalfd is one more fd of the loop */
	if (sfd < 0 || !loop || cg_loop_add(loop, sfd, EPOLLIN, server_on_signal, NULL))
		status = EIO;
	else
		srv = cg_ctl_server_new(loop, path, test_cmds, NCMDS, NULL, &o);
	if (!status && !srv)
		status = errno ? errno : EIO;
	if (write(ready, &status, sizeof(status)) != sizeof(status) || status)
		_exit(2);
	close(ready);
	if (cg_loop_run(loop))
		_exit(3);
	cg_ctl_server_free(srv);
	cg_loop_del(loop, sfd);
	cg_loop_free(loop);
	close(sfd);
	exit(0); /* exit, not _exit: a leak checker runs here under SAN=1 */
}

static void server_start(struct server *s, const struct cg_ctl_opts *opts)
{
	int p[2], status = -1;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/cg-ctl.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	assert_int_equal(chmod(s->dir, 0755), 0); /* reachable by the unprivileged tests */
	snprintf(s->run, sizeof(s->run), "%s/run", s->dir);
	snprintf(s->path, sizeof(s->path), "%s/ctl.sock", s->run);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (!s->pid) {
		/* a test that dies must not leave its server behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		server_main(s->path, opts, p[1]);
	}
	close(p[1]);
	n = read(p[0], &status, sizeof(status));
	close(p[0]);
	assert_int_equal(n, sizeof(status));
	assert_int_equal(status, 0);
}

/* Stop the server: it must exit cleanly and leave no socket file behind. */
static void server_stop(struct server *s)
{
	int status;

	assert_int_equal(kill(s->pid, SIGTERM), 0);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(access(s->path, F_OK), -1);
	assert_int_equal(rmdir(s->run), 0);
	assert_int_equal(rmdir(s->dir), 0);
}

static int sock_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void raw_open(struct raw *r, const char *path)
{
	r->fd = sock_connect(path);
	r->buf = malloc(RAW_BUF);
	assert_non_null(r->buf);
	r->len = 0;
}

static void raw_close(struct raw *r)
{
	close(r->fd);
	free(r->buf);
}

/* Send all of s; the server may close meanwhile (EPIPE is not a failure). */
static void raw_send(struct raw *r, const char *s, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(r->fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return;
		assert_true(n > 0);
		s += n;
		len -= (size_t)n;
	}
}

static void raw_sends(struct raw *r, const char *s)
{
	raw_send(r, s, strlen(s));
}

/* Read into r->buf; returns bytes read, 0 on EOF or reset, -1 on timeout. */
static ssize_t raw_fill(struct raw *r, int timeout_ms)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	assert_true(r->len < RAW_BUF);
	n = read(r->fd, r->buf + r->len, RAW_BUF - r->len);
	if (n < 0 && errno == ECONNRESET)
		return 0;
	assert_true(n >= 0);
	r->len += (size_t)n;
	return n;
}

/* The next reply line, parsed; NULL on EOF or after WAIT_MS. */
static json_t *raw_reply(struct raw *r)
{
	uint64_t end = cg_loop_now_ms() + WAIT_MS;
	json_error_t jerr;
	json_t *reply;
	char *nl;
	size_t len;

	while (!(nl = memchr(r->buf, '\n', r->len))) {
		if (cg_loop_now_ms() >= end || raw_fill(r, (int)(end - cg_loop_now_ms())) <= 0)
			return NULL;
	}
	len = (size_t)(nl - r->buf);
	reply = json_loadb(r->buf, len, 0, &jerr);
	if (!reply)
		fail_msg("reply is not JSON: %s: %.*s", jerr.text, (int)len, r->buf);
	memmove(r->buf, nl + 1, r->len - len - 1);
	r->len -= len + 1;
	return reply;
}

/* The next reply line if one arrives within timeout_ms, else NULL. */
static json_t *raw_reply_within(struct raw *r, int timeout_ms)
{
	if (!memchr(r->buf, '\n', r->len) && raw_fill(r, timeout_ms) <= 0)
		return NULL;
	return memchr(r->buf, '\n', r->len) ? raw_reply(r) : NULL;
}

/* Wait for the server to close r; returns the bytes discarded meanwhile, -1 on timeout. */
static ssize_t raw_wait_eof(struct raw *r, int timeout_ms)
{
	uint64_t end = cg_loop_now_ms() + (uint64_t)timeout_ms;
	ssize_t n, total = 0;

	for (;;) {
		if (cg_loop_now_ms() >= end)
			return -1;
		r->len = 0;
		n = raw_fill(r, (int)(end - cg_loop_now_ms()));
		if (n < 0)
			return -1;
		if (n == 0)
			return total;
		total += n;
	}
}

/* Check a reply is an error of the given code, with id echoed if id >= 0. Releases it. */
static void check_error(json_t *reply, const char *code, json_int_t id)
{
	assert_non_null(reply);
	assert_true(json_is_false(json_object_get(reply, "ok")));
	assert_string_equal(json_string_value(json_object_get(reply, "code")), code);
	assert_true(json_is_string(json_object_get(reply, "error")));
	assert_null(json_object_get(reply, "result"));
	if (id >= 0)
		assert_int_equal(json_integer_value(json_object_get(reply, "id")), id);
	else
		assert_null(json_object_get(reply, "id"));
	json_decref(reply);
}

/* Check a reply is a success, with id echoed if id >= 0. Releases it. */
static void check_ok(json_t *reply, json_int_t id)
{
	assert_non_null(reply);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	assert_true(json_is_object(json_object_get(reply, "result")));
	if (id >= 0)
		assert_int_equal(json_integer_value(json_object_get(reply, "id")), id);
	json_decref(reply);
}

static void check_hello(const char *path)
{
	char err[256] = "";
	json_t *res = NULL;

	assert_int_equal(cg_ctl_call(path, "hello", NULL, &res, err, sizeof(err), WAIT_MS), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "protocol")), CG_CTL_PROTOCOL);
	json_decref(res);
}

/* cg_ctl_parse_request of line: returns want, and msg contains expect when it fails. */
static void check_parse(const char *line, int want, const char *expect)
{
	char msg[CG_CTL_MSG_MAX] = "";
	struct cg_ctl_req req;
	int ret;

	ret = cg_ctl_parse_request(line, strlen(line), &req, msg, sizeof(msg));
	if (ret != want || (ret < 0 && (!strstr(msg, expect) || strchr(msg, '\n'))))
		fail_msg("'%s': got %d '%s', want %d '%s'", line, ret, msg, want, expect);
	if (!ret) {
		assert_true(json_is_object(req.root));
		assert_string_equal(req.cmd, expect);
	}
	json_decref(req.root);
}

static void test_ctl_parse_request_accepts_and_refuses(void **state)
{
	char msg[CG_CTL_MSG_MAX] = "", *line;
	struct cg_ctl_req req;
	json_t *id;
	size_t len;

	(void)state;
	check_parse("{\"cmd\": \"cell.show\", \"args\": {\"name\": \"a\"}, \"id\": 3}", 0,
		    "cell.show");
	check_parse(" \t\r", 1, "");
	check_parse("", 1, "");
	check_parse("[1]", -EINVAL, "request is not a JSON object");
	check_parse("{\"id\": 1}", -EINVAL, "\"cmd\" is missing");
	check_parse("{\"cmd\": 5}", -EINVAL, "\"cmd\" is not a string");
	check_parse("{\"cmd\": \"x\", \"args\": []}", -EINVAL, "\"args\" of 'x' is not an object");
	check_parse("{\"cmd\": \"x\", \"cmd\": \"y\"}", -EINVAL, "invalid JSON at column");
	check_parse("{\"cmd\": \"x\"", -EINVAL, "invalid JSON at column");
	check_parse("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", -EINVAL,
		    "request nested deeper than 32 levels");

	/* a refused object keeps its id, so the reply can echo it */
	line = "{\"id\": [7], \"cmd\": null}";
	assert_int_equal(cg_ctl_parse_request(line, strlen(line), &req, msg, sizeof(msg)), -EINVAL);
	id = json_pack("[i]", 7);
	assert_true(json_equal(req.id, id));
	line = cg_ctl_reply_line(-EINVAL, NULL, msg, req.id, &len);
	assert_non_null(line);
	assert_string_equal(line, "{\"ok\":false,\"error\":\"\\\"cmd\\\" is not a string\","
				  "\"code\":\"EINVAL\",\"id\":[7]}\n");
	assert_int_equal(len, strlen(line));
	free(line);
	json_decref(id);
	json_decref(req.root);

	/* a message of control characters and invalid UTF-8 still makes one valid line */
	line = cg_ctl_reply_line(-ENOENT, NULL, "a\nb\x01\xff", NULL, &len);
	assert_non_null(line);
	assert_string_equal(line, "{\"ok\":false,\"error\":\"a b ?\",\"code\":\"ENOENT\"}\n");
	free(line);
}

static void test_ctl_hello_reports_protocol_server_and_version(void **state)
{
	struct server s;
	char err[256] = "";
	json_t *res = NULL, *cmds;

	server_start(&s, NULL);
	assert_int_equal(cg_ctl_call(s.path, "hello", NULL, &res, err, sizeof(err), WAIT_MS), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "protocol")), 1);
	assert_string_equal(json_string_value(json_object_get(res, "server")), "cellgated");
	assert_string_equal(json_string_value(json_object_get(res, "version")), TEST_VERSION);
	assert_true(json_is_false(json_object_get(res, "read_only")));
	cmds = json_object_get(res, "commands");
	assert_int_equal(json_array_size(cmds), NCMDS + 1);
	assert_string_equal(json_string_value(json_array_get(cmds, 0)), "hello");
	assert_string_equal(json_string_value(json_array_get(cmds, 3)), "cell.set");
	json_decref(res);
	/* the default mode: owner only */
	{
		struct stat st;

		assert_int_equal(stat(s.path, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(stat(s.run, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0755);
	}
	server_stop(&s);
}

static void test_ctl_command_gets_args_and_returns_result(void **state)
{
	struct server s;
	char err[256] = "";
	json_t *res = NULL, *args;

	server_start(&s, NULL);
	args = json_pack("{s:i, s:s, s:[i,i]}", "a", 1, "b", "x", "c", 2, 3);
	assert_int_equal(cg_ctl_call(s.path, "echo", json_deep_copy(args), &res, err,
				     sizeof(err), WAIT_MS), 0);
	assert_true(json_equal(json_object_get(res, "args"), args));
	json_decref(res);
	/* no args: the handler sees an empty object */
	assert_int_equal(cg_ctl_call(s.path, "echo", NULL, &res, err, sizeof(err), WAIT_MS), 0);
	assert_true(json_is_object(json_object_get(res, "args")));
	assert_int_equal(json_object_size(json_object_get(res, "args")), 0);
	json_decref(res);
	assert_int_equal(cg_ctl_call(s.path, "cell.get", json_pack("{s:s}", "name", "a"), &res,
				     err, sizeof(err), WAIT_MS), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "weight")), 100);
	json_decref(res);
	/* result may be NULL: not wanted */
	assert_int_equal(cg_ctl_call(s.path, "cell.set", NULL, NULL, err, sizeof(err), WAIT_MS), 0);
	json_decref(args);
	server_stop(&s);
}

static void test_ctl_handler_error_maps_back_to_errno(void **state)
{
	struct server s;
	char err[256] = "";
	json_t *res = (json_t *)1;
	struct raw r;

	server_start(&s, NULL);
	assert_int_equal(cg_ctl_call(s.path, "cell.get", json_pack("{s:s}", "name", "x"), &res,
				     err, sizeof(err), WAIT_MS), -ENOENT);
	assert_null(res);
	assert_string_equal(err, "cell 'x' not found");
	/* no message from the handler: strerror */
	assert_int_equal(cg_ctl_call(s.path, "fail", json_pack("{s:i}", "errno", ERANGE), NULL,
				     err, sizeof(err), WAIT_MS), -ERANGE);
	assert_string_equal(err, strerror(ERANGE));
	assert_int_equal(cg_ctl_call(s.path, "fail", json_pack("{s:i}", "errno", EEXIST), NULL,
				     err, sizeof(err), WAIT_MS), -EEXIST);
	/* an errno the protocol does not name travels as EIO */
	assert_int_equal(cg_ctl_call(s.path, "fail", json_pack("{s:i}", "errno", 4000), NULL,
				     err, sizeof(err), WAIT_MS), -EIO);
	/* on the wire */
	raw_open(&r, s.path);
	raw_sends(&r, "{\"cmd\":\"cell.get\",\"args\":{\"name\":\"x\"},\"id\":7}\n");
	{
		json_t *reply = raw_reply(&r);

		assert_non_null(reply);
		assert_string_equal(json_string_value(json_object_get(reply, "error")),
				    "cell 'x' not found");
		check_error(reply, "ENOENT", 7);
	}
	raw_close(&r);
	server_stop(&s);
}

static void test_ctl_bad_requests_get_einval_and_keep_the_connection(void **state)
{
	static const char *const bad[] = {
		"{\"cmd\": \"hello\"",               /* invalid JSON */
		"{\"cmd\": hello}",                  /* invalid JSON */
		"\xff\xfe garbage",                  /* not UTF-8 */
		"[1, 2]",                            /* not an object */
		"\"hello\"",                         /* not an object */
		"42",                                /* not an object */
		"{\"args\": {}}",                    /* missing cmd */
		"{\"cmd\": 5}",                      /* cmd not a string */
		"{\"cmd\": null}",                   /* cmd not a string */
		"{\"cmd\": \"echo\", \"args\": []}", /* args not an object */
		"{\"cmd\": \"echo\", \"args\": 1}",  /* args not an object */
		"{\"cmd\": \"echo\", \"cmd\": \"x\"}", /* duplicate key */
	};
	struct server s;
	struct raw r;
	size_t i;

	server_start(&s, NULL);
	raw_open(&r, s.path);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw_sends(&r, bad[i]);
		raw_sends(&r, "\n");
		check_error(raw_reply(&r), "EINVAL", -1);
		/* still usable */
		raw_sends(&r, "{\"cmd\":\"hello\",\"id\":1}\n");
		check_ok(raw_reply(&r), 1);
	}
	/* the id is echoed as soon as the request is an object */
	raw_sends(&r, "{\"id\": \"abc\"}\n");
	{
		json_t *reply = raw_reply(&r);

		assert_string_equal(json_string_value(json_object_get(reply, "id")), "abc");
		json_object_del(reply, "id");
		check_error(reply, "EINVAL", -1);
	}
	raw_close(&r);
	server_stop(&s);
}

static void test_ctl_unknown_command_is_enosys(void **state)
{
	struct server s;
	char err[256] = "";
	struct raw r;

	server_start(&s, NULL);
	assert_int_equal(cg_ctl_call(s.path, "cell.nope", NULL, NULL, err, sizeof(err), WAIT_MS),
			 -ENOSYS);
	assert_string_equal(err, "unknown command 'cell.nope'");
	raw_open(&r, s.path);
	raw_sends(&r, "{\"cmd\":\"\",\"id\":3}\n{\"cmd\":\"hello\",\"id\":4}\n");
	check_error(raw_reply(&r), "ENOSYS", 3);
	check_ok(raw_reply(&r), 4);
	raw_close(&r);
	server_stop(&s);
}

/* A line of exactly len bytes (without '\n'): a hello request padded with spaces. */
static char *long_request(size_t len)
{
	static const char head[] = "{\"cmd\":\"hello\",\"id\":9";
	char *s = malloc(len + 2);

	assert_non_null(s);
	assert_true(len > sizeof(head));
	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, ' ', len - sizeof(head));
	s[len - 1] = '}';
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

static void test_ctl_request_over_the_limit_is_refused_and_closed(void **state)
{
	struct server s;
	struct raw r;
	char *line;

	server_start(&s, NULL);
	/* exactly the limit is fine */
	raw_open(&r, s.path);
	line = long_request(CG_CTL_MAX_LINE);
	raw_sends(&r, line);
	free(line);
	check_ok(raw_reply(&r), 9);
	raw_close(&r);
	/* one byte more is not, and the connection is closed */
	raw_open(&r, s.path);
	line = long_request(CG_CTL_MAX_LINE + 1);
	raw_sends(&r, line);
	free(line);
	check_error(raw_reply(&r), "EMSGSIZE", -1);
	assert_true(raw_wait_eof(&r, WAIT_MS) >= 0);
	raw_close(&r);
	/* more than the limit without a newline, in pieces */
	raw_open(&r, s.path);
	line = malloc(CG_CTL_MAX_LINE + 4096);
	assert_non_null(line);
	memset(line, 'x', CG_CTL_MAX_LINE + 4096);
	raw_send(&r, line, CG_CTL_MAX_LINE + 4096);
	free(line);
	check_error(raw_reply(&r), "EMSGSIZE", -1);
	raw_close(&r);
	/* the client's own check */
	{
		char err[256] = "", *big = malloc(CG_CTL_MAX_LINE + 1);

		assert_non_null(big);
		memset(big, 'y', CG_CTL_MAX_LINE);
		big[CG_CTL_MAX_LINE] = '\0';
		assert_int_equal(cg_ctl_call(s.path, "echo", json_pack("{s:s}", "pad", big), NULL,
					     err, sizeof(err), WAIT_MS), -EMSGSIZE);
		free(big);
	}
	check_hello(s.path);
	server_stop(&s);
}

static void test_ctl_many_requests_on_one_connection(void **state)
{
	struct cg_ctl_conn *conn;
	struct server s;
	char err[256] = "";
	json_t *res;
	int i;

	server_start(&s, NULL);
	conn = cg_ctl_connect(s.path, err, sizeof(err), WAIT_MS);
	assert_non_null(conn);
	for (i = 0; i < 60; i++) {
		assert_int_equal(cg_ctl_request(conn, "echo", json_pack("{s:i}", "i", i), &res, err,
						sizeof(err), WAIT_MS), 0);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "args"),
								    "i")), i);
		json_decref(res);
		/* errors leave the connection usable */
		if (i % 10 == 0)
			assert_int_equal(cg_ctl_request(conn, "nope", NULL, NULL, err, sizeof(err),
							WAIT_MS), -ENOSYS);
	}
	cg_ctl_close(conn);
	server_stop(&s);
}

static void test_ctl_pipelined_requests_in_one_write(void **state)
{
	char buf[8192];
	struct server s;
	struct raw r;
	size_t len = 0;
	json_t *reply, *args;
	int i;

	server_start(&s, NULL);
	for (i = 1; i <= 30; i++) {
		if (i == 10) /* a bad one and blank lines in the middle change nothing */
			len += snprintf(buf + len, sizeof(buf) - len, "nonsense\n\n\r\n");
		len += snprintf(buf + len, sizeof(buf) - len,
				"{\"cmd\":\"echo\",\"args\":{\"i\":%d},\"id\":%d}\r\n", i, i);
	}
	raw_open(&r, s.path);
	raw_send(&r, buf, len);
	for (i = 1; i <= 30; i++) {
		if (i == 10)
			check_error(raw_reply(&r), "EINVAL", -1);
		reply = raw_reply(&r);
		assert_non_null(reply);
		args = json_object_get(json_object_get(reply, "result"), "args");
		assert_int_equal(json_integer_value(json_object_get(args, "i")), i);
		check_ok(reply, i);
	}
	/* a half-closed client still gets its replies */
	raw_sends(&r, "{\"cmd\":\"hello\",\"id\":31}\n");
	shutdown(r.fd, SHUT_WR);
	check_ok(raw_reply(&r), 31);
	assert_true(raw_wait_eof(&r, WAIT_MS) >= 0);
	raw_close(&r);
	server_stop(&s);
}

static void test_ctl_stalled_client_blocks_nobody_and_is_dropped(void **state)
{
	/* long enough that a loaded machine serves the others well within it */
	struct cg_ctl_opts o = { .idle_timeout_ms = 1000 };
	struct raw silent, half;
	struct server s;
	uint64_t start;
	json_t *reply;

	server_start(&s, &o);
	start = cg_loop_now_ms();
	raw_open(&silent, s.path);
	raw_open(&half, s.path);
	raw_sends(&half, "{\"cmd\": \"hel");
	/* others are served while the stalled ones are still connected, waiting */
	check_hello(s.path);
	check_hello(s.path);
	if (cg_loop_now_ms() - start < 900) { /* else the machine stalled us, not the server */
		assert_true(raw_fill(&silent, 0) < 0);
		assert_true(raw_fill(&half, 0) < 0);
	}
	/* the stalled ones are told why, then closed */
	reply = raw_reply(&silent);
	assert_true(cg_loop_now_ms() - start >= 995);
	check_error(reply, "ETIMEDOUT", -1);
	assert_true(raw_wait_eof(&silent, WAIT_MS) >= 0);
	check_error(raw_reply(&half), "ETIMEDOUT", -1);
	assert_true(raw_wait_eof(&half, WAIT_MS) >= 0);
	assert_true(cg_loop_now_ms() - start < 1000 + WAIT_MS);
	raw_close(&silent);
	raw_close(&half);
	check_hello(s.path);
	server_stop(&s);
}

static void test_ctl_active_client_is_not_dropped(void **state)
{
	struct cg_ctl_opts o = { .idle_timeout_ms = 200 };
	struct server s;
	struct raw r;
	int i;

	server_start(&s, &o);
	raw_open(&r, s.path);
	/* a request every 80 ms for 480 ms: more than the idle timeout in all */
	for (i = 0; i < 6; i++) {
		raw_sends(&r, "{\"cmd\":\"hello\",\"id\":1}\n");
		check_ok(raw_reply(&r), 1);
		usleep(80 * 1000);
	}
	raw_sends(&r, "{\"cmd\":\"hello\",\"id\":2}\n");
	check_ok(raw_reply(&r), 2);
	raw_close(&r);
	server_stop(&s);
}

static void find_nobody(uid_t *uid, gid_t *gid);
static int run_as_nobody(gid_t gid, gid_t supp, int (*fn)(const char *path), const char *path);

static void test_ctl_junk_lines_do_not_keep_a_connection_alive(void **state)
{
	struct cg_ctl_opts o = { .idle_timeout_ms = 200 };
	uint64_t start, end = 0;
	struct server s;
	struct raw r;
	json_t *reply;
	int i;

	server_start(&s, &o);
	raw_open(&r, s.path);
	start = cg_loop_now_ms();
	/* junk and blank lines every 40 ms, for longer than the idle timeout */
	for (i = 0; i < 15 && !end; i++) {
		raw_sends(&r, "junk\n\n");
		usleep(40 * 1000);
		while ((reply = raw_reply_within(&r, 1))) {
			const char *code = json_string_value(json_object_get(reply, "code"));

			if (code && !strcmp(code, "ETIMEDOUT"))
				end = cg_loop_now_ms();
			json_decref(reply);
		}
	}
	assert_true(end > 0); /* dropped as idle, junk or not */
	assert_true(end - start >= 195);
	raw_close(&r);
	check_hello(s.path);
	server_stop(&s);
}

static void test_ctl_junk_is_rate_limited_and_a_flood_is_dropped(void **state)
{
	struct cg_ctl_opts o = { .max_rate = 5 };
	static char buf[300 * 6];
	int i, einval = 0, busy = 0;
	struct server s;
	struct raw r;
	size_t len = 0;
	json_t *reply;

	server_start(&s, &o);
	/* 20 junk lines: a burst of max_rate parsed, the rest refused before parsing */
	for (i = 0; i < 20; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "junk\n");
	raw_open(&r, s.path);
	raw_send(&r, buf, len);
	for (i = 0; i < 20; i++) {
		const char *code;

		reply = raw_reply(&r);
		assert_non_null(reply);
		code = json_string_value(json_object_get(reply, "code"));
		einval += code && !strcmp(code, "EINVAL");
		busy += code && !strcmp(code, "EBUSY");
		json_decref(reply);
	}
	assert_true(einval >= 5 && einval <= 6);
	assert_int_equal(einval + busy, 20);
	/* 300 more at once: far past the rate, the connection is dropped */
	len = 0;
	for (i = 0; i < 300; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "junk\n");
	raw_send(&r, buf, len);
	assert_true(raw_wait_eof(&r, WAIT_MS) >= 0);
	raw_close(&r);
	check_hello(s.path);
	server_stop(&s);
}

static void test_ctl_deep_or_huge_json_is_refused_before_parsing(void **state)
{
	static char deep[256], wide[3 * 100000 + 64];
	struct server s;
	struct raw r;
	json_t *reply;
	size_t len;
	int i;

	server_start(&s, NULL);
	len = (size_t)snprintf(deep, sizeof(deep), "{\"cmd\":\"echo\",\"args\":{\"a\":");
	for (i = 0; i < 40; i++)
		deep[len++] = '[';
	for (i = 0; i < 40; i++)
		deep[len++] = ']';
	len += (size_t)snprintf(deep + len, sizeof(deep) - len, "},\"id\":1}\n");
	raw_open(&r, s.path);
	raw_send(&r, deep, len);
	reply = raw_reply(&r);
	assert_non_null(reply);
	assert_non_null(strstr(json_string_value(json_object_get(reply, "error")), "nested deeper"));
	check_error(reply, "EINVAL", -1);
	len = (size_t)snprintf(wide, sizeof(wide), "{\"cmd\":\"echo\",\"args\":{\"a\":[0");
	for (i = 0; i < 100000; i++)
		len += (size_t)snprintf(wide + len, sizeof(wide) - len, ",1");
	len += (size_t)snprintf(wide + len, sizeof(wide) - len, "]},\"id\":2}\n");
	raw_send(&r, wide, len);
	reply = raw_reply(&r);
	assert_non_null(reply);
	assert_non_null(strstr(json_string_value(json_object_get(reply, "error")),
			       "more than 4096 JSON values"));
	check_error(reply, "EINVAL", -1);
	/* strings may hold any number of brackets and commas */
	raw_sends(&r, "{\"cmd\":\"echo\",\"args\":{\"t\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[,,,\\\"[\"},"
		      "\"id\":3}\n");
	check_ok(raw_reply(&r), 3);
	raw_close(&r);
	server_stop(&s);
}

static void test_ctl_full_server_makes_room_by_closing_a_quiet_client(void **state)
{
	struct cg_ctl_opts o = { .max_clients = 2 };
	struct raw quiet, junk;
	struct server s;
	char err[256] = "";
	json_t *reply;

	server_start(&s, &o);
	raw_open(&quiet, s.path);
	usleep(20 * 1000); /* quiet is the older of the two */
	raw_open(&junk, s.path);
	raw_sends(&junk, "junk\n");
	check_error(raw_reply(&junk), "EINVAL", -1);
	usleep(1100 * 1000);
	raw_sends(&junk, "junk\n"); /* junk is no request: still quiet */
	check_error(raw_reply(&junk), "EINVAL", -1);
	/* the operator gets in; the quietest connection is told why and closed */
	assert_int_equal(cg_ctl_call(s.path, "hello", NULL, NULL, err, sizeof(err), WAIT_MS), 0);
	reply = raw_reply(&quiet);
	check_error(reply, "EBUSY", -1);
	assert_true(raw_wait_eof(&quiet, WAIT_MS) >= 0);
	raw_close(&quiet);
	raw_close(&junk);
	server_stop(&s);
}

static int refused_100_times(const char *path)
{
	char err[256] = "";
	int i;

	for (i = 0; i < 100; i++)
		if (cg_ctl_call(path, "hello", NULL, NULL, err, sizeof(err), WAIT_MS) != -EACCES ||
		    !strstr(err, "not root"))
			return 1;
	return 0;
}

static void test_ctl_connection_storm_does_not_flood_the_log(void **state)
{
	/* a world-writable socket, so that SO_PEERCRED is what refuses each one */
	struct cg_ctl_opts o = { .mode = 0666 };
	struct server s;
	json_t *res = NULL;
	char err[256] = "";

	server_start(&s, &o);
	assert_int_equal(run_as_nobody(65534, (gid_t)-1, refused_100_times, s.path), 0);
	assert_int_equal(cg_ctl_call(s.path, "log.count", NULL, &res, err, sizeof(err), WAIT_MS), 0);
	/* a burst of 20 lines, then 5 a second: far fewer than 100 */
	assert_true(json_integer_value(json_object_get(res, "lines")) >= 20);
	assert_true(json_integer_value(json_object_get(res, "lines")) <= 40);
	json_decref(res);
	server_stop(&s);
}

static void find_nobody(uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("nogroup");

	*uid = pw ? pw->pw_uid : 65534;
	*gid = gr ? gr->gr_gid : 65534;
}

/*
 * Run fn in a child that dropped to uid nobody, group gid and supplementary
 * group supp ((gid_t)-1: none); returns
 * its exit status, 0 meaning every check passed.
 */
static int run_as_nobody(gid_t gid, gid_t supp, int (*fn)(const char *path), const char *path)
{
	uid_t uid;
	gid_t unused;
	pid_t pid;
	int status;

	find_nobody(&uid, &unused);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		if (setgroups(supp == (gid_t)-1 ? 0 : 1, &supp) || setgid(gid) || setuid(uid))
			_exit(100);
		/* _exit: no leak checker after setuid (it could not trace itself) */
		_exit(fn(path));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int nobody_is_refused(const char *path)
{
	char err[256] = "";
	int ret;

	ret = cg_ctl_call(path, "hello", NULL, NULL, err, sizeof(err), WAIT_MS);
	if (ret != -EACCES)
		return 1;
	if (!strstr(err, "permission denied"))
		return 2;
	return 0;
}

static int group_member_reads_only(const char *path)
{
	char err[256] = "";
	json_t *res = NULL;
	int ret;

	ret = cg_ctl_call(path, "hello", NULL, &res, err, sizeof(err), WAIT_MS);
	if (ret)
		return 1;
	if (!json_is_true(json_object_get(res, "read_only")))
		return 2;
	json_decref(res);
	if (cg_ctl_call(path, "cell.get", json_pack("{s:s}", "name", "a"), NULL, err,
			sizeof(err), WAIT_MS))
		return 3;
	if (cg_ctl_call(path, "cell.set", NULL, NULL, err, sizeof(err), WAIT_MS) != -EPERM)
		return 4;
	if (!strstr(err, "cell.set"))
		return 5;
	return 0;
}

static int socket_mode_keeps_out(const char *path)
{
	char err[256] = "";

	if (cg_ctl_call(path, "hello", NULL, NULL, err, sizeof(err), WAIT_MS) != -EACCES)
		return 1;
	return strstr(err, "cannot connect to") ? 0 : 2;
}

static void test_ctl_non_root_peer_is_refused(void **state)
{
	/* a world-writable socket, so that SO_PEERCRED is what refuses */
	struct cg_ctl_opts o = { .mode = 0666 };
	struct server s;
	uid_t uid;
	gid_t gid;

	cg_test_require_root("running a client as another user");
	find_nobody(&uid, &gid);
	server_start(&s, &o);
	assert_int_equal(run_as_nobody(gid, (gid_t)-1, nobody_is_refused, s.path), 0);
	check_hello(s.path);
	server_stop(&s);
	/* the default mode already keeps others out, at connect() */
	server_start(&s, NULL);
	assert_int_equal(run_as_nobody(gid, (gid_t)-1, socket_mode_keeps_out, s.path), 0);
	server_stop(&s);
}

static void test_ctl_group_member_may_only_read(void **state)
{
	struct cg_ctl_opts o = { .group_set = true };
	struct server s;
	struct stat st;
	uid_t uid;

	cg_test_require_root("running a client as another user");
	find_nobody(&uid, &o.group);
	server_start(&s, &o);
	/* the group's default mode: the socket is the group's too */
	assert_int_equal(stat(s.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, o.group);
	assert_int_equal(run_as_nobody(o.group, (gid_t)-1, group_member_reads_only, s.path), 0);
	/* membership by a supplementary group counts too */
	assert_int_equal(run_as_nobody(12345, o.group, group_member_reads_only, s.path), 0);
	server_stop(&s);
}

static void test_ctl_second_server_on_the_same_path_is_refused(void **state)
{
	struct cg_ctl_opts o = { .log = test_log };
	struct cg_ctl_server *srv;
	struct cg_loop *loop;
	struct server s;

	server_start(&s, NULL);
	loop = cg_loop_new();
	assert_non_null(loop);
	last_log[0] = '\0';
	errno = 0;
	srv = cg_ctl_server_new(loop, s.path, test_cmds, NCMDS, NULL, &o);
	assert_null(srv);
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(last_log, "another cellgated is running"));
	/* the first one is untouched */
	check_hello(s.path);
	cg_loop_free(loop);
	server_stop(&s);
}

static void test_ctl_stale_socket_file_is_replaced(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/cg-ctl.XXXXXX", path[64];
	struct cg_ctl_server *srv;
	struct cg_loop *loop;
	struct stat st;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	/* what a crashed server leaves: a socket file nobody listens on */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(stat(path, &st), 0);

	loop = cg_loop_new();
	assert_non_null(loop);
	srv = cg_ctl_server_new(loop, path, test_cmds, NCMDS, NULL, NULL);
	assert_non_null(srv);
	fd = sock_connect(path); /* listening, in this process: served by run_once below */
	assert_int_equal(cg_loop_run_once(loop, WAIT_MS), 1);
	assert_int_equal(cg_ctl_server_clients(srv), 1);
	close(fd);
	cg_ctl_server_free(srv);
	assert_int_equal(access(path, F_OK), -1);

	/* a file that is not a socket is never removed */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(cg_ctl_server_new(loop, path, test_cmds, NCMDS, NULL, NULL));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(unlink(path), 0);
	cg_loop_free(loop);
	assert_int_equal(rmdir(dir), 0);
}

static void test_ctl_server_rejects_bad_tables(void **state)
{
	static const struct cg_ctl_cmd dup[] = {
		{ "a", cmd_echo, false },
		{ "a", cmd_echo, false },
	};
	static const struct cg_ctl_cmd hello[] = { { "hello", cmd_echo, false } };
	static const struct cg_ctl_cmd nofn[] = { { "a", NULL, false } };
	char dir[] = "/tmp/cg-ctl.XXXXXX", path[64], longpath[200];
	struct cg_loop *loop = cg_loop_new();

	assert_non_null(loop);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	errno = 0;
	assert_null(cg_ctl_server_new(loop, path, dup, 2, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(cg_ctl_server_new(loop, path, hello, 1, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(cg_ctl_server_new(loop, path, nofn, 1, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_null(cg_ctl_server_new(loop, longpath, test_cmds, NCMDS, NULL, NULL));
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(access(path, F_OK), -1);
	cg_loop_free(loop);
	assert_int_equal(rmdir(dir), 0);
}

static void test_ctl_rate_limit_answers_ebusy(void **state)
{
	struct cg_ctl_opts o = { .max_rate = 5 };
	char buf[2048];
	struct server s;
	struct raw r;
	size_t len = 0;
	json_t *reply;
	int i, ok = 0, busy = 0;

	server_start(&s, &o);
	for (i = 1; i <= 20; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "{\"cmd\":\"hello\",\"id\":%d}\n", i);
	raw_open(&r, s.path);
	raw_send(&r, buf, len);
	for (i = 1; i <= 20; i++) {
		reply = raw_reply(&r);
		assert_non_null(reply);
		assert_int_equal(json_integer_value(json_object_get(reply, "id")), i);
		if (json_is_true(json_object_get(reply, "ok"))) {
			ok++;
			json_decref(reply);
		} else {
			busy++;
			check_error(reply, "EBUSY", i);
		}
	}
	/* a burst of max_rate, then a refill of max_rate a second */
	assert_true(ok >= 5 && ok <= 6);
	assert_int_equal(ok + busy, 20);
	usleep(450 * 1000);
	raw_sends(&r, "{\"cmd\":\"hello\",\"id\":21}\n");
	check_ok(raw_reply(&r), 21);
	raw_close(&r);
	server_stop(&s);
}

static void test_ctl_too_many_clients_are_refused(void **state)
{
	struct cg_ctl_opts o = { .max_clients = 2 };
	struct raw a, b;
	struct server s;
	char err[256] = "";
	int i, ret = 0;

	server_start(&s, &o);
	raw_open(&a, s.path);
	raw_open(&b, s.path);
	raw_sends(&a, "{\"cmd\":\"hello\",\"id\":1}\n");
	raw_sends(&b, "{\"cmd\":\"hello\",\"id\":1}\n");
	check_ok(raw_reply(&a), 1);
	check_ok(raw_reply(&b), 1);
	assert_int_equal(cg_ctl_call(s.path, "hello", NULL, NULL, err, sizeof(err), WAIT_MS),
			 -EBUSY);
	assert_non_null(strstr(err, "too many clients"));
	/* a slot freed is a slot for the next one */
	raw_close(&a);
	for (i = 0; i < 100; i++) {
		ret = cg_ctl_call(s.path, "hello", NULL, NULL, err, sizeof(err), WAIT_MS);
		if (ret != -EBUSY)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(ret, 0);
	raw_close(&b);
	server_stop(&s);
}

static void test_ctl_client_not_reading_replies_is_dropped(void **state)
{
	struct cg_ctl_opts o = { .max_output = 64 * 1024 };
	static char buf[200 * 64];
	struct server s;
	struct raw r;
	size_t len = 0;
	ssize_t got;
	int i;

	server_start(&s, &o);
	/* 100 replies of 32 KiB asked for in one go, none read */
	for (i = 0; i < 100; i++)
		len += snprintf(buf + len, sizeof(buf) - len,
				"{\"cmd\":\"blob\",\"args\":{\"size\":32768},\"id\":%d}\n", i);
	raw_open(&r, s.path);
	raw_send(&r, buf, len);
	usleep(100 * 1000);
	check_hello(s.path);
	/* what reached the socket buffers can be read, then the end: far from all of it */
	got = raw_wait_eof(&r, WAIT_MS);
	assert_true(got >= 0);
	assert_true(got < 100 * 32768);
	raw_close(&r);
	check_hello(s.path);
	server_stop(&s);
}

static void test_ctl_client_vanishing_mid_request_is_harmless(void **state)
{
	struct server s;
	struct raw r;
	int i;

	server_start(&s, NULL);
	for (i = 0; i < 20; i++) {
		raw_open(&r, s.path);
		raw_sends(&r, i % 2 ? "{\"cmd\":\"blob\",\"args\":{\"size\":100000}}\n"
				    : "{\"cmd\":\"hel");
		raw_close(&r);
	}
	check_hello(s.path);
	server_stop(&s);
}

static void test_ctl_connect_failure_says_why(void **state)
{
	char dir[] = "/tmp/cg-ctl.XXXXXX", path[64], err[256] = "";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t start;
	json_t *res = (json_t *)1;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	assert_int_equal(cg_ctl_call(path, "hello", json_object(), &res, err, sizeof(err),
				     WAIT_MS), -ENOENT);
	assert_null(res);
	{
		char want[256];

		snprintf(want, sizeof(want), "cannot connect to '%s': %s (is cellgated running?)",
			 path, "No such file or directory");
		assert_string_equal(err, want);
	}
	errno = 0;
	assert_null(cg_ctl_connect(path, NULL, 0, WAIT_MS));
	assert_int_equal(errno, ENOENT);

	/* something listening that never answers: the client gives up in time */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	start = cg_loop_now_ms();
	assert_int_equal(cg_ctl_call(path, "hello", NULL, NULL, err, sizeof(err), 100),
			 -ETIMEDOUT);
	assert_true(cg_loop_now_ms() - start >= 99);
	assert_true(cg_loop_now_ms() - start < 100 + WAIT_MS);
	assert_non_null(strstr(err, "no reply"));
	close(fd);
	/* a stale file: refused */
	assert_int_equal(cg_ctl_call(path, "hello", NULL, NULL, err, sizeof(err), WAIT_MS),
			 -ECONNREFUSED);
	assert_non_null(strstr(err, "(is cellgated running?)"));
	assert_int_equal(unlink(path), 0);
	/* args must be an object; stolen anyway (leak-checked under SAN=1) */
	assert_int_equal(cg_ctl_call(path, "hello", json_array(), NULL, err, sizeof(err),
				     WAIT_MS), -ENOENT);
	assert_int_equal(rmdir(dir), 0);
}

static void test_ctl_code_names_map_both_ways(void **state)
{
	static const int listed[] = { EINVAL, ENOENT, EEXIST,  EACCES, EBUSY,    ENOSPC,
				      ENOSYS, ERANGE, EAGAIN,  EIO,    EPERM,    ENOTSUP,
				      ENOMEM, EMSGSIZE, ETIMEDOUT, EPROTO, ENODEV, E2BIG };
	size_t i;

	assert_string_equal(cg_ctl_code_name(EINVAL), "EINVAL");
	assert_string_equal(cg_ctl_code_name(-ENOENT), "ENOENT");
	assert_string_equal(cg_ctl_code_name(ENOTSUP), "ENOTSUP");
	assert_null(cg_ctl_code_name(0));
	assert_null(cg_ctl_code_name(4000));
	assert_int_equal(cg_ctl_code_errno("EBUSY"), EBUSY);
	assert_int_equal(cg_ctl_code_errno("EOPNOTSUPP"), EOPNOTSUPP);
	assert_int_equal(cg_ctl_code_errno("EWHAT"), 0);
	assert_int_equal(cg_ctl_code_errno("einval"), 0);
	assert_int_equal(cg_ctl_code_errno(NULL), 0);
	for (i = 0; i < sizeof(listed) / sizeof(listed[0]); i++) {
		assert_non_null(cg_ctl_code_name(listed[i]));
		assert_int_equal(cg_ctl_code_errno(cg_ctl_code_name(listed[i])), listed[i]);
	}
}

static void test_ctl_socket_in_a_directory_others_can_write_is_refused(void **state)
{
	struct cg_ctl_server *srv;
	struct cg_loop *loop = cg_loop_new();
	char dir[64], path[96], sock[128];

	snprintf(dir, sizeof(dir), "/tmp/cg-ctl.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run", dir);
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", path);
	last_log[0] = '\0';
	srv = cg_ctl_server_new(loop, sock, test_cmds, NCMDS, NULL,
				&(struct cg_ctl_opts){ .log = test_log });
	assert_null(srv);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(last_log, "refusing socket directory"));
	assert_int_equal(access(sock, F_OK), -1); /* nothing made there */
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(dir), 0);
	cg_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_parse_request_accepts_and_refuses),
		cmocka_unit_test(test_ctl_hello_reports_protocol_server_and_version),
		cmocka_unit_test(test_ctl_command_gets_args_and_returns_result),
		cmocka_unit_test(test_ctl_handler_error_maps_back_to_errno),
		cmocka_unit_test(test_ctl_bad_requests_get_einval_and_keep_the_connection),
		cmocka_unit_test(test_ctl_unknown_command_is_enosys),
		cmocka_unit_test(test_ctl_request_over_the_limit_is_refused_and_closed),
		cmocka_unit_test(test_ctl_many_requests_on_one_connection),
		cmocka_unit_test(test_ctl_pipelined_requests_in_one_write),
		cmocka_unit_test(test_ctl_stalled_client_blocks_nobody_and_is_dropped),
		cmocka_unit_test(test_ctl_active_client_is_not_dropped),
		cmocka_unit_test(test_ctl_non_root_peer_is_refused),
		cmocka_unit_test(test_ctl_group_member_may_only_read),
		cmocka_unit_test(test_ctl_second_server_on_the_same_path_is_refused),
		cmocka_unit_test(test_ctl_stale_socket_file_is_replaced),
		cmocka_unit_test(test_ctl_server_rejects_bad_tables),
		cmocka_unit_test(test_ctl_rate_limit_answers_ebusy),
		cmocka_unit_test(test_ctl_too_many_clients_are_refused),
		cmocka_unit_test(test_ctl_client_not_reading_replies_is_dropped),
		cmocka_unit_test(test_ctl_client_vanishing_mid_request_is_harmless),
		cmocka_unit_test(test_ctl_connect_failure_says_why),
		cmocka_unit_test(test_ctl_code_names_map_both_ways),
		cmocka_unit_test(test_ctl_junk_lines_do_not_keep_a_connection_alive),
		cmocka_unit_test(test_ctl_junk_is_rate_limited_and_a_flood_is_dropped),
		cmocka_unit_test(test_ctl_deep_or_huge_json_is_refused_before_parsing),
		cmocka_unit_test(test_ctl_full_server_makes_room_by_closing_a_quiet_client),
		cmocka_unit_test(test_ctl_connection_storm_does_not_flood_the_log),
		cmocka_unit_test(test_ctl_socket_in_a_directory_others_can_write_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
