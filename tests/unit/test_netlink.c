/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* test_netlink.c - next-hop resolution and neighbour monitoring against the real kernel */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/*
 * The source itself, not just its header: the parser tests below feed
 * hand-built messages to its static parsers, because this kernel may lack
 * the devices (802.1Q VLANs) that would make it send them. The test's own
 * definitions of cg_nl_* mean libcellgate's copy is not linked in.
 */
#include "../../userspace/lib/netlink.c"
#include "testskip.h"

/*
 * The lab. Each group runs in a network namespace of its own, made by
 * unsharing the test process itself, so everything vanishes with it:
 *
 *   this namespace (the LB)                    peer namespace (a child process)
 *   veth0 198.18.0.1/24 2001:db8:0:1::1/64 --- veth1 198.18.0.2/24 2001:db8:0:1::2/64
 *                                                    MAC 02:00:00:00:00:02
 *   permanent neighbours on veth0:
 *     198.18.0.10        02:00:00:00:00:0a    (on-link gateway)
 *     198.18.0.20        02:00:00:00:00:14    (next hop of 198.19.1.0/24)
 *     2001:db8:0:1::10   02:00:00:00:01:0a    (on-link gateway)
 *     2001:db8:0:1::20   02:00:00:00:01:14    (next hop of 2001:db8:99::/48 and,
 *                                             RFC 5549, of 198.19.2.0/24)
 *   198.18.0.50: nobody (never answers)
 *
 * A private mount namespace gets its own /sys, so /sys/class/net shows this
 * namespace's interfaces.
 */
#define PEER_MAC   "02:00:00:00:00:02"
#define MAX_EVENTS 4096

struct lab {
	const char *skip; /* reason every test of the group is skipped, or NULL */
	pid_t peer;	  /* child process holding the peer namespace, 0 if none */
	struct cg_nl *nl; /* the handle the tests share */
	int veth0;	  /* ifindex */
	bool sysfs;	  /* /sys was remounted for this namespace */
	bool vlan;	  /* veth0.100 exists (the kernel has 802.1Q) */
	char why[128];	  /* storage for skip */
};

static struct lab lab;

/* One callback of cg_nl_monitor_read(). */
struct event {
	bool link;	     /* addr was NULL */
	struct cg_addr addr; /* neighbour events */
	int ifindex;
	uint8_t mac[6];
	bool usable;
};

static struct event events[MAX_EVENTS];
static size_t nevents;

static void record(void *arg, const struct cg_addr *addr, int ifindex, const uint8_t mac[6],
		   bool usable)
{
	struct event *e;

	if (nevents == MAX_EVENTS)
		return;
	e = &events[nevents++];
	memset(e, 0, sizeof(*e));
	e->link = addr == NULL;
	if (addr)
		e->addr = *addr;
	e->ifindex = ifindex;
	memcpy(e->mac, mac, 6);
	e->usable = usable;
}

/* Run a shell command; returns its exit status, -1 if it could not run. */
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

#define must(...) assert_int_equal(run(__VA_ARGS__), 0)

static struct cg_addr addr_of(const char *s)
{
	struct cg_addr a = { 0 };

	if (inet_pton(AF_INET, s, a.a) == 1) {
		a.family = CG_AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, a.a), 1);
		a.family = CG_AF_INET6;
	}
	return a;
}

static void mac_of(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int i;

	assert_int_equal(sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]),
			 6);
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
}

static void assert_mac(const uint8_t got[6], const char *want)
{
	uint8_t w[6];
	char g[18];

	mac_of(want, w);
	snprintf(g, sizeof(g), "%02x:%02x:%02x:%02x:%02x:%02x", got[0], got[1], got[2], got[3],
		 got[4], got[5]);
	assert_string_equal(g, want);
	assert_memory_equal(got, w, 6);
}

static void assert_addr(const struct cg_addr *got, const char *want)
{
	struct cg_addr w = addr_of(want);

	assert_int_equal(got->family, w.family);
	assert_memory_equal(got->a, w.a, sizeof(w.a));
}

static bool mac_is_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) == 0;
}

static int ifindex_of(const char *name)
{
	int i = (int)if_nametoindex(name);

	assert_true(i > 0);
	return i;
}

static void skip_if_no_lab(void)
{
	cg_test_require(!lab.skip, "%s", lab.skip);
}

static int monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Read nl's monitor into events[] until a neighbour event for (addr,
 * ifindex) satisfying want_usable (-1: either) and, if mac is not NULL,
 * carrying that MAC shows up among the events from index from on.
 * Returns it, or NULL after timeout_ms.
 */
