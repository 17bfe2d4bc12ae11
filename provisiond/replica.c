/* replica.c - registration, heartbeat, take-over and the BMC gate of this
 * replica (replica.h). */
#include "provisiond/replica.h"

#include "provisiond/bmc/bmc.h"
#include "provisiond/config.h"
#include "provisiond/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOST_MAX 16

struct replica {
	struct inv *inv;
	char name[INV_REPLICA_LEN];
	char roles[64], address[256];
	int heartbeat_ms, takeover_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	int64_t epoch;	   /* under mu */
	int64_t fresh_at;  /* util_now_ms() when the last good heartbeat began; under mu */
	int engines, rank; /* live engine replicas, this one's place by name; under mu */
	bool settled;	   /* every other one counted since this one registered; under mu */
	atomic_ulong heartbeat_failures, fenced, takeovers, machines_taken, refused;
};

/* The configured name, else HOSTNAME:PORT with the port of [server] listen
 * as configured — not the bound one: a daemon listening on port 0 keeps its
 * name across restarts, so a restart takes its own machines back at once
 * instead of waiting takeover_s for a replica of another name. */
static void set_name(struct replica *r, const struct config *cfg)
{
	if (cfg->replica_name[0]) {
		snprintf(r->name, sizeof r->name, "%s", cfg->replica_name);
		return;
	}
	char host[64] = "localhost";
	(void)gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = 0;
	const char *colon = strrchr(cfg->listen, ':');
	snprintf(r->name, sizeof r->name, "%.40s:%.16s", host, colon ? colon + 1 : cfg->listen);
}

/* Registers under a new epoch; false with why. */
static bool enrol(struct replica *r, char *why, size_t len)
{
	struct inv_err err = {0};
	int64_t began = util_now_ms(), epoch = 0;
	if (inv_replica_register(r->inv, r->name, r->roles, r->address, &epoch, &err) != INV_OK) {
		snprintf(why, len, "cannot register replica %s: %s", r->name, err.message);
		return false;
	}
	pthread_mutex_lock(&r->mu);
	r->epoch = epoch;
	r->fresh_at = began;
	r->settled = false; /* a joiner until the others counted it */
	pthread_mutex_unlock(&r->mu);
	return true;
}

/* One heartbeat; a fenced replica registers again. */
static void beat(struct replica *r)
{
	struct inv_err err = {0};
	int64_t began = util_now_ms(), epoch;
	pthread_mutex_lock(&r->mu);
	epoch = r->epoch;
	pthread_mutex_unlock(&r->mu);
	enum inv_status st = inv_replica_heartbeat(r->inv, r->name, epoch, &err);
	if (st == INV_OK) {
		pthread_mutex_lock(&r->mu);
		if (r->epoch == epoch)
			r->fresh_at = began;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	if (st != INV_CONFLICT) {
		atomic_fetch_add(&r->heartbeat_failures, 1);
		log_event(LOG_WARN, "replica: heartbeat failed", "replica", r->name, "error",
			  err.message, NULL);
		return;
	}
	atomic_fetch_add(&r->fenced, 1);
	log_event(LOG_ERROR, "replica: fenced (silent too long): its machines went to others",
		  "replica", r->name, "error", err.message, NULL);
	char why[300];
	if (!enrol(r, why, sizeof why))
		log_event(LOG_ERROR, "replica: cannot register again", "error", why, NULL);
}

/* Takes over from replicas silent for takeover_ms. */
static void take_over(struct replica *r)
{
	char lost[LOST_MAX][INV_REPLICA_LEN];
	int nlost = 0, nmachines = 0;
	struct inv_err err = {0};
	int64_t before = inv_now_ms() - r->takeover_ms;
	if (inv_replicas_take_over(r->inv, r->name, before, lost, LOST_MAX, &nlost, &nmachines,
				   &err) != INV_OK) {
		log_event(LOG_WARN, "replica: take-over pass failed", "error", err.message, NULL);
		return;
	}
	atomic_fetch_add(&r->takeovers, (unsigned long)nlost);
	atomic_fetch_add(&r->machines_taken, (unsigned long)nmachines);
	for (int i = 0; i < nlost && i < LOST_MAX; i++) {
		char n[24];
		snprintf(n, sizeof n, "%d", nmachines);
		log_event(LOG_WARN, "replica: took over from a silent replica", "replica", r->name,
			  "lost", lost[i], "machines", n, NULL);
	}
}

static const struct inv_replica *find(const struct inv_replica_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].name, name))
			return &l->items[i];
	return NULL;
}

