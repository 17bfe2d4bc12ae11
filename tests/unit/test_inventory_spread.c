/* test_inventory_spread.c - failure-domain spread of allocations: strict
 * and best-effort picks across racks and sites, the shortage of domains,
 * machines without a rack, substitution keeping the spread, the spread
 * surviving a reopen, and gangs racing for the same racks (on PostgreSQL
 * over three inventories on one database, as three replicas' writers). */
#include "inventory/inventory.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
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
void tinv_set_state(struct inv *inv, const char *id, enum inv_state st);
void tinv_reopen(void **state);
void tinv_exec(const char *path, const char *sql);
const char *tinv_pg(void);
const struct inv_key *tinv_key(void);

/* An available machine of sku s1 named name at site/rack ("" for none). */
static void machine_at(void **state, const char *name, const char *site, const char *rack,
		       char id[INV_ID_LEN])
{
	struct inv *inv = tinv_inv(state);
	char mid[INV_ID_LEN];
	tinv_machine(inv, name, NULL, "s1", mid);
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(inv, mid, &m, &err), INV_OK);
	struct inv_machine_change c = {.expect_version = m.version,
				       .set_location = true,
				       .location = {.unit = -1},
				       .actor = "test"};
	snprintf(c.location.site, sizeof c.location.site, "%s", site);
	snprintf(c.location.rack, sizeof c.location.rack, "%s", rack);
	inv_machine_clear(&m);
	assert_int_equal(inv_machine_change(inv, mid, &c, NULL, &err), INV_OK);
	if (id)
		snprintf(id, INV_ID_LEN, "%s", mid);
}

static enum inv_status reserve(void **state, int count, int min, enum inv_spread_across across,
			       enum inv_spread_mode mode, struct inv_allocation *a,
			       struct inv_err *err)
{
	struct inv_alloc_request r = {.owner = "alice",
				      .sku = "s1",
				      .image = "ubuntu",
				      .count = count,
				      .min_count = min,
				      .quota = -1,
				      .actor = "alice",
				      .request_id = "req",
				      .spread = {.across = across, .mode = mode}};
	memset(err, 0, sizeof *err);
	inv_allocation_clear(a);
	return inv_allocation_reserve(tinv_inv(state), &r, a, err);
}

/* A machine to place: machine_at's name, site and rack. */
struct spot {
	const char *name, *site, *rack;
};

/* Places n machines in order (the first is the oldest); their ids into ids
 * when not NULL. */
static void place(void **state, const struct spot *s, size_t n, char (*ids)[INV_ID_LEN])
{
	for (size_t i = 0; i < n; i++)
		machine_at(state, s[i].name, s[i].site, s[i].rack, ids ? ids[i] : NULL);
}

/* A spread of count machines that must succeed; its id into id. */
static void reserve_ok(void **state, int count, enum inv_spread_across across,
		       enum inv_spread_mode mode, char id[INV_ID_LEN])
{
	struct inv_allocation a = {0};
	struct inv_err err;
	if (reserve(state, count, count, across, mode, &a, &err) != INV_OK)
		fail_msg("reserve %d: %s", count, err.message);
	snprintf(id, INV_ID_LEN, "%s", a.id);
	inv_allocation_clear(&a);
}

/* Machine failed of allocation alloc fails; its substitute must be want
 * ("": none). */
static void substitute_expect(void **state, const char *alloc, const char *failed, const char *want)
{
	char sub[INV_ID_LEN];
	struct inv_err err = {0};
	tinv_set_state(tinv_inv(state), failed, INV_ST_FAILED);
	if (inv_allocation_substitute(tinv_inv(state), alloc, failed, 5, sub, &err) != INV_OK)
		fail_msg("substitute: %s", err.message);
	assert_string_equal(sub, want);
}

/* "site/rack" of machine id into out. */
static void where(void **state, const char *id, char *out, size_t len)
{
	struct inv_machine m = {0};
	struct inv_err err = {0};
	assert_int_equal(inv_machine_get(tinv_inv(state), id, &m, &err), INV_OK);
	snprintf(out, len, "%s/%s", m.location.site, m.location.rack);
	inv_machine_clear(&m);
}

