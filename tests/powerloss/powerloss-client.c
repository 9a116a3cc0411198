/* powerloss-client.c - the application of the power-loss test
 * (tests/powerloss/run, driven in the guest by tests/powerloss/guest): an
 * unprivileged libdaxmirror client that writes data the library promises
 * to be durable, and data it does not, to a file on the nvdimm (ext4 -o dax)
 * before the power is cut; and, after the next boot, checks what is there.
 *
 * Output is "key=value" lines on stdout (flushed and fsync'ed line by
 * line: stdout is a file on the build share, which must hold everything
 * printed before the power cut); diagnostics go to stderr.
 * Exit status: 0 done (for verify: whatever it found), 1 a step failed,
 * 2 usage.
 *
 *   powerloss-client write FILE --seed S --device-mib N --cpu-mib M --loose-kib K
 *	Create FILE (O_EXCL), fallocate it, fsync it and its directory (the
 *	application's part: metadata), mirror it writable with prefault, then
 *	  [0, N MiB)		device writes (daxmirror_mirror_write(): durable
 *				when the call returns, no persist needed)
 *	  [N, N+M MiB)		CPU stores through the mapping, each MiB made
 *				durable with daxmirror_mirror_persist()
 *	  [N+M MiB, +K KiB)	CPU stores, never persisted (no persist, no
 *				msync, no fsync): the library promises nothing
 *	pattern S for the first two (the byte at file offset o is a function
 *	of S and o), pattern S+1 for the last. Prints the layout (region=),
 *	one "sum=OFF LEN FNV" line per MiB of durable data (FNV-1a 64 of
 *	what was written, from the source buffers), then ready=1, and keeps
 *	everything (session, mapping, fd) until stdin reaches EOF: the power
 *	is cut while it holds them.
 *
 *   powerloss-client verify FILE MANIFEST
 *	MANIFEST is the write run's output. For every sum= line: pread the
 *	range, compare its FNV-1a 64 with the recorded one and every byte
 *	with the pattern (pread_ok_bytes=, pread_bad_bytes=,
 *	first_bad_offset=); then mirror FILE read-only through the broker
 *	and do the same with device reads (device_ok_bytes=,
 *	device_bad_bytes=). For the unpersisted region, count its bytes found
 *	as written, zero, or other (loose_written=, loose_zero=, loose_other=).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "dmt.h"

#define MIB		((uint64_t)1 << 20)
#define KIB		((uint64_t)1 << 10)
#define FILE_ALIGN	(2 * MIB)

/* out: one key=value line on stdout, on the host before anything else. */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	fsync(STDOUT_FILENO);
}

