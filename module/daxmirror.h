/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daxmirror.h - internal types of daxmirror.ko shared by its files.
 *
 * The files form layers; each calls only into the layers below it:
 *
 *   main.c      module init and exit, the misc device
 *   control.c   the control node /dev/daxmirror: the broker's ioctls
 *   session.c   sessions: life cycle, the session table, grants, revoke,
 *               the session fd and its ioctl dispatch
 *   access.c    device READ, WRITE and SNAPSHOT through the device table
 *   dma.c       the DMA backend: the edu PCI driver, an IOVA per entry,
 *               transfers; its remove() ends the device's sessions
 *               (session.c's dxm_session_kill(), the one call upwards)
 *   mirror.c    mirrors: policy, notifiers, the hmm_range_fault loop
 *   devpt.c, events.c, util.c
 *               the device page table; event queues (and the control
 *               node's queue); ioctl argument helpers. They call nothing
 *               of the module.
 *
 * Lock order (outer to inner):
 *
 *   dxm_sessions_lock (mutex, session.c): the session table only
 *   dxm_edu.lock (mutex, dma.c, DMA backend): the device's DMA engine;
 *   taken by a READ or WRITE step (under dxm_session.lock for reading)
 *   and held across its transfers
 *     -> device page-table lock (for reading, while a transfer is
 *        started and when it ended; dropped while it runs)
 *   dxm_edu.sessions_lock (spinlock, dma.c): its sessions, taken alone
 *   dxm_session.lock (rw_semaphore): read by device accesses (FAULT, READ,
 *   WRITE, SNAPSHOT), any number at once; written by what changes the
 *   session's shape (BIND, MIRROR_ADD, MIRROR_REMOVE, the strip after
 *   revoke or close). Only the client's own calls take it: no control-node
 *   call ever waits on it.
 *   SNAPSHOT_EXTENTS does not take it: it reads the table under the
 *   page-table lock and RCU alone. Nor does a FAULT of a mirror its
 *   entries already cover (RCU and the per-mirror counters, see
 *   dxm_fault_fast()): only a FAULT with work to do takes it.
 *     -> the maple tree's lock of dxm_session.mirror_mt (spinlock, inside
 *        mtree_insert_range() and the unindexing's mas_store_gfp(), which
 *        drops and retakes it to allocate: dxm_session.lock held for
 *        writing keeps other writers out meanwhile; lookups take RCU)
 *     -> mm->mmap_lock (read; for writing, killable, in BIND, which
 *        joins the mm's exit notifier with mmu_notifier_get_locked())
 *     -> dxm_mm.lock (BIND, the strip)
 *       -> device page-table lock: dxm_session.pt.lock (rwlock): read
 *          by device accesses and the control node's reads, written by
 *          what stores or drops an entry or changes a session's state
 *         -> xa_lock of one level of the table (spinlock)
 *         -> dxm_event_ring.lock (spinlock)
 *   dxm_session.grant_lock (spinlock): the grant table, taken alone.
 *   dxm_mm.lock (spinlock, session.c): the sessions bound to one mm; the
 *   mm's release walks them under it, so exit_mmap may spin for as long
 *   as each bound session's page-table lock is held (one chunk of a
 *   device access: at most 256 KiB copied or 64 Ki snapshot bytes)
 *     -> device page-table lock, dxm_event_ring.lock (dxm_session_mm_gone())
 *
 * The control node reads a session (SESSION_INFO, MIRROR_LIST) under RCU
 * and the page-table lock for reading: the mirror list is an RCU list,
 * mirrors are freed after a grace period. Mirrors are found by address in
 * dxm_session.mirror_mt (a maple tree in RCU mode: the range [start, end)
 * maps to the mirror) and by id in dxm_session.mirror_ids (an xarray), so
 * no device access or MIRROR_REMOVE walks the list, however many mirrors
 * a session has; the list is for listing in id order. REVOKE marks the session revoked
 * under the page-table lock for writing, at once whatever the mirrors'
 * size; device accesses check the mark under the same lock before they
 * store an entry or touch a page, so none uses the table after REVOKE
 * returns, and each stops with ENODEV at its next step. Mirrors, their
 * (dead) entries and grants are then freed by a work item
 * (dxm_session.strip_work) once it gets dxm_session.lock without waiting, or
 * by the client's own next call, whichever comes first.
 *
 * The invalidation callback takes only the page-table lock and the event
 * ring lock, neither sleeps; a blockable one drops the page-table lock
 * between batches of entries. For the CPU backend it never fails. For the
 * DMA backend a blockable one also waits (no lock held) for the transfer
 * in flight on its range, and a non-blockable one fails (returns false)
 * while there is one (dma.c). Nothing that can allocate with reclaim
 * (which may itself invalidate) runs under the page-table lock.
 *
 * REVOKE never waits for the client: with the DMA backend one transfer
 * (at most 2048 bytes) already in flight when it returns still ends, on
 * a page the client's mm maps (a revoke frees no page); none starts after.
 */
