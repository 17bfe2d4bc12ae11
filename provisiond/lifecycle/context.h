/* context.h - what a lifecycle step needs, and nothing more: the inventory,
 * the BMC manager, the SKU catalog, the lifecycle's limits from the
 * configuration, a clock and the counters the steps keep.
 *
 * The engine builds one context from struct app when it starts; every step
 * (steps.c, allocation.c) and every deploy driver (deploy.h) reaches its
 * dependencies through it only. A test builds one by hand around a
 * temporary inventory, a BMC manager with the fake driver and a catalog,
 * and calls lc_step() directly (tests/unit/test_lifecycle.c).
 *
 * Ownership: a context borrows everything it points to; whoever builds it
 * keeps those alive while steps run. Thread-safety: a context is not
 * changed after it is built and may be shared by any number of workers;
 * the counters are atomics. */
#ifndef PROVISIOND_LIFECYCLE_CONTEXT_H
#define PROVISIOND_LIFECYCLE_CONTEXT_H

#include "inventory/inventory.h"
#include "util/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct bmc_manager;
struct con_manager;
struct config;
struct lc_calls;
struct lc_engine;
struct replica;
struct sku_catalog;

/* The [lifecycle] part of the configuration (docs/config.md). */
struct lc_limits {
	/* How long a machine may stay in a transitional state. */
	int verify_timeout_s, inspect_timeout_s, clean_timeout_s, deploy_timeout_s;
	int release_timeout_s;
	int max_attempts;		     /* failed attempts of a state before `failed` */
	int backoff_base_ms, backoff_max_ms; /* between attempts: doubling, jittered */
	int max_substitutions;		     /* per allocation */
	int max_concurrent_deploys;	     /* machines in `deploying` at once */
	int max_per_rack;    /* machines of one rack stepped at once (<= 0: no cap) */
	int discovery_ttl_s; /* discovered machines nobody enrolls expire */
	int warm_max_s;	     /* a warm-pool machine stays on at most this long */
	/* An agent (or deployed OS) that has not called in this long after the
	 * boot that should have started it fails the attempt, which boots it
	 * again: the machine lost power or never network-booted. 0: only the
	 * state's deadline catches it. */
	int agent_boot_timeout_s;
};

/* The seconds a machine may spend in state s (0: no deadline). Its
 * deadline starts when the engine's first step in the state begins, so
 * time held back by a cap before that (max_per_rack) does not count. */
int lc_deadline_s(const struct lc_limits *c, enum inv_state s);

/* Copies the lifecycle's options out of a loaded configuration. */
void lc_limits_from_config(const struct config *c, struct lc_limits *out);

#define LC_NBUCKETS 10

/* What the steps count: metrics (lc_metrics), and the deploys running now
 * for admission control. Zero-initialise before use. */
struct lc_stats {
	atomic_int deploys_running; /* deploy steps executing now */
	atomic_ulong steps[INV_ST__COUNT];
	atomic_ulong failures[INV_ST__COUNT];
	atomic_ulong retries;
	atomic_ulong substitutions;
	atomic_ulong deadline_misses;
	/* deploy starts put off: more machines entered `deploying` before this
	 * one than [lifecycle] max_concurrent_deploys (global) or the SKU's
	 * own max_concurrent_deploys (sku) */
	atomic_ulong admission_waits_global, admission_waits_sku;
	/* due machines held back because max_per_rack machines of their rack
	 * were being stepped */
	atomic_ulong admission_waits_rack;
	/* one step of one machine, from its lease to its last write */
	struct util_hist step_seconds;
	/* Time spent in a state, observed when a machine leaves it; bounds set
	 * by lc_stats_init (zeroed: every observation lands in +Inf). */
	struct util_hist state_seconds[INV_ST__COUNT];
	atomic_ulong ready_hist[LC_NBUCKETS + 1];
	atomic_ulong ready_count;
	atomic_ullong ready_sum_ms;
};

/* Sets the histogram bounds of s (engine start; tests may skip it). */
void lc_stats_init(struct lc_stats *s);
/* Counts a machine leaving state `from` after ms in it (steps.c). */
void lc_observe_state(struct lc_stats *s, enum inv_state from, int64_t ms);

