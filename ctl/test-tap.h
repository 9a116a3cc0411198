/* test-tap.h - a minimal TAP producer for daxmirrorctl's host tests. */
#ifndef DAXMIRRORCTL_TEST_TAP_H
#define DAXMIRRORCTL_TEST_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct Tap {
	unsigned n, failed;
} Tap;

__attribute__((format(printf, 3, 4), unused))
static int tap_ok(Tap *t, int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %u - ", cond ? "ok" : "not ok", ++t->n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		t->failed++;
	return cond;
}

/* Prints @text as "# " comment lines. */
__attribute__((unused))
static void tap_diag_text(const char *text)
{
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		printf("# %.*s\n", len, p);
		p = nl ? nl + 1 : NULL;
	}
	fflush(stdout);
}

__attribute__((unused))
static int tap_done(Tap *t)
{
	printf("1..%u\n", t->n);
	return t->failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
