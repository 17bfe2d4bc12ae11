/* The lifecycle engine with its threads (lc_start): a real SQLite inventory
 * in a temporary directory, the fake BMC driver and the shipped catalog.
 * Checks what the engine promises about waiting and caps, not speed:
 *  - a thousand machines waiting for their (simulated) agent at once hold
 *    no thread each: the process keeps the threads it had;
 *  - at most max_per_rack machines of one rack are stepped at once (the
 *    fake BMC's calls in flight never exceed it), while machines without
 *    a rack are not held back;
 *  - a deadline fires: a machine whose agent never reports fails with the
 *    deadline's reason, and one that reports goes on;
 *  - an engine stopped mid-onboarding (as a crash would leave it) and
 *    started again brings every machine to `available`;
 *  - BMC operations hold no worker: with 2 workers, many more BMC calls
 *    run at once (the call pool's, calls.h);
 *  - a machine changed by a tech while its step waits for a BMC operation
 *    is not moved on by that step's answer;
 *  - time held back by max_per_rack does not count against a deadline;
 *  - one write per transition: a machine goes enrolled -> available in its
 *    four transitions' writes plus a boot grant per agent boot, with no
 *    lease written before each step. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_fixture.h"
#include "inventory/inventory.h"
#include "provisiond/app.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/bmc/fake.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "skus/sku.h"

#define SKU "lab.small"

static int setup(void **state)
{
	struct engine_fixture *f = calloc(1, sizeof *f);
	struct bmc_limits bl;
	assert_non_null(f);
	bmc_limits_default(&bl);
	bl.max_concurrent = 1000; /* the engine's caps are under test, not the BMC layer's */
	ef_open(f, "test_engine", &bl);
	ef_load_catalog(f, NULL);
	f->a.cfg.lc_workers = 8;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	ef_close(*state);
	free(*state);
	return 0;
}

static void stop(struct engine_fixture *f)
{
	lc_stop(f->a.lc);
	f->a.lc = NULL;
}

/* Enrolls n fake machines named prefix-NNNN in rack (NULL: none). */
static void enroll(struct engine_fixture *f, const char *prefix, int n, const char *rack,
		   const char *options)
{
	for (int i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof name, "%s-%04d", prefix, i);
		struct inv_location loc = {.unit = rack ? i + 1 : -1};
		if (rack) {
			snprintf(loc.site, sizeof loc.site, "s1");
			snprintf(loc.rack, sizeof loc.rack, "%s", rack);
		}
		ef_enroll(f, name, options, &loc, NULL);
	}
	lc_kick(f->a.lc);
}

/* Machines in state (and phase, unless NULL). */
static int count(struct engine_fixture *f, enum inv_state state, const char *phase)
{
	int n = 0;
	int64_t after = 0;
	for (;;) {
		struct inv_machine_list l = {0};
		struct inv_err e = {0};
		struct inv_machine_filter flt = {
		    .state = (int)state, .after_seq = after, .limit = 1000};
		if (inv_machine_list(f->a.inv, &flt, &l, &e) != INV_OK)
			fail_msg("list: %s", e.message);
		for (size_t i = 0; i < l.n; i++)
			n += !phase || strcmp(l.items[i].phase, phase) == 0;
		after = l.next_seq;
		inv_machine_list_clear(&l);
		if (!after)
			return n;
	}
}

/* Waits (bounded, not timed: a slow machine only takes longer) until
 * want machines are in state/phase. */
static void wait_for(struct engine_fixture *f, enum inv_state state, const char *phase, int want)
{
	int n = 0;
	for (int i = 0; i < 6000 && (n = count(f, state, phase)) < want; i++)
		usleep(20000);
	if (n < want)
		fail_msg("%d of %d machines reached %s%s%s", n, want, inv_state_name(state),
			 phase ? "/" : "", phase ? phase : "");
}

