/* test-dma.c - the DMA backend (module/dma.c), in the dma suite's guest
 * (tools/vm --dma: a q35 machine with an Intel IOMMU in strict mode and
 * qemu's edu PCI device): the device is bound and translated by the
 * IOMMU; device READ and WRITE move exact bytes by DMA through one IOVA
 * mapping per device entry on anonymous, THP and PMD-mapped DAX memory
 * (a 1 GiB mirror is 512 mappings); a read-only entry upgraded by a write
 * leaves no mapping behind; and munmap, MADV_DONTNEED, truncate and hole
 * punch while a transfer is in flight wait for it (they return only after
 * it ended), leave no mapping behind and draw no DMAR fault; removing the
 * PCI device ends its sessions first, and a rescan brings it back. Each transfer takes 100 ms of
 * the guest's clock: the test moves a few KiB, not megabytes. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt.h"
#include "module-state.h"

#define PARAM_DIR	"/sys/module/daxmirror/parameters/"
#define EDU_DRIVER_DIR	"/sys/bus/pci/drivers/daxmirror-edu"
#define DAX_1G		(1UL << 30)
/* Attempts at catching a transfer in flight before the group gives up. */
#define INFLIGHT_TRIES	6

static const char *const dmar_fault[] = { "DMAR: [DMA", "DRHD: handling fault" };

/* Write @val to module parameter @name: 0 or -errno. */
static int set_param(const char *name, const char *val)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	return n < 0 ? -errno : 0;
}

/* A session of backend @backend ("cpu" or "dma"), bound to us. */
static int open_backend(struct dmt_session *s, uint32_t flags,
			const char *backend)
{
	int r = set_param("backend", backend);

	if (r == 0)
		r = dmt_session_open(s, flags, 0, 0, true);
	set_param("backend", "cpu");
	return r;
}

static int info(const struct dmt_session *s, struct daxmirror_session_info *i)
{
	return dmt_session_info(s->sfd, 0, i);
}

static uint64_t entries_sum(const struct daxmirror_session_info *i)
{
	uint64_t n = 0;

	for (int l = 0; l < DAXMIRROR_NR_ORDERS; l++)
		n += i->stats.entries[l];
	return n;
}

/* The protocol's invariant at rest: every IOVA mapping is a live entry's. */
static bool mappings_match(const struct dmt_session *s, const char *what)
{
	struct daxmirror_session_info i;
	int r = info(s, &i);

	if (!tap_ok(r == 0 && i.stats.dma_mappings == entries_sum(&i),
		    "%s: IOVA mappings == device entries", what))
		tap_diag("ret %s mappings %llu entries %llu", tap_errname(-r),
			 (unsigned long long)i.stats.dma_mappings,
			 (unsigned long long)entries_sum(&i));
	return r == 0;
}

/* munmap @m: the session must hold no IOVA mapping afterwards. */
static void unmap_leaves_none(const struct dmt_session *s, struct dmt_map *m,
			      const char *what)
{
	struct daxmirror_session_info i;
	int r;

	dmt_unmap(m);
	r = info(s, &i);
	if (!tap_ok(r == 0 && i.stats.dma_mappings == 0,
		    "%s: after munmap no IOVA mapping left", what))
		tap_diag("ret %s mappings %llu", tap_errname(-r),
			 (unsigned long long)i.stats.dma_mappings);
}

/* A DMA session with a writable grant of @f (@len bytes, made in @dir
 * with pattern @seed) mapped at @m (aligned to @align) and mirrored. */
static int mirror_dax_file(struct dmt_session *s, struct dmt_file *f,
			   struct dmt_map *m, const char *dir, size_t len,
			   size_t align, uint64_t seed)
{
	char why[256];
	uint64_t mid;
	int r;

	if (!dir)
		return -ENOENT;
	if (align > DMT_PAGE) {
		r = dmt_file_create_aligned(f, dir, len, align, seed, why, sizeof(why));
		if (r == 1)
			tap_diag("no %zu-aligned file of %zu bytes: %s", align, len, why);
	} else {
		r = dmt_file_create(f, dir, "dma", len, seed);
	}
	if (r == 0)
		r = open_backend(s, DMT_ANON_RW, "dma");
	if (r == 0)
		r = dmt_grant(s->ctl, s->id, f->fd, DAXMIRROR_GRANT_WRITE, 0, len);
	if (r == 0)
		r = dmt_map_file(m, len, align, PROT_READ | PROT_WRITE, f->fd, 0, true);
	if (r == 0)
		r = dmt_mirror_add(s->sfd, m->addr, len, DAXMIRROR_MIRROR_WRITE, &mid);
	return r;
}

