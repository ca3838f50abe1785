// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_region.c - cellctl region: list the failure domains, show one with its record and cells */
#include <stdio.h>
#include <string.h>

#include "cellgate/view.h"
#include "cellctl.h"

static json_t *local_regions(struct cli_local *loc)
{
	return cg_view_regions(&loc->st, loc->dp);
}

static json_t *local_cells(struct cli_local *loc)
{
	return cg_view_cells(&loc->st, loc->dp);
}

static int do_list(int argc, char **argv)
{
	static const bool right[] = { 0, 1, 1, 0, 1, 1, 0, 1 };
	char id[16], cost[16], cells[16], active[16];
	const char *row[8];
	struct cli_table *t;
	json_t *regions, *r;
	size_t i;
	int ret;

	if (argc > 0)
		return BAD_ARG();
	ret = cli_read("region.list", local_regions, &regions);
	if (ret)
		return ret;
	if (cli.json) {
		ret = cli_json_out(regions);
		json_decref(regions);
		return ret;
	}
	t = cli_table_new(8, right);
	cli_table_row(t, (const char *const[]){ "NAME", "ID", "COST", "LOCAL", "CELLS", "ACTIVE",
						"STATE", "SHARE" });
	json_array_foreach(regions, i, r) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)cli_u64(r, "id"));
		snprintf(cost, sizeof(cost), "%llu", (unsigned long long)cli_u64(r, "cost"));
		snprintf(cells, sizeof(cells), "%llu", (unsigned long long)cli_u64(r, "cells"));
		snprintf(active, sizeof(active), "%llu", (unsigned long long)cli_u64(r, "active"));
		row[0] = cli_str(r, "name");
		row[1] = id;
		row[2] = cost;
		row[3] = json_is_true(json_object_get(r, "local")) ? "yes" : "no";
		row[4] = cells;
		row[5] = active;
		row[6] = cli_str(r, "state");
		row[7] = cli_str(r, "share");
		cli_table_row(t, row);
	}
	cli_table_print(t);
	json_decref(regions);
	return CLI_OK;
}

/* "1795000000 (in 3600s)", "never" for a unix time of the record. */
static void print_time(const char *label, json_int_t t, const char *zero)
{
	if (!t)
		cli_print_kv(label, "%s", zero);
	else
		cli_print_kv(label, "%lld", (long long)t);
}

static int do_show(int argc, char **argv)
{
	bool json = cli.json;
	json_t *regions, *r, *cells, *c, *mine, *ramp, *v, *tr;
	size_t i;
	int ret;

	cli.json = false; /* the region's object is composed with its cells below */
	ret = cli_show_one(argc, argv, "region", "region.list", local_regions, &regions, &r);
	cli.json = json;
	if (ret || !regions)
		return ret;
	ret = cli_read("cell.list", local_cells, &cells);
	if (ret) {
		json_decref(regions);
		return ret;
	}
	mine = json_array();
	json_array_foreach(cells, i, c)
		if (!strcmp(cli_str(c, "region"), cli_str(r, "name")))
			json_array_append_new(
				mine, json_pack("{s:s, s:s, s:I, s:I, s:O?}", "name",
						cli_str(c, "name"), "state", cli_str(c, "state"),
						"weight", (json_int_t)cli_u64(c, "weight"),
						"capacity", (json_int_t)cli_u64(c, "capacity"),
						"dataplane", json_object_get(c, "dataplane")));
	json_object_set_new(r, "cell_list", mine);
	if (cli.json) {
		ret = cli_json_out(r);
		goto out;
	}
	cli_print_kv("name:", "%s", cli_str(r, "name"));
	cli_print_kv("id:", "%llu", (unsigned long long)cli_u64(r, "id"));
	cli_print_kv("cost:", "%llu%s", (unsigned long long)cli_u64(r, "cost"),
		     json_is_true(json_object_get(r, "local")) ? " (local)" : "");
	cli_print_kv("state:", "%s%s", cli_str(r, "state"),
		     json_is_true(json_object_get(r, "forced")) ? " (forced)" : "");
	cli_print_kv("share:", "%s", cli_str(r, "share"));
	print_time("since:", (json_int_t)cli_u64(r, "since"), "-");
	print_time("expires:", (json_int_t)cli_u64(r, "expires"), "never");
	cli_print_kv("by:", "%s", cli_str(r, "by")[0] ? cli_str(r, "by") : "-");
	cli_print_kv("reason:", "%s", cli_str(r, "reason")[0] ? cli_str(r, "reason") : "-");
	ramp = json_object_get(r, "ramp");
	json_array_foreach(ramp, i, v) {
		char label[40];

		snprintf(label, sizeof(label), "ramp step %zu:", i);
		cli_print_kv(label, "%s%s", json_string_value(v),
			     !strcmp(cli_str(r, "state"), "restoring") && cli_u64(r, "step") == i ?
				     "  <- current" :
				     "");
	}
	tr = json_object_get(r, "transition");
	if (json_is_object(tr))
		cli_print_kv("transition:", "%s from %s, phase %s, %llu of %llu steps done%s",
			     cli_str(tr, "event"), cli_str(tr, "from"), cli_str(tr, "phase"),
			     (unsigned long long)cli_u64(tr, "done"),
			     (unsigned long long)cli_u64(tr, "steps"),
			     cli_u64(tr, "in_step") ? ", a step in flight" : "");
	cli_print_kv("cells:", "%llu, %llu active", (unsigned long long)cli_u64(r, "cells"),
		     (unsigned long long)cli_u64(r, "active"));
	json_array_foreach(mine, i, c) {
		const json_t *dp = json_object_get(c, "dataplane");

		dp = json_is_object(dp) ? dp : NULL;
		cli_print_kv("", "%s  %s  weight %llu%s%s", cli_str(c, "name"), cli_str(c, "state"),
			     (unsigned long long)cli_u64(c, "weight"), dp ? "  dataplane " : "",
			     dp ? cli_str(dp, "state") : "");
	}
	ret = CLI_OK;
out:
	json_decref(cells);
	json_decref(regions);
	return ret;
}

static const struct cli_cmd cmds[] = {
	{ "list", do_list, "list",
	  "Regions nearest first: locality cost, cells, cells the maps hold active, the\n"
	  "evacuation state and the region's share of its weight.\n" },
	{ "show", do_show, "show NAME",
	  "One region: its evacuation record, the restore ramp (the current step marked),\n"
	  "the transition in flight and its cells.\n" },
	{ NULL, NULL, NULL, NULL },
};

int do_region(int argc, char **argv)
{
	return cli_dispatch("region", cmds, "list", argc, argv);
}
