/* cmd-mirror.c - `daxmirrorctl mirror FILE`: mirror a file range by hand
 * through libdaxmirror and print what it got; --prefault fills the device
 * page table in 64 MiB chunks (a progress bar on stderr when it is a
 * terminal), --hold keeps the mirror for N seconds, --watch prints live
 * counters every second until SIGINT/SIGTERM, --extents the device
 * entries (the extent snapshot, daxmirror_mirror_extents()) as runs of
 * equal ones. The mirror and the session are freed on every way out. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libdaxmirror.h>

#include "bus-util.h"
#include "ctl.h"
#include "json.h"
#include "util.h"

#define PREFAULT_CHUNK (64ULL << 20)
#define BAR_WIDTH 40

static void client_freep(struct daxmirror_client **c)
{
	daxmirror_client_free(*c);
}

static void mirror_freep(struct daxmirror_mirror **m)
{
	daxmirror_mirror_free(*m);
}

/* An exit code and a message for a failed libdaxmirror call. */
static int mirror_fail(struct daxmirror_client *c, int r, const char *file)
{
	const char *last = c ? daxmirror_client_last_error(c) : NULL;
	char detail[1024] = "";

	if (last)
		snprintf(detail, sizeof(detail), " (%s)", last);
	switch (r) {
	case -EHOSTUNREACH:
		fprintf(stderr, "daxmirrorctl: daxmirrord is not running: start it with "
			"'systemctl start daxmirrord' or check 'journalctl -u daxmirrord'\n");
		return CTL_EXIT_NO_DAEMON;
	case -ENXIO:
		fprintf(stderr, "daxmirrorctl: the daxmirror module is not loaded: "
			"modprobe daxmirror\n");
		return CTL_EXIT_NO_MODULE;
	case -EACCES:
	case -EPERM:
		fprintf(stderr, "daxmirrorctl: permission denied: mirroring %s%s\n", file, detail);
		return CTL_EXIT_DENIED;
	case -EDQUOT:
		fprintf(stderr, "daxmirrorctl: quota exceeded: mirroring %s%s\n"
			"'daxmirrorctl status' shows the limits (set in "
			"/etc/daxmirror/daxmirrord.conf)\n", file, detail);
		return CTL_EXIT_QUOTA;
	case -EOPNOTSUPP:
		fprintf(stderr, "daxmirrorctl: %s is not on a DAX filesystem (mount it with "
			"-o dax)%s\n", file, detail);
		return CTL_EXIT_FAILURE;
	case -ENODEV:
		fprintf(stderr, "daxmirrorctl: the session was revoked (by an administrator or "
			"daxmirrord)%s\n", detail);
		return CTL_EXIT_FAILURE;
	default:
		fprintf(stderr, "daxmirrorctl: mirroring %s: %s%s\n", file, strerror(-r), detail);
		return CTL_EXIT_FAILURE;
	}
}

/* 1 if SIGINT or SIGTERM is pending (consumed), waiting up to @ms. */
static int wait_stop(const sigset_t *set, long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	return sigtimedwait(set, NULL, &ts) > 0;
}

static void draw_bar(uint64_t done, uint64_t total)
{
	char b1[FORMAT_BYTES_MAX], b2[FORMAT_BYTES_MAX], bar[BAR_WIDTH + 1];
	unsigned fill = total ? (unsigned)(done * BAR_WIDTH / total) : BAR_WIDTH;

	memset(bar, '#', fill);
	memset(bar + fill, '-', BAR_WIDTH - fill);
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\rprefaulting [%s] %3u%% %s/%s", bar,
		total ? (unsigned)(done * 100 / total) : 100,
		format_bytes(b1, sizeof(b1), done), format_bytes(b2, sizeof(b2), total));
	fflush(stderr);
}

