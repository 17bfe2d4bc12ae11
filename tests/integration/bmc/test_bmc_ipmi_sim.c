/* test_bmc_ipmi_sim.c - the ipmi driver and the dispatch layer against real
 * OpenIPMI ipmi_sim BMCs on loopback: the commands that reach the BMC (read from the
 * chassis hook's log), wrong credentials, a dead address, a slow BMC, eight BMCs in
 * parallel. Exits 77 (skipped) when ipmi_sim is not installed.
 *
 * The BMCs and their network timeouts are real, so nothing here asserts how long
 * real time something took at most. Where time matters the test runs on util's
 * virtual clock, which only the BMC layer's own sleeps and timed-out waits move:
 * a backoff before a retry, a confirmation poll, the watchdog giving up. Virtual
 * time that did not move proves none of those happened. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provisiond/bmc/bmc.h"
#include "provisiond/bmc/driver.h"
#include "sim_harness.h"
#include "tests/vclock_fixture.h"

#define NSIMS 8
static struct sim sims[NSIMS];
static struct bmc_manager *mgr;
static char addrs[NSIMS][64];
static char keys[NSIMS][16];

/* 4 s: retransmit after 2 s, far above the hook's time even on a loaded machine
 * (ipmi_sim executes a retransmitted command again) */
static const char *const opts = "{\"workarounds\":\"opensesspriv\",\"timeout_ms\":4000}";

static struct bmc_target target(int i)
{
	return (struct bmc_target){.key = keys[i],
				   .driver = "ipmi",
				   .address = addrs[i],
				   .username = "admin",
				   .password = "secret",
				   .options_json = opts};
}

static struct bmc_limits limits(void)
{
	struct bmc_limits l;

	bmc_limits_default(&l);
	l.call_timeout_ms = 4000;
	l.confirm_timeout_ms = 10000;
	l.confirm_poll_ms = 50;
	l.breaker_threshold = 2;
	return l;
}

static int setup(void **state)
{
	struct bmc_limits l = limits();

	(void)state;
	for (int i = 0; i < NSIMS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "bmc%d", i);
		if (sim_start(&sims[i], name) != 0)
			return -1;
		snprintf(addrs[i], sizeof(addrs[i]), "127.0.0.1:%d", sims[i].port);
		snprintf(keys[i], sizeof(keys[i]), "m%d", i);
	}
	mgr = bmc_manager_new(&l);
	return mgr ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	bmc_manager_free(mgr);
	for (int i = 0; i < NSIMS; i++)
		sim_stop(&sims[i]);
	return 0;
}

static void expect_power(int i, enum bmc_power_state want)
{
	struct bmc_target t = target(i);
	enum bmc_power_state p = BMC_POWER_UNKNOWN;
	struct bmc_error e;

	if (bmc_power_get(mgr, &t, &p, &e) != BMC_OK)
		fail_msg("power_get %s: %s", addrs[i], e.message);
	assert_string_equal(bmc_power_state_name(p), bmc_power_state_name(want));
}

static void act(int i, enum bmc_power_action a)
{
	struct bmc_target t = target(i);
	struct bmc_error e;

	if (bmc_power_set(mgr, &t, a, &e) != BMC_OK)
		fail_msg("%s %s: %s", bmc_power_action_name(a), addrs[i], e.message);
}

static void boot(int i, enum bmc_boot_device d, bool persistent)
{
	struct bmc_target t = target(i);
	struct bmc_error e;

	if (bmc_boot_set(mgr, &t, d, persistent, &e) != BMC_OK)
		fail_msg("boot %s %s: %s", bmc_boot_device_name(d), addrs[i], e.message);
}

static void expect_sets(int i, const char *want)
{
	char got[2048];

	assert_true(sim_hook_sets(&sims[i], got, sizeof(got)) >= 0);
	assert_string_equal(got, want);
}

