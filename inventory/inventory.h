/* inventory.h - provisiond's single owner of state (machines, allocations,
 * images, tokens, quotas, events, audit).
 *
 * Only inventory/ speaks SQL. Everything here is backend-neutral: callers see
 * typed records and functions, never statements.
 *
 * Threading (docs/architecture.md):
 *  - Reads run on a read-only connection owned by the calling thread (opened
 *    on first use, closed when the thread exits). Any thread may read.
 *  - Writes are queued to one writer thread. It takes every queued write
 *    request, runs each inside its own SAVEPOINT of one transaction and
 *    commits them together (group commit; SQLite synchronous=FULL,
 *    PostgreSQL's COMMIT). A request whose
 *    part fails is rolled back alone. The calling thread blocks until the
 *    commit that holds its change is durable, so a function that returns
 *    INV_OK has a durable result.
 *  - Every function is safe to call from any thread.
 *
 * Errors: every function that reads or writes storage returns enum
 * inv_status and fills struct inv_err (may be NULL) with a human message
 * and, for validation and uniqueness errors, the API field that caused it.
 * A getter never folds a failed read into "none": out-parameters are set
 * to their "none" value and the status says which it was.
 *
 * Besides the changes callers ask for, the inventory moves machines and
 * allocations itself (reservation, substitution, release, command
 * completion): docs/lifecycle.md, "Transitions the inventory makes itself",
 * lists them.
 *
 * Ownership: records are filled into caller-owned structs; members that are
 * pointers are malloc'd and released by the matching *_clear() function,
 * which accepts zeroed or NULL structs. Lists are released by *_list_clear().
 * An output struct passed in must be zeroed or hold a record filled earlier
 * (functions clear it before filling).
 */
#ifndef PROVISIOND_INVENTORY_H
#define PROVISIOND_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every inventory result must be looked at: handle it, or fail the request
 * or step through the caller's one reporting helper. */
#define INV_MUST_CHECK __attribute__((warn_unused_result))

enum inv_status {
	INV_OK = 0,
	INV_NOT_FOUND,	  /* no such row */
	INV_CONFLICT,	  /* version mismatch or state does not allow it */
	INV_DUPLICATE,	  /* unique key taken (field says which) */
	INV_INVALID,	  /* argument rejected (field says which) */
	INV_CAPACITY,	  /* not enough available machines */
	INV_QUOTA,	  /* owner quota would be exceeded */
	INV_IO,		  /* storage failed */
	INV_CORRUPT,	  /* database file is not a usable provisiond DB */
	INV_SCHEMA_NEWER, /* written by a newer provisiond */
};

struct inv_err {
	enum inv_status status;
	char field[48];
	char message[320];
};

const char *inv_status_name(enum inv_status s);

/* Machine states: the API's names come from this table only. */
enum inv_state {
	INV_ST_ENROLLED,
	INV_ST_VERIFYING,
	INV_ST_INSPECTING,
	INV_ST_CLEANING,
	INV_ST_AVAILABLE,
	INV_ST_DEPLOYING,
	INV_ST_ACTIVE,
	INV_ST_RELEASING,
	INV_ST_MAINTENANCE,
	INV_ST_FAILED,
	INV_ST_RETIRED,
	INV_ST__COUNT
};
const char *inv_state_name(enum inv_state s);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int inv_state_from_name(const char *name, enum inv_state *out);

enum inv_alloc_state {
	INV_AL_DEPLOYING,
	INV_AL_READY,
	INV_AL_FAILED,
	INV_AL_RELEASING,
	INV_AL_RELEASED,
	INV_AL__COUNT
};
const char *inv_alloc_state_name(enum inv_alloc_state s);
int inv_alloc_state_from_name(const char *name, enum inv_alloc_state *out);

struct inv;

/* ---------------------------------------------------------------- the key
 * BMC passwords are stored sealed with AES-256-GCM (inventory/secrets.h)
 * under a 32-byte key that lives in a key file, not in the database: a
 * copied database or backup reveals no password without the key file. */
#define INV_KEY_LEN 32
struct inv_key {
	unsigned char bytes[INV_KEY_LEN];
};
/* Creates a key file at path with a new random key: 64 hex digits and a
 * newline, mode 0600, never over an existing file (INV_DUPLICATE then).
 * INV_IO when it cannot be written (nothing is left behind). */
INV_MUST_CHECK enum inv_status inv_key_create(const char *path, struct inv_err *err);
/* Reads the key file at path into *out. Refused, with the path in the
 * message and field "key_file": INV_NOT_FOUND (no such file), INV_IO
 * (unreadable), INV_INVALID (not a regular file, or group or others have
 * any permission on it), INV_CORRUPT (not 64 hex digits). *out is zeroed
 * on error. */
INV_MUST_CHECK enum inv_status inv_key_load(const char *path, struct inv_key *out,
					    struct inv_err *err);
/* Wipes a key. NULL ok. */
void inv_key_clear(struct inv_key *k);

/* Opens (creating if needed) the database at path, applies migrations and
 * starts the writer. path is a file (SQLite), or a PostgreSQL database: a
 * postgresql:// or postgres:// URI or a libpq "key=value ..." string (the
 * database must exist; its tables are created in the connection's current
 * schema). Corrupt, unreadable or newer-schema files give one clear
 * error (INV_CORRUPT, INV_IO, INV_SCHEMA_NEWER) and are never rewritten.
 * key (required, copied) seals and opens BMC passwords; the migration to
 * schema 5 seals the passwords an older provisiond stored in clear. A
 * wrong key is not noticed here but at the first password read
 * (inv_machine_bmc). On success *out must be closed with inv_close(). */
INV_MUST_CHECK enum inv_status inv_open(const char *path, const struct inv_key *key,
					struct inv **out, struct inv_err *err);
/* Drains queued writes, stops the writer, closes connections. NULL ok. */
void inv_close(struct inv *inv);
/* Whether the database takes writes: false when the last group of writes
 * failed on storage (disk full, I/O error) and none has committed since.
 * why (len bytes, may be NULL) gets the storage error, *since (may be
 * NULL) when writes started failing (ms since the epoch). Never blocks. */
bool inv_storage_ok(struct inv *inv, char *why, size_t len, int64_t *since);
/* While writes fail, one small write (a settings row) to see whether they
 * work again (space came back); nothing otherwise. Blocks for the write. */
