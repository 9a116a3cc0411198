/* test-dirty.c - what the device writes is never lost to reclaim: a page
 * the device writes through a writable but clean CPU mapping must end up
 * dirty, or reclaim drops it. Cases: anonymous memory after MADV_FREE,
 * MAP_SHARED|MAP_ANONYMOUS (shmem) and a memfd after a read fault, each
 * followed by MADV_PAGEOUT; an ext4 dax=never page-cache file through
 * fsync and drop_caches; and the soft-dirty bit of /proc/self/pagemap after
 * clear_refs 4. Each data case has a CPU-write control beside it (the
 * kernel's own dirty tracking, which the device must match). Runs in the
 * guest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PAGES 64
#define LEN (PAGES * DMT_PAGE)
#define RW_FILE (DAXMIRROR_SESSION_ALLOW_PAGECACHE | DAXMIRROR_SESSION_ALLOW_WRITE)

/* Pages of [p, p + LEN) that do not hold pattern @seed. */
static unsigned int lost_pages(const uint8_t *p, uint64_t seed)
{
	unsigned int lost = 0, i;

	for (i = 0; i < PAGES; i++)
		if (dmt_pattern_check(p + i * DMT_PAGE, DMT_PAGE, seed,
				      i * DMT_PAGE) >= 0)
			lost++;
	return lost;
}

/* Fault every page in for reading (the PTEs: present, writable, clean
 * where the mapping allows it). */
static void read_fault(const uint8_t *p)
{
	volatile uint8_t sink = 0;
	size_t off;

	for (off = 0; off < LEN; off += DMT_PAGE)
		sink += p[off];
	(void)sink;
}

/* Write pattern @seed over the mapping, by the device (mirror it first)
 * or by the CPU; 0 or -errno. */
static int put(struct dmt_session *s, uint8_t *p, uint64_t seed, bool device)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t mid = 0;
	int r;

	if (!device) {
		dmt_pattern_fill(p, LEN, seed, 0);
		return 0;
	}
	buf = malloc(LEN);
	if (!buf)
		return -ENOMEM;
	dmt_pattern_fill(buf, LEN, seed, 0);
	r = dmt_mirror_add(s->sfd, p, LEN, DAXMIRROR_MIRROR_WRITE, &mid);
	if (r == 0)
		r = dmt_dev_write(s->sfd, p, buf, LEN);
	if (r == 0)
		r = dmt_mirror_remove(s->sfd, mid);
	return r;
}

/* Anonymous private memory after MADV_FREE: the PTEs stay writable but
 * are clean, the folios are lazily freeable; MADV_PAGEOUT then discards
 * whatever is not dirty. */
static void g_madv_free(const void *arg)
{
	const bool device = arg != NULL;
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	unsigned int lost;
	int r;

	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, LEN, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	dmt_pattern_fill(m.addr, LEN, 1, 0);
	r = madvise(m.addr, LEN, MADV_FREE) ? -errno : 0;
	if (r == 0)
		r = put(&s, m.addr, 2, device);
	if (r == 0)
		r = madvise(m.addr, LEN, MADV_PAGEOUT) ? -errno : 0;
	lost = lost_pages(m.addr, 2);
	if (!tap_ok(r == 0 && lost == 0,
		    "anonymous, MADV_FREE, %s write of %d pages, MADV_PAGEOUT: none lost",
		    device ? "device" : "CPU", PAGES))
		tap_diag("ret %s, %u of %d pages lost", tap_errname(-r), lost, PAGES);
}

/* Shared memory mapped writable, read-faulted first: writable clean PTEs.
 * @arg: "shmem" (MAP_SHARED|MAP_ANONYMOUS) or "memfd" (a granted memfd);
 * a leading '+' means the device writes, else the CPU. */
static void g_shared(const void *arg)
{
	const char *what = arg;
	const bool device = what[0] == '+';
	const bool memfd = strcmp(what + device, "memfd") == 0;
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_close_ int fd = -1;
	unsigned int lost;
	int r;

	if (dmt_session_open(&s, memfd ? RW_FILE : DMT_ANON_RW, 0, 0, true) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	if (memfd) {
		fd = memfd_create("test-dirty", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, LEN) ||
		    dmt_grant(s.ctl, s.id, fd, DAXMIRROR_GRANT_WRITE, 0, LEN) < 0 ||
		    dmt_map_file(&m, LEN, 0, PROT_READ | PROT_WRITE, fd, 0, false) < 0) {
			tap_fail_rest("memfd setup failed: %s", strerror(errno));
			return;
		}
	} else if (dmt_map_anon(&m, LEN, 0, PROT_READ | PROT_WRITE, MAP_SHARED) < 0) {
		tap_fail_rest("shared anonymous mapping failed");
		return;
	}
	read_fault(m.addr);
	r = put(&s, m.addr, 3, device);
	if (r == 0)
		r = madvise(m.addr, LEN, MADV_PAGEOUT) ? -errno : 0;
	lost = lost_pages(m.addr, 3);
	if (!tap_ok(r == 0 && lost == 0,
		    "%s, read fault, %s write of %d pages, MADV_PAGEOUT: none lost",
		    memfd ? "memfd (tmpfs)" : "MAP_SHARED|MAP_ANONYMOUS",
		    device ? "device" : "CPU", PAGES))
		tap_diag("ret %s, %u of %d pages lost", tap_errname(-r), lost, PAGES);
}

