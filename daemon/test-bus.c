/* test-bus.c - daxmirrord on a private bus, without the module: starts
 * dbus-daemon (a session-type config in a temporary directory that allows
 * everything), then the daemon with --bus-address and --control
 * /nonexistent, and checks the bus API against docs/org.daxmirror1.xml:
 * name, introspection, properties, error names of OpenSession and the
 * admin calls (as root and as nobody), a malformed call, SIGHUP with a bad
 * and a good config, SIGTERM, startup failures, and a lost bus. Then over
 * daxmirrord-fake: sessions, files, quotas, who may do what, a restart
 * with the test as systemd's fd store (restart_phase()), answers before
 * announcements (order_phase()), and the session backends: Backend and the
 * DMA counters, the Session's introspection against the contract
 * (backend_phase()).
 *
 * argv: DAXMIRRORD VERSION [CONTRACT_XML [DAXMIRRORD_FAKE]];
 * env DBUS_DAEMON, BUSCTL. */

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "daxmirror.h"
#include "bus-contract.h"
#include "macro.h"
#include "tap.h"
#include "private-bus.h"

#define DEST DXM_BUS_NAME
#define ROOT DXM_OBJECT_ROOT
#define MGR DXM_MANAGER_IFACE

static const char *daemon_path, *version, *contract;
static char tmpdir[] = "/tmp/test-daemon-bus-XXXXXX";
static char address[1024];
static char conf_path[256];
static int notify_fd = -1;
static pid_t bus_pid = -1;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("Bail out! writing %s: %m\n", path);
		exit(EXIT_FAILURE);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int start_bus(void)
{
	return dmt_private_bus_start(getenv("DBUS_DAEMON"), tmpdir, &bus_pid,
				     address, sizeof(address));
}

static int open_notify_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", tmpdir);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (notify_fd < 0)
		return -errno;
	if (bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* The test as systemd's fd store (restart_phase()): while @storing,
 * FDSTORE=1 and FDSTOREREMOVE=1 on the notify socket are kept track of. */
#define STORE_MAX 64
static struct {
	char name[64];
	int fd;
} store[STORE_MAX];
static size_t n_store;
static bool storing;

static void store_add(const char *name, int fd)
{
	if (n_store == STORE_MAX) {
		tap_diag("fd store full: %s dropped", name);
		close(fd);
		return;
	}
	snprintf(store[n_store].name, sizeof(store[n_store].name), "%s", name);
	store[n_store++].fd = fd;
}

static void store_remove(const char *name)
{
	size_t j = 0;

	for (size_t i = 0; i < n_store; i++) {
		if (strcmp(store[i].name, name) == 0)
			close(store[i].fd);
		else
			store[j++] = store[i];
	}
	n_store = j;
}

static void store_collect(void)
{
	for (;;) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * 8)];
		} control;
		char buf[4096], name[64] = "";
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = &control, .msg_controllen = sizeof(control),
		};
		int fds[8];
		size_t nfds = 0;
		const char *at;
		ssize_t n = recvmsg(notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0)
			return;
		buf[n] = '\0';
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
			if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t k = 0; k < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int) && nfds < 8; k++)
				memcpy(&fds[nfds++], CMSG_DATA(h) + k * sizeof(int), sizeof(int));
		}
		at = strstr(buf, "FDNAME=");
		if (at)
			sscanf(at + 7, "%63[^\n]", name);
		if (strstr(buf, "FDSTOREREMOVE=1"))
			store_remove(name);
		for (size_t k = 0; k < nfds; k++) {
			if (strstr(buf, "FDSTORE=1") && name[0])
				store_add(name, fds[k]);
			else
				close(fds[k]);
		}
	}
}

/* Starts the daemon with @argv (after argv[0]); the bus address through
 * the environment when @env_address. */
static pid_t start_daemon_at(const char *path, const char *const *args, bool env_address)
{
	pid_t pid = fork();

	if (pid == 0) {
		const char *argv[16] = { path };
		char notify[300];
		size_t i;

		dup2(STDERR_FILENO, STDOUT_FILENO);	/* keep TAP clean */
		for (i = 0; args[i] && i < 14; i++)
			argv[i + 1] = args[i];
		argv[i + 1] = NULL;
		snprintf(notify, sizeof(notify), "%s/notify", tmpdir);
		setenv("NOTIFY_SOCKET", notify, 1);
		if (storing && n_store) {
			/* As systemd: the store's fds from 3 on, named. */
			char names[STORE_MAX * 65] = "", num[32];

			for (i = 0; i < n_store; i++)
				store[i].fd = fcntl(store[i].fd, F_DUPFD_CLOEXEC, 3 + STORE_MAX);
			for (i = 0; i < n_store; i++) {
				dup2(store[i].fd, 3 + (int)i);
				strcat(names, i ? ":" : "");
				strcat(names, store[i].name);
			}
			snprintf(num, sizeof(num), "%zu", n_store);
			setenv("LISTEN_FDS", num, 1);
			snprintf(num, sizeof(num), "%d", (int)getpid());
			setenv("LISTEN_PID", num, 1);
			setenv("LISTEN_FDNAMES", names, 1);
		}
		if (env_address)
			setenv("DAXMIRRORD_BUS_ADDRESS", address, 1);
		else
			unsetenv("DAXMIRRORD_BUS_ADDRESS");
		execv(path, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static pid_t start_daemon(const char *const *args, bool env_address)
{
	return start_daemon_at(daemon_path, args, env_address);
}

/* Waits for a datagram containing @what; -ECHILD if @pid died first. */
static int wait_notify(pid_t pid, const char *what, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	char buf[4096];

	while (now_ms() < end) {
		struct pollfd pfd = { .fd = notify_fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) > 0) {
			n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
			if (n > 0) {
				buf[n] = '\0';
				if (strstr(buf, what))
					return 0;
			}
			continue;
		}
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return -ECHILD;
	}
	return -ETIMEDOUT;
}

static void drain_notify(void)
{
	char buf[4096];

	if (storing) {
		store_collect();
		return;
	}
	while (recv(notify_fd, buf, sizeof(buf), 0) > 0)
		;
}

/* Exit status of @pid within @timeout_ms, -1 if killed by a signal,
 * -2 on timeout (then it is killed). */
static int wait_exit(pid_t pid, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	int st;

	while (now_ms() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -2;
}

static sd_bus *connect_bus(void)
{
	sd_bus *bus = NULL;

	if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, address) < 0 ||
	    sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_start(bus) < 0)
		return sd_bus_unref(bus);
	return bus;
}

static bool name_owned(sd_bus *bus)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "GetNameOwner", &e, &reply, "s", DEST);
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	return r >= 0;
}

static const char *err_name(const sd_bus_error *e, int r)
{
	return r >= 0 ? "(success)" : e->name ? e->name : "(no name)";
}

/* OpenSession with one option @key of variant type @type (NULL: none). */
static int open_session(sd_bus *bus, const char *key, const char *type, uint64_t v,
			sd_bus_error *e)
{
	sd_bus_message *m = NULL, *reply = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, DEST, ROOT, MGR, "OpenSession");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0 && key) {
		r = sd_bus_message_open_container(m, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append(m, "s", key);
		if (r >= 0) {
			if (type[0] == 'b')
				r = sd_bus_message_append(m, "v", "b", (int)v);
			else if (type[0] == 'u')
				r = sd_bus_message_append(m, "v", "u", (uint32_t)v);
			else if (type[0] == 't')
				r = sd_bus_message_append(m, "v", "t", v);
			else
				r = sd_bus_message_append(m, "v", "s", "x");
		}
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_call(bus, m, 5 * 1000000, e, &reply);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	return r;
}

static int get_u32(sd_bus *bus, const char *prop, uint32_t *v)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	drain_notify();	/* see pump() */
	r = sd_bus_get_property_trivial(bus, DEST, ROOT, MGR, prop, &e, 'u', v);

	sd_bus_error_free(&e);
	return r;
}

