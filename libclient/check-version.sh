#!/bin/bash
# check-version.sh LIB HEADER PCDIR VERSION - one version everywhere: the
# pkg-config file meson generated (in PCDIR), the shared library's file
# name (libdaxmirror.so.VERSION) and the header's DAXMIRROR_VERSION_*
# all say VERSION (meson's libdaxmirror_version), and pkg-config's
# --atleast-version accepts the API level an application of 1.2 asks for
# and refuses a later one. TAP output.
set -eu
lib=$1 header=$2 pcdir=$3 version=$4
# shellcheck source=tests/lib/tap.sh
source "$(dirname "$(readlink -f "$0")")/../tests/lib/tap.sh"

export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig
pc=$(pkg-config --modversion libdaxmirror 2>&1) || pc="error: $pc"
r=0; [ "$pc" = "$version" ] || r=1
tap_result $r "pkg-config --modversion libdaxmirror: $pc (meson: $version)"
r=0; pkg-config --atleast-version=1.2 libdaxmirror || r=1
tap_result $r "pkg-config --atleast-version=1.2 libdaxmirror accepts"
IFS=. read -r major minor micro <<<"$version"
r=0; ! pkg-config --atleast-version="$major.$((minor + 1))" libdaxmirror || r=1
tap_result $r "pkg-config --atleast-version=$major.$((minor + 1)) refuses"
real=$(basename "$(readlink -f "$lib")")
r=0; [ "$real" = "libdaxmirror.so.$version" ] || r=1
tap_result $r "the library is $real"
h() { sed -n "s/^#define DAXMIRROR_VERSION_$1[[:space:]]*//p" "$header" | tr -d '"'; }
hv="$(h MAJOR).$(h MINOR).$(h MICRO)"
r=0; [ "$hv" = "$version" ] && [ "$(h STRING)" = "$version" ] || r=1
tap_result $r "the header's DAXMIRROR_VERSION_* say $hv, DAXMIRROR_VERSION_STRING $(h STRING)"
tap_done
