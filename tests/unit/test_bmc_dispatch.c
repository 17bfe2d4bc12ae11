/* test_bmc_dispatch.c - the dispatch layer with the fake driver: argument checks,
 * unsupported slots, retries, breaker, global cap, per-BMC serialization,
 * confirmation, the watchdog, metrics.
 *
 * Timing runs on util's virtual clock (the *_on_vclock tests): timeouts, backoff and
 * confirmation polls are checked to the millisecond of virtual time, never as an
 * upper bound on real time. The concurrency tests need real overlap and keep the
 * real clock; they assert no times. */
#include <pthread.h>
#include <stdatomic.h>
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
#include "provisiond/bmc/fake.h"
#include "provisiond/bmc/manager.h"
#include "tests/vclock_fixture.h"

static struct bmc_limits fast_limits(void)
{
	struct bmc_limits l;

	bmc_limits_default(&l);
	l.call_timeout_ms = 200;
	l.confirm_timeout_ms = 500;
	l.confirm_poll_ms = 10;
	l.retry_base_ms = 5;
	l.retry_max_ms = 20;
	l.breaker_cooldown_ms = 300;
	l.queue_timeout_ms = 2000;
	return l;
}

static struct bmc_target fake(const char *key, const char *opts)
{
	return (struct bmc_target){.key = key, .driver = "fake", .options_json = opts};
}

static struct bmc_manager *new_manager(const struct bmc_limits *l)
{
	struct bmc_manager *m = bmc_manager_new(l);

	assert_non_null(m);
	return m;
}

static void test_power_and_boot_roundtrip(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m = new_manager(&l);
	struct bmc_target t = fake("m1", "{\"sku\":\"lab.small\",\"delay_ms\":1,\"fail_rate\":0}");
	enum bmc_power_state p = BMC_POWER_UNKNOWN;
	enum bmc_boot_device d;
	bool persistent;
	char hist[256];

	(void)state;
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	assert_int_equal(p, BMC_POWER_OFF);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_ON, NULL), BMC_OK);
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	assert_int_equal(p, BMC_POWER_ON);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_OFF, NULL), BMC_OK);
	/* cycle of an off machine starts it; soft of an off machine does nothing */
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_CYCLE, NULL), BMC_OK);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_RESET, NULL), BMC_OK);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_SOFT_OFF, NULL), BMC_OK);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_SOFT_OFF, NULL), BMC_OK);
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, false, NULL), BMC_OK);
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_DISK, true, NULL), BMC_OK);
	assert_int_equal(bmc_fake_history(m, "m1", hist, sizeof(hist)) > 0, 1);
	assert_string_equal(hist, "on,off,on,reset,soft,boot:pxe:next,boot:disk:persistent");
	assert_int_equal(bmc_fake_peek(m, "m1", &p, &d, &persistent), 0);
	assert_int_equal(p, BMC_POWER_OFF);
	assert_int_equal(d, BMC_BOOT_DISK);
	assert_true(persistent);
	assert_int_equal(bmc_fake_peek(m, "nobody", NULL, NULL, NULL), -1);
	bmc_manager_free(m);
	bmc_manager_free(NULL);
}

static void test_invalid_arguments(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m = new_manager(&l);
	struct bmc_target t = fake("m1", NULL), nokey = fake(NULL, NULL);
	enum bmc_power_state p;
	struct bmc_error e;

	(void)state;
	assert_int_equal(bmc_power_get(NULL, &t, &p, &e), BMC_ERR_INVALID);
	assert_int_equal(bmc_power_get(m, NULL, &p, &e), BMC_ERR_INVALID);
	assert_int_equal(bmc_power_get(m, &t, NULL, &e), BMC_ERR_INVALID);
	assert_int_equal(bmc_power_set(m, &t, (enum bmc_power_action)99, &e), BMC_ERR_INVALID);
	assert_non_null(strstr(e.message, "unknown action 99"));
	assert_int_equal(bmc_boot_set(m, &t, (enum bmc_boot_device)7, true, &e), BMC_ERR_INVALID);
	assert_int_equal(bmc_power_get(m, &nokey, &p, &e), BMC_ERR_INVALID);
	assert_string_equal(e.field, "bmc.key");
	t.options_json = "{\"delay_ms\":\"x\"}";
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_ON, &e), BMC_ERR_INVALID);
	assert_string_equal(e.field, "bmc.options.delay_ms");
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_ON, NULL), BMC_ERR_INVALID);
	l.max_concurrent = 0;
	assert_null(bmc_manager_new(&l));
	bmc_manager_free(m);
}

