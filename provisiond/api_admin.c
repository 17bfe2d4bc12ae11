/* api_admin.c - health, tokens, SKUs, images, capacity, audit, quotas and
 * the fleet freeze. */
#include "images/images.h"
#include "provisiond/api_routes.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "skus/sku.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

void api_health(struct http_req *r, void *app)
{
	(void)app;
	http_reply_text(r, 200, "application/json", "{\"status\":\"ok\"}");
}

void api_ready(struct http_req *r, void *app)
{
	struct app *a = app;
	if (atomic_load(&a->ready))
		http_reply_text(r, 200, "application/json", "{\"status\":\"ready\"}");
	else
		http_error(r, 503, "not_ready", NULL, "provisiond is starting or draining");
}

/* ---------------------------------------------------------------- tokens */

static const struct field token_fields[] = {
    {"role", F_STR, true, 1, 16, NULL, NULL},
    {"owner", F_STR, false, 1, 63, api_valid_name, "must be an owner name"},
    {"name", F_STR, false, 1, 63, api_valid_name, "must contain only [A-Za-z0-9._-]"},
};

static json_t *token_json(const struct inv_token *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "id", t->id, "name", t->name, "role", t->role,
			      "owner", t->owner[0] ? json_string(t->owner) : json_null());
	json_object_set_new(o, "created_at", api_time(t->created_at));
	return o;
}

void api_token_create(struct http_req *r, void *app)
{
	struct app *a = app;
	const struct principal *p = api_auth(r, a, ROLE_ADMIN);
	json_t *body;
	if (!p || !(body = api_body(r, token_fields, N(token_fields))))
		return;
	struct inv_token t = {0};
	enum role role;
	const char *rs = json_string_value(json_object_get(body, "role"));
	const char *owner = json_string_value(json_object_get(body, "owner"));
	const char *name = json_string_value(json_object_get(body, "name"));
	char secret[80];
	uuid_t u;
	if (role_from_name(rs, &role) != 0)
		http_error(r, 400, "invalid_value", "role", "role must be admin, tech or service");
	else if (role == ROLE_SERVICE && !owner)
		http_error(r, 400, "missing_field", "owner", "a service token needs an owner");
	else if (role == ROLE_SERVICE && strcmp(owner, "admin") == 0)
		http_error(r, 400, "invalid_value", "owner",
			   "owner 'admin' is reserved for allocations made by admins");
	else if (role != ROLE_SERVICE && owner)
		http_error(r, 400, "invalid_value", "owner", "only service tokens have an owner");
	else if (tok_new_secret(secret, sizeof secret) != 0)
		http_error(r, 500, "internal", NULL, "no randomness for a token");
	else {
		uuid_generate_random(u);
		uuid_unparse_lower(u, t.id);
		snprintf(t.role, sizeof t.role, "%s", rs);
		snprintf(t.owner, sizeof t.owner, "%s", owner ? owner : "");
		snprintf(t.name, sizeof t.name, "%s", name ? name : owner ? owner : rs);
		tok_hash(secret, t.hash);
		t.created_at = inv_now_ms();
		struct inv_err e = {0};
		if (inv_token_create(a->inv, &t, p->actor, r->request_id, &e) == INV_OK) {
			json_t *o = token_json(&t);
			json_object_set_new(o, "token", json_string(secret));
			api_json(r, 201, o);
		} else {
			api_inv_error(r, &e);
		}
	}
	json_decref(body);
}

