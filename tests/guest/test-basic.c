/* test-basic.c - the control node and the session life cycle: VERSION,
 * CREATE_SESSION validation, BIND (once, by one mm), ENOTCONN before bind,
 * ENOTTY for the wrong fd type, LIST_SESSIONS / SESSION_INFO / MIRROR_LIST
 * from the broker's side, an unprivileged client, SESSION_CLOSED on the
 * control fd, EACCES for an unprivileged open, the coalesced
 * SESSION_CHANGED the broker's view is driven by. Runs in the guest as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt.h"

static void g_control(const void *arg)
{
	_cleanup_close_ int ctl = dmt_open_control();
	_cleanup_close_ int sfd = -1;
	char link[64], target[256];
	uint32_t abi = 0;
	ssize_t n;
	int r, fdfl;

	(void)arg;
	if (!tap_success(ctl, "open %s as root", DMT_CONTROL_PATH)) {
		tap_fail_rest("no control fd");
		return;
	}
	r = dmt_version(ctl, &abi);
	if (tap_success(r, "VERSION on the control fd"))
		tap_eq(abi, DAXMIRROR_ABI_VERSION, "control fd reports ABI version %d",
		       DAXMIRROR_ABI_VERSION);
	else
		tap_ok(false, "control fd reports ABI version");

	sfd = dmt_session_create(ctl, 0, 0, 0, NULL);
	if (!tap_success(sfd, "CREATE_SESSION with default limits")) {
		tap_fail_rest("no session");
		return;
	}
	fdfl = fcntl(sfd, F_GETFD);
	tap_ok(fdfl >= 0 && (fdfl & FD_CLOEXEC), "the session fd is O_CLOEXEC");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", sfd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	if (!tap_ok(!strcmp(target, "anon_inode:[daxmirror-session]"),
		    "the session fd is the anon inode [daxmirror-session]"))
		tap_diag("%s -> %s", link, target);
	abi = 0;
	r = dmt_version(sfd, &abi);
	if (!tap_ok(r == 0 && abi == DAXMIRROR_ABI_VERSION,
		    "VERSION on the session fd reports ABI version %d",
		    DAXMIRROR_ABI_VERSION))
		tap_diag("ret %s abi %u", tap_errname(-r), abi);
}

static long create_raw(int ctl, struct daxmirror_session_create *c)
{
	long r = dmt_ioctl(ctl, DAXMIRROR_CTL_CREATE_SESSION, c);

	if (r >= 0 && c->fd >= 0)
		close(c->fd); /* wrongly accepted: do not leak it */
	return r;
}

static void g_create(const void *arg)
{
	_cleanup_close_ int ctl = dmt_open_control();
	_cleanup_close_ int s1 = -1;
	_cleanup_close_ int s2 = -1;
	struct daxmirror_session_create c;
	struct daxmirror_session_info info;
	uint64_t id1 = 0, id2 = 0;
	bool all_einval = true;
	int r;

	(void)arg;
	if (ctl < 0) {
		tap_fail_rest("open control: %s", tap_errname(-ctl));
		return;
	}
	memset(&c, 0, sizeof(c));
	c.flags = DAXMIRROR_SESSION_FLAGS + 1;
	tap_errno(create_raw(ctl, &c), EINVAL,
		  "CREATE_SESSION with an unknown flag bit (0x%x) -> EINVAL",
		  DAXMIRROR_SESSION_FLAGS + 1);

	for (size_t i = 0; i < ARRAY_SIZE(c.reserved); i++) {
		memset(&c, 0, sizeof(c));
		c.reserved[i] = 1;
		r = (int)create_raw(ctl, &c);
		if (r != -EINVAL) {
			tap_diag("reserved[%zu] = 1: %s", i, tap_errname(-r));
			all_einval = false;
		}
	}
	tap_ok(all_einval, "CREATE_SESSION with any reserved word non-zero -> EINVAL");

	memset(&c, 0, sizeof(c));
	c.max_mirrors = DAXMIRROR_MAX_MIRRORS_LIMIT + 1;
	tap_errno(create_raw(ctl, &c), EINVAL,
		  "CREATE_SESSION with max_mirrors = MAX_MIRRORS_LIMIT + 1 -> EINVAL");

	s1 = dmt_session_create(ctl, DMT_ANON_RW, DAXMIRROR_MAX_MIRRORS_LIMIT,
				12345, &id1);
	r = s1 < 0 ? s1 : dmt_session_info(ctl, id1, &info);
	if (!tap_ok(r == 0 && info.max_mirrors == DAXMIRROR_MAX_MIRRORS_LIMIT &&
		    info.max_pages == 12345 && info.session_flags == DMT_ANON_RW,
		    "max_mirrors = MAX_MIRRORS_LIMIT accepted; SESSION_INFO echoes limits and flags"))
		tap_diag("ret %s max_mirrors %u max_pages %llu flags 0x%x",
			 tap_errname(-r), info.max_mirrors,
			 (unsigned long long)info.max_pages, info.session_flags);

	s2 = dmt_session_create(ctl, 0, 0, 0, &id2);
	if (!tap_ok(s1 >= 0 && s2 >= 0 && id1 != id2,
		    "two sessions get distinct ids"))
		tap_diag("fds %d %d ids %llu %llu", s1, s2,
			 (unsigned long long)id1, (unsigned long long)id2);
}

