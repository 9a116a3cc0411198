/* vetting.c - AttachFile's vetting on libuv's thread pool. The loop never
 * calls into a client's file system: vet_file() runs in uv_queue_work()'s
 * work callback, its result comes back in the after-work callback. A job
 * outlives its caller: at the deadline the caller gets Timeout and the job
 * is abandoned, but it stays counted against its uid's and the global cap
 * (quota.c) and keeps its fd until its thread returns, so a uid whose
 * files never answer holds at most MaxVettingPerUser threads and nothing
 * else grows per call. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-contract.h"
#include "log.h"
#include "quota.h"
#include "session.h"
#include "util.h"
#include "vetting.h"

struct VetJob {
	uv_work_t work;
	Context *ctx;
	VetJob *prev, *next;		/* ctx->vet_jobs: until the thread returns */
	uid_t uid;			/* counted in ctx->quota's vetting */
	int fd;				/* our dup of the caller's fd */
	VetRequest req;
	vet_done_fn done;
	/* Owned by the loop: NULL once answered or ended. */
	Session *session;
	sd_bus_message *call;		/* AttachFile, still to be answered */
	uint64_t session_id;		/* for messages once the session is gone */
	uint64_t deadline_usec;		/* CLOCK_MONOTONIC */
	/* Written by the thread, read by the loop after it returned. */
	int r;
	VetReport rep;
	sd_bus_error error;
};

static void job_unlink(VetJob *j)
{
	Context *ctx = j->ctx;

	if (j->prev)
		j->prev->next = j->next;
	else
		ctx->vet_jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
}

static void job_free(VetJob *j)
{
	safe_close(j->fd);
	sd_bus_message_unref(j->call);
	sd_bus_error_free(&j->error);
	free(j);
}

/* Answers the caller with an error and forgets it; the job lives on. */
__attribute__((format(printf, 3, 4)))
static void job_fail(VetJob *j, const char *name, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	if (!j->call)
		return;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	r = sd_bus_reply_method_errorf(j->call, name, "%s", r < 0 ? "(out of memory)" : msg);
	if (r < 0)
		log_debug_errno(r, "session %" PRIu64 ": answering AttachFile: %m", j->session_id);
	j->call = sd_bus_message_unref(j->call);
	j->session = NULL;
}

static void on_deadline(uv_timer_t *t);

/* The timer for the earliest deadline of a caller still waiting. */
static void arm_timer(Context *ctx)
{
	uint64_t next = UINT64_MAX, now;

	if (!ctx->vet_running)
		return;
	for (VetJob *j = ctx->vet_jobs; j; j = j->next)
		if (j->call && j->deadline_usec < next)
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
		if (!j->call || j->deadline_usec > now)
			continue;
		log_warning("session %" PRIu64 ": vetting a file of uid %u took more than %u s: "
			    "Timeout; its thread stays busy until the file system answers",
			    j->session_id, (unsigned)j->uid, ctx->config.vet_timeout_sec);
		job_fail(j, DXM_ERROR_TIMEOUT,
			 "vetting the file took more than %u s (VetTimeoutSec): its file system does not answer",
			 ctx->config.vet_timeout_sec);
	}
	arm_timer(ctx);
}

/* On a thread of the pool: the only place a client's file system is
 * called. Touches nothing of the loop's but the job and the locked
 * cache. */
static void work(uv_work_t *w)
{
	VetJob *j = container_of(w, VetJob, work);

	j->r = vet_file(&j->ctx->vet_cache, j->fd, j->req.offset, j->req.length, j->req.write,
			j->req.pagecache, &j->rep, &j->error);
}

/* Back on the loop: the thread returned (or the job was cancelled before
 * it started). Answers the caller if it still waits, then frees. */
