/* test-libdaxmirror.c - libdaxmirror on the host, without the kernel module:
 *  - argument checks (-EINVAL, nothing sent on the bus);
 *  - a private dbus-daemon with no broker: clean errors naming
 *    org.freedesktop.DBus.Error.ServiceUnknown;
 *  - a mock broker (a child process on the private bus) answering with each
 *    org.daxmirror1.Error.*: the errno mapping, and the unwinding of a
 *    mirror_file that fails after the session was opened (Session.Close
 *    called, no fd and no mapping left behind); the event-loop calls of
 *    a client without a session (get_fd, get_events, process,
 *    revoke_pending, acknowledge_revoke -ENOTCONN); the flow with a session
 *    needs the module (tests/guest/test-broker-graceful, test-lib-client);
 *  - the calling thread's last error: set by every failure (argument
 *    errors too), cleared by every success, per thread;
 *  - the version: daxmirror_version(), daxmirror_version_check() and the
 *    header's macros agree;
 *  - fork: every call of a child on its parent's client fails with ECHILD
 *    and sends nothing, client_free in the child closes nothing;
 *  - the real daxmirrord, if built, with --control /nonexistent: -ENXIO.
 * TAP output; skips (exit 77) without dbus-daemon. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-contract.h"
#include "libdaxmirror.h"
#include "private-bus.h"
#include "tap.h"

static char bus_dir[256];
static char bus_address[512];
static pid_t bus_pid = -1, mock_pid = -1, daemon_pid = -1;

static void stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

static void cleanup(void)
{
	char p[300];

	stop(&daemon_pid);
	stop(&mock_pid);
	stop(&bus_pid);
	if (*bus_dir) {
		snprintf(p, sizeof(p), "%s/bus.conf", bus_dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/bus", bus_dir);
		unlink(p);
		rmdir(bus_dir);
	}
}

static const char *tmpdir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

/* A private bus: dbus-daemon with its own config, no service activation. */
static int start_bus(const char *dbus_daemon)
{
	snprintf(bus_dir, sizeof(bus_dir), "%s/test-libdaxmirror-XXXXXX", tmpdir());
	if (!mkdtemp(bus_dir))
		return -errno;
	return dmt_private_bus_start(dbus_daemon, bus_dir, &bus_pid, bus_address,
				     sizeof(bus_address));
}

/* ---- The mock broker ------------------------------------------------------
 * Manager.OpenSession and Session.AttachFile/Close, plus a Test interface
 * to script them: SetMode(s open_error, s attach_error) ("" = succeed),
 * Stats() -> (u opens, u attaches, u closes). A successful OpenSession
 * passes an eventfd as the "session fd" (pollable, as the real one): the
 * library's BIND then fails with ENOTTY, which exercises the unwinding of
 * mirror_file. */

static char mock_open_error[128], mock_attach_error[128];
static unsigned mock_opens, mock_attaches, mock_closes;

static int mock_reply(sd_bus_message *m, const char *error)
{
	return sd_bus_reply_method_errorf(m, error, "mock broker refuses (%s)", error);
}

static int mock_open_session(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	int fd, r;

	mock_opens++;
	r = sd_bus_message_skip(m, "a{sv}");
	if (r < 0)
		return r;
	if (*mock_open_error)
		return mock_reply(m, mock_open_error);
	fd = eventfd(0, EFD_CLOEXEC);
	r = sd_bus_reply_method_return(m, "oh", DXM_SESSION_PREFIX "/1", fd);
	close(fd);
	return r;
}

static int mock_attach(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	mock_attaches++;
	if (*mock_attach_error)
		return mock_reply(m, mock_attach_error);
	return sd_bus_reply_method_return(m, "a{sv}", 1, "Dax", "b", 0);
}

static int mock_close(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	mock_closes++;
	return sd_bus_reply_method_return(m, "");
}

static int mock_set_mode(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	const char *o, *a;
	int r;

	r = sd_bus_message_read(m, "ss", &o, &a);
	if (r < 0)
		return r;
	snprintf(mock_open_error, sizeof(mock_open_error), "%s", o);
	snprintf(mock_attach_error, sizeof(mock_attach_error), "%s", a);
	return sd_bus_reply_method_return(m, "");
}

