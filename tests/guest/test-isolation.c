/* test-isolation.c - what one party cannot reach through the
 * module, each attempt a TAP result with the errno the ABI promises.
 *
 *  - an unprivileged process (uid 65534) cannot open /dev/daxmirror;
 *  - a session fd passed (SCM_RIGHTS) to another process, even one that
 *    maps memory of its own at the same addresses, cannot reach the binding
 *    process's memory: READ, WRITE, MIRROR_ADD, FAULT and BIND are EBUSY,
 *    SESSION_INFO is allowed;
 *  - a file that was not granted cannot be mirrored (EACCES), nor a range of
 *    a granted file outside the grant, nor writably under a read grant;
 *  - GRANT_FILE of an O_PATH fd, and a write grant of a read-only fd, are
 *    EBADF;
 *  - a mirror whose addresses are re-mapped with another, ungranted file
 *    (after munmap, or MAP_FIXED over part of it) or with anonymous memory
 *    the session may not mirror never lets the device read the new memory:
 *    the read fails and the buffer never holds the other file's bytes;
 *  - a mirror holds one file at offsets that follow its addresses, or
 *    anonymous memory: MIRROR_ADD over two granted files, a file at other
 *    offsets, or anonymous and file memory, and FAULT of a page re-mapped
 *    with other granted memory, are EXDEV; so UNGRANT of a file no mirror
 *    was added over succeeds and leaves the device nothing of it; and
 *    "another file" is another inode, even when a FUSE server gives two
 *    files one (st_dev, st_ino);
 *  - after fork, device writes through writable entries made before it do
 *    not reach the child's copy-on-write copy, nor the child's stores the
 *    parent.
 *
 * Runs in the guest as root (tools/vm). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt.h"

#define SEED_A	0xA11CEULL
#define SEED_B	0xB0BULL
#define NPG	4

/* --- unprivileged open ------------------------------------------------ */

static int child_open_unpriv(int sock, void *arg)
{
	int r, fd;

	(void)arg;
	r = dmt_drop_privileges(DMT_NOBODY, DMT_NOBODY);
	if (r < 0)
		return dmt_send_i64(sock, 1000 - r) < 0 ? 1 : 0;
	fd = open(DMT_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	dmt_send_i64(sock, fd < 0 ? errno : 0);
	return 0;
}

static void g_unpriv(const void *arg)
{
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	int64_t v = -1;

	(void)arg;
	if (dmt_child_start(&c, child_open_unpriv, NULL) < 0 ||
	    dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS) < 0) {
		tap_fail_rest("child failed");
		return;
	}
	if (v >= 1000)
		tap_diag("dropping privileges: %s", tap_errname((int)(v - 1000)));
	tap_ok(v == EACCES, "uid 65534 opens %s -> EACCES (got %s)", DMT_CONTROL_PATH,
	       v ? tap_errname((int)v) : "success");
	dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);
}

/* --- a session fd in another process -------------------------------------- */

struct passed {
	uintptr_t addr;		/* the binding process's mirrored memory */
	uint64_t id;
};

enum { P_READ, P_WRITE, P_ADD, P_FAULT, P_BIND, P_INFO, P_LEAK, P_N };

