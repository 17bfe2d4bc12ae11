/* Typed calls for /healthz, /readyz and /v1/machines (incl. BMC power/boot). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/pc_internal.h"

pc_status pc_health(pc_client *c, bool ready, char **text, struct pc_error *err)
{
	struct pc_request req = {.method = "GET", .path = ready ? "/readyz" : "/healthz"};
	struct pc_response resp;
	pc_status rc = pc_request(c, &req, &resp, err);

	if (text != NULL) {
		*text = resp.text;
		resp.text = NULL;
	}
	pc_response_clear(&resp);
	return rc;
}

/* Calls method on /v1/machines/{id}[/suffix] with body; NULL path = nomem. */
static pc_status machine_call(pc_client *c, const char *method, const char *id, const char *suffix,
			      const json_t *body, json_t **out, struct pc_error *err)
{
	char *path;
	pc_status rc;

	if (out != NULL)
		*out = NULL;
	if (id == NULL || id[0] == '\0') {
		pc_error_clear(err);
		return pc_fail(err, PC_E_INVALID, "machine id is empty");
	}
	path = suffix ? pc_path_new("/v1/machines", id, suffix, PC_END)
		      : pc_path_new("/v1/machines", id, PC_END);
	if (path == NULL) {
		pc_error_clear(err);
		return pc_fail(err, PC_E_NOMEM, "out of memory");
	}
	rc = pc_call(c, method, path, body, out, err);
	free(path);
	return rc;
}

/* Runs machine_call with a body built by the caller; takes the body. */
static pc_status machine_call_new(pc_client *c, const char *method, const char *id,
				  const char *suffix, json_t *body, json_t **out,
				  struct pc_error *err)
{
	pc_status rc;

	if (body == NULL) {
		pc_error_clear(err);
		if (out != NULL)
			*out = NULL;
		return pc_fail(err, PC_E_NOMEM, "out of memory building the body");
	}
	rc = machine_call(c, method, id, suffix, body, out, err);
	json_decref(body);
	return rc;
}

pc_status pc_machine_enroll(pc_client *c, const json_t *body, json_t **out, struct pc_error *err)
{
	return pc_call(c, "POST", "/v1/machines", body, out, err);
}

pc_status pc_machine_list(pc_client *c, const struct pc_machine_filter *f, json_t **out,
			  struct pc_error *err)
{
	struct pc_machine_filter none = {0};

	if (f == NULL)
		f = &none;
	struct pc_query q[] = {{"state", f->state},
			       {"sku", f->sku},
			       {"owner", f->owner},
			       {"site", f->site},
			       {"rack", f->rack}};
	return pc_list(c, "/v1/machines", q, 5, f->cursor, f->max_items, out, err);
}

pc_status pc_machine_get(pc_client *c, const char *id_or_name, json_t **out, struct pc_error *err)
{
	return machine_call(c, "GET", id_or_name, NULL, NULL, out, err);
}

pc_status pc_machine_patch(pc_client *c, const char *id, const json_t *patch, json_t **out,
			   struct pc_error *err)
{
	return machine_call(c, "PATCH", id, NULL, patch, out, err);
}

pc_status pc_machine_action(pc_client *c, const char *id, const char *action, const char *reason,
			    json_t **out, struct pc_error *err)
{
	json_t *body = json_pack("{s:s?, s:s*}", "action", action, "reason", reason);

	return machine_call_new(c, "POST", id, "actions", body, out, err);
}

pc_status pc_machine_events(pc_client *c, const char *id, json_t **out, struct pc_error *err)
{
	char *path = id && id[0] ? pc_path_new("/v1/machines", id, "events", PC_END) : NULL;
	pc_status rc;

	if (path == NULL) {
		*out = NULL;
		pc_error_clear(err);
		return pc_fail(err, PC_E_INVALID, "machine id is empty");
	}
	rc = pc_list(c, path, NULL, 0, NULL, 0, out, err);
	free(path);
	return rc;
}

pc_status pc_machine_delete(pc_client *c, const char *id, struct pc_error *err)
{
	char *path = id && id[0] ? pc_path_new("/v1/machines", id, PC_END) : NULL;
	pc_status rc;

	if (path == NULL) {
		pc_error_clear(err);
		return pc_fail(err, PC_E_INVALID, "machine id is empty");
	}
	rc = pc_call(c, "DELETE", path, NULL, NULL, err);
	free(path);
	return rc;
}

pc_status pc_power_get(pc_client *c, const char *id, json_t **out, struct pc_error *err)
{
	return machine_call(c, "GET", id, "power", NULL, out, err);
}

pc_status pc_power_set(pc_client *c, const char *id, const char *action, json_t **out,
		       struct pc_error *err)
{
	return pc_power_set_force(c, id, action, false, out, err);
}

pc_status pc_power_set_force(pc_client *c, const char *id, const char *action, bool force,
			     json_t **out, struct pc_error *err)
{
	json_t *body = json_pack("{s:s?}", "action", action);

	if (body && force)
		json_object_set_new(body, "force", json_true());
	return machine_call_new(c, "PUT", id, "power", body, out, err);
}

pc_status pc_bootdev_set(pc_client *c, const char *id, const char *device, bool persistent,
			 json_t **out, struct pc_error *err)
{
	json_t *body = json_pack("{s:s?, s:b}", "device", device, "persistent", persistent);

	return machine_call_new(c, "PUT", id, "bootdev", body, out, err);
}

pc_status pc_machine_console(pc_client *c, const char *id, long long after, long wait_s,
			     json_t **out, struct pc_error *err)
{
	char after_s[32], wait[32];
	struct pc_query q[] = {{"after", NULL}, {"wait", NULL}};
	struct pc_request req = {.method = "GET", .query = q, .nquery = 2};
	char *path = id && id[0] ? pc_path_new("/v1/machines", id, "console", PC_END) : NULL;
	pc_status rc;

	*out = NULL;
	if (path == NULL) {
		pc_error_clear(err);
		return pc_fail(err, PC_E_INVALID, "machine id is empty");
	}
	if (after >= 0) {
		snprintf(after_s, sizeof(after_s), "%lld", after);
		q[0].value = after_s;
	}
	if (wait_s > 0) {
		snprintf(wait, sizeof(wait), "%ld", wait_s);
		q[1].value = wait;
		req.extra_timeout_ms = wait_s * 1000;
	}
	req.path = path;
	rc = pc_request_object(c, &req, out, NULL, err);
	free(path);
	return rc;
}
