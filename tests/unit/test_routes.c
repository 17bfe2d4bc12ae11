/* The route matcher (table-driven), the invariants every route table entry
 * must keep, and the OpenAPI document made from the tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "provisiond/routes.h"

static void test_match_table(void **state)
{
	(void)state;
	static const struct {
		const char *pattern, *path;
		bool match;
		int nparams;
		const char *p0, *p1;
	} cases[] = {
	    {.pattern = "/healthz", .path = "/healthz", .match = true},
	    {.pattern = "/healthz", .path = "/healthz/", .match = false},
	    {.pattern = "/healthz", .path = "/health", .match = false},
	    {.pattern = "/v1/machines/{}",
	     .path = "/v1/machines/abc",
	     .match = true,
	     .nparams = 1,
	     .p0 = "abc"},
	    {.pattern = "/v1/machines/{}", .path = "/v1/machines/", .match = false},
	    {.pattern = "/v1/machines/{}", .path = "/v1/machines/a/b", .match = false},
	    {.pattern = "/v1/machines/{}/events",
	     .path = "/v1/machines/m1/events",
	     .match = true,
	     .nparams = 1,
	     .p0 = "m1"},
	    {.pattern = "/v1/machines/{}/events", .path = "/v1/machines/m1/event", .match = false},
	    {.pattern = "/v1/owners/{}/quotas/{}",
	     .path = "/v1/owners/svc/quotas/lab.small",
	     .match = true,
	     .nparams = 2,
	     .p0 = "svc",
	     .p1 = "lab.small"},
	    {.pattern = "/v1/owners/{}/quotas/{}", .path = "/v1/owners//quotas/x", .match = false},
	    {.pattern = "/boot/{}",
	     .path = "/boot/vmlinuz",
	     .match = true,
	     .nparams = 1,
	     .p0 = "vmlinuz"},
	    {.pattern = "/", .path = "", .match = false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct http_req r;
		memset(&r, 0, sizeof r);
		bool got = http_match(cases[i].pattern, cases[i].path, &r);
		if (got != cases[i].match)
			fail_msg("%s ~ %s: expected %d", cases[i].pattern, cases[i].path,
				 cases[i].match);
		if (!got)
			continue;
		assert_int_equal(r.nparams, cases[i].nparams);
		if (cases[i].p0)
			assert_string_equal(r.params[0], cases[i].p0);
		if (cases[i].p1)
			assert_string_equal(r.params[1], cases[i].p1);
	}
}

static void test_match_long_segment(void **state)
{
	(void)state;
	char path[600] = "/v1/machines/";
	memset(path + strlen(path), 'a', 300);
	struct http_req r;
	memset(&r, 0, sizeof r);
	/* longer than a capture holds: no match rather than a truncated id */
	assert_false(http_match("/v1/machines/{}", path, &r));
}

/* Each entry says everything dispatch needs, consistently. */
static void check_table(const struct api_route *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct api_route *rt = &t[i];
		const char *what = rt->http.pattern;
		if (!rt->handler || !rt->summary || !*rt->summary || what[0] != '/')
			fail_msg("%s %s: handler, summary and an absolute pattern", rt->http.method,
				 what);
		if ((rt->auth == AUTH_BEARER) != (rt->roles != 0))
			fail_msg("%s %s: roles exactly when authenticated by API token",
				 rt->http.method, what);
		bool json = rt->body == BODY_JSON || rt->body == BODY_JSON_OPT;
		if (json != (rt->schema != NULL))
			fail_msg("%s %s: a schema exactly for JSON bodies", rt->http.method, what);
		if (rt->audited && rt->auth != AUTH_BEARER)
			fail_msg("%s %s: audited routes know who called", rt->http.method, what);
		for (size_t j = 0; j < i; j++)
			if (strcmp(t[j].http.method, rt->http.method) == 0 &&
			    strcmp(t[j].http.pattern, what) == 0)
				fail_msg("%s %s listed twice", rt->http.method, what);
	}
}

