/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdaxmirror.h - the client library of daxmirror: ask the broker
 * daxmirrord (D-Bus, org.daxmirror1) for a device mirror of a file range,
 * map it with libpmem2, and drive the device through the session fd.
 *
 * Conventions:
 *  - Every function returning int returns 0 (or a documented non-negative
 *    value) on success and a negative errno on failure. Out parameters are
 *    written only on success.
 *  - Handles are opaque. A *_free() function accepts NULL and returns NULL,
 *    so "p = daxmirror_x_free(p);" leaves no dangling pointer.
 *  - Errors of D-Bus calls are mapped to errnos (see daxmirror_client_new());
 *    the D-Bus error itself is kept for daxmirror_client_last_error().
 *    Errors of the fast path are the kernel's errnos, unchanged: ENODEV
 *    once the session was revoked or closed by the broker.
 *
 * Thread safety:
 *  - The library has no global state: distinct clients are independent
 *    and may be used from different threads at the same time.
 *  - A client and all the mirrors made from it form one unit that must be
 *    used by one thread at a time (the caller serialises: a mutex per
 *    client, or one thread per client). The accessors taking a const
 *    pointer (daxmirror_mirror_addr() and friends) only read immutable
 *    fields and may be called concurrently with anything but the free of
 *    that object.
 *  - The CPU mapping (daxmirror_mirror_addr()) is ordinary memory: any
 *    thread may load and store through it at any time, as with mmap().
 *  - A session is bound to the address space of the process that opened
 *    it. A client must not be used after fork() in the child (the child's
 *    calls fail with EBUSY); free it in the parent only.
 *
 * Versions: the library's version is DAXMIRROR_VERSION_STRING of the
 * header it was built with and what pkg-config reports (pkg-config
 * --atleast-version=1.2 libdaxmirror); at run time daxmirror_version()
 * and daxmirror_version_check(). Symbols carry the version node of the
 * release that added them (LIBDAXMIRROR_1, _1.1, _1.2): a program built
 * with a 1.2 symbol does not start against a 1.1 library.
 */
#ifndef LIBDAXMIRROR_H
#define LIBDAXMIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header, equal to the library's it came with. */
#define DAXMIRROR_VERSION_MAJOR		1
#define DAXMIRROR_VERSION_MINOR		2
#define DAXMIRROR_VERSION_MICRO		0
#define DAXMIRROR_VERSION_STRING	"1.2.0"
/* True (1) when the version is at least major.minor.micro:
 * #if DAXMIRROR_VERSION_CHECK(1, 2, 0). */
#define DAXMIRROR_VERSION_CHECK(major, minor, micro)				\
	(DAXMIRROR_VERSION_MAJOR > (major) ||					\
	 (DAXMIRROR_VERSION_MAJOR == (major) && DAXMIRROR_VERSION_MINOR > (minor)) || \
	 (DAXMIRROR_VERSION_MAJOR == (major) && DAXMIRROR_VERSION_MINOR == (minor) && \
	  DAXMIRROR_VERSION_MICRO >= (micro)))

/* Flags of daxmirror_mirror_file(). */
#define LIBDAXMIRROR_MIRROR_WRITE	0x1u /* writable mirror (session opened with Write) */
#define LIBDAXMIRROR_MIRROR_PREFAULT	0x2u /* fill the device page table at once */

/* Per-page bytes of daxmirror_mirror_snapshot(), equal to the kernel's
 * DAXMIRROR_SNAP_* values. */
#define LIBDAXMIRROR_SNAP_STATE_MASK	0x03u
#define LIBDAXMIRROR_SNAP_NONE		0x00u /* no device entry */
#define LIBDAXMIRROR_SNAP_READ		0x01u /* readable entry */
#define LIBDAXMIRROR_SNAP_WRITE		0x02u /* writable entry */
#define LIBDAXMIRROR_SNAP_ORDER_SHIFT	2     /* bits 2-3: LIBDAXMIRROR_ORDER_* */
#define LIBDAXMIRROR_SNAP_ORDER_MASK	0x0cu
#define LIBDAXMIRROR_SNAP_ZONE_DEVICE	0x10u /* a ZONE_DEVICE page */
#define LIBDAXMIRROR_SNAP_DAX		0x20u /* a DAX (fsdax/devdax) page */

