// SPDX-License-Identifier: GPL-2.0
/*
 * mirror.c - mirrors: the policy that decides what may be mirrored, the
 * interval notifier that keeps the device page table coherent, and the
 * device fault loop that fills it with hmm_range_fault(). Also the notice
 * that a session's mm is gone, which a mirror's release invalidation and
 * the mm exit notifier its sessions share (session.c) both give.
 */
#include <linux/hmm.h>
#include <linux/hugetlb.h>
#include <linux/ktime.h>
#include <linux/magic.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "daxmirror.h"

/* Pages asked of hmm_range_fault() per call: bounds the pfn array (128 KiB). */
#define DXM_FAULT_CHUNK_PAGES	16384UL

/*
 * Anonymous hugetlb memory: MAP_ANONYMOUS|MAP_HUGETLB and SysV SHM_HUGETLB
 * are backed by files the kernel makes on its internal hugetlbfs mounts
 * (SB_KERNMOUNT), named HUGETLB_ANON_FILE or S_PRIVATE; no process can
 * open them and hand them to the broker. A memfd of MFD_HUGETLB lives there
 * too, under its own name: it is a file, like any memfd.
 */
static bool dxm_vma_is_anon_hugetlb(struct vm_area_struct *vma)
{
	struct inode *inode;

	if (!is_vm_hugetlb_page(vma) || !vma->vm_file)
		return false;
	inode = file_inode(vma->vm_file);
	if (!(inode->i_sb->s_flags & SB_KERNMOUNT))
		return false;
	return IS_PRIVATE(inode) ||
	       !strcmp(vma->vm_file->f_path.dentry->d_name.name,
		       HUGETLB_ANON_FILE);
}

/*
 * Anonymous memory: private anonymous VMAs, the kernel-internal shmem
 * files behind MAP_SHARED|MAP_ANONYMOUS and SysV shm (S_PRIVATE inodes on
 * tmpfs, which no process can open and hand to the broker), and anonymous
 * hugetlb memory.
 */
static bool dxm_vma_is_anon(struct vm_area_struct *vma)
{
	struct inode *inode;

	if (vma_is_anonymous(vma))
		return true;
	if (!vma->vm_file)
		return false;
	if (dxm_vma_is_anon_hugetlb(vma))
		return true;
	inode = file_inode(vma->vm_file);
	return IS_PRIVATE(inode) && inode->i_sb->s_magic == TMPFS_MAGIC;
}

/* Does a grant of @s allow the file range of @vma covering [@a, @b)? */
static bool dxm_granted(struct dxm_session *s, struct vm_area_struct *vma,
			unsigned long a, unsigned long b, bool write)
{
	struct inode *inode = file_inode(vma->vm_file);
	u64 off = ((u64)vma->vm_pgoff << PAGE_SHIFT) + (a - vma->vm_start);
	u64 len = b - a;
	struct dxm_grants *gs;
	bool ok = false;
	u32 i;

	/*
	 * Pairs with the barrier in dxm_session_ungrant(): a fault's mirror
	 * is on the session's list before the table is read.
	 */
	smp_mb();
	rcu_read_lock();
	gs = rcu_dereference(s->grants);
	for (i = 0; gs && i < gs->nr && !ok; i++) {
		struct dxm_grant *g = &gs->g[i];

		if (file_inode(g->file) != inode)
			continue;
		if (write && !(g->flags & DAXMIRROR_GRANT_WRITE))
			continue;
		ok = off >= g->offset && off + len <= g->offset + g->length;
	}
	rcu_read_unlock();
	return ok;
}

