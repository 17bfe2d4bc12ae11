/* calls.h - the lifecycle's BMC operations, run on a pool of their own so a
 * step that waits for a BMC holds no engine worker.
 *
 * A step names each BMC operation it needs in order (lc_call). The first
 * time, the operation goes to the pool; the worker waits a few milliseconds
 * for it (a fast BMC answers within them and the step goes on), then gives
 * the machine up: the step stops, writes nothing, and the engine runs it
 * again when the result is in. That run replays the step from its start:
 * each operation already answered returns its remembered result at once,
 * in the same order, so the step reaches its next operation with what the
 * earlier ones said. The memory of one machine's answers lasts from its
 * first operation to the end of the step run that does not wait again (or
 * until the machine's state, phase or allocation is no longer the one it was
 * kept for); a crash forgets it, and the restarted step asks again (every
 * operation a step makes is safe to repeat: reading power, setting a boot
 * device, powering on or off, a cycle the machine has not booted from yet).
 *
 * Work between two operations runs again on each replay; what must happen
 * once (opening a boot grant) asks lc_run_replaying() first.
 *
 * The pool has [bmc] max_concurrent threads: the BMC layer lets no more
 * driver calls run at once, so the cap on BMC concurrency is the BMC
 * layer's (global, per BMC) and the engine's (per rack), not the workers'. */
#ifndef PROVISIOND_LIFECYCLE_CALLS_H
#define PROVISIOND_LIFECYCLE_CALLS_H

#include <stdbool.h>
#include <stdint.h>

#include "inventory/inventory.h"
#include "provisiond/bmc/bmc.h"

enum lc_call_kind { LC_CALL_POWER_GET, LC_CALL_POWER_SET, LC_CALL_BOOT_SET };

struct lc_call {
	enum lc_call_kind kind;
	int arg; /* enum bmc_power_action or enum bmc_boot_device */
	bool persistent;
};

struct lc_call_result {
	enum bmc_status st;
	enum bmc_power_state power; /* LC_CALL_POWER_GET */
	struct bmc_error err;
};

struct lc_calls;

/* One step run of one machine, as lc_call sees it. */
struct lc_run {
	struct lc_calls *calls; /* NULL: every operation runs on the caller */
	struct bmc_manager *bmc;
	bool sync; /* set: run operations on the caller from now on */
	char id[INV_ID_LEN];
	char key[INV_ID_LEN + 64]; /* state, phase, allocation */
	int n;			   /* operations asked so far */
	bool yielded;		   /* an operation is on the pool: stop the step */
	/* When the step began and the machine's wakes counter then: the first
	 * run's, also in the runs that replay it. */
	int64_t began, wakes_seen;
};

/* A pool of nthreads threads calling into bmc. done(ctx, id) runs on a pool
 * thread when an operation of machine id ends after its worker gave it up:
 * the engine queues the machine again. NULL when out of memory. */
struct lc_calls *lc_calls_new(struct bmc_manager *bmc, int nthreads,
			      void (*done)(void *ctx, const char *id), void *ctx);
/* Waits for the operations running (queued ones are dropped) and frees. */
void lc_calls_free(struct lc_calls *c);

/* Starts a step run of machine m at now (calls may be NULL). */
void lc_run_begin(struct lc_calls *calls, struct bmc_manager *bmc, struct lc_run *r,
		  const struct inv_machine *m, int64_t now);
/* Ends it: unless it yielded, the machine's remembered answers go. */
void lc_run_end(struct lc_run *r);
/* Whether the operation the step asks next was answered in an earlier run
 * (so the work before it ran then). */
bool lc_run_replaying(const struct lc_run *r);

/* The next operation of the run. True with *out filled when it has its
 * answer (remembered, or the BMC answered within the wait); false when it
 * is on the pool (r->yielded set): the step must stop and write nothing. */
bool lc_call(struct lc_run *r, const struct bmc_target *t, const struct lc_call *call,
	     struct lc_call_result *out);

/* Drops what was kept for machine id (the engine found it gone). */
void lc_calls_forget(struct lc_calls *c, const char *id);

/* For the metrics: operations waiting for a pool thread, running, and how
 * many times a step gave its worker up. */
void lc_calls_counts(struct lc_calls *c, long *queued, long *running, unsigned long *yields);

#endif
