/* pattern.c - deterministic data patterns (splitmix64 of the word index). */
#include <stdbool.h>
#include <string.h>

#include "pattern.h"

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t word(uint64_t seed, uint64_t index)
{
	return mix(seed * 0x2545f4914f6cdd1dULL ^ index);
}

uint8_t dmt_pattern_byte(uint64_t seed, uint64_t off)
{
	return (uint8_t)(word(seed, off / 8) >> (8 * (off % 8)));
}

void dmt_pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t base)
{
	uint8_t *p = buf;
	size_t i = 0;

	while (i < len && (base + i) % 8)
		p[i] = dmt_pattern_byte(seed, base + i), i++;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = word(seed, (base + i) / 8);

		memcpy(p + i, &w, 8); /* little endian: byte k = bits 8k.. */
	}
	for (; i < len; i++)
		p[i] = dmt_pattern_byte(seed, base + i);
}

ssize_t dmt_pattern_check(const void *buf, size_t len, uint64_t seed,
			  uint64_t base)
{
	const uint8_t *p = buf;
	size_t i = 0;

	while (i < len && (base + i) % 8) {
		if (p[i] != dmt_pattern_byte(seed, base + i))
			return (ssize_t)i;
		i++;
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w = word(seed, (base + i) / 8);

		if (memcmp(p + i, &w, 8))
			break;
	}
	for (; i < len; i++)
		if (p[i] != dmt_pattern_byte(seed, base + i))
			return (ssize_t)i;
	return -1;
}

ssize_t dmt_first_diff(const void *a, const void *b, size_t len)
{
	const uint8_t *x = a, *y = b;

	if (!memcmp(a, b, len))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (x[i] != y[i])
			return (ssize_t)i;
	return -1;
}

bool dmt_all_bytes(const void *buf, size_t len, uint8_t c)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}
