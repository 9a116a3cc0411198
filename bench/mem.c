/* mem.c - memory measurement and mapping helpers of the benchmarks
 * (mem.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt.h"
#include "mem.h"
#include "report.h"

#define MIB		(1UL << 20)

void slab_radix(long *active, long *objsize)
{
	char line[512];
	FILE *f = fopen("/proc/slabinfo", "r");

	*active = *objsize = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		long num;

		if (sscanf(line, "radix_tree_node %ld %ld %ld", active, &num, objsize) == 3)
			break;
	}
	fclose(f);
}

/* Wait until the radix_tree_node count stops moving: xarray nodes are
 * freed through RCU, so a table dropped just before would otherwise be
 * freed in the middle of the next measurement. */
void slab_settle(void)
{
	long prev = -2, cur, osz;
	int same = 0;

	for (int i = 0; i < 100 && same < 3; i++) {
		usleep(30000);
		slab_radix(&cur, &osz);
		same = cur == prev ? same + 1 : 0;
		prev = cur;
	}
}

/* A file of @len bytes in $@var, fallocated. */
int make_file(const char *var, const char *name, size_t len, char *path,
		     size_t plen)
{
	const char *dir = getenv(var);
	int fd, r;

	if (!dir)
		die("%s is not set (run me through bench/run)", var);
	snprintf(path, plen, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	r = posix_fallocate(fd, 0, (off_t)len);
	if (r)
		die("fallocate %s (%zu MiB): %s", path, len / MIB, strerror(r));
	return fd;
}

/* mmap @len of @fd at an address 2 MiB aligned + @skew. */
uint8_t *map_at(size_t len, size_t skew, int prot, int flags, int fd)
{
	size_t span = len + 2 * DMT_2M;
	uint8_t *res = mmap(NULL, span, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *at, *p;

	if (res == MAP_FAILED)
		die("mmap reserve: %s", strerror(errno));
	at = (uint8_t *)(((uintptr_t)res + DMT_2M - 1) & ~(uintptr_t)(DMT_2M - 1)) + skew;
	p = mmap(at, len, prot, flags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	if (at > res)
		munmap(res, (size_t)(at - res));
	munmap(at + len, (size_t)(res + span - (at + len)));
	return at;
}

bool have_movsb(void)
{
#if defined(__x86_64__)
	return true;
#else
	return false;
#endif
}

void copy_movsb(void *dst, const void *src, size_t len)
{
#if defined(__x86_64__)
	__asm__ __volatile__("rep movsb"
			     : "+D"(dst), "+S"(src), "+c"(len)
			     :
			     : "memory");
#else
	(void)dst; (void)src; (void)len;
	die("rep movsb: not x86-64");
#endif
}

void copy_primitive(void *dst, const void *src, size_t len)
{
	if (have_movsb())
		copy_movsb(dst, src, len);
	else
		memcpy(dst, src, len);
}

const char *copy_primitive_name(void)
{
	return have_movsb() ? "rep movsb" : "memcpy";
}
