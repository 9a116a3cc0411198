#!/usr/bin/env python3
"""test-dmvm.py - host tests of the VM harness's logic (tools/dmvm.py) and
of the bash TAP library (tests/lib/tap.sh), fed crafted TAP streams,
kernel logs, kmemleak reports, console logs and fake test programs. TAP;
run by meson (suite host) as `python3 test-dmvm.py SOURCE_ROOT`."""

import io
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(os.path.dirname(__file__), '..', '..'))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(SRC, 'tools'))
import dmvm  # noqa: E402

n = 0
failed = 0


def ok(cond, desc, got=None):
    global n, failed
    n += 1
    print(f'{"ok" if cond else "not ok"} {n} - {desc}')
    if not cond:
        failed += 1
        if got is not None:
            for line in str(got).splitlines():
                print(f'# {line}')


def merged(programs, timeout=600):
    """Feed Merger programs given as (name, [lines], rc, elapsed)."""
    out = io.StringIO()
    m = dmvm.Merger(out)
    for name, lines, rc, elapsed in programs:
        m.start(name)
        for line in lines:
            m.line(line)
        m.finish(rc, elapsed, timeout)
    status = m.done()
    return out.getvalue().splitlines(), status


# ---- merging --------------------------------------------------------------

lines, st = merged([('test-a', ['TAP version 13', '1..2', 'ok 1 - first', 'ok 2 second\r'], 0, 3),
                    ('test-b', ['1..1', '# a comment', 'not ok 1 - broken # TODO later'], 0, 1)])
ok(lines == ['ok 1 - test-a: first', 'ok 2 - test-a: second', '# test-a: exit status 0 after 3 s',
             '# a comment', 'not ok 3 - test-b: broken # TODO later',
             '# test-b: exit status 0 after 1 s', '1..3'] and st == 0,
   'results renumbered across programs, prefixed, a TODO failure does not count', lines)

lines, _ = merged([('test-a', ['1..3', 'ok', 'ok 7', 'not ok 9 # SKIP why'], 0, 0)])
ok(lines[:3] == ['ok 1 - test-a: test 1', 'ok 2 - test-a: test 7',
                 'not ok 3 - test-a: test 9 # SKIP why'],
   'a result without a description is named by its number', lines)

lines, st = merged([('test-crash', ['1..4', 'ok 1 - a', 'ok 2 - b'], 139, 2)])
ok(lines[2:4] == ['not ok 3 - test-crash: killed by signal SIGSEGV (status 139)',
                  'not ok 4 - test-crash: planned 4 results but printed 2'] and st == 1,
   'a crashed program: a failure for the signal and one for the count', lines)

lines, _ = merged([('test-slow', ['1..1'], 124, 600)])
ok(lines[0] == 'not ok 1 - test-slow: timed out after 600 s', 'exit 124 is a timeout', lines)
lines, _ = merged([('test-slow', ['1..0'], 137, 610)])
ok(lines[0] == 'not ok 1 - test-slow: timed out after 600 s' and len(lines) == 3,
   'SIGKILL after the limit is a timeout, and no SKIP for its 1..0', lines)

lines, st = merged([('test-noplan', ['ok 1 - a'], 0, 0)])
ok(lines[1] == 'not ok 2 - test-noplan: no TAP plan (1..N) printed, 1 results' and st == 1,
   'a missing plan is a failure', lines)

lines, _ = merged([('test-late', ['ok 1 - a', 'ok 2 - b', '1..2'], 0, 0)])
ok(lines == ['ok 1 - test-late: a', 'ok 2 - test-late: b', '# test-late: exit status 0 after 0 s', '1..2'],
   'a plan after the results (tap_done) is a plan', lines)

lines, st = merged([('test-bail', ['1..5', 'ok 1 - a', 'Bail out! no device'], 1, 0)])
ok(lines == ['ok 1 - test-bail: a', 'not ok 2 - test-bail: Bail out! no device',
             'not ok 3 - test-bail: exited with status 1', '1..3'] and st == 1,
   'bail out: a failure, the exit status, no count check, no exit comment', lines)

lines, st = merged([('test-skip', ['1..0 # SKIP no module here'], 0, 0),
                    ('test-77', ['some noise'], 77, 0)])
ok(lines == ['ok 1 - test-skip # SKIP no module here', '# test-skip: exit status 0 after 0 s',
             '# test-77: some noise', 'ok 2 - test-77 # SKIP exit status 77', '1..2'] and st == 0,
   'a 1..0 plan with SKIP and exit status 77 are one skip each', lines)

