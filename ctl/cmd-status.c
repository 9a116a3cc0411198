/* cmd-status.c - `daxmirrorctl status`: the Manager's properties (module
 * state and ABI version, daemon version, counts, limits). Exits 4 when
 * the module is not loaded, after printing the status. */
#include "bus-util.h"
#include "ctl.h"
#include "util.h"

int cmd_status(const Ctl *ctl, int argc, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	ManagerInfo m = { 0 };
	int r, code;

	code = ctl_connect(ctl, &bus);
	if (code)
		return code;
	r = manager_get(bus, &m, &e);
	if (r < 0) {
		code = bus_fail(&e, r, "reading daxmirrord's status", NULL);
	} else {
		print_status(stdout, &m, ctl->json);
		if (!m.module_state || !streq(m.module_state, "loaded")) {
			fprintf(stderr, "daxmirrorctl: the daxmirror module is not loaded: "
				"modprobe daxmirror\n");
			code = CTL_EXIT_NO_MODULE;
		}
	}
	sd_bus_error_free(&e);
	manager_info_done(&m);
	return code;
}
