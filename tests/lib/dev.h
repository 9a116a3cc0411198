/* dev.h - thin wrappers of the daxmirror ioctls, and the session most
 * tests open (dmt_session_open(), DMT_ANON_RW). Every function returns 0
 * (or a new fd) on success and -errno on failure, and leaves errno set. */
#ifndef DMT_DEV_H
#define DMT_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <daxmirror.h>

#define DMT_CONTROL_PATH	"/dev/" DAXMIRROR_DEVICE_NAME
#define DMT_PAGE		4096UL
#define DMT_2M			(2UL << 20)

/* ioctl(fd, req, arg) -> its result or -errno. */
long dmt_ioctl(int fd, unsigned long req, void *arg);

int dmt_open_control(void);
int dmt_version(int fd, uint32_t *abi);
/* Returns the session fd; stores the session id in *id. */
int dmt_session_create(int ctl, uint32_t flags, uint32_t max_mirrors,
		       uint64_t max_pages, uint64_t *id);
int dmt_grant(int ctl, uint64_t session_id, int fd, uint32_t flags,
	      uint64_t offset, uint64_t length);
/* UNGRANT of the file open as @fd (named by its fstat()). */
int dmt_ungrant(int ctl, uint64_t session_id, int fd, uint32_t flags,
		uint64_t offset, uint64_t length);
int dmt_revoke(int ctl, uint64_t session_id);
/* *ids is malloc()ed (free it), *count sessions alive. */
int dmt_list_sessions(int ctl, uint64_t **ids, uint32_t *count);
bool dmt_ids_contain(const uint64_t *ids, uint32_t n, uint64_t id);

int dmt_bind(int sfd);
int dmt_mirror_add(int sfd, const void *addr, size_t len, uint32_t flags,
		   uint64_t *id);
int dmt_mirror_remove(int sfd, uint64_t id);
int dmt_fault(int sfd, const void *addr, size_t len, uint32_t flags);
/* @pages: len / 4096 bytes. */
int dmt_snapshot(int sfd, const void *addr, size_t len, uint8_t *pages);
/* Device read/write of [addr, addr + len); a short transfer is -EIO. */
int dmt_dev_read(int sfd, const void *addr, void *buf, size_t len);
int dmt_dev_write(int sfd, const void *addr, const void *buf, size_t len);

/* @fd: control fd (then @session_id names the session) or session fd
 * (then @session_id is 0 or its own id). */
int dmt_session_info(int fd, uint64_t session_id,
		     struct daxmirror_session_info *info);
/* *mirrors is malloc()ed (free it); *count mirrors. */
int dmt_mirror_list(int fd, uint64_t session_id,
		    struct daxmirror_mirror_info **mirrors, uint32_t *count);
/* Find mirror @id in a session's list; 0 and *out filled, or -errno
 * (-ENOENT if the list does not hold it). */
int dmt_mirror_get(int fd, uint64_t session_id, uint64_t id,
		   struct daxmirror_mirror_info *out);

/* A session as most tests want it: a control fd, a session created on it
 * and (optionally) bound to the calling process. */
struct dmt_session {
	int ctl;
	int sfd;
	uint64_t id;
};
#define DMT_SESSION_INIT { .ctl = -1, .sfd = -1, .id = 0 }

/* The session flags most tests open with: anonymous memory, writable
 * mirrors. */
#define DMT_ANON_RW	(DAXMIRROR_SESSION_ALLOW_ANON | DAXMIRROR_SESSION_ALLOW_WRITE)

int dmt_session_open(struct dmt_session *s, uint32_t flags,
		     uint32_t max_mirrors, uint64_t max_pages, bool bind);
void dmt_session_close(struct dmt_session *s);
#define _cleanup_session_ __attribute__((cleanup(dmt_session_close)))

#endif
