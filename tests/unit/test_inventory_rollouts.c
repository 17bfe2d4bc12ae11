/* test_inventory_rollouts.c - staged image rollouts in the inventory: the
 * wave arithmetic (table-driven), creation and its refusals, and the
 * engine's moves (start a wave, record outcomes, finish) with their
 * compare-and-swap against a stale read. */
#include "inventory/inventory.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* test_inventory_util.c */
int tinv_setup(void **state);
int tinv_teardown(void **state);
struct inv *tinv_inv(void **state);
void tinv_pool(struct inv *inv, const char *prefix, const char *sku, int n);
void tinv_set_state(struct inv *inv, const char *id, enum inv_state st);

/* --------------------------------------------------------- wave arithmetic */

struct wave_case {
	const char *specs[6];
	int n;
	enum inv_status want;
	int cum[6];	     /* with INV_OK */
	const char *message; /* a part of the refusal's message */
};

static const struct wave_case wave_cases[] = {
    {{"1", "10%", "50%", "100%"}, 4, INV_OK, {1, 1, 2, 4}, NULL},
    {{"1", "10%", "50%", "100%"}, 100, INV_OK, {1, 10, 50, 100}, NULL},
    {{"1", "10%", "50%", "100%"}, 7, INV_OK, {1, 1, 4, 7}, NULL}, /* rounded up */
    {{"100%"}, 1, INV_OK, {1}, NULL},
    {{"33%", "67%", "100%"}, 3, INV_OK, {1, 3, 3}, NULL},
    {{"2", "5"}, 5, INV_OK, {2, 5}, NULL},
    {{"5"}, 5, INV_OK, {5}, NULL},
    {{NULL}, 5, INV_INVALID, {0}, "at least one wave"},
    {{"0", "100%"}, 5, INV_INVALID, {0}, "at least 1"},
    {{"0%", "100%"}, 5, INV_INVALID, {0}, "at least 1"},
    {{"101%"}, 5, INV_INVALID, {0}, "above 100%"},
    {{"6"}, 5, INV_INVALID, {0}, "the allocation has 5"},
    {{"50%", "1", "100%"}, 4, INV_INVALID, {0}, "is below waves[0]"},
    {{"1", "50%"}, 4, INV_INVALID, {0}, "must reach all of them"},
    {{"1x"}, 4, INV_INVALID, {0}, "must be a count"},
    {{"-1", "100%"}, 4, INV_INVALID, {0}, "must be a count"},
    {{"%"}, 4, INV_INVALID, {0}, "must be a count"},
    {{"10%%"}, 4, INV_INVALID, {0}, "must be a count"},
    {{""}, 4, INV_INVALID, {0}, "must be a count"},
    {{"99999999"}, 4, INV_INVALID, {0}, "must be a count"},
};

static void test_waves(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof wave_cases / sizeof wave_cases[0]; i++) {
		const struct wave_case *c = &wave_cases[i];
		int n = 0, cum[6] = {0};
		while (n < 6 && c->specs[n])
			n++;
		struct inv_err err = {0};
		enum inv_status st = inv_rollout_waves(c->specs, n, c->n, cum, &err);
		if (st != c->want)
			fail_msg("case %zu: %s (%s), want %s", i, inv_status_name(st), err.message,
				 inv_status_name(c->want));
		for (int k = 0; st == INV_OK && k < n; k++)
			if (cum[k] != c->cum[k])
				fail_msg("case %zu: wave %d totals %d, want %d", i, k, cum[k],
					 c->cum[k]);
		if (st != INV_OK) {
			assert_string_equal(err.field, "waves");
			if (!strstr(err.message, c->message))
				fail_msg("case %zu: '%s' lacks '%s'", i, err.message, c->message);
		}
	}
	const char *many[INV_ROLLOUT_MAX_WAVES + 1];
	for (int i = 0; i <= INV_ROLLOUT_MAX_WAVES; i++)
		many[i] = "100%";
	int cum[INV_ROLLOUT_MAX_WAVES + 1];
	struct inv_err err = {0};
	assert_int_equal(inv_rollout_waves(many, INV_ROLLOUT_MAX_WAVES + 1, 4, cum, &err),
			 INV_INVALID);
	assert_int_equal(inv_rollout_waves(many, INV_ROLLOUT_MAX_WAVES, 4, cum, &err), INV_OK);
}

/* ---------------------------------------------------------------- rollouts */

/* A ready allocation of n active machines of s1 with image "old". */
static void ready_alloc(void **state, int n, struct inv_allocation *al)
{
	struct inv *inv = tinv_inv(state);
	tinv_pool(inv, "r", "s1", n);
	struct inv_alloc_request q = {.owner = "svc",
				      .sku = "s1",
				      .image = "old",
				      .count = n,
				      .min_count = n,
				      .quota = -1,
				      .actor = "svc",
				      .request_id = "req"};
	struct inv_err err = {0};
	assert_int_equal(inv_allocation_reserve(inv, &q, al, &err), INV_OK);
	for (size_t i = 0; i < al->nmachines; i++)
		tinv_set_state(inv, al->machines[i].id, INV_ST_ACTIVE);
	assert_int_equal(inv_allocation_set_state(inv, al->id, 1u << INV_AL_DEPLOYING, INV_AL_READY,
						  NULL, "test", "", &err),
			 INV_OK);
}

