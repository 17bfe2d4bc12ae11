/* test_inventory_concurrency.c - races through the writer queue: compare-
 * and-swap, gang reservation, group commit, cursors under inserts, one-time
 * tokens, per-thread readers. Threads record outcomes; only the main thread
 * asserts (cmocka is not thread-safe). */
#include "inventory/inventory.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* test_inventory_util.c */
int tinv_setup(void **state);
int tinv_teardown(void **state);
struct inv *tinv_inv(void **state);
const char *tinv_path(void **state);
int64_t tinv_scalar(const char *path, const char *sql, const char *arg);
const char *tinv_pg(void);
const struct inv_key *tinv_key(void);
void tinv_machine(struct inv *inv, const char *name, const char *mac, const char *sku,
		  char id[INV_ID_LEN]);
void tinv_pool(struct inv *inv, const char *prefix, const char *sku, int n);

static int64_t count(void **state, const char *sql, const char *arg)
{
	return tinv_scalar(tinv_path(state), sql, arg);
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	assert_int_equal(pthread_create(t, NULL, fn, arg), 0);
}

/* ------------------------------------------------ compare-and-swap */

struct cas_arg {
	struct inv *inv;
	pthread_barrier_t *bar;
	const char *id;
	int64_t expect;
	enum inv_state to;
	enum inv_status got;
};

static void *cas_thread(void *p)
{
	struct cas_arg *a = p;
	struct inv_machine_change c = {.expect_version = a->expect,
				       .set_state = true,
				       .state = a->to,
				       .actor = "racer",
				       .reason = inv_state_name(a->to)};
	struct inv_err err;
	pthread_barrier_wait(a->bar);
	a->got = inv_machine_change(a->inv, a->id, &c, NULL, &err);
	return NULL;
}

static void test_cas_race(void **state)
{
	static const enum inv_state ring[] = {INV_ST_VERIFYING, INV_ST_INSPECTING, INV_ST_CLEANING,
					      INV_ST_AVAILABLE};
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN];
	tinv_machine(inv, "contended", NULL, NULL, id);
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, 2);
	for (int round = 0; round < 24; round++) {
		struct inv_machine m = {0};
		struct inv_err err;
		assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
		int64_t events =
		    count(state, "SELECT count(*) FROM machine_events WHERE machine_id=?1", id);
		/* two different targets, both different from the current state */
		struct cas_arg args[2];
		pthread_t t[2];
		for (int i = 0; i < 2; i++) {
			enum inv_state to = ring[(round + i) % 4];
			if (to == m.state)
				to = ring[(round + 2) % 4];
			args[i] = (struct cas_arg){inv, &bar, id, m.version, to, -1};
			start(&t[i], cas_thread, &args[i]);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		int ok = (args[0].got == INV_OK) + (args[1].got == INV_OK);
		int conflict = (args[0].got == INV_CONFLICT) + (args[1].got == INV_CONFLICT);
		if (ok != 1 || conflict != 1)
			fail_msg("round %d: statuses %s and %s", round,
				 inv_status_name(args[0].got), inv_status_name(args[1].got));
		const struct cas_arg *won = args[0].got == INV_OK ? &args[0] : &args[1];
		int64_t v = m.version;
		inv_machine_clear(&m);
		assert_int_equal(inv_machine_get(inv, id, &m, &err), INV_OK);
		assert_int_equal(m.version, v + 1);
		assert_int_equal(m.state, won->to);
		inv_machine_clear(&m);
		assert_int_equal(
		    count(state, "SELECT count(*) FROM machine_events WHERE machine_id=?1", id),
		    events + 1);
		struct inv_event_list el = {0};
		assert_int_equal(inv_machine_events(inv, id, 0, 1000, &el, &err), INV_OK);
		assert_true(el.n >= 1);
		assert_string_equal(el.items[el.n - 1].to_state, inv_state_name(won->to));
		assert_string_equal(el.items[el.n - 1].reason, inv_state_name(won->to));
		inv_event_list_clear(&el);
	}
	pthread_barrier_destroy(&bar);
}

/* ------------------------------------------------- gang reservation */

#define GANG_THREADS 16
#define GANG_POOL 100
#define GANG_MAX_TRIES 256

struct gang_try {
	enum inv_status st;
	int count, min;
	int n;
	char alloc[INV_ID_LEN];
	char (*ids)[INV_ID_LEN];
};