/* Entry orders found in a snapshot byte (LIBDAXMIRROR_SNAP_ORDER_MASK). */
#define LIBDAXMIRROR_ORDER_4K		0 /* one 4 KiB page */
#define LIBDAXMIRROR_ORDER_2M		1 /* part of a 2 MiB (PMD) entry */
#define LIBDAXMIRROR_ORDER_1G		2 /* part of a 1 GiB (PUD) entry */

/* Size of a page as the fast path counts them (snapshot bytes, alignment). */
#define LIBDAXMIRROR_PAGE_SIZE		4096u

/**
 * struct daxmirror_client - a connection to the broker and at most one
 * session (opaque)
 */
struct daxmirror_client;

/**
 * struct daxmirror_mirror - one mirrored, mapped file range (opaque)
 */
struct daxmirror_mirror;

/**
 * struct daxmirror_counters - counters of a session (or of one mirror)
 * @device_faults:	device accesses that found no usable entry and faulted
 * @range_faults:	hmm_range_fault() calls
 * @range_retries:	fault retries (invalidation raced with the fault)
 * @invalidations:	invalidation callbacks that hit the session's mirrors
 * @bytes_read:		bytes read by the device
 * @bytes_written:	bytes written by the device
 * @entries_4k:		live device page-table entries of 4 KiB
 * @entries_2m:		live device page-table entries of 2 MiB
 * @entries_1g:		live device page-table entries of 1 GiB
 * @reserved:		0
 */
struct daxmirror_counters {
	uint64_t device_faults, range_faults, range_retries, invalidations;
	uint64_t bytes_read, bytes_written;
	uint64_t entries_4k, entries_2m, entries_1g;
	uint64_t reserved[7];
};

/* ---- Clients ---------------------------------------------------------- */

/**
 * daxmirror_client_new() - connect to the broker
 * @ret:	out: the new client
 * @bus_address: a D-Bus address ("unix:path=..."); NULL for
 *		$DAXMIRROR_BUS_ADDRESS if set (ignored in set-uid programs),
 *		else the system bus
 *
 * Connects only; the session is opened by the first daxmirror_mirror_file().
 * D-Bus errors of later calls map to errnos as follows:
 * org.daxmirror1.Error.AccessDenied -EACCES, .QuotaExceeded -EDQUOT,
 * .ModuleNotLoaded -ENXIO, .NoSuchSession -ENOENT, .InvalidOption -EINVAL,
 * .InvalidRange -ERANGE, .BadFile -EBADF, .NotDax -EOPNOTSUPP,
 * .BadBlocks -EIO, .Revoked -ENODEV, .Kernel -EPROTO, .NotRequested -ESRCH,
 * .UnsupportedFileSystem -EXDEV, .Timeout -ETIMEDOUT, .Busy -EBUSY;
 * any other error name as sd-bus maps it (e.g.
 * org.freedesktop.DBus.Error.ServiceUnknown -EHOSTUNREACH when no broker
 * runs), else -EIO. The first call adds this table to sd-bus's error maps
 * of the process (sd_bus_error_add_map()), so sd_bus_error_get_errno()
 * maps these names the same way in the application too.
 *
 * Return: 0; -EINVAL (@ret NULL), -ENOMEM, or what sd-bus returns when
 * the bus cannot be reached (e.g. -ENOENT, -ECONNREFUSED).
 */
int daxmirror_client_new(struct daxmirror_client **ret, const char *bus_address);

/**
 * daxmirror_client_free() - free a client
 * @c:		the client, or NULL
 *
 * Frees every mirror of @c (as daxmirror_mirror_free()), closes the
 * session (Session.Close, errors ignored), closes the session fd and
 * disconnects. Pointers to the client's mirrors are invalid afterwards.
 *
 * Return: NULL.
 */
struct daxmirror_client *daxmirror_client_free(struct daxmirror_client *c);

/**
 * daxmirror_client_session_path() - the session's D-Bus object path
 * @c:		the client
 *
 * Return: the path (valid until the client is freed), or NULL before the
 * first daxmirror_mirror_file() opened the session (or if @c is NULL).
 */
const char *daxmirror_client_session_path(const struct daxmirror_client *c);

/**
 * daxmirror_client_last_error() - the error of the last failed D-Bus call
 * @c:		the client
 *
 * Return: "<error name>: <message>" of the last D-Bus call of @c that
 * failed (e.g. "org.daxmirror1.Error.NotDax: ..."; "sd-bus: <strerror>"
 * when the call failed without a D-Bus error), valid until the next
 * call on @c; NULL if none failed yet. A later successful call does not
 * clear it. Failures of the fast path (ioctls) do not set it.
 */