static enum inv_status create(void **state, const char *alloc, const char *image,
			      const char *const *waves, int nwaves, int max_failures,
			      struct inv_rollout *out, struct inv_err *err)
{
	struct inv_rollout_new n = {.allocation_id = alloc,
				    .image = image,
				    .waves = waves,
				    .nwaves = nwaves,
				    .max_failures = max_failures,
				    .actor = "svc",
				    .request_id = "req"};
	memset(err, 0, sizeof *err);
	return inv_rollout_create(tinv_inv(state), &n, out, err);
}

static void reread(void **state, struct inv_rollout *r)
{
	char id[INV_ID_LEN];
	struct inv_err err = {0};
	snprintf(id, sizeof id, "%s", r->id);
	assert_int_equal(inv_rollout_get(tinv_inv(state), id, r, &err), INV_OK);
}

static enum inv_state machine_state(void **state, const char *id)
{
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(tinv_inv(state), id, &m, &err), INV_OK);
	enum inv_state st = m.state;
	inv_machine_clear(&m);
	return st;
}

static const char *member_image(const struct inv_allocation *al, const char *id)
{
	for (size_t i = 0; i < al->nmachines; i++)
		if (strcmp(al->machines[i].id, id) == 0)
			return al->machines[i].image;
	return "?";
}

static void test_refusals(void **state)
{
	struct inv_allocation al = {0};
	struct inv_rollout r = {0};
	struct inv_err err;
	const char *all[] = {"100%"};
	ready_alloc(state, 2, &al);
	assert_int_equal(create(state, al.id, "old", all, 1, 0, &r, &err), INV_INVALID);
	assert_string_equal(err.field, "image");
	assert_int_equal(create(state, al.id, "new", all, 1, -1, &r, &err), INV_INVALID);
	assert_string_equal(err.field, "max_failures");
	assert_int_equal(create(state, "nope", "new", all, 1, 0, &r, &err), INV_NOT_FOUND);
	const char *three[] = {"3"};
	assert_int_equal(create(state, al.id, "new", three, 1, 0, &r, &err), INV_INVALID);
	assert_string_equal(err.field, "waves");
	tinv_set_state(tinv_inv(state), al.machines[0].id, INV_ST_MAINTENANCE);
	assert_int_equal(create(state, al.id, "new", all, 1, 0, &r, &err), INV_CONFLICT);
	assert_string_equal(err.field, "machines");
	tinv_set_state(tinv_inv(state), al.machines[0].id, INV_ST_ACTIVE);
	assert_int_equal(create(state, al.id, "new", all, 1, 0, &r, &err), INV_OK);
	assert_int_equal(create(state, al.id, "other", all, 1, 0, NULL, &err), INV_CONFLICT);
	assert_string_equal(err.field, "rebuild");
	assert_int_equal(inv_allocation_set_state(tinv_inv(state), al.id, 1u << INV_AL_READY,
						  INV_AL_RELEASING, NULL, "test", "", &err),
			 INV_OK);
	assert_int_equal(
	    inv_rollout_finish(tinv_inv(state), &r, INV_RO_CANCELLED, "gone", "test", "", &err),
	    INV_OK);
	assert_int_equal(create(state, al.id, "other", all, 1, 0, NULL, &err), INV_CONFLICT);
	assert_string_equal(err.field, "state");
	inv_rollout_clear(&r);
	inv_allocation_clear(&al);
}

/* Records machine id's outcome in the rollout's current wave. */
static void outcome(void **state, struct inv_rollout *r, const char *id, bool ok)
{
	struct inv_rollout_outcome o = {.machine_id = id, .ok = ok, .message = "boom"};
	struct inv_err err = {0};
	assert_int_equal(inv_rollout_record(tinv_inv(state), r, &o, 1, &err), INV_OK);
	reread(state, r);
}

static void start_wave(void **state, struct inv_rollout *r)
{
	struct inv_err err = {0};
	assert_int_equal(inv_rollout_start_wave(tinv_inv(state), r, &err), INV_OK);
	reread(state, r);
}

