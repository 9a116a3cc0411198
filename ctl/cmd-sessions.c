/* cmd-sessions.c - the session commands of daxmirrorctl: list-sessions,
 * show-session ID, revoke ID..., list-mirrors [ID]. Reads through
 * bus-util.c, prints through format.c. */
#include "bus-util.h"
#include "ctl.h"
#include "util.h"

int cmd_list_sessions(const Ctl *ctl, int argc, char **argv)
{
	_cleanup_(sd_bus_unrefp_ctl) sd_bus *bus = NULL;
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
	_cleanup_(sd_bus_unrefp_ctl) sd_bus *bus = NULL;
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

int cmd_revoke(const Ctl *ctl, int argc, char **argv)
{
	_cleanup_(sd_bus_unrefp_ctl) sd_bus *bus = NULL;
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
	for (int i = 0; i < argc && !code; i++) {
		_cleanup_(freep) char *path = NULL;
		sd_bus_error e = SD_BUS_ERROR_NULL;
		int r;

		r = session_path_from_arg(argv[i], &path);
		if (r >= 0)
			r = sd_bus_call_method(bus, DM_DEST, DM_ROOT, DM_MANAGER, "RevokeSession",
					       &e, NULL, "o", path);
		if (r < 0)
			code = bus_fail(&e, r, path ? path : argv[i], "revoking needs root");
		sd_bus_error_free(&e);
	}
	return code;
}

int cmd_list_mirrors(const Ctl *ctl, int argc, char **argv)
{
	_cleanup_(sd_bus_unrefp_ctl) sd_bus *bus = NULL;
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
