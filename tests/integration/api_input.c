/* api_input.c - bad inputs per route answer the right 4xx with error.field
 * naming the field and change nothing in the database (a read-only dump of
 * every table before and after each request); the BMC password never shows
 * in a response, the log or the audit table. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define BIG "@BIG" /* a body just over the 1 MiB limit */
#define NOFIELD NULL

static const char *const all_tables[] = {"machines",
					 "nics",
					 "bmcs",
					 "machine_events",
					 "images",
					 "allocations",
					 "allocation_machines",
					 "audit",
					 "tokens",
					 "idempotency_keys",
					 "quotas",
					 "settings",
					 "boot_tokens",
					 NULL};

struct bad_case {
	const char *method;
	const char *path; /* {M} available machine, {A} allocation */
	const char *body; /* NULL: none; BIG: oversized */
	const char *header;
	long status;
	const char *code;
	const char *field; /* NULL: the error must not name one */
};

#define M "/v1/machines"
#define AL "/v1/allocations"
#define NONEXIST "00000000-0000-4000-8000-000000000000"

static const struct bad_case cases[] = {
    /* POST /v1/machines */
    {"POST", M, "{\"name\":", NULL, 400, "invalid_json", NOFIELD},
    {"POST", M, "[1,2]", NULL, 400, "invalid_json", NOFIELD},
    {"POST", M, NULL, NULL, 400, "invalid_json", NOFIELD},
    {"POST", M, "{\"name\":\"a1\",\"name\":\"b1\"}", NULL, 400, "invalid_json", NOFIELD},
    {"POST", M, "{\"name\":5}", NULL, 400, "invalid_type", "name"},
    {"POST", M, "{\"macs\":[]}", NULL, 400, "missing_field", "name"},
    {"POST", M, "{\"name\":null}", NULL, 400, "invalid_type", "name"},
    {"POST", M, "{\"name\":\"x1\",\"colour\":\"red\"}", NULL, 400, "unknown_field", "colour"},
    {"POST", M, "{\"name\":\"bad name\"}", NULL, 400, "invalid_value", "name"},
    {"POST", M, "{\"name\":\"-dash\"}", NULL, 400, "invalid_value", "name"},
    {"POST", M, "{\"name\":\"n123456789012345678901234567890123456789012345678901234567890123\"}",
     NULL, 400, "invalid_value", "name"},
    {"POST", M, "{\"name\":\"a\\u0000b\"}", NULL, 400, "invalid_json", NOFIELD},
    {"POST", M, "{\"name\":\"x1\",\"macs\":[\"52:54:00:zz:00:01\"]}", NULL, 400, "invalid_value",
     "macs"},
    {"POST", M, "{\"name\":\"x1\",\"macs\":[\"52-54-00-00-00-09\"]}", NULL, 400, "invalid_value",
     "macs"},
    {"POST", M, "{\"name\":\"x1\",\"macs\":[7]}", NULL, 400, "invalid_value", "macs"},
    {"POST", M, "{\"name\":\"x1\",\"macs\":\"52:54:00:00:00:09\"}", NULL, 400, "invalid_type",
     "macs"},
    {"POST", M, "{\"name\":\"x1\",\"macs\":[\"52:54:00:00:00:09\",\"52:54:00:00:00:09\"]}", NULL,
     400, "invalid_value", "macs"},
    {"POST", M, "{\"name\":\"x1\",\"macs\":[\"52:54:00:00:00:01\"]}", NULL, 409, "already_exists",
     "macs"},
    {"POST", M, "{\"name\":\"in-0\"}", NULL, 409, "already_exists", "name"},
    {"POST", M, "{\"name\":\"x1\",\"location\":{\"unit\":-1}}", NULL, 400, "invalid_value",
     "location.unit"},
    {"POST", M, "{\"name\":\"x1\",\"location\":{\"floor\":2}}", NULL, 400, "unknown_field",
     "location.floor"},
    {"POST", M, "{\"name\":\"x1\",\"location\":[]}", NULL, 400, "invalid_type", "location"},
    {"POST", M, "{\"name\":\"x1\",\"bmc\":{\"options\":{}}}", NULL, 400, "missing_field",
     "bmc.driver"},
    {"POST", M, "{\"name\":\"x1\",\"bmc\":\"fake\"}", NULL, 400, "invalid_type", "bmc"},
    {"POST", M, "{\"name\":\"x1\",\"bmc\":{\"driver\":\"warp\"}}", NULL, 400, "invalid_value",
     "bmc.driver"},
    {"POST", M, "{\"name\":\"x1\",\"bmc\":{\"driver\":\"fake\",\"options\":{\"sku\":\"no.such\"}}}",
     NULL, 400, "invalid_value", "bmc.options.sku"},
    {"POST", M,
     "{\"name\":\"x1\",\"bmc\":{\"driver\":\"fake\",\"options\":{\"sku\":\"lab.small\","
     "\"fail_rate\":2}}}",
     NULL, 400, "invalid_value", "bmc.options.fail_rate"},
    {"POST", M,
     "{\"name\":\"x1\",\"bmc\":{\"driver\":\"fake\",\"options\":{\"sku\":\"lab.small\","
     "\"delay_ms\":-5}}}",
     NULL, 400, "invalid_value", "bmc.options.delay_ms"},
    {"POST", M,
     "{\"name\":\"x1\",\"bmc\":{\"driver\":\"fake\",\"options\":{\"sku\":\"lab.small\","
     "\"colour\":1}}}",
     NULL, 400, "invalid_value", "bmc.options.colour"},
    {"POST", M, "{\"name\":\"x1\",\"bmc\":{\"driver\":\"fake\",\"pass\":\"x\"}}", NULL, 400,
     "unknown_field", "bmc.pass"},
    {"POST", M, BIG, NULL, 413, "body_too_large", NOFIELD},
    /* POST /v1/allocations */
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":", NULL, 400, "invalid_json", NOFIELD},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":-1,\"image\":\"img\"}", NULL, 400,
     "invalid_value", "count"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":0,\"image\":\"img\"}", NULL, 400,
     "invalid_value", "count"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":100000,\"image\":\"img\"}", NULL, 400,
     "invalid_value", "count"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":\"2\",\"image\":\"img\"}", NULL, 400,
     "invalid_type", "count"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1.5,\"image\":\"img\"}", NULL, 400,
     "invalid_type", "count"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"min_count\":2,\"image\":\"img\"}", NULL, 400,
     "invalid_value", "min_count"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"min_count\":-1,\"image\":\"img\"}", NULL,
     400, "invalid_value", "min_count"},
    {"POST", AL, "{\"sku\":\"no.such\",\"count\":1,\"image\":\"img\"}", NULL, 400, "invalid_value",
     "sku"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"nope\"}", NULL, 400,
     "invalid_value", "image"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1}", NULL, 400, "missing_field", "image"},
    {"POST", AL, "{\"count\":1,\"image\":\"img\"}", NULL, 400, "missing_field", "sku"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"image\":\"img\"}", NULL, 400, "missing_field", "count"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"colour\":1}", NULL, 400,
     "unknown_field", "colour"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"ssh_keys\":[\"x\"]}", NULL,
     400, "invalid_value", "ssh_keys"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"ssh_keys\":\"ssh-\"}",
     NULL, 400, "invalid_type", "ssh_keys"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"user_data\":7}", NULL, 400,
     "invalid_type", "user_data"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"user_data\":\"\"}", NULL,
     400, "invalid_value", "user_data"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"user_data\":\"a\\u0001b\"}", NULL, 400,
     "invalid_value", "user_data"},
    /* network: DHCP or static addresses, one per machine */
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":7}", NULL, 400,
     "invalid_type", "network"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"bogus\"}}", NULL,
     400, "invalid_value", "network.mode"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{}}", NULL, 400,
     "missing_field", "network.mode"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"mask\":1}}",
     NULL, 400, "unknown_field", "network.mask"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"dhcp\","
     "\"addresses\":[\"10.0.0.5/24\"]}}",
     NULL, 400, "invalid_value", "network.addresses"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\"}}",
     NULL, 400, "missing_field", "network.addresses"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":2,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/24\"]}}",
     NULL, 400, "invalid_value", "network.addresses"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":2,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/24\",\"10.0.0.300/24\"]}}",
     NULL, 400, "invalid_value", "network.addresses[1]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[5]}}",
     NULL, 400, "invalid_value", "network.addresses[0]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5\"]}}",
     NULL, 400, "invalid_value", "network.addresses[0]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/33\"]}}",
     NULL, 400, "invalid_value", "network.addresses[0]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/+8\"]}}",
     NULL, 400, "invalid_value", "network.addresses[0]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.0/24\"]}}",
     NULL, 400, "invalid_value", "network.addresses[0]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.255/24\"]}}",
     NULL, 400, "invalid_value", "network.addresses[0]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":2,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/24\",\"10.0.0.5/25\"]}}",
     NULL, 400, "invalid_value", "network.addresses[1]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":2,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"fd00::5/64\",\"fd00:0::05/64\"]}}",
     NULL, 400, "invalid_value", "network.addresses[1]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":2,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/24\",\"fd00::5/64\"]}}",
     NULL, 400, "invalid_value", "network.addresses[1]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":2,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/24\",\"10.0.1.5/24\"],\"gateway\":\"10.0.0.1\"}}",
     NULL, 400, "invalid_value", "network.gateway"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/24\"],\"gateway\":\"10.0.0.5\"}}",
     NULL, 400, "invalid_value", "network.addresses[0]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/24\"],\"gateway\":\"10.0.0.1/24\"}}",
     NULL, 400, "invalid_value", "network.gateway"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"fd00:1::5/64\"],\"gateway\":\"fd00:2::1\"}}",
     NULL, 400, "invalid_value", "network.gateway"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/24\"],\"nameservers\":[\"10.0.0.1\",\"x\"]}}",
     NULL, 400, "invalid_value", "network.nameservers[1]"},
    {"POST", AL,
     "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"network\":{\"mode\":\"static\","
     "\"addresses\":[\"10.0.0.5/24\"],\"nameservers\":\"10.0.0.1\"}}",
     NULL, 400, "invalid_type", "network.nameservers"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"name\":\"a b\"}", NULL,
     400, "invalid_value", "name"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\"}",
     "Idempotency-Key: has space", 400, "invalid_value", "Idempotency-Key"},
    {"POST", AL, "{\"sku\":\"lab.small\",\"count\":50,\"image\":\"img\"}", NULL, 409,
     "insufficient_capacity", "count"},
    {"POST", AL, BIG, NULL, 413, "body_too_large", NOFIELD},
    /* /v1/allocations/{id} */
    {"GET", AL "/not-a-uuid", NULL, NULL, 404, "not_found", "id"},
    {"GET", AL "/" NONEXIST, NULL, NULL, 404, "not_found", "id"},
    {"GET", AL "/{A}?wait=abc", NULL, NULL, 400, "invalid_value", "wait"},
    {"GET", AL "/{A}?wait=-1", NULL, NULL, 400, "invalid_value", "wait"},
    {"GET", AL "/{A}?wait=100000", NULL, NULL, 400, "invalid_value", "wait"},
    {"DELETE", AL "/not-a-uuid", NULL, NULL, 404, "not_found", "id"},
    {"DELETE", AL "/" NONEXIST, NULL, NULL, 404, "not_found", "id"},
    /* lists */
    {"GET", M "?state=sleeping", NULL, NULL, 400, "invalid_value", "state"},
    {"GET", M "?row=r99", NULL, NULL, 400, "unknown_parameter", "row"},
    {"GET", "/v1/audit?order=up", NULL, NULL, 400, "invalid_value", "order"},
    {"GET", "/v1/audit?since=2026-13-01T00:00:00Z", NULL, NULL, 400, "invalid_value", "since"},
    {"GET", AL "/{A}?wait=1&watch=all", NULL, NULL, 400, "invalid_value", "watch"},
    {"GET", "/v1/skus?limit=5", NULL, NULL, 400, "unknown_parameter", "limit"},
    {"GET", AL "/{A}?wait=1&x=2", NULL, NULL, 400, "unknown_parameter", "x"},
    {"GET", M "?limit=0", NULL, NULL, 400, "invalid_value", "limit"},
    {"GET", M "?limit=1001", NULL, NULL, 400, "invalid_value", "limit"},
    {"GET", M "?limit=ten", NULL, NULL, 400, "invalid_value", "limit"},
    {"GET", M "?cursor=-5", NULL, NULL, 400, "invalid_value", "cursor"},
    {"GET", AL "?state=bogus", NULL, NULL, 400, "invalid_value", "state"},
    {"GET", "/v1/audit?limit=-1", NULL, NULL, 400, "invalid_value", "limit"},
    /* /v1/machines/{id} */
    {"GET", M "/not-a-machine", NULL, NULL, 404, "not_found", "id"},
    {"GET", M "/" NONEXIST "/events", NULL, NULL, 404, "not_found", "id"},
    {"PATCH", M "/{M}", "{\"maintenance\":\"yes\"}", NULL, 400, "invalid_type", "maintenance"},
    {"PATCH", M "/{M}", "{\"state\":\"available\"}", NULL, 400, "unknown_field", "state"},
    {"PATCH", M "/{M}", "{\"name\":\"bad name\"}", NULL, 400, "invalid_value", "name"},
    {"PATCH", M "/{M}", "{\"name\":\"in-0\"}", NULL, 409, "already_exists", "name"},
    {"PATCH", M "/{M}", "{\"bmc\":{\"driver\":\"fake\",\"options\":{\"sku\":\"no.such\"}}}", NULL,
     400, "invalid_value", "bmc.options.sku"},
    {"PATCH", M "/{M}", "{\"location\":{\"unit\":\"seven\"}}", NULL, 400, "invalid_type",
     "location.unit"},
    {"PATCH", M "/{M}", BIG, NULL, 413, "body_too_large", NOFIELD},
    {"PATCH", M "/" NONEXIST, "{\"name\":\"zz\"}", NULL, 404, "not_found", "id"},
    {"POST", M "/{M}/actions", "{\"action\":\"explode\"}", NULL, 400, "invalid_value", "action"},
    {"POST", M "/{M}/actions", "{}", NULL, 400, "missing_field", "action"},
    {"POST", M "/{M}/actions", "{\"action\":\"repair\"}", NULL, 409, "invalid_state", "action"},
    {"POST", M "/" NONEXIST "/actions", "{\"action\":\"inspect\"}", NULL, 404, "not_found", "id"},
    {"PUT", M "/{M}/power", "{\"action\":\"dance\"}", NULL, 400, "invalid_value", "action"},
    {"PUT", M "/{M}/power", "{\"action\":1}", NULL, 400, "invalid_type", "action"},
    {"PUT", M "/{M}/bootdev", "{\"device\":\"floppy\"}", NULL, 400, "invalid_value", "device"},
    {"PUT", M "/{M}/bootdev", "{\"device\":\"pxe\",\"persistent\":\"yes\"}", NULL, 400,
     "invalid_type", "persistent"},
    /* tokens */
    {"POST", "/v1/tokens", "{\"role\":\"root\"}", NULL, 400, "invalid_value", "role"},
    {"POST", "/v1/tokens", "{\"role\":\"service\"}", NULL, 400, "missing_field", "owner"},
    {"POST", "/v1/tokens", "{\"role\":\"admin\",\"owner\":\"x\"}", NULL, 400, "invalid_value",
     "owner"},
    {"POST", "/v1/tokens", "{\"role\":\"service\",\"owner\":\"bad owner\"}", NULL, 400,
     "invalid_value", "owner"},
    {"POST", "/v1/tokens", "{}", NULL, 400, "missing_field", "role"},
    {"DELETE", "/v1/tokens/not-a-uuid", NULL, NULL, 404, "not_found", "id"},
    {"DELETE", "/v1/tokens/" NONEXIST, NULL, NULL, 404, "not_found", "id"},
    /* images */
    {"POST", "/v1/images", "{\"name\":\"i2\",\"path\":\"relative/file\"}", NULL, 400,
     "invalid_value", "path"},
    {"POST", "/v1/images", "{\"name\":\"i2\",\"path\":\"/tmp/../etc/passwd\"}", NULL, 400,
     "invalid_value", "path"},
    {"POST", "/v1/images", "{\"name\":\"i2\",\"path\":\"/no/such/file.raw\"}", NULL, 400,
     "invalid_value", "path"},
    {"POST", "/v1/images", "{\"name\":\"i2\"}", NULL, 400, "invalid_value", "path"},
    {"POST", "/v1/images", "{\"name\":\"i2\",\"path\":\"/x\",\"url\":\"http://h/x\"}", NULL, 400,
     "invalid_value", "path"},
    {"POST", "/v1/images", "{\"name\":\"i2\",\"url\":\"http://h/x.raw\"}", NULL, 400,
     "missing_field", "sha256"},
    {"POST", "/v1/images",
     "{\"name\":\"i2\",\"url\":\"ftp://h/x.raw\",\"sha256\":"
     "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
     NULL, 400, "invalid_value", "url"},
    {"POST", "/v1/images", "{\"name\":\"i2\",\"url\":\"http://h/x\",\"sha256\":\"XYZ\"}", NULL, 400,
     "invalid_value", "sha256"},
    {"POST", "/v1/images",
     "{\"name\":\"i2\",\"url\":\"http://h/x\",\"format\":\"qcow2\","
     "\"sha256\":"
     "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
     NULL, 400, "invalid_value", "format"},
    {"POST", "/v1/images",
     "{\"name\":\"img\",\"url\":\"http://h/x\",\"sha256\":"
     "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
     NULL, 409, "already_exists", "name"},
    {"DELETE", "/v1/images/img", NULL, NULL, 409, "conflict", "name"},
    {"GET", "/v1/images/nope", NULL, NULL, 404, "not_found", "image"},
    /* quotas */
    {"PUT", "/v1/owners/svc/quotas/lab.small", "{\"machines\":-5}", NULL, 400, "invalid_value",
     "machines"},
    {"PUT", "/v1/owners/svc/quotas/lab.small", "{\"machines\":\"5\"}", NULL, 400, "invalid_type",
     "machines"},
    {"PUT", "/v1/owners/svc/quotas/lab.small", "{}", NULL, 400, "missing_field", "machines"},
    {"PUT", "/v1/owners/svc/quotas/no.such", "{\"machines\":5}", NULL, 400, "invalid_value", "sku"},
    {"PUT", "/v1/owners/bad%20owner/quotas/lab.small", "{\"machines\":5}", NULL, 400,
     "invalid_value", "owner"},
    /* freeze, skus, routing */
    {"PUT", "/v1/freeze", "{\"frozen\":\"yes\"}", NULL, 400, "invalid_type", "frozen"},
    {"PUT", "/v1/freeze", "{}", NULL, 400, "missing_field", "frozen"},
    {"GET", "/v1/skus/no.such", NULL, NULL, 404, "not_found", "name"},
    {"GET", "/v1/nope", NULL, NULL, 404, "not_found", NOFIELD},
    {"PUT", M, "{}", NULL, 405, "method_not_allowed", NOFIELD},
};

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, "[bmc]\ncall_timeout_ms = 200\n");
}

