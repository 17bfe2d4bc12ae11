/* internal.h - shared by the inventory sources only. */
#ifndef PROVISIOND_INVENTORY_INTERNAL_H
#define PROVISIOND_INVENTORY_INTERNAL_H

#include "inventory/inventory.h"

#include "inventory/sql.h"
#include "util/util.h"

/* A statement prepared on one connection (the backend's: backend.h). The
 * typed functions see only this handle and the calls below, never a
 * database library's types. */
struct inv_q;
struct inv_backend;

/* A connection and its statements, prepared on first use by id and kept
 * until the connection closes. Used by one thread at a time: the writer's
 * by the writer thread, a reader's by the thread it belongs to. */
struct inv_conn {
	const struct inv_backend *be; /* the backend that opened it */
	void *h;		      /* the backend's connection */
	struct inv_q *stmt[SQL__COUNT];
	const struct inv_key *key; /* the inventory's: seals and opens BMC passwords */
};
/* Opens a connection to database with the backend that takes it (a path:
 * SQLite; a postgresql:// URI or key=value string: PostgreSQL). A writer
 * may create the database; a reader is read-only where the backend can
 * say so. Nothing is configured or migrated here (inv_conn_configure). */
enum inv_status inv_conn_open(struct inv_conn *c, const char *database, bool writer,
			      struct inv_err *err);
/* Refuses a damaged database (SQLite: its integrity check) before
 * anything is written to it. */
enum inv_status inv_conn_check(struct inv_conn *c, struct inv_err *err);
/* The backend's settings for a reader or the writer (pragmas, ...). */
enum inv_status inv_conn_configure(struct inv_conn *c, bool writer, struct inv_err *err);
/* Finalizes the statements and closes the connection. NULL ok. */
void inv_conn_close(struct inv_conn *c);

/* A write runs on the writer connection inside its own savepoint. Return
 * INV_OK to keep its changes; anything else rolls back just this request. */
typedef enum inv_status (*inv_write_fn)(struct inv_conn *c, void *arg, struct inv_err *err);

/* Queues fn to the writer and blocks until its transaction committed (or
 * failed). Returns fn's status, or INV_IO if the commit failed. */
enum inv_status inv_write(struct inv *inv, inv_write_fn fn, void *arg, struct inv_err *err);

/* The calling thread's read-only connection (opened on first use). */
struct inv_conn *inv_reader(struct inv *inv, struct inv_err *err);
/* The replica inv_set_replica named ("" none). */
const char *inv_replica_of(struct inv *inv);

