/* vetting.c - AttachFile's vetting on libuv's thread pool, and the release
 * of every client fd off the loop.
 *
 * The loop never calls into a client's file system: vet_call() (or the
 * test's fake, Context.vet) runs in uv_queue_work()'s work callback, its
 * result comes back in the after-work callback. Nor does the loop ever
 * close a client's fd: close() calls the file system's flush, which for
 * FUSE is a request its server may never answer (FLUSH is a forced
 * request: the wait cannot be interrupted, not even by SIGKILL), and so
 * does any other way of taking an fd out of the table (dup2() over it,
 * close_range(), exit). sd-bus closes a message's fds in message_free(),
 * on the loop, for every message: handled, unhandled, or a call to an
 * unknown member. So a bus filter (vetting_bus_filter()) takes a
 * reference to every incoming message that carries fds (a VetHold);
 * when its handlers are done (a uv_check after the dispatch) and no
 * vetting job uses its fds any more, a thread of the pool puts /dev/null
 * in the place of each (dup3(): the client's file is closed, and
 * flushed, on that thread), and then the loop drops the message, whose
 * close() now closes /dev/null. sd-bus's objects are never touched off
 * the loop (their refcounts are not atomic, and each message reference
 * is a reference to the bus): the thread sees only fd numbers.
 *
 * Budgets. Vetting threads: MaxVettingPerUser, MaxVetting (quota.c's
 * vetting counters), calls over them wait in line (at most
 * MaxVettingQueuedPerUser a uid), and every call, in line or on a
 * thread, is answered Timeout VetTimeoutSec after it ARRIVED. Closing
 * threads: MaxClosingPerUser, MaxClosing, counted here and apart from
 * vetting, so closes stuck in a file system block further closes of
 * their uid (which wait in line, holding their fds), never anybody's
 * vetting. Fds held in all (messages being dispatched, calls vetted or
 * in line, closes in line or stuck): MaxClientFds, past which calls
 * carrying fds are refused (TooManyFds).
 *
 * A job outlives its caller: at the deadline the caller gets Timeout and
 * the job is abandoned, but it stays counted against its uid's and the
 * global cap and keeps its message until its thread returns, so a uid
 * whose files never answer holds at most MaxVettingPerUser vetting
 * threads and MaxClosingPerUser closing threads. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bus.h"
#include "bus-contract.h"
#include "log.h"
#include "list.h"
#include "quota.h"
#include "session.h"
#include "util.h"
#include "vetting.h"

struct VetJob {
	uv_work_t work;
	Context *ctx;
	VetJob *prev, *next;		/* ctx->vet_jobs: until its thread returned */
	bool queued;			/* on the pool; false: waits for a slot */
	bool counted;			/* holds a slot in ctx->quota's vetting */
	uid_t uid;
	sd_bus_message *message;	/* AttachFile */
	VetHold *hold;			/* the filter's hold of the message's fds */
	VetCall call;			/* fd, caller (pidfd), arguments */
	VetRequest req;
	vet_done_fn done;
	/* Owned by the loop. */
	Session *session;		/* NULL once the session ended */
	bool waiting;			/* the caller still waits for its answer */
	uint64_t session_id;		/* for messages once the session is gone */
	uint64_t deadline_usec;		/* CLOCK_MONOTONIC: VetTimeoutSec from
					 * its arrival while in line, then from
					 * the start of its thread */
	uint64_t started_usec;		/* its thread was queued (0: in line) */
	/* The caller's pid pinned (caller_pidfd()): while the bus has not
	 * yet confirmed, after pidfd_open(), that the connection still names
	 * that pid, the answer waits (the thread runs meanwhile). */
	sd_bus_slot *pin_slot;		/* the bus's confirmation, pending */
	bool pin_failed;		/* the bus no longer names the pid */
	bool thread_done;		/* returned; finished once pinned */
	int thread_status;		/* after_work()'s status, kept */
	/* Written by the thread, read by the loop after it returned. */
	int r;
	VetReport rep;
	sd_bus_error error;
};

