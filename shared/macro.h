/* macro.h - the one set of small C helpers every userspace part of
 * daxmirror uses (daemon, library, CLI, bench, tests): cleanup attributes
 * and their functions, fd ownership, container_of, ARRAY_SIZE. Header
 * only, no state. */
#ifndef DAXMIRROR_MACRO_H
#define DAXMIRROR_MACRO_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* free(*p) and forget it. */
static inline void freep(void *p)
{
	free(*(void **)p);
	*(void **)p = NULL;
}

/* Close *fd if >= 0 and forget it, keeping errno. */
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
	*fd = -1;
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
	*f = NULL;
}

/* Close @fd if >= 0; returns -1, for "fd = safe_close(fd);". */
static inline int safe_close(int fd)
{
	closep(&fd);
	return -1;
}

/* Take ownership of *fd away from its cleanup variable; returns it. */
static inline int take_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

/* Take ownership of *p away from its cleanup variable; returns it. */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })

#endif