#ifndef DAXMIRROR_INTERNAL_H
#define DAXMIRROR_INTERNAL_H

#include <linux/dma-direction.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/maple_tree.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "uapi/daxmirror.h"

/* Events kept per queue; a reader that falls further behind gets OVERFLOW. */
#define DXM_EVENT_RING_SIZE	DAXMIRROR_EVENT_QUEUE_LEN

/* Device page-table entries (values in dxm_session.pt), see devpt.c. */
#define DXM_PTE_WRITE		0x1UL
#define DXM_PTE_ZONE_DEVICE	0x2UL
#define DXM_PTE_DAX		0x4UL
#define DXM_PTE_FLAGS_BITS	3
#define DXM_PTE_ORDER_SHIFT	DXM_PTE_FLAGS_BITS
#define DXM_PTE_ORDER_BITS	5
#define DXM_PTE_PFN_SHIFT	(DXM_PTE_ORDER_SHIFT + DXM_PTE_ORDER_BITS)

/* Why a step of a device access stopped before the end (access.c, dma.c). */
enum dxm_step {
	DXM_STEP_DONE,		/* everything asked for was moved */
	DXM_STEP_DEVICE_FAULT,	/* no usable device entry: fault it */
	DXM_STEP_USER_FAULT,	/* the user buffer is not resident */
	DXM_STEP_GONE,		/* revoked, mm gone, mirror released, error */
	DXM_STEP_MEDIA,		/* the memory itself failed (a media error) */
};

/* Bytes one DMA transfer moves at most (dma.c; edu's buffer is 4 KiB). */
#define DXM_DMA_CHUNK		2048

/* Bytes of the per-call buffer of SNAPSHOT (pages per copy_to_user()). */
#define DXM_SNAP_CHUNK		(64 * 1024)
/* Records of SNAPSHOT_EXTENTS per hold of the page-table lock (4 KiB). */
#define DXM_EXTENT_BATCH	256

/**
 * struct dxm_event_ring - a bounded queue of events with reader cursors
 * @lock:	protects every field below
 * @wait:	readers and pollers
 * @head:	sequence number the next event gets
 * @dead:	no event will come any more: empty reads return -ENODEV
 * @hup:	poll() reports EPOLLHUP
 * @ev:		the last DXM_EVENT_RING_SIZE events, slot = seq % size
 */
struct dxm_event_ring {
	spinlock_t lock;		/* protects the whole ring */
	wait_queue_head_t wait;
	u64 head;
	bool dead;
	bool hup;
	struct daxmirror_event ev[DXM_EVENT_RING_SIZE];
};

/**
 * struct dxm_pt - the device page table, one xarray per entry order
 * @lock:	the device page-table lock (see the lock order above); also
 *		protects the session's @mm_gone and @inv and every mirror's
 *		@released and @entries
 * @level:	entries of order 0, 9 and 18, keyed by page number >> order
 * @nr:		entries per level
 * @drop:	called for every entry that leaves the table (erased or
 *		replaced), under @lock held for writing and the level's
 *		xa_lock; NULL: nothing to do (the CPU backend). The DMA
 *		backend unmaps the entry's IOVA, or leaves it to the transfer
 *		using it (which unmaps it under @lock held for reading).
 */
