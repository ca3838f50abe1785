// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* main.c - cellctl, the operator's CLI: global options, help, dispatch to the cmd_*.c tables */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cellgate/config.h"
#include "cellgate/ctl.h"
#include "cellgate/loop.h"
#include "cellgate/text.h"
#include "cellctl.h"

#define CLI_MAX_TIMEOUT_MS 3600000 /* --timeout ceiling: an hour */

struct cli cli = {
	.timeout_ms = CG_CTL_DEFAULT_TIMEOUT_MS,
};

/* ---- help and dispatch ---- */

static const char global_usage[] =
	"Options (anywhere on the line):\n"
	"  -j, --json         print JSON: the daemon's result, stable (docs/cli.md)\n"
	"  -p, --pretty       print indented JSON (implies -j)\n"
	"  -s, --socket SOCK  cellgated's control socket (" CG_CTL_DEFAULT_PATH ")\n"
	"  --pin-dir DIR      the pinned maps, read when cellgated is down\n"
	"                     (" CG_DP_PIN_DIR ")\n"
	"  --state-dir DIR    the persisted state, read when cellgated is down\n"
	"                     (" CG_STATE_DIR ")\n"
	"  --timeout MS       per request, connecting included (5000)\n"
	"  -h, --help         help at every level: 'cellctl cell help', 'cellctl cell set -h'\n";

bool cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

/* "  cellctl OBJECT USAGE", continuation lines of usage aligned after the object. */
static void print_usage_lines(const char *object, const char *usage)
{
	const char *p = usage, *nl;
	bool first = true;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (first)
			printf("  cellctl %s %.*s\n", object, (int)(nl - p), p);
		else
			printf("  %*s%.*s\n", (int)strlen(object) + 9, "", (int)(nl - p), p);
		first = false;
		p = *nl ? nl + 1 : nl;
	}
}

int cli_help(const char *object, const struct cli_cmd *cmds, const char *cmd)
{
	size_t i;

	printf("Usage:\n");
	for (i = 0; cmds[i].name; i++) {
		if (cmd && strcmp(cmd, cmds[i].name))
			continue;
		print_usage_lines(object, cmds[i].usage);
		if (cmd && cmds[i].help)
			printf("\n%s", cmds[i].help);
	}
	if (cmd) {
		printf("\nGlobal options: see 'cellctl help'.\n");
		return CLI_OK;
	}
	printf("  cellctl %s help\n", object);
	printf("\nA command may be shortened to any unambiguous prefix; "
	       "'cellctl %s COMMAND --help'\ndescribes its options.\n\n%s",
	       object, global_usage);
	return CLI_OK;
}

/* The command word names, exactly or by a unique prefix; NULL if none or ambiguous. */
static const struct cli_cmd *select_cmd(const struct cli_cmd *cmds, const char *word,
					bool *ambiguous)
{
	const struct cli_cmd *found = NULL;
	size_t i, len = strlen(word);

	*ambiguous = false;
	if (!len)
		return NULL;
	for (i = 0; cmds[i].name; i++)
		if (!strcmp(cmds[i].name, word))
			return &cmds[i];
	for (i = 0; cmds[i].name; i++) {
		if (strncmp(cmds[i].name, word, len))
			continue;
		if (found) {
			*ambiguous = true;
			return NULL;
		}
		found = &cmds[i];
	}
	return found;
}

/* "a, b, c": the commands of cmds starting with word, for an ambiguity message. */
static void candidates(const struct cli_cmd *cmds, const char *word, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; cmds[i].name && used < len; i++)
		if (!strncmp(cmds[i].name, word, strlen(word)))
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
						 cmds[i].name);
}

int cli_dispatch(const char *object, const struct cli_cmd *cmds, const char *def, int argc,
		 char **argv)
{
	const struct cli_cmd *c;
	bool ambiguous, implicit;
	char names[256];

	if (argc >= 1 &&
	    (!strcmp(argv[0], "help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")))
		return cli_help(object, cmds, NULL);
	/* no word, or options first ("cellctl stats --watch"): the default command */
	implicit = argc < 1 || argv[0][0] == '-';
	if (implicit && !def) {
		snprintf(cli.what, sizeof(cli.what), "%s", object);
		return cli_usage_err("missing COMMAND (try 'cellctl %s help')", object);
	}
	c = select_cmd(cmds, implicit ? def : argv[0], &ambiguous);
	if (!c && ambiguous) {
		candidates(cmds, argv[0], names, sizeof(names));
		cli.what[0] = '\0'; /* the message names the object itself */
		return cli_usage_err("ambiguous command '%s %s' (%s)", object, argv[0], names);
	}
	if (!c) {
		cli.what[0] = '\0';
		return cli_usage_err("unknown command '%s %s' (try 'cellctl %s help')", object,
				     argv[0], object);
	}
	if (!implicit)
		NEXT_ARG();
	if (c->help && cli_wants_help(argc, argv))
		return cli_help(object, cmds, c->name);
	if (cmds[1].name)
		snprintf(cli.what, sizeof(cli.what), "%s %s", object, c->name);
	else
		snprintf(cli.what, sizeof(cli.what), "%s", object);
	return c->fn(argc, argv);
}

