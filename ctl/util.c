/* util.c - size formatting of daxmirrorctl (a pure function, unit-tested
 * by test-format.c; sizes are parsed by shared/parse.h). */
#include <inttypes.h>

#include "util.h"

char *format_bytes(char *buf, size_t size, uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	uint64_t unit = 1024;
	size_t i = 0;

	if (bytes < 1024) {
		snprintf(buf, size, "%" PRIu64 "B", bytes);
		return buf;
	}
	while (i + 1 < sizeof(units) - 1 && bytes / unit >= 1024) {
		unit *= 1024;
		i++;
	}
	{
		/* Tenths from the remainder: < 2^60 * 10, no overflow. */
		uint64_t whole = bytes / unit, tenth = (bytes % unit) * 10 / unit;

		if (tenth == 0 || whole >= 100)
			snprintf(buf, size, "%" PRIu64 "%c", whole, units[i]);
		else
			snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "%c", whole, tenth, units[i]);
	}
	return buf;
}
