/* fdstore.c - sessions survive a daemon crash or restart. While running:
 * every session fd goes to systemd's fd store as "session-ID" and its
 * state record (state.c) as a sealed memfd "state-ID-GEN"; a changed
 * record is stored under GEN+1 before GEN is removed, so a crash between
 * the two leaves one good record. At start: the fds passed back are
 * verified (an anon inode of the daxmirror module, SESSION_INFO on the fd
 * says the id of its name, the control node lists it, not revoked; a
 * record must be a sealed memfd that parses and names the same id), the
 * rest are closed and FDSTOREREMOVEd; then the module's other live
 * sessions are rediscovered (owner unknown); then sessions whose owner
 * left the bus while no daemon watched are ended. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fdstore.h"
#include "kernel.h"
#include "log.h"
#include "session.h"
#include "state.h"
#include "util.h"

#define RECORD_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* --- while running ---------------------------------------------------- */

static int store_fd(const char *name, int fd)
{
	char msg[32 + STATE_NAME_MAX];
	int r;

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	if (r < 0)
		log_warning_errno(r, "fd store: storing %s: %m", name);
	return r;
}

static void remove_name(const char *name)
{
	int r = sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=%s", name);

	if (r < 0)
		log_warning_errno(r, "fd store: removing %s: %m", name);
}

/* A sealed memfd holding @s's state record. */
static int record_memfd(const Session *s, int *ret)
{
	const SessionRecord rec = {
		.id = s->id, .uid = s->uid, .open_pid = s->open_pid, .owner = s->owner,
		.created_usec = s->created_usec, .options = s->options,
		.files = s->files, .n_files = s->n_files, .attached_bytes = s->attached_bytes,
	};
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	size_t size = 0, done = 0;
	int r;

	r = session_record_format(&rec, &text, &size);
	if (r < 0)
		return r;
	fd = memfd_create("daxmirrord-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	while (done < size) {
		ssize_t n = write(fd, text + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, RECORD_SEALS) < 0)
		return -errno;
	*ret = fd;
	fd = -1;
	return 0;
}

/* Stores @s's record as GEN+1, then removes GEN. Sessions of an unknown
 * owner (rediscovered) have no record. */
static void store_record(Session *s)
{
	char name[STATE_NAME_MAX];
	_cleanup_close_ int fd = -1;
	int r;

	if (!s->owner)
		return;
	r = record_memfd(s, &fd);
	if (r < 0) {
		log_warning_errno(r, "session %" PRIu64 ": state record: %m", s->id);
		return;
	}
	state_name_record(name, s->id, s->state_gen + 1);
	if (store_fd(name, fd) < 0)
		return;
	if (s->state_gen) {
		state_name_record(name, s->id, s->state_gen);
		remove_name(name);
	}
	s->state_gen++;
}

void fdstore_session_event(Session *s, SessionEvent ev)
{
	char name[STATE_NAME_MAX];

	switch (ev) {
	case SESSION_EVENT_ADDED:
		if (s->fd >= 0 && !s->stored) {
			state_name_session(name, s->id);
			s->stored = store_fd(name, s->fd) >= 0;
		}
		store_record(s);
		break;
	case SESSION_EVENT_CHANGED:
		store_record(s);
		break;
	case SESSION_EVENT_ENDING:
		if (s->stored) {
			state_name_session(name, s->id);
			remove_name(name);
			s->stored = false;
		}
		if (s->state_gen) {
			state_name_record(name, s->id, s->state_gen);
			remove_name(name);
			s->state_gen = 0;
		}
		break;
	case SESSION_EVENT_DROPPED:
		break;		/* kept for the next daemon */
	}
}

void fdstore_init(Context *ctx)
{
	const char *e = getenv("NOTIFY_SOCKET");

	ctx->fdstore = e && *e;
}

/* --- at start ---------------------------------------------------------- */

