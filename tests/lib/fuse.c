/* fuse.c - start, read and stop tests/guest/fuse-stall (fuse.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "events.h"
#include "fuse.h"

int dmt_fuse_available(void)
{
	if (access("/dev/fuse", F_OK) == 0)
		return 0;
	if (system("modprobe fuse 2>/dev/null") == 0 && access("/dev/fuse", F_OK) == 0)
		return 0;
	return -ENODEV;
}

/* The server's stdout is read raw: poll() sees what stdio would have
 * buffered. */
int dmt_fuse_wait_line(struct dmt_fuse *f, const char *prefix, int timeout_ms)
{
	char buf[4096];
	size_t len = 0;
	double end = dmt_now_s() + timeout_ms / 1e3;

	for (;;) {
		char *nl, *line = buf;
		ssize_t n;

		buf[len] = '\0';
		while ((nl = strchr(line, '\n'))) {
			if (!strncmp(line, prefix, strlen(prefix)))
				return 0;
			line = nl + 1;
		}
		len -= line - buf;
		memmove(buf, line, len);
		if (len == sizeof(buf) - 1)
			len = 0;
		if (dmt_now_s() >= end ||
		    dmt_poll(f->out, POLLIN, (int)((end - dmt_now_s()) * 1e3) + 1) <= 0)
			return -ETIMEDOUT;
		n = read(f->out, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return -EIO;
		len += n;
	}
}

int dmt_fuse_start(struct dmt_fuse *f, size_t size, const char *mode)
{
	char exe[4096], server[4200], sz[32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int fd[2], r;

	snprintf(f->mnt, sizeof(f->mnt), "/tmp/dxm-fuse.XXXXXX");
	if (n < 0 || !mkdtemp(f->mnt)) {
		f->mnt[0] = '\0';
		return -errno;
	}
	if (pipe2(fd, O_CLOEXEC) < 0) {
		r = -errno;
		dmt_fuse_stop(f);
		return r;
	}
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(server, sizeof(server), "%s/fuse-stall", exe);
	snprintf(sz, sizeof(sz), "%zu", size);
	f->pid = fork();
	if (f->pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		execl(server, server, f->mnt, sz, mode, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	f->out = fd[0];
	r = f->pid < 0 ? -EIO : dmt_fuse_wait_line(f, "mounted=1", 30000);
	if (r < 0)
		dmt_fuse_stop(f);
	return r;
}

void dmt_fuse_stop(struct dmt_fuse *f)
{
	int st;

	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, &st, 0);
		umount2(f->mnt, MNT_DETACH);
	}
	f->pid = -1;
	if (f->mnt[0])
		rmdir(f->mnt);
	f->mnt[0] = '\0';
	if (f->out >= 0)
		close(f->out);
	f->out = -1;
}
