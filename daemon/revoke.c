/* revoke.c - revoking sessions. Session.Revoke and Manager.RevokeSession
 * (root) end one at once. Graceful revoke: Session.RequestRevoke (root)
 * tells the session's owner with a RevokeRequested signal and arms a timer;
 * Session.AcknowledgeRevoke (the owner) revokes at once, the timer forces
 * the revoke at the deadline, and whatever ends the session first answers
 * every pending RequestRevoke with how it ended. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "bus.h"
#include "bus-contract.h"
#include "log.h"
#include "revoke.h"
#include "util.h"

/* One pending graceful revoke of a session (Session.revoke). */
struct RevokeRequest {
	Session *s;			/* NULL once detached (closing) */
	uv_timer_t timer;		/* forces the revoke at the deadline */
	uint64_t deadline_usec;		/* CLOCK_MONOTONIC */
	const char *how;		/* set just before session_end() */
	sd_bus_message **callers;	/* RequestRevoke calls to answer */
	size_t n_callers;
};

int revoke_check_caller(sd_bus_message *m, sd_bus_error *error)
{
	uid_t uid;
	int r;

	r = bus_caller(m, &uid, NULL, error);
	if (r < 0)
		return r;
	if (uid != 0)
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "only root may revoke sessions");
	return 0;
}

int revoke_session_call(Session *s, sd_bus_message *m, sd_bus_error *error)
{
	int r;

	r = revoke_check_caller(m, error);
	if (r < 0)
		return r;
	return session_end_answer(s, SESSION_END_REVOKE, m);
}

static void request_closed(uv_handle_t *h)
{
	free(container_of((uv_timer_t *)h, RevokeRequest, timer));
}

/* Detaches the request from its session and frees it (the timer handle
 * first: the memory goes in its close callback). */
static void request_free(RevokeRequest *req)
{
	for (size_t i = 0; i < req->n_callers; i++)
		sd_bus_message_unref(req->callers[i]);
	free(req->callers);
	req->callers = NULL;
	req->n_callers = 0;
	if (req->s)
		req->s->revoke = NULL;
	req->s = NULL;
	uv_close((uv_handle_t *)&req->timer, request_closed);
}

static void on_deadline(uv_timer_t *t)
{
	RevokeRequest *req = container_of(t, RevokeRequest, timer);
	Session *s = req->s;

	if (!s)
		return;
	log_info("session %" PRIu64 ": no acknowledgement within the grace period, revoking",
		 s->id);
	req->how = "forced";
	session_end(s, SESSION_END_REVOKE);
}

/* RevokeRequested(t deadline_usec), to the owner only (broadcast when the
 * owner is unknown, as for a session taken back at start). */
static void emit_requested(Session *s, uint64_t deadline)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
	Context *ctx = s->ctx;
	int r;

	r = sd_bus_message_new_signal(ctx->bus, &sig, s->path, DXM_SESSION_IFACE,
				      "RevokeRequested");
	if (r >= 0 && s->owner)
		r = sd_bus_message_set_destination(sig, s->owner);
	if (r >= 0)
		r = sd_bus_message_append(sig, "t", deadline);
	if (r >= 0)
		r = sd_bus_send(ctx->bus, sig, NULL);
	if (r < 0)
		log_warning_errno(r, "%s: emitting RevokeRequested: %m", s->path);
	r = sd_bus_emit_properties_changed(ctx->bus, s->path, DXM_SESSION_IFACE,
					   "RevokeDeadlineUSec", NULL);
	if (r < 0)
		log_warning_errno(r, "%s: emitting PropertiesChanged: %m", s->path);
}