static int mock_stats(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	return sd_bus_reply_method_return(m, "uuu", mock_opens, mock_attaches, mock_closes);
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("OpenSession", "a{sv}", "oh", mock_open_session, 0),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable session_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("AttachFile", "htta{sv}", "a{sv}", mock_attach, 0),
	SD_BUS_METHOD("Close", "", "", mock_close, 0),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable test_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("SetMode", "ss", "", mock_set_mode, 0),
	SD_BUS_METHOD("Stats", "", "uuu", mock_stats, 0),
	SD_BUS_VTABLE_END,
};

static void mock_main(int ready_fd)
{
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, bus_address);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r >= 0)
		r = sd_bus_add_object_vtable(bus, NULL, DXM_OBJECT_ROOT,
					     DXM_MANAGER_IFACE, manager_vtable, NULL);
	if (r >= 0)
		r = sd_bus_add_object_vtable(bus, NULL, DXM_OBJECT_ROOT,
					     "org.daxmirror1.Test", test_vtable, NULL);
	if (r >= 0)
		r = sd_bus_add_object_vtable(bus, NULL, DXM_SESSION_PREFIX "/1",
					     DXM_SESSION_IFACE, session_vtable, NULL);
	if (r >= 0)
		r = sd_bus_request_name(bus, DXM_BUS_NAME, 0);
	if (r < 0) {
		fprintf(stderr, "mock broker: %s\n", strerror(-r));
		_exit(1);
	}
	(void)!write(ready_fd, "1", 1);
	close(ready_fd);
	for (;;) {
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			break;
		if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
			break;
	}
	sd_bus_flush_close_unref(bus);
	_exit(0);
}

static int start_mock(void)
{
	int pipefd[2];
	char c;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	mock_pid = fork();
	if (mock_pid < 0)
		return -errno;
	if (mock_pid == 0) {
		close(pipefd[0]);
		mock_main(pipefd[1]);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1) {
		close(pipefd[0]);
		return -EIO;
	}
	close(pipefd[0]);
	return 0;
}

static int mock_call(sd_bus *bus, const char *method, sd_bus_message **reply,
		     const char *sig, ...)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	va_list ap;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, DXM_BUS_NAME, DXM_OBJECT_ROOT,
					       "org.daxmirror1.Test", method);
	if (r < 0)
		return r;
	va_start(ap, sig);
	r = sd_bus_message_appendv(m, sig, ap);
	va_end(ap);
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, &err, reply);
	sd_bus_error_free(&err);
	sd_bus_message_unref(m);
	return r;
}

/* ---- Helpers --------------------------------------------------------------- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

/* Mappings of @fd's file in this process (/proc/self/maps by inode). */
static int count_maps(int fd)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long long ino;
	char line[1024];
	struct stat st;
	int n = 0;

	if (!f || fstat(fd, &st) < 0) {
		if (f)
			fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %llu", &ino) == 1 && ino == st.st_ino)
			n++;
	fclose(f);
	return n;
}

static int make_file(uint64_t size, int flags)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/test-libdaxmirror-file-XXXXXX", tmpdir());
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	if (flags != O_RDWR) {
		int fd2 = open(path, flags | O_CLOEXEC);

		close(fd);
		fd = fd2;
	}
	unlink(path);
	return fd;
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

/* ---- Tests ----------------------------------------------------------------- */

