/* test-mirrors.c - a session at its mirror limit: 4 096 one-page mirrors,
 * every other page of one anonymous mapping. The module finds a mirror by
 * address (maple tree) and by id (xarray), not by walking a list: this
 * checks those lookups agree with the ranges at every mirror's first and
 * last byte, in the gaps between them, after removals in random order,
 * for overlapping adds, and that a mirror released by munmap is reaped by
 * the next MIRROR_ADD (and its range can be mirrored again). Runs in the
 * guest as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt.h"

#define NM		DAXMIRROR_MAX_MIRRORS_LIMIT	/* mirrors */
#define NPAGES		(2 * NM)			/* mirror, gap, ... */

struct many {
	struct dmt_session s;
	struct dmt_map m;
	uint64_t ids[NM];
	uint8_t *base;
};

static uint8_t *page(struct many *mm, unsigned int p)
{
	return mm->base + (size_t)p * DMT_PAGE;
}

/* Mirror i is page 2i; every page holds its page number. 0 or -errno. */
static long many_setup(struct many *mm)
{
	long r;

	r = dmt_session_open(&mm->s, DMT_ANON_RW, NM, 0, true);
	if (r == 0)
		r = dmt_map_anon(&mm->m, NPAGES * DMT_PAGE, DMT_2M,
				 PROT_READ | PROT_WRITE, 0);
	if (r)
		return r;
	mm->base = mm->m.addr;
	madvise(mm->base, NPAGES * DMT_PAGE, MADV_NOHUGEPAGE);
	for (unsigned int p = 0; p < NPAGES; p++)
		memset(page(mm, p), (int)(p & 0xff), DMT_PAGE);
	for (unsigned int i = 0; i < NM; i++) {
		r = dmt_mirror_add(mm->s.sfd, page(mm, 2 * i), DMT_PAGE,
				   DAXMIRROR_MIRROR_WRITE, &mm->ids[i]);
		if (r)
			return r;
	}
	return 0;
}

static void many_free(struct many *mm)
{
	dmt_session_close(&mm->s);
	dmt_unmap(&mm->m);
}

