/* test-fuzz-ioctl.c - a seeded fuzzer of the daxmirror ABI, run
 * in the guest as root.
 *
 * Several worker processes (default 4) each run a random sequence of calls:
 * every ioctl of the ABI on control and session fds (and on fds of the
 * wrong type, and random command numbers of the 0xDA magic) with random and
 * edge-case arguments (flags, pad and reserved words, aligned, unaligned,
 * huge and overflowing addresses and lengths, NULL, wild, kernel and
 * read-only pointers, buffers inside mirrored memory), read() and poll() of
 * both fd types, interleaved with mmap, munmap, mprotect, mremap, madvise,
 * CPU stores, ftruncate and hole punch of a file on ext4 -o dax and of a
 * tmpfs file, fork (the child makes calls then exits, or is SIGKILLed
 * mid-calls), threads that make calls concurrently and exit, closing and
 * duplicating fds. The parent is the broker: it lists, inspects and
 * revokes the workers' sessions, grants them its own file, drains the
 * control node's events, and now and then SIGKILLs a whole worker and
 * starts another in its place.
 *
 * TAP results: no process died except by the fuzzer's own kills; no worker
 * hung; the calls were made; once every process exited and every fd is
 * closed, LIST_SESSIONS counts no session and /sys/module/daxmirror/refcnt
 * is back to its value before the run; the kernel log has no BUG, WARNING,
 * Oops or general protection fault since the run started.
 *
 * Reproduce: --seed N gives every worker the same sequence of choices
 * (process interleaving and the broker's timing still vary; --workers 1
 * --no-kill is the most deterministic run). On a failure the seed, the
 * worker's own seed and its last calls are printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmt.h"
#include "module-state.h"

#ifndef FUZZ_DEFAULT_CALLS
#define FUZZ_DEFAULT_CALLS	1000000
#endif
#ifndef FUZZ_DEFAULT_TIME
#define FUZZ_DEFAULT_TIME	300
#endif
#define MAX_WORKERS	16
#define MAX_CTL		2
#define MAX_SESS	6
#define MAX_MIDS	8
#define MAX_REG		8
#define MAX_CHILDREN	2
#define RING		64
#define NERR		134	/* errno values counted one by one */
#define SCRATCH		(64 * 1024)
#define DAX_FILE_SIZE	(4UL << 20)
#define TMP_FILE_SIZE	(1UL << 20)
#define KILL_MIN_MS	1500
#define KILL_MAX_MS	5000

/* --- operations ----------------------------------------------------- */

enum op {
	OP_VERSION, OP_CREATE, OP_GRANT, OP_LIST, OP_REVOKE, OP_INFO,
	OP_MLIST, OP_BIND, OP_ADD, OP_REMOVE, OP_FAULT, OP_SNAP, OP_READ,
	OP_WRITE, OP_RANDIOC, OP_READFD, OP_POLL, OP_MMAP, OP_MUNMAP,
	OP_MPROTECT, OP_MREMAP, OP_TRUNC, OP_PUNCH, OP_MADVISE, OP_TOUCH,
	OP_FORK, OP_KILLCHILD, OP_THREAD, OP_CLOSE, OP_OPENCTL, OP_DUP,
	NOPS
};

static const char *const op_names[NOPS] = {
	"VERSION", "CREATE_SESSION", "GRANT_FILE", "LIST_SESSIONS", "REVOKE",
	"SESSION_INFO", "MIRROR_LIST", "BIND", "MIRROR_ADD", "MIRROR_REMOVE",
	"FAULT", "SNAPSHOT", "READ", "WRITE", "ioctl(0xDA, random)", "read()",
	"poll()", "mmap", "munmap", "mprotect", "mremap", "ftruncate",
	"punch hole", "madvise", "CPU store", "fork", "SIGKILL child",
	"thread", "close", "open control", "dup",
};

/* Relative weights of the worker's choices. */
static const unsigned op_weight[NOPS] = {
	[OP_VERSION] = 3, [OP_CREATE] = 4, [OP_GRANT] = 5, [OP_LIST] = 3,
	[OP_REVOKE] = 1, [OP_INFO] = 4, [OP_MLIST] = 4, [OP_BIND] = 3,
	[OP_ADD] = 12, [OP_REMOVE] = 5, [OP_FAULT] = 8, [OP_SNAP] = 5,
	[OP_READ] = 10, [OP_WRITE] = 8, [OP_RANDIOC] = 4, [OP_READFD] = 3,
	[OP_POLL] = 2, [OP_MMAP] = 4, [OP_MUNMAP] = 2, [OP_MPROTECT] = 2,
	[OP_MREMAP] = 1, [OP_TRUNC] = 1, [OP_PUNCH] = 1, [OP_MADVISE] = 2,
	[OP_TOUCH] = 3, [OP_FORK] = 1, [OP_KILLCHILD] = 1, [OP_THREAD] = 1,
	[OP_CLOSE] = 1, [OP_OPENCTL] = 1, [OP_DUP] = 1,
};

/* What threads and fork children may do: calls, no changes of our own
 * bookkeeping (fds, mappings). */
static bool op_for_helpers(int op)
{
	return op <= OP_POLL && op != OP_CREATE;
}

/* --- shared memory: counters and the call history ------------------- */

struct rec {
	uint16_t op;
	int16_t fd;
	int32_t pid;
	uint64_t a[3];
	int64_t ret;
};

struct slot {
	_Atomic uint64_t calls;
	_Atomic uint64_t errs[NERR + 1];	/* [0] success, [NERR] others */
	_Atomic uint64_t ops[NOPS];
	_Atomic uint64_t ops_ok[NOPS];
	_Atomic uint32_t ring_pos;
	struct rec ring[RING];
	uint64_t seed;				/* of the current generation */
	unsigned gen;
	_Atomic int failed;			/* a child died unexpectedly */
	char why[256];
};

struct shm {
	_Atomic uint64_t total;
	uint64_t target;
	_Atomic int stop;
	struct slot w[MAX_WORKERS + 1];		/* [nworkers]: the broker */
};

static struct shm *shm;
static struct slot *me;
static uint64_t deadline_ns;

/* --- random numbers --------------------------------------------------- */

static __thread uint64_t rng;
/* Set in helper threads: they never point the kernel at our mappings,
 * which the main thread may unmap and the allocator reuse meanwhile. */
static __thread bool in_thread;

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(void)
{
	return splitmix(&rng);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned n)
{
	return below(n) == 0;
}

/* --- recording ---------------------------------------------------------- */

static long rec(int op, int fd, uint64_t a0, uint64_t a1, uint64_t a2, long ret)
{
	uint32_t pos = atomic_fetch_add_explicit(&me->ring_pos, 1, memory_order_relaxed);
	struct rec *r = &me->ring[pos % RING];
	long e = ret < 0 ? -ret : 0;

	r->op = (uint16_t)op;
	r->fd = (int16_t)fd;
	r->pid = (int32_t)getpid();
	r->a[0] = a0;
	r->a[1] = a1;
	r->a[2] = a2;
	r->ret = ret;
	atomic_fetch_add_explicit(&me->calls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&shm->total, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&me->ops[op], 1, memory_order_relaxed);
	if (!e)
		atomic_fetch_add_explicit(&me->ops_ok[op], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&me->errs[e < NERR ? e : NERR], 1,
				  memory_order_relaxed);
	return ret;
}