static const struct event *await_neigh(struct cg_nl *nl, size_t from, const char *addr, int ifindex,
				       int want_usable, const char *mac, int timeout_ms)
{
	struct cg_addr a = addr_of(addr);
	int deadline = monotonic_ms() + timeout_ms;
	struct pollfd pfd = { .fd = cg_nl_monitor_fd(nl), .events = POLLIN };
	uint8_t m[6];
	size_t i;
	int left;

	if (mac)
		mac_of(mac, m);
	for (;;) {
		assert_true(cg_nl_monitor_read(nl, record, NULL) >= 0);
		for (i = from; i < nevents; i++) {
			const struct event *e = &events[i];

			if (e->link || e->ifindex != ifindex || e->addr.family != a.family ||
			    memcmp(e->addr.a, a.a, sizeof(a.a)) != 0)
				continue;
			if (want_usable >= 0 && e->usable != (bool)want_usable)
				continue;
			if (mac && memcmp(e->mac, m, 6) != 0)
				continue;
			return e;
		}
		left = deadline - monotonic_ms();
		if (left <= 0)
			return NULL;
		poll(&pfd, 1, left);
	}
}

/* As await_neigh(), for a link event of ifindex. */
static const struct event *await_link(struct cg_nl *nl, size_t from, int ifindex, int want_usable,
				      const char *mac, int timeout_ms)
{
	int deadline = monotonic_ms() + timeout_ms;
	struct pollfd pfd = { .fd = cg_nl_monitor_fd(nl), .events = POLLIN };
	uint8_t m[6];
	size_t i;
	int left;

	if (mac)
		mac_of(mac, m);
	for (;;) {
		assert_true(cg_nl_monitor_read(nl, record, NULL) >= 0);
		for (i = from; i < nevents; i++) {
			const struct event *e = &events[i];

			if (!e->link || e->ifindex != ifindex)
				continue;
			if (want_usable >= 0 && e->usable != (bool)want_usable)
				continue;
			if (mac && memcmp(e->mac, m, 6) != 0)
				continue;
			return e;
		}
		left = deadline - monotonic_ms();
		if (left <= 0)
			return NULL;
		poll(&pfd, 1, left);
	}
}

/* Empty the monitor socket and forget the events recorded so far. */
static void drain(struct cg_nl *nl)
{
	while (cg_nl_monitor_read(nl, record, NULL) > 0)
		;
	nevents = 0;
}

/*
 * Fork a child that moves into a new network namespace of its own and waits
 * there, dying with us (PR_SET_PDEATHSIG). Returns its pid, or -1.
 */
static pid_t peer_spawn(void)
{
	pid_t parent = getpid(), pid;
	int p[2];
	char ok = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() == parent &&
		    unshare(CLONE_NEWNET) == 0)
			ok = 1;
		if (write(p[1], &ok, 1) != 1 || !ok)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &ok, 1) != 1 || !ok) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

static const char *const lab_script[] = {
	"sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0",
	"ip link set lo up",
	"ip link add veth0 type veth peer name veth1 netns %1$d",
	"ip link set veth0 up",
	"ip addr add 198.18.0.1/24 dev veth0",
	"ip addr add 2001:db8:0:1::1/64 dev veth0 nodad",
	"ip neigh add 198.18.0.10 lladdr 02:00:00:00:00:0a dev veth0 nud permanent",
	"ip neigh add 198.18.0.20 lladdr 02:00:00:00:00:14 dev veth0 nud permanent",
	"ip route add 198.19.1.0/24 via 198.18.0.20 dev veth0",
	"ip -6 neigh add 2001:db8:0:1::10 lladdr 02:00:00:00:01:0a dev veth0 nud permanent",
	"ip -6 neigh add 2001:db8:0:1::20 lladdr 02:00:00:00:01:14 dev veth0 nud permanent",
	"ip -6 route add 2001:db8:99::/48 via 2001:db8:0:1::20 dev veth0",
	"nsenter -t %1$d -n ip link set lo up",
	("nsenter -t %1$d -n ip link set veth1 address " PEER_MAC),
	"nsenter -t %1$d -n ip link set veth1 up",
	"nsenter -t %1$d -n ip addr add 198.18.0.2/24 dev veth1",
	"nsenter -t %1$d -n ip addr add 2001:db8:0:1::2/64 dev veth1 nodad",
};

static int lab_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lab.why, sizeof(lab.why), fmt, ap);
	va_end(ap);
	lab.skip = lab.why;
	return 0; /* the group runs; each test skips with the reason */
}

