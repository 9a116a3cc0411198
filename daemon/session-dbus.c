/* session-dbus.c - the bus face of a session: org.daxmirror1.Session's
 * methods (AttachFile, whose vetting vetting.c runs off the loop, Close,
 * Revoke; the graceful revoke's are revoke.c's) and properties (those of
 * the module's session, Backend and the counters among them, read from it
 * when asked), its fallback vtable under /org/daxmirror1/session with the
 * object-find callback and node enumerator, the ObjectManager at
 * /org/daxmirror1, and the one match that ends the sessions of a client
 * leaving the bus. The lifetime behind it is session.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "bus-contract.h"
#include "kernel.h"
#include "log.h"
#include "revoke.h"
#include "session.h"
#include "session-dbus.h"
#include "util.h"
#include "vet.h"
#include "vetting.h"

/* --- methods -------------------------------------------------------- */

typedef struct AttachOptions {
	bool write;
} AttachOptions;

/* A key given twice: the last one counts. */
static const BusOption attach_options[] = {
	{ "Write", "b", offsetof(AttachOptions, write), 0 },
};

static const BusOptionTable attach_option_table = {
	.method = "AttachFile",
	.options = attach_options,
	.n_options = ARRAY_SIZE(attach_options),
};

/* 0, or QuotaExceeded if @length more bytes exceed the owner's quota. */
static int check_bytes_quota(Session *s, uint64_t length, sd_bus_error *error)
{
	Context *ctx = s->ctx;

	if (quota_bytes_check(&ctx->quota, s->uid, length, ctx->config.max_bytes_per_user) == 0)
		return 0;
	return sd_bus_error_setf(error, DXM_ERROR_QUOTA_EXCEEDED,
				 "uid %u has %" PRIu64 " of %" PRIu64 " bytes attached; %" PRIu64 " more would exceed MaxBytesPerUser",
				 (unsigned)s->uid, quota_bytes(&ctx->quota, s->uid),
				 ctx->config.max_bytes_per_user, length);
}

/* 0, or TooManyFiles when @s has as many file ranges as it may. */
static int check_files_limit(Session *s, sd_bus_error *error)
{
	uint32_t max = s->ctx->config.max_files_per_session;

	if (s->n_files < max)
		return 0;
	return sd_bus_error_setf(error, DXM_ERROR_TOO_MANY_FILES,
				 "session %" PRIu64 " has %zu file ranges attached, the most it may have "
				 "(MaxFilesPerSession=%" PRIu32 "): detach one (DetachFile; the library "
				 "does when the last mirror over it is freed)",
				 s->id, s->n_files, max);
}

/* PropertiesChanged of Files, after the answer to the call that changed
 * them. */
static void emit_files_changed(Session *s)
{
	int r;

	r = sd_bus_emit_properties_changed(s->ctx->bus, s->path, DXM_SESSION_IFACE, "Files", NULL);
	if (r < 0)
		log_warning_errno(r, "%s: emitting PropertiesChanged: %m", s->path);
}

/* AttachFile, second half: the file passed vetting on a thread
 * (vetting.c); on the loop again, with the session still there: the byte
 * quota, the grant, the reply. */
static int attach_file_vetted(Session *s, sd_bus_message *m, int fd, const VetRequest *req,
			      const VetReport *rep, sd_bus_error *error)
{
	Context *ctx = s->ctx;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	uint64_t offset = req->offset, length = req->length;
	bool write = req->write;
	SessionFile *files;
	int r;

	r = check_files_limit(s, error);
	if (r >= 0)
		r = check_bytes_quota(s, length, error);
	if (r < 0)
		return r;

	/* Everything that can fail for lack of memory, before the grant. */
	path = strdup(rep->path);
	if (!path)
		return -ENOMEM;
	files = reallocarray(s->files, s->n_files + 1, sizeof(*files));
	if (!files)
		return -ENOMEM;
	s->files = files;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;

	r = kernel_grant(&ctx->kernel, s->id, fd, offset, length, write);
	if (r == -ENODEV)
		return sd_bus_error_setf(error, DXM_ERROR_REVOKED, "session %" PRIu64 " was revoked", s->id);
	if (r < 0)
		return sd_bus_error_setf(error, DXM_ERROR_KERNEL, "the module refused the grant: %s (%s)",
					 strerror(-r), strerrorname_np(-r) ? strerrorname_np(-r) : "?");

	s->files[s->n_files++] = (SessionFile){
		.path = path, .offset = offset, .length = length, .write = write,
		.dev = rep->dev, .ino = rep->ino, .grant = ++s->next_grant,
	};
	path = NULL;
	s->attached_bytes += length;
	r = quota_bytes_add(&ctx->quota, s->uid, length);
	if (r < 0)
		log_error_errno(r, "quota accounting of uid %u: %m", (unsigned)s->uid);
	log_info("session %" PRIu64 ": attached %s [%" PRIu64 ", +%" PRIu64 ")%s, %s, %s",
		 s->id, rep->path, offset, length, write ? " for writing" : "",
		 rep->dax ? "DAX" : "page cache", dmp_granularity_name(rep->granularity));
	if (ctx->session_hook)
		ctx->session_hook(s, SESSION_EVENT_CHANGED);

	r = sd_bus_message_append(reply, "a{sv}", 5,
				  "Dax", "b", (int)rep->dax,
				  "StoreGranularity", "s", dmp_granularity_name(rep->granularity),
				  "NumaNode", "i", (int32_t)rep->numa_node,
				  "Path", "s", rep->path,
				  "Grant", "t", s->next_grant);
	if (r < 0) {
		log_error_errno(r, "session %" PRIu64 ": building the AttachFile reply: %m", s->id);
		r = sd_bus_reply_method_errnof(m, r, "building the reply: %m");
	} else {
		r = sd_bus_send(NULL, reply, NULL);
	}
	/* Attached either way: the answer first, then the listeners. */
	emit_files_changed(s);
	return r;
}