/* Policy for the part [@a, @b) of @vma. */
static int dxm_policy_vma(struct dxm_session *s, struct vm_area_struct *vma,
			  unsigned long a, unsigned long b, bool write)
{
	if (vma->vm_flags & (VM_IO | VM_PFNMAP))
		return -EOPNOTSUPP;
	/*
	 * memfd_secret() memory is not in the kernel's direct map: the
	 * device cannot reach it (vma_is_secretmem() is not exported; its
	 * files all live on the secretmem mount).
	 */
	if (vma->vm_file &&
	    file_inode(vma->vm_file)->i_sb->s_magic == SECRETMEM_MAGIC)
		return -EOPNOTSUPP;
	if (write && !(vma->vm_flags & VM_WRITE))
		return -EPERM;
	if (dxm_vma_is_anon(vma))
		return (s->flags & DAXMIRROR_SESSION_ALLOW_ANON) ? 0 : -EPERM;
	if (!vma->vm_file)
		return -EOPNOTSUPP;	/* special mappings: vdso and the like */
	if (!vma_is_dax(vma) && !(s->flags & DAXMIRROR_SESSION_ALLOW_PAGECACHE))
		return -EPERM;
	return dxm_granted(s, vma, a, b, write) ? 0 : -EACCES;
}

static void dxm_mirror_fill_backing(struct dxm_mirror *m,
				    struct vm_area_struct *vma)
{
	struct inode *inode;

	if (dxm_vma_is_anon(vma)) {
		m->backing = DAXMIRROR_BACKING_ANON;
		return;
	}
	inode = file_inode(vma->vm_file);
	m->backing = DAXMIRROR_BACKING_FILE;
	if (vma_is_dax(vma))
		m->backing |= DAXMIRROR_BACKING_DAX;
	m->inode = inode;
	ihold(inode);
	m->dev = new_encode_dev(inode->i_sb->s_dev);
	m->ino = inode->i_ino;
	m->file_offset = ((u64)vma->vm_pgoff << PAGE_SHIFT) +
			 (m->start - vma->vm_start);
}

/* Drop @m's hold of its file's inode (may sleep: the last iput evicts). */
static void dxm_mirror_put_inode(struct dxm_mirror *m)
{
	struct inode *inode = m->inode;

	might_sleep();
	WRITE_ONCE(m->inode, NULL);	/* dxm_grant_in_use() reads it */
	if (inode)
		iput(inode);
}

/*
 * Is the part of @vma at @addr what @m mirrors? A mirror holds anonymous
 * memory, or one file's range at offsets that follow its addresses, as
 * its first VMA set them at MIRROR_ADD: so its inode and file_offset are
 * all UNGRANT's in-use check has to look at. Another file there (even one
 * with the same device and inode number), or the same file at other
 * offsets, is refused.
 */
static bool dxm_vma_is_mirrors(const struct dxm_mirror *m,
			       struct vm_area_struct *vma, unsigned long addr)
{
	struct inode *inode;
	u64 off;

	if (dxm_vma_is_anon(vma))
		return !(m->backing & DAXMIRROR_BACKING_FILE);
	if (!(m->backing & DAXMIRROR_BACKING_FILE))
		return false;
	inode = file_inode(vma->vm_file);
	off = ((u64)vma->vm_pgoff << PAGE_SHIFT) + (addr - vma->vm_start);
	return inode == m->inode && off == m->file_offset + (addr - m->start);
}

/*
 * Check every VMA of [@start, @end) of mirror @m against the session's
 * policy and against what @m mirrors. @adding: MIRROR_ADD, whose first
 * VMA sets what @m mirrors. Caller holds s->lock (either way) and the mmap
 * lock of s->mm.
 */
static int dxm_policy_check(struct dxm_session *s, struct dxm_mirror *m,
			    unsigned long start, unsigned long end, bool write,
			    bool adding)
{
	unsigned long addr = start;

	lockdep_assert_held(&s->lock);
	/*
	 * Not mmap_assert_locked(): under CONFIG_DEBUG_VM it calls dump_mm(),
	 * which 6.1 does not export to modules.
	 */
	lockdep_assert_held(&s->mm->mmap_lock);
	while (addr < end) {
		struct vm_area_struct *vma = find_vma(s->mm, addr);
		int ret;

		if (!vma || vma->vm_start > addr)
			return -EFAULT;
		ret = dxm_policy_vma(s, vma, addr, min(end, vma->vm_end),
				     write);
		if (ret)
			return ret;
		if (adding && addr == start)
			dxm_mirror_fill_backing(m, vma);
		if (!dxm_vma_is_mirrors(m, vma, addr))
			return -EXDEV;
		addr = vma->vm_end;
	}
	return 0;
}

