/* cmd-sessions.c - the session commands of daxmirrorctl: list-sessions,
 * show-session ID, revoke [--grace SECONDS] ID..., list-mirrors [ID].
 * Reads through bus-util.c, prints through format.c. */
#include <inttypes.h>
#include <time.h>

#include "bus-util.h"
#include "ctl.h"
#include "json.h"
#include "util.h"

/* The broker's REVOKE_DEFAULT_GRACE_MS, for the call's timeout only. */
#define DEFAULT_GRACE_MS 5000
/* How long past the grace the broker may take to answer. */
#define REPLY_SLACK_USEC (30 * 1000000ULL)

int cmd_list_sessions(const Ctl *ctl, int argc, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	SessionInfo *v = NULL;
	size_t n = 0;
	int r, code;

	code = ctl_connect(ctl, &bus);
	if (code)
		return code;
	r = sessions_get_all(bus, &v, &n, &e);
	if (r < 0)
		code = bus_fail(&e, r, "listing the sessions", NULL);
	else
		print_sessions(stdout, v, n, ctl->json, ctl->legend);
	sd_bus_error_free(&e);
	session_infos_free(v, n);
	return code;
}

int cmd_show_session(const Ctl *ctl, int argc, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(freep) char *path = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	SessionInfo s = { 0 };
	int r, code;

	if (session_path_from_arg(argv[0], &path) < 0)
		return usage_error("'%s' is not a session ID (a number from 'daxmirrorctl "
				   "list-sessions', or its object path)", argv[0]);
	code = ctl_connect(ctl, &bus);
	if (code)
		return code;
	r = session_get(bus, path, &s, &e);
	if (r < 0)
		code = bus_fail(&e, r, path, NULL);
	else
		print_session(stdout, &s, ctl->json);
	sd_bus_error_free(&e);
	session_info_done(&s);
	return code;
}

/* One graceful revoke: its RequestRevoke call and how it ended. */
typedef struct Graceful {
	char *path;
	sd_bus_slot *slot;
	uint64_t start_usec, end_usec;	/* CLOCK_MONOTONIC */
	bool done;
	char how[16];			/* "acknowledged", "forced", ... */
	int code;			/* exit code of this one */
} Graceful;

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int on_request_revoke(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Graceful *g = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	const char *how = NULL;
	int r;

	g->done = true;
	g->end_usec = mono_usec();
	if (e) {
		g->code = bus_fail(e, -sd_bus_error_get_errno(e), g->path, "revoking a session needs root");
		return 0;
	}
	r = sd_bus_message_read(m, "s", &how);
	if (r < 0) {
		g->code = bus_fail(NULL, r, g->path, NULL);
		return 0;
	}
	snprintf(g->how, sizeof(g->how), "%s", how);
	return 0;
}

/* revoke --grace: RequestRevoke on every session at once, then waits for
 * all the answers (each arrives when its session is gone). */
