/* test-locking.c - one client's device access never holds up the broker,
 * the admin or another thread, and a client can always be stopped. A
 * device READ is parked inside the kernel (its destination buffer is
 * registered with userfaultfd, so the copy-out waits in the fault handler
 * until the test resolves it); while it waits, the control node's
 * SESSION_INFO, MIRROR_LIST and REVOKE and a second READ of the same
 * session must return, and once resolved the parked READ must fail with
 * ENODEV. The same for SNAPSHOT. A FAULT retry storm (another thread
 * MADV_DONTNEEDs the range) ends with ENODEV on REVOKE; a 2 TiB SNAPSHOT
 * and a parked READ end at SIGKILL; a READ whose mirror is released while
 * it waits fails with ENOENT. And what one client can do to event queues:
 * an event read() could not copy out is not lost, a flood of its mirror
 * releases stays on its own session fd. Everything is asserted by order;
 * the timeouts only keep a broken module from hanging the suite. Runs in
 * the guest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmt.h"

#define PAGES 16
#define LEN (PAGES * DMT_PAGE)
/* How long a call that must not block is given before it counts as
 * blocked (generous: TCG under a debug kernel). */
#define CALL_TIMEOUT_MS 30000
/* Bytes of a parked SNAPSHOT's output: two of the module's 64 KiB chunks. */
#define SNAP_OUT (128UL << 10)

/* ---- a call run on a thread, waited for with a deadline --------------- */

struct call {
	pthread_t thread;
	long (*fn)(void *arg);
	void *arg;
	atomic_bool done;
	long ret;
};

static void *call_main(void *p)
{
	struct call *c = p;

	c->ret = c->fn(c->arg);
	atomic_store(&c->done, true);
	return NULL;
}

static int call_start(struct call *c, long (*fn)(void *), void *arg)
{
	c->fn = fn;
	c->arg = arg;
	atomic_store(&c->done, false);
	return -pthread_create(&c->thread, NULL, call_main, c);
}

/* true once the call returned (then joined); false after @ms. */
static bool call_wait(struct call *c, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (atomic_load(&c->done)) {
			pthread_join(c->thread, NULL);
			return true;
		}
		usleep(10000);
	}
	return false;
}

/* ---- userfaultfd: a buffer whose first touch parks the toucher -------- */

struct parked {
	int uffd;
	void *buf;
	size_t len;
};

