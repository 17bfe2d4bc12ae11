/* test_inventory_alloc.c - reservation limits (capacity, quota),
 * idempotency keys, substitution and allocation state changes. */
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
const char *tinv_path(void **state);
int64_t tinv_scalar(const char *path, const char *sql, const char *arg);
void tinv_machine(struct inv *inv, const char *name, const char *mac, const char *sku,
		  char id[INV_ID_LEN]);
void tinv_pool(struct inv *inv, const char *prefix, const char *sku, int n);
void tinv_set_state(struct inv *inv, const char *id, enum inv_state st);

static int64_t count(void **state, const char *sql, const char *arg)
{
	return tinv_scalar(tinv_path(state), sql, arg);
}

static int64_t available(void **state, const char *sku)
{
	return count(state, "SELECT count(*) FROM machines WHERE state='available' AND sku=?1",
		     sku);
}

static struct inv_alloc_request req(const char *owner, const char *sku, int n, int min)
{
	return (struct inv_alloc_request){.owner = owner,
					  .sku = sku,
					  .image = "ubuntu",
					  .count = n,
					  .min_count = min,
					  .quota = -1,
					  .actor = owner,
					  .request_id = "req"};
}

static enum inv_status reserve(void **state, struct inv_alloc_request r, struct inv_allocation *a,
			       struct inv_err *err)
{
	memset(err, 0, sizeof *err);
	return inv_allocation_reserve(tinv_inv(state), &r, a, err);
}

static struct inv_machine get(void **state, const char *id)
{
	struct inv_machine m = {0};
	struct inv_err err = {0};
	if (inv_machine_get(tinv_inv(state), id, &m, &err) != INV_OK)
		fail_msg("get %s: %s", id, err.message);
	return m;
}

/* ------------------------------------------------ capacity and quota */

static void test_reserve_moves_machines(void **state)
{
	tinv_pool(tinv_inv(state), "p", "s1", 5);
	tinv_pool(tinv_inv(state), "q", "s2", 2);
	struct inv_allocation a = {0};
	struct inv_err err;
	assert_int_equal(reserve(state, req("alice", "s1", 3, 3), &a, &err), INV_OK);
	assert_false(a.replayed);
	assert_int_equal(a.nmachines, 3);
	assert_int_equal(a.state, INV_AL_DEPLOYING);
	assert_string_equal(a.owner, "alice");
	for (size_t i = 0; i < a.nmachines; i++) {
		struct inv_machine m = get(state, a.machines[i].id);
		assert_int_equal(m.state, INV_ST_DEPLOYING);
		assert_string_equal(m.allocation_id, a.id);
		assert_string_equal(m.owner, "alice");
		assert_string_equal(m.sku, "s1");
		assert_int_equal(count(state,
				       "SELECT count(*) FROM machine_events WHERE machine_id=?1"
				       " AND from_state='available' AND to_state='deploying'",
				       m.id),
				 1);
		inv_machine_clear(&m);
	}
	assert_int_equal(available(state, "s1"), 2);
	assert_int_equal(available(state, "s2"), 2); /* other SKUs untouched */
	inv_allocation_clear(&a);
}

static void test_capacity(void **state)
{
	tinv_pool(tinv_inv(state), "p", "s1", 2);
	struct inv_allocation a = {0};
	struct inv_err err;
	int64_t allocs = count(state, "SELECT count(*) FROM allocations", NULL);
	assert_int_equal(reserve(state, req("alice", "s1", 4, 4), &a, &err), INV_CAPACITY);
	assert_non_null(strstr(err.message, "s1"));
	assert_non_null(strstr(err.message, "2 available"));
	assert_non_null(strstr(err.message, "4 requested"));
	assert_int_equal(available(state, "s1"), 2);
	assert_int_equal(count(state, "SELECT count(*) FROM allocations", NULL), allocs);
	/* unknown SKU */
	assert_int_equal(reserve(state, req("alice", "nope", 1, 1), &a, &err), INV_CAPACITY);
	/* min_count lets a smaller gang through */
	assert_int_equal(reserve(state, req("alice", "s1", 4, 2), &a, &err), INV_OK);
	assert_int_equal(a.nmachines, 2);
	assert_int_equal(available(state, "s1"), 0);
	inv_allocation_clear(&a);
}

