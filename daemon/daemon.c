/* daemon.c - daxmirrord as a whole: options, the context, the loop;
 * signals (SIGTERM, SIGINT: clean exit; SIGHUP: reload the config),
 * sd_notify READY/WATCHDOG, startup and teardown in order, and the wiring
 * of the callbacks (kernel events to the sessions, session events to the
 * fd store, the graceful revoke and the idle trim). The top of the daemon: called by
 * main.c (and the tests' fake-kernel build), calls every other part. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include "bus.h"
#include "config.h"
#include "context.h"
#include "daemon.h"
#include "fdstore.h"
#include "kernel.h"
#include "log.h"
#include "manager.h"
#include "revoke.h"
#include "session.h"
#include "session-dbus.h"
#include "trim.h"
#include "util.h"
#include "vetting.h"

#include "daxmirrord-version.h"

#ifndef DAXMIRRORD_VERSION
#define DAXMIRRORD_VERSION "unknown"
#endif

#define DM_CONTROL_DEFAULT "/dev/daxmirror"
#define BUS_ADDRESS_ENV "DAXMIRRORD_BUS_ADDRESS"

static void on_kernel_event(Kernel *k, const struct daxmirror_event *ev, void *userdata)
{
	sessions_kernel_event(userdata, ev);
}

static void on_session_event(Session *s, SessionEvent ev)
{
	if (s->ctx->fdstore)
		fdstore_session_event(s, ev);
	revoke_session_event(s, ev);
	vetting_session_event(s, ev);
	trim_session_event(s, ev);
}

static void config_warn(void *userdata, unsigned line, const char *message)
{
	log_warning("%s", message);
}

static void reload(Context *ctx)
{
	Config c, old = ctx->config;
	ConfigError err;
	int r;

	sd_notify(0, "RELOADING=1");
	r = config_load(&c, ctx->config_path, config_warn, NULL, &err);
	if (r < 0) {
		log_error("reloading %s failed, keeping the current configuration: %s",
			  ctx->config_path, err.message);
	} else {
		ctx->config = c;
		log_info("configuration reloaded from %s%s", ctx->config_path,
			 r == 1 ? " (missing: built-in defaults)" : "");
		if (c.max_vetting > ctx->vet_threads - 1 - ctx->vet_close_threads)
			log_warning("MaxVetting=%u: the thread pool was sized at start, %u is the most until a restart",
				    c.max_vetting, ctx->vet_threads - 1 - ctx->vet_close_threads);
		if (c.max_closing > ctx->vet_close_threads)
			log_warning("MaxClosing=%u: the thread pool was sized at start, %u is the most until a restart",
				    c.max_closing, ctx->vet_close_threads);
		manager_config_changed(ctx, &old);
	}
	/* A module loaded after the daemon started is picked up here. */
	if (ctx->kernel.fd < 0) {
		kernel_open(&ctx->kernel);
		if (ctx->kernel.fd >= 0 &&
		    kernel_watch(&ctx->kernel, &ctx->loop, on_kernel_event, ctx) >= 0) {
			context_emit_changed(ctx, "ModuleState");
			context_emit_changed(ctx, "ModuleVersion");
		}
	}
	sd_notify(0, "READY=1");
	ctx->last_status[0] = '\0';
	context_update_status(ctx);
}

static void on_signal(uv_signal_t *h, int signum)
{
	Context *ctx = h->data;

	if (signum == SIGHUP) {
		reload(ctx);
		return;
	}
	log_info("%s: exiting", strsignal(signum));
	context_exit(ctx, 0);
}

static void on_watchdog(uv_timer_t *t)
{
	sd_notify(0, "WATCHDOG=1");
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"The daxmirror broker: serves org.daxmirror1 on D-Bus and hands out\n"
		"device-mirror sessions of /dev/daxmirror.\n"
		"\n"
		"  --bus-address ADDR  connect to this D-Bus address instead of the\n"
		"                      system bus (default: $" BUS_ADDRESS_ENV ")\n"
		"  --config FILE       configuration file (default " CONFIG_DEFAULT_PATH ";\n"
		"                      a missing file means built-in defaults)\n"
		"  --control PATH      control node (default " DM_CONTROL_DEFAULT ")\n"
		"  --help              show this help\n"
		"  --version           show the version\n",
		argv0);
}

