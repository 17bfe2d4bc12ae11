/* test_inventory_records.c - listing the audit log (order, cursor, filters)
 * and machines by location. */
#include "inventory/inventory.h"

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
void tinv_machine(struct inv *inv, const char *name, const char *mac, const char *sku,
		  char id[INV_ID_LEN]);
void tinv_set_state(struct inv *inv, const char *id, enum inv_state st);

static void append(struct inv *inv, const char *actor, const char *action, const char *target)
{
	struct inv_err err = {0};
	if (inv_audit_append(inv, actor, action, "machine", target, NULL, "{}", "req", &err) !=
	    INV_OK)
		fail_msg("append: %s", err.message);
}

/* The targets of the listed rows, joined with ',', and the next cursor. */
static int64_t listed(struct inv *inv, const struct inv_audit_filter *f, char *out, size_t n)
{
	struct inv_audit_list l = {0};
	struct inv_err err = {0};
	size_t k = 0;

	if (inv_audit_list(inv, f, &l, &err) != INV_OK)
		fail_msg("audit list: %s", err.message);
	out[0] = '\0';
	for (size_t i = 0; i < l.n && k < n; i++)
		k += (size_t)snprintf(out + k, n - k, "%s%s", i ? "," : "", l.items[i].target_id);
	int64_t next = l.next_seq;
	inv_audit_list_clear(&l);
	return next;
}

static void test_audit_order_and_cursor(void **state)
{
	struct inv *inv = tinv_inv(state);
	char got[256];

	append(inv, "tech:alice", "machine.enroll", "t1");
	append(inv, "tech:alice", "machine.patch", "t2");
	append(inv, "admin:root", "image.register", "t3");
	struct inv_audit_filter f = {.limit = 2};
	int64_t next = listed(inv, &f, got, sizeof got);
	assert_string_equal(got, "t1,t2");
	f.cursor = next;
	assert_int_equal(listed(inv, &f, got, sizeof got), 0);
	assert_string_equal(got, "t3");
	/* newest first: the cursor continues towards older rows */
	f = (struct inv_audit_filter){.limit = 2, .newest_first = true};
	next = listed(inv, &f, got, sizeof got);
	assert_string_equal(got, "t3,t2");
	f.cursor = next;
	assert_int_equal(listed(inv, &f, got, sizeof got), 0);
	assert_string_equal(got, "t1");
}

static void test_audit_filters(void **state)
{
	struct inv *inv = tinv_inv(state);
	char got[256];

	append(inv, "tech:alice", "machine.enroll", "t1");
	append(inv, "tech:alice", "machine.power", "t2");
	append(inv, "admin:root", "image.register", "t3");
	append(inv, "admin:alice2", "machine.patch", "t1");
	static const struct {
		struct inv_audit_filter f;
		const char *want;
	} cases[] = {
	    {{.actor = "tech:alice"}, "t1,t2"},
	    {{.actor = "alice"}, "t1,t2"}, /* the token name alone */
	    {{.actor = "root"}, "t3"},
	    {{.action = "machine.power"}, "t2"},
	    {{.action = "machine"}, "t1,t2,t1"}, /* machine.* */
	    {{.action = "machin"}, ""},
	    {{.target = "t1"}, "t1,t1"},
	    {{.target = "t1", .action = "machine.patch"}, "t1"},
	    {{.since = INT64_MAX / 2}, ""},
	    {{.since = 1}, "t1,t2,t3,t1"},
	    {{.actor = "alice", .newest_first = true}, "t2,t1"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct inv_audit_filter f = cases[i].f;
		listed(inv, &f, got, sizeof got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].want);
	}
}