/* A random permutation of 0..n-1 (fixed seed: a failure repeats). */
static void shuffle(unsigned int *v, unsigned int n, unsigned int seed)
{
	srandom(seed);
	for (unsigned int i = 0; i < n; i++)
		v[i] = i;
	for (unsigned int i = n - 1; i > 0; i--) {
		unsigned int j = (unsigned int)random() % (i + 1), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

/* FAULT mirror i, READ its first and last byte from the device. */
static bool mirror_reads(struct many *mm, unsigned int i)
{
	uint8_t want = (uint8_t)((2 * i) & 0xff), b[2] = { 0, 0 };

	return dmt_fault(mm->s.sfd, page(mm, 2 * i), DMT_PAGE, 0) == 0 &&
	       dmt_dev_read(mm->s.sfd, page(mm, 2 * i), &b[0], 1) == 0 &&
	       dmt_dev_read(mm->s.sfd, page(mm, 2 * i) + DMT_PAGE - 1, &b[1], 1) == 0 &&
	       b[0] == want && b[1] == want;
}

static void g_lookups(const void *arg)
{
	static struct many mm = { .s = DMT_SESSION_INIT, .m = DMT_MAP_INIT };
	static unsigned int order[NM];
	struct daxmirror_mirror_info *list = NULL;
	unsigned int bad = NM, gaps = 0;
	uint32_t count = 0;
	uint64_t id;
	long r;

	(void)arg;
	r = many_setup(&mm);
	if (!tap_ok(r == 0, "%u one-page mirrors added, every other page", NM)) {
		tap_diag("MIRROR_ADD: %s", tap_errname((int)-r));
		tap_fail_rest("no session at its limit");
		many_free(&mm);
		return;
	}
	r = dmt_mirror_list(mm.s.sfd, 0, &list, &count);
	tap_ok(r == 0 && count == NM, "MIRROR_LIST has %u mirrors (got %u)", NM, count);
	free(list);
	tap_errno(dmt_mirror_add(mm.s.sfd, page(&mm, 1), DMT_PAGE, 0, NULL), ENOSPC,
		  "one more MIRROR_ADD -> ENOSPC");

	shuffle(order, NM, 1);
	for (unsigned int k = 0; k < NM && bad == NM; k++)
		if (!mirror_reads(&mm, order[k]))
			bad = order[k];
	if (!tap_ok(bad == NM, "every mirror FAULTs and READs its first and last byte (random order)"))
		tap_diag("mirror %u (page %u) failed: %s", bad, 2 * bad, strerror(errno));
	for (unsigned int p = 1; p < NPAGES; p += 2 * 97) {
		uint8_t b;

		gaps += dmt_fault(mm.s.sfd, page(&mm, p), DMT_PAGE, 0) == -ENOENT &&
			dmt_dev_read(mm.s.sfd, page(&mm, p), &b, 1) == -ENOENT &&
			dmt_fault(mm.s.sfd, page(&mm, p - 1), 2 * DMT_PAGE, 0) == -ENOENT;
	}
	tap_ok(gaps == (NPAGES - 1 + 2 * 97 - 1) / (2 * 97),
	       "a gap page -> ENOENT (FAULT, READ) and a FAULT from a mirror into the gap -> ENOENT");

	/* Room for one: remove the middle mirror; overlaps are refused. */
	r = dmt_mirror_remove(mm.s.sfd, mm.ids[NM / 2]);
	tap_ok(r == 0 && dmt_fault(mm.s.sfd, page(&mm, NM), DMT_PAGE, 0) == -ENOENT &&
	       dmt_mirror_remove(mm.s.sfd, mm.ids[NM / 2]) == -ENOENT,
	       "the middle mirror removed by id: its page -> ENOENT, its id -> ENOENT");
	tap_ok(dmt_mirror_add(mm.s.sfd, page(&mm, 0), DMT_PAGE, 0, NULL) == -EEXIST &&
	       dmt_mirror_add(mm.s.sfd, page(&mm, NPAGES - 2), DMT_PAGE, 0, NULL) == -EEXIST &&
	       dmt_mirror_add(mm.s.sfd, page(&mm, 9), 3 * DMT_PAGE, 0, NULL) == -EEXIST &&
	       dmt_mirror_add(mm.s.sfd, page(&mm, NM - 2), 5 * DMT_PAGE, 0, NULL) == -EEXIST,
	       "MIRROR_ADD over the first, the last, a gap+mirror+gap, or across the freed page -> EEXIST");
	r = dmt_mirror_add(mm.s.sfd, page(&mm, NM), DMT_PAGE, 0, &id);
	tap_ok(r == 0 && id > mm.ids[NM - 1] && mirror_reads(&mm, NM / 2),
	       "the freed page mirrored again: a new id, and it READs");
	mm.ids[NM / 2] = id;

	shuffle(order, NM, 2);
	bad = NM;
	for (unsigned int k = 0; k < NM && bad == NM; k++) {
		unsigned int i = order[k];

		if (dmt_mirror_remove(mm.s.sfd, mm.ids[i]) != 0 ||
		    dmt_mirror_remove(mm.s.sfd, mm.ids[i]) != -ENOENT ||
		    dmt_fault(mm.s.sfd, page(&mm, 2 * i), DMT_PAGE, 0) != -ENOENT)
			bad = i;
		/* Now and then, one still there must still work. */
		else if (k % 64 == 0 && k + 1 < NM && !mirror_reads(&mm, order[k + 1]))
			bad = order[k + 1];
	}
	if (!tap_ok(bad == NM, "all removed by id in random order: each then ENOENT, the others still READ"))
		tap_diag("mirror %u", bad);
	list = NULL;
	r = dmt_mirror_list(mm.s.sfd, 0, &list, &count);
	tap_ok(r == 0 && count == 0, "MIRROR_LIST is empty (got %u)", count);
	free(list);
	many_free(&mm);
}

static void g_reap(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_mirror_info info;
	uint64_t ids[8], id = 0;
	uint8_t *p;
	long r = 0;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 8, 0, true) < 0 ||
	    dmt_map_anon(&m, 16 * DMT_PAGE, DMT_PAGE, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	p = m.addr;
	memset(p, 0x33, 16 * DMT_PAGE);
	for (unsigned int i = 0; i < 8 && r == 0; i++)
		r = dmt_mirror_add(s.sfd, p + 2 * i * DMT_PAGE, DMT_PAGE, 0, &ids[i]);
	if (r) {
		tap_fail_rest("MIRROR_ADD: %s", tap_errname((int)-r));
		return;
	}
	/* Mirrors 2 and 5 lose their page: released, still listed. */
	munmap(p + 4 * DMT_PAGE, DMT_PAGE);
	munmap(p + 10 * DMT_PAGE, DMT_PAGE);
	tap_ok(dmt_mirror_get(s.sfd, 0, ids[2], &info) == 0 &&
	       info.state == DAXMIRROR_MIRROR_RELEASED &&
	       dmt_fault(s.sfd, p + 4 * DMT_PAGE, DMT_PAGE, 0) == -ENOENT,
	       "a munmapped mirror is listed RELEASED and FAULT -> ENOENT");
	tap_errno(dmt_mirror_add(s.sfd, p + DMT_PAGE, DMT_PAGE, 0, NULL), 0,
		  "at the limit with two released: MIRROR_ADD reaps them and succeeds");
	tap_ok(dmt_mirror_get(s.sfd, 0, ids[2], &info) == -ENOENT &&
	       dmt_mirror_get(s.sfd, 0, ids[5], &info) == -ENOENT &&
	       dmt_mirror_remove(s.sfd, ids[5]) == -ENOENT,
	       "both released mirrors are gone from the list and by id");
	tap_errno(dmt_mirror_add(s.sfd, p + 10 * DMT_PAGE, 3 * DMT_PAGE, 0, NULL), EEXIST,
		  "MIRROR_ADD over an unmapped page and a live mirror -> EEXIST (the overlap decides first)");
	/* The released ranges are free again (mapped anew). */
	tap_ok(mmap(p + 4 * DMT_PAGE, DMT_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED &&
	       dmt_mirror_add(s.sfd, p + 4 * DMT_PAGE, DMT_PAGE, 0, &id) == 0 &&
	       dmt_fault(s.sfd, p + 4 * DMT_PAGE, DMT_PAGE, 0) == 0,
	       "a reaped mirror's range can be mirrored again");
	tap_errno(dmt_mirror_add(s.sfd, p + 3 * DMT_PAGE, DMT_PAGE, 0, NULL), ENOSPC,
		  "the limit counts live mirrors only: full again -> ENOSPC");
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "4096 mirrors: lookups by address and id", 10, g_lookups, NULL },
		{ "released mirrors reaped by MIRROR_ADD", 6, g_reap, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 600);
}
