// SPDX-License-Identifier: GPL-2.0
/*
 * dma.c - the DMA backend: a real device reaches mirrored memory by DMA
 * through the IOMMU. The device is qemu's "edu" teaching PCI device
 * (1234:11e8): a 4 KiB buffer and a DMA engine that moves at most
 * DXM_DMA_CHUNK bytes per transfer between it and an IOVA, each transfer
 * ending after a 100 ms timer (shared/DMA-NOTES.md).
 *
 * A session of this backend keeps IOVAs in its device page table: every
 * entry is one dma_map_page() of the entry's pages (a 2 MiB entry is ONE
 * IOVA range), made when the device faults it, and the entry's value holds
 * the IOVA's page number where the CPU backend keeps the PFN. Device READ
 * and WRITE move the bytes by the engine: memory -> edu -> a coherent
 * bounce buffer -> the user (and back). Pages are never pinned.
 *
 * The invalidation protocol (what every HMM driver must do): an
 * invalidation drops the entries of its range under the page-table lock,
 * so no new transfer can start on them; an entry a transfer is using at
 * that moment is only marked (the "orphan"): the transfer's issuer unmaps
 * it once the engine says the transfer ended. Every other dropped entry is
 * unmapped at once. A blockable invalidation then waits for the transfer
 * in flight, if it is on its range or its entry was orphaned, so no IOVA
 * of the range is mapped when it returns; a non-blockable one returns
 * false while such a transfer is in flight. With iommu.strict=1 an unmap
 * also flushes the IOTLB before it returns: a stale IOVA faults at once.
 *
 * Locking: dxm_edu.lock (mutex) serializes the engine; it is taken
 * outside the session's page-table lock and held across the transfer (no
 * user copy happens under it). A session's dxm_dma_flight is written by
 * the holder of the engine lock under the page-table lock held for
 * reading (one holder at a time), and by invalidations under it held for
 * writing. dxm_edu.sessions_lock (spinlock) guards the device's list of
 * sessions, taken alone.
 *
 * The engine is polled (every 0.5-1 ms) rather than waited for by its
 * interrupt: against a 100 ms transfer that costs nothing, and the
 * driver needs no interrupt vector.
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "daxmirror.h"

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_REG_ID		0x00	/* 0xMMmm00ed: major, minor, 0xed */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1	/* set until the transfer ended */
#define EDU_DMA_TO_RAM		0x2	/* edu -> memory (else memory -> edu) */
#define EDU_BUF			0x40000	/* the device address of its buffer */
/* A transfer takes 100 ms of the guest's clock; far more means a dead device. */
#define EDU_TIMEOUT		(10 * HZ)

/**
 * struct dxm_edu - the edu device the DMA backend drives
 * @ref:	probe holds one, each of @sessions one: it outlives them all
 * @pdev:	the PCI device
 * @mmio:	BAR 0
 * @lock:	the engine: one transfer at a time (see the top)
 * @bounce:	coherent buffer between the device and the user's bytes
 * @bounce_iova: its device address
 * @wedged:	a transfer never ended: bus mastering is off, nothing starts
 *		any more (under @lock)
 * @dead:	removed: nothing maps or starts any more (set under @lock)
 * @sessions_lock: guards @sessions
 * @sessions:	the sessions of this device (dxm_session.dma_node)
 */
struct dxm_edu {
	struct kref ref;
	struct pci_dev *pdev;
	void __iomem *mmio;
	struct mutex lock;	/* the engine */
	void *bounce;
	dma_addr_t bounce_iova;
	bool wedged;
	bool dead;
	spinlock_t sessions_lock;	/* @sessions */
	struct list_head sessions;
};

/* The bound device new DMA sessions get, NULL while none is. */
static struct dxm_edu *dxm_edu_dev;
static DEFINE_MUTEX(dxm_edu_probe_lock);

/*
 * Bits of the addresses the device can reach. qemu's edu has a 28-bit
 * DMA mask unless its dma_mask property says more (tools/vm --dma: 64,
 * passed as daxmirror.edu_dma_bits=64); IOVAs must fit it.
 */
static unsigned int edu_dma_bits = 28;
module_param(edu_dma_bits, uint, 0444);
MODULE_PARM_DESC(edu_dma_bits, "DMA address bits of the edu device (default 28, as qemu's edu)");