void inv_storage_probe(struct inv *inv);
/* Schema version this binary writes. */
int inv_schema_version(void);
/* Whether database (the database setting) names a file (SQLite) rather
 * than a PostgreSQL server (a URI or key=value string: inv_open). */
bool inv_database_is_file(const char *database);
/* database for logs and messages: a PostgreSQL password becomes ***. */
void inv_database_display(const char *database, char *out, size_t len);
/* Current wall clock in milliseconds since the epoch (what rows store). */
int64_t inv_now_ms(void);

/* Change notification: every commit bumps a counter. inv_wait_change()
 * blocks until the counter differs from *seen or timeout_ms passes, then
 * stores the current counter in *seen. Returns true if it changed. Neither
 * touches storage, so neither can fail: they return values, not a status. */
uint64_t inv_change_counter(struct inv *inv);
bool inv_wait_change(struct inv *inv, uint64_t *seen, int timeout_ms);

/* ------------------------------------------------------------- machines */
#define INV_MAX_MACS 8
#define INV_ID_LEN 37

struct inv_location {
	char site[64];
	char rack[64];
	int unit; /* -1 when unknown */
};

struct inv_bmc {
	char driver[16];
	char address[256];
	char username[64];
	char *password;	    /* malloc'd; never leaves the daemon; stored sealed */
	char *options_json; /* malloc'd JSON object text, "{}" when empty */
};
void inv_bmc_clear(struct inv_bmc *b);

#define INV_REPLICA_LEN 64
/* A replica's hold on the machines its engine drives (inv_machine_change). */
struct inv_claim {
	char replica[INV_REPLICA_LEN];
	int64_t epoch;
};

struct inv_machine {
	int64_t seq; /* insertion order, used by cursors */
	char id[INV_ID_LEN];
	char name[64];
	enum inv_state state;
	int64_t version;
	char sku[64];	/* "" until inspected/matched */
	char power[16]; /* on|off|unknown */
	bool maintenance;
	char maintenance_reason[256];
	char last_error[512];
	struct inv_location location;
	int nmacs;
	char macs[INV_MAX_MACS][18];
	bool has_bmc;
	char bmc_driver[16];
	char bmc_address[256];
	char bmc_username[64];
	char allocation_id[INV_ID_LEN]; /* "" when not allocated */
	char owner[64];			/* owner of that allocation */
	/* lifecycle bookkeeping */
	char phase[32];		/* step within the state */
	int attempts;		/* failures in the current state */
	int64_t wake_at;	/* engine looks again at this time (0 = idle) */
	int64_t deadline_at;	/* waiting state deadline (0 = none) */
	char *facts_json;	/* malloc'd or NULL */
	char *bmc_options_json; /* malloc'd or NULL (no secrets) */
	int64_t created_at, updated_at, state_since;
	/* the replica whose engine drives it ("" none) and that replica's epoch
	 * when it took it (docs/scale-out.md, "Replicas") */
	char replica[INV_REPLICA_LEN];
	int64_t replica_epoch;
	/* how many times the inventory woke it (inv_command_finish,
	 * inv_command_requeue): a step compares it to see a wake-up it missed */
	int64_t wakes;
};
void inv_machine_clear(struct inv_machine *m);

struct inv_machine_new {
	const char *name;
	struct inv_location location;
	int nmacs;
	const char *macs[INV_MAX_MACS]; /* canonical lower-case aa:bb:... */
	const struct inv_bmc *bmc;	/* NULL: no BMC access yet */
	const char *facts_json;		/* NULL unless discovered */
	const char *sku;		/* NULL unless discovered */
	const char *actor, *request_id;
	const char *audit_after_json; /* redacted view for the audit row */
	int discovered_max;	      /* > 0: only while fewer discovered machines wait,
				       * else INV_CAPACITY */
	int64_t wake_at;	      /* when the engine should first look */
};
INV_MUST_CHECK enum inv_status inv_machine_create(struct inv *inv, const struct inv_machine_new *n,
						  struct inv_machine *out, struct inv_err *err);

