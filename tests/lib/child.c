/* child.c - child processes, fd passing and privilege dropping. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "tap.h"

int dmt_child_start(struct dmt_child *c, int (*fn)(int sock, void *arg),
		    void *arg)
{
	int sv[2];
	pid_t parent = getpid();

	c->pid = 0;
	c->sock = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0) {
		int err = errno;

		close(sv[0]);
		close(sv[1]);
		c->pid = 0;
		return -err;
	}
	if (c->pid == 0) {
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		alarm(0);
		int r = fn(sv[1], arg);
		fflush(NULL);
		_exit(r & 0xff);
	}
	close(sv[1]);
	c->sock = sv[0];
	return 0;
}

int dmt_child_wait(struct dmt_child *c, int timeout_ms)
{
	int status;

	if (c->pid <= 0)
		return -1;
	for (int waited = 0;; waited += 10) {
		pid_t r = waitpid(c->pid, &status, WNOHANG);

		if (r == c->pid)
			break;
		if (r < 0 && errno != EINTR) {
			tap_diag("waitpid %d: %s", (int)c->pid,
				 tap_errname(errno));
			c->pid = 0;
			return -1;
		}
		if (waited >= timeout_ms) {
			tap_diag("child %d still running after %d ms: killed",
				 (int)c->pid, timeout_ms);
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			c->pid = 0;
			return -1;
		}
		usleep(10000);
	}
	c->pid = 0;
	if (WIFSIGNALED(status)) {
		tap_diag("child killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
		return -1;
	}
	return WEXITSTATUS(status);
}

void dmt_child_kill(struct dmt_child *c)
{
	int saved = errno;

	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	c->pid = 0;
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	errno = saved;
}

static int wait_readable(int sock, int timeout_ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return 0;
}

int dmt_send_i64(int sock, int64_t v)
{
	return send(sock, &v, sizeof(v), MSG_NOSIGNAL) == sizeof(v) ? 0 : -errno;
}

int dmt_recv_i64(int sock, int64_t *v, int timeout_ms)
{
	int r = wait_readable(sock, timeout_ms);
	ssize_t n;

	if (r < 0)
		return r;
	n = recv(sock, v, sizeof(*v), 0);
	if (n < 0)
		return -errno;
	return n == sizeof(*v) ? 0 : -EPIPE;
}

int dmt_send_fd(int sock, int fd, int64_t v)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl,
		.msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *cm;

	memset(ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == sizeof(v) ? 0 : -errno;
}

int dmt_recv_fd(int sock, int64_t *v, int timeout_ms)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = v, .iov_len = sizeof(*v) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl,
		.msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *cm;
	int fd, r = wait_readable(sock, timeout_ms);
	ssize_t n;

	if (r < 0)
		return r;
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n != sizeof(*v))
		return -EPIPE;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

int dmt_drop_privileges(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;
	if (geteuid() != uid || getegid() != gid)
		return -EPERM;
	return 0;
}
