/* kernel.h - the kernel transport of daxmirrord: the control node
 * /dev/daxmirror (open, thin ioctl wrappers returning negative errnos)
 * and its event stream, reported to a callback. The ioctls go through a
 * KernelOps, the real one (kernel_ops_device) or a test's fake. */
#ifndef DAXMIRRORD_KERNEL_H
#define DAXMIRRORD_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "daxmirror.h"

typedef struct KernelOps {
	/* ioctl(2) on the control node or a session fd: -1 and errno on
	 * failure. */
	int (*ioctl)(int fd, unsigned long request, void *arg);
	/* What /proc/self/fd/N of a session fd reads. */
	const char *session_fd_link;
} KernelOps;

/* daxmirror.ko's /dev/daxmirror. */
extern const KernelOps kernel_ops_device;

typedef struct Kernel Kernel;

/* One event read from the control node. */
typedef void (*KernelEventHandler)(Kernel *k, const struct daxmirror_event *ev,
				   void *userdata);

struct Kernel {
	const KernelOps *ops;
	const char *path;		/* the control node */
	int fd;				/* -1 when the module is missing */
	uint32_t version;		/* module ABI, 0 if missing */
	/* The module posts DAXMIRROR_EVENT_SESSION_CHANGED (probed at open):
	 * state is event-driven; without it the daemon polls. */
	bool change_events;
	uv_poll_t poll;			/* on fd, once kernel_watch() ran */
	bool poll_init;
	KernelEventHandler on_event;
	void *userdata;
};

/* Opens k->path. A missing or unusable node is not an error: the daemon
 * serves with ModuleState "missing" (returns 0 either way, k->fd says
 * which). */
int kernel_open(Kernel *k);
/* Starts reading events on @loop (uv_poll_t on the control fd): each one
 * goes to @handler. */
int kernel_watch(Kernel *k, uv_loop_t *loop, KernelEventHandler handler, void *userdata);
/* Hands every event queued on the control fd to the handler, now (the
 * uv_poll_t calls it; so does the bus before each message, so a change
 * the module reported before a caller asked is known when it asks). */
void kernel_dispatch_events(Kernel *k);
/* Closes the control fd (after the loop ends and k->poll is closed). */
void kernel_close(Kernel *k);

int kernel_create_session(Kernel *k, uint32_t flags, uint32_t max_mirrors,
			  uint64_t max_pages, uint64_t *id, int *fd);
int kernel_grant(Kernel *k, uint64_t id, int fd, uint64_t offset, uint64_t length,
		 bool write);
int kernel_revoke(Kernel *k, uint64_t id);
/* DAXMIRROR_CTL_UNGRANT of the grant (@dev, @ino, range, @write). */
int kernel_ungrant(Kernel *k, uint64_t id, uint64_t dev, uint64_t ino, uint64_t offset,
		   uint64_t length, bool write);
/* SESSION_INFO on the control fd; re-arms the session's SESSION_CHANGED
 * event (DAXMIRROR_INFO_ACK_CHANGE) when the module has it. For the
 * daemon's own view of a session (compared, then announced). */
int kernel_session_info(Kernel *k, uint64_t id, struct daxmirror_session_info *info);
/* The same without re-arming: what a property getter shows. */
int kernel_session_peek(Kernel *k, uint64_t id, struct daxmirror_session_info *info);
/* SESSION_INFO on a session fd (session_id 0: the fd's own session). */
int kernel_session_info_fd(Kernel *k, int fd, struct daxmirror_session_info *info);
/* *@mirrors is malloc()ed (NULL when none). */
int kernel_mirror_list(Kernel *k, uint64_t id, struct daxmirror_mirror_info **mirrors,
		       size_t *n);
/* *@ids is malloc()ed (NULL when none). */
int kernel_list_sessions(Kernel *k, uint64_t **ids, size_t *n);

#endif
