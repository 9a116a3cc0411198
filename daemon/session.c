/* session.c - Session objects: the org.daxmirror1.Session fallback vtable
 * under /org/daxmirror1/session with its object-find callback and node
 * enumerator, the ObjectManager at /org/daxmirror1, opening and ending
 * sessions, AttachFile/Close/Revoke, and the coalesced refresh of counters
 * from the kernel. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "errors.h"
#include "kernel.h"
#include "log.h"
#include "manager.h"
#include "revoke.h"
#include "session.h"
#include "util.h"
#include "vet.h"

#define REFRESH_INTERVAL_MS 1000

/* Session bookkeeping flags not in the public struct. */
struct session_setup {
	bool charged;	/* one session counted in ctx->quota */
	bool linked;	/* in ctx->sessions_* */
	bool announced;	/* InterfacesAdded sent */
	bool kernel;	/* the kernel session exists (revoke it on end) */
};

/* --- lookup --------------------------------------------------------- */

Session *session_by_id(Context *ctx, uint64_t id)
{
	for (Session *s = ctx->sessions_head; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* DM_SESSION_PREFIX "/ID" with ID in canonical decimal. */
static int parse_session_path(const char *path, uint64_t *id)
{
	const char *p;
	uint64_t v = 0;

	if (strncmp(path, DM_SESSION_PREFIX "/", strlen(DM_SESSION_PREFIX "/")) != 0)
		return -EINVAL;
	p = path + strlen(DM_SESSION_PREFIX "/");
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

typedef struct SessionBox {
	Session s;
	struct session_setup setup;
} SessionBox;

static struct session_setup *setup_of(Session *s)
{
	return &container_of(s, SessionBox, s)->setup;
}

static Session *session_free(Session *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i].path);
	free(s->files);
	free(s->mirrors);
	free(s->owner);
	revoke_session_dropped(s);
	safe_close(s->fd);
	free(container_of(s, SessionBox, s));
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
	setup_of(s)->linked = true;
	ctx->session_count++;
}

/* Puts a set-up @s on the bus: linked, InterfacesAdded, SessionCount, the
 * refresh timer. Opened and taken-back sessions alike. */
static void session_announce(Context *ctx, Session *s)
{
	int r;

	session_link(ctx, s);
	r = sd_bus_emit_object_added(ctx->bus, s->path);
	if (r < 0)
		log_warning_errno(r, "%s: emitting InterfacesAdded: %m", s->path);
	setup_of(s)->announced = true;
	manager_emit_changed(ctx, "SessionCount");
	sessions_schedule_refresh(ctx);
}

static void session_unlink(Context *ctx, Session *s)
{
	if (!setup_of(s)->linked)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		ctx->sessions_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		ctx->sessions_tail = s->prev;
	s->prev = s->next = NULL;
	setup_of(s)->linked = false;
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
	Context *ctx = s->ctx;
	struct session_setup *st = setup_of(s);
	bool announced = st->announced;
	int r;

	if (s->ending)
		return;
	s->ending = true;

	switch (why) {
	case SESSION_END_CLOSE:
	case SESSION_END_REVOKE:
	case SESSION_END_DISCONNECT:
	case SESSION_END_MM_GONE:
	case SESSION_END_ERROR:
		if (st->kernel) {
			r = kernel_revoke(ctx, s->id);
			if (r < 0 && r != -EALREADY && r != -ENOENT)
				log_error_errno(r, "session %" PRIu64 ": revoke: %m", s->id);
		}
		break;
	case SESSION_END_KERNEL_REVOKED:
	case SESSION_END_KERNEL_GONE:
		break;
	}

	if (announced && ctx->bus) {
		/* While the object can still be found: InterfacesRemoved
		 * lists what the find callback resolves. */
		if (why == SESSION_END_REVOKE || why == SESSION_END_KERNEL_REVOKED) {
			r = sd_bus_emit_signal(ctx->bus, s->path, DM_SESSION_IFACE, "Revoked", NULL);
			if (r < 0)
				log_warning_errno(r, "%s: emitting Revoked: %m", s->path);
		}
		r = sd_bus_emit_object_removed(ctx->bus, s->path);
		if (r < 0)
			log_warning_errno(r, "%s: emitting InterfacesRemoved: %m", s->path);
	}
	if (st->linked && why != SESSION_END_ERROR)
		log_info("session %" PRIu64 " of uid %u ended: %s", s->id, (unsigned)s->uid,
			 end_reason(why));
	if ((s->stored || s->state_gen) && ctx->session_hook)
		ctx->session_hook(s, SESSION_EVENT_REMOVED);
	revoke_session_ended(s, why);

	session_unlink(ctx, s);
	if (st->charged) {
		quota_session_remove(&ctx->quota, s->uid);
		if (s->attached_bytes)
			quota_bytes_remove(&ctx->quota, s->uid, s->attached_bytes);
	}
	session_free(s);
	s = NULL;
	st = NULL;

	if (announced)
		manager_emit_changed(ctx, "SessionCount");
	manager_update_totals(ctx);
	sessions_schedule_refresh(ctx);
	context_update_status(ctx);
}

void sessions_free_all(Context *ctx)
{
	Session *s;

	while ((s = ctx->sessions_head)) {
		session_unlink(ctx, s);
		if (setup_of(s)->charged) {
			quota_session_remove(&ctx->quota, s->uid);
			quota_bytes_remove(&ctx->quota, s->uid, s->attached_bytes);
		}
		session_free(s);
	}
}

/*
 * One match on the bus driver's NameOwnerChanged for the whole daemon ends
 * the sessions of a client whose unique name goes away. (A sd_bus_track
 * per session adds one match rule each, and dbus-daemon allows 512 per
 * connection: the 513th session lost the daemon its bus connection.) The
 * driver sends the signal after every message of the client, so a client
 * gone right after OpenSession still has its session ended.
 */
static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Context *ctx = userdata;
	const char *name, *old_owner, *new_owner;
	Session *s, *next;
	int r;

	r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
	if (r < 0 || name[0] != ':' || new_owner[0])
		return 0;
	for (s = ctx->sessions_head; s; s = next) {
		next = s->next;
		if (s->owner && strcmp(s->owner, name) == 0)
			session_end(s, SESSION_END_DISCONNECT);
	}
	return 0;
}

