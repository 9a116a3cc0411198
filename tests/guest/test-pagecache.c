/* test-pagecache.c - mirrors of page-cache files (tmpfs, ext4 without
 * dax): GRANT_FILE needs ALLOW_PAGECACHE, device reads equal pread,
 * device writes land in the file, snapshots show neither DAX nor
 * ZONE_DEVICE, MIRROR_LIST names the file, truncate invalidates exactly
 * the pages past the new end; UNGRANT gives a grant back (not while a
 * live mirror maps it). Runs in the guest as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dmt.h"

#define FILE_PAGES	16
#define MAP_OFF_PAGES	2	/* the mapping starts at file page 2 */
#define MAP_PAGES	(FILE_PAGES - MAP_OFF_PAGES)
#define CUT_PAGES	4	/* truncate removes the last 4 file pages */

static uint64_t encode_dev(dev_t d)
{
	uint64_t ma = major(d), mi = minor(d);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffULL) << 12);
}

struct fs {
	const char *var;	/* environment variable naming the directory */
	const char *name;
};

static void g_pagecache(const void *arg)
{
	const struct fs *fs = arg;
	const char *var = fs->var, *name = fs->name;
	const char *dir = dmt_env_dir(var);
	_cleanup_session_ struct dmt_session nopc = DMT_SESSION_INIT;
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_close_ int rfd = -1;
	const size_t flen = FILE_PAGES * DMT_PAGE, mlen = MAP_PAGES * DMT_PAGE;
	const off_t moff = MAP_OFF_PAGES * DMT_PAGE;
	uint8_t buf[FILE_PAGES * DMT_PAGE], want[FILE_PAGES * DMT_PAGE];
	struct daxmirror_mirror_info mi;
	struct dmt_snap sn, cut;
	uint8_t kind[MAP_PAGES], state[MAP_PAGES], kept[MAP_PAGES * DMT_PAGE];
	uint64_t pfn[MAP_PAGES];
	size_t shared = MAP_PAGES - CUT_PAGES, lost = 0, lost_alone = 0;
	uint8_t *p;
	uint64_t mid = 0;
	struct stat st;
	int r;

	if (!dir) {
		tap_fail_rest("%s: the guest did not provide %s", name, var);
		return;
	}
	if (dmt_file_create(&f, dir, "pagecache", flen, 101) < 0 ||
	    fstat(f.fd, &st) < 0 ||
	    dmt_session_open(&nopc, DAXMIRROR_SESSION_ALLOW_WRITE, 0, 0, true) < 0 ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_WRITE |
			     DAXMIRROR_SESSION_ALLOW_PAGECACHE, 0, 0, true) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	if (dmt_file_is_dax(f.fd) == 1)
		tap_diag("%s: the file is DAX; this test wants page cache", name);

	tap_errno(dmt_grant(nopc.ctl, nopc.id, f.fd, 0, 0, flen), EPERM,
		  "%s: GRANT_FILE of a page-cache file without ALLOW_PAGECACHE -> EPERM",
		  name);

	r = dmt_grant(s.ctl, s.id, f.fd, DAXMIRROR_GRANT_WRITE, 0, flen);
	if (r == 0)
		r = dmt_map_file(&m, mlen, 0, PROT_READ | PROT_WRITE, f.fd, moff,
				 false);
	if (r == 0)
		r = dmt_mirror_add(s.sfd, m.addr, mlen, DAXMIRROR_MIRROR_WRITE, &mid);
	if (!tap_success(r, "%s: with ALLOW_PAGECACHE a write grant and a writable mirror of MAP_SHARED",
			 name)) {
		tap_fail_rest("no mirror");
		return;
	}
	p = m.addr;

	r = dmt_dev_read(s.sfd, p, buf, mlen);
	if (r == 0)
		r = dmt_pread_full(f.fd, want, mlen, moff);
	if (!tap_ok(r == 0 && !memcmp(buf, want, mlen),
		    "%s: device READ of the mapping equals pread of the file", name))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, want, mlen));

	r = dmt_fault(s.sfd, p, mlen, DAXMIRROR_FAULT_WRITE);
	if (r == 0)
		r = dmt_snap_summary(s.sfd, p, mlen, &sn);
	if (!tap_ok(r == 0 && sn.none == 0 && sn.write == MAP_PAGES &&
		    sn.dax == 0 && sn.zone_device == 0,
		    "%s: after FAULT_WRITE every page is writable, DAX and ZONE_DEVICE bits clear",
		    name))
		dmt_snap_diag("snapshot", &sn);

	r = dmt_mirror_get(s.sfd, 0, mid, &mi);
	if (!tap_ok(r == 0 && mi.backing == DAXMIRROR_BACKING_FILE &&
		    mi.dev == encode_dev(st.st_dev) && mi.ino == st.st_ino &&
		    mi.file_offset == (uint64_t)moff && mi.start == (uintptr_t)p &&
		    mi.length == mlen,
		    "%s: MIRROR_LIST: backing FILE (not DAX), dev/ino of the file, file_offset %lld",
		    name, (long long)moff))
		tap_diag("ret %s backing 0x%x dev 0x%llx (want 0x%llx) ino %llu (want %llu) offset %llu",
			 tap_errname(-r), mi.backing, (unsigned long long)mi.dev,
			 (unsigned long long)encode_dev(st.st_dev),
			 (unsigned long long)mi.ino, (unsigned long long)st.st_ino,
			 (unsigned long long)mi.file_offset);

	/* device write of mapping pages 2..5 = file pages 4..7 */
	dmt_pattern_fill(buf, 4 * DMT_PAGE, 102, 0);
	r = dmt_dev_write(s.sfd, p + 2 * DMT_PAGE, buf, 4 * DMT_PAGE);
	if (!tap_ok(r == 0 && !memcmp(p + 2 * DMT_PAGE, buf, 4 * DMT_PAGE),
		    "%s: device WRITE is seen through the CPU mapping", name))
		tap_diag("ret %s", tap_errname(-r));

	/* Clean pages with read entries: writeback cannot race with the
	 * truncate below and write-protect (invalidate) the kept pages. */
	if (fsync(f.fd) < 0 || dmt_fault(s.sfd, p, mlen, 0) < 0 ||
	    dmt_page_folios(p, mlen, pfn, kind) < 0 ||
	    ftruncate(f.fd, (off_t)(flen - CUT_PAGES * DMT_PAGE)) < 0) {
		tap_fail_rest("fsync/FAULT/kpageflags/ftruncate: %s", tap_errname(errno));
		return;
	}
	/*
	 * ext4's page cache has large folios since 6.16 (7.3 here). The
	 * kernel unmaps a whole folio the cut runs through, and notifies its
	 * range: the kept pages of that one folio may lose their entries
	 * too. Every other kept page must keep its entry; whatever was
	 * dropped must read the file's bytes again.
	 */
	if (kind[shared] == DMT_FOLIO_TAIL) {
		while (shared > 0 && pfn[shared - 1] + 1 == pfn[shared] &&
		       kind[shared - 1] != DMT_FOLIO_SMALL) {
			shared--;
			if (kind[shared] == DMT_FOLIO_HEAD)
				break;
		}
	}
	r = dmt_snapshot(s.sfd, p, mlen - CUT_PAGES * DMT_PAGE, state);
	for (size_t i = 0; r == 0 && i < MAP_PAGES - CUT_PAGES; i++) {
		bool gone = (state[i] & DAXMIRROR_SNAP_STATE_MASK) == DAXMIRROR_SNAP_NONE;

		lost += gone;
		lost_alone += gone && i < shared;
	}
	if (r == 0)
		r = dmt_snap_summary(s.sfd, p + mlen - CUT_PAGES * DMT_PAGE,
				     CUT_PAGES * DMT_PAGE, &cut);
	if (r == 0)
		r = dmt_dev_read(s.sfd, p, kept, mlen - CUT_PAGES * DMT_PAGE);
	dmt_pattern_fill(want, flen, 101, 0);
	memcpy(want + (MAP_OFF_PAGES + 2) * DMT_PAGE, buf, 4 * DMT_PAGE);
	if (!tap_ok(r == 0 && cut.none == CUT_PAGES && lost_alone == 0 &&
		    !memcmp(kept, want + moff, mlen - CUT_PAGES * DMT_PAGE),
		    "%s: truncate by %d pages drops their entries; kept pages keep theirs unless in the folio the cut splits (%zu such, %zu lost), and read the file's bytes",
		    name, CUT_PAGES, MAP_PAGES - CUT_PAGES - shared, lost)) {
		tap_diag("ret %s, truncated pages without entry %zu of %d, kept pages that lost theirs outside the cut folio %zu",
			 tap_errname(-r), (size_t)cut.none, CUT_PAGES, lost_alone);
		dmt_snap_diag("truncated range", &cut);
	}

	dmt_unmap(&m);
	close(take_fd(&f.fd));
	rfd = open(f.path, O_RDONLY | O_CLOEXEC);
	dmt_pattern_fill(want, flen, 101, 0);
	memcpy(want + (MAP_OFF_PAGES + 2) * DMT_PAGE, buf, 4 * DMT_PAGE);
	r = rfd < 0 ? -errno :
		dmt_pread_full(rfd, buf, flen - CUT_PAGES * DMT_PAGE, 0);
	if (!tap_ok(r == 0 && !memcmp(buf, want, flen - CUT_PAGES * DMT_PAGE),
		    "%s: after munmap, close and re-open, pread shows the device's write", name))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, want, flen - CUT_PAGES * DMT_PAGE));
}