static enum bmc_status null_open(void *priv, const struct bmc_target *t, const json_t *opts,
				 int timeout_ms, void **inst, struct bmc_error *e)
{
	(void)priv, (void)t, (void)opts, (void)timeout_ms, (void)e;
	*inst = NULL;
	return BMC_OK;
}

static enum bmc_status null_power_get(void *inst, int timeout_ms, enum bmc_power_state *out,
				      struct bmc_error *e)
{
	(void)inst, (void)timeout_ms, (void)e;
	*out = BMC_POWER_ON;
	return BMC_OK;
}

static const struct bmc_driver readonly_driver = {
    .name = "readonly",
    .open = null_open,
    .power_get = null_power_get,
};

static const struct bmc_driver missing_driver = {.name = "foo", .missing = "libfoo"};

static void test_unsupported_slots(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m;
	struct bmc_target t = {.key = "r1", .driver = "readonly"};
	enum bmc_power_state p;
	struct bmc_error e;

	(void)state;
	bmc_registry_set_test_driver(&readonly_driver);
	m = new_manager(&l);
	assert_int_equal(bmc_driver_caps("readonly"), BMC_CAP_POWER_GET);
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_OK);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_ON, &e), BMC_ERR_UNSUPPORTED);
	assert_string_equal(e.message, "driver readonly does not support power_set");
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, true, &e), BMC_ERR_UNSUPPORTED);
	assert_string_equal(e.message, "driver readonly does not support a persistent boot device");
	bmc_manager_free(m);

	bmc_registry_set_test_driver(&missing_driver);
	m = new_manager(&l);
	t.driver = "foo";
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_NOT_COMPILED);
	assert_string_equal(e.message,
			    "bmc.driver: driver foo not compiled in (built without libfoo)");
	assert_int_equal(bmc_driver_caps("foo"), 0);
	bmc_manager_free(m);
	bmc_registry_set_test_driver(NULL);
	assert_int_equal(bmc_driver_caps("fake"), BMC_CAP_POWER_GET | BMC_CAP_POWER_SET |
						      BMC_CAP_SOFT_OFF | BMC_CAP_BOOT_NEXT |
						      BMC_CAP_BOOT_PERSISTENT | BMC_CAP_CONSOLE |
						      BMC_CAP_CYCLE_AT_ONCE);
}

static void test_breaker_opens_fails_fast_and_recovers(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m;
	struct bmc_target dead = fake("dead", "{\"unreachable\":true,\"timeout_ms\":30}");
	struct bmc_target other = fake("other", NULL);
	enum bmc_power_state p;
	struct bmc_error e;
	int64_t t0;

	(void)state;
	l.breaker_threshold = 3;
	m = new_manager(&l);
	for (int i = 0; i < 3; i++) {
		t0 = util_now_ms();
		assert_int_equal(bmc_power_get(m, &dead, &p, &e), BMC_ERR_UNREACHABLE);
		assert_string_equal(e.message, "no answer from BMC at fake://dead within 30 ms");
		assert_int_equal(util_now_ms() - t0, 30); /* the timeout, not retried */
	}
	t0 = util_now_ms();
	assert_int_equal(bmc_power_set(m, &dead, BMC_POWER_ACTION_ON, &e), BMC_ERR_CIRCUIT_OPEN);
	assert_int_equal(util_now_ms() - t0, 0); /* fails fast */
	assert_string_equal(
	    e.message, "BMC at fake://dead unreachable (circuit open, retry in 1s); last error: no "
		       "answer from BMC at fake://dead within 30 ms");
	assert_int_equal(bmc_fake_calls(m, "dead", "open"), 3);
	assert_int_equal(bmc_power_get(m, &other, &p, &e), BMC_OK); /* others unaffected */

	util_sleep_ms(320); /* half-open: one trial, still dead -> open again */
	assert_int_equal(bmc_power_get(m, &dead, &p, &e), BMC_ERR_UNREACHABLE);
	assert_int_equal(bmc_power_get(m, &dead, &p, &e), BMC_ERR_CIRCUIT_OPEN);
	assert_int_equal(bmc_fake_calls(m, "dead", "open"), 4);

	util_sleep_ms(320); /* the BMC came back: the trial closes the circuit */
	dead.options_json = "{\"timeout_ms\":30}";
	assert_int_equal(bmc_power_get(m, &dead, &p, &e), BMC_OK);
	assert_int_equal(bmc_power_get(m, &dead, &p, &e), BMC_OK);
	bmc_manager_free(m);
}