/* Runs @cmd, returns its stdout (malloc()ed) or NULL. */
static char *run_capture(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 1024) {
			char *n = realloc(buf, cap + 65536);

			if (!n)
				break;
			buf = n;
			cap += 65536;
		}
		size_t k = fread(buf + len, 1, cap - len - 1, f);

		if (k == 0)
			break;
		len += k;
	}
	if (buf)
		buf[len] = '\0';
	if (pclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The part of introspection data @xml that is interface @iface, up to its
 * "</interface>" (*@end); NULL if it has none. */
static const char *iface_section(const char *xml, const char *iface, const char **end)
{
	char tag[128];
	const char *p;

	snprintf(tag, sizeof(tag), "<interface name=\"%s\">", iface);
	p = strstr(xml, tag);
	*end = p ? strstr(p, "</interface>") : NULL;
	return *end ? p : NULL;
}

/* The EmitsChangedSignal annotation of the property whose tag starts at
 * @p, "true" (the default) if it has none. */
static void emits_changed(const char *p, char *out, size_t size)
{
	static const char key[] = "EmitsChangedSignal\" value=\"";
	const char *tag_end = strchr(p, '>'), *end, *a;

	snprintf(out, size, "true");
	if (!tag_end || tag_end[-1] == '/')
		return;
	end = strstr(tag_end, "</property>");
	a = strstr(tag_end, key);
	if (a && end && a < end && sscanf(a + strlen(key), "%15[^\"]", out) != 1)
		snprintf(out, size, "?");
}

/* Every method and property (with its type and its EmitsChangedSignal
 * annotation) of interface @iface in the contract appears in the live
 * introspection @live; at least @min of them. */
static void check_contract(const char *live, const char *iface, unsigned min)
{
	FILE *f;
	char *xml = NULL, *p;
	const char *end, *live_end, *live_iface;
	size_t len = 0;
	unsigned checked = 0, missing = 0;

	if (!contract || !(f = fopen(contract, "re"))) {
		tap_ok(1, "# SKIP contract XML not given");
		return;
	}
	if (getdelim(&xml, &len, '\0', f) < 0) {
		fclose(f);
		free(xml);
		tap_ok(0, "reading %s", contract);
		return;
	}
	fclose(f);
	p = (char *)iface_section(xml, iface, &end);
	live_iface = iface_section(live, iface, &live_end);
	for (; p && live_iface && p < end; p++) {
		char want[256], emits[16], live_emits[16];
		const char *kind = NULL, *at;
		char name[128], type[64];

		if (strncmp(p, "<method name=\"", 14) == 0)
			kind = "method";
		else if (strncmp(p, "<property name=\"", 16) == 0)
			kind = "property";
		if (!kind)
			continue;
		if (kind[0] == 'm') {
			if (sscanf(p, "<method name=\"%127[^\"]\"", name) != 1)
				continue;
			snprintf(want, sizeof(want), "<method name=\"%s\">", name);
		} else {
			if (sscanf(p, "<property name=\"%127[^\"]\" type=\"%63[^\"]\"", name, type) != 2)
				continue;
			snprintf(want, sizeof(want), "<property name=\"%s\" type=\"%s\"", name, type);
		}
		checked++;
		at = strstr(live_iface, want);
		if (!at || at > live_end) {
			missing++;
			tap_diag("contract %s not served: %s", kind, want);
			continue;
		}
		if (kind[0] == 'm')
			continue;
		emits_changed(p, emits, sizeof(emits));
		emits_changed(at, live_emits, sizeof(live_emits));
		if (strcmp(emits, live_emits) != 0) {
			missing++;
			tap_diag("property %s: EmitsChangedSignal %s served, %s in the contract",
				 name, live_emits, emits);
		}
	}
	tap_ok(checked >= min && missing == 0,
	       "every %s method and property of the contract is served, with its "
	       "EmitsChangedSignal (%u checked)", iface, checked);
	free(xml);
}

/* As nobody: non-root callers are refused the admin calls, anonymous
 * memory and (AllowPageCache=no) page-cache files. Returns a bitmask of
 * failed checks. */
static int as_nobody(void)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus;
	int fails = 0, r;

	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		return 1;
	bus = connect_bus();
	if (!bus)
		return 2;
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "RevokeSession", &e, NULL, "o",
			       ROOT "/session/1");
	if (r >= 0 || !sd_bus_error_has_name(&e, DXM_ERROR_ACCESS_DENIED))
		fails |= 4;
	sd_bus_error_free(&e);
	r = open_session(bus, "Anonymous", "b", 1, &e);
	if (r >= 0 || !sd_bus_error_has_name(&e, DXM_ERROR_ACCESS_DENIED))
		fails |= 8;
	sd_bus_error_free(&e);
	r = open_session(bus, NULL, NULL, 0, &e);
	if (r >= 0 || !sd_bus_error_has_name(&e, DXM_ERROR_MODULE_NOT_LOADED))
		fails |= 16;
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "ListSessions", &e, &reply, "");
	if (r < 0)
		fails |= 32;
	sd_bus_error_free(&e);
	/* AllowPageCache=no: page-cache sessions are root's. */
	r = open_session(bus, "PageCache", "b", 1, &e);
	if (r >= 0 || !sd_bus_error_has_name(&e, DXM_ERROR_ACCESS_DENIED))
		fails |= 64;
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return fails;
}

static int on_props_changed(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	const char *iface;

	if (sd_bus_message_read(m, "s", &iface) >= 0 && strcmp(iface, MGR) == 0)
		(*(int *)userdata)++;
	return 0;
}

/* --- sessions, over the fake control node ------------------------------ */

typedef struct Counts {
	int added, removed, revoked, session_changed;
} Counts;

static int on_added(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	((Counts *)userdata)->added++;
	return 0;
}

static int on_removed(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	((Counts *)userdata)->removed++;
	return 0;
}

static int on_revoked(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	((Counts *)userdata)->revoked++;
	return 0;
}

static int on_session_changed(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	const char *iface;

	if (sd_bus_message_read(m, "s", &iface) >= 0 &&
	    strcmp(iface, DXM_SESSION_IFACE) == 0)
		((Counts *)userdata)->session_changed++;
	return 0;
}

static void pump(sd_bus *bus, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (now_ms() < end) {
		int r = sd_bus_process(bus, NULL);

		/* A full notify socket would block the daemon's sd_notify(). */
		drain_notify();

		if (r < 0)
			break;
		if (r == 0)
			sd_bus_wait(bus, 20000);
	}
}

/* OpenSession(PageCache, and Write if @write): the path into @path, a
 * dup of the fd into *@fd (closing the previous one). */
static int open_full(sd_bus *bus, bool write, char *path, size_t size, int *fd,
		     sd_bus_error *e)
{
	sd_bus_message *reply = NULL;
	const char *p;
	int r, f;

	/* Each OpenSession sends FDSTORE=1 twice and a STATUS=: room for them. */
	drain_notify();
	if (write)
		r = sd_bus_call_method(bus, DEST, ROOT, MGR, "OpenSession", e, &reply, "a{sv}", 2,
				       "Write", "b", 1, "PageCache", "b", 1);
	else
		r = sd_bus_call_method(bus, DEST, ROOT, MGR, "OpenSession", e, &reply, "a{sv}", 1,
				       "PageCache", "b", 1);
	if (r >= 0)
		r = sd_bus_message_read(reply, "oh", &p, &f);
	if (r >= 0) {
		snprintf(path, size, "%s", p);
		if (*fd >= 0)
			close(*fd);
		*fd = fcntl(f, F_DUPFD_CLOEXEC, 3);
	}
	sd_bus_message_unref(reply);
	return r;
}

/* AttachFile; the report's Path into @rpath, its Grant into *@grant. */
static int attach_full(sd_bus *bus, const char *path, int fd, uint64_t off, uint64_t len,
		       const char *opt, sd_bus_error *e, char *rpath, size_t rsize,
		       uint64_t *grant)
{
	sd_bus_message *reply = NULL;
	int r;

	drain_notify();		/* a new state record goes to the fd store */
	if (opt)
		r = sd_bus_call_method(bus, DEST, path, DXM_SESSION_IFACE, "AttachFile", e,
				       &reply, "htta{sv}", fd, off, len, 1, opt, "b", 1);
	else
		r = sd_bus_call_method(bus, DEST, path, DXM_SESSION_IFACE, "AttachFile", e,
				       &reply, "htta{sv}", fd, off, len, 0);
	if (r >= 0 && (rpath || grant)) {
		const char *key;

		if (rpath)
			rpath[0] = '\0';
		r = sd_bus_message_enter_container(reply, 'a', "{sv}");
		while (r >= 0 && sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
			r = sd_bus_message_read(reply, "s", &key);
			if (r >= 0 && rpath && strcmp(key, "Path") == 0) {
				const char *v;

				r = sd_bus_message_read(reply, "v", "s", &v);
				if (r >= 0)
					snprintf(rpath, rsize, "%s", v);
			} else if (r >= 0 && grant && strcmp(key, "Grant") == 0) {
				r = sd_bus_message_read(reply, "v", "t", grant);
			} else if (r >= 0) {
				r = sd_bus_message_skip(reply, "v");
			}
			if (r >= 0)
				r = sd_bus_message_exit_container(reply);
		}
	}
	sd_bus_message_unref(reply);
	return r;
}

static int attach(sd_bus *bus, const char *path, int fd, uint64_t off, uint64_t len,
		  const char *opt, sd_bus_error *e, char *rpath, size_t rsize)
{
	return attach_full(bus, path, fd, off, len, opt, e, rpath, rsize, NULL);
}

static int detach(sd_bus *bus, const char *path, uint64_t grant, sd_bus_error *e)
{
	drain_notify();
	return sd_bus_call_method(bus, DEST, path, DXM_SESSION_IFACE, "DetachFile", e, NULL,
				  "t", grant);
}

static bool wait_session_count(sd_bus *bus, uint32_t want, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	uint32_t u = UINT32_MAX;

	while (now_ms() < end) {
		if (get_u32(bus, "SessionCount", &u) >= 0 && u == want)
			return true;
		pump(bus, 50);
	}
	return false;
}

static void send_event(const char *fifo, uint32_t type, uint64_t id)
{
	struct {
		uint32_t type, flags;
		uint64_t session_id, mirror_id, seq;
	} ev = { .type = type, .session_id = id };
	int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 || write(fd, &ev, sizeof(ev)) != sizeof(ev))
		tap_diag("writing an event to %s: %m", fifo);
	if (fd >= 0)
		close(fd);
}

/* As nobody, on root's session @path (opened by @opener, its range
 * @grant attached): AttachFile, DetachFile, Close and Revoke refused, and
 * neither ListSessions nor GetSessionByPID shows it. */
