/* demo.c - daxmirror-demo, the project's demo (run in the guest by
 * `tools/vm demo`): a broker creates a session and grants a 64 MiB file
 * with 2 MiB aligned extents on ext4 -o dax; a client process binds,
 * mirrors the file, prefetches it, writes through the device and reads the
 * bytes back with pread; the broker then reports the session as it sees
 * it. Expect 32 device entries of 2 MiB. Exits non-zero on any failure.
 * Usage: daxmirror-demo [DIR] (default: $DAXMIRROR_EXT4_DAX). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt.h"

#define SIZE		(64UL << 20)
#define MSG_OFF		((3UL << 20) + 123)

static const char msg[] =
	"written by the device through an order-9 entry of the device page table";

struct client_arg {
	int sfd;
	int fd;
};

/* "FILE|DAX", "ANON", "none". */
static const char *backing_str(uint32_t b, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", b & DAXMIRROR_BACKING_ANON ? "ANON" : "",
		 (b & DAXMIRROR_BACKING_ANON) && (b & ~DAXMIRROR_BACKING_ANON) ? "|" : "",
		 b & DAXMIRROR_BACKING_FILE ? "FILE" : "",
		 (b & DAXMIRROR_BACKING_FILE) && (b & DAXMIRROR_BACKING_DAX) ? "|" : "",
		 b & DAXMIRROR_BACKING_DAX ? "DAX" : "");
	if (!b)
		snprintf(buf, len, "none");
	return buf;
}

/* "ALLOW_ANON|ALLOW_WRITE", ... */
static const char *policy_str(uint32_t f, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", f & DAXMIRROR_SESSION_ALLOW_ANON ? "ALLOW_ANON " : "",
		 f & DAXMIRROR_SESSION_ALLOW_WRITE ? "ALLOW_WRITE " : "",
		 f & DAXMIRROR_SESSION_ALLOW_PAGECACHE ? "ALLOW_PAGECACHE " : "");
	if (*buf)
		buf[strlen(buf) - 1] = '\0';
	else
		snprintf(buf, len, "none");
	return buf;
}

static const char *state_str(uint32_t s)
{
	switch (s) {
	case DAXMIRROR_STATE_NEW:	return "NEW";
	case DAXMIRROR_STATE_BOUND:	return "BOUND";
	case DAXMIRROR_STATE_MM_GONE:	return "MM_GONE";
	case DAXMIRROR_STATE_REVOKED:	return "REVOKED";
	default:			return "?";
	}
}

static int fail(const char *who, const char *what, int err)
{
	printf("%s: FAILED: %s: %s\n", who, what, tap_errname(err));
	fflush(stdout);
	return 1;
}

