/* test-timeout.c - host test of the conversion of sd_bus_get_timeout()'s
 * absolute CLOCK_MONOTONIC deadline (µs) to a libuv delay (ms). */
#include <stdint.h>

#include "bus.h"
#include "tap.h"

int main(void)
{
	tap_ok(bus_timeout_to_ms(UINT64_MAX, 5) == -1, "UINT64_MAX: no timer");
	tap_ok(bus_timeout_to_ms(0, 1000000) == 0, "0 (messages queued): now");
	tap_ok(bus_timeout_to_ms(999, 1000) == 0, "past deadline: now");
	tap_ok(bus_timeout_to_ms(1000, 1000) == 0, "deadline = now: now");
	tap_ok(bus_timeout_to_ms(1001, 1000) == 1, "1 µs ahead: 1 ms (rounded up)");
	tap_ok(bus_timeout_to_ms(2000, 1000) == 1, "1000 µs ahead: 1 ms");
	tap_ok(bus_timeout_to_ms(2001, 1000) == 2, "1001 µs ahead: 2 ms");
	tap_ok(bus_timeout_to_ms(25000000 + 7, 7) == 25000, "25 s ahead");
	tap_ok(bus_timeout_to_ms(UINT64_MAX - 1, 0) == (int64_t)((UINT64_MAX - 1) / 1000 + 1),
	       "far future does not overflow");
	return tap_done();
}
