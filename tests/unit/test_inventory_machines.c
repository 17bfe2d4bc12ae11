/* test_inventory_machines.c - enrolment uniqueness, compare-and-swap
 * changes and boot-plane tokens (single-threaded cases). */
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
const char *tinv_path(void **state);
int64_t tinv_scalar(const char *path, const char *sql, const char *arg);
void tinv_machine(struct inv *inv, const char *name, const char *mac, const char *sku,
		  char id[INV_ID_LEN]);

static int64_t count(void **state, const char *sql, const char *arg)
{
	return tinv_scalar(tinv_path(state), sql, arg);
}

struct totals {
	int64_t machines, nics, bmcs, events, audit;
};

static struct totals totals(void **state)
{
	return (struct totals){
	    count(state, "SELECT count(*) FROM machines", NULL),
	    count(state, "SELECT count(*) FROM nics", NULL),
	    count(state, "SELECT count(*) FROM bmcs", NULL),
	    count(state, "SELECT count(*) FROM machine_events", NULL),
	    count(state, "SELECT count(*) FROM audit", NULL),
	};
}

static void assert_totals_equal(struct totals a, struct totals b)
{
	assert_int_equal(a.machines, b.machines);
	assert_int_equal(a.nics, b.nics);
	assert_int_equal(a.bmcs, b.bmcs);
	assert_int_equal(a.events, b.events);
	assert_int_equal(a.audit, b.audit);
}

/* ------------------------------------------------------- uniqueness */

static void test_enroll_writes_everything(void **state)
{
	struct inv *inv = tinv_inv(state);
	struct inv_bmc bmc = {
	    .driver = "ipmi", .address = "10.0.0.9", .username = "admin", .password = "secret"};
	struct inv_machine_new n = {.name = "node-1",
				    .location = {"lab", "r2", 7},
				    .nmacs = 2,
				    .macs = {"02:00:00:00:01:02", "02:00:00:00:01:01"},
				    .bmc = &bmc,
				    .actor = "alice",
				    .request_id = "r-1",
				    .audit_after_json = "{\"name\":\"node-1\"}"};
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_create(inv, &n, &m, &err), INV_OK);
	assert_string_equal(m.name, "node-1");
	assert_int_equal(m.state, INV_ST_ENROLLED);
	assert_int_equal(m.nmacs, 2);
	assert_string_equal(m.macs[0], "02:00:00:00:01:01");
	assert_string_equal(m.macs[1], "02:00:00:00:01:02");
	assert_true(m.has_bmc);
	assert_string_equal(m.bmc_address, "10.0.0.9");
	assert_int_equal(m.location.unit, 7);
	assert_int_equal(
	    count(state, "SELECT count(*) FROM machine_events WHERE machine_id=?1", m.id), 1);
	assert_int_equal(count(state,
			       "SELECT count(*) FROM audit WHERE target_id=?1 AND"
			       " action='machine.enroll' AND actor='alice'",
			       m.id),
			 1);
	struct inv_bmc got = {0};
	assert_int_equal(inv_machine_bmc(inv, m.id, &got, &err), INV_OK);
	assert_string_equal(got.password, "secret");
	inv_bmc_clear(&got);
	inv_machine_clear(&m);
}

static void test_duplicate_mac_writes_nothing(void **state)
{
	struct inv *inv = tinv_inv(state);
	char first[INV_ID_LEN];
	tinv_machine(inv, "owner", "02:00:00:00:00:aa", NULL, first);
	struct totals before = totals(state);

	/* The fresh MAC comes first so that its NIC row is written before
	 * the clash: it must be rolled back with the rest. */
	struct inv_bmc bmc = {.driver = "ipmi", .address = "10.0.0.2"};
	struct inv_machine_new n = {.name = "intruder",
				    .nmacs = 2,
				    .macs = {"02:00:00:00:00:bb", "02:00:00:00:00:aa"},
				    .bmc = &bmc,
				    .actor = "test",
				    .audit_after_json = "{}"};
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_create(inv, &n, &m, &err), INV_DUPLICATE);
	assert_int_equal(err.status, INV_DUPLICATE);
	assert_string_equal(err.field, "macs");
	assert_non_null(strstr(err.message, "02:00:00:00:00:aa"));
	/* and names the machine that holds it */
	assert_non_null(strstr(err.message, "belongs to machine owner"));

	assert_totals_equal(before, totals(state));
	assert_int_equal(count(state, "SELECT count(*) FROM machines WHERE name='intruder'", NULL),
			 0);
	assert_int_equal(
	    count(state, "SELECT count(*) FROM nics WHERE mac='02:00:00:00:00:bb'", NULL), 0);
	assert_int_equal(inv_machine_get(inv, "intruder", &m, &err), INV_NOT_FOUND);
	/* the MAC still belongs to the first machine */
	assert_int_equal(inv_machine_get_by_mac(inv, "02:00:00:00:00:aa", &m, &err), INV_OK);
	assert_string_equal(m.id, first);
	inv_machine_clear(&m);
}

