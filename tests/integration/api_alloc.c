/* api_alloc.c - allocations: gang reservation, capacity and quota errors,
 * idempotency, long-poll, concurrent clients on an oversubscribed pool,
 * substitution of machines that fail to deploy and pool exhaustion. */
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

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, "workers = 16\n");
}

/* Enrolls n fake lab.small machines named prefix-i and waits for the pool. */
static void enroll_pool(struct h_daemon *d, const char *prefix, unsigned mac_base, int n,
			char (*ids)[H_ID_LEN])
{
	const struct h_pool_spec p = {
	    .prefix = prefix, .sku = "lab.small", .mac_base = mac_base, .n = n, .delay_ms = 20};
	assert_int_equal(h_pool(d, &p, ids), 0);
}

/* A pool of n (enroll_pool), the image "img" and a service token of owner
 * "search" into svc, with a quota of quota machines (-1: none). */
static void search_pool(struct h_daemon *d, const char *prefix, int n, char (*ids)[H_ID_LEN],
			int quota, char svc[H_TOKEN_LEN])
{
	enroll_pool(d, prefix, 1, n, ids);
	assert_int_equal(h_image(d, "img"), 201);
	assert_int_equal(h_token(d, "service", "search", svc), 201);
	if (quota >= 0)
		assert_int_equal(h_quota(d, "search", "lab.small", quota), 200);
}

static int available(struct h_daemon *d)
{
	return h_count_machines(d, "available", "lab.small");
}

static void assert_error(const struct h_resp *r, long status, const char *code)
{
	if (r->status != status || strcmp(h_err_code(r), code) != 0)
		fprintf(stderr, "expected %ld %s, got %ld %s\n", status, code, r->status, r->body);
	assert_int_equal(r->status, status);
	assert_string_equal(h_err_code(r), code);
}

static int count_allocations(struct h_daemon *d, const char *token)
{
	struct h_resp r;
	int n = -1;
	if (h_call(d, token, "GET", "/v1/allocations?limit=1000", NULL, &r) == 200)
		n = (int)json_array_size(json_object_get(r.json, "items"));
	h_resp_clear(&r);
	return n;
}

