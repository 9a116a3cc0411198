/* options.h - the command line the benchmark programs share: --out DIR,
 * --reps N, --quick, --help, plus a program's own options; and the raw
 * results.csv they all append to. */
#ifndef DM_BENCH_OPTIONS_H
#define DM_BENCH_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>

struct bench_args {
	const char *out;	/* --out DIR: where results.csv goes (required) */
	int reps;		/* --reps N, else the program's default */
	bool quick;		/* --quick: smaller sizes, fewer default reps */
};

/*
 * Parse the shared options into @a and hand each of @extra (may be NULL,
 * ends with a zeroed entry; .val is the letter) to @on_extra with its
 * argument. @a->reps is the default for a full run on entry; under --quick
 * without --reps it becomes 3. @usage prints the help. Exits 0 after
 * --help, 2 on an unknown option, 1 on a missing --out or reps outside
 * 1..MAX_SAMPLES.
 */
void bench_parse_args(int argc, char **argv, void (*usage)(void),
		      const struct option *extra,
		      void (*on_extra)(int letter, const char *arg),
		      struct bench_args *a);

/* Open DIR/results.csv into raw_csv: truncated with the header line when
 * @fresh, else appended to (a later program of the same run). Dies on
 * failure. */
void bench_open_csv(const char *out, bool fresh);

#endif
