/* test-vet.c - host test of the file vetting of Session.AttachFile on
 * ordinary (non-DAX) files: range and access-mode rules, the file system
 * type from fdinfo and mountinfo and the decision on it, and the named
 * errors vet_precheck(), vet_call() and vet_file() give. */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-contract.h"
#include "tap.h"
#include "util.h"
#include "vet.h"

static const char *vet_cached(VetCache *cache, int fd, uint64_t off, uint64_t len, bool write,
			      bool pagecache, VetReport *rep)
{
	static char name[256];
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = vet_file(cache, fd, off, len, write, pagecache, rep, &e);

	snprintf(name, sizeof(name), "%s", r < 0 ? (e.name ? e.name : "?") : "ok");
	if (r < 0)
		tap_diag("%s: %s", e.name, e.message);
	sd_bus_error_free(&e);
	return name;
}

static const char *vet(int fd, uint64_t off, uint64_t len, bool write, bool pagecache,
		       VetReport *rep)
{
	return vet_cached(NULL, fd, off, len, write, pagecache, rep);
}

static const char *precheck(int fd, uint64_t off, uint64_t len, bool write)
{
	static char name[256];
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = vet_precheck(fd, off, len, write, &e);

	snprintf(name, sizeof(name), "%s", r < 0 ? (e.name ? e.name : "?") : "ok");
	if (r < 0)
		tap_diag("%s: %s", e.name, e.message);
	sd_bus_error_free(&e);
	return name;
}

/* proc(5)'s example lines, a FUSE mount, a mount point with an escaped
 * space and optional fields, and a line without " - ". */
static const char mountinfo[] =
	"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
	"21 1 0:19 / /run rw,nosuid shared:5 - tmpfs tmpfs rw,mode=755\n"
	"77 21 0:50 / /run/user/1000/x rw,nosuid,nodev,relatime shared:40 - fuse.sshfs host:/ rw,user_id=0\n"
	"78 21 0:51 / /mnt/a\\040-\\040b rw shared:7 master:3 - fuse fuse-stall rw,user_id=0\n"
	"90 21 0:52 / /broken rw\n"
	"91 21 0:53 / /nfs rw - nfs4 server:/export rw,vers=4.2\n"
	"92 21 0:54 / /home/u/m rw,nosuid,nodev - fuse.sshfs u@h:/ rw,user_id=1000,group_id=1000\n"
	"93 21 0:55 / /m rw - fuse.x x rw,group_id=0,user_id=0,default_permissions\n"
	"94 21 0:56 / /n rw - fuse.y y rw,max_read=4096";

/* vet_call() of @fd with AllowFileSystems @extra: its error name or "ok". */
static const char *call(int fd, uint64_t off, uint64_t len, const char *extra)
{
	static char name[256];
	sd_bus_error e = SD_BUS_ERROR_NULL;
	VetCall c = { .fd = fd, .caller_pidfd = -1, .offset = off, .length = len, .pagecache = true };
	VetReport rep;
	int r;

	snprintf(c.allow_fs, sizeof(c.allow_fs), "%s", extra ? extra : "");
	r = vet_call(NULL, &c, &rep, &e);
	snprintf(name, sizeof(name), "%s", r < 0 ? (e.name ? e.name : "?") : "ok");
	if (r < 0)
		tap_diag("%s: %s", e.name, e.message);
	sd_bus_error_free(&e);
	return name;
}