static int nobody_on_session(const char *path, int filefd, uint64_t grant, pid_t opener)
{
	sd_bus_message *reply = NULL;
	const char *o = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus *bus;
	int fails = 0, r;

	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		return 1;
	bus = connect_bus();
	if (!bus)
		return 2;
	r = attach(bus, path, filefd, 0, 4096, NULL, &e, NULL, 0);
	if (r >= 0 || !sd_bus_error_has_name(&e, DXM_ERROR_ACCESS_DENIED))
		fails |= 4;
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, path, DXM_SESSION_IFACE, "Close", &e, NULL, "");
	if (r >= 0 || !sd_bus_error_has_name(&e, DXM_ERROR_ACCESS_DENIED))
		fails |= 8;
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, path, DXM_SESSION_IFACE, "Revoke", &e, NULL, "");
	if (r >= 0 || !sd_bus_error_has_name(&e, DXM_ERROR_ACCESS_DENIED))
		fails |= 16;
	sd_bus_error_free(&e);
	r = detach(bus, path, grant, &e);
	if (r >= 0 || !sd_bus_error_has_name(&e, DXM_ERROR_ACCESS_DENIED))
		fails |= 32;
	sd_bus_error_free(&e);
	/* Another uid's sessions are not listed, nor found by its pid. */
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "ListSessions", &e, &reply, "");
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "(tousu)");
	if (r < 0 || sd_bus_message_at_end(reply, false) <= 0)
		fails |= 64;
	reply = sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "GetSessionByPID", &e, &reply, "u",
			       (uint32_t)opener);
	if (r >= 0)
		(void)sd_bus_message_read(reply, "o", &o);
	if (r >= 0 || !sd_bus_error_has_name(&e, DXM_ERROR_NO_SUCH_SESSION))
		fails |= 128;
	if (o)
		tap_diag("nobody got %s by the pid of its root opener", o);
	reply = sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	sd_bus_flush_close_unref(bus);
	return fails;
}

/* GetAll of the Session at @path: the t properties @names (@n of them)
 * into @v, Backend into @backend (@size bytes, "" if not in the answer). */
static int session_get_all(sd_bus *bus, const char *path, const char *const *names,
			   uint64_t *v, size_t n, char *backend, size_t size)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *key, *b;
	int r;

	backend[0] = '\0';
	r = sd_bus_call_method(bus, DEST, path, "org.freedesktop.DBus.Properties", "GetAll",
			       &e, &reply, "s", DXM_SESSION_IFACE);
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (r >= 0 && sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
		size_t i = 0;

		r = sd_bus_message_read(reply, "s", &key);
		while (r >= 0 && i < n && strcmp(key, names[i]) != 0)
			i++;
		if (r >= 0 && i < n) {
			r = sd_bus_message_read(reply, "v", "t", &v[i]);
		} else if (r >= 0 && strcmp(key, "Backend") == 0) {
			r = sd_bus_message_read(reply, "v", "s", &b);
			if (r >= 0)
				snprintf(backend, size, "%s", b);
		} else if (r >= 0) {
			r = sd_bus_message_skip(reply, "v");
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	return r;
}

/* The number of ranges in @path's Files property, or -1. */
static int count_files(sd_bus *bus, const char *path)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int n = -1;

	if (sd_bus_get_property(bus, DEST, path, DXM_SESSION_IFACE, "Files", &e, &reply,
				"a(sttb)") >= 0 &&
	    sd_bus_message_enter_container(reply, 'a', "(sttb)") >= 0)
		for (n = 0; sd_bus_message_skip(reply, "(sttb)") > 0; n++)
			;
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return n;
}

