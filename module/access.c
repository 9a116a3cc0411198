// SPDX-License-Identifier: GPL-2.0
/*
 * access.c - the device's own view of memory: device read and write
 * through the device page table (faulting on the device side when an
 * entry is missing or read-only, the way a GPU would), and the snapshots
 * of the device page table: per page (SNAPSHOT) and per entry
 * (SNAPSHOT_EXTENTS).
 */
#include <linux/highmem.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/pagemap.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/xarray.h>

#include "daxmirror.h"

/* The device faults this block around a missing page (clipped to the mirror). */
#define DXM_DEVICE_FAULT_SIZE	PMD_SIZE
/* Bytes copied per hold of the page-table lock, at most. */
#define DXM_LOCK_BYTES		(256 * 1024)

/*
 * The device wrote to @page: make sure the kernel knows. A writable CPU
 * mapping can be clean (MADV_FREE keeps the write bit and clears dirty; a
 * read fault of a shared writable shmem mapping installs a writable clean
 * PTE), and reclaim drops clean pages: without this the device's bytes are
 * lost. DAX pages are persistent memory written with cache flushes; they
 * have no dirty state to keep.
 *
 * folio_mark_dirty() wants the folio safe from truncation: the caller
 * holds the device page-table lock of @s with an entry mapping the page,
 * and truncation (like reclaim) must invalidate that entry, which takes
 * the same lock, before it can remove the folio; the same rule that lets
 * the CPU fault path dirty a folio under the page-table lock.
 */
static void dxm_dirty_page(struct dxm_session *s, struct page *page)
{
	struct folio *folio = page_folio(page);

	lockdep_assert_held(&s->pt.lock);
	if (!folio_test_dirty(folio))
		folio_mark_dirty(folio);
}

/*
 * Write persistent memory the way fsdax does (pmem_copy_from_iter):
 * non-temporal stores, partial cache lines written back. Page faults are
 * disabled by the caller; returns the bytes NOT copied.
 */
static size_t dxm_copy_from_user_pmem(void *dst, const char __user *src,
				      size_t n)
{
	struct iov_iter iter;
	size_t done;

	iov_iter_ubuf(&iter, ITER_SOURCE, (void __user *)src, n);
	done = _copy_from_iter_flushcache(dst, n, &iter);
	/*
	 * A fault in the user buffer ends the non-temporal copy in a cached
	 * byte loop, and only the head and tail of the whole request are
	 * written back: write back what was copied.
	 */
	if (done < n)
		arch_wb_cache_pmem(dst, done);
	return n - done;
}

/*
 * Read persistent (ZONE_DEVICE) memory the way fsdax reads it
 * (dax_copy_to_iter): a machine check on a media error is recovered, not
 * fatal, as it would be for a plain copy from a kernel address. Page
 * faults are disabled by the caller; returns the bytes NOT copied, and
 * sets *@poison when it was the memory, not the user buffer, that failed.
 */
static size_t dxm_copy_to_user_mc(char __user *dst, const void *src, size_t n,
				  bool *poison)
{
	struct iov_iter iter;
	u8 probe[64];
	size_t done, off;

	iov_iter_ubuf(&iter, ITER_DEST, dst, n);
	done = _copy_mc_to_iter(src, n, &iter);
	/*
	 * Short: the user buffer faulted or the source is poisoned. Which
	 * one is not in the count (the copy may stop short of the bad line
	 * by more than a line), so probe all the rest of the source, at most
	 * a page: a poisoned line there ends the access with EIO instead of
	 * a retry that would fault the user buffer in forever.
	 */
	for (off = done; off < n && !*poison; off += sizeof(probe))
		*poison = copy_mc_to_kernel(probe, src + off,
					    min(n - off, sizeof(probe))) != 0;
	return n - done;
}

/*
 * Copy between the user buffer and the mirrored memory of [@addr, @addr +
 * @len) (inside mirror @m) through the device page table, straight to or
 * from the user buffer, under one hold of the page-table lock: the lock
 * keeps every page it maps from being freed (an invalidation must take it
 * before the CPU side lets go). Page faults are disabled, so a user buffer
 * that is not resident stops the step (the caller faults it in without
 * the lock). *@copied gets the bytes done.
 */
