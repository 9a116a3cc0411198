/* bus.c - the sd-bus connection and its glue to the libuv loop, plus the
 * caller-identity and a{sv} option helpers of the method handlers.
 *
 * sd-bus is driven from outside: a uv_poll_t watches sd_bus_get_fd() for
 * the events sd_bus_get_events() asks for, a uv_timer_t covers
 * sd_bus_get_timeout() (method-call timeouts, and "now" when messages are
 * already queued), and a uv_prepare_t re-arms both before every poll of
 * the loop, so anything queued outside a bus callback (a signal emitted
 * from a timer, a reply sent late) is picked up before the loop sleeps.
 * Each wakeup runs sd_bus_process() until it returns 0, at most
 * BUS_DISPATCH_BATCH times. */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "bus.h"
#include "bus-contract.h"
#include "kernel.h"
#include "log.h"
#include "util.h"

int bus_open(Context *ctx)
{
	int r;

	r = dxm_bus_connect(ctx->bus_address, "daxmirrord", &ctx->bus);
	if (r < 0)
		return log_error_errno(r, "connecting to %s: %m",
				       ctx->bus_address ?: "the system bus");
	return 0;
}

/*
 * Messages handled per wakeup. With many clients calling at once the bus
 * never runs dry, and a drain-until-empty loop would keep the other handles
 * (the watchdog timer above all: systemd kills a daemon that misses it for
 * WatchdogSec=) waiting. What is left is picked up on the next iteration:
 * sd_bus_get_timeout() says "now" while messages are queued, and the fd
 * stays readable while the kernel holds more.
 */
#define BUS_DISPATCH_BATCH 64

static void bus_dispatch(Context *ctx)
{
	int r;

	for (int i = 0; i < BUS_DISPATCH_BATCH; i++) {
		/* What the module reported before this message was sent is
		 * known before it is answered. */
		kernel_dispatch_events(&ctx->kernel);
		ctx->bus_msg_seq++;	/* the getters' reads are per message */
		r = sd_bus_process(ctx->bus, NULL);
		if (r < 0) {
			if (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE)
				break;
			log_error_errno(r, "processing the bus: %m");
			break;
		}
		if (r == 0)
			break;
	}
	if (sd_bus_is_open(ctx->bus) <= 0) {
		log_error("the bus connection was lost; exiting");
		context_exit(ctx, 1);
	}
}

static void on_bus_io(uv_poll_t *h, int status, int events)
{
	Context *ctx = container_of(h, Context, bus_poll);

	if (status < 0)
		log_warning("bus fd poll: %s", uv_strerror(status));
	bus_dispatch(ctx);
}

static void on_bus_timer(uv_timer_t *t)
{
	bus_dispatch(container_of(t, Context, bus_timer));
}

static void on_bus_prepare(uv_prepare_t *p)
{
	Context *ctx = container_of(p, Context, bus_prepare);
	uint64_t deadline = UINT64_MAX;
	int events, want = 0, r;
	int64_t ms;

	if (!ctx->bus || sd_bus_is_open(ctx->bus) <= 0)
		return;
	events = sd_bus_get_events(ctx->bus);
	if (events < 0) {
		log_error_errno(events, "sd_bus_get_events: %m");
	} else {
		if (events & POLLIN)
			want |= UV_READABLE;
		if (events & POLLOUT)
			want |= UV_WRITABLE;
		if (want != ctx->bus_poll_events) {
			r = uv_poll_start(&ctx->bus_poll, want, on_bus_io);
			if (r < 0)
				log_error("uv_poll_start(bus): %s", uv_strerror(r));
			else
				ctx->bus_poll_events = want;
		}
	}

	r = sd_bus_get_timeout(ctx->bus, &deadline);
	if (r < 0) {
		log_error_errno(r, "sd_bus_get_timeout: %m");
		return;
	}
	/* An absolute CLOCK_MONOTONIC deadline: compare with the clock
	 * itself, not with uv_now(), which is cached at the start of the
	 * loop iteration and has a different origin. */
	ms = bus_timeout_to_ms(deadline, now_usec(CLOCK_MONOTONIC));
	if (ms < 0) {
		uv_timer_stop(&ctx->bus_timer);
		return;
	}
	/* uv timers count from the loop's cached time; refresh it so the
	 * delay is not measured from an instant already in the past. */
	uv_update_time(&ctx->loop);
	uv_timer_start(&ctx->bus_timer, on_bus_timer, (uint64_t)ms, 0);
}

int bus_attach(Context *ctx)
{
	int fd, r;

	fd = sd_bus_get_fd(ctx->bus);
	if (fd < 0)
		return log_error_errno(fd, "sd_bus_get_fd: %m");
	r = uv_poll_init(&ctx->loop, &ctx->bus_poll, fd);
	if (r < 0)
		return log_error("uv_poll_init(bus): %s", uv_strerror(r));
	ctx->bus_poll_init = true;
	ctx->bus_poll_events = 0;
	r = uv_prepare_start(&ctx->bus_prepare, on_bus_prepare);
	if (r < 0)
		return log_error("uv_prepare_start: %s", uv_strerror(r));
	return 0;
}

