/* vet.h - the checks a file passes before the broker grants it to a
 * session: the file system type (from procfs, no call into the file
 * system), type, open mode, range, DAX (libpmem2), bad blocks (the disk's
 * sysfs list), through shared/pmem.h. */
#ifndef DAXMIRRORD_VET_H
#define DAXMIRRORD_VET_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "pmem.h"

typedef struct VetReport {
	uint64_t dev, ino;	/* the file's st_dev and st_ino */
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

/* Shared by the vetting threads (vetting.c): @lock guards the rest, and
 * is never held across a call into a file system or libpmem2. */
typedef struct VetCache {
	pthread_mutex_t lock;
	VetCacheEntry entries[VET_CACHE_SIZE];
	unsigned int next;	/* the slot replaced on a miss when all are used */
	uint64_t hits, misses;
} VetCache;

#define VET_CACHE_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

/* Longest file system type kept ("fuse.sshfs"); longer ones are cut. */
#define VET_FSTYPE_SIZE 64

/* Pure checks, for the tests. 0 or -EINVAL. */
int vet_range(uint64_t offset, uint64_t length, uint64_t size);
/* @flags from fcntl(F_GETFL). 0 or -EBADF. */
int vet_access_mode(int flags, bool write);

/* The mount id of an fd from the text of /proc/self/fdinfo/FD ("mnt_id:"
 * line). 0 or -ENOENT. */
int vet_fdinfo_mnt_id(const char *text, int *ret);
/* The file system type of mount @mnt_id in the text of a mountinfo file
 * (proc(5)), copied into @type (@size bytes, cut to fit). 0 or -ENOENT. */
int vet_mountinfo_fstype(const char *text, int mnt_id, char *type, size_t size);
/* Is @type one of the built-in local file systems (ext4, xfs, tmpfs,
 * ...), whose files the daemon may close on its loop? */
bool vet_fs_local(const char *type);
/* May files on @type be vetted? The built-in local types, or one that
 * matches a pattern of @extra (AllowFileSystems=, separated by blanks;
 * NULL or "" for none). */
bool vet_fs_allowed(const char *type, const char *extra);

/* The mount under @fd as procfs tells it (vet_fd_mount()). */
typedef struct VetMount {
	char type[VET_FSTYPE_SIZE];
	/* FUSE's "user_id=" super option: the uid that mounted it (-1: not
	 * FUSE, or none given). Any user can mount FUSE (fusermount3) with
	 * any subtype, so "fuse.sshfs" names nothing trustworthy unless root
	 * mounted it. */
	long long fuse_owner;
} VetMount;

/* The mount of @mnt_id in the text of a mountinfo file: its type (cut to
 * fit) and FUSE owner. 0 or -ENOENT. */
int vet_mountinfo_mount(const char *text, int mnt_id, VetMount *ret);

/* On a THREAD: the mount under @fd, from procfs only (fdinfo's mount id,
 * then the daemon's mountinfo, then that of the caller, @caller_pid with
 * its pidfd @caller_pidfd, -1 for none: the file is read only if the
 * pidfd's process is still alive after it was opened, so a reused pid
 * cannot redirect the read). Mount ids are unique across namespaces. No
 * call reaches the file system, but reading mountinfo costs time in the
 * number of mounts, which any user can raise (fusermount3): never on the
 * loop. 0; -ENOENT if no mountinfo lists the mount; -EMFILE, -ENFILE or
 * -ENOMEM when the daemon could not look (vet_call() answers that errno,
 * not UnsupportedFileSystem); other -errno. */
int vet_fd_mount(int fd, pid_t caller_pid, int caller_pidfd, VetMount *ret);

/* May files on mount @m be vetted, given AllowFileSystems @extra? The
 * built-in local types always; a FUSE mount (fuse, fuseblk, fuse.*) only
 * if root mounted it (user_id=0), whatever @extra says; other types if a
 * pattern of @extra matches. On false, @why (may be NULL) says which
 * rule refused. */
bool vet_mount_allowed(const VetMount *m, const char *extra, const char **why);

/* The checks of AttachFile that make no call into the file's file system
 * (run on the daemon's loop, before vet_call() goes to a thread): the fd,
 * not O_PATH, the access mode (fcntl(F_GETFL)), offset and length aligned
 * and not overflowing, and the fd a file on some mount, from its own
 * /proc/self/fd link alone (d_path: no fdinfo, no mountinfo); a pipe, a
 * socket or an anonymous inode is refused at once. The file system type
 * is left to vet_call() on the thread. 0, or a negative errno with
 * @error set (BadFile, InvalidRange, UnsupportedFileSystem). */
int vet_precheck(int fd, uint64_t offset, uint64_t length, bool write, sd_bus_error *error);

/* Vets @fd for [@offset, @offset + @length), for writing if @write; a
 * non-DAX file passes only with @pagecache. Returns 0 and fills *@rep, or
 * a negative errno with @error set to the org.daxmirror1.Error.* to send.
 * @cache (may be NULL: ask libpmem2 every time) holds per-device answers.
 * Calls into the file's file system (fstat, FIEMAP, libpmem2), so it may
 * wait as long as that file system's server does: vetting.c runs it on a
 * thread of the pool, never on the loop. Thread-safe. */
int vet_file(VetCache *cache, int fd, uint64_t offset, uint64_t length, bool write,
	     bool pagecache, VetReport *rep, sd_bus_error *error);

/* What a vetting thread gets: AttachFile's fd and arguments, the
 * caller, and the AllowFileSystems in force when the call came. */
typedef struct VetCall {
	int fd;
	pid_t caller_pid;		/* 0: unknown */
	int caller_pidfd;		/* -1: none */
	uint64_t offset, length;
	bool write, pagecache;
	char allow_fs[256];		/* CONFIG_FS_LIST_SIZE */
} VetCall;

/* The whole vetting of a thread, injectable (Context.vet; the host test
 * of vetting.c passes a fake): vet_call() first finds the mount
 * (vet_fd_mount()) and refuses a type vet_mount_allowed() does not allow
 * (UnsupportedFileSystem) before any call into the file system, then
 * vet_file(). */
typedef int (*vet_call_fn)(VetCache *cache, const VetCall *call, VetReport *rep,
			   sd_bus_error *error);
int vet_call(VetCache *cache, const VetCall *call, VetReport *rep, sd_bus_error *error);

#endif
