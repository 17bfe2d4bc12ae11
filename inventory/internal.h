/* internal.h - shared by the inventory sources only. */
#ifndef PROVISIOND_INVENTORY_INTERNAL_H
#define PROVISIOND_INVENTORY_INTERNAL_H

#include "inventory/inventory.h"

#include "inventory/sql.h"
#include "util/util.h"

#include <sqlite3.h>

#include "util/util.h"
/* A connection and its statements, prepared on first use by id and kept
 * until the connection closes (sql_sqlite.c). Used by one thread at a time:
 * the writer's by the writer thread, a reader's by the thread it belongs
 * to. */
struct inv_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL__COUNT];
	const struct inv_key *key; /* the inventory's: seals and opens BMC passwords */
};
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

/* Error helpers. */
enum inv_status inv_fail(struct inv_err *err, enum inv_status st, const char *field,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
enum inv_status inv_sqlfail(struct inv_err *err, sqlite3 *db, const char *what);

/* Statements by id (sql.h, texts in sql_sqlite.c). inv_stmt() returns the
 * connection's cached statement, reset and with no values bound, or NULL
 * (err filled). The caller binds by name, steps, and hands it back with
 * inv_stmt_done() (inv_exec_done() does that itself) before the same id is
 * used again on that connection: one id is never in use twice at once. */
sqlite3_stmt *inv_stmt(struct inv_conn *c, enum inv_sql id, struct inv_err *err);
/* Resets st and clears its values (no secret stays bound). NULL ok. */
void inv_stmt_done(sqlite3_stmt *st);
void inv_bind_text(sqlite3_stmt *st, const char *name, const char *s); /* NULL binds NULL */
void inv_bind_int(sqlite3_stmt *st, const char *name, int64_t v);
/* One step: INV_OK with *row true (a row to read) or false (finished), or
 * the failure (a constraint is INV_DUPLICATE). */
enum inv_status inv_step(sqlite3_stmt *st, bool *row, const char *what, struct inv_err *err);
/* Steps a statement that returns no rows, then inv_stmt_done(). */
enum inv_status inv_exec_done(sqlite3_stmt *st, const char *what, struct inv_err *err);

/* Statements outside the table (pragmas, migrations): the caller finalizes. */
sqlite3_stmt *inv_prep(sqlite3 *db, const char *sql, struct inv_err *err);
void inv_col_copy(sqlite3_stmt *st, int col, char *dst, size_t len);
char *inv_col_dup(sqlite3_stmt *st, int col); /* malloc'd or NULL */

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
/* A new random UUID string. */
void inv_uuid(char out[INV_ID_LEN]);
/* Discovered machines waiting for a tech, on any connection. */
enum inv_status inv_count_discovered(struct inv_conn *c, int64_t *n, struct inv_err *err);

/* Schema. Migrations that rewrite data get the key (schema 5 seals the BMC
 * passwords stored in clear). */
int inv_migrate(sqlite3 *db, const struct inv_key *key, struct inv_err *err);
/* Refuses newer or foreign databases without writing. 0 ok. */
int inv_schema_check(sqlite3 *db, struct inv_err *err);
/* Migrates to target (<= 0: latest). For tests of older versions. */
int inv_migrate_to(sqlite3 *db, int target, const struct inv_key *key, struct inv_err *err);
/* Opens like inv_open but migrates only to version target (tests). */
enum inv_status inv_open_at(const char *path, int target, const struct inv_key *key,
			    struct inv **out, struct inv_err *err);

#define INV_LIMIT_DEFAULT 100
#define INV_LIMIT_MAX 1000
int inv_clamp_limit(int limit);

#endif