struct gang_arg {
	struct inv *inv;
	pthread_barrier_t *bar;
	unsigned seed;
	int ntries;
	struct gang_try tries[GANG_MAX_TRIES];
};

static void *gang_thread(void *p)
{
	struct gang_arg *g = p;
	pthread_barrier_wait(g->bar);
	bool last_min_one = false;
	while (g->ntries < GANG_MAX_TRIES) {
		struct gang_try *t = &g->tries[g->ntries++];
		t->count = 1 + (int)(rand_r(&g->seed) % 8);
		t->min = 1 + (int)(rand_r(&g->seed) % (unsigned)t->count);
		if (last_min_one)
			t->min = 1; /* after a refusal, find out if the pool is empty */
		char owner[16];
		snprintf(owner, sizeof owner, "o%u", g->seed % 5);
		struct inv_alloc_request r = {.owner = owner,
					      .sku = "gang",
					      .image = "img",
					      .count = t->count,
					      .min_count = t->min,
					      .quota = -1,
					      .actor = "racer"};
		struct inv_allocation a = {0};
		struct inv_err err;
		t->st = inv_allocation_reserve(g->inv, &r, &a, &err);
		if (t->st == INV_OK) {
			t->n = (int)a.nmachines;
			snprintf(t->alloc, sizeof t->alloc, "%s", a.id);
			t->ids = calloc(a.nmachines ? a.nmachines : 1, INV_ID_LEN);
			for (size_t i = 0; t->ids && i < a.nmachines; i++)
				snprintf(t->ids[i], INV_ID_LEN, "%s", a.machines[i].id);
			inv_allocation_clear(&a);
			last_min_one = false;
			continue;
		}
		if (t->st != INV_CAPACITY || t->min == 1)
			break;
		last_min_one = true;
	}
	return NULL;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* On PostgreSQL the racers use three inventories on the same database,
 * as three provisiond replicas would: three writers whose transactions
 * overlap (the reservation's row locks, not one writer, keep them apart). */
#define GANG_REPLICAS 3

static void gang_run(void **state, struct gang_arg *g)
{
	struct inv *invs[GANG_REPLICAS] = {tinv_inv(state), tinv_inv(state), tinv_inv(state)};
	for (int i = 1; tinv_pg() && i < GANG_REPLICAS; i++) {
		struct inv_err err = {0};
		if (inv_open(tinv_path(state), tinv_key(), &invs[i], &err) != INV_OK)
			fail_msg("replica %d: %s", i, err.message);
	}
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, GANG_THREADS);
	pthread_t t[GANG_THREADS];
	for (int i = 0; i < GANG_THREADS; i++) {
		g[i] = (struct gang_arg){
		    .inv = invs[i % GANG_REPLICAS], .bar = &bar, .seed = 7919u * (unsigned)i + 1};
		start(&t[i], gang_thread, &g[i]);
	}
	for (int i = 0; i < GANG_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 1; tinv_pg() && i < GANG_REPLICAS; i++)
		inv_close(invs[i]);
}

static void test_gang_race(void **state)
{
	struct inv *inv = tinv_inv(state);
	tinv_pool(inv, "g", "gang", GANG_POOL);
	tinv_pool(inv, "other", "other", 5);
	struct gang_arg *g = calloc(GANG_THREADS, sizeof *g);
	assert_non_null(g);
	gang_run(state, g);

	char(*all)[INV_ID_LEN] = calloc(GANG_POOL * 2, INV_ID_LEN);
	assert_non_null(all);
	int total = 0, ok = 0, failed = 0;
	for (int i = 0; i < GANG_THREADS; i++) {
		const struct gang_arg *a = &g[i];
		assert_true(a->ntries > 0);
		/* every thread ended on a refusal of a 1-machine minimum */
		const struct gang_try *last = &a->tries[a->ntries - 1];
		if (last->st != INV_CAPACITY || last->min != 1)
			fail_msg("thread %d ended with %s (min %d)", i, inv_status_name(last->st),
				 last->min);
		for (int k = 0; k < a->ntries; k++) {
			const struct gang_try *x = &a->tries[k];
			if (x->st != INV_OK) {
				assert_int_equal(x->st, INV_CAPACITY);
				failed++;
				continue;
			}
			ok++;
			if (x->n < x->min || x->n > x->count)
				fail_msg("reservation got %d machines for count %d min %d", x->n,
					 x->count, x->min);
			assert_non_null(x->ids);
			for (int m = 0; m < x->n; m++) {
				assert_true(total < GANG_POOL * 2);
				memcpy(all[total++], x->ids[m], INV_ID_LEN);
			}
		}
	}
	assert_int_equal(total, GANG_POOL);
	qsort(all, (size_t)total, INV_ID_LEN, cmp_id);
	for (int i = 1; i < total; i++)
		if (strcmp(all[i - 1], all[i]) == 0)
			fail_msg("machine %s reserved twice", all[i]);
	assert_true(failed >= GANG_THREADS);

	/* what the file says */
	assert_int_equal(count(state, "SELECT count(*) FROM allocations", NULL), ok);
	assert_int_equal(count(state, "SELECT count(*) FROM allocation_machines", NULL), GANG_POOL);
	assert_int_equal(
	    count(state, "SELECT count(DISTINCT machine_id) FROM allocation_machines", NULL),
	    GANG_POOL);
	assert_int_equal(count(state,
			       "SELECT count(*) FROM machines WHERE allocation_id IS NOT NULL AND"
			       " sku='gang' AND state='deploying'",
			       NULL),
			 GANG_POOL);
	assert_int_equal(
	    count(state,
		  "SELECT count(*) FROM allocation_machines am JOIN machines m ON"
		  " m.id = am.machine_id WHERE m.allocation_id IS DISTINCT FROM am.allocation_id",
		  NULL),
	    0);
	assert_int_equal(
	    count(state, "SELECT count(*) FROM machines WHERE state='available' AND sku='gang'",
		  NULL),
	    0);
	assert_int_equal(count(state,
			       "SELECT count(*) FROM machines WHERE state='available' AND"
			       " sku='other' AND allocation_id IS NULL",
			       NULL),
			 5);
	assert_int_equal(
	    count(state, "SELECT count(*) FROM machine_events WHERE to_state='deploying'", NULL),
	    GANG_POOL);
	/* each allocation row holds exactly the machines its caller was told */
	for (int i = 0; i < GANG_THREADS; i++)
		for (int k = 0; k < g[i].ntries; k++) {
			const struct gang_try *x = &g[i].tries[k];
			if (x->st != INV_OK)
				continue;
			assert_int_equal(count(state,
					       "SELECT count(*) FROM allocation_machines WHERE"
					       " allocation_id=?1",
					       x->alloc),
					 x->n);
			free(x->ids);
		}
	free(all);
	free(g);
}

/* ----------------------------------------------------- group commit */

#define AUDIT_THREADS 32
#define AUDIT_EACH 50

struct audit_arg {
	struct inv *inv;
	pthread_barrier_t *bar;
	int idx;
	int ok;
};

static void *audit_thread(void *p)
{
	struct audit_arg *a = p;
	pthread_barrier_wait(a->bar);
	for (int i = 0; i < AUDIT_EACH; i++) {
		char actor[32], target[32];
		snprintf(actor, sizeof actor, "t%d", a->idx);
		snprintf(target, sizeof target, "t%d-%d", a->idx, i);
		struct inv_err err;
		if (inv_audit_append(a->inv, actor, "test.append", "thing", target, NULL, "{}",
				     "rid", &err) == INV_OK)
			a->ok++;
	}
	return NULL;
}

static void test_group_commit(void **state)
{
	struct inv *inv = tinv_inv(state);
	int64_t base = count(state, "SELECT count(*) FROM audit", NULL);
	struct audit_arg args[AUDIT_THREADS];
	pthread_t t[AUDIT_THREADS];
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, AUDIT_THREADS);
	for (int i = 0; i < AUDIT_THREADS; i++) {
		args[i] = (struct audit_arg){inv, &bar, i, 0};
		start(&t[i], audit_thread, &args[i]);
	}
	for (int i = 0; i < AUDIT_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < AUDIT_THREADS; i++)
		assert_int_equal(args[i].ok, AUDIT_EACH);
	const int64_t want = AUDIT_THREADS * AUDIT_EACH;
	assert_int_equal(count(state, "SELECT count(*) FROM audit", NULL) - base, want);
	assert_int_equal(count(state,
			       "SELECT count(DISTINCT target_id) FROM audit WHERE"
			       " action='test.append'",
			       NULL),
			 want);
	/* and through the API, page by page */
	int64_t after = 0, seen = 0;
	do {
		struct inv_audit_list l = {0};
		struct inv_err err;
		struct inv_audit_filter f = {.cursor = after, .limit = 500};
		assert_int_equal(inv_audit_list(inv, &f, &l, &err), INV_OK);
		for (size_t i = 0; i < l.n; i++) {
			assert_true(l.items[i].seq > after);
			after = l.items[i].seq;
			seen += strcmp(l.items[i].action, "test.append") == 0;
		}
		after = l.next_seq ? l.next_seq : 0;
		inv_audit_list_clear(&l);
	} while (after);
	assert_int_equal(seen, want);
}

