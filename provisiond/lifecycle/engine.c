/* engine.c - scheduler and workers of the lifecycle engine. */
#include "provisiond/lifecycle/engine_internal.h"
#include "provisiond/lifecycle/calls.h"

#include "provisiond/app.h"
#include "provisiond/log.h"
#include "provisiond/replica.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Machines queued ahead of the workers: enough that a worker finishing a
 * step finds the next one waiting, few enough that the per-rack count and
 * the in-flight look-ups stay cheap. Machines waiting for a BMC operation
 * are in flight too: up to two per thread of the call pool (one running,
 * one queued). */
#define QUEUE_PER_WORKER 2
#define INFLIGHT_PER_CALLER 2
#define LEASE_MS (15 * 60 * 1000)
/* How often the warm pools are looked at (warm.c) */
#define WARM_PASS_MS 2000
/* How often open staged rollouts are moved on (rollout.c) */
#define ROLLOUT_PASS_MS 1000

static bool inflight_has(struct lc_engine *e, const char *id)
{
	for (int i = 0; i < e->ninflight; i++)
		if (strcmp(e->inflight[i].id, id) == 0)
			return true;
	return false;
}

static int inflight_in_rack(struct lc_engine *e, const char *rack)
{
	int n = 0;
	for (int i = 0; i < e->ninflight; i++)
		n += strcmp(e->inflight[i].rack, rack) == 0;
	return n;
}

static void inflight_del(struct lc_engine *e, const char *id)
{
	for (int i = 0; i < e->ninflight; i++)
		if (strcmp(e->inflight[i].id, id) == 0) {
			e->inflight[i] = e->inflight[--e->ninflight];
			return;
		}
}

static void rack_key(const struct inv_machine *m, char *out, size_t len)
{
	if (m->location.rack[0])
		snprintf(out, len, "%s/%s", m->location.site, m->location.rack);
	else
		out[0] = 0;
}

/* This replica's part of max_per_rack: the cap holds for the site, so
 * several engine replicas split it (replica_rack_share; 0 while this one
 * waits for the others to count it). */
static int rack_cap(const struct lc_engine *e)
{
	return replica_rack_share(e->ctx.replica, e->ctx.limits.max_per_rack);
}

/* Whether m may be queued now: not in flight already, room in the queue,
 * and (with a rack) fewer than cap machines of its rack in flight. Caller
 * holds e->mu. */
static bool admit(struct lc_engine *e, const struct inv_machine *m, int cap, char *rack, size_t len)
{
	if (inflight_has(e, m->id) || e->ninflight >= e->max_inflight)
		return false;
	rack_key(m, rack, len);
	if (rack[0] && e->ctx.limits.max_per_rack > 0 && inflight_in_rack(e, rack) >= cap) {
		atomic_fetch_add(&e->stats.admission_waits_rack, 1);
		return false;
	}
	return true;
}

void lc_kick(struct lc_engine *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->mu);
	e->kicked = true;
	pthread_cond_signal(&e->sched_cv);
	pthread_mutex_unlock(&e->mu);
}

static void timed_wait(struct lc_engine *e, int64_t ms)
{
	int64_t deadline = util_now_ms() + ms;
	while (!e->kicked && !e->stopping)
		if (util_cond_wait_until_ms(&e->sched_cv, &e->mu, deadline) == ETIMEDOUT)
			break;
	e->kicked = false;
}

/* Queues machine id for a worker. Caller holds e->mu. */
static bool enqueue(struct lc_engine *e, const char *id, bool resume)
{
	struct lc_job *j = malloc(sizeof *j);
	if (!j)
		return false;
	snprintf(j->id, sizeof j->id, "%s", id);
	j->resume = resume;
	j->next = NULL;
	if (e->qtail)
		e->qtail->next = j;
	else
		e->qhead = j;
	e->qtail = j;
	pthread_cond_signal(&e->work_cv);
	return true;
}

/* The call pool's answer for a machine whose worker went on (calls.h): it
 * is still in flight, so it goes straight back to the queue. */
static void resume(void *ctx, const char *id)
{
	struct lc_engine *e = ctx;
	pthread_mutex_lock(&e->mu);
	if (e->stopping || !enqueue(e, id, true))
		inflight_del(e, id); /* a restart (or the next due read) steps it */
	pthread_mutex_unlock(&e->mu);
}

