/* allocation.c - how machine outcomes move their allocation: ready when all
 * its machines are active, substitution when one fails, released when the
 * last one is cleaned. */
#include "provisiond/lifecycle/engine_internal.h"

#include "provisiond/app.h"
#include "provisiond/log.h"
#include "skus/sku.h"

#include <stdio.h>
#include <string.h>

#define MASK(s) (1u << (s))

static void count_members(const struct inv_allocation *al, int *attached, int *active)
{
	*attached = *active = 0;
	for (size_t i = 0; i < al->nmachines; i++) {
		if (al->machines[i].detached)
			continue;
		(*attached)++;
		if (al->machines[i].state == INV_ST_ACTIVE)
			(*active)++;
	}
}

void lc_settle(const struct lc_ctx *x, const char *alloc_id)
{
	struct inv_allocation al = {0};
	struct inv_err err = {0};
	if (inv_allocation_get(x->inv, alloc_id, &al, &err) != INV_OK)
		return;
	int attached, active;
	count_members(&al, &attached, &active);
	if (al.state == INV_AL_DEPLOYING && attached >= al.min_count && active == attached) {
		if (inv_allocation_set_state(x->inv, al.id, MASK(INV_AL_DEPLOYING), INV_AL_READY,
					     "", "lifecycle", "", &err) == INV_OK) {
			log_event(LOG_INFO, "allocation ready", "allocation", al.id, NULL);
			if (x->stats)
				lc_observe_ready(x->stats, lc_now(x) - al.created_at);
		}
	} else if (al.state == INV_AL_RELEASING && attached == 0) {
		/* a failure leaves it releasing: the next settle tries again */
		lc_note_inv("allocation released", al.id,
			    inv_allocation_set_state(x->inv, al.id, MASK(INV_AL_RELEASING),
						     INV_AL_RELEASED, NULL, "lifecycle", "", &err),
			    &err);
	}
	inv_allocation_clear(&al);
}

void lc_allocation_settle(struct app *a, const char *alloc_id)
{
	struct lc_ctx before_start = {.inv = a->inv};
	lc_settle(a->lc ? &a->lc->ctx : &before_start, alloc_id);
}

/* A machine of the allocation failed for good while deploying: take a
 * substitute from the pool, or fail the allocation when the pool cannot
 * cover min_count. */
void lc_after_failed(const struct lc_ctx *x, const struct inv_machine *m, const char *alloc_id,
		     const char *msg)
{
	char sub[INV_ID_LEN] = "";
	struct inv_err err = {0};
	if (inv_allocation_substitute(x->inv, alloc_id, m->id, x->limits.max_substitutions, sub,
				      &err) != INV_OK) {
		log_event(LOG_ERROR, "substitution failed", "allocation", alloc_id, "error",
			  err.message, NULL);
		return;
	}
	if (sub[0]) {
		atomic_fetch_add(&x->stats->substitutions, 1);
		log_event(LOG_INFO, "allocation: substitute reserved", "allocation", alloc_id,
			  "machine", sub, "replaces", m->id, NULL);
		lc_kick(x->engine);
		return;
	}
	struct inv_allocation al = {0};
	if (inv_allocation_get(x->inv, alloc_id, &al, &err) != INV_OK)
		return;
	int attached, active;
	count_members(&al, &attached, &active);
	/* a ready allocation's machine failed a reimage (a staged rollout,
	 * rollout.c): it left the allocation, which keeps the others */
	if (attached < al.min_count && al.state == INV_AL_DEPLOYING) {
		char last[760], pool[96] = " is empty";
		if (al.spread.across != INV_SPREAD_NONE && al.spread.mode == INV_SPREAD_STRICT)
			snprintf(pool, sizeof pool,
				 " has none in a %s its other machines are not in",
				 inv_spread_across_name(al.spread.across));
		snprintf(last, sizeof last,
			 "machine %s failed (%s); no substitute: the pool of sku %s%s or the "
			 "substitution limit (%d) is reached",
			 m->name, msg, al.sku, pool, x->limits.max_substitutions);
		lc_note_inv("allocation failed", al.id,
			    inv_allocation_set_state(x->inv, al.id, MASK(INV_AL_DEPLOYING),
						     INV_AL_FAILED, last, "lifecycle", "", &err),
			    &err);
		lc_kick(x->engine);
	} else {
		lc_settle(x, alloc_id);
	}
	inv_allocation_clear(&al);
}

