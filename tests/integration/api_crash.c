/* api_crash.c - kill -9 of provisiond in the middle of deploys, restart on
 * the same database: everything acknowledged survives and converges
 * (allocations ready, no machine in two allocations). */
#include "harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NGANGS 4
#define GANG 3
#define SPARE 4
#define POOL (NGANGS * GANG + SPARE)
#define MAX_ACKED 4096

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, "workers = 16\n");
}

/* Writes racing the kill: whatever got its 2xx must survive. */
struct writer {
	struct h_daemon *d;
	atomic_bool stop;
	int nallocs;
	char allocs[SPARE][H_ID_LEN];
	int ntokens;
	char (*tokens)[H_TOKEN_LEN];
};

static void *alloc_writer(void *arg)
{
	struct writer *w = arg;
	for (int i = 0; !atomic_load(&w->stop) && w->nallocs < SPARE; i++) {
		char key[32], id[H_ID_LEN];
		snprintf(key, sizeof key, "crash-%d", i);
		long s = h_allocate(w->d, w->d->admin, "lab.small", 1, 0, "img", key, id, NULL);
		if (s == 202)
			snprintf(w->allocs[w->nallocs++], H_ID_LEN, "%s", id);
		else if (s == 0)
			break; /* the daemon is gone */
		else
			h_sleep_ms(20);
	}
	return NULL;
}

static void *token_writer(void *arg)
{
	struct writer *w = arg;
	for (int i = 0; !atomic_load(&w->stop) && w->ntokens < MAX_ACKED; i++) {
		char owner[32];
		snprintf(owner, sizeof owner, "dur-%d", i);
		long s = h_token(w->d, "service", owner, w->tokens[w->ntokens]);
		if (s == 201)
			w->ntokens++;
		else if (s == 0)
			break;
	}
	return NULL;
}

struct gang_job {
	struct h_daemon *d;
	char id[H_ID_LEN];
	long status;
};

static void *gang_main(void *arg)
{
	struct gang_job *g = arg;
	g->status = h_allocate(g->d, g->d->admin, "lab.small", GANG, 0, "img", NULL, g->id, NULL);
	return NULL;
}

static int64_t deploying_in_db(struct h_daemon *d)
{
	return h_db_int(d, "SELECT count(*) FROM machines WHERE state = 'deploying'");
}

/* Every allocation's machines are distinct from every other's, active and
 * point back at it. Returns the number of machines seen. */
static int assert_disjoint(struct h_daemon *d, char (*ids)[H_ID_LEN], int n)
{
	static char seen[POOL][H_ID_LEN];
	int nseen = 0;
	for (int i = 0; i < n; i++) {
		char path[160];
		snprintf(path, sizeof path, "/v1/allocations/%s", ids[i]);
		struct h_resp r;
		assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
		json_t *ms = json_object_get(r.json, "machines"), *m;
		size_t k;
		json_array_foreach(ms, k, m)
		{
			const char *mid = json_string_value(json_object_get(m, "id"));
			for (int j = 0; j < nseen; j++)
				assert_string_not_equal(seen[j], mid);
			assert_true(nseen < POOL);
			snprintf(seen[nseen++], H_ID_LEN, "%s", mid);
			struct h_resp mr;
			char mp[128];
			snprintf(mp, sizeof mp, "/v1/machines/%s", mid);
			assert_int_equal(h_call(d, d->admin, "GET", mp, NULL, &mr), 200);
			assert_string_equal(h_str(&mr, "state"), "active");
			assert_string_equal(h_str(&mr, "allocation_id"), ids[i]);
			h_resp_clear(&mr);
		}
		h_resp_clear(&r);
	}
	return nseen;
}

