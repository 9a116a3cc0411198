/* tap.h - the one C TAP (Test Anything Protocol, version 13) producer of
 * daxmirror's tests, host and guest (library dxm_tap of shared/): plan,
 * ok/not ok, skip, diagnostics, bail out, groups of results with a fixed
 * count, a watchdog, and an exit status that is non-zero iff a result
 * failed. */
#ifndef DMT_TAP_H
#define DMT_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* A group of results: run() must emit exactly @results results; missing
 * ones are reported as failures when it returns, extra ones are counted as
 * a plan error. @arg is passed to run(). */
struct tap_group {
	const char *name;
	unsigned int results;
	void (*run)(const void *arg);
	const void *arg;
};

void tap_plan(unsigned int n);
bool tap_ok(bool cond, const char *fmt, ...) TAP_PRINTF(2, 3);
void tap_skip(const char *reason, const char *fmt, ...) TAP_PRINTF(2, 3);
void tap_diag(const char *fmt, ...) TAP_PRINTF(1, 2);
__attribute__((noreturn)) void tap_bail(const char *fmt, ...) TAP_PRINTF(1, 2);

/* ret is 0 / a non-negative value on success or -errno on failure (the
 * convention of every dmt_* helper); passes iff ret == -want. */
bool tap_errno(long ret, int want, const char *fmt, ...) TAP_PRINTF(3, 4);
/* passes iff ret >= 0; reports the errno otherwise. */
bool tap_success(long ret, const char *fmt, ...) TAP_PRINTF(2, 3);
/* passes iff got == want; reports both otherwise. */
bool tap_eq(uint64_t got, uint64_t want, const char *fmt, ...) TAP_PRINTF(3, 4);

/* One "KEY=VALUE" line on stdout, flushed: what the helper programs the
 * bash tests drive (broker-client, badblocks-helper) report with. */
void dmt_kv(const char *key, const char *fmt, ...) TAP_PRINTF(2, 3);

/* Report the current group's remaining results as failures / skips. */
void tap_fail_rest(const char *fmt, ...) TAP_PRINTF(1, 2);
void tap_skip_rest(const char *fmt, ...) TAP_PRINTF(1, 2);
/* Results still to be emitted in the current group. */
unsigned int tap_group_left(void);

/* Kill the process with a "Bail out!" line after @seconds (0: off). */
void tap_watchdog(unsigned int seconds);

/* Exit status: 0 iff every planned result ran and passed. */
int tap_status(void);

/* For a producer that cannot count ahead: print the plan after the
 * results ("1..N", valid TAP 13) unless tap_plan() ran, and return
 * tap_status(). */
int tap_done(void);

/* Plan the sum of the groups' counts, run them, return tap_status(). */
int tap_main(const struct tap_group *groups, size_t n, unsigned int watchdog_s);

/* Name of a positive errno value ("EINVAL"), never NULL. */
const char *tap_errname(int err);

#endif
