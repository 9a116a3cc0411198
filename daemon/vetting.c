/* vetting.c - AttachFile's vetting on libuv's thread pool. The loop never
 * calls into a client's file system: vet_file() runs in uv_queue_work()'s
 * work callback, its result comes back in the after-work callback. Nor
 * does the loop close a client's fd that is not on a built-in local file
 * system: close() calls the file system's flush, which for FUSE is a
 * request its server may never answer (and the wait for it cannot be
 * interrupted), so a thread puts /dev/null in the fd's place (dup3) and
 * the fd the D-Bus message closes later is that.
 *
 * A job outlives its caller: at the deadline the caller gets Timeout and
 * the job is abandoned, but it stays counted against its uid's and the
 * global cap (quota.c) and keeps its message (and so the fd) until its
 * thread returns, so a uid whose files never answer holds at most
 * MaxVettingPerUser threads. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-contract.h"
#include "log.h"
#include "list.h"
#include "quota.h"
#include "session.h"
#include "util.h"
#include "vetting.h"

typedef enum VetStage {
	VET_STAGE_VET,		/* vet_file() */
	VET_STAGE_CLOSE,	/* put /dev/null in the fd's place */
} VetStage;

struct VetJob {
	uv_work_t work;
	Context *ctx;
	VetJob *prev, *next;		/* ctx->vet_jobs: until the last stage returned */
	VetStage stage;
	bool queued;			/* on the pool; false: waits for a slot */
	bool counted;			/* holds a slot in ctx->quota's vetting */
	bool close_on_thread;		/* the fd is closed by a VET_STAGE_CLOSE */
	uid_t uid;
	sd_bus_message *message;	/* AttachFile: owns the fd */
	int fd;				/* the message's fd */
	VetRequest req;
	vet_done_fn done;
	/* Owned by the loop. */
	Session *session;		/* NULL once the session ended */
	bool waiting;			/* the caller still waits for its answer */
	uint64_t session_id;		/* for messages once the session is gone */
	uint64_t deadline_usec;		/* CLOCK_MONOTONIC */
	/* Written by the thread, read by the loop after it returned. */
	int r;
	VetReport rep;
	sd_bus_error error;
};

static void job_unlink(VetJob *j)
{
	DXM_LIST_UNLINK(&j->ctx->vet_jobs, NULL, j);
}

