/* session.h - one broker session: the kernel session the daemon created
 * for a client, its bus object /org/daxmirror1/session/ID, its owner and
 * what the daemon knows of it; its lifetime (session.c). Its bus face is
 * session-dbus.h. */
#ifndef DAXMIRRORD_SESSION_H
#define DAXMIRRORD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "daxmirror.h"
#include "context.h"

/* Why a session ends; decides whether the kernel session is revoked and
 * whether Session.Revoked is emitted. */
typedef enum SessionEnd {
	SESSION_END_CLOSE,	/* Close() by the owner or root: revoke */
	SESSION_END_REVOKE,	/* admin revoke: revoke, emit Revoked */
	SESSION_END_DISCONNECT,	/* the owner left the bus: revoke */
	SESSION_END_MM_GONE,	/* the bound process exited: revoke */
	SESSION_END_KERNEL_REVOKED, /* revoked by someone else: emit Revoked */
	SESSION_END_KERNEL_GONE, /* the kernel no longer has it */
	SESSION_END_ERROR,	/* could not be set up: revoke, no signals */
} SessionEnd;

typedef struct SessionFile {
	char *path;		/* readlink of /proc/self/fd/N when attached */
	uint64_t offset;
	uint64_t length;
	bool write;
	uint64_t dev, ino;	/* st_dev, st_ino: what UNGRANT names (0, 0:
				 * attached by a daemon that did not record
				 * them, and cannot be detached) */
	uint64_t grant;		/* its id on the bus (AttachFile's "Grant",
				 * DetachFile), per session, kept in the
				 * fd-store record over a restart */
} SessionFile;

/* Options of OpenSession, validated. */
typedef struct SessionOptions {
	bool write;
	bool pagecache;
	bool anonymous;
	uint32_t max_mirrors;
	uint64_t max_bytes;
} SessionOptions;

struct Session {
	Context *ctx;
	Session *prev, *next;		/* ctx->sessions_*, by id */
	uint64_t id;			/* kernel session id */
	int fd;				/* the broker's copy of the session fd */
	char path[64];			/* DXM_SESSION_PREFIX "/ID" */
	uid_t uid;			/* owner (caller of OpenSession) */
	pid_t open_pid;			/* caller's pid at OpenSession */
	char *owner;			/* owner's unique bus name; its
					 * NameOwnerChanged ends the session */
	uint64_t created_usec;		/* CLOCK_REALTIME */
	SessionOptions options;
	SessionFile *files;
	size_t n_files;
	uint64_t next_grant;		/* the next SessionFile.grant */
	uint64_t attached_bytes;	/* charged to the uid's quota */
	struct daxmirror_session_info info;	/* cached SESSION_INFO */
	struct daxmirror_mirror_info *mirrors;	/* cached MIRROR_LIST */
	size_t n_mirrors;
	uint64_t refreshed_ms;		/* uv_now() of the last re-read */
	bool change_pending;		/* a SESSION_CHANGED waits for
					 * ctx->change_timer */
	/* What the getters read for the bus message ctx->bus_msg_seq
	 * (session-dbus.c). */
	uint64_t now_seq, now_mirrors_seq;
	struct daxmirror_session_info now;
	struct daxmirror_mirror_info *now_mirrors;
	size_t n_now_mirrors;
	bool ending;			/* session_end() runs */
	SessionEnd end;			/* why, once ending */
	/* What session_end() undoes. */
	bool charged;			/* one session counted in ctx->quota */
	bool linked;			/* in ctx->sessions_* */
	bool announced;			/* InterfacesAdded sent */
	bool in_kernel;			/* the kernel session exists: revoke it */
	/* systemd's fd store (fdstore.c): the fd is there as "session-ID",
	 * the state record as "state-ID-GEN" (0: none). */
	bool stored;
	uint64_t state_gen;
	bool adopted;			/* taken back at start, not opened */
	struct RevokeRequest *revoke;	/* pending graceful revoke (revoke.c) */
};

/* The uid of a session whose owner is unknown (rediscovered, never bound). */
#define UID_UNKNOWN ((uid_t)-1)

/* What a restarted daemon knows of a session it takes back (fdstore.c). */
typedef struct SessionAdoption {
	uint64_t id;
	int fd;			/* from the fd store, or -1 (rediscovered) */
	uid_t uid;
	pid_t open_pid;
	char *owner;		/* NULL: unknown (ended by kernel events only) */
	uint64_t created_usec;	/* 0: unknown */
	SessionOptions options;
	SessionFile *files;
	size_t n_files;
	uint64_t attached_bytes;	/* charged to the uid's quota */
	bool stored;
	uint64_t state_gen;
} SessionAdoption;

/* Creates a kernel session for the caller of @m and its object; on
 * success *@ret is live (tracked, its object found on the bus) but not
 * yet announced: the caller answers @m first, then session_publish(). */
int session_open(Context *ctx, sd_bus_message *m, uid_t uid, pid_t pid,
		 const SessionOptions *o, Session **ret, sd_bus_error *error);
/* Announces an opened @s: InterfacesAdded, SessionCount. */
void session_publish(Session *s);

/* Takes back a kernel session at start: a Session from @a and @info (its
 * SESSION_INFO), charged to the uid's quota (even over the limits: it
 * exists), linked and announced (InterfacesAdded). On success it owns
 * @a's fd, owner and files (set to -1/NULL in @a); on error @a is
 * untouched. */
int session_adopt(Context *ctx, SessionAdoption *a,
		  const struct daxmirror_session_info *info, Session **ret);

Session *session_by_id(Context *ctx, uint64_t id);
/* NULL unless @path is DXM_SESSION_PREFIX "/ID" of a live session. */
Session *session_by_path(Context *ctx, const char *path);

/* Removes @s: revoke in the kernel (per @why), SESSION_EVENT_ENDING to
 * the hook, signals, object removed, quota released, fd closed, freed.
 * Safe against re-entry. */
void session_end(Session *s, SessionEnd why);
/* session_end() for a method call @call that ends @s (Close, Revoke,
 * AcknowledgeRevoke): its empty answer goes out once the session is
 * gone from the kernel, before the signals announcing it. What
 * sd_bus_reply_method_return() returned (sent at once if @s was
 * ending already). */
int session_end_answer(Session *s, SessionEnd why, sd_bus_message *call);

/* PID shown for @s: the binder's (kernel) once bound, else the opener's. */
pid_t session_pid(const Session *s);
/* "new", "bound", "mm-gone", "revoked". */
const char *session_state_name(uint32_t state);

/* Recomputes MirrorCount and MirroredBytes from the sessions' cached
 * kernel info; emits PropertiesChanged for what changed. */
void sessions_update_totals(Context *ctx);
/* An event of the control node (kernel_watch()'s callback): ends the
 * session the kernel revoked, closed or lost the process of; resyncs
 * after an overflow. */
void sessions_kernel_event(Context *ctx, const struct daxmirror_event *ev);
/* Re-reads counters and mirrors of every session from the kernel, emits
 * PropertiesChanged where they changed, ends sessions the kernel dropped. */
void sessions_refresh(Context *ctx);
/* After lost events: drops sessions the kernel no longer lists, refreshes. */
void sessions_resync(Context *ctx);
/* Shutdown: frees every session without revoking it. */
void sessions_free_all(Context *ctx);
/* Starts or stops the refresh timer as sessions come and go. */
void sessions_schedule_refresh(Context *ctx);

#endif
