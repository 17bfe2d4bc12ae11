/* The lifecycle steps, driven in process: a real SQLite inventory in a
 * temporary directory, a BMC manager with the fake driver, the shipped SKU
 * catalog and a hand-built struct lc_ctx. Each test enrolls machines and
 * calls lc_step() itself (no engine threads), then checks the states,
 * events, last_error and the fake BMC's history. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_fixture.h"
#include "inventory/inventory.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/bmc/fake.h"
#include "provisiond/lifecycle/context.h"
#include "provisiond/lifecycle/deploy.h"
#include "skus/sku.h"

#define SKU "lab.small" /* in skus/catalog */

/* ---- fixture: inventory, BMC manager, catalog, context ---- */

static int64_t clock_offset_ms; /* the test clock runs this far ahead */

static int64_t test_now(void)
{
	return inv_now_ms() + clock_offset_ms;
}

struct fixture {
	struct engine_fixture e; /* e.a: inv, bmc, catalog, catalog_lock */
	atomic_bool frozen;
	struct lc_stats stats;
	struct lc_ctx x;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct bmc_limits bl;

	assert_non_null(f);
	bmc_limits_default(&bl);
	bl.retries = 0; /* an injected failure reaches the step */
	bl.confirm_poll_ms = 10;
	bl.confirm_timeout_ms = 2000;
	bl.breaker_threshold = 2; /* test_breaker_last_attempt */
	bl.breaker_cooldown_ms = 300;
	ef_open(&f->e, "test_lifecycle", &bl);
	ef_load_catalog(&f->e, NULL);
	clock_offset_ms = 0;
	f->x = (struct lc_ctx){
	    .inv = f->e.a.inv,
	    .bmc = f->e.a.bmc,
	    .catalog_lock = &f->e.a.catalog_lock,
	    .catalog = &f->e.a.catalog,
	    .limits = {.verify_timeout_s = 60,
		       .inspect_timeout_s = 600,
		       .clean_timeout_s = 600,
		       .deploy_timeout_s = 600,
		       .release_timeout_s = 600,
		       .max_attempts = 3,
		       .backoff_base_ms = 10,
		       .backoff_max_ms = 20,
		       .max_substitutions = 0,
		       .max_concurrent_deploys = 4},
	    .boot_url = "http://127.0.0.1:7481",
	    .frozen = &f->frozen,
	    .now_ms = test_now,
	    .stats = &f->stats,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ef_close(&f->e);
	free(f);
	return 0;
}

/* ---- helpers ---- */

/* Enrolls a machine (a MAC of its own) with a fake BMC of the given
 * options; its id to id. */
static void enroll(struct fixture *f, const char *name, const char *options, char id[INV_ID_LEN])
{
	ef_enroll(&f->e, name, options, NULL, id);
}

static struct inv_machine get(struct fixture *f, const char *id)
{
	struct inv_machine m = {0};
	struct inv_err e = {0};
	if (inv_machine_get(f->e.a.inv, id, &m, &e) != INV_OK)
		fail_msg("get %s: %s", id, e.message);
	return m;
}

/* One step on the machine's current record; returns its state after. */
static enum inv_state step(struct fixture *f, const char *id)
{
	struct inv_machine m = get(f, id);
	lc_step(&f->x, &m);
	inv_machine_clear(&m);
	m = get(f, id);
	enum inv_state st = m.state;
	inv_machine_clear(&m);
	return st;
}

/* Steps once per name in want ("verifying,inspecting,..."), checking the
 * state after each step. */
static void step_through(struct fixture *f, const char *id, const char *what, const char *want)
{
	char copy[256], *save = NULL;
	int i = 0;
	snprintf(copy, sizeof copy, "%s", want);
	for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save), i++) {
		enum inv_state got = step(f, id);
		if (strcmp(inv_state_name(got), s)) {
			struct inv_machine m = get(f, id);
			fail_msg("%s: step %d: want %s, got %s (last_error \"%s\")", what, i + 1, s,
				 inv_state_name(got), m.last_error);
		}
	}
}

