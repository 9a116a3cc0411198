#!/usr/bin/env python3
"""dmvm.py - the logic of daxmirror's VM harness that is more than gluing
commands together; tools/vm (on the host) and tools/guest/* (in the guest,
which sees this tree at the same path and the host's /usr/bin/python3)
call it. Tested on the host by tests/host/test-dmvm.py.

In the guest:
  run TESTDIR     the test runner: every executable TESTDIR/test-* in name
                  order under `timeout`, their TAP merged into one stream
                  (renumbered, descriptions prefixed with the program's
                  name, a "not ok" for a crash, a timeout, a bail out or a
                  wrong count), then kmemleak (debug kernel), "rmmod
                  daxmirror", lockdep's debug_locks and "dmesg clean"
                  (with DAXMIRROR_DMA=1, tools/vm --dma: also "no DMAR
                  fault in the kernel log"), and the plan last; exit 0
                  iff every result is ok
  mark            write the mark the splat check starts from into the
                  kernel log (after boot, before the module is loaded)
  splats          the kernel log's splat lines since the mark (and its
                  DMAR fault lines with DAXMIRROR_DMA=1)
On the host:
  filter COUNTS   pass the guest's TAP through, hold its plan back; add
                  the count of results and failures to COUNTS
  verdict ...     the end of `tools/vm test`: a result about the guest
                  itself when it failed (panic, hang, no plan, wrong
                  count), the console's tail, the plan; exit status
  problem ...     why the guest did not report a result (empty if it did)
  console-tail    the console log's end (and the first splat)
  meson-source B  the source directory of the meson build directory B
  nvdimm-namespace  "NAMESPACE MODE BLOCKDEV" from `ndctl list` on stdin
"""

import argparse
import os
import re
import selectors
import signal
import subprocess
import sys
import time

MODULE = 'daxmirror'

# The kernel log is checked for splats from this line on: what the kernel
# said while booting and making file systems is not the module's doing.
KMSG_MARK = 'dmvm: kernel log checked from here'

# What counts as a kernel splat in "dmesg clean": oopses and WARNs, and
# what the debug kernel's checkers print (tools/guest-kernel --flavour
# debug): KASAN/KFENCE/sleeping-in-atomic/soft lockup ("BUG: ..."),
# lockdep and DEBUG_OBJECTS ("WARNING: ..."), UBSAN, DEBUG_VM's page
# dumps, the hung task and RCU stall detectors.
SPLAT_RE = re.compile(r'BUG:|WARNING:|Oops|general protection|Call Trace|UBSAN|KASAN|'
                      r'KFENCE|page dumped because|INFO: task .* blocked|'
                      r'self-detected stall|stalls on CPUs|ODEBUG|DEBUG_LOCKS_WARN')

# tools/vm --dma: the Intel IOMMU's report of a DMA it refused (a stale or
# never mapped IOVA, a write to a read-only mapping), e.g.
#   DMAR: DRHD: handling fault status reg 2
#   DMAR: [DMA Write NO_PASID] Request device [00:01.0] fault addr 0xffffe000
#   [fault reason 0x05] PTE Write access is not set
DMAR_FAULT_RE = re.compile(r'DMAR: \[DMA (Read|Write)|DRHD: handling fault')

# The host's view of a failed guest: the first sign of trouble in the
# console log, and what starts a splat worth showing.
FIRST_SIGN_RE = re.compile(r'BUG:|Oops|general protection|INFO: task .* blocked')
SPLAT_START_RE = re.compile(r'BUG:|WARNING:|Oops|general protection|INFO: task .* blocked|Kernel panic')
PANIC = 'Kernel panic - not syncing'

# qemu's exit status when tools/guest/power-cut writes 42 to isa-debug-exit.
POWER_CUT_QEMU_STATUS = 85


def lines_of(text):
    """Lines as `while read` sees them: a last line without newline too."""
    return text.splitlines()


# ---- TAP merging (pure: no processes) ------------------------------------

TAP_RESULT = re.compile(r'(not ok|ok)(?:\s+(.*))?')
TAP_PLAN = re.compile(r'1\.\.([0-9]+)\s*(?:#\s*(.*))?')


def is_failure(status, desc):
    """A "not ok" counts unless it has a TODO directive."""
    return status == 'not ok' and not re.search(r'#\s*todo', desc.lower())