/* The backend of new sessions: "cpu" (default) or "dma". */
static u32 dxm_backend_default = DAXMIRROR_BACKEND_CPU;

static int dxm_backend_set(const char *val, const struct kernel_param *kp)
{
	if (sysfs_streq(val, "cpu"))
		WRITE_ONCE(dxm_backend_default, DAXMIRROR_BACKEND_CPU);
	else if (sysfs_streq(val, "dma"))
		WRITE_ONCE(dxm_backend_default, DAXMIRROR_BACKEND_DMA);
	else
		return -EINVAL;
	return 0;
}

static int dxm_backend_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", READ_ONCE(dxm_backend_default) ==
			  DAXMIRROR_BACKEND_DMA ? "dma" : "cpu");
}

static const struct kernel_param_ops dxm_backend_ops = {
	.set = dxm_backend_set,
	.get = dxm_backend_get,
};
module_param_cb(backend, &dxm_backend_ops, NULL, 0644);
MODULE_PARM_DESC(backend,
		 "Device of new sessions: cpu (copies, default) or dma (edu PCI DMA through the IOMMU)");

/*
 * Negative controls for the dma suite, never for use; a session takes the
 * value it has when the session is created. 1 = an invalidation unmaps an
 * entry a transfer is using and does not wait (the transfer then faults
 * in the IOMMU); 2 = dropped entries are never unmapped (their IOVAs
 * leak); 3 = the entry a transfer uses is kept mapped until the transfer
 * ends, but the invalidation does not wait for it (the transfer lands in
 * a page the kernel may have freed).
 */
static int dma_break;
module_param(dma_break, int, 0600);
MODULE_PARM_DESC(dma_break, "Test only: break the DMA invalidation protocol (1 no fence and early unmap, 2 no unmap, 3 no fence)");
#define DXM_DMA_BREAK_NOFENCE_UNMAP	1
#define DXM_DMA_BREAK_NOUNMAP		2
#define DXM_DMA_BREAK_NOFENCE		3

static void dxm_edu_free(struct kref *ref)
{
	kfree(container_of(ref, struct dxm_edu, ref));
}

/* An entry's device address, size and direction. */
static dma_addr_t dxm_dma_pte_iova(const void *pte)
{
	return (dma_addr_t)dxm_pte_pfn(pte) << PAGE_SHIFT;
}

static size_t dxm_dma_pte_size(const void *pte)
{
	return PAGE_SIZE << dxm_pte_order(pte);
}

static enum dma_data_direction dxm_dma_pte_dir(const void *pte)
{
	return (dxm_pte_flags(pte) & DXM_PTE_WRITE) ? DMA_BIDIRECTIONAL :
						      DMA_TO_DEVICE;
}

static void dxm_dma_unmap(struct dxm_session *s, dma_addr_t iova,
			  size_t size, enum dma_data_direction dir)
{
	if (s->dma_break == DXM_DMA_BREAK_NOUNMAP)
		return;
	dma_unmap_page(&s->edu->pdev->dev, iova, size, dir);
	atomic_long_dec(&s->dma_mapped);
}

/*
 * The device page table's drop hook (dxm_pt.drop): entry @pte of a DMA
 * session left the table (under the page-table lock held for writing).
 * Unmapped now, unless a transfer is using it: then the transfer's issuer
 * unmaps it when the transfer ends.
 */
static void dxm_dma_pte_drop(struct dxm_pt *pt, const void *pte)
{
	struct dxm_session *s = container_of(pt, struct dxm_session, pt);
	struct dxm_dma_flight *f = &s->flight;
	dma_addr_t iova = dxm_dma_pte_iova(pte);
	size_t size = dxm_dma_pte_size(pte);

	lockdep_assert_held_write(&pt->lock);
	if (f->active && f->iova >= iova && f->iova < iova + size &&
	    s->dma_break != DXM_DMA_BREAK_NOFENCE_UNMAP) {
		WARN_ON_ONCE(f->orphan_size);	/* one transfer, one entry */
		f->orphan = iova;
		f->orphan_size = size;
		f->orphan_dir = dxm_dma_pte_dir(pte);
		return;
	}
	dxm_dma_unmap(s, iova, size, dxm_dma_pte_dir(pte));
}

/*
 * Choose the backend of a new session (the module parameter "backend").
 * -ENODEV: DMA asked for and no edu device is bound.
 */