static void test_gang_capacity_quota_idempotency(void **state)
{
	struct h_daemon *d = *state;
	char svc[H_TOKEN_LEN];
	search_pool(d, "gang", 6, NULL, -1, svc);

	/* Gang of 3: 202 with three machines, all deploying together. */
	char aid[H_ID_LEN];
	struct h_resp r;
	assert_int_equal(h_allocate(d, svc, "lab.small", 3, 0, "img", NULL, aid, &r), 202);
	assert_string_equal(h_str(&r, "owner"), "search");
	assert_string_equal(h_str(&r, "sku"), "lab.small");
	assert_string_equal(h_str(&r, "image"), "img");
	assert_string_equal(h_str(&r, "state"), "deploying");
	assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 3);
	assert_true(json_is_null(json_object_get(r.json, "ready_at")));
	json_t *ms = json_object_get(r.json, "machines");
	assert_int_equal(json_array_size(ms), 3);
	char mids[3][H_ID_LEN];
	for (size_t i = 0; i < 3; i++) {
		json_t *m = json_array_get(ms, i);
		assert_non_null(json_string_value(json_object_get(m, "id")));
		assert_non_null(json_string_value(json_object_get(m, "name")));
		assert_non_null(json_object_get(m, "ip"));
		snprintf(mids[i], H_ID_LEN, "%s", json_string_value(json_object_get(m, "id")));
	}
	h_resp_clear(&r);

	/* Long-poll: answers when the allocation turns ready, not at the end. */
	char path[160];
	snprintf(path, sizeof path, "/v1/allocations/%s?wait=30", aid);
	int64_t t0 = h_now_ms();
	assert_int_equal(h_call(d, svc, "GET", path, NULL, &r), 200);
	int64_t waited = h_now_ms() - t0;
	if (strcmp(h_str(&r, "state"), "ready") != 0)
		fprintf(stderr, "long-poll answered after %lld ms: %s\n", (long long)waited,
			r.body);
	/* "ready" (not "deploying") shows it answered on the change; how long
	 * that took is the benchmarks' business, not a test's */
	assert_string_equal(h_str(&r, "state"), "ready");
	assert_non_null(json_string_value(json_object_get(r.json, "ready_at")));
	ms = json_object_get(r.json, "machines");
	assert_int_equal(json_array_size(ms), 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(ms, i), "state")), "active");
	h_resp_clear(&r);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "/v1/machines/%s", mids[i]);
		assert_int_equal(h_call(d, svc, "GET", path, NULL, &r), 200);
		assert_string_equal(h_str(&r, "state"), "active");
		assert_string_equal(h_str(&r, "allocation_id"), aid);
		assert_string_equal(h_str(&r, "owner"), "search");
		h_resp_clear(&r);
	}

	/* Not enough machines: 409 with the numbers, nothing reserved. */
	assert_int_equal(available(d), 3);
	assert_int_equal(h_allocate(d, svc, "lab.small", 5, 0, "img", NULL, NULL, &r), 409);
	assert_error(&r, 409, "insufficient_capacity");
	assert_non_null(strstr(h_err_message(&r), "lab.small"));
	assert_non_null(strstr(h_err_message(&r), "3 available, 5 requested"));
	h_resp_clear(&r);
	assert_int_equal(available(d), 3);
	assert_int_equal(count_allocations(d, svc), 1);

	/* Quota: 4 machines per SKU for search, 3 in use. */
	assert_int_equal(h_quota(d, "search", "lab.small", 4), 200);
	assert_int_equal(h_allocate(d, svc, "lab.small", 2, 0, "img", NULL, NULL, &r), 403);
	assert_error(&r, 403, "quota_exceeded");
	assert_non_null(strstr(h_err_message(&r), "search"));
	h_resp_clear(&r);
	assert_int_equal(available(d), 3);
	assert_int_equal(count_allocations(d, svc), 1);
	char one[H_ID_LEN];
	assert_int_equal(h_allocate(d, svc, "lab.small", 1, 0, "img", NULL, one, NULL), 202);
	assert_int_equal(h_call(d, svc, "GET", "/v1/owners/search/quotas", NULL, &r), 200);
	json_t *qi = json_array_get(json_object_get(r.json, "items"), 0);
	assert_int_equal(json_integer_value(json_object_get(qi, "machines")), 4);
	assert_int_equal(json_integer_value(json_object_get(qi, "used")), 4);
	h_resp_clear(&r);
	assert_int_equal(h_allocate(d, svc, "lab.small", 1, 0, "img", NULL, NULL, &r), 403);
	assert_error(&r, 403, "quota_exceeded");
	h_resp_clear(&r);
	assert_int_equal(h_quota(d, "search", "lab.small", -1), 200); /* removes the quota */

	/* Idempotency-Key: the same key twice is the same allocation. */
	assert_int_equal(available(d), 2);
	char k1[H_ID_LEN], k2[H_ID_LEN];
	assert_int_equal(h_allocate(d, svc, "lab.small", 1, 0, "img", "ci-42", k1, NULL), 202);
	assert_int_equal(available(d), 1);
	assert_int_equal(h_allocate(d, svc, "lab.small", 1, 0, "img", "ci-42", k2, NULL), 202);
	assert_string_equal(k1, k2);
	assert_int_equal(available(d), 1);
	assert_int_equal(count_allocations(d, svc), 3);
	/* Keys are per owner: the admin's ci-42 is another allocation. */
	char k3[H_ID_LEN];
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 1, 0, "img", "ci-42", k3, NULL), 202);
	assert_string_not_equal(k1, k3);
	assert_int_equal(available(d), 0);
	assert_true(h_wait_alloc(d, svc, k1, "ready", 120, NULL));
	assert_true(h_wait_alloc(d, svc, one, "ready", 120, NULL));

	/* min_count: take what there is between min_count and count. */
	enroll_pool(d, "more", 100, 2, NULL);
	char part[H_ID_LEN];
	assert_int_equal(h_allocate(d, svc, "lab.small", 4, 2, "img", NULL, part, &r), 202);
	assert_int_equal(json_array_size(json_object_get(r.json, "machines")), 2);
	assert_int_equal(json_integer_value(json_object_get(r.json, "min_count")), 2);
	h_resp_clear(&r);
	assert_true(h_wait_alloc(d, svc, part, "ready", 120, NULL));
	assert_int_equal(available(d), 0);
}

/* ------------------------------------------- concurrent oversubscription */

