/* caller.c - the credentials of a message's sender, cached per unique
 * name. Every call of a client (OpenSession, AttachFile, Close, ...)
 * needs its uid, and on dbus-daemon each lookup is a synchronous
 * GetConnectionCredentials round trip to the bus, on the loop: AttachFile
 * alone made four (the fd filter, the handler, the pid pinned for the
 * vetting thread and its re-check). The answer is fixed for the life of
 * the connection (dbus-daemon records the peer's credentials when it
 * connects; unique names are not reused), so it is asked once per
 * connection and dropped when the session-dbus.c match sees the name
 * leave. A separate file from bus.c: the fuzz harnesses replace
 * bus_caller() at link time (--wrap), which only reaches calls from
 * other objects. */
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "caller.h"
#include "util.h"

/* The entry of @name, or with "" an empty one; NULL if none. */
static CallerEntry *find(CallerCache *c, const char *name)
{
	for (size_t i = 0; i < CALLER_CACHE_SIZE; i++)
		if (streq(c->entries[i].name, name))
			return &c->entries[i];
	return NULL;
}

int caller_get(CallerCache *c, sd_bus_message *m, uid_t *uid, pid_t *pid, sd_bus_error *error)
{
	const char *sender = sd_bus_message_get_sender(m);
	CallerEntry *e;
	pid_t p = 0;
	int r;

	if (!sender || sender[0] != ':' || strlen(sender) >= CALLER_NAME_MAX)
		return bus_caller(m, uid, pid, error);
	e = find(c, sender);
	if (!e) {
		r = bus_caller(m, uid, &p, error);
		if (r < 0)
			return r;	/* not kept: asked again next time */
		/* A slot caller_forget() emptied first, else round robin. */
		e = find(c, "");
		if (!e) {
			e = &c->entries[c->next];
			c->next = (c->next + 1) % CALLER_CACHE_SIZE;
		}
		snprintf(e->name, sizeof(e->name), "%s", sender);
		e->uid = *uid;
		e->pid = p;
	}
	*uid = e->uid;
	if (pid)
		*pid = e->pid;
	return 0;
}

void caller_forget(CallerCache *c, const char *name)
{
	CallerEntry *e;

	if (name[0] != ':')
		return;
	e = find(c, name);
	if (e)
		memset(e, 0, sizeof(*e));
}