int session_open(Context *ctx, sd_bus_message *m, uid_t uid, pid_t pid,
		 const SessionOptions *o, Session **ret, sd_bus_error *error)
{
	const char *sender = sd_bus_message_get_sender(m);
	SessionBox *box;
	Session *s;
	uint32_t flags = 0;
	int r;

	if (!sender)
		return dm_error(error, DM_ERROR_ACCESS_DENIED,
				"sessions are only opened for bus peers with a name");
	box = calloc(1, sizeof(*box));
	if (!box)
		return -ENOMEM;
	s = &box->s;
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
	box->setup.charged = true;

	if (o->write)
		flags |= DAXMIRROR_SESSION_ALLOW_WRITE;
	if (o->pagecache)
		flags |= DAXMIRROR_SESSION_ALLOW_PAGECACHE;
	if (o->anonymous)
		flags |= DAXMIRROR_SESSION_ALLOW_ANON;
	r = kernel_create_session(ctx, flags, o->max_mirrors,
				  o->max_bytes / DM_PAGE_SIZE + !!(o->max_bytes % DM_PAGE_SIZE),
				  &s->id, &s->fd);
	if (r < 0) {
		sd_bus_error_setf(error, DM_ERROR_KERNEL,
				  "the module refused to create the session: %s", strerror(-r));
		session_end(s, SESSION_END_ERROR);
		return r;
	}
	box->setup.kernel = true;
	snprintf(s->path, sizeof(s->path), DM_SESSION_PREFIX "/%" PRIu64, s->id);
	r = kernel_session_info(ctx, s->id, &s->info);
	if (r < 0)
		log_warning_errno(r, "session %" PRIu64 ": SESSION_INFO: %m", s->id);

	session_announce(ctx, s);
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
	SessionBox *box;
	Session *s;
	int r;

	if (session_by_id(ctx, a->id))
		return -EEXIST;
	box = calloc(1, sizeof(*box));
	if (!box)
		return -ENOMEM;
	s = &box->s;
	s->ctx = ctx;
	s->id = a->id;
	s->uid = a->uid;
	s->open_pid = a->open_pid;
	s->created_usec = a->created_usec;
	s->options = a->options;
	s->info = *info;
	s->adopted = true;
	snprintf(s->path, sizeof(s->path), DM_SESSION_PREFIX "/%" PRIu64, s->id);
	r = quota_session_add(&ctx->quota, s->uid);
	if (r < 0) {
		free(box);
		return r;
	}
	if (a->attached_bytes) {
		r = quota_bytes_add(&ctx->quota, s->uid, a->attached_bytes);
		if (r < 0) {
			quota_session_remove(&ctx->quota, s->uid);
			free(box);
			return r;
		}
	}
	/* Nothing fails from here: take over what @a holds. */
	box->setup.charged = true;
	box->setup.kernel = true;
	s->attached_bytes = a->attached_bytes;
	s->fd = a->fd;
	s->owner = a->owner;
	s->files = a->files;
	s->n_files = a->n_files;
	s->stored = a->stored;
	s->state_gen = a->state_gen;
	a->fd = -1;
	a->owner = NULL;
	a->files = NULL;
	a->n_files = 0;
	r = kernel_mirror_list(ctx, s->id, &s->mirrors, &s->n_mirrors);
	if (r < 0)
		log_warning_errno(r, "session %" PRIu64 ": MIRROR_LIST: %m", s->id);

	session_announce(ctx, s);
	*ret = s;
	return 0;
}

