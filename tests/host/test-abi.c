/* test-abi.c - freezes the daxmirror uapi: struct sizes and every field's
 * offset and size (computed by hand from the header), no implicit padding,
 * 8-byte alignment, ioctl numbers (direction, type, number, size), and the
 * constants' values. Runs on the host; no kernel needed. */
#include <daxmirror.h>	/* first: the header must be self-contained */

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tap.h"

struct field {
	const char *name;
	size_t off, size;		/* as compiled */
	size_t want_off, want_size;	/* as frozen */
};

#define F(T, m, o, s) { #m, offsetof(struct T, m), \
			sizeof(((struct T *)0)->m), (o), (s) }

struct layout {
	const char *name;
	size_t size, align, want_size;
	const struct field *fields;
	size_t nfields;
};

#define L(T, want, ...) { #T, sizeof(struct T), _Alignof(struct T), (want), \
	(const struct field[]){ __VA_ARGS__ }, \
	sizeof((const struct field[]){ __VA_ARGS__ }) / sizeof(struct field) }

static const struct layout layouts[] = {
	L(daxmirror_version, 24,
	  F(daxmirror_version, abi, 0, 4),
	  F(daxmirror_version, flags, 4, 4),
	  F(daxmirror_version, reserved, 8, 16)),
	L(daxmirror_session_create, 64,
	  F(daxmirror_session_create, flags, 0, 4),
	  F(daxmirror_session_create, max_mirrors, 4, 4),
	  F(daxmirror_session_create, max_pages, 8, 8),
	  F(daxmirror_session_create, session_id, 16, 8),
	  F(daxmirror_session_create, fd, 24, 4),
	  F(daxmirror_session_create, pad, 28, 4),
	  F(daxmirror_session_create, reserved, 32, 32)),
	L(daxmirror_grant, 64,
	  F(daxmirror_grant, session_id, 0, 8),
	  F(daxmirror_grant, fd, 8, 4),
	  F(daxmirror_grant, flags, 12, 4),
	  F(daxmirror_grant, offset, 16, 8),
	  F(daxmirror_grant, length, 24, 8),
	  F(daxmirror_grant, reserved, 32, 32)),
	L(daxmirror_session_list, 40,
	  F(daxmirror_session_list, ids, 0, 8),
	  F(daxmirror_session_list, capacity, 8, 4),
	  F(daxmirror_session_list, count, 12, 4),
	  F(daxmirror_session_list, flags, 16, 4),
	  F(daxmirror_session_list, pad, 20, 4),
	  F(daxmirror_session_list, reserved, 24, 16)),
	L(daxmirror_stats, 128,
	  F(daxmirror_stats, device_faults, 0, 8),
	  F(daxmirror_stats, fault_calls, 8, 8),
	  F(daxmirror_stats, range_faults, 16, 8),
	  F(daxmirror_stats, range_retries, 24, 8),
	  F(daxmirror_stats, invalidations, 32, 8),
	  F(daxmirror_stats, pages_invalidated, 40, 8),
	  F(daxmirror_stats, entries, 48, 24),
	  F(daxmirror_stats, bytes_read, 72, 8),
	  F(daxmirror_stats, bytes_written, 80, 8),
	  F(daxmirror_stats, walk_ns, 88, 8),
	  F(daxmirror_stats, lock_ns, 96, 8),
	  F(daxmirror_stats, update_ns, 104, 8),
	  F(daxmirror_stats, populate_ns, 112, 8),
	  F(daxmirror_stats, dma_mappings, 120, 8)),
	L(daxmirror_session_info, 216,
	  F(daxmirror_session_info, session_id, 0, 8),
	  F(daxmirror_session_info, flags, 8, 4),
	  F(daxmirror_session_info, state, 12, 4),
	  F(daxmirror_session_info, pid, 16, 4),
	  F(daxmirror_session_info, uid, 20, 4),
	  F(daxmirror_session_info, max_mirrors, 24, 4),
	  F(daxmirror_session_info, nr_mirrors, 28, 4),
	  F(daxmirror_session_info, max_pages, 32, 8),
	  F(daxmirror_session_info, mirrored_pages, 40, 8),
	  F(daxmirror_session_info, nr_grants, 48, 4),
	  F(daxmirror_session_info, session_flags, 52, 4),
	  F(daxmirror_session_info, stats, 56, 128),
	  F(daxmirror_session_info, backend, 184, 4),
	  F(daxmirror_session_info, pad, 188, 4),
	  F(daxmirror_session_info, dma_transfers, 192, 8),
	  F(daxmirror_session_info, dma_waits, 200, 8),
	  F(daxmirror_session_info, reserved, 208, 8)),
	L(daxmirror_mirror_info, 104,
	  F(daxmirror_mirror_info, id, 0, 8),
	  F(daxmirror_mirror_info, start, 8, 8),
	  F(daxmirror_mirror_info, length, 16, 8),
	  F(daxmirror_mirror_info, flags, 24, 4),
	  F(daxmirror_mirror_info, state, 28, 4),
	  F(daxmirror_mirror_info, backing, 32, 4),
	  F(daxmirror_mirror_info, pad, 36, 4),
	  F(daxmirror_mirror_info, dev, 40, 8),
	  F(daxmirror_mirror_info, ino, 48, 8),
	  F(daxmirror_mirror_info, file_offset, 56, 8),
	  F(daxmirror_mirror_info, entries, 64, 24),
	  F(daxmirror_mirror_info, reserved, 88, 16)),
	L(daxmirror_mirror_list, 48,
	  F(daxmirror_mirror_list, session_id, 0, 8),
	  F(daxmirror_mirror_list, mirrors, 8, 8),
	  F(daxmirror_mirror_list, capacity, 16, 4),
	  F(daxmirror_mirror_list, count, 20, 4),
	  F(daxmirror_mirror_list, flags, 24, 4),
	  F(daxmirror_mirror_list, pad, 28, 4),
	  F(daxmirror_mirror_list, reserved, 32, 16)),
	L(daxmirror_revoke, 32,
	  F(daxmirror_revoke, session_id, 0, 8),
	  F(daxmirror_revoke, flags, 8, 4),
	  F(daxmirror_revoke, pad, 12, 4),
	  F(daxmirror_revoke, reserved, 16, 16)),
	L(daxmirror_ungrant, 64,
	  F(daxmirror_ungrant, session_id, 0, 8),
	  F(daxmirror_ungrant, flags, 8, 4),
	  F(daxmirror_ungrant, pad, 12, 4),
	  F(daxmirror_ungrant, dev, 16, 8),
	  F(daxmirror_ungrant, ino, 24, 8),
	  F(daxmirror_ungrant, offset, 32, 8),
	  F(daxmirror_ungrant, length, 40, 8),
	  F(daxmirror_ungrant, reserved, 48, 16)),
	L(daxmirror_mirror_add, 48,
	  F(daxmirror_mirror_add, addr, 0, 8),
	  F(daxmirror_mirror_add, length, 8, 8),
	  F(daxmirror_mirror_add, flags, 16, 4),
	  F(daxmirror_mirror_add, pad, 20, 4),
	  F(daxmirror_mirror_add, id, 24, 8),
	  F(daxmirror_mirror_add, reserved, 32, 16)),
	L(daxmirror_mirror_remove, 32,
	  F(daxmirror_mirror_remove, id, 0, 8),
	  F(daxmirror_mirror_remove, flags, 8, 4),
	  F(daxmirror_mirror_remove, pad, 12, 4),
	  F(daxmirror_mirror_remove, reserved, 16, 16)),
	L(daxmirror_fault, 40,
	  F(daxmirror_fault, addr, 0, 8),
	  F(daxmirror_fault, length, 8, 8),
	  F(daxmirror_fault, flags, 16, 4),
	  F(daxmirror_fault, pad, 20, 4),
	  F(daxmirror_fault, reserved, 24, 16)),
	L(daxmirror_snapshot, 48,
	  F(daxmirror_snapshot, addr, 0, 8),
	  F(daxmirror_snapshot, length, 8, 8),
	  F(daxmirror_snapshot, pages, 16, 8),
	  F(daxmirror_snapshot, flags, 24, 4),
	  F(daxmirror_snapshot, pad, 28, 4),
	  F(daxmirror_snapshot, reserved, 32, 16)),
	L(daxmirror_extent, 16,
	  F(daxmirror_extent, start, 0, 8),
	  F(daxmirror_extent, order, 8, 4),
	  F(daxmirror_extent, flags, 12, 4)),
	L(daxmirror_snapshot_extents, 64,
	  F(daxmirror_snapshot_extents, addr, 0, 8),
	  F(daxmirror_snapshot_extents, length, 8, 8),
	  F(daxmirror_snapshot_extents, extents, 16, 8),
	  F(daxmirror_snapshot_extents, capacity, 24, 4),
	  F(daxmirror_snapshot_extents, count, 28, 4),
	  F(daxmirror_snapshot_extents, next, 32, 8),
	  F(daxmirror_snapshot_extents, flags, 40, 4),
	  F(daxmirror_snapshot_extents, pad, 44, 4),
	  F(daxmirror_snapshot_extents, reserved, 48, 16)),
	L(daxmirror_rw, 56,
	  F(daxmirror_rw, addr, 0, 8),
	  F(daxmirror_rw, length, 8, 8),
	  F(daxmirror_rw, buf, 16, 8),
	  F(daxmirror_rw, flags, 24, 4),
	  F(daxmirror_rw, pad, 28, 4),
	  F(daxmirror_rw, done, 32, 8),
	  F(daxmirror_rw, reserved, 40, 16)),
	L(daxmirror_event, 32,
	  F(daxmirror_event, type, 0, 4),
	  F(daxmirror_event, flags, 4, 4),
	  F(daxmirror_event, session_id, 8, 8),
	  F(daxmirror_event, mirror_id, 16, 8),
	  F(daxmirror_event, seq, 24, 8)),
};

