/* kernel.c - the kernel transport: opening the control node (a missing
 * module is a state, not an error), thin ioctl wrappers over KernelOps
 * returning negative errnos, and the event stream read from it, handed to
 * the callback of kernel_watch(). Events are read from the control fd
 * only: a session fd's event queue is shared by every holder of that open
 * file, so the daemon reading it would steal the client's. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel.h"
#include "log.h"
#include "util.h"

static int device_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

const KernelOps kernel_ops_device = {
	.ioctl = device_ioctl,
	.session_fd_link = "anon_inode:[" DAXMIRROR_DEVICE_NAME "-session]",
};

static int xioctl(Kernel *k, int fd, unsigned long req, void *arg)
{
	int r;

	if (fd < 0)
		return -ENODEV;
	do {
		r = k->ops->ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* Does the module know DAXMIRROR_INFO_ACK_CHANGE? It answers it for the
 * session id 0, which never exists, with ENOENT; an older module refuses
 * the flag with EINVAL. */
static bool probe_change_events(Kernel *k)
{
	struct daxmirror_session_info info = { .flags = DAXMIRROR_INFO_ACK_CHANGE };

	return xioctl(k, k->fd, DAXMIRROR_IOC_SESSION_INFO, &info) == -ENOENT;
}

int kernel_open(Kernel *k)
{
	struct daxmirror_version v = { 0 };
	int fd, r;

	k->fd = -1;
	k->version = 0;
	fd = open(k->path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
			log_full(LOG_NOTICE, r, "%s: %m; module missing, serving without it",
				 k->path);
		else
			log_full(LOG_ERR, r, "%s: %m; serving as if the module were missing",
				 k->path);
		return 0;
	}
	r = xioctl(k, fd, DAXMIRROR_IOC_VERSION, &v);
	if (r < 0) {
		log_error_errno(r, "%s: DAXMIRROR_IOC_VERSION: %m; not the daxmirror control node?",
				k->path);
		close(fd);
		return 0;
	}
	if (v.abi != DAXMIRROR_ABI_VERSION) {
		log_error("%s: module ABI %u, this daemon speaks %u; serving as if the module were missing",
			  k->path, v.abi, DAXMIRROR_ABI_VERSION);
		close(fd);
		return 0;
	}
	k->fd = fd;
	k->version = v.abi;
	k->change_events = probe_change_events(k);
	log_info("%s: module ABI %u, %s", k->path, v.abi,
		 k->change_events ? "session changes reported by events"
				  : "no session-change events (polling sessions)");
	return 0;
}

int kernel_create_session(Kernel *k, uint32_t flags, uint32_t max_mirrors,
			  uint64_t max_pages, uint64_t *id, int *fd)
{
	struct daxmirror_session_create c = {
		.flags = flags,
		.max_mirrors = max_mirrors,
		.max_pages = max_pages,
	};
	int r;

	r = xioctl(k, k->fd, DAXMIRROR_CTL_CREATE_SESSION, &c);
	if (r < 0)
		return r;
	*id = c.session_id;
	*fd = c.fd;
	return 0;
}

int kernel_grant(Kernel *k, uint64_t id, int fd, uint64_t offset,
		 uint64_t length, bool write)
{
	struct daxmirror_grant g = {
		.session_id = id,
		.fd = fd,
		.flags = write ? DAXMIRROR_GRANT_WRITE : 0,
		.offset = offset,
		.length = length,
	};

	return xioctl(k, k->fd, DAXMIRROR_CTL_GRANT_FILE, &g);
}

int kernel_revoke(Kernel *k, uint64_t id)
{
	struct daxmirror_revoke rv = { .session_id = id };

	return xioctl(k, k->fd, DAXMIRROR_CTL_REVOKE, &rv);
}

int kernel_ungrant(Kernel *k, uint64_t id, uint64_t dev, uint64_t ino, uint64_t offset,
		   uint64_t length, bool write)
{
	struct daxmirror_ungrant u = {
		.session_id = id,
		.flags = write ? DAXMIRROR_GRANT_WRITE : 0,
		.dev = dev,
		.ino = ino,
		.offset = offset,
		.length = length,
	};

	return xioctl(k, k->fd, DAXMIRROR_CTL_UNGRANT, &u);
}

