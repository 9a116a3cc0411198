/* test-config.c - host test of the daxmirrord.conf parser: defaults, every
 * key, size suffixes, booleans, comments and whitespace, unknown sections
 * and keys (warnings), bad values (errors with FILE:LINE). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"
#include "util.h"

typedef struct Warnings {
	unsigned n;
	unsigned last_line;
	char last[512];
} Warnings;

static void warn(void *userdata, unsigned line, const char *message)
{
	Warnings *w = userdata;

	w->n++;
	w->last_line = line;
	snprintf(w->last, sizeof(w->last), "%s", message);
}

static int parse(const char *text, Config *c, Warnings *w, ConfigError *e)
{
	memset(w, 0, sizeof(*w));
	return config_parse(c, "test.conf", text, strlen(text), warn, w, e);
}

/* A bad file: -EINVAL at @line, message contains @needle, *c unchanged. */
static void bad(const char *text, unsigned line, const char *needle)
{
	Config c = { .max_sessions_per_user = 12345 };
	ConfigError e;
	Warnings w;
	char loc[64];
	int r = parse(text, &c, &w, &e);

	snprintf(loc, sizeof(loc), "test.conf:%u: ", line);
	tap_ok(r == -EINVAL && e.line == line && strncmp(e.message, loc, strlen(loc)) == 0 &&
	       strstr(e.message, needle) && c.max_sessions_per_user == 12345,
	       "refused at line %u: %s", line, e.message);
}

/* Field by field: a struct's padding is not part of its value (a compound
 * literal assignment leaves it undefined, so memcmp() compared stack
 * garbage and failed depending on what the stack held). */
static bool config_equal(const Config *a, const Config *b)
{
	return a->max_sessions_per_user == b->max_sessions_per_user &&
	       a->max_bytes_per_user == b->max_bytes_per_user &&
	       a->max_mirrors_per_session == b->max_mirrors_per_session &&
	       a->allow_pagecache == b->allow_pagecache &&
	       a->allow_anonymous == b->allow_anonymous &&
	       a->max_vetting_per_user == b->max_vetting_per_user &&
	       a->max_vetting == b->max_vetting && a->vet_timeout_sec == b->vet_timeout_sec &&
	       a->max_vetting_queued_per_user == b->max_vetting_queued_per_user &&
	       streq(a->allow_filesystems, b->allow_filesystems);
}

