/* actions.c - what changes state: #ComputerSystem.Reset, the Boot override PATCH
 * (conditional on the ETag when the client sends If-Match), and VirtualMedia
 * InsertMedia/EjectMedia. Each change is logged (oplog.c) before it is answered.
 *
 * Boot override as on real BMCs: the BMC keeps Target/Enabled and applies them when
 * the machine starts; "Once" falls back to Disabled after that start. The back end
 * hears the device right before each start (rbmc_backend.boot). */
#include <stdio.h>
#include <string.h>

#include "rbmc.h"

static const char *const reset_types[] = {
    "On", "ForceOff", "GracefulShutdown", "ForceRestart", "PowerCycle", "GracefulRestart", NULL};
static const char *const enabled_values[] = {"Disabled", "Once", "Continuous", NULL};
static const char *const target_values[] = {"None", "Pxe", "Hdd", "Cd", "UefiHttp", NULL};
static const char *const mode_values[] = {"UEFI", "Legacy", NULL};

static bool in_list(const char *v, const char *const *list)
{
	for (; v != NULL && *list != NULL; list++)
		if (strcmp(*list, v) == 0)
			return true;
	return false;
}

/* Whether the action starts the machine (so the boot override applies). */
static bool starts(const char *type, const char *power)
{
	if (strcmp(type, "On") == 0)
		return strcmp(power, "Off") == 0;
	return strcmp(type, "ForceRestart") == 0 || strcmp(type, "PowerCycle") == 0 ||
	       strcmp(type, "GracefulRestart") == 0;
}

static int apply_boot_override(struct rbmc *b, struct rbmc_system *s, char *msg, size_t len)
{
	const char *dev = strcmp(s->boot_enabled, "Disabled") == 0 ? "None" : s->boot_target;

	rbmc_log(b, "boot", "system", s->id, "device", dev, "override", s->boot_enabled, NULL);
	if (b->be->boot(b, s, dev, msg, len) != 0)
		return -1;
	if (strcmp(s->boot_enabled, "Once") == 0) {
		snprintf(s->boot_enabled, sizeof(s->boot_enabled), "Disabled");
		snprintf(s->boot_target, sizeof(s->boot_target), "None");
	}
	return 0;
}

void rbmc_reset(struct rbmc_req *q, struct rbmc_system *s)
{
	const char *type = json_string_value(json_object_get(q->body, "ResetType"));
	char msg[256] = "";

	if (type == NULL) {
		rbmc_error(q, 400, "Base.1.8.ActionParameterMissing",
			   "The action ComputerSystem.Reset requires the parameter ResetType to be "
			   "present in the request body.");
		return;
	}
	if (!in_list(type, reset_types)) {
		rbmc_error(q, 400, "Base.1.8.ActionParameterValueNotInList",
			   "The value '%.40s' for the parameter ResetType in the action "
			   "ComputerSystem.Reset is not in the list of acceptable values.",
			   type);
		return;
	}
	q->b->be->power_get(q->b, s, msg, sizeof(msg));
	rbmc_log(q->b, "reset", "system", s->id, "type", type, "user", q->user, NULL);
	if ((starts(type, s->power) && apply_boot_override(q->b, s, msg, sizeof(msg)) != 0) ||
	    q->b->be->reset(q->b, s, type, msg, sizeof(msg)) != 0) {
		rbmc_error(q, 500, "Base.1.8.InternalError", "Reset %s failed: %s", type, msg);
		return;
	}
	q->status = 204;
}

static bool etag_ok(struct rbmc_req *q, const json_t *current)
{
	char tag[40];

	if (q->if_match == NULL || strcmp(q->if_match, "*") == 0)
		return true;
	rbmc_etag(current, tag);
	return strcmp(tag, q->if_match) == 0;
}

