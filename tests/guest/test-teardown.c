/* test-teardown.c - issue 6 item 4 at the module level (no daemon).
 *
 * 1. Revocation without loss: a client (a child, given its session fd by
 *    the parent acting as broker) mirrors a 2 MiB aligned 8 MiB file on
 *    $DAXMIRROR_EXT4_DAX writable and device-writes numbered 4 KiB records
 *    (sequence number + checksum) in a loop, reporting each completed one
 *    over a pipe; the parent revokes at a random moment. Every write the
 *    client saw complete is in the file (pread + checksum), the first
 *    failing call and every later one is ENODEV, what the client tries to
 *    write after the revoke (a marker record) never reaches the file, and
 *    REVOKED arrives on the session fd (poll POLLHUP|POLLIN, read) and on
 *    the control node. ROUNDS rounds.
 * 2. Fork/exit stress around teardown: WORKERS processes x ITERS
 *    iterations; each iteration a client process gets a session (from its
 *    worker as broker, or opens /dev/daxmirror itself), binds, mirrors
 *    anonymous memory and a DAX file range, device-writes, then ends in one
 *    of five orders (rotating): close before munmap, munmap before close,
 *    exit with both live, fork a child that exits while the mirror is live,
 *    revoke by the broker while the client writes. Every process exits
 *    normally, every session is gone after its client, LIST_SESSIONS and
 *    /sys/module/daxmirror/refcnt are back to their values before, and
 *    the kernel log after our marker has no splat.
 *
 * Options: --seed N (default: from the clock, printed). Runs in the guest
 * as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmt.h"
#include "module-state.h"

/* --- common ------------------------------------------------------------- */

static uint64_t g_seed;

/* xorshift64*: per-process state, seeded explicitly. */
static uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static char kmsg_marker[96];

/* Is session @id still listed? 1 yes, 0 no, -errno. */
static int session_listed(int ctl, uint64_t id)
{
	_cleanup_free_ uint64_t *ids = NULL;
	uint32_t n = 0;
	int r = dmt_list_sessions(ctl, &ids, &n);

	if (r < 0)
		return r;
	return dmt_ids_contain(ids, n, id) ? 1 : 0;
}

/* Wait up to @ms for REVOKED of @id on @fd (other events dropped
 * silently). 0 or -errno. */
static int wait_revoked(int fd, uint64_t id, int ms)
{
	uint64_t end = dmt_now_ns() + (uint64_t)ms * 1000000ULL;
	struct daxmirror_event ev;

	for (;;) {
		uint64_t t = dmt_now_ns();
		int r;

		if (t >= end)
			return -ETIMEDOUT;
		r = dmt_event_read(fd, &ev, (int)((end - t) / 1000000ULL) + 1);
		if (r == -ETIMEDOUT)
			continue;
		if (r < 0)
			return r;
		if (ev.type == DAXMIRROR_EVENT_REVOKED && ev.session_id == id)
			return 0;
	}
}

/* --- 1. revocation without loss ---------------------------------------- */

#define RV_FLEN		(8UL << 20)
#define RV_SLOTS	(RV_FLEN / DMT_PAGE)
#define RV_ROUNDS	10
#define RV_RESULTS	6
#define RV_MAX_DELAY_US	150000	/* the random moment: up to this after the 1st write */
#define RV_POST_TRIES	32
#define RV_CLIENT_MS	30000	/* a client gives up writing after this */
#define REC_MAGIC	0x31434552544d44ULL	/* "DMTREC1" */
#define POST_MAGIC	0x4b564552534f50ULL	/* "POSREVK": written after ENODEV */

struct rec {
	uint64_t magic;
	uint64_t round;
	uint64_t seq;
	uint64_t sum;
	uint8_t payload[DMT_PAGE - 32];
};
_Static_assert(sizeof(struct rec) == DMT_PAGE, "a record is one page");

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t rec_sum(const struct rec *r)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv1a(h, &r->round, sizeof(r->round));
	h = fnv1a(h, &r->seq, sizeof(r->seq));
	return fnv1a(h, r->payload, sizeof(r->payload));
}

static void rec_make(struct rec *r, uint64_t magic, uint64_t round, uint64_t seq)
{
	r->magic = magic;
	r->round = round;
	r->seq = seq;
	dmt_pattern_fill(r->payload, sizeof(r->payload),
			 (round << 32) ^ seq ^ (magic == POST_MAGIC ? 0xEEEE0000ULL : 0), 0);
	r->sum = rec_sum(r);
}

/* The initial bytes of the file in round @round. */
static uint64_t rv_file_seed(unsigned int round)
{
	return 4000 + round;
}

