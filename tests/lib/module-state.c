/* module-state.c - module-wide checks for guest tests (see the header). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dmt.h"
#include "module-state.h"
#include "procfs.h"

long dmt_sessions_alive(void)
{
	struct daxmirror_session_list l = { 0 };
	int ctl = dmt_open_control();
	long r;

	if (ctl < 0)
		return ctl;
	r = dmt_ioctl(ctl, DAXMIRROR_CTL_LIST_SESSIONS, &l);
	close(ctl);
	return r < 0 ? r : (long)l.count;
}

long dmt_module_refcnt(void)
{
	return dmt_read_long("/sys/module/daxmirror/refcnt");
}

void dmt_kmsg_mark(const char *marker)
{
	_cleanup_close_ int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	char line[512];
	int n = snprintf(line, sizeof(line), "%s\n", marker);

	if (fd >= 0 && write(fd, line, (size_t)n) < 0)
		tap_diag("writing the marker to /dev/kmsg: %s", strerror(errno));
}

int dmt_kmsg_find(const char *marker, const char *const *needles, size_t n)
{
	_cleanup_close_ int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int found = 0, records = 0;
	bool after = false;
	char rec[8192];

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t len = read(fd, rec, sizeof(rec) - 1);
		const char *msg;

		if (len < 0 && (errno == EPIPE || errno == EINTR))
			continue;	/* EPIPE: records overwritten, go on */
		if (len < 0)
			break;		/* EAGAIN: the end */
		rec[len] = '\0';
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		if (strstr(msg, marker)) {
			after = true;	/* the last marker counts */
			found = 0;
			records = 0;
			continue;
		}
		records++;
		for (size_t i = 0; i < n; i++)
			if (strstr(msg, needles[i])) {
				if (found++ < 40)
					tap_diag("kernel: %s", strtok(rec, "\n"));
				break;
			}
	}
	if (!after)
		tap_diag("the marker is not in the kernel log (ring overwritten?): checked all %d records",
			 records);
	return found;
}

int dmt_kmsg_splats(const char *marker)
{
	static const char *const bad[] = { "BUG", "WARNING", "Oops",
		"general protection", "KASAN", "UBSAN", "refcount_t",
		"list_add corruption", "list_del corruption", "blocked for more than",
		"Call Trace", "RIP:" };

	return dmt_kmsg_find(marker, bad, ARRAY_SIZE(bad));
}
