/* dispatch.c - what every route gets before its handler runs: the caller's
 * identity, the role check, the freeze, and a validated body. Written once
 * here so a handler cannot forget one (see routes.h). */
#include "provisiond/log.h"
#include "provisiond/ratelimit.h"
#include "provisiond/routes.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

/* The bearer secret of the Authorization header, or NULL. */
static const char *bearer(const struct http_req *r)
{
	const char *h = r->authorization;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7])
		return NULL;
	return h + 7;
}

static bool auth_failed(struct api_call *c, const char *fmt, const char *what)
{
	atomic_fetch_add(&c->a->auth_failures, 1);
	http_error(c->r, 401, "unauthorized", NULL, fmt, what);
	return false;
}

/* An API token: fills *p and checks its role against the route's. */
static bool auth_bearer(struct api_call *c, struct principal *p)
{
	const char *secret = bearer(c->r);
	if (!secret)
		return auth_failed(c, "missing %s token", "bearer");
	char hash[65];
	tok_hash(secret, hash);
	struct inv_token t;
	struct inv_err e = {0};
	enum inv_status st = inv_token_by_hash(c->a->inv, hash, &t, &e);
	if (st != INV_OK && st != INV_NOT_FOUND)
		return api_fail_inv(c->r, "token lookup", &e), false;
	if (st != INV_OK || CRYPTO_memcmp(t.hash, hash, 64) != 0 ||
	    role_from_name(t.role, &p->role) != 0)
		return auth_failed(c, "invalid %s", "token");
	snprintf(p->owner, sizeof p->owner, "%s", t.owner);
	snprintf(p->token_id, sizeof p->token_id, "%s", t.id);
	snprintf(p->actor, sizeof p->actor, "%s:%s", t.role, t.name[0] ? t.name : t.id);
	c->p = p;
	if (!(c->route->roles & p->role)) {
		http_error(c->r, 403, "forbidden", NULL, "role %s may not %s %s", t.role,
			   c->r->method, c->route->http.pattern);
		return false;
	}
	return true;
}

bool api_boot_token_machine(struct http_req *r, struct app *a, const char *kind,
			    char mid[INV_ID_LEN])
{
	const char *secret = bearer(r);
	if (!secret) {
		http_error(r, 401, "unauthorized", NULL, "missing %s token", kind);
		return false;
	}
	char hash[65];
	struct inv_err e = {0};
	tok_hash(secret, hash);
	enum inv_status st = inv_boot_token_take(a->inv, hash, kind, false, mid, &e);
	if (st == INV_OK)
		return true;
	if (st == INV_IO || st == INV_CORRUPT)
		return api_fail_inv(r, "boot token lookup", &e), false;
	atomic_fetch_add(&a->auth_failures, 1);
	http_error(r, 401, "unauthorized", NULL, "%s token unknown, used or expired", kind);
	return false;
}

static bool authenticate(struct api_call *c, struct principal *p)
{
	switch (c->route->auth) {
	case AUTH_NONE:
		return true;
	case AUTH_BEARER:
		return auth_bearer(c, p);
	case AUTH_SESSION:
		return api_boot_token_machine(c->r, c->a, "session", c->machine_id);
	case AUTH_INSTANCE:
		return api_boot_token_machine(c->r, c->a, "instance", c->machine_id);
	}
	http_error(c->r, 500, "internal", NULL, "route has no authentication mode");
	return false;
}

/* Admission per API token: a token bucket of [server] token_rate_per_s,
 * so one runaway client cannot take the service from the others. */
static bool within_rate(struct api_call *c)
{
	int64_t retry_ms = 0;
	if (!c->p || !c->a->token_rl ||
	    rl_take(c->a->token_rl, c->p->token_id, inv_now_ms(), &retry_ms))
		return true;
	atomic_fetch_add(&c->a->token_rate_refused, 1);
	int s = retry_ms >= 3600000 ? 3600 : (int)((retry_ms + 999) / 1000);
	s = s > 0 ? s : 1;
	snprintf(c->r->retry_after, sizeof c->r->retry_after, "%d", s);
	http_error(c->r, 429, "rate_limited", NULL,
		   "token %s made more than %d requests a second; retry after %d s", c->p->token_id,
		   c->a->cfg.token_rate_per_s, s);
	return false;
}

