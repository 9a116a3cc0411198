/* test-fake-kernel.c - a stand-in for daxmirror.ko's control-node ioctls
 * and the main() of daxmirrord-fake: the daemon's core library over this
 * KernelOps (a test program, never installed), so the host tests can
 * exercise sessions without the module.
 * The control node is then a FIFO the test writes struct daxmirror_event
 * records into. Session fds are eventfds. Every SESSION_INFO bumps the
 * session's device_faults, so counters change like a busy mirror's. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "daemon.h"
#include "daxmirror.h"

#define FAKE_MAX 256

static struct fake_session {
	uint64_t id;
	uint32_t flags, state, max_mirrors, grants;
	uint64_t max_pages, infos;
} sessions[FAKE_MAX];
static unsigned n_sessions;

static struct fake_session *find(uint64_t id)
{
	for (unsigned i = 0; i < n_sessions; i++)
		if (sessions[i].id == id)
			return &sessions[i];
	return NULL;
}

static int fail(int e)
{
	errno = e;
	return -1;
}

static int fake_kernel_ioctl(int fd, unsigned long req, void *arg)
{
	struct fake_session *s;

	switch (req) {
	case DAXMIRROR_IOC_VERSION: {
		struct daxmirror_version *v = arg;

		v->abi = DAXMIRROR_ABI_VERSION;
		return 0;
	}
	case DAXMIRROR_CTL_CREATE_SESSION: {
		struct daxmirror_session_create *c = arg;

		if (c->flags & ~DAXMIRROR_SESSION_FLAGS || c->pad ||
		    c->max_mirrors > DAXMIRROR_MAX_MIRRORS_LIMIT)
			return fail(EINVAL);
		if (n_sessions == FAKE_MAX)
			return fail(ENOMEM);
		c->fd = eventfd(0, EFD_CLOEXEC);
		if (c->fd < 0)
			return -1;
		s = &sessions[n_sessions++];
		*s = (struct fake_session){
			.id = n_sessions, .flags = c->flags, .max_mirrors = c->max_mirrors,
			.max_pages = c->max_pages, .state = DAXMIRROR_STATE_NEW,
		};
		c->session_id = s->id;
		return 0;
	}
	case DAXMIRROR_CTL_GRANT_FILE: {
		struct daxmirror_grant *g = arg;
		struct stat st;
		int fl;

		s = find(g->session_id);
		if (!s)
			return fail(ENOENT);
		if (s->state == DAXMIRROR_STATE_REVOKED)
			return fail(ENODEV);
		if (g->flags & ~DAXMIRROR_GRANT_WRITE || !g->length || g->offset % 4096 ||
		    g->length % 4096)
			return fail(EINVAL);
		fl = fcntl(g->fd, F_GETFL);
		if (fl < 0 || fstat(g->fd, &st) < 0)
			return fail(EBADF);
		if ((g->flags & DAXMIRROR_GRANT_WRITE) &&
		    !(s->flags & DAXMIRROR_SESSION_ALLOW_WRITE))
			return fail(EPERM);
		if (s->grants == DAXMIRROR_MAX_GRANTS)
			return fail(ENOSPC);
		s->grants++;
		return 0;
	}
	case DAXMIRROR_CTL_UNGRANT: {
		struct daxmirror_ungrant *u = arg;

		s = find(u->session_id);
		if (!s)
			return fail(ENOENT);
		if (s->state == DAXMIRROR_STATE_REVOKED)
			return fail(ENODEV);
		if (!s->grants || !u->dev || !u->ino)
			return fail(ENOENT);
		s->grants--;
		return 0;
	}
	case DAXMIRROR_CTL_LIST_SESSIONS: {
		struct daxmirror_session_list *l = arg;
		uint64_t *ids = (uint64_t *)(uintptr_t)l->ids;

		l->count = 0;
		for (unsigned i = 0; i < n_sessions; i++) {
			if (l->count < l->capacity)
				ids[l->count] = sessions[i].id;
			l->count++;
		}
		return 0;
	}
	case DAXMIRROR_IOC_SESSION_INFO: {
		struct daxmirror_session_info *in = arg;

		s = find(in->session_id);
		if (!s)
			return fail(ENOENT);
		in->state = s->state;
		in->max_mirrors = s->max_mirrors;
		in->max_pages = s->max_pages;
		in->nr_grants = s->grants;
		in->session_flags = s->flags;
		in->stats.device_faults = ++s->infos;
		return 0;
	}
	case DAXMIRROR_IOC_MIRROR_LIST: {
		struct daxmirror_mirror_list *l = arg;

		if (!find(l->session_id))
			return fail(ENOENT);
		l->count = 0;
		return 0;
	}
	case DAXMIRROR_CTL_REVOKE: {
		struct daxmirror_revoke *rv = arg;

		s = find(rv->session_id);
		if (!s)
			return fail(ENOENT);
		if (s->state == DAXMIRROR_STATE_REVOKED)
			return fail(EALREADY);
		s->state = DAXMIRROR_STATE_REVOKED;
		s->grants = 0;
		return 0;
	}
	}
	return fail(ENOTTY);
}

static const KernelOps fake_kernel_ops = {
	.ioctl = fake_kernel_ioctl,
	.session_fd_link = "anon_inode:[eventfd]",
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &fake_kernel_ops);
}
