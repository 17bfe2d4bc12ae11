/* crash_loop.c - an allocate/release storm while provisiond is killed with
 * SIGKILL at random moments and restarted, 50 times (docs/reliability.md,
 * "Crash loop").
 *
 * 16 clients on fake hardware with slow BMCs (so deploys take a while and
 * kills land in them) ask for gangs of 1-8 machines with idempotency keys,
 * long-poll some of them to ready, and release them. A request the kill cut
 * off (no answer) is sent again with the same key until it gets one; its
 * answer must name the same allocation as any earlier answer for that key.
 * Afterwards, within a bound: every allocation is ready, failed or released
 * and every machine available, active or failed with a last_error; every
 * acknowledged allocation exists, every acknowledged release is released;
 * no machine is attached to two live allocations and every active machine
 * serves a ready allocation; the database passes its integrity check.
 *
 * CHAOS_KILLS (default 50) and CHAOS_SEED change the run; CHAOS_DEBUG=1
 * prints every refused allocation. */
#include "harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

enum { CLIENTS = 16, POOL = 80, MAX_ACKED = 4096 };

struct acked {
	char key[32];
	char id[H_ID_LEN];
	bool released; /* DELETE acknowledged */
};

struct storm {
	struct h_daemon *d;
	atomic_bool stop;
	pthread_mutex_t mu;
	struct acked *acked;
	int nacked;
	atomic_int cut_off;	 /* requests that got no answer and were sent again */
	atomic_int key_mismatch; /* a replay named another allocation */
	atomic_int unexpected;	 /* answers outside the documented ones */
	atomic_int refused;	 /* 409 (no capacity), 503, 429: documented, no allocation */
};

struct client {
	struct storm *s;
	int n;
	unsigned seed;
	pthread_t tid;
};

/* Sends until there is an answer (the daemon may be down or restarting). */
static long persist(struct storm *s, const char *method, const char *path, json_t *body,
		    const char *key, struct h_resp *r)
{
	char hdr[80];
	snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key ? key : "");
	const char *const headers[] = {hdr, NULL};
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long st = 0;
	for (int tries = 0; tries < 600; tries++) {
		h_resp_clear(r);
		st = h_request(s->d, s->d->admin, method, path, text, text ? strlen(text) : 0,
			       key ? headers : NULL, r);
		if (st != 0)
			break;
		atomic_fetch_add(&s->cut_off, 1);
		h_sleep_ms(100);
	}
	free(text);
	return st;
}

static struct acked *record(struct storm *s, const char *key, const char *id)
{
	struct acked *a = NULL;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nacked && !a; i++)
		if (!strcmp(s->acked[i].key, key))
			a = &s->acked[i];
	if (a && strcmp(a->id, id) != 0) {
		print_message("key %s: first %s, then %s\n", key, a->id, id);
		atomic_fetch_add(&s->key_mismatch, 1);
	}
	if (!a && s->nacked < MAX_ACKED) {
		a = &s->acked[s->nacked++];
		snprintf(a->key, sizeof a->key, "%s", key);
		snprintf(a->id, sizeof a->id, "%s", id);
	}
	pthread_mutex_unlock(&s->mu);
	return a;
}

/* One allocation: create, maybe wait for it, release. */
static void one_round(struct client *c, unsigned i)
{
	struct storm *s = c->s;
	char key[32], path[128];
	snprintf(key, sizeof key, "c%d-%u", c->n, i);
	int count = 1 + (int)(rand_r(&c->seed) % 8);
	json_t *body = json_pack("{s:s, s:s, s:i, s:i}", "sku", "lab.small", "image", "img",
				 "count", count, "min_count", rand_r(&c->seed) % 2 ? 1 : count);
	struct h_resp r = {0};
	long st = persist(s, "POST", "/v1/allocations", body, key, &r);
	json_decref(body);
	if (st != 202 && st != 200) {
		atomic_fetch_add(&s->refused, 1);
		if (getenv("CHAOS_DEBUG"))
			print_message("allocate %s: %ld %s\n", key, st, h_err_code(&r));
		if (st != 409 && st != 503 && st != 429) {
			print_message("allocate %s: %ld %s\n", key, st, r.body);
			atomic_fetch_add(&s->unexpected, 1);
		}
		h_resp_clear(&r);
		h_sleep_ms(100);
		return;
	}
	struct acked *a = record(s, key, h_str(&r, "id"));
	h_resp_clear(&r);
	if (!a)
		return;
	snprintf(path, sizeof path, "/v1/allocations/%s?wait=2", a->id);
	if (rand_r(&c->seed) % 2)
		persist(s, "GET", path, NULL, NULL, &r);
	h_resp_clear(&r);
	snprintf(path, sizeof path, "/v1/allocations/%s", a->id);
	st = persist(s, "DELETE", path, NULL, NULL, &r);
	if (st == 202 || st == 200) {
		pthread_mutex_lock(&s->mu);
		a->released = true;
		pthread_mutex_unlock(&s->mu);
	} else if (st != 409 && st != 503) {
		print_message("release %s: %ld %s\n", a->id, st, r.body);
		atomic_fetch_add(&s->unexpected, 1);
	}
	h_resp_clear(&r);
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	for (unsigned i = 0; !atomic_load(&c->s->stop); i++)
		one_round(c, i);
	return NULL;
}

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, "workers = 16\n[server]\ntoken_rate_per_s = 0\n");
}

