/* dm-bench-hmm.c - row 7 of the daxmirror benchmarks: daxmirror against
 * the kernel's own HMM test driver, lib/test_hmm.c, on the same ranges in
 * the same run (bench/run --kernel bench boots the bench kernel, which has
 * test_hmm.ko, loads it, compiles this file against the kernel tree's
 * lib/test_hmm_uapi.h and runs it in the guest as root).
 *
 * For a 1 GiB PMD-mapped DAX file range and a 1 GiB THP range, each rep:
 *   daxmirror  MIRROR_ADD + FAULT of the range: population time; the
 *              radix_tree_node slab delta (16 sessions at once, per
 *              session): device page-table memory
 *   test_hmm   a fresh /dev/hmm_dmirror0 (an empty device page table),
 *              per 64 MiB chunk two HMM_DMIRROR_READs back to back: the
 *              first faults every page in (64 pages per hmm_range_fault(),
 *              one xarray entry per 4 KiB page) and copies it out, the
 *              second only copies; population = the sum of the
 *              differences. The slab delta over the first: its table.
 * Rows go into the same table as dm-bench's (results.csv, summary.csv,
 * table.txt in --out DIR, appended).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lib/test_hmm_uapi.h>

#include "dmt.h"
#include "mem.h"
#include "options.h"
#include "report.h"

#define MIB		(1UL << 20)
#define READ_CHUNK	(64 * MIB)
#define HMM_DEV		"/dev/hmm_dmirror0"

static int reps;
static size_t span = 1024 * MIB;

struct hcase {
	const char *name;
	uint8_t *addr;
	int grant_fd;		/* -1: anonymous */
	uint32_t sflags;
	struct series dm_ms, hmm_ms, dm_kib, hmm_kib, hmm_copy_ms;
};

/* Sessions populated at once for daxmirror's slab delta: its table of a
 * PMD-mapped GiB is 9 xarray nodes, below the slab's per-CPU noise alone. */
#define DM_SESSIONS	16

/* daxmirror: DM_SESSIONS sessions, each MIRROR_ADD + FAULT of the whole
 * range; the first FAULT timed, the slab delta over all / DM_SESSIONS. */
static void dm_once(struct hcase *c)
{
	struct dmt_session s[DM_SESSIONS];
	long a0, a1, osz;
	uint64_t id, t0 = 0, t1 = 0;
	int r;

	for (int i = 0; i < DM_SESSIONS; i++) {
		s[i] = (struct dmt_session)DMT_SESSION_INIT;
		if (dmt_session_open(&s[i], c->sflags, 0, 0, true) < 0)
			die("session: %s", strerror(errno));
		if (c->grant_fd >= 0 &&
		    dmt_grant(s[i].ctl, s[i].id, c->grant_fd, 0, 0, span) < 0)
			die("grant: %s", strerror(errno));
		r = dmt_mirror_add(s[i].sfd, c->addr, span, 0, &id);
		if (r < 0)
			die("MIRROR_ADD: %s", strerror(-r));
	}
	slab_settle();
	slab_radix(&a0, &osz);
	for (int i = 0; i < DM_SESSIONS; i++) {
		uint64_t t = now_ns();

		r = dmt_fault(s[i].sfd, c->addr, span, 0);
		if (r < 0)
			die("FAULT: %s", strerror(-r));
		if (i == 0) {
			t0 = t;
			t1 = now_ns();
		}
	}
	slab_radix(&a1, &osz);
	put(&c->dm_ms, "hmm", c->name, span / MIB, "daxmirror_fault_ms", (t1 - t0) / 1e6);
	put(&c->dm_kib, "hmm", c->name, span / MIB, "daxmirror_devpt_kib",
	    (double)(a1 - a0) * (double)osz / DM_SESSIONS / 1024.0);
	for (int i = 0; i < DM_SESSIONS; i++)
		dmt_session_close(&s[i]);
}

/* One HMM_DMIRROR_READ of READ_CHUNK at @addr into @buf: its time in ns,
 * the device faults it took in *@faults. */
static uint64_t hmm_read(int fd, uint8_t *addr, uint8_t *buf, uint64_t *faults)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr,
		.ptr = (uintptr_t)buf,
		.npages = READ_CHUNK / DMT_PAGE,
	};
	uint64_t t0 = now_ns();

	if (ioctl(fd, HMM_DMIRROR_READ, &cmd) < 0)
		die("HMM_DMIRROR_READ: %s", strerror(errno));
	*faults = cmd.faults;
	return now_ns() - t0;
}

/*
 * test_hmm on a fresh device (empty table): per chunk, a READ that faults
 * it in and copies it out, at once a READ that only copies; population =
 * the sum of the differences (back to back, so the copy's drift under TCG
 * mostly cancels). The slab delta over the first READs: its table.
 */
