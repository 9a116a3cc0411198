/* test-failnth.c - every allocation and user copy an ioctl makes may fail
 * without harm. With the kernel's fault injection (failslab and
 * fail_usercopy driven by /proc/thread-self/fail-nth, as syzkaller uses
 * them; the debug kernel has them), each call is made again and again with
 * its 1st, 2nd, 3rd ... injection point failing, until a call runs past
 * the last one. Every call that fails must return ENOMEM or EFAULT, leave
 * no trace the caller can see (no session, grant, mirror or revocation
 * half made, CREATE_SESSION's struct untouched, no fd), and the same call
 * made again without a fault must succeed. The kernel's checkers (KASAN,
 * kmemleak, lockdep) watch the error paths meanwhile. Skips on a kernel
 * without fault injection. Runs in the guest as root. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt.h"

#define FLAGS (DAXMIRROR_SESSION_ALLOW_ANON | DAXMIRROR_SESSION_ALLOW_WRITE | \
	       DAXMIRROR_SESSION_ALLOW_PAGECACHE)
#define PAGES 8
#define LEN (PAGES * DMT_PAGE)
#define SEED 0xfa11
/* No call of the module passes this many injection points. */
#define MAX_NTH 4000
#define FI_DIR "/sys/kernel/debug/"

/* ---- fault injection ---------------------------------------------------- */

/* The knobs set for the run: fail GFP_KERNEL allocations too (by default
 * failslab only fails those that cannot sleep), and no report of each
 * injected fault (its stack trace would read as a splat). */
static const struct {
	const char *path, *value;
} fi_knobs[] = {
	{ FI_DIR "failslab/ignore-gfp-wait", "N" },
	{ FI_DIR "failslab/verbose", "0" },
	{ FI_DIR "fail_usercopy/verbose", "0" },
};

static char fi_saved[3][16];

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int read_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The reason fault injection cannot run here, or NULL once it is set up. */
static const char *fi_setup(int *nth_fd)
{
	static char why[128];

	*nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (*nth_fd < 0)
		return "no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)";
	for (size_t i = 0; i < ARRAY_SIZE(fi_knobs); i++) {
		int r = read_str(fi_knobs[i].path, fi_saved[i], sizeof(fi_saved[i]));

		if (!r)
			r = write_str(fi_knobs[i].path, fi_knobs[i].value);
		if (r < 0) {
			snprintf(why, sizeof(why), "%s: %s (CONFIG_FAILSLAB, "
				 "CONFIG_FAULT_INJECTION_USERCOPY, debugfs)",
				 fi_knobs[i].path, strerror(-r));
			return why;
		}
	}
	return NULL;
}

static void fi_restore(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(fi_knobs); i++)
		if (fi_saved[i][0])
			write_str(fi_knobs[i].path, fi_saved[i]);
}

/* Fail the @n-th injection point this thread passes from now on. */
static void fi_arm(int nth_fd, unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n);

	if (pwrite(nth_fd, b, (size_t)len, 0) != len)
		tap_bail("arming fail-nth: %s", strerror(errno));
}

/*
 * Disarm; true if the armed fault was injected (fail-nth counted down to
 * 0). Reading fail-nth copies out, itself an injection point: when only
 * one count was left, that read fails (EFAULT) and nothing was injected
 * before it. The write of 0 may be the last point too; it is repeated.
 */
static bool fi_disarm(int nth_fd)
{
	bool injected = false;
	char b[16];
	ssize_t n = pread(nth_fd, b, sizeof(b) - 1, 0);

	if (n > 0) {
		b[n] = '\0';
		injected = strtoul(b, NULL, 10) == 0;
	}
	for (int i = 0; pwrite(nth_fd, "0", 1, 0) != 1; i++)
		if (errno != EFAULT || i == 2)
			tap_bail("disarming fail-nth: %s", strerror(errno));
	return injected;
}

/* ---- the state each call starts from ------------------------------------ */

enum need {
	NEED_BOUND = 0x1,	/* the session is bound to this process */
	NEED_MIRROR = 0x2,	/* an anonymous mirror of fx.p */
	NEED_FAULTED = 0x4,	/* ... with device entries (FAULT write) */
	NEED_GRANT = 0x8,	/* the page-cache file granted and mapped at fx.fp */
};