static void subst(const char *tmpl, const char *mid, const char *aid, char *out, size_t len)
{
	const char *m = strstr(tmpl, "{M}"), *a = strstr(tmpl, "{A}");
	if (m)
		snprintf(out, len, "%.*s%s%s", (int)(m - tmpl), tmpl, mid, m + 3);
	else if (a)
		snprintf(out, len, "%.*s%s%s", (int)(a - tmpl), tmpl, aid, a + 3);
	else
		snprintf(out, len, "%s", tmpl);
}

static char *big_body(size_t *len)
{
	size_t n = 1024 * 1024 + 64;
	char *b = malloc(n + 1);
	assert_non_null(b);
	memset(b, 'a', n);
	memcpy(b, "{\"name\":\"", 9);
	memcpy(b + n - 2, "\"}", 2);
	b[n] = 0;
	*len = n;
	return b;
}

static void test_bad_inputs_change_nothing(void **state)
{
	struct h_daemon *d = *state;
	char mid[H_ID_LEN], aid[H_ID_LEN];
	assert_int_equal(h_enroll_fake(d, "in-0", 1, "lab.small", 20, 0, NULL), 201);
	assert_int_equal(h_enroll_fake(d, "in-1", 2, "lab.small", 20, 0, mid), 201);
	assert_true(h_wait_count(d, "available", "lab.small", 2, 120));
	assert_int_equal(h_image(d, "img"), 201);
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 1, 0, "img", NULL, aid, NULL), 202);
	assert_true(h_wait_alloc(d, NULL, aid, "ready", 120, NULL));
	assert_true(h_wait_quiet(d, 60));
	/* the allocation took in-0 (oldest first): in-1 is the available one */
	assert_true(h_wait_machine(d, mid, "available", 5));

	size_t big_len;
	char *big = big_body(&big_len);
	char *before = h_db_dump(d, all_tables);
	assert_non_null(before);
	int failures = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct bad_case *c = &cases[i];
		char path[512], body[1024];
		subst(c->path, mid, aid, path, sizeof path);
		const char *b = NULL;
		size_t blen = 0;
		if (c->body && strcmp(c->body, BIG) == 0) {
			b = big;
			blen = big_len;
		} else if (c->body) {
			subst(c->body, mid, aid, body, sizeof body);
			b = body;
			blen = strlen(body);
		}
		const char *hdrs[] = {c->header, NULL};
		struct h_resp r;
		long s =
		    h_request(d, d->admin, c->method, path, b, blen, c->header ? hdrs : NULL, &r);
		json_t *field = json_object_get(json_object_get(r.json, "error"), "field");
		bool ok = s == c->status && strcmp(h_err_code(&r), c->code) == 0 &&
			  h_err_message(&r)[0] &&
			  (c->field ? strcmp(h_err_field(&r), c->field) == 0 : field == NULL) &&
			  strncmp(r.content_type, "application/json", 16) == 0;
		if (!ok) {
			fprintf(stderr,
				"case %zu %s %s %.80s: want %ld %s field %s, got %ld %.300s\n", i,
				c->method, path,
				b && b != big ? b
				: b	      ? "(1 MiB)"
					      : "",
				c->status, c->code, c->field ? c->field : "(none)", s, r.body);
			failures++;
		}
		h_resp_clear(&r);
		char *after = h_db_dump(d, all_tables);
		assert_non_null(after);
		if (strcmp(before, after) != 0) {
			fprintf(stderr, "case %zu %s %s changed the database\n", i, c->method,
				path);
			failures++;
			free(before);
			before = after;
		} else {
			free(after);
		}
	}
	free(before);
	free(big);
	assert_int_equal(failures, 0);
}

