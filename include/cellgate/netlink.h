/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cellgate/netlink.h - next hops towards cell gateways, resolved and followed over rtnetlink */
#ifndef CELLGATE_NETLINK_H
#define CELLGATE_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "cellgate/state.h"

/*
 * The router rewrites the Ethernet header of every encapsulated packet to the
 * next hop towards the cell's gateway, and XDP_TX sends it back out the
 * interface it came in on. cellgated learns that next hop from the kernel,
 * which stays the authority on routes and neighbours:
 *
 *   cg_nl_resolve(gw)  route lookup (RTM_GETROUTE) -> interface + next-hop
 *                      address, then its neighbour entry (RTM_GETNEIGH).
 *                      0: the MAC is known. -EAGAIN: the kernel was asked to
 *                      resolve it (ARP / neighbour solicitation) and the
 *                      answer will come as a monitor event.
 *   monitor fd         readable when the neighbour table (or a link) changes;
 *                      cg_nl_monitor_read() hands each change to a callback.
 *                      -ENOBUFS from it means events were lost: re-resolve
 *                      every gateway.
 *
 * A next hop is keyed by (via, ifindex): that is what the monitor reports.
 * Nothing here is thread-safe; one struct cg_nl belongs to one thread.
 */

#define CG_NL_REQ_TIMEOUT_MS 1000 /* a request the kernel has not answered by then fails */

/* Where packets towards one gateway go next. */
struct cg_nexthop {
	int ifindex;	    /* interface the route leaves through */
	struct cg_addr via; /* next-hop address (the gateway itself if on-link) */
	uint8_t mac[6];	    /* resolved MAC of via; zero until resolved */
	uint16_t vlan;	    /* 802.1Q VLAN id if ifindex is a VLAN device, else 0 */
	int lower_ifindex;  /* VLAN device: its parent's ifindex; else 0 */
};

/* Two rtnetlink sockets: requests, and a monitor of neighbour and link changes. */
struct cg_nl;

/*
 * Signature of the monitor callback. For a neighbour event, addr is the
 * neighbour's address, ifindex its interface, mac its link-layer address
 * (all zero if the kernel sent none) and usable tells whether the entry may
 * be used for forwarding (REACHABLE, STALE, DELAY, PROBE, PERMANENT or NOARP,
 * with a 6-byte address); a deleted entry is never usable. For a link event
 * (an interface changed, appeared or vanished), addr is NULL, mac is the
 * interface's own address (zero if none) and usable tells whether it is up
 * with a carrier; next hops through that interface should be re-resolved.
 * The pointers are valid only during the call.
 */
typedef void (*cg_nl_event_cb)(void *arg, const struct cg_addr *addr, int ifindex,
			       const uint8_t mac[6], bool usable);

/*
 * cg_nl_open - open the request socket and the monitor socket, the latter
 * subscribed to RTNLGRP_NEIGH and RTNLGRP_LINK and non-blocking.
 * Both live in the calling thread's network namespace.
 * Returns the handle, or NULL with errno set (ENOMEM, or the socket's error).
 */
struct cg_nl *cg_nl_open(void);

/*
 * cg_nl_close - close both sockets and free nl. NULL is accepted.
 */
void cg_nl_close(struct cg_nl *nl);

/*
 * cg_nl_route - ask the kernel's routing table (RTM_GETROUTE) how packets to
 * dst leave: fills nh->ifindex and nh->via (the route's gateway, or dst
 * itself if it is on-link; an IPv4 route may have an IPv6 gateway), and
 * nh->vlan and nh->lower_ifindex if that interface is a VLAN device. The
 * MAC is not looked up: nh->mac is zeroed.
 *
 * Returns 0 on success. -EINVAL if an argument is NULL or dst's family is
 * neither CG_AF_INET nor CG_AF_INET6; -ENETUNREACH if the kernel has no
 * unicast route to dst (no route at all, or an unreachable, prohibit,
 * blackhole, local, broadcast or multicast one); -EOPNOTSUPP if the route
 * leaves through an interface without 6-byte (Ethernet) addresses or a VLAN
 * device the data plane cannot tag for (802.1ad, a VLAN on a VLAN, a parent
 * in another namespace); -ETIMEDOUT if the kernel does not answer within
 * CG_NL_REQ_TIMEOUT_MS; another -errno from the kernel or the socket. On
 * error *nh is zeroed. nh->via is normalised (unused bytes zero), so it
 * compares with memcmp() against the addresses the monitor reports.
 */
