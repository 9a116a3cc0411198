/* private-bus.h - a private dbus-daemon for host tests: its own config
 * (session type, everything allowed, no activation) in a directory of the
 * test's, started with --print-address. Compiled into the host tests of
 * daemon/, ctl/ and libclient/ as a source file (they are built before
 * tests/lib's static library). */
#ifndef DMT_PRIVATE_BUS_H
#define DMT_PRIVATE_BUS_H

#include <stddef.h>
#include <sys/types.h>

/* Start @dbus_daemon with a config written to @dir/bus.conf, listening on
 * @dir/bus; *pid gets its pid, @address (of @size bytes) its address. The
 * daemon's stdout goes to stderr (keeps TAP clean). 0 or -errno. */
int dmt_private_bus_start(const char *dbus_daemon, const char *dir,
			  pid_t *pid, char *address, size_t size);

#endif
