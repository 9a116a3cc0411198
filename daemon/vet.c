/* vet.c - file vetting for Session.AttachFile: on a file system that can
 * be DAX or local page cache (its type from procfs, before any call that
 * could reach a server), a regular file, opened with the access asked
 * for, the range aligned and inside the file, on DAX unless page-cache
 * files are allowed, no bad blocks under the range (the disk's sysfs list
 * against the file's FIEMAP extents, shared/pmem.h). The kernel checks
 * type and mode again at grant time; the broker checks first to give a
 * named error and a report. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

int vet_fdinfo_mnt_id(const char *text, int *ret)
{
	for (const char *l = text; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		int id;

		if (sscanf(l, "mnt_id: %d", &id) == 1) {
			*ret = id;
			return 0;
		}
	}
	return -ENOENT;
}

int vet_mountinfo_mount(const char *text, int mnt_id, VetMount *ret)
{
	/* "36 35 98:0 /root /mnt opts [optional...] - TYPE SOURCE SUPEROPTS":
	 * the optional fields end at " - "; spaces elsewhere are escaped. */
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *end = strchr(l, '\n'), *sep, *t, *opts;
		char *after;
		size_t n;
		long id;

		/* strtol, not sscanf: glibc's sscanf runs strlen() over the
		 * rest of the text, quadratic over a client's huge table. */
		errno = 0;
		id = strtol(l, &after, 10);
		if (after == l || *after != ' ' || errno || id != mnt_id)
			continue;
		sep = strstr(l, " - ");
		if (!sep || (end && sep > end))
			continue;
		t = sep + 3;
		n = strcspn(t, " \n");
		if (n == 0)
			continue;
		memcpy(ret->type, t, n < sizeof(ret->type) ? n : sizeof(ret->type) - 1);
		ret->type[n < sizeof(ret->type) ? n : sizeof(ret->type) - 1] = '\0';
		ret->fuse_owner = -1;
		/* TYPE SOURCE SUPEROPTS: the super options are the third field. */
		opts = t + n;
		if (*opts == ' ') {
			opts += 1;
			opts += strcspn(opts, " \n");
		}
		if (*opts == ' ' && strncmp(ret->type, "fuse", 4) == 0) {
			size_t len = strcspn(++opts, " \n");

			for (const char *o = opts; o < opts + len; o += strcspn(o, ",\n "), o += *o == ',') {
				if (strncmp(o, "user_id=", 8) == 0) {
					char *e;
					long long v;

					errno = 0;
					v = strtoll(o + 8, &e, 10);
					if (!errno && e > o + 8 && v >= 0)
						ret->fuse_owner = v;
					break;
				}
				if (o[strcspn(o, ",\n ")] != ',')
					break;
			}
		}
		return 0;
	}
	return -ENOENT;
}

int vet_mountinfo_fstype(const char *text, int mnt_id, char *type, size_t size)
{
	VetMount m;
	size_t n;
	int r;

	r = vet_mountinfo_mount(text, mnt_id, &m);
	if (r < 0 || size == 0)
		return r < 0 ? r : -ENOENT;
	n = strlen(m.type);
	if (n >= size)
		n = size - 1;
	memcpy(type, m.type, n);
	type[n] = '\0';
	return 0;
}

/* Local file systems whose files can be DAX (ext2, ext4, xfs, erofs) or
 * page cache without a server behind them: what AttachFile accepts by
 * default. Not here: fuse and fuse.* (a process answers), nfs, nfs4,
 * cifs, smb3, 9p, ceph, virtiofs (a server or the host answers), overlay
 * (its lower layers may be any of those), proc, sysfs and the like. */
static const char *const local_fs[] = {
	"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "erofs",
	"tmpfs", "ramfs", "hugetlbfs", "devtmpfs",
};

bool vet_fs_local(const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(local_fs); i++)
		if (streq(type, local_fs[i]))
			return true;
	return false;
}

bool vet_fs_allowed(const char *type, const char *extra)
{
	char pattern[VET_FSTYPE_SIZE];

	if (vet_fs_local(type))
		return true;
	while (extra && *extra) {
		size_t n;

		extra += strspn(extra, " \t");
		n = strcspn(extra, " \t");
		if (n > 0 && n < sizeof(pattern)) {
			memcpy(pattern, extra, n);
			pattern[n] = '\0';
			if (fnmatch(pattern, type, 0) == 0)
				return true;
		}
		extra += n;
	}
	return false;
}

/* The rest of @fd (a procfs file), whole, NUL-terminated, into *@ret
 * (at most 64 MiB: mountinfo grows with the mounts). 0 or -errno. */