static long sys(long r)
{
	return r < 0 ? -errno : r;
}

static void print_ring(const struct slot *s, unsigned n)
{
	uint32_t end = atomic_load(&s->ring_pos);
	uint32_t start = end > n ? end - n : 0;

	if (end - start > RING)
		start = end - RING;
	tap_diag("last %u calls (oldest first):", end - start);
	for (uint32_t i = start; i < end; i++) {
		const struct rec *r = &s->ring[i % RING];

		tap_diag("  #%u pid %d %s fd %d args 0x%" PRIx64 " 0x%" PRIx64
			 " 0x%" PRIx64 " -> %" PRId64 "%s%s", i, r->pid,
			 r->op < NOPS ? op_names[r->op] : "?", r->fd, r->a[0],
			 r->a[1], r->a[2], r->ret, r->ret < 0 ? " " : "",
			 r->ret < 0 ? tap_errname((int)-r->ret) : "");
	}
}

/* --- a worker's state ---------------------------------------------------- */

enum { K_ANON, K_SHANON, K_DAX, K_TMP };

struct region {
	uint8_t *addr;		/* NULL: free slot */
	size_t len;
	int kind;
};

struct sess {
	int fd;			/* -1: free slot */
	uint64_t id;
	uint64_t mids[MAX_MIDS];	/* mirrors added (maybe gone since) */
	uint64_t maddr[MAX_MIDS], mlen[MAX_MIDS];
};

static struct {
	int ctl[MAX_CTL];
	struct sess s[MAX_SESS];
	struct region r[MAX_REG];
	int daxfd, daxro, daxpath, tmpfd, tmpro, dirfd, nullfd, pipefd[2];
	pid_t children[MAX_CHILDREN];
	bool killed[MAX_CHILDREN];
	pthread_t thread;
	bool thread_live;
	uint8_t *scratch;	/* SCRATCH bytes, then a PROT_NONE guard page */
	void *hole;		/* an unmapped page */
} st;

static const uint8_t rodata[4096] __attribute__((aligned(4096))) = { 1 };

static sigjmp_buf touch_jmp;
static __thread volatile sig_atomic_t touching;