/* Queues due machines that are not already being worked on. */
static void dispatch_due(struct lc_engine *e)
{
	struct inv_machine_list l = {0};
	struct inv_err err = {0};
	pthread_mutex_lock(&e->mu);
	int room = e->max_inflight - e->ninflight, queued = e->ninflight, waiting = 0;
	for (const struct lc_job *j = e->qhead; j && waiting < e->nworkers; j = j->next)
		waiting++;
	pthread_mutex_unlock(&e->mu);
	/* every worker has a machine waiting for it: read when they run short,
	 * not after each step (a read per step was most of the scheduler's
	 * cost at BMC delay 0) */
	if (room <= 0 || waiting >= e->nworkers)
		return;
	/* writes fail (disk full): a step would call its BMC and then not be
	 * able to record it; the notifier's probe finds when writes work again */
	if (!inv_storage_ok(e->ctx.inv, NULL, 0, NULL))
		return;
	/* machines in flight are due until their step writes its outcome (no
	 * lease is written, see needs_lease): read past them */
	int cap = rack_cap(e);
	if (inv_machines_due(e->ctx.inv, lc_now(&e->ctx), queued + room,
			     cap > 0 || e->ctx.limits.max_per_rack <= 0 ? cap : 1, &l,
			     &err) != INV_OK) {
		log_event(LOG_ERROR, "lifecycle: cannot read due machines", "error", err.message,
			  NULL);
		return;
	}
	pthread_mutex_lock(&e->mu);
	for (size_t i = 0; i < l.n; i++) {
		char rack[160];
		if (!admit(e, &l.items[i], cap, rack, sizeof rack))
			continue;
		struct lc_inflight *f = &e->inflight[e->ninflight++];
		memcpy(f->id, l.items[i].id, INV_ID_LEN);
		snprintf(f->rack, sizeof f->rack, "%s", rack);
		if (!enqueue(e, l.items[i].id, false)) {
			e->ninflight--;
			break;
		}
	}
	pthread_mutex_unlock(&e->mu);
	inv_machine_list_clear(&l);
}

/* Every minute (or as often as discovered machines expire, if sooner):
 * ended boot-plane tokens go, and discovered machines nobody enrolled
 * within discovery_ttl_s are deleted (the audit log keeps them). */
static int64_t housekeeping_ms(const struct lc_limits *l)
{
	int64_t ttl_ms = l->discovery_ttl_s > 0 ? (int64_t)l->discovery_ttl_s * 1000 : 60000;
	return ttl_ms < 60000 ? ttl_ms : 60000;
}

static void housekeeping(const struct lc_ctx *x)
{
	struct inv_err err = {0};
	lc_note_inv("purge boot tokens", "", inv_boot_tokens_purge(x->inv, &err), &err);
	if (x->limits.discovery_ttl_s <= 0)
		return;
	char ids[100][INV_ID_LEN];
	int n = 0;
	int64_t before = inv_now_ms() - (int64_t)x->limits.discovery_ttl_s * 1000;
	enum inv_status st = inv_machines_discovered_stale(x->inv, before, ids, 100, &n, &err);
	lc_note_inv("list stale discovered machines", "", st, &err);
	for (int i = 0; st == INV_OK && i < n; i++) {
		enum inv_status ds =
		    inv_machine_delete(x->inv, ids[i], "discovery", "",
				       "{\"expired\":\"discovered, never enrolled\"}", NULL, &err);
		if (ds == INV_OK)
			log_event(LOG_INFO, "discovered machine expired", "machine", ids[i], NULL);
		lc_note_inv("expire discovered machine", ids[i], ds, &err);
	}
}

/* How often the scheduler reads the next wake-up at most: a busy engine
 * kicks it after every step, and the read is not needed that often. */
#define NEXT_WAKE_READ_MS 20

/* How long the scheduler may sleep: until the next wake-up to come
 * (machines due now are queued, in flight, due until their step writes,
 * or held back by a cap, which a step's end lifts: it kicks the
 * scheduler), at most a second. The next wake-up is read again at most
 * every NEXT_WAKE_READ_MS; a value kept from an earlier read may miss a
 * wake-up set since, so it is trusted that long only. */
