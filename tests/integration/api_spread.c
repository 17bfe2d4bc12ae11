/* api_spread.c - failure-domain spread of allocations on fake machines in
 * several racks and sites: strict and best-effort gangs, the 409 that
 * counts the domains, bad spread fields, substitutes that keep a strict
 * spread (and none when no rack is left), concurrent gangs racing for the
 * same racks, and a spread kept across a restart. */
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

/* Machines at "site/rack" each, named prefix-i, all available after. */
static void enroll_racks(struct h_daemon *d, const char *prefix, unsigned mac_base,
			 const char *const *where, int n, char (*ids)[H_ID_LEN])
{
	const struct h_pool_spec p = {.prefix = prefix,
				      .sku = "lab.small",
				      .mac_base = mac_base,
				      .n = n,
				      .delay_ms = 20,
				      .where = where};
	assert_int_equal(h_pool(d, &p, ids), 0);
}

/* POST /v1/allocations of lab.small with a spread (across NULL: none). */
static long allocate(struct h_daemon *d, const char *token, int count, const char *across,
		     const char *mode, char id[H_ID_LEN], struct h_resp *out)
{
	json_t *b =
	    json_pack("{s:s, s:i, s:s}", "sku", "lab.small", "count", count, "image", "img");
	if (across) {
		json_t *sp = json_pack("{s:s}", "across", across);
		if (mode)
			json_object_set_new(sp, "mode", json_string(mode));
		json_object_set_new(b, "spread", sp);
	}
	long s = h_call(d, token, "POST", "/v1/allocations", b, out);
	if (id && out && s == 202)
		snprintf(id, H_ID_LEN, "%s", h_str(out, "id"));
	return s;
}

static void assert_spread(json_t *alloc, const char *across, const char *mode, int domains)
{
	json_t *sp = json_object_get(alloc, "spread");
	assert_non_null(sp);
	assert_string_equal(json_string_value(json_object_get(sp, "across")), across);
	assert_string_equal(json_string_value(json_object_get(sp, "mode")), mode);
	assert_int_equal(json_integer_value(json_object_get(sp, "domains")), domains);
}

/* Distinct "site/rack" of the allocation's attached machines, from the
 * machines' own records; -1 when two share one. */
static int distinct_racks(struct h_daemon *d, json_t *alloc)
{
	char seen[16][140];
	int n = 0;
	json_t *ms = json_object_get(alloc, "machines"), *m;
	size_t i;
	json_array_foreach(ms, i, m)
	{
		char path[128];
		struct h_resp r;
		snprintf(path, sizeof path, "/v1/machines/%s",
			 json_string_value(json_object_get(m, "id")));
		assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
		json_t *loc = json_object_get(r.json, "location");
		assert_true(n < 16);
		snprintf(seen[n], sizeof seen[n], "%s/%s",
			 json_string_value(json_object_get(loc, "site")),
			 json_string_value(json_object_get(loc, "rack")));
		h_resp_clear(&r);
		for (int k = 0; k < n; k++)
			if (strcmp(seen[k], seen[n]) == 0)
				return -1;
		n++;
	}
	return n;
}

static void assert_error(const struct h_resp *r, long status, const char *code, const char *field)
{
	if (r->status != status || strcmp(h_err_code(r), code) != 0 ||
	    strcmp(h_err_field(r), field) != 0)
		fprintf(stderr, "expected %ld %s %s, got %ld %s\n", status, code, field, r->status,
			r->body);
	assert_int_equal(r->status, status);
	assert_string_equal(h_err_code(r), code);
	assert_string_equal(h_err_field(r), field);
}