static int fail(const char *step, int err)
{
	out("error=%s", step);
	out("errno=%s", strerrorname_np(err > 0 ? err : -err) ?: "?");
	fprintf(stderr, "powerloss-client: %s: %s\n", step, strerror(err > 0 ? err : -err));
	return 1;
}

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* fsync the directory holding @path (the new entry's durability). */
static int fsync_parent(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int dfd = -1;

	if (!copy)
		return -ENOMEM;
	dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return -errno;
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end ? -EINVAL : 0;
}

static int cmd_write(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "device-mib", required_argument, NULL, 'd' },
		{ "cpu-mib", required_argument, NULL, 'c' },
		{ "loose-kib", required_argument, NULL, 'l' },
		{ 0 }
	};
	uint64_t seed = 1, dev_mib = 0, cpu_mib = 0, loose_kib = 0, *v;
	_cleanup_client_ struct daxmirror_client *c = NULL;
	_cleanup_mirror_ struct daxmirror_mirror *m = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -1;
	uint64_t size, loose_off, off;
	const char *path;
	uint8_t *map;
	int opt, r;
	char ch;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		v = opt == 's' ? &seed : opt == 'd' ? &dev_mib : opt == 'c' ? &cpu_mib :
		    opt == 'l' ? &loose_kib : NULL;
		if (!v || parse_u64(optarg, v) < 0)
			return 2;
	}
	if (optind + 1 != argc || dev_mib + cpu_mib == 0 || loose_kib % 4 ||
	    dev_mib > 4096 || cpu_mib > 4096 || loose_kib > 1024 * 1024)
		return 2;
	path = argv[optind];
	loose_off = (dev_mib + cpu_mib) * MIB;
	size = (loose_off + loose_kib * KIB + FILE_ALIGN - 1) / FILE_ALIGN * FILE_ALIGN;

	/* The application's duty: the file and its size are metadata, which
	 * a power cut loses unless fsync'ed; the data then goes by DAX. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail("open", errno);
	r = posix_fallocate(fd, 0, (off_t)size);
	if (r)
		return fail("posix_fallocate", r);
	if (fsync(fd) < 0)
		return fail("fsync", errno);
	r = fsync_parent(path);
	if (r < 0)
		return fail("fsync-dir", r);

	r = daxmirror_client_new(&c, NULL);
	if (r < 0)
		return fail("daxmirror_client_new", r);
	r = daxmirror_mirror_file(c, fd, 0, 0,
				  LIBDAXMIRROR_MIRROR_WRITE | LIBDAXMIRROR_MIRROR_PREFAULT, &m);
	if (r < 0) {
		fprintf(stderr, "powerloss-client: %s\n", daxmirror_client_last_error(c) ?: "");
		return fail("daxmirror_mirror_file", r);
	}
	map = daxmirror_mirror_addr(m);
	out("session=%s", daxmirror_client_session_path(c));
	out("dax=%d", daxmirror_mirror_is_dax(m));
	out("granularity=%s", daxmirror_mirror_granularity(m));
	out("file_size=%" PRIu64, size);
	out("seed=%" PRIu64, seed);
	out("region=device %" PRIu64 " %" PRIu64, (uint64_t)0, dev_mib * MIB);
	out("region=cpu %" PRIu64 " %" PRIu64, dev_mib * MIB, cpu_mib * MIB);
	out("region=loose %" PRIu64 " %" PRIu64, loose_off, loose_kib * KIB);

	buf = malloc(MIB);
	if (!buf)
		return fail("malloc", ENOMEM);
	for (off = 0; off < loose_off; off += MIB) {
		dmt_pattern_fill(buf, MIB, seed, off);
		if (off < dev_mib * MIB) {
			r = daxmirror_mirror_write(m, off, buf, MIB);
			if (r < 0)
				return fail("daxmirror_mirror_write", r);
		} else {
			memcpy(map + off, buf, MIB);
			r = daxmirror_mirror_persist(m, off, MIB);
			if (r < 0)
				return fail("daxmirror_mirror_persist", r);
		}
		/* Recorded only once durable by the library's promise. */
		out("sum=%" PRIu64 " %" PRIu64 " %016" PRIx64, off, MIB, fnv1a(buf, MIB));
	}
	/* Stored, never persisted. */
	for (off = 0; off < loose_kib * KIB; off += 4 * KIB) {
		dmt_pattern_fill(buf, 4 * KIB, seed + 1, loose_off + off);
		memcpy(map + loose_off + off, buf, 4 * KIB);
	}
	out("durable_bytes=%" PRIu64, loose_off);
	out("loose_bytes=%" PRIu64, loose_kib * KIB);
	out("ready=1");

	/* Hold everything until stdin closes (the power cut comes first). */
	while (read(STDIN_FILENO, &ch, 1) > 0)
		;
	return 0;
}

struct region {
	uint64_t off, len;
};

/* What one way of reading found: bytes equal to / different from the
 * pattern, ranges whose checksum differs from the recorded one. */
struct tally {
	uint64_t ok, bad, sums_bad, first_bad;
};

static void tally_range(struct tally *t, const uint8_t *p, uint64_t len, uint64_t seed,
			uint64_t off, uint64_t sum)
{
	ssize_t at = dmt_pattern_check(p, len, seed, off);

	if (fnv1a(p, len) != sum)
		t->sums_bad++;
	if (at < 0) {
		t->ok += len;
		return;
	}
	if (t->first_bad == UINT64_MAX)
		t->first_bad = off + (uint64_t)at;
	for (uint64_t i = 0; i < len; i++) {
		if (p[i] == dmt_pattern_byte(seed, off + i))
			t->ok++;
		else
			t->bad++;
	}
}

/* A range that could not be read at all counts as bad. */
static void tally_unread(struct tally *t, uint64_t off, uint64_t len)
{
	t->bad += len;
	t->sums_bad++;
	if (t->first_bad == UINT64_MAX)
		t->first_bad = off;
}

