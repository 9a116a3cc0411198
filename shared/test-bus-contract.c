/* test-bus-contract.c - the C contract agrees with the API reference: every
 * org.daxmirror1.Error.* name listed in docs/org.daxmirror1.xml is in the
 * error map and no other, and with the map registered sd-bus gives each
 * named error its errno. TAP. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bus-contract.h"
#include "macro.h"
#include "tap.h"

static bool in_map(const char *name)
{
	for (const sd_bus_error_map *m = dxm_bus_error_map; m->name; m++)
		if (!strcmp(m->name, name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	_cleanup_fclose_ FILE *xml = NULL;
	char line[512], name[128];
	unsigned int listed = 0, mapped = 0;
	bool in_list = false;

	if (argc != 2) {
		fprintf(stderr, "usage: test-bus-contract docs/org.daxmirror1.xml\n");
		return 2;
	}
	xml = fopen(argv[1], "re");
	if (!xml)
		tap_bail("%s: %s", argv[1], strerror(errno));
	/* The error list: "Errors are ..." up to the end of that comment. */
	while (fgets(line, sizeof(line), xml)) {
		if (strstr(line, "Errors are " DXM_ERROR_PREFIX)) {
			in_list = true;
			continue;
		}
		if (!in_list)
			continue;
		if (strstr(line, "-->"))
			break;
		if (sscanf(line, " %127[A-Za-z] ", name) == 1 &&
		    line[strspn(line, " ")] != '\0' && strspn(line, " ") == 4) {
			char full[192];

			snprintf(full, sizeof(full), "%s%s", DXM_ERROR_PREFIX, name);
			tap_ok(in_map(full), "listed in the XML and in the map: %s", full);
			listed++;
		}
	}
	for (const sd_bus_error_map *m = dxm_bus_error_map; m->name; m++)
		mapped++;
	tap_ok(listed == mapped && listed, "the XML lists %u errors, the map has %u",
	       listed, mapped);

	if (dxm_bus_errors_register() < 0)
		tap_bail("dxm_bus_errors_register failed");
	for (const sd_bus_error_map *m = dxm_bus_error_map; m->name; m++) {
		sd_bus_error e = SD_BUS_ERROR_NULL;

		sd_bus_error_set(&e, m->name, "test");
		tap_ok(sd_bus_error_get_errno(&e) == m->code &&
		       sd_bus_error_has_name(&e, m->name),
		       "sd_bus_error_get_errno gives the mapped errno for %s", m->name);
		sd_bus_error_free(&e);
	}
	return tap_done();
}
