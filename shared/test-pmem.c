/* test-pmem.c - the libpmem2 wrapper on the host, over a regular file in
 * $TMPDIR (no persistent memory): file info, bad blocks (the sysfs list
 * parser, the extent overlap logic and the partition lookup over a fake
 * sysfs tree), the PMEM2_E_* mapping and an aligned map/persist/free
 * round trip. TAP output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fiemap.h>
#include <libpmem2.h>

#include "pmem.h"
#include "tap.h"

static int make_file(uint64_t size)
{
	const char *d = getenv("TMPDIR");
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/test-pmem-XXXXXX", d && *d ? d : "/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		perror("mkostemp");
		exit(1);
	}
	unlink(path);
	if (ftruncate(fd, (off_t)size) < 0) {
		perror("ftruncate");
		exit(1);
	}
	return fd;
}

static void test_errno(void)
{
	tap_ok(dmp_errno(0) == 0 && dmp_errno(5) == 0, "errno: success is 0");
	tap_ok(dmp_errno(-ENOMEM) == -ENOMEM && dmp_errno(-EACCES) == -EACCES,
	   "errno: negative errnos pass through");
	tap_ok(dmp_errno(PMEM2_E_NOSUPP) == -EOPNOTSUPP, "errno: NOSUPP -> EOPNOTSUPP");
	tap_ok(dmp_errno(PMEM2_E_GRANULARITY_NOT_SUPPORTED) == -EOPNOTSUPP,
	   "errno: GRANULARITY_NOT_SUPPORTED -> EOPNOTSUPP");
	tap_ok(dmp_errno(PMEM2_E_INVALID_FILE_HANDLE) == -EBADF, "errno: INVALID_FILE_HANDLE -> EBADF");
	tap_ok(dmp_errno(PMEM2_E_MAP_RANGE) == -ERANGE, "errno: MAP_RANGE -> ERANGE");
	tap_ok(dmp_errno(PMEM2_E_OFFSET_UNALIGNED) == -EINVAL, "errno: OFFSET_UNALIGNED -> EINVAL");
	tap_ok(dmp_errno(PMEM2_E_LENGTH_UNALIGNED) == -EINVAL, "errno: LENGTH_UNALIGNED -> EINVAL");
	tap_ok(dmp_errno(PMEM2_E_NO_ACCESS) == -EACCES, "errno: NO_ACCESS -> EACCES");
	tap_ok(dmp_errno(PMEM2_E_MAPPING_EXISTS) == -EEXIST, "errno: MAPPING_EXISTS -> EEXIST");
	tap_ok(dmp_errno(PMEM2_E_SOURCE_EMPTY) == -ENODATA, "errno: SOURCE_EMPTY -> ENODATA");
	tap_ok(dmp_errno(PMEM2_E_IO_FAIL) == -EIO, "errno: IO_FAIL -> EIO");
	tap_ok(dmp_errno(PMEM2_E_UNKNOWN) == -EIO && dmp_errno(-100999) == -EIO,
	   "errno: unknown codes -> EIO");
	for (int e = PMEM2_E_IO_FAIL; e <= PMEM2_E_UNKNOWN; e++) {
		int r = dmp_errno(e);

		if (r >= 0 || r <= -4096) {
			tap_ok(false, "errno: %d maps to %d", e, r);
			return;
		}
	}
	tap_ok(true, "errno: every PMEM2_E_* code is a negative errno");
}

static void test_names(void)
{
	tap_ok(!strcmp(dmp_granularity_name(DMP_GRANULARITY_BYTE), "byte") &&
	   !strcmp(dmp_granularity_name(DMP_GRANULARITY_CACHE_LINE), "cache-line") &&
	   !strcmp(dmp_granularity_name(DMP_GRANULARITY_PAGE), "page"),
	   "granularity names");
}

static void test_info(void)
{
	struct dmp_file_info info;
	int fd = make_file(3 << 20), r;

	r = dmp_file_info(fd, &info);
	tap_ok(r == 0, "info: returns 0 (%d)", r);
	tap_ok(!info.dax, "info: a tmp file is not DAX");
	tap_ok(info.size == 3 << 20, "info: size %llu", (unsigned long long)info.size);
	tap_ok(info.alignment == 4096, "info: alignment %llu", (unsigned long long)info.alignment);
	tap_ok(info.granularity == DMP_GRANULARITY_PAGE, "info: granularity page");
	tap_ok(info.numa_node >= -1, "info: numa node %d", info.numa_node);
	tap_ok(dmp_file_info(-1, &info) == -EINVAL, "info: fd -1 -> EINVAL");
	tap_ok(dmp_file_info(fd, NULL) == -EINVAL, "info: NULL -> EINVAL");
	close(fd);

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	r = dmp_file_info(fd, &info);
	tap_ok(r < 0, "info: /dev/null is refused (%d)", r);
	close(fd);
}

static void test_badblocks(void)
{
	uint64_t first = 7;
	int fd = make_file(1 << 20), r;

	r = dmp_badblocks_overlap(fd, 0, 1 << 20, &first);
	tap_ok(r == -EOPNOTSUPP || r == 0, "badblocks: a non-pmem file -> EOPNOTSUPP or 0 (%d)", r);
	tap_ok(first == 7, "badblocks: first_bad untouched");
	tap_ok(dmp_badblocks_overlap(fd, UINT64_MAX, 2, NULL) == -EINVAL,
	   "badblocks: overflowing range -> EINVAL");
	close(fd);
}

static void test_badblocks_parse(void)
{
	struct dmp_bad_sectors *b = NULL;
	size_t n = 99;
	int r;

	r = dmp_badblocks_parse("", &b, &n);
	tap_ok(r == 0 && n == 0 && !b, "parse: empty list (%d, %zu)", r, n);
	r = dmp_badblocks_parse("\n", &b, &n);
	tap_ok(r == 0 && n == 0 && !b, "parse: a disk without a list shows \"\\n\" (%d, %zu)", r, n);
	r = dmp_badblocks_parse("274436 1\n", &b, &n);
	tap_ok(r == 0 && n == 1 && b && b[0].sector == 274436 && b[0].count == 1,
	   "parse: one entry (%d, %zu)", r, n);
	free(b);
	b = NULL;
	r = dmp_badblocks_parse("8 8\n1024 512\n36028797018963966 1\n", &b, &n);
	tap_ok(r == 0 && n == 3 && b[1].sector == 1024 && b[1].count == 512 &&
	   b[2].sector == (UINT64_MAX >> 9) - 1, "parse: three entries, the last at the top (%d)", r);
	free(b);
	/* Forty entries: the array grows. */
	{
		char text[1024] = "";
		size_t len = 0;

		for (int i = 0; i < 40; i++)
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%d 8\n", i * 16);
		r = dmp_badblocks_parse(text, &b, &n);
		tap_ok(r == 0 && n == 40 && b[39].sector == 39 * 16 && b[39].count == 8,
		   "parse: forty entries (%d, %zu)", r, n);
		free(b);
	}
	static const char *const bad[] = {
		"274436 1",		/* unterminated: cut by sysfs' page */
		"274436\n",
		"274436 \n",
		"274436 0\n",
		"-1 1\n",
		" 1 1\n",
		"1  1\n",
		"1 -1\n",
		"1 1 \n",
		"1 1\n2 x\n",
		"0x10 1\n",
		"18446744073709551616 1\n",
		"36028797018963967 1\n",	/* (sector + count) * 512 overflows */
		"0 36028797018963968\n",	/* count * 512 overflows */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = (void *)1;
		r = dmp_badblocks_parse(bad[i], &b, &n);
		tap_ok(r == -EINVAL && b == (void *)1, "parse: malformed %zu -> EINVAL (%d)", i, r);
	}
	tap_ok(dmp_badblocks_parse(NULL, &b, &n) == -EINVAL, "parse: NULL text -> EINVAL");
}

