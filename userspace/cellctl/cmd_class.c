// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_class.c - cellctl class: list the priority classes, list, add and delete class rules */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/config.h"
#include "cellgate/view.h"
#include "cellctl.h"

static json_t *local_classes(struct cli_local *loc)
{
	return cg_view_classes(&loc->st);
}

static json_t *local_rules(struct cli_local *loc)
{
	return cg_view_rules(&loc->st);
}

/* A ceiling's cell: the number, or NULL ("-") for none. */
static const char *ceiling(const json_t *c, const char *key, char *buf, size_t len)
{
	if (!cli_u64(c, key))
		return NULL;
	snprintf(buf, len, "%llu", (unsigned long long)cli_u64(c, key));
	return buf;
}

static int do_list(int argc, char **argv)
{
	static const bool right[] = { 1, 0, 0, 1, 1, 1 };
	char id[16], flows[24], pkts[24], burst[24];
	const char *row[6];
	struct cli_table *t;
	json_t *classes, *c;
	size_t i;
	int ret;

	if (argc > 0)
		return BAD_ARG();
	ret = cli_read("class.list", local_classes, &classes);
	if (ret)
		return ret;
	if (cli.json) {
		ret = cli_json_out(classes);
		json_decref(classes);
		return ret;
	}
	t = cli_table_new(6, right);
	cli_table_row(t, (const char *const[]){ "ID", "NAME", "PROTECTED", "NEW-FLOWS/S", "PKTS/S",
						"BURST" });
	json_array_foreach(classes, i, c) {
		bool limited = cli_u64(c, "new_flows_per_sec") || cli_u64(c, "packets_per_sec");

		snprintf(id, sizeof(id), "%llu", (unsigned long long)cli_u64(c, "id"));
		row[0] = id;
		row[1] = cli_str(c, "name");
		row[2] = json_is_true(json_object_get(c, "protected")) ? "yes" : "no";
		row[3] = ceiling(c, "new_flows_per_sec", flows, sizeof(flows));
		row[4] = ceiling(c, "packets_per_sec", pkts, sizeof(pkts));
		/* a bucket's depth means nothing without a ceiling */
		row[5] = limited ? ceiling(c, "burst", burst, sizeof(burst)) : NULL;
		cli_table_row(t, row);
	}
	cli_table_print(t);
	json_decref(classes);
	return CLI_OK;
}

/* ---- rules ---- */

static int do_rule_list(int argc, char **argv)
{
	static const bool right[] = { 0, 0, 0 };
	char match[80], class[48];
	const char *row[3];
	struct cli_table *t;
	json_t *rules, *r;
	size_t i;
	int ret;

	if (argc > 0)
		return BAD_ARG();
	ret = cli_read("class.rule.list", local_rules, &rules);
	if (ret)
		return ret;
	if (cli.json) {
		ret = cli_json_out(rules);
		json_decref(rules);
		return ret;
	}
	if (!json_array_size(rules)) {
		printf("no class rules: every flow gets its service's default class\n");
		json_decref(rules);
		return CLI_OK;
	}
	t = cli_table_new(3, right);
	cli_table_row(t, (const char *const[]){ "KIND", "MATCH", "CLASS" });
	json_array_foreach(rules, i, r) {
		if (!strcmp(cli_str(r, "kind"), "dscp"))
			snprintf(match, sizeof(match), "%llu",
				 (unsigned long long)cli_u64(r, "dscp"));
		else
			snprintf(match, sizeof(match), "%s", cli_str(r, "prefix"));
		snprintf(class, sizeof(class), "%s (%llu)", cli_str(r, "class"),
			 (unsigned long long)cli_u64(r, "class_id"));
		row[0] = cli_str(r, "kind");
		row[1] = match;
		row[2] = class;
		cli_table_row(t, row);
	}
	cli_table_print(t);
	json_decref(rules);
	return CLI_OK;
}

/*
 * Check "ADDRESS/LENGTH" (IPv4 /0..32, IPv6 /0..128). Host bits are the
 * daemon's to refuse, in the config parser's words.
 */
