/* test-blockmove.c - file blocks that move under a live mirror, on xfs and
 * ext4 mounted -o dax: a mirrored file cloned with FICLONE (xfs reflink)
 * then written by the CPU and by the device, so the shared blocks are
 * copied (the device must follow the file's new blocks and never write the
 * clone's); truncate then extend (the device follows the CPU page by page:
 * EFAULT past the end, zeros in the new hole, fresh blocks after a write);
 * and hole punches while a thread reads the whole file through the device
 * in a loop (every byte is the old data or zero, zero once the punch is
 * done, never anything else - in particular not the data of a file that
 * took the freed blocks). Runs in the guest as root (pagemap PFNs).
 *
 * Not here: write(2) into a shared block of a file that is mapped. On
 * 6.1 that CoW does not unmap the old block (dax_iomap_iter() invalidates
 * only IOMAP_F_NEW ranges), so the CPU - and the device, which follows it -
 * keep reading the clone's block: a kernel bug, not the mirror's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "dmt.h"
#include "module-state.h"

#define MAX_PAGES	(1ULL << 20)
#define MIB		(1UL << 20)

struct fs {
	const char *var;	/* environment variable naming the directory */
	const char *dev_var;	/* ... and the one naming its pmem device */
	const char *name;
	bool reflink;		/* the file system can share blocks (FICLONE) */
};

static const char *fs_dir(const struct fs *fs)
{
	const char *dir = dmt_env_dir(fs->var);

	if (!dir)
		tap_fail_rest("%s: the guest did not provide it", fs->var);
	return dir;
}

/* CPU PFN of each page of [addr, addr + pages pages) from /proc/self/pagemap
 * (root sees PFNs), 0 where the CPU maps nothing. 0 or -errno. */
static int cpu_pfns(const void *addr, size_t pages, uint64_t *pfn)
{
	_cleanup_close_ int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t off = (off_t)((uintptr_t)addr / DMT_PAGE * 8);

	if (fd < 0)
		return -errno;
	if (pread(fd, pfn, pages * 8, off) != (ssize_t)(pages * 8))
		return -EIO;
	for (size_t i = 0; i < pages; i++)
		pfn[i] = (pfn[i] >> 63) ? pfn[i] & ((1ULL << 55) - 1) : 0;
	return 0;
}

/* FIEMAP of the one byte at @off: its physical byte address on the device
 * and whether its extent is shared. 0, -ENOENT for a hole, or -errno. */
static int file_phys(int fd, uint64_t off, uint64_t *phys, bool *shared)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent fe[1];
	} q;

	memset(&q, 0, sizeof(q));
	q.fm.fm_start = off;
	q.fm.fm_length = 1;
	q.fm.fm_flags = FIEMAP_FLAG_SYNC;
	q.fm.fm_extent_count = 1;
	if (ioctl(fd, FS_IOC_FIEMAP, &q.fm) < 0)
		return -errno;
	if (q.fm.fm_mapped_extents == 0 || q.fe[0].fe_logical > off)
		return -ENOENT;
	*phys = q.fe[0].fe_physical + (off - q.fe[0].fe_logical);
	if (shared)
		*shared = q.fe[0].fe_flags & FIEMAP_EXTENT_SHARED;
	return 0;
}

/* Physical address where the pmem device named by @var starts. */
static int pmem_base(const char *var, uint64_t *base)
{
	const char *dev = getenv(var);
	char path[256];
	FILE *f;
	int n;

	if (!dev || strncmp(dev, "/dev/", 5))
		return -ENOENT;
	snprintf(path, sizeof(path), "/sys/block/%s/device/resource", dev + 5);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%" SCNx64, base);
	fclose(f);
	return n == 1 ? 0 : -EIO;
}

/* Device entries of [p, p + len) against the CPU page table: *orphans
 * counts entries where the CPU maps nothing (an entry the kernel's
 * invalidation should have dropped), *beyond entries at or after byte
 * @end (past the end of file). 0 or -errno. */
static int entries_vs_cpu(int sfd, uint8_t *p, size_t len, size_t end,
			  size_t *mapped, size_t *orphans, size_t *beyond)
{
	size_t pages = len / DMT_PAGE;
	_cleanup_free_ uint8_t *snap = NULL;
	_cleanup_free_ uint8_t *present = malloc(pages);
	int r;

	if (!present)
		return -ENOMEM;
	r = dmt_snapshot_alloc(sfd, p, len, &snap);
	if (r == 0)
		r = dmt_pagemap_present(p, len, present);
	if (r < 0)
		return r;
	*mapped = *orphans = *beyond = 0;
	for (size_t i = 0; i < pages; i++) {
		if (!(snap[i] & DAXMIRROR_SNAP_STATE_MASK))
			continue;
		(*mapped)++;
		if (!present[i])
			(*orphans)++;
		if (i * DMT_PAGE >= end)
			(*beyond)++;
	}
	return 0;
}

