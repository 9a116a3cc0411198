/* events.h - reading daxmirror events (struct daxmirror_event) from a
 * control or session fd, with poll() and a timeout. */
#ifndef DMT_EVENTS_H
#define DMT_EVENTS_H

#include <stdint.h>

#include <daxmirror.h>

/* poll() @fd for @events; returns revents (0 on timeout) or -errno. */
int dmt_poll(int fd, short events, int timeout_ms);
/* Wait up to @timeout_ms for POLLIN, then read one event: 0, -ETIMEDOUT,
 * or the -errno of poll()/read(). A short read is -EIO. */
int dmt_event_read(int fd, struct daxmirror_event *ev, int timeout_ms);
/* Read events until one of @type for @session_id (any session if
 * UINT64_MAX) arrives; others are reported with tap_diag and dropped. */
int dmt_event_wait(int fd, uint32_t type, uint64_t session_id,
		   int timeout_ms, struct daxmirror_event *ev);
const char *dmt_event_name(uint32_t type);
/* Set O_NONBLOCK on @fd; 0 or -errno. */
int dmt_set_nonblock(int fd);

#endif
