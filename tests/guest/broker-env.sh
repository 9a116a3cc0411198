# shellcheck shell=bash
# shellcheck disable=SC2034 # variables for the scripts that source this
# broker-env.sh - start and stop the broker's world inside the test guest:
# a real system bus (dbus-daemon with the project's policy file), daxmirrord
# on it as its own unprivileged user (as daxmirrord.service runs it), and
# clients (broker-client) holding mirrors. Sourced by test-broker and
# daxmirror-demo (both run as root in the guest, started by tools/vm); only
# functions and variables, nothing runs at source time but path setup.
#
# Everything started here has its stdout and stderr in files under
# $BE_TMP (a runner reading our stdout must not wait for a daemon that
# inherited it) and is stopped by be_cleanup, which the caller runs from
# an EXIT trap.

BE_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# DAXMIRROR_SOURCE_ROOT, DAXMIRROR_BUILD_ROOT; DXM_BUS_NAME, DXM_ERROR_...
# (both written by meson; the names from shared/bus-contract.h).
# shellcheck source=/dev/null
source "$BE_DIR/broker-paths.sh"
# shellcheck source=/dev/null
source "$BE_DIR/bus-contract.sh"

# BE_DAEMON from the environment: another build of the daemon (a bench
# comparing two builds in one boot).
BE_DAEMON=${BE_DAEMON:-$DAXMIRROR_BUILD_ROOT/daemon/daxmirrord}
BE_CLIENT=$BE_DIR/broker-client
BE_UNITS=$DAXMIRROR_SOURCE_ROOT/units
BE_POLICY=$BE_UNITS/org.daxmirror1.conf
BE_BUS_SOCKET=/run/dbus/system_bus_socket
# The daemon's user and group (units/sysusers.conf, units/daxmirrord.service).
BE_USER=daxmirror
BE_NOBODY=65534
BE_DEST=$DXM_BUS_NAME
BE_MANAGER=$DXM_OBJECT_ROOT
BE_MIFACE=$DXM_MANAGER_IFACE
BE_SIFACE=$DXM_SESSION_IFACE

BE_TMP=
BE_REASON=
BE_ARGV=()
BE_BUS_PID=
BE_DAEMON_PID=
BE_DAEMON_JOB=
BE_DAEMON_WRAPPER=()
BE_DAEMON_STATUS=
BE_NOTIFY_PID=
declare -A BE_HOLD_PID=() BE_HOLD_FD=() BE_HOLD_STATUS=()

be_note() {
	printf '%s\n' "$*" >&2
}

# be_wait SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds.
be_wait() {
	local tries=$(($1 * 10))
	shift
	until "$@"; do
		((--tries > 0)) || return 1
		sleep 0.1
	done
}

# be_as_argv USER: BE_ARGV=(the command prefix that runs a command as
# USER): nothing for root, else setpriv to USER (a name or uid) with its own
# group, no supplementary groups, no capabilities.
be_as_argv() {
	if [[ $1 == root || $1 == 0 ]]; then
		BE_ARGV=()
	else
		BE_ARGV=(setpriv --reuid="$1" --regid="$1" --clear-groups
			--inh-caps=-all --bounding-set=-all --no-new-privs --)
	fi
}

# be_as USER COMMAND...: run COMMAND as root or as USER.
be_as() {
	local BE_ARGV
	be_as_argv "$1"
	shift
	"${BE_ARGV[@]}" "$@"
}