/* ---- FICLONE (xfs reflink) ---- */

#define CL_SIZE		(8 * MIB)
#define CL_PAGES	(CL_SIZE / DMT_PAGE)
#define CL_SEED		501
#define CL_W1		(2 * MIB + 100)		/* CPU store, 64 bytes */
#define CL_W1LEN	64
#define CL_W2		(5 * MIB)		/* CPU store, one page */
#define CL_W2LEN	DMT_PAGE
#define CL_W3		(6 * MIB + 7)		/* device write, 3000 bytes */
#define CL_W3LEN	3000

/* The expected content of the original after the stores. */
static void clone_expect(uint8_t *want, int stage)
{
	dmt_pattern_fill(want, CL_SIZE, CL_SEED, 0);
	if (stage >= 1) {
		dmt_pattern_fill(want + CL_W1, CL_W1LEN, 502, CL_W1);
		dmt_pattern_fill(want + CL_W2, CL_W2LEN, 503, CL_W2);
	}
	if (stage >= 2)
		dmt_pattern_fill(want + CL_W3, CL_W3LEN, 504, CL_W3);
}

/* Pages of [off, off + len) whose CPU PFN is not the file's block. */
static size_t pfn_mismatch(int fd, const uint64_t *pfn, uint64_t base,
			   size_t off, size_t len)
{
	size_t bad = 0;

	for (size_t o = off & ~(DMT_PAGE - 1); o < off + len; o += DMT_PAGE) {
		uint64_t phys;

		if (file_phys(fd, o, &phys, NULL) < 0 ||
		    pfn[o / DMT_PAGE] != (base + phys) / DMT_PAGE)
			bad++;
	}
	return bad;
}

/* Keep the original (and so the blocks its stores copied) for the rest of
 * the boot instead of freeing them: 6.1's fsdax marks a block a CoW fault
 * copied into as shared (PAGE_MAPPING_DAX_COW) and leaves it so when the
 * file lets go of it, and the next file to map that block hits
 * WARN_ON_ONCE(page->mapping) in dax_associate_entry() - a kernel splat in
 * a later test. The file system is made afresh at every boot. */
static void keep_file(struct dmt_file *f, const char *dir)
{
	char kept[PATH_MAX];

	snprintf(kept, sizeof(kept), "%s/blockmove-cow-kept-%d", dir, (int)getpid());
	if (rename(f->path, kept) == 0) {
		f->path[0] = '\0';
		tap_diag("kept %s for the rest of the boot (6.1 fsdax CoW flag, see the source)",
			 kept);
	} else {
		tap_diag("rename %s: %s", f->path, tap_errname(errno));
	}
}