/* 0 to run, 1 for a clean exit (help/version), -1 for a usage error. */
static int parse_args(Context *ctx, int argc, char **argv)
{
	enum { OPT_BUS = 0x100, OPT_CONFIG, OPT_CONTROL, OPT_HELP, OPT_VERSION };
	static const struct option opts[] = {
		{ "bus-address", required_argument, NULL, OPT_BUS },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = getenv(BUS_ADDRESS_ENV);
	int c;

	ctx->bus_address = env && *env ? env : NULL;
	ctx->config_path = CONFIG_DEFAULT_PATH;
	ctx->kernel.path = DM_CONTROL_DEFAULT;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_BUS:
			ctx->bus_address = optarg;
			break;
		case OPT_CONFIG:
			ctx->config_path = optarg;
			break;
		case OPT_CONTROL:
			ctx->kernel.path = optarg;
			break;
		case OPT_HELP:
			usage(stdout, argv[0]);
			return 1;
		case OPT_VERSION:
			printf("daxmirrord %s\n", DAXMIRRORD_VERSION);
			return 1;
		default:
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
		return -1;
	}
	if (ctx->bus_address && !*ctx->bus_address) {
		fprintf(stderr, "%s: --bus-address must not be empty\n", argv[0]);
		return -1;
	}
	return 0;
}

static void close_handle(uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

static int start_signal(Context *ctx, uv_signal_t *h, int signum)
{
	int r;

	h->data = ctx;
	r = uv_signal_start(h, on_signal, signum);
	if (r < 0)
		return log_error("uv_signal_start(%s): %s", strsignal(signum), uv_strerror(r));
	return 0;
}

static int run(Context *ctx)
{
	ConfigError err;
	uint64_t wd_usec = 0;
	int r;

	r = config_load(&ctx->config, ctx->config_path, config_warn, NULL, &err);
	if (r < 0)
		return log_error("%s", err.message);
	if (r == 1)
		log_info("%s not found: built-in defaults", ctx->config_path);
	/* Before anything queues work on libuv's pool: it sizes the pool. */
	r = vetting_start(ctx);
	if (r < 0)
		return r;

	r = kernel_open(&ctx->kernel);
	if (r < 0)
		return r;
	r = bus_open(ctx);
	if (r < 0)
		return r;
	/* First, before anything can dispatch a message: every client fd
	 * that reaches the broker is dropped on a thread (vetting.c). */
	r = sd_bus_add_filter(ctx->bus, &ctx->vet_filter_slot, vetting_bus_filter, ctx);
	if (r < 0)
		return log_error_errno(r, "sd_bus_add_filter: %m");
	r = manager_register(ctx);
	if (r < 0)
		return r;
	r = session_dbus_register(ctx);
	if (r < 0)
		return r;
	r = bus_attach(ctx);
	if (r < 0)
		return r;
	r = kernel_watch(&ctx->kernel, &ctx->loop, on_kernel_event, ctx);
	if (r < 0)
		return r;
	/* Sessions of a daemon before this one: from systemd's fd store,
	 * or rediscovered from the module. */
	r = fdstore_restore(ctx);
	if (r < 0)
		return r;
	if (start_signal(ctx, &ctx->sigterm, SIGTERM) < 0 ||
	    start_signal(ctx, &ctx->sigint, SIGINT) < 0 ||
	    start_signal(ctx, &ctx->sighup, SIGHUP) < 0)
		return -EIO;

	/* Objects first, the name last: a caller that sees the name finds
	 * every object in place. */
	r = sd_bus_request_name(ctx->bus, DXM_BUS_NAME, 0);
	if (r < 0)
		return log_error_errno(r, "requesting the bus name " DXM_BUS_NAME ": %m");

	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		uint64_t ms = wd_usec / 2000;

		uv_timer_start(&ctx->watchdog_timer, on_watchdog, ms ? ms : 1, ms ? ms : 1);
	}
	log_info("daxmirrord %s serving " DXM_BUS_NAME " on %s; module %s", ctx->version,
		 ctx->bus_address ? ctx->bus_address : "the system bus",
		 ctx->kernel.fd >= 0 ? "loaded" : "missing");
	sd_notify(0, "READY=1");
	context_update_status(ctx);

	uv_run(&ctx->loop, UV_RUN_DEFAULT);
	return 0;
}

/*
 * Every session holds an fd in the daemon, every vetting a client's fd and
 * what the bad-block check opens: 1024, the usual soft limit, runs out at
 * a few hundred clients (seen: EMFILE answers under 200 at once). The loop
 * (epoll) and sd-bus never select(), and the daemon starts no programs, so
 * the soft limit goes up to the hard one, as systemd advises its services.
 * Its unit sets both (LimitNOFILE=); started any other way it gets what the
 * hard limit allows.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warning_errno(-errno, "raising the soft limit of open files: %m");
}

/*
 * No transparent huge pages for the daemon. Its memory is small and
 * scattered; under THP "always" each pool thread's 8 MiB stack, touched
 * once, can take a whole 2 MiB page (seen: five such stacks, 10 MiB of RSS
 * after a 200-client burst, held for the daemon's life, which no
 * malloc_trim() gives back). The flag is per mm: it covers the threads
 * started later.
 */