/* This replica's place among the live engine replicas, by name: what
 * replica_rack_share splits the rack cap by. It is settled once every
 * other one has heartbeat since this one registered: each counts the
 * replicas right after its heartbeat, so all of them count this one and
 * have cut their own share. A failed read keeps the last view. */
static void count_engines(struct replica *r)
{
	struct inv_replica_list l = {0};
	struct inv_err err = {0};
	if (inv_replica_list(r->inv, &l, &err) != INV_OK)
		return;
	int64_t live_after = inv_now_ms() - r->takeover_ms;
	const struct inv_replica *me = find(&l, r->name);
	int n = 1, rank = 0; /* this replica, listed or not */
	bool counted = me != NULL;
	for (size_t i = 0; i < l.n; i++) {
		const struct inv_replica *x = &l.items[i];
		int roles = config_roles(x->roles); /* as its configuration gave them */
		if (x == me || x->fenced || x->heartbeat_at < live_after || roles < 0 ||
		    !(roles & CONFIG_ROLE_ENGINE))
			continue;
		n++;
		rank += strcmp(x->name, r->name) < 0;
		counted = counted && x->heartbeat_at >= me->started_at;
	}
	inv_replica_list_clear(&l);
	pthread_mutex_lock(&r->mu);
	bool changed = r->engines != n || r->rank != rank || (counted && !r->settled);
	r->engines = n;
	r->rank = rank;
	r->settled = r->settled || counted;
	pthread_mutex_unlock(&r->mu);
	if (changed) {
		char ns[16], ranks[16];
		snprintf(ns, sizeof ns, "%d", n);
		snprintf(ranks, sizeof ranks, "%d", rank);
		log_event(LOG_INFO,
			  "replica: engine replicas live (the rack cap is split among them)",
			  "replica", r->name, "engines", ns, "rank", ranks, "settled",
			  counted ? "yes" : "not yet", NULL);
	}
}

int replica_rack_share(struct replica *r, int cap)
{
	if (!r || cap <= 0)
		return cap;
	pthread_mutex_lock(&r->mu);
	int n = r->engines > 0 ? r->engines : 1, rank = r->rank;
	bool settled = r->settled;
	pthread_mutex_unlock(&r->mu);
	if (!settled)
		return 0;
	int share = cap / n + (rank < cap % n);
	return share > 0 ? share : 1;
}