static enum dxm_step dxm_copy_step(struct dxm_session *s, struct dxm_mirror *m,
				   unsigned long addr, char __user *ubuf,
				   size_t len, bool write, bool *flushed,
				   size_t *copied, int *err)
{
	enum dxm_step st = DXM_STEP_DONE;
	unsigned long base = 0, nr = 0;
	bool poison = false;
	void *pte = NULL;
	size_t done = 0;

	len = min_t(size_t, len, DXM_LOCK_BYTES);
	pagefault_disable();
	read_lock(&s->pt.lock);
	*err = dxm_access_check(s, m);
	if (*err)
		st = DXM_STEP_GONE;
	while (done < len && st == DXM_STEP_DONE) {
		unsigned long a = addr + done, index = a >> PAGE_SHIFT, flags;
		size_t n = min_t(size_t, len - done, PAGE_SIZE - offset_in_page(a));
		unsigned long left;
		struct page *page;
		void *kaddr;

		if (!pte || index < base || index >= base + nr) {
			pte = dxm_pt_lookup(&s->pt, index, &base);
			if (!pte) {
				st = DXM_STEP_DEVICE_FAULT;
				break;
			}
			nr = 1UL << dxm_pte_order(pte);
		}
		flags = dxm_pte_flags(pte);
		if (write && !(flags & DXM_PTE_WRITE)) {
			st = DXM_STEP_DEVICE_FAULT;
			break;
		}
		page = pfn_to_page(dxm_pte_pfn(pte) + index - base);
		kaddr = kmap_local_page(page);
		if (!write && (flags & DXM_PTE_ZONE_DEVICE)) {
			left = dxm_copy_to_user_mc(ubuf + done,
						   kaddr + offset_in_page(a), n,
						   &poison);
		} else if (!write) {
			left = __copy_to_user_inatomic(ubuf + done,
						       kaddr + offset_in_page(a), n);
		} else if (flags & DXM_PTE_DAX) {
			left = dxm_copy_from_user_pmem(kaddr +
						       offset_in_page(a),
						       ubuf + done, n);
			*flushed = true;
		} else {
			left = __copy_from_user_inatomic(kaddr + offset_in_page(a),
							 ubuf + done, n);
		}
		kunmap_local(kaddr);
		if (write && left < n && !(flags & DXM_PTE_ZONE_DEVICE))
			dxm_dirty_page(s, page);
		done += n - left;
		if (left) {
			st = poison ? DXM_STEP_MEDIA : DXM_STEP_USER_FAULT;
			break;
		}
	}
	read_unlock(&s->pt.lock);
	pagefault_enable();
	*copied = done;
	return st;
}

/*
 * Device fault of the page at @addr of @m: its block, else the page alone.
 * A write faults only pages the access writes (it ends at @wend): a write
 * fault makes the CPU side dirty and soft-dirty, which must not spread to
 * pages the device never wrote.
 */
static int dxm_device_fault(struct dxm_session *s, struct dxm_mirror *m,
			    unsigned long addr, unsigned long wend, bool write)
{
	unsigned long fs, fe;
	int ret;

	/*
	 * Fault the block around the page, so huge entries form. If the
	 * block cannot be faulted as a whole (a hole, or memory the policy
	 * refuses next to the page), fault the page alone: its own result is
	 * the one that counts.
	 */
	dxm_stat_add(s, DXM_STAT_DEVICE_FAULTS, 1);
	fs = max(ALIGN_DOWN(addr, DXM_DEVICE_FAULT_SIZE), m->start);
	fe = min(ALIGN_DOWN(addr, DXM_DEVICE_FAULT_SIZE) +
		 DXM_DEVICE_FAULT_SIZE, m->end);
	if (write) {
		fs = max(fs, addr & PAGE_MASK);
		fe = min(fe, PAGE_ALIGN(wend));
	}
	ret = dxm_mirror_fault(s, m, fs, fe, write);
	if (ret && ret != -EINTR && fe - fs > PAGE_SIZE)
		ret = dxm_mirror_fault(s, m, addr & PAGE_MASK,
				       (addr & PAGE_MASK) + PAGE_SIZE, write);
	return ret;
}