static void add_machine(struct inv *inv, const char *name, const char *site, const char *rack)
{
	struct inv_machine_new n = {.name = name, .actor = "test", .request_id = "req"};
	struct inv_machine m = {0};
	struct inv_err err = {0};

	snprintf(n.location.site, sizeof n.location.site, "%s", site);
	snprintf(n.location.rack, sizeof n.location.rack, "%s", rack);
	n.location.unit = -1;
	if (inv_machine_create(inv, &n, &m, &err) != INV_OK)
		fail_msg("create %s: %s", name, err.message);
	inv_machine_clear(&m);
}

static void test_machines_by_location(void **state)
{
	struct inv *inv = tinv_inv(state);

	add_machine(inv, "a", "dc1", "r1");
	add_machine(inv, "b", "dc1", "r2");
	add_machine(inv, "c", "dc2", "r1");
	static const struct {
		const char *site, *rack, *want;
	} cases[] = {
	    {"dc1", NULL, "a,b"}, {NULL, "r1", "a,c"},	 {"dc2", "r1", "c"},
	    {"dc2", "r2", ""},	  {NULL, NULL, "a,b,c"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct inv_machine_filter f = {
		    .state = -1, .site = cases[i].site, .rack = cases[i].rack, .limit = 10};
		struct inv_machine_list l = {0};
		struct inv_err err = {0};
		char got[64] = "";
		size_t k = 0;
		assert_int_equal(inv_machine_list(inv, &f, &l, &err), INV_OK);
		for (size_t j = 0; j < l.n; j++)
			k += (size_t)snprintf(got + k, sizeof got - k, "%s%s", j ? "," : "",
					      l.items[j].name);
		inv_machine_list_clear(&l);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].want);
	}
}

/* ----------------------------------------------------------- capacity */

static void collect_count(void *ctx, const char *sku, enum inv_state st, int64_t n, int64_t maint)
{
	char *out = ctx;
	size_t k = strlen(out);
	snprintf(out + k, 512 - k, "%s/%s=%lld/%lld ", sku, inv_state_name(st), (long long)n,
		 (long long)maint);
}

/* Changes a machine's sku or maintenance flag, compare-and-swap. */
static void change(struct inv *inv, const char *id, const char *sku, bool maint)
{
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
	struct inv_machine_change c = {.expect_version = m.version,
				       .set_sku = sku != NULL,
				       .sku = sku,
				       .set_maintenance = maint,
				       .maintenance = maint,
				       .maintenance_reason = "disk",
				       .actor = "test"};
	inv_machine_clear(&m);
	if (inv_machine_change(inv, id, &c, NULL, &err) != INV_OK)
		fail_msg("change %s: %s", id, err.message);
}

/* The counts by SKU and state (kept by triggers, schema 7) follow every
 * insert, change of sku, state or maintenance, and delete. */
static void test_capacity_counts_follow_changes(void **state)
{
	struct inv *inv = tinv_inv(state);
	char a[INV_ID_LEN], b[INV_ID_LEN], c[INV_ID_LEN], d[INV_ID_LEN];
	tinv_machine(inv, "cap-a", NULL, "s1", a);
	tinv_machine(inv, "cap-b", NULL, "s1", b);
	tinv_machine(inv, "cap-c", NULL, "s2", c);
	tinv_machine(inv, "cap-d", NULL, NULL, d); /* enrolled, no sku */
	change(inv, a, NULL, true);
	change(inv, b, "s2", false);
	tinv_set_state(inv, c, INV_ST_CLEANING);
	struct inv_err err = {0};
	char gone[INV_ID_LEN];
	if (inv_machine_delete(inv, d, "test", "req", NULL, gone, &err) != INV_OK)
		fail_msg("delete: %s", err.message);
	char got[512] = "";
	assert_int_equal(inv_capacity(inv, collect_count, got, &err), INV_OK);
	assert_string_equal(got, "s1/available=1/1 s2/available=1/0 s2/cleaning=1/0 ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_audit_order_and_cursor, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_audit_filters, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_machines_by_location, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_capacity_counts_follow_changes, tinv_setup,
					    tinv_teardown),
	};
	return cmocka_run_group_tests_name("inventory_records", tests, NULL, NULL);
}
