// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * backpressure.c - cellgated's backpressure controller: the cells' load
 * reports on a UDP socket, a control step every period, its levels into the
 * maps.
 *
 * The library (cellgate/backpressure.h, report.h) decides everything; this
 * file feeds it: each datagram is checked against the reporting cell's
 * configured address (its gateway) before the library sees it, with the
 * shared key read from backpressure.key_file; a timer every period_ms runs
 * cg_bp_step() on the offered load failover.c keeps (d->load_ewma) and the
 * levels that apply now (operator levels win), and hands the auto cells'
 * levels to the reconciler. Those levels are runtime state, never persisted:
 * if cellgated stops the maps keep them as they were (fail-static); a
 * restarted cellgated starts the controller from nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cellgate/backpressure.h"
#include "cellgate/dataplane.h"
#include "cellgate/locality.h"
#include "cellgate/names.h"
#include "cellgate/netlink.h"
#include "cellgate/report.h"
#include "cellgate/shed.h"
#include "cellgate/stats.h"
#include "cellgate/text.h"
#include "cellgated.h"

#define BP_LOG_MS    10000 /* refused reports are summed up in one line at most this often */
#define BP_CHANGES   (CG_MAX_CELLS * CG_MAX_CLASSES) /* changes one step can report */
#define BP_KEY_BYTES 256 /* a key file larger than this is not a key file */

/* Why a datagram was refused (the counters' index); keep in sync with refuse_names. */
enum bp_refuse {
	BP_R_SOURCE = 0, /* not from the reporting cell's configured address */
	BP_R_MALFORMED,	 /* did not decode */
	BP_R_AUTH,	 /* tag missing, unexpected or wrong */
	BP_R_UNKNOWN,	 /* no cell of the state has its id */
	BP_R_REPLAYED,	 /* not newer than the last accepted */
	BP_R_SKEWED,	 /* timestamp too far from the LB's clock */
	BP_R_LIMITED,	 /* over the cell's rate */
	BP_R_KEY,	 /* the key file could not be read: nothing is accepted */
	BP_R_MAX,
};

static const char *const refuse_names[BP_R_MAX] = {
	"source", "malformed", "auth", "unknown_cell", "replayed", "skewed", "limited", "no_key",
};

/* What cellgated adds to the library's record of one cell. */
struct bp_cell {
	uint64_t accepted;	    /* reports accepted */
	uint64_t refused[BP_R_MAX]; /* refused, by reason */
	char last_refused[192];	    /* the last refusal's line */
};

/* The receive side of one interface cellgated attached to, as the controller sees it. */
struct bp_link {
	char name[IF_NAMESIZE]; /* the interface; "" unused */
	int ifindex;		/* what it had when sampled */
	int err;		/* the last cg_nl_link_stats(): 0 or -errno */
	struct cg_bp_link l;	/* its smoothed rates */
};

struct cgd_bp {
	struct cg_bp *bp;		     /* the controller */
	struct cg_stats_snap *snap;	     /* the cells' and services' counters, read each step */
	struct bp_link links[CG_MAX_IFACES]; /* by position in d->ifaces */
	int fd4, fd6;			     /* the report sockets, -1 if none */
	uint16_t port;			     /* what they are bound to; 0: none */
	struct cg_addr src4, src6;	     /* ... on these addresses */
	int timer_id;			     /* the step's timer, 0 if none */
	uint32_t period_ms;		     /* of the timer armed */
	char key_file[CG_BP_KEY_FILE_MAX];   /* the key file read last */
	bool keyed;			     /* key holds its content */
	char key_err[256];		     /* why the key file is not usable, or "" */
	uint8_t key[CG_REPORT_KEY];	     /* the shared key */
	uint64_t refused[BP_R_MAX];	     /* every refusal, by reason (cell or not) */
	uint64_t accepted;		     /* every accepted report */
	uint64_t logged;		     /* refusals up to the last summary line */
	int64_t log_ms;			     /* when that line was written; 0: never */
	uint64_t steps;			     /* control steps run */
	struct bp_cell cells[CG_MAX_CELLS];  /* by cell id */
	struct cg_bp_change ch[BP_CHANGES];  /* the last step's changes */
};