/* Whether the attached machines of a sit in distinct racks. */
static bool distinct_racks(void **state, const struct inv_allocation *a)
{
	char seen[INV_MAX_ALLOC][140];
	int n = 0;
	for (size_t i = 0; i < a->nmachines; i++) {
		if (a->machines[i].detached)
			continue;
		where(state, a->machines[i].id, seen[n], sizeof seen[n]);
		for (int k = 0; k < n; k++)
			if (strcmp(seen[k], seen[n]) == 0)
				return false;
		n++;
	}
	return true;
}

static int64_t available(void **state)
{
	return tinv_scalar(tinv_path(state),
			   "SELECT count(*) FROM machines WHERE state = 'available'", NULL);
}

/* dc1: r1 three machines, r2 two, r3 one. */
static void three_racks(void **state)
{
	static const struct spot spots[] = {{"m0", "dc1", "r1"}, {"m1", "dc1", "r1"},
					    {"m2", "dc1", "r1"}, {"m3", "dc1", "r2"},
					    {"m4", "dc1", "r2"}, {"m5", "dc1", "r3"}};
	place(state, spots, sizeof spots / sizeof spots[0], NULL);
}

static void test_strict_rack(void **state)
{
	three_racks(state);
	struct inv_allocation a = {0};
	struct inv_err err;
	assert_int_equal(reserve(state, 3, 3, INV_SPREAD_RACK, INV_SPREAD_STRICT, &a, &err),
			 INV_OK);
	assert_int_equal(a.nmachines, 3);
	assert_true(distinct_racks(state, &a));
	assert_int_equal(a.spread.across, INV_SPREAD_RACK);
	assert_int_equal(a.spread.mode, INV_SPREAD_STRICT);
	assert_int_equal(a.spread.domains, 3);
	/* the audit row says what was asked */
	assert_int_equal(tinv_scalar(tinv_path(state),
				     "SELECT count(*) FROM audit WHERE action = 'allocation.create'"
				     " AND after LIKE '%\"spread\":{\"across\":\"rack\",\"mode\":"
				     "\"strict\"}%'",
				     NULL),
			 1);
	/* the other three are all in r1 and r2: two domains, not three */
	assert_int_equal(reserve(state, 3, 3, INV_SPREAD_RACK, INV_SPREAD_STRICT, &a, &err),
			 INV_CAPACITY);
	assert_string_equal(err.field, "spread");
	assert_string_equal(err.message, "spread across rack needs 3 racks with an available s1 "
					 "machine; 2 have one");
	assert_int_equal(available(state), 3);
	/* min_count 2 takes one of each */
	assert_int_equal(reserve(state, 3, 2, INV_SPREAD_RACK, INV_SPREAD_STRICT, &a, &err),
			 INV_OK);
	assert_int_equal(a.nmachines, 2);
	assert_true(distinct_racks(state, &a));
	assert_int_equal(a.spread.domains, 2);
	inv_allocation_clear(&a);
}

static void test_strict_pool_short(void **state)
{
	three_racks(state);
	struct inv_allocation a = {0};
	struct inv_err err;
	/* fewer machines than asked: the plain capacity message */
	assert_int_equal(reserve(state, 7, 7, INV_SPREAD_RACK, INV_SPREAD_STRICT, &a, &err),
			 INV_CAPACITY);
	assert_string_equal(err.field, "count");
	assert_string_equal(err.message, "sku s1: 6 available, 7 requested");
	assert_int_equal(reserve(state, 4, 4, INV_SPREAD_RACK, INV_SPREAD_STRICT, &a, &err),
			 INV_CAPACITY);
	assert_string_equal(err.message, "spread across rack needs 4 racks with an available s1 "
					 "machine; 3 have one");
	assert_int_equal(available(state), 6);
	assert_int_equal(tinv_scalar(tinv_path(state), "SELECT count(*) FROM allocations", NULL),
			 0);
	inv_allocation_clear(&a);
}

