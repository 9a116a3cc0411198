/* vet.h - the checks a file passes before the broker grants it to a
 * session: type, open mode, range, DAX (libpmem2), bad blocks (the disk's
 * sysfs list), through shared/pmem.h. */
#ifndef DAXMIRRORD_VET_H
#define DAXMIRRORD_VET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "pmem.h"

typedef struct VetReport {
	bool dax;
	enum dmp_granularity granularity;
	int numa_node;
	char path[PATH_MAX];
} VetReport;

/* What libpmem2 says of the device under a file (alignment, NUMA node,
 * store granularity): it learns it by walking sysfs and making a trial
 * mapping, 0.1-0.5 s a call under TCG, and it depends on the device, not
 * the file. AttachFile keeps it per (st_dev, DAX, opened O_RDWR) for
 * VET_CACHE_USEC; DAX-ness and everything per file are checked every time. */
#define VET_CACHE_SIZE	16
#define VET_CACHE_USEC	(30ULL * 1000 * 1000)

typedef struct VetCacheEntry {
	bool used;
	dev_t dev;
	bool dax;
	bool writable;
	uint64_t expires_usec;	/* CLOCK_MONOTONIC */
	int numa_node;
	enum dmp_granularity granularity;
} VetCacheEntry;

typedef struct VetCache {
	VetCacheEntry entries[VET_CACHE_SIZE];
	unsigned int next;	/* the slot replaced on a miss when all are used */
	uint64_t hits, misses;
} VetCache;

/* Pure checks, for the tests. 0 or -EINVAL. */
int vet_range(uint64_t offset, uint64_t length, uint64_t size);
/* @flags from fcntl(F_GETFL). 0 or -EBADF. */
int vet_access_mode(int flags, bool write);

/* Vets @fd for [@offset, @offset + @length), for writing if @write; a
 * non-DAX file passes only with @pagecache. Returns 0 and fills *@rep, or
 * a negative errno with @error set to the org.daxmirror1.Error.* to send.
 * @cache (may be NULL: ask libpmem2 every time) holds per-device answers. */
int vet_file(VetCache *cache, int fd, uint64_t offset, uint64_t length, bool write,
	     bool pagecache, VetReport *rep, sd_bus_error *error);

#endif
