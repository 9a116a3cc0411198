/* test-badinput.c - every ioctl validates its input: for each struct a
 * valid baseline is accepted, then one field at a time is spoiled (unknown
 * flag bits, non-zero pad, each reserved word) -> EINVAL; ranges that are
 * unaligned, empty, overflowing, huge, in a hole or outside every mirror;
 * bad user pointers -> EFAULT; BIND with an argument; read() with a short
 * buffer; GRANT_FILE of O_PATH fds, directories, pipes, read-only fds, bad
 * ranges, too many grants. Runs in the guest as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt.h"

#define SESSION_FLAGS (DAXMIRROR_SESSION_ALLOW_ANON | DAXMIRROR_SESSION_ALLOW_WRITE | \
		       DAXMIRROR_SESSION_ALLOW_PAGECACHE)
#define NPAGES 16

/* Layout of the test mapping (page numbers). */
enum {
	PG_M1 = 0,	/* 0-3: writable mirror m1 */
	PG_M2 = 4,	/* 4-5: writable mirror m2, adjacent to m1 */
	PG_FREE = 8,	/* 8: mapped, the MIRROR_ADD baseline */
	PG_VICTIM = 9,	/* 9: mirrored and removed by the REMOVE cases */
	PG_PLAIN = 10,	/* 10-11: mapped, no mirror */
	PG_HOLE = 12,	/* 12: unmapped */
};

struct ctx {
	struct dmt_session s;
	struct dmt_map m;
	struct dmt_file f;
	uint8_t *p;
	uint64_t m1, m2;
	uint8_t pages[NPAGES];
	uint8_t buf[256];
	uint64_t ids[4];
	struct daxmirror_mirror_info infos[2];
};

union arg {
	struct daxmirror_version version;
	struct daxmirror_session_create create;
	struct daxmirror_grant grant;
	struct daxmirror_ungrant ungrant;
	struct daxmirror_session_list list;
	struct daxmirror_revoke revoke;
	struct daxmirror_session_info info;
	struct daxmirror_mirror_list mlist;
	struct daxmirror_mirror_add add;
	struct daxmirror_mirror_remove remove;
	struct daxmirror_fault fault;
	struct daxmirror_snapshot snap;
	struct daxmirror_rw rw;
	uint8_t raw[256];
};

struct kind {
	const char *name;
	unsigned long req;
	bool control;	/* issued on the control fd */
};

static const struct kind kinds[] = {
	{ "VERSION", DAXMIRROR_IOC_VERSION, false },
	{ "CREATE_SESSION", DAXMIRROR_CTL_CREATE_SESSION, true },
	{ "GRANT_FILE", DAXMIRROR_CTL_GRANT_FILE, true },
	{ "UNGRANT", DAXMIRROR_CTL_UNGRANT, true },
	{ "LIST_SESSIONS", DAXMIRROR_CTL_LIST_SESSIONS, true },
	{ "REVOKE", DAXMIRROR_CTL_REVOKE, true },
	{ "SESSION_INFO", DAXMIRROR_IOC_SESSION_INFO, true },
	{ "MIRROR_LIST", DAXMIRROR_IOC_MIRROR_LIST, true },
	{ "MIRROR_ADD", DAXMIRROR_IOC_MIRROR_ADD, false },
	{ "MIRROR_REMOVE", DAXMIRROR_IOC_MIRROR_REMOVE, false },
	{ "FAULT", DAXMIRROR_IOC_FAULT, false },
	{ "SNAPSHOT", DAXMIRROR_IOC_SNAPSHOT, false },
	{ "READ", DAXMIRROR_IOC_READ, false },
	{ "WRITE", DAXMIRROR_IOC_WRITE, false },
};

static const struct kind *kind_of(unsigned long req)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i].req == req)
			return &kinds[i];
	tap_bail("unknown request 0x%lx", req);
}

/* One field to spoil: @count elements of @size bytes from @off. */
struct spoil {
	size_t off, size;
	uint64_t value;
};

/* Build the valid baseline for @k (with per-call resources: a spare
 * session to revoke, a victim mirror to remove), apply @sp if any, issue
 * it, undo whatever a wrongly accepted call created. */
