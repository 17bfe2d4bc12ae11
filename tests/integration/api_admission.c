/* api_admission.c - admission control against the real daemon (docs/api.md,
 * "Admission control"): a token over its rate gets 429 with Retry-After
 * while other tokens go on; requests beyond the in-flight maximum get a fast
 * 503 overloaded while the admitted ones complete; the freeze 503 says who
 * froze the fleet, why, and when to come back; deploys wait for the
 * [lifecycle] max_concurrent_deploys cap and all finish. Every refusal shows
 * in provisiond_admission_rejections_total. */
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

static int setup_rate(void **state)
{
	*state = &daemon_;
	return h_start(&daemon_, "[server]\ntoken_rate_per_s = 1\ntoken_burst = 5\n");
}

static int setup_small(void **state)
{
	*state = &daemon_;
	return h_start(&daemon_, "max_concurrent_deploys = 1\n"
				 "[server]\napi_workers = 2\nmax_queue = 1\n");
}

static int setup_default(void **state)
{
	*state = &daemon_;
	return h_start(&daemon_, NULL);
}

/* The value of one sample of /metrics ("name{labels}"), or -1. */
static long long metric(struct h_daemon *d, const char *sample)
{
	struct h_resp r = {0};
	long long v = -1;
	if (h_call(d, NULL, "GET", "/metrics", NULL, &r) == 200) {
		size_t n = strlen(sample);
		for (const char *p = r.body; (p = strstr(p, sample)); p += n)
			if ((p == r.body || p[-1] == '\n') && p[n] == ' ')
				v = strtoll(p + n + 1, NULL, 10);
	}
	h_resp_clear(&r);
	return v;
}

static void test_token_rate(void **state)
{
	struct h_daemon *d = *state;
	char a[H_TOKEN_LEN], b[H_TOKEN_LEN];
	assert_int_equal(h_token(d, "service", "team-a", a), 201);
	assert_int_equal(h_token(d, "service", "team-b", b), 201);
	int ok = 0, limited = 0;
	for (int i = 0; i < 12; i++) {
		struct h_resp r = {0};
		long st = h_call(d, a, "GET", "/v1/skus", NULL, &r);
		if (st == 429) {
			limited++;
			assert_string_equal(h_err_code(&r), "rate_limited");
			assert_non_null(strstr(h_err_message(&r), "requests a second"));
			assert_true(strtol(r.retry_after, NULL, 10) >= 1);
		} else {
			assert_int_equal(st, 200);
			ok++;
		}
		h_resp_clear(&r);
	}
	/* a burst of 5, then about one a second: the loop takes far less than 7 s */
	assert_true(ok >= 5 && ok < 12);
	assert_int_equal(ok + limited, 12);
	/* another token has its own bucket */
	assert_int_equal(h_call(d, b, "GET", "/v1/skus", NULL, NULL), 200);
	assert_true(metric(d, "provisiond_admission_rejections_total{reason=\"token_rate\"}") >=
		    limited);
}

struct slow_get {
	struct h_daemon *d;
	char path[128];
	pthread_t tid;
	long status;
	int64_t ms;
	char retry_after[32];
};

static void *slow_get_main(void *arg)
{
	struct slow_get *g = arg;
	struct h_resp r = {0};
	int64_t t0 = h_now_ms();
	g->status = h_call(g->d, g->d->admin, "GET", g->path, NULL, &r);
	g->ms = h_now_ms() - t0;
	snprintf(g->retry_after, sizeof g->retry_after, "%s", r.retry_after);
	h_resp_clear(&r);
	return NULL;
}

/* Two workers and a queue of one: of eight power reads that each take 1.5 s
 * at the BMC, at most three are admitted; the rest answer 503 at once. */
