/* engine_internal.h - shared by the lifecycle engine's files. */
#ifndef PROVISIOND_LIFECYCLE_ENGINE_INTERNAL_H
#define PROVISIOND_LIFECYCLE_ENGINE_INTERNAL_H

#include "provisiond/lifecycle/lifecycle.h"

#include <pthread.h>
#include <stdatomic.h>

#include "util/util.h"

struct lc_job {
	char id[INV_ID_LEN];
	struct lc_job *next;
};

#define LC_NBUCKETS 10

struct lc_engine {
	struct app *a;
	pthread_t scheduler;
	pthread_t *workers;
	int nworkers;
	pthread_mutex_t mu;
	pthread_cond_t sched_cv, work_cv;
	bool stopping, kicked;
	struct lc_job *qhead, *qtail;
	char (*inflight)[INV_ID_LEN];
	int ninflight;
	atomic_int deploys_running;
	/* metrics */
	atomic_ulong steps[INV_ST__COUNT];
	atomic_ulong failures[INV_ST__COUNT];
	atomic_ulong retries;
	atomic_ulong substitutions;
	atomic_ulong deadline_misses;
	atomic_ulong ready_hist[LC_NBUCKETS + 1];
	atomic_ulong ready_count;
	atomic_ullong ready_sum_ms;
};

/* Runs the step for m's state (m is leased). */
void lc_step(struct lc_engine *e, struct inv_machine *m);
void lc_metrics_init(struct lc_engine *e);
void lc_observe_ready(struct lc_engine *e, int64_t ms);
void lc_after_failed(struct lc_engine *e, const struct inv_machine *m, const char *alloc_id,
		     const char *msg);
void lc_recover_allocations(struct lc_engine *e);

#endif
