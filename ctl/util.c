/* util.c - size formatting and parsing of daxmirrorctl (pure functions,
 * unit-tested by test-format.c). */
#include <ctype.h>
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

int parse_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} suffixes[] = {
		{ "", 0 }, { "K", 10 }, { "KiB", 10 }, { "M", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "GiB", 30 }, { "T", 40 }, { "TiB", 40 },
	};
	uint64_t v = 0;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		if (!streq(p, suffixes[i].suffix))
			continue;
		if (suffixes[i].shift && v > (UINT64_MAX >> suffixes[i].shift))
			return -ERANGE;
		*ret = v << suffixes[i].shift;
		return 0;
	}
	return -EINVAL;
}
