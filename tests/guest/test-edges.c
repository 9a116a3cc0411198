/* test-edges.c - edges the other guest tests do not reach, each asserted
 * by what a user of the module sees (SNAPSHOT bytes, device READ/WRITE
 * data and errnos, MIRROR_LIST, events read from the session fd):
 *  - a write FAULT racing mprotect(PROT_READ): once mprotect returned, no
 *    page is writable on the device and a device WRITE fails (EPERM);
 *  - mirrors that end or start inside a 2 MiB block of a THP or a
 *    PMD-mapped DAX file: that block's pages get 4 KiB entries, no entry
 *    lies past a mirror's end or before its start (MIRROR_LIST counts),
 *    and memory put in place of the neighbouring blocks' other halves
 *    reads back new, never the old pages;
 *  - the DAX and ZONE_DEVICE snapshot bits of THP, page-cache and DAX
 *    entries;
 *  - the session's event queue (DAXMIRROR_EVENT_QUEUE_LEN, 64) at and
 *    around its boundary: a full queue of unread events all arrive, one
 *    more unread costs one OVERFLOW and exactly the oldest event;
 *  - munmap of a mirror's first or last page keeps the mirror live; the
 *    rest unmapped too, it is released;
 *  - a read-only mirror of writable memory has read-only entries only;
 *  - SIGKILL ends a FAULT that another process's invalidations keep
 *    retrying, while they go on;
 *  - an invalidation of more entries than one erase batch drops them all;
 *  - the exit of a bound process: MM_RELEASED once, its mirrors RELEASED
 *    with it and no MIRROR_RELEASED each (a process with thousands of
 *    mirrors must not overflow its session's queue by exiting);
 *  - a write FAULT after entries were stored over and partly dropped
 *    still maps every page writable (its "already covered" answer);
 *  - the policy at a grant's first page, and on a /dev/mem mapping;
 *  - ranges at the top of the user address space, a non-canonical device
 *    I/O buffer, and a device WRITE from kernel memory;
 *  - a device READ over entries in place ends on SIGKILL (it does not
 *    copy on to its end first);
 *  - a REVOKE that returns while a FAULT's walk waits for a page (a FUSE
 *    READ held by tests/guest/fuse-stall) fails that FAULT with ENODEV;
 *  - a mirror unmapped in pieces while other threads keep its mm's lock
 *    busy is still released.
 * Every loop is bounded by a count and by time. Runs in the guest as
 * root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmt.h"

/* ---- a write FAULT racing mprotect(PROT_READ) ---------------------------- */

#define RACE_LEN	(4UL << 20)
#define RACE_PAGES	(RACE_LEN / DMT_PAGE)
#define RACE_SEED	1101
#define RACE_ROUNDS	3000
#define RACE_SECONDS	8.0

struct racer {
	int sfd;
	uint8_t *p;
	atomic_int stop;
	unsigned long ok, eperm, other;
	int other_err;
};

/* FAULT the whole range for writing, again and again. */
static void *racer_main(void *arg)
{
	struct racer *r = arg;

	while (!atomic_load(&r->stop)) {
		int ret = dmt_fault(r->sfd, r->p, RACE_LEN, DAXMIRROR_FAULT_WRITE);

		if (ret == 0) {
			r->ok++;
		} else if (ret == -EPERM) {
			r->eperm++;
		} else {
			r->other++;
			r->other_err = -ret;
		}
	}
	return NULL;
}

/* Busy-wait up to @us microseconds: mprotect lands anywhere in a FAULT. */
static void spin_us(unsigned int us)
{
	double end = dmt_now_s() + us / 1e6;

	while (dmt_now_s() < end)
		;
}

/* Writable pages of a snapshot of the race range; -1 if it failed. */
static long writable_pages(int sfd, const void *p, uint8_t *snap)
{
	long n = 0;

	if (dmt_snapshot(sfd, p, RACE_LEN, snap) < 0)
		return -1;
	for (size_t i = 0; i < RACE_PAGES; i++)
		if ((snap[i] & DAXMIRROR_SNAP_STATE_MASK) == DAXMIRROR_SNAP_WRITE)
			n++;
	return n;
}

/* Thread A write-FAULTs a 4 MiB writable mirror of anonymous memory in a
 * loop; this thread flips the memory read-only and back. Each time
 * mprotect(PROT_READ) has returned, the device must see the range as the
 * CPU does: no writable entry (SNAPSHOT), and a device WRITE fails with
 * EPERM and changes no byte. A fault whose CPU walk an mprotect overtook
 * must not install what it walked. */
static void g_race(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	static uint8_t snap[RACE_PAGES];
	uint8_t junk[DMT_PAGE];
	struct racer rc = { 0 };
	unsigned long rounds = 0, bad_rounds = 0, wr_pages = 0, bad_writes = 0,
		      changed = 0, snap_err = 0;
	int last_wr_err = 0, r;
	unsigned int seed = 7;
	pthread_t t;
	double end;
	uint8_t *p;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, RACE_LEN, DMT_2M, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	p = m.addr;
	/* 4 KiB pages: one device entry per page, as a GPU sees most memory */
	madvise(p, RACE_LEN, MADV_NOHUGEPAGE);
	dmt_pattern_fill(p, RACE_LEN, RACE_SEED, 0);
	memset(junk, 0x5a, sizeof(junk));
	rc.sfd = s.sfd;
	rc.p = p;
	if (dmt_mirror_add(s.sfd, p, RACE_LEN, DAXMIRROR_MIRROR_WRITE, NULL) < 0 ||
	    pthread_create(&t, NULL, racer_main, &rc) != 0) {
		tap_fail_rest("mirror/thread setup failed: %s", strerror(errno));
		return;
	}
	end = dmt_now_s() + RACE_SECONDS;
	while (rounds < RACE_ROUNDS && dmt_now_s() < end) {
		size_t pg = (rounds * 97) % RACE_PAGES;
		long w1, w2;

		spin_us(rand_r(&seed) % 1500);
		if (mprotect(p, RACE_LEN, PROT_READ) < 0) {
			tap_diag("mprotect(PROT_READ): %s", tap_errname(errno));
			break;
		}
		w1 = writable_pages(s.sfd, p, snap);
		r = dmt_dev_write(s.sfd, p + pg * DMT_PAGE, junk, DMT_PAGE);
		if (r != -EPERM) {
			bad_writes++;
			last_wr_err = -r;
		}
		if (dmt_pattern_check(p + pg * DMT_PAGE, DMT_PAGE, RACE_SEED,
				      pg * DMT_PAGE) >= 0) {
			changed++;
			/* put it back, so later rounds check it again */
			mprotect(p, RACE_LEN, PROT_READ | PROT_WRITE);
			dmt_pattern_fill(p + pg * DMT_PAGE, DMT_PAGE, RACE_SEED,
					 pg * DMT_PAGE);
		}
		w2 = writable_pages(s.sfd, p, snap);
		if (w1 < 0 || w2 < 0)
			snap_err++;
		if (w1 > 0 || w2 > 0) {
			if (bad_rounds < 5)
				tap_diag("round %lu: %ld then %ld pages writable on the device under PROT_READ",
					 rounds, w1, w2);
			bad_rounds++;
			wr_pages += (unsigned long)(w1 > w2 ? w1 : w2);
		}
		rounds++;
		if (mprotect(p, RACE_LEN, PROT_READ | PROT_WRITE) < 0) {
			tap_diag("mprotect(PROT_READ|PROT_WRITE): %s", tap_errname(errno));
			break;
		}
	}
	atomic_store(&rc.stop, 1);
	pthread_join(t, NULL);
	tap_diag("%lu rounds in %.1f s; FAULTs: %lu ok, %lu EPERM, %lu other",
		 rounds, RACE_SECONDS - (end - dmt_now_s()), rc.ok, rc.eperm, rc.other);

	tap_ok(rounds >= 20 && rc.ok >= 10 && rc.eperm >= 1,
	       "the race ran: %lu mprotect rounds, %lu write FAULTs done, %lu refused",
	       rounds, rc.ok, rc.eperm);
	if (!tap_ok(bad_rounds == 0 && snap_err == 0,
		    "once mprotect(PROT_READ) returned, SNAPSHOT shows no writable page (%lu rounds)",
		    rounds))
		tap_diag("%lu rounds had writable pages (%lu in all), %lu SNAPSHOT errors",
			 bad_rounds, wr_pages, snap_err);
	if (!tap_ok(bad_writes == 0 && changed == 0,
		    "device WRITE into the read-only range: EPERM every round, no byte changed"))
		tap_diag("%lu WRITEs did not fail with EPERM (last: %s), %lu changed the page",
			 bad_writes, last_wr_err ? tap_errname(last_wr_err) : "success",
			 changed);
	if (!tap_ok(rc.other == 0, "the racing FAULTs failed only with EPERM (read-only)"))
		tap_diag("%lu other failures, last %s", rc.other, tap_errname(rc.other_err));
	dmt_pattern_fill(junk, sizeof(junk), RACE_SEED + 1, 0);
	r = dmt_dev_write(s.sfd, p + 5 * DMT_PAGE, junk, DMT_PAGE);
	if (!tap_ok(r == 0 && !memcmp(p + 5 * DMT_PAGE, junk, DMT_PAGE),
		    "read-write again: a device WRITE lands in the memory"))
		tap_diag("write: %s", tap_errname(-r));
}

