/* manager.c - org.daxmirror1.Manager at /org/daxmirror1: OpenSession (the
 * options, the policy and quota checks, then session.c creates it),
 * ListSessions, GetSessionByPID, RevokeSession (revoke.c), the properties
 * (the context's fields) and their changes on a reload. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "bus.h"
#include "bus-contract.h"
#include "log.h"
#include "manager.h"
#include "revoke.h"
#include "session.h"
#include "util.h"

void manager_config_changed(Context *ctx, const Config *old)
{
	if (old->max_sessions_per_user != ctx->config.max_sessions_per_user)
		context_emit_changed(ctx, "MaxSessionsPerUser");
	if (old->max_bytes_per_user != ctx->config.max_bytes_per_user)
		context_emit_changed(ctx, "MaxBytesPerUser");
	if (old->max_mirrors_per_session != ctx->config.max_mirrors_per_session)
		context_emit_changed(ctx, "MaxMirrorsPerSession");
	if (old->max_files_per_session != ctx->config.max_files_per_session)
		context_emit_changed(ctx, "MaxFilesPerSession");
}

/* OpenSession's options; the bits of what was given. */
enum {
	OPEN_WRITE,
	OPEN_PAGECACHE,
	OPEN_ANONYMOUS,
	OPEN_MAX_MIRRORS,
	OPEN_MAX_BYTES,
};

static const BusOption open_options[] = {
	[OPEN_WRITE] = { "Write", "b", offsetof(SessionOptions, write), 0 },
	[OPEN_PAGECACHE] = { "PageCache", "b", offsetof(SessionOptions, pagecache), 0 },
	[OPEN_ANONYMOUS] = { "Anonymous", "b", offsetof(SessionOptions, anonymous), 0 },
	[OPEN_MAX_MIRRORS] = { "MaxMirrors", "u", offsetof(SessionOptions, max_mirrors), 1 },
	[OPEN_MAX_BYTES] = { "MaxBytes", "t", offsetof(SessionOptions, max_bytes), DM_PAGE_SIZE },
};

static const BusOptionTable open_option_table = {
	.method = "OpenSession",
	.options = open_options,
	.n_options = ARRAY_SIZE(open_options),
	.unique = true,
	.list_known = true,
};

int manager_method_open_session(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Context *ctx = userdata;
	const Config *cfg = &ctx->config;
	SessionOptions o = { 0 };
	Session *s = NULL;
	uint64_t given = 0;
	uint64_t left;
	uid_t uid;
	pid_t pid;
	int r;

	/* Options first: they can be checked without the module. */
	r = bus_read_options(m, &open_option_table, &o, &given, error);
	if (r < 0)
		return r;
	r = caller_get(&ctx->callers, m, &uid, &pid, error);
	if (r < 0)
		return r;

	if (o.pagecache && !cfg->allow_pagecache && uid != 0)
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "page-cache files are not allowed by the configuration (AllowPageCache=no)");
	if (o.anonymous && !cfg->allow_anonymous && uid != 0)
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "anonymous memory is only for root (AllowAnonymous=no)");

	if (!(given & (1U << OPEN_MAX_MIRRORS)))
		o.max_mirrors = cfg->max_mirrors_per_session;
	else if (o.max_mirrors > cfg->max_mirrors_per_session)
		return sd_bus_error_setf(error, DXM_ERROR_QUOTA_EXCEEDED,
					 "MaxMirrors %u is over MaxMirrorsPerSession=%u",
					 o.max_mirrors, cfg->max_mirrors_per_session);
	if (quota_session_check(&ctx->quota, uid, cfg->max_sessions_per_user) < 0)
		return sd_bus_error_setf(error, DXM_ERROR_QUOTA_EXCEEDED,
					 "uid %u already has %u sessions (MaxSessionsPerUser=%u)",
					 (unsigned)uid, quota_sessions(&ctx->quota, uid),
					 cfg->max_sessions_per_user);
	left = quota_bytes_left(&ctx->quota, uid, cfg->max_bytes_per_user);
	if (!(given & (1U << OPEN_MAX_BYTES)))
		o.max_bytes = left;
	/* Not given and less than a page left, or more than is left. */
	if (o.max_bytes < DM_PAGE_SIZE || o.max_bytes > left)
		return sd_bus_error_setf(error, DXM_ERROR_QUOTA_EXCEEDED,
					 "MaxBytes %" PRIu64 ": uid %u may only mirror %" PRIu64 " more bytes (MaxBytesPerUser=%" PRIu64 ")",
					 o.max_bytes, (unsigned)uid, left, cfg->max_bytes_per_user);

	if (ctx->kernel.fd < 0)
		return sd_bus_error_setf(error, DXM_ERROR_MODULE_NOT_LOADED,
					 "%s is not there: the daxmirror module is not loaded",
					 ctx->kernel.path);

	r = session_open(ctx, m, uid, pid, &o, &s, error);
	if (r < 0)
		return r;
	/* The answer first, then the announcements: the caller does not wait
	 * behind InterfacesAdded and SessionCount. */
	r = sd_bus_reply_method_return(m, "oh", s->path, s->fd);
	if (r < 0) {
		log_error_errno(r, "session %" PRIu64 ": sending the reply: %m; dropping it", s->id);
		session_end(s, SESSION_END_ERROR);
		return r;
	}
	session_publish(s);
	return 1;
}

