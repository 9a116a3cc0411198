/* broker-client.c - the client side of the broker's end-to-end test
 * (tests/guest/test-broker) and of the demo (tests/guest/daxmirror-demo):
 * an application that mirrors a file through libdaxmirror, and a few
 * deliberately bad D-Bus calls made with sd-bus directly.
 *
 * Output is "key=value" lines on stdout (flushed line by line), so that a
 * shell script can pick what it asserts on; diagnostics go to stderr.
 * Exit status: 0 success, 1 a step failed (error= and errno= say which),
 * 2 usage, 3 a hold timed out.
 *
 *   broker-client mirror FILE [options]
 *	Mirror FILE through the broker (daxmirror_mirror_file()) and report:
 *	session=, dax=, granularity=, length=, then the mirror's counters
 *	(entries_4k=, entries_2m=, entries_1g=, device_faults=, ...).
 *	--offset N, --length N	the range (default: the whole file)
 *	--write			a writable mirror (file opened O_RDWR)
 *	--open-ro		open the file O_RDONLY even with --write
 *	--prefault		LIBDAXMIRROR_MIRROR_PREFAULT
 *	--prefetch		daxmirror_mirror_prefetch() of the whole range
 *	--fill SEED		write pattern SEED over the whole range through
 *				the device, persist, read it back through the
 *				device and with pread (fill_device=, fill_pread=)
 *	--message TEXT		write TEXT through the device at 3 MiB + 123,
 *				read it back through the device
 *				(message_device=) and with pread
 *				(message_pread=, message_check=)
 *	--hold			print ready=1, keep everything until stdin
 *				closes (at most --hold-timeout seconds, 300)
 *	--after-hold		after the hold, one more device write and read
 *				(after_hold_write=, after_hold_read= as errno
 *				names: ENODEV once the session was revoked)
 *	--after-fill SEED	after the hold, --fill with SEED again
 *				(after_fill=ok; fill_device=, fill_pread= anew)
 *	--bus ADDRESS		a D-Bus address instead of the default
 *
 *   broker-client verify FILE --seed SEED [--offset N] [--length N]
 *	pread the range and compare it with pattern SEED (verify=ok).
 *
 *   broker-client mkfile DIR SIZE
 *	Create a file of SIZE bytes in DIR whose extents are 2 MiB aligned
 *	(fallocate, FIEMAP-checked), mode 0666, and print path=.
 *
 *   broker-client raw CASE [ARG...]
 *	One D-Bus call with sd-bus on the system bus (or $DAXMIRROR_BUS_ADDRESS),
 *	printing reply=ok or error=NAME and message=:
 *	open-wrong-signature	Manager.OpenSession("s" "x")
 *	open-bad-option		Manager.OpenSession({"Write": <"yes">})
 *	open-unknown-option	Manager.OpenSession({"NoSuchOption": <true>})
 *	attach-devnull PATH	Session PATH .AttachFile(/dev/null fd, 0, 4096, {})
 *	attach-opath PATH FILE	.AttachFile(an O_PATH fd of FILE, 0, 4096, {})
 *	revoke PATH		Manager.RevokeSession(PATH)
 *	open			Manager.OpenSession({})
 *	no-interface PATH MEMBER a call of MEMBER on PATH without an interface
 *
 *   broker-client bus-hold
 *	Open a session with sd-bus (OpenSession({}), never bound), print
 *	session= and ready=1, then read stdin: a line "drop" closes the bus
 *	connection but keeps the session fd (bus=closed); at EOF print the
 *	session's state as SESSION_INFO on its fd tells it (session_state=
 *	new, ... or an errno name: ENODEV once revoked).
 *
 *   broker-client fdstore-inject PID NAME KIND
 *	Send FDSTORE=1 with FDNAME=NAME and one fd of KIND on $NOTIFY_SOCKET
 *	on behalf of PID (root: the credentials say PID, so systemd files it
 *	under the service whose main process PID is): eventfd (an anon inode
 *	that is no daxmirror session), devnull, record (a sealed memfd with
 *	text that is no state record), unsealed (a state record for session
 *	1 in an unsealed memfd). Prints stored=1.
 *
 *   broker-client notify-listen SOCKET LOG SECONDS
 *	Bind a datagram socket at SOCKET (mode 0666) and append every
 *	message received (sd_notify() protocol) as a line to LOG, for
 *	SECONDS seconds or until SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "libdaxmirror.h"

#include "dmt.h"

#define CHUNK		(1u << 20)
#define MESSAGE_OFF	((3ull << 20) + 123)

/* errno name of a 0 / -errno return: "0" or "ENODEV". */
static const char *rname(int r)
{
	return r == 0 ? "0" : tap_errname(-r);
}

