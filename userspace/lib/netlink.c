/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* netlink.c - next hops towards cell gateways, resolved and followed over rtnetlink (libmnl) */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <libmnl/libmnl.h>

#include "cellgate/netlink.h"

#define CG_NL_BUF_SIZE	 32768	   /* receive buffer: a whole datagram, even a link's */
#define CG_NL_REQ_SIZE	 512	   /* a request is a header and one or two attributes */
#define CG_NL_MON_RCVBUF (4 << 20) /* monitor socket buffer: room for bursts */

_Static_assert(CG_NL_BUF_SIZE >= 8192, "smaller than MNL_SOCKET_BUFFER_SIZE can be");

/* Neighbour states whose link-layer address may be used for forwarding. */
#define CG_NUD_USABLE \
	(NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)

struct cg_nl {
	struct mnl_socket *req; /* requests; blocking, with a receive timeout */
	struct mnl_socket *mon; /* RTNLGRP_NEIGH + RTNLGRP_LINK; non-blocking */
	uint32_t portid;	/* port id of req: answers must be addressed to it */
	uint32_t seq;		/* sequence number of the last request sent */
	/* one buffer for both sockets: a handle is used by one thread */
	char buf[CG_NL_BUF_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
};

/* What a neighbour entry says, from RTM_NEWNEIGH. */
struct neigh_info {
	bool found;	   /* a RTM_NEWNEIGH was parsed */
	uint16_t state;	   /* NUD_* */
	size_t lladdr_len; /* 0 if NDA_LLADDR was absent */
	uint8_t mac[6];	   /* valid if lladdr_len == 6 */
};

/* What an interface is, from RTM_NEWLINK. */
struct link_info {
	bool found;	     /* a RTM_NEWLINK was parsed */
	size_t addr_len;     /* length of IFLA_ADDRESS, 0 if absent */
	uint8_t mac[6];	     /* valid if addr_len == 6 */
	bool is_vlan;	     /* IFLA_INFO_KIND is "vlan" */
	uint16_t vlan_id;    /* IFLA_VLAN_ID */
	uint16_t vlan_proto; /* IFLA_VLAN_PROTOCOL, host order; ETH_P_8021Q if absent */
	int link;	     /* IFLA_LINK: the parent's ifindex, 0 if absent */
	bool link_netns;     /* IFLA_LINK_NETNSID present: the parent is in another namespace */
	bool has_stats;	     /* IFLA_STATS64 was present (only when asked for) */
	struct rtnl_link_stats64 stats; /* valid if has_stats */
};

/* What the kernel's route lookup answered, from RTM_NEWROUTE. */
struct route_info {
	bool found;	   /* a RTM_NEWROUTE was parsed */
	uint8_t type;	   /* RTN_* */
	int oif;	   /* RTA_OIF, 0 if absent */
	struct cg_addr gw; /* RTA_GATEWAY or RTA_VIA; family 0 if on-link */
	bool bad_attr;	   /* an attribute had an impossible length */
};

/* State of one cg_nl_monitor_read() call. */
struct monitor_ctx {
	cg_nl_event_cb cb;
	void *arg;
	int count; /* callbacks made */
};

static int cg_to_af(uint8_t family)
{
	if (family == CG_AF_INET)
		return AF_INET;
	if (family == CG_AF_INET6)
		return AF_INET6;
	return -1;
}

static size_t af_addr_len(int af)
{
	return af == AF_INET ? 4 : af == AF_INET6 ? 16 : 0;
}

/* Fill *a from len address bytes of family af; false if len does not fit af. */
static bool addr_from_bytes(struct cg_addr *a, int af, const void *bytes, size_t len)
{
	if (!af_addr_len(af) || len != af_addr_len(af))
		return false;
	memset(a, 0, sizeof(*a));
	a->family = af == AF_INET ? CG_AF_INET : CG_AF_INET6;
	memcpy(a->a, bytes, len);
	return true;
}

/*
 * Send nlh on the request socket (it gets NLM_F_REQUEST | NLM_F_ACK and a
 * fresh sequence number) and run cb over the answers until the kernel's
 * acknowledgement. Answers to earlier requests that timed out are skipped.
 * Returns 0, the kernel's -errno, -ETIMEDOUT, or the socket's -errno.
 */
static int nl_request(struct cg_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq;
	ssize_t n;
	int ret;

	seq = ++nl->seq;
	if (!seq) /* 0 would match any answer */
		seq = ++nl->seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	for (;;) {
		n = mnl_socket_recvfrom(nl->req, nl->buf, sizeof(nl->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			return -errno;
		}
		/*
		 * A datagram holds answers to one request; one to an earlier
		 * request (late, after a timeout) is dropped whole. mnl_cb_run()
		 * would report it as EPROTO, which the kernel may also mean.
		 */
		if ((size_t)n >= sizeof(struct nlmsghdr) &&
		    ((struct nlmsghdr *)nl->buf)->nlmsg_seq != seq)
			continue;
		ret = mnl_cb_run(nl->buf, n, seq, nl->portid, cb, data);
		if (ret == MNL_CB_ERROR) /* -EAGAIN means "resolution pending" to our callers */
			return errno == EAGAIN ? -EBUSY : -errno;
		if (ret == MNL_CB_STOP) /* the acknowledgement */
			return 0;
	}
}

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, RTA_MAX) < 0)
		return MNL_CB_OK; /* newer than our headers: not ours */
	tb[type] = attr;
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { NULL };
	struct route_info *ri = data;
	const struct rtmsg *rtm;
	const struct rtvia *via;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWROUTE || ri->found)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return MNL_CB_OK;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb) < 0)
		return MNL_CB_OK;

	ri->found = true;
	ri->type = rtm->rtm_type;
	if (tb[RTA_OIF]) {
		if (mnl_attr_validate(tb[RTA_OIF], MNL_TYPE_U32) < 0)
			ri->bad_attr = true;
		else
			ri->oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	}
	if (tb[RTA_GATEWAY]) {
		if (!addr_from_bytes(&ri->gw, rtm->rtm_family,
				     mnl_attr_get_payload(tb[RTA_GATEWAY]),
				     mnl_attr_get_payload_len(tb[RTA_GATEWAY])))
			ri->bad_attr = true;
	} else if (tb[RTA_VIA]) {
		/* RFC 5549: an IPv4 route with an IPv6 next hop */
		len = mnl_attr_get_payload_len(tb[RTA_VIA]);
		via = mnl_attr_get_payload(tb[RTA_VIA]);
		if (len < sizeof(*via) || !addr_from_bytes(&ri->gw, via->rtvia_family,
							   via->rtvia_addr, len - sizeof(*via)))
			ri->bad_attr = true;
	}
	return MNL_CB_OK;
}

