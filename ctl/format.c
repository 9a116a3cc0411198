/* format.c - daxmirrorctl's printers: status, the session and mirror
 * tables, show-session, each as text or as one JSON document. Pure
 * functions of the model (model.h), tested by test-format.c. */
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "json.h"
#include "model.h"
#include "table.h"
#include "util.h"

void manager_info_done(ManagerInfo *m)
{
	free(m->version);
	free(m->module_state);
	*m = (ManagerInfo){ 0 };
}

void session_info_done(SessionInfo *s)
{
	free(s->path);
	free(s->state);
	free(s->backend);
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i].path);
	free(s->files);
	for (size_t i = 0; i < s->n_mirrors; i++)
		free(s->mirrors[i].state);
	free(s->mirrors);
	*s = (SessionInfo){ 0 };
}

void session_infos_free(SessionInfo *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		session_info_done(&v[i]);
	free(v);
}

void session_entries(const SessionInfo *s, uint64_t *e4k, uint64_t *e2m, uint64_t *e1g)
{
	*e4k = *e2m = *e1g = 0;
	for (size_t i = 0; i < s->n_mirrors; i++) {
		*e4k += s->mirrors[i].entries_4k;
		*e2m += s->mirrors[i].entries_2m;
		*e1g += s->mirrors[i].entries_1g;
	}
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static const char *str_or_dash(const char *s)
{
	return s ? s : "-";
}

/* Does the session's device reach memory by DMA (and so have DMA
 * counters to show)? */
static bool session_dma(const SessionInfo *s)
{
	return s->backend && streq(s->backend, "dma");
}

/* ---- status ----------------------------------------------------------- */

void print_status(FILE *f, const ManagerInfo *m, bool json)
{
	char b1[FORMAT_BYTES_MAX], b2[FORMAT_BYTES_MAX];
	bool loaded = m->module_state && streq(m->module_state, "loaded");

	if (json) {
		JsonWriter w = JSON_WRITER_INIT(f);

		json_begin_object(&w);
		json_kv_string(&w, "version", m->version);
		json_kv_string(&w, "module_state", m->module_state);
		json_kv_u64(&w, "module_version", m->module_version);
		json_kv_u64(&w, "session_count", m->session_count);
		json_kv_u64(&w, "mirror_count", m->mirror_count);
		json_kv_u64(&w, "mirrored_bytes", m->mirrored_bytes);
		json_kv_u64(&w, "max_sessions_per_user", m->max_sessions_per_user);
		json_kv_u64(&w, "max_bytes_per_user", m->max_bytes_per_user);
		json_kv_u64(&w, "max_mirrors_per_session", m->max_mirrors_per_session);
		json_end_object(&w);
		json_finish(&w);
		return;
	}
	fprintf(f, "  Daemon: daxmirrord %s\n", str_or_dash(m->version));
	if (loaded)
		fprintf(f, "  Module: loaded (ABI version %" PRIu32 ")\n", m->module_version);
	else
		fprintf(f, "  Module: %s (modprobe daxmirror, then 'systemctl reload daxmirrord')\n",
			str_or_dash(m->module_state));
	fprintf(f, "Sessions: %" PRIu32 "\n", m->session_count);
	fprintf(f, " Mirrors: %" PRIu32 " (%s mirrored)\n", m->mirror_count,
		format_bytes(b1, sizeof(b1), m->mirrored_bytes));
	fprintf(f, "  Limits: %" PRIu32 " sessions and %s per user, %" PRIu32
		" mirrors per session\n", m->max_sessions_per_user,
		format_bytes(b2, sizeof(b2), m->max_bytes_per_user), m->max_mirrors_per_session);
	fflush(f);
}

/* ---- list-sessions ---------------------------------------------------- */

static const TableColumn session_cols[] = {
	{ "ID", true }, { "UID", true }, { "PID", true }, { "STATE", false },
	{ "MIRRORS", true }, { "BYTES", true }, { "4K", true }, { "2M", true }, { "1G", true },
};

void print_sessions(FILE *f, const SessionInfo *v, size_t n, bool json, bool legend)
{
	Table t = TABLE_INIT(session_cols, ARRAY_SIZE(session_cols));
	int r = 0;

	if (json) {
		JsonWriter w = JSON_WRITER_INIT(f);

		json_begin_array(&w);
		for (size_t i = 0; i < n; i++) {
			uint64_t e4k, e2m, e1g;

			session_entries(&v[i], &e4k, &e2m, &e1g);
			json_begin_object(&w);
			json_kv_u64(&w, "id", v[i].id);
			json_kv_string(&w, "path", v[i].path);
			json_kv_u64(&w, "uid", v[i].uid);
			json_kv_u64(&w, "pid", v[i].pid);
			json_kv_string(&w, "state", v[i].state);
			json_kv_u64(&w, "mirrors", v[i].n_mirrors);
			json_kv_u64(&w, "mirrored_bytes", v[i].mirrored_bytes);
			json_kv_u64(&w, "entries_4k", e4k);
			json_kv_u64(&w, "entries_2m", e2m);
			json_kv_u64(&w, "entries_1g", e1g);
			json_end_object(&w);
		}
		json_end_array(&w);
		json_finish(&w);
		return;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		uint64_t e4k, e2m, e1g;

		session_entries(&v[i], &e4k, &e2m, &e1g);
		r = table_add_u64(&t, v[i].id);
		r = r ?: table_add_u64(&t, v[i].uid);
		r = r ?: table_add_u64(&t, v[i].pid);
		r = r ?: table_add(&t, v[i].state);
		r = r ?: table_add_u64(&t, v[i].n_mirrors);
		r = r ?: table_add_bytes(&t, v[i].mirrored_bytes);
		r = r ?: table_add_u64(&t, e4k);
		r = r ?: table_add_u64(&t, e2m);
		r = r ?: table_add_u64(&t, e1g);
	}
	if (r >= 0) {
		table_print(&t, f, legend);
		if (legend)
			fprintf(f, "\n%zu session%s listed.\n", n, n == 1 ? "" : "s");
	}
	table_done(&t);
	fflush(f);
}

/* ---- list-mirrors ----------------------------------------------------- */

static const TableColumn mirror_cols[] = {
	{ "SESSION", true }, { "ID", true }, { "START", false }, { "LENGTH", true },
	{ "STATE", false }, { "DAX", false }, { "4K", true }, { "2M", true }, { "1G", true },
};

static void json_mirror(JsonWriter *w, uint64_t session, const SessionMirror *mi)
{
	json_begin_object(w);
	json_kv_u64(w, "session", session);
	json_kv_u64(w, "id", mi->id);
	json_kv_u64(w, "start", mi->start);
	json_kv_u64(w, "length", mi->length);
	json_kv_string(w, "state", mi->state);
	json_kv_bool(w, "dax", mi->dax);
	json_kv_u64(w, "entries_4k", mi->entries_4k);
	json_kv_u64(w, "entries_2m", mi->entries_2m);
	json_kv_u64(w, "entries_1g", mi->entries_1g);
	json_end_object(w);
}

static int table_add_mirror(Table *t, uint64_t session, const SessionMirror *mi)
{
	int r;

	r = table_add_u64(t, session);
	r = r ?: table_add_u64(t, mi->id);
	r = r ?: table_add_fmt(t, "0x%" PRIx64, mi->start);
	r = r ?: table_add_bytes(t, mi->length);
	r = r ?: table_add(t, mi->state);
	r = r ?: table_add(t, yes_no(mi->dax));
	r = r ?: table_add_u64(t, mi->entries_4k);
	r = r ?: table_add_u64(t, mi->entries_2m);
	r = r ?: table_add_u64(t, mi->entries_1g);
	return r;
}

void print_mirrors(FILE *f, const SessionInfo *v, size_t n, bool json, bool legend)
{
	Table t = TABLE_INIT(mirror_cols, ARRAY_SIZE(mirror_cols));
	size_t count = 0;
	int r = 0;

	if (json) {
		JsonWriter w = JSON_WRITER_INIT(f);

		json_begin_array(&w);
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < v[i].n_mirrors; j++)
				json_mirror(&w, v[i].id, &v[i].mirrors[j]);
		json_end_array(&w);
		json_finish(&w);
		return;
	}
	for (size_t i = 0; i < n && r >= 0; i++)
		for (size_t j = 0; j < v[i].n_mirrors && r >= 0; j++, count++)
			r = table_add_mirror(&t, v[i].id, &v[i].mirrors[j]);
	if (r >= 0) {
		table_print(&t, f, legend);
		if (legend)
			fprintf(f, "\n%zu mirror%s listed.\n", count, count == 1 ? "" : "s");
	}
	table_done(&t);
	fflush(f);
}

