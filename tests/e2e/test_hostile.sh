#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_hostile.sh - the hostile-input table: configs, cellctl invocations and control messages a
# hostile or careless client sends to a running cellgated in the lab.
#
# Every case is one line of a table below: what is sent, the exit status (or protocol code) it
# must get, and a pattern its one-line error must match. Each case also proves that nothing
# changed: the generation, the digest, the configuration maps' contents and the state directory's
# files are compared before and after, and nothing printed (stdout, stderr, the daemon's log) may
# hold a raw control, bidirectional or zero-width character. docs/reliability.md lists the cases'
# classes; the packet cases are tests/prog/test_hostile_pkt.c.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# The maps the desired state is reconciled into (not conntrack, buckets or counters). The big
# arrays (cells, shed: ~0.9 s to dump) are compared at each test's start and end, the others
# around every case.
CONFIG_MAPS=(services vips tables settings class4 class6 dscp classes)
BIG_MAPS=(cells shed)
ESC=$'\e' BIDI=$'\u202e' ZW=$'\u200b' NEL=$'\u0085'
# Raw bytes that must never be printed: C0 controls but tab and LF, DEL, and (UTF-8) C1
# controls, bidi and zero-width characters.
RAW_RE=$'[\x01-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\x8b-\x8f\xa8-\xae]|\xe2\x81[\xa0\xa6-\xa9]'

setup() {
	e2e_init hostile
	e2e_require_cmd hostile socat bpftool jq
	lab_up || return
	gd_start || fail cellgated_start "cellgated did not become ready" || return
	LB4=$(sed -n 's/^  ipv4: //p' "$LAB_CONFIG")
	H=$LAB_DIR/hostile
	mkdir -p "$H"
}

# snap: what must not change: generation and digest, the config maps, the state dir's files
snap() {
	local m maps=("${CONFIG_MAPS[@]}")
	[ "${1:-}" = big ] && maps=("${BIG_MAPS[@]}")
	cctl -j status | jq -c '{generation, digest}'
	for m in "${maps[@]}"; do
		[ -e "$LAB_PIN_DIR/$m" ] || continue
		echo "$m $(bpftool map dump pinned "$LAB_PIN_DIR/$m" 2>&1 | md5sum)"
	done
	(cd "$GD_STATE" && find . -mindepth 1 -printf "%P %s\n" | sort && find . -mindepth 1 -type f -print0 | sort -z | xargs -0r cat | md5sum)
}

# hcctl ARGS...: cellctl, bounded (a case that hangs fails instead of stalling the run)
hcctl() {
	timeout 20 nsenter --net="/run/netns/$LAB_NS_LB" "$build_dir/cellctl" -s "$GD_SOCK" \
		--pin-dir "$LAB_PIN_DIR" --state-dir "$GD_STATE" "$@"
}

# raw FILE...: whether any of the files holds a byte that must never be printed raw
raw() { LC_ALL=C grep -qE "$RAW_RE" "$@"; }

# hostile NAME RC PATTERN CMD...: CMD exits RC with exactly one line on stderr matching PATTERN
# (extended regex), prints nothing raw, and changes nothing. A case's "before" is the previous
# case's "after" (LAST_SNAP): one snapshot per case.
LAST_SNAP=
hostile() {
	local name=$1 want=$2 re=$3 got before after
	shift 3
	before=${LAST_SNAP:-$(snap)}
	"$@" >"$H/out" 2>"$H/err" </dev/null
	got=$?
	after=$(snap)
	LAST_SNAP=$after
	if [ "$got" != "$want" ]; then
		fail "$name" "exit $got, want $want: $(head -c 300 "$H/err" | cat -v)"
	elif [ "$(wc -l <"$H/err")" -ne 1 ] || ! grep -qE -- "$re" "$H/err"; then
		fail "$name" "message '$(head -c 300 "$H/err" | cat -v)' does not match '$re'"
	elif raw "$H/out" "$H/err"; then
		fail "$name" "printed a raw control character: $(cat -v "$H/err")"
	elif [ "$before" != "$after" ]; then
		fail "$name" "the state changed: $(diff <(echo "$before") <(echo "$after") | head -5)"
	else
		pass "$name"
	fi
}

# ctl_raw LINE: send one request line as is; print the reply's [code, error] as JSON (escaped)
# on stderr and exit 1 if it is an error, 0 if it is ok, 3 if there is no reply
ctl_raw() {
	local r
	r=$(printf '%s\n' "$1" | in_lb timeout 5 socat -t 3 - "UNIX-CONNECT:$GD_SOCK") || return 3
	[ -n "$r" ] || return 3
	if jq -e '.ok == true' <<<"$r" >/dev/null 2>&1; then
		return 0
	fi
	jq -c '[.code, .error]' <<<"$r" >&2 || echo "not JSON: $r" >&2
	return 1
}

