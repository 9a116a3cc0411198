/* log.h - logging to stderr with <N> priority prefixes (sd-daemon.h), which
 * journald turns into message priorities. Stateless: every level is
 * written; journald or the reader filters. */
#ifndef DAXMIRRORD_LOG_H
#define DAXMIRRORD_LOG_H

#include <syslog.h>
#include <systemd/sd-daemon.h>

/* @prio: LOG_ERR, LOG_INFO, ... from <syslog.h>. @err: a positive or
 * negative errno made available to %m, or 0. Returns -abs(err) (or -EIO
 * when @err is 0), so it can end an error path. */
int log_full(int prio, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...)		log_full(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...)	log_full(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...)		log_full(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...)		log_full(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...)		log_full(LOG_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...)	log_full(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full(LOG_WARNING, (e), __VA_ARGS__)
#define log_debug_errno(e, ...)	log_full(LOG_DEBUG, (e), __VA_ARGS__)

#endif