/* Report a failed step and return 1 (the exit status). */
static int failed(struct daxmirror_client *c, const char *step, int r)
{
	const char *last = c ? daxmirror_client_last_error(c) : NULL;

	dmt_kv("step", "%s", step);
	dmt_kv("error", "%d", r);
	dmt_kv("errno", "%s", rname(r));
	if (last)
		dmt_kv("last_error", "%s", last);
	dmt_kv("result", "failed");
	return 1;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'K': x <<= 10; end++; break;
	case 'M': x <<= 20; end++; break;
	case 'G': x <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return -EINVAL;
	*v = x;
	return 0;
}

static void print_counters(const char *prefix, const struct daxmirror_counters *k)
{
	char key[64];

#define C(f) do { snprintf(key, sizeof(key), "%s%s", prefix, #f); \
		  dmt_kv(key, "%" PRIu64, k->f); } while (0)
	C(entries_4k);
	C(entries_2m);
	C(entries_1g);
	C(device_faults);
	C(range_faults);
	C(range_retries);
	C(invalidations);
	C(bytes_read);
	C(bytes_written);
#undef C
}

/* Wait until stdin reaches EOF, at most @timeout_s. 0 EOF, -ETIMEDOUT. */
static int hold(unsigned int timeout_s)
{
	uint64_t start = dmt_now_ms();
	char buf[256];

	for (;;) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		long left;
		int r;

		left = (long)timeout_s * 1000 - (long)(dmt_now_ms() - start);
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;
		ssize_t n = read(0, buf, sizeof(buf));

		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return 0;
	}
}

/* Device-write pattern @seed over the mirror, persist, read back. */
static int fill(struct daxmirror_client *c, struct daxmirror_mirror *m, int fd,
		uint64_t file_off, uint64_t seed)
{
	uint64_t len = daxmirror_mirror_length(m);
	_cleanup_free_ uint8_t *buf = malloc(CHUNK);
	_cleanup_free_ uint8_t *back = malloc(CHUNK);
	int r;

	if (!buf || !back)
		return failed(c, "malloc", -ENOMEM);
	for (uint64_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? (size_t)(len - off) : CHUNK;

		dmt_pattern_fill(buf, n, seed, file_off + off);
		r = daxmirror_mirror_write(m, off, buf, n);
		if (r < 0)
			return failed(c, "daxmirror_mirror_write", r);
	}
	r = daxmirror_mirror_persist(m, 0, len);
	if (r < 0)
		return failed(c, "daxmirror_mirror_persist", r);
	dmt_kv("fill_bytes", "%" PRIu64, len);

	for (uint64_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
		ssize_t d;

		r = daxmirror_mirror_read(m, off, back, n);
		if (r < 0)
			return failed(c, "daxmirror_mirror_read", r);
		d = dmt_pattern_check(back, n, seed, file_off + off);
		if (d >= 0) {
			dmt_kv("fill_device", "mismatch at %" PRIu64, off + (uint64_t)d);
			return failed(c, "device read-back", -EIO);
		}
	}
	dmt_kv("fill_device", "ok");

	ssize_t d = dmt_file_check_pattern(fd, len, (off_t)file_off, seed);

	if (d >= 0) {
		dmt_kv("fill_pread", "mismatch at %zd", d);
		return failed(c, "pread check", -EIO);
	}
	dmt_kv("fill_pread", "ok");
	return 0;
}

