/* test-anon.c - mirrors of anonymous memory: device reads and writes
 * byte-exact both ways, stats accounting, the policy (ALLOW_ANON,
 * ALLOW_WRITE, PROT_READ mappings, read-only mirrors, VM_PFNMAP vvar),
 * transparent huge pages as one order-9 entry, and invalidation by munmap
 * (MIRROR_RELEASED), partial munmap and mprotect. Runs in the guest. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt.h"

#define PAGES 16

static void g_data(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map fresh = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map shared = DMT_MAP_INIT;
	_cleanup_free_ uint8_t *buf = malloc(PAGES * DMT_PAGE);
	_cleanup_free_ uint8_t *want = malloc(PAGES * DMT_PAGE);
	struct daxmirror_session_info i0, i1;
	const size_t len = PAGES * DMT_PAGE;
	const size_t woff = 1000, wlen = 3 * DMT_PAGE + 77;
	const size_t roff = 4097, rlen = 5000;
	struct dmt_snap sn;
	uint64_t mid = 0;
	ssize_t d;
	int r;

	(void)arg;
	if (!buf || !want || dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, len, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	dmt_pattern_fill(m.addr, len, 11, 0);

	r = dmt_mirror_add(s.sfd, m.addr, len, DAXMIRROR_MIRROR_WRITE, &mid);
	if (r == 0)
		r = dmt_snap_summary(s.sfd, m.addr, len, &sn);
	if (!tap_ok(r == 0 && sn.none == PAGES,
		    "a new writable mirror of %d pages has no device entries yet", PAGES))
		dmt_snap_diag("snapshot", &sn);
	if (r < 0) {
		tap_fail_rest("MIRROR_ADD: %s", tap_errname(-r));
		return;
	}

	dmt_session_info(s.sfd, 0, &i0);
	r = dmt_dev_read(s.sfd, m.addr, buf, len);
	d = dmt_pattern_check(buf, len, 11, 0);
	if (!tap_ok(r == 0 && d < 0, "device READ returns the CPU's bytes"))
		tap_diag("ret %s first difference at %zd", tap_errname(-r), d);
	dmt_session_info(s.sfd, 0, &i1);
	if (!tap_ok(i1.stats.bytes_read - i0.stats.bytes_read == len &&
		    i1.stats.device_faults > i0.stats.device_faults &&
		    i1.stats.range_faults > i0.stats.range_faults,
		    "stats: bytes_read grows by exactly %zu, device faults counted", len))
		tap_diag("bytes_read +%llu device_faults +%llu range_faults +%llu",
			 (unsigned long long)(i1.stats.bytes_read - i0.stats.bytes_read),
			 (unsigned long long)(i1.stats.device_faults - i0.stats.device_faults),
			 (unsigned long long)(i1.stats.range_faults - i0.stats.range_faults));

	r = dmt_snap_summary(s.sfd, m.addr, len, &sn);
	if (!tap_ok(r == 0 && sn.none == 0 && sn.bad_state == 0 &&
		    sn.order_pages[DAXMIRROR_ORDER_4K] == PAGES &&
		    sn.dax == 0 && sn.zone_device == 0,
		    "after the read every page has a 4K entry, neither DAX nor ZONE_DEVICE"))
		dmt_snap_diag("snapshot", &sn);

	dmt_pattern_fill(m.addr, len, 12, 0);
	r = dmt_dev_read(s.sfd, m.addr, buf, len);
	d = dmt_pattern_check(buf, len, 12, 0);
	if (!tap_ok(r == 0 && d < 0, "device READ sees later CPU writes"))
		tap_diag("ret %s first difference at %zd", tap_errname(-r), d);

	dmt_session_info(s.sfd, 0, &i0);
	dmt_pattern_fill(want, len, 12, 0);
	dmt_pattern_fill(want + woff, wlen, 13, 0);
	r = dmt_dev_write(s.sfd, (uint8_t *)m.addr + woff, want + woff, wlen);
	d = dmt_first_diff(m.addr, want, len);
	if (!tap_ok(r == 0 && d < 0,
		    "device WRITE of %zu bytes at offset %zu is seen by the CPU, nothing else changes",
		    wlen, woff))
		tap_diag("ret %s first difference at %zd", tap_errname(-r), d);
	dmt_session_info(s.sfd, 0, &i1);
	tap_eq(i1.stats.bytes_written - i0.stats.bytes_written, wlen,
	       "stats: bytes_written grows by exactly %zu", wlen);

	memset(buf, 0, rlen);
	r = dmt_dev_read(s.sfd, (uint8_t *)m.addr + roff, buf, rlen);
	d = dmt_first_diff(buf, (uint8_t *)m.addr + roff, rlen);
	if (!tap_ok(r == 0 && d < 0,
		    "device READ at an unaligned address and length (%zu+%zu)", roff, rlen))
		tap_diag("ret %s first difference at %zd", tap_errname(-r), d);

	/* never touched by the CPU: the device faults zero pages in */
	r = dmt_map_anon(&fresh, 4 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0);
	if (r == 0)
		r = dmt_mirror_add(s.sfd, fresh.addr, fresh.len, 0, NULL);
	memset(buf, 0xa5, fresh.len);
	if (r == 0)
		r = dmt_dev_read(s.sfd, fresh.addr, buf, fresh.len);
	if (!tap_ok(r == 0 && dmt_all_bytes(buf, fresh.len, 0),
		    "device READ of never-touched anonymous memory returns zeros"))
		tap_diag("ret %s", tap_errname(-r));

	r = dmt_map_anon(&shared, 4 * DMT_PAGE, 0, PROT_READ | PROT_WRITE,
			 MAP_SHARED);
	if (r == 0) {
		dmt_pattern_fill(shared.addr, shared.len, 14, 0);
		r = dmt_mirror_add(s.sfd, shared.addr, shared.len,
				   DAXMIRROR_MIRROR_WRITE, NULL);
	}
	if (r == 0)
		r = dmt_dev_read(s.sfd, shared.addr, buf, shared.len);
	d = r ? 0 : dmt_pattern_check(buf, shared.len, 14, 0);
	dmt_pattern_fill(want, shared.len, 15, 0);
	if (r == 0 && d < 0)
		r = dmt_dev_write(s.sfd, shared.addr, want, shared.len);
	if (!tap_ok(r == 0 && d < 0 && !memcmp(shared.addr, want, shared.len),
		    "MAP_SHARED|MAP_ANONYMOUS memory: device read and write byte-exact"))
		tap_diag("ret %s read difference at %zd", tap_errname(-r), d);
}