static int child_use_passed(int sock, void *arg)
{
	const struct passed *p = arg;
	int64_t res[P_N], v;
	uint8_t buf[NPG * DMT_PAGE];
	struct daxmirror_session_info info;
	void *mine;
	int sfd;

	sfd = dmt_recv_fd(sock, &v, DMT_CHILD_TIMEOUT_MS);
	if (sfd < 0)
		return 1;
	dmt_drop_privileges(DMT_NOBODY, DMT_NOBODY);
	/* Memory of our own at the very same addresses, with other bytes. */
	/* fork() copied the parent's mapping: replace it. */
	mine = mmap((void *)p->addr, NPG * DMT_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (mine == (void *)p->addr)
		memset(mine, 0x33, NPG * DMT_PAGE);
	memset(buf, 0, sizeof(buf));
	res[P_READ] = -dmt_dev_read(sfd, (void *)p->addr, buf, sizeof(buf));
	res[P_LEAK] = dmt_pattern_check(buf, sizeof(buf), SEED_A, 0) < 0 ||
		      !dmt_all_bytes(buf, sizeof(buf), 0);
	res[P_WRITE] = -dmt_dev_write(sfd, (void *)p->addr, buf, DMT_PAGE);
	res[P_ADD] = -dmt_mirror_add(sfd, (void *)p->addr, NPG * DMT_PAGE, 0, NULL);
	res[P_FAULT] = -dmt_fault(sfd, (void *)p->addr, DMT_PAGE, 0);
	res[P_BIND] = -dmt_bind(sfd);
	res[P_INFO] = -dmt_session_info(sfd, 0, &info);
	if (!res[P_INFO] && info.session_id != p->id)
		res[P_INFO] = 9999;
	for (int i = 0; i < P_N; i++)
		if (dmt_send_i64(sock, res[i]) < 0)
			return 1;
	return 0;
}

static void g_passed(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	static const char *const what[] = {
		[P_READ] = "READ", [P_WRITE] = "WRITE", [P_ADD] = "MIRROR_ADD",
		[P_FAULT] = "FAULT", [P_BIND] = "BIND",
	};
	struct passed p;
	int64_t res[P_N];

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, NPG * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, NPG * DMT_PAGE, DAXMIRROR_MIRROR_WRITE, NULL) < 0) {
		tap_fail_rest("setup: %s", strerror(errno));
		return;
	}
	dmt_pattern_fill(m.addr, NPG * DMT_PAGE, SEED_A, 0);
	p.addr = (uintptr_t)m.addr;
	p.id = s.id;
	if (dmt_child_start(&c, child_use_passed, &p) < 0 ||
	    dmt_send_fd(c.sock, s.sfd, 0) < 0) {
		tap_fail_rest("child: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < P_N; i++)
		if (dmt_recv_i64(c.sock, &res[i], DMT_CHILD_TIMEOUT_MS) < 0) {
			tap_fail_rest("the child did not answer");
			return;
		}
	for (int i = P_READ; i <= P_BIND; i++)
		tap_errno(-res[i], EBUSY, "a session fd passed to another process (uid 65534, "
			  "own memory at the same addresses): %s -> EBUSY", what[i]);
	tap_ok(res[P_INFO] == 0, "... SESSION_INFO of it is allowed and names the session (%s)",
	       res[P_INFO] == 9999 ? "wrong id" : res[P_INFO] ? tap_errname((int)res[P_INFO]) : "ok");
	tap_ok(res[P_LEAK] == 0, "... none of the binding process's bytes reached its buffer");
	dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);
	/* And the owner still reads its own memory. */
	{
		uint8_t buf[DMT_PAGE];
		int r = dmt_dev_read(s.sfd, m.addr, buf, sizeof(buf));

		tap_ok(r == 0 && dmt_pattern_check(buf, sizeof(buf), SEED_A, 0) < 0,
		       "the binding process still reads its memory through the device (%s)",
		       tap_errname(-r));
	}
}

/* --- grants -------------------------------------------------------------- */

struct files {
	const char *dir;
};

