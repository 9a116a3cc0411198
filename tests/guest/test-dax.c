/* test-dax.c - mirrors of DAX files, run on ext4 -o dax and on xfs -o dax:
 * 4 KiB entries of a small file; a 64 MiB file with 2 MiB aligned extents
 * mirrored as exactly 32 order-9 entries (stats, snapshot, MIRROR_LIST),
 * device data checked against the file byte for byte; invalidation by hole
 * punch, truncate, mprotect and munmap; file grants (none, read-only,
 * another range). Runs in the guest as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dmt.h"

#define BIG		(64UL << 20)
#define BIG_BLOCKS	(BIG / DMT_2M)		/* 32 */
#define BIG_PAGES	(BIG / DMT_PAGE)
#define SMALL		(16 * 1024UL)
#define MAX_PAGES	(1ULL << 20)

struct fs {
	const char *var;	/* environment variable naming the directory */
	const char *name;
};

static uint64_t encode_dev(dev_t d)
{
	uint64_t ma = major(d), mi = minor(d);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffULL) << 12);
}

static const char *fs_dir(const struct fs *fs)
{
	const char *dir = dmt_env_dir(fs->var);

	if (!dir)
		tap_fail_rest("%s: the guest did not provide it", fs->var);
	return dir;
}

static void g_small(const void *arg)
{
	const struct fs *fs = arg;
	const char *dir = fs_dir(fs);
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	uint8_t buf[SMALL], want[SMALL];
	struct daxmirror_mirror_info mi;
	struct dmt_snap sn;
	struct stat st;
	uint64_t mid = 0;
	int r;

	if (!dir)
		return;
	if (dmt_file_create(&f, dir, "small", SMALL, 301) < 0 ||
	    fstat(f.fd, &st) < 0 ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_WRITE, 0, MAX_PAGES, true) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r = dmt_file_is_dax(f.fd);
	if (!tap_ok(r == 1, "%s: files in %s are DAX (statx STATX_ATTR_DAX)",
		    fs->name, dir))
		tap_diag("dmt_file_is_dax: %d", r);

	r = dmt_grant(s.ctl, s.id, f.fd, DAXMIRROR_GRANT_WRITE, 0, SMALL);
	if (r == 0)
		r = dmt_map_file(&m, SMALL, 0, PROT_READ | PROT_WRITE, f.fd, 0, true);
	if (r == 0)
		r = dmt_mirror_add(s.sfd, m.addr, SMALL, DAXMIRROR_MIRROR_WRITE, &mid);
	if (r == 0)
		r = dmt_dev_read(s.sfd, m.addr, buf, SMALL);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, SMALL, 301, 0) < 0,
		    "%s: 16 KiB DAX file: device READ equals the file", fs->name))
		tap_diag("ret %s", tap_errname(-r));

	dmt_pattern_fill(buf, 3 * DMT_PAGE, 302, 0);
	r = dmt_dev_write(s.sfd, (uint8_t *)m.addr + 100, buf, 3 * DMT_PAGE);
	dmt_pattern_fill(want, SMALL, 301, 0);
	memcpy(want + 100, buf, 3 * DMT_PAGE);
	if (r == 0)
		r = dmt_pread_full(f.fd, buf, SMALL, 0);
	if (!tap_ok(r == 0 && !memcmp(buf, want, SMALL),
		    "%s: device WRITE is in the file at once (pread)", fs->name))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, want, SMALL));

	r = dmt_fault(s.sfd, m.addr, SMALL, DAXMIRROR_FAULT_WRITE);
	if (r == 0)
		r = dmt_snap_summary(s.sfd, m.addr, SMALL, &sn);
	if (!tap_ok(r == 0 && sn.write == SMALL / DMT_PAGE &&
		    sn.order_pages[DAXMIRROR_ORDER_4K] == SMALL / DMT_PAGE &&
		    sn.dax == SMALL / DMT_PAGE && sn.zone_device == SMALL / DMT_PAGE,
		    "%s: snapshot: 4 writable 4K entries, DAX and ZONE_DEVICE bits set",
		    fs->name))
		dmt_snap_diag("snapshot", &sn);

	r = dmt_mirror_get(s.sfd, 0, mid, &mi);
	if (!tap_ok(r == 0 &&
		    mi.backing == (DAXMIRROR_BACKING_FILE | DAXMIRROR_BACKING_DAX) &&
		    mi.dev == encode_dev(st.st_dev) && mi.ino == st.st_ino &&
		    mi.entries[DAXMIRROR_ORDER_4K] == SMALL / DMT_PAGE,
		    "%s: MIRROR_LIST: backing FILE|DAX, the file's dev/ino, 4 4K entries",
		    fs->name))
		tap_diag("ret %s backing 0x%x dev 0x%llx/0x%llx ino %llu/%llu 4K %llu",
			 tap_errname(-r), mi.backing, (unsigned long long)mi.dev,
			 (unsigned long long)encode_dev(st.st_dev),
			 (unsigned long long)mi.ino, (unsigned long long)st.st_ino,
			 (unsigned long long)mi.entries[0]);
}

