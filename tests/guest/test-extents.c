/* test-extents.c - DAXMIRROR_IOC_SNAPSHOT_EXTENTS, the extent form of the
 * snapshot: one record per device entry. For anonymous 4 KiB pages, THP
 * and PMD-mapped DAX (ext4 -o dax) it checks the records' count, starts,
 * orders and bits, that they agree page by page with the per-page
 * SNAPSHOT, the true start of a huge entry that begins before the range,
 * the merge of 2 MiB and 4 KiB levels in address order, resumption with
 * a small capacity (count, next), and the errnos of bad input. Runs in the
 * guest as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmt.h"

#define ANON_RW		(DAXMIRROR_SESSION_ALLOW_ANON | DAXMIRROR_SESSION_ALLOW_WRITE)
#define DAX_LEN		(8UL << 20)		/* 4 blocks of 2 MiB */
#define DAX_BLOCKS	(DAX_LEN / DMT_2M)
#define MAX_REC		1024

static const uint64_t order_size[DAXMIRROR_NR_ORDERS] = {
	DMT_PAGE, DMT_2M, 1UL << 30,
};

static long extents(int sfd, uint64_t addr, uint64_t len,
		    struct daxmirror_extent *ext, uint32_t cap,
		    uint32_t *count, uint64_t *next)
{
	struct daxmirror_snapshot_extents a = {
		.addr = addr, .length = len,
		.extents = (uintptr_t)ext, .capacity = cap,
	};
	long r = dmt_ioctl(sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a);

	if (r == 0) {
		*count = a.count;
		*next = a.next;
	}
	return r;
}

/* Every record of [addr, addr + len) with capacity @cap per call; the
 * number of calls in *calls, 0 or -errno (-EPROTO: a bad next). */
static long extents_all(int sfd, uint64_t addr, uint64_t len,
			struct daxmirror_extent *ext, uint32_t cap,
			uint32_t *total, unsigned int *calls)
{
	uint64_t a = addr, end = addr + len, next = 0;
	uint32_t n = 0;
	long r;

	*total = 0;
	*calls = 0;
	while (a < end) {
		if (*total + cap > MAX_REC)
			return -E2BIG;
		r = extents(sfd, a, end - a, ext + *total, cap, &n, &next);
		if (r < 0)
			return r;
		++*calls;
		*total += n;
		if (next != end && (n != cap || next != ext[*total - 1].start +
				    order_size[ext[*total - 1].order]))
			return -EPROTO;
		if (next <= a)
			return -EPROTO;
		a = next;
	}
	return 0;
}

/* Records sorted, not overlapping, each overlapping the range, and equal
 * page by page to the per-page SNAPSHOT (pages without a record NONE). */
static bool agrees(int sfd, const void *addr, size_t len,
		   const struct daxmirror_extent *ext, uint32_t n)
{
	_cleanup_free_ uint8_t *pages = NULL, *seen = NULL;
	uint64_t lo = (uintptr_t)addr, hi = lo + len, prev_end = 0;
	size_t np = len / DMT_PAGE;

	seen = calloc(np, 1);
	if (!seen || dmt_snapshot_alloc(sfd, addr, len, &pages) < 0) {
		tap_diag("per-page SNAPSHOT failed: %s", strerror(errno));
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct daxmirror_extent *e = &ext[i];
		uint64_t size, s, t;

		if (e->order >= DAXMIRROR_NR_ORDERS ||
		    (e->flags & ~(DAXMIRROR_SNAP_STATE_MASK |
				  DAXMIRROR_SNAP_ZONE_DEVICE |
				  DAXMIRROR_SNAP_DAX)) ||
		    (e->flags & DAXMIRROR_SNAP_STATE_MASK) == DAXMIRROR_SNAP_NONE) {
			tap_diag("record %u: order %u flags 0x%x", i, e->order, e->flags);
			return false;
		}
		size = order_size[e->order];
		if (e->start % size || e->start < prev_end ||
		    e->start >= hi || e->start + size <= lo) {
			tap_diag("record %u: start 0x%llx order %u misplaced", i,
				 (unsigned long long)e->start, e->order);
			return false;
		}
		prev_end = e->start + size;
		s = e->start > lo ? e->start : lo;
		t = prev_end < hi ? prev_end : hi;
		for (uint64_t p = s; p < t; p += DMT_PAGE) {
			size_t k = (p - lo) / DMT_PAGE;
			uint8_t want = e->flags | e->order << DAXMIRROR_SNAP_ORDER_SHIFT;

			if (pages[k] != want) {
				tap_diag("page %zu: byte 0x%02x, record %u says 0x%02x",
					 k, pages[k], i, want);
				return false;
			}
			seen[k] = 1;
		}
	}
	for (size_t k = 0; k < np; k++)
		if (!seen[k] && pages[k] != DAXMIRROR_SNAP_NONE) {
			tap_diag("page %zu: byte 0x%02x but no record", k, pages[k]);
			return false;
		}
	return true;
}