struct dxm_pt {
	rwlock_t lock;		/* the device page-table lock */
	struct xarray level[DAXMIRROR_NR_ORDERS];
	unsigned long nr[DAXMIRROR_NR_ORDERS];
	void (*drop)(struct dxm_pt *pt, const void *pte);
};

/**
 * struct dxm_dma_flight - the DMA transfer of a session touching mirrored
 *	memory (dma.c: at most one, the engine does one at a time)
 * @seq:	transfers started
 * @done:	transfers ended (and their orphan unmapped)
 * @active:	one is in flight
 * @index:	the page it moves bytes of
 * @iova:	the device address it uses
 * @orphan:	the IOVA of its entry, if an invalidation dropped the entry
 *		meanwhile: unmapped when the transfer ends
 * @orphan_size: its size; 0: no orphan
 * @orphan_dir:	its direction
 */
struct dxm_dma_flight {
	u64 seq;
	u64 done;
	bool active;
	unsigned long index;
	dma_addr_t iova;
	dma_addr_t orphan;
	size_t orphan_size;
	enum dma_data_direction orphan_dir;
};

/*
 * One xa_state per level, for stores that may need memory; @next is the
 * key a level's xa_state can reach with xas_next() (ULONG_MAX: none);
 * @held is the level whose xa_lock a run of stores keeps (-1: none), so a
 * populated range takes it once, not once per entry.
 */
struct dxm_pt_cursor {
	struct xa_state xas[DAXMIRROR_NR_ORDERS];
	unsigned long next[DAXMIRROR_NR_ORDERS];
	int held;
};

/**
 * struct dxm_grant - a file range the broker allowed a session to mirror
 * @file:	reference to the open file (keeps the inode and its mount)
 * @offset:	first byte
 * @length:	bytes
 * @flags:	DAXMIRROR_GRANT_*
 * @dev:	st_dev of the file as stat(2) gives it (encoded): what UNGRANT
 *		names it by (btrfs and overlayfs report another device than
 *		their superblock's, so not i_sb->s_dev)
 * @ino:	st_ino as stat(2) gives it
 */
struct dxm_grant {
	struct file *file;
	u64 offset;
	u64 length;
	u32 flags;
	u32 dev;
	u64 ino;
};

/**
 * struct dxm_grants - a session's grant table, replaced whole (RCU) on
 *	every change, so readers never see one half written
 * @rcu:	frees it after the readers of its generation are done
 * @nr:		grants in @g
 * @put:	a file to fput() when it is freed: the one a removal dropped
 * @put_all:	fput() the files of all of @g when it is freed (the strip)
 * @g:		the grants
 */
struct dxm_grants {
	struct rcu_head rcu;
	u32 nr;
	struct file *put;
	bool put_all;
	struct dxm_grant g[DAXMIRROR_MAX_GRANTS];
};

/*
 * Counters the device accesses of a session bump, per CPU: concurrent
 * accesses never share a cache line for them. Summed by SESSION_INFO.
 */
enum dxm_op_stat {
	DXM_STAT_DEVICE_FAULTS,
	DXM_STAT_FAULT_CALLS,
	DXM_STAT_RANGE_FAULTS,
	DXM_STAT_RANGE_RETRIES,
	DXM_STAT_BYTES_READ,
	DXM_STAT_BYTES_WRITTEN,
	DXM_STAT_WALK_NS,
	DXM_STAT_LOCK_NS,
	DXM_STAT_UPDATE_NS,
	DXM_STAT_POPULATE_NS,
	DXM_STAT_DMA_TRANSFERS,
	DXM_NR_OP_STATS
};

struct dxm_op_stats {
	u64 v[DXM_NR_OP_STATS];
};

