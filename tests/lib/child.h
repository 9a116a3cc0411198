/* child.h - child processes for the broker/client split: fork with a
 * socketpair to talk over, SCM_RIGHTS fd passing, small integer messages
 * with timeouts, privilege dropping, and reaping with a deadline. */
#ifndef DMT_CHILD_H
#define DMT_CHILD_H

#include <stdint.h>
#include <sys/types.h>

#define DMT_NOBODY	65534

struct dmt_child {
	pid_t pid;	/* 0 when none */
	int sock;	/* the parent's end of the socketpair */
};
#define DMT_CHILD_INIT { .pid = 0, .sock = -1 }

/* Fork; the child runs fn(sock, arg) and _exit()s with its return value
 * (0..255; by convention 0 = success). The child gets SIGKILL if the parent
 * dies. 0 or -errno. */
int dmt_child_start(struct dmt_child *c, int (*fn)(int sock, void *arg),
		    void *arg);
/* Wait up to @timeout_ms for the child to exit; returns its exit status,
 * or -1 (killed by a signal or by the timeout; reported with tap_diag). */
int dmt_child_wait(struct dmt_child *c, int timeout_ms);
/* SIGKILL and reap the child if still running; close the socket. */
void dmt_child_kill(struct dmt_child *c);
#define _cleanup_child_ __attribute__((cleanup(dmt_child_kill)))

/* Messages: one int64 each; receive with a timeout (-ETIMEDOUT, -EPIPE if
 * the peer closed). 0 or -errno. */
int dmt_send_i64(int sock, int64_t v);
int dmt_recv_i64(int sock, int64_t *v, int timeout_ms);
/* SCM_RIGHTS: send @fd along with @v; receive returns the new fd. */
int dmt_send_fd(int sock, int fd, int64_t v);
int dmt_recv_fd(int sock, int64_t *v, int timeout_ms);

/* setgroups(0), setresgid(gid), setresuid(uid); 0 or -errno. */
int dmt_drop_privileges(uid_t uid, gid_t gid);

#endif