#define NTHREADS 16
#define POOL 12

struct client {
	struct h_daemon *d;
	int index;
	char token[H_TOKEN_LEN];
	pthread_barrier_t *start;
	struct h_grant grants[POOL];
	int ngrants;
	int refused;	 /* 409 insufficient_capacity */
	long unexpected; /* any other status */
	char unexpected_body[512];
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	pthread_barrier_wait(c->start);
	for (int tries = 0; tries < 64; tries++) {
		struct h_resp r;
		char id[H_ID_LEN];
		long s = h_allocate(c->d, c->token, "lab.small", 1 + c->index % 3, 1, "img", NULL,
				    id, &r);
		if (s == 202 && c->ngrants < POOL) {
			h_grant_record(&c->grants[c->ngrants++], id, &r);
		} else if (s == 409 && strcmp(h_err_code(&r), "insufficient_capacity") == 0) {
			c->refused++;
		} else {
			c->unexpected = s ? s : -1;
			snprintf(c->unexpected_body, sizeof c->unexpected_body, "%s", r.body);
		}
		h_resp_clear(&r);
		if (c->refused || c->unexpected)
			break;
	}
	return NULL;
}

static void test_concurrent_clients_oversubscribed_pool(void **state)
{
	struct h_daemon *d = *state;
	enroll_pool(d, "conc", 1, POOL, NULL);
	assert_int_equal(h_image(d, "img"), 201);
	static struct client cl[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&cl[i], 0, sizeof cl[i]);
		cl[i].d = d;
		cl[i].index = i;
		cl[i].start = &start;
		char owner[32];
		snprintf(owner, sizeof owner, "team-%d", i);
		assert_int_equal(h_token(d, "service", owner, cl[i].token), 201);
	}
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, client_main, &cl[i]), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);

	/* Every client ends on 409 (the pool ran dry), nobody saw anything else. */
	int total = 0, grants = 0;
	static char seen[POOL][H_ID_LEN];
	int nseen = 0;
	for (int i = 0; i < NTHREADS; i++) {
		if (cl[i].unexpected)
			fprintf(stderr, "client %d: unexpected %ld %s\n", i, cl[i].unexpected,
				cl[i].unexpected_body);
		assert_int_equal(cl[i].unexpected, 0);
		assert_int_equal(cl[i].refused, 1);
		for (int g = 0; g < cl[i].ngrants; g++) {
			struct h_grant *gr = &cl[i].grants[g];
			assert_true(gr->n >= 1 && gr->n <= 1 + i % 3);
			total += gr->n;
			grants++;
			for (int m = 0; m < gr->n; m++) {
				for (int k = 0; k < nseen; k++)
					assert_string_not_equal(seen[k], gr->machines[m]);
				assert_true(nseen < POOL);
				snprintf(seen[nseen++], H_ID_LEN, "%s", gr->machines[m]);
			}
			/* the 202 names an allocation that exists, with those machines */
			char path[160];
			snprintf(path, sizeof path, "/v1/allocations/%s", gr->id);
			struct h_resp r;
			assert_int_equal(h_call(d, cl[i].token, "GET", path, NULL, &r), 200);
			json_t *ms = json_object_get(r.json, "machines");
			assert_int_equal(json_array_size(ms), gr->n);
			for (int m = 0; m < gr->n; m++) {
				bool found = false;
				for (size_t k = 0; k < json_array_size(ms); k++)
					found |= strcmp(json_string_value(json_object_get(
							    json_array_get(ms, k), "id")),
							gr->machines[m]) == 0;
				assert_true(found);
			}
			h_resp_clear(&r);
		}
	}
	assert_int_equal(total, POOL);
	assert_int_equal(available(d), 0);
	assert_int_equal(count_allocations(d, d->admin), grants);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM allocations"), grants);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM allocation_machines"), POOL);
	assert_int_equal(h_db_int(d, "SELECT count(DISTINCT machine_id) FROM allocation_machines"),
			 POOL);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM machines WHERE allocation_id IS NOT NULL"
				     " AND allocation_id != ''"),
			 POOL);
	/* and they all deploy */
	for (int i = 0; i < NTHREADS; i++)
		for (int g = 0; g < cl[i].ngrants; g++)
			assert_true(
			    h_wait_alloc(d, cl[i].token, cl[i].grants[g].id, "ready", 120, NULL));
}