int cli_show_one(int argc, char **argv, const char *kind, const char *cmd, cli_local_fn local,
		 json_t **list, json_t **obj)
{
	const char *name;
	int ret;

	*list = NULL;
	*obj = NULL;
	REQ_ARGS("NAME");
	name = *argv;
	NEXT_ARG();
	if (argc > 0)
		return BAD_ARG();
	if (!cli_check_name("NAME", name))
		return CLI_USAGE;
	ret = cli_read(cmd, local, list);
	if (ret)
		return ret;
	*obj = cli_find(*list, name);
	if (!*obj) {
		json_decref(*list);
		*list = NULL;
		return cli_err("%s '%s' not found", kind, name);
	}
	if (cli.json) {
		ret = cli_json_out(*obj);
		json_decref(*list);
		*list = NULL;
		return ret;
	}
	return CLI_OK;
}

int cli_name_opts(int argc, char **argv, const char **name, struct cli_opt *opts)
{
	REQ_ARGS("NAME");
	*name = *argv;
	if ((*name)[0] == '-')
		return cli_usage_err("missing NAME before '%s'", *name);
	NEXT_ARG();
	if (!cli_check_name("NAME", *name))
		return CLI_USAGE;
	return cli_parse_opts(argc, argv, opts);
}

int cli_parse_duration(const char *opt, const char *text, uint64_t max, uint64_t *out)
{
	size_t digits = strspn(text, "0123456789");
	uint64_t n, mult = 1;

	if (!digits || digits > 9 || (text[digits] && text[digits + 1]) ||
	    (text[digits] && !strchr("smhd", text[digits]))) {
		cli_usage_err("bad %s '%s': a duration like 30s, 10m, 2h, 1d or seconds", opt,
			      text);
		return -1;
	}
	n = strtoull(text, NULL, 10);
	switch (text[digits]) {
	case 'd':
		mult = 86400;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'm':
		mult = 60;
		break;
	}
	if (!n || n * mult > max) {
		cli_usage_err("bad %s '%s': must be 1s..%llud", opt, text,
			      (unsigned long long)(max / 86400));
		return -1;
	}
	*out = n * mult;
	return 0;
}

bool cli_change_flags(const struct cli_opt *dry_run, const struct cli_opt *force, json_t *args)
{
	bool dry = dry_run && dry_run->val;

	if (dry)
		json_object_set_new(args, "dry_run", json_true());
	if (force && force->val)
		json_object_set_new(args, "force", json_true());
	return dry;
}

int cli_change_named(int argc, char **argv, const char *cmd)
{
	struct cli_opt o[] = { { .name = "--dry-run", .flag = true },
			       { .name = "--force", .flag = true },
			       { .name = NULL } };
	const char *name;
	json_t *args, *reply;
	bool dry;
	int ret;

	ret = cli_name_opts(argc, argv, &name, o);
	if (ret)
		return ret;
	args = json_pack("{s:s}", "name", name);
	if (!args)
		return cli_err("out of memory");
	dry = cli_change_flags(&o[0], &o[1], args);
	ret = cli_call(cmd, args, &reply);
	if (ret)
		return ret;
	ret = cli_print_changes(reply, dry);
	json_decref(reply);
	return ret;
}

/* Text the daemon sent, made safe for one line of stderr. */
static const char *escaped(char *buf, size_t len, const char *s)
{
	cg_escape(buf, len, s, strlen(s), 0);
	return buf;
}