static void g_device(const void *arg)
{
	_cleanup_session_ struct dmt_session cpu = DMT_SESSION_INIT;
	_cleanup_session_ struct dmt_session dma = DMT_SESSION_INIT;
	const char *pci = getenv("DAXMIRROR_EDU_PCI");
	struct daxmirror_session_info i;
	char path[PATH_MAX], type[32] = "";
	_cleanup_fclose_ FILE *f = NULL;
	struct stat st;
	int r;

	(void)arg;
	snprintf(path, sizeof(path), EDU_DRIVER_DIR "/%s", pci ? pci : "?");
	if (!tap_ok(pci && stat(path, &st) == 0,
		    "the edu device (%s) is bound to daxmirror-edu", pci ? pci : "unset"))
		tap_diag("%s: %s", path, strerror(errno));

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group/type",
		 pci ? pci : "?");
	f = fopen(path, "re");
	if (f && !fgets(type, sizeof(type), f))
		type[0] = '\0';
	type[strcspn(type, "\n")] = '\0';
	/* "DMA": translated, strict (an unmap flushes the IOTLB at once). */
	if (!tap_ok(strcmp(type, "DMA") == 0,
		    "the IOMMU translates the device's DMA, strict (group type DMA)"))
		tap_diag("%s: '%s'", path, type);

	tap_errno(set_param("backend", "gpu"), EINVAL,
		  "module parameter backend=gpu is refused (EINVAL)");

	r = open_backend(&cpu, DMT_ANON_RW, "cpu");
	if (r == 0)
		r = info(&cpu, &i);
	if (!tap_ok(r == 0 && i.backend == DAXMIRROR_BACKEND_CPU,
		    "backend=cpu: SESSION_INFO says BACKEND_CPU"))
		tap_diag("ret %s backend %u", tap_errname(-r), i.backend);
	r = open_backend(&dma, DMT_ANON_RW, "dma");
	if (r == 0)
		r = info(&dma, &i);
	if (!tap_ok(r == 0 && i.backend == DAXMIRROR_BACKEND_DMA,
		    "backend=dma: SESSION_INFO says BACKEND_DMA"))
		tap_diag("ret %s backend %u", tap_errname(-r), i.backend);
}

/* Anonymous memory: READ and WRITE by DMA, per 4 KiB entry. */
static void g_anon(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_session_info i0, i1;
	const size_t len = 4 * DMT_PAGE;
	uint8_t buf[3000], *p;
	uint64_t mid;
	int r;

	(void)arg;
	r = open_backend(&s, DMT_ANON_RW, "dma");
	if (r == 0)
		r = dmt_map_anon(&m, len, 0, PROT_READ | PROT_WRITE, 0);
	if (r == 0) {
		dmt_pattern_fill(m.addr, len, 11, 0);
		r = dmt_mirror_add(s.sfd, m.addr, len, DAXMIRROR_MIRROR_WRITE, &mid);
	}
	if (r == 0)
		r = info(&s, &i0);
	if (r < 0) {
		tap_fail_rest("setup: %s", tap_errname(-r));
		return;
	}
	p = m.addr;

	/* 100 bytes across pages 0 and 1: two steps of two transfers. */
	r = dmt_dev_read(s.sfd, p + 4000, buf, 100);
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, 100, 11, 4000) < 0,
		    "READ by DMA of 100 bytes across a page boundary is exact"))
		tap_diag("ret %s", tap_errname(-r));
	r = info(&s, &i1);
	if (!tap_ok(r == 0 && i1.dma_transfers - i0.dma_transfers == 4 &&
		    i1.stats.bytes_read - i0.stats.bytes_read == 100,
		    "it took 4 DMA transfers (memory -> edu -> bounce, per page)"))
		tap_diag("transfers %llu -> %llu bytes_read %llu -> %llu",
			 (unsigned long long)i0.dma_transfers,
			 (unsigned long long)i1.dma_transfers,
			 (unsigned long long)i0.stats.bytes_read,
			 (unsigned long long)i1.stats.bytes_read);

	dmt_pattern_fill(buf, sizeof(buf), 12, 0);
	r = dmt_dev_write(s.sfd, p + DMT_PAGE + 3000, buf, sizeof(buf));
	if (!tap_ok(r == 0 && memcmp(p + DMT_PAGE + 3000, buf, sizeof(buf)) == 0 &&
		    dmt_pattern_check(p, DMT_PAGE + 3000, 11, 0) < 0,
		    "WRITE by DMA of 3000 bytes: the CPU sees them, nothing else changed"))
		tap_diag("ret %s", tap_errname(-r));
	mappings_match(&s, "after READ and WRITE");

	/* Page 3 loses its entry and its page: a write must fault it. */
	madvise(p + 3 * DMT_PAGE, DMT_PAGE, MADV_DONTNEED);
	mappings_match(&s, "after MADV_DONTNEED of one page");
	r = info(&s, &i0);
	if (r == 0)
		r = dmt_dev_write(s.sfd, p + 3 * DMT_PAGE + 7, buf, 100);
	if (r == 0)
		r = info(&s, &i1);
	/* The entry is checked before anything moves: no transfer wasted. */
	if (!tap_ok(r == 0 && memcmp(p + 3 * DMT_PAGE + 7, buf, 100) == 0 &&
		    i1.stats.device_faults - i0.stats.device_faults == 1 &&
		    i1.dma_transfers - i0.dma_transfers == 2,
		    "WRITE into a page without entry: 1 device fault, then 2 transfers, the CPU sees the bytes"))
		tap_diag("ret %s transfers %llu -> %llu device faults %llu -> %llu",
			 tap_errname(-r), (unsigned long long)i0.dma_transfers,
			 (unsigned long long)i1.dma_transfers,
			 (unsigned long long)i0.stats.device_faults,
			 (unsigned long long)i1.stats.device_faults);
	unmap_leaves_none(&s, &m, "anon");
}