static void test_no_client(void)
{
	struct daxmirror_mirror *m = (void *)1;
	struct daxmirror_counters cnt;
	uint8_t pages[1];
	char buf[1];

	tap_ok(daxmirror_client_new(NULL, bus_address) == -EINVAL, "client_new(NULL) -> EINVAL");
	tap_ok(daxmirror_client_free(NULL) == NULL, "client_free(NULL) -> NULL");
	tap_ok(daxmirror_client_session_path(NULL) == NULL, "session_path(NULL) -> NULL");
	tap_ok(daxmirror_client_counters(NULL, &cnt) == -EINVAL &&
	       starts_with(daxmirror_client_last_error(NULL), "the client is NULL"),
	       "last_error(NULL): the thread's last error (%s)",
	       daxmirror_client_last_error(NULL) ?: "NULL");
	tap_ok(daxmirror_client_counters(NULL, &cnt) == -EINVAL, "client_counters(NULL) -> EINVAL");
	tap_ok(daxmirror_mirror_file(NULL, 0, 0, 0, 0, &m) == -EINVAL && m == (void *)1,
	       "mirror_file(NULL client) -> EINVAL, *ret untouched");
	tap_ok(daxmirror_mirror_free(NULL) == NULL, "mirror_free(NULL) -> NULL");
	tap_ok(daxmirror_mirror_addr(NULL) == NULL && daxmirror_mirror_length(NULL) == 0 &&
	       daxmirror_mirror_granularity(NULL) == NULL && !daxmirror_mirror_is_dax(NULL),
	       "mirror accessors of NULL");
	tap_ok(daxmirror_mirror_prefetch(NULL, 0, 4096, false) == -EINVAL &&
	       daxmirror_mirror_read(NULL, 0, buf, 1) == -EINVAL &&
	       daxmirror_mirror_write(NULL, 0, buf, 1) == -EINVAL &&
	       daxmirror_mirror_snapshot(NULL, 0, 4096, pages) == -EINVAL &&
	       daxmirror_mirror_counters(NULL, &cnt) == -EINVAL &&
	       daxmirror_mirror_persist(NULL, 0, 1) == -EINVAL,
	       "fast path on a NULL mirror -> EINVAL");
	tap_ok(daxmirror_client_get_fd(NULL) == -EINVAL && daxmirror_client_get_events(NULL) == -EINVAL &&
	       daxmirror_client_process(NULL) == -EINVAL &&
	       daxmirror_client_revoke_pending(NULL, NULL) == -EINVAL &&
	       daxmirror_client_acknowledge_revoke(NULL) == -EINVAL &&
	       daxmirror_client_get_state(NULL) == -EINVAL,
	       "revoke calls on a NULL client -> EINVAL");
}

static bool mock_stats_get(sd_bus *bus, unsigned *opens, unsigned *attaches, unsigned *closes);

/* ---- The thread's last error, the version ------------------------------ */

struct thread_result {
	bool fresh;		/* no message in a new thread */
	bool own;		/* its own failure's message */
	char msg[256];
};

static void *error_thread(void *arg)
{
	struct thread_result *t = arg;
	struct daxmirror_counters cnt;

	t->fresh = daxmirror_client_last_error(NULL) == NULL;
	t->own = daxmirror_mirror_read(NULL, 0, &cnt, 1) == -EINVAL &&
		 starts_with(daxmirror_client_last_error(NULL), "the mirror is NULL");
	snprintf(t->msg, sizeof(t->msg), "%s", daxmirror_client_last_error(NULL) ?: "NULL");
	return NULL;
}

static void test_last_error_threads(void)
{
	struct thread_result t = { 0 };
	pthread_t th;
	const char *e;

	tap_ok(daxmirror_client_counters(NULL, NULL) == -EINVAL, "a failure in the main thread");
	e = daxmirror_client_last_error(NULL);
	tap_ok(starts_with(e, "the client is NULL"), "... sets its last error (%s)", e ?: "NULL");
	if (pthread_create(&th, NULL, error_thread, &t) || pthread_join(th, NULL)) {
		tap_ok(false, "a second thread");
		return;
	}
	tap_ok(t.fresh, "a new thread has no last error");
	tap_ok(t.own, "its failure gives it its own message (%s)", t.msg);
	tap_ok(daxmirror_client_last_error(NULL) == e && starts_with(e, "the client is NULL"),
	       "the main thread's message is untouched (%s)", daxmirror_client_last_error(NULL) ?: "NULL");
}

