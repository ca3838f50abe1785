// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_cell.c - cellctl cell: list, show, add, set and delete cells */
#include <stdio.h>
#include <string.h>

#include "cellgate/config.h"
#include "cellgate/text.h"
#include "cellgate/view.h"
#include "cellctl.h"

/*
 * The options of add and set: one per field of the cell's table (field.c)
 * but its name and id, "--gue-port" for gue_port, in the table's order.
 */
#define CELL_OPTS_MAX 24
#define CELL_OPT_LEN  40

struct cell_opts {
	struct cli_opt opt[CELL_OPTS_MAX + 3]; /* then --dry-run, --force; NULL name ends them */
	const struct cg_field *field[CELL_OPTS_MAX]; /* the field of each */
	char names[CELL_OPTS_MAX][CELL_OPT_LEN];     /* "--gue-port" */
	size_t n;
};

static void cell_opts_init(struct cell_opts *co)
{
	const struct cg_field *f;
	size_t i;

	memset(co, 0, sizeof(*co));
	for (f = cg_cell_obj.fields; f->name && co->n < CELL_OPTS_MAX; f++) {
		if (f->flags & (CG_FF_KEY | CG_FF_ASSIGNED))
			continue;
		snprintf(co->names[co->n], CELL_OPT_LEN, "--%s", f->name);
		for (i = 2; co->names[co->n][i]; i++)
			if (co->names[co->n][i] == '_')
				co->names[co->n][i] = '-';
		co->opt[co->n].name = co->names[co->n];
		co->field[co->n++] = f;
	}
	co->opt[co->n] = (struct cli_opt){ .name = "--dry-run", .flag = true };
	co->opt[co->n + 1] = (struct cli_opt){ .name = "--force", .flag = true };
}

static json_t *local_cells(struct cli_local *loc)
{
	json_t *cells = cg_view_cells(&loc->st, loc->dp), *c;
	size_t i;

	/* health lives in the daemon only */
	json_array_foreach(cells, i, c)
		json_object_set_new(c, "health",
				    json_pack("{s:s, s:s}", "state", "unknown", "why",
					      "cellgated not running"));
	return cells;
}

/* The cells, from cellgated or the pins. */
static int get_cells(json_t **cells)
{
	return cli_read("cell.list", local_cells, cells);
}

#define CELL_COLS 13 /* columns of cell list */

/* Is any cell probed (health without a "why")? Else the HEALTH column is left out. */
static bool any_probed(const json_t *cells)
{
	const json_t *c, *h;
	size_t i;

	json_array_foreach(cells, i, c) {
		h = json_object_get(c, "health");
		if (h && !json_is_string(json_object_get(h, "why")))
			return true;
	}
	return false;
}

/* Column 9 (HEALTH) is dropped from row (CELL_COLS entries) unless health is shown. */
static void drop_health(const char **row, bool health)
{
	if (!health)
		memmove(row + 9, row + 10, (CELL_COLS - 10) * sizeof(*row));
}

static void cell_row(struct cli_table *t, const json_t *c, bool health)
{
	char id[16], encap[24], weight[16], cap[16], pkts[16], bytes[16], drops[16];
	const char *row[CELL_COLS];
	const json_t *dp = json_object_get(c, "dataplane");
	const json_t *h = json_object_get(c, "health");
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
	row[9] = h ? cli_str(h, "state") : NULL;
	row[10] = counted ? cli_count(cli_u64(c, "packets"), pkts, sizeof(pkts)) : NULL;
	row[11] = counted ? cli_bytes(cli_u64(c, "bytes"), bytes, sizeof(bytes)) : NULL;
	row[12] = counted ? cli_count(cli_u64(c, "drops"), drops, sizeof(drops)) : NULL;
	drop_health(row, health);
	cli_table_row(t, row);
}

static int do_list(int argc, char **argv)
{
	static const bool right[] = { 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1 };
	static const bool right_nh[] = { 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1 };
	const char *head[CELL_COLS] = { "NAME",	   "ID",       "REGION", "GATEWAY", "ENCAP",
					"WEIGHT",  "CAPACITY", "STATE",	 "DP",	    "HEALTH",
					"PACKETS", "BYTES",    "DROPS" };
	struct cli_table *t;
	bool health;
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
	health = any_probed(cells);
	t = cli_table_new(health ? CELL_COLS : CELL_COLS - 1, health ? right : right_nh);
	drop_health(head, health);
	cli_table_row(t, head);
	json_array_foreach(cells, i, c)
		cell_row(t, c, health);
	cli_table_print(t);
	json_decref(cells);
	return CLI_OK;
}