#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))
#define RESULTS_PER_LAYOUT 5

/* Compare the compiled layout with the frozen one; with @report, say
 * where they differ. */
static void scan_fields(const struct layout *l, bool report, bool *offsets,
			bool *contiguous, size_t *sum, size_t *end)
{
	*offsets = *contiguous = true;
	*sum = *end = 0;
	for (size_t i = 0; i < l->nfields; i++) {
		const struct field *f = &l->fields[i];

		if (f->off != f->want_off || f->size != f->want_size) {
			if (report)
				tap_diag("%s.%s: offset %zu size %zu, frozen at offset %zu size %zu",
					 l->name, f->name, f->off, f->size,
					 f->want_off, f->want_size);
			*offsets = false;
		}
		if (f->off != *end) {
			if (report)
				tap_diag("%s.%s: gap or overlap before it (at %zu, previous field ends at %zu)",
					 l->name, f->name, f->off, *end);
			*contiguous = false;
		}
		*end = f->off + f->size;
		*sum += f->size;
	}
}

static void check_layout(const struct layout *l)
{
	bool offsets, contiguous;
	size_t sum, end;

	tap_eq(l->size, l->want_size, "struct %s: sizeof is %zu", l->name,
	       l->want_size);
	if (!tap_ok(l->size % 8 == 0 && l->align == 8,
		    "struct %s: size a multiple of 8, 8-byte aligned", l->name))
		tap_diag("size %zu align %zu", l->size, l->align);
	scan_fields(l, false, &offsets, &contiguous, &sum, &end);
	if (!tap_ok(offsets, "struct %s: every field at its frozen offset and size",
		    l->name))
		scan_fields(l, true, &offsets, &contiguous, &sum, &end);
	tap_ok(contiguous, "struct %s: fields contiguous, in declaration order",
	       l->name);
	if (!tap_ok(sum == l->size && end == l->size,
		    "struct %s: no implicit padding (fields sum to sizeof)",
		    l->name))
		tap_diag("fields sum to %zu, end at %zu, sizeof %zu", sum, end,
			 l->size);
}