struct VetHold {
	uv_work_t work;
	Context *ctx;
	VetHold *prev, *next;		/* ctx->vet_holds, in arrival order */
	sd_bus_message *message;	/* one reference: its fds stay in the table */
	int *fds;
	size_t n_fds;
	uid_t uid;			/* the sender's (UID_UNKNOWN if the bus cannot tell) */
	unsigned users;			/* the dispatch, and each vetting job */
	bool dispatching;		/* its handlers may still run */
	bool queued;			/* a thread drops its fds */
	int r;				/* the thread's dup3() */
};

/* Appends @item to the list at *@headp (no tail kept: short lists). */
#define LIST_APPEND(headp, item)						\
	do {									\
		__typeof__(item) _last = *(headp);				\
										\
		while (_last && _last->next)					\
			_last = _last->next;					\
		(item)->prev = _last;						\
		(item)->next = NULL;						\
		if (_last)							\
			_last->next = (item);					\
		else								\
			*(headp) = (item);					\
	} while (0)

/* --- holds: client fds, released on a thread ---------------------- */

static uint32_t close_cap(const Context *ctx)
{
	return ctx->config.max_closing < ctx->vet_close_threads ? ctx->config.max_closing
								  : ctx->vet_close_threads;
}

/* Holds whose thread has not returned: of @uid, or (@any_uid) of all. */
static uint32_t closing(const Context *ctx, uid_t uid, bool any_uid)
{
	uint32_t n = 0;

	for (const VetHold *h = ctx->vet_holds; h; h = h->next)
		n += h->queued && (any_uid || h->uid == uid);
	return n;
}

static void close_work(uv_work_t *w)
{
	VetHold *h = container_of(w, VetHold, work);

	h->r = 0;
	for (size_t i = 0; i < h->n_fds; i++)
		if (dup3(h->ctx->vet_null_fd, h->fds[i], O_CLOEXEC) < 0 && h->r == 0)
			h->r = -errno;
}

static void hold_free(VetHold *h, bool keep_message)
{
	Context *ctx = h->ctx;

	DXM_LIST_UNLINK(&ctx->vet_holds, NULL, h);
	ctx->vet_held_fds -= (uint32_t)h->n_fds;
	/* Kept: its fds may still be the client's files (stopping, or
	 * dup3() failed); the process's exit closes them. */
	if (!keep_message)
		sd_bus_message_unref(h->message);
	free(h->fds);
	free(h);
}

static void start_waiting(Context *ctx);

static void after_close(uv_work_t *w, int status)
{
	VetHold *h = container_of(w, VetHold, work);
	Context *ctx = h->ctx;

	if (status == UV_ECANCELED) {
		hold_free(h, true);
		return;
	}
	if (h->r < 0)
		log_error_errno(h->r, "putting /dev/null in place of a client's fd: %m; it stays open");
	hold_free(h, h->r < 0);
	start_waiting(ctx);
}

/* A hold nobody uses any more gets a thread if its uid's closing budget
 * allows, else waits in line (start_waiting()). */
static void hold_try_close(VetHold *h)
{
	Context *ctx = h->ctx;
	int r;

	/* Also while stopping: dropping fds is what lets the daemon go. */
	if (h->users > 0 || h->queued)
		return;
	if (closing(ctx, h->uid, false) >= ctx->config.max_closing_per_user ||
	    closing(ctx, 0, true) >= close_cap(ctx))
		return;
	h->queued = true;
	r = uv_queue_work(&ctx->loop, &h->work, close_work, after_close);
	if (r < 0) {	/* only for a NULL callback: cannot happen */
		log_error("uv_queue_work: %s", uv_strerror(r));
		abort();
	}
}

static void hold_put(VetHold *h)
{
	if (!h)
		return;
	h->users--;
	hold_try_close(h);
}

static VetHold *hold_find(Context *ctx, sd_bus_message *m)
{
	for (VetHold *h = ctx->vet_holds; h; h = h->next)
		if (h->message == m)
			return h;
	return NULL;
}

/* The loop's check phase, after the I/O callbacks: every message the
 * filter saw since has been dispatched (sd_bus_process() runs one
 * message's handlers to the end before the next). */