/* DAXMIRROR_IOC_READ/WRITE. Caller holds s->lock for reading. */
static long dxm_ioctl_rw(struct dxm_session *s, void __user *uarg, bool write)
{
	struct daxmirror_rw a;
	struct dxm_mirror *m = NULL;
	char __user *ubuf;
	bool flushed = false;
	u64 done = 0;
	int ret = 0;

	lockdep_assert_held_read(&s->lock);
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.pad || !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	if (!a.length || a.addr + a.length < a.addr ||
	    a.addr + a.length > TASK_SIZE)
		return -EINVAL;
	ubuf = u64_to_user_ptr(a.buf);
	if (!access_ok(ubuf, a.length))
		return -EFAULT;

	while (done < a.length) {
		unsigned long addr = a.addr + done;
		size_t copied;
		enum dxm_step st;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (!m || addr >= m->end) {
			m = dxm_mirror_find(s, addr);
			if (!m) {
				ret = -ENOENT;
				break;
			}
			if (write && !(m->flags & DAXMIRROR_MIRROR_WRITE)) {
				ret = -EPERM;
				break;
			}
		}
		if (s->edu)
			st = dxm_dma_step(s, m, addr, ubuf + done,
					  min_t(u64, a.length - done,
						m->end - addr),
					  write, &copied, &ret);
		else
			st = dxm_copy_step(s, m, addr, ubuf + done,
					   min_t(u64, a.length - done,
						 m->end - addr),
					   write, &flushed, &copied, &ret);
		done += copied;
		if (st == DXM_STEP_GONE) {
			break;
		} else if (st == DXM_STEP_MEDIA) {
			ret = -EIO;
			break;
		} else if (st == DXM_STEP_DEVICE_FAULT) {
			ret = dxm_device_fault(s, m, addr + copied,
					       a.addr + a.length, write);
		} else if (st == DXM_STEP_USER_FAULT) {
			size_t n = min_t(u64, a.length - done, PAGE_SIZE);

			if (write ? fault_in_readable(ubuf + done, n) :
				    fault_in_writeable(ubuf + done, n))
				ret = -EFAULT;
		}
		if (ret)
			break;
		cond_resched();
	}
	if (flushed)
		wmb();	/* order the non-temporal stores before returning */
	if (write)
		dxm_stat_add(s, DXM_STAT_BYTES_WRITTEN, done);
	else
		dxm_stat_add(s, DXM_STAT_BYTES_READ, done);

	a.done = done;
	if (copy_to_user(uarg, &a, sizeof(a)) && !ret)
		ret = -EFAULT;
	return ret;
}

long dxm_ioctl_read(struct dxm_session *s, void __user *uarg)
{
	return dxm_ioctl_rw(s, uarg, false);
}

long dxm_ioctl_write(struct dxm_session *s, void __user *uarg)
{
	return dxm_ioctl_rw(s, uarg, true);
}

/* The snapshot byte of a device entry. */
static u8 dxm_snap_byte(void *pte)
{
	unsigned long flags = dxm_pte_flags(pte);
	u8 b = (flags & DXM_PTE_WRITE) ? DAXMIRROR_SNAP_WRITE :
					 DAXMIRROR_SNAP_READ;

	b |= dxm_order_slot(dxm_pte_order(pte)) << DAXMIRROR_SNAP_ORDER_SHIFT;
	if (flags & DXM_PTE_ZONE_DEVICE)
		b |= DAXMIRROR_SNAP_ZONE_DEVICE;
	if (flags & DXM_PTE_DAX)
		b |= DAXMIRROR_SNAP_DAX;
	return b;
}

/*
 * Snapshot bytes for pages [@first, @first + @n) into @out: lookups only
 * where a mirror lies (entries exist nowhere else), NONE for the rest.
 * Caller holds s->lock for reading.
 */