int dxm_dma_session_init(struct dxm_session *s)
{
	struct dxm_edu *e;

	init_waitqueue_head(&s->dma_wait);
	atomic_long_set(&s->dma_mapped, 0);
	INIT_LIST_HEAD(&s->dma_node);
	s->backend = READ_ONCE(dxm_backend_default);
	if (s->backend != DAXMIRROR_BACKEND_DMA)
		return 0;
	mutex_lock(&dxm_edu_probe_lock);
	e = dxm_edu_dev;
	if (e) {
		/* Whole before the device's removal can find it on its list. */
		kref_get(&e->ref);
		s->edu = e;
		s->dma_break = READ_ONCE(dma_break);
		s->pt.drop = dxm_dma_pte_drop;
		spin_lock(&e->sessions_lock);
		list_add(&s->dma_node, &e->sessions);
		spin_unlock(&e->sessions_lock);
	}
	mutex_unlock(&dxm_edu_probe_lock);
	return e ? 0 : -ENODEV;
}

/* The session is freed: no entry, no transfer, no mapping is left. */
void dxm_dma_session_fini(struct dxm_session *s)
{
	struct dxm_edu *e = s->edu;

	if (!e)
		return;
	WARN_ON_ONCE(s->dma_break != DXM_DMA_BREAK_NOUNMAP &&
		     atomic_long_read(&s->dma_mapped));
	spin_lock(&e->sessions_lock);
	list_del(&s->dma_node);
	spin_unlock(&e->sessions_lock);
	kref_put(&e->ref, dxm_edu_free);
}

/*
 * Map the pages of a new entry (@order pages from @page, DXM_PTE_* @flags)
 * for the device into *@pte (its IOVA in place of the PFN): 0, -ENOMEM
 * (no room in the IOMMU), -EOPNOTSUPP (the DMA layer bounces mappings of
 * that size through swiotlb, which a long-lived mapping of pages the CPU
 * keeps using cannot have) or -ENODEV (the device is gone). Caller holds the
 * page-table lock for writing, after the notifier sequence was checked:
 * the pages are mapped by the CPU until an invalidation, which must take
 * that lock (dma_map_page() may be called in atomic context). A writable
 * page is marked dirty now: the device may write it any time until the
 * entry is dropped, and every way a page becomes clean (writeback's
 * write-protect, MADV_FREE, reclaim) invalidates the entry first.
 */
int dxm_dma_map(struct dxm_session *s, struct page *page, unsigned int order,
		unsigned long flags, void **pte)
{
	enum dma_data_direction dir = (flags & DXM_PTE_WRITE) ?
				      DMA_BIDIRECTIONAL : DMA_TO_DEVICE;
	struct device *dev = &s->edu->pdev->dev;
	dma_addr_t iova;

	lockdep_assert_held_write(&s->pt.lock);
	if (READ_ONCE(s->edu->dead))
		return -ENODEV;
	/* A limit below the entry's size means bounce buffers (swiotlb). */
	if (dma_max_mapping_size(dev) < PAGE_SIZE << order)
		return -EOPNOTSUPP;
	iova = dma_map_page(dev, page, 0, PAGE_SIZE << order, dir);
	if (dma_mapping_error(dev, iova))
		return -ENOMEM;
	atomic_long_inc(&s->dma_mapped);
	if ((flags & DXM_PTE_WRITE) && !(flags & DXM_PTE_ZONE_DEVICE) &&
	    !folio_test_dirty(page_folio(page)))
		folio_mark_dirty(page_folio(page));
	*pte = dxm_pte_make(iova >> PAGE_SHIFT, order, flags);
	return 0;
}

/* An entry dxm_dma_map() made that never reached the table. */
void dxm_dma_unmap_pte(struct dxm_session *s, const void *pte)
{
	dxm_dma_unmap(s, dxm_dma_pte_iova(pte), dxm_dma_pte_size(pte),
		      dxm_dma_pte_dir(pte));
}

/*
 * Must an invalidation of pages [@first, @last] of @s wait for the
 * transfer in flight? Yes if it is on those pages (they are about to be
 * freed), or if its entry was dropped (its IOVA, mapping pages of the
 * range, stays until it ends). Then *@seq gets its number for
 * dxm_dma_fence(). Caller holds the page-table lock.
 */
