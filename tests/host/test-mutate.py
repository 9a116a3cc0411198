#!/usr/bin/env python3
"""test-mutate.py - tools/mutate on crafted input, TAP:
- the edit operators on crafted C: each finds its function by name and its
  text in that body only (comments ignored, white space free, identifiers
  whole), does exactly its edit, and refuses what is ambiguous, missing or
  unsafe (a drop that would make the next statement the body of an
  unbraced if/else, leave an else dangling, or keep a do's while);
- a catalogue with a duplicate section or option is a clean error;
- the TAP counts guest-run asks for (all points skipped: untested);
- what one boot's reports mean: a death, a survivor after a splat, or an
  untested mutant in a shared boot runs again alone; alone, a death kills,
  a skip is untested; an insmod failure is an error;
- the TAP report: a known survivor is "not ok ... # TODO WHY";
- SIGTERM and SIGINT stop a process group started by run_watched and
  restore the files `mutated` wrote; copy_tree gives a copied file a new
  mtime;
- the debug kernel's skip list, and a kernel tools/vm cannot boot."""

import importlib.machinery
import importlib.util
import io
import os
import signal
import subprocess
import sys
import tempfile
import time

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
MUTATE = os.path.join(SRC, 'tools', 'mutate')
sys.dont_write_bytecode = True   # no tools/__pycache__ in the source tree
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

# --- TAP counts (guest-run: tools/mutate tap-summary) ---------------------------

ALL_SKIPPED = '''TAP version 13
# test-huge: no THP in this boot
ok 1 - PMD entry # SKIP THP unavailable
ok 2 - PUD entry # skip no 1G pages
ok 3 - split #SKIP
1..3
'''
summary = mutate.tap_summary(ALL_SKIPPED)
add(summary == (3, 3, 0) and mutate.nothing_checked(summary),
    'TAP: every point a SKIP (any case, any spacing): nothing checked', summary)
summary = mutate.tap_summary('1..0 # SKIP no fault injection in this kernel\n')
add(summary == (0, 0, 0) and mutate.nothing_checked(summary),
    'TAP: a skip-all plan (1..0, SKIP): no point, nothing checked', summary)
summary = mutate.tap_summary('ok 1 - skipping holes\nok 2 - x # SKIP y\n'
                             'not ok 3 - z # TODO later\nnot ok 4 - w\n    ok 1 - subtest\n'
                             'ok 5 - issue #skipped stays a pass\n1..5\n')
add(summary == (5, 1, 1) and not mutate.nothing_checked(summary),
    'TAP: one real point is enough; a "not ok" with a TODO is no failure; subtests do not count',
    summary)
summary = mutate.tap_summary('ok 1 - a\nok 2 - b\n1..3\n')
add(summary == (2, 0, 1), 'TAP: a plan the results do not match is a failure', summary)
summary = mutate.tap_summary('ok 1 - a\nok 2 - b\n')
add(summary == (2, 0, 1), 'TAP: no plan is a failure', summary)
with tempfile.NamedTemporaryFile('w', suffix='.tap') as f:
    f.write(ALL_SKIPPED)
    f.flush()
    r = subprocess.run([sys.executable, MUTATE, 'tap-summary', f.name], capture_output=True, text=True)
    add(r.stdout == '3 3 0\n', 'tools/mutate tap-summary FILE prints "POINTS SKIPPED FAILED"',
        r.stdout + r.stderr)

# --- one boot's reports --------------------------------------------------------


class Sec(dict):
    pass


def mutant(ident, tests, **kw):
    sec = Sec(file='module/x.c', function='f', edit='drop: x', why='w', tests=' '.join(tests))
    sec.update(kw)
    return mutate.Mutant(ident, sec)


class Cat:
    tests = ['test-basic', 'test-anon']
    order = mutate.Catalogue.order
    own = mutate.Catalogue.own