static void on_check(uv_check_t *c)
{
	Context *ctx = container_of(c, Context, vet_check);
	VetHold *h, *next;

	uv_check_stop(c);
	for (h = ctx->vet_holds; h; h = next) {
		next = h->next;
		if (!h->dispatching)
			continue;
		h->dispatching = false;
		hold_put(h);
	}
}

static int add_fd(int **fds, size_t *n, int fd)
{
	int *f;

	for (size_t i = 0; i < *n; i++)
		if ((*fds)[i] == fd)
			return 0;
	f = reallocarray(*fds, *n + 1, sizeof(int));
	if (!f)
		return -ENOMEM;
	f[(*n)++] = fd;
	*fds = f;
	return 0;
}

/* Every fd an 'h' of @m names, each once, walking its containers; what
 * holds no 'h' is skipped whole. The read position is rewound after. */
static int collect_fds(sd_bus_message *m, int **fds, size_t *n)
{
	unsigned depth = 0;
	int r;

	r = sd_bus_message_rewind(m, true);
	if (r < 0)
		return r;
	for (;;) {
		const char *contents = NULL;
		char type, sig[2] = "";

		r = sd_bus_message_peek_type(m, &type, &contents);
		if (r < 0)
			break;
		if (r == 0) {
			if (depth == 0)
				break;
			r = sd_bus_message_exit_container(m);
			if (r < 0)
				break;
			depth--;
			continue;
		}
		if (type == SD_BUS_TYPE_UNIX_FD) {
			int fd;

			r = sd_bus_message_read_basic(m, type, &fd);
			if (r < 0)
				break;
			r = add_fd(fds, n, fd);
			if (r < 0)
				break;
			continue;
		}
		if (contents && strchr(contents, SD_BUS_TYPE_UNIX_FD)) {
			r = sd_bus_message_enter_container(m, type, contents);
			if (r < 0)
				break;
			depth++;
			continue;
		}
		/* No fd inside: skip it whole. */
		if (type == SD_BUS_TYPE_ARRAY || type == SD_BUS_TYPE_VARIANT ||
		    type == SD_BUS_TYPE_STRUCT || type == SD_BUS_TYPE_DICT_ENTRY) {
			r = sd_bus_message_enter_container(m, type, contents);
			if (r < 0)
				break;
			r = sd_bus_message_skip(m, NULL);
			if (r < 0)
				break;
			r = sd_bus_message_exit_container(m);
		} else {
			sig[0] = type;
			r = sd_bus_message_skip(m, sig);
		}
		if (r < 0)
			break;
	}
	(void)sd_bus_message_rewind(m, true);
	return r < 0 ? r : 0;
}

int vetting_bus_filter(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Context *ctx = userdata;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_free_ int *fds = NULL;
	const char *sig = sd_bus_message_get_signature(m, true);
	uid_t uid = UID_UNKNOWN;
	size_t n = 0;
	VetHold *h;
	int r;

	if (!ctx->vet_running || !sig || !strchr(sig, SD_BUS_TYPE_UNIX_FD))
		return 0;
	r = collect_fds(m, &fds, &n);
	if (r < 0)
		/* A body sd-bus cannot read: its handlers will not read
		 * it either; the fds found so far are still held. */
		log_debug_errno(r, "reading the fds of a message of %s: %m",
				sd_bus_message_get_sender(m) ?: "?");
	if (n == 0)
		return 0;
	if (caller_get(&ctx->callers, m, &uid, NULL, &e) < 0)
		uid = UID_UNKNOWN;
	sd_bus_error_free(&e);

	h = calloc(1, sizeof(*h));
	if (!h) {
		/* Rather a message kept than the loop stuck in a close(). */
		log_error("out of memory: a client's fds stay open");
		sd_bus_message_ref(m);
		return 0;
	}
	*h = (VetHold){
		.ctx = ctx, .message = sd_bus_message_ref(m), .fds = TAKE_PTR(fds), .n_fds = n,
		.uid = uid, .users = 1, .dispatching = true,
	};
	LIST_APPEND(&ctx->vet_holds, h);
	ctx->vet_held_fds += (uint32_t)n;
	uv_check_start(&ctx->vet_check, on_check);

	if (ctx->vet_held_fds <= ctx->config.max_client_fds)
		return 0;
	/* Over the bound: not dispatched (no vetting, no session); the fds
	 * are dropped on a thread all the same. */
	log_warning("%s (uid %d) sent %zu fds while the broker holds %u of clients' (MaxClientFds=%u): refused",
		    sd_bus_message_get_sender(m) ?: "?", uid == UID_UNKNOWN ? -1 : (int)uid, n,
		    ctx->vet_held_fds - (uint32_t)n, ctx->config.max_client_fds);
	if (sd_bus_message_is_method_call(m, NULL, NULL) > 0 &&
	    sd_bus_message_get_expect_reply(m) > 0) {
		r = sd_bus_reply_method_errorf(m, DXM_ERROR_TOO_MANY_FDS,
					       "the broker holds %u files of clients (MaxClientFds=%u), some stuck in file systems that do not answer; try again later",
					       ctx->vet_held_fds - (uint32_t)n,
					       ctx->config.max_client_fds);
		if (r < 0)
			log_debug_errno(r, "answering a call over MaxClientFds: %m");
	}
	return 1;
}