# cfg NAME: a copy of the lab config to spoil, as $H/NAME.yaml; prints the path
cfg() {
	cp "$LAB_CONFIG" "$H/$1.yaml"
	echo "$H/$1.yaml"
}

cases_cli_arguments() {
	hostile arg_not_utf8 2 "argument [0-9]+ '\\\\xff': invalid UTF-8 byte 0xff" hcctl cell show $'\xff'
	hostile arg_terminal_escape 2 "U\\+001B \\(a control character\\)" \
		hcctl cell show "x${ESC}[2Jy"
	hostile arg_osc_title 2 "U\\+001B" hcctl "frob${ESC}]0;owned"$'\a'
	hostile arg_bidi_reason 2 "U\\+202E \\(a bidirectional control\\)" \
		hcctl shed set --cell use1-a --class sheddable --level 0.1 --reason "a${BIDI}b"
	hostile arg_zero_width_name 2 "U\\+200B \\(a zero-width character\\)" \
		hcctl cell show "use1-a${ZW}"
	hostile arg_nel 2 "U\\+0085 \\(a C1 control character\\)" hcctl cell show "a${NEL}b"
	hostile unknown_object 2 "unknown object 'frob'" hcctl frob
	hostile unknown_option 2 "unknown option '--wieght'" hcctl cell set use1-a --wieght 5
	hostile cell_bad_name 2 "bad NAME '\\.\\./x'" hcctl cell add ../x --region us-east \
		--gateway 198.18.200.2
	hostile cell_weight_zero 2 "--weight" hcctl cell set use1-a --weight 0
	hostile cell_weight_huge 2 "--weight" hcctl cell set use1-a --weight 99999999999999999999
	hostile cell_weight_negative 2 "--weight" hcctl cell set use1-a --weight -1
	hostile cell_weight_hex 2 "--weight" hcctl cell set use1-a --weight 0x10
	hostile cell_unknown 1 "cell 'nope' not found" hcctl cell set nope --weight 5
	hostile cell_del_unknown 1 "not found" hcctl cell del nope
	hostile cell_gateway_is_vip 1 "is the VIP of service" hcctl cell add evil --region us-east \
		--gateway "$LAB_VIP4" --encap ipip
	hostile cell_gateway_is_lb 1 "this LB's own source address" hcctl cell add evil \
		--region us-east --gateway "$LB4" --encap ipip
	hostile cell_gateway_loopback 1 "not a unicast address" hcctl cell add evil \
		--region us-east --gateway 127.0.0.1
	hostile cell_gateway_multicast 1 "not a unicast address" hcctl cell add evil \
		--region us-east --gateway 224.0.0.1
	hostile shed_level_above_one 2 "--level" hcctl shed set --cell use1-a --class sheddable \
		--level 1.5
	hostile shed_level_seven_decimals 2 "--level" hcctl shed set --cell use1-a \
		--class sheddable --level 0.1234567
	hostile shed_ttl_zero 2 "--ttl" hcctl shed set --cell use1-a --class sheddable --level 0.1 \
		--ttl 0
	hostile shed_reason_too_long 2 "--reason" hcctl shed set --cell use1-a --class sheddable \
		--level 0.1 --reason "$(printf 'x%.0s' {1..200})"
	hostile shed_unknown_class 1 "class" hcctl shed set --cell use1-a --class gold --level 0.1
	hostile rule_prefix_space 2 "prefix" hcctl class rule add --prefix "198.18.0.0/ 24" \
		--class high
	hostile rule_prefix_plus 2 "prefix" hcctl class rule add --prefix "198.18.0.0/+24" \
		--class high
	hostile rule_prefix_leading_zero 2 "prefix" hcctl class rule add --prefix "198.18.0.0/024" \
		--class high
	hostile rule_prefix_host_bits 1 "host bits set" hcctl class rule add \
		--prefix 198.18.0.1/24 --class high
	hostile rule_dscp_64 2 "--dscp" hcctl class rule add --dscp 64 --class high
	hostile service_duplicate 1 "already served by service" hcctl service add web2 \
		--vip "$LAB_VIP4" --port "$LAB_TCP_PORT" --proto tcp --cells use1-a
	hostile service_port_zero 2 "--port" hcctl service add web2 --vip "$LAB_VIP4" --port 0 \
		--proto tcp --cells use1-a
}