static void test_best_effort(void **state)
{
	three_racks(state);
	struct inv_allocation a = {0};
	struct inv_err err;
	assert_int_equal(reserve(state, 4, 4, INV_SPREAD_RACK, INV_SPREAD_BEST_EFFORT, &a, &err),
			 INV_OK);
	assert_int_equal(a.nmachines, 4);
	assert_int_equal(a.spread.mode, INV_SPREAD_BEST_EFFORT);
	assert_int_equal(a.spread.domains, 3);
	/* one per rack first, then the oldest rack's second: r1 left with one */
	assert_int_equal(tinv_scalar(tinv_path(state),
				     "SELECT count(*) FROM machines WHERE state = 'available'"
				     " AND rack = 'r1'",
				     NULL),
			 1);
	assert_int_equal(reserve(state, 2, 2, INV_SPREAD_RACK, INV_SPREAD_BEST_EFFORT, &a, &err),
			 INV_OK);
	assert_int_equal(a.spread.domains, 2);
	/* best effort still needs the machines */
	assert_int_equal(reserve(state, 1, 1, INV_SPREAD_RACK, INV_SPREAD_BEST_EFFORT, &a, &err),
			 INV_CAPACITY);
	assert_string_equal(err.field, "count");
	inv_allocation_clear(&a);
}

static void test_sites_and_unlocated(void **state)
{
	/* r1 at two sites is two racks; a machine without a rack is in no rack
	 * but in its site; one without a site is in neither */
	static const struct spot spots[] = {
	    {"a", "dc1", "r1"}, {"b", "dc2", "r1"}, {"c", "dc2", ""}, {"d", "", ""}};
	place(state, spots, 4, NULL);
	struct inv_allocation a = {0};
	struct inv_err err;
	assert_int_equal(reserve(state, 3, 3, INV_SPREAD_RACK, INV_SPREAD_STRICT, &a, &err),
			 INV_CAPACITY);
	assert_non_null(strstr(err.message, "needs 3 racks"));
	assert_non_null(strstr(err.message, "2 have one"));
	assert_int_equal(reserve(state, 3, 3, INV_SPREAD_SITE, INV_SPREAD_STRICT, &a, &err),
			 INV_CAPACITY);
	assert_string_equal(err.message, "spread across site needs 3 sites with an available s1 "
					 "machine; 2 have one");
	assert_int_equal(reserve(state, 2, 2, INV_SPREAD_SITE, INV_SPREAD_STRICT, &a, &err),
			 INV_OK);
	assert_int_equal(a.spread.across, INV_SPREAD_SITE);
	assert_int_equal(a.spread.domains, 2);
	/* the strict pick took dc1/r1 and the first machine of dc2 (by rack):
	 * dc2 without a rack; best effort takes the machine in a site before
	 * the one without */
	assert_int_equal(reserve(state, 1, 1, INV_SPREAD_SITE, INV_SPREAD_BEST_EFFORT, &a, &err),
			 INV_OK);
	char w[140];
	where(state, a.machines[0].id, w, sizeof w);
	assert_string_equal(w, "dc2/r1");
	assert_int_equal(a.spread.domains, 1);
	assert_int_equal(reserve(state, 1, 1, INV_SPREAD_RACK, INV_SPREAD_BEST_EFFORT, &a, &err),
			 INV_OK);
	assert_int_equal(a.spread.domains, 0);
	inv_allocation_clear(&a);
}

/* Racks are taken from the one of the oldest available machine on and
 * around, not from the first by name. */
static void test_start_moves(void **state)
{
	char b[INV_ID_LEN], c[INV_ID_LEN], d[INV_ID_LEN];
	machine_at(state, "a", "dc1", "r1", NULL);
	machine_at(state, "b", "dc1", "r2", b);
	machine_at(state, "c", "dc1", "r3", c);
	machine_at(state, "d", "dc1", "r1", d);
	struct inv_allocation al = {0};
	struct inv_err err;
	/* a plain reservation takes a, the oldest: b (r2) is the oldest now */
	assert_int_equal(reserve(state, 1, 1, INV_SPREAD_NONE, INV_SPREAD_STRICT, &al, &err),
			 INV_OK);
	assert_int_equal(reserve(state, 2, 2, INV_SPREAD_RACK, INV_SPREAD_STRICT, &al, &err),
			 INV_OK);
	assert_int_equal(al.nmachines, 2);
	for (size_t i = 0; i < 2; i++)
		assert_true(strcmp(al.machines[i].id, b) == 0 || strcmp(al.machines[i].id, c) == 0);
	/* around: the oldest is in r3, the last rack, so r1 comes next */
	assert_int_equal(reserve(state, 1, 1, INV_SPREAD_NONE, INV_SPREAD_STRICT, &al, &err),
			 INV_OK);
	assert_string_equal(al.machines[0].id, d);
	char h[INV_ID_LEN], i1[INV_ID_LEN];
	machine_at(state, "h", "dc1", "r3", h);
	machine_at(state, "i", "dc1", "r1", i1);
	machine_at(state, "j", "dc1", "r2", NULL);
	assert_int_equal(reserve(state, 2, 2, INV_SPREAD_RACK, INV_SPREAD_STRICT, &al, &err),
			 INV_OK);
	for (size_t i = 0; i < 2; i++)
		assert_true(strcmp(al.machines[i].id, h) == 0 ||
			    strcmp(al.machines[i].id, i1) == 0);
	inv_allocation_clear(&al);
}

