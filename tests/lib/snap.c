/* snap.c - snapshot summaries (see snap.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "snap.h"
#include "tap.h"

int dmt_snapshot_alloc(int sfd, const void *addr, size_t len,
		       uint8_t **pages)
{
	uint8_t *p = malloc(len / DMT_PAGE ? len / DMT_PAGE : 1);
	int r;

	if (!p)
		return -ENOMEM;
	memset(p, 0xff, len / DMT_PAGE); /* catch pages left unwritten */
	r = dmt_snapshot(sfd, addr, len, p);
	if (r < 0) {
		free(p);
		return r;
	}
	*pages = p;
	return 0;
}

static const uint64_t order_span[DAXMIRROR_NR_ORDERS] = {
	[DAXMIRROR_ORDER_4K] = 1,
	[DAXMIRROR_ORDER_2M] = 512,
	[DAXMIRROR_ORDER_1G] = 512 * 512,
};

void dmt_snap_count(const uint8_t *pages, const void *addr, size_t len,
		    struct dmt_snap *s)
{
	uint64_t first = (uintptr_t)addr / DMT_PAGE;
	uint64_t last_block[DAXMIRROR_NR_ORDERS];

	memset(s, 0, sizeof(*s));
	memset(last_block, 0xff, sizeof(last_block));
	s->pages = len / DMT_PAGE;
	for (size_t i = 0; i < s->pages; i++) {
		uint8_t b = pages[i];
		unsigned int st = b & DAXMIRROR_SNAP_STATE_MASK;
		unsigned int o = dmt_snap_order(b);
		uint64_t pfn = first + i, block;

		if (st == DAXMIRROR_SNAP_NONE) {
			s->none++;
			continue;
		}
		if (st == DAXMIRROR_SNAP_READ)
			s->read++;
		else if (st == DAXMIRROR_SNAP_WRITE)
			s->write++;
		else
			s->bad_state++;
		if (b & DAXMIRROR_SNAP_DAX)
			s->dax++;
		if (b & DAXMIRROR_SNAP_ZONE_DEVICE)
			s->zone_device++;
		if (o >= DAXMIRROR_NR_ORDERS) {
			s->order_pages[DAXMIRROR_NR_ORDERS]++;
			continue;
		}
		s->order_pages[o]++;
		block = pfn / order_span[o];
		if (block == last_block[o])
			continue;
		s->entries[o]++;
		last_block[o] = block;
		/* every page of a huge entry's block that lies in the range
		 * must show the same order */
		if (o != DAXMIRROR_ORDER_4K) {
			uint64_t b0 = block * order_span[o];

			for (uint64_t p = b0; p < b0 + order_span[o]; p++) {
				if (p < first || p >= first + s->pages)
					continue;
				if ((pages[p - first] & DAXMIRROR_SNAP_STATE_MASK) ==
				    DAXMIRROR_SNAP_NONE ||
				    dmt_snap_order(pages[p - first]) != o) {
					s->misplaced++;
					break;
				}
			}
		}
	}
}

int dmt_snap_summary(int sfd, const void *addr, size_t len,
		     struct dmt_snap *s)
{
	uint8_t *pages = NULL;
	int r = dmt_snapshot_alloc(sfd, addr, len, &pages);

	if (r < 0) {
		tap_diag("SNAPSHOT %p+%zu: %s", addr, len, tap_errname(-r));
		memset(s, 0, sizeof(*s));
		return r;
	}
	dmt_snap_count(pages, addr, len, s);
	free(pages);
	return 0;
}

void dmt_snap_diag(const char *what, const struct dmt_snap *s)
{
	tap_diag("%s: %zu pages: none %zu read %zu write %zu bad %zu; "
		 "pages 4K %zu 2M %zu 1G %zu bad-order %zu; entries 4K %zu "
		 "2M %zu 1G %zu; dax %zu zone-device %zu misplaced %zu",
		 what, s->pages, s->none, s->read, s->write, s->bad_state,
		 s->order_pages[0], s->order_pages[1], s->order_pages[2],
		 s->order_pages[3], s->entries[0], s->entries[1],
		 s->entries[2], s->dax, s->zone_device, s->misplaced);
}