static void test_breaker_resets_on_new_address(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m;
	struct bmc_target t = fake("moved", "{\"unreachable\":true,\"timeout_ms\":20}");
	enum bmc_power_state p;

	(void)state;
	l.breaker_threshold = 1;
	m = new_manager(&l);
	t.address = "10.0.0.1";
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_ERR_UNREACHABLE);
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_ERR_CIRCUIT_OPEN);
	t.address = "10.0.0.2";
	t.options_json = NULL;
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	bmc_manager_free(m);
}

static void test_auth_not_retried_and_not_counted_by_breaker(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m;
	struct bmc_target t = fake("auth", NULL);
	enum bmc_power_state p;
	struct bmc_error e;

	(void)state;
	l.breaker_threshold = 2;
	m = new_manager(&l);
	bmc_fake_inject(m, "auth", "power_get", BMC_ERR_AUTH, 100);
	for (int i = 0; i < 4; i++)
		assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_AUTH);
	assert_int_equal(bmc_fake_calls(m, "auth", "power_get"), 4);
	bmc_manager_free(m);
}

/* The virtual sleeps since the last call: how many, and their total in [lo, hi]. */
static void expect_sleeps(unsigned n, int64_t lo, int64_t hi)
{
	static unsigned sleeps;
	static int64_t slept;
	unsigned now_sleeps = util_vclock_sleeps(&vclock);
	int64_t now_slept = util_vclock_slept_ms(&vclock);

	assert_int_equal(now_sleeps - sleeps, n);
	assert_in_range(now_slept - slept, lo, hi);
	sleeps = now_sleeps;
	slept = now_slept;
}

static void test_transient_errors_retried(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m;
	struct bmc_target t = fake("flaky", NULL);
	enum bmc_power_state p;
	struct bmc_error e;

	(void)state;
	l.retries = 2;
	m = new_manager(&l);
	bmc_fake_inject(m, "flaky", "power_get", BMC_ERR_TIMEOUT, 1);
	expect_sleeps(0, 0, 0);
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_OK);
	assert_int_equal(bmc_fake_calls(m, "flaky", "power_get"), 2);
	assert_int_equal(bmc_fake_calls(m, "flaky", "open"), 2); /* a fresh session */
	expect_sleeps(1, 2, 5); /* retry 0: base 5 ms, jittered in [2, 5] */

	bmc_fake_inject(m, "flaky", "power_get", BMC_ERR_BUSY, 5);
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_BUSY);
	assert_int_equal(bmc_fake_calls(m, "flaky", "power_get"), 5); /* 2 + 1 + 2 retries */
	expect_sleeps(2, 2 + 5, 5 + 10); /* then retry 1: 10 ms in [5, 10] */

	bmc_fake_inject(m, "flaky", "power_get", BMC_OK, 0);
	bmc_fake_inject(m, "flaky", "open", BMC_ERR_UNREACHABLE, 1);
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_UNREACHABLE);
	assert_int_equal(bmc_fake_calls(m, "flaky", "open"), 6); /* not retried */

	bmc_fake_inject(m, "flaky", "boot_set", BMC_ERR_FAILED, 1);
	assert_int_equal(bmc_boot_set(m, &t, BMC_BOOT_PXE, true, &e), BMC_ERR_FAILED);
	assert_int_equal(bmc_fake_calls(m, "flaky", "boot_set"), 1);
	expect_sleeps(0, 0, 0); /* neither slept */
	bmc_manager_free(m);
}

