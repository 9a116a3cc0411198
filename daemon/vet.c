/* vet.c - file vetting for Session.AttachFile: regular file, opened with
 * the access asked for, the range aligned and inside the file, on DAX
 * unless page-cache files are allowed, no bad blocks under the range (the
 * disk's sysfs list against the file's FIEMAP extents, shared/pmem.h). The
 * kernel checks type and mode again at grant time; the broker checks first
 * to give a named error and a report. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-contract.h"
#include "log.h"
#include "util.h"
#include "vet.h"

int vet_range(uint64_t offset, uint64_t length, uint64_t size)
{
	if (length == 0 || offset % DM_PAGE_SIZE || length % DM_PAGE_SIZE)
		return -EINVAL;
	if (offset > UINT64_MAX - length)
		return -EINVAL;
	/* The partial last page of a file may be mapped, hence mirrored. */
	if (offset + length - size >= DM_PAGE_SIZE && offset + length > size)
		return -EINVAL;
	return 0;
}

int vet_access_mode(int flags, bool write)
{
	if (flags & O_PATH)
		return -EBADF;
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		return write ? -EBADF : 0;
	case O_RDWR:
		return 0;
	default:	/* O_WRONLY */
		return -EBADF;
	}
}

/* dmp_file_info() through @cache: the per-file part (DAX, size) always
 * fresh, the per-device part from a live entry for the same device, DAX
 * and access mode, else from libpmem2 (and then kept). 0 or -errno. */
static int file_info(VetCache *cache, int fd, dev_t dev, bool writable,
		     struct dmp_file_info *fi)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	VetCacheEntry *e, *slot = NULL;
	bool dax;
	uint64_t size;
	int r;

	if (!cache)
		return dmp_file_info(fd, fi);
	r = dmp_file_dax(fd, &dax, &size);
	if (r < 0)
		return r;
	for (size_t i = 0; i < VET_CACHE_SIZE; i++) {
		e = &cache->entries[i];
		if (e->used && e->expires_usec <= now)
			e->used = false;
		if (!e->used) {
			slot = slot ? slot : e;
			continue;
		}
		if (e->dev == dev && e->dax == dax && e->writable == writable) {
			*fi = (struct dmp_file_info){
				.dax = dax, .size = size, .numa_node = e->numa_node,
				.granularity = e->granularity,
			};
			cache->hits++;
			return 0;
		}
	}
	cache->misses++;
	r = dmp_file_info(fd, fi);
	if (r < 0 || fi->dax != dax)
		return r;
	if (!slot) {
		slot = &cache->entries[cache->next];
		cache->next = (cache->next + 1) % VET_CACHE_SIZE;
	}
	*slot = (VetCacheEntry){
		.used = true, .dev = dev, .dax = dax, .writable = writable,
		.expires_usec = now + VET_CACHE_USEC, .numa_node = fi->numa_node,
		.granularity = fi->granularity,
	};
	return 0;
}

int vet_file(VetCache *cache, int fd, uint64_t offset, uint64_t length, bool write,
	     bool pagecache, VetReport *rep, sd_bus_error *error)
{
	struct dmp_file_info fi;
	struct stat st;
	char proc[64];
	uint64_t bad = 0;
	ssize_t n;
	int flags, r;

	memset(rep, 0, sizeof(*rep));
	rep->numa_node = -1;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "invalid file descriptor: %s",
					 strerror(errno));
	if (flags & O_PATH)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "an O_PATH file descriptor cannot be attached");
	if (fstat(fd, &st) < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "fstat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "not a regular file");
	if (vet_access_mode(flags, write) < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE,
					 "the file is not open for %s", write ? "reading and writing" : "reading");

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, rep->path, sizeof(rep->path) - 1);
	rep->path[n > 0 ? n : 0] = '\0';

	if (vet_range(offset, length, (uint64_t)st.st_size) < 0) {
		if (length == 0)
			return sd_bus_error_setf(error, DXM_ERROR_INVALID_RANGE, "the length is 0");
		if (offset % DM_PAGE_SIZE || length % DM_PAGE_SIZE)
			return sd_bus_error_setf(error, DXM_ERROR_INVALID_RANGE,
						 "offset %" PRIu64 " and length %" PRIu64 " must be multiples of %llu",
						 offset, length, DM_PAGE_SIZE);
		return sd_bus_error_setf(error, DXM_ERROR_INVALID_RANGE,
					 "range [%" PRIu64 ", +%" PRIu64 ") is not inside the file (%jd bytes)",
					 offset, length, (intmax_t)st.st_size);
	}

	r = file_info(cache, fd, st.st_dev, (flags & O_ACCMODE) == O_RDWR, &fi);
	if (r < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "cannot inspect the file: %s",
					 strerror(-r));
	rep->dax = fi.dax;
	rep->granularity = fi.granularity;
	rep->numa_node = fi.numa_node;
	if (!fi.dax && !pagecache)
		return sd_bus_error_setf(error, DXM_ERROR_NOT_DAX,
					 "%s is not on a DAX file system and the session does not allow page-cache files",
					 rep->path[0] ? rep->path : "the file");

	r = dmp_badblocks_overlap(fd, offset, length, &bad);
	if (r == 1)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_BLOCKS,
					 "the range overlaps bad blocks of the persistent memory at file offset %" PRIu64,
					 bad);
	if (r == -EOPNOTSUPP)
		log_debug("%s: bad blocks cannot be read (not pmem?); accepted",
			  rep->path[0] ? rep->path : "file");
	else if (r < 0) {
		log_warning_errno(r, "%s: reading bad blocks: %m; refused",
				  rep->path[0] ? rep->path : "file");
		if (r == -EOVERFLOW)
			return sd_bus_error_setf(error, DXM_ERROR_BAD_BLOCKS,
						 "cannot check the range for bad blocks: the disk's list is longer than sysfs shows");
		return sd_bus_error_setf(error, DXM_ERROR_BAD_BLOCKS, "cannot check the range for bad blocks: %s",
					 strerror(-r));
	}
	return 0;
}