static void on_fault(int sig)
{
	if (touching)
		siglongjmp(touch_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A control fd, mostly a live one. */
static int pick_ctl(void)
{
	int fd = st.ctl[below(MAX_CTL)];

	return fd >= 0 || chance(4) ? fd : st.ctl[0];
}

static struct sess *pick_sess(void)
{
	struct sess *s = &st.s[below(MAX_SESS)];

	for (int i = 0; i < MAX_SESS && s->fd < 0; i++)
		s = &st.s[(s - st.s + 1) % MAX_SESS];
	return s;
}

/* An fd for an ioctl that wants @control (or a session fd), now and then
 * one of the wrong type. */
static int pick_fd(bool control)
{
	switch (below(24)) {
	case 0: return control ? pick_sess()->fd : pick_ctl();
	case 1: return st.daxfd;
	case 2: return st.nullfd;
	case 3: return st.pipefd[below(2)];
	case 4: return -1;
	case 5: return 1000;
	default: return control ? pick_ctl() : pick_sess()->fd;
	}
}

static struct region *pick_region(void)
{
	struct region *r = &st.r[below(MAX_REG)];

	for (int i = 0; i < MAX_REG && !r->addr; i++)
		r = &st.r[(r - st.r + 1) % MAX_REG];
	return r->addr ? r : NULL;
}

static const uint64_t edge_u64[] = {
	0, 1, 4095, 4096, 4097, 0x1fffff, 0x200000, 0x7fffffff, 0x80000000,
	0xffffffff, 0x100000000ULL, 0x7ffffffff000ULL, 0x7ffffffff001ULL,
	0x800000000000ULL, 0xffff800000000000ULL, 0xfffffffffffff000ULL,
	0xffffffffffffffffULL, 0x8000000000000000ULL, 1ULL << 47, 1ULL << 52,
};

static uint64_t edge(void)
{
	return chance(4) ? rnd() : edge_u64[below(ARRAY_SIZE(edge_u64))];
}

/* An address: mostly inside a region, page aligned or not. */
static uint64_t pick_addr(bool aligned)
{
	struct region *r = pick_region();
	uint64_t a;

	if (!r || chance(10))
		return chance(2) ? edge() : (uint64_t)(uintptr_t)st.hole;
	a = (uint64_t)(uintptr_t)r->addr + below(r->len / DMT_PAGE) * DMT_PAGE;
	if (!aligned || chance(16))
		a += below(DMT_PAGE);
	return a;
}

static uint64_t pick_len(bool aligned, uint64_t addr)
{
	uint64_t l;

	if (chance(12))
		return edge();
	if (chance(4)) {
		/* To the end of the region holding addr, or past it. */
		for (int i = 0; i < MAX_REG; i++) {
			uint64_t s = (uint64_t)(uintptr_t)st.r[i].addr;

			if (s && addr >= s && addr < s + st.r[i].len)
				return s + st.r[i].len - addr + (chance(3) ? DMT_PAGE : 0);
		}
	}
	l = (1 + below(chance(3) ? 512 : 16)) * DMT_PAGE;
	if (!aligned)
		l = chance(2) ? 1 + below(SCRATCH) : l + below(DMT_PAGE);
	return l;
}

/* A user pointer to @len bytes the kernel writes or reads. */
static uint64_t pick_ptr(uint64_t len)
{
	switch (below(16)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return (uint64_t)(uintptr_t)st.hole;
	case 3: return 0xffff888000000000ULL;
	case 4: return (uint64_t)(uintptr_t)rodata;
	case 5: {
		/* Inside a mapping of ours, never past its end (where
		 * something else of ours may be mapped). */
		struct region *r = in_thread ? NULL : pick_region();

		if (!r || len > r->len)
			return (uint64_t)(uintptr_t)st.scratch;
		return (uint64_t)(uintptr_t)r->addr + below(r->len - len + 1);
	}
	case 6:	/* runs into the guard page */
		return (uint64_t)(uintptr_t)st.scratch + SCRATCH - 1 - below(64);
	default:
		if (len >= SCRATCH)
			return (uint64_t)(uintptr_t)st.scratch;
		return (uint64_t)(uintptr_t)st.scratch + below(SCRATCH - len + 1);
	}
}

/* Flags: mostly from @valid, sometimes any bit. */
static uint32_t pick_flags(uint32_t valid)
{
	if (chance(16))
		return (uint32_t)(1U << below(32)) | (uint32_t)(rnd() & valid);
	return (uint32_t)(rnd() & valid);
}

/* The pad and reserved words, mostly zero. */
static uint32_t pick_pad(void)
{
	return chance(32) ? (uint32_t)rnd() | 1 : 0;
}

static void spoil_reserved(__u64 *res, size_t n)
{
	memset(res, 0, n * sizeof(*res));
	if (chance(32))
		res[below(n)] = rnd() | 1;
}

#define RESERVED(x) spoil_reserved((x).reserved, ARRAY_SIZE((x).reserved))

static long ioc(int op, int fd, unsigned long req, void *arg, uint64_t a1,
		uint64_t a2)
{
	long r = rec(op, fd, (uint64_t)(uintptr_t)arg, a1, a2, dmt_ioctl(fd, req, arg));

	/* A revoked session answers ENODEV to everything: mostly close it,
	 * so the slot is used for a live one (the main thread owns the
	 * table; threads leave it alone). */
	if (r == -ENODEV && !in_thread && !chance(4))
		for (int i = 0; i < MAX_SESS; i++)
			if (st.s[i].fd == fd) {
				rec(OP_CLOSE, fd, st.s[i].id, 0, 0, sys(close(fd)));
				st.s[i].fd = -1;
				break;
			}
	return r;
}

static uint64_t pick_session_id(void)
{
	if (chance(8))
		return chance(2) ? edge() : below(100000);
	return pick_sess()->id;
}

static void remember_mid(struct sess *s, uint64_t id, uint64_t addr, uint64_t len)
{
	unsigned i = (unsigned)below(MAX_MIDS);

	s->mids[i] = id;
	s->maddr[i] = addr;
	s->mlen[i] = len;
}

/* A session fd and a range for FAULT, SNAPSHOT, READ and WRITE: mostly
 * inside a mirror that session added, else anywhere. */
static int pick_target(__u64 *addr, __u64 *len, bool aligned)
{
	struct sess *s = pick_sess();
	unsigned i = (unsigned)below(MAX_MIDS);
	uint64_t off;

	if (chance(4) || !s->mlen[i]) {
		*addr = pick_addr(aligned);
		*len = pick_len(aligned, *addr);
		return chance(16) ? pick_fd(false) : s->fd;
	}
	off = below(s->mlen[i]);
	if (aligned || chance(2))
		off &= ~(DMT_PAGE - 1);
	*addr = s->maddr[i] + off;
	*len = 1 + below(s->mlen[i] - off);
	if (aligned || chance(2))
		*len = (*len + DMT_PAGE - 1) & ~(DMT_PAGE - 1);
	if (chance(16))
		*len += DMT_PAGE;
	return chance(16) ? pick_fd(false) : s->fd;
}

/* --- the ioctls ------------------------------------------------------------ */

static void do_version(void)
{
	struct daxmirror_version v = { .flags = pick_flags(0) };

	RESERVED(v);
	ioc(OP_VERSION, pick_fd(chance(2)), DAXMIRROR_IOC_VERSION,
	    chance(20) ? (void *)(uintptr_t)pick_ptr(sizeof(v)) : &v, v.flags, 0);
}

static void do_create(void)
{
	struct daxmirror_session_create c = {
		.flags = pick_flags(DAXMIRROR_SESSION_FLAGS),
		.max_mirrors = chance(8) ? (uint32_t)edge() : (uint32_t)below(16),
		.max_pages = chance(8) ? edge() : below(4096),
		.pad = pick_pad(),
	};
	struct sess *s = NULL;
	int fd = pick_fd(true);
	long r;

	RESERVED(c);
	if (chance(2))
		c.flags |= DAXMIRROR_SESSION_ALLOW_ANON | DAXMIRROR_SESSION_ALLOW_WRITE |
			   DAXMIRROR_SESSION_ALLOW_PAGECACHE;
	r = ioc(OP_CREATE, fd, DAXMIRROR_CTL_CREATE_SESSION, &c, c.flags, c.max_pages);
	if (r < 0)
		return;
	for (int i = 0; i < MAX_SESS; i++)
		if (st.s[i].fd < 0) {
			s = &st.s[i];
			break;
		}
	if (!s) {	/* full: replace one, closing it */
		s = &st.s[below(MAX_SESS)];
		rec(OP_CLOSE, s->fd, 0, 0, 0, sys(close(s->fd)));
	}
	memset(s, 0, sizeof(*s));
	/* Never block in read(): a session whose mm is gone polls HUP with
	 * no event queued, and a thread may take the event we polled. */
	fcntl(c.fd, F_SETFL, O_NONBLOCK);
	s->fd = c.fd;
	s->id = c.session_id;
	if (!chance(4))
		rec(OP_BIND, s->fd, 0, 0, 0, dmt_ioctl(s->fd, DAXMIRROR_IOC_BIND, NULL));
}

static int pick_grant_fd(void)
{
	switch (below(16)) {
	case 0: return st.daxro;
	case 1: return st.daxpath;
	case 2: return st.tmpro;
	case 3: return st.dirfd;
	case 4: return st.pipefd[0];
	case 5: return st.nullfd;
	case 6: return -1;
	case 7: return pick_sess()->fd;
	case 8: case 9: case 10: return st.tmpfd;
	default: return st.daxfd;
	}
}

static void do_grant(void)
{
	struct daxmirror_grant g = {
		.session_id = pick_session_id(),
		.fd = pick_grant_fd(),
		.flags = pick_flags(DAXMIRROR_GRANT_WRITE),
		.offset = chance(8) ? edge() : below(DAX_FILE_SIZE / DMT_PAGE) * DMT_PAGE,
		.length = chance(8) ? edge() : (1 + below(DAX_FILE_SIZE / DMT_PAGE)) * DMT_PAGE,
	};

	RESERVED(g);
	if (chance(3)) {
		g.offset = 0;
		g.length = DAX_FILE_SIZE;
	}
	ioc(OP_GRANT, pick_fd(true), DAXMIRROR_CTL_GRANT_FILE, &g, g.session_id,
	    g.offset);
}

static void do_list(void)
{
	struct daxmirror_session_list l = {
		.capacity = chance(8) ? (uint32_t)edge() : (uint32_t)below(64),
		.flags = pick_flags(0),
		.pad = pick_pad(),
	};

	RESERVED(l);
	l.ids = pick_ptr((uint64_t)l.capacity * 8);
	ioc(OP_LIST, pick_fd(true), DAXMIRROR_CTL_LIST_SESSIONS, &l, l.ids, l.capacity);
}

static void do_revoke(void)
{
	struct daxmirror_revoke v = {
		.session_id = pick_session_id(),
		.flags = pick_flags(0),
		.pad = pick_pad(),
	};

	RESERVED(v);
	ioc(OP_REVOKE, pick_fd(true), DAXMIRROR_CTL_REVOKE, &v, v.session_id, 0);
}

static void do_info(void)
{
	bool ctl = chance(2);
	struct daxmirror_session_info i = {
		.session_id = ctl || chance(4) ? pick_session_id() : 0,
		.flags = pick_flags(0),
	};

	RESERVED(i);
	ioc(OP_INFO, pick_fd(ctl), DAXMIRROR_IOC_SESSION_INFO,
	    chance(20) ? (void *)(uintptr_t)pick_ptr(sizeof(i)) : &i,
	    i.session_id, 0);
}

static void do_mlist(void)
{
	bool ctl = chance(2);
	struct daxmirror_mirror_list l = {
		.session_id = ctl || chance(4) ? pick_session_id() : 0,
		.capacity = chance(8) ? (uint32_t)edge() : (uint32_t)below(16),
		.flags = pick_flags(0),
		.pad = pick_pad(),
	};

	RESERVED(l);
	l.mirrors = pick_ptr((uint64_t)l.capacity * sizeof(struct daxmirror_mirror_info));
	ioc(OP_MLIST, pick_fd(ctl), DAXMIRROR_IOC_MIRROR_LIST, &l, l.session_id,
	    l.capacity);
}

static void do_bind(void)
{
	unsigned long arg = chance(8) ? (unsigned long)edge() : 0;
	int fd = pick_fd(false);

	rec(OP_BIND, fd, arg, 0, 0, dmt_ioctl(fd, DAXMIRROR_IOC_BIND, (void *)arg));
}

static void do_add(void)
{
	struct sess *s = pick_sess();
	struct daxmirror_mirror_add a = {
		.addr = pick_addr(true),
		.flags = pick_flags(DAXMIRROR_MIRROR_WRITE),
		.pad = pick_pad(),
	};
	int fd = chance(16) ? pick_fd(false) : s->fd;

	a.length = pick_len(true, a.addr);
	for (int i = 0; i < MAX_REG && chance(2); i++) {	/* within the region */
		uint64_t rs = (uint64_t)(uintptr_t)st.r[i].addr;

		if (rs && a.addr >= rs && a.addr < rs + st.r[i].len && a.length > rs + st.r[i].len - a.addr)
			a.length = (rs + st.r[i].len - a.addr) & ~(DMT_PAGE - 1);
	}
	RESERVED(a);
	if (ioc(OP_ADD, fd, DAXMIRROR_IOC_MIRROR_ADD, &a, a.addr, a.length) >= 0 &&
	    fd == s->fd)
		remember_mid(s, a.id, a.addr, a.length);
}

static void do_remove(void)
{
	struct sess *s = pick_sess();
	struct daxmirror_mirror_remove m = {
		.id = chance(8) ? edge() : s->mids[below(MAX_MIDS)],
		.flags = pick_flags(0),
		.pad = pick_pad(),
	};

	RESERVED(m);
	ioc(OP_REMOVE, chance(16) ? pick_fd(false) : s->fd,
	    DAXMIRROR_IOC_MIRROR_REMOVE, &m, m.id, 0);
}

static void do_fault(void)
{
	struct daxmirror_fault f = {
		.flags = pick_flags(DAXMIRROR_FAULT_WRITE),
		.pad = pick_pad(),
	};
	int fd = pick_target(&f.addr, &f.length, true);

	RESERVED(f);
	ioc(OP_FAULT, fd, DAXMIRROR_IOC_FAULT, &f, f.addr, f.length);
}

static void do_snap(void)
{
	struct daxmirror_snapshot s = {
		.flags = pick_flags(0),
		.pad = pick_pad(),
	};
	int fd = pick_target(&s.addr, &s.length, true);

	s.pages = pick_ptr(s.length / DMT_PAGE);
	RESERVED(s);
	ioc(OP_SNAP, fd, DAXMIRROR_IOC_SNAPSHOT, &s, s.addr, s.length);
}

/* [addr, addr + len) inside one mapping of ours. */
static bool in_region(uint64_t addr, uint64_t len)
{
	for (int i = 0; i < MAX_REG; i++) {
		uint64_t rs = (uint64_t)(uintptr_t)st.r[i].addr;

		if (rs && addr >= rs && len <= st.r[i].len && addr - rs <= st.r[i].len - len)
			return true;
	}
	return false;
}

static void do_rw(bool write)
{
	struct daxmirror_rw rw = {
		.flags = pick_flags(0),
		.pad = pick_pad(),
	};
	int fd = pick_target(&rw.addr, &rw.length, false);

	if (rw.length > SCRATCH && !chance(8))
		rw.length = 1 + below(SCRATCH);
	rw.buf = pick_ptr(rw.length);
	RESERVED(rw);
	/* A device WRITE changes the mirrored memory: only ever our own
	 * mappings. A mirror may also cover memory next to them (a range
	 * past a region's end), or addresses libc has reused since (a
	 * thread stack): writing there would corrupt the fuzzer itself. */
	if (write && !in_region(rw.addr, rw.length))
		write = false;
	ioc(write ? OP_WRITE : OP_READ, fd,
	    write ? DAXMIRROR_IOC_WRITE : DAXMIRROR_IOC_READ, &rw, rw.addr, rw.length);
}

static void do_randioc(void)
{
	static const unsigned dirs[] = { _IOC_NONE, _IOC_READ, _IOC_WRITE,
					 _IOC_READ | _IOC_WRITE };
	unsigned nr = chance(2) ? (unsigned)below(0x20) : (unsigned)below(256);
	unsigned size = chance(2) ? (unsigned)below(256) : (unsigned)below(1 << 14);
	unsigned long req = _IOC(dirs[below(4)], DAXMIRROR_IOC_MAGIC, nr, size);
	uint64_t p = pick_ptr(size);
	int fd = pick_fd(chance(2));

	/* Random bytes in, when the kernel would read our scratch buffer. */
	if (p >= (uint64_t)(uintptr_t)st.scratch &&
	    p < (uint64_t)(uintptr_t)st.scratch + SCRATCH && size <= 256)
		for (unsigned i = 0; i < size && p + i < (uint64_t)(uintptr_t)st.scratch + SCRATCH; i++)
			((uint8_t *)(uintptr_t)p)[i] = chance(2) ? 0 : (uint8_t)rnd();
	rec(OP_RANDIOC, fd, req, p, 0, dmt_ioctl(fd, req, (void *)(uintptr_t)p));
}

static void do_readfd(void)
{
	static const size_t sizes[] = { 0, 1, sizeof(struct daxmirror_event) - 1,
		sizeof(struct daxmirror_event), 3 * sizeof(struct daxmirror_event),
		4096 };
	size_t n = sizes[below(ARRAY_SIZE(sizes))];
	int fd = pick_fd(chance(2));
	uint64_t p = pick_ptr(n);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	/* Our daxmirror fds are O_NONBLOCK; other fds (the file, /dev/null,
	 * a non-blocking pipe) do not block either. Mostly read when poll()
	 * says so, sometimes anyway (EAGAIN). */
	if (sys(poll(&pfd, 1, 0)) == 1 || chance(4))
		rec(OP_READFD, fd, p, n, 0, sys(read(fd, (void *)(uintptr_t)p, n)));
	else
		rec(OP_POLL, fd, 0, 0, 0, 0);
}

static void do_poll(void)
{
	struct pollfd p[3] = {
		{ .fd = pick_ctl(), .events = POLLIN },
		{ .fd = pick_sess()->fd, .events = POLLIN | POLLOUT },
		{ .fd = pick_fd(chance(2)), .events = (short)rnd() },
	};

	rec(OP_POLL, p[0].fd, (uint64_t)p[1].fd, 0, 0, sys(poll(p, 3, 0)));
}

/* --- memory and files -------------------------------------------------- */

static void do_mmap(void)
{
	struct region *r = NULL;
	int kind = (int)below(4), prot, flags, fd = -1;
	size_t len = (1 + below(chance(4) ? 1024 : 64)) * DMT_PAGE;
	off_t off = 0;
	void *hint = NULL, *p;

	for (int i = 0; i < MAX_REG; i++)
		if (!st.r[i].addr) {
			r = &st.r[i];
			break;
		}
	if (!r || chance(6)) {	/* map over an existing region (MAP_FIXED) */
		struct region *old = pick_region();

		if (!old)
			return;
		r = old;
		hint = old->addr;
		len = old->len;
	}
	prot = chance(8) ? PROT_READ : PROT_READ | PROT_WRITE;
	flags = MAP_SHARED;
	switch (kind) {
	case K_ANON:
		flags = MAP_PRIVATE | MAP_ANONYMOUS;
		break;
	case K_SHANON:
		flags = MAP_SHARED | MAP_ANONYMOUS;
		break;
	case K_DAX:
		fd = st.daxfd;
		if (len > DAX_FILE_SIZE)
			len = DAX_FILE_SIZE;
		off = (off_t)(below((DAX_FILE_SIZE - len) / DMT_PAGE + 1) * DMT_PAGE);
		break;
	case K_TMP:
		fd = st.tmpfd;
		if (len > TMP_FILE_SIZE)
			len = TMP_FILE_SIZE;
		off = (off_t)(below((TMP_FILE_SIZE - len) / DMT_PAGE + 1) * DMT_PAGE);
		if (chance(3))
			flags = MAP_PRIVATE;
		break;
	}
	if (hint)
		flags |= MAP_FIXED;
	else if (kind == K_DAX && chance(2) && len >= DMT_2M) {
		/* 2 MiB aligned, so the fs may map it with PMDs. */
		struct dmt_map m = DMT_MAP_INIT;

		if (rec(OP_MMAP, fd, len, DMT_2M, 0,
			dmt_map_aligned(&m, len, DMT_2M, prot, MAP_SHARED, fd, 0)) == 0) {
			r->addr = m.addr;
			r->len = len;
			r->kind = kind;
		}
		return;
	}
	p = mmap(hint, len, prot, flags, fd, off);
	rec(OP_MMAP, fd, (uint64_t)(uintptr_t)hint, len, (uint64_t)off,
	    p == MAP_FAILED ? -errno : 0);
	if (p == MAP_FAILED) {
		if (hint) {	/* the old mapping may be gone */
			munmap(hint, len);
			r->addr = NULL;
		}
		return;
	}
	r->addr = p;
	r->len = len;
	r->kind = kind;
}

static void do_munmap(void)
{
	struct region *r = pick_region();
	size_t off, len;

	if (!r)
		return;
	if (chance(2)) {
		rec(OP_MUNMAP, -1, (uint64_t)(uintptr_t)r->addr, r->len, 0,
		    sys(munmap(r->addr, r->len)));
		r->addr = NULL;
		return;
	}
	/* A hole in the middle, or the tail: the region keeps its head. */
	off = below(r->len / DMT_PAGE) * DMT_PAGE;
	if (!off)
		off = DMT_PAGE;
	if (off >= r->len)
		return;
	len = r->len - off;
	rec(OP_MUNMAP, -1, (uint64_t)(uintptr_t)r->addr + off, len, 0,
	    sys(munmap(r->addr + off, len)));
	r->len = off;
}

static void do_mprotect(void)
{
	struct region *r = pick_region();
	static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE };
	size_t off, len;

	if (!r)
		return;
	off = below(r->len / DMT_PAGE) * DMT_PAGE;
	len = (1 + below((r->len - off) / DMT_PAGE)) * DMT_PAGE;
	rec(OP_MPROTECT, -1, (uint64_t)(uintptr_t)r->addr + off, len, 0,
	    sys(mprotect(r->addr + off, len, prots[below(3)])));
}

static void do_mremap(void)
{
	struct region *r = pick_region();
	size_t nlen;
	void *p;

	if (!r)
		return;
	nlen = (1 + below(2 * r->len / DMT_PAGE)) * DMT_PAGE;
	if (r->kind == K_DAX && nlen > DAX_FILE_SIZE)
		nlen = DAX_FILE_SIZE;
	if (r->kind == K_TMP && nlen > TMP_FILE_SIZE)
		nlen = TMP_FILE_SIZE;
	p = mremap(r->addr, r->len, nlen, chance(2) ? MREMAP_MAYMOVE : 0);
	rec(OP_MREMAP, -1, (uint64_t)(uintptr_t)r->addr, r->len, nlen,
	    p == MAP_FAILED ? -errno : 0);
	if (p != MAP_FAILED) {
		r->addr = p;
		r->len = nlen;
	}
}

static void do_trunc(void)
{
	bool dax = chance(2);
	int fd = dax ? st.daxfd : st.tmpfd;
	size_t full = dax ? DAX_FILE_SIZE : TMP_FILE_SIZE;
	off_t size = chance(2) ? (off_t)full : (off_t)(below(full / DMT_PAGE + 1) * DMT_PAGE);

	if (chance(8))
		size += (off_t)below(DMT_PAGE);
	rec(OP_TRUNC, fd, (uint64_t)size, 0, 0, sys(ftruncate(fd, size)));
}

static void do_punch(void)
{
	bool dax = chance(2);
	int fd = dax ? st.daxfd : st.tmpfd;
	size_t full = dax ? DAX_FILE_SIZE : TMP_FILE_SIZE;
	off_t off = (off_t)(below(full / DMT_PAGE) * DMT_PAGE);
	off_t len = (off_t)((1 + below(64)) * DMT_PAGE);

	if (chance(2)) {
		rec(OP_PUNCH, fd, (uint64_t)off, (uint64_t)len, 0,
		    sys(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len)));
	} else {	/* fill it again */
		rec(OP_PUNCH, fd, (uint64_t)off, (uint64_t)len, 1,
		    sys(fallocate(fd, 0, off, len)));
	}
}