/* A gate that lets exactly one call by, then refuses: the fence of a
 * replica that was stopped after a call had passed the gate, while it
 * waited for a slot or for its thread to start. */
static atomic_int gate_checks;

static bool gate_once(void *ctx, int64_t claim_epoch, char *why, size_t len)
{
	(void)ctx;
	(void)claim_epoch;
	if (atomic_fetch_add(&gate_checks, 1) == 0)
		return true;
	snprintf(why, len, "fenced meanwhile");
	return false;
}

/* The gate is asked again right before the driver runs: a call that
 * passed it and was then fenced is not sent (api_replicas' SIGSTOP test
 * saw a replica send a power read under its old epoch after its resume). */
static void test_gate_asked_again_before_the_call(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m = new_manager(&l);
	struct bmc_target t = fake("fenced", NULL);
	enum bmc_power_state p;
	struct bmc_error e;

	(void)state;
	atomic_store(&gate_checks, 0);
	bmc_manager_set_gate(m, gate_once, NULL);
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_ERR_BUSY);
	assert_non_null(strstr(e.message, "not sent: fenced meanwhile"));
	assert_int_equal(bmc_fake_calls(m, "fenced", "open"), 0);
	assert_int_equal(bmc_fake_calls(m, "fenced", "power_get"), 0);
	bmc_manager_free(m);
}

static void test_reboots_never_resent_after_timeout(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m = new_manager(&l);
	struct bmc_target t = fake("rb", NULL);
	struct bmc_error e;
	char hist[128];

	(void)state;
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_ON, &e), BMC_OK);
	bmc_fake_inject(m, "rb", "power_set", BMC_ERR_TIMEOUT, 1);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_CYCLE, &e), BMC_ERR_TIMEOUT);
	assert_non_null(strstr(e.message, "(not resent: it may have reached the BMC)"));
	assert_int_equal(bmc_fake_calls(m, "rb", "power_set"), 2);
	/* "busy" means the BMC did not act: resending is safe */
	bmc_fake_inject(m, "rb", "power_set", BMC_ERR_BUSY, 1);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_CYCLE, &e), BMC_OK);
	/* on/off are idempotent: resent after a timeout */
	bmc_fake_inject(m, "rb", "power_set", BMC_ERR_TIMEOUT, 1);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_OFF, &e), BMC_OK);
	assert_int_equal(bmc_fake_calls(m, "rb", "power_set"), 6);
	bmc_fake_history(m, "rb", hist, sizeof(hist));
	assert_string_equal(hist, "on,cycle,off");
	bmc_manager_free(m);
}

struct worker {
	pthread_t tid;
	struct bmc_manager *m;
	char key[32];
	const char *opts;
	int rounds;
	enum bmc_status st;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct bmc_target t = fake(w->key, w->opts);
	enum bmc_power_state p;

	w->st = BMC_OK;
	for (int i = 0; i < w->rounds && w->st == BMC_OK; i++) {
		w->st = bmc_power_set(w->m, &t, i % 2 ? BMC_POWER_ACTION_OFF : BMC_POWER_ACTION_ON,
				      NULL);
		if (w->st == BMC_OK)
			w->st = bmc_power_get(w->m, &t, &p, NULL);
		if (w->st == BMC_OK)
			w->st = bmc_boot_set(w->m, &t, BMC_BOOT_PXE, false, NULL);
	}
	return NULL;
}

static void run_workers(struct bmc_manager *m, int n, bool same_key, const char *opts)
{
	struct worker w[8];

	assert_true(n <= 8);
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){.m = m, .opts = opts, .rounds = 2};
		snprintf(w[i].key, sizeof(w[i].key), same_key ? "shared" : "k%d", i);
		assert_int_equal(pthread_create(&w[i].tid, NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		assert_int_equal(w[i].st, BMC_OK);
	}
}