static void test_duplicate_name_writes_nothing(void **state)
{
	struct inv *inv = tinv_inv(state);
	tinv_machine(inv, "same", "02:00:00:00:00:01", NULL, NULL);
	struct totals before = totals(state);
	struct inv_machine_new n = {
	    .name = "same", .nmacs = 1, .macs = {"02:00:00:00:00:02"}, .actor = "test"};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_create(inv, &n, NULL, &err), INV_DUPLICATE);
	assert_string_equal(err.field, "name");
	assert_non_null(strstr(err.message, "same"));
	assert_totals_equal(before, totals(state));
	assert_int_equal(
	    count(state, "SELECT count(*) FROM nics WHERE mac='02:00:00:00:00:02'", NULL), 0);
}

static void test_create_invalid(void **state)
{
	static const struct {
		const char *name;
		int nmacs;
		const char *field;
	} cases[] = {
	    {NULL, 0, "name"},
	    {"", 0, "name"},
	    {"x", -1, "macs"},
	    {"x", INV_MAX_MACS + 1, "macs"},
	};
	struct totals before = totals(state);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct inv_machine_new n = {.name = cases[i].name, .nmacs = cases[i].nmacs};
		struct inv_err err = {0};
		assert_int_equal(inv_machine_create(tinv_inv(state), &n, NULL, &err), INV_INVALID);
		assert_string_equal(err.field, cases[i].field);
	}
	assert_totals_equal(before, totals(state));
}

/* ------------------------------------------------ compare-and-swap */

static void test_change_cas(void **state)
{
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN];
	tinv_machine(inv, "cas", NULL, NULL, id);
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
	int64_t v = m.version;
	int64_t events =
	    count(state, "SELECT count(*) FROM machine_events WHERE machine_id=?1", id);

	struct inv_machine_change c = {.expect_version = v,
				       .set_state = true,
				       .state = INV_ST_VERIFYING,
				       .set_phase = true,
				       .phase = "power-on",
				       .actor = "lc",
				       .reason = "start"};
	assert_int_equal(inv_machine_change(inv, "cas", &c, &m, &err), INV_OK); /* by name */
	assert_int_equal(m.version, v + 1);
	assert_int_equal(m.state, INV_ST_VERIFYING);
	assert_string_equal(m.phase, "power-on");
	assert_int_equal(
	    count(state, "SELECT count(*) FROM machine_events WHERE machine_id=?1", id),
	    events + 1);

	/* stale version: refused, nothing written */
	c.state = INV_ST_FAILED;
	c.phase = "stale";
	assert_int_equal(inv_machine_change(inv, id, &c, NULL, &err), INV_CONFLICT);
	assert_int_equal(err.status, INV_CONFLICT);
	inv_machine_clear(&m);
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
	assert_int_equal(m.version, v + 1);
	assert_int_equal(m.state, INV_ST_VERIFYING);
	assert_string_equal(m.phase, "power-on");
	assert_int_equal(
	    count(state, "SELECT count(*) FROM machine_events WHERE machine_id=?1", id),
	    events + 1);

	/* no state change: no event unless always_event */
	struct inv_machine_change p = {.expect_version = v + 1, .set_power = true, .power = "on"};
	assert_int_equal(inv_machine_change(inv, id, &p, NULL, &err), INV_OK);
	assert_int_equal(
	    count(state, "SELECT count(*) FROM machine_events WHERE machine_id=?1", id),
	    events + 1);
	p.expect_version = v + 2;
	p.always_event = true;
	assert_int_equal(inv_machine_change(inv, id, &p, NULL, &err), INV_OK);
	assert_int_equal(
	    count(state, "SELECT count(*) FROM machine_events WHERE machine_id=?1", id),
	    events + 2);

	assert_int_equal(inv_machine_change(inv, "no-such", &p, NULL, &err), INV_NOT_FOUND);
	inv_machine_clear(&m);
}

/* A step's write that keeps a wake-up it did not see (keep_woken): an
 * agent's new session (inv_command_requeue) counts up the machine's wakes;
 * a write made with the count read before it leaves wake_at (now) alone,
 * one made with the current count sets it. end_agent_session ends the
 * agent's session with the change. */