static void g_unbound(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_session_info info, self;
	uint8_t buf[64] = { 0 };
	int r;

	(void)arg;
	if (dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, false) < 0 ||
	    dmt_map_anon(&m, DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r = dmt_session_info(s.ctl, s.id, &info);
	if (!tap_ok(r == 0 && info.session_id == s.id &&
		    info.state == DAXMIRROR_STATE_NEW && info.pid == 0 &&
		    info.session_flags == DAXMIRROR_SESSION_ALLOW_ANON &&
		    info.nr_mirrors == 0 && info.nr_grants == 0 &&
		    info.mirrored_pages == 0,
		    "SESSION_INFO of a new session: state NEW, pid 0, flags, no mirrors or grants"))
		tap_diag("ret %s id %llu state %u pid %d flags 0x%x mirrors %u grants %u pages %llu",
			 tap_errname(-r), (unsigned long long)info.session_id,
			 info.state, info.pid, info.session_flags, info.nr_mirrors,
			 info.nr_grants, (unsigned long long)info.mirrored_pages);
	if (!tap_ok(r == 0 && info.max_mirrors >= 1 &&
		    info.max_mirrors <= DAXMIRROR_MAX_MIRRORS_LIMIT &&
		    info.max_pages > 0,
		    "limits of 0 become the module defaults (1..LIMIT mirrors, > 0 pages)"))
		tap_diag("max_mirrors %u max_pages %llu", info.max_mirrors,
			 (unsigned long long)info.max_pages);
	r = dmt_session_info(s.sfd, 0, &self);
	if (!tap_ok(r == 0 && self.session_id == s.id &&
		    self.state == DAXMIRROR_STATE_NEW,
		    "SESSION_INFO on the session fd itself (id 0) reports its own id"))
		tap_diag("ret %s id %llu (want %llu)", tap_errname(-r),
			 (unsigned long long)self.session_id,
			 (unsigned long long)s.id);

	tap_errno(dmt_mirror_add(s.sfd, m.addr, m.len, 0, NULL), ENOTCONN,
		  "MIRROR_ADD before BIND -> ENOTCONN");
	tap_errno(dmt_fault(s.sfd, m.addr, m.len, 0), ENOTCONN,
		  "FAULT before BIND -> ENOTCONN");
	tap_errno(dmt_dev_read(s.sfd, m.addr, buf, sizeof(buf)), ENOTCONN,
		  "READ before BIND -> ENOTCONN");
	tap_errno(dmt_dev_write(s.sfd, m.addr, buf, sizeof(buf)), ENOTCONN,
		  "WRITE before BIND -> ENOTCONN");
}

/* Child: receive a session fd, try to BIND it and to add a mirror of its
 * own memory; send both results. */
static int child_bind_other(int sock, void *arg)
{
	int64_t unused;
	int sfd = dmt_recv_fd(sock, &unused, DMT_CHILD_TIMEOUT_MS);
	void *p;

	(void)arg;
	if (sfd < 0) {
		tap_diag("child: receive session fd: %s", tap_errname(-sfd));
		return 1;
	}
	dmt_send_i64(sock, dmt_bind(sfd));
	p = mmap(NULL, DMT_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	dmt_send_i64(sock, dmt_mirror_add(sfd, p, DMT_PAGE, 0, NULL));
	return 0;
}

static void g_bind(const void *arg)
{
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	struct daxmirror_session_info info;
	int64_t v = 0;
	int r;

	(void)arg;
	/* the child exists before the session: it only gets it by SCM_RIGHTS */
	if (dmt_child_start(&c, child_bind_other, NULL) < 0 ||
	    dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, false) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	tap_success(dmt_bind(s.sfd), "BIND the session to this process");
	r = dmt_session_info(s.ctl, s.id, &info);
	if (!tap_ok(r == 0 && info.state == DAXMIRROR_STATE_BOUND &&
		    info.pid == getpid() && info.uid == getuid(),
		    "SESSION_INFO after BIND: state BOUND, pid and uid of the binder"))
		tap_diag("ret %s state %u pid %d (want %d) uid %u",
			 tap_errname(-r), info.state, info.pid, (int)getpid(),
			 info.uid);
	tap_errno(dmt_bind(s.sfd), EALREADY, "BIND twice -> EALREADY");

	r = dmt_send_fd(c.sock, s.sfd, 0);
	if (r < 0) {
		tap_fail_rest("SCM_RIGHTS send: %s", tap_errname(-r));
		return;
	}
	r = dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS);
	tap_errno(r < 0 ? r : v, EBUSY,
		  "BIND from another process (fd passed by SCM_RIGHTS) -> EBUSY");
	r = dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS);
	tap_errno(r < 0 ? r : v, EBUSY,
		  "MIRROR_ADD from a process whose mm is not the bound one -> EBUSY");
	if (dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS) != 0)
		tap_diag("the SCM_RIGHTS child did not exit cleanly");
}

