/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* extent-list.c - see extent-list.h. */
#include <errno.h>
#include <stdlib.h>

#include "extent-list.h"

uint64_t dxl_order_bytes(uint32_t order)
{
	switch (order) {
	case DAXMIRROR_ORDER_4K:
		return 4096;
	case DAXMIRROR_ORDER_2M:
		return UINT64_C(2) << 20;
	case DAXMIRROR_ORDER_1G:
		return UINT64_C(1) << 30;
	}
	return 0;
}

static int dxl_reserve(struct dxl_list *l, size_t more)
{
	struct daxmirror_extent *v;
	size_t cap = l->cap ? l->cap : 64;

	if (l->n + more <= l->cap)
		return 0;
	while (cap < l->n + more) {
		if (cap > SIZE_MAX / 2 / sizeof(*v))
			return -ENOMEM;
		cap *= 2;
	}
	v = realloc(l->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->cap = cap;
	return 0;
}

/* Do the @n new records at @v, asked for from @a, keep the ABI's promises? */
static int dxl_check(const struct dxl_list *l, const struct daxmirror_extent *v,
		     uint32_t n, uint64_t a, uint64_t end)
{
	uint64_t prev = l->n ? l->v[l->n - 1].start +
			       dxl_order_bytes(l->v[l->n - 1].order) : 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t size = dxl_order_bytes(v[i].order);

		if (!size || v[i].start % size || v[i].start < prev ||
		    v[i].start >= end || v[i].start + size <= a)
			return -EPROTO;
		prev = v[i].start + size;
	}
	return 0;
}

int dxl_collect(struct dxl_list *l, uint64_t addr, uint64_t len,
		uint32_t chunk, dxl_fetch_fn fetch, void *ctx)
{
	uint64_t a = addr, end = addr + len;
	int r;

	if (!len || end < addr || !chunk || chunk > DAXMIRROR_EXTENTS_MAX)
		return -EINVAL;
	while (a < end) {
		struct daxmirror_snapshot_extents q = {
			.addr = a, .length = end - a, .capacity = chunk,
		};
		const struct daxmirror_extent *last;

		r = dxl_reserve(l, chunk);
		if (r < 0)
			return r;
		q.extents = (uintptr_t)(l->v + l->n);
		r = fetch(ctx, &q);
		if (r < 0)
			return r;
		if (q.count > chunk ||
		    dxl_check(l, l->v + l->n, q.count, a, end) < 0)
			return -EPROTO;
		l->n += q.count;
		if (q.next == end)
			break;
		/* Stopped by the capacity: resume right after the last record. */
		last = q.count ? &l->v[l->n - 1] : NULL;
		if (q.count != chunk || !last ||
		    q.next != last->start + dxl_order_bytes(last->order) ||
		    q.next <= a || q.next > end)
			return -EPROTO;
		a = q.next;
	}
	return 0;
}

void dxl_free(struct dxl_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