/* --- vetting jobs --------------------------------------------------- */

static void job_unlink(VetJob *j)
{
	DXM_LIST_UNLINK(&j->ctx->vet_jobs, NULL, j);
}

/* Frees a job whose thread has returned or never started. */
static void job_free(VetJob *j)
{
	job_unlink(j);
	j->pin_slot = sd_bus_slot_unref(j->pin_slot);	/* no callback now */
	safe_close(j->call.caller_pidfd);
	hold_put(j->hold);
	sd_bus_message_unref(j->message);
	sd_bus_error_free(&j->error);
	free(j);
}

/* Answers the caller with an error, once; the job lives on. */
__attribute__((format(printf, 3, 4)))
static void job_fail(VetJob *j, const char *name, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	if (!j->waiting)
		return;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	r = sd_bus_reply_method_errorf(j->message, name, "%s", r < 0 ? "(out of memory)" : msg);
	if (r < 0)
		log_debug_errno(r, "session %" PRIu64 ": answering AttachFile: %m", j->session_id);
	j->waiting = false;
	j->session = NULL;
}

static void on_deadline(uv_timer_t *t);
static void fail_unbacked(Context *ctx);

/* The timer for the earliest deadline of a caller still waiting, on a
 * thread or in line. */
static void arm_timer(Context *ctx)
{
	uint64_t next = UINT64_MAX, now;

	if (!ctx->vet_running)
		return;
	for (VetJob *j = ctx->vet_jobs; j; j = j->next)
		if (j->waiting && j->deadline_usec < next)
			next = j->deadline_usec;
	if (next == UINT64_MAX) {
		uv_timer_stop(&ctx->vet_timer);
		return;
	}
	now = now_usec(CLOCK_MONOTONIC);
	uv_update_time(&ctx->loop);
	uv_timer_start(&ctx->vet_timer, on_deadline,
		       next > now ? (next - now + 999) / 1000 : 0, 0);
}

static void on_deadline(uv_timer_t *t)
{
	Context *ctx = container_of(t, Context, vet_timer);
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	VetJob *j, *next;

	for (j = ctx->vet_jobs; j; j = next) {
		next = j->next;
		if (!j->waiting || j->deadline_usec > now)
			continue;
		if (!j->queued) {
			job_fail(j, DXM_ERROR_TIMEOUT,
				 "no vetting thread was free for %u s (VetTimeoutSec): the threads of uid %u (or of everyone) are busy",
				 ctx->config.vet_timeout_sec, (unsigned)j->uid);
			job_free(j);
			continue;
		}
		log_warning("session %" PRIu64 ": vetting a file of uid %u took more than %u s: "
			    "Timeout; its thread stays busy until the file system answers",
			    j->session_id, (unsigned)j->uid, ctx->config.vet_timeout_sec);
		job_fail(j, DXM_ERROR_TIMEOUT,
			 "vetting the file took more than %u s (VetTimeoutSec): its file system does not answer",
			 ctx->config.vet_timeout_sec);
	}
	fail_unbacked(ctx);
	arm_timer(ctx);
}