/* Entries by order, from the session's stats. */
static void session_entries(int sfd, uint64_t e[DAXMIRROR_NR_ORDERS])
{
	struct daxmirror_session_info info;

	memset(e, 0xff, DAXMIRROR_NR_ORDERS * sizeof(*e));
	if (dmt_session_info(sfd, 0, &info) == 0)
		memcpy(e, info.stats.entries, DAXMIRROR_NR_ORDERS * sizeof(*e));
}

/* The first half of the big-file test: 32 order-9 entries and the data. */
static void big_entries_and_data(const struct fs *fs, struct dmt_session *s,
				 struct dmt_file *f, uint8_t *buf)
{
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_mirror_info mi;
	struct daxmirror_event ev;
	uint64_t e[DAXMIRROR_NR_ORDERS], mid = 0;
	const size_t w1 = DMT_2M - 100, w1len = 200;
	const size_t w2 = (33UL << 20) + 5, w2len = 4096;
	struct dmt_snap sn;
	struct stat st;
	uint8_t *p;
	int r;

	fstat(f->fd, &st);
	r = dmt_map_file(&m, BIG, DMT_2M, PROT_READ | PROT_WRITE, f->fd, 0, true);
	if (r == 0)
		r = dmt_mirror_add(s->sfd, m.addr, BIG, DAXMIRROR_MIRROR_WRITE, &mid);
	if (r == 0)
		r = dmt_fault(s->sfd, m.addr, BIG, DAXMIRROR_FAULT_WRITE);
	if (r < 0) {
		tap_diag("%s: map/MIRROR_ADD/FAULT of 64 MiB: %s", fs->name,
			 tap_errname(-r));
		while (tap_group_left() > 8)
			tap_ok(false, "%s: 64 MiB mirror not set up", fs->name);
		return;
	}
	p = m.addr;
	tap_diag("%s: 64 MiB mapped at %p%s", fs->name, m.addr,
		 m.sync ? " with MAP_SYNC" : " (MAP_SYNC refused)");

	session_entries(s->sfd, e);
	tap_eq(e[DAXMIRROR_ORDER_2M], BIG_BLOCKS,
	       "%s: prefetch of 64 MiB: stats entries[ORDER_2M] == 32", fs->name);
	if (!tap_ok(e[DAXMIRROR_ORDER_4K] == 0 && e[DAXMIRROR_ORDER_1G] == 0,
		    "%s: stats entries[ORDER_4K] == 0 (and no 1G entry)", fs->name))
		tap_diag("4K %llu 1G %llu", (unsigned long long)e[0],
			 (unsigned long long)e[2]);

	r = dmt_snap_summary(s->sfd, p, BIG, &sn);
	if (!tap_ok(r == 0 && sn.write == BIG_PAGES &&
		    sn.order_pages[DAXMIRROR_ORDER_2M] == BIG_PAGES &&
		    sn.entries[DAXMIRROR_ORDER_2M] == BIG_BLOCKS &&
		    sn.misplaced == 0 && sn.dax == BIG_PAGES &&
		    sn.zone_device == BIG_PAGES,
		    "%s: snapshot: all 16384 pages writable, order 2M (32 entries), DAX|ZONE_DEVICE",
		    fs->name))
		dmt_snap_diag("snapshot", &sn);