/* AttachFile's checks on the loop: nothing here calls into the file's
 * file system (vet_precheck() reads procfs). 0 when the vetting is
 * queued, or an error to answer. */
static int attach_file_start(Session *s, sd_bus_message *m, int fd, uid_t uid,
			     sd_bus_error *error)
{
	AttachOptions o = { 0 };
	uint64_t offset, length;
	VetRequest req;
	int r;

	r = sd_bus_message_read(m, "tt", &offset, &length);
	if (r < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "cannot read the arguments: %s",
					 strerror(-r));
	r = bus_read_options(m, &attach_option_table, &o, NULL, error);
	if (r < 0)
		return r;
	if (uid != 0 && uid != s->uid)
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "only the owner of session %" PRIu64 " or root may attach files",
					 s->id);
	if (s->info.state == DAXMIRROR_STATE_REVOKED)
		return sd_bus_error_setf(error, DXM_ERROR_REVOKED, "session %" PRIu64 " was revoked", s->id);
	if (o.write && !s->options.write)
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "session %" PRIu64 " was opened without Write", s->id);

	r = vet_precheck(fd, offset, length, o.write, error);
	if (r < 0)
		return r;
	r = check_files_limit(s, error);
	if (r >= 0)
		r = check_bytes_quota(s, length, error);
	if (r < 0)
		return r;

	req = (VetRequest){
		.offset = offset, .length = length, .write = o.write,
		.pagecache = s->options.pagecache,
	};
	/* Threads are counted against the caller's uid: root attaching for
	 * a session of another uid uses root's. */
	return vetting_submit(s, m, uid, fd, &req, attach_file_vetted, error);
}

/* AttachFile, first half. Its fd is never closed here: the bus filter
 * (vetting_bus_filter()) holds every message that carries fds and has a
 * thread drop them, since close() of a FUSE fd waits for its server. */
int session_method_attach_file(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Session *s = userdata;
	uid_t uid = UID_UNKNOWN;
	int fd, r;

	r = sd_bus_message_read(m, "h", &fd);
	if (r < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "cannot read the arguments: %s",
					 strerror(-r));
	r = caller_get(&s->ctx->callers, m, &uid, NULL, error);
	if (r < 0)
		return r;
	r = attach_file_start(s, m, fd, uid, error);
	return r < 0 ? r : 1;	/* 1: vetting.c answers */
}

/* DetachFile(t grant): gives back a file range AttachFile attached (its
 * "Grant"), unless a live mirror maps part of it. The module is told
 * first; only then do the quota, the record and the Files property drop
 * it. */
