#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# test_install.sh - runs like a daemon should: make install/uninstall into a DESTDIR, the unit
# (systemd-analyze verify), the man pages (mandoc -Tlint), bash completion of cellctl; in the lab,
# cellgated's sd_notify messages to a fake NOTIFY_SOCKET (READY=1 once the control socket answers,
# STATUS=, RELOADING=1 around a config apply, WATCHDOG=1 at half WATCHDOG_USEC, STOPPING=1 on
# SIGTERM) and <N> priorities when JOURNAL_STREAM names its stderr
#
# One lab for the daemon tests (setup); they run in order, each on the daemon the one before left
# (lib.sh, e2e_run). The listener is python3 (a unix datagram socket, one line per assignment
# received, with its monotonic time); on READY=1 it connects to the control socket at once and
# writes whether the daemon answered 'hello'.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

WATCHDOG_MS=400 # WATCHDOG_USEC given to cellgated: it pings every 200 ms
LISTEN_PID=

# e2e_fail_context: the daemon's log and what the listener got
e2e_fail_context() {
	show "$GD_LOG" 20
	[ -f "${NOTES:-}" ] && show "$NOTES" 20
}

# the listener's own cleanup, then the lab's (lib.sh)
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$LISTEN_PID" ] && kill "$LISTEN_PID" 2>/dev/null
	e2e_cleanup
}

setup() {
	e2e_init install
	trap cleanup EXIT
	e2e_require_cmd setup python3 || return
	DEST=$LAB_DIR/dest
	NOTES=$LAB_DIR/notify.txt
	NSOCK=$LAB_DIR/notify.sock
	: >"$NOTES"
	cat >"$LAB_DIR/listen.py" <<'EOF'
import socket, sys, time
path, out, ctl = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a") as f:
    while True:
        m = s.recv(4096).decode(errors="replace")
        now = time.monotonic()
        for line in m.split("\n"):
            f.write("%.3f %s\n" % (now, line))
        if "READY=1" in m.split("\n"):
            try:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.settimeout(2)
                c.connect(ctl)
                c.sendall(b'{"cmd": "hello", "id": 1}\n')
                r = c.makefile().readline()
                c.close()
                ok = '"ok":true' in r.replace(" ", "")
                f.write("%.3f CTL %s\n" % (time.monotonic(), "answered" if ok else "bad " + r.strip()))
            except OSError as e:
                f.write("%.3f CTL failed %s\n" % (time.monotonic(), e))
        f.flush()
EOF
	python3 "$LAB_DIR/listen.py" "$NSOCK" "$NOTES" "$GD_SOCK" &
	LISTEN_PID=$!
	wait_for 5 test -S "$NSOCK" || fail listener "the python3 listener did not bind $NSOCK" || return
	lab_up || return
}

# mk TARGET VARS...: the top-level make, quiet, with the build this test runs on
mk() { make -s --no-print-directory -C "$top" BUILD="$BUILD" "$@" >"$LAB_DIR/make.out" 2>&1; }

# every file in its place under DESTDIR, with its mode, and the unit's paths filled in
test_install_into_destdir() {
	local f mode
	mk install DESTDIR="$DEST" PREFIX=/usr || { show "$LAB_DIR/make.out"; e2e_fail_reason "make install failed"; return; }
	for f in usr/sbin/cellgated:755 usr/bin/cellctl:755 usr/lib/cellgate/decap.bpf.o:644 \
		usr/lib/systemd/system/cellgated.service:644 usr/share/man/man8/cellgated.8:644 \
		usr/share/man/man8/cellctl.8:644 usr/share/bash-completion/completions/cellctl:644; do
		mode=$(stat -c %a "$DEST/${f%:*}" 2>/dev/null) ||
			e2e_fail_reason "not installed: ${f%:*}" || return
		[ "$mode" = "${f#*:}" ] || e2e_fail_reason "${f%:*}: mode $mode, not ${f#*:}" || return
	done
	cmp -s "$build_dir/cellgated" "$DEST/usr/sbin/cellgated" || e2e_fail_reason "cellgated differs" || return
	grep -q '^ExecStart=/usr/sbin/cellgated --config /etc/cellgate/cellgate.yaml ' \
		"$DEST/usr/lib/systemd/system/cellgated.service" || e2e_fail_reason "ExecStart not /usr/sbin/cellgated" || return
	! grep -q '@[A-Z]*@' "$DEST/usr/lib/systemd/system/cellgated.service" || e2e_fail_reason "an @VAR@ left in the unit"
}