/* The clock the controller runs on: unix ms, as report timestamps are. */
static int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cgd_bp_key_read(const char *path, uint8_t key[CG_REPORT_KEY], char *err, size_t errlen)
{
	char text[BP_KEY_BYTES + 1], why[160], shown[256];
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "backpressure.key_file '%s': cannot open: %s",
			 cg_show(path, shown, sizeof(shown)), strerror(-ret));
		return ret;
	}
	n = read(fd, text, sizeof(text) - 1);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret) {
		snprintf(err, errlen, "backpressure.key_file '%s': cannot read: %s",
			 cg_show(path, shown, sizeof(shown)), strerror(-ret));
		return ret;
	}
	text[n] = '\0';
	ret = cg_report_key_parse(text, key, why, sizeof(why));
	if (ret)
		snprintf(err, errlen, "backpressure.key_file '%s': %s",
			 cg_show(path, shown, sizeof(shown)), why);
	return ret;
}

int cgd_bp_check(const struct cg_state *next, char *err, size_t errlen)
{
	uint8_t key[CG_REPORT_KEY];
	int ret;

	if (!next->bp.key_file[0])
		return 0;
	ret = cgd_bp_key_read(next->bp.key_file, key, err, errlen);
	memset(key, 0, sizeof(key));
	if (ret) {
		size_t o = strlen(err);

		snprintf(err + o, errlen - o, "; nothing was changed");
		return -EINVAL;
	}
	return 0;
}

/* The state's cell with id, or NULL. */
static const struct cg_cell_cfg *cell_by_id(const struct cg_state *st, uint32_t id)
{
	for (size_t i = 0; i < st->ncells; i++)
		if (st->cells[i].id == id)
			return &st->cells[i];
	return NULL;
}

/* a is the cell's configured source of reports: its gateway. */
static bool from_cell(const struct cg_cell_cfg *c, const struct cg_addr *a)
{
	return c->gw.family == a->family && !memcmp(c->gw.a, a->a, sizeof(a->a));
}

static void refuse(struct cgd *d, struct cgd_bp *b, int cell, enum bp_refuse r, const char *why)
{
	b->refused[r]++;
	if (cell >= 0 && cell < CG_MAX_CELLS) {
		b->cells[cell].refused[r]++;
		size_t len = sizeof(b->cells[cell].last_refused);

		/* the line is cut, not the reason */
		snprintf(b->cells[cell].last_refused, len, "%s: %.*s", refuse_names[r],
			 (int)(len - 16), why);
	}
	(void)d;
}

/* One summary line of the refusals since the last one, at most every BP_LOG_MS. */
static void refusals_log(struct cgd_bp *b, int64_t now)
{
	uint64_t total = 0;
	char line[512];
	size_t o = 0;

	for (size_t r = 0; r < BP_R_MAX; r++)
		total += b->refused[r];
	if (total == b->logged || (b->log_ms && now - b->log_ms < BP_LOG_MS))
		return;
	for (size_t r = 0; r < BP_R_MAX && o < sizeof(line); r++)
		if (b->refused[r])
			o += (size_t)snprintf(line + o, sizeof(line) - o, " %s %llu",
					      refuse_names[r], (unsigned long long)b->refused[r]);
	cgd_log("backpressure: %llu report(s) refused since the last line; so far:%s",
		(unsigned long long)(total - b->logged), line);
	b->logged = total;
	b->log_ms = now;
}

