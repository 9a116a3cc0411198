/* bus-util.c - daxmirrorctl's sd-bus side (see bus-util.h): the bus
 * address, Properties.GetAll readers for the Manager and the Sessions (a
 * property the daemon does not serve is left as it was: 0, NULL), and the
 * D-Bus error → message and exit code table. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "parse.h"
#include "util.h"

#define SESSION_PREFIX DXM_SESSION_PREFIX "/"

const char *bus_address_choose(const char *option)
{
	const char *env;

	if (option && *option)
		return option;
	env = secure_getenv("DAXMIRROR_BUS_ADDRESS");
	return env && *env ? env : NULL;
}

int bus_connect_fail(const char *address, int r)
{
	fprintf(stderr, "daxmirrorctl: cannot connect to %s: %s\n"
		"daxmirrord is not reachable: is D-Bus running ('systemctl status dbus')?\n",
		address ? address : "the system bus", strerror(-r));
	return CTL_EXIT_NO_DAEMON;
}

int bus_fail(const sd_bus_error *e, int r, const char *what, const char *denied)
{
	const char *msg = e && e->message ? e->message : strerror(r < 0 ? -r : EIO);

	if (!e || !e->name) {
		fprintf(stderr, "daxmirrorctl: %s: %s\n", what, msg);
		return CTL_EXIT_FAILURE;
	}
	if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN,
				   SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
		fprintf(stderr, "daxmirrorctl: daxmirrord is not running: start it with "
			"'systemctl start daxmirrord' or check 'journalctl -u daxmirrord'\n");
		return CTL_EXIT_NO_DAEMON;
	}
	if (sd_bus_error_has_name(e, DXM_ERROR_MODULE_NOT_LOADED)) {
		fprintf(stderr, "daxmirrorctl: the daxmirror module is not loaded: "
			"modprobe daxmirror\n");
		return CTL_EXIT_NO_MODULE;
	}
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED)) {
		/* The bus policy refused the call before daxmirrord saw it:
		 * dbus-daemon's text ("Rejected send message, 3 matched
		 * rules; ...") tells an admin nothing. */
		fprintf(stderr, "daxmirrorctl: permission denied: %s\n", denied ? denied : what);
		return CTL_EXIT_DENIED;
	}
	if (sd_bus_error_has_name(e, DXM_ERROR_ACCESS_DENIED)) {
		fprintf(stderr, "daxmirrorctl: permission denied: %s (%s)\n",
			denied ? denied : what, msg);
		return CTL_EXIT_DENIED;
	}
	if (sd_bus_error_has_name(e, DXM_ERROR_QUOTA_EXCEEDED)) {
		fprintf(stderr, "daxmirrorctl: quota exceeded: %s\n"
			"'daxmirrorctl status' shows the limits (set in "
			"/etc/daxmirror/daxmirrord.conf); free some sessions or mirrors first\n",
			msg);
		return CTL_EXIT_QUOTA;
	}
	if (sd_bus_error_has_names(e, DXM_ERROR_NO_SUCH_SESSION, SD_BUS_ERROR_UNKNOWN_OBJECT)) {
		fprintf(stderr, "daxmirrorctl: %s: no such session "
			"('daxmirrorctl list-sessions' lists them)\n", what);
		return CTL_EXIT_FAILURE;
	}
	if (sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT)) {
		fprintf(stderr, "daxmirrorctl: %s: daxmirrord did not answer (%s); "
			"check 'journalctl -u daxmirrord'\n", what, msg);
		return CTL_EXIT_FAILURE;
	}
	fprintf(stderr, "daxmirrorctl: %s: %s (%s)\n", what, msg, e->name);
	return CTL_EXIT_FAILURE;
}

/* ---- Properties.GetAll ------------------------------------------------ */

/* Reads the variant's value if its signature is @sig (1 if read, 0 if
 * skipped: a type this version does not expect). */
static int read_variant_basic(sd_bus_message *m, char type, void *out)
{
	char sig[2] = { type, 0 };
	int r;

	r = sd_bus_message_enter_container(m, 'v', sig);
	if (r == 0 || r == -ENXIO)
		return sd_bus_message_skip(m, "v") < 0 ? -EBADMSG : 0;
	if (r < 0)
		return r;
	if (type == 's') {
		const char *s;
		char **p = out;

		r = sd_bus_message_read_basic(m, 's', &s);
		if (r < 0)
			return r;
		free(*p);
		*p = strdup(s);
		if (!*p)
			return -ENOMEM;
	} else if (type == 'b') {
		int b;

		r = sd_bus_message_read_basic(m, 'b', &b);
		if (r < 0)
			return r;
		*(bool *)out = b;
	} else {
		r = sd_bus_message_read_basic(m, type, out);
		if (r < 0)
			return r;
	}
	r = sd_bus_message_exit_container(m);
	return r < 0 ? r : 1;
}

