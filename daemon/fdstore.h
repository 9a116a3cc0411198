/* fdstore.h - sessions survive a daemon crash: systemd's fd store keeps
 * each session fd ("session-ID") and a sealed memfd with its state record
 * ("state-ID-GEN", state.h); a restarted daemon verifies what it gets
 * back, takes the sessions over, and rediscovers from the module's session
 * list the ones the store did not keep. */
#ifndef DAXMIRRORD_FDSTORE_H
#define DAXMIRRORD_FDSTORE_H

#include "context.h"

/* Turns the fd store on when $NOTIFY_SOCKET is set (ctx->fdstore). */
void fdstore_init(Context *ctx);

/* A session event (ctx->session_hook, when ctx->fdstore): ADDED stores
 * the session fd and its record, CHANGED a new record, ENDING removes
 * both; DROPPED (shutdown) leaves them for the next daemon. */
void fdstore_session_event(Session *s, SessionEvent ev);

/* At start, with the bus and the control node open, before the bus name
 * is requested: takes back the sessions passed in $LISTEN_FDS (verified),
 * then the module's other live sessions (owner unknown), then ends those
 * whose owner left the bus while no daemon watched. */
int fdstore_restore(Context *ctx);

#endif
