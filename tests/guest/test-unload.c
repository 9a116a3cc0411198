/* test-unload.c - the module cannot be pulled from under its users: with a
 * session open (bound, a mirror live) delete_module() fails with
 * EWOULDBLOCK and the device keeps working; with only the control node open
 * it fails the same way. (The runner unloads the module for real after the
 * last test and checks dmesg.) Runs in the guest as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dmt.h"

static long try_unload(void)
{
	if (syscall(SYS_delete_module, "daxmirror", O_NONBLOCK) == 0)
		return 0;
	return -errno;
}

static void g_unload(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_close_ int ctl = -1;
	uint8_t buf[DMT_PAGE];
	uint32_t abi = 0;
	int r;

	(void)arg;
	if (dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_ANON, 0, 0, true) < 0 ||
	    dmt_map_anon(&m, 4 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, 4 * DMT_PAGE, 0, NULL) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	memset(m.addr, 0x5a, 4 * DMT_PAGE);
	/* Only the session fd stays open: the control fd is closed. */
	close(s.ctl);
	s.ctl = -1;
	tap_errno(try_unload(), EWOULDBLOCK,
		  "delete_module with a session open -> EWOULDBLOCK");
	r = dmt_dev_read(s.sfd, m.addr, buf, sizeof(buf));
	tap_ok(r == 0 && buf[0] == 0x5a && buf[DMT_PAGE - 1] == 0x5a,
	       "the session still works after the refused unload");

	dmt_session_close(&s);
	ctl = dmt_open_control();
	tap_errno(try_unload(), EWOULDBLOCK,
		  "delete_module with the control node open -> EWOULDBLOCK");
	r = ctl >= 0 ? dmt_version(ctl, &abi) : ctl;
	tap_ok(r == 0 && abi == DAXMIRROR_ABI_VERSION,
	       "the control node still answers VERSION");
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "unload while in use", 4, g_unload, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 120);
}