/* Entries dropped per hold of the page-table lock where the caller may sleep. */
#define DXM_ERASE_BATCH	1024

/*
 * Drop the entries of pages [@first, @last] of @m. Caller holds the
 * page-table lock for writing; if @may_sleep, the lock is dropped and the
 * CPU yielded every DXM_ERASE_BATCH entries (a per-page mirror of GiBs is
 * ~10^6 entries), and it is held again on return. Returns the pages the
 * dropped entries covered.
 */
static unsigned long dxm_mirror_erase(struct dxm_session *s,
				      struct dxm_mirror *m, unsigned long first,
				      unsigned long last, bool may_sleep)
	__must_hold(&s->pt.lock)
{
	unsigned long batch = may_sleep ? DXM_ERASE_BATCH : ULONG_MAX;
	unsigned long pages = 0;
	bool more = true;

	lockdep_assert_held_write(&s->pt.lock);
	while (more) {
		pages += dxm_pt_erase_batch(&s->pt, m, first, last, batch,
					    &more);
		if (more) {
			write_unlock(&s->pt.lock);
			cond_resched();
			write_lock(&s->pt.lock);
		}
	}
	return pages;
}

/*
 * The bound mm exited (its release notifier, or a mirror's release
 * invalidation, whichever runs first): the session learns it once, by
 * MM_RELEASED on both queues and EPOLLHUP on its file.
 */
void dxm_session_mm_gone(struct dxm_session *s)
{
	bool first;

	write_lock(&s->pt.lock);
	/*
	 * A revoked or closed session is told nothing more (REVOKED is its
	 * last event, or nobody reads it); it still stops naming the pid.
	 */
	first = !s->mm_gone && !s->revoked && !s->closed;
	WRITE_ONCE(s->mm_gone, true);
	write_unlock(&s->pt.lock);
	if (!first)
		return;
	dxm_ring_post(&s->events, DAXMIRROR_EVENT_MM_RELEASED, s->id, 0);
	dxm_ring_hangup(&s->events, false);
	dxm_ring_post(&dxm_control_events, DAXMIRROR_EVENT_MM_RELEASED, s->id,
		      0);
}

/*
 * The session's pid or mirrors changed: tell the control node, once until
 * its reader acks (SESSION_INFO with DAXMIRROR_INFO_ACK_CHANGE), so a
 * client reshaping its mirrors in a loop queues one event, not one per
 * change. test_and_set_bit() orders the change before the post: a reader
 * that re-armed the bit and then reads the session sees the change or
 * gets another event. Nothing to say of a revoked or closed session.
 */
void dxm_session_changed(struct dxm_session *s)
{
	if (READ_ONCE(s->revoked) || READ_ONCE(s->closed))
		return;
	if (!test_and_set_bit(DXM_CTL_CHANGE_POSTED, &s->ctl_bits))
		dxm_ring_post(&dxm_control_events,
			      DAXMIRROR_EVENT_SESSION_CHANGED, s->id, 0);
}

/*
 * @m's VMAs or mm went away: device accesses fail with ENOENT from now on,
 * and the next MIRROR_ADD reaps it. Caller holds the page-table lock for
 * writing.
 */
static void dxm_mirror_mark_released(struct dxm_session *s,
				     struct dxm_mirror *m)
{
	lockdep_assert_held_write(&s->pt.lock);
	WRITE_ONCE(m->released, true);
	s->nr_released++;
}

/*
 * The interval notifier: drop the device entries of the invalidated part
 * of the mirror. The CPU backend takes only spinning locks, so it is safe
 * for non-blockable ranges and always succeeds. A blockable one drops the
 * page-table lock between batches: the pages stay mapped until this
 * returns, so a device access between batches still reads valid memory,
 * and the sequence set first makes every fault in flight retry.
 *
 * The DMA backend's dropped entries are unmapped from the IOMMU as they
 * go (dxm_dma_pte_drop()), except one a transfer is using: a blockable
 * invalidation waits until that transfer ended and its issuer unmapped
 * it, so no IOVA of the range is left when this returns; a non-blockable
 * one fails (returns false) while such a transfer is in flight.
 */