static void test_in_flight_maximum(void **state)
{
	struct h_daemon *d = *state;
	enum { N = 8 };
	struct slow_get g[N];
	char id[N][H_ID_LEN];
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof name, "slow%d", i);
		assert_int_equal(
		    h_enroll_fake(d, name, 100 + (unsigned)i, "lab.small", 0, 0, id[i]), 201);
		g[i] = (struct slow_get){.d = d};
		snprintf(g[i].path, sizeof g[i].path, "/v1/machines/%.*s/power", H_ID_LEN - 1,
			 id[i]);
	}
	assert_true(h_wait_quiet(d, 120));
	for (int i = 0; i < N; i++) /* now every BMC call takes 1.5 s */
		assert_int_equal(h_patch_fake(d, id[i], "lab.small", 1500, 0), 200);
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&g[i].tid, NULL, slow_get_main, &g[i]), 0);
	for (int i = 0; i < N; i++)
		pthread_join(g[i].tid, NULL);
	int ok = 0, shed = 0;
	for (int i = 0; i < N; i++)
		print_message("power read %d: %ld after %lld ms\n", i, g[i].status,
			      (long long)g[i].ms);
	for (int i = 0; i < N; i++) {
		if (g[i].status == 503) {
			shed++;
			assert_string_equal(g[i].retry_after, "1");
			assert_true(g[i].ms < 1500); /* refused without waiting for anything */
		} else {
			assert_int_equal(g[i].status, 200);
			ok++;
		}
	}
	assert_true(ok >= 3 && shed >= 1);
	assert_int_equal(metric(d, "provisiond_admission_rejections_total{reason=\"in_flight\"}"),
			 shed);
	assert_int_equal(h_call(d, NULL, "GET", "/healthz", NULL, NULL), 200);
}

/* max_concurrent_deploys = 1: a gang of three deploys one after another,
 * every one of them to the end. */
static void test_deploy_cap(void **state)
{
	struct h_daemon *d = *state;
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "dep%d", i);
		assert_int_equal(
		    h_enroll_fake(d, name, 200 + (unsigned)i, "lab.small", 300, 0, NULL), 201);
	}
	assert_true(h_wait_count(d, "available", "lab.small", 3, 120));
	assert_int_equal(h_image(d, "img"), 201);
	char id[H_ID_LEN];
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 3, 3, "img", NULL, id, NULL), 202);
	assert_true(h_wait_alloc(d, d->admin, id, "ready", 120, NULL));
	assert_true(metric(d, "provisiond_lifecycle_admission_waits_total{cap=\"global\"}") > 0);
	assert_int_equal(metric(d, "provisiond_lifecycle_admission_waits_total{cap=\"sku\"}"), 0);
}

static void test_freeze_says_who_and_when(void **state)
{
	struct h_daemon *d = *state;
	char id[H_ID_LEN];
	assert_int_equal(h_enroll_fake(d, "f1", 300, "lab.small", 0, 0, id), 201);
	assert_int_equal(h_call(d, d->admin, "PUT", "/v1/freeze",
				json_pack("{s:b, s:s}", "frozen", 1, "reason", "PDU swap in r12"),
				NULL),
			 200);
	char path[128];
	snprintf(path, sizeof path, "/v1/machines/%s/power", id);
	struct h_resp r = {0};
	assert_int_equal(h_call(d, d->admin, "PUT", path, json_pack("{s:s}", "action", "on"), &r),
			 503);
	assert_string_equal(h_err_code(&r), "frozen");
	assert_string_equal(r.retry_after, "60");
	const char *msg = h_err_message(&r);
	assert_non_null(strstr(msg, "PDU swap in r12"));
	assert_non_null(strstr(msg, "admin"));
	assert_non_null(strstr(msg, "PUT /v1/freeze"));
	h_resp_clear(&r);
	assert_int_equal(metric(d, "provisiond_admission_rejections_total{reason=\"frozen\"}"), 1);
	assert_int_equal(
	    h_call(d, d->admin, "PUT", "/v1/freeze", json_pack("{s:b}", "frozen", 0), NULL), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_token_rate, setup_rate, h_teardown),
	    cmocka_unit_test_setup_teardown(test_in_flight_maximum, setup_small, h_teardown),
	    cmocka_unit_test_setup_teardown(test_deploy_cap, setup_small, h_teardown),
	    cmocka_unit_test_setup_teardown(test_freeze_says_who_and_when, setup_default,
					    h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