/* Exactly these commands reach the BMC, in this order, each confirmed. */
static void test_power_and_boot_commands(void **state)
{
	(void)state;
	sim_hook_clear(&sims[0]);
	expect_power(0, BMC_POWER_OFF);
	act(0, BMC_POWER_ACTION_ON);
	expect_power(0, BMC_POWER_ON);
	act(0, BMC_POWER_ACTION_CYCLE); /* ipmi_sim: power 0, ~1 s, power 1 */
	expect_power(0, BMC_POWER_ON);
	act(0, BMC_POWER_ACTION_OFF);
	expect_power(0, BMC_POWER_OFF);
	boot(0, BMC_BOOT_PXE, false);
	boot(0, BMC_BOOT_DISK, true);
	act(0, BMC_POWER_ACTION_ON);
	act(0, BMC_POWER_ACTION_RESET);
	expect_power(0, BMC_POWER_ON);
	act(0, BMC_POWER_ACTION_SOFT_OFF); /* the hook powers off like an obliging OS */
	expect_power(0, BMC_POWER_OFF);
	expect_sets(0, "set power 1;set power 0;set power 1;set power 0;set boot pxe;"
		       "set boot default;set power 1;set reset 1;set shutdown 1");
}

/* One session attempt per operation, AUTH, the address and the user named, never
 * the password, and no breaker: a BMC that says "wrong password" is alive. */
static void test_wrong_credentials(void **state)
{
	struct relay *r = relay_start(sims[1].port);
	struct bmc_target t = target(1);
	struct bmc_error e;
	char addr[64], want[160];
	int64_t t0;

	(void)state;
	assert_non_null(r);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", relay_port(r));
	t.address = addr;
	t.password = "Wr0ng-pa55word";
	sim_hook_clear(&sims[1]);
	for (int i = 1; i <= 4; i++) {
		t0 = util_now_ms();
		assert_int_equal(bmc_power_set(mgr, &t, BMC_POWER_ACTION_ON, &e), BMC_ERR_AUTH);
		assert_int_equal(util_now_ms() - t0, 0); /* no backoff: AUTH is not retried */
		snprintf(want, sizeof(want), "BMC at %s rejected the credentials for user admin",
			 addr);
		assert_string_equal(e.message, want);
		assert_null(strstr(e.message, t.password));
		assert_int_equal(relay_open_sessions(r), i);
	}
	t.username = "nobody";
	t.password = "secret";
	assert_int_equal(bmc_power_get(mgr, &t, &(enum bmc_power_state){0}, &e), BMC_ERR_AUTH);
	assert_non_null(strstr(e.message, "rejected the credentials for user nobody"));
	assert_int_equal(relay_open_sessions(r), 5);
	assert_int_equal(sim_hook_lines(&sims[1]), 0); /* no command reached the BMC */
	relay_stop(r);
}

struct live {
	pthread_t tid;
	int sim;
	int rounds;
	long long worst_ms;
	enum bmc_status st;
	char msg[256];
};

static void *live_main(void *arg)
{
	struct live *lv = arg;
	struct bmc_target t = target(lv->sim);
	struct bmc_error e;

	lv->st = BMC_OK;
	for (int i = 0; i < lv->rounds && lv->st == BMC_OK; i++) {
		int64_t t0 = util_real_now_ms();
		lv->st =
		    bmc_power_set(mgr, &t, i % 2 ? BMC_POWER_ACTION_OFF : BMC_POWER_ACTION_ON, &e);
		if (util_real_now_ms() - t0 > lv->worst_ms)
			lv->worst_ms = util_real_now_ms() - t0;
		if (lv->st != BMC_OK)
			snprintf(lv->msg, sizeof(lv->msg), "%s", e.message);
	}
	return NULL;
}

/* Nothing at the address: the driver's own timeout ends each operation (no retry, no
 * watchdog), the breaker opens after two, then fails fast; another BMC driven
 * meanwhile (its power changes show at the first poll, so it never sleeps) does not
 * notice. */
