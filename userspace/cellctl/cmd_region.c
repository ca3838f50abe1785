// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_region.c - cellctl region: the failure domains, their cells, evacuation and restore */
#include <stdio.h>
#include <string.h>

#include "cellgate/state.h"

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

/* A share in ppm as people read it: "33.3%". buf of 48. */
static const char *pct(uint64_t ppm, char *buf, size_t len)
{
	snprintf(buf, len, "%llu.%llu%%", (unsigned long long)(ppm / 10000),
		 (unsigned long long)(ppm / 1000 % 10));
	return buf;
}

/* The text of a transition's reply: the move, the rules, then the plan cell by cell. */
static void print_transition(const json_t *r, bool dry_run)
{
	static const bool right[] = { 0, 0, 1, 1, 1, 1, 0 };
	const json_t *rules = json_object_get(r, "rules"), *plan = json_object_get(r, "plan");
	const json_t *c, *v, *pre = json_object_get(r, "preshed");
	struct cli_table *t;
	char a[48], b[48], load[24], cap[24], shed[256];
	const char *key;
	size_t i;

	if (!json_is_true(json_object_get(r, "changed"))) {
		printf("region %s is %s: no changes\n", cli_str(r, "region"), cli_str(r, "from"));
		return;
	}
	printf("region %s: %s -> %s%s\n", cli_str(r, "region"), cli_str(r, "from"),
	       cli_str(r, "to"), dry_run ? " (dry run)" : "");
	if (json_array_size(json_object_get(rules, "checked"))) {
		printf("rules checked:");
		json_array_foreach(json_object_get(rules, "checked"), i, v)
			printf(" %s", json_string_value(v));
		printf("%s\n", json_array_size(json_object_get(rules, "overridden")) ?
				       " (some overridden by --force)" :
				       ": ok");
	}
	if (plan && json_array_size(json_object_get(plan, "cells"))) {
		t = cli_table_new(7, right);
		cli_table_row(t, (const char *const[]){ "CELL", "REGION", "SHARE", "NEW SHARE",
							"NEW FLOWS/S", "CAPACITY", "PRE-SHED" });
		json_array_foreach(json_object_get(plan, "cells"), i, c) {
			size_t used = 0;

			shed[0] = '\0';
			json_object_foreach((json_t *)json_object_get(c, "shed_ppm"), key, v)
				used += (size_t)snprintf(
					shed + used, used < sizeof(shed) ? sizeof(shed) - used : 0,
					"%s%s %s", used ? ", " : "", key,
					pct((uint64_t)json_integer_value(v), a, sizeof(a)));
			snprintf(load, sizeof(load), "%llu",
				 (unsigned long long)cli_u64(c, "total"));
			snprintf(cap, sizeof(cap), "%llu",
				 (unsigned long long)cli_u64(c, "capacity"));
			cli_table_row(t, (const char *const[]){
						 cli_str(c, "name"), cli_str(c, "region"),
						 pct(cli_u64(c, "old_share_ppm"), a, sizeof(a)),
						 pct(cli_u64(c, "new_share_ppm"), b, sizeof(b)),
						 load, cli_u64(c, "capacity") ? cap : NULL,
						 shed[0] ? shed : NULL });
		}
		cli_table_print(t);
		printf("new flows moving: %llu/s%s\n", (unsigned long long)cli_u64(plan, "moved"),
		       json_is_true(json_object_get(plan, "short_of")) ?
			       "; survivors stay short of capacity after pre-shedding" :
			       "");
	}
	if (json_array_size(pre))
		printf("pre-shed levels: %zu (set before the shift, expire with the evacuation)\n",
		       json_array_size(pre));
	if (!dry_run && json_object_get(r, "generation"))
		printf("applied, generation %llu\n", (unsigned long long)cli_u64(r, "generation"));
	else if (dry_run)
		printf("dry run: nothing changed\n");
}

