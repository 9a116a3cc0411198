/* test-lib.c - the test helpers themselves, on the host (no kernel module):
 * data patterns, snapshot counting, aligned mappings, /proc readers,
 * FIEMAP checks, child processes and SCM_RIGHTS, so that a guest failure
 * is never a helper bug. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt.h"

static const char *tmpdir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

static void g_pattern(const void *arg)
{
	uint8_t a[1000], b[1000];
	bool same = true;

	(void)arg;
	dmt_pattern_fill(a, sizeof(a), 5, 13);
	for (size_t i = 0; i < sizeof(a); i++)
		same &= a[i] == dmt_pattern_byte(5, 13 + i);
	tap_ok(same, "pattern: fill at an odd base equals byte by byte");
	dmt_pattern_fill(b, 500, 5, 13);
	dmt_pattern_fill(b + 500, 500, 5, 513);
	tap_ok(!memcmp(a, b, sizeof(a)) && dmt_pattern_check(a, sizeof(a), 5, 13) == -1,
	       "pattern: slices compose, check accepts");
	a[777] ^= 1;
	tap_eq((uint64_t)dmt_pattern_check(a, sizeof(a), 5, 13), 777,
	       "pattern: check finds the first differing byte");
	tap_ok(dmt_pattern_check(b, sizeof(b), 6, 13) >= 0 &&
	       dmt_first_diff(a, b, sizeof(a)) == 777,
	       "pattern: another seed differs; first_diff finds 777");
}

static void g_snap(const void *arg)
{
	uint8_t pages[1024 + 3];
	const uint8_t huge = DAXMIRROR_SNAP_WRITE | DAXMIRROR_SNAP_DAX |
			     DAXMIRROR_SNAP_ZONE_DEVICE |
			     (DAXMIRROR_ORDER_2M << DAXMIRROR_SNAP_ORDER_SHIFT);
	struct dmt_snap s;

	(void)arg;
	/* [2M, 6M + 12K): two 2M entries, then one 4K read, two none */
	memset(pages, huge, 1024);
	pages[1024] = DAXMIRROR_SNAP_READ;
	pages[1025] = DAXMIRROR_SNAP_NONE;
	pages[1026] = DAXMIRROR_SNAP_NONE;
	dmt_snap_count(pages, (void *)DMT_2M, sizeof(pages) * DMT_PAGE, &s);
	tap_ok(s.pages == 1027 && s.entries[DAXMIRROR_ORDER_2M] == 2 &&
	       s.entries[DAXMIRROR_ORDER_4K] == 1 && s.none == 2 && s.write == 1024 &&
	       s.read == 1 && s.dax == 1024 && s.zone_device == 1024 && s.misplaced == 0,
	       "snapshot count: 2 x 2M + 1 x 4K entries, states and bits");
	pages[700] = DAXMIRROR_SNAP_READ;	/* a 4K page inside the 2nd block */
	dmt_snap_count(pages, (void *)DMT_2M, sizeof(pages) * DMT_PAGE, &s);
	tap_ok(s.misplaced == 1 && s.entries[DAXMIRROR_ORDER_4K] == 2,
	       "snapshot count: a 2M block with a 4K page in it is flagged");
	dmt_snap_count(pages + 256, (void *)(DMT_2M + 256 * DMT_PAGE), 512 * DMT_PAGE, &s);
	tap_ok(s.entries[DAXMIRROR_ORDER_2M] == 2,
	       "snapshot count: a range cutting two 2M blocks counts both");
}

static void g_mapping(const void *arg)
{
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map f = DMT_MAP_INIT;
	_cleanup_file_ struct dmt_file file = DMT_FILE_INIT;
	uint8_t present[4];
	uintptr_t s = 0, e = 0;
	void *hole;
	long rss;
	int r;

	(void)arg;
	r = dmt_map_anon(&m, 4 * DMT_PAGE, DMT_2M, PROT_READ | PROT_WRITE, 0);
	tap_ok(r == 0 && ((uintptr_t)m.addr & (DMT_2M - 1)) == 0 && m.len == 4 * DMT_PAGE,
	       "map_anon: 2 MiB aligned");
	memset(m.addr, 1, DMT_PAGE);
	r = dmt_pagemap_present(m.addr, 4 * DMT_PAGE, present);
	tap_ok(r == 0 && present[0] == 1 && present[1] == 0,
	       "pagemap: the touched page is present, the next one is not");
	rss = dmt_smaps_kb(m.addr, "Rss");
	tap_eq((uint64_t)rss, 4, "smaps: Rss of the mapping is 4 kB");
	r = dmt_find_mapping("[stack]", &s, &e);
	tap_ok(r == 0 && s < (uintptr_t)&r && (uintptr_t)&r < e, "maps: [stack] holds a local");
	hole = dmt_unmapped_range(DMT_PAGE);
	tap_ok(hole && msync(hole, DMT_PAGE, 0) < 0 && errno == ENOMEM,
	       "unmapped_range: nothing mapped there");
	r = dmt_file_create(&file, tmpdir(), "lib", 3 * DMT_PAGE, 9);
	if (r == 0)
		r = dmt_map_file(&f, 2 * DMT_PAGE, DMT_2M, PROT_READ, file.fd, DMT_PAGE, true);
	tap_ok(r == 0 && !f.sync && ((uintptr_t)f.addr & (DMT_2M - 1)) == 0 &&
	       dmt_pattern_check(f.addr, 2 * DMT_PAGE, 9, DMT_PAGE) == -1,
	       "map_file: MAP_SYNC refused off DAX, fallback maps the file at its offset");
}