static void clone_after(const struct fs *fs, struct dmt_session *s,
			struct dmt_file *a, struct dmt_file *b, uint8_t *p,
			uint8_t *buf, uint8_t *want, const uint64_t *pfn0)
{
	_cleanup_free_ uint64_t *pfn = calloc(CL_PAGES, sizeof(*pfn));
	size_t mapped, orphans, beyond, moved = 0, wrong;
	uint64_t base = 0, pa, pb;
	bool sa, sb;
	int r;

	if (!pfn || pmem_base(fs->dev_var, &base) < 0) {
		tap_fail_rest("%s: no pfn buffer or no pmem base (%s)", fs->name,
			      fs->dev_var);
		return;
	}
	r = file_phys(a->fd, 0, &pa, &sa);
	if (r == 0)
		r = file_phys(b->fd, 0, &pb, &sb);
	if (!tap_ok(r == 0 && pa == pb && sa && sb,
		    "%s: the clone shares the original's blocks (FIEMAP: same physical, SHARED)",
		    fs->name))
		tap_diag("ret %s phys %#" PRIx64 "/%#" PRIx64 " shared %d/%d",
			 tap_errname(-r), pa, pb, sa, sb);

	/* xfs took the layout (dax_layout_busy_page: the whole file is
	 * unmapped from the CPU): no device entry may outlive that. */
	r = entries_vs_cpu(s->sfd, p, CL_SIZE, CL_SIZE, &mapped, &orphans, &beyond);
	if (!tap_ok(r == 0 && orphans == 0,
		    "%s: after FICLONE no device entry remains where the CPU mapping is gone",
		    fs->name))
		tap_diag("ret %s: %zu entries, %zu without a CPU page", tap_errname(-r),
			 mapped, orphans);
	tap_diag("%s: after FICLONE: %zu device entries (pages) left", fs->name, mapped);

	r = dmt_dev_read(s->sfd, p, buf, CL_SIZE);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, CL_SIZE, CL_SEED, 0) < 0,
		    "%s: device READ of the original after FICLONE equals the file", fs->name))
		tap_diag("ret %s", tap_errname(-r));

	/* CPU stores into two shared blocks: CoW faults copy them */
	dmt_pattern_fill(p + CL_W1, CL_W1LEN, 502, CL_W1);
	dmt_pattern_fill(p + CL_W2, CL_W2LEN, 503, CL_W2);
	r = cpu_pfns(p, CL_PAGES, pfn);
	wrong = r ? CL_PAGES : pfn_mismatch(a->fd, pfn, base, CL_W1, CL_W1LEN) +
			       pfn_mismatch(a->fd, pfn, base, CL_W2, CL_W2LEN);
	for (size_t i = 0; r == 0 && i < CL_PAGES; i++)
		moved += pfn[i] && pfn0[i] && pfn[i] != pfn0[i];
	if (!tap_ok(r == 0 && wrong == 0 && pfn[CL_W1 / DMT_PAGE] != pfn0[CL_W1 / DMT_PAGE] &&
		    pfn[CL_W2 / DMT_PAGE] != pfn0[CL_W2 / DMT_PAGE],
		    "%s: CPU stores moved the written pages to new blocks (pagemap PFN = the file's FIEMAP block, not the old one)",
		    fs->name))
		tap_diag("ret %s: %zu written pages not on the file's block", tap_errname(-r),
			 wrong);
	tap_diag("%s: %zu pages changed PFN with the CoW (the fs copies whole extents)",
		 fs->name, moved);

	clone_expect(want, 1);
	r = dmt_dev_read(s->sfd, p, buf, CL_SIZE);
	if (!tap_ok(r == 0 && !memcmp(buf, want, CL_SIZE),
		    "%s: device READ of the original sees the CPU's stores (never the old shared blocks)",
		    fs->name))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, want, CL_SIZE));
	r = entries_vs_cpu(s->sfd, p, CL_SIZE, CL_SIZE, &mapped, &orphans, &beyond);
	if (!tap_ok(r == 0 && orphans == 0,
		    "%s: after the CoW no device entry remains where the CPU page is gone",
		    fs->name))
		tap_diag("ret %s: %zu entries, %zu without a CPU page", tap_errname(-r),
			 mapped, orphans);

	/* a device write into a block still shared: the device faults for
	 * write, the fs copies the block, the clone must not change */
	r = file_phys(a->fd, CL_W3, &pa, &sa);
	if (r == 0 && !sa)
		tap_diag("%s: block of the device write is not shared any more", fs->name);
	dmt_pattern_fill(buf, CL_W3LEN, 504, CL_W3);
	r = dmt_dev_write(s->sfd, p + CL_W3, buf, CL_W3LEN);
	if (r == 0)
		r = file_phys(a->fd, CL_W3, &pa, &sa);
	if (r == 0)
		r = file_phys(b->fd, CL_W3, &pb, &sb);
	if (!tap_ok(r == 0 && pa != pb && dmt_pattern_check(p + CL_W3, CL_W3LEN, 504, CL_W3) < 0,
		    "%s: device WRITE into a shared block: the CPU sees it and the original has its own block now",
		    fs->name))
		tap_diag("ret %s phys %#" PRIx64 "/%#" PRIx64, tap_errname(-r), pa, pb);

	r = dmt_pread_full(b->fd, buf, CL_SIZE, 0);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, CL_SIZE, CL_SEED, 0) < 0,
		    "%s: the clone still holds the old data everywhere (pread)", fs->name))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 r ? 0 : dmt_pattern_check(buf, CL_SIZE, CL_SEED, 0));

	clone_expect(want, 2);
	r = dmt_dev_read(s->sfd, p, buf, CL_SIZE);
	if (r == 0 && memcmp(buf, want, CL_SIZE) == 0)
		r = dmt_pread_full(a->fd, buf, CL_SIZE, 0);
	if (!tap_ok(r == 0 && !memcmp(buf, want, CL_SIZE),
		    "%s: device READ and pread of the original: the old data plus exactly the three writes",
		    fs->name))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, want, CL_SIZE));
}

/* Grant all of @f (@size bytes) to @s, map it shared and writable
 * 2 MiB-aligned into @m, mirror it writable, read it through the device
 * into @buf and summarize the device entries into @sn. 0 or -errno. */
static int mirror_whole_file(struct dmt_session *s, struct dmt_file *f, struct dmt_map *m,
			     size_t size, uint8_t *buf, struct dmt_snap *sn)
{
	int r;

	r = dmt_grant(s->ctl, s->id, f->fd, DAXMIRROR_GRANT_WRITE, 0, size);
	if (r == 0)
		r = dmt_map_file(m, size, DMT_2M, PROT_READ | PROT_WRITE, f->fd, 0, true);
	if (r == 0)
		r = dmt_mirror_add(s->sfd, m->addr, size, DAXMIRROR_MIRROR_WRITE, NULL);
	if (r == 0)
		r = dmt_dev_read(s->sfd, m->addr, buf, size);
	if (r == 0)
		r = dmt_snap_summary(s->sfd, m->addr, size, sn);
	return r;
}

