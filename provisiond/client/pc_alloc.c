/* Typed calls for /v1/allocations and /v1/tokens (docs/api.md). */
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/pc_internal.h"

/* Per-request long-poll cap: stays under common proxy idle timeouts. */
#define PC_MAX_POLL_S 60L

/* A JSON array of n strings; NULL on allocation failure. */
static json_t *string_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* "network": {"mode":"static","addresses":[…],"gateway":…,"nameservers":[…]} */
static int add_network(json_t *body, const struct pc_alloc_spec *s)
{
	if (s->n_addresses == 0)
		return 0;
	json_t *net = json_pack("{s:s, s:o}", "mode", "static", "addresses",
				string_array(s->addresses, s->n_addresses));
	int bad = net == NULL;
	if (!bad && s->gateway != NULL)
		bad = json_object_set_new(net, "gateway", json_string(s->gateway)) != 0;
	if (!bad && s->n_nameservers > 0)
		bad = json_object_set_new(net, "nameservers",
					  string_array(s->nameservers, s->n_nameservers)) != 0;
	return bad || json_object_set_new(body, "network", net) != 0;
}

static json_t *alloc_body(const struct pc_alloc_spec *s)
{
	json_t *body = json_pack("{s:s, s:I, s:s}", "sku", s->sku, "count", (json_int_t)s->count,
				 "image", s->image);
	int bad = body == NULL;

	if (!bad && s->min_count > 0)
		bad = json_object_set_new(body, "min_count", json_integer(s->min_count));
	if (!bad && s->name != NULL)
		bad = json_object_set_new(body, "name", json_string(s->name));
	if (!bad && s->spread_across != NULL) {
		json_t *sp = json_pack("{s:s}", "across", s->spread_across);
		if (sp != NULL && s->spread_mode != NULL)
			bad = json_object_set_new(sp, "mode", json_string(s->spread_mode)) != 0;
		bad = bad || json_object_set_new(body, "spread", sp) != 0;
	}
	if (!bad && s->user_data != NULL)
		bad = json_object_set_new(body, "user_data", json_string(s->user_data));
	if (!bad)
		bad = add_network(body, s);
	if (!bad && s->n_ssh_keys > 0) {
		json_t *keys = json_array();
		for (size_t i = 0; keys != NULL && i < s->n_ssh_keys; i++)
			if (json_array_append_new(keys, json_string(s->ssh_keys[i])) != 0)
				bad = 1;
		bad = bad || json_object_set_new(body, "ssh_keys", keys) != 0;
	}
	if (bad) {
		json_decref(body);
		return NULL;
	}
	return body;
}

pc_status pc_alloc_create(pc_client *c, const struct pc_alloc_spec *spec, json_t **out,
			  struct pc_error *err)
{
	return pc_alloc_create_ex(c, spec, out, NULL, err);
}

pc_status pc_alloc_create_ex(pc_client *c, const struct pc_alloc_spec *spec, json_t **out,
			     bool *replayed, struct pc_error *err)
{
	struct pc_header h = {"Idempotency-Key", spec ? spec->idempotency_key : NULL};
	struct pc_request req = {
	    .method = "POST", .path = "/v1/allocations", .headers = &h, .nheaders = 1};
	pc_status rc;

	*out = NULL;
	if (replayed != NULL)
		*replayed = false;
	pc_error_clear(err);
	if (spec == NULL || spec->sku == NULL || spec->image == NULL || spec->count <= 0)
		return pc_fail(err, PC_E_INVALID, "allocation needs sku, image and count > 0");
	req.body = alloc_body(spec);
	if (req.body == NULL)
		return pc_fail(err, PC_E_NOMEM, "out of memory building the body");
	rc = pc_request_object(c, &req, out, replayed, err);
	json_decref((json_t *)req.body);
	return rc;
}

/* GET /v1/allocations/{id}[?wait=S[&watch=machines][&seen=STATE]]: seen is
 * the state the caller holds, so a change since its last read answers at
 * once. */
