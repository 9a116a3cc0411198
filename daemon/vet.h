/* vet.h - the checks a file passes before the broker grants it to a
 * session: type, open mode, range, DAX (libpmem2), bad blocks (the disk's
 * sysfs list), through shared/pmem.h. */
#ifndef DAXMIRRORD_VET_H
#define DAXMIRRORD_VET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "pmem.h"

typedef struct VetReport {
	bool dax;
	enum dmp_granularity granularity;
	int numa_node;
	char path[PATH_MAX];
} VetReport;

/* Pure checks, for the tests. 0 or -EINVAL. */
int vet_range(uint64_t offset, uint64_t length, uint64_t size);
/* @flags from fcntl(F_GETFL). 0 or -EBADF. */
int vet_access_mode(int flags, bool write);

/* Vets @fd for [@offset, @offset + @length), for writing if @write; a
 * non-DAX file passes only with @pagecache. Returns 0 and fills *@rep, or
 * a negative errno with @error set to the org.daxmirror1.Error.* to send. */
int vet_file(int fd, uint64_t offset, uint64_t length, bool write,
	     bool pagecache, VetReport *rep, sd_bus_error *error);

#endif