static void session_phase(const char *fake)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus_slot *slots[4] = { NULL };
	sd_bus *bus = NULL, *bus2 = NULL;
	Counts c = { 0 };
	char fifo[300], file[300], p1[128], p2[128], p3[128], rpath[4096];
	uint64_t g1 = 0, g2 = 0;
	char *str = NULL;
	int fd1 = -1, fd2 = -1, fd3 = -1, ffd = -1, rofd = -1, r;
	uint32_t u = 0;
	uint64_t t = 0;
	pid_t pid, child;

	snprintf(fifo, sizeof(fifo), "%s/control", tmpdir);
	snprintf(file, sizeof(file), "%s/data", tmpdir);
	if (mkfifo(fifo, 0600) < 0) {
		tap_ok(0, "mkfifo: %m");
		return;
	}
	ffd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ffd < 0 || ftruncate(ffd, 16384) < 0) {
		tap_ok(0, "data file: %m");
		return;
	}
	rofd = open(file, O_RDONLY | O_CLOEXEC);
	write_file(conf_path, "[Limits]\nMaxSessionsPerUser=2\nMaxBytesPerUser=12K\n"
		   "MaxFilesPerSession=2\n");
	drain_notify();
	{
		const char *args[] = { "--bus-address", address, "--control", fifo,
				       "--config", conf_path, NULL };

		pid = start_daemon_at(fake, args, false);
	}
	r = wait_notify(pid, "READY=1", 20000);
	if (!tap_ok(r == 0, "fake module: daemon ready"))
		goto out;
	bus = connect_bus();
	if (!tap_ok(bus != NULL, "fake module: connected"))
		goto out;
	sd_bus_match_signal(bus, &slots[0], DEST, ROOT, "org.freedesktop.DBus.ObjectManager",
			    "InterfacesAdded", on_added, &c);
	sd_bus_match_signal(bus, &slots[1], DEST, ROOT, "org.freedesktop.DBus.ObjectManager",
			    "InterfacesRemoved", on_removed, &c);
	sd_bus_match_signal(bus, &slots[2], DEST, NULL, DXM_SESSION_IFACE, "Revoked",
			    on_revoked, &c);
	sd_bus_match_signal(bus, &slots[3], DEST, NULL, "org.freedesktop.DBus.Properties",
			    "PropertiesChanged", on_session_changed, &c);

	r = sd_bus_get_property_string(bus, DEST, ROOT, MGR, "ModuleState", &e, &str);
	tap_ok(r >= 0 && str && strcmp(str, "loaded") == 0, "ModuleState is \"loaded\"");
	free(str);
	str = NULL;
	sd_bus_error_free(&e);
	r = get_u32(bus, "ModuleVersion", &u);
	tap_ok(r >= 0 && u == 1, "ModuleVersion is 1");

	r = open_full(bus, true, p1, sizeof(p1), &fd1, &e);
	tap_ok(r >= 0 && strcmp(p1, ROOT "/session/1") == 0 && fd1 >= 0,
	       "OpenSession(Write, PageCache) -> %s and an fd (%s)", r >= 0 ? p1 : "-",
	       err_name(&e, r));
	sd_bus_error_free(&e);
	pump(bus, 200);
	tap_ok(c.added == 1, "InterfacesAdded for it");
	r = get_u32(bus, "SessionCount", &u);
	tap_ok(r >= 0 && u == 1, "SessionCount is 1");
	r = sd_bus_get_property_trivial(bus, DEST, p1, DXM_SESSION_IFACE, "UID", &e, 'u', &u);
	tap_ok(r >= 0 && u == geteuid(), "Session.UID is the caller's");
	r = sd_bus_get_property_trivial(bus, DEST, p1, DXM_SESSION_IFACE, "PID", &e, 'u', &u);
	tap_ok(r >= 0 && u == (uint32_t)getpid(), "Session.PID is the opener's until bound");
	r = sd_bus_get_property_trivial(bus, DEST, p1, DXM_SESSION_IFACE, "Id", &e, 't', &t);
	tap_ok(r >= 0 && t == 1, "Session.Id is 1");
	r = sd_bus_get_property_string(bus, DEST, p1, DXM_SESSION_IFACE, "State", &e, &str);
	tap_ok(r >= 0 && str && strcmp(str, "new") == 0, "Session.State is \"new\"");
	free(str);
	str = NULL;
	r = sd_bus_get_property_string(bus, DEST, p1, DXM_SESSION_IFACE, "Backend", &e, &str);
	tap_ok(r >= 0 && str && strcmp(str, "cpu") == 0, "Session.Backend is \"cpu\" (%s)",
	       r >= 0 && str ? str : err_name(&e, r));
	free(str);
	str = NULL;
	sd_bus_error_free(&e);
	{
		int b = 0;

		r = sd_bus_get_property_trivial(bus, DEST, p1, DXM_SESSION_IFACE, "Write",
						&e, 'b', &b);
		tap_ok(r >= 0 && b, "Session.Write is true");
	}
	sd_bus_error_free(&e);

	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "GetSessionByPID", &e, &reply, "u", 0);
	{
		const char *o = NULL;

		if (r >= 0)
			r = sd_bus_message_read(reply, "o", &o);
		tap_ok(r >= 0 && o && strcmp(o, p1) == 0, "GetSessionByPID(0) -> %s", p1);
	}
	reply = sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "ListSessions", &e, &reply, "");
	{
		uint64_t id = 0;
		const char *o = NULL, *st = NULL;
		uint32_t uid = 0, lpid = 0;

		if (r >= 0)
			r = sd_bus_message_read(reply, "a(tousu)", 1, &id, &o, &uid, &st, &lpid);
		tap_ok(r >= 0 && id == 1 && o && strcmp(o, p1) == 0 && uid == geteuid() &&
		       st && strcmp(st, "new") == 0 && lpid == (uint32_t)getpid(),
		       "ListSessions -> (1, %s, uid, \"new\", pid)", p1);
	}
	reply = sd_bus_message_unref(reply);
	sd_bus_error_free(&e);

	/* AttachFile. */
	r = attach_full(bus, p1, ffd, 0, 8192, "Write", &e, rpath, sizeof(rpath), &g1);
	tap_ok(r >= 0 && strcmp(rpath, file) == 0 && g1 > 0,
	       "AttachFile(rw, 0, 8192, Write) -> Path %s, Grant %" PRIu64 " (%s)",
	       rpath, g1, err_name(&e, r));
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, p1, "org.freedesktop.DBus.Properties", "Get", &e, &reply,
			       "ss", DXM_SESSION_IFACE, "Files");
	{
		const char *fp = NULL;
		uint64_t off = 1, len = 0;
		int w = 0;

		if (r >= 0)
			r = sd_bus_message_read(reply, "v", "a(sttb)", 1, &fp, &off, &len, &w);
		tap_ok(r >= 0 && fp && strcmp(fp, file) == 0 && off == 0 && len == 8192 && w,
		       "Session.Files lists it");
	}
	reply = sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	r = attach(bus, p1, ffd, 8192, 8192, NULL, &e, NULL, 0);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_QUOTA_EXCEEDED),
	       "8 KiB more over MaxBytesPerUser=12K -> QuotaExceeded (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = attach(bus, p1, rofd, 0, 4096, "Write", &e, NULL, 0);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_BAD_FILE),
	       "a read-only fd with Write -> BadFile (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = attach(bus, p1, ffd, 100, 4096, NULL, &e, NULL, 0);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_INVALID_RANGE),
	       "an unaligned offset -> InvalidRange (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = attach(bus, p1, ffd, 0, 4096, "Bogus", &e, NULL, 0);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_INVALID_OPTION),
	       "an unknown AttachFile option -> InvalidOption (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, p1, DXM_SESSION_IFACE, "AttachFile", &e, NULL,
			       "stta{sv}", "not-an-fd", (uint64_t)0, (uint64_t)4096, 0);
	tap_ok(r < 0 && e.name, "AttachFile with a string for the fd -> error (%s)", err_name(&e, r));
	sd_bus_error_free(&e);

	/* MaxFilesPerSession=2, and DetachFile gives a range back. */
	r = attach_full(bus, p1, ffd, 0, 4096, NULL, &e, NULL, 0, &g2);
	tap_ok(r >= 0 && g2 != g1, "a second range (Grant %" PRIu64 ") (%s)", g2, err_name(&e, r));
	sd_bus_error_free(&e);
	r = attach(bus, p1, ffd, 4096, 4096, NULL, &e, NULL, 0);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_TOO_MANY_FILES) &&
	       strstr(e.message, "MaxFilesPerSession=2"),
	       "a third over MaxFilesPerSession=2 -> TooManyFiles naming the limit (%s: %s)",
	       err_name(&e, r), e.message ? e.message : "");
	sd_bus_error_free(&e);
	r = detach(bus, p1, g2, &e);
	tap_ok(r >= 0, "DetachFile(%" PRIu64 ") (%s)", g2, err_name(&e, r));
	sd_bus_error_free(&e);
	r = count_files(bus, p1);
	tap_ok(r == 1, "Files lists the one range left (%d)", r);
	r = detach(bus, p1, g2, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_NOT_ATTACHED),
	       "DetachFile of it again -> NotAttached (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	/* Its slot and its bytes (12K = MaxBytesPerUser) are free again. */
	r = attach_full(bus, p1, ffd, 4096, 4096, NULL, &e, NULL, 0, &g2);
	if (r >= 0)
		r = detach(bus, p1, g2, &e);
	tap_ok(r >= 0, "after the detach, another 4 KiB range fits (and goes) (%s)",
	       err_name(&e, r));
	sd_bus_error_free(&e);

	if (geteuid() == 0) {
		child = fork();
		if (child == 0)
			_exit(nobody_on_session(p1, ffd, g1, getppid()));
		r = wait_exit(child, 20000);
		tap_ok(r == 0, "as nobody on root's session: AttachFile, DetachFile, Close, Revoke "
		       "-> AccessDenied; ListSessions and GetSessionByPID do not show it "
		       "(failed checks: 0x%x)", r);
		r = count_files(bus, p1);
		tap_ok(r == 1, "root's range is still attached (%d)", r);
	}

	/* Session quota. 8 KiB of MaxBytesPerUser=12K are attached: a
	 * session may not be promised more than the 4 KiB left. */
	r = open_session(bus, "MaxBytes", "t", 8192, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_QUOTA_EXCEEDED),
	       "MaxBytes 8K with 4K of MaxBytesPerUser=12K left -> QuotaExceeded (%s)",
	       err_name(&e, r));
	sd_bus_error_free(&e);
	r = open_full(bus, false, p2, sizeof(p2), &fd2, &e);
	tap_ok(r >= 0, "a second session: %s", r >= 0 ? p2 : err_name(&e, r));
	sd_bus_error_free(&e);
	r = attach(bus, p2, ffd, 0, 4096, "Write", &e, NULL, 0);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_ACCESS_DENIED),
	       "AttachFile(Write) on a session opened without Write -> AccessDenied (%s)",
	       err_name(&e, r));
	sd_bus_error_free(&e);
	r = open_full(bus, false, p3, sizeof(p3), &fd3, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_QUOTA_EXCEEDED),
	       "a third over MaxSessionsPerUser=2 -> QuotaExceeded (%s)", err_name(&e, r));
	sd_bus_error_free(&e);

	/* Close. */
	c.removed = 0;
	r = sd_bus_call_method(bus, DEST, p2, DXM_SESSION_IFACE, "Close", &e, NULL, "");
	tap_ok(r >= 0, "Close() of the second (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	pump(bus, 200);
	tap_ok(c.removed == 1 && wait_session_count(bus, 1, 2000),
	       "InterfacesRemoved; SessionCount back to 1");
	r = sd_bus_call_method(bus, DEST, p2, DXM_SESSION_IFACE, "Close", &e, NULL, "");
	tap_ok(r < 0, "the closed object is gone (%s)", err_name(&e, r));
	sd_bus_error_free(&e);

	/*
	 * An idle session costs nothing: no signal, and no SESSION_INFO in
	 * between (the fake counts each one in DeviceFaults), while a read
	 * of a counter asks the module then and there.
	 */
	{
		uint64_t t0 = 0;

		r = sd_bus_get_property_trivial(bus, DEST, p1, DXM_SESSION_IFACE,
						"DeviceFaults", &e, 't', &t0);
		sd_bus_error_free(&e);
		c.session_changed = 0;
		pump(bus, 2600);
		tap_ok(c.session_changed == 0,
		       "idle session: %d PropertiesChanged in 2.6 s", c.session_changed);
		r = sd_bus_get_property_trivial(bus, DEST, p1, DXM_SESSION_IFACE,
						"DeviceFaults", &e, 't', &t);
		tap_ok(r >= 0 && t == t0 + 1,
		       "DeviceFaults read from the module when asked, never in between "
		       "(%" PRIu64 " then %" PRIu64 ")", t0, t);
		sd_bus_error_free(&e);
	}
	/* GetAll reads the session once (PID, State, MirroredBytes, Backend
	 * and eight counters come from one SESSION_INFO), then a Get once
	 * more. A CPU session has no DMA counters. */
	{
		static const char *const names[] = { "DeviceFaults", "DmaTransfers", "DmaMappings" };
		uint64_t v[ARRAY_SIZE(names)] = { 0 }, after = 0;
		char backend[32];

		r = session_get_all(bus, p1, names, v, ARRAY_SIZE(names), backend, sizeof(backend));
		if (r >= 0)
			r = sd_bus_get_property_trivial(bus, DEST, p1, DXM_SESSION_IFACE,
							"DeviceFaults", &e, 't', &after);
		tap_ok(r >= 0 && v[0] > 0 && after == v[0] + 1,
		       "GetAll asks the module once for all the session's counters "
		       "(%" PRIu64 " then %" PRIu64 ")", v[0], after);
		tap_ok(r >= 0 && strcmp(backend, "cpu") == 0 && v[1] == 0 && v[2] == 0,
		       "GetAll: Backend \"%s\", DmaTransfers %" PRIu64 ", DmaMappings %" PRIu64,
		       backend, v[1], v[2]);
		sd_bus_error_free(&e);
	}
	/* A burst of SESSION_CHANGED (a client reshaping mirrors in a loop)
	 * is re-read at most once per 100 ms, not once per event. */
	{
		uint64_t before = 0, after = 0, id1 = strtoull(strrchr(p1, '/') + 1, NULL, 10);

		r = sd_bus_get_property_trivial(bus, DEST, p1, DXM_SESSION_IFACE,
						"DeviceFaults", &e, 't', &before);
		sd_bus_error_free(&e);
		for (int i = 0; i < 50; i++)
			send_event(fifo, DAXMIRROR_EVENT_SESSION_CHANGED, id1);
		pump(bus, 350);
		if (r >= 0)
			r = sd_bus_get_property_trivial(bus, DEST, p1, DXM_SESSION_IFACE,
							"DeviceFaults", &e, 't', &after);
		tap_ok(r >= 0 && after - before - 1 >= 1 && after - before - 1 <= 5,
		       "50 SESSION_CHANGED at once: %" PRIu64 " re-reads in 350 ms",
		       after - before - 1);
		sd_bus_error_free(&e);
	}

	/* Revoke (root), or Close as the owner otherwise. */
	c.removed = 0;
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "RevokeSession", &e, NULL, "o", p1);
	if (geteuid() == 0) {
		tap_ok(r >= 0, "RevokeSession(%s) (%s)", p1, err_name(&e, r));
		pump(bus, 200);
		tap_ok(c.revoked == 1 && c.removed == 1, "Revoked and InterfacesRemoved emitted");
	} else {
		tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_ACCESS_DENIED),
		       "RevokeSession as non-root -> AccessDenied (%s)", err_name(&e, r));
		sd_bus_error_free(&e);
		r = sd_bus_call_method(bus, DEST, p1, DXM_SESSION_IFACE, "Close", &e, NULL, "");
		tap_ok(r >= 0, "the owner closes it instead (%s)", err_name(&e, r));
	}
	sd_bus_error_free(&e);
	tap_ok(wait_session_count(bus, 0, 2000), "SessionCount is 0");

	/* The owner leaves the bus. */
	bus2 = connect_bus();
	r = bus2 ? open_full(bus2, false, p3, sizeof(p3), &fd3, &e) : -EIO;
	tap_ok(r >= 0, "another client opens %s", r >= 0 ? p3 : err_name(&e, r));
	sd_bus_error_free(&e);
	bus2 = sd_bus_flush_close_unref(bus2);
	tap_ok(wait_session_count(bus, 0, 3000), "its session goes when it disconnects");

	/* Kernel events through the control node. */
	r = open_full(bus, false, p2, sizeof(p2), &fd2, &e);
	sd_bus_error_free(&e);
	send_event(fifo, DAXMIRROR_EVENT_MM_RELEASED, 4);
	tap_ok(r >= 0 && strcmp(p2, ROOT "/session/4") == 0 && wait_session_count(bus, 0, 3000),
	       "MM_RELEASED event: the session is dropped");
	c.revoked = 0;
	r = open_full(bus, false, p2, sizeof(p2), &fd2, &e);
	sd_bus_error_free(&e);
	send_event(fifo, DAXMIRROR_EVENT_REVOKED, 5);
	tap_ok(r >= 0 && wait_session_count(bus, 0, 3000), "REVOKED event: the session is dropped");
	pump(bus, 200);
	tap_ok(c.revoked == 1, "... with Session.Revoked");
	r = open_full(bus, false, p2, sizeof(p2), &fd2, &e);
	sd_bus_error_free(&e);
	send_event(fifo, DAXMIRROR_EVENT_OVERFLOW, 0);
	send_event(fifo, 99, 6);
	pump(bus, 300);
	tap_ok(r >= 0 && get_u32(bus, "SessionCount", &u) >= 0 && u == 1,
	       "OVERFLOW (resync) and an unknown event: the live session stays");

	/* SIGTERM with a session open: exit 0, no leak. */
	kill(pid, SIGTERM);
	r = wait_exit(pid, 20000);
	pid = -1;
	tap_ok(r == 0, "fake module: SIGTERM with a session open -> exit 0 (%d)", r);
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	for (size_t i = 0; i < 4; i++)
		sd_bus_slot_unref(slots[i]);
	sd_bus_flush_close_unref(bus);
	sd_bus_flush_close_unref(bus2);
	{
		int fds[] = { fd1, fd2, fd3, ffd, rofd };

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
}