static void do_madvise(void)
{
	struct region *r = pick_region();
	static const int advs[] = { MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
				    MADV_WILLNEED, MADV_COLD, MADV_PAGEOUT };
	int adv = advs[below(ARRAY_SIZE(advs))];

	if (!r)
		return;
	rec(OP_MADVISE, -1, (uint64_t)(uintptr_t)r->addr, r->len, (uint64_t)adv,
	    sys(madvise(r->addr, r->len, adv)));
}

/* Store to the CPU mapping (a file may have been truncated under it, a
 * range may be read-only or PROT_NONE: SIGBUS/SIGSEGV are caught). */
static void do_touch(void)
{
	struct region *r = pick_region();
	volatile uint8_t *p;
	size_t off, len;
	long ret = 0;

	if (!r)
		return;
	off = below(r->len);
	len = 1 + below(r->len - off < 8 * DMT_PAGE ? r->len - off : 8 * DMT_PAGE);
	p = r->addr + off;
	if (sigsetjmp(touch_jmp, 1) == 0) {
		touching = 1;
		for (size_t i = 0; i < len; i += 512)
			p[i] = (uint8_t)(i + off);
	} else {
		ret = -EFAULT;
	}
	touching = 0;
	rec(OP_TOUCH, -1, (uint64_t)(uintptr_t)p, len, 0, ret);
}

