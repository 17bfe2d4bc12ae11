/* api_tokens.c - /v1/tokens: create (the secret is shown once), list, revoke. */
#include "provisiond/routes.h"

#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

const struct field token_fields[] = {
    {.name = "role", .kind = F_STR, .required = true, .min = 1, .max = 16},
    API_NAME_FIELD("owner", false, "must be an owner name"),
    API_NAME_FIELD("name", false, "must contain only [A-Za-z0-9._-]"),
};
const struct api_schema token_schema = {token_fields, ARRAY_SIZE(token_fields)};

static json_t *token_json(const struct inv_token *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "id", t->id, "name", t->name, "role", t->role,
			      "owner", t->owner[0] ? json_string(t->owner) : json_null());
	json_object_set_new(o, "created_at", api_time(t->created_at));
	return o;
}

/* The role and owner of a new token make sense together; 400 set otherwise. */
static bool check_role_owner(struct http_req *r, const char *rs, const char *owner, enum role *role)
{
	if (role_from_name(rs, role) != 0)
		http_error(r, 400, "invalid_value", "role", "role must be admin, tech or service");
	else if (*role == ROLE_SERVICE && !owner)
		http_error(r, 400, "missing_field", "owner", "a service token needs an owner");
	else if (*role == ROLE_SERVICE && strcmp(owner, "admin") == 0)
		http_error(r, 400, "invalid_value", "owner",
			   "owner 'admin' is reserved for allocations made by admins");
	else if (*role != ROLE_SERVICE && owner)
		http_error(r, 400, "invalid_value", "owner", "only service tokens have an owner");
	else
		return true;
	return false;
}

void api_token_create(struct api_call *c)
{
	struct http_req *r = c->r;
	const char *rs = json_string_value(json_object_get(c->body, "role"));
	const char *owner = json_string_value(json_object_get(c->body, "owner"));
	const char *name = json_string_value(json_object_get(c->body, "name"));
	enum role role;
	char secret[80];
	if (!check_role_owner(r, rs, owner, &role))
		return;
	if (tok_new_secret(secret, sizeof secret) != 0) {
		http_error(r, 500, "internal", NULL, "no randomness for a token");
		return;
	}
	struct inv_token t = {0};
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, t.id);
	snprintf(t.role, sizeof t.role, "%s", rs);
	snprintf(t.owner, sizeof t.owner, "%s", owner ? owner : "");
	snprintf(t.name, sizeof t.name, "%s", name ? name : owner ? owner : rs);
	tok_hash(secret, t.hash);
	t.created_at = inv_now_ms();
	struct inv_err e = {0};
	if (inv_token_create(c->a->inv, &t, c->p->actor, r->request_id, &e) != INV_OK) {
		api_fail_inv(r, "token create", &e);
		return;
	}
	json_t *o = token_json(&t);
	json_object_set_new(o, "token", json_string(secret));
	api_json(r, 201, o);
}

void api_token_list(struct api_call *c)
{
	int limit;
	int64_t after;
	if (!api_page(c->r, &limit, &after))
		return;
	struct inv_token_list l = {0};
	struct inv_err e = {0};
	if (inv_token_list(c->a->inv, after, limit, &l, &e) != INV_OK) {
		api_fail_inv(c->r, "token list", &e);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(items, token_json(&l.items[i]));
	api_json(c->r, 200, api_list(items, l.next_seq));
	inv_token_list_clear(&l);
}

void api_token_delete(struct api_call *c)
{
	struct http_req *r = c->r;
	struct inv_err e = {0};
	if (!api_valid_uuid(r->params[0]))
		http_error(r, 404, "not_found", "id", "no token '%s'", r->params[0]);
	else if (inv_token_delete(c->a->inv, r->params[0], c->p->actor, r->request_id, &e) ==
		 INV_OK)
		http_reply(r, 204, "application/json", NULL, 0);
	else
		api_fail_inv(r, "token delete", &e);
}
