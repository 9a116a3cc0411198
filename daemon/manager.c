/* manager.c - org.daxmirror1.Manager at /org/daxmirror1: OpenSession (the
 * options, the policy and quota checks, then session.c creates it),
 * ListSessions, GetSessionByPID, RevokeSession, and the properties. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "bus.h"
#include "errors.h"
#include "kernel.h"
#include "log.h"
#include "manager.h"
#include "session.h"
#include "util.h"

void manager_emit_changed(Context *ctx, const char *property)
{
	int r;

	if (!ctx->bus)
		return;
	r = sd_bus_emit_properties_changed(ctx->bus, DM_OBJECT_ROOT, DM_MANAGER_IFACE,
					   property, NULL);
	if (r < 0)
		log_warning_errno(r, "emitting PropertiesChanged(%s): %m", property);
}

void manager_update_totals(Context *ctx)
{
	uint32_t mirrors = 0;
	uint64_t bytes = 0;

	for (Session *s = ctx->sessions_head; s; s = s->next) {
		mirrors += s->info.nr_mirrors;
		bytes += s->info.mirrored_pages * DM_PAGE_SIZE;
	}
	if (mirrors != ctx->mirror_count) {
		ctx->mirror_count = mirrors;
		manager_emit_changed(ctx, "MirrorCount");
	}
	if (bytes != ctx->mirrored_bytes) {
		ctx->mirrored_bytes = bytes;
		manager_emit_changed(ctx, "MirroredBytes");
	}
}

void manager_config_changed(Context *ctx, const Config *old)
{
	if (old->max_sessions_per_user != ctx->config.max_sessions_per_user)
		manager_emit_changed(ctx, "MaxSessionsPerUser");
	if (old->max_bytes_per_user != ctx->config.max_bytes_per_user)
		manager_emit_changed(ctx, "MaxBytesPerUser");
	if (old->max_mirrors_per_session != ctx->config.max_mirrors_per_session)
		manager_emit_changed(ctx, "MaxMirrorsPerSession");
}

/* Reads OpenSession's a{sv} into *@o (fields the caller gave are flagged
 * in *@given: bit 0 MaxMirrors, bit 1 MaxBytes). */
