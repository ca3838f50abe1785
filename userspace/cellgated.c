// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cellgated.c - the controller: owns the data plane, persists the desired state, reconciles, serves cellctl */
#include <errno.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cellgate/config.h"
#include "cellgate/view.h"
#include "cellgated.h"

void cgd_log(const char *fmt, ...)
{
	va_list ap;

	fputs("cellgated: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	fputs("cellgated: libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cellgated [options]\n"
		"  -c, --config FILE     config to start from when no state is persisted yet\n"
		"  -d, --state-dir DIR   where the desired state is persisted (default %s)\n"
		"  -p, --pin-dir DIR     bpffs directory of the maps and links (default %s)\n"
		"  -s, --socket PATH     control socket (default %s)\n"
		"  -m, --xdp-mode MODE   auto, native or generic (default: the config's)\n"
		"      --check           validate --config and exit\n"
		"      --teardown        detach from every interface, remove the pins and exit\n"
		"                        (every flow loses its connection entry)\n"
		"  -h, --help            this text\n"
		"  -V, --version         print the version\n"
		"cellgated keeps the data plane running when it exits (fail-static); a new\n"
		"cellgated adopts the pinned maps and moves no flow.\n",
		CGD_STATE_DIR, CG_DP_PIN_DIR, CG_CTL_DEFAULT_PATH);
}

/* ---- next hops ---- */

static bool iface_served(const struct cgd *d, const struct cg_nexthop *nh)
{
	size_t i;

	for (i = 0; i < d->nifaces; i++)
		if (d->ifaces[i].ifindex &&
		    (d->ifaces[i].ifindex == nh->ifindex ||
		     (nh->vlan && d->ifaces[i].ifindex == nh->lower_ifindex)))
			return true;
	return false;
}

/* Resolve one cell's gateway; log what changed. Returns true if the usable MAC changed. */
static bool resolve_cell(struct cgd *d, const struct cg_cell_cfg *c)
{
	struct cgd_nexthop *n = &d->nexthops[c->id], old = *n;
	char gw[64];

	n->err = cg_nl_resolve(d->nl, &c->gw, &n->nh);
	if (!n->err && !iface_served(d, &n->nh))
		n->err = -EXDEV;
	if (n->err == old.err && (n->err || !memcmp(n->nh.mac, old.nh.mac, 6)))
		return false;
	cg_view_addr(&c->gw, gw, sizeof(gw));
	if (!n->err)
		cgd_log("cell %s: next hop for %s is %02x:%02x:%02x:%02x:%02x:%02x%s", c->name, gw,
			n->nh.mac[0], n->nh.mac[1], n->nh.mac[2], n->nh.mac[3], n->nh.mac[4],
			n->nh.mac[5], n->nh.vlan ? " (vlan)" : "");
	else if (n->err == -EAGAIN)
		cgd_log("cell %s: resolving the next hop for %s", c->name, gw);
	else if (n->err == -EXDEV)
		cgd_log("cell %s: %s is reached through an interface cellgated does not serve; "
			"XDP_TX can only send out the receiving interface",
			c->name, gw);
	else
		cgd_log("cell %s: no next hop for %s: %s", c->name, gw, strerror(-n->err));
	return (n->err == 0) != (old.err == 0) || !n->err;
}

void cgd_resolve_all(struct cgd *d)
{
	size_t i;

	for (i = 0; i < d->st.ncells; i++)
		if (d->st.cells[i].id < CG_MAX_CELLS)
			resolve_cell(d, &d->st.cells[i]);
}

static int nh_lookup(void *arg, const struct cg_cell_cfg *c, uint8_t mac[6], uint16_t *vlan)
{
	struct cgd *d = arg;
	const struct cgd_nexthop *n = &d->nexthops[c->id];

	if (n->err)
		return -EAGAIN;
	memcpy(mac, n->nh.mac, 6);
	*vlan = n->nh.vlan;
	return 0;
}

static void retry_timer(struct cg_loop *loop, void *arg);

