/* steps.c - what the engine does in each state, and how results commit. */
#include "provisiond/lifecycle/calls.h"
#include "provisiond/lifecycle/deploy.h"
#include "provisiond/lifecycle/engine_internal.h"

#include "provisiond/bmc/bmc.h"
#include "provisiond/console/console.h"
#include "provisiond/log.h"
#include "provisiond/replica.h"
#include "skus/sku.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct step {
	const struct lc_ctx *x;
	struct inv_machine *m;
	struct inv_bmc bmc;
	bool bmc_loaded;
	struct bmc_target t;
	char boot_mode[16]; /* the SKU's boot_override_mode for t */
	struct lc_run run;  /* its BMC operations (calls.h) */
	bool warming;	    /* an available machine warming: a failure cools it */
	/* the BMC's circuit breaker was open: its next trial is this far off */
	int64_t breaker_wait_ms;
	/* the failure being recorded is a BMC that did not answer (timeout,
	 * unreachable, circuit open), not one that said no */
	bool bmc_silent;
	/* the claim every write of the step needs: the replica's own, taken
	 * by the first write when the machine does not carry it yet */
	struct inv_claim claim;
	bool take_claim;
	/* the deadline the step started (in m) is not stored yet: its first
	 * write stores it */
	bool persist_deadline;
	char err[600];
};

static void release_deploy(struct step *s);
static void cool(struct step *s, const char *reason);

int lc_deadline_s(const struct lc_limits *c, enum inv_state s)
{
	switch (s) {
	case INV_ST_VERIFYING:
		return c->verify_timeout_s;
	case INV_ST_INSPECTING:
		return c->inspect_timeout_s;
	case INV_ST_CLEANING:
		return c->clean_timeout_s;
	case INV_ST_DEPLOYING:
		return c->deploy_timeout_s;
	case INV_ST_RELEASING:
		return c->release_timeout_s;
	default:
		return 0;
	}
}

/* When the machine's current state times out (0: never). The engine's first
 * step in the state starts it (lc_step, stored with that step's first
 * write); a machine stepped without an engine (tests call lc_step
 * directly) counts from when it entered. */
static int64_t deadline_at(const struct step *s)
{
	int dl = lc_deadline_s(&s->x->limits, s->m->state);
	if (!dl)
		return 0;
	return s->m->deadline_at ? s->m->deadline_at : s->m->state_since + (int64_t)dl * 1000;
}

static bool resting(enum inv_state s)
{
	return s == INV_ST_AVAILABLE || s == INV_ST_ACTIVE || s == INV_ST_FAILED ||
	       s == INV_ST_RETIRED || s == INV_ST_MAINTENANCE;
}

/* Someone else changed the machine while the step ran (a tech's power call,
 * a PATCH): its lease must not hold it for the full lease time. Wake it now
 * so the engine re-runs the step against the fresh record. */
static void unlease(struct step *s)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		struct inv_err err = {0};
		struct inv_machine fresh = {0};
		enum inv_status st = INV_OK;
		if (inv_machine_get(s->x->inv, s->m->id, &fresh, &err) == INV_OK &&
		    fresh.wake_at > lc_now(s->x)) {
			struct inv_machine_change c = {.expect_version = fresh.version,
						       .claim = &s->claim,
						       .set_wake = true,
						       .wake_at = lc_now(s->x),
						       .actor = "lifecycle"};
			st = inv_machine_change(s->x->inv, fresh.id, &c, NULL, &err);
		}
		inv_machine_clear(&fresh);
		if (st != INV_CONFLICT)
			return;
	}
}

/* Whether a machine changed by someone else mid-step is still the one the
 * step worked on: same state, phase and allocation (a tech renamed it,
 * moved it or read its power). Then the step's result still applies. */
static bool same_work(const struct inv_machine *a, const struct inv_machine *b)
{
	return a->state == b->state && strcmp(a->phase, b->phase) == 0 &&
	       strcmp(a->allocation_id, b->allocation_id) == 0 && a->has_bmc == b->has_bmc &&
	       a->maintenance == b->maintenance;
}

static bool commit(struct step *s, struct inv_machine_change *c)
{
	struct inv_err err = {0};
	if (s->run.yielded)
		return false; /* waiting for a BMC operation: the next run writes */
	c->actor = "lifecycle";
	c->claim = &s->claim;
	c->take_claim = s->take_claim;
	c->out_is_current = true; /* s->m is the record at expect_version */
	if (s->persist_deadline && !c->set_deadline) {
		c->set_deadline = true;
		c->deadline_at = s->m->deadline_at;
	}
	for (int attempt = 0; attempt < 5; attempt++) {
		c->expect_version = s->m->version;
		if (inv_machine_change(s->x->inv, s->m->id, c, s->m, &err) == INV_OK) {
			s->persist_deadline = false;
			return true;
		}
		struct inv_machine fresh = {0};
		struct inv_err e2 = {0};
		if (strcmp(err.field, "claim") == 0) {
			/* another replica drives it now: nothing more from here */
			log_event(LOG_WARN, "lifecycle: machine lost to another replica", "machine",
				  s->m->id, "error", err.message, NULL);
			return false;
		}
		bool retry = err.status == INV_CONFLICT &&
			     inv_machine_get(s->x->inv, s->m->id, &fresh, &e2) == INV_OK &&
			     same_work(&fresh, s->m);
		if (retry) {
			if (s->persist_deadline)
				fresh.deadline_at = s->m->deadline_at;
			inv_machine_clear(s->m);
			*s->m = fresh;
			continue;
		}
		inv_machine_clear(&fresh);
		break;
	}
	log_event(LOG_WARN, "lifecycle: change not committed", "machine", s->m->id, "error",
		  err.message, NULL);
	if (err.status == INV_CONFLICT)
		unlease(s);
	return false;
}