static void test_kill9_mid_deploy_converges(void **state)
{
	struct h_daemon *d = *state;
	static char ids[POOL][H_ID_LEN];
	for (int i = 0; i < POOL; i++) {
		char name[32];
		snprintf(name, sizeof name, "crash-%02d", i);
		assert_int_equal(
		    h_enroll_fake(d, name, (unsigned)i + 1, "lab.small", 20, 0, ids[i]), 201);
	}
	assert_true(h_wait_count(d, "available", "lab.small", POOL, 120));
	/* Slow BMCs from now on: deploys take seconds, so the kill lands in them. */
	for (int i = 0; i < POOL; i++)
		assert_int_equal(h_patch_fake(d, ids[i], "lab.small", 300, 0), 200);
	assert_int_equal(h_image(d, "img"), 201);

	struct writer w = {.d = d};
	w.tokens = calloc(MAX_ACKED, H_TOKEN_LEN);
	assert_non_null(w.tokens);
	pthread_t tw, aw, gt[NGANGS];
	static struct gang_job gangs[NGANGS];
	assert_int_equal(pthread_create(&tw, NULL, token_writer, &w), 0);
	for (int i = 0; i < NGANGS; i++) {
		gangs[i].d = d;
		assert_int_equal(pthread_create(&gt[i], NULL, gang_main, &gangs[i]), 0);
	}
	for (int i = 0; i < NGANGS; i++)
		pthread_join(gt[i], NULL);
	for (int i = 0; i < NGANGS; i++)
		assert_int_equal(gangs[i].status, 202);
	assert_int_equal(pthread_create(&aw, NULL, alloc_writer, &w), 0);
	h_sleep_ms(700); /* picks the moment only; nothing below depends on it */

	/* kill -9 while the machines are deploying and writes are in flight */
	h_kill9(d);
	atomic_store(&w.stop, true);
	pthread_join(aw, NULL);
	pthread_join(tw, NULL);
	int64_t inflight = deploying_in_db(d);
	fprintf(stderr,
		"killed with %lld machines deploying, %d tokens and %d extra "
		"allocations acknowledged\n",
		(long long)inflight, w.ntokens, w.nallocs);
	assert_true(inflight > 0);

	/* restart, and kill once more during recovery */
	assert_int_equal(h_restart(d), 0);
	h_sleep_ms(500);
	h_kill9(d);
	assert_int_equal(h_restart(d), 0);

	/* Every acknowledged allocation still exists. A request cut by the kill
	 * may or may not have committed: whatever exists must converge. */
	char(*all)[H_ID_LEN] = calloc(NGANGS + SPARE, H_ID_LEN);
	assert_non_null(all);
	int n = 0;
	struct h_resp lr;
	assert_int_equal(h_call(d, d->admin, "GET", "/v1/allocations?limit=1000", NULL, &lr), 200);
	json_t *items = json_object_get(lr.json, "items"), *it;
	size_t k;
	json_array_foreach(items, k, it)
	{
		assert_true(n < NGANGS + SPARE);
		snprintf(all[n++], H_ID_LEN, "%s", json_string_value(json_object_get(it, "id")));
	}
	h_resp_clear(&lr);
	for (int i = 0; i < NGANGS + w.nallocs; i++) {
		const char *acked = i < NGANGS ? gangs[i].id : w.allocs[i - NGANGS];
		bool found = false;
		for (int j = 0; j < n; j++)
			found |= strcmp(all[j], acked) == 0;
		if (!found)
			fprintf(stderr, "acknowledged allocation %s is lost\n", acked);
		assert_true(found);
	}
	int want_machines = 0;
	for (int i = 0; i < n; i++) {
		json_t *fin = NULL;
		bool ok = h_wait_alloc(d, NULL, all[i], "ready", 180, &fin);
		if (!ok) {
			char *s = json_dumps(fin, 0);
			fprintf(stderr, "allocation %s did not converge: %s\n", all[i],
				s ? s : "(gone)");
			free(s);
		}
		want_machines += (int)json_array_size(json_object_get(fin, "machines"));
		json_decref(fin);
		assert_true(ok);
	}
	assert_int_equal(assert_disjoint(d, all, n), want_machines);
	assert_int_equal(h_count_machines(d, "active", NULL), want_machines);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM (SELECT machine_id FROM "
				     "allocation_machines WHERE detached = 0 GROUP BY machine_id "
				     "HAVING count(*) > 1) AS twice"),
			 0);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM allocations"), n);
	/* every acknowledged token still works */
	for (int i = 0; i < w.ntokens; i++) {
		long s = h_call(d, w.tokens[i], "GET", "/v1/allocations", NULL, NULL);
		if (s != 200)
			fprintf(stderr, "token %d of %d lost: %ld\n", i, w.ntokens, s);
		assert_int_equal(s, 200);
	}
	/* and the fleet still works: release everything, all back in the pool */
	for (int i = 0; i < n; i++) {
		char path[160];
		snprintf(path, sizeof path, "/v1/allocations/%s", all[i]);
		assert_int_equal(h_call(d, d->admin, "DELETE", path, NULL, NULL), 202);
	}
	for (int i = 0; i < n; i++)
		assert_true(h_wait_alloc(d, NULL, all[i], "released", 180, NULL));
	assert_true(h_wait_count(d, "available", "lab.small", POOL, 120));
	free(all);
	free(w.tokens);
}

