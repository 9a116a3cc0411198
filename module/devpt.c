// SPDX-License-Identifier: GPL-2.0
/*
 * devpt.c - the order-aware device page table.
 *
 * The simulated device translates a user page number to a PFN through an
 * xarray indexed by page number. A range the CPU maps with a PMD or a PUD
 * (DAX or THP) is stored as ONE multi-index entry of order 9 or 18, not as
 * 512 or 262144 entries: one store to fill it, one erase to drop it, and a
 * lookup of any page inside it finds it. An entry is an xarray value:
 *
 *   bits 0-2   DM_PTE_WRITE, DM_PTE_ZONE_DEVICE, DM_PTE_DAX
 *   bits 3-7   map order
 *   bits 8-    PFN of the first page of the entry
 *
 * An invalidation that covers any part of a huge entry drops the whole
 * entry: the CPU side has split or zapped that huge mapping anyway, and the
 * next device access faults back exactly what the CPU now maps.
 *
 * Every function here runs with the page-table lock (xa_lock of the
 * session's pt) held and never allocates; a store that needs memory fails
 * with the error left in the xa_state for xas_nomem() outside the lock.
 */
#include <linux/mm.h>

#include "daxmirror.h"

void *dm_pte_make(unsigned long pfn, unsigned int order, unsigned long flags)
{
	return xa_mk_value(pfn << DM_PTE_PFN_SHIFT |
			   (unsigned long)order << DM_PTE_ORDER_SHIFT | flags);
}

unsigned long dm_pte_pfn(const void *pte)
{
	return xa_to_value(pte) >> DM_PTE_PFN_SHIFT;
}

unsigned int dm_pte_order(const void *pte)
{
	return (xa_to_value(pte) >> DM_PTE_ORDER_SHIFT) &
	       ((1UL << DM_PTE_ORDER_BITS) - 1);
}

unsigned long dm_pte_flags(const void *pte)
{
	return xa_to_value(pte) & ((1UL << DM_PTE_FLAGS_BITS) - 1);
}

/* The DAXMIRROR_ORDER_* slot of a map order, or -1 if it has none. */
int dm_order_slot(unsigned int order)
{
	if (order == 0)
		return DAXMIRROR_ORDER_4K;
	if (order == PMD_SHIFT - PAGE_SHIFT)
		return DAXMIRROR_ORDER_2M;
	if (order == PUD_SHIFT - PAGE_SHIFT)
		return DAXMIRROR_ORDER_1G;
	return -1;
}

/*
 * Drop every entry of @m's session that overlaps pages [@first, @last] and
 * account it to @m. Returns the number of pages the dropped entries
 * covered.
 */
unsigned long dm_pt_erase(struct dm_mirror *m, unsigned long first,
			  unsigned long last)
{
	struct xarray *pt = &m->session->pt;
	XA_STATE(xas, pt, first);
	unsigned long pages = 0;
	void *pte;

	lockdep_assert_held(&pt->xa_lock);
	xas_for_each(&xas, pte, last) {
		unsigned int order = dm_pte_order(pte);

		m->entries[dm_order_slot(order)]--;
		pages += 1UL << order;
		xas_store(&xas, NULL);
	}
	return pages;
}

/*
 * Store @pte of @order at page @index (aligned to @order) for mirror @m,
 * replacing whatever overlaps it. Returns 0 or the xa_state's error
 * (-ENOMEM: call xas_nomem() after dropping the lock and retry).
 */
int dm_pt_set(struct xa_state *xas, struct dm_mirror *m, unsigned long index,
	      unsigned int order, void *pte)
{
	void *old;

	lockdep_assert_held(&m->session->pt.xa_lock);
	xas_set(xas, index);
	old = xas_load(xas);
	if (old == pte)
		return 0;
	if (!old || dm_pte_order(old) != order) {
		dm_pt_erase(m, index, index + (1UL << order) - 1);
		old = NULL;
	}
	xas_set_order(xas, index, order);
	xas_store(xas, pte);
	if (xas_error(xas))
		return xas_error(xas);
	if (!old)
		m->entries[dm_order_slot(order)]++;
	return 0;
}