/* ---- mirrors that end or start inside a 2 MiB block ---------------------- */

/* 6 MiB, three 2 MiB blocks at X:
 *   E = [X, X+3M)      ends inside block 1
 *   gap [X+3M, X+5M)   not mirrored (until replaced and mirrored as G)
 *   S = [X+5M, X+6M)   starts inside block 2 */
#define EDGE_LEN	(6UL << 20)
#define EDGE_PAGES	(EDGE_LEN / DMT_PAGE)
#define MIB		(1UL << 20)
#define E_END		(3 * MIB)
#define S_START		(5 * MIB)
#define EDGE_SEED	1201
#define GAP_SEED	1202

enum edge_kind { EDGE_THP, EDGE_DAX };

/* MIRROR_LIST entries of mirror @id equal @n4k 4 KiB and @n2m 2 MiB ones. */
static bool mirror_entries_are(int sfd, uint64_t id, const char *name,
			       uint64_t n4k, uint64_t n2m, uint64_t pages)
{
	struct daxmirror_mirror_info mi;
	int r = dmt_mirror_get(sfd, 0, id, &mi);
	uint64_t counted;

	if (r < 0) {
		tap_diag("MIRROR_LIST %s: %s", name, tap_errname(-r));
		return false;
	}
	counted = mi.entries[DAXMIRROR_ORDER_4K] +
		  512 * mi.entries[DAXMIRROR_ORDER_2M] +
		  512 * 512 * mi.entries[DAXMIRROR_ORDER_1G];
	if (mi.state == DAXMIRROR_MIRROR_LIVE &&
	    mi.entries[DAXMIRROR_ORDER_4K] == n4k &&
	    mi.entries[DAXMIRROR_ORDER_2M] == n2m &&
	    mi.entries[DAXMIRROR_ORDER_1G] == 0 && counted <= pages)
		return true;
	tap_diag("%s: state %u entries 4K %llu 2M %llu 1G %llu = %llu pages "
		 "for a mirror of %llu (want 4K %llu 2M %llu)", name, mi.state,
		 (unsigned long long)mi.entries[0], (unsigned long long)mi.entries[1],
		 (unsigned long long)mi.entries[2], (unsigned long long)counted,
		 (unsigned long long)pages, (unsigned long long)n4k,
		 (unsigned long long)n2m);
	return false;
}

/* Device READ [off, off + len) of the region; compare with pattern @seed
 * at @base. */
static bool dev_reads_pattern(int sfd, const uint8_t *x, size_t off, size_t len,
			      uint8_t *buf, uint64_t seed, uint64_t base,
			      const char *what)
{
	int r = dmt_dev_read(sfd, x + off, buf, len);
	ssize_t d;

	if (r < 0) {
		tap_diag("%s: device READ: %s", what, tap_errname(-r));
		return false;
	}
	d = dmt_pattern_check(buf, len, seed, base);
	if (d >= 0) {
		tap_diag("%s: byte %zd (address +0x%zx) differs from the CPU's",
			 what, d, off + (size_t)d);
		return false;
	}
	return true;
}