/* Crash points between a machine's commit and its allocation's update: the
 * engine moves the machine (one transaction), then settles the allocation
 * (another). A kill between the two leaves an allocation whose machines are
 * all active but which still says deploying, or one whose machines are all
 * back in the pool but which still says releasing. The database is put in
 * exactly that state while provisiond is down; the restart must settle it. */
static void test_restart_settles_allocations(void **state)
{
	struct h_daemon *d = *state;
	for (int i = 0; i < 4; i++) {
		char name[32];
		snprintf(name, sizeof name, "settle-%d", i);
		assert_int_equal(h_enroll_fake(d, name, (unsigned)i + 1, "lab.small", 20, 0, NULL),
				 201);
	}
	assert_true(h_wait_count(d, "available", "lab.small", 4, 120));
	assert_int_equal(h_image(d, "img"), 201);
	char ready[H_ID_LEN], released[H_ID_LEN];
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 2, 0, "img", NULL, ready, NULL), 202);
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 2, 0, "img", NULL, released, NULL),
			 202);
	assert_true(h_wait_alloc(d, NULL, ready, "ready", 120, NULL));
	assert_true(h_wait_alloc(d, NULL, released, "ready", 120, NULL));
	char path[160];
	snprintf(path, sizeof path, "/v1/allocations/%s", released);
	assert_int_equal(h_call(d, d->admin, "DELETE", path, NULL, NULL), 202);
	assert_true(h_wait_alloc(d, NULL, released, "released", 120, NULL));
	assert_true(h_wait_quiet(d, 60));
	assert_int_equal(h_term(d), 0);

	char sql[512];
	snprintf(sql, sizeof sql,
		 "UPDATE allocations SET state = 'deploying', ready_at = 0 WHERE id = '%s';"
		 "UPDATE allocations SET state = 'releasing' WHERE id = '%s';",
		 ready, released);
	assert_int_equal(h_db_exec(d, sql), 0);
	assert_int_equal(h_restart(d), 0);

	json_t *a = NULL, *b = NULL;
	bool ok_ready = h_wait_alloc(d, NULL, ready, "ready", 20, &a);
	bool ok_released = h_wait_alloc(d, NULL, released, "released", 5, &b);
	fprintf(stderr, "after restart: all-active allocation is %s, all-cleaned one is %s\n",
		json_string_value(json_object_get(a, "state")),
		json_string_value(json_object_get(b, "state")));
	json_decref(a);
	json_decref(b);
	assert_true(ok_ready);
	assert_true(ok_released);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kill9_mid_deploy_converges, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_restart_settles_allocations, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
