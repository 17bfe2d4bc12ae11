/* api_allocations.c - /v1/allocations: the service-facing heart. */
#include "provisiond/routes.h"
#include "provisiond/lifecycle/lifecycle.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MASK(s) (1u << (s))

static bool valid_across(const char *s)
{
	enum inv_spread_across a;
	return inv_spread_across_from_name(s, &a) == 0 && a != INV_SPREAD_NONE;
}

static bool valid_mode(const char *s)
{
	enum inv_spread_mode m;
	return inv_spread_mode_from_name(s, &m) == 0;
}

static const struct field spread_fields[] = {
    {.name = "across",
     .kind = F_STR,
     .required = true,
     .min = 1,
     .max = 16,
     .check = valid_across,
     .hint = "must be rack or site",
     .schema = "SpreadAcross"},
    {.name = "mode",
     .kind = F_STR,
     .min = 1,
     .max = 16,
     .check = valid_mode,
     .hint = "must be strict (the default) or best_effort",
     .schema = "SpreadMode"},
};

/* user_data: cloud-init's user data for the config drive. jansson has
 * already refused bytes that are not UTF-8, and the length check refuses
 * NUL; here the other control characters but tab, LF and CR. */
static bool valid_user_data(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r') ||
		    *s == 0x7f)
			return false;
	return true;
}

const struct field alloc_fields[] = {
    API_NAME_FIELD("sku", true, "must be a SKU name"),
    {.name = "count", .kind = F_INT, .required = true, .min = 1, .max = INV_MAX_ALLOC},
    {.name = "min_count", .kind = F_INT, .min = 1, .max = INV_MAX_ALLOC},
    API_NAME_FIELD("image", true, "must be an image name"),
    API_NAME_FIELD("name", false, "must contain only [A-Za-z0-9._-]"),
    {.name = "ssh_keys", .kind = F_ARR},
    {.name = "user_data",
     .kind = F_STR,
     .min = 1,
     .max = 64 * 1024,
     .check = valid_user_data,
     .hint = "must be text (UTF-8 without control characters but tab, CR and LF)"},
    API_NAME_FIELD("owner", false, "must be an owner name"),
    {.name = "spread", .kind = F_OBJ, .sub = spread_fields, .nsub = ARRAY_SIZE(spread_fields)},
    {.name = "network", .kind = F_OBJ, .sub = network_fields, .nsub = API_NETWORK_NFIELDS},
};
const struct api_schema alloc_schema = {alloc_fields, ARRAY_SIZE(alloc_fields)};

static bool valid_key(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)k[i]))
			return false;
	return true;
}

static bool check_ssh_keys(struct http_req *r, json_t *keys)
{
	size_t i;
	json_t *v;
	if (json_array_size(keys) > 32) {
		http_error(r, 400, "invalid_value", "ssh_keys", "at most 32 ssh_keys");
		return false;
	}
	json_array_foreach(keys, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 8192 ||
		    (strncmp(json_string_value(v), "ssh-", 4) &&
		     strncmp(json_string_value(v), "ecdsa-", 6))) {
			http_error(r, 400, "invalid_value", "ssh_keys",
				   "ssh_keys[%zu] must be an OpenSSH public key line", i);
			return false;
		}
	}
	return true;
}