/* One datagram from src. */
static void report_in(struct cgd *d, const uint8_t *buf, size_t len, const struct cg_addr *src)
{
	struct cgd_bp *b = d->bp;
	const struct cg_cell_cfg *c = NULL;
	struct cg_report r;
	int64_t now = unix_ms();
	char why[160];
	int sender = -1, ret;

	/* whose address it came from, to count what a cell's own address sends */
	for (size_t i = 0; i < d->st.ncells; i++)
		if (from_cell(&d->st.cells[i], src) && d->st.cells[i].id < CG_MAX_CELLS)
			sender = (int)d->st.cells[i].id;
	if (b->key_err[0]) {
		refuse(d, b, sender, BP_R_KEY, b->key_err);
		goto out;
	}
	ret = cg_report_decode(buf, len, b->keyed ? b->key : NULL, &r, why, sizeof(why));
	if (ret) {
		refuse(d, b, sender, ret == -EPERM ? BP_R_AUTH : BP_R_MALFORMED, why);
		goto out;
	}
	c = cell_by_id(&d->st, r.cell);
	if (!c) {
		snprintf(why, sizeof(why), "no cell has id %u", r.cell);
		refuse(d, b, sender, BP_R_UNKNOWN, why);
		goto out;
	}
	if (!from_cell(c, src)) {
		char a[INET6_ADDRSTRLEN] = "?";

		inet_ntop(src->family == CG_AF_INET ? AF_INET : AF_INET6, src->a, a, sizeof(a));
		snprintf(why, sizeof(why), "from %s, not the cell's gateway", a);
		refuse(d, b, (int)r.cell, BP_R_SOURCE, why);
		goto out;
	}
	ret = cg_bp_report(b->bp, &d->st.bp, buf, len, b->keyed ? b->key : NULL, now, why,
			   sizeof(why));
	switch (ret) {
	case 0:
		b->accepted++;
		b->cells[r.cell].accepted++;
		break;
	case -EALREADY:
		refuse(d, b, (int)r.cell, BP_R_REPLAYED, why);
		break;
	case -ERANGE:
		refuse(d, b, (int)r.cell, BP_R_SKEWED, why);
		break;
	case -EBUSY:
		refuse(d, b, (int)r.cell, BP_R_LIMITED, why);
		break;
	case -ENOENT:
		refuse(d, b, (int)r.cell, BP_R_UNKNOWN, why);
		break;
	case -EPERM:
		refuse(d, b, (int)r.cell, BP_R_AUTH, why);
		break;
	default:
		refuse(d, b, (int)r.cell, BP_R_MALFORMED, why);
		break;
	}
out:
	refusals_log(b, now);
}

static void readable(struct cg_loop *loop, int fd, uint32_t events, void *arg)
{
	struct cgd *d = arg;
	uint8_t buf[CG_REPORT_MAX + 1];

	(void)loop;
	(void)events;
	/* a bounded batch: a flood cannot hold the loop */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct cg_addr src = { 0 };
		ssize_t n =
			recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);

		if (n < 0)
			return;
		if (ss.ss_family == AF_INET) {
			src.family = CG_AF_INET;
			memcpy(src.a, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		} else if (ss.ss_family == AF_INET6) {
			const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;

			if (IN6_IS_ADDR_V4MAPPED(a6)) {
				src.family = CG_AF_INET;
				memcpy(src.a, &a6->s6_addr[12], 4);
			} else {
				src.family = CG_AF_INET6;
				memcpy(src.a, a6, 16);
			}
		}
		report_in(d, buf, (size_t)n, &src);
	}
}

static void sock_close(struct cgd *d, int *fd)
{
	if (*fd < 0)
		return;
	cg_loop_del(d->loop, *fd);
	close(*fd);
	*fd = -1;
}