/**
 * struct dxm_session - one client's device context
 * @kref:	the session file holds one reference, control-node lookups
 *		hold one for the duration of a call
 * @id:		never reused while the module is loaded
 * @flags:	DAXMIRROR_SESSION_* (constant)
 * @max_mirrors: limit (constant)
 * @max_pages:	limit (constant)
 *
 * @lock:	read by device accesses, written by shape changes (see the
 *		lock order above); protects @mirrors changes, @nr_mirrors,
 *		@mirrored_pages, @next_mirror_id, @stripped and @dmm
 * @stripped:	mirrors and grants are gone (after revoke or close)
 * @dmm:	the notifier of the bound mm's exit, shared by every session
 *		bound to that mm (NULL: unbound or stripped)
 * @mm_node:	in @dmm's sessions (under its lock)
 * @mirrors:	struct dxm_mirror RCU list, by increasing id
 * @nr_mirrors:	live and released mirrors in @mirrors (released ones are
 *		reaped before a mirror is added, so limits count live ones)
 * @mirrored_pages: pages covered by @mirrors
 * @next_mirror_id: id of the next mirror
 * @strip_work:	frees mirrors and grants after REVOKE, off the caller's
 *		thread (holds a reference while queued)
 * @ops:	per-CPU counters of the device accesses
 *
 * @grant_lock:	serializes replacements of @grants
 * @grants:	the grant table (NULL: none); readers rcu_dereference() it
 *		under rcu_read_lock(), a change publishes a new table
 *
 * @pt:		the device page table, indexed by user page number; its
 *		lock is the page-table lock, which also protects the fields
 *		below it and every mirror's @released and @entries
 * @revoked:	revoked by the broker (written under the page-table lock,
 *		read with READ_ONCE where a stale value only delays ENODEV
 *		to the next step)
 * @closed:	its file was released; control calls holding a reference
 *		from an earlier lookup must not add grants any more
 * @listed:	published in the session table
 * @mm:		bound mm (mmgrab'd), NULL until bound; set once
 * @pid:	binding thread group
 * @uid:	binding uid
 * @mm_gone:	the bound mm exited (its release notifier ran)
 * @inv:	invalidations and pages_invalidated
 *
 * @backend:	DAXMIRROR_BACKEND_* (constant)
 * @edu:	the DMA device (DMA backend), else NULL
 * @flight:	the DMA transfer on mirrored memory (dma.c's locking)
 * @dma_wait:	invalidations waiting for @flight to end
 * @dma_mapped:	IOVA mappings held
 * @dma_waits:	invalidations that waited for @flight (page-table lock)
 * @dma_break:	the test-only parameter dma_break when it was created
 * @dma_node:	in @edu's sessions
 * @dma_detached: @edu went away, this session was ended for it (under
 *		@edu's sessions_lock)
 *
 * @events:	this session's event queue (the session file's)
 * @ev_cursor:	read position of the session file (under events.lock)
 */
struct dxm_session {
	struct kref kref;
	u64 id;
	u32 flags;
	u32 max_mirrors;
	u64 max_pages;

	struct rw_semaphore lock;	/* accesses vs shape changes */
	bool stripped;
	struct dxm_mm *dmm;
	struct list_head mm_node;
	struct list_head mirrors;	/* by id, for listing (RCU) */
	struct maple_tree mirror_mt;	/* by address range (RCU) */
	struct xarray mirror_ids;	/* by id */
	u32 nr_mirrors;
	u32 nr_released;		/* released, not destroyed (pt.lock) */
	u64 mirrored_pages;
	u64 next_mirror_id;
	struct delayed_work strip_work;
	struct dxm_op_stats __percpu *ops;

	spinlock_t grant_lock;		/* the grant table */
	struct dxm_grants __rcu *grants;

	struct dxm_pt pt;
	bool revoked;
	bool closed;
	bool listed;
	struct mm_struct *mm;
	struct pid *pid;
	kuid_t uid;
	bool mm_gone;
	struct daxmirror_stats inv;

	u32 backend;
	struct dxm_edu *edu;
	struct dxm_dma_flight flight;
	wait_queue_head_t dma_wait;
	atomic_long_t dma_mapped;
	u64 dma_waits;
	int dma_break;
	struct list_head dma_node;
	bool dma_detached;

