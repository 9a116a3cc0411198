/* test-fork.c - fork and exit: copy-on-write keeps the parent's device view
 * apart from the child's memory (and back), shared anonymous memory is
 * shared with the device too, and the exit of the bound process releases
 * everything (MM_RELEASED, POLLHUP, state MM_GONE, no entries left).
 * Runs in the guest as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt.h"

#define PAGES 8
#define LEN (PAGES * DMT_PAGE)

enum { CMD_WRITE = 1, CMD_CHECK = 2 };

struct cow_arg {
	int sfd;
	uint8_t *p;
};

/* Pages 2-3 and 6-7 are the ones the child writes; the parent writes
 * 0-1 with the CPU and 4-5 through the device. */
static bool child_page(size_t pg)
{
	return pg == 2 || pg == 3 || pg == 6 || pg == 7;
}

/* What page @pg of the child must hold at the end: its own bytes (72)
 * where it wrote, the pre-fork bytes (71) elsewhere. */
static ssize_t child_check(const uint8_t *p)
{
	for (size_t pg = 0; pg < PAGES; pg++) {
		uint64_t seed = child_page(pg) ? 72 : 71;
		ssize_t d = dmt_pattern_check(p + pg * DMT_PAGE, DMT_PAGE, seed,
					      pg * DMT_PAGE);

		if (d >= 0)
			return (ssize_t)(pg * DMT_PAGE) + d;
	}
	return -1;
}

/* Child of the COW test: its device access must be refused (it is not the
 * bound mm); on command it overwrites some pages of its copy, later it
 * checks that its copy holds exactly the pre-fork bytes and its own. */
static int child_cow(int sock, void *argp)
{
	const struct cow_arg *a = argp;
	uint8_t buf[64];
	int64_t cmd;

	dmt_send_i64(sock, dmt_dev_read(a->sfd, a->p, buf, sizeof(buf)));
	if (dmt_recv_i64(sock, &cmd, DMT_CHILD_TIMEOUT_MS) < 0 || cmd != CMD_WRITE)
		return 1;
	for (size_t pg = 0; pg < PAGES; pg++)
		if (child_page(pg))
			dmt_pattern_fill(a->p + pg * DMT_PAGE, DMT_PAGE, 72,
					 pg * DMT_PAGE);
	dmt_send_i64(sock, 0);
	if (dmt_recv_i64(sock, &cmd, DMT_CHILD_TIMEOUT_MS) < 0 || cmd != CMD_CHECK)
		return 2;
	dmt_send_i64(sock, child_check(a->p));
	return 0;
}