static void g_edge(const void *arg)
{
	const enum edge_kind kind = *(const enum edge_kind *)arg;
	const char *name = kind == EDGE_THP ? "THP" : "DAX";
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ uint8_t *snap = NULL;
	size_t bad_order = 0, bad_bits = 0, mapped = 0, first_bad = 0;
	uint64_t e_id = 0, s_id = 0, g_id = 0;
	struct dmt_snap sn;
	uint8_t *x, *q;
	bool ok;
	int r;

	buf = malloc(EDGE_LEN);
	snap = malloc(EDGE_PAGES);
	if (!buf || !snap ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, true) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	if (kind == EDGE_THP) {
		long huge;

		if (dmt_thp_unusable()) {
			tap_skip_rest("transparent hugepages are %s", dmt_thp_unusable());
			return;
		}
		if (dmt_map_anon(&m, EDGE_LEN, DMT_2M, PROT_READ | PROT_WRITE, 0) < 0) {
			tap_fail_rest("mmap: %s", strerror(errno));
			return;
		}
		if (madvise(m.addr, EDGE_LEN, MADV_HUGEPAGE) < 0) {
			tap_skip_rest("madvise(MADV_HUGEPAGE): %s", tap_errname(errno));
			return;
		}
		dmt_pattern_fill(m.addr, EDGE_LEN, EDGE_SEED, 0);
		huge = dmt_smaps_kb(m.addr, "AnonHugePages");
		if (huge < (long)(EDGE_LEN >> 10)) {
			char mode[32] = "";

			dmt_thp_mode(mode, sizeof(mode));
			tap_skip_rest("the kernel gave %ld kB of huge pages, not %lu (THP mode %s)",
				      huge, EDGE_LEN >> 10, mode);
			return;
		}
		tap_ok(true, "THP: 6 MiB of anonymous memory in 3 huge pages (%ld kB)", huge);
	} else {
		const char *dir = dmt_env_dir(DMT_ENV_EXT4_DAX);
		char why[256] = "";

		if (!dir) {
			tap_fail_rest("no ext4 -o dax directory");
			return;
		}
		r = dmt_file_create_aligned(&f, dir, EDGE_LEN, DMT_2M, EDGE_SEED,
					    why, sizeof(why));
		if (!tap_ok(r == 0, "DAX: a 6 MiB file with 2 MiB aligned extents")) {
			tap_diag("%s (ret %d)", why, r);
			tap_fail_rest("no aligned file");
			return;
		}
		if (dmt_grant(s.ctl, s.id, f.fd, 0, 0, EDGE_LEN) < 0 ||
		    dmt_map_file(&m, EDGE_LEN, DMT_2M, PROT_READ | PROT_WRITE,
				 f.fd, 0, true) < 0) {
			tap_fail_rest("grant/mmap: %s", strerror(errno));
			return;
		}
	}
	x = m.addr;
	if (dmt_mirror_add(s.sfd, x, E_END, 0, &e_id) < 0 ||
	    dmt_mirror_add(s.sfd, x + S_START, EDGE_LEN - S_START, 0, &s_id) < 0) {
		tap_fail_rest("MIRROR_ADD: %s", strerror(errno));
		return;
	}

	/* The device reads both mirrors, page by page at first: each miss
	 * faults the block around it (clipped to the mirror). */
	ok = dev_reads_pattern(s.sfd, x, 2 * MIB + 4 * DMT_PAGE, DMT_PAGE, buf,
			       EDGE_SEED, 2 * MIB + 4 * DMT_PAGE, "E, block 1") &&
	     dev_reads_pattern(s.sfd, x, S_START, DMT_PAGE, buf, EDGE_SEED,
			       S_START, "S, first page") &&
	     dev_reads_pattern(s.sfd, x, 0, E_END, buf, EDGE_SEED, 0, "E") &&
	     dev_reads_pattern(s.sfd, x, S_START, EDGE_LEN - S_START, buf,
			       EDGE_SEED, S_START, "S");
	tap_ok(ok, "%s: device READ through E (ends mid-block) and S (starts mid-block) gives the CPU's bytes",
	       name);

	/* Expected: block 0 one 2M entry; the rest of E and all of S 4K
	 * entries; the gap outside every mirror NONE. */
	r = dmt_snapshot(s.sfd, x, EDGE_LEN, snap);
	for (size_t i = 0; r == 0 && i < EDGE_PAGES; i++) {
		size_t off = i * DMT_PAGE;
		unsigned int st = snap[i] & DAXMIRROR_SNAP_STATE_MASK;
		bool in = off < E_END || off >= S_START;
		unsigned int want = off < DMT_2M ? DAXMIRROR_ORDER_2M : DAXMIRROR_ORDER_4K;

		if (in ? st == DAXMIRROR_SNAP_NONE || dmt_snap_order(snap[i]) != want :
			 st != DAXMIRROR_SNAP_NONE) {
			if (!bad_order++)
				first_bad = i;
		}
		if (st == DAXMIRROR_SNAP_NONE)
			continue;
		mapped++;
		if (kind == EDGE_THP ?
		    (snap[i] & (DAXMIRROR_SNAP_DAX | DAXMIRROR_SNAP_ZONE_DEVICE)) != 0 :
		    (snap[i] & (DAXMIRROR_SNAP_DAX | DAXMIRROR_SNAP_ZONE_DEVICE)) !=
		    (DAXMIRROR_SNAP_DAX | DAXMIRROR_SNAP_ZONE_DEVICE))
			bad_bits++;
	}
	if (!tap_ok(r == 0 && bad_order == 0,
		    "%s: SNAPSHOT: block 0 order 2M, E's partial block and S order 4K, the gap unmapped",
		    name)) {
		tap_diag("ret %s; %zu pages wrong, the first at +0x%zx: 0x%02x",
			 tap_errname(-r), bad_order, first_bad * DMT_PAGE,
			 r == 0 ? snap[first_bad] : 0);
		dmt_snap_count(snap, x, EDGE_LEN, &sn);
		dmt_snap_diag("snapshot", &sn);
	}
	ok = mirror_entries_are(s.sfd, e_id, "E", 256, 1, E_END / DMT_PAGE);
	ok = mirror_entries_are(s.sfd, s_id, "S", 256, 0,
				(EDGE_LEN - S_START) / DMT_PAGE) && ok;
	tap_ok(ok, "%s: MIRROR_LIST: E has 1 x 2M + 256 x 4K, S 256 x 4K: no entry outside its mirror",
	       name);
	if (kind == EDGE_THP) {
		if (!tap_ok(r == 0 && mapped == 1024 && bad_bits == 0,
			    "THP: no entry carries the DAX or ZONE_DEVICE snapshot bit"))
			tap_diag("%zu of %zu mapped pages carry one", bad_bits, mapped);
	} else {
		if (!tap_ok(r == 0 && mapped == 1024 && bad_bits == 0,
			    "DAX: every entry carries both DAX and ZONE_DEVICE bits"))
			tap_diag("%zu of %zu mapped pages lack one", bad_bits, mapped);
	}

	/* Put new memory in the gap, whose two halves were the neighbours
	 * past E's end and before S's start, and mirror it. */
	if (munmap(x + E_END, S_START - E_END) < 0) {
		tap_fail_rest("munmap of the gap: %s", strerror(errno));
		return;
	}
	q = mmap(x + E_END, S_START - E_END, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (q == MAP_FAILED) {
		tap_fail_rest("mmap MAP_FIXED in the gap: %s", strerror(errno));
		return;
	}
	dmt_pattern_fill(q, S_START - E_END, GAP_SEED, 0);
	if (dmt_mirror_add(s.sfd, q, S_START - E_END, 0, &g_id) < 0) {
		tap_fail_rest("MIRROR_ADD of the new memory: %s", strerror(errno));
		return;
	}
	r = dmt_snap_summary(s.sfd, q, S_START - E_END, &sn);
	if (!tap_ok(r == 0 && sn.none == sn.pages,
		    "%s: the new memory's fresh mirror has no device entry yet", name))
		dmt_snap_diag("the new mirror", &sn);
	tap_ok(dev_reads_pattern(s.sfd, x, E_END, S_START - E_END, buf, GAP_SEED,
				 0, "G"),
	       "%s: device READ of the new memory gives its bytes, not the old pages'",
	       name);
	ok = dev_reads_pattern(s.sfd, x, 0, E_END, buf, EDGE_SEED, 0, "E again") &&
	     dev_reads_pattern(s.sfd, x, S_START, EDGE_LEN - S_START, buf,
			       EDGE_SEED, S_START, "S again");
	tap_ok(ok, "%s: E and S still read the CPU's bytes after their neighbours were replaced",
	       name);
}

/* ---- page-cache snapshot bits --------------------------------------------- */

#define PC_LEN	(16 * DMT_PAGE)

static void g_pagecache_bits(const void *arg)
{
	const char *dir = dmt_env_dir(DMT_ENV_EXT4_PAGECACHE);
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	uint8_t buf[PC_LEN];
	struct dmt_snap sn;
	int r;

	(void)arg;
	if (!dir) {
		tap_fail_rest("no ext4 (page cache) directory");
		return;
	}
	if (dmt_file_create(&f, dir, "edges", PC_LEN, 1301) < 0 ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_PAGECACHE, 0, 0, true) < 0 ||
	    dmt_grant(s.ctl, s.id, f.fd, 0, 0, PC_LEN) < 0 ||
	    dmt_map_file(&m, PC_LEN, 0, PROT_READ, f.fd, 0, false) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, PC_LEN, 0, NULL) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	r = dmt_dev_read(s.sfd, m.addr, buf, PC_LEN);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, PC_LEN, 1301, 0) < 0,
		    "page cache: device READ equals the file"))
		tap_diag("ret %s", tap_errname(-r));
	r = dmt_snap_summary(s.sfd, m.addr, PC_LEN, &sn);
	if (!tap_ok(r == 0 && sn.read == sn.pages && sn.dax == 0 && sn.zone_device == 0,
		    "page cache: every page mapped, no DAX nor ZONE_DEVICE bit"))
		dmt_snap_diag("snapshot", &sn);
}

/* ---- the session's event ring ------------------------------------------- */

#define RING		DAXMIRROR_EVENT_QUEUE_LEN
#define EV_MAX		(2 * RING + 8)

/* One MIRROR_RELEASED on the session fd: a page mirrored, then unmapped
 * (posted by the munmap itself). Its mirror id in *@id. */
static int post_event(int sfd, uint64_t *id)
{
	uint8_t *p = mmap(NULL, DMT_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r;

	if (p == MAP_FAILED)
		return -errno;
	r = dmt_mirror_add(sfd, p, DMT_PAGE, 0, id);
	munmap(p, DMT_PAGE);
	return r;
}

struct ev_log {
	uint64_t ids[6 * RING];	/* mirror ids by event posted, from 0 */
	size_t posted;
};

static int post_events(int sfd, struct ev_log *log, size_t n)
{
	if (log->posted + n > ARRAY_SIZE(log->ids))
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		int r = post_event(sfd, &log->ids[log->posted]);

		if (r < 0) {
			tap_diag("event %zu: mmap/MIRROR_ADD: %s", log->posted,
				 tap_errname(-r));
			return r;
		}
		log->posted++;
	}
	return 0;
}

/* Read up to @max records (O_NONBLOCK fd) until EAGAIN or @max; the
 * number read, or -errno. */
static long read_events(int sfd, struct daxmirror_event *ev, size_t max)
{
	size_t n = 0;

	while (n < max) {
		ssize_t got = read(sfd, ev + n, (max - n) * sizeof(*ev));

		if (got < 0 && errno == EAGAIN)
			return (long)n;
		if (got < 0) {
			int err = errno;

			tap_diag("read() of events: %s", tap_errname(err));
			return -err;
		}
		if (got == 0 || got % sizeof(*ev)) {
			tap_diag("read() returned %zd bytes", got);
			return -EIO;
		}
		n += (size_t)got / sizeof(*ev);
	}
	return (long)n;
}

/* Are @ev[0..n) the events posted as log entries [from, from + count)
 * (seq = its index + 1: the session's first event is seq 1), preceded by
 * one OVERFLOW naming the last lost event when @overflow? */
static bool events_are(const struct daxmirror_event *ev, long n,
		       const struct ev_log *log, size_t from, size_t count,
		       bool overflow, uint64_t sid)
{
	long k = 0;

	if (n != (long)count + overflow) {
		tap_diag("%ld records, want %zu%s", n, count,
			 overflow ? " and one OVERFLOW" : "");
		if (n > 0)
			tap_diag("first: %s seq %llu, last: %s seq %llu",
				 dmt_event_name(ev[0].type),
				 (unsigned long long)ev[0].seq,
				 dmt_event_name(ev[n - 1].type),
				 (unsigned long long)ev[n - 1].seq);
		return false;
	}
	if (overflow) {
		if (ev[0].type != DAXMIRROR_EVENT_OVERFLOW || ev[0].seq != from) {
			tap_diag("first record %s seq %llu, want OVERFLOW seq %zu",
				 dmt_event_name(ev[0].type),
				 (unsigned long long)ev[0].seq, from);
			return false;
		}
		k = 1;
	}
	for (size_t i = 0; i < count; i++, k++) {
		const struct daxmirror_event *e = &ev[k];

		if (e->type != DAXMIRROR_EVENT_MIRROR_RELEASED ||
		    e->seq != from + i + 1 || e->mirror_id != log->ids[from + i] ||
		    e->session_id != sid) {
			tap_diag("record %ld: %s seq %llu mirror %llu session %llu, "
				 "want MIRROR_RELEASED seq %zu mirror %llu",
				 k, dmt_event_name(e->type), (unsigned long long)e->seq,
				 (unsigned long long)e->mirror_id,
				 (unsigned long long)e->session_id, from + i + 1,
				 (unsigned long long)log->ids[from + i]);
			return false;
		}
	}
	return true;
}