const char *daxmirror_client_last_error(const struct daxmirror_client *c);

/**
 * daxmirror_client_counters() - counters of the whole session
 * @c:		the client
 * @out:	out: the counters, summed over every mirror of the session
 *
 * Return: 0; -EINVAL (NULL argument), -ENOTCONN (no session yet), or the
 * kernel's errno (-ENODEV: revoked).
 */
int daxmirror_client_counters(struct daxmirror_client *c, struct daxmirror_counters *out);

/**
 * daxmirror_version() - the library's version at run time
 *
 * Return: "MAJOR.MINOR.MICRO" of the loaded library (a static string), the
 * DAXMIRROR_VERSION_STRING it was built with. Since 1.2.
 */
const char *daxmirror_version(void);

/**
 * daxmirror_version_check() - whether the loaded library is recent enough
 * @major:	e.g. 1
 * @minor:	e.g. 2
 * @micro:	e.g. 0
 *
 * The run-time twin of DAXMIRROR_VERSION_CHECK(). (A program that only
 * uses symbols of the version it was built against needs no check: the
 * dynamic linker refuses an older library whose symbol versions lack
 * them.) Since 1.2.
 *
 * Return: 1 if the loaded library's version is at least
 * @major.@minor.@micro, 0 if not.
 */
int daxmirror_version_check(unsigned int major, unsigned int minor, unsigned int micro);

/* ---- Graceful revoke: the client's event loop ---------------------------
 * An administrator may ask for a session to be revoked gracefully
 * (Session.RequestRevoke, "daxmirrorctl revoke --grace"): the broker sends
 * the session's owner a RevokeRequested signal with a deadline and revokes
 * when the owner acknowledges, or at the deadline. The library sees the
 * signal on the bus connection: poll daxmirror_client_get_fd() for
 * daxmirror_client_get_events(), call daxmirror_client_process() when it
 * is ready (and before every poll: other calls of the library may have
 * read the signal off the socket and queued it), and when it returns 1,
 * finish what the device is writing and call
 * daxmirror_client_acknowledge_revoke(). The library makes no timed
 * calls of its own, so no poll timeout is needed. The kernel session fd
 * is no event source for this: its events are the broker's. Since 1.1
 * (symbol version LIBDAXMIRROR_1.1). */

/**
 * daxmirror_client_get_fd() - the fd to poll for the broker's messages
 * @c:		the client
 *
 * The fd of the client's bus connection; valid until the client is freed.
 * Do not read from or write to it.
 *
 * Return: the fd; -EINVAL (@c NULL).
 */
int daxmirror_client_get_fd(struct daxmirror_client *c);

/**
 * daxmirror_client_get_events() - the poll events to wait for
 * @c:		the client
 *
 * Return: a mask of POLLIN and POLLOUT for poll() on
 * daxmirror_client_get_fd() (POLLOUT while messages wait to be sent);
 * -EINVAL (@c NULL), or the bus's errno (e.g. -ENOTCONN).
 */
int daxmirror_client_get_events(struct daxmirror_client *c);

/**
 * daxmirror_client_process() - handle what the broker sent
 * @c:		the client
 *
 * Reads and dispatches every message waiting on the connection, without
 * blocking: a RevokeRequested signal for the client's session marks a
 * revoke pending (daxmirror_client_revoke_pending()).
 *
 * Return: 1 if a revoke of the session is pending, 0 if not; -EINVAL (@c
 * NULL), or the bus's errno (e.g. -ECONNRESET: the broker connection is
 * lost).
 */
int daxmirror_client_process(struct daxmirror_client *c);

/**
 * daxmirror_client_revoke_pending() - whether a revoke was requested
 * @c:		the client
 * @deadline_usec: out (may be NULL): when the broker forces the revoke,
 *		CLOCK_MONOTONIC microseconds; written only when 1 is returned
 *
 * Reports what daxmirror_client_process() has seen; makes no call.
 *
 * Return: 1 if a revoke of the session is pending (requested, not yet
 * acknowledged), 0 if not; -EINVAL (@c NULL).
 */
int daxmirror_client_revoke_pending(const struct daxmirror_client *c, uint64_t *deadline_usec);

