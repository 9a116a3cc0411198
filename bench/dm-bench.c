/* dm-bench.c - the daxmirror benchmarks, run inside the tools/vm guest as
 * root (bench/run starts it). Every figure is a ratio against a reference
 * measured in the same run, interleaved rep by rep, because absolute times
 * under TCG mean little.
 *
 * Writes into --out DIR:
 *   results.csv  every raw sample: section,case,size_mib,rep,metric,value
 *   summary.csv  one line per table row (medians, ratio, spread, goal)
 *   plot.dat     population time (ms, median) against mapping size per mode
 *   table.txt    the table as printed on stdout
 * Row 8 (scale of mirrors and sessions) is in scale.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "dmt.h"
#include "mem.h"
#include "options.h"
#include "report.h"
#include "scale.h"

#define MIB		(1UL << 20)
/* Row 4e: reader threads, on one session and on a session each. */
#define READERS_MAX	4
/* Sessions populated at once for the slab delta: more where the table is
 * small, so the delta stands out of the slab's per-CPU noise. */
#define MEM_SESSIONS_MAX	16
static int mem_sessions(int c);

/* ---------------------------------------------------------------- utils */

static int reps;
static bool quick;

/* -------------------------------------------------------------- helpers */

static void xfault(int sfd, const void *addr, size_t len, uint32_t flags)
{
	int r = dmt_fault(sfd, addr, len, flags);

	if (r < 0)
		die("FAULT %p+%zu: %s", addr, len, strerror(-r));
}

static void xinfo(int sfd, struct daxmirror_session_info *info)
{
	int r = dmt_session_info(sfd, 0, info);

	if (r < 0)
		die("SESSION_INFO: %s", strerror(-r));
}

static uint64_t xadd(int sfd, const void *addr, size_t len, uint32_t flags)
{
	uint64_t id;
	int r = dmt_mirror_add(sfd, addr, len, flags, &id);

	if (r < 0)
		die("MIRROR_ADD %p+%zu: %s", addr, len, strerror(-r));
	return id;
}

static void xremove(int sfd, uint64_t id)
{
	int r = dmt_mirror_remove(sfd, id);

	if (r < 0)
		die("MIRROR_REMOVE %" PRIu64 ": %s", id, strerror(-r));
}

static uint64_t total_entries(const struct daxmirror_stats *st)
{
	return st->entries[0] + st->entries[1] + st->entries[2];
}

/* ------------------------------------------------------------ population */

enum { C_DAX2M, C_PERPAGE, C_DAX4K, C_THP, C_PAGECACHE, NR_CASES };

struct pcase {
	const char *name;	/* CSV/plot name */
	const char *label;
	uint32_t sflags;
	int grant_fd;		/* -1: anonymous */
	uint8_t *addr;		/* mapping of max_size bytes */
	struct dmt_session s;	/* the timing session */
	/* per size index */
	struct series t_ms[4], walk_ms[4], lock_ms[4], update_ms[4], populate_ms[4], retries[4];
	uint64_t entries[4][DAXMIRROR_NR_ORDERS];
	struct series mem_kib;	/* device-PT memory per session, largest size */
};

static struct pcase cases[NR_CASES];
static size_t sizes[4];
static int nsizes;

static void case_session(struct pcase *c, struct dmt_session *s)
{
	int r;

	*s = (struct dmt_session)DMT_SESSION_INIT;
	r = dmt_session_open(s, c->sflags | DAXMIRROR_SESSION_ALLOW_WRITE, 0,
			     1UL << 22, true);
	if (r < 0)
		die("session for %s: %s", c->name, strerror(-r));
	if (c->grant_fd >= 0) {
		r = dmt_grant(s->ctl, s->id, c->grant_fd, DAXMIRROR_GRANT_WRITE, 0,
			      sizes[nsizes - 1]);
		if (r < 0)
			die("grant for %s: %s", c->name, strerror(-r));
	}
}

/* One timed population of [addr, addr + len) on an empty device table. */
static void populate_once(struct pcase *c, int si)
{
	struct daxmirror_session_info a, b;
	size_t len = sizes[si];
	uint64_t id, t0, t1;

	id = xadd(c->s.sfd, c->addr, len, DAXMIRROR_MIRROR_WRITE);
	xinfo(c->s.sfd, &a);
	t0 = now_ns();
	xfault(c->s.sfd, c->addr, len, 0);
	t1 = now_ns();
	xinfo(c->s.sfd, &b);
	put(&c->t_ms[si], "population", c->name, len / MIB, "time_ms", (t1 - t0) / 1e6);
	put(&c->walk_ms[si], "population", c->name, len / MIB, "walk_ms",
	    (b.stats.walk_ns - a.stats.walk_ns) / 1e6);
	put(&c->lock_ms[si], "population", c->name, len / MIB, "lock_ms",
	    (b.stats.lock_ns - a.stats.lock_ns) / 1e6);
	put(&c->update_ms[si], "population", c->name, len / MIB, "update_ms",
	    (b.stats.update_ns - a.stats.update_ns) / 1e6);
	put(&c->populate_ms[si], "population", c->name, len / MIB, "populate_ms",
	    (b.stats.populate_ns - a.stats.populate_ns) / 1e6);
	put(&c->retries[si], "population", c->name, len / MIB, "retries",
	    (double)(b.stats.range_retries - a.stats.range_retries));
	memcpy(c->entries[si], b.stats.entries, sizeof(c->entries[si]));
	xremove(c->s.sfd, id);
}

