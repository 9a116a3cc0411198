/* fuzz-open-session.c - libFuzzer harness of daxmirrord's OpenSession
 * handler (daemon/manager.c's manager_method_open_session(), with the
 * daemon's a{sv} reader of daemon/bus.c): the fuzz input makes the a{sv}
 * options (known keys, unknown ones, repeats, values of every type), the
 * configuration (AllowPageCache, AllowAnonymous, the limits), the caller's
 * uid and what the uid has already used. The handler runs its option,
 * policy and quota checks and stops at the module, which is "not loaded"
 * here (kernel.fd -1): no session is created. Crashes, leaks and UB fail;
 * so does a successful return. */
#include "fuzz-bus.h"

#include "context.h"
#include "manager.h"
#include "quota.h"

/* The caller's credentials come from the bus; here from the input: the
 * harness is linked with -Wl,--wrap=bus_caller, so the daemon's calls of
 * bus_caller() (daemon/bus.c) land here. */
static uid_t fuzz_uid;

int __wrap_bus_caller(sd_bus_message *m, uid_t *uid, pid_t *pid, sd_bus_error *error);

int __wrap_bus_caller(sd_bus_message *m, uid_t *uid, pid_t *pid, sd_bus_error *error)
{
	(void)m;
	(void)error;
	*uid = fuzz_uid;
	if (pid)
		*pid = 4242;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"Write", "PageCache", "Anonymous", "MaxMirrors", "MaxBytes",
	};
	sd_bus_message *m = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	struct fz f = { data, size };
	Context ctx;
	uint8_t cfg = fz_u8(&f);
	int r;

	memset(&ctx, 0, sizeof(ctx));
	ctx.kernel.fd = -1;
	ctx.kernel.path = "/dev/daxmirror";
	config_init_defaults(&ctx.config);
	ctx.config.allow_pagecache = cfg & 1;
	ctx.config.allow_anonymous = cfg & 2;
	if (cfg & 4)
		ctx.config.max_sessions_per_user = (uint32_t)fz_u64(&f, 1);
	if (cfg & 8)
		ctx.config.max_bytes_per_user = fz_u64(&f, 8);
	if (cfg & 16)
		ctx.config.max_mirrors_per_session = (uint32_t)fz_u64(&f, 2);
	fuzz_uid = cfg & 32 ? 0 : 1000;
	if (cfg & 64) {		/* what the uid already holds */
		unsigned n = fz_u8(&f) % 20;

		for (unsigned i = 0; i < n; i++)
			quota_session_add(&ctx.quota, fuzz_uid);
		quota_bytes_add(&ctx.quota, fuzz_uid, fz_u64(&f, 8));
	}

	if (sd_bus_message_new_method_call(fz_bus(), &m, DXM_BUS_NAME, DXM_OBJECT_ROOT,
					   DXM_MANAGER_IFACE, "OpenSession") < 0)
		abort();
	if (fz_options(m, &f, keys, sizeof(keys) / sizeof(keys[0])) >= 0 && fz_seal(m) >= 0) {
		r = manager_method_open_session(m, &ctx, &error);
		/* Never a session without the module; every refusal an error. */
		if (r >= 0 || (!sd_bus_error_is_set(&error) && r != -ENOMEM && r != -EINVAL &&
			       r != -ENXIO && r != -EBADMSG))
			abort();
	}
	sd_bus_error_free(&error);
	sd_bus_message_unref(m);
	quota_done(&ctx.quota);
	return 0;
}
