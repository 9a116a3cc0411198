/* util.h - daxmirrord's own small helpers: the page size, a clock in µs,
 * string equality. The generic ones (cleanup attributes, safe_close,
 * container_of, ARRAY_SIZE) are shared/macro.h's, included here. Header
 * only. */
#ifndef DAXMIRRORD_UTIL_H
#define DAXMIRRORD_UTIL_H

#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "macro.h"

#define DM_PAGE_SIZE 4096ULL

static inline uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

static inline int streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

#endif