static int read_fd(int fd, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *b;

			if (cap >= 64u << 20)
				return -EFBIG;
			cap = cap ? cap * 2 : 16384;
			b = realloc(buf, cap);
			if (!b)
				return -ENOMEM;
			buf = b;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

static int read_proc(const char *path, char **ret)
{
	_cleanup_close_ int fd = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return read_fd(fd, ret);
}

/* Is @fd an fd of a file on some mount? From the link's text alone, which
 * comes from the dentry (d_path): no call into the file system, and no
 * fdinfo, whose show_fdinfo() for an epoll fd waits for a mutex the
 * client can hold forever (epoll_ctl() polling a FUSE file). An
 * anonymous inode, a pipe or a socket has no mount to find. 0 or
 * -errno. */
static int fd_on_mount(int fd)
{
	char path[64], link[16];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	return link[0] == '/' ? 0 : -ENOENT;
}

/* 0 if the process of @pidfd still lives: signal 0 says ESRCH once it
 * exited; EPERM (the daemon, unprivileged, may not signal a client of
 * another uid) is still a living process. */
static int pidfd_alive(int pidfd)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 || errno == EPERM)
		return 0;
	return -errno;
}

/* The daemon ran short of fds or memory: the answer is not known yet, and
 * it is not "no file system". */
static bool out_of_resources(int r)
{
	return r == -EMFILE || r == -ENFILE || r == -ENOMEM;
}

/* A vetting error for @r of vet_fd_mount() or fd_on_mount(). */
static int mount_error(int r, sd_bus_error *error)
{
	if (out_of_resources(r))
		return sd_bus_error_set_errnof(error, -r,
					       "finding the file's mount in procfs: %m; try again later");
	return sd_bus_error_setf(error, DXM_ERROR_UNSUPPORTED_FS,
				 "the file is on no file system the broker can see (a pipe, a memfd, or a mount namespace of its own): refused");
}

int vet_fd_mount(int fd, pid_t caller_pid, int caller_pidfd, VetMount *ret)
{
	_cleanup_free_ char *fdinfo = NULL;
	char path[64];
	int mnt_id, r;

	r = fd_on_mount(fd);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	r = read_proc(path, &fdinfo);
	if (r < 0)
		return r;
	if (vet_fdinfo_mnt_id(fdinfo, &mnt_id) < 0)
		return -ENOENT;
	for (int i = 0; i < 2; i++) {
		_cleanup_free_ char *mountinfo = NULL;
		_cleanup_close_ int mfd = -1;

		if (i == 0) {
			r = read_proc("/proc/self/mountinfo", &mountinfo);
		} else {
			/* The caller's namespace: the pid is the one the bus
			 * named, its pidfd taken on the loop; /proc/PID opened
			 * first, then the pidfd shows the process was still
			 * alive, so PID was not yet anybody else's. */
			if (caller_pid <= 0 || caller_pidfd < 0)
				break;
			snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)caller_pid);
			mfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
			if (mfd < 0 && out_of_resources(-errno))
				return -errno;
			if (mfd < 0 || pidfd_alive(caller_pidfd) < 0)
				break;
			r = read_fd(mfd, &mountinfo);
		}
		if (out_of_resources(r))
			return r;
		if (r < 0)
			continue;
		if (vet_mountinfo_mount(mountinfo, mnt_id, ret) == 0)
			return 0;
	}
	return -ENOENT;
}

static bool fs_is_fuse(const char *type)
{
	return streq(type, "fuse") || streq(type, "fuseblk") || strncmp(type, "fuse.", 5) == 0;
}

bool vet_mount_allowed(const VetMount *m, const char *extra, const char **why)
{
	if (vet_fs_local(m->type))
		return true;
	if (fs_is_fuse(m->type) && m->fuse_owner != 0) {
		if (why)
			*why = "a FUSE mount not made by root (any user can mount FUSE with any subtype; AllowFileSystems= cannot allow it)";
		return false;
	}
	if (vet_fs_allowed(m->type, extra))
		return true;
	if (why)
		*why = "not allowed (AllowFileSystems= in daxmirrord.conf allows more types)";
	return false;
}

/* The fd's open mode (fcntl, no call into the file system): valid, not
 * O_PATH, open for what @write asks. The flags or BadFile. */
static int check_flags(int fd, bool write, sd_bus_error *error)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "invalid file descriptor: %s",
					 strerror(errno));
	if (flags & O_PATH)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "an O_PATH file descriptor cannot be attached");
	if (vet_access_mode(flags, write) < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE,
					 "the file is not open for %s", write ? "reading and writing" : "reading");
	return flags;
}

/* The range's alignment and overflow; with @size (>= 0), inside the file
 * too. 0 or InvalidRange. */