/* --- helpers: threads and children ---------------------------------------- */

static void run_op(int op);

static void helper_ops(unsigned n)
{
	for (unsigned i = 0; i < n && !atomic_load(&shm->stop); i++) {
		int op;

		do
			op = (int)below(NOPS);
		while (!op_for_helpers(op));
		run_op(op);
	}
}

static void *thread_main(void *arg)
{
	rng = (uint64_t)(uintptr_t)arg;
	in_thread = true;
	helper_ops(20 + (unsigned)below(100));
	return NULL;
}

static void do_thread(void)
{
	int r;

	if (st.thread_live) {
		pthread_join(st.thread, NULL);
		st.thread_live = false;
	}
	r = pthread_create(&st.thread, NULL, thread_main, (void *)(uintptr_t)rnd());
	rec(OP_THREAD, -1, 0, 0, 0, -r);
	st.thread_live = r == 0;
}

static void check_child(pid_t pid, int status, bool killed)
{
	if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
	    (killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		return;
	if (atomic_exchange(&me->failed, 1) == 0)
		snprintf(me->why, sizeof(me->why), "child %d %s %d", (int)pid,
			 WIFSIGNALED(status) ? "died of signal" : "exited with",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void reap_child(int i, bool kill_it)
{
	int status;

	if (!st.children[i])
		return;
	if (kill_it) {
		kill(st.children[i], SIGKILL);
		st.killed[i] = true;
	}
	while (waitpid(st.children[i], &status, 0) < 0 && errno == EINTR)
		;
	check_child(st.children[i], status, st.killed[i]);
	st.children[i] = 0;
}

static void do_fork(void)
{
	int i = (int)below(MAX_CHILDREN);
	uint64_t seed = rnd();
	pid_t pid;

	reap_child(i, chance(2));
	pid = fork();
	if (pid == 0) {
		rng = seed;
		st.thread_live = false;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Sometimes a session of its own, bound to the child's mm. */
		if (chance(2))
			do_create();
		if (chance(2))
			do_bind();
		helper_ops(20 + (unsigned)below(200));
		_exit(0);
	}
	rec(OP_FORK, -1, (uint64_t)pid, 0, 0, pid < 0 ? -errno : 0);
	if (pid > 0) {
		st.children[i] = pid;
		st.killed[i] = false;
	}
}

static void do_killchild(void)
{
	int i = (int)below(MAX_CHILDREN);

	if (st.children[i]) {
		rec(OP_KILLCHILD, -1, (uint64_t)st.children[i], 0, 0, 0);
		reap_child(i, true);
	}
}

/* --- fds ---------------------------------------------------------------- */

static void do_close(void)
{
	if (chance(3)) {
		int *fd = &st.ctl[below(MAX_CTL)];

		if (*fd >= 0 && *fd != st.ctl[0]) {
			rec(OP_CLOSE, *fd, 0, 0, 0, sys(close(*fd)));
			*fd = -1;
		}
	} else {
		struct sess *s = pick_sess();

		if (s->fd >= 0) {
			rec(OP_CLOSE, s->fd, s->id, 0, 0, sys(close(s->fd)));
			s->fd = -1;
		}
	}
}

static void do_openctl(void)
{
	int *fd = &st.ctl[1];

	if (*fd >= 0)
		close(*fd);
	*fd = open(DMT_CONTROL_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	rec(OP_OPENCTL, *fd, 0, 0, 0, *fd < 0 ? -errno : 0);
}

static void do_dup(void)
{
	struct sess *s = pick_sess();

	for (int i = 0; i < MAX_SESS; i++)
		if (st.s[i].fd < 0 && s->fd >= 0) {
			int fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 3);

			rec(OP_DUP, s->fd, (uint64_t)fd, 0, 0, fd < 0 ? -errno : 0);
			if (fd >= 0) {
				st.s[i] = *s;
				st.s[i].fd = fd;
			}
			return;
		}
}

static void run_op(int op)
{
	switch (op) {
	case OP_VERSION: do_version(); break;
	case OP_CREATE: do_create(); break;
	case OP_GRANT: do_grant(); break;
	case OP_LIST: do_list(); break;
	case OP_REVOKE: do_revoke(); break;
	case OP_INFO: do_info(); break;
	case OP_MLIST: do_mlist(); break;
	case OP_BIND: do_bind(); break;
	case OP_ADD: do_add(); break;
	case OP_REMOVE: do_remove(); break;
	case OP_FAULT: do_fault(); break;
	case OP_SNAP: do_snap(); break;
	case OP_READ: do_rw(false); break;
	case OP_WRITE: do_rw(true); break;
	case OP_RANDIOC: do_randioc(); break;
	case OP_READFD: do_readfd(); break;
	case OP_POLL: do_poll(); break;
	case OP_MMAP: do_mmap(); break;
	case OP_MUNMAP: do_munmap(); break;
	case OP_MPROTECT: do_mprotect(); break;
	case OP_MREMAP: do_mremap(); break;
	case OP_TRUNC: do_trunc(); break;
	case OP_PUNCH: do_punch(); break;
	case OP_MADVISE: do_madvise(); break;
	case OP_TOUCH: do_touch(); break;
	case OP_FORK: do_fork(); break;
	case OP_KILLCHILD: do_killchild(); break;
	case OP_THREAD: do_thread(); break;
	case OP_CLOSE: do_close(); break;
	case OP_OPENCTL: do_openctl(); break;
	case OP_DUP: do_dup(); break;
	}
}

/* --- worker ---------------------------------------------------------------- */

struct env {
	const char *daxdir, *tmpdir;
};

/* Creates a file of @size in @dir, opened O_RDWR in *@rw (and read-only
 * and O_PATH when asked), unlinked at once so no kill leaves it behind. */
static int make_file(const char *dir, size_t size, int *rw, int *ro, int *path)
{
	char name[PATH_MAX];

	snprintf(name, sizeof(name), "%s/dmt-fuzz-%d", dir, (int)getpid());
	*rw = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (*rw < 0)
		return -errno;
	if (ro)
		*ro = open(name, O_RDONLY | O_CLOEXEC);
	if (path)
		*path = open(name, O_PATH | O_CLOEXEC);
	unlink(name);
	if (fallocate(*rw, 0, 0, (off_t)size) < 0 && ftruncate(*rw, (off_t)size) < 0)
		return -errno;
	return 0;
}

static int worker_setup(const struct env *env)
{
	int r;

	memset(&st, 0, sizeof(st));
	for (int i = 0; i < MAX_SESS; i++)
		st.s[i].fd = -1;
	st.ctl[0] = st.ctl[1] = -1;
	st.scratch = mmap(NULL, SCRATCH + DMT_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st.scratch == MAP_FAILED)
		return -errno;
	mprotect(st.scratch + SCRATCH, DMT_PAGE, PROT_NONE);
	/* A one-page hole between two PROT_NONE pages: nothing bigger than
	 * a page (a thread stack) is ever mapped there later. */
	st.hole = mmap(NULL, 3 * DMT_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st.hole == MAP_FAILED)
		return -errno;
	st.hole = (uint8_t *)st.hole + DMT_PAGE;
	munmap(st.hole, DMT_PAGE);
	r = make_file(env->daxdir, DAX_FILE_SIZE, &st.daxfd, &st.daxro, &st.daxpath);
	if (r < 0)
		return r;
	r = make_file(env->tmpdir, TMP_FILE_SIZE, &st.tmpfd, &st.tmpro, NULL);
	if (r < 0)
		return r;
	st.dirfd = open(env->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	st.nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (pipe2(st.pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	st.ctl[0] = open(DMT_CONTROL_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (st.ctl[0] < 0)
		return -errno;
	signal(SIGBUS, on_fault);
	signal(SIGSEGV, on_fault);
	return 0;
}

static int worker_main(int idx, const struct env *env)
{
	unsigned total_w = 0, pick;
	int r;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	me = &shm->w[idx];
	rng = me->seed;
	r = worker_setup(env);
	if (r < 0) {
		snprintf(me->why, sizeof(me->why), "worker setup: %s", tap_errname(-r));
		atomic_store(&me->failed, 1);
		return 1;
	}
	for (int i = 0; i < NOPS; i++)
		total_w += op_weight[i];
	/* A session and a region to start from. */
	do_create();
	do_mmap();
	for (uint64_t n = 0;; n++) {
		int op = 0;

		if ((n & 63) == 0 &&
		    (atomic_load(&shm->stop) ||
		     atomic_load(&shm->total) >= shm->target || dmt_now_ns() > deadline_ns))
			break;
		pick = (unsigned)below(total_w);
		while (pick >= op_weight[op])
			pick -= op_weight[op++];
		run_op(op);
	}
	if (st.thread_live)
		pthread_join(st.thread, NULL);
	for (int i = 0; i < MAX_CHILDREN; i++)
		reap_child(i, true);
	return atomic_load(&me->failed) ? 1 : 0;
}

/* --- the broker (parent) -------------------------------------------------- */

static pid_t start_worker(int idx, uint64_t seed, const struct env *env)
{
	struct slot *s = &shm->w[idx];
	pid_t pid;

	s->gen++;
	s->seed = splitmix(&(uint64_t){ seed ^ ((uint64_t)idx << 32) ^ s->gen });
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(worker_main(idx, env));
	return pid;
}

static void broker_step(int ctl, int daxfd)
{
	uint64_t ids[64];
	struct daxmirror_session_list l = { .ids = (uint64_t)(uintptr_t)ids,
					    .capacity = 64 };
	struct daxmirror_event ev[8];
	uint64_t id;
	long r;

	r = ioc(OP_LIST, ctl, DAXMIRROR_CTL_LIST_SESSIONS, &l, 0, 0);
	if (r < 0 || !l.count)
		return;
	id = ids[below(l.count < 64 ? l.count : 64)];
	switch (below(40)) {
	case 0: {
		struct daxmirror_revoke v = { .session_id = id };

		ioc(OP_REVOKE, ctl, DAXMIRROR_CTL_REVOKE, &v, id, 0);
		break;
	}
	case 1: case 2: case 3: case 4: case 5: case 6: {
		struct daxmirror_grant g = {
			.session_id = id, .fd = daxfd,
			.flags = chance(2) ? DAXMIRROR_GRANT_WRITE : 0,
			.length = DAX_FILE_SIZE,
		};

		ioc(OP_GRANT, ctl, DAXMIRROR_CTL_GRANT_FILE, &g, id, 0);
		break;
	}
	case 7: case 8: case 9: case 10: {
		struct daxmirror_mirror_info mi[8];
		struct daxmirror_mirror_list ml = { .session_id = id, .capacity = 8,
			.mirrors = (uint64_t)(uintptr_t)mi };

		ioc(OP_MLIST, ctl, DAXMIRROR_IOC_MIRROR_LIST, &ml, id, 0);
		break;
	}
	default: {
		struct daxmirror_session_info i = { .session_id = id };

		ioc(OP_INFO, ctl, DAXMIRROR_IOC_SESSION_INFO, &i, id, 0);
		break;
	}
	}
	/* Drain the control node's events (O_NONBLOCK). */
	rec(OP_READFD, ctl, 0, sizeof(ev), 0, sys(read(ctl, ev, sizeof(ev))));
}

/* --- checks ------------------------------------------------------------- */

static char kmsg_marker[96];

/* --- main ---------------------------------------------------------------- */

static void usage(const char *argv0)
{
	printf("Usage: %s [--seed N] [--calls N] [--workers N] [--time SECONDS] [--no-kill] [--history N]\n"
	       "A seeded fuzzer of the daxmirror ioctls (guest, root). Default: %u calls,\n"
	       "4 workers, at most %u s, seed from the clock (printed).\n",
	       argv0, (unsigned)FUZZ_DEFAULT_CALLS, (unsigned)FUZZ_DEFAULT_TIME);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "calls", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "time", required_argument, NULL, 't' },
		{ "no-kill", no_argument, NULL, 'k' },
		{ "history", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	uint64_t calls = FUZZ_DEFAULT_CALLS, t0, t1, next_kill, total, errs[NERR + 1] = { 0 };
	unsigned nworkers = 4, time_s = FUZZ_DEFAULT_TIME, history = 32, kills = 0, hung = 0, crashed = 0;
	bool do_kills = true, timed_out = false;
	pid_t pids[MAX_WORKERS] = { 0 };
	struct env env;
	long base_sessions, base_ref, v;
	int ctl, daxfd = -1, c, splats;

	while ((c = getopt_long(argc, argv, "s:c:w:t:kH:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'c': calls = strtoull(optarg, NULL, 0); break;
		case 'w': nworkers = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': time_s = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'k': do_kills = false; break;
		case 'H': history = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'h': usage(argv[0]); return 0;
		default: usage(argv[0]); return 2;
		}
	}
	if (nworkers < 1 || nworkers > MAX_WORKERS) {
		fprintf(stderr, "--workers: 1 to %d\n", MAX_WORKERS);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_diag("seed %" PRIu64 " (reproduce: %s --seed %" PRIu64 " --calls %" PRIu64
		 " --workers %u), %u s at most", seed, argv[0], seed, calls, nworkers, time_s);
	tap_watchdog(time_s + 240);

	env.daxdir = getenv(DMT_ENV_EXT4_DAX);
	env.tmpdir = getenv(DMT_ENV_TMPFS);
	if (!env.tmpdir)
		env.tmpdir = "/tmp";
	if (!env.daxdir) {
		tap_diag("%s is not set: the 'DAX' file is in %s", DMT_ENV_EXT4_DAX, env.tmpdir);
		env.daxdir = env.tmpdir;
	}
	base_sessions = dmt_sessions_alive();
	if (base_sessions < 0) {
		printf("1..0 # SKIP %s: %s\n", DMT_CONTROL_PATH, tap_errname((int)-base_sessions));
		return 77;
	}
	tap_plan(6);
	base_ref = dmt_module_refcnt();
	tap_diag("before: %ld sessions alive, module refcnt %ld", base_sessions, base_ref);

	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	shm->target = calls;
	me = &shm->w[nworkers];
	rng = seed ^ 0xb10cb10cULL;
	snprintf(kmsg_marker, sizeof(kmsg_marker), "daxmirror-fuzz: start seed=%" PRIu64 " pid=%d",
		 seed, (int)getpid());
	dmt_kmsg_mark(kmsg_marker);

	ctl = open(DMT_CONTROL_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (ctl < 0)
		tap_bail("open %s: %s", DMT_CONTROL_PATH, strerror(errno));
	{
		char name[PATH_MAX];

		snprintf(name, sizeof(name), "%s/dmt-fuzz-broker-%d", env.daxdir, (int)getpid());
		daxfd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (daxfd >= 0) {
			unlink(name);
			if (ftruncate(daxfd, DAX_FILE_SIZE) < 0)
				tap_diag("ftruncate: %s", strerror(errno));
		}
	}

	t0 = dmt_now_ns();
	deadline_ns = t0 + (uint64_t)time_s * 1000000000ULL;
	for (unsigned i = 0; i < nworkers; i++)
		pids[i] = start_worker((int)i, seed, &env);
	next_kill = t0 + (KILL_MIN_MS + below(KILL_MAX_MS - KILL_MIN_MS)) * 1000000ULL;

	/* Broker loop, until every worker is done. */
	for (;;) {
		unsigned live = 0;
		uint64_t now = dmt_now_ns();

		for (unsigned i = 0; i < nworkers; i++) {
			int status;

			if (!pids[i])
				continue;
			if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
					crashed++;
					tap_diag("worker %u (gen %u, seed %" PRIu64 ", pid %d) %s %d%s%s",
						 i, shm->w[i].gen, shm->w[i].seed, (int)pids[i],
						 WIFSIGNALED(status) ? "died of signal" : "exited with",
						 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
						 shm->w[i].why[0] ? ": " : "", shm->w[i].why);
					print_ring(&shm->w[i], history);
				}
				pids[i] = 0;
				continue;
			}
			live++;
		}
		if (!live)
			break;
		if (now > deadline_ns + 60ULL * 1000000000ULL) {
			for (unsigned i = 0; i < nworkers; i++)
				if (pids[i]) {
					char path[64], wchan[128] = "";
					FILE *f;

					snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pids[i]);
					f = fopen(path, "re");
					if (f) {
						if (!fgets(wchan, sizeof(wchan), f))
							wchan[0] = '\0';
						fclose(f);
					}
					tap_diag("worker %u (pid %d) still running 60 s after the deadline (wchan %s)",
						 i, (int)pids[i], wchan);
					print_ring(&shm->w[i], history);
					kill(pids[i], SIGKILL);
					hung++;
				}
			for (unsigned i = 0; i < nworkers; i++)
				if (pids[i])
					waitpid(pids[i], NULL, 0);
			break;
		}
		if (now > deadline_ns && !timed_out) {
			timed_out = true;
			atomic_store(&shm->stop, 1);
		}
		if (atomic_load(&shm->total) >= calls)
			atomic_store(&shm->stop, 1);
		if (do_kills && !atomic_load(&shm->stop) && now >= next_kill) {
			unsigned i = (unsigned)below(nworkers);

			if (pids[i]) {
				int status;

				kill(pids[i], SIGKILL);
				waitpid(pids[i], &status, 0);
				kills++;
				pids[i] = start_worker((int)i, seed, &env);
			}
			next_kill = now + (KILL_MIN_MS + below(KILL_MAX_MS - KILL_MIN_MS)) * 1000000ULL;
		}
		broker_step(ctl, daxfd);
		usleep((useconds_t)(500 + below(2000)));
	}
	t1 = dmt_now_ns();
	close(ctl);
	if (daxfd >= 0)
		close(daxfd);

	/* Figures. */
	total = atomic_load(&shm->total);
	for (unsigned i = 0; i <= nworkers; i++)
		for (int e = 0; e <= NERR; e++)
			errs[e] += atomic_load(&shm->w[i].errs[e]);
	tap_diag("calls: %" PRIu64 " in %.1f s, %.0f calls/s, %u workers, %u worker kills by the fuzzer%s",
		 total, (double)(t1 - t0) / 1e9, (double)total / ((double)(t1 - t0) / 1e9),
		 nworkers, kills, timed_out ? " (stopped by the time bound)" : "");
	for (int op = 0; op < NOPS; op++) {
		uint64_t n = 0, ok = 0;

		for (unsigned i = 0; i <= nworkers; i++) {
			n += atomic_load(&shm->w[i].ops[op]);
			ok += atomic_load(&shm->w[i].ops_ok[op]);
		}
		tap_diag("op %-20s %10" PRIu64 " calls, %10" PRIu64 " succeeded", op_names[op], n, ok);
	}
	for (int e = 0; e <= NERR; e++)
		if (errs[e])
			tap_diag("errno %-16s %10" PRIu64, e == NERR ? "(other)" : tap_errname(e), errs[e]);

	tap_ok(!crashed, "no process died except by the fuzzer's own kills (%u kills)", kills);
	tap_ok(!hung, "no worker hung (all exited within 60 s of the deadline)");
	tap_ok(total >= calls || (timed_out && total > 0),
	       "%" PRIu64 " calls fuzzed (target %" PRIu64 "%s)", total, calls,
	       timed_out && total < calls ? ", stopped by the time bound" : "");

	/* Sessions go away with their last fd; give deferred fputs a moment. */
	v = -1;
	for (int i = 0; i < 50; i++) {
		v = dmt_sessions_alive();
		if (v == base_sessions)
			break;
		usleep(100000);
	}
	tap_ok(v == base_sessions, "no session left: LIST_SESSIONS counts %ld (%ld before)",
	       v, base_sessions);
	/* Every fd of ours is closed now (dmt_sessions_alive() closes its own). */
	v = dmt_module_refcnt();
	tap_ok(v == base_ref, "/sys/module/daxmirror/refcnt back to %ld (is %ld)", base_ref, v);
	splats = dmt_kmsg_splats(kmsg_marker);
	tap_ok(splats == 0,
	       "kernel log: no BUG/WARNING/Oops/general protection since the start (%d suspicious lines)",
	       splats);
	if (tap_status() != 0)
		tap_diag("FAILED with seed %" PRIu64 ": %s --seed %" PRIu64 " --calls %" PRIu64
			 " --workers %u", seed, argv[0], seed, calls, nworkers);
	return tap_status();
}
