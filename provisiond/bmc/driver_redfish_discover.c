/* driver_redfish_discover.c - finding the ComputerSystem to act on.
 *
 * Never a hard-coded path: BMCs name their systems "1", "System.Embedded.1",
 * "437XR1138R2" or a UUID. The driver follows the service root's Systems link to the
 * collection; with one member it takes it, with several the system_id option names
 * one (by the last segment of its @odata.id, else by its Id property). The path
 * found is cached with the BMC's session and found again after a 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/driver_redfish.h"

static const char *last_segment(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void member_names(const json_t *members, char *buf, size_t len)
{
	size_t i, n = 0;
	const json_t *m;

	buf[0] = '\0';
	json_array_foreach(members, i, m)
	{
		const char *id = json_string_value(json_object_get(m, "@odata.id"));
		if (id != NULL && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
					      last_segment(id));
	}
}

/* A member whose Id property is want (GETs each one). NULL if none. */
static const char *member_by_id(struct rf_inst *in, const json_t *members, const char *want,
				struct bmc_error *e, enum bmc_status *st)
{
	size_t i;
	const json_t *m;

	json_array_foreach(members, i, m)
	{
		const char *path = json_string_value(json_object_get(m, "@odata.id"));
		struct rf_resp r;
		const char *id;
		bool hit;
		if (path == NULL)
			continue;
		*st = rf_request(in, "GET", path, NULL, NULL, &r, e);
		if (*st != BMC_OK)
			return NULL;
		id = json_string_value(json_object_get(r.body, "Id"));
		hit = r.status == 200 && id != NULL && strcmp(id, want) == 0;
		rf_resp_free(&r);
		if (hit)
			return path;
	}
	return NULL;
}

static enum bmc_status pick_member(struct rf_inst *in, const json_t *members, const char **out,
				   struct bmc_error *e)
{
	const char *want = in->c.system_id;
	char names[160];
	size_t i, n = json_array_size(members);
	const json_t *m;
	enum bmc_status st = BMC_OK;

	member_names(members, names, sizeof(names));
	if (n == 0)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "BMC at %s lists no systems",
				     in->c.base);
	if (want[0] == '\0' && n > 1)
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.options.system_id",
				     "BMC at %s has %zu systems (%s): name one", in->c.base, n,
				     names);
	json_array_foreach(members, i, m)
	{
		const char *path = json_string_value(json_object_get(m, "@odata.id"));
		if (path != NULL && (want[0] == '\0' || strcmp(last_segment(path), want) == 0)) {
			*out = path;
			return BMC_OK;
		}
	}
	*out = member_by_id(in, members, want, e, &st);
	if (st == BMC_OK && *out == NULL)
		st = bmc_error_set(e, BMC_ERR_INVALID, "bmc.options.system_id",
				   "BMC at %s has no system '%s' (it has: %s)", in->c.base, want,
				   names);
	return st;
}

static enum bmc_status discover(struct rf_inst *in, struct bmc_error *e)
{
	struct rf_entry *en = in->en;
	struct rf_resp r;
	const char *path = NULL;
	enum bmc_status st = en->systems_uri == NULL ? rf_root(in, e) : BMC_OK;

	if (st != BMC_OK)
		return st;
	if (en->systems_uri == NULL)
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				     "BMC at %s has no Systems link in its service root",
				     in->c.base);
	st = rf_request(in, "GET", en->systems_uri, NULL, NULL, &r, e);
	if (st == BMC_OK && r.status != 200)
		st = rf_http_error(in, "GET Systems", &r, e);
	if (st == BMC_OK)
		st = pick_member(in, json_object_get(r.body, "Members"), &path, e);
	if (st == BMC_OK && (en->system_uri = strdup(rf_path_of(path))) == NULL)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	rf_resp_free(&r);
	return st;
}

enum bmc_status rf_system_get(struct rf_inst *in, struct rf_resp *sys, struct bmc_error *e)
{
	struct rf_entry *en = in->en;
	bool cached = en->system_uri != NULL;
	enum bmc_status st = cached ? BMC_OK : discover(in, e);

	memset(sys, 0, sizeof(*sys));
	if (st == BMC_OK)
		st = rf_request(in, "GET", en->system_uri, NULL, NULL, sys, e);
	if (st == BMC_OK && sys->status == 404 && cached) {
		/* the BMC renamed or renumbered its systems: look again, once */
		rf_resp_free(sys);
		free(en->system_uri);
		free(en->systems_uri);
		en->system_uri = en->systems_uri = NULL;
		return rf_system_get(in, sys, e);
	}
	if (st == BMC_OK && sys->status != 200)
		st = rf_http_error(in, "GET system", sys, e);
	if (st == BMC_OK && !json_is_object(sys->body))
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "BMC at %s: system %s is not JSON",
				   in->c.base, en->system_uri);
	if (st != BMC_OK)
		rf_resp_free(sys);
	return st;
}