/* Moves to state `to` with the step's bookkeeping reset. */
static bool advance(struct step *s, enum inv_state to, const char *reason,
		    struct inv_machine_change *extra)
{
	struct inv_machine_change c = {0};
	if (extra)
		c = *extra;
	int64_t now = lc_now(s->x);
	c.set_state = c.set_phase = c.set_attempts = c.set_wake = c.set_deadline = true;
	c.state = to;
	c.phase = extra && extra->set_phase ? extra->phase : "";
	c.attempts = 0;
	c.wake_at = extra && extra->set_wake ? extra->wake_at : resting(to) ? 0 : now;
	c.deadline_at = 0;	 /* set by the state's first step (lc_deadline_s) */
	if (!c.set_last_error) { /* success clears the last error */
		c.set_last_error = true;
		c.last_error = "";
	}
	c.reason = reason;
	if (s->m->state == INV_ST_INSPECTING || s->m->state == INV_ST_CLEANING ||
	    s->m->state == INV_ST_DEPLOYING)
		release_deploy(s); /* e.g. virtual media left inserted */
	atomic_fetch_add(&s->x->stats->steps[s->m->state], 1);
	if (to == INV_ST_FAILED || to == INV_ST_RETIRED || to == INV_ST_MAINTENANCE) {
		/* no agent work is left for it: end any agent session */
		struct inv_err err = {0};
		lc_note_inv("end agent session", s->m->id,
			    inv_boot_token_revoke(s->x->inv, s->m->id, "session", &err), &err);
	}
	enum inv_state from = s->m->state;
	int64_t since = s->m->state_since;
	if (!commit(s, &c))
		return false;
	if (since > 0)
		lc_observe_state(s->x->stats, from, now - since);
	return true;
}

/* Jittered in [d/2, d] so a fleet does not retry in lockstep; attempt 1 is the
 * first retry. Steps run on several workers: one random state per thread. */
static int64_t backoff_ms(const struct lc_limits *c, int attempt)
{
	static _Thread_local uint64_t rng;
	if (!rng)
		rng = util_rng_seed();
	return util_backoff_ms(attempt - 1, c->backoff_base_ms, c->backoff_max_ms, &rng);
}

/* A failed attempt to be tried again: after the backoff, or (deferred) once
 * the BMC's circuit breaker lets a trial through. */
static void retry_later(struct step *s, const char *msg, int attempts, bool deferred)
{
	const struct lc_limits *cfg = &s->x->limits;
	char reason[700];
	int64_t wait = s->breaker_wait_ms;
	if (deferred) {
		snprintf(reason, sizeof reason, "BMC circuit open, next try in %lld ms: %s",
			 (long long)wait, msg);
	} else {
		wait = backoff_ms(cfg, attempts);
		snprintf(reason, sizeof reason, "attempt %d/%d failed: %s", attempts,
			 cfg->max_attempts, msg);
	}
	struct inv_machine_change c = {.set_attempts = true,
				       .attempts = attempts,
				       .set_wake = true,
				       .wake_at = lc_now(s->x) + wait,
				       .set_phase = true,
				       .phase = "",
				       .set_last_error = true,
				       .last_error = msg,
				       .always_event = true,
				       .reason = reason};
	atomic_fetch_add(&s->x->stats->retries, 1);
	commit(s, &c);
}

/* How often a machine that failed because its BMC did not answer is looked
 * at again: the longest backoff, so a fleet behind a dead switch costs one
 * BMC call per machine and minute at the defaults. */
static int64_t bmc_recheck_ms(const struct lc_ctx *x)
{
	return x->limits.backoff_max_ms > 1000 ? x->limits.backoff_max_ms : 1000;
}