static void g_wrong_fd(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	struct daxmirror_session_create create;
	struct daxmirror_grant grant;
	struct daxmirror_session_list list;
	struct daxmirror_revoke revoke;
	struct daxmirror_mirror_add add;
	struct daxmirror_mirror_remove rm;
	struct daxmirror_fault fault;
	struct daxmirror_snapshot snap;
	struct daxmirror_rw rw;
	struct daxmirror_version ver;
	uint64_t ids[4], mid = 0;
	uint8_t pages[1], buf[16];
	const char *tmp = getenv(DMT_ENV_TMPFS);
	long r;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, m.len, DAXMIRROR_MIRROR_WRITE, &mid) < 0 ||
	    dmt_file_create(&f, tmp ? tmp : "/tmp", "wrongfd", DMT_PAGE, 1) < 0) {
		tap_fail_rest("setup failed");
		return;
	}

	/* control ioctls on the session fd */
	memset(&create, 0, sizeof(create));
	r = dmt_ioctl(s.sfd, DAXMIRROR_CTL_CREATE_SESSION, &create);
	if (r >= 0 && create.fd >= 0)
		close(create.fd);
	tap_errno(r, ENOTTY, "CREATE_SESSION on a session fd -> ENOTTY");
	grant = (struct daxmirror_grant){ .session_id = s.id, .fd = f.fd,
					  .length = DMT_PAGE };
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_CTL_GRANT_FILE, &grant), ENOTTY,
		  "GRANT_FILE on a session fd -> ENOTTY");
	list = (struct daxmirror_session_list){ .ids = (uintptr_t)ids,
						.capacity = 4 };
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_CTL_LIST_SESSIONS, &list), ENOTTY,
		  "LIST_SESSIONS on a session fd -> ENOTTY");
	revoke = (struct daxmirror_revoke){ .session_id = s.id };
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_CTL_REVOKE, &revoke), ENOTTY,
		  "REVOKE on a session fd -> ENOTTY");

	/* session-only ioctls on the control fd */
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_IOC_BIND, NULL), ENOTTY,
		  "BIND on the control fd -> ENOTTY");
	add = (struct daxmirror_mirror_add){ .addr = (uintptr_t)m.addr,
					     .length = m.len };
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_IOC_MIRROR_ADD, &add), ENOTTY,
		  "MIRROR_ADD on the control fd -> ENOTTY");
	rm = (struct daxmirror_mirror_remove){ .id = mid };
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_IOC_MIRROR_REMOVE, &rm), ENOTTY,
		  "MIRROR_REMOVE on the control fd -> ENOTTY");
	fault = (struct daxmirror_fault){ .addr = (uintptr_t)m.addr,
					  .length = m.len };
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_IOC_FAULT, &fault), ENOTTY,
		  "FAULT on the control fd -> ENOTTY");
	snap = (struct daxmirror_snapshot){ .addr = (uintptr_t)m.addr,
					    .length = m.len,
					    .pages = (uintptr_t)pages };
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_IOC_SNAPSHOT, &snap), ENOTTY,
		  "SNAPSHOT on the control fd -> ENOTTY");
	rw = (struct daxmirror_rw){ .addr = (uintptr_t)m.addr,
				    .length = sizeof(buf),
				    .buf = (uintptr_t)buf };
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_IOC_READ, &rw), ENOTTY,
		  "READ on the control fd -> ENOTTY");
	rw.done = 0;
	tap_errno(dmt_ioctl(s.ctl, DAXMIRROR_IOC_WRITE, &rw), ENOTTY,
		  "WRITE on the control fd -> ENOTTY");

	memset(&ver, 0, sizeof(ver));
	tap_errno(dmt_ioctl(s.ctl, _IOWR(DAXMIRROR_IOC_MAGIC, 0x7f,
					 struct daxmirror_version), &ver),
		  ENOTTY, "an unknown ioctl number on the control fd -> ENOTTY");
	tap_errno(dmt_ioctl(s.sfd, _IOWR(DAXMIRROR_IOC_MAGIC, 0x7f,
					 struct daxmirror_version), &ver),
		  ENOTTY, "an unknown ioctl number on a session fd -> ENOTTY");
}