static void test_badblocks_extents(void)
{
	/* A 8 MiB file in two extents: [0, 2M) at device byte 128M,
	 * [2M, 8M) at 256M; then a delayed allocation [8M, 9M) and an
	 * unwritten extent [9M, 10M) at 300M. */
	const uint64_t M = 1 << 20;
	const struct dmp_extent ext[] = {
		{ 0, 128 * M, 2 * M, 0 },
		{ 2 * M, 256 * M, 6 * M, 0 },
		{ 8 * M, 0, M, FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_UNKNOWN },
		{ 9 * M, 300 * M, M, FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_LAST },
	};
	const size_t next = sizeof(ext) / sizeof(ext[0]);
	/* One sector in the middle of the page at file offset 4M: device
	 * byte 256M + 2M + 2048. */
	struct dmp_bad_sectors one = { (256 * M + 2 * M + 2048) >> 9, 1 };
	uint64_t first = 7;
	int r;

	r = dmp_badblocks_in_extents(&one, 1, ext, next, 0, 0, 10 * M, &first);
	tap_ok(r == 1 && first == 4 * M, "extents: whole file -> bad page at 4M (%d, %llu)", r,
	   (unsigned long long)first);
	r = dmp_badblocks_in_extents(&one, 1, ext, next, 0, 4 * M, 4096, &first);
	tap_ok(r == 1 && first == 4 * M, "extents: the bad page alone (%d)", r);
	r = dmp_badblocks_in_extents(&one, 1, ext, next, 0, 4 * M - 4096, 8192, &first);
	tap_ok(r == 1 && first == 4 * M, "extents: the page before and the bad page (%d, %llu)", r,
	   (unsigned long long)first);
	first = 7;
	r = dmp_badblocks_in_extents(&one, 1, ext, next, 0, 0, 4 * M, &first);
	tap_ok(r == 0 && first == 7, "extents: [0, 4M) is clean, first_bad untouched (%d)", r);
	r = dmp_badblocks_in_extents(&one, 1, ext, next, 0, 4 * M + 4096, 4 * M - 4096, &first);
	tap_ok(r == 0, "extents: [4M + 4K, 8M) is clean (%d)", r);
	r = dmp_badblocks_in_extents(&one, 1, ext, next, 0, 0, 4 * M, NULL);
	tap_ok(r == 0, "extents: NULL first_bad (%d)", r);

	/* The same disk sector seen through a partition starting at
	 * sector 2048 (1 MiB): the file's data there moved 1 MiB down. */
	r = dmp_badblocks_in_extents(&one, 1, ext, next, 2048, 0, 10 * M, &first);
	tap_ok(r == 1 && first == 3 * M, "extents: partition start 1M -> bad page at 3M (%d, %llu)", r,
	   (unsigned long long)first);
	r = dmp_badblocks_in_extents(&one, 1, ext, next, 2048, 4 * M, 4096, &first);
	tap_ok(r == 0, "extents: partition start 1M -> the page at 4M is clean (%d)", r);

	/* Delayed allocation: no location, skipped even if "physical 0" is
	 * bad; an unwritten extent counts. */
	{
		struct dmp_bad_sectors zero = { 0, 8 };
		struct dmp_bad_sectors unw = { (300 * M + 8192) >> 9, 16 };

		r = dmp_badblocks_in_extents(&zero, 1, ext, next, 0, 8 * M, M, &first);
		tap_ok(r == 0, "extents: a delayed allocation has no sectors (%d)", r);
		r = dmp_badblocks_in_extents(&unw, 1, ext, next, 0, 8 * M, 2 * M, &first);
		tap_ok(r == 1 && first == 9 * M + 8192, "extents: an unwritten extent counts (%d, %llu)",
		   r, (unsigned long long)first);
		/* A hole: [10M, 11M) has no extent at all. */
		r = dmp_badblocks_in_extents(&unw, 1, ext, next, 0, 10 * M, M, &first);
		tap_ok(r == 0, "extents: a hole has no sectors (%d)", r);
	}

	/* A run of bad sectors that starts before the range: clamped. */
	{
		struct dmp_bad_sectors run = { (256 * M) >> 9, 8192 };	/* 4 MiB */

		r = dmp_badblocks_in_extents(&run, 1, ext, next, 0, 3 * M, 4096, &first);
		tap_ok(r == 1 && first == 3 * M, "extents: a run starting before the range (%llu)",
		   (unsigned long long)first);
		r = dmp_badblocks_in_extents(&run, 1, ext, next, 0, 6 * M, 2 * M, &first);
		tap_ok(r == 0, "extents: the run ends at 6M exactly (%d)", r);
	}

	/* The smallest of several, extents out of order. */
	{
		const struct dmp_extent rev[] = { ext[1], ext[0] };
		const struct dmp_bad_sectors two[] = {
			{ (256 * M + 5 * M) >> 9, 8 },		/* file 7M */
			{ (128 * M + M + 512) >> 9, 1 },	/* file 1M + 512 */
		};

		r = dmp_badblocks_in_extents(two, 2, rev, 2, 0, 0, 8 * M, &first);
		tap_ok(r == 1 && first == M, "extents: the first of two (%llu)", (unsigned long long)first);
		r = dmp_badblocks_in_extents(two, 2, rev, 2, 0, 2 * M, 6 * M, &first);
		tap_ok(r == 1 && first == 7 * M, "extents: the one in the range (%llu)",
		   (unsigned long long)first);
	}

	/* Encoded data: anywhere in the extent's sectors. */
	{
		const struct dmp_extent enc = { 0, 64 * M, 8 * M, FIEMAP_EXTENT_ENCODED };
		struct dmp_bad_sectors b = { (64 * M + 7 * M) >> 9, 1 };

		r = dmp_badblocks_in_extents(&b, 1, &enc, 1, 0, M, 4096, &first);
		tap_ok(r == 1 && first == M, "extents: encoded data -> the range's start (%d)", r);
	}

	tap_ok(dmp_badblocks_in_extents(&one, 1, ext, next, 0, UINT64_MAX, 2, &first) == -EINVAL,
	   "extents: overflowing range -> EINVAL");
	tap_ok(dmp_badblocks_in_extents(&one, 1, ext, next, UINT64_MAX, 0, M, &first) == -EINVAL,
	   "extents: overflowing partition start -> EINVAL");
	tap_ok(dmp_badblocks_in_extents(NULL, 0, ext, next, 0, 0, 10 * M, &first) == 0,
	   "extents: no bad sectors -> 0");
	{
		/* Not from the parser: a count that would wrap is ignored. */
		struct dmp_bad_sectors wrap = { 0, (UINT64_MAX >> 9) + 1 };

		tap_ok(dmp_badblocks_in_extents(&wrap, 1, ext, next, 0, 0, 10 * M, &first) == 0,
		   "extents: a wrapping run is ignored");
	}
}