/* --- a restart: what the fd store gives back ---------------------------- */

/* A record of session @id in the fd store as @name: a sealed memfd, or
 * (@sealed false) one anybody holding it could still rewrite. */
static void inject_record(const char *name, uint64_t id, const char *owner, bool sealed)
{
	char text[1024];
	int fd = memfd_create("record", MFD_CLOEXEC | MFD_ALLOW_SEALING), n;

	n = snprintf(text, sizeof(text),
		     "daxmirrord-session-state 2\nid %" PRIu64 "\nuid 0\npid 1\nowner %s\n"
		     "created 0\nwrite 1\npagecache 1\nanonymous 0\nmax-mirrors 64\n"
		     "max-bytes 12288\nattached 0\nend\n", id, owner);
	if (fd < 0 || write(fd, text, (size_t)n) != n ||
	    (sealed && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
				 F_SEAL_WRITE) < 0)) {
		tap_diag("injecting %s: %m", name);
		if (fd >= 0)
			close(fd);
		return;
	}
	store_add(name, fd);
}

/* The fake module's session @id, as the daemon left it, made @state. */
static void fake_set_state(const char *path, uint64_t id, uint32_t state)
{
	char out[8192] = "", line[256];
	FILE *f = fopen(path, "re");

	while (f && fgets(line, sizeof(line), f)) {
		uint64_t sid, a, b;
		uint32_t flags, st, mm, grants, backend;

		if (sscanf(line, "%" SCNu64 " %" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu32
			   " %" SCNu64 " %" SCNu64 " %" SCNu32, &sid, &flags, &st, &mm, &grants,
			   &a, &b, &backend) == 8 && sid == id)
			snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu32 " %" PRIu32 " %" PRIu32
				 " %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu32 "\n", sid, flags,
				 state, mm, grants, a, b, backend);
		strncat(out, line, sizeof(out) - strlen(out) - 1);
	}
	if (f)
		fclose(f);
	write_file(path, out);
}

/*
 * The daemon over the fake module stops (SIGTERM: its sessions stay in the
 * module and in the fd store, here the test's) and a second one starts
 * with the store passed back, as systemd does. While no daemon ran: one
 * session was revoked, the owner of another left the bus, and a record of
 * another session and an unsealed record were put in the store under the
 * first session's name, newer than its own. Only the first session comes
 * back, with its own record: its range, its grant, its bytes charged.
 */