/* ------------------------------------------------------- the BMC password */

#define PASSWORD "Pw-7f3a9c-NeverLog-XYZZY"

static void test_bmc_password_never_leaves(void **state)
{
	struct h_daemon *d = *state;
	snprintf(d->secret, sizeof d->secret, "%s", PASSWORD);
	char id[H_ID_LEN], dead[H_ID_LEN];
	struct h_resp r;
	json_t *b = json_pack("{s:s, s:[s], s:{s:s, s:s, s:s, s:s, s:{s:s, s:i}}}", "name", "pw-0",
			      "macs", "52:54:00:00:00:01", "bmc", "driver", "fake", "address",
			      "10.0.0.7:623", "username", "admin", "password", PASSWORD, "options",
			      "sku", "lab.small", "delay_ms", 20);
	assert_int_equal(h_call(d, d->admin, "POST", "/v1/machines", b, &r), 201);
	snprintf(id, sizeof id, "%s", h_str(&r, "id"));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r.json, "bmc"), "username")),
	    "admin");
	assert_null(json_object_get(json_object_get(r.json, "bmc"), "password"));
	h_resp_clear(&r);
	/* a dead BMC: its errors go through the log and last_error */
	b = json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s, s:b}}}", "name", "pw-dead", "bmc", "driver",
		      "fake", "username", "root", "password", PASSWORD "-dead", "options", "sku",
		      "lab.small", "unreachable", 1);
	assert_int_equal(h_call(d, d->admin, "POST", "/v1/machines", b, &r), 201);
	snprintf(dead, sizeof dead, "%s", h_str(&r, "id"));
	h_resp_clear(&r);
	/* requests that fail after reading the password */
	static const char *const failing[] = {
	    "{\"name\":\"bad name\",\"bmc\":{\"driver\":\"fake\",\"password\":\"" PASSWORD
	    "\",\"options\":{\"sku\":\"lab.small\"}}}",
	    "{\"name\":\"pw-1\",\"bmc\":{\"driver\":\"fake\",\"password\":\"" PASSWORD
	    "\",\"options\":{\"sku\":\"no.such\"}}}",
	    "{\"name\":\"pw-1\",\"bmc\":{\"driver\":\"fake\",\"password\":\"" PASSWORD
	    "\",\"options\":{\"sku\":\"lab.small\",\"colour\":1}}}",
	    "{\"name\":\"pw-0\",\"bmc\":{\"driver\":\"fake\",\"password\":\"" PASSWORD
	    "\",\"options\":{\"sku\":\"lab.small\"}}}",
	    "{\"name\":\"pw-1\",\"bmc\":{\"driver\":\"warp\",\"password\":\"" PASSWORD "\"}}",
	};
	for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++) {
		long s = h_request(d, d->admin, "POST", "/v1/machines", failing[i],
				   strlen(failing[i]), NULL, NULL);
		assert_true(s == 400 || s == 409);
	}
	/* a new password by PATCH (kept write-only too), once the engine is
	 * done with the machine (see api_lifecycle's PATCH race test) */
	assert_true(h_wait_machine(d, id, "available", 120));
	char path[160];
	snprintf(path, sizeof path, "/v1/machines/%s", id);
	b = json_pack("{s:{s:s, s:s, s:{s:s, s:i}}}", "bmc", "driver", "fake", "password",
		      PASSWORD "-2", "options", "sku", "lab.small", "delay_ms", 20);
	assert_int_equal(h_call(d, d->admin, "PATCH", path, b, NULL), 200);
	assert_true(h_wait_machine(d, id, "available", 120));
	assert_true(h_wait_machine(d, dead, "failed", 120));
	/* read everything a client can read */
	static const char *const reads[] = {"/v1/machines", "/v1/audit?limit=1000", "/v1/capacity",
					    "/v1/skus",	    "/v1/allocations",	    "/v1/tokens"};
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
		assert_int_equal(h_call(d, d->admin, "GET", reads[i], NULL, NULL), 200);
	static const char *const per_machine[] = {"/v1/machines/%s", "/v1/machines/%s/events",
						  "/v1/machines/%s/power"};
	for (size_t i = 0; i < sizeof per_machine / sizeof per_machine[0]; i++) {
		snprintf(path, sizeof path, per_machine[i], id);
		assert_int_equal(h_call(d, d->admin, "GET", path, NULL, NULL), 200);
		snprintf(path, sizeof path, per_machine[i], dead);
		h_call(d, d->admin, "GET", path, NULL, NULL);
	}
	/* the audit has the enrolls, redacted */
	assert_true(h_db_int(d, "SELECT count(*) FROM audit WHERE action LIKE 'machine.%'") >= 2);
	/* stored (the scan is real), the password sealed (api_secrets.c) */
	assert_true(h_db_table_contains(d, "bmcs", "10.0.0.7:623"));
	static const char *const tables[] = {
	    "audit", "machine_events", "machines", "settings", "allocations", "tokens", "bmcs"};
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		bool found = h_db_table_contains(d, tables[i], PASSWORD);
		if (found)
			fprintf(stderr, "the password is in table %s\n", tables[i]);
		assert_false(found);
	}
	assert_int_equal(atomic_load(&d->leaks), 0);
	/* the log, complete after a clean stop */
	assert_int_equal(h_term(d), 0);
	assert_true(h_file_contains(d->log, "provisiond ready"));
	assert_false(h_file_contains(d->log, PASSWORD));
}

