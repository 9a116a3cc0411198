/* test-format.c - unit tests of daxmirrorctl's output: JSON escaping and
 * nesting, size formatting (parsing: shared/test-parse.c), the table printer, and the
 * session/mirror/status printers over a hand-made model (show-session of
 * a DMA session, a CPU one and one from a daemon without Backend). No bus. */
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "model.h"
#include "table.h"
#include "tap.h"
#include "util.h"

/* Runs @fn into a memory stream and returns what it wrote (malloc()ed). */
#define CAPTURE(out, stmt) do {						\
		size_t _len = 0;					\
		FILE *f = open_memstream(&(out), &_len);		\
		if (!f) { (out) = NULL; break; }			\
		stmt;							\
		fclose(f);						\
	} while (0)

static void check_escape(const char *in, const char *want, const char *what)
{
	char *out = NULL;

	CAPTURE(out, json_write_string(f, in));
	tap_ok(out && strcmp(out, want) == 0, "escape %s: %s", what, out ? out : "(null)");
	free(out);
}

static void test_json(void)
{
	char *out = NULL;

	check_escape("plain", "\"plain\"", "plain");
	check_escape("", "\"\"", "empty");
	check_escape("a\"b\\c", "\"a\\\"b\\\\c\"", "quote and backslash");
	check_escape("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"", "short escapes");
	check_escape("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "control characters");
	check_escape("/mnt/caf\xc3\xa9/\xe2\x82\xac\xf0\x9f\x98\x80", "\"/mnt/caf\xc3\xa9/\xe2\x82\xac\xf0\x9f\x98\x80\"",
		     "valid UTF-8 passes");
	check_escape("a\xff" "b", "\"a\\ufffdb\"", "invalid byte");
	check_escape("\xc0\xaf", "\"\\ufffd\\ufffd\"", "overlong");
	check_escape("x\xe2\x82", "\"x\\ufffd\\ufffd\"", "truncated sequence");
	check_escape("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "surrogate");
	check_escape("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "above U+10FFFF");

	CAPTURE(out, {
		JsonWriter w = JSON_WRITER_INIT(f);

		json_begin_object(&w);
		json_kv_string(&w, "s", "x");
		json_kv_u64(&w, "n", UINT64_MAX);
		json_key(&w, "a");
		json_begin_array(&w);
		json_u64(&w, 1);
		json_begin_object(&w);
		json_end_object(&w);
		json_begin_array(&w);
		json_end_array(&w);
		json_i64(&w, -5);
		json_null(&w);
		json_string(&w, NULL);
		json_end_array(&w);
		json_kv_bool(&w, "t", true);
		json_kv_bool(&w, "f", false);
		json_end_object(&w);
		json_finish(&w);
	});
	tap_ok(out && strcmp(out, "{\"s\":\"x\",\"n\":18446744073709551615,\"a\":[1,{},[],-5,null,null],"
			    "\"t\":true,\"f\":false}\n") == 0, "nesting and commas: %s", out);
	free(out);
}

static void test_sizes(void)
{
	static const struct {
		uint64_t v;
		const char *want;
	} fmt[] = {
		{ 0, "0B" }, { 1023, "1023B" }, { 1024, "1K" }, { 1536, "1.5K" },
		{ 4096, "4K" }, { 2 << 20, "2M" }, { 16ULL << 20, "16M" },
		{ (2ULL << 20) - 1, "1.9M" }, { 1048575, "1023K" }, { 64ULL << 30, "64G" },
		{ 3ULL << 40, "3T" }, { UINT64_MAX, "15.9E" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(fmt); i++) {
		char buf[FORMAT_BYTES_MAX];

		format_bytes(buf, sizeof(buf), fmt[i].v);
		tap_ok(strcmp(buf, fmt[i].want) == 0, "format_bytes(%llu) = %s (want %s)",
		       (unsigned long long)fmt[i].v, buf, fmt[i].want);
	}
}

static void test_table(void)
{
	static const TableColumn cols[] = { { "ID", true }, { "NAME", false }, { "N", true } };
	Table tb = TABLE_INIT(cols, ARRAY_SIZE(cols));
	char *out = NULL;

	table_add_u64(&tb, 1);
	table_add(&tb, "a");
	table_add_u64(&tb, 100);
	table_add_u64(&tb, 12345);
	table_add(&tb, "line\nbreak");
	table_add(&tb, NULL);
	tap_ok(table_rows(&tb) == 2, "two rows");
	CAPTURE(out, table_print(&tb, f, true));
	tap_ok(out && strcmp(out,
		"   ID  NAME          N\n"
		"    1  a           100\n"
		"12345  line?break    -\n") == 0, "table with legend, aligned");
	if (out)
		tap_diag("%s", out);
	free(out);
	CAPTURE(out, table_print(&tb, f, false));
	tap_ok(out && strcmp(out,
		"    1  a           100\n"
		"12345  line?break    -\n") == 0, "table without legend");
	free(out);
	table_done(&tb);

	tb = TABLE_INIT(cols, 2);
	table_add(&tb, "7");
	table_add(&tb, "last");
	CAPTURE(out, table_print(&tb, f, true));
	tap_ok(out && strcmp(out, "ID  NAME\n 7  last\n") == 0,
	       "no trailing blanks after the last column");
	free(out);
	table_done(&tb);
}

/* show-session of @s (JSON if @json) is @exact, or contains @has and
 * @has2 and not @lacks (each if not NULL). */
static void check_show(const SessionInfo *s, bool json, const char *exact, const char *has,
		       const char *has2, const char *lacks, const char *what)
{
	char *out = NULL;

	CAPTURE(out, print_session(f, s, json));
	if (!tap_ok(out && (!exact || strcmp(out, exact) == 0) && (!has || strstr(out, has)) &&
		    (!has2 || strstr(out, has2)) && (!lacks || !strstr(out, lacks)), "%s", what))
		tap_diag("%s", out ? out : "(no output)");
	free(out);
}

static void test_printers(void)
{
	SessionMirror mirrors[] = {
		{ .id = 1, .start = 0x7f0000000000, .length = 16ULL << 20, .state = "live",
		  .dax = true, .entries_4k = 0, .entries_2m = 8 },
		{ .id = 2, .start = 0x7f0001000000, .length = 8192, .state = "released",
		  .entries_4k = 2 },
	};
	SessionFile files[] = { { .path = "/mnt/\"odd\"\nname", .offset = 0,
				  .length = 16ULL << 20, .write = true } };
	SessionInfo s[] = {
		{ .path = "/org/daxmirror1/session/3", .id = 3, .uid = 65534, .pid = 42,
		  .state = "bound", .write = true, .files = files, .n_files = 1,
		  .mirrors = mirrors, .n_mirrors = 2, .mirrored_bytes = (16ULL << 20) + 8192,
		  .device_faults = 5, .backend = "dma", .dma_transfers = 12, .dma_mappings = 9 },
		{ .path = "/org/daxmirror1/session/4", .id = 4, .uid = 0, .pid = 7, .state = "new",
		  .backend = "cpu" },
	};
	/* From a daemon without Backend. */
	SessionInfo old = { .path = "/org/daxmirror1/session/5", .id = 5, .state = "bound" };
	ManagerInfo m = { .version = "0.1.0", .module_state = "loaded", .module_version = 1,
			  .session_count = 2, .mirror_count = 2,
			  .mirrored_bytes = (16ULL << 20) + 8192, .max_sessions_per_user = 16,
			  .max_bytes_per_user = 64ULL << 30, .max_mirrors_per_session = 64 };
	char *out = NULL;

	CAPTURE(out, print_sessions(f, s, 2, false, true));
	tap_ok(out && strcmp(out,
		"ID    UID  PID  STATE  MIRRORS  BYTES  4K  2M  1G\n"
		" 3  65534   42  bound        2    16M   2   8   0\n"
		" 4      0    7  new          0     0B   0   0   0\n"
		"\n2 sessions listed.\n") == 0, "list-sessions table");
	if (out)
		tap_diag("%s", out);
	free(out);
	CAPTURE(out, print_sessions(f, s, 2, false, false));
	tap_ok(out && !strstr(out, "STATE") && !strstr(out, "listed"),
	       "list-sessions --no-legend: no header, no footer");
	free(out);
	CAPTURE(out, print_sessions(f, s, 2, true, true));
	tap_ok(out && strcmp(out,
		"[{\"id\":3,\"path\":\"/org/daxmirror1/session/3\",\"uid\":65534,\"pid\":42,"
		"\"state\":\"bound\",\"mirrors\":2,\"mirrored_bytes\":16785408,\"entries_4k\":2,"
		"\"entries_2m\":8,\"entries_1g\":0},"
		"{\"id\":4,\"path\":\"/org/daxmirror1/session/4\",\"uid\":0,\"pid\":7,"
		"\"state\":\"new\",\"mirrors\":0,\"mirrored_bytes\":0,\"entries_4k\":0,"
		"\"entries_2m\":0,\"entries_1g\":0}]\n") == 0, "list-sessions --json");
	free(out);
	CAPTURE(out, print_sessions(f, s, 0, true, true));
	tap_ok(out && strcmp(out, "[]\n") == 0, "no sessions --json: []");
	free(out);

	CAPTURE(out, print_mirrors(f, s, 2, false, true));
	tap_ok(out && strcmp(out,
		"SESSION  ID  START           LENGTH  STATE     DAX  4K  2M  1G\n"
		"      3   1  0x7f0000000000     16M  live      yes   0   8   0\n"
		"      3   2  0x7f0001000000      8K  released  no    2   0   0\n"
		"\n2 mirrors listed.\n") == 0, "list-mirrors table");
	if (out)
		tap_diag("%s", out);
	free(out);
	CAPTURE(out, print_mirrors(f, s, 2, true, true));
	tap_ok(out && strcmp(out,
		"[{\"session\":3,\"id\":1,\"start\":139637976727552,\"length\":16777216,"
		"\"state\":\"live\",\"dax\":true,\"entries_4k\":0,\"entries_2m\":8,\"entries_1g\":0},"
		"{\"session\":3,\"id\":2,\"start\":139637993504768,\"length\":8192,"
		"\"state\":\"released\",\"dax\":false,\"entries_4k\":2,\"entries_2m\":0,"
		"\"entries_1g\":0}]\n") == 0, "list-mirrors --json");
	free(out);

	CAPTURE(out, print_session(f, &s[0], true));
	tap_ok(out && strstr(out, "\"files\":[{\"path\":\"/mnt/\\\"odd\\\"\\nname\",\"offset\":0,"
				"\"length\":16777216,\"write\":true}]") &&
	       strstr(out, "\"mirrors\":[{\"session\":3,\"id\":1,") &&
	       strstr(out, "\"device_faults\":5"), "show-session --json: files escaped, mirrors");
	free(out);
	CAPTURE(out, print_session(f, &s[0], false));
	tap_ok(out && strstr(out, "Session 3 (/org/daxmirror1/session/3)") &&
	       strstr(out, "/mnt/\"odd\"?name [0, +16M) rw") && strstr(out, "0x7f0001000000") &&
	       strstr(out, "State: bound"), "show-session text: a file on one line, the mirrors");
	if (out)
		tap_diag("%s", out);
	free(out);

	/* The backend: a DMA session shows its DMA counters; a CPU one has
	 * none; a daemon without the property gives "-" and no JSON key. */
	check_show(&s[0], true, NULL, "\"page_cache\":false,\"backend\":\"dma\",\"mirrored_bytes\"",
		   "\"bytes_written\":0,\"dma_transfers\":12,\"dma_mappings\":9,\"files\"", NULL,
		   "show-session --json: backend dma, its DMA counters");
	check_show(&s[0], false, NULL, "\n      Backend: dma\n",
		   "\nBytes written: 0\nDMA transfers: 12\n DMA mappings: 9\n", NULL,
		   "show-session text: Backend: dma, its DMA counters");
	check_show(&s[1], false,
		   "Session 4 (/org/daxmirror1/session/4)\n"
		   "          UID: 0\n"
		   "          PID: 7\n"
		   "        State: new\n"
		   "      Created: -\n"
		   "        Write: no\n"
		   "    PageCache: no\n"
		   "      Backend: cpu\n"
		   "     Mirrored: 0B (0 bytes)\n"
		   "Device faults: 0\n"
		   " Range faults: 0 (0 retries)\n"
		   "Invalidations: 0\n"
		   "   Bytes read: 0\n"
		   "Bytes written: 0\n"
		   "        Files: none\n"
		   "      Mirrors: none\n", NULL, NULL, NULL,
		   "show-session text: Backend: cpu, no DMA counters");
	check_show(&s[1], true,
		   "{\"id\":4,\"path\":\"/org/daxmirror1/session/4\",\"uid\":0,\"pid\":7,"
		   "\"state\":\"new\",\"created_usec\":0,\"write\":false,\"page_cache\":false,"
		   "\"backend\":\"cpu\",\"mirrored_bytes\":0,\"device_faults\":0,\"range_faults\":0,"
		   "\"range_retries\":0,\"invalidations\":0,\"bytes_read\":0,\"bytes_written\":0,"
		   "\"files\":[],\"mirrors\":[]}\n", NULL, NULL, NULL,
		   "show-session --json: backend cpu, no DMA counters");
	check_show(&old, false, NULL, "\n      Backend: -\n", NULL, "DMA",
		   "show-session text from an older daemon: Backend: -");
	check_show(&old, true, NULL, "\"page_cache\":false,\"mirrored_bytes\":0,", NULL, "backend",
		   "show-session --json from an older daemon: no backend key");

	CAPTURE(out, print_status(f, &m, false));
	tap_ok(out && strstr(out, "Module: loaded (ABI version 1)") &&
	       strstr(out, "Limits: 16 sessions and 64G per user, 64 mirrors per session"),
	       "status text");
	free(out);
	CAPTURE(out, print_status(f, &m, true));
	tap_ok(out && strcmp(out,
		"{\"version\":\"0.1.0\",\"module_state\":\"loaded\",\"module_version\":1,"
		"\"session_count\":2,\"mirror_count\":2,\"mirrored_bytes\":16785408,"
		"\"max_sessions_per_user\":16,\"max_bytes_per_user\":68719476736,"
		"\"max_mirrors_per_session\":64}\n") == 0, "status --json");
	free(out);
}

int main(void)
{
	test_json();
	test_sizes();
	test_table();
	test_printers();
	return tap_done();
}