/* ------------------------------------------------ cursor pagination */

#define PAGE_EXISTING 60
#define PAGE_NEW 80

struct inserter {
	struct inv *inv;
	pthread_barrier_t *bar;
	int made;
};

static void *insert_thread(void *p)
{
	struct inserter *x = p;
	pthread_barrier_wait(x->bar);
	for (int i = 0; i < PAGE_NEW; i++) {
		char name[32];
		snprintf(name, sizeof name, "new-%d", i);
		struct inv_machine_new n = {.name = name, .actor = "inserter"};
		struct inv_err err;
		if (inv_machine_create(x->inv, &n, NULL, &err) == INV_OK)
			x->made++;
	}
	return NULL;
}

static void test_pagination_under_inserts(void **state)
{
	struct inv *inv = tinv_inv(state);
	char ids[PAGE_EXISTING][INV_ID_LEN];
	for (int i = 0; i < PAGE_EXISTING; i++) {
		char name[32];
		snprintf(name, sizeof name, "old-%d", i);
		tinv_machine(inv, name, NULL, NULL, ids[i]);
	}
	int seen_old[PAGE_EXISTING] = {0};
	char(*seen)[INV_ID_LEN] = calloc(PAGE_EXISTING + PAGE_NEW, INV_ID_LEN);
	assert_non_null(seen);
	size_t nseen = 0;
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, 2);
	struct inserter ins = {inv, &bar, 0};
	pthread_t t;
	start(&t, insert_thread, &ins);
	pthread_barrier_wait(&bar);

	struct inv_machine_filter f = {.state = -1, .limit = 7};
	int64_t last = 0;
	int pages = 0;
	do {
		struct inv_machine_list l = {0};
		struct inv_err err;
		assert_int_equal(inv_machine_list(inv, &f, &l, &err), INV_OK);
		assert_true(l.n <= 7);
		if (l.next_seq)
			assert_int_equal(l.n, 7);
		for (size_t i = 0; i < l.n; i++) {
			if (l.items[i].seq <= last)
				fail_msg("seq %lld after %lld", (long long)l.items[i].seq,
					 (long long)last);
			last = l.items[i].seq;
			assert_true(nseen < PAGE_EXISTING + PAGE_NEW);
			memcpy(seen[nseen++], l.items[i].id, INV_ID_LEN);
			for (int k = 0; k < PAGE_EXISTING; k++)
				seen_old[k] += strcmp(ids[k], l.items[i].id) == 0;
		}
		if (l.next_seq)
			assert_int_equal(l.next_seq, last);
		f.after_seq = l.next_seq;
		inv_machine_list_clear(&l);
		pages++;
		/* let the inserter get ahead of the cursor now and then */
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	} while (f.after_seq);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);

	assert_int_equal(ins.made, PAGE_NEW);
	assert_true(pages >= PAGE_EXISTING / 7);
	for (int k = 0; k < PAGE_EXISTING; k++)
		if (seen_old[k] != 1)
			fail_msg("machine old-%d returned %d times", k, seen_old[k]);
	qsort(seen, nseen, INV_ID_LEN, cmp_id);
	for (size_t i = 1; i < nseen; i++)
		if (strcmp(seen[i - 1], seen[i]) == 0)
			fail_msg("machine %s on two pages", seen[i]);
	free(seen);
}