	r = dmt_mirror_get(s->sfd, 0, mid, &mi);
	if (!tap_ok(r == 0 && mi.entries[DAXMIRROR_ORDER_2M] == BIG_BLOCKS &&
		    mi.entries[DAXMIRROR_ORDER_4K] == 0 &&
		    mi.backing == (DAXMIRROR_BACKING_FILE | DAXMIRROR_BACKING_DAX) &&
		    mi.dev == encode_dev(st.st_dev) && mi.ino == st.st_ino &&
		    mi.start == (uintptr_t)p && mi.length == BIG &&
		    mi.file_offset == 0 && mi.flags == DAXMIRROR_MIRROR_WRITE,
		    "%s: MIRROR_LIST agrees: 32 x 2M, backing FILE|DAX, dev/ino of the file",
		    fs->name))
		tap_diag("ret %s entries %llu/%llu backing 0x%x dev 0x%llx ino %llu",
			 tap_errname(-r), (unsigned long long)mi.entries[0],
			 (unsigned long long)mi.entries[1], mi.backing,
			 (unsigned long long)mi.dev, (unsigned long long)mi.ino);

	r = dmt_dev_read(s->sfd, p, buf, BIG);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, BIG, 201, 0) < 0,
		    "%s: device READ of 64 MiB through the 2M entries equals the file",
		    fs->name))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 r ? 0 : dmt_pattern_check(buf, BIG, 201, 0));

	dmt_pattern_fill(buf, w1len, 202, w1);
	dmt_pattern_fill(buf + w1len, w2len, 202, w2);
	r = dmt_dev_write(s->sfd, p + w1, buf, w1len);
	if (r == 0)
		r = dmt_dev_write(s->sfd, p + w2, buf + w1len, w2len);
	if (!tap_ok(r == 0 && dmt_pattern_check(p + w1, w1len, 202, w1) < 0 &&
		    dmt_pattern_check(p + w2, w2len, 202, w2) < 0 &&
		    dmt_pattern_check(p + w1 - 4096, 4096, 201, w1 - 4096) < 0,
		    "%s: device WRITEs (one across a 2M entry boundary) are seen by the CPU",
		    fs->name))
		tap_diag("ret %s", tap_errname(-r));

	dmt_unmap(&m);
	r = dmt_event_wait(s->sfd, DAXMIRROR_EVENT_MIRROR_RELEASED, s->id,
			   DMT_EVENT_TIMEOUT_MS, &ev);
	tap_ok(r == 0 && ev.mirror_id == mid,
	       "%s: munmap of the 64 MiB mirror: MIRROR_RELEASED event", fs->name);
	/* the next mapping may land at the same address */
	r = dmt_mirror_remove(s->sfd, mid);
	if (r < 0)
		tap_diag("MIRROR_REMOVE of the released mirror: %s", tap_errname(-r));

	/* close and re-open: what the device wrote is in the file */
	close(take_fd(&f->fd));
	f->fd = open(f->path, O_RDWR | O_CLOEXEC);
	r = f->fd < 0 ? -errno : 0;
	if (r == 0)
		r = dmt_pread_full(f->fd, buf, BIG, 0);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf + w1, w1len, 202, w1) < 0 &&
		    dmt_pattern_check(buf + w2, w2len, 202, w2) < 0 &&
		    dmt_pattern_check(buf, w1, 201, 0) < 0 &&
		    dmt_pattern_check(buf + w1 + w1len, w2 - w1 - w1len, 201,
				      w1 + w1len) < 0 &&
		    dmt_pattern_check(buf + w2 + w2len, BIG - w2 - w2len, 201,
				      w2 + w2len) < 0,
		    "%s: after munmap, close and re-open, pread shows exactly the device's writes",
		    fs->name))
		tap_diag("ret %s", tap_errname(-r));
}

/* Invalidation checks against the CPU page table: after an operation that
 * removes [gone, gone + gone_len) from the file,
 *  - no device entry may remain in that range,
 *  - no device entry may remain where the CPU page is not present (the
 *    kernel's notifier covered it: on fsdax, truncate and hole punch unmap
 *    the whole file through dax_layout_busy_page()),
 *  - a 2M block outside the range that had an entry and whose CPU pages
 *    are all still present keeps its entry (invalidation is precise). */
