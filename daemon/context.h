/* context.h - the one struct that holds all of daxmirrord's state; every
 * callback finds it from its handle (container_of) or its userdata. Plus
 * the few helpers on the daemon-wide state itself (context.c). */
#ifndef DAXMIRRORD_CONTEXT_H
#define DAXMIRRORD_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <uv.h>

#include "bus-contract.h"
#include "caller.h"
#include "config.h"
#include "kernel.h"
#include "quota.h"
#include "vet.h"

typedef struct Session Session;
typedef struct VetJob VetJob;
typedef struct VetHold VetHold;

/* What session.c tells its listeners (the fd store, graceful revoke)
 * through Context.session_hook. */
typedef enum SessionEvent {
	SESSION_EVENT_ADDED,	/* opened, announced */
	SESSION_EVENT_CHANGED,	/* its state record changed (AttachFile) */
	SESSION_EVENT_ENDING,	/* session_end(), s->end says why: its fds
				 * leave the store, its revoke is answered */
	SESSION_EVENT_DROPPED,	/* freed without ending (shutdown) */
} SessionEvent;

typedef struct Context {
	uv_loop_t loop;
	int exit_status;		/* of main(), set by who stops the loop */

	/* Options. */
	const char *version;		/* Manager.Version */
	const char *bus_address;	/* NULL: the system bus */
	const char *config_path;

	/* Configuration, replaced as a whole on reload. */
	Config config;

	/* The bus and its glue to the loop (bus.c). */
	sd_bus *bus;
	uv_poll_t bus_poll;		/* sd_bus_get_fd() */
	uv_timer_t bus_timer;		/* sd_bus_get_timeout() */
	uv_prepare_t bus_prepare;	/* re-arms both before every poll */
	bool bus_poll_init;
	int bus_poll_events;		/* UV_* events bus_poll watches */
	sd_bus_slot *manager_slot, *session_slot, *enumerator_slot,
		    *object_manager_slot, *owner_match_slot;
	CallerCache callers;		/* uid and pid per sender (caller.c) */

	/* The control node (kernel.c); kernel.fd -1 when the module is
	 * missing. */
	Kernel kernel;

	/* Sessions (session.c), ordered by kernel id. */
	Session *sessions_head, *sessions_tail;
	uint32_t session_count;		/* Manager.SessionCount */
	uint32_t mirror_count;		/* Manager.MirrorCount */
	uint64_t mirrored_bytes;	/* Manager.MirroredBytes */
	Quota quota;
	VetCache vet_cache;		/* AttachFile's per-device answers,
					 * shared by the vetting threads */
	/* AttachFile's vetting on the thread pool (vetting.c). */
	VetJob *vet_jobs;		/* every job whose thread has not returned */
	uv_timer_t vet_timer;		/* the earliest deadline of a waiting caller */
	bool vet_timer_init;
	bool vet_running;		/* new jobs accepted (false once stopping) */
	uint32_t vet_threads;		/* UV_THREADPOOL_SIZE, fixed at start */
	uint32_t vet_close_threads;	/* of which for closes (MaxClosing at start) */
	int vet_null_fd;		/* /dev/null, put in place of fds closed on a thread */
	/* Clients' fds (vetting.c's bus filter): every message that carries
	 * fds is kept until a thread has put /dev/null in their place. */
	VetHold *vet_holds;		/* in arrival order */
	uint32_t vet_held_fds;		/* fds of vet_holds (MaxClientFds) */
	sd_bus_slot *vet_filter_slot;
	uv_check_t vet_check;		/* after dispatch: a message's handlers are done */
	bool vet_check_init;
	/* The vetting a thread runs: vet_call(), or a test's fake (NULL:
	 * vet_call()). */
	vet_call_fn vet;
	uv_timer_t refresh_timer;	/* the poll of a module without
					 * SESSION_CHANGED, once a second */
	uv_timer_t change_timer;	/* re-reads sessions whose changes came
					 * too fast (session.c) */
	uint64_t bus_msg_seq;		/* bumped per bus message dispatched:
					 * getters read the module once per
					 * session per message */
	/* Told of sessions coming, changing and going (daemon.c sets it:
	 * fdstore.c and revoke.c listen; NULL in the fuzz harnesses). */
	void (*session_hook)(Session *s, SessionEvent ev);
	bool fdstore;			/* $NOTIFY_SOCKET: FDSTORE=1 is sent */

	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t watchdog_timer;
	uv_timer_t trim_timer;		/* malloc_trim() once idle (trim.c) */
	bool trim_timer_init;
	char last_status[128];		/* last STATUS= sent */
} Context;

/* Stops the loop; the daemon then returns @status. */
void context_exit(Context *ctx, int status);
/* Sends STATUS= if the session or mirror count changed. */
void context_update_status(Context *ctx);
/* PropertiesChanged of the Manager object for one of its properties
 * (they are the context's fields). */
void context_emit_changed(Context *ctx, const char *property);

#endif
