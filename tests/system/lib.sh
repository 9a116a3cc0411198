# shellcheck shell=bash
# shellcheck disable=SC2034 # variables for the scripts that source this
# tests/system/lib.sh - shared by the tests of the systemd guest
# (tests/system/test-*, run as root by `tools/dmvm.py run` under systemd as
# PID 1: `tools/vm system`). TAP (tests/lib/tap.sh), running as nobody,
# the installed programs, waiting on units. Only definitions: nothing runs
# at source time.
#
# These tests use what `meson install` put into the guest (/usr/bin,
# /usr/sbin, /lib/systemd/system, /usr/share/dbus-1, ...), never the build
# tree, except tests/guest/broker-client (a test application: makes a
# 2 MiB-aligned DAX file, writes a pattern through the device, verifies it)
# from DAXMIRROR_BUILD_DIR.

# shellcheck source=tests/lib/tap.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"
# be_wait, be_as, be_kv, be_prop, the D-Bus names (DXM_BUS_NAME,
# DXM_ERROR_..., from shared/bus-contract.h): tests/guest/broker-env.sh as
# meson copied it into the build tree under test (only definitions).
if [[ -r ${DAXMIRROR_BUILD_DIR:-}/tests/guest/broker-env.sh ]]; then
	# shellcheck source=tests/guest/broker-env.sh
	source "$DAXMIRROR_BUILD_DIR/tests/guest/broker-env.sh"
fi

ST_UNIT=daxmirrord.service
ST_DEST=${DXM_BUS_NAME:-}
ST_MANAGER=${DXM_OBJECT_ROOT:-}
ST_MIFACE=${DXM_MANAGER_IFACE:-}
ST_SIFACE=${DXM_SESSION_IFACE:-}
ST_USER=daxmirror
ST_NOBODY=65534
ST_CTL=/usr/bin/daxmirrorctl
ST_DAEMON=/usr/sbin/daxmirrord
ST_CLIENT=${DAXMIRROR_BUILD_DIR:-}/tests/guest/broker-client
ST_TMP=

# st_start PLAN: checks, the scratch directory, the plan, the EXIT trap.
# Skips (1..0) outside the systemd guest.
st_start() {
	if [[ -z ${DAXMIRROR_SYSTEMD:-} || ! -d /run/systemd/system ]]; then
		tap_skip_all "not in the systemd guest (tools/vm system)"
	fi
	[[ -n $ST_DEST ]] ||
		bail "no ${DAXMIRROR_BUILD_DIR:-BUILD}/tests/guest/bus-contract.sh (meson writes it)"
	ST_TMP=$(mktemp -d /tmp/daxmirror-system.XXXXXX)
	chmod 0755 "$ST_TMP"
	tap_plan "$1"
	trap st_on_exit EXIT
}

st_on_exit() {
	local rc=$?
	tap_unfinished "$rc" || true
	if ((TAP_FAILED)); then
		echo "--- journalctl -u $ST_UNIT (last 30 lines):" | diag
		journalctl -b -u "$ST_UNIT" --no-pager -o short-monotonic 2>&1 | tail -n 30 | diag
	fi
	declare -F st_cleanup >/dev/null && st_cleanup
	[[ -n $ST_TMP ]] && rm -rf "$ST_TMP"
}

# st_done: every result printed; exit status says whether all passed.
st_done() {
	tap_done
}

# st_prop UNIT PROPERTY: the value of a unit property (systemctl show).
st_prop() {
	systemctl show -P "$2" "$1" 2>/dev/null
}

# st_active: daxmirrord.service is active (running and READY=1 sent).
st_active() {
	[[ $(systemctl is-active "$ST_UNIT" 2>/dev/null) == active ]]
}

# st_new_main OLD: daxmirrord.service is active under a main pid other
# than OLD (systemd restarted it).
st_new_main() {
	local p
	p=$(st_prop "$ST_UNIT" MainPID)
	[[ $p != 0 && $p != "$1" ]] && st_active
}

# st_count_is N: the broker's Manager.SessionCount is N.
st_count_is() {
	[[ $(be_session_count) == "$1" ]]
}

# st_journal_has UNIT TEXT: this boot's journal of UNIT has a line with TEXT
# (systemd's own messages about the unit included).
st_journal_has() {
	journalctl -b -u "$1" --no-pager -o cat 2>/dev/null | grep -qF -- "$2"
}