static bool check_prefix(const char *text)
{
	char msg[256];
	struct cg_addr a;
	uint8_t len;

	if (!cg_prefix_split(text, &a, &len, msg, sizeof(msg)))
		return true;
	cli_usage_err("bad --prefix '%s': %s", text, msg);
	return false;
}

/* The match of add and del, checked, into args: {prefix} or {dscp}. */
static int rule_match(const struct cli_opt *prefix, const struct cli_opt *dscp, json_t *args)
{
	if (!!prefix->val == !!dscp->val)
		return cli_usage_err("give either --prefix or --dscp");
	if (prefix->val) {
		if (!check_prefix(prefix->val))
			return CLI_USAGE;
		json_object_set_new(args, "prefix", json_string(prefix->val));
		return CLI_OK;
	}
	return cli_field_arg(&cg_class_rule_obj, "dscp", "--dscp", dscp->val, args);
}

/* add and del: the options, the request, the changes. */
static int rule_change(int argc, char **argv, bool add)
{
	enum { O_PREFIX, O_DSCP, O_CLASS, O_MAX };
	struct cli_opt o[] = {
		[O_PREFIX] = { .name = "--prefix" },
		[O_DSCP] = { .name = "--dscp" },
		[O_CLASS] = { .name = add ? "--class" : NULL }, /* del: the table ends here */
		[O_MAX] = { .name = NULL },
	};
	json_t *args, *class, *reply;
	int ret;

	ret = cli_parse_opts(argc, argv, o);
	if (ret)
		return ret;
	args = json_object();
	if (!args)
		return cli_err("out of memory");
	ret = rule_match(&o[O_PREFIX], &o[O_DSCP], args);
	if (!ret && add && !o[O_CLASS].val)
		ret = cli_usage_err("missing --class");
	if (!ret && add) {
		class = cli_class_arg("--class", o[O_CLASS].val);
		if (class)
			json_object_set_new(args, "class", class);
		else
			ret = CLI_USAGE;
	}
	if (ret) {
		json_decref(args);
		return ret;
	}
	ret = cli_call(add ? "class.rule.add" : "class.rule.del", args, &reply);
	if (ret)
		return ret;
	ret = cli_print_changes(reply, false);
	json_decref(reply);
	return ret;
}

static int do_rule_add(int argc, char **argv)
{
	return rule_change(argc, argv, true);
}

static int do_rule_del(int argc, char **argv)
{
	return rule_change(argc, argv, false);
}

#define RULE_MATCH_OPTIONS                                                                   \
	"  --prefix A/LEN    source prefix, IPv4 or IPv6, host bits zero (198.18.11.0/24)\n" \
	"  --dscp N          DSCP value, 0..63 (EF is 46)\n"

static const struct cli_cmd rule_cmds[] = {
	{ "list", do_rule_list, "list",
	  "The class rules: the longest source prefix that matches a new flow gives its\n"
	  "class, else its DSCP value's rule, else the service's default class.\n" },
	{ "add", do_rule_add, "add (--prefix A/LEN | --dscp N) --class C",
	  "Add a rule: one per prefix, one per DSCP value.\n\n" RULE_MATCH_OPTIONS
	  "  --class C         the class it gives: a name or an id (0..7)\n" },
	{ "del", do_rule_del, "del (--prefix A/LEN | --dscp N)",
	  "Delete the rule for that prefix or DSCP value.\n\n" RULE_MATCH_OPTIONS },
	{ NULL, NULL, NULL, NULL },
};

static int do_rule(int argc, char **argv)
{
	return cli_dispatch("class rule", rule_cmds, "list", argc, argv);
}

static const struct cli_cmd cmds[] = {
	{ "list", do_list, "list",
	  "The priority classes (0 the most critical) and their ceilings; '-' is none.\n" },
	{ "rule", do_rule,
	  "rule [list]\nrule add (--prefix A/LEN | --dscp N) --class C\n"
	  "rule del (--prefix A/LEN | --dscp N)",
	  NULL }, /* no help: the rule table answers -h */
	{ NULL, NULL, NULL, NULL },
};

int do_class(int argc, char **argv)
{
	return cli_dispatch("class", cmds, "list", argc, argv);
}