static long run(struct ctx *c, const struct kind *k, const struct spoil *sp)
{
	_cleanup_close_ int spare = -1;
	uint64_t spare_id = 0, victim = 0;
	bool have_victim = false;
	union arg a;
	long r;

	memset(&a, 0, sizeof(a));
	switch (k->req) {
	case DAXMIRROR_CTL_CREATE_SESSION:
		a.create.fd = -1;
		break;
	case DAXMIRROR_CTL_GRANT_FILE:
		a.grant = (struct daxmirror_grant){ .session_id = c->s.id,
			.fd = c->f.fd, .length = DMT_PAGE };
		break;
	case DAXMIRROR_CTL_UNGRANT: {
		struct stat st;

		/* A grant to give back (given back below if refused). */
		if (fstat(c->f.fd, &st) < 0 ||
		    dmt_grant(c->s.ctl, c->s.id, c->f.fd, 0, 0, DMT_PAGE) < 0)
			return -ENOTRECOVERABLE;
		a.ungrant = (struct daxmirror_ungrant){ .session_id = c->s.id,
			.dev = st.st_dev, .ino = st.st_ino, .length = DMT_PAGE };
		break;
	}
	case DAXMIRROR_CTL_LIST_SESSIONS:
		a.list = (struct daxmirror_session_list){
			.ids = (uintptr_t)c->ids, .capacity = 4 };
		break;
	case DAXMIRROR_CTL_REVOKE:
		spare = dmt_session_create(c->s.ctl, 0, 0, 0, &spare_id);
		if (spare < 0)
			return spare;
		a.revoke.session_id = spare_id;
		break;
	case DAXMIRROR_IOC_SESSION_INFO:
		a.info.session_id = c->s.id;
		break;
	case DAXMIRROR_IOC_MIRROR_LIST:
		a.mlist = (struct daxmirror_mirror_list){ .session_id = c->s.id,
			.mirrors = (uintptr_t)c->infos, .capacity = 2 };
		break;
	case DAXMIRROR_IOC_MIRROR_ADD:
		a.add = (struct daxmirror_mirror_add){
			.addr = (uintptr_t)(c->p + PG_FREE * DMT_PAGE),
			.length = DMT_PAGE, .flags = DAXMIRROR_MIRROR_WRITE };
		break;
	case DAXMIRROR_IOC_MIRROR_REMOVE:
		r = dmt_mirror_add(c->s.sfd, c->p + PG_VICTIM * DMT_PAGE,
				   DMT_PAGE, 0, &victim);
		if (r < 0)
			return r;
		have_victim = true;
		a.remove.id = victim;
		break;
	case DAXMIRROR_IOC_FAULT:
		a.fault = (struct daxmirror_fault){
			.addr = (uintptr_t)c->p, .length = 4 * DMT_PAGE,
			.flags = DAXMIRROR_FAULT_WRITE };
		break;
	case DAXMIRROR_IOC_SNAPSHOT:
		a.snap = (struct daxmirror_snapshot){
			.addr = (uintptr_t)c->p, .length = 4 * DMT_PAGE,
			.pages = (uintptr_t)c->pages };
		break;
	case DAXMIRROR_IOC_READ:
	case DAXMIRROR_IOC_WRITE:
		a.rw = (struct daxmirror_rw){ .addr = (uintptr_t)c->p + 100,
			.length = 64, .buf = (uintptr_t)c->buf };
		break;
	default:
		break;
	}
	if (sp)
		memcpy(a.raw + sp->off, &sp->value, sp->size);
	r = dmt_ioctl(k->control ? c->s.ctl : c->s.sfd, k->req, &a);
	if (r >= 0 && k->req == DAXMIRROR_CTL_CREATE_SESSION && a.create.fd >= 0)
		close(a.create.fd);
	if (r >= 0 && k->req == DAXMIRROR_IOC_MIRROR_ADD)
		dmt_mirror_remove(c->s.sfd, a.add.id);
	if (have_victim)
		dmt_mirror_remove(c->s.sfd, victim); /* still there if refused */
	if (r < 0 && k->req == DAXMIRROR_CTL_UNGRANT) {
		struct daxmirror_ungrant u = a.ungrant;

		memset(&a, 0, sizeof(a));
		a.ungrant = (struct daxmirror_ungrant){ .session_id = c->s.id,
			.dev = u.dev, .ino = u.ino, .length = DMT_PAGE };
		/* Refused: the grant made above is still there. */
		(void)dmt_ioctl(c->s.ctl, DAXMIRROR_CTL_UNGRANT, &a);
	}
	return r;
}