static void test_version(void)
{
	const char *v = daxmirror_version();

	tap_ok(v && !strcmp(v, DAXMIRROR_VERSION_STRING), "daxmirror_version() = %s, the header's %s",
	       v ?: "NULL", DAXMIRROR_VERSION_STRING);
	tap_ok(DAXMIRROR_VERSION_CHECK(1, 3, 0) && DAXMIRROR_VERSION_CHECK(1, 2, 9) &&
	       DAXMIRROR_VERSION_CHECK(0, 9, 9) && !DAXMIRROR_VERSION_CHECK(1, 3, 1) &&
	       !DAXMIRROR_VERSION_CHECK(1, 4, 0) && !DAXMIRROR_VERSION_CHECK(2, 0, 0),
	       "DAXMIRROR_VERSION_CHECK: 1.3.0 is at least 1.3.0, 1.2.9, 0.9.9, not 1.3.1, 1.4, 2.0");
	tap_ok(daxmirror_version_check(1, 3, 0) == 1 && daxmirror_version_check(1, 2, 0) == 1 &&
	       daxmirror_version_check(1, 4, 0) == 0 && daxmirror_version_check(2, 0, 0) == 0,
	       "daxmirror_version_check() at run time: 1.2 and 1.3 yes, 1.4 and 2.0 no");
}

/* A child after fork: every call on the parent's client is -ECHILD and
 * reaches neither the broker (mock: no OpenSession) nor the kernel;
 * client_free in the child releases its copy only. */
static void test_fork(struct daxmirror_client *c, sd_bus *bus, int fd)
{
	unsigned opens, attaches, closes, o2, a2, c2;
	struct daxmirror_counters cnt;
	int status = -1;
	pid_t pid;

	mock_stats_get(bus, &opens, &attaches, &closes);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct daxmirror_mirror *m = NULL;
		uint64_t dl;
		int bad = 0, i = 0;

#define CHILD_ECHILD(call) do { if ((call) != -ECHILD) bad |= 1 << i; i++; } while (0)
		CHILD_ECHILD(daxmirror_client_get_fd(c));
		CHILD_ECHILD(daxmirror_client_get_events(c));
		CHILD_ECHILD(daxmirror_client_process(c));
		CHILD_ECHILD(daxmirror_client_revoke_pending(c, &dl));
		CHILD_ECHILD(daxmirror_client_get_state(c));
		CHILD_ECHILD(daxmirror_client_acknowledge_revoke(c));
		CHILD_ECHILD(daxmirror_client_counters(c, &cnt));
		CHILD_ECHILD(daxmirror_mirror_file(c, fd, 0, 0, 0, &m));
		if (!starts_with(daxmirror_client_last_error(c), "the client belongs to process"))
			bad |= 1 << i;
		i++;
		daxmirror_client_free(c);
		_exit(bad);
	}
	tap_ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status),
	       "a child calls everything on its parent's client");
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "... get_fd, get_events, process, revoke_pending, get_state, acknowledge_revoke, "
	       "client_counters, mirror_file: all -ECHILD with a message (failed: mask 0x%x)",
	       WIFEXITED(status) ? WEXITSTATUS(status) : 0xff);
	mock_stats_get(bus, &o2, &a2, &c2);
	tap_ok(o2 == opens && a2 == attaches && c2 == closes,
	       "the child sent nothing to the broker (%u %u %u)", o2 - opens, a2 - attaches,
	       c2 - closes);
	tap_ok(daxmirror_client_get_fd(c) >= 0 && daxmirror_client_process(c) == 0 &&
	       daxmirror_client_get_state(c) == DAXMIRROR_CLIENT_NO_SESSION,
	       "the parent's client still works");
}

/* The event loop of a client without a session: a socket to poll for
 * input, nothing to process, no revoke pending, nothing to acknowledge. */
static void test_events(struct daxmirror_client *c)
{
	uint64_t deadline = 42;
	struct stat st;
	int fd, ev;

	char link[64] = "", proc[64];

	fd = daxmirror_client_get_fd(c);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	tap_ok(fd >= 0 && fstat(fd, &st) == 0 && readlink(proc, link, sizeof(link) - 1) > 0 &&
	       !strcmp(link, "anon_inode:[eventpoll]"),
	       "get_fd: an epoll fd (%d, %s)", fd, link);
	ev = daxmirror_client_get_events(c);
	tap_ok(ev == POLLIN, "get_events: POLLIN (%d)", ev);
	tap_ok(daxmirror_client_get_state(c) == DAXMIRROR_CLIENT_NO_SESSION,
	       "get_state: NO_SESSION");
	tap_ok(daxmirror_client_process(c) == 0, "process: nothing pending -> 0");
	tap_ok(daxmirror_client_revoke_pending(c, &deadline) == 0 && deadline == 42,
	       "revoke_pending: 0, deadline untouched");
	tap_ok(daxmirror_client_acknowledge_revoke(c) == -ENOTCONN,
	       "acknowledge_revoke without a session -> ENOTCONN");
}

