// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdaxmirror.c - the client library: D-Bus to the broker for the slow
 * path (session, file vetting), libpmem2 for the CPU mapping (shared/pmem.c),
 * ioctls on the session fd for the fast path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-contract.h"
#include "daxmirror.h"
#include "extent-list.h"
#include "libdaxmirror.h"
#include "list.h"
#include "macro.h"
#include "pmem.h"

#define _public_ __attribute__((visibility("default")))

#define BUS_ENV		"DAXMIRROR_BUS_ADDRESS"

#define PAGE		((uint64_t)LIBDAXMIRROR_PAGE_SIZE)
#define MIRROR_ALIGN	(2ULL << 20)
#define MIRROR_FLAGS	(LIBDAXMIRROR_MIRROR_WRITE | LIBDAXMIRROR_MIRROR_PREFAULT)

/* The public snapshot encoding is the kernel's. */
_Static_assert(LIBDAXMIRROR_SNAP_STATE_MASK == DAXMIRROR_SNAP_STATE_MASK, "snap");
_Static_assert(LIBDAXMIRROR_SNAP_NONE == DAXMIRROR_SNAP_NONE, "snap");
_Static_assert(LIBDAXMIRROR_SNAP_READ == DAXMIRROR_SNAP_READ, "snap");
_Static_assert(LIBDAXMIRROR_SNAP_WRITE == DAXMIRROR_SNAP_WRITE, "snap");
_Static_assert(LIBDAXMIRROR_SNAP_ORDER_SHIFT == DAXMIRROR_SNAP_ORDER_SHIFT, "snap");
_Static_assert(LIBDAXMIRROR_SNAP_ORDER_MASK == DAXMIRROR_SNAP_ORDER_MASK, "snap");
_Static_assert(LIBDAXMIRROR_SNAP_ZONE_DEVICE == DAXMIRROR_SNAP_ZONE_DEVICE, "snap");
_Static_assert(LIBDAXMIRROR_SNAP_DAX == DAXMIRROR_SNAP_DAX, "snap");
_Static_assert(LIBDAXMIRROR_ORDER_4K == DAXMIRROR_ORDER_4K, "order");
_Static_assert(LIBDAXMIRROR_ORDER_2M == DAXMIRROR_ORDER_2M, "order");
_Static_assert(LIBDAXMIRROR_ORDER_1G == DAXMIRROR_ORDER_1G, "order");
_Static_assert(LIBDAXMIRROR_MIRROR_WRITE == DAXMIRROR_MIRROR_WRITE, "flags");
_Static_assert(sizeof(struct daxmirror_counters) == 16 * sizeof(uint64_t), "counters");
/* The header's version is the one meson builds and installs (libclient/
 * meson.build passes its libdaxmirror_version in parts). */
_Static_assert(DAXMIRROR_VERSION_MAJOR == LIBDAXMIRROR_BUILD_MAJOR &&
	       DAXMIRROR_VERSION_MINOR == LIBDAXMIRROR_BUILD_MINOR &&
	       DAXMIRROR_VERSION_MICRO == LIBDAXMIRROR_BUILD_MICRO,
	       "libdaxmirror.h's DAXMIRROR_VERSION_* differ from meson's libdaxmirror_version");

/* A file range the broker vetted for this session: a mirror inside a
 * covered range needs no second AttachFile. When the last mirror using it
 * is freed, it is given back (Session.DetachFile of its grant), so a
 * session's MaxFilesPerSession ranges are not used up by mirrors long
 * gone. */
struct attachment {
	struct attachment *next;
	dev_t dev;
	ino_t ino;
	uint64_t offset, length;
	bool write;
	uint64_t grant;			/* AttachFile's "Grant"; 0: the broker
					 * gave none (it cannot be detached) */
	unsigned int users;		/* mirrors using it */
};

struct daxmirror_client {
	sd_bus *bus;
	char *session_path;		/* NULL: no session */
	int session_fd;			/* -1: no session */
	bool session_write;		/* opened with {"Write": true} */
	bool bound;			/* DAXMIRROR_IOC_BIND done */
	struct attachment *attached;
	struct daxmirror_mirror *mirrors;
	sd_bus_slot *revoke_slot;	/* match on the session's RevokeRequested */
	sd_bus_slot *owner_slot;	/* match on the broker's NameOwnerChanged */
	int state;			/* DAXMIRROR_CLIENT_* */
	uint64_t revoke_deadline;	/* of a requested revoke, CLOCK_MONOTONIC µs */
	int epoll_fd;			/* daxmirror_client_get_fd(): bus fd + session fd */
	bool session_polled;		/* the session fd is in epoll_fd */
	bool bus_polled;		/* the bus fd is in epoll_fd (until it is lost) */
	pid_t pid;			/* the process that made the client */
	unsigned int refs;		/* 1 for the application until client_free,
					 * + 1 per mirror handle not yet freed */
};

struct daxmirror_mirror {
	struct daxmirror_client *client;
	struct daxmirror_mirror *prev, *next;
	struct attachment *attachment;	/* the range it is in; NULL once
					 * daxmirror_client_free() emptied it */
	struct dmp_map *map;
	uint64_t id;			/* the kernel's mirror id, 0: not added */
	uint64_t start;			/* CPU (= device) address */
	uint64_t length;
	bool write, dax;
	enum dmp_granularity granularity;
};

/* ---- The calling thread's last error ----------------------------------
 * The one piece of mutable state outside the handles, on purpose: the
 * message of daxmirror_client_last_error() is per thread (several threads
 * may use one client's fast path at once, and a failure in one must not
 * change what another reads), so it lives in a thread-local buffer. Every
 * int-returning public call clears it on entry (error_begin()) and sets it
 * when it fails (finish()); the accessors and the *_free() functions leave
 * it alone. An empty string means "no error". */
static _Thread_local char last_error[512];