/* The file's pages leave the page cache (written back if dirty). */
static int drop_caches(int fd)
{
	_cleanup_close_ int dc = -1;

	if (fsync(fd))
		return -errno;
	dc = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (dc < 0)
		return -errno;
	if (write(dc, "3", 1) != 1)
		return -errno;
	return 0;
}

/* A page-cache file (ext4 dax=never): device write, munmap, fsync,
 * drop_caches, pread. */
static void g_pagecache(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	const char *dir = dmt_env_dir(DMT_ENV_EXT4_PAGECACHE);
	ssize_t d;
	int r;

	(void)arg;
	if (!dir) {
		tap_skip_rest("no page-cache file system");
		return;
	}
	if (dmt_session_open(&s, RW_FILE, 0, 0, true) < 0 ||
	    dmt_file_create(&f, dir, "dirty", LEN, 4) < 0 || fsync(f.fd) ||
	    drop_caches(f.fd) < 0 ||
	    dmt_grant(s.ctl, s.id, f.fd, DAXMIRROR_GRANT_WRITE, 0, LEN) < 0 ||
	    dmt_map_file(&m, LEN, 0, PROT_READ | PROT_WRITE, f.fd, 0, false) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	read_fault(m.addr);
	r = put(&s, m.addr, 5, true);
	dmt_unmap(&m);
	if (r == 0)
		r = drop_caches(f.fd);
	d = r == 0 ? dmt_file_check_pattern(f.fd, LEN, 0, 5) : 0;
	if (!tap_ok(r == 0 && d < 0,
		    "ext4 page cache: a device write survives fsync and drop_caches"))
		tap_diag("ret %s, first difference at %zd", tap_errname(-r), d);
}

/* Soft-dirty bit (bit 55) of each page of [p, p + len) in pagemap. */
static int soft_dirty(const void *p, size_t pages, uint8_t *out)
{
	_cleanup_close_ int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e;
	size_t i;

	if (fd < 0)
		return -errno;
	for (i = 0; i < pages; i++) {
		off_t off = (off_t)(((uintptr_t)p / DMT_PAGE + i) * sizeof(e));

		if (pread(fd, &e, sizeof(e), off) != (ssize_t)sizeof(e))
			return -EIO;
		out[i] = (e >> 55) & 1;
	}
	return 0;
}

static int clear_refs(void)
{
	_cleanup_close_ int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return write(fd, "4", 1) == 1 ? 0 : -errno;
}

/* clear_refs 4 clears every soft-dirty bit; a device write to page 1 sets
 * that page's bit (as a CPU write would), and only that page's. */
static void g_soft_dirty(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	uint8_t sd[4] = { 0 }, buf[64];
	uint64_t mid = 0;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, 4 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	memset(m.addr, 1, 4 * DMT_PAGE);
	r = dmt_mirror_add(s.sfd, m.addr, 4 * DMT_PAGE, DAXMIRROR_MIRROR_WRITE, &mid);
	if (r == 0)
		r = dmt_fault(s.sfd, m.addr, 4 * DMT_PAGE, DAXMIRROR_FAULT_WRITE);
	if (r == 0)
		r = clear_refs();
	if (r == 0)
		r = soft_dirty(m.addr, 4, sd);
	if (!tap_ok(r == 0 && !sd[0] && !sd[1] && !sd[2] && !sd[3],
		    "clear_refs 4 clears the soft-dirty bits"))
		tap_diag("ret %s, bits %u%u%u%u", tap_errname(-r), sd[0], sd[1], sd[2], sd[3]);
	memset(buf, 7, sizeof(buf));
	if (r == 0)
		r = dmt_dev_write(s.sfd, (uint8_t *)m.addr + DMT_PAGE + 100, buf, sizeof(buf));
	if (r == 0)
		r = soft_dirty(m.addr, 4, sd);
	if (!tap_ok(r == 0 && !sd[0] && sd[1] && !sd[2] && !sd[3],
		    "a device write sets the soft-dirty bit of the page it wrote, only that one"))
		tap_diag("ret %s, bits %u%u%u%u", tap_errname(-r), sd[0], sd[1], sd[2], sd[3]);
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "MADV_FREE, CPU write (control)", 1, g_madv_free, NULL },
		{ "MADV_FREE, device write", 1, g_madv_free, "device" },
		{ "shmem, CPU write (control)", 1, g_shared, "shmem" },
		{ "shmem, device write", 1, g_shared, "+shmem" },
		{ "memfd, CPU write (control)", 1, g_shared, "memfd" },
		{ "memfd, device write", 1, g_shared, "+memfd" },
		{ "page cache through fsync and drop_caches", 1, g_pagecache, NULL },
		{ "soft-dirty", 2, g_soft_dirty, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 300);
}