static void g_grants(const void *arg)
{
	const struct files *fl = arg;
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file a = DMT_FILE_INIT;
	_cleanup_file_ struct dmt_file b = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map ma = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map mb = DMT_MAP_INIT;
	_cleanup_close_ int opath = -1;
	_cleanup_close_ int ro = -1;
	const size_t len = NPG * DMT_PAGE;

	if (!fl->dir) {
		tap_skip_rest("no DAX file system (%s)", DMT_ENV_EXT4_DAX);
		return;
	}
	if (dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_WRITE, 0, 0, true) < 0 ||
	    dmt_file_create(&a, fl->dir, "iso-a", len, SEED_A) < 0 ||
	    dmt_file_create(&b, fl->dir, "iso-b", len, SEED_B) < 0 ||
	    dmt_map_file(&ma, len, 0, PROT_READ | PROT_WRITE, a.fd, 0, false) < 0 ||
	    dmt_map_file(&mb, len, 0, PROT_READ | PROT_WRITE, b.fd, 0, false) < 0) {
		tap_fail_rest("setup: %s", strerror(errno));
		return;
	}
	opath = open(a.path, O_PATH | O_CLOEXEC);
	ro = open(a.path, O_RDONLY | O_CLOEXEC);

	tap_errno(dmt_mirror_add(s.sfd, ma.addr, len, 0, NULL), EACCES,
		  "MIRROR_ADD of a file nothing was granted of -> EACCES");
	tap_errno(dmt_grant(s.ctl, s.id, opath, 0, 0, len), EBADF,
		  "GRANT_FILE of an O_PATH fd -> EBADF");
	tap_errno(dmt_grant(s.ctl, s.id, ro, DAXMIRROR_GRANT_WRITE, 0, len), EBADF,
		  "write GRANT_FILE of a read-only fd -> EBADF");
	tap_success(dmt_grant(s.ctl, s.id, ro, 0, 0, DMT_PAGE),
		    "read GRANT_FILE of the read-only fd, first page only");
	tap_errno(dmt_mirror_add(s.sfd, mb.addr, DMT_PAGE, 0, NULL), EACCES,
		  "MIRROR_ADD of another file (same size, not granted) -> EACCES");
	tap_errno(dmt_mirror_add(s.sfd, (uint8_t *)ma.addr + DMT_PAGE, DMT_PAGE, 0, NULL), EACCES,
		  "MIRROR_ADD of the granted file outside the granted range -> EACCES");
	tap_errno(dmt_mirror_add(s.sfd, ma.addr, DMT_PAGE, DAXMIRROR_MIRROR_WRITE, NULL), EACCES,
		  "writable MIRROR_ADD under a read-only grant -> EACCES");
	tap_success(dmt_mirror_add(s.sfd, ma.addr, DMT_PAGE, 0, NULL),
		    "read-only MIRROR_ADD of the granted page");
}

/* --- re-mapped mirrors ------------------------------------------------------ */

/* A device read of @len bytes at @addr must fail with one of the policy
 * errors and must not return any byte of file B. */
static void check_no_b(int sfd, const void *addr, size_t len, const char *what)
{
	_cleanup_free_ uint8_t *buf = calloc(1, len);
	int r;
	bool leak;

	if (!buf) {
		tap_fail_rest("out of memory");
		return;
	}
	r = dmt_dev_read(sfd, addr, buf, len);
	leak = dmt_pattern_check(buf, len, SEED_B, 0) < 0;
	for (size_t o = 0; !leak && o + 16 <= len; o += DMT_PAGE)
		leak = dmt_pattern_check(buf + o, 16, SEED_B, o % len) < 0;
	tap_ok(r == -EACCES || r == -EFAULT || r == -ENOENT,
	       "%s: device READ -> EACCES/EFAULT/ENOENT (got %s)", what,
	       r ? tap_errname(-r) : "success");
	tap_ok(!leak, "%s: no byte of the other file reached the buffer", what);
}