static void g_policy(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_session_ struct dmt_session noanon = DMT_SESSION_INIT;
	_cleanup_session_ struct dmt_session nowrite = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map ro = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map rw = DMT_MAP_INIT;
	uint8_t buf[4 * DMT_PAGE];
	uintptr_t vs = 0, ve = 0;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_session_open(&noanon, DAXMIRROR_SESSION_ALLOW_WRITE, 0, 0, true) < 0 ||
	    dmt_session_open(&nowrite, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, true) < 0 ||
	    dmt_map_anon(&ro, sizeof(buf), 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_map_anon(&rw, sizeof(buf), 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	dmt_pattern_fill(ro.addr, ro.len, 21, 0);
	dmt_pattern_fill(rw.addr, rw.len, 22, 0);
	if (mprotect(ro.addr, ro.len, PROT_READ) < 0) {
		tap_fail_rest("mprotect: %s", tap_errname(errno));
		return;
	}

	tap_errno(dmt_mirror_add(s.sfd, ro.addr, ro.len, DAXMIRROR_MIRROR_WRITE, NULL),
		  EPERM, "writable mirror of a PROT_READ mapping -> EPERM");
	r = dmt_mirror_add(s.sfd, ro.addr, ro.len, 0, NULL);
	if (r == 0)
		r = dmt_dev_read(s.sfd, ro.addr, buf, ro.len);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, ro.len, 21, 0) < 0,
		    "read-only mirror of a PROT_READ mapping: device READ byte-exact"))
		tap_diag("ret %s", tap_errname(-r));
	memset(buf, 0x5a, sizeof(buf));
	r = dmt_dev_write(s.sfd, ro.addr, buf, 64);
	if (!tap_ok(r == -EPERM && dmt_pattern_check(ro.addr, ro.len, 21, 0) < 0,
		    "device WRITE through a read-only mirror of a PROT_READ mapping -> EPERM, memory unchanged"))
		tap_diag("ret %s, memory %s", tap_errname(-r),
			 dmt_pattern_check(ro.addr, ro.len, 21, 0) < 0 ?
			 "unchanged" : "modified");

	r = dmt_mirror_add(s.sfd, rw.addr, rw.len, 0, NULL);
	tap_errno(r < 0 ? r : dmt_dev_write(s.sfd, rw.addr, buf, 64), EPERM,
		  "device WRITE through a read-only mirror of a writable mapping -> EPERM");
	tap_errno(r < 0 ? r : dmt_fault(s.sfd, rw.addr, rw.len, DAXMIRROR_FAULT_WRITE),
		  EPERM, "FAULT_WRITE on a read-only mirror -> EPERM");

	tap_errno(dmt_mirror_add(noanon.sfd, rw.addr, rw.len, 0, NULL), EPERM,
		  "a session without ALLOW_ANON refuses anonymous memory -> EPERM");
	tap_errno(dmt_mirror_add(nowrite.sfd, rw.addr, rw.len, DAXMIRROR_MIRROR_WRITE,
				 NULL),
		  EPERM, "a session without ALLOW_WRITE refuses a writable mirror -> EPERM");
	r = dmt_mirror_add(nowrite.sfd, rw.addr, rw.len, 0, NULL);
	if (r == 0)
		r = dmt_dev_read(nowrite.sfd, rw.addr, buf, rw.len);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, rw.len, 22, 0) < 0,
		    "a session without ALLOW_WRITE accepts a read-only mirror and reads"))
		tap_diag("ret %s", tap_errname(-r));

	r = dmt_find_mapping("[vvar]", &vs, &ve);
	if (r < 0)
		tap_ok(false, "vvar mapping (VM_PFNMAP|VM_IO) -> EOPNOTSUPP: no [vvar] in /proc/self/maps");
	else
		tap_errno(dmt_mirror_add(s.sfd, (void *)vs, ve - vs, 0, NULL),
			  EOPNOTSUPP, "mirror of the [vvar] mapping (VM_PFNMAP|VM_IO) -> EOPNOTSUPP");
}

