// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdaxmirror.c - the client library: D-Bus to the broker for the slow
 * path (session, file vetting), libpmem2 for the CPU mapping (shared/pmem.c),
 * ioctls on the session fd for the fast path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-contract.h"
#include "daxmirror.h"
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

/* A file range the broker vetted for this session (grants are never
 * withdrawn before the session ends, so a covered range needs no second
 * AttachFile). */
struct attachment {
	struct attachment *next;
	dev_t dev;
	ino_t ino;
	uint64_t offset, length;
	bool write;
};

struct daxmirror_client {
	sd_bus *bus;
	char *session_path;		/* NULL: no session */
	int session_fd;			/* -1: no session */
	bool session_write;		/* opened with {"Write": true} */
	bool bound;			/* DAXMIRROR_IOC_BIND done */
	char *last_error;
	struct attachment *attached;
	struct daxmirror_mirror *mirrors;
	sd_bus_slot *revoke_slot;	/* match on the session's RevokeRequested */
	bool revoke_pending;		/* RevokeRequested seen, not acknowledged */
	uint64_t revoke_deadline;	/* its deadline, CLOCK_MONOTONIC µs */
};

struct daxmirror_mirror {
	struct daxmirror_client *client;
	struct daxmirror_mirror *prev, *next;
	struct dmp_map *map;
	uint64_t id;			/* the kernel's mirror id, 0: not added */
	uint64_t start;			/* CPU (= device) address */
	uint64_t length;
	bool write, dax;
	enum dmp_granularity granularity;
};

static void set_last_error(struct daxmirror_client *c, char *s)
{
	free(c->last_error);
	c->last_error = s;
}

/* A failed bus call: remember the error, return it as a negative errno
 * (org.daxmirror1.Error.* through dxm_bus_error_map, which
 * dxm_bus_connect() registered; any other name as sd-bus maps it). */
static int bus_failed(struct daxmirror_client *c, const sd_bus_error *e, int r)
{
	char *s = NULL;

	if (sd_bus_error_is_set(e)) {
		int err = sd_bus_error_get_errno(e);

		if (asprintf(&s, "%s: %s", e->name, e->message ? e->message : "") < 0)
			s = NULL;
		r = err > 0 ? -err : -EIO;
	} else {
		if (r >= 0)
			r = -EIO;
		if (asprintf(&s, "sd-bus: %s", strerror(-r)) < 0)
			s = NULL;
	}
	set_last_error(c, s);
	return r;
}

/* ---- Clients ---------------------------------------------------------- */