static int threads(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	for (struct dirent *de; d && (de = readdir(d));)
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_waiting_machines_hold_no_thread(void **state)
{
	struct engine_fixture *f = *state;
	ef_start(f);
	int before = threads();
	/* the simulated agent works for a minute: long enough to look */
	enroll(f, "w", 1000, NULL, "{\"sku\":\"" SKU "\",\"agent_ms\":60000}");
	wait_for(f, INV_ST_INSPECTING, "agent", 1000);
	int during = threads();
	/* the BMC layer runs each call on a short-lived thread of its own;
	 * none may stay per waiting machine */
	if (during > before + 4)
		fail_msg("1000 waiting machines: %d threads, %d before", during, before);
}

static void test_rack_cap(void **state)
{
	struct engine_fixture *f = *state;
	f->a.cfg.lc_max_per_rack = 2;
	ef_start(f);
	/* every BMC call takes 30 ms, so the steps of one rack overlap unless
	 * the cap holds them apart */
	enroll(f, "r", 24, "r01", "{\"sku\":\"" SKU "\",\"delay_ms\":30}");
	wait_for(f, INV_ST_AVAILABLE, NULL, 24);
	int in_rack = bmc_fake_max_in_flight(f->a.bmc);
	if (in_rack > 2)
		fail_msg("max_per_rack 2: %d BMC calls of one rack at once", in_rack);
	stop(f);
	/* without a rack the same machines run side by side */
	ef_start(f);
	enroll(f, "n", 24, NULL, "{\"sku\":\"" SKU "\",\"delay_ms\":30}");
	wait_for(f, INV_ST_AVAILABLE, NULL, 48);
	if (bmc_fake_max_in_flight(f->a.bmc) <= 2)
		fail_msg("machines without a rack were held back: %d calls at once at most",
			 bmc_fake_max_in_flight(f->a.bmc));
}

static void test_deadline_fires(void **state)
{
	struct engine_fixture *f = *state;
	f->a.cfg.inspect_timeout_s = 2;
	ef_start(f);
	/* one agent answers after half a second, the other long after the
	 * deadline */
	enroll(f, "quick", 1, NULL, "{\"sku\":\"" SKU "\",\"agent_ms\":500}");
	enroll(f, "slow", 1, NULL, "{\"sku\":\"" SKU "\",\"agent_ms\":600000}");
	wait_for(f, INV_ST_FAILED, NULL, 1);
	wait_for(f, INV_ST_AVAILABLE, NULL, 1);
	struct inv_machine m = {0};
	struct inv_err e = {0};
	assert_int_equal(inv_machine_get(f->a.inv, "slow-0000", &m, &e), INV_OK);
	assert_int_equal(m.state, INV_ST_FAILED);
	if (!strstr(m.last_error, "deadline of 2 s passed"))
		fail_msg("last_error: %s", m.last_error);
	inv_machine_clear(&m);
}

static void test_restart_mid_onboarding(void **state)
{
	struct engine_fixture *f = *state;
	ef_start(f);
	enroll(f, "c", 300, "r02", "{\"sku\":\"" SKU "\",\"agent_ms\":300}");
	wait_for(f, INV_ST_AVAILABLE, NULL, 20);
	stop(f); /* leases and waits stay in the database as a crash leaves them */
	int done = count(f, INV_ST_AVAILABLE, NULL);
	if (done == 300)
		skip(); /* all done before the stop: nothing to resume on this machine */
	ef_start(f);
	wait_for(f, INV_ST_AVAILABLE, NULL, 300);
	assert_int_equal(count(f, INV_ST_FAILED, NULL), 0);
}

static void test_bmc_calls_hold_no_worker(void **state)
{
	struct engine_fixture *f = *state;
	f->a.cfg.lc_workers = 2;
	f->a.cfg.bmc_max_concurrent = 64;
	ef_start(f);
	/* every BMC call takes 300 ms: with the calls on the workers, at most
	 * 2 would run at once */
	enroll(f, "b", 64, NULL, "{\"sku\":\"" SKU "\",\"delay_ms\":300}");
	wait_for(f, INV_ST_AVAILABLE, NULL, 64);
	int most = bmc_fake_max_in_flight(f->a.bmc);
	if (most < 16)
		fail_msg("2 workers, 64 machines, call pool of 64: %d BMC calls at once at most",
			 most);
	assert_int_equal(count(f, INV_ST_FAILED, NULL), 0);
}

static void test_change_while_bmc_call_waits(void **state)
{
	struct engine_fixture *f = *state;
	struct inv_machine m = {0};
	struct inv_err e = {0};
	ef_start(f);
	/* verification's first call (power state) takes 1.5 s */
	enroll(f, "t", 1, NULL, "{\"sku\":\"" SKU "\",\"delay_ms\":1500}");
	for (int i = 0; i < 500 && bmc_fake_max_in_flight(f->a.bmc) < 1; i++)
		usleep(10000);
	assert_int_equal(inv_machine_get(f->a.inv, "t-0000", &m, &e), INV_OK);
	assert_int_equal(m.state, INV_ST_VERIFYING);
	/* a tech puts it in maintenance meanwhile (as PATCH does) */
	struct inv_machine_change c = {.expect_version = m.version,
				       .set_state = true,
				       .state = INV_ST_MAINTENANCE,
				       .set_maintenance = true,
				       .maintenance = true,
				       .set_phase = true,
				       .phase = "",
				       .set_wake = true,
				       .wake_at = inv_now_ms(),
				       .actor = "test"};
	assert_int_equal(inv_machine_change(f->a.inv, m.id, &c, NULL, &e), INV_OK);
	char id[INV_ID_LEN];
	snprintf(id, sizeof id, "%s", m.id);
	inv_machine_clear(&m);
	usleep(4000 * 1000); /* the answer came and the step ran again */
	assert_int_equal(inv_machine_get(f->a.inv, "t-0000", &m, &e), INV_OK);
	assert_int_equal(m.state, INV_ST_MAINTENANCE);
	assert_int_equal(m.wake_at, 0); /* resting: nothing left to do */
	inv_machine_clear(&m);
	assert_int_equal(bmc_fake_calls(f->a.bmc, id, "boot_set"), 0);
}

static void test_rack_wait_not_deadline(void **state)
{
	struct engine_fixture *f = *state;
	f->a.cfg.verify_timeout_s = 2;
	f->a.cfg.lc_max_per_rack = 1;
	ef_start(f);
	/* a verification takes ~1 s (BMC calls of 300 ms); one machine of the
	 * rack at a time, so the sixth starts ~5 s after it entered verifying */
	enroll(f, "d", 6, "r03", "{\"sku\":\"" SKU "\",\"delay_ms\":300}");
	wait_for(f, INV_ST_AVAILABLE, NULL, 6);
	assert_int_equal(count(f, INV_ST_FAILED, NULL), 0);
}

static void count_writes(void *ctx, const char *line)
{
	const char *name = "provisiond_inventory_writes_total ";
	if (strncmp(line, name, strlen(name)) == 0)
		*(long long *)ctx = strtoll(line + strlen(name), NULL, 10);
}

static long long inventory_writes(struct engine_fixture *f)
{
	long long n = -1;
	inv_metrics(f->a.inv, count_writes, &n);
	assert_true(n >= 0);
	return n;
}

static void test_one_write_per_transition(void **state)
{
	struct engine_fixture *f = *state;
	enum { N = 100 };
	enroll(f, "o", N, NULL, "{\"sku\":\"" SKU "\"}");
	long long before = inventory_writes(f);
	ef_start(f);
	wait_for(f, INV_ST_AVAILABLE, NULL, N);
	stop(f);
	long long writes = inventory_writes(f) - before;
	/* enrolled -> verifying -> inspecting -> cleaning -> available: 4
	 * outcomes, and the boot grants of inspection's and cleaning's agent
	 * boots (the cleaning outcome ends the agent session with the move);
	 * a few more for the scheduler's housekeeping. A lease before each
	 * step would add 4 per machine. */
	if (writes > N * 6 + 10 || writes < N * 4)
		fail_msg("%d machines enrolled -> available: %lld inventory writes (%.2f each)", N,
			 writes, (double)writes / N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_waiting_machines_hold_no_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rack_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deadline_fires, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_mid_onboarding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bmc_calls_hold_no_worker, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_change_while_bmc_call_waits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rack_wait_not_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_write_per_transition, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
