/* json.h - a small streaming JSON writer for daxmirrorctl --json: one
 * compact document per call site, strings escaped (control characters,
 * quotes, backslashes; invalid UTF-8 becomes U+FFFD so the output always
 * parses). */
#ifndef DAXMIRRORCTL_JSON_H
#define DAXMIRRORCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct JsonWriter {
	FILE *f;
	unsigned depth;
	bool need_comma[JSON_MAX_DEPTH];	/* per level: something was written */
	bool after_key;				/* a key was written, its value is next */
} JsonWriter;

#define JSON_WRITER_INIT(_f) ((JsonWriter){ .f = (_f) })

/* Writes @s as a JSON string (with quotes) to @f. */
void json_write_string(FILE *f, const char *s);

void json_begin_object(JsonWriter *w);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w);
void json_end_array(JsonWriter *w);
void json_key(JsonWriter *w, const char *key);
void json_string(JsonWriter *w, const char *s);	/* NULL writes null */
void json_u64(JsonWriter *w, uint64_t v);
void json_i64(JsonWriter *w, int64_t v);
void json_bool(JsonWriter *w, bool v);
void json_null(JsonWriter *w);

/* Key and value in one. */
void json_kv_string(JsonWriter *w, const char *key, const char *s);
void json_kv_u64(JsonWriter *w, const char *key, uint64_t v);
void json_kv_bool(JsonWriter *w, const char *key, bool v);

/* Ends the document with a newline (call at depth 0). */
void json_finish(JsonWriter *w);

#endif
