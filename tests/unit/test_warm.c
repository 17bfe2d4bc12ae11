/* Warm pools with the engine's threads (lc_start): a real SQLite inventory
 * in a temporary directory, the fake BMC driver and deploy interface, and a
 * catalog of two SKUs: warm.small (lab.small's hardware, warm_pool = 2)
 * and lab.large (no warm pool). Checks:
 *  - after onboarding, two warm.small machines wait powered on in the
 *    agent (phase warm), the other ones and every lab.large are off;
 *  - an allocation of warm.small takes a warm machine although colder ones
 *    are older, and the pool is refilled from a cold machine; the deploy
 *    reaches `active`; lab.large allocates and deploys as before;
 *  - rotation: with warm_max_s = 1, cold machines are warmed in place of
 *    the warm ones, which then power off (event "rotated"): the pool never
 *    has fewer than its size warm; without a spare cold machine they power
 *    off and are warmed again; nor when their replacement does not get
 *    warm within agent_boot_timeout_s. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_fixture.h"
#include "inventory/inventory.h"
#include "provisiond/app.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "skus/sku.h"

#define WARM "warm.small"
#define COLD "lab.large"

/* skus/catalog/lab.small.ini renamed, with a warm pool of pool */
static void write_catalog(const char *src, const char *dir, int pool)
{
	char path[600], line[1400];
	snprintf(path, sizeof path, "%s/skus/catalog/lab.small.ini", src);
	FILE *in = fopen(path, "r");
	snprintf(path, sizeof path, "%s/warm.small.ini", dir);
	FILE *out = fopen(path, "w");
	assert_non_null(in);
	assert_non_null(out);
	while (fgets(line, sizeof line, in))
		if (strncmp(line, "name =", 6) == 0)
			fprintf(out, "name = " WARM "\nwarm_pool = %d\n", pool);
		else
			fputs(line, out);
	fclose(in);
	fclose(out);
	snprintf(line, sizeof line, "cp %s/skus/catalog/lab.large.ini %s/", src, dir);
	assert_int_equal(system(line), 0);
}

