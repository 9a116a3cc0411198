/* pmem.c - the libpmem2 wrapper of pmem.h: file inspection, bad blocks
 * (the disk's sysfs list through FIEMAP for files, libpmem2 for device-dax)
 * and aligned mappings, with PMEM2_E_* codes turned into negative errnos. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/fiemap.h>
#include <linux/fs.h>

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

static int file_statx(int fd, struct statx *stx, bool *dax)
{
	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, stx) < 0)
		return -errno;
	if (!S_ISREG(stx->stx_mode) && !S_ISCHR(stx->stx_mode))
		return -EINVAL;
	/* A device-dax node is DAX by nature; statx reports fsdax files. */
	*dax = (stx->stx_attributes_mask & STATX_ATTR_DAX &&
		stx->stx_attributes & STATX_ATTR_DAX) ||
	       S_ISCHR(stx->stx_mode);
	return 0;
}

int dmp_file_dax(int fd, bool *dax, uint64_t *size)
{
	struct statx stx;
	int r;

	if (fd < 0 || !dax || !size)
		return -EINVAL;
	r = file_statx(fd, &stx, dax);
	if (r < 0)
		return r;
	*size = stx.stx_size;
	return 0;
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

	r = file_statx(fd, &stx, &info->dax);
	if (r < 0)
		return r;
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

/* libpmem2's view: the bad blocks of the namespace (or region) the file
 * is on, as file offsets. 0, 1 (*first set), -EOPNOTSUPP, -errno. */
static int pmem2_badblocks_overlap(int fd, uint64_t offset, uint64_t end,
				   uint64_t *first_bad)
{
	struct pmem2_badblock_context *bbctx = NULL;
	struct pmem2_source *src = NULL;
	struct pmem2_badblock bb;
	uint64_t first = UINT64_MAX;
	int r;

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
		if (r)
			*first_bad = first;
	} else {
		r = dmp_errno(r);
	}
	pmem2_badblock_context_delete(&bbctx);
out:
	pmem2_source_delete(&src);
	return r;
}

int dmp_badblocks_parse(const char *text, struct dmp_bad_sectors **bad,
			size_t *n)
{
	struct dmp_bad_sectors *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	const char *p = text;

	if (!text || !bad || !n)
		return -EINVAL;
	while (*p) {
		unsigned long long sector, count;
		char *e;

		if (*p == '\n') {
			p++;
			continue;
		}
		/* Digits only: strtoull would take signs and spaces. */
		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		sector = strtoull(p, &e, 10);
		if (errno || *e != ' ' || e[1] < '0' || e[1] > '9')
			goto bad;
		p = e + 1;
		count = strtoull(p, &e, 10);
		if (errno || *e != '\n' || count == 0 ||
		    count > (UINT64_MAX >> 9) ||
		    sector > (UINT64_MAX >> 9) - count)
			goto bad;
		p = e + 1;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[cnt++] = (struct dmp_bad_sectors){ sector, count };
	}
	*bad = v;
	*n = cnt;
	return 0;
bad:
	free(v);
	return -EINVAL;
}

/* Read the decimal number in file @name under directory @dfd. */
static int read_u64_at(int dfd, const char *name, uint64_t *v)
{
	char buf[32], *e;
	ssize_t len;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	errno = 0;
	*v = strtoull(buf, &e, 10);
	if (errno || e == buf || (*e && *e != '\n'))
		return -EINVAL;
	return 0;
}

/* sysfs shows at most a page; a list that long may have been cut. */
#define DMP_SYSFS_PAGE 4096

