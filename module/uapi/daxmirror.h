/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * daxmirror.h - the kernel ABI of daxmirror.ko, the single source of it for
 * the module and every userspace program.
 *
 * Two kinds of file descriptor speak this ABI:
 *
 *  - the control node /dev/daxmirror (mode 0600, the broker's capability):
 *    creates sessions, grants file ranges to them, lists and inspects them,
 *    revokes them; read() returns session events (struct daxmirror_event);
 *  - a session fd (anon inode "[daxmirror-session]", O_CLOEXEC), returned by
 *    DAXMIRROR_CTL_CREATE_SESSION and handed to a client: bind an mm, add and
 *    remove mirrors, fault, snapshot, device read and write; read() returns
 *    the session's own events.
 *
 * ABI rules: every argument is a fixed-size struct of __u64/__u32 fields with
 * explicit padding; every struct carries a flags word and zeroed reserved
 * words so it can grow. Unknown flag bits and non-zero reserved or padding
 * fields are rejected with EINVAL. An ioctl of the wrong fd type returns
 * ENOTTY. DAXMIRROR_IOC_VERSION works on both fd types.
 *
 * Errors common to the session ioctls (besides the ones listed per ioctl):
 *  ENODEV    the session was revoked (every call but read() of queued events)
 *  ENOTCONN  the session is not bound to an mm yet
 *  EBUSY     the caller's mm is not the one bound to the session
 *  ESRCH     the bound mm has exited (its mirrors are released)
 *  EINTR     a fatal signal arrived while faulting
 */
#ifndef _UAPI_LINUX_DAXMIRROR_H
#define _UAPI_LINUX_DAXMIRROR_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DAXMIRROR_ABI_VERSION		1
#define DAXMIRROR_DEVICE_NAME		"daxmirror"
#define DAXMIRROR_IOC_MAGIC		0xDA

/* Device page-table entry orders, indices of the entries[] arrays. */
#define DAXMIRROR_ORDER_4K		0	/* map order 0 (PTE) */
#define DAXMIRROR_ORDER_2M		1	/* map order 9 (PMD) */
#define DAXMIRROR_ORDER_1G		2	/* map order 18 (PUD) */
#define DAXMIRROR_NR_ORDERS		3

/**
 * struct daxmirror_version - DAXMIRROR_IOC_VERSION (both fd types)
 * @abi:	out: DAXMIRROR_ABI_VERSION of the loaded module
 * @flags:	in: must be 0
 * @reserved:	in: must be 0
 */
struct daxmirror_version {
	__u32 abi;
	__u32 flags;
	__u64 reserved[2];
};

/* Session policy flags (struct daxmirror_session_create.flags). */
#define DAXMIRROR_SESSION_ALLOW_ANON	0x1U /* anonymous memory */
#define DAXMIRROR_SESSION_ALLOW_WRITE	0x2U /* writable mirrors */
#define DAXMIRROR_SESSION_ALLOW_PAGECACHE 0x4U /* non-DAX files */
/*
 * PER_PAGE: store one device entry per 4 KiB page even where the CPU maps
 * a huge page, as the kernel's lib/test_hmm.c does. For benchmarks that
 * compare it with the order-aware table; never needed otherwise.
 */
#define DAXMIRROR_SESSION_PER_PAGE	0x8U
#define DAXMIRROR_SESSION_FLAGS		(DAXMIRROR_SESSION_ALLOW_ANON | \
					 DAXMIRROR_SESSION_ALLOW_WRITE | \
					 DAXMIRROR_SESSION_ALLOW_PAGECACHE | \
					 DAXMIRROR_SESSION_PER_PAGE)

/* Limits enforced on session creation. */
#define DAXMIRROR_MAX_MIRRORS_LIMIT	4096
#define DAXMIRROR_MAX_GRANTS		64