/* ------------------------------------------------ one-time tokens */

#define RACERS 8

struct take_arg {
	struct inv *inv;
	pthread_barrier_t *bar;
	const char *hash;
	enum inv_status got;
	char mid[INV_ID_LEN];
};

static void *take_thread(void *p)
{
	struct take_arg *a = p;
	struct inv_err err;
	pthread_barrier_wait(a->bar);
	a->got = inv_boot_token_take(a->inv, a->hash, "boot", true, a->mid, &err);
	return NULL;
}

static void test_boot_token_race(void **state)
{
	struct inv *inv = tinv_inv(state);
	char id[INV_ID_LEN];
	tinv_machine(inv, "booter", NULL, NULL, id);
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, RACERS);
	for (int round = 0; round < 10; round++) {
		char hash[32];
		snprintf(hash, sizeof hash, "race-%d", round);
		struct inv_err err;
		assert_int_equal(
		    inv_boot_token_add(inv, hash, id, "boot", inv_now_ms() + 60000, &err), INV_OK);
		struct take_arg a[RACERS];
		pthread_t t[RACERS];
		for (int i = 0; i < RACERS; i++) {
			a[i] = (struct take_arg){.inv = inv, .bar = &bar, .hash = hash, .got = -1};
			start(&t[i], take_thread, &a[i]);
		}
		int ok = 0;
		for (int i = 0; i < RACERS; i++) {
			pthread_join(t[i], NULL);
			if (a[i].got == INV_OK) {
				ok++;
				assert_string_equal(a[i].mid, id);
			} else {
				assert_int_equal(a[i].got, INV_NOT_FOUND);
				assert_string_equal(a[i].mid, "");
			}
		}
		if (ok != 1)
			fail_msg("round %d: token used %d times", round, ok);
	}
	pthread_barrier_destroy(&bar);
}