/* The global cap in force: a reload cannot grow the pool, sized at start. */
static uint32_t total_cap(const Context *ctx)
{
	uint32_t threads = ctx->vet_threads - 1 - ctx->vet_close_threads;

	return ctx->config.max_vetting < threads ? ctx->config.max_vetting : threads;
}

/* On a thread of the pool: the only place a client's file system is
 * called. Touches nothing of the loop's but the job and the locked
 * cache. */
static void work(uv_work_t *w)
{
	VetJob *j = container_of(w, VetJob, work);
	vet_call_fn vet = j->ctx->vet ? j->ctx->vet : vet_call;

	j->r = vet(&j->ctx->vet_cache, &j->call, &j->rep, &j->error);
}

static void after_thread(uv_work_t *w, int status);

static void job_queue(VetJob *j)
{
	int r;

	j->queued = true;
	j->started_usec = now_usec(CLOCK_MONOTONIC);
	j->deadline_usec = j->started_usec + (uint64_t)j->ctx->config.vet_timeout_sec * 1000000ULL;
	r = uv_queue_work(&j->ctx->loop, &j->work, work, after_thread);
	if (r < 0) {	/* only for a NULL callback: cannot happen */
		log_error("uv_queue_work: %s", uv_strerror(r));
		abort();
	}
}

/* Slots freed: calls in line start, oldest first, as long as their caller
 * still waits (a job in line whose caller got its answer is gone). */
static void start_waiting_jobs(Context *ctx)
{
	for (VetJob *p = ctx->vet_jobs; p && ctx->vet_running; p = p->next) {
		if (p->queued || !p->waiting ||
		    quota_vetting_check(&ctx->quota, p->uid, ctx->config.max_vetting_per_user,
					total_cap(ctx)) < 0)
			continue;
		if (quota_vetting_add(&ctx->quota, p->uid) < 0)
			break;
		p->counted = true;
		job_queue(p);
	}
}

static void start_waiting(Context *ctx)
{
	for (VetHold *h = ctx->vet_holds; h; h = h->next)
		hold_try_close(h);
}

/* A job of @uid on a thread for less than VetTimeoutSec (not stuck in a
 * file system, whether or not its caller still waits): what a call
 * waiting for a slot of @uid (or, @any_uid, for any slot) may hope to
 * follow. */
static bool live_job(const Context *ctx, uid_t uid, bool any_uid)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	uint64_t limit = (uint64_t)ctx->config.vet_timeout_sec * 1000000ULL;

	for (const VetJob *j = ctx->vet_jobs; j; j = j->next)
		if (j->queued && j->counted && now - j->started_usec < limit &&
		    (any_uid || j->uid == uid))
			return true;
	return false;
}

/* Calls waiting for a slot of @uid. */
static uint32_t queued_calls(const Context *ctx, uid_t uid)
{
	uint32_t n = 0;

	for (const VetJob *j = ctx->vet_jobs; j; j = j->next)
		n += !j->queued && j->uid == uid;
	return n;
}

/* May a call of @uid wait for a slot? Only behind a job that is still
 * live: once every slot it waits for is held by a thread past its
 * deadline (stuck in a file system), waiting is pointless. */
static bool may_wait(const Context *ctx, uid_t uid)
{
	bool uid_full = quota_vetting(&ctx->quota, uid) >= ctx->config.max_vetting_per_user;

	return live_job(ctx, uid, !uid_full);
}

/* Calls in line that can no longer hope for a slot: Busy, dropped. */
static void fail_unbacked(Context *ctx)
{
	VetJob *j, *next;

	for (j = ctx->vet_jobs; j; j = next) {
		next = j->next;
		if (j->queued || may_wait(ctx, j->uid))
			continue;
		job_fail(j, DXM_ERROR_BUSY,
			 "the vetting threads of uid %u (or of everyone) are stuck in a file system; try again later",
			 (unsigned)j->uid);
		job_free(j);
	}
}

