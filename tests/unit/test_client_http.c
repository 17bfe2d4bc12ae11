/* provclient against the loopback responder: what goes on the wire, and
 * how answers, errors, timeouts and paging come back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/provclient.h"
#include "test_client.h"

static pc_client *client_for(const struct srv *s, const char *token)
{
	struct pc_error err;
	pc_client *c = pc_client_new(s->url, token, &err);

	assert_non_null(c);
	return c;
}

static void test_client_new_checks(void **state)
{
	struct pc_error err;
	pc_client *c;

	(void)state;
	assert_null(pc_client_new("ftp://x", NULL, &err));
	assert_int_equal(err.kind, PC_E_INVALID);
	assert_null(pc_client_new("http://", NULL, &err));
	assert_null(pc_client_new("http://a b", NULL, &err));
	assert_null(pc_client_new("http://x", "tok\r\nX-Evil: 1", &err));
	assert_int_equal(err.kind, PC_E_INVALID);
	c = pc_client_new(NULL, NULL, &err);
	assert_string_equal(pc_client_base_url(c), PC_DEFAULT_URL);
	pc_client_free(c);
	c = pc_client_new("http://h:1///", "", NULL);
	assert_string_equal(pc_client_base_url(c), "http://h:1");
	assert_int_equal(pc_client_set_request_id(c, "a\nb"), PC_E_INVALID);
	assert_int_equal(pc_client_set_request_id(c, "req-7"), PC_OK);
	pc_client_free(c);
	pc_client_free(NULL);
}

static void test_request_wire(void **state)
{
	char reply[512];
	const char *replies[] = {srv_reply(reply, sizeof(reply), 202, "X-Request-Id: srv-9\r\n",
					   "{\"id\":\"a1\",\"state\":\"deploying\"}")};
	struct srv s;
	struct pc_error err;
	json_t *out = NULL;
	const char *keys[] = {"ssh-ed25519 AAAA k1"};
	struct pc_alloc_spec spec = {.sku = "lab.small",
				     .count = 2,
				     .min_count = 1,
				     .image = "lab-image",
				     .ssh_keys = keys,
				     .n_ssh_keys = 1,
				     .idempotency_key = "idem-1",
				     .spread_across = "rack",
				     .spread_mode = "best_effort"};

	(void)state;
	srv_start(&s, replies, 1);
	pc_client *c = client_for(&s, "tok-abc");
	assert_int_equal(pc_client_set_request_id(c, "cli-rid"), PC_OK);
	assert_int_equal(pc_alloc_create(c, &spec, &out, &err), PC_OK);
	assert_int_equal(err.kind, PC_OK);
	assert_int_equal(err.http_status, 202);
	assert_string_equal(err.request_id, "srv-9");
	assert_string_equal(json_string_value(json_object_get(out, "id")), "a1");
	json_decref(out);
	pc_client_free(c);
	assert_int_equal(srv_stop(&s), 1);
	const char *req = s.requests[0];
	assert_true(strncmp(req, "POST /v1/allocations HTTP/1.1\r\n", 31) == 0);
	assert_non_null(strstr(req, "\r\nAuthorization: Bearer tok-abc\r\n"));
	assert_non_null(strstr(req, "\r\nIdempotency-Key: idem-1\r\n"));
	assert_non_null(strstr(req, "\r\nX-Request-Id: cli-rid\r\n"));
	assert_non_null(strstr(req, "\r\nContent-Type: application/json\r\n"));
	json_t *body = json_loads(strstr(req, "\r\n\r\n") + 4, 0, NULL);
	json_t *want = json_loads("{\"sku\":\"lab.small\",\"count\":2,\"min_count\":1,\"image\":"
				  "\"lab-image\",\"ssh_keys\":[\"ssh-ed25519 AAAA k1\"],"
				  "\"spread\":{\"across\":\"rack\",\"mode\":\"best_effort\"}}",
				  0, NULL);
	assert_true(json_equal(body, want));
	json_decref(body);
	json_decref(want);
}

static void test_path_and_query_encoding(void **state)
{
	char r1[256], r2[256];
	const char *replies[] = {srv_reply(r1, sizeof(r1), 200, "", "{\"id\":\"x\"}"),
				 srv_reply(r2, sizeof(r2), 200, "", "{\"items\":[]}")};
	struct srv s;
	json_t *out = NULL;
	struct pc_machine_filter f = {.state = "available", .sku = "lab small&x=1"};

	(void)state;
	srv_start(&s, replies, 2);
	pc_client *c = client_for(&s, NULL);
	assert_int_equal(pc_alloc_get(c, "a/1 2", 5, &out, NULL), PC_OK);
	json_decref(out);
	assert_int_equal(pc_machine_list(c, &f, &out, NULL), PC_OK);
	json_decref(out);
	pc_client_free(c);
	assert_int_equal(srv_stop(&s), 2);
	assert_true(strncmp(s.requests[0], "GET /v1/allocations/a%2F1%202?wait=5 HTTP", 41) == 0);
	assert_null(strstr(s.requests[0], "Authorization:")); /* no token, no header */
	assert_true(strncmp(s.requests[1],
			    "GET /v1/machines?state=available&sku=lab%20small%26x%3D1 HTTP",
			    61) == 0);
}

