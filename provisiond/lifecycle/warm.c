/* warm.c - warm pools: per SKU, [sku] warm_pool available machines wait
 * powered on in the agent, so an allocation that takes one skips the
 * agent's boot (docs/allocations.md#warm-pools).
 *
 * The pass below runs on the scheduler every few seconds and only marks
 * machines: a cold one it wants warm gets phase "warming", a warm one too
 * many gets "cooling", and both are woken. The steps (steps.c,
 * step_available) do the BMC work on a worker like any other step, so a
 * warming machine stays available and an allocation may take it at any
 * time (the reservation resets its phase; the step's write then fails its
 * version check and is dropped). A warm machine's wake_at is its rotation:
 * warm_max_s after it was warmed the step moves it to phase "rotating"
 * (still on, still taken first), which takes it out of the pool's count:
 * the next pass warms the least recently changed cold machine in its
 * place, and once the pool is warm again without it, or when no machine
 * can replace it, wakes it to power off. The pool never runs short for
 * the length of a boot because a machine's time was up. */
#include "provisiond/lifecycle/engine_internal.h"

#include "provisiond/log.h"
#include "skus/sku.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool lc_warm_room(const struct lc_ctx *x, const char *sku, int pool)
{
	struct inv_warm_pool *p = calloc(1, sizeof *p);
	struct inv_err err = {0};
	bool room = p && inv_pool_warm(x->inv, sku, p, &err) == INV_OK && p->nwarm < pool;
	free(p);
	return room;
}

/* Moves available machine id from phase `from` to `to` and wakes it, unless
 * it changed meanwhile (taken by an allocation, put in maintenance). */
static bool mark(const struct lc_ctx *x, const char *id, const char *from, const char *to,
		 const char *reason)
{
	struct inv_machine m = {0};
	struct inv_err err = {0};
	bool ok = false;
	if (inv_machine_get(x->inv, id, &m, &err) == INV_OK && m.state == INV_ST_AVAILABLE &&
	    !m.maintenance && strcmp(m.phase, from) == 0) {
		struct inv_machine_change c = {.expect_version = m.version,
					       .set_phase = true,
					       .phase = to,
					       .set_wake = true,
					       .wake_at = lc_now(x),
					       .always_event = reason != NULL,
					       .actor = "lifecycle",
					       .reason = reason};
		ok = inv_machine_change(x->inv, id, &c, NULL, &err) == INV_OK;
	}
	inv_machine_clear(&m);
	return ok;
}

/* Brings the pool of sku to want machines: warms cold ones or cools the
 * youngest surplus ones, and lets the rotating ones power off once the
 * pool is warm without them, or no machine is on its way to replace them.
 * *warm gets the machines an allocation would find warm now: warm and
 * rotating ones (not warming). */
static int warm_sku(const struct lc_ctx *x, const char *sku, int want, struct inv_warm_pool *p,
		    int *warm)
{
	struct inv_err err = {0};
	memset(p, 0, sizeof *p);
	p->size = want;
	if (inv_pool_warm(x->inv, sku, p, &err) != INV_OK) {
		lc_note_inv("read the warm pool", sku, INV_IO, &err);
		return 0;
	}
	int woken = 0, coming = 0, ready = 0;
	for (int i = 0; i < p->nwarm; i++) {
		ready += !p->warming[i];
		coming += p->warming[i];
	}
	*warm = ready + p->nrotating;
	char reason[160];
	snprintf(reason, sizeof reason, "warming: booting the agent (warm pool of %.64s: %d)", sku,
		 want);
	for (int i = 0; p->nwarm + i < want && i < p->ncold; i++)
		if (mark(x, p->cold[i], "", INV_PHASE_WARMING, reason)) {
			woken++;
			coming++;
			log_event(LOG_INFO, "warm pool: warming a machine", "machine", p->cold[i],
				  "sku", sku, NULL);
		}
	for (int i = p->nwarm - 1; i >= want && i >= 0; i--)
		woken += mark(x, p->warm[i], p->warming[i] ? INV_PHASE_WARMING : INV_PHASE_WARM,
			      "cooling", NULL);
	for (int i = 0; i < p->nrotating && (ready >= want || !coming); i++)
		woken += mark(x, p->rotating[i], INV_PHASE_ROTATING, INV_PHASE_ROTATING, NULL);
	return woken;
}

/* Keeps what the pass saw for lc_warm_count and the metrics. */
static void note_seen(struct lc_engine *e, char (*names)[64], const int *want, const int *warm,
		      int n)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->mu);
	e->nwarm_seen = 0;
	for (int i = 0; i < n; i++) {
		if (want[i] <= 0 && warm[i] == 0)
			continue;
		struct lc_warm_seen *w = &e->warm_seen[e->nwarm_seen++];
		snprintf(w->sku, sizeof w->sku, "%s", names[i]);
		w->warm = warm[i];
	}
	pthread_mutex_unlock(&e->mu);
}

int lc_warm_count(struct lc_engine *e, const char *sku)
{
	int n = -1;
	if (!e)
		return -1;
	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < e->nwarm_seen; i++)
		if (strcmp(e->warm_seen[i].sku, sku) == 0)
			n = e->warm_seen[i].warm;
	pthread_mutex_unlock(&e->mu);
	return n;
}

void lc_warm_metrics(struct lc_engine *e, const struct util_lines *o)
{
	util_metric_head(o, "warm_machines", "gauge",
			 "Available machines waiting powered on in the agent, per SKU with a warm "
			 "pool (as of the engine's last look, every 2 s).");
	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < e->nwarm_seen; i++)
		util_linef(o, "provisiond_warm_machines{sku=\"%s\"} %d", e->warm_seen[i].sku,
			   e->warm_seen[i].warm);
	pthread_mutex_unlock(&e->mu);
}

void lc_warm_pass(const struct lc_ctx *x, bool all)
{
	struct inv_warm_pool *p = malloc(sizeof *p);
	if (!p || !x->catalog)
		goto out;
	char names[LC_WARM_SKUS][64];
	int want[LC_WARM_SKUS], warm[LC_WARM_SKUS], n = 0;
	pthread_rwlock_rdlock(x->catalog_lock);
	size_t count = sku_catalog_count(*x->catalog);
	for (size_t i = 0; i < count && n < LC_WARM_SKUS; i++, n++) {
		const struct sku *k = sku_catalog_at(*x->catalog, i);
		snprintf(names[n], sizeof names[n], "%s", sku_name(k));
		want[n] = sku_warm_pool(k);
	}
	pthread_rwlock_unlock(x->catalog_lock);
	int woken = 0;
	/* a SKU without a pool costs no query, unless it had warm machines
	 * at the last pass (its pool was removed) or this is the first */
	for (int i = 0; i < n; i++)
		if (all || want[i] > 0 || lc_warm_count(x->engine, names[i]) >= 0)
			woken += warm_sku(x, names[i], want[i], p, &warm[i]);
		else
			warm[i] = 0;
	note_seen(x->engine, names, want, warm, n);
	if (woken)
		lc_kick(x->engine);
out:
	free(p);
}
