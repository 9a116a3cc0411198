/* events.c - reading daxmirror events with poll() and a deadline. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "clock.h"
#include "events.h"
#include "tap.h"

int dmt_poll(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r ? p.revents : 0;
}

int dmt_event_read(int fd, struct daxmirror_event *ev, int timeout_ms)
{
	int rev = dmt_poll(fd, POLLIN, timeout_ms);
	ssize_t n;

	if (rev < 0)
		return rev;
	if (!(rev & POLLIN))
		return -ETIMEDOUT;
	n = read(fd, ev, sizeof(*ev));
	if (n < 0)
		return -errno;
	if (n != sizeof(*ev)) {
		tap_diag("event read returned %zd bytes, want %zu", n,
			 sizeof(*ev));
		return -EIO;
	}
	return 0;
}

const char *dmt_event_name(uint32_t type)
{
	switch (type) {
	case DAXMIRROR_EVENT_REVOKED:		return "REVOKED";
	case DAXMIRROR_EVENT_MM_RELEASED:	return "MM_RELEASED";
	case DAXMIRROR_EVENT_MIRROR_RELEASED:	return "MIRROR_RELEASED";
	case DAXMIRROR_EVENT_SESSION_CLOSED:	return "SESSION_CLOSED";
	case DAXMIRROR_EVENT_OVERFLOW:		return "OVERFLOW";
	case DAXMIRROR_EVENT_SESSION_CHANGED:	return "SESSION_CHANGED";
	default:				return "unknown";
	}
}

int dmt_event_wait(int fd, uint32_t type, uint64_t session_id,
		   int timeout_ms, struct daxmirror_event *ev)
{
	int64_t deadline = (int64_t)dmt_now_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - (int64_t)dmt_now_ms();
		int r;

		if (left < 0)
			left = 0;
		r = dmt_event_read(fd, ev, (int)left);
		if (r < 0) {
			if (r == -ETIMEDOUT)
				tap_diag("no %s event for session %llu within %d ms",
					 dmt_event_name(type),
					 (unsigned long long)session_id,
					 timeout_ms);
			return r;
		}
		if (ev->type == type &&
		    (session_id == UINT64_MAX || ev->session_id == session_id))
			return 0;
		tap_diag("(event %s session %llu mirror %llu seq %llu passed over)",
			 dmt_event_name(ev->type),
			 (unsigned long long)ev->session_id,
			 (unsigned long long)ev->mirror_id,
			 (unsigned long long)ev->seq);
	}
}

int dmt_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}
