/* api_machines.c - /v1/machines: enroll, list, get, patch, events. */
#include "provisiond/log.h"
#include "provisiond/routes.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/dnsmasq.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "provisiond/macs.h"
#include "skus/sku.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Services see their machines but not how they are managed. */
static json_t *machine_view(const struct principal *p, const struct inv_machine *m, bool detail)
{
	json_t *o = api_machine_json(m, detail);
	if (p->role == ROLE_SERVICE)
		json_object_del(o, "bmc");
	return o;
}

static const struct field location_fields[] = {
    {.name = "site",
     .kind = F_STR,
     .max = 63,
     .check = api_valid_name,
     .hint = "must be a name ([A-Za-z0-9._-])"},
    {.name = "rack",
     .kind = F_STR,
     .max = 63,
     .check = api_valid_name,
     .hint = "must be a name ([A-Za-z0-9._-])"},
    {.name = "unit", .kind = F_INT, .max = 1000},
};
static const struct field bmc_fields[] = {
    {.name = "driver", .kind = F_STR, .required = true, .min = 1, .max = 15},
    {.name = "address", .kind = F_STR, .max = 255},
    {.name = "username", .kind = F_STR, .max = 63},
    {.name = "password", .kind = F_STR, .max = 255},
    {.name = "options", .kind = F_OBJ},
};
/* The same for a PATCH over stored access: nothing is required. */
static const struct field bmc_patch_fields[] = {
    {.name = "driver", .kind = F_STR, .min = 1, .max = 15},
    {.name = "address", .kind = F_STR, .max = 255},
    {.name = "username", .kind = F_STR, .max = 63},
    {.name = "password", .kind = F_STR, .max = 255},
    {.name = "options", .kind = F_OBJ},
};
_Static_assert(ARRAY_SIZE(bmc_patch_fields) == ARRAY_SIZE(bmc_fields), "one field table each");
const struct field enroll_fields[] = {
    API_NAME_FIELD("name", true,
		   "must start with a letter or digit and "
		   "contain only [A-Za-z0-9._-]"),
    {.name = "location",
     .kind = F_OBJ,
     .sub = location_fields,
     .nsub = ARRAY_SIZE(location_fields)},
    {.name = "macs", .kind = F_ARR},
    {.name = "bmc", .kind = F_OBJ, .sub = bmc_fields, .nsub = ARRAY_SIZE(bmc_fields)},
};
const struct field patch_fields[] = {
    API_NAME_FIELD("name", false, "must contain only [A-Za-z0-9._-]"),
    {.name = "location",
     .kind = F_OBJ,
     .sub = location_fields,
     .nsub = ARRAY_SIZE(location_fields)},
    {.name = "bmc", .kind = F_OBJ, .sub = bmc_fields, .nsub = ARRAY_SIZE(bmc_fields)},
    {.name = "maintenance", .kind = F_BOOL},
    {.name = "maintenance_reason", .kind = F_STR, .max = 255},
};
const struct api_schema enroll_schema = {enroll_fields, ARRAY_SIZE(enroll_fields)};
const struct api_schema patch_schema = {patch_fields, ARRAY_SIZE(patch_fields)};

static bool parse_location(struct http_req *r, json_t *o, struct inv_location *l)
{
	memset(l, 0, sizeof *l);
	l->unit = -1;
	if (!o || json_is_null(o))
		return true;
	if (!api_check_fields(r, o, "location.", location_fields, ARRAY_SIZE(location_fields)))
		return false;
	json_t *v;
	if ((v = json_object_get(o, "site")) && json_is_string(v))
		snprintf(l->site, sizeof l->site, "%s", json_string_value(v));
	if ((v = json_object_get(o, "rack")) && json_is_string(v))
		snprintf(l->rack, sizeof l->rack, "%s", json_string_value(v));
	if ((v = json_object_get(o, "unit")) && json_is_integer(v))
		l->unit = (int)json_integer_value(v);
	return true;
}

static bool parse_macs(struct http_req *r, json_t *arr, char macs[INV_MAX_MACS][18], int *n)
{
	struct err e = {0};
	if (mac_list_parse(arr, "macs", 0, INV_MAX_MACS, macs, n, &e) == ERR_OK)
		return true;
	http_error(r, 400, "invalid_value", e.field, "%s", e.message);
	return false;
}

/* Fills b from the JSON object (merging over old when given: PATCH keeps a
 * password that is not repeated), validates it with the BMC layer and the
 * SKU catalog (fake machines name their SKU). */
/* The options to store: those given, merged over the stored ones when the
 * driver stays the same (a new driver's options start afresh). malloc'd. */