static void error_begin(void)
{
	last_error[0] = '\0';
}

/* Record a message for the failure @r and return @r. */
__attribute__((format(printf, 2, 3)))
static int error_set(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return r;
}

/* The end of a public call: success (>= 0) leaves no message; a failure
 * that set none gets one naming the call and the errno. */
static int finish(const char *func, int r)
{
	if (r >= 0)
		last_error[0] = '\0';
	else if (!last_error[0])
		error_set(r, "%s: %s (%s)", func, strerrorname_np(-r) ?: "?",
			  strerrordesc_np(-r) ?: "unknown error");
	return r;
}
#define FINISH(r) finish(__func__, (r))

/* A failed bus call: remember the error, return it as a negative errno
 * (org.daxmirror1.Error.* through dxm_bus_error_map, which
 * dxm_bus_connect() registered; any other name as sd-bus maps it). */
static int bus_failed(struct daxmirror_client *c, const sd_bus_error *e, int r)
{
	(void)c;
	if (sd_bus_error_is_set(e)) {
		int err = sd_bus_error_get_errno(e);

		error_set(0, "%s: %s", e->name, e->message ? e->message : "");
		r = err > 0 ? -err : -EIO;
	} else {
		if (r >= 0)
			r = -EIO;
		error_set(0, "sd-bus: %s", strerrordesc_np(-r) ?: "unknown error");
	}
	return r;
}

/* ---- Checks common to every call ----------------------------------------
 * After fork() the child's copies of a client and its mirrors are dead:
 * every call on them fails with -ECHILD before it reaches the bus or the
 * kernel (sd-bus would say ECHILD, the kernel EBUSY: one rule instead). */

static bool in_child(const struct daxmirror_client *c)
{
	return c->pid != getpid();
}

static int check_client(const struct daxmirror_client *c)
{
	if (!c)
		return error_set(-EINVAL, "the client is NULL");
	if (in_child(c))
		return error_set(-ECHILD, "the client belongs to process %d, not to this "
				 "child of it: a client is not usable after fork()", (int)c->pid);
	return 0;
}

static int mirror_remove(struct daxmirror_mirror *m);
static int mirror_file(struct daxmirror_client *c, int fd, uint64_t offset,
		       uint64_t length, unsigned int flags, struct daxmirror_mirror **ret);

/* -errno of a failed ioctl, with a message saying what failed. */
static int ioctl_failed(const char *what)
{
	int e = errno;

	return error_set(-e, "%s: %s (%s)", what, strerrorname_np(e) ?: "?",
			 strerrordesc_np(e) ?: "?");
}

/* ---- Clients ---------------------------------------------------------- */

_public_ int daxmirror_client_new(struct daxmirror_client **ret, const char *bus_address)
{
	struct daxmirror_client *c;
	int r;

	error_begin();
	if (!ret)
		return FINISH(error_set(-EINVAL, "ret is NULL"));
	c = calloc(1, sizeof(*c));
	if (!c)
		return FINISH(-ENOMEM);
	c->session_fd = -1;
	c->pid = getpid();
	c->refs = 1;
	c->state = DAXMIRROR_CLIENT_NO_SESSION;

	if (!bus_address) {
		const char *env = secure_getenv(BUS_ENV);

		if (env && *env)
			bus_address = env;
	}
	r = dxm_bus_connect(bus_address, "libdaxmirror", &c->bus);
	if (r < 0) {
		free(c);
		return FINISH(error_set(r, "cannot connect to the bus %s: %s",
					bus_address ?: "(system bus)", strerrordesc_np(-r) ?: "?"));
	}
	/* The pollable fd of the client: the bus fd now, the session fd too
	 * once there is one (daxmirror_client_get_fd()). */
	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epoll_fd < 0 ||
	    epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, sd_bus_get_fd(c->bus),
		      &(struct epoll_event){ .events = EPOLLIN }) < 0) {
		r = -errno;
		safe_close(c->epoll_fd);
		sd_bus_flush_close_unref(c->bus);
		free(c);
		return FINISH(r);
	}
	c->bus_polled = true;
	*ret = c;
	return FINISH(0);
}

static void forget_attachments(struct daxmirror_client *c)
{
	while (c->attached) {
		struct attachment *a = c->attached;

		c->attached = a->next;
		free(a);
	}
}

/* Stop watching the session fd: once it hung up, it would keep the
 * client's fd readable for ever. */
static void session_unpoll(struct daxmirror_client *c)
{
	if (c->session_polled && c->epoll_fd >= 0)
		(void)epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, c->session_fd, NULL);
	c->session_polled = false;
}

/* End the session: Session.Close (errors ignored: the broker may be gone;
 * not from a child after fork), then drop the fd and everything tied to
 * the session. */
static void session_close(struct daxmirror_client *c)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;

	if (c->session_path && !in_child(c))
		(void)sd_bus_call_method(c->bus, DXM_BUS_NAME, c->session_path, DXM_SESSION_IFACE,
					 "Close", &err, NULL, "");
	c->revoke_slot = sd_bus_slot_unref(c->revoke_slot);
	c->owner_slot = sd_bus_slot_unref(c->owner_slot);
	c->state = DAXMIRROR_CLIENT_NO_SESSION;
	c->revoke_deadline = 0;
	session_unpoll(c);
	c->session_fd = safe_close(c->session_fd);
	freep(&c->session_path);
	c->session_write = false;
	c->bound = false;
	forget_attachments(c);
}

static void client_unref(struct daxmirror_client *c)
{
	if (--c->refs == 0)
		free(c);
}

/* What daxmirror_client_free() leaves of a mirror still held by the
 * application: a handle without a mirror (device calls -ENODEV), freed by
 * daxmirror_mirror_free(). Removes the device mirror (not from a child
 * after fork: the parent's) and unmaps the child's or the process's copy. */