/* Back on the loop: a job's thread returned (or the job was cancelled
 * before it started). Answers the caller if it still waits and its
 * session is still there and not revoked, then frees the job, starts
 * the calls in line it made room for, and answers those that can no
 * longer hope for one. */
static void after_work(uv_work_t *w, int status)
{
	VetJob *j = container_of(w, VetJob, work);
	Context *ctx = j->ctx;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	if (status == UV_ECANCELED)
		j->r = -ECANCELED;
	if (!j->waiting)
		;	/* answered already: deadline, session ended, stopping */
	else if (status == UV_ECANCELED)
		job_fail(j, DXM_ERROR_BUSY, "the broker is stopping");
	else if (j->pin_failed)
		/* The thread may have read the mountinfo of a process that
		 * took the pid over: its answer is not used. */
		job_fail(j, DXM_ERROR_BUSY,
			 "the caller's connection left the bus while its file was vetted");
	else if (!j->session || j->session->ending)
		job_fail(j, DXM_ERROR_REVOKED, "session %" PRIu64 " ended while its file was vetted",
			 j->session_id);
	else if (j->session->info.state == DAXMIRROR_STATE_REVOKED)
		job_fail(j, DXM_ERROR_REVOKED, "session %" PRIu64 " was revoked while its file was vetted",
			 j->session_id);
	else {
		if (j->r < 0)
			r = sd_bus_error_copy(&error, &j->error);
		else
			r = j->done(j->session, j->message, j->call.fd, &j->req, &j->rep, &error);
		if (r < 0) {
			if (!sd_bus_error_is_set(&error))
				sd_bus_error_set_errno(&error, r);
			r = sd_bus_reply_method_error(j->message, &error);
			if (r < 0)
				log_debug_errno(r, "session %" PRIu64 ": answering AttachFile: %m",
						j->session_id);
		}
		j->waiting = false;
	}
	sd_bus_error_free(&error);
	if (j->counted && quota_vetting_remove(&ctx->quota, j->uid) < 0)
		log_error("vetting accounting of uid %u is off", (unsigned)j->uid);
	job_free(j);
	start_waiting_jobs(ctx);
	fail_unbacked(ctx);
	arm_timer(ctx);
}

/* The thread returned (or was cancelled): after_work() now, or once the
 * bus confirmed the caller's pid (on_pin_checked()). */
static void after_thread(uv_work_t *w, int status)
{
	VetJob *j = container_of(w, VetJob, work);

	if (j->pin_slot && status != UV_ECANCELED) {
		j->thread_done = true;
		j->thread_status = status;
		return;
	}
	j->pin_slot = sd_bus_slot_unref(j->pin_slot);
	after_work(w, status);
}

int vetting_start(Context *ctx)
{
	char n[16];
	int r;

	/* libuv reads it once, when the first work is queued: every thread
	 * the caps allow, vetting and closing, plus one, so libuv's own
	 * users of the pool always find one free. */
	ctx->vet_close_threads = ctx->config.max_closing;
	ctx->vet_threads = ctx->config.max_vetting + ctx->vet_close_threads + 1;
	snprintf(n, sizeof(n), "%u", ctx->vet_threads);
	if (setenv("UV_THREADPOOL_SIZE", n, 1) < 0)
		return log_error_errno(errno, "setenv(UV_THREADPOOL_SIZE): %m");
	ctx->vet_null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (ctx->vet_null_fd < 0)
		return log_error_errno(errno, "/dev/null: %m");
	r = uv_timer_init(&ctx->loop, &ctx->vet_timer);
	if (r < 0)
		return log_error("uv_timer_init: %s", uv_strerror(r));
	ctx->vet_timer_init = true;
	r = uv_check_init(&ctx->loop, &ctx->vet_check);
	if (r < 0)
		return log_error("uv_check_init: %s", uv_strerror(r));
	ctx->vet_check_init = true;
	ctx->vet_running = true;
	return 0;
}