/* The machine's events as "from>to" pairs, comma-separated. */
static void events(struct fixture *f, const char *id, char *buf, size_t len)
{
	struct inv_event_list l = {0};
	struct inv_err e = {0};
	size_t used = 0;
	assert_int_equal(inv_machine_events(f->e.a.inv, id, 0, 100, &l, &e), INV_OK);
	buf[0] = '\0';
	for (size_t i = 0; i < l.n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s>%s", i ? "," : "",
					 l.items[i].from_state, l.items[i].to_state);
	inv_event_list_clear(&l);
}

/* ---- enrolled -> available ---- */

static const struct {
	const char *what;
	const char *options; /* fake BMC */
	const char *inject;  /* fake BMC slot to fail once ("power_get"), or NULL */
	enum bmc_status inject_status;
	const char *states;	/* after each step */
	const char *events;	/* substring of the event list */
	const char *last_error; /* substring; "" = must be empty */
	int attempts;		/* at the end */
	unsigned long retries;	/* lc_stats.retries at the end */
} enroll_cases[] = {
    {"clean run", "{\"sku\":\"" SKU "\"}", NULL, BMC_OK, "verifying,inspecting,cleaning,available",
     "enrolled>verifying,verifying>inspecting,inspecting>cleaning,cleaning>available", "", 0, 0},
    {"agent fails every inspection: retried, then failed", "{\"sku\":\"" SKU "\",\"fail_rate\":1}",
     NULL, BMC_OK, "verifying,inspecting,inspecting,inspecting,failed",
     "verifying>inspecting,inspecting>inspecting,inspecting>inspecting,inspecting>failed",
     "inspecting: gave up after 3 attempts: inspection: fake agent: simulated inspection "
     "failure (fail_rate 1.00)",
     0, 2},
    {"SKU unknown to the catalog: retried, then failed", "{\"sku\":\"no.such\"}", NULL, BMC_OK,
     "verifying,inspecting,inspecting,inspecting,failed", "inspecting>failed",
     "inspecting: gave up after 3 attempts: inspection: fake agent: SKU 'no.such' is not in the "
     "catalog",
     0, 2},
    {"BMC rejects the credentials: final at once", "{\"sku\":\"" SKU "\"}", "power_get",
     BMC_ERR_AUTH, "verifying,failed", "enrolled>verifying,verifying>failed",
     "verifying: verify BMC (read power state): ", 0, 0},
    {"BMC fails once: the retry goes on", "{\"sku\":\"" SKU "\"}", "power_get", BMC_ERR_FAILED,
     "verifying,verifying,inspecting,cleaning,available",
     "enrolled>verifying,verifying>verifying,verifying>inspecting", "", 0, 1},
    {"boot device refused once: the retry goes on", "{\"sku\":\"" SKU "\"}", "boot_set",
     BMC_ERR_FAILED, "verifying,verifying,inspecting,cleaning,available", "cleaning>available", "",
     0, 1},
};

static void test_enroll_table(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < sizeof enroll_cases / sizeof enroll_cases[0]; i++) {
		const char *what = enroll_cases[i].what;
		char id[INV_ID_LEN], name[32], ev[2048];
		snprintf(name, sizeof name, "m%zu", i);
		enroll(f, name, enroll_cases[i].options, id);
		if (enroll_cases[i].inject)
			assert_int_equal(bmc_fake_inject(f->e.a.bmc, id, enroll_cases[i].inject,
							 enroll_cases[i].inject_status, 1),
					 0);
		atomic_store(&f->stats.retries, 0);
		step_through(f, id, what, enroll_cases[i].states);
		struct inv_machine m = get(f, id);
		events(f, id, ev, sizeof ev);
		if (!strstr(ev, enroll_cases[i].events))
			fail_msg("%s: want events ...%s..., got %s", what, enroll_cases[i].events,
				 ev);
		if (enroll_cases[i].last_error[0]
			? !strstr(m.last_error, enroll_cases[i].last_error)
			: m.last_error[0] != '\0')
			fail_msg("%s: want last_error \"%s\", got \"%s\"", what,
				 enroll_cases[i].last_error, m.last_error);
		assert_int_equal(m.attempts, enroll_cases[i].attempts);
		assert_int_equal(atomic_load(&f->stats.retries), enroll_cases[i].retries);
		if (m.state == INV_ST_AVAILABLE) {
			assert_string_equal(m.sku, SKU);
			assert_string_equal(m.power, "off");
			assert_non_null(m.facts_json);
			assert_int_equal(m.wake_at, 0); /* resting */
		}
		inv_machine_clear(&m);
	}
}

