// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_shed.c - cellctl shed: the shed levels per cell and class, who set them, their drops */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cellgate/config.h"
#include "cellgate/names.h"
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

/* The age of a report: "0.4s ago", "12s ago", "never". */
static const char *age(const json_t *ms, char *buf, size_t len)
{
	json_int_t v;

	if (!json_is_integer(ms))
		return "never";
	v = json_integer_value(ms);
	if (v < 10000)
		snprintf(buf, len, "%lld.%llds ago", (long long)(v / 1000),
			 (long long)(v % 1000 / 100));
	else
		snprintf(buf, len, "%llds ago", (long long)(v / 1000));
	return buf;
}

/* A controller level's REASON: the inputs it came from. */
static void inputs(const json_t *in, char *buf, size_t len)
{
	char a[48];

	if (json_object_get(in, "max_spill_cost")) { /* the locality policy's */
		snprintf(buf, len, "region %s costs %llu, over the class's max_spill_cost %llu",
			 cli_str(in, "region"), (unsigned long long)cli_u64(in, "cost"),
			 (unsigned long long)cli_u64(in, "max_spill_cost"));
		return;
	}
	snprintf(buf, len, "load %s (last %s), target %s, ladder %s, report %s%s",
		 cli_str(in, "load"), cli_str(in, "last_report"), cli_str(in, "target"),
		 cli_str(in, "ladder"), age(json_object_get(in, "report_age_ms"), a, sizeof(a)),
		 json_is_true(json_object_get(in, "stale")) ? ", stale" : "");
}

/* The refusals of a cell or of all: "source 3, replayed 2" or "0". */
static void refusals(const json_t *refused, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t o = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)refused, k, v) {
		if (!json_integer_value(v) || o >= len)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s %lld", o ? ", " : "", k,
				      (long long)json_integer_value(v));
	}
	if (!o)
		snprintf(buf, len, "0");
}

/* The controller's line, and what manual mode would do; nothing if it has nothing to say. */
static void print_controller(const json_t *ctl)
{
	const json_t *cells = json_object_get(ctl, "cells"), *c;
	char ref[256];
	bool other = false;
	size_t i;

	json_array_foreach(cells, i, c)
		other |= strcmp(cli_str(c, "mode"), "auto") != 0;
	if (!json_is_object(ctl) || (!cli_u64(ctl, "report_port") && !other))
		return;
	refusals(json_object_get(ctl, "refused"), ref, sizeof(ref));
	printf("\ncontroller: mode %s, ", cli_str(ctl, "mode"));
	if (cli_u64(ctl, "report_port"))
		printf("reports on udp port %llu (%s), accepted %llu, refused %s\n",
		       (unsigned long long)cli_u64(ctl, "report_port"),
		       json_is_true(json_object_get(ctl, "signed")) ? "signed" : "not signed",
		       (unsigned long long)cli_u64(ctl, "accepted"), ref);
	else
		printf("no reports (report_port 0)\n");
	if (cli_str(ctl, "key_error")[0])
		printf("controller: %s: every report is refused\n", cli_str(ctl, "key_error"));
	json_array_foreach(cells, i, c) {
		const char *k;
		json_t *v;

		if (strcmp(cli_str(c, "mode"), "auto"))
			printf("controller: cell %s is in mode %s\n", cli_str(c, "cell"),
			       cli_str(c, "mode"));
		json_object_foreach(json_object_get(c, "would_shed"), k, v)
			printf("manual: cell %s class %s would be shed at %s (load %s, target %s), "
			       "not applied\n",
			       cli_str(c, "cell"), k, json_string_value(v), cli_str(c, "load"),
			       cli_str(c, "target"));
	}
}

/* A smoothed rate a second: "1234.5", "-" until measured. */
static const char *rate(const json_t *v, char *buf, size_t len)
{
	if (!json_is_number(v))
		return "-";
	snprintf(buf, len, "%.1f", json_number_value(v));
	return buf;
}