/* ------------------------------------------------------- MAC race */

struct enroll_arg {
	struct inv *inv;
	pthread_barrier_t *bar;
	int idx;
	enum inv_status got;
	char field[48];
};

static void *enroll_thread(void *p)
{
	struct enroll_arg *a = p;
	char name[32];
	snprintf(name, sizeof name, "dup-%d", a->idx);
	struct inv_machine_new n = {
	    .name = name, .nmacs = 1, .macs = {"02:00:00:00:99:99"}, .actor = "racer"};
	struct inv_err err = {0};
	pthread_barrier_wait(a->bar);
	a->got = inv_machine_create(a->inv, &n, NULL, &err);
	snprintf(a->field, sizeof a->field, "%s", err.field);
	return NULL;
}

static void test_mac_race(void **state)
{
	struct inv *inv = tinv_inv(state);
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, RACERS);
	struct enroll_arg a[RACERS];
	pthread_t t[RACERS];
	for (int i = 0; i < RACERS; i++) {
		a[i] = (struct enroll_arg){.inv = inv, .bar = &bar, .idx = i, .got = -1};
		start(&t[i], enroll_thread, &a[i]);
	}
	int ok = 0;
	for (int i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		if (a[i].got == INV_OK) {
			ok++;
			continue;
		}
		assert_int_equal(a[i].got, INV_DUPLICATE);
		assert_string_equal(a[i].field, "macs");
	}
	pthread_barrier_destroy(&bar);
	assert_int_equal(ok, 1);
	assert_int_equal(count(state, "SELECT count(*) FROM machines", NULL), 1);
	assert_int_equal(count(state, "SELECT count(*) FROM nics", NULL), 1);
	assert_int_equal(count(state, "SELECT count(*) FROM machine_events", NULL), 1);
	assert_int_equal(count(state, "SELECT count(*) FROM audit", NULL), 1);
}

/* ---------------------------------------------------- reader lifetime */

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void *read_once(void *p)
{
	struct inv_machine m = {0};
	struct inv_err err;
	if (inv_machine_get(p, "reader-probe", &m, &err) == INV_OK)
		inv_machine_clear(&m);
	return NULL;
}

/* "Reads run on a read-only connection owned by the calling thread (opened
 * on first use, closed when the thread exits)": a daemon that starts threads
 * over time must not pile up connections and file descriptors. */
static void test_reader_closed_at_thread_exit(void **state)
{
	struct inv *inv = tinv_inv(state);
	tinv_machine(inv, "reader-probe", NULL, NULL, NULL);
	pthread_t t;
	start(&t, read_once, inv); /* warm-up: shared WAL index etc. */
	pthread_join(t, NULL);
	int before = open_fds();
	assert_true(before > 0);
	for (int i = 0; i < 64; i++) {
		start(&t, read_once, inv);
		pthread_join(t, NULL);
	}
	int after = open_fds();
	if (after - before > 8)
		fail_msg("64 short-lived reader threads left %d more open files (%d -> %d)",
			 after - before, before, after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cas_race, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_gang_race, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_group_commit, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_pagination_under_inserts, tinv_setup,
					    tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_boot_token_race, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_mac_race, tinv_setup, tinv_teardown),
	    cmocka_unit_test_setup_teardown(test_reader_closed_at_thread_exit, tinv_setup,
					    tinv_teardown),
	};
	return cmocka_run_group_tests_name("inventory_concurrency", tests, NULL, NULL);
}
