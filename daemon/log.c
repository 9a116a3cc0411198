/* log.c - one log line per call on stderr, "<prio>message\n", written with
 * a single write so lines of a crash or of concurrent writers do not mix. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

int log_full(int prio, int err, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n, m;
	int saved = errno;

	if (err < 0)
		err = -err;
	n = snprintf(buf, sizeof(buf), "<%d>", prio & LOG_PRIMASK);
	errno = err;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)n) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
	return err ? -err : -EIO;
}
