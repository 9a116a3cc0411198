/* test-mm.c - the module and the rest of mm: a bound process that exits
 * without any mirror (MM_RELEASED, EPOLLHUP, state MM_GONE, no stale pid),
 * anonymous hugetlb memory as anonymous memory (MAP_HUGETLB 2 MiB and
 * 1 GiB, SHM_HUGETLB; a hugetlb memfd stays a file), several sessions
 * bound to one process (one shared exit notifier tells them all; a
 * revoked one leaves it and is told nothing), memfd_secret memory
 * refused (not in the direct map), and the device page table charged to
 * the client's memory cgroup (ENOMEM at memory.max, not an escape, not the
 * OOM killer), a mirror unmapped piece by piece, and a poisoned page.
 * Runs in the guest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dmt.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

#define TIMEOUT_MS 30000

/* ---- a bound process exits without a mirror ---------------------------- */

static int child_bind(int sock, void *arg)
{
	const int *sfd = arg;
	int64_t v;

	if (dmt_bind(*sfd) < 0)
		return 2;
	dmt_send_i64(sock, getpid());
	dmt_recv_i64(sock, &v, TIMEOUT_MS);	/* "exit now" */
	return 0;
}

static void g_exit(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	_cleanup_close_ int ctl2 = -1;
	struct daxmirror_session_info info;
	struct daxmirror_event ev;
	int64_t pid = 0;
	int r, rev;

	(void)arg;
	ctl2 = dmt_open_control();	/* sees only events from now on */
	if (ctl2 < 0 || dmt_session_open(&s, DMT_ANON_RW, 0, 0, false) < 0 ||
	    dmt_child_start(&c, child_bind, &s.sfd) < 0 ||
	    dmt_recv_i64(c.sock, &pid, TIMEOUT_MS) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r = dmt_session_info(s.ctl, s.id, &info);
	tap_ok(r == 0 && info.state == DAXMIRROR_STATE_BOUND && info.pid == pid,
	       "bound by the child: state BOUND, pid %lld", (long long)pid);
	dmt_send_i64(c.sock, 1);
	r = dmt_child_wait(&c, TIMEOUT_MS);
	r = dmt_event_wait(s.sfd, DAXMIRROR_EVENT_MM_RELEASED, s.id, TIMEOUT_MS, &ev);
	tap_ok(r == 0, "the child exits with no mirror: MM_RELEASED on the session fd");
	rev = dmt_poll(s.sfd, POLLIN, 0);
	tap_ok(rev > 0 && (rev & POLLHUP), "the session fd polls EPOLLHUP");
	r = dmt_event_wait(ctl2, DAXMIRROR_EVENT_MM_RELEASED, s.id, TIMEOUT_MS, &ev);
	tap_ok(r == 0, "MM_RELEASED on the control node");
	r = dmt_session_info(s.ctl, s.id, &info);
	if (!tap_ok(r == 0 && info.state == DAXMIRROR_STATE_MM_GONE && info.pid == 0,
		    "SESSION_INFO: state MM_GONE, pid 0 (the dead pid may be reused)"))
		tap_diag("ret %s state %u pid %d", tap_errname(-r), info.state, info.pid);
}

/* ---- several sessions bound to one process ----------------------------- */

#define NSHARE 3

static int child_bind_all(int sock, void *arg)
{
	const int *sfd = arg;
	int64_t v;

	for (int i = 0; i < NSHARE; i++)
		if (dmt_bind(sfd[i]) < 0)
			return 2;
	dmt_send_i64(sock, getpid());
	dmt_recv_i64(sock, &v, TIMEOUT_MS);	/* "exit now" */
	return 0;
}

/*
 * The sessions of one mm share one notifier of its exit (one entry on the
 * mm's notifier list, however many sessions): its release must reach every
 * session still bound, and a session stripped before (revoked: it leaves
 * the notifier) must neither be told nor keep the others from being told.
 */
static void g_shared_exit(const void *arg)
{
	struct dmt_session s[NSHARE] = { DMT_SESSION_INIT, DMT_SESSION_INIT, DMT_SESSION_INIT };
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	struct daxmirror_session_info info;
	struct daxmirror_event ev;
	int sfd[NSHARE], bound = 0, gone = 0, r;
	int64_t pid = 0;

	(void)arg;
	for (int i = 0; i < NSHARE; i++) {
		if (dmt_session_open(&s[i], DMT_ANON_RW, 0, 0, false) < 0) {
			tap_fail_rest("session %d: %s", i, strerror(errno));
			goto out;
		}
		sfd[i] = s[i].sfd;
	}
	if (dmt_child_start(&c, child_bind_all, sfd) < 0 ||
	    dmt_recv_i64(c.sock, &pid, TIMEOUT_MS) < 0) {
		tap_fail_rest("setup failed");
		goto out;
	}
	for (int i = 0; i < NSHARE; i++)
		if (dmt_session_info(s[i].ctl, s[i].id, &info) == 0 &&
		    info.state == DAXMIRROR_STATE_BOUND && info.pid == pid)
			bound++;
	tap_ok(bound == NSHARE, "one child binds %d sessions: all BOUND to its pid (%d)",
	       NSHARE, bound);
	/*
	 * The middle one is revoked, and stripped before the exit: a device
	 * call on it fails with ENODEV and, the session lock being free,
	 * strips it on the way out, so it has left the shared notifier's
	 * list when the release walks it.
	 */
	r = dmt_revoke(s[1].ctl, s[1].id);
	if (r == 0)
		r = dmt_fault(s[1].sfd, (void *)(uintptr_t)DMT_PAGE, DMT_PAGE, 0) == -ENODEV ? 0 : -EPROTO;
	tap_ok(r == 0, "REVOKE of the second session; a FAULT on it gets ENODEV (and strips it)");
	dmt_send_i64(c.sock, 1);
	dmt_child_wait(&c, TIMEOUT_MS);
	for (int i = 0; i < NSHARE; i += 2) {
		r = dmt_event_wait(s[i].sfd, DAXMIRROR_EVENT_MM_RELEASED, s[i].id, TIMEOUT_MS, &ev);
		if (r == 0 && dmt_session_info(s[i].ctl, s[i].id, &info) == 0 &&
		    info.state == DAXMIRROR_STATE_MM_GONE && info.pid == 0)
			gone++;
		else
			tap_diag("session %d: MM_RELEASED %s", i, tap_errname(-r));
	}
	tap_ok(gone == 2, "the child exits: the first and third session each get MM_RELEASED and read MM_GONE, pid 0");
	r = dmt_session_info(s[1].ctl, s[1].id, &info);
	tap_ok(r == 0 && info.state == DAXMIRROR_STATE_REVOKED &&
	       dmt_event_wait(s[1].sfd, DAXMIRROR_EVENT_MM_RELEASED, s[1].id, 200, &ev) < 0,
	       "the revoked one stays REVOKED and is told nothing of the exit (state %u)",
	       r == 0 ? info.state : 0);
out:
	for (int i = 0; i < NSHARE; i++)
		dmt_session_close(&s[i]);
}

/* ---- hugetlb ------------------------------------------------------------ */

/* Set @path to @want pages; the old value in *@old. */
static int set_pages(const char *path, long want, long *old)
{
	char buf[32];
	FILE *f = fopen(path, "r+");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%ld", old) == 1;
	rewind(f);
	snprintf(buf, sizeof(buf), "%ld\n", want);
	ok = ok && fputs(buf, f) >= 0;
	ok = (fclose(f) == 0) && ok;
	return ok ? 0 : -EIO;
}

#define HP2M "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
#define HP1G "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"

/* Mirror [p, p + len) in @s (anonymous-only session), fault it, write
 * through the device, check the order-@slot entries and the CPU's view. */
static void check_anon_huge(struct dmt_session *s, uint8_t *p, size_t len,
			    int slot, const char *what)
{
	_cleanup_free_ uint8_t *buf = malloc(len < (8 << 20) ? len : (8 << 20));
	size_t wlen = len < (8 << 20) ? len : (8 << 20);
	struct dmt_snap sn;
	uint64_t mid = 0;
	int r;

	memset(p, 1, len);
	r = dmt_mirror_add(s->sfd, p, len, DAXMIRROR_MIRROR_WRITE, &mid);
	if (!tap_ok(r == 0, "%s: MIRROR_ADD in an anonymous-only session", what))
		tap_diag("%s", tap_errname(-r));
	if (r == 0)
		r = dmt_fault(s->sfd, p, len, DAXMIRROR_FAULT_WRITE);
	if (r == 0)
		r = dmt_snap_summary(s->sfd, p, len, &sn);
	if (!tap_ok(r == 0 && sn.none == 0 &&
		    sn.order_pages[slot] == len / DMT_PAGE,
		    "%s: FAULT makes %s entries", what,
		    slot == DAXMIRROR_ORDER_1G ? "1 GiB" : "2 MiB"))
		dmt_snap_diag("snapshot", &sn);
	if (buf) {
		dmt_pattern_fill(buf, wlen, 21, 0);
		if (r == 0)
			r = dmt_dev_write(s->sfd, p, buf, wlen);
	}
	if (!tap_ok(r == 0 && buf && dmt_pattern_check(p, wlen, 21, 0) < 0,
		    "%s: a device WRITE is what the CPU reads", what))
		tap_diag("%s", tap_errname(-r));
}

static void g_hugetlb(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	long old2m = 0;
	uint8_t *p;
	int shm, fd;
	uint64_t mid;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    set_pages(HP2M, 8, &old2m) < 0 || dmt_read_long(HP2M) < 8) {
		tap_fail_rest("setup failed (2 MiB hugetlb pages: %ld)", dmt_read_long(HP2M));
		return;
	}

	p = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) {
		tap_fail_rest("mmap MAP_HUGETLB: %s", strerror(errno));
		goto out;
	}
	check_anon_huge(&s, p, 4 << 20, DAXMIRROR_ORDER_2M, "MAP_ANONYMOUS|MAP_HUGETLB");
	munmap(p, 4 << 20);

	shm = shmget(IPC_PRIVATE, 2 << 20, IPC_CREAT | SHM_HUGETLB | 0600);
	p = shm < 0 ? MAP_FAILED : shmat(shm, NULL, 0);
	if (shm >= 0)
		shmctl(shm, IPC_RMID, NULL);
	if (p == MAP_FAILED) {
		tap_fail_rest("SHM_HUGETLB: %s", strerror(errno));
		goto out;
	}
	check_anon_huge(&s, p, 2 << 20, DAXMIRROR_ORDER_2M, "SHM_HUGETLB");
	shmdt(p);

	/* A hugetlb memfd is a file: not anonymous memory. */
	fd = memfd_create("test-mm", MFD_HUGETLB | MFD_CLOEXEC);
	p = MAP_FAILED;
	if (fd >= 0 && ftruncate(fd, 2 << 20) == 0)
		p = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		tap_fail_rest("hugetlb memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	p[0] = 1;
	r = dmt_mirror_add(s.sfd, p, 2 << 20, 0, &mid);
	tap_errno(r, EPERM, "a hugetlb memfd is a file: EPERM without a grant");
	munmap(p, 2 << 20);
	close(fd);
out:
	set_pages(HP2M, old2m, &old2m);
}