static void g_listing(const void *arg)
{
	_cleanup_close_ int ctl = dmt_open_control();
	_cleanup_close_ int s1 = -1;
	_cleanup_close_ int s2 = -1;
	_cleanup_free_ uint64_t *ids = NULL;
	struct daxmirror_session_list l;
	struct daxmirror_session_info info;
	uint64_t id1 = 0, id2 = 0, sentinel[2], maxid = 0;
	uint32_t n = 0;
	bool sorted = true;
	int r;

	(void)arg;
	if (ctl < 0 || (s1 = dmt_session_create(ctl, 0, 0, 0, &id1)) < 0 ||
	    (s2 = dmt_session_create(ctl, 0, 0, 0, &id2)) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r = dmt_list_sessions(ctl, &ids, &n);
	for (uint32_t i = 1; i < n; i++)
		sorted = sorted && ids[i - 1] < ids[i];
	for (uint32_t i = 0; i < n; i++)
		maxid = ids[i] > maxid ? ids[i] : maxid;
	if (!tap_ok(r == 0 && dmt_ids_contain(ids, n, id1) &&
		    dmt_ids_contain(ids, n, id2) && sorted,
		    "LIST_SESSIONS holds both new sessions, in increasing order"))
		tap_diag("ret %s count %u sorted %d", tap_errname(-r), n, sorted);

	sentinel[0] = sentinel[1] = 0xdeadbeef;
	l = (struct daxmirror_session_list){ .ids = (uintptr_t)sentinel };
	r = (int)dmt_ioctl(ctl, DAXMIRROR_CTL_LIST_SESSIONS, &l);
	if (!tap_ok(r == 0 && l.count == n && sentinel[0] == 0xdeadbeef,
		    "LIST_SESSIONS with capacity 0 only counts (count %u, nothing written)",
		    n))
		tap_diag("ret %s count %u", tap_errname(-r), l.count);

	sentinel[0] = sentinel[1] = 0xdeadbeef;
	l = (struct daxmirror_session_list){ .ids = (uintptr_t)sentinel,
					     .capacity = 1 };
	r = (int)dmt_ioctl(ctl, DAXMIRROR_CTL_LIST_SESSIONS, &l);
	if (!tap_ok(r == 0 && l.count == n && n >= 2 &&
		    sentinel[0] == ids[0] && sentinel[1] == 0xdeadbeef,
		    "LIST_SESSIONS with capacity 1: full count, exactly the first id written"))
		tap_diag("ret %s count %u ids %llx %llx", tap_errname(-r),
			 l.count, (unsigned long long)sentinel[0],
			 (unsigned long long)sentinel[1]);

	tap_errno(dmt_session_info(ctl, maxid + 1000, &info), ENOENT,
		  "SESSION_INFO of an unknown session id -> ENOENT");
}

struct client_arg {
	int sfd;
};

enum {
	CLIENT_OK,
	CLIENT_DROP,
	CLIENT_BIND,
	CLIENT_MAP,
	CLIENT_ADD,
	CLIENT_READ,
	CLIENT_WRITE,
	CLIENT_DATA,
	CLIENT_SYNC,
};

#define CLIENT_PAGES 4

/* Unprivileged client: drop to nobody, bind the inherited session fd,
 * mirror its own memory, read and write it through the device; report the
 * step reached and the mirror address, then wait for the parent. */
static int child_client(int sock, void *argp)
{
	const struct client_arg *arg = argp;
	uint8_t dev[CLIENT_PAGES * DMT_PAGE], want[CLIENT_PAGES * DMT_PAGE];
	struct dmt_map m = DMT_MAP_INIT;
	int64_t go;
	int r, step = CLIENT_OK;

	if ((r = dmt_drop_privileges(DMT_NOBODY, DMT_NOBODY)) < 0)
		step = CLIENT_DROP;
	else if ((r = dmt_bind(arg->sfd)) < 0)
		step = CLIENT_BIND;
	else if ((r = dmt_map_anon(&m, sizeof(dev), 0,
				   PROT_READ | PROT_WRITE, 0)) < 0)
		step = CLIENT_MAP;
	if (step == CLIENT_OK) {
		dmt_pattern_fill(m.addr, m.len, 7, 0);
		dmt_pattern_fill(want, sizeof(want), 8, 0);
		if ((r = dmt_mirror_add(arg->sfd, m.addr, m.len,
					DAXMIRROR_MIRROR_WRITE, NULL)) < 0)
			step = CLIENT_ADD;
		else if ((r = dmt_dev_read(arg->sfd, m.addr, dev, m.len)) < 0)
			step = CLIENT_READ;
		else if (dmt_pattern_check(dev, m.len, 7, 0) >= 0)
			step = CLIENT_DATA;
		else if ((r = dmt_dev_write(arg->sfd, m.addr, want, m.len)) < 0)
			step = CLIENT_WRITE;
		else if (memcmp(m.addr, want, m.len))
			step = CLIENT_DATA;
	}
	if (step != CLIENT_OK)
		tap_diag("client (uid %d): failed at step %d: %s", (int)getuid(),
			 step, r < 0 ? tap_errname(-r) : "data mismatch");
	if (dmt_send_i64(sock, step) < 0 ||
	    dmt_send_i64(sock, (int64_t)(uintptr_t)m.addr) < 0 ||
	    dmt_recv_i64(sock, &go, DMT_CHILD_TIMEOUT_MS) < 0)
		return CLIENT_SYNC;
	return step;
}

static void g_client(const void *arg)
{
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	struct daxmirror_mirror_info *mi = NULL;
	struct daxmirror_session_info info;
	struct client_arg ca;
	int64_t step = -1, addr = 0;
	uint32_t n = 0;
	int r, st;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, false) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	ca.sfd = s.sfd;
	if (dmt_child_start(&c, child_client, &ca) < 0 ||
	    dmt_recv_i64(c.sock, &step, DMT_CHILD_TIMEOUT_MS) < 0 ||
	    dmt_recv_i64(c.sock, &addr, DMT_CHILD_TIMEOUT_MS) < 0) {
		tap_fail_rest("the client did not report");
		return;
	}
	tap_eq((uint64_t)step, CLIENT_OK,
	       "a client dropped to uid %d binds, mirrors, reads and writes through the device",
	       DMT_NOBODY);

	r = dmt_session_info(s.ctl, s.id, &info);
	if (!tap_ok(r == 0 && info.state == DAXMIRROR_STATE_BOUND &&
		    info.pid == c.pid && info.uid == DMT_NOBODY &&
		    info.nr_mirrors == 1 && info.mirrored_pages == CLIENT_PAGES,
		    "the broker's SESSION_INFO: BOUND, client pid and uid, 1 mirror of %d pages",
		    CLIENT_PAGES))
		tap_diag("ret %s state %u pid %d (want %d) uid %u mirrors %u pages %llu",
			 tap_errname(-r), info.state, info.pid, (int)c.pid,
			 info.uid, info.nr_mirrors,
			 (unsigned long long)info.mirrored_pages);

	r = dmt_mirror_list(s.ctl, s.id, &mi, &n);
	if (!tap_ok(r == 0 && n == 1 && mi[0].start == (uint64_t)addr &&
		    mi[0].length == CLIENT_PAGES * DMT_PAGE &&
		    mi[0].flags == DAXMIRROR_MIRROR_WRITE &&
		    mi[0].state == DAXMIRROR_MIRROR_LIVE &&
		    mi[0].backing == DAXMIRROR_BACKING_ANON &&
		    mi[0].dev == 0 && mi[0].ino == 0,
		    "the broker's MIRROR_LIST: the client's writable anonymous mirror, live"))
		tap_diag("ret %s count %u start %llx (want %llx) len %llu flags %u state %u backing %u",
			 tap_errname(-r), n,
			 n ? (unsigned long long)mi[0].start : 0,
			 (unsigned long long)addr,
			 n ? (unsigned long long)mi[0].length : 0,
			 n ? mi[0].flags : 0, n ? mi[0].state : 0,
			 n ? mi[0].backing : 0);
	free(mi);

	dmt_send_i64(c.sock, 1);
	st = dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);
	r = dmt_session_info(s.ctl, s.id, &info);
	if (!tap_ok(st == 0 && r == 0 && info.state == DAXMIRROR_STATE_MM_GONE,
		    "after the client exits: state MM_GONE"))
		tap_diag("child status %d ret %s state %u", st, tap_errname(-r),
			 info.state);
	if (!tap_ok(r == 0 && info.nr_mirrors == 0 && info.mirrored_pages == 0,
		    "after the client exits: no live mirror (nr_mirrors 0, mirrored_pages 0)"))
		tap_diag("nr_mirrors %u mirrored_pages %llu", info.nr_mirrors,
			 (unsigned long long)info.mirrored_pages);
}

