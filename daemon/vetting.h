/* vetting.h - AttachFile's vetting off the loop: vet_call() on a thread of
 * libuv's pool, a deadline per call (in line, then on its thread), per-uid and
 * global caps on threads in use, the caller answered when the thread
 * returns, the deadline passes, the session ends or the daemon stops,
 * whichever comes first; and a bus filter that keeps every client fd
 * that reaches the broker until a thread of the pool (a budget of its
 * own) has dropped it, so no close() of a client's file ever runs on the
 * loop. */
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
 * so the fd) until its thread has returned; the fd is then dropped on a
 * thread by the bus filter's hold, whatever @close_on_thread says (kept
 * for session-dbus.c's call; ignored). The caller's pid is taken from the
 * bus here and pinned by a pidfd for the thread's mountinfo read. 0 when
 * queued (the method handler returns 1: the reply comes later); a
 * negative errno with @error set (Busy: a cap reached, or the daemon
 * stopping), and then nothing was taken. */
int vetting_submit(Session *s, sd_bus_message *call, uid_t uid, int fd,
		   const VetRequest *req, vet_done_fn done, sd_bus_error *error);

/* sd_bus_add_filter()'s callback (daemon.c installs it, userdata the
 * Context): for each incoming message that carries fds (found through
 * its 'h' arguments), keeps a reference until its handlers and any
 * vetting of its fds are done, then lets a thread put /dev/null in their
 * place (dup3(): the close of the client's file, FUSE's FLUSH, runs
 * there), then drops the message on the loop (which closes /dev/null).
 * Over MaxClientFds, a method call carrying fds is answered TooManyFiles
 * and not dispatched (its fds are still held and dropped the same way). */
int vetting_bus_filter(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* ctx->session_hook's listener: a session ending answers its calls being
 * vetted (Revoked) and leaves their threads to finish unobserved. */
void vetting_session_event(Session *s, SessionEvent ev);

/* Shutdown: no new jobs; every caller still waiting is answered (Busy),
 * the deadline timer and the check handle closed, jobs not started
 * cancelled. Threads still in a file system are not waited for, and
 * clients' fds not yet dropped stay open (held messages are not freed):
 * the process's exit closes them, after the daemon gave up its bus name
 * and the control node (daemon.c). Returns how many threads are still
 * busy. */
size_t vetting_stop(Context *ctx);

/* Threads of the pool still busy with a job or a close. */
size_t vetting_busy(const Context *ctx);

#endif