/* A failed attempt: retry with backoff, or give up into `failed`. */
static void fail(struct step *s, bool retryable, const char *fmt, const char *detail)
{
	const struct lc_limits *cfg = &s->x->limits;
	char msg[600];
	if (s->run.yielded)
		return;
	snprintf(msg, sizeof msg, fmt, detail);
	if (s->warming) { /* the machine stays in the pool, cold */
		char reason[700];
		snprintf(reason, sizeof reason, "warming failed: %s", msg);
		cool(s, reason);
		return;
	}
	int attempts = s->m->attempts + 1;
	/* The last attempt found the BMC's breaker open, so it did not try the
	 * BMC: rather than give up on that, wait for the breaker's trial (when it
	 * comes before the state's deadline), which costs no attempt. A BMC that
	 * came back meanwhile (a repair within the cooldown) is then used, and a
	 * machine gives up on what the BMC last (did not) answer. */
	bool deferred = retryable && attempts >= cfg->max_attempts && s->breaker_wait_ms > 0 &&
			(deadline_at(s) == 0 || lc_now(s->x) + s->breaker_wait_ms < deadline_at(s));
	if (deferred)
		attempts--;
	char alloc[INV_ID_LEN];
	snprintf(alloc, sizeof alloc, "%s", s->m->allocation_id);
	enum inv_state was = s->m->state;
	log_event(LOG_WARN, "lifecycle: step failed", "machine", s->m->id, "state",
		  inv_state_name(was), "error", msg, NULL);
	release_deploy(s);
	atomic_fetch_add(&s->x->stats->failures[was], 1);
	if (deferred || (retryable && attempts < cfg->max_attempts)) {
		retry_later(s, msg, attempts, deferred);
		return;
	}
	char last[700];
	if (retryable)
		snprintf(last, sizeof last, "%s: gave up after %d attempts: %s",
			 inv_state_name(was), attempts, msg);
	else
		snprintf(last, sizeof last, "%s: %s", inv_state_name(was), msg);
	struct inv_machine_change c = {.set_last_error = true, .last_error = last};
	if (s->bmc_silent) /* looked at again until the BMC answers (step_bmc_down) */
		c.set_phase = true, c.phase = INV_PHASE_BMC_DOWN, c.set_wake = true,
		c.wake_at = lc_now(s->x) + bmc_recheck_ms(s->x);
	/* A machine that fails on its way back to the pool leaves its
	 * allocation, which then completes its release without it. */
	bool leaving = was == INV_ST_CLEANING || was == INV_ST_RELEASING;
	if (leaving && alloc[0]) {
		c.set_allocation = true;
		c.allocation_id = "";
	}
	if (!advance(s, INV_ST_FAILED, last, &c) || !alloc[0])
		return;
	if (was == INV_ST_DEPLOYING)
		lc_after_failed(s->x, s->m, alloc, last);
	else if (leaving)
		lc_settle(s->x, alloc);
}

/* The machine's BMC access (none for a discovered machine), with the boot
 * mode its SKU asks for; false when the inventory cannot say, with err
 * filled. */
static bool load_bmc(struct step *s, struct inv_err *err)
{
	if (s->bmc_loaded)
		return true;
	enum inv_status st = inv_machine_bmc(s->x->inv, s->m->id, &s->bmc, err);
	if (st != INV_OK && st != INV_NOT_FOUND)
		return false;
	s->bmc_loaded = true;
	s->boot_mode[0] = 0;
	if (s->x->catalog_lock && s->x->catalog && s->m->sku[0]) {
		pthread_rwlock_rdlock(s->x->catalog_lock);
		const struct sku *k = sku_catalog_find(*s->x->catalog, s->m->sku);
		if (k)
			snprintf(s->boot_mode, sizeof s->boot_mode, "%s",
				 sku_boot_override_mode(k));
		pthread_rwlock_unlock(s->x->catalog_lock);
	}
	s->t = (struct bmc_target){.key = s->m->id,
				   .driver = s->bmc.driver,
				   .address = s->bmc.address,
				   .username = s->bmc.username,
				   .password = s->bmc.password,
				   .options_json = s->bmc.options_json,
				   .boot_mode = s->boot_mode,
				   .claim_epoch = s->m->replica_epoch};
	return true;
}

struct circuit_find {
	const char *key;
	bool open;
};

static void circuit_match(void *ctx, const struct bmc_circuit *c)
{
	struct circuit_find *f = ctx;
	f->open |= strcmp(c->key, f->key) == 0;
}

/* Whether the BMC did not answer at all (unreachable, or its breaker open),
 * as opposed to answering no (credentials, a bad option) or a host that did
 * not follow: a BMC that accepts power-on while the power never comes on
 * ends in a timeout too, but its breaker stays closed, and so a timeout
 * counts only when the breaker is open or half-open. */
static bool bmc_silent(struct step *s, const struct bmc_error *be)
{
	struct circuit_find f = {.key = s->m->id};
	if (be->status == BMC_ERR_UNREACHABLE || be->status == BMC_ERR_CIRCUIT_OPEN)
		return true;
	if (be->status != BMC_ERR_TIMEOUT || !s->x->bmc)
		return false;
	bmc_manager_circuits(s->x->bmc, circuit_match, &f);
	return f.open;
}

/* A BMC failure: credentials problems and missing drivers are final. */
static void bmc_fail(struct step *s, const char *what, const struct bmc_error *be)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s: %s", what, be->message);
	bool final = be->status == BMC_ERR_AUTH || be->status == BMC_ERR_INVALID ||
		     be->status == BMC_ERR_NOT_COMPILED || be->status == BMC_ERR_UNSUPPORTED;
	s->breaker_wait_ms = be->status == BMC_ERR_CIRCUIT_OPEN ? be->retry_in_ms : 0;
	s->bmc_silent = bmc_silent(s, be);
	fail(s, !final, "%s", msg);
	s->bmc_silent = false;
}

/* One BMC operation of the step (calls.h): false when it is on the pool
 * (s->run.yielded: stop, write nothing) or failed (recorded as `what`). */
static bool bmc_op(struct step *s, struct lc_call call, const char *what, struct lc_call_result *r)
{
	if (!lc_call(&s->run, &s->t, &call, r))
		return false;
	if (r->st != BMC_OK && what != NULL)
		bmc_fail(s, what, &r->err);
	return r->st == BMC_OK;
}

