/* ctl.h - daxmirrorctl's command line (the options every command sees)
 * and its commands. */
#ifndef DAXMIRRORCTL_CTL_H
#define DAXMIRRORCTL_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef struct Ctl {
	const char *bus_address;	/* NULL: the system bus */
	bool json, legend;
	/* mirror */
	uint64_t offset, length;
	bool write, prefault, watch, extents;
	long hold;			/* seconds; -1: not given */
	/* revoke */
	long grace_ms;			/* --grace in ms (0: the broker's
					 * default); -1: immediate revoke */
} Ctl;

/* Prints "daxmirrorctl: <message>" and a hint to stderr; returns
 * CTL_EXIT_USAGE. */
__attribute__((format(printf, 1, 2)))
int usage_error(const char *fmt, ...);

/* Connects as ctl->bus_address says. 0, or an exit code (message printed). */
int ctl_connect(const Ctl *ctl, sd_bus **ret);

/* Commands: @argv are the command's arguments (after its name). Each
 * returns an exit code. */
int cmd_status(const Ctl *ctl, int argc, char **argv);
int cmd_list_sessions(const Ctl *ctl, int argc, char **argv);
int cmd_show_session(const Ctl *ctl, int argc, char **argv);
int cmd_revoke(const Ctl *ctl, int argc, char **argv);
int cmd_list_mirrors(const Ctl *ctl, int argc, char **argv);
int cmd_mirror(const Ctl *ctl, int argc, char **argv);

#endif