static void print_tally(const char *name, const struct tally *t)
{
	out("%s_ok_bytes=%" PRIu64, name, t->ok);
	out("%s_bad_bytes=%" PRIu64, name, t->bad);
	out("%s_sums_bad=%" PRIu64, name, t->sums_bad);
	if (t->first_bad != UINT64_MAX)
		out("%s_first_bad_offset=%" PRIu64, name, t->first_bad);
}

static int cmd_verify(int argc, char **argv)
{
	struct tally pr = { .first_bad = UINT64_MAX }, dv = { .first_bad = UINT64_MAX };
	_cleanup_client_ struct daxmirror_client *c = NULL;
	_cleanup_mirror_ struct daxmirror_mirror *m = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_fclose_ FILE *mf = NULL;
	_cleanup_close_ int fd = -1;
	uint64_t seed = 0, size = 0, off, len, sum, nsums = 0;
	uint64_t written = 0, zero = 0, other = 0;
	struct region loose = { 0, 0 };
	bool have_seed = false;
	char line[256], name[16];
	struct stat st;
	int r;

	if (argc != 3)
		return 2;
	mf = fopen(argv[2], "re");
	if (!mf)
		return fail("open-manifest", errno);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open", errno);
	if (fstat(fd, &st) < 0)
		return fail("fstat", errno);
	buf = malloc(MIB);
	if (!buf)
		return fail("malloc", ENOMEM);

	r = daxmirror_client_new(&c, NULL);
	if (r < 0)
		return fail("daxmirror_client_new", r);
	r = daxmirror_mirror_file(c, fd, 0, 0, 0, &m);
	if (r < 0) {
		fprintf(stderr, "powerloss-client: %s\n", daxmirror_client_last_error(c) ?: "");
		return fail("daxmirror_mirror_file", r);
	}
	out("dax=%d", daxmirror_mirror_is_dax(m));

	while (fgets(line, sizeof(line), mf)) {
		if (sscanf(line, "seed=%" SCNu64, &seed) == 1) {
			have_seed = true;
		} else if (sscanf(line, "file_size=%" SCNu64, &size) == 1) {
			out("file_size_expected=%" PRIu64, size);
			out("file_size_found=%lld", (long long)st.st_size);
		} else if (sscanf(line, "region=%15s %" SCNu64 " %" SCNu64, name, &off, &len) == 3 &&
			   !strcmp(name, "loose")) {
			loose.off = off;
			loose.len = len;
		} else if (sscanf(line, "sum=%" SCNu64 " %" SCNu64 " %" SCNx64, &off, &len, &sum) == 3) {
			if (!have_seed || len > MIB)
				return fail("manifest", EINVAL);
			nsums++;
			if (dmt_pread_full(fd, buf, len, (off_t)off) < 0)
				tally_unread(&pr, off, len);
			else
				tally_range(&pr, buf, len, seed, off, sum);
			memset(buf, 0, len);
			if (daxmirror_mirror_read(m, off, buf, len) < 0)
				tally_unread(&dv, off, len);
			else
				tally_range(&dv, buf, len, seed, off, sum);
		}
	}
	if (!have_seed || !nsums)
		return fail("manifest", ENODATA);
	out("sums=%" PRIu64, nsums);
	print_tally("pread", &pr);
	print_tally("device", &dv);

	for (off = 0; off < loose.len; off += len) {
		len = loose.len - off < MIB ? loose.len - off : MIB;
		r = dmt_pread_full(fd, buf, len, (off_t)(loose.off + off));
		if (r < 0)
			return fail("pread-loose", r);
		for (uint64_t i = 0; i < len; i++) {
			if (buf[i] == dmt_pattern_byte(seed + 1, loose.off + off + i))
				written++;
			else if (!buf[i])
				zero++;
			else
				other++;
		}
	}
	out("loose_bytes=%" PRIu64, loose.len);
	out("loose_written=%" PRIu64, written);
	out("loose_zero=%" PRIu64, zero);
	out("loose_other=%" PRIu64, other);
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	if (argc >= 2 && !strcmp(argv[1], "write"))
		r = cmd_write(argc - 1, argv + 1);
	else if (argc >= 2 && !strcmp(argv[1], "verify"))
		r = cmd_verify(argc - 1, argv + 1);
	if (r == 2)
		fprintf(stderr,
			"usage: powerloss-client write FILE --seed S --device-mib N --cpu-mib M --loose-kib K\n"
			"       powerloss-client verify FILE MANIFEST\n");
	return r;
}