static void mirror_orphan(struct daxmirror_mirror *m)
{
	struct daxmirror_client *c = m->client;

	if (!in_child(c))
		(void)mirror_remove(m);
	m->id = 0;
	m->map = dmp_map_free(m->map);
	m->attachment = NULL;	/* the session's ranges go with it */
	m->start = 0;
	m->length = 0;
	DXM_LIST_UNLINK(&c->mirrors, NULL, m);
}

_public_ struct daxmirror_client *daxmirror_client_free(struct daxmirror_client *c)
{
	if (!c)
		return NULL;
	/* Mirrors the application did not free become empty handles that
	 * keep the client's memory (not its session) until they are freed:
	 * a daxmirror_mirror_free() after this is safe, not a use after free. */
	while (c->mirrors)
		mirror_orphan(c->mirrors);
	session_close(c);
	/* In a child after fork, sd-bus only drops the child's copy. */
	c->bus = sd_bus_flush_close_unref(c->bus);
	c->epoll_fd = safe_close(c->epoll_fd);
	client_unref(c);
	return NULL;
}

_public_ const char *daxmirror_client_session_path(const struct daxmirror_client *c)
{
	return c ? c->session_path : NULL;
}

_public_ const char *daxmirror_client_last_error(const struct daxmirror_client *c)
{
	(void)c;
	return last_error[0] ? last_error : NULL;
}

_public_ const char *daxmirror_version(void)
{
	return DAXMIRROR_VERSION_STRING;
}

_public_ int daxmirror_version_check(unsigned int major, unsigned int minor, unsigned int micro)
{
	return DAXMIRROR_VERSION_CHECK(major, minor, micro);
}

static void counters_from_stats(struct daxmirror_counters *out, const struct daxmirror_stats *s)
{
	*out = (struct daxmirror_counters){
		.device_faults = s->device_faults,
		.range_faults = s->range_faults,
		.range_retries = s->range_retries,
		.invalidations = s->invalidations,
		.bytes_read = s->bytes_read,
		.bytes_written = s->bytes_written,
		.entries_4k = s->entries[DAXMIRROR_ORDER_4K],
		.entries_2m = s->entries[DAXMIRROR_ORDER_2M],
		.entries_1g = s->entries[DAXMIRROR_ORDER_1G],
	};
}

static int session_info(struct daxmirror_client *c, struct daxmirror_session_info *info)
{
	if (c->session_fd < 0)
		return error_set(-ENOTCONN, "the client has no session yet");
	memset(info, 0, sizeof(*info));
	if (ioctl(c->session_fd, DAXMIRROR_IOC_SESSION_INFO, info) < 0)
		return -errno;
	return 0;
}

_public_ int daxmirror_client_counters(struct daxmirror_client *c, struct daxmirror_counters *out)
{
	struct daxmirror_session_info info;
	int r;

	error_begin();
	r = check_client(c);
	if (r < 0)
		return FINISH(r);
	if (!out)
		return FINISH(error_set(-EINVAL, "out is NULL"));
	r = session_info(c, &info);
	if (r < 0)
		return FINISH(r);
	counters_from_stats(out, &info.stats);
	return FINISH(0);
}

/* ---- The session's life: revoke requests, revokes, the broker --------- */

static bool state_ended(int state)
{
	return state == DAXMIRROR_CLIENT_ACKNOWLEDGED || state == DAXMIRROR_CLIENT_FORCED ||
	       state == DAXMIRROR_CLIENT_REVOKED;
}

/* Whether the kernel ended the session: the module raises EPOLLHUP on a
 * revoked session fd (and on the exit of the bound mm, which is this
 * process: not seen here). No bus traffic, no state change. */
static bool session_hung_up(const struct daxmirror_client *c)
{
	struct pollfd p = { .fd = c->session_fd };

	return c->session_fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* Record what the session fd says: a hung-up session was revoked, forced
 * if a request was pending (the broker's deadline ran out, or it was
 * revoked at once meanwhile), at once otherwise. */
static void session_refresh(struct daxmirror_client *c)
{
	if (!c->session_path || state_ended(c->state) || !session_hung_up(c))
		return;
	c->state = c->state == DAXMIRROR_CLIENT_REVOKE_REQUESTED ? DAXMIRROR_CLIENT_FORCED
								  : DAXMIRROR_CLIENT_REVOKED;
	session_unpoll(c);
}

static int on_revoke_requested(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct daxmirror_client *c = userdata;
	uint64_t deadline;

	if (sd_bus_message_read(m, "t", &deadline) < 0)
		return 0;
	if (c->state != DAXMIRROR_CLIENT_ACTIVE && c->state != DAXMIRROR_CLIENT_BROKER_GONE)
		return 0;
	c->state = DAXMIRROR_CLIENT_REVOKE_REQUESTED;
	c->revoke_deadline = deadline;
	return 0;
}

/* org.daxmirror1 changed hands: its owner left (a pending request goes
 * with it: requests are not carried over a restart), or a broker is back
 * (it takes the kernel session back, see docs/daxmirrord.md). */
static int on_broker_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct daxmirror_client *c = userdata;
	const char *name, *old_owner, *new_owner;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
	    strcmp(name, DXM_BUS_NAME))
		return 0;
	if (!*new_owner && (c->state == DAXMIRROR_CLIENT_ACTIVE ||
			    c->state == DAXMIRROR_CLIENT_REVOKE_REQUESTED)) {
		c->state = DAXMIRROR_CLIENT_BROKER_GONE;
		c->revoke_deadline = 0;
	} else if (*new_owner && c->state == DAXMIRROR_CLIENT_BROKER_GONE) {
		c->state = DAXMIRROR_CLIENT_ACTIVE;
	}
	return 0;
}

/* The bus-side match is a convenience (unicast RevokeRequested arrives
 * without it): a failure to install it must not close the connection,
 * which is what sd-bus does without this callback. */
static int on_revoke_match_installed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return 0;
}