/*
 * Post a ring's worth, read one, post @more: then the unread are the 64
 * newest, after one OVERFLOW if @overflow (65 were unread).
 */
static bool ring_read_one_post(struct dmt_session *s, struct ev_log *log,
			       struct daxmirror_event *ev, size_t more, bool overflow)
{
	size_t mark = log->posted;
	int r = post_events(s->sfd, log, RING);
	long n = r < 0 ? r : read_events(s->sfd, ev, 1);

	if (n == 1 && !events_are(ev, 1, log, mark, 1, false, s->id))
		n = -EPROTO;
	if (n == 1)
		r = post_events(s->sfd, log, more);
	if (n == 1 && r == 0)
		n = read_events(s->sfd, ev, EV_MAX);
	return n >= 0 && r == 0 && events_are(ev, n, log, mark + more, RING, overflow, s->id);
}

static void g_ring(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	static struct ev_log log;
	struct daxmirror_event ev[EV_MAX];
	size_t mark;
	long n;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, true) < 0 ||
	    dmt_set_nonblock(s.sfd) < 0) {
		tap_fail_rest("setup failed");
		return;
	}

	/* Exactly a ring's worth, unread. */
	r = post_events(s.sfd, &log, RING);
	n = r < 0 ? r : read_events(s.sfd, ev, EV_MAX);
	tap_ok(n >= 0 && events_are(ev, n, &log, 0, RING, false, s.id),
	       "%d events unread: read() gets all %d (seq 1..%d), no OVERFLOW",
	       RING, RING, RING);

	/* One more than the ring holds: the oldest is lost. */
	mark = log.posted;
	r = post_events(s.sfd, &log, RING + 1);
	n = r < 0 ? r : read_events(s.sfd, ev, EV_MAX);
	tap_ok(n >= 0 && events_are(ev, n, &log, mark + 1, RING, true, s.id),
	       "%d events unread: one OVERFLOW (seq of the lost one), then exactly the %d newest",
	       RING + 1, RING);

	/* A ring's worth again, the ring now wrapped. */
	mark = log.posted;
	r = post_events(s.sfd, &log, RING);
	n = r < 0 ? r : read_events(s.sfd, ev, EV_MAX);
	tap_ok(n >= 0 && events_are(ev, n, &log, mark, RING, false, s.id),
	       "after the wrap, %d events unread: all %d again, no OVERFLOW", RING, RING);

	/* A queue full, one read, one posted: a queue full unread, none lost. */
	tap_ok(ring_read_one_post(&s, &log, ev, 1, false),
	       "%d posted, 1 read, 1 more posted: the %d unread all arrive, no OVERFLOW",
	       RING, RING);
	/* A queue full, one read, two posted: one too many, exactly one lost. */
	tap_ok(ring_read_one_post(&s, &log, ev, 2, true),
	       "%d posted, 1 read, 2 more posted: OVERFLOW for the one lost, then the %d newest",
	       RING, RING);

	n = read(s.sfd, ev, sizeof(ev[0]));
	r = n < 0 ? -errno : 0;
	if (!tap_ok(r == -EAGAIN && !(dmt_poll(s.sfd, POLLIN, 0) & POLLIN),
		    "all read: read() says EAGAIN, poll() no POLLIN"))
		tap_diag("read() %ld (%s), first: %s seq %llu", n, tap_errname(-r),
			 n > 0 ? dmt_event_name(ev[0].type) : "-",
			 n > 0 ? (unsigned long long)ev[0].seq : 0ULL);
}

/* ---- munmap of a mirror's first or last page ------------------------------ */

#define PM_PAGES	8
#define PM_LEN		(PM_PAGES * DMT_PAGE)

static int mirror_state(int sfd, uint64_t id)
{
	struct daxmirror_mirror_info mi;
	int r = dmt_mirror_get(sfd, 0, id, &mi);

	return r < 0 ? r : (int)mi.state;
}

/* One mirror of 8 pages loses its first (@last false) or last page. */
static void edge_page_unmap(struct dmt_session *s, uint8_t *p, uint64_t id,
			    bool last, uint64_t seed)
{
	const char *which = last ? "last" : "first";
	const size_t gone = last ? PM_PAGES - 1 : 0;
	const size_t keep = last ? 0 : 1;
	uint8_t buf[PM_LEN];
	int r, rev, st;

	if (munmap(p + gone * DMT_PAGE, DMT_PAGE) < 0) {
		tap_fail_rest("munmap: %s", strerror(errno));
		return;
	}
	usleep(200000);	/* a partial munmap has the module look from a work item */
	st = mirror_state(s->sfd, id);
	rev = dmt_poll(s->sfd, POLLIN, 0);
	if (!tap_ok(st == DAXMIRROR_MIRROR_LIVE && rev == 0,
		    "munmap of the %s page: MIRROR_LIST says LIVE, no event queued", which)) {
		struct daxmirror_event ev;

		tap_diag("state %d, poll 0x%x", st, rev);
		if (rev > 0 && dmt_event_read(s->sfd, &ev, 0) == 0)
			tap_diag("event %s mirror %llu", dmt_event_name(ev.type),
				 (unsigned long long)ev.mirror_id);
	}
	r = dmt_dev_read(s->sfd, p + keep * DMT_PAGE, buf, (PM_PAGES - 1) * DMT_PAGE);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, (PM_PAGES - 1) * DMT_PAGE, seed,
						keep * DMT_PAGE) < 0,
		    "munmap of the %s page: the other 7 pages read byte-exact through the device",
		    which))
		tap_diag("read: %s", tap_errname(-r));
	tap_errno(dmt_dev_read(s->sfd, p + gone * DMT_PAGE, buf, DMT_PAGE), EFAULT,
		  "munmap of the %s page: a device READ of it -> EFAULT", which);
}

