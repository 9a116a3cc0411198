/* fuse.h - the FUSE server the guest tests start (tests/guest/fuse-stall):
 * start it on a new directory and wait until it mounted, read its report
 * lines, stop it and unmount. */
#ifndef DMT_FUSE_H
#define DMT_FUSE_H

#include <stddef.h>
#include <sys/types.h>

/* A running fuse-stall: its pid, the read end of its stdout, the mount. */
struct dmt_fuse {
	pid_t pid;
	int out;
	char mnt[64];
};

#define DMT_FUSE_INIT { .pid = -1, .out = -1, .mnt = "" }

/* Load the fuse module if /dev/fuse is missing. 0 or -ENODEV. */
int dmt_fuse_available(void);
/* Start fuse-stall (next to the running test program) on a new directory
 * /tmp/dxm-fuse.XXXXXX serving a file of @size bytes, with @mode (NULL, or
 * one option such as "--hold-reads" or "--twin"); 0 once it printed
 * "mounted=1", else -errno (the server, if started, is stopped). */
int dmt_fuse_start(struct dmt_fuse *f, size_t size, const char *mode);
/* Wait up to @timeout_ms for a line of the server's starting with
 * @prefix. 0 once seen, -ETIMEDOUT or -EIO. */
int dmt_fuse_wait_line(struct dmt_fuse *f, const char *prefix, int timeout_ms);
/* Kill the server, unmount (lazily) and remove the directory; idempotent. */
void dmt_fuse_stop(struct dmt_fuse *f);

#endif
