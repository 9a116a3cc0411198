/* test-bus.c - daxmirrorctl against a private bus: starts dbus-daemon (a
 * session-type config in a temporary directory that allows everything),
 * then runs the sanitized daxmirrorctl with --bus-address against
 *  - no daemon at all (exit 3) and no bus at all (exit 3);
 *  - the real daemon with --control /nonexistent (module missing: 4);
 *  - daxmirrord-fake over a FIFO control node (daemon/test-fake-kernel.c),
 *    with a session this test opens and attaches a file to: status,
 *    list-sessions, show-session, list-mirrors (text, --no-legend, --json
 *    parsed by python3), mirror (NotDax: 1, QuotaExceeded: 6), revoke as
 *    nobody (5) and as root, revoke --grace (forced, and acknowledged by
 *    the owner while daxmirrorctl waits);
 *  - daxmirrord-fake again, its sessions DMA ($DAXMIRROR_FAKE_BACKEND=1):
 *    show-session's Backend and DMA counters, as text and --json;
 * and checks the usage errors (2), --help and --version.
 *
 * argv: DAXMIRRORCTL DAXMIRRORD DAXMIRRORD_FAKE VERSION;
 * env DBUS_DAEMON, PYTHON3, SETPRIV (empty: not installed). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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
#include "tap.h"

typedef struct Env {
	const char *ctl, *daemon, *fake, *version, *python, *setpriv;
	char tmpdir[64];
	char address[1024];
	pid_t bus_pid;
	char *out, *err;	/* of the last run */
} Env;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		tap_bail("writing %s: %m", path);
	}
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return strdup("");
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int start_bus(Env *env)
{
	return dmt_private_bus_start(getenv("DBUS_DAEMON"), env->tmpdir,
				     &env->bus_pid, env->address,
				     sizeof(env->address));
}

static pid_t start_daemon(Env *env, const char *path, const char *control, const char *conf)
{
	pid_t pid = fork();

	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);	/* keep TAP clean */
		execl(path, path, "--bus-address", env->address, "--control", control,
		      "--config", conf, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	int st;

	while (now_ms() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -2;
}

static sd_bus *connect_bus(Env *env)
{
	sd_bus *bus = NULL;

	return dxm_bus_connect(env->address, "test-ctl-bus", &bus) < 0 ? NULL : bus;
}

/* Prints @text as TAP diagnostics, a line at a time (no length limit). */
static void diag_text(const char *text)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		if (len)
			tap_diag("%.*s", len, p);
		p = nl ? nl + 1 : NULL;
	}
}

static bool name_owned(sd_bus *bus)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "GetNameOwner", &e, NULL, "s", DXM_BUS_NAME);
	sd_bus_error_free(&e);
	return r >= 0;
}

static bool wait_name(sd_bus *bus, pid_t pid, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (now_ms() < end) {
		if (name_owned(bus))
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		usleep(50000);
	}
	return false;
}

/* Runs daxmirrorctl with @args (shell words) as root, or as nobody when
 * @nobody; env->out and env->err get its output. Returns its exit status
 * (-1: killed). A sanitizer report fails a test of its own. */