static void test_api_error(void **state)
{
	char r1[512];
	const char *replies[] = {srv_reply(
	    r1, sizeof(r1), 409, "X-Request-Id: r-409\r\n",
	    "{\"error\":{\"code\":\"insufficient_capacity\",\"message\":\"sku lab.small: 2 "
	    "available, 4 requested\",\"field\":\"count\"}}")};
	struct srv s;
	struct pc_error err;
	struct pc_response resp;
	struct pc_request req = {.method = "POST", .path = "/v1/allocations"};

	(void)state;
	srv_start(&s, replies, 1);
	pc_client *c = client_for(&s, "t");
	assert_int_equal(pc_request(c, &req, &resp, &err), PC_E_API);
	assert_int_equal(err.http_status, 409);
	assert_string_equal(err.code, "insufficient_capacity");
	assert_string_equal(err.message, "sku lab.small: 2 available, 4 requested");
	assert_string_equal(err.field, "count");
	assert_string_equal(err.request_id, "r-409");
	assert_int_equal(err.retry_after_s, -1);
	/* the response still carries the error body */
	assert_int_equal(resp.status, 409);
	assert_non_null(json_object_get(resp.json, "error"));
	pc_response_clear(&resp);
	pc_client_free(c);
	srv_stop(&s);
}

static void test_retry_after(void **state)
{
	char r1[512], r2[512];
	const char *replies[] = {
	    srv_reply(r1, sizeof(r1), 429, "Retry-After: 7\r\n",
		      "{\"error\":{\"code\":\"overloaded\",\"message\":\"try later\"}}"),
	    srv_reply(r2, sizeof(r2), 503, "retry-after: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
		      "{\"error\":{\"code\":\"frozen\",\"message\":\"fleet is frozen\"}}"),
	};
	struct srv s;
	struct pc_error err;

	(void)state;
	srv_start(&s, replies, 2);
	pc_client *c = client_for(&s, "t");
	assert_int_equal(pc_call(c, "GET", "/v1/capacity", NULL, NULL, &err), PC_E_API);
	assert_int_equal(err.http_status, 429);
	assert_int_equal(err.retry_after_s, 7);
	assert_int_equal(pc_call(c, "PUT", "/v1/freeze", NULL, NULL, &err), PC_E_API);
	assert_string_equal(err.code, "frozen");
	assert_int_equal(err.retry_after_s, 0); /* a date in the past */
	pc_client_free(c);
	srv_stop(&s);
}

static void test_protocol_errors(void **state)
{
	char r1[256], r2[256], r3[256];
	const char *replies[] = {
	    srv_reply(r1, sizeof(r1), 200, "", "{not json"),
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nok",
	    srv_reply(r3, sizeof(r3), 502, "", "<html>bad gateway</html>"),
	};
	struct srv s;
	struct pc_error err;
	json_t *out = (json_t *)1;
	char *text = NULL;

	(void)state;
	(void)r2;
	srv_start(&s, replies, 3);
	pc_client *c = client_for(&s, "t");
	assert_int_equal(pc_machine_get(c, "m1", &out, &err), PC_E_PROTOCOL);
	assert_null(out);
	assert_non_null(strstr(err.message, "invalid JSON"));
	assert_int_equal(pc_health(c, false, &text, &err), PC_OK);
	assert_string_equal(text, "ok");
	free(text);
	assert_int_equal(pc_token_delete(c, "t1", &err), PC_E_API);
	assert_string_equal(err.code, "http_502");
	pc_client_free(c);
	srv_stop(&s);
}