static void g_clone(const void *arg)
{
	const struct fs *fs = arg;
	const char *dir = fs_dir(fs);
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file a = DMT_FILE_INIT;
	_cleanup_file_ struct dmt_file b = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_free_ uint8_t *buf = malloc(CL_SIZE);
	_cleanup_free_ uint8_t *want = malloc(CL_SIZE);
	_cleanup_free_ uint64_t *pfn0 = calloc(CL_PAGES, sizeof(*pfn0));
	struct dmt_snap sn = { 0 };
	char why[256] = "";
	int r;

	if (!dir)
		return;
	if (!buf || !want || !pfn0 ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_WRITE, 0, MAX_PAGES, true) < 0 ||
	    dmt_file_create(&b, dir, "clone", 0, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r = dmt_file_create_aligned(&a, dir, CL_SIZE, DMT_2M, CL_SEED, why, sizeof(why));
	if (r != 0) {
		tap_fail_rest("%s: no 8 MiB aligned file: %s", fs->name, r < 0 ? tap_errname(-r) : why);
		return;
	}
	r = mirror_whole_file(&s, &a, &m, CL_SIZE, buf, &sn);
	if (r == 0)
		r = cpu_pfns(m.addr, CL_PAGES, pfn0);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, CL_SIZE, CL_SEED, 0) < 0 &&
		    sn.entries[DAXMIRROR_ORDER_2M] == CL_SIZE / DMT_2M,
		    "%s: 8 MiB mirror: device READ equals the file, 4 x 2M entries", fs->name)) {
		tap_diag("ret %s", tap_errname(-r));
		dmt_snap_diag("snapshot", &sn);
	}

	r = ioctl(b.fd, FICLONE, a.fd) < 0 ? -errno : 0;
	if (!fs->reflink) {
		/* ext4 has no reflink: the call must say so and change nothing */
		tap_errno(r, EOPNOTSUPP, "%s: FICLONE -> EOPNOTSUPP (no reflink here)", fs->name);
		r = dmt_dev_read(s.sfd, m.addr, buf, CL_SIZE);
		tap_ok(r == 0 && dmt_pattern_check(buf, CL_SIZE, CL_SEED, 0) < 0,
		       "%s: the mirror is unaffected by the refused FICLONE", fs->name);
		return;
	}
	if (r == -EOPNOTSUPP) {
		tap_skip_rest("%s: made without reflink (mkfs.xfs -m reflink=0)", fs->name);
		return;
	}
	if (!tap_success(r, "%s: FICLONE of the mirrored file", fs->name)) {
		tap_fail_rest("no clone");
		return;
	}
	clone_after(fs, &s, &a, &b, m.addr, buf, want, pfn0);
	keep_file(&a, dir);
}

/* ---- truncate, then extend ---- */

#define TR_SIZE		(8 * MIB)
#define TR_PAGES	(TR_SIZE / DMT_PAGE)
#define TR_SEED		601
#define TR_CUT		(3 * MIB + 1234)
#define TR_EOF_PAGE	(TR_CUT & ~(DMT_PAGE - 1))
#define TR_DW		(6 * MIB + 5)		/* device write, 5000 bytes */
#define TR_DWLEN	5000
#define TR_CW		(7 * MIB)		/* CPU store, one page */