typedef struct Passed {
	int fd;
	const char *name;
	size_t index;		/* in $LISTEN_FDS: the first of equals wins */
	StateNameKind kind;
	uint64_t id, gen;
	bool good;		/* verified (a session fd) or parsed (a record) */
	struct daxmirror_session_info info;	/* of a good session fd */
	SessionRecord rec;	/* of a good record */
} Passed;

typedef struct Restore {
	Context *ctx;
	Passed *p;
	size_t n;
	uint64_t *live;		/* CTL_LIST_SESSIONS, sorted */
	size_t n_live;
	unsigned from_store, without_record, rediscovered, dropped_fds, owner_gone,
		 ended_down;
} Restore;

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Why a passed session fd is not taken back. */
typedef enum VerifyResult {
	VERIFY_OK,
	VERIFY_FSTAT_FAILED,
	VERIFY_NOT_ANON_INODE,
	VERIFY_NOT_SESSION_FD,
	VERIFY_INFO_FAILED,
	VERIFY_OTHER_SESSION,
	VERIFY_NOT_LISTED,
	VERIFY_CONTROL_INFO_FAILED,
	_VERIFY_MAX,
} VerifyResult;

static const char *const verify_result_table[_VERIFY_MAX] = {
	[VERIFY_OK] = "verified",
	[VERIFY_FSTAT_FAILED] = "fstat failed",
	[VERIFY_NOT_ANON_INODE] = "not an anonymous inode",
	[VERIFY_NOT_SESSION_FD] = "not a daxmirror session fd",
	[VERIFY_INFO_FAILED] = "SESSION_INFO failed on it",
	[VERIFY_OTHER_SESSION] = "it is another session",
	[VERIFY_NOT_LISTED] = "the control node does not list it",
	[VERIFY_CONTROL_INFO_FAILED] = "SESSION_INFO on the control node failed",
};

/* Is @p's fd really the module's session @p->id? */
static VerifyResult verify_session(Restore *rs, Passed *p)
{
	Kernel *k = &rs->ctx->kernel;
	struct daxmirror_session_info mine;
	char link[64], path[64];
	struct statfs sfs;
	struct stat st;
	ssize_t n;

	if (fstat(p->fd, &st) < 0)
		return VERIFY_FSTAT_FAILED;
	if (fstatfs(p->fd, &sfs) < 0 || sfs.f_type != ANON_INODE_FS_MAGIC)
		return VERIFY_NOT_ANON_INODE;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return VERIFY_NOT_SESSION_FD;
	link[n] = '\0';
	if (!streq(link, k->ops->session_fd_link))
		return VERIFY_NOT_SESSION_FD;
	if (kernel_session_info_fd(k, p->fd, &mine) < 0)
		return VERIFY_INFO_FAILED;
	if (mine.session_id != p->id)
		return VERIFY_OTHER_SESSION;
	if (!rs->n_live || !bsearch(&p->id, rs->live, rs->n_live, sizeof(*rs->live), u64_cmp))
		return VERIFY_NOT_LISTED;
	if (kernel_session_info(k, p->id, &p->info) < 0)
		return VERIFY_CONTROL_INFO_FAILED;
	return VERIFY_OK;
}

