/* test-pmem.c - the libpmem2 wrapper on the host, over a regular file in
 * $TMPDIR (no persistent memory): file info, bad blocks, the PMEM2_E_*
 * mapping and an aligned map/persist/free round trip. TAP output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libpmem2.h>

#include "pmem.h"

static int n_test, n_fail;

static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	n_fail += !cond;
}

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
	ok(dmp_errno(0) == 0 && dmp_errno(5) == 0, "errno: success is 0");
	ok(dmp_errno(-ENOMEM) == -ENOMEM && dmp_errno(-EACCES) == -EACCES,
	   "errno: negative errnos pass through");
	ok(dmp_errno(PMEM2_E_NOSUPP) == -EOPNOTSUPP, "errno: NOSUPP -> EOPNOTSUPP");
	ok(dmp_errno(PMEM2_E_GRANULARITY_NOT_SUPPORTED) == -EOPNOTSUPP,
	   "errno: GRANULARITY_NOT_SUPPORTED -> EOPNOTSUPP");
	ok(dmp_errno(PMEM2_E_INVALID_FILE_HANDLE) == -EBADF, "errno: INVALID_FILE_HANDLE -> EBADF");
	ok(dmp_errno(PMEM2_E_MAP_RANGE) == -ERANGE, "errno: MAP_RANGE -> ERANGE");
	ok(dmp_errno(PMEM2_E_OFFSET_UNALIGNED) == -EINVAL, "errno: OFFSET_UNALIGNED -> EINVAL");
	ok(dmp_errno(PMEM2_E_LENGTH_UNALIGNED) == -EINVAL, "errno: LENGTH_UNALIGNED -> EINVAL");
	ok(dmp_errno(PMEM2_E_NO_ACCESS) == -EACCES, "errno: NO_ACCESS -> EACCES");
	ok(dmp_errno(PMEM2_E_MAPPING_EXISTS) == -EEXIST, "errno: MAPPING_EXISTS -> EEXIST");
	ok(dmp_errno(PMEM2_E_SOURCE_EMPTY) == -ENODATA, "errno: SOURCE_EMPTY -> ENODATA");
	ok(dmp_errno(PMEM2_E_IO_FAIL) == -EIO, "errno: IO_FAIL -> EIO");
	ok(dmp_errno(PMEM2_E_UNKNOWN) == -EIO && dmp_errno(-100999) == -EIO,
	   "errno: unknown codes -> EIO");
	for (int e = PMEM2_E_IO_FAIL; e <= PMEM2_E_UNKNOWN; e++) {
		int r = dmp_errno(e);

		if (r >= 0 || r <= -4096) {
			ok(false, "errno: %d maps to %d", e, r);
			return;
		}
	}
	ok(true, "errno: every PMEM2_E_* code is a negative errno");
}

static void test_names(void)
{
	ok(!strcmp(dmp_granularity_name(DMP_GRANULARITY_BYTE), "byte") &&
	   !strcmp(dmp_granularity_name(DMP_GRANULARITY_CACHE_LINE), "cache-line") &&
	   !strcmp(dmp_granularity_name(DMP_GRANULARITY_PAGE), "page"),
	   "granularity names");
}

static void test_info(void)
{
	struct dmp_file_info info;
	int fd = make_file(3 << 20), r;

	r = dmp_file_info(fd, &info);
	ok(r == 0, "info: returns 0 (%d)", r);
	ok(!info.dax, "info: a tmp file is not DAX");
	ok(info.size == 3 << 20, "info: size %llu", (unsigned long long)info.size);
	ok(info.alignment == 4096, "info: alignment %llu", (unsigned long long)info.alignment);
	ok(info.granularity == DMP_GRANULARITY_PAGE, "info: granularity page");
	ok(info.numa_node >= -1, "info: numa node %d", info.numa_node);
	ok(dmp_file_info(-1, &info) == -EINVAL, "info: fd -1 -> EINVAL");
	ok(dmp_file_info(fd, NULL) == -EINVAL, "info: NULL -> EINVAL");
	close(fd);

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	r = dmp_file_info(fd, &info);
	ok(r < 0, "info: /dev/null is refused (%d)", r);
	close(fd);
}

static void test_badblocks(void)
{
	uint64_t first = 7;
	int fd = make_file(1 << 20), r;

	r = dmp_badblocks_overlap(fd, 0, 1 << 20, &first);
	ok(r == -EOPNOTSUPP || r == 0, "badblocks: a non-pmem file -> EOPNOTSUPP or 0 (%d)", r);
	ok(first == 7, "badblocks: first_bad untouched");
	ok(dmp_badblocks_overlap(fd, UINT64_MAX, 2, NULL) == -EINVAL,
	   "badblocks: overflowing range -> EINVAL");
	close(fd);
}

static void test_map(void)
{
	const size_t align = 2 << 20;
	struct dmp_map *m = NULL, *m2 = NULL;
	int fd = make_file(6 << 20), r;
	char buf[16];
	uint8_t *p;

	r = dmp_map_new(&m, fd, 4096, 1 << 20, true, align);
	ok(r == 0 && m, "map: rw map of [4K, 4K + 1M) (%d)", r);
	if (!m)
		return;
	p = dmp_map_addr(m);
	ok(((uintptr_t)p & (align - 1)) == 0, "map: address %p is 2 MiB aligned", (void *)p);
	ok(dmp_map_length(m) == 1 << 20, "map: length %zu", dmp_map_length(m));
	ok(dmp_map_granularity(m) == DMP_GRANULARITY_PAGE, "map: page granularity (fallback)");
	memcpy(p + 100, "daxmirror", 10);
	ok(dmp_map_persist(m, p + 100, 10) == 0, "map: persist inside");
	ok(dmp_map_persist(m, p, 1 << 20) == 0, "map: persist all");
	ok(dmp_map_persist(m, p + (1 << 20) - 1, 2) == -EINVAL, "map: persist past the end -> EINVAL");
	ok(dmp_map_persist(m, p - 1, 1) == -EINVAL, "map: persist before the start -> EINVAL");
	ok(pread(fd, buf, 10, 4096 + 100) == 10 && !memcmp(buf, "daxmirror", 10),
	   "map: the file sees the bytes");
	ok(dmp_map_free(m) == NULL, "map: free returns NULL");
	ok(dmp_map_free(NULL) == NULL, "map: free(NULL)");

	/* Whole file, read-only, unaligned tail. */
	ok(ftruncate(fd, (6 << 20) + 100) == 0, "map: grow the file to an unaligned size");
	r = dmp_map_new(&m, fd, 0, 0, false, align);
	ok(r == 0, "map: length 0 maps to the end (%d)", r);
	if (r == 0) {
		ok(dmp_map_length(m) == (6 << 20) + 4096, "map: length rounded to pages (%zu)",
		   dmp_map_length(m));
		ok(!memcmp((char *)dmp_map_addr(m) + 4096 + 100, "daxmirror", 10),
		   "map: reads the file");
		r = dmp_map_new(&m2, fd, 2 << 20, 0, false, 0);
		ok(r == 0 && dmp_map_addr(m2) != dmp_map_addr(m), "map: a second mapping, align 0");
		m2 = dmp_map_free(m2);
		m = dmp_map_free(m);
	}

	ok(dmp_map_new(&m, fd, 100, 4096, false, align) == -EINVAL, "map: unaligned offset -> EINVAL");
	ok(dmp_map_new(&m, fd, 0, 4096, false, 3) == -EINVAL, "map: align not a power of 2 -> EINVAL");
	r = dmp_map_new(&m, fd, 8 << 20, 4096, false, align);
	ok(r == -ERANGE, "map: offset past the end -> ERANGE (%d)", r);
	r = dmp_map_new(&m, fd, 0, 8 << 20, false, align);
	ok(r == -ERANGE, "map: length past the end -> ERANGE (%d)", r);
	r = dmp_map_new(&m, -1, 0, 4096, false, align);
	ok(r == -EINVAL, "map: fd -1 -> EINVAL (%d)", r);
	close(fd);

	/* A read-only fd cannot give a writable mapping. */
	fd = make_file(1 << 20);
	{
		char path[64];
		int ro;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		r = dmp_map_new(&m, ro, 0, 0, true, align);
		ok(r < 0 && r > -4096, "map: writable map of a read-only fd fails (%d)", r);
		r = dmp_map_new(&m, ro, 0, 0, false, align);
		ok(r == 0, "map: read-only map of a read-only fd (%d)", r);
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
	test_map();
	printf("1..%d\n", n_test);
	return n_fail ? 1 : 0;
}