/* A socket of family af bound to addr (unset: any) and port, on the loop; -1 logged. */
static int sock_open(struct cgd *d, int af, const struct cg_addr *addr, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	char a[INET6_ADDRSTRLEN] = "*";
	int fd, one = 1;

	fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (addr->family)
			memcpy(&s4->sin_addr, addr->a, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (addr->family)
			memcpy(&s6->sin6_addr, addr->a, 16);
		sl = sizeof(*s6);
	}
	if (addr->family)
		inet_ntop(af, addr->a, a, sizeof(a));
	if (bind(fd, (struct sockaddr *)&ss, sl) || cg_loop_add(d->loop, fd, EPOLLIN, readable, d))
		goto fail;
	cgd_log("backpressure: receiving cell load reports on udp %s%s%s:%u",
		af == AF_INET6 ? "[" : "", a, af == AF_INET6 ? "]" : "", port);
	return fd;
fail:
	cgd_log("backpressure: cannot receive reports on udp %s port %u: %s",
		af == AF_INET ? "ipv4" : "ipv6", port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static void step_due(struct cg_loop *loop, void *arg);

static void arm(struct cgd *d)
{
	struct cgd_bp *b = d->bp;
	int id;

	if (b->timer_id > 0)
		cg_loop_timer_cancel(d->loop, b->timer_id);
	b->period_ms = d->st.bp.period_ms ? d->st.bp.period_ms : CG_BP_PERIOD_DEF;
	id = cg_loop_timer(d->loop, b->period_ms, step_due, d);
	b->timer_id = id > 0 ? id : 0;
}

uint8_t cgd_bp_mode_of(const struct cg_state *st, const struct cg_cell_cfg *c)
{
	uint8_t own = 0;

	if (c->shed_mode != CG_BP_OWN_DEFAULT)
		return (uint8_t)(c->shed_mode - 1);
	for (size_t i = 0; i < st->nservices; i++) {
		const struct cg_service_cfg *s = &st->services[i];

		for (size_t j = 0; s->shed_mode && j < s->ncells; j++)
			if (!strcmp(s->cells[j], c->name) && s->shed_mode > own)
				own = s->shed_mode; /* off > manual > auto: the most cautious */
	}
	return own ? (uint8_t)(own - 1) : st->bp.mode;
}

/* The LB's own view, once a period: the cells' and services' counters, the interfaces' rx. */
static void view_sample(struct cgd *d, int64_t now)
{
	struct cgd_bp *b = d->bp;

	if (d->dp && b->snap) {
		cg_stats_read_cells(d->dp, &d->st, b->snap, (uint64_t)now * 1000000ULL);
		cg_stats_read_services(d->dp, &d->st, b->snap);
		cg_bp_view_sample(b->bp, &d->st, b->snap, now);
	}
	for (size_t i = 0; i < CG_MAX_IFACES; i++) {
		struct bp_link *bl = &b->links[i];
		const struct cgd_iface *ifc = i < d->nifaces ? &d->ifaces[i] : NULL;
		struct cg_link_stats ls;

		if (!ifc || strcmp(bl->name, ifc->name) || bl->ifindex != ifc->ifindex) {
			memset(bl, 0, sizeof(*bl)); /* another interface, or none: from nothing */
			if (!ifc)
				continue;
			snprintf(bl->name, sizeof(bl->name), "%s", ifc->name);
			bl->ifindex = ifc->ifindex;
		}
		bl->err = ifc->ifindex > 0 ? cg_nl_link_stats(d->nl, ifc->ifindex, &ls) : -ENODEV;
		if (!bl->err)
			cg_bp_link_sample(&bl->l, ls.rx_packets, ls.rx_dropped + ls.rx_missed, now,
					  &d->st.bp);
	}
}

/* One control period. */
static void step_due(struct cg_loop *loop, void *arg)
{
	struct cgd *d = arg;
	struct cgd_bp *b = d->bp;
	uint32_t *load = NULL;
	uint8_t *mode = NULL;
	struct cg_bp_input in;
	size_t n, applied = 0;
	char line[256], err[256];

	(void)loop;
	b->timer_id = 0;
	arm(d);
	if (!d->st_valid || d->fail_static[0] || !d->rec || !d->st.ncells)
		return;
	load = calloc(d->st.ncells * CG_MAX_CLASSES, sizeof(*load));
	mode = calloc(d->st.ncells, 1);
	if (!load || !mode) {
		cgd_log("backpressure: out of memory: this period is skipped");
		goto out;
	}
	for (size_t i = 0; i < d->st.ncells; i++)
		mode[i] = cgd_bp_mode_of(&d->st, &d->st.cells[i]);
	in = (struct cg_bp_input){
		.st = &d->st,
		.offered = cgd_load_view(d, load) ? load : NULL,
		.eff = cg_rec_shed(d->rec),
		.mode = mode,
		.now_ms = unix_ms(),
	};
	/* before the step: a change's log line carries the view of its period */
	view_sample(d, in.now_ms);
	n = cg_bp_step(b->bp, &in, b->ch, BP_CHANGES);
	b->steps++;
	for (size_t i = 0; i < n && i < BP_CHANGES; i++) {
		const struct cg_cell_cfg *c = cell_by_id(&d->st, b->ch[i].cell);

		cg_bp_change_str(&b->ch[i], line, sizeof(line));
		cgd_log("backpressure%s: %s%s%s", b->ch[i].advisory ? " (manual, not applied)" : "",
			c ? c->name : "", c ? " " : "", line);
		if (!b->ch[i].advisory)
			applied++;
	}
	if (!applied)
		goto out;
	cgd_ctl_publish(d);
	cgd_reconcile(d, "backpressure", err, sizeof(err));
out:
	free(load);
	free(mode);
}

/* Read the key file the state names, if it changed; logged. */
static void key_sync(struct cgd *d)
{
	struct cgd_bp *b = d->bp;
	const char *path = d->st.bp.key_file;
	char shown[256];

	if (!strcmp(path, b->key_file) && (b->keyed || b->key_err[0] || !path[0]))
		return;
	snprintf(b->key_file, sizeof(b->key_file), "%s", path);
	memset(b->key, 0, sizeof(b->key));
	b->keyed = false;
	b->key_err[0] = '\0';
	if (!path[0]) {
		cgd_log("backpressure: reports are not signed (no key_file)");
		return;
	}
	if (cgd_bp_key_read(path, b->key, b->key_err, sizeof(b->key_err))) {
		cgd_log("backpressure: %s: every report is refused until it is fixed", b->key_err);
		memset(b->key, 0, sizeof(b->key));
		return;
	}
	b->keyed = true;
	cgd_log("backpressure: reports must be signed with the key of '%s'",
		cg_show(path, shown, sizeof(shown)));
}

void cgd_bp_sync(struct cgd *d)
{
	struct cgd_bp *b = d->bp;
	const struct cg_bp_settings *s = &d->st.bp;

	if (!b || !d->st_valid)
		return;
	cg_bp_sync(b->bp, &d->st);
	for (uint32_t id = 0; id < CG_MAX_CELLS; id++)
		if (!b->bp->cell[id].present)
			memset(&b->cells[id], 0, sizeof(b->cells[id]));
	key_sync(d);
	if (s->report_port != b->port || memcmp(&b->src4, &d->st.src4, sizeof(b->src4)) ||
	    memcmp(&b->src6, &d->st.src6, sizeof(b->src6))) {
		sock_close(d, &b->fd4);
		sock_close(d, &b->fd6);
		b->port = s->report_port;
		b->src4 = d->st.src4;
		b->src6 = d->st.src6;
		if (b->port) {
			b->fd4 = sock_open(d, AF_INET, &b->src4, b->port);
			if (b->src6.family)
				b->fd6 = sock_open(d, AF_INET6, &b->src6, b->port);
		} else {
			cgd_log("backpressure: report_port 0: no cell load reports are received");
		}
	}
	if (b->period_ms != s->period_ms)
		arm(d);
}

/*
 * Started on maps a previous run left: the shed levels in them that no
 * operator entry of the state explains are the previous controller's, taken
 * over (cg_bp_adopt()) so that a restart during an overload releases
 * nothing; logged. Runs before the first reconcile, which would clear them.
 */
static void adopt(struct cgd *d)
{
	struct cgd_bp *b = d->bp;
	struct cg_shed_eff *eff = NULL;
	struct cg_shed_level *held = NULL;
	uint8_t *mode = NULL;
	size_t n = 0, cells;
	char line[512];
	size_t o = 0;

	if (!d->adopted || !d->dp || !d->rec || !d->st_valid || d->fail_static[0])
		return;
	eff = calloc(CG_MAX_CELLS * CG_MAX_CLASSES, sizeof(*eff));
	held = calloc(CG_MAX_CELLS * CG_MAX_CLASSES, sizeof(*held));
	mode = calloc(d->st.ncells ? d->st.ncells : 1, 1);
	if (!eff || !held || !mode) {
		cgd_log("backpressure: cannot take over the levels in the maps: %s",
			strerror(ENOMEM));
		goto out;
	}
	cg_shed_effective(&d->st, NULL, 0, unix_ms() / 1000, eff);
	for (size_t i = 0; i < d->st.ncells; i++) {
		uint32_t id = d->st.cells[i].id;

		mode[i] = cgd_bp_mode_of(&d->st, &d->st.cells[i]);
		for (uint32_t k = 0; id < CG_MAX_CELLS && k < CG_MAX_CLASSES; k++) {
			const struct cg_class_cfg *cl = cg_state_class_by_id(&d->st, k);
			struct cg_shed sh;

			if (!cl || cl->protected || eff[id * CG_MAX_CLASSES + k].source)
				continue;
			if (cg_loc_is_no_carry(&d->st, id, (uint8_t)k))
				continue; /* the locality policy's: not a ladder position */
			if (cg_dp_shed_get(d->dp, id, k, &sh) || !sh.soft)
				continue;
			held[n++] = (struct cg_shed_level){ .cell = id,
							    .class = (uint8_t)k,
							    .level_ppm = cg_dp_shed_ppm(sh.soft) };
		}
	}
	cells = n ? cg_bp_adopt(b->bp, &d->st, mode, held, n, unix_ms()) : 0;
	if (!cells)
		goto out;
	cgd_ctl_publish(d);
	for (size_t i = 0; i < d->st.ncells && o < sizeof(line); i++) {
		uint32_t id = d->st.cells[i].id;

		if (id < CG_MAX_CELLS && b->bp->cell[id].pos_ppm)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s ladder %.3f",
					      o ? ", " : "", d->st.cells[i].name,
					      b->bp->cell[id].pos_ppm / 1e6);
	}
	cgd_log("backpressure: took over the shed levels of %zu cell(s) left in the maps, held "
		"until their reports say otherwise: %s",
		cells, line);
out:
	free(eff);
	free(held);
	free(mode);
}

int cgd_bp_init(struct cgd *d)
{
	struct cgd_bp *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->bp = cg_bp_new();
	b->snap = cg_stats_new();
	if (!b->bp || !b->snap) {
		cg_bp_free(b->bp);
		cg_stats_free(b->snap);
		free(b);
		return -ENOMEM;
	}
	b->fd4 = b->fd6 = -1;
	d->bp = b;
	cgd_bp_sync(d);
	adopt(d);
	if (!b->timer_id)
		arm(d);
	return 0;
}

void cgd_bp_free(struct cgd *d)
{
	struct cgd_bp *b = d->bp;

	if (!b)
		return;
	sock_close(d, &b->fd4);
	sock_close(d, &b->fd6);
	if (b->timer_id > 0)
		cg_loop_timer_cancel(d->loop, b->timer_id);
	memset(b->key, 0, sizeof(b->key));
	cg_bp_free(b->bp);
	cg_stats_free(b->snap);
	free(b);
	d->bp = NULL;
	cgd_ctl_publish(d); /* the locality policy's levels only */
}

static json_t *ppm_json(uint32_t ppm)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%u.%06u", ppm / 1000000, ppm % 1000000);
	/* "0.250000" -> "0.25", "1.000000" -> "1", as levels are shown */
	for (size_t n = strlen(buf); n > 1 && (buf[n - 1] == '0' || buf[n - 1] == '.'); n--) {
		bool dot = buf[n - 1] == '.';

		buf[n - 1] = '\0';
		if (dot)
			break;
	}
	return json_string(buf);
}

