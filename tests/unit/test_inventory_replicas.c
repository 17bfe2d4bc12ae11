/* test_inventory_replicas.c - replicas in the inventory (docs/scale-out.md,
 * "Replicas"): registration and epochs, heartbeats of a fenced replica,
 * take-over of a silent one (its machines unclaimed and woken), claimed
 * changes refused under a lost claim, due machines per replica. Two
 * replicas are two names on one inventory: the statements are what a second
 * process would run. */
#include "inventory/inventory.h"
#include "util/util.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

/* test_inventory_util.c */
int tinv_setup(void **state);
int tinv_teardown(void **state);
struct inv *tinv_inv(void **state);

static int64_t reg(struct inv *inv, const char *name)
{
	int64_t epoch = 0;
	struct inv_err err = {0};
	assert_int_equal(
	    inv_replica_register(inv, name, "api,boot,engine", "127.0.0.1:1", &epoch, &err),
	    INV_OK);
	return epoch;
}

/* A machine due now, taken by replica (claim) as the engine's lease does. */
static void machine_taken(struct inv *inv, const char *name, const struct inv_claim *claim,
			  struct inv_machine *out)
{
	struct inv_machine_new n = {.name = name, .wake_at = inv_now_ms() - 1, .actor = "test"};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_create(inv, &n, out, &err), INV_OK);
	struct inv_machine_change c = {.expect_version = out->version,
				       .claim = claim,
				       .take_claim = true,
				       .set_wake = true,
				       .wake_at = inv_now_ms() + 900000,
				       .actor = "test"};
	assert_int_equal(inv_machine_change(inv, out->id, &c, out, &err), INV_OK);
	assert_string_equal(out->replica, claim->replica);
	assert_int_equal(out->replica_epoch, claim->epoch);
}

/* Replicas a and b registered (epochs into their claims), m1 taken by a
 * into m and m2 by b into m2. */
static void two_taken(struct inv *inv, struct inv_claim *a, struct inv_claim *b,
		      struct inv_machine *m, struct inv_machine *m2)
{
	a->epoch = reg(inv, a->replica);
	b->epoch = reg(inv, b->replica);
	machine_taken(inv, "m1", a, m);
	machine_taken(inv, "m2", b, m2);
}

static void test_register_epochs(void **state)
{
	struct inv *inv = tinv_inv(state);
	int64_t e1 = reg(inv, "a"), e2 = reg(inv, "a");
	assert_true(e2 > e1); /* a restart under the same name: a new epoch */
	struct inv_err err = {0};
	assert_int_equal(inv_replica_heartbeat(inv, "a", e2, &err), INV_OK);
	assert_int_equal(inv_replica_heartbeat(inv, "a", e1, &err), INV_CONFLICT);
	assert_string_equal(err.field, "epoch");
}

static void test_take_over_and_fence(void **state)
{
	struct inv *inv = tinv_inv(state);
	struct inv_claim a = {.replica = "a"}, b = {.replica = "b"};
	struct inv_machine m = {0}, m2 = {0};
	two_taken(inv, &a, &b, &m, &m2);
	/* b cannot take a's machine, nor write under a's claim */
	struct inv_err err = {0};
	struct inv_machine_change c = {
	    .expect_version = m.version, .claim = &b, .take_claim = true, .actor = "t"};
	assert_int_equal(inv_machine_change(inv, m.id, &c, NULL, &err), INV_CONFLICT);
	assert_string_equal(err.field, "claim");
	/* nobody silent yet: no take-over */
	char lost[4][INV_REPLICA_LEN];
	int nlost = -1, nm = -1;
	assert_int_equal(
	    inv_replicas_take_over(inv, "b", inv_now_ms() - 60000, lost, 4, &nlost, &nm, &err),
	    INV_OK);
	assert_int_equal(nlost, 0);
	/* a is silent past the bound: b fences it and a's machine is free, woken */
	assert_int_equal(
	    inv_replicas_take_over(inv, "b", inv_now_ms() + 1, lost, 4, &nlost, &nm, &err), INV_OK);
	assert_int_equal(nlost, 1);
	assert_int_equal(nm, 1);
	assert_string_equal(lost[0], "a");
	struct inv_machine now = {0};
	assert_int_equal(inv_machine_get(inv, m.id, &now, &err), INV_OK);
	assert_string_equal(now.replica, "");
	assert_true(now.wake_at > 0 && now.wake_at <= inv_now_ms());
	/* a, back from a pause, writes nothing under its old claim... */
	struct inv_machine_change late = {.expect_version = now.version,
					  .claim = &a,
					  .set_last_error = true,
					  .last_error = "late",
					  .actor = "t"};
	assert_int_equal(inv_machine_change(inv, m.id, &late, NULL, &err), INV_CONFLICT);
	assert_string_equal(err.field, "claim");
	/* ...and learns at its heartbeat that it was fenced */
	assert_int_equal(inv_replica_heartbeat(inv, "a", a.epoch, &err), INV_CONFLICT);
	/* b's own machine stays b's; b takes a's */
	assert_int_equal(inv_machine_get(inv, m2.id, &m2, &err), INV_OK);
	assert_string_equal(m2.replica, "b");
	c.expect_version = now.version;
	assert_int_equal(inv_machine_change(inv, m.id, &c, &now, &err), INV_OK);
	assert_string_equal(now.replica, "b");
	struct inv_replica_list l = {0};
	assert_int_equal(inv_replica_list(inv, &l, &err), INV_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].name, "a");
	assert_true(l.items[0].fenced);
	assert_int_equal(l.items[0].machines, 0);
	assert_false(l.items[1].fenced);
	assert_int_equal(l.items[1].machines, 2);
	inv_replica_list_clear(&l);
	inv_machine_clear(&m);
	inv_machine_clear(&m2);
	inv_machine_clear(&now);
}

/* Nothing left to do (wake 0) gives the machine up; due machines are the
 * replica's own and the unclaimed. */
static void test_release_and_due(void **state)
{
	struct inv *inv = tinv_inv(state);
	struct inv_claim a = {.replica = "a"}, b = {.replica = "b"};
	struct inv_machine m = {0}, m2 = {0};
	two_taken(inv, &a, &b, &m, &m2);
	struct inv_err err = {0};
	/* both due now, still claimed */
	struct inv_machine_change wake = {.claim = &a, .set_wake = true, .actor = "t"};
	wake.expect_version = m.version;
	wake.wake_at = inv_now_ms() - 1;
	assert_int_equal(inv_machine_change(inv, m.id, &wake, &m, &err), INV_OK);
	wake.claim = &b;
	wake.expect_version = m2.version;
	assert_int_equal(inv_machine_change(inv, m2.id, &wake, &m2, &err), INV_OK);
	struct inv_machine_list l = {0};
	inv_set_replica(inv, "a");
	assert_int_equal(inv_machines_due(inv, inv_now_ms(), 10, 0, &l, &err), INV_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].name, "m1");
	inv_machine_list_clear(&l);
	/* b is done with m2: it rests unclaimed (no longer due either) */
	struct inv_machine_change rest = {.expect_version = m2.version,
					  .claim = &b,
					  .set_wake = true,
					  .wake_at = 0,
					  .actor = "t"};
	assert_int_equal(inv_machine_change(inv, m2.id, &rest, &m2, &err), INV_OK);
	assert_string_equal(m2.replica, "");
	inv_set_replica(inv, "");
	inv_machine_clear(&m);
	inv_machine_clear(&m2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_register_epochs, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_take_over_and_fence, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_release_and_due, tinv_setup, tinv_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
