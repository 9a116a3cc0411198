/* context.c - helpers on the daemon-wide state: stopping the loop, the
 * STATUS= line for systemd, and PropertiesChanged of the Manager object
 * whose properties are the context's fields. Calls nothing of the daemon
 * but the log. */
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "context.h"
#include "log.h"
#include "util.h"

void context_exit(Context *ctx, int status)
{
	if (status > ctx->exit_status)
		ctx->exit_status = status;
	uv_stop(&ctx->loop);
}

void context_update_status(Context *ctx)
{
	char status[sizeof(ctx->last_status)];

	snprintf(status, sizeof(status), "STATUS=%u session%s, %u mirror%s",
		 ctx->session_count, ctx->session_count == 1 ? "" : "s",
		 ctx->mirror_count, ctx->mirror_count == 1 ? "" : "s");
	if (streq(status, ctx->last_status))
		return;
	memcpy(ctx->last_status, status, sizeof(status));
	sd_notify(0, status);
}

void context_emit_changed(Context *ctx, const char *property)
{
	int r;

	if (!ctx->bus)
		return;
	r = sd_bus_emit_properties_changed(ctx->bus, DXM_OBJECT_ROOT, DXM_MANAGER_IFACE,
					   property, NULL);
	if (r < 0)
		log_warning_errno(r, "emitting PropertiesChanged(%s): %m", property);
}