static void run_layouts(const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < NLAYOUTS; i++)
		check_layout(&layouts[i]);
}

struct ioc {
	const char *name;
	unsigned long req;
	unsigned int dir, nr, size;
};

#define IOC(n, d, nr, s) { #n, n, (d), (nr), (s) }
#define RW (_IOC_READ | _IOC_WRITE)
#define W _IOC_WRITE

static const struct ioc iocs[] = {
	IOC(DAXMIRROR_IOC_VERSION, RW, 0x00, 24),
	IOC(DAXMIRROR_CTL_CREATE_SESSION, RW, 0x01, 64),
	IOC(DAXMIRROR_CTL_GRANT_FILE, W, 0x02, 64),
	IOC(DAXMIRROR_CTL_LIST_SESSIONS, RW, 0x03, 40),
	IOC(DAXMIRROR_CTL_REVOKE, W, 0x04, 32),
	IOC(DAXMIRROR_CTL_UNGRANT, W, 0x05, 64),
	IOC(DAXMIRROR_IOC_SESSION_INFO, RW, 0x08, 216),
	IOC(DAXMIRROR_IOC_MIRROR_LIST, RW, 0x09, 48),
	IOC(DAXMIRROR_IOC_BIND, _IOC_NONE, 0x10, 0),
	IOC(DAXMIRROR_IOC_MIRROR_ADD, RW, 0x11, 48),
	IOC(DAXMIRROR_IOC_MIRROR_REMOVE, W, 0x12, 32),
	IOC(DAXMIRROR_IOC_FAULT, W, 0x13, 40),
	IOC(DAXMIRROR_IOC_SNAPSHOT, W, 0x14, 48),
	IOC(DAXMIRROR_IOC_READ, RW, 0x15, 56),
	IOC(DAXMIRROR_IOC_WRITE, RW, 0x16, 56),
	IOC(DAXMIRROR_IOC_SNAPSHOT_EXTENTS, RW, 0x17, 64),
};