static void truncate_checks(const struct fs *fs, struct dmt_session *s,
			    struct dmt_file *f, uint8_t *p, uint8_t *buf,
			    uint8_t *want)
{
	size_t mapped, orphans, beyond, differ = 0;
	uint8_t page[4096];
	int r;

	r = ftruncate(f->fd, TR_CUT) < 0 ? -errno : 0;
	if (r == 0)
		r = entries_vs_cpu(s->sfd, p, TR_SIZE, TR_EOF_PAGE + DMT_PAGE,
				   &mapped, &orphans, &beyond);
	if (!tap_ok(r == 0 && orphans == 0 && beyond == 0,
		    "%s: truncate to 3 MiB + 1234: no device entry past the EOF page or where the CPU page is gone",
		    fs->name))
		tap_diag("ret %s: %zu entries, %zu without a CPU page, %zu past EOF",
			 tap_errname(-r), mapped, orphans, beyond);

	r = dmt_dev_read(s->sfd, p, buf, TR_EOF_PAGE + DMT_PAGE);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, TR_CUT, TR_SEED, 0) < 0 &&
		    dmt_all_bytes(buf + TR_CUT, TR_EOF_PAGE + DMT_PAGE - TR_CUT, 0) &&
		    !memcmp(buf + TR_EOF_PAGE, p + TR_EOF_PAGE, DMT_PAGE),
		    "%s: device READ up to the EOF page: the data, then zeros after EOF, as the CPU sees it",
		    fs->name))
		tap_diag("ret %s", tap_errname(-r));
	tap_errno(dmt_dev_read(s->sfd, p + 4 * MIB, buf, 64), EFAULT,
		  "%s: device READ past the new end of file -> EFAULT", fs->name);

	r = ftruncate(f->fd, TR_SIZE) < 0 ? -errno : 0;
	if (r == 0)
		r = dmt_dev_read(s->sfd, p, buf, TR_SIZE);
	memset(want, 0, TR_SIZE);
	dmt_pattern_fill(want, TR_CUT, TR_SEED, 0);
	if (!tap_ok(r == 0 && !memcmp(buf, want, TR_SIZE),
		    "%s: extended back to 8 MiB: device READ shows the kept data and zeros in the new hole",
		    fs->name))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, want, TR_SIZE));

	/* blocks allocated under the device's zero-page entries */
	dmt_pattern_fill(want + TR_DW, TR_DWLEN, 602, TR_DW);
	r = dmt_dev_write(s->sfd, p + TR_DW, want + TR_DW, TR_DWLEN);
	if (r == 0)
		r = dmt_pread_full(f->fd, buf, TR_SIZE, 0);
	if (!tap_ok(r == 0 && !memcmp(buf, want, TR_SIZE) &&
		    !memcmp(p + TR_DW, want + TR_DW, TR_DWLEN),
		    "%s: device WRITE into the new hole: the file and the CPU have it, the rest of the hole reads zero",
		    fs->name))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, want, TR_SIZE));

	dmt_pattern_fill(want + TR_CW, DMT_PAGE, 603, TR_CW);
	memcpy(p + TR_CW, want + TR_CW, DMT_PAGE);
	r = dmt_dev_read(s->sfd, p + TR_CW - DMT_PAGE, buf, 3 * DMT_PAGE);
	if (!tap_ok(r == 0 && !memcmp(buf, want + TR_CW - DMT_PAGE, 3 * DMT_PAGE),
		    "%s: CPU store into the new hole: the device READ sees it (no stale zero-page entry)",
		    fs->name))
		tap_diag("ret %s", tap_errname(-r));

	/* page by page: the device reads what the CPU reads */
	for (size_t i = 0; i < TR_PAGES; i++) {
		r = dmt_dev_read(s->sfd, p + i * DMT_PAGE, page, DMT_PAGE);
		if (r < 0 || memcmp(page, p + i * DMT_PAGE, DMT_PAGE) ||
		    memcmp(page, want + i * DMT_PAGE, DMT_PAGE)) {
			if (!differ++)
				tap_diag("page %zu: ret %s", i, tap_errname(-r));
		}
	}
	r = entries_vs_cpu(s->sfd, p, TR_SIZE, TR_SIZE, &mapped, &orphans, &beyond);
	if (!tap_ok(r == 0 && differ == 0 && orphans == 0,
		    "%s: all 2048 pages: the device READ equals the CPU's view and the file; no device entry without a CPU page",
		    fs->name))
		tap_diag("ret %s: %zu pages differ, %zu entries, %zu without a CPU page",
			 tap_errname(-r), differ, mapped, orphans);
}

static void g_truncate(const void *arg)
{
	const struct fs *fs = arg;
	const char *dir = fs_dir(fs);
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_free_ uint8_t *buf = malloc(TR_SIZE);
	_cleanup_free_ uint8_t *want = malloc(TR_SIZE);
	struct dmt_snap sn = { 0 };
	char why[256] = "";
	int r;

	if (!dir)
		return;
	if (!buf || !want ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_WRITE, 0, MAX_PAGES, true) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r = dmt_file_create_aligned(&f, dir, TR_SIZE, DMT_2M, TR_SEED, why, sizeof(why));
	if (r != 0) {
		tap_fail_rest("%s: no 8 MiB aligned file: %s", fs->name, r < 0 ? tap_errname(-r) : why);
		return;
	}
	r = mirror_whole_file(&s, &f, &m, TR_SIZE, buf, &sn);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, TR_SIZE, TR_SEED, 0) < 0 &&
		    sn.entries[DAXMIRROR_ORDER_2M] == TR_SIZE / DMT_2M,
		    "%s: 8 MiB mirror: device READ equals the file, 4 x 2M entries", fs->name)) {
		tap_diag("ret %s", tap_errname(-r));
		dmt_snap_diag("snapshot", &sn);
	}
	if (r < 0) {
		tap_fail_rest("no mirror");
		return;
	}
	truncate_checks(fs, &s, &f, m.addr, buf, want);
}

/* ---- hole punches under a device reading in a loop ---- */

#define PU_SIZE		(16 * MIB)
#define PU_SEED		701
#define PU_FILL_SEED	702
#define PU_MAX_WAIT_S	60

struct range {
	size_t off, len;
};

