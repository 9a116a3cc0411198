/* errors.h - the org.daxmirror1.Error.* names of docs/org.daxmirror1.xml and
 * a helper that sets one with a human message. */
#ifndef DAXMIRRORD_ERRORS_H
#define DAXMIRRORD_ERRORS_H

#include <systemd/sd-bus.h>

#define DM_ERROR_PREFIX			"org.daxmirror1.Error."
#define DM_ERROR_ACCESS_DENIED		DM_ERROR_PREFIX "AccessDenied"
#define DM_ERROR_QUOTA_EXCEEDED		DM_ERROR_PREFIX "QuotaExceeded"
#define DM_ERROR_MODULE_NOT_LOADED	DM_ERROR_PREFIX "ModuleNotLoaded"
#define DM_ERROR_NO_SUCH_SESSION	DM_ERROR_PREFIX "NoSuchSession"
#define DM_ERROR_INVALID_OPTION		DM_ERROR_PREFIX "InvalidOption"
#define DM_ERROR_INVALID_RANGE		DM_ERROR_PREFIX "InvalidRange"
#define DM_ERROR_BAD_FILE		DM_ERROR_PREFIX "BadFile"
#define DM_ERROR_NOT_DAX		DM_ERROR_PREFIX "NotDax"
#define DM_ERROR_BAD_BLOCKS		DM_ERROR_PREFIX "BadBlocks"
#define DM_ERROR_REVOKED		DM_ERROR_PREFIX "Revoked"
#define DM_ERROR_KERNEL			DM_ERROR_PREFIX "Kernel"

/* Sets @error to @name with a printf message; returns a negative errno
 * for the method handler to return (sd-bus then sends @error). */
#define dm_error(error, name, ...) sd_bus_error_setf((error), (name), __VA_ARGS__)

#endif
