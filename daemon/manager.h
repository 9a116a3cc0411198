/* manager.h - org.daxmirror1.Manager at /org/daxmirror1. */
#ifndef DAXMIRRORD_MANAGER_H
#define DAXMIRRORD_MANAGER_H

#include "context.h"

int manager_register(Context *ctx);
/* PropertiesChanged for one Manager property. */
void manager_emit_changed(Context *ctx, const char *property);
/* Recomputes MirrorCount and MirroredBytes from the sessions' cached
 * kernel info; emits PropertiesChanged for what changed. */
void manager_update_totals(Context *ctx);
/* After a config reload: emits the limits that changed from @old. */
void manager_config_changed(Context *ctx, const Config *old);

#endif
