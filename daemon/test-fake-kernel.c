/* test-fake-kernel.c - a stand-in for daxmirror.ko's control-node ioctls
 * and the main() of daxmirrord-fake: the daemon's core library over this
 * KernelOps (a test program, never installed), so the host tests can
 * exercise sessions without the module.
 * The control node is then a FIFO the test writes struct daxmirror_event
 * records into. Session fds are eventfds whose count is the session's id
 * (SESSION_INFO on one answers for that session, as the module's does).
 * Every SESSION_INFO bumps the session's device_faults, so counters change
 * like a busy mirror's. New sessions report the backend that
 * $DAXMIRROR_FAKE_BACKEND names (a DAXMIRROR_BACKEND_* number, default 0:
 * CPU; any other number as a newer module's); a DMA session's
 * dma_transfers is its device_faults and its dma_mappings its grants.
 * With $DAXMIRROR_FAKE_STATE the sessions are kept in that file, one a
 * line, so a restarted daemon finds the "module" as the previous one left
 * it (and a test can change it in between). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
	uint32_t backend;
} sessions[FAKE_MAX];
static unsigned n_sessions;
static const char *state_path;	/* $DAXMIRROR_FAKE_STATE */
static uint32_t new_backend;	/* $DAXMIRROR_FAKE_BACKEND */

static void load(void)
{
	FILE *f = state_path ? fopen(state_path, "re") : NULL;
	struct fake_session s;

	if (!f)
		return;
	while (n_sessions < FAKE_MAX &&
	       fscanf(f, "%" SCNu64 " %" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu64
		      " %" SCNu64 " %" SCNu32 "\n", &s.id, &s.flags, &s.state, &s.max_mirrors,
		      &s.grants, &s.max_pages, &s.infos, &s.backend) == 8)
		sessions[n_sessions++] = s;
	fclose(f);
}

static void save(void)
{
	FILE *f = state_path ? fopen(state_path, "we") : NULL;

	if (!f)
		return;
	for (unsigned i = 0; i < n_sessions; i++)
		fprintf(f, "%" PRIu64 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu64
			" %" PRIu64 " %" PRIu32 "\n", sessions[i].id, sessions[i].flags,
			sessions[i].state, sessions[i].max_mirrors, sessions[i].grants,
			sessions[i].max_pages, sessions[i].infos, sessions[i].backend);
	fclose(f);
}

/* The session of a session fd: its eventfd count, read from fdinfo (a
 * read(2) would reset it). 0 if not one of ours. */
static uint64_t session_of_fd(int fd)
{
	char path[64], line[128];
	uint64_t id = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "eventfd-count:", 14) == 0)
			id = strtoull(line + 14, NULL, 16);
	fclose(f);
	return id;
}

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
		c->fd = eventfd(n_sessions + 1, EFD_CLOEXEC);
		if (c->fd < 0)
			return -1;
		s = &sessions[n_sessions++];
		*s = (struct fake_session){
			.id = n_sessions, .flags = c->flags, .max_mirrors = c->max_mirrors,
			.max_pages = c->max_pages, .state = DAXMIRROR_STATE_NEW,
			.backend = new_backend,
		};
		c->session_id = s->id;
		save();
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
		save();
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
		save();
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

		/* On a session fd the id is the fd's. */
		s = find(in->session_id ? in->session_id : session_of_fd(fd));
		if (!s)
			return fail(ENOENT);
		in->session_id = s->id;
		in->state = s->state;
		in->max_mirrors = s->max_mirrors;
		in->max_pages = s->max_pages;
		in->nr_grants = s->grants;
		in->session_flags = s->flags;
		in->stats.device_faults = ++s->infos;
		in->backend = s->backend;
		if (s->backend == DAXMIRROR_BACKEND_DMA) {
			in->dma_transfers = s->infos;
			in->stats.dma_mappings = s->grants;
		}
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
		save();
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
	const char *backend = getenv("DAXMIRROR_FAKE_BACKEND");

	state_path = getenv("DAXMIRROR_FAKE_STATE");
	if (backend)
		new_backend = (uint32_t)strtoul(backend, NULL, 10);
	load();
	return daemon_main(argc, argv, &fake_kernel_ops);
}
