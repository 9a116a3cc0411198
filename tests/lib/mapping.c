/* mapping.c - self-unmapping, optionally 2 MiB aligned, mappings: reserve
 * len + align bytes PROT_NONE, map MAP_FIXED at the aligned address inside,
 * and give back the unused head and tail. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "mapping.h"

void dmt_unmap(struct dmt_map *m)
{
	int saved = errno;

	if (m->addr)
		munmap(m->addr, m->len);
	m->addr = NULL;
	m->len = 0;
	errno = saved;
}

int dmt_map_aligned(struct dmt_map *m, size_t len, size_t align, int prot,
		    int flags, int fd, off_t off)
{
	size_t span;
	uint8_t *res, *at, *p;

	m->addr = NULL;
	m->len = 0;
	if (align < 4096)
		align = 4096;
	span = len + align;
	res = mmap(NULL, span, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return -errno;
	at = (uint8_t *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
	p = mmap(at, len, prot, flags | MAP_FIXED, fd, off);
	if (p == MAP_FAILED) {
		int err = errno;

		munmap(res, span);
		return -err;
	}
	if (at > res)
		munmap(res, (size_t)(at - res));
	if (at + len < res + span)
		munmap(at + len, (size_t)(res + span - (at + len)));
	m->addr = at;
	m->len = len;
	return 0;
}

int dmt_map_anon(struct dmt_map *m, size_t len, size_t align, int prot,
		 int flags)
{
	if (!(flags & MAP_SHARED))
		flags |= MAP_PRIVATE;
	return dmt_map_aligned(m, len, align, prot, flags | MAP_ANONYMOUS,
			       -1, 0);
}

int dmt_map_file(struct dmt_map *m, size_t len, size_t align, int prot,
		 int fd, off_t off, bool try_sync)
{
	int r;

	m->sync = false;
	if (try_sync) {
		r = dmt_map_aligned(m, len, align, prot,
				    MAP_SHARED_VALIDATE | MAP_SYNC, fd, off);
		if (r == 0) {
			m->sync = true;
			return 0;
		}
		if (r != -EOPNOTSUPP && r != -EINVAL)
			return r;
	}
	return dmt_map_aligned(m, len, align, prot, MAP_SHARED, fd, off);
}

void *dmt_unmapped_range(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, len);
	return p;
}
