/* test-stress.c - bounded stress and limits: device reads racing CPU writes
 * and mprotect churn (values monotonic, never ahead of the CPU), 64
 * mirrors on one session, max_mirrors (ENOSPC), max_pages (EDQUOT),
 * overlap (EEXIST), double remove (ENOENT), add/remove churn, concurrent
 * device access from threads. Every loop stops after a few seconds or a
 * fixed number of iterations, whichever comes first. Runs in the guest. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt.h"

/* A word holds v and ~v: a torn copy (bytes of two values) is detected. */
static uint64_t encode(uint32_t v)
{
	return (uint64_t)v | ((uint64_t)(uint32_t)~v << 32);
}

static bool decode(uint64_t w, uint32_t *v)
{
	*v = (uint32_t)w;
	return (uint32_t)(w >> 32) == (uint32_t)~*v;
}

struct writer {
	uint64_t *word;		/* in the mirrored page */
	void *page;
	uint32_t published;	/* last value stored (atomic) */
	int stop;		/* atomic */
	unsigned long churns;
	int err;
};

static void *writer_main(void *argp)
{
	struct writer *w = argp;
	uint32_t v = 0;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) && v < 0x7fffffff) {
		v++;
		__atomic_store_n(w->word, encode(v), __ATOMIC_RELEASE);
		__atomic_store_n(&w->published, v, __ATOMIC_RELEASE);
		if (v % 256 == 0) {
			/* invalidate the device entries under the reader */
			if (mprotect(w->page, DMT_PAGE, PROT_READ) < 0 ||
			    mprotect(w->page, DMT_PAGE, PROT_READ | PROT_WRITE) < 0) {
				w->err = errno;
				break;
			}
			w->churns++;
		}
	}
	return NULL;
}

static void g_coherency(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_session_info i0, i1;
	struct writer w = { 0 };
	unsigned long reads = 0, valid = 0, torn = 0, backwards = 0, ahead = 0,
		      distinct = 0, errors = 0;
	uint32_t last = 0, v, fin_v = 0;
	uint64_t word, fin = 0;
	pthread_t t;
	double end;
	int r = 0;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	w.page = m.addr;
	w.word = (uint64_t *)((uint8_t *)m.addr + 256);
	*w.word = encode(0);
	if (dmt_mirror_add(s.sfd, m.addr, m.len, 0, NULL) < 0 ||
	    dmt_session_info(s.sfd, 0, &i0) < 0 ||
	    pthread_create(&t, NULL, writer_main, &w) != 0) {
		tap_fail_rest("mirror/thread setup failed");
		return;
	}
	end = dmt_now_s() + 3.0;
	while (reads < 200000 && dmt_now_s() < end) {
		uint32_t pub;

		r = dmt_dev_read(s.sfd, w.word, &word, sizeof(word));
		pub = __atomic_load_n(&w.published, __ATOMIC_ACQUIRE);
		reads++;
		if (r < 0) {
			if (errors++ < 3)
				tap_diag("device read %lu: %s", reads, tap_errname(-r));
			continue;
		}
		if (!decode(word, &v)) {
			torn++;
			continue;
		}
		valid++;
		if (v < last)
			backwards++;
		if (v > pub + 1)
			ahead++;
		if (v != last)
			distinct++;
		last = v;
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);

	tap_diag("%lu device reads: %lu valid, %lu torn copies, %lu values seen change, writer at %u, %lu mprotect churns",
		 reads, valid, torn, distinct, w.published, w.churns);
	if (!tap_ok(errors == 0 && w.err == 0 && valid >= 10 && distinct >= 2 &&
		    torn <= reads / 4 && backwards == 0 && ahead == 0,
		    "device reads racing CPU writes and mprotect: values never go back nor ahead of the CPU"))
		tap_diag("errors %lu writer errno %s backwards %lu ahead %lu",
			 errors, tap_errname(w.err), backwards, ahead);

	r = dmt_dev_read(s.sfd, w.word, &fin, sizeof(fin));
	if (!tap_ok(r == 0 && decode(fin, &fin_v) && fin_v == w.published,
		    "once the writer stops, the device reads exactly its last value (%u)",
		    w.published))
		tap_diag("ret %s read 0x%016llx", tap_errname(-r),
			 (unsigned long long)fin);

	dmt_session_info(s.sfd, 0, &i1);
	if (!tap_ok(i1.stats.invalidations > i0.stats.invalidations &&
		    (w.churns == 0 || i1.stats.pages_invalidated > i0.stats.pages_invalidated),
		    "the churn was seen: invalidations and pages_invalidated grew"))
		tap_diag("invalidations %llu -> %llu", (unsigned long long)i0.stats.invalidations,
			 (unsigned long long)i1.stats.invalidations);
	tap_diag("range_faults %llu, range_retries %llu, device_faults %llu",
		 (unsigned long long)i1.stats.range_faults,
		 (unsigned long long)i1.stats.range_retries,
		 (unsigned long long)i1.stats.device_faults);
}