/* shed show --signals, the interfaces: their smoothed receive rate and drops. */
static void print_links(const json_t *links)
{
	static const bool right[] = { 0, 1, 1, 0 };
	const char *row[4];
	char p[32], dr[32];
	struct cli_table *t;
	const json_t *l;
	size_t i;

	if (!json_array_size(links))
		return;
	t = cli_table_new(4, right);
	cli_table_row(t, (const char *const[]){ "INTERFACE", "RX PKTS/S", "RX DROPS/S", "ERROR" });
	json_array_foreach(links, i, l) {
		row[0] = cli_str(l, "name");
		row[1] = rate(json_object_get(l, "rx_packets"), p, sizeof(p));
		row[2] = rate(json_object_get(l, "rx_drops"), dr, sizeof(dr));
		row[3] = cli_str(l, "error")[0] ? cli_str(l, "error") : NULL;
		cli_table_row(t, row);
	}
	putchar('\n');
	cli_table_print(t);
}

/* shed show --signals: the controller's view of every cell. */
static void print_signals(const json_t *ctl)
{
	static const bool right[] = { 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1 };
	const json_t *c, *lb;
	const char *row[14];
	char a[48], n[16], ref[256], nf[32], pk[32], rt[32];
	struct cli_table *t;
	size_t i;

	t = cli_table_new(14, right);
	cli_table_row(t, (const char *const[]){ "CELL", "MODE", "LOAD", "LAST", "TARGET", "LADDER",
						"REPORT", "STALE", "ACCEPTED", "REFUSED", "NEW/S",
						"PKTS/S", "RETRIES/S", "RETRY" });
	json_array_foreach(json_object_get(ctl, "cells"), i, c) {
		refusals(json_object_get(c, "refused"), ref, sizeof(ref));
		row[0] = cli_str(c, "cell");
		row[1] = cli_str(c, "mode");
		row[2] = cli_str(c, "load");
		row[3] = cli_str(c, "last_report");
		row[4] = cli_str(c, "target");
		row[5] = cli_str(c, "ladder");
		row[6] = age(json_object_get(c, "report_age_ms"), a, sizeof(a));
		row[7] = json_is_true(json_object_get(c, "stale")) ? "yes" : "no";
		row[8] = cli_count(cli_u64(c, "accepted"), n, sizeof(n));
		row[9] = ref;
		lb = json_object_get(c, "lb");
		row[10] = rate(json_object_get(lb, "new_flows"), nf, sizeof(nf));
		row[11] = rate(json_object_get(lb, "packets"), pk, sizeof(pk));
		row[12] = rate(json_object_get(lb, "syn_retries"), rt, sizeof(rt));
		row[13] = json_is_string(json_object_get(lb, "syn_retry_ratio")) ?
				  cli_str(lb, "syn_retry_ratio") :
				  "-";
		cli_table_row(t, row);
	}
	cli_table_print(t);
	print_links(json_object_get(ctl, "interfaces"));
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
		const json_t *in = json_object_get(l, "inputs");
		char why[128];

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
		if (in) {
			inputs(in, why, sizeof(why));
			row[8] = why;
		}
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
	enum { O_SIGNALS, O_MAX };
	struct cli_opt o[] = {
		[O_SIGNALS] = { .name = "--signals", .flag = true },
		[O_MAX] = { .name = NULL },
	};
	const json_t *levels, *counters, *entries, *e, *ctl;
	json_t *shed;
	size_t i;
	int ret;

	ret = cli_parse_opts(argc, argv, o);
	if (ret)
		return ret;
	ret = cli_read("shed.show", local_shed, &shed);
	if (ret)
		return ret;
	if (cli.json) {
		ret = cli_json_out(shed);
		json_decref(shed);
		return ret;
	}
	ctl = json_object_get(shed, "controller");
	if (o[O_SIGNALS].val) {
		if (json_is_object(ctl))
			print_signals(ctl);
		else
			printf("no controller: cellgated is not running\n");
		json_decref(shed);
		return CLI_OK;
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
	print_controller(ctl);
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

static int do_mode(int argc, char **argv)
{
	enum { O_CELL, O_SERVICE, O_DRY, O_MAX };
	struct cli_opt o[] = {
		[O_CELL] = { .name = "--cell" },
		[O_SERVICE] = { .name = "--service" },
		[O_DRY] = { .name = "--dry-run", .flag = true },
		[O_MAX] = { .name = NULL },
	};
	const char *mode;
	json_t *args, *reply;
	bool dry, one;
	int ret;

	ret = cli_name_opts(argc, argv, &mode, o);
	if (ret)
		return ret;
	if (o[O_CELL].val && o[O_SERVICE].val)
		return cli_usage_err("give either --cell or --service");
	one = o[O_CELL].val || o[O_SERVICE].val;
	if (!cli_check_enum("mode", mode, one ? cg_bp_own_mode_names : cg_bp_mode_names))
		return CLI_USAGE;
	if ((o[O_CELL].val && !cli_check_name("--cell", o[O_CELL].val)) ||
	    (o[O_SERVICE].val && !cli_check_name("--service", o[O_SERVICE].val)))
		return CLI_USAGE;
	args = json_pack("{s:s}", "mode", mode);
	if (!args)
		return cli_err("out of memory");
	if (o[O_CELL].val)
		json_object_set_new(args, "cell", json_string(o[O_CELL].val));
	if (o[O_SERVICE].val)
		json_object_set_new(args, "service", json_string(o[O_SERVICE].val));
	dry = cli_change_flags(&o[O_DRY], NULL, args);
	ret = cli_call("shed.mode", args, &reply);
	if (ret)
		return ret;
	ret = cli_print_changes(reply, dry);
	json_decref(reply);
	return ret;
}

static const struct cli_cmd cmds[] = {
	{ "show", do_show, "[show] [--signals]",
	  "The level that applies to each cell and class (LEVEL: fraction of new flows\n"
	  "refused; HARD: of established flows' packets dropped), who set it (SOURCE,\n"
	  "FOR: the cell or '*', BY, REASON; the controller's levels with the inputs\n"
	  "that set them) and the time LEFT; then the drops of each cell and class by\n"
	  "reason, and the controller: reports accepted and refused, cells not in auto\n"
	  "mode, what manual mode would shed.\n\n"
	  "  --signals         the controller's view of each cell instead: MODE, LOAD\n"
	  "                    (smoothed), LAST report, TARGET, LADDER position, age of\n"
	  "                    the last REPORT, STALE, reports ACCEPTED and REFUSED\n"
	  "                    by reason, and the LB's own view, smoothed: NEW/S new\n"
	  "                    flows and PKTS/S packets a second to the cell,\n"
	  "                    RETRIES/S SYN retries of the services it serves and\n"
	  "                    RETRY, their share of those services' new flows ('-':\n"
	  "                    not measured yet); then each interface's RX PKTS/S and\n"
	  "                    RX DROPS/S\n" },
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
	{ "mode", do_mode, "mode auto|manual|off|default [--cell CELL | --service S] [--dry-run]",
	  "Set the backpressure controller's mode: for every cell (backpressure.mode),\n"
	  "or for one cell or one service's cells ('default': follow what is set above).\n"
	  "auto: it moves the shed levels; manual: it computes and shows what it would do\n"
	  "(shed show), applies nothing; off: it ignores the cell. A cell's own mode wins,\n"
	  "then the most cautious of its services' (off, manual, auto). Persisted.\n\n"
	  "  --cell CELL       only this cell\n"
	  "  --service S       only the cells of this service\n"
	  "  --dry-run         show the change, make none\n" },
	{ NULL, NULL, NULL, NULL },
};

int do_shed(int argc, char **argv)
{
	return cli_dispatch("shed", cmds, "show", argc, argv);
}