static void g_baselines(const void *arg)
{
	struct ctx *c = (struct ctx *)arg;

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		tap_success(run(c, &kinds[i], NULL),
			    "baseline %s arguments are accepted", kinds[i].name);
}

struct field_case {
	unsigned long req;
	const char *field;
	size_t off, size, count;
	uint64_t v1, v2;
};

#define FLAGS(T, req, bad) { req, "flags", offsetof(struct T, flags), 4, 1, \
			     (bad), 1U << 31 }
#define PAD(T, req) { req, "pad", offsetof(struct T, pad), 4, 1, 1, 0xffffffff }
#define RESERVED(T, req) { req, "reserved[]", offsetof(struct T, reserved), 8, \
	sizeof(((struct T *)0)->reserved) / 8, 1, 1ULL << 63 }

static const struct field_case field_cases[] = {
	FLAGS(daxmirror_version, DAXMIRROR_IOC_VERSION, 1),
	FLAGS(daxmirror_session_create, DAXMIRROR_CTL_CREATE_SESSION,
	      DAXMIRROR_SESSION_FLAGS + 1),
	FLAGS(daxmirror_grant, DAXMIRROR_CTL_GRANT_FILE, DAXMIRROR_GRANT_WRITE << 1),
	FLAGS(daxmirror_session_list, DAXMIRROR_CTL_LIST_SESSIONS, 1),
	FLAGS(daxmirror_revoke, DAXMIRROR_CTL_REVOKE, 1),
	FLAGS(daxmirror_session_info, DAXMIRROR_IOC_SESSION_INFO,
	      DAXMIRROR_INFO_ACK_CHANGE << 1),
	FLAGS(daxmirror_ungrant, DAXMIRROR_CTL_UNGRANT, DAXMIRROR_GRANT_WRITE << 1),
	PAD(daxmirror_ungrant, DAXMIRROR_CTL_UNGRANT),
	FLAGS(daxmirror_mirror_list, DAXMIRROR_IOC_MIRROR_LIST, 1),
	FLAGS(daxmirror_mirror_add, DAXMIRROR_IOC_MIRROR_ADD, DAXMIRROR_MIRROR_WRITE << 1),
	FLAGS(daxmirror_mirror_remove, DAXMIRROR_IOC_MIRROR_REMOVE, 1),
	FLAGS(daxmirror_fault, DAXMIRROR_IOC_FAULT, DAXMIRROR_FAULT_WRITE << 1),
	FLAGS(daxmirror_snapshot, DAXMIRROR_IOC_SNAPSHOT, 1),
	FLAGS(daxmirror_rw, DAXMIRROR_IOC_READ, 1),
	FLAGS(daxmirror_rw, DAXMIRROR_IOC_WRITE, 1),
	PAD(daxmirror_session_create, DAXMIRROR_CTL_CREATE_SESSION),
	PAD(daxmirror_session_list, DAXMIRROR_CTL_LIST_SESSIONS),
	PAD(daxmirror_revoke, DAXMIRROR_CTL_REVOKE),
	PAD(daxmirror_mirror_list, DAXMIRROR_IOC_MIRROR_LIST),
	PAD(daxmirror_mirror_add, DAXMIRROR_IOC_MIRROR_ADD),
	PAD(daxmirror_mirror_remove, DAXMIRROR_IOC_MIRROR_REMOVE),
	PAD(daxmirror_fault, DAXMIRROR_IOC_FAULT),
	PAD(daxmirror_snapshot, DAXMIRROR_IOC_SNAPSHOT),
	PAD(daxmirror_rw, DAXMIRROR_IOC_READ),
	PAD(daxmirror_rw, DAXMIRROR_IOC_WRITE),
	RESERVED(daxmirror_version, DAXMIRROR_IOC_VERSION),
	RESERVED(daxmirror_session_create, DAXMIRROR_CTL_CREATE_SESSION),
	RESERVED(daxmirror_grant, DAXMIRROR_CTL_GRANT_FILE),
	RESERVED(daxmirror_ungrant, DAXMIRROR_CTL_UNGRANT),
	RESERVED(daxmirror_session_list, DAXMIRROR_CTL_LIST_SESSIONS),
	RESERVED(daxmirror_revoke, DAXMIRROR_CTL_REVOKE),
	RESERVED(daxmirror_session_info, DAXMIRROR_IOC_SESSION_INFO),
	RESERVED(daxmirror_mirror_list, DAXMIRROR_IOC_MIRROR_LIST),
	RESERVED(daxmirror_mirror_add, DAXMIRROR_IOC_MIRROR_ADD),
	RESERVED(daxmirror_mirror_remove, DAXMIRROR_IOC_MIRROR_REMOVE),
	RESERVED(daxmirror_fault, DAXMIRROR_IOC_FAULT),
	RESERVED(daxmirror_snapshot, DAXMIRROR_IOC_SNAPSHOT),
	RESERVED(daxmirror_rw, DAXMIRROR_IOC_READ),
	RESERVED(daxmirror_rw, DAXMIRROR_IOC_WRITE),
};