static int run(Env *env, bool nobody, const char *args)
{
	char cmd[4096], outp[128], errp[128];
	int st;

	free(env->out);
	free(env->err);
	snprintf(outp, sizeof(outp), "%s/out", env->tmpdir);
	snprintf(errp, sizeof(errp), "%s/err", env->tmpdir);
	snprintf(cmd, sizeof(cmd), "%s%s%s '%s' %s >'%s' 2>'%s' </dev/null",
		 nobody ? "ASAN_OPTIONS=detect_leaks=0 '" : "", nobody ? env->setpriv : "",
		 nobody ? "' --reuid=65534 --regid=65534 --clear-groups" : "",
		 env->ctl, args, outp, errp);
	st = system(cmd);
	env->out = read_file(outp);
	env->err = read_file(errp);
	if (strstr(env->err, "Sanitizer")) {
		tap_ok(0, "sanitizer report from: daxmirrorctl %s", args);
		diag_text(env->err);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Whether env->out parses as one JSON document. */
static bool json_valid(Env *env)
{
	char cmd[1024];

	if (!env->python || !*env->python)
		return true;
	snprintf(cmd, sizeof(cmd), "'%s' -c 'import json,sys; json.load(sys.stdin)' <'%s/out'",
		 env->python, env->tmpdir);
	return system(cmd) == 0;
}

/* Checks a run: exit status @want and @needle (if any) in stdout+stderr. */
static void expect(Env *env, bool nobody, const char *args, int want, const char *needle,
		   const char *what)
{
	int r = run(env, nobody, args);
	bool found = !needle || strstr(env->out, needle) || strstr(env->err, needle);

	if (!tap_ok(r == want && found, "%s: daxmirrorctl %s -> %d (%d)%s%s", what,
		    args, want, r, needle ? ", says " : "", needle ? needle : "")) {
		diag_text(env->out);
		diag_text(env->err);
	}
}

static void expect_json(Env *env, bool nobody, const char *args, const char *needle,
			const char *what)
{
	int r = run(env, nobody, args);
	bool valid = json_valid(env);

	if (!tap_ok(r == 0 && valid && (!needle || strstr(env->out, needle)),
		    "%s: daxmirrorctl %s -> valid JSON%s%s", what, args,
		    needle ? " with " : "", needle ? needle : "")) {
		diag_text(env->out);
		diag_text(env->err);
	}
}

/* OpenSession({Write, PageCache}) and AttachFile(@file, 0, 8192, Write);
 * the session lives as long as @bus. */
static int open_session(sd_bus *bus, int filefd, char *path, size_t size)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL, *m = NULL;
	const char *o = NULL;
	int fd, r;

	r = sd_bus_call_method(bus, DXM_BUS_NAME, DXM_OBJECT_ROOT, DXM_MANAGER_IFACE, "OpenSession",
			       &e, &reply, "a{sv}", 2, "Write", "b", 1, "PageCache", "b", 1);
	if (r >= 0)
		r = sd_bus_message_read(reply, "oh", &o, &fd);
	if (r >= 0)
		snprintf(path, size, "%s", o);
	reply = sd_bus_message_unref(reply);
	if (r < 0) {
		tap_diag("OpenSession: %s", e.message ? e.message : strerror(-r));
		sd_bus_error_free(&e);
		return r;
	}
	r = sd_bus_message_new_method_call(bus, &m, DXM_BUS_NAME, path, DXM_SESSION_IFACE,
					   "AttachFile");
	if (r >= 0)
		r = sd_bus_message_append(m, "htta{sv}", filefd, (uint64_t)0, (uint64_t)8192, 1,
					  "Write", "b", 1);
	if (r >= 0)
		r = sd_bus_call(bus, m, 10 * 1000000, &e, NULL);
	if (r < 0)
		tap_diag("AttachFile: %s", e.message ? e.message : strerror(-r));
	sd_bus_message_unref(m);
	sd_bus_error_free(&e);
	return r;
}

static void no_daemon(Env *env, const char *when)
{
	char args[1200], what[128];

	snprintf(what, sizeof(what), "no daemon (%s)", when);
	snprintf(args, sizeof(args), "--bus-address '%s' status", env->address);
	expect(env, false, args, 3, "daxmirrord is not running: start it with "
	       "'systemctl start daxmirrord'", what);
}

static void usage_checks(Env *env)
{
	char args[256];

	expect(env, false, "--help", 0, "Exit status:", "--help");
	expect(env, false, "--version", 0, env->version, "--version");
	expect(env, false, "frobnicate", 2, "unknown command 'frobnicate'", "usage");
	expect(env, false, "--bogus status", 2, "Try 'daxmirrorctl --help'", "usage");
	expect(env, false, "show-session", 2, "needs a session ID", "usage");
	expect(env, false, "show-session abc", 2, "is not a session ID", "usage");
	expect(env, false, "revoke 0", 2, "is not a session ID", "usage");
	expect(env, false, "list-sessions extra", 2, "takes no arguments", "usage");
	expect(env, false, "status --write", 2, "options of 'mirror' only", "usage");
	expect(env, false, "list-sessions --extents", 2, "options of 'mirror' only", "usage");
	expect(env, false, "mirror", 2, "mirror needs one FILE", "usage");
	expect(env, false, "mirror /x --hold soon", 2, "not a number of seconds", "usage");
	expect(env, false, "mirror /x --hold 1 --watch", 2, "do not go together", "usage");
	expect(env, false, "revoke --grace soon 1", 2, "not a number of seconds", "usage");
	expect(env, false, "revoke --grace 601 1", 2, "from 0 to 600", "usage");
	expect(env, false, "status --grace 1", 2, "option of 'revoke' only", "usage");
	expect(env, false, "mirror /x --offset 12Q", 2, "is not a size", "usage");
	expect(env, false, "--bus-address unix:path=/nonexistent/bus mirror /x --offset 100", 2,
	       "multiples of 4096", "usage");
	snprintf(args, sizeof(args), "--bus-address unix:path=%s/nothing status", env->tmpdir);
	expect(env, false, args, 3, "cannot connect to", "no bus");
}

static void module_missing(Env *env, sd_bus *bus, const char *file)
{
	char conf[128], args[1400];
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/missing.conf", env->tmpdir);
	write_file(conf, "[Limits]\nMaxSessionsPerUser=3\n");
	pid = start_daemon(env, env->daemon, "/nonexistent", conf);
	if (!tap_ok(wait_name(bus, pid, 20000), "daxmirrord --control /nonexistent up"))
		return;
	snprintf(args, sizeof(args), "--bus-address '%s' status", env->address);
	expect(env, false, args, 4, "the daxmirror module is not loaded: modprobe daxmirror",
	       "module missing: status");
	tap_ok(strstr(env->out, "Module: missing") && strstr(env->out, "3 sessions"),
	       "module missing: status still prints the state and the limits");
	snprintf(args, sizeof(args), "--bus-address '%s' --json status", env->address);
	run(env, false, args);
	tap_ok(json_valid(env) && strstr(env->out, "\"module_state\":\"missing\"") &&
	       strstr(env->out, "\"module_version\":0"), "module missing: status --json");
	snprintf(args, sizeof(args), "--bus-address '%s' mirror '%s'", env->address, file);
	expect(env, false, args, 4, "modprobe daxmirror", "module missing: mirror");
	snprintf(args, sizeof(args), "--bus-address '%s' list-sessions", env->address);
	expect(env, false, args, 0, "0 sessions listed.", "module missing: list-sessions");
	kill(pid, SIGTERM);
	tap_ok(wait_exit(pid, 20000) == 0, "daxmirrord stopped");
}

static int on_flag(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	*(bool *)userdata = true;
	return 0;
}

/* revoke --grace on sessions of @owner (root): one it ignores (forced
 * after the grace), one it acknowledges while daxmirrorctl waits. */
static void revoke_graceful(Env *env, sd_bus *owner, int filefd)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_slot *slot = NULL;
	char args[2048], path[128], outp[160];
	bool requested = false;
	uint64_t end;
	pid_t child;
	int st, r;

	if (!tap_ok(open_session(owner, filefd, path, sizeof(path)) >= 0,
		    "another session (%s)", path))
		return;
	snprintf(args, sizeof(args), "--bus-address '%s' revoke --grace 0.3 %s", env->address,
		 strrchr(path, '/') + 1);
	expect(env, false, args, 0, "forced after 0.", "revoke --grace, the owner silent");
	snprintf(args, sizeof(args), "%s: forced after 0.", path);
	tap_ok(strstr(env->out, args) != NULL, "... prints '%s'", args);

	if (!tap_ok(open_session(owner, filefd, path, sizeof(path)) >= 0,
		    "another session (%s)", path))
		return;
	sd_bus_match_signal(owner, &slot, DXM_BUS_NAME, path, DXM_SESSION_IFACE, "RevokeRequested",
			    on_flag, &requested);
	snprintf(args, sizeof(args), "--bus-address '%s' --json revoke --grace 20 %s",
		 env->address, path);
	child = fork();
	if (child == 0)
		_exit(run(env, false, args));
	end = now_ms() + 10000;
	while (!requested && now_ms() < end)
		if (sd_bus_process(owner, NULL) == 0)
			sd_bus_wait(owner, 100000);
	tap_ok(requested, "the owner gets RevokeRequested");
	r = sd_bus_call_method(owner, DXM_BUS_NAME, path, DXM_SESSION_IFACE, "AcknowledgeRevoke",
			       &e, NULL, "");
	tap_ok(r >= 0, "the owner acknowledges (%s)", r < 0 ? e.name : "ok");
	sd_bus_error_free(&e);
	r = waitpid(child, &st, 0) == child && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	free(env->out);
	snprintf(outp, sizeof(outp), "%s/out", env->tmpdir);
	env->out = read_file(outp);
	snprintf(args, sizeof(args), "[{\"path\":\"%s\",\"how\":\"acknowledged\",\"usec\":", path);
	if (!tap_ok(r == 0 && strstr(env->out, args) && json_valid(env),
		    "revoke --grace 20 --json: exit 0 (%d), %s...", r, args))
		diag_text(env->out);
	sd_bus_slot_unref(slot);
}

