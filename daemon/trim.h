/* trim.h - the heap handed back to the kernel once the daemon is idle. */
#ifndef DAXMIRRORD_TRIM_H
#define DAXMIRRORD_TRIM_H

#include "context.h"
#include "session.h"

/* Delay between the last session going and the trim: a client that
 * closes and opens again at once finds the heap as it left it. */
#define TRIM_IDLE_DELAY_MS 2000u

/* Sets up ctx->trim_timer (daemon.c, before the loop runs). */
void trim_init(Context *ctx);
/* A listener of session.c: arms the trim when the last session ends. */
void trim_session_event(Session *s, SessionEvent ev);

#endif