_public_ int daxmirror_client_get_fd(struct daxmirror_client *c)
{
	int r;

	error_begin();
	r = check_client(c);
	if (r < 0)
		return FINISH(r);
	return FINISH(c->epoll_fd);
}

_public_ int daxmirror_client_get_events(struct daxmirror_client *c)
{
	int r;

	error_begin();
	r = check_client(c);
	if (r < 0)
		return FINISH(r);
	/* The epoll fd is readable when the bus fd is ready for what sd-bus
	 * waits for (input, and output while messages wait to be sent) or
	 * the session fd hung up: arm the bus fd for this poll. */
	r = sd_bus_get_events(c->bus);
	if (r >= 0 && c->bus_polled) {
		struct epoll_event ev = { .events = (r & POLLIN ? EPOLLIN : 0) |
						    (r & POLLOUT ? EPOLLOUT : 0) };

		if (epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, sd_bus_get_fd(c->bus), &ev) < 0)
			return FINISH(-errno);
	} else if (r < 0 && !c->session_path) {
		return FINISH(r);
	}
	return FINISH(POLLIN);
}

/* The 1 of daxmirror_client_process(): anything but "no session" and
 * "active". */
static int state_news(const struct daxmirror_client *c)
{
	return c->state != DAXMIRROR_CLIENT_NO_SESSION && c->state != DAXMIRROR_CLIENT_ACTIVE;
}

_public_ int daxmirror_client_process(struct daxmirror_client *c)
{
	int r;

	error_begin();
	r = check_client(c);
	if (r < 0)
		return FINISH(r);
	do {
		r = sd_bus_process(c->bus, NULL);
	} while (r > 0);
	if (r < 0) {
		if (!c->session_path)
			return FINISH(r);
		/* The connection is lost: no request can reach the client any
		 * more, and the broker revokes a session whose owner left the
		 * bus. The bus fd would keep the epoll fd readable. */
		if (!state_ended(c->state))
			c->state = DAXMIRROR_CLIENT_BROKER_GONE;
		if (c->bus_polled)
			(void)epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, sd_bus_get_fd(c->bus), NULL);
		c->bus_polled = false;
	}
	session_refresh(c);
	return FINISH(state_news(c));
}

_public_ int daxmirror_client_revoke_pending(const struct daxmirror_client *c,
					     uint64_t *deadline_usec)
{
	int r;

	error_begin();
	r = check_client(c);
	if (r < 0)
		return FINISH(r);
	/* A revoke forced since the last process() is no longer pending. */
	if (c->state != DAXMIRROR_CLIENT_REVOKE_REQUESTED || session_hung_up(c))
		return FINISH(0);
	if (deadline_usec)
		*deadline_usec = c->revoke_deadline;
	return FINISH(1);
}

_public_ int daxmirror_client_get_state(struct daxmirror_client *c)
{
	int r;

	error_begin();
	r = check_client(c);
	if (r < 0)
		return FINISH(r);
	session_refresh(c);
	return FINISH(c->state);
}

_public_ int daxmirror_client_acknowledge_revoke(struct daxmirror_client *c)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	error_begin();
	r = check_client(c);
	if (r < 0)
		return FINISH(r);
	if (!c->session_path)
		return FINISH(error_set(-ENOTCONN, "the client has no session"));
	session_refresh(c);
	if (state_ended(c->state))
		return FINISH(error_set(-ENODEV, "the session has already ended (%s)",
					c->state == DAXMIRROR_CLIENT_FORCED ? "forced" :
					c->state == DAXMIRROR_CLIENT_REVOKED ? "revoked" :
					"acknowledged"));
	/* Everything stored through the CPU mappings becomes durable (device
	 * writes to DAX are already; to page-cache files msync makes them). */
	for (struct daxmirror_mirror *m = c->mirrors; m; m = m->next) {
		if (!m->write)
			continue;
		r = dmp_map_persist(m->map, (const void *)(uintptr_t)m->start, m->length);
		if (r < 0)
			return FINISH(error_set(r, "persisting a mirror: %s",
						strerrordesc_np(-r) ?: "?"));
	}
	r = sd_bus_call_method(c->bus, DXM_BUS_NAME, c->session_path, DXM_SESSION_IFACE,
			       "AcknowledgeRevoke", &err, NULL, "");
	if (r < 0) {
		/* Forced already: the object went with the session. */
		bool gone = sd_bus_error_has_name(&err, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
			    sd_bus_error_has_name(&err, SD_BUS_ERROR_UNKNOWN_METHOD);

		r = bus_failed(c, &err, r);
		if (gone) {
			session_refresh(c);
			r = -ENODEV;
		}
		return FINISH(r);
	}
	c->state = DAXMIRROR_CLIENT_ACKNOWLEDGED;
	c->revoke_deadline = 0;
	session_unpoll(c);
	return FINISH(0);
}

/* ---- Mirrors: the slow path ------------------------------------------- */

