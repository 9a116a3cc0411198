/* config.c - the parser of daxmirrord.conf, a systemd-style INI file:
 * [Section] headers, Key=Value assignments, '#' and ';' comment lines. An
 * unknown section or key is a warning; a bad value is an error naming
 * FILE:LINE. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "parse.h"
#include "util.h"

void config_init_defaults(Config *c)
{
	*c = (Config){
		.max_sessions_per_user = CONFIG_DEFAULT_MAX_SESSIONS_PER_USER,
		.max_bytes_per_user = CONFIG_DEFAULT_MAX_BYTES_PER_USER,
		.max_mirrors_per_session = CONFIG_DEFAULT_MAX_MIRRORS_PER_SESSION,
		.max_files_per_session = CONFIG_DEFAULT_MAX_FILES_PER_SESSION,
		.allow_pagecache = CONFIG_DEFAULT_ALLOW_PAGECACHE,
		.allow_anonymous = CONFIG_DEFAULT_ALLOW_ANONYMOUS,
		.max_vetting_per_user = CONFIG_DEFAULT_MAX_VETTING_PER_USER,
		.max_vetting = CONFIG_DEFAULT_MAX_VETTING,
		.max_vetting_queued_per_user = CONFIG_DEFAULT_MAX_VETTING_QUEUED_PER_USER,
		.vet_timeout_sec = CONFIG_DEFAULT_VET_TIMEOUT_SEC,
		.max_closing_per_user = CONFIG_DEFAULT_MAX_CLOSING_PER_USER,
		.max_closing = CONFIG_DEFAULT_MAX_CLOSING,
		.max_client_fds = CONFIG_DEFAULT_MAX_CLIENT_FDS,
	};
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int config_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	int r;

	r = dxm_parse_u64(s, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

enum section { SECTION_NONE, SECTION_LIMITS, SECTION_POLICY, SECTION_UNKNOWN };

typedef struct Parser {
	const char *name;
	unsigned line;
	config_warn_fn warn;
	void *userdata;
	ConfigError *err;
} Parser;

__attribute__((format(printf, 2, 3)))
static void parser_warn(Parser *p, const char *fmt, ...)
{
	char msg[512];
	int n;
	va_list ap;

	if (!p->warn)
		return;
	n = snprintf(msg, sizeof(msg), "%s:%u: ", p->name, p->line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	p->warn(p->userdata, p->line, msg);
}

__attribute__((format(printf, 2, 3)))
static int parser_error(Parser *p, const char *fmt, ...)
{
	int n;
	va_list ap;

	p->err->line = p->line;
	n = snprintf(p->err->message, sizeof(p->err->message), "%s:%u: ",
		     p->name, p->line);
	va_start(ap, fmt);
	vsnprintf(p->err->message + n, sizeof(p->err->message) - (size_t)n,
		  fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static char *strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\f' || e[-1] == '\v'))
		*--e = '\0';
	return s;
}

/* The [Limits] keys that are numbers in a range. */
typedef struct U32Key {
	const char *key;
	size_t offset;		/* of the uint32_t in Config */
	uint32_t min, max;
} U32Key;

static const U32Key limits_u32[] = {
	{ "MaxSessionsPerUser", offsetof(Config, max_sessions_per_user), 0, UINT32_MAX },
	{ "MaxMirrorsPerSession", offsetof(Config, max_mirrors_per_session), 1, 4096 },
	{ "MaxFilesPerSession", offsetof(Config, max_files_per_session), 1,
	  CONFIG_MAX_FILES_LIMIT },
	{ "MaxVettingPerUser", offsetof(Config, max_vetting_per_user), 1,
	  CONFIG_MAX_VETTING_LIMIT },
	{ "MaxVetting", offsetof(Config, max_vetting), 1, CONFIG_MAX_VETTING_LIMIT },
	{ "MaxVettingQueuedPerUser", offsetof(Config, max_vetting_queued_per_user), 0,
	  CONFIG_MAX_VETTING_QUEUED_LIMIT },
	{ "VetTimeoutSec", offsetof(Config, vet_timeout_sec), 1, CONFIG_MAX_VET_TIMEOUT_SEC },
	{ "MaxClosingPerUser", offsetof(Config, max_closing_per_user), 1,
	  CONFIG_MAX_CLOSING_LIMIT },
	{ "MaxClosing", offsetof(Config, max_closing), 1, CONFIG_MAX_CLOSING_LIMIT },
	{ "MaxClientFds", offsetof(Config, max_client_fds), 16, CONFIG_MAX_CLIENT_FDS_LIMIT },
};

/* AllowFileSystems: names or fnmatch patterns of file system types, e.g.
 * "fuse.sshfs nfs4 fuse.*", separated by spaces. 0 or -EINVAL. */
static int parse_fs_list(const char *value, char *out)
{
	if (strlen(value) >= CONFIG_FS_LIST_SIZE)
		return -EINVAL;
	for (const char *c = value; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(" \t._-*?[]", *c))
			return -EINVAL;
	/* A longer pattern could never match (types are cut at 63): an
	 * error, not an entry silently ignored. */
	for (const char *c = value; *c; ) {
		size_t n;

		c += strspn(c, " \t");
		n = strcspn(c, " \t");
		if (n > CONFIG_FS_PATTERN_MAX)
			return -E2BIG;
		c += n;
	}
	strcpy(out, value);
	return 0;
}

