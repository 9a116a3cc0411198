#!/usr/bin/env python3
"""test-mutate.py - tools/mutate on crafted input, TAP:
- the edit operators on crafted C: each finds its function by name and its
  text in that body only (comments ignored, white space free, identifiers
  whole), does exactly its edit, and refuses what is ambiguous, missing or
  unsafe (a drop that would make the next statement the body of an
  unbraced if/else, leave an else dangling, or keep a do's while);
- a catalogue with a duplicate section or option is a clean error;
- the TAP report: a known survivor is "not ok ... # TODO WHY"."""

import importlib.machinery
import importlib.util
import io
import os
import subprocess
import sys
import tempfile

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
MUTATE = os.path.join(SRC, 'tools', 'mutate')
loader = importlib.machinery.SourceFileLoader('mutate', MUTATE)
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

static int words(int x, int x1)
{
	int xret = x1, ret;

	ret = x;
	xret = x1 + 1;
	if (xret < ret)
		return xret;
	return ret < xret;
}

static void branches(int a, int b, int o)
{
	if (a)
		first();
	else if (b)
		second();
	after_else_if();
	if (o)
		if (b)
			inner();
	after_nested();
	if (a)
		one();
	else
		other();
	if (a)
		x1();
	else if (b)
		x2();
	else
		x3();
	switch (a) {
	case 1:
		cased();
		break;
	}
	do
		a++;
	while (a != b);
	for (o = 0; o < b; o++)
		looped();
}
'''

results = []


def add(ok, name, detail=''):
    results.append((bool(ok), name, '' if ok else detail))


def case(name, edit, want=None, error=None, function='target'):
    try:
        got = mutate.apply_edit(C, function, edit)
    except mutate.CatalogueError as e:
        add(error is not None and error in str(e), name, 'error: %s' % e)
        return
    if error is not None:
        add(False, name, 'applied, wanted an error %r:\n%s' % (error, got))
        return
    ok = all(w in got for w in want[0]) and not any(w in got for w in want[1])
    ok = ok and got.count('static int check(int a)') == 1 and 'return a > 1;' in got
    add(ok, name, got)


# --- the operators ---------------------------------------------------------

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
    add(False, 'a missing function is an error', 'applied')
except mutate.CatalogueError as e:
    add('no definition' in str(e), 'a missing function is an error', str(e))

# Identifiers are whole at the ends of the text.
case('replace: "ret = x" matches ret = x;, not inside xret = x1', 'replace: ret = x => ret = 0',
     (['\tret = 0;', 'int xret = x1, ret;', 'xret = x1 + 1;'], ['ret = x;']), function='words')
case('replace: an identifier at the start is whole ("ret" is not in "xret")',
     'replace: ret < xret => ret <= xret', (['return ret <= xret;', 'if (xret < ret)'], []),
     function='words')
case('replace: an identifier at the end is whole ("x" is not "x1")', 'replace: xret = x => xret = 7',
     error='not found', function='words')
case('replace: a text ending in punctuation needs no boundary', 'replace: xret < => xret <=',
     (['if (xret <= ret)'], []), function='words')

# drop: never leaves a statement to take another's place.
case('drop: an if that is the body of an else (else if) is refused', 'drop: b)\n\t\tsecond',
     error='unbraced body of an else', function='branches')
case('drop: an if that is the body of another unbraced if is refused', 'drop: inner()',
     (['after_nested();'], ['inner()', 'if (o)']), function='branches')
case('drop: ... by its condition, inside the outer if, is refused', 'drop: b)\n\t\t\tinner',
     error='unbraced body of an if', function='branches')
case('drop: the statement of an if with an else is refused (else left dangling)', 'drop: one()',
     error='dangling', function='branches')
case('drop: an else if branch followed by an else is refused', 'drop: x2()',
     error='dangling', function='branches')
case('drop: the sole statement of an else if goes with its "else if": the next stays outside',
     'drop: second()', (['\t\tfirst();\n\tafter_else_if();'], ['second']), function='branches')
case('drop: the body of a do is refused (its while would stay)', 'drop: a++',
     error='body of a do', function='branches')
case('drop: a statement after a case label keeps the label', 'drop: cased()',
     (['case 1:\n\t\tbreak;'], ['cased']), function='branches')
case('drop: a loop body goes with its loop', 'drop: looped()',
     (['while (a != b);\n}'], ['looped', 'for (o']), function='branches')

# --- the catalogue ------------------------------------------------------------

with tempfile.TemporaryDirectory() as tmp:
    dup = os.path.join(tmp, 'dup.mutants')
    with open(dup, 'w') as f:
        f.write('[harness]\nkind = daemon\ntests = t\n\n'
                '[one]\nfile = a.c\nfunction = f\nedit = drop: x\nwhy = w\n\n'
                '[two]\nfile = a.c\nfunction = f\nedit = drop: y\nwhy = w\n\n'
                '[one]\nfile = a.c\nfunction = f\nedit = drop: z\nwhy = w\n')
    try:
        mutate.Catalogue(dup)
        add(False, 'a duplicate section is a CatalogueError', 'accepted')
    except mutate.CatalogueError as e:
        add(dup in str(e) and '[one]' in str(e) and 'duplicate' in str(e),
            'a duplicate section is a CatalogueError naming the file and the section', str(e))
    r = subprocess.run([sys.executable, MUTATE, 'check', dup], capture_output=True, text=True)
    add(r.returncode == 2 and 'Traceback' not in r.stderr and 'duplicate section [one]' in r.stderr,
        'tools/mutate check of it: exit 2, one line, no traceback',
        'exit %d\n%s' % (r.returncode, r.stderr))
    with open(dup, 'w') as f:
        f.write('[harness]\nkind = daemon\n\n[one]\nfile = a.c\nfile = b.c\n')
    try:
        mutate.Catalogue(dup)
        add(False, 'an option set twice is a CatalogueError', 'accepted')
    except mutate.CatalogueError as e:
        add('[one]' in str(e) and 'file' in str(e), 'an option set twice is a CatalogueError', str(e))
    try:
        mutate.Catalogue(os.path.join(tmp, 'none.mutants'))
        add(False, 'a missing catalogue is a CatalogueError', 'accepted')
    except mutate.CatalogueError as e:
        add('none.mutants' in str(e), 'a missing catalogue is a CatalogueError', str(e))

# --- the TAP report ---------------------------------------------------------------


class Sec(dict):
    pass


def mutant(ident, **kw):
    sec = Sec(file='module/x.c', function='f', edit='drop: x', why='w', tests='test-basic')
    sec.update(kw)
    return mutate.Mutant(ident, sec)


out = io.StringIO()
mutate.report_tap([mutate.Result(mutant('known', survives='out of reach under TCG'), 'survived'),
                   mutate.Result(mutant('dead'), 'killed', 'test-badinput')], out)
tap = out.getvalue().splitlines()
add(tap[1] == 'not ok 1 - known survived # TODO out of reach under TCG',
    'TAP: a known survivor is "not ok", its reason a TODO directive', tap[1])
add(tap[2] == 'ok 2 - dead killed (test-badinput)', 'TAP: a kill is ok', tap[2])

print('1..%d' % len(results))
for i, (ok, name, detail) in enumerate(results, 1):
    print('%sok %d - %s' % ('' if ok else 'not ', i, name))
    if not ok:
        for line in str(detail).splitlines():
            print('# ' + line)
sys.exit(0 if all(r[0] for r in results) else 1)