/* 2 MiB blocks, page-aligned runs, and sub-page ranges (zeroed in place). */
static const struct range punches[] = {
	{ 2 * MIB, 2 * MIB },
	{ 9 * MIB + 3 * DMT_PAGE, 3 * DMT_PAGE },
	{ 12 * MIB, 2 * MIB },
	{ 5 * MIB + 1000, 2500 },
	{ 14 * MIB + 4 * DMT_PAGE, 2 * MIB - 8 * DMT_PAGE },
	{ 7 * MIB - 300, 700 },
	{ 0, 2 * MIB },
	{ 10 * MIB + 17, 200 * 1024 },
};
#define NPUNCH ARRAY_SIZE(punches)

struct reader {
	int sfd;
	uint8_t *p;		/* the mirrored mapping */
	const uint8_t *ref;	/* the file's original content */
	atomic_uint started;	/* punches begun */
	atomic_uint completed;	/* punches returned */
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* under lock */
	unsigned int reads, overlapped, last_read_after; /* completed at start */
	size_t garbage, stale;	/* bytes neither old nor zero; old after a punch */
	int err;
	char first_bad[200];
};

static bool in_punch(size_t off, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		if (off >= punches[k].off && off < punches[k].off + punches[k].len)
			return true;
	return false;
}

/* Check one device read taken while punches [0, done) had returned and
 * [0, begun) had started: a byte in a returned punch is 0, in a started
 * one old or 0, elsewhere old. */
static void check_read(struct reader *rd, const uint8_t *buf, unsigned int done,
		       unsigned int begun, size_t *garbage, size_t *stale,
		       char *first, size_t firstlen)
{
	for (size_t pg = 0; pg < PU_SIZE; pg += DMT_PAGE) {
		bool must_zero_here = false;

		for (unsigned int k = 0; k < done; k++)
			must_zero_here |= pg < punches[k].off + punches[k].len &&
					  pg + DMT_PAGE > punches[k].off;
		if (!must_zero_here && !memcmp(buf + pg, rd->ref + pg, DMT_PAGE))
			continue;
		for (size_t o = pg; o < pg + DMT_PAGE; o++) {
			bool zero_ok = in_punch(o, begun), must_zero = in_punch(o, done);
			bool bad_stale = must_zero && buf[o] != 0;
			bool bad = !bad_stale && buf[o] != rd->ref[o] &&
				   !(zero_ok && buf[o] == 0);

			if (!bad && !bad_stale)
				continue;
			if (bad_stale)
				(*stale)++;
			else
				(*garbage)++;
			if (!first[0])
				snprintf(first, firstlen,
					 "offset %zu: byte 0x%02x, old 0x%02x, %u punches done, %u begun",
					 o, buf[o], rd->ref[o], done, begun);
		}
	}
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	_cleanup_free_ uint8_t *buf = malloc(PU_SIZE);

	if (!buf) {
		pthread_mutex_lock(&rd->lock);
		rd->err = -ENOMEM;
		pthread_cond_broadcast(&rd->cond);
		pthread_mutex_unlock(&rd->lock);
		return NULL;
	}
	while (!atomic_load(&rd->stop)) {
		unsigned int done = atomic_load(&rd->completed), begun;
		size_t garbage = 0, stale = 0;
		char first[200] = "";
		int r = dmt_dev_read(rd->sfd, rd->p, buf, PU_SIZE);

		begun = atomic_load(&rd->started);
		if (r == 0)
			check_read(rd, buf, done, begun, &garbage, &stale, first,
				   sizeof(first));
		pthread_mutex_lock(&rd->lock);
		if (r < 0 && !rd->err)
			rd->err = r;
		rd->reads++;
		rd->overlapped += begun > done;
		rd->last_read_after = done;
		rd->garbage += garbage;
		rd->stale += stale;
		if (first[0] && !rd->first_bad[0])
			snprintf(rd->first_bad, sizeof(rd->first_bad), "%s", first);
		pthread_cond_broadcast(&rd->cond);
		pthread_mutex_unlock(&rd->lock);
		if (r < 0)
			break;
	}
	return NULL;
}

/* Wait until the reader finished a read that began after @done punches
 * had returned (or failed); false on timeout. */
static bool wait_read_after(struct reader *rd, unsigned int done)
{
	struct timespec until;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PU_MAX_WAIT_S;
	pthread_mutex_lock(&rd->lock);
	while (ok && !rd->err && (rd->reads == 0 || rd->last_read_after < done))
		ok = pthread_cond_timedwait(&rd->cond, &rd->lock, &until) == 0;
	ok = ok && !rd->err;
	pthread_mutex_unlock(&rd->lock);
	return ok;
}

/* Physical blocks the punched 2 MiB ranges had, then how many of them a
 * new file took (FIEMAP): with reuse, a stale device entry would show that
 * file's data, which the reader counts as garbage. */
static size_t reused_blocks(int fd, const uint64_t *freed, size_t nfreed,
			    size_t fill_len)
{
	size_t hits = 0;

	for (size_t off = 0; off < fill_len; off += DMT_PAGE) {
		uint64_t phys;

		if (file_phys(fd, off, &phys, NULL) < 0)
			continue;
		for (size_t i = 0; i < nfreed; i++)
			hits += phys >= freed[i] && phys < freed[i] + DMT_2M;
	}
	return hits;
}

