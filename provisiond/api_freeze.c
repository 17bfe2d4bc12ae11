/* api_freeze.c - /v1/freeze: the fleet-wide switch that stops all power and
 * deploy actions at once. */
#include "provisiond/lifecycle/lifecycle.h"
#include "provisiond/routes.h"

#include <stdlib.h>

void api_freeze_get(struct api_call *c)
{
	char *v = NULL;
	struct inv_err e = {0};
	enum inv_status st = inv_setting_get(c->a->inv, "freeze", &v, &e);
	if (st != INV_OK && st != INV_NOT_FOUND) {
		api_fail_inv(c->r, "freeze read", &e);
		return;
	}
	json_t *o = v ? json_loads(v, 0, NULL) : NULL;
	free(v);
	api_json(c->r, 200, o ? o : json_pack("{s:b, s:s}", "frozen", 0, "reason", ""));
}

const struct field freeze_fields[] = {
    {.name = "frozen", .kind = F_BOOL, .required = true},
    {.name = "reason", .kind = F_STR, .max = 255},
};
const struct api_schema freeze_schema = {freeze_fields, ARRAY_SIZE(freeze_fields)};

void api_freeze_set(struct api_call *c)
{
	bool frozen = json_is_true(json_object_get(c->body, "frozen"));
	const char *why = json_string_value(json_object_get(c->body, "reason"));
	json_t *o = json_pack("{s:b, s:s, s:s}", "frozen", frozen, "reason", why ? why : "", "by",
			      c->p->actor);
	char *val = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS), *before = NULL;
	struct inv_err e = {0};
	enum inv_status st = inv_setting_get(c->a->inv, "freeze", &before, &e);
	if (st != INV_OK && st != INV_NOT_FOUND)
		api_fail_inv(c->r, "freeze read", &e);
	else if (inv_setting_set(c->a->inv, "freeze", val, c->p->actor, c->r->request_id, before,
				 &e) != INV_OK)
		api_fail_inv(c->r, "freeze write", &e);
	else {
		atomic_store(&c->a->frozen, frozen);
		if (!frozen)
			lc_kick(c->a->lc);
		api_json(c->r, 200, json_incref(o));
	}
	json_decref(o);
	free(val);
	free(before);
}