/* --- refresh -------------------------------------------------------- */

static bool mirrors_equal(const struct daxmirror_mirror_info *a, size_t na,
			  const struct daxmirror_mirror_info *b, size_t nb)
{
	if (na != nb)
		return false;
	return na == 0 || memcmp(a, b, na * sizeof(*a)) == 0;
}

/* 1 if @s is still there, 0 if it was ended. */
static int session_refresh(Session *s)
{
	Context *ctx = s->ctx;
	struct daxmirror_session_info info;
	struct daxmirror_mirror_info *mirrors = NULL;
	const struct daxmirror_stats *o = &s->info.stats, *n = &info.stats;
	const char *changed[16];
	size_t nc = 0, nm = 0;
	int r;

	r = kernel_session_info(ctx, s->id, &info);
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
	r = kernel_mirror_list(ctx, s->id, &mirrors, &nm);
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
	if (!mirrors_equal(mirrors, nm, s->mirrors, s->n_mirrors))
		changed[nc++] = "Mirrors";
	if (info.mirrored_pages != s->info.mirrored_pages)
		changed[nc++] = "MirroredBytes";
	if (n->device_faults != o->device_faults)
		changed[nc++] = "DeviceFaults";
	if (n->range_faults != o->range_faults)
		changed[nc++] = "RangeFaults";
	if (n->range_retries != o->range_retries)
		changed[nc++] = "RangeRetries";
	if (n->invalidations != o->invalidations)
		changed[nc++] = "Invalidations";
	if (n->bytes_read != o->bytes_read)
		changed[nc++] = "BytesRead";
	if (n->bytes_written != o->bytes_written)
		changed[nc++] = "BytesWritten";
	changed[nc] = NULL;

	if (info.pid > 0 && info.pid != s->info.pid)
		log_info("session %" PRIu64 " bound by pid %d", s->id, (int)info.pid);
	s->info = info;
	free(s->mirrors);
	s->mirrors = mirrors;
	s->n_mirrors = nm;

	if (nc) {
		r = sd_bus_emit_properties_changed_strv(ctx->bus, s->path, DM_SESSION_IFACE,
							(char **)changed);
		if (r < 0)
			log_warning_errno(r, "%s: emitting PropertiesChanged: %m", s->path);
	}
	return 1;
}