# be_init: checks and the scratch directory. Returns 1, the reason in
# BE_REASON, when this is not a place to start a system bus in.
be_init() {
	local cmd
	BE_REASON=
	if ((EUID != 0)); then
		BE_REASON="must run as root (in the test guest: tools/vm)"
		return 1
	fi
	for cmd in dbus-daemon busctl setpriv systemd-sysusers mkfifo; do
		if ! command -v "$cmd" >/dev/null; then
			BE_REASON="$cmd is not installed"
			return 1
		fi
	done
	if [[ -S $BE_BUS_SOCKET ]] && busctl --system --timeout=2 list >/dev/null 2>&1; then
		BE_REASON="a system bus already runs on $BE_BUS_SOCKET: this starts its own, run it in the guest (tools/vm)"
		return 1
	fi
	if [[ ! -x $BE_DAEMON || ! -x $BE_CLIENT ]]; then
		BE_REASON="$BE_DAEMON or $BE_CLIENT is not built"
		return 1
	fi
	# The clients and busctl use the default system bus, nothing else.
	unset DBUS_SYSTEM_BUS_ADDRESS DAXMIRROR_BUS_ADDRESS DBUS_SESSION_BUS_ADDRESS
	BE_TMP=$(mktemp -d /tmp/daxmirror-broker.XXXXXX) || {
		BE_REASON="mktemp failed"
		return 1
	}
	chmod 0755 "$BE_TMP"
}

# be_setup_user: the daemon's user and group, made by systemd-sysusers from
# units/sysusers.conf (in the guest's throw-away /etc).
be_setup_user() {
	systemd-sysusers "$BE_UNITS/sysusers.conf" >"$BE_TMP/sysusers.log" 2>&1 &&
		getent passwd "$BE_USER" >/dev/null && getent group "$BE_USER" >/dev/null
}

# be_device_mode: "OWNER:GROUP:MODE" of /dev/daxmirror.
be_device_mode() {
	stat -L -c '%U:%G:%a' /dev/daxmirror 2>/dev/null
}

# be_apply_udev_rule: units/60-daxmirror.rules applied to /dev/daxmirror
# by udev itself (`udevadm test` runs the rules of an add event and sets
# the node's owner and mode; no udevd runs in the guest). Returns 1 if the
# node did not end up as the rule says; the caller falls back to chown.
be_apply_udev_rule() {
	command -v udevadm >/dev/null || return 1
	mkdir -p /run/udev/rules.d
	cp "$BE_UNITS/60-daxmirror.rules" /run/udev/rules.d/60-daxmirror.rules
	timeout 60 udevadm test --action=add /class/misc/daxmirror \
		>"$BE_TMP/udev.log" 2>&1
	[[ $(be_device_mode) == "root:$BE_USER:660" ]]
}

be_bus_up() {
	[[ -S $BE_BUS_SOCKET ]] && busctl --system --timeout=2 list >/dev/null 2>&1
}

# be_start_bus: dbus-daemon as the system bus, its policy the Debian
# default context plus the project's policy file, no activation.
be_start_bus() {
	local user=root
	getent passwd messagebus >/dev/null && user=messagebus
	mkdir -p /run/dbus
	rm -f "$BE_BUS_SOCKET"
	cat >"$BE_TMP/system-bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <user>$user</user>
  <listen>unix:path=$BE_BUS_SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>$BE_POLICY</include>
</busconfig>
EOF
	dbus-daemon --config-file="$BE_TMP/system-bus.conf" --nofork --nopidfile \
		--nosyslog </dev/null >"$BE_TMP/bus.log" 2>&1 &
	BE_BUS_PID=$!
	be_wait 20 be_bus_up
}

be_daemon_up() {
	kill -0 "$BE_DAEMON_JOB" 2>/dev/null &&
		busctl --system --timeout=5 get-property "$BE_DEST" "$BE_MANAGER" \
			"$BE_MIFACE" Version >/dev/null 2>&1
}