/* health: up since 12 s, last probe 153 us; ... (network text comes escaped by the daemon) */
static void health_show(const json_t *h)
{
	const json_t *t;
	char qerr[CG_SHOW_TEXT_MAX], qwhy[CG_SHOW_TEXT_MAX];

	if (!h)
		return;
	if (json_is_string(json_object_get(h, "why")))
		cli_print_kv("health:", "%s (%s)", cli_str(h, "state"),
			     cg_show(cli_str(h, "why"), qwhy, sizeof(qwhy)));
	else
		cli_print_kv(
			"health:", "%s for %llu s, %llu probes, %llu ok / %llu failed in a row",
			cli_str(h, "state"), (unsigned long long)cli_u64(h, "since_s"),
			(unsigned long long)cli_u64(h, "probes"),
			(unsigned long long)cli_u64(h, "consecutive_ok"),
			(unsigned long long)cli_u64(h, "consecutive_fail"));
	t = json_object_get(h, "target");
	if (t)
		cli_print_kv("  probe:", "%s port %llu, last latency %llu us",
			     cli_str(t, "address"), (unsigned long long)cli_u64(t, "port"),
			     (unsigned long long)cli_u64(h, "latency_us"));
	if (cli_str(h, "last_error")[0])
		cli_print_kv("  last error:", "%s",
			     cg_show(cli_str(h, "last_error"), qerr, sizeof(qerr)));
	if (json_is_true(json_object_get(h, "out_for_health")))
		cli_print_kv("  overlay:", "out of the tables for health (down)");
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
	health_show(json_object_get(c, "health"));
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

/* add and set: NAME, then options; add needs --region and --gateway. */
static int add_or_set(int argc, char **argv, const char *cmd, bool add)
{
	struct cell_opts co;
	const char *name;
	json_t *args, *reply;
	char given[CELL_OPTS_MAX * (CELL_OPT_LEN + 2)];
	size_t i, used = 0, n = 0;
	bool dry;
	int ret;

	cell_opts_init(&co);
	ret = cli_name_opts(argc, argv, &name, co.opt);
	if (ret)
		return ret;
	for (i = 0; i < co.n; i++) {
		n += co.opt[i].val != NULL;
		if (add && !co.opt[i].val && co.field[i]->flags & CG_FF_REQUIRED &&
		    co.field[i]->type != CG_F_ENUM) /* enums have cellctl's defaults */
			return cli_usage_err("missing %s", co.opt[i].name);
	}
	if (!add && !n) {
		given[0] = '\0';
		for (i = 0; i < co.n && used < sizeof(given); i++)
			used += (size_t)snprintf(given + used, sizeof(given) - used, "%s%s",
						 i ? (i + 1 == co.n ? " or " : ", ") : "",
						 co.opt[i].name);
		return cli_usage_err("nothing to change (give %s)", given);
	}
	args = json_pack("{s:s}", "name", name);
	if (!args)
		return cli_err("out of memory");
	for (i = 0, ret = CLI_OK; i < co.n && ret == CLI_OK; i++)
		if (co.opt[i].val)
			ret = cli_field_arg(&cg_cell_obj, co.field[i]->name, co.opt[i].name,
					    co.opt[i].val, args);
	if (ret) {
		json_decref(args);
		return ret;
	}
	dry = cli_change_flags(&co.opt[co.n], &co.opt[co.n + 1], args);
	ret = cli_call(cmd, args, &reply);
	if (ret)
		return ret;
	ret = cli_print_changes(reply, dry);
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
	"  --probe-port N    TCP port health probes connect to; 0 = first TCP service's\n"  \
	"  --capacity N      new flows per second the cell can take; 0 = unknown\n"         \
	"  --state S         active: takes new flows; draining: out of the tables, its\n"   \
	"                    flows finish; down: out of the tables, its flows re-hashed\n"

static const struct cli_cmd cmds[] = {
	{ "list", do_list, "list",
	  "Every cell: desired state (STATE), what the maps hold (DP), counters.\n" },
	{ "show", do_show, "show NAME", "One cell, every field, exact counters.\n" },
	{ "add", do_add,
	  "add NAME --region R --gateway ADDR [--encap gue|ipip] [--gue-port N]\n"
	  "    [--weight N] [--capacity N] [--state active|draining|down] [--dry-run] [--force]",
	  "Add a cell. It takes flows only once a service lists it.\n\n" CELL_OPTIONS
		  CLI_CHANGE_OPTIONS },
	{ "set", do_set,
	  "set NAME [--weight N] [--capacity N] [--state active|draining|down]\n"
	  "    [--gateway ADDR] [--region R] [--encap gue|ipip] [--gue-port N] [--dry-run]\n"
	  "    [--force]",
	  "Change the fields given, keep the others. Refused if it breaks a safety rule\n"
	  "(docs/failover.md) unless --force.\n\n" CELL_OPTIONS CLI_CHANGE_OPTIONS },
	{ "del", do_del, "del NAME [--dry-run] [--force]",
	  "Remove a cell no service lists (remove it from its services first).\n\n" CLI_CHANGE_OPTIONS },
	{ NULL, NULL, NULL, NULL },
};

int do_cell(int argc, char **argv)
{
	return cli_dispatch("cell", cmds, "list", argc, argv);
}
