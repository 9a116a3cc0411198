/* private-bus.c - a private dbus-daemon for host tests (see the header). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "private-bus.h"

static int write_config(const char *dir, char *conf, size_t size)
{
	FILE *f;

	snprintf(conf, size, "%s/bus.conf", dir);
	f = fopen(conf, "we");
	if (!f)
		return -errno;
	fprintf(f,
		"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
		" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		"<busconfig>\n"
		"  <type>session</type>\n"
		"  <listen>unix:path=%s/bus</listen>\n"
		"  <auth>EXTERNAL</auth>\n"
		"  <policy context=\"default\">\n"
		"    <allow user=\"*\"/>\n"
		"    <allow own=\"*\"/>\n"
		"    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
		"    <allow eavesdrop=\"true\"/>\n"
		"  </policy>\n"
		"</busconfig>\n", dir);
	return fclose(f) == 0 ? 0 : -errno;
}

int dmt_private_bus_start(const char *dbus_daemon, const char *dir,
			  pid_t *pid, char *address, size_t size)
{
	char conf[512], cfgarg[600];
	size_t len = 0;
	int p[2], r;

	if (!dbus_daemon || !dir || !pid || !address || size < 2)
		return -EINVAL;
	r = write_config(dir, conf, sizeof(conf));
	if (r < 0)
		return r;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (*pid == 0) {
		dup2(p[1], 3);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		snprintf(cfgarg, sizeof(cfgarg), "--config-file=%s", conf);
		execl(dbus_daemon, "dbus-daemon", cfgarg, "--nofork", "--nopidfile",
		      "--print-address=3", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (len < size - 1) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 10000) <= 0)
			break;
		n = read(p[0], address + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(address, '\n', len))
			break;
	}
	close(p[0]);
	address[len] = '\0';
	address[strcspn(address, "\n")] = '\0';
	return address[0] ? 0 : -EIO;
}