/* A transparent huge page: one entry, one mapping of 2 MiB. */
static void g_thp(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	struct daxmirror_session_info i;
	const char *why = dmt_thp_unusable();
	uint8_t buf[200], *p;
	uint64_t mid;
	int r;

	(void)arg;
	if (why) {
		tap_skip_rest("%s", why);
		return;
	}
	r = open_backend(&s, DMT_ANON_RW, "dma");
	if (r == 0)
		r = dmt_map_anon(&m, DMT_2M, DMT_2M, PROT_READ | PROT_WRITE, 0);
	if (r == 0 && madvise(m.addr, DMT_2M, MADV_HUGEPAGE) < 0)
		r = -errno;
	if (r == 0) {
		dmt_pattern_fill(m.addr, DMT_2M, 21, 0);
		r = dmt_mirror_add(s.sfd, m.addr, DMT_2M, DAXMIRROR_MIRROR_WRITE, &mid);
	}
	if (r == 0)
		r = dmt_fault(s.sfd, m.addr, DMT_2M, DAXMIRROR_FAULT_WRITE);
	if (r == 0)
		r = info(&s, &i);
	if (r < 0) {
		tap_fail_rest("setup: %s", tap_errname(-r));
		return;
	}
	p = m.addr;
	if (!tap_ok(i.stats.entries[DAXMIRROR_ORDER_2M] == 1 &&
		    i.stats.dma_mappings == 1,
		    "THP: one 2 MiB entry, one IOVA mapping"))
		tap_diag("2M entries %llu 4K %llu mappings %llu",
			 (unsigned long long)i.stats.entries[DAXMIRROR_ORDER_2M],
			 (unsigned long long)i.stats.entries[DAXMIRROR_ORDER_4K],
			 (unsigned long long)i.stats.dma_mappings);
	r = dmt_dev_read(s.sfd, p + (1UL << 20) + 3, buf, sizeof(buf));
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, sizeof(buf), 21,
						(1UL << 20) + 3) < 0,
		    "THP: READ by DMA inside the 2 MiB mapping is exact"))
		tap_diag("ret %s", tap_errname(-r));
	dmt_pattern_fill(buf, 64, 22, 0);
	r = dmt_dev_write(s.sfd, p + DMT_2M - 64, buf, 64);
	if (!tap_ok(r == 0 && memcmp(p + DMT_2M - 64, buf, 64) == 0,
		    "THP: WRITE by DMA at its last bytes: the CPU sees them"))
		tap_diag("ret %s", tap_errname(-r));
	unmap_leaves_none(&s, &m, "THP");
}

