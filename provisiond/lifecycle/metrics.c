/* metrics.c - the lifecycle engine's counters and their Prometheus text form.
 * Every family is written whole (HELP, TYPE, then its samples), so the
 * exposition never interleaves families. */
#include "provisiond/lifecycle/engine_internal.h"
#include "provisiond/lifecycle/calls.h"

#include <stdio.h>

static const double ready_bucket_s[LC_NBUCKETS] = {1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600};

/* Inspecting, cleaning and deploying take minutes (firmware, disk wipes,
 * image writes); verifying and releasing mostly seconds. */
static const double state_bucket_s[] = {5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200};

/* The states whose time is worth a histogram: the transitional ones. */
static const enum inv_state timed_states[] = {INV_ST_VERIFYING, INV_ST_INSPECTING, INV_ST_CLEANING,
					      INV_ST_DEPLOYING, INV_ST_RELEASING};

/* A step is database writes and BMC calls: milliseconds to seconds. */
static const double step_bucket_s[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60};

void lc_stats_init(struct lc_stats *s)
{
	s->step_seconds.le = step_bucket_s;
	s->step_seconds.nle = ARRAY_SIZE(step_bucket_s);
	for (size_t i = 0; i < ARRAY_SIZE(timed_states); i++) {
		s->state_seconds[timed_states[i]].le = state_bucket_s;
		s->state_seconds[timed_states[i]].nle = ARRAY_SIZE(state_bucket_s);
	}
}

void lc_observe_state(struct lc_stats *s, enum inv_state from, int64_t ms)
{
	for (size_t i = 0; i < ARRAY_SIZE(timed_states); i++)
		if (timed_states[i] == from)
			util_hist_observe_us(&s->state_seconds[from], ms * 1000);
}

void lc_observe_ready(struct lc_stats *s, int64_t ms)
{
	int b = 0;
	while (b < LC_NBUCKETS && (double)ms / 1000.0 > ready_bucket_s[b])
		b++;
	atomic_fetch_add(&s->ready_hist[b], 1);
	atomic_fetch_add(&s->ready_count, 1);
	atomic_fetch_add(&s->ready_sum_ms, (unsigned long long)ms);
}

static void per_state(const struct util_lines *o, const char *name, const char *help,
		      const atomic_ulong *v)
{
	util_metric_head(o, name, "counter", help);
	for (int s = 0; s < INV_ST__COUNT; s++)
		util_linef(o, "provisiond_%s{state=\"%s\"} %lu", name,
			   inv_state_name((enum inv_state)s), atomic_load(&v[s]));
}

static void counter(const struct util_lines *o, const char *name, const char *help, unsigned long v)
{
	util_metric_one(o, name, "counter", help, (long long)v);
}

static void gauge(const struct util_lines *o, const char *name, const char *help, long v)
{
	util_metric_one(o, name, "gauge", help, v);
}

static void ready_histogram(const struct util_lines *o, struct lc_stats *e)
{
	util_metric_head(o, "allocation_ready_seconds", "histogram",
			 "Time from an allocation's creation to all its machines active.");
	unsigned long cum = 0;
	for (int b = 0; b < LC_NBUCKETS; b++) {
		cum += atomic_load(&e->ready_hist[b]);
		util_linef(o, "provisiond_allocation_ready_seconds_bucket{le=\"%g\"} %lu",
			   ready_bucket_s[b], cum);
	}
	cum += atomic_load(&e->ready_hist[LC_NBUCKETS]);
	util_linef(o, "provisiond_allocation_ready_seconds_bucket{le=\"+Inf\"} %lu", cum);
	util_linef(o, "provisiond_allocation_ready_seconds_sum %.3f",
		   (double)atomic_load(&e->ready_sum_ms) / 1000.0);
	util_linef(o, "provisiond_allocation_ready_seconds_count %lu", cum);
}