/* Prefetches the whole mirror in chunks; 1 if interrupted, 0, or an errno. */
static int prefault(struct daxmirror_mirror *m, bool write, const sigset_t *stop)
{
	uint64_t len = daxmirror_mirror_length(m), off = 0;
	bool bar = isatty(STDERR_FILENO);
	int r = 0;

	while (off < len) {
		uint64_t n = len - off < PREFAULT_CHUNK ? len - off : PREFAULT_CHUNK;

		if (bar)
			draw_bar(off, len);
		r = daxmirror_mirror_prefetch(m, off, n, write);
		if (r < 0)
			break;
		off += n;
		if (wait_stop(stop, 0)) {
			r = 1;
			break;
		}
	}
	if (bar) {
		if (r == 0)
			draw_bar(len, len);
		fputc('\n', stderr);
	}
	return r;
}

/* A run of device entries of one order and the same bits, each
 * following the last. */
typedef struct Run {
	uint64_t off, len, entries;
	unsigned int order, flags;
} Run;

typedef struct Runs {
	Run *v;
	size_t n, cap;
	uint64_t entries;
} Runs;

static void runs_freep(Runs *r)
{
	free(r->v);
}

static void extents_freep(struct daxmirror_extents **e)
{
	daxmirror_extents_free(*e);
}

static const char *const order_name[] = { "4K", "2M", "1G" };

/* The mirror's device entries, one extent snapshot, merged into runs. */
static int load_runs(struct daxmirror_mirror *m, Runs *out)
{
	_cleanup_(extents_freep) struct daxmirror_extents *e = NULL;
	size_t n;
	int r;

	r = daxmirror_mirror_extents(m, 0, daxmirror_mirror_length(m), &e);
	if (r < 0)
		return r;
	n = daxmirror_extents_count(e);
	for (size_t i = 0; i < n; i++) {
		unsigned int order, flags;
		uint64_t off, size;
		Run *last = out->n ? &out->v[out->n - 1] : NULL;

		r = daxmirror_extents_get(e, i, &off, &order, &flags);
		if (r < 0)
			return r;
		if (order >= ARRAY_SIZE(order_name))
			return -EPROTO;
		size = order == LIBDAXMIRROR_ORDER_1G ? 1ULL << 30 :
		       order == LIBDAXMIRROR_ORDER_2M ? 1ULL << 21 : LIBDAXMIRROR_PAGE_SIZE;
		out->entries++;
		if (last && last->order == order && last->flags == flags &&
		    last->off + last->len == off) {
			last->len += size;
			last->entries++;
			continue;
		}
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 16;
			Run *v = reallocarray(out->v, cap, sizeof(*v));

			if (!v)
				return -ENOMEM;
			out->v = v;
			out->cap = cap;
		}
		out->v[out->n++] = (Run){ .off = off, .len = size, .entries = 1,
					  .order = order, .flags = flags };
	}
	return 0;
}

static const char *run_access(const Run *r)
{
	return (r->flags & LIBDAXMIRROR_SNAP_STATE_MASK) == LIBDAXMIRROR_SNAP_WRITE ? "rw" : "ro";
}