/* Take all the free space of the file system with a preallocated file
 * (unwritten extents: quick), so the blocks the punches free are about all
 * a new file can get. Best effort. */
static void fill_free_space(struct dmt_file *ballast, const char *dir,
			    const char *name)
{
	struct statvfs sv;
	uint64_t avail;
	int r = -ENOSPC;

	/* syncfs: blocks freed by earlier tests must be free, not busy */
	if (dmt_file_create(ballast, dir, "ballast", 0, 0) < 0 ||
	    syncfs(ballast->fd) < 0 || fstatvfs(ballast->fd, &sv) < 0)
		return;
	/* f_bfree: root may use ext4's reserved blocks as well */
	avail = ((uint64_t)sv.f_bfree * sv.f_frsize) & ~(DMT_2M - 1);
	/* metadata needs a little: shrink until the file system agrees */
	for (int i = 0; i < 32 && avail && r == -ENOSPC; i++, avail -= DMT_2M)
		r = fallocate(ballast->fd, 0, 0, (off_t)avail) < 0 ? -errno : 0;
	if (r == 0)
		tap_diag("%s: a ballast file takes %" PRIu64 " MiB, about all the free space",
			 name, (avail + DMT_2M) >> 20);
	else
		tap_diag("%s: no ballast file: %s", name, tap_errname(-r));
}

static void punch_loop(const struct fs *fs, struct dmt_session *s,
		       struct dmt_file *f, struct dmt_file *fill, uint8_t *p,
		       const uint8_t *ref)
{
	struct reader rd = {
		.sfd = s->sfd, .p = p, .ref = ref,
		.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
	};
	_cleanup_free_ uint8_t *fbuf = malloc(DMT_2M);
	uint64_t freed[NPUNCH];
	size_t nfreed = 0, fill_len = 0;
	bool waited = true;
	pthread_t th;
	int r = 0;

	if (!fbuf || pthread_create(&th, NULL, reader_main, &rd) != 0) {
		tap_fail_rest("%s: no reader thread", fs->name);
		return;
	}
	for (unsigned int k = 0; k < NPUNCH && waited && r == 0; k++) {
		uint64_t phys;

		/* the reader is in its loop, having seen the last punch */
		waited = wait_read_after(&rd, k);
		if (punches[k].len == DMT_2M && file_phys(f->fd, punches[k].off, &phys, NULL) == 0)
			freed[nfreed++] = phys;
		atomic_store(&rd.started, k + 1);
		r = fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)punches[k].off, (off_t)punches[k].len) < 0 ? -errno : 0;
		atomic_store(&rd.completed, k + 1);
		/* commit, so the freed blocks can be allocated again, then
		 * give the new file 2 MiB pieces until the file system is
		 * full: with the ballast it has taken the freed blocks */
		if (r == 0 && fsync(f->fd) < 0)
			r = -errno;
		if (punches[k].len != DMT_2M)
			continue;
		for (int i = 0, fr = 0; i < 8 && fr == 0; i++) {
			dmt_pattern_fill(fbuf, DMT_2M, PU_FILL_SEED, fill_len);
			fr = dmt_pwrite_full(fill->fd, fbuf, DMT_2M, (off_t)fill_len);
			if (fr == 0 && fsync(fill->fd) < 0)
				fr = -errno;
			if (fr == 0)
				fill_len += DMT_2M;
			else if (fr != -ENOSPC)
				tap_diag("%s: writing the new file after punch %u: %s",
					 fs->name, k, tap_errname(-fr));
		}
	}
	if (waited && r == 0)
		waited = wait_read_after(&rd, NPUNCH);
	atomic_store(&rd.stop, true);
	pthread_join(th, NULL);

	/* One READ begun after each punch returned, and one after the last:
	 * what the waits above guarantee; more is the scheduler's (15 of 16
	 * once on 7.3 beside another guest, and "2 per punch" failed). */
	if (!tap_ok(r == 0 && waited && rd.err == 0 && rd.reads >= NPUNCH + 1,
		    "%s: %zu hole punches (2M blocks, page runs, sub-page) while a thread device-READs 16 MiB in a loop",
		    fs->name, NPUNCH))
		tap_diag("punch/fill %s, reader %s, %u reads, waits %s", tap_errname(-r),
			 tap_errname(-rd.err), rd.reads, waited ? "ok" : "timed out");
	tap_diag("%s: %u device READs, %u of them overlapping a punch; the new file took %zu pages of the freed 2M blocks",
		 fs->name, rd.reads, rd.overlapped, reused_blocks(fill->fd, freed, nfreed, fill_len));
	if (!tap_ok(rd.garbage == 0,
		    "%s: every byte the device read was the old data or zero (never another file's data)",
		    fs->name))
		tap_diag("%zu bad bytes; first: %s", rd.garbage, rd.first_bad);
	if (!tap_ok(rd.stale == 0,
		    "%s: every READ begun after a punch returned saw zeros there (no stale entry)",
		    fs->name))
		tap_diag("%zu stale bytes; first: %s", rd.stale, rd.first_bad);
}