static int neigh_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, NDA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NDA_MAX + 1] = { NULL };
	struct neigh_info *ni = data;
	const struct ndmsg *ndm;

	if (nlh->nlmsg_type != RTM_NEWNEIGH || ni->found)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm))
		return MNL_CB_OK;
	ndm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr_cb, tb) < 0)
		return MNL_CB_OK;

	ni->found = true;
	ni->state = ndm->ndm_state;
	if (tb[NDA_LLADDR]) {
		ni->lladdr_len = mnl_attr_get_payload_len(tb[NDA_LLADDR]);
		if (ni->lladdr_len == sizeof(ni->mac))
			memcpy(ni->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), sizeof(ni->mac));
	}
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int linkinfo_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, IFLA_INFO_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int vlan_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, IFLA_VLAN_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/* Fill li from the attributes of a RTM_NEWLINK (VLAN details only if it is one). */
static void link_parse(const struct nlmsghdr *nlh, struct link_info *li)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL };
	const struct nlattr *info[IFLA_INFO_MAX + 1] = { NULL };
	const struct nlattr *vlan[IFLA_VLAN_MAX + 1] = { NULL };

	if (mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, tb) < 0)
		return;
	li->found = true;
	if (tb[IFLA_ADDRESS]) {
		li->addr_len = mnl_attr_get_payload_len(tb[IFLA_ADDRESS]);
		if (li->addr_len == sizeof(li->mac))
			memcpy(li->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), sizeof(li->mac));
	}
	if (tb[IFLA_LINK] && mnl_attr_validate(tb[IFLA_LINK], MNL_TYPE_U32) == 0)
		li->link = (int)mnl_attr_get_u32(tb[IFLA_LINK]);
	li->link_netns = tb[IFLA_LINK_NETNSID] != NULL;
	/* 64-bit counters are 8-aligned in the kernel but not in the message: copied */
	if (tb[IFLA_STATS64] && mnl_attr_get_payload_len(tb[IFLA_STATS64]) >= sizeof(li->stats)) {
		memcpy(&li->stats, mnl_attr_get_payload(tb[IFLA_STATS64]), sizeof(li->stats));
		li->has_stats = true;
	}

	if (!tb[IFLA_LINKINFO] ||
	    mnl_attr_parse_nested(tb[IFLA_LINKINFO], linkinfo_attr_cb, info) < 0)
		return;
	if (!info[IFLA_INFO_KIND] || mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_STRING) < 0 ||
	    strcmp(mnl_attr_get_str(info[IFLA_INFO_KIND]), "vlan") != 0)
		return;
	li->is_vlan = true;
	li->vlan_proto = ETH_P_8021Q;
	if (!info[IFLA_INFO_DATA] ||
	    mnl_attr_parse_nested(info[IFLA_INFO_DATA], vlan_attr_cb, vlan) < 0)
		return;
	if (vlan[IFLA_VLAN_ID] && mnl_attr_validate(vlan[IFLA_VLAN_ID], MNL_TYPE_U16) == 0)
		li->vlan_id = mnl_attr_get_u16(vlan[IFLA_VLAN_ID]);
	if (vlan[IFLA_VLAN_PROTOCOL] &&
	    mnl_attr_validate(vlan[IFLA_VLAN_PROTOCOL], MNL_TYPE_U16) == 0)
		li->vlan_proto = ntohs(mnl_attr_get_u16(vlan[IFLA_VLAN_PROTOCOL]));
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_info *li = data;

	if (nlh->nlmsg_type != RTM_NEWLINK || li->found)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return MNL_CB_OK;
	link_parse(nlh, li);
	return MNL_CB_OK;
}