static void test_unreachable(void)
{
	struct daxmirror_client *c = (void *)1;
	char addr[300];
	int r;

	snprintf(addr, sizeof(addr), "unix:path=%s/no-such-bus", bus_dir);
	r = daxmirror_client_new(&c, addr);
	tap_ok(r < 0 && r > -4096 && c == (void *)1, "client_new on a missing socket fails (%s)",
	       strerror(-r));
	r = daxmirror_client_new(&c, "not an address");
	tap_ok(r < 0 && c == (void *)1, "client_new on a malformed address fails (%s)", strerror(-r));
}

static void test_arguments(void)
{
	struct daxmirror_client *c = NULL;
	struct daxmirror_mirror *m = NULL;
	struct daxmirror_counters cnt;
	int fd = make_file(4 << 20, O_RDWR), r;

	r = daxmirror_client_new(&c, bus_address);
	tap_ok(r == 0 && c, "client_new on the private bus");
	if (!c)
		return;
	/* Before this test registers anything itself (test_mock connects
	 * through dxm_bus_connect()): the library's map is in place. */
	tap_ok(sd_bus_error_get_errno(&SD_BUS_ERROR_MAKE_CONST(DXM_ERROR_NOT_REQUESTED, "")) ==
	       ESRCH, "client_new registered org.daxmirror1's error map");
	tap_ok(daxmirror_client_session_path(c) == NULL, "no session before the first mirror");
	tap_ok(daxmirror_client_last_error(c) == NULL, "no error yet");
	tap_ok(daxmirror_client_counters(c, &cnt) == -ENOTCONN, "counters before a session -> ENOTCONN");
	tap_ok(daxmirror_client_counters(c, NULL) == -EINVAL, "counters(NULL out) -> EINVAL");

	tap_ok(daxmirror_mirror_file(c, fd, 0, 0, 0, NULL) == -EINVAL, "mirror_file(NULL ret) -> EINVAL");
	tap_ok(daxmirror_mirror_file(c, -1, 0, 0, 0, &m) == -EINVAL, "mirror_file(fd -1) -> EINVAL");
	tap_ok(daxmirror_mirror_file(c, fd, 0, 0, 0x4, &m) == -EINVAL, "unknown flag 0x4 -> EINVAL");
	tap_ok(daxmirror_mirror_file(c, fd, 0, 0, ~0u, &m) == -EINVAL, "flags ~0 -> EINVAL");
	tap_ok(daxmirror_mirror_file(c, fd, 100, 0, 0, &m) == -EINVAL, "unaligned offset -> EINVAL");
	tap_ok(daxmirror_mirror_file(c, fd, 0, 100, 0, &m) == -EINVAL, "unaligned length -> EINVAL");
	tap_ok(daxmirror_mirror_file(c, fd, UINT64_MAX & ~4095ULL, 8192, 0, &m) == -EINVAL,
	       "offset + length overflows -> EINVAL");
	tap_ok(m == NULL, "no mirror returned");
	tap_ok(daxmirror_client_session_path(c) == NULL, "argument errors did not touch the bus");
	tap_ok(daxmirror_mirror_file(c, fd, 4097, 0, 0, &m) == -EINVAL &&
	       starts_with(daxmirror_client_last_error(c), "offset 4097 is not a multiple of 4096"),
	       "an argument error sets last_error (%s)", daxmirror_client_last_error(c) ?: "NULL");
	tap_ok(daxmirror_client_get_state(c) == DAXMIRROR_CLIENT_NO_SESSION &&
	       daxmirror_client_last_error(c) == NULL, "a successful call clears it");
	{
		int empty = make_file(0, O_RDWR);

		tap_ok(daxmirror_mirror_file(c, empty, 0, 0, 0, &m) == -ERANGE &&
		       starts_with(daxmirror_client_last_error(c), "offset 0 is at or past the end"),
		       "an empty file, length 0 -> ERANGE, no bus call (%s)",
		       daxmirror_client_last_error(c) ?: "NULL");
		tap_ok(daxmirror_mirror_file(c, fd, 4 << 20, 0, 0, &m) == -ERANGE,
		       "offset at the end of the file, length 0 -> ERANGE");
		close(empty);
	}
	tap_ok(daxmirror_client_session_path(c) == NULL, "still no bus traffic");
	c = daxmirror_client_free(c);
	tap_ok(c == NULL, "client_free returns NULL");
	close(fd);
}