static int lab_up(void **state)
{
	size_t i;

	memset(&lab, 0, sizeof(lab));
	nevents = 0;
	if (geteuid() != 0)
		return lab_skip("needs root (network namespaces, rtnetlink changes)");
	if (run("command -v ip nsenter sysctl >/dev/null") != 0)
		return lab_skip("needs ip (iproute2), nsenter and sysctl");
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		return lab_skip("cannot unshare the network namespace: %s", strerror(errno));

	/* our own /sys, so /sys/class/net lists this namespace's interfaces */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
		umount2("/sys", MNT_DETACH);
		lab.sysfs = mount("sysfs", "/sys", "sysfs", 0, NULL) == 0;
	}

	lab.peer = peer_spawn();
	if (lab.peer < 0) {
		lab.peer = 0;
		print_message("cannot create the peer namespace\n");
		return -1;
	}
	for (i = 0; i < sizeof(lab_script) / sizeof(lab_script[0]); i++) {
		if (run(lab_script[i], (int)lab.peer) != 0) {
			print_message("lab setup failed at: %s\n", lab_script[i]);
			return -1;
		}
	}
	lab.vlan = run("ip link add link veth0 name veth0.100 type vlan id 100 2>/dev/null") == 0;
	if (lab.vlan && (run("ip link set veth0.100 up") != 0 ||
			 run("ip addr add 198.18.100.1/24 dev veth0.100") != 0 ||
			 run("ip neigh add 198.18.100.10 lladdr 02:00:00:00:64:0a dev veth0.100 "
			     "nud permanent") != 0))
		return -1;
	lab.veth0 = (int)if_nametoindex("veth0");

	lab.nl = cg_nl_open();
	if (!lab.nl) {
		print_message("cannot open rtnetlink: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int lab_down(void **state)
{
	cg_nl_close(lab.nl);
	lab.nl = NULL;
	if (lab.peer > 0) {
		kill(lab.peer, SIGKILL);
		waitpid(lab.peer, NULL, 0);
		lab.peer = 0;
	}
	return 0;
}

/* ---- IPv4 ---- */

static void test_onlink_gateway_with_permanent_neighbour_gives_its_mac(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	gw = addr_of("198.18.0.10");
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_int_equal(nh.ifindex, lab.veth0);
	assert_addr(&nh.via, "198.18.0.10");
	assert_mac(nh.mac, "02:00:00:00:00:0a");
	assert_int_equal(nh.vlan, 0);
	assert_int_equal(nh.lower_ifindex, 0);

	/* bytes beyond an IPv4 address are ignored, and via comes back clean */
	gw.pad[0] = 0x55;
	gw.a[1] = gw.a[2] = gw.a[3] = 0xdeadbeef;
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_addr(&nh.via, "198.18.0.10");
	assert_int_equal(nh.via.pad[0], 0);
}

static void test_gateway_behind_route_gives_next_hop_mac(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	gw = addr_of("198.19.1.77");
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_int_equal(nh.ifindex, lab.veth0);
	assert_addr(&nh.via, "198.18.0.20");
	assert_mac(nh.mac, "02:00:00:00:00:14");
}

static void test_route_alone_fills_all_but_mac(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	gw = addr_of("198.19.1.77");
	memset(&nh, 0xff, sizeof(nh));
	assert_int_equal(cg_nl_route(lab.nl, &gw, &nh), 0);
	assert_int_equal(nh.ifindex, lab.veth0);
	assert_addr(&nh.via, "198.18.0.20");
	assert_true(mac_is_zero(nh.mac));
	assert_int_equal(nh.vlan, 0);
	assert_int_equal(nh.lower_ifindex, 0);
}

static void test_unresolved_neighbour_returns_eagain_and_kernel_starts_resolving(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	assert_int_not_equal(run("ip neigh show to 198.18.0.50 dev veth0 | grep -q ."), 0);
	gw = addr_of("198.18.0.50");
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), -EAGAIN);
	/* enough to match the later event */
	assert_int_equal(nh.ifindex, lab.veth0);
	assert_addr(&nh.via, "198.18.0.50");
	assert_true(mac_is_zero(nh.mac));
	/* the kernel now has an entry it is resolving (INCOMPLETE, later FAILED) */
	must("ip neigh show to 198.18.0.50 dev veth0 nud incomplete nud failed nud probe"
	     " | grep -q 198.18.0.50");
	/* asking again while it is being resolved is harmless */
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), -EAGAIN);
}