/* The client: bind, map, mirror, prefetch, device write, pread back. */
static int client(int sock, void *argp)
{
	const struct client_arg *a = argp;
	struct dmt_map m = DMT_MAP_INIT;
	char back[sizeof(msg)];
	struct dmt_snap sn;
	uint64_t mid = 0;
	int64_t go;
	int r;

	printf("client (pid %d): binding the session\n", (int)getpid());
	if ((r = dmt_bind(a->sfd)) < 0)
		return fail("client", "BIND", -r);
	r = dmt_map_file(&m, SIZE, DMT_2M, PROT_READ | PROT_WRITE, a->fd, 0, true);
	if (r < 0)
		return fail("client", "mmap", -r);
	printf("client: file mapped at %p (%s, 2 MiB aligned)\n", m.addr,
	       m.sync ? "MAP_SHARED_VALIDATE|MAP_SYNC" : "MAP_SHARED");
	if ((r = dmt_mirror_add(a->sfd, m.addr, SIZE, DAXMIRROR_MIRROR_WRITE, &mid)) < 0)
		return fail("client", "MIRROR_ADD", -r);
	printf("client: mirror %llu added, prefetching 64 MiB for writing\n",
	       (unsigned long long)mid);
	if ((r = dmt_fault(a->sfd, m.addr, SIZE, DAXMIRROR_FAULT_WRITE)) < 0)
		return fail("client", "FAULT", -r);
	if ((r = dmt_snap_summary(a->sfd, m.addr, SIZE, &sn)) < 0)
		return fail("client", "SNAPSHOT", -r);
	printf("client: snapshot of %zu pages: %zu writable, %zu readable, %zu unmapped;\n"
	       "        by order: %zu pages in 4K entries, %zu pages in 2M entries (%zu entries);\n"
	       "        %zu DAX pages, %zu ZONE_DEVICE pages\n",
	       sn.pages, sn.write, sn.read, sn.none,
	       sn.order_pages[DAXMIRROR_ORDER_4K], sn.order_pages[DAXMIRROR_ORDER_2M],
	       sn.entries[DAXMIRROR_ORDER_2M], sn.dax, sn.zone_device);
	if ((r = dmt_dev_write(a->sfd, (uint8_t *)m.addr + MSG_OFF, msg, sizeof(msg))) < 0)
		return fail("client", "device WRITE", -r);
	if ((r = dmt_pread_full(a->fd, back, sizeof(back), MSG_OFF)) < 0)
		return fail("client", "pread", -r);
	printf("client: device wrote %zu bytes at file offset %lu; pread reads back:\n"
	       "        \"%.*s\" -> %s\n", sizeof(msg), MSG_OFF, (int)sizeof(msg) - 1,
	       back, memcmp(back, msg, sizeof(msg)) ? "MISMATCH" : "identical");
	fflush(stdout);
	if (memcmp(back, msg, sizeof(msg)))
		return 1;
	if (dmt_send_i64(sock, (int64_t)mid) < 0 ||
	    dmt_recv_i64(sock, &go, DMT_CHILD_TIMEOUT_MS) < 0)
		return fail("client", "talking to the broker", EPIPE);
	dmt_unmap(&m);
	return 0;
}