void api_token_list(struct http_req *r, void *app)
{
	struct app *a = app;
	int limit;
	int64_t after;
	if (!api_auth(r, a, ROLES_STAFF) || !api_page(r, &limit, &after))
		return;
	struct inv_token_list l = {0};
	struct inv_err e = {0};
	if (inv_token_list(a->inv, after, limit, &l, &e) != INV_OK) {
		api_inv_error(r, &e);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(items, token_json(&l.items[i]));
	api_json(r, 200, api_list(items, l.next_seq));
	inv_token_list_clear(&l);
}

void api_token_delete(struct http_req *r, void *app)
{
	struct app *a = app;
	const struct principal *p = api_auth(r, a, ROLE_ADMIN);
	if (!p)
		return;
	struct inv_err e = {0};
	if (!api_valid_uuid(r->params[0]))
		http_error(r, 404, "not_found", "id", "no token '%s'", r->params[0]);
	else if (inv_token_delete(a->inv, r->params[0], p->actor, r->request_id, &e) == INV_OK)
		http_reply(r, 204, "application/json", NULL, 0);
	else
		api_inv_error(r, &e);
}

/* ------------------------------------------------------------------ skus */

struct counts_ctx {
	json_t *by_sku; /* sku -> {state: n} */
};

static void add_count(void *ctx, const char *sku, enum inv_state st, int64_t n, int64_t maint)
{
	struct counts_ctx *c = ctx;
	const char *key = sku && *sku ? sku : "(unmatched)";
	json_t *o = json_object_get(c->by_sku, key);
	if (!o) {
		o = json_object();
		json_object_set_new(c->by_sku, key, o);
	}
	json_object_set_new(o, inv_state_name(st), json_integer(n));
	json_t *m = json_object_get(o, "in_maintenance");
	json_object_set_new(o, "in_maintenance", json_integer(json_integer_value(m) + maint));
}

static json_t *sku_item(const struct sku *s, json_t *counts)
{
	char *text = sku_to_json(s);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (!o)
		o = json_pack("{s:s}", "name", sku_name(s));
	json_t *c = json_object_get(counts, sku_name(s));
	json_object_set_new(o, "counts", c ? json_incref(c) : json_object());
	return o;
}

static void sku_listing(struct http_req *r, struct app *a, const char *only)
{
	struct counts_ctx c = {json_object()};
	struct inv_err e = {0};
	inv_capacity(a->inv, add_count, &c, &e);
	json_t *items = json_array();
	pthread_rwlock_rdlock(&a->catalog_lock);
	for (size_t i = 0; i < sku_catalog_count(a->catalog); i++) {
		const struct sku *s = sku_catalog_at(a->catalog, i);
		if (!only || strcmp(only, sku_name(s)) == 0)
			json_array_append_new(items, sku_item(s, c.by_sku));
	}
	pthread_rwlock_unlock(&a->catalog_lock);
	json_decref(c.by_sku);
	if (only && json_array_size(items) == 0)
		http_error(r, 404, "not_found", "name", "no SKU '%s'", only);
	else if (only)
		api_json(r, 200, json_incref(json_array_get(items, 0)));
	else
		api_json(r, 200, api_list(json_incref(items), 0));
	json_decref(items);
}

void api_sku_list(struct http_req *r, void *app)
{
	if (api_auth(r, app, ROLES_ALL))
		sku_listing(r, app, NULL);
}

void api_sku_get(struct http_req *r, void *app)
{
	if (api_auth(r, app, ROLES_ALL))
		sku_listing(r, app, r->params[0]);
}

void api_capacity(struct http_req *r, void *app)
{
	struct app *a = app;
	if (!api_auth(r, a, ROLES_ALL))
		return;
	struct counts_ctx c = {json_object()};
	struct inv_err e = {0};
	if (inv_capacity(a->inv, add_count, &c, &e) != INV_OK) {
		json_decref(c.by_sku);
		api_inv_error(r, &e);
		return;
	}
	pthread_rwlock_rdlock(&a->catalog_lock);
	for (size_t i = 0; i < sku_catalog_count(a->catalog); i++) {
		const char *n = sku_name(sku_catalog_at(a->catalog, i));
		if (!json_object_get(c.by_sku, n))
			json_object_set_new(c.by_sku, n, json_object());
	}
	pthread_rwlock_unlock(&a->catalog_lock);
	api_json(r, 200, json_pack("{s:o}", "skus", c.by_sku));
}

/* ---------------------------------------------------------------- images */

static const struct field image_fields[] = {
    {"name", F_STR, true, 1, 63, api_valid_name, "must contain only [A-Za-z0-9._-]"},
    {"path", F_STR, false, 1, 511, NULL, NULL},
    {"url", F_STR, false, 1, 511, NULL, NULL},
    {"format", F_STR, false, 1, 15, NULL, NULL},
    {"sha256", F_STR, false, 64, 64, NULL, NULL},
};

static json_t *image_json(const struct inv_image *m)
{
	json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:s, s:I}", "name", m->name, "path",
			      m->path[0] ? json_string(m->path) : json_null(), "url",
			      m->url[0] ? json_string(m->url) : json_null(), "format", m->format,
			      "sha256", m->sha256, "size", (json_int_t)m->size);
	json_object_set_new(o, "created_at", api_time(m->created_at));
	return o;
}

static bool valid_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == 0;
}