static void g_close(const void *arg)
{
	_cleanup_close_ int ctl = dmt_open_control();
	_cleanup_close_ int sfd = -1;
	_cleanup_free_ uint64_t *ids = NULL;
	struct daxmirror_session_info info;
	struct daxmirror_event ev;
	uint64_t id = 0;
	uint32_t n = 0;
	int r;

	(void)arg;
	if (ctl < 0 || (sfd = dmt_session_create(ctl, 0, 0, 0, &id)) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	close(take_fd(&sfd));
	r = dmt_list_sessions(ctl, &ids, &n);
	tap_ok(r == 0 && !dmt_ids_contain(ids, n, id),
	       "closing the last session fd removes it from LIST_SESSIONS");
	r = dmt_event_wait(ctl, DAXMIRROR_EVENT_SESSION_CLOSED, id,
			   DMT_EVENT_TIMEOUT_MS, &ev);
	if (!tap_ok(r == 0 && ev.mirror_id == 0 && ev.flags == 0,
		    "SESSION_CLOSED event with the session id on the control fd"))
		tap_diag("ret %s", tap_errname(-r));
	tap_errno(dmt_session_info(ctl, id, &info), ENOENT,
		  "SESSION_INFO of a closed session -> ENOENT");
}

static int child_open_unpriv(int sock, void *arg)
{
	int r = dmt_drop_privileges(DMT_NOBODY, DMT_NOBODY);
	int fd;

	(void)arg;
	if (r < 0) {
		tap_diag("child: drop privileges: %s", tap_errname(-r));
		dmt_send_i64(sock, -ENOTRECOVERABLE);
		return 1;
	}
	fd = dmt_open_control();
	dmt_send_i64(sock, fd < 0 ? fd : 0);
	return 0;
}

static void g_unpriv(const void *arg)
{
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	int64_t v = 0;
	int r;

	(void)arg;
	r = dmt_child_start(&c, child_open_unpriv, NULL);
	if (r == 0)
		r = dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS);
	tap_errno(r < 0 ? r : v, EACCES,
		  "uid %d cannot open %s -> EACCES", DMT_NOBODY, DMT_CONTROL_PATH);
	dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);
}

