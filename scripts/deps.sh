#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# deps.sh - install the Debian 12 packages cellgate needs to build, test and run; a no-op when present
set -euo pipefail

pkgs=(make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev libmnl-dev libcmocka-dev
      libyaml-dev libjansson-dev libsodium-dev bpftool iproute2 pkg-config procps jq util-linux ethtool bsdextrautils ncurses-bin shellcheck socat
      libclang-rt-14-dev valgrind libsystemd-dev mandoc libmicrohttpd-dev curl prometheus tmux)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