/* Validates references and fills the request; false with response set. */
static bool build_request(struct http_req *r, struct app *a, const struct principal *p,
			  json_t *body, struct inv_alloc_request *q)
{
	q->sku = json_string_value(json_object_get(body, "sku"));
	q->image = json_string_value(json_object_get(body, "image"));
	q->name = json_string_value(json_object_get(body, "name"));
	q->count = (int)json_integer_value(json_object_get(body, "count"));
	json_t *mc = json_object_get(body, "min_count");
	q->min_count = mc ? (int)json_integer_value(mc) : q->count;
	const char *owner = json_string_value(json_object_get(body, "owner"));
	if (owner && p->role != ROLE_ADMIN) {
		http_error(r, 403, "forbidden", "owner",
			   "only admins may allocate for another owner");
		return false;
	}
	q->owner = p->role == ROLE_SERVICE ? p->owner : owner ? owner : "admin";
	if (q->min_count > q->count) {
		http_error(r, 400, "invalid_value", "min_count", "min_count must not exceed count");
		return false;
	}
	json_t *keys = json_object_get(body, "ssh_keys");
	if (keys && !check_ssh_keys(r, keys))
		return false;
	if (!lc_sku_exists(a, q->sku)) {
		http_error(r, 400, "invalid_value", "sku", "unknown SKU '%s' (GET /v1/skus)",
			   q->sku);
		return false;
	}
	q->prefer_warm = lc_sku_warm_pool(a, q->sku) > 0;
	struct inv_image img;
	struct inv_err e = {0};
	enum inv_status st = inv_image_get(a->inv, q->image, &img, &e);
	if (st == INV_NOT_FOUND) {
		http_error(r, 400, "invalid_value", "image", "unknown image '%s' (GET /v1/images)",
			   q->image);
		return false;
	}
	if (st != INV_OK) {
		api_fail_inv(r, "image get", &e);
		return false;
	}
	if (img.state != INV_IMG_READY) {
		http_error(r, 409, "invalid_state", "image", "image '%s' is %s%s%s", q->image,
			   inv_image_state_name(img.state), img.last_error[0] ? ": " : "",
			   img.last_error);
		return false;
	}
	if (r->idempotency_key && !valid_key(r->idempotency_key)) {
		http_error(r, 400, "invalid_value", "Idempotency-Key",
			   "Idempotency-Key must be 1-128 visible characters");
		return false;
	}
	q->idempotency_key = r->idempotency_key;
	if (inv_quota_get(a->inv, q->owner, q->sku, &q->quota, &e) != INV_OK) {
		api_fail_inv(r, "quota get", &e);
		return false;
	}
	return true;
}

/* "spread": {"across": "rack"|"site", "mode": "strict"|"best_effort"}
 * into *sp (none when absent or null); false with a 400 naming the field. */
static bool parse_spread(struct http_req *r, json_t *body, struct inv_spread *sp)
{
	json_t *o = json_object_get(body, "spread");
	memset(sp, 0, sizeof *sp);
	if (!o || json_is_null(o))
		return true;
	if (!api_check_fields(r, o, "spread.", spread_fields, ARRAY_SIZE(spread_fields)))
		return false;
	const char *mode = json_string_value(json_object_get(o, "mode"));
	/* both checked above: the names are known */
	int rc = inv_spread_across_from_name(json_string_value(json_object_get(o, "across")),
					     &sp->across);
	if (rc == 0 && mode)
		rc = inv_spread_mode_from_name(mode, &sp->mode);
	if (rc != 0)
		http_error(r, 400, "invalid_value", "spread", "spread is not valid");
	return rc == 0;
}

/* Whether two stored network texts say the same (NULL: DHCP). */
static bool same_network(const char *a, const char *b)
{
	json_t *x = a ? json_loads(a, 0, NULL) : NULL, *y = b ? json_loads(b, 0, NULL) : NULL;
	bool same = (!a && !b) || (x && y && json_equal(x, y));
	json_decref(x);
	json_decref(y);
	return same;
}

/* A replayed Idempotency-Key must come with the same request. */
static bool same_request(const struct inv_allocation *al, const struct inv_alloc_request *q)
{
	return strcmp(al->sku, q->sku) == 0 && same_network(al->network_json, q->network_json) &&
	       strcmp(al->image, q->image) == 0 && al->count == q->count &&
	       al->min_count == q->min_count && (!q->name || strcmp(al->name, q->name) == 0) &&
	       al->spread.across == q->spread.across &&
	       (q->spread.across == INV_SPREAD_NONE || al->spread.mode == q->spread.mode);
}