#define NIOCS (sizeof(iocs) / sizeof(iocs[0]))

static void run_ioctls(const void *arg)
{
	bool distinct = true;

	(void)arg;
	for (size_t i = 0; i < NIOCS; i++) {
		const struct ioc *c = &iocs[i];
		bool ok = _IOC_TYPE(c->req) == DAXMIRROR_IOC_MAGIC &&
			  _IOC_DIR(c->req) == c->dir &&
			  _IOC_NR(c->req) == c->nr &&
			  _IOC_SIZE(c->req) == c->size;

		tap_ok(ok, "%s: type 0x%x, dir %u, nr 0x%02x, size %u", c->name,
		       DAXMIRROR_IOC_MAGIC, c->dir, c->nr, c->size);
		if (!ok)
			tap_diag("got 0x%lx: type 0x%x dir %u nr 0x%02x size %u",
				 c->req, (unsigned int)_IOC_TYPE(c->req),
				 (unsigned int)_IOC_DIR(c->req),
				 (unsigned int)_IOC_NR(c->req),
				 (unsigned int)_IOC_SIZE(c->req));
		for (size_t j = 0; j < i; j++) {
			if (_IOC_NR(iocs[j].req) == _IOC_NR(c->req) ||
			    iocs[j].req == c->req) {
				tap_diag("%s and %s share number 0x%02x",
					 iocs[j].name, c->name,
					 (unsigned int)_IOC_NR(c->req));
				distinct = false;
			}
		}
	}
	tap_ok(distinct, "ioctl numbers pairwise distinct");
}

static bool distinct_bits(const unsigned int *v, size_t n, unsigned int all)
{
	unsigned int seen = 0;

	for (size_t i = 0; i < n; i++) {
		if (!v[i] || (v[i] & (v[i] - 1)) || (seen & v[i]))
			return false;
		seen |= v[i];
	}
	return seen == all;
}