static void enroll_pool(struct h_daemon *d)
{
	char ids[POOL][H_ID_LEN];
	for (int i = 0; i < POOL; i++) {
		char name[32];
		snprintf(name, sizeof name, "loop-%02d", i);
		assert_int_equal(h_enroll_fake(d, name, (unsigned)i + 1, "lab.small", 0, 0, ids[i]),
				 201);
	}
	assert_true(h_wait_count(d, "available", "lab.small", POOL, 180));
	/* slower BMCs from now on, so kills land in deploys and cleanings */
	for (int i = 0; i < POOL; i++)
		assert_int_equal(h_patch_fake(d, ids[i], "lab.small", 30, 0), 200);
	assert_true(h_wait_quiet(d, 180));
	assert_int_equal(h_image(d, "img"), 201);
}

static int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);
	return v && *v ? (int)strtol(v, NULL, 10) : dflt;
}

/* Allocations that are not yet ready, failed or released; -1 on error. */
static int unsettled(struct h_daemon *d)
{
	return (int)h_db_int(d, "SELECT count(*) FROM allocations WHERE state NOT IN "
				"('ready', 'failed', 'released')");
}

static void check_acknowledged(struct h_daemon *d, struct storm *s)
{
	for (int i = 0; i < s->nacked; i++) {
		char path[128];
		snprintf(path, sizeof path, "/v1/allocations/%s", s->acked[i].id);
		struct h_resp r = {0};
		if (h_call(d, d->admin, "GET", path, NULL, &r) != 200)
			fail_msg("acknowledged allocation %s (key %s) is lost", s->acked[i].id,
				 s->acked[i].key);
		if (s->acked[i].released && strcmp(h_str(&r, "state"), "released") != 0)
			fail_msg("allocation %s: release acknowledged, state %s", s->acked[i].id,
				 h_str(&r, "state"));
		h_resp_clear(&r);
	}
}

static void check_database(struct h_daemon *d)
{
	/* no machine attached to two live allocations */
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM (SELECT am.machine_id FROM "
				     "allocation_machines am JOIN allocations a ON a.id = "
				     "am.allocation_id WHERE am.detached = 0 AND a.state != "
				     "'released' GROUP BY am.machine_id HAVING count(*) > 1)"),
			 0);
	/* every machine at rest, a failed one with its reason */
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM machines WHERE state NOT IN "
				     "('available', 'active', 'failed') OR (state = 'failed' AND "
				     "last_error = '')"),
			 0);
	/* every active machine serves a ready allocation that lists it */
	assert_int_equal(h_db_int(d,
				  "SELECT count(*) FROM machines m WHERE m.state = 'active' "
				  "AND NOT EXISTS (SELECT 1 FROM allocations a JOIN "
				  "allocation_machines am ON am.allocation_id = a.id WHERE a.id = "
				  "m.allocation_id AND am.machine_id = m.id AND am.detached = 0 "
				  "AND a.state = 'ready')"),
			 0);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM pragma_integrity_check WHERE "
				     "integrity_check != 'ok'"),
			 0);
}

static void test_kill9_fifty_times(void **state)
{
	struct h_daemon *d = *state;
	enroll_pool(d);
	struct storm s = {.d = d, .acked = calloc(MAX_ACKED, sizeof(struct acked))};
	assert_non_null(s.acked);
	pthread_mutex_init(&s.mu, NULL);
	unsigned seed = (unsigned)env_int("CHAOS_SEED", (int)h_now_ms());
	int kills = env_int("CHAOS_KILLS", 50);
	print_message("seed %u, %d kills\n", seed, kills);
	struct client c[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		c[i] = (struct client){.s = &s, .n = i, .seed = seed + (unsigned)i};
		assert_int_equal(pthread_create(&c[i].tid, NULL, client_main, &c[i]), 0);
	}
	for (int k = 0; k < kills; k++) {
		h_sleep_ms(300 + (int)(rand_r(&seed) % 1700));
		h_kill9(d);
		assert_int_equal(h_restart(d), 0);
	}
	atomic_store(&s.stop, true);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(c[i].tid, NULL);
	int64_t t0 = h_now_ms();
	while (unsettled(d) != 0 && h_now_ms() - t0 < 300000)
		h_sleep_ms(250);
	assert_int_equal(unsettled(d), 0);
	assert_true(h_wait_quiet(d, 300));
	print_message("%d allocations acknowledged, %d refused, %d requests cut off and sent "
		      "again, settled %lld ms after the last kill\n",
		      s.nacked, atomic_load(&s.refused), atomic_load(&s.cut_off),
		      (long long)(h_now_ms() - t0));
	assert_true(s.nacked >= kills); /* the storm did run between the kills */
	assert_int_equal(atomic_load(&s.key_mismatch), 0);
	assert_int_equal(atomic_load(&s.unexpected), 0);
	check_acknowledged(d, &s);
	check_database(d);
	free(s.acked);
	pthread_mutex_destroy(&s.mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kill9_fifty_times, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
