/* client.h - cleanup helpers for libdaxmirror's objects in the test
 * clients (broker and power-loss tests); header only, for the programs
 * that link libdaxmirror. The generic ones are in shared/macro.h. */
#ifndef DMT_CLIENT_H
#define DMT_CLIENT_H

#include "libdaxmirror.h"
#include "macro.h"

static inline void dmt_client_freep(struct daxmirror_client **c)
{
	*c = daxmirror_client_free(*c);
}

static inline void dmt_mirror_freep(struct daxmirror_mirror **m)
{
	*m = daxmirror_mirror_free(*m);
}

#define _cleanup_client_ _cleanup_(dmt_client_freep)
#define _cleanup_mirror_ _cleanup_(dmt_mirror_freep)

#endif