static const char *attached_other_than(const struct inv_allocation *a, const char *id)
{
	for (size_t i = 0; i < a->nmachines; i++)
		if (!a->machines[i].detached && strcmp(a->machines[i].id, id) != 0)
			return a->machines[i].id;
	return "";
}

/* The allocation spans `domains` failure domains; with `attached`, that
 * is its only attached machine. */
static void expect_domains(void **state, const char *id, int domains, const char *attached)
{
	struct inv_allocation a = {0};
	struct inv_err err;
	assert_int_equal(inv_allocation_get(tinv_inv(state), id, &a, &err), INV_OK);
	if (attached)
		assert_string_equal(attached_other_than(&a, ""), attached);
	assert_int_equal(a.spread.domains, domains);
	inv_allocation_clear(&a);
}

static void test_substitute_strict(void **state)
{
	enum { R1A, R2A, R2B, R1B };
	static const struct spot spots[] = {
	    {"r1a", "dc1", "r1"}, {"r2a", "dc1", "r2"}, {"r2b", "dc1", "r2"}, {"r1b", "dc1", "r1"}};
	char m[4][INV_ID_LEN], id[INV_ID_LEN];
	place(state, spots, 4, m);
	reserve_ok(state, 2, INV_SPREAD_RACK, INV_SPREAD_STRICT, id);
	/* r2a fails: r2b (its own rack), never r1b (taken by r1a) */
	substitute_expect(state, id, m[R2A], m[R2B]);
	/* r1a fails: r1b; then r2b fails: nothing left outside r1 */
	substitute_expect(state, id, m[R1A], m[R1B]);
	machine_at(state, "r1c", "dc1", "r1", NULL);
	substitute_expect(state, id, m[R2B], "");
	assert_int_equal(available(state), 1);
	expect_domains(state, id, 1, m[R1B]);
}

static void test_substitute_best_effort(void **state)
{
	enum { R1A, R2A, R2B, R3A };
	static const struct spot spots[] = {
	    {"r1a", "dc1", "r1"}, {"r2a", "dc1", "r2"}, {"r2b", "dc1", "r2"}, {"r3a", "dc1", "r3"}};
	char m[4][INV_ID_LEN], id[INV_ID_LEN];
	place(state, spots, 4, m);
	reserve_ok(state, 2, INV_SPREAD_RACK, INV_SPREAD_BEST_EFFORT, id);
	/* r1a fails: r3 is free, r2 is taken */
	substitute_expect(state, id, m[R1A], m[R3A]);
	/* r3a fails: only r2b is left, in a taken rack, which best effort takes */
	substitute_expect(state, id, m[R3A], m[R2B]);
	expect_domains(state, id, 1, NULL);
}

static void test_spread_survives_reopen(void **state)
{
	static const struct spot spots[] = {
	    {"r1a", "dc1", "r1"}, {"r2a", "dc1", "r2"}, {"r2b", "dc1", "r2"}};
	char m[3][INV_ID_LEN], id[INV_ID_LEN];
	place(state, spots, 3, m);
	reserve_ok(state, 2, INV_SPREAD_RACK, INV_SPREAD_STRICT, id);
	/* a plain allocation has none */
	struct inv_alloc_request plain = {.owner = "bob",
					  .sku = "s1",
					  .image = "ubuntu",
					  .count = 1,
					  .min_count = 1,
					  .quota = -1,
					  .actor = "bob"};
	struct inv_allocation a = {0};
	struct inv_err err;
	assert_int_equal(inv_allocation_reserve(tinv_inv(state), &plain, &a, &err), INV_OK);
	assert_int_equal(a.spread.across, INV_SPREAD_NONE);
	assert_int_equal(a.spread.domains, 0);
	machine_at(state, "r2c", "dc1", "r2", NULL);
	tinv_reopen(state);
	inv_allocation_clear(&a);
	assert_int_equal(inv_allocation_get(tinv_inv(state), id, &a, &err), INV_OK);
	assert_int_equal(a.spread.across, INV_SPREAD_RACK);
	assert_int_equal(a.spread.mode, INV_SPREAD_STRICT);
	assert_int_equal(a.spread.domains, 2);
	inv_allocation_clear(&a);
	/* r1a fails: only r2c is available, in r2 which the other holds */
	substitute_expect(state, id, m[0], "");
}

