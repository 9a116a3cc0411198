// SPDX-License-Identifier: GPL-2.0
/*
 * access.c - the device's own view of memory: device read and write
 * through the device page table (faulting on the device side when an
 * entry is missing or read-only, the way a GPU would), and the snapshot
 * of per-page device page-table state.
 */
#include <linux/highmem.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "daxmirror.h"

/* The device faults this block around a missing page (clipped to the mirror). */
#define DM_DEVICE_FAULT_SIZE	PMD_SIZE

/*
 * Copy between @buf and the mirrored page at @addr (@len bytes, not
 * crossing a page) if the device page table maps it with the access
 * needed. Returns 1 on success, 0 if the device must fault first. Caller
 * holds the page-table lock, which keeps the page from being freed: an
 * invalidation of it must take the same lock before the CPU side lets go.
 */
static int dm_copy_page(struct dm_session *s, unsigned long addr, void *buf,
			size_t len, bool write, bool *flushed)
{
	unsigned long index = addr >> PAGE_SHIFT, pfn, flags;
	unsigned int order;
	void *pte, *kaddr;
	struct page *page;

	pte = xa_load(&s->pt, index);
	if (!pte)
		return 0;
	flags = dm_pte_flags(pte);
	if (write && !(flags & DM_PTE_WRITE))
		return 0;
	order = dm_pte_order(pte);
	pfn = dm_pte_pfn(pte) + (index & ((1UL << order) - 1));
	page = pfn_to_page(pfn);
	kaddr = kmap_local_page(page) + offset_in_page(addr);
	if (!write) {
		memcpy(buf, kaddr, len);
	} else if (flags & DM_PTE_DAX) {
		memcpy_flushcache(kaddr, buf, len);
		*flushed = true;
	} else {
		memcpy(kaddr, buf, len);
	}
	kunmap_local(kaddr);
	return 1;
}

/* Device access of [@addr, @addr + @len) to or from the kernel buffer @buf. */
static int dm_access(struct dm_session *s, unsigned long addr, void *buf,
		     size_t len, bool write, bool *flushed)
{
	while (len) {
		size_t n = min_t(size_t, len, PAGE_SIZE - offset_in_page(addr));
		unsigned long fs, fe;
		struct dm_mirror *m;
		int ret;

		m = dm_mirror_find(s, addr);
		if (!m)
			return -ENOENT;
		if (write && !(m->flags & DAXMIRROR_MIRROR_WRITE))
			return -EPERM;
		xa_lock(&s->pt);
		ret = dm_copy_page(s, addr, buf, n, write, flushed);
		xa_unlock(&s->pt);
		if (ret) {
			addr += n;
			buf += n;
			len -= n;
			continue;
		}
		/*
		 * Device fault: fill the entry and its block, so huge entries
		 * form, then retry. If the block cannot be faulted as a whole
		 * (a hole or memory the policy refuses next to the page), fault
		 * the page alone: its own result is the one that counts.
		 */
		s->ops.device_faults++;
		fs = max(ALIGN_DOWN(addr, DM_DEVICE_FAULT_SIZE), m->start);
		fe = min(ALIGN_DOWN(addr, DM_DEVICE_FAULT_SIZE) +
			 DM_DEVICE_FAULT_SIZE, m->end);
		ret = dm_mirror_fault(s, m, fs, fe, write);
		if (ret && ret != -EINTR && fe - fs > PAGE_SIZE)
			ret = dm_mirror_fault(s, m, addr & PAGE_MASK,
					      (addr & PAGE_MASK) + PAGE_SIZE,
					      write);
		if (ret)
			return ret;
	}
	return 0;
}

long dm_ioctl_rw(struct dm_session *s, void __user *uarg, bool write)
{
	struct daxmirror_rw a;
	char __user *ubuf;
	bool flushed = false;
	u64 done = 0;
	int ret = 0;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.pad || !dm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	if (!a.length || a.addr + a.length < a.addr ||
	    a.addr + a.length > TASK_SIZE)
		return -EINVAL;
	ubuf = u64_to_user_ptr(a.buf);

	while (done < a.length) {
		size_t n = min_t(u64, a.length - done, DM_BOUNCE_SIZE);

		if (write && copy_from_user(s->bounce, ubuf + done, n)) {
			ret = -EFAULT;
			break;
		}
		ret = dm_access(s, a.addr + done, s->bounce, n, write,
				&flushed);
		if (ret)
			break;
		if (!write && copy_to_user(ubuf + done, s->bounce, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
	}
	if (flushed)
		wmb();	/* order the non-temporal stores before returning */
	if (write)
		s->ops.bytes_written += done;
	else
		s->ops.bytes_read += done;

	a.done = done;
	if (copy_to_user(uarg, &a, sizeof(a)) && !ret)
		ret = -EFAULT;
	return ret;
}

/* The snapshot byte of a device entry. */
static u8 dm_snap_byte(void *pte)
{
	unsigned long flags = dm_pte_flags(pte);
	u8 b = (flags & DM_PTE_WRITE) ? DAXMIRROR_SNAP_WRITE :
					 DAXMIRROR_SNAP_READ;

	b |= dm_order_slot(dm_pte_order(pte)) << DAXMIRROR_SNAP_ORDER_SHIFT;
	if (flags & DM_PTE_ZONE_DEVICE)
		b |= DAXMIRROR_SNAP_ZONE_DEVICE;
	if (flags & DM_PTE_DAX)
		b |= DAXMIRROR_SNAP_DAX;
	return b;
}

/* Snapshot bytes for pages [@first, @first + @n) into @out. */
static void dm_snapshot_chunk(struct dm_session *s, unsigned long first,
			      unsigned long n, u8 *out)
{
	XA_STATE(xas, &s->pt, first);
	void *pte;

	memset(out, DAXMIRROR_SNAP_NONE, n);
	xa_lock(&s->pt);
	xas_for_each(&xas, pte, first + n - 1) {
		unsigned long nr = 1UL << dm_pte_order(pte);
		unsigned long base = xas.xa_index & ~(nr - 1);
		unsigned long a = max(base, first);
		unsigned long b = min(base + nr, first + n);

		memset(out + (a - first), dm_snap_byte(pte), b - a);
	}
	xa_unlock(&s->pt);
}

long dm_ioctl_snapshot(struct dm_session *s, void __user *uarg)
{
	struct daxmirror_snapshot a;
	unsigned long first, pages, done = 0;
	u8 __user *upages;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.pad || !dm_ioctl_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	ret = dm_check_range(a.addr, a.length);
	if (ret)
		return ret;
	first = a.addr >> PAGE_SHIFT;
	pages = a.length >> PAGE_SHIFT;
	upages = u64_to_user_ptr(a.pages);

	while (done < pages) {
		unsigned long n = min_t(unsigned long, pages - done,
					DM_BOUNCE_SIZE);

		dm_snapshot_chunk(s, first + done, n, s->bounce);
		if (copy_to_user(upages + done, s->bounce, n))
			return -EFAULT;
		done += n;
	}
	return 0;
}
