/* bus-util.h - daxmirrorctl's sd-bus side: choosing the bus, reading the
 * Manager's and the Sessions' properties into the model, and turning a
 * D-Bus error into a message that says what to do and an exit code. */
#ifndef DAXMIRRORCTL_BUS_UTIL_H
#define DAXMIRRORCTL_BUS_UTIL_H

#include <systemd/sd-bus.h>

#include "bus-contract.h"
#include "model.h"

/* The address daxmirrorctl uses: --bus-address, else
 * $DAXMIRROR_BUS_ADDRESS, else NULL (the system bus). */
const char *bus_address_choose(const char *option);

/* Prints "daxmirrorctl: ..." for a failed connection (@r). Returns the
 * exit code (CTL_EXIT_NO_DAEMON). */
int bus_connect_fail(const char *address, int r);

/* Prints a message for the failed call @what (@e, or @r without an error
 * name) and returns the exit code; @denied is the advice printed for
 * AccessDenied ("revoking a session needs root"). */
int bus_fail(const sd_bus_error *e, int r, const char *what, const char *denied);

/* Reads every property of the Manager. 0 or a negative errno (@e set
 * from the bus). */
int manager_get(sd_bus *bus, ManagerInfo *m, sd_bus_error *e);

/* Reads every property of the session at @path into @s (path included). */
int session_get(sd_bus *bus, const char *path, SessionInfo *s, sd_bus_error *e);

/* ListSessions, then each session's properties (sessions that vanished
 * in between are left out). *ret is an array of *n sessions
 * (session_infos_free()). */
int sessions_get_all(sd_bus *bus, SessionInfo **ret, size_t *n, sd_bus_error *e);

/* "3" or "/org/daxmirror1/session/3" → the object path (malloc()ed) in
 * *ret. 0 or -EINVAL (not a session id), -ENOMEM. */
int session_path_from_arg(const char *arg, char **ret);

#endif
