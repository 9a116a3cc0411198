/* trim.c - gives the heap a burst of clients freed back to the kernel
 * once no session is left. glibc keeps freed chunks in its arenas (the
 * loop's and one per pool thread that vetted a file) until
 * malloc_trim() returns them: without it the daemon's RSS stays at the
 * burst's peak for the rest of its life, however many of those bytes are
 * free. systemd's daemons do the same on memory pressure
 * (sd_event_trim_memory()); an idle broker is the moment that costs no
 * client anything. A listener of session.c through ctx->session_hook. */
#include <malloc.h>

#include "log.h"
#include "trim.h"
#include "util.h"

static void on_trim_timer(uv_timer_t *t)
{
	Context *ctx = container_of(t, Context, trim_timer);
	int released;

	if (ctx->session_count)
		return;
	released = malloc_trim(0);
	log_debug("idle: freed heap %s to the kernel",
		  released ? "returned" : "had nothing to return");
}

void trim_init(Context *ctx)
{
	uv_timer_init(&ctx->loop, &ctx->trim_timer);
	ctx->trim_timer_init = true;
}

void trim_session_event(Session *s, SessionEvent ev)
{
	Context *ctx = s->ctx;

	/* ENDING comes while @s still counts if it was linked. */
	if (ev != SESSION_EVENT_ENDING || !ctx->trim_timer_init ||
	    ctx->session_count > (s->linked ? 1u : 0u))
		return;
	uv_timer_start(&ctx->trim_timer, on_trim_timer, TRIM_IDLE_DELAY_MS, 0);
}
