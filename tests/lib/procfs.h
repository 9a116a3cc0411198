/* procfs.h - what tests read from /proc and /sys: a named mapping in
 * /proc/self/maps, a field of /proc/self/smaps, CPU presence from
 * /proc/self/pagemap, large folios from /proc/kpageflags, the THP mode. */
#ifndef DMT_PROCFS_H
#define DMT_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* First mapping whose name is exactly @name (e.g. "[vvar]"). 0 or -errno
 * (-ENOENT if none). */
int dmt_find_mapping(const char *name, uintptr_t *start, uintptr_t *end);
/* The @field ("AnonHugePages") of the smaps entry containing @addr, in
 * kB; -errno on failure. */
long dmt_smaps_kb(const void *addr, const char *field);
/* For each page of [addr, addr + len): 1 if /proc/self/pagemap says the
 * CPU page table maps it (bit 63, present), else 0. 0 or -errno. */
int dmt_pagemap_present(const void *addr, size_t len, uint8_t *present);
/* For each page of [addr, addr + len): its PFN from /proc/self/pagemap
 * (0 when not mapped; root only) and whether /proc/kpageflags says it is
 * the head or a tail page of a large folio, or neither. 0 or -errno. */
enum { DMT_FOLIO_SMALL, DMT_FOLIO_HEAD, DMT_FOLIO_TAIL };
int dmt_page_folios(const void *addr, size_t len, uint64_t *pfn, uint8_t *kind);
/* The selected mode of /sys/kernel/mm/transparent_hugepage/enabled
 * ("always", "madvise", "never") into @buf; 0 or -errno. */
int dmt_thp_mode(char *buf, size_t len);
/* Why transparent hugepages cannot be had ("not available", "disabled
 * (never)"), or NULL when they can: what a test that needs them skips on. */
const char *dmt_thp_unusable(void);

/* The first number in the file at @path (a /proc or /sys value), or -1
 * when it cannot be read. */
long dmt_read_long(const char *path);

#endif