static bool dxm_invalidate(struct mmu_interval_notifier *mni,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq)
{
	struct dxm_mirror *m = container_of(mni, struct dxm_mirror, notifier);
	struct dxm_session *s = m->session;
	unsigned long start = max(range->start, m->start);
	unsigned long end = min(range->end, m->end);
	bool blockable = mmu_notifier_range_blockable(range);
	bool mm_released = false, mirror_released = false, fence = false;
	unsigned long first = start >> PAGE_SHIFT, last = (end >> PAGE_SHIFT) - 1;
	u64 seq;

	write_lock(&s->pt.lock);
	/* A DMA transfer on the range must end first: wait, or say so. */
	if (!blockable && start < end && dxm_dma_busy(s, first, last, &seq)) {
		write_unlock(&s->pt.lock);
		return false;
	}
	mmu_interval_set_seq(mni, cur_seq);
	if (start < end) {
		s->inv.invalidations++;
		s->inv.pages_invalidated +=
			dxm_mirror_erase(s, m, first, last, blockable);
		/*
		 * The entries are gone: no transfer can start on them. One
		 * that started before still uses its IOVA (its issuer unmaps
		 * it when it ends): wait for it below, the lock dropped.
		 */
		fence = dxm_dma_busy(s, first, last, &seq);
		if (fence)
			s->dma_waits++;
	}
	if (range->event == MMU_NOTIFY_RELEASE && !m->released) {
		dxm_mirror_mark_released(s, m);
		mm_released = true;
	} else if (range->event == MMU_NOTIFY_UNMAP && !m->released) {
		if (range->start <= m->start && range->end >= m->end) {
			dxm_mirror_mark_released(s, m);
			mirror_released = true;
		} else {
			/* Part of it: the rest may be gone already. */
			schedule_delayed_work(&m->unmap_check, 0);
		}
	}
	write_unlock(&s->pt.lock);
	if (fence)
		dxm_dma_fence(s, seq);

	if (mm_released)
		dxm_session_mm_gone(s);
	/*
	 * The mirror's id goes to the session's own queue only; the control
	 * node learns of it by the coalesced SESSION_CHANGED, so a client
	 * that maps and unmaps mirrors in a loop cannot flood that queue
	 * (forcing OVERFLOW resyncs on the broker).
	 */
	if (mirror_released) {
		dxm_ring_post(&s->events, DAXMIRROR_EVENT_MIRROR_RELEASED,
			      s->id, m->id);
		dxm_session_changed(s);
	}
	return true;
}

/*
 * A munmap took part of @m: if no VMA is left in it (its pieces unmapped
 * by separate calls), it is released as one munmap of all of it would
 * have released it. A work item: the invalidation that noticed runs under
 * the mmap lock munmap holds. It never waits for that lock (a client may
 * hold it for long; dxm_mirror_destroy() waits for this work): it tries
 * again a little later.
 */
static void dxm_mirror_unmap_check(struct work_struct *work)
{
	struct dxm_mirror *m = container_of(to_delayed_work(work),
					    struct dxm_mirror, unmap_check);
	struct dxm_session *s = m->session;
	struct mm_struct *mm = s->mm;
	bool gone, released = false;

	if (!mmget_not_zero(mm))
		return;		/* exiting: its release marks the mirror */
	if (!mmap_read_trylock(mm)) {
		mmput(mm);
		schedule_delayed_work(&m->unmap_check, msecs_to_jiffies(10));
		return;
	}
	gone = !find_vma_intersection(mm, m->start, m->end);
	mmap_read_unlock(mm);
	mmput(mm);
	if (!gone)
		return;

	write_lock(&s->pt.lock);
	if (!m->released) {
		dxm_mirror_mark_released(s, m);
		released = true;
	}
	write_unlock(&s->pt.lock);
	if (released) {
		dxm_ring_post(&s->events, DAXMIRROR_EVENT_MIRROR_RELEASED,
			      s->id, m->id);
		dxm_session_changed(s);
	}
}

static const struct mmu_interval_notifier_ops dxm_mirror_ops = {
	.invalidate = dxm_invalidate,
};