static int park_setup(struct parked *p, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };

	p->len = len;
	p->buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->buf == MAP_FAILED)
		return -errno;
	p->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (p->uffd < 0 || ioctl(p->uffd, UFFDIO_API, &api))
		return -errno;
	reg.range.start = (uintptr_t)p->buf;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	return ioctl(p->uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

/* Wait until somebody is parked on the buffer: 0, or -ETIMEDOUT. */
static int park_wait(struct parked *p, int ms)
{
	struct uffd_msg msg;

	if (dmt_poll(p->uffd, POLLIN, ms) <= 0)
		return -ETIMEDOUT;
	if (read(p->uffd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		return -EIO;
	return msg.event == UFFD_EVENT_PAGEFAULT ? 0 : -EPROTO;
}

/* Let every parked toucher go on (zero pages everywhere). */
static void park_release(struct parked *p)
{
	struct uffdio_zeropage zp = { 0 };

	zp.range.start = (uintptr_t)p->buf;
	zp.range.len = p->len;
	ioctl(p->uffd, UFFDIO_ZEROPAGE, &zp);
}

static void park_close(struct parked *p)
{
	if (p->uffd >= 0)
		close(p->uffd);
	if (p->buf && p->buf != MAP_FAILED)
		munmap(p->buf, p->len);
}

/* ---- the calls ---------------------------------------------------------- */

struct rw_arg {
	int sfd;
	const void *addr;
	void *buf;
	size_t len;
};

static long do_read(void *p)
{
	struct rw_arg *a = p;

	return dmt_dev_read(a->sfd, a->addr, a->buf, a->len);
}

static long do_snapshot(void *p)
{
	struct rw_arg *a = p;

	return dmt_snapshot(a->sfd, a->addr, a->len, a->buf);
}

struct ctl_arg {
	int ctl;
	uint64_t id;
};

static long do_info(void *p)
{
	struct ctl_arg *a = p;
	struct daxmirror_session_info i;

	return dmt_session_info(a->ctl, a->id, &i);
}

static long do_list(void *p)
{
	struct ctl_arg *a = p;
	struct daxmirror_mirror_info *m = NULL;
	uint32_t n = 0;
	long r = dmt_mirror_list(a->ctl, a->id, &m, &n);

	free(m);
	return r < 0 ? r : (long)n;
}

static long do_revoke(void *p)
{
	struct ctl_arg *a = p;

	return dmt_revoke(a->ctl, a->id);
}

/*
 * A device access parked in the kernel (READ: its destination; SNAPSHOT:
 * its output, userfaultfd-registered); the broker's calls, another READ of
 * the same session and REVOKE return while it waits; released, it fails
 * with ENODEV.
 */
static void g_parked(const void *arg)
{
	const bool snapshot = arg != NULL;
	const char *what = snapshot ? "SNAPSHOT" : "READ";
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct parked park = { .uffd = -1 };
	struct rw_arg ra, rb;
	struct ctl_arg ca;
	struct call parked, c;
	uint8_t other[LEN];
	uint64_t mid;
	bool back;
	int r;

	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, LEN, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    park_setup(&park, snapshot ? SNAP_OUT : LEN) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, LEN, 0, &mid) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		park_close(&park);
		return;
	}
	dmt_pattern_fill(m.addr, LEN, 9, 0);
	/* SNAPSHOT: more than one of the kernel's chunks, so a revoke
	 * finds a next step. */
	ra = (struct rw_arg){ s.sfd, m.addr, park.buf,
			      snapshot ? SNAP_OUT * DMT_PAGE : LEN };
	rb = (struct rw_arg){ s.sfd, m.addr, other, LEN };
	ca = (struct ctl_arg){ s.ctl, s.id };

	r = call_start(&parked, snapshot ? do_snapshot : do_read, &ra);
	if (r == 0)
		r = park_wait(&park, CALL_TIMEOUT_MS);
	if (!tap_ok(r == 0, "%s parked in the kernel on its userfaultfd buffer", what)) {
		tap_fail_rest("nothing parked: %s", tap_errname(-r));
		park_release(&park);
		if (call_wait(&parked, CALL_TIMEOUT_MS))
			park_close(&park);
		return;
	}

	call_start(&c, do_info, &ca);
	back = call_wait(&c, CALL_TIMEOUT_MS);
	tap_ok(back && c.ret == 0 && !atomic_load(&parked.done),
	       "control SESSION_INFO returns while the %s is still in the kernel", what);
	if (!back) {
		park_release(&park);	/* unblock the broken module */
		call_wait(&c, CALL_TIMEOUT_MS);
	}
	call_start(&c, do_list, &ca);
	back = call_wait(&c, CALL_TIMEOUT_MS);
	tap_ok(back && c.ret == 1 && !atomic_load(&parked.done),
	       "control MIRROR_LIST returns while the %s is still in the kernel", what);
	if (!back) {
		park_release(&park);
		call_wait(&c, CALL_TIMEOUT_MS);
	}
	call_start(&c, do_read, &rb);
	back = call_wait(&c, CALL_TIMEOUT_MS);
	if (!tap_ok(back && c.ret == 0 && dmt_pattern_check(other, LEN, 9, 0) < 0 &&
		    !atomic_load(&parked.done),
		    "another thread's READ of the same session completes meanwhile"))
		tap_diag("returned %d, ret %s", back, back ? tap_errname((int)-c.ret) : "-");
	if (!back) {
		park_release(&park);
		call_wait(&c, CALL_TIMEOUT_MS);
	}
	call_start(&c, do_revoke, &ca);
	back = call_wait(&c, CALL_TIMEOUT_MS);
	tap_ok(back && c.ret == 0 && !atomic_load(&parked.done),
	       "control REVOKE returns while the %s is still in the kernel", what);

	park_release(&park);
	if (!back)
		call_wait(&c, CALL_TIMEOUT_MS);
	back = call_wait(&parked, CALL_TIMEOUT_MS);
	if (!tap_ok(back && parked.ret == -ENODEV,
		    "released, the parked %s fails with ENODEV", what))
		tap_diag("returned %d, ret %s", back, back ? tap_errname((int)-parked.ret) : "-");
	if (back)
		park_close(&park);
}

/* ---- FAULT retry storm -------------------------------------------------- */

#define STORM_LEN (16UL << 20)

struct storm {
	int sfd;
	void *addr;
	atomic_bool stop;
	atomic_long faults;
};

static long storm_fault(void *p)
{
	struct storm *st = p;
	long r;

	do {
		r = dmt_fault(st->sfd, st->addr, STORM_LEN, 0);
		atomic_fetch_add(&st->faults, 1);
	} while (r == 0 && !atomic_load(&st->stop));
	atomic_store(&st->stop, true);
	return r;
}

static long storm_zap(void *p)
{
	struct storm *st = p;

	while (!atomic_load(&st->stop))
		madvise(st->addr, STORM_LEN, MADV_DONTNEED);
	return 0;
}

/* One thread faults the range, another zaps it without pause: REVOKE
 * returns, the faulting thread's call ends with ENODEV. */
static void g_storm(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct storm st = { .sfd = -1 };
	struct call fault, zap, c;
	struct ctl_arg ca;
	uint64_t mid;
	bool back;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, STORM_LEN, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, STORM_LEN, 0, &mid) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	st.sfd = s.sfd;
	st.addr = m.addr;
	ca = (struct ctl_arg){ s.ctl, s.id };
	call_start(&zap, storm_zap, &st);
	call_start(&fault, storm_fault, &st);
	/*
	 * Revoke once a FAULT is in the kernel (its call counted): on a slow
	 * kernel (the debug one) the first call may never finish by itself,
	 * the zapper invalidating every attempt: the storm of the issue.
	 */
	for (int i = 0; i < CALL_TIMEOUT_MS / 10 && !atomic_load(&st.stop); i++) {
		struct daxmirror_session_info info;

		if (dmt_session_info(s.ctl, s.id, &info) == 0 &&
		    info.stats.fault_calls >= 1)
			break;
		usleep(10000);
	}
	call_start(&c, do_revoke, &ca);
	back = call_wait(&c, CALL_TIMEOUT_MS);
	tap_ok(back && c.ret == 0, "control REVOKE returns during a FAULT retry storm");
	back = call_wait(&fault, CALL_TIMEOUT_MS);
	if (!tap_ok(back && fault.ret == -ENODEV,
		    "the storm's FAULT ends with ENODEV (%ld calls)", atomic_load(&st.faults)))
		tap_diag("returned %d, ret %s", back, back ? tap_errname((int)-fault.ret) : "-");
	atomic_store(&st.stop, true);
	call_wait(&zap, CALL_TIMEOUT_MS);
	if (!back)
		call_wait(&fault, CALL_TIMEOUT_MS);
}

