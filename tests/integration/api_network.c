/* api_network.c - an allocation's static network: stored and returned (the
 * allocation's "network", each machine's "address" in the order given),
 * the 409 for an address another live allocation holds (naming the field;
 * another owner's allocation not named), a replayed Idempotency-Key with
 * another network, a substitute keeping the address of the machine it
 * replaces, and the address free again once its allocation is released. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, NULL);
}

/* POST /v1/allocations of count lab.small machines of image "img" with
 * network (stolen), as token, with idem (may be NULL). */
static long allocate(struct h_daemon *d, const char *token, int count, json_t *network,
		     const char *idem, struct h_resp *r)
{
	json_t *b = json_pack("{s:s, s:i, s:s, s:o}", "sku", "lab.small", "count", count, "image",
			      "img", "network", network);
	if (!idem)
		return h_call(d, token, "POST", "/v1/allocations", b, r);
	char hdr[128], *body = json_dumps(b, JSON_COMPACT);
	snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", idem);
	const char *const headers[] = {hdr, NULL};
	long s = h_request(d, token, "POST", "/v1/allocations", body, strlen(body), headers, r);
	free(body);
	json_decref(b);
	return s;
}

static json_t *static_net(const char *a0, const char *a1)
{
	json_t *n = json_pack("{s:s, s:[s], s:s, s:[s, s]}", "mode", "static", "addresses", a0,
			      "gateway", "10.80.0.1", "nameservers", "10.80.0.1", "2001:db8::53");
	if (a1)
		json_array_append_new(json_object_get(n, "addresses"), json_string(a1));
	return n;
}

static void expect_409(const struct h_resp *r, const char *field)
{
	if (r->status != 409 || strcmp(h_err_field(r), field) != 0)
		fprintf(stderr, "expected 409 %s, got %ld %s\n", field, r->status, r->body);
	assert_int_equal(r->status, 409);
	assert_string_equal(h_err_code(r), "conflict");
	assert_string_equal(h_err_field(r), field);
}

/* The address of each machine as the allocation lists them. */
static const char *address_of(json_t *al, size_t i)
{
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(al, "machines"), i), "address"));
}

static void check_stored(json_t *al)
{
	json_t *net = json_object_get(al, "network");
	assert_string_equal(json_string_value(json_object_get(net, "mode")), "static");
	assert_string_equal(json_string_value(json_object_get(net, "gateway")), "10.80.0.1");
	json_t *ns = json_object_get(net, "nameservers");
	assert_int_equal(json_array_size(ns), 2);
	assert_string_equal(json_string_value(json_array_get(ns, 1)), "2001:db8::53");
	json_t *as = json_object_get(net, "addresses");
	assert_int_equal(json_array_size(as), 2);
	/* the machines in the order the allocation lists them */
	assert_string_equal(address_of(al, 0), "10.80.0.50/24");
	assert_string_equal(address_of(al, 1), "10.80.0.51/24");
}