static int method_list_sessions(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Context *ctx = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	uid_t uid;
	int r;

	r = caller_get(&ctx->callers, m, &uid, NULL, error);
	if (r < 0)
		return r;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'a', "(tousu)");
	if (r < 0)
		return r;
	for (Session *s = ctx->sessions_head; s; s = s->next) {
		if (uid != 0 && s->uid != uid)
			continue;
		r = sd_bus_message_append(reply, "(tousu)", s->id, s->path, (uint32_t)s->uid,
					  session_state_name(s->info.state),
					  (uint32_t)session_pid(s));
		if (r < 0)
			return r;
	}
	r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int method_get_session_by_pid(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Context *ctx = userdata;
	uint32_t want;
	uid_t uid;
	pid_t pid;
	int r;

	r = sd_bus_message_read(m, "u", &want);
	if (r < 0)
		return r;
	r = caller_get(&ctx->callers, m, &uid, &pid, error);
	if (r < 0)
		return r;
	if (want == 0) {
		if (pid <= 0)
			return sd_bus_error_setf(error, DXM_ERROR_NO_SUCH_SESSION,
						 "the caller's pid is not known");
		want = (uint32_t)pid;
	}
	if (want > INT32_MAX)
		return sd_bus_error_setf(error, DXM_ERROR_NO_SUCH_SESSION, "no process %u", want);
	/* The binder (kernel) first, then the opener. */
	for (int pass = 0; pass < 2; pass++) {
		for (Session *s = ctx->sessions_head; s; s = s->next) {
			pid_t p = pass == 0 ? s->info.pid : s->open_pid;

			if (uid != 0 && s->uid != uid)
				continue;
			if (p > 0 && (uint32_t)p == want)
				return sd_bus_reply_method_return(m, "o", s->path);
		}
	}
	return sd_bus_error_setf(error, DXM_ERROR_NO_SUCH_SESSION, "no session of process %u", want);
}

static int method_revoke_session(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Context *ctx = userdata;
	const char *path;
	Session *s;
	int r;

	r = sd_bus_message_read(m, "o", &path);
	if (r < 0)
		return r;
	r = revoke_check_caller(m, error);
	if (r < 0)
		return r;
	s = session_by_path(ctx, path);
	if (!s)
		return sd_bus_error_setf(error, DXM_ERROR_NO_SUCH_SESSION, "no session %s", path);
	return revoke_session_call(s, m, error);
}

static int get_module_state(sd_bus *bus, const char *path, const char *iface,
			    const char *prop, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	const Context *ctx = userdata;

	return sd_bus_message_append(reply, "s", ctx->kernel.fd >= 0 ? "loaded" : "missing");
}

#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("OpenSession",
		SD_BUS_ARGS("a{sv}", options),
		SD_BUS_RESULT("o", session, "h", fd),
		manager_method_open_session, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListSessions",
		SD_BUS_NO_ARGS,
		SD_BUS_RESULT("a(tousu)", sessions),
		method_list_sessions, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetSessionByPID",
		SD_BUS_ARGS("u", pid),
		SD_BUS_RESULT("o", session),
		method_get_session_by_pid, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("RevokeSession",
		SD_BUS_ARGS("o", session),
		SD_BUS_NO_RESULT,
		method_revoke_session, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("Version", "s", NULL, offsetof(Context, version),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ModuleVersion", "u", NULL, offsetof(Context, kernel.version), EMITS),
	SD_BUS_PROPERTY("ModuleState", "s", get_module_state, 0, EMITS),
	SD_BUS_PROPERTY("SessionCount", "u", NULL, offsetof(Context, session_count), EMITS),
	SD_BUS_PROPERTY("MirrorCount", "u", NULL, offsetof(Context, mirror_count), EMITS),
	SD_BUS_PROPERTY("MirroredBytes", "t", NULL, offsetof(Context, mirrored_bytes), EMITS),
	SD_BUS_PROPERTY("MaxSessionsPerUser", "u", NULL,
			offsetof(Context, config.max_sessions_per_user), EMITS),
	SD_BUS_PROPERTY("MaxBytesPerUser", "t", NULL,
			offsetof(Context, config.max_bytes_per_user), EMITS),
	SD_BUS_PROPERTY("MaxMirrorsPerSession", "u", NULL,
			offsetof(Context, config.max_mirrors_per_session), EMITS),
	SD_BUS_PROPERTY("MaxFilesPerSession", "u", NULL,
			offsetof(Context, config.max_files_per_session), EMITS),
	SD_BUS_VTABLE_END
};

int manager_register(Context *ctx)
{
	int r;

	r = sd_bus_add_object_vtable(ctx->bus, &ctx->manager_slot, DXM_OBJECT_ROOT,
				     DXM_MANAGER_IFACE, manager_vtable, ctx);
	if (r < 0)
		return log_error_errno(r, "registering the Manager interface: %m");
	return 0;
}