/* The bus's answer to caller_pidfd()'s question: the job's answer may
 * go out (the thread returned) or waits for its thread. */
static int on_pin_checked(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	VetJob *j = userdata;
	uint32_t pid = 0;

	if (sd_bus_message_is_method_error(reply, NULL) ||
	    sd_bus_message_read(reply, "u", &pid) < 0 || pid != (uint32_t)j->call.caller_pid)
		j->pin_failed = true;
	j->pin_slot = sd_bus_slot_unref(j->pin_slot);
	if (j->thread_done)
		after_work(&j->work, j->thread_status);
	return 1;
}

/* The caller's pid, pinned: a pidfd of the pid the bus names, kept only
 * if the bus still names that pid after the pidfd was opened (else the
 * pid may have been reused in between). -1 if none. On a bus the
 * question is asked without waiting (j->pin_slot, answered in
 * on_pin_checked()): the thread starts meanwhile and its answer waits
 * for the bus's, one round trip to the bus daemon (a Peer.Ping is two)
 * off the caller's wait. On a direct connection (no sender) the peer's
 * credentials are the socket's, read at once. dbus-daemon 1.14 gives no
 * pidfd of its own (ProcessFD came in 1.15.x), so a connection whose
 * first process exited while a child kept its socket still names the
 * old pid: the thread then reads the mountinfo of whoever has it, to
 * find a mount id that is unique across namespaces (a wrong namespace
 * finds nothing, never another mount's type). */
static int caller_pidfd(VetJob *j, sd_bus_message *call, pid_t *pid)
{
	Context *ctx = j->ctx;
	const char *sender = sd_bus_message_get_sender(call);
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uid_t uid;
	pid_t again = 0;
	int fd, r;

	*pid = 0;
	if (caller_get(&ctx->callers, call, &uid, pid, &e) < 0 || *pid <= 0) {
		sd_bus_error_free(&e);
		return -1;
	}
	fd = (int)syscall(SYS_pidfd_open, *pid, 0);
	if (fd < 0)
		return -1;
	if (sender) {
		r = sd_bus_call_method_async(sd_bus_message_get_bus(call), &j->pin_slot,
					     "org.freedesktop.DBus", "/org/freedesktop/DBus",
					     "org.freedesktop.DBus", "GetConnectionUnixProcessID",
					     on_pin_checked, j, "s", sender);
		if (r >= 0)
			return fd;
		log_debug_errno(r, "asking the bus for the pid of %s: %m", sender);
		return safe_close(fd);
	}
	if (bus_caller(call, &uid, &again, &e) < 0 || again != *pid) {
		sd_bus_error_free(&e);
		return safe_close(fd);
	}
	return fd;
}

int vetting_submit(Session *s, sd_bus_message *call, uid_t uid, int fd,
		   const VetRequest *req, vet_done_fn done, sd_bus_error *error)
{
	Context *ctx = s->ctx;
	bool start;
	VetJob *j;
	int r;

	if (!ctx->vet_running)
		return sd_bus_error_setf(error, DXM_ERROR_BUSY, "the broker is not vetting files now (stopping)");
	r = quota_vetting_check(&ctx->quota, uid, ctx->config.max_vetting_per_user, total_cap(ctx));
	start = r == 0;
	/* Over a cap: wait in line, behind live jobs, up to a point. */
	if (!start && (queued_calls(ctx, uid) >= ctx->config.max_vetting_queued_per_user ||
		       !may_wait(ctx, uid))) {
		if (r == -EUSERS)
			return sd_bus_error_setf(error, DXM_ERROR_BUSY,
						 "uid %u has %u files being vetted (MaxVettingPerUser=%u) and %u waiting (MaxVettingQueuedPerUser=%u)%s; try again later",
						 (unsigned)uid, quota_vetting(&ctx->quota, uid),
						 ctx->config.max_vetting_per_user, queued_calls(ctx, uid),
						 ctx->config.max_vetting_queued_per_user,
						 may_wait(ctx, uid) ? "" : ", its threads stuck in a file system");
		return sd_bus_error_setf(error, DXM_ERROR_BUSY,
					 "%u files are being vetted (MaxVetting=%u); try again later",
					 ctx->quota.vetting, total_cap(ctx));
	}

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	if (start) {
		r = quota_vetting_add(&ctx->quota, uid);
		if (r < 0) {
			free(j);
			return r;
		}
	}
	*j = (VetJob){
		.ctx = ctx, .counted = start, .uid = uid,
		.message = sd_bus_message_ref(call), .hold = hold_find(ctx, call),
		.call = {
			.fd = fd, .caller_pidfd = -1, .offset = req->offset, .length = req->length,
			.write = req->write, .pagecache = req->pagecache,
		},
		.req = *req, .done = done,
		.session = s, .waiting = true, .session_id = s->id,
		.deadline_usec = now_usec(CLOCK_MONOTONIC) +
				 (uint64_t)ctx->config.vet_timeout_sec * 1000000ULL,
		.r = -EIO, .error = SD_BUS_ERROR_NULL,
	};
	snprintf(j->call.allow_fs, sizeof(j->call.allow_fs), "%s", ctx->config.allow_filesystems);
	j->call.caller_pidfd = caller_pidfd(j, call, &j->call.caller_pid);
	if (j->hold)
		j->hold->users++;
	LIST_APPEND(&ctx->vet_jobs, j);
	if (start)
		job_queue(j);
	arm_timer(ctx);
	return 0;
}

