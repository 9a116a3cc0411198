# shellcheck shell=bash
# Helpers shared by the in-guest scripts (tools/guest/main, power-cut,
# tests/powerloss/guest). Sourced by bash; defines functions and constants
# only. The kernel-log checks themselves are in tools/dmvm.py.

DMVM_PY=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../dmvm.py

# dmvm_kmsg MESSAGE: write MESSAGE into the kernel log, so that the console
# log shows test boundaries among the kernel's own messages.
dmvm_kmsg() {
	printf '%s\n' "$*" >/dev/kmsg 2>/dev/null || true
}

# dmvm_splats: the kernel log's splat lines since `dmvm.py mark` (or all
# of them if it never ran), one a line; with DAXMIRROR_DMA=1 (tools/vm
# --dma) its DMAR fault lines too.
dmvm_splats() {
	python3 "$DMVM_PY" splats
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