static void g_thp(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_free_ uint8_t *buf = NULL;
	struct daxmirror_session_info info;
	struct daxmirror_mirror_info mi;
	const size_t len = 2 * DMT_2M;
	struct dmt_snap sn;
	uint64_t mid = 0;
	long huge;
	int r;

	(void)arg;
	if (dmt_thp_unusable()) {
		tap_skip_rest("transparent hugepages are %s", dmt_thp_unusable());
		return;
	}
	buf = malloc(len);
	if (!buf || dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, len, DMT_2M, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	if (madvise(m.addr, len, MADV_HUGEPAGE) < 0) {
		tap_skip_rest("madvise(MADV_HUGEPAGE): %s", tap_errname(errno));
		return;
	}
	dmt_pattern_fill(m.addr, len, 31, 0);
	huge = dmt_smaps_kb(m.addr, "AnonHugePages");
	if (huge < (long)(len >> 10)) {
		char mode[32] = "";

		dmt_thp_mode(mode, sizeof(mode));
		tap_skip_rest("the kernel gave %ld kB of huge pages, not %zu (THP mode %s)",
			      huge, len >> 10, mode);
		return;
	}
	r = dmt_mirror_add(s.sfd, m.addr, len, 0, &mid);
	if (r == 0)
		r = dmt_fault(s.sfd, m.addr, len, 0);
	if (r < 0) {
		tap_fail_rest("MIRROR_ADD/FAULT of the THP region: %s", tap_errname(-r));
		return;
	}
	r = dmt_snap_summary(s.sfd, m.addr, len, &sn);
	if (!tap_ok(r == 0 && sn.order_pages[DAXMIRROR_ORDER_2M] == len / DMT_PAGE &&
		    sn.entries[DAXMIRROR_ORDER_2M] == 2 && sn.misplaced == 0,
		    "THP: every page of the prefetched 4 MiB shows order 2M (2 entries)"))
		dmt_snap_diag("snapshot", &sn);
	r = dmt_session_info(s.sfd, 0, &info);
	if (!tap_ok(r == 0 && info.stats.entries[DAXMIRROR_ORDER_2M] == 2 &&
		    info.stats.entries[DAXMIRROR_ORDER_4K] == 0,
		    "THP: session stats count 2 order-9 entries and no 4K entry"))
		tap_diag("entries 4K %llu 2M %llu 1G %llu",
			 (unsigned long long)info.stats.entries[0],
			 (unsigned long long)info.stats.entries[1],
			 (unsigned long long)info.stats.entries[2]);
	r = dmt_mirror_get(s.sfd, 0, mid, &mi);
	if (!tap_ok(r == 0 && mi.entries[DAXMIRROR_ORDER_2M] == 2 &&
		    mi.entries[DAXMIRROR_ORDER_4K] == 0 &&
		    mi.backing == DAXMIRROR_BACKING_ANON,
		    "THP: MIRROR_LIST agrees (2 order-9 entries, anonymous)"))
		tap_diag("ret %s entries 4K %llu 2M %llu backing %u", tap_errname(-r),
			 (unsigned long long)mi.entries[0],
			 (unsigned long long)mi.entries[1], mi.backing);
	r = dmt_dev_read(s.sfd, m.addr, buf, len);
	tap_ok(r == 0 && dmt_pattern_check(buf, len, 31, 0) < 0,
	       "THP: device READ through the 2M entries is byte-exact");
}

static void g_munmap(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_free_ struct daxmirror_mirror_info *list = NULL;
	struct daxmirror_session_info info;
	struct daxmirror_mirror_info mi;
	struct daxmirror_event ev;
	uint8_t buf[64];
	_cleanup_map_ struct dmt_map again = DMT_MAP_INIT;
	uint64_t mid = 0, mid2 = 0;
	uint32_t n = 99;
	void *addr;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, 8 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	dmt_pattern_fill(m.addr, m.len, 41, 0);
	if (dmt_mirror_add(s.sfd, m.addr, m.len, DAXMIRROR_MIRROR_WRITE, &mid) < 0 ||
	    dmt_fault(s.sfd, m.addr, m.len, DAXMIRROR_FAULT_WRITE) < 0) {
		tap_fail_rest("mirror/prefetch failed");
		return;
	}
	addr = m.addr;
	dmt_unmap(&m);

	r = dmt_event_wait(s.sfd, DAXMIRROR_EVENT_MIRROR_RELEASED, s.id,
			   DMT_EVENT_TIMEOUT_MS, &ev);
	if (!tap_ok(r == 0 && ev.mirror_id == mid,
		    "munmap of the whole mirror: POLLIN, then a MIRROR_RELEASED event for it"))
		tap_diag("ret %s mirror_id %llu (want %llu)", tap_errname(-r),
			 (unsigned long long)ev.mirror_id, (unsigned long long)mid);
	r = dmt_mirror_get(s.sfd, 0, mid, &mi);
	if (!tap_ok(r == 0 && mi.state == DAXMIRROR_MIRROR_RELEASED &&
		    mi.entries[0] == 0 && mi.entries[1] == 0 && mi.entries[2] == 0,
		    "MIRROR_LIST: the mirror is RELEASED with no entries"))
		tap_diag("ret %s state %u entries %llu/%llu/%llu", tap_errname(-r),
			 mi.state, (unsigned long long)mi.entries[0],
			 (unsigned long long)mi.entries[1],
			 (unsigned long long)mi.entries[2]);
	r = dmt_session_info(s.sfd, 0, &info);
	if (!tap_ok(r == 0 && info.nr_mirrors == 0 && info.mirrored_pages == 0,
		    "SESSION_INFO: a released mirror is not live (0 mirrors, 0 pages)"))
		tap_diag("nr_mirrors %u mirrored_pages %llu", info.nr_mirrors,
			 (unsigned long long)info.mirrored_pages);
	tap_errno(dmt_dev_read(s.sfd, addr, buf, sizeof(buf)), ENOENT,
		  "device READ of a released mirror -> ENOENT");

	r = dmt_mirror_remove(s.sfd, mid);
	if (r == 0)
		r = dmt_mirror_list(s.sfd, 0, &list, &n);
	if (!tap_ok(r == 0 && n == 0, "MIRROR_REMOVE of a released mirror; the list is empty"))
		tap_diag("ret %s count %u", tap_errname(-r), n);

	/* a second released mirror, left in place: its range is free again */
	r = dmt_map_anon(&m, 8 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0);
	if (r == 0)
		r = dmt_mirror_add(s.sfd, m.addr, m.len, 0, &mid);
	addr = m.addr;
	dmt_unmap(&m);
	if (r == 0)
		r = dmt_event_wait(s.sfd, DAXMIRROR_EVENT_MIRROR_RELEASED, s.id,
				   DMT_EVENT_TIMEOUT_MS, &ev);
	if (r < 0) {
		tap_fail_rest("second mirror: %s", tap_errname(-r));
		return;
	}
	/* the range is free again: map it anew and mirror it */
	again.addr = mmap(addr, 8 * DMT_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (again.addr == MAP_FAILED) {
		again.addr = NULL;
		tap_skip(tap_errname(errno), "a released mirror does not block a new mirror of its range");
	} else {
		again.len = 8 * DMT_PAGE;
		r = dmt_mirror_add(s.sfd, again.addr, again.len, 0, &mid2);
		if (tap_success(r, "a released mirror does not block a new mirror of its range"))
			dmt_mirror_remove(s.sfd, mid2);
	}
}

static void g_mprotect(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	uint8_t want[8 * DMT_PAGE], buf[8 * DMT_PAGE];
	uint8_t *p, snap[8];
	bool writable_left = false, others_kept = true;
	int r, r1, r2;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, 8 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	p = m.addr;
	dmt_pattern_fill(p, m.len, 51, 0);
	if (dmt_mirror_add(s.sfd, p, m.len, DAXMIRROR_MIRROR_WRITE, NULL) < 0 ||
	    dmt_fault(s.sfd, p, m.len, DAXMIRROR_FAULT_WRITE) < 0 ||
	    mprotect(p + 2 * DMT_PAGE, 2 * DMT_PAGE, PROT_READ) < 0) {
		tap_fail_rest("mirror/prefetch/mprotect failed");
		return;
	}
	r = dmt_snapshot(s.sfd, p, m.len, snap);
	for (int i = 0; i < 8; i++) {
		unsigned int st = snap[i] & DAXMIRROR_SNAP_STATE_MASK;

		if (i == 2 || i == 3)
			writable_left |= st == DAXMIRROR_SNAP_WRITE;
		else
			others_kept &= st == DAXMIRROR_SNAP_WRITE;
	}
	if (!tap_ok(r == 0 && !writable_left && others_kept,
		    "mprotect(PROT_READ) of pages 2-3: no writable entry left there, the others kept"))
		tap_diag("ret %s snapshot %02x %02x %02x %02x %02x %02x %02x %02x",
			 tap_errname(-r), snap[0], snap[1], snap[2], snap[3],
			 snap[4], snap[5], snap[6], snap[7]);

	memcpy(want, p, m.len);
	dmt_pattern_fill(buf, m.len, 52, 0);
	tap_errno(dmt_dev_write(s.sfd, p + 2 * DMT_PAGE + 8, buf, 64), EPERM,
		  "device WRITE into the PROT_READ part -> EPERM");
	r1 = dmt_dev_write(s.sfd, p, buf, 2 * DMT_PAGE);
	r2 = dmt_dev_write(s.sfd, p + 4 * DMT_PAGE, buf + 4 * DMT_PAGE, 4 * DMT_PAGE);
	memcpy(want, buf, 2 * DMT_PAGE);
	memcpy(want + 4 * DMT_PAGE, buf + 4 * DMT_PAGE, 4 * DMT_PAGE);
	if (!tap_ok(r1 == 0 && r2 == 0 && !memcmp(p, want, m.len),
		    "device WRITE elsewhere in the mirror still works; the PROT_READ pages unchanged"))
		tap_diag("ret %s / %s first difference %zd", tap_errname(-r1),
			 tap_errname(-r2), dmt_first_diff(p, want, m.len));
	r = dmt_dev_read(s.sfd, p + 2 * DMT_PAGE, buf, 2 * DMT_PAGE);
	if (r == 0)
		r = dmt_snapshot(s.sfd, p, m.len, snap);
	if (!tap_ok(r == 0 && !memcmp(buf, p + 2 * DMT_PAGE, 2 * DMT_PAGE) &&
		    (snap[2] & DAXMIRROR_SNAP_STATE_MASK) == DAXMIRROR_SNAP_READ &&
		    (snap[3] & DAXMIRROR_SNAP_STATE_MASK) == DAXMIRROR_SNAP_READ,
		    "device READ of the PROT_READ part works and maps it read-only"))
		tap_diag("ret %s snapshot pages 2,3: %02x %02x", tap_errname(-r),
			 snap[2], snap[3]);
}

static void g_partial(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	uint8_t buf[8 * DMT_PAGE], snap[8];
	uint8_t *p;
	int r, r1, r2;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, 8 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	p = m.addr;
	dmt_pattern_fill(p, m.len, 61, 0);
	if (dmt_mirror_add(s.sfd, p, m.len, 0, NULL) < 0 ||
	    dmt_fault(s.sfd, p, m.len, 0) < 0 ||
	    munmap(p + 3 * DMT_PAGE, 2 * DMT_PAGE) < 0) {
		tap_fail_rest("mirror/prefetch/munmap failed");
		return;
	}
	r = dmt_snapshot(s.sfd, p, m.len, snap);
	r1 = dmt_dev_read(s.sfd, p + 2 * DMT_PAGE, buf, 2 * DMT_PAGE);
	if (!tap_ok(r == 0 && (snap[3] & DAXMIRROR_SNAP_STATE_MASK) == 0 &&
		    (snap[4] & DAXMIRROR_SNAP_STATE_MASK) == 0 && r1 == -EFAULT,
		    "munmap of pages 3-4: their entries are gone, a device READ into the hole -> EFAULT"))
		tap_diag("snapshot ret %s pages 3,4: %02x %02x; read %s", tap_errname(-r),
			 snap[3], snap[4], tap_errname(-r1));
	r1 = dmt_dev_read(s.sfd, p, buf, 3 * DMT_PAGE);
	r2 = dmt_dev_read(s.sfd, p + 5 * DMT_PAGE, buf + 5 * DMT_PAGE, 3 * DMT_PAGE);
	if (!tap_ok(r1 == 0 && r2 == 0 &&
		    dmt_pattern_check(buf, 3 * DMT_PAGE, 61, 0) < 0 &&
		    dmt_pattern_check(buf + 5 * DMT_PAGE, 3 * DMT_PAGE, 61,
				      5 * DMT_PAGE) < 0,
		    "the rest of the partially unmapped mirror still reads byte-exact"))
		tap_diag("ret %s / %s", tap_errname(-r1), tap_errname(-r2));
	/* the cleanup unmaps the whole range; the hole is harmless */
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "anonymous memory: data", 10, g_data, NULL },
		{ "anonymous memory: policy", 9, g_policy, NULL },
		{ "transparent huge pages", 4, g_thp, NULL },
		{ "munmap releases the mirror", 6, g_munmap, NULL },
		{ "mprotect of part of a writable mirror", 4, g_mprotect, NULL },
		{ "partial munmap", 2, g_partial, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 300);
}