/* evacuate, restore, abort, extend: NAME, then options. */
static int transition(int argc, char **argv, const char *cmd, bool extend)
{
	enum { O_DRY, O_FORCE, O_BY, O_REASON, O_TTL, O_MAX };
	struct cli_opt o[] = {
		[O_DRY] = { .name = "--dry-run", .flag = true },
		[O_FORCE] = { .name = "--force", .flag = true },
		[O_BY] = { .name = "--by" },
		[O_REASON] = { .name = "--reason" },
		[O_TTL] = { .name = extend ? "--ttl" : NULL },
		[O_MAX] = { .name = NULL },
	};
	const char *name;
	json_t *args, *reply;
	uint64_t ttl = 0;
	bool dry;
	int ret;

	ret = cli_name_opts(argc, argv, &name, o);
	if (ret)
		return ret;
	if (extend && !o[O_TTL].val)
		return cli_usage_err("missing --ttl");
	if (extend && cli_parse_duration("--ttl", o[O_TTL].val, CG_EVAC_TTL_MAX, &ttl))
		return CLI_USAGE;
	args = json_pack("{s:s}", "name", name);
	if (!args)
		return cli_err("out of memory");
	if (o[O_BY].val)
		json_object_set_new(args, "by", json_string(o[O_BY].val));
	if (o[O_REASON].val)
		json_object_set_new(args, "reason", json_string(o[O_REASON].val));
	if (ttl)
		json_object_set_new(args, "ttl_s", json_integer((json_int_t)ttl));
	dry = cli_change_flags(&o[O_DRY], &o[O_FORCE], args);
	ret = cli_call(cmd, args, &reply);
	if (ret)
		return ret;
	if (cli.json)
		ret = cli_json_out(reply);
	else
		print_transition(reply, dry);
	json_decref(reply);
	return ret;
}

static int do_evacuate(int argc, char **argv)
{
	return transition(argc, argv, "region.evacuate", false);
}

static int do_restore(int argc, char **argv)
{
	return transition(argc, argv, "region.restore", false);
}

static int do_abort(int argc, char **argv)
{
	return transition(argc, argv, "region.abort", false);
}

static int do_extend(int argc, char **argv)
{
	return transition(argc, argv, "region.extend", true);
}

#define TRANSITION_OPTIONS                                                                   \
	"  --dry-run         show the plan and the rules' verdict; change nothing\n"         \
	"  --force           override a safety rule (logged with who and why)\n"             \
	"  --by WHO          on whose behalf (kept after the kernel's word for who asked)\n" \
	"  --reason TEXT     why, kept with the region's record\n"

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
	{ "evacuate", do_evacuate, "evacuate NAME [--dry-run] [--force] [--by WHO] [--reason TEXT]",
	  "Take the region out: pre-shed the survivors that would be short of capacity,\n"
	  "then move its share to them (nearest first, by spare capacity). Established\n"
	  "flows stay where they are. Expires after the failover section's\n"
	  "evacuation_ttl unless extended; expiry starts a restore.\n\n" TRANSITION_OPTIONS },
	{ "restore", do_restore, "restore NAME [--dry-run] [--force] [--by WHO] [--reason TEXT]",
	  "Ramp an evacuated region back in, step by step, each held for its dwell and\n"
	  "gated by health; a flap sends it back to evacuated.\n\n" TRANSITION_OPTIONS },
	{ "abort", do_abort, "abort NAME [--by WHO] [--reason TEXT]",
	  "Stop a transition: draining goes back to active, restoring back to evacuated.\n\n" TRANSITION_OPTIONS },
	{ "extend", do_extend, "extend NAME --ttl T [--by WHO] [--reason TEXT]",
	  "Push an evacuation's expiry to T from now (30s, 10m, 2h, 1d or seconds).\n\n" TRANSITION_OPTIONS },
	{ NULL, NULL, NULL, NULL },
};

int do_region(int argc, char **argv)
{
	return cli_dispatch("region", cmds, "list", argc, argv);
}