static int message(struct daxmirror_client *c, struct daxmirror_mirror *m, int fd,
		   uint64_t file_off, const char *text)
{
	size_t len = strlen(text);
	_cleanup_free_ char *back = calloc(1, len + 1);
	int r;

	if (!back)
		return failed(c, "malloc", -ENOMEM);
	if (MESSAGE_OFF + len > daxmirror_mirror_length(m))
		return failed(c, "--message: mirror too short", -EINVAL);
	r = daxmirror_mirror_write(m, MESSAGE_OFF, text, len);
	if (r < 0)
		return failed(c, "daxmirror_mirror_write", r);
	r = daxmirror_mirror_persist(m, MESSAGE_OFF, len);
	if (r < 0)
		return failed(c, "daxmirror_mirror_persist", r);
	r = daxmirror_mirror_read(m, MESSAGE_OFF, back, len);
	if (r < 0)
		return failed(c, "daxmirror_mirror_read", r);
	dmt_kv("message_device", "%s", memcmp(back, text, len) ? "MISMATCH" : "identical");
	memset(back, 0, len);
	r = dmt_pread_full(fd, back, len, (off_t)(file_off + MESSAGE_OFF));
	if (r < 0)
		return failed(c, "pread", r);
	dmt_kv("message_offset", "%llu", (unsigned long long)(file_off + MESSAGE_OFF));
	dmt_kv("message_pread", "%s", back);
	dmt_kv("message_check", "%s", memcmp(back, text, len) ? "MISMATCH" : "identical");
	return memcmp(back, text, len) ? failed(c, "message check", -EIO) : 0;
}