/* What the fake BMC was asked on the way to available: verify sets pxe for
 * the next boot; inspection and cleaning boot the agent; cleaning ends with
 * power off. */
static void test_bmc_history(void **state)
{
	struct fixture *f = *state;
	char id[INV_ID_LEN], hist[512];
	enroll(f, "h1", "{\"sku\":\"" SKU "\"}", id);
	step_through(f, id, "history", "verifying,inspecting,cleaning,available");
	assert_true(bmc_fake_history(f->e.a.bmc, id, hist, sizeof hist) > 0);
	assert_string_equal(hist, "boot:pxe:next,boot:pxe:next,on,boot:pxe:next,cycle,off");
	enum bmc_power_state ps;
	assert_int_equal(bmc_fake_peek(f->e.a.bmc, id, &ps, NULL, NULL), 0);
	assert_int_equal(ps, BMC_POWER_OFF);
}

/* Cleaning boots the agent with a power cycle, which the BMC refuses as
 * unsupported: the machine fails for good (not retried). */
static void test_bmc_unsupported_final(void **state)
{
	struct fixture *f = *state;
	char id[INV_ID_LEN];
	enroll(f, "p1", "{\"sku\":\"" SKU "\"}", id);
	step_through(f, id, "unsupported", "verifying,inspecting,cleaning");
	assert_int_equal(bmc_fake_inject(f->e.a.bmc, id, "power_set", BMC_ERR_UNSUPPORTED, 1), 0);
	assert_int_equal(step(f, id), INV_ST_FAILED);
	struct inv_machine m = get(f, id);
	assert_non_null(strstr(m.last_error, "cleaning: power cycle: "));
	assert_int_equal(atomic_load(&f->stats.retries), 0);
	assert_int_equal(atomic_load(&f->stats.failures[INV_ST_CLEANING]), 1);
	inv_machine_clear(&m);
}

/* The inventory opened with another key file: the stored BMC password
 * does not decrypt. The step fails saying so and the BMC is never called
 * (no wrong password is sent). */
static void test_wrong_key(void **state)
{
	struct fixture *f = *state;
	char id[INV_ID_LEN], path[600], hist[512];
	enroll(f, "k1", "{\"sku\":\"" SKU "\"}", id);
	inv_close(f->e.a.inv);
	static const struct inv_key other = {.bytes = "not the key it was sealed with"};
	struct inv_err ie = {0};
	snprintf(path, sizeof path, "%s/provisiond.db", f->e.dir);
	if (inv_open(path, &other, &f->e.a.inv, &ie) != INV_OK)
		fail_msg("inv_open: %s", ie.message);
	f->x.inv = f->e.a.inv;
	assert_int_equal(step(f, id), INV_ST_VERIFYING); /* no BMC call yet */
	assert_int_equal(step(f, id), INV_ST_VERIFYING); /* failed, will retry */
	struct inv_machine m = get(f, id);
	if (!strstr(m.last_error, "cannot read the BMC access") ||
	    !strstr(m.last_error, "does not decrypt"))
		fail_msg("last_error: %s", m.last_error);
	assert_null(strstr(m.last_error, "secret"));
	inv_machine_clear(&m);
	assert_true(bmc_fake_history(f->e.a.bmc, id, hist, sizeof hist) <= 0); /* -1: never seen */
}