static bool check_invalidation(const char *what, int sfd, uint8_t *p,
			       const uint8_t *before, size_t gone,
			       size_t gone_len)
{
	_cleanup_free_ uint8_t *after = NULL;
	_cleanup_free_ uint8_t *present = malloc(BIG_PAGES);
	size_t in_gone = 0, without_cpu = 0, lost = 0, intact = 0;
	int r;

	if (!present)
		return false;
	r = dmt_snapshot_alloc(sfd, p, BIG, &after);
	if (r == 0)
		r = dmt_pagemap_present(p, BIG, present);
	if (r < 0) {
		tap_diag("%s: snapshot/pagemap: %s", what, tap_errname(-r));
		return false;
	}
	for (size_t i = 0; i < BIG_PAGES; i++) {
		bool mapped = (after[i] & DAXMIRROR_SNAP_STATE_MASK) != 0;

		if (mapped && i * DMT_PAGE >= gone && i * DMT_PAGE < gone + gone_len)
			in_gone++;
		if (mapped && !present[i])
			without_cpu++;
	}
	for (size_t b = 0; b < BIG_BLOCKS; b++) {
		size_t first = b * 512, start = b * DMT_2M;
		bool full = true;

		if (start < gone + gone_len && start + DMT_2M > gone)
			continue;
		for (size_t i = first; i < first + 512; i++)
			full &= present[i] != 0;
		if (!full)
			continue;
		intact++;
		if ((before[first] & DAXMIRROR_SNAP_STATE_MASK) &&
		    !(after[first] & DAXMIRROR_SNAP_STATE_MASK))
			lost++;
	}
	tap_diag("%s: CPU mapping intact on %zu of %zu other 2M blocks", what,
		 intact, (size_t)BIG_BLOCKS);
	if (in_gone || without_cpu || lost)
		tap_diag("%s: %zu entries in the removed range, %zu where the CPU page is gone, %zu intact blocks lost their entry",
			 what, in_gone, without_cpu, lost);
	return !in_gone && !without_cpu && !lost;
}

/* The second half: invalidation by hole punch, truncate and mprotect. */
static void big_invalidation(const struct fs *fs, struct dmt_session *s,
			     struct dmt_file *f, uint8_t *buf)
{
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_free_ uint8_t *before = NULL;
	const size_t hole = 5 * DMT_2M, cut = 61UL << 20;
	bool write_left = false, kept = true;
	uint8_t *p, *snap = NULL;
	int r;

	r = f->fd < 0 ? -EBADF : 0;
	if (r == 0)
		r = dmt_map_file(&m, BIG, DMT_2M, PROT_READ | PROT_WRITE, f->fd, 0, true);
	if (r == 0)
		r = dmt_mirror_add(s->sfd, m.addr, BIG, DAXMIRROR_MIRROR_WRITE, NULL);
	/* clean file, read-only entries: writeback cannot race the checks */
	if (r == 0 && fsync(f->fd) < 0)
		r = -errno;
	if (r == 0)
		r = dmt_fault(s->sfd, m.addr, BIG, 0);
	if (r == 0)
		r = dmt_snapshot_alloc(s->sfd, m.addr, BIG, &before);
	if (r < 0) {
		tap_fail_rest("%s: second mapping/mirror/prefetch: %s", fs->name,
			      tap_errname(-r));
		return;
	}
	p = m.addr;

