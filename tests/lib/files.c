/* files.c - test files: temporary, patterned, 2 MiB-aligned (FIEMAP). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "files.h"
#include "pattern.h"
#include "tap.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

void dmt_file_remove(struct dmt_file *f)
{
	int saved = errno;

	if (f->fd >= 0)
		close(f->fd);
	if (f->path[0])
		unlink(f->path);
	f->fd = -1;
	f->path[0] = '\0';
	errno = saved;
}

const char *dmt_env_dir(const char *var)
{
	const char *dir = getenv(var);
	struct stat st;

	if (!dir || !*dir) {
		tap_diag("%s is not set", var);
		return NULL;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		tap_diag("%s=%s is not a directory", var, dir);
		return NULL;
	}
	return dir;
}

int dmt_pread_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int dmt_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Write pattern @seed over [0, size) in 1 MiB chunks. */
static int fill_pattern(int fd, size_t size, uint64_t seed)
{
	const size_t chunk = 1 << 20;
	_cleanup_free_ uint8_t *buf = malloc(chunk);

	if (!buf)
		return -ENOMEM;
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		int r;

		dmt_pattern_fill(buf, n, seed, off);
		r = dmt_pwrite_full(fd, buf, n, (off_t)off);
		if (r < 0)
			return r;
	}
	return 0;
}

ssize_t dmt_file_check_pattern(int fd, size_t len, off_t off, uint64_t seed)
{
	const size_t chunk = 1 << 20;
	_cleanup_free_ uint8_t *buf = malloc(chunk);

	if (!buf) {
		tap_diag("out of memory");
		return 0;
	}
	for (size_t done = 0; done < len; done += chunk) {
		size_t n = len - done < chunk ? len - done : chunk;
		int r = dmt_pread_full(fd, buf, n, off + (off_t)done);
		ssize_t d;

		if (r < 0) {
			tap_diag("pread at %lld: %s", (long long)(off + (off_t)done),
				 tap_errname(-r));
			return (ssize_t)done;
		}
		d = dmt_pattern_check(buf, n, seed, (uint64_t)off + done);
		if (d >= 0)
			return (ssize_t)done + d;
	}
	return -1;
}

