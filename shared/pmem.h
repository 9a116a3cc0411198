/* pmem.h - the one wrapper around libpmem2, shared by daxmirrord (file
 * vetting) and libdaxmirror (mapping, persist). Every libpmem2 call of the
 * project goes through here, and PMEM2_E_* codes become negative errnos
 * here (pmem2_err_to_errno() is declared by libpmem2 1.12 but not
 * exported). Not thread-safe per object; distinct objects are independent. */
#ifndef DAXMIRROR_SHARED_PMEM_H
#define DAXMIRROR_SHARED_PMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Store granularity, best first (libpmem2's meaning). */
enum dmp_granularity {
	DMP_GRANULARITY_BYTE,		/* eADR: stores are persistent */
	DMP_GRANULARITY_CACHE_LINE,	/* ADR + MAP_SYNC: flush cache lines */
	DMP_GRANULARITY_PAGE,		/* page cache: msync */
};

/* "byte", "cache-line", "page". */
const char *dmp_granularity_name(enum dmp_granularity g);

/* A PMEM2_E_* (or negative errno) from libpmem2 as a negative errno. */
int dmp_errno(int pmem2_ret);

/* What the broker learns of a file before it may be mirrored. */
struct dmp_file_info {
	bool dax;			/* statx STATX_ATTR_DAX */
	uint64_t size;			/* file size in bytes */
	uint64_t alignment;		/* pmem2_source_alignment() */
	int numa_node;			/* pmem2_source_numa_node(), -1 if unknown */
	enum dmp_granularity granularity; /* best a mapping of it can get */
};

/* Inspect @fd: 0 or -errno. */
int dmp_file_info(int fd, struct dmp_file_info *info);
/* Only the cheap, per-file part of dmp_file_info(): *@dax (statx
 * STATX_ATTR_DAX, or a device-dax node) and *@size. 0 or -errno
 * (-EINVAL: neither a regular file nor a character device). */
int dmp_file_dax(int fd, bool *dax, uint64_t *size);

/* Bad blocks of the persistent memory under [@offset, @offset + @length)
 * of @fd: 0 none, 1 at least one overlaps (*first_bad set to the file
 * offset of the first bad page in the range if not NULL), -EOPNOTSUPP if
 * they cannot be read (no block device under the file, not pmem, no
 * ndctl support), -EOVERFLOW if the disk's list is too long for sysfs to
 * show whole, other -errno on error (-EIO: the disk has bad sectors and
 * FIEMAP cannot locate the file's). For a regular file, the bad-sector
 * list of the disk under its file system (dmp_bdev_badblocks(), partitions
 * included, which libpmem2 does not recognise) against the file's extents
 * (FIEMAP); for device-dax, libpmem2's badblock context. */
int dmp_badblocks_overlap(int fd, uint64_t offset, uint64_t length,
			  uint64_t *first_bad);

/* A run of bad 512-byte sectors of a disk, as its sysfs "badblocks" file
 * lists them (sector numbers from the start of the disk). */
struct dmp_bad_sectors {
	uint64_t sector;
	uint64_t count;
};

/* Parse the text of /sys/block/DISK/badblocks: "SECTOR COUNT\n" lines (a
 * lone "\n" is what a disk without a list shows). *@bad is malloc()ed
 * (NULL when *@n is 0; free it). 0, -EINVAL (a malformed or unterminated
 * line, a count of 0, an overflowing range), -ENOMEM. */
int dmp_badblocks_parse(const char *text, struct dmp_bad_sectors **bad,
			size_t *n);

/* The bad-sector list of block device @major:@minor (a file's st_dev)
 * read under sysfs root @sysfs ("/sys"): a whole disk's own list, or, for
 * a partition, its disk's list and the partition's first sector in
 * *@start (0 for a whole disk). 0 (a list, maybe empty), -EOPNOTSUPP (no
 * such block device: an anonymous st_dev), -EOVERFLOW (the list fills
 * sysfs' page and may be cut), -EINVAL (unparsable), other -errno. */
int dmp_bdev_badblocks(const char *sysfs, unsigned int major,
		       unsigned int minor, struct dmp_bad_sectors **bad,
		       size_t *n, uint64_t *start);

/* One extent of a file, as FS_IOC_FIEMAP reports it (bytes; @physical
 * from the start of the file system's block device). */
struct dmp_extent {
	uint64_t logical;
	uint64_t physical;
	uint64_t length;
	uint32_t flags;			/* FIEMAP_EXTENT_* */
};

/* Whether file range [@offset, @offset + @length) has data on a bad
 * sector: the file's @extents (any order, may reach outside the range)
 * lie on a block device that starts at sector @start of the disk @bad
 * counts in. Extents without a location (FIEMAP_EXTENT_UNKNOWN,
 * _DELALLOC) are skipped; unwritten ones count (writes will land there);
 * holes have no sectors. 1 with *@first_bad (if not NULL) the smallest
 * file offset in the range on a bad sector, rounded down to its 4 KiB page
 * but not below @offset; 0 none; -EINVAL if the range overflows. */
int dmp_badblocks_in_extents(const struct dmp_bad_sectors *bad, size_t nbad,
			     const struct dmp_extent *extents, size_t next,
			     uint64_t start, uint64_t offset, uint64_t length,
			     uint64_t *first_bad);

/* A mapping of a file range made by libpmem2: MAP_SYNC when the file
 * allows it, page granularity otherwise (a silent fallback: read the
 * effective granularity with dmp_map_granularity()). The address is
 * aligned to @align (a power of two, e.g. 2 MiB so huge mappings are
 * possible; 0 for libpmem2's own choice).
 * @offset must be a multiple of the file's alignment (4 KiB for files,
 * the device alignment for device-dax); @length 0 maps to the end of the
 * file. Errors: -EINVAL (arguments, alignment), -ERANGE (the range is not
 * inside the file), -EACCES (@write on an fd not opened for writing),
 * -ENOMEM, and what libpmem2 or mmap return. */
struct dmp_map;
int dmp_map_new(struct dmp_map **map, int fd, uint64_t offset,
		uint64_t length, bool write, size_t align);
void *dmp_map_addr(const struct dmp_map *map);
/* Length of the mapping in whole pages (the tail of a last partial page of
 * the file reads zeroes). */
size_t dmp_map_length(const struct dmp_map *map);
enum dmp_granularity dmp_map_granularity(const struct dmp_map *map);
/* Make [@addr, @addr + @len) of the mapping durable (libpmem2's persist
 * function of the mapping). 0 or -EINVAL if outside the mapping. */
int dmp_map_persist(struct dmp_map *map, const void *addr, size_t len);
/* Unmap and free; returns NULL. NULL is a no-op. */
struct dmp_map *dmp_map_free(struct dmp_map *map);

#endif