/* 1 GiB of a DAX file mapped with PMDs: 512 entries, 512 mappings. */
static void g_dax(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	const char *dir = dmt_env_dir(DMT_ENV_EXT4_DAX);
	const size_t w = (300UL << 20) + 5, rd = (700UL << 20) + 3;
	const size_t hole = 512UL << 20;
	struct daxmirror_session_info i;
	uint8_t buf[300], back[300];
	uint8_t *p;
	int r;

	(void)arg;
	r = mirror_dax_file(&s, &f, &m, dir, DAX_1G, DMT_2M, 31);
	if (r == 1) {
		tap_skip_rest("no 2 MiB-aligned 1 GiB file");
		return;
	}
	if (r == 0)
		r = dmt_fault(s.sfd, m.addr, DAX_1G, DAXMIRROR_FAULT_WRITE);
	if (r == 0)
		r = info(&s, &i);
	if (r < 0) {
		tap_fail_rest("setup: %s", tap_errname(-r));
		return;
	}
	p = m.addr;
	tap_eq(i.stats.entries[DAXMIRROR_ORDER_2M], 512,
	       "DAX 1 GiB: FAULT made 512 entries of 2 MiB");
	tap_eq(i.stats.dma_mappings, 512,
	       "DAX 1 GiB: 512 IOVA mappings (per page would be 262144)");

	r = dmt_dev_read(s.sfd, p + rd, buf, sizeof(buf));
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, sizeof(buf), 31, rd) < 0,
		    "DAX: READ by DMA through a 2 MiB entry's IOVA is exact"))
		tap_diag("ret %s", tap_errname(-r));
	dmt_pattern_fill(buf, sizeof(buf), 32, 0);
	r = dmt_dev_write(s.sfd, p + w, buf, sizeof(buf));
	if (r == 0)
		r = dmt_pread_full(f.fd, back, sizeof(back), (off_t)w);
	if (!tap_ok(r == 0 && memcmp(buf, back, sizeof(buf)) == 0,
		    "DAX: WRITE by DMA is in the file (pread)"))
		tap_diag("ret %s", tap_errname(-r));

	/* fsdax's punch waits until no one holds a reference to the pages:
	 * a pinned page would stop it here (the test's watchdog). ext4
	 * unmaps the whole file's CPU mappings first (ext4_break_layouts()),
	 * so every entry goes, and with it every IOVA mapping. */
	r = fallocate(f.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)hole, (off_t)DMT_2M) < 0 ? -errno : 0;
	if (r == 0)
		r = info(&s, &i);
	if (!tap_ok(r == 0 && i.stats.dma_mappings == entries_sum(&i) &&
		    i.stats.entries[DAXMIRROR_ORDER_2M] < 512,
		    "DAX: a hole punched under a 2 MiB entry completes (nothing pinned); every dropped entry's IOVA range is unmapped"))
		tap_diag("ret %s mappings %llu 2M entries %llu", tap_errname(-r),
			 (unsigned long long)i.stats.dma_mappings,
			 (unsigned long long)i.stats.entries[DAXMIRROR_ORDER_2M]);
	unmap_leaves_none(&s, &m, "DAX");
}

/* A read-only entry, then a write: the entry is replaced in place and
 * the read-only mapping goes with the old entry. */
static void g_upgrade(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	const char *dir = dmt_env_dir(DMT_ENV_EXT4_DAX);
	uint8_t buf[100], back[100];
	struct dmt_snap sn;
	int r;

	(void)arg;
	r = mirror_dax_file(&s, &f, &m, dir, 2 * DMT_PAGE, 0, 51);
	/* The CPU never touched it: a device read maps it read-only. */
	if (r == 0)
		r = dmt_dev_read(s.sfd, m.addr, buf, sizeof(buf));
	if (r < 0) {
		tap_fail_rest("setup: %s", tap_errname(-r));
		return;
	}
	r = dmt_snap_summary(s.sfd, m.addr, DMT_PAGE, &sn);
	if (!tap_ok(r == 0 && sn.read == 1 && sn.write == 0 &&
		    dmt_pattern_check(buf, sizeof(buf), 51, 0) < 0,
		    "DAX page read by DMA first: a read-only entry (mapped for reading only), exact bytes"))
		dmt_snap_diag("snapshot", &sn);
	dmt_pattern_fill(buf, sizeof(buf), 52, 0);
	r = dmt_dev_write(s.sfd, m.addr, buf, sizeof(buf));
	if (r == 0)
		r = dmt_snap_summary(s.sfd, m.addr, DMT_PAGE, &sn);
	if (!tap_ok(r == 0 && sn.write == 1, "then a WRITE by DMA makes it writable"))
		tap_diag("ret %s write %zu read %zu", tap_errname(-r), sn.write, sn.read);
	mappings_match(&s, "the read-only mapping went with the replaced entry");
	r = dmt_pread_full(f.fd, back, sizeof(back), 0);
	if (!tap_ok(r == 0 && memcmp(buf, back, sizeof(buf)) == 0,
		    "the file holds the bytes written (pread)"))
		tap_diag("ret %s", tap_errname(-r));
}