static void test_dead_bmc(void **state)
{
	struct live lv = {.sim = 2, .rounds = 6};
	char addr[64], want[256];
	struct bmc_target t = target(2);
	struct bmc_error e;
	int64_t t0, real0;

	(void)state;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", sim_free_udp_port());
	t.key = "dead";
	t.address = addr;
	t.options_json = "{\"workarounds\":\"opensesspriv\",\"timeout_ms\":700}";
	assert_int_equal(pthread_create(&lv.tid, NULL, live_main, &lv), 0);
	for (int i = 0; i < 2; i++) {
		t0 = util_now_ms();
		real0 = util_real_now_ms();
		enum bmc_status st = bmc_power_set(mgr, &t, BMC_POWER_ACTION_ON, &e);
		if (st != BMC_ERR_UNREACHABLE)
			fail_msg("dead BMC: %s after %lld ms: %s", bmc_status_name(st),
				 (long long)(util_real_now_ms() - real0), e.message);
		snprintf(want, sizeof(want), "no answer from BMC at %s within 700 ms", addr);
		assert_string_equal(e.message, want);
		assert_true(util_real_now_ms() - real0 >= 650); /* it did wait for an answer */
		/* the watchdog would have moved the clock to 950 ms, a retry by its backoff */
		assert_int_equal(util_now_ms() - t0, 0);
	}
	t0 = util_now_ms();
	assert_int_equal(bmc_power_get(mgr, &t, &(enum bmc_power_state){0}, &e),
			 BMC_ERR_CIRCUIT_OPEN); /* decided before any call or queue */
	assert_int_equal(util_now_ms() - t0, 0);
	snprintf(want, sizeof(want),
		 "BMC at %s unreachable (circuit open, retry in 30s); last error: no answer from "
		 "BMC at %s within 700 ms",
		 addr, addr);
	assert_string_equal(e.message, want);
	pthread_join(lv.tid, NULL);
	if (lv.st != BMC_OK)
		fail_msg("live BMC: %s", lv.msg);
	print_message("live BMC: slowest operation %lld ms (real)\n", lv.worst_ms);
}

/* A BMC whose power control takes 80 ms: every command still reaches it once. */
static void test_slow_bmc_no_duplicates(void **state)
{
	(void)state;
	sim_write(&sims[3], "power", "0\n");
	sim_write(&sims[3], "delay", "0.08\n");
	sim_hook_clear(&sims[3]);
	act(3, BMC_POWER_ACTION_ON);
	act(3, BMC_POWER_ACTION_CYCLE);
	act(3, BMC_POWER_ACTION_OFF);
	boot(3, BMC_BOOT_PXE, true);
	expect_power(3, BMC_POWER_OFF);
	expect_sets(3, "set power 1;set power 0;set power 1;set power 0;set boot pxe");
	sim_write(&sims[3], "delay", "0\n");
}

struct par {
	pthread_t tid;
	int sim;
	enum bmc_status st;
	enum bmc_power_state end;
	char msg[256];
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	struct bmc_target t = target(p->sim);
	struct bmc_error e;

	p->st = bmc_power_set(mgr, &t, BMC_POWER_ACTION_ON, &e);
	if (p->st == BMC_OK)
		p->st = bmc_boot_set(mgr, &t, BMC_BOOT_PXE, false, &e);
	if (p->st == BMC_OK)
		p->st = bmc_power_set(mgr, &t, BMC_POWER_ACTION_CYCLE, &e);
	if (p->st == BMC_OK)
		p->st = bmc_power_get(mgr, &t, &p->end, &e);
	if (p->st != BMC_OK)
		snprintf(p->msg, sizeof(p->msg), "%s", e.message);
	return NULL;
}

static void test_eight_bmcs_in_parallel(void **state)
{
	struct par p[NSIMS];
	int64_t t0 = util_now_ms();

	(void)state;
	for (int i = 0; i < NSIMS; i++) {
		sim_write(&sims[i], "power", "0\n");
		sim_hook_clear(&sims[i]);
	}
	for (int i = 0; i < NSIMS; i++) {
		p[i] = (struct par){.sim = i};
		assert_int_equal(pthread_create(&p[i].tid, NULL, par_main, &p[i]), 0);
	}
	for (int i = 0; i < NSIMS; i++)
		pthread_join(p[i].tid, NULL);
	for (int i = 0; i < NSIMS; i++) {
		if (p[i].st != BMC_OK)
			fail_msg("bmc%d: %s", i, p[i].msg);
		assert_int_equal(p[i].end, BMC_POWER_ON);
		expect_sets(i, "set power 1;set boot pxe;set power 0;set power 1");
	}
	print_message("8 BMCs: on + boot pxe + cycle in %lld ms\n",
		      (long long)(util_now_ms() - t0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_power_and_boot_commands),
	    cmocka_unit_test_setup_teardown(test_wrong_credentials, vclock_on, vclock_off),
	    cmocka_unit_test_setup_teardown(test_dead_bmc, vclock_on, vclock_off),
	    cmocka_unit_test(test_slow_bmc_no_duplicates),
	    cmocka_unit_test(test_eight_bmcs_in_parallel),
	};

	if (!sim_available()) {
		fprintf(stderr, "ipmi_sim not installed (Debian package openipmi): skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