int dmp_bdev_badblocks(const char *sysfs, unsigned int major,
		       unsigned int minor, struct dmp_bad_sectors **bad,
		       size_t *n, uint64_t *start)
{
	char path[PATH_MAX], text[2 * DMP_SYSFS_PAGE + 1];
	size_t len = 0;
	ssize_t got;
	int dfd, fd, r;

	if (!sysfs || !bad || !n || !start)
		return -EINVAL;
	*start = 0;
	if (snprintf(path, sizeof(path), "%s/dev/block/%u:%u", sysfs, major,
		     minor) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? -EOPNOTSUPP : -errno;
	/* A partition has no list of its own: its disk's, which counts
	 * sectors from the start of the disk, is the parent directory's. */
	if (faccessat(dfd, "partition", F_OK, 0) == 0) {
		r = read_u64_at(dfd, "start", start);
		if (r < 0) {
			close(dfd);
			return r;
		}
		fd = openat(dfd, "../badblocks", O_RDONLY | O_CLOEXEC);
	} else {
		fd = openat(dfd, "badblocks", O_RDONLY | O_CLOEXEC);
	}
	r = fd < 0 ? -errno : 0;
	close(dfd);
	if (r < 0)
		return r == -ENOENT ? -EOPNOTSUPP : r;
	while (len < sizeof(text) - 1) {
		got = read(fd, text + len, sizeof(text) - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	r = got < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	if (len >= DMP_SYSFS_PAGE - 1)
		return -EOVERFLOW;
	text[len] = '\0';
	return dmp_badblocks_parse(text, bad, n);
}

int dmp_badblocks_in_extents(const struct dmp_bad_sectors *bad, size_t nbad,
			     const struct dmp_extent *extents, size_t next,
			     uint64_t start, uint64_t offset, uint64_t length,
			     uint64_t *first_bad)
{
	uint64_t end = offset + length, first = UINT64_MAX, base;

	if (end < offset || start > (UINT64_MAX >> 9))
		return -EINVAL;
	base = start << 9;
	for (size_t i = 0; i < next; i++) {
		const struct dmp_extent *x = &extents[i];
		uint64_t lo, hi, p_lo, p_hi, x_end;

		if (x->flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC))
			continue;
		if (x->length == 0 || x->logical > UINT64_MAX - x->length ||
		    x->length > UINT64_MAX - base ||
		    x->physical > UINT64_MAX - base - x->length)
			continue;	/* nothing a real extent reports */
		x_end = x->logical + x->length;
		lo = x->logical > offset ? x->logical : offset;
		hi = x_end < end ? x_end : end;
		if (lo >= hi)
			continue;
		/* Encoded (compressed) data does not map byte for byte: any
		 * of the extent's sectors may hold the range's bytes. */
		if (x->flags & FIEMAP_EXTENT_ENCODED) {
			p_lo = base + x->physical;
			p_hi = p_lo + x->length;
		} else {
			p_lo = base + x->physical + (lo - x->logical);
			p_hi = base + x->physical + (hi - x->logical);
		}
		for (size_t b = 0; b < nbad; b++) {
			uint64_t b_lo, b_hi, at;

			/* dmp_badblocks_parse() keeps these in range. */
			if (bad[b].count > (UINT64_MAX >> 9) ||
			    bad[b].sector > (UINT64_MAX >> 9) - bad[b].count)
				continue;
			b_lo = bad[b].sector << 9;
			b_hi = (bad[b].sector + bad[b].count) << 9;
			if (b_lo >= p_hi || b_hi <= p_lo)
				continue;
			if (x->flags & FIEMAP_EXTENT_ENCODED)
				at = lo;
			else
				at = lo + ((b_lo > p_lo ? b_lo : p_lo) - p_lo);
			at &= ~(DMP_PAGE_SIZE - 1);
			if (at < offset)
				at = offset;
			if (at < first)
				first = at;
		}
	}
	if (first == UINT64_MAX)
		return 0;
	if (first_bad)
		*first_bad = first;
	return 1;
}

/* The extents of @fd that cover [@offset, @end), by FIEMAP (no SYNC: a
 * delayed allocation has no location yet and is skipped by the caller).
 * *@ext is malloc()ed. 0 or -errno. */
static int file_extents(int fd, uint64_t offset, uint64_t end,
			struct dmp_extent **ext, size_t *n)
{
	enum { BATCH = 64 };
	struct fiemap *fm;
	struct dmp_extent *v = NULL, *nv;
	size_t cnt = 0;
	int r = 0;

	fm = calloc(1, sizeof(*fm) + BATCH * sizeof(struct fiemap_extent));
	if (!fm)
		return -ENOMEM;
	while (offset < end) {
		struct fiemap_extent *last;
		uint64_t next;

		memset(fm, 0, sizeof(*fm));
		fm->fm_start = offset;
		fm->fm_length = end - offset;
		fm->fm_extent_count = BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
			r = -errno;
			break;
		}
		if (fm->fm_mapped_extents == 0)
			break;
		nv = realloc(v, (cnt + fm->fm_mapped_extents) * sizeof(*v));
		if (!nv) {
			r = -ENOMEM;
			break;
		}
		v = nv;
		for (unsigned int i = 0; i < fm->fm_mapped_extents; i++) {
			const struct fiemap_extent *e = &fm->fm_extents[i];

			v[cnt++] = (struct dmp_extent){
				.logical = e->fe_logical,
				.physical = e->fe_physical,
				.length = e->fe_length,
				.flags = e->fe_flags,
			};
		}
		last = &fm->fm_extents[fm->fm_mapped_extents - 1];
		next = last->fe_logical + last->fe_length;
		if (last->fe_flags & FIEMAP_EXTENT_LAST || next <= offset)
			break;
		offset = next;
	}
	free(fm);
	if (r < 0) {
		free(v);
		return r;
	}
	*ext = v;
	*n = cnt;
	return 0;
}

/* The block device's view: its sysfs bad-sector list against the file's
 * extents. 0, 1 (*first set), -EOPNOTSUPP (no block device), -errno. */
static int bdev_badblocks_overlap(int fd, const struct stat *st,
				  uint64_t offset, uint64_t end,
				  uint64_t *first_bad)
{
	struct dmp_bad_sectors *bad = NULL;
	struct dmp_extent *ext = NULL;
	size_t nbad = 0, next = 0;
	uint64_t start = 0;
	int r;

	r = dmp_bdev_badblocks("/sys", major(st->st_dev), minor(st->st_dev),
			       &bad, &nbad, &start);
	if (r < 0 || nbad == 0)
		return r;
	r = file_extents(fd, offset, end, &ext, &next);
	/* The disk has bad sectors and the file's cannot be located. */
	if (r == -EOPNOTSUPP || r == -ENOTTY)
		r = -EIO;
	if (r == 0)
		r = dmp_badblocks_in_extents(bad, nbad, ext, next, start, offset,
					     end - offset, first_bad);
	free(ext);
	free(bad);
	return r;
}

int dmp_badblocks_overlap(int fd, uint64_t offset, uint64_t length,
			  uint64_t *first_bad)
{
	uint64_t end = offset + length, first = UINT64_MAX;
	struct stat st;
	int r;

	if (fd < 0 || end < offset)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	/*
	 * A regular file: the list of the disk under its file system. The
	 * pmem driver fills it from the region's (ARS) list at probe and on
	 * every update, and adds what it finds and what is injected, so it
	 * holds all libpmem2 would read (libpmem2 reads this very file for an
	 * fsdax namespace), plus partitions, which libpmem2 does not match
	 * to their namespace; and it is a sysfs read instead of a libndctl
	 * walk of the whole nvdimm tree (about 0.2 ms vs 120 ms per call in
	 * the TCG guest). Anything else (device-dax): libpmem2.
	 */
	if (S_ISREG(st.st_mode))
		r = bdev_badblocks_overlap(fd, &st, offset, end, &first);
	else
		r = pmem2_badblocks_overlap(fd, offset, end, &first);
	if (r == 1 && first_bad) {
		/* libpmem2 rounds to the file system block: to the page. */
		first &= ~(DMP_PAGE_SIZE - 1);
		*first_bad = first < offset ? offset : first;
	}
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
