/* api_console.c - what the web console stands on: its files served from
 * the binary (/ui/), GET /v1/whoami, the event stream GET /v1/stream
 * (authorized like the API; a service sees only its own; bounded by
 * [server] max_streams; ended by a drain) and GET /v1/bmc/circuits.
 * The console itself is tested in a real browser (tests/browser). */
#include "harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct h_daemon daemon_;

static int setup(void **state)
{
	*state = &daemon_;
	return h_start(&daemon_,
		       "[server]\nmax_streams = 3\n"
		       "[bmc]\ncall_timeout_ms = 500\nretries = 0\nbreaker_threshold = 1\n"
		       "breaker_cooldown_ms = 600000\n");
}

static void test_ui_files(void **state)
{
	struct h_daemon *d = *state;
	struct h_resp r = {0};
	assert_int_equal(h_request(d, NULL, "GET", "/ui/", NULL, 0, NULL, &r), 200);
	assert_string_equal(r.content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(r.body, "<script src=\"/ui/app.js\""));
	h_resp_clear(&r);
	assert_int_equal(h_request(d, NULL, "GET", "/ui/app.js", NULL, 0, NULL, &r), 200);
	assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
	assert_non_null(strstr(r.body, "sessionStorage"));
	h_resp_clear(&r);
	assert_int_equal(h_request(d, NULL, "GET", "/ui/app.css", NULL, 0, NULL, &r), 200);
	assert_string_equal(r.content_type, "text/css; charset=utf-8");
	h_resp_clear(&r);
	assert_int_equal(h_request(d, NULL, "GET", "/ui/nothing.js", NULL, 0, NULL, &r), 404);
	assert_string_equal(h_err_code(&r), "not_found");
	h_resp_clear(&r);
	assert_int_equal(h_request(d, NULL, "GET", "/ui/sub/app.js", NULL, 0, NULL, &r), 404);
	h_resp_clear(&r);
}

static void test_whoami(void **state)
{
	struct h_daemon *d = *state;
	char svc[H_TOKEN_LEN];
	assert_int_equal(h_token(d, "service", "search", svc), 201);
	struct h_resp r = {0};
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/whoami", NULL, &r), 200);
	assert_string_equal(h_str(&r, "role"), "admin");
	assert_true(json_is_null(json_object_get(r.json, "owner")));
	assert_int_equal(strlen(h_str(&r, "token_id")), 36);
	h_resp_clear(&r);
	assert_int_equal(h_call(d, svc, "GET", "/v1/whoami", NULL, &r), 200);
	assert_string_equal(h_str(&r, "role"), "service");
	assert_string_equal(h_str(&r, "owner"), "search");
	assert_string_equal(h_str(&r, "actor"), "service:search");
	h_resp_clear(&r);
	assert_int_equal(h_call(d, NULL, "GET", "/v1/whoami", NULL, &r), 401);
	h_resp_clear(&r);
}

struct later {
	struct h_daemon *d;
	int delay_ms;
	void (*fn)(struct h_daemon *d);
};

static void *run_later(void *arg)
{
	struct later *l = arg;
	h_sleep_ms(l->delay_ms);
	l->fn(l->d);
	return NULL;
}

static void enroll_one(struct h_daemon *d)
{
	assert_int_equal(h_enroll_fake(d, "live-1", 900, "lab.small", 200, 0, NULL), 201);
}