bool dxm_dma_busy(struct dxm_session *s, unsigned long first,
		  unsigned long last, u64 *seq)
{
	struct dxm_dma_flight *f = &s->flight;

	lockdep_assert_held(&s->pt.lock);
	if (!s->edu || !f->active)
		return false;
	if (!f->orphan_size && (f->index < first || f->index > last))
		return false;
	if (s->dma_break == DXM_DMA_BREAK_NOFENCE_UNMAP ||
	    s->dma_break == DXM_DMA_BREAK_NOFENCE)
		return false;
	*seq = f->seq;
	return true;
}

/*
 * Wait until transfer @seq of @s ended (and its orphan, if any, was
 * unmapped). Not interruptible: the caller's pages are freed after it
 * returns, and a transfer is bounded (EDU_TIMEOUT).
 */
void dxm_dma_fence(struct dxm_session *s, u64 seq)
{
	/* Pairs with dxm_dma_mirror_transfer()'s release: the unmap is done. */
	wait_event(s->dma_wait, smp_load_acquire(&s->flight.done) >= seq);
}

static void dxm_edu_start(struct dxm_edu *e, dma_addr_t ram, size_t n,
			  bool to_ram)
{
	lockdep_assert_held(&e->lock);
	writeq(to_ram ? EDU_BUF : ram, e->mmio + EDU_REG_DMA_SRC);
	writeq(to_ram ? ram : EDU_BUF, e->mmio + EDU_REG_DMA_DST);
	writeq(n, e->mmio + EDU_REG_DMA_COUNT);
	writeq(EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0),
	       e->mmio + EDU_REG_DMA_CMD);
}

/*
 * Wait for the transfer started to end. Not killable: its IOVA must stay
 * mapped until then. A device that never ends it is wedged: its bus
 * mastering is switched off first (it can reach no memory any more, so
 * the IOVA may go as if the transfer had ended), then -EIO now and for
 * every later access.
 */
static int dxm_edu_wait(struct dxm_edu *e)
{
	unsigned long deadline = jiffies + EDU_TIMEOUT;

	lockdep_assert_held(&e->lock);
	while (readq(e->mmio + EDU_REG_DMA_CMD) & EDU_DMA_RUN) {
		if (time_after(jiffies, deadline)) {
			pci_clear_master(e->pdev);
			dev_err(&e->pdev->dev, "DMA transfer did not end; device disabled\n");
			e->wedged = true;
			return -EIO;
		}
		usleep_range(500, 1000);
	}
	dma_rmb();	/* the bytes it moved, after its end */
	return 0;
}

/* A transfer of @s between the bounce buffer and the device's buffer. */
static int dxm_edu_bounce(struct dxm_session *s, size_t n, bool to_ram)
{
	struct dxm_edu *e = s->edu;
	int ret;

	dxm_edu_start(e, e->bounce_iova, n, to_ram);
	ret = dxm_edu_wait(e);
	dxm_stat_add(s, DXM_STAT_DMA_TRANSFERS, 1);
	return ret;
}

/*
 * The transfer that touches mirrored memory: the page of @index of @s,
 * through @pte (first page @base), @n bytes from @addr's offset. Started
 * under the page-table lock, which the caller holds for reading and which
 * is dropped while it runs; it is held again on return. Returns 0 or
 * -EIO (wedged).
 */
static int dxm_dma_mirror_transfer(struct dxm_session *s, void *pte,
				   unsigned long base, unsigned long addr,
				   size_t n, bool write)
	__must_hold(&s->pt.lock)
{
	struct dxm_dma_flight *f = &s->flight;
	struct dxm_edu *e = s->edu;
	unsigned long index = addr >> PAGE_SHIFT;
	int ret;

	lockdep_assert_held_read(&s->pt.lock);
	lockdep_assert_held(&e->lock);
	f->iova = dxm_dma_pte_iova(pte) + ((index - base) << PAGE_SHIFT) +
		  offset_in_page(addr);
	f->index = index;
	f->seq++;
	WRITE_ONCE(f->active, true);
	dxm_edu_start(e, f->iova, n, write);
	read_unlock(&s->pt.lock);

	ret = dxm_edu_wait(e);
	dxm_stat_add(s, DXM_STAT_DMA_TRANSFERS, 1);

	read_lock(&s->pt.lock);
	if (f->orphan_size)
		dxm_dma_unmap(s, f->orphan, f->orphan_size, f->orphan_dir);
	f->orphan_size = 0;
	WRITE_ONCE(f->active, false);
	/* Invalidations waiting for it may now free the pages. */
	smp_store_release(&f->done, f->seq);
	return ret;
}

