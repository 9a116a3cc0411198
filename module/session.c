// SPDX-License-Identifier: GPL-2.0
/*
 * session.c - the session: an anon-inode file handed to one client, its
 * life cycle (create, bind, revoke, release), the table of live sessions
 * by id, its file grants and its ioctl dispatch.
 */
#include <linux/anon_inodes.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "daxmirror.h"

/* The module's work items that may outlive a session file (strips). */
struct workqueue_struct *dxm_wq;

/* Protects dxm_sessions and dxm_next_session_id. */
static DEFINE_MUTEX(dxm_sessions_lock);
/* Live sessions by id; an entry holds no reference (the file does). */
static DEFINE_XARRAY(dxm_sessions);
static u64 dxm_next_session_id = 1;

static void dxm_session_strip_work(struct work_struct *work);

struct dxm_session *dxm_session_alloc(u32 flags, u32 max_mirrors,
				      u64 max_pages)
{
	struct dxm_session *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);

	if (!s)
		return NULL;
	s->ops = alloc_percpu_gfp(struct dxm_op_stats, GFP_KERNEL_ACCOUNT);
	if (!s->ops) {
		kfree(s);
		return NULL;
	}
	kref_init(&s->kref);
	s->flags = flags;
	s->max_mirrors = max_mirrors;
	s->max_pages = max_pages;
	init_rwsem(&s->lock);
	INIT_LIST_HEAD(&s->mirrors);
	mt_init_flags(&s->mirror_mt, MT_FLAGS_USE_RCU);
	xa_init(&s->mirror_ids);
	INIT_DELAYED_WORK(&s->strip_work, dxm_session_strip_work);
	spin_lock_init(&s->grant_lock);
	dxm_pt_init(&s->pt);
	dxm_ring_init(&s->events);
	s->ev_cursor = 1;
	s->next_mirror_id = 1;	/* 0 means "no mirror" in events */
	mutex_lock(&dxm_sessions_lock);
	s->id = dxm_next_session_id++;
	mutex_unlock(&dxm_sessions_lock);
	return s;
}

static void dxm_session_free(struct kref *kref)
{
	struct dxm_session *s = container_of(kref, struct dxm_session, kref);

	dxm_dma_session_fini(s);
	WARN_ON_ONCE(!list_empty(&s->mirrors));
	WARN_ON_ONCE(!mtree_empty(&s->mirror_mt));
	WARN_ON_ONCE(!xa_empty(&s->mirror_ids));
	WARN_ON_ONCE(s->dmm);
	mtree_destroy(&s->mirror_mt);
	xa_destroy(&s->mirror_ids);
	dxm_pt_destroy(&s->pt);
	if (s->mm)
		mmdrop(s->mm);
	put_pid(s->pid);
	free_percpu(s->ops);
	kfree(s);
}

void dxm_session_get(struct dxm_session *s)
{
	kref_get(&s->kref);
}

/* A reference, unless the session is being freed. */
bool dxm_session_tryget(struct dxm_session *s)
{
	return kref_get_unless_zero(&s->kref);
}

void dxm_session_put(struct dxm_session *s)
{
	kref_put(&s->kref, dxm_session_free);
}

/* List @s in the session table, where the control node finds it by id. */
int dxm_session_publish(struct dxm_session *s)
{
	int ret;

	mutex_lock(&dxm_sessions_lock);
	ret = xa_insert(&dxm_sessions, s->id, s, GFP_KERNEL_ACCOUNT);
	if (!ret)
		s->listed = true;
	mutex_unlock(&dxm_sessions_lock);
	return ret;
}

/* Remove @s from the session table (its file is being released). */
static void dxm_session_unlist(struct dxm_session *s)
{
	mutex_lock(&dxm_sessions_lock);
	if (s->listed)
		xa_erase(&dxm_sessions, s->id);
	mutex_unlock(&dxm_sessions_lock);
}

/* Look a session up by id and take a reference, or NULL. */
struct dxm_session *dxm_session_lookup(u64 id)
{
	struct dxm_session *s;

	mutex_lock(&dxm_sessions_lock);
	s = xa_load(&dxm_sessions, id);
	if (s)
		dxm_session_get(s);
	mutex_unlock(&dxm_sessions_lock);
	return s;
}

/*
 * Copy the ids of up to @capacity live sessions to @ids; *@count gets the
 * number of live sessions. The buffer is sized by the sessions that
 * exist, never by the capacity the caller claims (which may be anything).
 */
long dxm_sessions_ids(u64 __user *ids, u32 capacity, u32 *count)
{
	struct dxm_session *s;
	unsigned long id;
	u64 *buf = NULL;
	u32 n = 0, want, stored = 0;
	long ret = 0;

	mutex_lock(&dxm_sessions_lock);
	xa_for_each(&dxm_sessions, id, s)
		n++;
	want = min(n, capacity);
	if (want) {
		buf = kvmalloc_array(want, sizeof(*buf),
				     GFP_KERNEL | __GFP_NOWARN);
		if (!buf) {
			mutex_unlock(&dxm_sessions_lock);
			return -ENOMEM;
		}
		xa_for_each(&dxm_sessions, id, s) {
			if (stored == want)
				break;
			buf[stored++] = id;
		}
	}
	mutex_unlock(&dxm_sessions_lock);

	if (stored && copy_to_user(ids, buf, stored * sizeof(*buf)))
		ret = -EFAULT;
	kvfree(buf);
	*count = n;
	return ret;
}

