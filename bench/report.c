/* report.c - the benchmarks' shared reporting (see report.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

/* "PROGRAM: message" on stderr. */
static void vnote(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(fmt, ap);
	va_end(ap);
	exit(1);
}

void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(fmt, ap);
	va_end(ap);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void put(struct series *s, const char *section, const char *cs,
		unsigned long size_mib, const char *metric, double v)
{
	if (s->n < MAX_SAMPLES)
		s->v[s->n++] = v;
	fprintf(raw_csv, "%s,%s,%lu,%d,%s,%.6g\n", section, cs, size_mib,
		s->n - 1, metric, v);
	fflush(raw_csv);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double median(const struct series *s)
{
	double t[MAX_SAMPLES];

	if (!s->n)
		return 0;
	memcpy(t, s->v, sizeof(double) * (size_t)s->n);
	qsort(t, (size_t)s->n, sizeof(double), cmp_double);
	return s->n % 2 ? t[s->n / 2] : (t[s->n / 2 - 1] + t[s->n / 2]) / 2;
}

double smin(const struct series *s)
{
	double m = s->n ? s->v[0] : 0;

	for (int i = 1; i < s->n; i++)
		if (s->v[i] < m)
			m = s->v[i];
	return m;
}

double smax(const struct series *s)
{
	double m = s->n ? s->v[0] : 0;

	for (int i = 1; i < s->n; i++)
		if (s->v[i] > m)
			m = s->v[i];
	return m;
}

/* ---------------------------------------------------------------- table */

/* The rows, in the order they were added. */
static struct row rows[64];
static int nrows;
FILE *raw_csv;

static const char *fmt_num(char *buf, size_t len, double v)
{
	if (v == 0)
		snprintf(buf, len, "0");
	else if (v >= 100000 || v < 0.01)
		snprintf(buf, len, "%.3g", v);
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

/*
 * Add a row: measured series @m against reference series @r (either may be
 * NULL when the median is given directly through @mm / @mr); ratio = @ratio
 * (precomputed by the caller: what the goal is about).
 */
struct row *add_row(const char *id, const char *what, const char *ref,
			   const char *unit, const struct series *m,
			   const struct series *r, double ratio,
			   enum goal_kind gk, double goal)
{
	struct row *w = &rows[nrows++];
	char a[24], b[24], c[24], d[24];

	memset(w, 0, sizeof(*w));
	snprintf(w->id, sizeof(w->id), "%s", id);
	snprintf(w->what, sizeof(w->what), "%s", what);
	snprintf(w->ref, sizeof(w->ref), "%s", ref);
	snprintf(w->unit, sizeof(w->unit), "%s", unit);
	w->med_m = m ? median(m) : 0;
	w->med_r = r ? median(r) : 0;
	w->ratio = ratio;
	if (m && r)
		snprintf(w->spread, sizeof(w->spread), "%s-%s / %s-%s",
			 fmt_num(a, sizeof(a), smin(m)), fmt_num(b, sizeof(b), smax(m)),
			 fmt_num(c, sizeof(c), smin(r)), fmt_num(d, sizeof(d), smax(r)));
	else if (m)
		snprintf(w->spread, sizeof(w->spread), "%s-%s",
			 fmt_num(a, sizeof(a), smin(m)), fmt_num(b, sizeof(b), smax(m)));
	w->gk = gk;
	w->goal = goal;
	if (gk == GOAL_NONE)
		snprintf(w->verdict, sizeof(w->verdict), "info");
	else if ((gk == GOAL_GE && ratio >= goal) || (gk == GOAL_LE && ratio <= goal))
		snprintf(w->verdict, sizeof(w->verdict), "PASS");
	else
		snprintf(w->verdict, sizeof(w->verdict), "FAIL");
	return w;
}

void row_note(struct row *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->note, sizeof(w->note), fmt, ap);
	va_end(ap);
}

void print_rows(FILE *f)
{
	char a[24], b[24], c[24], g[24];

	for (int i = 0; i < nrows; i++) {
		struct row *w = &rows[i];

		if (w->gk == GOAL_NONE)
			snprintf(g, sizeof(g), "-");
		else
			snprintf(g, sizeof(g), "%s %s", w->gk == GOAL_GE ? ">=" : "<=",
				 fmt_num(c, sizeof(c), w->goal));
		fprintf(f, "%-4s | %-46s | %-30s | %10s | %10s | %-6s | %9s | %-31s | %-7s | %s\n",
			w->id, w->what, w->ref,
			w->med_m || w->spread[0] ? fmt_num(a, sizeof(a), w->med_m) : "-",
			w->med_r ? fmt_num(b, sizeof(b), w->med_r) : "-",
			w->unit,
			strcmp(w->verdict, "skip") ? fmt_num(c, sizeof(c), w->ratio) : "-",
			w->spread, g, w->verdict);
		if (w->note[0])
			fprintf(f, "     |   note: %s\n", w->note);
	}
}

void print_table(FILE *f)
{
	fprintf(f, "%-4s | %-46s | %-30s | %10s | %10s | %-6s | %9s | %-31s | %-7s | %s\n",
		"row", "measured", "reference", "median", "ref median", "unit",
		"ratio", "spread min-max (meas / ref)", "goal", "result");
	print_rows(f);
}

void write_summary_header(FILE *f)
{
	fprintf(f, "row,measured,reference,median,ref_median,unit,ratio,spread,goal,result,note\n");
}

void write_summary_rows(FILE *f)
{
	for (int i = 0; i < nrows; i++) {
		struct row *w = &rows[i];

		fprintf(f, "%s,\"%s\",\"%s\",%.6g,%.6g,%s,%.6g,\"%s\",\"%s%.6g\",%s,\"%s\"\n",
			w->id, w->what, w->ref, w->med_m, w->med_r, w->unit, w->ratio,
			w->spread, w->gk == GOAL_NONE ? "" : w->gk == GOAL_GE ? ">=" : "<=",
			w->goal, w->verdict, w->note);
	}
}

void finish_results(const char *out, const char *title)
{
	char table[4096], summary[4096];
	bool fresh;
	FILE *f;

	snprintf(table, sizeof(table), "%s/table.txt", out);
	snprintf(summary, sizeof(summary), "%s/summary.csv", out);
	fresh = title || access(summary, F_OK) != 0;
	print_table(stdout);
	f = fopen(table, title ? "w" : "a");
	if (f) {
		if (title)
			fprintf(f, "%s\n", title);
		if (fresh)
			print_table(f);
		else
			print_rows(f);
		fclose(f);
	} else {
		note("%s: %s", table, strerror(errno));
	}
	f = fopen(summary, title ? "w" : "a");
	if (f) {
		if (fresh)
			write_summary_header(f);
		write_summary_rows(f);
		fclose(f);
	} else {
		note("%s: %s", summary, strerror(errno));
	}
	fclose(raw_csv);
	raw_csv = NULL;
}