static void print_mirror(const char *file, struct daxmirror_client *c,
			 struct daxmirror_mirror *m, const Ctl *ctl,
			 const struct daxmirror_counters *cnt, const Runs *runs)
{
	char b[FORMAT_BYTES_MAX];
	uint64_t len = daxmirror_mirror_length(m);

	if (ctl->json) {
		JsonWriter w = JSON_WRITER_INIT(stdout);

		json_begin_object(&w);
		json_kv_string(&w, "file", file);
		json_kv_string(&w, "session", daxmirror_client_session_path(c));
		json_kv_u64(&w, "address", (uint64_t)(uintptr_t)daxmirror_mirror_addr(m));
		json_kv_u64(&w, "offset", ctl->offset);
		json_kv_u64(&w, "length", len);
		json_kv_bool(&w, "write", ctl->write);
		json_kv_string(&w, "granularity", daxmirror_mirror_granularity(m));
		json_kv_bool(&w, "dax", daxmirror_mirror_is_dax(m));
		json_kv_u64(&w, "entries_4k", cnt->entries_4k);
		json_kv_u64(&w, "entries_2m", cnt->entries_2m);
		json_kv_u64(&w, "entries_1g", cnt->entries_1g);
		json_kv_u64(&w, "device_faults", cnt->device_faults);
		json_kv_u64(&w, "range_faults", cnt->range_faults);
		json_kv_u64(&w, "range_retries", cnt->range_retries);
		json_kv_u64(&w, "invalidations", cnt->invalidations);
		json_kv_u64(&w, "bytes_read", cnt->bytes_read);
		json_kv_u64(&w, "bytes_written", cnt->bytes_written);
		if (runs) {
			json_key(&w, "extents");
			json_begin_array(&w);
			for (size_t i = 0; i < runs->n; i++) {
				const Run *r = &runs->v[i];

				json_begin_object(&w);
				json_kv_u64(&w, "offset", r->off);
				json_kv_u64(&w, "length", r->len);
				json_kv_string(&w, "order", order_name[r->order]);
				json_kv_u64(&w, "entries", r->entries);
				json_kv_bool(&w, "write", !strcmp(run_access(r), "rw"));
				json_kv_bool(&w, "dax", r->flags & LIBDAXMIRROR_SNAP_DAX);
				json_end_object(&w);
			}
			json_end_array(&w);
		}
		json_end_object(&w);
		json_finish(&w);
		return;
	}
	printf("         File: %s\n", file);
	printf("      Session: %s\n", daxmirror_client_session_path(c));
	printf("      Address: %p\n", daxmirror_mirror_addr(m));
	printf("       Offset: %" PRIu64 "\n", ctl->offset);
	printf("       Length: %s (%" PRIu64 " bytes)\n", format_bytes(b, sizeof(b), len), len);
	printf("        Write: %s\n", ctl->write ? "yes" : "no");
	printf("  Granularity: %s\n", daxmirror_mirror_granularity(m));
	printf("          DAX: %s\n", daxmirror_mirror_is_dax(m) ? "yes" : "no");
	printf("      Entries: 4K %" PRIu64 ", 2M %" PRIu64 ", 1G %" PRIu64 "\n",
	       cnt->entries_4k, cnt->entries_2m, cnt->entries_1g);
	printf("Device faults: %" PRIu64 "\n", cnt->device_faults);
	printf(" Range faults: %" PRIu64 " (%" PRIu64 " retries)\n", cnt->range_faults,
	       cnt->range_retries);
	printf("Invalidations: %" PRIu64 "\n", cnt->invalidations);
	printf("   Bytes read: %" PRIu64 "\n", cnt->bytes_read);
	printf("Bytes written: %" PRIu64 "\n", cnt->bytes_written);
	if (runs) {
		printf("      Extents: %" PRIu64 " device entr%s in %zu run%s\n", runs->entries,
		       runs->entries == 1 ? "y" : "ies", runs->n, runs->n == 1 ? "" : "s");
		for (size_t i = 0; i < runs->n; i++) {
			const Run *r = &runs->v[i];

			printf("               %" PRIu64 " +%" PRIu64 " (%s): %" PRIu64 " x %s %s%s\n",
			       r->off, r->len, format_bytes(b, sizeof(b), r->len), r->entries,
			       order_name[r->order], run_access(r),
			       r->flags & LIBDAXMIRROR_SNAP_DAX ? " dax" : "");
		}
	}
	fflush(stdout);
}

static void print_watch_line(const Ctl *ctl, unsigned long sec,
			     const struct daxmirror_counters *c, bool header)
{
	if (ctl->json) {
		JsonWriter w = JSON_WRITER_INIT(stdout);

		json_begin_object(&w);
		json_kv_u64(&w, "seconds", sec);
		json_kv_u64(&w, "device_faults", c->device_faults);
		json_kv_u64(&w, "range_faults", c->range_faults);
		json_kv_u64(&w, "range_retries", c->range_retries);
		json_kv_u64(&w, "invalidations", c->invalidations);
		json_kv_u64(&w, "bytes_read", c->bytes_read);
		json_kv_u64(&w, "bytes_written", c->bytes_written);
		json_kv_u64(&w, "entries_4k", c->entries_4k);
		json_kv_u64(&w, "entries_2m", c->entries_2m);
		json_kv_u64(&w, "entries_1g", c->entries_1g);
		json_end_object(&w);
		json_finish(&w);
		return;
	}
	if (header && ctl->legend)
		printf("%6s %12s %12s %8s %12s %14s %14s %8s %6s %4s\n", "SEC", "FAULTS",
		       "RANGEFAULTS", "RETRIES", "INVAL", "READ", "WRITTEN", "4K", "2M", "1G");
	printf("%6lu %12" PRIu64 " %12" PRIu64 " %8" PRIu64 " %12" PRIu64 " %14" PRIu64
	       " %14" PRIu64 " %8" PRIu64 " %6" PRIu64 " %4" PRIu64 "\n", sec, c->device_faults,
	       c->range_faults, c->range_retries, c->invalidations, c->bytes_read,
	       c->bytes_written, c->entries_4k, c->entries_2m, c->entries_1g);
	fflush(stdout);
}