static void g_remap(const void *arg)
{
	const struct files *fl = arg;
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file a = DMT_FILE_INIT;
	_cleanup_file_ struct dmt_file b = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	const size_t len = NPG * DMT_PAGE;
	uint8_t buf[DMT_PAGE];
	uint8_t *p;
	uint64_t id;
	int r;

	if (!fl->dir) {
		tap_skip_rest("no DAX file system (%s)", DMT_ENV_EXT4_DAX);
		return;
	}
	if (dmt_session_open(&s, 0, 0, 0, true) < 0 ||
	    dmt_file_create(&a, fl->dir, "remap-a", len, SEED_A) < 0 ||
	    dmt_file_create(&b, fl->dir, "remap-b", len, SEED_B) < 0 ||
	    dmt_grant(s.ctl, s.id, a.fd, 0, 0, len) < 0 ||
	    dmt_map_file(&m, len, 0, PROT_READ, a.fd, 0, false) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, len, 0, &id) < 0) {
		tap_fail_rest("setup: %s", strerror(errno));
		return;
	}
	p = m.addr;
	r = dmt_dev_read(s.sfd, p, buf, sizeof(buf));
	tap_ok(r == 0 && dmt_pattern_check(buf, sizeof(buf), SEED_A, 0) < 0,
	       "the device reads file A through the mirror (%s)", tap_errname(-r));

	/* Part of the mirror re-mapped: page 1 now maps file B (never granted). */
	if (mmap(p + DMT_PAGE, DMT_PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, b.fd, 0) != p + DMT_PAGE) {
		tap_fail_rest("mmap B over page 1: %s", strerror(errno));
		return;
	}
	check_no_b(s.sfd, p + DMT_PAGE, DMT_PAGE, "page 1 re-mapped with an ungranted file");
	r = dmt_dev_read(s.sfd, p, buf, sizeof(buf));
	tap_ok(r == 0 && dmt_pattern_check(buf, sizeof(buf), SEED_A, 0) < 0,
	       "page 0 (still file A) reads A (%s)", tap_errname(-r));

	/* Page 2 re-mapped with anonymous memory the session may not mirror. */
	if (mmap(p + 2 * DMT_PAGE, DMT_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p + 2 * DMT_PAGE) {
		tap_fail_rest("mmap anon over page 2: %s", strerror(errno));
		return;
	}
	memset(p + 2 * DMT_PAGE, 0x77, DMT_PAGE);
	memset(buf, 0, sizeof(buf));
	r = dmt_dev_read(s.sfd, p + 2 * DMT_PAGE, buf, sizeof(buf));
	tap_ok((r == -EPERM || r == -EACCES || r == -EFAULT) && !memchr(buf, 0x77, sizeof(buf)),
	       "page 2 re-mapped anonymous (no ALLOW_ANON): READ -> EPERM, no byte of it (got %s)",
	       r ? tap_errname(-r) : "success");

	/* The whole mirror unmapped, file B mapped at the same addresses. */
	munmap(p, len);
	if (mmap(p, len, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, b.fd, 0) != p) {
		m.addr = NULL;
		tap_fail_rest("mmap B at the old addresses: %s", strerror(errno));
		return;
	}
	check_no_b(s.sfd, p, len, "the mirror unmapped, file B mapped at its addresses");
	tap_errno(dmt_mirror_add(s.sfd, p, len, 0, NULL), EACCES,
		  "and MIRROR_ADD of file B there -> EACCES");
}

/* --- a mirror holds one file ---------------------------------------------- */