/**
 * daxmirror_client_acknowledge_revoke() - persist, then let the revoke happen
 * @c:		the client
 *
 * Persists every writable mirror of @c whole (daxmirror_mirror_persist())
 * and acknowledges the request (Session.AcknowledgeRevoke). When this
 * returns 0 the session is revoked: device calls on its mirrors fail with
 * -ENODEV, and every device write and persisted CPU store made before this
 * call is in the files. The mirrors remain to be freed as usual (their CPU
 * mappings stay valid until then).
 *
 * Return: 0; -EINVAL (@c NULL), -ENOTCONN (no session), -ESRCH (no revoke
 * was requested: the session is left alone), -ENODEV (the broker already
 * ended the session, e.g. forced at the deadline), the errors of persisting
 * (nothing acknowledged), or the D-Bus errors of daxmirror_client_new().
 */
int daxmirror_client_acknowledge_revoke(struct daxmirror_client *c);

/* ---- Mirrors ---------------------------------------------------------- */

/**
 * daxmirror_mirror_file() - mirror a file range for the device
 * @c:		the client
 * @fd:		the file, opened O_RDONLY (or O_RDWR with
 *		LIBDAXMIRROR_MIRROR_WRITE); the library does not keep it (the
 *		caller may close it afterwards)
 * @offset:	first byte, a multiple of LIBDAXMIRROR_PAGE_SIZE
 * @length:	bytes, a multiple of LIBDAXMIRROR_PAGE_SIZE; 0 = to the end of
 *		the file (a partial last page is mirrored whole)
 * @flags:	LIBDAXMIRROR_MIRROR_WRITE, LIBDAXMIRROR_MIRROR_PREFAULT
 * @ret:	out: the mirror
 *
 * In order: opens the session on first use (Manager.OpenSession, with
 * {"Write": true} when @flags has WRITE); has the broker vet the file range
 * (Session.AttachFile; skipped when an earlier call of this client already
 * attached a range of the same file covering it with enough access); maps
 * it with libpmem2 at a 2 MiB aligned address (MAP_SYNC when the file is
 * DAX, a silent fallback to a plain shared mapping otherwise, see
 * daxmirror_mirror_granularity()); binds the session to this process (the
 * first time); adds the mirror (DAXMIRROR_IOC_MIRROR_ADD); with PREFAULT,
 * fills the device page table for the whole range. A failure undoes every
 * step of this call, including opening the session.
 *
 * The session's Write option is fixed when it is opened: a WRITE mirror
 * on a client whose session was opened without it fails with -EPERM.
 *
 * Return: 0; -EINVAL (NULL argument, fd < 0, unknown flags, unaligned
 * offset or length, overflow: no bus traffic), -EPERM (WRITE on a
 * read-only session), -ERANGE (offset past the end of the file), the
 * D-Bus errors of daxmirror_client_new(), the errors of mmap (e.g.
 * -EACCES: WRITE on a read-only fd), the kernel's errnos of BIND,
 * MIRROR_ADD and FAULT (e.g. -EEXIST overlap, -EDQUOT, -ENOSPC, -ENODEV).
 */
int daxmirror_mirror_file(struct daxmirror_client *c, int fd, uint64_t offset, uint64_t length,
			  unsigned int flags, struct daxmirror_mirror **ret);

/**
 * daxmirror_mirror_free() - remove a mirror and unmap it
 * @m:		the mirror, or NULL
 *
 * Removes the device mirror (DAXMIRROR_IOC_MIRROR_REMOVE; errors such as
 * a revoked session are ignored) and unmaps the CPU mapping. The file
 * range stays attached to the session until the client is freed.
 *
 * Return: NULL.
 */
struct daxmirror_mirror *daxmirror_mirror_free(struct daxmirror_mirror *m);

/**
 * daxmirror_mirror_addr() - the CPU address of the mirror
 * @m:		the mirror
 *
 * Return: the start of the mapping (2 MiB aligned), NULL if @m is NULL.
 */
void *daxmirror_mirror_addr(const struct daxmirror_mirror *m);

/**
 * daxmirror_mirror_length() - the length of the mirror
 * @m:		the mirror
 *
 * Return: bytes, a multiple of LIBDAXMIRROR_PAGE_SIZE; 0 if @m is NULL.
 */
uint64_t daxmirror_mirror_length(const struct daxmirror_mirror *m);

