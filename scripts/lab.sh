#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# lab.sh - build, show and remove cellgate's namespace lab: two clients, a router, the LB, six cells
#
# usage: scripts/lab.sh up [--direct] | down | status | env | cellsrv CELL [ARG...]
#
#   up         build the lab; the router sends the VIPs to the LB (one-armed, one veth)
#   up --direct  the same lab, but the router sends the VIPs straight to cell use1-a (no LB):
#              the baseline for benchmarks and a check of the lab itself
#   down       kill the lab's processes, delete its namespaces, runtime files and bpffs pins;
#              idempotent, also removes what a crashed run left
#   status     address plan, namespaces, servers and XDP programs
#   env        shell-sourceable variables for tests and the demo: eval "$(scripts/lab.sh env)"
#   cellsrv CELL [ARG...]  restart CELL's cellsrv with the lab's options and ARGs added (a
#              capacity, load reports: --service-ms 20 --workers 2 --report ADDR:PORT ...);
#              waits until it is ready
#
# Environment: LAB_PREFIX (cglab) starts every namespace name (and names the pin dir
# /sys/fs/bpf/$LAB_PREFIX); LAB_DIR ($BUILD/lab) holds pids, logs and cellgate.yaml;
# BUILD (build) is where the programs are; LAB_NO_BUILD=1 skips running make.
#
# All traffic stays inside the namespaces made here: hosts in 198.18.0.0/15, VIPs in
# 203.0.113.0/24, IPv6 in 2001:db8::/32. Nothing is created in the caller's namespace.
set -Eeuo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
P=${LAB_PREFIX:-cglab}
BUILD=${BUILD:-build}
case $BUILD in /*) build_dir=$BUILD ;; *) build_dir=$top/$BUILD ;; esac
LAB_DIR=${LAB_DIR:-$build_dir/lab}
case $LAB_DIR in /*) ;; *) LAB_DIR=$PWD/$LAB_DIR ;; esac
PIN_DIR=/sys/fs/bpf/$P

CELLSRV=$build_dir/cellsrv
LABCLIENT=$build_dir/labclient
DECAP_OBJ=$build_dir/bpf/decap.bpf.o
PASS_OBJ=$build_dir/bpf/pass.bpf.o

VIP4=203.0.113.10
VIP6=2001:db8:f00d::10
VIP4_NET=203.0.113.0/24
VIP6_NET=2001:db8:f00d::/48
TCP_PORT=80 # service web (and web6)
UDP_PORT=53 # service dns
HOST_IF=to-rtr # every host's interface to the router; the router's are to-<host>

# Address plan: host h sits on link 198.18.<n>.0/24 and 2001:db8:0:<n>::/64, the router
# is .1 / ::1 on it, the host .2 / ::2.
CELLS=(use1-a use1-b euw1-a euw1-b aps1-a aps1-b)
HOSTS=(lb c1 c2 "${CELLS[@]}")
declare -A LINK=([lb]=1 [c1]=11 [c2]=12 [use1-a]=21 [use1-b]=22 [euw1-a]=31 [euw1-b]=32
	[aps1-a]=41 [aps1-b]=42)
declare -A REGION=([use1-a]=us-east [use1-b]=us-east [euw1-a]=eu-west [euw1-b]=eu-west
	[aps1-a]=ap-south [aps1-b]=ap-south)
REGIONS=(us-east:0 eu-west:10 ap-south:20) # name:cost seen from the LB (in us-east)
DIRECT_CELL=use1-a                         # where --direct routes the VIPs

die() {
	echo "lab: $*" >&2
	exit 1
}

host_v4() { echo "198.18.${LINK[$1]}.2"; }
host_v6() { echo "2001:db8:0:${LINK[$1]}::2"; }
rtr_v4() { echo "198.18.${LINK[$1]}.1"; }
rtr_v6() { echo "2001:db8:0:${LINK[$1]}::1"; }
ns() { echo "$P-$1"; }
encap_of() { case $1 in aps1-*) echo ipip ;; *) echo gue ;; esac; }

# Every namespace of this lab, including ones a crashed run left behind.
lab_namespaces() {
	local n
	while read -r n _; do
		if [[ $n == "$P"-* ]]; then echo "$n"; fi
	done < <(ip netns list 2>/dev/null || true)
}

check_prefix() {
	[[ $P =~ ^[A-Za-z0-9][A-Za-z0-9_.]{0,23}$ ]] ||
		die "bad LAB_PREFIX '$P': letters, digits, '_' and '.', at most 24"
	# /sys/fs/bpf/cellgate is the real daemon's pin dir: down must never remove it
	[[ $P != cellgate ]] || die "LAB_PREFIX 'cellgate' would clash with the daemon's pin dir"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, veth, XDP)"
}

# Build what the lab runs unless it is there and LAB_NO_BUILD=1.
ensure_built() {
	local targets=("$CELLSRV" "$LABCLIENT" "$DECAP_OBJ" "$PASS_OBJ") t missing=0 mk=()
	for t in "${targets[@]}"; do [ -e "$t" ] || missing=1; done
	if [ "${LAB_NO_BUILD:-0}" != 1 ]; then
		# tests/lab/lab.mk guards against being included twice
		mk=(-f Makefile -f tests/lab/lab.mk)
		make -s -C "$top" --no-print-directory "${mk[@]}" BUILD="$BUILD" \
			"${targets[@]#"$top"/}" >&2 || die "cannot build the lab's programs"
	elif [ "$missing" -eq 1 ]; then
		die "missing programs in '$build_dir': run make"
	fi
}

sysctl_ns() { ip netns exec "$1" sysctl -qw "$2" >/dev/null; }

# make_ns NAME: a namespace with lo up, rp_filter off and no IPv6 DAD for its future links.
make_ns() {
	local n=$1
	ip netns add "$n"
	ip -n "$n" link set lo up
	sysctl_ns "$n" net.ipv4.conf.all.rp_filter=0
	sysctl_ns "$n" net.ipv4.conf.default.rp_filter=0
	sysctl_ns "$n" net.ipv6.conf.all.accept_dad=0
	sysctl_ns "$n" net.ipv6.conf.default.accept_dad=0
	sysctl_ns "$n" net.ipv6.conf.all.accept_ra=0
	sysctl_ns "$n" net.ipv6.conf.default.accept_ra=0
}

# link_host HOST: the veth pair router:to-HOST <-> HOST:to-rtr, addressed, up, default routes.
link_host() {
	local h=$1 r h_ns
	r=$(ns rtr)
	h_ns=$(ns "$h")
	ip -n "$r" link add "to-$h" type veth peer name "$HOST_IF" netns "$h_ns"
	ip -n "$r" addr add "$(rtr_v4 "$h")/24" dev "to-$h"
	ip -n "$r" addr add "$(rtr_v6 "$h")/64" dev "to-$h" nodad
	ip -n "$h_ns" addr add "$(host_v4 "$h")/24" dev "$HOST_IF"
	ip -n "$h_ns" addr add "$(host_v6 "$h")/64" dev "$HOST_IF" nodad
	sysctl_ns "$r" "net.ipv4.conf.to-$h.rp_filter=0"
	sysctl_ns "$h_ns" "net.ipv4.conf.$HOST_IF.rp_filter=0"
	ip -n "$r" link set "to-$h" up
	ip -n "$h_ns" link set "$HOST_IF" up
	ip -n "$h_ns" route add default via "$(rtr_v4 "$h")"
	ip -n "$h_ns" -6 route add default via "$(rtr_v6 "$h")"
}

# Locally made TCP/UDP leaves a veth with only the pseudo-header sum in its checksum field
# (offload: the skb notes the sum is still to do). XDP_TX turns the packet into a frame that
# has lost that note, and the cell drops it (TcpInCsumErrors). So the router fills the
# checksums in before handing packets to the LB: tx checksum offload off on to-lb.
csum_off() {
	ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
}

# ethtool is the one tool beyond iproute2 the lab needs (csum_off); installed when missing.
ensure_tools() {
	command -v ip >/dev/null || die "ip (iproute2) missing"
	command -v ethtool >/dev/null && return 0
	echo "lab: installing ethtool (needed to turn off checksum offload towards the LB)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ethtool \
		>/dev/null || die "cannot install ethtool: apt-get install ethtool"
}

start_cellsrv() {
	local c=$1 n log
	shift
	n=$(ns "$c")
	log=$LAB_DIR/logs/cellsrv-$c.log
	: >"$log"
	ip netns exec "$n" "$CELLSRV" --name "$c" --tcp "$TCP_PORT" --udp "$UDP_PORT" \
		--bind "$VIP4" --bind "$VIP6" --gateway "$(host_v4 "$c")" --gateway "$(host_v6 "$c")" \
		"$@" </dev/null >>"$log" 2>&1 &
	echo "$!" >"$LAB_DIR/pids/cellsrv-$c.pid"
}

# Wait (bounded: 5 s) until every cellsrv (or those named) says it is ready.
wait_cellsrv() {
	local c i pid
	[ $# -gt 0 ] || set -- "${CELLS[@]}"
	for c; do
		pid=$(cat "$LAB_DIR/pids/cellsrv-$c.pid")
		for ((i = 0; i < 50; i++)); do
			grep -q ': ready$' "$LAB_DIR/logs/cellsrv-$c.log" && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		grep -q ': ready$' "$LAB_DIR/logs/cellsrv-$c.log" ||
			die "cellsrv for $c did not start: $(tail -n 3 "$LAB_DIR/logs/cellsrv-$c.log")"
	done
}

write_config() {
	local f=$LAB_DIR/cellgate.yaml r c svc cells name vip port proto
	{
		echo "# cellgate.yaml - cellgated config for the lab '$P' (written by scripts/lab.sh up)"
		echo "region: us-east"
		echo "interfaces: [$HOST_IF]"
		echo "xdp_mode: native"
		echo "source:"
		echo "  ipv4: $(host_v4 lb)"
		echo "  ipv6: $(host_v6 lb)"
		echo "mtu: 1500"
		echo "conntrack: 65536"
		echo "regions:"
		for r in "${REGIONS[@]}"; do
			echo "  - name: ${r%%:*}"
			echo "    cost: ${r#*:}"
		done
		echo "cells:"
		for c in "${CELLS[@]}"; do
			echo "  - name: $c"
			echo "    region: ${REGION[$c]}"
			echo "    gateway: $(host_v4 "$c")"
			echo "    encap: $(encap_of "$c")"
			echo "    weight: 100"
			echo "    capacity: 1000"
		done
		echo "services:"
		cells=$(printf '%s, ' "${CELLS[@]}")
		for svc in "web $VIP4 $TCP_PORT tcp" "dns $VIP4 $UDP_PORT udp" "web6 $VIP6 $TCP_PORT tcp"; do
			read -r name vip port proto <<<"$svc"
			echo "  - name: $name"
			echo "    vip: $vip"
			echo "    port: $port"
			echo "    protocol: $proto"
			echo "    cells: [${cells%, }]"
		done
	} >"$f.tmp"
	mv "$f.tmp" "$f"
}

up_done=0

# EXIT trap of up: a failed or interrupted up leaves nothing behind.
up_cleanup() {
	[ "$up_done" = 1 ] && return 0
	trap - EXIT INT TERM
	echo "lab: up failed; removing the partial lab '$P'" >&2
	cmd_down >/dev/null 2>&1 || true
}

cmd_up() {
	local mode=lb h c n r gw4 gw6
	case ${1:-} in
	"") ;;
	--direct) mode=direct ;;
	*) die "unknown option '$1' (up [--direct])" ;;
	esac
	need_root
	[ -z "$(lab_namespaces)" ] || die "lab '$P' exists: run 'scripts/lab.sh down' first"
	ensure_tools
	ensure_built
	mkdir -p "$LAB_DIR/pids" "$LAB_DIR/logs"
	rm -f "$LAB_DIR"/logs/cellsrv-*.log

	trap up_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	r=$(ns rtr)
	make_ns "$r"
	sysctl_ns "$r" net.ipv4.ip_forward=1
	sysctl_ns "$r" net.ipv6.conf.all.forwarding=1
	for h in "${HOSTS[@]}"; do
		make_ns "$(ns "$h")"
		link_host "$h"
	done

	# the LB's link: XDP_TX from the LB reaches the router only if an XDP program runs here
	ip -n "$r" link set dev to-lb xdp obj "$PASS_OBJ" sec xdp
	csum_off "$r" to-lb

	for c in "${CELLS[@]}"; do
		n=$(ns "$c")
		ip -n "$n" addr add "$VIP4/32" dev lo
		ip -n "$n" addr add "$VIP6/128" dev lo nodad
		ip -n "$n" link set dev "$HOST_IF" xdp obj "$DECAP_OBJ" sec xdp
		# decap takes tunnel packets only from the LB's own (outer source) addresses
		decap_allow "$n" "$HOST_IF" "$(host_v4 lb)" "$(host_v6 lb)"
		start_cellsrv "$c"
	done

	if [ "$mode" = direct ]; then
		gw4=$(host_v4 "$DIRECT_CELL")
		gw6=$(host_v6 "$DIRECT_CELL")
	else
		gw4=$(host_v4 lb)
		gw6=$(host_v6 lb)
	fi
	ip -n "$r" route add "$VIP4_NET" via "$gw4"
	ip -n "$r" -6 route add "$VIP6_NET" via "$gw6"

	write_config
	echo "$mode" >"$LAB_DIR/mode"
	wait_cellsrv
	up_done=1
	trap - EXIT INT TERM
	echo "lab '$P' is up ($mode): VIPs $VIP4 and $VIP6 via $([ "$mode" = direct ] &&
		echo "cell $DIRECT_CELL" || echo "the LB, $(ns lb) dev $HOST_IF")"
	echo "  config $LAB_DIR/cellgate.yaml; 'scripts/lab.sh status' for the plan, 'down' to remove"
}

# kill_pids PID...: TERM, wait up to 2 s, then KILL what is left.
kill_pids() {
	local p i left
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		left=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && left=1; done
		[ "$left" -eq 0 ] && return 0
		sleep 0.1
	done
	kill -KILL "$@" 2>/dev/null || true
}

cmd_down() {
	local f pid n pids=()
	need_root
	# recorded pids first (only while their namespace exists: a stale pid file may name a
	# process that has nothing to do with the lab), then whatever else runs inside
	for f in "$LAB_DIR"/pids/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null || true)
		n=$(basename "$f" .pid)
		n=$(ns "${n#cellsrv-}")
		if [[ $pid =~ ^[0-9]+$ ]] && ip netns pids "$n" 2>/dev/null | grep -qx "$pid"; then
			pids+=("$pid")
		fi
	done
	while read -r n; do
		[ -n "$n" ] || continue
		while read -r pid; do
			[ -n "$pid" ] && pids+=("$pid")
		done < <(ip netns pids "$n" 2>/dev/null || true)
	done < <(lab_namespaces)
	if [ ${#pids[@]} -gt 0 ]; then
		mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -un)
		kill_pids "${pids[@]}"
	fi
	while read -r n; do
		[ -z "$n" ] || ip netns del "$n" 2>/dev/null || true
	done < <(lab_namespaces)
	rm -f "$LAB_DIR"/pids/*.pid "$LAB_DIR/mode" "$LAB_DIR/cellgate.yaml" "$LAB_DIR/cellgate.yaml.tmp"
	rmdir "$LAB_DIR/pids" 2>/dev/null || true
	[ -e "$PIN_DIR" ] && rm -rf -- "$PIN_DIR"
	if [ -n "$(lab_namespaces)" ]; then
		echo "lab: namespaces left: $(lab_namespaces | tr '\n' ' ')" >&2
		return 1
	fi
	echo "lab '$P' is down"
}

# the variables of cmd_env, one NAME=value per line (value shell-quoted)
env_vars() {
	local h u c mac mode=none
	[ -f "$LAB_DIR/mode" ] && mode=$(cat "$LAB_DIR/mode")
	printf 'LAB_PREFIX=%q\n' "$P"
	printf 'LAB_DIR=%q\n' "$LAB_DIR"
	printf 'LAB_MODE=%q\n' "$mode"
	printf 'LAB_CONFIG=%q\n' "$LAB_DIR/cellgate.yaml"
	printf 'LAB_PIN_DIR=%q\n' "$PIN_DIR"
	printf 'LAB_CELLSRV=%q\n' "$CELLSRV"
	printf 'LAB_LABCLIENT=%q\n' "$LABCLIENT"
	printf 'LAB_VIP4=%q\nLAB_VIP6=%q\n' "$VIP4" "$VIP6"
	printf 'LAB_VIP4_NET=%q\nLAB_VIP6_NET=%q\n' "$VIP4_NET" "$VIP6_NET"
	printf 'LAB_TCP_PORT=%q\nLAB_UDP_PORT=%q\n' "$TCP_PORT" "$UDP_PORT"
	printf 'LAB_NS_RTR=%q\n' "$(ns rtr)"
	printf 'LAB_HOST_IF=%q\n' "$HOST_IF"
	printf 'LAB_LB_IF=%q\n' "$HOST_IF"
	printf 'LAB_RTR_LB_IF=%q\n' to-lb
	# the LB's next hop, when the lab is up (the daemon finds it itself, through netlink)
	mac=$(ip -n "$(ns rtr)" link show dev to-lb 2>/dev/null | awk '/link\/ether/ {print $2}')
	printf 'LAB_RTR_LB_MAC=%q\n' "$mac"
	printf 'LAB_CELLS=%q\n' "${CELLS[*]}"
	printf 'LAB_CLIENTS=%q\n' "c1 c2"
	printf 'LAB_DIRECT_CELL=%q\n' "$DIRECT_CELL"
	for h in "${HOSTS[@]}"; do
		u=${h^^}
		u=${u//-/_}
		printf 'LAB_NS_%s=%q\n' "$u" "$(ns "$h")"
		printf 'LAB_%s_V4=%q\nLAB_%s_V6=%q\n' "$u" "$(host_v4 "$h")" "$u" "$(host_v6 "$h")"
		printf 'LAB_RTR_%s_V4=%q\nLAB_RTR_%s_V6=%q\n' "$u" "$(rtr_v4 "$h")" "$u" "$(rtr_v6 "$h")"
	done
	for c in "${CELLS[@]}"; do
		u=${c^^}
		u=${u//-/_}
		printf 'LAB_REGION_%s=%q\n' "$u" "${REGION[$c]}"
	done
}

cmd_env() {
	env_vars
}

# cellsrv CELL [ARG...]: the cell's server again, with more options (its log starts again)
cmd_cellsrv() {
	local c=${1:-} pid i
	if [ -z "$c" ] || [ -z "${LINK[$c]:-}" ] || [ -z "${REGION[$c]:-}" ]; then
		die "cellsrv: no cell '$c'"
	fi
	shift
	[ -f "$LAB_DIR/pids/cellsrv-$c.pid" ] || die "cellsrv: the lab is not up"
	pid=$(cat "$LAB_DIR/pids/cellsrv-$c.pid")
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	start_cellsrv "$c" "$@"
	wait_cellsrv "$c"
}

cmd_status() {
	local h n state pid prog role mode=none
	[ -f "$LAB_DIR/mode" ] && mode=$(cat "$LAB_DIR/mode")
	echo "lab '$P': mode $mode, dir $LAB_DIR"
	echo "VIPs $VIP4 ($VIP4_NET) and $VIP6 ($VIP6_NET): tcp $TCP_PORT (web, web6), udp $UDP_PORT (dns)"
	case $mode in
	lb) echo "router: VIPs via the LB ($(host_v4 lb), $(host_v6 lb))" ;;
	direct) echo "router: VIPs via cell $DIRECT_CELL ($(host_v4 "$DIRECT_CELL")), no LB" ;;
	esac
	echo "each host: $HOST_IF <-> router to-<host>; router .1 / ::1, host .2 / ::2"
	printf '%-12s %-6s %-15s %-19s %-8s %-10s %s\n' namespace role ipv4 ipv6 region xdp server
	printf '%-12s %-6s %-15s %-19s %-8s %-10s %s\n' "$(ns rtr)" router "198.18.<n>.1" \
		"2001:db8:0:<n>::1" - "$(xdp_of "$(ns rtr)" to-lb)" -
	for h in "${HOSTS[@]}"; do
		n=$(ns "$h")
		state=-
		if [ -f "$LAB_DIR/pids/cellsrv-$h.pid" ]; then
			pid=$(cat "$LAB_DIR/pids/cellsrv-$h.pid")
			if ip netns pids "$n" 2>/dev/null | grep -qx "$pid"; then
				state="cellsrv pid $pid"
			else
				state="cellsrv DEAD"
			fi
		fi
		prog=-
		ip netns list | grep -q "^$n\b" || prog=absent
		[ "$prog" = absent ] || prog=$(xdp_of "$n" "$HOST_IF")
		case $h in lb) role=lb ;; c*) role=client ;; *) role=cell ;; esac
		printf '%-12s %-6s %-15s %-19s %-8s %-10s %s\n' "$n" "$role" "$(host_v4 "$h")/24" \
			"$(host_v6 "$h")/64" "${REGION[$h]:--}" "$prog" "$state"
	done
	echo "namespaces present: $(lab_namespaces | wc -l)"
	[ -e "$PIN_DIR" ] && echo "pins: $PIN_DIR" || echo "pins: none"
}

# addr_key ADDR: the lb_sources key (struct cg_decap_addr: 16 address bytes,
# the CG_AF_* family, 3 bytes of padding) of an address, as bpftool hex bytes
addr_key() {
	local a=$1 g v i n h=() t=() groups=()
	if [[ $a == *.* ]]; then
		IFS=. read -r -a g <<<"$a"
		printf '%02x %02x %02x %02x ' "${g[@]}"
		printf '00 %.0s' {1..12}
		echo "04 00 00 00"
		return
	fi
	IFS=: read -r -a h <<<"${a%%::*}"
	[[ $a == *::* ]] && IFS=: read -r -a t <<<"${a#*::}"
	n=$((8 - ${#h[@]} - ${#t[@]}))
	groups=("${h[@]}")
	for ((i = 0; i < n; i++)); do groups+=(0); done
	groups+=("${t[@]}")
	for g in "${groups[@]}"; do
		v=$((16#${g:-0}))
		printf '%02x %02x ' $((v >> 8)) $((v & 255))
	done
	echo "06 00 00 00"
}

# decap_allow NS DEV ADDR...: each ADDR into lb_sources of the decap program on DEV
# (the program drops tunnel packets from any other outer source, all of them if empty)
decap_allow() {
	local n=$1 dev=$2 id map=, m a
	shift 2
	id=$(xdp_of "$n" "$dev")
	[ "$id" != - ] || die "no XDP program on $dev in $n"
	for m in $(bpftool -j prog show id "${id#xdp:}" | jq -r '.map_ids[]'); do
		if [ "$(bpftool -j map show id "$m" | jq -r .name)" = lb_sources ]; then
			map=$m
			break
		fi
	done
	[ "$map" != , ] || die "the program on $dev in $n has no lb_sources map"
	for a in "$@"; do
		# shellcheck disable=SC2046 # one word per byte
		bpftool map update id "$map" key hex $(addr_key "$a") value hex 01 ||
			die "cannot allow $a in lb_sources on $dev in $n"
	done
}

# xdp_of NS DEV: the id of the XDP program on DEV, or "-"
xdp_of() {
	local id
	id=$(ip -n "$1" -d link show dev "$2" 2>/dev/null |
		sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n 1)
	if [ -n "$id" ]; then echo "xdp:$id"; else echo -; fi
}

check_prefix
case ${1:-} in
up)
	shift
	cmd_up "$@"
	;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
cellsrv)
	shift
	cmd_cellsrv "$@"
	;;
*)
	sed -n '3,20s/^# \{0,1\}//p' "$0" >&2
	exit 2
	;;
esac
