/* api_replicas.c - three provisiond replicas on one PostgreSQL database
 * (docs/scale-out.md, "Replicas"): racing gangs through all three, the rack
 * cap held for the site while the three onboard one rack, kill -9
 * of the replica driving deploys (another takes them over within the
 * bound), SIGTERM of it (it hands them over as it stops), SIGSTOP past the lease (the frozen one
 * makes no BMC call for the machines it lost), an agent's session going on through another
 * replica's boot plane. PostgreSQL only: run as api_replicas_pg. */
#include "harness.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NREP 3
#define TAKEOVER_S 3
#define HEARTBEAT_S 1
#define CLIENTS 16
#define GANG 3

static struct h_daemon reps[NREP];
static char calls_log[400];

static int setup(void **state)
{
	(void)state;
	snprintf(calls_log, sizeof calls_log, "%s/pvd-calls-%d.log",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	unlink(calls_log);
	setenv("PROVISIOND_FAKE_CALL_LOG", calls_log, 1);
	for (int i = 0; i < NREP; i++) {
		char ini[200];
		snprintf(ini, sizeof ini,
			 "workers = 8\n[replica]\nname = r%d\nheartbeat_s = %d\ntakeover_s = %d\n",
			 i, HEARTBEAT_S, TAKEOVER_S);
		int rc = i == 0 ? h_start(&reps[0], ini) : h_start_replica(&reps[i], &reps[0], ini);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	for (int i = NREP - 1; i >= 0; i--) {
		if (reps[i].pid)
			kill(reps[i].pid, SIGCONT);
		h_stop(&reps[i]);
	}
	(void)state;
	return 0;
}

static void enroll(const char *prefix, int n, unsigned mac_base, int delay_ms)
{
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "%s-%d", prefix, i);
		struct h_daemon *d = reps[i % NREP].pid ? &reps[i % NREP] : &reps[(i + 1) % NREP];
		assert_int_equal(
		    h_enroll_fake(d, name, mac_base + (unsigned)i, "lab.small", delay_ms, 0, NULL),
		    201);
	}
}

/* ------------------------------------------------------------- the race */

struct client {
	int n;
	atomic_int *acked;
	char ids[16][H_ID_LEN];
	int nids;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct h_daemon *d = &reps[c->n % NREP];
	for (int i = 0; i < 16; i++) {
		char key[48], id[H_ID_LEN];
		snprintf(key, sizeof key, "race-%d-%d", c->n, i);
		long s = h_allocate(d, d->admin, "lab.small", GANG, 0, "img", key, id, NULL);
		if (s == 202) {
			snprintf(c->ids[c->nids++], H_ID_LEN, "%s", id);
			atomic_fetch_add(c->acked, 1);
		} else if (s == 409) {
			break; /* the pool is used up */
		}
	}
	return NULL;
}

/* 16 clients across the three replicas race gangs of 3 for a pool of 40:
 * 13 gangs, no machine in two, each acknowledged one there on every
 * replica, and the one machine left over is the pool's last. */
static void test_race(void **state)
{
	(void)state;
	enum { POOL = 40 };
	assert_int_equal(h_image(&reps[0], "img"), 201);
	enroll("race", POOL, 1000, 0);
	assert_true(h_wait_count(&reps[1], "available", "lab.small", POOL, 120));
	atomic_int acked = 0;
	static struct client cl[CLIENTS];
	pthread_t t[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		cl[i] = (struct client){.n = i, .acked = &acked};
		pthread_create(&t[i], NULL, client_main, &cl[i]);
	}
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&acked), POOL / GANG);
	assert_int_equal(h_db_int(&reps[0], "SELECT count(*) FROM (SELECT machine_id FROM"
					    " allocation_machines WHERE detached = 0"
					    " GROUP BY machine_id HAVING count(*) > 1) x"),
			 0);
	for (int i = 0; i < CLIENTS; i++)
		for (int k = 0; k < cl[i].nids; k++)
			assert_true(h_wait_alloc(&reps[(i + 1) % NREP], reps[0].admin, cl[i].ids[k],
						 "ready", 120, NULL));
	assert_int_equal(h_count_machines(&reps[2], "available", "lab.small"), POOL % GANG);
	struct h_resp r;
	assert_int_equal(h_call(&reps[0], reps[0].admin, "GET", "/v1/replicas", NULL, &r), 200);
	for (int i = 0; i < NREP; i++) {
		char want[32];
		snprintf(want, sizeof want, "\"name\":\"r%d\"", i);
		assert_non_null(strstr(r.body, want));
	}
	assert_null(strstr(r.body, "\"fenced\""));
	h_resp_clear(&r);
}