static int ungrant(int ctl, uint64_t id, const struct stat *st, uint32_t flags,
		   uint64_t offset, uint64_t length)
{
	struct daxmirror_ungrant u = {
		.session_id = id, .flags = flags, .dev = st->st_dev,
		.ino = st->st_ino, .offset = offset, .length = length,
	};

	return (int)dmt_ioctl(ctl, DAXMIRROR_CTL_UNGRANT, &u);
}

static uint32_t nr_grants(const struct dmt_session *s)
{
	struct daxmirror_session_info info;

	return dmt_session_info(s->ctl, s->id, &info) == 0 ? info.nr_grants : UINT32_MAX;
}

/*
 * UNGRANT gives a grant back: refused while a live mirror maps the range
 * (the grant stays and the mirror keeps working), done once the mirror is
 * released; a mirror over the range then fails; the 64-grant table has a
 * slot again. Its argument errors.
 */
static void g_ungrant(const void *arg)
{
	const char *dir = dmt_env_dir(DMT_ENV_TMPFS);
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	const size_t flen = FILE_PAGES * DMT_PAGE, mlen = 8 * DMT_PAGE;
	uint8_t buf[8 * DMT_PAGE];
	struct daxmirror_ungrant u;
	uint64_t mid = 0;
	struct stat st;
	int r, i;

	(void)arg;
	if (!dir || dmt_file_create(&f, dir, "ungrant", flen, 111) < 0 ||
	    fstat(f.fd, &st) < 0 ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_PAGECACHE, 0, 0, true) < 0 ||
	    dmt_grant(s.ctl, s.id, f.fd, 0, 0, flen) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r = ungrant(s.ctl, s.id, &st, DAXMIRROR_GRANT_WRITE, 0, flen);
	tap_errno(r, ENOENT, "UNGRANT with other flags than the grant's -> ENOENT");
	r = ungrant(s.ctl, s.id, &st, 0, 0, flen - DMT_PAGE);
	tap_errno(r, ENOENT, "UNGRANT of a range other than the grant's -> ENOENT");
	st.st_ino++;
	r = ungrant(s.ctl, s.id, &st, 0, 0, flen);
	st.st_ino--;
	tap_errno(r, ENOENT, "UNGRANT naming another inode -> ENOENT");

	r = dmt_map_file(&m, mlen, 0, PROT_READ, f.fd, 0, false);
	if (r == 0)
		r = dmt_mirror_add(s.sfd, m.addr, mlen, 0, &mid);
	if (r == 0)
		r = dmt_fault(s.sfd, m.addr, mlen, 0);
	if (!tap_success(r, "a mirror of the granted file, faulted")) {
		tap_fail_rest("no mirror");
		return;
	}
	r = ungrant(s.ctl, s.id, &st, 0, 0, flen);
	tap_errno(r, EBUSY, "UNGRANT while a live mirror maps the range -> EBUSY");
	r = dmt_dev_read(s.sfd, m.addr, buf, mlen);
	tap_ok(r == 0 && nr_grants(&s) == 1 && !memcmp(buf, m.addr, mlen),
	       "the grant stays: 1 grant, and the mirror still reads the file");

	dmt_unmap(&m);	/* releases the mirror */
	r = ungrant(s.ctl, s.id, &st, 0, 0, flen);
	tap_ok(r == 0 && nr_grants(&s) == 0,
	       "once the mirror is released, UNGRANT succeeds: 0 grants (%s)", tap_errname(-r));
	r = dmt_map_file(&m, mlen, 0, PROT_READ, f.fd, 0, false);
	if (r == 0) {
		r = dmt_mirror_add(s.sfd, m.addr, mlen, 0, &mid);
		if (r == 0)
			r = dmt_fault(s.sfd, m.addr, mlen, 0);
	}
	tap_errno(r, EACCES, "a mirror of the file without its grant cannot fault -> EACCES");
	tap_errno(ungrant(s.ctl, s.id, &st, 0, 0, flen), ENOENT,
		  "UNGRANT of a grant already given back -> ENOENT");
	dmt_unmap(&m);

	/* The table is full at DAXMIRROR_MAX_GRANTS; a given-back slot is free. */
	for (i = 0, r = 0; i < DAXMIRROR_MAX_GRANTS && r == 0; i++)
		r = dmt_grant(s.ctl, s.id, f.fd, 0, (uint64_t)(i % FILE_PAGES) * DMT_PAGE,
			      (uint64_t)(1 + i / FILE_PAGES) * DMT_PAGE);
	tap_ok(r == 0 && nr_grants(&s) == DAXMIRROR_MAX_GRANTS,
	       "%d grants fill the table", DAXMIRROR_MAX_GRANTS);
	tap_errno(dmt_grant(s.ctl, s.id, f.fd, 0, 0, flen), ENOSPC,
		  "one more grant -> ENOSPC");
	r = ungrant(s.ctl, s.id, &st, 0, 5 * DMT_PAGE, 2 * DMT_PAGE);
	if (r == 0)
		r = dmt_grant(s.ctl, s.id, f.fd, 0, 0, flen);
	tap_ok(r == 0 && nr_grants(&s) == DAXMIRROR_MAX_GRANTS,
	       "after one UNGRANT, a new grant fits again (%s)", tap_errname(-r));

	memset(&u, 0, sizeof(u));
	u = (struct daxmirror_ungrant){ .session_id = s.id, .dev = st.st_dev, .ino = st.st_ino,
					.length = flen, .pad = 1 };
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_CTL_UNGRANT, &u), EINVAL, "UNGRANT with pad set -> EINVAL");
	u.pad = 0;
	u.reserved[1] = 1;
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_CTL_UNGRANT, &u), EINVAL,
		  "UNGRANT with reserved set -> EINVAL");
	u.reserved[1] = 0;
	u.offset = 1;
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_CTL_UNGRANT, &u), EINVAL,
		  "UNGRANT of an unaligned range -> EINVAL");
	tap_errno(ungrant(s.ctl, s.id + 1000000, &st, 0, 0, flen), ENOENT,
		  "UNGRANT on an unknown session -> ENOENT");
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_CTL_UNGRANT, &u), ENOTTY,
		  "UNGRANT on a session fd -> ENOTTY");
	r = dmt_revoke(s.ctl, s.id);
	tap_errno(r == 0 ? ungrant(s.ctl, s.id, &st, 0, 0, flen) : r, ENODEV,
		  "UNGRANT on a revoked session -> ENODEV");
}

int main(void)
{
	static const struct fs tmpfs = { DMT_ENV_TMPFS, "tmpfs" };
	static const struct fs ext4 = { DMT_ENV_EXT4_PAGECACHE, "ext4" };
	const struct tap_group groups[] = {
		{ "page cache: tmpfs", 8, g_pagecache, &tmpfs },
		{ "page cache: ext4 without dax", 8, g_pagecache, &ext4 },
		{ "UNGRANT", 18, g_ungrant, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 300);
}