	struct dxm_event_ring events;
	u64 ev_cursor;
	unsigned long ctl_bits;		/* DXM_CTL_* */
};

/* dxm_session.ctl_bits: a SESSION_CHANGED is queued on the control node. */
#define DXM_CTL_CHANGE_POSTED	0

/**
 * struct dxm_mirror - a mirrored address range of a session
 * @notifier:	the interval notifier covering [@start, @end)
 * @session:	owner
 * @node:	in session->mirrors (RCU list; changed under session->lock)
 * @rcu:	frees it after control-node readers are done
 * @id:		id within the session
 * @start:	first address
 * @end:	address past the range
 * @flags:	DAXMIRROR_MIRROR_*
 * @backing:	DAXMIRROR_BACKING_* seen when added
 * @inode:	the backing file's inode (ihold'ed; NULL for anonymous
 *		memory): what the policy and UNGRANT compare, since (@dev,
 *		@ino) can name two files (a FUSE server decides its inode
 *		numbers); dropped when the mirror is destroyed
 * @dev:	backing device, 0 for anonymous memory (reported)
 * @ino:	backing inode number (reported)
 * @file_offset: file offset of @start
 * @released:	its VMAs or mm went away (written under the page-table lock,
 *		read with READ_ONCE on the fast paths)
 * @unmap_check: after a munmap of part of it: is anything of it mapped
 *		still? (pieces unmapped one by one release it too)
 * @entries:	live device entries by DAXMIRROR_ORDER_* (page-table lock)
 * @pages:	pages those entries cover (page-table lock)
 * @wpages:	pages covered by writable entries (page-table lock)
 */
struct dxm_mirror {
	struct mmu_interval_notifier notifier;
	struct dxm_session *session;
	struct list_head node;
	struct rcu_head rcu;
	u64 id;
	unsigned long start;
	unsigned long end;
	u32 flags;
	u32 backing;
	struct inode *inode;
	u64 dev;
	u64 ino;
	u64 file_offset;
	bool released;
	struct delayed_work unmap_check;
	u64 entries[DAXMIRROR_NR_ORDERS];
	unsigned long pages;
	unsigned long wpages;
};

static inline void dxm_stat_add(struct dxm_session *s, enum dxm_op_stat i,
				u64 v)
{
	this_cpu_add(s->ops->v[i], v);
}

/* util.c */
bool dxm_ioctl_zero(const void *p, size_t size);
int dxm_check_range(u64 addr, u64 length);
long dxm_ioctl_version(void __user *uarg);

/* events.c */
extern struct dxm_event_ring dxm_control_events;
void dxm_ring_init(struct dxm_event_ring *ring);
void dxm_ring_post(struct dxm_event_ring *ring, u32 type, u64 session_id,
		   u64 mirror_id);
void dxm_ring_hangup(struct dxm_event_ring *ring, bool dead);
u64 dxm_ring_head(struct dxm_event_ring *ring);
ssize_t dxm_ring_read(struct dxm_event_ring *ring, u64 *cursor,
		      char __user *buf, size_t count, bool nonblock);
__poll_t dxm_ring_poll(struct dxm_event_ring *ring, u64 *cursor,
		       struct file *file, poll_table *wait);

/* control.c */
extern const struct file_operations dxm_control_fops;
void dxm_control_init(void);
void dxm_control_exit(void);

/* session.c */
extern const struct file_operations dxm_session_fops;
extern struct workqueue_struct *dxm_wq;
struct dxm_session *dxm_session_alloc(u32 flags, u32 max_mirrors,
				      u64 max_pages);
void dxm_session_put(struct dxm_session *s);
void dxm_session_get(struct dxm_session *s);
bool dxm_session_tryget(struct dxm_session *s);
int dxm_session_publish(struct dxm_session *s);
struct dxm_session *dxm_session_lookup(u64 id);
long dxm_sessions_ids(u64 __user *ids, u32 capacity, u32 *count);
void dxm_sessions_exit(void);
void dxm_mm_exit(void);
int dxm_session_ungrant(struct dxm_session *s, u32 dev, u64 ino,
			u64 offset, u64 length, u32 flags);
