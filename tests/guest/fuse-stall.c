/* fuse-stall.c - a FUSE server of one regular file that never answers one
 * uid: it mounts itself (no libfuse: /dev/fuse and mount(2)), serves
 * FUSE_INIT, LOOKUP, GETATTR, OPEN, READ, FLUSH and RELEASE of "file" to
 * everyone else, and leaves every request of --stall-uid (the broker's
 * vetting thread) unanswered forever, as a hung server or a client's
 * hostile one does. For tests/guest/test-broker-vet. With --hold-reads it
 * holds every READ instead until it gets SIGUSR1, then answers them and
 * every later one: a page fault on the file blocks for as long as the
 * caller wants (tests/guest/test-edges). With --twin it serves a second
 * file, "twin", of the same size and the SAME inode number as "file"
 * (a server decides its st_ino), whose bytes are 0xab: two files one
 * (st_dev, st_ino) names (tests/guest/test-isolation).
 *
 *   fuse-stall MOUNTPOINT SIZE [--stall-uid UID | --hold-reads | --twin]
 *	Prints mounted=1 once mounted, then stalled=NAME opcode=N uid=UID
 *	nodeid=N for each request left unanswered, held=READ offset=N for
 *	each READ held (stdout, line by line).
 *	Runs until killed; closing /dev/fuse (its death) aborts the
 *	connection, which fails the requests still waiting, and the caller
 *	unmounts (umount -l). Exit status 1 if it cannot mount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define ROOT_ID		FUSE_ROOT_ID
#define FILE_ID		2
#define FILE_NAME	"file"
#define TWIN_ID		3
#define TWIN_NAME	"twin"
#define MAX_WRITE	65536
#define BUF_SIZE	(MAX_WRITE + 65536)

static unsigned long long file_size;
static bool twin;

/* --hold-reads: READs held until SIGUSR1 (held_n of them, at most 64). */
#define MAX_HELD	64
static bool holding;
static volatile sig_atomic_t release_held;
static struct fuse_in_header held_in[MAX_HELD];
static struct fuse_read_in held_read[MAX_HELD];
static unsigned int held_n;

static void on_release(int sig)
{
	(void)sig;
	release_held = 1;
}

static int reply(int dev, uint64_t unique, int error, const void *arg, size_t len)
{
	struct fuse_out_header h = {
		.len = (uint32_t)(sizeof(h) + (error ? 0 : len)),
		.error = error,
		.unique = unique,
	};
	struct iovec iov[2] = {
		{ &h, sizeof(h) },
		{ (void *)arg, error ? 0 : len },
	};

	if (writev(dev, iov, arg && !error ? 2 : 1) < 0 && errno != ENOENT) {
		fprintf(stderr, "fuse-stall: writing a reply: %m\n");
		return -1;
	}
	return 0;
}

static void fill_attr(uint64_t node, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = node == TWIN_ID ? FILE_ID : node;	/* the twin's st_ino */
	a->nlink = 1;
	a->blksize = 4096;
	if (node == ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0666;
		a->size = file_size;
		a->blocks = (file_size + 511) / 512;
	}
}

static const char *opname(uint32_t op)
{
	switch (op) {
	case FUSE_LOOKUP: return "LOOKUP";
	case FUSE_GETATTR: return "GETATTR";
	case FUSE_OPEN: return "OPEN";
	case FUSE_READ: return "READ";
	case FUSE_FLUSH: return "FLUSH";
	case FUSE_RELEASE: return "RELEASE";
	case FUSE_STATFS: return "STATFS";
	case FUSE_GETXATTR: return "GETXATTR";
	case FUSE_LSEEK: return "LSEEK";
	case FUSE_IOCTL: return "IOCTL";
	default: return "OTHER";
	}
}

/* The answer to a READ: zeros (the twin: 0xab) up to the end of the file. */
static int read_reply(int dev, const struct fuse_in_header *in,
		      const struct fuse_read_in *r)
{
	static char data[MAX_WRITE], twin_data[MAX_WRITE];
	size_t n = 0;

	if (in->nodeid == TWIN_ID && !twin_data[0])
		memset(twin_data, 0xab, sizeof(twin_data));
	if (r->offset < file_size)
		n = file_size - r->offset;
	if (n > r->size)
		n = r->size;
	if (n > sizeof(data))
		n = sizeof(data);
	return reply(dev, in->unique, 0, in->nodeid == TWIN_ID ? twin_data : data, n);
}

/* One request: answered, stalled (no reply, ever) or without a reply by
 * protocol (FORGET, INTERRUPT). */
