/* mapping.h - memory mappings that unmap themselves (cleanup attribute),
 * anonymous or file-backed, optionally at an address aligned to 2 MiB so
 * that PMD (huge) CPU mappings are possible. */
#ifndef DMT_MAPPING_H
#define DMT_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct dmt_map {
	void *addr;	/* NULL when not mapped */
	size_t len;
	bool sync;	/* mapped with MAP_SYNC */
};
#define DMT_MAP_INIT { .addr = NULL, .len = 0, .sync = false }

/* munmap() it if mapped and forget it. */
void dmt_unmap(struct dmt_map *m);
#define _cleanup_map_ __attribute__((cleanup(dmt_unmap)))

/* mmap(len, prot, flags, fd, off) at an address aligned to @align (a power
 * of two, 0 or 4096 for none). 0 or -errno. */
int dmt_map_aligned(struct dmt_map *m, size_t len, size_t align, int prot,
		    int flags, int fd, off_t off);
/* Anonymous (MAP_PRIVATE unless @flags has MAP_SHARED). */
int dmt_map_anon(struct dmt_map *m, size_t len, size_t align, int prot,
		 int flags);
/* MAP_SHARED file mapping; tries MAP_SHARED_VALIDATE | MAP_SYNC first
 * when @try_sync, falls back to plain MAP_SHARED (m->sync tells). */
int dmt_map_file(struct dmt_map *m, size_t len, size_t align, int prot,
		 int fd, off_t off, bool try_sync);

/* A free, unmapped range of @len bytes (reserved then released). */
void *dmt_unmapped_range(size_t len);

#endif