static pc_status alloc_get(pc_client *c, const char *id, long wait_s, bool watch_machines,
			   const char *seen, json_t **out, struct pc_error *err)
{
	char wait[32];
	struct pc_query q[] = {{"wait", NULL}, {"watch", NULL}, {"seen", NULL}};
	struct pc_request req = {.method = "GET", .query = q, .nquery = 3};
	pc_status rc;

	*out = NULL;
	if (wait_s > 0) {
		snprintf(wait, sizeof(wait), "%ld", wait_s);
		q[0].value = wait;
		q[1].value = watch_machines ? "machines" : NULL;
		q[2].value = seen;
		req.extra_timeout_ms = wait_s * 1000;
	}
	char *path = id && id[0] ? pc_path_new("/v1/allocations", id, PC_END) : NULL;
	if (path == NULL) {
		pc_error_clear(err);
		return pc_fail(err, PC_E_INVALID, "allocation id is empty");
	}
	req.path = path;
	rc = pc_request_object(c, &req, out, NULL, err);
	free(path);
	return rc;
}

pc_status pc_alloc_get(pc_client *c, const char *id, long wait_s, json_t **out,
		       struct pc_error *err)
{
	return alloc_get(c, id, wait_s, false, NULL, out, err);
}

static bool alloc_settling(const json_t *a)
{
	const char *s = json_string_value(json_object_get(a, "state"));

	return s != NULL && (strcmp(s, "deploying") == 0 || strcmp(s, "releasing") == 0);
}

/* Monotonic seconds and sleeping on util's clock. */
static double now_s(void)
{
	return (double)util_now_ms() / 1000.0;
}

static void sleep_s(double s)
{
	util_sleep_ms((int64_t)(s * 1000.0));
}

/* Both lack key, or both hold equal values. */
static bool same_key(const json_t *a, const json_t *b, const char *key)
{
	json_t *x = json_object_get(a, key), *y = json_object_get(b, key);

	return (x == NULL && y == NULL) || json_equal(x, y);
}

static double min_d(double a, double b)
{
	return a < b ? a : b;
}

pc_status pc_alloc_wait(pc_client *c, const char *id, long total_s, json_t **out,
			struct pc_error *err)
{
	return pc_alloc_wait_progress(c, id, total_s, NULL, NULL, out, err);
}

pc_status pc_alloc_wait_progress(pc_client *c, const char *id, long total_s,
				 void (*progress)(void *ctx, const json_t *alloc), void *ctx,
				 json_t **out, struct pc_error *err)
{
	struct pc_error local;
	double deadline = now_s() + (double)total_s;
	json_t *cur = NULL, *next = NULL;

	if (err == NULL)
		err = &local; /* the 429/503 retry needs Retry-After */
	pc_status rc = pc_alloc_get(c, id, 0, &cur, err);

	if (rc == PC_OK && progress != NULL)
		progress(ctx, cur);
	while (rc == PC_OK && alloc_settling(cur)) {
		double start = now_s(), left = deadline - start;
		if (left < 1.0)
			break;
		long poll = left < (double)PC_MAX_POLL_S ? (long)left : PC_MAX_POLL_S;
		pc_status r =
		    alloc_get(c, id, poll, progress != NULL,
			      json_string_value(json_object_get(cur, "state")), &next, err);
		/* over the token's rate (429), or the server is busy or cannot
		 * write (503): retry after Retry-After, within the deadline */
		if (r == PC_E_API && (err->http_status == 429 || err->http_status == 503)) {
			sleep_s(min_d(err->retry_after_s >= 0 ? (double)err->retry_after_s : 1.0,
				      deadline - now_s()));
			continue;
		}
		if (r != PC_OK) {
			rc = r;
			break;
		}
		if (progress != NULL)
			progress(ctx, next);
		/* A server that answers at once with no change must not be
		 * hammered: poll at most once a second then. */
		if (same_key(cur, next, "state") && same_key(cur, next, "machines") &&
		    now_s() - start < 1.0)
			sleep_s(min_d(1.0, deadline - now_s()));
		json_decref(cur);
		cur = next;
	}
	if (rc != PC_OK) {
		json_decref(cur);
		cur = NULL;
	}
	*out = cur;
	return rc;
}

pc_status pc_alloc_list(pc_client *c, json_t **out, struct pc_error *err)
{
	return pc_alloc_list_filter(c, NULL, out, err);
}

pc_status pc_alloc_list_filter(pc_client *c, const struct pc_alloc_filter *f, json_t **out,
			       struct pc_error *err)
{
	struct pc_alloc_filter none = {0};