static void dxm_snapshot_chunk(struct dxm_session *s, unsigned long first,
			       unsigned long n, u8 *out)
{
	unsigned long end = first + n, index, stop, base;
	unsigned long addr = first << PAGE_SHIFT;
	struct dxm_mirror *m;
	void *pte;

	lockdep_assert_held_read(&s->lock);
	memset(out, DAXMIRROR_SNAP_NONE, n);
	/* The mirrors overlapping the chunk, in address order. */
	while ((m = mt_find(&s->mirror_mt, &addr, (end << PAGE_SHIFT) - 1))) {
		index = max(first, m->start >> PAGE_SHIFT);
		stop = min(end, m->end >> PAGE_SHIFT);
		if (index >= stop)
			continue;
		read_lock(&s->pt.lock);
		while (index < stop) {
			pte = dxm_pt_lookup(&s->pt, index, &base);
			if (!pte) {
				index++;
				continue;
			}
			base += 1UL << dxm_pte_order(pte);	/* now: past the entry */
			memset(out + (index - first), dxm_snap_byte(pte),
			       min(base, stop) - index);
			index = base;
		}
		read_unlock(&s->pt.lock);
	}
}

/*
 * DAXMIRROR_IOC_SNAPSHOT. Caller holds s->lock for reading. A huge range
 * costs one user copy per DXM_SNAP_CHUNK pages and lookups only where
 * mirrors are; it yields the CPU between chunks and stops at a fatal
 * signal (-EINTR) or a revoke (-ENODEV).
 */