lines, _ = merged([('test-odd', ['1..1', '1..2', 'ok 1 - a', '  ---', '', 'pragma +strict'], 0, 0)])
ok(lines[:3] == ['# test-odd: second plan line ignored: 1..2', 'ok 1 - test-odd: a', '# test-odd:   ---'],
   'a second plan and stray output become comments', lines)

ok(dmvm.describe_exit(3, 1, 600) == 'exited with status 3' and dmvm.signal_name(9) == 'KILL'
   and dmvm.signal_name(35).startswith('RTMIN+'), 'exit statuses and signal names as bash says them')

# ---- kernel log, kmemleak, lockdep ---------------------------------------

dmesg = '\n'.join(['WARNING: at boot, not ours', dmvm.KMSG_MARK, 'daxmirror: loaded',
                   'dmvm: start test-oops', 'BUG: KASAN: use-after-free in dxm_x+0x1/0x2 [daxmirror]',
                   'Call Trace:', 'ordinary line'])
ok(dmvm.splats(dmesg) == ['BUG: KASAN: use-after-free in dxm_x+0x1/0x2 [daxmirror]', 'Call Trace:'],
   'splats: only after the mark, never our own dmvm: lines', dmvm.splats(dmesg))
ok(dmvm.splats('UBSAN: shift-out-of-bounds\nfine') == ['UBSAN: shift-out-of-bounds'],
   'splats: the whole log when there is no mark')

dmar = '\n'.join(['DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr 0x1000 at boot',
                  dmvm.KMSG_MARK, 'DMAR: Intel(R) Virtualization Technology for Directed I/O',
                  'dmvm: start test-dma-stale', 'DMAR: DRHD: handling fault status reg 2',
                  'DMAR: [DMA Write NO_PASID] Request device [00:01.0] fault addr 0xffffe000 '
                  '[fault reason 0x05] PTE Write access is not set',
                  'DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr 0xfffff000 '
                  '[fault reason 0x06] PTE Read access is not set',
                  'WARNING: CPU: 1 PID: 9 at x'])
ok(dmvm.dmar_faults(dmar) == dmar.split('\n')[4:7],
   'DMAR faults: the DRHD line and DMA Read/Write faults after the mark, not DMAR chatter',
   dmvm.dmar_faults(dmar))
ok(dmvm.splats(dmar) == ['WARNING: CPU: 1 PID: 9 at x']
   and dmvm.splats(dmar, dma=True) == dmar.split('\n')[4:8],
   'splats: DMAR faults only with dma, in log order', dmvm.splats(dmar, dma=True))

mods = 'ext4 1 0 - Live 0xffffffffc0100000\ndaxmirror 4096 0 - Live 0xffffffffc0a00000 (O)\n'
rng = dmvm.module_range(mods)
ok(rng == ('ffffffffc0a00000', 'ffffffffc0a01000'), 'module range from /proc/modules', rng)
report = '\n'.join([
    'unreferenced object 0xffff888001 (size 64):', '  backtrace:',
    '    [<ffffffff81000000>] kmalloc_trace+0x1/0x2', '    [<ffffffff81000001>] ext4_x+0x1/0x2',
    'unreferenced object 0xffff888002 (size 128):', '  backtrace:',
    '    [<ffffffffc0a00010>] dxm_session_new+0x1/0x2 [daxmirror]',
    'unreferenced object 0xffff888003 (size 32):', '  backtrace:',
    '    [<ffffffffc0a00800>] 0xffffffffc0a00800'])
leaks = dmvm.module_leaks(report, 'daxmirror', rng)
ok(dmvm.count_objects(leaks) == 2 and leaks[0].startswith('unreferenced object 0xffff888002'),
   'kmemleak: records with a [daxmirror] frame or an address in its range', leaks)
ok(dmvm.module_leaks(report, 'daxmirror', None) == leaks[:3],
   'kmemleak: without a range only named frames count')
ok(dmvm.debug_locks(' chain lookup misses:   1\n debug_locks:                  0\n') == '0'
   and dmvm.debug_locks('nothing') == '', "lockdep: debug_locks' value")

# ---- the runner, end to end with fake programs and a fake kernel ---------


