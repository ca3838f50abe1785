/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* ctl_proto.c - control protocol: request lines parsed, reply lines built, error codes and errno */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/ctl.h"
#include "cellgate/text.h"

#define CTL_MAX_DEPTH  32   /* deepest JSON nesting in a request */
#define CTL_MAX_VALUES 4096 /* JSON values in one request: bounds what parsing allocates */

/* A protocol code: the errno's symbolic name, as the reply's "code" carries it. */
struct ctl_code {
	int err;	  /* positive errno value */
	const char *name; /* its name on the wire */
};

#define CTL_CODE(e)   \
	{             \
		e, #e \
	}

/*
 * The names are the protocol; the numbers are this host's. ENOTSUP comes
 * before its alias EOPNOTSUPP so it is the name sent; both are understood.
 */
static const struct ctl_code ctl_codes[] = {
	CTL_CODE(EPERM),	CTL_CODE(ENOENT),	 CTL_CODE(ESRCH),
	CTL_CODE(EINTR),	CTL_CODE(EIO),		 CTL_CODE(ENXIO),
	CTL_CODE(E2BIG),	CTL_CODE(EBADF),	 CTL_CODE(EAGAIN),
	CTL_CODE(ENOMEM),	CTL_CODE(EACCES),	 CTL_CODE(EFAULT),
	CTL_CODE(EBUSY),	CTL_CODE(EEXIST),	 CTL_CODE(ENODEV),
	CTL_CODE(ENOTDIR),	CTL_CODE(EISDIR),	 CTL_CODE(EINVAL),
	CTL_CODE(ENFILE),	CTL_CODE(EMFILE),	 CTL_CODE(EFBIG),
	CTL_CODE(ENOSPC),	CTL_CODE(EROFS),	 CTL_CODE(EPIPE),
	CTL_CODE(EDOM),		CTL_CODE(ERANGE),	 CTL_CODE(EDEADLK),
	CTL_CODE(ENAMETOOLONG), CTL_CODE(ENOSYS),	 CTL_CODE(ENOTEMPTY),
	CTL_CODE(ELOOP),	CTL_CODE(ENODATA),	 CTL_CODE(ETIME),
	CTL_CODE(EPROTO),	CTL_CODE(EBADMSG),	 CTL_CODE(EOVERFLOW),
	CTL_CODE(EILSEQ),	CTL_CODE(EMSGSIZE),	 CTL_CODE(EPROTONOSUPPORT),
	CTL_CODE(ENOTSUP),	CTL_CODE(EOPNOTSUPP),	 CTL_CODE(EAFNOSUPPORT),
	CTL_CODE(EADDRINUSE),	CTL_CODE(EADDRNOTAVAIL), CTL_CODE(ENETDOWN),
	CTL_CODE(ENETUNREACH),	CTL_CODE(ECONNABORTED),	 CTL_CODE(ECONNRESET),
	CTL_CODE(ENOBUFS),	CTL_CODE(ENOTCONN),	 CTL_CODE(ETIMEDOUT),
	CTL_CODE(ECONNREFUSED), CTL_CODE(EHOSTUNREACH),	 CTL_CODE(EALREADY),
	CTL_CODE(EINPROGRESS),	CTL_CODE(ESTALE),	 CTL_CODE(EDQUOT),
	CTL_CODE(ECANCELED),	CTL_CODE(EOWNERDEAD),	 CTL_CODE(ENOTRECOVERABLE),
};

const char *cg_ctl_code_name(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < sizeof(ctl_codes) / sizeof(ctl_codes[0]); i++)
		if (ctl_codes[i].err == err)
			return ctl_codes[i].name;
	return NULL;
}

int cg_ctl_code_errno(const char *code)
{
	size_t i;

	if (!code)
		return 0;
	for (i = 0; i < sizeof(ctl_codes) / sizeof(ctl_codes[0]); i++)
		if (!strcmp(ctl_codes[i].name, code))
			return ctl_codes[i].err;
	return 0;
}

/*
 * Bound what parsing a line can cost before jansson sees it: at most
 * CTL_MAX_DEPTH levels of nesting and CTL_MAX_VALUES values (counted by the
 * separators and brackets outside strings). Returns 0, or -EINVAL with msg.
 */