/* Domains go in bytes' order on both backends, whatever the column's
 * collation: on PostgreSQL the rack column here sorts by ICU's root
 * collation ("r1" before "R2"), which the picks must not follow, since
 * alloc_spread.c stops going around by strcmp ("R2" before "r1"). */
static void test_domains_in_bytes_order(void **state)
{
	if (tinv_pg() &&
	    tinv_scalar(tinv_path(state),
			"SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'",
			NULL) == 1)
		tinv_exec(tinv_path(state),
			  "ALTER TABLE machines ALTER COLUMN rack TYPE TEXT COLLATE \"und-x-icu\"");
	/* a, the oldest: the walk starts in R2 */
	static const struct spot spots[] = {
	    {"a", "dc1", "R2"}, {"b", "dc1", "r1"}, {"c", "dc1", "r3"}};
	place(state, spots, 3, NULL);
	struct inv_allocation a = {0};
	struct inv_err err;
	assert_int_equal(reserve(state, 3, 3, INV_SPREAD_RACK, INV_SPREAD_STRICT, &a, &err),
			 INV_OK);
	assert_int_equal(a.nmachines, 3);
	assert_true(distinct_racks(state, &a));
	inv_allocation_clear(&a);
}

/* ------------------------------------------------------------- races */

#define RACE_THREADS 12
#define RACE_RACKS 16
#define RACE_PER_RACK 4
#define RACE_TRIES 64
#define RACE_REPLICAS 3

struct race_arg {
	struct inv *inv;
	pthread_barrier_t *bar;
	unsigned seed;
	int ntries, nbad;		      /* nbad: neither INV_OK nor INV_CAPACITY */
	char bad[400];			      /* the first of those */
	char ids[RACE_TRIES * 4][INV_ID_LEN]; /* every machine it was given */
	int nids;
	char allocs[RACE_TRIES][INV_ID_LEN];
	int nallocs;
};

/* Strict rack spreads of 2 to 4 machines until even one machine is
 * refused: every reservation either gets machines in distinct racks or
 * INV_CAPACITY, never a conflict with another writer's. */
static void *race_thread(void *p)
{
	struct race_arg *g = p;
	pthread_barrier_wait(g->bar);
	int count = 2 + (int)(rand_r(&g->seed) % 3);
	while (g->ntries++ < RACE_TRIES) {
		struct inv_alloc_request r = {
		    .owner = "racer",
		    .sku = "s1",
		    .image = "ubuntu",
		    .count = count,
		    .min_count = count,
		    .quota = -1,
		    .actor = "racer",
		    .spread = {.across = INV_SPREAD_RACK, .mode = INV_SPREAD_STRICT}};
		struct inv_allocation a = {0};
		struct inv_err err = {0};
		enum inv_status st = inv_allocation_reserve(g->inv, &r, &a, &err);
		if (st == INV_OK) {
			for (size_t i = 0; i < a.nmachines; i++)
				snprintf(g->ids[g->nids++], INV_ID_LEN, "%s", a.machines[i].id);
			snprintf(g->allocs[g->nallocs++], INV_ID_LEN, "%s", a.id);
		} else if (st != INV_CAPACITY && g->nbad++ == 0) {
			snprintf(g->bad, sizeof g->bad, "%s: %s", inv_status_name(st), err.message);
		}
		inv_allocation_clear(&a);
		if (st != INV_OK && count == 1)
			break;
		if (st != INV_OK)
			count = 1;
	}
	return NULL;
}

