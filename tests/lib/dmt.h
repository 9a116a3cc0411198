/* dmt.h - everything a daxmirror test program includes: TAP and cleanup
 * helpers (shared/tap.h, shared/macro.h), ioctl wrappers, events,
 * snapshots, mappings, files, child processes, /proc readers, data
 * patterns and the monotonic clock. */
#ifndef DMT_H
#define DMT_H

#include "macro.h"
#include "child.h"
#include "clock.h"
#include "dev.h"
#include "events.h"
#include "files.h"
#include "fuse.h"
#include "mapping.h"
#include "pattern.h"
#include "procfs.h"
#include "snap.h"
#include "tap.h"

/* Event waits: the guest is emulated (TCG), be generous. */
#define DMT_EVENT_TIMEOUT_MS	10000
#define DMT_CHILD_TIMEOUT_MS	60000

#endif