static void test_strict_best_effort_shortage(void **state)
{
	struct h_daemon *d = *state;
	static const char *const where[] = {"dc1/r1", "dc1/r1", "dc1/r1",
					    "dc1/r2", "dc1/r2", "dc2/r1"};
	enroll_racks(d, "sp", 1, where, 6, NULL);
	assert_int_equal(h_image(d, "img"), 201);
	char svc[H_TOKEN_LEN], a1[H_ID_LEN], path[160];
	assert_int_equal(h_token(d, "service", "search", svc), 201);

	/* where the pool is, per site */
	struct h_resp r;
	assert_int_equal(h_call(d, svc, "GET", "/v1/capacity?by=site", NULL, &r), 200);
	json_t *sites = json_object_get(r.json, "sites");
	assert_int_equal(json_array_size(sites), 2);
	static const char *const site_names[] = {"dc1", "dc2"};
	static const int site_available[] = {5, 1};
	for (size_t i = 0; i < 2; i++) {
		json_t *s = json_array_get(sites, i);
		assert_string_equal(json_string_value(json_object_get(s, "site")), site_names[i]);
		assert_int_equal(
		    json_integer_value(json_object_get(json_object_get(s, "counts"), "available")),
		    site_available[i]);
	}
	h_resp_clear(&r);

	/* three racks (r1 of dc2 is not r1 of dc1): one machine in each */
	assert_int_equal(allocate(d, svc, 3, "rack", NULL, a1, &r), 202);
	assert_spread(r.json, "rack", "strict", 3);
	assert_int_equal(distinct_racks(d, r.json), 3);
	h_resp_clear(&r);
	snprintf(path, sizeof path, "/v1/allocations/%s", a1);
	assert_int_equal(h_call(d, svc, "GET", path, NULL, &r), 200);
	assert_spread(r.json, "rack", "strict", 3);
	h_resp_clear(&r);

	/* left: two in dc1/r1, one in dc1/r2 */
	assert_int_equal(allocate(d, svc, 3, "rack", "strict", NULL, &r), 409);
	assert_error(&r, 409, "insufficient_capacity", "spread");
	assert_string_equal(h_err_message(&r), "spread across rack needs 3 racks with an "
					       "available lab.small machine; 2 have one");
	h_resp_clear(&r);
	assert_int_equal(allocate(d, svc, 2, "site", NULL, NULL, &r), 409);
	assert_string_equal(h_err_message(&r), "spread across site needs 2 sites with an "
					       "available lab.small machine; 1 has one");
	h_resp_clear(&r);
	assert_int_equal(h_count_machines(d, "available", "lab.small"), 3);

	/* best effort takes them all, in as many racks as there are */
	char a2[H_ID_LEN];
	assert_int_equal(allocate(d, svc, 3, "rack", "best_effort", a2, &r), 202);
	assert_spread(r.json, "rack", "best_effort", 2);
	assert_int_equal(json_array_size(json_object_get(r.json, "machines")), 3);
	h_resp_clear(&r);
	/* no spread: null */
	enroll_racks(d, "plain", 20, where, 2, NULL);
	char a3[H_ID_LEN];
	assert_int_equal(allocate(d, svc, 1, NULL, NULL, a3, &r), 202);
	assert_true(json_is_null(json_object_get(r.json, "spread")));
	h_resp_clear(&r);
	/* an Idempotency-Key replay must repeat the spread */
	static const struct {
		const char *spread;
		long status;
	} replays[] = {
	    {",\"spread\":{\"across\":\"rack\"}", 202},
	    {",\"spread\":{\"across\":\"rack\",\"mode\":\"strict\"}", 202},
	    {"", 409},
	    {",\"spread\":{\"across\":\"rack\",\"mode\":\"best_effort\"}", 409},
	    {",\"spread\":{\"across\":\"site\"}", 409},
	};
	const char *headers[] = {"Idempotency-Key: spread-1", NULL};
	char first[H_ID_LEN] = "";
	for (size_t i = 0; i < sizeof replays / sizeof replays[0]; i++) {
		char body[200];
		snprintf(body, sizeof body,
			 "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\"%s}",
			 replays[i].spread);
		h_request(d, svc, "POST", "/v1/allocations", body, strlen(body), headers, &r);
		if (r.status != replays[i].status)
			fprintf(stderr, "replay %zu: %ld %s\n", i, r.status, r.body);
		assert_int_equal(r.status, replays[i].status);
		if (i == 0)
			snprintf(first, sizeof first, "%s", h_str(&r, "id"));
		else if (r.status == 202)
			assert_string_equal(h_str(&r, "id"), first);
		else
			assert_string_equal(h_err_code(&r), "idempotency_key_reused");
		h_resp_clear(&r);
	}
	json_t *fin = NULL;
	assert_true(h_wait_alloc(d, svc, first, "ready", 120, NULL));
	assert_true(h_wait_alloc(d, svc, a1, "ready", 120, &fin));
	assert_spread(fin, "rack", "strict", 3);
	json_decref(fin);
	assert_true(h_wait_alloc(d, svc, a2, "ready", 120, NULL));
	assert_true(h_wait_alloc(d, svc, a3, "ready", 120, NULL));
}

