/* quota.h - per-uid accounting of sessions, attached bytes and files
 * being vetted (AttachFile calls on the thread pool). Pure
 * arithmetic over a small table, host-tested. */
#ifndef DAXMIRRORD_QUOTA_H
#define DAXMIRRORD_QUOTA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct QuotaEntry {
	uid_t uid;
	uint32_t sessions;
	uint64_t bytes;
	uint32_t vetting;	/* vetting threads busy for this uid */
} QuotaEntry;

/* Entries exist only while a uid has sessions, bytes or vetting. */
typedef struct Quota {
	QuotaEntry *entries;
	size_t n, capacity;
	uint32_t vetting;	/* vetting threads busy, all uids */
} Quota;

#define QUOTA_NULL { NULL, 0, 0, 0 }

void quota_done(Quota *q);

uint32_t quota_sessions(const Quota *q, uid_t uid);
uint64_t quota_bytes(const Quota *q, uid_t uid);

/* 0 if one more session of @uid stays within @max, else -EDQUOT. */
int quota_session_check(const Quota *q, uid_t uid, uint32_t max);
/* 0, -ENOMEM, or -EOVERFLOW. */
int quota_session_add(Quota *q, uid_t uid);
/* -ENOENT if @uid has no session (nothing changed). */
int quota_session_remove(Quota *q, uid_t uid);

/* 0 if @bytes more for @uid stay within @max, else -EDQUOT (also when the
 * sum would overflow). */
int quota_bytes_check(const Quota *q, uid_t uid, uint64_t bytes, uint64_t max);
/* Bytes @uid may still add under @max (0 if over). */
uint64_t quota_bytes_left(const Quota *q, uid_t uid, uint64_t max);
/* 0, -ENOMEM, or -EOVERFLOW. */
int quota_bytes_add(Quota *q, uid_t uid, uint64_t bytes);
/* -ERANGE if @uid holds fewer than @bytes (then its count drops to 0). */
int quota_bytes_remove(Quota *q, uid_t uid, uint64_t bytes);

/* Vetting in flight: a thread of the pool is busy with a file of @uid
 * from quota_vetting_add() until quota_vetting_remove(), which comes when
 * the thread returns, not when the caller got its answer (a deadline). 0
 * if one more stays within @per_uid for @uid and @total for everyone,
 * -EUSERS if @uid is at @per_uid, -EBUSY if everyone is at @total. */
int quota_vetting_check(const Quota *q, uid_t uid, uint32_t per_uid, uint32_t total);
uint32_t quota_vetting(const Quota *q, uid_t uid);
/* 0 or -ENOMEM. */
int quota_vetting_add(Quota *q, uid_t uid);
/* -ENOENT if @uid has nothing in flight (nothing changed). */
int quota_vetting_remove(Quota *q, uid_t uid);

#endif