/*
 * The live mirror containing @addr, or NULL: one maple-tree walk, however
 * many mirrors the session has. Caller holds s->lock (it keeps the mirror)
 * or RCU (the mirror's memory stays until a grace period after its
 * destruction).
 */
struct dxm_mirror *dxm_mirror_find(struct dxm_session *s, unsigned long addr)
{
	struct dxm_mirror *m;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held() && !lockdep_is_held(&s->lock),
			 "mirror lookup without s->lock or RCU");
	m = mtree_load(&s->mirror_mt, addr);
	/*
	 * Set once, under the page-table lock, by the invalidation; a stale
	 * "live" here only means the fault that follows finds the range
	 * unmapped, or the copy step sees it.
	 */
	return m && !READ_ONCE(m->released) ? m : NULL;
}

static bool dxm_mirror_overlaps(struct dxm_session *s, unsigned long start,
				unsigned long end)
{
	unsigned long index = start;

	lockdep_assert_held_write(&s->lock);
	return mt_find(&s->mirror_mt, &index, end - 1);
}

/*
 * Free the mirrors whose VMAs went away. They stay listed (state RELEASED)
 * after their event so the broker can see them, until the client removes
 * them or adds a new mirror. Caller holds s->lock for writing.
 */
static void dxm_mirror_reap(struct dxm_session *s)
{
	struct dxm_mirror *m, *tmp;
	bool released;
	u32 pending;

	lockdep_assert_held_write(&s->lock);
	read_lock(&s->pt.lock);
	pending = s->nr_released;
	read_unlock(&s->pt.lock);
	if (!pending)
		return;		/* the usual case: no walk of all mirrors */
	list_for_each_entry_safe(m, tmp, &s->mirrors, node) {
		read_lock(&s->pt.lock);
		released = m->released;
		read_unlock(&s->pt.lock);
		if (released)
			dxm_mirror_destroy(s, m);
	}
}

/*
 * Take @m out of the address and id indexes; cannot fail. In RCU mode the
 * maple tree allocates even to erase (nodes are replaced, not edited), and
 * mtree_erase() gives up silently when that allocation fails, which would
 * leave a pointer to a mirror about to be freed: store NULL over its range
 * with __GFP_NOFAIL instead. Erasing from the xarray allocates nothing.
 */
static void dxm_mirror_unindex(struct dxm_session *s, struct dxm_mirror *m)
{
	MA_STATE(mas, &s->mirror_mt, m->start, m->end - 1);

	mtree_lock(&s->mirror_mt);
	WARN_ON_ONCE(mas_store_gfp(&mas, NULL, GFP_KERNEL | __GFP_NOFAIL));
	mtree_unlock(&s->mirror_mt);
	xa_erase(&s->mirror_ids, m->id);
}

/*
 * Add a mirror of [@start, @end) of the caller's mm. Caller holds s->lock
 * for writing.
 */
