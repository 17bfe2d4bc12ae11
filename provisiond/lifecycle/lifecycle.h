/* lifecycle.h - the machine lifecycle: the transition rules in one place and
 * the engine that drives machines through them.
 *
 * The engine is a scheduler thread plus worker threads. Machines whose
 * wake_at is due are handed to a worker, which runs the step for the
 * machine's (state, phase), talking to the BMC and the deploy interface,
 * and commits the result as a compare-and-swap on the machine's version. A
 * crash loses nothing: the next start wakes every transitional machine
 * (inv_machines_recover) and the steps are safe to repeat.
 *
 * Thread-safety: lc_* functions may be called from any thread. */
#ifndef PROVISIOND_LIFECYCLE_H
#define PROVISIOND_LIFECYCLE_H

#include "inventory/inventory.h"
#include "util/util.h"

#include <stdbool.h>
#include <stddef.h>

struct app;
struct lc_engine;

/* Starts the engine into *out (stop with lc_stop): recovers transitional
 * machines and open allocations first, then runs cfg.lc_workers workers.
 * The engine keeps pointers into a (inventory, BMC manager, catalog and its
 * lock, cfg.boot_url, frozen), so a must outlive it and a->bmc must be set.
 * ERR_IO when recovery cannot read the inventory, ERR_INTERNAL when out of
 * memory; *out is NULL then. */
enum err_status lc_start(struct app *a, struct lc_engine **out, struct err *e);
/* Stops scheduling, lets running steps finish, joins. NULL ok. */
void lc_stop(struct lc_engine *e);
/* Something changed: look for due work now. NULL ok. */
void lc_kick(struct lc_engine *e);

/* Manual actions of techs (POST /v1/machines/{id}/actions, PATCH). */
enum lc_action {
	LC_ACT_INSPECT,
	LC_ACT_CLEAN,
	LC_ACT_POWER_ON,
	LC_ACT_POWER_OFF,
	LC_ACT_REBOOT,
	LC_ACT_REPAIR,
	LC_ACT_RETIRE,
	LC_ACT_MAINTENANCE_ON,
	LC_ACT_MAINTENANCE_OFF,
	LC_ACT__COUNT
};
const char *lc_action_name(enum lc_action a);
int lc_action_from_name(const char *s, enum lc_action *out);
/* Whether act is allowed on m now; on success *to is the resulting state
 * (unchanged for power actions). On refusal why says so for a human. */
int lc_manual(enum lc_action act, const struct inv_machine *m, enum inv_state *to, char *why,
	      size_t whylen);
/* Whether new BMC credentials send a machine in this state back to
 * enrolled for re-verification. */
bool lc_reverify_on_bmc_change(enum inv_state s);

/* Whether a machine's serial console is captured in state s: while it runs the
 * agent or is deployed (inspecting, cleaning, deploying). */
bool lc_console_state(enum inv_state s);

/* SKU catalog helpers (under the app's catalog lock). */
bool lc_sku_exists(struct app *a, const char *sku);
/* Whether available machines of this SKU wait in the agent (fast-track). */
bool lc_sku_fast_track(struct app *a, const char *sku);
/* The SKU's [sku] warm_pool: available machines kept on in the agent. */
int lc_sku_warm_pool(struct app *a, const char *sku);
/* Warm machines of sku as the engine last saw them (every 2 s); -1 when
 * the SKU has no warm pool or the engine is not running. Thread-safe. */
int lc_warm_count(struct lc_engine *e, const char *sku);

/* Settles an allocation after a machine change (ready / released). */
void lc_allocation_settle(struct app *a, const char *alloc_id);

/* Prometheus lines of the engine (steps, failures, deploy durations). */
void lc_metrics(struct lc_engine *e, void (*emit)(void *ctx, const char *line), void *ctx);

#endif
