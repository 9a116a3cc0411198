/* test-parse.c - the number and size syntax that daxmirrord.conf and
 * daxmirrorctl share (parse.h). TAP. */
#include <errno.h>
#include <stdint.h>

#include "macro.h"
#include "parse.h"
#include "tap.h"

static void test_size(void)
{
	static const struct {
		const char *s;
		int r;
		uint64_t v;
	} cases[] = {
		{ "0", 0, 0 }, { "4096", 0, 4096 }, { "4K", 0, 4096 }, { "4k", 0, 4096 },
		{ "2M", 0, 2 << 20 }, { "16MiB", 0, 16ULL << 20 }, { "64G", 0, 64ULL << 30 },
		{ "1gib", -EINVAL, 0 }, { "2t", 0, 2ULL << 40 }, { "1TiB", 0, 1ULL << 40 },
		{ "16777215T", 0, 16777215ULL << 40 }, { "16777216T", -ERANGE, 0 },
		{ "17179869184G", -ERANGE, 0 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "", -EINVAL, 0 }, { "K", -EINVAL, 0 }, { "G", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 }, { "+1", -EINVAL, 0 }, { "1GB", -EINVAL, 0 },
		{ "1Gi", -EINVAL, 0 }, { "1GiBs", -EINVAL, 0 }, { "4 K", -EINVAL, 0 },
		{ "4K ", -EINVAL, 0 }, { "1P", -EINVAL, 0 }, { "4Q", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 }, { "1.5G", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = 12345;
		int r = dxm_parse_size(cases[i].s, &v);

		tap_ok(r == cases[i].r && (r < 0 ? v == 12345 : v == cases[i].v),
		       "dxm_parse_size(\"%s\") = %d, %llu (want %d, %llu)", cases[i].s, r,
		       (unsigned long long)v, cases[i].r, (unsigned long long)cases[i].v);
	}
}

static void test_digits(void)
{
	const char *s = "123abc", *empty = "x";
	uint64_t v = 7;

	tap_ok(dxm_parse_digits(&s, &v) == 0 && v == 123 && *s == 'a',
	       "dxm_parse_digits stops after the digits");
	tap_ok(dxm_parse_digits(&empty, &v) == -EINVAL && v == 123 && *empty == 'x',
	       "dxm_parse_digits: no digit, nothing changes");
	tap_ok(dxm_parse_u64("4294967296", &v) == 0 && v == 4294967296ULL, "dxm_parse_u64: 2^32");
	tap_ok(dxm_parse_u64("12a", &v) == -EINVAL && v == 4294967296ULL,
	       "dxm_parse_u64: trailing garbage");
	tap_ok(dxm_parse_u64("", &v) == -EINVAL, "dxm_parse_u64: empty");
	tap_ok(dxm_parse_u64(NULL, &v) == -EINVAL, "dxm_parse_u64: NULL");
	tap_ok(dxm_parse_u64("99999999999999999999", &v) == -ERANGE, "dxm_parse_u64: overflow");
}

int main(void)
{
	test_size();
	test_digits();
	return tap_done();
}