/* put_file DIR NAME TEXT */
static void put_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void test_badblocks_sysfs(void)
{
	const char *d = getenv("TMPDIR");
	char root[4096], p[4096 + 64];
	struct dmp_bad_sectors *b = NULL;
	uint64_t start = 7;
	size_t n = 0;
	int r;

	/* A sysfs look-alike: dev/block/MAJ:MIN links to the device's
	 * directory, as the real one does; a partition's directory is in its
	 * disk's. */
	snprintf(root, sizeof(root), "%s/test-pmem-sysfs-XXXXXX", d && *d ? d : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		exit(1);
	}
#define MK(fmt, ...) do { snprintf(p, sizeof(p), fmt, __VA_ARGS__); \
			  if (mkdir(p, 0755)) { perror(p); exit(1); } } while (0)
	MK("%s/dev", root);
	MK("%s/dev/block", root);
	MK("%s/devices", root);
	MK("%s/devices/pmem0", root);
	MK("%s/devices/pmem0/pmem0p1", root);
	MK("%s/devices/vda", root);
	MK("%s/devices/big", root);
	MK("%s/devices/nolist", root);
#undef MK
	snprintf(p, sizeof(p), "%s/devices/pmem0", root);
	put_file(p, "badblocks", "274436 1\n300000 8\n");
	snprintf(p, sizeof(p), "%s/devices/pmem0/pmem0p1", root);
	put_file(p, "partition", "1\n");
	put_file(p, "start", "2048\n");
	snprintf(p, sizeof(p), "%s/devices/vda", root);
	put_file(p, "badblocks", "\n");
	snprintf(p, sizeof(p), "%s/devices/big", root);
	{
		char text[4200] = "";
		size_t len = 0;

		while (len < 4095)
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%zu 8\n", len);
		put_file(p, "badblocks", text);
	}
	snprintf(p, sizeof(p), "%s/devices/nolist", root);
	put_file(p, "badlist", "garbage");
	static const char *const links[][2] = {
		{ "259:0", "../../devices/pmem0" },
		{ "259:1", "../../devices/pmem0/pmem0p1" },
		{ "254:0", "../../devices/vda" },
		{ "7:0", "../../devices/big" },
		{ "7:1", "../../devices/nolist" },
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(p, sizeof(p), "%s/dev/block/%s", root, links[i][0]);
		if (symlink(links[i][1], p)) {
			perror(p);
			exit(1);
		}
	}

	r = dmp_bdev_badblocks(root, 259, 0, &b, &n, &start);
	tap_ok(r == 0 && n == 2 && b[0].sector == 274436 && b[1].count == 8 && start == 0,
	   "sysfs: a whole disk's list, start 0 (%d, %zu, %llu)", r, n, (unsigned long long)start);
	free(b);
	b = NULL;
	r = dmp_bdev_badblocks(root, 259, 1, &b, &n, &start);
	tap_ok(r == 0 && n == 2 && b[0].sector == 274436 && start == 2048,
	   "sysfs: a partition -> its disk's list and its start sector (%d, %zu, %llu)", r, n,
	   (unsigned long long)start);
	free(b);
	b = NULL;
	r = dmp_bdev_badblocks(root, 254, 0, &b, &n, &start);
	tap_ok(r == 0 && n == 0, "sysfs: a disk without a list -> 0 entries (%d, %zu)", r, n);
	r = dmp_bdev_badblocks(root, 0, 42, &b, &n, &start);
	tap_ok(r == -EOPNOTSUPP, "sysfs: an anonymous device (0:42) -> EOPNOTSUPP (%d)", r);
	r = dmp_bdev_badblocks(root, 7, 0, &b, &n, &start);
	tap_ok(r == -EOVERFLOW, "sysfs: a list that fills the page -> EOVERFLOW (%d)", r);
	r = dmp_bdev_badblocks(root, 7, 1, &b, &n, &start);
	tap_ok(r == -EOPNOTSUPP, "sysfs: no badblocks file -> EOPNOTSUPP (%d)", r);
	tap_ok(dmp_bdev_badblocks(NULL, 259, 0, &b, &n, &start) == -EINVAL, "sysfs: NULL root -> EINVAL");

	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	if (system(p) != 0)
		tap_ok(false, "sysfs: remove %s", root);
}