/* The private bus, nobody owns org.daxmirror1. */
static void test_no_broker(void)
{
	struct daxmirror_client *c = NULL;
	struct daxmirror_mirror *m = NULL;
	int fd = make_file(4 << 20, O_RDWR), fds, maps, r;
	const char *e;

	r = daxmirror_client_new(&c, bus_address);
	tap_ok(r == 0, "client_new");
	if (r)
		return;
	fds = count_fds();
	maps = count_maps(fd);
	r = daxmirror_mirror_file(c, fd, 0, 0, LIBDAXMIRROR_MIRROR_WRITE, &m);
	e = daxmirror_client_last_error(c);
	tap_ok(r < 0 && r > -4096 && !m, "mirror_file without a broker fails cleanly (%d %s)", r,
	       strerror(-r));
	tap_ok(r == -EHOSTUNREACH, "... with -EHOSTUNREACH (ServiceUnknown)");
	tap_ok(starts_with(e, "org.freedesktop.DBus.Error.ServiceUnknown"),
	       "last_error names ServiceUnknown (%s)", e ? e : "NULL");
	tap_ok(daxmirror_client_session_path(c) == NULL, "still no session");
	tap_ok(count_fds() == fds && count_maps(fd) == maps, "no fd nor mapping left behind");
	c = daxmirror_client_free(c);

	/* $DAXMIRROR_BUS_ADDRESS when bus_address is NULL. */
	setenv("DAXMIRROR_BUS_ADDRESS", bus_address, 1);
	r = daxmirror_client_new(&c, NULL);
	tap_ok(r == 0, "client_new(NULL address) uses $DAXMIRROR_BUS_ADDRESS");
	if (r == 0) {
		r = daxmirror_mirror_file(c, fd, 0, 4096, 0, &m);
		tap_ok(r == -EHOSTUNREACH, "... and reaches the private bus (%d)", r);
		c = daxmirror_client_free(c);
	}
	unsetenv("DAXMIRROR_BUS_ADDRESS");
	close(fd);
}

static bool mock_stats_get(sd_bus *bus, unsigned *opens, unsigned *attaches, unsigned *closes)
{
	sd_bus_message *reply = NULL;
	int r;

	r = mock_call(bus, "Stats", &reply, "");
	if (r >= 0)
		r = sd_bus_message_read(reply, "uuu", opens, attaches, closes);
	sd_bus_message_unref(reply);
	return r >= 0;
}