/* ---- SIGKILL ---------------------------------------------------------- */

/* The child: a session of its own and a READ parked on userfaultfd; it
 * says "parked" (1) when the fault arrives, then waits to be killed. */
static int child_parked(int sock, void *arg)
{
	struct dmt_session s = DMT_SESSION_INIT;
	struct dmt_map m = DMT_MAP_INIT;
	struct parked park = { .uffd = -1 };
	struct rw_arg ra;
	struct call c;
	uint64_t mid;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, LEN, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    park_setup(&park, LEN) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, LEN, 0, &mid) < 0)
		return 2;
	memset(m.addr, 1, LEN);
	ra = (struct rw_arg){ s.sfd, m.addr, park.buf, LEN };
	call_start(&c, do_read, &ra);
	if (park_wait(&park, CALL_TIMEOUT_MS) < 0)
		return 3;
	dmt_send_i64(sock, 1);
	pause();
	return 4;
}

/* The child: SNAPSHOT of 2 TiB; says "calling" (1) just before. */
static int child_snapshot(int sock, void *arg)
{
	struct dmt_session s = DMT_SESSION_INIT;
	const size_t span = 2UL << 40, pages = span / DMT_PAGE;
	void *out, *addr;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0)
		return 2;
	out = mmap(NULL, pages, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	addr = (void *)(1UL << 41);	/* any page-aligned range will do */
	if (out == MAP_FAILED)
		return 3;
	dmt_send_i64(sock, 1);
	r = dmt_snapshot(s.sfd, addr, span, out);
	dmt_send_i64(sock, r == 0 ? 2 : 3);	/* finished: too late */
	pause();
	return 4;
}