static void test_transport_errors(void **state)
{
	const char *replies[] = {NULL}; /* accept, never answer */
	struct srv s;
	struct pc_error err;
	json_t *out;

	(void)state;
	srv_start(&s, replies, 1);
	pc_client *c = client_for(&s, "t");
	pc_client_set_timeout(c, 300);
	assert_int_equal(pc_machine_get(c, "m1", &out, &err), PC_E_TRANSPORT);
	assert_int_equal(err.http_status, 0);
	assert_non_null(strstr(err.message, "timed out"));
	pc_client_free(c);
	srv_stop(&s);

	/* nothing listens on the (now closed) port */
	c = client_for(&s, "t");
	assert_int_equal(pc_machine_get(c, "m1", &out, &err), PC_E_TRANSPORT);
	assert_string_equal(err.code, "transport");
	pc_client_free(c);
}

static void test_invalid_requests(void **state)
{
	struct srv s;
	struct pc_error err;
	json_t *out;
	struct pc_alloc_spec spec = {
	    .sku = "s", .count = 1, .image = "i", .idempotency_key = "k\r\nX-Evil: 1"};
	struct pc_request bad_method = {.method = "get", .path = "/v1/x"};

	(void)state;
	srv_start(&s, NULL, 0);
	pc_client *c = client_for(&s, "t");
	assert_int_equal(pc_alloc_create(c, &spec, &out, &err), PC_E_INVALID);
	spec.count = 0;
	spec.idempotency_key = NULL;
	assert_int_equal(pc_alloc_create(c, &spec, &out, &err), PC_E_INVALID);
	assert_int_equal(pc_request(c, &bad_method, NULL, &err), PC_E_INVALID);
	assert_int_equal(pc_machine_get(c, "", &out, &err), PC_E_INVALID);
	assert_int_equal(pc_alloc_release(c, NULL, &out, &err), PC_E_INVALID);
	pc_client_free(c);
	assert_int_equal(srv_stop(&s), 0); /* nothing was sent */
}

static void test_paging(void **state)
{
	char r[4][256];
	const char *replies[] = {
	    srv_reply(r[0], 256, 200, "",
		      "{\"items\":[{\"id\":1},{\"id\":2}],\"next_cursor\":\"c1\"}"),
	    srv_reply(r[1], 256, 200, "", "{\"items\":[{\"id\":3}],\"next_cursor\":\"c2\"}"),
	    srv_reply(r[2], 256, 200, "", "{\"items\":[{\"id\":4}],\"next_cursor\":null}"),
	    srv_reply(r[3], 256, 200, "", "{\"items\":[{\"id\":5}],\"next_cursor\":\"c9\"}"),
	};
	struct srv s;
	json_t *out;

	(void)state;
	srv_start(&s, replies, 4);
	pc_client *c = client_for(&s, "t");
	assert_int_equal(pc_machine_list(c, NULL, &out, NULL), PC_OK);
	assert_int_equal(json_array_size(json_object_get(out, "items")), 4);
	assert_true(json_is_null(json_object_get(out, "next_cursor")));
	json_decref(out);
	/* a cap stops early and hands back the cursor to continue from */
	struct pc_machine_filter f = {.owner = "search", .max_items = 1};
	assert_int_equal(pc_machine_list(c, &f, &out, NULL), PC_OK);
	assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
	assert_string_equal(json_string_value(json_object_get(out, "next_cursor")), "c9");
	json_decref(out);
	pc_client_free(c);
	assert_int_equal(srv_stop(&s), 4);
	assert_true(strncmp(s.requests[0], "GET /v1/machines HTTP", 21) == 0);
	assert_true(strncmp(s.requests[1], "GET /v1/machines?cursor=c1 HTTP", 31) == 0);
	assert_true(strncmp(s.requests[2], "GET /v1/machines?cursor=c2 HTTP", 31) == 0);
	assert_true(strncmp(s.requests[3], "GET /v1/machines?owner=search&limit=1 HTTP", 42) == 0);
}

