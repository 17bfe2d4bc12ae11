/* api_auth.c - the authorization matrix: every route x every role (admin,
 * tech, service), no token and a bad token, against docs/api.md:
 *   admin: everything; tech: enroll, maintenance, repair, retire, machine
 *   power, read everything but secrets; service: allocations of its own
 *   owner, read SKUs/images (and its own machines).
 * The table must cover every route of the daemon's route table and agree
 * with the roles it gives (checked against GET /v1/openapi.json, which is
 * made from that table), so a new route cannot slip past it. Also: a service
 * sees nothing of another owner (404). */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

enum who { ADMIN, TECH, SERVICE, NONE, BAD, NWHO };
static const char *const who_name[NWHO] = {"admin", "tech", "service", "no-token", "bad-token"};

struct route_case {
	const char *method;
	const char *pattern; /* as in the route table */
	const char *path;    /* {M} {A} {A2} {TOK} are filled in */
	const char *body;    /* {R} role name, {IMG} image file path; NULL: none */
	int expect[NWHO];
};

/* Event streams: read until their hello, then hang up. */
static bool is_stream(const struct route_case *rc)
{
	return strcmp(rc->pattern, "/v1/stream") == 0;
}

#define OPEN                                                                                       \
	{                                                                                          \
		200, 200, 200, 200, 200                                                            \
	}
#define READ_ALL(s)                                                                                \
	{                                                                                          \
		s, s, s, 401, 401                                                                  \
	}
#define STAFF(s)                                                                                   \
	{                                                                                          \
		s, s, 403, 401, 401                                                                \
	}
#define ADMIN_ONLY(s)                                                                              \
	{                                                                                          \
		s, 403, 403, 401, 401                                                              \
	}
#define ADMIN_SERVICE(s)                                                                           \
	{                                                                                          \
		s, 403, s, 401, 401                                                                \
	}