def describe_exit(rc, elapsed, timeout):
    """Why a program with exit status @rc failed; '' if it did not."""
    if rc == 0:
        return ''
    if rc == 124 or (rc == 137 and elapsed >= timeout):
        return f'timed out after {timeout} s'
    if 128 < rc <= 128 + 64:
        return f'killed by signal SIG{signal_name(rc - 128)} (status {rc})'
    return f'exited with status {rc}'


def signal_name(num):
    """bash's `kill -l NUM`: HUP, SEGV, RTMIN+3, RTMAX-2..."""
    try:
        return signal.Signals(num).name[3:]
    except ValueError:
        lo, hi = signal.SIGRTMIN, signal.SIGRTMAX
        if lo < num <= (lo + hi) // 2:
            return f'RTMIN+{num - lo}'
        if (lo + hi) // 2 < num < hi:
            return f'RTMAX-{hi - num}'
        return str(num)


class Merger:
    """One TAP stream out of many programs' streams, written to @out."""

    def __init__(self, out):
        self.out = out
        self.n = 0
        self.failed = 0
        self.start('')

    def emit(self, line):
        self.out.write(line + '\n')
        self.out.flush()

    def result(self, status, desc):
        self.n += 1
        self.emit(f'{status} {self.n} - {desc}')
        if is_failure(status, desc):
            self.failed += 1

    def comment(self, text):
        for line in lines_of(text) or ['']:
            self.emit(f'# {line}')

    def start(self, name):
        """A new program's stream begins."""
        self.prog = name
        self.plan = None
        self.plan_note = ''
        self.results = 0
        self.bailed = False

    def line(self, line):
        """One line of the current program's stdout."""
        line = line.rstrip('\n')
        if line.endswith('\r'):
            line = line[:-1]
        m = TAP_RESULT.fullmatch(line)
        if m:
            status, rest = m.group(1), m.group(2) or ''
            self.results += 1
            num = str(self.results)
            d = re.match(r'([0-9]+)(.*)', rest)
            if d:
                num, rest = d.group(1), d.group(2)
            # Drop the " - " separator; keep a "# SKIP/TODO" directive.
            rest = re.match(r'\s*-?\s*(.*)', rest).group(1)
            if not rest or rest.startswith('#'):
                rest = f'test {num}' + (f' {rest}' if rest else '')
            self.result(status, f'{self.prog}: {rest}')
            return
        m = TAP_PLAN.fullmatch(line)
        if m:
            if self.plan is not None:
                self.emit(f'# {self.prog}: second plan line ignored: {line}')
            else:
                self.plan = int(m.group(1))
                self.plan_note = m.group(2) or ''
            return
        if line.startswith('Bail out!'):
            self.result('not ok', f'{self.prog}: {line}')
            self.bailed = True
        elif line.startswith('#'):
            self.emit(line)
        elif re.match(r'TAP version|pragma ', line) or not line.strip():
            pass
        else:
            # Subtests, YAML blocks, stray output: kept, as comments.
            self.emit(f'# {self.prog}: {line}')

    def finish(self, rc, elapsed, timeout):
        """The current program exited with @rc after @elapsed seconds."""
        prog = self.prog
        if rc == 77 and self.results == 0 and not self.bailed:
            self.result('ok', f'{prog} # SKIP exit status 77')
            return
        why = describe_exit(rc, elapsed, timeout)
        if why:
            self.result('not ok', f'{prog}: {why}')
        if self.bailed:
            return
        if self.plan is None:
            self.result('not ok', f'{prog}: no TAP plan (1..N) printed, {self.results} results')
        elif self.plan == 0 and self.results == 0:
            if not why:
                note = re.sub(r'^[Ss][Kk][Ii][Pp]', '', self.plan_note).lstrip()
                self.result('ok', f'{prog} # SKIP {note}')
        elif self.results != self.plan:
            self.result('not ok', f'{prog}: planned {self.plan} results but printed {self.results}')
        self.emit(f'# {prog}: exit status {rc} after {elapsed} s')

    def done(self):
        """The plan, last; the exit status of the whole run."""
        self.emit(f'1..{self.n}')
        return 0 if self.failed == 0 else 1