static void fs_cases(void)
{
	char type[VET_FSTYPE_SIZE], small[4];
	int id = -1, fd, pipefd[2];

	tap_ok(vet_fdinfo_mnt_id("pos:\t0\nflags:\t0100002\nmnt_id:\t29\nino:\t12\n", &id) == 0 &&
	       id == 29, "fdinfo: mnt_id 29");
	tap_ok(vet_fdinfo_mnt_id("pos:\t0\nflags:\t0100002\n", &id) == -ENOENT,
	       "fdinfo without mnt_id: -ENOENT");
	tap_ok(vet_mountinfo_fstype(mountinfo, 36, type, sizeof(type)) == 0 && streq(type, "ext3"),
	       "mountinfo: 36 is ext3");
	tap_ok(vet_mountinfo_fstype(mountinfo, 77, type, sizeof(type)) == 0 &&
	       streq(type, "fuse.sshfs"), "mountinfo: 77 is fuse.sshfs");
	tap_ok(vet_mountinfo_fstype(mountinfo, 78, type, sizeof(type)) == 0 && streq(type, "fuse"),
	       "mountinfo: 78 (escaped \" - \" in its mount point, two optional fields) is fuse");
	tap_ok(vet_mountinfo_fstype(mountinfo, 91, type, sizeof(type)) == 0 && streq(type, "nfs4"),
	       "mountinfo: the last line without a newline: nfs4");
	tap_ok(vet_mountinfo_fstype(mountinfo, 90, type, sizeof(type)) == -ENOENT,
	       "mountinfo: a line without \" - \" gives no type");
	tap_ok(vet_mountinfo_fstype(mountinfo, 3, type, sizeof(type)) == -ENOENT &&
	       vet_mountinfo_fstype(mountinfo, 7, type, sizeof(type)) == -ENOENT,
	       "mountinfo: ids not listed (nor 7, a field of another line) give -ENOENT");
	tap_ok(vet_mountinfo_fstype(mountinfo, 77, small, sizeof(small)) == 0 && streq(small, "fus"),
	       "mountinfo: a type is cut to fit");

	tap_ok(vet_fs_allowed("ext4", NULL) && vet_fs_allowed("xfs", "") &&
	       vet_fs_allowed("tmpfs", NULL) && vet_fs_allowed("btrfs", NULL),
	       "allowed by default: ext4, xfs, tmpfs, btrfs");
	tap_ok(!vet_fs_allowed("fuse", NULL) && !vet_fs_allowed("fuse.sshfs", NULL) &&
	       !vet_fs_allowed("nfs", NULL) && !vet_fs_allowed("nfs4", NULL) &&
	       !vet_fs_allowed("cifs", NULL) && !vet_fs_allowed("smb3", NULL) &&
	       !vet_fs_allowed("9p", NULL) && !vet_fs_allowed("ceph", NULL) &&
	       !vet_fs_allowed("virtiofs", NULL) && !vet_fs_allowed("overlay", NULL) &&
	       !vet_fs_allowed("proc", NULL) && !vet_fs_allowed("ext", NULL),
	       "refused by default: fuse, fuse.*, nfs, nfs4, cifs, smb3, 9p, ceph, virtiofs, overlay, proc");
	tap_ok(vet_fs_local("ext4") && vet_fs_local("tmpfs") && !vet_fs_local("fuse") &&
	       !vet_fs_local("nfs4"), "local: ext4, tmpfs; not fuse, nfs4");
	tap_ok(vet_fs_allowed("fuse", "nfs4 fuse") && !vet_fs_allowed("fuse.sshfs", "nfs4 fuse") &&
	       vet_fs_allowed("fuse.sshfs", "  fuse.*\tnfs4 ") && !vet_fs_allowed("fuse", "fuse.*") &&
	       vet_fs_allowed("nfs4", "nfs[34]") && !vet_fs_allowed("nfs", "nfs?"),
	       "AllowFileSystems: exact names and patterns, blank separated");

	/* FUSE mounts: only root's can be allowed (user_id=0). */
	{
		VetMount m;
		const char *why = NULL;

		tap_ok(vet_mountinfo_mount(mountinfo, 92, &m) == 0 && streq(m.type, "fuse.sshfs") &&
		       m.fuse_owner == 1000, "mountinfo: a user's FUSE mount, user_id=1000");
		tap_ok(!vet_mount_allowed(&m, "fuse.* fuse.sshfs *", &why) && why &&
		       strstr(why, "root"), "a user's fuse.sshfs: refused whatever AllowFileSystems says");
		tap_ok(vet_mountinfo_mount(mountinfo, 93, &m) == 0 && m.fuse_owner == 0 &&
		       vet_mount_allowed(&m, "fuse.x", NULL) && !vet_mount_allowed(&m, "nfs4", NULL),
		       "root's fuse.x (user_id=0 after other options): allowed by AllowFileSystems=fuse.x only");
		tap_ok(vet_mountinfo_mount(mountinfo, 94, &m) == 0 && m.fuse_owner == -1 &&
		       !vet_mount_allowed(&m, "fuse.*", NULL), "a FUSE mount without user_id: refused");
		tap_ok(vet_mountinfo_mount(mountinfo, 91, &m) == 0 && m.fuse_owner == -1 &&
		       vet_mount_allowed(&m, "nfs4", NULL) && !vet_mount_allowed(&m, NULL, NULL),
		       "nfs4: no owner, allowed by its pattern only");
		tap_ok(vet_mountinfo_mount(mountinfo, 36, &m) == 0 && vet_mount_allowed(&m, NULL, NULL),
		       "ext3: allowed, built in");
	}

	/* The real thing: procfs answers for the daemon's own fds. On the
	 * loop only the link is read; the type is decided on the thread. */
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	{
		VetMount m;

		tap_ok(fd >= 0 && streq(precheck(fd, 0, 4096, false), "ok") &&
		       vet_fd_mount(fd, 0, -1, &m) == 0 && streq(m.type, "proc"),
		       "an fd of /proc/self/status: passes the precheck, proc on the thread (%s)",
		       fd >= 0 ? m.type : "?");
	}
	tap_ok(streq(call(fd, 0, 4096, NULL), DXM_ERROR_UNSUPPORTED_FS),
	       "proc by default: UnsupportedFileSystem (vet_call)");
	{
		/* Out of fds (seen under 200 clients): the daemon could not
		 * look, which is no verdict on the file system. */
		struct rlimit rl, none = { .rlim_cur = 0 };
		const char *n = "?";

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			none.rlim_max = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &none) == 0) {
				n = call(fd, 0, 4096, "sysfs proc");
				setrlimit(RLIMIT_NOFILE, &rl);
			}
		}
		tap_ok(streq(n, "System.Error.EMFILE"),
		       "out of fds while reading procfs (fdinfo, mountinfo): System.Error.EMFILE, not UnsupportedFileSystem (%s)", n);
	}
	{
		/* Every fd budget, from none to enough: running out anywhere
		 * in the vetting (procfs, the file's inspection, the
		 * bad-block list) is "try again", never a verdict on the file;
		 * once it passes, a bigger budget passes too; and no budget
		 * leaks an fd. A regular file of 8 KiB in the test's
		 * directory. */
		char tmpl[] = "test-vet-fds-XXXXXX", verdict[256] = "";
		int ffd = mkostemp(tmpl, O_CLOEXEC), lowest = -1, after = -1;
		int emfile = 0, okay = 0, k;
		struct rlimit rl;

		if (ffd >= 0)
			lowest = fcntl(ffd, F_DUPFD_CLOEXEC, 0);
		if (lowest >= 0)
			close(lowest);
		if (ffd < 0 || lowest < 0 || ftruncate(ffd, 8192) < 0 ||
		    getrlimit(RLIMIT_NOFILE, &rl) < 0 ||
		    (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)lowest + 48)) {
			tap_skip("no temporary file, or a hard fd limit too low for 48 spare fds",
				 "a file vetted with 0 to 48 spare fds");
		} else {
			for (k = 0; k <= 48 && !verdict[0]; k++) {
				struct rlimit lim = { .rlim_cur = (rlim_t)(lowest + k), .rlim_max = rl.rlim_max };
				const char *n;

				if (setrlimit(RLIMIT_NOFILE, &lim) < 0) {
					snprintf(verdict, sizeof(verdict), "setrlimit: %s", strerror(errno));
					break;
				}
				n = call(ffd, 0, 4096, "*");
				setrlimit(RLIMIT_NOFILE, &rl);
				if (streq(n, "System.Error.EMFILE") && !okay)
					emfile++;
				else if (streq(n, "ok"))
					okay++;
				else
					snprintf(verdict, sizeof(verdict), "%s with %d spare fds%s", n, k,
						 okay ? ", after it had passed" : "");
			}
			after = fcntl(ffd, F_DUPFD_CLOEXEC, 0);
			if (after >= 0)
				close(after);
			tap_ok(!verdict[0] && emfile > 0 && okay > 0 && after == lowest,
			       "a file vetted with 0 to 48 spare fds: System.Error.EMFILE (%d budgets) until it passes (%d), never a verdict on the file, no fd left open (lowest free fd %d, then %d)%s%s",
			       emfile, okay, lowest, after, verdict[0] ? ": " : "", verdict);
		}
		if (ffd >= 0) {
			unlink(tmpl);
			close(ffd);
		}
	}
	{
		const char *n = call(fd, 0, 4096, "sysfs proc");

		tap_ok(!streq(n, DXM_ERROR_UNSUPPORTED_FS),
		       "proc with AllowFileSystems=sysfs proc: past the type (vet_call: %s)", n);
	}
	tap_ok(streq(precheck(fd, 0, 4096, true), DXM_ERROR_BAD_FILE),
	       "the access mode comes before the file system");
	tap_ok(streq(precheck(fd, 0, 0, false), DXM_ERROR_INVALID_RANGE) &&
	       streq(precheck(fd, 100, 4096, false), DXM_ERROR_INVALID_RANGE) &&
	       streq(precheck(fd, UINT64_MAX & ~4095ULL, 8192, false),
		     DXM_ERROR_INVALID_RANGE), "precheck: empty, unaligned, overflowing ranges");
	if (fd >= 0)
		close(fd);
	if (pipe2(pipefd, O_CLOEXEC) == 0) {
		VetMount m;

		tap_ok(vet_fd_mount(pipefd[0], getpid(), -1, &m) == -ENOENT,
		       "a pipe is on no mount anyone lists: -ENOENT");
		tap_ok(streq(precheck(pipefd[0], 0, 4096, false), DXM_ERROR_UNSUPPORTED_FS),
		       "a pipe: UnsupportedFileSystem on the loop");
		tap_ok(streq(call(pipefd[0], 0, 4096, "*"), DXM_ERROR_UNSUPPORTED_FS),
		       "a pipe: UnsupportedFileSystem on the thread even with AllowFileSystems=*");
		close(pipefd[0]);
		close(pipefd[1]);
	}
	fd = epoll_create1(EPOLL_CLOEXEC);
	{
		VetMount m;

		tap_ok(fd >= 0 && vet_fd_mount(fd, getpid(), -1, &m) == -ENOENT &&
		       streq(precheck(fd, 0, 4096, false), DXM_ERROR_UNSUPPORTED_FS),
		       "an epoll fd (an anonymous inode): -ENOENT, UnsupportedFileSystem");
	}
	if (fd >= 0)
		close(fd);
	tap_ok(streq(precheck(-1, 0, 4096, false), DXM_ERROR_BAD_FILE), "precheck: fd -1");
}

