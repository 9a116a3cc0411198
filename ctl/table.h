/* table.h - column tables of daxmirrorctl's listings: cells added row by
 * row, widths computed at print time, numbers right-aligned, a header
 * line unless --no-legend. */
#ifndef DAXMIRRORCTL_TABLE_H
#define DAXMIRRORCTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct TableColumn {
	const char *name;
	bool right;		/* right-aligned (numbers) */
} TableColumn;

typedef struct Table {
	const TableColumn *cols;
	size_t n_cols;
	char **cells;		/* row-major, n_cells of cap */
	size_t n_cells, cap;
} Table;

#define TABLE_INIT(_cols, _n) ((Table){ .cols = (_cols), .n_cols = (_n) })

/* Appends the next cell (copied; control characters shown as '?').
 * 0 or -ENOMEM. */
int table_add(Table *t, const char *cell);
__attribute__((format(printf, 2, 3)))
int table_add_fmt(Table *t, const char *fmt, ...);
int table_add_u64(Table *t, uint64_t v);
int table_add_bytes(Table *t, uint64_t bytes);

size_t table_rows(const Table *t);

/* Prints the table: the header line if @legend, then the rows. Columns
 * are separated by two spaces; no trailing blanks. */
void table_print(const Table *t, FILE *f, bool legend);

void table_done(Table *t);

#endif
