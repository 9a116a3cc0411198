/* test-revoke.c - graceful revoke on a private bus, over the fake control
 * node (daxmirrord-fake): Session.RequestRevoke signals the owner
 * (RevokeRequested, RevokeDeadlineUSec) and is answered "acknowledged"
 * after the owner's AcknowledgeRevoke, "forced" at the deadline without
 * it, "closed" when the owner leaves, "revoked" by an immediate Revoke;
 * a second request joins the first; non-root callers may not request,
 * others than the owner may not acknowledge.
 *
 * The Session interface a session object introspects as has the new
 * members, as docs/org.daxmirror1.xml has them.
 *
 * argv: DAXMIRRORD_FAKE [CONTRACT_XML]; env DBUS_DAEMON. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "bus-contract.h"
#include "private-bus.h"
#include "revoke.h"
#include "tap.h"

#define DEST DXM_BUS_NAME
#define ROOT DXM_OBJECT_ROOT
#define MGR DXM_MANAGER_IFACE
#define SES DXM_SESSION_IFACE

static char tmpdir[] = "/tmp/test-daemon-revoke-XXXXXX";
static char address[1024];

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static sd_bus *connect_bus(void)
{
	sd_bus *bus = NULL;

	if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, address) < 0 ||
	    sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_negotiate_fds(bus, 1) < 0 ||
	    sd_bus_start(bus) < 0)
		return sd_bus_unref(bus);
	return bus;
}

/* One connection's view: RevokeRequested signals and the RequestRevoke
 * replies it is waiting for. */
typedef struct Peer {
	sd_bus *bus;
	int requested;			/* RevokeRequested seen */
	uint64_t deadline;		/* the last one's argument */
} Peer;

typedef struct Pending {
	bool done;
	char how[64];			/* the reply, or the error name */
	uint64_t done_usec;
} Pending;

static int on_requested(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	Peer *p = userdata;

	if (sd_bus_message_read(m, "t", &p->deadline) >= 0)
		p->requested++;
	return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	Pending *p = userdata;
	const sd_bus_error *err = sd_bus_message_get_error(m);
	const char *how = NULL;

	if (err)
		snprintf(p->how, sizeof(p->how), "%s", err->name);
	else if (sd_bus_message_read(m, "s", &how) >= 0)
		snprintf(p->how, sizeof(p->how), "%s", how);
	else
		snprintf(p->how, sizeof(p->how), "(unreadable)");
	p->done = true;
	p->done_usec = mono_usec();
	return 0;
}

/* Drives @a and @b (either may be NULL) until *@cond or @ms pass. */
static bool pump_until(sd_bus *a, sd_bus *b, const bool *cond, const int *count, int ms)
{
	uint64_t end = mono_usec() + (uint64_t)ms * 1000;

	while (mono_usec() < end) {
		int ra = 0, rb = 0;

		if ((cond && *cond) || (count && *count))
			return true;
		if (a)
			ra = sd_bus_process(a, NULL);
		if (b)
			rb = sd_bus_process(b, NULL);
		if (ra > 0 || rb > 0)
			continue;
		if (a)
			sd_bus_wait(a, b ? 5000 : 20000);
		if (b)
			sd_bus_wait(b, 5000);
	}
	return (cond && *cond) || (count && *count);
}

/* OpenSession on @p: the object path into @path. */
static int open_session(Peer *p, char *path, size_t size)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *s;
	int fd, r;

	r = sd_bus_call_method(p->bus, DEST, ROOT, MGR, "OpenSession", &e, &reply, "a{sv}", 0);
	if (r >= 0)
		r = sd_bus_message_read(reply, "oh", &s, &fd);
	if (r >= 0)
		snprintf(path, size, "%s", s);
	else
		tap_diag("OpenSession: %s", e.message ? e.message : strerror(-r));
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	return r;
}

static int request(sd_bus *bus, const char *path, uint32_t grace, Pending *p, sd_bus_slot **slot)
{
	*p = (Pending){ 0 };
	return sd_bus_call_method_async(bus, slot, DEST, path, SES, "RequestRevoke", on_reply, p,
					"u", grace);
}

static int call_simple(sd_bus *bus, const char *path, const char *member, char *err,
		       size_t size)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call_method(bus, DEST, path, SES, member, &e, NULL, "");
	snprintf(err, size, "%s", r >= 0 ? "(success)" : e.name ? e.name : "(no name)");
	sd_bus_error_free(&e);
	return r;
}

static bool session_exists(sd_bus *bus, const char *path)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint64_t id = 0;
	int r;

	r = sd_bus_get_property_trivial(bus, DEST, path, SES, "Id", &e, 't', &id);
	sd_bus_error_free(&e);
	return r >= 0;
}

