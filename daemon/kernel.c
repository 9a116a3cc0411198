/* kernel.c - the control node /dev/daxmirror: opening it (a missing module
 * is a state, not an error), thin ioctl wrappers returning negative
 * errnos, and the event stream read from it. Events are read from the
 * control fd only: a session fd's event queue is shared by every holder of
 * that open file, so the daemon reading it would steal the client's. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel.h"
#include "log.h"
#include "session.h"
#include "util.h"

#ifdef DAXMIRRORD_FAKE_KERNEL
/* The host test build talks to daemon/test-fake-kernel.c instead. */
int fake_kernel_ioctl(int fd, unsigned long req, void *arg);
#define dm_ioctl fake_kernel_ioctl
#else
#define dm_ioctl ioctl
#endif

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	if (fd < 0)
		return -ENODEV;
	do {
		r = dm_ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int kernel_open(Context *ctx)
{
	struct daxmirror_version v = { 0 };
	int fd, r;

	ctx->control_fd = -1;
	ctx->module_version = 0;
	fd = open(ctx->control_path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
			log_full(LOG_NOTICE, r, "%s: %m; module missing, serving without it",
				 ctx->control_path);
		else
			log_full(LOG_ERR, r, "%s: %m; serving as if the module were missing",
				 ctx->control_path);
		return 0;
	}
	r = xioctl(fd, DAXMIRROR_IOC_VERSION, &v);
	if (r < 0) {
		log_error_errno(r, "%s: DAXMIRROR_IOC_VERSION: %m; not the daxmirror control node?",
				ctx->control_path);
		close(fd);
		return 0;
	}
	if (v.abi != DAXMIRROR_ABI_VERSION) {
		log_error("%s: module ABI %u, this daemon speaks %u; serving as if the module were missing",
			  ctx->control_path, v.abi, DAXMIRROR_ABI_VERSION);
		close(fd);
		return 0;
	}
	ctx->control_fd = fd;
	ctx->module_version = v.abi;
	log_info("%s: module ABI %u", ctx->control_path, v.abi);
	return 0;
}

int kernel_create_session(Context *ctx, uint32_t flags, uint32_t max_mirrors,
			  uint64_t max_pages, uint64_t *id, int *fd)
{
	struct daxmirror_session_create c = {
		.flags = flags,
		.max_mirrors = max_mirrors,
		.max_pages = max_pages,
	};
	int r;

	r = xioctl(ctx->control_fd, DAXMIRROR_CTL_CREATE_SESSION, &c);
	if (r < 0)
		return r;
	*id = c.session_id;
	*fd = c.fd;
	return 0;
}

int kernel_grant(Context *ctx, uint64_t id, int fd, uint64_t offset,
		 uint64_t length, bool write)
{
	struct daxmirror_grant g = {
		.session_id = id,
		.fd = fd,
		.flags = write ? DAXMIRROR_GRANT_WRITE : 0,
		.offset = offset,
		.length = length,
	};

	return xioctl(ctx->control_fd, DAXMIRROR_CTL_GRANT_FILE, &g);
}

int kernel_revoke(Context *ctx, uint64_t id)
{
	struct daxmirror_revoke rv = { .session_id = id };

	return xioctl(ctx->control_fd, DAXMIRROR_CTL_REVOKE, &rv);
}

int kernel_session_info(Context *ctx, uint64_t id,
			struct daxmirror_session_info *info)
{
	memset(info, 0, sizeof(*info));
	info->session_id = id;
	return xioctl(ctx->control_fd, DAXMIRROR_IOC_SESSION_INFO, info);
}

int kernel_session_info_fd(int fd, struct daxmirror_session_info *info)
{
	memset(info, 0, sizeof(*info));
	return xioctl(fd, DAXMIRROR_IOC_SESSION_INFO, info);
}

int kernel_mirror_list(Context *ctx, uint64_t id,
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

		r = xioctl(ctx->control_fd, DAXMIRROR_IOC_MIRROR_LIST, &l);
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

int kernel_list_sessions(Context *ctx, uint64_t **ids, size_t *n)
{
	uint64_t *a = NULL;
	uint32_t cap = 0;
	int r;

	for (int tries = 0; tries < 4; tries++) {
		struct daxmirror_session_list l = {
			.ids = (uintptr_t)a,
			.capacity = cap,
		};

		r = xioctl(ctx->control_fd, DAXMIRROR_CTL_LIST_SESSIONS, &l);
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

static void kernel_handle_event(Context *ctx, const struct daxmirror_event *ev)
{
	Session *s;

	if (ev->type == DAXMIRROR_EVENT_OVERFLOW) {
		log_warning("control node event queue overflowed; resynchronizing sessions");
		sessions_resync(ctx);
		return;
	}
	s = session_by_id(ctx, ev->session_id);
	if (!s || s->ending)
		return;		/* one we already dropped, or not ours */
	switch (ev->type) {
	case DAXMIRROR_EVENT_REVOKED:
		log_info("session %" PRIu64 " revoked in the kernel", s->id);
		session_end(s, SESSION_END_KERNEL_REVOKED);
		break;
	case DAXMIRROR_EVENT_MM_RELEASED:
		log_info("session %" PRIu64 ": the bound process exited", s->id);
		session_end(s, SESSION_END_MM_GONE);
		break;
	case DAXMIRROR_EVENT_SESSION_CLOSED:
		session_end(s, SESSION_END_KERNEL_GONE);
		break;
	case DAXMIRROR_EVENT_MIRROR_RELEASED:
		/* Picked up by the next (coalesced) refresh. */
		log_debug("session %" PRIu64 ": mirror %" PRIu64 " released",
			  s->id, (uint64_t)ev->mirror_id);
		break;
	default:
		log_debug("control node: unknown event type %u", ev->type);
		break;
	}
}

static void on_control_event(uv_poll_t *h, int status, int events)
{
	Context *ctx = container_of(h, Context, control_poll);
	struct daxmirror_event evs[32];

	if (status < 0) {
		log_error("control node poll: %s; no more kernel events", uv_strerror(status));
		uv_poll_stop(h);
		return;
	}
	for (;;) {
		ssize_t n = read(ctx->control_fd, evs, sizeof(evs));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_error_errno(errno, "reading control node events: %m");
			return;
		}
		if (n == 0)
			return;
		if ((size_t)n % sizeof(evs[0]))
			log_warning("control node: short event record (%zd bytes)", n);
		for (size_t i = 0; i < (size_t)n / sizeof(evs[0]); i++)
			kernel_handle_event(ctx, &evs[i]);
		if ((size_t)n < sizeof(evs))
			return;
	}
}

int kernel_watch(Context *ctx)
{
	int r;

	if (ctx->control_fd < 0)
		return 0;
	r = uv_poll_init(&ctx->loop, &ctx->control_poll, ctx->control_fd);
	if (r < 0)
		return log_error("uv_poll_init(control): %s", uv_strerror(r));
	ctx->control_poll_init = true;
	r = uv_poll_start(&ctx->control_poll, UV_READABLE, on_control_event);
	if (r < 0)
		return log_error("uv_poll_start(control): %s", uv_strerror(r));
	return 0;
}

void kernel_close(Context *ctx)
{
	ctx->control_fd = safe_close(ctx->control_fd);
}