typedef struct Prop {
	const char *name;
	char type;
	size_t offset;
} Prop;

typedef int (*prop_special_t)(sd_bus_message *m, const char *name, void *userdata);

/* Calls GetAll(@iface) on @path and fills @obj through @props; keys not in
 * @props go to @special (if not NULL and it returns 1), else are skipped. */
static int get_all(sd_bus *bus, const char *path, const char *iface, const Prop *props,
		   size_t n_props, void *obj, prop_special_t special, sd_bus_error *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, DXM_BUS_NAME, path, "org.freedesktop.DBus.Properties",
			       "GetAll", e, &reply, "s", iface);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		const char *name;
		bool done = false;

		r = sd_bus_message_read_basic(reply, 's', &name);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n_props && !done; i++) {
			if (!streq(props[i].name, name))
				continue;
			r = read_variant_basic(reply, props[i].type, (char *)obj + props[i].offset);
			if (r < 0)
				return r;
			done = true;
		}
		if (!done && special) {
			r = special(reply, name, obj);
			if (r < 0)
				return r;
			done = r > 0;
		}
		if (!done && sd_bus_message_skip(reply, "v") < 0)
			return -EBADMSG;
		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(reply) < 0 ? -EBADMSG : 0;
}

int manager_get(sd_bus *bus, ManagerInfo *m, sd_bus_error *e)
{
	static const Prop props[] = {
		{ "Version", 's', offsetof(ManagerInfo, version) },
		{ "ModuleState", 's', offsetof(ManagerInfo, module_state) },
		{ "ModuleVersion", 'u', offsetof(ManagerInfo, module_version) },
		{ "SessionCount", 'u', offsetof(ManagerInfo, session_count) },
		{ "MirrorCount", 'u', offsetof(ManagerInfo, mirror_count) },
		{ "MirroredBytes", 't', offsetof(ManagerInfo, mirrored_bytes) },
		{ "MaxSessionsPerUser", 'u', offsetof(ManagerInfo, max_sessions_per_user) },
		{ "MaxBytesPerUser", 't', offsetof(ManagerInfo, max_bytes_per_user) },
		{ "MaxMirrorsPerSession", 'u', offsetof(ManagerInfo, max_mirrors_per_session) },
	};

	return get_all(bus, DXM_OBJECT_ROOT, DXM_MANAGER_IFACE, props, ARRAY_SIZE(props), m, NULL,
		       e);
}

/* Reads a variant of type "a@elem", calling @read_one for each element
 * until it returns 0 (end of array) or an error. 1 if read. */
static int read_array_variant(sd_bus_message *m, const char *elem, SessionInfo *s,
			      int (*read_one)(sd_bus_message *m, SessionInfo *s))
{
	char sig[32];
	int r;

	snprintf(sig, sizeof(sig), "a%s", elem);
	r = sd_bus_message_enter_container(m, 'v', sig);
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	r = sd_bus_message_enter_container(m, 'a', elem);
	if (r < 0)
		return r;
	while ((r = read_one(m, s)) > 0)
		;
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	return r < 0 ? r : 1;
}

/* Sets *@str (a field of @elem) to a copy of @src and appends the @size
 * bytes at @elem to the array *@v of *@n elements. 1, or -ENOMEM with
 * nothing appended. */
static int append_with_string(void *v, size_t *n, void *elem, size_t size, char **str,
			      const char *src)
{
	void **array = v;
	char *nv;

	*str = strdup(src);
	nv = *str ? realloc(*array, (*n + 1) * size) : NULL;
	if (!nv) {
		freep(str);
		return -ENOMEM;
	}
	memcpy(nv + *n * size, elem, size);
	*array = nv;
	(*n)++;
	return 1;
}

/* One (sttb) of Files: 1 appended to s->files, 0 at the end. */
static int read_file(sd_bus_message *m, SessionInfo *s)
{
	SessionFile f = { 0 };
	const char *path;
	int w, r;

	r = sd_bus_message_read(m, "(sttb)", &path, &f.offset, &f.length, &w);
	if (r <= 0)
		return r;
	f.write = w;
	return append_with_string(&s->files, &s->n_files, &f, sizeof(f), &f.path, path);
}