static void test_paging_loop_and_shape(void **state)
{
	char r[3][256];
	const char *replies[] = {
	    srv_reply(r[0], 256, 200, "", "{\"items\":[],\"next_cursor\":\"same\"}"),
	    srv_reply(r[1], 256, 200, "", "{\"items\":[],\"next_cursor\":\"same\"}"),
	    srv_reply(r[2], 256, 200, "", "{\"machines\":[]}"),
	};
	struct srv s;
	struct pc_error err;
	json_t *out;

	(void)state;
	srv_start(&s, replies, 3);
	pc_client *c = client_for(&s, "t");
	assert_int_equal(pc_alloc_list(c, &out, &err), PC_E_PROTOCOL);
	assert_non_null(strstr(err.message, "repeated cursor"));
	assert_null(out);
	assert_int_equal(pc_token_list(c, &out, &err), PC_E_PROTOCOL);
	pc_client_free(c);
	srv_stop(&s);
}

static void test_alloc_wait(void **state)
{
	char r[4][256];
	const char *replies[] = {
	    srv_reply(r[0], 256, 200, "", "{\"id\":\"a1\",\"state\":\"deploying\"}"),
	    srv_reply(r[1], 256, 429, "Retry-After: 0\r\n",
		      "{\"error\":{\"code\":\"rate_limited\",\"message\":\"slow down\"}}"),
	    srv_reply(r[2], 256, 503, "Retry-After: 0\r\n",
		      "{\"error\":{\"code\":\"overloaded\",\"message\":\"busy\"}}"),
	    srv_reply(r[3], 256, 200, "", "{\"id\":\"a1\",\"state\":\"ready\"}"),
	};
	struct srv s;
	json_t *out;

	(void)state;
	srv_start(&s, replies, 4);
	pc_client *c = client_for(&s, "t");
	assert_int_equal(pc_alloc_wait(c, "a1", 30, &out, NULL), PC_OK);
	assert_string_equal(json_string_value(json_object_get(out, "state")), "ready");
	json_decref(out);
	pc_client_free(c);
	assert_int_equal(srv_stop(&s), 4);
	assert_true(strncmp(s.requests[0], "GET /v1/allocations/a1 HTTP", 27) == 0);
	for (int i = 1; i < 4; i++)
		assert_true(strncmp(s.requests[i], "GET /v1/allocations/a1?wait=", 28) == 0);
}

static void test_trace_hides_secrets(void **state)
{
	char r1[256];
	const char *replies[] = {srv_reply(r1, sizeof(r1), 201, "X-Request-Id: t-1\r\n", "{}")};
	struct srv s;
	char *text = NULL;
	size_t len = 0;
	FILE *trace = open_memstream(&text, &len);
	json_t *body = json_pack("{s:{s:s}}", "bmc", "password", "pw-XYZ");

	(void)state;
	srv_start(&s, replies, 1);
	pc_client *c = client_for(&s, "tok-SECRET");
	pc_client_set_trace(c, trace);
	assert_int_equal(pc_machine_enroll(c, body, NULL, NULL), PC_OK);
	pc_client_free(c);
	srv_stop(&s);
	fclose(trace);
	assert_non_null(strstr(text, "> POST http://127.0.0.1:"));
	assert_non_null(strstr(text, "< HTTP 201"));
	assert_non_null(strstr(text, "request id t-1"));
	assert_null(strstr(text, "tok-SECRET"));
	assert_null(strstr(text, "pw-XYZ"));
	/* ...but the password did go to the server in the body */
	assert_non_null(strstr(s.requests[0], "\"password\":\"pw-XYZ\""));
	free(text);
	json_decref(body);
}

const struct CMUnitTest client_http_tests[] = {
    cmocka_unit_test(test_client_new_checks),
    cmocka_unit_test(test_request_wire),
    cmocka_unit_test(test_path_and_query_encoding),
    cmocka_unit_test(test_api_error),
    cmocka_unit_test(test_retry_after),
    cmocka_unit_test(test_protocol_errors),
    cmocka_unit_test(test_transport_errors),
    cmocka_unit_test(test_invalid_requests),
    cmocka_unit_test(test_paging),
    cmocka_unit_test(test_paging_loop_and_shape),
    cmocka_unit_test(test_alloc_wait),
    cmocka_unit_test(test_trace_hides_secrets),
};
const size_t client_http_ntests = sizeof(client_http_tests) / sizeof(client_http_tests[0]);