/* A smoothed rate a second, to a tenth; null until two samples made one. */
static json_t *rate_json(const struct cg_bp_rate *r)
{
	/* rates are never negative: adding a half rounds */
	return r->rated ? json_real((double)(int64_t)(r->per_s * 10 + 0.5) / 10) : json_null();
}

/* The LB's own view of a cell: {new_flows, packets, syn_retries (a second), syn_retry_ratio}. */
static json_t *view_json(const struct cg_bp_view *v)
{
	uint32_t ppm;

	return json_pack("{s:o, s:o, s:o, s:o}", "new_flows", rate_json(&v->new_flows), "packets",
			 rate_json(&v->packets), "syn_retries", rate_json(&v->retries),
			 "syn_retry_ratio",
			 cg_bp_view_retry_ppm(v, &ppm) ? ppm_json(ppm) : json_null());
}

json_t *cgd_bp_cell_json(const struct cgd *d, const struct cg_cell_cfg *c)
{
	const struct cgd_bp *b = d->bp;
	const struct cg_bp_cell *bc;
	const struct bp_cell *x;
	int64_t now = unix_ms();
	json_t *o, *refused, *would;
	uint8_t mode;

	if (!b || c->id >= CG_MAX_CELLS)
		return json_null();
	bc = &b->bp->cell[c->id];
	x = &b->cells[c->id];
	mode = cgd_bp_mode_of(&d->st, c);
	refused = json_object();
	for (size_t r = 0; r < BP_R_MAX; r++)
		json_object_set_new(refused, refuse_names[r],
				    json_integer((json_int_t)x->refused[r]));
	would = json_object();
	for (size_t k = 0; mode == CG_BP_MANUAL && k < CG_MAX_CLASSES; k++)
		if (bc->level[k])
			json_object_set_new(would,
					    cg_state_class_by_id(&d->st, (uint8_t)k) ?
						    cg_state_class_by_id(&d->st, (uint8_t)k)->name :
						    "?",
					    ppm_json(bc->level[k]));
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:I, s:o, s:I, s:I, s:I, s:s, s:o}",
		      "cell", c->name, "mode", cg_enum_name(cg_bp_mode_names, mode, "?"), "load",
		      ppm_json(bc->sig.load_ppm), "last_report", ppm_json(bc->sig.raw_ppm),
		      "target", ppm_json(d->st.bp.target_ppm), "ladder", ppm_json(bc->pos_ppm),
		      "stale", !cg_bp_known(&bc->sig, now, &d->st.bp), "accepted",
		      (json_int_t)x->accepted, "refused", refused, "lost", (json_int_t)bc->rx.lost,
		      "restarts", (json_int_t)bc->rx.restarts, "last_seq",
		      (json_int_t)bc->rx.last_seq, "last_refused", x->last_refused, "would_shed",
		      would);
	if (!o)
		return NULL;
	json_object_set_new(o, "report_age_ms",
			    bc->sig.at_ms ? json_integer((json_int_t)(now - bc->sig.at_ms)) :
					    json_null());
	json_object_set_new(o, "changed_age_ms",
			    bc->changed_ms ? json_integer((json_int_t)(now - bc->changed_ms)) :
					     json_null());
	json_object_set_new(o, "lb", view_json(&bc->view));
	return o;
}