int cli_print_changes(const json_t *reply, bool dry_run)
{
	const json_t *changes = json_object_get(reply, "changes"), *ch;
	const json_t *written = json_object_get(reply, "written");
	const char *warning = json_string_value(json_object_get(reply, "warning"));
	const char *dp_error = json_string_value(json_object_get(reply, "dataplane_error"));
	const char *forced = json_string_value(json_object_get(reply, "overridden"));
	int ret = CLI_OK;
	size_t i;

	char q[2048];

	if (warning)
		cli_note("warning: %s", escaped(q, sizeof(q), warning));
	if (dp_error)
		cli_note("%s; cellgated retries until the data plane takes it",
			 escaped(q, sizeof(q), dp_error));
	if (forced)
		cli_note("%s: %s", dry_run ? "would be forced" : "forced",
			 escaped(q, sizeof(q), forced));
	if (cli.json) {
		ret = cli_json_out(reply);
		return ret == CLI_OK && dp_error ? CLI_SAVED : ret;
	}
	json_array_foreach(changes, i, ch) {
		const char *detail = cli_str(ch, "detail");

		printf("%s %s %s%s%s\n", cli_str(ch, "op"), cli_str(ch, "kind"),
		       cli_str(ch, "name"), detail[0] ? " " : "", detail);
	}
	if (!json_array_size(changes))
		printf("no changes\n");
	else if (dry_run)
		printf("dry run: nothing changed\n");
	else if (json_is_true(json_object_get(reply, "applied")))
		printf("applied, generation %llu\n",
		       (unsigned long long)cli_u64(reply, "generation"));
	if (cli_u64(written, "unready_cells"))
		printf("note: %llu cell(s) stay out of the tables until their next hop resolves\n",
		       (unsigned long long)cli_u64(written, "unready_cells"));
	return dp_error ? CLI_SAVED : CLI_OK;
}

/* ---- main ---- */

static int do_help(int argc, char **argv);

static const struct cli_cmd objects[] = {
	{ "status", do_status, "", NULL }, { "service", do_service, "", NULL },
	{ "cell", do_cell, "", NULL },	   { "region", do_region, "", NULL },
	{ "stats", do_stats, "", NULL },   { "config", do_config, "", NULL },
	{ "class", do_class, "", NULL },   { "shed", do_shed, "", NULL },
	{ "help", do_help, "", NULL },	   { NULL, NULL, NULL, NULL },
};

static int do_help(int argc, char **argv)
{
	char *help[] = { "help", NULL };

	if (argc > 0 && strcmp(argv[0], "help")) {
		/* "cellctl help cell" is "cellctl cell help" */
		const struct cli_cmd *c;
		bool ambiguous;

		c = select_cmd(objects, argv[0], &ambiguous);
		if (c && c->fn != do_help)
			return c->fn(1, help);
	}
	printf("Usage: cellctl [OPTIONS] OBJECT COMMAND [ARGS]\n"
	       "\n"
	       "  cellctl status                       the daemon, the data plane, the state\n"
	       "  cellctl service { list | show | add | del }\n"
	       "  cellctl cell { list | show | add | set | del }\n"
	       "  cellctl region list\n"
	       "  cellctl stats [--watch] [--interval SECONDS] [--count N]\n"
	       "  cellctl config { check | apply | dump }\n"
	       "  cellctl class { list | rule { list | add | del } }\n"
	       "  cellctl shed { show | set | clear }\n"
	       "\n"
	       "'cellctl OBJECT help' describes an object's commands. Objects and commands may\n"
	       "be shortened to any unambiguous prefix.\n"
	       "\n"
	       "Read-only commands work from the pinned maps and the persisted state when\n"
	       "cellgated is not running. Exit status: 0 done, 1 refused or failed, 2 bad usage.\n"
	       "\n%s",
	       global_usage);
	return CLI_OK;
}

/* Run the object argv[0] names (exactly or by a unique prefix) with the words after it. */
static int run_object(int argc, char **argv)
{
	const struct cli_cmd *c;
	bool ambiguous;
	char names[256];

	c = select_cmd(objects, argv[0], &ambiguous);
	if (!c && ambiguous) {
		candidates(objects, argv[0], names, sizeof(names));
		return cli_usage_err("ambiguous object '%s' (%s)", argv[0], names);
	}
	if (!c)
		return cli_usage_err("unknown object '%s' (try 'cellctl help')", argv[0]);
	snprintf(cli.what, sizeof(cli.what), "%s", c->name);
	NEXT_ARG();
	return c->fn(argc, argv);
}

