/* session-dbus.h - the bus face of sessions: org.daxmirror1.Session at
 * /org/daxmirror1/session/ID (session-dbus.c). */
#ifndef DAXMIRRORD_SESSION_DBUS_H
#define DAXMIRRORD_SESSION_DBUS_H

#include <systemd/sd-bus.h>

#include "context.h"

/* Registers the Session fallback vtable, node enumerator, the
 * ObjectManager at DXM_OBJECT_ROOT and the match on clients leaving the
 * bus. */
int session_dbus_register(Context *ctx);

/* Session.AttachFile's handler (userdata: the Session); internal, declared
 * for the fuzz harness tests/fuzz/fuzz-attach-file.c. */
int session_method_attach_file(sd_bus_message *m, void *userdata, sd_bus_error *error);

#endif