struct fx {
	struct dmt_session s;
	const char *file_dir;	/* page-cache file system for grants */
	struct dmt_file file;	/* LEN bytes of pattern SEED + 1 */
	uint8_t *p, *fp;	/* anonymous mapping; the file's mapping */
	uint64_t mirror;
	uint32_t nsessions;	/* sessions listed before the call */
	int ctl2;		/* a second control fd (events) */
	union {
		struct daxmirror_session_create create;
		struct daxmirror_grant grant;
		struct daxmirror_ungrant ungrant;
		struct daxmirror_session_list list;
		struct daxmirror_session_info info;
		struct daxmirror_mirror_list mlist;
		struct daxmirror_revoke revoke;
		struct daxmirror_mirror_add add;
		struct daxmirror_mirror_remove remove;
		struct daxmirror_fault fault;
		struct daxmirror_snapshot snap;
		struct daxmirror_rw rw;
		struct daxmirror_event ev[4];
	} a, saved;
	uint64_t ids[16];
	struct daxmirror_mirror_info infos[4];
	uint8_t buf[LEN];
	uint8_t pages[PAGES];
};

static int session_count(int ctl, uint32_t *n)
{
	struct daxmirror_session_list l = { 0 };
	long r = dmt_ioctl(ctl, DAXMIRROR_CTL_LIST_SESSIONS, &l);

	*n = l.count;
	return (int)r;
}

static int info_of(struct fx *fx, struct daxmirror_session_info *info)
{
	return dmt_session_info(fx->s.ctl, fx->s.id, info);
}

static int setup(struct fx *fx, unsigned int need)
{
	int r;

	r = dmt_session_open(&fx->s, FLAGS, 0, 0, need & NEED_BOUND);
	if (r < 0)
		return r;
	fx->p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fx->p == MAP_FAILED) {
		fx->p = NULL;
		return -errno;
	}
	dmt_pattern_fill(fx->p, LEN, SEED, 0);
	if (need & NEED_MIRROR) {
		r = dmt_mirror_add(fx->s.sfd, fx->p, LEN, DAXMIRROR_MIRROR_WRITE, &fx->mirror);
		if (r < 0)
			return r;
	}
	if (need & NEED_FAULTED) {
		r = dmt_fault(fx->s.sfd, fx->p, LEN, DAXMIRROR_FAULT_WRITE);
		if (r < 0)
			return r;
	}
	if (need & NEED_GRANT) {
		r = dmt_grant(fx->s.ctl, fx->s.id, fx->file.fd, DAXMIRROR_GRANT_WRITE, 0, LEN);
		if (r < 0)
			return r;
		fx->fp = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fx->file.fd, 0);
		if (fx->fp == MAP_FAILED) {
			fx->fp = NULL;
			return -errno;
		}
	}
	fx->ctl2 = dmt_open_control();
	if (fx->ctl2 < 0)
		return fx->ctl2;
	r = dmt_set_nonblock(fx->ctl2);
	if (r < 0)
		return r;
	return session_count(fx->s.ctl, &fx->nsessions);
}

static void teardown(struct fx *fx)
{
	if (fx->p)
		munmap(fx->p, LEN);
	if (fx->fp)
		munmap(fx->fp, LEN);
	fx->p = fx->fp = NULL;
	if (fx->ctl2 >= 0)
		close(fx->ctl2);
	fx->ctl2 = -1;
	dmt_session_close(&fx->s);
	fx->s = (struct dmt_session)DMT_SESSION_INIT;
}

/* ---- the calls ------------------------------------------------------------
 * prepare() fills fx->a (faults off); call() is the one system call made
 * with a fault armed; check() says what is wrong after it returned @ret
 * (NULL: nothing), for a failed call and for the retry without faults. */

struct op {
	const char *name;
	unsigned int need;
	void (*prepare)(struct fx *fx);
	long (*call)(struct fx *fx);
	const char *(*check)(struct fx *fx, long ret);
};

