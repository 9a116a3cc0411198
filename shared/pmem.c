/* pmem.c - the libpmem2 wrapper of pmem.h: file inspection, bad blocks and
 * aligned mappings, with PMEM2_E_* codes turned into negative errnos. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpmem2.h>

#include "pmem.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

#define DMP_PAGE_SIZE 4096ULL

struct dmp_map {
	struct pmem2_vm_reservation *rsv;
	struct pmem2_map *map;
	pmem2_persist_fn persist;
	void *addr;
	size_t length;
	enum dmp_granularity granularity;
};

const char *dmp_granularity_name(enum dmp_granularity g)
{
	switch (g) {
	case DMP_GRANULARITY_BYTE:
		return "byte";
	case DMP_GRANULARITY_CACHE_LINE:
		return "cache-line";
	case DMP_GRANULARITY_PAGE:
		return "page";
	}
	return "unknown";
}

int dmp_errno(int r)
{
	if (r >= 0)
		return 0;
	/* libpmem2 passes errnos through as -errno (PMEM2_E_ERRNO). */
	if (r > -4096)
		return r;

	switch (r) {
	case PMEM2_E_NOSUPP:
	case PMEM2_E_GRANULARITY_NOT_SUPPORTED:
	case PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case PMEM2_E_FILE_HANDLE_NOT_SET:
	case PMEM2_E_INVALID_FILE_HANDLE:
	case PMEM2_E_FILE_DESCRIPTOR_NOT_SET:
		return -EBADF;
	case PMEM2_E_MAP_RANGE:
	case PMEM2_E_OFFSET_OUT_OF_RANGE:
	case PMEM2_E_LENGTH_OUT_OF_RANGE:
	case PMEM2_E_DEEP_FLUSH_RANGE:
		return -ERANGE;
	case PMEM2_E_MAPPING_EXISTS:
	case PMEM2_E_MAP_EXISTS:
		return -EEXIST;
	case PMEM2_E_MAPPING_NOT_FOUND:
	case PMEM2_E_NO_BAD_BLOCK_FOUND:
		return -ENOENT;
	case PMEM2_E_DAX_REGION_NOT_FOUND:
		return -ENODEV;
	case PMEM2_E_BUFFER_TOO_SMALL:
		return -ENOBUFS;
	case PMEM2_E_SOURCE_EMPTY:
		return -ENODATA;
	case PMEM2_E_NO_ACCESS:
		return -EACCES;
	case PMEM2_E_VM_RESERVATION_NOT_EMPTY:
		return -EBUSY;
	case PMEM2_E_CANNOT_READ_BOUNDS:
	case PMEM2_E_INVALID_REGION_FORMAT:
	case PMEM2_E_INVALID_DEV_FORMAT:
	case PMEM2_E_IO_FAIL:
		return -EIO;
	case PMEM2_E_INVALID_FILE_TYPE:
	case PMEM2_E_GRANULARITY_NOT_SET:
	case PMEM2_E_OFFSET_UNALIGNED:
	case PMEM2_E_INVALID_ALIGNMENT_FORMAT:
	case PMEM2_E_INVALID_ALIGNMENT_VALUE:
	case PMEM2_E_INVALID_SIZE_FORMAT:
	case PMEM2_E_LENGTH_UNALIGNED:
	case PMEM2_E_INVALID_SHARING_VALUE:
	case PMEM2_E_SRC_DEVDAX_PRIVATE:
	case PMEM2_E_INVALID_ADDRESS_REQUEST_TYPE:
	case PMEM2_E_ADDRESS_UNALIGNED:
	case PMEM2_E_ADDRESS_NULL:
	case PMEM2_E_INVALID_PROT_FLAG:
		return -EINVAL;
	case PMEM2_E_UNKNOWN:
	default:
		return -EIO;
	}
}

static enum dmp_granularity from_pmem2(enum pmem2_granularity g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE:
		return DMP_GRANULARITY_BYTE;
	case PMEM2_GRANULARITY_CACHE_LINE:
		return DMP_GRANULARITY_CACHE_LINE;
	case PMEM2_GRANULARITY_PAGE:
	default:
		return DMP_GRANULARITY_PAGE;
	}
}

static bool fd_writable(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_ACCMODE) == O_RDWR;
}

/* Map [0, len) of @src with libpmem2's default placement and report the
 * granularity it got: this is how eADR (byte) is told from ADR. */
