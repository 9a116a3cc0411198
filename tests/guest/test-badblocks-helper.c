/* test-badblocks-helper.c - built as badblocks-helper, the C side of
 * tests/guest/test-badblocks: where a file's byte lies on its disk, and
 * what the module (no broker) and the CPU do with a DAX page on a bad
 * block. Output is "key=value" lines on stdout for the script to assert
 * on; diagnostics go to stderr. Exit status: 0 done (the values say how it
 * went), 1 a setup step failed, 2 usage.
 *
 *   badblocks-helper locate FILE OFFSET
 *	FIEMAP the byte at OFFSET: sector= (its 512-byte sector counted from
 *	the start of the disk, partition start added), list= (the sysfs
 *	badblocks file of that disk), extent_flags=.
 *
 *   badblocks-helper module FILE BADOFF
 *	Mirror all of FILE (a session on /dev/daxmirror, a write grant, a
 *	MAP_SHARED mapping) and try the page at BADOFF and its neighbours:
 *	pread, device READ/WRITE (the errno and the bytes done), FAULT,
 *	SNAPSHOT, a CPU load through the mapping, and kernel log splats.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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

#include "dmt.h"
#include "module-state.h"

static const char *rname(long r)
{
	return r == 0 ? "0" : r < 0 ? tap_errname((int)-r) : "positive";
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end ? -EINVAL : 0;
}

static int cmd_locate(const char *path, uint64_t off)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[1];
	} q;
	char sys[128], buf[32];
	uint64_t start = 0;
	struct stat st;
	FILE *f;

	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		return 1;
	}
	memset(&q, 0, sizeof(q));
	q.fm.fm_start = off;
	q.fm.fm_length = 1;
	q.fm.fm_flags = FIEMAP_FLAG_SYNC;
	q.fm.fm_extent_count = 1;
	if (ioctl(fd, FS_IOC_FIEMAP, &q.fm) < 0) {
		perror("FS_IOC_FIEMAP");
		return 1;
	}
	if (q.fm.fm_mapped_extents != 1 || q.ext[0].fe_logical > off ||
	    q.ext[0].fe_logical + q.ext[0].fe_length <= off ||
	    q.ext[0].fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC)) {
		fprintf(stderr, "offset %" PRIu64 " of %s is not allocated\n", off, path);
		return 1;
	}
	/* A partition's sectors count from its disk's start. */
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/start", major(st.st_dev),
		 minor(st.st_dev));
	f = fopen(sys, "re");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			start = strtoull(buf, NULL, 10);
		fclose(f);
	}
	dmt_kv("dev", "%u:%u", major(st.st_dev), minor(st.st_dev));
	dmt_kv("sector", "%" PRIu64,
	   start + (uint64_t)(q.ext[0].fe_physical + (off - q.ext[0].fe_logical)) / 512);
	dmt_kv("list", "/sys/dev/block/%u:%u/%sbadblocks", major(st.st_dev),
	   minor(st.st_dev), f ? "../" : "");
	dmt_kv("extent_flags", "0x%x", q.ext[0].fe_flags);
	return 0;
}

/* One device READ or WRITE ioctl: the errno name and the bytes done. */
static void dev_rw(int sfd, const char *what, bool write, const uint8_t *addr,
		   void *buf, size_t len)
{
	struct daxmirror_rw a = {
		.addr = (uintptr_t)addr,
		.length = len,
		.buf = (uintptr_t)buf,
	};
	char key[64];
	long r;

	r = dmt_ioctl(sfd, write ? DAXMIRROR_IOC_WRITE : DAXMIRROR_IOC_READ, &a);
	dmt_kv(what, "%s", rname(r));
	snprintf(key, sizeof(key), "%s_done", what);
	dmt_kv(key, "%" PRIu64, (uint64_t)a.done);
}

static sigjmp_buf cpu_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(cpu_jmp, 1);
}

/* A CPU load of @p: "ok" or "SIGBUS". */
static const char *cpu_load(const volatile uint8_t *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	const char *res = "ok";

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(cpu_jmp, 1) == 0)
		(void)*p;
	else
		res = "SIGBUS";
	sigaction(SIGBUS, &old, NULL);
	return res;
}

/* pread of one page: its errno name, the page compared with @want. */
static void pread_page(int fd, const char *what, uint64_t off, const uint8_t *want)
{
	uint8_t buf[DMT_PAGE];
	char key[64];
	ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);

	dmt_kv(what, "%s", n == (ssize_t)sizeof(buf) ? "0" : n < 0 ? tap_errname(errno) : "short");
	if (want && n == (ssize_t)sizeof(buf)) {
		snprintf(key, sizeof(key), "%s_data", what);
		dmt_kv(key, "%s", memcmp(buf, want, sizeof(buf)) ? "MISMATCH" : "identical");
	}
}