/*
 * The module lists sessions in an xarray by id; an insert allocates only
 * when the id opens a new node (64 slots). Sessions created and closed
 * here make the call's id the first of a node, so its insert is one of
 * the points the sweep fails (before commit 19bb899 the fd number was
 * already in the caller's struct then).
 */
static void prep_create(struct fx *fx)
{
	uint64_t id = fx->s.id;

	while ((id + 1) % 64 != 0) {
		int fd = dmt_session_create(fx->s.ctl, FLAGS, 0, 0, &id);

		if (fd < 0)
			break;
		close(fd);
	}
	fx->a.create = (struct daxmirror_session_create){ .flags = FLAGS, .fd = -1 };
}

static long call_create(struct fx *fx)
{
	return dmt_ioctl(fx->s.ctl, DAXMIRROR_CTL_CREATE_SESSION, &fx->a.create);
}

static const char *check_create(struct fx *fx, long ret)
{
	uint32_t n;

	if (session_count(fx->s.ctl, &n) < 0)
		return "LIST_SESSIONS failed";
	if (ret < 0) {
		if (memcmp(&fx->a.create, &fx->saved.create, sizeof(fx->a.create)))
			return "a failed CREATE_SESSION wrote into the caller's struct";
		return n == fx->nsessions ? NULL : "a failed CREATE_SESSION left a session listed";
	}
	if (n != fx->nsessions + 1)
		return "the new session is not listed";
	close(fx->a.create.fd);
	fx->nsessions = n - 1;
	return NULL;
}

static void prep_grant(struct fx *fx)
{
	fx->a.grant = (struct daxmirror_grant){
		.session_id = fx->s.id, .fd = fx->file.fd, .flags = DAXMIRROR_GRANT_WRITE,
		.length = LEN,
	};
}

static long call_grant(struct fx *fx)
{
	return dmt_ioctl(fx->s.ctl, DAXMIRROR_CTL_GRANT_FILE, &fx->a.grant);
}

static const char *check_grant(struct fx *fx, long ret)
{
	struct daxmirror_session_info info;

	if (info_of(fx, &info) < 0)
		return "SESSION_INFO failed";
	if (info.nr_grants != (ret < 0 ? 0U : 1U))
		return ret < 0 ? "a failed GRANT_FILE left a grant" : "the grant is not counted";
	return NULL;
}

static void prep_ungrant(struct fx *fx)
{
	struct stat st;

	if (fstat(fx->file.fd, &st) < 0)
		memset(&st, 0, sizeof(st));
	fx->a.ungrant = (struct daxmirror_ungrant){
		.session_id = fx->s.id, .flags = DAXMIRROR_GRANT_WRITE, .dev = st.st_dev,
		.ino = st.st_ino, .length = LEN,
	};
}

static long call_ungrant(struct fx *fx)
{
	return dmt_ioctl(fx->s.ctl, DAXMIRROR_CTL_UNGRANT, &fx->a.ungrant);
}

static const char *check_ungrant(struct fx *fx, long ret)
{
	struct daxmirror_session_info info;

	if (info_of(fx, &info) < 0)
		return "SESSION_INFO failed";
	if (info.nr_grants != (ret < 0 ? 1U : 0U))
		return ret < 0 ? "a failed UNGRANT removed the grant" : "the grant is still counted";
	return NULL;
}

static void prep_list(struct fx *fx)
{
	fx->a.list = (struct daxmirror_session_list){
		.ids = (uintptr_t)fx->ids, .capacity = ARRAY_SIZE(fx->ids),
	};
}

static long call_list(struct fx *fx)
{
	return dmt_ioctl(fx->s.ctl, DAXMIRROR_CTL_LIST_SESSIONS, &fx->a.list);
}

static const char *check_list(struct fx *fx, long ret)
{
	if (ret < 0)
		return NULL;
	if (fx->a.list.count != fx->nsessions)
		return "LIST_SESSIONS counts another number of sessions";
	return dmt_ids_contain(fx->ids, fx->a.list.count, fx->s.id) ? NULL :
		"LIST_SESSIONS misses the session";
}

static void prep_info(struct fx *fx)
{
	memset(&fx->a.info, 0, sizeof(fx->a.info));
	fx->a.info.session_id = fx->s.id;
}

