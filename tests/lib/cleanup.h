/* cleanup.h - __attribute__((cleanup)) helpers: file descriptors and heap
 * buffers released when the variable goes out of scope. Mappings and
 * temporary files have theirs in mapping.h and files.h. */
#ifndef DMT_CLEANUP_H
#define DMT_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void dmt_close_fdp(int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	errno = saved;
}

static inline void dmt_freep(void *p)
{
	free(*(void **)p);
	*(void **)p = NULL;
}

/* Give up ownership of *fd (so cleanup does not close it); return it. */
static inline int dmt_steal_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

#define _cleanup_fd_	__attribute__((cleanup(dmt_close_fdp)))
#define _cleanup_free_	__attribute__((cleanup(dmt_freep)))

#endif
