/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * extent-list.h - internal to libdaxmirror: an extent snapshot gathered
 * over as many DAXMIRROR_IOC_SNAPSHOT_EXTENTS calls as the range needs,
 * resuming at each answer's next, and checked (a kernel answer that breaks
 * the ABI's promises is -EPROTO, not a wrong list). The ioctl is passed in,
 * so the host test drives this with a simulated device table.
 */
#ifndef LIBDAXMIRROR_EXTENT_LIST_H
#define LIBDAXMIRROR_EXTENT_LIST_H

#include <stddef.h>
#include <stdint.h>

#include <daxmirror.h>

/* The ioctl: 0 or -errno, the struct updated as the kernel does. */
typedef int (*dxl_fetch_fn)(void *ctx, struct daxmirror_snapshot_extents *a);

/* The list; the public handle struct daxmirror_extents is this. */
struct dxl_list {
	uint64_t base;			/* offsets are relative to it */
	size_t n, cap;
	struct daxmirror_extent *v;	/* n records, increasing start */
};

/*
 * Append the records of [@addr, @addr + @len) to @l, asking for at most
 * @chunk records per call (1 to DAXMIRROR_EXTENTS_MAX). 0, -ENOMEM,
 * -EPROTO (an answer out of order, overlapping, outside the range, or a
 * next that does not resume where it must), or the fetch's -errno. On
 * failure @l holds what was gathered before.
 */
int dxl_collect(struct dxl_list *l, uint64_t addr, uint64_t len,
		uint32_t chunk, dxl_fetch_fn fetch, void *ctx);
/* Bytes an order's entry covers; 0 for an order the ABI does not know. */
uint64_t dxl_order_bytes(uint32_t order);
void dxl_free(struct dxl_list *l);

#endif