static void test_answer_to_pending_resolution_arrives_as_monitor_event(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	drain(lab.nl);
	/* nobody has 198.18.0.3 yet: the kernel keeps asking */
	gw = addr_of("198.18.0.3");
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), -EAGAIN);
	must("nsenter -t %d -n ip addr add 198.18.0.3/24 dev veth1", (int)lab.peer);
	assert_non_null(await_neigh(lab.nl, 0, "198.18.0.3", nh.ifindex, 1, PEER_MAC, 5000));
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_mac(nh.mac, PEER_MAC);
}

static void test_reachable_peer_resolves_to_its_mac(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;
	int ret;

	skip_if_no_lab();
	drain(lab.nl);
	/* over veth the answer may come before cg_nl_resolve() returns */
	gw = addr_of("198.18.0.2");
	ret = cg_nl_resolve(lab.nl, &gw, &nh);
	assert_true(ret == 0 || ret == -EAGAIN);
	assert_non_null(await_neigh(lab.nl, 0, "198.18.0.2", lab.veth0, 1, PEER_MAC, 5000));
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_mac(nh.mac, PEER_MAC);
}

static void test_no_route_is_enetunreach(void **state)
{
	static const char *const dsts[] = {
		"198.19.200.1", /* no route at all (and no default) */
		"198.19.9.1",	/* blackhole */
		"198.19.8.1",	/* unreachable */
		"198.19.7.1",	/* prohibit */
		"198.18.0.1",	/* ourselves: a local route */
	};
	struct cg_addr dst;
	struct cg_nexthop nh;
	size_t i;
	int ret;

	skip_if_no_lab();
	must("ip route add blackhole 198.19.9.0/24");
	must("ip route add unreachable 198.19.8.0/24");
	must("ip route add prohibit 198.19.7.0/24");
	for (i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		dst = addr_of(dsts[i]);
		memset(&nh, 0xff, sizeof(nh));
		ret = cg_nl_resolve(lab.nl, &dst, &nh);
		if (ret != -ENETUNREACH)
			fail_msg("resolve %s: %d, not -ENETUNREACH", dsts[i], ret);
		assert_int_equal(nh.ifindex, 0);
		assert_int_equal(nh.via.family, 0);
		ret = cg_nl_route(lab.nl, &dst, &nh);
		if (ret != -ENETUNREACH)
			fail_msg("route %s: %d, not -ENETUNREACH", dsts[i], ret);
	}
}

static void test_bad_arguments_are_einval(void **state)
{
	struct cg_addr dst = addr_of("198.18.0.10"), bad = { 0 };
	struct cg_nexthop nh;
	uint8_t mac[6];

	skip_if_no_lab();
	assert_int_equal(cg_nl_resolve(NULL, &dst, &nh), -EINVAL);
	assert_int_equal(cg_nl_resolve(lab.nl, NULL, &nh), -EINVAL);
	assert_int_equal(cg_nl_resolve(lab.nl, &dst, NULL), -EINVAL);
	assert_int_equal(cg_nl_resolve(lab.nl, &bad, &nh), -EINVAL);
	bad.family = 5;
	assert_int_equal(cg_nl_route(lab.nl, &bad, &nh), -EINVAL);
	assert_int_equal(cg_nl_ifindex_mac(lab.nl, 0, mac), -EINVAL);
	assert_int_equal(cg_nl_ifindex_mac(NULL, 1, mac), -EINVAL);
	assert_int_equal(cg_nl_monitor_read(lab.nl, NULL, NULL), -EINVAL);
	assert_int_equal(cg_nl_monitor_fd(NULL), -1);
	cg_nl_close(NULL);
}

/* ---- IPv6 ---- */

static void test_ipv6_onlink_gateway_gives_its_mac(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	gw = addr_of("2001:db8:0:1::10");
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_int_equal(nh.ifindex, lab.veth0);
	assert_addr(&nh.via, "2001:db8:0:1::10");
	assert_mac(nh.mac, "02:00:00:00:01:0a");
	assert_int_equal(nh.vlan, 0);
}

static void test_ipv6_gateway_behind_route_gives_next_hop_mac(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	gw = addr_of("2001:db8:99:5::1");
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_int_equal(nh.ifindex, lab.veth0);
	assert_addr(&nh.via, "2001:db8:0:1::20");
	assert_mac(nh.mac, "02:00:00:00:01:14");
}

static void test_ipv6_answer_to_pending_resolution_arrives_as_monitor_event(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	drain(lab.nl);
	gw = addr_of("2001:db8:0:1::3");
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), -EAGAIN);
	assert_addr(&nh.via, "2001:db8:0:1::3");
	must("nsenter -t %d -n ip addr add 2001:db8:0:1::3/64 dev veth1 nodad", (int)lab.peer);
	assert_non_null(await_neigh(lab.nl, 0, "2001:db8:0:1::3", nh.ifindex, 1, PEER_MAC, 5000));
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_mac(nh.mac, PEER_MAC);
}