static int trial_granularity(const struct pmem2_source *src, size_t len,
			     bool write, enum dmp_granularity *out)
{
	struct pmem2_config *cfg = NULL;
	struct pmem2_map *map = NULL;
	int r;

	r = pmem2_config_new(&cfg);
	if (r)
		return dmp_errno(r);
	r = pmem2_config_set_required_store_granularity(cfg,
							PMEM2_GRANULARITY_PAGE);
	if (!r)
		r = pmem2_config_set_length(cfg, len);
	if (!r)
		r = pmem2_config_set_protection(cfg, PMEM2_PROT_READ |
						(write ? PMEM2_PROT_WRITE : 0));
	if (!r)
		r = pmem2_map_new(&map, cfg, src);
	if (!r) {
		*out = from_pmem2(pmem2_map_get_store_granularity(map));
		pmem2_map_delete(&map);
	}
	pmem2_config_delete(&cfg);
	return dmp_errno(r);
}

int dmp_file_info(int fd, struct dmp_file_info *info)
{
	struct pmem2_source *src = NULL;
	struct statx stx;
	size_t alignment = 0, size = 0;
	int node, r;

	if (fd < 0 || !info)
		return -EINVAL;
	*info = (struct dmp_file_info){ .numa_node = -1 };

	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, &stx) < 0)
		return -errno;
	if (!S_ISREG(stx.stx_mode) && !S_ISCHR(stx.stx_mode))
		return -EINVAL;
	/* A device-dax node is DAX by nature; statx reports fsdax files. */
	info->dax = (stx.stx_attributes_mask & STATX_ATTR_DAX &&
		     stx.stx_attributes & STATX_ATTR_DAX) ||
		    S_ISCHR(stx.stx_mode);
	info->size = stx.stx_size;

	r = pmem2_source_from_fd(&src, fd);
	if (r)
		return dmp_errno(r);
	r = pmem2_source_alignment(src, &alignment);
	if (r)
		goto out;
	info->alignment = alignment;
	/* The size of a device-dax node comes from sysfs, through libpmem2. */
	if (S_ISCHR(stx.stx_mode)) {
		r = pmem2_source_size(src, &size);
		if (r)
			goto out;
		info->size = size;
	}
	if (pmem2_source_numa_node(src, &node) == 0)
		info->numa_node = node;

	info->granularity = info->dax ? DMP_GRANULARITY_CACHE_LINE :
					DMP_GRANULARITY_PAGE;
	/* Ask libpmem2 what a mapping really gets (eADR means byte); a
	 * failure (write-only fd, empty file) keeps the estimate above. */
	if (info->dax && alignment && info->size >= alignment)
		(void)trial_granularity(src, alignment, fd_writable(fd),
					&info->granularity);
	r = 0;
out:
	pmem2_source_delete(&src);
	return dmp_errno(r);
}