static bool read_power(struct step *s, const char *what, enum bmc_power_state *ps)
{
	struct lc_call_result r;
	bool ok = bmc_op(s, (struct lc_call){.kind = LC_CALL_POWER_GET}, what, &r);
	*ps = r.power;
	return ok;
}

static bool boot_from(struct step *s, enum bmc_boot_device d, bool persistent)
{
	struct lc_call_result r;
	struct lc_call c = {.kind = LC_CALL_BOOT_SET, .arg = (int)d, .persistent = persistent};
	char what[64];
	snprintf(what, sizeof what, "set boot device %s", bmc_boot_device_name(d));
	if (bmc_op(s, c, NULL, &r))
		return true;
	if (s->run.yielded)
		return false;
	if (r.st == BMC_ERR_UNSUPPORTED && !persistent) /* no next-boot-only: persistent */
		return c.persistent = true, bmc_op(s, c, what, &r);
	bmc_fail(s, what, &r.err);
	return false;
}

static bool power(struct step *s, enum bmc_power_action act)
{
	struct lc_call_result r;
	char what[64];
	snprintf(what, sizeof what, "power %s", bmc_power_action_name(act));
	return bmc_op(s, (struct lc_call){.kind = LC_CALL_POWER_SET, .arg = (int)act}, what, &r);
}

/* Network boot into the agent: pxe for the next boot, then (re)start. */
/* How long a boot grant waits for the machine's boot script when the
 * state has no deadline. */
#define GRANT_DEFAULT_MS (30LL * 60 * 1000)

/* Network-boots the machine into the agent. The grant comes first, so the
 * script the machine asks for once powered on finds it; it also ends the
 * previous boot's tokens and agent session (docs/security.md). */
static bool boot_agent(struct step *s)
{
	enum bmc_power_state ps = BMC_POWER_UNKNOWN;
	struct inv_err err = {0};
	int64_t until = s->m->deadline_at > 0 ? s->m->deadline_at : lc_now(s->x) + GRANT_DEFAULT_MS;
	/* once per boot: a replay of the step (calls.h) opened it already */
	if (!lc_run_replaying(&s->run) &&
	    inv_boot_grant(s->x->inv, s->m->id, until, &err) != INV_OK) {
		fail(s, true, "cannot open a boot grant: %s", err.message);
		return false;
	}
	if (!read_power(s, "read power state", &ps))
		return false;
	return boot_from(s, BMC_BOOT_PXE, false) &&
	       power(s, ps == BMC_POWER_ON ? BMC_POWER_ACTION_CYCLE : BMC_POWER_ACTION_ON);
}

static bool boot_agent_cb(void *step)
{
	return boot_agent(step);
}

/* Virtual-media boot into the agent (deploy_vmedia.c made the grant and the
 * ISO): the media inserted, the CD for the next boot, then (re)start. */
static bool boot_media_cb(void *step, const char *url)
{
	struct step *s = step;
	struct bmc_error be = {0};
	/* the ISO and its token were made for this run: it waits on its worker */
	s->run.sync = true;
	enum bmc_power_state ps = BMC_POWER_UNKNOWN;
	if (bmc_power_get(s->x->bmc, &s->t, &ps, &be) != BMC_OK) {
		bmc_fail(s, "read power state", &be);
		return false;
	}
	if (bmc_media_insert(s->x->bmc, &s->t, url, &be) != BMC_OK) {
		bmc_fail(s, "insert virtual media", &be);
		return false;
	}
	return boot_from(s, BMC_BOOT_CD, false) &&
	       power(s, ps == BMC_POWER_ON ? BMC_POWER_ACTION_CYCLE : BMC_POWER_ACTION_ON);
}

static bool eject_media_cb(void *step, char *err, size_t len)
{
	struct step *s = step;
	struct bmc_error be = {0};
	if (bmc_media_eject(s->x->bmc, &s->t, &be) == BMC_OK)
		return true;
	snprintf(err, len, "%s", be.message);
	return false;
}

/* A wait with neither a deadline nor a report to end it: look again after
 * this long (no state the engine waits in lacks a deadline by default). */
#define PENDING_FALLBACK_MS (10 * 60 * 1000)

/* The deploy interface started something: note its phase and sleep until
 * the agent's report wakes the machine (inv_command_finish sets wake_at to
 * now), the interface's own wait ends, or the deadline passes. Nothing is
 * written while it waits. A report that came in while this step ran (since
 * its first run read the machine, calls.h) counted up the machine's wakes:
 * keep_woken then leaves its wake_at (now) in place, and the step looks
 * once more. */
static void pending(struct step *s, const struct deploy_ctx *c)
{
	int64_t now = lc_now(s->x), wake = now + PENDING_FALLBACK_MS;
	if (c->wake_in_ms > 0)
		wake = now + c->wake_in_ms;
	if (deadline_at(s) > 0 && deadline_at(s) + 1 < wake)
		wake = deadline_at(s) + 1; /* the step then sees it passed */
	struct inv_machine_change ch = {.set_phase = true,
					.phase = c->phase_out,
					.set_wake = true,
					.wake_at = wake,
					.keep_woken = true,
					.wakes_seen = s->run.wakes_seen,
					.set_power = true,
					.power = "on"};
	commit(s, &ch);
}