struct rv_arg {
	int pipe_w, pipe_r, ctl;
	int file_fd;
	unsigned int round;
};

/* Messages of the client's summary over the socket, in this order. */
enum { SUM_FIRST_ERR, SUM_FAIL_SEQ, SUM_POST_BAD, SUM_POST_WRITTEN,
       SUM_POLL, SUM_EVENT, SUM_N };

static int rv_client(int sock, void *argp)
{
	const struct rv_arg *a = argp;
	struct dmt_map m = DMT_MAP_INIT;
	struct rec *rec;
	int64_t sum[SUM_N] = { 0 }, id;
	uint64_t deadline, seq;
	uint8_t snap[1];
	int sfd, r;

	close(a->pipe_r);
	close(a->ctl);	/* a client has no control fd */
	sfd = dmt_recv_fd(sock, &id, DMT_CHILD_TIMEOUT_MS);
	if (sfd < 0)
		return 10;
	if (dmt_bind(sfd) < 0)
		return 11;
	if (dmt_map_file(&m, RV_FLEN, DMT_2M, PROT_READ | PROT_WRITE, a->file_fd,
			 0, true) < 0)
		return 12;
	if (dmt_mirror_add(sfd, m.addr, RV_FLEN, DAXMIRROR_MIRROR_WRITE, NULL) < 0)
		return 13;
	rec = aligned_alloc(DMT_PAGE, sizeof(*rec));
	if (!rec)
		return 14;

	deadline = dmt_now_ns() + RV_CLIENT_MS * 1000000ULL;
	for (seq = 0;; seq++) {
		uint8_t *at = (uint8_t *)m.addr + (seq % RV_SLOTS) * DMT_PAGE;

		if (dmt_now_ns() > deadline)
			return 15;	/* never revoked */
		rec_make(rec, REC_MAGIC, a->round, seq);
		r = dmt_dev_write(sfd, at, rec, sizeof(*rec));
		if (r < 0) {
			sum[SUM_FIRST_ERR] = -r;
			sum[SUM_FAIL_SEQ] = (int64_t)seq;
			break;
		}
		if (write(a->pipe_w, &seq, sizeof(seq)) != sizeof(seq))
			return 16;
	}
	close(a->pipe_w);

	/* Keep trying, with marker records, and every other call. */
	for (int i = 0; i < RV_POST_TRIES; i++) {
		uint8_t *at = (uint8_t *)m.addr + ((seq + i) % RV_SLOTS) * DMT_PAGE;

		rec_make(rec, POST_MAGIC, a->round, seq + i);
		r = dmt_dev_write(sfd, at, rec, sizeof(*rec));
		if (r == 0)
			sum[SUM_POST_WRITTEN]++;
		if (r != -ENODEV)
			sum[SUM_POST_BAD]++;
	}
	sum[SUM_POST_BAD] += dmt_dev_read(sfd, m.addr, rec, 64) != -ENODEV;
	sum[SUM_POST_BAD] += dmt_fault(sfd, m.addr, DMT_PAGE, DAXMIRROR_FAULT_WRITE) != -ENODEV;
	sum[SUM_POST_BAD] += dmt_snapshot(sfd, m.addr, DMT_PAGE, snap) != -ENODEV;
	sum[SUM_POST_BAD] += dmt_mirror_add(sfd, (uint8_t *)m.addr, DMT_PAGE,
					    0, NULL) != -ENODEV;
	sum[SUM_POST_BAD] += dmt_bind(sfd) != -ENODEV;

	sum[SUM_POLL] = dmt_poll(sfd, POLLIN, DMT_EVENT_TIMEOUT_MS);
	if (dmt_set_nonblock(sfd) == 0)
		sum[SUM_EVENT] = wait_revoked(sfd, (uint64_t)id, DMT_EVENT_TIMEOUT_MS) == 0;
	for (int i = 0; i < SUM_N; i++)
		if (dmt_send_i64(sock, sum[i]) < 0)
			return 17;
	return 0;
}

struct rv_totals {
	uint64_t completed, verified_slots, revokes, post_tries;
	uint64_t min_done, max_done;
	uint64_t reported_after_revoke;
};