static void race_run(void **state, struct race_arg *g)
{
	struct inv *invs[RACE_REPLICAS] = {tinv_inv(state), tinv_inv(state), tinv_inv(state)};
	for (int i = 1; tinv_pg() && i < RACE_REPLICAS; i++) {
		struct inv_err err = {0};
		if (inv_open(tinv_path(state), tinv_key(), &invs[i], &err) != INV_OK)
			fail_msg("replica %d: %s", i, err.message);
	}
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, RACE_THREADS);
	pthread_t t[RACE_THREADS];
	for (int i = 0; i < RACE_THREADS; i++) {
		g[i] = (struct race_arg){
		    .inv = invs[i % RACE_REPLICAS], .bar = &bar, .seed = 7919u * (unsigned)i + 1};
		assert_int_equal(pthread_create(&t[i], NULL, race_thread, &g[i]), 0);
	}
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 1; tinv_pg() && i < RACE_REPLICAS; i++)
		inv_close(invs[i]);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_spread_race(void **state)
{
	for (int r = 0; r < RACE_RACKS; r++)
		for (int k = 0; k < RACE_PER_RACK; k++) {
			char name[32], rack[16];
			snprintf(name, sizeof name, "m%02d%d", r, k);
			snprintf(rack, sizeof rack, "r%02d", r);
			machine_at(state, name, "dc1", rack, NULL);
		}
	struct race_arg *g = calloc(RACE_THREADS, sizeof *g);
	assert_non_null(g);
	race_run(state, g);
	char(*all)[INV_ID_LEN] = calloc(RACE_RACKS * RACE_PER_RACK, INV_ID_LEN);
	assert_non_null(all);
	int total = 0, allocs = 0;
	for (int i = 0; i < RACE_THREADS; i++) {
		if (g[i].nbad)
			fail_msg("thread %d: %d refused so: %s", i, g[i].nbad, g[i].bad);
		for (int k = 0; k < g[i].nids; k++) {
			assert_true(total < RACE_RACKS * RACE_PER_RACK);
			memcpy(all[total++], g[i].ids[k], INV_ID_LEN);
		}
		allocs += g[i].nallocs;
	}
	qsort(all, (size_t)total, INV_ID_LEN, cmp_id);
	for (int i = 1; i < total; i++)
		if (strcmp(all[i - 1], all[i]) == 0)
			fail_msg("machine %s reserved twice", all[i]);
	/* every machine reserved once or still available; with one writer
	 * (SQLite) the last refusals of one machine leave none (on PostgreSQL
	 * one may be refused while another writer's failing pick holds the
	 * last ones) */
	assert_int_equal(total + available(state), RACE_RACKS * RACE_PER_RACK);
	if (!tinv_pg())
		assert_int_equal(available(state), 0);
	assert_int_equal(tinv_scalar(tinv_path(state), "SELECT count(*) FROM allocations", NULL),
			 allocs);
	/* every gang of more than one in distinct racks */
	assert_int_equal(tinv_scalar(tinv_path(state),
				     "SELECT count(*) FROM (SELECT am.allocation_id"
				     " FROM allocation_machines am JOIN machines m"
				     " ON m.id = am.machine_id GROUP BY am.allocation_id"
				     " HAVING count(DISTINCT m.rack) != count(*)) AS g",
				     NULL),
			 0);
	free(all);
	free(g);
}

static void test_names(void **state)
{
	(void)state;
	for (int i = 0; i < INV_SPREAD__COUNT; i++) {
		enum inv_spread_across a;
		assert_int_equal(inv_spread_across_from_name(
				     inv_spread_across_name((enum inv_spread_across)i), &a),
				 0);
		assert_int_equal(a, i);
	}
	for (int i = 0; i < INV_SPREAD_MODE__COUNT; i++) {
		enum inv_spread_mode m;
		assert_int_equal(
		    inv_spread_mode_from_name(inv_spread_mode_name((enum inv_spread_mode)i), &m),
		    0);
		assert_int_equal(m, i);
	}
	enum inv_spread_across a;
	enum inv_spread_mode m;
	assert_int_equal(inv_spread_across_from_name("row", &a), -1);
	assert_int_equal(inv_spread_across_from_name(NULL, &a), -1);
	assert_int_equal(inv_spread_mode_from_name("", &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test_setup_teardown(test_strict_rack, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_strict_pool_short, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_best_effort, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_sites_and_unlocated, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_start_moves, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_substitute_strict, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_substitute_best_effort, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_spread_survives_reopen, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_domains_in_bytes_order, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_spread_race, tinv_setup, tinv_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