static const struct route_case cases[] = {
    {"GET", "/healthz", "/healthz", NULL, OPEN},
    {"GET", "/readyz", "/readyz", NULL, OPEN},
    {"GET", "/metrics", "/metrics", NULL, OPEN},
    {"GET", "/v1/openapi.json", "/v1/openapi.json", NULL, OPEN},
    {"GET", "/v1/version", "/v1/version", NULL, OPEN},
    /* the web console's files are public; what they show needs a token */
    {"GET", "/ui/", "/ui/", NULL, OPEN},
    {"GET", "/ui/{}", "/ui/app.js", NULL, OPEN},
    {"GET", "/v1/whoami", "/v1/whoami", NULL, READ_ALL(200)},
    {"GET", "/v1/stream", "/v1/stream", NULL, READ_ALL(200)},
    {"GET", "/v1/bmc/circuits", "/v1/bmc/circuits", NULL, STAFF(200)},
    {"POST", "/v1/tokens", "/v1/tokens", "{\"role\":\"service\",\"owner\":\"new-{R}\"}",
     ADMIN_ONLY(201)},
    /* who holds which token is the admin's business (docs/api.md) */
    {"GET", "/v1/tokens", "/v1/tokens", NULL, ADMIN_ONLY(200)},
    {"DELETE", "/v1/tokens/{}", "/v1/tokens/{TOK}", NULL, ADMIN_ONLY(204)},
    {"GET", "/v1/skus", "/v1/skus", NULL, READ_ALL(200)},
    {"GET", "/v1/skus/{}", "/v1/skus/lab.small", NULL, READ_ALL(200)},
    {"POST", "/v1/machines", "/v1/machines", "{\"name\":\"auth-{R}\"}", STAFF(201)},
    {"GET", "/v1/machines", "/v1/machines", NULL, READ_ALL(200)},
    {"GET", "/v1/machines/{}", "/v1/machines/{M}", NULL, READ_ALL(200)},
    {"PATCH", "/v1/machines/{}", "/v1/machines/{M}", "{\"location\":{\"site\":\"dc-{R}\"}}",
     STAFF(200)},
    /* {D}: a machine enrolled for this row, never allocated; the admin
     * deletes it first, the tech's second try finds nothing (404) */
    {"DELETE", "/v1/machines/{}", "/v1/machines/{D}", NULL, {204, 404, 403, 401, 401}},
    {"POST", "/v1/machines/{}/actions", "/v1/machines/{M}/actions",
     "{\"action\":\"power_on\",\"reason\":\"auth matrix\"}", STAFF(202)},
    {"GET", "/v1/machines/{}/events", "/v1/machines/{M}/events", NULL, READ_ALL(200)},
    {"GET", "/v1/machines/{}/console", "/v1/machines/{M}/console", NULL, STAFF(200)},
    {"GET", "/v1/machines/{}/power", "/v1/machines/{M}/power", NULL, STAFF(200)},
    {"PUT", "/v1/machines/{}/power", "/v1/machines/{M}/power", "{\"action\":\"on\"}", STAFF(200)},
    {"PUT", "/v1/machines/{}/bootdev", "/v1/machines/{M}/bootdev",
     "{\"device\":\"disk\",\"persistent\":true}", STAFF(200)},
    {"POST", "/v1/images", "/v1/images", "{\"name\":\"img-{R}\",\"path\":\"{IMG}\"}",
     ADMIN_ONLY(201)},
    {"GET", "/v1/images", "/v1/images", NULL, READ_ALL(200)},
    {"GET", "/v1/images/{}", "/v1/images/img", NULL, READ_ALL(200)},
    {"DELETE", "/v1/images/{}", "/v1/images/spare-img", NULL, ADMIN_ONLY(204)},
    {"POST", "/v1/allocations", "/v1/allocations",
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\"}", ADMIN_SERVICE(202)},
    {"GET", "/v1/allocations", "/v1/allocations", NULL, READ_ALL(200)},
    {"GET", "/v1/allocations/{}", "/v1/allocations/{A}", NULL, READ_ALL(200)},
    /* the admin releases it first; the owner's second release is a no-op 202 */
    {"DELETE", "/v1/allocations/{}", "/v1/allocations/{A2}", NULL, ADMIN_SERVICE(202)},
    /* staged rollouts of {A}: the roles let in reach the handler (an unknown
     * image: 400; never rebuilt: 404) */
    {"POST", "/v1/allocations/{}/rebuild", "/v1/allocations/{A}/rebuild",
     "{\"image\":\"no-such-image\",\"waves\":[\"100%\"]}", ADMIN_SERVICE(400)},
    {"GET", "/v1/allocations/{}/rebuild", "/v1/allocations/{A}/rebuild", NULL, READ_ALL(404)},
    {"POST", "/v1/allocations/{}/rebuild/cancel", "/v1/allocations/{A}/rebuild/cancel", NULL,
     ADMIN_SERVICE(404)},
    {"GET", "/v1/audit", "/v1/audit", NULL, STAFF(200)},
    {"GET", "/v1/capacity", "/v1/capacity", NULL, READ_ALL(200)},
    {"PUT", "/v1/owners/{}/quotas/{}", "/v1/owners/svc/quotas/lab.small", "{\"machines\":100}",
     ADMIN_ONLY(200)},
    {"GET", "/v1/owners/{}/quotas", "/v1/owners/svc/quotas", NULL, READ_ALL(200)},
    {"GET", "/v1/replicas", "/v1/replicas", NULL, STAFF(200)},
    {"GET", "/v1/freeze", "/v1/freeze", NULL, STAFF(200)},
    {"PUT", "/v1/freeze", "/v1/freeze", "{\"frozen\":false,\"reason\":\"auth matrix\"}",
     ADMIN_ONLY(200)},
};

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, NULL);
}

struct vars {
	const char *names[7];
	const char *values[7];
};