/* At module exit: session files pin the module, so none is left. */
void dxm_sessions_exit(void)
{
	WARN_ON_ONCE(!xa_empty(&dxm_sessions));
	xa_destroy(&dxm_sessions);
}

/*
 * One notifier of an mm's exit, shared by every session bound to that mm
 * (mmu_notifier_get() finds it by ops and mm). Every munmap, mprotect or
 * reclaim of the mm walks the mm's notifier list, so a process with 64
 * sessions must put one entry there, not 64. Its ->release tells each
 * session on @sessions; a session leaves the list when it is stripped.
 */
struct dxm_mm {
	struct mmu_notifier mn;
	spinlock_t lock;		/* @sessions */
	struct list_head sessions;	/* dxm_session.mm_node */
};

static struct mmu_notifier *dxm_mm_alloc(struct mm_struct *mm)
{
	struct dxm_mm *d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);

	if (!d)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&d->lock);
	INIT_LIST_HEAD(&d->sessions);
	return &d->mn;
}

/* After the last mmu_notifier_put() and an SRCU grace period. */
static void dxm_mm_free(struct mmu_notifier *mn)
{
	kfree(container_of(mn, struct dxm_mm, mn));
}

/* The mm exits: every session still bound to it learns it. */
static void dxm_mm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct dxm_mm *d = container_of(mn, struct dxm_mm, mn);
	struct dxm_session *s;

	spin_lock(&d->lock);
	list_for_each_entry(s, &d->sessions, mm_node)
		dxm_session_mm_gone(s);
	spin_unlock(&d->lock);
}

static const struct mmu_notifier_ops dxm_mm_ops = {
	.release = dxm_mm_release,
	.alloc_notifier = dxm_mm_alloc,
	.free_notifier = dxm_mm_free,
};

/* Take @s off its mm's notifier; caller holds s->lock for writing. */
static void dxm_session_mm_unlink(struct dxm_session *s)
{
	struct dxm_mm *d = s->dmm;

	lockdep_assert_held_write(&s->lock);
	if (!d)
		return;
	spin_lock(&d->lock);
	list_del(&s->mm_node);
	spin_unlock(&d->lock);
	s->dmm = NULL;
	mmu_notifier_put(&d->mn);
	/* What the release would have said, silent after revoke or close. */
	dxm_session_mm_gone(s);
}

/* At module exit, once no session is left: the deferred frees are done. */
void dxm_mm_exit(void)
{
	mmu_notifier_synchronize();
}

/*
 * A grant table no reader can see any more: drop the file references it
 * was the last to hold (fput() defers from softirq context), free it.
 */
static void dxm_grants_free_rcu(struct rcu_head *head)
{
	struct dxm_grants *gs = container_of(head, struct dxm_grants, rcu);
	u32 i;

	if (gs->put_all)
		for (i = 0; i < gs->nr; i++)
			fput(gs->g[i].file);
	if (gs->put)
		fput(gs->put);
	kfree(gs);
}

/*
 * Drop every mirror and grant and the mm notifier, once, after revoke or
 * close. Caller holds s->lock for writing.
 */
static void dxm_session_strip(struct dxm_session *s)
{
	struct dxm_mirror *m, *tmp;
	struct dxm_grants *gs;

	lockdep_assert_held_write(&s->lock);
	if (s->stripped)
		return;
	list_for_each_entry_safe(m, tmp, &s->mirrors, node)
		dxm_mirror_destroy(s, m);
	spin_lock(&s->grant_lock);
	gs = rcu_replace_pointer(s->grants, NULL,
				 lockdep_is_held(&s->grant_lock));
	spin_unlock(&s->grant_lock);
	if (gs) {
		gs->put_all = true;
		call_rcu(&gs->rcu, dxm_grants_free_rcu);
	}
	dxm_session_mm_unlink(s);
	WRITE_ONCE(s->stripped, true);
}

/*
 * Strip a revoked session if nobody holds its lock; true if it is
 * stripped. Never waits: called where the client must not hold anyone up.
 */
static bool dxm_session_try_strip(struct dxm_session *s)
{
	if (!down_write_trylock(&s->lock))
		return false;
	dxm_session_strip(s);
	up_write(&s->lock);
	return true;
}

/* A device access left a revoked session: strip it if it can now. */
void dxm_session_reap(struct dxm_session *s)
{
	dxm_session_try_strip(s);
}

/*
 * The strip of a revoked session, off REVOKE's thread (unregistering the
 * notifiers may wait for the client's invalidations in flight): tries the
 * lock without waiting, and again every 10 ms while the client's accesses
 * hold it (a kworker never blocks on a client). Holds a reference while
 * queued.
 */