static void run_constants(const void *arg)
{
	const unsigned int session[] = {
		DAXMIRROR_SESSION_ALLOW_ANON, DAXMIRROR_SESSION_ALLOW_WRITE,
		DAXMIRROR_SESSION_ALLOW_PAGECACHE, DAXMIRROR_SESSION_PER_PAGE,
	};
	const unsigned int backing[] = {
		DAXMIRROR_BACKING_ANON, DAXMIRROR_BACKING_FILE,
		DAXMIRROR_BACKING_DAX,
	};
	const unsigned int events[] = {
		DAXMIRROR_EVENT_REVOKED, DAXMIRROR_EVENT_MM_RELEASED,
		DAXMIRROR_EVENT_MIRROR_RELEASED, DAXMIRROR_EVENT_SESSION_CLOSED,
		DAXMIRROR_EVENT_OVERFLOW,
	};
	bool ev_ok = true;

	(void)arg;
	tap_eq(DAXMIRROR_ABI_VERSION, 1, "DAXMIRROR_ABI_VERSION is 1");
	tap_ok(DAXMIRROR_IOC_MAGIC == 0xDA &&
	       !strcmp(DAXMIRROR_DEVICE_NAME, "daxmirror"),
	       "ioctl magic 0xDA, device name \"daxmirror\"");
	tap_ok(DAXMIRROR_ORDER_4K == 0 && DAXMIRROR_ORDER_2M == 1 &&
	       DAXMIRROR_ORDER_1G == 2 && DAXMIRROR_NR_ORDERS == 3,
	       "orders 4K=0, 2M=1, 1G=2, NR_ORDERS=3");
	tap_ok(distinct_bits(session, 4, DAXMIRROR_SESSION_FLAGS) &&
	       DAXMIRROR_SESSION_FLAGS == 0xf,
	       "session flags: distinct bits 0-3, SESSION_FLAGS is their union");
	tap_ok(distinct_bits(backing, 3, 0x7), "backing flags: distinct bits 0-2");
	tap_ok(DAXMIRROR_GRANT_WRITE == 1 && DAXMIRROR_MIRROR_WRITE == 1 &&
	       DAXMIRROR_FAULT_WRITE == 1,
	       "GRANT_WRITE, MIRROR_WRITE, FAULT_WRITE are bit 0");
	tap_ok(DAXMIRROR_MAX_MIRRORS_LIMIT == 4096 &&
	       DAXMIRROR_MAX_GRANTS == 64,
	       "MAX_MIRRORS_LIMIT 4096, MAX_GRANTS 64");
	tap_ok(DAXMIRROR_STATE_NEW == 0 && DAXMIRROR_STATE_BOUND == 1 &&
	       DAXMIRROR_STATE_MM_GONE == 2 && DAXMIRROR_STATE_REVOKED == 3 &&
	       DAXMIRROR_MIRROR_LIVE == 0 && DAXMIRROR_MIRROR_RELEASED == 1,
	       "session states 0-3, mirror states 0-1");
	for (size_t i = 0; i < 5; i++)
		ev_ok = ev_ok && events[i] == i + 1;
	tap_ok(ev_ok, "event types 1-5, distinct, 0 unused");
	tap_ok(DAXMIRROR_SNAP_STATE_MASK == 0x03 &&
	       DAXMIRROR_SNAP_NONE == 0 && DAXMIRROR_SNAP_READ == 1 &&
	       DAXMIRROR_SNAP_WRITE == 2 &&
	       DAXMIRROR_SNAP_ORDER_MASK ==
		       (0x3 << DAXMIRROR_SNAP_ORDER_SHIFT) &&
	       DAXMIRROR_SNAP_ZONE_DEVICE == 0x10 &&
	       DAXMIRROR_SNAP_DAX == 0x20,
	       "snapshot byte: state bits 0-1, order bits 2-3, ZONE_DEVICE 0x10, DAX 0x20");
	tap_ok(!(DAXMIRROR_SNAP_STATE_MASK & DAXMIRROR_SNAP_ORDER_MASK) &&
	       !((DAXMIRROR_SNAP_STATE_MASK | DAXMIRROR_SNAP_ORDER_MASK) &
		 (DAXMIRROR_SNAP_ZONE_DEVICE | DAXMIRROR_SNAP_DAX)) &&
	       ((DAXMIRROR_NR_ORDERS - 1) << DAXMIRROR_SNAP_ORDER_SHIFT &
		~DAXMIRROR_SNAP_ORDER_MASK) == 0,
	       "snapshot fields do not overlap and every order fits its field");
	tap_ok(DAXMIRROR_EXTENTS_MAX == 65536,
	       "SNAPSHOT_EXTENTS capacity bound 65536 records");
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "struct layouts", NLAYOUTS * RESULTS_PER_LAYOUT, run_layouts, NULL },
		{ "ioctl numbers", NIOCS + 1, run_ioctls, NULL },
		{ "constants", 12, run_constants, NULL },
	};

	return tap_main(groups, sizeof(groups) / sizeof(groups[0]), 60);
}