void sessions_refresh(Context *ctx)
{
	Session *s, *next;

	if (ctx->control_fd < 0)
		return;
	for (s = ctx->sessions_head; s; s = next) {
		next = s->next;
		session_refresh(s);
	}
	manager_update_totals(ctx);
	context_update_status(ctx);
}

void sessions_resync(Context *ctx)
{
	_cleanup_(freep) uint64_t *ids = NULL;
	Session *s, *next;
	size_t n = 0;
	int r;

	r = kernel_list_sessions(ctx, &ids, &n);
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

	if (ctx->session_count && ctx->control_fd >= 0 && !active)
		uv_timer_start(&ctx->refresh_timer, on_refresh,
			       REFRESH_INTERVAL_MS, REFRESH_INTERVAL_MS);
	else if (!ctx->session_count && active)
		uv_timer_stop(&ctx->refresh_timer);
}

/* --- methods -------------------------------------------------------- */

static int method_attach_file(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Session *s = userdata;
	Context *ctx = s->ctx;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(freep) char *path = NULL;
	SessionFile *files;
	VetReport rep;
	uint64_t offset, length;
	uid_t uid;
	int fd, write = 0, r;

	r = sd_bus_message_read(m, "htt", &fd, &offset, &length);
	if (r < 0)
		return dm_error(error, DM_ERROR_BAD_FILE, "cannot read the arguments: %s",
				strerror(-r));
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (!streq(key, "Write"))
			return dm_error(error, DM_ERROR_INVALID_OPTION,
					"unknown AttachFile option '%s'", key);
		r = bus_read_option(m, key, "b", &write, error);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;

	r = bus_caller(m, &uid, NULL, error);
	if (r < 0)
		return r;
	if (uid != 0 && uid != s->uid)
		return dm_error(error, DM_ERROR_ACCESS_DENIED,
				"only the owner of session %" PRIu64 " or root may attach files",
				s->id);
	if (s->info.state == DAXMIRROR_STATE_REVOKED)
		return dm_error(error, DM_ERROR_REVOKED, "session %" PRIu64 " was revoked", s->id);
	if (write && !s->options.write)
		return dm_error(error, DM_ERROR_ACCESS_DENIED,
				"session %" PRIu64 " was opened without Write", s->id);

	r = vet_file(&ctx->vet_cache, fd, offset, length, write, s->options.pagecache, &rep,
		     error);
	if (r < 0)
		return r;
	if (quota_bytes_check(&ctx->quota, s->uid, length, ctx->config.max_bytes_per_user) < 0)
		return dm_error(error, DM_ERROR_QUOTA_EXCEEDED,
				"uid %u has %" PRIu64 " of %" PRIu64 " bytes attached; %" PRIu64 " more would exceed MaxBytesPerUser",
				(unsigned)s->uid, quota_bytes(&ctx->quota, s->uid),
				ctx->config.max_bytes_per_user, length);

	/* Everything that can fail for lack of memory, before the grant. */
	path = strdup(rep.path);
	if (!path)
		return -ENOMEM;
	files = reallocarray(s->files, s->n_files + 1, sizeof(*files));
	if (!files)
		return -ENOMEM;
	s->files = files;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;

	r = kernel_grant(ctx, s->id, fd, offset, length, write);
	if (r == -ENODEV)
		return dm_error(error, DM_ERROR_REVOKED, "session %" PRIu64 " was revoked", s->id);
	if (r < 0)
		return dm_error(error, DM_ERROR_KERNEL, "the module refused the grant: %s (%s)",
				strerror(-r), strerrorname_np(-r) ? strerrorname_np(-r) : "?");

	s->files[s->n_files++] = (SessionFile){
		.path = path, .offset = offset, .length = length, .write = write,
	};
	path = NULL;
	s->attached_bytes += length;
	r = quota_bytes_add(&ctx->quota, s->uid, length);
	if (r < 0)
		log_error_errno(r, "quota accounting of uid %u: %m", (unsigned)s->uid);
	log_info("session %" PRIu64 ": attached %s [%" PRIu64 ", +%" PRIu64 ")%s, %s, %s",
		 s->id, rep.path, offset, length, write ? " for writing" : "",
		 rep.dax ? "DAX" : "page cache", dmp_granularity_name(rep.granularity));
	if (ctx->session_hook)
		ctx->session_hook(s, SESSION_EVENT_CHANGED);
	r = sd_bus_emit_properties_changed(ctx->bus, s->path, DM_SESSION_IFACE, "Files", NULL);
	if (r < 0)
		log_warning_errno(r, "%s: emitting PropertiesChanged: %m", s->path);

	r = sd_bus_message_append(reply, "a{sv}", 4,
				  "Dax", "b", (int)rep.dax,
				  "StoreGranularity", "s", dmp_granularity_name(rep.granularity),
				  "NumaNode", "i", (int32_t)rep.numa_node,
				  "Path", "s", rep.path);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int method_close(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Session *s = userdata;
	uid_t uid;
	int r;

	r = bus_caller(m, &uid, NULL, error);
	if (r < 0)
		return r;
	if (uid != 0 && uid != s->uid)
		return dm_error(error, DM_ERROR_ACCESS_DENIED,
				"only the owner of session %" PRIu64 " or root may close it", s->id);
	session_end(s, SESSION_END_CLOSE);
	return sd_bus_reply_method_return(m, NULL);
}

int session_check_revoker(sd_bus_message *m, sd_bus_error *error)
{
	uid_t uid;
	int r;

	r = bus_caller(m, &uid, NULL, error);
	if (r < 0)
		return r;
	if (uid != 0)
		return dm_error(error, DM_ERROR_ACCESS_DENIED, "only root may revoke sessions");
	return 0;
}

int session_revoke_call(Session *s, sd_bus_message *m, sd_bus_error *error)
{
	int r;

	r = session_check_revoker(m, error);
	if (r < 0)
		return r;
	session_end(s, SESSION_END_REVOKE);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_revoke(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return session_revoke_call(userdata, m, error);
}

/* --- properties ----------------------------------------------------- */

static int get_pid(sd_bus *bus, const char *path, const char *iface, const char *prop,
		   sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "u", (uint32_t)session_pid(userdata));
}

static int get_state(sd_bus *bus, const char *path, const char *iface, const char *prop,
		     sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const Session *s = userdata;

	return sd_bus_message_append(reply, "s", session_state_name(s->info.state));
}

static int get_option(sd_bus *bus, const char *path, const char *iface, const char *prop,
		      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const Session *s = userdata;

	return sd_bus_message_append(reply, "b",
				     (int)(streq(prop, "Write") ? s->options.write
								: s->options.pagecache));
}

static int get_files(sd_bus *bus, const char *path, const char *iface, const char *prop,
		     sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const Session *s = userdata;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "(sttb)");
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n_files; i++) {
		const SessionFile *f = &s->files[i];

		r = sd_bus_message_append(reply, "(sttb)", f->path, f->offset, f->length,
					  (int)f->write);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

static int get_mirrors(sd_bus *bus, const char *path, const char *iface, const char *prop,
		       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const Session *s = userdata;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "(tttsbttt)");
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n_mirrors; i++) {
		const struct daxmirror_mirror_info *mi = &s->mirrors[i];

		r = sd_bus_message_append(reply, "(tttsbttt)",
					  (uint64_t)mi->id, (uint64_t)mi->start, (uint64_t)mi->length,
					  mi->state == DAXMIRROR_MIRROR_LIVE ? "live" : "released",
					  (int)!!(mi->backing & DAXMIRROR_BACKING_DAX),
					  (uint64_t)mi->entries[DAXMIRROR_ORDER_4K],
					  (uint64_t)mi->entries[DAXMIRROR_ORDER_2M],
					  (uint64_t)mi->entries[DAXMIRROR_ORDER_1G]);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

static int get_mirrored_bytes(sd_bus *bus, const char *path, const char *iface,
			      const char *prop, sd_bus_message *reply, void *userdata,
			      sd_bus_error *error)
{
	const Session *s = userdata;

	return sd_bus_message_append(reply, "t", (uint64_t)s->info.mirrored_pages * DM_PAGE_SIZE);
}

#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define STAT(name, field) \
	SD_BUS_PROPERTY(name, "t", NULL, offsetof(Session, info.stats.field), EMITS)

static const sd_bus_vtable session_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("AttachFile",
		SD_BUS_ARGS("h", fd, "t", offset, "t", length, "a{sv}", options),
		SD_BUS_RESULT("a{sv}", report),
		method_attach_file, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("Close", NULL, NULL, method_close, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("Revoke", NULL, NULL, method_revoke, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL("Revoked", NULL, 0),
	SD_BUS_METHOD_WITH_ARGS("RequestRevoke", SD_BUS_ARGS("u", grace_msec),
		SD_BUS_RESULT("s", how), revoke_request_call, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("AcknowledgeRevoke", NULL, NULL, revoke_acknowledge_call,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("RevokeRequested", SD_BUS_ARGS("t", deadline_usec), 0),
	SD_BUS_PROPERTY("RevokeDeadlineUSec", "t", revoke_get_deadline, 0, EMITS),
	SD_BUS_PROPERTY("Id", "t", NULL, offsetof(Session, id), SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("UID", "u", NULL, offsetof(Session, uid), SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("PID", "u", get_pid, 0, EMITS),
	SD_BUS_PROPERTY("State", "s", get_state, 0, EMITS),
	SD_BUS_PROPERTY("CreatedUSec", "t", NULL, offsetof(Session, created_usec),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Write", "b", get_option, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("PageCache", "b", get_option, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Files", "a(sttb)", get_files, 0, EMITS),
	SD_BUS_PROPERTY("Mirrors", "a(tttsbttt)", get_mirrors, 0, EMITS),
	SD_BUS_PROPERTY("MirroredBytes", "t", get_mirrored_bytes, 0, EMITS),
	STAT("DeviceFaults", device_faults),
	STAT("RangeFaults", range_faults),
	STAT("RangeRetries", range_retries),
	STAT("Invalidations", invalidations),
	STAT("BytesRead", bytes_read),
	STAT("BytesWritten", bytes_written),
	SD_BUS_VTABLE_END
};

static int session_find(sd_bus *bus, const char *path, const char *iface, void *userdata,
			void **found, sd_bus_error *error)
{
	Session *s = session_by_path(userdata, path);

	if (!s)
		return 0;
	*found = s;
	return 1;
}

static int session_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes,
			     sd_bus_error *error)
{
	Context *ctx = userdata;
	char **v;
	size_t i = 0;

	v = calloc((size_t)ctx->session_count + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (Session *s = ctx->sessions_head; s; s = s->next) {
		if (i == ctx->session_count)
			break;
		v[i] = strdup(s->path);
		if (!v[i]) {
			while (i)
				free(v[--i]);
			free(v);
			return -ENOMEM;
		}
		i++;
	}
	*nodes = v;
	return 0;
}

int session_register(Context *ctx)
{
	int r;

	r = sd_bus_add_fallback_vtable(ctx->bus, &ctx->session_slot, DM_SESSION_PREFIX,
				       DM_SESSION_IFACE, session_vtable, session_find, ctx);
	if (r < 0)
		return log_error_errno(r, "registering the Session interface: %m");
	r = sd_bus_add_node_enumerator(ctx->bus, &ctx->enumerator_slot, DM_SESSION_PREFIX,
				       session_enumerate, ctx);
	if (r < 0)
		return log_error_errno(r, "registering the session enumerator: %m");
	r = sd_bus_add_object_manager(ctx->bus, &ctx->object_manager_slot, DM_OBJECT_ROOT);
	if (r < 0)
		return log_error_errno(r, "registering the ObjectManager: %m");
	r = sd_bus_match_signal(ctx->bus, &ctx->owner_match_slot, "org.freedesktop.DBus",
				"/org/freedesktop/DBus", "org.freedesktop.DBus",
				"NameOwnerChanged", on_name_owner_changed, ctx);
	if (r < 0)
		return log_error_errno(r, "watching clients leaving the bus: %m");
	return 0;
}
