#!/usr/bin/env python3
"""test-mutate.py - tools/mutate's edit operators on crafted C: each finds
its function by name and its text in that body only (comments ignored,
white space free), does exactly its edit, and refuses what is ambiguous,
missing or unsafe (a stale catalogue entry must be an error). TAP."""

import importlib.machinery
import importlib.util
import os
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
loader = importlib.machinery.SourceFileLoader('mutate', os.path.join(SRC, 'tools', 'mutate'))
spec = importlib.util.spec_from_loader('mutate', loader)
mutate = importlib.util.module_from_spec(spec)
loader.exec_module(mutate)

C = r'''/* check(a) in a comment { */
static int check(int a)
{
	return a > 1;
}

static int target(int a, int b)
	__must_hold(&lock)
{
	int r = 0;

	/* if (a > b) in a comment */
	if (a > b &&
	    check(a))
		return -EINVAL;
	if (b == 3) {
		r = 1;
		r += 2;
	}
	while (a < b)
		a++;
	r += lookup("{;)", a);
	return r;
}
'''

results = []


def case(name, edit, want=None, error=None):
    try:
        got = mutate.apply_edit(C, 'target', edit)
    except mutate.CatalogueError as e:
        ok = error is not None and error in str(e)
        results.append((ok, name, 'error: %s' % e))
        return
    if error is not None:
        results.append((False, name, 'applied, wanted an error %r' % error))
        return
    ok = all(w in got for w in want[0]) and not any(w in got for w in want[1])
    ok = ok and got.count('static int check(int a)') == 1 and 'return a > 1;' in got
    results.append((ok, name, '' if ok else got))


case('replace flips a comparison across a line break', 'replace: a > b && check(a) => a >= b && check(a)',
     (['if (a >= b && check(a))'], ['a > b &&']))
case('replace: white space in the text matches any run', 'replace: while (a <  b) => while (a <= b)',
     (['while (a <= b)'], ['while (a < b)']))
case('replace: may delete', 'replace: r += 2; =>', (['r = 1;'], ['r += 2;']))
case('drop: an if whose condition holds the text goes with its body', 'drop: check(a)',
     (['if (b == 3)'], ['return -EINVAL', 'check(a))']))
case('drop: a braced if', 'drop: b == 3', (['r += lookup'], ['r = 1;', 'r += 2;']))
case('drop: a simple statement, brackets in a string literal do not count', 'drop: lookup(',
     (['return r;'], ['lookup']))
case('never: the condition becomes 0', 'never: b == 3', (['if (0) {'], ['b == 3']))
case('always: the condition becomes 1', 'always: a < b', (['while (1)'], ['a < b']))
case('negate: the whole condition is negated', 'negate: check(a)',
     (['if (!(a > b &&\n\t    check(a)))'], []))
case('text only in a comment is not found', 'drop: if (a > b) in', error='not found')
case('text outside the function is not found', 'replace: return a > 1; => return 0;', error='not found')
case('ambiguous text is refused', 'replace: r += => r -=', error='found 2 times')
case('unknown operator is refused', 'swap: a => b', error='bad edit')
case('never: without a condition around the text', 'never: int r = 0', error='no if/while')
try:
    mutate.apply_edit(C, 'nosuch', 'drop: a')
    results.append((False, 'a missing function is an error', 'applied'))
except mutate.CatalogueError as e:
    results.append(('no definition' in str(e), 'a missing function is an error', str(e)))

print('1..%d' % len(results))
for i, (ok, name, detail) in enumerate(results, 1):
    print('%sok %d - %s' % ('' if ok else 'not ', i, name))
    if not ok:
        for line in detail.splitlines():
            print('# ' + line)
sys.exit(0 if all(r[0] for r in results) else 1)
