/* session.c - the lifetime of a session: lookup, opening one for a
 * client, taking one back at start, ending it (for each reason), the
 * kernel's events about it, and re-reading its shape (pid, state,
 * mirrors) from the kernel when the module says it changed (or once a
 * second from a module that cannot say). Its bus face (methods, properties, vtable) is
 * session-dbus.c; listeners (fd store, graceful revoke) hear of it
 * through ctx->session_hook. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-contract.h"
#include "kernel.h"
#include "list.h"
#include "log.h"
#include "session.h"
#include "util.h"

/* The poll of a module without DAXMIRROR_EVENT_SESSION_CHANGED. */
#define REFRESH_INTERVAL_MS 1000
/* A session's changes are re-read at most this often. */
#define CHANGE_MIN_MS 100

static int session_refresh(Session *s);
static void on_change_timer(uv_timer_t *t);
static void session_changed(Session *s);

/* --- lookup --------------------------------------------------------- */

Session *session_by_id(Context *ctx, uint64_t id)
{
	for (Session *s = ctx->sessions_head; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* DXM_SESSION_PREFIX "/ID" with ID in canonical decimal. */
static int parse_session_path(const char *path, uint64_t *id)
{
	const char *p;
	uint64_t v = 0;

	if (strncmp(path, DXM_SESSION_PREFIX "/", strlen(DXM_SESSION_PREFIX "/")) != 0)
		return -EINVAL;
	p = path + strlen(DXM_SESSION_PREFIX "/");
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
		return -EINVAL;
	for (; *p; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*id = v;
	return 0;
}

Session *session_by_path(Context *ctx, const char *path)
{
	uint64_t id;

	if (parse_session_path(path, &id) < 0)
		return NULL;
	return session_by_id(ctx, id);
}

pid_t session_pid(const Session *s)
{
	return s->info.pid > 0 ? s->info.pid : s->open_pid;
}

const char *session_state_name(uint32_t state)
{
	switch (state) {
	case DAXMIRROR_STATE_NEW: return "new";
	case DAXMIRROR_STATE_BOUND: return "bound";
	case DAXMIRROR_STATE_MM_GONE: return "mm-gone";
	case DAXMIRROR_STATE_REVOKED: return "revoked";
	default: return "unknown";
	}
}

/* --- lifetime ------------------------------------------------------- */

static Session *session_free(Session *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i].path);
	free(s->files);
	free(s->mirrors);
	free(s->now_mirrors);
	free(s->owner);
	safe_close(s->fd);
	free(s);
	return NULL;
}

static void session_link(Context *ctx, Session *s)
{
	Session *after = ctx->sessions_tail;

	/* Kernel ids grow, so this is an append in practice. */
	while (after && after->id > s->id)
		after = after->prev;
	s->prev = after;
	s->next = after ? after->next : ctx->sessions_head;
	if (s->next)
		s->next->prev = s;
	else
		ctx->sessions_tail = s;
	if (after)
		after->next = s;
	else
		ctx->sessions_head = s;
	s->linked = true;
	ctx->session_count++;
}

/* Tells the bus about a linked @s: InterfacesAdded, SessionCount. For an
 * opened session after the answer to OpenSession: the caller does not
 * wait behind the announcements (each a message to every listener). */
void session_publish(Session *s)
{
	Context *ctx = s->ctx;
	int r;

	if (s->announced || s->ending)
		return;
	r = sd_bus_emit_object_added(ctx->bus, s->path);
	if (r < 0)
		log_warning_errno(r, "%s: emitting InterfacesAdded: %m", s->path);
	s->announced = true;
	context_emit_changed(ctx, "SessionCount");
}

static void session_unlink(Context *ctx, Session *s)
{
	if (!s->linked)
		return;
	DXM_LIST_UNLINK(&ctx->sessions_head, &ctx->sessions_tail, s);
	s->linked = false;
	ctx->session_count--;
}

static const char *end_reason(SessionEnd why)
{
	switch (why) {
	case SESSION_END_CLOSE: return "closed";
	case SESSION_END_REVOKE: return "revoked by an administrator";
	case SESSION_END_DISCONNECT: return "its owner left the bus";
	case SESSION_END_MM_GONE: return "the bound process exited";
	case SESSION_END_KERNEL_REVOKED: return "revoked in the kernel";
	case SESSION_END_KERNEL_GONE: return "gone from the kernel";
	case SESSION_END_ERROR: return "setup failed";
	}
	return "?";
}

void session_end(Session *s, SessionEnd why)
{
	(void)session_end_answer(s, why, NULL);
}

int session_end_answer(Session *s, SessionEnd why, sd_bus_message *call)
{
	Context *ctx = s->ctx;
	bool announced = s->announced;
	int answered = 0, r;

	if (s->ending)	/* re-entered: the first caller ends it */
		return call ? sd_bus_reply_method_return(call, NULL) : 0;
	s->ending = true;
	s->end = why;

	switch (why) {
	case SESSION_END_CLOSE:
	case SESSION_END_REVOKE:
	case SESSION_END_DISCONNECT:
	case SESSION_END_MM_GONE:
	case SESSION_END_ERROR:
		if (s->in_kernel) {
			r = kernel_revoke(&ctx->kernel, s->id);
			if (r < 0 && r != -EALREADY && r != -ENOENT)
				log_error_errno(r, "session %" PRIu64 ": revoke: %m", s->id);
		}
		break;
	case SESSION_END_KERNEL_REVOKED:
	case SESSION_END_KERNEL_GONE:
		break;
	}

	/* Those waiting for the end first (the caller of @call, RequestRevoke's
	 * callers, vetting jobs), then whoever listens. */
	if (ctx->session_hook)
		ctx->session_hook(s, SESSION_EVENT_ENDING);
	if (call)
		answered = sd_bus_reply_method_return(call, NULL);

	if (announced && ctx->bus) {
		/* While the object can still be found: InterfacesRemoved
		 * lists what the find callback resolves. */
		if (why == SESSION_END_REVOKE || why == SESSION_END_KERNEL_REVOKED) {
			r = sd_bus_emit_signal(ctx->bus, s->path, DXM_SESSION_IFACE, "Revoked", NULL);
			if (r < 0)
				log_warning_errno(r, "%s: emitting Revoked: %m", s->path);
		}
		r = sd_bus_emit_object_removed(ctx->bus, s->path);
		if (r < 0)
			log_warning_errno(r, "%s: emitting InterfacesRemoved: %m", s->path);
	}
	if (s->linked && why != SESSION_END_ERROR)
		log_info("session %" PRIu64 " of uid %u ended: %s", s->id, (unsigned)s->uid,
			 end_reason(why));

	session_unlink(ctx, s);
	if (s->charged) {
		quota_session_remove(&ctx->quota, s->uid);
		if (s->attached_bytes)
			quota_bytes_remove(&ctx->quota, s->uid, s->attached_bytes);
	}
	session_free(s);
	s = NULL;

	if (announced)
		context_emit_changed(ctx, "SessionCount");
	sessions_update_totals(ctx);
	sessions_schedule_refresh(ctx);
	context_update_status(ctx);
	return answered;
}

void sessions_free_all(Context *ctx)
{
	Session *s;

	while ((s = ctx->sessions_head)) {
		if (ctx->session_hook)
			ctx->session_hook(s, SESSION_EVENT_DROPPED);
		session_unlink(ctx, s);
		if (s->charged) {
			quota_session_remove(&ctx->quota, s->uid);
			quota_bytes_remove(&ctx->quota, s->uid, s->attached_bytes);
		}
		session_free(s);
	}
}

int session_open(Context *ctx, sd_bus_message *m, uid_t uid, pid_t pid,
		 const SessionOptions *o, Session **ret, sd_bus_error *error)
{
	const char *sender = sd_bus_message_get_sender(m);
	Session *s;
	uint32_t flags = 0;
	int r;

	if (!sender)
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "sessions are only opened for bus peers with a name");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx = ctx;
	s->fd = -1;
	s->uid = uid;
	s->open_pid = pid;
	s->options = *o;
	s->created_usec = now_usec(CLOCK_REALTIME);
	s->owner = strdup(sender);
	if (!s->owner) {
		session_free(s);
		return -ENOMEM;
	}
	r = quota_session_add(&ctx->quota, uid);
	if (r < 0) {
		session_free(s);
		return r;
	}
	s->charged = true;

	if (o->write)
		flags |= DAXMIRROR_SESSION_ALLOW_WRITE;
	if (o->pagecache)
		flags |= DAXMIRROR_SESSION_ALLOW_PAGECACHE;
	if (o->anonymous)
		flags |= DAXMIRROR_SESSION_ALLOW_ANON;
	r = kernel_create_session(&ctx->kernel, flags, o->max_mirrors,
				  o->max_bytes / DM_PAGE_SIZE + !!(o->max_bytes % DM_PAGE_SIZE),
				  &s->id, &s->fd);
	if (r < 0) {
		sd_bus_error_setf(error, DXM_ERROR_KERNEL,
				  "the module refused to create the session: %s", strerror(-r));
		session_end(s, SESSION_END_ERROR);
		return r;
	}
	s->in_kernel = true;
	snprintf(s->path, sizeof(s->path), DXM_SESSION_PREFIX "/%" PRIu64, s->id);
	r = kernel_session_info(&ctx->kernel, s->id, &s->info);
	if (r < 0)
		log_warning_errno(r, "session %" PRIu64 ": SESSION_INFO: %m", s->id);

	session_link(ctx, s);
	sessions_schedule_refresh(ctx);
	if (ctx->session_hook)
		ctx->session_hook(s, SESSION_EVENT_ADDED);
	context_update_status(ctx);
	log_info("session %" PRIu64 " opened for uid %u pid %d (%s):%s%s%s max %u mirrors, %" PRIu64 " bytes",
		 s->id, (unsigned)uid, (int)pid, sender,
		 o->write ? " write" : "", o->pagecache ? " page-cache" : "",
		 o->anonymous ? " anonymous" : "", o->max_mirrors, o->max_bytes);
	*ret = s;
	return 0;
}