# uninstall removes exactly what install wrote (uses the install above)
test_uninstall_removes_every_file() {
	local left
	mk uninstall DESTDIR="$DEST" PREFIX=/usr || { show "$LAB_DIR/make.out"; e2e_fail_reason "make uninstall failed"; return; }
	left=$(find "$DEST" -type f | wc -l)
	[ "$left" -eq 0 ] || e2e_fail_reason "$left file(s) left: $(find "$DEST" -type f | head -3 | tr '\n' ' ')"
}

# systemd-analyze verify on the unit installed with a real PREFIX (its ExecStart must exist) and
# the man pages it names found (MANPATH)
test_unit_verifies() {
	local pfx=$LAB_DIR/prefix
	e2e_require_cmd "$E2E_TEST" systemd-analyze || return
	mk install PREFIX="$pfx" || { show "$LAB_DIR/make.out"; e2e_fail_reason "make install PREFIX=$pfx failed"; return; }
	if ! MANPATH=$pfx/share/man systemd-analyze verify "$pfx/lib/systemd/system/cellgated.service" \
		>"$LAB_DIR/verify.out" 2>&1; then
		show "$LAB_DIR/verify.out"
		e2e_fail_reason "systemd-analyze verify failed"
		return
	fi
	if ! grep -q '^Type=notify$' "$pfx/lib/systemd/system/cellgated.service" ||
		! grep -q '^WatchdogSec=' "$pfx/lib/systemd/system/cellgated.service"; then
		e2e_fail_reason "the unit is not Type=notify with a WatchdogSec"
	fi
}

test_man_pages_lint() {
	local m
	e2e_require_cmd "$E2E_TEST" mandoc || return
	for m in cellgated cellctl; do
		mandoc -Tlint "$top/docs/man/$m.8" >"$LAB_DIR/lint.out" 2>&1 ||
			{ show "$LAB_DIR/lint.out"; e2e_fail_reason "mandoc -Tlint $m.8"; return; }
	done
}

# complete WORDS...: what the completion offers for the last word
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _cellctl; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$top/dist/bash-completion/cellctl" "$@"
}

test_bash_completion() {
	local got
	got=$(complete_words cellctl sh | tr '\n' ' ')
	[ "$got" = "shed " ] || e2e_fail_reason "'cellctl sh' offers '$got', not 'shed'" || return
	got=$(complete_words cellctl shed "" | tr '\n' ' ')
	[[ $got == *"show "*"set "*"clear "*"mode "* ]] || e2e_fail_reason "'cellctl shed ' offers '$got'" || return
	got=$(complete_words cellctl -j cell set x --st | tr '\n' ' ')
	[ "$got" = "--state --state-dir " ] || e2e_fail_reason "'cell set x --st' offers '$got'"
}

# notes WORD: the lines of the listener's file that are WORD exactly (after the time)
notes() { awk -v w="$1" '$2 == w' "$NOTES"; }
# status_lines: the STATUS= lines received
status_lines() { grep ' STATUS=' "$NOTES"; }

# cellgated with NOTIFY_SOCKET and WATCHDOG_USEC: READY=1 once it is up, the control socket
# answering when the listener connects at that moment, after the first reconcile's log line
test_ready_once_the_socket_answers() {
	GD_WRAP="env NOTIFY_SOCKET=$NSOCK WATCHDOG_USEC=$((WATCHDOG_MS * 1000))"
	gd_start || e2e_fail_reason "cellgated did not start" || return
	wait_for 5 grep -q ' CTL ' "$NOTES" || e2e_fail_reason "no READY=1 (or no control check after it)" || return
	[ "$(notes READY=1 | wc -l)" -eq 1 ] || e2e_fail_reason "READY=1 sent $(notes READY=1 | wc -l) times" || return
	grep -q ' CTL answered$' "$NOTES" || e2e_fail_reason "the control socket did not answer at READY=1" || return
	grep -q 'reconcile (start' "$GD_LOG" || e2e_fail_reason "no first reconcile in the log before READY=1"
}

# STATUS= with the state's summary came with READY=1; a change shows a new generation in it
test_status_follows_changes() {
	local gen ns nc
	gen=$(cctl -j status | jq -r .generation)
	ns=$(cctl -j service list | jq length)
	nc=$(cctl -j cell list | jq length)
	status_lines | grep -q "STATUS=serving $ns services, $nc cells on 1 interfaces, gen $gen$" ||
		e2e_fail_reason "no STATUS=serving $ns services, $nc cells on 1 interfaces, gen $gen" || return
	cctl cell set "${LAB_CELLS%% *}" --weight 150 >/dev/null || e2e_fail_reason "cell set failed" || return
	wait_for 4 grep -q "STATUS=serving .* gen $((gen + 1))$" "$NOTES" ||
		e2e_fail_reason "no STATUS= with gen $((gen + 1)) within 4 s of a change"
}

