/* revoke.h - revoking sessions: who may (root), the immediate revoke of
 * Session.Revoke and Manager.RevokeSession, and the graceful one:
 * Session.RequestRevoke signals the owner (RevokeRequested), waits up to a
 * grace period for Session.AcknowledgeRevoke, then forces the revoke; the
 * request's callers get their replies when the session has actually
 * ended (revoke_session_event(), a listener of session.c). */
#ifndef DAXMIRRORD_REVOKE_H
#define DAXMIRRORD_REVOKE_H

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "session.h"

typedef struct RevokeRequest RevokeRequest;

/* Grace when RequestRevoke asks for 0 ms, and the most it may ask for. */
#define REVOKE_DEFAULT_GRACE_MS	5000u
#define REVOKE_MAX_GRACE_MS	600000u

/* 0 if the caller of @m may revoke sessions (root), else AccessDenied. */
int revoke_check_caller(sd_bus_message *m, sd_bus_error *error);
/* Session.Revoke and Manager.RevokeSession: root only; ends @s at once
 * and replies to @m. */
int revoke_session_call(Session *s, sd_bus_message *m, sd_bus_error *error);

/* Session.RequestRevoke(u grace_msec) -> (s how): root only. The reply
 * is sent later, when the session ends ("acknowledged", "forced",
 * "revoked", "closed"). */
int revoke_request_call(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* Session.AcknowledgeRevoke(): the owner only, with a request pending;
 * revokes at once. */
int revoke_acknowledge_call(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* Session.RevokeDeadlineUSec: CLOCK_MONOTONIC µs of the pending request's
 * deadline, 0 when none is pending. */
int revoke_get_deadline(sd_bus *bus, const char *path, const char *iface, const char *prop,
			sd_bus_message *reply, void *userdata, sd_bus_error *error);

/* A session event (ctx->session_hook): ENDING answers the pending
 * request's callers (how s->end and the request say) and frees it;
 * DROPPED (shutdown) gives them an error. No-op without a request. */
void revoke_session_event(Session *s, SessionEvent ev);

#endif
