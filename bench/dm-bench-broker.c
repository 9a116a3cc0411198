/* dm-bench-broker.c - row 6 of the daxmirror benchmarks: the broker
 * daxmirrord on a real system bus, inside the tools/vm guest. Started by
 * bench/broker-bench.sh (which brings up the bus and the daemon with
 * tests/guest/broker-env.sh) after dm-bench, as root.
 *
 *   6a  daxmirror_client_new + daxmirror_mirror_file (2 MiB ext4-dax file)
 *       + daxmirror_client_free, against one org.freedesktop.DBus.Peer.Ping
 *       round trip to org.daxmirror1, interleaved rep by rep; the D-Bus part
 *       of that cycle is timed apart with raw sd-bus calls.
 *   6b  sessions opened per second by 1, 8 and 64 client processes, each
 *       looping open -> mirror -> free for a fixed time.
 *   6c  VmRSS of daxmirrord per live session (N sessions held by one
 *       connection, in 5 steps) and OpenSession latency at 10 vs N live.
 *
 * Appends to --out DIR: results.csv (raw samples), summary.csv (rows, no
 * header) and table.txt (rows, no header): the files dm-bench wrote.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-contract.h"
#include "libdaxmirror.h"
#include "macro.h"
#include "options.h"
#include "report.h"

#define MIB		(1UL << 20)

/* ---------------------------------------------------------------- utils */

static int reps;
static bool quick;

/* -------------------------------------------------------------- helpers */

static const char *file_path;
static uint64_t file_len = 2 * MIB;

/* The system bus, as libdaxmirror connects to it. */
static sd_bus *xbus(void)
{
	sd_bus *b = NULL;
	int r = dxm_bus_connect(NULL, "dm-bench-broker", &b);

	if (r < 0)
		die("connecting to the system bus: %s", strerror(-r));
	return b;
}

static void xping(sd_bus *b)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_call_method(b, DXM_BUS_NAME, DXM_OBJECT_ROOT, "org.freedesktop.DBus.Peer",
				   "Ping", &e, NULL, "");

	if (r < 0)
		die("Peer.Ping: %s", e.message ? e.message : strerror(-r));
}

/* Manager.OpenSession({}): the session path into @path (the fd of the
 * reply is closed with it: the daemon keeps its own). */
static int open_session(sd_bus *b, char *path, size_t plen, char *err, size_t elen)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *p;
	int fd, r;

	r = sd_bus_call_method(b, DXM_BUS_NAME, DXM_OBJECT_ROOT, DXM_MANAGER_IFACE, "OpenSession",
			       &e, &reply, "a{sv}", 0);
	if (r < 0) {
		snprintf(err, elen, "%s", e.message ? e.message : strerror(-r));
		return r;
	}
	r = sd_bus_message_read(reply, "oh", &p, &fd);
	if (r >= 0)
		snprintf(path, plen, "%s", p);
	else
		snprintf(err, elen, "OpenSession reply: %s", strerror(-r));
	return r;
}

static void xopen_session(sd_bus *b, char *path, size_t plen)
{
	char err[256];
	int r = open_session(b, path, plen, err, sizeof(err));

	if (r < 0)
		die("OpenSession: %s", err);
}

static void xclose_session(sd_bus *b, const char *path)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_call_method(b, DXM_BUS_NAME, path, DXM_SESSION_IFACE, "Close", &e, NULL, "");

	if (r < 0)
		die("Session.Close %s: %s", path, e.message ? e.message : strerror(-r));
}

static void xattach(sd_bus *b, const char *path, int fd)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_call_method(b, DXM_BUS_NAME, path, DXM_SESSION_IFACE, "AttachFile", &e, NULL,
				   "htta{sv}", fd, (uint64_t)0, file_len, 0);

	if (r < 0)
		die("AttachFile: %s", e.message ? e.message : strerror(-r));
}

/* AttachFile of the whole file; its Grant. */
static uint64_t xattach_grant(sd_bus *b, const char *path, int fd)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	uint64_t grant = 0;
	const char *key;
	int r = sd_bus_call_method(b, DXM_BUS_NAME, path, DXM_SESSION_IFACE, "AttachFile", &e,
				   &reply, "htta{sv}", fd, (uint64_t)0, file_len, 0);

	if (r < 0)
		die("AttachFile: %s", e.message ? e.message : strerror(-r));
	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (r >= 0 && sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
		r = sd_bus_message_read(reply, "s", &key);
		if (r >= 0 && strcmp(key, "Grant") == 0)
			r = sd_bus_message_read(reply, "v", "t", &grant);
		else if (r >= 0)
			r = sd_bus_message_skip(reply, "v");
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	if (r < 0 || !grant)
		die("AttachFile: no Grant in the reply");
	return grant;
}