/* Copies tmpl into out replacing every {NAME} of v. */
static void expand(const char *tmpl, const struct vars *v, char *out, size_t len)
{
	size_t o = 0;
	out[0] = 0;
	for (const char *p = tmpl; *p && o + 1 < len;) {
		bool done = false;
		for (size_t i = 0; i < ARRAY_SIZE(v->names) && v->names[i] && !done; i++) {
			size_t n = strlen(v->names[i]);
			if (strncmp(p, v->names[i], n) == 0) {
				int w = snprintf(out + o, len - o, "%s", v->values[i]);
				o += w > 0 ? (size_t)w : 0;
				if (o >= len)
					o = len - 1;
				p += n;
				done = true;
			}
		}
		if (!done) {
			out[o++] = *p++;
			out[o] = 0;
		}
	}
}

/* "/v1/owners/{owner}/quotas/{sku}" -> "/v1/owners/{}/quotas/{}" */
static void table_pattern(const char *path, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = path; *p && o + 3 < len; p++) {
		out[o++] = *p;
		if (*p == '{') {
			out[o++] = '}';
			p = strchr(p, '}');
			if (!p)
				break;
		}
	}
	out[o] = 0;
}

static bool role_listed(json_t *roles, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(roles, i, v) if (strcmp(json_string_value(v), name) == 0) return true;
	return false;
}

/* Whether the operation is served on the listener (x-listener). */
static bool on_listener(json_t *op, const char *listener)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(op, "x-listener"), i, v)
	{
		if (strcmp(json_string_value(v), listener) == 0)
			return true;
	}
	return false;
}

/* One operation of the daemon's OpenAPI document (made from its route
 * table) against its row: the row exists and expects what x-roles says. */
static int check_operation(const char *method, const char *pattern, json_t *op)
{
	const struct route_case *rc = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(cases) && !rc; i++)
		if (strcmp(cases[i].method, method) == 0 && strcmp(cases[i].pattern, pattern) == 0)
			rc = &cases[i];
	if (!rc) {
		fprintf(stderr, "route %s %s has no row in the auth matrix\n", method, pattern);
		return 1;
	}
	json_t *roles = json_object_get(op, "x-roles");
	int bad = 0;
	for (int w = ADMIN; w <= SERVICE && roles; w++) {
		bool allowed = role_listed(roles, who_name[w]);
		if (allowed != (rc->expect[w] != 403) || rc->expect[NONE] != 401) {
			fprintf(stderr, "route %s %s: the table lets %s %s, the matrix says %d\n",
				method, pattern, who_name[w], allowed ? "in" : "not in",
				rc->expect[w]);
			bad++;
		}
	}
	if (!roles && json_array_size(json_object_get(op, "security")) == 0 &&
	    rc->expect[NONE] == 401) {
		fprintf(stderr, "route %s %s is open in the table, not in the matrix\n", method,
			pattern);
		bad++;
	}
	return bad;
}

/* Every management route of the daemon's own route table (as its OpenAPI
 * document states it) has a row here that agrees with its roles. */
static void assert_table_covers_routes(struct h_daemon *d)
{
	struct h_resp r;
	assert_int_equal(h_call(d, NULL, "GET", "/v1/openapi.json", NULL, &r), 200);
	const char *path, *method;
	json_t *item, *op;
	int routes = 0, bad = 0;
	json_object_foreach(json_object_get(r.json, "paths"), path, item)
	{
		char pattern[256], upper[8];
		table_pattern(path, pattern, sizeof pattern);
		json_object_foreach(item, method, op)
		{
			if (!on_listener(op, "management"))
				continue;
			size_t i = 0;
			for (; method[i] && i + 1 < sizeof upper; i++)
				upper[i] = (char)(method[i] & ~0x20);
			upper[i] = 0;
			routes++;
			bad += check_operation(upper, pattern, op);
		}
	}
	h_resp_clear(&r);
	assert_true(routes > 20);
	assert_int_equal(bad, 0);
}

