/* test-vetting.c - host test of vetting.c's orderings, with a fake vetting
 * (Context.vet) that blocks on a pipe per call until the test opens its
 * gate: the per-uid cap and the line, Busy, the deadlines in line and on
 * a thread, a session ended or revoked while its file is vetted,
 * the bus filter that keeps a message's fds until the vetting is done and
 * then drops them on a thread, MaxClientFds, and shutdown with a thread
 * still blocked. Over a socketpair: a "daemon" connection with the
 * filters, a client connection that calls. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-contract.h"
#include "session.h"
#include "tap.h"
#include "util.h"
#include "vetting.h"

#define GATES 16

typedef struct Test {
	Context ctx;
	sd_bus *server, *client;
	Session session;
	int gate[GATES][2];		/* the fake reads gate[offset / 4096][0] */
	uid_t uid;			/* of the next call */
} Test;

typedef struct Reply {
	bool done;
	char name[128];			/* error name, or "ok" */
	uint64_t usec;			/* when it came */
} Reply;

static Test T;

static int fake_vet(VetCache *cache, const VetCall *call, VetReport *rep, sd_bus_error *error)
{
	size_t i = call->offset / 4096;
	char c = 0;

	memset(rep, 0, sizeof(*rep));
	if (i >= GATES || read(T.gate[i][0], &c, 1) != 1 || c != 'o')
		return sd_bus_error_setf(error, DXM_ERROR_BAD_FILE, "fake: refused");
	return 0;
}

static int done_ok(Session *s, sd_bus_message *call, int fd, const VetRequest *req,
		   const VetReport *rep, sd_bus_error *error)
{
	return sd_bus_reply_method_return(call, NULL);
}

/* The "daemon": after vetting.c's filter, this one takes AttachFile. */
static int server_filter(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	uint64_t off, len;
	VetRequest req;
	int fd, r;

	if (!sd_bus_message_is_method_call(m, NULL, "AttachFile"))
		return 0;
	r = sd_bus_message_read(m, "htt", &fd, &off, &len);
	if (r < 0)
		return r;
	req = (VetRequest){ .offset = off, .length = len };
	r = vetting_submit(&T.session, m, T.uid, fd, &req, done_ok, &e);
	if (r < 0) {
		r = sd_bus_reply_method_error(m, &e);
		sd_bus_error_free(&e);
	}
	return 1;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Reply *rp = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	snprintf(rp->name, sizeof(rp->name), "%s", e ? e->name : "ok");
	rp->usec = now_usec(CLOCK_MONOTONIC);
	rp->done = true;
	return 0;
}

static void pump(unsigned ms)
{
	uint64_t end = now_usec(CLOCK_MONOTONIC) + ms * 1000ULL;

	do {
		while (sd_bus_process(T.client, NULL) > 0)
			;
		while (sd_bus_process(T.server, NULL) > 0)
			;
		uv_run(&T.ctx.loop, UV_RUN_NOWAIT);
		usleep(1000);
	} while (now_usec(CLOCK_MONOTONIC) < end);
}

static void pump_until(Reply *rp, unsigned ms)
{
	uint64_t end = now_usec(CLOCK_MONOTONIC) + ms * 1000ULL;

	while (!rp->done && now_usec(CLOCK_MONOTONIC) < end)
		pump(5);
}

/* AttachFile(fd, gate * 4096, 4096) from the client. */
static void attach(Reply *rp, int fd, unsigned gate)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	*rp = (Reply){ 0 };
	r = sd_bus_message_new_method_call(T.client, &m, NULL, "/s", DXM_SESSION_IFACE, "AttachFile");
	if (r >= 0)
		r = sd_bus_message_append(m, "htt", fd, (uint64_t)gate * 4096, (uint64_t)4096);
	if (r >= 0)
		r = sd_bus_call_async(T.client, NULL, m, on_reply, rp, 60ULL * 1000000);
	if (r < 0)
		tap_bail("sending AttachFile: %s", strerror(-r));
	pump(20);
}

static void open_gate(unsigned gate, char c)
{
	if (write(T.gate[gate][1], &c, 1) != 1)
		tap_bail("gate %u: %m", gate);
}

static bool has_eof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLIN));
}

static void pump(unsigned ms);

