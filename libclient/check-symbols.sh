#!/bin/sh
# check-symbols.sh LIB HEADER SYMFILE - the library exports exactly the
# symbols of the map, each under LIBDAXMIRROR_*, and each is declared in the
# public header. TAP output.
set -eu
lib=$1 header=$2 sym=$3
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort)
listed=$(sed -n 's/^[[:space:]]*\(daxmirror_[a-z_]*\);.*/\1/p' "$sym" | sort)
n=0 fail=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

[ "$(echo "$exported" | sed 's/@.*//')" = "$listed" ]; ok $? "exported symbols equal the map"
echo "$exported" | grep -qv '@@\?LIBDAXMIRROR_1$' && r=1 || r=0; ok $r "every symbol is versioned LIBDAXMIRROR_1"
missing=
for s in $listed; do
	grep -q "^[a-z].*[ *]$s(" "$header" || missing="$missing $s"
done
[ -z "$missing" ]; ok $? "every symbol is declared in the header${missing:+ (missing:$missing)}"
echo "1..$n"
exit $fail