/* Fills img from the body; hashes local files. false with response set. */
static bool build_image(struct http_req *r, json_t *body, struct inv_image *img)
{
	const char *path = json_string_value(json_object_get(body, "path"));
	const char *url = json_string_value(json_object_get(body, "url"));
	const char *fmt = json_string_value(json_object_get(body, "format"));
	const char *sha = json_string_value(json_object_get(body, "sha256"));
	snprintf(img->name, sizeof img->name, "%s",
		 json_string_value(json_object_get(body, "name")));
	snprintf(img->format, sizeof img->format, "%s", fmt ? fmt : "raw");
	if (!!path == !!url)
		return http_error(r, 400, "invalid_value", "path",
				  "give exactly one of path or url"),
		       false;
	if (img_check_format(img->format, NULL) != ERR_OK)
		return http_error(r, 400, "invalid_value", "format",
				  "format must be raw or raw.zst"),
		       false;
	if (sha && !valid_hex64(sha))
		return http_error(r, 400, "invalid_value", "sha256",
				  "sha256 must be 64 lower-case hex digits"),
		       false;
	if (url) {
		if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
			return http_error(r, 400, "invalid_value", "url", "url must be http(s)"),
			       false;
		if (!sha)
			return http_error(r, 400, "missing_field", "sha256",
					  "sha256 is required for an image given by url"),
			       false;
		snprintf(img->url, sizeof img->url, "%s", url);
		snprintf(img->sha256, sizeof img->sha256, "%s", sha);
		return true;
	}
	if (path[0] != '/' || strstr(path, "/../") || strstr(path, "/./"))
		return http_error(r, 400, "invalid_value", "path",
				  "path must be absolute without . or .. components"),
		       false;
	struct err herr = {0};
	snprintf(img->path, sizeof img->path, "%s", path);
	if (img_hash_file(path, img->format, img->sha256, &img->size, &herr) != ERR_OK)
		return http_error(r, 400, "invalid_value", "path", "%s", herr.message), false;
	if (sha && strcmp(sha, img->sha256) != 0)
		return http_error(r, 400, "checksum_mismatch", "sha256",
				  "sha256 %s does not match the image's content (%s)", sha,
				  img->sha256),
		       false;
	return true;
}

void api_image_create(struct http_req *r, void *app)
{
	struct app *a = app;
	const struct principal *p = api_auth(r, a, ROLE_ADMIN);
	json_t *body;
	if (!p || !(body = api_body(r, image_fields, N(image_fields))))
		return;
	struct inv_image img = {0};
	if (build_image(r, body, &img)) {
		struct inv_err e = {0};
		if (inv_image_create(a->inv, &img, p->actor, r->request_id, &e) == INV_OK &&
		    inv_image_get(a->inv, img.name, &img, &e) == INV_OK)
			api_json(r, 201, image_json(&img));
		else
			api_inv_error(r, &e);
	}
	json_decref(body);
}

