/* driver_redfish.c - the "redfish" driver: DMTF Redfish over HTTPS with libcurl.
 *
 * Power is #ComputerSystem.Reset with a ResetType the BMC advertises (the dispatch
 * layer then confirms it by polling PowerState through power_get); the boot device
 * is a PATCH of Boot.BootSourceOverrideTarget/Enabled, conditional on the system's
 * ETag when the BMC gives one. The system is found from the service root
 * (driver_redfish_discover.c); sessions outlive operations
 * (driver_redfish_session.c, which says why). Each slot's HTTP requests together end
 * by the slot's timeout. Options: docs/bmc.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/bmc/driver_redfish.h"

/* ResetType for each action, in order of preference; the first one the BMC allows
 * wins. Without AllowableValues the first is sent. */
static const char *const reset_prefs[][3] = {
    [BMC_POWER_ACTION_ON] = {"On", "ForceOn", NULL},
    [BMC_POWER_ACTION_OFF] = {"ForceOff", NULL},
    [BMC_POWER_ACTION_CYCLE] = {"PowerCycle", "ForceRestart", NULL},
    [BMC_POWER_ACTION_RESET] = {"ForceRestart", "PowerCycle", NULL},
    [BMC_POWER_ACTION_SOFT_OFF] = {"GracefulShutdown", NULL},
};
_Static_assert(sizeof(reset_prefs) / sizeof(reset_prefs[0]) == BMC_POWER_ACTION__COUNT,
	       "reset_prefs must cover enum bmc_power_action");

static const char *const boot_targets[] = {
    [BMC_BOOT_PXE] = "Pxe", [BMC_BOOT_DISK] = "Hdd", [BMC_BOOT_CD] = "Cd"};
_Static_assert(sizeof(boot_targets) / sizeof(boot_targets[0]) == BMC_BOOT_DEVICE__COUNT,
	       "boot_targets must cover enum bmc_boot_device");

static enum bmc_status rf_validate(const struct bmc_target *t, const json_t *opts,
				   struct bmc_error *e)
{
	struct rf_conf c;
	enum bmc_status st = rf_conf_parse(t, opts, &c, e);

	explicit_bzero(&c, sizeof(c));
	return st;
}

static void rf_close(void *inst)
{
	struct rf_inst *in = inst;

	if (in == NULL)
		return;
	if (in->h != NULL)
		curl_easy_cleanup(in->h);
	explicit_bzero(in, sizeof(*in));
	free(in);
}

/* No I/O, except logging out a session that the target's new credentials replace. */
static enum bmc_status rf_open(void *priv, const struct bmc_target *t, const json_t *opts,
			       int timeout_ms, void **out, struct bmc_error *e)
{
	struct rf_inst *in = calloc(1, sizeof(*in));
	enum bmc_status st;

	if (in == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	in->timeout_ms = timeout_ms;
	in->deadline = rf_now_ms() + timeout_ms;
	st = rf_conf_parse(t, opts, &in->c, e);
	if (st == BMC_OK && (in->h = curl_easy_init()) == NULL)
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "cannot create a curl handle");
	if (st == BMC_OK)
		st = rf_cache_attach(priv, t, in, e);
	if (st != BMC_OK) {
		rf_close(in);
		return st;
	}
	*out = in;
	return BMC_OK;
}

void rf_start_call(struct rf_inst *in, int timeout_ms)
{
	in->timeout_ms = timeout_ms;
	in->deadline = rf_now_ms() + timeout_ms;
}

/* PoweringOn counts as not on yet, PoweringOff as not off yet: the dispatch layer
 * polls until the state it expects. */
static enum bmc_status rf_power_get(void *inst, int timeout_ms, enum bmc_power_state *out,
				    struct bmc_error *e)
{
	struct rf_inst *in = inst;
	struct rf_resp sys;
	const char *ps;
	enum bmc_status st;

	rf_start_call(in, timeout_ms);
	st = rf_system_get(in, &sys, e);
	if (st != BMC_OK)
		return st;
	ps = json_string_value(json_object_get(sys.body, "PowerState"));
	if (ps != NULL && (strcmp(ps, "On") == 0 || strcmp(ps, "PoweringOff") == 0))
		*out = BMC_POWER_ON;
	else if (ps != NULL && (strcmp(ps, "Off") == 0 || strcmp(ps, "PoweringOn") == 0))
		*out = BMC_POWER_OFF;
	else
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL,
				   "BMC at %s reports PowerState '%s' for %s", in->c.base,
				   ps ? ps : "(none)", in->en->system_uri);
	rf_resp_free(&sys);
	return st;
}

