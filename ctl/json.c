/* json.c - the JSON writer of daxmirrorctl: escaping and the comma and
 * nesting bookkeeping (see json.h). */
#include <inttypes.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at @s (1..4), 0 if invalid. No
 * overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void json_write_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		size_t n;

		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fprintf(f, "\\u%04x", *p);
				break;
			}
			n = utf8_len(p);
			if (n == 0) {
				fputs("\\ufffd", f);
				break;
			}
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		p++;
	}
	fputc('"', f);
}

/* Before any value: the comma after a previous sibling. */
static void before_value(JsonWriter *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		fputc(',', w->f);
	w->need_comma[w->depth] = true;
}

static void open_level(JsonWriter *w, char c)
{
	before_value(w);
	fputc(c, w->f);
	if (w->depth + 1 < JSON_MAX_DEPTH)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_level(JsonWriter *w, char c)
{
	fputc(c, w->f);
	if (w->depth > 0)
		w->depth--;
}

void json_begin_object(JsonWriter *w)
{
	open_level(w, '{');
}

void json_end_object(JsonWriter *w)
{
	close_level(w, '}');
}

void json_begin_array(JsonWriter *w)
{
	open_level(w, '[');
}

void json_end_array(JsonWriter *w)
{
	close_level(w, ']');
}

void json_key(JsonWriter *w, const char *key)
{
	before_value(w);
	json_write_string(w->f, key);
	fputc(':', w->f);
	w->after_key = true;
}

void json_string(JsonWriter *w, const char *s)
{
	if (!s) {
		json_null(w);
		return;
	}
	before_value(w);
	json_write_string(w->f, s);
}

void json_u64(JsonWriter *w, uint64_t v)
{
	before_value(w);
	fprintf(w->f, "%" PRIu64, v);
}

void json_i64(JsonWriter *w, int64_t v)
{
	before_value(w);
	fprintf(w->f, "%" PRId64, v);
}

void json_bool(JsonWriter *w, bool v)
{
	before_value(w);
	fputs(v ? "true" : "false", w->f);
}

void json_null(JsonWriter *w)
{
	before_value(w);
	fputs("null", w->f);
}

void json_kv_string(JsonWriter *w, const char *key, const char *s)
{
	json_key(w, key);
	json_string(w, s);
}

void json_kv_u64(JsonWriter *w, const char *key, uint64_t v)
{
	json_key(w, key);
	json_u64(w, v);
}

void json_kv_bool(JsonWriter *w, const char *key, bool v)
{
	json_key(w, key);
	json_bool(w, v);
}

void json_finish(JsonWriter *w)
{
	fputc('\n', w->f);
	fflush(w->f);
	w->need_comma[0] = false;
}