/* A BMC that stops answering: two attempts get no answer and open its
 * breaker; the third finds the breaker open, and the machine does not give
 * up on that (it did not try the BMC) but waits for the breaker's trial,
 * costing no attempt. The BMC is back by then: the trial verifies it. */
static void test_breaker_last_attempt(void **state)
{
	struct fixture *f = *state;
	char id[INV_ID_LEN];
	enroll(f, "b1", "{\"sku\":\"" SKU "\"}", id);
	assert_int_equal(bmc_fake_inject(f->e.a.bmc, id, "power_get", BMC_ERR_UNREACHABLE, 2), 0);
	step_through(f, id, "breaker", "verifying,verifying,verifying,verifying");
	struct inv_machine m = get(f, id);
	assert_int_equal(m.attempts, 2); /* the circuit-open failure cost none */
	if (!strstr(m.last_error, "circuit open") || !strstr(m.last_error, "last error: "))
		fail_msg("last_error: %s", m.last_error);
	assert_true(m.wake_at > test_now() && m.wake_at <= test_now() + 300);
	inv_machine_clear(&m);
	assert_int_equal(bmc_fake_calls(f->e.a.bmc, id, "power_get"), 2);
	util_real_sleep_ms(350); /* the cooldown: a trial goes through */
	step_through(f, id, "breaker", "inspecting");
	assert_int_equal(bmc_fake_calls(f->e.a.bmc, id, "power_get"), 3);
	/* on the last attempt with the trial past the deadline, it gives up */
	char id2[INV_ID_LEN];
	enroll(f, "b2", "{\"sku\":\"" SKU "\"}", id2);
	assert_int_equal(bmc_fake_inject(f->e.a.bmc, id2, "power_get", BMC_ERR_UNREACHABLE, 2), 0);
	step_through(f, id2, "breaker", "verifying,verifying,verifying");
	clock_offset_ms = 60 * 1000 - 250; /* the deadline comes before the trial */
	step_through(f, id2, "breaker", "failed");
	m = get(f, id2);
	if (!strstr(m.last_error, "verifying: gave up after 3 attempts: ") ||
	    !strstr(m.last_error, "circuit open"))
		fail_msg("last_error: %s", m.last_error);
	inv_machine_clear(&m);
}

/* A state's deadline passes (the clock moves on): failed, named so. */
static void test_deadline(void **state)
{
	struct fixture *f = *state;
	char id[INV_ID_LEN];
	enroll(f, "d1", "{\"sku\":\"" SKU "\"}", id);
	assert_int_equal(step(f, id), INV_ST_VERIFYING);
	clock_offset_ms = 61 * 1000;
	assert_int_equal(step(f, id), INV_ST_FAILED);
	struct inv_machine m = get(f, id);
	assert_string_equal(
	    m.last_error,
	    "verifying: deadline of 60 s passed while waiting for verifying to finish");
	assert_int_equal(atomic_load(&f->stats.deadline_misses), 1);
	/* no BMC call was made for the late step */
	assert_int_equal(bmc_fake_calls(f->e.a.bmc, id, "power_get"), 0);
	inv_machine_clear(&m);
}

/* One step as the engine takes it: leased first (wake_at moved out, as
 * engine.c's lease does), so the wake-up the step asks for is what stays. */
static void leased_step(struct fixture *f, const char *id)
{
	struct inv_machine m = get(f, id);
	struct inv_claim claim = {0};
	struct inv_err e = {0};
	struct inv_machine_change c = {.expect_version = m.version,
				       .claim = &claim,
				       .take_claim = true,
				       .set_wake = true,
				       .wake_at = test_now() + 60000,
				       .actor = "lifecycle"};
	assert_int_equal(inv_machine_change(f->e.a.inv, id, &c, &m, &e), INV_OK);
	lc_step(&f->x, &m);
	inv_machine_clear(&m);
}

/* The machine waits for its agent (phase agent) and is looked at again at
 * the boot's timeout of 90 s, not at a later fallback. */