static void test_mock(void)
{
	static const struct {
		const char *name;
		int err;
	} errors[] = {
		{ DXM_ERROR_ACCESS_DENIED, -EACCES },
		{ DXM_ERROR_QUOTA_EXCEEDED, -EDQUOT },
		{ DXM_ERROR_MODULE_NOT_LOADED, -ENXIO },
		{ DXM_ERROR_NO_SUCH_SESSION, -ENOENT },
		{ DXM_ERROR_INVALID_OPTION, -EINVAL },
		{ DXM_ERROR_INVALID_RANGE, -ERANGE },
		{ DXM_ERROR_BAD_FILE, -EBADF },
		{ DXM_ERROR_NOT_DAX, -EOPNOTSUPP },
		{ DXM_ERROR_BAD_BLOCKS, -EIO },
		{ DXM_ERROR_REVOKED, -ENODEV },
		{ DXM_ERROR_KERNEL, -EPROTO },
		{ DXM_ERROR_NOT_REQUESTED, -ESRCH },
		{ DXM_ERROR_PREFIX "SomethingNew", -EIO },
		{ "org.freedesktop.DBus.Error.AccessDenied", -EACCES },
		{ "org.freedesktop.DBus.Error.InvalidArgs", -EINVAL },
		{ "com.example.Weird", -EIO },
	};
	struct daxmirror_client *c = NULL;
	struct daxmirror_mirror *m = NULL;
	unsigned opens, attaches, closes, o2, a2, c2;
	sd_bus *bus = NULL;
	int fd, fds, maps, r;
	const char *e;

	r = start_mock();
	tap_ok(r == 0, "mock broker on the private bus");
	if (r)
		return;
	r = dxm_bus_connect(bus_address, "test-libdaxmirror", &bus);
	if (r < 0) {
		tap_ok(false, "test's own bus connection (%s)", strerror(-r));
		return;
	}
	r = daxmirror_client_new(&c, bus_address);
	tap_ok(r == 0, "client_new");
	if (r)
		goto out;
	fd = make_file(4 << 20, O_RDWR);
	test_events(c);
	test_fork(c, bus, fd);

	/* Each broker error of OpenSession becomes its errno. */
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		mock_call(bus, "SetMode", NULL, "ss", errors[i].name, "");
		r = daxmirror_mirror_file(c, fd, 0, 0, 0, &m);
		e = daxmirror_client_last_error(c);
		tap_ok(r == errors[i].err && starts_with(e, errors[i].name) && !m &&
		       !daxmirror_client_session_path(c),
		       "OpenSession %s -> %s (%d, %s)", errors[i].name, strerrorname_np(-errors[i].err),
		       r, e ? e : "NULL");
	}
	tap_ok(strstr(daxmirror_client_last_error(c), "mock broker refuses") != NULL,
	       "last_error carries the message");

	/* AttachFile refused: the session opened for this call is closed again. */
	mock_call(bus, "SetMode", NULL, "ss", "", DXM_ERROR_NOT_DAX);
	mock_stats_get(bus, &opens, &attaches, &closes);
	fds = count_fds();
	maps = count_maps(fd);
	r = daxmirror_mirror_file(c, fd, 0, 4096, LIBDAXMIRROR_MIRROR_WRITE, &m);
	mock_stats_get(bus, &o2, &a2, &c2);
	tap_ok(r == -EOPNOTSUPP, "AttachFile NotDax -> EOPNOTSUPP (%d)", r);
	tap_ok(o2 == opens + 1 && a2 == attaches + 1 && c2 == closes + 1,
	       "the session was opened, attached, then closed (%u %u %u)", o2 - opens,
	       a2 - attaches, c2 - closes);
	tap_ok(count_fds() == fds && count_maps(fd) == maps && !daxmirror_client_session_path(c),
	       "no session fd nor mapping left behind");

	/* Everything succeeds on the bus; BIND on the fake session fd fails
	 * with ENOTTY after the file was mapped: all of it is unwound. */
	mock_call(bus, "SetMode", NULL, "ss", "", "");
	opens = o2, attaches = a2, closes = c2;
	r = daxmirror_mirror_file(c, fd, 0, 0, LIBDAXMIRROR_MIRROR_WRITE |
				  LIBDAXMIRROR_MIRROR_PREFAULT, &m);
	mock_stats_get(bus, &o2, &a2, &c2);
	tap_ok(r == -ENOTTY, "BIND on a non-session fd -> ENOTTY, the kernel's errno (%d)", r);
	tap_ok(o2 == opens + 1 && a2 == attaches + 1 && c2 == closes + 1,
	       "the session was opened, attached, then closed (%u %u %u)", o2 - opens,
	       a2 - attaches, c2 - closes);
	tap_ok(count_fds() == fds && count_maps(fd) == maps && !daxmirror_client_session_path(c) && !m,
	       "no session fd nor mapping left behind");

	/* A read-only fd for a writable mirror: the broker (mock) accepts, the
	 * mapping fails, nothing is left. */
	{
		int ro = make_file(1 << 20, O_RDONLY);

		unsigned o3, a3, c3;

		mock_stats_get(bus, &opens, &attaches, &closes);
		r = daxmirror_mirror_file(c, ro, 0, 0, LIBDAXMIRROR_MIRROR_WRITE, &m);
		mock_stats_get(bus, &o3, &a3, &c3);
		tap_ok(r == -EBADF && strstr(daxmirror_client_last_error(c) ?: "", "not open for"),
		       "writable mirror of a read-only fd the broker let through -> EBADF, "
		       "not mmap's EACCES (%d, %s)", r, daxmirror_client_last_error(c) ?: "NULL");
		tap_ok(o3 == opens + 1 && a3 == attaches + 1 && c3 == closes + 1,
		       "... the session opened for it was closed again");
		tap_ok(count_fds() == fds + 1 && count_maps(ro) == 0, "nothing left behind");
		close(ro);
		ro = make_file(1 << 20, O_WRONLY);
		r = daxmirror_mirror_file(c, ro, 0, 0, 0, &m);
		tap_ok(r == -EBADF, "a mirror of an O_WRONLY fd the broker let through -> EBADF (%d, %s)",
		       r, daxmirror_client_last_error(c) ?: "NULL");
		close(ro);
	}
	tap_ok(daxmirror_mirror_file(c, fd, 8 << 20, 0, 0, &m) == -ERANGE,
	       "offset past the end of the file, length 0 -> ERANGE");
	{
		int dn = open("/dev/null", O_RDONLY | O_CLOEXEC);

		tap_ok(daxmirror_mirror_file(c, dn, 0, 4096, 0, &m) == -EBADF,
		       "not a regular file -> EBADF");
		close(dn);
	}
	close(fd);
	mock_stats_get(bus, &opens, &attaches, &closes);
	c = daxmirror_client_free(c);
	mock_stats_get(bus, &o2, &a2, &c2);
	tap_ok(c2 == closes, "client_free of a client without a session calls no Close");
