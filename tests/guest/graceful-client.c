/* graceful-client.c - the application of tests/guest/test-broker-graceful:
 * a libdaxmirror client that keeps writing through the device while an
 * administrator revokes its session gracefully, and the check of the file
 * afterwards.
 *
 *   graceful-client run FILE ack|ignore
 *	Mirrors FILE writable (its length a multiple of 4 KiB) and writes
 *	record after record through the device: record SEQ fills block
 *	SEQ % BLOCKS (4 KiB each) with SEQ and a marker, over and over.
 *	Prints "session=PATH" and "ready=1" after the first write.
 *	ack: polls the bus fd (daxmirror_client_get_fd/get_events) between
 *	writes; when daxmirror_client_process() reports the revoke request
 *	it stops writing, calls daxmirror_client_acknowledge_revoke() and
 *	prints "acknowledged=1 waited_ms=MS" (from seeing the request to the
 *	ack's return). ignore: never looks at the bus; writes until a write
 *	fails, which must be -ENODEV (the broker forced the revoke), then
 *	acknowledge_revoke must say -ENODEV.
 *	Then tries AFTER_WRITES more device writes of records marked "after"
 *	(each must fail with -ENODEV) and prints "last=SEQ" (the last record
 *	whose write returned 0), "blocks=BLOCKS", "after_enodev=N/M". Exit 0
 *	iff all of that held.
 *
 *   graceful-client verify FILE LAST
 *	pread()s FILE and checks that each block holds exactly the last
 *	record 0..LAST written to it (zeros if none): every write completed
 *	before the revoke is there, nothing of a later one. Prints
 *	"verified=BLOCKS bad=N"; exit 0 iff N is 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"

#define BLOCK		4096u
#define AFTER_WRITES	8
#define MARK_BEFORE	"graceful-before"
#define MARK_AFTER	"graceful-after!"

/* Record @seq: the 8-byte seq and a 16-byte marker, repeated over a block. */
static void fill(uint8_t *b, uint64_t seq, const char *mark)
{
	for (unsigned i = 0; i < BLOCK; i += 24) {
		unsigned n = BLOCK - i < 24 ? BLOCK - i : 24;
		uint8_t rec[24];

		memcpy(rec, &seq, 8);
		memcpy(rec + 8, mark, 16);
		memcpy(b + i, rec, n);
	}
}