/* Events arrive in order after the hello, each with a rising id. */
static void test_stream_follows_a_machine(void **state)
{
	struct h_daemon *d = *state;
	struct later l = {d, 500, enroll_one};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run_later, &l), 0);
	struct h_resp r = {0};
	assert_int_equal(h_stream(d, d->admin, "/v1/stream", "\"state\":\"available\"", 60000, &r),
			 200);
	pthread_join(t, NULL);
	assert_string_equal(r.content_type, "text/event-stream");
	const char *hello = strstr(r.body, "event: hello\n");
	const char *first = strstr(r.body, "event: machine\n");
	assert_non_null(hello);
	assert_non_null(first);
	assert_true(hello < first);
	/* a burst of changes may come as one event (the hub reads after each
	 * commit, at most five times a second): the states seen keep the
	 * lifecycle's order and end in available */
	static const char *const order[] = {"enrolled", "verifying", "inspecting", "cleaning",
					    "available"};
	size_t at = 0, events = 0;
	for (const char *p = first; (p = strstr(p, "event: machine\n")); p++, events++) {
		const char *st = strstr(p, "\"state\":\"");
		assert_non_null(st);
		size_t i = 0;
		while (i < ARRAY_SIZE(order) && strncmp(st + 9, order[i], strlen(order[i])) != 0)
			i++;
		assert_true(i < ARRAY_SIZE(order));
		assert_true(i >= at);
		at = i;
	}
	assert_int_equal(at, ARRAY_SIZE(order) - 1);
	assert_true(events >= 3);
	long last = 0;
	for (const char *p = r.body; (p = strstr(p, "\nid: ")); p++) {
		long id = strtol(p + 5, NULL, 10);
		assert_true(id > last);
		last = id;
	}
	assert_true(last >= 3);
	assert_null(strstr(r.body, "password"));
	h_resp_clear(&r);
}

static void freeze_on(struct h_daemon *d)
{
	assert_int_equal(h_call(d, d->admin, "PUT", "/v1/freeze",
				json_pack("{s:b, s:s}", "frozen", 1, "reason", "PDU swap"), NULL),
			 200);
}

/* The fleet freeze is an event too (staff only), saying who and why. */
static void test_stream_freeze(void **state)
{
	struct h_daemon *d = *state;
	struct later l = {d, 500, freeze_on};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run_later, &l), 0);
	struct h_resp r = {0};
	assert_int_equal(h_stream(d, d->admin, "/v1/stream", "PDU swap", 30000, &r), 200);
	pthread_join(t, NULL);
	const char *ev = strstr(r.body, "event: freeze\n");
	assert_non_null(ev);
	assert_non_null(strstr(ev, "\"frozen\":true"));
	assert_non_null(strstr(ev, "\"by\":\"admin:initial-admin\""));
	h_resp_clear(&r);
	assert_int_equal(
	    h_call(d, d->admin, "PUT", "/v1/freeze", json_pack("{s:b}", "frozen", 0), NULL), 200);
}

static char other_alloc[H_ID_LEN];

static void allocate_both(struct h_daemon *d)
{
	assert_int_equal(h_call(d, d->admin, "POST", "/v1/allocations",
				json_pack("{s:s, s:i, s:s, s:s, s:s}", "sku", "lab.small", "count",
					  1, "image", "img", "owner", "other", "name", "other-db"),
				NULL),
			 202);
	char svc[H_TOKEN_LEN];
	assert_int_equal(h_token(d, "service", "search", svc), 201);
	assert_int_equal(h_allocate(d, svc, "lab.small", 1, 0, "img", NULL, other_alloc, NULL),
			 202);
}

/* A service's stream shows its own allocation and machines, nothing of
 * another owner's, and never how machines are managed (bmc). */
static void test_stream_service_sees_its_own(void **state)
{
	struct h_daemon *d = *state;
	assert_int_equal(h_enroll_fake(d, "pool-1", 901, "lab.small", 20, 0, NULL), 201);
	assert_int_equal(h_enroll_fake(d, "pool-2", 902, "lab.small", 20, 0, NULL), 201);
	assert_true(h_wait_count(d, "available", "lab.small", 2, 120));
	assert_int_equal(h_image(d, "img"), 201);
	char svc[H_TOKEN_LEN];
	assert_int_equal(h_token(d, "service", "search", svc), 201);
	struct later l = {d, 500, allocate_both};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run_later, &l), 0);
	struct h_resp r = {0};
	/* until its allocation is ready; the other one deploys alongside */
	assert_int_equal(h_stream(d, svc, "/v1/stream", "\"state\":\"ready\"", 60000, &r), 200);
	pthread_join(t, NULL);
	assert_non_null(strstr(r.body, "event: allocation\n"));
	assert_non_null(strstr(r.body, "event: machine\n"));
	assert_non_null(strstr(r.body, "\"owner\":\"search\""));
	assert_null(strstr(r.body, "\"owner\":\"other\""));
	assert_null(strstr(r.body, "other-db"));
	assert_null(strstr(r.body, "\"bmc\""));
	assert_null(strstr(r.body, "machine_deleted"));
	assert_null(strstr(r.body, "event: freeze"));
	h_resp_clear(&r);
	/* staff see both */
	assert_true(h_wait_alloc(d, d->admin, other_alloc, "ready", 60, NULL));
}

