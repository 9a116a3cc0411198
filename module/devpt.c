// SPDX-License-Identifier: GPL-2.0
/*
 * devpt.c - the order-aware device page table.
 *
 * The simulated device translates a user page number to a PFN. A range the
 * CPU maps with a PMD or a PUD (DAX or THP) is ONE entry of order 9 or 18,
 * not 512 or 262144 entries. The table is one xarray per order, each
 * indexed by the page number shifted right by that order: a 2 MiB entry is
 * one slot of the 2 MiB level (key = page >> 9), so a fully PMD-mapped
 * 1 GiB range costs 512 slots in 9 xarray nodes. (A single xarray with
 * multi-index entries spends 8 of a node's 64 slots per order-9 entry and
 * needs ~7x the nodes; measured in bench/.) Entries of different levels
 * never overlap: storing one drops whatever it covers on the other levels.
 * An entry is an xarray value:
 *
 *   bits 0-2   DXM_PTE_WRITE, DXM_PTE_ZONE_DEVICE, DXM_PTE_DAX
 *   bits 3-7   map order
 *   bits 8-    PFN of the first page of the entry
 *
 * A session of the DMA backend (dma.c) keeps in the PFN's place the page
 * number of the entry's IOVA, and gives the table a drop hook (dxm_pt.drop)
 * that is called for every entry leaving it.
 *
 * An invalidation that covers any part of a huge entry drops the whole
 * entry: the CPU side has split or zapped that huge mapping anyway, and the
 * next device access faults back exactly what the CPU now maps.
 *
 * Locking: pt->lock (an rwlock) is the device page-table lock; the caller
 * holds it around every lookup, store and erase here (each asserts it):
 * for reading by lookups (device accesses of one session run side by
 * side), for writing by whatever stores or drops an entry. Each level's
 * own xa_lock is taken inside it for modifications, as the xarray API
 * wants. Nothing here allocates with reclaim: a store that needs memory
 * fails and leaves -ENOMEM in its xa_state for xas_nomem() once the caller
 * has dropped pt->lock.
 */
#include <linux/mm.h>

#include "daxmirror.h"

static const unsigned int dxm_level_order[DAXMIRROR_NR_ORDERS] = {
	[DAXMIRROR_ORDER_4K] = 0,
	[DAXMIRROR_ORDER_2M] = PMD_SHIFT - PAGE_SHIFT,
	[DAXMIRROR_ORDER_1G] = PUD_SHIFT - PAGE_SHIFT,
};

void *dxm_pte_make(unsigned long pfn, unsigned int order, unsigned long flags)
{
	return xa_mk_value(pfn << DXM_PTE_PFN_SHIFT |
			   (unsigned long)order << DXM_PTE_ORDER_SHIFT | flags);
}

unsigned long dxm_pte_pfn(const void *pte)
{
	return xa_to_value(pte) >> DXM_PTE_PFN_SHIFT;
}

unsigned int dxm_pte_order(const void *pte)
{
	return (xa_to_value(pte) >> DXM_PTE_ORDER_SHIFT) &
	       ((1UL << DXM_PTE_ORDER_BITS) - 1);
}

unsigned long dxm_pte_flags(const void *pte)
{
	return xa_to_value(pte) & ((1UL << DXM_PTE_FLAGS_BITS) - 1);
}

/* The DAXMIRROR_ORDER_* slot (level) of a map order, or -1 if none. */
int dxm_order_slot(unsigned int order)
{
	int l;

	for (l = 0; l < DAXMIRROR_NR_ORDERS; l++)
		if (dxm_level_order[l] == order)
			return l;
	return -1;
}

void dxm_pt_init(struct dxm_pt *pt)
{
	int l;

	rwlock_init(&pt->lock);
	for (l = 0; l < DAXMIRROR_NR_ORDERS; l++) {
		/* Nodes are charged to the memory cgroup of the faulting task. */
		xa_init_flags(&pt->level[l], XA_FLAGS_ACCOUNT);
		pt->nr[l] = 0;
	}
}

