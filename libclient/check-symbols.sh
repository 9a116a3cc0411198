#!/bin/bash
# check-symbols.sh LIB HEADER SYMFILE - the library exports exactly the
# symbols of the map, each with the version of the node that lists it
# (LIBDAXMIRROR_1, LIBDAXMIRROR_1.1, ...), and each is declared in the
# public header. TAP output.
set -eu
lib=$1 header=$2 sym=$3
# "name@@VERSION" as the library exports them, and as the map says.
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort)
mapped=$(sed 's:/\*.*\*/::' "$sym" | awk '
	/^[[:space:]]*LIBDAXMIRROR_[0-9.]+[[:space:]]*\{/ { node = $1; sub(/\{.*/, "", node) }
	/^[[:space:]]*daxmirror_[a-z_]*;/ { s = $1; sub(/;.*/, "", s); print s "@@" node }' | sort)
listed=$(echo "$mapped" | sed 's/@.*//')
# shellcheck source=tests/lib/tap.sh
source "$(dirname "$(readlink -f "$0")")/../tests/lib/tap.sh"

r=0; [ "$(echo "$exported" | sed 's/@.*//')" = "$listed" ] || r=1
tap_result $r "exported symbols equal the map"
r=0; [ "$exported" = "$mapped" ] || r=1
[ $r = 0 ] || echo "$exported" | sed 's/^/# exported: /'
tap_result $r "every symbol has the version of its node in the map"
r=0; echo "$mapped" | grep -q '@@LIBDAXMIRROR_1$' || r=1
tap_result $r "LIBDAXMIRROR_1 is still exported"
missing=
for s in $listed; do
	grep -q "^[a-z].*[ *]$s(" "$header" || missing="$missing $s"
done
r=0; [ -z "$missing" ] || r=1
tap_result $r "every symbol is declared in the header${missing:+ (missing:$missing)}"
tap_done