_public_ int daxmirror_client_new(struct daxmirror_client **ret, const char *bus_address)
{
	struct daxmirror_client *c;
	int r;

	if (!ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->session_fd = -1;

	if (!bus_address) {
		const char *env = secure_getenv(BUS_ENV);

		if (env && *env)
			bus_address = env;
	}
	r = dxm_bus_connect(bus_address, "libdaxmirror", &c->bus);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

static void forget_attachments(struct daxmirror_client *c)
{
	while (c->attached) {
		struct attachment *a = c->attached;

		c->attached = a->next;
		free(a);
	}
}

/* End the session: Session.Close (errors ignored: the broker may be gone),
 * then drop the fd and everything tied to the session. */
static void session_close(struct daxmirror_client *c)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;

	if (c->session_path)
		(void)sd_bus_call_method(c->bus, DXM_BUS_NAME, c->session_path, DXM_SESSION_IFACE,
					 "Close", &err, NULL, "");
	c->revoke_slot = sd_bus_slot_unref(c->revoke_slot);
	c->revoke_pending = false;
	c->revoke_deadline = 0;
	c->session_fd = safe_close(c->session_fd);
	freep(&c->session_path);
	c->session_write = false;
	c->bound = false;
	forget_attachments(c);
}

_public_ struct daxmirror_client *daxmirror_client_free(struct daxmirror_client *c)
{
	if (!c)
		return NULL;
	while (c->mirrors)
		daxmirror_mirror_free(c->mirrors);
	session_close(c);
	sd_bus_flush_close_unref(c->bus);
	free(c->last_error);
	free(c);
	return NULL;
}

_public_ const char *daxmirror_client_session_path(const struct daxmirror_client *c)
{
	return c ? c->session_path : NULL;
}

_public_ const char *daxmirror_client_last_error(const struct daxmirror_client *c)
{
	return c ? c->last_error : NULL;
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
		return -ENOTCONN;
	memset(info, 0, sizeof(*info));
	if (ioctl(c->session_fd, DAXMIRROR_IOC_SESSION_INFO, info) < 0)
		return -errno;
	return 0;
}

_public_ int daxmirror_client_counters(struct daxmirror_client *c, struct daxmirror_counters *out)
{
	struct daxmirror_session_info info;
	int r;

	if (!c || !out)
		return -EINVAL;
	r = session_info(c, &info);
	if (r < 0)
		return r;
	counters_from_stats(out, &info.stats);
	return 0;
}

/* ---- Revoke requests ------------------------------------------------- */

static int on_revoke_requested(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct daxmirror_client *c = userdata;
	uint64_t deadline;

	if (sd_bus_message_read(m, "t", &deadline) < 0)
		return 0;
	c->revoke_pending = true;
	c->revoke_deadline = deadline;
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
	if (!c)
		return -EINVAL;
	return sd_bus_get_fd(c->bus);
}

_public_ int daxmirror_client_get_events(struct daxmirror_client *c)
{
	if (!c)
		return -EINVAL;
	return sd_bus_get_events(c->bus);
}

_public_ int daxmirror_client_process(struct daxmirror_client *c)
{
	int r;

	if (!c)
		return -EINVAL;
	do {
		r = sd_bus_process(c->bus, NULL);
	} while (r > 0);
	if (r < 0)
		return r;
	return c->revoke_pending;
}

_public_ int daxmirror_client_revoke_pending(const struct daxmirror_client *c,
					     uint64_t *deadline_usec)
{
	if (!c)
		return -EINVAL;
	if (c->revoke_pending && deadline_usec)
		*deadline_usec = c->revoke_deadline;
	return c->revoke_pending;
}

_public_ int daxmirror_client_acknowledge_revoke(struct daxmirror_client *c)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	int r;

	if (!c)
		return -EINVAL;
	if (!c->session_path)
		return -ENOTCONN;
	/* Everything stored through the CPU mappings becomes durable (device
	 * writes to DAX are already; to page-cache files msync makes them). */
	for (struct daxmirror_mirror *m = c->mirrors; m; m = m->next) {
		if (!m->write)
			continue;
		r = dmp_map_persist(m->map, (const void *)(uintptr_t)m->start, m->length);
		if (r < 0)
			return r;
	}
	r = sd_bus_call_method(c->bus, DXM_BUS_NAME, c->session_path, DXM_SESSION_IFACE,
			       "AcknowledgeRevoke", &err, NULL, "");
	if (r < 0) {
		/* Forced already: the object went with the session. */
		bool gone = sd_bus_error_has_name(&err, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
			    sd_bus_error_has_name(&err, SD_BUS_ERROR_UNKNOWN_METHOD);

		r = bus_failed(c, &err, r);
		return gone ? -ENODEV : r;
	}
	c->revoke_pending = false;
	return 0;
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
	return 0;
}

static bool attached(const struct daxmirror_client *c, const struct stat *st,
		     uint64_t offset, uint64_t length, bool write)
{
	for (const struct attachment *a = c->attached; a; a = a->next)
		if (a->dev == st->st_dev && a->ino == st->st_ino &&
		    a->offset <= offset && offset + length <= a->offset + a->length &&
		    (a->write || !write))
			return true;
	return false;
}

static int attach_file(struct daxmirror_client *c, int fd, const struct stat *st,
		       uint64_t offset, uint64_t length, bool write)
{
	_cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
	_cleanup_free_ struct attachment *a = NULL;
	int r;

	if (attached(c, st, offset, length, write))
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (write)
		r = sd_bus_call_method(c->bus, DXM_BUS_NAME, c->session_path, DXM_SESSION_IFACE,
				       "AttachFile", &err, NULL, "htta{sv}", fd, offset, length,
				       1, "Write", "b", 1);
	else
		r = sd_bus_call_method(c->bus, DXM_BUS_NAME, c->session_path, DXM_SESSION_IFACE,
				       "AttachFile", &err, NULL, "htta{sv}", fd, offset, length, 0);
	if (r < 0)
		return bus_failed(c, &err, r);
	*a = (struct attachment){
		.next = c->attached,
		.dev = st->st_dev,
		.ino = st->st_ino,
		.offset = offset,
		.length = length,
		.write = write,
	};
	c->attached = TAKE_PTR(a);
	return 0;
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
	bool write = flags & LIBDAXMIRROR_MIRROR_WRITE, opened = false;
	struct daxmirror_mirror_add add = { 0 };
	struct daxmirror_mirror *m;
	struct stat st;
	int r;

	if (!c || !ret || fd < 0 || (flags & ~MIRROR_FLAGS) || offset % PAGE ||
	    length % PAGE || length > UINT64_MAX - offset)
		return -EINVAL;
	if (write && c->session_path && !c->session_write)
		return -EPERM;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADF;
	if (!length) {
		if (offset >= (uint64_t)st.st_size)
			return -ERANGE;
		length = ((uint64_t)st.st_size - offset + PAGE - 1) & ~(PAGE - 1);
	}

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
	r = attach_file(c, fd, &st, offset, length, write);
	if (r < 0)
		goto fail;

	r = dmp_map_new(&m->map, fd, offset, length, write, MIRROR_ALIGN);
	if (r < 0)
		goto fail;
	m->start = (uintptr_t)dmp_map_addr(m->map);
	m->length = dmp_map_length(m->map);
	m->granularity = dmp_map_granularity(m->map);
	m->dax = fd_is_dax(fd);

	if (!c->bound) {
		if (ioctl(c->session_fd, DAXMIRROR_IOC_BIND, 0) < 0 && errno != EALREADY) {
			r = -errno;
			goto fail;
		}
		c->bound = true;
	}

	add.addr = m->start;
	add.length = m->length;
	add.flags = write ? DAXMIRROR_MIRROR_WRITE : 0;
	if (ioctl(c->session_fd, DAXMIRROR_IOC_MIRROR_ADD, &add) < 0) {
		r = -errno;
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
			r = -errno;
			goto fail;
		}
	}

	m->next = c->mirrors;
	if (c->mirrors)
		c->mirrors->prev = m;
	c->mirrors = m;
	*ret = m;
	return 0;

fail:
	(void)mirror_remove(m);
	dmp_map_free(m->map);
	free(m);
	if (opened)
		session_close(c);
	return r;
}