/* Every query argument is one the route reads; 400 naming it otherwise. */
static bool check_query(struct api_call *c)
{
	const struct http_req *r = c->r;
	for (int i = 0; i < r->nargs; i++) {
		bool known = false;
		for (const char *const *q = c->route->query; q && *q && !known; q++)
			known = strcmp(*q, r->arg_key[i]) == 0;
		if (!known) {
			http_error(c->r, 400, "unknown_parameter", r->arg_key[i],
				   "%s %s takes no query argument '%s'", r->method,
				   c->route->http.pattern, r->arg_key[i]);
			return false;
		}
	}
	return true;
}

static bool parse_body(struct api_call *c)
{
	const struct api_route *rt = c->route;
	if (rt->body == BODY_JSON_OPT && !c->r->body_len)
		return true;
	if (rt->body != BODY_JSON && rt->body != BODY_JSON_OPT)
		return true;
	c->body = api_body(c->r, rt->schema->fields, rt->schema->n);
	return c->body != NULL;
}

/* A replica without the api role ([replica] roles) answers the
 * management API's /v1 routes with 421: the client asked the wrong one. */
static bool api_role_serves(struct api_call *c)
{
	bool in_api = c->route >= api_routes && c->route < api_routes + api_nroutes;
	if (!in_api || (c->a->roles & CONFIG_ROLE_API) ||
	    strncmp(c->route->http.pattern, "/v1/", 4) != 0)
		return true;
	http_error(c->r, 421, "misdirected_request", NULL,
		   "this replica does not serve the API (replica.roles = %s)",
		   c->a->cfg.replica_roles);
	return false;
}

void api_dispatch(struct http_req *r, void *app)
{
	struct principal p = {0};
	struct api_call c = {.r = r, .a = app, .route = (const struct api_route *)r->route};
	if (!api_role_serves(&c))
		return;
	if (authenticate(&c, &p) && within_rate(&c) && check_query(&c) &&
	    !(c.route->refused_when_frozen && api_refuse_if_frozen(r, app)) && parse_body(&c))
		c.route->handler(&c);
	json_decref(c.body);
}

struct http_table api_http_table(const struct api_route *routes, size_t n)
{
	return (struct http_table){
	    .base = routes, .n = n, .stride = sizeof *routes, .dispatch = api_dispatch};
}

/* ------------------------------------------------------------- failures */

/* "code" is the failure's name; "status" is kept for numbers (log.c). */
static void log_failure(const struct http_req *r, const char *what, const char *code,
			const char *message)
{
	log_event(LOG_WARN, "call failed", "what", what, "code", code, "message", message, "method",
		  r->method, "path", http_log_path(r), "request_id", r->request_id, NULL);
}

void api_fail_inv(struct http_req *r, const char *what, const struct inv_err *e)
{
	static const struct {
		unsigned status;
		const char *code;
	} map[] = {
	    [INV_OK] = {500, "internal"},
	    [INV_NOT_FOUND] = {404, "not_found"},
	    [INV_CONFLICT] = {409, "conflict"},
	    [INV_DUPLICATE] = {409, "already_exists"},
	    [INV_INVALID] = {400, "invalid_value"},
	    [INV_CAPACITY] = {409, "insufficient_capacity"},
	    [INV_QUOTA] = {403, "quota_exceeded"},
	    [INV_IO] = {503, "storage_unavailable"},
	    [INV_CORRUPT] = {500, "storage_corrupt"},
	    [INV_SCHEMA_NEWER] = {500, "storage_schema"},
	};
	_Static_assert(ARRAY_SIZE(map) == INV_SCHEMA_NEWER + 1, "inv error map");
	unsigned s = (unsigned)e->status < ARRAY_SIZE(map) ? e->status : INV_IO;
	/* an inventory call that "failed" with INV_OK is a bug: say so */
	const char *msg =
	    e->status == INV_OK ? "inventory call failed without a reason" : e->message;
	if (map[s].status >= 500)
		log_failure(r, what, inv_status_name(e->status), msg);
	http_error(r, map[s].status, map[s].code, e->field, "%s", msg);
	if (map[s].status == 503)
		snprintf(r->retry_after, sizeof r->retry_after, "1");
}

void api_note_inv(const struct http_req *r, const char *what, enum inv_status st,
		  const struct inv_err *e)
{
	if (st != INV_OK)
		log_failure(r, what, inv_status_name(st), e->message);
}

void api_fail(struct http_req *r, unsigned status, const char *what, const struct err *e)
{
	if (status >= 500)
		log_failure(r, what, err_status_name(e->status), e->message);
	http_error(r, status, status >= 500 ? "internal" : "invalid_value", e->field, "%s",
		   e->message);
}