/* One (tttsbttt) of Mirrors: 1 appended to s->mirrors, 0 at the end. */
static int read_mirror(sd_bus_message *m, SessionInfo *s)
{
	SessionMirror x = { 0 };
	const char *state;
	int dax, r;

	r = sd_bus_message_read(m, "(tttsbttt)", &x.id, &x.start, &x.length, &state, &dax,
				&x.entries_4k, &x.entries_2m, &x.entries_1g);
	if (r > 0) {
		x.dax = dax;
		r = append_with_string(&s->mirrors, &s->n_mirrors, &x, sizeof(x), &x.state, state);
	}
	return r;
}

static int session_special(sd_bus_message *m, const char *name, void *userdata)
{
	if (streq(name, "Files"))
		return read_array_variant(m, "(sttb)", userdata, read_file);
	if (streq(name, "Mirrors"))
		return read_array_variant(m, "(tttsbttt)", userdata, read_mirror);
	return 0;
}

int session_get(sd_bus *bus, const char *path, SessionInfo *s, sd_bus_error *e)
{
	static const Prop props[] = {
		{ "Id", 't', offsetof(SessionInfo, id) },
		{ "UID", 'u', offsetof(SessionInfo, uid) },
		{ "PID", 'u', offsetof(SessionInfo, pid) },
		{ "State", 's', offsetof(SessionInfo, state) },
		{ "CreatedUSec", 't', offsetof(SessionInfo, created_usec) },
		{ "Write", 'b', offsetof(SessionInfo, write) },
		{ "PageCache", 'b', offsetof(SessionInfo, page_cache) },
		{ "MirroredBytes", 't', offsetof(SessionInfo, mirrored_bytes) },
		{ "DeviceFaults", 't', offsetof(SessionInfo, device_faults) },
		{ "RangeFaults", 't', offsetof(SessionInfo, range_faults) },
		{ "RangeRetries", 't', offsetof(SessionInfo, range_retries) },
		{ "Invalidations", 't', offsetof(SessionInfo, invalidations) },
		{ "BytesRead", 't', offsetof(SessionInfo, bytes_read) },
		{ "BytesWritten", 't', offsetof(SessionInfo, bytes_written) },
		/* Newer than the rest: from a daemon without them, NULL and 0. */
		{ "Backend", 's', offsetof(SessionInfo, backend) },
		{ "DmaTransfers", 't', offsetof(SessionInfo, dma_transfers) },
		{ "DmaMappings", 't', offsetof(SessionInfo, dma_mappings) },
	};

	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	return get_all(bus, path, DXM_SESSION_IFACE, props, ARRAY_SIZE(props), s, session_special, e);
}

int sessions_get_all(sd_bus *bus, SessionInfo **ret, size_t *n_ret, sd_bus_error *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	SessionInfo *v = NULL;
	size_t n = 0;
	uint64_t id;
	const char *path, *state;
	uint32_t uid, pid;
	int r;

	r = sd_bus_call_method(bus, DXM_BUS_NAME, DXM_OBJECT_ROOT, DXM_MANAGER_IFACE, "ListSessions",
			       e, &reply, "");
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "(tousu)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(reply, "(tousu)", &id, &path, &uid, &state, &pid)) > 0) {
		sd_bus_error e2 = SD_BUS_ERROR_NULL;
		SessionInfo *nv = realloc(v, (n + 1) * sizeof(*nv));

		if (!nv) {
			r = -ENOMEM;
			break;
		}
		v = nv;
		v[n] = (SessionInfo){ 0 };
		r = session_get(bus, path, &v[n], &e2);
		if (r < 0 && sd_bus_error_has_names(&e2, SD_BUS_ERROR_UNKNOWN_OBJECT,
						    DXM_ERROR_NO_SUCH_SESSION)) {
			/* Gone since ListSessions: leave it out. */
			session_info_done(&v[n]);
			sd_bus_error_free(&e2);
			continue;
		}
		if (r < 0) {
			sd_bus_error_move(e, &e2);
			session_info_done(&v[n]);
			break;
		}
		sd_bus_error_free(&e2);
		n++;
	}
	if (r < 0) {
		session_infos_free(v, n);
		return r;
	}
	*ret = v;
	*n_ret = n;
	return 0;
}

int session_path_from_arg(const char *arg, char **ret)
{
	const char *id = arg;
	uint64_t v;

	if (strncmp(arg, SESSION_PREFIX, strlen(SESSION_PREFIX)) == 0)
		id = arg + strlen(SESSION_PREFIX);
	if (*id < '1' || *id > '9')
		return -EINVAL;
	if (dxm_parse_u64(id, &v) < 0)
		return -EINVAL;
	if (asprintf(ret, SESSION_PREFIX "%" PRIu64, v) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}