static void expect_agent_wait_90s(struct fixture *f, const char *id)
{
	struct inv_machine m = get(f, id);
	assert_string_equal(m.phase, "agent");
	if (m.wake_at < test_now() + 89000 || m.wake_at > test_now() + 91000)
		fail_msg("wakes in %lld ms", (long long)(m.wake_at - test_now()));
	inv_machine_clear(&m);
}

/* The attempt failed at the boot's timeout, saying so. */
static void expect_boot_timed_out(struct fixture *f, const char *id)
{
	struct inv_machine m = get(f, id);
	assert_int_equal(m.attempts, 1);
	if (!strstr(m.last_error, "the agent did not call in within 90 s of its boot"))
		fail_msg("last_error: %s", m.last_error);
	inv_machine_clear(&m);
}

/* The pxe deploy interface boots the agent, which never calls in (the
 * machine lost its power in the middle of the boot, or did not network-boot):
 * the step looks again agent_boot_timeout_s after the boot, fails the attempt
 * there, long before the state's deadline (600 s), and the retry boots it
 * again. */
static void test_agent_boot_timeout(void **state)
{
	struct fixture *f = *state;
	char id[INV_ID_LEN];
	f->x.limits.agent_boot_timeout_s = 90;
	enroll(f, "a1", "{\"sku\":\"" SKU "\",\"deploy\":\"pxe\"}", id);
	step_through(f, id, "boot", "verifying,inspecting");
	leased_step(f, id); /* boots the agent */
	int sets = bmc_fake_calls(f->e.a.bmc, id, "power_set");
	assert_true(sets >= 1);
	leased_step(f, id); /* nobody called in: looks again at the boot's timeout */
	expect_agent_wait_90s(f, id);
	clock_offset_ms = 89 * 1000; /* not yet */
	leased_step(f, id);
	struct inv_machine m = get(f, id);
	assert_int_equal(m.attempts, 0);
	inv_machine_clear(&m);
	clock_offset_ms = 91 * 1000;
	leased_step(f, id);
	m = get(f, id);
	assert_int_equal(m.state, INV_ST_INSPECTING);
	inv_machine_clear(&m);
	expect_boot_timed_out(f, id);
	/* the retry boots the agent again (the clock back: the command's time
	 * is the inventory's) and waits for it as long again */
	clock_offset_ms = 0;
	leased_step(f, id);
	assert_int_equal(bmc_fake_calls(f->e.a.bmc, id, "power_set"), sets + 1);
	m = get(f, id);
	assert_int_equal(m.attempts, 1);
	assert_string_equal(m.phase, "agent");
	inv_machine_clear(&m);
}

/* The same in cleaning, where the wipe is queued right after the boot (no
 * report expected first): the step still looks again at the boot's
 * timeout, not at the 10-minute fallback, and fails the attempt there. */
static void test_agent_boot_timeout_clean(void **state)
{
	struct fixture *f = *state;
	char id[INV_ID_LEN];
	f->x.limits.agent_boot_timeout_s = 90;
	enroll(f, "c1", "{\"sku\":\"" SKU "\",\"deploy\":\"pxe\"}", id);
	struct inv_machine m = get(f, id);
	struct inv_err e = {0};
	struct inv_machine_change c = {.expect_version = m.version,
				       .set_state = true,
				       .state = INV_ST_CLEANING,
				       .set_sku = true,
				       .sku = SKU,
				       .set_wake = true,
				       .wake_at = test_now(),
				       .reason = "test: inspected",
				       .actor = "lifecycle"};
	assert_int_equal(inv_machine_change(f->e.a.inv, id, &c, NULL, &e), INV_OK);
	inv_machine_clear(&m);
	leased_step(f, id); /* boots the agent, queues the wipe */
	m = get(f, id);
	assert_int_equal(m.state, INV_ST_CLEANING);
	inv_machine_clear(&m);
	expect_agent_wait_90s(f, id);
	clock_offset_ms = 91 * 1000;
	leased_step(f, id);
	expect_boot_timed_out(f, id);
}