static int cmd_mirror(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'l' },
		{ "write", no_argument, NULL, 'w' },
		{ "open-ro", no_argument, NULL, 'r' },
		{ "prefault", no_argument, NULL, 'P' },
		{ "prefetch", no_argument, NULL, 'p' },
		{ "fill", required_argument, NULL, 'f' },
		{ "message", required_argument, NULL, 'm' },
		{ "hold", no_argument, NULL, 'h' },
		{ "hold-timeout", required_argument, NULL, 'T' },
		{ "after-hold", no_argument, NULL, 'a' },
		{ "after-fill", required_argument, NULL, 'A' },
		{ "bus", required_argument, NULL, 'b' },
		{}
	};
	uint64_t offset = 0, length = 0, seed = 0, seed2 = 0, timeout = 300;
	bool write = false, open_ro = false, prefault = false, prefetch = false;
	bool do_fill = false, do_hold = false, after = false, after_fill = false;
	const char *text = NULL, *bus = NULL, *path;
	struct daxmirror_client *c = NULL;
	struct daxmirror_mirror *m = NULL;
	struct daxmirror_counters k;
	_cleanup_close_ int fd = -1;
	unsigned int flags = 0;
	int r, o, status = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'o': if (parse_u64(optarg, &offset)) return 2; break;
		case 'l': if (parse_u64(optarg, &length)) return 2; break;
		case 'w': write = true; break;
		case 'r': open_ro = true; break;
		case 'P': prefault = true; break;
		case 'p': prefetch = true; break;
		case 'f': if (parse_u64(optarg, &seed)) return 2; do_fill = true; break;
		case 'm': text = optarg; break;
		case 'h': do_hold = true; break;
		case 'T': if (parse_u64(optarg, &timeout)) return 2; break;
		case 'a': after = true; break;
		case 'A': if (parse_u64(optarg, &seed2)) return 2; after_fill = true; break;
		case 'b': bus = optarg; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: broker-client mirror FILE [options]\n");
		return 2;
	}
	path = argv[optind];

	dmt_kv("pid", "%d", (int)getpid());
	dmt_kv("uid", "%u", (unsigned int)getuid());
	fd = open(path, (write && !open_ro ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return failed(NULL, "open", -errno);
	dmt_kv("file", "%s", path);
	dmt_kv("open_mode", "%s", write && !open_ro ? "O_RDWR" : "O_RDONLY");

	r = daxmirror_client_new(&c, bus);
	if (r < 0)
		return failed(NULL, "daxmirror_client_new", r);
	if (write)
		flags |= LIBDAXMIRROR_MIRROR_WRITE;
	if (prefault)
		flags |= LIBDAXMIRROR_MIRROR_PREFAULT;
	r = daxmirror_mirror_file(c, fd, offset, length, flags, &m);
	if (r < 0) {
		status = failed(c, "daxmirror_mirror_file", r);
		goto out;
	}
	dmt_kv("session", "%s", daxmirror_client_session_path(c) ?: "(none)");
	dmt_kv("dax", "%d", daxmirror_mirror_is_dax(m));
	dmt_kv("granularity", "%s", daxmirror_mirror_granularity(m));
	dmt_kv("addr", "%p", daxmirror_mirror_addr(m));
	dmt_kv("length", "%" PRIu64, daxmirror_mirror_length(m));

	if (prefetch) {
		r = daxmirror_mirror_prefetch(m, 0, daxmirror_mirror_length(m), write);
		if (r < 0) {
			status = failed(c, "daxmirror_mirror_prefetch", r);
			goto out;
		}
		dmt_kv("prefetch", "ok");
	}
	if (do_fill && (status = fill(c, m, fd, offset, seed)))
		goto out;
	if (text && (status = message(c, m, fd, offset, text)))
		goto out;

	r = daxmirror_mirror_counters(m, &k);
	if (r < 0) {
		status = failed(c, "daxmirror_mirror_counters", r);
		goto out;
	}
	print_counters("", &k);
	r = daxmirror_client_counters(c, &k);
	if (r < 0) {
		status = failed(c, "daxmirror_client_counters", r);
		goto out;
	}
	print_counters("session_", &k);

	if (do_hold) {
		dmt_kv("ready", "1");
		r = hold((unsigned int)timeout);
		if (r < 0) {
			dmt_kv("hold", "timeout");
			status = 3;
			goto out;
		}
		dmt_kv("hold", "released");
	}
	if (after) {
		char b[64];

		memset(b, 0x5a, sizeof(b));
		dmt_kv("after_hold_write", "%s", rname(daxmirror_mirror_write(m, 0, b, sizeof(b))));
		dmt_kv("after_hold_read", "%s", rname(daxmirror_mirror_read(m, 0, b, sizeof(b))));
	}
	if (after_fill) {
		status = fill(c, m, fd, offset, seed2);
		if (status)
			goto out;
		dmt_kv("after_fill", "ok");
	}
	dmt_kv("result", "ok");
out:
	daxmirror_mirror_free(m);
	daxmirror_client_free(c);
	return status;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'l' },
		{}
	};
	uint64_t seed = 0, offset = 0, length = 0;
	_cleanup_close_ int fd = -1;
	bool have_seed = false;
	struct stat st;
	ssize_t d;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': if (parse_u64(optarg, &seed)) return 2; have_seed = true; break;
		case 'o': if (parse_u64(optarg, &offset)) return 2; break;
		case 'l': if (parse_u64(optarg, &length)) return 2; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || !have_seed) {
		fprintf(stderr, "usage: broker-client verify FILE --seed SEED\n");
		return 2;
	}
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return failed(NULL, "open", -errno);
	if (!length)
		length = (uint64_t)st.st_size - offset;
	d = dmt_file_check_pattern(fd, length, (off_t)offset, seed);
	if (d >= 0) {
		dmt_kv("verify", "mismatch at %zd", d);
		return 1;
	}
	dmt_kv("verify", "ok");
	dmt_kv("verified_bytes", "%" PRIu64, length);
	return 0;
}