static void test_change_keeps_unseen_wake(void **state)
{
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN];
	tinv_machine(inv, "woken", NULL, NULL, id);
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
	int64_t seen = m.wakes, later = inv_now_ms() + 600000;
	assert_int_equal(inv_command_requeue(inv, id, &err), INV_OK); /* lands mid-step */
	struct inv_machine_change c = {.expect_version = m.version,
				       .set_wake = true,
				       .wake_at = later,
				       .keep_woken = true,
				       .wakes_seen = seen,
				       .actor = "lc"};
	assert_int_equal(inv_machine_change(inv, id, &c, &m, &err), INV_OK);
	assert_int_equal(m.wakes, seen + 1);
	assert_true(m.wake_at > 0 && m.wake_at <= inv_now_ms()); /* still due */
	c.expect_version = m.version;
	c.wakes_seen = m.wakes; /* nothing came since: the wake moves out */
	assert_int_equal(inv_machine_change(inv, id, &c, &m, &err), INV_OK);
	assert_int_equal(m.wake_at, later);

	assert_int_equal(inv_boot_token_add(inv, "h-session", id, "session", later, &err), INV_OK);
	assert_int_equal(inv_boot_token_add(inv, "h-media", id, "media", later, &err), INV_OK);
	assert_int_equal(inv_machine_agent_seen(inv, id, inv_now_ms(), &err), INV_OK);
	assert_true(count(state, "SELECT agent_seen_at FROM machines WHERE id=?1", id) > 0);
	struct inv_machine_change gone = {
	    .expect_version = m.version, .end_agent_session = true, .actor = "lc"};
	assert_int_equal(inv_machine_change(inv, id, &gone, NULL, &err), INV_OK);
	assert_int_equal(count(state, "SELECT agent_seen_at FROM machines WHERE id=?1", id), 0);
	assert_int_equal(count(state,
			       "SELECT count(*) FROM boot_tokens WHERE machine_id=?1 AND used_at=0"
			       " AND kind='session'",
			       id),
			 0);
	/* other kinds of token are not the session's */
	assert_int_equal(
	    count(state, "SELECT count(*) FROM boot_tokens WHERE hash='h-media' AND used_at=0",
		  NULL),
	    1);
	inv_machine_clear(&m);
}

static void test_change_rename_to_taken_name(void **state)
{
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN];
	tinv_machine(inv, "a", NULL, NULL, NULL);
	tinv_machine(inv, "b", NULL, NULL, id);
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
	struct inv_machine_change c = {.expect_version = m.version,
				       .set_name = true,
				       .name = "a",
				       .set_state = true,
				       .state = INV_ST_MAINTENANCE};
	int64_t events = count(state, "SELECT count(*) FROM machine_events", NULL);
	assert_int_equal(inv_machine_change(inv, id, &c, NULL, &err), INV_DUPLICATE);
	assert_string_equal(err.field, "name");
	inv_machine_clear(&m);
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
	assert_string_equal(m.name, "b");
	assert_int_equal(m.state, INV_ST_ENROLLED);
	assert_int_equal(count(state, "SELECT count(*) FROM machine_events", NULL), events);
	inv_machine_clear(&m);
}

/* Each optional field of a change, one change per field on one machine:
 * case i sets the field in c and the value it should read back in want. */
enum {
	F_STATE,
	F_SAME_STATE,
	F_PHASE,
	F_ATTEMPTS,
	F_WAKE,
	F_DEADLINE,
	F_LAST_ERROR,
	F_POWER,
	F_SKU,
	F_FACTS,
	F_MAINTENANCE,
	F_NAME,
	F_LOCATION,
	F_BMC,
	F_NO_BMC,
	F_ALLOC,
	F_NO_ALLOC,
	F__COUNT
};

static const struct inv_bmc field_bmc = {.driver = "fake", .address = "sim", .username = "u"};