/* ---------------------------------------------------- take-over, fencing */

/* How many machines replica rN drives (claims) now. */
static int64_t machines_of(int n)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM machines WHERE replica = 'r%d'", n);
	return h_db_int(&reps[0], sql);
}

/* Column what of replica rN's row, with " AND cond" when cond is not NULL. */
static int64_t replica_int(const char *what, int n, const char *cond)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT %s FROM replicas WHERE name = 'r%d'%s%s", what, n,
		 cond ? " AND " : "", cond ? cond : "");
	return h_db_int(&reps[0], sql);
}

/* Which replica drives most of the machines being deployed now. */
static int busiest(void)
{
	int best = -1;
	int64_t most = 0;
	for (int i = 0; i < NREP; i++) {
		if (!reps[i].pid)
			continue;
		int64_t n = machines_of(i);
		if (n > most)
			most = n, best = i;
	}
	return best;
}

/* Milliseconds from at_ms until replica victim drives no machine any more
 * (another replica took them over); -1 past the bound. */
static int64_t takeover_ms(int victim, int64_t at_ms)
{
	while (util_wall_ms() - at_ms < 60000) {
		if (machines_of(victim) == 0)
			return util_wall_ms() - at_ms;
		h_sleep_ms(50);
	}
	return -1;
}

/* Calls in the log from pid at or after since_ms (wall clock) sent under a
 * claim of epoch up_to or older. */
static int calls_by_since(pid_t pid, int64_t since_ms, long long up_to)
{
	FILE *f = fopen(calls_log, "r");
	if (!f)
		return 0;
	char line[400];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		long long at, epoch;
		int p;
		char key[64], call[32];
		if (sscanf(line, "%lld %d %63s %31s %lld", &at, &p, key, call, &epoch) != 5 ||
		    !strncmp(call, "done:", 5) || at < since_ms || epoch > up_to)
			continue;
		if (p == (int)pid)
			fprintf(stderr, "# after the fence: %s", line);
		n += p == (int)pid;
	}
	fclose(f);
	return n;
}

static void deploy_gangs(const char *prefix, unsigned mac_base, char ids[4][H_ID_LEN])
{
	enroll(prefix, 4 * GANG, mac_base, 400);
	assert_true(h_wait_quiet(&reps[0], 120));
	for (int i = 0; i < 4; i++) {
		char key[48];
		snprintf(key, sizeof key, "%s-%d", prefix, i);
		struct h_daemon *d = reps[i % NREP].pid ? &reps[i % NREP] : &reps[(i + 1) % NREP];
		assert_int_equal(
		    h_allocate(d, reps[0].admin, "lab.small", GANG, 0, "img", key, ids[i], NULL),
		    202);
	}
}

/* Deploys the four gangs (deploy_gangs) and returns the replica that drives
 * most of their machines. */
static int deploy_busiest(const char *prefix, unsigned mac_base, char ids[4][H_ID_LEN])
{
	deploy_gangs(prefix, mac_base, ids);
	int victim = -1;
	for (int i = 0; i < 100 && victim < 0; i++, h_sleep_ms(100))
		victim = busiest();
	assert_true(victim >= 0);
	return victim;
}

static void all_ready(char ids[4][H_ID_LEN], int via)
{
	for (int i = 0; i < 4; i++)
		assert_true(h_wait_alloc(&reps[via], reps[0].admin, ids[i], "ready", 180, NULL));
}

/* kill -9 of the replica driving most deploys: another takes them over
 * within takeover_s (+ a heartbeat) and every deploy completes. */