/* Every entry must have been dropped (mirrors destroyed) before. */
void dxm_pt_destroy(struct dxm_pt *pt)
{
	int l;

	for (l = 0; l < DAXMIRROR_NR_ORDERS; l++)
		xa_destroy(&pt->level[l]);
}

/* Prepare the per-level cursors used by dxm_pt_set(). */
void dxm_pt_cursor_init(struct dxm_pt *pt, struct dxm_pt_cursor *cur)
{
	int l;

	for (l = 0; l < DAXMIRROR_NR_ORDERS; l++) {
		cur->xas[l] = (struct xa_state)__XA_STATE(&pt->level[l], 0, 0, 0);
		cur->next[l] = ULONG_MAX;
	}
	cur->held = -1;
}

/* Release the level lock a run of dxm_pt_set() calls kept. */
void dxm_pt_cursor_unlock(struct dxm_pt_cursor *cur)
{
	if (cur->held >= 0)
		xas_unlock(&cur->xas[cur->held]);
	cur->held = -1;
}

/*
 * After dxm_pt_set() failed with -ENOMEM and pt->lock was dropped: allocate
 * for the level that needs it and return true (store again), or free what
 * was preallocated and return false. No lock held. A task whose memory
 * cgroup is full gets -ENOMEM (__GFP_RETRY_MAYFAIL), not the cgroup's OOM
 * killer: the device table is not worth a process.
 */
bool dxm_pt_cursor_nomem(struct dxm_pt_cursor *cur)
{
	bool again = false;
	int l;

	for (l = 0; l < DAXMIRROR_NR_ORDERS; l++) {
		cur->next[l] = ULONG_MAX;	/* the lock was dropped */
		if (xas_nomem(&cur->xas[l], GFP_KERNEL | __GFP_RETRY_MAYFAIL |
			      __GFP_NOWARN))
			again = true;
	}
	return again;
}

/* The entry covering page @index and its first page in *@base, or NULL. */
void *dxm_pt_lookup(struct dxm_pt *pt, unsigned long index, unsigned long *base)
{
	void *pte;
	int l;

	lockdep_assert_held(&pt->lock);
	for (l = 0; l < DAXMIRROR_NR_ORDERS; l++) {
		unsigned int order = dxm_level_order[l];

		if (!pt->nr[l])
			continue;
		pte = xa_load(&pt->level[l], index >> order);
		if (pte) {
			*base = index & ~((1UL << order) - 1);
			return pte;
		}
	}
	return NULL;
}

/*
 * Drop the entries of level @l overlapping pages [@first, @last], at most
 * *@budget of them (the budget is spent as they go).
 */
static unsigned long dxm_pt_erase_level(struct dxm_pt *pt,
					struct dxm_mirror *m, int l,
					unsigned long first, unsigned long last,
					unsigned long *budget)
{
	unsigned int order = dxm_level_order[l];
	XA_STATE(xas, &pt->level[l], first >> order);
	unsigned long pages = 0;
	void *pte;

	lockdep_assert_held_write(&pt->lock);
	if (!pt->nr[l] || !*budget)
		return 0;
	xas_lock(&xas);
	xas_for_each(&xas, pte, last >> order) {
		xas_store(&xas, NULL);
		if (pt->drop)
			pt->drop(pt, pte);
		m->entries[l]--;
		pt->nr[l]--;
		pages += 1UL << order;
		/* Per entry: a lockless reader never sees dropped ones counted. */
		WRITE_ONCE(m->pages, m->pages - (1UL << order));
		if (dxm_pte_flags(pte) & DXM_PTE_WRITE)
			WRITE_ONCE(m->wpages, m->wpages - (1UL << order));
		if (!--*budget)
			break;
	}
	xas_unlock(&xas);
	return pages;
}

/*
 * Drop at most @budget entries overlapping pages [@first, @last] (inside
 * mirror @m) and account them to @m; *@more tells whether any may be
 * left (call again). Returns the number of pages the dropped entries
 * covered. A caller that may sleep drops the lock between batches, so a
 * huge per-page mirror never holds it for long.
 */