static void g_fields(const void *arg)
{
	struct ctx *c = (struct ctx *)arg;

	for (size_t i = 0; i < ARRAY_SIZE(field_cases); i++) {
		const struct field_case *fc = &field_cases[i];
		const struct kind *k = kind_of(fc->req);
		bool ok = true;

		for (size_t e = 0; e < fc->count; e++) {
			const uint64_t vals[2] = { fc->v1, fc->v2 };

			for (int v = 0; v < 2; v++) {
				struct spoil sp = { fc->off + e * fc->size,
						    fc->size, vals[v] };
				long r = run(c, k, &sp);

				if (r != -EINVAL) {
					tap_diag("%s %s[%zu] = 0x%llx: %s", k->name,
						 fc->field, e,
						 (unsigned long long)vals[v],
						 r >= 0 ? "accepted" :
						 tap_errname((int)-r));
					ok = false;
				}
			}
		}
		tap_ok(ok, "%s with a non-zero %s%s -> EINVAL", k->name,
		       fc->field, strcmp(fc->field, "flags") ? "" : " (unknown bit)");
	}
}

static long add_raw(struct ctx *c, uint64_t addr, uint64_t len)
{
	struct daxmirror_mirror_add a = { .addr = addr, .length = len };
	long r = dmt_ioctl(c->s.sfd, DAXMIRROR_IOC_MIRROR_ADD, &a);

	if (r >= 0)
		dmt_mirror_remove(c->s.sfd, a.id);
	return r;
}

static long fault_raw(struct ctx *c, uint64_t addr, uint64_t len)
{
	struct daxmirror_fault f = { .addr = addr, .length = len };

	return dmt_ioctl(c->s.sfd, DAXMIRROR_IOC_FAULT, &f);
}

static long snap_raw(struct ctx *c, uint64_t addr, uint64_t len, uint64_t pages)
{
	struct daxmirror_snapshot s = { .addr = addr, .length = len, .pages = pages };

	return dmt_ioctl(c->s.sfd, DAXMIRROR_IOC_SNAPSHOT, &s);
}

static long rw_raw(struct ctx *c, unsigned long req, uint64_t addr, uint64_t len,
		   uint64_t buf)
{
	struct daxmirror_rw rw = { .addr = addr, .length = len, .buf = buf };

	return dmt_ioctl(c->s.sfd, req, &rw);
}

#define TOP_ADDR 0xfffffffffffff000ULL
#define KERNEL_ADDR 0xffff888000000000ULL
#define HUGE_LEN (1ULL << 62)

