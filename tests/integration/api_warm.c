/* api_warm.c - warm pools through the real daemon (docs/allocations.md,
 * "Warm pools"): lab.small with warm_pool = 1 in a copy of the catalog,
 * three fake machines. One waits powered on in the agent (phase warm),
 * GET /v1/capacity and provisiond_warm_machines{sku} say 1, an allocation
 * takes it although an older machine is cold, and the pool refills from a
 * cold one. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct h_daemon daemon_;
static char skus[256];

static int setup(void **state)
{
	char cmd[1400], ini[400];
	snprintf(skus, sizeof skus, "%s/pvd-warm-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(skus))
		return -1;
	snprintf(cmd, sizeof cmd,
		 "cp %s/skus/catalog/*.ini %s/ && sed -i 's/^boot_mode = bios$/&\\nwarm_pool = 1/'"
		 " %s/lab.small.ini && grep -q '^warm_pool = 1' %s/lab.small.ini",
		 PROVISIOND_IT_SOURCE_DIR, skus, skus, skus);
	if (system(cmd) != 0)
		return -1;
	snprintf(ini, sizeof ini, "\n[catalog]\nskus_dir = %s\n", skus);
	*state = &daemon_;
	return h_start(&daemon_, ini);
}

static int teardown(void **state)
{
	char cmd[300];
	int rc = h_teardown(state);
	snprintf(cmd, sizeof cmd, "rm -rf %s", skus);
	return system(cmd) == 0 ? rc : -1;
}

/* capacity.skus["lab.small"].warm, or -1 when absent. */
static long long capacity_warm(struct h_daemon *d)
{
	struct h_resp r = {0};
	long long n = -1;
	if (h_call(d, d->admin, "GET", "/v1/capacity", NULL, &r) == 200) {
		json_t *w = json_object_get(
		    json_object_get(json_object_get(r.json, "skus"), "lab.small"), "warm");
		n = json_is_integer(w) ? json_integer_value(w) : -1;
	}
	h_resp_clear(&r);
	return n;
}

static bool wait_warm(struct h_daemon *d, long long want)
{
	for (int i = 0; i < 300; i++) {
		if (capacity_warm(d) == want)
			return true;
		h_sleep_ms(100);
	}
	return false;
}

/* The phase and power of machine id. */
static void machine(struct h_daemon *d, const char *id, char *phase, char *power)
{
	struct h_resp r = {0};
	char path[128];
	snprintf(path, sizeof path, "/v1/machines/%s", id);
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
	snprintf(phase, 16, "%s", h_str(&r, "phase"));
	snprintf(power, 16, "%s", h_str(&r, "power"));
	h_resp_clear(&r);
}

static void test_warm_pool(void **state)
{
	struct h_daemon *d = *state;
	char ids[3][H_ID_LEN], tok[H_TOKEN_LEN], alloc[H_ID_LEN], phase[16], power[16];
	const struct h_pool_spec pool = {
	    .prefix = "warm", .sku = "lab.small", .mac_base = 700, .n = 3};
	assert_int_equal(h_pool(d, &pool, ids), 0);
	assert_true(wait_warm(d, 1));
	int warm = -1, on = 0;
	for (int i = 0; i < 3; i++) {
		machine(d, ids[i], phase, power);
		if (strcmp(phase, "warm") == 0)
			warm = i;
		on += strcmp(power, "on") == 0;
	}
	assert_true(warm >= 0);
	assert_int_equal(on, 1); /* the others are off */
	struct h_resp m = {0};
	assert_int_equal(h_call(d, NULL, "GET", "/metrics", NULL, &m), 200);
	assert_non_null(strstr(m.body, "\nprovisiond_warm_machines{sku=\"lab.small\"} 1\n"));
	h_resp_clear(&m);
	/* the list shows which one is warm, as a tech watching the pool sees it */
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/machines?sku=lab.small", NULL, &m), 200);
	size_t i;
	json_t *it;
	int listed_warm = 0;
	json_array_foreach(json_object_get(m.json, "items"), i, it)
	{
		const char *ph = json_string_value(json_object_get(it, "phase"));
		assert_non_null(ph);
		listed_warm += strcmp(ph, "warm") == 0 &&
			       strcmp(json_string_value(json_object_get(it, "id")), ids[warm]) == 0;
	}
	assert_int_equal(listed_warm, 1);
	h_resp_clear(&m);

	assert_int_equal(h_token(d, "service", "team-w", tok), 201);
	assert_int_equal(h_image(d, "warm-img"), 201);
	struct h_resp r = {0};
	assert_int_equal(h_allocate(d, tok, "lab.small", 1, 1, "warm-img", NULL, alloc, &r), 202);
	json_t *ms = json_object_get(r.json, "machines");
	const char *taken = json_string_value(json_object_get(json_array_get(ms, 0), "id"));
	assert_non_null(taken);
	assert_string_equal(taken, ids[warm]);
	h_resp_clear(&r);
	assert_true(h_wait_alloc(d, tok, alloc, "ready", 60, NULL));
	/* refilled from one of the two cold machines (the engine looks every 2 s) */
	int refilled = 0;
	for (int k = 0; k < 300 && refilled != 1; k++) {
		refilled = 0;
		for (int i = 0; i < 3; i++) {
			machine(d, ids[i], phase, power);
			refilled +=
			    i != warm && strcmp(phase, "warm") == 0 && strcmp(power, "on") == 0;
		}
		if (refilled != 1)
			h_sleep_ms(100);
	}
	assert_int_equal(refilled, 1);
	assert_true(wait_warm(d, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_warm_pool, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
