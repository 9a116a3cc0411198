/* files.h - test files: the guest's file system directories (environment),
 * temporary files removed by cleanup, files filled with a pattern, files
 * whose extents are 2 MiB aligned (fallocate, checked with FIEMAP). */
#ifndef DMT_FILES_H
#define DMT_FILES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The directories the guest provides. */
#define DMT_ENV_EXT4_DAX	"DAXMIRROR_EXT4_DAX"
#define DMT_ENV_XFS_DAX		"DAXMIRROR_XFS_DAX"
#define DMT_ENV_EXT4_PAGECACHE	"DAXMIRROR_EXT4_PAGECACHE"
#define DMT_ENV_TMPFS		"DAXMIRROR_TMPFS"

struct dmt_file {
	int fd;			/* O_RDWR */
	char path[PATH_MAX];	/* unlinked by cleanup when non-empty */
};
#define DMT_FILE_INIT { .fd = -1, .path = "" }

/* close and unlink. */
void dmt_file_remove(struct dmt_file *f);
#define _cleanup_file_ __attribute__((cleanup(dmt_file_remove)))

/* The directory named by environment variable @var, or NULL (reason given
 * with tap_diag) if unset or not a directory. */
const char *dmt_env_dir(const char *var);

/* Create a new file in @dir, @size bytes of pattern @seed. 0 or -errno. */
int dmt_file_create(struct dmt_file *f, const char *dir, const char *tag,
		    size_t size, uint64_t seed);

/* Create a @size byte file in @dir whose extents are @align aligned
 * (fallocate, fill with pattern @seed, fsync, FIEMAP). Tries a few files;
 * on failure returns -errno, or 1 if no file came out aligned, with the
 * reason in @why. */
int dmt_file_create_aligned(struct dmt_file *f, const char *dir,
			    size_t size, size_t align, uint64_t seed,
			    char *why, size_t whylen);

/* FIEMAP check: 0 if [0, size) is fully allocated and every extent starts
 * @align aligned both logically and physically (or continues the previous
 * one contiguously), 1 if not (reason in @why), -errno on error. */
int dmt_check_extents(int fd, uint64_t size, uint64_t align, char *why,
		      size_t whylen);

/* statx STATX_ATTR_DAX: 1 DAX, 0 not, -errno. */
int dmt_file_is_dax(int fd);

/* Whole-buffer pread / pwrite: 0 or -errno (-EIO if short). */
int dmt_pread_full(int fd, void *buf, size_t len, off_t off);
int dmt_pwrite_full(int fd, const void *buf, size_t len, off_t off);
/* pread [off, off + len) and compare it with pattern @seed (at file
 * offset @off): -1 if equal, else the offset from @off of the first byte
 * that differs or could not be read (reported with tap_diag). */
ssize_t dmt_file_check_pattern(int fd, size_t len, off_t off,
			       uint64_t seed);

#endif