static void restart_phase(const char *fake)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus *bus = NULL, *bus2 = NULL;
	char fifo[300], file[300], state[300], p1[128], p2[128], p3[128], name[64];
	int fd1 = -1, fd2 = -1, fd3 = -1, ffd = -1, r;
	uint64_t g1 = 0, g2 = 0;
	const char *owner = NULL;
	uint32_t u = 0;
	pid_t pid = -1;

	snprintf(fifo, sizeof(fifo), "%s/control", tmpdir);	/* session_phase()'s */
	snprintf(file, sizeof(file), "%s/data", tmpdir);
	snprintf(state, sizeof(state), "%s/fake-module", tmpdir);
	unlink(state);
	setenv("DAXMIRROR_FAKE_STATE", state, 1);
	ffd = open(file, O_RDWR | O_CLOEXEC);
	write_file(conf_path, "[Limits]\nMaxSessionsPerUser=3\nMaxBytesPerUser=12K\n");
	drain_notify();
	storing = true;
	{
		const char *args[] = { "--bus-address", address, "--control", fifo,
				       "--config", conf_path, NULL };

		pid = start_daemon_at(fake, args, false);
		r = wait_notify(pid, "READY=1", 20000);
		bus = r == 0 ? connect_bus() : NULL;
		bus2 = bus ? connect_bus() : NULL;
		if (!tap_ok(ffd >= 0 && bus2, "restart: the first daemon is ready"))
			goto out;
		r = open_full(bus, true, p1, sizeof(p1), &fd1, &e);
		if (r >= 0)
			r = attach_full(bus, p1, ffd, 0, 8192, "Write", &e, NULL, 0, &g1);
		if (r >= 0)
			r = open_full(bus, false, p2, sizeof(p2), &fd2, &e);
		if (r >= 0)
			r = open_full(bus2, false, p3, sizeof(p3), &fd3, &e);
		drain_notify();
		tap_ok(r >= 0, "restart: %s with 8 KiB attached (Grant %" PRIu64 "), %s, and %s "
		       "of another client (%s)", p1, g1, p2, p3, err_name(&e, r));
		sd_bus_error_free(&e);
		kill(pid, SIGTERM);
		r = wait_exit(pid, 20000);
		pid = -1;
		drain_notify();
		tap_ok(r == 0, "restart: the first daemon stops (SIGTERM), %zu fds in the store", n_store);
	}

	/* While no daemon runs. */
	bus2 = sd_bus_flush_close_unref(bus2);
	fake_set_state(state, strtoull(strrchr(p2, '/') + 1, NULL, 10), DAXMIRROR_STATE_REVOKED);
	/* Owned by the client that stays, so only Files tells them apart. */
	if (sd_bus_get_unique_name(bus, &owner) < 0)
		owner = ":1.1";
	snprintf(name, sizeof(name), "state-%s-1000", strrchr(p1, '/') + 1);
	inject_record(name, strtoull(strrchr(p2, '/') + 1, NULL, 10), owner, true);
	snprintf(name, sizeof(name), "state-%s-999", strrchr(p1, '/') + 1);
	inject_record(name, strtoull(strrchr(p1, '/') + 1, NULL, 10), owner, false);

	{
		const char *args[] = { "--bus-address", address, "--control", fifo,
				       "--config", conf_path, NULL };

		pid = start_daemon_at(fake, args, false);
		r = wait_notify(pid, "READY=1", 20000);
		if (!tap_ok(r == 0, "restart: the second daemon is ready with the store passed back"))
			goto out;
	}
	tap_ok(wait_session_count(bus, 1, 3000),
	       "restart: one session back; not the one revoked nor the one whose owner left "
	       "while no daemon ran");
	r = sd_bus_get_property_trivial(bus, DEST, p1, DXM_SESSION_IFACE, "UID", &e, 'u', &u);
	tap_ok(r >= 0 && u == geteuid(), "restart: %s is back, its UID the owner's (%s)", p1,
	       err_name(&e, r));
	sd_bus_error_free(&e);
	r = count_files(bus, p1);
	tap_ok(r == 1, "restart: its Files from its own record, not from a newer record of "
	       "another session nor an unsealed one (%d)", r);
	r = attach(bus, p1, ffd, 8192, 8192, NULL, &e, NULL, 0);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_QUOTA_EXCEEDED),
	       "restart: its 8 KiB still count: 8 KiB more over MaxBytesPerUser=12K -> "
	       "QuotaExceeded (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = attach_full(bus, p1, ffd, 8192, 4096, NULL, &e, NULL, 0, &g2);
	tap_ok(r >= 0 && g2 > g1, "restart: 4 KiB more fit, a new Grant %" PRIu64 " (%s)", g2,
	       err_name(&e, r));
	sd_bus_error_free(&e);
	r = detach(bus, p1, g1, &e);
	tap_ok(r >= 0, "restart: the Grant from before the restart detaches (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	kill(pid, SIGTERM);
	r = wait_exit(pid, 20000);
	pid = -1;
	tap_ok(r == 0, "restart: the second daemon exits 0 (%d)", r);
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	storing = false;
	for (size_t i = 0; i < n_store; i++)
		close(store[i].fd);
	n_store = 0;
	unsetenv("DAXMIRROR_FAKE_STATE");
	sd_bus_flush_close_unref(bus);
	sd_bus_flush_close_unref(bus2);
	{
		int fds[] = { fd1, fd2, fd3, ffd };

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
}

/* --- answers before announcements ------------------------------------- */

/* What the bus delivered to the test's connection, in arrival order: the
 * answer to the call being watched, and the daemon's signals. */
typedef struct Arrivals {
	uint64_t cookie;	/* of the call watched */
	int reply_at;		/* its answer's position, -1 until it came */
	int signals_before;	/* signals of the daemon before it */
	int signals_after;	/* ... and after it */
	int n;			/* messages seen */
	char first[96];		/* the first signal before the answer */
} Arrivals;

static int on_any(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	Arrivals *a = userdata;
	uint64_t cookie = 0;
	uint8_t type = 0;

	(void)sd_bus_message_get_type(m, &type);
	if ((type == SD_BUS_MESSAGE_METHOD_RETURN || type == SD_BUS_MESSAGE_METHOD_ERROR) &&
	    sd_bus_message_get_reply_cookie(m, &cookie) >= 0 && cookie == a->cookie) {
		a->reply_at = a->n++;
		return 0;
	}
	if (type != SD_BUS_MESSAGE_SIGNAL || !sd_bus_message_get_path(m) ||
	    strncmp(sd_bus_message_get_path(m), ROOT, strlen(ROOT)) != 0)
		return 0;
	a->n++;
	if (a->reply_at < 0) {
		if (!a->signals_before++)
			snprintf(a->first, sizeof(a->first), "%s.%s",
				 sd_bus_message_get_interface(m) ?: "?",
				 sd_bus_message_get_member(m) ?: "?");
	} else {
		a->signals_after++;
	}
	return 0;
}

/* Sends @call, pumps until its answer and @ms more; *@reply its answer.
 * The filter of @bus sees every message in the order the bus sent them. */
static int watch_call(sd_bus *bus, Arrivals *a, sd_bus_message *call, int ms,
		      sd_bus_message **reply)
{
	uint64_t end = now_ms() + 10000;
	int r;

	a->reply_at = -1;
	a->signals_before = a->signals_after = a->n = 0;
	a->first[0] = '\0';
	drain_notify();
	r = sd_bus_send(bus, call, &a->cookie);
	if (r < 0)
		return r;
	/* sd_bus_call() would queue the signals that came first behind the
	 * answer: wait on the connection, let the filter see the order. */
	while (a->reply_at < 0 && now_ms() < end) {
		sd_bus_message *m = NULL;
		uint64_t cookie = 0;

		/* What no handler took comes back here: the answer among them. */
		r = sd_bus_process(bus, &m);
		if (m && !*reply && sd_bus_message_get_reply_cookie(m, &cookie) >= 0 &&
		    cookie == a->cookie)
			*reply = m;
		else
			sd_bus_message_unref(m);
		drain_notify();
		if (r < 0)
			return r;
		if (r == 0)
			sd_bus_wait(bus, 20000);
	}
	pump(bus, ms);
	return a->reply_at >= 0 ? 0 : -ETIMEDOUT;
}

/*
 * A client waiting for a method's answer gets it before the daemon tells
 * the bus about what the method did (InterfacesAdded, PropertiesChanged,
 * InterfacesRemoved): each announcement is a message through the bus to
 * every listener, and the caller should not wait behind them. Checked by
 * order, not by time: the filter of one connection that both calls and
 * listens sees the answer first, the signals after.
 */
static void order_phase(const char *fake)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *call = NULL, *reply = NULL;
	sd_bus_slot *filter = NULL, *match = NULL;
	sd_bus *bus = NULL;
	Arrivals a = { 0 };
	char fifo[300], file[300], path[128] = "";
	uint64_t grant = 0;
	int ffd = -1, sfd = -1, r;
	pid_t pid = -1;

	snprintf(fifo, sizeof(fifo), "%s/control", tmpdir);	/* session_phase()'s */
	snprintf(file, sizeof(file), "%s/data", tmpdir);
	ffd = open(file, O_RDWR | O_CLOEXEC);
	write_file(conf_path, "[Limits]\nMaxSessionsPerUser=2\nMaxBytesPerUser=12K\n");
	drain_notify();
	{
		const char *args[] = { "--bus-address", address, "--control", fifo,
				       "--config", conf_path, NULL };

		pid = start_daemon_at(fake, args, false);
	}
	r = wait_notify(pid, "READY=1", 20000);
	bus = r == 0 ? connect_bus() : NULL;
	if (!tap_ok(ffd >= 0 && bus, "order: daemon ready"))
		goto out;
	sd_bus_add_filter(bus, &filter, on_any, &a);
	/* Every signal of the daemon's objects, as a listener would. */
	sd_bus_add_match(bus, &match, "type='signal',sender='" DEST "',path_namespace='" ROOT "'",
			 NULL, NULL);

	r = sd_bus_message_new_method_call(bus, &call, DEST, ROOT, MGR, "OpenSession");
	if (r >= 0)
		r = sd_bus_message_append(call, "a{sv}", 1, "PageCache", "b", 1);
	if (r >= 0)
		r = watch_call(bus, &a, call, 200, &reply);
	call = sd_bus_message_unref(call);
	if (r >= 0 && !sd_bus_message_is_method_error(reply, NULL)) {
		const char *p;
		int f;

		if (sd_bus_message_read(reply, "oh", &p, &f) >= 0) {
			snprintf(path, sizeof(path), "%s", p);
			sfd = fcntl(f, F_DUPFD_CLOEXEC, 3);
		}
	}
	reply = sd_bus_message_unref(reply);
	tap_ok(path[0] && a.signals_before == 0 && a.signals_after >= 2,
	       "order: OpenSession's answer comes before InterfacesAdded and SessionCount "
	       "(%d signals before it, first %s; %d after)", a.signals_before,
	       a.first[0] ? a.first : "-", a.signals_after);
	if (!path[0])
		goto out;

	r = sd_bus_message_new_method_call(bus, &call, DEST, path, DXM_SESSION_IFACE, "AttachFile");
	if (r >= 0)
		r = sd_bus_message_append(call, "htta{sv}", ffd, (uint64_t)0, (uint64_t)4096, 0);
	if (r >= 0)
		r = watch_call(bus, &a, call, 200, &reply);
	call = sd_bus_message_unref(call);
	if (r >= 0 && !sd_bus_message_is_method_error(reply, NULL) &&
	    sd_bus_message_enter_container(reply, 'a', "{sv}") >= 0) {
		const char *key;

		while (sd_bus_message_enter_container(reply, 'e', "sv") > 0 &&
		       sd_bus_message_read(reply, "s", &key) >= 0) {
			if (strcmp(key, "Grant") == 0)
				r = sd_bus_message_read(reply, "v", "t", &grant);
			else
				r = sd_bus_message_skip(reply, "v");
			if (r < 0 || sd_bus_message_exit_container(reply) < 0)
				break;
		}
	}
	reply = sd_bus_message_unref(reply);
	tap_ok(grant && a.signals_before == 0 && a.signals_after >= 1,
	       "order: AttachFile's answer comes before Files' PropertiesChanged "
	       "(%d signals before it, first %s; %d after)", a.signals_before,
	       a.first[0] ? a.first : "-", a.signals_after);

	r = sd_bus_message_new_method_call(bus, &call, DEST, path, DXM_SESSION_IFACE, "DetachFile");
	if (r >= 0)
		r = sd_bus_message_append(call, "t", grant);
	if (r >= 0)
		r = watch_call(bus, &a, call, 200, &reply);
	call = sd_bus_message_unref(call);
	tap_ok(r >= 0 && !sd_bus_message_is_method_error(reply, NULL) &&
	       a.signals_before == 0 && a.signals_after >= 1,
	       "order: DetachFile's answer comes before Files' PropertiesChanged "
	       "(%d signals before it, first %s; %d after)", a.signals_before,
	       a.first[0] ? a.first : "-", a.signals_after);
	reply = sd_bus_message_unref(reply);

	r = sd_bus_message_new_method_call(bus, &call, DEST, path, DXM_SESSION_IFACE, "Close");
	if (r >= 0)
		r = watch_call(bus, &a, call, 200, &reply);
	call = sd_bus_message_unref(call);
	tap_ok(r >= 0 && !sd_bus_message_is_method_error(reply, NULL) &&
	       a.signals_before == 0 && a.signals_after >= 2,
	       "order: Close's answer comes before InterfacesRemoved and SessionCount "
	       "(%d signals before it, first %s; %d after)", a.signals_before,
	       a.first[0] ? a.first : "-", a.signals_after);
	reply = sd_bus_message_unref(reply);

	kill(pid, SIGTERM);
	r = wait_exit(pid, 20000);
	pid = -1;
	tap_ok(r == 0, "order: the daemon exits 0 (%d)", r);
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	sd_bus_error_free(&e);
	sd_bus_slot_unref(match);
	sd_bus_slot_unref(filter);
	sd_bus_flush_close_unref(bus);
	if (sfd >= 0)
		close(sfd);
	if (ffd >= 0)
		close(ffd);
}

