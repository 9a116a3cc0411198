/* parse.c - decimal numbers and sizes (see parse.h). */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "parse.h"

int dxm_parse_digits(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

int dxm_parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v;
	int r;

	r = dxm_parse_digits(&s, &v);
	if (r < 0)
		return r;
	if (*s != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int dxm_parse_size(const char *s, uint64_t *ret)
{
	static const char suffixes[] = "KMGT";
	unsigned int shift = 0;
	const char *k;
	uint64_t v;
	int r;

	r = dxm_parse_digits(&s, &v);
	if (r < 0)
		return r;
	if (*s != '\0') {
		k = strchr(suffixes, toupper((unsigned char)*s));
		if (!k)
			return -EINVAL;
		shift = 10 * (unsigned int)(k - suffixes + 1);
		s++;
		if (strcmp(s, "iB") == 0)
			s += 2;
		if (*s != '\0')
			return -EINVAL;
	}
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = v << shift;
	return 0;
}