/* Device-PT memory of one population of the largest size: MEM_SESSIONS
 * sessions populated at once, radix_tree_node slab delta / sessions. */
static void memory_once(struct pcase *c)
{
	struct dmt_session s[MEM_SESSIONS_MAX];
	size_t len = sizes[nsizes - 1];
	int ns = mem_sessions((int)(c - cases));
	long a0, a1, osz;

	for (int i = 0; i < ns; i++) {
		case_session(c, &s[i]);
		xadd(s[i].sfd, c->addr, len, DAXMIRROR_MIRROR_WRITE);
	}
	slab_settle();
	slab_radix(&a0, &osz);
	for (int i = 0; i < ns; i++)
		xfault(s[i].sfd, c->addr, len, 0);
	slab_radix(&a1, &osz);
	for (int i = 0; i < ns; i++)
		dmt_session_close(&s[i]);
	slab_settle();
	put(&c->mem_kib, "memory", c->name, len / MIB, "devpt_kib",
	    (double)(a1 - a0) * (double)osz / ns / 1024.0);
}

static int mem_sessions(int c)
{
	return c == C_DAX2M || c == C_THP ? MEM_SESSIONS_MAX : 4;
}

/* ------------------------------------------------- threads on one session */

/* One reader thread: @n device READs of 4 KiB through @sfd, walking
 * [addr, addr + span), started together with the others. */
struct reader {
	pthread_t thread;
	pthread_barrier_t *start;
	int sfd;
	const uint8_t *addr;
	size_t span;
	long n;
	uint64_t ns;
};

static void *reader_main(void *p)
{
	struct reader *t = p;
	uint8_t buf[4096];
	uint64_t t0;

	pthread_barrier_wait(t->start);
	t0 = now_ns();
	for (long i = 0; i < t->n; i++) {
		size_t off = ((size_t)i * sizeof(buf)) % t->span;
		int r = dmt_dev_read(t->sfd, t->addr + off, buf, sizeof(buf));

		if (r < 0)
			die("READ: %s", strerror(-r));
	}
	t->ns = now_ns() - t0;
	return NULL;
}

/* READs per second of @nthr threads, thread i reading through sfds[i]. */
static double readers_rate(const int *sfds, int nthr, const uint8_t *addr,
			   size_t span, long n)
{
	struct reader t[READERS_MAX];
	pthread_barrier_t start;
	uint64_t longest = 0;

	pthread_barrier_init(&start, NULL, (unsigned int)nthr);
	for (int i = 0; i < nthr; i++) {
		t[i] = (struct reader){ .start = &start, .sfd = sfds[i], .addr = addr,
					.span = span, .n = n };
		if (pthread_create(&t[i].thread, NULL, reader_main, &t[i]))
			die("pthread_create");
	}
	for (int i = 0; i < nthr; i++) {
		pthread_join(t[i].thread, NULL);
		if (t[i].ns > longest)
			longest = t[i].ns;
	}
	pthread_barrier_destroy(&start);
	return (double)nthr * (double)n / (longest / 1e9);
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
	printf("Usage: dm-bench --out DIR [--reps N] [--quick]\n"
	       "Run inside the tools/vm guest as root (bench/run does that).\n");
}

