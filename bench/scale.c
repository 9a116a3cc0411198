/* scale.c - row 8 of dm-bench (scale.h): per-call costs of one mirror in a
 * session with the most mirrors allowed against the same in a session
 * with one, and of munmap in a process with 64 sessions against none.
 * Every figure is a per-call mean over a batch; the two sides alternate
 * batch by batch (which goes first alternates by sample). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmt.h"
#include "mem.h"
#include "report.h"
#include "scale.h"

#define KIB		1024UL
#define MIB		(1UL << 20)
#define SCALE_MIRRORS	DAXMIRROR_MAX_MIRRORS_LIMIT
#define OTHER_SESSIONS	64
#define PROBE_LEN	(2 * MIB)	/* one THP: one device entry */
#define READ_LEN	(4 * KIB)
#define UNMAP_LEN	(64 * KIB)
#define SCALE_FLAGS	(DAXMIRROR_SESSION_ALLOW_ANON | DAXMIRROR_SESSION_ALLOW_WRITE)

/* A session and its probe mirror (the last one added: the far end of a
 * list walked from its head). */
struct side {
	const char *name;
	struct dmt_session s;
	uint64_t probe_id;
	struct series fault_us, read_us, readd_us;
	int changed;		/* FAULT batches that called hmm_range_fault */
};

static void open_session(struct dmt_session *s, uint32_t max_mirrors)
{
	int r;

	*s = (struct dmt_session)DMT_SESSION_INIT;
	r = dmt_session_open(s, SCALE_FLAGS, max_mirrors, 1UL << 22, true);
	if (r < 0)
		die("scale: session: %s", strerror(-r));
}

static uint64_t add_fault(int sfd, const void *addr, size_t len)
{
	uint64_t id;
	int r = dmt_mirror_add(sfd, addr, len, DAXMIRROR_MIRROR_WRITE, &id);

	if (r < 0)
		die("scale: MIRROR_ADD %p+%zu: %s", addr, len, strerror(-r));
	r = dmt_fault(sfd, addr, len, 0);
	if (r < 0)
		die("scale: FAULT %p+%zu: %s", addr, len, strerror(-r));
	return id;
}

static uint64_t range_faults(int sfd)
{
	struct daxmirror_session_info info;
	int r = dmt_session_info(sfd, 0, &info);

	if (r < 0)
		die("scale: SESSION_INFO: %s", strerror(-r));
	return info.stats.range_faults;
}

/* One batch of each probe call on @x; its means are samples if @keep
 * (else a warm-up). */
static void side_batches(struct side *x, uint8_t *probe, uint8_t *buf,
			 int nf, int nr, int na, bool keep)
{
	uint64_t t0, rf;
	int r;

	rf = range_faults(x->s.sfd);
	t0 = now_ns();
	for (int i = 0; i < nf; i++) {
		r = dmt_fault(x->s.sfd, probe, PROBE_LEN, 0);
		if (r < 0)
			die("scale: FAULT: %s", strerror(-r));
	}
	if (keep)
		put(&x->fault_us, "scale", x->name, PROBE_LEN / MIB, "fault_us", (now_ns() - t0) / 1e3 / nf);
	if (keep && range_faults(x->s.sfd) != rf)
		x->changed++;

	t0 = now_ns();
	for (int i = 0; i < nr; i++) {
		r = dmt_dev_read(x->s.sfd, probe + (size_t)(i % 512) * READ_LEN, buf, READ_LEN);
		if (r < 0)
			die("scale: READ: %s", strerror(-r));
	}
	if (keep)
		put(&x->read_us, "scale", x->name, PROBE_LEN / MIB, "read_us", (now_ns() - t0) / 1e3 / nr);

	t0 = now_ns();
	for (int i = 0; i < na; i++) {
		r = dmt_mirror_remove(x->s.sfd, x->probe_id);
		if (r < 0)
			die("scale: MIRROR_REMOVE: %s", strerror(-r));
		r = dmt_mirror_add(x->s.sfd, probe, PROBE_LEN, DAXMIRROR_MIRROR_WRITE, &x->probe_id);
		if (r < 0)
			die("scale: MIRROR_ADD: %s", strerror(-r));
	}
	if (keep)
		put(&x->readd_us, "scale", x->name, PROBE_LEN / MIB, "remove_add_us", (now_ns() - t0) / 1e3 / na);
	/* Covered again for the next batch (untimed). */
	r = dmt_fault(x->s.sfd, probe, PROBE_LEN, 0);
	if (r < 0)
		die("scale: FAULT: %s", strerror(-r));
}