/* SIGKILL ends a process whose thread is inside a device access. */
static void g_sigkill(const void *arg)
{
	const bool snapshot = arg != NULL;
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	int64_t v = 0;
	int r, status;

	r = dmt_child_start(&c, snapshot ? child_snapshot : child_parked, NULL);
	if (r == 0)
		r = dmt_recv_i64(c.sock, &v, CALL_TIMEOUT_MS);
	if (r < 0 || v != 1) {
		tap_fail_rest("the child did not start its call (%s, %lld)",
			      tap_errname(-r), (long long)v);
		return;
	}
	/* SNAPSHOT: let it get going (it runs for seconds under TCG). */
	if (snapshot)
		usleep(200000);
	kill(c.pid, SIGKILL);
	r = 0;
	for (int i = 0; i < CALL_TIMEOUT_MS / 10; i++) {
		r = waitpid(c.pid, &status, WNOHANG);
		if (r != 0)
			break;
		usleep(10000);
	}
	if (r == c.pid)
		c.pid = 0;
	if (!tap_ok(r > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		    "SIGKILL ends a process inside a %s",
		    snapshot ? "2 TiB SNAPSHOT" : "parked device READ"))
		tap_diag("waitpid %d status 0x%x", r, r > 0 ? status : 0);
	v = 0;
	dmt_recv_i64(c.sock, &v, 10);
	if (snapshot && !tap_ok(v != 2 && v != 3,
				"the SNAPSHOT had not finished when the kill arrived"))
		tap_diag("the child reported %lld", (long long)v);
}

