/* load-client.c - the clients of tests/guest/test-broker-load: many
 * processes, each looping until a deadline over a whole client life through
 * libdaxmirror - connect (daxmirror_client_new), mirror its own file
 * writable (daxmirror_mirror_file: OpenSession, AttachFile, map, bind,
 * MIRROR_ADD), write a pattern through the device, read it back through
 * the device and compare (and with the CPU mapping), free everything
 * (Session.Close, disconnect) - counting iterations and errors.
 *
 *   load-client swarm --uid UID --seconds S [--size BYTES] [--chunk BYTES] FILE...
 *	As root: with --size, first create every FILE (new, mode 0600,
 *	fallocated to BYTES, owned by UID) - 600 execs of fallocate, chown
 *	and chmod would take a minute under TCG. Then fork one client
 *	process per FILE (fork, not exec, for the same reason), each drops to
 *	UID (and its group, no supplementary groups) and opens its FILE;
 *	once all are ready they start together and stop after S seconds
 *	(a life begun before then is finished). D-Bus calls wait as long as
 *	sd-bus lets them ($SYSTEMD_BUS_TIMEOUT, default 25 s).
 *	Each prints "client=I iterations=N errors=E bytes=B" (and
 *	"first_error=STEP: ERRNO (D-Bus error)"), then the parent prints
 *	"clients=C failed=F iterations=N errors=E". Exit status 0 iff every
 *	client exited 0 (no error, at least one iteration), 1 otherwise, 2
 *	usage.
 *
 *   load-client kernel-sessions
 *	Prints "sessions=N": the sessions the module has alive (needs
 *	access to /dev/daxmirror: root).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "dmt.h"
#include "module-state.h"

#define DEFAULT_CHUNK	(64 * 1024)

struct load {
	uint64_t iterations, errors, bytes;
	uint64_t max_life_ms;	/* the longest client life */
	char first_error[512];
};


static void note_error(struct load *l, struct daxmirror_client *c,
		       const char *step, int r)
{
	const char *dbus = c ? daxmirror_client_last_error(c) : NULL;

	l->errors++;
	if (!l->first_error[0])
		snprintf(l->first_error, sizeof(l->first_error), "%s: %s%s%s%s",
			 step, tap_errname(-r), dbus ? " (" : "", dbus ? dbus : "",
			 dbus ? ")" : "");
}

/* One client life; 0, or -errno after recording the failed step. */
static int one_iteration(struct load *l, int fd, uint64_t size, size_t chunk,
			 uint8_t *buf, uint8_t *back)
{
	_cleanup_client_ struct daxmirror_client *c = NULL;
	_cleanup_mirror_ struct daxmirror_mirror *m = NULL;
	/* a different place and pattern every time: stale data cannot pass */
	uint64_t seed = l->iterations * 7919 + (uint64_t)getpid();
	uint64_t off = ((l->iterations * chunk) % (size - chunk + 1)) & ~(uint64_t)4095;
	int r;

	r = daxmirror_client_new(&c, NULL);
	if (r < 0) {
		note_error(l, NULL, "daxmirror_client_new", r);
		return r;
	}
	r = daxmirror_mirror_file(c, fd, 0, 0, LIBDAXMIRROR_MIRROR_WRITE, &m);
	if (r < 0) {
		note_error(l, c, "daxmirror_mirror_file", r);
		return r;
	}
	dmt_pattern_fill(buf, chunk, seed, off);
	r = daxmirror_mirror_write(m, off, buf, chunk);
	if (r < 0) {
		note_error(l, c, "daxmirror_mirror_write", r);
		return r;
	}
	memset(back, 0, chunk);
	r = daxmirror_mirror_read(m, off, back, chunk);
	if (r < 0) {
		note_error(l, c, "daxmirror_mirror_read", r);
		return r;
	}
	if (memcmp(back, buf, chunk) ||
	    memcmp((uint8_t *)daxmirror_mirror_addr(m) + off, buf, chunk)) {
		note_error(l, c, "compare (device read or CPU view differs)", -EIO);
		return -EIO;
	}
	l->bytes += 2 * chunk;
	return 0;
}

