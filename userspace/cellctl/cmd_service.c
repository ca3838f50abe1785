// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_service.c - cellctl service: list, show, add and delete services */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellgate/view.h"
#include "cellctl.h"

static json_t *local_services(struct cli_local *loc)
{
	return cg_view_services(&loc->st, loc->dp);
}

static int get_services(json_t **svcs)
{
	return cli_read("service.list", local_services, svcs);
}

/* "203.0.113.10:80/tcp", "[2001:db8::53]:53/udp" */
static const char *service_addr(const json_t *s, char *buf, size_t len)
{
	const char *vip = cli_str(s, "vip");

	snprintf(buf, len, "%s%s%s:%llu/%s", strchr(vip, ':') ? "[" : "", vip,
		 strchr(vip, ':') ? "]" : "", (unsigned long long)cli_u64(s, "port"),
		 cli_str(s, "protocol"));
	return buf;
}

static int do_list(int argc, char **argv)
{
	static const bool right[] = { 0, 1, 0, 1, 1, 1, 1, 1, 1, 1 };
	char id[16], addr[80], cells[16], table[16], class[8], pkts[16], bytes[16], nf[16],
		drops[16];
	const char *row[10];
	struct cli_table *t;
	json_t *svcs, *s;
	size_t i;
	int ret;

	if (argc > 0)
		return BAD_ARG();
	ret = get_services(&svcs);
	if (ret)
		return ret;
	if (cli.json) {
		ret = cli_json_out(svcs);
		json_decref(svcs);
		return ret;
	}
	t = cli_table_new(10, right);
	cli_table_row(t, (const char *const[]){ "NAME", "ID", "ADDRESS", "CELLS", "TABLE", "CLASS",
						"PACKETS", "BYTES", "NEW FLOWS", "DROPS" });
	json_array_foreach(svcs, i, s) {
		const json_t *tbl = json_object_get(s, "table");
		bool counted = json_object_get(s, "packets") != NULL;

		snprintf(id, sizeof(id), "%llu", (unsigned long long)cli_u64(s, "id"));
		snprintf(cells, sizeof(cells), "%zu", json_array_size(json_object_get(s, "cells")));
		/* the live table's size; "none" if the maps have none, the desired size unpinned */
		if (json_is_null(tbl))
			snprintf(table, sizeof(table), "none");
		else
			snprintf(table, sizeof(table), "%llu",
				 (unsigned long long)(tbl ? cli_u64(tbl, "size") :
							    cli_u64(s, "table_size")));
		snprintf(class, sizeof(class), "%llu",
			 (unsigned long long)cli_u64(s, "default_class"));
		row[0] = cli_str(s, "name");
		row[1] = id;
		row[2] = service_addr(s, addr, sizeof(addr));
		row[3] = cells;
		row[4] = table;
		row[5] = class;
		row[6] = counted ? cli_count(cli_u64(s, "packets"), pkts, sizeof(pkts)) : NULL;
		row[7] = counted ? cli_bytes(cli_u64(s, "bytes"), bytes, sizeof(bytes)) : NULL;
		row[8] = counted ? cli_count(cli_u64(s, "new_flows"), nf, sizeof(nf)) : NULL;
		row[9] = counted ? cli_count(cli_u64(s, "drops"), drops, sizeof(drops)) : NULL;
		cli_table_row(t, row);
	}
	cli_table_print(t);
	json_decref(svcs);
	return CLI_OK;
}

