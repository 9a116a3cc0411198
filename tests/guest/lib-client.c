/* lib-client.c - the application of tests/guest/test-lib-client: libdaxmirror
 * through the real broker and module, one subcommand per property. Prints
 * KEY=VALUE lines (flushed); exit 0 iff the subcommand's checks held.
 *
 *   lib-client wait FILE
 *	Mirrors FILE writable, prints "session=PATH" and "ready=1", then sits
 *	idle in poll() on daxmirror_client_get_fd() with no timeout (the
 *	documented loop: process(), get_events(), poll()). Each time process()
 *	returns 1 it prints "state=NAME" (and "deadline=1" while a request is
 *	pending); it stops at an ended state or BROKER_GONE, then prints
 *	"revoke_pending=N", "write=ERRNO" (a device write), "remirror=ERRNO"
 *	(a new mirror_file on the finished client) and "path_after=PATH".
 *	Gives up after 120 s ("timeout=1", exit 1).
 *
 *   lib-client threads FILE NTHREADS
 *	One client, one writable mirror of FILE: NTHREADS threads at once each
 *	prefetch, write, read back, snapshot and count their own 4 KiB blocks
 *	(the fast path from several threads on one client), checking each
 *	thread's last error is NULL after its successes. Then pread() checks
 *	every block. Prints "threads_ok=K/N" and "file_ok=1".
 *
 *   lib-client fork FILE
 *	Mirrors FILE, forks: in the child every call on the parent's client
 *	and mirror must fail with -ECHILD (device read, write, prefetch,
 *	snapshot, counters, persist, client counters, a new mirror), then the
 *	child frees both; the parent's mirror must still work afterwards.
 *	Prints "child=MASK" (0: all -ECHILD) and "parent_after=ERRNO".
 *
 *   lib-client free-first FILE
 *	Mirrors FILE, frees the client first: the mirror handle must stay
 *	safe (device read -ENODEV, addr NULL), prints "client_freed=1", waits
 *	3 s (the script checks that the session is gone meanwhile), then
 *	frees the mirror. Prints "read_after=ERRNO".
 *
 *   lib-client ranges FILE
 *	Under a broker with MaxFilesPerSession=2: mirrors 6 distinct 64 KiB
 *	ranges of FILE one after the other, each freed before the next
 *	(freeing the last mirror of a range gives it back), prints
 *	"cycle=ERRNO" (the first failure, or 0); then holds two ranges and
 *	asks for a third: "third=ERRNO" and "third_names_limit=0|1" (the
 *	last error names MaxFilesPerSession=2); frees one and asks again:
 *	"after_free=ERRNO".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define BLOCK 4096u

static const char *ename(int r)
{
	return r == 0 ? "0" : strerrorname_np(-r) ?: "?";
}

static const char *state_name(int s)
{
	static const char *const names[] = {
		[DAXMIRROR_CLIENT_NO_SESSION] = "NO_SESSION",
		[DAXMIRROR_CLIENT_ACTIVE] = "ACTIVE",
		[DAXMIRROR_CLIENT_REVOKE_REQUESTED] = "REVOKE_REQUESTED",
		[DAXMIRROR_CLIENT_ACKNOWLEDGED] = "ACKNOWLEDGED",
		[DAXMIRROR_CLIENT_FORCED] = "FORCED",
		[DAXMIRROR_CLIENT_REVOKED] = "REVOKED",
		[DAXMIRROR_CLIENT_BROKER_GONE] = "BROKER_GONE",
	};

	return s >= 0 && s < (int)(sizeof(names) / sizeof(names[0])) ? names[s] : "?";
}

static void kv(const char *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kv(const char *k, const char *fmt, ...)
{
	va_list ap;

	printf("%s=", k);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int open_mirror(const char *path, struct daxmirror_client **c, struct daxmirror_mirror **m,
		       unsigned int flags)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	int r;

	if (fd < 0) {
		fprintf(stderr, "lib-client: %s: %m\n", path);
		return -errno;
	}
	r = daxmirror_client_new(c, NULL);
	if (r == 0)
		r = daxmirror_mirror_file(*c, fd, 0, 0, LIBDAXMIRROR_MIRROR_WRITE | flags, m);
	if (r < 0)
		fprintf(stderr, "lib-client: mirroring %s: %s (%s)\n", path, strerror(-r),
			daxmirror_client_last_error(NULL) ?: "-");
	return r;
}

static int cmd_wait(const char *path)
{
	_cleanup_client_ struct daxmirror_client *c = NULL;
	_cleanup_mirror_ struct daxmirror_mirror *m = NULL;
	_cleanup_close_ int fd = -1;
	struct daxmirror_mirror *m2 = NULL;
	time_t until = time(NULL) + 120;
	int r, state = -1;

	if (open_mirror(path, &c, &m, LIBDAXMIRROR_MIRROR_PREFAULT) < 0)
		return 2;
	kv("session", "%s", daxmirror_client_session_path(c));
	kv("ready", "1");
	for (;;) {
		struct pollfd p = { .fd = daxmirror_client_get_fd(c) };

		r = daxmirror_client_process(c);
		if (r < 0) {
			kv("process", "%s", ename(r));
			return 1;
		}
		if (r == 1) {
			int s = daxmirror_client_get_state(c);

			if (s != state) {
				state = s;
				kv("state", "%s", state_name(s));
				if (s == DAXMIRROR_CLIENT_REVOKE_REQUESTED)
					kv("deadline", "%d",
					   daxmirror_client_revoke_pending(c, NULL) == 1);
			}
			if (s != DAXMIRROR_CLIENT_REVOKE_REQUESTED)
				break;
		}
		if (time(NULL) > until) {
			kv("timeout", "1");
			return 1;
		}
		p.events = (short)daxmirror_client_get_events(c);
		/* No timeout: the client must be woken. (A poll that returns
		 * at once again and again would spin: counted below.) */
		if (poll(&p, 1, 120000) == 0) {
			kv("timeout", "1");
			return 1;
		}
	}
	kv("revoke_pending", "%d", daxmirror_client_revoke_pending(c, NULL));
	{
		char b[64] = "after";

		kv("write", "%s", ename(daxmirror_mirror_write(m, 0, b, sizeof(b))));
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	r = daxmirror_mirror_file(c, fd, 0, BLOCK, LIBDAXMIRROR_MIRROR_WRITE, &m2);
	kv("remirror", "%s", ename(r));
	kv("remirror_error", "%s", daxmirror_client_last_error(NULL) ?: "NULL");
	daxmirror_mirror_free(m2);
	kv("path_after", "%s", daxmirror_client_session_path(c) ?: "NULL");
	return 0;
}

