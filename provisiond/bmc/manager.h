/* manager.h - the dispatch layer's internals: the manager, its per-BMC entries,
 * the global call slots, the watchdog call and the counters (internal).
 *
 * Locking: one mutex (m->mu) guards entries, breakers, slots and counters. It is
 * never held across a driver call or a sleep, so contention is a few microseconds per
 * driver call; per-BMC waits use the entry's condition variable. */
#ifndef PROVISIOND_BMC_MANAGER_H
#define PROVISIOND_BMC_MANAGER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "provisiond/bmc/breaker.h"
#include "provisiond/bmc/driver.h"

/* Public operations, for the counters. */
enum bmc_op_kind {
	BMC_OP_POWER_GET,
	BMC_OP_POWER_SET,
	BMC_OP_BOOT_SET,
	BMC_OP_MEDIA_INSERT,
	BMC_OP_MEDIA_EJECT,
	BMC_OP__COUNT
};

/* Driver slots, as run by the watchdog. */
enum bmc_call_kind {
	BMC_CALL_OPEN,
	BMC_CALL_POWER_GET,
	BMC_CALL_POWER_SET,
	BMC_CALL_BOOT_SET,
	BMC_CALL_MEDIA_INSERT,
	BMC_CALL_MEDIA_EJECT,
	BMC_CALL__COUNT
};
const char *bmc_op_kind_name(enum bmc_op_kind k);
const char *bmc_call_kind_name(enum bmc_call_kind k);

/* One BMC, by key. Lives until the manager is freed. */
struct bmc_entry {
	struct bmc_entry *next;
	char *key;
	unsigned long long fingerprint; /* driver + address: a change resets the breaker */
	bool busy;			/* an operation (or an abandoned call) holds it */
	pthread_cond_t cv;		/* signalled when busy clears */
	struct bmc_breaker breaker;
	char cause[256]; /* the error of the last operation that got no answer */
};

struct bmc_metrics {
	unsigned long long ops[BMC_DRIVER_MAX][BMC_OP__COUNT][BMC_STATUS__COUNT];
	double seconds[BMC_DRIVER_MAX][BMC_OP__COUNT];
	unsigned long long calls[BMC_DRIVER_MAX][BMC_CALL__COUNT];
	unsigned long long retries[BMC_DRIVER_MAX];
	unsigned long long abandoned[BMC_DRIVER_MAX];
};

struct bmc_slot_waiter {
	pthread_cond_t cv;
	bool granted;
	struct bmc_slot_waiter *next;
};

struct bmc_manager {
	struct bmc_limits lim;
	pthread_mutex_t mu;
	/* callers waiting for a global slot, first come first served: a freed
	 * slot passes straight to the head (bmc_slot_release) */
	struct bmc_slot_waiter *wait_head, *wait_tail;
	int waiting;
	pthread_cond_t idle_cv; /* an abandoned call returned */
	int in_flight;		/* driver calls running (global slots taken) */
	int abandoned;		/* calls still running after their caller gave up */
	struct bmc_entry **buckets;
	size_t nbuckets, nentries;
	void *priv[BMC_DRIVER_MAX];
	struct bmc_metrics metrics;
	bmc_gate_fn gate; /* bmc_manager_set_gate */
	void *gate_ctx;
};

/* One public operation's hold on a BMC (bmc.c fills it, call.c uses it). */
struct bmc_session {
	struct bmc_manager *m;
	const struct bmc_driver *drv;
	int drv_index;
	const struct bmc_target *t;
	const json_t *opts;
	const char *label; /* "BMC at <label>" in messages */
	int timeout_ms;	   /* per driver call */
	long long queue_deadline;
	struct bmc_entry *entry;   /* NULL until acquired */
	bool entry_given_away;	   /* an abandoned call owns entry->busy now */
	void *inst;		   /* open driver instance or NULL */
	bool reached;		   /* some driver call ran */
	enum bmc_status last_call; /* status of the last driver call that ran */
};

/* One driver call: in and out parameters. */
struct bmc_call_args {
	enum bmc_call_kind kind;
	enum bmc_power_action action;
	enum bmc_boot_device device;
	bool persistent;
	const char *url;	    /* media_insert; the job keeps its own copy */
	enum bmc_power_state power; /* out: power_get */
	bool ran;		    /* out: the driver slot was called */
};

/* manager.c: the per-BMC entry. acquire fails fast on an open breaker, waits for the
 * BMC's turn until s->queue_deadline (BMC_ERR_BUSY), then takes the breaker's
 * half-open trial if needed. finish records the outcome; unbusy lets the next one in. */
enum bmc_status bmc_entry_acquire(struct bmc_session *s, struct bmc_error *e);
void bmc_entry_finish(struct bmc_session *s, const struct bmc_error *e);
void bmc_entry_unbusy(struct bmc_manager *m, struct bmc_entry *en);

/* manager.c: global cap on driver calls in flight. */
enum bmc_status bmc_slot_acquire(struct bmc_manager *m, long long deadline_ms, struct bmc_error *e);
void bmc_slot_release(struct bmc_manager *m);

/* call.c: runs one driver slot on a watchdog thread. Takes a global slot first
 * (waiting at most queue_timeout_ms, then BMC_ERR_BUSY with a->ran false).
 * When the slot does not return within timeout + grace, gives up with
 * BMC_ERR_TIMEOUT: the still-running call then owns s->inst and s->entry's busy flag
 * (s->inst becomes NULL, s->entry_given_away true) and releases them when it
 * returns. For BMC_CALL_OPEN, s->inst is set on success. */
enum bmc_status bmc_call(struct bmc_session *s, struct bmc_call_args *a, struct bmc_error *e);
int bmc_call_grace_ms(int timeout_ms);

/* metrics.c: counters; callers hold nothing, these lock m->mu. */
void bmc_metrics_op(struct bmc_manager *m, int drv, enum bmc_op_kind k, enum bmc_status st,
		    long long elapsed_ms);
void bmc_metrics_call(struct bmc_manager *m, int drv, enum bmc_call_kind k);
void bmc_metrics_retry(struct bmc_manager *m, int drv);
void bmc_metrics_abandoned(struct bmc_manager *m, int drv);

/* validate.c: the checks of bmc_validate(); on success *drv is a compiled-in driver
 * and *opts a new reference (json_decref) to the parsed options. */
enum bmc_status bmc_prepare(const struct bmc_target *t, const struct bmc_driver **drv,
			    json_t **opts, struct bmc_error *e);

#endif