static void *hold_stream(void *arg)
{
	struct h_daemon *d = arg;
	struct h_resp *r = calloc(1, sizeof *r);
	h_stream(d, d->admin, "/v1/stream", NULL, 120000, r);
	return r;
}

static bool streams_open(struct h_daemon *d, int n)
{
	struct h_resp r = {0};
	for (int i = 0; i < 800; i++) { /* up to 40 s */
		h_call(d, NULL, "GET", "/metrics", NULL, &r);
		char want[64];
		snprintf(want, sizeof want, "provisiond_streams_open %d\n", n);
		bool ok = strstr(r.body, want) != NULL;
		h_resp_clear(&r);
		if (ok)
			return true;
		h_sleep_ms(50);
	}
	return false;
}

/* Past [server] max_streams: 503 overloaded at once; a drain ends every
 * stream (cleanly: the answer is complete) and the daemon exits 0. */
static void test_stream_limit_and_drain(void **state)
{
	struct h_daemon *d = *state;
	/* the streams of the tests before hung up; the daemon notices at their
	 * next keep-alive */
	assert_true(streams_open(d, 0));
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hold_stream, d), 0);
	assert_true(streams_open(d, 3));
	struct h_resp r = {0};
	assert_int_equal(h_stream(d, d->admin, "/v1/stream", NULL, 10000, &r), 503);
	assert_string_equal(h_err_code(&r), "overloaded");
	assert_string_equal(r.retry_after, "5");
	h_resp_clear(&r);
	assert_int_equal(h_term(d), 0);
	for (int i = 0; i < 3; i++) {
		struct h_resp *held = NULL;
		pthread_join(t[i], (void **)&held);
		assert_int_equal(held->status, 200);
		assert_true(held->ended);
		assert_non_null(strstr(held->body, "event: hello"));
		h_resp_clear(held);
		free(held);
	}
	/* and the page's reconnect finds the daemon again */
	assert_int_equal(h_restart(d), 0);
	long st = h_stream(d, d->admin, "/v1/stream", "event: hello", 10000, &r);
	if (st != 200)
		fprintf(stderr, "after the restart: %ld %s\n", st, r.body);
	assert_int_equal(st, 200);
	h_resp_clear(&r);
}

/* A BMC that does not answer opens its breaker, and the list says so. */
static void test_bmc_circuits(void **state)
{
	struct h_daemon *d = *state;
	struct h_resp r = {0};
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/bmc/circuits", NULL, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
	h_resp_clear(&r);
	char mac[18];
	h_mac(950, mac);
	assert_int_equal(h_call(d, d->admin, "POST", "/v1/machines",
				json_pack("{s:s, s:[s], s:{s:s, s:{s:s, s:b}}}", "name", "dead-bmc",
					  "macs", mac, "bmc", "driver", "fake", "options", "sku",
					  "lab.small", "unreachable", 1),
				&r),
			 201);
	char id[H_ID_LEN];
	snprintf(id, sizeof id, "%s", h_str(&r, "id"));
	h_resp_clear(&r);
	assert_true(h_wait_machine(d, id, "failed", 120));
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/bmc/circuits", NULL, &r), 200);
	json_t *c = json_array_get(json_object_get(r.json, "items"), 0);
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "machine")), id);
	assert_string_equal(json_string_value(json_object_get(c, "state")), "open");
	assert_true(json_integer_value(json_object_get(c, "retry_in_ms")) > 0);
	h_resp_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ui_files),
	    cmocka_unit_test(test_whoami),
	    cmocka_unit_test(test_stream_follows_a_machine),
	    cmocka_unit_test(test_stream_freeze),
	    cmocka_unit_test(test_stream_service_sees_its_own),
	    cmocka_unit_test(test_bmc_circuits),
	    cmocka_unit_test(test_stream_limit_and_drain),
	};
	return cmocka_run_group_tests(tests, setup, h_teardown);
}