/* One client process: its file, then the loop once @go closes. */
static int client_main(const char *path, int go, const time_t *until,
		       size_t chunk, unsigned int idx)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	_cleanup_free_ uint8_t *buf = malloc(chunk);
	_cleanup_free_ uint8_t *back = malloc(chunk);
	struct load l = { 0 };
	bool usable = true;
	char line[1024];
	struct stat st;
	char c;
	int n;

	if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size < chunk) {
		note_error(&l, NULL, "open", fd < 0 ? -errno : -EINVAL);
		usable = false;
	} else if (!buf || !back) {
		note_error(&l, NULL, "malloc", -ENOMEM);
		usable = false;
	}
	/* ready: wait for the parent to close its end (EOF) */
	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	/* an error does not stop the loop: the count of failures is a figure */
	while (usable && time(NULL) < *until) {
		uint64_t t0 = dmt_now_ms(), ms;

		one_iteration(&l, fd, (uint64_t)st.st_size, chunk, buf, back);
		ms = dmt_now_ms() - t0;
		if (ms > l.max_life_ms)
			l.max_life_ms = ms;
		l.iterations++;
	}
	n = snprintf(line, sizeof(line),
		     "client=%u iterations=%" PRIu64 " errors=%" PRIu64 " bytes=%" PRIu64
		     " max_life_ms=%" PRIu64 "%s%s\n",
		     idx, l.iterations, l.errors, l.bytes, l.max_life_ms,
		     l.first_error[0] ? " first_error=" : "", l.first_error);
	/* one write: lines of concurrent clients do not mix */
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		return 1;
	return l.errors || !l.iterations ? 1 : 0;
}

/* A new file of @size bytes (fallocated) owned by @uid, mode 0600. */
static int create_file(const char *path, uint64_t size, uid_t uid)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || fallocate(fd, 0, 0, (off_t)size) < 0 ||
	    fchown(fd, uid, (gid_t)uid) < 0) {
		fprintf(stderr, "creating %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int cmd_swarm(int argc, char **argv)
{
	unsigned int nfiles, started = 0, failed = 0;
	size_t chunk = DEFAULT_CHUNK;
	long uid = -1, seconds = 0;
	uint64_t size = 0;
	_cleanup_free_ pid_t *pids = NULL;
	time_t *until;
	int go[2], i;

	for (i = 2; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--uid"))
			uid = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--chunk"))
			chunk = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--size"))
			size = strtoull(argv[i + 1], NULL, 10);
		else
			return 2;
	}
	nfiles = (unsigned int)(argc - i);
	if (uid < 0 || seconds <= 0 || !nfiles || !chunk || chunk % 4096)
		return 2;
	pids = calloc(nfiles, sizeof(*pids));
	until = mmap(NULL, sizeof(*until), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!pids || until == MAP_FAILED || pipe2(go, O_CLOEXEC) < 0) {
		perror("load-client swarm");
		return 1;
	}
	*until = 0;
	for (unsigned int k = 0; size && k < nfiles; k++)
		if (create_file(argv[i + (int)k], size, (uid_t)uid) < 0)
			return 1;
	fflush(stdout);
	for (unsigned int k = 0; k < nfiles; k++) {
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "fork of client %u: %s\n", k, strerror(errno));
			failed++;
			break;
		}
		if (pid == 0) {
			int r;

			close(go[1]);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			r = dmt_drop_privileges((uid_t)uid, (gid_t)uid);
			if (r < 0) {
				fprintf(stderr, "client %u: dropping to uid %ld: %s\n", k,
					uid, strerror(-r));
				_exit(1);
			}
			_exit(client_main(argv[i + (int)k], go[0], until, chunk, k));
		}
		pids[started++] = pid;
	}
	/* every client is forked and waits on the pipe: start them together */
	*until = time(NULL) + seconds;
	close(go[1]);
	close(go[0]);
	for (unsigned int k = 0; k < started; k++) {
		int st;

		while (waitpid(pids[k], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	/* the totals are summed by the caller from the clients' lines */
	printf("clients=%u failed=%u\n", started, failed);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "swarm")) {
		int r = cmd_swarm(argc, argv);

		if (r == 2)
			fprintf(stderr, "usage: %s swarm --uid UID --seconds S [--size BYTES] [--chunk BYTES] FILE...\n",
				argv[0]);
		return r;
	}
	if (argc == 2 && !strcmp(argv[1], "kernel-sessions")) {
		long n = dmt_sessions_alive();

		if (n < 0) {
			printf("error=%s\n", tap_errname((int)-n));
			return 1;
		}
		printf("sessions=%ld\n", n);
		return 0;
	}
	fprintf(stderr, "usage: %s swarm --uid UID --seconds S [--size BYTES] [--chunk BYTES] FILE... | kernel-sessions\n",
		argv[0]);
	return 2;
}