void api_alloc_create(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	const struct principal *p = c->p;
	json_t *body = c->body;
	struct inv_alloc_request q = {
	    .actor = p->actor, .request_id = r->request_id, .wake_at = inv_now_ms()};
	json_t *keys = json_object_get(body, "ssh_keys");
	char *keys_json = keys ? json_dumps(keys, JSON_COMPACT) : NULL;
	q.ssh_keys_json = keys_json;
	q.user_data = json_string_value(json_object_get(body, "user_data"));
	struct api_network net = {0};
	int count = (int)json_integer_value(json_object_get(body, "count"));
	if (parse_spread(r, body, &q.spread) && api_network_parse(r, body, count, &net) &&
	    build_request(r, a, p, body, &q)) {
		q.network_json = net.json;
		q.addresses = (const char *const *)net.cidrs;
		q.address_ips = (const char *const *)net.ips;
		q.naddresses = net.n;
		struct inv_allocation al = {0};
		struct inv_err e = {0};
		if (inv_allocation_reserve(a->inv, &q, &al, &e) == INV_OK) {
			lc_kick(a->lc);
			if (al.replayed && !same_request(&al, &q))
				http_error(r, 409, "idempotency_key_reused", "Idempotency-Key",
					   "Idempotency-Key '%s' was used for a different request "
					   "(allocation %s)",
					   q.idempotency_key, al.id);
			else {
				r->idempotent_replayed = al.replayed;
				api_json(r, 202, api_allocation_json(a, &al));
			}
		} else {
			api_fail_inv(r, "allocation reserve", &e);
		}
		inv_allocation_clear(&al);
	}
	api_network_clear(&net);
	free(keys_json);
}

/* The allocation named by {id} if the caller may see it; 404 otherwise.
 * {id} is the UUID or the name (names may repeat: the newest of that name,
 * among the service's own for a service token). */
bool api_alloc_load(struct api_call *c, struct inv_allocation *al)
{
	struct http_req *r = c->r;
	const struct principal *p = c->p;
	const char *key = r->params[0];
	const char *own = p->role == ROLE_SERVICE ? p->owner : NULL;
	struct inv_err e = {0};
	enum inv_status st = INV_NOT_FOUND;

	if (api_valid_uuid(key))
		st = inv_allocation_get(c->a->inv, key, al, &e);
	if (st == INV_NOT_FOUND && api_valid_name(key))
		st = inv_allocation_get_by_name(c->a->inv, key, own, al, &e);
	if (st == INV_OK && own && strcmp(al->owner, own) != 0)
		st = INV_NOT_FOUND;
	if (st == INV_NOT_FOUND) {
		inv_allocation_clear(al);
		http_error(r, 404, "not_found", "id", "no allocation '%s'", key);
		return false;
	}
	if (st != INV_OK) {
		api_fail_inv(r, "allocation get", &e);
		return false;
	}
	return true;
}

/* Whether a waiting client would see no change from a to b: the same
 * state and the same machines in the same states. */
static bool same_view(const struct inv_allocation *a, const struct inv_allocation *b)
{
	if (a->state != b->state || a->nmachines != b->nmachines)
		return false;
	for (size_t i = 0; i < a->nmachines; i++)
		if (strcmp(a->machines[i].id, b->machines[i].id) != 0 ||
		    a->machines[i].state != b->machines[i].state ||
		    a->machines[i].detached != b->machines[i].detached)
			return false;
	return true;
}

/* ?wait=SECONDS: blocks until the allocation's state differs from the
 * first read, or (watch_machines) also one of its machines' states. With
 * ?seen=STATE (seen >= 0), a first read already past what the client saw
 * answers at once: its change came between the client's two requests. */
static bool long_poll(struct api_call *c, struct inv_allocation *al, int wait_s,
		      bool watch_machines, int seen_state)
{
	struct app *a = c->a;
	if (seen_state >= 0 && (int)al->state != seen_state)
		return true;
	if (atomic_fetch_add(&a->long_polls, 1) >= a->cfg.api_workers / 2) {
		atomic_fetch_sub(&a->long_polls, 1); /* keep workers for other requests */
		return false;
	}
	struct inv_allocation first = *al; /* kept to compare; al gets each new read */
	int64_t deadline = inv_now_ms() + (int64_t)wait_s * 1000;
	uint64_t seen = inv_change_counter(a->inv);
	bool changed = false, read = false;
	while (!changed && !atomic_load(&a->draining)) {
		int64_t left = deadline - inv_now_ms();
		if (left <= 0)
			break;
		inv_wait_change(a->inv, &seen, left > 1000 ? 1000 : (int)left);
		struct inv_allocation next = {0};
		struct inv_err e = {0};
		enum inv_status st = inv_allocation_get(a->inv, first.id, &next, &e);
		if (st != INV_OK) { /* answer with the last state read */
			api_note_inv(c->r, "allocation long-poll", st, &e);
			break;
		}
		changed = watch_machines ? !same_view(&first, &next) : first.state != next.state;
		if (read)
			inv_allocation_clear(al);
		*al = next;
		read = true;
	}
	if (read)
		inv_allocation_clear(&first);
	atomic_fetch_sub(&a->long_polls, 1);
	return true;
}

