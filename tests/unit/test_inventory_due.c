/* test_inventory_due.c - the lifecycle engine's wake-up queries
 * (inv_machines_due, inv_machines_next_wake). Its own executable: a
 * limit-handling bug here reads out of bounds, which ASan turns into an abort
 * that would hide every other test's result. */
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

/* Machines woken at now + offset (0: idle). */
static const struct {
	const char *name;
	int64_t offset; /* ms from now; 0 = never */
} fleet[] = {
    {"idle", 0}, {"late", -1000}, {"future", 60000}, {"oldest", -5000}, {"recent", -10},
};
static const char *const due_order[] = {"oldest", "late", "recent"};

static int64_t make_fleet(struct inv *inv)
{
	int64_t now = inv_now_ms();
	for (size_t i = 0; i < sizeof fleet / sizeof fleet[0]; i++) {
		struct inv_machine_new n = {.name = fleet[i].name,
					    .wake_at = fleet[i].offset ? now + fleet[i].offset : 0,
					    .actor = "test"};
		struct inv_err err = {0};
		assert_int_equal(inv_machine_create(inv, &n, NULL, &err), INV_OK);
	}
	return now;
}

static void test_due_order_and_limit(void **state)
{
	struct inv *inv = tinv_inv(state);
	int64_t now = make_fleet(inv);
	static const struct {
		int limit;
		size_t want;
	} cases[] = {{10, ARRAY_SIZE(due_order)}, {3, ARRAY_SIZE(due_order)}, {2, 2}, {1, 1}};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct inv_machine_list l = {0};
		struct inv_err err = {0};
		assert_int_equal(inv_machines_due(inv, now, cases[c].limit, 0, &l, &err), INV_OK);
		assert_int_equal(l.n, cases[c].want);
		for (size_t i = 0; i < l.n; i++)
			assert_string_equal(l.items[i].name, due_order[i]);
		inv_machine_list_clear(&l);
	}
	int64_t next = 0;
	struct inv_err err = {0};
	assert_int_equal(inv_machines_next_wake(inv, 0, &next, &err), INV_OK);
	assert_int_equal(next, now - 5000);
}

/* Every other list treats limit <= 0 as "the default"; so must this one
 * (today limit 0 reads items[-1]). */
static void test_due_limit_zero(void **state)
{
	struct inv *inv = tinv_inv(state);
	int64_t now = make_fleet(inv);
	struct inv_machine_list l = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machines_due(inv, now, 0, 0, &l, &err), INV_OK);
	assert_int_equal(l.n, ARRAY_SIZE(due_order));
	inv_machine_list_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_due_order_and_limit, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_due_limit_zero, tinv_setup, tinv_teardown),
	};
	return cmocka_run_group_tests_name("inventory_due", tests, NULL, NULL);
}
