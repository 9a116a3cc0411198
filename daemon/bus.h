/* bus.h - the sd-bus connection, its glue to the libuv loop, and helpers
 * shared by the method handlers: the caller's identity and the one
 * table-driven reader of a{sv} options. */
#ifndef DAXMIRRORD_BUS_H
#define DAXMIRRORD_BUS_H

#include <stdbool.h>
#include <stddef.h>
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

/* One key of an a{sv} of options, read into the field at @offset of the
 * caller's struct: bool for "b", uint32_t for "u", uint64_t for "t". A
 * number below @min is InvalidOption ("KEY must be at least MIN"). */
typedef struct BusOption {
	const char *key;
	const char *type;
	size_t offset;
	uint64_t min;
} BusOption;

typedef struct BusOptionTable {
	const char *method;		/* "unknown METHOD option 'KEY'" */
	const BusOption *options;
	size_t n_options;		/* at most 64 */
	bool unique;			/* a key given twice is InvalidOption */
	bool list_known;		/* the unknown-key error lists the keys */
} BusOptionTable;

/* Reads the a{sv} at the read position of @m into @out by @t. An unknown
 * key, a value of another type, a key twice (if t->unique) or a number
 * under its minimum: InvalidOption in @error. Bit i of *@seen (may be
 * NULL) is set if t->options[i] was given. */
int bus_read_options(sd_bus_message *m, const BusOptionTable *t, void *out, uint64_t *seen,
		     sd_bus_error *error);

#endif
