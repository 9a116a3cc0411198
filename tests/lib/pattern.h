/* pattern.h - deterministic data patterns: the byte at offset o of pattern
 * @seed is a function of (seed, o) alone, so any slice of a buffer or file
 * can be checked without keeping a copy. */
#ifndef DMT_PATTERN_H
#define DMT_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

uint8_t dmt_pattern_byte(uint64_t seed, uint64_t off);
/* Fill @buf with the bytes [base, base + len) of pattern @seed. */
void dmt_pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t base);
/* Offset of the first byte of @buf that differs from the pattern, or -1. */
ssize_t dmt_pattern_check(const void *buf, size_t len, uint64_t seed,
			  uint64_t base);
/* Offset of the first differing byte of a and b, or -1. */
ssize_t dmt_first_diff(const void *a, const void *b, size_t len);
/* true iff every byte of @buf is @c. */
bool dmt_all_bytes(const void *buf, size_t len, uint8_t c);

#endif