/* The device access a thread runs while the main thread invalidates. */
struct access {
	pthread_t thread;
	int sfd;
	uint8_t *addr;
	uint8_t buf[DMT_PAGE];
	bool write;
	int ret;
};

static void *access_run(void *arg)
{
	struct access *a = arg;

	a->ret = a->write ? dmt_dev_write(a->sfd, a->addr, a->buf, DMT_PAGE) :
			    dmt_dev_read(a->sfd, a->addr, a->buf, DMT_PAGE);
	return NULL;
}

/* The session's DMA transfers so far (ended ones), or UINT64_MAX. */
static uint64_t transfers(const struct dmt_session *s)
{
	struct daxmirror_session_info i;

	return info(s, &i) == 0 ? i.dma_transfers : UINT64_MAX;
}

/* Wait until @want transfers of the session ended; false after 20 s. */
static bool wait_transfers(const struct dmt_session *s, uint64_t want)
{
	for (int n = 0; n < 20000; n++) {
		uint64_t t = transfers(s);

		if (t != UINT64_MAX && t >= want)
			return true;
		usleep(1000);
	}
	return false;
}

enum inv_op { OP_MUNMAP, OP_DONTNEED, OP_TRUNCATE, OP_PUNCH };
static const char *const op_name[] = {
	[OP_MUNMAP] = "munmap", [OP_DONTNEED] = "MADV_DONTNEED",
	[OP_TRUNCATE] = "truncate", [OP_PUNCH] = "hole punch",
};

/* What one try saw. */
struct try_result {
	bool caught;		/* the op began with the transfer in flight */
	bool waited;		/* SESSION_INFO dma_waits grew */
	bool ended_first;	/* that transfer had ended when the op returned */
	bool mappings_ok;	/* afterwards: IOVA mappings == entries */
};

static int do_op(enum inv_op op, struct dmt_map *m, int fd)
{
	switch (op) {
	case OP_MUNMAP:
		dmt_unmap(m);
		return 0;
	case OP_DONTNEED:
		return madvise(m->addr, DMT_PAGE, MADV_DONTNEED) < 0 ? -errno : 0;
	case OP_TRUNCATE:
		return ftruncate(fd, 0) < 0 ? -errno : 0;
	case OP_PUNCH:
		return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				 0, DMT_PAGE) < 0 ? -errno : 0;
	}
	return -EINVAL;
}

/*
 * One try: mirror two pages (anonymous, or of a DAX file for truncate and
 * punch), fault them, start a device access of page 0 on a thread, and
 * invalidate page 0 while its transfer on memory is in flight. munmap
 * runs under a READ (memory -> edu, then edu -> bounce: the second
 * transfer on memory begins once 2 ended); the others under a WRITE
 * (bounce -> edu, then edu -> memory: it begins once 1 ended), the one
 * whose late bytes would land in a freed page. 0, or -errno of the setup.
 */
