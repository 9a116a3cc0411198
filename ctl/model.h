/* model.h - what daxmirrorctl reads from daxmirrord: the Manager's and a
 * Session's properties as plain structs (filled by bus-util.c, printed by
 * format.c), so the printers can be tested without a bus. */
#ifndef DAXMIRRORCTL_MODEL_H
#define DAXMIRRORCTL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct ManagerInfo {
	char *version;			/* daemon version */
	char *module_state;		/* "loaded" / "missing" */
	uint32_t module_version;	/* ABI, 0 when missing */
	uint32_t session_count, mirror_count;
	uint64_t mirrored_bytes;
	uint32_t max_sessions_per_user, max_mirrors_per_session;
	uint64_t max_bytes_per_user;
} ManagerInfo;

typedef struct SessionFile {
	char *path;
	uint64_t offset, length;
	bool write;
} SessionFile;

typedef struct SessionMirror {
	uint64_t id, start, length;
	char *state;			/* "live" / "released" */
	bool dax;
	uint64_t entries_4k, entries_2m, entries_1g;
} SessionMirror;

typedef struct SessionInfo {
	char *path;			/* /org/daxmirror1/session/ID */
	uint64_t id;
	uint32_t uid, pid;
	char *state;			/* new / bound / mm-gone / revoked */
	uint64_t created_usec;		/* CLOCK_REALTIME */
	bool write, page_cache;
	SessionFile *files;
	size_t n_files;
	SessionMirror *mirrors;
	size_t n_mirrors;
	uint64_t mirrored_bytes, device_faults, range_faults, range_retries;
	uint64_t invalidations, bytes_read, bytes_written;
	char *backend;			/* "cpu" / "dma" / "unknown-N"; NULL from
					 * a daemon without the property */
	uint64_t dma_transfers, dma_mappings;	/* Backend "dma" only */
} SessionInfo;

void manager_info_done(ManagerInfo *m);
void session_info_done(SessionInfo *s);
/* Frees @n sessions and the array. */
void session_infos_free(SessionInfo *v, size_t n);

/* Sums of a session's mirrors' device entries. */
void session_entries(const SessionInfo *s, uint64_t *e4k, uint64_t *e2m, uint64_t *e1g);

/* Printers (format.c). @legend: header and footer lines. */
void print_status(FILE *f, const ManagerInfo *m, bool json);
void print_sessions(FILE *f, const SessionInfo *v, size_t n, bool json, bool legend);
void print_mirrors(FILE *f, const SessionInfo *v, size_t n, bool json, bool legend);
void print_session(FILE *f, const SessionInfo *s, bool json);

#endif