int kernel_session_info(Kernel *k, uint64_t id,
			struct daxmirror_session_info *info)
{
	memset(info, 0, sizeof(*info));
	info->session_id = id;
	if (k->change_events)
		info->flags = DAXMIRROR_INFO_ACK_CHANGE;
	return xioctl(k, k->fd, DAXMIRROR_IOC_SESSION_INFO, info);
}

int kernel_session_peek(Kernel *k, uint64_t id,
			struct daxmirror_session_info *info)
{
	memset(info, 0, sizeof(*info));
	info->session_id = id;
	return xioctl(k, k->fd, DAXMIRROR_IOC_SESSION_INFO, info);
}

int kernel_session_info_fd(Kernel *k, int fd, struct daxmirror_session_info *info)
{
	memset(info, 0, sizeof(*info));
	return xioctl(k, fd, DAXMIRROR_IOC_SESSION_INFO, info);
}

int kernel_mirror_list(Kernel *k, uint64_t id,
		       struct daxmirror_mirror_info **mirrors, size_t *n)
{
	struct daxmirror_mirror_info *a = NULL;
	uint32_t cap = 0;
	int r;

	/* The count may grow between calls: retry a few times with room. */
	for (int tries = 0; tries < 4; tries++) {
		struct daxmirror_mirror_list l = {
			.session_id = id,
			.mirrors = (uintptr_t)a,
			.capacity = cap,
		};

		r = xioctl(k, k->fd, DAXMIRROR_IOC_MIRROR_LIST, &l);
		if (r < 0) {
			free(a);
			return r;
		}
		if (l.count <= cap || (l.count == 0)) {
			if (l.count == 0) {
				free(a);
				a = NULL;
			}
			*mirrors = a;
			*n = l.count;
			return 0;
		}
		free(a);
		cap = l.count + 8;
		a = calloc(cap, sizeof(*a));
		if (!a)
			return -ENOMEM;
	}
	free(a);
	return -EAGAIN;
}

int kernel_list_sessions(Kernel *k, uint64_t **ids, size_t *n)
{
	uint64_t *a = NULL;
	uint32_t cap = 0;
	int r;

	for (int tries = 0; tries < 4; tries++) {
		struct daxmirror_session_list l = {
			.ids = (uintptr_t)a,
			.capacity = cap,
		};

		r = xioctl(k, k->fd, DAXMIRROR_CTL_LIST_SESSIONS, &l);
		if (r < 0) {
			free(a);
			return r;
		}
		if (l.count <= cap) {
			if (l.count == 0) {
				free(a);
				a = NULL;
			}
			*ids = a;
			*n = l.count;
			return 0;
		}
		free(a);
		cap = l.count + 16;
		a = calloc(cap, sizeof(*a));
		if (!a)
			return -ENOMEM;
	}
	free(a);
	return -EAGAIN;
}

void kernel_dispatch_events(Kernel *k)
{
	struct daxmirror_event evs[32];
	ssize_t n;

	if (k->fd < 0 || !k->on_event)
		return;
	/* One batch a call: more wait for the next (the poll stays
	 * readable), so a flood of events cannot hold the loop. */
	do
		n = read(k->fd, evs, sizeof(evs));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN)
			log_error_errno(errno, "reading control node events: %m");
		return;
	}
	if ((size_t)n % sizeof(evs[0]))
		log_warning("control node: short event record (%zd bytes)", n);
	for (size_t i = 0; i < (size_t)n / sizeof(evs[0]); i++)
		k->on_event(k, &evs[i], k->userdata);
}

static void on_control_event(uv_poll_t *h, int status, int events)
{
	Kernel *k = container_of(h, Kernel, poll);

	if (status < 0) {
		log_error("control node poll: %s; no more kernel events", uv_strerror(status));
		uv_poll_stop(h);
		return;
	}
	kernel_dispatch_events(k);
}

int kernel_watch(Kernel *k, uv_loop_t *loop, KernelEventHandler handler, void *userdata)
{
	int r;

	if (k->fd < 0)
		return 0;
	k->on_event = handler;
	k->userdata = userdata;
	r = uv_poll_init(loop, &k->poll, k->fd);
	if (r < 0)
		return log_error("uv_poll_init(control): %s", uv_strerror(r));
	k->poll_init = true;
	r = uv_poll_start(&k->poll, UV_READABLE, on_control_event);
	if (r < 0)
		return log_error("uv_poll_start(control): %s", uv_strerror(r));
	return 0;
}

void kernel_close(Kernel *k)
{
	k->fd = safe_close(k->fd);
}
