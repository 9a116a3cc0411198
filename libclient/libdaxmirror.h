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
 *  - Errors of D-Bus calls are mapped to errnos (see daxmirror_client_new()).
 *    Errors of the fast path are the kernel's errnos, unchanged: ENODEV
 *    once the session was revoked or closed by the broker.
 *  - Every int-returning call, on failure, leaves a message for
 *    daxmirror_client_last_error() in the calling thread (argument errors
 *    too: "offset 4097 is not a multiple of 4096"; D-Bus errors as
 *    "<error name>: <message>"); on success it clears it. The accessors,
 *    the *_free() functions and daxmirror_version*() leave it alone.
 *
 * Errnos every call taking a client or a mirror may return, besides its own:
 *  -EINVAL   a NULL handle or pointer argument
 *  -ECHILD   called in a child after fork() (see "Fork" below)
 *  -ENODEV   on a mirror: daxmirror_client_free() already emptied it
 *
 * Thread safety:
 *  - The library has no global mutable state but each thread's last-error
 *    message: distinct clients are independent, in any threads.
 *  - Fast path, thread-safe on one client: daxmirror_mirror_read(),
 *    _write(), _prefetch(), _snapshot(), _counters(), _persist() and
 *    daxmirror_client_counters() may be called from any number of threads
 *    at once, on the same or different mirrors of one client, and while
 *    one other thread makes a slow-path call on that client, as long as
 *    the mirror used is not being freed (by daxmirror_mirror_free() or
 *    daxmirror_client_free()) at the same time (and, for
 *    daxmirror_client_counters(), not while the daxmirror_mirror_file()
 *    that opens the session runs). The device runs the accesses of one
 *    session concurrently.
 *  - Slow path, one thread at a time per client (the caller serialises
 *    them, e.g. a mutex or one control thread): daxmirror_client_new(),
 *    _free(), daxmirror_mirror_file(), daxmirror_mirror_free(), and the
 *    event-loop calls daxmirror_client_get_fd(), _get_events(),
 *    _process(), _revoke_pending(), _get_state(), _acknowledge_revoke().
 *    (sd-bus connections are not thread-safe, and these calls change the
 *    client's mirror list and session state.)
 *  - Always safe: daxmirror_client_last_error() (per thread),
 *    daxmirror_version(), daxmirror_version_check(), and the accessors
 *    taking a const pointer (daxmirror_mirror_addr(), _length(),
 *    _granularity(), _is_dax(), daxmirror_client_session_path()), which
 *    read fields fixed at creation, concurrently with anything but the
 *    free of that object (and, for session_path, a daxmirror_mirror_file()
 *    that opens the session).
 *  - The CPU mapping (daxmirror_mirror_addr()) is ordinary memory: any
 *    thread may load and store through it at any time, as with mmap().
 *
 * Fork: a session is bound to the address space of the process that made
 * the client. In a child after fork(), every call on a client or mirror
 * made before the fork fails with -ECHILD and does nothing, except: the
 * const accessors (they only read the handle), daxmirror_client_last_error(),
 * and the two *_free() functions, which release the child's copy of the
 * handle (memory, its copies of the fds, the child's copy of the mapping)
 * without any bus call or ioctl, so the parent's session and mirrors are
 * untouched. A child that needs the device makes its own client.
 *
 * Versions: the library's version is DAXMIRROR_VERSION_STRING of the
 * header it was built with and what pkg-config reports (pkg-config
 * --atleast-version=1.2 libdaxmirror); at run time daxmirror_version()
 * and daxmirror_version_check(). Symbols carry the version node of the
 * release that added them (LIBDAXMIRROR_1, _1.1, _1.2, _1.3): a program
 * built with a 1.2 symbol does not start against a 1.1 library.
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
#define DAXMIRROR_VERSION_MINOR		3
#define DAXMIRROR_VERSION_MICRO		0
#define DAXMIRROR_VERSION_STRING	"1.3.0"
/* True (1) when the version is at least major.minor.micro:
 * #if DAXMIRROR_VERSION_CHECK(1, 2, 0) for the state API below. */
#define DAXMIRROR_VERSION_CHECK(major, minor, micro)				\
	(DAXMIRROR_VERSION_MAJOR > (major) ||					\
	 (DAXMIRROR_VERSION_MAJOR == (major) && DAXMIRROR_VERSION_MINOR > (minor)) || \
	 (DAXMIRROR_VERSION_MAJOR == (major) && DAXMIRROR_VERSION_MINOR == (minor) && \
	  DAXMIRROR_VERSION_MICRO >= (micro)))

/**
 * enum daxmirror_client_state - the life of a client's session, as
 * daxmirror_client_get_state() reports it (since 1.2)
 * @DAXMIRROR_CLIENT_NO_SESSION: no session yet (before the first mirror,
 *	or after a daxmirror_mirror_file() that opened one failed)
 * @DAXMIRROR_CLIENT_ACTIVE: the session lives, nothing is pending
 * @DAXMIRROR_CLIENT_REVOKE_REQUESTED: an administrator asked for a graceful
 *	revoke (RevokeRequested; daxmirror_client_revoke_pending() gives the
 *	deadline): finish the device writes, then
 *	daxmirror_client_acknowledge_revoke() (logind's PauseDevice "pause")
 * @DAXMIRROR_CLIENT_ACKNOWLEDGED: ended: this client acknowledged a
 *	requested revoke and the broker revoked the session
 * @DAXMIRROR_CLIENT_FORCED: ended: revoked without an acknowledgement while
 *	a request was pending (the deadline ran out) (logind's "force")
 * @DAXMIRROR_CLIENT_REVOKED: ended: revoked without a request (root's
 *	Session.Revoke/Manager.RevokeSession, "daxmirrorctl revoke" without
 *	--grace, Session.Close by root, the broker revoking for any other
 *	reason)
 * @DAXMIRROR_CLIENT_BROKER_GONE: the broker left the bus, or the client's
 *	bus connection was lost (logind's "gone"). A pending request went
 *	with it. The kernel session may live on (a restarted broker takes it
 *	back, and the state returns to ACTIVE when org.daxmirror1 has an
 *	owner again; a lost connection is final: the broker revokes a session
 *	whose owner left the bus).
 *
 * In the three ended states the client is finished: device calls fail
 * with -ENODEV, a new daxmirror_mirror_file() fails with -ENODEV,
 * daxmirror_client_session_path() still names the dead object. Free the
 * mirrors and the client; make a new client to mirror again.
 */
enum daxmirror_client_state {
	DAXMIRROR_CLIENT_NO_SESSION = 0,
	DAXMIRROR_CLIENT_ACTIVE = 1,
	DAXMIRROR_CLIENT_REVOKE_REQUESTED = 2,
	DAXMIRROR_CLIENT_ACKNOWLEDGED = 3,
	DAXMIRROR_CLIENT_FORCED = 4,
	DAXMIRROR_CLIENT_REVOKED = 5,
	DAXMIRROR_CLIENT_BROKER_GONE = 6,
};

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
 * struct daxmirror_extents - the device entries of a range of a mirror, as
 * daxmirror_mirror_extents() found them (opaque; since 1.3)
 */
struct daxmirror_extents;

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
 * The first use may start the broker: daxmirrord is D-Bus activated, so
 * the first OpenSession of a boot waits for its start-up.
 * D-Bus errors of later calls map to errnos as follows:
 * org.daxmirror1.Error.AccessDenied -EACCES, .QuotaExceeded -EDQUOT,
 * .ModuleNotLoaded -ENXIO, .NoSuchSession -ENOENT, .InvalidOption -EINVAL,
 * .InvalidRange -ERANGE, .BadFile -EBADF, .NotDax -EOPNOTSUPP,
 * .BadBlocks -EIO, .Revoked -ENODEV, .Kernel -EPROTO, .NotRequested -ESRCH,
 * .UnsupportedFileSystem -EXDEV, .Timeout -ETIMEDOUT, .Busy -EBUSY,
 * .TooManyFiles -ENOSPC, .NotAttached -ENOENT, .TooManyFds -EMFILE;
 * any other error name as sd-bus maps it (e.g.
 * org.freedesktop.DBus.Error.ServiceUnknown -EHOSTUNREACH when no broker
 * runs), else -EIO. The first call adds this table to sd-bus's error maps
 * of the process (sd_bus_error_add_map()), so sd_bus_error_get_errno()
 * maps these names the same way in the application too.
 *
 * Return: 0; -EINVAL (@ret NULL), -ENOMEM, -EMFILE/-ENFILE (no fd for the
 * client's epoll fd), or what sd-bus returns when the bus cannot be reached
 * (e.g. -ENOENT, -ECONNREFUSED).
 */
int daxmirror_client_new(struct daxmirror_client **ret, const char *bus_address);

/**
 * daxmirror_client_free() - free a client
 * @c:		the client, or NULL
 *
 * Removes and unmaps every mirror of @c the application has not freed,
 * closes the session (Session.Close, errors ignored), closes the session fd
 * and disconnects: the session ends at once. Mirrors not freed before stay
 * valid *handles* without a mirror: daxmirror_mirror_free() on them is
 * safe (and needed to free their memory; the client's memory goes with the
 * last of them), every other call on them fails with -ENODEV, and
 * daxmirror_mirror_addr()/_length() return NULL/0. So freeing a client
 * before its mirrors is never a use after free. @c itself must not be used
 * afterwards. In a child after fork(): releases the child's copy only
 * (no Session.Close, no ioctl).
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
 * daxmirror_client_last_error() - why the calling thread's last call failed
 * @c:		ignored (may be NULL, e.g. after daxmirror_client_new() failed);
 *		the message is the calling thread's, whatever the client
 *
 * Every int-returning call of the library sets the calling thread's
 * message when it fails and clears it when it succeeds; the accessors, the
 * *_free() functions, daxmirror_version*() and this function leave it as
 * it is. So right after a failed call this says why, and never names an
 * older failure: "<D-Bus error name>: <message>" for an error of the
 * broker (e.g. "org.daxmirror1.Error.NotDax: ..."), "sd-bus: <text>" for
 * a bus failure without an error name, a sentence for an argument error
 * ("offset 4097 is not a multiple of 4096"), "<ioctl>: <errno name>
 * (<text>)" for the kernel's.
 *
 * Return: the message, valid in the calling thread until its next call of
 * the library; NULL when the thread's last call succeeded (or it made
 * none). Thread-safe.
 */
const char *daxmirror_client_last_error(const struct daxmirror_client *c);

/**
 * daxmirror_client_counters() - counters of the whole session
 * @c:		the client
 * @out:	out: the counters, summed over every mirror of the session
 *
 * Fast path: thread-safe, see above.
 *
 * Return: 0; -EINVAL (NULL argument), -ECHILD (after fork), -ENOTCONN (no
 * session yet), or the kernel's errno of DAXMIRROR_IOC_SESSION_INFO
 * (-ENODEV: revoked).
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

/* ---- The client's event loop: revoke requests and the end of a session --
 * An administrator may ask for a session to be revoked gracefully
 * (Session.RequestRevoke, "daxmirrorctl revoke --grace"): the broker sends
 * the session's owner a RevokeRequested signal with a deadline and revokes
 * when the owner acknowledges, or at the deadline ("forced"). Root may
 * also revoke at once ("daxmirrorctl revoke", Session.Revoke), and the
 * broker may leave the bus. daxmirror_client_get_fd() is readable for all
 * of these: it is an epoll fd over the client's bus connection (the
 * broker's signals) and the kernel session fd (which the module hangs up,
 * EPOLLHUP, when the session is revoked in any way). The loop: call
 * daxmirror_client_process() (before every poll as well: other calls of
 * the library may have read a signal off the socket and queued it), and
 * when it returns 1 look at daxmirror_client_get_state(); otherwise poll
 * daxmirror_client_get_fd() for daxmirror_client_get_events(). The library
 * makes no timed calls of its own, so no poll timeout is needed.
 * REVOKE_REQUESTED: finish what the device is writing and call
 * daxmirror_client_acknowledge_revoke(). FORCED, REVOKED: the session is
 * gone (nothing to acknowledge). BROKER_GONE: no request can come until a
 * broker is back. get_fd, get_events, process, revoke_pending and
 * acknowledge_revoke since 1.1 (LIBDAXMIRROR_1.1); the epoll fd, the
 * session fd's hang-up and get_state since 1.2 (LIBDAXMIRROR_1.2; in 1.1
 * only a request woke the fd). */

/**
 * daxmirror_client_get_fd() - the fd to poll for the end of the session
 * @c:		the client
 *
 * An epoll fd (O_CLOEXEC) owned by the client, valid until it is freed;
 * it becomes readable when the broker sent something (or the bus
 * connection needs attention) and when the kernel session was revoked.
 * Poll it (poll, epoll, an event library) for POLLIN; never read from,
 * write to, close or epoll_ctl() it. After daxmirror_client_process()
 * recorded the end of the session, the session fd no longer wakes it.
 *
 * Return: the fd; -EINVAL (@c NULL), -ECHILD (after fork).
 */
int daxmirror_client_get_fd(struct daxmirror_client *c);

/**
 * daxmirror_client_get_events() - the poll events to wait for
 * @c:		the client
 *
 * Call it before every poll: it arms the bus connection inside the fd for
 * what sd-bus waits for (input, and output while messages wait to be
 * sent).
 *
 * Return: POLLIN (the events for poll() on daxmirror_client_get_fd()
 * since 1.2; in 1.1 a mask of POLLIN and POLLOUT for the bus fd);
 * -EINVAL (@c NULL), -ECHILD (after fork), the bus's errno when the
 * connection is gone and there is no session (e.g. -ENOTCONN), or the
 * errno of epoll_ctl().
 */
int daxmirror_client_get_events(struct daxmirror_client *c);

/**
 * daxmirror_client_process() - handle what the broker and the kernel said
 * @c:		the client
 *
 * Reads and dispatches every message waiting on the connection, without
 * blocking, then looks at the session fd: a RevokeRequested signal for the
 * client's session makes the state REVOKE_REQUESTED; a hung-up session fd
 * FORCED (if a request was pending) or REVOKED; the broker's name losing
 * its owner, or the connection lost, BROKER_GONE (see enum
 * daxmirror_client_state).
 *
 * Return: 1 if the state is anything but NO_SESSION and ACTIVE (a revoke
 * requested, the session ended, the broker gone: see
 * daxmirror_client_get_state(); it stays 1 as long as the state does, so
 * a loop that goes on polling acts on changes of the state), 0 if not;
 * -EINVAL (@c NULL), -ECHILD
 * (after fork), or the bus's errno when the connection is lost while the
 * client has no session (e.g. -ECONNRESET).
 */
int daxmirror_client_process(struct daxmirror_client *c);

/**
 * daxmirror_client_revoke_pending() - whether a revoke was requested
 * @c:		the client
 * @deadline_usec: out (may be NULL): when the broker forces the revoke,
 *		CLOCK_MONOTONIC microseconds; written only when 1 is returned
 *
 * Reports what daxmirror_client_process() has seen, and checks the
 * session fd (no bus call): a request whose session was revoked since
 * (forced) is no longer pending.
 *
 * Return: 1 if a revoke of the session is pending (requested, not yet
 * acknowledged, the session still alive), 0 if not; -EINVAL (@c NULL),
 * -ECHILD (after fork).
 */
int daxmirror_client_revoke_pending(const struct daxmirror_client *c, uint64_t *deadline_usec);

/**
 * daxmirror_client_get_state() - what became of the client's session
 * @c:		the client
 *
 * Reports what daxmirror_client_process() has seen, after checking the
 * session fd (no bus call): an ended session is seen even before the
 * next process(). Since 1.2.
 *
 * Return: an enum daxmirror_client_state value (>= 0); -EINVAL (@c NULL),
 * -ECHILD (after fork).
 */
int daxmirror_client_get_state(struct daxmirror_client *c);

/**
 * daxmirror_client_acknowledge_revoke() - persist, then let the revoke happen
 * @c:		the client
 *
 * Persists every writable mirror of @c whole (daxmirror_mirror_persist())
 * and acknowledges the request (Session.AcknowledgeRevoke). When this
 * returns 0 the session is revoked (state ACKNOWLEDGED): device calls on
 * its mirrors fail with -ENODEV, and every device write and persisted CPU
 * store made before this call is in the files. The mirrors remain to be
 * freed as usual (their CPU mappings stay valid until then).
 *
 * Return: 0; -EINVAL (@c NULL), -ECHILD (after fork), -ENOTCONN (no
 * session), -ESRCH (no revoke was requested: the session is left alone),
 * -ENODEV (the session already ended: forced at the deadline, revoked,
 * acknowledged before; no bus call then), the errors of persisting
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
 * First-use costs: the first call of a client opens the session (and,
 * the first time after boot, D-Bus-activates daxmirrord); a writable
 * PREFAULT of a freshly allocated (fallocate'd, never written) DAX range
 * makes the filesystem zero every block it maps: seconds per GiB (11-17 s
 * for 1 GiB in the project's TCG guest), paid once per block.
 *
 * Return: 0, or a negative errno (those marked * before any bus call):
 * -EINVAL*: NULL argument, fd < 0, unknown flags, offset or length not a
 *	multiple of 4096, offset + length overflows;
 * -ECHILD*: after fork();
 * -ENODEV*: the client's session has ended (revoked): the client is
 *	finished, make a new one;
 * -EPERM*: WRITE on a client whose session was opened read-only;
 * -ERANGE*: @length 0 and @offset at or past the end of the file (an empty
 *	file too); an explicit range past the end is the broker's
 *	InvalidRange, -ERANGE as well;
 * -EBADF: @fd is not a regular file (*); or the broker's BadFile: an
 *	O_PATH fd, an fd not open for reading, or with WRITE not open O_RDWR
 *	(so WRITE on a read-only fd is -EBADF, never -EACCES: should a
 *	broker let such an fd through, the mapping's refusal is reported as
 *	-EBADF too);
 * the D-Bus errors of daxmirror_client_new() (OpenSession, AttachFile:
 *	e.g. -EACCES, -EDQUOT, -EOPNOTSUPP not DAX, -EIO bad blocks, -ENXIO,
 *	-EHOSTUNREACH no broker, -ETIMEDOUT, -EBUSY, -EXDEV, -EMFILE the
 *	broker holds too many fds; -ENOSPC: the session has as many file
 *	ranges attached as the broker's MaxFilesPerSession allows (the last
 *	error names the limit): a range is given back when the last mirror
 *	over it is freed);
 * the errors of mapping the range (libpmem2: -ENOMEM, ...);
 * the kernel's errnos of BIND, MIRROR_ADD and FAULT (-EDQUOT, -ENOSPC,
 *	-ENODEV, -EFAULT, ...). -EEXIST (overlap) cannot happen: every
 *	mirror is a new mapping at an address of its own.
 */
int daxmirror_mirror_file(struct daxmirror_client *c, int fd, uint64_t offset, uint64_t length,
			  unsigned int flags, struct daxmirror_mirror **ret);

/**
 * daxmirror_mirror_free() - remove a mirror and unmap it
 * @m:		the mirror, or NULL
 *
 * Removes the device mirror (DAXMIRROR_IOC_MIRROR_REMOVE; errors such as
 * a revoked session are ignored) and unmaps the CPU mapping. The file
 * range it was attached with is given back to the broker
 * (Session.DetachFile) when this was the last mirror of the client inside
 * it, so freed mirrors do not use up the session's MaxFilesPerSession
 * ranges; if the broker refuses, the range stays for a later mirror. Not
 * once the session ended or the broker is gone; never starts a broker;
 * waits at most 5 s for it. Also
 * frees a handle emptied by daxmirror_client_free() (its client's memory
 * goes with the last one). In a child after fork(): unmaps the child's
 * copy only, no ioctl. Slow path (see "Thread safety").
 *
 * Return: NULL.
 */
struct daxmirror_mirror *daxmirror_mirror_free(struct daxmirror_mirror *m);

/**
 * daxmirror_mirror_addr() - the CPU address of the mirror
 * @m:		the mirror
 *
 * Return: the start of the mapping (2 MiB aligned), NULL if @m is NULL or
 * its client was freed.
 */
void *daxmirror_mirror_addr(const struct daxmirror_mirror *m);

/**
 * daxmirror_mirror_length() - the length of the mirror
 * @m:		the mirror
 *
 * Return: bytes, a multiple of LIBDAXMIRROR_PAGE_SIZE; 0 if @m is NULL or
 * its client was freed.
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
 * inside the mirror (-EINVAL otherwise, also for len 0). Thread-safe: any
 * number of threads may call these at once on one client's mirrors (see
 * "Thread safety" at the top). Besides the errnos listed per call, each
 * returns -ECHILD after fork() and -ENODEV on a mirror whose client was
 * freed; the kernel's errnos include -ENODEV (the session was revoked),
 * -ESRCH (the bound process exited), -EINTR (a fatal signal). */

/**
 * daxmirror_mirror_prefetch() - fill the device page table for a range
 * @m:		the mirror
 * @off:	first byte; rounded down to a page
 * @len:	bytes; the end is rounded up to a page
 * @write:	fault for writing (the mirror must be writable)
 *
 * A write prefetch of DAX blocks that were allocated but never written
 * makes the filesystem zero them first (seconds per GiB, once).
 *
 * Return: 0; -EINVAL (range), -EPERM (@write on a read-only mirror), or the
 * kernel's errno of DAXMIRROR_IOC_FAULT (-ENODEV revoked, -EFAULT, -ENOMEM,
 * ...).
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
 * daxmirror_mirror_extents() - the device entries of a range, one per entry
 * @m:		the mirror
 * @off:	first byte, a multiple of LIBDAXMIRROR_PAGE_SIZE
 * @len:	bytes, a multiple of LIBDAXMIRROR_PAGE_SIZE
 * @ret:	out: the entries (free with daxmirror_extents_free())
 *
 * The extent form of daxmirror_mirror_snapshot() (since 1.3): one record
 * per device page-table entry covering a page of [@off, @off + @len), in
 * increasing offset order, read with DAXMIRROR_IOC_SNAPSHOT_EXTENTS (as
 * many calls as the range needs); pages without an entry have no record.
 * A 1 GiB PMD-mapped DAX mirror is 512 records, where the per-page form
 * writes 262 144 bytes. A huge entry that starts before @off is reported
 * with its true start (its offset is then below @off). Faults nothing.
 * Entries may change between the kernel's batches (every 256 records):
 * each record was true when read.
 *
 * Return: 0; -EINVAL (NULL argument, range, alignment), -ENOMEM, -EPROTO
 * (the kernel's answer broke its ABI: records out of order or outside the
 * range, a resumption address that does not follow), -ENOTTY (the loaded
 * module predates DAXMIRROR_IOC_SNAPSHOT_EXTENTS), or the kernel's errno of
 * that ioctl: -ENODEV (revoked), -ESRCH (the process's mm is gone),
 * -EINTR (a fatal signal), -EFAULT.
 */
int daxmirror_mirror_extents(struct daxmirror_mirror *m, uint64_t off, uint64_t len,
			     struct daxmirror_extents **ret);

/**
 * daxmirror_extents_count() - number of entries in @e (0 for NULL)
 * @e:		entries from daxmirror_mirror_extents()
 */
size_t daxmirror_extents_count(const struct daxmirror_extents *e);

/**
 * daxmirror_extents_get() - one entry
 * @e:		entries from daxmirror_mirror_extents()
 * @i:		index, below daxmirror_extents_count()
 * @off:	out (may be NULL): offset of the entry's first byte in the
 *		mirror
 * @order:	out (may be NULL): LIBDAXMIRROR_ORDER_* (4 KiB, 2 MiB, 1 GiB)
 * @flags:	out (may be NULL): LIBDAXMIRROR_SNAP_READ or _WRITE, and
 *		LIBDAXMIRROR_SNAP_ZONE_DEVICE, LIBDAXMIRROR_SNAP_DAX (no order
 *		bits)
 *
 * Return: 0; -EINVAL (@e NULL), -ERANGE (@i out of range). Leaves the
 * last-error message alone, as the accessors do.
 */
int daxmirror_extents_get(const struct daxmirror_extents *e, size_t i, uint64_t *off,
			  unsigned int *order, unsigned int *flags);

/**
 * daxmirror_extents_free() - free entries; accepts NULL
 * @e:		entries from daxmirror_mirror_extents()
 *
 * Return: NULL.
 */
struct daxmirror_extents *daxmirror_extents_free(struct daxmirror_extents *e);

/**
 * daxmirror_mirror_counters() - counters of a mirror
 * @m:		the mirror
 * @out:	out: the session's counters, with entries_4k/2m/1g of this
 *		mirror only
 *
 * Return: 0; -EINVAL (NULL argument), -ENOMEM, -ENOENT (the kernel no
 * longer lists the mirror), or the kernel's errno of SESSION_INFO /
 * MIRROR_LIST (-ENODEV revoked).
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
 * Return: 0; -EINVAL (range), or the error of libpmem2's persist (for
 * "page": msync's, e.g. -EIO).
 */
int daxmirror_mirror_persist(struct daxmirror_mirror *m, uint64_t off, uint64_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBDAXMIRROR_H */
