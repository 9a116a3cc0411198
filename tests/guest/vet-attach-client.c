/* vet-attach-client.c - one AttachFile whose reply may be long in coming,
 * for tests/guest/test-broker-vet: opens a session on the system bus
 * (sd-bus, OpenSession({})), opens FILE read-only, sends AttachFile(fd,
 * 0, 4096, {}) with a 600 s method timeout and reports, line by line on
 * stdout:
 *	session=PATH	the session
 *	sent=1		the call is on the bus (the reply may take long)
 *	reply=ok | error=NAME + message=TEXT	when the reply comes
 * With METHOD, sends Session.METHOD(h fd) instead (a member the broker
 * does not have: the fd rides on a message nobody handles).
 * Exit status: 0 once a reply (of any kind) came, 1 if a step before it
 * failed (step= and errno= say which), 2 usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-contract.h"
#include "macro.h"

#define CALL_TIMEOUT_USEC (600ULL * 1000000ULL)

static int failed(const char *step, int r)
{
	printf("step=%s\nerrno=%s\n", step, strerrorname_np(-r) ?: "?");
	return 1;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);

	if (e)
		printf("error=%s\nmessage=%s\n", e->name, e->message ?: "");
	else
		printf("reply=ok\n");
	*(bool *)userdata = true;
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *open_reply = NULL, *call = NULL;
	_cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_close_ int fd = -1;
	const char *path;
	bool done = false;
	int sfd, r;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: vet-attach-client FILE [METHOD]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = dxm_bus_connect(getenv("DAXMIRROR_BUS_ADDRESS"), "vet-attach-client", &bus);
	if (r < 0)
		return failed("connect", r);
	r = sd_bus_call_method(bus, DXM_BUS_NAME, DXM_OBJECT_ROOT, DXM_MANAGER_IFACE,
			       "OpenSession", &error, &open_reply, "a{sv}", 0);
	if (r < 0) {
		printf("error=%s\nmessage=%s\n", error.name, error.message);
		sd_bus_error_free(&error);
		return failed("OpenSession", r);
	}
	r = sd_bus_message_read(open_reply, "oh", &path, &sfd);
	if (r < 0)
		return failed("OpenSession reply", r);
	printf("session=%s\n", path);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return failed("open", -errno);
	r = sd_bus_message_new_method_call(bus, &call, DXM_BUS_NAME, path, DXM_SESSION_IFACE,
					   argc == 3 ? argv[2] : "AttachFile");
	if (r >= 0 && argc == 3)
		r = sd_bus_message_append(call, "h", fd);
	else if (r >= 0)
		r = sd_bus_message_append(call, "htta{sv}", fd, (uint64_t)0, (uint64_t)4096, 0);
	if (r >= 0)
		r = sd_bus_call_async(bus, &slot, call, on_reply, &done, CALL_TIMEOUT_USEC);
	if (r < 0)
		return failed("AttachFile", r);
	r = sd_bus_flush(bus);
	if (r < 0)
		return failed("flush", r);
	printf("sent=1\n");
	while (!done) {
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			return failed("process", r);
		if (r > 0)
			continue;
		r = sd_bus_wait(bus, UINT64_MAX);
		if (r < 0 && r != -EINTR)
			return failed("wait", r);
	}
	return 0;
}
