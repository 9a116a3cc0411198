/* test-huge.c - huge device entries under partial invalidation: a 4 KiB
 * munmap inside a PMD-mapped DAX block (ext4 -o dax) drops that block's one
 * order-9 entry and only it; the rest of the block, now mapped by PTEs,
 * faults back on the device side as 4 KiB entries with the file's data, and
 * the hole reads as unmapped. Runs in the guest as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt.h"

#define LEN		(8UL << 20)		/* 4 blocks of 2 MiB */
#define BLOCKS		(LEN / DMT_2M)
#define SEED		901

static void g_split(const void *arg)
{
	const char *dir = dmt_env_dir(DMT_ENV_EXT4_DAX);
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_free_ uint8_t *buf = NULL;
	struct daxmirror_session_info info;
	struct dmt_snap sn;
	char why[256] = "";
	uint8_t *hole;
	int r;

	(void)arg;
	buf = malloc(DMT_2M);
	if (!dir || !buf) {
		tap_fail_rest("no ext4 -o dax directory or no memory");
		return;
	}
	r = dmt_file_create_aligned(&f, dir, LEN, DMT_2M, SEED, why, sizeof(why));
	if (!tap_ok(r == 0, "an %lu MiB file with 2 MiB aligned extents", LEN >> 20)) {
		tap_diag("%s (ret %d)", why, r);
		tap_fail_rest("no aligned file");
		return;
	}
	if (dmt_session_open(&s, DAXMIRROR_SESSION_ALLOW_WRITE, 0, 0, true) < 0 ||
	    dmt_grant(s.ctl, s.id, f.fd, 0, 0, LEN) < 0 ||
	    dmt_map_file(&m, LEN, DMT_2M, PROT_READ, f.fd, 0, false) < 0 ||
	    dmt_mirror_add(s.sfd, m.addr, LEN, 0, NULL) < 0 ||
	    dmt_fault(s.sfd, m.addr, LEN, 0) < 0 ||
	    dmt_snap_summary(s.sfd, m.addr, LEN, &sn) < 0) {
		tap_fail_rest("setup failed: %s", strerror(errno));
		return;
	}
	if (!tap_ok(sn.entries[DAXMIRROR_ORDER_2M] == BLOCKS &&
		    sn.entries[DAXMIRROR_ORDER_4K] == 0,
		    "prefetch: %lu order-9 entries, no 4 KiB entry", BLOCKS))
		dmt_snap_diag("after prefetch", &sn);

	/* A second FAULT of the covered mirror must not walk the CPU tables. */
	{
		struct daxmirror_session_info before, after;
		struct daxmirror_stats *st = &before.stats;

		/* The prefetch's timers: the whole holds its phases. */
		r = dmt_session_info(s.sfd, 0, &before);
		if (!tap_ok(r == 0 && st->walk_ns > 0 && st->update_ns > 0 &&
			    st->populate_ns >= st->walk_ns + st->lock_ns + st->update_ns,
			    "populate_ns of the prefetch holds its walk, lock and update phases"))
			tap_diag("ret %s: populate %llu walk %llu lock %llu update %llu ns",
				 tap_errname(-r), (unsigned long long)st->populate_ns,
				 (unsigned long long)st->walk_ns, (unsigned long long)st->lock_ns,
				 (unsigned long long)st->update_ns);
		if (r == 0)
			r = dmt_fault(s.sfd, m.addr, LEN, 0);
		if (r == 0)
			r = dmt_fault(s.sfd, (uint8_t *)m.addr + DMT_2M, DMT_PAGE, 0);
		if (r == 0)
			r = dmt_session_info(s.sfd, 0, &after);
		if (!tap_ok(r == 0 && after.stats.range_faults == before.stats.range_faults &&
			    after.stats.fault_calls == before.stats.fault_calls + 2 &&
			    after.stats.populate_ns == before.stats.populate_ns,
			    "FAULT of an already covered range answers from the device table (no hmm_range_fault, no population time)"))
			tap_diag("ret %s range_faults %llu -> %llu populate_ns %llu -> %llu",
				 tap_errname(-r),
				 (unsigned long long)before.stats.range_faults,
				 (unsigned long long)after.stats.range_faults,
				 (unsigned long long)before.stats.populate_ns,
				 (unsigned long long)after.stats.populate_ns);
	}

	/* Unmap one page in the middle of block 1. */
	hole = (uint8_t *)m.addr + DMT_2M + 5 * DMT_PAGE;
	r = munmap(hole, DMT_PAGE);
	if (dmt_snap_summary(s.sfd, m.addr, LEN, &sn) < 0)
		memset(&sn, 0, sizeof(sn));
	if (!tap_ok(r == 0 && sn.entries[DAXMIRROR_ORDER_2M] == BLOCKS - 1 &&
		    sn.entries[DAXMIRROR_ORDER_4K] == 0 &&
		    sn.none == DMT_2M / DMT_PAGE,
		    "munmap of 4 KiB in block 1 drops that block's entry only (%lu x 2M left)",
		    BLOCKS - 1))
		dmt_snap_diag("after munmap", &sn);

	/* The device reads the rest of block 1: faults PTE-sized entries. */
	r = dmt_dev_read(s.sfd, (uint8_t *)m.addr + DMT_2M, buf, 5 * DMT_PAGE);
	if (r == 0)
		r = dmt_dev_read(s.sfd, hole + DMT_PAGE, buf + 6 * DMT_PAGE,
				 DMT_2M - 6 * DMT_PAGE);
	memset(buf + 5 * DMT_PAGE, 0, DMT_PAGE);
	if (!tap_ok(r == 0 &&
		    dmt_pattern_check(buf, 5 * DMT_PAGE, SEED, DMT_2M) < 0 &&
		    dmt_pattern_check(buf + 6 * DMT_PAGE, DMT_2M - 6 * DMT_PAGE,
				      SEED, DMT_2M + 6 * DMT_PAGE) < 0,
		    "device READ around the hole equals the file byte for byte"))
		tap_diag("read: %s", tap_errname(-r));

	if (dmt_snap_summary(s.sfd, m.addr, LEN, &sn) < 0)
		memset(&sn, 0, sizeof(sn));
	if (!tap_ok(sn.entries[DAXMIRROR_ORDER_2M] == BLOCKS - 1 &&
		    sn.entries[DAXMIRROR_ORDER_4K] == DMT_2M / DMT_PAGE - 1 &&
		    sn.none == 1,
		    "block 1 came back as 511 4 KiB entries, the other blocks kept 2 MiB"))
		dmt_snap_diag("after refault", &sn);

	r = dmt_session_info(s.sfd, 0, &info);
	if (!tap_ok(r == 0 && info.stats.entries[DAXMIRROR_ORDER_2M] == BLOCKS - 1 &&
		    info.stats.entries[DAXMIRROR_ORDER_4K] == DMT_2M / DMT_PAGE - 1 &&
		    info.stats.device_faults >= 1,
		    "SESSION_INFO counts agree with the snapshot (2M %lu, 4K %lu)",
		    BLOCKS - 1, DMT_2M / DMT_PAGE - 1))
		tap_diag("ret %s: 4K %llu 2M %llu device_faults %llu", tap_errname(-r),
			 (unsigned long long)info.stats.entries[DAXMIRROR_ORDER_4K],
			 (unsigned long long)info.stats.entries[DAXMIRROR_ORDER_2M],
			 (unsigned long long)info.stats.device_faults);

	tap_errno(dmt_dev_read(s.sfd, hole, buf, DMT_PAGE), EFAULT,
		  "device READ of the unmapped page -> EFAULT");
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "a 4 KiB munmap inside a 2 MiB DAX entry", 9, g_split, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 300);
}
