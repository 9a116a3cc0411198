#!/bin/bash
# broker-bench.sh - row 6 of the benchmarks (the broker), run in the tools/vm
# guest as root by bench/run after dm-bench: starts a system bus with the
# project's policy and daxmirrord on it (tests/guest/broker-env.sh, as
# test-broker does), with a configuration that allows thousands of
# sessions, then runs dm-bench-broker, which appends its rows to the files
# dm-bench wrote in --out DIR. Arguments are passed to dm-bench-broker.
set -uo pipefail

HERE=$(dirname "$(readlink -f "$0")")	# BUILD/bench
BUILD=$(dirname "$HERE")
OUT=$HERE
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	[[ ${args[i]} == --out ]] && OUT=${args[i + 1]}
done

# shellcheck source=/dev/null
source "$BUILD/tests/guest/broker-env.sh"

skip_row() {
	# The row dm-bench-broker would have printed, marked skip, with why.
	printf '%-4s | %-46s | %-30s | %10s | %10s | %-6s | %9s | %-31s | %-7s | %s\n' \
		6 "broker (row 6)" "-" - - - - "" "-" skip >>"$OUT/table.txt"
	printf '     |   note: not measured: %s\n' "$1" >>"$OUT/table.txt"
	echo "broker-bench: $1" >&2
	exit 0
}

[[ -c /dev/daxmirror ]] || skip_row "/dev/daxmirror missing"
be_init || skip_row "$BE_REASON"
trap be_cleanup EXIT
be_setup_user || skip_row "systemd-sysusers could not make user $BE_USER"
be_apply_udev_rule || { chgrp "$BE_USER" /dev/daxmirror && chmod 0660 /dev/daxmirror; }
# One fd per live session in the daemon (and the bus's connections): room
# for the 1000+ sessions of 6c. setpriv keeps the limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
be_start_bus || skip_row "dbus-daemon did not start ($(tail -n 3 "$BE_TMP/bus.log"))"
cat >"$BE_TMP/daxmirrord.conf" <<CONF
# bench/broker-bench.sh: room for the benchmark's sessions
[Limits]
MaxSessionsPerUser=100000
MaxBytesPerUser=1T
MaxMirrorsPerSession=64

[Policy]
AllowPageCache=no
AllowAnonymous=no
CONF
# BROKER_BENCH_STRACE=FILE: the daemon under strace -f -tt -T (where a
# call's time goes; slows every row down). BE_DAEMON=PATH: another build.
if [[ -n ${BROKER_BENCH_STRACE:-} ]]; then
	BE_DAEMON_WRAPPER=(strace -f -tt -T -qq -s 160 -o "$BROKER_BENCH_STRACE" --)
fi
be_start_daemon "$BE_TMP/daxmirrord.conf" ||
	skip_row "daxmirrord did not come up ($(tail -n 3 "$BE_TMP/daemon.log"))"
echo "broker-bench: daxmirrord pid $BE_DAEMON_PID, fd limit $(ulimit -n)" >&2

start=$(date +%s)
"$HERE/dm-bench-broker" "$@"
rc=$?
echo "broker-bench: dm-bench-broker status $rc, $(($(date +%s) - start)) s" >&2
if ! kill -0 "$BE_DAEMON_JOB" 2>/dev/null; then
	wait "$BE_DAEMON_JOB"
	echo "broker-bench: daxmirrord is GONE (status $?); daemon and bus logs (tail):" >&2
	BE_DAEMON_JOB= BE_DAEMON_PID=
	grep -v '^session .* opened' "$BE_TMP/daemon.log" | tail -n 15 | sed 's/^/broker-bench:   /' >&2
	grep -v 'Failed to set fd limit' "$BE_TMP/bus.log" | tail -n 5 | sed 's/^/broker-bench:   /' >&2
fi
if ((rc)); then
	skip_row "dm-bench-broker failed (status $rc), see guest.log"
fi
