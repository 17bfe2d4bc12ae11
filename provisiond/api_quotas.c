/* api_quotas.c - /v1/owners/{owner}/quotas: machines per SKU an owner may
 * hold. */
#include "provisiond/lifecycle/lifecycle.h"
#include "provisiond/routes.h"

#include <string.h>

const struct field quota_fields[] = {
    {.name = "machines", .kind = F_INT, .required = true, .min = -1, .max = 100000}};
const struct api_schema quota_schema = {quota_fields, ARRAY_SIZE(quota_fields)};

void api_quota_set(struct api_call *c)
{
	struct http_req *r = c->r;
	const char *owner = r->params[0], *sku = r->params[1];
	int n = (int)json_integer_value(json_object_get(c->body, "machines"));
	struct inv_err e = {0};
	if (!api_valid_name(owner))
		http_error(r, 400, "invalid_value", "owner", "owner must be a name");
	else if (!lc_sku_exists(c->a, sku))
		http_error(r, 400, "invalid_value", "sku", "unknown SKU '%s'", sku);
	else if (inv_quota_set(c->a->inv, owner, sku, n, c->p->actor, r->request_id, &e) != INV_OK)
		api_fail_inv(r, "quota set", &e);
	else
		api_json(r, 200,
			 json_pack("{s:s, s:s, s:i}", "owner", owner, "sku", sku, "machines", n));
}

static void add_quota(void *ctx, const char *sku, int machines, int used)
{
	json_array_append_new(
	    ctx, json_pack("{s:s, s:i, s:i}", "sku", sku, "machines", machines, "used", used));
}

void api_quota_list(struct api_call *c)
{
	const char *owner = c->r->params[0];
	if (c->p->role == ROLE_SERVICE && strcmp(c->p->owner, owner) != 0) {
		http_error(c->r, 404, "not_found", "owner", "no owner '%s'", owner);
		return;
	}
	json_t *items = json_array();
	struct inv_err e = {0};
	if (inv_quota_list(c->a->inv, owner, add_quota, items, &e) != INV_OK) {
		json_decref(items);
		api_fail_inv(c->r, "quota list", &e);
		return;
	}
	api_json(c->r, 200, api_list(items, 0));
}
