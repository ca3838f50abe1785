// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cellctl.c - the operator's CLI: global options, dispatch, output, daemon calls and fallback */
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
#include "cellctl.h"

#define CLI_STATE_DIR	   "/var/lib/cellgate" /* cellgated's default --state-dir */
#define CLI_STATE_FILE	   "state.yaml"	       /* the desired state inside it */
#define CLI_MAX_TIMEOUT_MS 3600000	       /* --timeout ceiling: an hour */

struct cli cli = {
	.timeout_ms = CG_CTL_DEFAULT_TIMEOUT_MS,
};

static struct cli_local *local_view; /* loaded by the first fallback */

/* ---- messages ---- */

static void vreport(const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cli.json) {
		json_t *o = json_pack("{s:s}", "error", msg);

		fflush(stdout);
		if (o)
			cli_json_out(o);
		json_decref(o);
		return;
	}
	fflush(stdout);
	fprintf(stderr, "cellctl: %s\n", msg);
}

int cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	return CLI_FAIL;
}

int cli_usage_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli.what[0])
		cli_err("%s: %s", cli.what, msg);
	else
		cli_err("%s", msg);
	return CLI_USAGE;
}

void cli_note(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("cellctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_json_out(const json_t *v)
{
	size_t flags = JSON_ENCODE_ANY | (cli.pretty ? JSON_INDENT(2) : JSON_COMPACT);

	if (json_dumpf(v, stdout, flags) || fputc('\n', stdout) == EOF || fflush(stdout)) {
		fprintf(stderr, "cellctl: cannot write the output: %s\n", strerror(errno));
		return CLI_FAIL;
	}
	return CLI_OK;
}

/* ---- help and dispatch ---- */

static const char global_usage[] =
	"Options (anywhere on the line):\n"
	"  -j, --json         print JSON: the daemon's result, stable (docs/cli.md)\n"
	"  -p, --pretty       print indented JSON (implies -j)\n"
	"  -s, --socket SOCK  cellgated's control socket (" CG_CTL_DEFAULT_PATH ")\n"
	"  --pin-dir DIR      the pinned maps, read when cellgated is down\n"
	"                     (" CG_DP_PIN_DIR ")\n"
	"  --state-dir DIR    the persisted state, read when cellgated is down\n"
	"                     (" CLI_STATE_DIR ")\n"
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

/* ---- arguments ---- */

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

/* A character of a name: ASCII letters and digits, '.', '_', '-'. */
static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool cli_check_name(const char *what, const char *text)
{
	size_t len = strlen(text), i;

	if (!len || len >= CG_NAME_MAX) {
		cli_usage_err("bad %s '%.40s': must be 1..%d characters", what, text,
			      CG_NAME_MAX - 1);
		return false;
	}
	for (i = 0; i < len && name_char(text[i]); i++)
		;
	if (i < len || !name_char(text[0]) || text[0] == '.' || text[0] == '_' || text[0] == '-') {
		cli_usage_err("bad %s '%s': letters, digits, '.', '_' and '-', the first a letter "
			      "or digit",
			      what, text);
		return false;
	}
	return true;
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
	unsigned char buf[16];

	if (inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1)
		return true;
	cli_usage_err("bad %s '%s': not an IPv4 or IPv6 address", opt, text);
	return false;
}

bool cli_check_word(const char *opt, const char *text, const char *const *words)
{
	char list[128];
	size_t i, used = 0;

	for (i = 0; words[i]; i++)
		if (!strcmp(text, words[i]))
			return true;
	list[0] = '\0';
	for (i = 0; words[i] && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
					 words[i]);
	cli_usage_err("bad %s '%s' (%s)", opt, text, list);
	return false;
}

/* ---- the daemon ---- */

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
	snprintf(loc->state_path, sizeof(loc->state_path), "%s/%s", cli.state_dir, CLI_STATE_FILE);
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

static void local_free(void)
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

/* ---- output helpers ---- */

struct cli_table {
	size_t ncols; /* columns */
	bool *right;  /* right-aligned columns */
	char **cells; /* nrows * ncols strings, row-major */
	size_t nrows; /* rows, the header included */
	size_t cap;   /* rows allocated */
};

struct cli_table *cli_table_new(size_t ncols, const bool *right)
{
	struct cli_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->right = calloc(ncols, sizeof(*t->right));
	if (!t->right) {
		free(t);
		return NULL;
	}
	if (right)
		memcpy(t->right, right, ncols * sizeof(*right));
	return t;
}

void cli_table_row(struct cli_table *t, const char *const *cells)
{
	char **grown;
	size_t i;

	if (!t)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;

		grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));
		if (!grown)
			return;
		t->cells = grown;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "-");
	t->nrows++;
}