static void arm_retry(struct cgd *d)
{
	size_t i;

	if (d->retry_armed)
		return;
	if (d->rec_failed) {
		if (cg_loop_timer(d->loop, CGD_RETRY_MS, retry_timer, d) >= 0)
			d->retry_armed = true;
		return;
	}
	for (i = 0; i < d->st.ncells; i++)
		if (d->nexthops[d->st.cells[i].id].err) {
			if (cg_loop_timer(d->loop, CGD_RETRY_MS, retry_timer, d) >= 0)
				d->retry_armed = true;
			return;
		}
}

/* Operator shed levels past their expiry leave the desired state (logged, persisted). */
static void expiry_timer(struct cg_loop *loop, void *arg)
{
	struct cgd *d = arg;
	int64_t now = (int64_t)time(NULL);
	struct cg_state next;
	char err[256], level[16];
	size_t i, n = 0;

	d->expiry_id = -1;
	if (cg_state_copy(&next, &d->st)) {
		cgd_log("cannot expire shed levels: out of memory");
		return;
	}
	for (i = 0; i < next.nshed; i++) {
		const struct cg_shed_cfg *e = &next.shed[i];

		if (!e->expires || e->expires > now) {
			next.shed[n++] = *e;
			continue;
		}
		cg_level_format(e->level_ppm, level, sizeof(level));
		cgd_log("shed level %s for %s/%u expired (set by %s: %s)", level, e->cell, e->class,
			e->by, e->reason);
	}
	if (n == next.nshed) {
		cg_state_free(&next);
		cgd_reconcile(d, "shed expiry check", err, sizeof(err));
		return;
	}
	next.nshed = n;
	if (cgd_commit(d, &next, "shed level expired", false, NULL, NULL, err, sizeof(err)) < 0)
		cgd_log("cannot expire shed levels: %s", err);
	cg_state_free(&next);
}

/* Does st hold an operator level already past its expiry (loaded after downtime, applied)? */
static bool shed_expired(const struct cg_state *st)
{
	int64_t now = (int64_t)time(NULL);
	size_t i;

	for (i = 0; i < st->nshed; i++)
		if (st->shed[i].expires && st->shed[i].expires <= now)
			return true;
	return false;
}

/* Wake up when the next operator level expires. */
static void arm_expiry(struct cgd *d, int64_t when)
{
	int64_t now = (int64_t)time(NULL);

	if (d->expiry_id >= 0)
		cg_loop_timer_cancel(d->loop, d->expiry_id);
	d->expiry_id = -1;
	if (!when)
		return;
	d->expiry_id = cg_loop_timer(d->loop, when > now ? (uint64_t)(when - now) * 1000 + 20 : 20,
				     expiry_timer, d);
}

int cgd_reconcile(struct cgd *d, const char *cause, char *err, size_t errlen)
{
	struct cg_rec_report rep;
	int ret;

	ret = cg_rec_apply(d->rec, &d->st, nh_lookup, d, &rep, err, errlen);
	d->last_rec = rep;
	d->rec_failed = ret != 0;
	if (ret) {
		cgd_log("reconcile (%s) failed: %s; retrying every %d ms", cause, err,
			CGD_RETRY_MS);
		arm_retry(d);
		return ret;
	}
	if (cg_rec_writes(&rep))
		cgd_log("reconcile (%s): wrote settings %u, cells %u, tables %u (removed %u), "
			"service keys %u (removed %u), shed levels %u, classes %u, rules %u "
			"(removed %u)",
			cause, rep.settings, rep.cells, rep.tables, rep.tables_del, rep.keys,
			rep.keys_del, rep.shed, rep.classes, rep.rules, rep.rules_del);
	if (rep.unready)
		cgd_log("reconcile (%s): %u cell(s) kept out of the tables until their next hop "
			"resolves, e.g. %s",
			cause, rep.unready, rep.first_unready);
	arm_retry(d);
	arm_expiry(d, shed_expired(&d->st) ? (int64_t)time(NULL) : rep.next_expiry);
	return 0;
}

static void retry_timer(struct cg_loop *loop, void *arg)
{
	struct cgd *d = arg;
	char err[256];
	bool changed = false;
	size_t i;

	d->retry_armed = false;
	for (i = 0; i < d->st.ncells; i++)
		if (d->nexthops[d->st.cells[i].id].err)
			changed |= resolve_cell(d, &d->st.cells[i]);
	if (changed || d->rec_failed)
		cgd_reconcile(d, "next hop resolved", err, sizeof(err));
	else
		arm_retry(d);
}