/*
 * The entry a step would use for the page of @addr: DONE with it in *@pte
 * (its first page in *@base), DEVICE_FAULT (none usable) or GONE (*@err).
 * Caller holds the page-table lock.
 */
static enum dxm_step dxm_dma_entry(struct dxm_session *s, struct dxm_mirror *m,
				   unsigned long addr, bool write, void **pte,
				   unsigned long *base, int *err)
{
	lockdep_assert_held(&s->pt.lock);
	*err = dxm_access_check(s, m);
	if (*err)
		return DXM_STEP_GONE;
	*pte = dxm_pt_lookup(&s->pt, addr >> PAGE_SHIFT, base);
	if (!*pte || (write && !(dxm_pte_flags(*pte) & DXM_PTE_WRITE)))
		return DXM_STEP_DEVICE_FAULT;
	return DXM_STEP_DONE;
}

/*
 * One step of device READ or WRITE of the DMA backend: at most
 * DXM_DMA_CHUNK bytes inside one page, from @addr of @m. The user's
 * bytes are copied outside every lock (a fault there may take the mmap
 * lock and reclaim); the engine lock is held across the transfers. The
 * step's result is as for the CPU backend's copy step: DONE with
 * *@copied bytes, DEVICE_FAULT (no usable entry: fault and come back) or
 * GONE with *@err.
 */
enum dxm_step dxm_dma_step(struct dxm_session *s, struct dxm_mirror *m,
			   unsigned long addr, char __user *ubuf, size_t len,
			   bool write, size_t *copied, int *err)
{
	size_t n = min3(len, (size_t)DXM_DMA_CHUNK,
			(size_t)(PAGE_SIZE - offset_in_page(addr)));
	struct dxm_edu *e = s->edu;
	enum dxm_step st;
	unsigned long base;
	void *pte, *buf;

	*copied = 0;
	if (write) {
		/* No transfer into the device for a page it must fault first. */
		read_lock(&s->pt.lock);
		st = dxm_dma_entry(s, m, addr, true, &pte, &base, err);
		read_unlock(&s->pt.lock);
		if (st != DXM_STEP_DONE)
			return st;
	}
	*err = 0;
	buf = kmalloc(n, GFP_KERNEL);
	if (!buf) {
		*err = -ENOMEM;
		return DXM_STEP_GONE;
	}
	st = DXM_STEP_DONE;
	if (write && copy_from_user(buf, ubuf, n)) {
		*err = -EFAULT;
		goto out;
	}
	if (mutex_lock_killable(&e->lock)) {
		*err = -EINTR;
		goto out;
	}
	if (e->wedged || e->dead) {
		*err = e->dead ? -ENODEV : -EIO;
		goto unlock;
	}
	if (write) {
		memcpy(e->bounce, buf, n);
		*err = dxm_edu_bounce(s, n, false);
		if (*err)
			goto unlock;
	}

	/* The entry again: an invalidation may have dropped it meanwhile. */
	read_lock(&s->pt.lock);
	st = dxm_dma_entry(s, m, addr, write, &pte, &base, err);
	if (st == DXM_STEP_DONE)
		*err = dxm_dma_mirror_transfer(s, pte, base, addr, n, write);
	read_unlock(&s->pt.lock);
	if (st == DXM_STEP_DONE)
		wake_up_all(&s->dma_wait);	/* the transfer ended */
	if (*err || st != DXM_STEP_DONE)
		goto unlock;

	if (!write) {
		*err = dxm_edu_bounce(s, n, true);
		if (!*err)
			memcpy(buf, e->bounce, n);
	}
unlock:
	mutex_unlock(&e->lock);
	if (!*err && st == DXM_STEP_DONE) {
		if (!write && copy_to_user(ubuf, buf, n))
			*err = -EFAULT;
		else
			*copied = n;
	}
out:
	kfree(buf);
	if (*err)
		st = DXM_STEP_GONE;
	return st;
}