static void test_kill_takeover(void **state)
{
	(void)state;
	char ids[4][H_ID_LEN];
	int victim = deploy_busiest("kill", 2000, ids);
	pid_t pid = reps[victim].pid;
	assert_true(machines_of(victim) > 0);
	int64_t killed_at = util_wall_ms();
	h_kill9(&reps[victim]);
	int via = (victim + 1) % NREP;
	assert_int_equal(calls_by_since(pid, killed_at, INT64_MAX), 0);
	int64_t took = takeover_ms(victim, killed_at);
	fprintf(stderr,
		"# take-over: replica r%d's machines went to the others %lld ms after"
		" its kill -9 (takeover_s = %d)\n",
		victim, (long long)took, TAKEOVER_S);
	assert_true(took >= 0 && took <= (TAKEOVER_S + 2 * HEARTBEAT_S + 2) * 1000);
	all_ready(ids, via);
	assert_int_equal(replica_int("live", victim, NULL), 0);
	assert_int_equal(h_restart(&reps[victim]), 0); /* back under its name */
}

/* SIGTERM of the replica driving most deploys: it hands its machines over
 * as it stops, so by the time it has exited none is claimed by it and its
 * row is no longer live (before: they waited for takeover_s after its last
 * heartbeat); every deploy completes through the others. */
static void test_graceful_handover(void **state)
{
	(void)state;
	char ids[4][H_ID_LEN];
	int victim = deploy_busiest("term", 4000, ids);
	assert_true(machines_of(victim) > 0);
	assert_int_equal(h_term(&reps[victim]), 0);
	int64_t left = machines_of(victim), live = replica_int("live", victim, NULL);
	fprintf(stderr, "# after r%d exited: %lld machines still claimed by it, live %lld\n",
		victim, (long long)left, (long long)live);
	assert_int_equal(left, 0);
	assert_int_equal(live, 0);
	all_ready(ids, (victim + 1) % NREP);
	assert_int_equal(h_restart(&reps[victim]), 0);
	assert_int_equal(replica_int("live", victim, NULL), 1);
}

/* SIGSTOP of the replica driving most deploys past takeover_s: the others
 * take its machines; resumed, it sends no BMC call for them (its claims are
 * over) and registers again under a new epoch. */
static void test_sigstop_fencing(void **state)
{
	(void)state;
	char ids[4][H_ID_LEN];
	int victim = deploy_busiest("stop", 3000, ids);
	pid_t pid = reps[victim].pid;
	int64_t epoch = replica_int("epoch", victim, NULL);
	kill(pid, SIGSTOP);
	int64_t stopped_at = util_wall_ms();
	int via = (victim + 1) % NREP;
	bool fenced = false;
	for (int i = 0; i < 200 && !fenced; i++, h_sleep_ms(50))
		fenced = replica_int("live", victim, NULL) == 0;
	assert_true(fenced);
	kill(pid, SIGCONT);
	all_ready(ids, via);
	h_sleep_ms(2 * HEARTBEAT_S * 1000);
	assert_int_equal(calls_by_since(pid, stopped_at + 1, epoch), 0);
	assert_true(replica_int("epoch", victim, "live = 1") > epoch);
}

/* An agent's session lives in the database: opened through one replica's
 * boot plane, it goes on through another's after the first is killed. */
static void test_agent_session_moves(void **state)
{
	(void)state;
	struct h_daemon *first = NULL, *other = NULL;
	for (int i = 0; i < NREP; i++)
		if (reps[i].pid && !first)
			first = &reps[i];
		else if (reps[i].pid && !other)
			other = &reps[i];
	assert_non_null(other);
	struct h_resp r;
	assert_int_equal(h_boot_request(first, NULL, "POST", "/v1/agent/lookup",
					"{\"macs\":[\"52:54:00:0a:0e:77\"]}", &r),
			 200);
	assert_string_equal(h_str(&r, "mode"), "discover");
	char tok[H_TOKEN_LEN];
	snprintf(tok, sizeof tok, "%s", h_str(&r, "token"));
	h_resp_clear(&r);
	assert_int_equal(
	    h_boot_request(first, tok, "POST", "/v1/agent/heartbeat", "{\"state\":\"idle\"}", NULL),
	    204);
	h_kill9(first);
	assert_int_equal(
	    h_boot_request(other, tok, "POST", "/v1/agent/heartbeat", "{\"state\":\"idle\"}", NULL),
	    204);
	assert_int_equal(h_boot_request(other, tok, "GET", "/v1/agent/command?wait=0", NULL, NULL),
			 204);
	assert_int_equal(h_restart(first), 0);
}