static void g_cow(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	struct daxmirror_session_info i0, i1;
	uint8_t buf[LEN], want[LEN];
	struct cow_arg ca;
	struct dmt_snap sn;
	uint8_t *p;
	int64_t v = 0;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, LEN, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	p = m.addr;
	dmt_pattern_fill(p, LEN, 71, 0);
	if (dmt_mirror_add(s.sfd, p, LEN, DAXMIRROR_MIRROR_WRITE, NULL) < 0 ||
	    dmt_fault(s.sfd, p, LEN, DAXMIRROR_FAULT_WRITE) < 0 ||
	    dmt_snap_summary(s.sfd, p, LEN, &sn) < 0 || sn.write != PAGES) {
		dmt_snap_diag("before fork", &sn);
		tap_fail_rest("mirror/prefetch for writing failed");
		return;
	}
	dmt_session_info(s.sfd, 0, &i0);
	ca.sfd = s.sfd;
	ca.p = p;
	if (dmt_child_start(&c, child_cow, &ca) < 0) {
		tap_fail_rest("fork failed");
		return;
	}

	r = dmt_snap_summary(s.sfd, p, LEN, &sn);
	if (!tap_ok(r == 0 && sn.write == 0,
		    "after fork no writable device entry is left on the COW-shared pages"))
		dmt_snap_diag("after fork", &sn);
	dmt_session_info(s.sfd, 0, &i1);
	if (!tap_ok(i1.stats.invalidations > i0.stats.invalidations,
		    "fork's write-protection invalidated the mirror (stats.invalidations grew)"))
		tap_diag("invalidations %llu -> %llu",
			 (unsigned long long)i0.stats.invalidations,
			 (unsigned long long)i1.stats.invalidations);

	r = dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS);
	tap_errno(r < 0 ? r : v, EBUSY,
		  "the forked child (another mm) cannot use the inherited session -> EBUSY");

	/* device entries now point at pages shared with the child */
	r = dmt_dev_read(s.sfd, p, buf, LEN);
	if (r == 0)
		r = dmt_snap_summary(s.sfd, p, LEN, &sn);
	if (!tap_ok(r == 0 && sn.read == PAGES && sn.write == 0 &&
		    dmt_pattern_check(buf, LEN, 71, 0) < 0,
		    "device READ after fork maps the COW-shared pages read-only, with the pre-fork bytes"))
		dmt_snap_diag("after the read", &sn);
	dmt_pattern_fill(p, 2 * DMT_PAGE, 73, 0);	/* COW break by the CPU */
	memcpy(want, p, LEN);
	if (r == 0)
		r = dmt_dev_read(s.sfd, p, buf, LEN);
	if (!tap_ok(r == 0 && !memcmp(buf, want, LEN),
		    "parent CPU writes to COW-shared pages (COW break) are seen by its device READ"))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, want, LEN));

	dmt_pattern_fill(buf, 2 * DMT_PAGE, 74, 4 * DMT_PAGE);
	r = dmt_dev_write(s.sfd, p + 4 * DMT_PAGE, buf, 2 * DMT_PAGE);
	memcpy(want + 4 * DMT_PAGE, buf, 2 * DMT_PAGE);
	if (!tap_ok(r == 0 && !memcmp(p, want, LEN),
		    "parent device WRITE to COW-shared pages lands in the parent's memory"))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(p, want, LEN));

	if (dmt_send_i64(c.sock, CMD_WRITE) < 0 ||
	    dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS) < 0) {
		tap_fail_rest("child did not write");
		return;
	}
	r = dmt_dev_read(s.sfd, p, buf, LEN);
	if (!tap_ok(r == 0 && !memcmp(buf, want, LEN),
		    "the child's writes are not seen by the parent's device READ"))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, want, LEN));

	r = dmt_send_i64(c.sock, CMD_CHECK);
	if (r == 0)
		r = dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS);
	if (!tap_ok(r == 0 && v == -1,
		    "the child's memory holds only its own and pre-fork bytes (no leak of the parent's CPU or device writes)"))
		tap_diag("ret %s first difference in the child at %lld",
			 tap_errname(-r), (long long)v);
	dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);
}

/* Child of the shared test: write pages 0-1, then check pages 2-3. */
static int child_shared(int sock, void *argp)
{
	uint8_t *p = argp;
	int64_t cmd;

	dmt_pattern_fill(p, 2 * DMT_PAGE, 82, 0);
	dmt_send_i64(sock, 0);
	if (dmt_recv_i64(sock, &cmd, DMT_CHILD_TIMEOUT_MS) < 0 || cmd != CMD_CHECK)
		return 1;
	dmt_send_i64(sock, dmt_pattern_check(p + 2 * DMT_PAGE, 2 * DMT_PAGE, 83,
					     2 * DMT_PAGE));
	return 0;
}

static void g_shared(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	uint8_t buf[4 * DMT_PAGE];
	int64_t v = 0;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, 4 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	dmt_pattern_fill(m.addr, m.len, 81, 0);
	if (dmt_mirror_add(s.sfd, m.addr, m.len, DAXMIRROR_MIRROR_WRITE, NULL) < 0 ||
	    dmt_fault(s.sfd, m.addr, m.len, DAXMIRROR_FAULT_WRITE) < 0 ||
	    dmt_child_start(&c, child_shared, m.addr) < 0 ||
	    dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS) < 0) {
		tap_fail_rest("mirror/prefetch/child failed");
		return;
	}
	r = dmt_dev_read(s.sfd, m.addr, buf, m.len);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, 2 * DMT_PAGE, 82, 0) < 0 &&
		    dmt_pattern_check(buf + 2 * DMT_PAGE, 2 * DMT_PAGE, 81,
				      2 * DMT_PAGE) < 0,
		    "shared anonymous memory: the child's CPU writes are seen by the parent's device READ"))
		tap_diag("ret %s", tap_errname(-r));
	dmt_pattern_fill(buf, 2 * DMT_PAGE, 83, 2 * DMT_PAGE);
	r = dmt_dev_write(s.sfd, (uint8_t *)m.addr + 2 * DMT_PAGE, buf, 2 * DMT_PAGE);
	if (r == 0)
		r = dmt_send_i64(c.sock, CMD_CHECK);
	if (r == 0)
		r = dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS);
	if (!tap_ok(r == 0 && v == -1,
		    "shared anonymous memory: the parent's device WRITE is seen by the child"))
		tap_diag("ret %s child difference at %lld", tap_errname(-r),
			 (long long)v);
	dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);
}