/* Malformed bodies that hold a password: the parser's error must not quote
 * the body back. jansson's message ends with "near '<token>'" when the
 * token it stopped at is at most 20 characters: a short password is
 * quoted whole. */
#define SHORT_PASSWORD "Zq8xShortPw"

static void test_bmc_password_not_echoed_by_parse_errors(void **state)
{
	struct h_daemon *d = *state;
	snprintf(d->secret, sizeof d->secret, "%s", SHORT_PASSWORD);
	static const char *const malformed[] = {
	    "{\"name\":\"pw-2\",\"bmc\":{\"driver\":\"fake\",\"password\":\"" SHORT_PASSWORD,
	    "{\"name\":\"pw-2\",\"bmc\":{\"driver\":\"fake\",\"password\":\"" SHORT_PASSWORD "\"",
	    "{\"name\":\"pw-2\",\"bmc\":{\"driver\":\"fake\",\"password\":" SHORT_PASSWORD "}}",
	    "{\"name\":\"pw-2\",\"bmc\":{\"driver\":\"fake\",\"password\":\"" SHORT_PASSWORD
	    "\" \"x\"}}",
	    "{\"name\":\"pw-2\",\"bmc\":{\"password\":\"" SHORT_PASSWORD
	    "\",\"password\":\"" SHORT_PASSWORD "\"}}",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		struct h_resp r;
		long s = h_request(d, d->admin, "POST", "/v1/machines", malformed[i],
				   strlen(malformed[i]), NULL, &r);
		assert_int_equal(s, 400);
		assert_string_equal(h_err_code(&r), "invalid_json");
		h_resp_clear(&r);
	}
	assert_int_equal(h_term(d), 0);
	assert_false(h_file_contains(d->log, SHORT_PASSWORD));
	assert_int_equal(atomic_load(&d->leaks), 0);
}

