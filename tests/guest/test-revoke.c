/* test-revoke.c - DAXMIRROR_CTL_REVOKE: afterwards every session ioctl
 * fails with ENODEV, read() drains the queued events ending with REVOKED
 * and then fails with ENODEV, poll() reports POLLHUP|POLLIN, the control fd
 * gets REVOKED, the broker sees state REVOKED with no mirrors or grants,
 * another session keeps working, the mapped file is intact; revoking twice
 * is EALREADY, an unknown id ENOENT. Runs in the guest as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt.h"

#define FLEN (16 * 1024UL)

static void g_revoke(const void *arg)
{
	_cleanup_session_ struct dmt_session a = DMT_SESSION_INIT;
	_cleanup_session_ struct dmt_session b = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map anon = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map fm = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map bm = DMT_MAP_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_free_ struct daxmirror_mirror_info *mi = NULL;
	_cleanup_free_ uint64_t *ids = NULL;
	struct daxmirror_session_info info;
	struct daxmirror_event ev;
	const char *dir = getenv(DMT_ENV_EXT4_DAX);
	uint8_t buf[FLEN], want[FLEN], snap[4];
	uint64_t fmid = 0, amid = 0, maxid = 0;
	bool none_live = true;
	uint32_t n = 0;
	ssize_t got;
	int r, rev;

	(void)arg;
	if (!dir || !*dir) {
		dir = getenv(DMT_ENV_TMPFS);
		tap_diag("%s unset: the file lives on %s", DMT_ENV_EXT4_DAX,
			 dir ? dir : "/tmp");
		if (!dir)
			dir = "/tmp";
	}
	if (dmt_session_open(&a, DMT_ANON_RW | DAXMIRROR_SESSION_ALLOW_PAGECACHE,
			     0, 0, true) < 0 ||
	    dmt_session_open(&b, DMT_ANON_RW, 0, 0, true) < 0 ||
	    dmt_set_nonblock(a.sfd) < 0 ||
	    dmt_file_create(&f, dir, "revoke", FLEN, 801) < 0 ||
	    dmt_grant(a.ctl, a.id, f.fd, DAXMIRROR_GRANT_WRITE, 0, FLEN) < 0 ||
	    dmt_map_file(&fm, FLEN, 0, PROT_READ | PROT_WRITE, f.fd, 0, false) < 0 ||
	    dmt_map_anon(&anon, 4 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0 ||
	    dmt_map_anon(&bm, 4 * DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0) < 0) {
		tap_fail_rest("setup failed");
		return;
	}
	dmt_pattern_fill(anon.addr, anon.len, 803, 0);
	dmt_pattern_fill(bm.addr, bm.len, 804, 0);
	dmt_pattern_fill(want, FLEN, 801, 0);
	dmt_pattern_fill(want + 1000, 3000, 802, 1000);
	if (dmt_mirror_add(a.sfd, fm.addr, FLEN, DAXMIRROR_MIRROR_WRITE, &fmid) < 0 ||
	    dmt_mirror_add(a.sfd, anon.addr, anon.len, DAXMIRROR_MIRROR_WRITE, &amid) < 0 ||
	    dmt_dev_write(a.sfd, (uint8_t *)fm.addr + 1000, want + 1000, 3000) < 0 ||
	    dmt_fault(a.sfd, anon.addr, anon.len, DAXMIRROR_FAULT_WRITE) < 0 ||
	    dmt_mirror_add(b.sfd, bm.addr, bm.len, DAXMIRROR_MIRROR_WRITE, NULL) < 0 ||
	    dmt_fault(b.sfd, bm.addr, bm.len, 0) < 0) {
		tap_fail_rest("mirrors before the revoke failed");
		return;
	}

	tap_success(dmt_revoke(a.ctl, a.id), "REVOKE a bound session with two mirrors and a grant");

	rev = dmt_poll(a.sfd, POLLIN, 1000);
	if (!tap_ok(rev > 0 && (rev & POLLHUP) && (rev & POLLIN),
		    "poll on the revoked session fd: POLLHUP|POLLIN"))
		tap_diag("revents 0x%x", rev);

	r = dmt_event_wait(a.ctl, DAXMIRROR_EVENT_REVOKED, a.id,
			   DMT_EVENT_TIMEOUT_MS, &ev);
	tap_success(r, "the control fd gets REVOKED with the session id");

	/* the session's queue: maybe other events first, REVOKED last */
	memset(&ev, 0, sizeof(ev));
	for (int i = 0; i < 16; i++) {
		got = read(a.sfd, &ev, sizeof(ev));
		if (got != sizeof(ev) || ev.type == DAXMIRROR_EVENT_REVOKED)
			break;
		tap_diag("(queued before REVOKED: %s)", dmt_event_name(ev.type));
	}
	if (!tap_ok(got == sizeof(ev) && ev.type == DAXMIRROR_EVENT_REVOKED &&
		    ev.session_id == a.id,
		    "read() on the session fd drains its events, ending with REVOKED"))
		tap_diag("read %zd (%s) type %s", got, got < 0 ? tap_errname(errno) : "",
			 dmt_event_name(ev.type));
	got = read(a.sfd, &ev, sizeof(ev));
	tap_errno(got < 0 ? -errno : got, ENODEV,
		  "the next read() on the revoked session fd -> ENODEV");

	tap_errno(dmt_bind(a.sfd), ENODEV, "BIND after revoke -> ENODEV");
	tap_errno(dmt_mirror_add(a.sfd, bm.addr, bm.len, 0, NULL), ENODEV,
		  "MIRROR_ADD after revoke -> ENODEV");
	tap_errno(dmt_mirror_remove(a.sfd, amid), ENODEV,
		  "MIRROR_REMOVE after revoke -> ENODEV");
	tap_errno(dmt_fault(a.sfd, anon.addr, anon.len, 0), ENODEV,
		  "FAULT after revoke -> ENODEV");
	tap_errno(dmt_snapshot(a.sfd, anon.addr, anon.len, snap), ENODEV,
		  "SNAPSHOT after revoke -> ENODEV");
	tap_errno(dmt_dev_read(a.sfd, fm.addr, buf, 64), ENODEV,
		  "READ after revoke -> ENODEV");
	tap_errno(dmt_dev_write(a.sfd, fm.addr, buf, 64), ENODEV,
		  "WRITE after revoke -> ENODEV");
	tap_errno(dmt_session_info(a.sfd, 0, &info), ENODEV,
		  "SESSION_INFO on the revoked session fd -> ENODEV");
	tap_errno(dmt_mirror_list(a.sfd, 0, &mi, &n), ENODEV,
		  "MIRROR_LIST on the revoked session fd -> ENODEV");

	r = dmt_session_info(a.ctl, a.id, &info);
	if (!tap_ok(r == 0 && info.state == DAXMIRROR_STATE_REVOKED &&
		    info.nr_mirrors == 0 && info.nr_grants == 0 &&
		    info.mirrored_pages == 0 && info.stats.entries[0] == 0 &&
		    info.stats.entries[1] == 0 && info.stats.entries[2] == 0,
		    "the broker's SESSION_INFO: state REVOKED, no mirror, grant or entry left"))
		tap_diag("ret %s state %u mirrors %u grants %u pages %llu entries %llu",
			 tap_errname(-r), info.state, info.nr_mirrors, info.nr_grants,
			 (unsigned long long)info.mirrored_pages,
			 (unsigned long long)info.stats.entries[0]);
	free(mi);
	mi = NULL;
	r = dmt_mirror_list(a.ctl, a.id, &mi, &n);
	for (uint32_t i = 0; r == 0 && i < n; i++)
		none_live &= mi[i].state == DAXMIRROR_MIRROR_RELEASED &&
			     !mi[i].entries[0] && !mi[i].entries[1] && !mi[i].entries[2];
	if (!tap_ok(r == 0 && none_live,
		    "the broker's MIRROR_LIST: no live mirror, no entry (%u listed)", n))
		tap_diag("ret %s", tap_errname(-r));

	r = dmt_dev_read(b.sfd, bm.addr, buf, bm.len);
	if (r == 0) {
		dmt_pattern_fill(want + 8192, bm.len / 2, 805, 0);
		r = dmt_dev_write(b.sfd, bm.addr, want + 8192, bm.len / 2);
	}
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, bm.len, 804, 0) < 0 &&
		    !memcmp(bm.addr, want + 8192, bm.len / 2),
		    "another session's mirror still reads and writes byte-exact"))
		tap_diag("ret %s", tap_errname(-r));

	tap_errno(dmt_revoke(a.ctl, a.id), EALREADY, "REVOKE twice -> EALREADY");
	r = dmt_list_sessions(a.ctl, &ids, &n);
	for (uint32_t i = 0; r == 0 && i < n; i++)
		maxid = ids[i] > maxid ? ids[i] : maxid;
	tap_errno(r < 0 ? r : dmt_revoke(a.ctl, maxid + 1000), ENOENT,
		  "REVOKE of an unknown session id -> ENOENT");
	tap_errno(dmt_grant(a.ctl, a.id, f.fd, 0, 0, FLEN), ENODEV,
		  "GRANT_FILE to a revoked session -> ENODEV");

	dmt_pattern_fill(want, FLEN, 801, 0);
	dmt_pattern_fill(want + 1000, 3000, 802, 1000);
	r = dmt_pread_full(f.fd, buf, FLEN, 0);
	if (!tap_ok(r == 0 && !memcmp(buf, want, FLEN) && !memcmp(fm.addr, want, FLEN),
		    "the file is intact after revoke (pread and the CPU mapping), device write included"))
		tap_diag("ret %s first difference %zd", tap_errname(-r),
			 dmt_first_diff(buf, want, FLEN));
	tap_ok(dmt_pattern_check(anon.addr, anon.len, 803, 0) < 0,
	       "the revoked session's anonymous memory is intact for the CPU");
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "revoke", 22, g_revoke, NULL },
	};

	if (geteuid() != 0)
		tap_bail("must run as root");
	return tap_main(groups, ARRAY_SIZE(groups), 300);
}