/* mmap() @len bytes of @fd at @off over @addr (MAP_FIXED); 0 or -errno. */
static int map_over(void *addr, size_t len, int fd, off_t off)
{
	if (fd < 0)
		return mmap(addr, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == addr ? 0 : -errno;
	return mmap(addr, len, PROT_READ, MAP_SHARED | MAP_FIXED, fd, off) == addr ? 0 : -errno;
}

/* A device READ of one page at @addr fails with @want and returns no
 * byte of pattern @seed at file offset @off. */
static void check_refused(int sfd, const void *addr, uint64_t seed, uint64_t off,
			  int want, const char *what)
{
	uint8_t buf[DMT_PAGE];
	int r;

	memset(buf, 0, sizeof(buf));
	r = dmt_dev_read(sfd, addr, buf, sizeof(buf));
	tap_ok(r == -want && dmt_pattern_check(buf, 16, seed, off) >= 0,
	       "%s: device READ -> %s, no byte of it (got %s)", what, tap_errname(want),
	       r ? tap_errname(-r) : "success");
}

/* MIRROR_ADD of [@addr, +@len) is EXDEV; a mirror made anyway is removed,
 * so that what follows is tested on its own. */
static void check_add_refused(int sfd, void *addr, size_t len, const char *what)
{
	uint64_t id;
	int r = dmt_mirror_add(sfd, addr, len, 0, &id);

	tap_errno(r, EXDEV, "MIRROR_ADD over %s -> EXDEV", what);
	if (r >= 0)
		dmt_mirror_remove(sfd, id);
}

/*
 * UNGRANT promises that once it succeeds the device holds nothing of the
 * file range. It looks at each mirror's file (MIRROR_LIST's dev, ino,
 * file_offset), so a mirror must never hold any other memory: one over two
 * granted files, or over its file at offsets that do not follow, or one
 * whose pages the client re-mapped with another granted file, would keep
 * device entries of a file UNGRANT says is free.
 */
static void g_one_file(const void *arg)
{
	const struct files *fl = arg;
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file a = DMT_FILE_INIT;
	_cleanup_file_ struct dmt_file b = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map area = DMT_MAP_INIT;
	const size_t len = NPG * DMT_PAGE;
	_cleanup_free_ uint8_t *buf = malloc(2 * len);
	uint8_t *p;
	uint64_t id;
	int r;

	if (!fl->dir) {
		tap_skip_rest("no DAX file system (%s)", DMT_ENV_EXT4_DAX);
		return;
	}
	if (!buf || dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, true) < 0 ||
	    dmt_file_create(&a, fl->dir, "one-a", 2 * len, SEED_A) < 0 ||
	    dmt_file_create(&b, fl->dir, "one-b", 2 * len, SEED_B) < 0 ||
	    dmt_grant(s.ctl, s.id, a.fd, 0, 0, 2 * len) < 0 ||
	    dmt_grant(s.ctl, s.id, b.fd, 0, 0, 2 * len) < 0 ||
	    dmt_map_anon(&area, 2 * len, 0, PROT_NONE, 0) < 0) {
		tap_fail_rest("setup: %s", strerror(errno));
		return;
	}
	p = area.addr;

	/* Two granted files side by side. */
	if (map_over(p, len, a.fd, 0) < 0 || map_over(p + len, len, b.fd, 0) < 0) {
		tap_fail_rest("mmap A and B: %s", strerror(errno));
		return;
	}
	check_add_refused(s.sfd, p, 2 * len, "two granted files");
	/* File A twice, at offsets that do not follow the addresses. */
	if (map_over(p + len, len, a.fd, 0) < 0) {
		tap_fail_rest("mmap A again: %s", strerror(errno));
		return;
	}
	check_add_refused(s.sfd, p, 2 * len, "file A at offsets 0 and 0 again");
	/* Anonymous memory, then file A. */
	if (map_over(p, len, -1, 0) < 0 || map_over(p + len, len, a.fd, len) < 0) {
		tap_fail_rest("mmap anon and A: %s", strerror(errno));
		return;
	}
	check_add_refused(s.sfd, p, 2 * len, "anonymous memory and a granted file");

	/* File A in two VMAs at offsets that follow: one mirror. */
	if (map_over(p, len, a.fd, 0) < 0 || map_over(p + len, len, a.fd, len) < 0 ||
	    madvise(p + len, len, MADV_RANDOM) < 0) {
		tap_fail_rest("mmap A in two VMAs: %s", strerror(errno));
		return;
	}
	r = dmt_mirror_add(s.sfd, p, 2 * len, 0, &id);
	tap_success(r, "MIRROR_ADD over one file in two VMAs (split by madvise) is accepted");
	if (r < 0) {
		tap_fail_rest("no mirror");
		return;
	}
	r = dmt_dev_read(s.sfd, p, buf, 2 * len);
	tap_ok(r == 0 && dmt_pattern_check(buf, 2 * len, SEED_A, 0) < 0,
	       "the device reads all of file A through it (%s)", tap_errname(-r));

	/* Page 1 re-mapped with file B, which the session may mirror. */
	if (map_over(p + DMT_PAGE, DMT_PAGE, b.fd, DMT_PAGE) < 0) {
		tap_fail_rest("mmap B over page 1: %s", strerror(errno));
		return;
	}
	tap_errno(dmt_fault(s.sfd, p + DMT_PAGE, DMT_PAGE, 0), EXDEV,
		  "page 1 re-mapped with granted file B: FAULT -> EXDEV");
	check_refused(s.sfd, p + DMT_PAGE, SEED_B, DMT_PAGE, EXDEV, "page 1 re-mapped with file B");
	tap_success(dmt_ungrant(s.ctl, s.id, b.fd, 0, 0, 2 * len),
		    "UNGRANT of file B: no mirror holds it");
	check_refused(s.sfd, p + DMT_PAGE, SEED_B, DMT_PAGE, EACCES,
		      "after UNGRANT of file B (no grant now)");
	tap_errno(dmt_ungrant(s.ctl, s.id, a.fd, 0, 0, 2 * len), EBUSY,
		  "UNGRANT of file A, which the mirror holds -> EBUSY");
	/* Page 2 re-mapped with anonymous memory the session may mirror. */
	if (map_over(p + 2 * DMT_PAGE, DMT_PAGE, -1, 0) < 0) {
		tap_fail_rest("mmap anon over page 2: %s", strerror(errno));
		return;
	}
	memset(p + 2 * DMT_PAGE, 0x5a, DMT_PAGE);
	tap_errno(dmt_fault(s.sfd, p + 2 * DMT_PAGE, DMT_PAGE, 0), EXDEV,
		  "page 2 of a file mirror re-mapped anonymous (ALLOW_ANON): FAULT -> EXDEV");
	memset(buf, 0, DMT_PAGE);
	r = dmt_dev_read(s.sfd, p + 2 * DMT_PAGE, buf, DMT_PAGE);
	tap_ok(r == -EXDEV && !memchr(buf, 0x5a, DMT_PAGE),
	       "and its device READ -> EXDEV, no byte of it (got %s)",
	       r ? tap_errname(-r) : "success");
	r = dmt_dev_read(s.sfd, p, buf, DMT_PAGE);
	tap_ok(r == 0 && dmt_pattern_check(buf, DMT_PAGE, SEED_A, 0) < 0,
	       "page 0 (still file A) reads A (%s)", tap_errname(-r));
	tap_success(dmt_mirror_remove(s.sfd, id), "MIRROR_REMOVE");

	/* An anonymous mirror whose page 1 is re-mapped with file A. */
	if (map_over(p, len, -1, 0) < 0 || map_over(p + len, len, -1, 0) < 0) {
		tap_fail_rest("mmap anon: %s", strerror(errno));
		return;
	}
	r = dmt_mirror_add(s.sfd, p, len, 0, &id);
	if (r < 0 || map_over(p + DMT_PAGE, DMT_PAGE, a.fd, 0) < 0) {
		tap_fail_rest("anonymous mirror, then A over page 1: %s",
			      strerror(r < 0 ? -r : errno));
		return;
	}
	tap_errno(dmt_fault(s.sfd, p + DMT_PAGE, DMT_PAGE, 0), EXDEV,
		  "page 1 of an anonymous mirror re-mapped with granted file A: FAULT -> EXDEV");
	check_refused(s.sfd, p + DMT_PAGE, SEED_A, 0, EXDEV,
		      "page 1 of the anonymous mirror re-mapped with file A");
}