static void dxm_session_strip_work(struct work_struct *work)
{
	struct dxm_session *s = container_of(to_delayed_work(work),
					     struct dxm_session, strip_work);

	if (!READ_ONCE(s->stripped) && !dxm_session_try_strip(s)) {
		queue_delayed_work(dxm_wq, &s->strip_work,
				   msecs_to_jiffies(10));
		return;
	}
	dxm_session_put(s);
}

/* The grant table now (caller holds grant_lock), or NULL. */
static struct dxm_grants *dxm_grants_locked(struct dxm_session *s)
{
	return rcu_dereference_protected(s->grants,
					 lockdep_is_held(&s->grant_lock));
}

/*
 * Publish @new in place of the current table (caller holds grant_lock);
 * the old one is freed after a grace period (its files live on in @new).
 */
static void dxm_grants_publish(struct dxm_session *s, struct dxm_grants *new)
{
	struct dxm_grants *old;

	lockdep_assert_held(&s->grant_lock);
	old = rcu_replace_pointer(s->grants, new,
				  lockdep_is_held(&s->grant_lock));
	if (old)
		call_rcu(&old->rcu, dxm_grants_free_rcu);
}

u32 dxm_session_nr_grants(struct dxm_session *s)
{
	struct dxm_grants *gs;
	u32 n;

	rcu_read_lock();
	gs = rcu_dereference(s->grants);
	n = gs ? gs->nr : 0;
	rcu_read_unlock();
	return n;
}

int dxm_session_grant(struct dxm_session *s, struct file *file, u64 offset,
		      u64 length, u32 flags, u32 dev, u64 ino)
{
	struct dxm_grants *new, *cur;
	int ret = 0;

	if ((flags & DAXMIRROR_GRANT_WRITE) &&
	    !(s->flags & DAXMIRROR_SESSION_ALLOW_WRITE))
		return -EPERM;
	if (!IS_DAX(file_inode(file)) &&
	    !(s->flags & DAXMIRROR_SESSION_ALLOW_PAGECACHE))
		return -EPERM;

	new = kmalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;
	spin_lock(&s->grant_lock);
	cur = dxm_grants_locked(s);
	if (READ_ONCE(s->closed)) {
		ret = -ENOENT;
	} else if (READ_ONCE(s->revoked)) {
		ret = -ENODEV;
	} else if (cur && cur->nr >= DAXMIRROR_MAX_GRANTS) {
		ret = -ENOSPC;
	} else {
		new->nr = 0;
		if (cur) {
			memcpy(new->g, cur->g, cur->nr * sizeof(new->g[0]));
			new->nr = cur->nr;
		}
		new->put = NULL;
		new->put_all = false;
		new->g[new->nr++] = (struct dxm_grant){
			.file = get_file(file), .offset = offset,
			.length = length, .flags = flags, .dev = dev, .ino = ino,
		};
		dxm_grants_publish(s, new);
		new = NULL;
	}
	spin_unlock(&s->grant_lock);
	kfree(new);
	return ret;
}

/*
 * Is [@offset, +@length) of @inode under a live mirror? A mirror holds
 * only the file range it was added over (dxm_policy_check() refuses any
 * other memory with EXDEV), so its inode and file_offset say it all.
 */
static bool dxm_grant_in_use(struct dxm_session *s, struct inode *inode,
			     u64 offset, u64 length)
{
	struct dxm_mirror *m;
	bool busy = false;

	rcu_read_lock();
	list_for_each_entry_rcu(m, &s->mirrors, node) {
		u64 len = m->end - m->start;

		if (READ_ONCE(m->released) || READ_ONCE(m->inode) != inode)
			continue;
		if (m->file_offset < offset + length &&
		    offset < m->file_offset + len) {
			busy = true;
			break;
		}
	}
	rcu_read_unlock();
	return busy;
}

/*
 * Remove the grant of the file (@dev, @ino) with exactly this range and
 * these flags, unless a live mirror maps part of it (EBUSY). Never waits
 * for the client: no session lock is taken. The grant is unpublished
 * first, then the mirrors are checked; a full barrier on each side (here,
 * and in dxm_granted() before it loads the table) means a fault either
 * finds the grant gone (EACCES) or runs on a mirror this check sees, and
 * then the grant is put back. The file is released after a grace period.
 */