static void test_ipv6_reachable_peer_resolves_to_its_mac(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;
	int ret;

	skip_if_no_lab();
	drain(lab.nl);
	gw = addr_of("2001:db8:0:1::2");
	ret = cg_nl_resolve(lab.nl, &gw, &nh);
	assert_true(ret == 0 || ret == -EAGAIN);
	assert_non_null(await_neigh(lab.nl, 0, "2001:db8:0:1::2", lab.veth0, 1, PEER_MAC, 5000));
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_mac(nh.mac, PEER_MAC);
}

static void test_ipv6_no_route_is_enetunreach(void **state)
{
	struct cg_addr dst;
	struct cg_nexthop nh;

	skip_if_no_lab();
	dst = addr_of("2001:db8:ffff::1");
	assert_int_equal(cg_nl_resolve(lab.nl, &dst, &nh), -ENETUNREACH);
	must("ip -6 route add blackhole 2001:db8:fff0::/48");
	dst = addr_of("2001:db8:fff0::1");
	assert_int_equal(cg_nl_resolve(lab.nl, &dst, &nh), -ENETUNREACH);
	must("ip -6 route add unreachable 2001:db8:fff1::/48");
	dst = addr_of("2001:db8:fff1::1");
	assert_int_equal(cg_nl_resolve(lab.nl, &dst, &nh), -ENETUNREACH);
}

static void test_ipv4_route_with_ipv6_next_hop_gives_its_mac(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	cg_test_require(run("ip route add 198.19.2.0/24 via inet6 2001:db8:0:1::20 dev veth0") == 0,
			"kernel refuses IPv4 routes with IPv6 next hops");
	gw = addr_of("198.19.2.9");
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_int_equal(nh.ifindex, lab.veth0);
	assert_addr(&nh.via, "2001:db8:0:1::20");
	assert_mac(nh.mac, "02:00:00:00:01:14");
}

/* ---- monitor ---- */

static void test_monitor_read_with_nothing_pending_returns_zero(void **state)
{
	skip_if_no_lab();
	drain(lab.nl);
	assert_int_equal(cg_nl_monitor_read(lab.nl, record, NULL), 0);
	assert_int_equal(nevents, 0);
}

static void test_monitor_reports_neighbour_mac_change(void **state)
{
	const struct event *e;

	skip_if_no_lab();
	drain(lab.nl);
	must("ip neigh replace 198.18.0.10 lladdr 02:00:00:00:00:bb dev veth0 nud permanent");
	e = await_neigh(lab.nl, 0, "198.18.0.10", lab.veth0, -1, NULL, 2000);
	assert_non_null(e);
	assert_true(e->usable);
	assert_mac(e->mac, "02:00:00:00:00:bb");

	must("ip -6 neigh replace 2001:db8:0:1::10 lladdr 02:00:00:00:01:bb dev veth0 nud stale");
	e = await_neigh(lab.nl, 0, "2001:db8:0:1::10", lab.veth0, -1, NULL, 2000);
	assert_non_null(e);
	assert_true(e->usable);
	assert_mac(e->mac, "02:00:00:00:01:bb");
}

static void test_monitor_reports_deleted_neighbour_as_unusable(void **state)
{
	const struct event *e;

	skip_if_no_lab();
	drain(lab.nl);
	must("ip neigh del 198.18.0.20 dev veth0");
	e = await_neigh(lab.nl, 0, "198.18.0.20", lab.veth0, -1, NULL, 2000);
	assert_non_null(e);
	assert_false(e->usable);

	must("ip -6 neigh del 2001:db8:0:1::20 dev veth0");
	e = await_neigh(lab.nl, 0, "2001:db8:0:1::20", lab.veth0, -1, NULL, 2000);
	assert_non_null(e);
	assert_false(e->usable);
}

static void test_monitor_reports_failed_resolution_as_unusable(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	drain(lab.nl);
	/* fail fast: one probe, 100 ms apart */
	must("sysctl -qw net.ipv4.neigh.veth0.mcast_solicit=1 net.ipv4.neigh.veth0.ucast_solicit=0 "
	     "net.ipv4.neigh.veth0.app_solicit=0 net.ipv4.neigh.veth0.retrans_time_ms=100");
	gw = addr_of("198.18.0.60");
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), -EAGAIN);
	assert_non_null(await_neigh(lab.nl, 0, "198.18.0.60", lab.veth0, 0, NULL, 5000));
	must("ip neigh show to 198.18.0.60 dev veth0 nud failed | grep -q 198.18.0.60");
	/* a FAILED entry is not usable: resolving asks again */
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), -EAGAIN);
}

