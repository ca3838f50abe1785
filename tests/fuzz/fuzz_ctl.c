// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fuzz_ctl.c - libFuzzer target: the control protocol's request parser and its reply lines */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cellgate/ctl.h"
#include "fuzz_common.h"

/* A reply line must be one JSON object ending in its only '\n', with the id echoed. */
static void check_reply(char *line, size_t len, const json_t *id)
{
	json_error_t jerr;
	json_t *back;

	FUZZ_CHECK(line, "no reply line");
	FUZZ_CHECK(len == strlen(line) && len > 1 && line[len - 1] == '\n', "framing of '%s'",
		   line);
	FUZZ_CHECK(memchr(line, '\n', len - 1) == NULL, "a '\\n' inside '%s'", line);
	back = json_loadb(line, len - 1, JSON_REJECT_DUPLICATES, &jerr);
	FUZZ_CHECK(json_is_object(back), "reply is not a JSON object: %s: '%s'", jerr.text, line);
	if (id)
		FUZZ_CHECK(json_equal(json_object_get(back, "id"), id), "id not echoed in '%s'",
			   line);
	json_decref(back);
	free(line);
}

/*
 * The input is one request line (cellgated frames lines at '\n', so one
 * holds none): the parser must accept it with every field set, call it
 * blank, or refuse it with a one-line message; the reply cellgated would
 * send (the error, or the command echoed as the result) must be protocol.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_ctl_req req;
	char msg[CG_CTL_MSG_MAX] = "";
	size_t len = 0;
	char *line;
	int ret;

	if (memchr(data, '\n', size))
		return 0;
	ret = cg_ctl_parse_request((const char *)data, size, &req, msg, sizeof(msg));
	if (ret == 1) {
		FUZZ_CHECK(!req.root && !req.id && !req.cmd && !req.args, "blank line with fields");
		return 0;
	}
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL, "returned %d", ret);
		FUZZ_CHECK(fuzz_one_line(msg), "message '%s'", msg);
		FUZZ_CHECK(!req.cmd || req.root, "cmd without root");
		line = cg_ctl_reply_line(ret, NULL, msg, req.id, &len);
	} else {
		FUZZ_CHECK(json_is_object(req.root) && req.cmd, "accepted without root or cmd");
		FUZZ_CHECK(!req.args || json_is_object(req.args), "args not an object");
		line = cg_ctl_reply_line(-ENOSYS, NULL, req.cmd, req.id, &len);
		check_reply(line, len, req.id);
		line = cg_ctl_reply_line(0, json_string(req.cmd), NULL, req.id, &len);
	}
	check_reply(line, len, req.id);
	json_decref(req.root);
	return 0;
}