int dxm_session_ungrant(struct dxm_session *s, u32 dev, u64 ino,
			u64 offset, u64 length, u32 flags)
{
	struct dxm_grants *without, *spare, *cur;
	struct dxm_grant removed = {};
	u32 i, n, found = U32_MAX;
	int ret = 0;

	without = kmalloc(sizeof(*without), GFP_KERNEL_ACCOUNT);
	spare = kmalloc(sizeof(*spare), GFP_KERNEL_ACCOUNT);
	if (!without || !spare) {
		ret = -ENOMEM;
		goto out;
	}
	spin_lock(&s->grant_lock);
	cur = dxm_grants_locked(s);
	n = cur ? cur->nr : 0;
	for (i = 0; i < n && found == U32_MAX; i++) {
		struct dxm_grant *g = &cur->g[i];

		if (g->dev == dev && g->ino == ino && g->offset == offset &&
		    g->length == length && g->flags == flags)
			found = i;
	}
	if (READ_ONCE(s->closed)) {
		ret = -ENOENT;
	} else if (READ_ONCE(s->revoked)) {
		ret = -ENODEV;
	} else if (found == U32_MAX) {
		ret = -ENOENT;
	} else {
		removed = cur->g[found];
		memcpy(without->g, cur->g, found * sizeof(cur->g[0]));
		memcpy(&without->g[found], &cur->g[found + 1],
		       (n - found - 1) * sizeof(cur->g[0]));
		without->nr = n - 1;
		without->put = NULL;
		without->put_all = false;
		dxm_grants_publish(s, without);
		without = NULL;
	}
	spin_unlock(&s->grant_lock);
	if (ret)
		goto out;

	/* Pairs with the barrier in dxm_granted(). */
	smp_mb();
	spare->put_all = false;
	if (!dxm_grant_in_use(s, file_inode(removed.file), offset, length)) {
		/* Readers of the old table may still look at the file. */
		spare->nr = 0;
		spare->put = removed.file;
		call_rcu(&spare->rcu, dxm_grants_free_rcu);
		spare = NULL;
		goto out;
	}
	ret = -EBUSY;
	spin_lock(&s->grant_lock);
	cur = dxm_grants_locked(s);
	n = cur ? cur->nr : 0;
	if (n < DAXMIRROR_MAX_GRANTS && !READ_ONCE(s->revoked) &&
	    !READ_ONCE(s->closed)) {
		if (n)
			memcpy(spare->g, cur->g, n * sizeof(cur->g[0]));
		spare->g[n] = removed;
		spare->nr = n + 1;
		spare->put = NULL;
		dxm_grants_publish(s, spare);
		spare = NULL;
	}
	spin_unlock(&s->grant_lock);
	if (spare) {
		/* Revoked meanwhile (or refilled by a racing grant): gone. */
		spare->nr = 0;
		spare->put = removed.file;
		call_rcu(&spare->rcu, dxm_grants_free_rcu);
		spare = NULL;
	}
out:
	kfree(without);
	kfree(spare);
	return ret;
}

/*
 * Revoke: never waits for the client, and costs the same for any size of
 * mirror. The session is marked under the page-table lock held for
 * writing: a copy step in flight holds it for reading, so once this has
 * it none is left, and every access checks the mark under the lock before
 * it touches a page or stores an entry: none uses the device table after
 * this returns; each stops at its next step with ENODEV. The entries left
 * in the table are dead (still invalidated while the notifiers live); the
 * strip frees them with the mirrors, a batch per lock hold.
 */
int dxm_session_revoke(struct dxm_session *s)
{
	int ret = 0;

	write_lock(&s->pt.lock);
	if (s->closed)
		ret = -ENOENT;
	else if (s->revoked)
		ret = -EALREADY;
	else
		WRITE_ONCE(s->revoked, true);
	write_unlock(&s->pt.lock);
	if (ret)
		return ret;

	dxm_ring_post(&s->events, DAXMIRROR_EVENT_REVOKED, s->id, 0);
	dxm_ring_hangup(&s->events, true);
	dxm_ring_post(&dxm_control_events, DAXMIRROR_EVENT_REVOKED, s->id, 0);
	dxm_session_get(s);
	if (!queue_delayed_work(dxm_wq, &s->strip_work, 0))
		dxm_session_put(s);
	return 0;
}

/*
 * The session's device went away (dma.c: its PCI device was removed):
 * revoke it and strip it now, waiting for the accesses in flight, so
 * nothing of it uses the device when this returns.
 */
void dxm_session_kill(struct dxm_session *s)
{
	dxm_session_revoke(s);	/* else revoked or closed already */
	down_write(&s->lock);
	dxm_session_strip(s);
	up_write(&s->lock);
}

/* Caller holds s->pt.lock. */
static u32 dxm_session_state(struct dxm_session *s)
{
	lockdep_assert_held(&s->pt.lock);
	if (s->revoked)
		return DAXMIRROR_STATE_REVOKED;
	if (!s->mm)
		return DAXMIRROR_STATE_NEW;
	return s->mm_gone ? DAXMIRROR_STATE_MM_GONE : DAXMIRROR_STATE_BOUND;
}

/* Sum the per-CPU counters of the device accesses into @a. */
static void dxm_session_op_stats(struct dxm_session *s,
				 struct daxmirror_session_info *a)
{
	struct daxmirror_stats *st = &a->stats;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct dxm_op_stats *o = per_cpu_ptr(s->ops, cpu);