/*
 * RTM_GETLINK for ifindex into *li, its counters only if stats. Returns 0,
 * -ENODEV, -EPROTO or another -errno.
 */
static int nl_link_query(struct cg_nl *nl, int ifindex, bool stats, struct link_info *li)
{
	char req[CG_NL_REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	int err;

	memset(li, 0, sizeof(*li));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	/* the statistics are left out unless asked for: they are most of the answer */
	if (!stats)
		mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

	err = nl_request(nl, nlh, link_cb, li);
	if (err)
		return err;
	return li->found ? 0 : -EPROTO;
}

/* RTM_GETLINK for ifindex into *li, without the counters. */
static int nl_link_get(struct cg_nl *nl, int ifindex, struct link_info *li)
{
	return nl_link_query(nl, ifindex, false, li);
}

/* RTM_GETNEIGH for (addr, ifindex) into *ni. Returns 0, -ENOENT if none, or another -errno. */
static int nl_neigh_get(struct cg_nl *nl, const struct cg_addr *addr, int ifindex,
			struct neigh_info *ni)
{
	char req[CG_NL_REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;
	int af = cg_to_af(addr->family);
	int err;

	memset(ni, 0, sizeof(*ni));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETNEIGH;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = af;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, af_addr_len(af), addr->a);

	err = nl_request(nl, nlh, neigh_cb, ni);
	if (err)
		return err;
	return ni->found ? 0 : -EPROTO;
}

/*
 * Ask the kernel to resolve (addr, ifindex), as `ip neigh replace ADDR dev IF
 * use` does: the entry is created if missing (state NONE, so it stays
 * subject to garbage collection) and probing starts. Returns 0 or -errno.
 */
static int nl_neigh_use(struct cg_nl *nl, const struct cg_addr *addr, int ifindex)
{
	char req[CG_NL_REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;
	int af = cg_to_af(addr->family);

	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = af;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = NTF_USE;
	mnl_attr_put(nlh, NDA_DST, af_addr_len(af), addr->a);

	return nl_request(nl, nlh, NULL, NULL);
}

static bool neigh_usable(const struct neigh_info *ni)
{
	return (ni->state & CG_NUD_USABLE) && ni->lladdr_len == 6;
}

struct cg_nl *cg_nl_open(void)
{
	struct cg_nl *nl = NULL;
	struct timeval tv = {
		.tv_sec = CG_NL_REQ_TIMEOUT_MS / 1000,
		.tv_usec = (CG_NL_REQ_TIMEOUT_MS % 1000) * 1000,
	};
	int groups[] = { RTNLGRP_NEIGH, RTNLGRP_LINK };
	int rcvbuf = CG_NL_MON_RCVBUF;
	int fd, err = 0;
	size_t i;

	nl = calloc(1, sizeof(*nl));
	if (!nl) {
		err = -ENOMEM;
		goto out;
	}

	nl->req = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->req || mnl_socket_bind(nl->req, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	nl->portid = mnl_socket_get_portid(nl->req);
	nl->seq = (uint32_t)time(NULL);
	if (setsockopt(mnl_socket_get_fd(nl->req), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		err = -errno;
		goto out;
	}

	nl->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl->mon || mnl_socket_bind(nl->mon, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (mnl_socket_setsockopt(nl->mon, NETLINK_ADD_MEMBERSHIP, &groups[i],
					  sizeof(groups[i])) < 0) {
			err = -errno;
			goto out;
		}
	}
	/* a bigger buffer makes overruns rarer; without privilege, take what rmem_max allows */
	fd = mnl_socket_get_fd(nl->mon);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

out:
	if (err) {
		cg_nl_close(nl);
		errno = -err;
		return NULL;
	}
	return nl;
}

void cg_nl_close(struct cg_nl *nl)
{
	if (!nl)
		return;
	if (nl->req)
		mnl_socket_close(nl->req);
	if (nl->mon)
		mnl_socket_close(nl->mon);
	free(nl);
}

int cg_nl_route(struct cg_nl *nl, const struct cg_addr *dst, struct cg_nexthop *nh)
{
	char req[CG_NL_REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct route_info ri = { 0 };
	struct link_info li, lower;
	struct cg_nexthop r = { 0 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int af, err;

	if (!nl || !dst || !nh) {
		err = -EINVAL;
		goto out;
	}
	af = cg_to_af(dst->family);
	if (af < 0) {
		err = -EINVAL;
		goto out;
	}

	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = af;
	rtm->rtm_dst_len = af_addr_len(af) * 8;
	mnl_attr_put(nlh, RTA_DST, af_addr_len(af), dst->a);

	err = nl_request(nl, nlh, route_cb, &ri);
	switch (err) {
	case 0:
		break;
	case -ENETUNREACH:  /* no route */
	case -EHOSTUNREACH: /* an unreachable route */
	case -EACCES:	    /* a prohibit route */
	case -EINVAL:	    /* a blackhole route: our request itself is well formed */
		err = -ENETUNREACH;
		goto out;
	default:
		goto out;
	}
	if (!ri.found || ri.bad_attr) {
		err = -EPROTO;
		goto out;
	}
	if (ri.type != RTN_UNICAST || ri.oif <= 0) {
		err = -ENETUNREACH;
		goto out;
	}

	r.ifindex = ri.oif;
	if (ri.gw.family)
		r.via = ri.gw;
	else /* on-link; copied through the address bytes only, so padding is zero */
		addr_from_bytes(&r.via, af, dst->a, af_addr_len(af));

	err = nl_link_get(nl, r.ifindex, &li);
	if (err)
		goto out;
	if (li.addr_len != 6) { /* no Ethernet header to rewrite */
		err = -EOPNOTSUPP;
		goto out;
	}
	if (li.is_vlan) {
		if (li.vlan_proto != ETH_P_8021Q || li.link <= 0 || li.link_netns) {
			err = -EOPNOTSUPP;
			goto out;
		}
		err = nl_link_get(nl, li.link, &lower);
		if (err)
			goto out;
		if (lower.is_vlan) { /* would need two tags */
			err = -EOPNOTSUPP;
			goto out;
		}
		r.vlan = li.vlan_id;
		r.lower_ifindex = li.link;
	}

out:
	if (err)
		memset(&r, 0, sizeof(r));
	if (nh)
		*nh = r;
	return err;
}

/* True if a neighbour lookup's outcome calls for resolution: no entry, or not usable. */
static bool neigh_pending(int err, const struct neigh_info *ni)
{
	return err == -ENOENT || (!err && !(ni->state & CG_NUD_USABLE));
}

int cg_nl_resolve(struct cg_nl *nl, const struct cg_addr *dst, struct cg_nexthop *nh)
{
	struct cg_nexthop r = { 0 };
	struct neigh_info ni;
	int err;

	if (!nh) {
		err = -EINVAL;
		goto out;
	}
	err = cg_nl_route(nl, dst, &r);
	if (err)
		goto out;

	err = nl_neigh_get(nl, &r.via, r.ifindex, &ni);
	if (neigh_pending(err, &ni)) {
		err = nl_neigh_use(nl, &r.via, r.ifindex);
		if (err)
			goto out;
		/* NOARP interfaces, and answers quicker than we are, give a usable entry at once */
		err = nl_neigh_get(nl, &r.via, r.ifindex, &ni);
		if (neigh_pending(err, &ni))
			err = -EAGAIN;
	}
	if (err)
		goto out;
	if (!neigh_usable(&ni)) { /* usable state, but no Ethernet address */
		err = -EOPNOTSUPP;
		goto out;
	}
	memcpy(r.mac, ni.mac, sizeof(r.mac));

out:
	if (err && err != -EAGAIN)
		memset(&r, 0, sizeof(r));
	if (nh)
		*nh = r;
	return err;
}

int cg_nl_monitor_fd(const struct cg_nl *nl)
{
	return nl ? mnl_socket_get_fd(nl->mon) : -1;
}

/* One neighbour event: AF_INET/AF_INET6 entries only, not proxy entries or the bridge FDB. */
static void monitor_neigh(const struct nlmsghdr *nlh, struct monitor_ctx *ctx)
{
	const struct nlattr *tb[NDA_MAX + 1] = { NULL };
	uint8_t mac[6] = { 0 };
	const struct ndmsg *ndm;
	struct cg_addr addr;
	bool usable;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm))
		return;
	ndm = mnl_nlmsg_get_payload(nlh);
	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return;
	if (ndm->ndm_flags & NTF_PROXY)
		return;
	if (mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr_cb, tb) < 0 || !tb[NDA_DST])
		return;
	if (!addr_from_bytes(&addr, ndm->ndm_family, mnl_attr_get_payload(tb[NDA_DST]),
			     mnl_attr_get_payload_len(tb[NDA_DST])))
		return;

	usable = nlh->nlmsg_type == RTM_NEWNEIGH && (ndm->ndm_state & CG_NUD_USABLE);
	if (tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == sizeof(mac))
		memcpy(mac, mnl_attr_get_payload(tb[NDA_LLADDR]), sizeof(mac));
	else
		usable = false;

	ctx->cb(ctx->arg, &addr, ndm->ndm_ifindex, mac, usable);
	ctx->count++;
}

/* One link event: plain interface messages only (AF_UNSPEC), not bridge port ones. */
static void monitor_link(const struct nlmsghdr *nlh, struct monitor_ctx *ctx)
{
	const struct ifinfomsg *ifm;
	struct link_info li = { 0 };
	uint8_t mac[6] = { 0 };
	bool usable;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm))
		return;
	ifm = mnl_nlmsg_get_payload(nlh);
	if (ifm->ifi_family != AF_UNSPEC || ifm->ifi_index <= 0)
		return;
	link_parse(nlh, &li);
	if (li.addr_len == sizeof(mac))
		memcpy(mac, li.mac, sizeof(mac));
	usable = nlh->nlmsg_type == RTM_NEWLINK && (ifm->ifi_flags & IFF_UP) &&
		 (ifm->ifi_flags & IFF_RUNNING);

	ctx->cb(ctx->arg, NULL, ifm->ifi_index, mac, usable);
	ctx->count++;
}

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct monitor_ctx *ctx = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		monitor_neigh(nlh, ctx);
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		monitor_link(nlh, ctx);
		break;
	default: /* e.g. RTM_GETNEIGH, the kernel asking a user-space resolver */
		break;
	}
	return MNL_CB_OK;
}