static int64_t sleep_ms(struct lc_engine *e, int64_t now, int64_t *next, int64_t *read_at)
{
	struct inv_err err = {0};
	int64_t most = 1000;
	if (now - *read_at >= NEXT_WAKE_READ_MS || now < *read_at) {
		*read_at = now;
		if (inv_machines_next_wake(e->ctx.inv, now, next, &err) != INV_OK)
			log_event(LOG_ERROR, "lifecycle: cannot read the next wake-up", "error",
				  err.message, NULL);
	} else {
		most = NEXT_WAKE_READ_MS;
	}
	int64_t wait = *next ? *next - now : most;
	return wait > most ? most : wait < 20 ? 20 : wait;
}

static void *scheduler_main(void *arg)
{
	struct lc_engine *e = arg;
	int64_t purged_at = 0, warmed_at = 0, rolled_at = 0, next = 0, next_read_at = 0;
	pthread_mutex_lock(&e->mu);
	while (!e->stopping) {
		pthread_mutex_unlock(&e->mu);
		dispatch_due(e);
		int64_t now = lc_now(&e->ctx);
		if (now - purged_at >= housekeeping_ms(&e->ctx.limits)) {
			purged_at = now;
			housekeeping(&e->ctx);
		}
		if (now - warmed_at >= WARM_PASS_MS || now < warmed_at) {
			lc_warm_pass(&e->ctx, warmed_at == 0);
			warmed_at = now;
		}
		if (now - rolled_at >= ROLLOUT_PASS_MS || now < rolled_at) {
			lc_rollout_pass(&e->ctx);
			rolled_at = now;
		}
		int64_t wait = sleep_ms(e, now, &next, &next_read_at);
		pthread_mutex_lock(&e->mu);
		timed_wait(e, wait);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Takes a lease on the machine (wake_at moves out) and this replica's claim
 * on it, so no other replica picks it while the step runs; a crash leaves
 * the lease to recovery. The first step in a state with a deadline starts
 * the deadline. */
static bool lease(struct lc_engine *e, struct inv_machine *m)
{
	int64_t now = lc_now(&e->ctx);
	int dl = lc_deadline_s(&e->ctx.limits, m->state);
	struct inv_claim claim = {0};
	if (e->ctx.replica)
		replica_claim(e->ctx.replica, &claim);
	struct inv_machine_change c = {.expect_version = m->version,
				       .claim = &claim,
				       .take_claim = true,
				       .set_wake = true,
				       .wake_at = now + LEASE_MS,
				       .set_deadline = dl > 0 && m->deadline_at == 0,
				       .deadline_at = now + (int64_t)dl * 1000,
				       .actor = "lifecycle"};
	struct inv_err err = {0};
	return inv_machine_change(e->ctx.inv, m->id, &c, m, &err) == INV_OK;
}

/* Whether this replica may step m now: its heartbeat is fresh, and m is
 * unclaimed or (resumed) still claimed by it under its epoch. A replica
 * that lost m leaves it alone (replica.h). */
static bool may_step(struct lc_engine *e, const struct inv_machine *m, bool resumed)
{
	if (!e->ctx.replica)
		return true;
	char why[300];
	struct inv_claim mine;
	replica_claim(e->ctx.replica, &mine);
	bool claimed_by_me = strcmp(m->replica, mine.replica) == 0;
	if (resumed ? !(claimed_by_me && m->replica_epoch == mine.epoch)
		    : !(claimed_by_me || !m->replica[0]))
		return false;
	if (!replica_may_act(e->ctx.replica, resumed ? m->replica_epoch : 0, why, sizeof why)) {
		log_event(LOG_WARN, "lifecycle: step not run", "machine", m->id, "why", why, NULL);
		return false;
	}
	return true;
}

/* Looks at m again in a second, under its claim: a resumed machine this
 * replica may not step now, or a step that wrote nothing (a replica that
 * lost the machine writes nothing; the take-over woke it for the others). */
static void retry_later(struct lc_engine *e, const struct inv_machine *m)
{
	struct inv_claim claim = {0};
	snprintf(claim.replica, sizeof claim.replica, "%s", m->replica);
	claim.epoch = m->replica_epoch;
	struct inv_machine_change c = {.expect_version = m->version,
				       .claim = &claim,
				       .set_wake = true,
				       .wake_at = lc_now(&e->ctx) + 1000,
				       .actor = "lifecycle"};
	struct inv_err err = {0};
	if (inv_machine_change(e->ctx.inv, m->id, &c, NULL, &err) != INV_OK)
		log_event(LOG_DEBUG, "lifecycle: machine left to its new owner", "machine", m->id,
			  "error", err.message, NULL);
}

/* Whether the step of m needs a lease written first. Not when m carries
 * this replica's claim under its current epoch: no other replica picks it
 * (their reads skip machines claimed by others), and this one holds it in
 * memory (in flight) until its step wrote its outcome. Not either for a
 * step that calls no BMC and no agent (enrolled -> verifying): its one
 * write takes the claim, and of two replicas stepping it at once one loses
 * the compare-and-swap, having done nothing else. Otherwise (an unclaimed
 * machine about to be powered on or booted) the claim is written before
 * any BMC call, so two replicas never both act on one BMC. */
static bool needs_lease(struct lc_engine *e, const struct inv_machine *m)
{
	if (m->state == INV_ST_ENROLLED)
		return false;
	if (!e->ctx.replica)
		return m->replica[0] != 0;
	struct inv_claim mine;
	replica_claim(e->ctx.replica, &mine);
	return strcmp(m->replica, mine.replica) != 0 || m->replica_epoch != mine.epoch;
}

/* Steps of one machine a worker runs back to back at most: a step that
 * leaves its machine due again with nothing to wait for (it moved it on)
 * goes straight to the next one, on the record its write left, without
 * reading it again or going through the scheduler. */
#define CHAIN_MAX 4

static bool stopping(struct lc_engine *e)
{
	pthread_mutex_lock(&e->mu);
	bool s = e->stopping;
	pthread_mutex_unlock(&e->mu);
	return s;
}

/* Steps m (this replica may, and holds it): true when it waits for a BMC
 * operation. The record m holds after a step is what its last write
 * committed (inv_machine_change out_is_current); a change someone made
 * since fails the next step's compare-and-swap, as one made during a step
 * does. */
static bool step_chain(struct lc_engine *e, struct inv_machine *m)
{
	for (int i = 0;; i++) {
		int64_t t0 = util_now_us(), version = m->version;
		bool waits = lc_step(&e->ctx, m);
		util_hist_observe_us(&e->stats.step_seconds, util_now_us() - t0);
		if (waits)
			return true;
		/* a step that wrote nothing (it could not read what it needs)
		 * leaves the machine due: with no lease to hold it back, it is
		 * looked at again in a second, not at once */
		if (m->version == version) {
			retry_later(e, m);
			return false;
		}
		if (i + 1 >= CHAIN_MAX || m->wake_at <= 0 || m->wake_at > lc_now(&e->ctx) ||
		    needs_lease(e, m) || !may_step(e, m, false) || stopping(e))
			return false;
	}
}

/* Steps the machine of j: true when it waits for a BMC operation (still in
 * flight; the call pool's answer queues it again). A resumed machine holds
 * its claim already. */
static bool run_job(struct lc_engine *e, const struct lc_job *j)
{
	struct inv_machine m = {0};
	struct inv_err err = {0};
	bool waits = false;
	if (inv_machine_get(e->ctx.inv, j->id, &m, &err) != INV_OK) {
		lc_calls_forget(e->calls, j->id);
		return false;
	}
	if (!may_step(e, &m, j->resume)) {
		lc_calls_forget(e->calls, j->id);
		if (j->resume)
			retry_later(e, &m);
	} else if (j->resume || (m.wake_at > 0 && m.wake_at <= lc_now(&e->ctx) &&
				 (!needs_lease(e, &m) || lease(e, &m)))) {
		waits = step_chain(e, &m);
	}
	inv_machine_clear(&m);
	return waits;
}

static void *worker_main(void *arg)
{
	struct lc_engine *e = arg;
	pthread_mutex_lock(&e->mu);
	for (;;) {
		while (!e->qhead && !e->stopping)
			pthread_cond_wait(&e->work_cv, &e->mu);
		if (e->stopping)
			break;
		struct lc_job *j = e->qhead;
		e->qhead = j->next;
		if (!e->qhead)
			e->qtail = NULL;
		pthread_mutex_unlock(&e->mu);
		bool waits = run_job(e, j);
		pthread_mutex_lock(&e->mu);
		if (!waits)
			inflight_del(e, j->id);
		free(j);
		e->kicked = true;
		pthread_cond_signal(&e->sched_cv);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

void lc_limits_from_config(const struct config *c, struct lc_limits *out)
{
	*out = (struct lc_limits){.verify_timeout_s = c->verify_timeout_s,
				  .inspect_timeout_s = c->inspect_timeout_s,
				  .clean_timeout_s = c->clean_timeout_s,
				  .deploy_timeout_s = c->deploy_timeout_s,
				  .release_timeout_s = c->release_timeout_s,
				  .max_attempts = c->max_attempts,
				  .backoff_base_ms = c->backoff_base_ms,
				  .backoff_max_ms = c->backoff_max_ms,
				  .max_substitutions = c->max_substitutions,
				  .max_concurrent_deploys = c->max_concurrent_deploys,
				  .max_per_rack = c->lc_max_per_rack,
				  .discovery_ttl_s = c->discovery_ttl_s,
				  .warm_max_s = c->warm_max_s,
				  .agent_boot_timeout_s = c->agent_boot_timeout_s};
}

/* The steps' view of the daemon: pointers into a, which outlives e. */
static void ctx_from_app(struct app *a, struct lc_engine *e)
{
	e->ctx = (struct lc_ctx){.inv = a->inv,
				 .bmc = a->bmc,
				 .catalog_lock = &a->catalog_lock,
				 .catalog = &a->catalog,
				 .boot_url = a->cfg.boot_url,
				 .ramdisk_dir = a->cfg.ramdisk_dir,
				 .vmedia_dir = a->cfg.vmedia_dir,
				 .kernel_args = a->cfg.kernel_args,
				 .frozen = &a->frozen,
				 .now_ms = inv_now_ms,
				 .stats = &e->stats,
				 .engine = e,
				 .console = a->console,
				 .replica = a->replica};
	lc_limits_from_config(&a->cfg, &e->ctx.limits);
}

enum err_status lc_start(struct app *a, struct lc_engine **out, struct err *errp)
{
	int n = 0;
	struct inv_err err = {0};
	*out = NULL;
	if (inv_machines_recover(a->inv, &n, &err) != INV_OK)
		return err_set(errp, ERR_IO, NULL, "lifecycle recovery: %s", err.message);
	if (n) {
		char buf[32];
		snprintf(buf, sizeof buf, "%d", n);
		log_event(LOG_INFO, "lifecycle: resumed machines in transitional states", "count",
			  buf, NULL);
	}
	struct lc_engine *e = calloc(1, sizeof *e);
	if (!e)
		return err_set(errp, ERR_INTERNAL, NULL, "lifecycle: out of memory");
	ctx_from_app(a, e);
	lc_stats_init(&e->stats);
	e->nworkers = a->cfg.lc_workers;
	e->calls = lc_calls_new(a->bmc, a->cfg.bmc_max_concurrent, resume, e);
	if (!e->calls) {
		free(e);
		return err_set(errp, ERR_INTERNAL, NULL,
			       "lifecycle: cannot start the BMC call pool");
	}
	e->ctx.calls = e->calls;
	e->max_inflight =
	    e->nworkers * (1 + QUEUE_PER_WORKER) + a->cfg.bmc_max_concurrent * INFLIGHT_PER_CALLER;
	e->inflight = calloc((size_t)e->max_inflight, sizeof *e->inflight);
	e->workers = calloc((size_t)e->nworkers, sizeof *e->workers);
	pthread_mutex_init(&e->mu, NULL);
	util_cond_init(&e->sched_cv); /* timed_wait uses util's clock */
	pthread_cond_init(&e->work_cv, NULL);
	lc_recover_allocations(&e->ctx);
	for (int i = 0; i < e->nworkers; i++)
		pthread_create(&e->workers[i], NULL, worker_main, e);
	pthread_create(&e->scheduler, NULL, scheduler_main, e);
	*out = e;
	return ERR_OK;
}

void lc_stop(struct lc_engine *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->mu);
	e->stopping = true;
	pthread_cond_broadcast(&e->sched_cv);
	pthread_cond_broadcast(&e->work_cv);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->scheduler, NULL);
	for (int i = 0; i < e->nworkers; i++)
		pthread_join(e->workers[i], NULL);
	lc_calls_free(e->calls); /* its last answers may queue machines: freed below */
	while (e->qhead) {
		struct lc_job *j = e->qhead;
		e->qhead = j->next;
		free(j);
	}
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->sched_cv);
	pthread_cond_destroy(&e->work_cv);
	free(e->inflight);
	free(e->workers);
	free(e);
}

void lc_note_inv(const char *what, const char *id, enum inv_status st, const struct inv_err *e)
{
	if (st != INV_OK)
		log_event(LOG_WARN, "lifecycle: inventory write failed", "what", what, "id", id,
			  "code", inv_status_name(st), "error", e->message, NULL);
}