cat = Cat()
huge = mutant('huge-mutant', ['test-huge'])
dead = mutant('dead-mutant', ['test-badinput'])
late = mutant('late-mutant', ['test-basic'])
bad = mutant('bad-mutant', ['test-anon'])
entries = {m.id: mutate.Entry(m.id, '/ko/%s.ko' % m.id, cat.order(m), m)
           for m in (huge, dead, late, bad)}
LINES = '''pristine start
pristine test test-huge
pristine ran test-huge passed 8 0
pristine survived
huge-mutant start
huge-mutant test test-huge
huge-mutant ran test-huge passed 8 8
huge-mutant ran test-basic passed 62 0
huge-mutant ran test-anon passed 35 0
huge-mutant survived
bad-mutant start
bad-mutant error insmod: Invalid module format
late-mutant start
late-mutant ran test-basic failed 62 1
late-mutant killed test-basic
- spent late-mutant
late-mutant2 start
late-mutant2 ran test-basic passed 62 0
late-mutant2 survived
dead-mutant start
dead-mutant test test-badinput
'''.splitlines(True)
reports, setup = mutate.parse_results(LINES)
add(list(reports) == ['pristine', 'huge-mutant', 'bad-mutant', 'late-mutant', 'late-mutant2',
                      'dead-mutant'] and setup == '',
    'parse_results: every started entry, in order', list(reports))
add(mutate.all_skipped(reports['huge-mutant'], ['test-huge'])
    and not mutate.all_skipped(reports['huge-mutant'], ['test-huge', 'test-basic'])
    and mutate.all_skipped(reports['huge-mutant'], ['test-badblocks']),
    'all_skipped: every point skipped, or not run at all', reports['huge-mutant'].ran)
d = mutate.decide(cat, entries['huge-mutant'], reports['huge-mutant'], False, 1)
add(d[0] == 'again' and 'skipped' in d[1],
    'decide: a survivor whose own tests all skipped in a shared boot runs again alone', d)
d = mutate.decide(cat, entries['huge-mutant'], reports['huge-mutant'], True, 2)
add(d[:2] == ('final', 'untested') and 'test-huge' in d[2],
    'decide: ... and alone it is untested, not survived', d)
d = mutate.decide(cat, entries['bad-mutant'], reports['bad-mutant'], False, 1)
add(d[:2] == ('final', 'error') and 'insmod' in d[2], 'decide: an insmod failure is an error', d)
d = mutate.decide(cat, entries['late-mutant'], reports['late-mutant'], False, 1)
add(d == ('final', 'killed', 'test-basic'), 'decide: a failed test kills', d)
late2 = mutate.Entry('late-mutant2', '/ko/l.ko', cat.order(late), late)
d = mutate.decide(cat, late2, reports['late-mutant2'], False, 1)
add(reports['late-mutant2'].spent and d[0] == 'again' and 'splat' in d[1],
    'decide: a survivor after an earlier splat in its boot runs again alone', d)
d = mutate.decide(cat, entries['dead-mutant'], reports['dead-mutant'], False, 1)
add(d[0] == 'again' and 'died' in d[1] and 'test-badinput' in d[1],
    'decide: a mutant the guest died under, in a shared boot, runs again alone', d)
d = mutate.decide(cat, entries['dead-mutant'], reports['dead-mutant'], True, 3)
add(d[:2] == ('final', 'killed') and 'alone' in d[2],
    'decide: alone, the guest dying under it kills it', d)
hung = mutate.parse_results(['dead-mutant start\n', 'dead-mutant hung test-stress (stuck)\n'])[0]
d = mutate.decide(cat, entries['dead-mutant'], hung['dead-mutant'], False, 1)
add(d[0] == 'again' and 'hung' in d[1], 'decide: a hang in a shared boot runs again alone', d)
stall = mutate.parse_results(['late-mutant start\n', 'late-mutant ran test-basic passed 62 0\n',
                               'late-mutant stalled kernel log after test-basic: watchdog: BUG: '
                               'soft lockup - CPU#0 stuck for 44s! [test-basic:375]\n'])[0]