static void test_tables(void **state)
{
	(void)state;
	check_table(api_routes, api_nroutes);
	check_table(boot_routes, boot_nroutes);
	assert_true(api_nroutes > 20);
}

/* A write route's handler must not run on the poll thread: they wait for
 * the group commit. */
static void test_writes_on_workers(void **state)
{
	(void)state;
	for (size_t i = 0; i < api_nroutes; i++)
		if (api_routes[i].http.inline_ok && strcmp(api_routes[i].http.method, "GET") != 0)
			fail_msg("%s %s runs inline", api_routes[i].http.method,
				 api_routes[i].http.pattern);
}

/* The route's path in the document: "/v1/owners/{}/quotas/{}" matches
 * "/v1/owners/{owner}/quotas/{sku}". */
static bool same_path(const char *pattern, const char *path)
{
	while (*pattern && *path) {
		if (pattern[0] == '{' && pattern[1] == '}' && path[0] == '{') {
			pattern += 2;
			path = strchr(path, '}');
			if (!path)
				return false;
			path++;
		} else if (*pattern++ != *path++) {
			return false;
		}
	}
	return !*pattern && !*path;
}

static json_t *find_operation(json_t *paths, const struct api_route *rt)
{
	char method[8] = "";
	for (size_t m = 0; rt->http.method[m] && m + 1 < sizeof method; m++)
		method[m] = (char)(rt->http.method[m] | 0x20);
	const char *k;
	json_t *item;
	json_object_foreach(paths, k, item)
	{
		if (same_path(rt->http.pattern, k))
			return json_object_get(item, method);
	}
	return NULL;
}

/* Each route of a table is an operation of the document, served on its
 * listener, with its query arguments and every answer the table gives,
 * each naming a schema the document has. Returns the operations found. */
static size_t check_documented(json_t *doc, const struct api_route *t, size_t n,
			       const char *listener)
{
	json_t *paths = json_object_get(doc, "paths");
	json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
	for (size_t i = 0; i < n; i++) {
		const struct api_route *rt = &t[i];
		json_t *op = find_operation(paths, rt);
		if (!op)
			fail_msg("%s %s is not in the document", rt->http.method, rt->http.pattern);
		json_t *ls = json_object_get(op, "x-listener"), *v;
		size_t j, on = 0, nq = 0;
		json_array_foreach(ls, j, v) on += strcmp(json_string_value(v), listener) == 0;
		if (!on)
			fail_msg("%s %s: not on the %s listener", rt->http.method, rt->http.pattern,
				 listener);
		for (const char *const *q = rt->query; q && *q; q++)
			nq++;
		json_array_foreach(json_object_get(op, "parameters"), j, v) nq -=
		    strcmp(json_string_value(json_object_get(v, "in")), "query") == 0;
		if (nq)
			fail_msg("%s %s: its query arguments are not all documented",
				 rt->http.method, rt->http.pattern);
		json_t *rs = json_object_get(op, "responses");
		if (!rt->responses || !rt->responses[0].status)
			fail_msg("%s %s: the table names no answer", rt->http.method,
				 rt->http.pattern);
		for (const struct api_response *r = rt->responses; r && r->status; r++) {
			char key[16];
			snprintf(key, sizeof key, "%u", r->status);
			if (!json_object_get(rs, key) ||
			    (r->schema && !json_object_get(schemas, r->schema)))
				fail_msg("%s %s: answer %u (%s) is not documented", rt->http.method,
					 rt->http.pattern, r->status, r->schema ? r->schema : "-");
		}
	}
	return n;
}

