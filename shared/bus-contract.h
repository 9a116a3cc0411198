/* bus-contract.h - the D-Bus contract of org.daxmirror1 in C, in ONE
 * place: the bus name, object paths, interfaces and the error names of
 * docs/org.daxmirror1.xml, and the errno each error maps to. Every program
 * that registers the map (dxm_bus_errors_register()) gets the same errno
 * from sd_bus_error_get_errno() for a named error. Bash tests read the
 * names from tests/guest/broker-env.sh, which is generated from this
 * header's values by meson (broker-paths.sh.in). */
#ifndef DAXMIRROR_BUS_CONTRACT_H
#define DAXMIRROR_BUS_CONTRACT_H

#include <systemd/sd-bus.h>

#define DXM_BUS_NAME		"org.daxmirror1"
#define DXM_OBJECT_ROOT		"/org/daxmirror1"
#define DXM_SESSION_PREFIX	"/org/daxmirror1/session"
#define DXM_MANAGER_IFACE	"org.daxmirror1.Manager"
#define DXM_SESSION_IFACE	"org.daxmirror1.Session"

#define DXM_ERROR_PREFIX		"org.daxmirror1.Error."
#define DXM_ERROR_ACCESS_DENIED		DXM_ERROR_PREFIX "AccessDenied"
#define DXM_ERROR_QUOTA_EXCEEDED	DXM_ERROR_PREFIX "QuotaExceeded"
#define DXM_ERROR_MODULE_NOT_LOADED	DXM_ERROR_PREFIX "ModuleNotLoaded"
#define DXM_ERROR_NO_SUCH_SESSION	DXM_ERROR_PREFIX "NoSuchSession"
#define DXM_ERROR_INVALID_OPTION	DXM_ERROR_PREFIX "InvalidOption"
#define DXM_ERROR_INVALID_RANGE		DXM_ERROR_PREFIX "InvalidRange"
#define DXM_ERROR_BAD_FILE		DXM_ERROR_PREFIX "BadFile"
#define DXM_ERROR_NOT_DAX		DXM_ERROR_PREFIX "NotDax"
#define DXM_ERROR_BAD_BLOCKS		DXM_ERROR_PREFIX "BadBlocks"
#define DXM_ERROR_REVOKED		DXM_ERROR_PREFIX "Revoked"
#define DXM_ERROR_KERNEL		DXM_ERROR_PREFIX "Kernel"
#define DXM_ERROR_NOT_REQUESTED		DXM_ERROR_PREFIX "NotRequested"
#define DXM_ERROR_UNSUPPORTED_FS	DXM_ERROR_PREFIX "UnsupportedFileSystem"
#define DXM_ERROR_TIMEOUT		DXM_ERROR_PREFIX "Timeout"
#define DXM_ERROR_BUSY			DXM_ERROR_PREFIX "Busy"
#define DXM_ERROR_TOO_MANY_FILES	DXM_ERROR_PREFIX "TooManyFiles"
#define DXM_ERROR_NOT_ATTACHED		DXM_ERROR_PREFIX "NotAttached"
/* The broker holds MaxClientFds fds of clients (calls being vetted or
 * waiting, closes waiting or stuck in a file system): a call carrying
 * more is refused. */
#define DXM_ERROR_TOO_MANY_FDS		DXM_ERROR_PREFIX "TooManyFds"

/* The error map, name -> errno, ended by SD_BUS_ERROR_MAP_END. */
extern const sd_bus_error_map dxm_bus_error_map[];

/*
 * Add dxm_bus_error_map to sd-bus's process-wide maps (idempotent). After
 * it, sd_bus_error_get_errno() and sd_bus_error_set() use it. Returns 0 or
 * a negative errno.
 */
int dxm_bus_errors_register(void);

/*
 * Connect to the system bus (@address NULL or empty) or to @address as a
 * bus client, with fd passing negotiated and @description set. Returns 0
 * and the started connection in *@ret, or a negative errno.
 */
int dxm_bus_connect(const char *address, const char *description, sd_bus **ret);

#endif