static int create_in(struct dmt_file *f, const char *dir, const char *tag)
{
	for (int i = 0; i < 100; i++) {
		snprintf(f->path, sizeof(f->path), "%s/dmt-%s-%d-%d", dir, tag,
			 (int)getpid(), i);
		f->fd = open(f->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			     0644);
		if (f->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	tap_diag("create %s: %s", f->path, tap_errname(errno));
	f->path[0] = '\0';
	return -errno;
}

int dmt_file_create(struct dmt_file *f, const char *dir, const char *tag,
		    size_t size, uint64_t seed)
{
	int r = create_in(f, dir, tag);

	if (r < 0)
		return r;
	r = fill_pattern(f->fd, size, seed);
	if (r == 0 && ftruncate(f->fd, (off_t)size) < 0)
		r = -errno;
	if (r < 0) {
		tap_diag("fill %s: %s", f->path, tap_errname(-r));
		dmt_file_remove(f);
	}
	return r;
}

int dmt_check_extents(int fd, uint64_t size, uint64_t align, char *why,
		      size_t whylen)
{
	const unsigned int batch = 256;
	_cleanup_free_ struct fiemap *fm =
		calloc(1, sizeof(*fm) + batch * sizeof(struct fiemap_extent));
	uint64_t next = 0, prev_l = 0, prev_p = 0, prev_end = 0;
	bool have_prev = false, last = false;
	unsigned int total = 0;

	if (!fm)
		return -ENOMEM;
	while (!last && next < size) {
		memset(fm, 0, sizeof(*fm));
		fm->fm_start = next;
		fm->fm_length = size - next;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = batch;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0)
			return -errno;
		if (fm->fm_mapped_extents == 0)
			break;
		for (unsigned int i = 0; i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];
			bool contig = have_prev &&
				e->fe_logical == prev_l + prev_end &&
				e->fe_physical == prev_p + prev_end;

			total++;
			if (e->fe_logical > next) {
				snprintf(why, whylen,
					 "hole at file offset %llu (next extent at %llu)",
					 (unsigned long long)next,
					 (unsigned long long)e->fe_logical);
				return 1;
			}
			if (e->fe_flags & (FIEMAP_EXTENT_UNKNOWN |
					   FIEMAP_EXTENT_DELALLOC |
					   FIEMAP_EXTENT_ENCODED |
					   FIEMAP_EXTENT_DATA_INLINE |
					   FIEMAP_EXTENT_NOT_ALIGNED)) {
				snprintf(why, whylen,
					 "extent %u at %llu has flags 0x%x (no stable physical address)",
					 total, (unsigned long long)e->fe_logical,
					 e->fe_flags);
				return 1;
			}
			if (!contig && (e->fe_logical % align ||
					e->fe_physical % align)) {
				snprintf(why, whylen,
					 "extent %u: logical 0x%llx physical 0x%llx length 0x%llx is not %llu aligned",
					 total, (unsigned long long)e->fe_logical,
					 (unsigned long long)e->fe_physical,
					 (unsigned long long)e->fe_length,
					 (unsigned long long)align);
				return 1;
			}
			if (contig) {
				prev_end += e->fe_length;
			} else {
				prev_l = e->fe_logical;
				prev_p = e->fe_physical;
				prev_end = e->fe_length;
				have_prev = true;
			}
			next = e->fe_logical + e->fe_length;
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
		}
	}
	if (next < size) {
		snprintf(why, whylen, "only %llu of %llu bytes allocated",
			 (unsigned long long)next, (unsigned long long)size);
		return 1;
	}
	return 0;
}

int dmt_file_create_aligned(struct dmt_file *f, const char *dir,
			    size_t size, size_t align, uint64_t seed,
			    char *why, size_t whylen)
{
	enum { TRIES = 4 };
	struct dmt_file spoiled[TRIES];
	int r = 1;

	for (int i = 0; i < TRIES; i++)
		spoiled[i] = (struct dmt_file)DMT_FILE_INIT;
	snprintf(why, whylen, "no attempt made");
	/* Misaligned attempts are kept until the end so the allocator does
	 * not hand the same blocks out again. */
	for (int i = 0; i < TRIES; i++) {
		r = create_in(f, dir, "aligned");
		if (r < 0)
			break;
		if (fallocate(f->fd, 0, 0, (off_t)size) < 0) {
			r = -errno;
			snprintf(why, whylen, "fallocate %zu bytes: %s", size,
				 tap_errname(errno));
			dmt_file_remove(f);
			break;
		}
		r = fill_pattern(f->fd, size, seed);
		if (r == 0 && fsync(f->fd) < 0)
			r = -errno;
		if (r < 0) {
			snprintf(why, whylen, "fill/fsync: %s",
				 tap_errname(-r));
			dmt_file_remove(f);
			break;
		}
		r = dmt_check_extents(f->fd, size, align, why, whylen);
		if (r <= 0) {
			if (r < 0)
				snprintf(why, whylen, "FIEMAP: %s",
					 tap_errname(-r));
			break;
		}
		tap_diag("attempt %d: %s is not aligned: %s", i + 1, f->path,
			 why);
		spoiled[i] = *f;
		*f = (struct dmt_file)DMT_FILE_INIT;
	}
	for (int i = 0; i < TRIES; i++)
		dmt_file_remove(&spoiled[i]);
	if (r != 0)
		dmt_file_remove(f);
	return r;
}

int dmt_file_is_dax(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0)
		return -errno;
	if (!(stx.stx_attributes_mask & STATX_ATTR_DAX))
		return 0;
	return !!(stx.stx_attributes & STATX_ATTR_DAX);
}