	if (f == NULL)
		f = &none;
	struct pc_query q[] = {{"state", f->state}, {"owner", f->owner}};
	return pc_list(c, "/v1/allocations", q, 2, f->cursor, f->max_items, out, err);
}

pc_status pc_alloc_release(pc_client *c, const char *id, json_t **out, struct pc_error *err)
{
	char *path = id && id[0] ? pc_path_new("/v1/allocations", id, PC_END) : NULL;
	pc_status rc;

	if (path == NULL) {
		if (out != NULL)
			*out = NULL;
		pc_error_clear(err);
		return pc_fail(err, PC_E_INVALID, "allocation id is empty");
	}
	rc = pc_call(c, "DELETE", path, NULL, out, err);
	free(path);
	return rc;
}

pc_status pc_token_create(pc_client *c, const char *role, const char *owner, const char *name,
			  json_t **out, struct pc_error *err)
{
	json_t *body = json_pack("{s:s?, s:s*, s:s*}", "role", role, "owner", owner, "name", name);
	pc_status rc;

	if (body == NULL) {
		*out = NULL;
		pc_error_clear(err);
		return pc_fail(err, PC_E_NOMEM, "out of memory building the body");
	}
	rc = pc_call(c, "POST", "/v1/tokens", body, out, err);
	json_decref(body);
	return rc;
}

pc_status pc_token_list(pc_client *c, json_t **out, struct pc_error *err)
{
	return pc_list(c, "/v1/tokens", NULL, 0, NULL, 0, out, err);
}

pc_status pc_token_delete(pc_client *c, const char *id, struct pc_error *err)
{
	char *path = id && id[0] ? pc_path_new("/v1/tokens", id, PC_END) : NULL;
	pc_status rc;

	if (path == NULL) {
		pc_error_clear(err);
		return pc_fail(err, PC_E_INVALID, "token id is empty");
	}
	rc = pc_call(c, "DELETE", path, NULL, NULL, err);
	free(path);
	return rc;
}

/* "/v1/allocations/ID/rebuild[/cancel]" (malloc'd), or NULL with err set
 * for an empty id. */
static char *rebuild_path(const char *id, bool cancel, json_t **out, struct pc_error *err)
{
	char *path = id && id[0] ? pc_path_new("/v1/allocations", id, "rebuild",
					       cancel ? "cancel" : PC_END, PC_END)
				 : NULL;
	*out = NULL;
	pc_error_clear(err);
	if (path == NULL)
		pc_fail(err, PC_E_INVALID, "allocation id is empty");
	return path;
}

pc_status pc_alloc_rebuild(pc_client *c, const char *id, const struct pc_rebuild_spec *spec,
			   json_t **out, struct pc_error *err)
{
	char *path = rebuild_path(id, false, out, err);
	if (path == NULL)
		return err->kind;
	if (spec == NULL || spec->image == NULL || spec->nwaves == 0) {
		free(path);
		return pc_fail(err, PC_E_INVALID, "a rebuild needs an image and waves");
	}
	json_t *waves = json_array();
	for (size_t i = 0; i < spec->nwaves; i++)
		json_array_append_new(waves, json_string(spec->waves[i]));
	json_t *body = json_pack("{s:s, s:o}", "image", spec->image, "waves", waves);
	if (body != NULL && spec->max_failures >= 0)
		json_object_set_new(body, "max_failures", json_integer(spec->max_failures));
	pc_status rc = body ? pc_call(c, "POST", path, body, out, err)
			    : pc_fail(err, PC_E_NOMEM, "out of memory building the body");
	json_decref(body);
	free(path);
	return rc;
}

pc_status pc_alloc_rebuild_get(pc_client *c, const char *id, json_t **out, struct pc_error *err)
{
	char *path = rebuild_path(id, false, out, err);
	if (path == NULL)
		return err->kind;
	pc_status rc = pc_call(c, "GET", path, NULL, out, err);
	free(path);
	return rc;
}

pc_status pc_alloc_rebuild_cancel(pc_client *c, const char *id, json_t **out, struct pc_error *err)
{
	char *path = rebuild_path(id, true, out, err);
	if (path == NULL)
		return err->kind;
	pc_status rc = pc_call(c, "POST", path, NULL, out, err);
	free(path);
	return rc;
}