static void g_anon(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_extent ext[MAX_REC];
	const size_t len = 16 * DMT_PAGE;
	uint64_t base, next = 0;
	unsigned int calls = 0;
	uint32_t n = 0;
	bool ok;
	long r;

	(void)arg;
	if (dmt_session_open(&s, ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, len, DMT_2M, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	madvise(m.addr, len, MADV_NOHUGEPAGE);
	memset(m.addr, 0x5a, len);
	base = (uintptr_t)m.addr;
	r = dmt_mirror_add(s.sfd, m.addr, len, DAXMIRROR_MIRROR_WRITE, NULL);
	if (r == 0)
		r = dmt_fault(s.sfd, m.addr, 8 * DMT_PAGE, 0);
	if (r == 0)
		r = dmt_fault(s.sfd, (uint8_t *)m.addr + 10 * DMT_PAGE,
			      2 * DMT_PAGE, DAXMIRROR_FAULT_WRITE);
	if (r < 0) {
		tap_fail_rest("MIRROR_ADD/FAULT: %s", tap_errname((int)-r));
		return;
	}

	r = extents(s.sfd, base, len, ext, MAX_REC, &n, &next);
	ok = r == 0 && n == 10 && next == base + len;
	for (uint32_t i = 0; ok && i < n; i++)
		ok = ext[i].order == DAXMIRROR_ORDER_4K &&
		     ext[i].start == base + (i < 8 ? i : i + 2) * DMT_PAGE &&
		     !(ext[i].flags & (DAXMIRROR_SNAP_DAX | DAXMIRROR_SNAP_ZONE_DEVICE));
	if (!tap_ok(ok, "anon 4 KiB: 10 records for pages 0-7 and 10-11, order 4K, no DAX bits, next = end"))
		tap_diag("ret %s count %u next 0x%llx (end 0x%llx)", tap_errname((int)-r),
			 n, (unsigned long long)next, (unsigned long long)(base + len));
	tap_ok(r == 0 && n == 10 &&
	       (ext[8].flags & DAXMIRROR_SNAP_STATE_MASK) == DAXMIRROR_SNAP_WRITE &&
	       (ext[9].flags & DAXMIRROR_SNAP_STATE_MASK) == DAXMIRROR_SNAP_WRITE,
	       "anon 4 KiB: the write-faulted pages are WRITE records");
	tap_ok(r == 0 && agrees(s.sfd, m.addr, len, ext, n),
	       "anon 4 KiB: the records equal the per-page SNAPSHOT byte for byte");

	r = extents(s.sfd, base + 8 * DMT_PAGE, 2 * DMT_PAGE, ext, MAX_REC, &n, &next);
	tap_ok(r == 0 && n == 0 && next == base + 10 * DMT_PAGE,
	       "anon 4 KiB: pages without entries give no record (count 0, next = end)");

	r = extents_all(s.sfd, base, len, ext, 3, &n, &calls);
	ok = r == 0 && n == 10 && calls == 4;
	for (uint32_t i = 0; ok && i < n; i++)
		ok = ext[i].start == base + (i < 8 ? i : i + 2) * DMT_PAGE;
	if (!tap_ok(ok, "anon 4 KiB: capacity 3 resumes through next: 3+3+3+1 records in 4 calls"))
		tap_diag("ret %s count %u calls %u", tap_errname((int)-r), n, calls);

	r = extents(s.sfd, base, len, ext, 8, &n, &next);
	tap_ok(r == 0 && n == 8 && next == base + 8 * DMT_PAGE,
	       "anon 4 KiB: capacity 8 stops at the 8th record, next = its end");
}

static void g_thp(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_extent ext[MAX_REC];
	const size_t len = 2 * DMT_2M;
	uint64_t base, next = 0;
	uint32_t n = 0;
	long huge, r;

	(void)arg;
	if (dmt_thp_unusable()) {
		tap_skip_rest("transparent hugepages are %s", dmt_thp_unusable());
		return;
	}
	if (dmt_session_open(&s, ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, len, DMT_2M, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	if (madvise(m.addr, len, MADV_HUGEPAGE) < 0) {
		tap_skip_rest("madvise(MADV_HUGEPAGE): %s", tap_errname(errno));
		return;
	}
	memset(m.addr, 0x33, len);
	huge = dmt_smaps_kb(m.addr, "AnonHugePages");
	if (huge < (long)(len >> 10)) {
		char mode[32] = "";

		dmt_thp_mode(mode, sizeof(mode));
		tap_skip_rest("the kernel gave %ld kB of huge pages, not %zu (THP mode %s)",
			      huge, len >> 10, mode);
		return;
	}
	base = (uintptr_t)m.addr;
	r = dmt_mirror_add(s.sfd, m.addr, len, 0, NULL);
	if (r == 0)
		r = dmt_fault(s.sfd, m.addr, len, 0);
	if (r < 0) {
		tap_fail_rest("MIRROR_ADD/FAULT: %s", tap_errname((int)-r));
		return;
	}
	r = extents(s.sfd, base, len, ext, MAX_REC, &n, &next);
	if (!tap_ok(r == 0 && n == 2 && next == base + len &&
		    ext[0].start == base && ext[1].start == base + DMT_2M &&
		    ext[0].order == DAXMIRROR_ORDER_2M &&
		    ext[1].order == DAXMIRROR_ORDER_2M &&
		    !((ext[0].flags | ext[1].flags) &
		      (DAXMIRROR_SNAP_DAX | DAXMIRROR_SNAP_ZONE_DEVICE)),
		    "THP: 2 records of order 2M at the block starts, no DAX bits"))
		tap_diag("ret %s count %u", tap_errname((int)-r), n);
	tap_ok(r == 0 && agrees(s.sfd, m.addr, len, ext, n),
	       "THP: the records equal the per-page SNAPSHOT byte for byte");
	r = extents(s.sfd, base + DMT_2M + 5 * DMT_PAGE, DMT_PAGE, ext, MAX_REC, &n, &next);
	tap_ok(r == 0 && n == 1 && ext[0].start == base + DMT_2M &&
	       ext[0].order == DAXMIRROR_ORDER_2M &&
	       next == base + DMT_2M + 6 * DMT_PAGE,
	       "THP: one page inside block 1 reports the whole entry with its true start");
}

struct dax_setup {
	struct dmt_session s;
	struct dmt_file f;
	struct dmt_map m;
};

static void dax_teardown(struct dax_setup *d)
{
	dmt_unmap(&d->m);
	dmt_session_close(&d->s);
	dmt_file_remove(&d->f);
}

static void g_dax(const void *arg)
{
	__attribute__((cleanup(dax_teardown))) struct dax_setup d = {
		DMT_SESSION_INIT, DMT_FILE_INIT, DMT_MAP_INIT,
	};
	const char *dir = dmt_env_dir(DMT_ENV_EXT4_DAX);
	struct daxmirror_extent ext[MAX_REC];
	uint64_t base, next = 0, prev;
	unsigned int calls = 0;
	char why[256] = "";
	uint8_t *hole;
	uint32_t n = 0;
	bool ok;
	long r;

	(void)arg;
	if (!dir) {
		tap_fail_rest("no ext4 -o dax directory");
		return;
	}
	r = dmt_file_create_aligned(&d.f, dir, DAX_LEN, DMT_2M, 77, why, sizeof(why));
	if (r) {
		tap_fail_rest("no 2 MiB aligned file: %s (%ld)", why, r);
		return;
	}
	if (dmt_session_open(&d.s, 0, 0, 0, true) < 0 ||
	    dmt_grant(d.s.ctl, d.s.id, d.f.fd, 0, 0, DAX_LEN) < 0 ||
	    dmt_map_file(&d.m, DAX_LEN, DMT_2M, PROT_READ, d.f.fd, 0, false) < 0 ||
	    dmt_mirror_add(d.s.sfd, d.m.addr, DAX_LEN, 0, NULL) < 0 ||
	    dmt_fault(d.s.sfd, d.m.addr, DAX_LEN, 0) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	base = (uintptr_t)d.m.addr;
	r = extents(d.s.sfd, base, DAX_LEN, ext, MAX_REC, &n, &next);
	ok = r == 0 && n == DAX_BLOCKS && next == base + DAX_LEN;
	for (uint32_t i = 0; ok && i < n; i++)
		ok = ext[i].start == base + i * DMT_2M &&
		     ext[i].order == DAXMIRROR_ORDER_2M &&
		     ext[i].flags == (DAXMIRROR_SNAP_READ | DAXMIRROR_SNAP_DAX |
				      DAXMIRROR_SNAP_ZONE_DEVICE);
	if (!tap_ok(ok, "DAX PMD: %lu records, order 2M, READ|DAX|ZONE_DEVICE, at each block",
		    DAX_BLOCKS))
		tap_diag("ret %s count %u flags[0] 0x%x order[0] %u", tap_errname((int)-r),
			 n, n ? ext[0].flags : 0, n ? ext[0].order : 0);
	tap_ok(r == 0 && agrees(d.s.sfd, d.m.addr, DAX_LEN, ext, n),
	       "DAX PMD: the records equal the per-page SNAPSHOT byte for byte");

	/* Capacity 1: one call per entry, next at each block's end. */
	ok = true;
	prev = base;
	for (calls = 0; ok && calls < DAX_BLOCKS; calls++) {
		r = extents(d.s.sfd, prev, base + DAX_LEN - prev, ext, 1, &n, &next);
		ok = r == 0 && n == 1 && ext[0].start == prev &&
		     next == prev + DMT_2M;
		prev = next;
	}
	if (!tap_ok(ok, "DAX PMD: capacity 1 gives one entry per call, next = its end (%lu calls)",
		    DAX_BLOCKS))
		tap_diag("call %u: ret %s count %u next 0x%llx", calls,
			 tap_errname((int)-r), n, (unsigned long long)next);

	r = extents(d.s.sfd, base + 3 * DMT_PAGE, DMT_2M, ext, MAX_REC, &n, &next);
	tap_ok(r == 0 && n == 2 && ext[0].start == base && ext[1].start == base + DMT_2M &&
	       next == base + DMT_2M + 3 * DMT_PAGE,
	       "DAX PMD: a range starting inside block 0 reports it from its true start");

	/* Block 1 split: 2M, 511 x 4K around a hole, 2M, 2M, in address order. */
	hole = (uint8_t *)d.m.addr + DMT_2M + 5 * DMT_PAGE;
	r = munmap(hole, DMT_PAGE);
	if (r == 0)
		r = dmt_fault(d.s.sfd, (uint8_t *)d.m.addr + DMT_2M, 5 * DMT_PAGE, 0);
	if (r == 0)
		r = dmt_fault(d.s.sfd, hole + DMT_PAGE, DMT_2M - 6 * DMT_PAGE, 0);
	if (r < 0) {
		tap_fail_rest("split of block 1: %s", tap_errname(errno));
		return;
	}
	r = extents(d.s.sfd, base, DAX_LEN, ext, MAX_REC, &n, &next);
	ok = r == 0 && n == DAX_BLOCKS - 1 + 511 && next == base + DAX_LEN &&
	     ext[0].order == DAXMIRROR_ORDER_2M && ext[0].start == base &&
	     ext[1].order == DAXMIRROR_ORDER_4K && ext[1].start == base + DMT_2M &&
	     ext[6].start == base + DMT_2M + 6 * DMT_PAGE &&
	     ext[511].order == DAXMIRROR_ORDER_4K &&
	     ext[512].order == DAXMIRROR_ORDER_2M &&
	     ext[512].start == base + 2 * DMT_2M;
	if (!tap_ok(ok && agrees(d.s.sfd, d.m.addr, DAX_LEN, ext, n),
		    "DAX split: 2M, 511 x 4K (hole skipped), 2M, 2M, in address order"))
		tap_diag("ret %s count %u", tap_errname((int)-r), n);
	r = extents_all(d.s.sfd, base, DAX_LEN, ext, 100, &n, &calls);
	tap_ok(r == 0 && n == DAX_BLOCKS - 1 + 511 && calls == 6,
	       "DAX split: capacity 100 across levels resumes in 6 calls, nothing lost or repeated");
}

static int busy_child(int sfd, uint64_t addr)
{
	struct daxmirror_extent e;
	uint32_t n = 0;
	uint64_t next = 0;

	return (int)-extents(sfd, addr, DMT_PAGE, &e, 1, &n, &next);
}

/* 2 MiB entries over three xarray nodes of the 2 MiB level (64 slots
 * each: keys 0-63, 64-127, 128-191 from a 128 MiB-aligned start), with
 * holes: every 7th block and the blocks on both sides of the first node
 * boundary dropped, then the whole middle node. The walk steps slot by
 * slot inside a node and searches across holes and missing nodes; each
 * layout must give exactly the present blocks, the same as the per-page
 * SNAPSHOT, in one call and resumed with capacity 5. */
#define WIDE_BLOCKS	192
#define WIDE_LEN	(WIDE_BLOCKS * DMT_2M)

static bool wide_check(int sfd, uint8_t *addr, const bool *gone,
		       struct daxmirror_extent *ext, const char *what)
{
	uint64_t base = (uintptr_t)addr, next = 0;
	uint32_t n = 0, want = 0, k = 0, total = 0;
	unsigned int calls = 0;
	bool ok;
	long r;

	for (unsigned int b = 0; b < WIDE_BLOCKS; b++)
		want += !gone[b];
	r = extents(sfd, base, WIDE_LEN, ext, MAX_REC, &n, &next);
	ok = r == 0 && n == want && next == base + WIDE_LEN;
	for (unsigned int b = 0; ok && b < WIDE_BLOCKS; b++) {
		if (gone[b])
			continue;
		ok = ext[k].start == base + b * DMT_2M &&
		     ext[k].order == DAXMIRROR_ORDER_2M;
		k++;
	}
	if (!tap_ok(ok && agrees(sfd, addr, WIDE_LEN, ext, n),
		    "%s: one 2 MiB record per present block (%u), equal to the per-page SNAPSHOT",
		    what, want))
		tap_diag("ret %s count %u (want %u), mismatch at record %u",
			 tap_errname((int)-r), n, want, k);
	r = extents_all(sfd, base, WIDE_LEN, ext, 5, &total, &calls);
	ok = r == 0 && total == want && calls == (want + 4) / 5;
	k = 0;
	for (unsigned int b = 0; ok && b < WIDE_BLOCKS; b++)
		if (!gone[b])
			ok = ext[k++].start == base + b * DMT_2M;
	if (!tap_ok(ok, "%s: capacity 5 resumes to the same %u records", what, want))
		tap_diag("ret %s total %u calls %u", tap_errname((int)-r), total, calls);
	return ok;
}

static void g_thp_wide(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	static struct daxmirror_extent ext[MAX_REC];
	bool gone[WIDE_BLOCKS] = { false };
	uint32_t n = 0, first = 0;
	uint64_t next = 0;
	uint8_t *a;
	long huge, r;

	(void)arg;
	if (dmt_thp_unusable()) {
		tap_skip_rest("transparent hugepages are %s", dmt_thp_unusable());
		return;
	}
	if (dmt_session_open(&s, ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, WIDE_LEN, 64 * DMT_2M, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	a = m.addr;
	if (madvise(a, WIDE_LEN, MADV_HUGEPAGE) < 0) {
		tap_skip_rest("madvise(MADV_HUGEPAGE): %s", tap_errname(errno));
		return;
	}
	memset(a, 0x44, WIDE_LEN);
	huge = dmt_smaps_kb(a, "AnonHugePages");
	if (huge < (long)(WIDE_LEN >> 10)) {
		char mode[32] = "";

		dmt_thp_mode(mode, sizeof(mode));
		tap_skip_rest("the kernel gave %ld kB of huge pages, not %zu (THP mode %s)",
			      huge, (size_t)(WIDE_LEN >> 10), mode);
		return;
	}
	r = dmt_mirror_add(s.sfd, a, WIDE_LEN, 0, NULL);
	if (r == 0)
		r = dmt_fault(s.sfd, a, WIDE_LEN, 0);
	if (r < 0) {
		tap_fail_rest("MIRROR_ADD/FAULT: %s", tap_errname((int)-r));
		return;
	}
	wide_check(s.sfd, a, gone, ext, "192 blocks, no hole");

	r = extents(s.sfd, (uintptr_t)(a + DMT_2M), 4 * DMT_2M, ext, MAX_REC, &n, &next);
	if (!tap_ok(r == 0 && n == 4 && ext[0].start == (uintptr_t)(a + DMT_2M) &&
		    ext[3].start == (uintptr_t)(a + 4 * DMT_2M) &&
		    next == (uintptr_t)(a + 5 * DMT_2M),
		    "blocks 1-4 of a dense run: 4 records, none past the range"))
		tap_diag("ret %s count %u next 0x%llx", tap_errname((int)-r), n,
			 (unsigned long long)next);

	for (unsigned int b = 0; b < WIDE_BLOCKS; b++)
		gone[b] = b % 7 == 0 || b == 63 || b == 64 || b == WIDE_BLOCKS - 1;
	for (unsigned int b = 0; b < WIDE_BLOCKS; b++)
		if (gone[b])
			madvise(a + b * DMT_2M, DMT_2M, MADV_DONTNEED);
	wide_check(s.sfd, a, gone, ext, "every 7th block and blocks 63, 64, 191 dropped");

	for (unsigned int b = 64; b < 128; b++)
		gone[b] = true;
	madvise(a + 64 * DMT_2M, 64 * DMT_2M, MADV_DONTNEED);
	wide_check(s.sfd, a, gone, ext, "and the whole middle node (blocks 64-127)");

	for (unsigned int b = 70; b < WIDE_BLOCKS && !first; b++)
		if (!gone[b])
			first = b;
	r = extents(s.sfd, (uintptr_t)(a + 70 * DMT_2M), WIDE_LEN - 70 * DMT_2M,
		    ext, 1, &n, &next);
	if (!tap_ok(r == 0 && n == 1 && ext[0].start == (uintptr_t)(a + first * DMT_2M) &&
		    next == ext[0].start + DMT_2M,
		    "a query starting in the missing node finds block %u first", first))
		tap_diag("ret %s count %u start 0x%llx", tap_errname((int)-r), n,
			 (unsigned long long)ext[0].start);
}

static void g_badinput(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_session_ struct dmt_session u = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_snapshot_extents a;
	struct daxmirror_extent ext[4];
	void *ro = MAP_FAILED;
	uint64_t base;
	int status = 0;
	pid_t pid;
	long r;

	(void)arg;
	if (dmt_session_open(&s, ANON_RW, 0, 0, true) < 0 ||
	    dmt_session_open(&u, ANON_RW, 0, 0, false) < 0 ||
	    dmt_map_anon(&m, 4 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, 4 * DMT_PAGE, 0, NULL) < 0 ||
	    dmt_fault(s.sfd, m.addr, 4 * DMT_PAGE, 0) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	base = (uintptr_t)m.addr;
#define GOOD (struct daxmirror_snapshot_extents){ .addr = base, \
	.length = 4 * DMT_PAGE, .extents = (uintptr_t)ext, .capacity = 4 }
	a = GOOD;
	r = dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a);
	tap_ok(r == 0 && a.count == 4 && a.next == base + 4 * DMT_PAGE,
	       "good arguments succeed: 4 records, next = end");
	a = GOOD;
	a.flags = 1;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EINVAL, "flags 1 -> EINVAL");
	a = GOOD;
	a.pad = 1;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EINVAL, "pad 1 -> EINVAL");
	a = GOOD;
	a.reserved[1] = 1;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EINVAL, "reserved -> EINVAL");
	a = GOOD;
	a.addr += 1;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EINVAL, "unaligned addr -> EINVAL");
	a = GOOD;
	a.length = 100;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EINVAL, "unaligned length -> EINVAL");
	a = GOOD;
	a.length = 0;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EINVAL, "zero length -> EINVAL");
	a = GOOD;
	a.addr = ~0ULL - DMT_PAGE + 1;
	a.length = 2 * DMT_PAGE;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EINVAL, "addr + length overflows -> EINVAL");
	a = GOOD;
	a.addr = 1ULL << 60;	/* above TASK_SIZE with 4- and 5-level tables */
	a.length = DMT_PAGE;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EINVAL, "past TASK_SIZE -> EINVAL");
	a = GOOD;
	a.capacity = 0;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EINVAL, "capacity 0 -> EINVAL");
	a = GOOD;
	a.capacity = DAXMIRROR_EXTENTS_MAX + 1;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EINVAL,
		  "capacity DAXMIRROR_EXTENTS_MAX + 1 -> EINVAL");
	a = GOOD;
	a.extents = 0xffff888000000000ULL;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), EFAULT,
		  "extents pointing into the kernel -> EFAULT");
	ro = mmap(NULL, DMT_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	a = GOOD;
	a.extents = (uintptr_t)ro;
	tap_errno(ro == MAP_FAILED ? 0 : dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a),
		  EFAULT, "extents in a read-only mapping -> EFAULT");
	if (ro != MAP_FAILED)
		munmap(ro, DMT_PAGE);
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, (void *)8), EFAULT,
		  "a bad struct pointer -> EFAULT");
	a = GOOD;
	tap_errno(dmt_ioctl(u.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), ENOTCONN,
		  "an unbound session -> ENOTCONN");
	a = GOOD;
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), ENOTTY,
		  "on the control node -> ENOTTY");
	pid = fork();
	if (pid == 0)
		_exit(busy_child(s.sfd, base));
	r = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) ?
	    WEXITSTATUS(status) : -1;
	tap_ok(r == EBUSY, "from another mm (a child) -> EBUSY (got %ld)", r);
	a = GOOD;
	tap_errno(dmt_revoke(s.ctl, s.id) ? -1 :
		  dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &a), ENODEV,
		  "a revoked session -> ENODEV");
#undef GOOD
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "extents of anonymous 4 KiB entries", 6, g_anon, NULL },
		{ "extents of THP entries", 3, g_thp, NULL },
		{ "extents of PMD-mapped DAX entries", 6, g_dax, NULL },
		{ "2 MiB extents across xarray nodes and holes", 8, g_thp_wide, NULL },
		{ "bad input", 18, g_badinput, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 600);
}