d = mutate.decide(cat, entries['late-mutant'], stall['late-mutant'], True, 2)
add(d[0] == 'again' and 'soft lockup' in d[1],
    'decide: a kill by a soft lockup alone runs again, even from a boot of its own', d)
d = mutate.decide(cat, entries['late-mutant'], stall['late-mutant'], True, 3, rerun=True)
add(d[:2] == ('final', 'killed') and 'only a soft lockup' in d[2],
    'decide: ... and the second time it kills, saying so', d)
note = mutate.again_note('survived', '', 'guest died (panic or hang) while test-badinput ran in boot 1')
add('blamed on it wrongly' in note, 'a survivor of its own boot: the first death was blamed wrongly',
    note)

R = mutate.Result
rs = [R(huge, 'untested', 'x'), R(bad, 'error', 'insmod'), R(late, 'untested', 'x', marked='why'),
      R(dead, 'killed', 'guest died')]
add([r.mutant.id for r in mutate.failing(rs)] == ['huge-mutant', 'bad-mutant'],
    'failing: an unmarked untested and an error fail the run; a marked untested does not',
    [r.mutant.id for r in mutate.failing(rs)])
add(mutate.score(rs)[:2] == (1, 0), 'score: untested and error mutants are out of it',
    mutate.score(rs))

# --- the TAP report ---------------------------------------------------------------

known = mutant('known', ['test-basic'], survives='out of reach under TCG')
equiv = mutant('equiv', ['test-basic'], equivalent='no user can tell')
out = io.StringIO()
mutate.report_tap([R(known, 'survived'), R(dead, 'killed', 'test-badinput'),
                   R(equiv, 'equivalent', 'no user can tell'),
                   R(huge, 'untested', 'all skipped'), R(late, 'untested', 'x', marked='debug_skip'),
                   R(bad, 'error', 'insmod: Invalid module format')], out)
tap = out.getvalue().splitlines()
add(tap[1] == 'not ok 1 - known survived # TODO out of reach under TCG',
    'TAP: a known survivor is "not ok", its reason a TODO directive', tap[1])
add(tap[2] == 'ok 2 - dead-mutant killed (test-badinput)', 'TAP: a kill is ok', tap[2])
add(tap[3].startswith('ok 3 - equiv # SKIP equivalent'), 'TAP: an equivalent is a SKIP', tap[3])
add(tap[4].startswith('not ok 4 - huge-mutant untested'), 'TAP: an unmarked untested is not ok',
    tap[4])
add(tap[6].startswith('ok 5 - late-mutant # SKIP untested: debug_skip'),
    'TAP: a marked untested is a SKIP', tap[6])
add(tap[7].startswith('not ok 6 - bad-mutant error (insmod'), 'TAP: an error is not ok',
    '\n'.join(tap))

# --- interruption -------------------------------------------------------------------

DRIVER = r'''
import importlib.machinery, importlib.util, os, sys
loader = importlib.machinery.SourceFileLoader('mutate', sys.argv[1])
spec = importlib.util.spec_from_loader('mutate', loader)
mutate = importlib.util.module_from_spec(spec)
loader.exec_module(mutate)
tree = sys.argv[2]
mutate.catch_signals()
try:
    cmd = ['sh', '-c', 'sleep 300 & echo $! >%s/pid; wait' % tree]
    with mutate.mutated(tree, {'a.c': ('original\n', 'mutant\n')}):
        if sys.argv[3] == 'run_watched':
            mutate.run_watched(cmd, os.path.join(tree, 'progress'), 600, 600, poll=1)
        else:
            mutate.run_group(cmd)
except mutate.Interrupted as e:
    sys.exit(128 + e.signum)
'''


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


