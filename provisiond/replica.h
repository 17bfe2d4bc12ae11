/* replica.h - this process as one replica of several on one database
 * (docs/scale-out.md, "Replicas").
 *
 * A replica registers under its name ([replica] name) and gets an epoch;
 * a thread heartbeats every [replica] heartbeat_s and takes over from any
 * replica silent for [replica] takeover_s: fences it and unclaims its
 * machines, which the live replicas' engines then pick up. A replica
 * fenced itself (paused, partitioned) registers again under a new epoch.
 *
 * Fencing on this side: the replica acts for a machine (a BMC call, a
 * claimed write) only while its own heartbeat is fresh — younger than two
 * thirds of takeover_s, so it stops well before anyone may take its
 * machines — and only under its current epoch. The BMC manager's gate
 * (bmc_manager_set_gate) asks replica_may_act before every driver call;
 * the inventory refuses claimed writes under an old epoch.
 *
 * Thread-safe. */
#ifndef PROVISIOND_REPLICA_H
#define PROVISIOND_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "inventory/inventory.h"
#include "util/util.h"

struct bmc_manager;
struct config;
struct replica;

/* Registers this process (name: cfg's, or HOSTNAME:PORT of [server] listen
 * as configured), starts the
 * heartbeat thread and installs the BMC gate. NULL with why on failure. */
struct replica *replica_start(struct inv *inv, struct bmc_manager *bmc, const struct config *cfg,
			      char *why, size_t len);
/* Stops the heartbeat (the row stays; the name may come back). */
void replica_stop(struct replica *r);
const char *replica_name(const struct replica *r);
/* The claim the engine takes machines under now. */
void replica_claim(struct replica *r, struct inv_claim *out);
/* Whether this replica may act for a claim of epoch (0: any claim): its
 * heartbeat is fresh and (with an epoch) that is still its epoch. */
bool replica_may_act(struct replica *r, int64_t epoch, char *why, size_t len);
/* The seconds after which a silent replica is taken over. */
int replica_takeover_s(const struct replica *r);
/* This replica's part of a site-wide per-rack cap: cap split among the
 * live engine replicas (as of the last heartbeat), the remainder to the
 * first by name; at least 1. 0 (step no machine of a rack yet) until every
 * other live engine replica has counted this one since it registered (at
 * most about two heartbeats; at once when it is alone). cap <= 0 (no cap)
 * and r NULL return cap. */
int replica_rack_share(struct replica *r, int cap);
/* provisiond_replica_* families. */
void replica_metrics(struct replica *r, const struct util_lines *o);

#endif