static void after_work(uv_work_t *w, int status)
{
	VetJob *j = container_of(w, VetJob, work);
	Context *ctx = j->ctx;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	job_unlink(j);
	if (quota_vetting_remove(&ctx->quota, j->uid) < 0)
		log_error("vetting accounting of uid %u is off", (unsigned)j->uid);
	if (!j->call)
		;	/* answered already: deadline, session ended, stopping */
	else if (status == UV_ECANCELED)
		job_fail(j, DXM_ERROR_BUSY, "the broker is stopping");
	else if (!j->session)
		job_fail(j, DXM_ERROR_REVOKED, "session %" PRIu64 " ended while its file was vetted",
			 j->session_id);
	else if (j->r < 0) {
		r = sd_bus_reply_method_error(j->call, &j->error);
		if (r < 0)
			log_debug_errno(r, "session %" PRIu64 ": answering AttachFile: %m",
					j->session_id);
	} else {
		r = j->done(j->session, j->call, j->fd, &j->req, &j->rep, &error);
		if (r < 0) {
			if (!sd_bus_error_is_set(&error))
				sd_bus_error_set_errno(&error, r);
			r = sd_bus_reply_method_error(j->call, &error);
			if (r < 0)
				log_debug_errno(r, "session %" PRIu64 ": answering AttachFile: %m",
						j->session_id);
		}
	}
	sd_bus_error_free(&error);
	job_free(j);
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
	r = uv_timer_init(&ctx->loop, &ctx->vet_timer);
	if (r < 0)
		return log_error("uv_timer_init: %s", uv_strerror(r));
	ctx->vet_timer_init = true;
	ctx->vet_running = true;
	return 0;
}

int vetting_submit(Session *s, sd_bus_message *call, uid_t uid, int fd, const VetRequest *req,
		   vet_done_fn done, sd_bus_error *error)
{
	Context *ctx = s->ctx;
	uint32_t total = ctx->config.max_vetting;
	_cleanup_free_ VetJob *j = NULL;
	int r;

	if (!ctx->vet_running)
		return sd_bus_error_setf(error, DXM_ERROR_BUSY, "the broker is not vetting files now (stopping)");
	/* A reload cannot grow the pool: its size was fixed at start. */
	if (total > ctx->vet_threads - 1)
		total = ctx->vet_threads - 1;
	r = quota_vetting_check(&ctx->quota, uid, ctx->config.max_vetting_per_user, total);
	if (r == -EUSERS)
		return sd_bus_error_setf(error, DXM_ERROR_BUSY,
					 "uid %u has %u files being vetted (MaxVettingPerUser=%u); try again later",
					 (unsigned)uid, quota_vetting(&ctx->quota, uid),
					 ctx->config.max_vetting_per_user);
	if (r < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BUSY,
					 "%u files are being vetted (MaxVetting=%u); try again later",
					 ctx->quota.vetting, total);

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	*j = (VetJob){
		.ctx = ctx, .uid = uid, .req = *req, .done = done, .session = s,
		.session_id = s->id, .error = SD_BUS_ERROR_NULL, .r = -EIO,
		.deadline_usec = now_usec(CLOCK_MONOTONIC) +
				 (uint64_t)ctx->config.vet_timeout_sec * 1000000ULL,
	};
	/* Our own fd: the message's closes with it, and the thread may still
	 * use the file long after the caller got its Timeout. */
	j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (j->fd < 0)
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "cannot duplicate the fd: %s",
					 strerror(errno));
	r = quota_vetting_add(&ctx->quota, uid);
	if (r < 0) {
		safe_close(j->fd);
		return r;
	}
	r = uv_queue_work(&ctx->loop, &j->work, work, after_work);
	if (r < 0) {
		quota_vetting_remove(&ctx->quota, uid);
		safe_close(j->fd);
		return sd_bus_error_setf(error, DXM_ERROR_BUSY, "cannot queue the vetting: %s",
					 uv_strerror(r));
	}
	j->call = sd_bus_message_ref(call);
	j->next = ctx->vet_jobs;
	if (j->next)
		j->next->prev = j;
	ctx->vet_jobs = TAKE_PTR(j);
	arm_timer(ctx);
	return 0;
}

void vetting_session_event(Session *s, SessionEvent ev)
{
	Context *ctx = s->ctx;

	if (ev != SESSION_EVENT_ENDING && ev != SESSION_EVENT_DROPPED)
		return;
	for (VetJob *j = ctx->vet_jobs; j; j = j->next) {
		if (j->session != s)
			continue;
		if (ev == SESSION_EVENT_ENDING)
			job_fail(j, DXM_ERROR_REVOKED,
				 "session %" PRIu64 " ended while its file was vetted", s->id);
		j->session = NULL;
	}
	arm_timer(ctx);
}

size_t vetting_stop(Context *ctx)
{
	size_t busy = 0;

	for (VetJob *j = ctx->vet_jobs; j; j = j->next) {
		job_fail(j, DXM_ERROR_BUSY, "the broker is stopping");
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
