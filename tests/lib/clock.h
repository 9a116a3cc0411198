/* clock.h - the monotonic clock (CLOCK_MONOTONIC) for the tests'
 * deadlines, rates and durations, in nanoseconds, milliseconds or
 * seconds. Header only: also for programs that include nothing else of
 * this library. */
#ifndef DMT_CLOCK_H
#define DMT_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t dmt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in whole milliseconds. */
static inline uint64_t dmt_now_ms(void)
{
	return dmt_now_ns() / 1000000;
}

/* CLOCK_MONOTONIC in seconds. */
static inline double dmt_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