static int report(int ctl, uint64_t sid, uint64_t mid, const struct stat *st)
{
	struct daxmirror_session_info info;
	struct daxmirror_mirror_info mi;
	const struct daxmirror_stats *c = &info.stats;
	char b[64], pol[64];
	int r;

	if ((r = dmt_session_info(ctl, sid, &info)) < 0)
		return fail("broker", "SESSION_INFO", -r);
	if ((r = dmt_mirror_get(ctl, sid, mid, &mi)) < 0)
		return fail("broker", "MIRROR_LIST", -r);
	printf("\nbroker: session %llu as seen from the control node\n"
	       "  state %s, bound pid %d uid %u, policy %s\n"
	       "  mirrors %u of %u, mirrored pages %llu of %llu, grants %u\n",
	       (unsigned long long)sid, state_str(info.state), info.pid, info.uid,
	       policy_str(info.session_flags, pol, sizeof(pol)), info.nr_mirrors, info.max_mirrors,
	       (unsigned long long)info.mirrored_pages,
	       (unsigned long long)info.max_pages, info.nr_grants);
	printf("  mirror %llu: start 0x%llx length %llu MiB, %s, backing %s\n"
	       "    file dev 0x%llx ino %llu (fstat: ino %llu), file offset %llu\n",
	       (unsigned long long)mi.id, (unsigned long long)mi.start,
	       (unsigned long long)(mi.length >> 20),
	       mi.flags & DAXMIRROR_MIRROR_WRITE ? "writable" : "read-only",
	       backing_str(mi.backing, b, sizeof(b)), (unsigned long long)mi.dev,
	       (unsigned long long)mi.ino, (unsigned long long)st->st_ino,
	       (unsigned long long)mi.file_offset);
	printf("  device page-table entries by order: 4K %llu, 2M %llu, 1G %llu\n",
	       (unsigned long long)c->entries[DAXMIRROR_ORDER_4K],
	       (unsigned long long)c->entries[DAXMIRROR_ORDER_2M],
	       (unsigned long long)c->entries[DAXMIRROR_ORDER_1G]);
	printf("  counters: device_faults %llu, fault_calls %llu, range_faults %llu,\n"
	       "            range_retries %llu, invalidations %llu, pages_invalidated %llu,\n"
	       "            bytes_read %llu, bytes_written %llu\n",
	       (unsigned long long)c->device_faults, (unsigned long long)c->fault_calls,
	       (unsigned long long)c->range_faults, (unsigned long long)c->range_retries,
	       (unsigned long long)c->invalidations,
	       (unsigned long long)c->pages_invalidated,
	       (unsigned long long)c->bytes_read, (unsigned long long)c->bytes_written);
	if (c->entries[DAXMIRROR_ORDER_2M] != SIZE / DMT_2M ||
	    c->entries[DAXMIRROR_ORDER_4K] != 0 || mi.ino != st->st_ino ||
	    mi.backing != (DAXMIRROR_BACKING_FILE | DAXMIRROR_BACKING_DAX)) {
		printf("broker: FAILED: expected 32 x 2M entries, no 4K entry, a FILE|DAX mirror of the file\n");
		return 1;
	}
	printf("broker: OK: 64 MiB mirrored as %llu entries of 2 MiB\n",
	       (unsigned long long)c->entries[DAXMIRROR_ORDER_2M]);
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_close_ int ctl = -1;
	_cleanup_close_ int sfd = -1;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_child_ struct dmt_child c = DMT_CHILD_INIT;
	const char *dir = argc > 1 ? argv[1] : getenv(DMT_ENV_EXT4_DAX);
	struct client_arg ca;
	char why[256] = "";
	struct stat st;
	uint64_t sid = 0;
	uint32_t abi = 0;
	int64_t mid = 0;
	int r, status, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!dir) {
		fprintf(stderr, "usage: %s DIR (or set %s)\n", argv[0], DMT_ENV_EXT4_DAX);
		return 2;
	}
	printf("daxmirror demo: mirroring a DAX file with 2 MiB device entries\n\n");
	if ((ctl = dmt_open_control()) < 0)
		return fail("broker", "open " DMT_CONTROL_PATH, -ctl);
	if ((r = dmt_version(ctl, &abi)) < 0)
		return fail("broker", "VERSION", -r);
	printf("broker: %s open, ABI version %u\n", DMT_CONTROL_PATH, abi);

	r = dmt_file_create_aligned(&f, dir, SIZE, DMT_2M, 1, why, sizeof(why));
	if (r != 0) {
		printf("broker: FAILED: a 64 MiB file with 2 MiB aligned extents in %s: %s\n",
		       dir, why);
		return 1;
	}
	fstat(f.fd, &st);
	printf("broker: file %s\n  %llu MiB, inode %llu, DAX (statx): %s\n"
	       "  extents: every one 2 MiB aligned, logically and physically (FIEMAP)\n",
	       f.path, (unsigned long long)(st.st_size >> 20),
	       (unsigned long long)st.st_ino,
	       dmt_file_is_dax(f.fd) == 1 ? "yes" : "NO");

	sfd = dmt_session_create(ctl, DAXMIRROR_SESSION_ALLOW_WRITE, 0, 1 << 20, &sid);
	if (sfd < 0)
		return fail("broker", "CREATE_SESSION", -sfd);
	if ((r = dmt_grant(ctl, sid, f.fd, DAXMIRROR_GRANT_WRITE, 0, SIZE)) < 0)
		return fail("broker", "GRANT_FILE", -r);
	printf("broker: session %llu created (ALLOW_WRITE), file granted for writing;\n"
	       "        handing the session fd to a client process\n\n",
	       (unsigned long long)sid);

	ca.sfd = sfd;
	ca.fd = f.fd;
	if ((r = dmt_child_start(&c, client, &ca)) < 0)
		return fail("broker", "fork", -r);
	r = dmt_recv_i64(c.sock, &mid, DMT_CHILD_TIMEOUT_MS);
	failed = r < 0 ? 1 : report(ctl, sid, (uint64_t)mid, &st);
	dmt_send_i64(c.sock, 1);
	status = dmt_child_wait(&c, DMT_CHILD_TIMEOUT_MS);
	if (status != 0) {
		printf("client: FAILED (exit status %d)\n", status);
		failed = 1;
	}
	printf("\ndemo %s\n", failed ? "FAILED" : "passed");
	return failed;
}