static void test_auth_matrix(void **state)
{
	struct h_daemon *d = *state;
	assert_table_covers_routes(d);

	char tok[NWHO][H_TOKEN_LEN], victim[H_TOKEN_LEN];
	snprintf(tok[ADMIN], H_TOKEN_LEN, "%s", d->admin);
	assert_int_equal(h_token(d, "tech", NULL, tok[TECH]), 201);
	assert_int_equal(h_token(d, "service", "svc", tok[SERVICE]), 201);
	snprintf(tok[BAD], H_TOKEN_LEN,
		 "pvd_0000000000000000000000000000000000000000000000000000000000000000");
	/* a token to delete, its id from the list */
	assert_int_equal(h_token(d, "service", "victim", victim), 201);
	char tok_id[H_ID_LEN] = "";
	struct h_resp r;
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/tokens", NULL, &r), 200);
	json_t *it;
	size_t k;
	json_array_foreach(json_object_get(r.json, "items"), k, it)
	{
		const char *owner = json_string_value(json_object_get(it, "owner"));
		if (owner && strcmp(owner, "victim") == 0)
			snprintf(tok_id, sizeof tok_id, "%s",
				 json_string_value(json_object_get(it, "id")));
		assert_null(json_object_get(it, "token")); /* secrets are shown once */
	}
	h_resp_clear(&r);
	assert_int_equal(strlen(tok_id), 36);

	/* the pool: A and A2 for the service, two for the POST rows, one spare */
	for (int i = 0; i < 5; i++) {
		char name[32];
		snprintf(name, sizeof name, "pool-%d", i);
		assert_int_equal(h_enroll_fake(d, name, (unsigned)i + 1, "lab.small", 20, 0, NULL),
				 201);
	}
	assert_true(h_wait_count(d, "available", "lab.small", 5, 120));
	assert_int_equal(h_image(d, "img"), 201);
	assert_int_equal(h_image(d, "spare-img"), 201);
	char aid[H_ID_LEN], aid2[H_ID_LEN], mid[H_ID_LEN];
	assert_int_equal(h_allocate(d, tok[SERVICE], "lab.small", 1, 0, "img", NULL, aid, &r), 202);
	snprintf(mid, sizeof mid, "%s",
		 json_string_value(json_object_get(
		     json_array_get(json_object_get(r.json, "machines"), 0), "id")));
	h_resp_clear(&r);
	assert_int_equal(h_allocate(d, tok[SERVICE], "lab.small", 1, 0, "img", NULL, aid2, NULL),
			 202);
	assert_true(h_wait_alloc(d, tok[SERVICE], aid, "ready", 120, NULL));
	assert_true(h_wait_alloc(d, tok[SERVICE], aid2, "ready", 120, NULL));

	/* a machine without BMC access stays enrolled: the one to delete */
	char del[H_ID_LEN];
	assert_int_equal(h_call(d, d->admin, "POST", "/v1/machines",
				json_pack("{s:s}", "name", "auth-delete"), &r),
			 201);
	snprintf(del, sizeof del, "%s", h_str(&r, "id"));
	h_resp_clear(&r);
	char img[400];
	snprintf(img, sizeof img, "%s/img.raw", d->images);
	int failures = 0;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		for (int w = 0; w < NWHO; w++) {
			struct vars v = {{"{M}", "{A2}", "{A}", "{TOK}", "{R}", "{IMG}", "{D}"},
					 {mid, aid2, aid, tok_id, who_name[w], img, del}};
			char path[512], body[512];
			expand(cases[c].path, &v, path, sizeof path);
			if (cases[c].body)
				expand(cases[c].body, &v, body, sizeof body);
			const char *t = w == NONE ? NULL : tok[w];
			long s = is_stream(&cases[c])
				     ? h_stream(d, t, path, "event: hello", 10000, &r)
				     : h_request(d, t, cases[c].method, path,
						 cases[c].body ? body : NULL,
						 cases[c].body ? strlen(body) : 0, NULL, &r);
			if (is_stream(&cases[c]) && s == 200 && !strstr(r.body, "event: hello"))
				s = -1; /* a stream must begin with its hello */
			const char *want_code = s == 401   ? "unauthorized"
						: s == 403 ? "forbidden"
							   : NULL;
			bool ok = s == cases[c].expect[w] &&
				  (!want_code || strcmp(h_err_code(&r), want_code) == 0) &&
				  r.request_id[0];
			if (!ok) {
				fprintf(stderr,
					"MISMATCH %-6s %-34s as %-9s: want %d, got %ld %s\n",
					cases[c].method, path, who_name[w], cases[c].expect[w], s,
					r.body);
				failures++;
			}
			h_resp_clear(&r);
		}
	}
	assert_int_equal(failures, 0);

	/* a deleted token no longer opens anything */
	assert_int_equal(h_call(d, victim, "GET", "/v1/skus", NULL, &r), 401);
	assert_string_equal(h_err_code(&r), "unauthorized");
	h_resp_clear(&r);
	/* other spellings of "no credentials" */
	static const char *const bad_headers[] = {
	    "Authorization: Basic YWRtaW46YWRtaW4=", "Authorization: Bearer",
	    "Authorization: Bearer  ", "Authorization: bearer x"};
	for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
		const char *h[] = {bad_headers[i], NULL};
		long s = h_request(d, NULL, "GET", "/v1/skus", NULL, 0, h, &r);
		if (s != 401)
			fprintf(stderr, "%s -> %ld %s\n", bad_headers[i], s, r.body);
		assert_int_equal(s, 401);
		h_resp_clear(&r);
	}
	/* X-Request-Id is echoed */
	const char *rid[] = {"X-Request-Id: auth-matrix-1", NULL};
	assert_int_equal(h_request(d, NULL, "GET", "/v1/skus", NULL, 0, rid, &r), 401);
	assert_string_equal(r.request_id, "auth-matrix-1");
	h_resp_clear(&r);
}

