/* driver_redfish_media.c - virtual media: the BMC's virtual CD, for deploys without
 * PXE (the BMC fetches an ISO from a URL and the machine boots it as a CD).
 *
 * Never a hard-coded path, as for the system: the VirtualMedia collection is the
 * system's own (Redfish 2021.1 and later put it there) or that of a manager the
 * system names in Links.ManagedBy; the member used is the first whose MediaTypes
 * holds CD or DVD. Insert and eject are the #VirtualMedia.InsertMedia/EjectMedia
 * actions of that member; a 202 is followed like any task. Both are idempotent:
 * inserting the image already inserted, or ejecting an empty drive, sends nothing,
 * and an insert over another image ejects that first (many BMCs refuse to insert
 * into a full drive). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/driver_redfish.h"

struct rf_cd {
	char path[512];	   /* the VirtualMedia member */
	struct rf_resp r;  /* its GET */
	const char *image; /* borrowed from r.body */
	bool inserted;
};

static bool has_cd_type(const json_t *vm)
{
	const json_t *types = json_object_get(vm, "MediaTypes");
	const json_t *t;
	size_t i;

	json_array_foreach(types, i, t)
	{
		const char *s = json_string_value(t);
		if (s != NULL && (strcmp(s, "CD") == 0 || strcmp(s, "DVD") == 0))
			return true;
	}
	return false;
}

/* The first CD/DVD member of one VirtualMedia collection; BMC_OK with cd->path ""
 * when it has none. */
static enum bmc_status cd_in(struct rf_inst *in, const char *coll, struct rf_cd *cd,
			     struct bmc_error *e)
{
	struct rf_resp r;
	const json_t *m;
	size_t i;
	enum bmc_status st = rf_request(in, "GET", coll, NULL, NULL, &r, e);

	if (st == BMC_OK && r.status != 200)
		st = rf_http_error(in, "GET VirtualMedia", &r, e);
	json_array_foreach(st == BMC_OK ? json_object_get(r.body, "Members") : NULL, i, m)
	{
		const char *p = json_string_value(json_object_get(m, "@odata.id"));
		if (p == NULL)
			continue;
		st = rf_request(in, "GET", p, NULL, NULL, &cd->r, e);
		if (st != BMC_OK)
			break;
		if (cd->r.status == 200 && has_cd_type(cd->r.body)) {
			snprintf(cd->path, sizeof(cd->path), "%s", rf_path_of(p));
			break;
		}
		rf_resp_free(&cd->r);
	}
	rf_resp_free(&r);
	return st;
}

/* The VirtualMedia collections to look in: the system's, then its managers'. */
static enum bmc_status find_cd(struct rf_inst *in, struct rf_cd *cd, struct bmc_error *e)
{
	struct rf_resp sys, mgr;
	const json_t *l;
	size_t i;
	const char *coll;
	enum bmc_status st = rf_system_get(in, &sys, e);

	memset(cd, 0, sizeof(*cd));
	if (st != BMC_OK)
		return st;
	coll = json_string_value(
	    json_object_get(json_object_get(sys.body, "VirtualMedia"), "@odata.id"));
	if (coll != NULL)
		st = cd_in(in, coll, cd, e);
	json_array_foreach(json_object_get(json_object_get(sys.body, "Links"), "ManagedBy"), i, l)
	{
		const char *p = json_string_value(json_object_get(l, "@odata.id"));
		if (st != BMC_OK || cd->path[0] != '\0' || p == NULL)
			break;
		st = rf_request(in, "GET", p, NULL, NULL, &mgr, e);
		coll = json_string_value(
		    json_object_get(json_object_get(mgr.body, "VirtualMedia"), "@odata.id"));
		if (st == BMC_OK && mgr.status == 200 && coll != NULL)
			st = cd_in(in, coll, cd, e);
		rf_resp_free(&mgr);
	}
	if (st == BMC_OK && cd->path[0] == '\0')
		st = bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				   "BMC at %s offers no virtual CD for system %s", in->c.base,
				   in->en->system_uri);
	if (st == BMC_OK) {
		cd->image = json_string_value(json_object_get(cd->r.body, "Image"));
		cd->inserted = json_is_true(json_object_get(cd->r.body, "Inserted"));
	}
	rf_resp_free(&sys);
	return st;
}

/* POSTs the member's action ("InsertMedia" or "EjectMedia") with body. */
static enum bmc_status cd_action(struct rf_inst *in, const struct rf_cd *cd, const char *action,
				 const json_t *body, struct bmc_error *e)
{
	char key[64], what[64];
	const json_t *a;
	const char *target;
	struct rf_resp r;
	enum bmc_status st;

	snprintf(key, sizeof(key), "#VirtualMedia.%s", action);
	snprintf(what, sizeof(what), "VirtualMedia.%s", action);
	a = json_object_get(json_object_get(cd->r.body, "Actions"), key);
	target = json_string_value(json_object_get(a, "target"));
	if (target == NULL)
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				     "BMC at %s: virtual media %s has no %s action", in->c.base,
				     cd->path, key);
	st = rf_request(in, "POST", target, body, NULL, &r, e);
	if (st == BMC_OK && r.status == 202)
		st = rf_task_wait(in, what, &r, e);
	else if (st == BMC_OK && (r.status < 200 || r.status > 299))
		st = rf_http_error(in, what, &r, e);
	rf_resp_free(&r);
	return st;
}

static enum bmc_status eject(struct rf_inst *in, const struct rf_cd *cd, struct bmc_error *e)
{
	json_t *body = json_object();
	enum bmc_status st;

	if (body == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	st = cd_action(in, cd, "EjectMedia", body, e);
	json_decref(body);
	return st;
}

enum bmc_status rf_media_insert(void *inst, int timeout_ms, const char *url, struct bmc_error *e)
{
	struct rf_inst *in = inst;
	struct rf_cd cd;
	json_t *body;
	enum bmc_status st;

	rf_start_call(in, timeout_ms);
	st = find_cd(in, &cd, e);
	if (st == BMC_OK && cd.inserted && cd.image != NULL && strcmp(cd.image, url) == 0) {
		rf_resp_free(&cd.r);
		return BMC_OK;
	}
	if (st == BMC_OK && cd.inserted)
		st = eject(in, &cd, e);
	body = st == BMC_OK
		   ? json_pack("{s:s, s:b, s:b}", "Image", url, "Inserted", 1, "WriteProtected", 1)
		   : NULL;
	if (st == BMC_OK && body == NULL)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	if (st == BMC_OK)
		st = cd_action(in, &cd, "InsertMedia", body, e);
	json_decref(body);
	rf_resp_free(&cd.r);
	return st;
}

enum bmc_status rf_media_eject(void *inst, int timeout_ms, struct bmc_error *e)
{
	struct rf_inst *in = inst;
	struct rf_cd cd;
	enum bmc_status st;

	rf_start_call(in, timeout_ms);
	st = find_cd(in, &cd, e);
	if (st == BMC_OK && cd.inserted)
		st = eject(in, &cd, e);
	rf_resp_free(&cd.r);
	return st;
}