/* --- backends ------------------------------------------------------- */

/*
 * Sessions of a module that reaches memory by DMA, and of one whose
 * backend this daemon does not know: the fake module creates them with
 * $DAXMIRROR_FAKE_BACKEND. Backend says "dma" (with DmaTransfers and
 * DmaMappings from the same SESSION_INFO as DeviceFaults) or "unknown-7"
 * (no DMA counters); the Session's introspection matches the contract.
 */
static void backend_phase(const char *fake)
{
	static const struct {
		const char *env, *name;
		bool dma;
	} cases[] = { { "1", "dma", true }, { "7", "unknown-7", false } };
	static const char *const names[] = { "DeviceFaults", "DmaTransfers", "DmaMappings" };
	char fifo[300], file[300];
	int ffd;

	snprintf(fifo, sizeof(fifo), "%s/control", tmpdir);	/* session_phase()'s */
	snprintf(file, sizeof(file), "%s/data", tmpdir);
	ffd = open(file, O_RDWR | O_CLOEXEC);
	write_file(conf_path, "[Limits]\nMaxSessionsPerUser=2\nMaxBytesPerUser=12K\n");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *args[] = { "--bus-address", address, "--control", fifo,
				       "--config", conf_path, NULL };
		sd_bus_error e = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		sd_bus *bus = NULL;
		uint64_t v[ARRAY_SIZE(names)] = { 0 };
		char path[128] = "", backend[32] = "";
		const char *xml = NULL;
		int sfd = -1, r;
		pid_t pid;

		drain_notify();
		setenv("DAXMIRROR_FAKE_BACKEND", cases[i].env, 1);
		pid = start_daemon_at(fake, args, false);
		unsetenv("DAXMIRROR_FAKE_BACKEND");
		r = wait_notify(pid, "READY=1", 20000);
		bus = r == 0 ? connect_bus() : NULL;
		r = bus ? open_full(bus, false, path, sizeof(path), &sfd, &e) : -EIO;
		if (r >= 0)
			r = attach(bus, path, ffd, 0, 4096, NULL, &e, NULL, 0);
		if (r >= 0)
			r = session_get_all(bus, path, names, v, ARRAY_SIZE(names), backend,
					    sizeof(backend));
		if (cases[i].dma)
			tap_ok(r >= 0 && strcmp(backend, "dma") == 0 && v[0] > 0 && v[1] == v[0] &&
			       v[2] == 1, "backend DMA: Backend \"%s\", DmaTransfers %" PRIu64
			       " (DeviceFaults %" PRIu64 "), DmaMappings %" PRIu64 " (%s)", backend,
			       v[1], v[0], v[2], err_name(&e, r));
		else
			tap_ok(r >= 0 && strcmp(backend, cases[i].name) == 0 && v[1] == 0 &&
			       v[2] == 0, "backend %s: Backend \"%s\", DmaTransfers %" PRIu64
			       ", DmaMappings %" PRIu64 " (%s)", cases[i].env, backend, v[1], v[2],
			       err_name(&e, r));
		sd_bus_error_free(&e);
		if (i == 0 && r >= 0) {
			r = sd_bus_call_method(bus, DEST, path, "org.freedesktop.DBus.Introspectable",
					       "Introspect", &e, &reply, "");
			if (r >= 0)
				r = sd_bus_message_read(reply, "s", &xml);
			if (r >= 0 && xml)
				check_contract(xml, DXM_SESSION_IFACE, 26);
			else
				tap_ok(0, "Introspect %s (%s)", path, err_name(&e, r));
			reply = sd_bus_message_unref(reply);
			sd_bus_error_free(&e);
		}
		kill(pid, SIGTERM);
		r = wait_exit(pid, 20000);
		tap_ok(r == 0, "backend %s: the daemon exits 0 (%d)", cases[i].name, r);
		sd_bus_flush_close_unref(bus);
		if (sfd >= 0)
			close(sfd);
	}
	if (ffd >= 0)
		close(ffd);
}