		st->device_faults += READ_ONCE(o->v[DXM_STAT_DEVICE_FAULTS]);
		st->fault_calls += READ_ONCE(o->v[DXM_STAT_FAULT_CALLS]);
		st->range_faults += READ_ONCE(o->v[DXM_STAT_RANGE_FAULTS]);
		st->range_retries += READ_ONCE(o->v[DXM_STAT_RANGE_RETRIES]);
		st->bytes_read += READ_ONCE(o->v[DXM_STAT_BYTES_READ]);
		st->bytes_written += READ_ONCE(o->v[DXM_STAT_BYTES_WRITTEN]);
		st->walk_ns += READ_ONCE(o->v[DXM_STAT_WALK_NS]);
		st->lock_ns += READ_ONCE(o->v[DXM_STAT_LOCK_NS]);
		st->update_ns += READ_ONCE(o->v[DXM_STAT_UPDATE_NS]);
		st->populate_ns += READ_ONCE(o->v[DXM_STAT_POPULATE_NS]);
		a->dma_transfers += READ_ONCE(o->v[DXM_STAT_DMA_TRANSFERS]);
	}
}

/*
 * SESSION_INFO for @s; uarg's session_id was validated by the caller.
 * Takes no sleeping lock: RCU for the mirror list, the page-table lock
 * for what it protects.
 */