#define MANY 64

static void g_many(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_free_ struct daxmirror_mirror_info *mi = NULL;
	struct daxmirror_session_info info;
	uint64_t ids[MANY];
	uint8_t buf[DMT_PAGE], *p;
	int added = 0, good = 0, r = 0;
	uint32_t n = 0;
	bool listed = true;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, MANY, 0, true) < 0 ||
	    dmt_map_anon(&m, 2 * MANY * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	p = m.addr;
	dmt_pattern_fill(p, m.len, 501, 0);
	for (int i = 0; i < MANY; i++) {
		r = dmt_mirror_add(s.sfd, p + 2 * i * DMT_PAGE, DMT_PAGE, 0, &ids[i]);
		if (r < 0) {
			tap_diag("mirror %d: %s", i, tap_errname(-r));
			break;
		}
		added++;
	}
	tap_eq(added, MANY, "%d mirrors of separate 4 KiB ranges on one session", MANY);
	for (int i = 0; i < added; i++) {
		size_t off = 2 * i * DMT_PAGE;

		if (dmt_dev_read(s.sfd, p + off, buf, DMT_PAGE) == 0 &&
		    dmt_pattern_check(buf, DMT_PAGE, 501, off) < 0)
			good++;
	}
	tap_eq(good, MANY, "each of the %d mirrors reads back byte-exact", MANY);
	r = dmt_mirror_list(s.sfd, 0, &mi, &n);
	for (uint32_t i = 0; r == 0 && i < n && i < (uint32_t)added; i++)
		listed &= mi[i].id == ids[i] && mi[i].length == DMT_PAGE &&
			  mi[i].start == (uintptr_t)(p + 2 * i * DMT_PAGE) &&
			  (i == 0 || mi[i - 1].id < mi[i].id);
	if (r == 0)
		r = dmt_session_info(s.sfd, 0, &info);
	if (!tap_ok(r == 0 && n == MANY && listed && info.nr_mirrors == MANY &&
		    info.mirrored_pages == MANY,
		    "MIRROR_LIST: %d mirrors in id order with their ranges; SESSION_INFO agrees",
		    MANY))
		tap_diag("ret %s count %u listed %d nr_mirrors %u pages %llu",
			 tap_errname(-r), n, listed, info.nr_mirrors,
			 (unsigned long long)info.mirrored_pages);
}