int main(void)
{
	Config c, d;
	ConfigError e;
	Warnings w;
	uint32_t u;
	bool b;
	int r;

	config_init_defaults(&d);
	tap_ok(d.max_sessions_per_user == 16 && d.max_bytes_per_user == 64ULL << 30 &&
	       d.max_mirrors_per_session == 64 && d.allow_pagecache && !d.allow_anonymous,
	       "built-in defaults");

	r = parse("", &c, &w, &e);
	tap_ok(r == 0 && config_equal(&c, &d) && w.n == 0, "empty file = defaults");

	r = parse("# only comments\n; and this\n\n   \n\t# indented\n", &c, &w, &e);
	tap_ok(r == 0 && config_equal(&c, &d) && w.n == 0, "comments and blank lines");

	r = parse("[Limits]\n"
		  "MaxSessionsPerUser=3\n"
		  "  MaxBytesPerUser =  2G  \n"
		  "MaxMirrorsPerSession\t=\t4096\n"
		  "[Policy]\r\n"
		  "AllowPageCache=no\r\n"
		  "AllowAnonymous=TRUE", &c, &w, &e);
	tap_ok(r == 0 && c.max_sessions_per_user == 3 && c.max_bytes_per_user == 2ULL << 30 &&
	       c.max_mirrors_per_session == 4096 && !c.allow_pagecache && c.allow_anonymous &&
	       w.n == 0, "every key, whitespace around '=', CRLF, no final newline");

	tap_ok(d.max_vetting_per_user == 2 && d.max_vetting == 8 && d.vet_timeout_sec == 10 &&
	       d.max_vetting_queued_per_user == 256 && d.allow_filesystems[0] == '\0',
	       "vetting defaults: 2 per uid, 8 in all, 256 queued per uid, 10 s, no extra file systems");
	r = parse("[Limits]\nMaxVettingQueuedPerUser=0\n", &c, &w, &e);
	tap_ok(r == 0 && c.max_vetting_queued_per_user == 0, "MaxVettingQueuedPerUser=0: no queue");
	r = parse("[Limits]\nMaxVettingPerUser=1\nMaxVetting=64\nVetTimeoutSec=3600\n"
		  "[Policy]\nAllowFileSystems = fuse fuse.* nfs4\t9p\n", &c, &w, &e);
	tap_ok(r == 0 && c.max_vetting_per_user == 1 && c.max_vetting == 64 &&
	       c.vet_timeout_sec == 3600 && streq(c.allow_filesystems, "fuse fuse.* nfs4\t9p") &&
	       w.n == 0, "vetting keys: MaxVettingPerUser, MaxVetting, VetTimeoutSec, AllowFileSystems");

	r = parse("[Limits]\nMaxSessionsPerUser=3\nMaxSessionsPerUser=5\n", &c, &w, &e);
	tap_ok(r == 0 && c.max_sessions_per_user == 5, "the last assignment wins");

	r = parse("[Limits]\nMaxSessionsPerUser=0\nMaxBytesPerUser=0\n", &c, &w, &e);
	tap_ok(r == 0 && c.max_sessions_per_user == 0 && c.max_bytes_per_user == 0,
	       "zero limits are allowed (nobody may open sessions)");

	/* Sizes: the syntax is shared/parse.h's (test-parse), here only that the
	 * config uses it. */
	r = parse("[Limits]\nMaxBytesPerUser=2GiB\n", &c, &w, &e);
	tap_ok(r == 0 && c.max_bytes_per_user == 2ULL << 30, "MaxBytesPerUser=2GiB");
	r = parse("[Limits]\nMaxBytesPerUser=2GB\n", &c, &w, &e);
	tap_ok(r < 0, "MaxBytesPerUser=2GB is an error");

	/* Integers. */
	tap_ok(config_parse_u32("4294967295", &u) == 0 && u == UINT32_MAX, "u32: max");
	tap_ok(config_parse_u32("4294967296", &u) == -ERANGE, "u32: overflow");
	tap_ok(config_parse_u32("12a", &u) == -EINVAL, "u32: garbage");

	/* Booleans. */
	tap_ok(config_parse_bool("yes", &b) == 0 && b, "bool: yes");
	tap_ok(config_parse_bool("true", &b) == 0 && b, "bool: true");
	tap_ok(config_parse_bool("1", &b) == 0 && b, "bool: 1");
	tap_ok(config_parse_bool("no", &b) == 0 && !b, "bool: no");
	tap_ok(config_parse_bool("False", &b) == 0 && !b, "bool: False");
	tap_ok(config_parse_bool("0", &b) == 0 && !b, "bool: 0");
	tap_ok(config_parse_bool("2", &b) == -EINVAL, "bool: 2");
	tap_ok(config_parse_bool("yess", &b) == -EINVAL, "bool: yess");

	/* Warnings: ignored input. */
	r = parse("[Limits]\nMaxSessionsPerUser=2\nFoo=1\n", &c, &w, &e);
	tap_ok(r == 0 && c.max_sessions_per_user == 2 && w.n == 1 && w.last_line == 3 &&
	       strstr(w.last, "test.conf:3:") && strstr(w.last, "Foo"),
	       "unknown key: warning at its line (%s)", w.last);
	r = parse("[Other]\nMaxSessionsPerUser=bogus\nX=\n[Limits]\nMaxSessionsPerUser=4\n",
		  &c, &w, &e);
	tap_ok(r == 0 && c.max_sessions_per_user == 4 && w.n == 1 && w.last_line == 1 &&
	       strstr(w.last, "Other"),
	       "unknown section: one warning, its keys ignored unparsed (%s)", w.last);
	r = parse("MaxSessionsPerUser=9\n", &c, &w, &e);
	tap_ok(r == 0 && c.max_sessions_per_user == 16 && w.n == 1 && w.last_line == 1,
	       "assignment outside a section: warning, ignored");
	r = parse("[Policy]\nMaxSessionsPerUser=3\n", &c, &w, &e);
	tap_ok(r == 0 && c.max_sessions_per_user == 16 && w.n == 1,
	       "a key of another section: warning, ignored");
	r = config_parse(&c, "x", "[Limits]\nFoo=1\n", 15, NULL, NULL, &e);
	tap_ok(r == 0, "no warning callback");

	/* Errors, with the line. */
	bad("[Limits]\nMaxSessionsPerUser=abc\n", 2, "MaxSessionsPerUser");
	bad("[Limits]\nMaxSessionsPerUser=-1\n", 2, "MaxSessionsPerUser");
	bad("[Limits]\nMaxSessionsPerUser=4294967296\n", 2, "MaxSessionsPerUser");
	bad("# c\n\n[Limits]\nMaxBytesPerUser=12Q\n", 4, "MaxBytesPerUser");
	bad("[Limits]\nMaxBytesPerUser=99999999999T\n", 2, "too large");
	bad("[Limits]\nMaxMirrorsPerSession=0\n", 2, "MaxMirrorsPerSession");
	bad("[Limits]\nMaxMirrorsPerSession=4097\n", 2, "MaxMirrorsPerSession");
	bad("[Policy]\nAllowPageCache=maybe\n", 2, "AllowPageCache");
	bad("[Limits]\nMaxVettingPerUser=0\n", 2, "MaxVettingPerUser: '0' is not a number from 1 to 64");
	bad("[Limits]\nMaxVetting=65\n", 2, "MaxVetting");
	bad("[Limits]\nMaxVettingQueuedPerUser=4097\n", 2, "MaxVettingQueuedPerUser");
	bad("[Limits]\nVetTimeoutSec=0\n", 2, "VetTimeoutSec");
	bad("[Limits]\nVetTimeoutSec=3601\n", 2, "VetTimeoutSec");
	bad("[Policy]\nAllowFileSystems=fuse,nfs\n", 2, "AllowFileSystems");
	bad("[Policy]\nAllowFileSystems=fuse/x\n", 2, "AllowFileSystems");
	bad("[Policy]\nAllowFileSystems=nfs4 fuse.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa*\n",
	    2, "longer than 63 characters");
	bad("[Limits]\nMaxClosing=0\n", 2, "MaxClosing");
	bad("[Limits]\nMaxClosingPerUser=65\n", 2, "MaxClosingPerUser");
	bad("[Limits]\nMaxClientFds=15\n", 2, "MaxClientFds");
	{
		char longlist[600] = "[Policy]\nAllowFileSystems=";

		memset(longlist + strlen(longlist), 'a', 300);
		bad(longlist, 2, "AllowFileSystems");
	}
	bad("[Policy]\nAllowAnonymous=\n", 2, "empty value");
	bad("[Limits]\nMaxSessionsPerUser 3\n", 2, "expected Key=Value");
	bad("[Limits\n", 1, "closing");
	bad("[Limits]\n=3\n", 2, "missing key");
	bad("[Limits]\nMaxSessionsPerUser=3 # comment\n", 2, "MaxSessionsPerUser");
	{
		static const char nul[] = "[Limits]\nMaxSessionsPerUser=3\0\n";

		r = config_parse(&c, "test.conf", nul, sizeof(nul) - 1, NULL, NULL, &e);
		tap_ok(r == -EINVAL && e.line == 2 && strstr(e.message, "NUL"),
		       "NUL byte refused (%s)", e.message);
	}
	{
		/* Not NUL-terminated: only @size bytes are read. */
		static const char text[] = "[Limits]\nMaxSessionsPerUser=7XYZ";

		r = config_parse(&c, "t", text, sizeof(text) - 1 - 3, NULL, NULL, &e);
		tap_ok(r == 0 && c.max_sessions_per_user == 7, "only size bytes are parsed");
	}

	/* config_load. */
	{
		char path[] = "/tmp/test-daemon-config-XXXXXX";
		int fd = mkstemp(path);
		const char *text = "[Limits]\nMaxMirrorsPerSession=8\n";

		tap_ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
		       "temporary file");
		r = config_load(&c, path, NULL, NULL, &e);
		tap_ok(r == 0 && c.max_mirrors_per_session == 8, "config_load reads a file");
		unlink(path);
		close(fd);
		r = config_load(&c, path, NULL, NULL, &e);
		tap_ok(r == 1 && config_equal(&c, &d), "missing file: defaults, returns 1");
		r = config_load(&c, "/", NULL, NULL, &e);
		tap_ok(r < 0 && e.message[0], "a directory is refused (%s)", e.message);
	}
	return tap_done();
}