/* As nobody: RequestRevoke on @path -> AccessDenied. 0 when refused. */
static int nobody_requests(const char *path)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus *bus;
	int r;

	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		return 1;
	bus = connect_bus();
	if (!bus)
		return 2;
	r = sd_bus_call_method(bus, DEST, path, SES, "RequestRevoke", &e, NULL, "u", 100);
	r = r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_ACCESS_DENIED) ? 0 : 3;
	sd_bus_error_free(&e);
	sd_bus_flush_close_unref(bus);
	return r;
}

/* The graceful-revoke members in the introspection of @path and in the
 * contract @xml_path (if given). */
static void check_contract(sd_bus *bus, const char *path, const char *xml_path)
{
	static const char *const members[] = {
		"<method name=\"RequestRevoke\">",
		"<method name=\"AcknowledgeRevoke\">",
		"<signal name=\"RevokeRequested\">",
		"<property name=\"RevokeDeadlineUSec\" type=\"t\" access=\"read\">",
	};
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *xml = NULL;
	char *contract = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	r = sd_bus_call_method(bus, DEST, path, "org.freedesktop.DBus.Introspectable", "Introspect",
			       &e, &reply, "");
	if (r >= 0)
		r = sd_bus_message_read(reply, "s", &xml);
	if (xml_path && (f = fopen(xml_path, "re"))) {
		if (getdelim(&contract, &len, '\0', f) < 0) {
			free(contract);
			contract = NULL;
		}
		fclose(f);
	}
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		/* The contract writes "<method name=...>" or "<method name=.../>". */
		char bare[128];

		snprintf(bare, sizeof(bare), "%.*s", (int)strlen(members[i]) - 1, members[i]);
		tap_ok(r >= 0 && strstr(xml, members[i]) &&
		       (!xml_path || (contract && strstr(contract, bare))),
		       "served and in the contract: %s", members[i]);
	}
	free(contract);
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
}

static int on_name(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	const char *name, *old, *new;

	if (sd_bus_message_read(m, "sss", &name, &old, &new) >= 0 && !strcmp(name, DEST) &&
	    *new)
		*(bool *)userdata = true;
	return 0;
}