/* A SNAPSHOT of 1 TiB of which 16 pages are mirrored: returns, correct. */
static void g_big_snapshot(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	const size_t span = 1UL << 40, pages = span / DMT_PAGE;
	uint8_t *out, *base;
	uint64_t mid;
	size_t i, bad = 0;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, LEN, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, LEN, 0, &mid) < 0 ||
	    dmt_fault(s.sfd, m.addr, LEN, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	out = mmap(NULL, pages, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (out == MAP_FAILED) {
		tap_fail_rest("mmap of the output failed");
		return;
	}
	/* 1 TiB whose last 16 pages are the mirror. */
	base = (uint8_t *)m.addr + LEN - span;
	r = dmt_snapshot(s.sfd, base, span, out);
	for (i = 0; r == 0 && i < pages - PAGES; i += 4096)
		bad += out[i] != DAXMIRROR_SNAP_NONE;
	for (i = pages - PAGES; r == 0 && i < pages; i++)
		bad += out[i] == DAXMIRROR_SNAP_NONE;
	if (!tap_ok(r == 0 && bad == 0,
		    "a 1 TiB SNAPSHOT returns: the mirror's 16 pages mapped, the rest NONE"))
		tap_diag("ret %s, %zu wrong bytes", tap_errname(-r), bad);
	munmap(out, pages);
}

/* ---- a mirror released under a parked READ ------------------------------ */

/* A READ parked on its userfaultfd destination while its mirror is
 * replaced (MAP_FIXED over all of it: released): released, the READ must
 * not go on through the released mirror into the new memory. */
static void g_released(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	struct parked park = { .uffd = -1 };
	struct rw_arg ra;
	struct call parked;
	uint8_t *p;
	uint64_t mid;
	bool back;
	int r;

	(void)arg;
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    park_setup(&park, LEN) < 0 || dmt_mirror_add(s.sfd, p, LEN, 0, &mid) < 0) {
		tap_fail_rest("setup failed");
		park_close(&park);
		return;
	}
	memset(p, 1, LEN);
	ra = (struct rw_arg){ s.sfd, p, park.buf, LEN };
	call_start(&parked, do_read, &ra);
	r = park_wait(&park, CALL_TIMEOUT_MS);
	if (r == 0 && mmap(p, LEN, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		r = -errno;
	if (r == 0)
		memset(p, 2, LEN);	/* the new memory: never the device's */
	park_release(&park);
	back = call_wait(&parked, CALL_TIMEOUT_MS);
	if (!tap_ok(r == 0 && back && parked.ret == -ENOENT,
		    "a READ whose mirror is released while it waits fails with ENOENT"))
		tap_diag("setup %s, returned %d, ret %s", tap_errname(-r), back,
			 back ? tap_errname((int)-parked.ret) : "-");
	if (back)
		park_close(&park);
	munmap(p, LEN);
}

/* ---- event queues ------------------------------------------------------- */

/* Events a read() could not copy out are not lost: read() into a bad
 * buffer fails with EFAULT, the next read() gets them. */
static void g_event_efault(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	struct daxmirror_event ev;
	uint8_t *p;
	void *bad;
	uint64_t mid;
	ssize_t got;
	int r;

	(void)arg;
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_mirror_add(s.sfd, p, LEN, 0, &mid) < 0 || dmt_set_nonblock(s.sfd) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	munmap(p, LEN);		/* MIRROR_RELEASED on the session fd */
	r = dmt_poll(s.sfd, POLLIN, CALL_TIMEOUT_MS);
	/* A buffer the kernel cannot write: a PROT_NONE page. */
	bad = mmap(NULL, DMT_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	got = bad == MAP_FAILED ? -1 : read(s.sfd, bad, sizeof(ev));
	if (!tap_ok(r > 0 && got < 0 && errno == EFAULT,
		    "read() of a queued event into a bad buffer: EFAULT"))
		tap_diag("poll %d, read %zd (%s)", r, got, got < 0 ? tap_errname(errno) : "");
	got = read(s.sfd, &ev, sizeof(ev));
	if (!tap_ok(got == (ssize_t)sizeof(ev) && ev.type == DAXMIRROR_EVENT_MIRROR_RELEASED &&
		    ev.mirror_id == mid,
		    "the next read() gets that event (MIRROR_RELEASED), not lost"))
		tap_diag("read %zd (%s), type %s", got, got < 0 ? tap_errname(errno) : "",
			 got > 0 ? dmt_event_name(ev.type) : "-");
	if (bad != MAP_FAILED)
		munmap(bad, DMT_PAGE);
}

/* A client that maps and unmaps mirrors in a loop posts its releases to
 * its own session fd only: the control node's queue (64 events) does not
 * overflow. */
static void g_event_flood(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_close_ int ctl2 = -1;
	struct daxmirror_event ev;
	unsigned int released = 0, others = 0;
	uint64_t mid;
	ssize_t got;
	uint8_t *p;

	(void)arg;
	ctl2 = dmt_open_control();
	if (ctl2 < 0 || dmt_set_nonblock(ctl2) < 0 ||
	    dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	for (int i = 0; i < 200; i++) {
		p = mmap(NULL, DMT_PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED || dmt_mirror_add(s.sfd, p, DMT_PAGE, 0, &mid) < 0)
			break;
		munmap(p, DMT_PAGE);
	}
	while ((got = read(ctl2, &ev, sizeof(ev))) == (ssize_t)sizeof(ev)) {
		if (ev.type == DAXMIRROR_EVENT_MIRROR_RELEASED ||
		    ev.type == DAXMIRROR_EVENT_OVERFLOW)
			released++;
		else
			others++;
	}
	if (!tap_ok(released == 0,
		    "200 mirrors unmapped: no MIRROR_RELEASED and no OVERFLOW on the control node"))
		tap_diag("%u such events (%u others)", released, others);
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "a READ parked in the kernel", 6, g_parked, NULL },
		{ "a SNAPSHOT parked in the kernel", 6, g_parked, "snapshot" },
		{ "FAULT retry storm", 2, g_storm, NULL },
		{ "SIGKILL out of a parked READ", 1, g_sigkill, NULL },
		{ "SIGKILL out of a 2 TiB SNAPSHOT", 2, g_sigkill, "snapshot" },
		{ "1 TiB SNAPSHOT", 1, g_big_snapshot, NULL },
		{ "a mirror released under a parked READ", 1, g_released, NULL },
		{ "an event read into a bad buffer", 2, g_event_efault, NULL },
		{ "a flood of MIRROR_RELEASED", 1, g_event_flood, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 500);
}