/* ---------------------------------------------------------- substitution */

static void get_machine(struct h_daemon *d, const char *id, struct h_resp *r)
{
	char path[128];
	snprintf(path, sizeof path, "/v1/machines/%.36s", id);
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, r), 200);
}

static void test_deploy_failure_substitution_and_exhaustion(void **state)
{
	struct h_daemon *d = *state;
	char ids[5][H_ID_LEN];
	enroll_pool(d, "sub", 1, 4, ids);
	assert_int_equal(h_image(d, "img"), 201);
	/* The two oldest machines (the ones a reservation picks first) now fail
	 * every image write; the BMC change does not take them out of the pool. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(h_patch_fake(d, ids[i], "lab.small", 20, 1.0), 200);
	assert_int_equal(available(d), 4);

	char aid[H_ID_LEN];
	struct h_resp r;
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 2, 0, "img", NULL, aid, &r), 202);
	json_t *ms = json_object_get(r.json, "machines");
	assert_int_equal(json_array_size(ms), 2);
	for (size_t i = 0; i < 2; i++) {
		const char *mid = json_string_value(json_object_get(json_array_get(ms, i), "id"));
		assert_true(strcmp(mid, ids[0]) == 0 || strcmp(mid, ids[1]) == 0);
	}
	h_resp_clear(&r);

	json_t *fin = NULL;
	bool ready = h_wait_alloc(d, NULL, aid, "ready", 120, &fin);
	if (!ready) {
		char *s = json_dumps(fin, 0);
		fprintf(stderr, "allocation: %s\n", s);
		free(s);
	}
	assert_true(ready);
	ms = json_object_get(fin, "machines");
	assert_int_equal(json_array_size(ms), 2);
	assert_int_equal(json_integer_value(json_object_get(fin, "substitutions")), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *m = json_array_get(ms, i);
		const char *mid = json_string_value(json_object_get(m, "id"));
		assert_true(strcmp(mid, ids[2]) == 0 || strcmp(mid, ids[3]) == 0);
		assert_string_equal(json_string_value(json_object_get(m, "state")), "active");
	}
	json_decref(fin);
	for (int i = 0; i < 2; i++) {
		get_machine(d, ids[i], &r);
		assert_string_equal(h_str(&r, "state"), "failed");
		assert_non_null(strstr(h_str(&r, "last_error"), "image write"));
		assert_true(json_is_null(json_object_get(r.json, "allocation_id")));
		h_resp_clear(&r);
	}

	/* Pool exhausted: a machine that fails with no substitute left fails
	 * the allocation, which says why. */
	enroll_pool(d, "sub-late", 10, 1, &ids[4]);
	assert_int_equal(h_patch_fake(d, ids[4], "lab.small", 20, 1.0), 200);
	char bad[H_ID_LEN];
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 1, 0, "img", NULL, bad, NULL), 202);
	fin = NULL;
	assert_false(h_wait_alloc(d, NULL, bad, "ready", 120, &fin));
	assert_string_equal(json_string_value(json_object_get(fin, "state")), "failed");
	const char *why = json_string_value(json_object_get(fin, "last_error"));
	assert_non_null(why);
	if (!strstr(why, "no substitute") || !strstr(why, "sub-late-0"))
		fprintf(stderr, "last_error: %s\n", why);
	assert_non_null(strstr(why, "sub-late-0"));
	assert_non_null(strstr(why, "no substitute"));
	json_decref(fin);
	get_machine(d, ids[4], &r);
	assert_string_equal(h_str(&r, "state"), "failed");
	assert_non_null(strstr(h_str(&r, "last_error"), "image write"));
	h_resp_clear(&r);
	/* the first allocation is untouched */
	assert_true(h_wait_alloc(d, NULL, aid, "ready", 5, NULL));
	/* fixed BMC settings send a failed machine back through verification */
	assert_int_equal(h_patch_fake(d, ids[0], "lab.small", 20, 0), 200);
	assert_true(h_wait_machine(d, ids[0], "available", 120));
	get_machine(d, ids[0], &r);
	assert_string_equal(h_str(&r, "last_error"), "");
	h_resp_clear(&r);
}

/* A machine that fails to clean after a release: the release still ends
 * (the allocation reaches released, its quota is freed) and the failed
 * machine can be repaired, like any failed machine. */
