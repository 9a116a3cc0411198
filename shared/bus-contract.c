/* bus-contract.c - the errno map of org.daxmirror1's named errors and the
 * one bus connection routine of daxmirror's programs. */
#include <errno.h>

#include "bus-contract.h"

const sd_bus_error_map dxm_bus_error_map[] = {
	SD_BUS_ERROR_MAP(DXM_ERROR_ACCESS_DENIED, EACCES),
	SD_BUS_ERROR_MAP(DXM_ERROR_QUOTA_EXCEEDED, EDQUOT),
	SD_BUS_ERROR_MAP(DXM_ERROR_MODULE_NOT_LOADED, ENXIO),
	SD_BUS_ERROR_MAP(DXM_ERROR_NO_SUCH_SESSION, ENOENT),
	SD_BUS_ERROR_MAP(DXM_ERROR_INVALID_OPTION, EINVAL),
	SD_BUS_ERROR_MAP(DXM_ERROR_INVALID_RANGE, ERANGE),
	SD_BUS_ERROR_MAP(DXM_ERROR_BAD_FILE, EBADF),
	SD_BUS_ERROR_MAP(DXM_ERROR_NOT_DAX, EOPNOTSUPP),
	SD_BUS_ERROR_MAP(DXM_ERROR_BAD_BLOCKS, EIO),
	SD_BUS_ERROR_MAP(DXM_ERROR_REVOKED, ENODEV),
	SD_BUS_ERROR_MAP(DXM_ERROR_KERNEL, EPROTO),
	SD_BUS_ERROR_MAP(DXM_ERROR_NOT_REQUESTED, ESRCH),
	SD_BUS_ERROR_MAP(DXM_ERROR_UNSUPPORTED_FS, EXDEV),
	SD_BUS_ERROR_MAP(DXM_ERROR_TIMEOUT, ETIMEDOUT),
	SD_BUS_ERROR_MAP(DXM_ERROR_BUSY, EBUSY),
	SD_BUS_ERROR_MAP(DXM_ERROR_TOO_MANY_FILES, ENOSPC),
	SD_BUS_ERROR_MAP(DXM_ERROR_NOT_ATTACHED, ENOENT),
	SD_BUS_ERROR_MAP(DXM_ERROR_TOO_MANY_FDS, EMFILE),
	SD_BUS_ERROR_MAP_END
};

int dxm_bus_errors_register(void)
{
	int r = sd_bus_error_add_map(dxm_bus_error_map);

	return r < 0 ? r : 0;
}

int dxm_bus_connect(const char *address, const char *description, sd_bus **ret)
{
	sd_bus *bus = NULL;
	int r;

	r = dxm_bus_errors_register();
	if (r < 0)
		return r;
	if (!address || !*address) {
		r = sd_bus_open_system_with_description(&bus, description);
		if (r < 0)
			return r;
		*ret = bus;
		return 0;
	}
	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	r = sd_bus_set_description(bus, description);
	if (r >= 0)
		r = sd_bus_set_address(bus, address);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0) {
		sd_bus_unref(bus);
		return r;
	}
	*ret = bus;
	return 0;
}
