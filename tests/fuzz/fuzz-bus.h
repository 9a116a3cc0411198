/* fuzz-bus.h - for the libFuzzer harnesses of daxmirrord's method handlers:
 * a byte reader over the fuzz input, an sd-bus connection that is never
 * connected to anything (messages can be built on it), and method calls
 * whose a{sv} option dictionaries are made of fuzz-chosen keys and
 * variants of any type, sealed and rewound as sd-bus hands them to a
 * handler. */
#ifndef DM_FUZZ_BUS_H
#define DM_FUZZ_BUS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

struct fz {
	const uint8_t *d;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->n) {
		v = *f->d++;
		f->n--;
	}
	return v;
}

static inline uint64_t fz_u64(struct fz *f, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | fz_u8(f);
	return v;
}

/* A string of up to @max printable characters (valid UTF-8, no NUL). */
static inline void fz_str(struct fz *f, char *out, size_t max)
{
	size_t len = fz_u8(f) % max;

	for (size_t i = 0; i < len; i++)
		out[i] = (char)(0x20 + fz_u8(f) % 0x5f);
	out[len] = '\0';
}

/* A bus in the authenticating state: enough to create messages, and
 * nothing is ever sent (the peer end is never read). */
static inline sd_bus *fz_bus(void)
{
	static sd_bus *bus;
	int sv[2];

	if (bus)
		return bus;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, sv[0], sv[0]) < 0 ||
	    sd_bus_negotiate_fds(bus, 1) < 0 || sd_bus_start(bus) < 0)
		abort();
	return bus;
}

/* Appends one fuzz-chosen value of a fuzz-chosen type as a variant. */
static inline int fz_variant(sd_bus_message *m, struct fz *f, unsigned depth)
{
	char s[64];

	switch (fz_u8(f) % (depth < 3 ? 16 : 13)) {
	case 0: case 1: return sd_bus_message_append(m, "v", "b", (int)(fz_u8(f) % 3));
	case 2: case 3: return sd_bus_message_append(m, "v", "u", (uint32_t)fz_u64(f, 4));
	case 4: case 5: return sd_bus_message_append(m, "v", "t", fz_u64(f, 8));
	case 6: return sd_bus_message_append(m, "v", "i", (int32_t)fz_u64(f, 4));
	case 7: return sd_bus_message_append(m, "v", "x", (int64_t)fz_u64(f, 8));
	case 8: return sd_bus_message_append(m, "v", "y", fz_u8(f));
	case 9: return sd_bus_message_append(m, "v", "q", (uint16_t)fz_u64(f, 2));
	case 10: fz_str(f, s, sizeof(s)); return sd_bus_message_append(m, "v", "s", s);
	case 11: return sd_bus_message_append(m, "v", "d", (double)(int64_t)fz_u64(f, 8));
	case 12: return sd_bus_message_append(m, "v", "o", "/org/daxmirror1");
	case 13: {	/* a variant in a variant */
		int r = sd_bus_message_open_container(m, 'v', "v");

		if (r < 0)
			return r;
		r = fz_variant(m, f, depth + 1);
		return r < 0 ? r : sd_bus_message_close_container(m);
	}
	case 14: fz_str(f, s, sizeof(s)); return sd_bus_message_append(m, "v", "as", 2, s, "Write");
	default: {	/* a{sv} in a variant */
		int r = sd_bus_message_open_container(m, 'v', "a{sv}");

		if (r < 0)
			return r;
		r = sd_bus_message_append(m, "a{sv}", 1, "Write", "b", 1);
		return r < 0 ? r : sd_bus_message_close_container(m);
	}
	}
}

/* Appends an a{sv}: up to 7 entries, keys mostly from @keys (repeats
 * included), values of any type. */
static inline int fz_options(sd_bus_message *m, struct fz *f, const char *const *keys,
			     size_t nkeys)
{
	unsigned n = fz_u8(f) % 8;
	char key[32];
	int r;

	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		uint8_t k = fz_u8(f);

		r = sd_bus_message_open_container(m, 'e', "sv");
		if (r < 0)
			return r;
		if (k % 8 == 7)
			fz_str(f, key, sizeof(key));
		else
			snprintf(key, sizeof(key), "%s", keys[k % nkeys]);
		r = sd_bus_message_append(m, "s", key);
		if (r < 0)
			return r;
		r = fz_variant(m, f, 0);
		if (r < 0)
			return r;
		r = sd_bus_message_close_container(m);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(m);
}

/* Seals @m and rewinds it for reading, as sd-bus gives it to a handler. */
static inline int fz_seal(sd_bus_message *m)
{
	static uint64_t cookie;
	int r = sd_bus_message_seal(m, ++cookie, 0);

	return r < 0 ? r : sd_bus_message_rewind(m, 1);
}

#endif