/* Rows 8a-8c. */
static void mirrors_rows(int reps, bool quick)
{
	const int nf = quick ? 200 : 1000, nr = quick ? 200 : 1000, na = quick ? 20 : 50;
	struct side one = { .name = "mirrors_1" }, many = { .name = "mirrors_max" };
	/* 8c's third side: the device table of "many" (the fillers' 4 KiB
	 * entries) in a session of two mirrors, to tell the table's share
	 * of the difference from the indexes'. */
	struct side shape = { .name = "mirrors_2_same_table" };
	struct side *order[3];
	size_t fill_len = (SCALE_MIRRORS - 1) * DMT_PAGE;
	uint8_t *probe, *fill, buf[READ_LEN];
	uint64_t t0, fill_ns;
	char what[96];
	struct row *w;

	probe = map_at(PROBE_LEN, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (madvise(probe, PROBE_LEN, MADV_HUGEPAGE) < 0)
		note("scale: MADV_HUGEPAGE: %s", strerror(errno));
	memset(probe, 0x5a, PROBE_LEN);
	fill = map_at(fill_len, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (madvise(fill, fill_len, MADV_NOHUGEPAGE) < 0)
		note("scale: MADV_NOHUGEPAGE: %s", strerror(errno));
	memset(fill, 0x3c, fill_len);

	open_session(&one.s, 1);
	open_session(&many.s, SCALE_MIRRORS);
	open_session(&shape.s, 2);
	add_fault(shape.s.sfd, fill, fill_len);
	/* The fillers first, one 4 KiB page each, faulted: the probe is the
	 * last mirror added. */
	t0 = now_ns();
	for (size_t i = 0; i < SCALE_MIRRORS - 1; i++)
		add_fault(many.s.sfd, fill + i * DMT_PAGE, DMT_PAGE);
	fill_ns = now_ns() - t0;
	many.probe_id = add_fault(many.s.sfd, probe, PROBE_LEN);
	one.probe_id = add_fault(one.s.sfd, probe, PROBE_LEN);
	shape.probe_id = add_fault(shape.s.sfd, probe, PROBE_LEN);
	note("scale: %d mirrors added and faulted in %.0f ms", SCALE_MIRRORS, fill_ns / 1e6);

	/* Warm-up, untimed. */
	side_batches(&one, probe, buf, nf / 10, nr / 10, 2, false);
	side_batches(&many, probe, buf, nf / 10, nr / 10, 2, false);
	side_batches(&shape, probe, buf, nf / 10, nr / 10, 2, false);

	/* The three sides in a rotating order, sample by sample. */
	for (int r = 0; r < reps; r++) {
		order[r % 3] = &one;
		order[(r + 1) % 3] = &many;
		order[(r + 2) % 3] = &shape;
		for (int k = 0; k < 3; k++)
			side_batches(order[k], probe, buf, nf, nr, na, true);
	}

	snprintf(what, sizeof(what), "FAULT (covered 2 MiB), session of %d mirrors", SCALE_MIRRORS);
	w = add_row("8a", what, "the same, session of 1 mirror", "us/call", &many.fault_us,
		    &one.fault_us, median(&many.fault_us) / median(&one.fault_us), GOAL_LE, 1.5);
	row_note(w, "probe = anon THP, the last mirror added (a list walk's far end); %d x 4 KiB faulted fillers added first (%.0f ms); %d calls per sample; batches that ran hmm_range_fault: %d / %d",
		 SCALE_MIRRORS - 1, fill_ns / 1e6, nf, many.changed, one.changed);
	snprintf(what, sizeof(what), "READ 4 KiB, session of %d mirrors", SCALE_MIRRORS);
	w = add_row("8b", what, "the same, session of 1 mirror", "us/call", &many.read_us,
		    &one.read_us, median(&many.read_us) / median(&one.read_us), GOAL_LE, 1.5);
	row_note(w, "DAXMIRROR_IOC_READ of 4 KiB from the probe mirror (faulted), stepping through its 2 MiB; %d calls per sample", nr);
	snprintf(what, sizeof(what), "MIRROR_REMOVE+ADD, session of %d mirrors", SCALE_MIRRORS);
	w = add_row("8c", what, "the same, session of 1 mirror", "us/pair", &many.readd_us,
		    &one.readd_us, median(&many.readd_us) / median(&one.readd_us), GOAL_LE, 1.5);
	row_note(w, "remove the probe (its entry dropped on the first pair) and add it back, %d pairs per sample; the sessions rotate batch by batch",
		 na);
	row_note(w, "split: a session of 2 mirrors (the probe, and one over the fillers' pages: the same %d device entries of 4 KiB) takes %.3g us/pair, so the device table's shape costs about %.2fx and the %d-mirror indexes about %.2fx (ratios of medians: their product is near, not equal to, the row's)",
		 SCALE_MIRRORS - 1, median(&shape.readd_us),
		 median(&shape.readd_us) / median(&one.readd_us), SCALE_MIRRORS,
		 median(&many.readd_us) / median(&shape.readd_us));

	dmt_session_close(&shape.s);
	dmt_session_close(&many.s);
	dmt_session_close(&one.s);
	munmap(fill, fill_len);
	munmap(probe, PROBE_LEN);
}

/* Mean µs of one mmap + munmap of UNMAP_LEN anonymous bytes, untouched
 * (munmap still runs the mmu notifiers over the range). */
static double unmap_batch(int n)
{
	uint64_t t0 = now_ns();

	for (int i = 0; i < n; i++) {
		void *p = mmap(NULL, UNMAP_LEN, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			die("scale: mmap: %s", strerror(errno));
		if (munmap(p, UNMAP_LEN) < 0)
			die("scale: munmap: %s", strerror(errno));
	}
	return (now_ns() - t0) / 1e3 / n;
}

/* One side of row 8d: a forked child (its own mm) that opens @nsess
 * sessions, each with a faulted mirror of a page of @m, then runs one
 * batch per byte read from @cmd and writes back its mean. */
static void __attribute__((noreturn)) unmap_child(int nsess, int cmd, int res, uint8_t *m, int nm)
{
	struct dmt_session s[OTHER_SESSIONS];
	double v;
	char c;

	for (int i = 0; i < nsess; i++) {
		open_session(&s[i], 1);
		add_fault(s[i].sfd, m + (size_t)i * DMT_PAGE, DMT_PAGE);
	}
	unmap_batch(nm / 10);	/* warm-up */
	v = 0;
	if (write(res, &v, sizeof(v)) != sizeof(v))
		_exit(1);
	while (read(cmd, &c, 1) == 1 && c == 'b') {
		v = unmap_batch(nm);
		if (write(res, &v, sizeof(v)) != sizeof(v))
			_exit(1);
	}
	for (int i = 0; i < nsess; i++)
		dmt_session_close(&s[i]);
	_exit(0);
}

struct unmap_side {
	pid_t pid;
	int cmd, res;	/* our ends of its pipes */
};

static void unmap_side_start(struct unmap_side *x, int nsess, uint8_t *m, int nm)
{
	int cmd[2], res[2];
	double ready;

	if (pipe(cmd) < 0 || pipe(res) < 0)
		die("scale: pipe: %s", strerror(errno));
	fflush(NULL);
	x->pid = fork();
	if (x->pid < 0)
		die("scale: fork: %s", strerror(errno));
	if (x->pid == 0) {
		close(cmd[1]);
		close(res[0]);
		unmap_child(nsess, cmd[0], res[1], m, nm);
	}
	close(cmd[0]);
	close(res[1]);
	x->cmd = cmd[1];
	x->res = res[0];
	if (read(x->res, &ready, sizeof(ready)) != sizeof(ready))
		die("scale: a munmap child did not start");
}

static double unmap_side_batch(struct unmap_side *x)
{
	double v;

	if (write(x->cmd, "b", 1) != 1 || read(x->res, &v, sizeof(v)) != sizeof(v))
		die("scale: a munmap child is gone");
	return v;
}

static void unmap_side_stop(struct unmap_side *x)
{
	int st;

	close(x->cmd);
	close(x->res);
	if (waitpid(x->pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		note("scale: a munmap child ended badly (status %#x)", st);
}

/* Row 8d: two forked twins of this process (no session of its own open),
 * one holding OTHER_SESSIONS sessions and one none, taking turns batch
 * for batch (who goes first alternates). */
static void sessions_row(int reps, bool quick)
{
	const int nm = quick ? 300 : 500;
	const int nsamples = reps * 8 < MAX_SAMPLES ? reps * 8 : MAX_SAMPLES;
	struct series with = { .n = 0 }, none = { .n = 0 };
	size_t mlen = OTHER_SESSIONS * DMT_PAGE;
	struct unmap_side z, o;
	uint8_t *m;
	struct row *w;

	m = map_at(mlen, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	memset(m, 0x11, mlen);
	unmap_side_start(&z, 0, m, nm);
	unmap_side_start(&o, OTHER_SESSIONS, m, nm);
	for (int r = 0; r < nsamples; r++) {
		for (int k = 0; k < 2; k++) {
			if ((k + r) % 2 == 0)
				put(&none, "scale", "sessions_0", UNMAP_LEN / KIB, "munmap_us",
				    unmap_side_batch(&z));
			else
				put(&with, "scale", "sessions_64", UNMAP_LEN / KIB, "munmap_us",
				    unmap_side_batch(&o));
		}
	}
	unmap_side_stop(&o);
	unmap_side_stop(&z);
	w = add_row("8d", "mmap+munmap 64 KiB unmirrored, 64 sessions", "the same, no session open",
		    "us/call", &with, &none, median(&with) / median(&none), GOAL_LE, 1.1);
	row_note(w, "two forked twins of the bench: one with 64 sessions bound to its mm (an mmu_notifier each), one faulted 4 KiB mirror each elsewhere, one with none; they take turns, %d pairs per batch, %d batches a side; goal 1.1: notifiers are per range",
		 nm, with.n);
	munmap(m, mlen);
}

void scale_rows(int reps, bool quick)
{
	mirrors_rows(reps, quick);
	note("scale: mirrors done");
	sessions_row(reps, quick);
	note("scale: sessions done");
}