json_t *cgd_bp_json(const struct cgd *d)
{
	const struct cgd_bp *b = d->bp;
	json_t *o, *refused, *cells, *links;

	if (!b)
		return json_null();
	refused = json_object();
	for (size_t r = 0; r < BP_R_MAX; r++)
		json_object_set_new(refused, refuse_names[r],
				    json_integer((json_int_t)b->refused[r]));
	cells = json_array();
	for (size_t i = 0; i < d->st.ncells; i++)
		json_array_append_new(cells, cgd_bp_cell_json(d, &d->st.cells[i]));
	links = json_array();
	for (size_t i = 0; i < CG_MAX_IFACES; i++) {
		const struct bp_link *bl = &b->links[i];

		if (!bl->name[0])
			continue;
		json_array_append_new(links, json_pack("{s:s, s:i, s:o, s:o, s:s}", "name",
						       bl->name, "ifindex", bl->ifindex,
						       "rx_packets", rate_json(&bl->l.rx_packets),
						       "rx_drops", rate_json(&bl->l.rx_drops),
						       "error", bl->err ? strerror(-bl->err) : ""));
	}
	o = json_pack("{s:s, s:i, s:b, s:s, s:I, s:I, s:I, s:o, s:o}", "mode",
		      cg_enum_name(cg_bp_mode_names, d->st.bp.mode, "?"), "report_port",
		      (int)b->port, "signed", b->keyed, "key_error", b->key_err, "period_ms",
		      (json_int_t)d->st.bp.period_ms, "steps", (json_int_t)b->steps, "accepted",
		      (json_int_t)b->accepted, "refused", refused, "cells", cells);
	if (o)
		json_object_set_new(o, "interfaces", links);
	else
		json_decref(links);
	return o;
}