static int setup(void **state)
{
	struct engine_fixture *f = calloc(1, sizeof *f);
	char path[512];
	assert_non_null(f);
	ef_open(f, "test_warm", NULL);
	snprintf(path, sizeof path, "%s/skus", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_catalog(ef_source_dir(), path, 2);
	ef_load_catalog(f, path);
	f->a.cfg.lc_workers = 4;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	ef_close(*state);
	free(*state);
	return 0;
}

/* Enrolls n fake machines of sku named prefix-N. */
static void enroll(struct engine_fixture *f, const char *prefix, int n, const char *sku)
{
	for (int i = 0; i < n; i++) {
		char name[64], opts[128];
		snprintf(name, sizeof name, "%s-%d", prefix, i);
		snprintf(opts, sizeof opts, "{\"sku\":\"%s\"}", sku);
		ef_enroll(f, name, opts, NULL, NULL);
	}
	lc_kick(f->a.lc);
}

/* Machines of sku in state with phase and power (NULL: any); the ids of
 * the first 16 into ids when given. */
static int count(struct engine_fixture *f, const char *sku, enum inv_state state, const char *phase,
		 const char *power, char (*ids)[INV_ID_LEN])
{
	struct inv_machine_list l = {0};
	struct inv_err e = {0};
	struct inv_machine_filter flt = {.state = (int)state, .sku = sku, .limit = 1000};
	if (inv_machine_list(f->a.inv, &flt, &l, &e) != INV_OK)
		fail_msg("list: %s", e.message);
	int n = 0;
	for (size_t i = 0; i < l.n; i++)
		if ((!phase || strcmp(l.items[i].phase, phase) == 0) &&
		    (!power || strcmp(l.items[i].power, power) == 0)) {
			if (ids && n < 16)
				memcpy(ids[n], l.items[i].id, INV_ID_LEN);
			n++;
		}
	inv_machine_list_clear(&l);
	return n;
}

/* Waits (bounded, not timed) until want machines match. */
static void wait_for(struct engine_fixture *f, const char *sku, enum inv_state state,
		     const char *phase, const char *power, int want)
{
	int n = 0;
	for (int i = 0; i < 1500 && (n = count(f, sku, state, phase, power, NULL)) != want; i++)
		usleep(20000);
	if (n != want)
		fail_msg("%d machines of %s in %s/%s/%s, want %d", n, sku, inv_state_name(state),
			 phase ? phase : "*", power ? power : "*", want);
}

/* Registers the image "img" (once) and reserves one machine of sku. */
static void reserve(struct engine_fixture *f, const char *sku, bool warm, struct inv_allocation *al)
{
	ef_reserve(f, sku, warm, al);
	assert_int_equal(al->nmachines, 1);
	lc_kick(f->a.lc);
}

/* Five warm.small and three lab.large machines onboarded: two warm.small
 * warm, the rest off. */
static void onboard(struct engine_fixture *f)
{
	ef_start(f);
	enroll(f, "w", 5, WARM);
	enroll(f, "c", 3, COLD);
	wait_for(f, WARM, INV_ST_AVAILABLE, NULL, NULL, 5);
	wait_for(f, COLD, INV_ST_AVAILABLE, "", "off", 3);
	wait_for(f, WARM, INV_ST_AVAILABLE, INV_PHASE_WARM, "on", 2);
	wait_for(f, WARM, INV_ST_AVAILABLE, "", "off", 3);
}

static bool in(char (*ids)[INV_ID_LEN], int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

static void wait_ready(struct engine_fixture *f, const char *id)
{
	struct inv_allocation al = {0};
	struct inv_err e = {0};
	for (int i = 0; i < 1500; i++) {
		inv_allocation_clear(&al);
		if (inv_allocation_get(f->a.inv, id, &al, &e) != INV_OK)
			fail_msg("allocation: %s", e.message);
		if (al.state == INV_AL_READY)
			break;
		usleep(20000);
	}
	assert_int_equal(al.state, INV_AL_READY);
	inv_allocation_clear(&al);
}

struct text {
	char buf[65536];
	size_t len;
};

static void collect(void *ctx, const char *line)
{
	struct text *t = ctx;
	int n = snprintf(t->buf + t->len, sizeof t->buf - t->len, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof t->buf - t->len)
		t->len += (size_t)n;
}

static void test_pool_fills_cold_power_off(void **state)
{
	struct engine_fixture *f = *state;
	onboard(f);
	/* nothing else is powered on: no warming, no fast-track */
	assert_int_equal(count(f, NULL, INV_ST_AVAILABLE, NULL, "on", NULL), 2);
	/* what metrics and capacity show: the pass every 2 s sees it */
	for (int i = 0; i < 300 && lc_warm_count(f->a.lc, WARM) != 2; i++)
		usleep(20000);
	assert_int_equal(lc_warm_count(f->a.lc, WARM), 2);
	assert_int_equal(lc_warm_count(f->a.lc, COLD), -1);
	struct text t = {0};
	lc_metrics(f->a.lc, collect, &t);
	assert_non_null(strstr(t.buf, "\nprovisiond_warm_machines{sku=\"" WARM "\"} 2\n"));
	assert_null(strstr(t.buf, "provisiond_warm_machines{sku=\"" COLD "\"}"));
}

static void test_warm_first_and_refill(void **state)
{
	struct engine_fixture *f = *state;
	onboard(f);
	char warm[16][INV_ID_LEN];
	assert_int_equal(count(f, WARM, INV_ST_AVAILABLE, INV_PHASE_WARM, NULL, warm), 2);
	struct inv_allocation al = {0};
	reserve(f, WARM, true, &al);
	/* w-0 is the oldest machine; the warm ones come first whichever they are */
	assert_true(in(warm, 2, al.machines[0].id));
	wait_ready(f, al.id);
	/* refilled from a cold machine */
	wait_for(f, WARM, INV_ST_AVAILABLE, INV_PHASE_WARM, "on", 2);
	wait_for(f, WARM, INV_ST_AVAILABLE, "", "off", 2);
	inv_allocation_clear(&al);
	/* a SKU without a warm pool: as before */
	reserve(f, COLD, false, &al);
	wait_ready(f, al.id);
	wait_for(f, COLD, INV_ST_ACTIVE, NULL, "on", 1);
	wait_for(f, COLD, INV_ST_AVAILABLE, "", "off", 2);
	inv_allocation_clear(&al);
}

static bool rotated(struct engine_fixture *f, const char *id)
{
	struct inv_event_list l = {0};
	struct inv_err e = {0};
	bool found = false;
	if (inv_machine_events(f->a.inv, id, 0, 500, &l, &e) != INV_OK)
		fail_msg("events: %s", e.message);
	for (size_t i = 0; i < l.n; i++)
		found |= strncmp(l.items[i].reason, "rotated:", 8) == 0;
	inv_event_list_clear(&l);
	return found;
}

/* Machines of WARM an allocation would take warm: powered on in the
 * agent, waiting (phase warm) or rotating out; one read, so a machine
 * moving between the two phases is not missed. */
static int ready(struct engine_fixture *f)
{
	struct inv_machine_list l = {0};
	struct inv_err e = {0};
	struct inv_machine_filter flt = {.state = INV_ST_AVAILABLE, .sku = WARM, .limit = 1000};
	if (inv_machine_list(f->a.inv, &flt, &l, &e) != INV_OK)
		fail_msg("list: %s", e.message);
	int n = 0;
	for (size_t i = 0; i < l.n; i++)
		n += (strcmp(l.items[i].phase, INV_PHASE_WARM) == 0 ||
		      strcmp(l.items[i].phase, INV_PHASE_ROTATING) == 0) &&
		     strcmp(l.items[i].power, "on") == 0;
	inv_machine_list_clear(&l);
	return n;
}

/* Rotation replaces before it powers off: a warm machine whose
 * warm_max_s is up keeps waiting (phase rotating) until a cold one is warm
 * in its place, so the pool never runs empty. */
static void test_rotation(void **state)
{
	struct engine_fixture *f = *state;
	f->a.cfg.warm_max_s = 1;
	onboard(f);
	char first[16][INV_ID_LEN], now[16][INV_ID_LEN];
	/* the pool may be rotating already: its first two warm machines */
	int n = 0;
	for (int i = 0;
	     i < 1500 && (n = count(f, WARM, INV_ST_AVAILABLE, INV_PHASE_WARM, NULL, first)) != 2;
	     i++)
		usleep(20000);
	assert_int_equal(n, 2);
	bool fresh = false;
	int least = 2, stray = 0;
	for (int i = 0; i < 1500 && !(fresh && rotated(f, first[0])); i++) {
		int r = ready(f);
		least = r < least ? r : least;
		/* a machine on is in the pool's phases, never cold */
		stray += count(f, WARM, INV_ST_AVAILABLE, "", "on", NULL);
		n = count(f, WARM, INV_ST_AVAILABLE, INV_PHASE_WARM, NULL, now);
		for (int k = 0; k < n; k++)
			fresh |= !in(first, 2, now[k]);
		usleep(20000);
	}
	assert_true(fresh);
	assert_true(rotated(f, first[0]));
	if (least < 2)
		fail_msg("the pool of 2 fell to %d warm machines during a rotation", least);
	assert_int_equal(stray, 0);
	/* lab.large untouched */
	assert_int_equal(count(f, COLD, INV_ST_AVAILABLE, "", "off", NULL), 3);
}

/* No machine to replace them: the rotating ones power off at the next
 * pass instead of waiting, and are warmed again. */
static void test_rotation_without_spare(void **state)
{
	struct engine_fixture *f = *state;
	f->a.cfg.warm_max_s = 1;
	ef_start(f);
	enroll(f, "w", 2, WARM);
	char first[16][INV_ID_LEN];
	wait_for(f, WARM, INV_ST_AVAILABLE, INV_PHASE_WARM, "on", 2);
	assert_int_equal(count(f, WARM, INV_ST_AVAILABLE, NULL, NULL, first), 2);
	for (int i = 0; i < 1500 && !(rotated(f, first[0]) && rotated(f, first[1])); i++)
		usleep(20000);
	assert_true(rotated(f, first[0]));
	assert_true(rotated(f, first[1]));
	/* warmed again: the pool is its two machines */
	for (int i = 0; i < 1500 && ready(f) != 2; i++)
		usleep(20000);
	assert_int_equal(ready(f), 2);
}

/* When machine id got its newest event whose reason starts with prefix
 * (0: none). */
static int64_t event_at(struct engine_fixture *f, const char *id, const char *prefix)
{
	struct inv_event_list l = {0};
	struct inv_err e = {0};
	int64_t at = 0;
	if (inv_machine_events(f->a.inv, id, 0, 500, &l, &e) != INV_OK)
		fail_msg("events: %s", e.message);
	for (size_t i = 0; i < l.n; i++)
		if (strncmp(l.items[i].reason, prefix, strlen(prefix)) == 0)
			at = l.items[i].at;
	inv_event_list_clear(&l);
	return at;
}

/* A replacement that never gets warm (every machine's agent takes 10 min
 * to boot when warmed; the first two are warm from their cleaning): the
 * rotating machines wait agent_boot_timeout_s for it, then power off
 * anyway, while it is still warming. */
static void test_rotation_deadline(void **state)
{
	struct engine_fixture *f = *state;
	f->a.cfg.warm_max_s = 5;
	f->a.cfg.agent_boot_timeout_s = 4; /* longer than a warm pass (2 s) */
	ef_start(f);
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof name, "slow-warm-%d", i);
		ef_enroll(f, name, "{\"sku\":\"" WARM "\",\"warm_ms\":600000}", NULL, NULL);
	}
	lc_kick(f->a.lc);
	wait_for(f, WARM, INV_ST_AVAILABLE, "", "off", 1);
	char first[16][INV_ID_LEN], spare[16][INV_ID_LEN];
	assert_int_equal(count(f, WARM, INV_ST_AVAILABLE, INV_PHASE_WARM, "on", first), 2);
	assert_int_equal(count(f, WARM, INV_ST_AVAILABLE, "", "off", spare), 1);
	for (int i = 0; i < 1500 && !rotated(f, first[0]); i++)
		usleep(20000);
	assert_true(rotated(f, first[0]));
	/* the spare was warming (it was there to replace it) before the
	 * rotating machine powered off, and still is */
	int64_t warming = event_at(f, spare[0], "warming:");
	if (warming == 0 || warming > event_at(f, first[0], "rotated:"))
		fail_msg("the spare did not start warming before the rotation ended");
	struct inv_machine m = {0};
	struct inv_err e = {0};
	assert_int_equal(inv_machine_get(f->a.inv, spare[0], &m, &e), INV_OK);
	assert_string_equal(m.phase, INV_PHASE_WARMING);
	inv_machine_clear(&m);
}

/* A catalog reloaded with a smaller pool: the youngest surplus machine
 * powers off (event "cooled: ..."); the rest stays as it was. */
static void test_pool_shrinks(void **state)
{
	struct engine_fixture *f = *state;
	char path[600];
	struct err e = {0};
	struct sku_catalog *c = NULL, *old;
	onboard(f);
	snprintf(path, sizeof path, "%s/skus", f->dir);
	write_catalog(getenv("PROVISIOND_SOURCE_DIR"), path, 1);
	if (sku_catalog_load_dir(path, &c, &e) != ERR_OK)
		fail_msg("catalog: %s", e.message);
	pthread_rwlock_wrlock(&f->a.catalog_lock);
	old = f->a.catalog;
	f->a.catalog = c;
	pthread_rwlock_unlock(&f->a.catalog_lock);
	sku_catalog_free(old);
	wait_for(f, WARM, INV_ST_AVAILABLE, INV_PHASE_WARM, "on", 1);
	wait_for(f, WARM, INV_ST_AVAILABLE, "", "off", 4);
	assert_int_equal(count(f, NULL, INV_ST_AVAILABLE, NULL, "on", NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pool_fills_cold_power_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_warm_first_and_refill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation_without_spare, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_shrinks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