static void setup(void)
{
	int s[2], r;
	sd_id128_t id;

	config_init_defaults(&T.ctx.config);
	T.ctx.config.max_vetting_per_user = 1;
	T.ctx.config.max_vetting_queued_per_user = 1;
	T.ctx.config.vet_timeout_sec = 1;
	T.ctx.config.max_client_fds = 16;
	T.ctx.quota = (Quota)QUOTA_NULL;
	T.ctx.vet_cache = (VetCache)VET_CACHE_INIT;
	T.ctx.vet = fake_vet;
	T.uid = 1000;
	T.session = (Session){ .ctx = &T.ctx, .id = 7, .uid = 1000 };
	for (int i = 0; i < GATES; i++)
		if (pipe2(T.gate[i], O_CLOEXEC) < 0)
			tap_bail("pipe: %m");
	if (uv_loop_init(&T.ctx.loop) < 0 || vetting_start(&T.ctx) < 0)
		tap_bail("loop or vetting_start");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, s) < 0)
		tap_bail("socketpair: %m");
	r = sd_id128_randomize(&id);
	if (r >= 0)
		r = sd_bus_new(&T.server);
	if (r >= 0)
		r = sd_bus_set_fd(T.server, s[0], s[0]);
	if (r >= 0)
		r = sd_bus_set_server(T.server, 1, id);
	if (r >= 0)
		r = sd_bus_set_anonymous(T.server, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(T.server, 1);
	/* sd-bus runs the filter added last first: vetting.c's goes last. */
	if (r >= 0)
		r = sd_bus_add_filter(T.server, NULL, server_filter, NULL);
	if (r >= 0)
		r = sd_bus_add_filter(T.server, &T.ctx.vet_filter_slot, vetting_bus_filter, &T.ctx);
	if (r >= 0)
		r = sd_bus_start(T.server);
	if (r >= 0)
		r = sd_bus_new(&T.client);
	if (r >= 0)
		r = sd_bus_set_fd(T.client, s[1], s[1]);
	if (r >= 0)
		r = sd_bus_set_anonymous(T.client, 1);
	if (r >= 0)
		r = sd_bus_negotiate_fds(T.client, 1);
	if (r >= 0)
		r = sd_bus_start(T.client);
	if (r < 0)
		tap_bail("bus pair: %s", strerror(-r));
	T.ctx.bus = T.server;
	/* The handshake, before a call with fds waits for it. */
	for (int i = 0; i < 1000 && (sd_bus_is_ready(T.client) <= 0 || sd_bus_is_ready(T.server) <= 0); i++)
		pump(1);
	if (sd_bus_is_ready(T.client) <= 0)
		tap_bail("the bus pair did not start");
}