static void g_punch(const void *arg)
{
	const struct fs *fs = arg;
	const char *dir = fs_dir(fs);
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_file_ struct dmt_file fill = DMT_FILE_INIT;
	_cleanup_file_ struct dmt_file ballast = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_free_ uint8_t *ref = malloc(PU_SIZE);
	_cleanup_free_ uint8_t *buf = malloc(PU_SIZE);
	size_t mapped, orphans, beyond;
	char why[256] = "";
	int r;

	if (!dir)
		return;
	if (!ref || !buf ||
	    dmt_session_open(&s, 0, 0, MAX_PAGES, true) < 0 ||
	    dmt_file_create(&fill, dir, "fill", 0, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r = dmt_file_create_aligned(&f, dir, PU_SIZE, DMT_2M, PU_SEED, why, sizeof(why));
	if (r != 0) {
		tap_fail_rest("%s: no 16 MiB aligned file: %s", fs->name, r < 0 ? tap_errname(-r) : why);
		return;
	}
	dmt_pattern_fill(ref, PU_SIZE, PU_SEED, 0);
	fill_free_space(&ballast, dir, fs->name);
	r = dmt_grant(s.ctl, s.id, f.fd, 0, 0, PU_SIZE);
	if (r == 0)
		r = dmt_map_file(&m, PU_SIZE, DMT_2M, PROT_READ, f.fd, 0, false);
	if (r == 0)
		r = dmt_mirror_add(s.sfd, m.addr, PU_SIZE, 0, NULL);
	if (r == 0)
		r = dmt_dev_read(s.sfd, m.addr, buf, PU_SIZE);
	if (!tap_ok(r == 0 && !memcmp(buf, ref, PU_SIZE),
		    "%s: 16 MiB read-only mirror: device READ equals the file", fs->name)) {
		tap_fail_rest("no mirror: %s", tap_errname(-r));
		return;
	}
	punch_loop(fs, &s, &f, &fill, m.addr, ref);

	for (size_t k = 0; k < NPUNCH; k++)
		memset(ref + punches[k].off, 0, punches[k].len);
	r = dmt_dev_read(s.sfd, m.addr, buf, PU_SIZE);
	if (r == 0 && memcmp(buf, ref, PU_SIZE) == 0)
		r = dmt_pread_full(f.fd, buf, PU_SIZE, 0);
	if (!tap_ok(r == 0 && !memcmp(buf, ref, PU_SIZE),
		    "%s: afterwards device READ and pread agree: zeros exactly in the punched ranges",
		    fs->name))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, ref, PU_SIZE));
	r = entries_vs_cpu(s.sfd, m.addr, PU_SIZE, PU_SIZE, &mapped, &orphans, &beyond);
	if (!tap_ok(r == 0 && orphans == 0,
		    "%s: no device entry where the CPU page is gone", fs->name))
		tap_diag("ret %s: %zu entries, %zu without a CPU page", tap_errname(-r),
			 mapped, orphans);
}

/* ---- the kernel log ---- */

static char marker[96];

static void g_kmsg(const void *arg)
{
	int n = dmt_kmsg_splats(marker);

	(void)arg;
	if (!tap_ok(n == 0, "no BUG/WARNING/Oops in the kernel log during test-blockmove"))
		tap_diag("dmt_kmsg_splats: %d", n);
}

static const struct fs ext4 = {
	DMT_ENV_EXT4_DAX, "DAXMIRROR_EXT4_DAX_DEV", "ext4-dax", false
};
static const struct fs xfs = {
	DMT_ENV_XFS_DAX, "DAXMIRROR_XFS_DAX_DEV", "xfs-dax", true
};

int main(void)
{
	const struct tap_group groups[] = {
		{ "xfs -o dax: FICLONE of a mirrored file, CoW by CPU and device", 11, g_clone, &xfs },
		{ "ext4 -o dax: FICLONE refused", 3, g_clone, &ext4 },
		{ "xfs -o dax: truncate, then extend", 8, g_truncate, &xfs },
		{ "ext4 -o dax: truncate, then extend", 8, g_truncate, &ext4 },
		{ "xfs -o dax: hole punch under a reading device", 6, g_punch, &xfs },
		{ "ext4 -o dax: hole punch under a reading device", 6, g_punch, &ext4 },
		{ "kernel log", 1, g_kmsg, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	snprintf(marker, sizeof(marker), "daxmirror test-blockmove %d start", (int)getpid());
	dmt_kmsg_mark(marker);
	return tap_main(groups, ARRAY_SIZE(groups), 540);
}