/* The machine left the agent (powered off or booting its disk): its
 * session ends, so a stale agent can neither be mistaken for a live one
 * nor take the next run's commands. */
static void agent_gone(struct step *s)
{
	struct inv_err err = {0};
	lc_note_inv("agent gone", s->m->id, inv_machine_agent_seen(s->x->inv, s->m->id, 0, &err),
		    &err);
	lc_note_inv("end agent session", s->m->id,
		    inv_boot_token_revoke(s->x->inv, s->m->id, "session", &err), &err);
}

static struct deploy_ctx ctx_for(struct step *s)
{
	return (struct deploy_ctx){.lc = s->x,
				   .m = s->m,
				   .bmc = &s->bmc,
				   .boot_agent = boot_agent_cb,
				   .boot_media = boot_media_cb,
				   .eject_media = eject_media_cb,
				   .step = s,
				   .replay = lc_run_replaying(&s->run)};
}

/* The deploy interface gives back what it holds (virtual media) when an
 * attempt ends or the machine leaves a transitional state. */
static void release_deploy(struct step *s)
{
	struct inv_err err = {0};
	if (!load_bmc(s, &err))
		return;
	const struct deploy_driver *d = deploy_for(s->x, s->m, &s->bmc);
	if (!d || !d->release)
		return;
	struct deploy_ctx c = ctx_for(s);
	d->release(&c);
}

static void step_verifying(struct step *s)
{
	enum bmc_power_state ps = BMC_POWER_UNKNOWN;
	if (!read_power(s, "verify BMC (read power state)", &ps))
		return;
	if (!boot_from(s, BMC_BOOT_PXE, false))
		return;
	struct inv_machine_change c = {.set_power = true, .power = bmc_power_state_name(ps)};
	advance(s, INV_ST_INSPECTING, "BMC verified: power state read, boot device set", &c);
}

static const struct deploy_driver *driver_or_fail(struct step *s)
{
	const struct deploy_driver *d = deploy_for(s->x, s->m, &s->bmc);
	if (!d)
		fail(s, false,
		     "no deploy interface for BMC driver '%s': this provisiond has no boot plane "
		     "for it yet",
		     s->bmc.driver);
	return d;
}

static void match_facts(struct step *s, char *facts)
{
	const struct lc_ctx *x = s->x;
	const struct sku *sku = NULL;
	char *reasons = NULL;
	pthread_rwlock_rdlock(x->catalog_lock);
	int rc = sku_match_json(*x->catalog, facts, &sku, &reasons);
	char name[64] = "";
	if (rc == 0)
		snprintf(name, sizeof name, "%s", sku_name(sku));
	pthread_rwlock_unlock(x->catalog_lock);
	struct inv_machine_change c = {
	    .set_facts = true, .facts_json = facts, .set_sku = rc == 0, .sku = name};
	if (rc == 0) {
		char reason[128];
		snprintf(reason, sizeof reason, "inspected: matches SKU %s", name);
		advance(s, INV_ST_CLEANING, reason, &c);
	} else if (rc == 1) {
		commit(s, &c); /* keep the facts for the tech */
		fail(s, false, "hardware matches no SKU: %s", reasons ? reasons : "");
	} else {
		fail(s, true, "agent reported invalid facts: %s", reasons ? reasons : "");
	}
	free(reasons);
}

static void step_inspecting(struct step *s)
{
	const struct deploy_driver *d = driver_or_fail(s);
	if (!d)
		return;
	struct deploy_ctx c = ctx_for(s);
	enum dep_result r = d->inspect(&c);
	if (r == DEP_DONE)
		match_facts(s, c.facts_json);
	else if (r == DEP_PENDING)
		pending(s, &c);
	else if (r == DEP_ERROR)
		fail(s, true, "inspection: %s", c.err);
	free(c.facts_json);
}

static void step_cleaning(struct step *s)
{
	const struct deploy_driver *d = driver_or_fail(s);
	if (!d)
		return;
	struct deploy_ctx c = ctx_for(s);
	enum dep_result r = d->clean(&c);
	if (r == DEP_ERROR) {
		fail(s, true, "cleaning: %s", c.err);
		return;
	}
	if (r == DEP_PENDING)
		pending(s, &c);
	if (r != DEP_DONE)
		return;
	/* a warm pool's SKU keeps its first warm_pool machines in the running
	 * agent, fast-track SKUs all of them, so a deploy needs no first
	 * reboot; the others power off */
	int pool = d->warm ? lc_warm_pool(s->x, s->m->sku) : 0;
	bool warm = pool > 0 && lc_warm_room(s->x, s->m->sku, pool);
	bool fast = warm || (pool == 0 && d != &deploy_fake && lc_fast_track(s->x, s->m->sku));
	if (!fast && !power(s, BMC_POWER_ACTION_OFF))
		return;
	char alloc[INV_ID_LEN];
	snprintf(alloc, sizeof alloc, "%s", s->m->allocation_id);
	/* powered off, the agent is gone: its session ends with the move */
	struct inv_machine_change ch = {.end_agent_session = !fast,
					.set_power = true,
					.power = fast ? "on" : "off",
					.set_allocation = true,
					.allocation_id = "",
					.set_phase = warm,
					.phase = INV_PHASE_WARM,
					.set_wake = warm,
					.wake_at =
					    lc_now(s->x) + (int64_t)s->x->limits.warm_max_s * 1000};
	if (advance(s, INV_ST_AVAILABLE,
		    warm   ? "cleaned: disks wiped, waiting in the agent (warm pool)"
		    : fast ? "cleaned: disks wiped, waiting in the agent (fast-track)"
			   : "cleaned: disks wiped, back in the pool",
		    &ch) &&
	    alloc[0])
		lc_settle(s->x, alloc);
}