int revoke_request_call(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Session *s = userdata;
	Context *ctx = s->ctx;
	RevokeRequest *req = s->revoke;
	sd_bus_message **callers;
	uint64_t deadline;
	uint32_t grace;
	int r;

	r = sd_bus_message_read(m, "u", &grace);
	if (r < 0)
		return r;
	r = revoke_check_caller(m, error);
	if (r < 0)
		return r;
	if (grace > REVOKE_MAX_GRACE_MS)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "a grace period of %" PRIu32 " ms is more than the %u ms allowed",
					 grace, REVOKE_MAX_GRACE_MS);
	if (!grace)
		grace = REVOKE_DEFAULT_GRACE_MS;

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return -ENOMEM;
		r = uv_timer_init(&ctx->loop, &req->timer);
		if (r < 0) {
			free(req);
			return -ENOMEM;
		}
		req->s = s;
		s->revoke = req;
	}
	callers = reallocarray(req->callers, req->n_callers + 1, sizeof(*callers));
	if (!callers) {
		if (!req->n_callers)
			request_free(req);
		return -ENOMEM;
	}
	req->callers = callers;
	req->callers[req->n_callers++] = sd_bus_message_ref(m);

	/* A second request joins the first; it may bring the deadline
	 * forward, never push it back. */
	deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t)grace * 1000;
	if (req->n_callers == 1 || deadline < req->deadline_usec) {
		req->deadline_usec = deadline;
		uv_update_time(&ctx->loop);
		uv_timer_start(&req->timer, on_deadline, grace, 0);
		emit_requested(s, deadline);
		log_info("session %" PRIu64 ": revoke requested, grace %" PRIu32 " ms", s->id,
			 grace);
	}
	return 1;	/* answered when the session ends */
}

int revoke_acknowledge_call(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Session *s = userdata;
	const char *sender = sd_bus_message_get_sender(m);
	uint64_t id = s->id;
	uid_t uid;
	int r;

	r = caller_get(&s->ctx->callers, m, &uid, NULL, error);
	if (r < 0)
		return r;
	/* The owner's connection; by uid only when the owner is unknown. */
	if (s->owner ? !sender || !streq(sender, s->owner) : uid != s->uid)
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "only the owner of session %" PRIu64 " may acknowledge its revoke",
					 id);
	if (!s->revoke)
		return sd_bus_error_setf(error, DXM_ERROR_NOT_REQUESTED,
					 "no revoke of session %" PRIu64 " was requested", id);
	log_info("session %" PRIu64 ": revoke acknowledged by its owner", id);
	s->revoke->how = "acknowledged";
	return session_end_answer(s, SESSION_END_REVOKE, m);
}

int revoke_get_deadline(sd_bus *bus, const char *path, const char *iface, const char *prop,
			sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	const Session *s = userdata;

	return sd_bus_message_append(reply, "t", s->revoke ? s->revoke->deadline_usec : 0);
}

static void session_ended(Session *s, SessionEnd why)
{
	RevokeRequest *req = s->revoke;
	const char *how;

	if (!req)
		return;
	how = req->how;
	if (!how)
		how = why == SESSION_END_REVOKE || why == SESSION_END_KERNEL_REVOKED ? "revoked"
										    : "closed";
	for (size_t i = 0; i < req->n_callers; i++) {
		int r = sd_bus_reply_method_return(req->callers[i], "s", how);

		if (r < 0)
			log_warning_errno(r, "session %" PRIu64 ": answering RequestRevoke: %m",
					  s->id);
	}
	log_info("session %" PRIu64 ": requested revoke done: %s", s->id, how);
	request_free(req);
}

static void session_dropped(Session *s)
{
	RevokeRequest *req = s->revoke;

	if (!req)
		return;
	for (size_t i = 0; i < req->n_callers; i++)
		(void)sd_bus_reply_method_errorf(req->callers[i], SD_BUS_ERROR_FAILED,
						 "daxmirrord stopped before session %" PRIu64 " was revoked",
						 s->id);
	request_free(req);
}

void revoke_session_event(Session *s, SessionEvent ev)
{
	switch (ev) {
	case SESSION_EVENT_ENDING:
		session_ended(s, s->end);
		break;
	case SESSION_EVENT_DROPPED:
		session_dropped(s);
		break;
	case SESSION_EVENT_ADDED:
	case SESSION_EVENT_CHANGED:
		break;
	}
}