static void test_bad_spread(void **state)
{
	struct h_daemon *d = *state;
	assert_int_equal(h_image(d, "img"), 201);
	static const struct {
		const char *body, *code, *field;
	} cases[] = {
	    {"\"rack\"", "invalid_type", "spread"},
	    {"{\"across\":\"row\"}", "invalid_value", "spread.across"},
	    {"{\"across\":7}", "invalid_type", "spread.across"},
	    {"{\"across\":\"\"}", "invalid_value", "spread.across"},
	    {"{\"mode\":\"strict\"}", "missing_field", "spread.across"},
	    {"{\"across\":\"rack\",\"mode\":\"loose\"}", "invalid_value", "spread.mode"},
	    {"{\"across\":\"rack\",\"mode\":true}", "invalid_type", "spread.mode"},
	    {"{\"across\":\"rack\",\"by\":\"x\"}", "unknown_field", "spread.by"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char body[256];
		snprintf(body, sizeof body,
			 "{\"sku\":\"lab.small\",\"count\":1,\"image\":\"img\",\"spread\":%s}",
			 cases[i].body);
		struct h_resp r;
		h_request(d, d->admin, "POST", "/v1/allocations", body, strlen(body), NULL, &r);
		assert_error(&r, 400, cases[i].code, cases[i].field);
		h_resp_clear(&r);
	}
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM allocations"), 0);
}

static void test_substitute_keeps_strict_spread(void **state)
{
	struct h_daemon *d = *state;
	static const char *const where[] = {"dc1/r1", "dc1/r2", "dc1/r2", "dc1/r1"};
	char ids[6][H_ID_LEN];
	enroll_racks(d, "sub", 1, where, 4, ids);
	assert_int_equal(h_image(d, "img"), 201);
	/* the oldest (r1), which the reservation takes with the oldest of r2,
	 * fails its image write */
	assert_int_equal(h_patch_fake(d, ids[0], "lab.small", 20, 1.0), 200);
	char a1[H_ID_LEN];
	struct h_resp r;
	assert_int_equal(allocate(d, d->admin, 2, "rack", NULL, a1, &r), 202);
	h_resp_clear(&r);
	json_t *fin = NULL;
	assert_true(h_wait_alloc(d, NULL, a1, "ready", 120, &fin));
	/* the substitute is sub-3 (r1 again), not sub-2 (r2, taken) */
	assert_int_equal(json_integer_value(json_object_get(fin, "substitutions")), 1);
	assert_int_equal(distinct_racks(d, fin), 2);
	assert_spread(fin, "rack", "strict", 2);
	json_t *ms = json_object_get(fin, "machines");
	for (size_t i = 0; i < json_array_size(ms); i++) {
		const char *mid = json_string_value(json_object_get(json_array_get(ms, i), "id"));
		assert_true(strcmp(mid, ids[1]) == 0 || strcmp(mid, ids[3]) == 0);
	}
	json_decref(fin);

	/* sub-2 (r2) and a new r3 machine that fails: the only one left is in
	 * r2, which sub-2 holds, so there is no substitute */
	static const char *const more[] = {"dc1/r2", "dc1/r3"};
	enroll_racks(d, "late", 10, more, 2, &ids[4]);
	assert_int_equal(h_patch_fake(d, ids[5], "lab.small", 20, 1.0), 200);
	char a2[H_ID_LEN];
	assert_int_equal(allocate(d, d->admin, 2, "rack", "strict", a2, &r), 202);
	h_resp_clear(&r);
	fin = NULL;
	assert_false(h_wait_alloc(d, NULL, a2, "ready", 120, &fin));
	assert_string_equal(json_string_value(json_object_get(fin, "state")), "failed");
	const char *why = json_string_value(json_object_get(fin, "last_error"));
	if (!strstr(why, "no substitute") || !strstr(why, "rack"))
		fprintf(stderr, "last_error: %s\n", why);
	assert_non_null(strstr(why, "no substitute"));
	assert_non_null(strstr(why, "none in a rack"));
	json_decref(fin);
	/* the r2 machine is still in the pool: best effort would have taken it */
	assert_true(h_wait_machine(d, ids[4], "available", 60));
}

/* ----------------------------------------------- concurrent strict gangs */

#define NTHREADS 8

struct racer {
	struct h_daemon *d;
	int index;
	pthread_barrier_t *start;
	int granted, refused;
	long unexpected;
	char body[512];
};

static void *racer_main(void *arg)
{
	struct racer *c = arg;
	pthread_barrier_wait(c->start);
	for (int tries = 0; tries < 32; tries++) {
		struct h_resp r;
		long s = allocate(c->d, c->d->admin, 2 + c->index % 2, "rack", "strict", NULL, &r);
		if (s == 202)
			c->granted++;
		else if (s == 409 && strcmp(h_err_code(&r), "insufficient_capacity") == 0)
			c->refused++;
		else {
			c->unexpected = s ? s : -1;
			snprintf(c->body, sizeof c->body, "%s", r.body);
		}
		h_resp_clear(&r);
		if (c->refused || c->unexpected)
			break;
	}
	return NULL;
}

static void test_concurrent_strict_gangs(void **state)
{
	struct h_daemon *d = *state;
	/* four racks of three, at two sites, rack by rack: the oldest machines
	 * (a reservation without spread takes those) share a rack */
	static const char *const where[] = {"dc1/r1", "dc1/r1", "dc1/r1", "dc1/r2",
					    "dc1/r2", "dc1/r2", "dc2/r1", "dc2/r1",
					    "dc2/r1", "dc2/r2", "dc2/r2", "dc2/r2"};
	enroll_racks(d, "race", 1, where, 12, NULL);
	assert_int_equal(h_image(d, "img"), 201);
	static struct racer rc[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		rc[i] = (struct racer){.d = d, .index = i, .start = &start};
		assert_int_equal(pthread_create(&th[i], NULL, racer_main, &rc[i]), 0);
	}
	int granted = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		if (rc[i].unexpected)
			fprintf(stderr, "racer %d: %ld %s\n", i, rc[i].unexpected, rc[i].body);
		assert_int_equal(rc[i].unexpected, 0);
		assert_int_equal(rc[i].refused, 1);
		granted += rc[i].granted;
	}
	pthread_barrier_destroy(&start);
	assert_true(granted >= 3); /* at least 9 of the 12 go, 3 at most per gang */
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM allocations"), granted);
	/* no gang has two machines in one rack, no machine is in two gangs */
	assert_int_equal(
	    h_db_int(d, "SELECT count(*) FROM (SELECT am.allocation_id"
			" FROM allocation_machines am JOIN machines m"
			" ON m.id = am.machine_id GROUP BY am.allocation_id"
			" HAVING count(DISTINCT m.site || '/' || m.rack) != count(*)) AS g"),
	    0);
	assert_int_equal(h_db_int(d, "SELECT count(*) - count(DISTINCT machine_id)"
				     " FROM allocation_machines"),
			 0);
	/* what is left spans fewer racks than the smaller gang needs */
	assert_true(h_db_int(d, "SELECT count(DISTINCT site || '/' || rack) FROM machines"
				" WHERE state = 'available'") < 2);
	struct h_resp r;
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/allocations?limit=100", NULL, &r), 200);
	json_t *a;
	size_t i;
	json_array_foreach(json_object_get(r.json, "items"), i, a)
	{
		int n = (int)json_array_size(json_object_get(a, "machines"));
		assert_spread(a, "rack", "strict", n);
	}
	h_resp_clear(&r);
}