/* The ResetType AllowableValues: in the action, or in its @Redfish.ActionInfo. Returns
 * a new reference or NULL (none advertised). */
static json_t *reset_allowed(struct rf_inst *in, const json_t *action, struct bmc_error *e,
			     enum bmc_status *st)
{
	json_t *v = json_object_get(action, "ResetType@Redfish.AllowableValues");
	const char *info = json_string_value(json_object_get(action, "@Redfish.ActionInfo"));
	struct rf_resp r;
	size_t i;
	json_t *p;

	if (json_is_array(v) || info == NULL)
		return json_is_array(v) ? json_incref(v) : NULL;
	*st = rf_request(in, "GET", info, NULL, NULL, &r, e);
	if (*st != BMC_OK || r.status != 200) {
		*st = BMC_OK; /* ActionInfo is advice: without it, send the first choice */
		rf_resp_free(&r);
		return NULL;
	}
	v = NULL;
	json_array_foreach(json_object_get(r.body, "Parameters"), i, p)
	{
		const char *name = json_string_value(json_object_get(p, "Name"));
		if (name != NULL && strcmp(name, "ResetType") == 0)
			v = json_incref(json_object_get(p, "AllowableValues"));
	}
	rf_resp_free(&r);
	return json_is_array(v) ? v : (json_decref(v), NULL);
}

static bool allowed(const json_t *list, const char *value)
{
	size_t i;
	const json_t *v;

	if (list == NULL)
		return true;
	json_array_foreach(list, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
			return true;
	}
	return false;
}

static enum bmc_status choose_reset(struct rf_inst *in, enum bmc_power_action a, const json_t *list,
				    const char **out, struct bmc_error *e)
{
	char have[160];

	for (int i = 0; reset_prefs[a][i] != NULL; i++)
		if (allowed(list, reset_prefs[a][i])) {
			*out = reset_prefs[a][i];
			return BMC_OK;
		}
	have[0] = '\0';
	if (list != NULL) {
		char *s = json_dumps(list, JSON_COMPACT);
		snprintf(have, sizeof(have), "%s", s ? s : "?");
		free(s);
	}
	return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
			     "BMC at %s offers ResetType %s, none of which does '%s' (wanted %s)",
			     in->c.base, have, bmc_power_action_name(a), reset_prefs[a][0]);
}

static enum bmc_status post_reset(struct rf_inst *in, const char *target, const char *type,
				  struct bmc_error *e)
{
	json_t *body = json_pack("{s:s}", "ResetType", type);
	struct rf_resp r;
	enum bmc_status st;
	char what[64];

	if (body == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	snprintf(what, sizeof(what), "Reset %s", type);
	st = rf_request(in, "POST", target, body, NULL, &r, e);
	json_decref(body);
	if (st == BMC_OK && r.status == 202)
		st = rf_task_wait(in, what, &r, e);
	else if (st == BMC_OK && (r.status < 200 || r.status > 299))
		st = rf_http_error(in, what, &r, e);
	rf_resp_free(&r);
	return st;
}

/* On of a machine that is on, off of one that is off: nothing to send. Some BMCs
 * answer those with 409 Conflict, and "on" is resent after a timeout. */
static bool already(const struct rf_resp *sys, enum bmc_power_action a)
{
	const char *ps = json_string_value(json_object_get(sys->body, "PowerState"));

	if (ps == NULL)
		return false;
	return (a == BMC_POWER_ACTION_ON && strcmp(ps, "On") == 0) ||
	       (a == BMC_POWER_ACTION_OFF && strcmp(ps, "Off") == 0);
}

static enum bmc_status rf_power_set(void *inst, int timeout_ms, enum bmc_power_action a,
				    struct bmc_error *e)
{
	struct rf_inst *in = inst;
	struct rf_resp sys;
	const json_t *action;
	const char *target, *type = NULL;
	json_t *list = NULL;
	enum bmc_status st;

	rf_start_call(in, timeout_ms);
	st = rf_system_get(in, &sys, e);
	if (st != BMC_OK)
		return st;
	if (already(&sys, a)) {
		rf_resp_free(&sys);
		return BMC_OK;
	}
	action = json_object_get(json_object_get(sys.body, "Actions"), "#ComputerSystem.Reset");
	target = json_string_value(json_object_get(action, "target"));
	if (target == NULL)
		st = bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				   "BMC at %s: system %s has no #ComputerSystem.Reset action",
				   in->c.base, in->en->system_uri);
	if (st == BMC_OK)
		list = reset_allowed(in, action, e, &st);
	if (st == BMC_OK)
		st = choose_reset(in, a, list, &type, e);
	if (st == BMC_OK)
		st = post_reset(in, target, type, e);
	json_decref(list);
	rf_resp_free(&sys);
	return st;
}