static void g_ranges(const void *arg)
{
	struct ctx *c = (struct ctx *)arg;
	uint64_t p = (uintptr_t)c->p, free_pg = p + PG_FREE * DMT_PAGE;
	void *never = dmt_unmapped_range(4 * DMT_PAGE);
	long r;

	/* MIRROR_ADD */
	tap_errno(add_raw(c, free_pg + 1, DMT_PAGE), EINVAL, "MIRROR_ADD at an unaligned address -> EINVAL");
	tap_errno(add_raw(c, free_pg, DMT_PAGE + 1), EINVAL, "MIRROR_ADD of an unaligned length -> EINVAL");
	tap_errno(add_raw(c, free_pg, 0), EINVAL, "MIRROR_ADD of length 0 -> EINVAL");
	tap_errno(add_raw(c, TOP_ADDR, 2 * DMT_PAGE), EINVAL, "MIRROR_ADD whose addr + length overflows -> EINVAL");
	tap_errno(add_raw(c, free_pg, HUGE_LEN), EINVAL, "MIRROR_ADD of length 1<<62 (past the user address space) -> EINVAL");
	tap_errno(add_raw(c, KERNEL_ADDR, DMT_PAGE), EINVAL, "MIRROR_ADD of a kernel address -> EINVAL");
	tap_errno(add_raw(c, p + (PG_HOLE - 1) * DMT_PAGE, 3 * DMT_PAGE), EFAULT,
		  "MIRROR_ADD of a range with a hole (past the VMA) -> EFAULT");
	tap_errno(never ? add_raw(c, (uintptr_t)never, 4 * DMT_PAGE) : -ENOMEM, EFAULT,
		  "MIRROR_ADD of a range never mapped -> EFAULT");

	/* FAULT */
	tap_errno(fault_raw(c, p + 1, DMT_PAGE), EINVAL, "FAULT at an unaligned address -> EINVAL");
	tap_errno(fault_raw(c, p, DMT_PAGE + 1), EINVAL, "FAULT of an unaligned length -> EINVAL");
	tap_errno(fault_raw(c, p, 0), EINVAL, "FAULT of length 0 -> EINVAL");
	tap_errno(fault_raw(c, TOP_ADDR, 2 * DMT_PAGE), EINVAL, "FAULT whose addr + length overflows -> EINVAL");
	tap_errno(fault_raw(c, p + PG_PLAIN * DMT_PAGE, DMT_PAGE), ENOENT,
		  "FAULT outside every mirror -> ENOENT");
	tap_errno(fault_raw(c, p + (PG_M2 - 1) * DMT_PAGE, 2 * DMT_PAGE), ENOENT,
		  "FAULT spanning two adjacent mirrors (not inside one) -> ENOENT");
	r = fault_raw(c, p, HUGE_LEN);
	if (!tap_ok(r == -EINVAL || r == -ENOENT, "FAULT of length 1<<62 -> EINVAL or ENOENT"))
		tap_diag("got %s", r >= 0 ? "success" : tap_errname((int)-r));

	/* SNAPSHOT */
	tap_errno(snap_raw(c, p + 1, DMT_PAGE, (uintptr_t)c->pages), EINVAL,
		  "SNAPSHOT at an unaligned address -> EINVAL");
	tap_errno(snap_raw(c, p, DMT_PAGE + 1, (uintptr_t)c->pages), EINVAL,
		  "SNAPSHOT of an unaligned length -> EINVAL");
	tap_errno(snap_raw(c, p, 0, (uintptr_t)c->pages), EINVAL, "SNAPSHOT of length 0 -> EINVAL");
	tap_errno(snap_raw(c, TOP_ADDR, 2 * DMT_PAGE, (uintptr_t)c->pages), EINVAL,
		  "SNAPSHOT whose addr + length overflows -> EINVAL");
	tap_errno(snap_raw(c, p, 4 * DMT_PAGE, (uintptr_t)never), EFAULT,
		  "SNAPSHOT into an unmapped pages buffer -> EFAULT");
	memset(c->pages, 0xee, NPAGES);
	r = snap_raw(c, p + PG_PLAIN * DMT_PAGE, 2 * DMT_PAGE, (uintptr_t)c->pages);
	tap_ok(r == 0 && c->pages[0] == DAXMIRROR_SNAP_NONE &&
	       c->pages[1] == DAXMIRROR_SNAP_NONE && c->pages[2] == 0xee,
	       "SNAPSHOT outside every mirror succeeds: NONE for each page, nothing more written");

	/* READ / WRITE */
	tap_errno(rw_raw(c, DAXMIRROR_IOC_READ, p, 0, (uintptr_t)c->buf), EINVAL,
		  "READ of length 0 -> EINVAL");
	tap_errno(rw_raw(c, DAXMIRROR_IOC_READ, TOP_ADDR + 100, 2 * DMT_PAGE, (uintptr_t)c->buf),
		  EINVAL, "READ whose addr + length overflows -> EINVAL");
	tap_errno(rw_raw(c, DAXMIRROR_IOC_READ, p + PG_PLAIN * DMT_PAGE, 16, (uintptr_t)c->buf),
		  ENOENT, "READ outside every mirror -> ENOENT");
	tap_errno(rw_raw(c, DAXMIRROR_IOC_WRITE, p + (PG_M2 + 2) * DMT_PAGE - 8, 16,
			 (uintptr_t)c->buf),
		  ENOENT, "WRITE running past the end of a mirror -> ENOENT");
	tap_errno(rw_raw(c, DAXMIRROR_IOC_READ, p, 64, (uintptr_t)never), EFAULT,
		  "READ into an unmapped buffer -> EFAULT");
	tap_errno(rw_raw(c, DAXMIRROR_IOC_WRITE, p, 64, (uintptr_t)never), EFAULT,
		  "WRITE from an unmapped buffer -> EFAULT");
	r = rw_raw(c, DAXMIRROR_IOC_READ, p, HUGE_LEN, (uintptr_t)c->buf);
	if (!tap_ok(r == -EINVAL || r == -ENOENT, "READ of length 1<<62 -> EINVAL or ENOENT"))
		tap_diag("got %s", r >= 0 ? "success" : tap_errname((int)-r));

	/* MIRROR_REMOVE */
	tap_errno(dmt_mirror_remove(c->s.sfd, c->m2 + 100000), ENOENT,
		  "MIRROR_REMOVE of an unknown id -> ENOENT");
}

