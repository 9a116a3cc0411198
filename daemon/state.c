/* state.c - the session state record kept in systemd's fd store: the
 * serializer, the strict parser, and the fd-store names. No I/O. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "util.h"

/*
 * The format, one field a line in this order, every line ended by '\n':
 *
 *   daxmirrord-session-state 2
 *   id 42
 *   uid 65534
 *   pid 1234
 *   owner :1.56
 *   created 1732540000000000
 *   write 1
 *   pagecache 0
 *   anonymous 0
 *   max-mirrors 64
 *   max-bytes 68719476736
 *   attached 8388608
 *   file 0 8388608 w 66305 12 3 /mnt/ext4dax/data
 *        (zero or more: offset, length, r or w, st_dev, st_ino, the
 *        range's Grant id on the bus, path)
 *   end
 *
 * Version 1 (written before DetachFile existed) is read too: its file
 * lines have no st_dev, st_ino and grant, and those ranges cannot be
 * detached.
 *
 * A path is the rest of its line with '\\' written as "\\\\" and bytes
 * below 0x20 and 0x7f as "\xHH", so any path fits on one line.
 */

void session_record_done(SessionRecord *r)
{
	for (size_t i = 0; i < r->n_files; i++)
		free(r->files[i].path);
	free(r->files);
	free(r->owner);
	*r = (SessionRecord){ 0 };
}

static bool owner_valid(const char *s, size_t len)
{
	if (len < 2 || len > 255 || s[0] != ':')
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool options_valid(const SessionOptions *o)
{
	return o->max_mirrors >= 1 && o->max_mirrors <= DAXMIRROR_MAX_MIRRORS_LIMIT &&
	       o->max_bytes >= DM_PAGE_SIZE;
}

static bool file_valid(const SessionFile *f)
{
	return f->path && f->path[0] && f->length && f->offset % DM_PAGE_SIZE == 0 &&
	       f->length % DM_PAGE_SIZE == 0 && f->offset <= UINT64_MAX - f->length;
}

/* --- serializer ---------------------------------------------------- */

typedef struct Buf {
	char *p;
	size_t len, cap;
	bool oom;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void buf_printf(Buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = true;	/* only short fields go through here */
		return;
	}
	buf_add(b, tmp, (size_t)n);
}

static void buf_add_path(Buf *b, const char *path)
{
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if (*c == '\\') {
			buf_add(b, "\\\\", 2);
		} else if (*c < 0x20 || *c == 0x7f) {
			char esc[5];

			snprintf(esc, sizeof(esc), "\\x%02x", *c);
			buf_add(b, esc, 4);
		} else {
			buf_add(b, (const char *)c, 1);
		}
	}
}

int session_record_format(const SessionRecord *r, char **text, size_t *size)
{
	Buf b = { 0 };
	uint64_t sum = 0;

	if (!r->owner || !owner_valid(r->owner, strlen(r->owner)) || !r->id ||
	    r->n_files > STATE_MAX_FILES || !options_valid(&r->options) ||
	    r->uid == (uid_t)-1 || r->open_pid < 0)
		return -EINVAL;
	for (size_t i = 0; i < r->n_files; i++) {
		if (!file_valid(&r->files[i]) || sum > UINT64_MAX - r->files[i].length)
			return -EINVAL;
		sum += r->files[i].length;
	}
	if (sum != r->attached_bytes)
		return -EINVAL;

	buf_printf(&b, STATE_MAGIC " %d\n", STATE_VERSION);
	buf_printf(&b, "id %" PRIu64 "\n", r->id);
	buf_printf(&b, "uid %u\n", (unsigned)r->uid);
	buf_printf(&b, "pid %d\n", (int)r->open_pid);
	buf_add(&b, "owner ", 6);
	buf_add(&b, r->owner, strlen(r->owner));
	buf_add(&b, "\n", 1);
	buf_printf(&b, "created %" PRIu64 "\n", r->created_usec);
	buf_printf(&b, "write %d\n", (int)r->options.write);
	buf_printf(&b, "pagecache %d\n", (int)r->options.pagecache);
	buf_printf(&b, "anonymous %d\n", (int)r->options.anonymous);
	buf_printf(&b, "max-mirrors %u\n", r->options.max_mirrors);
	buf_printf(&b, "max-bytes %" PRIu64 "\n", r->options.max_bytes);
	buf_printf(&b, "attached %" PRIu64 "\n", r->attached_bytes);
	for (size_t i = 0; i < r->n_files; i++) {
		const SessionFile *f = &r->files[i];

		buf_printf(&b, "file %" PRIu64 " %" PRIu64 " %c %" PRIu64 " %" PRIu64 " %" PRIu64 " ",
			   f->offset, f->length, f->write ? 'w' : 'r', f->dev, f->ino, f->grant);
		buf_add_path(&b, f->path);
		buf_add(&b, "\n", 1);
	}
	buf_add(&b, "end\n", 4);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*text = b.p;
	*size = b.len;
	return 0;
}