/* Error helpers. */
enum inv_status inv_fail(struct inv_err *err, enum inv_status st, const char *field,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Statements by id (sql.h, texts per backend). inv_stmt() returns the
 * connection's cached statement, reset and with no values bound, or NULL
 * (err filled). The caller binds by name, steps, and hands it back with
 * inv_stmt_done() (inv_exec_done() does that itself) before the same id is
 * used again on that connection: one id is never in use twice at once. */
struct inv_q *inv_stmt(struct inv_conn *c, enum inv_sql id, struct inv_err *err);
/* Resets q and clears its values (no secret stays bound). NULL ok. */
void inv_stmt_done(struct inv_q *q);
void inv_bind_text(struct inv_q *q, const char *name, const char *s); /* NULL binds NULL */
void inv_bind_int(struct inv_q *q, const char *name, int64_t v);
/* An integer parameter's NULL (PostgreSQL types parameters by their binds). */
void inv_bind_null_int(struct inv_q *q, const char *name);
/* One step: INV_OK with *row true (a row to read) or false (finished), or
 * the failure (a constraint is INV_DUPLICATE). */
enum inv_status inv_step(struct inv_q *q, bool *row, const char *what, struct inv_err *err);
/* Steps a statement that returns no rows, then inv_stmt_done(). */
enum inv_status inv_exec_done(struct inv_q *q, const char *what, struct inv_err *err);
/* Rows changed by the last statement run on c (an UPDATE's matches). */
int64_t inv_changes(struct inv_conn *c);

/* Columns of the current row, counted from 0. A NULL reads as 0 or NULL;
 * the text stays valid until the next step or inv_stmt_done(). */
int64_t inv_col_int64(struct inv_q *q, int col);
int inv_col_int(struct inv_q *q, int col);
const char *inv_col_text(struct inv_q *q, int col);
bool inv_col_null(struct inv_q *q, int col);
void inv_col_copy(struct inv_q *q, int col, char *dst, size_t len);
char *inv_col_dup(struct inv_q *q, int col); /* malloc'd or NULL */

/* Statements outside the table (migrations): named parameters as in the
 * table; the caller frees with inv_q_free(). */
struct inv_q *inv_prep(struct inv_conn *c, const char *sql, struct inv_err *err);
void inv_q_free(struct inv_q *q);
/* Runs sql, one or more statements without parameters or rows. */
enum inv_status inv_exec_sql(struct inv_conn *c, const char *sql, const char *what,
			     struct inv_err *err);

/* The writer's transaction steps (db.c's group commit, schema.c). */
enum inv_txn {
	INV_TXN_BEGIN, /* a write transaction: SQLite takes the write lock at once */
	INV_TXN_COMMIT,
	INV_TXN_ROLLBACK,
	INV_TXN_SAVEPOINT, /* one request's savepoint inside the group */
	INV_TXN_ROLLBACK_TO,
	INV_TXN_RELEASE,
	INV_TXN__COUNT
};
enum inv_status inv_txn(struct inv_conn *c, enum inv_txn which, struct inv_err *err);

/* Stores a machine's BMC access on the writer connection, the password
 * sealed under c->key (inventory/secrets.h). */
enum inv_status inv_insert_bmc(struct inv_conn *c, const char *id, const struct inv_bmc *b,
			       struct inv_err *err);
/* Writes one audit row on the writer connection. */
enum inv_status inv_audit_row(struct inv_conn *c, const char *actor, const char *action,
			      const char *target_type, const char *target_id,
			      const char *before_json, const char *after_json,
			      const char *request_id, struct inv_err *err);
/* Writes one machine_events row on the writer connection. */
enum inv_status inv_event_row(struct inv_conn *c, const char *machine_id, const char *from,
			      const char *to, const char *actor, const char *reason,
			      const char *request_id, struct inv_err *err);
/* Moves one available machine into the allocation (available ->
 * deploying, event written) on the writer connection. */
enum inv_status inv_attach_machine(struct inv_conn *c, const char *alloc_id, const char *mid,
				   int64_t wake_at, const char *actor, const char *reason,
				   const char *request_id, struct inv_err *err);
/* An allocation's user data (alloc_user_data.c), stored by the
 * reservation on the writer inside its transaction. */
enum inv_status inv_user_data_store(struct inv_conn *c, const char *alloc_id, const char *user_data,
				    struct inv_err *err);

/* Static network (alloc_network.c), on the writer inside the reservation
 * (substitution): inv_network_check fails INV_CONFLICT naming the first
 * address another live allocation holds; inv_network_store, after the
 * machines are attached, stores the network and gives the i-th address
 * to the i-th machine as the allocation lists them; inv_network_move
 * gives the address of machine old to machine new (none: nothing). */
enum inv_status inv_network_check(struct inv_conn *c, const struct inv_alloc_request *r,
				  struct inv_err *err);
enum inv_status inv_network_store(struct inv_conn *c, const char *alloc_id,
				  const struct inv_alloc_request *r, struct inv_err *err);
enum inv_status inv_network_move(struct inv_conn *c, const char *alloc_id, const char *old_id,
				 const char *new_id, struct inv_err *err);

/* Failure-domain spread (alloc_spread.c). inv_spread_store writes the
 * allocation's spread, inv_spread_read reads it with the domains its
 * attached machines are in (any connection). inv_spread_pick is
 * pick_available for a request with a spread (writer): up to want ids,
 * and with a strict spread short of min_count domains INV_CAPACITY naming
 * them (or the pool's shortage, as the plain reservation says it).
 * inv_spread_substitute: mid holds the substitute a plain substitution
 * would take; with a spread it becomes one that keeps it, or "" (strict,
 * none left). */
enum inv_status inv_spread_store(struct inv_conn *c, const char *alloc_id,
				 const struct inv_spread *sp, struct inv_err *err);
enum inv_status inv_spread_read(struct inv_conn *c, const char *alloc_id, struct inv_spread *out,
				struct inv_err *err);
enum inv_status inv_spread_pick(struct inv_conn *c, const struct inv_alloc_request *r, int want,
				char (*ids)[INV_ID_LEN], int *n, struct inv_err *err);
enum inv_status inv_spread_substitute(struct inv_conn *c, const char *alloc_id,
				      char mid[INV_ID_LEN], struct inv_err *err);
/* ",\"spread\":{...}" for an audit row's JSON, or "" without a spread. */
void inv_spread_audit(const struct inv_spread *sp, char *buf, size_t len);
/* Rollouts (rollouts.c): a rollout with its machines read on connection
 * c; the open states bound as :running, :halting, :cancelling. An
 * allocation with its members read on connection c (allocations.c). */
enum inv_status inv_rollout_read_on(struct inv_conn *c, const char *id, struct inv_rollout *out,
				    struct inv_err *err);
void inv_rollout_bind_open(struct inv_q *st);
enum inv_status inv_alloc_read_on(struct inv_conn *c, const char *id, struct inv_allocation *out,
				  struct inv_err *err);
/* A new random UUID string. */
void inv_uuid(char out[INV_ID_LEN]);
/* Discovered machines waiting for a tech, on any connection. */
enum inv_status inv_count_discovered(struct inv_conn *c, int64_t *n, struct inv_err *err);

/* Schema. Migrations that rewrite data get the key (schema 5 seals the BMC
 * passwords stored in clear). */
int inv_migrate(struct inv_conn *c, const struct inv_key *key, struct inv_err *err);
/* Refuses newer or foreign databases without writing. 0 ok. */
int inv_schema_check(struct inv_conn *c, struct inv_err *err);
/* Migrates to target (<= 0: latest). For tests of older versions. */
int inv_migrate_to(struct inv_conn *c, int target, const struct inv_key *key, struct inv_err *err);
/* Opens like inv_open but migrates only to version target (tests). */
enum inv_status inv_open_at(const char *path, int target, const struct inv_key *key,
			    struct inv **out, struct inv_err *err);

#define INV_LIMIT_DEFAULT 100
#define INV_LIMIT_MAX 1000
int inv_clamp_limit(int limit);

#endif