# ---- kernel log, kmemleak, lockdep (pure) --------------------------------

def kmsg_since_mark(dmesg_text, *patterns):
    """The lines after the last KMSG_MARK (all if none) matching one of
    @patterns; our own "dmvm:" lines never count (a test may be named
    test-oops)."""
    hits = []
    for line in lines_of(dmesg_text):
        if KMSG_MARK in line:
            hits = []
        elif not line.startswith('dmvm: ') and any(p.search(line) for p in patterns):
            hits.append(line)
    return hits


def splats(dmesg_text, dma=False):
    """The kernel's splat lines since the mark (SPLAT_RE); with @dma
    (tools/vm --dma) its DMAR fault lines too."""
    return kmsg_since_mark(dmesg_text, SPLAT_RE, *([DMAR_FAULT_RE] if dma else []))


def dmar_faults(dmesg_text):
    """The lines since the mark where the IOMMU reports a DMA it refused
    (DMAR_FAULT_RE)."""
    return kmsg_since_mark(dmesg_text, DMAR_FAULT_RE)


def module_range(proc_modules, name=MODULE):
    """The module's text range from /proc/modules, as two 16-digit hex
    strings, or None."""
    found = None
    for line in lines_of(proc_modules):
        f = line.split()
        if len(f) >= 6 and f[0] == name and f[5].startswith('0x'):
            base = int(f[5], 16)
            found = (f'{base:016x}', f'{base + int(f[1]):016x}')
    return found


def module_leaks(report, name=MODULE, text_range=None):
    """The records of a kmemleak report with a frame in the module: named
    "[name]", or a bare address in @text_range (after rmmod kmemleak
    prints the module's frames as addresses)."""
    records, rec = [], []
    for line in lines_of(report):
        if line.startswith('unreferenced object') and rec:
            records.append(rec)
            rec = []
        rec.append(line)
    if rec:
        records.append(rec)
    out = []
    for rec in records:
        hit = False
        for line in rec:
            if f'[{name}]' in line:
                hit = True
            m = re.search(r'\[<([0-9a-f]+)>\]', line)
            if text_range and m:
                addr = m.group(1).rjust(16, '0')
                if text_range[0] <= addr < text_range[1]:
                    hit = True
        if hit:
            out.extend(rec)
    return out


def count_objects(lines):
    return sum(1 for line in lines if line.startswith('unreferenced object'))


def debug_locks(lockdep_stats):
    """debug_locks' value in /proc/lockdep_stats, or ''."""
    for line in lines_of(lockdep_stats):
        if 'debug_locks:' in line:
            f = line.split()
            return f[1] if len(f) > 1 else ''
    return ''


# ---- the guest's side: processes and files -------------------------------

