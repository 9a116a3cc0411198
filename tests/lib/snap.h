/* snap.h - DAXMIRROR_IOC_SNAPSHOT of a range, summarised: pages by state
 * and order, DAX / ZONE_DEVICE pages, and device entries counted by order
 * (a 2 MiB entry is counted once however many of its pages are seen). */
#ifndef DMT_SNAP_H
#define DMT_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <daxmirror.h>

struct dmt_snap {
	size_t pages;			/* pages in the range */
	size_t none, read, write;	/* pages by DAXMIRROR_SNAP_STATE */
	size_t bad_state;		/* state 3: not defined by the ABI */
	size_t order_pages[DAXMIRROR_NR_ORDERS + 1]; /* mapped pages by order
						      * ([NR_ORDERS]: invalid) */
	size_t entries[DAXMIRROR_NR_ORDERS]; /* distinct entries by order */
	size_t dax, zone_device;	/* mapped pages with those bits */
	size_t misplaced;		/* huge-order pages whose block is not
					 * uniformly of that order */
};

/* The raw per-page bytes; *pages is malloc()ed. */
int dmt_snapshot_alloc(int sfd, const void *addr, size_t len,
		       uint8_t **pages);
int dmt_snap_summary(int sfd, const void *addr, size_t len,
		     struct dmt_snap *s);
/* Summarise bytes already fetched for [addr, addr + len). */
void dmt_snap_count(const uint8_t *pages, const void *addr, size_t len,
		    struct dmt_snap *s);
/* One-line description for diagnostics. */
void dmt_snap_diag(const char *what, const struct dmt_snap *s);
/* Order of a snapshot byte. */
static inline unsigned int dmt_snap_order(uint8_t b)
{
	return (b & DAXMIRROR_SNAP_ORDER_MASK) >> DAXMIRROR_SNAP_ORDER_SHIFT;
}

#endif