static int cmd_module(const char *path, uint64_t bad)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	static uint8_t before[DMT_PAGE], after[DMT_PAGE], buf[3 * DMT_PAGE];
	char marker[64];
	struct dmt_snap sn;
	struct stat st;
	uint64_t mid = 0;
	uint8_t *p;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		return 1;
	}
	if (bad % DMT_PAGE || bad < DMT_PAGE || bad + 2 * DMT_PAGE > (uint64_t)st.st_size) {
		fprintf(stderr, "BADOFF must be a page inside the file, not the first or last\n");
		return 2;
	}
	snprintf(marker, sizeof(marker), "badblocks-helper %d", (int)getpid());
	dmt_kmsg_mark(marker);

	/* The neighbours as the file system reads them, for comparison. */
	if (dmt_pread_full(fd, before, DMT_PAGE, (off_t)(bad - DMT_PAGE)) < 0 ||
	    dmt_pread_full(fd, after, DMT_PAGE, (off_t)(bad + DMT_PAGE)) < 0) {
		perror("pread of the neighbour pages");
		return 1;
	}
	pread_page(fd, "pread_bad", bad, NULL);
	pread_page(fd, "pread_before", bad - DMT_PAGE, before);

	r = dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_WRITE, 0, 1ULL << 20, true);
	if (r == 0)
		r = dmt_grant(s.ctl, s.id, fd, DAXMIRROR_GRANT_WRITE, 0, (uint64_t)st.st_size);
	if (r == 0)
		r = dmt_map_file(&m, (size_t)st.st_size, DMT_2M, PROT_READ | PROT_WRITE, fd, 0,
				 true);
	if (r == 0)
		r = dmt_mirror_add(s.sfd, m.addr, (size_t)st.st_size, DAXMIRROR_MIRROR_WRITE,
				   &mid);
	dmt_kv("mirror", "%s", rname(r));
	if (r < 0)
		return 1;
	p = m.addr;

	/* Device side first: the CPU has not faulted any of it yet. */
	dev_rw(s.sfd, "read_span", false, p + bad - DMT_PAGE, buf, sizeof(buf));
	dmt_kv("read_span_head", "%s", memcmp(buf, before, DMT_PAGE) ? "MISMATCH" : "identical");
	dev_rw(s.sfd, "read_bad", false, p + bad, buf, DMT_PAGE);
	dev_rw(s.sfd, "read_bad_tail", false, p + bad + DMT_PAGE - 8, buf, 8);
	dev_rw(s.sfd, "read_after", false, p + bad + DMT_PAGE, buf, DMT_PAGE);
	dmt_kv("read_after_data", "%s", memcmp(buf, after, DMT_PAGE) ? "MISMATCH" : "identical");
	memset(buf, 0xb5, sizeof(buf));
	dev_rw(s.sfd, "write_bad", true, p + bad, buf, DMT_PAGE);
	dmt_kv("fault_bad", "%s", rname(dmt_fault(s.sfd, p + bad, DMT_PAGE, 0)));
	dmt_kv("fault_bad_write", "%s",
	   rname(dmt_fault(s.sfd, p + bad, DMT_PAGE, DAXMIRROR_FAULT_WRITE)));
	r = dmt_snap_summary(s.sfd, p + bad, DMT_PAGE, &sn);
	dmt_kv("snap_bad", "%s", r < 0 ? rname(r) : sn.none == 1 ? "none" : "mapped");
	r = dmt_snap_summary(s.sfd, p + bad - DMT_PAGE, DMT_PAGE, &sn);
	dmt_kv("snap_before", "%s", r < 0 ? rname(r) : sn.none == 1 ? "none" : "mapped");
	/* A device write next to the bad page lands in the file. */
	memset(buf, 0x3c, DMT_PAGE);
	dev_rw(s.sfd, "write_after", true, p + bad + DMT_PAGE, buf, DMT_PAGE);
	pread_page(fd, "pread_after", bad + DMT_PAGE, buf);

	/* The CPU, through the same mapping. */
	dmt_kv("cpu_bad", "%s", cpu_load(p + bad + 100));
	dmt_kv("cpu_before", "%s", cpu_load(p + bad - 1));

	/* The session is still usable after all that. */
	dev_rw(s.sfd, "read_before_again", false, p + bad - DMT_PAGE, buf, DMT_PAGE);
	r = dmt_mirror_remove(s.sfd, mid);
	dmt_kv("mirror_remove", "%s", rname(r));
	dmt_unmap(&m);
	dmt_session_close(&s);
	r = dmt_kmsg_splats(marker);
	dmt_kv("kmsg_splats", "%d", r);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t off;

	if (argc == 4 && !strcmp(argv[1], "locate") && !parse_u64(argv[3], &off))
		return cmd_locate(argv[2], off);
	if (argc == 4 && !strcmp(argv[1], "module") && !parse_u64(argv[3], &off))
		return cmd_module(argv[2], off);
	fprintf(stderr, "usage: badblocks-helper locate FILE OFFSET | module FILE BADOFF\n");
	return 2;
}
