// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* iface.c - attach the router to the interfaces the desired state names, detach from the others */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "cellgated.h"

int cgd_attach_one(struct cgd *d, struct cgd_iface *ifc, int mode)
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
int cgd_sync_ifaces(struct cgd *d)
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
		if (cgd_attach_one(d, &keep[n], mode) && !ret)
			ret = -ENODEV;
		n++;
	}
	memcpy(d->ifaces, keep, sizeof(keep));
	d->nifaces = n;
	return ret;
}

void cgd_drop_stale_links(struct cgd *d)
{
	char names[CG_MAX_IFACES * 4][IF_NAMESIZE];
	int n, i, ret;
	size_t j;

	n = cg_dp_pinned_links(d->dp, names, sizeof(names) / sizeof(names[0]));
	if (n < 0) {
		cgd_log("cannot list the links pinned in '%s': %s", d->pin_dir, strerror(-n));
		return;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < d->st.nifaces; j++)
			if (!strcmp(names[i], d->st.ifaces[j]))
				break;
		if (j < d->st.nifaces)
			continue;
		ret = cg_dp_unpin_link(d->dp, names[i]);
		if (ret)
			cgd_log("cannot remove the stale link pin of '%s': %s", names[i],
				strerror(-ret));
		else
			cgd_log("removed the stale link of '%s' (not in the desired state): "
				"detached and unpinned",
				names[i]);
	}
}