static void with_fake(Env *env, sd_bus *bus, const char *file, int filefd)
{
	char conf[128], fifo[128], args[1400], path[256] = "", want[512];
	const char *a = env->address, *id = "1";
	bool root = geteuid() == 0;
	pid_t pid;
	sd_bus *owner = NULL;

	snprintf(conf, sizeof(conf), "%s/fake.conf", env->tmpdir);
	snprintf(fifo, sizeof(fifo), "%s/control", env->tmpdir);
	write_file(conf, "[Limits]\nMaxSessionsPerUser=1\nMaxBytesPerUser=1M\n");
	if (mkfifo(fifo, 0600) < 0) {
		tap_ok(0, "mkfifo: %m");
		return;
	}
	pid = start_daemon(env, env->fake, fifo, conf);
	if (!tap_ok(wait_name(bus, pid, 20000), "daxmirrord-fake up"))
		return;

	snprintf(args, sizeof(args), "--bus-address '%s' status", a);
	expect(env, false, args, 0, "Module: loaded (ABI version 1)", "fake module: status");
	tap_ok(strstr(env->out, "Sessions: 0") &&
	       strstr(env->out, "1 sessions and 1M per user"), "status: counts and limits");
	snprintf(args, sizeof(args), "--bus-address '%s' status --json", a);
	expect_json(env, false, args, "\"module_state\":\"loaded\"", "fake module");

	/* mirror: the broker refuses a non-DAX file for a session without
	 * PageCache (libdaxmirror never asks for it). */
	snprintf(args, sizeof(args), "--bus-address '%s' mirror '%s' --write --prefault", a, file);
	expect(env, false, args, 1, "is not on a DAX filesystem", "mirror of a page-cache file");
	tap_ok(strstr(env->err, "NotDax") != NULL, "... naming the D-Bus error");

	/* A session of our own, with a file. */
	owner = connect_bus(env);
	if (!tap_ok(owner && open_session(owner, filefd, path, sizeof(path)) >= 0,
		    "a session with an attached file (%s)", owner ? path : "-"))
		goto out;

	/* (The failed mirror above opened and closed session 1.) */
	id = strrchr(path, '/') + 1;
	snprintf(args, sizeof(args), "--bus-address '%s' list-sessions", a);
	run(env, false, args);
	{
		char row[128];

		snprintf(row, sizeof(row), "%u", (unsigned)getpid());
		tap_ok(strstr(env->out, "ID  UID") && strstr(env->out, "STATE") &&
		       strstr(env->out, "MIRRORS  BYTES  4K  2M  1G") && strstr(env->out, row) &&
		       strstr(env->out, "new") && strstr(env->out, "1 session listed."),
		       "list-sessions: header, our session, footer");
		diag_text(env->out);
	}
	snprintf(args, sizeof(args), "--bus-address '%s' --no-legend list-sessions", a);
	run(env, false, args);
	tap_ok(env->out[0] && !strstr(env->out, "STATE") && !strstr(env->out, "listed"),
	       "list-sessions --no-legend: rows only");
	snprintf(args, sizeof(args), "--bus-address '%s' list-sessions --json", a);
	snprintf(want, sizeof(want), "\"id\":%s,\"path\":\"%s\",\"uid\":%u,\"pid\":%u,"
		 "\"state\":\"new\"", id, path, geteuid(), getpid());
	expect_json(env, false, args, want, "list-sessions");

	snprintf(args, sizeof(args), "--bus-address '%s' show-session %s", a, id);
	expect(env, false, args, 0, file, "show-session: the attached file");
	snprintf(want, sizeof(want), "Session %s (%s)", id, path);
	tap_ok(strstr(env->out, want) &&
	       strstr(env->out, "State: new") && strstr(env->out, "Write: yes") &&
	       strstr(env->out, "PageCache: yes") && strstr(env->out, "[0, +8K) rw") &&
	       strstr(env->out, "\n      Backend: cpu\n") && !strstr(env->out, "DMA transfers"),
	       "show-session: properties, Backend: cpu and no DMA counters");
	diag_text(env->out);
	snprintf(args, sizeof(args), "--bus-address '%s' show-session %s --json", a, path);
	snprintf(want, sizeof(want), "\"files\":[{\"path\":\"%s\",\"offset\":0,\"length\":8192,"
		 "\"write\":true}]", file);
	expect_json(env, false, args, want, "show-session by path");
	tap_ok(strstr(env->out, "\"backend\":\"cpu\"") && !strstr(env->out, "dma_"),
	       "show-session --json: \"backend\":\"cpu\", no DMA counters");
	snprintf(args, sizeof(args), "--bus-address '%s' show-session 99", a);
	expect(env, false, args, 1, "no such session", "show-session of an unknown ID");

	snprintf(args, sizeof(args), "--bus-address '%s' list-mirrors", a);
	expect(env, false, args, 0, "SESSION  ID  START  LENGTH  STATE  DAX  4K  2M  1G",
	       "list-mirrors header");
	tap_ok(strstr(env->out, "0 mirrors listed.") != NULL,
	       "list-mirrors: none (the fake module lists no mirrors)");
	snprintf(args, sizeof(args), "--bus-address '%s' list-mirrors %s --json", a, id);
	expect_json(env, false, args, "[]", "list-mirrors ID");
	snprintf(args, sizeof(args), "--bus-address '%s' --json list-mirrors", a);
	expect_json(env, false, args, NULL, "list-mirrors");

	/* The one session allowed is ours: a mirror exceeds the quota. */
	snprintf(args, sizeof(args), "--bus-address '%s' mirror '%s'", a, file);
	expect(env, false, args, 6, "quota exceeded", "mirror over MaxSessionsPerUser=1");

	if (root && env->setpriv && *env->setpriv) {
		snprintf(args, sizeof(args), "--bus-address '%s' revoke %s", a, id);
		expect(env, true, args, 5, "permission denied: revoking a session needs root",
		       "revoke as nobody");
		snprintf(args, sizeof(args), "--bus-address '%s' list-sessions", a);
		expect(env, true, args, 0, "0 sessions listed.",
		       "list-sessions as nobody: only its own");
	}
	snprintf(args, sizeof(args), "--bus-address '%s' revoke %s", a, id);
	if (root) {
		expect(env, false, args, 0, NULL, "revoke as root");
		snprintf(args, sizeof(args), "--bus-address '%s' list-sessions", a);
		expect(env, false, args, 0, "0 sessions listed.", "the session is gone");
		snprintf(args, sizeof(args), "--bus-address '%s' revoke %s", a, id);
		expect(env, false, args, 1, "no such session", "revoking it again");
		revoke_graceful(env, owner, filefd);
	} else {
		expect(env, false, args, 5, "revoking a session needs root", "revoke as non-root");
	}
out:
	sd_bus_flush_close_unref(owner);
	kill(pid, SIGTERM);
	tap_ok(wait_exit(pid, 20000) == 0, "daxmirrord-fake stopped");
}

