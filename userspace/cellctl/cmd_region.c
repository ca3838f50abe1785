// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_region.c - cellctl region: list the failure domains and their cells */
#include <stdio.h>

#include "cellgate/view.h"
#include "cellctl.h"

static json_t *local_regions(struct cli_local *loc)
{
	return cg_view_regions(&loc->st, loc->dp);
}

static int do_list(int argc, char **argv)
{
	static const bool right[] = { 0, 1, 1, 0, 1, 1 };
	char id[16], cost[16], cells[16], active[16];
	const char *row[6];
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
	t = cli_table_new(6, right);
	cli_table_row(t, (const char *const[]){ "NAME", "ID", "COST", "LOCAL", "CELLS", "ACTIVE" });
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
		cli_table_row(t, row);
	}
	cli_table_print(t);
	json_decref(regions);
	return CLI_OK;
}

static const struct cli_cmd cmds[] = {
	{ "list", do_list, "list",
	  "Regions nearest first: locality cost, cells, cells the maps hold active.\n" },
	{ NULL, NULL, NULL, NULL },
};

int do_region(int argc, char **argv)
{
	return cli_dispatch("region", cmds, "list", argc, argv);
}