# a config apply: RELOADING=1, then READY=1 again once it is committed
test_reloading_around_config_apply() {
	cctl config apply "$LAB_CONFIG" >/dev/null || e2e_fail_reason "config apply failed" || return
	wait_for 4 bash -c "[ \$(awk '\$2 == \"READY=1\"' '$NOTES' | wc -l) -eq 2 ]" ||
		e2e_fail_reason "no second READY=1 after the apply" || return
	awk '$2 == "RELOADING=1" {r = NR} $2 == "READY=1" {y = NR} END {exit !(r && y > r)}' "$NOTES" ||
		e2e_fail_reason "no RELOADING=1 before the second READY=1"
}

# WATCHDOG=1 every WATCHDOG_MS / 2: over 2 s at least 7 pings, none more than WATCHDOG_MS apart
test_watchdog_pings_at_half_the_interval() {
	local from n
	from=$(awk 'END {print $1}' "$NOTES")
	sleep 2
	n=$(awk -v t="$from" '$1 > t && $2 == "WATCHDOG=1"' "$NOTES" | wc -l)
	[ "$n" -ge 7 ] || e2e_fail_reason "$n WATCHDOG=1 in 2 s (every $((WATCHDOG_MS / 2)) ms: ~10)" || return
	awk -v t="$from" -v max="$WATCHDOG_MS" '$1 > t && $2 == "WATCHDOG=1" {
		if (p && ($1 - p) * 1000 > max) bad = 1; p = $1 } END {exit bad}' "$NOTES" ||
		e2e_fail_reason "two pings more than $WATCHDOG_MS ms apart"
}

# SIGTERM: STOPPING=1 before it exits, and no ping after it
test_stopping_on_sigterm() {
	local pid=$GD_PID rc=0
	kill -TERM "$pid"
	wait_for 5 bash -c "! kill -0 $pid 2>/dev/null" || e2e_fail_reason "still running 5 s after SIGTERM" || return
	wait "$pid" || rc=$?
	GD_PID=
	[ "$rc" -eq 0 ] || e2e_fail_reason "exit status $rc after SIGTERM" || return
	notes STOPPING=1 | grep -q . || e2e_fail_reason "no STOPPING=1" || return
	awk '$2 == "STOPPING=1" {s = 1} s && $2 == "WATCHDOG=1" {exit 1}' "$NOTES" ||
		e2e_fail_reason "a WATCHDOG=1 after STOPPING=1"
}

# stderr a file whose device:inode JOURNAL_STREAM names: every line starts with <N>; ready is a
# notice, the hash key info. Without JOURNAL_STREAM (the run above) no line has one; without
# NOTIFY_SOCKET (this run) nothing is told.
test_journal_stream_prefixes_priorities() {
	local bad
	grep -q '^<[0-7]>' "$GD_LOG" && e2e_fail_reason "a <N> prefix without JOURNAL_STREAM" && return 1
	GD_LOG=$LAB_DIR/journal.log
	: >"$GD_LOG"
	GD_WRAP="env JOURNAL_STREAM=$(stat -c %d:%i "$GD_LOG")"
	gd_start || e2e_fail_reason "cellgated did not start" || return
	wait_for 5 grep -q 'cellgated: ready' "$GD_LOG" || e2e_fail_reason "no ready line" || return
	gd_stop
	# no NOTIFY_SOCKET this time: nothing told, no timer armed
	! grep -q 'told the service manager' "$GD_LOG" || e2e_fail_reason "notified without NOTIFY_SOCKET" || return
	bad=$(grep -vc '^<[0-7]>cellgated: ' "$GD_LOG")
	[ "$bad" -eq 0 ] || e2e_fail_reason "$bad line(s) without a <N>cellgated: prefix" || return
	if ! grep -q '^<5>cellgated: ready: ' "$GD_LOG" || ! grep -q '^<6>cellgated: hash key ' "$GD_LOG" ||
		! grep -q '^<5>cellgated: signal 15: exiting' "$GD_LOG"; then
		e2e_fail_reason "ready, signal (<5>) or hash key (<6>) lines without their priority"
	fi
}

E2E_TESTS=(test_install_into_destdir test_uninstall_removes_every_file test_unit_verifies
	test_man_pages_lint test_bash_completion test_ready_once_the_socket_answers
	test_status_follows_changes test_reloading_around_config_apply
	test_watchdog_pings_at_half_the_interval test_stopping_on_sigterm
	test_journal_stream_prefixes_priorities)
e2e_run "$@"