static int method_detach_file(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Session *s = userdata;
	Context *ctx = s->ctx;
	SessionFile *f = NULL;
	uint64_t grant;
	uid_t uid;
	size_t i;
	int r;

	r = sd_bus_message_read(m, "t", &grant);
	if (r < 0)
		return r;
	r = caller_get(&s->ctx->callers, m, &uid, NULL, error);
	if (r < 0)
		return r;
	if (uid != 0 && uid != s->uid)
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "only the owner of session %" PRIu64 " or root may detach files",
					 s->id);
	for (i = 0; i < s->n_files && !f; i++)
		if (s->files[i].grant == grant)
			f = &s->files[i];
	if (!f)
		return sd_bus_error_setf(error, DXM_ERROR_NOT_ATTACHED,
					 "session %" PRIu64 " has no attached file range %" PRIu64,
					 s->id, grant);
	i--;
	if (!f->dev && !f->ino)
		return sd_bus_error_setf(error, DXM_ERROR_NOT_ATTACHED,
					 "file range %" PRIu64 " of session %" PRIu64 " was attached by "
					 "a daemon that did not record its inode; it stays until the "
					 "session ends", grant, s->id);

	r = kernel_ungrant(&ctx->kernel, s->id, f->dev, f->ino, f->offset, f->length, f->write);
	if (r == -EBUSY)
		return sd_bus_error_setf(error, DXM_ERROR_BUSY,
					 "a live mirror maps part of %s [%" PRIu64 ", +%" PRIu64 "): "
					 "free it first", f->path, f->offset, f->length);
	if (r == -ENODEV)
		return sd_bus_error_setf(error, DXM_ERROR_REVOKED, "session %" PRIu64 " was revoked", s->id);
	if (r < 0)
		return sd_bus_error_setf(error, DXM_ERROR_KERNEL, "the module refused to ungrant: %s (%s)",
					 strerror(-r), strerrorname_np(-r) ? strerrorname_np(-r) : "?");

	log_info("session %" PRIu64 ": detached %s [%" PRIu64 ", +%" PRIu64 ")",
		 s->id, f->path, f->offset, f->length);
	s->attached_bytes -= f->length;
	quota_bytes_remove(&ctx->quota, s->uid, f->length);
	free(f->path);
	memmove(&s->files[i], &s->files[i + 1], (s->n_files - i - 1) * sizeof(s->files[0]));
	s->n_files--;
	if (ctx->session_hook)
		ctx->session_hook(s, SESSION_EVENT_CHANGED);
	r = sd_bus_reply_method_return(m, NULL);
	emit_files_changed(s);
	return r;
}

static int method_close(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Session *s = userdata;
	uid_t uid;
	int r;

	r = caller_get(&s->ctx->callers, m, &uid, NULL, error);
	if (r < 0)
		return r;
	if (uid != 0 && uid != s->uid)
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "only the owner of session %" PRIu64 " or root may close it", s->id);
	return session_end_answer(s, SESSION_END_CLOSE, m);
}

static int method_revoke(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return revoke_session_call(userdata, m, error);
}

/* --- properties ----------------------------------------------------- */

/* Is a getter answering a bus message (not a signal being emitted)?
 * Then what it read for this message may serve the message's other
 * properties and objects (GetAll, GetManagedObjects): one SESSION_INFO
 * and one MIRROR_LIST per session per message, not one per property. */
static bool in_message(sd_bus *bus)
{
	return sd_bus_get_current_message(bus) != NULL;
}

/*
 * What the module says of @s now, or the daemon's last view of it if the
 * module cannot say (gone, or no module). Getters read the kernel when
 * asked, so what busctl shows is current; nothing reads it in between.
 */
static void session_now(sd_bus *bus, Session *s, struct daxmirror_session_info *info)
{
	uint64_t seq = s->ctx->bus_msg_seq;

	if (!in_message(bus) || !seq || s->now_seq != seq) {
		if (kernel_session_peek(&s->ctx->kernel, s->id, &s->now) < 0)
			s->now = s->info;
		s->now_seq = in_message(bus) ? seq : 0;
	}
	*info = s->now;
}

static int get_pid(sd_bus *bus, const char *path, const char *iface, const char *prop,
		   sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Session *s = userdata;
	struct daxmirror_session_info info;

	session_now(bus, s, &info);
	return sd_bus_message_append(reply, "u",
				     (uint32_t)(info.pid > 0 ? info.pid : s->open_pid));
}

static int get_state(sd_bus *bus, const char *path, const char *iface, const char *prop,
		     sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	struct daxmirror_session_info info;

	session_now(bus, userdata, &info);
	return sd_bus_message_append(reply, "s", session_state_name(info.state));
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
	Session *s = userdata;
	const struct daxmirror_mirror_info *mirrors = s->mirrors;
	size_t n = s->n_mirrors;
	uint64_t seq = s->ctx->bus_msg_seq;
	int r;

	/* The entry counts change with every device fault: read them now
	 * (once per bus message). */
	bool fresh = in_message(bus) && seq && s->now_mirrors_seq == seq;

	if (!fresh) {
		struct daxmirror_mirror_info *now = NULL;
		size_t nn = 0;

		s->now_mirrors_seq = 0;
		if (kernel_mirror_list(&s->ctx->kernel, s->id, &now, &nn) >= 0) {
			free(s->now_mirrors);
			s->now_mirrors = now;
			s->n_now_mirrors = nn;
			s->now_mirrors_seq = in_message(bus) ? seq : 0;
			fresh = true;
		}
	}
	if (fresh) {
		mirrors = s->now_mirrors;
		n = s->n_now_mirrors;
	}
	r = sd_bus_message_open_container(reply, 'a', "(tttsbttt)");
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct daxmirror_mirror_info *mi = &mirrors[i];

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
	struct daxmirror_session_info info;

	session_now(bus, userdata, &info);
	return sd_bus_message_append(reply, "t", (uint64_t)info.mirrored_pages * DM_PAGE_SIZE);
}

