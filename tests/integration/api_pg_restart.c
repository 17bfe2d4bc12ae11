/* api_pg_restart.c - provisiond follows its PostgreSQL server through a
 * restart and an outage without being restarted itself (inventory/db_pg.c):
 *  - a fast restart of the server (every session ended, SQLSTATE 57P01)
 *    while the daemon is idle: the next read and the next write succeed
 *    (a broken reader reads again, a BEGIN that met the break is retried
 *    on a reset connection);
 *  - the server stopped: writes answer 503 storage_unavailable at once,
 *    nothing else, and the daemon stays up; started again: writes succeed
 *    with no restart of the daemon, and the engine finishes the deploys.
 * Every allocation acknowledged along the way exists with its machines.
 * Run by tests/pg_fixture.sh (PG_FIXTURE_CTL restarts its server); skipped
 * (77) on SQLite. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#define POOL 8

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, NULL);
}

/* $PG_FIXTURE_CTL ARGS: the fixture's pg_ctl. */
static void server(const char *args)
{
	char cmd[160];
	snprintf(cmd, sizeof cmd, "$PG_FIXTURE_CTL %s >/dev/null", args);
	assert_int_equal(system(cmd), 0);
}

static bool daemon_alive(struct h_daemon *d)
{
	int st;
	return d->pid > 0 && waitpid(d->pid, &st, WNOHANG) == 0;
}

/* The allocation exists with n machines. */
static void assert_alloc(struct h_daemon *d, const char *token, const char *id, size_t n)
{
	char path[128];
	struct h_resp r;
	snprintf(path, sizeof path, "/v1/allocations/%s", id);
	assert_int_equal(h_call(d, token, "GET", path, NULL, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "machines")), n);
	h_resp_clear(&r);
}

static void test_restart_and_outage(void **state)
{
	struct h_daemon *d = *state;
	char svc[H_TOKEN_LEN], ids[4][H_ID_LEN];
	for (int i = 0; i < POOL; i++) {
		char name[32];
		snprintf(name, sizeof name, "pgr-%d", i);
		assert_int_equal(
		    h_enroll_fake(d, name, 700u + (unsigned)i, "lab.small", 10, 0, NULL), 201);
	}
	assert_true(h_wait_count(d, "available", "lab.small", POOL, 120));
	assert_int_equal(h_image(d, "img"), 201);
	assert_int_equal(h_token(d, "service", "team-a", svc), 201);
	assert_int_equal(h_allocate(d, svc, "lab.small", 2, 0, "img", "k0", ids[0], NULL), 202);
	assert_true(h_wait_alloc(d, svc, ids[0], "ready", 120, NULL));
	assert_true(h_wait_quiet(d, 60));

	/* 1. a fast restart ends every session of the daemon */
	server("-m fast restart");
	assert_int_equal(h_count_machines(d, NULL, "lab.small"), POOL);
	struct h_resp r;
	long s = h_allocate(d, svc, "lab.small", 2, 0, "img", "k1", ids[1], &r);
	if (s != 202)
		fprintf(stderr, "after the restart: %ld %s\n", s, r.body);
	h_resp_clear(&r);
	assert_int_equal(s, 202);

	/* 2. the server down: 503 storage_unavailable, at once, and nothing else */
	assert_true(h_wait_alloc(d, svc, ids[1], "ready", 120, NULL));
	server("-m immediate stop");
	int64_t t0 = h_now_ms();
	for (int i = 0; i < 3; i++) {
		s = h_allocate(d, svc, "lab.small", 1, 0, "img", "k2", NULL, &r);
		if (s != 503 || strcmp(h_err_code(&r), "storage_unavailable") != 0)
			fprintf(stderr, "server down: %ld %s\n", s, r.body);
		assert_int_equal(s, 503);
		assert_string_equal(h_err_code(&r), "storage_unavailable");
		h_resp_clear(&r);
	}
	if (h_now_ms() - t0 > 30000)
		fail_msg("three writes to a stopped server took %lld ms",
			 (long long)(h_now_ms() - t0));
	assert_true(daemon_alive(d));

	/* 3. the server back: the same daemon writes again */
	server("start");
	s = h_allocate(d, svc, "lab.small", 1, 0, "img", "k2", ids[2], &r);
	if (s != 202)
		fprintf(stderr, "server back: %ld %s\n", s, r.body);
	h_resp_clear(&r);
	assert_int_equal(s, 202);
	assert_true(h_wait_alloc(d, svc, ids[2], "ready", 120, NULL));
	assert_true(daemon_alive(d));

	/* acknowledged: there, with their machines, no machine twice */
	assert_alloc(d, svc, ids[0], 2);
	assert_alloc(d, svc, ids[1], 2);
	assert_alloc(d, svc, ids[2], 1);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM allocations"), 3);
	assert_int_equal(h_db_int(d, "SELECT count(DISTINCT machine_id) FROM allocation_machines"),
			 5);
}

int main(void)
{
	if (!h_pg() || !getenv("PG_FIXTURE_CTL")) {
		fprintf(stderr, "api_pg_restart: runs under tests/pg_fixture.sh only\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_restart_and_outage, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