/* --hold / --watch: one tick a second until the time is up or a signal;
 * the session's health is checked on every tick. */
static int keep(struct daxmirror_client *c, struct daxmirror_mirror *m, const Ctl *ctl,
		const sigset_t *stop, const char *file)
{
	for (unsigned long sec = 1; ctl->watch || sec <= (unsigned long)ctl->hold; sec++) {
		struct daxmirror_counters cnt;
		int r;

		if (wait_stop(stop, 1000))
			return CTL_EXIT_OK;
		r = daxmirror_mirror_counters(m, &cnt);
		if (r < 0)
			return mirror_fail(c, r == -ENOENT ? -ENODEV : r, file);
		if (ctl->watch)
			print_watch_line(ctl, sec, &cnt, sec == 1);
	}
	return CTL_EXIT_OK;
}

int cmd_mirror(const Ctl *ctl, int argc, char **argv)
{
	_cleanup_(client_freep) struct daxmirror_client *c = NULL;
	_cleanup_(mirror_freep) struct daxmirror_mirror *m = NULL;
	_cleanup_(closep) int fd = -1;
	struct daxmirror_counters cnt = { 0 };
	_cleanup_(runs_freep) Runs runs = { 0 };
	const char *file = argv[0];
	sigset_t stop;
	int r;

	if (ctl->offset % LIBDAXMIRROR_PAGE_SIZE || ctl->length % LIBDAXMIRROR_PAGE_SIZE)
		return usage_error("--offset and --length must be multiples of 4096 (4K)");
	/* SIGINT/SIGTERM are taken with sigtimedwait(): blocked from here on, so
	 * an interrupt at any point still frees the mirror and the session. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);

	fd = open(file, (ctl->write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		fprintf(stderr, "daxmirrorctl: cannot open %s%s: %s\n", file,
			ctl->write ? " for writing" : "", strerror(r));
		return r == EACCES || r == EPERM ? CTL_EXIT_DENIED : CTL_EXIT_FAILURE;
	}
	r = daxmirror_client_new(&c, ctl->bus_address);
	if (r < 0)
		return bus_connect_fail(ctl->bus_address, r);
	r = daxmirror_mirror_file(c, fd, ctl->offset, ctl->length,
				  ctl->write ? LIBDAXMIRROR_MIRROR_WRITE : 0, &m);
	if (r < 0)
		return mirror_fail(c, r, file);
	fd = safe_close(fd);
	if (ctl->prefault) {
		r = prefault(m, ctl->write, &stop);
		if (r == 1)
			return CTL_EXIT_OK;
		if (r < 0)
			return mirror_fail(c, r, file);
	}
	r = daxmirror_mirror_counters(m, &cnt);
	if (r < 0)
		return mirror_fail(c, r, file);
	if (ctl->extents) {
		r = load_runs(m, &runs);
		if (r == -EPROTO || r == -ENOMEM || r == -ENOTTY) {
			fprintf(stderr, "daxmirrorctl: reading the device entries of %s: %s%s\n", file,
				strerror(-r), r == -ENOTTY ? " (the loaded module has no extent snapshot)" :
				r == -EPROTO ? " (the module's answer broke its ABI)" : "");
			return CTL_EXIT_FAILURE;
		}
		if (r < 0)
			return mirror_fail(c, r, file);
	}
	print_mirror(file, c, m, ctl, &cnt, ctl->extents ? &runs : NULL);
	if (ctl->hold > 0 || ctl->watch)
		return keep(c, m, ctl, &stop, file);
	return CTL_EXIT_OK;
}