static void test_global_cap_respected(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m;

	(void)state;
	l.max_concurrent = 2;
	m = new_manager(&l);
	run_workers(m, 8, false, "{\"delay_ms\":15}");
	assert_int_equal(bmc_fake_max_in_flight(m), 2);
	bmc_manager_free(m);
}

/* Callers waiting for a global slot get it in the order they came. */
struct slot_taker {
	struct bmc_manager *m;
	long long deadline_ms;
	pthread_t tid;
	enum bmc_status st;
	int turn; /* order in which it got the slot */
};

static atomic_int slot_turns;

static void *take_slot(void *arg)
{
	struct slot_taker *t = arg;
	struct bmc_error e;
	t->st = bmc_slot_acquire(t->m, t->deadline_ms, &e);
	if (t->st == BMC_OK) {
		t->turn = atomic_fetch_add(&slot_turns, 1);
		bmc_slot_release(t->m);
	}
	return NULL;
}

static void wait_queued(struct bmc_manager *m, int n)
{
	for (int i = 0; i < 5000; i++) {
		pthread_mutex_lock(&m->mu);
		int w = m->waiting;
		pthread_mutex_unlock(&m->mu);
		if (w == n)
			return;
		util_sleep_ms(1);
	}
	fail_msg("never saw %d callers waiting for a slot", n);
}

static void test_slots_first_come_first_served(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_error e;
	struct slot_taker t[4];

	(void)state;
	l.max_concurrent = 1;
	struct bmc_manager *m = new_manager(&l);
	atomic_store(&slot_turns, 0);
	assert_int_equal(bmc_slot_acquire(m, util_now_ms() + 1000, &e), BMC_OK);
	for (int i = 0; i < 4; i++) {
		/* the third gives up before the slot comes free: it leaves the queue */
		t[i] = (struct slot_taker){
		    .m = m, .deadline_ms = util_now_ms() + (i == 2 ? 1000 : 20000), .turn = -1};
		assert_int_equal(pthread_create(&t[i].tid, NULL, take_slot, &t[i]), 0);
		wait_queued(m, i + 1);
	}
	wait_queued(m, 3);
	bmc_slot_release(m);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i].tid, NULL);
	assert_int_equal(t[2].st, BMC_ERR_BUSY);
	assert_int_equal(t[0].turn, 0);
	assert_int_equal(t[1].turn, 1);
	assert_int_equal(t[3].turn, 2);
	assert_int_equal(m->in_flight, 0);
	assert_int_equal(m->waiting, 0);
	bmc_manager_free(m);
}

static void test_one_operation_per_bmc(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m = new_manager(&l);

	(void)state;
	run_workers(m, 6, true, "{\"delay_ms\":5}");
	assert_int_equal(bmc_fake_max_in_flight_key(m, "shared"), 1);
	bmc_manager_free(m);
}

static void test_confirm_waits_for_state(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m = new_manager(&l);
	struct bmc_target t = fake("slow", "{\"settle_ms\":100}");
	enum bmc_power_state p;
	struct bmc_error e;
	int64_t t0 = util_now_ms();

	(void)state;
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_ON, &e), BMC_OK);
	assert_int_equal(util_now_ms() - t0, 100); /* polled every 10 ms until it showed */
	assert_int_equal(bmc_power_get(m, &t, &p, &e), BMC_OK);
	assert_int_equal(p, BMC_POWER_ON);
	t.options_json = "{\"settle_ms\":5000}";
	t0 = util_now_ms();
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_OFF, &e), BMC_ERR_TIMEOUT);
	assert_string_equal(
	    e.message,
	    "BMC at fake://slow accepted 'off' but the power never reached off: still on after "
	    "500 ms");
	assert_int_equal(util_now_ms() - t0, 500);
	bmc_manager_free(m);
}

/* A driver whose open hangs on a gate the test opens: a stuck library call, which
 * no clock (real or virtual) ends. Targets with the key "free" never hang. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool open;
	int returned; /* hung opens that came back */
} gate = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void gate_set(bool open)
{
	pthread_mutex_lock(&gate.mu);
	gate.open = open;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
}