/**
 * daxmirror_mirror_granularity() - the effective store granularity
 * @m:		the mirror
 *
 * What libpmem2 obtained for the CPU mapping: "byte" (eADR platform, stores
 * are durable), "cache-line" (MAP_SYNC on DAX: flush, then durable) or
 * "page" (the fallback for page-cache files: msync).
 *
 * Return: a static string; NULL if @m is NULL.
 */
const char *daxmirror_mirror_granularity(const struct daxmirror_mirror *m);

/**
 * daxmirror_mirror_is_dax() - whether the file is on DAX
 * @m:		the mirror
 *
 * Return: true if the file was in DAX mode (statx STATX_ATTR_DAX) when
 * mirrored; false otherwise or if @m is NULL.
 */
bool daxmirror_mirror_is_dax(const struct daxmirror_mirror *m);

/* ---- Fast path: ioctls on the session fd --------------------------------
 * Offsets are relative to the mirror start; [off, off + len) must be
 * inside the mirror (-EINVAL otherwise, also for len 0). */

/**
 * daxmirror_mirror_prefetch() - fill the device page table for a range
 * @m:		the mirror
 * @off:	first byte; rounded down to a page
 * @len:	bytes; the end is rounded up to a page
 * @write:	fault for writing (the mirror must be writable)
 *
 * Return: 0; -EINVAL (range), -EPERM (@write on a read-only mirror), or the
 * kernel's errno of DAXMIRROR_IOC_FAULT.
 */
int daxmirror_mirror_prefetch(struct daxmirror_mirror *m, uint64_t off, uint64_t len, bool write);

/**
 * daxmirror_mirror_read() - read through the device
 * @m:		the mirror
 * @off:	first byte, any alignment
 * @buf:	out: @len bytes
 * @len:	bytes
 *
 * The device reads through its page table, faulting missing entries.
 *
 * Return: 0 (all @len bytes read); -EINVAL (range, @buf NULL), or the
 * kernel's errno of DAXMIRROR_IOC_READ.
 */
int daxmirror_mirror_read(struct daxmirror_mirror *m, uint64_t off, void *buf, size_t len);

/**
 * daxmirror_mirror_write() - write through the device
 * @m:		the mirror
 * @off:	first byte, any alignment
 * @buf:	@len bytes to write
 * @len:	bytes
 *
 * Writes to DAX pages are durable when the call returns.
 *
 * Return: 0 (all @len bytes written); -EINVAL (range, @buf NULL), -EPERM
 * (a read-only mirror), or the kernel's errno of DAXMIRROR_IOC_WRITE.
 */
int daxmirror_mirror_write(struct daxmirror_mirror *m, uint64_t off, const void *buf, size_t len);

/**
 * daxmirror_mirror_snapshot() - the device page table of a range
 * @m:		the mirror
 * @off:	first byte, a multiple of LIBDAXMIRROR_PAGE_SIZE
 * @len:	bytes, a multiple of LIBDAXMIRROR_PAGE_SIZE
 * @pages:	out: @len / LIBDAXMIRROR_PAGE_SIZE bytes of LIBDAXMIRROR_SNAP_*
 *		values, one per page; faults nothing
 *
 * Return: 0; -EINVAL (range, alignment, @pages NULL), or the kernel's errno
 * of DAXMIRROR_IOC_SNAPSHOT.
 */
int daxmirror_mirror_snapshot(struct daxmirror_mirror *m, uint64_t off, uint64_t len,
			      uint8_t *pages);

/**
 * daxmirror_mirror_counters() - counters of a mirror
 * @m:		the mirror
 * @out:	out: the session's counters, with entries_4k/2m/1g of this
 *		mirror only
 *
 * Return: 0; -EINVAL, -ENOENT (the kernel no longer lists the mirror), or
 * the kernel's errno of SESSION_INFO / MIRROR_LIST.
 */
int daxmirror_mirror_counters(struct daxmirror_mirror *m, struct daxmirror_counters *out);

/**
 * daxmirror_mirror_persist() - make CPU stores durable
 * @m:		the mirror
 * @off:	first byte, any alignment
 * @len:	bytes
 *
 * Calls the libpmem2 persist function of the mapping (cache flush and
 * fence for "cache-line", a fence for "byte", msync for "page") over
 * [@off, @off + @len) of the CPU mapping. Device writes need no persist.
 *
 * Return: 0; -EINVAL (range).
 */
int daxmirror_mirror_persist(struct daxmirror_mirror *m, uint64_t off, uint64_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBDAXMIRROR_H */