static void g_idle(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	struct daxmirror_event ev;
	int rev;

	(void)arg;
	if (dmt_session_open(&s, 0, 0, 0, false) < 0 ||
	    dmt_set_nonblock(s.sfd) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	rev = dmt_poll(s.sfd, POLLIN, 0);
	if (!tap_ok(rev == 0, "poll on an idle session fd: no POLLIN, no POLLHUP"))
		tap_diag("revents 0x%x", rev);
	tap_errno(read(s.sfd, &ev, sizeof(ev)) < 0 ? -errno : 0, EAGAIN,
		  "read() on an idle O_NONBLOCK session fd -> EAGAIN");
}

/* SESSION_INFO on the control fd that re-arms SESSION_CHANGED. */
static int info_ack(int ctl, uint64_t id, struct daxmirror_session_info *info)
{
	memset(info, 0, sizeof(*info));
	info->session_id = id;
	info->flags = DAXMIRROR_INFO_ACK_CHANGE;
	return (int)dmt_ioctl(ctl, DAXMIRROR_IOC_SESSION_INFO, info);
}

/* Events of session @id queued on @ctl now (O_NONBLOCK): how many of
 * @type, and whether an OVERFLOW came. */
static int count_events(int ctl, uint64_t id, uint32_t type, bool *overflow)
{
	struct daxmirror_event ev[16];
	int n = 0;
	ssize_t got;

	*overflow = false;
	while ((got = read(ctl, ev, sizeof(ev))) > 0) {
		for (size_t i = 0; i < (size_t)got / sizeof(ev[0]); i++) {
			if (ev[i].type == DAXMIRROR_EVENT_OVERFLOW)
				*overflow = true;
			else if (ev[i].session_id == id && ev[i].type == type)
				n++;
		}
	}
	return n;
}

/*
 * The broker's view of a session is event-driven: the control fd gets
 * one SESSION_CHANGED when the session is bound or a mirror comes or goes,
 * then none until SESSION_INFO with DAXMIRROR_INFO_ACK_CHANGE re-arms it,
 * so a client reshaping mirrors in a loop cannot flood the queue.
 */
static void g_changed(const void *arg)
{
	_cleanup_close_ int ctl = dmt_open_control();
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_session_info info;
	const size_t len = 16 * DMT_PAGE;
	uint64_t mid = 0;
	bool ovf = false;
	int n, r = 0;

	(void)arg;
	if (ctl < 0 || dmt_set_nonblock(ctl) < 0 ||
	    dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, len, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	n = count_events(ctl, s.id, DAXMIRROR_EVENT_SESSION_CHANGED, &ovf);
	tap_ok(n == 1 && !ovf, "BIND posts one SESSION_CHANGED on the control fd (%d)", n);

	/* Not acked: 300 adds and removes queue nothing more. */
	for (int i = 0; i < 300 && r == 0; i++) {
		r = dmt_mirror_add(s.sfd, m.addr, len, 0, &mid);
		if (r == 0)
			r = dmt_mirror_remove(s.sfd, mid);
	}
	n = count_events(ctl, s.id, DAXMIRROR_EVENT_SESSION_CHANGED, &ovf);
	tap_ok(r == 0 && n == 0 && !ovf,
	       "until acked, 300 mirror adds and removes post no event and no OVERFLOW (%d)", n);

	r = info_ack(ctl, s.id, &info);
	tap_ok(r == 0 && info.nr_mirrors == 0 && info.flags == 0,
	       "SESSION_INFO with ACK_CHANGE reads the session (0 mirrors)");
	r = dmt_mirror_add(s.sfd, m.addr, len, 0, &mid);
	n = count_events(ctl, s.id, DAXMIRROR_EVENT_SESSION_CHANGED, &ovf);
	tap_ok(r == 0 && n == 1, "after the ack, MIRROR_ADD posts one SESSION_CHANGED (%d)", n);
	r = info_ack(ctl, s.id, &info);
	tap_ok(r == 0 && info.nr_mirrors == 1, "the acked read shows the new mirror");

	/* A munmap of the whole mirror releases it: that is a change too. */
	dmt_unmap(&m);
	n = count_events(ctl, s.id, DAXMIRROR_EVENT_SESSION_CHANGED, &ovf);
	r = info_ack(ctl, s.id, &info);
	tap_ok(n == 1 && r == 0 && info.nr_mirrors == 0,
	       "munmap of the mirror posts one SESSION_CHANGED; 0 live mirrors (%d)", n);
	n = count_events(ctl, s.id, DAXMIRROR_EVENT_SESSION_CHANGED, &ovf);
	tap_ok(n == 0, "a read that changed nothing posts nothing (%d)", n);

	tap_errno(info_ack(ctl, 0, &info), ENOENT,
		  "ACK_CHANGE for session 0 -> ENOENT (how a broker probes for it)");
	memset(&info, 0, sizeof(info));
	info.flags = DAXMIRROR_INFO_ACK_CHANGE;
	tap_errno(dmt_ioctl(s.sfd, DAXMIRROR_IOC_SESSION_INFO, &info), EINVAL,
		  "ACK_CHANGE on a session fd -> EINVAL");
	memset(&info, 0, sizeof(info));
	info.session_id = s.id;
	info.flags = 0x2;
	tap_errno(dmt_ioctl(ctl, DAXMIRROR_IOC_SESSION_INFO, &info), EINVAL,
		  "an unknown SESSION_INFO flag -> EINVAL");
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "control node and VERSION", 7, g_control, NULL },
		{ "CREATE_SESSION validation", 5, g_create, NULL },
		{ "an unbound session", 7, g_unbound, NULL },
		{ "BIND", 5, g_bind, NULL },
		{ "ioctls on the wrong fd type", 13, g_wrong_fd, NULL },
		{ "LIST_SESSIONS and SESSION_INFO", 4, g_listing, NULL },
		{ "an unprivileged client", 5, g_client, NULL },
		{ "closing a session", 3, g_close, NULL },
		{ "unprivileged open", 1, g_unpriv, NULL },
		{ "an idle session fd", 2, g_idle, NULL },
		{ "SESSION_CHANGED on the control fd", 10, g_changed, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root (the broker opens %s)", DMT_CONTROL_PATH);
	return tap_main(groups, ARRAY_SIZE(groups), 300);
}