/* A frozen fleet: the step does nothing but look again later. */
static void test_frozen(void **state)
{
	struct fixture *f = *state;
	char id[INV_ID_LEN];
	enroll(f, "f1", "{\"sku\":\"" SKU "\"}", id);
	assert_int_equal(step(f, id), INV_ST_VERIFYING);
	atomic_store(&f->frozen, true);
	int64_t before = test_now();
	assert_int_equal(step(f, id), INV_ST_VERIFYING);
	struct inv_machine m = get(f, id);
	assert_true(m.wake_at >= before + 2000);
	assert_int_equal(bmc_fake_calls(f->e.a.bmc, id, "power_get"), 0);
	inv_machine_clear(&m);
	atomic_store(&f->frozen, false);
	assert_int_equal(step(f, id), INV_ST_INSPECTING);
}

/* ---- deploy ---- */

/* An available machine of SKU (as inspection and cleaning leave it). */
static void make_available(struct fixture *f, const char *name, const char *options,
			   char id[INV_ID_LEN])
{
	enroll(f, name, options, id);
	struct inv_machine m = get(f, id);
	struct inv_machine_change c = {.expect_version = m.version,
				       .set_state = true,
				       .state = INV_ST_AVAILABLE,
				       .set_sku = true,
				       .sku = SKU,
				       .set_wake = true,
				       .wake_at = 0,
				       .actor = "test"};
	struct inv_err e = {0};
	if (inv_machine_change(f->e.a.inv, id, &c, NULL, &e) != INV_OK)
		fail_msg("make %s available: %s", name, e.message);
	inv_machine_clear(&m);
}

/* Registers the image "img" (once) and reserves one machine of SKU. */
static void reserve(struct fixture *f, struct inv_allocation *al)
{
	ef_reserve(&f->e, SKU, false, al);
}

static const struct {
	const char *what;
	const char *options;
	const char *inject; /* fails every time, or NULL */
	enum bmc_status inject_status;
	const char *states;
	const char *last_error;
	enum inv_alloc_state alloc;
	const char *alloc_error; /* substring of the allocation's last_error */
} deploy_cases[] = {
    {"deploy", "{\"sku\":\"" SKU "\"}", NULL, BMC_OK, "active", "", INV_AL_READY, ""},
    {"image write fails every time: retried, then failed; no substitute",
     "{\"sku\":\"" SKU "\",\"fail_rate\":1}", NULL, BMC_OK, "deploying,deploying,failed",
     "deploying: gave up after 3 attempts: image write: fake agent: simulated image write "
     "failure (fail_rate 1.00)",
     INV_AL_FAILED, "no substitute"},
    {"BMC rejects the credentials: failed at once", "{\"sku\":\"" SKU "\"}", "power_get",
     BMC_ERR_AUTH, "failed", "deploying: read power state: ", INV_AL_FAILED, "no substitute"},
};

