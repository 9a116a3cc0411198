/* kernel.h - the control node /dev/daxmirror: open, ioctl wrappers that
 * return negative errnos, and its event stream. */
#ifndef DAXMIRRORD_KERNEL_H
#define DAXMIRRORD_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "daxmirror.h"
#include "context.h"

/* Opens ctx->control_path. A missing or unusable node is not an error:
 * the daemon serves with ModuleState "missing" (returns 0 either way,
 * ctx->control_fd says which). */
int kernel_open(Context *ctx);
/* Starts reading events (uv_poll_t on the control fd). */
int kernel_watch(Context *ctx);
/* Stops the poll and closes the control fd (after the loop ends). */
void kernel_close(Context *ctx);

int kernel_create_session(Context *ctx, uint32_t flags, uint32_t max_mirrors,
			  uint64_t max_pages, uint64_t *id, int *fd);
int kernel_grant(Context *ctx, uint64_t id, int fd, uint64_t offset,
		 uint64_t length, bool write);
int kernel_revoke(Context *ctx, uint64_t id);
int kernel_session_info(Context *ctx, uint64_t id,
			struct daxmirror_session_info *info);
/* SESSION_INFO on a session fd (session_id 0: the fd's own session). */
int kernel_session_info_fd(int fd, struct daxmirror_session_info *info);
/* *@mirrors is malloc()ed (NULL when none). */
int kernel_mirror_list(Context *ctx, uint64_t id,
		       struct daxmirror_mirror_info **mirrors, size_t *n);
/* *@ids is malloc()ed (NULL when none). */
int kernel_list_sessions(Context *ctx, uint64_t **ids, size_t *n);

#endif
