# shellcheck shell=bash
# tests/lib/tap.sh - the one bash TAP (version 13) producer of daxmirror's
# tests, on the host and in the guests: results numbered in order, a plan
# before or after them, skips, comments, bail out, the results a script
# still owes when it dies, and an exit status that is 0 iff nothing failed.
# The C twin is shared/tap.h.
#
# Sourced, never run; it defines functions and TAP_* variables and sets no
# shell option (the tests run with `set -u`, which it respects). Where a
# script finds it: host scripts and tests/system/* at
# SOURCE/tests/lib/tap.sh; the guest scripts of tests/guest/ (and
# ctl/test-ctl-guest) beside themselves in BUILD/tests/guest/, where meson
# copies it.
#
#   tap_plan N               "1..N" (before the results)
#   tap_skip_all REASON      "1..0 # SKIP REASON" and exit 0
#   ok DESC...               a passing result
#   not_ok DESC...           a failing result
#   skip DESC REASON         a skipped result ("ok N - DESC # SKIP REASON")
#   tap_result STATUS DESC   ok iff STATUS is 0
#   check DESC COMMAND...    ok iff COMMAND succeeds
#   diag [TEXT...]           TEXT, or stdin, as "# " comments
#   diag_file FILE [LINES]   the last LINES (40) of FILE as comments
#   bail MESSAGE             "Bail out! MESSAGE", then $TAP_BAIL_HOOK (a
#                            command, e.g. a log dump), exit 1
#   tap_unfinished STATUS    for an EXIT trap: when tap_done did not run,
#                            say so and fail every planned result not
#                            printed; returns 1 if tap_done ran
#   tap_done                 the end: "1..N" when no plan was printed, or
#                            a note when the count is not the plan;
#                            returns 0 iff no result failed

TAP_N=0          # results printed
TAP_FAILED=0     # of which "not ok"
TAP_PLAN=        # the plan printed by tap_plan, if any
TAP_FINISHED=0   # tap_done or bail ran
TAP_NAME=${0##*/}
TAP_BAIL_HOOK=${TAP_BAIL_HOOK:-}

tap_plan() {
	TAP_PLAN=$1
	echo "1..$1"
}

tap_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}

skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

tap_result() {
	if [[ $1 == 0 ]]; then ok "$2"; else not_ok "$2"; fi
}

check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# shellcheck disable=SC2120 # TEXT as arguments, or piped in
diag() {
	local line
	if (($#)); then
		printf '%s\n' "$*" | diag
		return 0
	fi
	while IFS= read -r line || [[ -n $line ]]; do
		printf '# %s\n' "$line"
	done
}

diag_file() {
	[[ -f $1 ]] || return 0
	echo "--- ${1##*/}:" | diag
	tail -n "${2:-40}" "$1" | diag
}

bail() {
	echo "Bail out! $*"
	TAP_FINISHED=1
	[[ -z $TAP_BAIL_HOOK ]] || $TAP_BAIL_HOOK
	exit 1
}

tap_unfinished() {
	((TAP_FINISHED)) && return 1
	echo "# $TAP_NAME stopped after $TAP_N of ${TAP_PLAN:-?} results (status $1)"
	while ((TAP_N < ${TAP_PLAN:-0})); do not_ok "not reached"; done
	return 0
}

tap_done() {
	TAP_FINISHED=1
	if [[ -z $TAP_PLAN ]]; then
		echo "1..$TAP_N"
	elif ((TAP_N != TAP_PLAN)); then
		echo "# $TAP_NAME: planned $TAP_PLAN, printed $TAP_N"
	fi
	((TAP_FAILED == 0))
}