struct lc_ctx {
	struct inv *inv;	 /* required */
	struct bmc_manager *bmc; /* required by the states that talk to a BMC */
	/* The catalog may be swapped (SIGHUP) under catalog_lock: read
	 * *catalog only while holding the lock for reading. Both required by
	 * inspection, cleaning and the fake deploy driver. */
	pthread_rwlock_t *catalog_lock;
	struct sku_catalog *const *catalog;
	struct lc_limits limits;
	/* Base URL machines fetch images from (the boot listener's), for the
	 * pxe deploy driver; "" when there is none. */
	const char *boot_url;
	/* The virtual-media deploy interface (deploy_vmedia.c): the ramdisk's
	 * files, where per-boot ISOs go, operator kernel arguments ("" none).
	 * NULL or "" when there is no boot plane. */
	const char *ramdisk_dir, *vmedia_dir, *kernel_args;
	const atomic_bool *frozen; /* fleet freeze: steps pause; NULL: never frozen */
	/* Wall clock in ms since the epoch, the base of every time the
	 * inventory stores; NULL: inv_now_ms. Tests move it to reach deadlines. */
	int64_t (*now_ms)(void);
	struct lc_stats *stats;	  /* required by lc_step */
	struct lc_engine *engine; /* kicked after a substitution; NULL: none */
	/* The pool BMC operations run on (calls.h); NULL: on the step's own
	 * thread, which then waits for them (tests). */
	struct lc_calls *calls;
	/* Serial console capture: after every step the machine's capture is
	 * started or stopped by its state (lc_console_state). NULL: none. */
	struct con_manager *console;
	/* This process as a replica (provisiond/replica.h): the claim the
	 * engine takes machines under, and whether it may still act. NULL
	 * (tests): machines are stepped unclaimed. */
	struct replica *replica;
};

static inline int64_t lc_now(const struct lc_ctx *x)
{
	return x->now_ms ? x->now_ms() : inv_now_ms();
}

/* Runs the step for m's (state, phase): at most one BMC or deploy-driver
 * action and one state change, committed as a compare-and-swap on m's
 * version (retried while a concurrent change left the work the same). m is
 * the caller's current record (the engine leases it first) and is updated
 * to what was committed. Failures are recorded on the machine (last_error,
 * attempts, `failed`), never returned. True when the step stopped to wait
 * for a BMC operation on x->calls: nothing was written, and the machine is
 * to be stepped again when the pool's done callback names it (calls.h).
 * Without x->calls it waits for BMC operations and returns false. */
bool lc_step(const struct lc_ctx *x, struct inv_machine *m);

/* For a best-effort inventory write whose failure must not stop the step
 * (ending an agent session the machine no longer uses): logs it, with the
 * machine or allocation id, when st != INV_OK. Thread-safe. */
void lc_note_inv(const char *what, const char *id, enum inv_status st, const struct inv_err *e);

/* Settles an allocation after one of its machines changed: ready when
 * every attached machine is active, released when none is left. */
void lc_settle(const struct lc_ctx *x, const char *alloc_id);

/* Whether available machines of this SKU wait in the agent (fast-track),
 * read from the context's catalog. */
bool lc_fast_track(const struct lc_ctx *x, const char *sku);
/* The SKU's [sku] warm_pool (0: none, or no such SKU). */
int lc_warm_pool(const struct lc_ctx *x, const char *sku);
/* Whether sku has fewer than pool warm or warming machines (warm.c). */
bool lc_warm_room(const struct lc_ctx *x, const char *sku, int pool);
/* One pass of the warm pools (warm.c): per SKU with a pool (all: every
 * SKU), marks cold machines to warm or surplus ones to cool, and wakes
 * them. Scheduler only. */
void lc_warm_pass(const struct lc_ctx *x, bool all);
/* The SKU's own cap on machines deploying at once (0: none), read from the
 * context's catalog. */
int lc_sku_max_deploys(const struct lc_ctx *x, const char *sku);

#endif