void vetting_session_event(Session *s, SessionEvent ev)
{
	Context *ctx = s->ctx;
	VetJob *j, *next;

	if (ev != SESSION_EVENT_ENDING && ev != SESSION_EVENT_DROPPED)
		return;

	for (j = ctx->vet_jobs; j; j = next) {
		next = j->next;
		if (j->session != s)
			continue;
		if (ev == SESSION_EVENT_ENDING)
			job_fail(j, DXM_ERROR_REVOKED,
				 "session %" PRIu64 " ended while its file was vetted", s->id);
		j->session = NULL;
		if (!j->queued && ev == SESSION_EVENT_ENDING)
			job_free(j);
	}
	fail_unbacked(ctx);
	arm_timer(ctx);
}

size_t vetting_stop(Context *ctx)
{
	size_t busy = 0;
	VetJob *j, *next;
	VetHold *h, *hnext;

	ctx->vet_running = false;	/* nothing in line starts now */
	for (j = ctx->vet_jobs; j; j = next) {
		next = j->next;
		job_fail(j, DXM_ERROR_BUSY, "the broker is stopping");
		j->pin_slot = sd_bus_slot_unref(j->pin_slot);
		if (j->thread_done) {	/* returned, waited for the bus */
			if (j->counted && quota_vetting_remove(&ctx->quota, j->uid) < 0)
				log_error("vetting accounting of uid %u is off", (unsigned)j->uid);
			job_free(j);
			continue;
		}
		if (!j->queued) {
			job_free(j);
			continue;
		}
		/* Not started yet: it never will be (its after-work callback
		 * runs with UV_ECANCELED). */
		if (uv_cancel((uv_req_t *)&j->work) < 0)
			busy++;
	}
	/* Closes go on: they end at once unless a file system is stuck. */
	for (h = ctx->vet_holds; h; h = hnext) {
		hnext = h->next;
		busy += h->queued;
	}
	if (ctx->vet_timer_init && !uv_is_closing((uv_handle_t *)&ctx->vet_timer))
		uv_close((uv_handle_t *)&ctx->vet_timer, NULL);
	if (ctx->vet_check_init && !uv_is_closing((uv_handle_t *)&ctx->vet_check))
		uv_close((uv_handle_t *)&ctx->vet_check, NULL);
	ctx->vet_filter_slot = sd_bus_slot_unref(ctx->vet_filter_slot);
	return busy;
}

size_t vetting_busy(const Context *ctx)
{
	size_t n = 0;

	for (const VetJob *j = ctx->vet_jobs; j; j = j->next)
		n += j->queued;
	for (const VetHold *h = ctx->vet_holds; h; h = h->next)
		n += h->queued;
	return n;
}