int main(int argc, char **argv)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus_slot *slot = NULL;
	sd_bus *bus = NULL;
	bool root = geteuid() == 0;
	const char *busctl = getenv("BUSCTL");
	char *s = NULL, cmd[2048];
	uint32_t u = 0;
	pid_t pid, pid2;
	int r, changed = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DAXMIRRORD VERSION [CONTRACT_XML]\n", argv[0]);
		return EXIT_FAILURE;
	}
	daemon_path = argv[1];
	version = argv[2];
	contract = argc > 3 ? argv[3] : NULL;
	if (!getenv("DBUS_DAEMON") || !*getenv("DBUS_DAEMON")) {
		printf("1..0 # SKIP dbus-daemon not installed\n");
		return EXIT_SUCCESS;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0) {
		printf("1..0 # SKIP mkdtemp: %s\n", strerror(errno));
		return EXIT_SUCCESS;
	}
	if (start_bus() < 0 || open_notify_socket() < 0) {
		printf("Bail out! cannot start dbus-daemon\n");
		return EXIT_FAILURE;
	}
	tap_diag("private bus at %s", address);

	/* Startup failures. */
	snprintf(conf_path, sizeof(conf_path), "%s/daxmirrord.conf", tmpdir);
	write_file(conf_path, "[Limits]\nMaxSessionsPerUser=lots\n");
	{
		const char *args[] = { "--bus-address", address, "--control", "/nonexistent",
				       "--config", conf_path, NULL };

		tap_ok(wait_exit(start_daemon(args, false), 20000) == 1,
		       "a bad config at startup: exit status 1");
	}
	{
		const char *a1[] = { "--version", NULL }, *a2[] = { "--help", NULL },
			   *a3[] = { "--bogus", NULL }, *a4[] = { "extra", NULL };

		tap_ok(wait_exit(start_daemon(a1, false), 20000) == 0, "--version: exit 0");
		tap_ok(wait_exit(start_daemon(a2, false), 20000) == 0, "--help: exit 0");
		tap_ok(wait_exit(start_daemon(a3, false), 20000) == 1, "unknown option: exit 1");
		tap_ok(wait_exit(start_daemon(a4, false), 20000) == 1, "stray argument: exit 1");
	}
	snprintf(cmd, sizeof(cmd), "'%s' --version", daemon_path);
	s = run_capture(cmd);
	tap_ok(s && strstr(s, version), "--version prints %s", version);
	free(s);
	s = NULL;

	/* The daemon under test. */
	write_file(conf_path, "[Limits]\nMaxSessionsPerUser=7\nMaxMirrorsPerSession=64\n"
		   "[Policy]\nAllowPageCache=no\n");
	drain_notify();
	{
		const char *args[] = { "--bus-address", address, "--control", "/nonexistent",
				       "--config", conf_path, NULL };

		pid = start_daemon(args, false);
	}
	r = wait_notify(pid, "READY=1", 20000);
	if (!tap_ok(r == 0, "daemon sent READY=1 (%s)", strerror(-r))) {
		printf("Bail out! the daemon did not start\n");
		goto out;
	}
	bus = connect_bus();
	if (!tap_ok(bus != NULL, "connected to the private bus"))
		goto out;

	tap_ok(name_owned(bus), "the name " DEST " is owned");

	/* Introspection. */
	r = sd_bus_call_method(bus, DEST, ROOT, "org.freedesktop.DBus.Introspectable",
			       "Introspect", &e, &reply, "");
	{
		const char *xml = NULL;

		if (r >= 0)
			r = sd_bus_message_read(reply, "s", &xml);
		tap_ok(r >= 0 && xml && strstr(xml, "org.daxmirror1.Manager") &&
		       strstr(xml, "org.freedesktop.DBus.ObjectManager") &&
		       strstr(xml, "<node name=\"session\"/>"),
		       "Introspect: Manager, ObjectManager, child node 'session'");
		if (r >= 0 && xml)
			check_contract(xml, MGR, 13);
	}
	reply = sd_bus_message_unref(reply);
	sd_bus_error_free(&e);

	if (busctl && *busctl) {
		snprintf(cmd, sizeof(cmd), "'%s' --address='%s' introspect " DEST " " ROOT " 2>&1",
			 busctl, address);
		s = run_capture(cmd);
		tap_ok(s && strstr(s, ".OpenSession") && strstr(s, ".ListSessions") &&
		       strstr(s, ".GetSessionByPID") && strstr(s, ".RevokeSession") &&
		       strstr(s, ".ModuleState"),
		       "busctl introspect shows the Manager's methods");
		free(s);
		snprintf(cmd, sizeof(cmd), "'%s' --address='%s' get-property " DEST " " ROOT " " MGR
			 " ModuleState 2>&1", busctl, address);
		s = run_capture(cmd);
		tap_ok(s && strstr(s, "s \"missing\""), "busctl get-property ModuleState: %s",
		       s ? strtok(s, "\n") : "(failed)");
		free(s);
		snprintf(cmd, sizeof(cmd), "'%s' --address='%s' tree " DEST " 2>&1", busctl, address);
		s = run_capture(cmd);
		tap_ok(s && strstr(s, ROOT), "busctl tree shows " ROOT);
		free(s);
		s = NULL;
	} else {
		tap_ok(1, "# SKIP busctl not installed");
	}

	/* Properties. */
	r = sd_bus_get_property_string(bus, DEST, ROOT, MGR, "ModuleState", &e, &s);
	tap_ok(r >= 0 && s && strcmp(s, "missing") == 0, "ModuleState is \"missing\"");
	free(s);
	s = NULL;
	sd_bus_error_free(&e);
	r = sd_bus_get_property_string(bus, DEST, ROOT, MGR, "Version", &e, &s);
	tap_ok(r >= 0 && s && strcmp(s, version) == 0, "Version is %s", version);
	free(s);
	s = NULL;
	sd_bus_error_free(&e);
	tap_ok(get_u32(bus, "ModuleVersion", &u) >= 0 && u == 0, "ModuleVersion is 0");
	tap_ok(get_u32(bus, "SessionCount", &u) >= 0 && u == 0, "SessionCount is 0");
	tap_ok(get_u32(bus, "MaxSessionsPerUser", &u) >= 0 && u == 7,
	       "MaxSessionsPerUser is 7 (from --config)");
	{
		uint64_t t = 0;

		r = sd_bus_get_property_trivial(bus, DEST, ROOT, MGR, "MaxBytesPerUser", &e, 't', &t);
		tap_ok(r >= 0 && t == 64ULL << 30, "MaxBytesPerUser is the default 64G");
		sd_bus_error_free(&e);
	}

	/* OpenSession: options first, then quotas, then the module. */
	r = open_session(bus, NULL, NULL, 0, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_MODULE_NOT_LOADED),
	       "OpenSession({}) -> ModuleNotLoaded (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = open_session(bus, "Write", "b", 1, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_MODULE_NOT_LOADED),
	       "OpenSession(Write) -> ModuleNotLoaded (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = open_session(bus, "Bogus", "b", 1, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_INVALID_OPTION),
	       "unknown option -> InvalidOption (%s: %s)", err_name(&e, r), e.message);
	sd_bus_error_free(&e);
	r = open_session(bus, "Write", "u", 1, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_INVALID_OPTION),
	       "Write of type u -> InvalidOption (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = open_session(bus, "MaxBytes", "u", 4096, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_INVALID_OPTION),
	       "MaxBytes of type u -> InvalidOption (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = open_session(bus, "MaxMirrors", "u", 0, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_INVALID_OPTION),
	       "MaxMirrors 0 -> InvalidOption (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = open_session(bus, "MaxBytes", "t", 100, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_INVALID_OPTION),
	       "MaxBytes below a page -> InvalidOption (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = open_session(bus, "MaxMirrors", "u", 65, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_QUOTA_EXCEEDED),
	       "MaxMirrors over MaxMirrorsPerSession -> QuotaExceeded (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = open_session(bus, "MaxBytes", "t", (64ULL << 30) + 4096, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_QUOTA_EXCEEDED),
	       "MaxBytes over MaxBytesPerUser -> QuotaExceeded (%s)", err_name(&e, r));
	sd_bus_error_free(&e);

	/* Malformed calls: an error, and the daemon keeps serving. */
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "OpenSession", &e, NULL, "s", "oops");
	tap_ok(r < 0 && e.name, "OpenSession(s) -> error (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "GetSessionByPID", &e, NULL, "");
	tap_ok(r < 0 && e.name, "GetSessionByPID() without its argument -> error (%s)",
	       err_name(&e, r));
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "NoSuchMethod", &e, NULL, "");
	tap_ok(r < 0 && e.name, "unknown method -> error (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, ROOT "/session/1", DXM_SESSION_IFACE, "Close",
			       &e, NULL, "");
	tap_ok(r < 0 && e.name, "a session that does not exist -> error (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, ROOT "/session/01", DXM_SESSION_IFACE,
			       "Revoke", &e, NULL, "");
	tap_ok(r < 0 && e.name, "a non-canonical session path -> error (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	tap_ok(get_u32(bus, "SessionCount", &u) >= 0 && u == 0, "still serving after them");

	/* Admin calls and lookups. */
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "ListSessions", &e, &reply, "");
	if (r >= 0) {
		r = sd_bus_message_enter_container(reply, 'a', "(tousu)");
		if (r >= 0)
			r = sd_bus_message_at_end(reply, false);
	}
	tap_ok(r > 0, "ListSessions -> empty a(tousu)");
	reply = sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "GetSessionByPID", &e, NULL, "u", 0);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_NO_SUCH_SESSION),
	       "GetSessionByPID(0) -> NoSuchSession (%s)", err_name(&e, r));
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, ROOT, MGR, "RevokeSession", &e, NULL, "o",
			       ROOT "/session/1");
	tap_ok(r < 0 && sd_bus_error_has_name(&e, root ? DXM_ERROR_NO_SUCH_SESSION
						       : DXM_ERROR_ACCESS_DENIED),
	       "RevokeSession(unknown) -> %s (%s)", root ? "NoSuchSession" : "AccessDenied",
	       err_name(&e, r));
	sd_bus_error_free(&e);
	r = sd_bus_call_method(bus, DEST, ROOT, "org.freedesktop.DBus.ObjectManager",
			       "GetManagedObjects", &e, NULL, "");
	tap_ok(r >= 0, "GetManagedObjects works");
	sd_bus_error_free(&e);

	if (root) {
		pid2 = fork();
		if (pid2 == 0)
			_exit(as_nobody());
		r = wait_exit(pid2, 20000);
		tap_ok(r == 0, "as nobody: RevokeSession, Anonymous and PageCache (AllowPageCache=no) "
		       "-> AccessDenied, OpenSession -> ModuleNotLoaded, ListSessions works "
		       "(failed checks: 0x%x)", r);
	}

	/* SIGHUP with a bad config keeps the old one. */
	write_file(conf_path, "[Limits]\nMaxSessionsPerUser=3\nMaxBytesPerUser=12X\n");
	drain_notify();
	kill(pid, SIGHUP);
	r = wait_notify(pid, "READY=1", 10000);
	tap_ok(r == 0, "reload with a bad config done (READY=1)");
	r = get_u32(bus, "MaxSessionsPerUser", &u);
	tap_ok(r >= 0 && u == 7, "bad config on SIGHUP: MaxSessionsPerUser still 7 (%u)", u);

	/* A good one is taken, signalled, and applies. */
	r = sd_bus_match_signal(bus, &slot, DEST, ROOT, "org.freedesktop.DBus.Properties",
				"PropertiesChanged", on_props_changed, &changed);
	tap_ok(r >= 0, "subscribed to PropertiesChanged");
	write_file(conf_path, "[Limits]\nMaxSessionsPerUser=0\n");
	drain_notify();
	kill(pid, SIGHUP);
	r = wait_notify(pid, "READY=1", 10000);
	tap_ok(r == 0, "reload with a good config done");
	r = get_u32(bus, "MaxSessionsPerUser", &u);
	tap_ok(r >= 0 && u == 0, "good config on SIGHUP: MaxSessionsPerUser is 0 (%u)", u);
	{
		uint64_t end = now_ms() + 5000;

		while (!changed && now_ms() < end) {
			r = sd_bus_process(bus, NULL);
			if (r == 0)
				sd_bus_wait(bus, 100000);
		}
		tap_ok(changed > 0, "PropertiesChanged emitted for the Manager");
	}
	r = open_session(bus, NULL, NULL, 0, &e);
	tap_ok(r < 0 && sd_bus_error_has_name(&e, DXM_ERROR_QUOTA_EXCEEDED),
	       "MaxSessionsPerUser=0 -> QuotaExceeded (%s)", err_name(&e, r));
	sd_bus_error_free(&e);

	/* A second instance cannot take the name: exits 1 (address from env). */
	{
		const char *args[] = { "--control", "/nonexistent", "--config", conf_path, NULL };

		tap_ok(wait_exit(start_daemon(args, true), 20000) == 1,
		       "a second instance (bus from $DAXMIRRORD_BUS_ADDRESS) exits 1: name taken");
	}
	tap_ok(name_owned(bus), "the first instance still owns the name");

	/* SIGTERM: clean exit, 0 (ASan leak check included). */
	kill(pid, SIGTERM);
	r = wait_exit(pid, 20000);
	pid = -1;
	tap_ok(r == 0, "SIGTERM: exit status 0 (%d)", r);

	if (argc > 4) {
		session_phase(argv[4]);
		restart_phase(argv[4]);
		order_phase(argv[4]);
		backend_phase(argv[4]);
	}

	/* The bus goes away under a running daemon: it exits 1. */
	{
		const char *args[] = { "--bus-address", address, "--control", "/nonexistent",
				       "--config", "/nonexistent.conf", NULL };

		drain_notify();
		pid = start_daemon(args, false);
		r = wait_notify(pid, "READY=1", 20000);
		tap_ok(r == 0, "a daemon with a missing config file runs on defaults");
		slot = sd_bus_slot_unref(slot);
		bus = sd_bus_flush_close_unref(bus);
		kill(bus_pid, SIGTERM);
		waitpid(bus_pid, NULL, 0);
		bus_pid = -1;
		r = wait_exit(pid, 20000);
		pid = -1;
		tap_ok(r == 1, "bus lost: the daemon exits 1 (%d)", r);
	}

out:
	sd_bus_slot_unref(slot);
	sd_bus_flush_close_unref(bus);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (bus_pid > 0) {
		kill(bus_pid, SIGTERM);
		waitpid(bus_pid, NULL, 0);
	}
	if (notify_fd >= 0)
		close(notify_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", tmpdir);
	return tap_done();
}