	r = fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)hole, DMT_2M) < 0 ? -errno : 0;
	if (!tap_ok(r == 0 && check_invalidation("punch", s->sfd, p, before,
						 hole, DMT_2M),
		    "%s: hole punch of 2M block 5: its entry is gone, no entry outlives the CPU mapping, intact blocks keep theirs",
		    fs->name))
		tap_diag("fallocate: %s", tap_errname(-r));

	r = dmt_dev_read(s->sfd, p + hole, buf, DMT_2M);
	if (!tap_ok(r == 0 && dmt_all_bytes(buf, DMT_2M, 0),
		    "%s: device READ of the punched block returns zeros", fs->name))
		tap_diag("ret %s", tap_errname(-r));
	r = dmt_dev_read(s->sfd, p + hole - DMT_2M, buf, DMT_2M);
	if (r == 0)
		r = dmt_dev_read(s->sfd, p + hole + DMT_2M, buf + DMT_2M, DMT_2M);
	if (!tap_ok(r == 0 &&
		    dmt_pattern_check(buf, DMT_2M, 201, hole - DMT_2M) < 0 &&
		    dmt_pattern_check(buf + DMT_2M, DMT_2M, 201, hole + DMT_2M) < 0,
		    "%s: device READ of the neighbouring blocks still equals the file", fs->name))
		tap_diag("ret %s", tap_errname(-r));

	free(before);
	before = NULL;
	r = dmt_fault(s->sfd, p, BIG, 0);
	if (r == 0)
		r = dmt_snapshot_alloc(s->sfd, p, BIG, &before);
	if (r == 0 && ftruncate(f->fd, (off_t)cut) < 0)
		r = -errno;
	if (!tap_ok(r == 0 && check_invalidation("truncate", s->sfd, p, before,
						 cut, BIG - cut),
		    "%s: truncate to 61 MiB: no entry past the new end, none outlives the CPU mapping, intact blocks keep theirs",
		    fs->name))
		tap_diag("prefetch/truncate: %s", tap_errname(-r));
	tap_errno(dmt_dev_read(s->sfd, p + (62UL << 20), buf, 64), EFAULT,
		  "%s: device READ past the new end of file -> EFAULT", fs->name);

	r = dmt_fault(s->sfd, p, 60UL << 20, DAXMIRROR_FAULT_WRITE);
	if (r == 0 && mprotect(p, 2 * DMT_2M, PROT_READ) < 0)
		r = -errno;
	if (r == 0)
		r = dmt_snapshot_alloc(s->sfd, p, 60UL << 20, &snap);
	for (size_t i = 0; r == 0 && i < (60UL << 20) / DMT_PAGE; i++) {
		unsigned int st = snap[i] & DAXMIRROR_SNAP_STATE_MASK;

		if (i < 2 * DMT_2M / DMT_PAGE)
			write_left |= st == DAXMIRROR_SNAP_WRITE;
		else
			kept &= st != DAXMIRROR_SNAP_NONE;
	}
	free(snap);
	if (!tap_ok(r == 0 && !write_left && kept,
		    "%s: mprotect(PROT_READ) of the first 4 MiB: no writable entry left there, the rest kept",
		    fs->name))
		tap_diag("ret %s writable left %d others kept %d", tap_errname(-r),
			 write_left, kept);
	dmt_pattern_fill(buf, 5000, 203, 0);
	tap_errno(dmt_dev_write(s->sfd, p + (1UL << 20), buf, 64), EPERM,
		  "%s: device WRITE into the PROT_READ part -> EPERM", fs->name);
	r = dmt_dev_write(s->sfd, p + 6 * DMT_2M + 100, buf, 5000);
	if (!tap_ok(r == 0 && !memcmp(p + 6 * DMT_2M + 100, buf, 5000),
		    "%s: device WRITE elsewhere in the mirror still works", fs->name))
		tap_diag("ret %s", tap_errname(-r));
}

static void g_big(const void *arg)
{
	const struct fs *fs = arg;
	const char *dir = fs_dir(fs);
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_free_ uint8_t *buf = NULL;
	char why[256] = "";
	int r;

	if (!dir)
		return;
	buf = malloc(BIG);
	if (!buf || dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_WRITE, 0,
				     MAX_PAGES, true) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r = dmt_file_create_aligned(&f, dir, BIG, DMT_2M, 201, why, sizeof(why));
	if (!tap_ok(r == 0, "%s: a 64 MiB fallocated file with 2 MiB aligned extents (FIEMAP)",
		    fs->name))
		tap_diag("%s", why);
	if (r < 0 || f.fd < 0) {
		tap_fail_rest("no 64 MiB file");
		return;
	}
	if (r > 0) {
		/* keep going with a misaligned file: the results show what it
		 * costs, but this is a failure of the guest's file system setup */
		tap_diag("continuing with a misaligned file");
	}
	r = dmt_grant(s.ctl, s.id, f.fd, DAXMIRROR_GRANT_WRITE, 0, BIG);
	if (r < 0) {
		tap_fail_rest("GRANT_FILE: %s", tap_errname(-r));
		return;
	}
	big_entries_and_data(fs, &s, &f, buf);
	big_invalidation(fs, &s, &f, buf);
}