int dxm_mirror_add(struct dxm_session *s, unsigned long start,
		   unsigned long end, u32 flags, u64 *id)
{
	unsigned long pages = (end - start) >> PAGE_SHIFT;
	struct dxm_mirror *m;
	int ret;

	lockdep_assert_held_write(&s->lock);
	dxm_mirror_reap(s);
	if ((flags & DAXMIRROR_MIRROR_WRITE) &&
	    !(s->flags & DAXMIRROR_SESSION_ALLOW_WRITE))
		return -EPERM;
	if (s->nr_mirrors >= s->max_mirrors)
		return -ENOSPC;
	if (pages > s->max_pages - s->mirrored_pages)
		return -EDQUOT;
	if (dxm_mirror_overlaps(s, start, end))
		return -EEXIST;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	m->session = s;
	m->start = start;
	m->end = end;
	m->flags = flags;
	INIT_DELAYED_WORK(&m->unmap_check, dxm_mirror_unmap_check);

	ret = mmap_read_lock_killable(s->mm);
	if (ret)
		goto err_free;
	ret = dxm_policy_check(s, m, start, end, flags & DAXMIRROR_MIRROR_WRITE,
			       true);
	mmap_read_unlock(s->mm);
	if (ret)
		goto err_free;

	/*
	 * Index it before the notifier goes in, so nothing can fail once an
	 * invalidation may have seen it (and queued its unmap check or
	 * marked it released). From the tree insert on, a lockless FAULT
	 * may find it: with no entry it answers nothing and waits for
	 * s->lock, held here; so an undo frees it through RCU.
	 */
	m->id = s->next_mirror_id;
	ret = xa_insert(&s->mirror_ids, m->id, m, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free;
	ret = mtree_insert_range(&s->mirror_mt, start, end - 1, m,
				 GFP_KERNEL_ACCOUNT);
	if (ret) {
		xa_erase(&s->mirror_ids, m->id);
		goto err_free;
	}
	/*
	 * The VMAs may change before the notifier is in: harmless, every
	 * device fault checks the policy again under the mmap lock.
	 */
	ret = mmu_interval_notifier_insert(&m->notifier, s->mm, start,
					   end - start, &dxm_mirror_ops);
	if (ret) {
		dxm_mirror_unindex(s, m);
		dxm_mirror_put_inode(m);
		kfree_rcu(m, rcu);
		return ret;
	}
	s->next_mirror_id++;
	list_add_tail_rcu(&m->node, &s->mirrors);
	s->nr_mirrors++;
	s->mirrored_pages += pages;
	*id = m->id;
	return 0;

err_free:
	dxm_mirror_put_inode(m);
	kfree(m);
	return ret;
}

/*
 * Unregister @m, drop its device entries and free it once control-node
 * readers are done with it. Caller holds s->lock for writing: no device
 * access uses it.
 */
void dxm_mirror_destroy(struct dxm_session *s, struct dxm_mirror *m)
{
	lockdep_assert_held_write(&s->lock);
	list_del_rcu(&m->node);
	dxm_mirror_unindex(s, m);
	/*
	 * The entries go while the notifier still watches the pages: once it
	 * is removed the CPU side may free them, and no entry (nor the IOVA
	 * of the DMA backend) may outlive them. No fault can store one anew:
	 * that takes s->lock.
	 */
	write_lock(&s->pt.lock);
	dxm_mirror_erase(s, m, m->start >> PAGE_SHIFT,
			 (m->end >> PAGE_SHIFT) - 1, true);
	write_unlock(&s->pt.lock);
	mmu_interval_notifier_remove(&m->notifier);
	/* Nothing schedules it any more; it may requeue itself. */
	cancel_delayed_work_sync(&m->unmap_check);
	write_lock(&s->pt.lock);
	if (m->released)
		s->nr_released--;
	write_unlock(&s->pt.lock);
	s->nr_mirrors--;
	s->mirrored_pages -= (m->end - m->start) >> PAGE_SHIFT;
	/* RCU readers compare the pointer only, never dereference it. */
	dxm_mirror_put_inode(m);
	kfree_rcu(m, rcu);
}

/* Caller holds s->lock for writing. */
int dxm_mirror_remove(struct dxm_session *s, u64 id)
{
	struct dxm_mirror *m;

	lockdep_assert_held_write(&s->lock);
	m = xa_load(&s->mirror_ids, id);
	if (!m || m->id != id)	/* the index is an unsigned long */
		return -ENOENT;
	dxm_mirror_destroy(s, m);
	return 0;
}

static unsigned long dxm_page_pte_flags(unsigned long hpfn,
					struct dxm_mirror *m)
{
	struct page *page = hmm_pfn_to_page(hpfn);
	unsigned long flags = 0;

	if ((hpfn & HMM_PFN_WRITE) && (m->flags & DAXMIRROR_MIRROR_WRITE))
		flags |= DXM_PTE_WRITE;
	if (is_zone_device_page(page)) {
		flags |= DXM_PTE_ZONE_DEVICE;
		/*
		 * A mirror holds one file (dxm_policy_check()), so a device
		 * page of a mirror of a DAX file is that file's fsdax page;
		 * no need of the page's pgmap, which 6.14 moved to the folio.
		 */
		if (m->backing & DAXMIRROR_BACKING_DAX)
			flags |= DXM_PTE_DAX;
	}
	return flags;
}

/*
 * May a device access still use mirror @m of @s? Under the page-table lock
 * this is final until the lock is dropped: REVOKE, the mm's exit and the
 * mirror's release all set their mark under it. 0, or the errno the
 * access fails with.
 */
int dxm_access_check(struct dxm_session *s, struct dxm_mirror *m)
{
	lockdep_assert_held(&s->pt.lock);
	if (s->revoked)
		return -ENODEV;
	if (s->mm_gone)
		return -ESRCH;
	if (m->released)
		return -ENOENT;
	return 0;
}

/* Entries a DMA session maps per hold of the page-table lock. */
#define DXM_DMA_MAP_BATCH	64

/*
 * Store the entry of @order pages from @pfn at page @base of @m: the PFN
 * itself (CPU backend), or an IOVA mapping of the pages (DMA backend) that
 * is made only if the table does not hold that very entry already (an
 * entry still in the table maps what the CPU maps: any change would have
 * invalidated it). Caller holds the page-table lock for writing.
 */
static int dxm_pt_store(struct dxm_session *s, struct dxm_pt_cursor *cur,
			struct dxm_mirror *m, unsigned long base,
			unsigned int order, unsigned long pfn,
			unsigned long flags)
{
	unsigned long obase;
	void *pte, *old;
	int ret;

	lockdep_assert_held_write(&s->pt.lock);
	if (!s->edu)
		return dxm_pt_set(&s->pt, cur, m, base, order,
				  dxm_pte_make(pfn, order, flags));
	old = dxm_pt_lookup(&s->pt, base, &obase);
	if (old && obase == base && dxm_pte_order(old) == order &&
	    dxm_pte_flags(old) == flags)
		return 0;
	ret = dxm_dma_map(s, pfn_to_page(pfn), order, flags, &pte);
	if (ret)
		return ret;
	ret = dxm_pt_set(&s->pt, cur, m, base, order, pte);
	if (ret)
		dxm_dma_unmap_pte(s, pte);
	return ret;
}

/*
 * Store what hmm_range_fault() returned into the device page table, unless
 * an invalidation ran since mmu_interval_read_begin() (-EAGAIN: fault
 * again), or the session or mirror can no longer be used. A huge CPU
 * mapping becomes one entry of its order when its aligned block lies
 * inside the mirror, else one entry per page.
 */
static int dxm_pt_commit(struct dxm_session *s, struct dxm_mirror *m,
			 struct hmm_range *range)
{
	bool per_page = s->flags & DAXMIRROR_SESSION_PER_PAGE;
	unsigned long first = range->start >> PAGE_SHIFT;
	unsigned long n = (range->end - range->start) >> PAGE_SHIFT;
	unsigned long lo = m->start >> PAGE_SHIFT, hi = m->end >> PAGE_SHIFT;
	struct dxm_pt_cursor cur;
	unsigned long i = 0, stored;
	bool yield;
	u64 t0, t1;
	int ret = 0;

	dxm_pt_cursor_init(&s->pt, &cur);
again:
	stored = 0;
	yield = false;
	t0 = ktime_get_ns();
	write_lock(&s->pt.lock);
	t1 = ktime_get_ns();
	dxm_stat_add(s, DXM_STAT_LOCK_NS, t1 - t0);
	ret = dxm_access_check(s, m);
	if (!ret && mmu_interval_read_retry(range->notifier, range->notifier_seq))
		ret = -EAGAIN;
	if (ret) {
		write_unlock(&s->pt.lock);
		dxm_pt_cursor_nomem(&cur);	/* frees preallocated nodes */
		return ret;
	}
	while (i < n) {
		unsigned long hpfn = range->hmm_pfns[i];
		unsigned long index = first + i, base, pfn;
		unsigned int order;

		if (!(hpfn & HMM_PFN_VALID) || (hpfn & HMM_PFN_ERROR)) {
			i++;
			continue;
		}
		pfn = page_to_pfn(hmm_pfn_to_page(hpfn));
		order = hmm_pfn_to_map_order(hpfn);
		base = order ? index & ~((1UL << order) - 1) : index;
		if (per_page || dxm_order_slot(order) < 0 || base < lo ||
		    base + (1UL << order) > hi) {
			order = 0;
			base = index;
		}
		pfn -= index - base;
		ret = dxm_pt_store(s, &cur, m, base, order, pfn,
				   dxm_page_pte_flags(hpfn, m));
		if (ret)
			break;
		i = base + (1UL << order) - first;
		/* IOMMU maps are slower than stores: yield between batches. */
		if (s->edu && ++stored == DXM_DMA_MAP_BATCH && i < n) {
			yield = true;
			break;
		}
	}
	dxm_pt_cursor_unlock(&cur);
	write_unlock(&s->pt.lock);
	dxm_stat_add(s, DXM_STAT_UPDATE_NS, ktime_get_ns() - t1);
	/*
	 * Allocates after -ENOMEM (retry), else frees what was preallocated
	 * (and forgets the cursors' nodes: the lock was dropped); false with
	 * -ENOMEM left when the allocation itself failed (the caller's
	 * memory cgroup is full).
	 */
	if (dxm_pt_cursor_nomem(&cur) || yield) {
		ret = 0;
		cond_resched();
		goto again;	/* the sequence is checked again */
	}
	return ret;
}

/*
 * Fault [@start, @end) (inside one chunk) into the device page table: the
 * mmu_interval_read_begin -> hmm_range_fault -> page-table lock ->
 * mmu_interval_read_retry loop. No wall-clock limit: it retries until it
 * succeeds, fails, a fatal signal arrives (-EINTR) or the session is
 * revoked (-ENODEV), and counts the retries. Caller holds s->lock for
 * reading.
 */
static int dxm_fault_chunk(struct dxm_session *s, struct dxm_mirror *m,
			   unsigned long *pfns, unsigned long start,
			   unsigned long end, bool write)
{
	struct hmm_range range = {
		.notifier = &m->notifier,
		.start = start,
		.end = end,
		.hmm_pfns = pfns,
		.default_flags = HMM_PFN_REQ_FAULT |
				 (write ? HMM_PFN_REQ_WRITE : 0),
	};
	u64 t0;
	int ret;

	lockdep_assert_held_read(&s->lock);
	for (;;) {
		if (fatal_signal_pending(current))
			return -EINTR;
		if (READ_ONCE(s->revoked))
			return -ENODEV;
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		t0 = ktime_get_ns();
		if (mmap_read_lock_killable(s->mm))
			return -EINTR;
		ret = dxm_policy_check(s, m, start, end, write, false);
		if (!ret) {
			dxm_stat_add(s, DXM_STAT_RANGE_FAULTS, 1);
			ret = hmm_range_fault(&range);
		}
		mmap_read_unlock(s->mm);
		dxm_stat_add(s, DXM_STAT_WALK_NS, ktime_get_ns() - t0);
		if (!ret)
			ret = dxm_pt_commit(s, m, &range);
		if (ret != -EBUSY && ret != -EAGAIN)
			return ret;
		dxm_stat_add(s, DXM_STAT_RANGE_RETRIES, 1);
		cond_resched();
	}
}

/*
 * Fault [@start, @end) of mirror @m, page aligned. Caller holds s->lock
 * for reading.
 */
int dxm_mirror_fault(struct dxm_session *s, struct dxm_mirror *m,
		     unsigned long start, unsigned long end, bool write)
{
	unsigned long pages = (end - start) >> PAGE_SHIFT;
	u64 t0 = ktime_get_ns();
	unsigned long *pfns;
	int ret = 0;

	lockdep_assert_held_read(&s->lock);
	if (write && !(m->flags & DAXMIRROR_MIRROR_WRITE))
		return -EPERM;
	pfns = kvmalloc_array(min(pages, DXM_FAULT_CHUNK_PAGES), sizeof(*pfns),
			      GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (!pfns)
		return -ENOMEM;
	while (start < end && !ret) {
		unsigned long next = min(end, start +
					 (DXM_FAULT_CHUNK_PAGES << PAGE_SHIFT));

		ret = dxm_fault_chunk(s, m, pfns, start, next, write);
		start = next;
	}
	kvfree(pfns);
	/* All of it, so the phases' timers show what they leave out. */
	dxm_stat_add(s, DXM_STAT_POPULATE_NS, ktime_get_ns() - t0);
	return ret;
}