static long call_info_ctl(struct fx *fx)
{
	return dmt_ioctl(fx->s.ctl, DAXMIRROR_IOC_SESSION_INFO, &fx->a.info);
}

static long call_info_session(struct fx *fx)
{
	return dmt_ioctl(fx->s.sfd, DAXMIRROR_IOC_SESSION_INFO, &fx->a.info);
}

static const char *check_info(struct fx *fx, long ret)
{
	if (ret < 0)
		return NULL;
	return fx->a.info.session_id == fx->s.id && fx->a.info.nr_mirrors == 1 ?
		NULL : "SESSION_INFO reports another session or mirror count";
}

static void prep_mlist(struct fx *fx)
{
	fx->a.mlist = (struct daxmirror_mirror_list){
		.session_id = fx->s.id, .mirrors = (uintptr_t)fx->infos,
		.capacity = ARRAY_SIZE(fx->infos),
	};
}

static long call_mlist_ctl(struct fx *fx)
{
	return dmt_ioctl(fx->s.ctl, DAXMIRROR_IOC_MIRROR_LIST, &fx->a.mlist);
}

static long call_mlist_session(struct fx *fx)
{
	return dmt_ioctl(fx->s.sfd, DAXMIRROR_IOC_MIRROR_LIST, &fx->a.mlist);
}

static const char *check_mlist(struct fx *fx, long ret)
{
	if (ret < 0)
		return NULL;
	return fx->a.mlist.count == 1 && fx->infos[0].id == fx->mirror ?
		NULL : "MIRROR_LIST reports another mirror";
}

static void prep_revoke(struct fx *fx)
{
	fx->a.revoke = (struct daxmirror_revoke){ .session_id = fx->s.id };
}

static long call_revoke(struct fx *fx)
{
	return dmt_ioctl(fx->s.ctl, DAXMIRROR_CTL_REVOKE, &fx->a.revoke);
}

static const char *check_revoke(struct fx *fx, long ret)
{
	struct daxmirror_session_info info;
	uint8_t b[16];

	if (info_of(fx, &info) < 0)
		return "SESSION_INFO failed";
	if (ret == 0) {
		if (info.state != DAXMIRROR_STATE_REVOKED)
			return "the session is not revoked";
		return dmt_dev_read(fx->s.sfd, fx->p, b, sizeof(b)) == -ENODEV ? NULL :
			"a READ after REVOKE did not fail with ENODEV";
	}
	if (info.state == DAXMIRROR_STATE_REVOKED)
		return "a failed REVOKE revoked the session";
	return dmt_dev_read(fx->s.sfd, fx->p, b, sizeof(b)) == 0 ? NULL :
		"a failed REVOKE left the session unusable";
}

static long call_bind(struct fx *fx)
{
	return dmt_ioctl(fx->s.sfd, DAXMIRROR_IOC_BIND, NULL);
}

static const char *check_bind(struct fx *fx, long ret)
{
	struct daxmirror_session_info info;

	if (info_of(fx, &info) < 0)
		return "SESSION_INFO failed";
	if (ret < 0)
		return info.state == DAXMIRROR_STATE_NEW ? NULL : "a failed BIND bound the session";
	if (info.state != DAXMIRROR_STATE_BOUND || info.pid != getpid())
		return "BIND did not bind the session to this process";
	return dmt_mirror_add(fx->s.sfd, fx->p, LEN, 0, &fx->mirror) == 0 ? NULL :
		"MIRROR_ADD after BIND failed";
}

static void prep_add_anon(struct fx *fx)
{
	fx->a.add = (struct daxmirror_mirror_add){
		.addr = (uintptr_t)fx->p, .length = LEN, .flags = DAXMIRROR_MIRROR_WRITE,
	};
}

static void prep_add_file(struct fx *fx)
{
	fx->a.add = (struct daxmirror_mirror_add){
		.addr = (uintptr_t)fx->fp, .length = LEN, .flags = DAXMIRROR_MIRROR_WRITE,
	};
}