static void test_release_with_cleaning_failure(void **state)
{
	struct h_daemon *d = *state;
	char ids[1][H_ID_LEN];
	char svc[H_TOKEN_LEN];
	search_pool(d, "dirty", 1, ids, 1, svc);
	char aid[H_ID_LEN];
	assert_int_equal(h_allocate(d, svc, "lab.small", 1, 0, "img", NULL, aid, NULL), 202);
	assert_true(h_wait_alloc(d, svc, aid, "ready", 120, NULL));
	/* its disks will not wipe */
	assert_int_equal(h_patch_fake(d, ids[0], "lab.small", 20, 1.0), 200);
	char path[160];
	snprintf(path, sizeof path, "/v1/allocations/%s", aid);
	assert_int_equal(h_call(d, svc, "DELETE", path, NULL, NULL), 202);
	assert_true(h_wait_machine(d, ids[0], "failed", 120));
	struct h_resp r;
	get_machine(d, ids[0], &r);
	assert_non_null(strstr(h_str(&r, "last_error"), "clean"));
	h_resp_clear(&r);
	json_t *fin = NULL;
	bool released = h_wait_alloc(d, svc, aid, "released", 30, &fin);
	if (!released) {
		char *txt = json_dumps(fin, 0);
		fprintf(stderr, "allocation after a failed cleaning: %s\n", txt);
		free(txt);
	}
	json_decref(fin);
	/* the failed machine can be repaired (fixed BMC first) */
	assert_int_equal(h_patch_fake(d, ids[0], "lab.small", 20, 0), 200);
	get_machine(d, ids[0], &r);
	fprintf(stderr, "after the BMC fix the machine is %s, allocation_id %s\n",
		h_str(&r, "state"), h_str(&r, "allocation_id"));
	h_resp_clear(&r);
	bool back = h_wait_machine(d, ids[0], "available", 60);
	/* the owner's quota is free again */
	enroll_pool(d, "fresh", 50, 1, NULL);
	char again[H_ID_LEN];
	long s = h_allocate(d, svc, "lab.small", 1, 0, "img", NULL, again, &r);
	if (s != 202)
		fprintf(stderr, "new allocation after the release: %ld %s\n", s, r.body);
	h_resp_clear(&r);
	assert_true(released);
	assert_true(back);
	assert_int_equal(s, 202);
}

/* A long-poll from the state the client last saw (?seen=): when the
 * allocation has moved on since, the answer comes at once, not after a
 * further change that may never come (a released allocation). */
static void test_long_poll_from_seen_state(void **state)
{
	struct h_daemon *d = *state;
	char svc[H_TOKEN_LEN];
	search_pool(d, "seen", 1, NULL, 1, svc);
	char aid[H_ID_LEN], path[200];
	assert_int_equal(h_allocate(d, svc, "lab.small", 1, 0, "img", NULL, aid, NULL), 202);
	assert_true(h_wait_alloc(d, svc, aid, "ready", 120, NULL));
	snprintf(path, sizeof path, "/v1/allocations/%s", aid);
	assert_int_equal(h_call(d, svc, "DELETE", path, NULL, NULL), 202);
	assert_true(h_wait_alloc(d, svc, aid, "released", 120, NULL));
	/* the client saw it ready; it has been released since */
	struct h_resp r;
	snprintf(path, sizeof path, "/v1/allocations/%s?wait=30&seen=ready", aid);
	int64_t t0 = h_now_ms();
	assert_int_equal(h_call(d, svc, "GET", path, NULL, &r), 200);
	int64_t waited = h_now_ms() - t0;
	assert_string_equal(h_str(&r, "state"), "released");
	h_resp_clear(&r);
	if (waited > 15000)
		fail_msg("the long-poll waited %lld ms for a change it had already seen",
			 (long long)waited);
	/* a state name that is none */
	snprintf(path, sizeof path, "/v1/allocations/%s?wait=1&seen=bogus", aid);
	assert_int_equal(h_call(d, svc, "GET", path, NULL, &r), 400);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r.json, "error"), "field")), "seen");
	h_resp_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_gang_capacity_quota_idempotency, setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_clients_oversubscribed_pool, setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_deploy_failure_substitution_and_exhaustion, setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_release_with_cleaning_failure, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_long_poll_from_seen_state, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
