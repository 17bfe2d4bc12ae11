/* api_lifecycle.c - machines go through the lifecycle on their own:
 * enrolled -> verifying -> inspecting -> cleaning -> available, with every
 * transition on the machine's events; release sends them back through
 * cleaning to available. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define NMACHINES 50

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, "workers = 16\n");
}

/* The events of a machine: the "to" states in order, checked against
 * want; from of each event is the previous to; seq strictly grows. */
static void assert_story(struct h_daemon *d, const char *id, const char *const *want, size_t nwant,
			 json_t **events_out)
{
	char path[128];
	snprintf(path, sizeof path, "/v1/machines/%s/events?limit=1000", id);
	struct h_resp r;
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
	json_t *items = json_object_get(r.json, "items");
	if (json_array_size(items) != nwant)
		fprintf(stderr, "machine %s events: %s\n", id, r.body);
	assert_int_equal(json_array_size(items), nwant);
	json_int_t last_seq = 0;
	const char *prev = NULL;
	for (size_t i = 0; i < nwant; i++) {
		json_t *ev = json_array_get(items, i);
		const char *to = json_string_value(json_object_get(ev, "to"));
		json_t *from = json_object_get(ev, "from");
		assert_non_null(to);
		assert_string_equal(to, want[i]);
		if (i == 0)
			assert_true(json_is_null(from));
		else
			assert_string_equal(json_string_value(from), prev);
		json_int_t seq = json_integer_value(json_object_get(ev, "seq"));
		assert_true(seq > last_seq);
		assert_non_null(json_string_value(json_object_get(ev, "at")));
		assert_non_null(json_string_value(json_object_get(ev, "actor")));
		last_seq = seq;
		prev = to;
	}
	if (events_out)
		*events_out = json_incref(items);
	h_resp_clear(&r);
}

static void test_enroll_fleet_reaches_available(void **state)
{
	struct h_daemon *d = *state;
	static char ids[NMACHINES][H_ID_LEN];
	for (int i = 0; i < NMACHINES; i++) {
		char name[32];
		snprintf(name, sizeof name, "fleet-%02d", i);
		assert_int_equal(
		    h_enroll_fake(d, name, (unsigned)i + 1, "lab.small", 20, 0, ids[i]), 201);
		assert_int_equal(strlen(ids[i]), 36);
	}
	/* Nobody touches them: the engine alone brings them to the pool. */
	assert_true(h_wait_count(d, "available", "lab.small", NMACHINES, 180));
	assert_true(h_wait_quiet(d, 60));
	assert_int_equal(h_count_machines(d, NULL, NULL), NMACHINES);

	static const char *const story[] = {"enrolled", "verifying", "inspecting", "cleaning",
					    "available"};
	for (int i = 0; i < NMACHINES; i++) {
		json_t *events = NULL;
		assert_story(d, ids[i], story, 5, &events);
		/* the enroll is the admin's, the rest the engine's */
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(events, 0), "actor")),
		    "admin:initial-admin");
		const char *why =
		    json_string_value(json_object_get(json_array_get(events, 3), "reason"));
		assert_non_null(strstr(why, "lab.small"));
		json_decref(events);

		char path[128];
		snprintf(path, sizeof path, "/v1/machines/%.36s", ids[i]);
		struct h_resp r;
		assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
		assert_string_equal(h_str(&r, "state"), "available");
		assert_string_equal(h_str(&r, "sku"), "lab.small");
		assert_string_equal(h_str(&r, "last_error"), "");
		assert_true(json_is_object(json_object_get(r.json, "facts")));
		assert_true(json_is_null(json_object_get(r.json, "allocation_id")));
		h_resp_clear(&r);
	}

	struct h_resp cap;
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/capacity", NULL, &cap), 200);
	json_t *small = json_object_get(json_object_get(cap.json, "skus"), "lab.small");
	assert_int_equal(json_integer_value(json_object_get(small, "available")), NMACHINES);
	h_resp_clear(&cap);
}