/* DAXMIRROR_BACKEND_* as Backend says it: "cpu", "dma", "unknown-N" for
 * a number this daemon does not know (a newer module). */
#define BACKEND_NAME_MAX sizeof("unknown-4294967295")

static const char *backend_name(uint32_t backend, char *buf, size_t size)
{
	switch (backend) {
	case DAXMIRROR_BACKEND_CPU:
		return "cpu";
	case DAXMIRROR_BACKEND_DMA:
		return "dma";
	}
	snprintf(buf, size, "unknown-%" PRIu32, backend);
	return buf;
}

/* Backend: chosen by the module when the session was created, never
 * changed (const). */
static int get_backend(sd_bus *bus, const char *path, const char *iface, const char *prop,
		       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	struct daxmirror_session_info info;
	char buf[BACKEND_NAME_MAX];

	session_now(bus, userdata, &info);
	return sd_bus_message_append(reply, "s", backend_name(info.backend, buf, sizeof(buf)));
}

/* The counters, by property name: they change with every device access,
 * so they are read when asked and never announced. DmaTransfers and
 * DmaMappings stay 0 unless the session's backend is DMA. */
static const struct {
	const char *name;
	size_t offset;		/* in struct daxmirror_session_info */
} counters[] = {
#define COUNTER(name, field) { name, offsetof(struct daxmirror_session_info, field) }
	COUNTER("DeviceFaults", stats.device_faults),
	COUNTER("RangeFaults", stats.range_faults),
	COUNTER("RangeRetries", stats.range_retries),
	COUNTER("Invalidations", stats.invalidations),
	COUNTER("BytesRead", stats.bytes_read),
	COUNTER("BytesWritten", stats.bytes_written),
	COUNTER("DmaTransfers", dma_transfers),
	COUNTER("DmaMappings", stats.dma_mappings),
#undef COUNTER
};

static int get_counter(sd_bus *bus, const char *path, const char *iface, const char *prop,
		       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	struct daxmirror_session_info info;

	session_now(bus, userdata, &info);
	for (size_t i = 0; i < ARRAY_SIZE(counters); i++) {
		uint64_t v;

		if (!streq(prop, counters[i].name))
			continue;
		memcpy(&v, (const char *)&info + counters[i].offset, sizeof(v));
		return sd_bus_message_append(reply, "t", v);
	}
	return -ENOENT;
}

#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define STAT(name) SD_BUS_PROPERTY(name, "t", get_counter, 0, 0)

static const sd_bus_vtable session_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("AttachFile",
		SD_BUS_ARGS("h", fd, "t", offset, "t", length, "a{sv}", options),
		SD_BUS_RESULT("a{sv}", report),
		session_method_attach_file, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("DetachFile", SD_BUS_ARGS("t", grant), SD_BUS_NO_RESULT,
		method_detach_file, SD_BUS_VTABLE_UNPRIVILEGED),
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
	SD_BUS_PROPERTY("Backend", "s", get_backend, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	STAT("DeviceFaults"),
	STAT("RangeFaults"),
	STAT("RangeRetries"),
	STAT("Invalidations"),
	STAT("BytesRead"),
	STAT("BytesWritten"),
	STAT("DmaTransfers"),
	STAT("DmaMappings"),
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
	caller_forget(&ctx->callers, name);
	for (s = ctx->sessions_head; s; s = next) {
		next = s->next;
		if (s->owner && strcmp(s->owner, name) == 0)
			session_end(s, SESSION_END_DISCONNECT);
	}
	return 0;
}

int session_dbus_register(Context *ctx)
{
	int r;

	r = sd_bus_add_fallback_vtable(ctx->bus, &ctx->session_slot, DXM_SESSION_PREFIX,
				       DXM_SESSION_IFACE, session_vtable, session_find, ctx);
	if (r < 0)
		return log_error_errno(r, "registering the Session interface: %m");
	r = sd_bus_add_node_enumerator(ctx->bus, &ctx->enumerator_slot, DXM_SESSION_PREFIX,
				       session_enumerate, ctx);
	if (r < 0)
		return log_error_errno(r, "registering the session enumerator: %m");
	r = sd_bus_add_object_manager(ctx->bus, &ctx->object_manager_slot, DXM_OBJECT_ROOT);
	if (r < 0)
		return log_error_errno(r, "registering the ObjectManager: %m");
	r = sd_bus_match_signal(ctx->bus, &ctx->owner_match_slot, "org.freedesktop.DBus",
				"/org/freedesktop/DBus", "org.freedesktop.DBus",
				"NameOwnerChanged", on_name_owner_changed, ctx);
	if (r < 0)
		return log_error_errno(r, "watching clients leaving the bus: %m");
	return 0;
}
