/* test-state.c - host test of the session state record kept in systemd's
 * fd store (state.c): round trips, the exact text, escaped paths, every
 * kind of malformed record rejected, and the fd-store names. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "tap.h"

static const char good[] =
	"daxmirrord-session-state 2\n"
	"id 42\n"
	"uid 65534\n"
	"pid 1234\n"
	"owner :1.56\n"
	"created 1732540000000000\n"
	"write 1\n"
	"pagecache 0\n"
	"anonymous 0\n"
	"max-mirrors 64\n"
	"max-bytes 68719476736\n"
	"attached 12288\n"
	"file 0 8192 w 66305 12 1 /mnt/ext4dax/data\n"
	"file 4096 4096 r 2049 7 5 /odd\\\\name\\x0a with space\n"
	"end\n";

/* What a daemon before DetachFile wrote: no st_dev, st_ino. */
static const char v1[] =
	"daxmirrord-session-state 1\n"
	"id 42\n"
	"uid 65534\n"
	"pid 1234\n"
	"owner :1.56\n"
	"created 1732540000000000\n"
	"write 1\n"
	"pagecache 0\n"
	"anonymous 0\n"
	"max-mirrors 64\n"
	"max-bytes 68719476736\n"
	"attached 8192\n"
	"file 0 8192 w /mnt/ext4dax/data\n"
	"end\n";

/* @good with the first occurrence of @from replaced by @to: malformed? */
static int parse_edited(const char *from, const char *to)
{
	char buf[2048];
	const char *at = strstr(good, from);
	SessionRecord r;
	int k;

	if (!at)
		return 1;	/* a typo in the test: counts as not rejected */
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	k = session_record_parse(&r, buf, strlen(buf));
	if (k == 0)
		session_record_done(&r);
	return k;
}