static void test_monitor_reports_link_changes(void **state)
{
	const struct event *e;
	int mon0;

	skip_if_no_lab();
	drain(lab.nl);
	must("ip link add mon0 type veth peer name mon1");
	mon0 = ifindex_of("mon0");
	assert_non_null(await_link(lab.nl, 0, mon0, 0, NULL, 2000));

	must("ip link set mon0 address 02:00:00:00:99:01");
	e = await_link(lab.nl, 0, mon0, -1, "02:00:00:00:99:01", 2000);
	assert_non_null(e);
	assert_true(e->link);

	must("ip link set mon1 up && ip link set mon0 up");
	assert_non_null(await_link(lab.nl, 0, mon0, 1, "02:00:00:00:99:01", 2000));

	nevents = 0;
	must("ip link del mon0");
	assert_non_null(await_link(lab.nl, 0, mon0, 0, NULL, 2000));
}

static void test_monitor_overrun_returns_enobufs(void **state)
{
	struct cg_nl *nl;
	char path[] = "/tmp/cg-test-netlink.XXXXXX";
	FILE *f;
	int fd, small = 1, i, ret, st;

	skip_if_no_lab();
	nl = cg_nl_open();
	assert_non_null(nl);
	/* shrink the monitor's buffer to the minimum, then flood it */
	assert_int_equal(
		setsockopt(cg_nl_monitor_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &small, sizeof(small)),
		0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	/* 150 addresses, each added then changed: 300 events, far beyond the buffer */
	for (i = 0; i < 300; i++)
		fprintf(f, "neigh replace 198.18.0.%d lladdr 02:00:00:00:00:%02x dev veth0 %s\n",
			100 + i % 150, i & 0xff, "nud permanent");
	fclose(f);
	st = run("ip -batch %s", path);
	unlink(path);
	assert_int_equal(st, 0);

	for (;;) {
		ret = cg_nl_monitor_read(nl, record, NULL);
		if (ret == -ENOBUFS)
			break;
		assert_true(ret > 0);
	}
	/* the socket keeps working after the overrun */
	assert_true(cg_nl_monitor_read(nl, record, NULL) >= 0);
	cg_nl_close(nl);
	nevents = 0;
}

/* ---- links ---- */

static void test_vlan_device_gives_vlan_id_and_lower_ifindex(void **state)
{
	struct cg_addr gw;
	struct cg_nexthop nh;

	skip_if_no_lab();
	cg_test_require(lab.vlan, "kernel has no 802.1Q VLAN devices (CONFIG_VLAN_8021Q)");
	gw = addr_of("198.18.100.10");
	assert_int_equal(cg_nl_resolve(lab.nl, &gw, &nh), 0);
	assert_int_equal(nh.ifindex, ifindex_of("veth0.100"));
	assert_int_equal(nh.vlan, 100);
	assert_int_equal(nh.lower_ifindex, lab.veth0);
	assert_mac(nh.mac, "02:00:00:00:64:0a");
}

static void test_ifindex_mac_matches_sysfs(void **state)
{
	static const char *const names[] = { "veth0", "lo" };
	char path[64], text[32], got[18];
	uint8_t mac[6];
	FILE *f;
	size_t i;

	skip_if_no_lab();
	cg_test_require(lab.sysfs, "cannot mount a sysfs for this namespace");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/address", names[i]);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(text, sizeof(text), f));
		fclose(f);
		text[strcspn(text, "\n")] = '\0';
		memset(mac, 0xee, sizeof(mac));
		assert_int_equal(cg_nl_ifindex_mac(lab.nl, ifindex_of(names[i]), mac), 0);
		snprintf(got, sizeof(got), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
			 mac[3], mac[4], mac[5]);
		assert_string_equal(got, text);
	}
}

/* One counter of /sys/class/net/NAME/statistics. */
static uint64_t sysfs_stat(const char *name, const char *counter)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", name, counter);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%llu", &v), 1);
	fclose(f);
	return v;
}

/*
 * The counters come from the kernel, as sysfs shows them: read between two
 * sysfs reads (the peer may send something in between), and they move with
 * traffic sent for the test (datagrams to the peer leave through veth0).
 */
