/* scale.h - row 8 of dm-bench: what a session's number of mirrors and a
 * process's number of sessions cost (issue 15, "scale of mirrors"). */
#ifndef DM_BENCH_SCALE_H
#define DM_BENCH_SCALE_H

#include <stdbool.h>

/*
 * Rows 8a-8c: FAULT (covered), a small READ and MIRROR_REMOVE+ADD of one
 * probe mirror in a session holding DAXMIRROR_MAX_MIRRORS_LIMIT mirrors
 * against a twin session holding only the probe. Row 8d: mmap+munmap of
 * an unmirrored anonymous range with 64 sessions open in the process
 * against none. Run with no other session of the process open.
 */
void scale_rows(int reps, bool quick);

#endif
