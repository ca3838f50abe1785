// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* args.c - cellctl's option parser and the checks of its arguments */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cellgate/config.h"
#include "cellctl.h"

int cli_parse_opts(int argc, char **argv, struct cli_opt *opts)
{
	struct cli_opt *o;
	const char *w, *eq;
	size_t len;

	while (argc > 0) {
		w = *argv;
		if (w[0] != '-' || w[1] != '-')
			return BAD_ARG();
		eq = strchr(w, '=');
		len = eq ? (size_t)(eq - w) : strlen(w);
		for (o = opts; o->name; o++)
			if (strlen(o->name) == len && !strncmp(o->name, w, len))
				break;
		if (!o->name)
			return cli_usage_err("unknown option '%.*s' (try 'cellctl %s --help')",
					     (int)len, w, cli.what);
		if (o->val)
			return cli_usage_err("%s given twice", o->name);
		if (o->flag) {
			if (eq)
				return cli_usage_err("%s takes no value", o->name);
			o->val = "";
		} else if (eq) {
			o->val = eq + 1;
		} else if (argc > 1) {
			NEXT_ARG();
			o->val = *argv;
		} else {
			return cli_usage_err("%s needs a value", o->name);
		}
		NEXT_ARG();
	}
	return CLI_OK;
}

int cli_parse_u64(const char *opt, const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull accepts spaces and a sign: allow digits only */
	if (!text[0] || text[strspn(text, "0123456789")] != '\0') {
		cli_usage_err("bad %s '%s': not a number", opt, text);
		return -1;
	}
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno == ERANGE || *end || v < min || v > max) {
		cli_usage_err("bad %s '%s': must be %llu..%llu", opt, text, (unsigned long long)min,
			      (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

bool cli_check_name(const char *what, const char *text)
{
	size_t len = strlen(text);

	if (cg_name_valid(text))
		return true;
	if (!len || len >= CG_NAME_MAX)
		cli_usage_err("bad %s '%.40s': must be 1..%d characters", what, text,
			      CG_NAME_MAX - 1);
	else
		cli_usage_err("bad %s '%s': letters, digits, '.', '_' and '-', the first a letter "
			      "or digit",
			      what, text);
	return false;
}

json_t *cli_class_arg(const char *opt, const char *text)
{
	uint64_t id;
	json_t *v;

	if (text[0] && !text[strspn(text, "0123456789")]) {
		if (cli_parse_u64(opt, text, 0, CG_MAX_CLASSES - 1, &id))
			return NULL;
		v = json_integer((json_int_t)id);
	} else {
		if (!cli_check_name(opt, text))
			return NULL;
		v = json_string(text);
	}
	if (!v)
		cli_err("out of memory");
	return v;
}

bool cli_check_addr(const char *opt, const char *text)
{
	struct cg_addr a;

	if (!cg_addr_parse(text, 0, opt, &a, NULL, 0))
		return true;
	cli_usage_err("bad %s '%s': not an IPv4 or IPv6 address", opt, text);
	return false;
}

bool cli_check_enum(const char *opt, const char *text, const struct cg_enum *words)
{
	char list[128];
	size_t i, used = 0;
	unsigned int v;

	if (!cg_enum_value(words, text, &v))
		return true;
	list[0] = '\0';
	for (i = 0; words[i].name && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
					 words[i].name);
	cli_usage_err("bad %s '%s' (%s)", opt, text, list);
	return false;
}

int cli_field_arg(const struct cg_object *o, const char *field, const char *opt, const char *text,
		  json_t *args)
{
	const struct cg_field *f = cg_field_find(o, field);
	json_t *v = NULL;
	uint64_t x;

	switch (f->type) {
	case CG_F_NAME:
	case CG_F_REF:
		if (!cli_check_name(opt, text))
			return CLI_USAGE;
		break;
	case CG_F_ADDR:
		if (!cli_check_addr(opt, text))
			return CLI_USAGE;
		break;
	case CG_F_ENUM:
		if (!cli_check_enum(opt, text, f->words))
			return CLI_USAGE;
		break;
	case CG_F_CLASS:
		v = cli_class_arg(opt, text);
		if (!v)
			return CLI_USAGE;
		break;
	case CG_F_U8:
	case CG_F_U16:
	case CG_F_U32:
		if (cli_parse_u64(opt, text, f->min, f->max, &x))
			return CLI_USAGE;
		v = json_integer((json_int_t)x);
		break;
	default:
		break;
	}
	if (json_object_set_new(args, f->name, v ? v : json_string(text)))
		return cli_err("out of memory");
	return CLI_OK;
}