static void g_grants(const void *arg)
{
	const struct fs *fs = arg;
	const char *dir = fs_dir(fs);
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file x = DMT_FILE_INIT;
	_cleanup_file_ struct dmt_file y = DMT_FILE_INIT;
	_cleanup_file_ struct dmt_file z = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map mx = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map my = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map mz = DMT_MAP_INIT;
	const size_t len = 64 * 1024, half = len / 2;
	uint8_t buf[64 * 1024];
	int r, r2;

	if (!dir)
		return;
	if (dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_WRITE, 0, MAX_PAGES, true) < 0 ||
	    dmt_file_create(&x, dir, "nogrant", len, 401) < 0 ||
	    dmt_file_create(&y, dir, "rogrant", len, 402) < 0 ||
	    dmt_file_create(&z, dir, "halfgrant", len, 403) < 0 ||
	    dmt_map_file(&mx, len, 0, PROT_READ | PROT_WRITE, x.fd, 0, false) < 0 ||
	    dmt_map_file(&my, len, 0, PROT_READ | PROT_WRITE, y.fd, 0, false) < 0 ||
	    dmt_map_file(&mz, len, 0, PROT_READ | PROT_WRITE, z.fd, 0, false) < 0 ||
	    dmt_grant(s.ctl, s.id, y.fd, 0, 0, len) < 0 ||
	    dmt_grant(s.ctl, s.id, z.fd, DAXMIRROR_GRANT_WRITE, 0, half) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	tap_errno(dmt_mirror_add(s.sfd, mx.addr, len, 0, NULL), EACCES,
		  "%s: mirror of a file never granted to the session -> EACCES", fs->name);
	tap_errno(dmt_mirror_add(s.sfd, my.addr, len, DAXMIRROR_MIRROR_WRITE, NULL),
		  EACCES, "%s: writable mirror over a read-only grant -> EACCES", fs->name);
	r = dmt_mirror_add(s.sfd, my.addr, len, 0, NULL);
	if (r == 0)
		r = dmt_dev_read(s.sfd, my.addr, buf, len);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, len, 402, 0) < 0,
		    "%s: a read-only grant allows a read-only mirror; device READ equals the file",
		    fs->name))
		tap_diag("ret %s", tap_errname(-r));
	tap_errno(dmt_mirror_add(s.sfd, (uint8_t *)mz.addr + half, half, 0, NULL),
		  EACCES, "%s: mirror of the ungranted half of a file -> EACCES", fs->name);
	r = dmt_mirror_add(s.sfd, mz.addr, len, 0, NULL);
	r2 = dmt_mirror_add(s.sfd, mz.addr, half, DAXMIRROR_MIRROR_WRITE, NULL);
	if (!tap_ok(r == -EACCES && r2 == 0,
		    "%s: a mirror spanning granted and ungranted parts -> EACCES; the granted half alone is accepted",
		    fs->name))
		tap_diag("spanning: %s, granted half: %s", tap_errname(-r),
			 tap_errname(-r2));
}

static const struct fs ext4 = { DMT_ENV_EXT4_DAX, "ext4-dax" };
static const struct fs xfs = { DMT_ENV_XFS_DAX, "xfs-dax" };

int main(void)
{
	const struct tap_group groups[] = {
		{ "ext4 -o dax: a small file", 5, g_small, &ext4 },
		{ "ext4 -o dax: a 64 MiB aligned file", 17, g_big, &ext4 },
		{ "ext4 -o dax: grants", 5, g_grants, &ext4 },
		{ "xfs -o dax: a small file", 5, g_small, &xfs },
		{ "xfs -o dax: a 64 MiB aligned file", 17, g_big, &xfs },
		{ "xfs -o dax: grants", 5, g_grants, &xfs },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 540);
}