static void test_reserve_invalid(void **state)
{
	static const struct {
		int count, min;
		const char *field;
	} cases[] = {
	    {0, 0, "count"},	 {-1, 1, "count"},    {INV_MAX_ALLOC + 1, 1, "count"},
	    {2, 0, "min_count"}, {2, 3, "min_count"}, {2, -1, "min_count"},
	};
	tinv_pool(tinv_inv(state), "p", "s1", 3);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct inv_allocation a = {0};
		struct inv_err err;
		assert_int_equal(
		    reserve(state, req("alice", "s1", cases[i].count, cases[i].min), &a, &err),
		    INV_INVALID);
		assert_string_equal(err.field, cases[i].field);
	}
	assert_int_equal(available(state, "s1"), 3);
}

static void test_quota(void **state)
{
	tinv_pool(tinv_inv(state), "p", "s1", 10);
	struct inv_allocation a = {0};
	struct inv_err err;
	struct inv_alloc_request r = req("alice", "s1", 2, 2);
	r.quota = 3;
	assert_int_equal(reserve(state, r, &a, &err), INV_OK);
	assert_int_equal(a.nmachines, 2);
	inv_allocation_clear(&a);

	/* capped: 4 asked, 1 left under the quota */
	r.count = 4;
	r.min_count = 1;
	assert_int_equal(reserve(state, r, &a, &err), INV_OK);
	assert_int_equal(a.nmachines, 1);
	assert_int_equal(a.count, 4);
	inv_allocation_clear(&a);
	assert_int_equal(available(state, "s1"), 7);

	/* full: refused with a message naming owner, sku and numbers */
	int64_t allocs = count(state, "SELECT count(*) FROM allocations", NULL);
	r.count = 2;
	r.min_count = 2;
	assert_int_equal(reserve(state, r, &a, &err), INV_QUOTA);
	assert_int_equal(err.status, INV_QUOTA);
	static const char *const words[] = {"alice", "s1", "3 machines", "3 in use", "2 requested"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (!strstr(err.message, words[i]))
			fail_msg("quota message '%s' lacks '%s'", err.message, words[i]);
	assert_int_equal(available(state, "s1"), 7);
	assert_int_equal(count(state, "SELECT count(*) FROM allocations", NULL), allocs);

	/* min_count above the room left is refused, not trimmed */
	r.quota = 4;
	r.count = 3;
	r.min_count = 2;
	assert_int_equal(reserve(state, r, &a, &err), INV_QUOTA);
	assert_int_equal(available(state, "s1"), 7);

	/* quotas are per owner: bob is not charged for alice's machines */
	struct inv_alloc_request b = req("bob", "s1", 3, 3);
	b.quota = 3;
	assert_int_equal(reserve(state, b, &a, &err), INV_OK);
	assert_int_equal(a.nmachines, 3);
	inv_allocation_clear(&a);
	assert_int_equal(available(state, "s1"), 4);
}

/* --------------------------------------------------------- idempotency */

static void test_idempotency_key(void **state)
{
	tinv_pool(tinv_inv(state), "p", "s1", 6);
	struct inv_allocation a = {0}, b = {0}, c = {0};
	struct inv_err err;
	struct inv_alloc_request r = req("alice", "s1", 2, 2);
	r.idempotency_key = "key-1";
	assert_int_equal(reserve(state, r, &a, &err), INV_OK);
	assert_false(a.replayed);
	assert_int_equal(a.nmachines, 2);
	int64_t allocs = count(state, "SELECT count(*) FROM allocations", NULL);
	int64_t events = count(state, "SELECT count(*) FROM machine_events", NULL);

	assert_int_equal(reserve(state, r, &b, &err), INV_OK);
	assert_true(b.replayed);
	assert_string_equal(b.id, a.id);
	assert_int_equal(b.nmachines, 2);
	assert_string_equal(b.machines[0].id, a.machines[0].id);
	assert_int_equal(available(state, "s1"), 4);
	assert_int_equal(count(state, "SELECT count(*) FROM allocations", NULL), allocs);
	assert_int_equal(count(state, "SELECT count(*) FROM machine_events", NULL), events);

	/* another owner, same key: its own allocation */
	r.owner = "bob";
	assert_int_equal(reserve(state, r, &c, &err), INV_OK);
	assert_false(c.replayed);
	assert_string_not_equal(c.id, a.id);
	assert_string_equal(c.owner, "bob");
	assert_int_equal(c.nmachines, 2);
	assert_int_equal(available(state, "s1"), 2);
	inv_allocation_clear(&a);
	inv_allocation_clear(&b);
	inv_allocation_clear(&c);
}

/* A failed reservation must not burn its idempotency key. */
static void test_idempotency_key_after_failure(void **state)
{
	struct inv_allocation a = {0};
	struct inv_err err;
	struct inv_alloc_request r = req("alice", "s1", 2, 2);
	r.idempotency_key = "key-2";
	assert_int_equal(reserve(state, r, &a, &err), INV_CAPACITY);
	tinv_pool(tinv_inv(state), "p", "s1", 2);
	assert_int_equal(reserve(state, r, &a, &err), INV_OK);
	assert_false(a.replayed);
	assert_int_equal(a.nmachines, 2);
	inv_allocation_clear(&a);
}

/* -------------------------------------------------------- substitution */

static bool attached(const struct inv_allocation *a, const char *mid, bool *detached)
{
	for (size_t i = 0; i < a->nmachines; i++)
		if (strcmp(a->machines[i].id, mid) == 0) {
			*detached = a->machines[i].detached;
			return true;
		}
	return false;
}

static void test_substitute(void **state)
{
	struct inv *inv = tinv_inv(state);
	tinv_pool(inv, "p", "s1", 3);
	struct inv_allocation a = {0}, got = {0};
	struct inv_err err;
	assert_int_equal(reserve(state, req("alice", "s1", 2, 2), &a, &err), INV_OK);
	char failed[INV_ID_LEN], sub[INV_ID_LEN] = "x";
	snprintf(failed, sizeof failed, "%s", a.machines[0].id);
	tinv_set_state(inv, failed, INV_ST_FAILED);

	assert_int_equal(inv_allocation_substitute(inv, a.id, failed, 3, sub, &err), INV_OK);
	assert_string_not_equal(sub, "");
	assert_string_not_equal(sub, failed);
	assert_string_not_equal(sub, a.machines[1].id);
	struct inv_machine s = get(state, sub);
	assert_int_equal(s.state, INV_ST_DEPLOYING);
	assert_string_equal(s.allocation_id, a.id);
	assert_int_equal(count(state,
			       "SELECT count(*) FROM machine_events WHERE machine_id=?1 AND"
			       " from_state='available' AND to_state='deploying'",
			       sub),
			 1);
	inv_machine_clear(&s);
	struct inv_machine f = get(state, failed);
	assert_string_equal(f.allocation_id, "");
	assert_int_equal(f.state, INV_ST_FAILED);
	inv_machine_clear(&f);

	assert_int_equal(inv_allocation_get(inv, a.id, &got, &err), INV_OK);
	bool det = false;
	assert_true(attached(&got, failed, &det));
	assert_true(det);
	assert_true(attached(&got, sub, &det));
	assert_false(det);
	assert_int_equal(got.substitutions, 1);
	inv_allocation_clear(&got);
	assert_int_equal(available(state, "s1"), 0);

	/* pool empty: the failed machine is still detached, no substitute */
	char failed2[INV_ID_LEN];
	snprintf(failed2, sizeof failed2, "%s", a.machines[1].id);
	tinv_set_state(inv, failed2, INV_ST_FAILED);
	assert_int_equal(inv_allocation_substitute(inv, a.id, failed2, 3, sub, &err), INV_OK);
	assert_string_equal(sub, "");
	f = get(state, failed2);
	assert_string_equal(f.allocation_id, "");
	inv_machine_clear(&f);
	assert_int_equal(inv_allocation_get(inv, a.id, &got, &err), INV_OK);
	assert_true(attached(&got, failed2, &det));
	assert_true(det);
	assert_int_equal(got.substitutions, 1);
	inv_allocation_clear(&got);
	inv_allocation_clear(&a);
}

static void test_substitute_limit(void **state)
{
	struct inv *inv = tinv_inv(state);
	tinv_pool(inv, "p", "s1", 4);
	struct inv_allocation a = {0};
	struct inv_err err;
	assert_int_equal(reserve(state, req("alice", "s1", 1, 1), &a, &err), INV_OK);
	char cur[INV_ID_LEN], sub[INV_ID_LEN];
	snprintf(cur, sizeof cur, "%s", a.machines[0].id);
	for (int i = 0; i < 2; i++) { /* max_subs 2: two substitutes, then none */
		tinv_set_state(inv, cur, INV_ST_FAILED);
		assert_int_equal(inv_allocation_substitute(inv, a.id, cur, 2, sub, &err), INV_OK);
		assert_string_not_equal(sub, "");
		snprintf(cur, sizeof cur, "%s", sub);
	}
	tinv_set_state(inv, cur, INV_ST_FAILED);
	assert_int_equal(inv_allocation_substitute(inv, a.id, cur, 2, sub, &err), INV_OK);
	assert_string_equal(sub, "");
	assert_int_equal(available(state, "s1"), 1);
	inv_allocation_clear(&a);
}

/* A machine that is not in the allocation must not be detached from the
 * allocation it does belong to, nor earn a substitute. */
static void test_substitute_foreign_machine(void **state)
{
	struct inv *inv = tinv_inv(state);
	tinv_pool(inv, "p", "s1", 3);
	struct inv_allocation a = {0}, b = {0}, got = {0};
	struct inv_err err;
	assert_int_equal(reserve(state, req("alice", "s1", 1, 1), &a, &err), INV_OK);
	assert_int_equal(reserve(state, req("bob", "s1", 1, 1), &b, &err), INV_OK);
	const char *bobs = b.machines[0].id;
	static const struct {
		const char *what;
		bool real_alloc;
	} cases[] = {{"machine of another allocation", true}, {"unknown allocation", false}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char sub[INV_ID_LEN] = "";
		enum inv_status s = inv_allocation_substitute(
		    inv, cases[i].real_alloc ? a.id : "no-such-allocation", bobs, 5, sub, &err);
		if (s == INV_OK) {
			inv_allocation_clear(&a);
			inv_allocation_clear(&b);
			fail_msg("%s: substitute returned ok (substitute '%s')", cases[i].what,
				 sub);
		}
		assert_string_equal(sub, "");
		struct inv_machine m = get(state, bobs);
		assert_string_equal(m.allocation_id, b.id);
		inv_machine_clear(&m);
		assert_int_equal(inv_allocation_get(inv, b.id, &got, &err), INV_OK);
		assert_int_equal(got.nmachines, 1);
		assert_false(got.machines[0].detached);
		inv_allocation_clear(&got);
		assert_int_equal(available(state, "s1"), 1);
	}
	inv_allocation_clear(&a);
	inv_allocation_clear(&b);
}

/* ------------------------------------------------- allocation state */

static void test_release(void **state)
{
	struct inv *inv = tinv_inv(state);
	tinv_pool(inv, "p", "s1", 4);
	struct inv_allocation a = {0}, got = {0};
	struct inv_err err;
	assert_int_equal(reserve(state, req("alice", "s1", 3, 3), &a, &err), INV_OK);
	tinv_set_state(inv, a.machines[1].id, INV_ST_ACTIVE);
	tinv_set_state(inv, a.machines[2].id, INV_ST_FAILED);
	const unsigned live = 1u << INV_AL_DEPLOYING | 1u << INV_AL_READY;
	assert_int_equal(inv_allocation_set_state(inv, a.id, 1u << INV_AL_DEPLOYING, INV_AL_READY,
						  NULL, "lc", "r", &err),
			 INV_OK);
	int64_t v_before[3];
	for (int i = 0; i < 3; i++) {
		struct inv_machine m = get(state, a.machines[i].id);
		v_before[i] = m.version;
		inv_machine_clear(&m);
	}

	assert_int_equal(
	    inv_allocation_set_state(inv, a.id, live, INV_AL_RELEASING, NULL, "bob", "r2", &err),
	    INV_OK);
	assert_int_equal(inv_allocation_get(inv, a.id, &got, &err), INV_OK);
	assert_int_equal(got.state, INV_AL_RELEASING);
	inv_allocation_clear(&got);
	static const struct {
		int idx;
		enum inv_state want;
		const char *from; /* event expected from this state, NULL: none */
	} cases[] = {
	    {0, INV_ST_RELEASING, "deploying"},
	    {1, INV_ST_RELEASING, "active"},
	    {2, INV_ST_FAILED, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *mid = a.machines[cases[i].idx].id;
		struct inv_machine m = get(state, mid);
		assert_int_equal(m.state, cases[i].want);
		if (cases[i].from) {
			assert_int_equal(m.version, v_before[cases[i].idx] + 1);
			assert_true(m.wake_at > 0);
		}
		inv_machine_clear(&m);
		int64_t ev = count(state,
				   "SELECT count(*) FROM machine_events WHERE machine_id=?1 AND"
				   " to_state='releasing'",
				   mid);
		assert_int_equal(ev, cases[i].from ? 1 : 0);
		if (!cases[i].from)
			continue;
		struct inv_event_list el = {0};
		assert_int_equal(inv_machine_events(inv, mid, 0, 100, &el, &err), INV_OK);
		assert_true(el.n >= 1);
		const struct inv_event *e = &el.items[el.n - 1];
		assert_string_equal(e->from_state, cases[i].from);
		assert_string_equal(e->to_state, "releasing");
		assert_string_equal(e->actor, "bob");
		assert_string_equal(e->request_id, "r2");
		inv_event_list_clear(&el);
	}

	/* from_mask mismatch: refused, nothing moves */
	int64_t events = count(state, "SELECT count(*) FROM machine_events", NULL);
	assert_int_equal(
	    inv_allocation_set_state(inv, a.id, live, INV_AL_RELEASED, NULL, "bob", "r3", &err),
	    INV_CONFLICT);
	assert_int_equal(err.status, INV_CONFLICT);
	assert_int_equal(inv_allocation_get(inv, a.id, &got, &err), INV_OK);
	assert_int_equal(got.state, INV_AL_RELEASING);
	inv_allocation_clear(&got);
	assert_int_equal(count(state, "SELECT count(*) FROM machine_events", NULL), events);

	assert_int_equal(inv_allocation_set_state(inv, a.id, 1u << INV_AL_RELEASING,
						  INV_AL_RELEASED, NULL, "lc", "r4", &err),
			 INV_OK);
	assert_int_equal(inv_allocation_set_state(inv, "no-such", live, INV_AL_RELEASING, NULL,
						  "bob", "r5", &err),
			 INV_NOT_FOUND);
	inv_allocation_clear(&a);
}

static void test_ready_sets_ready_at(void **state)
{
	struct inv *inv = tinv_inv(state);
	tinv_pool(inv, "p", "s1", 1);
	struct inv_allocation a = {0};
	struct inv_err err;
	assert_int_equal(reserve(state, req("alice", "s1", 1, 1), &a, &err), INV_OK);
	assert_int_equal(a.ready_at, 0);
	int64_t v = a.version;
	char id[INV_ID_LEN];
	snprintf(id, sizeof id, "%s", a.id);
	inv_allocation_clear(&a);
	/* empty from_mask matches nothing */
	assert_int_equal(inv_allocation_set_state(inv, id, 0, INV_AL_READY, NULL, "lc", "r", &err),
			 INV_CONFLICT);
	assert_int_equal(inv_allocation_set_state(inv, id, 1u << INV_AL_DEPLOYING, INV_AL_READY,
						  NULL, "lc", "r", &err),
			 INV_OK);
	assert_int_equal(inv_allocation_get(inv, id, &a, &err), INV_OK);
	assert_int_equal(a.state, INV_AL_READY);
	assert_true(a.ready_at > 0);
	assert_int_equal(a.version, v + 1);
	assert_int_equal(a.machines[0].state, INV_ST_DEPLOYING); /* machines untouched */
	inv_allocation_clear(&a);
	struct inv_alloc_list l = {0};
	struct inv_alloc_filter f = {.owner = "alice", .state = INV_AL_READY};
	assert_int_equal(inv_allocation_list(inv, &f, &l, &err), INV_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, id);
	inv_alloc_list_clear(&l);
}

/* Allocations by name: names may repeat, so the newest of that name wins,
 * among one owner's when an owner is given. */
static void test_get_by_name(void **state)
{
	struct inv *inv = tinv_inv(state);
	struct inv_allocation a1 = {0}, a2 = {0}, x = {0};
	struct inv_err err;

	tinv_pool(inv, "p", "s1", 3);
	struct inv_alloc_request r = req("alice", "s1", 1, 1);
	r.name = "web";
	assert_int_equal(reserve(state, r, &a1, &err), INV_OK);
	r = req("bob", "s1", 1, 1);
	r.name = "web";
	assert_int_equal(reserve(state, r, &a2, &err), INV_OK);
	assert_int_equal(inv_allocation_get_by_name(inv, "web", "alice", &x, &err), INV_OK);
	assert_string_equal(x.id, a1.id);
	assert_int_equal(x.nmachines, 1);
	inv_allocation_clear(&x);
	assert_int_equal(inv_allocation_get_by_name(inv, "web", NULL, &x, &err), INV_OK);
	assert_string_equal(x.id, a2.id);
	inv_allocation_clear(&x);
	assert_int_equal(inv_allocation_get_by_name(inv, "web", "carol", &x, &err), INV_NOT_FOUND);
	assert_int_equal(inv_allocation_get_by_name(inv, "nope", NULL, &x, &err), INV_NOT_FOUND);
	inv_allocation_clear(&a1);
	inv_allocation_clear(&a2);
	inv_allocation_clear(&x);
}

/* ------------------------------------------------ warm pools */

static void set_phase(void **state, const char *id, const char *phase, const char *power)
{
	struct inv_machine m = get(state, id);
	struct inv_machine_change c = {.expect_version = m.version,
				       .set_phase = true,
				       .phase = phase,
				       .set_power = true,
				       .power = power,
				       .actor = "test"};
	struct inv_err err = {0};
	if (inv_machine_change(tinv_inv(state), id, &c, NULL, &err) != INV_OK)
		fail_msg("phase %s: %s", id, err.message);
	inv_machine_clear(&m);
}

/* A pool "p" of n machines of SKU s1, listed oldest first into l. */
static void pool_of(void **state, int n, struct inv_machine_list *l)
{
	struct inv_machine_filter f = {.state = -1, .sku = "s1", .limit = 10};
	struct inv_err err = {0};
	tinv_pool(tinv_inv(state), "p", "s1", n);
	assert_int_equal(inv_machine_list(tinv_inv(state), &f, l, &err), INV_OK);
	assert_int_equal(l->n, (size_t)n);
}

/* Warm machines first (warm, then warming), then the oldest; without
 * prefer_warm the oldest, as before. inv_pool_warm sees the same; a warm
 * machine a tech powered off counts as neither warm nor cold. */
static void test_warm_pick_order(void **state)
{
	struct inv_machine_list l = {0};
	struct inv_err err = {0};
	bool det = false;
	pool_of(state, 5, &l);
	set_phase(state, l.items[4].id, INV_PHASE_WARMING, "off");
	set_phase(state, l.items[3].id, INV_PHASE_WARM, "on");
	set_phase(state, l.items[2].id, INV_PHASE_WARM, "off"); /* a tech powered it off */
	struct inv_warm_pool *p = calloc(1, sizeof *p);
	assert_non_null(p);
	p->size = 4; /* 2 warm: 2 cold wanted */
	assert_int_equal(inv_pool_warm(tinv_inv(state), "s1", p, &err), INV_OK);
	assert_int_equal(p->nwarm, 2);
	assert_string_equal(p->warm[0], l.items[3].id);
	assert_false(p->warming[0]);
	assert_true(p->warming[1]);
	assert_int_equal(p->ncold, 2);
	assert_string_equal(p->cold[0], l.items[0].id);
	assert_string_equal(p->cold[1], l.items[1].id); /* not the one powered off */
	free(p);
	struct inv_allocation a = {0};
	struct inv_alloc_request r = req("alice", "s1", 2, 2);
	r.prefer_warm = true;
	assert_int_equal(reserve(state, r, &a, &err), INV_OK);
	assert_true(attached(&a, l.items[3].id, &det));
	assert_true(attached(&a, l.items[4].id, &det));
	struct inv_machine m = get(state, l.items[3].id);
	assert_string_equal(m.phase, ""); /* a deploy starts at its first phase */
	inv_machine_clear(&m);
	inv_allocation_clear(&a);
	assert_int_equal(reserve(state, req("alice", "s1", 1, 1), &a, &err), INV_OK);
	assert_true(attached(&a, l.items[0].id, &det));
	inv_allocation_clear(&a);
	inv_machine_list_clear(&l);
}

/* A machine rotating out of a warm pool is on in the agent: inv_pool_warm
 * lists it apart (not in the pool's count), and a warm pick takes it with
 * the warm ones, before warming and cold ones. */
static void test_rotating_pick(void **state)
{
	struct inv_machine_list l = {0};
	struct inv_err err = {0};
	bool det = false;
	pool_of(state, 4, &l);
	set_phase(state, l.items[1].id, INV_PHASE_ROTATING, "on");
	set_phase(state, l.items[2].id, INV_PHASE_WARM, "on");
	set_phase(state, l.items[3].id, INV_PHASE_WARMING, "off");
	struct inv_warm_pool *p = calloc(1, sizeof *p);
	assert_non_null(p);
	p->size = 3; /* 2 in the pool: 1 cold wanted */
	assert_int_equal(inv_pool_warm(tinv_inv(state), "s1", p, &err), INV_OK);
	assert_int_equal(p->nwarm, 2);
	assert_string_equal(p->warm[0], l.items[2].id);
	assert_string_equal(p->warm[1], l.items[3].id);
	assert_int_equal(p->nrotating, 1);
	assert_string_equal(p->rotating[0], l.items[1].id);
	assert_int_equal(p->ncold, 1);
	assert_string_equal(p->cold[0], l.items[0].id);
	free(p);
	struct inv_allocation a = {0};
	struct inv_alloc_request r = req("alice", "s1", 2, 2);
	r.prefer_warm = true;
	assert_int_equal(reserve(state, r, &a, &err), INV_OK);
	assert_true(attached(&a, l.items[1].id, &det));
	assert_true(attached(&a, l.items[2].id, &det));
	inv_allocation_clear(&a);
	inv_machine_list_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reserve_moves_machines, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_capacity, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_warm_pick_order, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_rotating_pick, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_reserve_invalid, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_quota, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_idempotency_key, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_idempotency_key_after_failure, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_substitute, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_substitute_limit, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_substitute_foreign_machine, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_release, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_ready_sets_ready_at, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_get_by_name, tinv_setup, tinv_teardown),
	};
	return cmocka_run_group_tests_name("inventory_alloc", tests, NULL, NULL);
}