/* --- fork: copy-on-write pages are not shared through the device ------- */

static int child_cow(int sock, void *arg)
{
	uint8_t *p = arg;
	int64_t v;

	/* Tell the parent we are here, wait for its device write, then
	 * report whether our copy changed; then store to our copy. */
	if (dmt_send_i64(sock, 1) < 0 || dmt_recv_i64(sock, &v, DMT_CHILD_TIMEOUT_MS) < 0)
		return 1;
	v = dmt_pattern_check(p, NPG * DMT_PAGE, SEED_A, 0) < 0 ? 0 : 1;
	memset(p, 0x44, NPG * DMT_PAGE);
	return dmt_send_i64(sock, v) < 0 ? 1 : 0;
}

/*
 * Two files with one (st_dev, st_ino): tests/guest/fuse-stall --twin
 * serves "file" (zeros) and "twin" (0xab) under one inode number. The
 * mirror of "file" must not take "twin" re-mapped under it as its own
 * file. UNGRANT names a grant by those numbers, so it names the older
 * grant ("twin", granted first): that must not be refused for the mirror
 * of "file"; the next UNGRANT of the name is "file"'s grant: EBUSY.
 */
static void g_twin(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map area = DMT_MAP_INIT;
	struct dmt_fuse srv = DMT_FUSE_INIT;
	const size_t len = 2 * DMT_PAGE;
	uint8_t buf[2 * DMT_PAGE];
	char path[128];
	int fd = -1, tfd = -1, r;
	struct stat a, b;
	uint8_t *p;

	(void)arg;
	if (dmt_fuse_available() < 0) {
		tap_skip_rest("/dev/fuse missing (no fuse module)");
		return;
	}
	r = dmt_fuse_start(&srv, len, "--twin");
	if (r < 0) {
		tap_fail_rest("fuse-stall --twin did not mount: %s", strerror(-r));
		return;
	}
	snprintf(path, sizeof(path), "%s/file", srv.mnt);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/twin", srv.mnt);
	tfd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd >= 0 && tfd >= 0 && fstat(fd, &a) == 0 && fstat(tfd, &b) == 0 &&
	    pread(tfd, buf, 1, 0) == 1;
	if (!tap_ok(r && a.st_dev == b.st_dev && a.st_ino == b.st_ino && buf[0] == 0xab,
		    "a FUSE server's \"file\" and \"twin\": one (st_dev, st_ino), other bytes")) {
		tap_fail_rest("no twin files");
		goto out;
	}
	if (dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_PAGECACHE, 0, 0, true) < 0 ||
	    dmt_grant(s.ctl, s.id, tfd, 0, 0, len) < 0 ||
	    dmt_grant(s.ctl, s.id, fd, 0, 0, len) < 0 ||
	    dmt_map_anon(&area, len, 0, PROT_NONE, 0) < 0 ||
	    map_over(area.addr, len, fd, 0) < 0 ||
	    dmt_mirror_add(s.sfd, area.addr, len, 0, NULL) < 0) {
		tap_fail_rest("setup: %s", strerror(errno));
		goto out;
	}
	p = area.addr;
	memset(buf, 0x5a, sizeof(buf));
	r = dmt_dev_read(s.sfd, p, buf, len);
	tap_ok(r == 0 && dmt_all_bytes(buf, len, 0),
	       "the device reads \"file\" through its mirror: zeros (%s)", tap_errname(-r));

	/* Page 1 re-mapped with "twin" at the offset that follows. */
	if (map_over(p + DMT_PAGE, DMT_PAGE, tfd, DMT_PAGE) < 0) {
		tap_fail_rest("mmap twin over page 1: %s", strerror(errno));
		goto out;
	}
	tap_errno(dmt_fault(s.sfd, p + DMT_PAGE, DMT_PAGE, 0), EXDEV,
		  "page 1 re-mapped with \"twin\" (same st_dev and st_ino): FAULT -> EXDEV");
	memset(buf, 0, sizeof(buf));
	r = dmt_dev_read(s.sfd, p + DMT_PAGE, buf, DMT_PAGE);
	tap_ok(r == -EXDEV && !memchr(buf, 0xab, DMT_PAGE),
	       "and its device READ -> EXDEV, no byte of \"twin\" (got %s)",
	       r ? tap_errname(-r) : "success");
	tap_success(dmt_ungrant(s.ctl, s.id, tfd, 0, 0, len),
		    "UNGRANT of the shared name removes the older grant, \"twin\"'s: no mirror holds \"twin\" (the mirror of \"file\" does not count)");
	tap_errno(dmt_ungrant(s.ctl, s.id, fd, 0, 0, len), EBUSY,
		  "UNGRANT of the name again is \"file\"'s grant: EBUSY, its mirror holds page 0");
