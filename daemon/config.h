/* config.h - daxmirrord.conf: the limits and policy of the broker. The
 * parser is a pure function over a buffer (host-tested, fuzzable); only
 * config_load() touches the file system. */
#ifndef DAXMIRRORD_CONFIG_H
#define DAXMIRRORD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH			"/etc/daxmirror/daxmirrord.conf"
#define CONFIG_DEFAULT_MAX_SESSIONS_PER_USER	16U
#define CONFIG_DEFAULT_MAX_BYTES_PER_USER	(64ULL << 30)
#define CONFIG_DEFAULT_MAX_MIRRORS_PER_SESSION	64U
/* File ranges a session may have attached at once: the module's grant
 * table (DAXMIRROR_MAX_GRANTS) is the most. */
#define CONFIG_DEFAULT_MAX_FILES_PER_SESSION	64U
#define CONFIG_MAX_FILES_LIMIT			64U
#define CONFIG_DEFAULT_ALLOW_PAGECACHE		true
#define CONFIG_DEFAULT_ALLOW_ANONYMOUS		false
/* AttachFile's vetting (vetting.c): calls in flight per uid and in all,
 * and how long one may take. The thread pool has MaxVetting + 1 threads
 * (UV_THREADPOOL_SIZE, set at start). */
#define CONFIG_DEFAULT_MAX_VETTING_PER_USER	2U
#define CONFIG_DEFAULT_MAX_VETTING		8U
#define CONFIG_DEFAULT_MAX_VETTING_QUEUED_PER_USER 256U
#define CONFIG_MAX_VETTING_QUEUED_LIMIT		4096U
#define CONFIG_MAX_VETTING_LIMIT		64U
#define CONFIG_DEFAULT_VET_TIMEOUT_SEC		10U
#define CONFIG_MAX_VET_TIMEOUT_SEC		3600U
/* Closes of clients' fds, on threads of their own (close() of a FUSE
 * file waits for its server): per uid and in all. The pool has MaxVetting
 * + MaxClosing + 1 threads. */
#define CONFIG_DEFAULT_MAX_CLOSING_PER_USER	2U
#define CONFIG_DEFAULT_MAX_CLOSING		8U
#define CONFIG_MAX_CLOSING_LIMIT		64U
/* Clients' fds the broker holds at once (messages being handled, calls
 * vetted or waiting, closes waiting or stuck). */
#define CONFIG_DEFAULT_MAX_CLIENT_FDS		4096U
#define CONFIG_MAX_CLIENT_FDS_LIMIT		32768U
/* Longest AllowFileSystems pattern (a file system type is cut at 63). */
#define CONFIG_FS_PATTERN_MAX			63
/* Room for [Policy] AllowFileSystems, NUL included. */
#define CONFIG_FS_LIST_SIZE			256
/* Largest file accepted, so a mistaken path cannot eat the daemon's memory. */
#define CONFIG_MAX_FILE_SIZE			(1024 * 1024)

typedef struct Config {
	uint32_t max_sessions_per_user;		/* [Limits] MaxSessionsPerUser */
	uint64_t max_bytes_per_user;		/* [Limits] MaxBytesPerUser */
	uint32_t max_mirrors_per_session;	/* [Limits] MaxMirrorsPerSession */
	uint32_t max_files_per_session;		/* [Limits] MaxFilesPerSession */
	bool allow_pagecache;			/* [Policy] AllowPageCache */
	bool allow_anonymous;			/* [Policy] AllowAnonymous */
	uint32_t max_vetting_per_user;		/* [Limits] MaxVettingPerUser */
	uint32_t max_vetting;			/* [Limits] MaxVetting */
	uint32_t max_vetting_queued_per_user;	/* [Limits] MaxVettingQueuedPerUser */
	uint32_t vet_timeout_sec;		/* [Limits] VetTimeoutSec */
	uint32_t max_closing_per_user;		/* [Limits] MaxClosingPerUser */
	uint32_t max_closing;			/* [Limits] MaxClosing */
	uint32_t max_client_fds;		/* [Limits] MaxClientFds */
	/* [Policy] AllowFileSystems: file system types (fnmatch patterns,
	 * separated by spaces) allowed beyond vet.c's built-in list; "" none.
	 * An array, so a Config stays a value that copies as a whole. */
	char allow_filesystems[CONFIG_FS_LIST_SIZE];
} Config;

/* Where a parse failed: "FILE:LINE: what" in @message. */
typedef struct ConfigError {
	unsigned line;				/* 0 when not about a line */
	char message[512];
} ConfigError;

/* Called for ignored input (unknown section or key, assignment outside a
 * section): "FILE:LINE: what" in @message. */
typedef void (*config_warn_fn)(void *userdata, unsigned line,
			       const char *message);

void config_init_defaults(Config *c);

/* Parses @size bytes of @text (need not be NUL-terminated) named @name in
 * messages, starting from the built-in defaults. On success stores the
 * result in *@out and returns 0; on a bad line returns -EINVAL, fills
 * *@err and leaves *@out untouched. @warn may be NULL. */
int config_parse(Config *out, const char *name, const char *text, size_t size,
		 config_warn_fn warn, void *userdata, ConfigError *err);

/* Reads and parses @path. A missing file yields the defaults and returns
 * 1; 0 when parsed; -errno on error with *@err filled, *@out untouched. */
int config_load(Config *out, const char *path, config_warn_fn warn,
		void *userdata, ConfigError *err);

/* Value parsers, exposed for the tests. 0 or -EINVAL (-ERANGE when too big).
 * Sizes are shared/parse.h's dxm_parse_size(). */
int config_parse_bool(const char *s, bool *out);
int config_parse_u32(const char *s, uint32_t *out);

#endif