static void no_huge_pages(void)
{
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
		log_warning_errno(-errno, "turning transparent huge pages off: %m");
}

int daemon_main(int argc, char **argv, const KernelOps *kernel_ops)
{
	Context ctx = {
		.version = DAXMIRRORD_VERSION,
		.vet_cache = VET_CACHE_INIT,
		.vet_null_fd = -1,
		.kernel = { .ops = kernel_ops, .fd = -1 },
		.quota = QUOTA_NULL,
		.session_hook = on_session_event,
	};
	size_t busy;
	int r;

	r = parse_args(&ctx, argc, argv);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	config_init_defaults(&ctx.config);
	raise_fd_limit();
	no_huge_pages();
	fdstore_init(&ctx);
	r = dxm_bus_errors_register();
	if (r < 0) {
		log_error_errno(r, "registering the bus error map: %m");
		return EXIT_FAILURE;
	}

	/* A broken client connection must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);

	r = uv_loop_init(&ctx.loop);
	if (r < 0) {
		log_error("uv_loop_init: %s", uv_strerror(r));
		return EXIT_FAILURE;
	}
	uv_timer_init(&ctx.loop, &ctx.bus_timer);
	uv_prepare_init(&ctx.loop, &ctx.bus_prepare);
	uv_timer_init(&ctx.loop, &ctx.refresh_timer);
	uv_timer_init(&ctx.loop, &ctx.change_timer);
	uv_timer_init(&ctx.loop, &ctx.watchdog_timer);
	trim_init(&ctx);
	uv_signal_init(&ctx.loop, &ctx.sigterm);
	uv_signal_init(&ctx.loop, &ctx.sigint);
	uv_signal_init(&ctx.loop, &ctx.sighup);

	r = run(&ctx);
	if (r < 0)
		ctx.exit_status = EXIT_FAILURE;
	sd_notify(0, "STOPPING=1");

	/* Teardown: sessions stay alive in the kernel with their clients
	 * (the broker only drops its handle); handles before the fds they
	 * watch; the bus flushed last. */
	sessions_free_all(&ctx);
	busy = vetting_stop(&ctx);
	bus_detach(&ctx);
	close_handle((uv_handle_t *)&ctx.bus_timer);
	close_handle((uv_handle_t *)&ctx.bus_prepare);
	if (ctx.bus_poll_init)
		close_handle((uv_handle_t *)&ctx.bus_poll);
	if (ctx.kernel.poll_init)
		close_handle((uv_handle_t *)&ctx.kernel.poll);
	close_handle((uv_handle_t *)&ctx.refresh_timer);
	close_handle((uv_handle_t *)&ctx.change_timer);
	close_handle((uv_handle_t *)&ctx.watchdog_timer);
	close_handle((uv_handle_t *)&ctx.trim_timer);
	close_handle((uv_handle_t *)&ctx.sigterm);
	close_handle((uv_handle_t *)&ctx.sigint);
	close_handle((uv_handle_t *)&ctx.sighup);
	/* Threads of the pool that are still busy: quick closes of clients'
	 * fds end within a moment; a thread stuck in a FUSE request whose
	 * server has read it and does not answer cannot be interrupted, not
	 * even by SIGKILL (FLUSH, a forced request, never). Give them two
	 * seconds, running the loop so their after-work callbacks free what
	 * they held; the loop has nothing else to serve now. */
	for (int i = 0; busy && i < 200 && vetting_busy(&ctx); i++) {
		uv_run(&ctx.loop, UV_RUN_NOWAIT);
		if (vetting_busy(&ctx))
			usleep(10000);
	}
	uv_run(&ctx.loop, vetting_busy(&ctx) ? UV_RUN_NOWAIT : UV_RUN_DEFAULT);
	if (ctx.vet_jobs || ctx.vet_holds) {
		/* uv_loop_close() would say EBUSY, and libuv's destructor joins
		 * its threads at exit(): leave without both. The bus name and
		 * the control node go first; then _exit(). The process ends
		 * when its last thread does: a thread stuck in a file system
		 * (and the exit's own close of the clients' fds still held,
		 * which flushes them) waits until the server answers or goes
		 * (its death, or an abort through
		 * /sys/fs/fuse/connections/N/abort, fails the requests). */
		log_notice("vetting threads still in a file system: exiting without waiting for them");
		bus_close(&ctx);
		kernel_close(&ctx.kernel);
		fflush(stderr);
		_exit(ctx.exit_status);
	}
	r = uv_loop_close(&ctx.loop);
	if (r < 0)
		log_warning("uv_loop_close: %s", uv_strerror(r));
	bus_close(&ctx);
	kernel_close(&ctx.kernel);
	quota_done(&ctx.quota);
	safe_close(ctx.vet_null_fd);
	return ctx.exit_status;
}