/* ------------------------------------------------------- the rack's cap */

#define RACK_N 36

static bool in_ids(const char *key, char (*ids)[H_ID_LEN], int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(key, ids[i]))
			return true;
	return false;
}

/* The most BMC calls to machines of ids at once, across all replicas, from
 * the call log's start and done:lines; *ncalls the calls counted. */
static int most_at_once(char (*ids)[H_ID_LEN], int n, int *ncalls)
{
	FILE *f = fopen(calls_log, "r");
	static long long ev[RACK_N * 64][3]; /* ms, +1 start / -1 done, pid */
	int nev = 0, most = 0, now = 0;
	char line[400];
	*ncalls = 0;
	while (f && fgets(line, sizeof line, f) && nev < RACK_N * 64) {
		long long at, epoch;
		int p;
		char key[64], call[32];
		if (sscanf(line, "%lld %d %63s %31s %lld", &at, &p, key, call, &epoch) != 5 ||
		    !in_ids(key, ids, n))
			continue;
		bool done = !strncmp(call, "done:", 5);
		ev[nev][0] = at;
		ev[nev][2] = p;
		ev[nev++][1] = done ? -1 : 1;
		*ncalls += !done;
	}
	if (f)
		fclose(f);
	/* by time; at the same millisecond an end before a start */
	for (int i = 1; i < nev; i++)
		for (int j = i; j > 0 && (ev[j][0] < ev[j - 1][0] ||
					  (ev[j][0] == ev[j - 1][0] && ev[j][1] < ev[j - 1][1]));
		     j--) {
			long long t[3];
			memcpy(t, ev[j], sizeof t);
			memcpy(ev[j], ev[j - 1], sizeof t);
			memcpy(ev[j - 1], t, sizeof t);
		}
	for (int i = 0; i < nev; i++) {
		now += (int)ev[i][1];
		if (now > most) {
			most = now;
			/* at the peak: the calls running per process */
			fprintf(stderr, "# %d at once at %lld:", most, ev[i][0]);
			for (int k = 0; k < 3; k++) {
				int by = 0;
				for (int j = 0; j <= i; j++)
					by += ev[j][2] == reps[k].pid ? (int)ev[j][1] : 0;
				fprintf(stderr, " r%d %d", k, by);
			}
			fprintf(stderr, "\n");
		}
	}
	return most;
}

/* max_per_rack (8, the default) holds for the site, not per replica: 36
 * machines of one rack onboarded by three replicas never have more than 8
 * BMC calls at once (each replica steps its share of the rack: 3, 3, 2).
 * Once the replicas have counted each other: right after a replica joins,
 * steps the others started under their larger share still finish
 * (docs/scale-out.md). */
static void test_rack_cap_across_replicas(void **state)
{
	(void)state;
	h_sleep_ms(3 * HEARTBEAT_S * 1000);
	static char ids[RACK_N][H_ID_LEN];
	const char *where[RACK_N];
	for (int i = 0; i < RACK_N; i++)
		where[i] = "s9/r9";
	struct h_pool_spec p = {.prefix = "rack",
				.sku = "lab.small",
				.mac_base = 9000,
				.n = RACK_N,
				.delay_ms = 150,
				.where = where};
	assert_int_equal(h_pool(&reps[0], &p, ids), 0);
	int calls, most = most_at_once(ids, RACK_N, &calls);
	fprintf(stderr, "# %d BMC calls to the rack, at most %d at once\n", calls, most);
	assert_true(calls >= RACK_N * 4);
	if (most > 8)
		fail_msg("max_per_rack 8 across 3 replicas: %d BMC calls of one rack at once",
			 most);
}

int main(void)
{
	if (!h_pg()) {
		fprintf(stderr, "api_replicas: needs PostgreSQL (run api_replicas_pg)\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_race),
	    cmocka_unit_test(test_rack_cap_across_replicas),
	    cmocka_unit_test(test_kill_takeover),
	    cmocka_unit_test(test_graceful_handover),
	    cmocka_unit_test(test_sigstop_fencing),
	    cmocka_unit_test(test_agent_session_moves),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
