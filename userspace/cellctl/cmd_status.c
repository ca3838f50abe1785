// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cmd_status.c - cellctl status: the daemon, the desired state and the data plane at a glance */
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cellgate/config.h"
#include "cellgate/text.h"
#include "cellctl.h"

/*
 * The status cellgated would give, from the state file and the pins: what
 * only a running daemon knows (pid, uptime, version, adopted, unready
 * cells, XDP modes) is left out.
 */
static json_t *local_status(struct cli_local *loc)
{
	const struct cg_state *st = &loc->st;
	json_t *o, *ifaces = json_array();
	char digest[9], pin[PATH_MAX], name[CG_DP_LINK_NAME_MAX];
	uint64_t entries = 0;
	size_t i;

	for (i = 0; ifaces && i < st->nifaces; i++) {
		/* a pinned link means the router is still attached there */
		cg_dp_link_pin_name(name, sizeof(name), st->ifaces[i]);
		snprintf(pin, sizeof(pin), "%s/%s", cli.pin_dir, name);
		json_array_append_new(
			ifaces,
			json_pack("{s:s, s:i, s:s}", "name", st->ifaces[i], "ifindex",
				  access(pin, F_OK) ? 0 : (int)if_nametoindex(st->ifaces[i]),
				  "mode", ""));
	}
	snprintf(digest, sizeof(digest), "%08x", cg_state_digest(st));
	o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I}", "daemon", "cellgated",
		      "generation", (json_int_t)st->generation, "digest", digest, "state_file",
		      loc->state_path, "pin_dir", cli.pin_dir, "region", st->region, "interfaces",
		      ifaces, "services", (json_int_t)st->nservices, "cells",
		      (json_int_t)st->ncells, "regions", (json_int_t)st->nregions);
	if (o)
		json_object_set_new(o, "health",
				    json_pack("{s:s, s:b, s:s}", "probe", "unknown", "panic", false,
					      "why", "cellgated not running"));
	if (o && loc->dp) {
		cg_dp_conn_count(loc->dp, &entries);
		json_object_set_new(o, "conntrack",
				    json_pack("{s:I, s:I}", "entries", (json_int_t)entries,
					      "capacity",
					      (json_int_t)cg_dp_conn_capacity(loc->dp)));
	}
	return o;
}

/* "1d 2h", "3h 04m", "5m 06s", "7s" */
static const char *uptime(uint64_t s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%llud %lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lluh %02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%llum %02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
	return buf;
}