/* At the tail: jobs waiting for a slot start in the order they came. */
static void job_link(Context *ctx, VetJob *j)
{
	VetJob *last = ctx->vet_jobs;

	while (last && last->next)
		last = last->next;
	j->prev = last;
	j->next = NULL;
	if (last)
		last->next = j;
	else
		ctx->vet_jobs = j;
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

/* The timer for the earliest deadline of a caller still waiting. */
static void arm_timer(Context *ctx)
{
	uint64_t next = UINT64_MAX, now;

	if (!ctx->vet_running)
		return;
	for (VetJob *j = ctx->vet_jobs; j; j = j->next)
		if (j->waiting && j->queued && j->deadline_usec < next)
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

	for (VetJob *j = ctx->vet_jobs; j; j = j->next) {
		if (!j->waiting || !j->queued || j->deadline_usec > now)
			continue;
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
	return ctx->config.max_vetting < ctx->vet_threads - 1 ? ctx->config.max_vetting
							       : ctx->vet_threads - 1;
}

/* On a thread of the pool: the only place a client's file system is
 * called. Touches nothing of the loop's but the job and the locked
 * cache. */
static void work(uv_work_t *w)
{
	VetJob *j = container_of(w, VetJob, work);

	if (j->stage == VET_STAGE_VET)
		j->r = vet_file(&j->ctx->vet_cache, j->fd, j->req.offset, j->req.length,
				j->req.write, j->req.pagecache, &j->rep, &j->error);
	else if (dup3(j->ctx->vet_null_fd, j->fd, O_CLOEXEC) < 0)
		j->r = -errno;
	else
		j->r = 0;
}

static void after_work(uv_work_t *w, int status);

static void job_queue(VetJob *j)
{
	int r;

	j->queued = true;
	r = uv_queue_work(&j->ctx->loop, &j->work, work, after_work);
	if (r < 0) {	/* only for a NULL callback: cannot happen */
		log_error("uv_queue_work: %s", uv_strerror(r));
		abort();
	}
}

/* Frees @j, or sends it to its close stage; then starts jobs that wait for
 * a slot. */
static void job_finish(VetJob *j)
{
	Context *ctx = j->ctx;

	if (j->close_on_thread && j->stage == VET_STAGE_VET && ctx->vet_running) {
		j->stage = VET_STAGE_CLOSE;
		job_queue(j);
		return;
	}
	job_unlink(j);
	if (j->counted && quota_vetting_remove(&ctx->quota, j->uid) < 0)
		log_error("vetting accounting of uid %u is off", (unsigned)j->uid);
	if (j->close_on_thread && (j->stage == VET_STAGE_VET || j->r < 0)) {
		/* The fd is still the client's file (stopping, or dup3
		 * failed): closing it here could wait on its server. The
		 * message, and its one fd, are left behind. */
		if (ctx->vet_running)
			log_error_errno(j->r, "putting /dev/null in place of a client's fd: %m; it stays open");
		j->message = NULL;
	}
	sd_bus_message_unref(j->message);
	sd_bus_error_free(&j->error);
	free(j);

	/* Slots freed: close stages that waited for one. */
	for (VetJob *p = ctx->vet_jobs; p && ctx->vet_running; p = p->next) {
		if (p->queued || quota_vetting_check(&ctx->quota, p->uid,
						      ctx->config.max_vetting_per_user,
						      total_cap(ctx)) < 0)
			continue;
		if (quota_vetting_add(&ctx->quota, p->uid) < 0)
			break;
		p->counted = true;
		p->deadline_usec = now_usec(CLOCK_MONOTONIC) +
				   (uint64_t)ctx->config.vet_timeout_sec * 1000000ULL;
		job_queue(p);
	}
}

/* A job of @uid running whose caller still waits: what a call waiting for
 * a slot of @uid (or, @any_uid, for any slot) may hope to follow. */
static bool live_job(const Context *ctx, uid_t uid, bool any_uid)
{
	for (const VetJob *j = ctx->vet_jobs; j; j = j->next)
		if (j->queued && j->counted && j->waiting && j->stage == VET_STAGE_VET &&
		    (any_uid || j->uid == uid))
			return true;
	return false;
}

/* Calls waiting for a slot of @uid. */
static uint32_t queued_calls(const Context *ctx, uid_t uid)
{
	uint32_t n = 0;

	for (const VetJob *j = ctx->vet_jobs; j; j = j->next)
		n += !j->queued && j->stage == VET_STAGE_VET && j->uid == uid;
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

/* A job that waits for a slot no longer gets one: answered with @name,
 * then dropped, or left to close its fd on a thread. */
static void job_drop_waiting(VetJob *j)
{
	if (j->close_on_thread) {
		j->stage = VET_STAGE_CLOSE;	/* waits for a slot to close its fd */
		return;
	}
	job_unlink(j);
	sd_bus_message_unref(j->message);
	sd_bus_error_free(&j->error);
	free(j);
}

static void fail_unbacked(Context *ctx)
{
	VetJob *j, *next;

	for (j = ctx->vet_jobs; j; j = next) {
		next = j->next;
		if (j->queued || j->stage != VET_STAGE_VET || may_wait(ctx, j->uid))
			continue;
		job_fail(j, DXM_ERROR_BUSY,
			 "the vetting threads of uid %u (or of everyone) are stuck in a file system; try again later",
			 (unsigned)j->uid);
		job_drop_waiting(j);
	}
}

/* Back on the loop: a stage's thread returned (or the job was cancelled
 * before it started). Answers the caller if it still waits, then moves
 * on. */
static void after_work(uv_work_t *w, int status)
{
	VetJob *j = container_of(w, VetJob, work);
	Context *ctx = j->ctx;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	if (status == UV_ECANCELED)
		j->r = -ECANCELED;
	if (j->stage == VET_STAGE_CLOSE || !j->waiting)
		;	/* answered already: deadline, session ended, stopping */
	else if (status == UV_ECANCELED)
		job_fail(j, DXM_ERROR_BUSY, "the broker is stopping");
	else if (!j->session)
		job_fail(j, DXM_ERROR_REVOKED, "session %" PRIu64 " ended while its file was vetted",
			 j->session_id);
	else {
		if (j->r < 0)
			r = sd_bus_error_copy(&error, &j->error);
		else
			r = j->done(j->session, j->message, j->fd, &j->req, &j->rep, &error);
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
	job_finish(j);
	arm_timer(ctx);
}

int vetting_start(Context *ctx)
{
	char n[16];
	int r;

	/* libuv reads it once, when the first work is queued: every thread
	 * the caps allow, plus one, so libuv's own users of the pool always
	 * find one free. */
	ctx->vet_threads = ctx->config.max_vetting + 1;
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
	ctx->vet_running = true;
	return 0;
}

int vetting_submit(Session *s, sd_bus_message *call, uid_t uid, int fd, bool close_on_thread,
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
		.ctx = ctx, .stage = VET_STAGE_VET, .counted = start,
		.close_on_thread = close_on_thread, .uid = uid,
		.message = sd_bus_message_ref(call), .fd = fd, .req = *req, .done = done,
		.session = s, .waiting = true, .session_id = s->id,
		.deadline_usec = now_usec(CLOCK_MONOTONIC) +
				 (uint64_t)ctx->config.vet_timeout_sec * 1000000ULL,
		.r = -EIO, .error = SD_BUS_ERROR_NULL,
	};
	job_link(ctx, j);
	if (start)
		job_queue(j);
	arm_timer(ctx);
	return 0;
}

void vetting_release(Context *ctx, sd_bus_message *call, uid_t uid, int fd)
{
	VetJob *j;

	if (!ctx->vet_running)
		return;		/* stopping: sd-bus closes nothing we still hold */
	j = calloc(1, sizeof(*j));
	if (!j) {
		/* Rather one fd kept than the loop stuck in a close(). */
		log_error("out of memory: a client's fd stays open");
		sd_bus_message_ref(call);
		return;
	}
	*j = (VetJob){
		.ctx = ctx, .stage = VET_STAGE_CLOSE, .close_on_thread = true, .uid = uid,
		.message = sd_bus_message_ref(call), .fd = fd, .error = SD_BUS_ERROR_NULL,
	};
	job_link(ctx, j);
	if (quota_vetting_check(&ctx->quota, uid, ctx->config.max_vetting_per_user,
				total_cap(ctx)) < 0 || quota_vetting_add(&ctx->quota, uid) < 0)
		return;		/* waits for a slot (job_finish) */
	j->counted = true;
	job_queue(j);
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
		if (!j->queued && j->stage == VET_STAGE_VET && ev == SESSION_EVENT_ENDING)
			job_drop_waiting(j);
	}
	fail_unbacked(ctx);
	arm_timer(ctx);
}

size_t vetting_stop(Context *ctx)
{
	size_t busy = 0;
	VetJob *j, *next;

	for (j = ctx->vet_jobs; j; j = next) {
		next = j->next;
		job_fail(j, DXM_ERROR_BUSY, "the broker is stopping");
		if (!j->queued) {
			/* Waiting for a slot: an fd that must be closed on a
			 * thread stays open, the process is ending. */
			job_unlink(j);
			if (!j->close_on_thread)
				sd_bus_message_unref(j->message);
			free(j);
			continue;
		}
		/* Not started yet: it never will be (its after-work callback
		 * runs with UV_ECANCELED). */
		if (uv_cancel((uv_req_t *)&j->work) < 0)
			busy++;
	}
	ctx->vet_running = false;
	if (ctx->vet_timer_init && !uv_is_closing((uv_handle_t *)&ctx->vet_timer))
		uv_close((uv_handle_t *)&ctx->vet_timer, NULL);
	return busy;
}