/* The number after @label in env->out, or -1. */
static long long number_after(Env *env, const char *label)
{
	const char *p = strstr(env->out, label);
	long long v;

	return p && sscanf(p + strlen(label), "%lld", &v) == 1 ? v : -1;
}

/* show-session of a session whose device reaches memory by DMA: the fake
 * module creates it so when started with $DAXMIRROR_FAKE_BACKEND=1; its
 * dma_transfers are its device faults, its dma_mappings its grants. */
static void with_dma_fake(Env *env, sd_bus *bus, int filefd)
{
	char conf[128], fifo[128], args[1400], path[256] = "";
	const char *a = env->address;
	long long faults, transfers, mappings;
	sd_bus *owner = NULL;
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/fake.conf", env->tmpdir);
	snprintf(fifo, sizeof(fifo), "%s/control", env->tmpdir);
	if (mkfifo(fifo, 0600) < 0 && errno != EEXIST) {
		tap_ok(0, "mkfifo: %m");
		return;
	}
	write_file(conf, "[Limits]\nMaxSessionsPerUser=1\nMaxBytesPerUser=1M\n");
	setenv("DAXMIRROR_FAKE_BACKEND", "1", 1);
	pid = start_daemon(env, env->fake, fifo, conf);
	unsetenv("DAXMIRROR_FAKE_BACKEND");
	if (!tap_ok(wait_name(bus, pid, 20000), "daxmirrord-fake up, its sessions DMA"))
		return;
	owner = connect_bus(env);
	if (!tap_ok(owner && open_session(owner, filefd, path, sizeof(path)) >= 0,
		    "a DMA session with an attached file (%s)", owner ? path : "-"))
		goto out;

	snprintf(args, sizeof(args), "--bus-address '%s' show-session %s", a, path);
	expect(env, false, args, 0, "      Backend: dma", "show-session of a DMA session");
	faults = number_after(env, "Device faults: ");
	transfers = number_after(env, "DMA transfers: ");
	mappings = number_after(env, " DMA mappings: ");
	tap_ok(strstr(env->out, "\n      Backend: dma\n") && faults > 0 && transfers == faults &&
	       mappings == 1, "show-session: a line Backend: dma, DMA transfers %lld (as the "
	       "fake's device faults, %lld), DMA mappings %lld", transfers, faults, mappings);
	diag_text(env->out);
	snprintf(args, sizeof(args), "--bus-address '%s' --json show-session %s", a, path);
	expect_json(env, false, args, "\"backend\":\"dma\"", "show-session of a DMA session");
	tap_ok(strstr(env->out, "\"dma_transfers\":") && strstr(env->out, "\"dma_mappings\":1,"),
	       "show-session --json: dma_transfers, dma_mappings 1");
out:
	sd_bus_flush_close_unref(owner);
	kill(pid, SIGTERM);
	tap_ok(wait_exit(pid, 20000) == 0, "daxmirrord-fake (DMA) stopped");
}