static void recover_one(const struct lc_ctx *x, const struct inv_allocation *al)
{
	for (size_t i = 0; al->state == INV_AL_DEPLOYING && i < al->nmachines; i++) {
		struct inv_machine m = {0};
		struct inv_err err = {0};
		if (!al->machines[i].detached && al->machines[i].state == INV_ST_FAILED &&
		    inv_machine_get(x->inv, al->machines[i].id, &m, &err) == INV_OK)
			lc_after_failed(x, &m, al->id, m.last_error);
		inv_machine_clear(&m);
	}
	lc_settle(x, al->id);
}

bool lc_fast_track(const struct lc_ctx *x, const char *sku)
{
	if (!sku || !*sku)
		return false;
	pthread_rwlock_rdlock(x->catalog_lock);
	bool ft = sku_fast_track(sku_catalog_find(*x->catalog, sku));
	pthread_rwlock_unlock(x->catalog_lock);
	return ft;
}

int lc_warm_pool(const struct lc_ctx *x, const char *sku)
{
	if (!sku || !*sku)
		return 0;
	pthread_rwlock_rdlock(x->catalog_lock);
	int n = sku_warm_pool(sku_catalog_find(*x->catalog, sku));
	pthread_rwlock_unlock(x->catalog_lock);
	return n;
}

int lc_sku_max_deploys(const struct lc_ctx *x, const char *sku)
{
	pthread_rwlock_rdlock(x->catalog_lock);
	int n = sku_max_concurrent_deploys(sku_catalog_find(*x->catalog, sku));
	pthread_rwlock_unlock(x->catalog_lock);
	return n;
}

bool lc_sku_fast_track(struct app *a, const char *sku)
{
	const struct lc_ctx x = {.catalog_lock = &a->catalog_lock, .catalog = &a->catalog};
	return lc_fast_track(&x, sku);
}

int lc_sku_warm_pool(struct app *a, const char *sku)
{
	const struct lc_ctx x = {.catalog_lock = &a->catalog_lock, .catalog = &a->catalog};
	return lc_warm_pool(&x, sku);
}

bool lc_sku_exists(struct app *a, const char *sku)
{
	if (!sku)
		return false;
	pthread_rwlock_rdlock(&a->catalog_lock);
	bool ok = sku_catalog_find(a->catalog, sku) != NULL;
	pthread_rwlock_unlock(&a->catalog_lock);
	return ok;
}

/* Crash-only start: a kill between a machine's commit and its allocation's
 * update leaves the allocation behind. Settle every open allocation and
 * take substitutes for members that failed meanwhile. */
void lc_recover_allocations(const struct lc_ctx *x)
{
	static const enum inv_alloc_state open_states[] = {INV_AL_DEPLOYING, INV_AL_RELEASING};
	for (size_t k = 0; k < sizeof open_states / sizeof open_states[0]; k++) {
		struct inv_alloc_filter f = {.state = (int)open_states[k], .limit = 200};
		struct inv_alloc_list l = {0};
		struct inv_err err = {0};
		do {
			if (inv_allocation_list(x->inv, &f, &l, &err) != INV_OK)
				break;
			for (size_t i = 0; i < l.n; i++)
				recover_one(x, &l.items[i]);
			f.after_seq = l.next_seq;
			inv_alloc_list_clear(&l);
		} while (f.after_seq);
	}
}