int main(void)
{
	static const struct {
		const char *from, *to, *what;
	} bad[] = {
		{ "daxmirrord-session-state 2", "daxmirrord-session-state 3", "version 3" },
		{ "daxmirrord-session-state 2", "daxmirrord-session-state 12", "version 12" },
		{ "daxmirrord-session-state 2\n", "", "no magic line" },
		{ "w 66305 12 1 /mnt", "w 66305 1 /mnt", "a version-2 file line without st_ino" },
		{ "w 66305 12 1 /mnt", "w 066305 12 1 /mnt", "a non-canonical st_dev" },
		{ "w 66305 12 1 /mnt", "w 66305 12x 1 /mnt", "a bad st_ino" },
		{ "w 66305 12 1 /mnt", "w 66305 12 0 /mnt", "grant 0" },
		{ "w 66305 12 1 /mnt", "w 66305 12 /mnt", "no grant" },
		{ "id 42", "id 042", "non-canonical id" },
		{ "id 42", "id 0", "id 0" },
		{ "id 42", "id -1", "negative id" },
		{ "id 42", "id 18446744073709551616", "id overflows" },
		{ "uid 65534", "uid 4294967295", "uid -1" },
		{ "pid 1234", "pid 2147483648", "pid over INT32_MAX" },
		{ "owner :1.56", "owner org.daxmirror1", "a well-known name as owner" },
		{ "owner :1.56", "owner :1.5/6", "a bad character in the owner" },
		{ "owner :1.56", "owner :", "an empty unique name" },
		{ "write 1", "write 2", "a bool of 2" },
		{ "write 1", "write yes", "a bool of yes" },
		{ "max-mirrors 64", "max-mirrors 0", "MaxMirrors 0" },
		{ "max-mirrors 64", "max-mirrors 4097", "MaxMirrors over the module limit" },
		{ "max-bytes 68719476736", "max-bytes 4095", "MaxBytes under a page" },
		{ "attached 12288", "attached 12289", "attached is not the files' sum" },
		{ "pagecache 0\n", "", "a missing field" },
		{ "pagecache 0\n", "pagecache 0\npagecache 0\n", "a repeated field" },
		{ "anonymous 0\n", "anonymous 0\ncolour blue\n", "an unknown field" },
		{ "uid 65534\npid 1234", "pid 1234\nuid 65534", "fields out of order" },
		{ "file 0 8192 w", "file 0 8192 x", "a file mode other than r/w" },
		{ "file 0 8192", "file 1 8192", "an unaligned offset" },
		{ "file 0 8192", "file 0 0", "a zero length (and sum)" },
		{ "\\x0a", "\\x41", "an escape of a printable byte" },
		{ "\\x0a", "\\x00", "an escaped NUL" },
		{ "\\x0a", "\\q", "an unknown escape" },
		{ "\\x0a", "\t", "a raw control byte" },
		{ "/mnt/ext4dax/data\n", "\n", "an empty path" },
		{ "end\n", "", "no end line" },
		{ "end\n", "end\nextra\n", "text after end" },
		{ "end\n", "end", "no final newline" },
		{ "id 42\n", "id 42 \n", "a trailing space" },
	};
	SessionRecord r, back;
	char *text = NULL, *text2 = NULL;
	size_t size = 0, size2 = 0;
	uint64_t id, gen;
	char name[STATE_NAME_MAX];
	int k;

	k = session_record_parse(&r, good, strlen(good));
	tap_ok(k == 0, "the example record parses (%d)", k);
	if (k != 0)
		return tap_done();
	tap_ok(r.id == 42 && r.uid == 65534 && r.open_pid == 1234 && strcmp(r.owner, ":1.56") == 0 &&
	       r.created_usec == 1732540000000000ULL, "id, uid, pid, owner, created");
	tap_ok(r.options.write && !r.options.pagecache && !r.options.anonymous &&
	       r.options.max_mirrors == 64 && r.options.max_bytes == 68719476736ULL,
	       "the options");
	tap_ok(r.n_files == 2 && r.attached_bytes == 12288 && r.files[0].write &&
	       r.files[0].length == 8192 && strcmp(r.files[0].path, "/mnt/ext4dax/data") == 0 &&
	       !r.files[1].write && r.files[1].offset == 4096 &&
	       strcmp(r.files[1].path, "/odd\\name\n with space") == 0,
	       "two files, the second path unescaped (backslash, newline, space)");
	tap_ok(r.files[0].dev == 66305 && r.files[0].ino == 12 && r.files[1].dev == 2049 &&
	       r.files[1].ino == 7 && r.files[0].grant == 1 && r.files[1].grant == 5,
	       "the files' st_dev, st_ino and grant");
	{
		SessionRecord old;

		k = session_record_parse(&old, v1, strlen(v1));
		tap_ok(k == 0 && old.n_files == 1 && old.files[0].dev == 0 &&
		       old.files[0].ino == 0 && old.files[0].length == 8192 &&
		       strcmp(old.files[0].path, "/mnt/ext4dax/data") == 0,
		       "a version-1 record parses; its file has no st_dev, st_ino (%d)", k);
		if (k == 0)
			session_record_done(&old);
	}

	k = session_record_format(&r, &text, &size);
	tap_ok(k == 0 && size == strlen(good) && memcmp(text, good, size) == 0,
	       "formatting it gives the same text back, byte for byte");
	k = session_record_parse(&back, text, size);
	tap_ok(k == 0 && session_record_format(&back, &text2, &size2) == 0 && size2 == size &&
	       memcmp(text2, text, size) == 0, "parse(format(r)) round trip");
	if (k == 0)
		session_record_done(&back);
	free(text);
	free(text2);
	text = text2 = NULL;

	/* The serializer refuses what the parser would refuse. */
	{
		SessionRecord w = r;

		w.attached_bytes++;
		tap_ok(session_record_format(&w, &text, &size) == -EINVAL,
		       "format: attached bytes that are not the sum -> EINVAL");
		w = r;
		w.owner = (char *)"org.daxmirror1";
		tap_ok(session_record_format(&w, &text, &size) == -EINVAL,
		       "format: a well-known owner name -> EINVAL");
		w = r;
		w.owner = NULL;
		tap_ok(session_record_format(&w, &text, &size) == -EINVAL,
		       "format: no owner -> EINVAL");
		w = r;
		w.n_files = 0;
		w.attached_bytes = 0;
		tap_ok(session_record_format(&w, &text, &size) == 0 &&
		       session_record_parse(&back, text, size) == 0 && back.n_files == 0,
		       "a record without files round-trips");
		session_record_done(&back);
		free(text);
		text = NULL;
	}
	session_record_done(&r);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k = parse_edited(bad[i].from, bad[i].to);
		tap_ok(k == -EBADMSG, "rejected: %s (%d)", bad[i].what, k);
	}
	{
		/* An embedded NUL: built by hand (strings cannot hold it). */
		char buf[sizeof(good)];

		memcpy(buf, good, sizeof(good));
		buf[strstr(good, ":1.56") - good + 2] = '\0';
		tap_ok(session_record_parse(&r, buf, sizeof(good) - 1) == -EBADMSG,
		       "rejected: a NUL byte inside a line");
	}
	tap_ok(session_record_parse(&r, good, strlen(good) - 1) == -EBADMSG,
	       "rejected: the record cut by one byte");
	tap_ok(session_record_parse(&r, "", 0) == -EBADMSG, "rejected: empty");
	{
		size_t big = STATE_MAX_SIZE + 1;
		char *huge = malloc(big);

		memset(huge, 'a', big);
		tap_ok(huge && session_record_parse(&r, huge, big) == -EBADMSG,
		       "rejected: over STATE_MAX_SIZE");
		free(huge);
	}
	{
		/* 65 files: one over the module's grant limit. */
		size_t cap = 65 * 64 + 512, len;
		char *t = malloc(cap);

		len = (size_t)snprintf(t, cap, "daxmirrord-session-state 1\nid 1\nuid 1\npid 1\n"
				       "owner :1.1\ncreated 0\nwrite 0\npagecache 0\nanonymous 0\n"
				       "max-mirrors 1\nmax-bytes 4096\nattached %u\n", 65 * 4096);
		for (int i = 0; i < 65; i++)
			len += (size_t)snprintf(t + len, cap - len, "file 0 4096 r /f\n");
		len += (size_t)snprintf(t + len, cap - len, "end\n");
		tap_ok(session_record_parse(&r, t, len) == -EBADMSG,
		       "rejected: %d files (STATE_MAX_FILES %d)", 65, STATE_MAX_FILES);
		free(t);
	}

	state_name_session(name, 7);
	tap_ok(strcmp(name, "session-7") == 0 &&
	       state_name_parse(name, &id, &gen) == STATE_NAME_SESSION && id == 7,
	       "session-7");
	state_name_record(name, 7, 3);
	tap_ok(strcmp(name, "state-7-3") == 0 &&
	       state_name_parse(name, &id, &gen) == STATE_NAME_RECORD && id == 7 && gen == 3,
	       "state-7-3");
	tap_ok(state_name_parse("session-07", &id, &gen) == STATE_NAME_INVALID &&
	       state_name_parse("session-0", &id, &gen) == STATE_NAME_INVALID &&
	       state_name_parse("session-", &id, &gen) == STATE_NAME_INVALID &&
	       state_name_parse("state-7", &id, &gen) == STATE_NAME_INVALID &&
	       state_name_parse("state-7-0", &id, &gen) == STATE_NAME_INVALID &&
	       state_name_parse("state-7-1x", &id, &gen) == STATE_NAME_INVALID &&
	       state_name_parse("stored", &id, &gen) == STATE_NAME_INVALID,
	       "malformed names are invalid");
	return tap_done();
}
