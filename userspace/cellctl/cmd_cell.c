// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_cell.c - cellctl cell: list, show, add, set and delete cells */
#include <stdio.h>
#include <string.h>

#include "cellgate/config.h"
#include "cellgate/view.h"
#include "cellctl.h"

static const char *const encaps[] = { "gue", "ipip", NULL };
static const char *const states[] = { "active", "draining", "down", NULL };

/* The options of add and set, in this order. */
enum { O_REGION, O_GATEWAY, O_ENCAP, O_GUE_PORT, O_WEIGHT, O_CAPACITY, O_STATE, O_MAX };

static json_t *local_cells(struct cli_local *loc)
{
	return cg_view_cells(&loc->st, loc->dp);
}

/* The cells, from cellgated or the pins. */
static int get_cells(json_t **cells)
{
	return cli_read("cell.list", local_cells, cells);
}

#define CELL_COLS 12 /* columns of cell list */

static void cell_row(struct cli_table *t, const json_t *c)
{
	char id[16], encap[24], weight[16], cap[16], pkts[16], bytes[16], drops[16];
	const char *row[CELL_COLS];
	const json_t *dp = json_object_get(c, "dataplane");
	bool counted = json_object_get(c, "packets") != NULL;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)cli_u64(c, "id"));
	if (!strcmp(cli_str(c, "encap"), "gue"))
		snprintf(encap, sizeof(encap), "gue:%llu",
			 (unsigned long long)cli_u64(c, "gue_port"));
	else
		snprintf(encap, sizeof(encap), "%s", cli_str(c, "encap"));
	snprintf(weight, sizeof(weight), "%llu", (unsigned long long)cli_u64(c, "weight"));
	snprintf(cap, sizeof(cap), "%llu", (unsigned long long)cli_u64(c, "capacity"));
	row[0] = cli_str(c, "name");
	row[1] = id;
	row[2] = cli_str(c, "region");
	row[3] = cli_str(c, "gateway");
	row[4] = encap;
	row[5] = weight;
	row[6] = cli_u64(c, "capacity") ? cap : NULL;
	row[7] = cli_str(c, "state");
	row[8] = dp ? cli_str(dp, "state") : NULL; /* NULL prints "-": nothing pinned */
	row[9] = counted ? cli_count(cli_u64(c, "packets"), pkts, sizeof(pkts)) : NULL;
	row[10] = counted ? cli_bytes(cli_u64(c, "bytes"), bytes, sizeof(bytes)) : NULL;
	row[11] = counted ? cli_count(cli_u64(c, "drops"), drops, sizeof(drops)) : NULL;
	cli_table_row(t, row);
}

static int do_list(int argc, char **argv)
{
	static const bool right[] = { 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1 };
	struct cli_table *t;
	json_t *cells, *c;
	size_t i;
	int ret;

	if (argc > 0)
		return BAD_ARG();
	ret = get_cells(&cells);
	if (ret)
		return ret;
	if (cli.json) {
		ret = cli_json_out(cells);
		json_decref(cells);
		return ret;
	}
	t = cli_table_new(CELL_COLS, right);
	cli_table_row(t, (const char *const[]){ "NAME", "ID", "REGION", "GATEWAY", "ENCAP",
						"WEIGHT", "CAPACITY", "STATE", "DP", "PACKETS",
						"BYTES", "DROPS" });
	json_array_foreach(cells, i, c)
		cell_row(t, c);
	cli_table_print(t);
	json_decref(cells);
	return CLI_OK;
}