static int run(const char *path, bool ack)
{
	_cleanup_client_ struct daxmirror_client *c = NULL;
	_cleanup_mirror_ struct daxmirror_mirror *m = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t buf[BLOCK];
	uint64_t seq, blocks, last = UINT64_MAX, seen_ms = 0;
	bool stopped = false;
	unsigned enodev = 0;
	struct stat st;
	int r;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < BLOCK || st.st_size % BLOCK) {
		fprintf(stderr, "graceful-client: %s: not a file of 4 KiB blocks\n", path);
		return 2;
	}
	blocks = (uint64_t)st.st_size / BLOCK;
	r = daxmirror_client_new(&c, NULL);
	if (r == 0)
		r = daxmirror_mirror_file(c, fd, 0, 0,
					  LIBDAXMIRROR_MIRROR_WRITE | LIBDAXMIRROR_MIRROR_PREFAULT, &m);
	if (r < 0) {
		fprintf(stderr, "graceful-client: mirroring %s: %s (%s)\n", path, strerror(-r),
			c && daxmirror_client_last_error(c) ? daxmirror_client_last_error(c) : "-");
		return 1;
	}

	for (seq = 0; !stopped; seq++) {
		fill(buf, seq, MARK_BEFORE);
		r = daxmirror_mirror_write(m, (seq % blocks) * BLOCK, buf, BLOCK);
		if (r < 0) {
			if (ack || r != -ENODEV) {
				fprintf(stderr, "graceful-client: write of record %" PRIu64 ": %s\n",
					seq, strerror(-r));
				return 1;
			}
			break;	/* ignore: forced */
		}
		last = seq;
		if (seq == 0) {
			printf("session=%s\nready=1\n", daxmirror_client_session_path(c));
			fflush(stdout);
		}
		if (!ack)
			continue;
		{
			struct pollfd p = {
				.fd = daxmirror_client_get_fd(c),
				.events = (short)daxmirror_client_get_events(c),
			};

			/* (process() at the first record too: earlier calls may
			 * have queued a message the fd no longer shows.) */
			if (seq && poll(&p, 1, 0) <= 0)
				continue;
		}
		r = daxmirror_client_process(c);
		if (r < 0) {
			fprintf(stderr, "graceful-client: process: %s\n", strerror(-r));
			return 1;
		}
		if (r == 1) {
			seen_ms = dmt_now_ms();
			stopped = true;
		}
	}

	if (ack) {
		/* revoke_pending()'s deadline is in CLOCK_MONOTONIC microseconds. */
		uint64_t deadline = 0, now = dmt_now_ns() / 1000;

		if (daxmirror_client_revoke_pending(c, &deadline) != 1 || deadline <= now) {
			fprintf(stderr, "graceful-client: revoke_pending: no future deadline\n");
			return 1;
		}
		printf("deadline_in_ms=%" PRIu64 "\n", (deadline - now) / 1000);
		r = daxmirror_client_acknowledge_revoke(c);
		if (r < 0) {
			fprintf(stderr, "graceful-client: acknowledge_revoke: %s (%s)\n",
				strerror(-r), daxmirror_client_last_error(c) ?: "-");
			return 1;
		}
		printf("acknowledged=1 waited_ms=%" PRIu64 "\n", dmt_now_ms() - seen_ms);
	} else {
		r = daxmirror_client_acknowledge_revoke(c);
		printf("late_acknowledge=%s\n", strerrorname_np(-r) ?: "0");
		if (r != -ENODEV)
			return 1;
	}

	for (unsigned i = 0; i < AFTER_WRITES; i++) {
		fill(buf, last + 1 + i, MARK_AFTER);
		r = daxmirror_mirror_write(m, ((last + 1 + i) % blocks) * BLOCK, buf, BLOCK);
		enodev += r == -ENODEV;
	}
	printf("last=%" PRIu64 "\nblocks=%" PRIu64 "\nafter_enodev=%u/%u\n", last, blocks, enodev,
	       AFTER_WRITES);
	return last != UINT64_MAX && enodev == AFTER_WRITES ? 0 : 1;
}

static int verify(const char *path, uint64_t last)
{
	_cleanup_close_ int fd = -1;
	uint8_t got[BLOCK], want[BLOCK];
	uint64_t blocks, bad = 0;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size % BLOCK) {
		fprintf(stderr, "graceful-client: %s: %m\n", path);
		return 2;
	}
	blocks = (uint64_t)st.st_size / BLOCK;
	for (uint64_t b = 0; b < blocks; b++) {
		if (pread(fd, got, BLOCK, (off_t)(b * BLOCK)) != BLOCK) {
			fprintf(stderr, "graceful-client: pread block %" PRIu64 ": %m\n", b);
			return 1;
		}
		if (b > last) {
			memset(want, 0, BLOCK);
		} else {
			/* The last record 0..LAST that went to block b. */
			fill(want, last - (last - b) % blocks, MARK_BEFORE);
		}
		if (memcmp(got, want, BLOCK)) {
			uint64_t s;

			memcpy(&s, got, 8);
			if (bad++ < 5)
				fprintf(stderr, "graceful-client: block %" PRIu64 " holds record %" PRIu64 " (%.15s)\n",
					b, s, (const char *)got + 8);
		}
	}
	printf("verified=%" PRIu64 " bad=%" PRIu64 "\n", blocks, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "run") &&
	    (!strcmp(argv[3], "ack") || !strcmp(argv[3], "ignore")))
		return run(argv[2], !strcmp(argv[3], "ack"));
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return verify(argv[2], strtoull(argv[3], NULL, 10));
	fprintf(stderr, "usage: graceful-client run FILE ack|ignore\n"
		"       graceful-client verify FILE LAST\n");
	return 2;
}
