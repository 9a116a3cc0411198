/* state.h - the state record of one session, as kept in systemd's fd store
 * (a sealed memfd named "state-ID-GEN") so a restarted daxmirrord gets back
 * what the kernel cannot tell it: the owner's bus name, the opener's uid
 * and pid, the options, the attached files and the bytes they charge to
 * the uid's quota. A small versioned text format; the serializer and the
 * strict parser are pure functions over a buffer (host-tested, fuzzable).
 * Also the fd-store names "session-ID" and "state-ID-GEN". */
#ifndef DAXMIRRORD_STATE_H
#define DAXMIRRORD_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "session.h"

#define STATE_MAGIC		"daxmirrord-session-state"
#define STATE_VERSION		2	/* 1 is read too */
/* Largest record read back (64 files of PATH_MAX escaped paths fit). */
#define STATE_MAX_SIZE		(1024 * 1024)
#define STATE_MAX_FILES		DAXMIRROR_MAX_GRANTS

typedef struct SessionRecord {
	uint64_t id;
	uid_t uid;
	pid_t open_pid;
	char *owner;		/* unique bus name ":1.42", never NULL once parsed */
	uint64_t created_usec;
	SessionOptions options;
	SessionFile *files;
	size_t n_files;
	uint64_t attached_bytes;	/* the sum of the files' lengths */
} SessionRecord;

void session_record_done(SessionRecord *r);

/* Writes @r as text into a malloc()ed *@text of *@size bytes (no NUL
 * counted). 0, -ENOMEM, or -EINVAL if @r could not be parsed back
 * (no owner, a bad owner name, too many files, a wrong byte sum). */
int session_record_format(const SessionRecord *r, char **text, size_t *size);

/* Parses @size bytes of @text (need not be NUL-terminated) into *@r,
 * which is overwritten. 0, -ENOMEM, or -EBADMSG for anything malformed:
 * wrong magic or version, a missing, repeated, unknown or empty field, a
 * non-canonical number, a bad owner name, a bad escape, more than
 * STATE_MAX_FILES files, attached bytes that are not the files' sum. On
 * error *@r holds nothing to free. */
int session_record_parse(SessionRecord *r, const char *text, size_t size);

/* fd-store names. Buffers of STATE_NAME_MAX. */
#define STATE_NAME_MAX		64
void state_name_session(char *buf, uint64_t id);
void state_name_record(char *buf, uint64_t id, uint64_t gen);

typedef enum StateNameKind {
	STATE_NAME_INVALID,
	STATE_NAME_SESSION,	/* session-ID */
	STATE_NAME_RECORD,	/* state-ID-GEN */
} StateNameKind;

/* What @name is: its id (and gen for a record) in *@id, *@gen. Numbers
 * must be canonical decimal, ids and gens non-zero. */
StateNameKind state_name_parse(const char *name, uint64_t *id, uint64_t *gen);

#endif
