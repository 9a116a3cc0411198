/* dev.c - thin wrappers of the daxmirror ioctls (see dev.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev.h"
#include "tap.h"

long dmt_ioctl(int fd, unsigned long req, void *arg)
{
	long r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

int dmt_open_control(void)
{
	int fd = open(DMT_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int dmt_version(int fd, uint32_t *abi)
{
	struct daxmirror_version v = { 0 };
	long r = dmt_ioctl(fd, DAXMIRROR_IOC_VERSION, &v);

	if (r < 0)
		return (int)r;
	if (abi)
		*abi = v.abi;
	return 0;
}

int dmt_session_create(int ctl, uint32_t flags, uint32_t max_mirrors,
		       uint64_t max_pages, uint64_t *id)
{
	struct daxmirror_session_create c = {
		.flags = flags,
		.max_mirrors = max_mirrors,
		.max_pages = max_pages,
		.fd = -1,
	};
	long r = dmt_ioctl(ctl, DAXMIRROR_CTL_CREATE_SESSION, &c);

	if (r < 0)
		return (int)r;
	if (c.fd < 0) {
		tap_diag("CREATE_SESSION succeeded but returned fd %d", c.fd);
		return -EBADF;
	}
	if (id)
		*id = c.session_id;
	return c.fd;
}

int dmt_grant(int ctl, uint64_t session_id, int fd, uint32_t flags,
	      uint64_t offset, uint64_t length)
{
	struct daxmirror_grant g = {
		.session_id = session_id,
		.fd = fd,
		.flags = flags,
		.offset = offset,
		.length = length,
	};

	return (int)dmt_ioctl(ctl, DAXMIRROR_CTL_GRANT_FILE, &g);
}

int dmt_ungrant(int ctl, uint64_t session_id, int fd, uint32_t flags,
		uint64_t offset, uint64_t length)
{
	struct daxmirror_ungrant u = {
		.session_id = session_id,
		.flags = flags,
		.offset = offset,
		.length = length,
	};
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	u.dev = st.st_dev;
	u.ino = st.st_ino;
	return (int)dmt_ioctl(ctl, DAXMIRROR_CTL_UNGRANT, &u);
}

int dmt_revoke(int ctl, uint64_t session_id)
{
	struct daxmirror_revoke rv = { .session_id = session_id };

	return (int)dmt_ioctl(ctl, DAXMIRROR_CTL_REVOKE, &rv);
}

int dmt_list_sessions(int ctl, uint64_t **ids, uint32_t *count)
{
	struct daxmirror_session_list l = { 0 };
	uint64_t *buf = NULL;

	/* Count, then fetch; retry if sessions appeared in between. */
	for (int tries = 0; tries < 8; tries++) {
		uint32_t cap = l.count + 4;
		uint64_t *nbuf = realloc(buf, cap * sizeof(*buf));
		long r;

		if (!nbuf) {
			free(buf);
			return -ENOMEM;
		}
		buf = nbuf;
		memset(&l, 0, sizeof(l));
		l.ids = (uintptr_t)buf;
		l.capacity = cap;
		r = dmt_ioctl(ctl, DAXMIRROR_CTL_LIST_SESSIONS, &l);
		if (r < 0) {
			free(buf);
			return (int)r;
		}
		if (l.count <= cap) {
			*ids = buf;
			*count = l.count;
			return 0;
		}
	}
	free(buf);
	return -EAGAIN;
}