static void nl_event(void *arg, const struct cg_addr *addr, int ifindex, const uint8_t mac[6],
		     bool usable)
{
	struct cgd *d = arg;
	size_t i;

	if (!addr)
		return; /* link events: next hops are followed through their neighbours */
	for (i = 0; i < d->st.ncells; i++) {
		const struct cg_cell_cfg *c = &d->st.cells[i];
		struct cgd_nexthop *n = &d->nexthops[c->id];

		if (n->err != 0 && n->err != -EAGAIN)
			continue;
		if (n->nh.ifindex != ifindex || memcmp(&n->nh.via, addr, sizeof(*addr)))
			continue;
		if (usable && (n->err || memcmp(n->nh.mac, mac, 6))) {
			memcpy(n->nh.mac, mac, 6);
			n->err = 0;
			cgd_log("cell %s: next hop is now %02x:%02x:%02x:%02x:%02x:%02x", c->name,
				mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
			d->nh_changed = true;
		}
		/* an unusable neighbour keeps its last MAC: the kernel will re-resolve it */
	}
}

static void nl_readable(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct cgd *d = arg;
	char err[256];
	int ret;

	d->nh_changed = false;
	ret = cg_nl_monitor_read(d->nl, nl_event, d);
	if (ret == -ENOBUFS) {
		cgd_log("rtnetlink events overran: resolving every next hop again");
		cgd_resolve_all(d);
		d->nh_changed = true;
	}
	if (d->nh_changed)
		cgd_reconcile(d, "neighbour change", err, sizeof(err));
}

/* ---- interfaces ---- */

static int attach_one(struct cgd *d, struct cgd_iface *ifc, int mode)
{
	int ifindex = (int)if_nametoindex(ifc->name), ret;

	if (!ifindex) {
		cgd_log("cannot attach to '%s': no such interface", ifc->name);
		return -ENODEV;
	}
	if (mode == CG_XDP_GENERIC) {
		ret = cg_dp_attach(d->dp, ifindex, XDP_FLAGS_SKB_MODE);
		ifc->mode = "generic";
	} else {
		ret = cg_dp_attach(d->dp, ifindex, XDP_FLAGS_DRV_MODE);
		ifc->mode = "native";
		if (ret && mode == CG_XDP_AUTO) {
			cgd_log("warning: native XDP on '%s' failed (%s); falling back to generic "
				"mode, which is much slower",
				ifc->name, strerror(-ret));
			ret = cg_dp_attach(d->dp, ifindex, XDP_FLAGS_SKB_MODE);
			ifc->mode = "generic";
		}
	}
	if (ret) {
		cgd_log("cannot attach to '%s': %s", ifc->name, strerror(-ret));
		return ret;
	}
	ifc->ifindex = ifindex;
	cgd_log("attached to %s (ifindex %d, %s XDP)", ifc->name, ifindex, ifc->mode);
	return 0;
}

/* Attach to the interfaces st names, detach from those it no longer does. */
static int sync_ifaces(struct cgd *d)
{
	struct cgd_iface keep[CG_MAX_IFACES];
	size_t i, j, n = 0;
	int mode = d->xdp_mode >= 0 ? d->xdp_mode : d->st.xdp_mode, ret = 0;

	for (i = 0; i < d->nifaces; i++) {
		for (j = 0; j < d->st.nifaces; j++)
			if (!strcmp(d->ifaces[i].name, d->st.ifaces[j]))
				break;
		if (j < d->st.nifaces) {
			keep[n++] = d->ifaces[i];
			continue;
		}
		if (d->ifaces[i].ifindex && cg_dp_detach(d->dp, d->ifaces[i].ifindex) == 0)
			cgd_log("detached from %s", d->ifaces[i].name);
	}
	for (j = 0; j < d->st.nifaces; j++) {
		for (i = 0; i < n; i++)
			if (!strcmp(keep[i].name, d->st.ifaces[j]))
				break;
		if (i < n)
			continue;
		memset(&keep[n], 0, sizeof(keep[n]));
		snprintf(keep[n].name, sizeof(keep[n].name), "%s", d->st.ifaces[j]);
		if (attach_one(d, &keep[n], mode) && !ret)
			ret = -ENODEV;
		n++;
	}
	memcpy(d->ifaces, keep, sizeof(keep));
	d->nifaces = n;
	return ret;
}

/* ---- desired state ---- */

struct diff_ctx {
	json_t *arr; /* the changes, as JSON objects {op, kind, name, detail} */
	size_t n;
};

static void diff_emit(void *arg, char op, const char *kind, const char *name, const char *detail)
{
	struct diff_ctx *c = arg;

	c->n++;
	json_array_append_new(c->arr,
			      json_pack("{s:s%, s:s, s:s, s:s}", "op", &op, (size_t)1, "kind", kind,
					"name", name, "detail", detail ? detail : ""));
}

/* One log line per change, with who caused it. */
static void log_changes(const json_t *arr, const char *cause)
{
	const json_t *ch;
	size_t i;

	json_array_foreach(arr, i, ch)
		cgd_log("change (%s): %s %s %s %s", cause,
			json_string_value(json_object_get(ch, "op")),
			json_string_value(json_object_get(ch, "kind")),
			json_string_value(json_object_get(ch, "name")),
			json_string_value(json_object_get(ch, "detail")));
}

/* Drop "request:12: " from a parser message about a state we serialised ourselves. */
static void strip_location(char *err)
{
	char *p = strstr(err, ": ");

	if (!strncmp(err, "request:", 8) && p)
		memmove(err, p + 2, strlen(p + 2) + 1);
}

int cgd_commit(struct cgd *d, struct cg_state *next, const char *cause, bool dry_run,
	       json_t **changes, json_t **written, char *err, size_t errlen)
{
	struct cg_state parsed;
	struct diff_ctx dc = { 0 };
	char *buf = NULL, rerr[256];

	size_t len = 0;
	FILE *mem;
	int ret;

	cg_state_init(&parsed);
	ret = cg_state_assign_ids(next, &d->st);
	if (ret) {
		snprintf(err, errlen, "cannot assign ids: %s",
			 ret == -ENOSPC ? "too many objects" : "an explicit id is taken");
		return ret;
	}
	/* one validation path: what the config parser accepts */
	mem = open_memstream(&buf, &len);
	if (!mem)
		return -ENOMEM;
	ret = cg_state_write(next, mem);
	if (fclose(mem) && !ret)
		ret = -ENOMEM;
	if (!ret)
		ret = cg_config_parse_buf("request", buf, len, &parsed, err, errlen);
	free(buf);
	if (ret) {
		strip_location(err);
		return ret;
	}
	parsed.generation = d->st.generation;

	dc.arr = json_array();
	if (!dc.arr) {
		cg_state_free(&parsed);
		return -ENOMEM;
	}
	cg_state_diff(&d->st, &parsed, diff_emit, &dc);
	if (!dc.n || dry_run)
		goto done;
	parsed.generation = d->st.generation + 1;
	ret = cg_state_save(&parsed, d->state_path, err, errlen);
	if (ret) {
		cgd_log("refused (%s): %s", cause, err);
		goto done;
	}
	log_changes(dc.arr, cause);
	cg_state_free(&d->st);
	d->st = parsed;
	cg_state_init(&parsed);
	cg_state_free(next);
	cg_state_init(next);

	sync_ifaces(d);
	cgd_resolve_all(d);
	ret = cgd_reconcile(d, cause, rerr, sizeof(rerr));
	if (written)
		*written = json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "shed_levels",
			(json_int_t)d->last_rec.shed, "classes", (json_int_t)d->last_rec.classes,
			"rules", (json_int_t)d->last_rec.rules, "rules_removed",
			(json_int_t)d->last_rec.rules_del, "settings",
			(json_int_t)d->last_rec.settings, "cells", (json_int_t)d->last_rec.cells,
			"tables", (json_int_t)d->last_rec.tables, "tables_removed",
			(json_int_t)d->last_rec.tables_del, "service_keys",
			(json_int_t)d->last_rec.keys, "service_keys_removed",
			(json_int_t)d->last_rec.keys_del, "unready_cells",
			(json_int_t)d->last_rec.unready);
	if (ret) /* persisted: the retry timer and the next change finish the job */
		snprintf(err, errlen, "saved, but the data plane refused it: %s", rerr);
done:
	cg_state_free(&parsed);
	if (!ret && changes)
		*changes = json_incref(dc.arr);
	json_decref(dc.arr);
	return ret ? ret : (int)dc.n;
}