static void rv_round(int ctl, struct dmt_file *f, unsigned int round,
		     uint64_t *rs, struct rv_totals *tot)
{
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	_cleanup_free_ int64_t *slot_last = NULL;
	_cleanup_free_ uint8_t *file = NULL;
	_cleanup_free_ struct rec *want = NULL;
	_cleanup_close_ int sfd = -1, pr = -1, pw = -1;
	struct rv_arg a;
	int64_t sum[SUM_N] = { 0 }, last = -1, seq;
	uint64_t id = 0, delay_us, t_rev = 0, deadline, n_at_revoke = 0;
	uint64_t completed = 0, bad_records = 0, bad_plain = 0, markers = 0;
	bool revoked = false, order_ok = true, ok;
	int pfd[2], r, st, ctl_ev, first_bad = -1;
	long rev_r = -1;

	slot_last = malloc(RV_SLOTS * sizeof(*slot_last));
	file = malloc(RV_FLEN);
	want = aligned_alloc(DMT_PAGE, sizeof(*want));
	if (!slot_last || !file || !want || pipe2(pfd, O_CLOEXEC) < 0) {
		for (int i = 0; i < RV_RESULTS; i++)
			tap_ok(false, "round %u: allocation/pipe", round);
		return;
	}
	pr = pfd[0];
	pw = pfd[1];
	for (size_t i = 0; i < RV_SLOTS; i++)
		slot_last[i] = -1;

	/* The file's bytes before: a pattern of this round. */
	dmt_pattern_fill(file, RV_FLEN, rv_file_seed(round), 0);
	r = dmt_pwrite_full(f->fd, file, RV_FLEN, 0);
	if (r == 0 && fsync(f->fd) < 0)
		r = -errno;
	/* The client first, so that it inherits no session fd: it gets its
	 * only one through SCM_RIGHTS. */
	a = (struct rv_arg){ .pipe_w = pw, .pipe_r = pr, .ctl = ctl,
			     .file_fd = f->fd, .round = round };
	if (r == 0)
		r = dmt_child_start(&c, rv_client, &a);
	if (r == 0) {
		sfd = dmt_session_create(ctl, DAXMIRROR_SESSION_ALLOW_WRITE, 0, 0, &id);
		r = sfd < 0 ? sfd : 0;
	}
	if (r == 0)
		r = dmt_grant(ctl, id, f->fd, DAXMIRROR_GRANT_WRITE, 0, RV_FLEN);
	if (r == 0)
		r = dmt_send_fd(c.sock, sfd, (int64_t)id);
	closep(&sfd);	/* the client holds the only session fd now */
	closep(&pw);
	if (r < 0) {
		for (int i = 0; i < RV_RESULTS; i++)
			tap_ok(false, "round %u: setup: %s", round, tap_errname(-r));
		return;
	}

	/* Collect completions; revoke at a random moment after the first. */
	delay_us = rnd_next(rs) % (RV_MAX_DELAY_US + 1);
	deadline = dmt_now_ns() + (uint64_t)DMT_CHILD_TIMEOUT_MS * 1000000ULL;
	for (;;) {
		uint64_t t = dmt_now_ns();
		int wait_ms = 1000;
		ssize_t n;

		if (!revoked && completed && t >= t_rev) {
			rev_r = dmt_revoke(ctl, id);
			revoked = true;
			n_at_revoke = completed;
			tot->revokes += rev_r == 0;
		}
		if (t > deadline)
			break;
		if (!revoked && completed)
			wait_ms = (int)((t_rev > t ? t_rev - t : 0) / 1000000ULL);
		r = dmt_poll(pr, POLLIN, wait_ms);
		if (r <= 0)
			continue;
		n = read(pr, &seq, sizeof(seq));
		if (n == 0)
			break;	/* the client closed it: it saw a failure */
		if (n != sizeof(seq)) {
			if (n < 0 && errno == EINTR)
				continue;
			order_ok = false;
			break;
		}
		if (seq != last + 1)
			order_ok = false;
		last = seq;
		slot_last[(uint64_t)seq % RV_SLOTS] = seq;
		if (!completed)
			t_rev = dmt_now_ns() + delay_us * 1000ULL;
		completed++;
	}
	if (!revoked) {
		tap_diag("round %u: no completion by the deadline; revoking anyway", round);
		rev_r = dmt_revoke(ctl, id);
	}
	for (int i = 0; i < SUM_N; i++)
		if (dmt_recv_i64(c.sock, &sum[i], DMT_CHILD_TIMEOUT_MS) < 0) {
			sum[SUM_FIRST_ERR] = -1;
			break;
		}
	st = dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);
	ctl_ev = wait_revoked(ctl, id, DMT_EVENT_TIMEOUT_MS);

	ok = rev_r == 0 && st == 0 && order_ok && completed > 0;
	if (!tap_ok(ok, "round %u: %" PRIu64 " writes completed, revoked after %" PRIu64
		    " us (%" PRIu64 " reported by then), client exited 0",
		    round, completed, delay_us, n_at_revoke))
		tap_diag("revoke %s, client status %d, completions in order %d",
			 tap_errname((int)-rev_r), st, order_ok);

	/* The file afterwards, through pread. */
	r = dmt_pread_full(f->fd, file, RV_FLEN, 0);
	for (size_t s = 0; r == 0 && s < RV_SLOTS; s++) {
		const uint8_t *p = file + s * DMT_PAGE;
		const struct rec *got = (const struct rec *)p;

		for (size_t o = 0; o < DMT_PAGE; o += 8)
			if (*(const uint64_t *)(p + o) == POST_MAGIC)
				markers++;
		if (slot_last[s] >= 0) {
			rec_make(want, REC_MAGIC, round, (uint64_t)slot_last[s]);
			if (got->magic != REC_MAGIC || got->sum != rec_sum(got) ||
			    memcmp(got, want, DMT_PAGE)) {
				if (first_bad < 0)
					first_bad = (int)s;
				bad_records++;
			}
		} else if (dmt_pattern_check(p, DMT_PAGE, rv_file_seed(round),
					     s * DMT_PAGE) >= 0) {
			if (first_bad < 0)
				first_bad = (int)s;
			bad_plain++;
		}
	}
	if (!tap_ok(r == 0 && !bad_records && !bad_plain,
		    "round %u: every completed write is in the file (pread, checksum), no other page changed",
		    round)) {
		tap_diag("pread %s; %" PRIu64 " records wrong, %" PRIu64
			 " unwritten pages changed, first at page %d", tap_errname(-r),
			 bad_records, bad_plain, first_bad);
		if (first_bad >= 0) {
			const struct rec *g = (const struct rec *)(file + (size_t)first_bad * DMT_PAGE);

			tap_diag("page %d: magic %#" PRIx64 " round %" PRIu64 " seq %" PRIu64
				 " (want seq %" PRId64 ")", first_bad, g->magic, g->round,
				 g->seq, slot_last[first_bad]);
		}
	}
	if (!tap_ok(sum[SUM_FIRST_ERR] == ENODEV && sum[SUM_FAIL_SEQ] == last + 1,
		    "round %u: the client's first failing call is ENODEV (write no. %" PRId64 ")",
		    round, sum[SUM_FAIL_SEQ]))
		tap_diag("first error %s at #%" PRId64 ", last completion reported #%" PRId64,
			 sum[SUM_FIRST_ERR] > 0 ? tap_errname((int)sum[SUM_FIRST_ERR]) : "(none)",
			 sum[SUM_FAIL_SEQ], last);
	if (!tap_ok(sum[SUM_POST_BAD] == 0,
		    "round %u: every later call is ENODEV (%d marker writes, READ, FAULT, SNAPSHOT, MIRROR_ADD, BIND)",
		    round, RV_POST_TRIES))
		tap_diag("%" PRId64 " calls did not fail with ENODEV, %" PRId64 " marker writes succeeded",
			 sum[SUM_POST_BAD], sum[SUM_POST_WRITTEN]);
	if (!tap_ok(r == 0 && markers == 0 && sum[SUM_POST_WRITTEN] == 0,
		    "round %u: nothing written after the revoke reaches the file (no marker)", round))
		tap_diag("%" PRIu64 " marker words in the file", markers);
	if (!tap_ok((sum[SUM_POLL] & (POLLHUP | POLLIN)) == (POLLHUP | POLLIN) &&
		    sum[SUM_EVENT] == 1 && ctl_ev == 0,
		    "round %u: session fd: poll POLLHUP|POLLIN, read() REVOKED; control: REVOKED",
		    round))
		tap_diag("poll revents %#" PRIx64 ", session REVOKED read %" PRId64
			 ", control REVOKED %s", (uint64_t)sum[SUM_POLL], sum[SUM_EVENT],
			 tap_errname(-ctl_ev));

	tot->completed += completed;
	tot->post_tries += RV_POST_TRIES;
	tot->reported_after_revoke += completed - n_at_revoke;
	for (size_t s = 0; s < RV_SLOTS; s++)
		tot->verified_slots += slot_last[s] >= 0 && !bad_records;
	if (!tot->min_done || completed < tot->min_done)
		tot->min_done = completed;
	if (completed > tot->max_done)
		tot->max_done = completed;
}