# st_mkfile NAME SIZE: a file with 2 MiB-aligned extents on ext4 -o dax,
# owned by nobody; its path in ST_FILE. Returns 1 if it is not DAX.
st_mkfile() {
	local out=$ST_TMP/mkfile-$1.out
	ST_FILE=
	"$ST_CLIENT" mkfile "$DAXMIRROR_EXT4_DAX" "$2" >"$out" 2>&1 || return 1
	ST_FILE=$(sed -n 's/^path=//p' "$out")
	[[ -n $ST_FILE && $(sed -n 's/^dax=//p' "$out") == 1 ]] || return 1
	chown "$ST_NOBODY:$ST_NOBODY" "$ST_FILE"
}

# st_ctl USER ARGS...: the installed daxmirrorctl as USER, stdout in
# ST_TMP/out, stderr in ST_TMP/err; returns its exit status.
st_ctl() {
	local who=$1
	shift
	be_as "$who" "$ST_CTL" "$@" >"$ST_TMP/out" 2>"$ST_TMP/err"
}
st_show_out() {
	cat "$ST_TMP/out" "$ST_TMP/err" 2>/dev/null | diag
}

# st_json PYTHON-EXPRESSION: ST_TMP/out parses as JSON (as d) and the
# expression is true.
st_json() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" \
		"$ST_TMP/out" 2>>"$ST_TMP/err"
}

# st_hold NAME USER FILE SECONDS [ARGS...]: start `daxmirrorctl mirror FILE
# --prefault --hold SECONDS ARGS` as USER in the background (pid in
# ST_HOLD_PID[NAME], output in ST_TMP/NAME.out/.err) and wait until its
# mirror is made (it printed its counters) or it ended. Returns 0 if it holds.
declare -A ST_HOLD_PID=()
st_hold() {
	local name=$1 who=$2 file=$3 secs=$4 pid
	shift 4
	(
		# exec all the way: the pid is daxmirrorctl's, the session's PID.
		if [[ $who != root && $who != 0 ]]; then
			exec setpriv --reuid="$who" --regid="$who" --clear-groups \
				--inh-caps=-all --bounding-set=-all --no-new-privs -- \
				"$ST_CTL" mirror "$file" --prefault --hold "$secs" "$@" \
				</dev/null >"$ST_TMP/$name.out" 2>"$ST_TMP/$name.err"
		fi
		exec "$ST_CTL" mirror "$file" --prefault --hold "$secs" "$@" \
			</dev/null >"$ST_TMP/$name.out" 2>"$ST_TMP/$name.err"
	) &
	pid=$!
	ST_HOLD_PID[$name]=$pid
	be_wait 120 eval "grep -q '^Bytes written:' '$ST_TMP/$name.out' || ! kill -0 $pid 2>/dev/null"
	kill -0 "$pid" 2>/dev/null && grep -q '^Bytes written:' "$ST_TMP/$name.out"
}

# st_hold_end NAME: SIGTERM (daxmirrorctl then closes its session), reap;
# its exit status in ST_HOLD_STATUS.
st_hold_end() {
	local pid=${ST_HOLD_PID[$1]:-}
	ST_HOLD_STATUS=
	[[ -n $pid ]] || return 0
	unset "ST_HOLD_PID[$1]"
	{
		kill -TERM "$pid"
		be_wait 20 eval "! kill -0 $pid" || kill -KILL "$pid"
		ST_HOLD_STATUS=0
		wait "$pid" || ST_HOLD_STATUS=$?
	} 2>/dev/null
}

# st_hold_wait NAME SECONDS: wait for the holder to end by itself; its
# exit status in ST_HOLD_STATUS (empty if it had to be killed).
st_hold_wait() {
	local pid=${ST_HOLD_PID[$1]:-}
	ST_HOLD_STATUS=
	[[ -n $pid ]] || return 1
	if be_wait "$2" eval "! kill -0 $pid 2>/dev/null"; then
		unset "ST_HOLD_PID[$1]"
		ST_HOLD_STATUS=0
		wait "$pid" 2>/dev/null || ST_HOLD_STATUS=$?
		return 0
	fi
	st_hold_end "$1"
	ST_HOLD_STATUS=
	return 1
}

st_holders_cleanup() {
	local name
	for name in "${!ST_HOLD_PID[@]}"; do
		st_hold_end "$name"
	done
}
