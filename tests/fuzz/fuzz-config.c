/* fuzz-config.c - libFuzzer harness of daxmirrord's configuration parser
 * (daemon/config.c): config_parse() over the raw input, and the value
 * parsers (shared/parse.h's size parser among them) over it as a C
 * string. Any crash, leak (LeakSanitizer) or undefined behaviour (UBSan)
 * is a failure; so is a "successful" parse that produced values the
 * daemon would refuse to start with. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_warn(void *userdata, unsigned line, const char *message)
{
	size_t *n = userdata;

	(*n)++;
	if (!message || line == 0 || strlen(message) >= 4096)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Config c, before;
	ConfigError err;
	size_t warnings = 0;
	char *s;
	bool b;
	uint64_t u64;
	uint32_t u32;
	int r;

	if (size > CONFIG_MAX_FILE_SIZE)
		return 0;
	memset(&c, 0xa5, sizeof(c));
	before = c;
	memset(&err, 0, sizeof(err));
	r = config_parse(&c, "fuzz.conf", (const char *)data, size, on_warn, &warnings, &err);
	if (r == 0) {
		/* Parsed: every field set from the defaults or the input. */
		unsigned char pc, an;

		memcpy(&pc, &c.allow_pagecache, 1);
		memcpy(&an, &c.allow_anonymous, 1);
		if (pc > 1 || an > 1)
			abort();
	} else {
		/* Failed: the output untouched and the message a C string. */
		if (r != -EINVAL || memcmp(&c, &before, sizeof(c)) != 0 ||
		    !memchr(err.message, '\0', sizeof(err.message)) || !err.message[0])
			abort();
	}

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)config_parse_bool(s, &b);
	(void)dxm_parse_size(s, &u64);
	(void)config_parse_u32(s, &u32);
	free(s);
	return 0;
}