/* Powers a warm-pool machine off; it stays available, cold. */
static void cool(struct step *s, const char *reason)
{
	s->warming = false;
	if (!power(s, BMC_POWER_ACTION_OFF))
		return; /* waits for the BMC, or failed: retried like any step */
	struct inv_machine_change c = {.end_agent_session = true, /* agent gone */
				       .set_phase = true,
				       .phase = "",
				       .set_wake = true,
				       .wake_at = 0,
				       .set_power = true,
				       .power = "off",
				       .always_event = true,
				       .reason = reason};
	if (commit(s, &c))
		log_event(LOG_INFO, "warm pool: machine cooled", "machine", s->m->id, "reason",
			  reason, NULL);
}

/* Phase "warming": boot the agent through the deploy interface; warm once
 * it is up, until warm_max_s from now. */
static void warm_up(struct step *s)
{
	const struct deploy_driver *d = deploy_for(s->x, s->m, &s->bmc);
	if (!d || !d->warm) { /* never powered on: it stays cold, left alone */
		struct inv_machine_change c = {
		    .set_phase = true,
		    .phase = INV_PHASE_NO_WARM,
		    .set_wake = true,
		    .wake_at = 0,
		    .always_event = true,
		    .reason = "stays cold: its deploy interface cannot keep it warm"};
		commit(s, &c);
		return;
	}
	if (lc_warm_pool(s->x, s->m->sku) <= 0) {
		cool(s, "cooled: its SKU has no warm pool any more");
		return;
	}
	struct deploy_ctx c = ctx_for(s);
	s->warming = true;
	enum dep_result r = d->warm(&c);
	if (r == DEP_PENDING) {
		pending(s, &c);
	} else if (r == DEP_ERROR) {
		fail(s, true, "%s", c.err);
	} else if (r == DEP_DONE) {
		struct inv_machine_change ch = {
		    .set_phase = true,
		    .phase = INV_PHASE_WARM,
		    .set_wake = true,
		    .wake_at = lc_now(s->x) + (int64_t)s->x->limits.warm_max_s * 1000,
		    .set_power = true,
		    .power = "on",
		    .always_event = true,
		    .reason = "warmed: waiting in the agent (warm pool)"};
		if (commit(s, &ch))
			log_event(LOG_INFO, "warm pool: machine warmed", "machine", s->m->id, NULL);
	}
}

/* Phase "warm" and due: it has been on warm_max_s. It stays on, out of
 * the pool's count, until the warm pass has warmed its replacement, or
 * for one agent boot's deadline if no replacement gets warm. */
static void rotate(struct step *s)
{
	int wait_s =
	    s->x->limits.agent_boot_timeout_s > 0 ? s->x->limits.agent_boot_timeout_s : 600;
	char reason[160];
	snprintf(reason, sizeof reason,
		 "rotating: warm for %d s ([lifecycle] warm_max_s), powers off once a "
		 "replacement is warm",
		 s->x->limits.warm_max_s);
	struct inv_machine_change c = {.set_phase = true,
				       .phase = INV_PHASE_ROTATING,
				       .set_wake = true,
				       .wake_at = lc_now(s->x) + (int64_t)wait_s * 1000,
				       .always_event = true,
				       .reason = reason};
	commit(s, &c);
}

/* An available machine the engine looks at: one of a warm pool (phase
 * warming: boot it; warm and due: rotate it; rotating and woken by the
 * warm pass: power it off; cooling: the pool shrank). */
static void step_available(struct step *s)
{
	const char *ph = s->m->phase;
	if (strcmp(ph, INV_PHASE_WARMING) == 0) {
		warm_up(s);
	} else if (strcmp(ph, INV_PHASE_WARM) == 0) {
		rotate(s);
	} else if (strcmp(ph, INV_PHASE_ROTATING) == 0) {
		char reason[128];
		snprintf(reason, sizeof reason,
			 "rotated: warm for %d s ([lifecycle] warm_max_s), powered off",
			 s->x->limits.warm_max_s);
		cool(s, reason);
	} else {
		cool(s, "cooled: more warm machines than the SKU's warm_pool");
	}
}

/* The image machine id gets: its own in the allocation (a staged rollout
 * reimages it, rollout.c), else the allocation's. Per machine, because
 * while a rollout runs, and after one halted, the allocation's machines
 * run two images; a substitute or a retried deploy of a machine outside
 * the rollout keeps the allocation's. */
static const char *image_for(const struct inv_allocation *al, const char *id)
{
	for (size_t i = 0; i < al->nmachines; i++)
		if (strcmp(al->machines[i].id, id) == 0 && al->machines[i].image[0])
			return al->machines[i].image;
	return al->image;
}