bool cgd_bp_inputs(const struct cgd *d, uint32_t cell, json_t *level)
{
	const struct cg_bp_cell *bc;

	if (!d->bp || cell >= CG_MAX_CELLS)
		return false;
	bc = &d->bp->bp->cell[cell];
	json_object_set_new(level, "by", json_string("controller"));
	json_object_set_new(
		level, "inputs",
		json_pack("{s:o, s:o, s:o, s:o, s:o, s:b}", "load", ppm_json(bc->sig.load_ppm),
			  "last_report", ppm_json(bc->sig.raw_ppm), "target",
			  ppm_json(d->st.bp.target_ppm), "ladder", ppm_json(bc->pos_ppm),
			  "report_age_ms",
			  bc->sig.at_ms ? json_integer((json_int_t)(unix_ms() - bc->sig.at_ms)) :
					  json_null(),
			  "stale", !cg_bp_known(&bc->sig, unix_ms(), &d->st.bp)));
	return true;
}

bool cgd_bp_report_ppm(const struct cgd *d, uint32_t cell, uint32_t *ppm)
{
	const struct cg_bp_cell *bc;

	if (!d->bp || cell >= CG_MAX_CELLS)
		return false;
	bc = &d->bp->bp->cell[cell];
	if (!bc->present || !cg_bp_known(&bc->sig, unix_ms(), &d->st.bp))
		return false;
	*ppm = bc->sig.load_ppm;
	return true;
}

const struct cg_shed_level *cgd_bp_levels(const struct cgd *d, size_t *n)
{
	*n = 0;
	return d->bp ? cg_bp_levels(d->bp->bp, n) : NULL;
}

bool cgd_bp_metrics(const struct cgd *d, const struct cg_cell_cfg *c,
		    struct cg_metrics_bp_cell *out)
{
	const struct cg_bp_cell *bc;
	const struct bp_cell *x;

	memset(out, 0, sizeof(*out));
	if (!d->bp || c->id >= CG_MAX_CELLS)
		return false;
	bc = &d->bp->bp->cell[c->id];
	x = &d->bp->cells[c->id];
	out->valid = true;
	out->mode = cgd_bp_mode_of(&d->st, c);
	out->known = cg_bp_known(&bc->sig, unix_ms(), &d->st.bp);
	out->load_ppm = bc->sig.load_ppm;
	out->last_ppm = bc->sig.raw_ppm;
	out->ladder_ppm = bc->pos_ppm;
	for (size_t k = 0; k < CG_MAX_CLASSES; k++)
		out->level_ppm[k] = bc->level[k];
	out->accepted = x->accepted;
	for (size_t r = 0; r < BP_R_MAX; r++)
		out->refused += x->refused[r];
	return true;
}