for sig, how in ((signal.SIGTERM, 'run_watched'), (signal.SIGINT, 'run_watched'),
                 (signal.SIGTERM, 'run_group')):
    with tempfile.TemporaryDirectory() as tree:
        a_c = os.path.join(tree, 'a.c')
        with open(a_c, 'w') as f:
            f.write('original\n')
        p = subprocess.Popen([sys.executable, '-c', DRIVER, MUTATE, tree, how])
        pidfile = os.path.join(tree, 'pid')
        for _ in range(100):
            if os.path.exists(pidfile) and open(pidfile).read().strip():
                break
            time.sleep(0.1)
        pid = int(open(pidfile).read())
        with open(a_c) as f:
            during = f.read()
        before = os.stat(a_c).st_mtime_ns
        time.sleep(0.05)
        p.send_signal(sig)
        rc = p.wait(30)
        for _ in range(50):
            if not alive(pid):
                break
            time.sleep(0.1)
        with open(a_c) as f:
            after = f.read()
        name = '%s during %s' % (signal.Signals(sig).name, how)
        add(during == 'mutant\n' and rc == 128 + sig, '%s: tools/mutate exits 128+%d' % (name, sig),
            'exit %s, file during the run: %r' % (rc, during))
        add(not alive(pid), '%s: the process group it started (a guest, meson test) is gone'
            % name, pid)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        add(after == 'original\n' and os.stat(a_c).st_mtime_ns >= before,
            '%s: the mutated file is restored, with a new mtime' % name, after)

with tempfile.TemporaryDirectory() as tmp:
    src, dst = os.path.join(tmp, 'src'), os.path.join(tmp, 'dst')
    os.makedirs(os.path.join(src, 'daemon'))
    os.makedirs(os.path.join(dst, 'daemon'))
    for d, text in ((src, 'pristine\n'), (dst, 'left mutated by a killed run\n')):
        with open(os.path.join(d, 'daemon', 'a.c'), 'w') as f:
            f.write(text)
        with open(os.path.join(d, 'daemon', 'same.c'), 'w') as f:
            f.write('same\n')
    old = 1000000000   # 2001: the checkout's files are older than any object
    for d in (src, dst):
        os.utime(os.path.join(d, 'daemon', 'a.c'), (old, old))
        os.utime(os.path.join(d, 'daemon', 'same.c'), (old, old))
    mutate.copy_tree(dst, src)
    st = os.stat(os.path.join(dst, 'daemon', 'a.c'))
    add(open(os.path.join(dst, 'daemon', 'a.c')).read() == 'pristine\n'
        and st.st_mtime > time.time() - 600,
        'copy_tree: a file that differs is copied with a new mtime, not the checkout\'s',
        st.st_mtime)
    add(os.stat(os.path.join(dst, 'daemon', 'same.c')).st_mtime == old,
        'copy_tree: a file that is the same is left alone')

# --- kernels --------------------------------------------------------------------------

skip = mutate.debug_skip(SRC)
add('test-badblocks' in skip and 'test-broker' in skip and 'test-edges' not in skip,
    "debug_skip: tests/meson.build's list", skip)
with tempfile.TemporaryDirectory() as tmp:
    kdir = os.path.join(tmp, 'kernel')
    os.makedirs(os.path.join(kdir, 'include', 'generated'))
    with open(os.path.join(kdir, 'include', 'generated', 'utsrelease.h'), 'w') as f:
        f.write('#define UTS_RELEASE "9.9.9-nowhere"\n')
    add(mutate.uts_release(kdir) == '9.9.9-nowhere', 'uts_release: the release of a kernel tree')
    try:
        mutate.guest_kernel(tmp, '', {'kernel_dir': kdir})
        add(False, 'a kernel tools/vm cannot boot is refused', 'accepted')
    except mutate.Aborted as e:
        add('9.9.9-nowhere' in str(e) and 'cannot boot' in str(e),
            'a kernel tree whose kernel tools/vm cannot boot is refused', str(e))

print('1..%d' % len(results))
for i, (ok, name, detail) in enumerate(results, 1):
    print('%sok %d - %s' % ('' if ok else 'not ', i, name))
    if not ok:
        for line in str(detail).splitlines():
            print('# ' + line)
sys.exit(0 if all(r[0] for r in results) else 1)