void bus_detach(Context *ctx)
{
	uv_prepare_stop(&ctx->bus_prepare);
	uv_timer_stop(&ctx->bus_timer);
	if (ctx->bus_poll_init)
		uv_poll_stop(&ctx->bus_poll);
}

void bus_close(Context *ctx)
{
	ctx->manager_slot = sd_bus_slot_unref(ctx->manager_slot);
	ctx->session_slot = sd_bus_slot_unref(ctx->session_slot);
	ctx->enumerator_slot = sd_bus_slot_unref(ctx->enumerator_slot);
	ctx->object_manager_slot = sd_bus_slot_unref(ctx->object_manager_slot);
	ctx->owner_match_slot = sd_bus_slot_unref(ctx->owner_match_slot);
	ctx->bus = sd_bus_flush_close_unref(ctx->bus);
}

int bus_caller(sd_bus_message *m, uid_t *uid, pid_t *pid, sd_bus_error *error)
{
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *c = NULL;
	int r;

	/* The euid comes from the bus (the peer credentials dbus-daemon got
	 * from the kernel), not from /proc: AUGMENT only fills what the bus
	 * did not tell, and a uid learned that way is refused below. */
	r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID |
				      SD_BUS_CREDS_AUGMENT, &c);
	if (r < 0)
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "cannot determine the caller's credentials: %s", strerror(-r));
	r = sd_bus_creds_get_euid(c, uid);
	if (r < 0 || (sd_bus_creds_get_augmented_mask(c) & SD_BUS_CREDS_EUID))
		return sd_bus_error_setf(error, DXM_ERROR_ACCESS_DENIED,
					 "the bus does not tell the caller's uid");
	if (pid) {
		*pid = 0;
		(void)sd_bus_creds_get_pid(c, pid);
	}
	return 0;
}

/* The variant at the read position of @m, which must hold @o->type, into
 * the field of @out that @o says. */
static int read_option(sd_bus_message *m, const BusOption *o, void *out, sd_bus_error *error)
{
	const char *contents = NULL;
	void *field = (char *)out + o->offset;
	uint64_t value;
	char t;
	int r;

	r = sd_bus_message_peek_type(m, &t, &contents);
	if (r < 0)
		return r;
	if (t != SD_BUS_TYPE_VARIANT || !contents || !streq(contents, o->type))
		return sd_bus_error_setf(error, DXM_ERROR_INVALID_OPTION,
					 "option '%s' must be of type '%s', not '%s'", o->key,
					 o->type, contents ? contents : "?");
	switch (o->type[0]) {
	case SD_BUS_TYPE_BOOLEAN: {
		int b = 0;

		r = sd_bus_message_read(m, "v", "b", &b);
		*(bool *)field = b;
		return r;
	}
	case SD_BUS_TYPE_UINT32: {
		uint32_t u = 0;

		r = sd_bus_message_read(m, "v", "u", &u);
		*(uint32_t *)field = u;
		value = u;
		break;
	}
	case SD_BUS_TYPE_UINT64:
		r = sd_bus_message_read(m, "v", "t", &value);
		*(uint64_t *)field = value;
		break;
	default:
		return -EINVAL;
	}
	if (r < 0)
		return r;
	if (value < o->min)
		return sd_bus_error_setf(error, DXM_ERROR_INVALID_OPTION,
					 "%s must be at least %" PRIu64, o->key, o->min);
	return r;
}

static int unknown_option(const BusOptionTable *t, const char *key, sd_bus_error *error)
{
	char known[256] = "";
	size_t len = 0;

	if (!t->list_known)
		return sd_bus_error_setf(error, DXM_ERROR_INVALID_OPTION,
					 "unknown %s option '%s'", t->method, key);
	for (size_t i = 0; i < t->n_options && len < sizeof(known); i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s",
					i ? ", " : "", t->options[i].key);
	return sd_bus_error_setf(error, DXM_ERROR_INVALID_OPTION,
				 "unknown %s option '%s' (known: %s)", t->method, key, known);
}

int bus_read_options(sd_bus_message *m, const BusOptionTable *t, void *out, uint64_t *seen,
		     sd_bus_error *error)
{
	uint64_t given = 0;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key;
		size_t i;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		for (i = 0; i < t->n_options; i++)
			if (streq(key, t->options[i].key))
				break;
		if (i == t->n_options)
			return unknown_option(t, key, error);
		if (t->unique && (given & (UINT64_C(1) << i)))
			return sd_bus_error_setf(error, DXM_ERROR_INVALID_OPTION,
						 "option '%s' given twice", key);
		given |= UINT64_C(1) << i;
		r = read_option(m, &t->options[i], out, error);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	if (seen)
		*seen = given;
	return 0;
}
