/* fuzz-attach-file.c - libFuzzer harness of daxmirrord's AttachFile handler
 * (daemon/session-dbus.c's session_method_attach_file()): the fuzz input
 * makes the arguments (which fd: a regular file opened read-write or
 * read-only, an O_PATH fd, a directory, /dev/null, a pipe, a memfd; the
 * offset and length), the a{sv} options, the session's
 * options and state, the caller's uid and the quota already used. The
 * handler parses and checks it all, vets the file (type, open mode, range,
 * DAX, bad blocks) and stops at the module, which is not there
 * (kernel.fd -1): nothing is granted. Crashes, leaks and UB fail; so does
 * a successful return. */
#include <fcntl.h>
#include <sys/mman.h>

#include "fuzz-bus.h"

#include "context.h"
#include "quota.h"
#include "session.h"
#include "session-dbus.h"

/* The caller's uid, from the input: the harness is linked with
 * -Wl,--wrap=bus_caller, so the daemon's calls of bus_caller()
 * (daemon/bus.c) land here. */
static uid_t fuzz_uid;

int __wrap_bus_caller(sd_bus_message *m, uid_t *uid, pid_t *pid, sd_bus_error *error);

int __wrap_bus_caller(sd_bus_message *m, uid_t *uid, pid_t *pid, sd_bus_error *error)
{
	(void)m;
	(void)error;
	*uid = fuzz_uid;
	if (pid)
		*pid = 4242;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NFDS 8
static int fds[NFDS];

/* The fds an AttachFile may carry, opened once. */
static void open_fds(void)
{
	char path[] = "/tmp/dm-fuzz-attach-XXXXXX";
	int pipefd[2];
	int fd;

	if (fds[0])
		return;
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		abort();
	fds[0] = fd;
	fds[1] = open(path, O_RDONLY | O_CLOEXEC);
	fds[2] = open(path, O_PATH | O_CLOEXEC);
	fds[3] = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fds[4] = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		abort();
	fds[5] = pipefd[0];
	fds[6] = memfd_create("dm-fuzz", MFD_CLOEXEC);
	if (fds[6] < 0 || ftruncate(fds[6], 1 << 16) < 0)
		abort();
	fds[7] = open(path, O_WRONLY | O_CLOEXEC);
	unlink(path);
	for (int i = 0; i < NFDS; i++)
		if (fds[i] < 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "Write" };
	sd_bus_message *m = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	struct fz f = { data, size };
	Context ctx;
	Session s;
	uint8_t opt = fz_u8(&f);
	uint64_t offset, length;
	int fd, r;

	open_fds();
	memset(&ctx, 0, sizeof(ctx));
	ctx.kernel.fd = -1;
	ctx.kernel.path = "/dev/daxmirror";
	config_init_defaults(&ctx.config);
	if (opt & 1)
		ctx.config.max_bytes_per_user = fz_u64(&f, 8);
	memset(&s, 0, sizeof(s));
	s.ctx = &ctx;
	s.id = 1;
	s.fd = -1;
	s.uid = 1000;
	snprintf(s.path, sizeof(s.path), DXM_SESSION_PREFIX "/1");
	s.options.write = opt & 2;
	s.options.pagecache = opt & 4;
	s.info.state = opt & 8 ? DAXMIRROR_STATE_REVOKED : DAXMIRROR_STATE_BOUND;
	fuzz_uid = opt & 16 ? 0 : opt & 32 ? 1001 : 1000;
	if (opt & 64)
		quota_bytes_add(&ctx.quota, s.uid, fz_u64(&f, 8));

	fd = fds[fz_u8(&f) % NFDS];
	switch (fz_u8(&f) % 4) {	/* offset and length: edges or any */
	case 0:
		offset = 0;
		length = 1 << 20;
		break;
	case 1:
		offset = fz_u64(&f, 2) << 12;
		length = fz_u64(&f, 2) << 12;
		break;
	default:
		offset = fz_u64(&f, 8);
		length = fz_u64(&f, 8);
		break;
	}

	if (sd_bus_message_new_method_call(fz_bus(), &m, DXM_BUS_NAME, s.path,
					   DXM_SESSION_IFACE, "AttachFile") < 0)
		abort();
	if (sd_bus_message_append(m, "htt", fd, offset, length) >= 0 &&
	    fz_options(m, &f, keys, 1) >= 0 && fz_seal(m) >= 0) {
		r = session_method_attach_file(m, &s, &error);
		if (r >= 0 || (!sd_bus_error_is_set(&error) && r != -ENOMEM && r != -EINVAL &&
			       r != -ENXIO && r != -EBADMSG))
			abort();
	}
	sd_bus_error_free(&error);
	sd_bus_message_unref(m);
	for (size_t i = 0; i < s.n_files; i++)
		free(s.files[i].path);
	free(s.files);
	quota_done(&ctx.quota);
	return 0;
}