static int cmd_mkfile(int argc, char **argv)
{
	struct dmt_file f = DMT_FILE_INIT;
	char why[256] = "";
	uint64_t size;
	int r;

	if (argc != 3 || parse_u64(argv[2], &size)) {
		fprintf(stderr, "usage: broker-client mkfile DIR SIZE\n");
		return 2;
	}
	r = dmt_file_create_aligned(&f, argv[1], size, DMT_2M, 0x5eed, why, sizeof(why));
	if (r != 0) {
		dmt_kv("why", "%s", why);
		return failed(NULL, "dmt_file_create_aligned", r < 0 ? r : -EAGAIN);
	}
	if (fchmod(f.fd, 0666) < 0)
		return failed(NULL, "fchmod", -errno);
	dmt_kv("path", "%s", f.path);
	dmt_kv("size", "%" PRIu64, size);
	dmt_kv("dax", "%d", dmt_file_is_dax(f.fd));
	close(f.fd);	/* keep the file */
	return 0;
}

static int open_bus(sd_bus **bus)
{
	const char *addr = getenv("DAXMIRROR_BUS_ADDRESS");
	int r;

	if (!addr || !*addr)
		return sd_bus_open_system(bus);
	r = sd_bus_new(bus);
	if (r < 0)
		return r;
	r = sd_bus_set_address(*bus, addr);
	if (r >= 0)
		r = sd_bus_set_bus_client(*bus, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(*bus, 1);
	if (r >= 0)
		r = sd_bus_start(*bus);
	if (r < 0)
		*bus = sd_bus_unref(*bus);
	return r;
}

static int cmd_raw(int argc, char **argv)
{
	__attribute__((cleanup(sd_bus_flush_close_unrefp))) sd_bus *bus = NULL;
	__attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *msg = NULL;
	__attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *what = argc > 1 ? argv[1] : "";
	const char *dest = "org.daxmirror1", *mgr = "/org/daxmirror1";
	const char *miface = "org.daxmirror1.Manager";
	_cleanup_close_ int fd = -1;
	int r;

	r = open_bus(&bus);
	if (r < 0)
		return failed(NULL, "connect to the bus", r);

	if (!strcmp(what, "open-wrong-signature")) {
		r = sd_bus_message_new_method_call(bus, &msg, dest, mgr, miface, "OpenSession");
		if (r >= 0)
			r = sd_bus_message_append(msg, "s", "x");
	} else if (!strcmp(what, "open-bad-option")) {
		r = sd_bus_message_new_method_call(bus, &msg, dest, mgr, miface, "OpenSession");
		if (r >= 0)
			r = sd_bus_message_append(msg, "a{sv}", 1, "Write", "s", "yes");
	} else if (!strcmp(what, "open-unknown-option")) {
		r = sd_bus_message_new_method_call(bus, &msg, dest, mgr, miface, "OpenSession");
		if (r >= 0)
			r = sd_bus_message_append(msg, "a{sv}", 1, "NoSuchOption", "b", 1);
	} else if ((!strcmp(what, "attach-devnull") && argc == 3) ||
		   (!strcmp(what, "attach-opath") && argc == 4)) {
		fd = argc == 4 ? open(argv[3], O_PATH | O_CLOEXEC)
			       : open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return failed(NULL, "open", -errno);
		r = sd_bus_message_new_method_call(bus, &msg, dest, argv[2],
						   "org.daxmirror1.Session", "AttachFile");
		if (r >= 0)
			r = sd_bus_message_append(msg, "htta{sv}", fd, (uint64_t)0,
						  (uint64_t)4096, 0);
	} else if (!strcmp(what, "revoke") && argc == 3) {
		r = sd_bus_message_new_method_call(bus, &msg, dest, mgr, miface, "RevokeSession");
		if (r >= 0)
			r = sd_bus_message_append(msg, "o", argv[2]);
	} else if (!strcmp(what, "open")) {
		r = sd_bus_message_new_method_call(bus, &msg, dest, mgr, miface, "OpenSession");
		if (r >= 0)
			r = sd_bus_message_append(msg, "a{sv}", 0);
	} else if (!strcmp(what, "no-interface") && argc == 4) {
		r = sd_bus_message_new_method_call(bus, &msg, dest, argv[2], NULL, argv[3]);
	} else {
		fprintf(stderr, "usage: broker-client raw open-wrong-signature|open-bad-option|"
			"open-unknown-option|attach-devnull PATH|attach-opath PATH FILE|"
			"revoke PATH|open|no-interface PATH MEMBER\n");
		return 2;
	}
	if (r < 0)
		return failed(NULL, "build the message", r);

	r = sd_bus_call(bus, msg, 30 * 1000000ULL, &err, &reply);
	if (r < 0) {
		dmt_kv("error", "%s", err.name ?: rname(r));
		dmt_kv("message", "%s", err.message ?: "");
		sd_bus_error_free(&err);
		return 1;
	}
	dmt_kv("reply", "ok");
	dmt_kv("signature", "%s", sd_bus_message_get_signature(reply, 1) ?: "");
	return 0;
}

static int cmd_bus_hold(int argc, char **argv)
{
	__attribute__((cleanup(sd_bus_flush_close_unrefp))) sd_bus *bus = NULL;
	__attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	struct daxmirror_session_info info;
	_cleanup_close_ int sfd = -1;
	const char *path;
	char line[64];
	int r, fd;

	r = open_bus(&bus);
	if (r < 0)
		return failed(NULL, "connect to the bus", r);
	r = sd_bus_call_method(bus, "org.daxmirror1", "/org/daxmirror1",
			       "org.daxmirror1.Manager", "OpenSession", &err, &reply, "a{sv}", 0);
	if (r < 0) {
		dmt_kv("error", "%s", err.name ?: rname(r));
		sd_bus_error_free(&err);
		return 1;
	}
	r = sd_bus_message_read(reply, "oh", &path, &fd);
	if (r < 0)
		return failed(NULL, "read the reply", r);
	sfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (sfd < 0)
		return failed(NULL, "dup", -errno);
	dmt_kv("session", "%s", path);
	dmt_kv("ready", "1");
	while (fgets(line, sizeof(line), stdin)) {
		if (!strcmp(line, "drop\n") && bus) {
			bus = sd_bus_flush_close_unref(bus);
			dmt_kv("bus", "closed");
		}
	}
	memset(&info, 0, sizeof(info));
	if (ioctl(sfd, DAXMIRROR_IOC_SESSION_INFO, &info) < 0)
		dmt_kv("session_state", "%s", rname(-errno));
	else
		dmt_kv("session_state", "%s", info.state == DAXMIRROR_STATE_NEW ? "new" :
		   info.state == DAXMIRROR_STATE_BOUND ? "bound" :
		   info.state == DAXMIRROR_STATE_MM_GONE ? "mm-gone" :
		   info.state == DAXMIRROR_STATE_REVOKED ? "revoked" : "?");
	return 0;
}

static int cmd_fdstore_inject(int argc, char **argv)
{
	static const char unsealed[] =
		"daxmirrord-session-state 1\nid 1\nuid 0\npid 1\nowner :1.1\ncreated 0\n"
		"write 0\npagecache 0\nanonymous 0\nmax-mirrors 1\nmax-bytes 4096\n"
		"attached 0\nend\n";
	const char *text = NULL;
	char msg[256];
	_cleanup_close_ int fd = -1;
	uint64_t pid;
	int r;

	if (argc != 4 || parse_u64(argv[1], &pid) || !pid || pid > INT32_MAX ||
	    strlen(argv[2]) > 200) {
		fprintf(stderr, "usage: broker-client fdstore-inject PID NAME eventfd|devnull|record|unsealed\n");
		return 2;
	}
	if (!strcmp(argv[3], "eventfd")) {
		fd = eventfd(0, EFD_CLOEXEC);
	} else if (!strcmp(argv[3], "devnull")) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	} else if (!strcmp(argv[3], "record") || !strcmp(argv[3], "unsealed")) {
		bool seal = !strcmp(argv[3], "record");

		text = seal ? "no state record\n" : unsealed;
		fd = memfd_create("forged", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd >= 0 && write(fd, text, strlen(text)) != (ssize_t)strlen(text))
			return failed(NULL, "write", -EIO);
		if (fd >= 0 && seal &&
		    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
			return failed(NULL, "F_ADD_SEALS", -errno);
	} else {
		fprintf(stderr, "broker-client fdstore-inject: unknown kind '%s'\n", argv[3]);
		return 2;
	}
	if (fd < 0)
		return failed(NULL, "make the fd", -errno);
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", argv[2]);
	r = sd_pid_notify_with_fds((pid_t)pid, 0, msg, &fd, 1);
	if (r <= 0)
		return failed(NULL, "sd_pid_notify_with_fds", r ? r : -ENOTCONN);
	dmt_kv("stored", "1");
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static int cmd_notify_listen(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int s = -1;
	struct sigaction act = { .sa_handler = on_term };
	uint64_t seconds;
	double start;
	FILE *log;
	int one = 1;

	if (argc != 4 || parse_u64(argv[3], &seconds) ||
	    strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: broker-client notify-listen SOCKET LOG SECONDS\n");
		return 2;
	}
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	strcpy(sa.sun_path, argv[1]);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return failed(NULL, "socket", -errno);
	/* sd_notify() sends its credentials; accept them. */
	setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	unlink(sa.sun_path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return failed(NULL, "bind", -errno);
	chmod(sa.sun_path, 0666);
	log = fopen(argv[2], "a");
	if (!log)
		return failed(NULL, "fopen", -errno);
	setvbuf(log, NULL, _IOLBF, 0);
	start = dmt_now_s();
	while (!stop) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		char buf[4096], ctl[CMSG_SPACE(sizeof(int) * 16) + CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		ssize_t n;

		if (dmt_now_s() - start >= (double)seconds)
			break;
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0)
			continue;
		/* Close any fd sent along (FDSTORE=1). */
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				int *fds = (int *)CMSG_DATA(cm);
				size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (size_t i = 0; i < nfds; i++)
					close(fds[i]);
				fprintf(log, "(%zu fds)\n", nfds);
			}
		}
		buf[n] = '\0';
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			fprintf(log, "%s\n", line);
	}
	fclose(log);
	unlink(sa.sun_path);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(cmd, "mirror"))
		return cmd_mirror(argc - 1, argv + 1);
	if (!strcmp(cmd, "verify"))
		return cmd_verify(argc - 1, argv + 1);
	if (!strcmp(cmd, "mkfile"))
		return cmd_mkfile(argc - 1, argv + 1);
	if (!strcmp(cmd, "raw"))
		return cmd_raw(argc - 1, argv + 1);
	if (!strcmp(cmd, "bus-hold"))
		return cmd_bus_hold(argc - 1, argv + 1);
	if (!strcmp(cmd, "fdstore-inject"))
		return cmd_fdstore_inject(argc - 1, argv + 1);
	if (!strcmp(cmd, "notify-listen"))
		return cmd_notify_listen(argc - 1, argv + 1);
	fprintf(stderr, "usage: broker-client mirror|verify|mkfile|raw|bus-hold|fdstore-inject|notify-listen ...\n"
		"(see the comment at the top of tests/guest/broker-client.c)\n");
	return 2;
}
