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

static void test_openapi(void **state)
{
	(void)state;
	json_t *doc = api_openapi();
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
	json_t *paths = json_object_get(doc, "paths");
	json_t *op =
	    json_object_get(json_object_get(paths, "/v1/owners/{owner}/quotas/{sku}"), "put");
	assert_non_null(op);
	assert_int_equal(json_array_size(json_object_get(op, "parameters")), 2);
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
	/* every route of both tables is in it */
	size_t ops = 0;
	const char *k;
	json_t *item;
	json_object_foreach(paths, k, item) ops += json_object_size(item);
	assert_int_equal(ops, api_nroutes + boot_nroutes - 1); /* /healthz is on both */
	json_decref(doc);
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
	    cmocka_unit_test(test_openapi),	cmocka_unit_test(test_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
