/* rollout.c - drives staged image rollouts (docs/allocations.md, "Staged
 * rollouts"). The API only records a rollout (inv_rollout_create); this
 * pass, run by the scheduler every second, moves it on:
 *
 *  - a machine of the current wave that is active again (the deploy path
 *    moved it there, which for pxe means the deployed OS reported
 *    `booted`) is done; one that failed, left the allocation or is still
 *    deploying when the wave's deadline passed (deploy_timeout_s after it
 *    started, plus a grace) failed;
 *  - more failures than max_failures halt it: no new wave starts, the
 *    machines of the current wave finish, the rest keep the old image;
 *  - when no machine of the current wave is reimaging, the next wave
 *    starts (its machines move active -> deploying with the new image in
 *    their membership), or the rollout ends (completed: the image becomes
 *    the allocation's; halted; cancelled).
 *
 * Everything it decides from lives in the inventory and every move is one
 * write checked against the rollout's state and wave (rollout_write.c), so
 * the pass keeps nothing between runs: after a crash (kill -9 at any
 * point) the next start's pass picks up where the database says, and the
 * machines mid-deploy resume through the engine's own recovery. */
#include "provisiond/lifecycle/engine_internal.h"

#include "provisiond/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Open rollouts looked at per pass; more wait for the next. */
#define PASS_MAX 64
/* Added to deploy_timeout_s before a wave's deadline: the machine's own
 * deploying deadline (which fails it) comes first. */
#define WAVE_GRACE_MS 30000

static int64_t wave_deadline(const struct lc_ctx *x, const struct inv_rollout *r)
{
	return r->wave_started_at + (int64_t)x->limits.deploy_timeout_s * 1000 + WAVE_GRACE_MS;
}

static const struct inv_alloc_machine *member(const struct inv_allocation *al, const char *id)
{
	for (size_t i = 0; i < al->nmachines; i++)
		if (!al->machines[i].detached && strcmp(al->machines[i].id, id) == 0)
			return &al->machines[i];
	return NULL;
}

/* How reimaging machine rm is doing: false while it still deploys; true
 * with o filled once it is done or failed (msg holds the message). */
static bool outcome(const struct lc_ctx *x, const struct inv_rollout *r,
		    const struct inv_allocation *al, const struct inv_rollout_machine *rm,
		    struct inv_rollout_outcome *o, char *msg, size_t len)
{
	struct inv_machine m = {0};
	struct inv_err err = {0};
	bool found = inv_machine_get(x->inv, rm->id, &m, &err) == INV_OK;
	bool in = member(al, rm->id) != NULL;
	bool ended = true;
	*o = (struct inv_rollout_outcome){.machine_id = rm->id, .message = msg};
	if (found && in && m.state == INV_ST_ACTIVE && m.state_since >= rm->started_at) {
		o->ok = true;
	} else if (found && in && m.state == INV_ST_DEPLOYING) {
		ended = lc_now(x) > wave_deadline(x, r);
		snprintf(msg, len, "still deploying when the wave's deadline passed (%d s)",
			 x->limits.deploy_timeout_s);
	} else if (found) {
		snprintf(msg, len, "%s%s%.200s",
			 in ? inv_state_name(m.state) : "left the allocation",
			 m.last_error[0] ? ": " : "", m.last_error);
	} else {
		snprintf(msg, len, "machine is gone");
	}
	inv_machine_clear(&m);
	return ended;
}

/* Records the outcomes of the current wave's machines that ended; *busy
 * gets how many still reimage. True when something was written. */
static bool record(const struct lc_ctx *x, const struct inv_rollout *r,
		   const struct inv_allocation *al, int *busy)
{
	struct inv_rollout_outcome *o = calloc(r->nmachines + 1, sizeof *o);
	char(*msgs)[300] = calloc(r->nmachines + 1, sizeof *msgs);
	int n = 0;
	*busy = 0;
	for (size_t i = 0; o && msgs && i < r->nmachines; i++) {
		const struct inv_rollout_machine *rm = &r->machines[i];
		if (rm->state != INV_RM_REIMAGING)
			continue;
		if (outcome(x, r, al, rm, &o[n], msgs[n], sizeof msgs[n]))
			n++;
		else
			(*busy)++;
	}
	struct inv_err err = {0};
	enum inv_status st = n ? inv_rollout_record(x->inv, r, o, n, &err) : INV_OK;
	lc_note_inv("record rollout outcomes", r->id, st, &err);
	for (int i = 0; st == INV_OK && i < n; i++)
		log_event(o[i].ok ? LOG_INFO : LOG_WARN,
			  o[i].ok ? "rollout: machine reimaged" : "rollout: machine failed",
			  "allocation", r->allocation_id, "machine", o[i].machine_id, "error",
			  o[i].ok ? "" : o[i].message, NULL);
	free(o);
	free(msgs);
	return n > 0 && st == INV_OK;
}

