#!/usr/bin/env python3
"""bus-contract-sh.py HEADER OUTPUT: the D-Bus names of shared/bus-contract.h
(every `#define DXM_... "string"`, string concatenation with an earlier
define resolved) as bash assignments, for the bash tests: run by meson at
configure time into BUILD/tests/guest/bus-contract.sh, which
tests/guest/broker-env.sh and tests/system/lib.sh source. A name is spelled
in the C header only."""
import os
import re
import shlex
import sys

DEFINE = re.compile(r'^#define\s+(DXM_[A-Z0-9_]+)\s+(.+?)\s*$')
TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([A-Z][A-Z0-9_]*))')


def parse(text):
    names = {}
    for line in text.splitlines():
        m = DEFINE.match(line)
        if not m:
            continue
        value, rest, ok = '', m.group(2), True
        while rest:
            t = TOKEN.match(rest)
            if not t or (t.group(2) and t.group(2) not in names):
                ok = False
                break
            value += t.group(1) if t.group(1) is not None else names[t.group(2)]
            rest = rest[t.end():].strip()
        if ok:
            names[m.group(1)] = value
    return names


def main(argv):
    if len(argv) != 3:
        sys.exit('usage: bus-contract-sh.py HEADER OUTPUT')
    with open(argv[1], encoding='utf-8') as f:
        names = parse(f.read())
    if 'DXM_BUS_NAME' not in names:
        sys.exit(f'{argv[1]}: no DXM_BUS_NAME')
    with open(argv[2], 'w', encoding='utf-8') as out:
        out.write('# shellcheck shell=bash\n'
                  '# shellcheck disable=SC2034 # for the scripts that source this\n'
                  f'# Written by meson from {os.path.normpath(argv[1])}: the D-Bus names.\n')
        for key, value in names.items():
            out.write(f'{key}={shlex.quote(value)}\n')


if __name__ == '__main__':
    main(sys.argv)