/* A global option at argv[*i]: consume it (and its value). Returns 1, 0 (not one), -1 (bad). */
static int global_opt(int argc, char **argv, int *i)
{
	static const char *const valued[] = { "-s",	     "--socket",  "--pin-dir",
					      "--state-dir", "--timeout", NULL };
	const char *w = argv[*i], *val = NULL, *name = NULL;
	size_t k, len;
	uint64_t ms;

	if (!strcmp(w, "--json")) {
		cli.json = true;
		return 1;
	}
	if (!strcmp(w, "--pretty") ||
	    (w[0] == '-' && w[1] && strspn(w + 1, "jp") == strlen(w + 1))) {
		cli.json = true; /* -p implies -j */
		cli.pretty = cli.pretty || strchr(w + 1, 'p');
		return 1;
	}
	for (k = 0; valued[k]; k++) {
		len = strlen(valued[k]);
		if (!strncmp(w, valued[k], len) && (w[len] == '\0' || w[len] == '=')) {
			name = valued[k];
			if (w[len] == '=') {
				val = w + len + 1;
			} else if (*i + 1 < argc) {
				val = argv[++*i];
			} else {
				cli_usage_err("%s needs a value", name);
				return -1;
			}
			break;
		}
	}
	if (!name)
		return 0;
	if (!val[0]) {
		cli_usage_err("%s needs a value", name);
		return -1;
	}
	if (!strcmp(name, "-s") || !strcmp(name, "--socket")) {
		cli.sock = val;
	} else if (!strcmp(name, "--pin-dir")) {
		cli.pin_dir = val;
	} else if (!strcmp(name, "--state-dir")) {
		cli.state_dir = val;
	} else {
		if (cli_parse_u64("--timeout", val, 1, CLI_MAX_TIMEOUT_MS, &ms))
			return -1;
		cli.timeout_ms = (int)ms;
	}
	return 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	fputs("cellctl: libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

static FILE *raw_stdout, *raw_stderr; /* the streams the escaping ones write to */

/* At exit (any exit): flush and close the escaping streams, back to the raw ones. */
static void close_escaped(void)
{
	FILE *f;

	if (raw_stdout) {
		f = stdout;
		stdout = raw_stdout;
		fclose(f);
	}
	if (raw_stderr) {
		f = stderr;
		stderr = raw_stderr;
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	FILE *out, *errs;
	char **words;
	int i, n = 0, ret;

	/*
	 * Everything cellctl prints goes through cg_escape (text.h): a name, a
	 * reason or a file name the daemon or a file sent cannot reach the
	 * terminal raw. Arguments must be UTF-8 text, as the protocol is.
	 */
	out = cg_escape_stream(stdout, 0);
	errs = cg_escape_stream(stderr, 0);
	if (out) {
		raw_stdout = stdout;
		stdout = out;
	}
	if (errs) {
		setvbuf(errs, NULL, _IOLBF, 0);
		raw_stderr = stderr;
		stderr = errs;
	}
	atexit(close_escaped);
	for (i = 1; i < argc; i++) {
		char why[96], q[CG_SHOW_TEXT_MAX];
		size_t off;

		if (cg_text_check(argv[i], strlen(argv[i]), 0, &off, why, sizeof(why)))
			return cli_usage_err("argument %d '%s': %s at byte %zu is not allowed", i,
					     cg_show(argv[i], q, sizeof(q)), why, off);
	}
	cli.sock = CG_CTL_DEFAULT_PATH;
	cli.pin_dir = CG_DP_PIN_DIR;
	cli.state_dir = CG_STATE_DIR;
	libbpf_set_print(libbpf_print);

	/* global options may appear anywhere before "--"; the rest is the command */
	words = calloc((size_t)argc + 1, sizeof(*words));
	if (!words)
		return cli_err("%s", strerror(ENOMEM));
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (++i < argc)
				words[n++] = argv[i];
			break;
		}
		ret = global_opt(argc, argv, &i);
		if (ret < 0) {
			free(words);
			return CLI_USAGE;
		}
		if (!ret)
			words[n++] = argv[i];
	}
	if (n < 1) {
		free(words);
		return cli_usage_err("missing OBJECT (try 'cellctl help')");
	}
	if (!strcmp(words[0], "-h") || !strcmp(words[0], "--help"))
		ret = do_help(0, NULL);
	else if (words[0][0] == '-')
		ret = cli_usage_err("unknown option '%s' (try 'cellctl help')", words[0]);
	else
		ret = run_object(n, words);
	cli_local_free();
	free(words);
	return ret;
}