int session_adopt(Context *ctx, SessionAdoption *a,
		  const struct daxmirror_session_info *info, Session **ret)
{
	Session *s;
	int r;

	if (session_by_id(ctx, a->id))
		return -EEXIST;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx = ctx;
	s->id = a->id;
	s->uid = a->uid;
	s->open_pid = a->open_pid;
	s->created_usec = a->created_usec;
	s->options = a->options;
	s->info = *info;
	s->adopted = true;
	snprintf(s->path, sizeof(s->path), DXM_SESSION_PREFIX "/%" PRIu64, s->id);
	r = quota_session_add(&ctx->quota, s->uid);
	if (r < 0) {
		free(s);
		return r;
	}
	if (a->attached_bytes) {
		r = quota_bytes_add(&ctx->quota, s->uid, a->attached_bytes);
		if (r < 0) {
			quota_session_remove(&ctx->quota, s->uid);
			free(s);
			return r;
		}
	}
	/* Nothing fails from here: take over what @a holds. */
	s->charged = true;
	s->in_kernel = true;
	s->attached_bytes = a->attached_bytes;
	s->fd = a->fd;
	s->owner = a->owner;
	s->files = a->files;
	s->n_files = a->n_files;
	/* Grant ids as the record kept them (the client holds them); a
	 * version-1 record's ranges get new ones, which nobody knows. */
	for (size_t i = 0; i < s->n_files; i++)
		if (s->files[i].grant > s->next_grant)
			s->next_grant = s->files[i].grant;
	for (size_t i = 0; i < s->n_files; i++)
		if (!s->files[i].grant)
			s->files[i].grant = ++s->next_grant;
	s->stored = a->stored;
	s->state_gen = a->state_gen;
	a->fd = -1;
	a->owner = NULL;
	a->files = NULL;
	a->n_files = 0;
	r = kernel_mirror_list(&ctx->kernel, s->id, &s->mirrors, &s->n_mirrors);
	if (r < 0)
		log_warning_errno(r, "session %" PRIu64 ": MIRROR_LIST: %m", s->id);

	session_link(ctx, s);
	session_publish(s);
	sessions_schedule_refresh(ctx);
	*ret = s;
	return 0;
}