static int do_show(int argc, char **argv)
{
	const json_t *dp;
	json_t *cells, *c;
	int ret;

	ret = cli_show_one(argc, argv, "cell", "cell.list", local_cells, &cells, &c);
	if (ret || !cells)
		return ret;
	cli_print_kv("name:", "%s", cli_str(c, "name"));
	cli_print_kv("id:", "%llu", (unsigned long long)cli_u64(c, "id"));
	cli_print_kv("region:", "%s", cli_str(c, "region"));
	cli_print_kv("gateway:", "%s", cli_str(c, "gateway"));
	if (!strcmp(cli_str(c, "encap"), "gue"))
		cli_print_kv("encap:", "gue, port %llu",
			     (unsigned long long)cli_u64(c, "gue_port"));
	else
		cli_print_kv("encap:", "%s", cli_str(c, "encap"));
	cli_print_kv("weight:", "%llu", (unsigned long long)cli_u64(c, "weight"));
	if (cli_u64(c, "capacity"))
		cli_print_kv("capacity:", "%llu new flows/s",
			     (unsigned long long)cli_u64(c, "capacity"));
	else
		cli_print_kv("capacity:", "unknown");
	cli_print_kv("state:", "%s", cli_str(c, "state"));
	dp = json_object_get(c, "dataplane");
	if (dp)
		cli_print_kv("dataplane:", "%s, next hop %s, vlan %llu", cli_str(dp, "state"),
			     cli_str(dp, "next_hop_mac"), (unsigned long long)cli_u64(dp, "vlan"));
	else
		cli_print_kv("dataplane:", "not known (nothing pinned)");
	if (json_object_get(c, "packets")) {
		cli_print_counter("packets:", cli_u64(c, "packets"), false);
		cli_print_counter("bytes:", cli_u64(c, "bytes"), true);
		cli_print_counter("new flows:", cli_u64(c, "new_flows"), false);
		cli_print_counter("drops:", cli_u64(c, "drops"), false);
	}
	/* what the drops were: only the shedding reasons that counted (docs/cli.md, shed) */
	if (cli_u64(c, "shed"))
		cli_print_counter("  shed:", cli_u64(c, "shed"), false);
	if (cli_u64(c, "shed_hard"))
		cli_print_counter("  shed hard:", cli_u64(c, "shed_hard"), false);
	if (cli_u64(c, "ceiling"))
		cli_print_counter("  ceiling:", cli_u64(c, "ceiling"), false);
	if (cli_u64(c, "guard"))
		cli_print_counter("  guard:", cli_u64(c, "guard"), false);
	if (json_object_get(c, "source"))
		cli_print_kv("source:", "%s (cellgated is not running)", cli_str(c, "source"));
	json_decref(cells);
	return CLI_OK;
}

/* Check the options of add/set and put them into args under their protocol names. */
static int cell_args(struct cli_opt *o, json_t *args)
{
	uint64_t v;

	if (o[O_REGION].val) {
		if (!cli_check_name("--region", o[O_REGION].val))
			return CLI_USAGE;
		json_object_set_new(args, "region", json_string(o[O_REGION].val));
	}
	if (o[O_GATEWAY].val) {
		if (!cli_check_addr("--gateway", o[O_GATEWAY].val))
			return CLI_USAGE;
		json_object_set_new(args, "gateway", json_string(o[O_GATEWAY].val));
	}
	if (o[O_ENCAP].val) {
		if (!cli_check_word("--encap", o[O_ENCAP].val, encaps))
			return CLI_USAGE;
		json_object_set_new(args, "encap", json_string(o[O_ENCAP].val));
	}
	if (o[O_GUE_PORT].val) {
		if (cli_parse_u64("--gue-port", o[O_GUE_PORT].val, 1, 65535, &v))
			return CLI_USAGE;
		json_object_set_new(args, "gue_port", json_integer((json_int_t)v));
	}
	if (o[O_WEIGHT].val) {
		if (cli_parse_u64("--weight", o[O_WEIGHT].val, 1, CG_MAX_WEIGHT, &v))
			return CLI_USAGE;
		json_object_set_new(args, "weight", json_integer((json_int_t)v));
	}
	if (o[O_CAPACITY].val) {
		if (cli_parse_u64("--capacity", o[O_CAPACITY].val, 0, UINT32_MAX, &v))
			return CLI_USAGE;
		json_object_set_new(args, "capacity", json_integer((json_int_t)v));
	}
	if (o[O_STATE].val) {
		if (!cli_check_word("--state", o[O_STATE].val, states))
			return CLI_USAGE;
		json_object_set_new(args, "state", json_string(o[O_STATE].val));
	}
	return CLI_OK;
}