static int session_open(struct daxmirror_client *c, bool write)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	int fd, r;

	if (write)
		r = sd_bus_call_method(c->bus, DXM_BUS_NAME, DXM_OBJECT_ROOT, DXM_MANAGER_IFACE,
				       "OpenSession", &err, &reply, "a{sv}", 1, "Write", "b", 1);
	else
		r = sd_bus_call_method(c->bus, DXM_BUS_NAME, DXM_OBJECT_ROOT, DXM_MANAGER_IFACE,
				       "OpenSession", &err, &reply, "a{sv}", 0);
	if (r < 0)
		return bus_failed(c, &err, r);
	r = sd_bus_message_read(reply, "oh", &path, &fd);
	if (r < 0)
		return bus_failed(c, &err, r);
	/* The fd belongs to the reply: dup it before the reply goes. */
	c->session_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (c->session_fd < 0)
		return -errno;
	c->session_path = strdup(path);
	if (!c->session_path) {
		session_close(c);
		return -ENOMEM;
	}
	c->session_write = write;
	/* The broker sends RevokeRequested to this connection only (unicast
	 * signals need no match rule on the bus); the local match has sd-bus
	 * hand it to on_revoke_requested(). The bus-side AddMatch, for the
	 * broadcast a restarted broker sends when it lost the owner's name,
	 * goes out without waiting: no extra round trip per session. */
	r = sd_bus_match_signal_async(c->bus, &c->revoke_slot, DXM_BUS_NAME, path,
				      DXM_SESSION_IFACE,
				      "RevokeRequested", on_revoke_requested,
				      on_revoke_match_installed, c);
	if (r < 0) {
		session_close(c);
		return r;
	}
	/* The broker leaving the bus (or coming back): only org.daxmirror1's
	 * NameOwnerChanged, not every client's. */
	r = sd_bus_add_match_async(c->bus, &c->owner_slot,
				   "type='signal',sender='org.freedesktop.DBus',"
				   "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
				   "member='NameOwnerChanged',arg0='" DXM_BUS_NAME "'",
				   on_broker_owner_changed, on_revoke_match_installed, c);
	if (r < 0) {
		session_close(c);
		return r;
	}
	/* A revoke of any kind hangs the session fd up (EPOLLHUP, always
	 * reported by epoll); its EPOLLIN events are the broker's, not
	 * watched. */
	if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->session_fd,
		      &(struct epoll_event){ .events = EPOLLHUP }) < 0) {
		r = -errno;
		session_close(c);
		return r;
	}
	c->session_polled = true;
	c->state = DAXMIRROR_CLIENT_ACTIVE;
	return 0;
}

static struct attachment *attached(const struct daxmirror_client *c, const struct stat *st,
				   uint64_t offset, uint64_t length, bool write)
{
	for (struct attachment *a = c->attached; a; a = a->next)
		if (a->dev == st->st_dev && a->ino == st->st_ino &&
		    a->offset <= offset && offset + length <= a->offset + a->length &&
		    (a->write || !write))
			return a;
	return NULL;
}

/* DetachFile is an answer of the broker's own, no file system involved. */
#define DETACH_TIMEOUT_USEC (5ULL * 1000 * 1000)

/* AttachFile's report: its "Grant" (0 if the broker sent none). */
static int report_grant(sd_bus_message *reply, uint64_t *grant)
{
	const char *key;
	int r;

	*grant = 0;
	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		r = sd_bus_message_read(reply, "s", &key);
		if (r >= 0 && strcmp(key, "Grant") == 0)
			r = sd_bus_message_read(reply, "v", "t", grant);
		else if (r >= 0)
			r = sd_bus_message_skip(reply, "v");
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	return r;
}

/* The attachment covering the range, from an earlier call or a new
 * AttachFile; its users count is not changed. */
static int attach_file(struct daxmirror_client *c, int fd, const struct stat *st,
		       uint64_t offset, uint64_t length, bool write, struct attachment **ret)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ struct attachment *a = NULL;
	uint64_t grant = 0;
	int r;

	*ret = attached(c, st, offset, length, write);
	if (*ret)
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a)
		return error_set(-ENOMEM, "out of memory");
	if (write)
		r = sd_bus_call_method(c->bus, DXM_BUS_NAME, c->session_path, DXM_SESSION_IFACE,
				       "AttachFile", &err, &reply, "htta{sv}", fd, offset, length,
				       1, "Write", "b", 1);
	else
		r = sd_bus_call_method(c->bus, DXM_BUS_NAME, c->session_path, DXM_SESSION_IFACE,
				       "AttachFile", &err, &reply, "htta{sv}", fd, offset, length, 0);
	if (r < 0)
		return bus_failed(c, &err, r);
	if (report_grant(reply, &grant) < 0)
		grant = 0;	/* a report we cannot read: keep the range */
	*a = (struct attachment){
		.next = c->attached,
		.dev = st->st_dev,
		.ino = st->st_ino,
		.offset = offset,
		.length = length,
		.write = write,
		.grant = grant,
	};
	*ret = a;
	c->attached = TAKE_PTR(a);
	return 0;
}

/* A mirror stops using @a: the last one gives the range back
 * (DetachFile), so the session's MaxFilesPerSession is not used up by
 * mirrors long freed. Called after the mirror left the kernel, since the
 * broker refuses (Busy) while a live mirror maps the range; if it refuses
 * anyway, or is gone, the range stays attached for a later mirror. */
static void attachment_put(struct daxmirror_client *c, struct attachment *a)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;

	if (!a || --a->users > 0 || !a->grant || !c->session_path)
		return;
	/* Nothing to give back once the session ended or the broker went
	 * (its ranges went with it); and never start a broker for it. */
	if (state_ended(c->state) || c->state == DAXMIRROR_CLIENT_BROKER_GONE)
		return;
	if (sd_bus_message_new_method_call(c->bus, &call, DXM_BUS_NAME, c->session_path,
					   DXM_SESSION_IFACE, "DetachFile") < 0 ||
	    sd_bus_message_set_auto_start(call, false) < 0 ||
	    sd_bus_message_append(call, "t", a->grant) < 0 ||
	    sd_bus_call(c->bus, call, DETACH_TIMEOUT_USEC, &err, NULL) < 0)
		return;
	for (struct attachment **pp = &c->attached; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	free(a);
}

static bool fd_is_dax(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, 0, &stx) < 0)
		return false;
	return stx.stx_attributes_mask & STATX_ATTR_DAX && stx.stx_attributes & STATX_ATTR_DAX;
}

static int mirror_remove(struct daxmirror_mirror *m)
{
	struct daxmirror_mirror_remove rm = { .id = m->id };

	if (!m->id)
		return 0;
	m->id = 0;
	if (ioctl(m->client->session_fd, DAXMIRROR_IOC_MIRROR_REMOVE, &rm) < 0)
		return -errno;
	return 0;
}