static bool load_deploy_inputs(struct step *s, struct inv_allocation *al, struct inv_image *img)
{
	struct inv_err err = {0};
	if (!s->m->allocation_id[0] ||
	    inv_allocation_get(s->x->inv, s->m->allocation_id, al, &err) != INV_OK) {
		advance(s, INV_ST_RELEASING, "deploying without an allocation", NULL);
		return false;
	}
	const char *image = image_for(al, s->m->id);
	if (inv_image_get(s->x->inv, image, img, &err) != INV_OK) {
		fail(s, false, "image '%s' is no longer registered", image);
		return false;
	}
	return true;
}

/* The image is on disk: boot from it and wait for the OS to call in. */
static void deploy_boot_disk(struct step *s, const struct deploy_driver *d,
			     const struct inv_allocation *al, const struct inv_image *img)
{
	struct deploy_ctx c = ctx_for(s);
	if (strcmp(s->m->phase, "disk") != 0) {
		if (!boot_from(s, BMC_BOOT_DISK, true))
			return;
		bool cycled = power(s, BMC_POWER_ACTION_CYCLE);
		if (s->run.yielded)
			return;
		/* a cycle that failed may still have reached the machine (powered it
		 * off, never on): the agent is not to be trusted to be running */
		agent_gone(s);
		if (!cycled)
			return;
	}
	enum dep_result r = d->wait_booted(&c);
	if (r == DEP_PENDING) {
		pending(s, &c);
	} else if (r == DEP_ERROR) {
		fail(s, true, "boot from disk: %s", c.err);
	} else if (r == DEP_DONE) {
		struct inv_machine_change ch = {.set_power = true, .power = "on"};
		char reason[160];
		snprintf(reason, sizeof reason, "image %s written; booted from disk", img->name);
		if (advance(s, INV_ST_ACTIVE, reason, &ch))
			lc_settle(s->x, al->id);
	}
}

/* Admission: a deploy starts (phase "") only while fewer machines entered
 * `deploying` before this one than the global and the SKU's caps, so the
 * rest wait in the order they came; once started, a deploy is not stopped
 * by a cap lowered later. The order lives in the inventory, so it survives
 * a restart. False when it must wait: it looks again after a second at the
 * head of the queue, and less often the further back it stands (a second
 * per cap's worth of machines ahead, at most a minute), so ten thousand
 * waiting deploys do not write ten thousand rows a second. */
static bool deploy_admitted(struct step *s)
{
	const struct lc_ctx *x = s->x;
	if (s->m->phase[0])
		return true;
	int64_t ahead = 0, ahead_sku = 0;
	struct inv_err e = {0};
	enum inv_status st = inv_deploys_ahead(x->inv, s->m->id, s->m->sku, s->m->state_since,
					       &ahead, &ahead_sku, &e);
	lc_note_inv("deploy admission", s->m->id, st, &e);
	int sku_cap = lc_sku_max_deploys(x, s->m->sku);
	bool global_ok = ahead < x->limits.max_concurrent_deploys;
	bool sku_ok = sku_cap <= 0 || ahead_sku < sku_cap;
	if (st == INV_OK && global_ok && sku_ok)
		return true;
	if (st == INV_OK)
		atomic_fetch_add(global_ok ? &x->stats->admission_waits_sku
					   : &x->stats->admission_waits_global,
				 1);
	int64_t over = 0, cap = x->limits.max_concurrent_deploys;
	if (!global_ok)
		over = ahead - cap + 1;
	if (!sku_ok && ahead_sku - sku_cap + 1 > over)
		over = ahead_sku - sku_cap + 1, cap = sku_cap;
	int64_t wait_ms = cap > 0 ? 1000 * (over / cap) : 1000;
	if (wait_ms < 1000)
		wait_ms = 1000;
	if (wait_ms > 60000)
		wait_ms = 60000;
	struct inv_machine_change c = {.set_wake = true, .wake_at = lc_now(x) + wait_ms};
	commit(s, &c);
	return false;
}

static void step_deploying(struct step *s)
{
	struct lc_stats *st = s->x->stats;
	if (!deploy_admitted(s))
		return;
	atomic_fetch_add(&st->deploys_running, 1);
	struct inv_allocation al = {0};
	struct inv_image img = {0};
	const struct deploy_driver *d = NULL;
	if (load_deploy_inputs(s, &al, &img) && (d = driver_or_fail(s))) {
		struct deploy_ctx c = ctx_for(s);
		enum dep_result r =
		    strcmp(s->m->phase, "disk") == 0 ? DEP_DONE : d->write_image(&c, &img, &al);
		if (r == DEP_ERROR)
			fail(s, true, "image write: %s", c.err);
		else if (r == DEP_PENDING)
			pending(s, &c);
		else if (r == DEP_DONE)
			deploy_boot_disk(s, d, &al, &img);
	}
	atomic_fetch_sub(&st->deploys_running, 1);
	inv_allocation_clear(&al);
}

/* A machine that failed because its BMC did not answer (phase bmc-down):
 * nothing was found wrong with the machine, only that it could not be
 * reached. Once the BMC answers a power-state read, the machine is verified
 * again, as a tech's repair would do, and returns to the pool through
 * inspection and cleaning; a real fault of the machine fails it there again,
 * for good. Until then, and while an allocation still holds it (a repair
 * would be refused too), it is looked at again every bmc_recheck_ms. */