static void test_link_stats_match_sysfs_and_count_traffic(void **state)
{
	static const char *const names[] = { "veth0", "lo" };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct cg_link_stats st, st2;
	uint64_t lo_rx, hi_rx, lo_tx, hi_tx;
	int i, fd, ifx;

	skip_if_no_lab();
	cg_test_require(lab.sysfs, "cannot mount a sysfs for this namespace");
	for (i = 0; i < 2; i++) {
		ifx = ifindex_of(names[i]);
		lo_rx = sysfs_stat(names[i], "rx_packets");
		lo_tx = sysfs_stat(names[i], "tx_bytes");
		assert_int_equal(cg_nl_link_stats(lab.nl, ifx, &st), 0);
		hi_rx = sysfs_stat(names[i], "rx_packets");
		hi_tx = sysfs_stat(names[i], "tx_bytes");
		assert_in_range(st.rx_packets, lo_rx, hi_rx);
		assert_in_range(st.tx_bytes, lo_tx, hi_tx);
	}
	/* 20 datagrams of 100 bytes to the peer: 20 packets more out of veth0 */
	ifx = ifindex_of("veth0");
	assert_int_equal(cg_nl_link_stats(lab.nl, ifx, &st), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, "198.18.0.2", &to.sin_addr), 1);
	for (i = 0; i < 20; i++) {
		char buf[100] = { 0 };

		assert_int_equal(sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)sizeof(buf));
	}
	close(fd);
	assert_int_equal(cg_nl_link_stats(lab.nl, ifx, &st2), 0);
	assert_true(st2.tx_packets >= st.tx_packets + 20);
	/* each frame is at least 100 bytes of payload, 8 of UDP, 20 of IP, 14 of Ethernet */
	assert_true(st2.tx_bytes >= st.tx_bytes + 20 * 142);
	assert_true(st2.rx_packets >= st.rx_packets);
}

static void test_link_stats_of_missing_interface_is_enodev(void **state)
{
	struct cg_link_stats st;

	skip_if_no_lab();
	memset(&st, 0xee, sizeof(st));
	assert_int_equal(cg_nl_link_stats(lab.nl, 999999, &st), -ENODEV);
	assert_int_equal(st.rx_packets, 0);
	assert_int_equal(cg_nl_link_stats(lab.nl, 0, &st), -EINVAL);
	assert_int_equal(cg_nl_link_stats(NULL, 1, &st), -EINVAL);
	assert_int_equal(cg_nl_link_stats(lab.nl, 1, NULL), -EINVAL);
}

static void test_ifindex_mac_of_missing_interface_is_enodev(void **state)
{
	uint8_t mac[6] = { 1, 2, 3, 4, 5, 6 };

	skip_if_no_lab();
	assert_int_equal(cg_nl_ifindex_mac(lab.nl, 999999, mac), -ENODEV);
	assert_mac(mac, "01:02:03:04:05:06");
}

static void test_late_answers_to_earlier_requests_are_skipped(void **state)
{
	char req[CG_NL_REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	uint8_t mac[6];

	skip_if_no_lab();
	/* a request whose answer nobody reads, as after a timeout */
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = lab.nl->seq - 7;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = ifindex_of("lo");
	assert_true(mnl_socket_sendto(lab.nl->req, nlh, nlh->nlmsg_len) > 0);

	assert_int_equal(cg_nl_ifindex_mac(lab.nl, lab.veth0, mac), 0);
	assert_int_equal(cg_nl_ifindex_mac(lab.nl, ifindex_of("lo"), mac), 0);
	assert_mac(mac, "00:00:00:00:00:00");
}

/* ---- parsers, with hand-built messages ---- */

/* A RTM_NEWLINK for a VLAN device of the given protocol on ifindex 3. */
static struct nlmsghdr *vlan_link_msg(char *buf, uint16_t proto)
{
	static const uint8_t addr[6] = { 2, 0, 0, 0, 0x64, 1 };
	struct nlattr *info, *data;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = 7;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0.100");
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(addr), addr);
	mnl_attr_put_u32(nlh, IFLA_LINK, 3);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u16(nlh, IFLA_VLAN_PROTOCOL, htons(proto));
	mnl_attr_put_u16(nlh, IFLA_VLAN_ID, 100);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

static void test_link_parser_reads_vlan_id_protocol_and_parent(void **state)
{
	char buf[512] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct link_info li = { 0 };

	link_cb(vlan_link_msg(buf, ETH_P_8021Q), &li);
	assert_true(li.found);
	assert_true(li.is_vlan);
	assert_int_equal(li.vlan_id, 100);
	assert_int_equal(li.vlan_proto, ETH_P_8021Q);
	assert_int_equal(li.link, 3);
	assert_false(li.link_netns);
	assert_int_equal(li.addr_len, 6);
	assert_mac(li.mac, "02:00:00:00:64:01");

	memset(&li, 0, sizeof(li));
	link_cb(vlan_link_msg(buf, ETH_P_8021AD), &li);
	assert_true(li.is_vlan);
	assert_int_equal(li.vlan_proto, ETH_P_8021AD);
}

static void test_route_parser_reads_oif_gateway_and_via(void **state)
{
	char buf[512] __attribute__((aligned(NLMSG_ALIGNTO)));
	uint8_t via[sizeof(struct rtvia) + 16];
	struct route_info ri = { 0 };
	struct cg_addr gw6 = addr_of("2001:db8:0:1::20");
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct rtvia *v = (struct rtvia *)via;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_OIF, 4);
	v->rtvia_family = AF_INET6;
	memcpy(v->rtvia_addr, gw6.a, 16);
	mnl_attr_put(nlh, RTA_VIA, sizeof(via), via);
	route_cb(nlh, &ri);
	assert_true(ri.found);
	assert_false(ri.bad_attr);
	assert_int_equal(ri.oif, 4);
	assert_addr(&ri.gw, "2001:db8:0:1::20");

	/* a 5-byte IPv4 gateway is refused, not half read */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	mnl_attr_put(nlh, RTA_GATEWAY, 5, "\xc6\x12\x00\x14\x00");
	memset(&ri, 0, sizeof(ri));
	route_cb(nlh, &ri);
	assert_true(ri.bad_attr);
}

