/* fuzz-stubs.c - what daemon/main.c provides to the rest of daxmirrord,
 * for the harnesses that link the daemon's objects without main.c. */
#include "context.h"

void context_exit(Context *ctx, int status)
{
	ctx->exit_status = status;
}

void context_update_status(Context *ctx)
{
	(void)ctx;
}
