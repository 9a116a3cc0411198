/* context.h - the one struct that holds all of daxmirrord's state; every
 * callback finds it from its handle (container_of) or its userdata. */
#ifndef DAXMIRRORD_CONTEXT_H
#define DAXMIRRORD_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <uv.h>

#include "config.h"
#include "quota.h"
#include "vet.h"

#define DM_BUS_NAME		"org.daxmirror1"
#define DM_OBJECT_ROOT		"/org/daxmirror1"
#define DM_SESSION_PREFIX	"/org/daxmirror1/session"
#define DM_MANAGER_IFACE	"org.daxmirror1.Manager"
#define DM_SESSION_IFACE	"org.daxmirror1.Session"

typedef struct Session Session;

/* What session.c tells the fd store (fdstore.c) through Context.session_hook. */
typedef enum SessionEvent {
	SESSION_EVENT_ADDED,	/* opened or taken back, announced */
	SESSION_EVENT_CHANGED,	/* its state record changed (AttachFile) */
	SESSION_EVENT_REMOVED,	/* ending: its fds leave the store */
} SessionEvent;

typedef struct Context {
	uv_loop_t loop;
	int exit_status;		/* of main(), set by who stops the loop */

	/* Options. */
	const char *version;		/* Manager.Version */
	const char *bus_address;	/* NULL: the system bus */
	const char *config_path;
	const char *control_path;

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

	/* The control node (kernel.c); -1 when the module is missing. */
	int control_fd;
	uv_poll_t control_poll;
	bool control_poll_init;
	uint32_t module_version;	/* Manager.ModuleVersion, 0 if missing */

	/* Sessions (session.c), ordered by kernel id. */
	Session *sessions_head, *sessions_tail;
	uint32_t session_count;		/* Manager.SessionCount */
	uint32_t mirror_count;		/* Manager.MirrorCount */
	uint64_t mirrored_bytes;	/* Manager.MirroredBytes */
	Quota quota;
	VetCache vet_cache;		/* AttachFile's per-device answers */
	uv_timer_t refresh_timer;	/* counters, at most once a second */
	/* Keeps systemd's fd store in step with the sessions (fdstore.c;
	 * NULL: no fd store, as in the fuzz harnesses). */
	void (*session_hook)(Session *s, SessionEvent ev);
	bool fdstore;			/* $NOTIFY_SOCKET: FDSTORE=1 is sent */

	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t watchdog_timer;
	char last_status[128];		/* last STATUS= sent */
} Context;

/* Stops the loop; main() then returns @status. */
void context_exit(Context *ctx, int status);
/* Sends STATUS= if the session or mirror count changed. */
void context_update_status(Context *ctx);

#endif