/* --- parser -------------------------------------------------------- */

typedef struct Cursor {
	const char *p, *end;
	const char *line;	/* current line, without its '\n' */
	size_t len;
} Cursor;

/* The next line; false at the end or if the text has no final '\n'. */
static bool next_line(Cursor *c)
{
	const char *nl;

	if (c->p >= c->end)
		return false;
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	if (!nl)
		return false;
	c->line = c->p;
	c->len = (size_t)(nl - c->p);
	c->p = nl + 1;
	return memchr(c->line, '\0', c->len) == NULL;
}

/* Canonical decimal: "0" or no leading zero, no sign, no overflow. */
static bool parse_u64_exact(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (s[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* "KEY VALUE" with exactly this key: the value in *@v, *@vlen. */
static bool field(Cursor *c, const char *key, const char **v, size_t *vlen)
{
	size_t k = strlen(key);

	if (!next_line(c) || c->len <= k + 1 || memcmp(c->line, key, k) != 0 ||
	    c->line[k] != ' ')
		return false;
	*v = c->line + k + 1;
	*vlen = c->len - k - 1;
	return true;
}

static bool field_u64(Cursor *c, const char *key, uint64_t max, uint64_t *out)
{
	const char *v;
	size_t vlen;

	return field(c, key, &v, &vlen) && parse_u64_exact(v, vlen, out) && *out <= max;
}

static bool field_bool(Cursor *c, const char *key, bool *out)
{
	uint64_t v;

	if (!field_u64(c, key, 1, &v))
		return false;
	*out = v;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Unescapes @len bytes of @s into a malloc()ed string: -EBADMSG, -ENOMEM. */
static int parse_path(const char *s, size_t len, char **out)
{
	char *p = malloc(len + 1), *q = p;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			goto bad;	/* must have been escaped */
		if (ch != '\\') {
			*q++ = (char)ch;
			continue;
		}
		if (i + 1 < len && s[i + 1] == '\\') {
			*q++ = '\\';
			i++;
		} else if (i + 3 < len && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
			   hexval(s[i + 3]) >= 0) {
			int x = hexval(s[i + 2]) * 16 + hexval(s[i + 3]);

			/* Only what the serializer escapes (canonical form). */
			if (x == 0 || (x >= 0x20 && x != 0x7f))
				goto bad;
			*q++ = (char)x;
			i += 3;
		} else {
			goto bad;
		}
	}
	*q = '\0';
	if (q == p)
		goto bad;
	*out = p;
	return 0;
bad:
	free(p);
	return -EBADMSG;
}

/* "OFFSET LENGTH r|w DEV INO GRANT PATH" (version 1: no DEV INO GRANT) */
static int parse_file(const char *v, size_t vlen, int version, SessionFile *f)
{
	const char *end = v + vlen, *sp;

	sp = memchr(v, ' ', vlen);
	if (!sp || !parse_u64_exact(v, (size_t)(sp - v), &f->offset))
		return -EBADMSG;
	v = sp + 1;
	sp = v < end ? memchr(v, ' ', (size_t)(end - v)) : NULL;
	if (!sp || !parse_u64_exact(v, (size_t)(sp - v), &f->length))
		return -EBADMSG;
	v = sp + 1;
	if (end - v < 3 || (v[0] != 'r' && v[0] != 'w') || v[1] != ' ')
		return -EBADMSG;
	f->write = v[0] == 'w';
	v += 2;
	if (version >= 2) {
		sp = memchr(v, ' ', (size_t)(end - v));
		if (!sp || !parse_u64_exact(v, (size_t)(sp - v), &f->dev))
			return -EBADMSG;
		v = sp + 1;
		sp = v < end ? memchr(v, ' ', (size_t)(end - v)) : NULL;
		if (!sp || !parse_u64_exact(v, (size_t)(sp - v), &f->ino))
			return -EBADMSG;
		v = sp + 1;
		sp = v < end ? memchr(v, ' ', (size_t)(end - v)) : NULL;
		if (!sp || !parse_u64_exact(v, (size_t)(sp - v), &f->grant) || !f->grant)
			return -EBADMSG;
		v = sp + 1;
	}
	return parse_path(v, (size_t)(end - v), &f->path);
}

int session_record_parse(SessionRecord *out, const char *text, size_t size)
{
	Cursor c = { .p = text, .end = text + size };
	SessionRecord r = { 0 };
	const char *v;
	size_t vlen;
	uint64_t x, sum = 0;
	int ret = -EBADMSG, version;

	*out = (SessionRecord){ 0 };
	if (size > STATE_MAX_SIZE)
		return -EBADMSG;
	if (!next_line(&c) || c.len != strlen(STATE_MAGIC " 1") ||
	    memcmp(c.line, STATE_MAGIC " ", strlen(STATE_MAGIC " ")) != 0 ||
	    (c.line[c.len - 1] != '1' && c.line[c.len - 1] != '2'))
		return -EBADMSG;
	version = c.line[c.len - 1] - '0';
	if (!field_u64(&c, "id", UINT64_MAX, &r.id) || !r.id)
		goto fail;
	if (!field_u64(&c, "uid", UINT32_MAX - 1, &x))
		goto fail;
	r.uid = (uid_t)x;
	if (!field_u64(&c, "pid", INT32_MAX, &x))
		goto fail;
	r.open_pid = (pid_t)x;
	if (!field(&c, "owner", &v, &vlen) || !owner_valid(v, vlen))
		goto fail;
	r.owner = strndup(v, vlen);
	if (!r.owner) {
		ret = -ENOMEM;
		goto fail;
	}
	if (!field_u64(&c, "created", UINT64_MAX, &r.created_usec) ||
	    !field_bool(&c, "write", &r.options.write) ||
	    !field_bool(&c, "pagecache", &r.options.pagecache) ||
	    !field_bool(&c, "anonymous", &r.options.anonymous) ||
	    !field_u64(&c, "max-mirrors", UINT32_MAX, &x))
		goto fail;
	r.options.max_mirrors = (uint32_t)x;
	if (!field_u64(&c, "max-bytes", UINT64_MAX, &r.options.max_bytes) ||
	    !options_valid(&r.options) ||
	    !field_u64(&c, "attached", UINT64_MAX, &r.attached_bytes))
		goto fail;

	for (;;) {
		SessionFile f = { 0 }, *files;
		int k;

		if (!next_line(&c))
			goto fail;
		if (c.len == 3 && memcmp(c.line, "end", 3) == 0)
			break;
		if (c.len < 5 || memcmp(c.line, "file ", 5) != 0 || r.n_files == STATE_MAX_FILES)
			goto fail;
		k = parse_file(c.line + 5, c.len - 5, version, &f);
		if (k < 0) {
			ret = k;
			goto fail;
		}
		if (!file_valid(&f) || sum > UINT64_MAX - f.length) {
			free(f.path);
			goto fail;
		}
		files = reallocarray(r.files, r.n_files + 1, sizeof(*files));
		if (!files) {
			free(f.path);
			ret = -ENOMEM;
			goto fail;
		}
		r.files = files;
		r.files[r.n_files++] = f;
		sum += f.length;
	}
	if (c.p != c.end || sum != r.attached_bytes)
		goto fail;
	*out = r;
	return 0;
fail:
	session_record_done(&r);
	return ret;
}

/* --- names --------------------------------------------------------- */

void state_name_session(char *buf, uint64_t id)
{
	snprintf(buf, STATE_NAME_MAX, "session-%" PRIu64, id);
}

void state_name_record(char *buf, uint64_t id, uint64_t gen)
{
	snprintf(buf, STATE_NAME_MAX, "state-%" PRIu64 "-%" PRIu64, id, gen);
}

StateNameKind state_name_parse(const char *name, uint64_t *id, uint64_t *gen)
{
	const char *dash;

	*id = *gen = 0;
	if (strncmp(name, "session-", 8) == 0) {
		if (!parse_u64_exact(name + 8, strlen(name + 8), id) || !*id)
			return STATE_NAME_INVALID;
		return STATE_NAME_SESSION;
	}
	if (strncmp(name, "state-", 6) == 0) {
		name += 6;
		dash = strchr(name, '-');
		if (!dash || !parse_u64_exact(name, (size_t)(dash - name), id) || !*id ||
		    !parse_u64_exact(dash + 1, strlen(dash + 1), gen) || !*gen)
			return STATE_NAME_INVALID;
		return STATE_NAME_RECORD;
	}
	return STATE_NAME_INVALID;
}