static int inflight_try(enum inv_op op, const char *dir, struct try_result *res)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_file_ struct dmt_file f = DMT_FILE_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	const size_t len = 2 * DMT_PAGE;
	bool file = op == OP_TRUNCATE || op == OP_PUNCH;
	struct daxmirror_session_info i;
	struct access a = { .write = op != OP_MUNMAP };
	uint64_t mid, base, ended, before, after;
	int r;

	*res = (struct try_result){ 0 };
	if (file) {
		r = mirror_dax_file(&s, &f, &m, dir, len, 0, 41);
	} else {
		r = open_backend(&s, DMT_ANON_RW, "dma");
		if (r == 0)
			r = dmt_map_anon(&m, len, 0, PROT_READ | PROT_WRITE, 0);
		if (r == 0) {
			dmt_pattern_fill(m.addr, len, 41, 0);
			r = dmt_mirror_add(s.sfd, m.addr, len,
					   DAXMIRROR_MIRROR_WRITE, &mid);
		}
	}
	if (r == 0)
		r = dmt_fault(s.sfd, m.addr, len, DAXMIRROR_FAULT_WRITE);
	if (r == 0)
		r = info(&s, &i);
	if (r < 0)
		return r;

	a.sfd = s.sfd;
	a.addr = m.addr;
	dmt_pattern_fill(a.buf, DMT_PAGE, 42, 0);
	base = i.dma_transfers;
	ended = base + (a.write ? 1 : 2);
	r = -pthread_create(&a.thread, NULL, access_run, &a);
	if (r < 0)
		return r;
	if (!wait_transfers(&s, ended))
		tap_diag("%s: the access made no progress", op_name[op]);
	/* Into the 100 ms of the transfer on memory that begins now. */
	usleep(30 * 1000);
	before = transfers(&s);
	r = do_op(op, &m, f.fd);
	after = transfers(&s);
	if (r < 0)
		tap_diag("%s: %s", op_name[op], tap_errname(-r));
	pthread_join(a.thread, NULL);
	r = info(&s, &i);
	if (r < 0)
		return r;
	/*
	 * Caught in flight: it had not ended when the op began, and it was
	 * made at all (it starts only while its entry exists, and the op
	 * drops that): the access made exactly the transfers of that story.
	 * Had the op come first, a READ would have stopped at ENOENT (2
	 * transfers), a WRITE would have faulted anew and moved its first
	 * half again (5), or failed at once beyond the truncated end (1).
	 */
	res->caught = before == ended &&
		      i.dma_transfers - base == (op == OP_TRUNCATE ? 2 : 4);
	res->ended_first = after > ended;
	res->waited = i.dma_waits > 0;
	res->mappings_ok = i.stats.dma_mappings == entries_sum(&i);
	tap_diag("%s: transfers ended: %llu before it, %llu when it returned (the one in flight: #%llu), %llu in all; waits %llu; the access ended with %s",
		 op_name[op], (unsigned long long)(before - base),
		 (unsigned long long)(after - base),
		 (unsigned long long)(ended - base + 1),
		 (unsigned long long)(i.dma_transfers - base),
		 (unsigned long long)i.dma_waits, tap_errname(-a.ret));
	if (!res->mappings_ok)
		tap_diag("%s: mappings %llu entries %llu", op_name[op],
			 (unsigned long long)i.stats.dma_mappings,
			 (unsigned long long)entries_sum(&i));
	return 0;
}

static void g_inflight(const void *arg)
{
	enum inv_op op = (enum inv_op)(uintptr_t)arg;
	const char *dir = dmt_env_dir(DMT_ENV_EXT4_DAX);
	struct try_result res = { 0 };
	bool mappings_ok = true;
	char marker[64];
	int tries = 0, faults, r = 0;

	snprintf(marker, sizeof(marker), "test-dma: %s in flight", op_name[op]);
	dmt_kmsg_mark(marker);
	while (!res.caught && tries < INFLIGHT_TRIES && r == 0) {
		tries++;
		r = inflight_try(op, dir, &res);
		mappings_ok = mappings_ok && res.mappings_ok;
	}
	if (r < 0 || !res.caught) {
		tap_fail_rest("%s: no try caught the transfer in flight (%d tries, %s)",
			      op_name[op], tries, tap_errname(-r));
		return;
	}
	tap_diag("%s: caught in flight at try %d", op_name[op], tries);
	tap_ok(res.waited, "%s while a DMA transfer is in flight: the invalidation waited for it",
	       op_name[op]);
	tap_ok(res.ended_first, "%s returned only after that transfer ended (no DMA after it)",
	       op_name[op]);
	tap_ok(mappings_ok, "%s: afterwards every IOVA mapping is a live entry's (the old one unmapped)",
	       op_name[op]);
	faults = dmt_kmsg_find(marker, dmar_fault, ARRAY_SIZE(dmar_fault));
	tap_eq((uint64_t)faults, 0, "%s: no DMAR fault in the kernel log (no DMA reached an unmapped IOVA)",
	       op_name[op]);
}

/* Write "1" to the sysfs file @path: 0 or -errno. */
static int sysfs_one(const char *path)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return write(fd, "1", 1) < 0 ? -errno : 0;
}