_public_ int daxmirror_mirror_file(struct daxmirror_client *c, int fd, uint64_t offset,
				   uint64_t length, unsigned int flags,
				   struct daxmirror_mirror **ret)
{
	error_begin();
	return FINISH(mirror_file(c, fd, offset, length, flags, ret));
}

/* The arguments of daxmirror_mirror_file(), checked before any bus call;
 * @length 0 becomes the rest of the file. */
static int mirror_args(struct daxmirror_client *c, int fd, uint64_t offset, uint64_t *length,
		       unsigned int flags, struct daxmirror_mirror **ret, struct stat *st)
{
	bool write = flags & LIBDAXMIRROR_MIRROR_WRITE;
	int r;

	r = check_client(c);
	if (r < 0)
		return r;
	if (!ret)
		return error_set(-EINVAL, "ret is NULL");
	if (fd < 0)
		return error_set(-EINVAL, "fd %d is not a file descriptor", fd);
	if (flags & ~MIRROR_FLAGS)
		return error_set(-EINVAL, "unknown flags 0x%x", flags & ~MIRROR_FLAGS);
	if (offset % PAGE)
		return error_set(-EINVAL, "offset %llu is not a multiple of %llu",
				 (unsigned long long)offset, (unsigned long long)PAGE);
	if (*length % PAGE)
		return error_set(-EINVAL, "length %llu is not a multiple of %llu",
				 (unsigned long long)*length, (unsigned long long)PAGE);
	if (*length > UINT64_MAX - offset)
		return error_set(-EINVAL, "offset %llu + length %llu overflows",
				 (unsigned long long)offset, (unsigned long long)*length);
	session_refresh(c);
	if (state_ended(c->state))
		return error_set(-ENODEV, "the client's session %s was revoked: the client is "
				 "finished, make a new one", c->session_path);
	if (write && c->session_path && !c->session_write)
		return error_set(-EPERM, "a writable mirror on a session opened read-only "
				 "(the first mirror of a client fixes it)");
	if (fstat(fd, st) < 0)
		return error_set(-errno, "fstat of fd %d: %m", fd);
	if (!S_ISREG(st->st_mode))
		return error_set(-EBADF, "fd %d is not a regular file", fd);
	if (!*length) {
		if (offset >= (uint64_t)st->st_size)
			return error_set(-ERANGE, "offset %llu is at or past the end of the file "
					 "(%llu bytes)", (unsigned long long)offset,
					 (unsigned long long)st->st_size);
		*length = ((uint64_t)st->st_size - offset + PAGE - 1) & ~(PAGE - 1);
	}
	return 0;
}

static int mirror_file(struct daxmirror_client *c, int fd, uint64_t offset,
		       uint64_t length, unsigned int flags, struct daxmirror_mirror **ret)
{
	bool write = flags & LIBDAXMIRROR_MIRROR_WRITE, opened = false;
	struct daxmirror_mirror_add add = { 0 };
	struct daxmirror_mirror *m;
	struct attachment *a = NULL;
	struct stat st;
	int r;

	r = mirror_args(c, fd, offset, &length, flags, ret, &st);
	if (r < 0)
		return r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->client = c;
	m->write = write;

	if (!c->session_path) {
		r = session_open(c, write);
		if (r < 0)
			goto fail;
		opened = true;
	}
	r = attach_file(c, fd, &st, offset, length, write, &a);
	if (r < 0)
		goto fail;
	a->users++;
	m->attachment = a;

	r = dmp_map_new(&m->map, fd, offset, length, write, MIRROR_ALIGN);
	if (r == -EACCES) {
		/* The fd's access mode does not allow the mapping: what the
		 * broker's vetting calls BadFile (-EBADF), should a broker
		 * have let it through. */
		r = error_set(-EBADF, "mapping the file range: fd %d is not open for %s", fd,
			      write ? "reading and writing (O_RDWR), as a writable mirror needs"
				    : "reading");
		goto fail;
	} else if (r < 0) {
		error_set(r, "mapping the file range: %s", strerrordesc_np(-r) ?: "?");
		goto fail;
	}
	m->start = (uintptr_t)dmp_map_addr(m->map);
	m->length = dmp_map_length(m->map);
	m->granularity = dmp_map_granularity(m->map);
	m->dax = fd_is_dax(fd);

	if (!c->bound) {
		if (ioctl(c->session_fd, DAXMIRROR_IOC_BIND, 0) < 0 && errno != EALREADY) {
			r = ioctl_failed("binding the session to this process (DAXMIRROR_IOC_BIND)");
			goto fail;
		}
		c->bound = true;
	}

	add.addr = m->start;
	add.length = m->length;
	add.flags = write ? DAXMIRROR_MIRROR_WRITE : 0;
	if (ioctl(c->session_fd, DAXMIRROR_IOC_MIRROR_ADD, &add) < 0) {
		r = ioctl_failed("adding the mirror (DAXMIRROR_IOC_MIRROR_ADD)");
		goto fail;
	}
	m->id = add.id;

	if (flags & LIBDAXMIRROR_MIRROR_PREFAULT) {
		struct daxmirror_fault f = {
			.addr = m->start,
			.length = m->length,
			.flags = write ? DAXMIRROR_FAULT_WRITE : 0,
		};

		if (ioctl(c->session_fd, DAXMIRROR_IOC_FAULT, &f) < 0) {
			r = ioctl_failed("prefaulting the mirror (DAXMIRROR_IOC_FAULT)");
			goto fail;
		}
	}

	m->next = c->mirrors;
	if (c->mirrors)
		c->mirrors->prev = m;
	c->mirrors = m;
	c->refs++;		/* the handle's, see daxmirror_client_free() */
	*ret = m;
	return 0;

fail:
	(void)mirror_remove(m);
	dmp_map_free(m->map);
	if (opened) {
		session_close(c);
	} else if (m->attachment) {
		/* The failure's message, not DetachFile's, is the one to keep. */
		attachment_put(c, m->attachment);
	}
	free(m);
	return r;
}

