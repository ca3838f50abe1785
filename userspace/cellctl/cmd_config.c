// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_config.c - cellctl config: check a file, apply it to cellgated, dump the desired state */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/config.h"
#include "cellctl.h"

/* Parsed here, not by cellgated: works without the daemon and changes nothing. */
static int do_check(int argc, char **argv)
{
	struct cg_state st;
	char err[512];
	const char *file;
	json_t *o;
	int ret;

	REQ_ARGS("FILE");
	file = *argv;
	NEXT_ARG();
	if (argc > 0)
		return BAD_ARG();
	cg_state_init(&st);
	if (cg_config_parse(file, &st, err, sizeof(err)))
		return cli_err("%s", err);
	if (cli.json) {
		o = json_pack("{s:s, s:I, s:I, s:I}", "file", file, "services",
			      (json_int_t)st.nservices, "cells", (json_int_t)st.ncells, "regions",
			      (json_int_t)st.nregions);
		ret = o ? cli_json_out(o) : cli_err("out of memory");
		json_decref(o);
	} else {
		printf("%s: ok (%zu services, %zu cells, %zu regions)\n", file, st.nservices,
		       st.ncells, st.nregions);
		ret = CLI_OK;
	}
	cg_state_free(&st);
	return ret;
}

static int do_apply(int argc, char **argv)
{
	struct cli_opt o[] = { { .name = "--dry-run", .flag = true },
			       { .name = "--force", .flag = true },
			       { .name = NULL } };
	json_t *args, *text, *reply;
	const char *file;
	char err[512], *buf = NULL;
	size_t len = 0;
	int ret;

	REQ_ARGS("FILE");
	file = *argv;
	if (file[0] == '-' && file[1] == '-')
		return cli_usage_err("missing FILE before '%s'", file);
	NEXT_ARG();
	ret = cli_parse_opts(argc, argv, o);
	if (ret)
		return ret;
	if (cg_config_read_file(file, &buf, &len, err, sizeof(err)))
		return cli_err("%s", err);
	if (cg_config_text_check(file, buf, len, err, sizeof(err))) {
		free(buf);
		return cli_err("%s", err);
	}
	text = json_stringn(buf, len);
	free(buf);
	if (!text)
		return cli_err("'%s' is not UTF-8 text", file);
	/* the name makes cellgated's parse errors read FILE:LINE */
	args = json_pack("{s:o, s:s}", "text", text, "name", file);
	if (!args)
		return cli_err("out of memory");
	cli_change_flags(&o[0], &o[1], args);
	ret = cli_call("config.apply", args, &reply);
	if (ret)
		return ret;
	ret = cli_print_changes(reply, o[0].val != NULL);
	json_decref(reply);
	return ret;
}

/* The persisted state in the config format: what config.get answers. */
static json_t *local_dump(struct cli_local *loc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	json_t *o = NULL;
	int ret;

	if (!mem)
		return NULL;
	ret = cg_state_write(&loc->st, mem);
	if (fclose(mem) == 0 && !ret)
		o = json_pack("{s:s%}", "text", buf, len);
	free(buf);
	return o;
}

static int do_dump(int argc, char **argv)
{
	json_t *o;
	int ret;

	if (argc > 0)
		return BAD_ARG();
	ret = cli_read("config.get", local_dump, &o);
	if (ret)
		return ret;
	if (cli.json)
		ret = cli_json_out(o);
	else if (fputs(cli_str(o, "text"), stdout) == EOF || fflush(stdout))
		ret = cli_err("cannot write the output");
	json_decref(o);
	return ret;
}

static const struct cli_cmd cmds[] = {
	{ "check", do_check, "check FILE",
	  "Parse FILE here, without the daemon: 'FILE: ok (...)' or 'FILE:LINE: what'.\n" },
	{ "apply", do_apply, "apply FILE [--dry-run] [--force]",
	  "Make FILE the desired state. Prints each change: + added, - removed,\n"
	  "~ changed (old -> new), then the new generation. Refused if it breaks a\n"
	  "safety rule (docs/failover.md) unless --force.\n\n" CLI_CHANGE_OPTIONS },
	{ "dump", do_dump, "dump",
	  "The desired state in the config format; 'config check' reads it back.\n" },
	{ NULL, NULL, NULL, NULL },
};

int do_config(int argc, char **argv)
{
	return cli_dispatch("config", cmds, NULL, argc, argv);
}