static bool finish(const struct lc_ctx *x, const struct inv_rollout *r, enum inv_rollout_state to,
		   const char *reason)
{
	struct inv_err err = {0};
	enum inv_status st = inv_rollout_finish(x->inv, r, to, reason, "lifecycle", "", &err);
	lc_note_inv("rollout", r->id, st, &err);
	if (st == INV_OK)
		log_event(LOG_INFO, "rollout: state changed", "allocation", r->allocation_id,
			  "rollout", r->id, "state", inv_rollout_state_name(to), "reason",
			  reason ? reason : "", NULL);
	return st == INV_OK;
}

/* No machine of the current wave reimages: the next wave, or the end. */
static bool advance(const struct lc_ctx *x, const struct inv_rollout *r)
{
	if (r->state == INV_RO_HALTING)
		return finish(x, r, INV_RO_HALTED, NULL);
	if (r->state == INV_RO_CANCELLING)
		return finish(x, r, INV_RO_CANCELLED, NULL);
	if (r->wave + 1 >= r->nwaves)
		return finish(x, r, INV_RO_COMPLETED, "every wave done");
	struct inv_err err = {0};
	enum inv_status st = inv_rollout_start_wave(x->inv, r, &err);
	lc_note_inv("start rollout wave", r->id, st, &err);
	if (st != INV_OK)
		return false;
	char wave[16];
	snprintf(wave, sizeof wave, "%d/%d", r->wave + 2, r->nwaves);
	log_event(LOG_INFO, "rollout: wave started", "allocation", r->allocation_id, "rollout",
		  r->id, "wave", wave, "image", r->image, NULL);
	lc_kick(x->engine);
	return true;
}

/* One move of rollout r, if one is due: true when it wrote something (the
 * caller reads it again and looks for the next move). */
static bool step(const struct lc_ctx *x, const struct inv_rollout *r,
		 const struct inv_allocation *al)
{
	int busy = 0;
	if (al->state != INV_AL_READY && r->state != INV_RO_CANCELLING) {
		char why[96];
		snprintf(why, sizeof why, "allocation is %s", inv_alloc_state_name(al->state));
		return finish(x, r, INV_RO_CANCELLING, why);
	}
	if (record(x, r, al, &busy))
		return true;
	if (r->state == INV_RO_RUNNING && r->failures > r->max_failures) {
		char why[128];
		snprintf(why, sizeof why, "%d machine%s failed; max_failures is %d", r->failures,
			 r->failures == 1 ? "" : "s", r->max_failures);
		return finish(x, r, INV_RO_HALTING, why);
	}
	return busy == 0 && advance(x, r);
}

static void drive(const struct lc_ctx *x, const char *id)
{
	/* a few moves at once: a wave's outcomes, then the next wave */
	for (int moves = 0; moves < 4; moves++) {
		struct inv_rollout r = {0};
		struct inv_allocation al = {0};
		struct inv_err err = {0};
		bool again = false;
		if (inv_rollout_get(x->inv, id, &r, &err) == INV_OK && inv_rollout_open(r.state) &&
		    inv_allocation_get(x->inv, r.allocation_id, &al, &err) == INV_OK)
			again = step(x, &r, &al);
		inv_allocation_clear(&al);
		inv_rollout_clear(&r);
		if (!again)
			break;
	}
}

void lc_rollout_pass(const struct lc_ctx *x)
{
	char(*ids)[INV_ID_LEN] = calloc(PASS_MAX, INV_ID_LEN);
	int n = 0;
	struct inv_err err = {0};
	/* the fleet freeze stops deploys: no wave starts or ends while it is
	 * on (the machines' own steps pause too) */
	if (!ids || (x->frozen && atomic_load(x->frozen))) {
		free(ids);
		return;
	}
	enum inv_status st = inv_rollouts_open(x->inv, ids, PASS_MAX, &n, &err);
	lc_note_inv("list open rollouts", "", st, &err);
	for (int i = 0; st == INV_OK && i < n; i++)
		drive(x, ids[i]);
	free(ids);
}