static void g_revoke_no_loss(const void *arg)
{
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_close_ int ctl = -1;
	struct rv_totals tot = { 0 };
	const char *dir = dmt_env_dir(DMT_ENV_EXT4_DAX);
	uint64_t rs = g_seed ^ 0x9e3779b97f4a7c15ULL, t0 = dmt_now_ns();
	char why[256];
	int r;

	tap_diag("seed %" PRIu64 " (--seed to repeat); before: %ld sessions, module refcnt %ld",
		 g_seed, ((const long *)arg)[0], ((const long *)arg)[1]);
	if (!dir) {
		tap_skip_rest("%s: no ext4 -o dax directory", DMT_ENV_EXT4_DAX);
		return;
	}
	ctl = dmt_open_control();
	if (ctl < 0 || dmt_set_nonblock(ctl) < 0) {
		tap_fail_rest("open %s: %s", DMT_CONTROL_PATH, tap_errname(-ctl));
		return;
	}
	r = dmt_file_create_aligned(&f, dir, RV_FLEN, DMT_2M, 4000, why, sizeof(why));
	if (r != 0) {
		tap_diag("no 2 MiB aligned file (%s): a plain one", why);
		r = dmt_file_create(&f, dir, "teardown", RV_FLEN, 4000);
	}
	if (r < 0 || dmt_file_is_dax(f.fd) != 1) {
		tap_fail_rest("an 8 MiB DAX file in %s: %s", dir, tap_errname(-r));
		return;
	}
	for (unsigned int round = 0; round < RV_ROUNDS; round++)
		rv_round(ctl, &f, round, &rs, &tot);

	tap_diag("figures: revocation without loss: %u rounds, %" PRIu64 " revokes, %" PRIu64
		 " device writes completed (%" PRIu64 " to %" PRIu64 " a round), %" PRIu64
		 " record pages (the last write of each page) checked by pread+checksum, %" PRIu64
		 " completions reported after the"
		 " revoke call (completed before it), %" PRIu64 " post-revoke marker writes all refused,"
		 " %.1f s", RV_ROUNDS, tot.revokes, tot.completed, tot.min_done, tot.max_done,
		 tot.verified_slots, tot.reported_after_revoke, tot.post_tries,
		 (double)(dmt_now_ns() - t0) / 1e9);
}

