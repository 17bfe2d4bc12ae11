/* api_skus.c - /v1/skus (the catalog with machine counts) and /v1/capacity. */
#include "provisiond/lifecycle/lifecycle.h"
#include "provisiond/routes.h"
#include "skus/sku.h"

#include <stdlib.h>
#include <string.h>

static void add_count(void *ctx, const char *sku, enum inv_state st, int64_t n, int64_t maint)
{
	json_t *by_sku = ctx;
	const char *key = sku && *sku ? sku : "(unmatched)";
	json_t *o = json_object_get(by_sku, key);
	if (!o) {
		o = json_object();
		json_object_set_new(by_sku, key, o);
	}
	json_object_set_new(o, inv_state_name(st), json_integer(n));
	json_t *m = json_object_get(o, "in_maintenance");
	json_object_set_new(o, "in_maintenance", json_integer(json_integer_value(m) + maint));
}

/* "warm": the available machines waiting in the agent, for each SKU with
 * a warm pool (docs/allocations.md#warm-pools). */
static void add_warm(struct app *a, json_t *by_sku)
{
	const char *key;
	json_t *o;
	json_object_foreach(by_sku, key, o)
	{
		int n = lc_warm_count(a->lc, key);
		if (n >= 0)
			json_object_set_new(o, "warm", json_integer(n));
	}
}

/* Machine counts by SKU and state: {sku: {state: n, "in_maintenance": n}}.
 * NULL with the response set when the inventory cannot answer. */
static json_t *counts_by_sku(struct api_call *c)
{
	json_t *by_sku = json_object();
	struct inv_err e = {0};
	if (inv_capacity(c->a->inv, add_count, by_sku, &e) != INV_OK) {
		json_decref(by_sku);
		api_fail_inv(c->r, "capacity", &e);
		return NULL;
	}
	add_warm(c->a, by_sku);
	return by_sku;
}

static json_t *sku_item(const struct sku *s, json_t *counts)
{
	char *text = sku_to_json(s);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (!o)
		o = json_pack("{s:s}", "name", sku_name(s));
	json_t *n = json_object_get(counts, sku_name(s));
	json_object_set_new(o, "counts", n ? json_incref(n) : json_object());
	return o;
}

static void sku_listing(struct api_call *c, const char *only)
{
	json_t *counts = counts_by_sku(c);
	if (!counts)
		return;
	json_t *items = json_array();
	pthread_rwlock_rdlock(&c->a->catalog_lock);
	for (size_t i = 0; i < sku_catalog_count(c->a->catalog); i++) {
		const struct sku *s = sku_catalog_at(c->a->catalog, i);
		if (!only || strcmp(only, sku_name(s)) == 0)
			json_array_append_new(items, sku_item(s, counts));
	}
	pthread_rwlock_unlock(&c->a->catalog_lock);
	json_decref(counts);
	if (only && json_array_size(items) == 0)
		http_error(c->r, 404, "not_found", "name", "no SKU '%s'", only);
	else if (only)
		api_json(c->r, 200, json_incref(json_array_get(items, 0)));
	else
		api_json(c->r, 200, api_list(json_incref(items), 0));
	json_decref(items);
}

void api_sku_list(struct api_call *c)
{
	sku_listing(c, NULL);
}

void api_sku_get(struct api_call *c)
{
	sku_listing(c, c->r->params[0]);
}

/* Counts in the order of GET /v1/skus: the catalog's SKUs (sorted), then
 * SKUs machines still carry that the catalog no longer has, then
 * "(unmatched)". */
struct rack_counts {
	json_t *racks; /* the answer's list */
	json_t *last;  /* its last item */
};

static void add_rack_count(void *ctx, const char *site, const char *rack, enum inv_state st,
			   int64_t n, int64_t maint)
{
	struct rack_counts *rc = ctx;
	json_t *o = rc->last;
	if (!o || strcmp(json_string_value(json_object_get(o, "site")), site) != 0 ||
	    strcmp(json_string_value(json_object_get(o, "rack")), rack) != 0) {
		o = json_pack("{s:s, s:s, s:{}}", "site", site, "rack", rack, "counts");
		json_array_append_new(rc->racks, o);
		rc->last = o;
	}
	json_t *counts = json_object_get(o, "counts");
	json_object_set_new(counts, inv_state_name(st), json_integer(n));
	json_t *m = json_object_get(counts, "in_maintenance");
	json_object_set_new(counts, "in_maintenance", json_integer(json_integer_value(m) + maint));
}

/* The same rows summed per site (they come ordered by site). */
static void add_site_count(void *ctx, const char *site, const char *rack, enum inv_state st,
			   int64_t n, int64_t maint)
{
	(void)rack;
	struct rack_counts *rc = ctx;
	json_t *o = rc->last;
	if (!o || strcmp(json_string_value(json_object_get(o, "site")), site) != 0) {
		o = json_pack("{s:s, s:{}}", "site", site, "counts");
		json_array_append_new(rc->racks, o);
		rc->last = o;
	}
	json_t *counts = json_object_get(o, "counts");
	json_t *was = json_object_get(counts, inv_state_name(st));
	json_object_set_new(counts, inv_state_name(st), json_integer(json_integer_value(was) + n));
	json_t *m = json_object_get(counts, "in_maintenance");
	json_object_set_new(counts, "in_maintenance", json_integer(json_integer_value(m) + maint));
}

/* ?by=rack: {"racks": [{"site", "rack", "counts": {state: n, ...}}]}, by
 * site and rack; machines without a rack under rack "". ?by=site:
 * {"sites": [{"site", "counts"}]}, machines without a site under "". */
static void capacity_by_location(struct api_call *c, bool sites)
{
	struct rack_counts rc = {.racks = json_array()};
	struct inv_err e = {0};
	if (inv_capacity_by_rack(c->a->inv, sites ? add_site_count : add_rack_count, &rc, &e) !=
	    INV_OK) {
		json_decref(rc.racks);
		api_fail_inv(c->r, "capacity", &e);
		return;
	}
	api_json(c->r, 200, json_pack("{s:o}", sites ? "sites" : "racks", rc.racks));
}

void api_capacity(struct api_call *c)
{
	const char *by = http_arg(c->r, "by");
	if (by && strcmp(by, "sku") != 0 && strcmp(by, "rack") != 0 && strcmp(by, "site") != 0) {
		http_error(c->r, 400, "invalid_value", "by", "by must be sku, rack or site");
		return;
	}
	if (by && strcmp(by, "sku") != 0) {
		capacity_by_location(c, strcmp(by, "site") == 0);
		return;
	}
	json_t *by_sku = counts_by_sku(c);
	if (!by_sku)
		return;
	json_t *ordered = json_object();
	pthread_rwlock_rdlock(&c->a->catalog_lock);
	for (size_t i = 0; i < sku_catalog_count(c->a->catalog); i++) {
		const char *n = sku_name(sku_catalog_at(c->a->catalog, i));
		json_t *v = json_object_get(by_sku, n);
		json_object_set_new(ordered, n, v ? json_incref(v) : json_object());
	}
	pthread_rwlock_unlock(&c->a->catalog_lock);
	const char *key;
	json_t *v;
	json_object_foreach(by_sku, key, v)
	{
		if (!json_object_get(ordered, key) && strcmp(key, "(unmatched)") != 0)
			json_object_set(ordered, key, v);
	}
	if ((v = json_object_get(by_sku, "(unmatched)")))
		json_object_set(ordered, "(unmatched)", v);
	json_decref(by_sku);
	api_json(c->r, 200, json_pack("{s:o}", "skus", ordered));
}