int main(void)
{
	const struct CMUnitTest ipv4[] = {
		cmocka_unit_test(test_onlink_gateway_with_permanent_neighbour_gives_its_mac),
		cmocka_unit_test(test_gateway_behind_route_gives_next_hop_mac),
		cmocka_unit_test(test_route_alone_fills_all_but_mac),
		cmocka_unit_test(
			test_unresolved_neighbour_returns_eagain_and_kernel_starts_resolving),
		cmocka_unit_test(test_answer_to_pending_resolution_arrives_as_monitor_event),
		cmocka_unit_test(test_reachable_peer_resolves_to_its_mac),
		cmocka_unit_test(test_no_route_is_enetunreach),
		cmocka_unit_test(test_bad_arguments_are_einval),
	};
	const struct CMUnitTest ipv6[] = {
		cmocka_unit_test(test_ipv6_onlink_gateway_gives_its_mac),
		cmocka_unit_test(test_ipv6_gateway_behind_route_gives_next_hop_mac),
		cmocka_unit_test(test_ipv6_answer_to_pending_resolution_arrives_as_monitor_event),
		cmocka_unit_test(test_ipv6_reachable_peer_resolves_to_its_mac),
		cmocka_unit_test(test_ipv6_no_route_is_enetunreach),
		cmocka_unit_test(test_ipv4_route_with_ipv6_next_hop_gives_its_mac),
	};
	const struct CMUnitTest monitor[] = {
		cmocka_unit_test(test_monitor_read_with_nothing_pending_returns_zero),
		cmocka_unit_test(test_monitor_reports_neighbour_mac_change),
		cmocka_unit_test(test_monitor_reports_deleted_neighbour_as_unusable),
		cmocka_unit_test(test_monitor_reports_failed_resolution_as_unusable),
		cmocka_unit_test(test_monitor_reports_link_changes),
		cmocka_unit_test(test_monitor_overrun_returns_enobufs),
	};
	const struct CMUnitTest links[] = {
		cmocka_unit_test(test_vlan_device_gives_vlan_id_and_lower_ifindex),
		cmocka_unit_test(test_ifindex_mac_matches_sysfs),
		cmocka_unit_test(test_ifindex_mac_of_missing_interface_is_enodev),
		cmocka_unit_test(test_link_stats_match_sysfs_and_count_traffic),
		cmocka_unit_test(test_link_stats_of_missing_interface_is_enodev),
		cmocka_unit_test(test_late_answers_to_earlier_requests_are_skipped),
	};
	const struct CMUnitTest parsers[] = {
		cmocka_unit_test(test_link_parser_reads_vlan_id_protocol_and_parent),
		cmocka_unit_test(test_route_parser_reads_oif_gateway_and_via),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("netlink_ipv4", ipv4, lab_up, lab_down);
	failed += cmocka_run_group_tests_name("netlink_ipv6", ipv6, lab_up, lab_down);
	failed += cmocka_run_group_tests_name("netlink_monitor", monitor, lab_up, lab_down);
	failed += cmocka_run_group_tests_name("netlink_links", links, lab_up, lab_down);
	failed += cmocka_run_group_tests_name("netlink_parsers", parsers, NULL, NULL);
	return failed ? 1 : 0;
}