static void g_pointers(const void *arg)
{
	struct ctx *c = (struct ctx *)arg;
	void *never = dmt_unmapped_range(DMT_PAGE);
	struct daxmirror_session_list l = { .ids = (uintptr_t)never, .capacity = 4 };
	struct daxmirror_mirror_list ml = { .session_id = c->s.id,
		.mirrors = (uintptr_t)never, .capacity = 2 };
	long r;

	r = dmt_ioctl(c->s.ctl, DAXMIRROR_CTL_CREATE_SESSION, NULL);
	tap_errno(r, EFAULT, "CREATE_SESSION with a NULL argument -> EFAULT");
	tap_errno(dmt_ioctl(c->s.sfd, DAXMIRROR_IOC_MIRROR_ADD, never), EFAULT,
		  "MIRROR_ADD with an unmapped argument -> EFAULT");
	tap_errno(dmt_ioctl(c->s.ctl, DAXMIRROR_CTL_LIST_SESSIONS, &l), EFAULT,
		  "LIST_SESSIONS into an unmapped ids array -> EFAULT");
	tap_errno(dmt_ioctl(c->s.ctl, DAXMIRROR_IOC_MIRROR_LIST, &ml), EFAULT,
		  "MIRROR_LIST into an unmapped array -> EFAULT");
}

