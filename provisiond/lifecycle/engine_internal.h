/* engine_internal.h - shared by the lifecycle engine's files. */
#ifndef PROVISIOND_LIFECYCLE_ENGINE_INTERNAL_H
#define PROVISIOND_LIFECYCLE_ENGINE_INTERNAL_H

#include "provisiond/lifecycle/context.h"
#include "provisiond/lifecycle/lifecycle.h"

#include <pthread.h>
#include <stdatomic.h>

#include "util/util.h"

/* SKUs whose warm pools the engine looks after (the first of the catalog) */
#define LC_WARM_SKUS 64

struct lc_job {
	char id[INV_ID_LEN];
	bool resume; /* its BMC operation answered: step it again, no lease */
	struct lc_job *next;
};

/* A machine queued or being stepped, and its rack ("site/rack", "" when it
 * has none) for the per-rack cap. */
struct lc_inflight {
	char id[INV_ID_LEN];
	char rack[160];
};

struct lc_engine {
	struct lc_ctx ctx; /* what the steps get; built from struct app */
	struct lc_stats stats;
	pthread_t scheduler;
	pthread_t *workers;
	int nworkers;
	pthread_mutex_t mu;
	pthread_cond_t sched_cv, work_cv;
	bool stopping, kicked;
	struct lc_job *qhead, *qtail;
	struct lc_inflight *inflight; /* max_inflight entries */
	int ninflight, max_inflight;
	struct lc_calls *calls; /* BMC operations of the steps (calls.h) */
	/* warm machines per SKU with a warm pool as the last warm pass saw
	 * them (warm.c), for metrics and capacity; under mu */
	struct lc_warm_seen {
		char sku[64];
		int warm;
	} warm_seen[LC_WARM_SKUS];
	int nwarm_seen;
};

void lc_observe_ready(struct lc_stats *s, int64_t ms);
/* A machine of alloc_id failed for good while deploying: substitute it or
 * fail the allocation. */
void lc_after_failed(const struct lc_ctx *x, const struct inv_machine *m, const char *alloc_id,
		     const char *msg);
void lc_recover_allocations(const struct lc_ctx *x);
/* One pass of the open staged rollouts (rollout.c): records how the
 * current waves' machines ended, halts, starts the next waves, finishes.
 * Scheduler only (every second). */
void lc_rollout_pass(const struct lc_ctx *x);
/* The family provisiond_warm_machines{sku} (warm.c). */
void lc_warm_metrics(struct lc_engine *e, const struct util_lines *o);

#endif