cases_config_files() {
	local f
	mkfifo "$H/fifo.yaml"
	hostile config_fifo 1 "is not a regular file" hcctl config apply "$H/fifo.yaml"
	hostile config_dev_zero 1 "is not a regular file" hcctl config check /dev/zero
	hostile config_directory 1 "Is a directory" hcctl config apply "$H"
	hostile config_missing 1 "No such file or directory" hcctl config apply "$H/none.yaml"
	: >"$H/empty.yaml"
	hostile config_empty 1 "file is empty" hcctl config apply "$H/empty.yaml"
	truncate -s 5M "$H/big.yaml"
	hostile config_too_large 1 "too large" hcctl config apply "$H/big.yaml"
	printf '\xff\xfer\0e\0g\0' >"$H/utf16.yaml"
	hostile config_utf16_check 1 "UTF-16 byte-order mark" hcctl config check "$H/utf16.yaml"
	hostile config_utf16_apply 1 "UTF-16 byte-order mark" hcctl config apply "$H/utf16.yaml"
	f=$(cfg nel)
	printf 'shed:\n  - {cell: use1-a, class: 3, level: 0.5, reason: "a\xc2\x85b"}\n' >>"$f"
	hostile config_nel 1 "U\\+0085" hcctl config apply "$f"
	f=$(cfg bidi)
	printf 'shed:\n  - {cell: use1-a, class: 3, level: 0.5, reason: "a\xe2\x80\xaeb"}\n' >>"$f"
	hostile config_bidi 1 "U\\+202E" hcctl config apply "$f"
	f=$(cfg esc)
	printf 'shed:\n  - {cell: use1-a, class: 3, level: 0.5, reason: "a\\e[2Jb"}\n' >>"$f"
	hostile config_escape_in_string 1 "reason .*U\\+001B" hcctl config apply "$f"
	f=$(cfg mtu)
	sed -i 's/^mtu: 1500$/mtu: 1000/' "$f"
	hostile config_mtu_below_ipv6_min 1 "mtu 1000 is below 1280" hcctl config apply "$f"
	f=$(cfg mtu_low)
	sed -i 's/^mtu: 1500$/mtu: 100/' "$f"
	hostile config_mtu_out_of_range 1 "out of range" hcctl config apply "$f"
	f=$(cfg anchors)
	printf 'x: &a [1]\ny: *a\n' >>"$f"
	hostile config_anchor 1 "not supported" hcctl config apply "$f"
	f=$(cfg dupkey)
	echo "mtu: 1400" >>"$f"
	hostile config_duplicate_key 1 "mtu" hcctl config apply "$f"
	f=$(cfg deep)
	{
		printf 'x: '
		printf '[%.0s' {1..5000}
		printf ']%.0s' {1..5000}
		echo
	} >>"$f"
	hostile config_deep_nesting 1 "deep" hcctl config apply "$f"
	f=$(cfg tag)
	sed -i 's/^mtu: 1500$/mtu: !!str 1500/' "$f"
	hostile config_tag 1 "tags" hcctl config apply "$f"
	f=$(cfg unknown_key)
	echo "mut: 1500" >>"$f"
	hostile config_unknown_key 1 "unknown key 'mut'" hcctl config apply "$f"
	f=$(cfg gw_vip)
	sed -i "0,/    gateway: .*/s//    gateway: $LAB_VIP4/" "$f"
	hostile config_gateway_is_vip 1 "is the VIP of service" hcctl config apply "$f"
	f=$(cfg noiface)
	sed -i 's/^interfaces: .*/interfaces: []/' "$f"
	hostile config_no_interfaces 1 "interfaces" hcctl config apply "$f"
}