static int gate_returned(void)
{
	int n;

	pthread_mutex_lock(&gate.mu);
	n = gate.returned;
	pthread_mutex_unlock(&gate.mu);
	return n;
}

static enum bmc_status stuck_open(void *priv, const struct bmc_target *t, const json_t *opts,
				  int timeout_ms, void **inst, struct bmc_error *e)
{
	(void)priv, (void)opts, (void)timeout_ms, (void)e;
	*inst = NULL;
	if (strcmp(t->key, "free") == 0)
		return BMC_OK;
	pthread_mutex_lock(&gate.mu);
	while (!gate.open)
		pthread_cond_wait(&gate.cv, &gate.mu);
	gate.returned++;
	pthread_mutex_unlock(&gate.mu);
	return BMC_OK;
}

static const struct bmc_driver stuck_driver = {
    .name = "stuck",
    .open = stuck_open,
    .power_get = null_power_get,
};

static void *open_gate_later(void *arg)
{
	(void)arg;
	util_real_sleep_ms(50);
	gate_set(true);
	return NULL;
}

static void test_watchdog_abandons_stuck_call(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m;
	struct bmc_target stuck = {
	    .key = "stuck", .driver = "stuck", .options_json = "{\"timeout_ms\":50}"};
	struct bmc_target after = {.key = "stuck", .driver = "stuck"};
	struct bmc_target other = {.key = "free", .driver = "stuck"};
	enum bmc_power_state p;
	struct bmc_error e;
	enum bmc_status st = BMC_ERR_BUSY;
	int64_t t0 = util_now_ms();
	pthread_t opener;

	(void)state;
	gate_set(false);
	bmc_registry_set_test_driver(&stuck_driver);
	l.queue_timeout_ms = 100;
	m = new_manager(&l);
	assert_int_equal(bmc_power_get(m, &stuck, &p, &e), BMC_ERR_TIMEOUT);
	assert_int_equal(util_now_ms() - t0, 300); /* 50 ms + 250 ms grace */
	assert_non_null(strstr(e.message, "driver stuck did not return from open within 300 ms"));
	/* the stuck call still holds the BMC: the next one waits, then gives up */
	t0 = util_now_ms();
	assert_int_equal(bmc_power_get(m, &after, &p, &e), BMC_ERR_BUSY);
	assert_int_equal(util_now_ms() - t0, 100); /* the queue timeout */
	assert_non_null(strstr(e.message, "BMC at stuck://stuck is busy with another operation "
					  "(waited 100 ms)"));
	assert_int_equal(bmc_power_get(m, &other, &p, &e), BMC_OK);
	/* the call returns: the BMC is free again once its cleanup ran */
	gate_set(true);
	for (int i = 0; i < 100 && st == BMC_ERR_BUSY; i++)
		st = bmc_power_get(m, &after, &p, &e);
	assert_int_equal(st, BMC_OK);
	assert_int_equal(gate_returned(), 2); /* the abandoned open, then this one's */
	/* free waits for an abandoned call to return */
	gate_set(false);
	assert_int_equal(bmc_power_get(m, &stuck, &p, &e), BMC_ERR_TIMEOUT);
	assert_int_equal(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
	bmc_manager_free(m);
	assert_int_equal(gate_returned(), 3);
	pthread_join(opener, NULL);
	bmc_registry_set_test_driver(NULL);
}

struct lines {
	char buf[16384];
	size_t n;
	char family[96];
	int bad;
};

/* Also checks that each family's samples follow its own # TYPE line. */
static void collect(void *ctx, const char *line)
{
	struct lines *l = ctx;
	size_t len = strlen(line);

	if (strncmp(line, "# TYPE ", 7) == 0)
		snprintf(l->family, sizeof(l->family), "%.*s", (int)strcspn(line + 7, " "),
			 line + 7);
	else if (line[0] != '#' && strncmp(line, l->family, strlen(l->family)) != 0)
		l->bad++;
	if (strchr(line, '\n') != NULL)
		l->bad++;
	if (l->n + len + 2 < sizeof(l->buf)) {
		memcpy(l->buf + l->n, line, len);
		l->n += len;
		l->buf[l->n++] = '\n';
		l->buf[l->n] = '\0';
	}
}

static void test_metrics(void **state)
{
	struct bmc_limits l = fast_limits();
	struct bmc_manager *m = new_manager(&l);
	struct bmc_target t = fake("met", NULL);
	struct bmc_target dead = fake("metdead", "{\"unreachable\":true,\"timeout_ms\":10}");
	struct lines *out = calloc(1, sizeof(*out));
	enum bmc_power_state p;

	(void)state;
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	assert_int_equal(bmc_power_set(m, &t, BMC_POWER_ACTION_ON, NULL), BMC_OK);
	bmc_fake_inject(m, "met", "power_get", BMC_ERR_TIMEOUT, 1);
	assert_int_equal(bmc_power_get(m, &t, &p, NULL), BMC_OK);
	for (int i = 0; i < 4; i++) /* three unreachable, then the breaker opens */
		assert_int_not_equal(bmc_power_get(m, &dead, &p, NULL), BMC_OK);
	bmc_manager_metrics(m, collect, out);
	assert_int_equal(out->bad, 0);
	assert_non_null(strstr(
	    out->buf,
	    "provisiond_bmc_operations_total{driver=\"fake\",op=\"power_get\",status=\"ok\"} 2\n"));
	assert_non_null(strstr(out->buf, "provisiond_bmc_operations_total{driver=\"fake\",op="
					 "\"power_get\",status=\"unreachable\"} 3\n"));
	assert_non_null(strstr(out->buf, "provisiond_bmc_operations_total{driver=\"fake\",op="
					 "\"power_get\",status=\"circuit_open\"} 1\n"));
	assert_non_null(strstr(out->buf, "provisiond_bmc_operation_duration_seconds_count{driver="
					 "\"fake\",op=\"power_set\"} 1\n"));
	assert_non_null(strstr(out->buf, "provisiond_bmc_retries_total{driver=\"fake\"} 1\n"));
	assert_non_null(strstr(out->buf, "provisiond_bmc_circuits{state=\"open\"} 1\n"));
	assert_non_null(strstr(out->buf, "provisiond_bmc_calls_in_flight 0\n"));
	assert_non_null(strstr(out->buf, "# TYPE provisiond_bmc_operations_total counter\n"));
	free(out);
	bmc_manager_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_power_and_boot_roundtrip, vclock_on, vclock_off),
	    cmocka_unit_test(test_invalid_arguments),
	    cmocka_unit_test(test_unsupported_slots),
	    cmocka_unit_test(test_slots_first_come_first_served),
	    cmocka_unit_test_setup_teardown(test_breaker_opens_fails_fast_and_recovers, vclock_on,
					    vclock_off),
	    cmocka_unit_test_setup_teardown(test_breaker_resets_on_new_address, vclock_on,
					    vclock_off),
	    cmocka_unit_test_setup_teardown(test_auth_not_retried_and_not_counted_by_breaker,
					    vclock_on, vclock_off),
	    cmocka_unit_test_setup_teardown(test_transient_errors_retried, vclock_on, vclock_off),
	    cmocka_unit_test_setup_teardown(test_reboots_never_resent_after_timeout, vclock_on,
					    vclock_off),
	    cmocka_unit_test_setup_teardown(test_gate_asked_again_before_the_call, vclock_on,
					    vclock_off),
	    /* real overlap between threads: the real clock */
	    cmocka_unit_test(test_global_cap_respected),
	    cmocka_unit_test(test_one_operation_per_bmc),
	    cmocka_unit_test_setup_teardown(test_confirm_waits_for_state, vclock_on, vclock_off),
	    cmocka_unit_test_setup_teardown(test_watchdog_abandons_stuck_call, vclock_on,
					    vclock_off),
	    cmocka_unit_test_setup_teardown(test_metrics, vclock_on, vclock_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