static void g_bind_read(const void *arg)
{
	_cleanup_session_ struct dmt_session u = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_event ev;
	char small[sizeof(struct daxmirror_event) - 1];
	uint64_t closed_id = 0;
	long r1, r2;
	int fd, r;

	(void)arg;
	if (dmt_session_open(&u, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, false) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	r1 = dmt_ioctl(u.sfd, DAXMIRROR_IOC_BIND, (void *)1);
	r2 = dmt_bind(u.sfd);
	if (!tap_ok(r1 == -EINVAL && r2 == 0, "BIND with a non-zero argument -> EINVAL; with 0 it binds"))
		tap_diag("BIND(1): %s, BIND(0): %s", tap_errname((int)-r1), tap_errname((int)-r2));

	/* queue a MIRROR_RELEASED on the session fd */
	r = dmt_map_anon(&m, DMT_PAGE, 0, PROT_READ, 0);
	if (r == 0)
		r = dmt_mirror_add(u.sfd, m.addr, DMT_PAGE, 0, NULL);
	dmt_unmap(&m);
	if (r == 0)
		r = dmt_poll(u.sfd, POLLIN, DMT_EVENT_TIMEOUT_MS) > 0 ? 0 : -ETIMEDOUT;
	r1 = r < 0 ? r : (read(u.sfd, small, sizeof(small)) < 0 ? -errno : 0);
	r2 = dmt_event_read(u.sfd, &ev, 1000);
	if (!tap_ok(r1 == -EINVAL && r2 == 0 && ev.type == DAXMIRROR_EVENT_MIRROR_RELEASED,
		    "read() of a session fd with a buffer smaller than an event -> EINVAL, the event stays queued"))
		tap_diag("short read: %s, full read: %s", tap_errname((int)-r1),
			 tap_errname((int)-r2));

	/* queue a SESSION_CLOSED on a control fd whose queue was drained */
	r = dmt_set_nonblock(u.ctl);
	while (r == 0 && read(u.ctl, &ev, sizeof(ev)) == sizeof(ev))
		;
	fd = r < 0 ? r : dmt_session_create(u.ctl, 0, 0, 0, &closed_id);
	if (fd >= 0)
		close(fd);
	r = fd < 0 ? fd : (dmt_poll(u.ctl, POLLIN, DMT_EVENT_TIMEOUT_MS) > 0 ? 0 : -ETIMEDOUT);
	r1 = r < 0 ? r : (read(u.ctl, small, sizeof(small)) < 0 ? -errno : 0);
	r2 = dmt_event_wait(u.ctl, DAXMIRROR_EVENT_SESSION_CLOSED, closed_id, 1000, &ev);
	if (!tap_ok(r1 == -EINVAL && r2 == 0,
		    "read() of the control fd with a buffer smaller than an event -> EINVAL, the event stays queued"))
		tap_diag("short read: %s, then SESSION_CLOSED: %s", tap_errname((int)-r1),
			 tap_errname((int)-r2));
}

static void g_grant(const void *arg)
{
	struct ctx *c = (struct ctx *)arg;
	_cleanup_session_ struct dmt_session ro = DMT_SESSION_INIT;
	_cleanup_session_ struct dmt_session many = DMT_SESSION_INIT;
	_cleanup_close_ int opath = open(c->f.path, O_PATH | O_CLOEXEC);
	_cleanup_close_ int rdonly = open(c->f.path, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int dir = -1;
	_cleanup_file_ struct dmt_file big = DMT_FILE_INIT;
	int pipefd[2] = { -1, -1 };
	char dirpath[PATH_MAX];
	uint64_t sid = c->s.id;
	int fd = c->f.fd, r = 0, granted = 0;

	snprintf(dirpath, sizeof(dirpath), "%s", c->f.path);
	*strrchr(dirpath, '/') = '\0';
	dir = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (opath < 0 || rdonly < 0 || dir < 0 || pipe2(pipefd, O_CLOEXEC) < 0 ||
	    dmt_session_open(&ro, DAXMIRROR_SESSION_ALLOW_PAGECACHE, 0, 0, false) < 0 ||
	    dmt_session_open(&many, SESSION_FLAGS, 0, 0, false) < 0) {
		tap_fail_rest("setup failed");
		if (pipefd[0] >= 0) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		return;
	}
	tap_errno(dmt_grant(c->s.ctl, sid, opath, 0, 0, DMT_PAGE), EBADF, "GRANT_FILE of an O_PATH fd -> EBADF");
	tap_errno(dmt_grant(c->s.ctl, sid, dir, 0, 0, DMT_PAGE), EINVAL, "GRANT_FILE of a directory -> EINVAL");
	tap_errno(dmt_grant(c->s.ctl, sid, pipefd[0], 0, 0, DMT_PAGE), EINVAL, "GRANT_FILE of a pipe -> EINVAL");
	tap_errno(dmt_grant(c->s.ctl, sid, rdonly, DAXMIRROR_GRANT_WRITE, 0, DMT_PAGE), EBADF,
		  "write GRANT_FILE of an O_RDONLY fd -> EBADF");
	tap_errno(dmt_grant(c->s.ctl, sid, -1, 0, 0, DMT_PAGE), EBADF, "GRANT_FILE of fd -1 -> EBADF");
	tap_errno(dmt_grant(c->s.ctl, sid, fd, 0, 100, DMT_PAGE), EINVAL, "GRANT_FILE at an unaligned offset -> EINVAL");
	tap_errno(dmt_grant(c->s.ctl, sid, fd, 0, 0, DMT_PAGE + 1), EINVAL, "GRANT_FILE of an unaligned length -> EINVAL");
	tap_errno(dmt_grant(c->s.ctl, sid, fd, 0, 0, 0), EINVAL, "GRANT_FILE of length 0 -> EINVAL");
	tap_errno(dmt_grant(c->s.ctl, sid, fd, 0, TOP_ADDR, 2 * DMT_PAGE), EINVAL,
		  "GRANT_FILE whose offset + length overflows -> EINVAL");
	tap_errno(dmt_grant(c->s.ctl, sid + 100000, fd, 0, 0, DMT_PAGE), ENOENT,
		  "GRANT_FILE to an unknown session -> ENOENT");
	tap_errno(dmt_grant(ro.ctl, ro.id, fd, DAXMIRROR_GRANT_WRITE, 0, DMT_PAGE), EPERM,
		  "write GRANT_FILE to a session without ALLOW_WRITE -> EPERM");
	/* distinct ranges of a file long enough for all of them */
	r = dmt_file_create(&big, dirpath, "grants",
			    (DAXMIRROR_MAX_GRANTS + 1) * DMT_PAGE, 903);
	for (int i = 0; i < DAXMIRROR_MAX_GRANTS && r == 0; i++) {
		r = dmt_grant(many.ctl, many.id, big.fd, 0, i * DMT_PAGE, DMT_PAGE);
		granted += r == 0;
	}
	if (!tap_ok(granted == DAXMIRROR_MAX_GRANTS &&
		    dmt_grant(many.ctl, many.id, big.fd, 0,
			      DAXMIRROR_MAX_GRANTS * DMT_PAGE, DMT_PAGE) == -ENOSPC,
		    "%d grants fit, one more -> ENOSPC", DAXMIRROR_MAX_GRANTS))
		tap_diag("granted %d, last error %s", granted, tap_errname(-r));
	close(pipefd[0]);
	close(pipefd[1]);
}

static int ctx_open(struct ctx *c)
{
	const char *dir = getenv(DMT_ENV_TMPFS);
	int r;

	c->s = (struct dmt_session)DMT_SESSION_INIT;
	c->m = (struct dmt_map)DMT_MAP_INIT;
	c->f = (struct dmt_file)DMT_FILE_INIT;
	r = dmt_session_open(&c->s, SESSION_FLAGS, 0, 0, true);
	if (r == 0)
		r = dmt_map_anon(&c->m, NPAGES * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0);
	if (r < 0)
		return r;
	c->p = c->m.addr;
	dmt_pattern_fill(c->p, c->m.len, 901, 0);
	if (munmap(c->p + PG_HOLE * DMT_PAGE, DMT_PAGE) < 0)
		return -errno;
	r = dmt_mirror_add(c->s.sfd, c->p + PG_M1 * DMT_PAGE, 4 * DMT_PAGE,
			   DAXMIRROR_MIRROR_WRITE, &c->m1);
	if (r == 0)
		r = dmt_mirror_add(c->s.sfd, c->p + PG_M2 * DMT_PAGE, 2 * DMT_PAGE,
				   DAXMIRROR_MIRROR_WRITE, &c->m2);
	if (r == 0)
		r = dmt_file_create(&c->f, dir ? dir : "/tmp", "badinput", 4 * DMT_PAGE, 902);
	return r;
}

static void ctx_close(struct ctx *c)
{
	dmt_file_remove(&c->f);
	dmt_unmap(&c->m);
	dmt_session_close(&c->s);
}

int main(void)
{
	struct ctx c;
	const struct tap_group groups[] = {
		{ "baselines", ARRAY_SIZE(kinds), g_baselines, &c },
		{ "flags, pad and reserved fields", ARRAY_SIZE(field_cases), g_fields, &c },
		{ "ranges", 29, g_ranges, &c },
		{ "user pointers", 4, g_pointers, &c },
		{ "BIND argument and short reads", 3, g_bind_read, &c },
		{ "GRANT_FILE", 12, g_grant, &c },
	};
	int r, status;

	if (geteuid() != 0)
		tap_bail("must run as root");
	r = ctx_open(&c);
	if (r < 0)
		tap_bail("setup: %s", tap_errname(-r));
	status = tap_main(groups, ARRAY_SIZE(groups), 300);
	ctx_close(&c);
	return status;
}