static int assign(Parser *p, Config *c, enum section sec, const char *key,
		  const char *value)
{
	int r;

	if (sec == SECTION_LIMITS) {
		for (size_t i = 0; i < ARRAY_SIZE(limits_u32); i++) {
			const U32Key *k = &limits_u32[i];
			uint32_t v;

			if (!streq(key, k->key))
				continue;
			r = config_parse_u32(value, &v);
			if (r < 0 || v < k->min || v > k->max)
				return parser_error(p, "%s: '%s' is not a number from %u to %u",
						    key, value, k->min, k->max);
			*(uint32_t *)((char *)c + k->offset) = v;
			return 0;
		}
		if (streq(key, "MaxBytesPerUser")) {
			r = dxm_parse_size(value, &c->max_bytes_per_user);
			if (r < 0)
				return parser_error(p, "MaxBytesPerUser: '%s' is not a size (bytes, or a number with K, M, G or T; %s)",
						    value, r == -ERANGE ? "too large" : "invalid");
			return 0;
		}
	} else if (sec == SECTION_POLICY) {
		bool *b = NULL;

		if (streq(key, "AllowPageCache"))
			b = &c->allow_pagecache;
		else if (streq(key, "AllowAnonymous"))
			b = &c->allow_anonymous;
		if (b) {
			if (config_parse_bool(value, b) < 0)
				return parser_error(p, "%s: '%s' is not a boolean (yes, no, true, false, 1, 0)",
						    key, value);
			return 0;
		}
		if (streq(key, "AllowFileSystems")) {
			r = parse_fs_list(value, c->allow_filesystems);
			if (r == -E2BIG)
				return parser_error(p, "AllowFileSystems: '%s' has a pattern longer than %d characters, which no file system type can match",
						    value, CONFIG_FS_PATTERN_MAX);
			if (r < 0)
				return parser_error(p, "AllowFileSystems: '%s' is not a list of file system types (letters, digits, '.', '_', '-' and the patterns '*', '?', '[]', separated by spaces; at most %d characters)",
						    value, CONFIG_FS_LIST_SIZE - 1);
			return 0;
		}
	}
	parser_warn(p, "unknown key '%s' in section [%s], ignored", key,
		    sec == SECTION_LIMITS ? "Limits" : "Policy");
	return 0;
}

int config_parse(Config *out, const char *name, const char *text, size_t size,
		 config_warn_fn warn, void *userdata, ConfigError *err)
{
	Parser p = { .name = name, .warn = warn, .userdata = userdata, .err = err };
	enum section sec = SECTION_NONE;
	_cleanup_(freep) char *buf = NULL;
	char *line, *next;
	Config c;
	int r;

	config_init_defaults(&c);
	err->line = 0;
	err->message[0] = '\0';

	if (memchr(text, '\0', size)) {
		p.line = 1;
		for (const char *q = text; *q; q++)
			p.line += *q == '\n';
		return parser_error(&p, "NUL byte in file");
	}
	buf = malloc(size + 1);
	if (!buf) {
		snprintf(err->message, sizeof(err->message), "%s: out of memory", name);
		return -ENOMEM;
	}
	memcpy(buf, text, size);
	buf[size] = '\0';

	for (line = buf; line; line = next) {
		char *s, *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p.line++;
		s = strip(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			size_t len = strlen(s);

			if (s[len - 1] != ']')
				return parser_error(&p, "section header without closing ']': %s", s);
			s[len - 1] = '\0';
			s++;
			if (streq(s, "Limits")) {
				sec = SECTION_LIMITS;
			} else if (streq(s, "Policy")) {
				sec = SECTION_POLICY;
			} else {
				sec = SECTION_UNKNOWN;
				parser_warn(&p, "unknown section [%s], ignored", s);
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq)
			return parser_error(&p, "expected Key=Value or [Section], got '%s'", s);
		*eq = '\0';
		{
			char *key = strip(s), *value = strip(eq + 1);

			if (*key == '\0')
				return parser_error(&p, "missing key before '='");
			if (sec == SECTION_UNKNOWN)
				continue;
			if (sec == SECTION_NONE) {
				parser_warn(&p, "assignment '%s' outside of a section, ignored", key);
				continue;
			}
			if (*value == '\0')
				return parser_error(&p, "%s: empty value", key);
			r = assign(&p, &c, sec, key, value);
			if (r < 0)
				return r;
		}
	}
	*out = c;
	return 0;
}

int config_load(Config *out, const char *path, config_warn_fn warn,
		void *userdata, ConfigError *err)
{
	_cleanup_(closep) int fd = -1;
	_cleanup_(freep) char *buf = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	err->line = 0;
	err->message[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			config_init_defaults(out);
			return 1;
		}
		r = -errno;
		snprintf(err->message, sizeof(err->message), "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err->message, sizeof(err->message), "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err->message, sizeof(err->message), "%s: not a regular file", path);
		return -EINVAL;
	}
	buf = malloc(CONFIG_MAX_FILE_SIZE + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_MAX_FILE_SIZE + 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			snprintf(err->message, sizeof(err->message), "%s: %s", path, strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX_FILE_SIZE) {
			snprintf(err->message, sizeof(err->message), "%s: larger than %d bytes",
				 path, CONFIG_MAX_FILE_SIZE);
			return -EFBIG;
		}
	}
	r = config_parse(out, path, buf, len, warn, userdata, err);
	return r < 0 ? r : 0;
}
