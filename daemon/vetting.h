/* vetting.h - AttachFile's vetting off the loop: vet_file() on a thread of
 * libuv's pool, a deadline per call, per-uid and global caps on threads
 * in use, the caller answered when the thread returns, the deadline
 * passes, the session ends or the daemon stops, whichever comes first;
 * and the closing of a caller's fd that may wait on a server, on a thread
 * as well. */
#ifndef DAXMIRRORD_VETTING_H
#define DAXMIRRORD_VETTING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "context.h"
#include "vet.h"

/* What AttachFile asked for, carried to the thread and back. */
typedef struct VetRequest {
	uint64_t offset, length;
	bool write, pagecache;
} VetRequest;

/* Called on the loop when @s's file passed vetting before the deadline,
 * with the call to answer, the file (the job's own fd, closed after the
 * call) and the report. Returns like a method handler: >= 0 once it has
 * replied; < 0 (with @error set, or an errno) and vetting.c sends the
 * error. */
typedef int (*vet_done_fn)(Session *s, sd_bus_message *call, int fd, const VetRequest *req,
			   const VetReport *rep, sd_bus_error *error);

/* Before the loop runs and before anything else queues work: sizes
 * libuv's thread pool (UV_THREADPOOL_SIZE = MaxVetting + 1, read by libuv
 * once, at its first uv_queue_work) and starts accepting jobs. 0 or
 * -errno. */
int vetting_start(Context *ctx);

/* Queues the vetting of @fd, an fd of @call, for @s, answered later
 * through @done or with an error. The job keeps a reference to @call (and
 * so the fd) until its thread has returned; with @close_on_thread
 * (vet_close_needs_thread()) the fd is then closed on a thread too. 0 when
 * queued (the method handler returns 1: the reply comes later); a
 * negative errno with @error set (Busy: a cap reached, or the daemon
 * stopping), and then nothing was taken. */
int vetting_submit(Session *s, sd_bus_message *call, uid_t uid, int fd, bool close_on_thread,
		   const VetRequest *req, vet_done_fn done, sd_bus_error *error);

/* For a @call already answered whose @fd must not be closed on the loop
 * (vet_close_needs_thread()): keeps a reference to @call until a thread
 * of the pool has closed @fd (put /dev/null in its place), within @uid's
 * caps: while they are full the job waits its turn. */
void vetting_release(Context *ctx, sd_bus_message *call, uid_t uid, int fd);

/* ctx->session_hook's listener: a session ending answers its calls being
 * vetted (Revoked) and leaves their threads to finish unobserved. */
void vetting_session_event(Session *s, SessionEvent ev);

/* Shutdown: no new jobs; every caller still waiting is answered (Busy),
 * the deadline timer closed. Threads still in a file system are not
 * waited for, and fds that would need a thread to close stay open (the
 * process is ending). Returns how many threads are still busy. */
size_t vetting_stop(Context *ctx);

#endif
