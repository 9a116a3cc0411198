/* tap.c - the TAP producer: numbering, plan, group accounting, watchdog and
 * exit status. Output goes to stdout, flushed after every line so that a
 * fork()ed child never duplicates buffered results. */
#define _GNU_SOURCE
#include "tap.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The only mutable state of the suite: what TAP needs to count. */
static struct {
	unsigned int planned;
	unsigned int next;
	unsigned int failed;
	unsigned int group_left;
	bool in_group;
	bool plan_error;
	bool plan_printed;
} tap;

/* Print @fmt/@ap with '#' and newlines made harmless (a '#' would start a
 * TAP directive in a description). */
static void put_desc(const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (char *p = buf; *p; p++)
		if (*p == '#' || *p == '\n')
			*p = ' ';
	fputs(buf, stdout);
}

static void count_result(void)
{
	if (!tap.in_group)
		return;
	if (tap.group_left == 0)
		tap.plan_error = true;
	else
		tap.group_left--;
}

static bool vok(bool cond, const char *fmt, va_list ap)
{
	count_result();
	printf("%s %u - ", cond ? "ok" : "not ok", ++tap.next);
	put_desc(fmt, ap);
	putchar('\n');
	fflush(stdout);
	if (!cond)
		tap.failed++;
	return cond;
}

void tap_plan(unsigned int n)
{
	tap.planned = n;
	tap.plan_printed = true;
	printf("TAP version 13\n1..%u\n", n);
	fflush(stdout);
}

bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = vok(cond, fmt, ap);
	va_end(ap);
	return r;
}

void tap_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;
	char why[256];

	count_result();
	printf("ok %u - ", ++tap.next);
	va_start(ap, fmt);
	put_desc(fmt, ap);
	va_end(ap);
	snprintf(why, sizeof(why), "%s", reason);
	for (char *p = why; *p; p++)
		if (*p == '\n')
			*p = ' ';
	printf(" # SKIP %s\n", why);
	fflush(stdout);
}

static void vdiag(const char *fmt, va_list ap)
{
	char buf[1024];
	char *line, *save = NULL;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("# %s\n", line);
	fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(fmt, ap);
	va_end(ap);
}

void tap_bail(const char *fmt, ...)
{
	va_list ap;

	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	put_desc(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(255);
}

const char *tap_errname(int err)
{
	const char *name = err ? strerrorname_np(err) : "0 (success)";

	return name ? name : "unknown errno";
}

bool tap_errno(long ret, int want, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = vok(ret == -want, fmt, ap);
	va_end(ap);
	if (!r) {
		if (ret >= 0)
			tap_diag("expected %s, the call succeeded (returned %ld)",
				 tap_errname(want), ret);
		else
			tap_diag("expected %s, got %s", tap_errname(want),
				 tap_errname((int)-ret));
	}
	return r;
}

bool tap_success(long ret, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = vok(ret >= 0, fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("failed with %s", tap_errname((int)-ret));
	return r;
}

bool tap_eq(uint64_t got, uint64_t want, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = vok(got == want, fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("expected %llu (0x%llx), got %llu (0x%llx)",
			 (unsigned long long)want, (unsigned long long)want,
			 (unsigned long long)got, (unsigned long long)got);
	return r;
}

unsigned int tap_group_left(void)
{
	return tap.in_group ? tap.group_left : 0;
}

void tap_fail_rest(const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	while (tap_group_left())
		tap_ok(false, "not run: %s", why);
}

void tap_skip_rest(const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	while (tap_group_left())
		tap_skip(why, "skipped");
}

static void on_alarm(int sig)
{
	static const char msg[] = "Bail out! watchdog: the test took too long\n";
	ssize_t r;

	(void)sig;
	r = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	_exit(254);
}

void tap_watchdog(unsigned int seconds)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

int tap_status(void)
{
	if (tap.next != tap.planned) {
		tap_diag("planned %u results, ran %u", tap.planned, tap.next);
		return 255;
	}
	if (tap.plan_error) {
		tap_diag("a group emitted more results than it declared");
		return 255;
	}
	if (tap.failed)
		tap_diag("%u of %u results failed", tap.failed, tap.planned);
	return tap.failed > 254 ? 254 : (int)tap.failed;
}

int tap_done(void)
{
	if (!tap.plan_printed) {
		tap.planned = tap.next;
		printf("1..%u\n", tap.next);
		fflush(stdout);
	}
	return tap_status();
}

int tap_main(const struct tap_group *groups, size_t n, unsigned int watchdog_s)
{
	unsigned int total = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < n; i++)
		total += groups[i].results;
	tap_plan(total);
	if (watchdog_s)
		tap_watchdog(watchdog_s);
	for (size_t i = 0; i < n; i++) {
		tap_diag("%s", groups[i].name);
		tap.in_group = true;
		tap.group_left = groups[i].results;
		groups[i].run(groups[i].arg);
		if (tap.group_left)
			tap_fail_rest("%s: result missing", groups[i].name);
		tap.in_group = false;
	}
	return tap_status();
}

void dmt_kv(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%s=", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}
