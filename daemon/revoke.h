/* revoke.h - graceful revoke of a session: Session.RequestRevoke signals
 * the owner (RevokeRequested), waits up to a grace period for
 * Session.AcknowledgeRevoke, then forces the revoke; the request's
 * callers get their replies when the session has actually ended. */
#ifndef DAXMIRRORD_REVOKE_H
#define DAXMIRRORD_REVOKE_H

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "errors.h"
#include "session.h"

/* AcknowledgeRevoke without a pending request. */
#define DM_ERROR_NOT_REQUESTED	DM_ERROR_PREFIX "NotRequested"

typedef struct RevokeRequest RevokeRequest;

/* Grace when RequestRevoke asks for 0 ms, and the most it may ask for. */
#define REVOKE_DEFAULT_GRACE_MS	5000u
#define REVOKE_MAX_GRACE_MS	600000u

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

/* session_end() of @s, after the kernel revoke: answers the pending
 * request's callers (how @why and the request say) and frees it. */
void revoke_session_ended(Session *s, SessionEnd why);
/* @s is freed without ending (daemon shutdown): the callers get an
 * error; no-op without a request. */
void revoke_session_dropped(Session *s);

#endif