static int revoke_graceful(const Ctl *ctl, sd_bus *bus, int argc, char **argv)
{
	uint64_t timeout = ((uint64_t)(ctl->grace_ms ? ctl->grace_ms : DEFAULT_GRACE_MS)) * 1000 +
			   REPLY_SLACK_USEC;
	Graceful *g = calloc((size_t)argc, sizeof(*g));
	int code = CTL_EXIT_OK, left = 0, r;

	if (!g) {
		fprintf(stderr, "daxmirrorctl: out of memory\n");
		return CTL_EXIT_FAILURE;
	}
	for (int i = 0; i < argc; i++) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

		r = session_path_from_arg(argv[i], &g[i].path);
		if (r >= 0)
			r = sd_bus_message_new_method_call(bus, &m, DXM_BUS_NAME, g[i].path,
							   DXM_SESSION_IFACE, "RequestRevoke");
		if (r >= 0)
			r = sd_bus_message_append(m, "u", (uint32_t)ctl->grace_ms);
		g[i].start_usec = mono_usec();
		if (r >= 0)
			r = sd_bus_call_async(bus, &g[i].slot, m, on_request_revoke, &g[i], timeout);
		if (r < 0) {
			g[i].done = true;
			g[i].code = bus_fail(NULL, r, g[i].path ? g[i].path : argv[i], NULL);
			continue;
		}
		left++;
	}
	while (left > 0) {
		r = sd_bus_process(bus, NULL);
		if (r < 0) {
			fprintf(stderr, "daxmirrorctl: the bus connection failed: %s\n", strerror(-r));
			code = CTL_EXIT_FAILURE;
			break;
		}
		left = 0;
		for (int i = 0; i < argc; i++)
			left += !g[i].done;
		if (r == 0 && left > 0 && (r = sd_bus_wait(bus, UINT64_MAX)) < 0 && r != -EINTR) {
			fprintf(stderr, "daxmirrorctl: waiting on the bus: %s\n", strerror(-r));
			code = CTL_EXIT_FAILURE;
			break;
		}
	}

	if (ctl->json) {
		JsonWriter w = JSON_WRITER_INIT(stdout);

		json_begin_array(&w);
		for (int i = 0; i < argc; i++) {
			if (!g[i].done || g[i].code)
				continue;
			json_begin_object(&w);
			json_kv_string(&w, "path", g[i].path);
			json_kv_string(&w, "how", g[i].how);
			json_kv_u64(&w, "usec", g[i].end_usec - g[i].start_usec);
			json_end_object(&w);
		}
		json_end_array(&w);
		json_finish(&w);
	}
	for (int i = 0; i < argc; i++) {
		if (g[i].done && !g[i].code && !ctl->json)
			printf("%s: %s after %.3f s\n", g[i].path, g[i].how,
			       (double)(g[i].end_usec - g[i].start_usec) / 1e6);
		if (!code)
			code = g[i].code;
		sd_bus_slot_unref(g[i].slot);
		free(g[i].path);
	}
	free(g);
	return code;
}

int cmd_revoke(const Ctl *ctl, int argc, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int code;

	for (int i = 0; i < argc; i++) {
		_cleanup_(freep) char *path = NULL;

		if (session_path_from_arg(argv[i], &path) < 0)
			return usage_error("'%s' is not a session ID (a number from "
					   "'daxmirrorctl list-sessions', or its object path)",
					   argv[i]);
	}
	code = ctl_connect(ctl, &bus);
	if (code)
		return code;
	if (ctl->grace_ms >= 0)
		return revoke_graceful(ctl, bus, argc, argv);
	for (int i = 0; i < argc && !code; i++) {
		_cleanup_(freep) char *path = NULL;
		sd_bus_error e = SD_BUS_ERROR_NULL;
		int r;

		r = session_path_from_arg(argv[i], &path);
		if (r >= 0)
			r = sd_bus_call_method(bus, DXM_BUS_NAME, DXM_OBJECT_ROOT, DXM_MANAGER_IFACE,
					       "RevokeSession", &e, NULL, "o", path);
		if (r < 0)
			code = bus_fail(&e, r, path ? path : argv[i], "revoking a session needs root");
		sd_bus_error_free(&e);
	}
	return code;
}

int cmd_list_mirrors(const Ctl *ctl, int argc, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(freep) char *path = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	SessionInfo *v = NULL;
	size_t n = 0;
	int r, code;

	if (argc == 1 && session_path_from_arg(argv[0], &path) < 0)
		return usage_error("'%s' is not a session ID (a number from 'daxmirrorctl "
				   "list-sessions', or its object path)", argv[0]);
	code = ctl_connect(ctl, &bus);
	if (code)
		return code;
	if (path) {
		v = calloc(1, sizeof(*v));
		if (!v) {
			fprintf(stderr, "daxmirrorctl: out of memory\n");
			return CTL_EXIT_FAILURE;
		}
		r = session_get(bus, path, v, &e);
		n = 1;
	} else {
		r = sessions_get_all(bus, &v, &n, &e);
	}
	if (r < 0)
		code = bus_fail(&e, r, path ? path : "listing the sessions", NULL);
	else
		print_mirrors(stdout, v, n, ctl->json, ctl->legend);
	sd_bus_error_free(&e);
	session_infos_free(v, n);
	return code;
}