/* --- 2. fork/exit stress around teardown ------------------------------- */

#define ST_WORKERS	8
#define ST_ITERS	10
#define ST_SLICE	(1UL << 20)	/* each worker's part of the DAX file */
#define ST_ANON		(256UL << 10)
#define ST_WLEN		(16UL << 10)	/* bytes device-written per mirror */
#define ST_TIME_S	120		/* the workers stop starting iterations */
#define ST_RESULTS	7

enum { M_CLOSE_FIRST, M_UNMAP_FIRST, M_EXIT_LIVE, M_FORK_CHILD, M_REVOKE, M_N };
static const char *const mode_name[M_N] = {
	"close before munmap", "munmap before close", "exit with both live",
	"fork child exits, mirror live", "revoke while writing",
};

struct st_client_arg {
	int file_fd, worker_ctl;
	unsigned int worker, iter, mode;
	bool self_create;
	uint64_t seed;
};

/* Device-write @len bytes of pattern @seed at @p through @sfd and check the
 * CPU sees them. 0, or -errno / -EIO on a mismatch. */
static int write_check(int sfd, uint8_t *p, size_t len, uint64_t seed)
{
	uint8_t buf[ST_WLEN];
	int r;

	dmt_pattern_fill(buf, len, seed, 0);
	r = dmt_dev_write(sfd, p, buf, len);
	if (r < 0)
		return r;
	return memcmp(p, buf, len) ? -EIO : 0;
}

