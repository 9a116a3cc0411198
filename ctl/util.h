/* util.h - what is daxmirrorctl's own among its small helpers: the exit
 * codes, streq(), size parsing and formatting (util.c). The cleanup
 * helpers come from shared/macro.h, included here for every file of the
 * CLI. */
#ifndef DAXMIRRORCTL_UTIL_H
#define DAXMIRRORCTL_UTIL_H

#include <stdint.h>
#include <string.h>

#include "macro.h"

/* Exit codes (documented in --help and docs/daxmirrorctl.md). */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILURE = 1,	/* any other error: the D-Bus error message is printed */
	CTL_EXIT_USAGE = 2,	/* bad command line */
	CTL_EXIT_NO_DAEMON = 3,	/* daxmirrord not running, or no bus to reach it on */
	CTL_EXIT_NO_MODULE = 4,	/* daxmirror.ko not loaded */
	CTL_EXIT_DENIED = 5,	/* permission denied */
	CTL_EXIT_QUOTA = 6,	/* a quota of daxmirrord.conf would be exceeded */
};

static inline int streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* "Size" format bytes: "0B", "512B", "4K", "1.5M", "16G" (powers of 1024,
 * one decimal, rounded down). Returns @buf. @size >= FORMAT_BYTES_MAX. */
#define FORMAT_BYTES_MAX 16
char *format_bytes(char *buf, size_t size, uint64_t bytes);

#endif