void cli_table_print(struct cli_table *t)
{
	size_t *width, r, c;

	if (!t)
		return;
	width = calloc(t->ncols, sizeof(*width));
	for (r = 0; width && r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t len = s ? strlen(s) : 0;

			if (len > width[c])
				width[c] = len;
		}
	for (r = 0; width && r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			bool last = c + 1 == t->ncols;

			if (!s)
				s = "";
			if (t->right[c])
				printf("%*s", (int)width[c], s);
			else if (last)
				printf("%s", s);
			else
				printf("%-*s", (int)width[c], s);
			if (!last)
				printf("  ");
		}
		putchar('\n');
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(width);
	free(t->cells);
	free(t->right);
	free(t);
}

/* n scaled by step with the prefixes of units: one decimal below 100 ("12.3k"), none above. */
static const char *scaled(double n, double step, const char *const *units, const char *sep,
			  const char *unit, char *buf, size_t len)
{
	size_t i = 0;

	/* step - 0.5: what would print as "1000k" is "1.0M" */
	while (n >= step - 0.5 && units[i + 1]) {
		n /= step;
		i++;
	}
	if (i == 0 && n == (double)(uint64_t)n)
		snprintf(buf, len, "%.0f%s%s%s", n, sep, units[i], unit);
	else if (n < 99.95)
		snprintf(buf, len, "%.1f%s%s%s", n, sep, units[i], unit);
	else
		snprintf(buf, len, "%.0f%s%s%s", n, sep, units[i], unit);
	return buf;
}

const char *cli_count(uint64_t n, char *buf, size_t len)
{
	static const char *const si[] = { "", "k", "M", "G", "T", "P", NULL };

	return scaled((double)n, 1000, si, "", "", buf, len);
}

const char *cli_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const iec[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", NULL };

	return scaled((double)n, 1024, iec, "", "", buf, len);
}

const char *cli_rate(double per_s, const char *unit, char *buf, size_t len)
{
	static const char *const si[] = { "", "k", "M", "G", "T", NULL };

	if (per_s < 0)
		per_s = 0;
	return scaled(per_s, 1000, si, unit[0] == '/' ? "" : " ", unit, buf, len);
}

uint64_t cli_u64(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) :
								 0;
}

const char *cli_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

void cli_print_kv(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("%-14s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void cli_print_counter(const char *label, uint64_t n, bool bytes)
{
	char h[16];

	if (bytes)
		cli_bytes(n, h, sizeof(h));
	else
		cli_count(n, h, sizeof(h));
	if (!bytes && n < 1000)
		cli_print_kv(label, "%llu", (unsigned long long)n);
	else
		cli_print_kv(label, "%llu (%s)", (unsigned long long)n, h);
}

json_t *cli_find(const json_t *arr, const char *name)
{
	json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
		if (!strcmp(cli_str(e, "name"), name))
			return e;
	return NULL;
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

int cli_change_named(int argc, char **argv, const char *cmd)
{
	const char *name;
	json_t *reply;
	int ret;

	REQ_ARGS("NAME");
	name = *argv;
	NEXT_ARG();
	if (argc > 0)
		return BAD_ARG();
	if (!cli_check_name("NAME", name))
		return CLI_USAGE;
	ret = cli_call(cmd, json_pack("{s:s}", "name", name), &reply);
	if (ret)
		return ret;
	ret = cli_print_changes(reply, false);
	json_decref(reply);
	return ret;
}

int cli_print_changes(const json_t *reply, bool dry_run)
{
	const json_t *changes = json_object_get(reply, "changes"), *ch;
	const json_t *written = json_object_get(reply, "written");
	size_t i;

	if (cli.json)
		return cli_json_out(reply);
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
	return CLI_OK;
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

int main(int argc, char **argv)
{
	char **words;
	int i, n = 0, ret;

	cli.sock = CG_CTL_DEFAULT_PATH;
	cli.pin_dir = CG_DP_PIN_DIR;
	cli.state_dir = CLI_STATE_DIR;
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
	local_free();
	free(words);
	return ret;
}