int main(int argc, char **argv)
{
	Peer admin = { 0 }, owner = { 0 };
	sd_bus_slot *slot = NULL, *slot2 = NULL, *slot3 = NULL, *sig = NULL, *name_slot = NULL;
	Pending p1, p2, p3;
	char fifo[300], conf[300], path[128], err[128];
	const char *skip = NULL;
	bool named = false;
	pid_t bus_pid = -1, daemon_pid = -1, child;
	uint64_t t0, now;
	int st, r;

	if (argc < 2)
		skip = "usage: test-daemon-revoke DAXMIRRORD_FAKE";
	else if (!getenv("DBUS_DAEMON") || !*getenv("DBUS_DAEMON"))
		skip = "dbus-daemon not found";
	else if (geteuid() != 0)
		skip = "needs root (RequestRevoke is root only)";
	else if (!mkdtemp(tmpdir))
		skip = "mkdtemp failed";
	if (skip) {
		printf("1..0 # SKIP %s\n", skip);
		return EXIT_SUCCESS;
	}
	chmod(tmpdir, 0755);	/* nobody reaches the bus socket */
	r = dmt_private_bus_start(getenv("DBUS_DAEMON"), tmpdir, &bus_pid, address,
				  sizeof(address));
	if (r < 0) {
		printf("Bail out! private bus: %s\n", strerror(-r));
		return EXIT_FAILURE;
	}
	snprintf(fifo, sizeof(fifo), "%s/control", tmpdir);
	snprintf(conf, sizeof(conf), "%s/daxmirrord.conf", tmpdir);
	if (mkfifo(fifo, 0600) < 0 || close(open(conf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		printf("Bail out! %s: %m\n", tmpdir);
		goto out;
	}

	admin.bus = connect_bus();
	if (!tap_ok(admin.bus != NULL, "admin connected"))
		goto out;
	sd_bus_match_signal(admin.bus, &name_slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			    "org.freedesktop.DBus", "NameOwnerChanged", on_name, &named);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		unsetenv("NOTIFY_SOCKET");
		execl(argv[1], argv[1], "--bus-address", address, "--control", fifo,
		      "--config", conf, (char *)NULL);
		_exit(127);
	}
	if (!tap_ok(pump_until(admin.bus, NULL, &named, NULL, 20000), "daxmirrord-fake is on the bus"))
		goto out;
	/* The admin sees signals sent to it too (it must not get the owner's). */
	sd_bus_match_signal(admin.bus, NULL, DEST, NULL, SES, "RevokeRequested", on_requested,
			    &admin);

#define NEW_OWNER()                                                                       \
	do {                                                                              \
		owner = (Peer){ .bus = connect_bus() };                                   \
		if (!owner.bus || sd_bus_match_signal(owner.bus, &sig, DEST, NULL, SES,   \
						      "RevokeRequested", on_requested,   \
						      &owner) < 0 ||                     \
		    open_session(&owner, path, sizeof(path)) < 0) {                       \
			tap_ok(0, "owner: connect and open a session");                  \
			goto out;                                                         \
		}                                                                         \
	} while (0)
#define DROP_OWNER()                                                                      \
	do {                                                                              \
		sig = sd_bus_slot_unref(sig);                                             \
		owner.bus = sd_bus_flush_close_unref(owner.bus);                          \
	} while (0)

	/* 1. Request, signal, acknowledge. */
	NEW_OWNER();
	check_contract(admin.bus, path, argc > 2 ? argv[2] : NULL);
	r = call_simple(owner.bus, path, "AcknowledgeRevoke", err, sizeof(err));
	tap_ok(r < 0 && !strcmp(err, DXM_ERROR_NOT_REQUESTED),
	       "AcknowledgeRevoke without a request -> NotRequested (%s)", err);
	child = fork();
	if (child == 0)
		_exit(nobody_requests(path));
	r = waitpid(child, &st, 0) == child && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	tap_ok(r == 0, "RequestRevoke as nobody -> AccessDenied (%d)", r);
	{
		sd_bus_error e = SD_BUS_ERROR_NULL;

		r = sd_bus_call_method(admin.bus, DEST, path, SES, "RequestRevoke", &e, NULL, "u",
				       REVOKE_MAX_GRACE_MS + 1);
		tap_ok(r < 0 && sd_bus_error_has_name(&e, SD_BUS_ERROR_INVALID_ARGS),
		       "RequestRevoke over %u ms -> InvalidArgs", REVOKE_MAX_GRACE_MS);
		sd_bus_error_free(&e);
	}
	t0 = mono_usec();
	r = request(admin.bus, path, 10000, &p1, &slot);
	tap_ok(r >= 0, "RequestRevoke(10000) sent");
	tap_ok(pump_until(owner.bus, admin.bus, NULL, &owner.requested, 5000) &&
	       owner.requested == 1, "the owner gets RevokeRequested");
	now = mono_usec();
	tap_ok(owner.deadline >= t0 + 10000000 && owner.deadline <= now + 10000000,
	       "its deadline is the request's grace from now (%+" PRId64 " us)",
	       (int64_t)(owner.deadline - t0) - 10000000);
	{
		sd_bus_error e = SD_BUS_ERROR_NULL;
		uint64_t d = 0;

		r = sd_bus_get_property_trivial(admin.bus, DEST, path, SES, "RevokeDeadlineUSec",
						&e, 't', &d);
		tap_ok(r >= 0 && d == owner.deadline, "RevokeDeadlineUSec is the deadline");
		sd_bus_error_free(&e);
	}
	tap_ok(!p1.done, "RequestRevoke is not answered before the owner acknowledges");
	r = call_simple(admin.bus, path, "AcknowledgeRevoke", err, sizeof(err));
	tap_ok(r < 0 && !strcmp(err, DXM_ERROR_ACCESS_DENIED),
	       "AcknowledgeRevoke by another connection (root) -> AccessDenied (%s)", err);
	tap_ok(session_exists(admin.bus, path), "the session is still there");
	r = call_simple(owner.bus, path, "AcknowledgeRevoke", err, sizeof(err));
	tap_ok(r >= 0, "the owner's AcknowledgeRevoke succeeds (%s)", err);
	r = pump_until(admin.bus, NULL, &p1.done, NULL, 5000);
	tap_ok(r && !strcmp(p1.how, "acknowledged") && p1.done_usec - t0 < 10000000,
	       "RequestRevoke answers \"acknowledged\" (%s, after %" PRIu64 " ms)", p1.how,
	       (p1.done_usec - t0) / 1000);
	tap_ok(!session_exists(admin.bus, path), "the session is gone");
	tap_ok(admin.requested == 0, "RevokeRequested went to the owner only");
	slot = sd_bus_slot_unref(slot);
	DROP_OWNER();

	/* 2. No acknowledgement: forced at the deadline. */
	NEW_OWNER();
	t0 = mono_usec();
	request(admin.bus, path, 300, &p1, &slot);
	r = pump_until(admin.bus, owner.bus, &p1.done, NULL, 5000);
	tap_ok(r && !strcmp(p1.how, "forced"), "ignored: RequestRevoke(300) answers \"forced\" (%s)",
	       p1.how);
	tap_ok(r && p1.done_usec - t0 >= 300000 && p1.done_usec - t0 < 3000000,
	       "... after the grace (%" PRIu64 " ms)", (p1.done_usec - t0) / 1000);
	tap_ok(owner.requested == 1, "... and the owner was told");
	tap_ok(!session_exists(admin.bus, path), "the session is gone");
	slot = sd_bus_slot_unref(slot);
	DROP_OWNER();

	/* 3. The owner leaves: "closed". */
	NEW_OWNER();
	request(admin.bus, path, 10000, &p1, &slot);
	pump_until(owner.bus, admin.bus, NULL, &owner.requested, 5000);
	DROP_OWNER();
	t0 = mono_usec();
	r = pump_until(admin.bus, NULL, &p1.done, NULL, 5000);
	tap_ok(r && !strcmp(p1.how, "closed"), "the owner leaves: RequestRevoke answers \"closed\" (%s, %" PRIu64 " ms)",
	       p1.how, (p1.done_usec - t0) / 1000);
	slot = sd_bus_slot_unref(slot);

	/* 4. A second request joins and brings the deadline forward; an
	 * immediate Revoke ends both. */
	NEW_OWNER();
	request(admin.bus, path, 10000, &p1, &slot);
	pump_until(owner.bus, admin.bus, NULL, &owner.requested, 5000);
	t0 = mono_usec();
	request(admin.bus, path, 0, &p2, &slot2);
	owner.requested = 0;
	pump_until(owner.bus, admin.bus, NULL, &owner.requested, 5000);
	tap_ok(owner.requested == 1 && owner.deadline >= t0 + REVOKE_DEFAULT_GRACE_MS * 1000ULL &&
	       owner.deadline <= mono_usec() + REVOKE_DEFAULT_GRACE_MS * 1000ULL,
	       "a second request with grace 0 (default %u ms) moves the deadline forward",
	       REVOKE_DEFAULT_GRACE_MS);
	request(admin.bus, path, 10000, &p3, &slot3);
	owner.requested = 0;
	pump_until(owner.bus, admin.bus, NULL, &owner.requested, 300);
	tap_ok(owner.requested == 0, "a third request with a later deadline does not move it");
	tap_ok(!p1.done && !p2.done && !p3.done, "none is answered yet");
	r = call_simple(admin.bus, path, "Revoke", err, sizeof(err));
	tap_ok(r >= 0, "an immediate Revoke while requests are pending (%s)", err);
	pump_until(admin.bus, NULL, &p2.done, NULL, 5000);
	pump_until(admin.bus, NULL, &p1.done, NULL, 5000);
	pump_until(admin.bus, NULL, &p3.done, NULL, 5000);
	tap_ok(p1.done && p2.done && p3.done && !strcmp(p1.how, "revoked") &&
	       !strcmp(p2.how, "revoked") && !strcmp(p3.how, "revoked"),
	       "all three RequestRevoke answer \"revoked\" (%s, %s, %s)", p1.how, p2.how, p3.how);
	slot = sd_bus_slot_unref(slot);
	slot2 = sd_bus_slot_unref(slot2);
	slot3 = sd_bus_slot_unref(slot3);
	DROP_OWNER();

	/* 5. SIGTERM with a request pending: the caller gets an error, the
	 * daemon exits cleanly (ASan: nothing leaked). */
	NEW_OWNER();
	request(admin.bus, path, 10000, &p1, &slot);
	pump_until(owner.bus, admin.bus, NULL, &owner.requested, 5000);
	kill(daemon_pid, SIGTERM);
	r = pump_until(admin.bus, NULL, &p1.done, NULL, 10000);
	tap_ok(r && !strcmp(p1.how, SD_BUS_ERROR_FAILED),
	       "SIGTERM with a request pending: it fails (%s)", p1.how);
	r = waitpid(daemon_pid, &st, 0) == daemon_pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	tap_ok(r == 0, "daxmirrord-fake exits 0 (%d)", r);
	daemon_pid = -1;
	slot = sd_bus_slot_unref(slot);
	DROP_OWNER();

out:
	sd_bus_slot_unref(name_slot);
	sd_bus_flush_close_unref(admin.bus);
	sd_bus_flush_close_unref(owner.bus);
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	if (bus_pid > 0) {
		kill(bus_pid, SIGTERM);
		waitpid(bus_pid, NULL, 0);
	}
	unlink(fifo);
	unlink(conf);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", tmpdir);
	}
	return tap_done();
}