int cg_nl_route(struct cg_nl *nl, const struct cg_addr *dst, struct cg_nexthop *nh);

/*
 * cg_nl_resolve - cg_nl_route(), then the neighbour entry of (via, ifindex)
 * (RTM_GETNEIGH). If the entry is usable (REACHABLE, STALE, DELAY, PROBE,
 * PERMANENT or NOARP), copies its MAC into nh->mac and returns 0. Otherwise
 * (no entry, INCOMPLETE, FAILED) it asks the kernel to resolve it, as
 * `ip neigh replace VIA dev IF use` does (RTM_NEWNEIGH with NTF_USE, which
 * creates the entry if needed and starts ARP or neighbour discovery), and
 * returns -EAGAIN: the answer arrives later as a monitor event for
 * (nh->via, nh->ifindex). On -EAGAIN every field but mac (zeroed) is filled.
 *
 * Returns 0 on success, -EAGAIN as above, -EOPNOTSUPP if the interface's
 * neighbours do not have 6-byte (Ethernet) addresses, or any error of
 * cg_nl_route(). On errors other than -EAGAIN *nh is zeroed.
 */
int cg_nl_resolve(struct cg_nl *nl, const struct cg_addr *dst, struct cg_nexthop *nh);

/*
 * cg_nl_monitor_fd - the monitor socket's descriptor, for the caller's epoll
 * loop (level-triggered or edge-triggered: cg_nl_monitor_read() drains it).
 * Owned by nl: do not close it. Returns -1 if nl is NULL.
 */
int cg_nl_monitor_fd(const struct cg_nl *nl);

/*
 * cg_nl_monitor_read - without blocking, read every pending event of the
 * monitor socket and call cb(arg, ...) for each neighbour event
 * (RTM_NEWNEIGH, RTM_DELNEIGH of AF_INET or AF_INET6 entries; bridge FDB
 * entries are ignored) and each link event (RTM_NEWLINK, RTM_DELLINK), as
 * described at cg_nl_event_cb.
 *
 * Returns the number of callbacks made (0 if nothing was pending), -EINVAL
 * if nl or cb is NULL, -ENOBUFS if the socket overran and events were lost
 * (callbacks made before are not undone; the caller should re-resolve every
 * next hop and may read on), or another -errno from the socket.
 */
int cg_nl_monitor_read(struct cg_nl *nl, cg_nl_event_cb cb, void *arg);

/*
 * cg_nl_ifindex_mac - an interface's own MAC (RTM_GETLINK, IFLA_ADDRESS):
 * the source address of the frames the router sends out of it.
 * Returns 0 on success, -EINVAL on a NULL argument or ifindex <= 0, -ENODEV
 * if there is no such interface, -EOPNOTSUPP if its address is not 6 bytes
 * long (no Ethernet header), another -errno from the kernel. On error mac is
 * left untouched.
 */
int cg_nl_ifindex_mac(struct cg_nl *nl, int ifindex, uint8_t mac[6]);

/* An interface's counters as the kernel keeps them (IFLA_STATS64), from boot. */
struct cg_link_stats {
	uint64_t rx_packets; /* packets received (XDP drops and redirects included) */
	uint64_t rx_bytes;   /* their bytes */
	uint64_t rx_dropped; /* dropped by the kernel after the driver: no buffer, ... */
	uint64_t rx_missed;  /* missed by the device: its ring was full */
	uint64_t rx_errors;  /* bad frames */
	uint64_t tx_packets; /* packets sent */
	uint64_t tx_bytes;   /* their bytes */
	uint64_t tx_dropped; /* not sent: queue full, no carrier, ... */
};

/*
 * cg_nl_link_stats - the interface's counters (RTM_GETLINK, IFLA_STATS64):
 * the receive rate and drops the backpressure view takes from the LB
 * itself. Returns 0, -EINVAL (nl or st NULL, ifindex <= 0), -ENODEV (no such
 * interface), -EPROTO (the answer had no IFLA_STATS64), -ETIMEDOUT or
 * another -errno. *st is zeroed on error.
 */
int cg_nl_link_stats(struct cg_nl *nl, int ifindex, struct cg_link_stats *st);

#endif /* CELLGATE_NETLINK_H */