static void state_histograms(const struct util_lines *o, struct lc_stats *e)
{
	util_metric_head(
	    o, "lifecycle_state_duration_seconds", "histogram",
	    "Time machines spent in a transitional state, counted when they leave it.");
	for (size_t i = 0; i < ARRAY_SIZE(timed_states); i++) {
		char lbl[64];
		snprintf(lbl, sizeof lbl, "state=\"%s\"", inv_state_name(timed_states[i]));
		util_hist_render(&e->state_seconds[timed_states[i]],
				 "provisiond_lifecycle_state_duration_seconds", lbl, o->emit,
				 o->ctx);
	}
}

static void queue_gauges(const struct util_lines *o, struct lc_engine *eng)
{
	long queued = 0, inflight;
	pthread_mutex_lock(&eng->mu);
	for (const struct lc_job *j = eng->qhead; j; j = j->next)
		queued++;
	inflight = eng->ninflight;
	pthread_mutex_unlock(&eng->mu);
	gauge(o, "lifecycle_queue_depth", "Due machines queued for a lifecycle worker.", queued);
	gauge(o, "lifecycle_in_flight",
	      "Machines queued, being stepped, or waiting for a BMC operation now.", inflight);
	long calls_queued, calls_running;
	unsigned long yields;
	lc_calls_counts(eng->calls, &calls_queued, &calls_running, &yields);
	gauge(o, "lifecycle_bmc_calls_queued",
	      "BMC operations of lifecycle steps waiting for a call-pool thread.", calls_queued);
	gauge(o, "lifecycle_bmc_calls_running",
	      "BMC operations of lifecycle steps running on the call pool.", calls_running);
	counter(o, "lifecycle_bmc_waits_total",
		"Steps that gave their worker up to wait for a BMC operation.", yields);
	gauge(o, "lifecycle_deploys_running", "Deploy steps running now.",
	      atomic_load(&eng->stats.deploys_running));
}

static void admission(const struct util_lines *o, const struct lc_stats *e)
{
	util_linef(o, "# HELP provisiond_lifecycle_admission_waits_total Machines held back by a "
		      "cap: deploy starts put off (looked at again a second later) because as "
		      "many machines as the global or the SKU's cap allows were deploying before "
		      "them; due steps held back because max_per_rack machines of their rack "
		      "were being stepped (rack).");
	util_linef(o, "# TYPE provisiond_lifecycle_admission_waits_total counter");
	util_linef(o, "provisiond_lifecycle_admission_waits_total{cap=\"global\"} %lu",
		   atomic_load(&e->admission_waits_global));
	util_linef(o, "provisiond_lifecycle_admission_waits_total{cap=\"sku\"} %lu",
		   atomic_load(&e->admission_waits_sku));
	util_linef(o, "provisiond_lifecycle_admission_waits_total{cap=\"rack\"} %lu",
		   atomic_load(&e->admission_waits_rack));
}

void lc_metrics(struct lc_engine *eng, void (*emit)(void *ctx, const char *line), void *ctx)
{
	struct lc_stats *e = &eng->stats;
	struct util_lines o = {.emit = emit, .ctx = ctx};
	per_state(&o, "lifecycle_steps_total", "Machines that left a state, by that state.",
		  e->steps);
	per_state(&o, "lifecycle_failures_total", "Failed attempts, by the state that failed.",
		  e->failures);
	counter(&o, "lifecycle_retries_total", "Failed attempts retried after a backoff.",
		atomic_load(&e->retries));
	counter(&o, "lifecycle_deadline_misses_total",
		"Machines that overran the timeout of their state.",
		atomic_load(&e->deadline_misses));
	admission(&o, e);
	counter(&o, "allocation_substitutions_total",
		"Failed allocation members replaced by a spare machine.",
		atomic_load(&e->substitutions));
	queue_gauges(&o, eng);
	ready_histogram(&o, e);
	state_histograms(&o, e);
	util_metric_head(
	    &o, "lifecycle_step_seconds", "histogram",
	    "One step of one machine: its lease, BMC calls and writes (waits for agents, "
	    "backoffs and deadlines are not steps).");
	util_hist_render(&e->step_seconds, "provisiond_lifecycle_step_seconds", NULL, emit, ctx);
	lc_warm_metrics(eng, &o);
}