static int st_client(int sock, void *argp)
{
	const struct st_client_arg *a = argp;
	struct dmt_map anon = DMT_MAP_INIT, fm = DMT_MAP_INIT;
	uint64_t rs = a->seed | 1, id = 0;
	int64_t v;
	uint8_t *fp, *ap;
	uint8_t small[64] = { 0 };
	int sfd, r, ctl;

	close(a->worker_ctl);	/* a client has no control fd but its own */
	if (a->self_create) {
		ctl = dmt_open_control();
		if (ctl < 0)
			return 20;
		sfd = dmt_session_create(ctl, DMT_ANON_RW, 0, 0, &id);
		if (sfd < 0)
			return 21;
		if (dmt_grant(ctl, id, a->file_fd, DAXMIRROR_GRANT_WRITE,
			      a->worker * ST_SLICE, ST_SLICE) < 0)
			return 22;
		close(ctl);
		if (dmt_send_i64(sock, (int64_t)id) < 0)
			return 23;
	} else {
		sfd = dmt_recv_fd(sock, &v, DMT_CHILD_TIMEOUT_MS);
		if (sfd < 0)
			return 24;
	}
	if (dmt_bind(sfd) < 0)
		return 25;
	if (dmt_map_anon(&anon, ST_ANON, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_map_file(&fm, ST_SLICE, 0, PROT_READ | PROT_WRITE, a->file_fd,
			 (off_t)(a->worker * ST_SLICE), false) < 0)
		return 26;
	ap = anon.addr;
	fp = fm.addr;
	if (dmt_mirror_add(sfd, ap, ST_ANON, DAXMIRROR_MIRROR_WRITE, NULL) < 0 ||
	    dmt_mirror_add(sfd, fp, ST_SLICE, DAXMIRROR_MIRROR_WRITE, NULL) < 0)
		return 27;
	r = write_check(sfd, ap + (rnd_next(&rs) % 8) * DMT_PAGE, ST_WLEN, a->seed);
	if (r == 0)
		r = write_check(sfd, fp + (rnd_next(&rs) % 32) * DMT_PAGE, ST_WLEN,
				a->seed + 1);
	if (r < 0) {
		tap_diag("worker %u iter %u: device write before the end: %s",
			 a->worker, a->iter, tap_errname(-r));
		return 28;
	}

	switch (a->mode) {
	case M_CLOSE_FIRST:
		close(sfd);
		dmt_unmap(&fm);
		dmt_unmap(&anon);
		return 0;
	case M_UNMAP_FIRST:
		dmt_unmap(&fm);
		dmt_unmap(&anon);
		/* the mirrors are released: the device cannot reach there */
		r = dmt_dev_write(sfd, fp, small, sizeof(small));
		if (r == 0)
			return 29;
		close(sfd);
		return 0;
	case M_EXIT_LIVE:
		return 0;	/* _exit() with the session fd and both mappings */
	case M_FORK_CHILD: {
		uint64_t end = dmt_now_ns() + 10000000000ULL;
		unsigned int writes = 0;
		pid_t pid;
		int status;

		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return 30;
		if (pid == 0) {
			uint8_t b[64];

			ap[0]++;	/* copy-on-write of the child's own copy */
			/* not the bound mm: refused */
			if (dmt_dev_write(sfd, ap, b, sizeof(b)) != -EBUSY)
				_exit(3);
			usleep((useconds_t)(rnd_next(&rs) % 3000));
			_exit(0);	/* with the inherited session fd and mirrors */
		}
		/* keep the mirror busy while the child exits */
		for (;;) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			r = write_check(sfd, ap + (writes % 8) * DMT_PAGE, 4096,
					a->seed + 2 + writes);
			if (r == 0)
				r = write_check(sfd, fp + (writes % 32) * DMT_PAGE, 4096,
						a->seed + 3 + writes);
			if (r < 0) {
				tap_diag("worker %u iter %u: write while the child exits: %s",
					 a->worker, a->iter, tap_errname(-r));
				if (w == 0)
					waitpid(pid, &status, 0);
				return 31;
			}
			writes++;
			if (w == pid)
				break;
			if (w < 0 || dmt_now_ns() > end) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				return 32;
			}
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			tap_diag("worker %u iter %u: grandchild status %#x", a->worker,
				 a->iter, status);
			return 33;
		}
		/* and after: still the parent's */
		if (write_check(sfd, ap, ST_WLEN, a->seed + 99) < 0 ||
		    write_check(sfd, fp, ST_WLEN, a->seed + 98) < 0)
			return 34;
		if (a->iter & 1)
			return 0;	/* exit live */
		dmt_unmap(&anon);
		close(sfd);
		dmt_unmap(&fm);
		return 0;
	}
	case M_REVOKE: {
		uint64_t end = dmt_now_ns() + 20000000000ULL;
		int64_t writes = 0;
		short rev;

		if (dmt_send_i64(sock, 1) < 0)
			return 35;
		for (;;) {
			uint8_t *p = (writes & 1) ? fp + (writes % 32) * DMT_PAGE
						  : ap + (writes % 8) * DMT_PAGE;

			r = write_check(sfd, p, 4096, a->seed + 5 + (uint64_t)writes);
			if (r < 0)
				break;
			writes++;
			if (dmt_now_ns() > end)
				return 36;
		}
		if (r != -ENODEV) {
			tap_diag("worker %u iter %u: writing during revoke: %s, want ENODEV",
				 a->worker, a->iter, tap_errname(-r));
			return 37;
		}
		if (dmt_dev_write(sfd, ap, small, sizeof(small)) != -ENODEV)
			return 38;
		rev = (short)dmt_poll(sfd, POLLIN, DMT_EVENT_TIMEOUT_MS);
		if (!(rev & POLLHUP))
			return 39;
		dmt_send_i64(sock, writes);
		if (a->iter & 1) {
			close(sfd);
			dmt_unmap(&fm);
			dmt_unmap(&anon);
		} else {
			dmt_unmap(&fm);
			dmt_unmap(&anon);
			close(sfd);
		}
		return 0;
	}
	}
	return 40;
}