/**
 * struct daxmirror_session_create - DAXMIRROR_CTL_CREATE_SESSION (control)
 * @flags:	in: DAXMIRROR_SESSION_* policy flags
 * @max_mirrors: in: most mirrors live at once; 0 = module default
 *		(module parameter default_max_mirrors); at most
 *		DAXMIRROR_MAX_MIRRORS_LIMIT
 * @max_pages:	in: most 4 KiB pages covered by live mirrors; 0 = module
 *		default (module parameter default_max_pages)
 * @session_id:	out: the session's id (never reused while the module is loaded)
 * @fd:		out: the new session fd (O_CLOEXEC)
 * @pad:	must be 0
 * @reserved:	must be 0
 *
 * Errors: EINVAL (flags, reserved, max_mirrors over the limit), EMFILE,
 * ENOMEM, EFAULT. A call that fails writes nothing into the struct: no fd
 * number appears beside an error.
 */
struct daxmirror_session_create {
	__u32 flags;
	__u32 max_mirrors;
	__u64 max_pages;
	__u64 session_id;
	__s32 fd;
	__u32 pad;
	__u64 reserved[4];
};

#define DAXMIRROR_GRANT_WRITE		0x1U

/**
 * struct daxmirror_grant - DAXMIRROR_CTL_GRANT_FILE (control)
 * @session_id:	in: the session
 * @fd:		in: an fd of a regular file, opened for reading (and writing
 *		with DAXMIRROR_GRANT_WRITE); the module keeps a reference to
 *		the open file until revoke or session end
 * @flags:	in: DAXMIRROR_GRANT_WRITE lets writable mirrors cover the range
 * @offset:	in: first byte of the file range, page aligned
 * @length:	in: length of the range, page aligned, > 0
 * @reserved:	must be 0
 *
 * Mirrors of file-backed memory are only allowed over granted ranges of the
 * same inode. Errors: EINVAL (alignment, zero length, overflow, flags,
 * reserved, not a regular file), EBADF (bad fd, O_PATH fd, or not opened
 * with the access asked for), ENOENT (no such session), ENODEV (revoked),
 * EPERM (a non-DAX file and the session lacks ALLOW_PAGECACHE; a write
 * grant and the session lacks ALLOW_WRITE), ENOSPC (DAXMIRROR_MAX_GRANTS
 * grants held; DAXMIRROR_CTL_UNGRANT gives one back).
 */
struct daxmirror_grant {
	__u64 session_id;
	__s32 fd;
	__u32 flags;
	__u64 offset;
	__u64 length;
	__u64 reserved[4];
};

/**
 * struct daxmirror_ungrant - DAXMIRROR_CTL_UNGRANT (control)
 * @session_id:	in: the session
 * @flags:	in: the grant's DAXMIRROR_GRANT_* flags
 * @pad:	must be 0
 * @dev:	in: the file's device, as stat(2) gives it (st_dev)
 * @ino:	in: the file's inode number (st_ino)
 * @offset:	in: the grant's first byte
 * @length:	in: the grant's length
 * @reserved:	must be 0
 *
 * Removes the session's grant of that file with exactly this range and
 * these flags, and the module's reference to the open file, unless a live
 * mirror of the session maps part of that range of that file (released
 * mirrors do not count). A mirror holds one file's range, the one
 * MIRROR_LIST reports (dev, ino, file_offset), or anonymous memory: no
 * device entry of any other file can exist (MIRROR_ADD and FAULT refuse
 * it, EXDEV), so once this succeeds the device holds nothing of the range.
 * Two granted files can share (st_dev, st_ino) (a FUSE server chooses its
 * inode numbers): then the older of their grants is the one named, and
 * the mirrors checked are those of that grant's own file (its inode, not
 * its numbers). A grant is a permission the broker gave the session's own client, so
 * this is not a way to revoke: DAXMIRROR_CTL_REVOKE is. Never waits for
 * the session's client. A mirror added over the range while this runs
 * finds no grant at its next fault (EACCES).
 * Errors: ENOENT (no such session, or no such grant), EBUSY (a live mirror
 * maps part of it; the grant stays), ENODEV (revoked), ENOMEM, EINVAL
 * (flags, pad, reserved, a range no grant can have).
 */
struct daxmirror_ungrant {
	__u64 session_id;
	__u32 flags;
	__u32 pad;
	__u64 dev;
	__u64 ino;
	__u64 offset;
	__u64 length;
	__u64 reserved[2];
};