/* AttachFile refused at its first check (length 0: InvalidRange, on the
 * daemon's loop, before any vetting thread). */
static void xattach_refused(sd_bus *b, const char *path, int fd)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_call_method(b, DXM_BUS_NAME, path, DXM_SESSION_IFACE, "AttachFile", &e, NULL,
				   "htta{sv}", fd, (uint64_t)0, (uint64_t)0, 0);

	if (r >= 0 || !sd_bus_error_has_name(&e, DXM_ERROR_INVALID_RANGE))
		die("AttachFile of length 0: %s, not InvalidRange", r >= 0 ? "accepted" : e.name);
}

static void xdetach(sd_bus *b, const char *path, uint64_t grant)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_call_method(b, DXM_BUS_NAME, path, DXM_SESSION_IFACE, "DetachFile", &e, NULL,
				   "t", grant);

	if (r < 0)
		die("DetachFile: %s", e.message ? e.message : strerror(-r));
}

static pid_t bus_pid_of(sd_bus *b, const char *name, bool must)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	uint32_t pid = 0;
	int r;

	r = sd_bus_call_method(b, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "GetConnectionUnixProcessID", &e, &reply,
			       "s", name);
	if (r < 0 && !must) {
		note("GetConnectionUnixProcessID(%s): %s: no CPU figure for it", name,
		     e.message ? e.message : strerror(-r));
		return 0;
	}
	if (r < 0)
		die("GetConnectionUnixProcessID(%s): %s", name, e.message ? e.message : strerror(-r));
	if (sd_bus_message_read(reply, "u", &pid) < 0)
		die("GetConnectionUnixProcessID: bad reply");
	return (pid_t)pid;
}

/* The broker's pid. */
static pid_t daemon_pid(sd_bus *b)
{
	return bus_pid_of(b, DXM_BUS_NAME, true);
}

/* CPU time (user + system) of @pid so far, in clock ticks; -1 if gone. */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');	/* the comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			  &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* Busy and total clock ticks of all CPUs (/proc/stat's cpu line). */
static void guest_ticks(long long *busy, long long *total)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	*busy = *total = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) >= 8) {
		for (int i = 0; i < 8; i++)
			*total += (long long)v[i];
		*busy = *total - (long long)(v[3] + v[4]);	/* idle, iowait */
	}
	fclose(f);
}

/* Where the CPU went during a 6b run, in ms of CPU time. */
struct cpu_use { double daemon_ms, bus_ms, clients_ms, busy_ms, all_ms; };