/* What a worker sends back, in this order. */
enum { W_ITERS, W_CLIENT_FAIL, W_LEFT, W_REVOKES, W_REVOKE_FAIL, W_REV_WRITES,
       W_MODE0 /* .. + M_N */, W_N = W_MODE0 + M_N };

struct st_worker_arg {
	int file_fd;
	unsigned int worker;
	uint64_t t_stop;
};

static int st_worker(int sock, void *argp)
{
	const struct st_worker_arg *a = argp;
	int64_t out[W_N] = { 0 };
	uint64_t rs = (g_seed + a->worker * 0x1000193ULL) | 1;
	int ctl = dmt_open_control();

	if (ctl < 0)
		return 50;
	for (unsigned int it = 0; it < ST_ITERS && dmt_now_ns() < a->t_stop; it++) {
		struct dmt_child c = DMT_CHILD_INIT;
		struct st_client_arg ca = {
			.file_fd = a->file_fd, .worker_ctl = ctl, .worker = a->worker, .iter = it,
			.mode = (a->worker + it) % M_N,
			.self_create = ((a->worker + it / M_N) & 1) != 0,
			.seed = rnd_next(&rs),
		};
		int64_t v;
		uint64_t id = 0;
		int sfd = -1, st, r = 0, listed = 1;

		/* the client first: it must inherit no session fd */
		if (dmt_child_start(&c, st_client, &ca) < 0)
			r = -1;
		if (r == 0 && !ca.self_create) {
			sfd = dmt_session_create(ctl, DMT_ANON_RW, 0, 0, &id);
			if (sfd < 0 || dmt_grant(ctl, id, a->file_fd, DAXMIRROR_GRANT_WRITE,
						 a->worker * ST_SLICE, ST_SLICE) < 0)
				r = -1;
		}
		if (r == 0 && !ca.self_create && dmt_send_fd(c.sock, sfd, (int64_t)id) < 0)
			r = -1;
		if (sfd >= 0)
			close(sfd);
		if (r == 0 && ca.self_create) {
			if (dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS) < 0)
				r = -1;
			id = (uint64_t)v;
		}
		if (r == 0 && ca.mode == M_REVOKE) {
			if (dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS) == 0) {
				usleep((useconds_t)(rnd_next(&rs) % 3000));
				if (dmt_revoke(ctl, id) == 0) {
					out[W_REVOKES]++;
				} else {
					tap_diag("worker %u iter %u: revoke: %s", a->worker, it,
						 tap_errname(errno));
					out[W_REVOKE_FAIL]++;
				}
				if (dmt_recv_i64(c.sock, &v, DMT_CHILD_TIMEOUT_MS) == 0)
					out[W_REV_WRITES] += v;
			}
		}
		st = dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);
		dmt_child_kill(&c);
		if (r < 0 || st != 0) {
			tap_diag("worker %u iter %u (%s, %s session): setup %d, client status %d",
				 a->worker, it, mode_name[ca.mode],
				 ca.self_create ? "own" : "broker's", r, st);
			out[W_CLIENT_FAIL]++;
		}
		/* the client is gone: so must its session be */
		for (int w = 0; w < 200 && id; w++) {
			listed = session_listed(ctl, id);
			if (listed == 0)
				break;
			usleep(10000);
		}
		if (id && listed != 0) {
			tap_diag("worker %u iter %u (%s): session %" PRIu64
				 " still listed 2 s after its client exited",
				 a->worker, it, mode_name[ca.mode], id);
			out[W_LEFT]++;
		}
		out[W_ITERS]++;
		out[W_MODE0 + ca.mode]++;
	}
	close(ctl);
	for (int i = 0; i < W_N; i++)
		if (dmt_send_i64(sock, out[i]) < 0)
			return 51;
	return 0;
}