void api_alloc_get(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	struct inv_allocation al = {0};
	const char *w = http_arg(r, "wait");
	char *end = NULL;
	long wait_s = w ? strtol(w, &end, 10) : 0;
	if (w && (!*w || *end || wait_s < 0 || wait_s > a->cfg.long_poll_max_s)) {
		http_error(r, 400, "invalid_value", "wait", "wait must be 0..%d seconds",
			   a->cfg.long_poll_max_s);
		return;
	}
	const char *watch = http_arg(r, "watch");
	if (watch && strcmp(watch, "state") != 0 && strcmp(watch, "machines") != 0) {
		http_error(r, 400, "invalid_value", "watch", "watch must be state or machines");
		return;
	}
	const char *seen_s = http_arg(r, "seen");
	enum inv_alloc_state seen = INV_AL_DEPLOYING;
	if (seen_s && inv_alloc_state_from_name(seen_s, &seen) != 0) {
		http_error(r, 400, "invalid_value", "seen", "seen must be an allocation state");
		return;
	}
	if (!api_alloc_load(c, &al))
		return;
	bool machines = watch && strcmp(watch, "machines") == 0;
	if (wait_s > 0 && !long_poll(c, &al, (int)wait_s, machines, seen_s ? (int)seen : -1)) {
		http_error(r, 503, "overloaded", "wait",
			   "too many long-polls in flight; retry after a second");
		snprintf(r->retry_after, sizeof r->retry_after, "1");
	} else {
		api_json(r, 200, api_allocation_json(a, &al));
	}
	inv_allocation_clear(&al);
}

void api_alloc_list(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	const struct principal *p = c->p;
	struct inv_alloc_filter f = {.state = -1};
	if (!api_page(r, &f.limit, &f.after_seq))
		return;
	const char *st = http_arg(r, "state");
	enum inv_alloc_state s;
	if (st) {
		if (inv_alloc_state_from_name(st, &s) != 0) {
			http_error(r, 400, "invalid_value", "state",
				   "unknown allocation state '%s'", st);
			return;
		}
		f.state = (int)s;
	}
	f.owner = p->role == ROLE_SERVICE ? p->owner : http_arg(r, "owner");
	struct inv_alloc_list l = {0};
	struct inv_err e = {0};
	if (inv_allocation_list(a->inv, &f, &l, &e) != INV_OK) {
		api_fail_inv(r, "allocation list", &e);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(items, api_allocation_json(a, &l.items[i]));
	api_json(r, 200, api_list(items, l.next_seq));
	inv_alloc_list_clear(&l);
}

void api_alloc_delete(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	const struct principal *p = c->p;
	struct inv_allocation al = {0};
	if (!api_alloc_load(c, &al))
		return;
	struct inv_err e = {0};
	enum inv_status s = INV_OK;
	if (al.state != INV_AL_RELEASING && al.state != INV_AL_RELEASED)
		s = inv_allocation_set_state(a->inv, al.id,
					     MASK(INV_AL_DEPLOYING) | MASK(INV_AL_READY) |
						 MASK(INV_AL_FAILED),
					     INV_AL_RELEASING, NULL, p->actor, r->request_id, &e);
	if (s == INV_OK) {
		lc_allocation_settle(a, al.id);
		lc_kick(a->lc);
		char id[INV_ID_LEN];
		snprintf(id, sizeof id, "%s", al.id);
		inv_allocation_clear(&al);
		s = inv_allocation_get(a->inv, id, &al, &e);
	}
	if (s == INV_OK)
		api_json(r, 202, api_allocation_json(a, &al));
	else
		api_fail_inv(r, "allocation release", &e);
	inv_allocation_clear(&al);
}