class FakeGuest(dmvm.Guest):
    def __init__(self, root, dmesg_text, rmmod_rc=0):
        super().__init__(root=root, kmsg=os.path.join(root, 'kmsg'), sleep=lambda s: None,
                         kmemleak_wait=0)
        self.dmesg_text = dmesg_text
        self.rmmod_rc = rmmod_rc
        self.rmmods = 0

    def dmesg(self):
        return self.dmesg_text

    def rmmod(self):
        self.rmmods += 1
        if self.rmmod_rc == 0:
            shutil.rmtree(self.path('/sys/module/daxmirror'))
        return self.rmmod_rc, 'rmmod: ERROR: Module daxmirror is in use'


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    os.chmod(path, mode)


with tempfile.TemporaryDirectory() as tmp:
    tests = os.path.join(tmp, 'tests')
    root = os.path.join(tmp, 'root')
    write(f'{tests}/test-a', '#!/bin/sh\necho 1..2\necho "ok 1 - one"\necho oops >&2\necho "ok 2 - two"\n', 0o755)
    write(f'{tests}/test-b', '#!/bin/sh\necho 1..3\necho "ok 1 - x"\nkill -SEGV $$\n', 0o755)
    write(f'{tests}/test-c.p/x', '')
    write(f'{tests}/test-d', 'not executable')
    write(f'{tests}/helper', '#!/bin/sh\nexit 1\n', 0o755)
    write(f'{root}/sys/module/daxmirror/refcnt', '0\n')
    write(f'{root}/proc/lockdep_stats', ' debug_locks: 1\n')
    write(f'{root}/proc/modules', mods)
    write(f'{root}/sys/kernel/debug/kmemleak', '')
    guest = FakeGuest(root, dmvm.KMSG_MARK + '\nall quiet\n')
    out = io.StringIO()
    st = dmvm.run_suite(tests, out, guest, timeout=30)
    got = out.getvalue().splitlines()
    want = ['ok 1 - test-a: one', '# test-a: stderr: oops', 'ok 2 - test-a: two',
            'ok 3 - test-b: x', 'not ok 4 - test-b: killed by signal SIGSEGV (status 139)',
            'not ok 5 - test-b: planned 3 results but printed 1',
            'ok 6 - kmemleak after the suite: no leak with a daxmirror frame (0 suspects in all)',
            'ok 7 - rmmod daxmirror',
            'ok 8 - kmemleak after rmmod daxmirror: no leak with a daxmirror frame (0 suspects in all)',
            'ok 9 - lockdep was on for the whole run (debug_locks 1)', 'ok 10 - dmesg clean', '1..10']
    # (stdout and stderr are two pipes: their lines may interleave either way)
    ok([line for line in got if not line.startswith('# test-')] == [w for w in want if 'stderr' not in w]
       and '# test-a: stderr: oops' in got and st == 1,
       'run: programs in name order, stderr as comments, a crash, then the whole-run checks', got)
    with open(os.path.join(root, 'kmsg'), encoding='utf-8') as f:
        marks = f.read()
    ok('dmvm: start test-a\n' in marks and 'dmvm: end test-b, status 139,' in marks,
       'run: start and end markers in the kernel log', marks)

    # --skip: a skipped program is one SKIP result and is not started.
    write(f'{root}/sys/module/daxmirror/refcnt', '0\n')
    guest = FakeGuest(root, dmvm.KMSG_MARK + '\nall quiet\n')
    out = io.StringIO()
    st = dmvm.run_suite(tests, out, guest, timeout=30, skip={'test-b'})
    got = [line for line in out.getvalue().splitlines() if not line.startswith('#')]
    with open(os.path.join(root, 'kmsg'), encoding='utf-8') as f:
        marks = f.read()
    ok(got[:3] == ['ok 1 - test-a: one', 'ok 2 - test-a: two',
                   'ok 3 - test-b # SKIP not run on this kernel (tools/vm --skip)']
       and st == 0 and marks.count('dmvm: start test-b') == 1,
       'run: --skip names a program: one SKIP result, not run, exit 0', got)

    write(f'{root}/proc/lockdep_stats', ' debug_locks: 0\n')
    write(f'{root}/sys/module/daxmirror/refcnt', '0\n')
    os.remove(f'{root}/sys/kernel/debug/kmemleak')
    guest = FakeGuest(root, dmvm.KMSG_MARK + '\nWARNING: CPU: 0 PID: 1 at x\n', rmmod_rc=1)
    out = io.StringIO()
    empty = os.path.join(tmp, 'empty')
    os.mkdir(empty)
    st = dmvm.run_suite(empty, out, guest, timeout=30)
    got = out.getvalue().splitlines()
    ok(got[0] == f'not ok 1 - no executable test-* in {empty}' and got[1] == 'not ok 2 - rmmod daxmirror'
       and '# rmmod: ERROR: Module daxmirror is in use' in got and '# refcnt: 0' in got
       and guest.rmmods == 20 and st == 1,
       'run: no programs; a module that will not unload (20 tries)', got)
    ok('not ok 3 - lockdep was on for the whole run (debug_locks 0: switched off by a report, see the console log)' in got
       and 'not ok 4 - dmesg clean' in got and '# WARNING: CPU: 0 PID: 1 at x' in got and got[-1] == '1..4',
       'run: lockdep switched off, a WARNING in the kernel log', got)

    # tools/vm --dma: "no DMAR fault in the kernel log", its own result
    # after "dmesg clean"; fails on a fault line since the mark, which
    # "dmesg clean" alone does not count.
    write(f'{root}/proc/lockdep_stats', ' debug_locks: 1\n')
    write(f'{root}/sys/module/daxmirror/refcnt', '0\n')
    guest = FakeGuest(root, dmar)
    out = io.StringIO()
    st = dmvm.run_suite(empty, out, guest, timeout=30, dma=True)
    got = out.getvalue().splitlines()
    dmesg_clean = got[got.index('not ok 4 - dmesg clean'):got.index(
        'not ok 5 - no DMAR fault in the kernel log (3 lines)')]
    ok(dmesg_clean == ['not ok 4 - dmesg clean', '# WARNING: CPU: 1 PID: 9 at x',
                       '# (the whole kernel log is in the console log)']
       and '# DMAR: DRHD: handling fault status reg 2' in got
       and '# DMAR: [DMA Write NO_PASID] Request device [00:01.0] fault addr 0xffffe000 '
           '[fault reason 0x05] PTE Write access is not set' in got
       and not any('at boot' in line for line in got) and got[-1] == '1..5' and st == 1,
       'run --dma: a DMAR fault line fails "no DMAR fault in the kernel log"', got)
    write(f'{root}/sys/module/daxmirror/refcnt', '0\n')
    # The same log without the lines after "dmvm: start test-dma-stale".
    guest = FakeGuest(root, '\n'.join(dmar.split('\n')[:4]))
    out = io.StringIO()
    clean_tests = os.path.join(tmp, 'clean')
    write(f'{clean_tests}/test-x', '#!/bin/sh\necho 1..1\necho "ok 1 edu visible"\n', 0o755)
    st = dmvm.run_suite(clean_tests, out, guest, timeout=30, dma=True)
    got = [line for line in out.getvalue().splitlines() if not line.startswith('#')]
    ok(got == ['ok 1 - test-x: edu visible', 'ok 2 - rmmod daxmirror',
               'ok 3 - lockdep was on for the whole run (debug_locks 1)', 'ok 4 - dmesg clean',
               'ok 5 - no DMAR fault in the kernel log', '1..5'] and st == 0,
       'run --dma: without a fault line (a fault before the mark does not count) it passes', got)
    write(f'{root}/sys/module/daxmirror/refcnt', '0\n')
    out = io.StringIO()
    st = dmvm.run_suite(clean_tests, out, FakeGuest(root, dmar), timeout=30)
    ok('no DMAR fault' not in out.getvalue() and 'not ok 4 - dmesg clean' in out.getvalue(),
       'run without --dma: no DMAR result (the WARNING still fails dmesg clean)', out.getvalue())
    write(f'{root}/sys/module/daxmirror/refcnt', '0\n')

    shutil.rmtree(f'{root}/sys/module/daxmirror')
    out = io.StringIO()
    dmvm.run_suite(empty, out, FakeGuest(root, ''), timeout=30, module_file='/x/daxmirror.ko')
    ok('ok 2 - rmmod daxmirror # SKIP not loaded any more (a test unloaded it)' in out.getvalue(),
       'run: a module a test unloaded is a SKIP', out.getvalue())

    # ---- the host's side -------------------------------------------------
    vm = os.path.join(tmp, 'vm')
    os.mkdir(vm)
    counts = os.path.join(vm, 'tap.counts')
    out = io.StringIO()
    dmvm.filter_tap(io.StringIO('ok 1 - a\r\nnot ok 2 - b # TODO x\nnot ok 3 - c\n# note\n1..3\n'), out, counts)
    ok(out.getvalue() == 'ok 1 - a\nnot ok 2 - b # TODO x\nnot ok 3 - c\n# note\n'
       and open(counts).read() == '3 1 3\n', 'filter: the plan held back, results and failures counted',
       out.getvalue() + open(counts).read())

    write(f'{vm}/status', 'exit 1\n')
    write(f'{vm}/console.log', '[    1.0] booting\r\n[    2.0] dmvm: start test-a\n')
    out = io.StringIO()
    st = dmvm.verdict(vm, counts, 0, '1500', '42', out)
    ok(out.getvalue().splitlines() == [f'# guest ran 42 s (qemu start to exit); console log: {vm}/console.log', '1..3']
       and st == 1, 'verdict: a clean guest run adds the plan only', out.getvalue())

    write(counts, '2 0 3\n')
    write(f'{vm}/status', 'exit 0\n')
    out = io.StringIO()
    st = dmvm.verdict(vm, counts, 0, '1500', '1', out)
    ok(out.getvalue().startswith('not ok 3 - guest: the test runner planned 3 results but 2 arrived\n# console log')
       and out.getvalue().endswith('1..3\n') and st == 1, 'verdict: a wrong count is a result about the guest',
       out.getvalue())

    write(counts, '2 0 \n')
    out = io.StringIO()
    dmvm.verdict(vm, counts, 0, '1500', '1', out)
    ok("not ok 3 - guest: the test runner's TAP stream ended without a plan" in out.getvalue(),
       'verdict: a missing plan', out.getvalue())

    panic_log = ['[    1.0] boot'] * 60 + [
        '[    9.0] dmvm: start test-mm', '[    9.5] BUG: kernel NULL pointer dereference, address: 0\r',
        '[    9.6] Kernel panic - not syncing: Fatal exception\r'] + ['[   10.0] stack'] * 50
    write(f'{vm}/console.log', '\n'.join(panic_log) + '\n')
    write(f'{vm}/status', '')
    p = dmvm.guest_problem(vm, 0, '1500')
    ok(p == 'kernel panic while test-mm ran: Fatal exception (first sign: BUG: kernel NULL pointer dereference, address: 0)',
       'problem: a panic, the program that ran, the first sign', p)
    write(f'{vm}/console.log', '\n'.join(panic_log[:62]) + '\n[   10.0] dmvm: end test-mm, status 0, 1 s\n' + '[   11.0] more\n' * 50)
    p = dmvm.guest_problem(vm, 124, '1500')
    ok(p == 'no power-off within 1500 s (hang?), qemu killed (kernel said: BUG: kernel NULL pointer dereference, address: 0)',
       'problem: a hang, qemu killed by the timeout', p)
    write(f'{vm}/qemu.log', 'qemu: could not load kernel\n')
    ok(dmvm.guest_problem(vm, 1, '1500') == 'qemu failed with status 1: qemu: could not load kernel',
       "problem: qemu's own failure")
    write(f'{vm}/status', 'setup insmod failed\n')
    ok(dmvm.guest_problem(vm, 0, '1500') == 'setup failed: insmod failed', 'problem: a setup failure')
    write(f'{vm}/status', 'powercut\n')
    ok(dmvm.guest_problem(vm, 85, '1500') == '', 'problem: a power cut by the job is none')
    write(f'{vm}/status', 'exit 0\n')
    ok(dmvm.guest_problem(vm, 0, '1500') == '', 'problem: a guest that reported its exit is none')

    # boot-failure: a splat before the suite's kernel-log mark, no end
    # reported (tools/vm boots again); not once the mark or an end is there.
    boot_log = ['[    1.0] Linux version 6.1', '[    6.8] BUG: KASAN: wild-memory-access in do_raw_spin_lock+0x11a/0x270\r',
                '[    6.9] Call Trace:', '[   86.0] dmvm-init: root ready']
    write(f'{vm}/console.log', '\n'.join(boot_log) + '\n')
    write(f'{vm}/status', '')
    ok(dmvm.boot_failure(vm) == 'BUG: KASAN: wild-memory-access in do_raw_spin_lock+0x11a/0x270',
       'boot-failure: a splat before the mark, nothing reported', dmvm.boot_failure(vm))
    write(f'{vm}/console.log', '\n'.join(boot_log) + f'\n[   90.0] {dmvm.KMSG_MARK}\n')
    ok(dmvm.boot_failure(vm) == '', 'boot-failure: none once the suite marked the kernel log')
    write(f'{vm}/console.log', '\n'.join(boot_log[:1] + boot_log[3:]) + '\n')
    ok(dmvm.boot_failure(vm) == '', 'boot-failure: none without a splat')
    write(f'{vm}/console.log', '\n'.join(boot_log[:1]) + '\n[   20.0] daxmirror: ABI 1 ready\n' +
          '\n'.join(boot_log[1:]) + '\n')
    ok(dmvm.boot_failure(vm) == '', 'boot-failure: none once the module has spoken (systemd guest)')
    write(f'{vm}/console.log', '\n'.join(boot_log[:3]) + '\n[    7.0] Modules linked in: daxmirror(OE) xfs\n')
    ok(dmvm.boot_failure(vm) == '', 'boot-failure: none when the oops lists the module')
    write(f'{vm}/console.log', '\n'.join(boot_log) + '\n')
    write(f'{vm}/status', 'exit 0\n')
    ok(dmvm.boot_failure(vm) == '', 'boot-failure: none when the guest reported its end')

    write(f'{vm}/console.log', '\n'.join(panic_log[:62]) + '\n[   10.0] dmvm: end test-mm, status 0, 1 s\n' + '[   11.0] more\n' * 50)
    tail = dmvm.console_tail(vm, '# ')
    ok(tail[0] == '# first kernel splat (console log lines 62-86):' and
       tail[1] == '#   [    9.5] BUG: kernel NULL pointer dereference, address: 0' and
       f'# console log (last 40 lines of {vm}/console.log):' in tail and
       tail[-2:] == ['# qemu said:', '#   qemu: could not load kernel'],
       'console tail: the first splat, the last 40 lines, qemu', tail)

    write(f'{tmp}/b/meson-info/meson-info.json', '{"directories": {"source": "/src/x"}}')
    ok(dmvm.meson_source(f'{tmp}/b') == '/src/x' and dmvm.meson_source(tmp) == '',
       "meson-source: the build directory's source tree")