/* The persisted state, or the config to start from. Touches no map. */
static int load_state(struct cgd *d, char *err, size_t errlen)
{
	int ret;

	ret = cg_state_load(d->state_path, &d->st, err, errlen);
	if (!ret) {
		cgd_log("desired state: %s (generation %llu)%s", d->state_path,
			(unsigned long long)d->st.generation,
			d->config_path ? "; --config is only read on a first start, "
					 "'cellctl config apply' changes a running one" :
					 "");
		return 0;
	}
	if (ret != -ENOENT)
		return ret; /* corrupt or unreadable: refuse, change nothing */
	if (!d->config_path) {
		snprintf(err, errlen, "no state in '%.300s' and no --config to start from",
			 d->state_path);
		return -ENOENT;
	}
	ret = cg_config_parse(d->config_path, &d->st, err, errlen);
	if (ret)
		return ret;
	ret = cg_state_assign_ids(&d->st, NULL);
	if (ret) {
		snprintf(err, errlen, "'%s': cannot assign ids: %s", d->config_path,
			 strerror(-ret));
		return ret;
	}
	d->st.generation = 1;
	ret = cg_state_save(&d->st, d->state_path, err, errlen);
	if (!ret)
		cgd_log("desired state: %s, first start from %s", d->state_path, d->config_path);
	return ret;
}