cases_control_messages() {
	hostile msg_not_json 1 '"EINVAL"' ctl_raw 'hello there'
	hostile msg_array 1 '"EINVAL"' ctl_raw '[1,2,3]'
	hostile msg_no_cmd 1 '"EINVAL"' ctl_raw '{"args":{}}'
	hostile msg_cmd_not_string 1 '"EINVAL"' ctl_raw '{"cmd":7}'
	hostile msg_unknown_cmd_escape 1 '"ENOSYS".*x\\\\x1b\[2J' ctl_raw '{"cmd":"x\u001b[2J"}'
	hostile msg_args_not_object 1 '"EINVAL"' ctl_raw '{"cmd":"cell.set","args":[1]}'
	hostile msg_duplicate_keys 1 '"EINVAL"' ctl_raw '{"cmd":"cell.set","cmd":"cell.del"}'
	hostile msg_invalid_utf8 1 '"EINVAL"' ctl_raw $'{"cmd":"cell.set","args":{"name":"\xff"}}'
	hostile msg_deep_nesting 1 '"EINVAL"' ctl_raw \
		"{\"cmd\":\"status\",\"x\":$(printf '[%.0s' {1..100})$(printf ']%.0s' {1..100})}"
	hostile msg_unknown_arg 1 '"EINVAL".*wieght' ctl_raw \
		'{"cmd":"cell.set","args":{"name":"use1-a","wieght":5}}'
	hostile msg_weight_not_a_number 1 '"EINVAL"' ctl_raw \
		'{"cmd":"cell.set","args":{"name":"use1-a","weight":"5x"}}'
	hostile msg_weight_negative 1 '"EINVAL"' ctl_raw \
		'{"cmd":"cell.set","args":{"name":"use1-a","weight":-1}}'
	hostile msg_weight_float 1 '"EINVAL"' ctl_raw \
		'{"cmd":"cell.set","args":{"name":"use1-a","weight":1.5}}'
	hostile msg_weight_huge 1 '"EINVAL"' ctl_raw \
		'{"cmd":"cell.set","args":{"name":"use1-a","weight":1e300}}'
	hostile msg_name_nul 1 '"EINVAL"' ctl_raw \
		'{"cmd":"cell.set","args":{"name":"use1-a\u0000x","weight":5}}'
	hostile msg_name_long 1 '"ENOENT","cell .a{48}[.]{3}. not found' ctl_raw \
		"{\"cmd\":\"cell.set\",\"args\":{\"name\":\"$(printf 'a%.0s' {1..5000})\",\"weight\":5}}"
	hostile msg_reason_bidi 1 '"EINVAL".*U\+202E' ctl_raw \
		'{"cmd":"shed.set","args":{"cell":"use1-a","class":3,"level":"0.1","reason":"a\u202eb"}}'
	hostile msg_reason_nel 1 '"EINVAL".*U\+0085' ctl_raw \
		'{"cmd":"shed.set","args":{"cell":"use1-a","class":3,"level":"0.1","reason":"a\u0085b"}}'
	hostile msg_reason_newline 1 '"EINVAL".*U\+000A' ctl_raw \
		'{"cmd":"shed.set","args":{"cell":"use1-a","class":3,"level":"0.1","reason":"a\nb"}}'
	hostile msg_prefix_space 1 '"EINVAL"' ctl_raw \
		'{"cmd":"class.rule.add","args":{"prefix":"198.18.0.0/ 24","class":1}}'
	hostile msg_config_bom 1 '"EINVAL".*U[+]FEFF' ctl_raw \
		'{"cmd":"config.apply","args":{"text":"\ufeffregion: r1"}}'
	hostile msg_config_name_escape 1 '"EINVAL"' ctl_raw \
		'{"cmd":"config.apply","args":{"text":"mtu: x\n","name":"a\u001b[2Jb"}}'
}

# A client's claim of who it is is recorded as a claim; the kernel's word comes first, and
# quotes in it cannot forge a field of the log line.
# around CASES: the big maps are the same after the whole group of cases as before it
big_unchanged() {
	local before after
	before=$(snap big)
	"$1"
	after=$(snap big)
	if [ "$before" = "$after" ]; then
		pass "${1#cases_}_big_maps"
	else
		fail "${1#cases_}_big_maps" "a case changed the cells or shed map: $(diff <(echo "$before") <(echo "$after") | head -5)"
	fi
}

test_cli_arguments() { big_unchanged cases_cli_arguments; }
test_config_files() { big_unchanged cases_config_files; }
test_control_messages() { big_unchanged cases_control_messages; }

test_audit_by_is_the_peer() {
	local by
	ctl_raw '{"cmd":"shed.set","args":{"cell":"use1-a","class":3,"level":"0.1","by":"mallory\" cell=\"use1-b","reason":"x\" forged=\"1"}}' ||
		e2e_fail_reason "shed.set refused" || return
	by=$(cctl -j shed show | jq -r '.entries[] | select(.cell == "use1-a") | .by')
	[[ $by == 'uid 0 (root) for mallory" cell="use1-b' ]] ||
		e2e_fail_reason "by is '$by'" || return
	grep -q "shed set use1-a/3; uid 0 (root) pid [0-9]*" "$GD_LOG" ||
		e2e_fail_reason "the change's log line does not name the peer" || return
	cctl shed clear --cell use1-a >/dev/null || e2e_fail_reason "shed clear failed" || return
}

# After every case: the daemon's log holds nothing raw, and the daemon still answers.
test_log_is_escaped_and_daemon_alive() {
	raw "$GD_LOG" && e2e_fail_reason "raw control bytes in the daemon's log" && return 1
	kill -0 "$GD_PID" 2>/dev/null || e2e_fail_reason "cellgated died" || return
	cctl status >/dev/null || e2e_fail_reason "cellgated does not answer" || return
}

E2E_TESTS=(test_cli_arguments test_config_files test_control_messages test_audit_by_is_the_peer
	test_log_is_escaped_and_daemon_alive)
e2e_run "$@"