ok(dmvm.nvdimm_namespace('[{"dev":"namespace0.0","mode":"raw","blockdev":"pmem0"}]') == 'namespace0.0 raw pmem0'
   and dmvm.nvdimm_namespace('{"dev":"namespace1.0"}') is None, "nvdimm-namespace: ndctl's JSON")

# ---- tests/lib/tap.sh -----------------------------------------------------

TAP_SH = os.path.join(SRC, 'tests', 'lib', 'tap.sh')


def bash(script):
    r = subprocess.run(['bash', '-c', f'set -u\nsource "{TAP_SH}"\n{script}', 'tap-test'],
                       capture_output=True, text=True, check=False)
    return r.stdout.splitlines(), r.returncode


got, rc = bash('tap_plan 4\nok a\nnot_ok b\nskip c "no disk"\ncheck "d" false\n'
               'diag "x y"\nprintf "l1\\nl2\\n" | diag\ntap_done')
ok(got == ['1..4', 'ok 1 - a', 'not ok 2 - b', 'ok 3 - c # SKIP no disk', 'not ok 4 - d',
           '# x y', '# l1', '# l2'] and rc == 1, 'tap.sh: plan, results, skip, check, diag, status', got)
got, rc = bash('ok a\ntap_result 0 b\ntap_done')
ok(got == ['ok 1 - a', 'ok 2 - b', '1..2'] and rc == 0, 'tap.sh: the plan after the results', got)
got, rc = bash('hook() { echo "# hook ran"; }\nTAP_BAIL_HOOK=hook\n'
               'trap \'tap_unfinished $? || echo "# finished"\' EXIT\ntap_plan 3\nok a\nbail "no bus"')
ok(got == ['1..3', 'ok 1 - a', 'Bail out! no bus', '# hook ran', '# finished'] and rc == 1,
   'tap.sh: bail out runs the hook, owes nothing', got)
got, rc = bash("trap 'tap_unfinished $?' EXIT\ntap_plan 3\nok a\nexit 3")
ok(got == ['1..3', 'ok 1 - a', '# tap-test stopped after 1 of 3 results (status 3)',
           'not ok 2 - not reached', 'not ok 3 - not reached'] and rc == 3,
   'tap.sh: a script dying half way fails what it owes', got)
got, rc = bash('tap_skip_all "not here"\nok never')
ok(got == ['1..0 # SKIP not here'] and rc == 0, 'tap.sh: skip all', got)

print(f'1..{n}')
sys.exit(1 if failed else 0)