/* Reads and parses @p's record; NULL if good, else why not. */
static const char *read_record(Passed *p)
{
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t done = 0;
	int seals;

	if (fstat(p->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return "not a regular file";
	if (st.st_size <= 0 || st.st_size > STATE_MAX_SIZE)
		return "empty or too big";
	seals = fcntl(p->fd, F_GET_SEALS);
	if (seals < 0 || (seals & RECORD_SEALS) != RECORD_SEALS)
		return "not a sealed memfd";
	text = malloc((size_t)st.st_size);
	if (!text)
		return "out of memory";
	while (done < (size_t)st.st_size) {
		ssize_t n = pread(p->fd, text + done, (size_t)st.st_size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return "cannot read it";
		done += (size_t)n;
	}
	if (session_record_parse(&p->rec, text, done) < 0)
		return "malformed";
	if (p->rec.id != p->id) {
		session_record_done(&p->rec);
		return "it names another session";
	}
	return NULL;
}

static void drop(Restore *rs, Passed *p, const char *why)
{
	log_warning("fd store: dropping %s: %s", p->name, why);
	p->fd = safe_close(p->fd);
	p->good = false;
	if (p->kind == STATE_NAME_RECORD)
		session_record_done(&p->rec);
	rs->dropped_fds++;
}

/* Dropped, and its name out of the store. */
static void drop_and_remove(Restore *rs, Passed *p, const char *why)
{
	drop(rs, p, why);
	remove_name(p->name);
}

/* Every fd of session @id (the @n of @p: session fd and records) out of
 * the store. */
static void forget_session(Restore *rs, Passed *p, size_t n, uint64_t id, const char *why)
{
	char name[STATE_NAME_MAX];

	for (size_t i = 0; i < n; i++)
		if (p[i].fd >= 0)
			drop_and_remove(rs, &p[i], why);
	state_name_session(name, id);
	remove_name(name);
}

static void adoption_from_kernel(SessionAdoption *a, const struct daxmirror_session_info *info)
{
	/* The binder's uid, which is the client's; an unbound session's owner
	 * is unknown (SESSION_INFO says uid 0 then, which is not root's):
	 * nobody's, charged to no real user, closable by root only. */
	a->uid = info->state == DAXMIRROR_STATE_NEW ? UID_UNKNOWN : info->uid;
	a->open_pid = info->pid;
	a->options = (SessionOptions){
		.write = info->session_flags & DAXMIRROR_SESSION_ALLOW_WRITE,
		.pagecache = info->session_flags & DAXMIRROR_SESSION_ALLOW_PAGECACHE,
		.anonymous = info->session_flags & DAXMIRROR_SESSION_ALLOW_ANON,
		.max_mirrors = info->max_mirrors,
		.max_bytes = info->max_pages * DM_PAGE_SIZE,
	};
	/* The module does not say how much was granted: what is mirrored
	 * is the least of it. */
	a->attached_bytes = info->mirrored_pages * DM_PAGE_SIZE;
}

/* Takes back the session of the verified fd @sp with its best record @rp
 * (NULL: none); @p, @n: every fd passed for the session. */
static void adopt_stored(Restore *rs, Passed *sp, Passed *rp, Passed *p, size_t n)
{
	Context *ctx = rs->ctx;
	SessionAdoption a = { .id = sp->id, .fd = sp->fd, .stored = true };
	Session *s;
	int r;

	if (sp->info.state == DAXMIRROR_STATE_REVOKED ||
	    sp->info.state == DAXMIRROR_STATE_MM_GONE) {
		/* What the daemon would have done, had it been there. */
		if (sp->info.state == DAXMIRROR_STATE_MM_GONE)
			kernel_revoke(&ctx->kernel, sp->id);
		log_info("session %" PRIu64 ": %s while no daemon ran: ended", sp->id,
			 session_state_name(sp->info.state));
		forget_session(rs, p, n, sp->id, "its session ended while no daemon ran");
		rs->ended_down++;
		return;
	}
	if (rp) {
		SessionRecord *rec = &rp->rec;

		a.uid = rec->uid;
		a.open_pid = rec->open_pid;
		a.owner = rec->owner;
		a.created_usec = rec->created_usec;
		a.options = rec->options;
		a.files = rec->files;
		a.n_files = rec->n_files;
		a.attached_bytes = rec->attached_bytes;
		a.state_gen = rp->gen;
	} else {
		adoption_from_kernel(&a, &sp->info);
	}
	r = session_adopt(ctx, &a, &sp->info, &s);
	if (r < 0) {
		log_error_errno(r, "session %" PRIu64 ": taking it back: %m; left to its client",
				sp->id);
		return;		/* the fds stay in the store */
	}
	sp->fd = -1;
	if (rp) {
		/* Owner and files now belong to the session. */
		rp->rec.owner = NULL;
		rp->rec.files = NULL;
		rp->rec.n_files = 0;
	} else {
		rs->without_record++;
	}
	rs->from_store++;
	log_info("session %" PRIu64 " of uid %u taken back from the fd store (owner %s)",
		 s->id, (unsigned)s->uid, s->owner ? s->owner : "unknown");
}

/* By id; a session's fd before its records, the newest record first; in
 * $LISTEN_FDS order among equals. Names not ours (id 0) come first. */
static int passed_cmp(const void *a, const void *b)
{
	const Passed *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind == STATE_NAME_SESSION ? -1 : 1;
	if (x->gen != y->gen)
		return x->gen > y->gen ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The @n fds passed for session @p->id, sorted by passed_cmp(): the first
 * session fd that verifies is kept (the others dropped, the name stored
 * again with the kept one alone), then the newest record that parses (the
 * others dropped), and the session is taken back. */
static void restore_session(Restore *rs, Passed *p, size_t n)
{
	Passed *keep = NULL, *best = NULL;
	bool dropped = false;
	size_t i;

	for (i = 0; i < n && p[i].kind == STATE_NAME_SESSION; i++) {
		VerifyResult v = verify_session(rs, &p[i]);

		if (v != VERIFY_OK) {
			drop(rs, &p[i], verify_result_table[v]);
			dropped = true;
		} else if (keep) {
			drop(rs, &p[i], "a second fd of the same session");
			dropped = true;
		} else {
			keep = &p[i];
			keep->good = true;
		}
	}
	if (dropped) {
		char name[STATE_NAME_MAX];

		/* FDSTOREREMOVE drops every fd of the name: the good one
		 * goes back alone. */
		state_name_session(name, p->id);
		remove_name(name);
		if (keep && store_fd(name, keep->fd) < 0) {
			keep->good = false;
			keep = NULL;
		}
	}
	for (; i < n; i++) {
		const char *why;

		if (!keep)
			why = "its session is not in the store (or not valid)";
		else if (best)
			why = "an older record of the session";
		else
			why = read_record(&p[i]);
		if (why) {
			drop_and_remove(rs, &p[i], why);
			continue;
		}
		p[i].good = true;
		best = &p[i];
	}
	if (keep)
		adopt_stored(rs, keep, best, p, n);
}

/* The fds passed back: names parsed (not ours: dropped), then each
 * session's fds together. */
static void restore_passed(Restore *rs)
{
	size_t i, j;

	for (i = 0; i < rs->n; i++) {
		Passed *p = &rs->p[i];

		p->index = i;
		p->kind = state_name_parse(p->name, &p->id, &p->gen);
		if (p->kind == STATE_NAME_INVALID) {
			drop_and_remove(rs, p, "not a name of ours");
			p->id = 0;
			p->gen = 0;
		}
	}
	if (rs->n)
		qsort(rs->p, rs->n, sizeof(*rs->p), passed_cmp);
	for (i = 0; i < rs->n; i = j) {
		for (j = i + 1; j < rs->n && rs->p[j].id == rs->p[i].id; j++)
			;
		if (rs->p[i].kind != STATE_NAME_INVALID)
			restore_session(rs, &rs->p[i], j - i);
	}
}

/* The module's live sessions the store did not give back: owner unknown,
 * ended by kernel events. */
static void rediscover(Restore *rs)
{
	Context *ctx = rs->ctx;

	for (size_t i = 0; i < rs->n_live; i++) {
		struct daxmirror_session_info info;
		SessionAdoption a = { .id = rs->live[i], .fd = -1 };
		Session *s;
		int r;

		if (session_by_id(ctx, a.id))
			continue;
		r = kernel_session_info(&ctx->kernel, a.id, &info);
		if (r < 0)
			continue;	/* gone since the list */
		if (info.state != DAXMIRROR_STATE_NEW && info.state != DAXMIRROR_STATE_BOUND)
			continue;	/* dead already: nothing to serve */
		adoption_from_kernel(&a, &info);
		r = session_adopt(ctx, &a, &info, &s);
		if (r < 0) {
			log_error_errno(r, "session %" PRIu64 ": rediscovering it: %m", a.id);
			continue;
		}
		rs->rediscovered++;
		log_info("session %" PRIu64 " of uid %u rediscovered from the module (owner unknown)",
			 s->id, (unsigned)s->uid);
	}
}

static void strv_free_all(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Ends the sessions whose owner is no longer on the bus: one ListNames. */
static void check_owners(Restore *rs)
{
	Context *ctx = rs->ctx;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	char **names = NULL;
	size_t n = 0;
	Session *s, *next;
	int r;

	if (!ctx->session_count || !ctx->bus)
		return;
	r = sd_bus_call_method(ctx->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "ListNames", &e, &reply, NULL);
	if (r >= 0)
		r = sd_bus_message_read_strv(reply, &names);
	if (r < 0) {
		log_error_errno(r, "ListNames: %s; owners of sessions taken back not checked",
				e.message ? e.message : strerror(-r));
		sd_bus_error_free(&e);
		return;
	}
	while (names && names[n])
		n++;
	qsort(names, n, sizeof(*names), strcmp_ptr);
	for (s = ctx->sessions_head; s; s = next) {
		next = s->next;
		if (!s->adopted || !s->owner ||
		    bsearch(&s->owner, names, n, sizeof(*names), strcmp_ptr))
			continue;
		log_info("session %" PRIu64 ": its owner %s left the bus while no daemon ran",
			 s->id, s->owner);
		rs->owner_gone++;
		session_end(s, SESSION_END_DISCONNECT);
	}
	strv_free_all(names);
}

/* Closes what @rs still holds of the store (its copies only: the store
 * keeps its own) and frees it, with the names sd_listen_fds gave. */
static void restore_free(Restore *rs, char **names)
{
	for (size_t i = 0; i < rs->n; i++) {
		safe_close(rs->p[i].fd);
		if (rs->p[i].kind == STATE_NAME_RECORD)
			session_record_done(&rs->p[i].rec);
	}
	free(rs->p);
	free(rs->live);
	strv_free_all(names);
}

int fdstore_restore(Context *ctx)
{
	Restore rs = { .ctx = ctx };
	char **names = NULL;
	int n, r;

	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_error_errno(n, "LISTEN_FDS: %m; nothing taken from the fd store");
		n = 0;
	}
	if (n > 0) {
		rs.p = calloc((size_t)n, sizeof(*rs.p));
		if (!rs.p) {
			for (int i = 0; i < n; i++)
				close(SD_LISTEN_FDS_START + i);
			strv_free_all(names);
			return log_error_errno(-ENOMEM, "fd store: %m");
		}
		rs.n = (size_t)n;
		for (int i = 0; i < n; i++) {
			rs.p[i].fd = SD_LISTEN_FDS_START + i;
			rs.p[i].name = names && names[i] ? names[i] : "unknown";
		}
	}
	if (ctx->kernel.fd < 0) {
		if (rs.n)
			log_warning("fd store: %zu fds passed back, but the module is not open: closed, left in the store",
				    rs.n);
		restore_free(&rs, names);
		return 0;
	}
	r = kernel_list_sessions(&ctx->kernel, &rs.live, &rs.n_live);
	if (r < 0) {
		log_error_errno(r, "LIST_SESSIONS: %m; fds of the store left there");
		restore_free(&rs, names);
		return 0;
	}
	if (rs.n_live)
		qsort(rs.live, rs.n_live, sizeof(*rs.live), u64_cmp);

	restore_passed(&rs);
	rediscover(&rs);
	check_owners(&rs);

	if (rs.n || rs.n_live)
		log_info("sessions taken back: %u from the fd store (%u without a state record), %u rediscovered from the module; %u fds dropped from the store, %u sessions ended while no daemon ran, %u ended because their owner left the bus",
			 rs.from_store, rs.without_record, rs.rediscovered, rs.dropped_fds,
			 rs.ended_down, rs.owner_gone);
	restore_free(&rs, names);
	sessions_update_totals(ctx);
	return 0;
}