bool dmt_ids_contain(const uint64_t *ids, uint32_t n, uint64_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

int dmt_bind(int sfd)
{
	return (int)dmt_ioctl(sfd, DAXMIRROR_IOC_BIND, NULL);
}

int dmt_mirror_add(int sfd, const void *addr, size_t len, uint32_t flags,
		   uint64_t *id)
{
	struct daxmirror_mirror_add a = {
		.addr = (uintptr_t)addr,
		.length = len,
		.flags = flags,
	};
	long r = dmt_ioctl(sfd, DAXMIRROR_IOC_MIRROR_ADD, &a);

	if (r < 0)
		return (int)r;
	if (id)
		*id = a.id;
	return 0;
}

int dmt_mirror_remove(int sfd, uint64_t id)
{
	struct daxmirror_mirror_remove rm = { .id = id };

	return (int)dmt_ioctl(sfd, DAXMIRROR_IOC_MIRROR_REMOVE, &rm);
}

int dmt_fault(int sfd, const void *addr, size_t len, uint32_t flags)
{
	struct daxmirror_fault f = {
		.addr = (uintptr_t)addr,
		.length = len,
		.flags = flags,
	};

	return (int)dmt_ioctl(sfd, DAXMIRROR_IOC_FAULT, &f);
}

int dmt_snapshot(int sfd, const void *addr, size_t len, uint8_t *pages)
{
	struct daxmirror_snapshot s = {
		.addr = (uintptr_t)addr,
		.length = len,
		.pages = (uintptr_t)pages,
	};

	return (int)dmt_ioctl(sfd, DAXMIRROR_IOC_SNAPSHOT, &s);
}

static int dev_rw(int sfd, unsigned long req, const void *addr,
		  const void *buf, size_t len)
{
	struct daxmirror_rw rw = {
		.addr = (uintptr_t)addr,
		.length = len,
		.buf = (uintptr_t)buf,
	};
	long r = dmt_ioctl(sfd, req, &rw);

	if (r < 0)
		return (int)r;
	if (rw.done != len) {
		tap_diag("device %s of %zu bytes at %p: done = %llu",
			 req == DAXMIRROR_IOC_READ ? "read" : "write", len, addr,
			 (unsigned long long)rw.done);
		return -EIO;
	}
	return 0;
}

int dmt_dev_read(int sfd, const void *addr, void *buf, size_t len)
{
	return dev_rw(sfd, DAXMIRROR_IOC_READ, addr, buf, len);
}

int dmt_dev_write(int sfd, const void *addr, const void *buf, size_t len)
{
	return dev_rw(sfd, DAXMIRROR_IOC_WRITE, addr, buf, len);
}

int dmt_session_info(int fd, uint64_t session_id,
		     struct daxmirror_session_info *info)
{
	memset(info, 0, sizeof(*info));
	info->session_id = session_id;
	return (int)dmt_ioctl(fd, DAXMIRROR_IOC_SESSION_INFO, info);
}

int dmt_mirror_list(int fd, uint64_t session_id,
		    struct daxmirror_mirror_info **mirrors, uint32_t *count)
{
	struct daxmirror_mirror_list l = { 0 };
	struct daxmirror_mirror_info *buf = NULL;

	for (int tries = 0; tries < 8; tries++) {
		uint32_t cap = l.count + 4;
		struct daxmirror_mirror_info *nbuf =
			realloc(buf, cap * sizeof(*buf));
		long r;

		if (!nbuf) {
			free(buf);
			return -ENOMEM;
		}
		buf = nbuf;
		memset(buf, 0, cap * sizeof(*buf));
		memset(&l, 0, sizeof(l));
		l.session_id = session_id;
		l.mirrors = (uintptr_t)buf;
		l.capacity = cap;
		r = dmt_ioctl(fd, DAXMIRROR_IOC_MIRROR_LIST, &l);
		if (r < 0) {
			free(buf);
			return (int)r;
		}
		if (l.count <= cap) {
			*mirrors = buf;
			*count = l.count;
			return 0;
		}
	}
	free(buf);
	return -EAGAIN;
}

int dmt_mirror_get(int fd, uint64_t session_id, uint64_t id,
		   struct daxmirror_mirror_info *out)
{
	struct daxmirror_mirror_info *m = NULL;
	uint32_t n = 0;
	int r = dmt_mirror_list(fd, session_id, &m, &n);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (uint32_t i = 0; i < n; i++) {
		if (m[i].id == id) {
			*out = m[i];
			r = 0;
			break;
		}
	}
	free(m);
	return r;
}

int dmt_session_open(struct dmt_session *s, uint32_t flags,
		     uint32_t max_mirrors, uint64_t max_pages, bool bind)
{
	int r;

	s->ctl = dmt_open_control();
	if (s->ctl < 0) {
		r = s->ctl;
		tap_diag("open %s: %s", DMT_CONTROL_PATH, tap_errname(-r));
		return r;
	}
	s->sfd = dmt_session_create(s->ctl, flags, max_mirrors, max_pages,
				    &s->id);
	if (s->sfd < 0) {
		r = s->sfd;
		tap_diag("CREATE_SESSION: %s", tap_errname(-r));
		return r;
	}
	if (bind) {
		r = dmt_bind(s->sfd);
		if (r < 0) {
			tap_diag("BIND: %s", tap_errname(-r));
			return r;
		}
	}
	return 0;
}

void dmt_session_close(struct dmt_session *s)
{
	int saved = errno;

	if (s->sfd >= 0)
		close(s->sfd);
	if (s->ctl >= 0)
		close(s->ctl);
	s->sfd = s->ctl = -1;
	errno = saved;
}