unsigned long dxm_pt_erase_batch(struct dxm_pt *pt, struct dxm_mirror *m,
				 unsigned long first, unsigned long last,
				 unsigned long budget, bool *more)
{
	unsigned long pages = 0;
	int l;

	lockdep_assert_held_write(&pt->lock);
	for (l = 0; l < DAXMIRROR_NR_ORDERS && budget; l++)
		pages += dxm_pt_erase_level(pt, m, l, first, last, &budget);
	*more = !budget;
	return pages;
}

/*
 * Store @pte of @order at page @index (aligned to @order) for mirror @m,
 * replacing whatever overlaps it. Returns 0 or the error of the level's
 * cursor (-ENOMEM: drop pt->lock, dxm_pt_cursor_nomem(), retry). The
 * level lock may stay held on success: dxm_pt_cursor_unlock() before
 * dropping pt->lock.
 */
int dxm_pt_set(struct dxm_pt *pt, struct dxm_pt_cursor *cur,
	       struct dxm_mirror *m, unsigned long index, unsigned int order,
	       void *pte)
{
	unsigned long last = index + (1UL << order) - 1;
	int l = dxm_order_slot(order), o;
	struct xa_state *xas = &cur->xas[l];
	void *old;

	lockdep_assert_held_write(&pt->lock);
	for (o = 0; o < DAXMIRROR_NR_ORDERS; o++) {
		if (o != l && pt->nr[o]) {
			unsigned long budget = ULONG_MAX;

			dxm_pt_cursor_unlock(cur);	/* one level lock at a time */
			dxm_pt_erase_level(pt, m, o, index, last, &budget);
			cur->next[o] = ULONG_MAX;	/* nodes may be gone */
		}
	}

	/* Runs of consecutive keys (a populated range) step, not walk. */
	if (cur->held != l) {
		dxm_pt_cursor_unlock(cur);
		xas_lock(xas);
		cur->held = l;
	}
	if (cur->next[l] == index >> order)
		xas_next(xas);
	else
		xas_set(xas, index >> order);
	old = xas_load(xas);
	if (old != pte)
		xas_store(xas, pte);
	if (xas_error(xas)) {
		dxm_pt_cursor_unlock(cur);
		cur->next[l] = ULONG_MAX;
		return xas_error(xas);
	}
	cur->next[l] = (index >> order) + 1;
	if (old && old != pte && pt->drop)
		pt->drop(pt, old);
	if (old && (dxm_pte_flags(old) & DXM_PTE_WRITE))
		WRITE_ONCE(m->wpages, m->wpages - (1UL << order));
	if (dxm_pte_flags(pte) & DXM_PTE_WRITE)
		WRITE_ONCE(m->wpages, m->wpages + (1UL << order));
	if (!old) {
		m->entries[l]++;
		WRITE_ONCE(m->pages, m->pages + (1UL << order));
		pt->nr[l]++;
	}
	return 0;
}

/*
 * Do entries cover every page of [@first, @last] (inside mirror @m),
 * writable if @write? Then a fault of that range has nothing to do. O(1)
 * when the whole mirror is covered, else one lookup per entry.
 */
bool dxm_pt_covered(struct dxm_pt *pt, struct dxm_mirror *m,
		    unsigned long first, unsigned long last, bool write)
{
	unsigned long index = first, base;
	unsigned long all = (m->end - m->start) >> PAGE_SHIFT;
	void *pte;

	lockdep_assert_held(&pt->lock);
	if ((write ? m->wpages : m->pages) == all)
		return true;
	while (index <= last) {
		pte = dxm_pt_lookup(pt, index, &base);
		if (!pte || (write && !(dxm_pte_flags(pte) & DXM_PTE_WRITE)))
			return false;
		index = base + (1UL << dxm_pte_order(pte));
		if (!index)
			break;	/* wrapped: covered to the end */
	}
	return true;
}
