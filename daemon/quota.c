/* quota.c - per-uid session, byte and vetting counters; an entry is
 * created on the first add and dropped when its counters are back to zero. */
#include <errno.h>
#include <stdlib.h>

#include "quota.h"

void quota_done(Quota *q)
{
	free(q->entries);
	*q = (Quota)QUOTA_NULL;
}

static QuotaEntry *quota_find(const Quota *q, uid_t uid)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->entries[i].uid == uid)
			return &q->entries[i];
	return NULL;
}

static QuotaEntry *quota_get(Quota *q, uid_t uid)
{
	QuotaEntry *e = quota_find(q, uid);

	if (e)
		return e;
	if (q->n == q->capacity) {
		size_t cap = q->capacity ? q->capacity * 2 : 8;
		QuotaEntry *n = reallocarray(q->entries, cap, sizeof(*n));

		if (!n)
			return NULL;
		q->entries = n;
		q->capacity = cap;
	}
	e = &q->entries[q->n++];
	*e = (QuotaEntry){ .uid = uid };
	return e;
}

static void quota_gc(Quota *q, QuotaEntry *e)
{
	if (e->sessions || e->bytes || e->vetting)
		return;
	*e = q->entries[--q->n];
}

uint32_t quota_sessions(const Quota *q, uid_t uid)
{
	const QuotaEntry *e = quota_find(q, uid);

	return e ? e->sessions : 0;
}

uint64_t quota_bytes(const Quota *q, uid_t uid)
{
	const QuotaEntry *e = quota_find(q, uid);

	return e ? e->bytes : 0;
}

int quota_session_check(const Quota *q, uid_t uid, uint32_t max)
{
	return quota_sessions(q, uid) < max ? 0 : -EDQUOT;
}

int quota_session_add(Quota *q, uid_t uid)
{
	QuotaEntry *e = quota_get(q, uid);

	if (!e)
		return -ENOMEM;
	if (e->sessions == UINT32_MAX)
		return -EOVERFLOW;
	e->sessions++;
	return 0;
}

int quota_session_remove(Quota *q, uid_t uid)
{
	QuotaEntry *e = quota_find(q, uid);

	if (!e || e->sessions == 0)
		return -ENOENT;
	e->sessions--;
	quota_gc(q, e);
	return 0;
}

int quota_bytes_check(const Quota *q, uid_t uid, uint64_t bytes, uint64_t max)
{
	return bytes <= quota_bytes_left(q, uid, max) ? 0 : -EDQUOT;
}

uint64_t quota_bytes_left(const Quota *q, uid_t uid, uint64_t max)
{
	uint64_t used = quota_bytes(q, uid);

	return used >= max ? 0 : max - used;
}

int quota_bytes_add(Quota *q, uid_t uid, uint64_t bytes)
{
	QuotaEntry *e;

	if (bytes == 0)
		return 0;
	e = quota_get(q, uid);
	if (!e)
		return -ENOMEM;
	if (e->bytes > UINT64_MAX - bytes) {
		quota_gc(q, e);
		return -EOVERFLOW;
	}
	e->bytes += bytes;
	return 0;
}

int quota_bytes_remove(Quota *q, uid_t uid, uint64_t bytes)
{
	QuotaEntry *e = quota_find(q, uid);
	int r = 0;

	if (bytes == 0)
		return 0;
	if (!e)
		return -ERANGE;
	if (e->bytes < bytes) {
		e->bytes = 0;
		r = -ERANGE;
	} else {
		e->bytes -= bytes;
	}
	quota_gc(q, e);
	return r;
}

uint32_t quota_vetting(const Quota *q, uid_t uid)
{
	const QuotaEntry *e = quota_find(q, uid);

	return e ? e->vetting : 0;
}

int quota_vetting_check(const Quota *q, uid_t uid, uint32_t per_uid, uint32_t total)
{
	if (quota_vetting(q, uid) >= per_uid)
		return -EUSERS;
	if (q->vetting >= total)
		return -EBUSY;
	return 0;
}

int quota_vetting_add(Quota *q, uid_t uid)
{
	QuotaEntry *e = quota_get(q, uid);

	if (!e)
		return -ENOMEM;
	e->vetting++;
	q->vetting++;
	return 0;
}

int quota_vetting_remove(Quota *q, uid_t uid)
{
	QuotaEntry *e = quota_find(q, uid);

	if (!e || e->vetting == 0)
		return -ENOENT;
	e->vetting--;
	q->vetting--;
	quota_gc(q, e);
	return 0;
}