/* The locality policy's record of a service (cellgated's service.list). */
static void print_locality(const json_t *l)
{
	const json_t *c;
	size_t i;

	if (!l)
		return;
	if (!json_is_true(json_object_get(l, "active"))) {
		cli_print_kv(
			"locality:", "%s%s", cli_str(l, "mode"),
			strcmp(cli_str(l, "mode"), "local-first") ?
				"" :
				" (not active: weights as they are until the load is measured)");
		return;
	}
	cli_print_kv("locality:", "%s, %.1f%% of new flows spilled out of the region (goal %.1f%%)",
		     cli_str(l, "mode"), 100.0 * json_number_value(json_object_get(l, "spill")),
		     100.0 * json_number_value(json_object_get(l, "goal")));
	cli_print_kv("", "offered %llu new flows/s, the local cells take %llu/s before spilling",
		     (unsigned long long)cli_u64(l, "offered"),
		     (unsigned long long)cli_u64(l, "local_avail"));
	if (cli_u64(l, "left_to_shed"))
		cli_print_kv("", "%llu new flows/s no region may take: left to the shedder%s",
			     (unsigned long long)cli_u64(l, "left_to_shed"),
			     json_is_true(json_object_get(l, "short")) ? " (short)" : "");
	json_array_foreach(json_object_get(l, "cells"), i, c)
		cli_print_kv(
			i ? "" : "shares:", "%-16s %5.1f%% of new flows%s%s", cli_str(c, "cell"),
			100.0 * json_number_value(json_object_get(c, "share")),
			json_is_true(json_object_get(c, "local")) ? ", local" : "",
			json_is_true(json_object_get(c, "eligible")) ? "" : ", takes no new flows");
	cli_print_kv("changed:", "%llu times, last: %s", (unsigned long long)cli_u64(l, "changes"),
		     cli_str(l, "why"));
}

static int do_show(int argc, char **argv)
{
	const json_t *tbl, *shares, *cell;
	char addr[80];
	json_t *svcs, *s;
	size_t i;
	int ret;

	ret = cli_show_one(argc, argv, "service", "service.list", local_services, &svcs, &s);
	if (ret || !svcs)
		return ret;
	cli_print_kv("name:", "%s", cli_str(s, "name"));
	cli_print_kv("id:", "%llu", (unsigned long long)cli_u64(s, "id"));
	cli_print_kv("address:", "%s", service_addr(s, addr, sizeof(addr)));
	cli_print_kv("class:", "%llu (flows no rule classifies)",
		     (unsigned long long)cli_u64(s, "default_class"));
	tbl = json_object_get(s, "table");
	shares = json_object_get(tbl, "shares");
	if (json_is_null(tbl))
		cli_print_kv("table:", "%llu slots wanted, none live in the maps",
			     (unsigned long long)cli_u64(s, "table_size"));
	else if (tbl)
		cli_print_kv("table:", "%llu slots live", (unsigned long long)cli_u64(tbl, "size"));
	else
		cli_print_kv("table:", "%llu slots", (unsigned long long)cli_u64(s, "table_size"));
	json_array_foreach(json_object_get(s, "cells"), i, cell) {
		const char *c = json_string_value(cell);
		uint64_t slots = cli_u64(shares, c ? c : "");
		uint64_t size = cli_u64(tbl, "size");

		if (!c)
			continue;
		if (size)
			cli_print_kv(i ? "" : "cells:", "%-16s %8llu slots %5.1f%%", c,
				     (unsigned long long)slots,
				     100.0 * (double)slots / (double)size);
		else
			cli_print_kv(i ? "" : "cells:", "%s", c);
	}
	print_locality(json_object_get(s, "locality"));
	if (json_object_get(s, "packets")) {
		cli_print_counter("packets:", cli_u64(s, "packets"), false);
		cli_print_counter("bytes:", cli_u64(s, "bytes"), true);
		cli_print_counter("new flows:", cli_u64(s, "new_flows"), false);
		cli_print_counter("drops:", cli_u64(s, "drops"), false);
		cli_print_counter("icmp:", cli_u64(s, "icmp"), false);
		cli_print_counter("too big:", cli_u64(s, "too_big"), false);
	}
	if (json_object_get(s, "source"))
		cli_print_kv("source:", "%s (cellgated is not running)", cli_str(s, "source"));
	json_decref(svcs);
	return CLI_OK;
}

/* "a,b,c" into a JSON array of checked names; NULL (usage error printed) if one is bad. */
static json_t *cell_list(const char *text)
{
	json_t *arr = json_array();
	char *copy = strdup(text), *p, *comma;

	if (!arr || !copy) {
		json_decref(arr);
		free(copy);
		cli_err("out of memory");
		return NULL;
	}
	for (p = copy;; p = comma + 1) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (!*p) {
			cli_usage_err("bad --cells '%s': empty cell name", text);
			goto fail;
		}
		if (!cli_check_name("cell name", p))
			goto fail;
		json_array_append_new(arr, json_string(p));
		if (!comma)
			break;
	}
	free(copy);
	return arr;