void sessions_update_totals(Context *ctx)
{
	uint32_t mirrors = 0;
	uint64_t bytes = 0;

	for (Session *s = ctx->sessions_head; s; s = s->next) {
		mirrors += s->info.nr_mirrors;
		bytes += s->info.mirrored_pages * DM_PAGE_SIZE;
	}
	if (mirrors != ctx->mirror_count) {
		ctx->mirror_count = mirrors;
		context_emit_changed(ctx, "MirrorCount");
	}
	if (bytes != ctx->mirrored_bytes) {
		ctx->mirrored_bytes = bytes;
		context_emit_changed(ctx, "MirroredBytes");
	}
}

/* --- kernel events -------------------------------------------------- */

void sessions_kernel_event(Context *ctx, const struct daxmirror_event *ev)
{
	Session *s;

	if (ev->type == DAXMIRROR_EVENT_OVERFLOW) {
		log_warning("control node event queue overflowed; resynchronizing sessions");
		sessions_resync(ctx);
		return;
	}
	s = session_by_id(ctx, ev->session_id);
	if (!s || s->ending)
		return;		/* one we already dropped, or not ours */
	switch (ev->type) {
	case DAXMIRROR_EVENT_REVOKED:
		log_info("session %" PRIu64 " revoked in the kernel", s->id);
		session_end(s, SESSION_END_KERNEL_REVOKED);
		break;
	case DAXMIRROR_EVENT_MM_RELEASED:
		log_info("session %" PRIu64 ": the bound process exited", s->id);
		session_end(s, SESSION_END_MM_GONE);
		break;
	case DAXMIRROR_EVENT_SESSION_CLOSED:
		session_end(s, SESSION_END_KERNEL_GONE);
		break;
	case DAXMIRROR_EVENT_SESSION_CHANGED:
		session_changed(s);
		break;
	default:
		log_debug("control node: unknown event type %u", ev->type);
		break;
	}
}