_public_ struct daxmirror_mirror *daxmirror_mirror_free(struct daxmirror_mirror *m)
{
	struct daxmirror_client *c;

	if (!m)
		return NULL;
	c = m->client;
	if (m->map) {		/* not emptied by daxmirror_client_free() */
		if (!in_child(c))
			(void)mirror_remove(m);
		dmp_map_free(m->map);
		DXM_LIST_UNLINK(&c->mirrors, NULL, m);
		/* Its range goes back with the last mirror using it (not from
		 * a child after fork: the parent's session). */
		if (!in_child(c))
			attachment_put(c, m->attachment);
	}
	free(m);
	client_unref(c);
	return NULL;
}

_public_ void *daxmirror_mirror_addr(const struct daxmirror_mirror *m)
{
	return m ? (void *)(uintptr_t)m->start : NULL;
}

_public_ uint64_t daxmirror_mirror_length(const struct daxmirror_mirror *m)
{
	return m ? m->length : 0;
}

_public_ const char *daxmirror_mirror_granularity(const struct daxmirror_mirror *m)
{
	return m ? dmp_granularity_name(m->granularity) : NULL;
}

_public_ bool daxmirror_mirror_is_dax(const struct daxmirror_mirror *m)
{
	return m && m->dax;
}

/* ---- Mirrors: the fast path -------------------------------------------
 * Safe from any number of threads at once on one client: these calls only
 * read the mirror's and the client's fixed fields (session fd, address,
 * length), issue one ioctl each (the module runs device accesses of a
 * session concurrently) and write the calling thread's last error. */

static int check_mirror(const struct daxmirror_mirror *m)
{
	int r;

	if (!m)
		return error_set(-EINVAL, "the mirror is NULL");
	r = check_client(m->client);
	if (r < 0)
		return r;
	if (!m->map)
		return error_set(-ENODEV, "the mirror's client was freed: the mirror is gone, "
				 "only daxmirror_mirror_free() is left to call");
	return 0;
}

static int check_range(const struct daxmirror_mirror *m, uint64_t off, uint64_t len)
{
	int r = check_mirror(m);

	if (r < 0)
		return r;
	if (!len)
		return error_set(-EINVAL, "an empty range");
	if (off >= m->length || len > m->length - off)
		return error_set(-EINVAL, "the range [%llu, +%llu) is not inside the mirror "
				 "(%llu bytes)", (unsigned long long)off,
				 (unsigned long long)len, (unsigned long long)m->length);
	return 0;
}

static int mirror_prefetch(struct daxmirror_mirror *m, uint64_t off, uint64_t len, bool write)
{
	struct daxmirror_fault f = { 0 };
	uint64_t first, end;
	int r;

	r = check_range(m, off, len);
	if (r < 0)
		return r;
	if (write && !m->write)
		return error_set(-EPERM, "a write prefetch of a read-only mirror");
	first = off & ~(PAGE - 1);
	end = (off + len + PAGE - 1) & ~(PAGE - 1);
	f.addr = m->start + first;
	f.length = end - first;
	f.flags = write ? DAXMIRROR_FAULT_WRITE : 0;
	if (ioctl(m->client->session_fd, DAXMIRROR_IOC_FAULT, &f) < 0)
		return ioctl_failed("DAXMIRROR_IOC_FAULT");
	return 0;
}

_public_ int daxmirror_mirror_prefetch(struct daxmirror_mirror *m, uint64_t off, uint64_t len,
				       bool write)
{
	error_begin();
	return FINISH(mirror_prefetch(m, off, len, write));
}

static int device_rw(struct daxmirror_mirror *m, unsigned long cmd, uint64_t off,
		     const void *buf, size_t len)
{
	struct daxmirror_rw rw = { 0 };
	bool wr = cmd == DAXMIRROR_IOC_WRITE;
	int r;

	r = check_range(m, off, len);
	if (r < 0)
		return r;
	if (!buf)
		return error_set(-EINVAL, "buf is NULL");
	if (wr && !m->write)
		return error_set(-EPERM, "a device write to a read-only mirror");
	rw.addr = m->start + off;
	rw.length = len;
	rw.buf = (uintptr_t)buf;
	if (ioctl(m->client->session_fd, cmd, &rw) < 0)
		return ioctl_failed(wr ? "DAXMIRROR_IOC_WRITE" : "DAXMIRROR_IOC_READ");
	if (rw.done != len)
		return error_set(-EIO, "the device %s %llu of %zu bytes", wr ? "wrote" : "read",
				 (unsigned long long)rw.done, len);
	return 0;
}

_public_ int daxmirror_mirror_read(struct daxmirror_mirror *m, uint64_t off, void *buf, size_t len)
{
	error_begin();
	return FINISH(device_rw(m, DAXMIRROR_IOC_READ, off, buf, len));
}

_public_ int daxmirror_mirror_write(struct daxmirror_mirror *m, uint64_t off, const void *buf,
				    size_t len)
{
	error_begin();
	return FINISH(device_rw(m, DAXMIRROR_IOC_WRITE, off, buf, len));
}

static int mirror_snapshot(struct daxmirror_mirror *m, uint64_t off, uint64_t len, uint8_t *pages)
{
	struct daxmirror_snapshot s = { 0 };
	int r;

	r = check_range(m, off, len);
	if (r < 0)
		return r;
	if (!pages)
		return error_set(-EINVAL, "pages is NULL");
	if (off % PAGE || len % PAGE)
		return error_set(-EINVAL, "offset %llu or length %llu is not a multiple of %llu",
				 (unsigned long long)off, (unsigned long long)len,
				 (unsigned long long)PAGE);
	s.addr = m->start + off;
	s.length = len;
	s.pages = (uintptr_t)pages;
	if (ioctl(m->client->session_fd, DAXMIRROR_IOC_SNAPSHOT, &s) < 0)
		return ioctl_failed("DAXMIRROR_IOC_SNAPSHOT");
	return 0;
}

