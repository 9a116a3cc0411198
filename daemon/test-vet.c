/* test-vet.c - host test of the file vetting of Session.AttachFile on
 * ordinary (non-DAX) files: range and access-mode rules, and the named
 * errors vet_file() gives. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-contract.h"
#include "tap.h"
#include "util.h"
#include "vet.h"

static const char *vet_cached(VetCache *cache, int fd, uint64_t off, uint64_t len, bool write,
			      bool pagecache, VetReport *rep)
{
	static char name[256];
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = vet_file(cache, fd, off, len, write, pagecache, rep, &e);

	snprintf(name, sizeof(name), "%s", r < 0 ? (e.name ? e.name : "?") : "ok");
	if (r < 0)
		tap_diag("%s: %s", e.name, e.message);
	sd_bus_error_free(&e);
	return name;
}

static const char *vet(int fd, uint64_t off, uint64_t len, bool write, bool pagecache,
		       VetReport *rep)
{
	return vet_cached(NULL, fd, off, len, write, pagecache, rep);
}

int main(void)
{
	char path[] = "/tmp/test-daemon-vet-XXXXXX";
	VetReport rep;
	int fd, ro, wo, op;

	tap_ok(vet_range(0, 4096, 4096) == 0, "range: one page");
	tap_ok(vet_range(4096, 4096, 8192) == 0, "range: last page");
	tap_ok(vet_range(0, 0, 4096) == -EINVAL, "range: empty");
	tap_ok(vet_range(1, 4096, 8192) == -EINVAL, "range: unaligned offset");
	tap_ok(vet_range(0, 100, 8192) == -EINVAL, "range: unaligned length");
	tap_ok(vet_range(4096, 4096, 4096) == -EINVAL, "range: past the end");
	tap_ok(vet_range(0, 8192, 4097) == 0, "range: the partial last page");
	tap_ok(vet_range(0, 8192, 4096) == -EINVAL, "range: a page past a page-sized file");
	tap_ok(vet_range(UINT64_MAX & ~4095ULL, 4096, UINT64_MAX) == -EINVAL, "range: overflow");
	tap_ok(vet_access_mode(O_RDONLY, false) == 0, "mode: ro for read");
	tap_ok(vet_access_mode(O_RDONLY, true) == -EBADF, "mode: ro for write");
	tap_ok(vet_access_mode(O_RDWR, true) == 0, "mode: rw for write");
	tap_ok(vet_access_mode(O_WRONLY, false) == -EBADF, "mode: wo for read");
	tap_ok(vet_access_mode(O_PATH, false) == -EBADF, "mode: O_PATH");

	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 16384) < 0) {
		tap_diag("no temporary file: the file cases are left out");
		return tap_done();
	}
	ro = open(path, O_RDONLY | O_CLOEXEC);
	wo = open(path, O_WRONLY | O_CLOEXEC);
	op = open(path, O_PATH | O_CLOEXEC);

	tap_ok(streq(vet(fd, 0, 16384, true, true, &rep), "ok") && !rep.dax &&
	       strcmp(rep.path, path) == 0, "a tmp file with PageCache passes (%s)", rep.path);
	tap_ok(streq(vet(fd, 0, 16384, false, false, &rep),
		     DXM_ERROR_NOT_DAX) || rep.dax, "not DAX without PageCache: NotDax");
	tap_ok(streq(vet(ro, 0, 4096, true, true, &rep), DXM_ERROR_BAD_FILE),
	       "read-only fd for Write: BadFile");
	tap_ok(streq(vet(ro, 0, 4096, false, true, &rep), "ok"), "read-only fd for reading");
	tap_ok(streq(vet(wo, 0, 4096, false, true, &rep), DXM_ERROR_BAD_FILE), "O_WRONLY: BadFile");
	tap_ok(streq(vet(op, 0, 4096, false, true, &rep), DXM_ERROR_BAD_FILE), "O_PATH: BadFile");
	tap_ok(streq(vet(-1, 0, 4096, false, true, &rep), DXM_ERROR_BAD_FILE), "fd -1: BadFile");
	{
		int dir = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		tap_ok(streq(vet(dir, 0, 4096, false, true, &rep), DXM_ERROR_BAD_FILE),
		       "a directory: BadFile");
		close(dir);
	}
	tap_ok(streq(vet(fd, 0, 0, false, true, &rep), DXM_ERROR_INVALID_RANGE), "length 0");
	tap_ok(streq(vet(fd, 512, 4096, false, true, &rep), DXM_ERROR_INVALID_RANGE), "unaligned");
	tap_ok(streq(vet(fd, 0, 20480, false, true, &rep), DXM_ERROR_INVALID_RANGE), "past EOF");
	tap_ok(streq(vet(fd, UINT64_MAX & ~4095ULL, 4096, false, true, &rep),
		     DXM_ERROR_INVALID_RANGE), "offset + length overflows");

	/* The per-device cache: the second file on the same device and with
	 * the same access mode asks libpmem2 nothing, and answers the same;
	 * another access mode is another entry; per-file checks still run. */
	{
		VetCache cache = { 0 };
		VetReport r1, r2;
		bool same;

		tap_ok(streq(vet_cached(&cache, fd, 0, 16384, true, true, &r1), "ok") &&
		       cache.misses == 1 && cache.hits == 0, "cache: first call asks libpmem2");
		same = streq(vet_cached(&cache, fd, 4096, 4096, true, true, &r2), "ok") &&
		       r2.dax == r1.dax && r2.granularity == r1.granularity &&
		       r2.numa_node == r1.numa_node;
		tap_ok(same && cache.hits == 1 && cache.misses == 1,
		       "cache: second call on the device is a hit with the same answer");
		tap_ok(streq(vet_cached(&cache, ro, 0, 4096, false, true, &r2), "ok") &&
		       cache.misses == 2, "cache: a read-only fd is another entry");
		tap_ok(streq(vet_cached(&cache, fd, 0, 20480, false, true, &r2),
			     DXM_ERROR_INVALID_RANGE) && cache.hits == 1,
		       "cache: the range is checked before the cache is asked");
		tap_ok(streq(vet_cached(&cache, fd, 0, 16384, false, false, &r2),
			     DXM_ERROR_NOT_DAX) || r2.dax,
		       "cache: a hit still refuses a non-DAX file without PageCache");
		cache.entries[0].expires_usec = 1;
		cache.entries[1].expires_usec = 1;
		tap_ok(streq(vet_cached(&cache, fd, 0, 4096, true, true, &r2), "ok") &&
		       cache.misses == 3, "cache: an expired entry is asked again");
	}

	close(op);
	close(wo);
	close(ro);
	close(fd);
	unlink(path);
	return tap_done();
}