int dmp_badblocks_overlap(int fd, uint64_t offset, uint64_t length,
			  uint64_t *first_bad)
{
	struct pmem2_badblock_context *bbctx = NULL;
	struct pmem2_source *src = NULL;
	struct pmem2_badblock bb;
	uint64_t end = offset + length, first = UINT64_MAX;
	int r;

	if (fd < 0 || end < offset)
		return -EINVAL;
	r = pmem2_source_from_fd(&src, fd);
	if (r)
		return dmp_errno(r);
	r = pmem2_badblock_context_new(&bbctx, src);
	if (r) {
		r = dmp_errno(r);
		/* Not on an nvdimm namespace, or no ndctl to ask. */
		if (r != -ENOMEM)
			r = -EOPNOTSUPP;
		goto out;
	}
	while ((r = pmem2_badblock_next(bbctx, &bb)) == 0) {
		uint64_t bb_end = (uint64_t)bb.offset + bb.length;

		if (bb.offset < end && bb_end > offset) {
			uint64_t at = bb.offset > offset ? bb.offset : offset;

			if (at < first)
				first = at;
		}
	}
	if (r == PMEM2_E_NO_BAD_BLOCK_FOUND) {
		r = first != UINT64_MAX;
		if (r && first_bad)
			*first_bad = first;
	} else {
		r = dmp_errno(r);
	}
	pmem2_badblock_context_delete(&bbctx);
out:
	pmem2_source_delete(&src);
	return r;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int dmp_map_new(struct dmp_map **ret, int fd, uint64_t offset,
		uint64_t length, bool write, size_t align)
{
	struct pmem2_source *src = NULL;
	struct pmem2_config *cfg = NULL;
	struct dmp_map *m;
	size_t src_align, src_size;
	uint64_t map_len, rsv_len, head, tail;
	char *base;
	int r;

	if (!ret || fd < 0 || (align & (align - 1)))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;

	r = pmem2_source_from_fd(&src, fd);
	if (r)
		goto fail;
	r = pmem2_source_alignment(src, &src_align);
	if (r)
		goto fail;
	r = pmem2_source_size(src, &src_size);
	if (r)
		goto fail;
	if (offset % src_align) {
		r = -EINVAL;
		goto fail;
	}
	if (offset >= src_size) {
		r = -ERANGE;
		goto fail;
	}
	if (!length)
		length = src_size - offset;
	if (length > UINT64_MAX - offset || offset + length > src_size) {
		r = -ERANGE;
		goto fail;
	}
	/* The mapping covers whole pages (the tail of the last one reads
	 * zeroes, as with mmap). */
	map_len = align_up(length, src_align);
	if (align < src_align)
		align = src_align;

	/* Reserve map_len + align bytes, then shrink the reservation to the
	 * aligned part so it is exactly where the mapping goes: no window in
	 * which another thread could take the range. */
	rsv_len = map_len + align;
	r = pmem2_vm_reservation_new(&m->rsv, NULL, rsv_len);
	if (r)
		goto fail;
	base = pmem2_vm_reservation_get_address(m->rsv);
	head = align_up((uintptr_t)base, align) - (uintptr_t)base;
	tail = rsv_len - head - map_len;
	if (tail) {
		r = pmem2_vm_reservation_shrink(m->rsv, head + map_len, tail);
		if (r)
			goto fail;
	}
	if (head) {
		r = pmem2_vm_reservation_shrink(m->rsv, 0, head);
		if (r)
			goto fail;
	}

	r = pmem2_config_new(&cfg);
	if (r)
		goto fail;
	/* Page granularity is the least we accept: libpmem2 tries MAP_SYNC
	 * and silently falls back to a plain shared mapping. */
	r = pmem2_config_set_required_store_granularity(cfg,
							PMEM2_GRANULARITY_PAGE);
	if (!r)
		r = pmem2_config_set_offset(cfg, offset);
	/* A range that ends at an unaligned end of file is asked for as
	 * "to the end" (length 0): libpmem2 refuses an explicit length past
	 * the end but maps the partial last page itself. */
	if (!r && (offset + length != src_size || length == map_len))
		r = pmem2_config_set_length(cfg, map_len);
	if (!r)
		r = pmem2_config_set_protection(cfg, PMEM2_PROT_READ |
						(write ? PMEM2_PROT_WRITE : 0));
	if (!r)
		r = pmem2_config_set_vm_reservation(cfg, m->rsv, 0);
	if (!r)
		r = pmem2_map_new(&m->map, cfg, src);
	if (r)
		goto fail;

	m->addr = pmem2_map_get_address(m->map);
	/* Whole pages: libpmem2 reports the unaligned size of a mapping that
	 * ends at an unaligned end of file. */
	m->length = align_up(pmem2_map_get_size(m->map), src_align);
	m->granularity = from_pmem2(pmem2_map_get_store_granularity(m->map));
	m->persist = pmem2_get_persist_fn(m->map);
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	*ret = m;
	return 0;

fail:
	r = dmp_errno(r);
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	dmp_map_free(m);
	return r;
}

void *dmp_map_addr(const struct dmp_map *map)
{
	return map ? map->addr : NULL;
}

size_t dmp_map_length(const struct dmp_map *map)
{
	return map ? map->length : 0;
}

enum dmp_granularity dmp_map_granularity(const struct dmp_map *map)
{
	return map ? map->granularity : DMP_GRANULARITY_PAGE;
}

int dmp_map_persist(struct dmp_map *map, const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr, start;

	if (!map || !addr)
		return -EINVAL;
	start = (uintptr_t)map->addr;
	if (a < start || len > map->length || a - start > map->length - len)
		return -EINVAL;
	if (len)
		map->persist(addr, len);
	return 0;
}

struct dmp_map *dmp_map_free(struct dmp_map *map)
{
	if (!map)
		return NULL;
	if (map->map)
		pmem2_map_delete(&map->map);
	if (map->rsv)
		pmem2_vm_reservation_delete(&map->rsv);
	free(map);
	return NULL;
}