_public_ struct daxmirror_mirror *daxmirror_mirror_free(struct daxmirror_mirror *m)
{
	struct daxmirror_client *c;

	if (!m)
		return NULL;
	c = m->client;
	(void)mirror_remove(m);
	dmp_map_free(m->map);
	DXM_LIST_UNLINK(&c->mirrors, NULL, m);
	free(m);
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

/* ---- Mirrors: the fast path ------------------------------------------- */

static int check_range(const struct daxmirror_mirror *m, uint64_t off, uint64_t len)
{
	if (!m || !len || off >= m->length || len > m->length - off)
		return -EINVAL;
	return 0;
}

_public_ int daxmirror_mirror_prefetch(struct daxmirror_mirror *m, uint64_t off, uint64_t len,
				       bool write)
{
	struct daxmirror_fault f = { 0 };
	uint64_t first, end;
	int r;

	r = check_range(m, off, len);
	if (r < 0)
		return r;
	if (write && !m->write)
		return -EPERM;
	first = off & ~(PAGE - 1);
	end = (off + len + PAGE - 1) & ~(PAGE - 1);
	f.addr = m->start + first;
	f.length = end - first;
	f.flags = write ? DAXMIRROR_FAULT_WRITE : 0;
	if (ioctl(m->client->session_fd, DAXMIRROR_IOC_FAULT, &f) < 0)
		return -errno;
	return 0;
}

static int device_rw(struct daxmirror_mirror *m, unsigned long cmd, uint64_t off,
		     const void *buf, size_t len)
{
	struct daxmirror_rw rw = { 0 };
	int r;

	r = check_range(m, off, len);
	if (r < 0)
		return r;
	if (!buf)
		return -EINVAL;
	rw.addr = m->start + off;
	rw.length = len;
	rw.buf = (uintptr_t)buf;
	if (ioctl(m->client->session_fd, cmd, &rw) < 0)
		return -errno;
	return rw.done == len ? 0 : -EIO;
}

_public_ int daxmirror_mirror_read(struct daxmirror_mirror *m, uint64_t off, void *buf, size_t len)
{
	return device_rw(m, DAXMIRROR_IOC_READ, off, buf, len);
}

_public_ int daxmirror_mirror_write(struct daxmirror_mirror *m, uint64_t off, const void *buf,
				    size_t len)
{
	if (m && !m->write)
		return -EPERM;
	return device_rw(m, DAXMIRROR_IOC_WRITE, off, buf, len);
}

_public_ int daxmirror_mirror_snapshot(struct daxmirror_mirror *m, uint64_t off, uint64_t len,
				       uint8_t *pages)
{
	struct daxmirror_snapshot s = { 0 };
	int r;

	r = check_range(m, off, len);
	if (r < 0)
		return r;
	if (!pages || off % PAGE || len % PAGE)
		return -EINVAL;
	s.addr = m->start + off;
	s.length = len;
	s.pages = (uintptr_t)pages;
	if (ioctl(m->client->session_fd, DAXMIRROR_IOC_SNAPSHOT, &s) < 0)
		return -errno;
	return 0;
}

_public_ int daxmirror_mirror_counters(struct daxmirror_mirror *m, struct daxmirror_counters *out)
{
	struct daxmirror_session_info info;
	_cleanup_free_ struct daxmirror_mirror_info *list = NULL;
	struct daxmirror_mirror_list ml;
	uint32_t capacity = 0;
	int r;

	if (!m || !out)
		return -EINVAL;
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
			return -errno;
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
	return -ENOENT;
}

_public_ int daxmirror_mirror_persist(struct daxmirror_mirror *m, uint64_t off, uint64_t len)
{
	int r;

	r = check_range(m, off, len);
	if (r < 0)
		return r;
	return dmp_map_persist(m->map, (const void *)(uintptr_t)(m->start + off), len);
}
