# shellcheck shell=bash
# Helpers shared by the in-guest scripts (tools/guest/main, tools/guest/tap-merge).
# Sourced by bash; defines functions and constants only.

# The kernel log is checked for splats from this line on: what the kernel
# said while booting and making file systems is not the module's doing.
DMVM_KMSG_MARK='dmvm: kernel log checked from here'

# What counts as a kernel splat in the "dmesg clean" check: oopses and
# WARNs, and what the debug kernel's checkers print (tools/guest-kernel --flavour debug):
# KASAN/KFENCE/sleeping-in-atomic/soft lockup ("BUG: ..."), lockdep and
# DEBUG_OBJECTS ("WARNING: ..."), UBSAN, DEBUG_VM's page dumps, the hung
# task and RCU stall detectors.
DMVM_SPLAT_RE='BUG:|WARNING:|Oops|general protection|Call Trace|UBSAN|KASAN|KFENCE|page dumped because|INFO: task .* blocked|self-detected stall|stalls on CPUs|ODEBUG|DEBUG_LOCKS_WARN'

# dmvm_kmsg MESSAGE: write MESSAGE into the kernel log, so that the console
# log shows test boundaries among the kernel's own messages.
dmvm_kmsg() {
	printf '%s\n' "$*" >/dev/kmsg 2>/dev/null || true
}

# dmvm_splats: print the kernel log lines, after the last DMVM_KMSG_MARK
# (or all of them if there is none), that match DMVM_SPLAT_RE. Our own
# "dmvm:" lines never count (a test may well be named test-oops).
dmvm_splats() {
	dmesg --notime 2>/dev/null | awk -v mark="$DMVM_KMSG_MARK" \
		-v re="$DMVM_SPLAT_RE" '
		index($0, mark) { n = 0; next }
		/^dmvm: / { next }
		$0 ~ re { hit[n++] = $0 }
		END { for (i = 0; i < n; i++) print hit[i] }'
}

# dmvm_drain TTY...: wait until everything written to each serial TTY has
# left the UART. stty sets the mode with TCSADRAIN, so this blocks until the
# output queue is empty: data still queued at poweroff would be lost.
dmvm_drain() {
	local tty
	for tty in "$@"; do
		stty -F "$tty" raw -echo 2>/dev/null || true
	done
}