static int dxm_edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct dxm_edu *e;
	u32 ident;
	int ret;

	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	kref_init(&e->ref);
	e->pdev = pdev;
	mutex_init(&e->lock);
	spin_lock_init(&e->sessions_lock);
	INIT_LIST_HEAD(&e->sessions);
	ret = pci_enable_device(pdev);
	if (ret)
		goto free;
	ret = pci_request_region(pdev, 0, "daxmirror");
	if (ret)
		goto disable;
	e->mmio = pci_iomap(pdev, 0, 0);
	if (!e->mmio) {
		ret = -ENOMEM;
		goto release;
	}
	ident = readl(e->mmio + EDU_REG_ID);
	if ((ident & 0xff) != 0xed) {
		dev_err(&pdev->dev, "not an edu device (id %#x)\n", ident);
		ret = -ENODEV;
		goto unmap;
	}
	ret = dma_set_mask_and_coherent(&pdev->dev,
					DMA_BIT_MASK(clamp(edu_dma_bits, 24U, 64U)));
	if (ret)
		goto unmap;
	e->bounce = dma_alloc_coherent(&pdev->dev, PAGE_SIZE, &e->bounce_iova,
				       GFP_KERNEL);
	if (!e->bounce) {
		ret = -ENOMEM;
		goto unmap;
	}
	pci_set_master(pdev);

	mutex_lock(&dxm_edu_probe_lock);
	if (dxm_edu_dev)
		ret = -EBUSY;	/* one device serves every DMA session */
	else
		dxm_edu_dev = e;
	mutex_unlock(&dxm_edu_probe_lock);
	if (ret)
		goto coherent;
	pci_set_drvdata(pdev, e);
	dev_info(&pdev->dev, "edu %u.%u: DMA backend ready\n", ident >> 24,
		 (ident >> 16) & 0xff);
	return 0;

coherent:
	pci_clear_master(pdev);
	dma_free_coherent(&pdev->dev, PAGE_SIZE, e->bounce, e->bounce_iova);
unmap:
	pci_iounmap(pdev, e->mmio);
release:
	pci_release_region(pdev, 0);
disable:
	pci_disable_device(pdev);
free:
	kfree(e);
	return ret;
}

/*
 * The device goes (module unload, when no session is left; or the PCI
 * device removed under its sessions): no new session gets it, no transfer
 * starts (one in progress ends first: @lock), bus mastering goes off, and
 * every session still using it is revoked and stripped, so all its IOVAs
 * are unmapped while the device is still there. The sessions keep the
 * struct until they are freed; their accesses fail with ENODEV.
 */
static void dxm_edu_remove(struct pci_dev *pdev)
{
	struct dxm_edu *e = pci_get_drvdata(pdev);
	struct dxm_session *s;

	mutex_lock(&dxm_edu_probe_lock);
	dxm_edu_dev = NULL;
	mutex_unlock(&dxm_edu_probe_lock);
	mutex_lock(&e->lock);
	WRITE_ONCE(e->dead, true);
	mutex_unlock(&e->lock);
	pci_clear_master(pdev);
	for (;;) {
		spin_lock(&e->sessions_lock);
		list_for_each_entry(s, &e->sessions, dma_node)
			if (!s->dma_detached)
				break;
		if (list_entry_is_head(s, &e->sessions, dma_node)) {
			spin_unlock(&e->sessions_lock);
			break;
		}
		s->dma_detached = true;
		/* One being freed was stripped: its IOVAs are gone already. */
		if (!dxm_session_tryget(s)) {
			spin_unlock(&e->sessions_lock);
			continue;
		}
		spin_unlock(&e->sessions_lock);
		dxm_session_kill(s);
		dxm_session_put(s);
	}
	dma_free_coherent(&pdev->dev, PAGE_SIZE, e->bounce, e->bounce_iova);
	pci_iounmap(pdev, e->mmio);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
	kref_put(&e->ref, dxm_edu_free);
}

static const struct pci_device_id dxm_edu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR, EDU_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, dxm_edu_ids);

static struct pci_driver dxm_edu_driver = {
	.name = "daxmirror-edu",
	.id_table = dxm_edu_ids,
	.probe = dxm_edu_probe,
	.remove = dxm_edu_remove,
	/*
	 * No unbind from sysfs: the device's sessions are its users. Removal
	 * of the PCI device itself ends them (dxm_edu_remove()).
	 */
	.driver.suppress_bind_attrs = true,
};

int dxm_dma_init(void)
{
	return pci_register_driver(&dxm_edu_driver);
}

void dxm_dma_exit(void)
{
	pci_unregister_driver(&dxm_edu_driver);
}