static void test_stored_conflict_release(void **state)
{
	struct h_daemon *d = *state;
	const struct h_pool_spec p = {
	    .prefix = "net", .sku = "lab.small", .mac_base = 1, .n = 5, .delay_ms = 20};
	assert_int_equal(h_pool(d, &p, NULL), 0);
	assert_int_equal(h_image(d, "img"), 201);
	char svc[H_TOKEN_LEN], other[H_TOKEN_LEN];
	assert_int_equal(h_token(d, "service", "web", svc), 201);
	assert_int_equal(h_token(d, "service", "db", other), 201);
	struct h_resp r;
	/* the default is DHCP, and says so */
	json_t *b = json_pack("{s:s, s:i, s:s}", "sku", "lab.small", "count", 1, "image", "img");
	assert_int_equal(h_call(d, svc, "POST", "/v1/allocations", b, &r), 202);
	char dhcp[H_ID_LEN];
	snprintf(dhcp, sizeof dhcp, "%s", h_str(&r, "id"));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r.json, "network"), "mode")), "dhcp");
	assert_true(json_is_null(
	    json_object_get(json_array_get(json_object_get(r.json, "machines"), 0), "address")));
	h_resp_clear(&r);

	assert_int_equal(
	    allocate(d, svc, 2, static_net("10.80.0.50/24", "10.80.0.51/24"), "k1", &r), 202);
	char aid[H_ID_LEN];
	snprintf(aid, sizeof aid, "%s", h_str(&r, "id"));
	check_stored(r.json);
	h_resp_clear(&r);
	char path[96];
	snprintf(path, sizeof path, "/v1/allocations/%s", aid);
	assert_int_equal(h_call(d, svc, "GET", path, NULL, &r), 200);
	check_stored(r.json);
	h_resp_clear(&r);
	/* the audit row of the allocation says which addresses it was given */
	snprintf(path, sizeof path, "/v1/audit?action=allocation.create&target=%s", aid);
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
	json_t *net = json_object_get(
	    json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "after"),
	    "network");
	assert_string_equal(json_string_value(json_object_get(net, "mode")), "static");
	assert_string_equal(json_string_value(json_array_get(json_object_get(net, "addresses"), 1)),
			    "10.80.0.51/24");
	h_resp_clear(&r);
	snprintf(path, sizeof path, "/v1/allocations/%s", aid);

	/* the same key with another network is another request */
	assert_int_equal(
	    allocate(d, svc, 2, static_net("10.80.0.50/24", "10.80.0.52/24"), "k1", &r), 409);
	assert_string_equal(h_err_code(&r), "idempotency_key_reused");
	h_resp_clear(&r);
	/* an address the allocation holds, with another prefix: the owner's
	 * own allocation is named, another owner's is not */
	allocate(d, svc, 2, static_net("10.80.0.60/24", "10.80.0.51/25"), NULL, &r);
	expect_409(&r, "network.addresses[1]");
	assert_non_null(strstr(h_err_message(&r), aid));
	h_resp_clear(&r);
	allocate(d, other, 1, static_net("10.80.0.50/24", NULL), NULL, &r);
	expect_409(&r, "network.addresses[0]");
	assert_null(strstr(h_err_message(&r), aid));
	assert_non_null(strstr(h_err_message(&r), "10.80.0.50"));
	h_resp_clear(&r);
	assert_int_equal(h_count_machines(d, "available", "lab.small"), 2); /* nothing taken */

	/* released, the addresses are free again */
	assert_true(h_wait_alloc(d, svc, aid, "ready", 120, NULL));
	assert_int_equal(h_call(d, svc, "DELETE", path, NULL, NULL), 202);
	assert_true(h_wait_alloc(d, svc, aid, "released", 120, NULL));
	assert_int_equal(allocate(d, other, 1, static_net("10.80.0.50/24", NULL), NULL, &r), 202);
	assert_string_equal(address_of(r.json, 0), "10.80.0.50/24");
	h_resp_clear(&r);
}

static void test_substitute_keeps_address(void **state)
{
	struct h_daemon *d = *state;
	char ids[3][H_ID_LEN];
	const struct h_pool_spec p = {
	    .prefix = "sub", .sku = "lab.small", .mac_base = 1, .n = 3, .delay_ms = 20};
	assert_int_equal(h_pool(d, &p, ids), 0);
	assert_int_equal(h_image(d, "img"), 201);
	/* the oldest machine (picked first, listed first) fails every image
	 * write: its substitute must take 10.80.0.50 */
	assert_int_equal(h_patch_fake(d, ids[0], "lab.small", 20, 1.0), 200);
	struct h_resp r;
	json_t *net = json_pack("{s:s, s:[s, s]}", "mode", "static", "addresses", "fd00:80::50/64",
				"fd00:80::51/64");
	assert_int_equal(allocate(d, d->admin, 2, net, NULL, &r), 202);
	char aid[H_ID_LEN];
	snprintf(aid, sizeof aid, "%s", h_str(&r, "id"));
	json_t *ms = json_object_get(r.json, "machines");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ms, 0), "id")),
			    ids[0]);
	assert_string_equal(address_of(r.json, 0), "fd00:80::50/64");
	char second[H_ID_LEN];
	snprintf(second, sizeof second, "%s",
		 json_string_value(json_object_get(json_array_get(ms, 1), "id")));
	h_resp_clear(&r);
	json_t *fin = NULL;
	assert_true(h_wait_alloc(d, NULL, aid, "ready", 120, &fin));
	assert_int_equal(json_integer_value(json_object_get(fin, "substitutions")), 1);
	ms = json_object_get(fin, "machines");
	assert_int_equal(json_array_size(ms), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *m = json_array_get(ms, i);
		const char *mid = json_string_value(json_object_get(m, "id"));
		const char *want = strcmp(mid, second) == 0 ? "fd00:80::51/64" : "fd00:80::50/64";
		assert_string_not_equal(mid, ids[0]);
		assert_string_equal(json_string_value(json_object_get(m, "address")), want);
	}
	json_decref(fin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stored_conflict_release, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_substitute_keeps_address, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