static void *heartbeat_main(void *arg)
{
	struct replica *r = arg;
	pthread_mutex_lock(&r->mu);
	while (!r->stopping) {
		pthread_mutex_unlock(&r->mu);
		beat(r);
		take_over(r);
		count_engines(r);
		int64_t next = util_now_ms() + r->heartbeat_ms;
		pthread_mutex_lock(&r->mu);
		while (!r->stopping && util_now_ms() < next)
			if (util_cond_wait_until_ms(&r->cv, &r->mu, next) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

bool replica_may_act(struct replica *r, int64_t epoch, char *why, size_t len)
{
	pthread_mutex_lock(&r->mu);
	int64_t age = util_now_ms() - r->fresh_at, mine = r->epoch;
	pthread_mutex_unlock(&r->mu);
	const char *reason = NULL;
	if (age >= (int64_t)r->takeover_ms * 2 / 3)
		reason = "its last good heartbeat is too old: another replica may own the machine";
	else if (epoch && epoch != mine)
		reason = "the claim is of an older epoch: the machine went to another replica";
	if (!reason)
		return true;
	atomic_fetch_add(&r->refused, 1);
	snprintf(why, len, "replica %s (epoch %lld, claim %lld): %s", r->name, (long long)mine,
		 (long long)epoch, reason);
	return false;
}

static bool gate(void *ctx, int64_t claim_epoch, char *why, size_t len)
{
	return replica_may_act(ctx, claim_epoch, why, len);
}

struct replica *replica_start(struct inv *inv, struct bmc_manager *bmc, const struct config *cfg,
			      char *why, size_t len)
{
	struct replica *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	r->inv = inv;
	set_name(r, cfg);
	snprintf(r->roles, sizeof r->roles, "%s", cfg->replica_roles);
	snprintf(r->address, sizeof r->address, "%s", cfg->listen);
	r->heartbeat_ms = cfg->replica_heartbeat_s * 1000;
	r->takeover_ms = cfg->replica_takeover_s * 1000;
	pthread_mutex_init(&r->mu, NULL);
	util_cond_init(&r->cv);
	if (!enrol(r, why, len) || pthread_create(&r->thread, NULL, heartbeat_main, r) != 0) {
		if (!why[0])
			snprintf(why, len, "cannot start the heartbeat thread");
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return NULL;
	}
	inv_set_replica(inv, r->name);
	count_engines(r); /* before the engine starts: its first share */
	if (bmc)
		bmc_manager_set_gate(bmc, gate, r);
	return r;
}

/* A replica that stops (its engine already has) hands its machines to the
 * others at once instead of leaving them until it is silent past
 * takeover_ms, and stops counting as live (its rack share goes to them at
 * their next heartbeat). */
static void resign(struct replica *r)
{
	struct inv_err err = {0};
	int n = 0;
	if (inv_replica_resign(r->inv, r->name, r->epoch, &n, &err) != INV_OK) {
		log_event(LOG_WARN,
			  "replica: cannot hand its machines over; the others take them"
			  " after takeover_s",
			  "replica", r->name, "error", err.message, NULL);
		return;
	}
	char nm[24];
	snprintf(nm, sizeof nm, "%d", n);
	log_event(LOG_INFO, "replica: stopped, its machines handed over", "replica", r->name,
		  "machines", nm, NULL);
}

void replica_stop(struct replica *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	resign(r);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

const char *replica_name(const struct replica *r)
{
	return r->name;
}

int replica_takeover_s(const struct replica *r)
{
	return r->takeover_ms / 1000;
}

void replica_claim(struct replica *r, struct inv_claim *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->replica, sizeof out->replica, "%s", r->name);
	pthread_mutex_lock(&r->mu);
	out->epoch = r->epoch;
	pthread_mutex_unlock(&r->mu);
}

void replica_metrics(struct replica *r, const struct util_lines *o)
{
	pthread_mutex_lock(&r->mu);
	long long epoch = r->epoch, age = util_now_ms() - r->fresh_at, engines = r->engines;
	pthread_mutex_unlock(&r->mu);
	util_metric_one(o, "replica_engines", "gauge",
			"Live replicas running the engine, this one included, as of its last "
			"heartbeat: [lifecycle] max_per_rack is split among them.",
			engines);
	util_metric_one(o, "replica_epoch", "gauge",
			"This replica's epoch (a new one per start "
			"and after each time it was fenced).",
			epoch);
	util_metric_one(o, "replica_heartbeat_age_seconds", "gauge",
			"Seconds since this replica's last good heartbeat began.", age / 1000);
	util_metric_one(o, "replica_heartbeat_failures_total", "counter",
			"Heartbeats that could not be written.",
			(long long)atomic_load(&r->heartbeat_failures));
	util_metric_one(o, "replica_fenced_total", "counter",
			"Times this replica found itself fenced and registered again.",
			(long long)atomic_load(&r->fenced));
	util_metric_one(o, "replica_takeovers_total", "counter",
			"Silent replicas this replica took over from.",
			(long long)atomic_load(&r->takeovers));
	util_metric_one(o, "replica_machines_taken_total", "counter",
			"Machines unclaimed from silent replicas by this replica.",
			(long long)atomic_load(&r->machines_taken));
	util_metric_one(o, "replica_refused_calls_total", "counter",
			"BMC calls and steps refused because this replica's claim was over.",
			(long long)atomic_load(&r->refused));
}