static void test_deploy_table(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < sizeof deploy_cases / sizeof deploy_cases[0]; i++) {
		const char *what = deploy_cases[i].what;
		char id[INV_ID_LEN], name[32], ev[2048], hist[512], alloc_id[INV_ID_LEN];
		struct inv_allocation al = {0};
		struct inv_err e = {0};
		snprintf(name, sizeof name, "d%zu", i);
		make_available(f, name, deploy_cases[i].options, id);
		reserve(f, &al);
		assert_int_equal(al.nmachines, 1);
		assert_string_equal(al.machines[0].id, id);
		snprintf(alloc_id, sizeof alloc_id, "%s", al.id);
		if (deploy_cases[i].inject)
			bmc_fake_inject(f->e.a.bmc, id, deploy_cases[i].inject,
					deploy_cases[i].inject_status, 100);
		step_through(f, id, what, deploy_cases[i].states);
		struct inv_machine m = get(f, id);
		if (deploy_cases[i].last_error[0]
			? !strstr(m.last_error, deploy_cases[i].last_error)
			: m.last_error[0] != '\0')
			fail_msg("%s: want last_error \"%s\", got \"%s\"", what,
				 deploy_cases[i].last_error, m.last_error);
		events(f, id, ev, sizeof ev);
		assert_non_null(strstr(ev, "available>deploying"));
		inv_allocation_clear(&al);
		assert_int_equal(inv_allocation_get(f->e.a.inv, alloc_id, &al, &e), INV_OK);
		if (al.state != deploy_cases[i].alloc ||
		    !strstr(al.last_error, deploy_cases[i].alloc_error))
			fail_msg("%s: want allocation %s (...%s...), got %s (%s)", what,
				 inv_alloc_state_name(deploy_cases[i].alloc),
				 deploy_cases[i].alloc_error, inv_alloc_state_name(al.state),
				 al.last_error);
		if (m.state == INV_ST_ACTIVE) {
			assert_non_null(strstr(ev, "deploying>active"));
			assert_string_equal(m.power, "on");
			assert_true(bmc_fake_history(f->e.a.bmc, id, hist, sizeof hist) > 0);
			/* the agent boots from the network, the OS from the disk */
			assert_non_null(strstr(hist, "boot:pxe:next"));
			assert_non_null(strstr(hist, "boot:disk:persistent,cycle"));
			assert_int_equal(atomic_load(&f->stats.ready_count), 1);
		}
		inv_allocation_clear(&al);
		inv_machine_clear(&m);
	}
	assert_int_equal(atomic_load(&f->stats.deploys_running), 0);
}

/* Two machines reserved one after the other (first entered `deploying`
 * first). */
static void reserve_two(struct fixture *f, char first[INV_ID_LEN], char second[INV_ID_LEN])
{
	struct inv_allocation a1 = {0}, a2 = {0};
	make_available(f, "a1", "{\"sku\":\"" SKU "\"}", first);
	make_available(f, "a2", "{\"sku\":\"" SKU "\"}", second);
	reserve(f, &a1);
	usleep(5000); /* state_since differs: the order is by time */
	reserve(f, &a2);
	snprintf(first, INV_ID_LEN, "%s", a1.machines[0].id);
	snprintf(second, INV_ID_LEN, "%s", a2.machines[0].id);
	inv_allocation_clear(&a1);
	inv_allocation_clear(&a2);
}

/* The second machine waits while the first deploys, then goes. */
static void admission_order(struct fixture *f, const atomic_ulong *waits)
{
	char first[INV_ID_LEN], second[INV_ID_LEN];
	reserve_two(f, first, second);
	int64_t before = test_now();
	assert_int_equal(step(f, second), INV_ST_DEPLOYING);
	struct inv_machine m = get(f, second);
	assert_true(m.wake_at >= before + 1000);
	assert_string_equal(m.phase, "");
	assert_int_equal(bmc_fake_calls(f->e.a.bmc, second, "power_get"), 0);
	assert_int_equal(atomic_load(waits), 1);
	inv_machine_clear(&m);
	assert_int_equal(step(f, first), INV_ST_ACTIVE);
	assert_int_equal(step(f, second), INV_ST_ACTIVE);
	assert_int_equal(atomic_load(waits), 1);
}

/* Admission control, global cap: deploys start in the order machines
 * entered `deploying`, at most max_concurrent_deploys at once. */
static void test_deploy_admission(void **state)
{
	struct fixture *f = *state;
	f->x.limits.max_concurrent_deploys = 1;
	admission_order(f, &f->stats.admission_waits_global);
	assert_int_equal(atomic_load(&f->stats.admission_waits_sku), 0);
}

/* The same with the SKU's own cap ([sku] max_concurrent_deploys = 1) under
 * a global cap that would let both go. */