int main(void)
{
	Reply a, b, c;
	int p[2], fds[17][2];
	uint64_t sent;

	tap_plan(13);
	setup();

	/* The cap, the line, Busy, then the line moves. */
	attach(&a, T.ctx.vet_null_fd, 0);
	attach(&b, T.ctx.vet_null_fd, 1);
	attach(&c, T.ctx.vet_null_fd, 2);
	pump_until(&c, 500);
	tap_ok(!a.done && !b.done && c.done && streq(c.name, DXM_ERROR_BUSY),
	       "MaxVettingPerUser=1, MaxVettingQueuedPerUser=1: one vetted, one in line, the third Busy (%s)",
	       c.name);
	open_gate(0, 'o');
	pump_until(&a, 500);
	pump(50);
	tap_ok(a.done && streq(a.name, "ok") && !b.done,
	       "the first passes; the call in line starts in its place (%s)", a.name);
	open_gate(1, 'o');
	pump_until(&b, 500);
	tap_ok(b.done && streq(b.name, "ok"), "then it passes too (%s)", b.name);

	/* In line at most VetTimeoutSec, then on a thread at most
	 * VetTimeoutSec more: a call that waited 0.4 s in line and then
	 * hangs gets Timeout VetTimeoutSec after it STARTED. */
	attach(&a, T.ctx.vet_null_fd, 3);
	pump(400);
	sent = now_usec(CLOCK_MONOTONIC);
	attach(&b, T.ctx.vet_null_fd, 4);
	pump(400);
	open_gate(3, 'o');
	pump_until(&b, 3000);
	tap_ok(a.done && streq(a.name, "ok") && b.done && streq(b.name, DXM_ERROR_TIMEOUT) &&
	       b.usec - sent > 1250000 && b.usec - sent < 2000000,
	       "a call that waited in line, then hangs, gets Timeout VetTimeoutSec after it "
	       "started (%s after %.2f s)", b.name, (double)(b.usec - sent) / 1e6);
	open_gate(4, 'o');	/* its thread returns, unobserved */
	pump(100);

	/* Behind a thread that hangs, a call in line gets Timeout
	 * VetTimeoutSec after it arrived ("no vetting thread was free"). */
	attach(&a, T.ctx.vet_null_fd, 12);
	pump(400);
	sent = now_usec(CLOCK_MONOTONIC);
	attach(&b, T.ctx.vet_null_fd, 13);
	pump_until(&b, 3000);
	tap_ok(b.done && (streq(b.name, DXM_ERROR_TIMEOUT) || streq(b.name, DXM_ERROR_BUSY)) &&
	       b.usec - sent < 1250000,
	       "a call in line behind a hung thread is answered within VetTimeoutSec of its "
	       "arrival (%s after %.2f s)", b.name, (double)(b.usec - sent) / 1e6);
	pump_until(&a, 3000);
	open_gate(12, 'o');
	open_gate(13, 'o');
	pump(100);

	/* The session ends while its file is vetted: Revoked at once; the
	 * thread's return later answers nobody. */
	attach(&a, T.ctx.vet_null_fd, 5);
	vetting_session_event(&T.session, SESSION_EVENT_ENDING);
	pump_until(&a, 500);
	tap_ok(a.done && streq(a.name, DXM_ERROR_REVOKED), "session ended while vetted: %s at once",
	       a.name);
	open_gate(5, 'o');
	pump(100);
	tap_ok(vetting_busy(&T.ctx) == 0 && !T.ctx.vet_jobs, "its thread returned, the job is gone");

	/* Revoked (not ended) while vetted: checked again when the thread
	 * returns, the grant is not made. */
	attach(&a, T.ctx.vet_null_fd, 6);
	T.session.info.state = DAXMIRROR_STATE_REVOKED;
	open_gate(6, 'o');
	pump_until(&a, 500);
	tap_ok(a.done && streq(a.name, DXM_ERROR_REVOKED),
	       "session revoked while vetted: %s when the thread returns, not the grant", a.name);
	T.session.info.state = 0;

	/* The fd is the client's until the vetting is done, then dropped on
	 * a thread: a pipe's write end, whose read end sees EOF then. */
	if (pipe2(p, O_CLOEXEC) < 0)
		tap_bail("pipe: %m");
	attach(&a, p[1], 7);
	close(p[1]);
	pump(100);
	tap_ok(!has_eof(p[0]) && T.ctx.vet_holds && T.ctx.vet_held_fds == 1,
	       "while it is vetted the broker holds the fd (one held)");
	open_gate(7, 'o');
	pump_until(&a, 500);
	pump(100);
	tap_ok(streq(a.name, "ok") && has_eof(p[0]) && !T.ctx.vet_holds && T.ctx.vet_held_fds == 0,
	       "once vetted, a thread dropped it (EOF on the pipe), nothing held");
	close(p[0]);

	/* MaxClientFds=16: a call carrying 17 is refused, its fds dropped. */
	{
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
		int r;

		c = (Reply){ 0 };
		r = sd_bus_message_new_method_call(T.client, &m, NULL, "/s", DXM_SESSION_IFACE, "Other");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'a', "h");
		for (int i = 0; i < 17 && r >= 0; i++) {
			if (pipe2(fds[i], O_CLOEXEC) < 0)
				tap_bail("pipe: %m");
			r = sd_bus_message_append(m, "h", fds[i][1]);
			close(fds[i][1]);
		}
		if (r >= 0)
			r = sd_bus_message_close_container(m);
		if (r >= 0)
			r = sd_bus_call_async(T.client, NULL, m, on_reply, &c, 60ULL * 1000000);
		if (r < 0)
			tap_bail("sending 17 fds: %s", strerror(-r));
		m = sd_bus_message_unref(m);	/* the client's copies of the fds */
		pump_until(&c, 1000);
		pump(100);
		tap_ok(c.done && streq(c.name, DXM_ERROR_TOO_MANY_FDS) && has_eof(fds[16][0]) &&
		       T.ctx.vet_held_fds == 0,
		       "17 fds over MaxClientFds=16: %s, and dropped on a thread", c.name);
		for (int i = 0; i < 17; i++)
			close(fds[i][0]);
	}

	/* Shutdown with a thread blocked and a call in line: both answered
	 * Busy; the thread is not waited for, and when it returns the job
	 * goes. */
	attach(&a, T.ctx.vet_null_fd, 8);
	attach(&b, T.ctx.vet_null_fd, 9);
	{
		size_t busy;

		busy = vetting_stop(&T.ctx);
		tap_ok(busy == 2, "vetting_stop: the blocked vetting thread and the close of the call in line's fd still busy (%zu)",
		       busy);
	}
	pump_until(&b, 500);
	pump_until(&a, 500);
	open_gate(8, 'o');
	for (int i = 0; i < 100 && vetting_busy(&T.ctx); i++)
		pump(10);
	tap_ok(a.done && streq(a.name, DXM_ERROR_BUSY) && b.done && streq(b.name, DXM_ERROR_BUSY) &&
	       !T.ctx.vet_jobs && !T.ctx.vet_holds,
	       "stopping: both callers Busy (%s, %s); when the thread returns nothing is left",
	       a.name, b.name);

	T.ctx.bus = NULL;
	T.client = sd_bus_flush_close_unref(T.client);
	T.server = sd_bus_flush_close_unref(T.server);
	uv_run(&T.ctx.loop, UV_RUN_DEFAULT);
	uv_loop_close(&T.ctx.loop);
	safe_close(T.ctx.vet_null_fd);
	quota_done(&T.ctx.quota);
	for (int i = 0; i < GATES; i++) {
		close(T.gate[i][0]);
		close(T.gate[i][1]);
	}
	return tap_done();
}