int main(int argc, char **argv)
{
	struct bench_args args = { .reps = 7 };
	const char *out;
	char path[4096], daxpath[4096], tmppath[4096], thp[64] = "?", title[256];
	int daxfd, tmpfd;
	size_t max, bw_len, pmd_blocks = 0, pmd_total;
	struct dmt_snap sn;
	struct utsname un;
	long slab_objsize = 0, dummy;
	FILE *f;

	bench_parse_args(argc, argv, usage, NULL, NULL, &args);
	out = args.out;
	reps = args.reps;
	quick = args.quick;
	if (geteuid() != 0)
		die("must run as root (in the guest)");
	if (quick) {
		sizes[0] = 16 * MIB; sizes[1] = 64 * MIB; nsizes = 2;
	} else {
		sizes[0] = 64 * MIB; sizes[1] = 256 * MIB; sizes[2] = 1024 * MIB; nsizes = 3;
	}
	max = sizes[nsizes - 1];
	bw_len = quick ? 32 * MIB : 256 * MIB;
	pmd_total = max / DMT_2M;

	bench_open_csv(out, true);
	dmt_thp_mode(thp, sizeof(thp));
	uname(&un);
	slab_radix(&dummy, &slab_objsize);
	note("kernel %s, THP %s, %d reps, sizes up to %zu MiB, radix_tree_node %ld B",
	     un.release, thp, reps, max / MIB, slab_objsize);

	/* ---- the mappings ---- */
	daxfd = make_file("DAXMIRROR_EXT4_DAX", "dm-bench.dax", max, daxpath, sizeof(daxpath));
	if (dmt_file_is_dax(daxfd) != 1)
		die("%s is not DAX", daxpath);
	tmpfd = make_file("DAXMIRROR_TMPFS", "dm-bench.tmpfs", max, tmppath, sizeof(tmppath));

	cases[C_DAX2M] = (struct pcase){ .name = "dax2m",
		.label = "ext4-dax, 2 MiB aligned (order-aware)", .grant_fd = daxfd };
	cases[C_PERPAGE] = (struct pcase){ .name = "perpage",
		.label = "ext4-dax, 2 MiB aligned, PER_PAGE", .grant_fd = daxfd,
		.sflags = DAXMIRROR_SESSION_PER_PAGE };
	cases[C_DAX4K] = (struct pcase){ .name = "dax4k",
		.label = "ext4-dax, 4 KiB-mapped (addr 2M+4K)", .grant_fd = daxfd };
	cases[C_THP] = (struct pcase){ .name = "thp",
		.label = "anonymous THP (MADV_HUGEPAGE)", .grant_fd = -1,
		.sflags = DAXMIRROR_SESSION_ALLOW_ANON };
	cases[C_PAGECACHE] = (struct pcase){ .name = "pagecache",
		.label = "tmpfs page cache (4 KiB pages)", .grant_fd = tmpfd,
		.sflags = DAXMIRROR_SESSION_ALLOW_PAGECACHE };

	cases[C_DAX2M].addr = map_at(max, 0, PROT_READ | PROT_WRITE, MAP_SHARED, daxfd);
	cases[C_PERPAGE].addr = cases[C_DAX2M].addr;
	cases[C_DAX4K].addr = map_at(max, DMT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, daxfd);
	cases[C_THP].addr = map_at(max, 0, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (madvise(cases[C_THP].addr, max, MADV_HUGEPAGE) < 0)
		note("MADV_HUGEPAGE: %s", strerror(errno));
	memset(cases[C_THP].addr, 0x5a, max);
	cases[C_PAGECACHE].addr = map_at(max, 0, PROT_READ | PROT_WRITE, MAP_SHARED, tmpfd);

	/* Warm-up: one write fault of the whole range per case (allocates and
	 * zeroes the DAX blocks, dirties the CPU page tables). */
	for (int c = 0; c < NR_CASES; c++) {
		uint64_t t0 = now_ns(), id;

		case_session(&cases[c], &cases[c].s);
		id = xadd(cases[c].s.sfd, cases[c].addr, max, DAXMIRROR_MIRROR_WRITE);
		xfault(cases[c].s.sfd, cases[c].addr, max, DAXMIRROR_FAULT_WRITE);
		xremove(cases[c].s.sfd, id);
		note("warm-up %s: %.0f ms", cases[c].name, (now_ns() - t0) / 1e6);
	}
	note("THP: AnonHugePages %ld kB of %zu MiB",
	     dmt_smaps_kb(cases[C_THP].addr, "AnonHugePages"), max / MIB);

	/* ---- 1. population, interleaved: rep -> size -> case ---- */
	for (int r = 0; r < reps; r++)
		for (int si = 0; si < nsizes; si++)
			for (int c = 0; c < NR_CASES; c++)
				populate_once(&cases[c], si);
	/* PMD-mapped blocks of the order-aware DAX mapping (snapshot). */
	{
		uint64_t id = xadd(cases[C_DAX2M].s.sfd, cases[C_DAX2M].addr, max,
				   DAXMIRROR_MIRROR_WRITE);

		xfault(cases[C_DAX2M].s.sfd, cases[C_DAX2M].addr, max, 0);
		if (dmt_snap_summary(cases[C_DAX2M].s.sfd, cases[C_DAX2M].addr, max, &sn) < 0)
			die("SNAPSHOT: %s", strerror(errno));
		pmd_blocks = sn.entries[DAXMIRROR_ORDER_2M];
		note("snapshot of %zu MiB: %zu order-9 entries of %zu blocks, %zu 4K entries, dax pages %zu",
		     max / MIB, pmd_blocks, pmd_total, sn.entries[DAXMIRROR_ORDER_4K], sn.dax);
		xremove(cases[C_DAX2M].s.sfd, id);
	}
	note("population done");
	/* memory */
	for (int r = 0; r < reps; r++)
		for (int c = 0; c < NR_CASES; c++)
			memory_once(&cases[c]);
	note("memory done");

	/* ---- rows 1 and 2 ---- */
	{
		int L = nsizes - 1;
		struct pcase *o = &cases[C_DAX2M], *p = &cases[C_PERPAGE];
		struct series ent_o = { .n = 0 }, ent_p = { .n = 0 }, share = { .n = 0 },
			      share_p = { .n = 0 }, walkshare = { .n = 0 };
		char what[96];
		struct row *w;
		uint64_t eo = o->entries[L][0] + o->entries[L][1] + o->entries[L][2];
		uint64_t ep = p->entries[L][0] + p->entries[L][1] + p->entries[L][2];

		ent_o.v[0] = (double)eo; ent_o.n = 1;
		ent_p.v[0] = (double)ep; ent_p.n = 1;
		snprintf(what, sizeof(what), "entries, dax 2M-aligned %zu MiB (order-aware)", max / MIB);
		w = add_row("1a", what, "PER_PAGE entries", "entries", &ent_o, &ent_p,
			    eo ? (double)ep / (double)eo : 0, GOAL_NONE, 0);
		row_note(w, "order-aware: %" PRIu64 " x 2M + %" PRIu64 " x 4K; snapshot: %zu of %zu blocks PMD-mapped",
			 o->entries[L][1], o->entries[L][0], pmd_blocks, pmd_total);
		w->spread[0] = 0;

		snprintf(what, sizeof(what), "population time, dax 2M %zu MiB (order-aware)", max / MIB);
		w = add_row("1b", what, "PER_PAGE, same mapping", "ms", &o->t_ms[L], &p->t_ms[L],
			    median(&p->t_ms[L]) / median(&o->t_ms[L]), GOAL_GE, 20);
		row_note(w, "ratio = PER_PAGE / order-aware (speed-up); device table emptied by MIRROR_REMOVE + MIRROR_ADD before each rep");
		snprintf(what, sizeof(what), "device-PT memory, dax 2M %zu MiB (order-aware)", max / MIB);
		w = add_row("1c", what, "PER_PAGE, same mapping", "KiB", &o->mem_kib, &p->mem_kib,
			    median(&o->mem_kib) > 0 ? median(&p->mem_kib) / median(&o->mem_kib) : 0,
			    GOAL_GE, 100);
		row_note(w, "radix_tree_node slab delta (%ld B objects) with %d (PER_PAGE %d) sessions populated at once, per session; ratio = PER_PAGE / order-aware",
			 slab_objsize, mem_sessions(C_DAX2M), mem_sessions(C_PERPAGE));
		for (int c = C_DAX4K; c < NR_CASES; c++) {
			struct pcase *x = &cases[c];

			snprintf(what, sizeof(what), "population, %s", x->label);
			w = add_row("1d", what, "dax 2M order-aware", "ms", &x->t_ms[L], &o->t_ms[L],
				    median(&x->t_ms[L]) / median(&o->t_ms[L]), GOAL_NONE, 0);
			row_note(w, "%zu MiB: entries 4K %" PRIu64 " 2M %" PRIu64 " 1G %" PRIu64 "; device-PT %.0f KiB (median); update share %.0f %%",
				 max / MIB, x->entries[L][0], x->entries[L][1], x->entries[L][2],
				 median(&x->mem_kib),
				 100 * median(&x->update_ms[L]) / median(&x->t_ms[L]));
		}
		for (int r = 0; r < o->t_ms[L].n; r++) {
			share.v[share.n++] = o->update_ms[L].v[r] / o->t_ms[L].v[r];
			walkshare.v[walkshare.n++] = o->walk_ms[L].v[r] / o->t_ms[L].v[r];
		}
		for (int r = 0; r < p->t_ms[L].n; r++)
			share_p.v[share_p.n++] = p->update_ms[L].v[r] / p->t_ms[L].v[r];
		snprintf(what, sizeof(what), "device-PT update (update_ns), dax 2M %zu MiB", max / MIB);
		w = add_row("2a", what, "population time (1b)", "ms", &o->update_ms[L], &o->t_ms[L],
			    median(&share), GOAL_LE, 0.10);
		row_note(w, "ratio = median of per-rep update/total; walk (mmap lock+policy+hmm_range_fault) %.0f %%, lock wait %.3f ms, outside the timers %.3f ms",
			 100 * median(&walkshare), median(&o->lock_ms[L]),
			 median(&o->t_ms[L]) - median(&o->walk_ms[L]) - median(&o->lock_ms[L]) - median(&o->update_ms[L]));
		{
			struct series over = { .n = 0 };

			for (int r = 0; r < o->t_ms[L].n; r++)
				over.v[over.n++] = o->t_ms[L].v[r] / o->walk_ms[L].v[r];
			snprintf(what, sizeof(what), "population, dax 2M %zu MiB (order-aware)", max / MIB);
			w = add_row("2c", what, "its own walk (walk_ns)", "ms", &o->t_ms[L], &o->walk_ms[L],
				    median(&over), GOAL_LE, 1.2);
			row_note(w, "ratio = median of per-rep total/walk, both from the same FAULT call: walk = mmap lock + policy + hmm_range_fault; the rest is the update (2a), the pt lock wait, and the rest of the population and of the call (below)");
			row_note(w, "the call (median ms): %.3f = population (populate_ns) %.3f [walk %.3f + lock %.3f + update %.3f + the pfn array and chunk loop %.3f] + the ioctl around it (entry, session lock, lookup, covered check) %.3f",
				 median(&o->t_ms[L]), median(&o->populate_ms[L]), median(&o->walk_ms[L]),
				 median(&o->lock_ms[L]), median(&o->update_ms[L]),
				 median(&o->populate_ms[L]) - median(&o->walk_ms[L]) -
				 median(&o->lock_ms[L]) - median(&o->update_ms[L]),
				 median(&o->t_ms[L]) - median(&o->populate_ms[L]));
		}
		w = add_row("2b", "device-PT update, same range, PER_PAGE", "its population time", "ms",
			    &p->update_ms[L], &p->t_ms[L], median(&share_p), GOAL_NONE, 0);
		row_note(w, "walk %.0f ms of %.0f ms", median(&p->walk_ms[L]), median(&p->t_ms[L]));
	}

	/* ---- plot data ---- */
	snprintf(path, sizeof(path), "%s/plot.dat", out);
	f = fopen(path, "w");
	if (!f)
		die("%s: %s", path, strerror(errno));
	fprintf(f, "# size_mib");
	for (int c = 0; c < NR_CASES; c++)
		fprintf(f, " %s_ms %s_min %s_max", cases[c].name, cases[c].name, cases[c].name);
	fprintf(f, "\n");
	for (int si = 0; si < nsizes; si++) {
		fprintf(f, "%zu", sizes[si] / MIB);
		for (int c = 0; c < NR_CASES; c++)
			fprintf(f, " %.4f %.4f %.4f", median(&cases[c].t_ms[si]),
				smin(&cases[c].t_ms[si]), smax(&cases[c].t_ms[si]));
		fprintf(f, "\n");
	}
	fclose(f);

	/* ---- 3. fast path on the populated order-aware mirror ---- */
	{
		struct pcase *o = &cases[C_DAX2M];
		struct series fault_us = { .n = 0 }, snap_us = { .n = 0 }, ver_us = { .n = 0 };
		struct series ext_us = { .n = 0 }, floor_us = { .n = 0 };
		uint8_t *snap = malloc(max / DMT_PAGE);
		/* Extent form: records for the whole range in one call. */
		const uint32_t ext_cap = (uint32_t)(max / DMT_2M) + 64;
		struct daxmirror_extent *ext = calloc(ext_cap, sizeof(*ext));
		/* Where the records' bytes are copied to by rep movsb: the
		 * primitive copy_to_user() uses on this CPU (ERMS). */
		struct daxmirror_extent *ext2 = calloc(ext_cap, sizeof(*ext2));
		struct daxmirror_snapshot_extents ea;
		const int next_calls = 200;
		uint32_t ext_count = 0;
		const int nver = 20000;
		/* Covered FAULT and per-page SNAPSHOT: per-call means too, so
		 * no row compares one cold call with a warm mean. */
		const int nfault = quick ? 500 : 2000, nsnap = 10;
		int fault_changed = 0;
		struct daxmirror_session_info a, b;
		uint64_t id, t0;
		uint32_t abi;
		char what[96];
		struct row *w;

		if (!snap || !ext || !ext2)
			die("no memory");
		id = xadd(o->s.sfd, o->addr, max, DAXMIRROR_MIRROR_WRITE);
		xfault(o->s.sfd, o->addr, max, 0);
		for (int r = 0; r < reps; r++) {
			t0 = now_ns();
			for (int i = 0; i < nver; i++)
				dmt_version(o->s.sfd, &abi);
			put(&ver_us, "fastpath", "version", 0, "us_per_call", (now_ns() - t0) / 1e3 / nver);
			/* A batch of covered FAULTs, a per-call mean like
			 * VERSION's; the table must not change under it. */
			xinfo(o->s.sfd, &a);
			t0 = now_ns();
			for (int i = 0; i < nfault; i++)
				xfault(o->s.sfd, o->addr, max, 0);
			put(&fault_us, "fastpath", "fault", max / MIB, "us_per_call",
			    (now_ns() - t0) / 1e3 / nfault);
			xinfo(o->s.sfd, &b);
			if (total_entries(&b.stats) != total_entries(&a.stats) ||
			    b.stats.range_faults != a.stats.range_faults) {
				note("fast path: entries %" PRIu64 " -> %" PRIu64 ", hmm_range_fault calls %" PRIu64 " during the batch",
				     total_entries(&a.stats), total_entries(&b.stats),
				     (uint64_t)(b.stats.range_faults - a.stats.range_faults));
				fault_changed++;
			}
			t0 = now_ns();
			for (int i = 0; i < nsnap; i++)
				if (dmt_snapshot(o->s.sfd, o->addr, max, snap) < 0)
					die("SNAPSHOT: %s", strerror(errno));
			put(&snap_us, "fastpath", "snapshot", max / MIB, "us_per_call",
			    (now_ns() - t0) / 1e3 / nsnap);
			/* Interleaved with the others, many calls per sample (each is short). */
			t0 = now_ns();
			for (int i = 0; i < next_calls; i++) {
				ea = (struct daxmirror_snapshot_extents){
					.addr = (uintptr_t)o->addr, .length = max,
					.extents = (uintptr_t)ext, .capacity = ext_cap,
				};
				if (dmt_ioctl(o->s.sfd, DAXMIRROR_IOC_SNAPSHOT_EXTENTS, &ea) < 0)
					die("SNAPSHOT_EXTENTS: %s", strerror(errno));
			}
			put(&ext_us, "fastpath", "snapshot_extents", max / MIB, "us_per_call",
			    (now_ns() - t0) / 1e3 / next_calls);
			ext_count = ea.count;
			/* The floor of one extent call: a syscall (VERSION)
			 * plus moving its records' bytes once. */
			t0 = now_ns();
			for (int i = 0; i < next_calls; i++) {
				dmt_version(o->s.sfd, &abi);
				copy_primitive(ext2, ext, (size_t)ext_count * sizeof(*ext));
			}
			put(&floor_us, "fastpath", "extents_floor", max / MIB, "us_per_call",
			    (now_ns() - t0) / 1e3 / next_calls);
		}
		snprintf(what, sizeof(what), "FAULT of mirrored dax 2M %zu MiB", max / MIB);
		w = add_row("3a", what, "IOC_VERSION", "us/call", &fault_us, &ver_us,
			    median(&fault_us) / median(&ver_us), GOAL_LE, 2);
		row_note(w, "covered: answered from per-mirror covered-page counters, no hmm_range_fault; %d calls per sample vs VERSION's %d, interleaved; entries or range_faults changed in %d of %d batches",
			 nfault, nver, fault_changed, reps);
		snprintf(what, sizeof(what), "SNAPSHOT_EXTENTS of mirrored dax 2M %zu MiB", max / MIB);
		w = add_row("3b", what, "IOC_VERSION", "us/call", &ext_us, &ver_us,
			    median(&ext_us) / median(&ver_us), GOAL_LE, 3);
		row_note(w, "extent form: %u records of 16 B per call (%d calls per sample); per-page form below",
			 ext_count, next_calls);
		snprintf(what, sizeof(what), "3b floor: VERSION + %s of %u records",
			 copy_primitive_name(), ext_count);
		w = add_row("3b", what, "IOC_VERSION", "us/call", &floor_us, &ver_us,
			    median(&floor_us) / median(&ver_us), GOAL_NONE, 0);
		row_note(w, "what any call returning these %zu bytes costs at least here: the extent form is %.1fx this floor",
			 (size_t)ext_count * sizeof(*ext), median(&ext_us) / median(&floor_us));
		snprintf(what, sizeof(what), "SNAPSHOT per page, dax 2M %zu MiB", max / MIB);
		w = add_row("3b", what, "IOC_VERSION", "us/call", &snap_us, &ver_us,
			    median(&snap_us) / median(&ver_us), GOAL_NONE, 0);
		row_note(w, "the per-page form: one byte per 4 KiB page, %zu KiB copied out per call, %d calls per sample; %.0fx the extent form",
			 max / DMT_PAGE / 1024, nsnap, median(&snap_us) / median(&ext_us));
		xremove(o->s.sfd, id);
		free(ext2);
		free(ext);
		free(snap);
	}
	note("fast path done");

	/* ---- 4. device access bandwidth ---- */
	{
		struct pcase *o = &cases[C_DAX2M];
		struct series dr = { .n = 0 }, dw = { .n = 0 }, mr = { .n = 0 }, mw = { .n = 0 };
		struct series pr = { .n = 0 }, pw = { .n = 0 }, rm = { .n = 0 };
		/* The buffer of every copy: 2 MiB aligned, THP asked for
		 * (MADV_HUGEPAGE) and faulted in before any timing, so the
		 * references do not move with where malloc put it. */
		uint8_t *buf = map_at(bw_len, 0, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1);
		const bool movsb = have_movsb();
		/* Per sample: memcpy, READ, memcpy, rep movsb, memcpy. The
		 * fast, jumpy memcpy reference is averaged over three copies
		 * around the others; READ and rep movsb (slow and steady under
		 * TCG) are one copy each. A sample is bytes / time. */
		const int nmemcpy = 3;
		uint64_t id, t0, tr = 0, tm, tv = 0;
		long buf_thp;
		char what[96];
		struct row *w;
		int rr;

		if (madvise(buf, bw_len, MADV_HUGEPAGE) < 0)
			note("MADV_HUGEPAGE: %s", strerror(errno));
		memset(buf, 0xa5, bw_len);
		buf_thp = dmt_smaps_kb(buf, "AnonHugePages");
		id = xadd(o->s.sfd, o->addr, bw_len, DAXMIRROR_MIRROR_WRITE);
		xfault(o->s.sfd, o->addr, bw_len, DAXMIRROR_FAULT_WRITE);
		/* Warm-up, untimed: two memcpys of it all; READ and rep movsb
		 * (steady, and slow under TCG) of the first 2 MiB. */
		memcpy(buf, o->addr, bw_len);
		memcpy(buf, o->addr, bw_len);
		rr = dmt_dev_read(o->s.sfd, o->addr, buf, DMT_2M);
		if (rr < 0)
			die("READ: %s", strerror(-rr));
		if (movsb)
			copy_movsb(buf, o->addr, DMT_2M);
		for (int r = 0; r < reps; r++) {
			tm = 0;
			for (int k = 0; k < nmemcpy; k++) {
				t0 = now_ns();
				memcpy(buf, o->addr, bw_len);
				tm += now_ns() - t0;
				if (k == 0) {
					t0 = now_ns();
					rr = dmt_dev_read(o->s.sfd, o->addr, buf, bw_len);
					if (rr < 0)
						die("READ: %s", strerror(-rr));
					tr = now_ns() - t0;
				} else if (k == 1 && movsb) {
					t0 = now_ns();
					copy_movsb(buf, o->addr, bw_len);
					tv = now_ns() - t0;
				}
			}
			put(&dr, "access", "dev_read", bw_len / MIB, "mib_s", bw_len / MIB / (tr / 1e9));
			put(&mr, "access", "memcpy_read", bw_len / MIB, "mib_s", nmemcpy * bw_len / MIB / (tm / 1e9));
			if (movsb)
				put(&rm, "access", "movsb_read", bw_len / MIB, "mib_s", bw_len / MIB / (tv / 1e9));
			t0 = now_ns();
			rr = dmt_dev_write(o->s.sfd, o->addr, buf, bw_len);
			if (rr < 0)
				die("WRITE: %s", strerror(-rr));
			put(&dw, "access", "dev_write", bw_len / MIB, "mib_s", bw_len / MIB / ((now_ns() - t0) / 1e9));
			t0 = now_ns();
			memcpy(o->addr, buf, bw_len);
			put(&mw, "access", "memcpy_write", bw_len / MIB, "mib_s", bw_len / MIB / ((now_ns() - t0) / 1e9));
			/* The kernel's own copy path for the same bytes. */
			t0 = now_ns();
			if (dmt_pread_full(o->grant_fd, buf, bw_len, 0) < 0)
				die("pread: %s", strerror(errno));
			put(&pr, "access", "pread", bw_len / MIB, "mib_s", bw_len / MIB / ((now_ns() - t0) / 1e9));
			t0 = now_ns();
			if (dmt_pwrite_full(o->grant_fd, buf, bw_len, 0) < 0)
				die("pwrite: %s", strerror(errno));
			put(&pw, "access", "pwrite", bw_len / MIB, "mib_s", bw_len / MIB / ((now_ns() - t0) / 1e9));
		}
		snprintf(what, sizeof(what), "device READ bandwidth, dax 2M %zu MiB", bw_len / MIB);
		w = add_row("4a", what, "memcpy from the mapping", "MiB/s", &dr, &mr,
			    median(&dr) / median(&mr), GOAL_GE, 0.8);
		row_note(w, "one READ ioctl of the whole range, mirror faulted; per sample memcpy, READ, memcpy, rep movsb, memcpy (memcpy: mean of 3) into one 2M-aligned MADV_HUGEPAGE buffer (%ld of %zu KiB THP), all warmed once",
			 buf_thp, bw_len / 1024);
		if (movsb) {
			w = add_row("4a", what, "rep movsb, same bytes (floor)", "MiB/s", &dr, &rm,
				    median(&dr) / median(&rm), GOAL_GE, 0.9);
			row_note(w, "the floor: userspace rep movsb (inline asm) of the same %zu MiB from the PMD-mapped DAX mapping into the same buffer, one per sample, between READ and memcpy; goal: READ >= 0.9x the primitive",
				 bw_len / MIB);
			w = add_row("4a", "userspace rep movsb from the mapping", "memcpy from the mapping",
				    "MiB/s", &rm, &mr, median(&rm) / median(&mr), GOAL_NONE, 0);
			row_note(w, "the copy primitive against glibc's memcpy, same bytes, same buffer: under TCG rep movsb is emulated byte-wise, glibc uses vector loops");
		} else {
			w = add_row("4a", what, "rep movsb, same bytes (floor)", "MiB/s", &dr, NULL,
				    0, GOAL_NONE, 0);
			snprintf(w->verdict, sizeof(w->verdict), "skip");
			row_note(w, "not x86-64: no rep movsb reference");
		}
		snprintf(what, sizeof(what), "device WRITE bandwidth, dax 2M %zu MiB", bw_len / MIB);
		w = add_row("4b", what, "memcpy to the mapping", "MiB/s", &dw, &mw,
			    median(&dw) / median(&mw), GOAL_GE, 0.8);
		row_note(w, "device writes to DAX are written back from the CPU caches (durable); the memcpy reference is not flushed");
		snprintf(what, sizeof(what), "device READ bandwidth, dax 2M %zu MiB", bw_len / MIB);
		w = add_row("4c", what, "pread(2) of the same file range", "MiB/s", &dr, &pr,
			    median(&dr) / median(&pr), GOAL_NONE, 0);
		row_note(w, "both copy with the kernel's copy routines: under TCG their rep-movs emulation, not the mirror, is the floor");
		snprintf(what, sizeof(what), "device WRITE bandwidth, dax 2M %zu MiB", bw_len / MIB);
		w = add_row("4d", what, "pwrite(2) of the same file range", "MiB/s", &dw, &pw,
			    median(&dw) / median(&pw), GOAL_NONE, 0);
		row_note(w, "pwrite to ext4 -o dax also uses non-temporal/flushing copies");
		xremove(o->s.sfd, id);
		munmap(buf, bw_len);
	}
	/* ---- 4e. READERS_MAX threads on one session vs a session each ---- */
	{
		struct pcase *o = &cases[C_DAX2M];
		struct dmt_session ss[READERS_MAX];
		int one[READERS_MAX], each[READERS_MAX];
		struct series r1 = { .n = 0 }, rn = { .n = 0 };
		long n = quick ? 2000 : 8000;
		uint64_t id;
		char what[96];
		struct row *w;

		id = xadd(o->s.sfd, o->addr, bw_len, 0);
		xfault(o->s.sfd, o->addr, bw_len, 0);
		for (int i = 0; i < READERS_MAX; i++) {
			case_session(o, &ss[i]);
			xadd(ss[i].sfd, o->addr, bw_len, 0);
			xfault(ss[i].sfd, o->addr, bw_len, 0);
			one[i] = o->s.sfd;
			each[i] = ss[i].sfd;
		}
		for (int r = 0; r < reps; r++) {
			put(&r1, "access", "threads_one_session", bw_len / MIB, "reads_s",
			    readers_rate(one, READERS_MAX, o->addr, bw_len, n));
			put(&rn, "access", "threads_session_each", bw_len / MIB, "reads_s",
			    readers_rate(each, READERS_MAX, o->addr, bw_len, n));
		}
		snprintf(what, sizeof(what), "device READs/s, %d threads on one session",
			 READERS_MAX);
		w = add_row("4e", what, "the same threads, a session each", "1/s", &r1, &rn,
			    median(&r1) / median(&rn), GOAL_GE, 0.9);
		row_note(w, "4 KiB READs of a faulted dax 2M mirror, %ld per thread, the threads started together; rate = all READs / the longest thread's time",
			 n);
		for (int i = 0; i < READERS_MAX; i++)
			dmt_session_close(&ss[i]);
		xremove(o->s.sfd, id);
	}
	note("access done");

	/* The population mappings go: row 5 hole punch unmaps the whole file
	 * from every process, which must not be charged to one variant. */
	for (int c = 0; c < NR_CASES; c++)
		if (c != C_PERPAGE)
			munmap(cases[c].addr, max);

	/* ---- 5. invalidation ---- */
	{
		struct pcase *o = &cases[C_DAX2M];
		struct series um = { .n = 0 }, uu = { .n = 0 }, pm = { .n = 0 }, pu = { .n = 0 };
		struct daxmirror_session_info info;
		uint64_t id, t0, t1, left_munmap = 0, left_punch = 0, ent_m = 0, ent_p = 0;
		uint64_t ent_p2m = 0, ent_p4k = 0;
		char what[96];
		struct row *w;

		for (int r = 0; r < reps; r++) {
			for (int v = 0; v < 2; v++) {
				uint8_t *a = map_at(max, 0, PROT_READ | PROT_WRITE, MAP_SHARED, daxfd);

				for (size_t off = 0; off < max; off += DMT_PAGE)
					(void)*(volatile uint8_t *)(a + off);
				if (v) {
					id = xadd(o->s.sfd, a, max, DAXMIRROR_MIRROR_WRITE);
					xfault(o->s.sfd, a, max, 0);
					xinfo(o->s.sfd, &info);
					ent_m = total_entries(&info.stats);
				}
				t0 = now_ns();
				if (munmap(a, max) < 0)
					die("munmap: %s", strerror(errno));
				t1 = now_ns();
				if (v) {
					xinfo(o->s.sfd, &info);
					left_munmap += total_entries(&info.stats);
					xremove(o->s.sfd, id);
				}
				put(v ? &um : &uu, "invalidation", v ? "munmap_mirrored" : "munmap_plain",
				    max / MIB, "ms", (t1 - t0) / 1e6);
			}
		}
		snprintf(what, sizeof(what), "munmap of mirrored dax 2M %zu MiB", max / MIB);
		w = add_row("5a", what, "munmap, same, unmirrored", "ms", &um, &uu,
			    median(&um) / median(&uu), GOAL_LE, 1.5);
		row_note(w, "1 load per 4 KiB in both; mirrored: %" PRIu64 " entries before, %" PRIu64 " left right after munmap returned (sum over reps): latency to gone = the munmap call",
			 ent_m, left_munmap);

		/* hole punch: re-fallocate, map, write-touch, (mirror), punch */
		for (int r = 0; r < reps; r++) {
			for (int v = 0; v < 2; v++) {
				uint8_t *a;
				int e;

				e = posix_fallocate(daxfd, 0, (off_t)max);
				if (e)
					die("fallocate: %s", strerror(e));
				a = map_at(max, 0, PROT_READ | PROT_WRITE, MAP_SHARED, daxfd);
				for (size_t off = 0; off < max; off += DMT_PAGE)
					*(volatile uint8_t *)(a + off) = 1;
				if (v) {
					id = xadd(o->s.sfd, a, max, DAXMIRROR_MIRROR_WRITE);
					xfault(o->s.sfd, a, max, 0);
					xinfo(o->s.sfd, &info);
					ent_p = total_entries(&info.stats);
					ent_p2m = info.stats.entries[DAXMIRROR_ORDER_2M];
					ent_p4k = info.stats.entries[DAXMIRROR_ORDER_4K];
				}
				t0 = now_ns();
				if (fallocate(daxfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)max) < 0)
					die("punch: %s", strerror(errno));
				t1 = now_ns();
				if (v) {
					xinfo(o->s.sfd, &info);
					left_punch += total_entries(&info.stats);
				}
				munmap(a, max);
				if (v)
					xremove(o->s.sfd, id);
				put(v ? &pm : &pu, "invalidation", v ? "punch_mirrored" : "punch_plain",
				    max / MIB, "ms", (t1 - t0) / 1e6);
			}
		}
		snprintf(what, sizeof(what), "hole punch of mirrored dax 2M %zu MiB", max / MIB);
		w = add_row("5b", what, "punch, same, unmirrored", "ms", &pm, &pu,
			    median(&pm) / median(&pu), GOAL_LE, 1.5);
		row_note(w, "write-touched per 4 KiB, re-fallocated per rep; mirrored: %" PRIu64 " entries (%" PRIu64 " x 2M, %" PRIu64 " x 4K) before, %" PRIu64 " left after (sum)",
			 ent_p, ent_p2m, ent_p4k, left_punch);
	}
	note("invalidation done");

	for (int c = 0; c < NR_CASES; c++)
		if (c != C_PERPAGE)
			dmt_session_close(&cases[c].s);
	dmt_session_close(&cases[C_PERPAGE].s);
	close(daxfd);
	close(tmpfd);
	unlink(daxpath);
	unlink(tmppath);

	/* ---- 8. scale: last, with no other session of this process open ---- */
	scale_rows(reps, quick);

	snprintf(title, sizeof(title), "guest: kernel %s, THP %s, %d reps%s", un.release, thp,
		 reps, quick ? " (--quick)" : "");
	finish_results(out, title);
	return 0;
}