/**
 * struct daxmirror_session_list - DAXMIRROR_CTL_LIST_SESSIONS (control)
 * @ids:	in: user pointer to an array of __u64 session ids
 * @capacity:	in: number of elements of @ids (0 to only count)
 * @count:	out: number of sessions alive; min(count, capacity) ids are
 *		written, in increasing order
 * @flags:	in: must be 0
 * @pad:	must be 0
 * @reserved:	must be 0
 */
struct daxmirror_session_list {
	__u64 ids;
	__u32 capacity;
	__u32 count;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/* Session states. */
#define DAXMIRROR_STATE_NEW		0 /* created, not bound */
#define DAXMIRROR_STATE_BOUND		1 /* bound to an mm */
#define DAXMIRROR_STATE_MM_GONE		2 /* the bound mm exited */
#define DAXMIRROR_STATE_REVOKED		3 /* revoked by the broker */

/**
 * struct daxmirror_stats - counters of a session (or of one mirror)
 * @device_faults:	device accesses that found no usable entry and faulted
 * @fault_calls:	DAXMIRROR_IOC_FAULT calls
 * @range_faults:	hmm_range_fault() calls
 * @range_retries:	retries: hmm_range_fault() -EBUSY or a sequence
 *			change seen under the device page-table lock
 * @invalidations:	invalidation callbacks that hit the session's mirrors
 * @pages_invalidated:	4 KiB pages whose device entries were dropped
 * @entries:		live device page-table entries by DAXMIRROR_ORDER_*
 * @bytes_read:		bytes read by the device (DAXMIRROR_IOC_READ)
 * @bytes_written:	bytes written by the device (DAXMIRROR_IOC_WRITE)
 * @walk_ns:		time spent in the CPU page-table walk of faults (mmap
 *			lock, policy check, hmm_range_fault())
 * @lock_ns:		time spent waiting for the device page-table lock to
 *			store fault results
 * @update_ns:		time spent storing entries under that lock
 * @populate_ns:	time spent populating the device table, all of it: the
 *			three above, every retry, the pfn array's allocation
 *			and the loop around them (not the ioctl's entry, the
 *			session lock nor a covered range's answer)
 * @dma_mappings:	IOVA mappings the session's DMA device holds now
 *			(DAXMIRROR_BACKEND_DMA: one per device entry, a 2 MiB
 *			entry is one; 0 for the CPU backend)
 */
struct daxmirror_stats {
	__u64 device_faults;
	__u64 fault_calls;
	__u64 range_faults;
	__u64 range_retries;
	__u64 invalidations;
	__u64 pages_invalidated;
	__u64 entries[DAXMIRROR_NR_ORDERS];
	__u64 bytes_read;
	__u64 bytes_written;
	__u64 walk_ns;
	__u64 lock_ns;
	__u64 update_ns;
	__u64 populate_ns;
	__u64 dma_mappings;
};

/**
 * struct daxmirror_session_info - DAXMIRROR_IOC_SESSION_INFO (both fd types)
 * @session_id:	in (control fd): the session; in (session fd): 0 or its own
 *		id; out: the id
 * @flags:	in: 0, or DAXMIRROR_INFO_ACK_CHANGE (control fd only): re-arm
 *		the session's DAXMIRROR_EVENT_SESSION_CHANGED (see there);
 *		out: 0
 * @state:	out: DAXMIRROR_STATE_*
 * @pid:	out: tgid of the binding process (0 if unbound, or once it
 *		exited: state MM_GONE), in the caller's pid namespace
 * @uid:	out: uid of the binding process, in the caller's user ns
 * @max_mirrors: out: limit
 * @nr_mirrors:	out: live mirrors
 * @max_pages:	out: limit
 * @mirrored_pages: out: 4 KiB pages covered by live mirrors
 * @nr_grants:	out: granted file ranges
 * @session_flags: out: the session's DAXMIRROR_SESSION_* policy flags
 * @stats:	out: counters summed over the session
 * @backend:	out: DAXMIRROR_BACKEND_* the session's device accesses use
 *		(chosen at its creation by the module parameter "backend");
 *		in: ignored
 * @pad:	in: ignored; out: 0
 * @dma_transfers: out: DMA transfers the device made for the session's
 *		READ and WRITE (DAXMIRROR_BACKEND_DMA; each moves at most
 *		2048 bytes, inside one page, between memory and the device)
 * @dma_waits:	out: invalidations that found a DMA transfer in flight on
 *		their range and waited for it to end before unmapping
 * @reserved:	in: must be 0
 *
 * Errors: ENOENT (no such session), EINVAL (an unknown flag, or
 * DAXMIRROR_INFO_ACK_CHANGE on a session fd). A module that knows
 * DAXMIRROR_INFO_ACK_CHANGE (and so posts DAXMIRROR_EVENT_SESSION_CHANGED)
 * answers it for session 0 with ENOENT; an older one with EINVAL.
 */
#define DAXMIRROR_INFO_ACK_CHANGE	0x1U

/*
 * Session backends: how the device reaches mirrored memory.
 * CPU: the CPU copies, under the device page-table lock (the default).
 * DMA: a PCI device's DMA engine (qemu's edu) through the IOMMU; each
 * device entry is one IOVA mapping, made on device fault and unmapped by
 * the invalidation once no DMA through it is in flight. Pages are never
 * pinned with either.
 */
#define DAXMIRROR_BACKEND_CPU		0
#define DAXMIRROR_BACKEND_DMA		1

struct daxmirror_session_info {
	__u64 session_id;
	__u32 flags;
	__u32 state;
	__s32 pid;
	__u32 uid;
	__u32 max_mirrors;
	__u32 nr_mirrors;
	__u64 max_pages;
	__u64 mirrored_pages;
	__u32 nr_grants;
	__u32 session_flags;
	struct daxmirror_stats stats;
	__u32 backend;
	__u32 pad;
	__u64 dma_transfers;
	__u64 dma_waits;
	__u64 reserved[1];
};

/* Mirror flags. */
#define DAXMIRROR_MIRROR_WRITE		0x1U

/* Mirror states. */
#define DAXMIRROR_MIRROR_LIVE		0
#define DAXMIRROR_MIRROR_RELEASED	1 /* its VMAs or its mm went away */
/*
 * A released mirror has no device entries and no longer counts against
 * the limits (nor in nr_mirrors/mirrored_pages); it stays in MIRROR_LIST
 * until MIRROR_REMOVE or the next MIRROR_ADD of the session, which frees
 * every released mirror first.
 */

/* What backs a mirror (at the time it was added, first VMA). */
#define DAXMIRROR_BACKING_ANON		0x1U
#define DAXMIRROR_BACKING_FILE		0x2U
#define DAXMIRROR_BACKING_DAX		0x4U

/**
 * struct daxmirror_mirror_info - one element of a mirror list
 * @id:		the mirror's id within its session (from 1; never reused)
 * @start:	first address
 * @length:	length in bytes
 * @flags:	DAXMIRROR_MIRROR_*
 * @state:	DAXMIRROR_MIRROR_LIVE or _RELEASED
 * @backing:	DAXMIRROR_BACKING_* of the VMA at @start when added
 * @pad:	0
 * @dev:	backing file's device (new_encode_dev()), 0 for anonymous
 * @ino:	backing file's inode number, 0 for anonymous
 * @file_offset: file offset of @start in bytes
 * @entries:	live device page-table entries by DAXMIRROR_ORDER_*
 * @reserved:	0
 */
struct daxmirror_mirror_info {
	__u64 id;
	__u64 start;
	__u64 length;
	__u32 flags;
	__u32 state;
	__u32 backing;
	__u32 pad;
	__u64 dev;
	__u64 ino;
	__u64 file_offset;
	__u64 entries[DAXMIRROR_NR_ORDERS];
	__u64 reserved[2];
};

/**
 * struct daxmirror_mirror_list - DAXMIRROR_IOC_MIRROR_LIST (both fd types)
 * @session_id:	as in struct daxmirror_session_info
 * @mirrors:	in: user pointer to an array of struct daxmirror_mirror_info
 * @capacity:	in: elements of @mirrors (0 to only count)
 * @count:	out: mirrors in the session (live and released); the first
 *		min(count, capacity) are written, in increasing id order
 * @flags:	in: must be 0
 * @pad:	0
 * @reserved:	0
 */
struct daxmirror_mirror_list {
	__u64 session_id;
	__u64 mirrors;
	__u32 capacity;
	__u32 count;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct daxmirror_revoke - DAXMIRROR_CTL_REVOKE (control)
 * @session_id:	in: the session
 * @flags:	in: must be 0
 * @pad:	0
 * @reserved:	0
 *
 * Empties the session's device page table at once and drops every mirror
 * and grant; every later call on its session fd fails with ENODEV (read()
 * still returns the queued events, the last of them
 * DAXMIRROR_EVENT_REVOKED, then ENODEV); poll() on it reports EPOLLHUP.
 * Never waits for the session's client: device accesses in flight touch
 * no device entry after REVOKE returns and fail with ENODEV at their next
 * step. A DAXMIRROR_EVENT_REVOKED is queued on the session fd and on the
 * control node. Errors: ENOENT (no such session), EALREADY (already
 * revoked), EINVAL.
 */
struct daxmirror_revoke {
	__u64 session_id;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct daxmirror_mirror_add - DAXMIRROR_IOC_MIRROR_ADD (session)
 * @addr:	in: first address, page aligned
 * @length:	in: bytes, page aligned, > 0, addr + length must not overflow
 *		nor pass the top of the user address space
 * @flags:	in: DAXMIRROR_MIRROR_WRITE for a writable mirror
 * @pad:	0
 * @id:		out: the mirror's id
 * @reserved:	0
 *
 * Every byte of the range must be mapped, and every VMA must be allowed by
 * the session's policy: anonymous memory (private or shared) needs
 * ALLOW_ANON; file memory needs a grant of that inode covering the file
 * range (a write grant for a writable mirror) and, unless the session has
 * ALLOW_PAGECACHE, a DAX mapping. A mirror is of one kind of memory, set
 * by the VMA at @addr: anonymous memory, or one file at offsets that
 * follow the addresses (several VMAs of it are fine: a split by mprotect
 * or madvise). The policy and the kind are checked again on every device
 * fault, so a range re-mapped later cannot leak other memory.
 *
 * Errors: EINVAL (alignment, zero length, overflow, flags, reserved),
 * EFAULT (a hole in the range), EOPNOTSUPP (a VM_IO or VM_PFNMAP mapping),
 * EPERM (anonymous memory without ALLOW_ANON, a non-DAX file without
 * ALLOW_PAGECACHE, a writable mirror without ALLOW_WRITE or over a mapping
 * without PROT_WRITE), EACCES (file range not granted, or granted
 * read-only for a writable mirror), EXDEV (the range holds another file
 * than the one at @addr, that file at offsets that do not follow the
 * addresses, or both anonymous and file memory), EEXIST (overlaps a live
 * mirror), ENOSPC (max_mirrors reached), EDQUOT (max_pages would be
 * exceeded).
 */
struct daxmirror_mirror_add {
	__u64 addr;
	__u64 length;
	__u32 flags;
	__u32 pad;
	__u64 id;
	__u64 reserved[2];
};

/**
 * struct daxmirror_mirror_remove - DAXMIRROR_IOC_MIRROR_REMOVE (session)
 * @id:		in: a mirror id (live or released)
 * @flags:	in: must be 0
 * @pad:	0
 * @reserved:	0
 *
 * Errors: ENOENT (no such mirror), EINVAL.
 */
struct daxmirror_mirror_remove {
	__u64 id;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

#define DAXMIRROR_FAULT_WRITE		0x1U

/**
 * struct daxmirror_fault - DAXMIRROR_IOC_FAULT (session): prefetch
 * @addr:	in: page aligned
 * @length:	in: page aligned, > 0, inside one live mirror
 * @flags:	in: DAXMIRROR_FAULT_WRITE to fault for writing (the mirror
 *		must be writable)
 * @pad:	0
 * @reserved:	0
 *
 * Fills the device page table for the range, faulting CPU pages in as
 * needed. Huge CPU mappings (PMD, PUD) whose aligned block lies inside the
 * mirror become one device entry of that order.
 *
 * Errors: EINVAL, ENOENT (not inside one live mirror), EPERM (write on a
 * read-only mirror or mapping), EFAULT (unmapped), EACCES/EPERM/EOPNOTSUPP
 * (the policy, as for MIRROR_ADD, rejects what is mapped there now), EXDEV
 * (what is mapped there now is not the memory the mirror was added over:
 * another file, other offsets of its file, anonymous instead of file), and
 * what hmm_range_fault() returns (ENOMEM, EFAULT, ...).
 */
struct daxmirror_fault {
	__u64 addr;
	__u64 length;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/* Per-page bytes of a snapshot. */
#define DAXMIRROR_SNAP_STATE_MASK	0x03
#define DAXMIRROR_SNAP_NONE		0x00 /* no device entry */
#define DAXMIRROR_SNAP_READ		0x01 /* readable entry */
#define DAXMIRROR_SNAP_WRITE		0x02 /* writable entry */
#define DAXMIRROR_SNAP_ORDER_SHIFT	2    /* bits 2-3: DAXMIRROR_ORDER_* */
#define DAXMIRROR_SNAP_ORDER_MASK	0x0c
#define DAXMIRROR_SNAP_ZONE_DEVICE	0x10 /* a ZONE_DEVICE page */
#define DAXMIRROR_SNAP_DAX		0x20 /* a DAX (fsdax/devdax) page */

/**
 * struct daxmirror_snapshot - DAXMIRROR_IOC_SNAPSHOT (session)
 * @addr:	in: page aligned
 * @length:	in: page aligned, > 0, no overflow
 * @pages:	in: user pointer to length / 4096 bytes, one per page,
 *		written with DAXMIRROR_SNAP_* values
 * @flags:	in: must be 0
 * @pad:	0
 * @reserved:	0
 *
 * Reports the device page table only; faults nothing. Pages outside every
 * mirror read DAXMIRROR_SNAP_NONE.
 */
struct daxmirror_snapshot {
	__u64 addr;
	__u64 length;
	__u64 pages;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct daxmirror_extent - one record of DAXMIRROR_IOC_SNAPSHOT_EXTENTS
 * @start:	user address of the entry's first byte: its true start, also
 *		when that lies before the @addr asked for (a huge entry
 *		covering @addr is reported whole, never clipped)
 * @order:	DAXMIRROR_ORDER_* of the entry; it covers 4 KiB, 2 MiB or
 *		1 GiB from @start (naturally aligned)
 * @flags:	DAXMIRROR_SNAP_READ or DAXMIRROR_SNAP_WRITE, and
 *		DAXMIRROR_SNAP_ZONE_DEVICE and DAXMIRROR_SNAP_DAX as in the
 *		per-page bytes of DAXMIRROR_IOC_SNAPSHOT; the order bits
 *		(DAXMIRROR_SNAP_ORDER_MASK) are 0: the order is in @order
 */
struct daxmirror_extent {
	__u64 start;
	__u32 order;
	__u32 flags;
};

/* Most records one DAXMIRROR_IOC_SNAPSHOT_EXTENTS call may ask for. */
#define DAXMIRROR_EXTENTS_MAX		65536

/**
 * struct daxmirror_snapshot_extents - DAXMIRROR_IOC_SNAPSHOT_EXTENTS (session)
 * @addr:	in: page aligned
 * @length:	in: page aligned, > 0, addr + length must not overflow nor
 *		pass the top of the user address space
 * @extents:	in: user pointer to @capacity struct daxmirror_extent
 * @capacity:	in: records @extents holds, 1 to DAXMIRROR_EXTENTS_MAX
 * @count:	out: records written, in increasing @start order
 * @next:	out: addr + length when every entry of the range was
 *		reported; else (@count == @capacity and entries remain) the
 *		end of the last record written: call again with @addr = @next
 *		(and @length shortened to keep the same end) for the rest.
 *		Entries never overlap, so no entry is reported twice.
 * @flags:	in: must be 0
 * @pad:	in: must be 0
 * @reserved:	in: must be 0
 *
 * The extent form of DAXMIRROR_IOC_SNAPSHOT: one record per device
 * page-table entry that covers any page of [addr, addr + length), instead
 * of one byte per page; pages without an entry produce no record. A fully
 * PMD-mapped 1 GiB mirror is 512 records. Reports the device page table
 * only; faults nothing. The records of one call are a consistent view of
 * each batch, not of the whole call: entries may come and go between
 * batches (as between two calls). Takes no sleeping lock.
 *
 * Errors: EINVAL (flags, pad, reserved, alignment, zero length, overflow,
 * past the top of the address space, @capacity 0 or over
 * DAXMIRROR_EXTENTS_MAX), EFAULT (the struct or @extents not writable),
 * ENOMEM, EINTR (a fatal signal), and the common session errors (ENODEV
 * also when a revoke comes during the call, ESRCH when the bound mm exits
 * during it). On error @count and @next are not written; records may
 * have been.
 */
struct daxmirror_snapshot_extents {
	__u64 addr;
	__u64 length;
	__u64 extents;
	__u32 capacity;
	__u32 count;
	__u64 next;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct daxmirror_rw - DAXMIRROR_IOC_READ / DAXMIRROR_IOC_WRITE (session)
 * @addr:	in: device address (= the mirrored CPU address), any alignment
 * @length:	in: bytes, > 0, no overflow, [addr, addr + length) inside live
 *		mirrors
 * @buf:	in: user buffer to fill (READ) or to take bytes from (WRITE)
 * @flags:	in: must be 0
 * @pad:	0
 * @done:	out: bytes transferred (all of them on success)
 * @reserved:	0
 *
 * The copy goes through the device page table: a page without a usable
 * entry is faulted on the device side (the 2 MiB aligned block around it,
 * clipped to the mirror), the way a GPU would. Writes to DAX pages are
 * flushed from the CPU caches (durable when the call returns).
 *
 * Every page the device writes ends up dirty (reclaim keeps it). Any
 * number of READ/WRITE/FAULT/SNAPSHOT calls of one session may run at
 * once, from any thread of the bound process.
 *
 * Errors: EINVAL, ENOENT (a byte outside every live mirror, or the mirror
 * was released during the call), EPERM (write to a read-only mirror or
 * mapping), EFAULT (bad @buf, or unmapped), EIO (a media error reading a
 * DAX page), ENODEV (revoked, also during the call), ESRCH (the bound
 * process exited), EINTR (a fatal signal), and the policy errors of
 * DAXMIRROR_IOC_FAULT. @done says how much was copied before the error.
 */
struct daxmirror_rw {
	__u64 addr;
	__u64 length;
	__u64 buf;
	__u32 flags;
	__u32 pad;
	__u64 done;
	__u64 reserved[2];
};

/* Events, read() from either fd type, one or more whole records. */
#define DAXMIRROR_EVENT_REVOKED		1 /* the session was revoked */
#define DAXMIRROR_EVENT_MM_RELEASED	2 /* the bound mm exited */
/*
 * Session fd only: a mirror's VMAs were unmapped (at once or in pieces).
 * Not at exit: MM_RELEASED then says it of every mirror (each is RELEASED
 * in MIRROR_LIST), so an exit costs one event, however many mirrors.
 */
#define DAXMIRROR_EVENT_MIRROR_RELEASED	3
#define DAXMIRROR_EVENT_SESSION_CLOSED	4 /* control only: last fd closed */
#define DAXMIRROR_EVENT_OVERFLOW	5 /* events were lost (queue full) */
/*
 * A reader (a session fd; each open control fd) has up to
 * DAXMIRROR_EVENT_QUEUE_LEN unread events kept for it. One more drops its
 * oldest unread; its next read() then starts with one OVERFLOW record,
 * whose @seq is that of the newest event lost, then the kept ones.
 */
#define DAXMIRROR_EVENT_QUEUE_LEN	64
/*
 * Control only: the session's shape changed (bound, a mirror added,
 * removed or released). Posted once, then not again for that session
 * until a SESSION_INFO on the control fd with DAXMIRROR_INFO_ACK_CHANGE
 * re-arms it: a reader that acks before it reads misses no change, and a
 * client changing its mirrors in a loop queues at most one event per ack.
 * Counters (faults, bytes) never post it: read them when needed.
 */
#define DAXMIRROR_EVENT_SESSION_CHANGED	6

/**
 * struct daxmirror_event - one event
 * @type:	DAXMIRROR_EVENT_*
 * @flags:	0
 * @session_id:	the session
 * @mirror_id:	the mirror (MIRROR_RELEASED), else 0
 * @seq:	increasing sequence number of the queue it came from
 *
 * read() with a buffer smaller than one record returns EINVAL; with no
 * event queued it blocks, or returns EAGAIN under O_NONBLOCK. poll()
 * reports EPOLLIN while events are queued, and on a session fd EPOLLHUP
 * once revoked or once the bound mm exited.
 */
struct daxmirror_event {
	__u32 type;
	__u32 flags;
	__u64 session_id;
	__u64 mirror_id;
	__u64 seq;
};

#define DAXMIRROR_IOC_VERSION \
	_IOWR(DAXMIRROR_IOC_MAGIC, 0x00, struct daxmirror_version)

/* Control node. */
#define DAXMIRROR_CTL_CREATE_SESSION \
	_IOWR(DAXMIRROR_IOC_MAGIC, 0x01, struct daxmirror_session_create)
#define DAXMIRROR_CTL_GRANT_FILE \
	_IOW(DAXMIRROR_IOC_MAGIC, 0x02, struct daxmirror_grant)
#define DAXMIRROR_CTL_LIST_SESSIONS \
	_IOWR(DAXMIRROR_IOC_MAGIC, 0x03, struct daxmirror_session_list)
#define DAXMIRROR_CTL_REVOKE \
	_IOW(DAXMIRROR_IOC_MAGIC, 0x04, struct daxmirror_revoke)
#define DAXMIRROR_CTL_UNGRANT \
	_IOW(DAXMIRROR_IOC_MAGIC, 0x05, struct daxmirror_ungrant)

/* Both fd types. */
#define DAXMIRROR_IOC_SESSION_INFO \
	_IOWR(DAXMIRROR_IOC_MAGIC, 0x08, struct daxmirror_session_info)
#define DAXMIRROR_IOC_MIRROR_LIST \
	_IOWR(DAXMIRROR_IOC_MAGIC, 0x09, struct daxmirror_mirror_list)

/* Session fd. BIND takes no argument: arg must be 0 (EINVAL otherwise);
 * errors EALREADY (bound to this mm), EBUSY (bound to another mm).
 */
#define DAXMIRROR_IOC_BIND		_IO(DAXMIRROR_IOC_MAGIC, 0x10)
#define DAXMIRROR_IOC_MIRROR_ADD \
	_IOWR(DAXMIRROR_IOC_MAGIC, 0x11, struct daxmirror_mirror_add)
#define DAXMIRROR_IOC_MIRROR_REMOVE \
	_IOW(DAXMIRROR_IOC_MAGIC, 0x12, struct daxmirror_mirror_remove)
#define DAXMIRROR_IOC_FAULT \
	_IOW(DAXMIRROR_IOC_MAGIC, 0x13, struct daxmirror_fault)
#define DAXMIRROR_IOC_SNAPSHOT \
	_IOW(DAXMIRROR_IOC_MAGIC, 0x14, struct daxmirror_snapshot)
#define DAXMIRROR_IOC_READ \
	_IOWR(DAXMIRROR_IOC_MAGIC, 0x15, struct daxmirror_rw)
#define DAXMIRROR_IOC_WRITE \
	_IOWR(DAXMIRROR_IOC_MAGIC, 0x16, struct daxmirror_rw)
#define DAXMIRROR_IOC_SNAPSHOT_EXTENTS \
	_IOWR(DAXMIRROR_IOC_MAGIC, 0x17, struct daxmirror_snapshot_extents)

#endif /* _UAPI_LINUX_DAXMIRROR_H */