long dxm_session_info(struct dxm_session *s, void __user *uarg)
{
	struct daxmirror_session_info a;
	struct dxm_mirror *m;
	int i;

	memset(&a, 0, sizeof(a));
	a.session_id = s->id;
	a.session_flags = s->flags;
	a.max_mirrors = s->max_mirrors;
	a.max_pages = s->max_pages;
	a.nr_grants = dxm_session_nr_grants(s);
	dxm_session_op_stats(s, &a);
	a.backend = s->backend;
	a.stats.dma_mappings = atomic_long_read(&s->dma_mapped);

	rcu_read_lock();
	read_lock(&s->pt.lock);
	a.state = dxm_session_state(s);
	/* Revoked: its mirrors and grants are gone, whenever the strip runs. */
	if (s->revoked)
		a.nr_grants = 0;
	/* A pid is only named while its process lives: pids are reused. */
	a.pid = s->pid && !s->mm_gone ? pid_vnr(s->pid) : 0;
	a.uid = s->mm ? from_kuid_munged(current_user_ns(), s->uid) : 0;
	a.stats.invalidations = s->inv.invalidations;
	a.stats.pages_invalidated = s->inv.pages_invalidated;
	a.dma_waits = s->dma_waits;
	list_for_each_entry_rcu(m, &s->mirrors, node) {
		if (s->revoked)
			break;	/* its entries are dead, whenever freed */
		for (i = 0; i < DAXMIRROR_NR_ORDERS; i++)
			a.stats.entries[i] += m->entries[i];
		if (m->released)
			continue;
		a.nr_mirrors++;
		a.mirrored_pages += (m->end - m->start) >> PAGE_SHIFT;
	}
	read_unlock(&s->pt.lock);
	rcu_read_unlock();

	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

/* Caller holds s->pt.lock. */
static void dxm_mirror_info(struct dxm_session *s, struct dxm_mirror *m,
			    struct daxmirror_mirror_info *mi)
{
	lockdep_assert_held(&s->pt.lock);
	memset(mi, 0, sizeof(*mi));
	mi->id = m->id;
	mi->start = m->start;
	mi->length = m->end - m->start;
	mi->flags = m->flags;
	mi->backing = m->backing;
	mi->dev = m->dev;
	mi->ino = m->ino;
	mi->file_offset = m->file_offset;
	mi->state = m->released ? DAXMIRROR_MIRROR_RELEASED :
				  DAXMIRROR_MIRROR_LIVE;
	memcpy(mi->entries, m->entries, sizeof(mi->entries));
}

/* Mirrors copied out per RCU read section. */
#define DXM_LIST_BATCH	16

/*
 * MIRROR_LIST for @s, with the header @hdr the caller fetched (once) and
 * validated. Takes no sleeping lock: batches of mirrors, by increasing id,
 * are copied under RCU into a kernel buffer, then out to the caller.
 */
long dxm_mirror_list(struct dxm_session *s, void __user *uarg,
		     const struct daxmirror_mirror_list *hdr)
{
	struct daxmirror_mirror_list a = *hdr;
	struct daxmirror_mirror_info __user *out = u64_to_user_ptr(a.mirrors);
	struct daxmirror_mirror_info *batch;
	struct dxm_mirror *m;
	u32 copied = 0, got, want, n = 0;
	u64 after = 0;
	long ret = 0;

	/* Revoked: its mirrors are gone, whenever the strip runs. */
	if (READ_ONCE(s->revoked)) {
		a.count = 0;
		return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
	}
	batch = kmalloc_array(DXM_LIST_BATCH, sizeof(*batch),
			      GFP_KERNEL_ACCOUNT);
	if (!batch)
		return -ENOMEM;
	while (copied < a.capacity) {
		want = min_t(u32, DXM_LIST_BATCH, a.capacity - copied);
		got = 0;
		rcu_read_lock();
		read_lock(&s->pt.lock);
		list_for_each_entry_rcu(m, &s->mirrors, node) {
			if (m->id <= after)
				continue;
			dxm_mirror_info(s, m, &batch[got]);
			after = m->id;
			if (++got == want)
				break;
		}
		read_unlock(&s->pt.lock);
		rcu_read_unlock();
		if (got && copy_to_user(&out[copied], batch, got * sizeof(*batch))) {
			ret = -EFAULT;
			break;
		}
		copied += got;
		if (got < want)
			break;
		cond_resched();
	}
	kfree(batch);
	if (ret)
		return ret;
	rcu_read_lock();
	list_for_each_entry_rcu(m, &s->mirrors, node)
		n++;
	rcu_read_unlock();
	a.count = max(n, copied);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

/* Caller holds s->lock for writing. BIND takes no argument: 0. */
static long dxm_ioctl_bind(struct dxm_session *s, void __user *uarg)
{
	struct mmu_notifier *mn;
	struct dxm_mm *d;

	lockdep_assert_held_write(&s->lock);
	if (uarg)
		return -EINVAL;
	if (!current->mm)
		return -EINVAL;
	if (s->mm)
		return s->mm == current->mm ? -EALREADY : -EBUSY;
	/*
	 * Learn of the mm's exit even while no mirror exists. The mmap lock
	 * for writing, killable: BIND may queue behind a long walk.
	 */
	if (mmap_write_lock_killable(current->mm))
		return -EINTR;
	mn = mmu_notifier_get_locked(&dxm_mm_ops, current->mm);
	mmap_write_unlock(current->mm);
	if (IS_ERR(mn))
		return PTR_ERR(mn);
	d = container_of(mn, struct dxm_mm, mn);
	spin_lock(&d->lock);
	list_add(&s->mm_node, &d->sessions);
	spin_unlock(&d->lock);
	s->dmm = d;
	mmgrab(current->mm);
	write_lock(&s->pt.lock);
	s->mm = current->mm;
	s->pid = get_task_pid(current, PIDTYPE_TGID);
	s->uid = current_uid();
	write_unlock(&s->pt.lock);
	dxm_session_changed(s);
	return 0;
}

/* May the caller use the bound mm? */
static long dxm_session_usable(struct dxm_session *s)
{
	struct mm_struct *mm = READ_ONCE(s->mm);

	if (!mm)
		return -ENOTCONN;
	if (READ_ONCE(s->mm_gone))
		return -ESRCH;
	if (mm != current->mm)
		return -EBUSY;
	return 0;
}

/* Caller holds s->lock for writing. */
static long dxm_ioctl_mirror_add(struct dxm_session *s, void __user *uarg)
{
	struct daxmirror_mirror_add a;
	long ret;

	lockdep_assert_held_write(&s->lock);
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~DAXMIRROR_MIRROR_WRITE) || a.pad ||
	    !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	ret = dxm_check_range(a.addr, a.length);
	if (ret)
		return ret;
	ret = dxm_mirror_add(s, a.addr, a.addr + a.length, a.flags, &a.id);
	if (ret)
		return ret;
	if (copy_to_user(uarg, &a, sizeof(a))) {
		dxm_mirror_remove(s, a.id);
		return -EFAULT;
	}
	dxm_session_changed(s);
	return 0;
}

/* Caller holds s->lock for writing. */
static long dxm_ioctl_mirror_remove(struct dxm_session *s, void __user *uarg)
{
	struct daxmirror_mirror_remove a;
	int ret;

	lockdep_assert_held_write(&s->lock);
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.pad || !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	ret = dxm_mirror_remove(s, a.id);
	if (!ret)
		dxm_session_changed(s);
	return ret;
}

/* Copy in and validate a FAULT argument. */
static long dxm_fault_arg(struct daxmirror_fault *a, void __user *uarg)
{
	if (copy_from_user(a, uarg, sizeof(*a)))
		return -EFAULT;
	if ((a->flags & ~DAXMIRROR_FAULT_WRITE) || a->pad ||
	    !dxm_ioctl_zero(a->reserved, sizeof(a->reserved)))
		return -EINVAL;
	return dxm_check_range(a->addr, a->length);
}

/*
 * FAULT's fast path, under RCU alone: a mirror whose entries cover all of
 * it (per-mirror counters, read once) has nothing to fault, so the call
 * returns 0 without the session lock, the page-table lock or any atomic
 * read-modify-write. The answer is as true as the locked one: an
 * invalidation or a REVOKE racing with it acts just after, as it could
 * right after the locked check. dxm_session_may() has refused a revoked
 * or exited session; a mirror without DAXMIRROR_MIRROR_WRITE never has
 * writable entries, so a write fault of it is never "covered" here.
 * -EAGAIN: not fully covered (or no live mirror); the locked path decides.
 */
static long dxm_fault_fast(struct dxm_session *s, void __user *uarg)
{
	struct daxmirror_fault a;
	struct dxm_mirror *m;
	unsigned long all;
	long ret;
	bool write;

	ret = dxm_fault_arg(&a, uarg);
	if (ret)
		return ret;
	write = a.flags & DAXMIRROR_FAULT_WRITE;
	ret = -EAGAIN;
	rcu_read_lock();
	m = dxm_mirror_find(s, a.addr);
	if (m && a.addr + a.length <= m->end) {
		all = (m->end - m->start) >> PAGE_SHIFT;
		if ((write ? READ_ONCE(m->wpages) : READ_ONCE(m->pages)) == all)
			ret = 0;
	}
	rcu_read_unlock();
	if (!ret)
		dxm_stat_add(s, DXM_STAT_FAULT_CALLS, 1);
	return ret;
}

/* Caller holds s->lock for reading. */
static long dxm_ioctl_fault(struct dxm_session *s, void __user *uarg)
{
	struct daxmirror_fault a;
	struct dxm_mirror *m;
	bool write, covered;
	long ret;

	lockdep_assert_held_read(&s->lock);
	ret = dxm_fault_arg(&a, uarg);
	if (ret)
		return ret;
	m = dxm_mirror_find(s, a.addr);
	if (!m || a.addr + a.length > m->end)
		return -ENOENT;
	write = a.flags & DAXMIRROR_FAULT_WRITE;
	if (write && !(m->flags & DAXMIRROR_MIRROR_WRITE))
		return -EPERM;
	dxm_stat_add(s, DXM_STAT_FAULT_CALLS, 1);
	/*
	 * Entries are dropped as soon as the CPU side changes, so a range
	 * they already cover has nothing to fault: answer from the device
	 * table (one lookup per entry) instead of walking the CPU tables.
	 */
	read_lock(&s->pt.lock);
	ret = dxm_access_check(s, m);
	covered = !ret &&
		  dxm_pt_covered(&s->pt, m, a.addr >> PAGE_SHIFT,
				 ((a.addr + a.length) >> PAGE_SHIFT) - 1,
				 write);
	read_unlock(&s->pt.lock);
	if (ret || covered)
		return ret;
	return dxm_mirror_fault(s, m, a.addr, a.addr + a.length, write);
}

/* VERSION on a session fd. */
static long dxm_own_version(struct dxm_session *s, void __user *uarg)
{
	return dxm_ioctl_version(uarg);
}

/* SESSION_INFO on a session fd: its own id (or 0). */
static long dxm_own_info(struct dxm_session *s, void __user *uarg)
{
	struct daxmirror_session_info info;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	if ((info.session_id && info.session_id != s->id) || info.flags ||
	    !dxm_ioctl_zero(info.reserved, sizeof(info.reserved)))
		return -EINVAL;
	return dxm_session_info(s, uarg);
}

/* MIRROR_LIST on a session fd: its own id (or 0); the header read once. */
static long dxm_own_mirror_list(struct dxm_session *s, void __user *uarg)
{
	struct daxmirror_mirror_list list;

	if (copy_from_user(&list, uarg, sizeof(list)))
		return -EFAULT;
	if ((list.session_id && list.session_id != s->id) || list.flags ||
	    list.pad || !dxm_ioctl_zero(list.reserved, sizeof(list.reserved)))
		return -EINVAL;
	return dxm_mirror_list(s, uarg, &list);
}

/* What a session ioctl locks, see the lock order in daxmirror.h. */
enum dxm_lock_class {
	DXM_LOCK_NONE,		/* no sleeping lock: queries */
	DXM_LOCK_ACCESS,	/* s->lock for reading: device accesses */
	DXM_LOCK_SHAPE,		/* s->lock for writing: shape changes */
};

/**
 * struct dxm_session_cmd - one ioctl of the session fd
 * @cmd:	DAXMIRROR_IOC_*
 * @lock:	what the dispatch takes around @fn
 * @bound:	the session must be bound to the caller's mm
 * @fn:		the handler; its argument checks and errnos are the ABI
 */
struct dxm_session_cmd {
	unsigned int cmd;
	enum dxm_lock_class lock;
	bool bound;
	long (*fn)(struct dxm_session *s, void __user *uarg);
	/* DXM_LOCK_ACCESS: answers without the lock, or -EAGAIN for @fn. */
	long (*fast)(struct dxm_session *s, void __user *uarg);
};

static const struct dxm_session_cmd dxm_session_cmds[] = {
	{ DAXMIRROR_IOC_VERSION, DXM_LOCK_NONE, false, dxm_own_version },
	{ DAXMIRROR_IOC_SESSION_INFO, DXM_LOCK_NONE, false, dxm_own_info },
	{ DAXMIRROR_IOC_MIRROR_LIST, DXM_LOCK_NONE, false,
	  dxm_own_mirror_list },
	{ DAXMIRROR_IOC_BIND, DXM_LOCK_SHAPE, false, dxm_ioctl_bind },
	{ DAXMIRROR_IOC_MIRROR_ADD, DXM_LOCK_SHAPE, true,
	  dxm_ioctl_mirror_add },
	{ DAXMIRROR_IOC_MIRROR_REMOVE, DXM_LOCK_SHAPE, true,
	  dxm_ioctl_mirror_remove },
	{ DAXMIRROR_IOC_FAULT, DXM_LOCK_ACCESS, true, dxm_ioctl_fault,
	  dxm_fault_fast },
	{ DAXMIRROR_IOC_SNAPSHOT, DXM_LOCK_ACCESS, true, dxm_ioctl_snapshot },
	{ DAXMIRROR_IOC_SNAPSHOT_EXTENTS, DXM_LOCK_NONE, true,
	  dxm_ioctl_snapshot_extents },
	{ DAXMIRROR_IOC_READ, DXM_LOCK_ACCESS, true, dxm_ioctl_read },
	{ DAXMIRROR_IOC_WRITE, DXM_LOCK_ACCESS, true, dxm_ioctl_write },
};

/* A revoked session answers nothing but ENODEV; then @c->bound. */
static long dxm_session_may(struct dxm_session *s,
			    const struct dxm_session_cmd *c)
{
	if (READ_ONCE(s->revoked))
		return -ENODEV;
	return c->bound ? dxm_session_usable(s) : 0;
}

/*
 * Shape changes: s->lock for writing, killable. A revoke that came in the
 * meantime strips on the way out.
 */
static long dxm_shape_ioctl(struct dxm_session *s,
			    const struct dxm_session_cmd *c, void __user *uarg)
{
	long ret;

	if (down_write_killable(&s->lock))
		return -EINTR;
	ret = dxm_session_may(s, c);
	if (!ret)
		ret = c->fn(s, uarg);
	if (READ_ONCE(s->revoked))
		dxm_session_strip(s);
	up_write(&s->lock);
	return ret;
}

/*
 * Device accesses: s->lock for reading, so any number run at once,
 * killable. The last one out of a revoked session strips it.
 */
static long dxm_access_ioctl(struct dxm_session *s,
			     const struct dxm_session_cmd *c, void __user *uarg)
{
	long ret;

	if (c->fast && !dxm_session_may(s, c)) {
		ret = c->fast(s, uarg);
		if (ret != -EAGAIN)
			return ret;
	}
	if (down_read_killable(&s->lock))
		return -EINTR;
	ret = dxm_session_may(s, c);
	if (!ret)
		ret = c->fn(s, uarg);
	up_read(&s->lock);
	/* Unlock before reading the mark: pairs with dxm_session_revoke(). */
	smp_mb();
	if (READ_ONCE(s->revoked) && !READ_ONCE(s->stripped))
		dxm_session_reap(s);
	return ret;
}

/* The entry of @cmd in dxm_session_cmds, or NULL. */
static const struct dxm_session_cmd *dxm_session_cmd(unsigned int cmd)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dxm_session_cmds); i++)
		if (dxm_session_cmds[i].cmd == cmd)
			return &dxm_session_cmds[i];
	return NULL;
}