static void g_fork_exit(const void *arg)
{
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	struct dmt_child w[ST_WORKERS];
	struct st_worker_arg wa[ST_WORKERS];
	int64_t tot[W_N] = { 0 };
	const long *base = arg;
	const char *dir = dmt_env_dir(DMT_ENV_EXT4_DAX);
	unsigned int normal = 0;
	uint64_t t0 = dmt_now_ns();
	long sessions, ref;
	int r, splats;

	for (int i = 0; i < ST_WORKERS; i++)
		w[i] = (struct dmt_child)DMT_CHILD_INIT;
	if (!dir) {
		tap_skip_rest("%s: no ext4 -o dax directory", DMT_ENV_EXT4_DAX);
		return;
	}
	r = dmt_file_create(&f, dir, "teardown-stress", ST_WORKERS * ST_SLICE, 5000);
	if (r < 0 || dmt_file_is_dax(f.fd) != 1) {
		tap_fail_rest("a DAX file in %s: %s", dir, tap_errname(-r));
		return;
	}
	for (int i = 0; i < ST_WORKERS; i++) {
		wa[i] = (struct st_worker_arg){ .file_fd = f.fd, .worker = (unsigned int)i,
			.t_stop = t0 + ST_TIME_S * 1000000000ULL };
		r = dmt_child_start(&w[i], st_worker, &wa[i]);
		if (r < 0)
			tap_diag("worker %d: fork: %s", i, tap_errname(-r));
	}
	for (int i = 0; i < ST_WORKERS; i++) {
		int64_t v[W_N];
		bool got = w[i].pid > 0;
		int st;

		for (int k = 0; got && k < W_N; k++)
			got = dmt_recv_i64(w[i].sock, &v[k], (ST_TIME_S + 120) * 1000) == 0;
		st = dmt_child_wait(&w[i], DMT_CHILD_TIMEOUT_MS);
		dmt_child_kill(&w[i]);
		if (got && st == 0)
			normal++;
		else
			tap_diag("worker %d: report %s, exit status %d", i,
				 got ? "received" : "missing", st);
		for (int k = 0; got && k < W_N; k++)
			tot[k] += v[k];
	}
	tap_ok(normal == ST_WORKERS, "%u of %d worker processes exited normally (status 0, no signal)",
	       normal, ST_WORKERS);
	if (!tap_ok(tot[W_ITERS] == ST_WORKERS * ST_ITERS && tot[W_CLIENT_FAIL] == 0,
		    "%" PRId64 " of %d iterations ran, every client exited normally with its checks passed",
		    tot[W_ITERS], ST_WORKERS * ST_ITERS))
		tap_diag("%" PRId64 " clients failed", tot[W_CLIENT_FAIL]);
	tap_ok(tot[W_LEFT] == 0, "every session is gone once its client exited (%" PRId64 " left)",
	       tot[W_LEFT]);
	tap_ok(tot[W_REVOKE_FAIL] == 0 && tot[W_REVOKES] == tot[W_MODE0 + M_REVOKE],
	       "%" PRId64 " revokes while writing, each succeeded and ended the writes with ENODEV",
	       tot[W_REVOKES]);
	sessions = dmt_sessions_alive();
	ref = dmt_module_refcnt();
	for (int i = 0; i < 100 && (sessions != base[0] || ref != base[1]); i++) {
		usleep(20000);
		sessions = dmt_sessions_alive();
		ref = dmt_module_refcnt();
	}
	tap_ok(sessions == base[0], "LIST_SESSIONS counts %ld sessions, as before (%ld)",
	       sessions, base[0]);
	tap_ok(ref == base[1], "/sys/module/daxmirror/refcnt is %ld, as before (%ld)",
	       ref, base[1]);
	splats = dmt_kmsg_splats(kmsg_marker);
	tap_ok(splats == 0, "no BUG/WARNING/Oops in the kernel log since the start (%d)", splats);

	tap_diag("figures: fork/exit stress: %d processes x %d iterations = %" PRId64
		 " iterations in %.1f s (%s %" PRId64 ", %s %" PRId64 ", %s %" PRId64
		 ", %s %" PRId64 ", %s %" PRId64 "), %" PRId64 " revokes while writing after %"
		 PRId64 " writes between them", ST_WORKERS, ST_ITERS, tot[W_ITERS],
		 (double)(dmt_now_ns() - t0) / 1e9,
		 mode_name[0], tot[W_MODE0], mode_name[1], tot[W_MODE0 + 1],
		 mode_name[2], tot[W_MODE0 + 2], mode_name[3], tot[W_MODE0 + 3],
		 mode_name[4], tot[W_MODE0 + 4], tot[W_REVOKES], tot[W_REV_WRITES]);
}

int main(int argc, char **argv)
{
	static long base[2];
	const struct tap_group groups[] = {
		{ "revocation without loss", RV_ROUNDS * RV_RESULTS, g_revoke_no_loss, base },
		{ "fork/exit stress around teardown", ST_RESULTS, g_fork_exit, base },
	};

	g_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			g_seed = strtoull(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: %s [--seed N]\n", argv[0]);
			return 2;
		}
	}
	if (geteuid() != 0)
		tap_bail("must run as root");
	signal(SIGPIPE, SIG_IGN);
	base[0] = dmt_sessions_alive();
	base[1] = dmt_module_refcnt();
	snprintf(kmsg_marker, sizeof(kmsg_marker), "daxmirror-teardown: start seed=%" PRIu64
		 " pid=%d", g_seed, (int)getpid());
	dmt_kmsg_mark(kmsg_marker);
	return tap_main(groups, ARRAY_SIZE(groups), 400);
}