static void step_bmc_down(struct step *s)
{
	struct inv_err err = {0};
	enum bmc_power_state ps = BMC_POWER_UNKNOWN;
	if (!s->m->allocation_id[0] && load_bmc(s, &err) && s->bmc.driver[0]) {
		if (read_power(s, NULL, &ps)) {
			advance(s, INV_ST_VERIFYING,
				"its BMC answers again: verifying (it failed while the BMC did not "
				"answer)",
				NULL);
			return;
		}
		if (s->run.yielded)
			return; /* the read goes on on the pool; the step runs again */
	}
	struct inv_machine_change c = {.set_wake = true,
				       .wake_at = lc_now(s->x) + bmc_recheck_ms(s->x)};
	commit(s, &c);
}

static bool frozen_pause(struct step *s)
{
	if (!s->x->frozen || !atomic_load(s->x->frozen))
		return false;
	struct inv_machine_change c = {.set_wake = true, .wake_at = lc_now(s->x) + 2000};
	commit(s, &c);
	return true;
}

static void step_run(struct step *s)
{
	const struct lc_ctx *x = s->x;
	struct inv_machine *m = s->m;
	enum inv_state st = m->state;
	if (st == INV_ST_ENROLLED) {
		if (m->has_bmc)
			advance(s, INV_ST_VERIFYING, "BMC access present: verifying", NULL);
		else {
			struct inv_machine_change c = {.set_wake = true, .wake_at = 0};
			commit(s, &c);
		}
		return;
	}
	if (st == INV_ST_AVAILABLE && m->phase[0] && strcmp(m->phase, INV_PHASE_NO_WARM) != 0 &&
	    !m->maintenance) {
		struct inv_err err = {0};
		if (!load_bmc(s, &err))
			log_event(LOG_WARN, "lifecycle: cannot read the BMC access", "machine",
				  m->id, "error", err.message, NULL);
		else
			step_available(s);
		return;
	}
	if (st == INV_ST_FAILED && strcmp(m->phase, INV_PHASE_BMC_DOWN) == 0 && !m->maintenance) {
		step_bmc_down(s);
		return;
	}
	if (resting(st)) {
		struct inv_machine_change c = {.set_wake = true, .wake_at = 0};
		commit(s, &c);
		return;
	}
	if (frozen_pause(s))
		return;
	int64_t deadline = deadline_at(s);
	if (deadline && lc_now(x) > deadline) {
		atomic_fetch_add(&x->stats->deadline_misses, 1);
		char msg[160];
		snprintf(msg, sizeof msg, "deadline of %d s passed while waiting for %s to finish",
			 lc_deadline_s(&x->limits, st), inv_state_name(st));
		fail(s, false, "%s", msg);
		return;
	}
	if (st == INV_ST_RELEASING) {
		advance(s, INV_ST_CLEANING, "released: cleaning", NULL);
		return;
	}
	struct inv_err err = {0};
	if (!load_bmc(s, &err))
		fail(s, true, "cannot read the BMC access: %s", err.message);
	else if (st == INV_ST_VERIFYING)
		step_verifying(s);
	else if (st == INV_ST_INSPECTING)
		step_inspecting(s);
	else if (st == INV_ST_CLEANING)
		step_cleaning(s);
	else if (st == INV_ST_DEPLOYING)
		step_deploying(s);
}

bool lc_console_state(enum inv_state s)
{
	return s == INV_ST_INSPECTING || s == INV_ST_CLEANING || s == INV_ST_DEPLOYING;
}

/* The one place a capture starts or stops: after each step, by the state the
 * step left the machine in. Machines that leave those states by another path
 * (a tech's maintenance or retire, a deletion) are noticed by the capture
 * itself, which asks the inventory every few seconds. */
static void console_follow(struct step *s)
{
	struct inv_err err = {0};
	bool want = lc_console_state(s->m->state) && s->m->has_bmc;
	if (!s->x->console)
		return;
	if (want && load_bmc(s, &err) && s->bmc.driver[0])
		con_capture(s->x->console, s->m->id, &s->t);
	else if (!want)
		con_capture(s->x->console, s->m->id, NULL);
}

bool lc_step(const struct lc_ctx *x, struct inv_machine *m)
{
	struct step s = {.x = x, .m = m};
	snprintf(s.claim.replica, sizeof s.claim.replica, "%s", m->replica);
	s.claim.epoch = m->replica_epoch;
	if (x->replica) { /* the engine's own claim, which the first write takes */
		replica_claim(x->replica, &s.claim);
		s.take_claim =
		    strcmp(s.claim.replica, m->replica) != 0 || s.claim.epoch != m->replica_epoch;
	}
	lc_run_begin(x->calls, x->bmc, &s.run, m, lc_now(x));
	int dl = lc_deadline_s(&x->limits, m->state);
	if (x->engine && dl > 0 && m->deadline_at == 0) {
		m->deadline_at = s.run.began + (int64_t)dl * 1000;
		s.persist_deadline = true;
	}
	if (!s.run.yielded)
		step_run(&s);
	if (!s.run.yielded)
		console_follow(&s);
	lc_run_end(&s.run);
	inv_bmc_clear(&s.bmc); /* loaded by any path that met a BMC or a release */
	return s.run.yielded;
}