# be_start_daemon CONFIG: daxmirrord on the system bus as user daxmirror
# with no capabilities, an sd_notify socket (NOTIFY_SOCKET, notify.log)
# and a 2 s watchdog (WATCHDOG_USEC; WATCHDOG_PID is the daemon: exec
# keeps the pid). Waits until it answers on the bus. BE_DAEMON_WRAPPER
# (e.g. strace) goes in front: then BE_DAEMON_JOB is the wrapper (what we
# wait for) and BE_DAEMON_PID the daemon (what we signal), from the bus.
be_start_daemon() {
	local config=$1
	BE_DAEMON_STATUS=
	: >"$BE_TMP/notify.log"
	if [[ -z $BE_NOTIFY_PID ]]; then
		"$BE_CLIENT" notify-listen "$BE_TMP/notify.sock" "$BE_TMP/notify.log" 3600 \
			</dev/null >"$BE_TMP/notify.out" 2>&1 &
		BE_NOTIFY_PID=$!
		be_wait 10 test -S "$BE_TMP/notify.sock" || return 1
	fi
	chmod 0644 "$config"
	(
		# Not the holders' FIFOs: a daemon started (again) while clients
		# hold would keep them from ever seeing EOF. exec: $! stays the
		# daemon (or its wrapper).
		for f in "${BE_HOLD_FD[@]}"; do
			exec {f}>&-
		done
		NOTIFY_SOCKET=$BE_TMP/notify.sock WATCHDOG_USEC=2000000 \
			exec "${BE_DAEMON_WRAPPER[@]}" \
			sh -c 'WATCHDOG_PID=$$ && export WATCHDOG_PID && exec "$@"' sh \
			setpriv --reuid="$BE_USER" --regid="$BE_USER" --clear-groups \
			--inh-caps=-all --bounding-set=-all --no-new-privs -- \
			"$BE_DAEMON" --config "$config" </dev/null >>"$BE_TMP/daemon.log" 2>&1
	) &
	BE_DAEMON_JOB=$!
	BE_DAEMON_PID=$!
	be_wait 60 be_daemon_up || return 1
	if ((${#BE_DAEMON_WRAPPER[@]})); then
		BE_DAEMON_PID=$(busctl --system --timeout=5 call org.freedesktop.DBus \
			/org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID \
			s "$BE_DEST" 2>/dev/null | sed -n 's/^u //p')
		[[ -n $BE_DAEMON_PID ]]
	fi
}

# be_stop_daemon: SIGTERM, then SIGKILL after 10 s; BE_DAEMON_STATUS is its
# exit status ("" if it was not running).
be_stop_daemon() {
	local pid=$BE_DAEMON_PID job=$BE_DAEMON_JOB
	[[ -n $job ]] || return 0
	BE_DAEMON_PID=
	BE_DAEMON_JOB=
	kill -TERM "${pid:-$job}" 2>/dev/null
	if ! be_wait 20 eval "! kill -0 $job 2>/dev/null"; then
		be_note "daxmirrord ignored SIGTERM for 20 s: SIGKILL"
		kill -KILL "${pid:-$job}" "$job" 2>/dev/null
	fi
	BE_DAEMON_STATUS=0
	wait "$job" 2>/dev/null || BE_DAEMON_STATUS=$?
}

# be_hold NAME USER ARGS...: start `broker-client mirror ARGS... --hold` as
# USER, its stdin a FIFO we keep open (closing it releases the client), its
# output in $BE_TMP/NAME.out; wait until it is ready, failed or gone.
# Returns 0 if it is ready (holding its mirror).
be_hold() {
	local name=$1 who=$2 fd pid f
	shift 2
	rm -f "$BE_TMP/$name.in" "$BE_TMP/$name.out"
	mkfifo -m 0600 "$BE_TMP/$name.in"
	(
		# Not the other holders' FIFOs: they would never see EOF.
		for f in "${BE_HOLD_FD[@]}"; do
			exec {f}>&-
		done
		# exec all the way: $! is the client itself (SIGKILL test).
		be_as_argv "$who"
		exec "${BE_ARGV[@]}" "$BE_CLIENT" mirror --hold "$@" \
			<"$BE_TMP/$name.in" >"$BE_TMP/$name.out" 2>&1
	) &
	pid=$!
	exec {fd}>"$BE_TMP/$name.in"
	BE_HOLD_PID[$name]=$pid
	BE_HOLD_FD[$name]=$fd
	be_wait 120 be_hold_settled "$name"
	grep -qx 'ready=1' "$BE_TMP/$name.out"
}

be_hold_settled() {
	grep -qE '^(ready=1|result=.*)$' "$BE_TMP/$1.out" 2>/dev/null ||
		! kill -0 "${BE_HOLD_PID[$1]}" 2>/dev/null
}

# be_release NAME: close the holder's stdin and wait (30 s) for it to end;
# BE_HOLD_STATUS[NAME] is its exit status.
be_release() {
	local name=$1 pid=${BE_HOLD_PID[$1]:-} fd=${BE_HOLD_FD[$1]:-} st=0
	if [[ -n $fd ]]; then
		exec {fd}>&-
		unset "BE_HOLD_FD[$name]"
	fi
	[[ -n $pid ]] || return 0
	if ! be_wait 30 eval "! kill -0 $pid 2>/dev/null"; then
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || st=$?
	BE_HOLD_STATUS[$name]=$st
	unset "BE_HOLD_PID[$name]"
}

# be_kill_holder NAME SIGNAL: signal it, reap it (its stdin stays open).
be_kill_holder() {
	local name=$1 pid=${BE_HOLD_PID[$1]:-} st=0
	[[ -n $pid ]] || return 1
	# (stderr off: bash's "Killed" job notice is not a test result.)
	{
		kill "-$2" "$pid"
		be_wait 30 eval "! kill -0 $pid"
		wait "$pid" || st=$?
	} 2>/dev/null
	BE_HOLD_STATUS[$name]=$st
	unset "BE_HOLD_PID[$name]"
	be_release "$name"
}

# be_kv FILE KEY: the last value of KEY= in FILE.
be_kv() {
	sed -n "s/^$2=//p" "$1" 2>/dev/null | tail -n 1
}

# be_prop PATH INTERFACE PROPERTY: busctl's value of a property (without
# its type), e.g. "65534" or "1 1 140... \"live\" true 0 8 0".
be_prop() {
	local out
	out=$(busctl --system --timeout=10 get-property "$BE_DEST" "$1" "$2" "$3" 2>&1) ||
		return 1
	printf '%s\n' "${out#* }"
}

# be_tree: the object paths of the bus name, one a line.
be_tree() {
	busctl --system --timeout=10 tree --list "$BE_DEST" 2>&1
}

# be_session_count: Manager.SessionCount.
be_session_count() {
	be_prop "$BE_MANAGER" "$BE_MIFACE" SessionCount
}

# be_cleanup: stop everything this file started (idempotent).
be_cleanup() {
	local name
	{
		for name in "${!BE_HOLD_PID[@]}"; do
			kill -KILL "${BE_HOLD_PID[$name]}"
		done
		for name in "${!BE_HOLD_FD[@]}" "${!BE_HOLD_PID[@]}"; do
			be_release "$name"
		done
		be_stop_daemon
	} 2>/dev/null
	if [[ -n $BE_NOTIFY_PID ]]; then
		kill -TERM "$BE_NOTIFY_PID" 2>/dev/null
		wait "$BE_NOTIFY_PID" 2>/dev/null
		BE_NOTIFY_PID=
	fi
	if [[ -n $BE_BUS_PID ]]; then
		kill -TERM "$BE_BUS_PID" 2>/dev/null
		be_wait 10 eval "! kill -0 $BE_BUS_PID 2>/dev/null" ||
			kill -KILL "$BE_BUS_PID" 2>/dev/null
		wait "$BE_BUS_PID" 2>/dev/null
		BE_BUS_PID=
		rm -f "$BE_BUS_SOCKET"
	fi
	if [[ -n $BE_TMP && -d $BE_TMP ]]; then
		rm -rf "$BE_TMP"
	fi
	BE_TMP=
}