/* Every "$ref" of v points at something the document has. */
static void check_refs(json_t *doc, json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;
	if (json_is_array(v))
		json_array_foreach(v, i, x) check_refs(doc, x);
	if (!json_is_object(v))
		return;
	json_object_foreach(v, k, x)
	{
		if (strcmp(k, "$ref") != 0) {
			check_refs(doc, x);
			continue;
		}
		const char *ref = json_string_value(x);
		char part[64];
		json_t *at = doc;
		for (const char *p = ref && ref[0] == '#' ? ref + 1 : ""; at && *p == '/';) {
			size_t n = strcspn(p + 1, "/");
			snprintf(part, sizeof part, "%.*s", (int)n, p + 1);
			at = json_object_get(at, part);
			p += n + 1;
		}
		if (!ref || ref[0] != '#' || !at || at == doc)
			fail_msg("$ref %s points at nothing", ref ? ref : "(not a string)");
	}
}

static void test_openapi(void **state)
{
	(void)state;
	json_t *doc = api_openapi();
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	json_t *paths = json_object_get(doc, "paths");
	json_t *op =
	    json_object_get(json_object_get(paths, "/v1/owners/{owner}/quotas/{sku}"), "put");
	assert_non_null(op);
	size_t in_path = 0, i;
	json_t *prm;
	json_array_foreach(json_object_get(op, "parameters"), i, prm) in_path +=
	    strcmp(json_string_value(json_object_get(prm, "in")), "path") == 0;
	assert_int_equal(in_path, 2);
	json_t *roles = json_object_get(op, "x-roles");
	assert_int_equal(json_array_size(roles), 1);
	assert_string_equal(json_string_value(json_array_get(roles, 0)), "admin");
	/* nested members are documented: enroll's bmc.driver is required */
	json_t *enroll = json_object_get(json_object_get(paths, "/v1/machines"), "post");
	json_t *body = json_object_get(json_object_get(enroll, "requestBody"), "content");
	body = json_object_get(json_object_get(body, "application/json"), "schema");
	json_t *bmc = json_object_get(json_object_get(body, "properties"), "bmc");
	assert_string_equal(json_string_value(json_array_get(json_object_get(bmc, "required"), 0)),
			    "driver");
	/* every route of both tables is in it, and nothing else */
	size_t found = check_documented(doc, api_routes, api_nroutes, "management") +
		       check_documented(doc, boot_routes, boot_nroutes, "boot");
	size_t ops = 0;
	const char *k, *m;
	json_t *item, *o;
	json_object_foreach(paths, k, item)
	{
		json_object_foreach(item, m, o) ops += strcmp(m, "servers") != 0;
	}
	assert_int_equal(ops, found - 1); /* /healthz is one operation on both */
	check_refs(doc, doc);
	json_decref(doc);
}

/* The state enumerations come from the name tables, not a second list. */
static void test_openapi_enums(void **state)
{
	(void)state;
	json_t *schemas = api_openapi_schemas();
	assert_non_null(schemas);
	json_t *e = json_object_get(json_object_get(schemas, "MachineState"), "enum");
	assert_int_equal(json_array_size(e), INV_ST__COUNT);
	for (int i = 0; i < INV_ST__COUNT; i++)
		assert_string_equal(json_string_value(json_array_get(e, (size_t)i)),
				    inv_state_name((enum inv_state)i));
	e = json_object_get(json_object_get(schemas, "AllocationState"), "enum");
	assert_int_equal(json_array_size(e), INV_AL__COUNT);
	json_decref(schemas);
}

static void test_version(void **state)
{
	(void)state;
	json_t *v = api_version_json();
	assert_string_equal(json_string_value(json_object_get(v, "version")), PROVISIOND_VERSION);
	assert_int_equal(json_integer_value(json_object_get(v, "schema")), inv_schema_version());
	assert_true(strlen(json_string_value(json_object_get(v, "commit"))) > 0);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match_table), cmocka_unit_test(test_match_long_segment),
	    cmocka_unit_test(test_tables),	cmocka_unit_test(test_writes_on_workers),
	    cmocka_unit_test(test_openapi),	cmocka_unit_test(test_openapi_enums),
	    cmocka_unit_test(test_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
