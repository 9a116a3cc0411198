/* manager.h - org.daxmirror1.Manager at /org/daxmirror1. */
#ifndef DAXMIRRORD_MANAGER_H
#define DAXMIRRORD_MANAGER_H

#include <systemd/sd-bus.h>

#include "context.h"

int manager_register(Context *ctx);
/* After a config reload: emits the limits that changed from @old. */
void manager_config_changed(Context *ctx, const Config *old);

/* Manager.OpenSession's handler (userdata: the Context); internal,
 * declared for the fuzz harness tests/fuzz/fuzz-open-session.c. */
int manager_method_open_session(sd_bus_message *m, void *userdata, sd_bus_error *error);

#endif