/* 1 GiB anonymous hugetlb pages, when the guest can reserve one. */
static void g_hugetlb_1g(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	long old = 0;
	uint8_t *p;

	(void)arg;
	if (access(HP1G, W_OK) || set_pages(HP1G, 1, &old) < 0 ||
	    dmt_read_long(HP1G) < 1) {
		tap_skip_rest("the guest could not reserve a 1 GiB huge page");
		if (!access(HP1G, W_OK))
			set_pages(HP1G, old, &old);
		return;
	}
	p = mmap(NULL, 1UL << 30, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (30 << MAP_HUGE_SHIFT), -1, 0);
	if (p == MAP_FAILED || dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
	} else {
		check_anon_huge(&s, p, 1UL << 30, DAXMIRROR_ORDER_1G,
				"MAP_HUGETLB 1 GiB");
		munmap(p, 1UL << 30);
	}
	set_pages(HP1G, old, &old);
}

/* ---- memfd_secret ------------------------------------------------------- */

static void g_secretmem(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_close_ int fd = -1;
	uint8_t buf[64], *p;
	uint64_t mid;
	int r;

	(void)arg;
	fd = (int)syscall(SYS_memfd_secret, 0);
	if (fd < 0) {
		tap_skip_rest("memfd_secret: %s (boot with secretmem.enable=1)",
			      strerror(errno));
		return;
	}
	if (dmt_session_open(&s, DMT_ANON_RW | DAXMIRROR_SESSION_ALLOW_PAGECACHE, 0, 0, true) < 0 ||
	    ftruncate(fd, 4 * DMT_PAGE) ||
	    dmt_map_file(&m, 4 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, fd, 0, false) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	memset(m.addr, 3, 4 * DMT_PAGE);
	r = dmt_grant(s.ctl, s.id, fd, DAXMIRROR_GRANT_WRITE, 0, 4 * DMT_PAGE);
	if (r == 0)
		r = dmt_mirror_add(s.sfd, m.addr, 4 * DMT_PAGE, 0, &mid);
	tap_errno(r, EOPNOTSUPP, "a granted memfd_secret mapping: MIRROR_ADD EOPNOTSUPP");

	/* An anonymous mirror whose middle is then replaced by secret memory
	 * (MAP_FIXED over pages 1-2: the mirror stays live): the device
	 * fault's policy check refuses it, the access does not spin. */
	p = mmap(NULL, 4 * DMT_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		tap_fail_rest("mmap failed");
		return;
	}
	memset(p, 1, 4 * DMT_PAGE);
	r = dmt_mirror_add(s.sfd, p, 4 * DMT_PAGE, 0, &mid);
	if (r == 0 && mmap(p + DMT_PAGE, 2 * DMT_PAGE, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		r = -errno;
	if (r == 0)
		p[DMT_PAGE] = 4;
	if (r == 0)
		r = dmt_dev_read(s.sfd, p + DMT_PAGE, buf, sizeof(buf));
	if (!tap_ok(r == -EOPNOTSUPP,
		    "part of a live mirror now memfd_secret memory: device READ there fails with EOPNOTSUPP"))
		tap_diag("%s", tap_errname(-r));
	munmap(p, 4 * DMT_PAGE);
}

/* ---- memory cgroup ----------------------------------------------------- */

#define CG_ROOT "/sys/fs/cgroup"
#define CG_SPAN (256UL << 20)

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	int fd, r = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		r = -errno;
	close(fd);
	return r;
}

static long long cg_read(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX], k[64];
	long long v = -1, x;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -1;
	if (!key)
		return dmt_read_long(path);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", k, &x) == 2)
		if (!strcmp(k, key))
			v = x;
	fclose(f);
	return v;
}

/* In the cgroup: the CPU side of a 256 MiB anonymous range faulted first
 * (page tables charged), then memory.max set a little above what the
 * cgroup uses, then a per-page FAULT that needs ~1 MiB of device table.
 * Sends the FAULT's result. */
static int child_memcg(int sock, void *arg)
{
	const char *cg = arg;
	struct dmt_session s = DMT_SESSION_INIT;
	char val[64];
	volatile uint8_t sink = 0;
	uint8_t *p;
	uint64_t mid;
	long long cur;
	size_t off;
	int r;

	snprintf(val, sizeof(val), "%d\n", getpid());
	if (cg_write(cg, "cgroup.procs", val) < 0)
		return 2;
	if (dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON | DAXMIRROR_SESSION_PER_PAGE,
			     0, 0, true) < 0)
		return 3;
	p = mmap(NULL, CG_SPAN, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 4;
	for (off = 0; off < CG_SPAN; off += DMT_PAGE)
		sink += p[off];
	if (dmt_mirror_add(s.sfd, p, CG_SPAN, 0, &mid) < 0)
		return 5;
	cur = cg_read(cg, "memory.current", NULL);
	snprintf(val, sizeof(val), "%lld\n", cur + (128 << 10));
	if (cur < 0 || cg_write(cg, "memory.max", val) < 0)
		return 6;
	r = dmt_fault(s.sfd, p, CG_SPAN, 0);
	dmt_send_i64(sock, r);
	dmt_send_i64(sock, cur);
	dmt_session_close(&s);
	return 0;
}

static void g_memcg(const void *arg)
{
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	char cg[PATH_MAX];
	int64_t r = 1, before = 0;
	long long max, peak, ooms;
	int st;

	(void)arg;
	if (access(CG_ROOT "/cgroup.controllers", R_OK) &&
	    mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL)) {
		tap_skip_rest("no cgroup v2: %s", strerror(errno));
		return;
	}
	cg_write(CG_ROOT, "cgroup.subtree_control", "+memory");
	snprintf(cg, sizeof(cg), CG_ROOT "/dmtest-%d", getpid());
	if (mkdir(cg, 0755) || cg_read(cg, "memory.current", NULL) < 0) {
		tap_fail_rest("no memory controller in %s: %s", cg, strerror(errno));
		rmdir(cg);
		return;
	}
	st = dmt_child_start(&c, child_memcg, cg);
	if (st == 0)
		st = dmt_recv_i64(c.sock, &r, 120000);
	if (st == 0)
		st = dmt_recv_i64(c.sock, &before, TIMEOUT_MS);
	max = cg_read(cg, "memory.max", NULL);
	peak = cg_read(cg, "memory.events", "max");
	ooms = cg_read(cg, "memory.events", "oom_kill");
	if (!tap_ok(st == 0 && r == -ENOMEM,
		    "a per-page FAULT needing more than memory.max allows: ENOMEM"))
		tap_diag("recv %s, FAULT %s (memory.current %lld before, max %lld)",
			 tap_errname(-st), r <= 0 ? tap_errname((int)-r) : "?",
			 (long long)before, max);
	if (!tap_ok(ooms == 0, "no OOM kill in the cgroup"))
		tap_diag("oom_kill %lld, max events %lld", ooms, peak);
	st = dmt_child_wait(&c, TIMEOUT_MS);
	tap_ok(st == 0, "the client lives on and exits cleanly");
	rmdir(cg);
}

