/* bus.h - the sd-bus connection, its glue to the libuv loop, and helpers
 * shared by the method handlers. */
#ifndef DAXMIRRORD_BUS_H
#define DAXMIRRORD_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "context.h"

/* Connects to ctx->bus_address, or the system bus when NULL. */
int bus_open(Context *ctx);
/* Drives the bus from ctx->loop: uv_poll_t on the fd, uv_timer_t for
 * sd-bus timeouts, both re-armed by a uv_prepare_t before every poll. */
int bus_attach(Context *ctx);
/* Stops watching the bus (handles closed; run the loop to finish). */
void bus_detach(Context *ctx);
/* Flushes what is queued and drops the connection. */
void bus_close(Context *ctx);

/* Converts sd_bus_get_timeout()'s absolute CLOCK_MONOTONIC deadline in µs
 * (UINT64_MAX: none) to a libuv delay in ms, rounded up so the timer never
 * fires before the deadline. Returns -1 for "no timeout". */
static inline int64_t bus_timeout_to_ms(uint64_t deadline_usec, uint64_t now_usec)
{
	uint64_t delta;

	if (deadline_usec == UINT64_MAX)
		return -1;
	if (deadline_usec <= now_usec)
		return 0;
	delta = deadline_usec - now_usec;
	/* Round up: a timer that fires early finds nothing expired and
	 * would only be re-armed for the remainder. */
	delta = delta / 1000 + (delta % 1000 != 0);
	return delta > INT64_MAX ? INT64_MAX : (int64_t)delta;
}

/* The caller of @m: its effective uid (required; AccessDenied if the bus
 * cannot tell) and pid (0 if unknown). */
int bus_caller(sd_bus_message *m, uid_t *uid, pid_t *pid, sd_bus_error *error);

/* Reads the variant of a{sv} entry @key, which must hold @type ("b", "u",
 * "t"), into *@out (int for "b", uint32_t for "u", uint64_t for "t").
 * InvalidOption if it holds another type. */
int bus_read_option(sd_bus_message *m, const char *key, const char *type,
		    void *out, sd_bus_error *error);

#endif