/* Is the edu device (PCI address @pci) bound to the module's driver? */
static bool edu_bound(const char *pci)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), EDU_DRIVER_DIR "/%s", pci);
	return stat(path, &st) == 0;
}

/*
 * The PCI device removed under a live session with mappings: the session
 * is ended first (revoked, stripped: nothing mapped), its calls fail with
 * ENODEV, and a rescan binds the device again for new sessions. Last:
 * the device is back only once the rescan probed it.
 */
static void g_remove(const void *arg)
{
	_cleanup_session_ struct dmt_session s = DMT_SESSION_INIT;
	_cleanup_session_ struct dmt_session again = DMT_SESSION_INIT;
	_cleanup_map_ struct dmt_map m = DMT_MAP_INIT;
	_cleanup_map_ struct dmt_map m2 = DMT_MAP_INIT;
	const char *pci = getenv("DAXMIRROR_EDU_PCI");
	struct daxmirror_session_info i;
	char path[PATH_MAX];
	uint8_t buf[64];
	uint64_t mid;
	int r;

	(void)arg;
	r = pci ? open_backend(&s, DMT_ANON_RW, "dma") : -ENOENT;
	if (r == 0)
		r = dmt_map_anon(&m, DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0);
	if (r == 0) {
		dmt_pattern_fill(m.addr, DMT_PAGE, 61, 0);
		r = dmt_mirror_add(s.sfd, m.addr, DMT_PAGE, DAXMIRROR_MIRROR_WRITE, &mid);
	}
	if (r == 0)
		r = dmt_fault(s.sfd, m.addr, DMT_PAGE, DAXMIRROR_FAULT_WRITE);
	if (r < 0) {
		tap_fail_rest("setup: %s", tap_errname(-r));
		return;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove", pci);
	r = sysfs_one(path);
	/* A revoked session's own fd answers only ENODEV: ask the broker's. */
	if (r == 0)
		r = dmt_session_info(s.ctl, s.id, &i);
	if (!tap_ok(r == 0 && i.state == DAXMIRROR_STATE_REVOKED &&
		    i.stats.dma_mappings == 0,
		    "PCI device removed under a mapped session: the session was revoked, no IOVA mapping left"))
		tap_diag("ret %s state %u mappings %llu", tap_errname(-r), i.state,
			 (unsigned long long)i.stats.dma_mappings);
	tap_errno(dmt_dev_read(s.sfd, m.addr, buf, sizeof(buf)), ENODEV,
		  "its next READ fails with ENODEV");
	r = sysfs_one("/sys/bus/pci/rescan");
	for (int n = 0; r == 0 && !edu_bound(pci) && n < 100; n++)
		usleep(100 * 1000);
	if (r == 0)
		r = open_backend(&again, DMT_ANON_RW, "dma");
	if (r == 0)
		r = dmt_map_anon(&m2, DMT_PAGE, 0, PROT_READ | PROT_WRITE, 0);
	if (r == 0) {
		dmt_pattern_fill(m2.addr, DMT_PAGE, 62, 0);
		r = dmt_mirror_add(again.sfd, m2.addr, DMT_PAGE, 0, &mid);
	}
	if (r == 0)
		r = dmt_dev_read(again.sfd, m2.addr, buf, sizeof(buf));
	if (!tap_ok(r == 0 && dmt_pattern_check(buf, sizeof(buf), 62, 0) < 0,
		    "after a PCI rescan the device is bound again: a new session reads by DMA"))
		tap_diag("ret %s bound %d", tap_errname(-r), edu_bound(pci));
}

int main(void)
{
	const struct tap_group groups[] = {
		{ "device", 5, g_device, NULL },
		{ "anon", 7, g_anon, NULL },
		{ "thp", 4, g_thp, NULL },
		{ "dax", 6, g_dax, NULL },
		{ "upgrade", 4, g_upgrade, NULL },
		{ "munmap", 4, g_inflight, (void *)(uintptr_t)OP_MUNMAP },
		{ "dontneed", 4, g_inflight, (void *)(uintptr_t)OP_DONTNEED },
		{ "truncate", 4, g_inflight, (void *)(uintptr_t)OP_TRUNCATE },
		{ "punch", 4, g_inflight, (void *)(uintptr_t)OP_PUNCH },
		{ "remove", 3, g_remove, NULL },
	};

	return tap_main(groups, ARRAY_SIZE(groups), 900);
}