class Guest:
    """What the runner reads and does in the guest; tests point it at
    files and commands of their own."""

    def __init__(self, root='', kmsg='/dev/kmsg', dmesg=('dmesg', '--notime'),
                 rmmod=('rmmod',), sleep=time.sleep, kmemleak_wait=6):
        self.root = root
        self.kmsg_path = kmsg
        self.dmesg_cmd = list(dmesg)
        self.rmmod_cmd = list(rmmod)
        self.sleep = sleep
        self.kmemleak_wait = kmemleak_wait

    def path(self, p):
        return self.root + p

    def read(self, p):
        try:
            with open(self.path(p), encoding='utf-8', errors='replace') as f:
                return f.read()
        except OSError:
            return None

    def kmsg(self, msg):
        # os.open: no lseek, which /dev/kmsg refuses to a writer (EBADF)
        # and Python's append mode would do.
        try:
            fd = os.open(self.kmsg_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError:
            return
        try:
            os.write(fd, (msg + '\n').encode('utf-8', 'replace'))
        except OSError:
            pass
        finally:
            os.close(fd)

    def dmesg(self):
        r = subprocess.run(self.dmesg_cmd, capture_output=True, check=False)
        return r.stdout.decode('utf-8', 'replace')

    def loaded(self):
        return os.path.isdir(self.path(f'/sys/module/{MODULE}'))

    def rmmod(self):
        r = subprocess.run(self.rmmod_cmd + [MODULE], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, check=False)
        return r.returncode, r.stdout.decode('utf-8', 'replace').rstrip('\n')

    @property
    def kmemleak(self):
        return self.path('/sys/kernel/debug/kmemleak')

    def kmemleak_on(self):
        return os.access(self.kmemleak, os.W_OK)

    def kmemleak_write(self, what):
        with open(self.kmemleak, 'w', encoding='ascii') as f:
            f.write(what + '\n')

    def kmemleak_scan(self):
        """An object is reported once a scan finds it unreferenced after
        its minimum age (5 s): scan, wait, scan again, read."""
        self.kmemleak_write('scan')
        self.sleep(self.kmemleak_wait)
        self.kmemleak_write('scan')
        with open(self.kmemleak, encoding='utf-8', errors='replace') as f:
            return f.read().rstrip('\n')


def run_program(merger, prog, timeout, guest):
    """Run one test program under `timeout` and merge its TAP; its stderr
    lines become comments."""
    name = os.path.basename(prog)
    merger.start(name)
    guest.kmsg(f'dmvm: start {name}')
    start = time.monotonic()
    # Not --foreground: timeout signals the program's whole process group.
    p = subprocess.Popen(['timeout', '-k', '10', str(timeout), prog],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ, 'out')
    sel.register(p.stderr, selectors.EVENT_READ, 'err')
    partial = {'out': b'', 'err': b''}

    def deliver(kind, raw):
        line = raw.decode('utf-8', 'surrogateescape')
        if kind == 'out':
            merger.line(line)
        else:
            merger.line(f'# {name}: stderr: {line}')

    while sel.get_map():
        for key, _ in sel.select():
            kind = key.data
            chunk = os.read(key.fd, 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                if partial[kind]:
                    deliver(kind, partial[kind])
                continue
            lines = (partial[kind] + chunk).split(b'\n')
            partial[kind] = lines.pop()
            for raw in lines:
                deliver(kind, raw)
    rc = p.wait()
    if rc < 0:
        rc = 128 - rc  # the shell's 128+N for a signal
    elapsed = int(time.monotonic() - start)
    guest.kmsg(f'dmvm: end {name}, status {rc}, {elapsed} s')
    merger.finish(rc, elapsed, timeout)


def check_rmmod(merger, guest, systemd, module_file, tries=20):
    """The module must unload: a leaked file, mirror or mm reference keeps
    its use count up. Deferred releases (fput, SRCU) get a few seconds.
    Under systemd, daxmirrord holds /dev/daxmirror: stopped first."""
    if systemd:
        subprocess.run(['systemctl', 'stop', 'daxmirrord.service'],
                       capture_output=True, check=False)
    if not guest.loaded():
        why = 'not loaded any more (a test unloaded it)' if module_file else 'no module was loaded'
        merger.result('ok', f'rmmod {MODULE} # SKIP {why}')
        return
    while True:
        rc, out = guest.rmmod()
        if rc == 0:
            break
        tries -= 1
        if tries == 0:
            merger.result('not ok', f'rmmod {MODULE}')
            merger.comment(out)
            refcnt = guest.read(f'/sys/module/{MODULE}/refcnt')
            merger.comment(f'refcnt: {(refcnt or "").rstrip()}')
            return
        guest.sleep(0.5)
    merger.result('ok', f'rmmod {MODULE}')


def check_kmemleak(merger, guest, when, text_range):
    """No kmemleak suspect with a frame in the module."""
    try:
        report = guest.kmemleak_scan()
    except OSError as e:
        merger.result('not ok', f'kmemleak {when}: the scan failed')
        merger.comment(str(e))
        return
    leaks = module_leaks(report, MODULE, text_range)
    if not leaks:
        merger.result('ok', f'kmemleak {when}: no leak with a {MODULE} frame '
                      f'({count_objects(lines_of(report))} suspects in all)')
        return
    merger.result('not ok', f'kmemleak {when}: {count_objects(leaks)} leaked objects '
                  f'with a {MODULE} frame')
    merger.comment('\n'.join(leaks[:120]))


def check_lockdep(merger, guest):
    """lockdep switches itself off after its first report (or a kernel
    one at boot): then nothing was checked."""
    stats = guest.read('/proc/lockdep_stats')
    if stats is None:
        return
    on = debug_locks(stats)
    if on == '1':
        merger.result('ok', 'lockdep was on for the whole run (debug_locks 1)')
    else:
        merger.result('not ok', f'lockdep was on for the whole run (debug_locks {on or "?"}: '
                      'switched off by a report, see the console log)')


def check_dmesg(merger, guest):
    hits = splats(guest.dmesg())
    if not hits:
        merger.result('ok', 'dmesg clean')
        return
    merger.result('not ok', 'dmesg clean')
    merger.comment('\n'.join(hits[:100]))
    merger.comment('(the whole kernel log is in the console log)')


def check_dmar(merger, guest):
    """tools/vm --dma: the IOMMU refused no DMA during the suite (a fault
    is a DMA to an IOVA that was unmapped or never mapped: the device
    would have hit whatever page is there now without an IOMMU)."""
    hits = dmar_faults(guest.dmesg())
    if not hits:
        merger.result('ok', 'no DMAR fault in the kernel log')
        return
    merger.result('not ok', f'no DMAR fault in the kernel log ({len(hits)} lines)')
    merger.comment('\n'.join(hits[:100]))


def run_suite(testdir, out, guest, timeout, systemd=False, module_file='', skip=(),
              dma=False):
    """The whole in-guest run; returns the exit status. The programs named
    in @skip are not run: one SKIP result each. @dma (tools/vm --dma):
    one more result, no DMAR fault."""
    merger = Merger(out)
    if guest.kmemleak_on():
        # What the kernel leaked before the suite is not ours: reported
        # objects turn grey and are never reported again.
        try:
            guest.kmemleak_scan()
        except OSError:
            pass
        try:
            guest.kmemleak_write('clear')
        except OSError:
            pass
    found = False
    try:
        entries = sorted(os.listdir(testdir))
    except OSError:
        entries = []
    for entry in entries:
        prog = os.path.join(testdir, entry)
        if not entry.startswith('test-') or not os.path.isfile(prog) or not os.access(prog, os.X_OK):
            continue
        found = True
        if entry in skip:
            merger.start(entry)
            merger.result('ok', f'{entry} # SKIP not run on this kernel (tools/vm --skip)')
            continue
        run_program(merger, prog, timeout, guest)
    if not found:
        merger.result('not ok', f'no executable test-* in {testdir}')
    if guest.kmemleak_on() and guest.loaded():
        text_range = module_range(guest.read('/proc/modules') or '')
        check_kmemleak(merger, guest, 'after the suite', text_range)
    else:
        text_range = None
    check_rmmod(merger, guest, systemd, module_file)
    if guest.kmemleak_on() and not guest.loaded():
        check_kmemleak(merger, guest, f'after rmmod {MODULE}', text_range)
    check_lockdep(merger, guest)
    check_dmesg(merger, guest)
    if dma:
        check_dmar(merger, guest)
    return merger.done()


# ---- the host's side ------------------------------------------------------

def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except OSError:
        return ''


def filter_tap(inp, out, counts_path):
    """Pass the guest's TAP through but its plan (a result about the guest
    itself may follow); add the results and failures to @counts_path."""
    results = failed = 0
    start = read_text(counts_path).split()
    if len(start) >= 2:
        results, failed = int(start[0]), int(start[1])
    plan = ''
    for line in inp:
        line = line.rstrip('\n')
        if line.endswith('\r'):
            line = line[:-1]
        m = re.match(r'1\.\.([0-9]+)', line)
        if m:
            plan = m.group(1)
            continue
        m = re.match(r'(not )?ok(\s|$)', line)
        if m:
            results += 1
            if m.group(1) and not re.search(r'#\s*todo', line.lower()):
                failed += 1
        out.write(line + '\n')
        out.flush()
    with open(counts_path, 'w', encoding='ascii') as f:
        f.write(f'{results} {failed} {plan}\n')


def running_test(console):
    """The test program that started but never ended, per the runner's
    markers in the kernel log."""
    current = ''
    for line in lines_of(console.replace('\r', '')):
        m = re.match(r'\[[ 0-9.]*\] dmvm: (start|end) ([^ ,]*)', line)
        if m:
            current = m.group(2) if m.group(1) == 'start' else ''
    return current


# The module's own kernel messages, and its name in an oops's module list.
MODULE_SEEN_RE = re.compile(r'\bdaxmirror(: |\()')


def boot_failure(vm_dir):
    """The kernel's first splat if the guest stopped before the suite's
    kernel-log mark without reporting an end, and the module shows nowhere
    in the console: the kernel's own boot failed. '' otherwise (in the
    systemd guest the module loads at boot, before any mark: a crash of it
    is never a boot failure)."""
    status = read_text(os.path.join(vm_dir, 'status')).rstrip('\n')
    console = read_text(os.path.join(vm_dir, 'console.log'))
    if (status.startswith('exit ') or status == 'powercut' or KMSG_MARK in console
            or MODULE_SEEN_RE.search(console)):
        return ''
    for line in console.split('\n'):
        if SPLAT_START_RE.search(line):
            return re.sub(r'^\[[ 0-9.]*\] ', '', line.replace('\r', ''))
    return ''


def guest_problem(vm_dir, qemu_status, timeout):
    """Why the guest did not report a result ('' if it did)."""
    status = read_text(os.path.join(vm_dir, 'status')).rstrip('\n')
    console = read_text(os.path.join(vm_dir, 'console.log'))
    if status.startswith('setup '):
        return f'setup failed: {status[len("setup "):]}'
    # tools/guest/power-cut: the job stopped the machine on purpose.
    if status == 'powercut' and qemu_status in (POWER_CUT_QEMU_STATUS, 0) and PANIC not in console:
        return ''
    during = ''
    if not status.startswith('exit '):
        t = running_test(console)
        during = f' while {t} ran' if t else ''
    panic = splat = ''
    for line in console.split('\n'):
        if not panic and PANIC in line:
            panic = line[line.index(PANIC):].replace('\r', '')
        if not splat and FIRST_SIGN_RE.search(line):
            splat = re.sub(r'^\[[ 0-9.]*\] ', '', line.replace('\r', ''))
    if panic:
        return (f'kernel panic{during}: {panic.replace(PANIC + ": ", "", 1)}'
                + (f' (first sign: {splat})' if splat else ''))
    if qemu_status in (124, 137):
        return (f'no power-off within {timeout} s{during} (hang?), qemu killed'
                + (f' (kernel said: {splat})' if splat else ''))
    if qemu_status != 0:
        qlines = lines_of(read_text(os.path.join(vm_dir, 'qemu.log')))
        return f'qemu failed with status {qemu_status}: {qlines[-1] if qlines else ""}'
    if not status.startswith('exit '):
        return (f'powered off without reporting completion{during}'
                + (f' (kernel said: {splat})' if splat else ''))
    return ''


def console_tail(vm_dir, prefix):
    """The end of the console log and of qemu's own output; and the start
    of the first kernel splat when the end does not show it (an oops's
    first lines name the faulting function, its tail is stack)."""
    log = os.path.join(vm_dir, 'console.log')
    text = read_text(log)
    lines = lines_of(text)
    total = text.count('\n')
    out = []
    first = next((i + 1 for i, line in enumerate(lines) if SPLAT_START_RE.search(line)), None)
    if first is not None and first < total - 40:
        out.append(f'{prefix}first kernel splat (console log lines {first}-{first + 24}):')
        out += [f'{prefix}  {line.replace(chr(13), "")}' for line in lines[first - 1:first + 24]]
    out.append(f'{prefix}console log (last 40 lines of {log}):')
    out += [f'{prefix}  {line.replace(chr(13), "")}' for line in lines[-40:]]
    qemu = lines_of(read_text(os.path.join(vm_dir, 'qemu.log')))
    if qemu:
        out.append(f'{prefix}qemu said:')
        out += [f'{prefix}  {line}' for line in qemu[-10:]]
    return out


def verdict(vm_dir, counts_path, qemu_status, timeout, seconds, out):
    """The end of `tools/vm test`'s TAP stream; returns the exit status."""
    counts = read_text(counts_path).split()
    results, failed = (int(c) for c in (counts + ['0', '0'])[:2])
    plan = counts[2] if len(counts) > 2 else ''
    problem = guest_problem(vm_dir, qemu_status, timeout)
    status = read_text(os.path.join(vm_dir, 'status')).rstrip('\n')
    if not problem and not plan:
        problem = "the test runner's TAP stream ended without a plan"
    elif not problem and int(plan) != results:
        problem = f'the test runner planned {plan} results but {results} arrived'
    elif not problem and failed == 0 and status != 'exit 0':
        problem = f"the test runner reported no failure but ended with '{status}'"
    if problem:
        results += 1
        failed += 1
        out.write(f'not ok {results} - guest: {problem}\n')
        out.write(''.join(line + '\n' for line in console_tail(vm_dir, '# ')))
    out.write(f'# guest ran {seconds} s (qemu start to exit); console log: '
              f'{os.path.join(vm_dir, "console.log")}\n')
    out.write(f'1..{results}\n')
    out.flush()
    return 0 if failed == 0 else 1


def meson_source(build_dir):
    import json
    try:
        with open(os.path.join(build_dir, 'meson-info', 'meson-info.json'), encoding='utf-8') as f:
            return json.load(f)['directories']['source']
    except (OSError, ValueError, KeyError):
        return ''


def nvdimm_namespace(ndctl_json):
    """"NAMESPACE MODE BLOCKDEV" of the first namespace with a block
    device in `ndctl list -N` output, or None."""
    import json
    try:
        d = json.loads(ndctl_json)
    except ValueError:
        return None
    for ns in d if isinstance(d, list) else [d]:
        if isinstance(ns, dict) and ns.get('blockdev'):
            return f'{ns["dev"]} {ns.get("mode", "?")} {ns["blockdev"]}'
    return None


def main(argv):
    sys.stdout.reconfigure(errors='surrogateescape', line_buffering=True)
    ap = argparse.ArgumentParser(prog='dmvm.py', description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('run')
    p.add_argument('testdir')
    sub.add_parser('mark')
    sub.add_parser('splats')
    p = sub.add_parser('filter')
    p.add_argument('counts')
    for name in ('verdict', 'problem'):
        p = sub.add_parser(name)
        p.add_argument('--vm-dir', required=True)
        p.add_argument('--qemu-status', type=int, required=True)
        p.add_argument('--timeout', required=True)
        if name == 'verdict':
            p.add_argument('--counts', required=True)
            p.add_argument('--seconds', required=True)
    p = sub.add_parser('boot-failure')
    p.add_argument('--vm-dir', required=True)
    p = sub.add_parser('console-tail')
    p.add_argument('--vm-dir', required=True)
    p.add_argument('--prefix', default='')
    p = sub.add_parser('meson-source')
    p.add_argument('build_dir')
    sub.add_parser('nvdimm-namespace')
    a = ap.parse_args(argv)

    if a.cmd == 'run':
        return run_suite(a.testdir, sys.stdout, Guest(),
                         int(os.environ.get('DMVM_TEST_TIMEOUT') or 600),
                         systemd=bool(os.environ.get('DAXMIRROR_SYSTEMD')),
                         module_file=os.environ.get('DAXMIRROR_MODULE', ''),
                         skip=set(filter(None, os.environ.get('DMVM_SKIP', '').split(','))),
                         dma=os.environ.get('DAXMIRROR_DMA') == '1')
    if a.cmd == 'mark':
        Guest().kmsg(KMSG_MARK)
    elif a.cmd == 'splats':
        for line in splats(Guest().dmesg(), dma=os.environ.get('DAXMIRROR_DMA') == '1'):
            print(line)
    elif a.cmd == 'filter':
        sys.stdin.reconfigure(errors='surrogateescape', newline='\n')
        filter_tap(sys.stdin, sys.stdout, a.counts)
    elif a.cmd == 'verdict':
        return verdict(a.vm_dir, a.counts, a.qemu_status, a.timeout, a.seconds, sys.stdout)
    elif a.cmd == 'problem':
        problem = guest_problem(a.vm_dir, a.qemu_status, a.timeout)
        if problem:
            print(problem)
    elif a.cmd == 'boot-failure':
        splat = boot_failure(a.vm_dir)
        if not splat:
            return 1
        print(splat)
    elif a.cmd == 'console-tail':
        for line in console_tail(a.vm_dir, a.prefix):
            print(line)
    elif a.cmd == 'meson-source':
        print(meson_source(a.build_dir))
    elif a.cmd == 'nvdimm-namespace':
        ns = nvdimm_namespace(sys.stdin.read())
        if ns is None:
            return 1
        print(ns)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