out:
	if (fd >= 0)
		close(fd);
	if (tfd >= 0)
		close(tfd);
	dmt_session_close(&s);
	dmt_unmap(&area);
	dmt_fuse_stop(&srv);
}

static void g_cow(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	_cleanup_free_ uint8_t *buf = malloc(NPG * DMT_PAGE);
	int64_t v = -1;
	int r;

	(void)arg;
	if (!buf ||
	    dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, NPG * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup: %s", strerror(errno));
		return;
	}
	dmt_pattern_fill(m.addr, NPG * DMT_PAGE, SEED_A, 0);
	if (dmt_mirror_add(s.sfd, m.addr, NPG * DMT_PAGE, DAXMIRROR_MIRROR_WRITE, NULL) < 0 ||
	    dmt_fault(s.sfd, m.addr, NPG * DMT_PAGE, DAXMIRROR_FAULT_WRITE) < 0 ||
	    dmt_child_start(&c, child_cow, m.addr) < 0 ||
	    dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS) < 0) {
		tap_fail_rest("setup: %s", strerror(errno));
		return;
	}
	/* Writable device entries existed before fork(): a device write now
	 * must land in the parent's own copy only. */
	memset(buf, 0x55, NPG * DMT_PAGE);
	r = dmt_dev_write(s.sfd, m.addr, buf, NPG * DMT_PAGE);
	if (r < 0)
		tap_diag("device WRITE after fork: %s", tap_errname(-r));
	if (dmt_send_i64(c.sock, 2) < 0 || dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS) < 0) {
		tap_fail_rest("the child did not answer");
		return;
	}
	tap_ok(v == 0, "after fork, a device WRITE of the parent's mirror does not reach the child's copy");
	dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);
	r = dmt_dev_read(s.sfd, m.addr, buf, NPG * DMT_PAGE);
	tap_ok(r == 0 && dmt_all_bytes(buf, NPG * DMT_PAGE, 0x55) &&
	       dmt_all_bytes(m.addr, NPG * DMT_PAGE, 0x55),
	       "the parent (CPU and device) sees its own write, not the child's stores (%s)",
	       tap_errname(-r));
}

int main(void)
{
	static struct files fl;
	const struct tap_group groups[] = {
		{ "unprivileged open", 1, g_unpriv, NULL },
		{ "passed session fd", 8, g_passed, NULL },
		{ "grants", 8, g_grants, &fl },
		{ "re-mapped mirror", 8, g_remap, &fl },
		{ "a mirror holds one file", 16, g_one_file, &fl },
		{ "two files, one inode number (FUSE)", 6, g_twin, NULL },
		{ "fork copy-on-write", 2, g_cow, NULL },
	};

	if (access(DMT_CONTROL_PATH, F_OK) < 0) {
		printf("1..0 # SKIP %s: %s\n", DMT_CONTROL_PATH, tap_errname(errno));
		return 77;
	}
	fl.dir = getenv(DMT_ENV_EXT4_DAX) ? dmt_env_dir(DMT_ENV_EXT4_DAX) : NULL;
	return tap_main(groups, ARRAY_SIZE(groups), 300);
}