static long call_add(struct fx *fx)
{
	return dmt_ioctl(fx->s.sfd, DAXMIRROR_IOC_MIRROR_ADD, &fx->a.add);
}

static const char *check_add(struct fx *fx, long ret)
{
	struct daxmirror_session_info info;
	uint8_t b[LEN];

	if (info_of(fx, &info) < 0)
		return "SESSION_INFO failed";
	if (ret < 0)
		return info.nr_mirrors == 0 && info.mirrored_pages == 0 ? NULL :
			"a failed MIRROR_ADD left a mirror or its pages counted";
	if (info.nr_mirrors != 1 || info.mirrored_pages != PAGES)
		return "the mirror is not counted";
	if (dmt_dev_read(fx->s.sfd, (void *)(uintptr_t)fx->a.add.addr, b, LEN) < 0)
		return "a READ through the new mirror failed";
	if (dmt_pattern_check(b, LEN, fx->a.add.addr == (uintptr_t)fx->p ? SEED : SEED + 1,
			      0) >= 0)
		return "a READ through the new mirror read other bytes";
	return dmt_mirror_remove(fx->s.sfd, fx->a.add.id) == 0 ? NULL :
		"MIRROR_REMOVE of the new mirror failed";
}

static void prep_remove(struct fx *fx)
{
	fx->a.remove = (struct daxmirror_mirror_remove){ .id = fx->mirror };
}

static long call_remove(struct fx *fx)
{
	return dmt_ioctl(fx->s.sfd, DAXMIRROR_IOC_MIRROR_REMOVE, &fx->a.remove);
}

static const char *check_remove(struct fx *fx, long ret)
{
	struct daxmirror_session_info info;

	if (info_of(fx, &info) < 0)
		return "SESSION_INFO failed";
	if (ret < 0)
		return info.nr_mirrors == 1 && info.mirrored_pages == PAGES ? NULL :
			"a failed MIRROR_REMOVE changed the mirror count";
	if (info.nr_mirrors != 0 || info.mirrored_pages != 0)
		return "the removed mirror is still counted";
	return dmt_mirror_add(fx->s.sfd, fx->p, LEN, DAXMIRROR_MIRROR_WRITE, &fx->mirror) == 0 ?
		NULL : "adding the mirror again failed";
}

static void prep_fault(struct fx *fx)
{
	fx->a.fault = (struct daxmirror_fault){
		.addr = (uintptr_t)fx->p, .length = LEN, .flags = DAXMIRROR_FAULT_WRITE,
	};
}

static long call_fault(struct fx *fx)
{
	return dmt_ioctl(fx->s.sfd, DAXMIRROR_IOC_FAULT, &fx->a.fault);
}

/* Whatever failed, the device reads what the CPU wrote. */
static const char *check_coherent(struct fx *fx, long ret)
{
	if (dmt_dev_read(fx->s.sfd, fx->p, fx->buf, LEN) < 0)
		return "a READ after the call failed";
	return dmt_pattern_check(fx->buf, LEN, SEED, 0) < 0 ? NULL :
		"the device reads other bytes than the CPU wrote";
}

static void prep_read(struct fx *fx)
{
	memset(fx->buf, 0, LEN);
	fx->a.rw = (struct daxmirror_rw){
		.addr = (uintptr_t)fx->p, .length = LEN, .buf = (uintptr_t)fx->buf,
	};
}

static long call_read(struct fx *fx)
{
	return dmt_ioctl(fx->s.sfd, DAXMIRROR_IOC_READ, &fx->a.rw);
}

static void prep_write(struct fx *fx)
{
	dmt_pattern_fill(fx->buf, LEN, SEED + 2, 0);
	prep_read(fx);
	dmt_pattern_fill(fx->buf, LEN, SEED + 2, 0);
}

static long call_write(struct fx *fx)
{
	return dmt_ioctl(fx->s.sfd, DAXMIRROR_IOC_WRITE, &fx->a.rw);
}

static const char *check_read(struct fx *fx, long ret)
{
	if (ret < 0)
		return check_coherent(fx, ret);
	return dmt_pattern_check(fx->buf, LEN, SEED, 0) < 0 ? NULL :
		"READ returned other bytes than the CPU wrote";
}