/* Looks a machine up by id or by name. */
INV_MUST_CHECK enum inv_status inv_machine_get(struct inv *inv, const char *id_or_name,
					       struct inv_machine *out, struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_machine_get_by_mac(struct inv *inv, const char *mac,
						      struct inv_machine *out, struct inv_err *err);
/* BMC credentials, password included (opened with the inventory's key):
 * for the BMC layer only. INV_NOT_FOUND when the machine has no BMC
 * access; INV_CORRUPT, field "bmc.password", when the stored password does
 * not decrypt with the key (another key file, or the row was altered):
 * out is then empty, never a wrong password. */
INV_MUST_CHECK enum inv_status inv_machine_bmc(struct inv *inv, const char *id, struct inv_bmc *out,
					       struct inv_err *err);

struct inv_machine_filter {
	int state;	   /* -1: any */
	const char *sku;   /* NULL: any */
	const char *owner; /* NULL: any; restricts to machines of that owner */
	const char *site;  /* NULL: any; location.site */
	const char *rack;  /* NULL: any; location.rack */
	int64_t after_seq; /* cursor: rows with seq > after_seq */
	int limit;
};
struct inv_machine_list {
	size_t n;
	struct inv_machine *items;
	int64_t next_seq; /* 0 when there is no further page */
};
void inv_machine_list_clear(struct inv_machine_list *l);
INV_MUST_CHECK enum inv_status inv_machine_list(struct inv *inv, const struct inv_machine_filter *f,
						struct inv_machine_list *out, struct inv_err *err);

/* A compare-and-swap change of one machine. Fields are applied only when
 * their set_ flag is true. The change commits only if the machine's version
 * is still expect_version; then version becomes expect_version + 1 and, if
 * the state changes (or always_event is set), one machine_events row is
 * written in the same transaction. Mismatch -> INV_CONFLICT. */
struct inv_machine_change {
	int64_t expect_version;
	bool set_state;
	enum inv_state state;
	bool set_phase;
	const char *phase;
	bool set_attempts;
	int attempts;
	bool set_wake;
	int64_t wake_at;
	/* With set_wake and keep_woken: when the machine's wakes counter is no
	 * longer wakes_seen (the inventory woke it since the caller read it:
	 * an agent's report, a new agent run), its wake_at is kept, so that
	 * wake-up is not lost (docs/lifecycle.md, "Crash-only recovery"). */
	bool keep_woken;
	int64_t wakes_seen;
	bool set_deadline;
	int64_t deadline_at;
	bool set_last_error;
	const char *last_error; /* "" clears */
	bool set_power;
	const char *power;
	bool set_sku;
	const char *sku;
	bool set_facts;
	const char *facts_json;
	bool set_maintenance;
	bool maintenance;
	const char *maintenance_reason;
	bool set_name;
	const char *name;
	bool set_location;
	struct inv_location location;
	bool set_bmc;
	const struct inv_bmc *bmc; /* NULL removes BMC access */
	bool set_allocation;
	const char *allocation_id; /* "" or NULL detaches */
	bool always_event;
	/* The machine left its agent: the agent counts as not seen and its
	 * session tokens end (as inv_machine_agent_seen(0) and
	 * inv_boot_token_revoke(kind "session")), in the change's transaction. */
	bool end_agent_session;
	/* The engine's claim (NULL: none, e.g. a tech's change). The change
	 * commits only while claim->replica drives the machine under
	 * claim->epoch (else INV_CONFLICT, field "claim"): a replica that lost
	 * the machine writes nothing for it. With take_claim the change also
	 * takes an unclaimed machine (or its own from an older epoch) for
	 * claim; a claimed change that sets wake_at to 0 (nothing left to do)
	 * gives the machine up. */
	const struct inv_claim *claim;
	bool take_claim;
	/* out holds the machine as it was at expect_version (the engine's step
	 * record): it is brought to what was committed without reading the
	 * machine again, unless the change touched BMC access or attached an
	 * allocation. Otherwise out is read afresh. */
	bool out_is_current;
	const char *actor, *reason, *request_id;
	/* optional audit row written in the same transaction */
	const char *audit_action;
	const char *audit_before_json, *audit_after_json;
};
INV_MUST_CHECK enum inv_status inv_machine_change(struct inv *inv, const char *id,
						  const struct inv_machine_change *c,
						  struct inv_machine *out, struct inv_err *err);

/* Warm pools (docs/allocations.md#warm-pools): an available machine in
 * phase "warming" is booting into the agent, in phase "warm" it waits
 * there, powered on (a tech's power-off makes it count as cold until its
 * rotation), in phase "rotating" it waits there until a replacement is
 * warm; phase "" is cold. An allocation takes it either way
 * (inv_alloc_request.prefer_warm puts warm ones first). */
#define INV_PHASE_WARM "warm"
#define INV_PHASE_WARMING "warming"
/* warm for warm_max_s: still on in the agent and taken like a warm one,
 * it powers off once a replacement is warm (provisiond/lifecycle/warm.c) */
#define INV_PHASE_ROTATING "rotating"
/* cold for good: its deploy interface cannot keep it warm (vmedia) */
#define INV_PHASE_NO_WARM "no-warm"
#define INV_WARM_MAX 256
/* A failed machine in phase "bmc-down" failed because its BMC did not
 * answer; the engine looks at it again until the BMC does (steps.c). */
#define INV_PHASE_BMC_DOWN "bmc-down"
struct inv_warm_pool {
	int size; /* in: the pool's size: cold machines are read for the shortfall */
	char warm[INV_WARM_MAX][INV_ID_LEN]; /* out: warm or warming, oldest first */
	bool warming[INV_WARM_MAX];	     /* out: that one is still booting */
	int nwarm;
	char rotating[INV_WARM_MAX][INV_ID_LEN]; /* out: phase rotating, not in nwarm */
	int nrotating;
	char cold[INV_WARM_MAX][INV_ID_LEN]; /* out: available, not in maintenance,
					      * least recently changed first */
	int ncold;
};
/* The warm and warming machines of sku (at most INV_WARM_MAX), the
 * rotating ones apart, and up to as many cold ones to warm next as the pool
 * is short of size (none when it is full: their query sorts the SKU's
 * pool). Reads only; thread-safe. */
INV_MUST_CHECK enum inv_status inv_pool_warm(struct inv *inv, const char *sku,
					     struct inv_warm_pool *p, struct inv_err *err);

/* Machines whose wake_at is due (0 < wake_at <= now), oldest first, at
 * most per_rack of one rack (site and rack; machines without a rack are not
 * capped; per_rack <= 0: no cap), so the oldest rack cannot fill a batch
 * with machines the engine's rack cap would hold back anyway; at most
 * limit (<= 0: the default page; not capped at the largest page). Only
 * id, name, location.site, location.rack and wake_at are filled (the
 * engine reads each machine again before its step). */
INV_MUST_CHECK enum inv_status inv_machines_due(struct inv *inv, int64_t now, int limit,
						int per_rack, struct inv_machine_list *out,
						struct inv_err *err);
/* Crash-only start: every machine in a transitional state whose wake_at
 * lies in the future (a lease or backoff of the previous run) is woken now
 * and unclaimed, if no other replica drives it (inv_set_replica). *n gets
 * how many. */
INV_MUST_CHECK enum inv_status inv_machines_recover(struct inv *inv, int *n, struct inv_err *err);
/* Earliest wake_at later than after (0: the earliest pending one) into
 * *wake_at (0 when no machine waits). A failed read returns its status
 * with *wake_at = 0. */
INV_MUST_CHECK enum inv_status inv_machines_next_wake(struct inv *inv, int64_t after,
						      int64_t *wake_at, struct inv_err *err);

/* ------------------------------------------------------------- replicas
 * Several provisiond processes on one PostgreSQL database, each a replica
 * with a name and an epoch (docs/scale-out.md, "Replicas"). A machine a
 * replica's engine works on carries its claim (inv_claim); a replica that
 * stops heartbeating is fenced by another (epoch moves on, live 0) and
 * its machines are unclaimed and woken for the others. */

/* Names this process's replica for the engine's reads: due machines, the
 * next wake-up and recovery count only machines it drives or nobody
 * drives. "" (the default): unclaimed machines only. Call before the
 * engine starts; not thread-safe against the engine's reads. */
void inv_set_replica(struct inv *inv, const char *name);

struct inv_replica {
	char name[INV_REPLICA_LEN];
	int64_t epoch;
	char roles[64];
	char address[256];
	int64_t started_at, heartbeat_at;
	bool fenced;	  /* another replica took its machines over */
	int64_t machines; /* machines it drives */
};
struct inv_replica_list {
	size_t n;
	struct inv_replica *items;
};
void inv_replica_list_clear(struct inv_replica_list *l);
/* Registers replica name (again): a new epoch into *epoch, not fenced,
 * heartbeat and start now. */
INV_MUST_CHECK enum inv_status inv_replica_register(struct inv *inv, const char *name,
						    const char *roles, const char *address,
						    int64_t *epoch, struct inv_err *err);
/* Records that replica name is alive under epoch; INV_CONFLICT when it
 * was fenced meanwhile (its machines went to others: register again). */
INV_MUST_CHECK enum inv_status inv_replica_heartbeat(struct inv *inv, const char *name,
						     int64_t epoch, struct inv_err *err);
/* Replica name takes over from every other replica whose last heartbeat
 * is older than before: fences it and unclaims (and wakes) its machines,
 * all in one transaction, so of several replicas doing this at once one
 * takes each. Up to max names of the replicas fenced go to lost, their
 * number to *nlost, the machines unclaimed to *nmachines. */
INV_MUST_CHECK enum inv_status inv_replicas_take_over(struct inv *inv, const char *name,
						      int64_t before, char (*lost)[INV_REPLICA_LEN],
						      int max, int *nlost, int *nmachines,
						      struct inv_err *err);
/* Replica name, stopping, hands its machines over: fences its own row of
 * epoch (so it no longer counts as live) and unclaims and wakes its
 * machines, in one transaction, as a take-over would. The number of
 * machines unclaimed to *nmachines (0 when the row was fenced already). */
INV_MUST_CHECK enum inv_status inv_replica_resign(struct inv *inv, const char *name, int64_t epoch,
						  int *nmachines, struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_replica_list(struct inv *inv, struct inv_replica_list *out,
						struct inv_err *err);

struct inv_event {
	int64_t seq;
	int64_t at;
	char machine_id[INV_ID_LEN];
	char from_state[16], to_state[16];
	char actor[64];
	char reason[512];
	char request_id[64];
};
struct inv_event_list {
	size_t n;
	struct inv_event *items;
	int64_t next_seq;
};
void inv_event_list_clear(struct inv_event_list *l);
INV_MUST_CHECK enum inv_status inv_machine_events(struct inv *inv, const char *machine_id,
						  int64_t after_seq, int limit,
						  struct inv_event_list *out, struct inv_err *err);
/* The event cursor (for inv_machine_events' after_seq) before the first
 * event since the machine joined alloc_id: what its tenant may see. When
 * the machine never was in that allocation the cursor is past every event. */
INV_MUST_CHECK enum inv_status inv_machine_tenant_cursor(struct inv *inv, const char *machine_id,
							 const char *alloc_id, int64_t *after_seq,
							 struct inv_err *err);

/* Deletes a machine for good: allowed for machines enrolled and never
 * allocated, failed or retired (and in no live allocation); INV_CONFLICT
 * naming why otherwise. Its events, commands and tokens go with it; the
 * audit row (action "machine.delete", before = audit_before_json) keeps
 * what it was. deleted_id (may be NULL) gets its id. */
INV_MUST_CHECK enum inv_status inv_machine_delete(struct inv *inv, const char *id_or_name,
						  const char *actor, const char *request_id,
						  const char *audit_before_json,
						  char deleted_id[INV_ID_LEN], struct inv_err *err);
/* The actor of machines created by discovery (the agent's lookup). */
#define INV_ACTOR_DISCOVERY "discovery"
/* Discovered machines waiting for a tech: created by discovery, still
 * enrolled without BMC access. */
INV_MUST_CHECK enum inv_status inv_machines_discovered(struct inv *inv, int64_t *n,
						       struct inv_err *err);
/* Up to max of them created before `before` (ms): ids into ids, *n found. */
INV_MUST_CHECK enum inv_status inv_machines_discovered_stale(struct inv *inv, int64_t before,
							     char (*ids)[INV_ID_LEN], int max,
							     int *n, struct inv_err *err);

/* The inventory's own metrics in Prometheus text form, HELP and TYPE
 * included, one line (no newline) per emit call: the writer's commit latency
 * as the histogram provisiond_inventory_commit_seconds. Reads no database;
 * thread-safe. */
void inv_metrics(struct inv *inv, void (*emit)(void *ctx, const char *line), void *ctx);

/* Machines with a live agent session (unused, unexpired "session" boot
 * token) whose agent has not called since quiet_before (ms since the epoch):
 * agents that stopped sending heartbeats. *n is set on success. */
INV_MUST_CHECK enum inv_status inv_agent_sessions_quiet(struct inv *inv, int64_t quiet_before,
							int64_t *n, struct inv_err *err);

/* Deploy admission (queueing in order): the machines in `deploying` that
 * entered it before the one with this id and state_since (ties by id), in
 * all (*ahead) and of this sku (*ahead_sku). */
INV_MUST_CHECK enum inv_status inv_deploys_ahead(struct inv *inv, const char *machine_id,
						 const char *sku, int64_t state_since,
						 int64_t *ahead, int64_t *ahead_sku,
						 struct inv_err *err);

/* Per SKU and state counts: calls fn once per (sku, state, count). */
INV_MUST_CHECK enum inv_status inv_capacity(struct inv *inv,
					    void (*fn)(void *ctx, const char *sku,
						       enum inv_state st, int64_t n, int64_t maint),
					    void *ctx, struct inv_err *err);
/* Per rack (site, rack; "" for machines without one) and state counts,
 * ordered by site and rack: calls fn once per (site, rack, state). */
INV_MUST_CHECK enum inv_status inv_capacity_by_rack(struct inv *inv,
						    void (*fn)(void *ctx, const char *site,
							       const char *rack, enum inv_state st,
							       int64_t n, int64_t maint),
						    void *ctx, struct inv_err *err);

/* ---------------------------------------------------------- allocations */
#define INV_MAX_ALLOC 256

/* Failure-domain spread of an allocation's machines (docs/allocations.md,
 * "Spread"). A machine's domain is its rack (site and rack: racks of two
 * sites are two domains) or its site; a machine whose location lacks it
 * is in no domain. Strict: every machine in its own domain, or no
 * reservation (INV_CAPACITY, field "spread"). Best effort: one machine per
 * domain first (domains in the order of their names), then the oldest.
 * The API's names come from these tables only. */
enum inv_spread_across { INV_SPREAD_NONE, INV_SPREAD_RACK, INV_SPREAD_SITE, INV_SPREAD__COUNT };
enum inv_spread_mode { INV_SPREAD_STRICT, INV_SPREAD_BEST_EFFORT, INV_SPREAD_MODE__COUNT };
/* "" for INV_SPREAD_NONE, "rack", "site". */
const char *inv_spread_across_name(enum inv_spread_across a);
/* "strict", "best_effort". */
const char *inv_spread_mode_name(enum inv_spread_mode m);
/* Return 0 and set *out, or -1 for an unknown name ("" is INV_SPREAD_NONE). */
int inv_spread_across_from_name(const char *name, enum inv_spread_across *out);
int inv_spread_mode_from_name(const char *name, enum inv_spread_mode *out);

struct inv_spread {
	enum inv_spread_across across; /* INV_SPREAD_NONE: no spread asked */
	enum inv_spread_mode mode;
	int domains; /* read only: distinct domains of the attached machines */
};

/* A static address with its prefix: an IPv6 text (45) + "/128" + NUL. */
#define INV_ADDRESS_LEN 52

struct inv_alloc_machine {
	char id[INV_ID_LEN];
	char name[64];
	enum inv_state state;
	bool detached;		       /* replaced after a failure, or released */
	char ip[48];		       /* where it last called from; "" if unknown */
	char image[64];		       /* the image it runs when not the allocation's (a
					* rollout reimaged it), else "" */
	char address[INV_ADDRESS_LEN]; /* its static address ("10.0.0.5/24"),
					* "" with DHCP or once detached */
};

struct inv_allocation {
	int64_t seq;
	char id[INV_ID_LEN];
	char name[64];
	char owner[64];
	char sku[64];
	char image[64];
	int count, min_count;
	enum inv_alloc_state state;
	int64_t version;
	char last_error[512];
	char *ssh_keys_json; /* malloc'd JSON array text */
	int substitutions;
	int64_t created_at, ready_at, updated_at;
	size_t nmachines;
	struct inv_alloc_machine *machines; /* malloc'd */
	bool replayed;			    /* set by reserve when the Idempotency-Key matched */
	struct inv_spread spread;	    /* across NONE: none asked */
	char *network_json;		    /* malloc'd static network as asked (mode, addresses,
					     * gateway, nameservers); NULL: DHCP */
};
void inv_allocation_clear(struct inv_allocation *a);

struct inv_alloc_request {
	const char *name; /* NULL: generated */
	const char *owner;
	const char *sku;
	const char *image;
	int count, min_count;
	const char *ssh_keys_json; /* NULL: [] */
	const char *user_data;	   /* NULL: none; stored, never audited or logged */
	/* A static network: network_json (NULL: DHCP) is stored as given;
	 * addresses[i] (a CIDR, "10.0.0.5/24") goes to the i-th machine in the
	 * order the allocation lists them, and address_ips[i] (the same
	 * address without its prefix, in one canonical text) is what no two
	 * live allocations may share. naddresses is count. */
	const char *network_json;
	const char *const *addresses, *const *address_ips;
	int naddresses;
	const char *idempotency_key; /* NULL: none */
	int quota;		     /* -1: unlimited, else machines per SKU */
	const char *actor, *request_id;
	int64_t wake_at;	  /* wake time for the reserved machines */
	struct inv_spread spread; /* across NONE: none (domains ignored) */
	/* the SKU keeps a warm pool: machines in phase warm, then warming,
	 * come first (a spread ignores it); costs a sort of the SKU's pool */
	bool prefer_warm;
};
/* Reserves between min_count and count available machines of sku for owner
 * in one write transaction, or none: INV_CAPACITY ("sku X: 2 available, 4
 * requested"; with a strict spread, field "spread": "spread across rack
 * needs 4 racks with an available X machine; 3 have one") or INV_QUOTA.
 * The spread is stored with the allocation and kept by substitutions.
 * A static network's addresses: INV_CONFLICT, field
 * "network.addresses[i]", when one is held by another allocation that is
 * not released; a substitute takes the address of the machine it replaces.
 * The reserved machines move available -> deploying (events written).
 * With an idempotency key already used by this owner, returns the earlier
 * allocation with replayed = true. */
INV_MUST_CHECK enum inv_status inv_allocation_reserve(struct inv *inv,
						      const struct inv_alloc_request *r,
						      struct inv_allocation *out,
						      struct inv_err *err);
/* The allocation's cloud-init user data into *out (malloc'd, caller
 * frees; NULL when it has none). Kept out of struct inv_allocation so that
 * nothing that renders, lists or audits an allocation can carry it; read
 * by the deploy that writes the config drive. INV_NOT_FOUND: no such id. */
INV_MUST_CHECK enum inv_status inv_allocation_user_data(struct inv *inv, const char *id, char **out,
							struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_allocation_get(struct inv *inv, const char *id,
						  struct inv_allocation *out, struct inv_err *err);
/* The newest allocation named name (of owner, unless owner is NULL):
 * names may repeat. INV_NOT_FOUND when there is none. */
INV_MUST_CHECK enum inv_status inv_allocation_get_by_name(struct inv *inv, const char *name,
							  const char *owner,
							  struct inv_allocation *out,
							  struct inv_err *err);

struct inv_alloc_filter {
	const char *owner; /* NULL: any */
	int state;	   /* -1: any */
	int64_t after_seq;
	int limit;
};
struct inv_alloc_list {
	size_t n;
	struct inv_allocation *items;
	int64_t next_seq;
};
void inv_alloc_list_clear(struct inv_alloc_list *l);
INV_MUST_CHECK enum inv_status inv_allocation_list(struct inv *inv,
						   const struct inv_alloc_filter *f,
						   struct inv_alloc_list *out, struct inv_err *err);

/* Changes an allocation's state (deploying->ready|failed, ->releasing,
 * releasing->released). For releasing and failed, every attached machine
 * that is deploying or active moves to releasing (wake now), so a failed
 * allocation holds no capacity. last_error may be NULL.
 * Returns INV_CONFLICT if the allocation is not in one of from_mask's states
 * (bit per enum inv_alloc_state). */
INV_MUST_CHECK enum inv_status inv_allocation_set_state(struct inv *inv, const char *id,
							unsigned from_mask, enum inv_alloc_state to,
							const char *last_error, const char *actor,
							const char *request_id,
							struct inv_err *err);
/* Detaches failed machine from its allocation and, if the allocation may
 * take another substitute (max_subs) and one is available, reserves it
 * (available -> deploying). *substitute gets its id or "". With a spread
 * the substitute comes from a domain no other attached machine is in
 * (strict: only from such a domain, else none; best effort: the least
 * used domain). */
INV_MUST_CHECK enum inv_status inv_allocation_substitute(struct inv *inv, const char *alloc_id,
							 const char *failed_id, int max_subs,
							 char substitute[INV_ID_LEN],
							 struct inv_err *err);

/* --------------------------------------------------------------- images */
/* An image is usable (allocations, the boot listener) only when ready. One
 * given by URL is fetching until its file is in the store and verified,
 * then ready, or failed with last_error. The API's names come from this
 * table only. */
enum inv_image_state { INV_IMG_READY, INV_IMG_FETCHING, INV_IMG_FAILED, INV_IMG__COUNT };
const char *inv_image_state_name(enum inv_image_state s);

struct inv_image {
	int64_t seq;
	char name[64];
	char path[512]; /* the file, relative to the image store ("" while fetching);
			 * images registered before schema 5 may hold an absolute path */
	char url[512];
	char format[16];
	char sha256[65];
	int64_t size; /* raw bytes */
	int64_t created_at;
	enum inv_image_state state;
	char last_error[512];
	int64_t file_size;  /* bytes of the file as registered; -1 not recorded */
	int64_t file_inode; /* its inode; 0 not recorded (before schema 5) */
	int64_t updated_at; /* the last state change; 0 for none */
};
struct inv_image_list {
	size_t n;
	struct inv_image *items;
	int64_t next_seq;
};
void inv_image_list_clear(struct inv_image_list *l);
INV_MUST_CHECK enum inv_status inv_image_create(struct inv *inv, const struct inv_image *img,
						const char *actor, const char *request_id,
						struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_image_get(struct inv *inv, const char *name,
					     struct inv_image *out, struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_image_list(struct inv *inv, int64_t after_seq, int limit,
					      struct inv_image_list *out, struct inv_err *err);
/* Records the end of a URL image's fetch on the row whose seq is img->seq,
 * only while that row is fetching: img->state (ready or failed), last_error,
 * path, size, file_size and file_inode, with an audit row (actor
 * "image-fetcher"). INV_NOT_FOUND when the row is gone or not fetching (it
 * was deleted meanwhile, maybe registered again under the same name). */
INV_MUST_CHECK enum inv_status inv_image_fetch_done(struct inv *inv, const struct inv_image *img,
						    struct inv_err *err);
/* The fetching image with the lowest seq above after_seq into out.
 * INV_NOT_FOUND when there is none. */
INV_MUST_CHECK enum inv_status inv_image_next_fetching(struct inv *inv, int64_t after_seq,
						       struct inv_image *out, struct inv_err *err);
/* INV_CONFLICT while an allocation that is not released uses it. */
INV_MUST_CHECK enum inv_status inv_image_delete(struct inv *inv, const char *name,
						const char *actor, const char *request_id,
						struct inv_err *err);

/* --------------------------------------------------------------- tokens */
struct inv_token {
	int64_t seq;
	char id[INV_ID_LEN];
	char name[64];
	char role[16];
	char owner[64];
	char hash[65]; /* hex SHA-256 of the secret */
	int64_t created_at;
};
struct inv_token_list {
	size_t n;
	struct inv_token *items;
	int64_t next_seq;
};
void inv_token_list_clear(struct inv_token_list *l);
INV_MUST_CHECK enum inv_status inv_token_create(struct inv *inv, const struct inv_token *t,
						const char *actor, const char *request_id,
						struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_token_by_hash(struct inv *inv, const char *hash,
						 struct inv_token *out, struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_token_list(struct inv *inv, int64_t after_seq, int limit,
					      struct inv_token_list *out, struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_token_delete(struct inv *inv, const char *id, const char *actor,
						const char *request_id, struct inv_err *err);

/* --------------------------------------------------------------- quotas */
/* machines < 0 removes the quota. */
INV_MUST_CHECK enum inv_status inv_quota_set(struct inv *inv, const char *owner, const char *sku,
					     int machines, const char *actor,
					     const char *request_id, struct inv_err *err);
/* *machines = -1 when no quota is set. */
INV_MUST_CHECK enum inv_status inv_quota_get(struct inv *inv, const char *owner, const char *sku,
					     int *machines, struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_quota_list(struct inv *inv, const char *owner,
					      void (*fn)(void *ctx, const char *sku, int machines,
							 int used),
					      void *ctx, struct inv_err *err);

/* ---------------------------------------------------------------- audit */
struct inv_audit {
	int64_t seq;
	int64_t at;
	char actor[64];
	char action[64];
	char target_type[32];
	char target_id[128];
	char *before_json; /* malloc'd or NULL */
	char *after_json;  /* malloc'd or NULL */
	char request_id[64];
};
struct inv_audit_list {
	size_t n;
	struct inv_audit *items;
	int64_t next_seq;
};
void inv_audit_list_clear(struct inv_audit_list *l);
INV_MUST_CHECK enum inv_status inv_audit_append(struct inv *inv, const char *actor,
						const char *action, const char *target_type,
						const char *target_id, const char *before_json,
						const char *after_json, const char *request_id,
						struct inv_err *err);
struct inv_audit_filter {
	int64_t cursor;	    /* 0: from the start (the newest row when newest_first) */
	int limit;	    /* clamped like every list's */
	bool newest_first;  /* seq descending: the cursor then lists older rows */
	int64_t since;	    /* ms since the epoch: rows at or after it; 0: any */
	const char *actor;  /* NULL: any; "role:name", or the name alone */
	const char *action; /* NULL: any; exact, or the part before a dot ("machine") */
	const char *target; /* NULL: any; a target_id */
};
/* One page of audit rows that pass every filter set in f; out->next_seq is
 * the cursor of the next page (0 at the end). */
INV_MUST_CHECK enum inv_status inv_audit_list(struct inv *inv, const struct inv_audit_filter *f,
					      struct inv_audit_list *out, struct inv_err *err);

/* ------------------------------------------------------------- settings */
/* Small key/value settings (e.g. the fleet freeze). *out malloc'd or NULL. */
INV_MUST_CHECK enum inv_status inv_setting_get(struct inv *inv, const char *key, char **out,
					       struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_setting_set(struct inv *inv, const char *key, const char *value,
					       const char *actor, const char *request_id,
					       const char *audit_before, struct inv_err *err);

/* ---------------------------------------------------------- boot tokens */
/* One-time tokens of the boot/agent plane, stored hashed. kind: "boot"
 * (consumed on first use), "session" (valid for one agent run), "instance"
 * (the deployed OS's booted callback). */
INV_MUST_CHECK enum inv_status inv_boot_token_add(struct inv *inv, const char *hash,
						  const char *machine_id, const char *kind,
						  int64_t expires_at, struct inv_err *err);
/* Finds a live token of kind; if consume, marks it used in the same write.
 * *machine_id gets its machine. INV_NOT_FOUND if unknown, used or expired. */
INV_MUST_CHECK enum inv_status inv_boot_token_take(struct inv *inv, const char *hash,
						   const char *kind, bool consume,
						   char machine_id[INV_ID_LEN],
						   struct inv_err *err);
/* Revokes every live token of kind for machine (kind NULL = all). */
INV_MUST_CHECK enum inv_status inv_boot_token_revoke(struct inv *inv, const char *machine_id,
						     const char *kind, struct inv_err *err);
/* Boot grants (docs/security.md): the engine, about to power a machine on
 * into the agent, opens one grant until expires_at; the previous boot's
 * tokens (grant, boot, session, instance) end in the same write. A boot
 * script takes the grant (inv_boot_grant_take: INV_NOT_FOUND when none is
 * open), so one power-on yields at most one boot token. */
INV_MUST_CHECK enum inv_status inv_boot_grant(struct inv *inv, const char *machine_id,
					      int64_t expires_at, struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_boot_grant_take(struct inv *inv, const char *machine_id,
						   struct inv_err *err);
/* Whether machine has a live (unused, unexpired) token of kind. */
INV_MUST_CHECK enum inv_status inv_boot_live(struct inv *inv, const char *machine_id,
					     const char *kind, bool *live, struct inv_err *err);
/* Deletes used and expired tokens of every kind. */
INV_MUST_CHECK enum inv_status inv_boot_tokens_purge(struct inv *inv, struct inv_err *err);

/* ------------------------------------------------------- agent commands */
/* Commands for the deploy agent of one machine, in order. "external"
 * commands are never sent to the agent: another call completes them (the
 * inventory report completes "inspect", the deployed OS's callback
 * completes "booted"). States: pending, sent, done, failed. */
struct inv_command {
	char id[INV_ID_LEN];
	char machine_id[INV_ID_LEN];
	char name[32];
	char *args_json; /* malloc'd */
	char state[16];
	char message[512];
	char *details_json; /* malloc'd or NULL */
	int64_t created_at, updated_at;
};
void inv_command_clear(struct inv_command *c);
/* Cancels the machine's unfinished commands (failed, "superseded") and
 * queues a new one. id gets its id. */
INV_MUST_CHECK enum inv_status inv_command_add(struct inv *inv, const char *machine_id,
					       const char *name, const char *args_json,
					       bool external, char id[INV_ID_LEN],
					       struct inv_err *err);
/* The newest command named name of the machine; INV_NOT_FOUND if none. */
INV_MUST_CHECK enum inv_status inv_command_latest(struct inv *inv, const char *machine_id,
						  const char *name, struct inv_command *out,
						  struct inv_err *err);
/* Takes the oldest pending (non-external) command and marks it sent;
 * INV_NOT_FOUND when there is none. */
INV_MUST_CHECK enum inv_status inv_command_next(struct inv *inv, const char *machine_id,
						struct inv_command *out, struct inv_err *err);
/* Finishes the command (by id, or the newest unfinished one named name
 * when id is NULL), records the result and wakes the machine's engine
 * step. INV_NOT_FOUND if no such unfinished command. */
INV_MUST_CHECK enum inv_status inv_command_finish(struct inv *inv, const char *machine_id,
						  const char *id, const char *name, bool ok,
						  const char *message, const char *details_json,
						  struct inv_err *err);
/* A new agent run took over: commands sent to the previous one (which
 * can no longer answer) go back to pending, and the machine is woken
 * (wake_at = now) so a step waiting on the agent looks at once. */
INV_MUST_CHECK enum inv_status inv_command_requeue(struct inv *inv, const char *machine_id,
						   struct inv_err *err);
/* Records when the machine's agent was last heard from (at, ms), or that
 * it is gone (at = 0: the machine rebooted or powered off). */
INV_MUST_CHECK enum inv_status inv_machine_agent_seen(struct inv *inv, const char *machine_id,
						      int64_t at, struct inv_err *err);
/* Records the address the machine last called the boot plane from. */
INV_MUST_CHECK enum inv_status inv_machine_set_ip(struct inv *inv, const char *machine_id,
						  const char *ip, struct inv_err *err);
/* When the machine's agent was last heard from (ms) into *at: 0 if never
 * (or gone). INV_NOT_FOUND for an unknown machine id; *at = 0 on any
 * error. */
INV_MUST_CHECK enum inv_status inv_machine_agent_seen_at(struct inv *inv, const char *machine_id,
							 int64_t *at, struct inv_err *err);

/* ------------------------------------------------------------- rollouts */
/* Staged image rollouts (docs/allocations.md, "Staged rollouts"): an
 * allocation's active machines are reimaged with a new image wave by wave.
 * The inventory keeps the whole rollout (its waves, each machine's wave
 * and outcome) so a restart resumes it; the lifecycle engine drives it
 * (provisiond/lifecycle/rollout.c). A machine being reimaged runs the
 * image in its allocation membership (inv_alloc_machine.image); the
 * allocation's own image changes only when the rollout completes. */
#define INV_ROLLOUT_MAX_WAVES 32
enum inv_rollout_state {
	INV_RO_RUNNING,	   /* waves start as the previous ones finish */
	INV_RO_HALTING,	   /* too many failures: no new wave, machines finish */
	INV_RO_CANCELLING, /* cancelled: no new wave, machines finish */
	INV_RO_COMPLETED,  /* every machine reimaged (failures <= max_failures) */
	INV_RO_HALTED,
	INV_RO_CANCELLED,
	INV_RO__COUNT
};
const char *inv_rollout_state_name(enum inv_rollout_state s);
int inv_rollout_state_from_name(const char *name, enum inv_rollout_state *out);
/* Whether a rollout in state s still has work (running, halting,
 * cancelling): an allocation has at most one such rollout. */
bool inv_rollout_open(enum inv_rollout_state s);

/* One machine's part: pending (its wave has not started), reimaging,
 * done (active again on the new image), failed, skipped (the rollout
 * stopped before its wave). */
enum inv_rollout_mstate {
	INV_RM_PENDING,
	INV_RM_REIMAGING,
	INV_RM_DONE,
	INV_RM_FAILED,
	INV_RM_SKIPPED,
	INV_RM__COUNT
};
const char *inv_rollout_mstate_name(enum inv_rollout_mstate s);

/* Wave arithmetic. specs are the requested waves: "N" (a count) or "P%"
 * (a percentage, 1..100), each the total number of machines on the new
 * image after that wave (rounded up). Fills cum[i] for n machines. Refused
 * (INV_INVALID, field "waves", the message naming the wave): none or more
 * than INV_ROLLOUT_MAX_WAVES, a malformed spec, 0, a count above n or a
 * percentage above 100, a wave below the one before, a last wave short of
 * n. Pure: no storage, thread-safe. */
INV_MUST_CHECK enum inv_status inv_rollout_waves(const char *const *specs, int nspecs, int n,
						 int *cum, struct inv_err *err);

struct inv_rollout_machine {
	char id[INV_ID_LEN];
	char name[64];
	int wave; /* 0-based */
	enum inv_rollout_mstate state;
	char message[256]; /* why it failed or was skipped */
	int64_t started_at, finished_at;
};

struct inv_rollout {
	char id[INV_ID_LEN];
	char allocation_id[INV_ID_LEN];
	char image[64], old_image[64];
	int nwaves;
	char waves[INV_ROLLOUT_MAX_WAVES][8]; /* the specs as asked */
	int max_failures;
	enum inv_rollout_state state;
	int wave;		 /* the wave started last (0-based); -1 before the first */
	int64_t wave_started_at; /* when it started */
	int failures;
	char reason[256]; /* why it halted or was cancelled */
	char actor[64];
	int64_t created_at, updated_at, finished_at;
	size_t nmachines;
	struct inv_rollout_machine *machines; /* malloc'd, by wave then machine */
};
void inv_rollout_clear(struct inv_rollout *r);

struct inv_rollout_new {
	const char *allocation_id;
	const char *image;
	const char *const *waves; /* specs, as inv_rollout_waves takes them */
	int nwaves;
	int max_failures;
	const char *actor, *request_id;
};
/* Creates a rollout of the allocation's attached machines in one write:
 * INV_NOT_FOUND (field "id") for no such allocation; INV_CONFLICT when the
 * allocation is not ready (field "state"), one of its machines is not
 * active or none is left (field "machines"), or a rollout of it is open
 * (field "rebuild");
 * inv_rollout_waves' refusals; INV_INVALID (field "image") when the
 * allocation runs that image already. No machine moves yet: the engine
 * starts the first wave. An audit row "rollout.create" is written. out
 * (may be NULL) gets the rollout. */
INV_MUST_CHECK enum inv_status inv_rollout_create(struct inv *inv, const struct inv_rollout_new *n,
						  struct inv_rollout *out, struct inv_err *err);
/* The newest rollout of the allocation; INV_NOT_FOUND (field "rebuild")
 * when it never had one. */
INV_MUST_CHECK enum inv_status inv_rollout_latest(struct inv *inv, const char *alloc_id,
						  struct inv_rollout *out, struct inv_err *err);
/* Ids of open rollouts (at most max), oldest first. */
INV_MUST_CHECK enum inv_status inv_rollouts_open(struct inv *inv, char (*ids)[INV_ID_LEN], int max,
						 int *n, struct inv_err *err);
INV_MUST_CHECK enum inv_status inv_rollout_get(struct inv *inv, const char *id,
					       struct inv_rollout *out, struct inv_err *err);

/* The engine's moves (provisiond/lifecycle/rollout.c). Each is one write
 * that first checks the rollout is still as the caller read it (state and
 * wave: expect_state, expect_wave), else INV_CONFLICT, so two replicas or
 * a repeated pass never apply a move twice. Every one writes an audit row
 * (actor "lifecycle", target the allocation). */
struct inv_rollout_outcome {
	const char *machine_id;
	bool ok;
	const char *message; /* why it failed */
};
/* Records how reimaging machines ended (done or failed: failures grows). */
INV_MUST_CHECK enum inv_status inv_rollout_record(struct inv *inv, const struct inv_rollout *r,
						  const struct inv_rollout_outcome *o, int n,
						  struct inv_err *err);
/* Starts wave r->wave + 1: each of its pending machines that is still
 * active and attached moves active -> deploying (event, reason naming the
 * rollout, woken now) with the rollout's image in its membership; one
 * that is not fails (counted). */
INV_MUST_CHECK enum inv_status inv_rollout_start_wave(struct inv *inv, const struct inv_rollout *r,
						      struct inv_err *err);
/* Moves the rollout to state `to` with reason (NULL keeps the one it has):
 * halting or cancelling (pending machines become skipped), or a final
 * state; completed also makes the image the allocation's (machines' own
 * images that equal it are cleared). */
INV_MUST_CHECK enum inv_status inv_rollout_finish(struct inv *inv, const struct inv_rollout *r,
						  enum inv_rollout_state to, const char *reason,
						  const char *actor, const char *request_id,
						  struct inv_err *err);

#endif