struct worker {
	pthread_t th;
	struct daxmirror_mirror *m;
	unsigned int index, blocks_per;
	bool ok;
	char why[200];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct daxmirror_counters cnt;
	uint8_t buf[BLOCK], back[BLOCK], pages[8];

	w->ok = true;
	for (unsigned int round = 0; round < 20 && w->ok; round++) {
		for (unsigned int i = 0; i < w->blocks_per && w->ok; i++) {
			uint64_t blk = (uint64_t)w->index * w->blocks_per + i;
			uint64_t off = blk * BLOCK;
			int r;

			memset(buf, (int)(w->index * 16 + round % 16), sizeof(buf));
			memcpy(buf, &blk, sizeof(blk));
			r = daxmirror_mirror_prefetch(w->m, off, BLOCK, true);
			if (!r)
				r = daxmirror_mirror_write(w->m, off, buf, BLOCK);
			if (!r)
				r = daxmirror_mirror_read(w->m, off, back, BLOCK);
			if (!r)
				r = daxmirror_mirror_snapshot(w->m, off, BLOCK, pages);
			if (!r)
				r = daxmirror_mirror_counters(w->m, &cnt);
			if (r) {
				snprintf(w->why, sizeof(w->why), "block %llu: %s (%s)",
					 (unsigned long long)blk, ename(r),
					 daxmirror_client_last_error(NULL) ?: "-");
				w->ok = false;
			} else if (memcmp(buf, back, BLOCK)) {
				snprintf(w->why, sizeof(w->why), "block %llu read back differs",
					 (unsigned long long)blk);
				w->ok = false;
			} else if (daxmirror_client_last_error(NULL)) {
				snprintf(w->why, sizeof(w->why), "last_error after success: %s",
					 daxmirror_client_last_error(NULL));
				w->ok = false;
			}
		}
	}
	return NULL;
}