/* add and set: NAME, then options; need lists what add cannot do without. */
static int add_or_set(int argc, char **argv, const char *cmd, bool add)
{
	struct cli_opt opts[] = {
		[O_REGION] = { .name = "--region" }, [O_GATEWAY] = { .name = "--gateway" },
		[O_ENCAP] = { .name = "--encap" },   [O_GUE_PORT] = { .name = "--gue-port" },
		[O_WEIGHT] = { .name = "--weight" }, [O_CAPACITY] = { .name = "--capacity" },
		[O_STATE] = { .name = "--state" },   [O_MAX] = { .name = NULL },
	};
	const char *name;
	json_t *args, *reply;
	size_t i;
	int ret;

	REQ_ARGS("NAME");
	name = *argv;
	if (name[0] == '-')
		return cli_usage_err("missing NAME before '%s'", name);
	NEXT_ARG();
	if (!cli_check_name("NAME", name))
		return CLI_USAGE;
	ret = cli_parse_opts(argc, argv, opts);
	if (ret)
		return ret;
	if (add && !opts[O_REGION].val)
		return cli_usage_err("missing --region");
	if (add && !opts[O_GATEWAY].val)
		return cli_usage_err("missing --gateway");
	for (i = 0; !add && i < O_MAX && !opts[i].val; i++)
		;
	if (!add && i == O_MAX)
		return cli_usage_err("nothing to change (give --weight, --capacity, --state, "
				     "--gateway, --region, --encap or --gue-port)");
	args = json_pack("{s:s}", "name", name);
	if (!args)
		return cli_err("out of memory");
	ret = cell_args(opts, args);
	if (ret) {
		json_decref(args);
		return ret;
	}
	ret = cli_call(cmd, args, &reply);
	if (ret)
		return ret;
	ret = cli_print_changes(reply, false);
	json_decref(reply);
	return ret;
}

static int do_add(int argc, char **argv)
{
	return add_or_set(argc, argv, "cell.add", true);
}

static int do_set(int argc, char **argv)
{
	return add_or_set(argc, argv, "cell.set", false);
}

static int do_del(int argc, char **argv)
{
	return cli_change_named(argc, argv, "cell.del");
}

#define CELL_OPTIONS                                                                        \
	"  --region R        the region (failure domain) the cell is in\n"                  \
	"  --gateway ADDR    IPv4 or IPv6 address packets are encapsulated to\n"            \
	"  --encap E         gue (IP in UDP, the default) or ipip\n"                        \
	"  --gue-port N      outer UDP destination port for gue, 1..65535 (default 6080)\n" \
	"  --weight N        share of new flows relative to the other cells, 1..65535\n"    \
	"                    (default 100)\n"                                               \
	"  --capacity N      new flows per second the cell can take; 0 = unknown\n"         \
	"  --state S         active: takes new flows; draining: out of the tables, its\n"   \
	"                    flows finish; down: out of the tables, its flows re-hashed\n"

static const struct cli_cmd cmds[] = {
	{ "list", do_list, "list",
	  "Every cell: desired state (STATE), what the maps hold (DP), counters.\n" },
	{ "show", do_show, "show NAME", "One cell, every field, exact counters.\n" },
	{ "add", do_add,
	  "add NAME --region R --gateway ADDR [--encap gue|ipip] [--gue-port N]\n"
	  "    [--weight N] [--capacity N] [--state active|draining|down]",
	  "Add a cell. It takes flows only once a service lists it.\n\n" CELL_OPTIONS },
	{ "set", do_set,
	  "set NAME [--weight N] [--capacity N] [--state active|draining|down]\n"
	  "    [--gateway ADDR] [--region R] [--encap gue|ipip] [--gue-port N]",
	  "Change the fields given, keep the others.\n\n" CELL_OPTIONS },
	{ "del", do_del, "del NAME",
	  "Remove a cell no service lists (remove it from its services first).\n" },
	{ NULL, NULL, NULL, NULL },
};

int do_cell(int argc, char **argv)
{
	return cli_dispatch("cell", cmds, "list", argc, argv);
}