static json_t *boot_body(const struct rf_inst *in, enum bmc_boot_device d, bool persistent)
{
	json_t *boot = json_pack("{s:s, s:s}", "BootSourceOverrideTarget", boot_targets[d],
				 "BootSourceOverrideEnabled", persistent ? "Continuous" : "Once");

	if (boot != NULL && in->c.boot_mode[0] != '\0')
		json_object_set_new(boot, "BootSourceOverrideMode", json_string(in->c.boot_mode));
	return boot ? json_pack("{s:o}", "Boot", boot) : NULL;
}

/* The system's ETag: the header, else the body's @odata.etag; NULL if none. */
static const char *etag_of(const struct rf_resp *sys)
{
	const char *t = json_string_value(json_object_get(sys->body, "@odata.etag"));

	return sys->etag[0] != '\0' ? sys->etag : t;
}

static enum bmc_status patch_boot(struct rf_inst *in, const json_t *body, const char *etag,
				  struct rf_resp *r, struct bmc_error *e)
{
	enum bmc_status st = rf_request(in, "PATCH", in->en->system_uri, body, etag, r, e);

	if (st == BMC_OK && r->status == 202)
		return rf_task_wait(in, "boot override PATCH", r, e);
	if (st == BMC_OK && r->status != 412 && (r->status < 200 || r->status > 299))
		return rf_http_error(in, "boot override PATCH", r, e);
	return st;
}

static enum bmc_status check_target(const struct rf_inst *in, const json_t *sys,
				    enum bmc_boot_device d, struct bmc_error *e)
{
	const json_t *boot = json_object_get(sys, "Boot");
	const json_t *list =
	    json_object_get(boot, "BootSourceOverrideTarget@Redfish.AllowableValues");

	if (!json_is_object(boot))
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				     "BMC at %s: system %s has no Boot object", in->c.base,
				     in->en->system_uri);
	if (json_is_array(list) && !allowed(list, boot_targets[d]))
		return bmc_error_set(e, BMC_ERR_UNSUPPORTED, NULL,
				     "BMC at %s does not offer boot override target %s", in->c.base,
				     boot_targets[d]);
	return BMC_OK;
}

static enum bmc_status rf_boot_set(void *inst, int timeout_ms, enum bmc_boot_device d,
				   bool persistent, struct bmc_error *e)
{
	struct rf_inst *in = inst;
	struct rf_resp sys, r = {0};
	json_t *body = boot_body(in, d, persistent);
	enum bmc_status st;

	rf_start_call(in, timeout_ms);
	if (body == NULL)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
	st = rf_system_get(in, &sys, e);
	if (st == BMC_OK)
		st = check_target(in, sys.body, d, e);
	if (st == BMC_OK)
		st = patch_boot(in, body, etag_of(&sys), &r, e);
	/* 412: the system changed since our GET; read its new ETag and try once more */
	if (st == BMC_OK && r.status == 412) {
		rf_resp_free(&sys);
		rf_resp_free(&r);
		st = rf_system_get(in, &sys, e);
		if (st == BMC_OK)
			st = patch_boot(in, body, etag_of(&sys), &r, e);
		if (st == BMC_OK && r.status == 412)
			st = rf_http_error(in, "boot override PATCH", &r, e);
	}
	rf_resp_free(&sys);
	rf_resp_free(&r);
	json_decref(body);
	return st;
}

const struct bmc_driver bmc_driver_redfish = {
    .name = "redfish",
    .caps = BMC_CAP_SOFT_OFF | BMC_CAP_BOOT_NEXT | BMC_CAP_BOOT_PERSISTENT,
    .init = rf_cache_init,
    .fini = rf_cache_fini,
    .validate = rf_validate,
    .open = rf_open,
    .close = rf_close,
    .power_get = rf_power_get,
    .power_set = rf_power_set,
    .boot_set = rf_boot_set,
    .media_insert = rf_media_insert,
    .media_eject = rf_media_eject,
    .console_open = rf_console_open,
    .console_read = rf_console_read,
    .console_close = rf_console_close,
};