/* ---- show-session ----------------------------------------------------- */

static const char *format_usec(char *buf, size_t size, uint64_t usec)
{
	time_t sec = (time_t)(usec / 1000000);
	struct tm tm;

	if (!usec || !localtime_r(&sec, &tm) || strftime(buf, size, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, size, "-");
	return buf;
}

static void print_session_json(FILE *f, const SessionInfo *s)
{
	JsonWriter w = JSON_WRITER_INIT(f);

	json_begin_object(&w);
	json_kv_u64(&w, "id", s->id);
	json_kv_string(&w, "path", s->path);
	json_kv_u64(&w, "uid", s->uid);
	json_kv_u64(&w, "pid", s->pid);
	json_kv_string(&w, "state", s->state);
	json_kv_u64(&w, "created_usec", s->created_usec);
	json_kv_bool(&w, "write", s->write);
	json_kv_bool(&w, "page_cache", s->page_cache);
	if (s->backend)		/* absent: a daemon without Backend */
		json_kv_string(&w, "backend", s->backend);
	json_kv_u64(&w, "mirrored_bytes", s->mirrored_bytes);
	json_kv_u64(&w, "device_faults", s->device_faults);
	json_kv_u64(&w, "range_faults", s->range_faults);
	json_kv_u64(&w, "range_retries", s->range_retries);
	json_kv_u64(&w, "invalidations", s->invalidations);
	json_kv_u64(&w, "bytes_read", s->bytes_read);
	json_kv_u64(&w, "bytes_written", s->bytes_written);
	if (session_dma(s)) {
		json_kv_u64(&w, "dma_transfers", s->dma_transfers);
		json_kv_u64(&w, "dma_mappings", s->dma_mappings);
	}
	json_key(&w, "files");
	json_begin_array(&w);
	for (size_t i = 0; i < s->n_files; i++) {
		json_begin_object(&w);
		json_kv_string(&w, "path", s->files[i].path);
		json_kv_u64(&w, "offset", s->files[i].offset);
		json_kv_u64(&w, "length", s->files[i].length);
		json_kv_bool(&w, "write", s->files[i].write);
		json_end_object(&w);
	}
	json_end_array(&w);
	json_key(&w, "mirrors");
	json_begin_array(&w);
	for (size_t i = 0; i < s->n_mirrors; i++)
		json_mirror(&w, s->id, &s->mirrors[i]);
	json_end_array(&w);
	json_end_object(&w);
	json_finish(&w);
}

void print_session(FILE *f, const SessionInfo *s, bool json)
{
	char tbuf[64], b[FORMAT_BYTES_MAX];

	if (json) {
		print_session_json(f, s);
		return;
	}
	fprintf(f, "Session %" PRIu64 " (%s)\n", s->id, str_or_dash(s->path));
	fprintf(f, "          UID: %" PRIu32 "\n", s->uid);
	fprintf(f, "          PID: %" PRIu32 "\n", s->pid);
	fprintf(f, "        State: %s\n", str_or_dash(s->state));
	fprintf(f, "      Created: %s\n", format_usec(tbuf, sizeof(tbuf), s->created_usec));
	fprintf(f, "        Write: %s\n", yes_no(s->write));
	fprintf(f, "    PageCache: %s\n", yes_no(s->page_cache));
	fprintf(f, "      Backend: %s\n", str_or_dash(s->backend));
	fprintf(f, "     Mirrored: %s (%" PRIu64 " bytes)\n",
		format_bytes(b, sizeof(b), s->mirrored_bytes), s->mirrored_bytes);
	fprintf(f, "Device faults: %" PRIu64 "\n", s->device_faults);
	fprintf(f, " Range faults: %" PRIu64 " (%" PRIu64 " retries)\n", s->range_faults,
		s->range_retries);
	fprintf(f, "Invalidations: %" PRIu64 "\n", s->invalidations);
	fprintf(f, "   Bytes read: %" PRIu64 "\n", s->bytes_read);
	fprintf(f, "Bytes written: %" PRIu64 "\n", s->bytes_written);
	if (session_dma(s)) {
		fprintf(f, "DMA transfers: %" PRIu64 "\n", s->dma_transfers);
		fprintf(f, " DMA mappings: %" PRIu64 "\n", s->dma_mappings);
	}
	fprintf(f, "        Files:%s\n", s->n_files ? "" : " none");
	for (size_t i = 0; i < s->n_files; i++) {
		char *p = s->files[i].path;

		fprintf(f, "               ");
		for (; p && *p; p++)	/* one line per file, whatever its name */
			fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, f);
		fprintf(f, " [%" PRIu64 ", +%s)%s\n", s->files[i].offset,
			format_bytes(b, sizeof(b), s->files[i].length),
			s->files[i].write ? " rw" : " ro");
	}
	fprintf(f, "      Mirrors:%s\n", s->n_mirrors ? "" : " none");
	if (s->n_mirrors) {
		Table t = TABLE_INIT(mirror_cols, ARRAY_SIZE(mirror_cols));
		int r = 0;

		for (size_t i = 0; i < s->n_mirrors && r >= 0; i++)
			r = table_add_mirror(&t, s->id, &s->mirrors[i]);
		if (r >= 0)
			table_print(&t, f, true);
		table_done(&t);
	}
	fflush(f);
}