static void field_case(int i, struct inv_machine_change *c, struct inv_machine *want)
{
	switch (i) {
	case F_STATE:
		c->set_state = true;
		c->state = want->state = INV_ST_CLEANING;
		want->state_since = -1; /* moves: checked below */
		break;
	case F_SAME_STATE: /* same state again: state_since stays */
		c->set_state = true;
		c->state = INV_ST_CLEANING;
		break;
	case F_PHASE:
		c->set_phase = true;
		c->phase = "wipe";
		snprintf(want->phase, sizeof want->phase, "wipe");
		break;
	case F_ATTEMPTS:
		c->set_attempts = true;
		c->attempts = want->attempts = 2;
		break;
	case F_WAKE:
		c->set_wake = true;
		c->wake_at = want->wake_at = 123456;
		break;
	case F_DEADLINE:
		c->set_deadline = true;
		c->deadline_at = want->deadline_at = 654321;
		break;
	case F_LAST_ERROR:
		c->set_last_error = true;
		c->last_error = "boom";
		snprintf(want->last_error, sizeof want->last_error, "boom");
		break;
	case F_POWER:
		c->set_power = true;
		c->power = "on";
		snprintf(want->power, sizeof want->power, "on");
		break;
	case F_SKU:
		c->set_sku = true;
		c->sku = "gpu";
		snprintf(want->sku, sizeof want->sku, "gpu");
		break;
	case F_FACTS:
		c->set_facts = true;
		c->facts_json = "{\"cpus\":8}";
		break;
	case F_MAINTENANCE:
		c->set_maintenance = true;
		c->maintenance = want->maintenance = true;
		c->maintenance_reason = "fan";
		snprintf(want->maintenance_reason, sizeof want->maintenance_reason, "fan");
		break;
	case F_NAME:
		c->set_name = true;
		c->name = "renamed";
		snprintf(want->name, sizeof want->name, "renamed");
		break;
	case F_LOCATION:
		c->set_location = true;
		c->location = want->location = (struct inv_location){"site2", "r9", 11};
		break;
	case F_BMC:
		c->set_bmc = true;
		c->bmc = &field_bmc;
		want->has_bmc = true;
		snprintf(want->bmc_driver, sizeof want->bmc_driver, "fake");
		break;
	case F_NO_BMC:
		c->set_bmc = true;
		c->bmc = NULL;
		want->has_bmc = false;
		want->bmc_driver[0] = 0;
		break;
	case F_ALLOC:
		c->set_allocation = true;
		c->allocation_id = "alloc-1";
		snprintf(want->allocation_id, sizeof want->allocation_id, "alloc-1");
		break;
	case F_NO_ALLOC:
		c->set_allocation = true;
		c->allocation_id = "";
		want->allocation_id[0] = 0;
		break;
	}
}

static void assert_machine_is(const struct inv_machine *want, const struct inv_machine *got)
{
	assert_string_equal(got->name, want->name);
	assert_int_equal(got->state, want->state);
	if (want->state_since >= 0)
		assert_int_equal(got->state_since, want->state_since);
	assert_int_equal(got->version, want->version);
	assert_string_equal(got->phase, want->phase);
	assert_int_equal(got->attempts, want->attempts);
	assert_int_equal(got->wake_at, want->wake_at);
	assert_int_equal(got->deadline_at, want->deadline_at);
	assert_string_equal(got->last_error, want->last_error);
	assert_string_equal(got->power, want->power);
	assert_string_equal(got->sku, want->sku);
	assert_int_equal(got->maintenance, want->maintenance);
	assert_string_equal(got->maintenance_reason, want->maintenance_reason);
	assert_string_equal(got->location.site, want->location.site);
	assert_string_equal(got->location.rack, want->location.rack);
	assert_int_equal(got->location.unit, want->location.unit);
	assert_int_equal(got->has_bmc, want->has_bmc);
	assert_string_equal(got->bmc_driver, want->bmc_driver);
	assert_string_equal(got->allocation_id, want->allocation_id);
}

/* A change writes exactly the fields it carries (and bumps the version). */
static void test_change_each_field(void **state)
{
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN];
	tinv_machine(inv, "fields", NULL, NULL, id);
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
	for (int i = 0; i < F__COUNT; i++) {
		struct inv_machine want = m;
		want.facts_json = want.bmc_options_json = NULL;
		struct inv_machine_change c = {.expect_version = m.version, .actor = "test"};
		field_case(i, &c, &want);
		want.version = m.version + 1;
		int64_t since = m.state_since;
		inv_machine_clear(&m);
		if (inv_machine_change(inv, id, &c, &m, &err) != INV_OK)
			fail_msg("field case %d: %s", i, err.message);
		assert_machine_is(&want, &m);
		if (want.state_since < 0)
			assert_true(m.state_since >= since);
		if (i == F_FACTS)
			assert_string_equal(m.facts_json, "{\"cpus\":8}");
	}
	inv_machine_clear(&m);
}

/* The engine's change brings its own record up to date (out_is_current)
 * rather than reading it again: it must end as a fresh read would, field
 * by field, also when the machine was woken meanwhile. */