_public_ int daxmirror_mirror_snapshot(struct daxmirror_mirror *m, uint64_t off, uint64_t len,
				       uint8_t *pages)
{
	error_begin();
	return FINISH(mirror_snapshot(m, off, len, pages));
}

/* Records asked for per SNAPSHOT_EXTENTS call (16 bytes each). */
#define EXTENT_CHUNK	4096u

/* struct daxmirror_extents is the internal list of extent-list.h. */
struct daxmirror_extents {
	struct dxl_list l;
};

static int extents_ioctl(void *ctx, struct daxmirror_snapshot_extents *a)
{
	const struct daxmirror_mirror *m = ctx;

	if (ioctl(m->client->session_fd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, a) < 0)
		return ioctl_failed("DAXMIRROR_IOC_SNAPSHOT_EXTENTS");
	return 0;
}

static int mirror_extents(struct daxmirror_mirror *m, uint64_t off, uint64_t len,
			  struct daxmirror_extents **ret)
{
	_cleanup_free_ struct daxmirror_extents *e = NULL;
	int r;

	r = check_range(m, off, len);
	if (r < 0)
		return r;
	if (!ret)
		return error_set(-EINVAL, "ret is NULL");
	if (off % PAGE || len % PAGE)
		return error_set(-EINVAL, "offset %llu or length %llu is not a multiple of %llu",
				 (unsigned long long)off, (unsigned long long)len,
				 (unsigned long long)PAGE);
	e = calloc(1, sizeof(*e));
	if (!e)
		return error_set(-ENOMEM, "no memory for the extent list");
	e->l.base = m->start;
	r = dxl_collect(&e->l, m->start + off, len, EXTENT_CHUNK, extents_ioctl, m);
	if (r < 0) {
		dxl_free(&e->l);
		if (r == -EPROTO)
			return error_set(r, "DAXMIRROR_IOC_SNAPSHOT_EXTENTS: an answer that "
					 "breaks the ABI (order, range or next)");
		if (r == -ENOMEM)
			return error_set(r, "no memory for the extent list");
		return r;	/* the ioctl's message is set */
	}
	*ret = TAKE_PTR(e);
	return 0;
}

_public_ int daxmirror_mirror_extents(struct daxmirror_mirror *m, uint64_t off, uint64_t len,
				      struct daxmirror_extents **ret)
{
	error_begin();
	return FINISH(mirror_extents(m, off, len, ret));
}

_public_ size_t daxmirror_extents_count(const struct daxmirror_extents *e)
{
	return e ? e->l.n : 0;
}

_public_ int daxmirror_extents_get(const struct daxmirror_extents *e, size_t i, uint64_t *off,
				   unsigned int *order, unsigned int *flags)
{
	const struct daxmirror_extent *x;

	if (!e)
		return -EINVAL;
	if (i >= e->l.n)
		return -ERANGE;
	x = &e->l.v[i];
	if (off)
		*off = x->start - e->l.base;
	if (order)
		*order = x->order;
	if (flags)
		*flags = x->flags;
	return 0;
}

_public_ struct daxmirror_extents *daxmirror_extents_free(struct daxmirror_extents *e)
{
	if (e) {
		dxl_free(&e->l);
		free(e);
	}
	return NULL;
}

static int mirror_counters(struct daxmirror_mirror *m, struct daxmirror_counters *out)
{
	struct daxmirror_session_info info;
	_cleanup_free_ struct daxmirror_mirror_info *list = NULL;
	struct daxmirror_mirror_list ml;
	uint32_t capacity = 0;
	int r;

	r = check_mirror(m);
	if (r < 0)
		return r;
	if (!out)
		return error_set(-EINVAL, "out is NULL");
	r = session_info(m->client, &info);
	if (r < 0)
		return r;

	/* Count, then fetch; again if mirrors appeared in between. */
	for (;;) {
		ml = (struct daxmirror_mirror_list){
			.mirrors = (uintptr_t)list,
			.capacity = capacity,
		};
		if (ioctl(m->client->session_fd, DAXMIRROR_IOC_MIRROR_LIST, &ml) < 0)
			return ioctl_failed("DAXMIRROR_IOC_MIRROR_LIST");
		if (ml.count <= capacity)
			break;
		free(list);
		capacity = ml.count + 8;
		list = calloc(capacity, sizeof(*list));
		if (!list)
			return -ENOMEM;
	}

	for (uint32_t i = 0; i < ml.count; i++) {
		if (list[i].id != m->id)
			continue;
		counters_from_stats(out, &info.stats);
		out->entries_4k = list[i].entries[DAXMIRROR_ORDER_4K];
		out->entries_2m = list[i].entries[DAXMIRROR_ORDER_2M];
		out->entries_1g = list[i].entries[DAXMIRROR_ORDER_1G];
		return 0;
	}
	return error_set(-ENOENT, "the kernel no longer lists mirror %llu",
			 (unsigned long long)m->id);
}

_public_ int daxmirror_mirror_counters(struct daxmirror_mirror *m, struct daxmirror_counters *out)
{
	error_begin();
	return FINISH(mirror_counters(m, out));
}

_public_ int daxmirror_mirror_persist(struct daxmirror_mirror *m, uint64_t off, uint64_t len)
{
	int r;

	error_begin();
	r = check_range(m, off, len);
	if (r < 0)
		return FINISH(r);
	r = dmp_map_persist(m->map, (const void *)(uintptr_t)(m->start + off), len);
	if (r < 0)
		return FINISH(error_set(r, "persist: %s", strerrordesc_np(-r) ?: "?"));
	return FINISH(0);
}
