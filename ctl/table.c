/* table.c - the column table printer of daxmirrorctl (see table.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

int table_add(Table *t, const char *cell)
{
	char *copy;

	if (t->n_cells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **n = realloc(t->cells, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->cells = n;
		t->cap = cap;
	}
	copy = strdup(cell ? cell : "-");
	if (!copy)
		return -ENOMEM;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	t->cells[t->n_cells++] = copy;
	return 0;
}

int table_add_fmt(Table *t, const char *fmt, ...)
{
	_cleanup_(freep) char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		s = NULL;
		return -ENOMEM;
	}
	return table_add(t, s);
}

int table_add_u64(Table *t, uint64_t v)
{
	return table_add_fmt(t, "%" PRIu64, v);
}

int table_add_bytes(Table *t, uint64_t bytes)
{
	char buf[FORMAT_BYTES_MAX];

	return table_add(t, format_bytes(buf, sizeof(buf), bytes));
}

size_t table_rows(const Table *t)
{
	return t->n_cols ? t->n_cells / t->n_cols : 0;
}

static void print_cell(FILE *f, const char *s, size_t width, bool right, bool last)
{
	size_t len = strlen(s);
	size_t pad = width > len ? width - len : 0;

	if (right)
		fprintf(f, "%*s%s", (int)pad, "", s);
	else if (last)
		fputs(s, f);
	else
		fprintf(f, "%s%*s", s, (int)pad, "");
}

void table_print(const Table *t, FILE *f, bool legend)
{
	size_t rows = table_rows(t), width[32] = { 0 };
	size_t n = t->n_cols < ARRAY_SIZE(width) ? t->n_cols : ARRAY_SIZE(width);

	for (size_t c = 0; c < n; c++) {
		if (legend)
			width[c] = strlen(t->cols[c].name);
		for (size_t r = 0; r < rows; r++) {
			size_t len = strlen(t->cells[r * t->n_cols + c]);

			if (len > width[c])
				width[c] = len;
		}
	}
	for (size_t r = legend ? 0 : 1; r <= rows; r++) {
		for (size_t c = 0; c < n; c++) {
			const char *s = r == 0 ? t->cols[c].name : t->cells[(r - 1) * t->n_cols + c];

			if (c)
				fputs("  ", f);
			print_cell(f, s, width[c], t->cols[c].right, c + 1 == n);
		}
		fputc('\n', f);
	}
}

void table_done(Table *t)
{
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_cells = t->cap = 0;
}
