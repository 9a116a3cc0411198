/* report.h - the benchmarks' shared reporting: sample series with their
 * medians and spread, result rows (measured vs reference, ratio, goal,
 * PASS/FAIL), the raw-sample CSV and the printed table. Used by dm-bench
 * and dm-bench-broker, which write into the same table. */
#ifndef DM_BENCH_REPORT_H
#define DM_BENCH_REPORT_H

#include <stdint.h>
#include <stdio.h>

#define MAX_SAMPLES	64

/* A named series of samples (one per rep). */
struct series {
	double v[MAX_SAMPLES];
	int n;
};

enum goal_kind { GOAL_NONE, GOAL_GE, GOAL_LE };

struct row {
	char id[8];
	char what[96];
	char ref[64];
	char unit[12];
	double med_m, med_r, ratio;
	char spread[64];
	enum goal_kind gk;
	double goal;
	char verdict[16];
	char note[320];
};

/* The raw-sample CSV (section,case,size_mib,rep,metric,value); the program
 * opens it before the first put(). */
extern FILE *raw_csv;

/* Print "PROGRAM: message" to stderr and exit 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A progress line on stderr. */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t now_ns(void);
/* Add sample @v to @s and write it to raw_csv. */
void put(struct series *s, const char *section, const char *cs,
	 unsigned long size_mib, const char *metric, double v);
double median(const struct series *s);
double smin(const struct series *s);
double smax(const struct series *s);
/* Add a row; @m and @r may be NULL (no medians / no reference). */
struct row *add_row(const char *id, const char *what, const char *ref,
		    const char *unit, const struct series *m,
		    const struct series *r, double ratio,
		    enum goal_kind gk, double goal);
void row_note(struct row *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The rows added so far; print_table() with the header line first. */
void print_rows(FILE *f);
void print_table(FILE *f);
/* summary.csv: the header line; one line per row added so far. */
void write_summary_header(FILE *f);
void write_summary_rows(FILE *f);
/*
 * The end of a benchmark program: the table on stdout, the rows into
 * DIR/table.txt and DIR/summary.csv, and raw_csv closed. With @title (the
 * first program of a run) both files start anew, table.txt with @title;
 * without, the rows are appended (headers only if the files are new).
 */
void finish_results(const char *out, const char *title);

#endif