long dxm_ioctl_snapshot(struct dxm_session *s, void __user *uarg)
{
	struct daxmirror_snapshot a;
	unsigned long first, pages, done = 0;
	u8 __user *upages;
	u8 *buf;
	int ret;

	lockdep_assert_held_read(&s->lock);
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.pad || !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	ret = dxm_check_range(a.addr, a.length);
	if (ret)
		return ret;
	first = a.addr >> PAGE_SHIFT;
	pages = a.length >> PAGE_SHIFT;
	upages = u64_to_user_ptr(a.pages);
	if (!access_ok(upages, pages))
		return -EFAULT;
	buf = kvmalloc(min_t(unsigned long, pages, DXM_SNAP_CHUNK),
		       GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;

	while (done < pages) {
		unsigned long n = min_t(unsigned long, pages - done,
					DXM_SNAP_CHUNK);

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (READ_ONCE(s->revoked)) {
			ret = -ENODEV;
			break;
		}
		dxm_snapshot_chunk(s, first + done, n, buf);
		if (copy_to_user(upages + done, buf, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
		cond_resched();
	}
	kvfree(buf);
	return ret;
}

/* Map order of each level of the device table (devpt.c keys them so). */
static const unsigned int dxm_extent_order[DAXMIRROR_NR_ORDERS] = {
	[DAXMIRROR_ORDER_4K] = 0,
	[DAXMIRROR_ORDER_2M] = PMD_SHIFT - PAGE_SHIFT,
	[DAXMIRROR_ORDER_1G] = PUD_SHIFT - PAGE_SHIFT,
};

/* The next entry of a level at or after @xas's key, up to key @max. */
static void *dxm_extent_find(struct xa_state *xas, unsigned long max)
{
	void *pte;

	do {
		pte = xas_find(xas, max);
	} while (xas_retry(xas, pte));
	return pte;
}

/*
 * The entry after the one @xas is at, up to key @max: the neighbouring
 * slot first (xas_next() stays in the node: a dense level, such as the
 * 2 MiB level of a PMD-mapped range, costs a slot read per entry), a
 * search only across a hole. Nothing changes the level meanwhile (the
 * caller holds the page-table lock), so no retry entry can be met.
 */
static void *dxm_extent_next(struct xa_state *xas, unsigned long max)
{
	void *pte;

	if (xas->xa_index < max) {
		pte = xas_next(xas);
		if (xa_is_value(pte))
			return pte;
	}
	return dxm_extent_find(xas, max);
}

/*
 * Records of the entries covering pages [*@index, @last], at most @max,
 * into @out in increasing start order: the levels are merged (entries of
 * different levels never overlap). A huge entry covering *@index is
 * reported with its true start. *@index moves past the last record; *@more
 * says whether an entry of the range is left. Needs the page-table lock
 * (it keeps the entries still) and RCU (the xarray walk).
 */
static unsigned int dxm_extents_batch(struct dxm_session *s,
				      unsigned long *index, unsigned long last,
				      struct daxmirror_extent *out,
				      unsigned int max, bool *more)
{
	struct xa_state xas[DAXMIRROR_NR_ORDERS];
	void *pte[DAXMIRROR_NR_ORDERS];
	unsigned long start;
	unsigned int n = 0, o;
	int l, best;

	lockdep_assert_held_read(&s->pt.lock);
	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "extent walk outside RCU");
	for (l = 0; l < DAXMIRROR_NR_ORDERS; l++) {
		o = dxm_extent_order[l];
		xas[l] = (struct xa_state)__XA_STATE(&s->pt.level[l],
						     *index >> o, 0, 0);
		pte[l] = s->pt.nr[l] ? dxm_extent_find(&xas[l], last >> o) :
				       NULL;
	}
	for (;;) {
		best = -1;
		for (l = 0; l < DAXMIRROR_NR_ORDERS; l++) {
			if (!pte[l])
				continue;
			start = xas[l].xa_index << dxm_extent_order[l];
			if (best < 0 || start <
			    xas[best].xa_index << dxm_extent_order[best])
				best = l;
		}
		if (best < 0 || n == max)
			break;
		o = dxm_extent_order[best];
		start = xas[best].xa_index << o;
		out[n].start = (u64)start << PAGE_SHIFT;
		out[n].order = best;
		out[n].flags = dxm_snap_byte(pte[best]) &
			       ~DAXMIRROR_SNAP_ORDER_MASK;
		n++;
		*index = start + (1UL << o);
		pte[best] = dxm_extent_next(&xas[best], last >> o);
	}
	*more = best >= 0;
	return n;
}

/*
 * DAXMIRROR_IOC_SNAPSHOT_EXTENTS. Takes no sleeping lock (the dispatch
 * takes none): the table lives as long as the session, every store and
 * erase holds the page-table lock for writing, so one batch under it for
 * reading sees the entries still. A huge range costs one hold and one user
 * copy per DXM_EXTENT_BATCH records, and xarray steps only where entries
 * are; it yields the CPU between batches and stops at a fatal signal
 * (-EINTR), a revoke (-ENODEV) or the bound mm's exit (-ESRCH).
 */
long dxm_ioctl_snapshot_extents(struct dxm_session *s, void __user *uarg)
{
	struct daxmirror_snapshot_extents a;
	struct daxmirror_extent __user *uext;
	struct daxmirror_extent *buf;
	unsigned long index, last;
	bool more = true;
	u32 count = 0;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.pad || !dxm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	ret = dxm_check_range(a.addr, a.length);
	if (ret)
		return ret;
	if (!a.capacity || a.capacity > DAXMIRROR_EXTENTS_MAX)
		return -EINVAL;
	uext = u64_to_user_ptr(a.extents);
	if (!access_ok(uext, (size_t)a.capacity * sizeof(*uext)))
		return -EFAULT;
	buf = kmalloc_array(min_t(u32, a.capacity, DXM_EXTENT_BATCH),
			    sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;

	index = a.addr >> PAGE_SHIFT;
	last = (a.addr + a.length - 1) >> PAGE_SHIFT;
	while (more && count < a.capacity) {
		unsigned int n = 0;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		read_lock(&s->pt.lock);
		if (s->revoked)
			ret = -ENODEV;
		else if (s->mm_gone)
			ret = -ESRCH;
		if (!ret) {
			rcu_read_lock();
			n = dxm_extents_batch(s, &index, last, buf,
					      min_t(u32, a.capacity - count,
						    DXM_EXTENT_BATCH), &more);
			rcu_read_unlock();
		}
		read_unlock(&s->pt.lock);
		if (ret)
			break;
		if (copy_to_user(uext + count, buf, n * sizeof(*buf))) {
			ret = -EFAULT;
			break;
		}
		count += n;
		cond_resched();
	}
	if (!ret) {
		a.count = count;
		a.next = more ? (u64)index << PAGE_SHIFT : a.addr + a.length;
		if (copy_to_user(uarg, &a, sizeof(a)))
			ret = -EFAULT;
	}
	kfree(buf);
	return ret;
}