/* --- refresh -------------------------------------------------------- */

/*
 * Bound, or a mirror came or went (SESSION_CHANGED): re-read the session
 * (which re-arms the event) and announce what changed; at most once per
 * CHANGE_MIN_MS per session, so a client reshaping its mirrors in a loop
 * costs the broker (and the bus's listeners) ten re-reads a second, not
 * one per change. Getters read the module themselves: what a caller is
 * shown is current either way.
 */
static void session_changed(Session *s)
{
	Context *ctx = s->ctx;
	uint64_t now = uv_now(&ctx->loop);

	if (s->refreshed_ms && now - s->refreshed_ms < CHANGE_MIN_MS) {
		s->change_pending = true;
		if (!uv_is_active((uv_handle_t *)&ctx->change_timer))
			uv_timer_start(&ctx->change_timer, on_change_timer, CHANGE_MIN_MS, 0);
		return;
	}
	s->change_pending = false;
	s->refreshed_ms = now;
	if (session_refresh(s)) {
		sessions_update_totals(ctx);
		context_update_status(ctx);
	}
}

static void on_change_timer(uv_timer_t *t)
{
	Context *ctx = container_of(t, Context, change_timer);
	Session *s, *next;

	for (s = ctx->sessions_head; s; s = next) {
		next = s->next;
		if (s->change_pending && !s->ending)
			session_changed(s);
	}
}

/* The same mirrors, in the same states? Their entry counts do not
 * count: they change with every device fault and are read when asked. */
static bool mirrors_same_shape(const struct daxmirror_mirror_info *a, size_t na,
			       const struct daxmirror_mirror_info *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].id != b[i].id || a[i].start != b[i].start ||
		    a[i].length != b[i].length || a[i].state != b[i].state ||
		    a[i].flags != b[i].flags || a[i].backing != b[i].backing)
			return false;
	return true;
}