/* A failed WRITE may have stored a part; a whole one stored everything. */
static const char *check_write(struct fx *fx, long ret)
{
	if (ret < 0)
		return NULL;
	if (dmt_pattern_check(fx->p, LEN, SEED + 2, 0) >= 0)
		return "the CPU does not see what WRITE stored";
	dmt_pattern_fill(fx->p, LEN, SEED, 0);
	return NULL;
}

static void prep_snap(struct fx *fx)
{
	memset(fx->pages, 0xff, sizeof(fx->pages));
	fx->a.snap = (struct daxmirror_snapshot){
		.addr = (uintptr_t)fx->p, .length = LEN, .pages = (uintptr_t)fx->pages,
	};
}

static long call_snap(struct fx *fx)
{
	return dmt_ioctl(fx->s.sfd, DAXMIRROR_IOC_SNAPSHOT, &fx->a.snap);
}

static const char *check_snap(struct fx *fx, long ret)
{
	if (ret < 0)
		return NULL;
	for (int i = 0; i < PAGES; i++)
		if ((fx->pages[i] & DAXMIRROR_SNAP_STATE_MASK) != DAXMIRROR_SNAP_WRITE)
			return "SNAPSHOT does not show the faulted writable entries";
	return NULL;
}

/* The control node's events: two sessions created and closed after ctl2
 * was opened post two SESSION_CLOSED; a read() that fails must not lose
 * them. */
static void prep_events(struct fx *fx)
{
	for (int i = 0; i < 2; i++) {
		uint64_t id;
		int fd = dmt_session_create(fx->s.ctl, FLAGS, 0, 0, &id);

		if (fd >= 0)
			close(fd);
	}
	memset(&fx->a.ev, 0, sizeof(fx->a.ev));
}

static long call_events(struct fx *fx)
{
	ssize_t n = read(fx->ctl2, fx->a.ev, sizeof(fx->a.ev));

	return n < 0 ? -errno : n;
}

static const char *check_events(struct fx *fx, long ret)
{
	if (ret < 0)
		return NULL;
	if (ret != 2 * (long)sizeof(fx->a.ev[0]) ||
	    fx->a.ev[0].type != DAXMIRROR_EVENT_SESSION_CLOSED ||
	    fx->a.ev[1].type != DAXMIRROR_EVENT_SESSION_CLOSED)
		return "the control node's read() did not return the two events";
	return NULL;
}

static const struct op ops[] = {
	{ "CREATE_SESSION", 0, prep_create, call_create, check_create },
	{ "GRANT_FILE", NEED_BOUND, prep_grant, call_grant, check_grant },
	{ "UNGRANT", NEED_BOUND | NEED_GRANT, prep_ungrant, call_ungrant, check_ungrant },
	{ "LIST_SESSIONS", 0, prep_list, call_list, check_list },
	{ "SESSION_INFO (control)", NEED_BOUND | NEED_MIRROR, prep_info, call_info_ctl,
	  check_info },
	{ "SESSION_INFO (session)", NEED_BOUND | NEED_MIRROR, prep_info, call_info_session,
	  check_info },
	{ "MIRROR_LIST (control)", NEED_BOUND | NEED_MIRROR, prep_mlist, call_mlist_ctl,
	  check_mlist },
	{ "MIRROR_LIST (session)", NEED_BOUND | NEED_MIRROR, prep_mlist, call_mlist_session,
	  check_mlist },
	{ "BIND", 0, NULL, call_bind, check_bind },
	{ "MIRROR_ADD (anonymous)", NEED_BOUND, prep_add_anon, call_add, check_add },
	{ "MIRROR_ADD (granted file)", NEED_BOUND | NEED_GRANT, prep_add_file, call_add,
	  check_add },
	{ "MIRROR_REMOVE", NEED_BOUND | NEED_MIRROR, prep_remove, call_remove, check_remove },
	{ "FAULT", NEED_BOUND | NEED_MIRROR, prep_fault, call_fault, check_coherent },
	{ "READ", NEED_BOUND | NEED_MIRROR | NEED_FAULTED, prep_read, call_read, check_read },
	{ "WRITE", NEED_BOUND | NEED_MIRROR, prep_write, call_write, check_write },
	{ "SNAPSHOT", NEED_BOUND | NEED_MIRROR | NEED_FAULTED, prep_snap, call_snap,
	  check_snap },
	{ "REVOKE", NEED_BOUND | NEED_MIRROR, prep_revoke, call_revoke, check_revoke },
	{ "read() of control events", 0, prep_events, call_events, check_events },
};