static void g_files(const void *arg)
{
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_file_ struct dmt_file sparse = DMT_FILE_INIT;
	char why[256] = "";
	int r;

	(void)arg;
	r = dmt_file_create_aligned(&f, tmpdir(), 1 << 20, DMT_PAGE, 3, why, sizeof(why));
	if (!tap_ok(r == 0 && dmt_file_check_pattern(f.fd, 1 << 20, 0, 3) == -1,
		    "create_aligned: 1 MiB, 4 KiB aligned extents, patterned"))
		tap_diag("%d: %s", r, why);
	r = dmt_file_create(&sparse, tmpdir(), "sparse", 0, 1);
	if (r == 0 && (ftruncate(sparse.fd, 1 << 20) < 0 ||
		       pwrite(sparse.fd, "x", 1, 512 << 10) != 1 || fsync(sparse.fd) < 0))
		r = -errno;
	if (r == 0)
		r = dmt_check_extents(sparse.fd, 1 << 20, DMT_PAGE, why, sizeof(why));
	if (!tap_ok(r == 1 && strstr(why, "hole"), "check_extents: a sparse file is refused (hole)"))
		tap_diag("%d: %s", r, why);
	r = dmt_check_extents(f.fd, 1 << 20, 1ULL << 40, why, sizeof(why));
	if (!tap_ok(r == 1 && strstr(why, "not"), "check_extents: an impossible alignment is refused"))
		tap_diag("%d: %s", r, why);
}

static int child_echo(int sock, void *arg)
{
	int64_t v;
	int fd = dmt_recv_fd(sock, &v, 5000);
	char c = 0;

	(void)arg;
	if (fd < 0 || read(fd, &c, 1) != 1)
		return 3;
	dmt_send_i64(sock, v + c);
	return 42;
}

static int child_priv(int sock, void *arg)
{
	(void)arg;
	dmt_send_i64(sock, dmt_drop_privileges(DMT_NOBODY, DMT_NOBODY));
	dmt_send_i64(sock, getuid() == DMT_NOBODY && getgid() == DMT_NOBODY);
	return 0;
}

static int child_sleep(int sock, void *arg)
{
	(void)sock;
	(void)arg;
	pause();
	return 0;
}

static void g_child(const void *arg)
{
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	_cleanup_child_ struct dmt_child p = DMT_CHILD_INIT;
	_cleanup_child_ struct dmt_child z = DMT_CHILD_INIT;
	int pipefd[2];
	int64_t v = 0, ok = 0;
	int r;

	(void)arg;
	if (pipe(pipefd) < 0 || write(pipefd[1], "\x05", 1) != 1) {
		tap_fail_rest("pipe");
		return;
	}
	r = dmt_child_start(&c, child_echo, NULL);
	if (r == 0)
		r = dmt_send_fd(c.sock, pipefd[0], 100);
	if (r == 0)
		r = dmt_recv_i64(c.sock, &v, 5000);
	tap_ok(r == 0 && v == 105, "SCM_RIGHTS: the child reads the passed pipe");
	tap_eq((uint64_t)dmt_child_wait(&c, 5000), 42, "child_wait returns the exit status");
	close(pipefd[0]);
	close(pipefd[1]);

	if (geteuid() == 0) {
		r = dmt_child_start(&p, child_priv, NULL);
		if (r == 0)
			r = dmt_recv_i64(p.sock, &v, 5000);
		if (r == 0)
			r = dmt_recv_i64(p.sock, &ok, 5000);
		tap_ok(r == 0 && v == 0 && ok == 1, "drop_privileges: the child runs as nobody");
		dmt_child_wait(&p, 5000);
	} else {
		tap_skip("not root", "drop_privileges");
	}
	r = dmt_child_start(&z, child_sleep, NULL);
	tap_ok(r == 0 && dmt_recv_i64(z.sock, &v, 100) == -ETIMEDOUT &&
	       dmt_child_wait(&z, 200) == -1 && z.pid == 0,
	       "a silent child: receive times out, wait kills it");
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "patterns", 4, g_pattern, NULL },
		{ "snapshot counting", 3, g_snap, NULL },
		{ "mappings and /proc", 6, g_mapping, NULL },
		{ "files and FIEMAP", 3, g_files, NULL },
		{ "children", 4, g_child, NULL },
	};

	return tap_main(groups, ARRAY_SIZE(groups), 60);
}