static int do_show(int argc, char **argv)
{
	const json_t *ifaces, *ifc, *ct, *hl, *mt;
	char up[32], list[512], qwhy[CG_SHOW_TEXT_MAX];
	size_t i, used = 0;
	json_t *st;
	int ret;

	if (argc > 0)
		return BAD_ARG();
	ret = cli_read("status", local_status, &st);
	if (ret)
		return ret;
	if (cli.json) {
		ret = cli_json_out(st);
		json_decref(st);
		return ret;
	}
	if (json_is_string(json_object_get(st, "fail_static")))
		cli_print_kv("FAIL-STATIC:",
			     "%s; the data plane is left exactly as it is, changes are refused "
			     "until 'cellctl config apply FILE' gives a valid state",
			     cli_str(st, "fail_static"));
	if (json_object_get(st, "source"))
		cli_print_kv("daemon:", "not running (showing the persisted state%s)",
			     strcmp(cli_str(st, "source"), "pinned") ? "" : " and the pinned maps");
	else
		cli_print_kv("daemon:", "%s %s, pid %llu, up %s", cli_str(st, "daemon"),
			     cli_str(st, "version"), (unsigned long long)cli_u64(st, "pid"),
			     uptime(cli_u64(st, "uptime_s"), up, sizeof(up)));
	cli_print_kv("state:", "generation %llu, digest %s, %s",
		     (unsigned long long)cli_u64(st, "generation"), cli_str(st, "digest"),
		     cli_str(st, "state_file"));
	if (json_object_get(st, "adopted"))
		cli_print_kv("data plane:", "%s (%s)", cli_str(st, "pin_dir"),
			     json_is_true(json_object_get(st, "adopted")) ?
				     "adopted from a previous run" :
				     "created by this run");
	else
		cli_print_kv("data plane:", "%s", cli_str(st, "pin_dir"));
	cli_print_kv("region:", "%s", cli_str(st, "region"));
	if (json_is_string(json_object_get(st, "hash_key_fingerprint")))
		cli_print_kv("hash key:", "fingerprint %s (the same on every LB of a fleet)",
			     cli_str(st, "hash_key_fingerprint"));
	ifaces = json_object_get(st, "interfaces");
	list[0] = '\0';
	json_array_foreach(ifaces, i, ifc) {
		const char *mode = cli_str(ifc, "mode");

		if (used >= sizeof(list))
			break;
		if (!cli_u64(ifc, "ifindex"))
			used += (size_t)snprintf(list + used, sizeof(list) - used,
						 "%s%s (not attached)", i ? ", " : "",
						 cli_str(ifc, "name"));
		else
			used += (size_t)snprintf(list + used, sizeof(list) - used,
						 "%s%s (ifindex %llu%s%s)", i ? ", " : "",
						 cli_str(ifc, "name"),
						 (unsigned long long)cli_u64(ifc, "ifindex"),
						 mode[0] ? ", " : "", mode[0] ? mode : "");
	}
	cli_print_kv("interfaces:", "%s", json_array_size(ifaces) ? list : "none");
	cli_print_kv("objects:", "%llu services, %llu cells, %llu regions",
		     (unsigned long long)cli_u64(st, "services"),
		     (unsigned long long)cli_u64(st, "cells"),
		     (unsigned long long)cli_u64(st, "regions"));
	ct = json_object_get(st, "conntrack");
	if (ct)
		cli_print_kv("conntrack:", "%llu of %llu entries (%.1f%%)",
			     (unsigned long long)cli_u64(ct, "entries"),
			     (unsigned long long)cli_u64(ct, "capacity"),
			     cli_u64(ct, "capacity") ? 100.0 * (double)cli_u64(ct, "entries") /
							       (double)cli_u64(ct, "capacity") :
						       0.0);
	hl = json_object_get(st, "health");
	if (json_is_true(json_object_get(hl, "panic")))
		cli_print_kv("HEALTH PANIC:",
			     "%s; believing the prober is cut off: the data plane is frozen, no "
			     "cell is taken out for health",
			     cg_show(cli_str(hl, "panic_why"), qwhy, sizeof(qwhy)));
	if (json_is_string(json_object_get(hl, "why")))
		cli_print_kv("health:", "unknown (%s)", cli_str(hl, "why"));
	else if (hl && !strcmp(cli_str(hl, "probe"), "off"))
		cli_print_kv("health:", "probes off (every cell believed up)");
	else if (hl)
		cli_print_kv("health:", "%s probes: %llu up, %llu down, %llu unknown; panic %s",
			     cli_str(hl, "probe"), (unsigned long long)cli_u64(hl, "up"),
			     (unsigned long long)cli_u64(hl, "down"),
			     (unsigned long long)cli_u64(hl, "unknown"),
			     json_is_true(json_object_get(hl, "panic")) ? "YES" : "no");
	mt = json_object_get(st, "metrics");
	if (json_is_true(json_object_get(mt, "serving")))
		cli_print_kv("metrics:", "http://%s/metrics, %llu scrapes",
			     cg_show(cli_str(mt, "listen"), qwhy, sizeof(qwhy)),
			     (unsigned long long)cli_u64(mt, "scrapes"));
	else if (mt && cli_str(mt, "error")[0])
		cli_print_kv("metrics:", "not served: %s",
			     cg_show(cli_str(mt, "error"), qwhy, sizeof(qwhy)));
	else if (mt)
		cli_print_kv("metrics:", "off");
	if (cli_u64(st, "unready_cells"))
		cli_print_kv("unready:",
			     "%llu cell(s) kept out of the tables until their next "
			     "hop resolves",
			     (unsigned long long)cli_u64(st, "unready_cells"));
	json_decref(st);
	return CLI_OK;
}

static const struct cli_cmd cmds[] = {
	{ "show", do_show, "[show]",
	  "The daemon, the desired state (generation, digest), the data plane.\n" },
	{ NULL, NULL, NULL, NULL },
};

int do_status(int argc, char **argv)
{
	return cli_dispatch("status", cmds, "show", argc, argv);
}