/* PATCH merges over the stored BMC access (docs/api.md): the driver may be
 * left out, and options given are merged into the stored ones. */
static void test_patch_bmc_merges(void **state)
{
	struct h_daemon *d = *state;
	char id[H_ID_LEN], path[128];
	struct h_resp r;
	assert_int_equal(h_enroll_fake(d, "merge-0", 0x4242, "lab.small", 10, 0, id), 201);
	assert_true(h_wait_machine(d, id, "available", 120));
	snprintf(path, sizeof path, "/v1/machines/%s", id);
	assert_int_equal(h_call(d, d->admin, "PATCH", path,
				json_pack("{s:{s:s}}", "bmc", "address", "fake-bmc-moved"), &r),
			 200);
	json_t *bmc = json_object_get(r.json, "bmc");
	assert_string_equal(json_string_value(json_object_get(bmc, "driver")), "fake");
	assert_string_equal(json_string_value(json_object_get(bmc, "address")), "fake-bmc-moved");
	h_resp_clear(&r);
	assert_int_equal(h_call(d, d->admin, "PATCH", path,
				json_pack("{s:{s:{s:i}}}", "bmc", "options", "delay_ms", 20), &r),
			 200);
	json_t *opt = json_object_get(json_object_get(r.json, "bmc"), "options");
	assert_int_equal(json_integer_value(json_object_get(opt, "delay_ms")), 20);
	assert_string_equal(json_string_value(json_object_get(opt, "sku")), "lab.small");
	h_resp_clear(&r);
}