static int check_range(uint64_t offset, uint64_t length, intmax_t size, sd_bus_error *error)
{
	if (length == 0)
		return sd_bus_error_setf(error, DXM_ERROR_INVALID_RANGE, "the length is 0");
	if (offset % DM_PAGE_SIZE || length % DM_PAGE_SIZE)
		return sd_bus_error_setf(error, DXM_ERROR_INVALID_RANGE,
					 "offset %" PRIu64 " and length %" PRIu64 " must be multiples of %llu",
					 offset, length, DM_PAGE_SIZE);
	if (offset > UINT64_MAX - length)
		return sd_bus_error_setf(error, DXM_ERROR_INVALID_RANGE,
					 "offset %" PRIu64 " + length %" PRIu64 " overflows", offset, length);
	if (size >= 0 && vet_range(offset, length, (uint64_t)size) < 0)
		return sd_bus_error_setf(error, DXM_ERROR_INVALID_RANGE,
					 "range [%" PRIu64 ", +%" PRIu64 ") is not inside the file (%jd bytes)",
					 offset, length, size);
	return 0;
}

int vet_precheck(int fd, uint64_t offset, uint64_t length, bool write, sd_bus_error *error)
{
	int r;

	r = check_flags(fd, write, error);
	if (r < 0)
		return r;
	r = check_range(offset, length, -1, error);
	if (r < 0)
		return r;
	/* Only the fd's link here: the type, from mountinfo, is decided on
	 * the thread (vet_call()). */
	r = fd_on_mount(fd);
	if (r < 0)
		return mount_error(r, error);
	return 0;
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
	pthread_mutex_lock(&cache->lock);
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
			pthread_mutex_unlock(&cache->lock);
			return 0;
		}
	}
	cache->misses++;
	pthread_mutex_unlock(&cache->lock);
	/* Slow and maybe stuck in the file system: without the lock. */
	r = dmp_file_info(fd, fi);
	if (r < 0 || fi->dax != dax)
		return r;
	pthread_mutex_lock(&cache->lock);
	/* Another thread may have used @slot meanwhile: find a free one again. */
	slot = NULL;
	for (size_t i = 0; i < VET_CACHE_SIZE && !slot; i++)
		if (!cache->entries[i].used)
			slot = &cache->entries[i];
	if (!slot) {
		slot = &cache->entries[cache->next];
		cache->next = (cache->next + 1) % VET_CACHE_SIZE;
	}
	*slot = (VetCacheEntry){
		.used = true, .dev = dev, .dax = dax, .writable = writable,
		.expires_usec = now + VET_CACHE_USEC, .numa_node = fi->numa_node,
		.granularity = fi->granularity,
	};
	pthread_mutex_unlock(&cache->lock);
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

	flags = check_flags(fd, write, error);
	if (flags < 0)
		return flags;
	if (fstat(fd, &st) < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "fstat: %s", strerror(errno));
	rep->dev = st.st_dev;
	rep->ino = st.st_ino;
	if (!S_ISREG(st.st_mode))
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "not a regular file");

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, rep->path, sizeof(rep->path) - 1);
	rep->path[n > 0 ? n : 0] = '\0';

	r = check_range(offset, length, (intmax_t)st.st_size, error);
	if (r < 0)
		return r;

	r = file_info(cache, fd, st.st_dev, (flags & O_ACCMODE) == O_RDWR, &fi);
	if (r < 0 && out_of_resources(r))
		return sd_bus_error_set_errnof(error, -r, "inspecting the file: %m; try again later");
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
	else if (r < 0 && out_of_resources(r))
		return sd_bus_error_set_errnof(error, -r,
					       "reading the bad-block list: %m; try again later");
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

int vet_call(VetCache *cache, const VetCall *call, VetReport *rep, sd_bus_error *error)
{
	const char *why = NULL;
	VetMount m;
	int r;

	memset(rep, 0, sizeof(*rep));
	rep->numa_node = -1;
	r = check_flags(call->fd, call->write, error);
	if (r < 0)
		return r;
	/* procfs only: nothing here reaches the file's server. */
	r = vet_fd_mount(call->fd, call->caller_pid, call->caller_pidfd, &m);
	if (r < 0)
		return mount_error(r, error);
	if (!vet_mount_allowed(&m, call->allow_fs, &why))
		return sd_bus_error_setf(error, DXM_ERROR_UNSUPPORTED_FS,
					 "the file is on a %s file system, which cannot be DAX or local page cache: %s",
					 m.type, why);
	return vet_file(cache, call->fd, call->offset, call->length, call->write, call->pagecache,
			rep, error);
}
