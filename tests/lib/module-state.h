/* module-state.h - what a guest test checks of the module as a whole after
 * it ran: live sessions, the module's reference count, and kernel log
 * splats (or any records the caller names) since a marker the test wrote. */
#ifndef DMT_MODULE_STATE_H
#define DMT_MODULE_STATE_H

#include <stddef.h>

/* Sessions listed by the control node, or -errno. */
long dmt_sessions_alive(void);
/* /sys/module/daxmirror/refcnt, or -1. */
long dmt_module_refcnt(void);
/* Write @marker as one record of the kernel log (with its newline: a
 * record without one stays open and readers do not see it). */
void dmt_kmsg_mark(const char *marker);
/* Records after the last @marker that look like a splat (BUG, WARNING,
 * Oops, ...; each reported with tap_diag, the first 40), or -errno. Checks
 * the whole log, saying so, if the marker was overwritten. */
int dmt_kmsg_splats(const char *marker);
/* Records after the last @marker holding any of the @n @needles (each
 * reported with tap_diag, the first 40), or -errno; as above. */
int dmt_kmsg_find(const char *marker, const char *const *needles, size_t n);

#endif
