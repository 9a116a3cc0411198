/* caller.h - who called: the uid and pid the bus tells of a message's
 * sender, remembered per unique name until the name leaves the bus. */
#ifndef DAXMIRRORD_CALLER_H
#define DAXMIRRORD_CALLER_H

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

/* Connections remembered; an older one is looked up again when asked. */
#define CALLER_CACHE_SIZE 64
/* dbus-daemon's unique names (":1.N") fit; longer ones are not kept. */
#define CALLER_NAME_MAX 48

typedef struct CallerEntry {
	char name[CALLER_NAME_MAX];	/* "" if free */
	uid_t uid;
	pid_t pid;
} CallerEntry;

/* All zero is empty: no allocation, nothing to free. */
typedef struct CallerCache {
	CallerEntry entries[CALLER_CACHE_SIZE];
	unsigned next;			/* the slot the next miss takes */
} CallerCache;

/* bus_caller() of @m, asked of the bus once per sender: the bus tells
 * the credentials it took when the connection was made, and a unique
 * name is never given again, so the answer cannot change while the name
 * is on the bus; caller_forget() when it leaves. Senders without a
 * unique name are looked up every time. */
int caller_get(CallerCache *c, sd_bus_message *m, uid_t *uid, pid_t *pid, sd_bus_error *error);
/* @name left the bus (NameOwnerChanged). */
void caller_forget(CallerCache *c, const char *name);

#endif