/* Power through the API is audited, and a machine serving an allocation
 * is powered off or cycled only with force. */
static void test_power_audited_and_guarded(void **state)
{
	struct h_daemon *d = *state;
	char aid[H_ID_LEN], path[160];
	struct h_resp r;
	assert_int_equal(h_enroll_fake(d, "pg-0", 0x4343, "lab.small", 10, 0, NULL), 201);
	assert_true(h_wait_count(d, "available", "lab.small", 1, 120));
	assert_int_equal(h_image(d, "img"), 201);
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 1, 0, "img", NULL, aid, NULL), 202);
	assert_true(h_wait_alloc(d, d->admin, aid, "ready", 120, NULL));
	snprintf(path, sizeof path, "/v1/machines/pg-0/power");
	assert_int_equal(h_call(d, d->admin, "PUT", path, json_pack("{s:s}", "action", "off"), &r),
			 409);
	assert_string_equal(h_err_field(&r), "force");
	h_resp_clear(&r);
	assert_int_equal(h_call(d, d->admin, "POST", "/v1/machines/pg-0/actions",
				json_pack("{s:s}", "action", "power_off"), &r),
			 409);
	h_resp_clear(&r);
	assert_int_equal(h_call(d, d->admin, "PUT", path,
				json_pack("{s:s, s:b}", "action", "off", "force", 1), NULL),
			 200);
	assert_int_equal(h_call(d, d->admin, "PUT", path, json_pack("{s:s}", "action", "on"), NULL),
			 200);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM audit WHERE action = 'machine.power'"),
			 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_inputs_change_nothing, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_bmc_password_never_leaves, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_bmc_password_not_echoed_by_parse_errors, setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_patch_bmc_merges, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_power_audited_and_guarded, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