static void g_edge_pages(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map ma = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map mb = DMT_MAP_INIT;
	struct daxmirror_event ev;
	uint8_t *a, *b, buf[PM_LEN];
	uint64_t a_id = 0, b_id = 0;
	bool got_a = false, got_b = false;
	int r = 0;

	(void)arg;
	if (dmt_map_anon(&ma, PM_LEN, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_map_anon(&mb, PM_LEN, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, true) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	a = ma.addr;
	b = mb.addr;
	dmt_pattern_fill(a, PM_LEN, 1401, 0);
	dmt_pattern_fill(b, PM_LEN, 1402, 0);
	if (dmt_mirror_add(s.sfd, a, PM_LEN, 0, &a_id) < 0 ||
	    dmt_mirror_add(s.sfd, b, PM_LEN, 0, &b_id) < 0 ||
	    dmt_dev_read(s.sfd, a, buf, PM_LEN) < 0 ||
	    dmt_dev_read(s.sfd, b, buf, PM_LEN) < 0) {
		tap_fail_rest("mirror/read setup failed: %s", strerror(errno));
		return;
	}
	edge_page_unmap(&s, a, a_id, false, 1401);
	if (!tap_group_left())
		return;
	edge_page_unmap(&s, b, b_id, true, 1402);
	if (!tap_group_left())
		return;

	/* The rest of both: each is released (by the work item). */
	munmap(a + DMT_PAGE, PM_LEN - DMT_PAGE);
	munmap(b, PM_LEN - DMT_PAGE);
	while (!(got_a && got_b)) {
		r = dmt_event_wait(s.sfd, DAXMIRROR_EVENT_MIRROR_RELEASED, s.id,
				   DMT_EVENT_TIMEOUT_MS, &ev);
		if (r < 0)
			break;
		got_a |= ev.mirror_id == a_id;
		got_b |= ev.mirror_id == b_id;
	}
	if (!tap_ok(r == 0 && mirror_state(s.sfd, a_id) == DAXMIRROR_MIRROR_RELEASED &&
		    mirror_state(s.sfd, b_id) == DAXMIRROR_MIRROR_RELEASED,
		    "the rest unmapped too: MIRROR_RELEASED for both, both RELEASED in MIRROR_LIST"))
		tap_diag("wait %s, events for A %d B %d, states %d %d", tap_errname(-r),
			 got_a, got_b, mirror_state(s.sfd, a_id), mirror_state(s.sfd, b_id));
}

/* ---- a read-only mirror of writable memory ------------------------------- */

#define RO_LEN		(256UL << 10)

static void g_readonly_mirror(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	uint8_t buf[DMT_PAGE], one[DMT_PAGE];
	struct dmt_snap sn;
	int r, w, f;

	(void)arg;
	if (dmt_map_anon(&m, RO_LEN, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	/* Written by the CPU: every page is writable and dirty there. */
	dmt_pattern_fill(m.addr, RO_LEN, 1501, 0);
	if (dmt_mirror_add(s.sfd, m.addr, RO_LEN, 0, NULL) < 0 ||
	    dmt_dev_read(s.sfd, m.addr, buf, sizeof(buf)) < 0 ||
	    dmt_fault(s.sfd, m.addr, RO_LEN, 0) < 0) {
		tap_fail_rest("mirror/read failed: %s", strerror(errno));
		return;
	}
	r = dmt_snap_summary(s.sfd, m.addr, RO_LEN, &sn);
	if (!tap_ok(r == 0 && sn.read == sn.pages && sn.write == 0,
		    "a read-only mirror of writable pages: every entry read-only"))
		dmt_snap_diag("snapshot", &sn);
	memset(one, 0x5a, sizeof(one));
	w = dmt_dev_write(s.sfd, m.addr, one, sizeof(one));
	f = dmt_fault(s.sfd, m.addr, RO_LEN, DAXMIRROR_FAULT_WRITE);
	if (!tap_ok(w == -EPERM && f == -EPERM &&
		    dmt_pattern_check(m.addr, RO_LEN, 1501, 0) < 0,
		    "its device WRITE and write FAULT fail with EPERM, no byte changed"))
		tap_diag("WRITE %s, FAULT %s", tap_errname(-w), tap_errname(-f));
}

/* ---- a FAULT that invalidations keep retrying, then SIGKILL --------------- */

/* One fault chunk of shared memory. Each storm round punches ALL of it, so
 * every walk of the victim's FAULT allocates and zeroes 16 384 pages while
 * the next punch is one system call away: no walk gets through between
 * two rounds, and the FAULT retries for as long as the storm lasts. */
#define KR_LEN		(64UL << 20)
#define KR_SECONDS	30

struct kr_shared {
	atomic_int stop, ready;
	atomic_ulong storm_rounds, faults_done;
};

/* The storm: MADV_REMOVE of the whole shared memory, round and round. */
static void kr_storm(struct kr_shared *sh, uint8_t *p)
{
	while (!atomic_load(&sh->stop)) {
		madvise(p, KR_LEN, MADV_REMOVE);
		atomic_fetch_add(&sh->storm_rounds, 1);
	}
	_exit(0);
}

/* The victim: a session of its own over the shared memory, FAULT in a loop. */
static void kr_victim(struct kr_shared *sh, uint8_t *p)
{
	struct dmt_session s = DMT_SESSION_INIT;

	if (dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, true) < 0 ||
	    dmt_mirror_add(s.sfd, p, KR_LEN, 0, NULL) < 0)
		_exit(2);
	atomic_store(&sh->ready, 1);
	for (;;) {
		dmt_fault(s.sfd, p, KR_LEN, 0);
		atomic_fetch_add(&sh->faults_done, 1);
	}
}

static void g_kill_retrying(const void *arg)
{
	struct kr_shared *sh;
	pid_t storm, victim;
	unsigned long rounds_at_kill, rounds_at_reap = 0, faults_at_kill;
	bool reaped = false;
	uint8_t *p;
	double t0;
	int st;

	(void)arg;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	p = mmap(NULL, KR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || p == MAP_FAILED) {
		tap_fail_rest("mmap failed: %s", strerror(errno));
		return;
	}
	memset(p, 1, KR_LEN);
	storm = fork();
	if (storm == 0)
		kr_storm(sh, p);
	victim = fork();
	if (victim == 0)
		kr_victim(sh, p);
	if (storm < 0 || victim < 0) {
		tap_fail_rest("fork failed");
		atomic_store(&sh->stop, 1);
		return;
	}
	t0 = dmt_now_s();
	while (!atomic_load(&sh->ready) && dmt_now_s() - t0 < KR_SECONDS)
		usleep(10000);
	usleep(300000);		/* the victim is inside a FAULT now */
	rounds_at_kill = atomic_load(&sh->storm_rounds);
	faults_at_kill = atomic_load(&sh->faults_done);
	kill(victim, SIGKILL);
	t0 = dmt_now_s();
	while (dmt_now_s() - t0 < KR_SECONDS) {
		if (waitpid(victim, &st, WNOHANG) == victim) {
			reaped = true;
			rounds_at_reap = atomic_load(&sh->storm_rounds);
			break;
		}
		usleep(10000);
	}
	/* The order: the victim was gone while the storm still went on (a
	 * round after the reap; a loaded host may not run one for a while). */
	t0 = dmt_now_s();
	while (reaped && atomic_load(&sh->storm_rounds) <= rounds_at_reap &&
	       dmt_now_s() - t0 < KR_SECONDS)
		usleep(10000);
	/* The point decides only if the storm starved the FAULTs: rounds ran
	 * and no FAULT got through before the kill, so the kill landed in a
	 * retry loop. Some kernels or a loaded host do not starve them (6.12
	 * held the first punch while FAULTs went on): then it cannot tell a
	 * FAULT that ignores SIGKILL from one that ended, and says so. */
	if (reaped && (rounds_at_kill == 0 || faults_at_kill != 0)) {
		char why[128];

		snprintf(why, sizeof(why),
			 "the storm did not starve the FAULTs (%lu rounds, %lu FAULTs before the kill)",
			 rounds_at_kill, faults_at_kill);
		tap_skip(why, "SIGKILL ends a FAULT the storm keeps retrying, while the storm goes on");
	} else if (!tap_ok(reaped && atomic_load(&sh->ready) &&
			   atomic_load(&sh->storm_rounds) > rounds_at_reap,
			   "SIGKILL ends a FAULT the storm keeps retrying, while the storm goes on")) {
		tap_diag("ready %d, reaped %d, storm rounds at kill %lu, at reap %lu, now %lu, FAULTs before the kill %lu",
			 atomic_load(&sh->ready), reaped, rounds_at_kill, rounds_at_reap,
			 atomic_load(&sh->storm_rounds), faults_at_kill);
	}
	atomic_store(&sh->stop, 1);
	kill(storm, SIGKILL);
	waitpid(storm, &st, 0);
	if (!reaped) {
		kill(victim, SIGKILL);
		waitpid(victim, &st, 0);
	}
	munmap(p, KR_LEN);
	munmap(sh, sizeof(*sh));
}

/* ---- REVOKE while a FAULT's walk waits for a page -------------------------- */

/* A FUSE file whose READs tests/guest/fuse-stall holds until SIGUSR1: a
 * FAULT of its mapping blocks inside its walk for as long as we want, so
 * a REVOKE can return while the walk is in flight. REVOKE promises that
 * accesses in flight fail with ENODEV at their next step and touch no
 * device entry after it returned: the FAULT's next step is storing what
 * its walk found. */
#define RM_LEN		(16 * DMT_PAGE)

struct rm_fault {
	int sfd;
	void *addr;
	int ret;
};

static void *rm_fault_main(void *arg)
{
	struct rm_fault *f = arg;

	f->ret = dmt_fault(f->sfd, f->addr, RM_LEN, 0);
	return NULL;
}

static void g_revoke_mid_fault(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	struct dmt_fuse srv = DMT_FUSE_INIT;
	struct rm_fault f = { .ret = 1 };
	char path[128];
	pthread_t t;
	bool held = false, started = false;
	void *p = MAP_FAILED;
	int fd = -1, rv = 1, r;

	(void)arg;
	if (dmt_fuse_available() < 0) {
		tap_skip_rest("/dev/fuse missing (no fuse module)");
		return;
	}
	r = dmt_fuse_start(&srv, RM_LEN, "--hold-reads");
	if (r < 0) {
		tap_fail_rest("fuse-stall did not mount: %s", strerror(-r));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/file", srv.mnt);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		p = mmap(NULL, RM_LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_PAGECACHE, 0, 0, true) < 0 ||
	    dmt_grant(s.ctl, s.id, fd, 0, 0, RM_LEN) < 0 ||
	    dmt_mirror_add(s.sfd, p, RM_LEN, 0, NULL) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		goto out;
	}
	f.sfd = s.sfd;
	f.addr = p;
	started = pthread_create(&t, NULL, rm_fault_main, &f) == 0;
	/* The walk is inside the page fault: the server holds its READ. */
	held = started && dmt_fuse_wait_line(&srv, "held=READ", 30000) == 0;
	if (held)
		rv = dmt_revoke(s.ctl, s.id);
	kill(srv.pid, SIGUSR1);
	if (started)
		pthread_join(t, NULL);
	if (!tap_ok(held && rv == 0 && f.ret == -ENODEV,
		    "REVOKE returned while a FAULT's walk waited for a page: the FAULT fails with ENODEV"))
		tap_diag("walk held %d, REVOKE %s, FAULT %s", held, tap_errname(-rv),
			 f.ret > 0 ? "not run" : tap_errname(-f.ret));
out:
	if (p != MAP_FAILED)
		munmap(p, RM_LEN);
	if (fd >= 0)
		close(fd);
	dmt_fuse_stop(&srv);
}

/* ---- SIGKILL during a long device READ ------------------------------------ */

/* The victim READs RK_BIG bytes of entries all in place (no device fault
 * on the way: the FAULT's own signal check must not be what ends it) into
 * a buffer already faulted in. After the kill a reference process READs
 * RK_SMALL = RK_BIG / 8 bytes the same way. The victim must be exiting
 * before the reference's READ returns: a READ that ignored the kill would
 * copy the other seven eighths first. "Exiting" is PF_EXITING in
 * /proc/PID/stat, which do_exit() sets once the ioctl has returned and
 * before the memory goes: freeing 1.5 GiB costs a KASAN kernel under TCG
 * longer than the reference's whole READ, so the reap cannot tell. */
#define RK_BIG		(768UL << 20)
#define RK_SMALL	(RK_BIG / 8)

struct rk_shared {
	atomic_int victim_ready, ref_ready, ref_go, ref_done, ref_ret;
	atomic_long victim_huge_kb;
};

/* Anonymous huge-page memory, its own session, a mirror faulted in, and a
 * buffer faulted in. 0 or -errno. */
static int rk_setup(size_t len, struct dmt_session *s, uint8_t **src, uint8_t **buf)
{
	int r;

	*src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	*buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*src == MAP_FAILED || *buf == MAP_FAILED)
		return -errno;
	madvise(*src, len, MADV_HUGEPAGE);
	madvise(*buf, len, MADV_HUGEPAGE);
	memset(*src, 0x5a, len);
	memset(*buf, 0, len);
	r = dmt_session_open(s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, true);
	if (r == 0)
		r = dmt_mirror_add(s->sfd, *src, len, 0, NULL);
	if (r == 0)
		r = dmt_fault(s->sfd, *src, len, 0);
	return r;
}

static void rk_reference(struct rk_shared *sh)
{
	struct dmt_session s = DMT_SESSION_INIT;
	uint8_t *src, *buf;
	int r = rk_setup(RK_SMALL, &s, &src, &buf);

	atomic_store(&sh->ref_ready, r == 0 ? 1 : -1);
	while (!atomic_load(&sh->ref_go))
		usleep(1000);
	if (r == 0)
		r = dmt_dev_read(s.sfd, src, buf, RK_SMALL);
	atomic_store(&sh->ref_ret, r);
	atomic_store(&sh->ref_done, 1);
	_exit(0);
}

static void rk_victim(struct rk_shared *sh)
{
	struct dmt_session s = DMT_SESSION_INIT;
	uint8_t *src, *buf;

	if (rk_setup(RK_BIG, &s, &src, &buf) < 0) {
		atomic_store(&sh->victim_ready, -1);
		_exit(2);
	}
	atomic_store(&sh->victim_huge_kb, dmt_smaps_kb(src, "AnonHugePages"));
	atomic_store(&sh->victim_ready, 1);
	dmt_dev_read(s.sfd, src, buf, RK_BIG);
	_exit(0);
}

#define KR_PF_EXITING	0x00000004	/* include/linux/sched.h */

/* Has @pid left its system call for do_exit()? Field 9 of /proc/PID/stat
 * (the task's flags) has PF_EXITING; a zombie has too. */
static bool task_exiting(pid_t pid)
{
	char path[64], line[1024], *p;
	unsigned long flags = 0;
	char state = 0;
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;	/* not reaped yet: the file is there until then */
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	p = ok ? strrchr(line, ')') : NULL;
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return false;
	return state == 'Z' || state == 'X' || (flags & KR_PF_EXITING);
}

static void g_rw_killable(const void *arg)
{
	struct rk_shared *sh;
	pid_t ref, victim = -1;
	int st = 0, rst, done_at_exit = -1;
	double t0;

	(void)arg;
	/* Without huge pages the victim's exit frees 400 000 pages: the
	 * order asserted would measure that, not the READ. */
	if (dmt_thp_unusable()) {
		tap_skip_rest("transparent hugepages are %s", dmt_thp_unusable());
		return;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		tap_fail_rest("mmap failed: %s", strerror(errno));
		return;
	}
	ref = fork();
	if (ref == 0)
		rk_reference(sh);
	t0 = dmt_now_s();
	while (ref > 0 && !atomic_load(&sh->ref_ready) && dmt_now_s() - t0 < KR_SECONDS)
		usleep(10000);
	if (ref > 0 && atomic_load(&sh->ref_ready) == 1) {
		victim = fork();
		if (victim == 0)
			rk_victim(sh);
	}
	t0 = dmt_now_s();
	while (victim > 0 && !atomic_load(&sh->victim_ready) && dmt_now_s() - t0 < 4 * KR_SECONDS)
		usleep(10000);
	if (victim <= 0 || atomic_load(&sh->victim_ready) != 1) {
		tap_fail_rest("setup failed: reference %d, victim %d", atomic_load(&sh->ref_ready),
			      atomic_load(&sh->victim_ready));
		atomic_store(&sh->ref_go, 1);
		if (victim > 0) {
			kill(victim, SIGKILL);
			waitpid(victim, &st, 0);
		}
		if (ref > 0)
			waitpid(ref, &rst, 0);
		munmap(sh, sizeof(*sh));
		return;
	}
	usleep(100000);		/* the victim is inside its READ now */
	kill(victim, SIGKILL);
	atomic_store(&sh->ref_go, 1);
	t0 = dmt_now_s();
	while (!task_exiting(victim) && dmt_now_s() - t0 < 4 * KR_SECONDS)
		usleep(1000);
	if (task_exiting(victim))
		done_at_exit = atomic_load(&sh->ref_done);
	waitpid(victim, &st, 0);
	waitpid(ref, &rst, 0);
	if (!tap_ok(done_at_exit == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL &&
		    atomic_load(&sh->ref_ret) == 0,
		    "SIGKILL ends a %lu MiB device READ before a %lu MiB one started after it returns",
		    RK_BIG >> 20, RK_SMALL >> 20))
		tap_diag("reference READ done when the victim was exiting: %d (returned %s); victim status %#x; victim's huge pages %ld kB",
			 done_at_exit, tap_errname(-atomic_load(&sh->ref_ret)), st,
			 atomic_load(&sh->victim_huge_kb));
	munmap(sh, sizeof(*sh));
}

/* ---- an invalidation longer than one erase batch (1024 entries) ---------- */

#define BE_LEN		(8UL << 20)	/* 2048 pages, 4 KiB entries */

static void g_big_erase(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct dmt_snap sn;
	uint8_t *buf;
	size_t i, nonzero = 0;
	int r;

	(void)arg;
	buf = malloc(BE_LEN);
	if (!buf || dmt_map_anon(&m, BE_LEN, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    madvise(m.addr, BE_LEN, MADV_NOHUGEPAGE) < 0 ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, true) < 0) {
		free(buf);
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	dmt_pattern_fill(m.addr, BE_LEN, 1601, 0);
	if (dmt_mirror_add(s.sfd, m.addr, BE_LEN, 0, NULL) < 0 ||
	    dmt_fault(s.sfd, m.addr, BE_LEN, 0) < 0 ||
	    dmt_snap_summary(s.sfd, m.addr, BE_LEN, &sn) < 0 || sn.entries[0] != BE_LEN / DMT_PAGE) {
		free(buf);
		tap_fail_rest("mirror/fault failed (%s) or not 2048 4 KiB entries", strerror(errno));
		return;
	}
	madvise(m.addr, BE_LEN, MADV_DONTNEED);
	r = dmt_snap_summary(s.sfd, m.addr, BE_LEN, &sn);
	if (!tap_ok(r == 0 && sn.none == sn.pages,
		    "after MADV_DONTNEED of all 2048 pages, no device entry is left"))
		dmt_snap_diag("snapshot", &sn);
	r = dmt_dev_read(s.sfd, m.addr, buf, BE_LEN);
	for (i = 0; r == 0 && i < BE_LEN; i++)
		nonzero += buf[i] != 0;
	if (!tap_ok(r == 0 && nonzero == 0,
		    "a device READ of it gives the new zero pages, never the old bytes"))
		tap_diag("READ %s, %zu non-zero bytes", tap_errname(-r), nonzero);
	free(buf);
}

/* ---- the exit of a bound process ------------------------------------------- */

#define EX_MIRRORS	3

static void g_exit_events(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	struct daxmirror_event ev;
	uint64_t ids[EX_MIRRORS] = { 0 };
	int pfd[2], st = 0, r, i, released = 0, mm_released = 0, live = 0;
	pid_t child;

	(void)arg;
	if (dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, false) < 0 ||
	    pipe(pfd) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	child = fork();
	if (child == 0) {
		/* Bind, mirror three ranges, read them, report the ids, exit. */
		close(pfd[0]);
		if (dmt_bind(s.sfd) < 0)
			_exit(2);
		for (i = 0; i < EX_MIRRORS; i++) {
			uint8_t *p = mmap(NULL, 64UL << 10, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			uint8_t b[DMT_PAGE];

			if (p == MAP_FAILED)
				_exit(3);
			memset(p, i + 1, 64UL << 10);
			if (dmt_mirror_add(s.sfd, p, 64UL << 10, 0, &ids[i]) < 0 ||
			    dmt_dev_read(s.sfd, p, b, sizeof(b)) < 0)
				_exit(4);
		}
		if (write(pfd[1], ids, sizeof(ids)) != (ssize_t)sizeof(ids))
			_exit(5);
		_exit(0);
	}
	close(pfd[1]);
	r = child > 0 && read(pfd[0], ids, sizeof(ids)) == (ssize_t)sizeof(ids);
	close(pfd[0]);
	if (child > 0)
		waitpid(child, &st, 0);
	if (!r || !WIFEXITED(st) || WEXITSTATUS(st)) {
		tap_fail_rest("the child's setup failed (status %d)", st);
		return;
	}
	/* Everything the session fd says, until it has been quiet a while. */
	while (dmt_event_read(s.sfd, &ev, mm_released ? 500 : DMT_EVENT_TIMEOUT_MS) == 0) {
		mm_released += ev.type == DAXMIRROR_EVENT_MM_RELEASED;
		released += ev.type == DAXMIRROR_EVENT_MIRROR_RELEASED;
	}
	if (!tap_ok(mm_released == 1 && released == 0,
		    "exit: one MM_RELEASED, no MIRROR_RELEASED for its %d mirrors", EX_MIRRORS))
		tap_diag("MM_RELEASED %d, MIRROR_RELEASED %d", mm_released, released);
	for (i = 0; i < EX_MIRRORS; i++) {
		struct daxmirror_mirror_info mi;

		if (dmt_mirror_get(s.ctl, s.id, ids[i], &mi) < 0 ||
		    mi.state != DAXMIRROR_MIRROR_RELEASED)
			live++;
	}
	if (!tap_ok(live == 0, "exit: MIRROR_LIST says RELEASED for each of its mirrors"))
		tap_diag("%d not RELEASED", live);
}

/* ---- FAULT's answer after entries were stored over and dropped ------------ */

#define RF_LEN		(1UL << 20)

static void g_refault(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct dmt_snap sn;
	uint8_t *p;
	int r;

	(void)arg;
	if (dmt_map_anon(&m, RF_LEN, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    madvise(m.addr, RF_LEN, MADV_NOHUGEPAGE) < 0 ||
	    dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	p = m.addr;
	dmt_pattern_fill(p, RF_LEN, 1701, 0);
	/* Half, then all (the first half's entries stored over), then the
	 * second half dropped by the CPU side: FAULT of all must map all. */
	if (dmt_mirror_add(s.sfd, p, RF_LEN, DAXMIRROR_MIRROR_WRITE, NULL) < 0 ||
	    dmt_fault(s.sfd, p, RF_LEN / 2, DAXMIRROR_FAULT_WRITE) < 0 ||
	    dmt_fault(s.sfd, p, RF_LEN, DAXMIRROR_FAULT_WRITE) < 0 ||
	    madvise(p + RF_LEN / 2, RF_LEN / 2, MADV_DONTNEED) < 0) {
		tap_fail_rest("mirror/fault failed: %s", strerror(errno));
		return;
	}
	r = dmt_fault(s.sfd, p, RF_LEN, DAXMIRROR_FAULT_WRITE);
	if (r == 0)
		r = dmt_snap_summary(s.sfd, p, RF_LEN, &sn);
	if (!tap_ok(r == 0 && sn.write == sn.pages,
		    "a write FAULT that returned 0 left every page mapped writable"))
		r ? tap_diag("%s", tap_errname(-r)) : dmt_snap_diag("snapshot", &sn);
}

/* ---- the policy: a grant's first page, a device's VM_IO mapping ------------ */

#define PE_PAGES	4

static void g_policy_edges(const void *arg)
{
	const char *dir = dmt_env_dir(DMT_ENV_EXT4_DAX);
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	const size_t len = PE_PAGES * DMT_PAGE;
	int r, r2, mem;
	void *dm;

	(void)arg;
	if (!dir || dmt_file_create(&f, dir, "edges-grant", len, 1801) < 0 ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON | DAXMIRROR_SESSION_ALLOW_PAGECACHE,
			     0, 0, true) < 0 ||
	    dmt_grant(s.ctl, s.id, f.fd, 0, len / 2, len / 2) < 0 ||
	    dmt_map_file(&m, len, 0, PROT_READ, f.fd, 0, false) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	/* Granted: the second half. The page just before it is not. */
	r = dmt_mirror_add(s.sfd, (uint8_t *)m.addr + len / 2 - DMT_PAGE, DMT_PAGE, 0, NULL);
	r2 = dmt_mirror_add(s.sfd, (uint8_t *)m.addr + len / 2, len / 2, 0, NULL);
	if (!tap_ok(r == -EACCES && r2 == 0,
		    "the page before a grant's first page -> EACCES; the grant itself mirrors"))
		tap_diag("before %s, granted %s", tap_errname(-r), tap_errname(-r2));

	/* /dev/mem's first page (allowed under STRICT_DEVMEM): VM_IO|VM_PFNMAP
	 * with a file behind it, so only that check can refuse it as such. */
	mem = open("/dev/mem", O_RDONLY | O_CLOEXEC);
	dm = mem < 0 ? MAP_FAILED : mmap(NULL, DMT_PAGE, PROT_READ, MAP_SHARED, mem, 0);
	if (dm == MAP_FAILED) {
		tap_skip(strerror(errno), "a /dev/mem mapping (VM_IO|VM_PFNMAP, a file) -> EOPNOTSUPP");
	} else {
		r = dmt_mirror_add(s.sfd, dm, DMT_PAGE, 0, NULL);
		if (!tap_ok(r == -EOPNOTSUPP, "a /dev/mem mapping (VM_IO|VM_PFNMAP, a file) -> EOPNOTSUPP"))
			tap_diag("%s", tap_errname(-r));
		munmap(dm, DMT_PAGE);
	}
	if (mem >= 0)
		close(mem);
}

/* ---- the top of the user address space ------------------------------------ */

/*
 * x86-64: TASK_SIZE, the end of the user address space, is 2^47 - 4096
 * with 4-level paging and 2^56 - 4096 with 5-level paging (qemu's CPU
 * has la57); the last page below 2^47 or 2^56 is a guard page. Which one
 * this kernel uses: can a page just below the 5-level top be mapped?
 */
static uint64_t user_top(void)
{
	const uint64_t top57 = (1ULL << 56) - 4096;
	void *want = (void *)(uintptr_t)(top57 - 4096);
	void *p = mmap(want, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);

	if (p != MAP_FAILED)
		munmap(p, 4096);
	return p == want ? top57 : (1ULL << 47) - 4096;
}

/* The first non-canonical address: no user pointer, no kernel one. */
#define NON_CANONICAL	(1ULL << 63)

/* The kernel's _text from /proc/kallsyms (root), or 0. */
static uint64_t kernel_text(void)
{
	unsigned long long a = 0, v;
	char line[256], t, name[128];
	FILE *f = fopen("/proc/kallsyms", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %127s", &v, &t, name) == 3 && !strcmp(name, "_text")) {
			a = v;
			break;
		}
	if (f)
		fclose(f);
	return a;
}

static void g_top_ranges(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_snapshot sn = { 0 };
	struct daxmirror_rw rw = { 0 };
	const uint64_t top = user_top();
	uint8_t pages[2];
	int r, w, a;

	(void)arg;
	if (dmt_map_anon(&m, DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, DMT_PAGE, DAXMIRROR_MIRROR_WRITE, NULL) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	/* The last user page and the guard page after it: past TASK_SIZE. */
	sn.addr = top - DMT_PAGE;
	sn.length = 2 * DMT_PAGE;
	sn.pages = (uintptr_t)pages;
	r = dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT, &sn);
	a = dmt_mirror_add(s.sfd, (void *)(uintptr_t)(top - DMT_PAGE), 2 * DMT_PAGE, 0, NULL);
	if (!tap_ok(r == -EINVAL && a == -EINVAL,
		    "SNAPSHOT and MIRROR_ADD of a range one page past TASK_SIZE -> EINVAL"))
		tap_diag("TASK_SIZE %#llx: SNAPSHOT %s, MIRROR_ADD %s", (unsigned long long)top,
			 tap_errname(-r), tap_errname(-a));
	sn.addr = top - DMT_PAGE;
	sn.length = DMT_PAGE;
	r = dmt_ioctl(s.sfd, DAXMIRROR_IOC_SNAPSHOT, &sn);
	if (!tap_ok(r == 0 && pages[0] == DAXMIRROR_SNAP_NONE,
		    "SNAPSHOT of the last user page: allowed, nothing mapped"))
		tap_diag("SNAPSHOT %s", tap_errname(-r));
	/* A device READ into, and WRITE from, a non-canonical buffer: EFAULT
	 * before any copy (a copy would fault with #GP: a kernel warning). */
	rw.addr = (uintptr_t)m.addr;
	rw.length = 64;
	rw.buf = NON_CANONICAL;
	r = dmt_ioctl(s.sfd, DAXMIRROR_IOC_READ, &rw);
	rw.done = 0;
	w = dmt_ioctl(s.sfd, DAXMIRROR_IOC_WRITE, &rw);
	if (!tap_ok(r == -EFAULT && w == -EFAULT,
		    "device READ into and WRITE from a non-canonical buffer -> EFAULT"))
		tap_diag("READ %s, WRITE %s", tap_errname(-r), tap_errname(-w));

	/* A device WRITE from the kernel's own text: nothing may be copied
	 * (reading it is harmless to the guest; copying it would leak it). */
	memset(m.addr, 0x33, DMT_PAGE);
	rw.buf = kernel_text();
	rw.done = 0;
	if (!rw.buf) {
		tap_skip("no _text in /proc/kallsyms", "a device WRITE from the kernel's text -> EFAULT");
		return;
	}
	w = dmt_ioctl(s.sfd, DAXMIRROR_IOC_WRITE, &rw);
	if (!tap_ok(w == -EFAULT && rw.done == 0 && ((uint8_t *)m.addr)[0] == 0x33,
		    "a device WRITE from the kernel's text -> EFAULT, nothing copied"))
		tap_diag("WRITE %s, done %llu", tap_errname(-w), (unsigned long long)rw.done);
}

/* ---- pieces unmapped while other threads hold the mmap lock ---------------- */

/* Each holder mprotect()s 256 MiB of zero-page PTEs back and forth: every
 * call holds the mm's lock for writing for a walk of 65 536 PTEs, and the
 * next call queues as a writer at once. A read trylock (what the module's
 * check after a partial munmap takes) fails while a writer holds the lock
 * or waits for it, so the check that follows the last munmap finds the
 * lock busy, and the mirror is released only if the module tries again. */
#define PB_HOLD_LEN	(256UL << 20)

struct pb_holder {
	uint8_t *p;
	atomic_int *stop;
	atomic_ulong rounds;
};

static void *pb_hold(void *arg)
{
	struct pb_holder *h = arg;

	while (!atomic_load(h->stop)) {
		mprotect(h->p, PB_HOLD_LEN, PROT_NONE);
		mprotect(h->p, PB_HOLD_LEN, PROT_READ);
		atomic_fetch_add(&h->rounds, 1);
	}
	return NULL;
}

static void g_pieces_busy(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	struct daxmirror_event ev;
	struct pb_holder h[2] = { { 0 } };
	atomic_int stop = 0;
	pthread_t t[2];
	uint64_t id = 0;
	uint8_t *p;
	int r = -1, i, n = 0;
	double t0;

	(void)arg;
	p = mmap(NULL, 16 * DMT_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, true) < 0 ||
	    dmt_mirror_add(s.sfd, p, 16 * DMT_PAGE, 0, &id) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	for (i = 0; i < 2; i++) {
		h[i].stop = &stop;
		atomic_init(&h[i].rounds, 0);
		h[i].p = mmap(NULL, PB_HOLD_LEN, PROT_READ,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		/* 4 KiB zero-page PTEs, not one huge zero page. */
		if (h[i].p == MAP_FAILED || madvise(h[i].p, PB_HOLD_LEN, MADV_NOHUGEPAGE) < 0 ||
		    madvise(h[i].p, PB_HOLD_LEN, MADV_POPULATE_READ) < 0) {
			tap_fail_rest("holder memory: %s", strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < 2; i++)
		n += pthread_create(&t[i], NULL, pb_hold, &h[i]) == 0;
	t0 = dmt_now_s();
	while (n && !atomic_load(&h[0].rounds) && dmt_now_s() - t0 < KR_SECONDS)
		usleep(1000);
	/* Half, then the other half: the second munmap leaves no VMA. */
	munmap(p, 8 * DMT_PAGE);
	munmap(p + 8 * DMT_PAGE, 8 * DMT_PAGE);
	usleep(200000);		/* the check ran, against a busy lock */
	atomic_store(&stop, 1);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	r = dmt_event_wait(s.sfd, DAXMIRROR_EVENT_MIRROR_RELEASED, s.id, DMT_EVENT_TIMEOUT_MS, &ev);
	if (!tap_ok(n == 2 && r == 0 && ev.mirror_id == id,
		    "unmapped in two pieces while two threads hold its mm's lock: MIRROR_RELEASED arrives"))
		tap_diag("threads %d, holder rounds %lu and %lu, wait %s", n,
			 atomic_load(&h[0].rounds), atomic_load(&h[1].rounds), tap_errname(-r));
out:
	for (i = 0; i < 2; i++)
		if (h[i].p && h[i].p != MAP_FAILED)
			munmap(h[i].p, PB_HOLD_LEN);
}

int main(void)
{
	static const enum edge_kind thp = EDGE_THP, dax = EDGE_DAX;
	const struct tap_group groups[] = {
		{ "a write FAULT racing mprotect(PROT_READ)", 5, g_race, NULL },
		{ "THP mirrors ending and starting mid-block", 8, g_edge, &thp },
		{ "DAX mirrors ending and starting mid-block", 8, g_edge, &dax },
		{ "page-cache snapshot bits", 2, g_pagecache_bits, NULL },
		{ "the session's event ring at its boundary", 6, g_ring, NULL },
		{ "munmap of a mirror's first or last page", 7, g_edge_pages, NULL },
		{ "a read-only mirror of writable memory", 2, g_readonly_mirror, NULL },
		{ "a FAULT kept retrying by invalidations is killable", 1, g_kill_retrying, NULL },
		{ "a long device READ is killable", 1, g_rw_killable, NULL },
		{ "REVOKE while a FAULT's walk waits for a page", 1, g_revoke_mid_fault, NULL },
		{ "MADV_DONTNEED of more entries than one erase batch", 2, g_big_erase, NULL },
		{ "the exit of a bound process with mirrors", 2, g_exit_events, NULL },
		{ "a write FAULT after re-faults and a partial invalidation", 1, g_refault, NULL },
		{ "what the policy refuses at a grant's start and on a device", 2, g_policy_edges, NULL },
		{ "ranges at the top of the user address space", 4, g_top_ranges, NULL },
		{ "a mirror unmapped in pieces while its mm's lock is busy", 1, g_pieces_busy, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 300);
}