static int read_open_options(sd_bus_message *m, SessionOptions *o, unsigned *given,
			     sd_bus_error *error)
{
	unsigned seen = 0;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		static const char *const keys[] = {
			"Write", "PageCache", "Anonymous", "MaxMirrors", "MaxBytes",
		};
		const char *key;
		unsigned k;
		int b = 0;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		for (k = 0; k < ARRAY_SIZE(keys); k++)
			if (streq(key, keys[k]))
				break;
		if (k == ARRAY_SIZE(keys))
			return dm_error(error, DM_ERROR_INVALID_OPTION,
					"unknown OpenSession option '%s' (known: Write, PageCache, Anonymous, MaxMirrors, MaxBytes)",
					key);
		if (seen & (1U << k))
			return dm_error(error, DM_ERROR_INVALID_OPTION,
					"option '%s' given twice", key);
		seen |= 1U << k;
		switch (k) {
		case 0: case 1: case 2:
			r = bus_read_option(m, key, "b", &b, error);
			if (r < 0)
				return r;
			if (k == 0)
				o->write = b;
			else if (k == 1)
				o->pagecache = b;
			else
				o->anonymous = b;
			break;
		case 3:
			r = bus_read_option(m, key, "u", &o->max_mirrors, error);
			if (r < 0)
				return r;
			if (o->max_mirrors == 0)
				return dm_error(error, DM_ERROR_INVALID_OPTION,
						"MaxMirrors must be at least 1");
			*given |= 1;
			break;
		case 4:
			r = bus_read_option(m, key, "t", &o->max_bytes, error);
			if (r < 0)
				return r;
			if (o->max_bytes < DM_PAGE_SIZE)
				return dm_error(error, DM_ERROR_INVALID_OPTION,
						"MaxBytes must be at least %llu", DM_PAGE_SIZE);
			*given |= 2;
			break;
		}
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int method_open_session(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Context *ctx = userdata;
	const Config *cfg = &ctx->config;
	SessionOptions o = { 0 };
	Session *s = NULL;
	unsigned given = 0;
	uint64_t left;
	uid_t uid;
	pid_t pid;
	int r;

	/* Options first: they can be checked without the module. */
	r = read_open_options(m, &o, &given, error);
	if (r < 0)
		return r;
	r = bus_caller(m, &uid, &pid, error);
	if (r < 0)
		return r;

	if (o.pagecache && !cfg->allow_pagecache && uid != 0)
		return dm_error(error, DM_ERROR_ACCESS_DENIED,
				"page-cache files are not allowed by the configuration (AllowPageCache=no)");
	if (o.anonymous && !cfg->allow_anonymous && uid != 0)
		return dm_error(error, DM_ERROR_ACCESS_DENIED,
				"anonymous memory is only for root (AllowAnonymous=no)");

	if (!(given & 1))
		o.max_mirrors = cfg->max_mirrors_per_session;
	else if (o.max_mirrors > cfg->max_mirrors_per_session)
		return dm_error(error, DM_ERROR_QUOTA_EXCEEDED,
				"MaxMirrors %u is over MaxMirrorsPerSession=%u",
				o.max_mirrors, cfg->max_mirrors_per_session);
	if (quota_session_check(&ctx->quota, uid, cfg->max_sessions_per_user) < 0)
		return dm_error(error, DM_ERROR_QUOTA_EXCEEDED,
				"uid %u already has %u sessions (MaxSessionsPerUser=%u)",
				(unsigned)uid, quota_sessions(&ctx->quota, uid),
				cfg->max_sessions_per_user);
	left = quota_bytes_left(&ctx->quota, uid, cfg->max_bytes_per_user);
	if (!(given & 2))
		o.max_bytes = left;
	/* Not given and less than a page left, or more than is left. */
	if (o.max_bytes < DM_PAGE_SIZE || o.max_bytes > left)
		return dm_error(error, DM_ERROR_QUOTA_EXCEEDED,
				"MaxBytes %" PRIu64 ": uid %u may only mirror %" PRIu64 " more bytes (MaxBytesPerUser=%" PRIu64 ")",
				o.max_bytes, (unsigned)uid, left, cfg->max_bytes_per_user);

	if (ctx->control_fd < 0)
		return dm_error(error, DM_ERROR_MODULE_NOT_LOADED,
				"%s is not there: the daxmirror module is not loaded",
				ctx->control_path);

	r = session_open(ctx, m, uid, pid, &o, &s, error);
	if (r < 0)
		return r;
	r = sd_bus_reply_method_return(m, "oh", s->path, s->fd);
	if (r < 0) {
		log_error_errno(r, "session %" PRIu64 ": sending the reply: %m; dropping it", s->id);
		session_end(s, SESSION_END_ERROR);
	}
	return r;
}

static int method_list_sessions(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Context *ctx = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	uid_t uid;
	int r;

	r = bus_caller(m, &uid, NULL, error);
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
	r = bus_caller(m, &uid, &pid, error);
	if (r < 0)
		return r;
	if (want == 0) {
		if (pid <= 0)
			return dm_error(error, DM_ERROR_NO_SUCH_SESSION,
					"the caller's pid is not known");
		want = (uint32_t)pid;
	}
	if (want > INT32_MAX)
		return dm_error(error, DM_ERROR_NO_SUCH_SESSION, "no process %u", want);
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
	return dm_error(error, DM_ERROR_NO_SUCH_SESSION, "no session of process %u", want);
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
	r = session_check_revoker(m, error);
	if (r < 0)
		return r;
	s = session_by_path(ctx, path);
	if (!s)
		return dm_error(error, DM_ERROR_NO_SUCH_SESSION, "no session %s", path);
	return session_revoke_call(s, m, error);
}

static int get_module_state(sd_bus *bus, const char *path, const char *iface,
			    const char *prop, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	const Context *ctx = userdata;

	return sd_bus_message_append(reply, "s", ctx->control_fd >= 0 ? "loaded" : "missing");
}

#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("OpenSession",
		SD_BUS_ARGS("a{sv}", options),
		SD_BUS_RESULT("o", session, "h", fd),
		method_open_session, SD_BUS_VTABLE_UNPRIVILEGED),
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
	SD_BUS_PROPERTY("ModuleVersion", "u", NULL, offsetof(Context, module_version), EMITS),
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
	SD_BUS_VTABLE_END
};

int manager_register(Context *ctx)
{
	int r;

	r = sd_bus_add_object_vtable(ctx->bus, &ctx->manager_slot, DM_OBJECT_ROOT,
				     DM_MANAGER_IFACE, manager_vtable, ctx);
	if (r < 0)
		return log_error_errno(r, "registering the Manager interface: %m");
	return 0;
}