static bool pins_exist(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/cells", dir);
	return access(path, F_OK) == 0;
}

static void on_signal(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		cgd_log("SIGHUP ignored: use 'cellctl config apply' to change the state");
		return;
	}
	cgd_log("signal %u: exiting; the data plane keeps forwarding on the pinned maps",
		si.ssi_signo);
	cg_loop_stop(loop);
}

static void ctl_log(void *arg, int prio, const char *msg)
{
	if (prio <= LOG_WARNING)
		cgd_log("control socket: %s", msg);
}

static int teardown(const char *pin_dir)
{
	struct cg_dp_opts opts = { .pin_dir = pin_dir, .adopt = true };
	struct cg_dp *dp;
	int ret;

	if (!pins_exist(pin_dir)) {
		cgd_log("nothing pinned in '%s'", pin_dir);
		return 0;
	}
	dp = cg_dp_open(&opts);
	if (!dp)
		return -errno;
	ret = cg_dp_unpin(dp);
	cg_dp_close(dp);
	if (ret)
		cgd_log("cannot remove the pins in '%s': %s", pin_dir, strerror(-ret));
	else
		cgd_log("detached and unpinned '%s'", pin_dir);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ "check", no_argument, NULL, 'C' },
		{ "teardown", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cgd d = { .pin_dir = CG_DP_PIN_DIR,
			 .sock_path = CG_CTL_DEFAULT_PATH,
			 .xdp_mode = -1 };
	struct cg_ctl_opts copts = { .server = "cellgated",
				     .version = CGD_VERSION,
				     .log = ctl_log };
	const char *state_dir = CGD_STATE_DIR;
	bool check = false, do_teardown = false;
	char err[512];
	sigset_t mask;
	int opt, sfd = -1, ret = 1;

	while ((opt = getopt_long(argc, argv, "c:d:p:s:m:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'd':
			state_dir = optarg;
			break;
		case 'p':
			d.pin_dir = optarg;
			break;
		case 's':
			d.sock_path = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "auto"))
				d.xdp_mode = CG_XDP_AUTO;
			else if (!strcmp(optarg, "native"))
				d.xdp_mode = CG_XDP_NATIVE;
			else if (!strcmp(optarg, "generic"))
				d.xdp_mode = CG_XDP_GENERIC;
			else {
				fprintf(stderr,
					"cellgated: bad --xdp-mode '%s' (auto, native, generic)\n",
					optarg);
				return 2;
			}
			break;
		case 'C':
			check = true;
			break;
		case 'T':
			do_teardown = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cellgated %s\n", CGD_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cellgated: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	cg_state_init(&d.st);

	if (check) {
		if (!d.config_path) {
			fprintf(stderr, "cellgated: --check needs --config\n");
			return 2;
		}
		ret = cg_config_parse(d.config_path, &d.st, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "cellgated: %s\n", err);
			return 1;
		}
		printf("%s: ok\n", d.config_path);
		cg_state_free(&d.st);
		return 0;
	}
	if (do_teardown)
		return teardown(d.pin_dir) ? 1 : 0;

	snprintf(d.state_path, sizeof(d.state_path), "%s/%s", state_dir, CGD_STATE_FILE);
	if (mkdir(state_dir, 0700) && errno != EEXIST) {
		cgd_log("cannot create '%s': %s", state_dir, strerror(errno));
		return 1;
	}
	if (load_state(&d, err, sizeof(err))) {
		cgd_log("%s", err);
		cgd_log("refusing to start; the data plane is left exactly as it is");
		return 1;
	}

	d.adopted = pins_exist(d.pin_dir);
	d.dp = cg_dp_open(&(struct cg_dp_opts){
		.pin_dir = d.pin_dir, .conntrack_size = d.st.conntrack_size, .adopt = d.adopted });
	if (!d.dp) {
		if (errno == EPROTO)
			cgd_log("the maps pinned in '%s' do not match this build; "
				"'cellgated --teardown' removes them (every flow loses its entry)",
				d.pin_dir);
		goto out;
	}
	cgd_log("%s the data plane in %s", d.adopted ? "adopted" : "created", d.pin_dir);
	d.rec = cg_rec_new(d.dp);
	d.nexthops = calloc(CG_MAX_CELLS, sizeof(*d.nexthops));
	d.loop = cg_loop_new();
	if (!d.rec || !d.nexthops || !d.loop) {
		cgd_log("cannot start: %s", strerror(errno ? errno : ENOMEM));
		goto out;
	}
	d.nl = cg_nl_open();
	if (!d.nl) {
		cgd_log("cannot open rtnetlink: %s", strerror(errno));
		goto out;
	}
	d.started_ms = cg_loop_now_ms();

	/* attach first, so next hops can be checked against the served interfaces */
	for (size_t i = 0; i < d.st.nifaces; i++) {
		snprintf(d.ifaces[i].name, sizeof(d.ifaces[i].name), "%s", d.st.ifaces[i]);
		if (attach_one(&d, &d.ifaces[i], d.xdp_mode >= 0 ? d.xdp_mode : d.st.xdp_mode))
			goto out;
	}
	d.nifaces = d.st.nifaces;
	cgd_resolve_all(&d);
	if (cgd_reconcile(&d, d.adopted ? "adopt" : "start", err, sizeof(err)))
		goto out;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || cg_loop_add(d.loop, sfd, EPOLLIN, on_signal, &d) ||
	    cg_loop_add(d.loop, cg_nl_monitor_fd(d.nl), EPOLLIN, nl_readable, &d)) {
		cgd_log("cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	d.ctl = cg_ctl_server_new(d.loop, d.sock_path, cgd_cmds, cgd_ncmds, &d, &copts);
	if (!d.ctl) {
		cgd_log("cannot serve '%s': %s", d.sock_path, strerror(errno));
		goto out;
	}
	cgd_log("ready: %zu services, %zu cells, control socket %s", d.st.nservices, d.st.ncells,
		d.sock_path);
	ret = cg_loop_run(d.loop) ? 1 : 0;
out:
	cg_ctl_server_free(d.ctl);
	if (sfd >= 0)
		close(sfd);
	cg_nl_close(d.nl);
	cg_loop_free(d.loop);
	cg_rec_free(d.rec);
	cg_dp_close(d.dp); /* pins and pinned links stay: fail-static */
	free(d.nexthops);
	cg_state_free(&d.st);
	return ret;
}