/* ---- a poisoned page ------------------------------------------------------ */

#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif

static volatile sig_atomic_t got_sigbus;

static void on_sigbus(int sig)
{
	(void)sig;
	got_sigbus = 1;
}

/* MADV_HWPOISON on page 1 of a faulted mirror (software injection: the
 * kernel's memory_failure() path, what a real media error leads to after
 * the machine check; TCG cannot raise one): its device entry goes, a
 * device READ of it fails cleanly, the other pages read on. */
static void g_poison(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	uint8_t buf[64], snap[4];
	uint8_t *p;
	uint64_t mid;
	int r;

	(void)arg;
	p = mmap(NULL, 4 * DMT_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	memset(p, 6, 4 * DMT_PAGE);
	r = dmt_mirror_add(s.sfd, p, 4 * DMT_PAGE, 0, &mid);
	if (r == 0)
		r = dmt_fault(s.sfd, p, 4 * DMT_PAGE, 0);
	/*
	 * Newer kernels (6.12) inject with MF_ACTION_REQUIRED and send the
	 * caller SIGBUS (BUS_MCEERR_AR), as a real consumed error would; it
	 * comes from the system call, so a handler may just return.
	 */
	if (r == 0) {
		struct sigaction sa = { .sa_handler = on_sigbus }, old;

		sigaction(SIGBUS, &sa, &old);
		if (madvise(p + DMT_PAGE, DMT_PAGE, MADV_HWPOISON))
			r = -errno;
		sigaction(SIGBUS, &old, NULL);
		if (got_sigbus)
			tap_diag("MADV_HWPOISON raised SIGBUS in the caller (action required)");
	}
	if (r == -EINVAL || r == -EPERM) {
		tap_skip_rest("MADV_HWPOISON: %s (no CONFIG_MEMORY_FAILURE?)", tap_errname(-r));
		return;
	}
	if (r == 0)
		r = dmt_snapshot(s.sfd, p, 4 * DMT_PAGE, snap);
	tap_ok(r == 0 && snap[1] == DAXMIRROR_SNAP_NONE && snap[0] != DAXMIRROR_SNAP_NONE,
	       "MADV_HWPOISON of a mirrored page drops its device entry, only its");
	r = dmt_dev_read(s.sfd, p + DMT_PAGE, buf, sizeof(buf));
	if (!tap_ok(r == -EFAULT || r == -EIO,
		    "a device READ of the poisoned page fails (EFAULT or EIO)"))
		tap_diag("%s", tap_errname(-r));
	r = dmt_dev_read(s.sfd, p + 2 * DMT_PAGE, buf, sizeof(buf));
	tap_ok(r == 0 && dmt_all_bytes(buf, sizeof(buf), 6),
	       "the mirror's other pages still read through the device");
	/* The poisoned page stays unmapped; never touch it from the CPU. */
}

/* ---- a mirror unmapped piece by piece ---------------------------------- */

static int mirror_state(int sfd, uint64_t mid)
{
	struct daxmirror_mirror_info mi;
	int r = dmt_mirror_get(sfd, 0, mid, &mi);

	return r < 0 ? r : (int)mi.state;
}

/* Its first and last pages unmapped, a mirror stays; its middle unmapped
 * too (three munmaps that together cover it), it is released like a
 * mirror unmapped at once: MIRROR_RELEASED, state RELEASED, and it no
 * longer counts against the session's limit. */
static void g_pieces(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	struct daxmirror_session_info info;
	struct daxmirror_event ev;
	uint8_t *p, *q;
	uint64_t mid = 0, mid2 = 0;
	int r;

	(void)arg;
	p = mmap(NULL, 8 * DMT_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || dmt_session_open(&s, DMT_ANON_RW, 1, 0, true) < 0 ||
	    dmt_mirror_add(s.sfd, p, 8 * DMT_PAGE, 0, &mid) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	memset(p, 1, 8 * DMT_PAGE);
	munmap(p, DMT_PAGE);
	munmap(p + 7 * DMT_PAGE, DMT_PAGE);
	usleep(300000);	/* the module checks what is left from a work item */
	r = dmt_fault(s.sfd, p + DMT_PAGE, 6 * DMT_PAGE, 0);
	if (!tap_ok(r == 0 && mirror_state(s.sfd, mid) == DAXMIRROR_MIRROR_LIVE,
		    "first and last page unmapped: the mirror is live, its middle faults"))
		tap_diag("FAULT %s, state %d", tap_errname(-r), mirror_state(s.sfd, mid));
	munmap(p + DMT_PAGE, 6 * DMT_PAGE);
	r = dmt_event_wait(s.sfd, DAXMIRROR_EVENT_MIRROR_RELEASED, s.id, TIMEOUT_MS, &ev);
	if (!tap_ok(r == 0 && ev.mirror_id == mid,
		    "the middle unmapped too: MIRROR_RELEASED"))
		tap_diag("%s", tap_errname(-r));
	r = dmt_session_info(s.sfd, 0, &info);
	tap_ok(r == 0 && mirror_state(s.sfd, mid) == DAXMIRROR_MIRROR_RELEASED &&
	       info.nr_mirrors == 0 && info.mirrored_pages == 0,
	       "state RELEASED; SESSION_INFO counts no live mirror, no page");
	q = mmap(NULL, 4 * DMT_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r = q == MAP_FAILED ? -ENOMEM : dmt_mirror_add(s.sfd, q, 4 * DMT_PAGE, 0, &mid2);
	tap_success(r, "a new mirror fits the limit of one (not ENOSPC)");
	if (q != MAP_FAILED)
		munmap(q, 4 * DMT_PAGE);
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "exit without a mirror", 5, g_exit, NULL },
		{ "sessions sharing one process's exit", 4, g_shared_exit, NULL },
		{ "anonymous hugetlb (2 MiB)", 7, g_hugetlb, NULL },
		{ "anonymous hugetlb (1 GiB)", 3, g_hugetlb_1g, NULL },
		{ "memfd_secret", 2, g_secretmem, NULL },
		{ "memory cgroup", 3, g_memcg, NULL },
		{ "a mirror unmapped piece by piece", 4, g_pieces, NULL },
		{ "a poisoned page", 3, g_poison, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 500);
}