static void test_release_returns_machines_to_pool(void **state)
{
	struct h_daemon *d = *state;
	char ids[3][H_ID_LEN], aid[H_ID_LEN];
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof name, "rel-%d", i);
		assert_int_equal(
		    h_enroll_fake(d, name, 100u + (unsigned)i, "lab.small", 20, 0, ids[i]), 201);
	}
	assert_true(h_wait_count(d, "available", "lab.small", 3, 120));
	assert_int_equal(h_image(d, "rel-img"), 201);
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 3, 0, "rel-img", NULL, aid, NULL),
			 202);
	assert_true(h_wait_alloc(d, NULL, aid, "ready", 120, NULL));
	for (int i = 0; i < 3; i++)
		assert_true(h_wait_machine(d, ids[i], "active", 5));

	char path[128];
	snprintf(path, sizeof path, "/v1/allocations/%s", aid);
	struct h_resp r;
	assert_int_equal(h_call(d, d->admin, "DELETE", path, NULL, &r), 202);
	const char *st = h_str(&r, "state");
	assert_true(strcmp(st, "releasing") == 0 || strcmp(st, "released") == 0);
	assert_string_equal(h_str(&r, "id"), aid);
	h_resp_clear(&r);

	json_t *fin = NULL;
	assert_true(h_wait_alloc(d, NULL, aid, "released", 120, &fin));
	assert_int_equal(json_array_size(json_object_get(fin, "machines")), 0);
	json_decref(fin);
	static const char *const story[] = {"enrolled",	 "verifying", "inspecting", "cleaning",
					    "available", "deploying", "active",	    "releasing",
					    "cleaning",	 "available"};
	for (int i = 0; i < 3; i++) {
		assert_true(h_wait_machine(d, ids[i], "available", 60));
		assert_story(d, ids[i], story, sizeof story / sizeof story[0], NULL);
		snprintf(path, sizeof path, "/v1/machines/%.36s", ids[i]);
		assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
		assert_true(json_is_null(json_object_get(r.json, "allocation_id")));
		assert_true(json_is_null(json_object_get(r.json, "owner")));
		h_resp_clear(&r);
	}
	/* Releasing again is harmless and still answers 202. */
	snprintf(path, sizeof path, "/v1/allocations/%s", aid);
	assert_int_equal(h_call(d, d->admin, "DELETE", path, NULL, &r), 202);
	assert_string_equal(h_str(&r, "state"), "released");
	h_resp_clear(&r);
	/* The pool really has them back: they can be allocated again. */
	char again[H_ID_LEN];
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 3, 0, "rel-img", NULL, again, NULL),
			 202);
	assert_true(h_wait_alloc(d, NULL, again, "ready", 120, NULL));
}

/* A PATCH (no version given by the client) of a machine the engine is
 * working on must not fail because the engine moved the machine between
 * the handler's read and its compare-and-swap: that race is the server's,
 * not the client's. */
static void test_patch_while_engine_works(void **state)
{
	struct h_daemon *d = *state;
	enum { N = 6 };
	char ids[N][H_ID_LEN];
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof name, "busy-%d", i);
		assert_int_equal(
		    h_enroll_fake(d, name, 200u + (unsigned)i, "lab.small", 50, 0, ids[i]), 201);
	}
	int patches = 0, conflicts = 0;
	int64_t until = h_now_ms() + 15000;
	while (h_now_ms() < until && h_count_machines(d, "available", NULL) < N) {
		for (int i = 0; i < N; i++) {
			char path[128];
			snprintf(path, sizeof path, "/v1/machines/%.36s", ids[i]);
			json_t *b = json_pack("{s:{s:s, s:i}}", "location", "rack", "r1", "unit",
					      patches % 40);
			struct h_resp r;
			long s = h_call(d, d->admin, "PATCH", path, b, &r);
			patches++;
			if (s != 200) {
				conflicts++;
				if (conflicts <= 3)
					fprintf(stderr, "PATCH %s -> %ld %s\n", path, s, r.body);
			}
			h_resp_clear(&r);
		}
		h_sleep_ms(10);
	}
	fprintf(stderr, "%d PATCHes during the lifecycle, %d not 200\n", patches, conflicts);
	/* the engine's work was not lost to the PATCHes: nobody stalls */
	bool all = h_wait_count(d, "available", NULL, N, 30);
	if (!all)
		for (int i = 0; i < N; i++) {
			char path[128];
			snprintf(path, sizeof path, "/v1/machines/%.36s", ids[i]);
			struct h_resp r;
			h_call(d, d->admin, "GET", path, NULL, &r);
			fprintf(stderr, "%s: %s\n", h_str(&r, "name"), h_str(&r, "state"));
			h_resp_clear(&r);
		}
	assert_true(all);
	assert_int_equal(conflicts, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_enroll_fleet_reaches_available, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_release_returns_machines_to_pool, setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_patch_while_engine_works, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
