#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# check-shell.sh - shellcheck every shell script of the project (settings in .shellcheckrc);
# make test runs it. Exits 1 on a finding, 2 when shellcheck is not installed.
set -u
cd "$(dirname "$0")/.." || exit 2
if ! command -v shellcheck >/dev/null; then
	echo "check-shell: shellcheck is not installed (make deps installs it)" >&2
	exit 2
fi
files=(.ci/run scripts/*.sh scripts/region-failover scripts/region-restore scripts/drill tests/run.sh tests/e2e/*.sh
	dist/bash-completion/cellctl)
if shellcheck -x "${files[@]}"; then
	echo "check-shell: ok: ${#files[@]} scripts"
else
	echo "check-shell: FAIL: fix the findings above" >&2
	exit 1
fi