static void test_other_owner_sees_nothing(void **state)
{
	struct h_daemon *d = *state;
	char svc[H_TOKEN_LEN], other[H_TOKEN_LEN];
	assert_int_equal(h_token(d, "service", "svc", svc), 201);
	assert_int_equal(h_token(d, "service", "other", other), 201);
	char spare_id[H_ID_LEN];
	assert_int_equal(h_enroll_fake(d, "own-0", 1, "lab.small", 20, 0, NULL), 201);
	assert_int_equal(h_enroll_fake(d, "own-1", 2, "lab.small", 20, 0, NULL), 201);
	assert_int_equal(h_enroll_fake(d, "own-2", 3, "lab.small", 20, 0, spare_id), 201);
	assert_true(h_wait_count(d, "available", "lab.small", 3, 120));
	assert_int_equal(h_image(d, "img"), 201);
	char aid[H_ID_LEN], adm[H_ID_LEN], mid[H_ID_LEN], mname[64];
	struct h_resp r;
	assert_int_equal(h_allocate(d, svc, "lab.small", 1, 0, "img", NULL, aid, &r), 202);
	json_t *m0 = json_array_get(json_object_get(r.json, "machines"), 0);
	snprintf(mid, sizeof mid, "%s", json_string_value(json_object_get(m0, "id")));
	snprintf(mname, sizeof mname, "%s", json_string_value(json_object_get(m0, "name")));
	h_resp_clear(&r);
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 1, 0, "img", NULL, adm, NULL), 202);
	assert_true(h_wait_alloc(d, svc, aid, "ready", 120, NULL));

	/* the owner sees its allocation and machine */
	char path[200];
	snprintf(path, sizeof path, "/v1/allocations/%s", aid);
	assert_int_equal(h_call(d, svc, "GET", path, NULL, NULL), 200);
	snprintf(path, sizeof path, "/v1/machines/%s", mid);
	assert_int_equal(h_call(d, svc, "GET", path, NULL, NULL), 200);

	/* the owner sees its machine's history from its allocation on, never
	 * the earlier tenants' or the enrollment's (their actors and request
	 * ids are not its business); staff see all of it */
	snprintf(path, sizeof path, "/v1/machines/%s/events", mid);
	assert_int_equal(h_call(d, svc, "GET", path, NULL, &r), 200);
	json_t *ev;
	size_t k;
	assert_true(json_array_size(json_object_get(r.json, "items")) > 0);
	json_array_foreach(json_object_get(r.json, "items"), k, ev)
	{
		const char *to = json_string_value(json_object_get(ev, "to"));
		if (strcmp(to, "deploying") != 0 && strcmp(to, "active") != 0)
			fail_msg("service sees an event to %s from before its allocation", to);
	}
	h_resp_clear(&r);
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
	bool enrolled_seen = false;
	json_array_foreach(json_object_get(r.json, "items"), k, ev) enrolled_seen |=
	    strcmp(json_string_value(json_object_get(ev, "to")), "enrolled") == 0;
	assert_true(enrolled_seen);
	h_resp_clear(&r);

	/* others get 404 exactly like for ids that do not exist */
	struct {
		const char *token, *method, *fmt, *arg;
	} hidden[] = {
	    {other, "GET", "/v1/allocations/%s", aid},
	    {other, "GET", "/v1/allocations/%s?wait=1", aid},
	    {other, "DELETE", "/v1/allocations/%s", aid},
	    {other, "GET", "/v1/machines/%s", mid},
	    {other, "GET", "/v1/machines/%s", mname},
	    {other, "GET", "/v1/machines/%s/events", mid},
	    {other, "GET", "/v1/owners/%s/quotas", "svc"},
	    {svc, "GET", "/v1/allocations/%s", adm},
	    {svc, "DELETE", "/v1/allocations/%s", adm},
	    {svc, "GET", "/v1/machines/%s", spare_id},
	    {svc, "GET", "/v1/machines/%s/events", spare_id},
	    {other, "GET", "/v1/allocations/%s", "00000000-0000-4000-8000-000000000000"},
	    {other, "GET", "/v1/machines/%s", "00000000-0000-4000-8000-000000000000"},
	};
	for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
		snprintf(path, sizeof path, hidden[i].fmt, hidden[i].arg);
		long s = h_call(d, hidden[i].token, hidden[i].method, path, NULL, &r);
		if (s != 404 || strcmp(h_err_code(&r), "not_found") != 0)
			fprintf(stderr, "%s %s -> %ld %s\n", hidden[i].method, path, s, r.body);
		assert_int_equal(s, 404);
		assert_string_equal(h_err_code(&r), "not_found");
		h_resp_clear(&r);
	}
	/* lists are filtered to the owner */
	assert_int_equal(h_call(d, other, "GET", "/v1/allocations", NULL, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
	h_resp_clear(&r);
	assert_int_equal(h_call(d, other, "GET", "/v1/machines", NULL, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
	h_resp_clear(&r);
	assert_int_equal(h_call(d, other, "GET", "/v1/machines?owner=svc", NULL, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
	h_resp_clear(&r);
	assert_int_equal(h_call(d, svc, "GET", "/v1/allocations?owner=admin", NULL, &r), 200);
	json_t *items = json_object_get(r.json, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")),
			    aid);
	h_resp_clear(&r);
	assert_int_equal(h_call(d, svc, "GET", "/v1/machines", NULL, &r), 200);
	items = json_object_get(r.json, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")),
			    mid);
	h_resp_clear(&r);
	/* a service cannot allocate in another owner's name */
	json_t *b = json_pack("{s:s, s:i, s:s, s:s}", "sku", "lab.small", "count", 1, "image",
			      "img", "owner", "svc");
	assert_int_equal(h_call(d, other, "POST", "/v1/allocations", b, &r), 403);
	h_resp_clear(&r);
	/* the other's DELETE changed nothing */
	snprintf(path, sizeof path, "/v1/allocations/%s", aid);
	assert_int_equal(h_call(d, svc, "GET", path, NULL, &r), 200);
	assert_string_equal(h_str(&r, "state"), "ready");
	h_resp_clear(&r);
}

/* Allocations an admin makes without "owner" belong to the owner "admin";
 * a service token whose owner is "admin" must not become their owner
 * (either such a token is refused, or it does not see them). */
static void test_service_owner_admin_is_not_the_admin(void **state)
{
	struct h_daemon *d = *state;
	assert_int_equal(h_enroll_fake(d, "adm-0", 1, "lab.small", 20, 0, NULL), 201);
	assert_true(h_wait_count(d, "available", "lab.small", 1, 120));
	assert_int_equal(h_image(d, "img"), 201);
	char adm[H_ID_LEN];
	struct h_resp r;
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 1, 0, "img", NULL, adm, &r), 202);
	assert_string_equal(h_str(&r, "owner"), "admin");
	h_resp_clear(&r);
	char tok[H_TOKEN_LEN];
	long s = h_token(d, "service", "admin", tok);
	if (s == 400)
		return; /* refused: fine */
	assert_int_equal(s, 201);
	char path[160];
	snprintf(path, sizeof path, "/v1/allocations/%s", adm);
	s = h_call(d, tok, "GET", path, NULL, &r);
	if (s != 404)
		fprintf(stderr,
			"a service token with owner \"admin\" reads the admin's "
			"allocation: %ld\n",
			s);
	h_resp_clear(&r);
	assert_int_equal(s, 404);
}

/* The boot/agent plane takes only its own per-machine tokens: management
 * tokens, bad tokens and no token are 401; each listener serves only its
 * own routes. */
static void test_boot_plane_tokens(void **state)
{
	struct h_daemon *d = *state;
	assert_true(d->boot_port > 0);
	assert_int_equal(h_enroll_fake(d, "managed", 1, "lab.small", 20, 0, NULL), 201);
	char tech[H_TOKEN_LEN];
	assert_int_equal(h_token(d, "tech", NULL, tech), 201);
	static const struct {
		const char *method, *path, *body;
	} agent[] = {
	    {"POST", "/v1/agent/inventory", "{}"},
	    {"POST", "/v1/agent/heartbeat", "{\"state\":\"idle\"}"},
	    {"GET", "/v1/agent/command", NULL},
	    {"POST", "/v1/agent/result",
	     "{\"id\":\"00000000-0000-4000-8000-000000000000\",\"ok\":true}"},
	    {"POST", "/v1/agent/booted", NULL},
	    /* a managed machine's MAC never gets a session without its boot token */
	    {"POST", "/v1/agent/lookup", "{\"macs\":[\"52:54:00:00:00:01\"]}"},
	};
	const char *bad = "pvd_0000000000000000000000000000000000000000000000000000000000000000";
	const char *tokens[] = {NULL, bad, d->admin, tech};
	for (size_t i = 0; i < sizeof agent / sizeof agent[0]; i++)
		for (size_t t = 0; t < sizeof tokens / sizeof tokens[0]; t++) {
			struct h_resp r;
			long s = h_boot_request(d, tokens[t], agent[i].method, agent[i].path,
						agent[i].body, &r);
			if (s != 401)
				fprintf(stderr, "%s %s (token %zu) -> %ld %s\n", agent[i].method,
					agent[i].path, t, s, r.body);
			assert_int_equal(s, 401);
			assert_string_equal(h_err_code(&r), "unauthorized");
			h_resp_clear(&r);
		}
	/* the listeners do not serve each other's routes */
	assert_int_equal(h_boot_request(d, d->admin, "GET", "/v1/machines", NULL, NULL), 404);
	assert_int_equal(h_boot_request(d, d->admin, "GET", "/v1/allocations", NULL, NULL), 404);
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/agent/command", NULL, NULL), 404);
	assert_int_equal(h_boot_request(d, NULL, "GET", "/healthz", NULL, NULL), 200);
	/* no machine was discovered or changed by all this */
	assert_int_equal(h_count_machines(d, NULL, NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_auth_matrix, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_other_owner_sees_nothing, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_boot_plane_tokens, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_service_owner_admin_is_not_the_admin, setup,
					    h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
