// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* main.c - cellgated, the controller: owns the data plane, persists the desired state, reconciles, serves cellctl */
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
#include "cellgate/hashkey.h"
#include "cellgate/lock.h"
#include "cellgate/text.h"
#include "cellgate/view.h"
#include "cellgated.h"

/*
 * One log line: whatever a client or a file put in it is escaped here
 * (cg_escape: no control, no line break, no bidi), so no input can start a
 * line of its own or hide part of one. Fields a client controls are also
 * quoted at their call site (cg_show), so they cannot forge a field.
 */
void cgd_log(const char *fmt, ...)
{
	char msg[2048], line[4 * sizeof(msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cg_escape(line, sizeof(line), msg, strlen(msg), 0);
	fprintf(stderr, "%scellgated: %s\n", cgd_log_prefix(cgd_log_prio(msg)), line);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	fputs(cgd_log_prefix(level == LIBBPF_WARN ? LOG_WARNING : LOG_INFO), stderr);
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
		"  -k, --hash-key FILE   the fleet's secret flow hash key, mode 0600 (default:\n"
		"                        STATE_DIR/%s, generated at the first start)\n"
		"      --check           validate --config and exit\n"
		"      --teardown        detach from every interface, remove the pins and exit\n"
		"                        (every flow loses its connection entry)\n"
		"  -h, --help            this text\n"
		"  -V, --version         print the version\n"
		"cellgated keeps the data plane running when it exits (fail-static); a new\n"
		"cellgated adopts the pinned maps and moves no flow.\n",
		CG_STATE_DIR, CG_DP_PIN_DIR, CG_CTL_DEFAULT_PATH, CG_HASH_KEY_FILE);
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

/* Take the pin dir's lock; -1 (logged) if another cellgated holds it or it cannot be taken. */
static int lock_pins(const char *pin_dir)
{
	char path[PATH_MAX], what[384], err[512];
	int fd, ret;

	ret = cg_lock_path(NULL, pin_dir, path, sizeof(path));
	if (ret) {
		cgd_log("cannot lock pin directory '%.300s': %s", pin_dir, strerror(-ret));
		return -1;
	}
	snprintf(what, sizeof(what), "pin directory '%.300s'", pin_dir);
	fd = cg_lock_take(path, what, err, sizeof(err));
	if (fd < 0) {
		cgd_log("%s; refusing to start, nothing was changed", err);
		return -1;
	}
	return fd;
}

void cgd_fail_static(struct cgd *d, const char *why)
{
	snprintf(d->fail_static, sizeof(d->fail_static), "%s", why);
	cgd_log("fail-static: %s; the data plane is left exactly as it is (pins adopted, nothing "
		"reconciled or detached) until 'cellctl config apply FILE' gives a valid state%s",
		why, d->st_valid ? ", or every interface it names is there" : "");
	cgd_arm_heal(d);
}

/* The heal timer: are the state's interfaces all there? Then commit it again. */
static void heal_due(struct cg_loop *loop, void *arg)
{
	struct cgd *d = arg;
	struct cg_state next;
	char err[512];
	size_t i;

	(void)loop;
	d->heal_id = 0;
	if (!d->fail_static[0] || !d->st_valid)
		return;
	for (i = 0; i < d->st.nifaces; i++)
		if (!if_nametoindex(d->st.ifaces[i])) {
			cgd_arm_heal(d);
			return;
		}
	if (cg_state_copy(&next, &d->st)) {
		cgd_arm_heal(d);
		return;
	}
	if (cgd_commit(d, &next, "its interfaces are there", false, NULL, NULL, err, sizeof(err)) <
	    0)
		cgd_log("fail-static: leaving it failed: %s", err);
	cg_state_free(&next);
	if (d->fail_static[0])
		cgd_arm_heal(d);
	else
		d->heal_ms = 0;
}

void cgd_arm_heal(struct cgd *d)
{
	int id, half;

	if (d->heal_id > 0 || !d->loop || !d->st_valid || !d->fail_static[0])
		return;
	d->heal_ms = !d->heal_ms		       ? CGD_HEAL_MS :
		     d->heal_ms >= CGD_HEAL_MAX_MS / 2 ? CGD_HEAL_MAX_MS :
							 2 * d->heal_ms;
	half = d->heal_ms / 2;
	/* jittered: LBs that lost a shared interface at once do not all retry together */
	id = cg_loop_timer(d->loop, (uint64_t)(half + random() % (half + 1)), heal_due, d);
	if (id > 0)
		d->heal_id = id;
}

int cgd_dp_start(struct cgd *d)
{
	d->adopted = pins_exist(d->pin_dir);
	d->dp = cg_dp_open(&(struct cg_dp_opts){ .pin_dir = d->pin_dir,
						 .conntrack_size = d->st.conntrack_size,
						 .adopt = d->adopted });
	if (!d->dp) {
		if (errno == EPROTO)
			cgd_log("the maps pinned in '%s' do not match this build; "
				"'cellgated --teardown' removes them (every flow loses its entry)",
				d->pin_dir);
		return -1;
	}
	cgd_log("%s the data plane in %s", d->adopted ? "adopted" : "created", d->pin_dir);
	d->rec = cg_rec_new(d->dp);
	if (!d->rec) {
		cgd_log("cannot start: %s", strerror(errno ? errno : ENOMEM));
		return -1;
	}
	cg_rec_set_seeds(d->rec, d->seed_cell, d->seed_admit);
	cg_rec_set_overlay(d->rec, d->ov);
	return 0;
}

int cgd_fill_recreated(struct cgd *d)
{
	struct cgd_iface saved[CG_MAX_IFACES];
	size_t nsaved = d->nifaces, i;
	char err[512];
	int ret;

	if (!d->dp || !cg_dp_recreated(d->dp))
		return 0;
	/* next hops are checked against the served interfaces: those about to run the program */
	memcpy(saved, d->ifaces, sizeof(saved));
	memset(d->ifaces, 0, sizeof(d->ifaces));
	for (i = 0; i < d->st.nifaces && i < CG_MAX_IFACES; i++) {
		snprintf(d->ifaces[i].name, sizeof(d->ifaces[i].name), "%s", d->st.ifaces[i]);
		d->ifaces[i].ifindex = (int)if_nametoindex(d->st.ifaces[i]);
	}
	d->nifaces = i;
	cgd_resolve_all(d);
	ret = cgd_reconcile(d, "upgrade: fill the recreated maps", err, sizeof(err));
	memcpy(d->ifaces, saved, sizeof(saved));
	d->nifaces = nsaved;
	if (ret)
		cgd_log("cannot fill the %u recreated map(s): %s; nothing is attached, the running "
			"program keeps its maps",
			cg_dp_recreated(d->dp), err);
	return ret ? -1 : 0;
}

void cgd_pin_recreated(struct cgd *d)
{
	unsigned int n = d->dp ? cg_dp_recreated(d->dp) : 0;
	int ret;

	if (!n)
		return;
	ret = cg_dp_pin_recreated(d->dp);
	if (ret)
		cgd_log("warning: cannot replace the pins of the recreated maps in '%s': %s; the "
			"next start recreates them again",
			d->pin_dir, strerror(-ret));
	else
		cgd_log("replaced the pins of %u recreated map(s) in '%s'", n, d->pin_dir);
}

/*
 * The flow hash seeds from the key at path, or without one from the state
 * directory's key, generated at the first start. Logs its fingerprint, never
 * the key; -1 (logged) if the key cannot be had.
 */
static int load_hash_key(struct cgd *d, const char *path, const char *state_dir)
{
	char own[PATH_MAX], err[PATH_MAX + 128], fp[CG_HASH_KEY_FP];
	struct cg_hash_key key;
	bool made = false;
	int ret;

	if (!path) {
		snprintf(own, sizeof(own), "%s/%s", state_dir, CG_HASH_KEY_FILE);
		path = own;
		ret = cg_hash_key_load(path, &key, err, sizeof(err));
		if (ret == -ENOENT) {
			ret = cg_hash_key_create(path, &key, err, sizeof(err));
			made = !ret;
		}
	} else {
		ret = cg_hash_key_load(path, &key, err, sizeof(err));
	}
	if (ret) {
		cgd_log("%s; refusing to start, nothing was changed", err);
		return -1;
	}
	cg_hash_key_seeds(&key, &d->seed_cell, &d->seed_admit);
	cg_hash_key_fingerprint(&key, fp);
	memset(&key, 0, sizeof(key));
	snprintf(d->key_fp, sizeof(d->key_fp), "%s", fp);
	if (made)
		cgd_log("generated a hash key in '%s' (fingerprint %s): every LB of a fleet must "
			"share one key (--hash-key), or their cell choices and shed decisions differ",
			path, fp);
	else
		cgd_log("hash key '%s' (fingerprint %s)", path, fp);
	return 0;
}

static int teardown(const char *pin_dir)
{
	int ret;

	if (!pins_exist(pin_dir)) {
		cgd_log("nothing pinned in '%s'", pin_dir);
		return 0;
	}
	/* by name, not by adopting: pins of another build's layout go too */
	ret = cg_dp_unpin_dir(pin_dir);
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
		{ "hash-key", required_argument, NULL, 'k' },
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
	const char *state_dir = CG_STATE_DIR, *key_path = NULL;
	bool check = false, do_teardown = false;
	char err[512];
	sigset_t mask;
	char lock_path[PATH_MAX], what[384];
	int opt, sfd = -1, ret = 1, pin_lock = -1, state_lock = -1;

	while ((opt = getopt_long(argc, argv, "c:d:p:s:m:k:hV", longopts, NULL)) != -1) {
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
		case 'k':
			key_path = optarg;
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
	/* one cellgated per pin dir and per state dir, checked before anything is touched */
	pin_lock = lock_pins(d.pin_dir);
	if (pin_lock < 0)
		return 1;
	if (do_teardown) {
		ret = teardown(d.pin_dir) ? 1 : 0;
		close(pin_lock);
		return ret;
	}

	snprintf(d.state_path, sizeof(d.state_path), "%s/%s", state_dir, CG_STATE_FILE);
	if (mkdir(state_dir, 0700) && errno != EEXIST) {
		cgd_log("cannot create '%s': %s", state_dir, strerror(errno));
		return 1;
	}
	if (cg_dir_check_safe(state_dir, "state directory", err, sizeof(err))) {
		cgd_log("%s; refusing to start, nothing was changed", err);
		return 1;
	}
	snprintf(lock_path, sizeof(lock_path), "%s/%s", state_dir, CG_LOCK_FILE);
	snprintf(what, sizeof(what), "state directory '%.300s'", state_dir);
	state_lock = cg_lock_take(lock_path, what, err, sizeof(err));
	if (state_lock < 0) {
		cgd_log("%s; refusing to start, nothing was changed", err);
		return 1;
	}
	ret = cg_state_tmp_clean(d.state_path, err, sizeof(err));
	if (ret > 0)
		cgd_log("removed %d temp file(s) an interrupted save left in '%.300s'", ret,
			state_dir);
	else if (ret < 0)
		cgd_log("%s (continuing)", err);
	ret = 1;
	if (load_hash_key(&d, key_path, state_dir))
		return 1;
	d.st_valid = true;
	if (cgd_load_state(&d, err, sizeof(err))) {
		cgd_fail_static(&d, err);
		cg_state_free(&d.st);
		cg_state_init(&d.st);
		d.st_valid = false;
	}

	/* fail-static without pins: nothing to adopt, and nothing is created until a repair */
	if ((d.st_valid || pins_exist(d.pin_dir)) && cgd_dp_start(&d))
		goto out;
	d.nexthops = calloc(CG_MAX_CELLS, sizeof(*d.nexthops));
	d.loop = cg_loop_new();
	if (!d.nexthops || !d.loop) {
		cgd_log("cannot start: %s", strerror(errno ? errno : ENOMEM));
		goto out;
	}
	d.nl = cg_nl_open();
	if (!d.nl) {
		cgd_log("cannot open rtnetlink: %s", strerror(errno));
		goto out;
	}
	d.started_ms = cg_loop_now_ms();
	if (cgd_health_init(&d)) {
		cgd_log("cannot start the health prober: %s", strerror(errno ? errno : ENOMEM));
		goto out;
	}
	srandom((unsigned int)getpid() ^ (unsigned int)d.started_ms); /* retry jitter only */

	/* every interface must be there before any is touched: else fail-static, as it is */
	for (size_t i = 0; i < d.st.nifaces && d.st_valid && !d.fail_static[0]; i++)
		if (!if_nametoindex(d.st.ifaces[i])) {
			snprintf(err, sizeof(err), "cannot attach to '%s': no such interface",
				 d.st.ifaces[i]);
			cgd_fail_static(&d, err);
		}
	if (!d.fail_static[0])
		cgd_drop_stale_links(&d);
	/* an upgrade that recreated maps: filled before any interface runs the new program */
	if (!d.fail_static[0] && cgd_fill_recreated(&d))
		goto out;
	/* attach first, so next hops can be checked against the served interfaces */
	for (size_t i = 0; i < d.st.nifaces && !d.fail_static[0]; i++) {
		snprintf(d.ifaces[i].name, sizeof(d.ifaces[i].name), "%s", d.st.ifaces[i]);
		ret = cgd_attach_one(&d, &d.ifaces[i],
				     d.xdp_mode >= 0 ? d.xdp_mode : d.st.xdp_mode);
		if (ret) {
			snprintf(err, sizeof(err), "cannot attach to '%s': %s", d.st.ifaces[i],
				 strerror(-ret));
			cgd_fail_static(&d, err);
			break;
		}
		d.nifaces = i + 1;
	}
	if (!d.fail_static[0])
		cgd_pin_recreated(&d);
	ret = 1;
	/* before the first reconcile: it takes over the controller levels the maps hold */
	if (cgd_bp_init(&d)) {
		cgd_log("cannot start the backpressure controller: %s", strerror(ENOMEM));
		goto out;
	}
	if (cgd_loc_init(&d)) {
		cgd_log("cannot start the locality policy: %s", strerror(ENOMEM));
		goto out;
	}
	if (!d.fail_static[0]) {
		cgd_resolve_all(&d);
		if (cgd_reconcile(&d, d.adopted ? "adopt" : "start", err, sizeof(err)))
			goto out;
	}
	if (cgd_fo_start(&d)) {
		cgd_log("cannot start: %s", strerror(ENOMEM));
		goto out;
	}
	cgd_fo_resume(&d); /* a region transition a crash cut in half: finished or undone */

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || cg_loop_add(d.loop, sfd, EPOLLIN, on_signal, &d) ||
	    cg_loop_add(d.loop, cg_nl_monitor_fd(d.nl), EPOLLIN, cgd_nl_readable, &d)) {
		cgd_log("cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	d.ctl = cg_ctl_server_new(d.loop, d.sock_path, cgd_cmds, cgd_ncmds, &d, &copts);
	if (!d.ctl) {
		cgd_log("cannot serve '%s': %s", d.sock_path, strerror(errno));
		goto out;
	}
	if (cgd_metrics_init(&d)) {
		cgd_log("cannot start: %s", strerror(ENOMEM));
		goto out;
	}
	if (d.fail_static[0])
		cgd_log("ready, fail-static: %s; control socket %s", d.fail_static, d.sock_path);
	else
		cgd_log("ready: %zu services, %zu cells, control socket %s", d.st.nservices,
			d.st.ncells, d.sock_path);
	cgd_notify_ready(&d);
	ret = cg_loop_run(d.loop) ? 1 : 0;
	cgd_notify_stopping(&d);
out:
	cgd_metrics_free(&d);
	cg_ctl_server_free(d.ctl);
	if (sfd >= 0)
		close(sfd);
	cg_nl_close(d.nl);
	cgd_health_free(&d);
	cgd_bp_free(&d);
	cgd_loc_free(&d);
	cgd_fo_stop(&d);
	cg_loop_free(d.loop);
	cg_rec_free(d.rec);
	cg_dp_close(d.dp); /* pins and pinned links stay: fail-static */
	free(d.nexthops);
	cg_state_free(&d.st);
	/* the locks go last: no second cellgated may start while this one still holds anything */
	if (state_lock >= 0)
		close(state_lock);
	if (pin_lock >= 0)
		close(pin_lock);
	return ret;
}
