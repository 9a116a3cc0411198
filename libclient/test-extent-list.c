/* test-extent-list.c - the library's extent list (extent-list.c) against a
 * simulated DAXMIRROR_IOC_SNAPSHOT_EXTENTS: a table of entries answered
 * as the kernel does (true starts, capacity, next), and kernels that break
 * the ABI. Host only, TAP. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extent-list.h"
#include "tap.h"

#define MB	(UINT64_C(1) << 20)
#define BASE	(UINT64_C(1) << 30)	/* 1 GiB aligned */

/* The simulated device table, sorted; @lie breaks one promise. */
struct sim {
	const struct daxmirror_extent *e;
	size_t n;
	unsigned int calls;
	int lie;	/* 0 honest, 1 next stuck, 2 out of order, 3 count > capacity,
			 * 4 short without next = end, 5 the ioctl fails on call 2 */
};

static int sim_fetch(void *ctx, struct daxmirror_snapshot_extents *a)
{
	struct sim *s = ctx;
	struct daxmirror_extent *out = (struct daxmirror_extent *)(uintptr_t)a->extents;
	uint64_t end = a->addr + a->length, resume = end;
	uint32_t n = 0;

	s->calls++;
	if (s->lie == 5 && s->calls == 2)
		return -EINTR;
	for (size_t i = 0; i < s->n; i++) {
		const struct daxmirror_extent *x = &s->e[i];
		uint64_t xe = x->start + dxl_order_bytes(x->order);

		if (xe <= a->addr || x->start >= end)
			continue;
		if (n == a->capacity) {
			resume = out[n - 1].start + dxl_order_bytes(out[n - 1].order);
			break;
		}
		out[n++] = *x;
	}
	a->count = n;
	a->next = resume;
	if (s->lie == 1 && resume != end)
		a->next = a->addr;
	if (s->lie == 2 && n >= 2) {
		struct daxmirror_extent t = out[0];

		out[0] = out[1];
		out[1] = t;
	}
	if (s->lie == 3)
		a->count = a->capacity + 1;
	if (s->lie == 4 && n)
		a->count = n - 1;
	return 0;
}

/* 2M at BASE, 3 x 4K at BASE+2M.., a hole, 2M at BASE+6M, 1G at BASE+1G. */
static const struct daxmirror_extent table[] = {
	{ BASE, DAXMIRROR_ORDER_2M, DAXMIRROR_SNAP_READ | DAXMIRROR_SNAP_DAX },
	{ BASE + 2 * MB, DAXMIRROR_ORDER_4K, DAXMIRROR_SNAP_WRITE },
	{ BASE + 2 * MB + 4096, DAXMIRROR_ORDER_4K, DAXMIRROR_SNAP_READ },
	{ BASE + 2 * MB + 8192, DAXMIRROR_ORDER_4K, DAXMIRROR_SNAP_READ },
	{ BASE + 6 * MB, DAXMIRROR_ORDER_2M, DAXMIRROR_SNAP_READ },
	{ 2 * BASE, DAXMIRROR_ORDER_1G, DAXMIRROR_SNAP_READ },
};
#define NT (sizeof(table) / sizeof(table[0]))

static bool same(const struct dxl_list *l, size_t from, size_t n)
{
	return l->n == n && !memcmp(l->v, table + from, n * sizeof(*l->v));
}

static void t_whole(const void *arg)
{
	static const uint32_t chunks[] = { 1, 2, 3, 5, 6, 4096 };

	(void)arg;
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct sim s = { table, NT, 0, 0 };
		struct dxl_list l = { 0 };
		int r = dxl_collect(&l, BASE, 2 * BASE, chunks[c], sim_fetch, &s);

		tap_ok(r == 0 && same(&l, 0, NT) &&
		       s.calls == (NT + chunks[c] - 1) / chunks[c],
		       "capacity %u: all %zu records in order, %u calls", chunks[c], NT, s.calls);
		dxl_free(&l);
	}
}

static void t_inside(const void *arg)
{
	struct sim s = { table, NT, 0, 0 };
	struct dxl_list l = { 0 };
	int r;

	(void)arg;
	r = dxl_collect(&l, BASE + 4096, 4096, 2, sim_fetch, &s);
	tap_ok(r == 0 && same(&l, 0, 1),
	       "a page inside a 2M entry: that entry, with its true start");
	dxl_free(&l);
	r = dxl_collect(&l, BASE + 3 * MB, 3 * MB, 2, sim_fetch, &s);
	tap_ok(r == 0 && l.n == 0, "a hole: no record");
	dxl_free(&l);
	r = dxl_collect(&l, BASE + MB, 2 * MB, 1, sim_fetch, &s);
	tap_ok(r == 0 && same(&l, 0, 4), "from inside a 2M entry into 4K ones, capacity 1");
	dxl_free(&l);
	r = dxl_collect(&l, 2 * BASE + 5 * MB, 4096, 1, sim_fetch, &s);
	tap_ok(r == 0 && same(&l, NT - 1, 1), "a page inside a 1G entry: that entry");
	dxl_free(&l);
}

static void t_lies(const void *arg)
{
	static const char *const what[] = {
		"", "a next that does not move", "records out of order",
		"count over the capacity", "a short answer that does not end the range",
	};

	(void)arg;
	for (int lie = 1; lie <= 4; lie++) {
		struct sim s = { table, NT, 0, lie };
		struct dxl_list l = { 0 };
		int r = dxl_collect(&l, BASE, 2 * BASE, 2, sim_fetch, &s);

		tap_eq((uint64_t)-r, EPROTO, "%s -> -EPROTO", what[lie]);
		dxl_free(&l);
	}
	{
		struct sim s = { table, NT, 0, 5 };
		struct dxl_list l = { 0 };
		int r = dxl_collect(&l, BASE, 2 * BASE, 2, sim_fetch, &s);

		tap_ok(r == -EINTR && same(&l, 0, 2),
		       "the ioctl's errno passes through, what came before is kept");
		dxl_free(&l);
	}
}

static void t_args(const void *arg)
{
	struct sim s = { table, NT, 0, 0 };
	struct dxl_list l = { 0 };

	(void)arg;
	tap_eq((uint64_t)-dxl_collect(&l, BASE, 0, 2, sim_fetch, &s), EINVAL, "empty range -> -EINVAL");
	tap_eq((uint64_t)-dxl_collect(&l, BASE, 2, 0, sim_fetch, &s), EINVAL, "capacity 0 -> -EINVAL");
	tap_eq((uint64_t)-dxl_collect(&l, BASE, 4096, DAXMIRROR_EXTENTS_MAX + 1, sim_fetch, &s),
	       EINVAL, "capacity over DAXMIRROR_EXTENTS_MAX -> -EINVAL");
	tap_eq((uint64_t)-dxl_collect(&l, UINT64_MAX - 4095, 8192, 2, sim_fetch, &s), EINVAL,
	       "overflow -> -EINVAL");
	tap_ok(s.calls == 0 && l.n == 0, "no call made for bad arguments");
	tap_ok(dxl_order_bytes(0) == 4096 && dxl_order_bytes(1) == 2 * MB &&
	       dxl_order_bytes(2) == BASE && dxl_order_bytes(3) == 0,
	       "order sizes 4K, 2M, 1G, unknown 0");
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "the whole table at every capacity", 6, t_whole, NULL },
		{ "ranges inside entries and holes", 4, t_inside, NULL },
		{ "a kernel that breaks the ABI", 5, t_lies, NULL },
		{ "arguments", 6, t_args, NULL },
	};

	return tap_main(groups, sizeof(groups) / sizeof(groups[0]), 60);
}