static void hmm_once(struct hcase *c, uint8_t *buf)
{
	uint64_t pop = 0, copy = 0, t1, t2, f1, f2;
	long a0, a1, osz, delta = 0;
	int fd;

	slab_settle();
	fd = open(HMM_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s (is test_hmm loaded?)", HMM_DEV, strerror(errno));
	for (size_t off = 0; off < span; off += READ_CHUNK) {
		slab_radix(&a0, &osz);
		t1 = hmm_read(fd, c->addr + off, buf, &f1);
		slab_radix(&a1, &osz);
		t2 = hmm_read(fd, c->addr + off, buf, &f2);
		if (!f1 || f2)
			die("HMM_DMIRROR_READ faults %llu then %llu: the range changed",
			    (unsigned long long)f1, (unsigned long long)f2);
		pop += t1 > t2 ? t1 - t2 : 0;
		copy += t2;
		delta += a1 - a0;
	}
	close(fd);
	put(&c->hmm_ms, "hmm", c->name, span / MIB, "test_hmm_population_ms", pop / 1e6);
	put(&c->hmm_copy_ms, "hmm", c->name, span / MIB, "test_hmm_copy_ms", copy / 1e6);
	put(&c->hmm_kib, "hmm", c->name, span / MIB, "test_hmm_devpt_kib",
	    (double)delta * (double)osz / 1024.0);
}

static void usage(void)
{
	printf("Usage: dm-bench-hmm --out DIR [--reps N] [--quick]\n"
	       "Run inside the bench-kernel guest as root with test_hmm loaded\n"
	       "(bench/run --kernel bench does that).\n");
}

int main(int argc, char **argv)
{
	struct bench_args args = { .reps = 5 };
	struct hcase cases[2] = {
		{ .name = "dax-pmd", .sflags = 0 },
		{ .name = "thp", .grant_fd = -1, .sflags = DAXMIRROR_SESSION_ALLOW_ANON },
	};
	char file[4096], what[96];
	uint8_t *buf;

	bench_parse_args(argc, argv, usage, NULL, NULL, &args);
	reps = args.reps;
	if (args.quick)
		span = 256 * MIB;
	bench_open_csv(args.out, false);

	cases[0].grant_fd = make_file(DMT_ENV_EXT4_DAX, "bench-hmm", span, file, sizeof(file));
	cases[0].addr = map_at(span, 0, PROT_READ | PROT_WRITE, MAP_SHARED, cases[0].grant_fd);
	cases[1].addr = map_at(span, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (madvise(cases[1].addr, span, MADV_HUGEPAGE) < 0)
		note("MADV_HUGEPAGE: %s", strerror(errno));
	/* The CPU side mapped first (DAX blocks zeroed, THP allocated): both
	 * drivers then only walk and store. */
	memset(cases[0].addr, 0x5a, span);
	memset(cases[1].addr, 0x5a, span);
	note("THP: AnonHugePages %ld kB of %zu MiB", dmt_smaps_kb(cases[1].addr, "AnonHugePages"),
	     span / MIB);
	buf = malloc(READ_CHUNK);
	if (!buf)
		die("malloc");
	memset(buf, 0, READ_CHUNK);

	for (int r = 0; r < reps; r++)
		for (int c = 0; c < 2; c++) {
			dm_once(&cases[c]);
			hmm_once(&cases[c], buf);
		}

	for (int c = 0; c < 2; c++) {
		struct hcase *k = &cases[c];
		struct row *w;

		snprintf(what, sizeof(what), "population %zu MiB %s: daxmirror FAULT", span / MIB,
			 c ? "THP" : "PMD-mapped DAX");
		w = add_row(c ? "7c" : "7a", what, "test_hmm READ(fault+copy)-READ(copy)", "ms", &k->dm_ms,
			    &k->hmm_ms, median(&k->hmm_ms) / median(&k->dm_ms), GOAL_NONE, 0);
		row_note(w, "ratio = test_hmm / daxmirror (speed-up); test_hmm has no FAULT call: its population is READ(fault+copy) - READ(copy) per 64 MiB chunk, back to back; the copies took %.0f ms (median) and their jitter is in its spread",
			 median(&k->hmm_copy_ms));
		snprintf(what, sizeof(what), "device-PT memory %zu MiB %s: daxmirror", span / MIB,
			 c ? "THP" : "PMD-mapped DAX");
		w = add_row(c ? "7d" : "7b", what, "test_hmm", "KiB", &k->dm_kib, &k->hmm_kib,
			    median(&k->dm_kib) > 0 ? median(&k->hmm_kib) / median(&k->dm_kib) : 0,
			    GOAL_NONE, 0);
		row_note(w, "radix_tree_node slab delta (daxmirror: 16 sessions populated at once, per session); ratio = test_hmm / daxmirror");
	}
	/* Appended to dm-bench's files; alone (--hmm-only), with headers. */
	finish_results(args.out, NULL);
	unlink(file);
	return 0;
}
