/* options.c - the benchmarks' shared command line (see options.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "report.h"

#define MAX_OPTIONS	16

void bench_parse_args(int argc, char **argv, void (*usage)(void),
		      const struct option *extra,
		      void (*on_extra)(int letter, const char *arg),
		      struct bench_args *a)
{
	struct option lopts[MAX_OPTIONS] = {
		{ "out", required_argument, NULL, 'o' },
		{ "reps", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
	};
	int n = 4, opt;
	bool reps_given = false;

	for (; extra && extra->name; extra++) {
		if (n + 1 >= MAX_OPTIONS)
			die("too many options");
		lopts[n++] = *extra;
	}
	a->out = NULL;
	a->quick = false;
	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			a->out = optarg;
			break;
		case 'r':
			a->reps = atoi(optarg);
			reps_given = true;
			break;
		case 'q':
			a->quick = true;
			break;
		case 'h':
			usage();
			exit(0);
		case '?':
			usage();
			exit(2);
		default:
			on_extra(opt, optarg);
		}
	}
	if (optind < argc) {
		usage();
		exit(2);
	}
	if (!a->out)
		die("--out DIR is required");
	if (a->quick && !reps_given)
		a->reps = 3;
	if (a->reps < 1 || a->reps > MAX_SAMPLES)
		die("--reps must be 1..%d", MAX_SAMPLES);
}

void bench_open_csv(const char *out, bool fresh)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/results.csv", out);
	raw_csv = fopen(path, fresh ? "w" : "a");
	if (!raw_csv)
		die("%s: %s", path, strerror(errno));
	if (fresh)
		fprintf(raw_csv, "section,case,size_mib,rep,metric,value\n");
}