static int cmd_threads(const char *path, unsigned int n)
{
	_cleanup_client_ struct daxmirror_client *c = NULL;
	_cleanup_mirror_ struct daxmirror_mirror *m = NULL;
	_cleanup_close_ int fd = -1;
	struct worker w[64];
	unsigned int ok = 0, blocks;
	bool file_ok = true;

	if (n == 0 || n > 64 || open_mirror(path, &c, &m, 0) < 0)
		return 2;
	blocks = (unsigned int)(daxmirror_mirror_length(m) / BLOCK);
	for (unsigned int i = 0; i < n; i++) {
		w[i] = (struct worker){ .m = m, .index = i, .blocks_per = blocks / n };
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]))
			return 2;
	}
	for (unsigned int i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		ok += w[i].ok;
		if (!w[i].ok)
			fprintf(stderr, "lib-client: thread %u: %s\n", i, w[i].why);
	}
	kv("threads_ok", "%u/%u", ok, n);
	/* What the last round wrote, through the file. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	for (unsigned int i = 0; i < n && fd >= 0; i++)
		for (unsigned int b = 0; b < blocks / n; b++) {
			uint64_t blk = (uint64_t)i * (blocks / n) + b;
			uint8_t got[BLOCK], want[BLOCK];

			memset(want, (int)(i * 16 + 19 % 16), sizeof(want));
			memcpy(want, &blk, sizeof(blk));
			if (pread(fd, got, BLOCK, (off_t)(blk * BLOCK)) != BLOCK ||
			    memcmp(got, want, BLOCK))
				file_ok = false;
		}
	kv("file_ok", "%d", file_ok && fd >= 0);
	return ok == n && file_ok ? 0 : 1;
}

static int cmd_fork(const char *path)
{
	_cleanup_client_ struct daxmirror_client *c = NULL;
	_cleanup_mirror_ struct daxmirror_mirror *m = NULL;
	int status = -1, r;
	pid_t pid;

	if (open_mirror(path, &c, &m, 0) < 0)
		return 2;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct daxmirror_counters cnt;
		struct daxmirror_mirror *m2 = NULL;
		uint8_t b[BLOCK], pages[1];
		int bad = 0, i = 0, fd = open(path, O_RDWR | O_CLOEXEC);

#define CHILD_ECHILD(call) do { if ((call) != -ECHILD) bad |= 1 << i; i++; } while (0)
		CHILD_ECHILD(daxmirror_mirror_read(m, 0, b, 64));
		CHILD_ECHILD(daxmirror_mirror_write(m, 0, b, 64));
		CHILD_ECHILD(daxmirror_mirror_prefetch(m, 0, BLOCK, false));
		CHILD_ECHILD(daxmirror_mirror_snapshot(m, 0, BLOCK, pages));
		CHILD_ECHILD(daxmirror_mirror_counters(m, &cnt));
		CHILD_ECHILD(daxmirror_mirror_persist(m, 0, 64));
		CHILD_ECHILD(daxmirror_client_counters(c, &cnt));
		CHILD_ECHILD(daxmirror_mirror_file(c, fd, 0, BLOCK, 0, &m2));
		CHILD_ECHILD(daxmirror_client_get_fd(c));
		/* The child's copies go; the parent's mirror must not. */
		daxmirror_mirror_free(m);
		daxmirror_client_free(c);
		_exit(bad);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 2;
	kv("child", "0x%x", WEXITSTATUS(status));
	{
		uint8_t b[64] = "parent", back[64];

		r = daxmirror_mirror_write(m, 0, b, sizeof(b));
		if (!r)
			r = daxmirror_mirror_read(m, 0, back, sizeof(back));
		if (!r && memcmp(b, back, sizeof(b)))
			r = -EIO;
	}
	kv("parent_after", "%s", ename(r));
	return WEXITSTATUS(status) == 0 && r == 0 ? 0 : 1;
}

static int cmd_free_first(const char *path)
{
	struct daxmirror_client *c = NULL;
	struct daxmirror_mirror *m = NULL;
	char b[64];
	int r;

	if (open_mirror(path, &c, &m, 0) < 0)
		return 2;
	kv("session", "%s", daxmirror_client_session_path(c));
	c = daxmirror_client_free(c);
	r = daxmirror_mirror_read(m, 0, b, sizeof(b));
	kv("read_after", "%s", ename(r));
	kv("addr_after", "%s", daxmirror_mirror_addr(m) ? "set" : "NULL");
	kv("client_freed", "1");
	sleep(3);
	m = daxmirror_mirror_free(m);
	kv("mirror_freed", "1");
	return r == -ENODEV ? 0 : 1;
}

static int cmd_ranges(const char *path)
{
	_cleanup_client_ struct daxmirror_client *c = NULL;
	_cleanup_mirror_ struct daxmirror_mirror *a = NULL, *b = NULL, *x = NULL;
	const uint64_t len = 64 * 1024;
	int fd = open(path, O_RDWR | O_CLOEXEC), r = 0;
	const char *msg;

	if (fd < 0 || daxmirror_client_new(&c, NULL) < 0)
		return 2;
	for (int i = 0; i < 6 && r == 0; i++) {
		r = daxmirror_mirror_file(c, fd, (uint64_t)i * len, len, 0, &x);
		x = daxmirror_mirror_free(x);
	}
	kv("cycle", "%s", ename(r));
	r = daxmirror_mirror_file(c, fd, 0, len, 0, &a);
	if (r == 0)
		r = daxmirror_mirror_file(c, fd, len, len, 0, &b);
	if (r < 0) {
		kv("two", "%s", ename(r));
		return 1;
	}
	r = daxmirror_mirror_file(c, fd, 2 * len, len, 0, &x);
	msg = daxmirror_client_last_error(c);
	kv("third", "%s", ename(r));
	kv("third_names_limit", "%d", msg && strstr(msg, "MaxFilesPerSession=2") ? 1 : 0);
	if (msg)
		kv("third_error", "%s", msg);
	a = daxmirror_mirror_free(a);
	x = daxmirror_mirror_free(x);
	r = daxmirror_mirror_file(c, fd, 2 * len, len, 0, &x);
	kv("after_free", "%s", ename(r));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "wait"))
		return cmd_wait(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "threads"))
		return cmd_threads(argv[2], (unsigned int)atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "fork"))
		return cmd_fork(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "free-first"))
		return cmd_free_first(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "ranges"))
		return cmd_ranges(argv[2]);
	fprintf(stderr, "usage: lib-client wait|threads|fork|free-first|ranges FILE [N]\n");
	return 2;
}