static int serve(int dev, const char *buf, long long stall_uid)
{
	const struct fuse_in_header *in = (const void *)buf;
	const void *arg = buf + sizeof(*in);

	switch (in->opcode) {
	case FUSE_INIT: {
		const struct fuse_init_in *ii = arg;
		struct fuse_init_out o = {
			.major = FUSE_KERNEL_VERSION,
			.minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ? ii->minor
								   : FUSE_KERNEL_MINOR_VERSION,
			.max_readahead = ii->max_readahead,
			.max_background = 16,
			.congestion_threshold = 12,
			.max_write = MAX_WRITE,
			.time_gran = 1,
		};

		return reply(dev, in->unique, 0, &o, sizeof(o));
	}
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		return 0;
	case FUSE_DESTROY:
		reply(dev, in->unique, 0, NULL, 0);
		exit(0);
	default:
		break;
	}
	if (stall_uid >= 0 && in->uid == (uint32_t)stall_uid) {
		printf("stalled=%s opcode=%u uid=%u nodeid=%llu\n", opname(in->opcode), in->opcode, in->uid,
		       (unsigned long long)in->nodeid);
		fflush(stdout);
		return 0;
	}
	switch (in->opcode) {
	case FUSE_LOOKUP: {
		struct fuse_entry_out e = {
			.nodeid = FILE_ID, .generation = 1, .entry_valid = 3600,
		};

		if (twin && in->nodeid == ROOT_ID && strcmp(arg, TWIN_NAME) == 0)
			e.nodeid = TWIN_ID;
		else if (in->nodeid != ROOT_ID || strcmp(arg, FILE_NAME) != 0)
			return reply(dev, in->unique, -ENOENT, NULL, 0);
		/* attr_valid 0: every stat asks again, the broker's too. */
		fill_attr(e.nodeid, &e.attr);
		return reply(dev, in->unique, 0, &e, sizeof(e));
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out a = { 0 };

		fill_attr(in->nodeid, &a.attr);
		return reply(dev, in->unique, 0, &a, sizeof(a));
	}
	case FUSE_OPEN: {
		struct fuse_open_out o = { .fh = 1 };

		if (in->nodeid != FILE_ID && in->nodeid != TWIN_ID)
			return reply(dev, in->unique, -EISDIR, NULL, 0);
		return reply(dev, in->unique, 0, &o, sizeof(o));
	}
	case FUSE_READ:
		if (holding && held_n < MAX_HELD) {
			held_in[held_n] = *in;
			held_read[held_n++] = *(const struct fuse_read_in *)arg;
			printf("held=READ offset=%llu\n",
			       (unsigned long long)((const struct fuse_read_in *)arg)->offset);
			return 0;
		}
		return read_reply(dev, in, arg);
	case FUSE_FLUSH:
	case FUSE_RELEASE:
		return reply(dev, in->unique, 0, NULL, 0);
	default:
		return reply(dev, in->unique, -ENOSYS, NULL, 0);
	}
}

int main(int argc, char **argv)
{
	static char buf[BUF_SIZE];
	long long stall_uid = -1;
	char opts[256];
	int dev;

	if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--stall-uid") == 0) &&
	    !(argc == 4 && strcmp(argv[3], "--hold-reads") == 0) &&
	    !(argc == 4 && strcmp(argv[3], "--twin") == 0)) {
		fprintf(stderr, "usage: fuse-stall MOUNTPOINT SIZE [--stall-uid UID | --hold-reads | --twin]\n");
		return 2;
	}
	twin = argc == 4 && strcmp(argv[3], "--twin") == 0;
	file_size = strtoull(argv[2], NULL, 0);
	if (argc == 5)
		stall_uid = strtoll(argv[4], NULL, 0);
	if (argc == 4 && !twin) {
		/* No SA_RESTART: the signal ends the read() of /dev/fuse. */
		struct sigaction sa = { .sa_handler = on_release };

		holding = true;
		sigaction(SIGUSR1, &sa, NULL);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		fprintf(stderr, "fuse-stall: /dev/fuse: %m\n");
		return 1;
	}
	/* allow_other: the broker runs as its own user. */
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", dev);
	if (mount("fuse-stall", argv[1], "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
		fprintf(stderr, "fuse-stall: mount %s: %m\n", argv[1]);
		return 1;
	}
	printf("mounted=1\n");
	for (;;) {
		ssize_t n;

		if (release_held && holding) {
			unsigned int i;

			holding = false;
			for (i = 0; i < held_n; i++)
				read_reply(dev, &held_in[i], &held_read[i]);
		}
		n = read(dev, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR || errno == ENOENT || errno == EAGAIN)
				continue;
			if (errno == ENODEV)	/* unmounted */
				return 0;
			fprintf(stderr, "fuse-stall: reading /dev/fuse: %m\n");
			return 1;
		}
		if ((size_t)n < sizeof(struct fuse_in_header))
			continue;
		serve(dev, buf, stall_uid);
	}
}