/* 1 if @s is still there, 0 if it was ended. */
static int session_refresh(Session *s)
{
	Context *ctx = s->ctx;
	struct daxmirror_session_info info;
	struct daxmirror_mirror_info *mirrors = NULL;
	const char *changed[8];
	size_t nc = 0, nm = 0;
	int r;

	r = kernel_session_info(&ctx->kernel, s->id, &info);
	if (r == -ENOENT) {
		session_end(s, SESSION_END_KERNEL_GONE);
		return 0;
	}
	if (r < 0) {
		log_warning_errno(r, "session %" PRIu64 ": SESSION_INFO: %m", s->id);
		return 1;
	}
	if (info.state == DAXMIRROR_STATE_REVOKED) {
		session_end(s, SESSION_END_KERNEL_REVOKED);
		return 0;
	}
	if (info.state == DAXMIRROR_STATE_MM_GONE) {
		session_end(s, SESSION_END_MM_GONE);
		return 0;
	}
	r = kernel_mirror_list(&ctx->kernel, s->id, &mirrors, &nm);
	if (r < 0) {
		log_warning_errno(r, "session %" PRIu64 ": MIRROR_LIST: %m", s->id);
		mirrors = NULL;
		nm = s->n_mirrors;
		if (nm) {
			mirrors = malloc(nm * sizeof(*mirrors));
			if (!mirrors)
				return 1;
			memcpy(mirrors, s->mirrors, nm * sizeof(*mirrors));
		}
	}

	if ((info.pid > 0 ? info.pid : s->open_pid) != session_pid(s))
		changed[nc++] = "PID";
	if (info.state != s->info.state)
		changed[nc++] = "State";
	if (!mirrors_same_shape(mirrors, nm, s->mirrors, s->n_mirrors))
		changed[nc++] = "Mirrors";
	if (info.mirrored_pages != s->info.mirrored_pages)
		changed[nc++] = "MirroredBytes";
	changed[nc] = NULL;

	if (info.pid > 0 && info.pid != s->info.pid)
		log_info("session %" PRIu64 " bound by pid %d", s->id, (int)info.pid);
	s->info = info;
	free(s->mirrors);
	s->mirrors = mirrors;
	s->n_mirrors = nm;

	if (nc) {
		r = sd_bus_emit_properties_changed_strv(ctx->bus, s->path, DXM_SESSION_IFACE,
							(char **)changed);
		if (r < 0)
			log_warning_errno(r, "%s: emitting PropertiesChanged: %m", s->path);
	}
	return 1;
}

void sessions_refresh(Context *ctx)
{
	Session *s, *next;

	if (ctx->kernel.fd < 0)
		return;
	for (s = ctx->sessions_head; s; s = next) {
		next = s->next;
		session_refresh(s);
	}
	sessions_update_totals(ctx);
	context_update_status(ctx);
}

void sessions_resync(Context *ctx)
{
	_cleanup_(freep) uint64_t *ids = NULL;
	Session *s, *next;
	size_t n = 0;
	int r;

	r = kernel_list_sessions(&ctx->kernel, &ids, &n);
	if (r < 0) {
		log_error_errno(r, "LIST_SESSIONS: %m");
		return;
	}
	for (s = ctx->sessions_head; s; s = next) {
		bool found = false;

		next = s->next;
		for (size_t i = 0; i < n && !found; i++)
			found = ids[i] == s->id;
		if (!found)
			session_end(s, SESSION_END_KERNEL_GONE);
	}
	sessions_refresh(ctx);
}

static void on_refresh(uv_timer_t *t)
{
	sessions_refresh(container_of(t, Context, refresh_timer));
}

void sessions_schedule_refresh(Context *ctx)
{
	bool active = uv_is_active((uv_handle_t *)&ctx->refresh_timer);

	/* Only a module without SESSION_CHANGED events needs the poll. */
	if (ctx->session_count && ctx->kernel.fd >= 0 && !ctx->kernel.change_events &&
	    !active)
		uv_timer_start(&ctx->refresh_timer, on_refresh,
			       REFRESH_INTERVAL_MS, REFRESH_INTERVAL_MS);
	else if (!ctx->session_count && active)
		uv_timer_stop(&ctx->refresh_timer);
}