fail:
	free(copy);
	json_decref(arr);
	return NULL;
}

static int do_add(int argc, char **argv)
{
	enum { O_VIP, O_PORT, O_PROTO, O_CELLS, O_TABLE, O_CLASS, O_DRY, O_FORCE, O_MAX };
	struct cli_opt o[] = {
		[O_VIP] = { .name = "--vip" },
		[O_PORT] = { .name = "--port" },
		[O_PROTO] = { .name = "--proto" },
		[O_CELLS] = { .name = "--cells" },
		[O_TABLE] = { .name = "--table-size" },
		[O_CLASS] = { .name = "--class" },
		[O_DRY] = { .name = "--dry-run", .flag = true },
		[O_FORCE] = { .name = "--force", .flag = true },
		[O_MAX] = { .name = NULL },
	};
	static const char *const need[] = { "--vip", "--port", "--proto", "--cells" };
	json_t *args, *cells, *reply;
	const char *name;
	size_t i;
	bool dry;
	int ret;

	ret = cli_name_opts(argc, argv, &name, o);
	if (ret)
		return ret;
	for (i = 0; i < 4; i++)
		if (!o[i].val)
			return cli_usage_err("missing %s", need[i]);
	args = json_pack("{s:s}", "name", name);
	if (!args)
		return cli_err("out of memory");
	/* each option by the field table of a service: option name, field */
	ret = cli_field_arg(&cg_service_obj, "vip", "--vip", o[O_VIP].val, args);
	if (!ret)
		ret = cli_field_arg(&cg_service_obj, "port", "--port", o[O_PORT].val, args);
	if (!ret)
		ret = cli_field_arg(&cg_service_obj, "protocol", "--proto", o[O_PROTO].val, args);
	if (!ret && o[O_TABLE].val)
		ret = cli_field_arg(&cg_service_obj, "table_size", "--table-size", o[O_TABLE].val,
				    args);
	if (!ret && o[O_CLASS].val)
		ret = cli_field_arg(&cg_service_obj, "default_class", "--class", o[O_CLASS].val,
				    args);
	cells = ret ? NULL : cell_list(o[O_CELLS].val);
	if (!cells) {
		json_decref(args);
		return ret ? ret : CLI_USAGE;
	}
	json_object_set_new(args, "cells", cells);
	dry = cli_change_flags(&o[O_DRY], &o[O_FORCE], args);
	ret = cli_call("service.add", args, &reply);
	if (ret)
		return ret;
	ret = cli_print_changes(reply, dry);
	json_decref(reply);
	return ret;
}

static int do_del(int argc, char **argv)
{
	return cli_change_named(argc, argv, "service.del");
}

static const struct cli_cmd cmds[] = {
	{ "list", do_list, "list", "Every service: address, cells, live table size, counters.\n" },
	{ "show", do_show, "show NAME",
	  "One service, with each cell's share of the live Maglev table.\n" },
	{ "add", do_add,
	  "add NAME --vip ADDR --port N --proto tcp|udp --cells CELL[,CELL...]\n"
	  "    [--table-size N] [--class N] [--dry-run] [--force]",
	  "Add a service.\n\n"
	  "  --vip ADDR        IPv4 or IPv6 address clients connect to\n"
	  "  --port N          1..65535\n"
	  "  --proto P         tcp or udp\n"
	  "  --cells LIST      the cells that serve it, comma-separated\n"
	  "  --table-size N    Maglev slots, a prime (default 65537)\n"
	  "  --class N         class of flows no rule classifies, 0 (most critical)..7\n" CLI_CHANGE_OPTIONS },
	{ "del", do_del, "del NAME [--dry-run] [--force]",
	  "Remove a service; its flows stop being routed. It takes the whole service's\n"
	  "capacity out at once: the max_out rule refuses it unless --force.\n\n" CLI_CHANGE_OPTIONS },
	{ NULL, NULL, NULL, NULL },
};

int do_service(int argc, char **argv)
{
	return cli_dispatch("service", cmds, "list", argc, argv);
}
