/* parse.h - the number syntax of daxmirror's userspace: decimal digits and
 * sizes with a binary suffix, as daxmirrord.conf(5) and daxmirrorctl(1)
 * take them. One parser, so the config file and the CLI agree. */
#ifndef DXM_PARSE_H
#define DXM_PARSE_H

#include <stdint.h>

/*
 * Decimal digits at *@p (no sign, no space, no base prefix) into *@ret;
 * *@p advances past them. Returns 0, -EINVAL when *@p is not a digit, or
 * -ERANGE past UINT64_MAX. On error neither *@p nor *@ret changes.
 */
int dxm_parse_digits(const char **p, uint64_t *ret);

/* The whole of @s is decimal digits: 0, -EINVAL, -ERANGE. */
int dxm_parse_u64(const char *s, uint64_t *ret);

/*
 * A size: digits, then nothing (bytes) or one suffix K, M, G or T in
 * either case (powers of 1024), which may be followed by "iB": "4096",
 * "64K", "2MiB", "1g". Returns 0, -EINVAL (anything else, spaces
 * included), or -ERANGE past UINT64_MAX. *@ret changes only on success.
 */
int dxm_parse_size(const char *s, uint64_t *ret);

#endif