static void test_deploy_admission_sku(void **state)
{
	struct fixture *f = *state;
	char src[512], dir[300], path[400], *text = NULL;
	snprintf(src, sizeof src, "%s/skus/catalog/" SKU ".ini", getenv("PROVISIOND_SOURCE_DIR"));
	snprintf(dir, sizeof dir, "%s/skus", f->e.dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	FILE *in = fopen(src, "r");
	assert_non_null(in);
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	for (int ch; (ch = fgetc(in)) != EOF;)
		fputc(ch, mem);
	fclose(in);
	fclose(mem);
	char *at = strstr(text, "[sku]\n");
	assert_non_null(at);
	snprintf(path, sizeof path, "%s/" SKU ".ini", dir);
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	fprintf(out, "%.*s[sku]\nmax_concurrent_deploys = 1\n%s", (int)(at - text), text, at + 6);
	fclose(out);
	free(text);
	struct sku_catalog *c = NULL;
	struct err e = {0};
	if (sku_catalog_load_dir(dir, &c, &e) != ERR_OK)
		fail_msg("catalog: %s", e.message);
	unlink(path);
	rmdir(dir);
	sku_catalog_free(f->e.a.catalog);
	f->e.a.catalog = c;
	admission_order(f, &f->stats.admission_waits_sku);
	assert_int_equal(atomic_load(&f->stats.admission_waits_global), 0);
}

/* Which deploy interface a machine gets: the BMC option, else the SKU's
 * [sku] deploy where the BMC can do virtual media, else by driver. */
static void test_deploy_select(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	char path[600];
	FILE *fp;
	static const struct {
		const char *driver, *options, *sku, *want;
	} cases[] = {
	    {"fake", "{}", "", "fake"},
	    {"fake", "{\"deploy\":\"pxe\"}", "", "pxe"},
	    {"ipmi", "{}", "", "pxe"},
	    {"redfish", "{}", "", "pxe"},
	    {"redfish", "{\"deploy\":\"vmedia\"}", "", "vmedia"},
	    {"redfish", "{}", "t.vmedia", "vmedia"},
	    {"redfish", "{\"deploy\":\"pxe\"}", "t.vmedia", "pxe"}, /* the machine's wins */
	    {"ipmi", "{}", "t.vmedia", "pxe"},			    /* no virtual media */
	    {"redfish", "{}", "no.such", "pxe"},
	};

	snprintf(path, sizeof path, "%s/v.ini", f->e.dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("[sku]\nname = t.vmedia\ndescription = d\narch = x86_64\nboot_mode = bios\n"
	      "deploy = vmedia\n[cpu]\ncores = 1\n[memory]\nmib = 512\n[disks]\ncount = 1\n"
	      "min_size = 1GiB\nkind = any\n[nics]\ncount = 1\nmin_speed_mbps = 0\n",
	      fp);
	fclose(fp);
	sku_catalog_free(f->e.a.catalog);
	f->e.a.catalog = NULL;
	if (sku_catalog_load_dir(f->e.dir, &f->e.a.catalog, &e) != ERR_OK)
		fail_msg("catalog: %s", e.message);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct inv_bmc b = {0};
		struct inv_machine m = {0};
		snprintf(b.driver, sizeof b.driver, "%s", cases[i].driver);
		b.options_json = (char *)cases[i].options;
		snprintf(m.sku, sizeof m.sku, "%s", cases[i].sku);
		const struct deploy_driver *d = deploy_for(&f->x, &m, &b);
		assert_non_null(d);
		if (strcmp(d->name, cases[i].want) != 0)
			fail_msg("case %zu (%s %s sku '%s'): got %s, want %s", i, cases[i].driver,
				 cases[i].options, cases[i].sku, d->name, cases[i].want);
	}
	struct inv_bmc none = {0};
	assert_null(deploy_for(&f->x, NULL, &none));
	assert_non_null(deploy_vmedia.release); /* media is given back */
	assert_null(deploy_pxe.release);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_enroll_table),	   T(test_bmc_history),
	    T(test_bmc_unsupported_final), T(test_deadline),
	    T(test_breaker_last_attempt),  T(test_frozen),
	    T(test_agent_boot_timeout),	   T(test_agent_boot_timeout_clean),
	    T(test_deploy_table),	   T(test_deploy_admission),
	    T(test_deploy_admission_sku),  T(test_wrong_key),
	    T(test_deploy_select),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