static void test_map(void)
{
	const size_t align = 2 << 20;
	struct dmp_map *m = NULL, *m2 = NULL;
	int fd = make_file(6 << 20), r;
	char buf[16];
	uint8_t *p;

	r = dmp_map_new(&m, fd, 4096, 1 << 20, true, align);
	tap_ok(r == 0 && m, "map: rw map of [4K, 4K + 1M) (%d)", r);
	if (!m)
		return;
	p = dmp_map_addr(m);
	tap_ok(((uintptr_t)p & (align - 1)) == 0, "map: address %p is 2 MiB aligned", (void *)p);
	tap_ok(dmp_map_length(m) == 1 << 20, "map: length %zu", dmp_map_length(m));
	tap_ok(dmp_map_granularity(m) == DMP_GRANULARITY_PAGE, "map: page granularity (fallback)");
	memcpy(p + 100, "daxmirror", 10);
	tap_ok(dmp_map_persist(m, p + 100, 10) == 0, "map: persist inside");
	tap_ok(dmp_map_persist(m, p, 1 << 20) == 0, "map: persist all");
	tap_ok(dmp_map_persist(m, p + (1 << 20) - 1, 2) == -EINVAL, "map: persist past the end -> EINVAL");
	tap_ok(dmp_map_persist(m, p - 1, 1) == -EINVAL, "map: persist before the start -> EINVAL");
	tap_ok(pread(fd, buf, 10, 4096 + 100) == 10 && !memcmp(buf, "daxmirror", 10),
	   "map: the file sees the bytes");
	tap_ok(dmp_map_free(m) == NULL, "map: free returns NULL");
	tap_ok(dmp_map_free(NULL) == NULL, "map: free(NULL)");

	/* Whole file, read-only, unaligned tail. */
	tap_ok(ftruncate(fd, (6 << 20) + 100) == 0, "map: grow the file to an unaligned size");
	r = dmp_map_new(&m, fd, 0, 0, false, align);
	tap_ok(r == 0, "map: length 0 maps to the end (%d)", r);
	if (r == 0) {
		tap_ok(dmp_map_length(m) == (6 << 20) + 4096, "map: length rounded to pages (%zu)",
		   dmp_map_length(m));
		tap_ok(!memcmp((char *)dmp_map_addr(m) + 4096 + 100, "daxmirror", 10),
		   "map: reads the file");
		r = dmp_map_new(&m2, fd, 2 << 20, 0, false, 0);
		tap_ok(r == 0 && dmp_map_addr(m2) != dmp_map_addr(m), "map: a second mapping, align 0");
		m2 = dmp_map_free(m2);
		m = dmp_map_free(m);
	}

	tap_ok(dmp_map_new(&m, fd, 100, 4096, false, align) == -EINVAL, "map: unaligned offset -> EINVAL");
	tap_ok(dmp_map_new(&m, fd, 0, 4096, false, 3) == -EINVAL, "map: align not a power of 2 -> EINVAL");
	r = dmp_map_new(&m, fd, 8 << 20, 4096, false, align);
	tap_ok(r == -ERANGE, "map: offset past the end -> ERANGE (%d)", r);
	r = dmp_map_new(&m, fd, 0, 8 << 20, false, align);
	tap_ok(r == -ERANGE, "map: length past the end -> ERANGE (%d)", r);
	r = dmp_map_new(&m, -1, 0, 4096, false, align);
	tap_ok(r == -EINVAL, "map: fd -1 -> EINVAL (%d)", r);
	close(fd);

	/* A read-only fd cannot give a writable mapping. */
	fd = make_file(1 << 20);
	{
		char path[64];
		int ro;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		r = dmp_map_new(&m, ro, 0, 0, true, align);
		tap_ok(r < 0 && r > -4096, "map: writable map of a read-only fd fails (%d)", r);
		r = dmp_map_new(&m, ro, 0, 0, false, align);
		tap_ok(r == 0, "map: read-only map of a read-only fd (%d)", r);
		m = dmp_map_free(m);
		close(ro);
	}
	close(fd);
}

int main(void)
{
	test_errno();
	test_names();
	test_info();
	test_badblocks();
	test_badblocks_parse();
	test_badblocks_extents();
	test_badblocks_sysfs();
	test_map();
	return tap_done();
}