/* Child of the exit test: bind, mirror, prefetch, report, wait, exit with
 * the mirror still in place. */
static int child_exit(int sock, void *argp)
{
	const int *sfd = argp;
	struct dmt_map m = DMT_MAP_INIT;
	int64_t cmd;
	int r;

	r = dmt_bind(*sfd);
	if (r == 0)
		r = dmt_map_anon(&m, 16 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0);
	if (r == 0) {
		dmt_pattern_fill(m.addr, m.len, 91, 0);
		r = dmt_mirror_add(*sfd, m.addr, m.len, DAXMIRROR_MIRROR_WRITE, NULL);
	}
	if (r == 0)
		r = dmt_fault(*sfd, m.addr, m.len, DAXMIRROR_FAULT_WRITE);
	dmt_send_i64(sock, r);
	dmt_recv_i64(sock, &cmd, DMT_CHILD_TIMEOUT_MS);
	return r ? 1 : 0;
}

static void g_exit(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	_cleanup_free_ struct daxmirror_mirror_info *mi = NULL;
	struct daxmirror_session_info info;
	struct daxmirror_event ev;
	bool all_released = true;
	uint32_t n = 0;
	int64_t v = -1;
	int r, rev;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, false) < 0 ||
	    dmt_child_start(&c, child_exit, &s.sfd) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r = dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS);
	if (r < 0 || v != 0) {
		tap_fail_rest("the child could not bind/mirror/prefetch: %s",
			      tap_errname(r < 0 ? -r : (int)-v));
		return;
	}
	r = dmt_session_info(s.ctl, s.id, &info);
	if (r < 0 || info.stats.entries[DAXMIRROR_ORDER_4K] != 16)
		tap_diag("before exit: ret %s, %llu 4K entries (16 expected)",
			 tap_errname(-r),
			 (unsigned long long)info.stats.entries[DAXMIRROR_ORDER_4K]);
	dmt_send_i64(c.sock, 1);
	dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);

	r = dmt_event_wait(s.sfd, DAXMIRROR_EVENT_MM_RELEASED, s.id,
			   DMT_EVENT_TIMEOUT_MS, &ev);
	tap_success(r, "exit of the bound process: MM_RELEASED event on the (dup'ed) session fd");
	rev = dmt_poll(s.sfd, POLLIN, 1000);
	if (!tap_ok(rev > 0 && (rev & POLLHUP), "poll on the session fd reports POLLHUP"))
		tap_diag("revents 0x%x", rev);
	r = dmt_session_info(s.ctl, s.id, &info);
	if (!tap_ok(r == 0 && info.state == DAXMIRROR_STATE_MM_GONE,
		    "SESSION_INFO: state MM_GONE"))
		tap_diag("ret %s state %u", tap_errname(-r), info.state);
	if (!tap_ok(r == 0 && info.stats.entries[0] == 0 && info.stats.entries[1] == 0 &&
		    info.stats.entries[2] == 0,
		    "no device page-table entry left"))
		tap_diag("entries %llu/%llu/%llu",
			 (unsigned long long)info.stats.entries[0],
			 (unsigned long long)info.stats.entries[1],
			 (unsigned long long)info.stats.entries[2]);
	if (!tap_ok(r == 0 && info.nr_mirrors == 0 && info.mirrored_pages == 0,
		    "no live mirror left (nr_mirrors 0, mirrored_pages 0)"))
		tap_diag("nr_mirrors %u mirrored_pages %llu", info.nr_mirrors,
			 (unsigned long long)info.mirrored_pages);
	r = dmt_mirror_list(s.ctl, s.id, &mi, &n);
	for (uint32_t i = 0; r == 0 && i < n; i++)
		all_released &= mi[i].state == DAXMIRROR_MIRROR_RELEASED;
	if (!tap_ok(r == 0 && n == 1 && all_released,
		    "MIRROR_LIST: the exited process's mirror is RELEASED"))
		tap_diag("ret %s count %u", tap_errname(-r), n);
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "copy-on-write after fork", 8, g_cow, NULL },
		{ "shared anonymous memory across fork", 2, g_shared, NULL },
		{ "exit of the bound process", 6, g_exit, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 300);
}