int main(int argc, char **argv)
{
	Env env = { .bus_pid = -1 };
	char file[128], cmd[256];
	sd_bus *bus = NULL;
	int filefd = -1;

	if (argc < 5) {
		fprintf(stderr, "usage: %s DAXMIRRORCTL DAXMIRRORD DAXMIRRORD_FAKE VERSION\n", argv[0]);
		return EXIT_FAILURE;
	}
	env.ctl = argv[1];
	env.daemon = argv[2];
	env.fake = argv[3];
	env.version = argv[4];
	env.python = getenv("PYTHON3");
	env.setpriv = getenv("SETPRIV");
	if (!getenv("DBUS_DAEMON") || !*getenv("DBUS_DAEMON")) {
		printf("1..0 # SKIP dbus-daemon not installed\n");
		return 0;
	}
	unsetenv("DAXMIRROR_BUS_ADDRESS");
	signal(SIGPIPE, SIG_IGN);
	snprintf(env.tmpdir, sizeof(env.tmpdir), "/tmp/test-ctl-bus-XXXXXX");
	if (!mkdtemp(env.tmpdir) || chmod(env.tmpdir, 0755) < 0) {
		printf("1..0 # SKIP mkdtemp: %m\n");
		return 0;
	}
	if (start_bus(&env) < 0) {
		tap_bail("cannot start dbus-daemon");
	}
	tap_diag("private bus at %s", env.address);
	bus = connect_bus(&env);
	if (!tap_ok(bus != NULL, "connected to the private bus"))
		goto out;

	snprintf(file, sizeof(file), "%s/data", env.tmpdir);
	filefd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (!tap_ok(filefd >= 0 && ftruncate(filefd, 16384) == 0, "a data file"))
		goto out;

	usage_checks(&env);
	no_daemon(&env, "nothing owns org.daxmirror1");
	{
		char args[1400];

		snprintf(args, sizeof(args), "--bus-address '%s' list-sessions", env.address);
		expect(&env, false, args, 3, "daxmirrord is not running", "no daemon");
		snprintf(args, sizeof(args), "--bus-address '%s' mirror '%s'", env.address, file);
		expect(&env, false, args, 3, "daxmirrord is not running", "no daemon: mirror");
		/* The address from the environment. */
		setenv("DAXMIRROR_BUS_ADDRESS", env.address, 1);
		expect(&env, false, "status", 3, "daxmirrord is not running",
		       "no daemon, bus from $DAXMIRROR_BUS_ADDRESS");
		unsetenv("DAXMIRROR_BUS_ADDRESS");
	}
	module_missing(&env, bus, file);
	with_fake(&env, bus, file, filefd);
	with_dma_fake(&env, bus, filefd);
	no_daemon(&env, "after it stopped");

out:
	sd_bus_flush_close_unref(bus);
	if (filefd >= 0)
		close(filefd);
	if (env.bus_pid > 0) {
		kill(env.bus_pid, SIGTERM);
		waitpid(env.bus_pid, NULL, 0);
	}
	free(env.out);
	free(env.err);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env.tmpdir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", env.tmpdir);
	return tap_done();
}