static double ticks_ms(long long t)
{
	return t * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS of @pid in KiB. */
static long vm_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;	/* the daemon is gone */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Phases of one library cycle, ns. */
struct cycle { uint64_t t_new, t_mirror, t_free; };

/* One client_new + mirror_file + mirror_free + client_free; @fd the file
 * (O_RDONLY). The free phase is both frees: the mirror's gives its range
 * back (DetachFile), the client's closes the session. */
static int lib_cycle(int fd, struct cycle *cy)
{
	struct daxmirror_client *c = NULL;
	struct daxmirror_mirror *m = NULL;
	uint64_t t0, t1, t2, t3;
	int r;

	t0 = now_ns();
	r = daxmirror_client_new(&c, NULL);
	if (r < 0)
		return r;
	t1 = now_ns();
	r = daxmirror_mirror_file(c, fd, 0, file_len, 0, &m);
	if (r < 0) {
		daxmirror_client_free(c);
		return r;
	}
	t2 = now_ns();
	daxmirror_mirror_free(m);
	daxmirror_client_free(c);
	t3 = now_ns();
	if (cy) {
		cy->t_new = t1 - t0;
		cy->t_mirror = t2 - t1;
		cy->t_free = t3 - t2;
	}
	return 0;
}

/* The D-Bus part of a cycle with raw sd-bus: connect (+ Hello),
 * OpenSession, AttachFile, Close, disconnect. */
struct raw { uint64_t t_conn, t_open, t_attach, t_close, t_disc; };

static void raw_cycle(int fd, struct raw *rw)
{
	char path[128];
	const char *unique;
	uint64_t t0, t1, t2, t3, t4, t5;
	sd_bus *b;
	int r;

	t0 = now_ns();
	b = xbus();
	r = sd_bus_get_unique_name(b, &unique);	/* waits for auth + Hello */
	if (r < 0)
		die("sd_bus_get_unique_name: %s", strerror(-r));
	t1 = now_ns();
	xopen_session(b, path, sizeof(path));
	t2 = now_ns();
	xattach(b, path, fd);
	t3 = now_ns();
	xclose_session(b, path);
	t4 = now_ns();
	sd_bus_flush_close_unref(b);
	t5 = now_ns();
	rw->t_conn = t1 - t0;
	rw->t_open = t2 - t1;
	rw->t_attach = t3 - t2;
	rw->t_close = t4 - t3;
	rw->t_disc = t5 - t4;
}

/* ------------------------------------------------------------------ 6b */

/* One raw sample into results.csv, outside any row's series. */
static void put_one(const char *section, const char *cs, unsigned long size,
		    const char *metric, double v)
{
	static struct series one;

	one.n = 0;
	put(&one, section, cs, size, metric, v);
}

static double tv_s(const struct timeval *tv)
{
	return tv->tv_sec + tv->tv_usec / 1e6;
}

/* @nproc processes loop open->mirror->free, starting cycles for @secs;
 * returns cycles completed per second over the span from the start to
 * the end of the last cycle (*@span_s), errors in *@errs. */
static double throughput(int nproc, double secs, long *errs, double *span_s,
			 pid_t dpid, pid_t bpid, struct cpu_use *cu)
{
	long long d0, b0, d1, b1, busy0, all0, busy1, all1;
	/* cpu_ms[i]: client i's own CPU from "go" to its last cycle's end
	 * (RUSAGE_SELF deltas: not its fork, open or exit). */
	struct shm { volatile uint64_t stop_ns; uint64_t end_ns[128]; long done[128], errs[128]; int first_err[128]; double cpu_ms[128]; } *sh;
	int go[2];
	pid_t pids[128];
	long total = 0;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset((void *)sh, 0, sizeof(*sh));
	if (pipe(go) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	for (int i = 0; i < nproc; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork: %s", strerror(errno));
		if (!pids[i]) {
			char ch;
			int fd = open(file_path, O_RDONLY | O_CLOEXEC);

			struct rusage r0, r1;

			close(go[1]);
			if (fd < 0 || read(go[0], &ch, 1) != 1)
				_exit(2);
			getrusage(RUSAGE_SELF, &r0);
			/* Until the stop time; the cycle running then is
			 * finished and counted, the span ends with the last. */
			while (now_ns() < sh->stop_ns) {
				int r = lib_cycle(fd, NULL);

				if (r < 0) {
					if (!sh->errs[i]++)
						sh->first_err[i] = -r;
					usleep(1000);
				} else {
					sh->done[i]++;
				}
			}
			sh->end_ns[i] = now_ns();
			getrusage(RUSAGE_SELF, &r1);
			sh->cpu_ms[i] = (tv_s(&r1.ru_utime) + tv_s(&r1.ru_stime) -
					 tv_s(&r0.ru_utime) - tv_s(&r0.ru_stime)) * 1000.0;
			_exit(0);
		}
	}
	uint64_t start;

	close(go[0]);
	usleep(200000);		/* let them reach the read */
	d0 = cpu_ticks(dpid);
	b0 = cpu_ticks(bpid);
	guest_ticks(&busy0, &all0);
	start = now_ns();
	sh->stop_ns = start + (uint64_t)(secs * 1e9);
	for (int i = 0; i < nproc; i++)
		if (write(go[1], "g", 1) != 1)
			die("write: %s", strerror(errno));
	close(go[1]);
	for (int i = 0; i < nproc; i++)
		waitpid(pids[i], NULL, 0);
	guest_ticks(&busy1, &all1);
	d1 = cpu_ticks(dpid);
	b1 = cpu_ticks(bpid);
	/* -1: not readable (or no bus pid): no figure, not a negative one. */
	cu->daemon_ms = d0 >= 0 && d1 >= 0 ? ticks_ms(d1 - d0) : -1;
	cu->bus_ms = b0 >= 0 && b1 >= 0 ? ticks_ms(b1 - b0) : -1;
	cu->clients_ms = 0;
	for (int i = 0; i < nproc; i++)
		cu->clients_ms += sh->cpu_ms[i];
	cu->busy_ms = ticks_ms(busy1 - busy0);
	cu->all_ms = ticks_ms(all1 - all0);
	*errs = 0;
	for (int i = 0; i < nproc; i++) {
		total += sh->done[i];
		if (sh->errs[i] && !*errs)
			note("%d clients: client %d: %ld errors, first %s", nproc, i, sh->errs[i],
			     strerror(sh->first_err[i]));
		*errs += sh->errs[i];
	}
	{
		uint64_t end = start;

		for (int i = 0; i < nproc; i++)
			if (sh->end_ns[i] > end)
				end = sh->end_ns[i];
		*span_s = (end - start) / 1e9;
	}
	munmap((void *)sh, sizeof(*sh));
	return *span_s > 0 ? total / *span_s : 0;
}

/* Calls per latency sample of 6c. */
#define LAT_CALLS 10

/* 6c: @reps samples at @live sessions of the OpenSession latency (each
 * followed by an untimed Close) into @lat and of Peer.Ping into @ping,
 * LAT_CALLS calls a sample. */
static void sample_latency(sd_bus *bus, int live, struct series *lat, struct series *ping)
{
	char p[128];

	for (int r = 0; r < reps; r++) {
		uint64_t sum = 0, t0, t1;

		for (int i = 0; i < LAT_CALLS; i++) {
			t0 = now_ns();
			xopen_session(bus, p, sizeof(p));
			t1 = now_ns();
			sum += t1 - t0;
			xclose_session(bus, p);
		}
		put(lat, "broker", "open_latency", (unsigned long)live, "ms",
		    sum / 1e6 / LAT_CALLS);
		t0 = now_ns();
		for (int i = 0; i < LAT_CALLS; i++)
			xping(bus);
		put(ping, "broker", "ping", (unsigned long)live, "ms",
		    (now_ns() - t0) / 1e6 / LAT_CALLS);
	}
}

/* 6c: live sessions held by one connection @bus, checkpoints from @cps
 * (ascending); RSS per session in 5 steps to each, OpenSession latency
 * there vs at 10 live. @close_after: close them all at the end. */
static void live_sessions(sd_bus *bus, pid_t dpid, const int *cps, int ncp, int nmax,
			  double fill_budget, bool close_after)
{
	struct row *w;
	{
		enum { STEPS = 5 };
		struct series lat10 = { .n = 0 }, ping10 = { .n = 0 };
		char (*paths)[48] = calloc((size_t)nmax, sizeof(*paths));
		char what[96], err[256] = "";
		long rss0, rss10;
		uint64_t fill0;
		int live = 0;
		bool cut = false;

		if (!paths)
			die("calloc");
		rss0 = vm_rss_kib(dpid);
		for (; live < 10; live++)
			xopen_session(bus, paths[live], sizeof(paths[live]));
		/* latency of one more OpenSession (+ untimed Close) at 10 live */
		sample_latency(bus, live, &lat10, &ping10);
		rss10 = vm_rss_kib(dpid);
		fill0 = now_ns();
		for (int c = 0; c < ncp && !cut; c++) {
			struct series latn = { .n = 0 }, pingn = { .n = 0 }, rss = { .n = 0 };
			int base = live, step = (cps[c] - live) / STEPS;
			long rss_a = vm_rss_kib(dpid), rssn;
			uint64_t c0 = now_ns();

			/* fill in STEPS steps: one RSS-per-session sample each */
			for (int k = 0; k < STEPS && !cut; k++) {
				long a = vm_rss_kib(dpid), bb;
				int from = live, upto = k == STEPS - 1 ? cps[c] : live + step;

				for (; live < upto; live++) {
					if (open_session(bus, paths[live], sizeof(paths[live]), err, sizeof(err)) < 0) {
						note("OpenSession #%d: %s", live + 1, err);
						cut = true;
						break;
					}
					if ((now_ns() - fill0) / 1e9 > fill_budget) {
						live++;
						cut = true;
						break;
					}
				}
				bb = vm_rss_kib(dpid);
				if (live > from && a >= 0 && bb >= 0)
					put(&rss, "broker", "rss_per_session", (unsigned long)live, "KiB",
					    (double)(bb - a) / (live - from));
			}
			rssn = vm_rss_kib(dpid);
			note("%d live sessions (fill %.1f s), VmRSS %ld KiB", live, (now_ns() - c0) / 1e9, rssn);
			if (rssn < 0 || (cut && err[0])) {
				/* the daemon is gone: report what was measured */
				snprintf(what, sizeof(what), "daxmirrord RSS per session, %d to %d live", base, live);
				w = add_row("6c", what, "-", "KiB", &rss, NULL, median(&rss), GOAL_LE, 8);
				snprintf(w->verdict, sizeof(w->verdict), "FAIL");
				row_note(w, "OpenSession #%d failed: %s; daxmirrord %s; VmRSS %ld KiB idle, %ld at 10, %ld at %d",
					 live + 1, err, rssn < 0 || kill(dpid, 0) ? "exited" : "still runs",
					 rss0, rss10, rss_a, base);
				break;
			}
			sample_latency(bus, live, &latn, &pingn);
			snprintf(what, sizeof(what), "daxmirrord RSS per session, %d to %d live", base, live);
			w = add_row("6c", what, "-", "KiB", &rss, NULL, median(&rss), GOAL_LE, 8);
			row_note(w, "VmRSS %ld KiB idle, %ld at 10, %ld at %d, %ld at %d live; %d steps (one sample each); fill %.1f s%s%s",
				 rss0, rss10, rss_a, base, rssn, live, STEPS, (now_ns() - c0) / 1e9,
				 cut ? (err[0] ? ", stopped early: " : ", stopped at the time budget") : "",
				 cut && err[0] ? err : "");
			snprintf(what, sizeof(what), "OpenSession latency at %d live sessions", live);
			w = add_row("6c", what, "at 10 live sessions", "ms", &latn, &lat10,
				    median(&latn) / median(&lat10), GOAL_LE, 1.5);
			row_note(w, "one connection holds them; Peer.Ping at 10 / %d live: %.3g / %.3g ms; %d calls per sample; goal: flat (<= 1.5x)",
				 live, median(&ping10), median(&pingn), LAT_CALLS);
		}
		if (close_after && !cut)
			for (int i = 0; i < live; i++)
				xclose_session(bus, paths[i]);
		free(paths);
	}
}

/* ---------------------------------------------------------------- main */

/* --sessions N (0: the default), --fill-budget S: read by main(). */
static int nsess;
static double fill_budget = 60;
static bool only_6a;

static void broker_option(int letter, const char *arg)
{
	if (letter == 'n')
		nsess = atoi(arg);
	else if (letter == 'b')
		fill_budget = atof(arg);
	else if (letter == 'a')
		only_6a = true;
}

/* 6a on one open connection: Peer.Ping, OpenSession (+ Close), AttachFile
 * (+ DetachFile) and Close, each timed alone on that connection and
 * interleaved rep by rep, so the call is compared with a bus round trip
 * of the same client. */
static void warm_calls(int fd)
{
	enum { N = 10 };
	struct series ping = { .n = 0 }, open = { .n = 0 }, attach = { .n = 0 },
		close = { .n = 0 }, refused = { .n = 0 };
	sd_bus *b = xbus();
	char path[128];
	struct row *w;

	xopen_session(b, path, sizeof(path));
	xdetach(b, path, xattach_grant(b, path, fd));	/* warm */
	for (int r = 0; r < reps; r++) {
		uint64_t tp = 0, to = 0, ta = 0, tc = 0, tr = 0, t0;

		for (int i = 0; i < N; i++) {
			char p2[128];
			uint64_t g;

			t0 = now_ns();
			xping(b);
			tp += now_ns() - t0;
			t0 = now_ns();
			g = xattach_grant(b, path, fd);
			ta += now_ns() - t0;
			xdetach(b, path, g);
			t0 = now_ns();
			xattach_refused(b, path, fd);
			tr += now_ns() - t0;
			t0 = now_ns();
			xopen_session(b, p2, sizeof(p2));
			to += now_ns() - t0;
			t0 = now_ns();
			xclose_session(b, p2);
			tc += now_ns() - t0;
		}
		put(&ping, "broker", "warm_ping", 0, "ms", tp / 1e6 / N);
		put(&attach, "broker", "warm_attach_file", 0, "ms", ta / 1e6 / N);
		put(&open, "broker", "warm_open_session", 0, "ms", to / 1e6 / N);
		put(&close, "broker", "warm_close", 0, "ms", tc / 1e6 / N);
		put(&refused, "broker", "warm_attach_refused", 0, "ms", tr / 1e6 / N);
	}
	xclose_session(b, path);
	sd_bus_flush_close_unref(b);
	w = add_row("6a", "AttachFile 2 MiB dax, on an open connection", "Peer.Ping, same connection",
		    "ms", &attach, &ping, median(&attach) / median(&ping), GOAL_LE, 3);
	row_note(w, "interleaved per call, %d of each per sample (DetachFile after each, untimed)", N);
	w = add_row("6a", "  AttachFile refused at its first check", "Peer.Ping, same connection",
		    "ms", &refused, &ping, median(&refused) / median(&ping), GOAL_NONE, 0);
	row_note(w, "length 0: InvalidRange on the daemon's loop (round trip, dispatch, caller check, the fd handed to a closing thread); a real AttachFile adds %.3g ms: the fd's procfs link check, the quota checks, the caller's pidfd and the bus's pid confirmation (asynchronous, beside the thread), the vetting thread, the kernel grant, the fd-store record and the PropertiesChanged signal",
		 median(&attach) - median(&refused));
	w = add_row("6a", "OpenSession, on an open connection", "Peer.Ping, same connection",
		    "ms", &open, &ping, median(&open) / median(&ping), GOAL_NONE, 0);
	row_note(w, "Close of it (untimed there): %.3g ms", median(&close));
}

static void usage(void)
{
	printf("Usage: dm-bench-broker --out DIR [--reps N] [--quick] [--sessions N] [--fill-budget S] [--only-6a]\n"
	       "  --sessions N     live sessions for 6c (default 10000, --quick 1000; also measured at 1000)\n"
	       "  --fill-budget S  stop filling after S seconds (default 60), report the N reached\n"
	       "  --only-6a        row 6a alone (no 6b, 6c)\n"
	       "Row 6 of the benchmarks; needs the system bus and daxmirrord (bench/broker-bench.sh).\n");
}

int main(int argc, char **argv)
{
	static const struct option own[] = {
		{ "sessions", required_argument, NULL, 'n' },
		{ "fill-budget", required_argument, NULL, 'b' },
		{ "only-6a", no_argument, NULL, 'a' },
		{ 0 }
	};
	struct bench_args args = { .reps = 7 };
	const char *out, *dir;
	char fpath[4096];
	int fd;
	double tp_secs;
	sd_bus *bus;
	pid_t dpid;
	struct row *w;

	bench_parse_args(argc, argv, usage, own, broker_option, &args);
	out = args.out;
	reps = args.reps;
	quick = args.quick;
	if (!nsess)
		nsess = quick ? 1000 : 10000;
	if (nsess < 20)
		die("--sessions must be at least 20");
	tp_secs = quick ? 1.0 : 2.0;
	signal(SIGPIPE, SIG_IGN);
	bench_open_csv(out, false);

	/* The small file: 2 MiB on ext4-dax (a 2 MiB extent: PMD-mapped). */
	dir = getenv("DAXMIRROR_EXT4_DAX");
	if (!dir)
		die("DAXMIRROR_EXT4_DAX is not set (run me through bench/run)");
	snprintf(fpath, sizeof(fpath), "%s/dm-bench-broker.dat", dir);
	file_path = fpath;
	unlink(fpath);
	fd = open(fpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || posix_fallocate(fd, 0, (off_t)file_len))
		die("create %s: %s", fpath, strerror(errno));
	close(fd);
	fd = open(fpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", fpath, strerror(errno));

	bus = xbus();
	dpid = daemon_pid(bus);
	note("daxmirrord pid %d, VmRSS %ld KiB", (int)dpid, vm_rss_kib(dpid));

	/* Warm-up: a cycle of each kind (libraries, daemon paths). */
	{
		struct raw rw;
		int r = lib_cycle(fd, NULL);

		if (r < 0)
			die("warm-up cycle: %s", strerror(-r));
		raw_cycle(fd, &rw);
		xping(bus);
	}

	/* ---- 6c, first: on a fresh daemon heap (VmRSS does not shrink
	 * after the churn of 6a/6b), up to 500 live sessions: under
	 * dbus-daemon's default of 512 match rules per connection (the daemon
	 * adds one per session); closed again afterwards ---- */
	if (!only_6a) {
		int cp = nsess < 500 ? nsess : 500;

		live_sessions(bus, dpid, &cp, 1, cp, fill_budget, true);
		note("6c (to %d) done", cp);
	}

	/* ---- 6a ---- */
	{
		enum { PINGS = 20 };
		int cycles = quick ? 3 : 5;
		struct series lib = { .n = 0 }, ping = { .n = 0 }, pnew = { .n = 0 },
			pmir = { .n = 0 }, pfree = { .n = 0 }, raw = { .n = 0 }, rconn = { .n = 0 },
			ropen = { .n = 0 }, rattach = { .n = 0 }, rclose = { .n = 0 }, rdisc = { .n = 0 };

		for (int r = 0; r < reps; r++) {
			uint64_t t0, t1, sn = 0, sm = 0, sf = 0;
			struct raw sr = { 0 };

			t0 = now_ns();
			for (int i = 0; i < PINGS; i++)
				xping(bus);
			t1 = now_ns();
			put(&ping, "broker", "ping", 0, "ms", (t1 - t0) / 1e6 / PINGS);
			for (int i = 0; i < cycles; i++) {
				struct cycle cy;
				int e = lib_cycle(fd, &cy);

				if (e < 0)
					die("client cycle: %s", strerror(-e));
				sn += cy.t_new;
				sm += cy.t_mirror;
				sf += cy.t_free;
			}
			put(&pnew, "broker", "lib_client_new", 0, "ms", sn / 1e6 / cycles);
			put(&pmir, "broker", "lib_mirror_file", 0, "ms", sm / 1e6 / cycles);
			put(&pfree, "broker", "lib_client_free", 0, "ms", sf / 1e6 / cycles);
			put(&lib, "broker", "lib_cycle", 0, "ms", (sn + sm + sf) / 1e6 / cycles);
			for (int i = 0; i < cycles; i++) {
				struct raw rw;

				raw_cycle(fd, &rw);
				sr.t_conn += rw.t_conn;
				sr.t_open += rw.t_open;
				sr.t_attach += rw.t_attach;
				sr.t_close += rw.t_close;
				sr.t_disc += rw.t_disc;
			}
			put(&rconn, "broker", "raw_connect_hello", 0, "ms", sr.t_conn / 1e6 / cycles);
			put(&ropen, "broker", "raw_open_session", 0, "ms", sr.t_open / 1e6 / cycles);
			put(&rattach, "broker", "raw_attach_file", 0, "ms", sr.t_attach / 1e6 / cycles);
			put(&rclose, "broker", "raw_close", 0, "ms", sr.t_close / 1e6 / cycles);
			put(&rdisc, "broker", "raw_disconnect", 0, "ms", sr.t_disc / 1e6 / cycles);
			put(&raw, "broker", "raw_cycle", 0, "ms",
			    (sr.t_conn + sr.t_open + sr.t_attach + sr.t_close + sr.t_disc) / 1e6 / cycles);
		}
		w = add_row("6a", "broker: client_new+mirror_file 2 MiB dax+free", "Peer.Ping round trip",
			    "ms", &lib, &ping, median(&lib) / median(&ping), GOAL_LE, 10);
		row_note(w, "phases (median ms): client_new %.3g, mirror_file %.3g, mirror_free+client_free %.3g; %d cycles / %d pings per sample",
			 median(&pnew), median(&pmir), median(&pfree), cycles, PINGS);
		w = add_row("6a", "  its D-Bus part (raw sd-bus, same calls)", "Peer.Ping round trip",
			    "ms", &raw, &ping, median(&raw) / median(&ping), GOAL_NONE, 0);
		row_note(w, "connect+Hello %.3g, OpenSession %.3g, AttachFile %.3g, Close %.3g, disconnect %.3g ms; rest of 6a (map+bind+add, library) ~%.3g ms",
			 median(&rconn), median(&ropen), median(&rattach), median(&rclose),
			 median(&rdisc), median(&lib) - median(&raw));
	}
	warm_calls(fd);
	note("6a done");

	/* ---- 6b ---- */
	if (!only_6a) {
		static const int np[] = { 1, 8, 64 };
		struct series rate[3] = { { .n = 0 } }, span[3] = { { .n = 0 } };
		struct cpu_use sum[3] = { { 0 } };
		double cycles[3] = { 0 };
		long errs[3] = { 0 };
		char cs[32], what[96];
		pid_t bpid = bus_pid_of(bus, "org.freedesktop.DBus", false);
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		for (int r = 0; r < reps; r++) {
			for (int k = 0; k < 3; k++) {
				struct cpu_use cu;
				long e;
				double sp, rt = throughput(np[k], tp_secs, &e, &sp, dpid, bpid, &cu);

				snprintf(cs, sizeof(cs), "clients_%d", np[k]);
				put(&rate[k], "broker", cs, 0, "sessions_per_s", rt);
				put(&span[k], "broker", cs, 0, "span_s", sp);
				errs[k] += e;
				cycles[k] += rt * sp;
				/* One unreadable sample makes the figure unknown (-1). */
				sum[k].daemon_ms = sum[k].daemon_ms < 0 || cu.daemon_ms < 0 ? -1 :
						   sum[k].daemon_ms + cu.daemon_ms;
				sum[k].bus_ms = sum[k].bus_ms < 0 || cu.bus_ms < 0 ? -1 :
						sum[k].bus_ms + cu.bus_ms;
				sum[k].clients_ms += cu.clients_ms;
				sum[k].busy_ms += cu.busy_ms;
				sum[k].all_ms += cu.all_ms;
			}
		}
		for (int k = 0; k < 3; k++) {
			snprintf(what, sizeof(what), "sessions opened/s, %d concurrent client%s", np[k],
				 np[k] > 1 ? "s" : "");
			w = add_row("6b", what, k ? "1 client" : "-", "1/s", &rate[k], k ? &rate[0] : NULL,
				    k ? median(&rate[k]) / median(&rate[0]) : 1, GOAL_NONE, 0);
			row_note(w, "processes looping client_new+mirror_file+client_free, starting cycles for %.0f s; rate over the span to the last end (median %.3g s); %ld failed cycles (all reps)",
				 tp_secs, median(&span[k]), errs[k]);
			/* Where the time went: the limit of this row. */
			if (cycles[k] > 0 && sum[k].all_ms > 0) {
				double c = cycles[k];

				row_note(w, "CPU per cycle (ms, all reps; -1: not readable): daxmirrord %.3g, dbus-daemon %.3g, clients (their own, from go to their last cycle's end) %.3g, all the guest's %.3g; the guest's %ld CPUs %.0f %% busy over the runs",
					 sum[k].daemon_ms < 0 ? -1 : sum[k].daemon_ms / c,
					 sum[k].bus_ms < 0 ? -1 : sum[k].bus_ms / c, sum[k].clients_ms / c,
					 sum[k].busy_ms / c, ncpu, 100.0 * sum[k].busy_ms / sum[k].all_ms);
				snprintf(cs, sizeof(cs), "clients_%d", np[k]);
				if (sum[k].daemon_ms >= 0)
					put_one("broker", cs, 0, "cpu_ms_per_cycle_daemon", sum[k].daemon_ms / c);
				if (sum[k].bus_ms >= 0)
					put_one("broker", cs, 0, "cpu_ms_per_cycle_bus", sum[k].bus_ms / c);
				put_one("broker", cs, 0, "cpu_ms_per_cycle_clients", sum[k].clients_ms / c);
				put_one("broker", cs, 0, "cpu_ms_per_cycle_guest", sum[k].busy_ms / c);
				put_one("broker", cs, 0, "guest_busy_pct", 100.0 * sum[k].busy_ms / sum[k].all_ms);
			}
		}
	}
	note("6b done");

	/* ---- 6c, last (it may end the daemon): 1000 and --sessions ---- */
	if (!only_6a && nsess > 500) {
		int cps[2], ncp = 0;

		if (nsess > 1000)
			cps[ncp++] = 1000;
		cps[ncp++] = nsess;
		live_sessions(bus, dpid, cps, ncp, nsess, fill_budget, false);
		note("6c (to %d) done", nsess);
	}

	sd_bus_flush_close_unref(bus);	/* the daemon ends our sessions */
	close(fd);
	unlink(fpath);

	finish_results(out, NULL);
	return 0;
}