/* ---- the sweep ----------------------------------------------------------- */

static int nth_fd = -1;
static const char *no_fi;
static unsigned int injected_total;
static struct fx fx = { .s = DMT_SESSION_INIT, .file = DMT_FILE_INIT, .ctl2 = -1 };

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void sweep(const void *arg)
{
	const struct op *op = arg;
	unsigned int n, injected_calls = 0, bad = 0;
	const char *why;
	int fds;
	long ret;

	if (no_fi) {
		tap_skip_rest("%s", no_fi);
		return;
	}
	if ((op->need & NEED_GRANT) && fx.file.fd < 0) {
		tap_skip_rest("no page-cache file system for the granted file");
		return;
	}
	fds = count_fds();
	for (n = 1; n <= MAX_NTH && bad < 3; n++) {
		bool injected;

		if (setup(&fx, op->need) < 0) {
			tap_diag("%s: setting up for point %u failed", op->name, n);
			bad++;
			teardown(&fx);
			break;
		}
		if (op->prepare)
			op->prepare(&fx);
		fx.saved = fx.a;
		fi_arm(nth_fd, n);
		ret = op->call(&fx);
		injected = fi_disarm(nth_fd);
		injected_calls += injected;
		why = NULL;
		if (ret < 0 && ret != -ENOMEM && ret != -EFAULT)
			why = "failed with an errno other than ENOMEM or EFAULT";
		else if (ret < 0 && !injected)
			why = "failed with no fault injected";
		else
			why = op->check(&fx, ret);
		if (!why && ret < 0) {
			/* The same call again, nothing failing. */
			fx.a = fx.saved;
			ret = op->call(&fx);
			why = ret < 0 ? "the retry without a fault failed" : op->check(&fx, ret);
		}
		if (why) {
			tap_diag("%s, point %u failing: %s (returned %s)", op->name, n, why,
				 ret < 0 ? tap_errname((int)-ret) : "success");
			bad++;
		}
		teardown(&fx);
		if (count_fds() != fds) {
			tap_diag("%s, point %u failing: %d fds open, %d before", op->name, n,
				 count_fds(), fds);
			fds = count_fds();
			bad++;
		}
		if (!injected)
			break;
	}
	if (n > MAX_NTH) {
		tap_diag("%s: still injecting at point %u", op->name, MAX_NTH);
		bad++;
	}
	injected_total += injected_calls;
	/* A call may pass no injection point (BIND allocates nothing). */
	tap_ok(bad == 0, "%s: %u injection points failed in turn, each failure clean", op->name,
	       injected_calls);
}

/* The sweeps failed something at all: fail-nth reaches the module. */
static void reached(const void *arg)
{
	if (no_fi) {
		tap_skip_rest("%s", no_fi);
		return;
	}
	tap_ok(injected_total >= ARRAY_SIZE(ops), "the sweeps injected %u faults in all",
	       injected_total);
}

int main(void)
{
	struct tap_group groups[ARRAY_SIZE(ops) + 1];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		groups[i] = (struct tap_group){ ops[i].name, 1, sweep, &ops[i] };
	groups[ARRAY_SIZE(ops)] = (struct tap_group){ "fault injection reached", 1, reached, NULL };
	no_fi = fi_setup(&nth_fd);
	fx.file_dir = dmt_env_dir(DMT_ENV_EXT4_PAGECACHE);
	if (fx.file_dir &&
	    dmt_file_create(&fx.file, fx.file_dir, "failnth", LEN, SEED + 1) < 0)
		fx.file.fd = -1;
	r = tap_main(groups, ARRAY_SIZE(groups), 1500);
	fi_restore();
	dmt_file_remove(&fx.file);
	return r;
}