int cg_nl_monitor_read(struct cg_nl *nl, cg_nl_event_cb cb, void *arg)
{
	struct monitor_ctx ctx = { .cb = cb, .arg = arg };
	ssize_t n;
	int ret;

	if (!nl || !cb)
		return -EINVAL;

	for (;;) {
		n = mnl_socket_recvfrom(nl->mon, nl->buf, sizeof(nl->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOSPC) /* truncated: an event was lost */
				return -ENOBUFS;
			return -errno;
		}
		/* events carry sequence number 0 and any sender's port id: check neither */
		ret = mnl_cb_run(nl->buf, n, 0, 0, monitor_cb, &ctx);
		if (ret == MNL_CB_ERROR)
			return -errno;
	}
	return ctx.count;
}

int cg_nl_ifindex_mac(struct cg_nl *nl, int ifindex, uint8_t mac[6])
{
	struct link_info li;
	int err;

	if (!nl || !mac || ifindex <= 0)
		return -EINVAL;
	err = nl_link_get(nl, ifindex, &li);
	if (err)
		return err;
	if (li.addr_len != 6)
		return -EOPNOTSUPP;
	memcpy(mac, li.mac, 6);
	return 0;
}

int cg_nl_link_stats(struct cg_nl *nl, int ifindex, struct cg_link_stats *st)
{
	struct link_info li;
	int err;

	if (st)
		memset(st, 0, sizeof(*st));
	if (!nl || !st || ifindex <= 0)
		return -EINVAL;
	err = nl_link_query(nl, ifindex, true, &li);
	if (err)
		return err;
	if (!li.has_stats)
		return -EPROTO;
	st->rx_packets = li.stats.rx_packets;
	st->rx_bytes = li.stats.rx_bytes;
	st->rx_dropped = li.stats.rx_dropped;
	st->rx_missed = li.stats.rx_missed_errors;
	st->rx_errors = li.stats.rx_errors;
	st->tx_packets = li.stats.tx_packets;
	st->tx_bytes = li.stats.tx_bytes;
	st->tx_dropped = li.stats.tx_dropped;
	return 0;
}