static int ctl_prescan(const char *line, size_t len, char *msg, size_t msglen)
{
	unsigned int depth = 0, values = 1;
	bool in_str = false;
	size_t i;

	for (i = 0; i < len; i++) {
		char ch = line[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		switch (ch) {
		case '"':
			in_str = true;
			break;
		case '{':
		case '[':
			if (++depth > CTL_MAX_DEPTH) {
				snprintf(msg, msglen, "request nested deeper than %d levels",
					 CTL_MAX_DEPTH);
				return -EINVAL;
			}
			/* fall through */
		case ',':
		case ':':
			if (++values > CTL_MAX_VALUES) {
				snprintf(msg, msglen, "request has more than %d JSON values",
					 CTL_MAX_VALUES);
				return -EINVAL;
			}
			break;
		case '}':
		case ']':
			if (depth)
				depth--;
			break;
		}
	}
	return 0;
}

int cg_ctl_parse_request(const char *line, size_t len, struct cg_ctl_req *req, char *msg,
			 size_t msglen)
{
	char q[CG_SHOW_TEXT_MAX];
	json_error_t jerr;
	json_t *jcmd;
	size_t i;
	int ret;

	*req = (struct cg_ctl_req){ 0 };
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'); i++)
		;
	if (i == len)
		return 1;
	ret = ctl_prescan(line, len, msg, msglen);
	if (ret)
		return ret;
	req->root = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!req->root) {
		snprintf(msg, msglen, "invalid JSON at column %d: %s", jerr.column,
			 cg_show(jerr.text, q, sizeof(q)));
		return -EINVAL;
	}
	if (!json_is_object(req->root)) {
		snprintf(msg, msglen, "request is not a JSON object");
		return -EINVAL;
	}
	req->id = json_object_get(req->root, "id");
	jcmd = json_object_get(req->root, "cmd");
	if (!json_is_string(jcmd)) {
		snprintf(msg, msglen, "\"cmd\" is %s", jcmd ? "not a string" : "missing");
		return -EINVAL;
	}
	req->cmd = json_string_value(jcmd);
	req->args = json_object_get(req->root, "args");
	if (req->args && !json_is_object(req->args)) {
		snprintf(msg, msglen, "\"args\" of '%s' is not an object",
			 cg_show(req->cmd, q, sizeof(q)));
		req->args = NULL;
		return -EINVAL;
	}
	return 0;
}

/*
 * A message as a JSON string: one line, valid UTF-8. Handler messages and
 * jansson's parse errors (which quote the input) may be neither.
 */
static json_t *ctl_msg_string(const char *msg)
{
	char buf[CG_CTL_MSG_MAX];
	json_t *s;
	size_t i;

	snprintf(buf, sizeof(buf), "%s", msg);
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	s = json_string(buf);
	if (s)
		return s;
	/* invalid UTF-8, or a sequence cut by the truncation above */
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] >= 0x80)
			buf[i] = '?';
	return json_string(buf);
}

char *cg_ctl_reply_line(int ret, json_t *result, const char *msg, json_t *id, size_t *len)
{
	const char *code;
	json_t *resp;
	char *s = NULL, *line = NULL;

	resp = json_object();
	if (!resp) {
		json_decref(result);
		return NULL;
	}
	if (!ret) {
		if (!result)
			result = json_object();
		if (json_object_set_new(resp, "ok", json_true()) ||
		    json_object_set_new(resp, "result", result))
			goto out;
	} else {
		json_decref(result);
		code = cg_ctl_code_name(ret);
		if (!msg)
			msg = strerror(-ret);
		if (json_object_set_new(resp, "ok", json_false()) ||
		    json_object_set_new(resp, "error", ctl_msg_string(msg)) ||
		    json_object_set_new(resp, "code", json_string(code ? code : "EIO")))
			goto out;
	}
	if (id && json_object_set(resp, "id", id))
		goto out;
	/* compact output escapes every control character: the line holds no '\n' */
	s = json_dumps(resp, JSON_COMPACT);
	if (!s)
		goto out;
	*len = strlen(s) + 1;
	line = realloc(s, *len + 1);
	if (!line) {
		free(s);
		goto out;
	}
	line[*len - 1] = '\n';
	line[*len] = '\0';
out:
	json_decref(resp);
	return line;
}