void api_image_list(struct http_req *r, void *app)
{
	struct app *a = app;
	int limit;
	int64_t after;
	if (!api_auth(r, a, ROLES_ALL) || !api_page(r, &limit, &after))
		return;
	struct inv_image_list l = {0};
	struct inv_err e = {0};
	if (inv_image_list(a->inv, after, limit, &l, &e) != INV_OK) {
		api_inv_error(r, &e);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(items, image_json(&l.items[i]));
	api_json(r, 200, api_list(items, l.next_seq));
	inv_image_list_clear(&l);
}

void api_image_get(struct http_req *r, void *app)
{
	struct app *a = app;
	if (!api_auth(r, a, ROLES_ALL))
		return;
	struct inv_image img;
	struct inv_err e = {0};
	if (inv_image_get(a->inv, r->params[0], &img, &e) == INV_OK)
		api_json(r, 200, image_json(&img));
	else
		api_inv_error(r, &e);
}

void api_image_delete(struct http_req *r, void *app)
{
	struct app *a = app;
	const struct principal *p = api_auth(r, a, ROLE_ADMIN);
	struct inv_err e = {0};
	if (!p)
		return;
	if (inv_image_delete(a->inv, r->params[0], p->actor, r->request_id, &e) == INV_OK)
		http_reply(r, 204, "application/json", NULL, 0);
	else
		api_inv_error(r, &e);
}

/* ----------------------------------------------------------------- audit */

static json_t *raw_json(const char *s)
{
	json_t *v = s ? json_loads(s, 0, NULL) : NULL;
	return v ? v : s ? json_string(s) : json_null();
}

void api_audit_list(struct http_req *r, void *app)
{
	struct app *a = app;
	int limit;
	int64_t after;
	if (!api_auth(r, a, ROLES_STAFF) || !api_page(r, &limit, &after))
		return;
	struct inv_audit_list l = {0};
	struct inv_err e = {0};
	if (inv_audit_list(a->inv, after, limit, &l, &e) != INV_OK) {
		api_inv_error(r, &e);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++) {
		const struct inv_audit *x = &l.items[i];
		json_t *o = json_pack(
		    "{s:I, s:o, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "seq", (json_int_t)x->seq,
		    "at", api_time(x->at), "actor", x->actor, "action", x->action, "target_type",
		    x->target_type, "target_id", x->target_id, "before", raw_json(x->before_json),
		    "after", raw_json(x->after_json), "request_id", x->request_id);
		json_array_append_new(items, o);
	}
	api_json(r, 200, api_list(items, l.next_seq));
	inv_audit_list_clear(&l);
}

/* ---------------------------------------------------------------- quotas */

static const struct field quota_fields[] = {{"machines", F_INT, true, -1, 100000, NULL, NULL}};

void api_quota_set(struct http_req *r, void *app)
{
	struct app *a = app;
	const struct principal *p = api_auth(r, a, ROLE_ADMIN);
	json_t *body;
	if (!p || !(body = api_body(r, quota_fields, N(quota_fields))))
		return;
	int n = (int)json_integer_value(json_object_get(body, "machines"));
	struct inv_err e = {0};
	if (!api_valid_name(r->params[0]))
		http_error(r, 400, "invalid_value", "owner", "owner must be a name");
	else if (!lc_sku_exists(a, r->params[1]))
		http_error(r, 400, "invalid_value", "sku", "unknown SKU '%s'", r->params[1]);
	else if (inv_quota_set(a->inv, r->params[0], r->params[1], n, p->actor, r->request_id,
			       &e) == INV_OK)
		api_json(r, 200,
			 json_pack("{s:s, s:s, s:i}", "owner", r->params[0], "sku", r->params[1],
				   "machines", n));
	else
		api_inv_error(r, &e);
	json_decref(body);
}

static void add_quota(void *ctx, const char *sku, int machines, int used)
{
	json_array_append_new(
	    ctx, json_pack("{s:s, s:i, s:i}", "sku", sku, "machines", machines, "used", used));
}

void api_quota_list(struct http_req *r, void *app)
{
	struct app *a = app;
	const struct principal *p = api_auth(r, a, ROLES_ALL);
	if (!p)
		return;
	if (p->role == ROLE_SERVICE && strcmp(p->owner, r->params[0]) != 0) {
		http_error(r, 404, "not_found", "owner", "no owner '%s'", r->params[0]);
		return;
	}
	json_t *items = json_array();
	struct inv_err e = {0};
	inv_quota_list(a->inv, r->params[0], add_quota, items, &e);
	api_json(r, 200, api_list(items, 0));
}

/* ---------------------------------------------------------------- freeze */

void api_freeze_get(struct http_req *r, void *app)
{
	struct app *a = app;
	if (!api_auth(r, a, ROLES_STAFF))
		return;
	char *v = NULL;
	struct inv_err e = {0};
	inv_setting_get(a->inv, "freeze", &v, &e);
	json_t *o = v ? json_loads(v, 0, NULL) : NULL;
	free(v);
	api_json(r, 200, o ? o : json_pack("{s:b, s:s}", "frozen", 0, "reason", ""));
}

static const struct field freeze_fields[] = {
    {"frozen", F_BOOL, true, 0, 0, NULL, NULL},
    {"reason", F_STR, false, 0, 255, NULL, NULL},
};

void api_freeze_set(struct http_req *r, void *app)
{
	struct app *a = app;
	const struct principal *p = api_auth(r, a, ROLE_ADMIN);
	json_t *body;
	if (!p || !(body = api_body(r, freeze_fields, N(freeze_fields))))
		return;
	bool frozen = json_is_true(json_object_get(body, "frozen"));
	const char *why = json_string_value(json_object_get(body, "reason"));
	json_t *o = json_pack("{s:b, s:s, s:s}", "frozen", frozen, "reason", why ? why : "", "by",
			      p->actor);
	char *val = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS), *before = NULL;
	struct inv_err e = {0};
	inv_setting_get(a->inv, "freeze", &before, &e);
	if (inv_setting_set(a->inv, "freeze", val, p->actor, r->request_id, before, &e) == INV_OK) {
		atomic_store(&a->frozen, frozen);
		if (!frozen)
			lc_kick(a->lc);
		api_json(r, 200, json_incref(o));
	} else {
		api_inv_error(r, &e);
	}
	json_decref(o);
	free(val);
	free(before);
	json_decref(body);
}