static void g_limits(const void *arg)
{
	_cleanup_session_ struct dmt_session s4 = DMT_SESSION_INIT;
	_cleanup_session_ struct dmt_session s16 = DMT_SESSION_INIT;
	_cleanup_session_ struct dmt_session so = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map gone = DMT_MAP_INIT;
	struct daxmirror_event ev;
	uint64_t ids[4] = { 0 }, id = 0, gid = 0;
	uint8_t *p;
	int r, r1, r2, r3;

	(void)arg;
	if (dmt_session_open(&s4, DMT_ANON_RW, 4, 0, true) < 0 ||
	    dmt_session_open(&s16, DMT_ANON_RW, 0, 16, true) < 0 ||
	    dmt_session_open(&so, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, 64 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_map_anon(&gone, DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	p = m.addr;

	/* max_mirrors = 4: the fourth is the gone page, released later */
	r = 0;
	for (int i = 0; i < 3 && r == 0; i++)
		r = dmt_mirror_add(s4.sfd, p + i * DMT_PAGE, DMT_PAGE, 0, &ids[i]);
	if (r == 0)
		r = dmt_mirror_add(s4.sfd, gone.addr, DMT_PAGE, 0, &gid);
	tap_errno(r < 0 ? r : dmt_mirror_add(s4.sfd, p + 3 * DMT_PAGE, DMT_PAGE, 0, NULL),
		  ENOSPC, "max_mirrors = 4: a fifth mirror -> ENOSPC");
	r = dmt_mirror_remove(s4.sfd, ids[0]);
	if (r == 0)
		r = dmt_mirror_add(s4.sfd, p + 3 * DMT_PAGE, DMT_PAGE, 0, &ids[3]);
	tap_success(r, "after MIRROR_REMOVE a new mirror fits again");
	dmt_unmap(&gone);
	r = dmt_event_wait(s4.sfd, DAXMIRROR_EVENT_MIRROR_RELEASED, s4.id,
			   DMT_EVENT_TIMEOUT_MS, &ev);
	if (r == 0)
		r = dmt_mirror_add(s4.sfd, p + 4 * DMT_PAGE, DMT_PAGE, 0, NULL);
	tap_success(r, "a released mirror is not live: another mirror fits under max_mirrors");

	/* max_pages = 16 */
	r1 = dmt_mirror_add(s16.sfd, p, 10 * DMT_PAGE, 0, NULL);
	r2 = dmt_mirror_add(s16.sfd, p + 10 * DMT_PAGE, 7 * DMT_PAGE, 0, NULL);
	r3 = dmt_mirror_add(s16.sfd, p + 10 * DMT_PAGE, 6 * DMT_PAGE, 0, NULL);
	if (!tap_ok(r1 == 0 && r2 == -EDQUOT && r3 == 0,
		    "max_pages = 16: 10 + 7 pages -> EDQUOT, 10 + 6 fits exactly"))
		tap_diag("10: %s, +7: %s, +6: %s", tap_errname(-r1), tap_errname(-r2),
			 tap_errname(-r3));

	/* overlaps */
	r = dmt_mirror_add(so.sfd, p + 8 * DMT_PAGE, 4 * DMT_PAGE, 0, &id);
	r1 = dmt_mirror_add(so.sfd, p + 10 * DMT_PAGE, 4 * DMT_PAGE, 0, NULL);
	r2 = dmt_mirror_add(so.sfd, p + 8 * DMT_PAGE, 4 * DMT_PAGE, 0, NULL);
	r3 = dmt_mirror_add(so.sfd, p + 4 * DMT_PAGE, 16 * DMT_PAGE, 0, NULL);
	if (!tap_ok(r == 0 && r1 == -EEXIST && r2 == -EEXIST && r3 == -EEXIST &&
		    dmt_mirror_add(so.sfd, p + 12 * DMT_PAGE, DMT_PAGE, 0, NULL) == 0 &&
		    dmt_mirror_add(so.sfd, p + 7 * DMT_PAGE, DMT_PAGE, 0, NULL) == 0,
		    "overlapping mirrors (partial, identical, enclosing) -> EEXIST; adjacent ones fit"))
		tap_diag("first %s partial %s same %s enclosing %s", tap_errname(-r),
			 tap_errname(-r1), tap_errname(-r2), tap_errname(-r3));

	r1 = dmt_mirror_remove(so.sfd, id);
	r2 = dmt_mirror_remove(so.sfd, id);
	if (!tap_ok(r1 == 0 && r2 == -ENOENT, "MIRROR_REMOVE, then the same id again -> ENOENT"))
		tap_diag("first %s second %s", tap_errname(-r1), tap_errname(-r2));
}

static void g_churn(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_session_info info;
	unsigned long cycles = 0, bad = 0;
	double end;
	uint8_t *p;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, 64 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	p = m.addr;
	dmt_pattern_fill(p, m.len, 601, 0);
	end = dmt_now_s() + 3.0;
	while (cycles < 2000 && dmt_now_s() < end) {
		size_t off = (cycles % 64) * DMT_PAGE;
		uint64_t id = 0, word = 0;
		bool added;

		r = dmt_mirror_add(s.sfd, p + off, DMT_PAGE, DAXMIRROR_MIRROR_WRITE, &id);
		added = r == 0;
		if (r == 0)
			r = dmt_fault(s.sfd, p + off, DMT_PAGE, cycles & 1 ? DAXMIRROR_FAULT_WRITE : 0);
		if (r == 0)
			r = dmt_dev_read(s.sfd, p + off + 64, &word, sizeof(word));
		if (r == 0 && dmt_pattern_check(&word, sizeof(word), 601, off + 64) >= 0)
			r = -EILSEQ;
		if (added && dmt_mirror_remove(s.sfd, id) < 0 && r == 0)
			r = -EIO;
		if (r < 0 && bad++ < 3)
			tap_diag("cycle %lu: %s", cycles, tap_errname(-r));
		cycles++;
	}
	r = dmt_session_info(s.sfd, 0, &info);
	if (!tap_ok(r == 0 && bad == 0 && cycles > 0 && info.nr_mirrors == 0 &&
		    info.mirrored_pages == 0 && info.stats.entries[0] == 0 &&
		    info.stats.entries[1] == 0 && info.stats.entries[2] == 0,
		    "%lu add/fault/read/remove cycles: all correct, no mirror or entry left",
		    cycles))
		tap_diag("bad %lu nr_mirrors %u pages %llu entries %llu/%llu/%llu", bad,
			 info.nr_mirrors, (unsigned long long)info.mirrored_pages,
			 (unsigned long long)info.stats.entries[0],
			 (unsigned long long)info.stats.entries[1],
			 (unsigned long long)info.stats.entries[2]);
}

#define THREADS 4
#define TPAGES 16

struct worker {
	int sfd;
	uint8_t *p;
	unsigned int index;
	double end;
	unsigned long cycles, bad;
	int first_err;
};

static void *worker_main(void *argp)
{
	struct worker *w = argp;
	uint8_t in[TPAGES * DMT_PAGE], out[TPAGES * DMT_PAGE];

	while (w->cycles < 500 && dmt_now_s() < w->end) {
		uint64_t seed = 700 + w->index * 1000 + w->cycles;
		size_t len = ((w->cycles * 7919) % (TPAGES * DMT_PAGE - 1)) + 1;
		int r;

		dmt_pattern_fill(out, len, seed, 0);
		r = dmt_dev_write(w->sfd, w->p, out, len);
		if (r == 0)
			r = dmt_dev_read(w->sfd, w->p, in, len);
		if (r == 0 && (memcmp(in, out, len) || memcmp(w->p, out, len)))
			r = -EILSEQ;
		if (r < 0 && !w->bad++)
			w->first_err = -r;
		w->cycles++;
	}
	return NULL;
}

static void g_threads(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	unsigned long cycles = 0, bad = 0;
	int started = 0;

	(void)arg;
	if (dmt_session_open(&s, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, THREADS * TPAGES * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){
			.sfd = s.sfd,
			.p = (uint8_t *)m.addr + i * TPAGES * DMT_PAGE,
			.index = (unsigned int)i,
			.end = dmt_now_s() + 2.0,
		};
		if (dmt_mirror_add(s.sfd, w[i].p, TPAGES * DMT_PAGE,
				   DAXMIRROR_MIRROR_WRITE, NULL) < 0)
			break;
		if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		cycles += w[i].cycles;
		bad += w[i].bad;
		if (w[i].bad)
			tap_diag("thread %d: %lu bad cycles, first %s", i, w[i].bad,
				 tap_errname(w[i].first_err));
	}
	tap_ok(started == THREADS && bad == 0 && cycles >= THREADS,
	       "%d threads, %lu device write/read cycles on one session: all byte-exact",
	       started, cycles);
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "coherency under CPU writes", 3, g_coherency, NULL },
		{ "many mirrors", 3, g_many, NULL },
		{ "limits", 6, g_limits, NULL },
		{ "add/remove churn", 1, g_churn, NULL },
		{ "concurrent device access", 1, g_threads, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 300);
}