static void test_change_patch_matches_read(void **state)
{
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN];
	tinv_machine(inv, "patch", NULL, NULL, id);
	struct inv_machine m = {0}, fresh = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
	for (int i = 0; i < F__COUNT; i++) {
		struct inv_machine want = {0};
		struct inv_machine_change c = {
		    .expect_version = m.version, .actor = "test", .out_is_current = true};
		field_case(i, &c, &want);
		if (i % 2 == 0) /* woken behind the record's back */
			assert_int_equal(inv_command_requeue(inv, id, &err), INV_OK);
		if (inv_machine_change(inv, id, &c, &m, &err) != INV_OK)
			fail_msg("field case %d: %s", i, err.message);
		assert_int_equal(inv_machine_get(inv, id, &fresh, &err), INV_OK);
		assert_machine_is(&fresh, &m);
		assert_int_equal(m.wakes, fresh.wakes);
		assert_int_equal(m.updated_at, fresh.updated_at);
		assert_int_equal(m.state_since, fresh.state_since);
		assert_string_equal(m.owner, fresh.owner);
		assert_string_equal(m.facts_json ? m.facts_json : "",
				    fresh.facts_json ? fresh.facts_json : "");
		inv_machine_clear(&fresh);
	}
	inv_machine_clear(&m);
}

/* ------------------------------------------------------ boot tokens */

static void test_boot_tokens(void **state)
{
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN], other[INV_ID_LEN], mid[INV_ID_LEN];
	tinv_machine(inv, "booter", NULL, NULL, id);
	tinv_machine(inv, "other", NULL, NULL, other);
	struct inv_err err = {0};
	int64_t later = inv_now_ms() + 600000;
	assert_int_equal(inv_boot_token_add(inv, "h-boot", id, "boot", later, &err), INV_OK);
	assert_int_equal(inv_boot_token_add(inv, "h-sess", id, "session", later, &err), INV_OK);
	assert_int_equal(inv_boot_token_add(inv, "h-old", id, "boot", inv_now_ms() - 1, &err),
			 INV_OK);
	assert_int_equal(inv_boot_token_add(inv, "h-other", other, "boot", later, &err), INV_OK);

	/* consumed exactly once */
	assert_int_equal(inv_boot_token_take(inv, "h-boot", "boot", true, mid, &err), INV_OK);
	assert_string_equal(mid, id);
	assert_int_equal(inv_boot_token_take(inv, "h-boot", "boot", true, mid, &err),
			 INV_NOT_FOUND);
	assert_string_equal(mid, "");
	assert_int_equal(inv_boot_token_take(inv, "h-boot", "boot", false, mid, &err),
			 INV_NOT_FOUND);

	/* expired, unknown, wrong kind */
	assert_int_equal(inv_boot_token_take(inv, "h-old", "boot", false, mid, &err),
			 INV_NOT_FOUND);
	assert_int_equal(inv_boot_token_take(inv, "h-old", "boot", true, mid, &err), INV_NOT_FOUND);
	assert_int_equal(inv_boot_token_take(inv, "nope", "boot", false, mid, &err), INV_NOT_FOUND);
	assert_int_equal(inv_boot_token_take(inv, "h-sess", "boot", false, mid, &err),
			 INV_NOT_FOUND);

	/* without consume a token stays usable */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(inv_boot_token_take(inv, "h-sess", "session", false, mid, &err),
				 INV_OK);
		assert_string_equal(mid, id);
	}

	/* revoke by kind leaves other kinds and other machines alone */
	assert_int_equal(inv_boot_token_add(inv, "h-boot2", id, "boot", later, &err), INV_OK);
	assert_int_equal(inv_boot_token_revoke(inv, id, "boot", &err), INV_OK);
	assert_int_equal(inv_boot_token_take(inv, "h-boot2", "boot", false, mid, &err),
			 INV_NOT_FOUND);
	assert_int_equal(inv_boot_token_take(inv, "h-sess", "session", false, mid, &err), INV_OK);
	assert_int_equal(inv_boot_token_take(inv, "h-other", "boot", false, mid, &err), INV_OK);
	assert_string_equal(mid, other);
	/* revoke every kind */
	assert_int_equal(inv_boot_token_revoke(inv, id, NULL, &err), INV_OK);
	assert_int_equal(inv_boot_token_take(inv, "h-sess", "session", true, mid, &err),
			 INV_NOT_FOUND);
	assert_int_equal(inv_boot_token_take(inv, "h-other", "boot", true, mid, &err), INV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_enroll_writes_everything, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_mac_writes_nothing, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_name_writes_nothing, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_create_invalid, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_change_cas, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_change_patch_matches_read, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_change_keeps_unseen_wake, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_change_rename_to_taken_name, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_change_each_field, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_boot_tokens, tinv_setup, tinv_teardown),
	};
	return cmocka_run_group_tests_name("inventory_machines", tests, NULL, NULL);
}