static char *merged_options(json_t *given, const struct inv_bmc *old, const char *driver)
{
	bool same = old && strcmp(old->driver, driver) == 0;
	json_t *o = same && old->options_json ? json_loads(old->options_json, 0, NULL) : NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	if (given)
		json_object_update(o, given);
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* Fills b from the JSON object (merged over old when given: a PATCH may
 * leave out the driver, keeps a password that is not repeated and merges
 * options), validates it with the BMC layer and the SKU catalog (fake
 * machines name their SKU). */
bool api_parse_bmc(struct http_req *r, struct app *a, json_t *o, const struct inv_bmc *old,
		   struct inv_bmc *b)
{
	memset(b, 0, sizeof *b);
	if (!api_check_fields(r, o, "bmc.", old ? bmc_patch_fields : bmc_fields,
			      ARRAY_SIZE(bmc_fields)))
		return false;
	const char *pw = json_string_value(json_object_get(o, "password"));
	const char *s = json_string_value(json_object_get(o, "driver"));
	snprintf(b->driver, sizeof b->driver, "%s", s ? s : old->driver);
	s = json_string_value(json_object_get(o, "address"));
	snprintf(b->address, sizeof b->address, "%s", s ? s : old ? old->address : "");
	s = json_string_value(json_object_get(o, "username"));
	snprintf(b->username, sizeof b->username, "%s", s ? s : old ? old->username : "");
	b->password = strdup(pw ? pw : old && old->password ? old->password : "");
	b->options_json = merged_options(json_object_get(o, "options"), old, b->driver);
	struct bmc_target t = {.key = "validate",
			       .driver = b->driver,
			       .address = b->address,
			       .username = b->username,
			       .password = b->password,
			       .options_json = b->options_json};
	struct bmc_error e = {0};
	json_t *opt = b->options_json ? json_loads(b->options_json, 0, NULL) : NULL;
	const char *sku = json_string_value(json_object_get(opt, "sku"));
	bool ok = false;
	if (bmc_validate(&t, &e) != BMC_OK)
		http_error(r, 400, "invalid_value", e.field[0] ? e.field : "bmc.driver", "%s",
			   e.message);
	else if (strcmp(b->driver, "fake") == 0 && !lc_sku_exists(a, sku))
		http_error(r, 400, "invalid_value", "bmc.options.sku",
			   "bmc.options.sku must name a SKU of the catalog (GET /v1/skus)");
	else
		ok = true;
	json_decref(opt);
	if (!ok)
		inv_bmc_clear(b);
	return ok;
}

/* The machine as the caller may see it: a service sees only machines of
 * its own allocations; anything else is 404, as if it did not exist. */
bool api_load_machine(struct api_call *c, const char *id, struct inv_machine *m)
{
	struct inv_err e = {0};
	if (inv_machine_get(c->a->inv, id, m, &e) != INV_OK) {
		api_fail_inv(c->r, "machine get", &e);
		return false;
	}
	if (c->p->role == ROLE_SERVICE && strcmp(m->owner, c->p->owner) != 0) {
		inv_machine_clear(m);
		http_error(c->r, 404, "not_found", "id", "no machine '%s'", id);
		return false;
	}
	return true;
}

static char *redacted_bmc_view(json_t *body)
{
	json_t *copy = json_deep_copy(body);
	json_t *bmc = json_object_get(copy, "bmc");
	if (bmc && json_object_get(bmc, "password"))
		json_object_set_new(bmc, "password", json_string("(redacted)"));
	char *s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	return s;
}

void api_machine_enroll(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	const struct principal *p = c->p;
	json_t *body = c->body;
	struct inv_machine_new n = {.name = json_string_value(json_object_get(body, "name")),
				    .actor = p->actor,
				    .request_id = r->request_id,
				    .wake_at = inv_now_ms()};
	char macs[INV_MAX_MACS][18];
	struct inv_bmc bmc = {0};
	json_t *jb = json_object_get(body, "bmc");
	if (!parse_location(r, json_object_get(body, "location"), &n.location) ||
	    !parse_macs(r, json_object_get(body, "macs"), macs, &n.nmacs) ||
	    (jb && !json_is_null(jb) && !api_parse_bmc(r, a, jb, NULL, &bmc)))
		return;
	for (int i = 0; i < n.nmacs; i++)
		n.macs[i] = macs[i];
	n.bmc = bmc.driver[0] ? &bmc : NULL;
	char *after = redacted_bmc_view(body);
	n.audit_after_json = after;
	struct inv_machine m = {0};
	struct inv_err e = {0};
	if (inv_machine_create(a->inv, &n, &m, &e) == INV_OK) {
		for (int i = 0; i < m.nmacs; i++)
			boot_dnsmasq_add_host(a->dnsmasq, m.macs[i], m.name);
		lc_kick(a->lc);
		api_json(r, 201, api_machine_json(&m, true));
	} else {
		api_fail_inv(r, "machine create", &e);
	}
	inv_machine_clear(&m);
	inv_bmc_clear(&bmc);
	free(after);
}

void api_machine_list(struct api_call *c)
{
	struct http_req *r = c->r;
	const struct principal *p = c->p;
	struct inv_machine_filter f = {.state = -1};
	if (!api_page(r, &f.limit, &f.after_seq))
		return;
	const char *st = http_arg(r, "state");
	enum inv_state s;
	if (st) {
		if (inv_state_from_name(st, &s) != 0) {
			http_error(r, 400, "invalid_value", "state", "unknown state '%s'", st);
			return;
		}
		f.state = (int)s;
	}
	f.sku = http_arg(r, "sku");
	f.site = http_arg(r, "site");
	f.rack = http_arg(r, "rack");
	f.owner = p->role == ROLE_SERVICE ? p->owner : http_arg(r, "owner");
	struct inv_machine_list l = {0};
	struct inv_err e = {0};
	if (inv_machine_list(c->a->inv, &f, &l, &e) != INV_OK) {
		api_fail_inv(r, "machine list", &e);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(items, machine_view(p, &l.items[i], false));
	api_json(r, 200, api_list(items, l.next_seq));
	inv_machine_list_clear(&l);
}

void api_machine_get(struct api_call *c)
{
	struct inv_machine m = {0};
	if (!api_load_machine(c, c->r->params[0], &m))
		return;
	api_json(c->r, 200, machine_view(c->p, &m, true));
	inv_machine_clear(&m);
}

void api_machine_events(struct api_call *c)
{
	struct http_req *r = c->r;
	struct inv_machine m = {0};
	int limit;
	int64_t after;
	if (!api_page(r, &limit, &after) || !api_load_machine(c, r->params[0], &m))
		return;
	struct inv_event_list l = {0};
	struct inv_err e = {0};
	/* a service sees the machine's history from its allocation on: the
	 * earlier tenants' actors and request ids are not its business */
	int64_t first = 0;
	if (c->p->role == ROLE_SERVICE &&
	    inv_machine_tenant_cursor(c->a->inv, m.id, m.allocation_id, &first, &e) != INV_OK) {
		api_fail_inv(r, "machine tenancy", &e);
		inv_machine_clear(&m);
		return;
	}
	if (after < first)
		after = first;
	if (inv_machine_events(c->a->inv, m.id, after, limit, &l, &e) != INV_OK) {
		api_fail_inv(r, "machine events", &e);
		inv_machine_clear(&m);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++) {
		const struct inv_event *ev = &l.items[i];
		json_t *o = json_pack("{s:I, s:o, s:o, s:s, s:s, s:s, s:s}", "seq",
				      (json_int_t)ev->seq, "at", api_time(ev->at), "from",
				      ev->from_state[0] ? json_string(ev->from_state) : json_null(),
				      "to", ev->to_state, "actor", ev->actor, "reason", ev->reason,
				      "request_id", ev->request_id);
		json_array_append_new(items, o);
	}
	api_json(r, 200, api_list(items, l.next_seq));
	inv_event_list_clear(&l);
	inv_machine_clear(&m);
}

/* What a PATCH does to the state: new BMC access re-verifies a machine that
 * is not in service; maintenance on/off follows the lifecycle rules. */
static bool plan_patch(struct http_req *r, const struct inv_machine *m,
		       struct inv_machine_change *c)
{
	if (c->set_maintenance && c->maintenance != m->maintenance) {
		enum lc_action act =
		    c->maintenance ? LC_ACT_MAINTENANCE_ON : LC_ACT_MAINTENANCE_OFF;
		char why[256];
		if (lc_manual(act, m, &c->state, why, sizeof why) != 0) {
			http_error(r, 409, "invalid_state", "maintenance", "%s", why);
			return false;
		}
		c->set_state = true;
	} else if (c->set_bmc && lc_reverify_on_bmc_change(m->state)) {
		c->set_state = true;
		c->state = INV_ST_ENROLLED;
	}
	if (c->set_state) {
		c->set_phase = c->set_attempts = c->set_wake = c->set_deadline = true;
		c->phase = "";
		c->attempts = 0;
		c->wake_at = inv_now_ms();
		c->deadline_at = 0;
		c->set_last_error = c->state == INV_ST_ENROLLED;
		c->last_error = "";
	}
	return true;
}

/* PATCH: the change to apply, or false with the response set. */
static bool build_patch(struct http_req *r, struct app *a, json_t *body,
			const struct inv_machine *m, struct inv_machine_change *c,
			struct inv_bmc *bmc)
{
	json_t *v;
	if ((v = json_object_get(body, "name"))) {
		c->set_name = true;
		c->name = json_string_value(v);
	}
	if ((v = json_object_get(body, "location"))) {
		c->set_location = true;
		if (!parse_location(r, v, &c->location))
			return false;
	}
	if ((v = json_object_get(body, "bmc")) && !json_is_null(v)) {
		struct inv_bmc old = {0};
		struct inv_err e = {0};
		enum inv_status st = inv_machine_bmc(a->inv, m->id, &old, &e);
		/* a password sealed with a lost key: the new access replaces it
		 * whole (docs/operations.md) */
		bool unreadable = st == INV_CORRUPT && strcmp(e.field, "bmc.password") == 0;
		if (unreadable)
			inv_bmc_clear(&old);
		else if (st != INV_OK && st != INV_NOT_FOUND) {
			api_fail_inv(r, "machine bmc read", &e);
			return false;
		}
		bool ok = api_parse_bmc(r, a, v, old.driver[0] ? &old : NULL, bmc);
		inv_bmc_clear(&old);
		if (!ok)
			return false;
		c->set_bmc = true;
		c->bmc = bmc;
	}
	if ((v = json_object_get(body, "maintenance"))) {
		c->set_maintenance = true;
		c->maintenance = json_is_true(v);
		c->maintenance_reason =
		    json_string_value(json_object_get(body, "maintenance_reason"));
	}
	return plan_patch(r, m, c);
}

/* One attempt at a PATCH against the machine as it is now. Returns
 * INV_CONFLICT (nothing answered) when the engine changed the machine
 * meanwhile, so the caller can try again on the fresh record. */
static enum inv_status patch_once(struct api_call *call)
{
	struct http_req *r = call->r;
	struct app *a = call->a;
	json_t *body = call->body;
	struct inv_machine m = {0};
	if (!api_load_machine(call, r->params[0], &m))
		return INV_NOT_FOUND;
	struct inv_bmc bmc = {0};
	struct inv_machine_change c = {.expect_version = m.version,
				       .actor = call->p->actor,
				       .reason = "patched",
				       .request_id = r->request_id,
				       .audit_action = "machine.patch"};
	json_t *view = api_machine_json(&m, false);
	char *before = json_dumps(view, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(view);
	char *after = redacted_bmc_view(body);
	c.audit_before_json = before;
	c.audit_after_json = after;
	enum inv_status st = INV_INVALID;
	if (build_patch(r, a, body, &m, &c, &bmc)) {
		struct inv_err e = {0};
		st = inv_machine_change(a->inv, m.id, &c, &m, &e);
		if (st == INV_OK) {
			lc_kick(a->lc);
			api_json(r, 200, api_machine_json(&m, true));
		} else if (st != INV_CONFLICT) {
			api_fail_inv(r, "machine patch", &e);
		}
	}
	free(before);
	free(after);
	inv_bmc_clear(&bmc);
	inv_machine_clear(&m);
	return st;
}

void api_machine_patch(struct api_call *c)
{
	/* The client sent no version: a change the engine made meanwhile is
	 * not the client's conflict. Apply the patch to the fresh record. */
	int attempt = 0;
	while (patch_once(c) == INV_CONFLICT && ++attempt < 8)
		;
	if (attempt == 8)
		http_error(c->r, 409, "conflict", NULL, "machine %s keeps changing; try again",
			   c->r->params[0]);
}

/* DELETE: a machine enrolled by mistake, a discovered one nobody wants, or
 * one out of service for good. What it was stays in the audit log. */
void api_machine_delete(struct api_call *c)
{
	struct http_req *r = c->r;
	struct inv_machine m = {0};
	if (!api_load_machine(c, r->params[0], &m))
		return;
	json_t *view = api_machine_json(&m, true);
	char *before = json_dumps(view, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(view);
	struct inv_err e = {0};
	if (inv_machine_delete(c->a->inv, m.id, c->p->actor, r->request_id, before, NULL, &e) ==
	    INV_OK) {
		log_event(LOG_INFO, "machine deleted", "machine", m.id, "name", m.name,
			  "request_id", r->request_id, NULL);
		http_reply(r, 204, "application/json", NULL, 0);
	} else {
		api_fail_inv(r, "machine delete", &e);
	}
	free(before);
	inv_machine_clear(&m);
}