int main(void)
{
	char path[] = "/tmp/test-daemon-vet-XXXXXX";
	VetReport rep;
	int fd, ro, wo, op;

	tap_ok(vet_range(0, 4096, 4096) == 0, "range: one page");
	tap_ok(vet_range(4096, 4096, 8192) == 0, "range: last page");
	tap_ok(vet_range(0, 0, 4096) == -EINVAL, "range: empty");
	tap_ok(vet_range(1, 4096, 8192) == -EINVAL, "range: unaligned offset");
	tap_ok(vet_range(0, 100, 8192) == -EINVAL, "range: unaligned length");
	tap_ok(vet_range(4096, 4096, 4096) == -EINVAL, "range: past the end");
	tap_ok(vet_range(0, 8192, 4097) == 0, "range: the partial last page");
	tap_ok(vet_range(0, 8192, 4096) == -EINVAL, "range: a page past a page-sized file");
	tap_ok(vet_range(UINT64_MAX & ~4095ULL, 4096, UINT64_MAX) == -EINVAL, "range: overflow");
	tap_ok(vet_access_mode(O_RDONLY, false) == 0, "mode: ro for read");
	tap_ok(vet_access_mode(O_RDONLY, true) == -EBADF, "mode: ro for write");
	tap_ok(vet_access_mode(O_RDWR, true) == 0, "mode: rw for write");
	tap_ok(vet_access_mode(O_WRONLY, false) == -EBADF, "mode: wo for read");
	tap_ok(vet_access_mode(O_PATH, false) == -EBADF, "mode: O_PATH");

	fs_cases();

	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 16384) < 0) {
		tap_diag("no temporary file: the file cases are left out");
		return tap_done();
	}
	ro = open(path, O_RDONLY | O_CLOEXEC);
	wo = open(path, O_WRONLY | O_CLOEXEC);
	op = open(path, O_PATH | O_CLOEXEC);

	tap_ok(streq(vet(fd, 0, 16384, true, true, &rep), "ok") && !rep.dax &&
	       strcmp(rep.path, path) == 0, "a tmp file with PageCache passes (%s)", rep.path);
	tap_ok(streq(vet(fd, 0, 16384, false, false, &rep),
		     DXM_ERROR_NOT_DAX) || rep.dax, "not DAX without PageCache: NotDax");
	tap_ok(streq(vet(ro, 0, 4096, true, true, &rep), DXM_ERROR_BAD_FILE),
	       "read-only fd for Write: BadFile");
	tap_ok(streq(vet(ro, 0, 4096, false, true, &rep), "ok"), "read-only fd for reading");
	tap_ok(streq(vet(wo, 0, 4096, false, true, &rep), DXM_ERROR_BAD_FILE), "O_WRONLY: BadFile");
	tap_ok(streq(vet(op, 0, 4096, false, true, &rep), DXM_ERROR_BAD_FILE), "O_PATH: BadFile");
	tap_ok(streq(vet(-1, 0, 4096, false, true, &rep), DXM_ERROR_BAD_FILE), "fd -1: BadFile");
	{
		int dir = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		tap_ok(streq(vet(dir, 0, 4096, false, true, &rep), DXM_ERROR_BAD_FILE),
		       "a directory: BadFile");
		close(dir);
	}
	{
		/* A FIFO is 0 bytes long: BadFile for what it is, before
		 * InvalidRange for its size. */
		char fifo[sizeof(path) + 8];
		int ff = -1;

		snprintf(fifo, sizeof(fifo), "%s.fifo", path);
		if (mkfifo(fifo, 0600) == 0)
			ff = open(fifo, O_RDWR | O_CLOEXEC);
		tap_ok(ff >= 0 && streq(vet(ff, 0, 4096, false, true, &rep), DXM_ERROR_BAD_FILE),
		       "a FIFO: BadFile (not a regular file), not InvalidRange");
		if (ff >= 0)
			close(ff);
		unlink(fifo);
	}
	tap_ok(streq(vet(fd, 0, 0, false, true, &rep), DXM_ERROR_INVALID_RANGE), "length 0");
	tap_ok(streq(vet(fd, 512, 4096, false, true, &rep), DXM_ERROR_INVALID_RANGE), "unaligned");
	tap_ok(streq(vet(fd, 0, 20480, false, true, &rep), DXM_ERROR_INVALID_RANGE), "past EOF");
	tap_ok(streq(vet(fd, UINT64_MAX & ~4095ULL, 4096, false, true, &rep),
		     DXM_ERROR_INVALID_RANGE), "offset + length overflows");

	/* The per-device cache: the second file on the same device and with
	 * the same access mode asks libpmem2 nothing, and answers the same;
	 * another access mode is another entry; per-file checks still run. */
	{
		VetCache cache = VET_CACHE_INIT;
		VetReport r1, r2;
		bool same;

		tap_ok(streq(vet_cached(&cache, fd, 0, 16384, true, true, &r1), "ok") &&
		       cache.misses == 1 && cache.hits == 0, "cache: first call asks libpmem2");
		same = streq(vet_cached(&cache, fd, 4096, 4096, true, true, &r2), "ok") &&
		       r2.dax == r1.dax && r2.granularity == r1.granularity &&
		       r2.numa_node == r1.numa_node;
		tap_ok(same && cache.hits == 1 && cache.misses == 1,
		       "cache: second call on the device is a hit with the same answer");
		tap_ok(streq(vet_cached(&cache, ro, 0, 4096, false, true, &r2), "ok") &&
		       cache.misses == 2, "cache: a read-only fd is another entry");
		tap_ok(streq(vet_cached(&cache, fd, 0, 20480, false, true, &r2),
			     DXM_ERROR_INVALID_RANGE) && cache.hits == 1,
		       "cache: the range is checked before the cache is asked");
		tap_ok(streq(vet_cached(&cache, fd, 0, 16384, false, false, &r2),
			     DXM_ERROR_NOT_DAX) || r2.dax,
		       "cache: a hit still refuses a non-DAX file without PageCache");
		cache.entries[0].expires_usec = 1;
		cache.entries[1].expires_usec = 1;
		tap_ok(streq(vet_cached(&cache, fd, 0, 4096, true, true, &r2), "ok") &&
		       cache.misses == 3, "cache: an expired entry is asked again");
	}

	{
		VetMount m;

		tap_ok(streq(precheck(fd, 0, 16384, true), "ok") && vet_fd_mount(fd, 0, -1, &m) == 0,
		       "the temporary file passes the precheck; its file system: %s", m.type);
		tap_ok(streq(call(fd, 0, 16384, NULL),
			     vet_mount_allowed(&m, NULL, NULL) ? "ok" : DXM_ERROR_UNSUPPORTED_FS),
		       "vet_call of the temporary file follows vet_mount_allowed(%s)", m.type);
	}
	close(op);
	close(wo);
	close(ro);
	close(fd);
	unlink(path);
	return tap_done();
}
