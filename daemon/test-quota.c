/* test-quota.c - host test of the per-uid session and byte accounting. */
#include <errno.h>
#include <stdint.h>

#include "quota.h"
#include "tap.h"

int main(void)
{
	Quota q = QUOTA_NULL;

	tap_ok(quota_sessions(&q, 1000) == 0 && quota_bytes(&q, 1000) == 0, "empty");
	tap_ok(quota_session_check(&q, 1000, 2) == 0, "first session allowed");
	tap_ok(quota_session_check(&q, 1000, 0) == -EDQUOT, "max 0: no session");
	tap_ok(quota_session_add(&q, 1000) == 0 && quota_session_add(&q, 1000) == 0,
	       "two sessions added");
	tap_ok(quota_sessions(&q, 1000) == 2, "counted");
	tap_ok(quota_session_check(&q, 1000, 2) == -EDQUOT, "third refused at max 2");
	tap_ok(quota_session_check(&q, 1001, 2) == 0, "another uid is independent");
	tap_ok(quota_session_remove(&q, 1000) == 0 && quota_session_check(&q, 1000, 2) == 0,
	       "removal makes room");
	tap_ok(quota_session_remove(&q, 1001) == -ENOENT, "removing a session never added");

	tap_ok(quota_bytes_check(&q, 1000, 4096, 8192) == 0, "bytes within max");
	tap_ok(quota_bytes_add(&q, 1000, 4096) == 0 && quota_bytes(&q, 1000) == 4096, "bytes added");
	tap_ok(quota_bytes_check(&q, 1000, 4096, 8192) == 0, "exactly up to max");
	tap_ok(quota_bytes_check(&q, 1000, 4097, 8192) == -EDQUOT, "one byte over");
	tap_ok(quota_bytes_left(&q, 1000, 8192) == 4096, "bytes left");
	tap_ok(quota_bytes_left(&q, 1000, 1024) == 0, "left is 0 when over (max lowered)");
	tap_ok(quota_bytes_check(&q, 1000, UINT64_MAX, UINT64_MAX) == -EDQUOT,
	       "a sum that would overflow is refused");
	tap_ok(quota_bytes_add(&q, 1000, UINT64_MAX) == -EOVERFLOW && quota_bytes(&q, 1000) == 4096,
	       "overflowing add refused, count unchanged");
	tap_ok(quota_bytes_add(&q, 2000, UINT64_MAX) == 0 &&
	       quota_bytes_add(&q, 2000, 1) == -EOVERFLOW, "overflow at the edge");
	tap_ok(quota_bytes_remove(&q, 2000, UINT64_MAX) == 0 && quota_bytes(&q, 2000) == 0,
	       "removed back to 0");
	tap_ok(quota_bytes_add(&q, 3000, 0) == 0 && q.n == 1, "adding 0 bytes creates nothing");
	tap_ok(quota_bytes_remove(&q, 1000, 8192) == -ERANGE && quota_bytes(&q, 1000) == 0,
	       "removing more than held clamps to 0");
	tap_ok(quota_sessions(&q, 1000) == 1, "sessions unaffected by bytes");
	tap_ok(quota_session_remove(&q, 1000) == 0 && q.n == 0, "entry dropped when all is 0");

	/* Many uids: the table grows. */
	for (uid_t u = 0; u < 100; u++)
		quota_session_add(&q, u);
	tap_ok(q.n == 100 && quota_sessions(&q, 57) == 1, "100 uids");
	for (uid_t u = 0; u < 100; u++)
		quota_session_remove(&q, u);
	tap_ok(q.n == 0, "all gone");
	quota_done(&q);
	tap_ok(q.entries == NULL && q.n == 0, "quota_done");
	/* Vetting in flight: per uid and in all. */
	quota_done(&q);
	tap_ok(quota_vetting_check(&q, 1000, 2, 3) == 0, "vetting: the first call may start");
	tap_ok(quota_vetting_add(&q, 1000) == 0 && quota_vetting_add(&q, 1000) == 0 &&
	       quota_vetting(&q, 1000) == 2 && q.vetting == 2, "vetting: two of uid 1000 counted");
	tap_ok(quota_vetting_check(&q, 1000, 2, 3) == -EUSERS,
	       "vetting: the third of uid 1000 is over its cap (-EUSERS)");
	tap_ok(quota_vetting_check(&q, 1001, 2, 3) == 0 && quota_vetting_add(&q, 1001) == 0,
	       "vetting: another uid may start one");
	tap_ok(quota_vetting_check(&q, 1002, 2, 3) == -EBUSY,
	       "vetting: a fourth in all is over the global cap (-EBUSY)");
	tap_ok(quota_vetting_remove(&q, 1001) == 0 && q.n == 1 &&
	       quota_vetting_check(&q, 1002, 2, 3) == 0,
	       "vetting: a finished thread makes room, its entry is dropped");
	tap_ok(quota_vetting_remove(&q, 1002) == -ENOENT && q.vetting == 2,
	       "vetting: removing one never added changes nothing");
	tap_ok(quota_session_add(&q, 1000) == 0 && quota_vetting_remove(&q, 1000) == 0 &&
	       quota_vetting_remove(&q, 1000) == 0 && q.n == 1 && q.vetting == 0 &&
	       quota_sessions(&q, 1000) == 1, "vetting: the entry stays while the uid has a session");
	quota_done(&q);
	return tap_done();
}
