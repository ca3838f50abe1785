// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_shed.c - cellctl shed: the shed levels per cell and class, who set them, their drops */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cellgate/config.h"
#include "cellgate/view.h"
#include "cellgate/field.h"
#include "cellgate/text.h"
#include "cellctl.h"

#define SHED_MAX_TTL (366ULL * 86400) /* seconds: cellgated's ceiling on ttl_s */

static json_t *local_shed(struct cli_local *loc)
{
	/* no controller without the daemon: operator levels as of now */
	return cg_view_shed(&loc->st, NULL, loc->dp);
}

/* Time left as people say it: "45s", "9m59s", "2h", "1d3h". buf of 24. */
static const char *duration(int64_t s, char *buf, size_t len)
{
	static const struct {
		int64_t secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	size_t i, used = 0, parts = 0;

	buf[0] = '\0';
	/* the two largest units are precise enough for a deadline people read */
	for (i = 0; i < 4 && parts < 2 && used < len; i++) {
		if (s < units[i].secs && !parts)
			continue;
		if (s / units[i].secs)
			used += (size_t)snprintf(buf + used, len - used, "%lld%c",
						 (long long)(s / units[i].secs), units[i].unit);
		s %= units[i].secs;
		parts++;
	}
	return buf;
}

/* The LEFT cell of a level: "9m59s", "permanent", "expired" or "-" (not an operator's). */
static const char *left(const json_t *l, char *buf, size_t len)
{
	const json_t *in = json_object_get(l, "expires_in_s");

	if (strcmp(cli_str(l, "source"), "operator"))
		return NULL;
	if (json_is_null(in))
		return "permanent";
	if (!json_is_integer(in) || json_integer_value(in) <= 0)
		return "expired";
	return duration(json_integer_value(in), buf, len);
}

static void print_levels(const json_t *levels)
{
	static const bool right[] = { 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	const char *row[9], *hard;
	struct cli_table *t;
	char buf[24];
	json_t *l;
	size_t i;

	t = cli_table_new(9, right);
	cli_table_row(t, (const char *const[]){ "CELL", "CLASS", "LEVEL", "HARD", "SOURCE", "FOR",
						"BY", "LEFT", "REASON" });
	json_array_foreach(levels, i, l) {
		hard = cli_str(l, "hard_level");
		row[0] = cli_str(l, "cell");
		row[1] = cli_str(l, "class");
		row[2] = cli_str(l, "level");
		row[3] = strcmp(hard, "0") ? hard : NULL;
		row[4] = cli_str(l, "source");
		row[5] = json_object_get(l, "set_for") ? cli_str(l, "set_for") : NULL;
		row[6] = json_object_get(l, "by") ? cli_str(l, "by") : NULL;
		row[7] = left(l, buf, sizeof(buf));
		row[8] = cli_str(l, "reason")[0] ? cli_str(l, "reason") : NULL;
		cli_table_row(t, row);
	}
	cli_table_print(t);
}

static void print_drops(const json_t *counters)
{
	static const bool right[] = { 0, 0, 1, 1, 1, 1 };
	static const char *const keys[] = { "shed", "shed_hard", "ceiling", "guard" };
	char buf[4][16];
	const char *row[6];
	struct cli_table *t;
	json_t *c;
	size_t i, k;

	t = cli_table_new(6, right);
	cli_table_row(t, (const char *const[]){ "CELL", "CLASS", "SHED", "SHED HARD", "CEILING",
						"GUARD" });
	json_array_foreach(counters, i, c) {
		row[0] = cli_str(c, "cell");
		row[1] = cli_str(c, "class");
		for (k = 0; k < 4; k++)
			row[2 + k] = cli_count(cli_u64(c, keys[k]), buf[k], sizeof(buf[k]));
		cli_table_row(t, row);
	}
	cli_table_print(t);
}

static int do_show(int argc, char **argv)
{
	const json_t *levels, *counters, *entries, *e;
	json_t *shed;
	size_t i;
	int ret;

	if (argc > 0)
		return BAD_ARG();
	ret = cli_read("shed.show", local_shed, &shed);
	if (ret)
		return ret;
	if (cli.json) {
		ret = cli_json_out(shed);
		json_decref(shed);
		return ret;
	}
	levels = json_object_get(shed, "levels");
	counters = json_object_get(shed, "counters");
	entries = json_object_get(shed, "entries");
	if (!json_array_size(levels) && !json_array_size(counters))
		printf("no shedding\n");
	else if (json_array_size(levels))
		print_levels(levels);
	else
		printf("no shed levels\n");
	/*
	 * Entries past their expiry that the state still holds. Without the
	 * daemon the maps keep such a level (fail-static) until it runs again.
	 */
	json_array_foreach(entries, i, e)
		if (json_is_true(json_object_get(e, "expired")))
			printf("expired: %s/%s level %s set by %s, %s\n", cli_str(e, "cell"),
			       cli_str(e, "class"), cli_str(e, "level"), cli_str(e, "by"),
			       json_object_get(shed, "source") ?
				       "still in the data plane until cellgated runs" :
				       "no longer applied");
	if (json_array_size(counters)) {
		putchar('\n');
		print_drops(counters);
	}
	json_decref(shed);
	return CLI_OK;
}

/* A --cell: a cell name or "*", every cell. */
static bool check_cell(const char *text)
{
	return !strcmp(text, CG_SHED_ANY_CELL) || cli_check_name("--cell", text);
}

/*
 * "by": cellgated records who asked from the socket's credentials; cellctl
 * only adds, as a claim, the person sudo ran it for (SUDO_USER), if any.
 */
static void setter(char *buf, size_t len)
{
	const char *su = getenv("SUDO_USER");

	snprintf(buf, len, "%s", su && cg_name_valid(su) ? su : "");
}

static int do_set(int argc, char **argv)
{
	enum { O_CELL, O_CLASS, O_LEVEL, O_HARD, O_TTL, O_PERMANENT, O_REASON, O_MAX };
	struct cli_opt o[] = {
		[O_CELL] = { .name = "--cell" },
		[O_CLASS] = { .name = "--class" },
		[O_LEVEL] = { .name = "--level" },
		[O_HARD] = { .name = "--hard", .flag = true },
		[O_TTL] = { .name = "--ttl" },
		[O_PERMANENT] = { .name = "--permanent", .flag = true },
		[O_REASON] = { .name = "--reason" },
		[O_MAX] = { .name = NULL },
	};
	static const char *const need[] = { "--cell", "--class", "--level" };
	char by[CG_SHED_BY_MAX], why[64];
	json_t *args, *class, *reply;
	uint64_t ttl = 0;
	uint32_t ppm;
	size_t i;
	int ret;

	ret = cli_parse_opts(argc, argv, o);
	if (ret)
		return ret;
	for (i = 0; i < 3; i++)
		if (!o[i].val)
			return cli_usage_err("missing %s", need[i]);
	if (!check_cell(o[O_CELL].val))
		return CLI_USAGE;
	switch (cg_level_parse(o[O_LEVEL].val, &ppm)) {
	case 0:
		break;
	case -ERANGE:
		return cli_usage_err("bad --level '%s': must be 0..1", o[O_LEVEL].val);
	case -EDOM:
		return cli_usage_err("bad --level '%s': at most %d decimals", o[O_LEVEL].val,
				     CG_LEVEL_DECIMALS);
	default:
		return cli_usage_err("bad --level '%s': not a decimal from 0 to 1 (0.25)",
				     o[O_LEVEL].val);
	}
	if (o[O_TTL].val && o[O_PERMANENT].val)
		return cli_usage_err("give either --ttl or --permanent");
	if (o[O_TTL].val && cli_parse_duration("--ttl", o[O_TTL].val, SHED_MAX_TTL, &ttl))
		return CLI_USAGE;
	if (o[O_REASON].val && strlen(o[O_REASON].val) >= CG_SHED_REASON_MAX)
		return cli_usage_err("bad --reason: longer than %d bytes", CG_SHED_REASON_MAX - 1);
	if (o[O_REASON].val &&
	    cg_text_check(o[O_REASON].val, strlen(o[O_REASON].val), 0, &i, why, sizeof(why)))
		return cli_usage_err("bad --reason: %s at byte %zu is not allowed", why, i);
	class = cli_class_arg("--class", o[O_CLASS].val);
	if (!class)
		return CLI_USAGE;
	setter(by, sizeof(by));
	/* the level as text: cellgated reads it exactly, no floating point on the way */
	args = json_pack("{s:s, s:o, s:s, s:b, s:s, s:s}", "cell", o[O_CELL].val, "class", class,
			 "level", o[O_LEVEL].val, "hard", o[O_HARD].val != NULL, "by", by, "reason",
			 o[O_REASON].val ? o[O_REASON].val : "");
	if (!args)
		return cli_err("out of memory");
	if (o[O_PERMANENT].val)
		json_object_set_new(args, "permanent", json_true());
	else if (ttl)
		json_object_set_new(args, "ttl_s", json_integer((json_int_t)ttl));
	ret = cli_call("shed.set", args, &reply);
	if (ret)
		return ret;
	ret = cli_print_changes(reply, false);
	json_decref(reply);
	return ret;
}

static int do_clear(int argc, char **argv)
{
	enum { O_CELL, O_CLASS, O_MAX };
	struct cli_opt o[] = {
		[O_CELL] = { .name = "--cell" },
		[O_CLASS] = { .name = "--class" },
		[O_MAX] = { .name = NULL },
	};
	json_t *args, *class, *reply;
	int ret;

	ret = cli_parse_opts(argc, argv, o);
	if (ret)
		return ret;
	if (o[O_CELL].val && !check_cell(o[O_CELL].val))
		return CLI_USAGE;
	args = json_object();
	if (!args)
		return cli_err("out of memory");
	if (o[O_CELL].val)
		json_object_set_new(args, "cell", json_string(o[O_CELL].val));
	if (o[O_CLASS].val) {
		class = cli_class_arg("--class", o[O_CLASS].val);
		if (!class) {
			json_decref(args);
			return CLI_USAGE;
		}
		json_object_set_new(args, "class", class);
	}
	ret = cli_call("shed.clear", args, &reply);
	if (ret)
		return ret;
	ret = cli_print_changes(reply, false);
	json_decref(reply);
	return ret;
}

static const struct cli_cmd cmds[] = {
	{ "show", do_show, "[show]",
	  "The level that applies to each cell and class (LEVEL: fraction of new flows\n"
	  "refused; HARD: of established flows' packets dropped), who set it (SOURCE,\n"
	  "FOR: the cell or '*', BY, REASON) and the time LEFT; then the drops of each\n"
	  "cell and class by reason.\n" },
	{ "set", do_set,
	  "set --cell CELL --class C --level P [--hard] [--ttl T | --permanent]\n"
	  "    [--reason TEXT]",
	  "Set an operator level for a cell (or '*': every cell without its own level)\n"
	  "and a class, replacing the one it had. It wins over the controller's, and\n"
	  "applies to protected classes too.\n\n"
	  "  --cell CELL       a cell, or '*' (quoted) for every cell\n"
	  "  --class C         a class name or id (0..7)\n"
	  "  --level P         fraction of the class's new flows refused: 0..1, at most\n"
	  "                    6 decimals (0.25)\n"
	  "  --hard            also drop that fraction of established flows' packets\n"
	  "  --ttl T           expires after T: 30s, 10m, 2h, 1d or seconds (default 10m)\n"
	  "  --permanent       never expires (clear it with 'cellctl shed clear')\n"
	  "  --reason TEXT     why, kept with the level (at most 127 bytes)\n"
	  "Who set it is recorded from the socket's credentials: 'uid UID (USER)'.\n" },
	{ "clear", do_clear, "clear [--cell CELL] [--class C]",
	  "Remove operator levels: all of them, or those set for the cell ('*' for the\n"
	  "every-cell entries) and/or the class given.\n\n"
	  "  --cell CELL       only the levels set for this cell, or '*'\n"
	  "  --class C         only the levels of this class (name or id)\n" },
	{ NULL, NULL, NULL, NULL },
};

int do_shed(int argc, char **argv)
{
	return cli_dispatch("shed", cmds, "show", argc, argv);
}
