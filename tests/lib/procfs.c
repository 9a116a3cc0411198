/* procfs.c - /proc/self/maps, smaps and pagemap, and the THP mode. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"

#include "procfs.h"

/* Parse "start-end perms offset dev inode   name"; name may be empty. */
static int parse_range(const char *line, uintptr_t *start, uintptr_t *end,
		       const char **name)
{
	int pos = 0;

	if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %*s %*s %n",
		   start, end, &pos) < 2 || pos == 0)
		return -1;
	*name = line + pos;
	return 0;
}

int dmt_find_mapping(const char *name, uintptr_t *start, uintptr_t *end)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/maps", "re");
	char line[512];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		const char *n;

		line[strcspn(line, "\n")] = '\0';
		if (parse_range(line, start, end, &n) == 0 && !strcmp(n, name))
			return 0;
	}
	return -ENOENT;
}

long dmt_smaps_kb(const void *addr, const char *field)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/smaps", "re");
	uintptr_t a = (uintptr_t)addr;
	size_t flen = strlen(field);
	bool inside = false;
	char line[512];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t s, e;
		const char *n;

		if (parse_range(line, &s, &e, &n) == 0) {
			if (inside)
				break;
			inside = a >= s && a < e;
			continue;
		}
		if (inside && !strncmp(line, field, flen) && line[flen] == ':')
			return strtol(line + flen + 1, NULL, 10);
	}
	return -ENOENT;
}

int dmt_pagemap_present(const void *addr, size_t len, uint8_t *present)
{
	_cleanup_close_ int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t pages = len / 4096, chunk = 512;
	uint64_t ent[512];
	off_t off = (off_t)((uintptr_t)addr / 4096 * 8);

	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < pages; i += chunk) {
		size_t n = pages - i < chunk ? pages - i : chunk;
		ssize_t got = pread(fd, ent, n * 8, off + (off_t)(i * 8));

		if (got < 0)
			return -errno;
		if ((size_t)got != n * 8)
			return -EIO;
		for (size_t j = 0; j < n; j++)
			present[i + j] = (uint8_t)(ent[j] >> 63);
	}
	return 0;
}

int dmt_page_folios(const void *addr, size_t len, uint64_t *pfn, uint8_t *kind)
{
	_cleanup_close_ int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	const uint64_t head = 1ULL << 15, tail = 1ULL << 16; /* KPF_COMPOUND_HEAD, _TAIL */
	off_t off = (off_t)((uintptr_t)addr / 4096 * 8);

	if (pm < 0 || kf < 0)
		return -errno;
	for (size_t i = 0; i < len / 4096; i++) {
		uint64_t ent, flags = 0;

		if (pread(pm, &ent, 8, off + (off_t)(i * 8)) != 8)
			return -EIO;
		pfn[i] = (ent >> 63) ? ent & ((1ULL << 55) - 1) : 0;
		if (pfn[i] && pread(kf, &flags, 8, (off_t)(pfn[i] * 8)) != 8)
			return -EIO;
		kind[i] = (flags & head) ? DMT_FOLIO_HEAD : (flags & tail) ? DMT_FOLIO_TAIL : DMT_FOLIO_SMALL;
	}
	return 0;
}

int dmt_thp_mode(char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f =
		fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	char line[128], *a, *b;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		return -EIO;
	a = strchr(line, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!a || !b)
		return -EINVAL;
	*b = '\0';
	snprintf(buf, len, "%s", a + 1);
	return 0;
}

const char *dmt_thp_unusable(void)
{
	char mode[32] = "";

	if (dmt_thp_mode(mode, sizeof(mode)) < 0)
		return "not available";
	return strcmp(mode, "never") ? NULL : "disabled (never)";
}

long dmt_read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}