u32 dxm_session_nr_grants(struct dxm_session *s);
int dxm_session_grant(struct dxm_session *s, struct file *file, u64 offset,
		      u64 length, u32 flags, u32 dev, u64 ino);
int dxm_session_revoke(struct dxm_session *s);
void dxm_session_kill(struct dxm_session *s);
void dxm_session_reap(struct dxm_session *s);
long dxm_session_info(struct dxm_session *s, void __user *uarg);
long dxm_mirror_list(struct dxm_session *s, void __user *uarg,
		     const struct daxmirror_mirror_list *hdr);

/* mirror.c */
void dxm_session_mm_gone(struct dxm_session *s);
void dxm_session_changed(struct dxm_session *s);
int dxm_mirror_add(struct dxm_session *s, unsigned long start,
		   unsigned long end, u32 flags, u64 *id);
int dxm_mirror_remove(struct dxm_session *s, u64 id);
void dxm_mirror_destroy(struct dxm_session *s, struct dxm_mirror *m);
struct dxm_mirror *dxm_mirror_find(struct dxm_session *s, unsigned long addr);
int dxm_mirror_fault(struct dxm_session *s, struct dxm_mirror *m,
		     unsigned long start, unsigned long end, bool write);
int dxm_access_check(struct dxm_session *s, struct dxm_mirror *m);

/* devpt.c */
void *dxm_pte_make(unsigned long pfn, unsigned int order, unsigned long flags);
unsigned long dxm_pte_pfn(const void *pte);
unsigned int dxm_pte_order(const void *pte);
unsigned long dxm_pte_flags(const void *pte);
int dxm_order_slot(unsigned int order);
void dxm_pt_init(struct dxm_pt *pt);
void dxm_pt_destroy(struct dxm_pt *pt);
void dxm_pt_cursor_init(struct dxm_pt *pt, struct dxm_pt_cursor *cur);
bool dxm_pt_cursor_nomem(struct dxm_pt_cursor *cur);
void dxm_pt_cursor_unlock(struct dxm_pt_cursor *cur);
void *dxm_pt_lookup(struct dxm_pt *pt, unsigned long index,
		    unsigned long *base);
int dxm_pt_set(struct dxm_pt *pt, struct dxm_pt_cursor *cur,
	       struct dxm_mirror *m, unsigned long index, unsigned int order,
	       void *pte);
unsigned long dxm_pt_erase_batch(struct dxm_pt *pt, struct dxm_mirror *m,
				 unsigned long first, unsigned long last,
				 unsigned long budget, bool *more);
bool dxm_pt_covered(struct dxm_pt *pt, struct dxm_mirror *m,
		    unsigned long first, unsigned long last, bool write);

/* dma.c */
struct dxm_edu;
int dxm_dma_init(void);
void dxm_dma_exit(void);
int dxm_dma_session_init(struct dxm_session *s);
void dxm_dma_session_fini(struct dxm_session *s);
int dxm_dma_map(struct dxm_session *s, struct page *page, unsigned int order,
		unsigned long flags, void **pte);
void dxm_dma_unmap_pte(struct dxm_session *s, const void *pte);
bool dxm_dma_busy(struct dxm_session *s, unsigned long first,
		  unsigned long last, u64 *seq);
void dxm_dma_fence(struct dxm_session *s, u64 seq);
enum dxm_step dxm_dma_step(struct dxm_session *s, struct dxm_mirror *m,
			   unsigned long addr, char __user *ubuf, size_t len,
			   bool write, size_t *copied, int *err);

/* access.c */
long dxm_ioctl_read(struct dxm_session *s, void __user *uarg);
long dxm_ioctl_write(struct dxm_session *s, void __user *uarg);
long dxm_ioctl_snapshot(struct dxm_session *s, void __user *uarg);
long dxm_ioctl_snapshot_extents(struct dxm_session *s, void __user *uarg);

#endif /* DAXMIRROR_INTERNAL_H */