out:
	sd_bus_flush_close_unref(bus);
	stop(&mock_pid);
}

/* The real broker, if built: no module behind it. */
static void test_daemon(void)
{
	const char *path = getenv("DAXMIRRORD");
	struct daxmirror_client *c = NULL;
	struct daxmirror_mirror *m = NULL;
	int fd, r;
	const char *e;

	if (!path || !*path || access(path, X_OK) < 0) {
		tap_skip("daxmirrord not built", "daxmirrord --control /nonexistent");
		return;
	}
	fflush(stdout);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		char arg[600];

		snprintf(arg, sizeof(arg), "--bus-address=%s", bus_address);
		setenv("DAXMIRROR_BUS_ADDRESS", bus_address, 1);
		execl(path, "daxmirrord", arg, "--control", "/nonexistent", (char *)NULL);
		_exit(127);
	}
	r = daxmirror_client_new(&c, bus_address);
	tap_ok(r == 0, "client_new");
	if (r)
		return;
	fd = make_file(4 << 20, O_RDWR);
	/* Wait up to 10 s for the daemon to own its name. */
	for (int i = 0; i < 100; i++) {
		r = daxmirror_mirror_file(c, fd, 0, 0, 0, &m);
		if (r != -EHOSTUNREACH)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	}
	e = daxmirror_client_last_error(c);
	tap_ok(r == -ENXIO && starts_with(e, DXM_ERROR_MODULE_NOT_LOADED),
	       "daxmirrord --control /nonexistent: mirror_file -> ENXIO (%d, %s)", r, e ? e : "NULL");
	tap_ok(!daxmirror_client_session_path(c), "no session");
	close(fd);
	c = daxmirror_client_free(c);
	stop(&daemon_pid);
}

int main(void)
{
	const char *dbus_daemon = getenv("DBUS_DAEMON");
	int r;

	if (!dbus_daemon || !*dbus_daemon)
		dbus_daemon = "/usr/bin/dbus-daemon";
	if (access(dbus_daemon, X_OK) < 0) {
		printf("1..0 # SKIP no dbus-daemon\n");
		return 77;
	}
	atexit(cleanup);
	r = start_bus(dbus_daemon);
	if (r < 0) {
		tap_bail("cannot start a private dbus-daemon: %s", strerror(-r));
	}
	test_no_client();
	test_last_error_threads();
	test_version();
	test_unreachable();
	test_arguments();
	test_no_broker();
	test_mock();
	test_daemon();
	return tap_done();
}