static void test_waves_to_completion(void **state)
{
	struct inv *inv = tinv_inv(state);
	struct inv_allocation al = {0};
	struct inv_rollout r = {0}, stale = {0};
	struct inv_err err;
	const char *waves[] = {"1", "50%", "100%"};
	ready_alloc(state, 4, &al);
	assert_int_equal(create(state, al.id, "new", waves, 3, 1, &r, &err), INV_OK);
	assert_int_equal(r.state, INV_RO_RUNNING);
	assert_int_equal(r.wave, -1);
	assert_int_equal(r.nmachines, 4);
	static const int wave_of[] = {0, 1, 2, 2};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(r.machines[i].wave, wave_of[i]);
		assert_int_equal(r.machines[i].state, INV_RM_PENDING);
	}
	assert_int_equal(inv_rollout_get(inv, r.id, &stale, &err), INV_OK);
	start_wave(state, &r);
	assert_int_equal(r.wave, 0);
	assert_int_equal(r.machines[0].state, INV_RM_REIMAGING);
	assert_int_equal(machine_state(state, r.machines[0].id), INV_ST_DEPLOYING);
	assert_int_equal(machine_state(state, r.machines[1].id), INV_ST_ACTIVE);
	/* a second start from the same read (another replica, a repeated
	 * pass) is refused and moves nothing */
	assert_int_equal(inv_rollout_start_wave(inv, &stale, &err), INV_CONFLICT);
	assert_int_equal(machine_state(state, r.machines[1].id), INV_ST_ACTIVE);
	struct inv_allocation now = {0};
	assert_int_equal(inv_allocation_get(inv, al.id, &now, &err), INV_OK);
	assert_string_equal(member_image(&now, r.machines[0].id), "new");
	assert_string_equal(member_image(&now, r.machines[1].id), "");
	inv_allocation_clear(&now);
	tinv_set_state(inv, r.machines[0].id, INV_ST_ACTIVE);
	outcome(state, &r, r.machines[0].id, true);
	assert_int_equal(r.machines[0].state, INV_RM_DONE);
	start_wave(state, &r);
	tinv_set_state(inv, r.machines[1].id, INV_ST_ACTIVE);
	outcome(state, &r, r.machines[1].id, true);
	/* wave 3: a machine in maintenance at its start fails at once */
	tinv_set_state(inv, r.machines[3].id, INV_ST_MAINTENANCE);
	start_wave(state, &r);
	assert_int_equal(r.machines[2].state, INV_RM_REIMAGING);
	assert_int_equal(r.machines[3].state, INV_RM_FAILED);
	assert_int_equal(r.failures, 1);
	assert_int_equal(inv_rollout_start_wave(inv, &r, &err), INV_CONFLICT); /* no wave left */
	tinv_set_state(inv, r.machines[2].id, INV_ST_ACTIVE);
	outcome(state, &r, r.machines[2].id, true);
	assert_int_equal(
	    inv_rollout_finish(inv, &r, INV_RO_COMPLETED, "done", "lifecycle", "", &err), INV_OK);
	reread(state, &r);
	assert_int_equal(r.state, INV_RO_COMPLETED);
	assert_true(r.finished_at > 0);
	assert_int_equal(inv_allocation_get(inv, al.id, &now, &err), INV_OK);
	assert_string_equal(now.image, "new");
	assert_string_equal(member_image(&now, r.machines[0].id), "");
	inv_allocation_clear(&now);
	assert_int_equal(inv_rollout_finish(inv, &r, INV_RO_HALTED, NULL, "lifecycle", "", &err),
			 INV_CONFLICT);
	inv_rollout_clear(&stale);
	inv_rollout_clear(&r);
	inv_allocation_clear(&al);
}

static void test_halt_and_cancel_skip(void **state)
{
	struct inv *inv = tinv_inv(state);
	struct inv_allocation al = {0};
	struct inv_rollout r = {0}, open = {0};
	struct inv_err err;
	const char *waves[] = {"1", "100%"};
	ready_alloc(state, 3, &al);
	assert_int_equal(create(state, al.id, "new", waves, 2, 0, &r, &err), INV_OK);
	char ids[4][INV_ID_LEN];
	int n = 0;
	assert_int_equal(inv_rollouts_open(inv, ids, 4, &n, &err), INV_OK);
	assert_int_equal(n, 1);
	start_wave(state, &r);
	tinv_set_state(inv, r.machines[0].id, INV_ST_FAILED);
	outcome(state, &r, r.machines[0].id, false);
	assert_int_equal(r.failures, 1);
	assert_string_equal(r.machines[0].message, "boom");
	assert_int_equal(
	    inv_rollout_finish(inv, &r, INV_RO_HALTING, "1 failed", "lifecycle", "", &err), INV_OK);
	reread(state, &r);
	assert_int_equal(r.machines[1].state, INV_RM_SKIPPED);
	assert_string_equal(r.machines[1].message, "1 failed");
	assert_int_equal(inv_rollout_finish(inv, &r, INV_RO_HALTED, NULL, "lifecycle", "", &err),
			 INV_OK);
	reread(state, &r);
	assert_string_equal(r.reason, "1 failed"); /* kept */
	assert_int_equal(inv_rollouts_open(inv, ids, 4, &n, &err), INV_OK);
	assert_int_equal(n, 0);
	struct inv_allocation now = {0};
	assert_int_equal(inv_allocation_get(inv, al.id, &now, &err), INV_OK);
	assert_string_equal(now.image, "old");
	inv_allocation_clear(&now);
	assert_int_equal(inv_rollout_latest(inv, al.id, &open, &err), INV_OK);
	assert_string_equal(open.id, r.id);
	inv_rollout_clear(&open);
	inv_rollout_clear(&r);
	inv_allocation_clear(&al);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_waves),
	    cmocka_unit_test_setup_teardown(test_refusals, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_waves_to_completion, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_halt_and_cancel_skip, tinv_setup, tinv_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