/* The Boot object of a PATCH, checked; 0 when valid. */
static int check_boot(struct rbmc_req *q, const json_t *boot)
{
	static const struct {
		const char *key;
		const char *const *values;
	} fields[] = {{"BootSourceOverrideEnabled", enabled_values},
		      {"BootSourceOverrideTarget", target_values},
		      {"BootSourceOverrideMode", mode_values}};
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)boot, key, v)
	{
		size_t i;
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strcmp(fields[i].key, key) == 0)
				break;
		if (i == sizeof(fields) / sizeof(fields[0])) {
			rbmc_error(q, 400, "Base.1.8.PropertyNotWritable",
				   "The property %.60s is a read only property and cannot be "
				   "assigned a value.",
				   key);
			return -1;
		}
		if (!in_list(json_string_value(v), fields[i].values)) {
			rbmc_error(q, 400, "Base.1.8.PropertyValueNotInList",
				   "The value for the property %s is not in the list of "
				   "acceptable values.",
				   key);
			return -1;
		}
	}
	return 0;
}

static void set_field(const json_t *boot, const char *key, char *dst, size_t len)
{
	const char *v = json_string_value(json_object_get(boot, key));

	if (v != NULL)
		snprintf(dst, len, "%s", v);
}

void rbmc_patch_system(struct rbmc_req *q, struct rbmc_system *s)
{
	char msg[256];
	json_t *cur, *boot = json_object_get(q->body, "Boot");
	bool ok;

	q->b->be->power_get(q->b, s, msg, sizeof(msg)); /* the ETag as a GET now would see */
	cur = rbmc_system_doc(q->b, s);
	ok = etag_ok(q, cur);

	json_decref(cur);
	if (!ok) {
		rbmc_error(q, 412, "Base.1.8.PreconditionFailed",
			   "The ETag supplied did not match the ETag required to change this "
			   "resource.");
		return;
	}
	if (!json_is_object(boot) || json_object_size(q->body) != 1) {
		rbmc_error(q, 400, "Base.1.8.PropertyNotWritable",
			   "Only the Boot override properties of this system can be changed.");
		return;
	}
	if (check_boot(q, boot) != 0)
		return;
	set_field(boot, "BootSourceOverrideEnabled", s->boot_enabled, sizeof(s->boot_enabled));
	set_field(boot, "BootSourceOverrideTarget", s->boot_target, sizeof(s->boot_target));
	set_field(boot, "BootSourceOverrideMode", s->boot_mode, sizeof(s->boot_mode));
	rbmc_log(q->b, "boot_override", "system", s->id, "target", s->boot_target, "enabled",
		 s->boot_enabled, "mode", s->boot_mode, "user", q->user, NULL);
	q->status = 200;
	q->doc = rbmc_system_doc(q->b, s);
	rbmc_etag(q->doc, q->etag);
}

void rbmc_media_action(struct rbmc_req *q, struct rbmc_system *s, bool insert)
{
	const char *image = json_string_value(json_object_get(q->body, "Image"));
	char msg[256] = "";

	if (insert &&
	    (image == NULL || image[0] == '\0' || strlen(image) >= sizeof(s->media_image))) {
		rbmc_error(q, 400, "Base.1.8.ActionParameterMissing",
			   "The action VirtualMedia.InsertMedia requires the parameter Image to be "
			   "present in the request body.");
		return;
	}
	rbmc_log(q->b, insert ? "media_insert" : "media_eject", "system", s->id, "image",
		 insert ? image : (s->media_image[0] ? s->media_image : NULL), "user", q->user,
		 NULL);
	if (q->b->be->media(q->b, s, insert ? image : NULL, msg, sizeof(msg)) != 0) {
		rbmc_error(q, 500, "Base.1.8.InternalError", "%s failed: %s",
			   insert ? "InsertMedia" : "EjectMedia", msg);
		return;
	}
	snprintf(s->media_image, sizeof(s->media_image), "%s", insert ? image : "");
	s->media_inserted = insert;
	q->status = 204;
}
