/* main.c - daxmirrorctl: inspect and control daxmirrord, the daxmirror
 * broker (like loginctl for logind). Option parsing, help, and the
 * command table; the commands are in cmd-*.c. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "ctl.h"
#include "parse.h"
#include "util.h"

#ifndef DAXMIRRORCTL_VERSION
#define DAXMIRRORCTL_VERSION "unknown"
#endif

enum {
	ARG_VERSION = 0x100,
	ARG_JSON,
	ARG_NO_PAGER,
	ARG_NO_LEGEND,
	ARG_BUS_ADDRESS,
	ARG_OFFSET,
	ARG_LENGTH,
	ARG_WRITE,
	ARG_PREFAULT,
	ARG_HOLD,
	ARG_WATCH,
	ARG_EXTENTS,
	ARG_GRACE,
};

typedef struct Command {
	const char *name;
	int min_args, max_args;
	int (*run)(const Ctl *ctl, int argc, char **argv);
} Command;

static const Command commands[] = {
	{ "status", 0, 0, cmd_status },
	{ "list-sessions", 0, 0, cmd_list_sessions },
	{ "show-session", 1, 1, cmd_show_session },
	{ "revoke", 1, 64, cmd_revoke },
	{ "list-mirrors", 0, 1, cmd_list_mirrors },
	{ "mirror", 1, 1, cmd_mirror },
};

static void help(void)
{
	printf("daxmirrorctl [OPTIONS...] COMMAND ...\n"
	       "\n"
	       "Inspect and control daxmirrord, the broker of daxmirror device mirrors.\n"
	       "\n"
	       "Commands:\n"
	       "  status                  Module state and ABI version, daemon version,\n"
	       "                          counts and limits (default command)\n"
	       "  list-sessions           List the sessions (non-root: your own)\n"
	       "  show-session ID         Show a session: properties, files, mirrors\n"
	       "  revoke ID...            Revoke sessions (root only)\n"
	       "  list-mirrors [ID]       List the mirrors of every session, or of one\n"
	       "  mirror FILE             Mirror a file range through libdaxmirror and\n"
	       "                          print what it got\n"
	       "\n"
	       "Options:\n"
	       "  -h --help               Show this help\n"
	       "     --version            Show the version\n"
	       "     --json               Print JSON (one document; --watch: one per line)\n"
	       "     --no-pager           Do not pipe output into a pager (never does)\n"
	       "     --no-legend          No header and footer lines in tables\n"
	       "     --bus-address ADDR   D-Bus address (default: $DAXMIRROR_BUS_ADDRESS,\n"
	       "                          else the system bus)\n"
	       "\n"
	       "Options of mirror:\n"
	       "     --offset N           First byte (a multiple of 4K; default 0)\n"
	       "     --length N           Bytes (a multiple of 4K; default: to the end)\n"
	       "                          N takes the suffixes K, M, G, T (powers of 1024)\n"
	       "     --write              A writable mirror (FILE opened read-write)\n"
	       "     --prefault           Fill the device page table (progress bar on a\n"
	       "                          terminal)\n"
	       "     --hold SECONDS       Keep the mirror for SECONDS, then free it\n"
	       "     --watch              Print the counters every second until Ctrl-C\n"
	       "     --extents            Print the device entries, runs of equal ones\n"
	       "\n"
	       "Options of revoke:\n"
	       "     --grace SECONDS      Ask each session's owner to finish first: wait\n"
	       "                          up to SECONDS (decimals allowed, at most 600;\n"
	       "                          0: the broker's default, 5) for it to persist\n"
	       "                          and acknowledge, then revoke anyway; print how\n"
	       "                          each ended (acknowledged, forced, revoked,\n"
	       "                          closed) and after how long\n"
	       "\n"
	       "Exit status:\n"
	       "  0  success\n"
	       "  1  any other failure (the D-Bus error is printed)\n"
	       "  2  bad usage\n"
	       "  3  daxmirrord is not running, or the bus cannot be reached\n"
	       "  4  the daxmirror module is not loaded (status too)\n"
	       "  5  permission denied (e.g. revoke as non-root)\n"
	       "  6  a quota of daxmirrord.conf would be exceeded\n"
	       "\n"
	       "See daxmirrorctl(1) (docs/daxmirrorctl.md).\n");
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("daxmirrorctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'daxmirrorctl --help' for more information.\n", stderr);
	return CTL_EXIT_USAGE;
}

int ctl_connect(const Ctl *ctl, sd_bus **ret)
{
	int r = dxm_bus_connect(ctl->bus_address, "daxmirrorctl", ret);

	return r < 0 ? bus_connect_fail(ctl->bus_address, r) : 0;
}

static int parse_size_arg(const char *opt, const char *arg, uint64_t *ret)
{
	int r = dxm_parse_size(arg, ret);

	if (r < 0)
		return usage_error("%s: '%s' is not a size (bytes, or with K, M, G, T, KiB..TiB)", opt, arg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "json", no_argument, NULL, ARG_JSON },
		{ "no-pager", no_argument, NULL, ARG_NO_PAGER },
		{ "no-legend", no_argument, NULL, ARG_NO_LEGEND },
		{ "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
		{ "offset", required_argument, NULL, ARG_OFFSET },
		{ "length", required_argument, NULL, ARG_LENGTH },
		{ "write", no_argument, NULL, ARG_WRITE },
		{ "prefault", no_argument, NULL, ARG_PREFAULT },
		{ "hold", required_argument, NULL, ARG_HOLD },
		{ "watch", no_argument, NULL, ARG_WATCH },
		{ "extents", no_argument, NULL, ARG_EXTENTS },
		{ "grace", required_argument, NULL, ARG_GRACE },
		{}
	};
	Ctl ctl = { .legend = true, .hold = -1, .grace_ms = -1 };
	const char *bus_option = NULL, *verb = "status";
	bool mirror_opts = false;
	const Command *cmd = NULL;
	int c, nargs;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return CTL_EXIT_OK;
		case ARG_VERSION:
			printf("daxmirrorctl %s\n", DAXMIRRORCTL_VERSION);
			return CTL_EXIT_OK;
		case ARG_JSON:
			ctl.json = true;
			break;
		case ARG_NO_PAGER:
			break;
		case ARG_NO_LEGEND:
			ctl.legend = false;
			break;
		case ARG_BUS_ADDRESS:
			bus_option = optarg;
			break;
		case ARG_OFFSET:
			if (parse_size_arg("--offset", optarg, &ctl.offset))
				return CTL_EXIT_USAGE;
			mirror_opts = true;
			break;
		case ARG_LENGTH:
			if (parse_size_arg("--length", optarg, &ctl.length))
				return CTL_EXIT_USAGE;
			mirror_opts = true;
			break;
		case ARG_WRITE:
			ctl.write = mirror_opts = true;
			break;
		case ARG_PREFAULT:
			ctl.prefault = mirror_opts = true;
			break;
		case ARG_HOLD: {
			char *end = NULL;

			errno = 0;
			ctl.hold = strtol(optarg, &end, 10);
			if (errno || !end || *end || end == optarg || ctl.hold < 0 ||
			    ctl.hold > 86400 * 365)
				return usage_error("--hold: '%s' is not a number of seconds", optarg);
			mirror_opts = true;
			break;
		}
		case ARG_WATCH:
			ctl.watch = mirror_opts = true;
			break;
		case ARG_EXTENTS:
			ctl.extents = mirror_opts = true;
			break;
		case ARG_GRACE: {
			char *end = NULL;
			double s;

			errno = 0;
			s = strtod(optarg, &end);
			if (errno || !end || *end || end == optarg || !(s >= 0 && s <= 600))
				return usage_error("--grace: '%s' is not a number of seconds "
						   "from 0 to 600", optarg);
			ctl.grace_ms = (long)(s * 1000 + 0.5);
			if (s > 0 && !ctl.grace_ms)
				ctl.grace_ms = 1;
			break;
		}
		default:
			return usage_error("unknown option or missing argument");
		}
	}
	ctl.bus_address = bus_address_choose(bus_option);

	if (optind < argc)
		verb = argv[optind++];
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(commands[i].name, verb))
			cmd = &commands[i];
	if (!cmd)
		return usage_error("unknown command '%s'", verb);
	nargs = argc - optind;
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		if (streq(cmd->name, "mirror"))
			return usage_error("mirror needs one FILE");
		if (cmd->max_args == 0)
			return usage_error("%s takes no arguments", cmd->name);
		if (cmd->min_args == 0)
			return usage_error("%s takes at most one session ID", cmd->name);
		return usage_error("%s needs a session ID (see 'daxmirrorctl list-sessions')",
				   cmd->name);
	}
	if (mirror_opts && !streq(cmd->name, "mirror"))
		return usage_error("--offset, --length, --write, --prefault, --hold, --watch "
				   "and --extents are options of 'mirror' only");
	if (ctl.grace_ms >= 0 && !streq(cmd->name, "revoke"))
		return usage_error("--grace is an option of 'revoke' only");
	if (ctl.watch && ctl.hold >= 0)
		return usage_error("--hold and --watch do not go together");
	return cmd->run(&ctl, nargs, argv + optind);
}