/* --------------------------------------------------------------- restart */

static void test_restart_keeps_spread(void **state)
{
	struct h_daemon *d = *state;
	static const char *const where[] = {"dc1/r1", "dc1/r2", "dc1/r2", "dc1/r1"};
	char ids[4][H_ID_LEN];
	enroll_racks(d, "rs", 1, where, 4, ids);
	assert_int_equal(h_image(d, "img"), 201);
	/* rs-0 (r1) deploys slowly: the allocation is still deploying when
	 * provisiond stops, and rs-0 is failed while it is down */
	char path[128];
	snprintf(path, sizeof path, "/v1/machines/%s", ids[0]);
	json_t *slow = json_pack("{s:{s:s, s:{s:s, s:i, s:i}}}", "bmc", "driver", "fake", "options",
				 "sku", "lab.small", "delay_ms", 20, "agent_ms", 600000);
	assert_int_equal(h_call(d, d->admin, "PATCH", path, slow, NULL), 200);
	char aid[H_ID_LEN];
	struct h_resp r;
	assert_int_equal(allocate(d, d->admin, 2, "rack", "strict", aid, &r), 202);
	h_resp_clear(&r);
	assert_int_equal(h_term(d), 0);
	char sql[256];
	snprintf(sql, sizeof sql,
		 "UPDATE machines SET state = 'failed', phase = '', wake_at = 0,"
		 " last_error = 'disk gone' WHERE id = '%s';",
		 ids[0]);
	assert_int_equal(h_db_exec(d, sql), 0);
	assert_int_equal(h_restart(d), 0);

	/* the start takes a substitute for it: rs-3 (r1), never rs-2 (r2) */
	json_t *fin = NULL;
	bool ready = h_wait_alloc(d, NULL, aid, "ready", 120, &fin);
	if (!ready) {
		char *txt = json_dumps(fin, 0);
		fprintf(stderr, "allocation after the restart: %s\n", txt);
		free(txt);
	}
	assert_true(ready);
	assert_spread(fin, "rack", "strict", 2);
	assert_int_equal(distinct_racks(d, fin), 2);
	json_t *ms = json_object_get(fin, "machines");
	for (size_t i = 0; i < json_array_size(ms); i++) {
		const char *mid = json_string_value(json_object_get(json_array_get(ms, i), "id"));
		assert_true(strcmp(mid, ids[1]) == 0 || strcmp(mid, ids[3]) == 0);
	}
	json_decref(fin);
	assert_true(h_wait_machine(d, ids[2], "available", 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_strict_best_effort_shortage, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_spread, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_substitute_keeps_strict_spread, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_strict_gangs, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_restart_keeps_spread, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
