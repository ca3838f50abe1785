// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* nexthop.c - next hops: resolve each cell's gateway over rtnetlink, follow neighbour changes, retry */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cellgate/view.h"

#include "cellgated.h"

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

int cgd_nh_lookup(void *arg, const struct cg_cell_cfg *c, uint8_t mac[6], uint16_t *vlan)
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

void cgd_arm_retry(struct cgd *d)
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
		cgd_arm_retry(d);
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

void cgd_nl_readable(struct cg_loop *loop, int fd, uint32_t events, void *arg)
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
