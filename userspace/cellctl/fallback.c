// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fallback.c - calls to cellgated, and the read-only view from the pinned maps when it is down */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cellgate/config.h"
#include "cellgate/ctl.h"
#include "cellctl.h"

static struct cli_local *local_view; /* loaded by the first fallback */

/* Connection failures after which the pins are read instead. */
static bool daemon_down(int err)
{
	return err == ENOENT || err == ECONNREFUSED;
}

/*
 * One request. Returns 0 with *result; 1 with the message in err; 1 and
 * *down set if nobody serves the socket.
 */
static int request(const char *cmd, json_t *args, json_t **result, char *err, size_t errlen,
		   bool *down)
{
	uint64_t start = cg_loop_now_ms(), spent;
	struct cg_ctl_conn *conn;
	int ret, left;

	*down = false;
	*result = NULL;
	conn = cg_ctl_connect(cli.sock, err, errlen, cli.timeout_ms);
	if (!conn) {
		*down = daemon_down(errno);
		json_decref(args);
		return 1;
	}
	spent = cg_loop_now_ms() - start;
	left = spent >= (uint64_t)cli.timeout_ms ? 1 : cli.timeout_ms - (int)spent;
	ret = cg_ctl_request(conn, cmd, args, result, err, errlen, left);
	cg_ctl_close(conn);
	if (ret == -ETIMEDOUT)
		snprintf(err, errlen, "cellgated did not answer '%s' within %d ms", cmd,
			 cli.timeout_ms);
	return ret ? 1 : 0;
}

int cli_call(const char *cmd, json_t *args, json_t **result)
{
	char err[1024] = "";
	bool down;

	if (request(cmd, args, result, err, sizeof(err), &down))
		return cli_err("%s", err[0] ? err : "request failed");
	return CLI_OK;
}

struct cli_local *cli_local_get(void)
{
	struct cli_local *loc;
	char err[512], path[PATH_MAX];
	int ret;

	if (local_view)
		return local_view;
	loc = calloc(1, sizeof(*loc));
	if (!loc) {
		cli_err("%s", strerror(ENOMEM));
		return NULL;
	}
	cg_state_init(&loc->st);
	snprintf(loc->state_path, sizeof(loc->state_path), "%s/%s", cli.state_dir, CG_STATE_FILE);
	ret = cg_state_load(loc->state_path, &loc->st, err, sizeof(err));
	if (ret) {
		if (ret == -ENOENT)
			cli_err("cellgated is not running and there is no persisted state in '%s'",
				loc->state_path);
		else
			cli_err("cellgated is not running and its state cannot be read: %s", err);
		free(loc);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/cells", cli.pin_dir);
	loc->pins_found = access(path, F_OK) == 0;
	if (loc->pins_found)
		loc->dp = cg_dp_open(
			&(struct cg_dp_opts){ .pin_dir = cli.pin_dir, .readonly = true });
	local_view = loc;
	return loc;
}

void cli_local_free(void)
{
	if (!local_view)
		return;
	cg_dp_close(local_view->dp);
	cg_state_free(&local_view->st);
	free(local_view);
	local_view = NULL;
}

/* Mark v (an object, or an array of objects) as built locally. */
static void mark_source(json_t *v, const char *source)
{
	json_t *e;
	size_t i;

	if (json_is_object(v))
		json_object_set_new(v, "source", json_string(source));
	else if (json_is_array(v))
		json_array_foreach(v, i, e)
			if (json_is_object(e))
				json_object_set_new(e, "source", json_string(source));
}

int cli_read(const char *cmd, cli_local_fn local, json_t **result)
{
	struct cli_local *loc;
	char err[1024] = "";
	bool down;

	if (!request(cmd, NULL, result, err, sizeof(err), &down))
		return CLI_OK;
	if (!down || !local)
		return cli_err("%s", err);
	if (!local_view) {
		loc = cli_local_get();
		if (!loc)
			return CLI_FAIL;
		if (loc->dp)
			cli_note("cellgated is not running; showing the pinned data plane and the "
				 "persisted state");
		else if (loc->pins_found) /* cg_dp_open() said why */
			cli_note("cellgated is not running and the maps pinned in '%s' cannot be "
				 "read; showing the persisted state",
				 cli.pin_dir);
		else
			cli_note("cellgated is not running and nothing is pinned in '%s'; showing "
				 "the persisted state",
				 cli.pin_dir);
	}
	loc = local_view;
	*result = local(loc);
	if (!*result)
		return cli_err("%s", strerror(ENOMEM));
	mark_source(*result, loc->dp ? "pinned" : "state");
	return CLI_OK;
}