static long dxm_session_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	const struct dxm_session_cmd *c = dxm_session_cmd(cmd);
	struct dxm_session *s = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	if (!c)
		return -ENOTTY;
	if (c->lock == DXM_LOCK_SHAPE)
		return dxm_shape_ioctl(s, c, uarg);
	if (c->lock == DXM_LOCK_ACCESS)
		return dxm_access_ioctl(s, c, uarg);
	ret = dxm_session_may(s, c);
	return ret ? ret : c->fn(s, uarg);
}

static ssize_t dxm_session_read(struct file *file, char __user *buf,
				size_t count, loff_t *ppos)
{
	struct dxm_session *s = file->private_data;

	return dxm_ring_read(&s->events, &s->ev_cursor, buf, count,
			     file->f_flags & O_NONBLOCK);
}

static __poll_t dxm_session_poll(struct file *file, poll_table *wait)
{
	struct dxm_session *s = file->private_data;

	return dxm_ring_poll(&s->events, &s->ev_cursor, file, wait);
}

static int dxm_session_release(struct inode *inode, struct file *file)
{
	struct dxm_session *s = file->private_data;

	dxm_session_unlist(s);
	write_lock(&s->pt.lock);
	s->closed = true;	/* control calls that looked it up fail now */
	write_unlock(&s->pt.lock);
	/* The strip is ours now; a queued one goes with its reference. */
	if (cancel_delayed_work_sync(&s->strip_work))
		dxm_session_put(s);
	/* No access is in flight: each holds a reference to this file. */
	down_write(&s->lock);
	dxm_session_strip(s);
	up_write(&s->lock);
	if (s->listed)
		dxm_ring_post(&dxm_control_events,
			      DAXMIRROR_EVENT_SESSION_CLOSED, s->id, 0);
	dxm_session_put(s);
	return 0;
}

const struct file_operations dxm_session_fops = {
	.owner		= THIS_MODULE,
	.release	= dxm_session_release,
	.unlocked_ioctl	= dxm_session_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.read		= dxm_session_read,
	.poll		= dxm_session_poll,
	.llseek		= noop_llseek,
};
