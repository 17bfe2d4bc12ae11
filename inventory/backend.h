/* backend.h - what a database backend supplies to the inventory.
 *
 * The typed functions (machines.c, allocations.c, ...) speak only the
 * statement calls of internal.h; query.c dispatches them through the
 * connection's backend, one table of the operations below per backend
 * (named initializers, as the BMC drivers). A new backend is one file that
 * fills this table plus its entry in backends[] (query.c).
 *
 * Contracts:
 *  - A backend's statement starts with struct inv_q (its own fields after
 *    it); query.c keeps the connection's statements by id and frees them
 *    with q_free before close.
 *  - bind_* return false when the statement has no parameter of that name
 *    (query.c reports it at the next step); values are copied.
 *  - step runs the statement on its first call and then walks its rows;
 *    q_reset forgets the rows and the bound values.
 *  - Errors fill err: INV_DUPLICATE for a constraint, INV_CORRUPT for a
 *    file that is not a database, INV_IO otherwise.
 *  - Slots marked optional may be NULL. */
#ifndef PROVISIOND_INVENTORY_BACKEND_H
#define PROVISIOND_INVENTORY_BACKEND_H

#include "inventory/internal.h"

/* Schema versions: every backend has a migration for each (append one to
 * every backend's table together, and raise this). */
#define INV_SCHEMA_VERSIONS 13

struct inv_q {
	struct inv_conn *c;
	const char *text; /* what it was prepared from (set by query.c) */
};

struct inv_backend {
	const char *name;
	/* Whether database (the configured setting) names this backend. */
	bool (*takes)(const char *database);
	/* Copies database for messages, without secrets (optional: as is). */
	void (*display)(const char *database, char *out, size_t len);

	enum inv_status (*open)(struct inv_conn *c, const char *database, bool writer,
				struct inv_err *err);
	enum inv_status (*configure)(struct inv_conn *c, bool writer, struct inv_err *err);
	/* Refuses a damaged database before anything is written (optional). */
	enum inv_status (*check)(struct inv_conn *c, struct inv_err *err);
	void (*close)(struct inv_conn *c);

	/* The backend's text of a statement id (NULL: none). */
	const char *(*sql_text)(enum inv_sql id);
	/* persistent: kept for the connection's life (the table's statements). */
	struct inv_q *(*prepare)(struct inv_conn *c, const char *sql, bool persistent,
				 struct inv_err *err);
	void (*q_free)(struct inv_q *q);
	void (*q_reset)(struct inv_q *q);
	bool (*bind_text)(struct inv_q *q, const char *name, const char *s);
	bool (*bind_int)(struct inv_q *q, const char *name, int64_t v);
	bool (*bind_null_int)(struct inv_q *q, const char *name);
	enum inv_status (*step)(struct inv_q *q, bool *row, const char *what, struct inv_err *err);
	int64_t (*col_int)(struct inv_q *q, int col);
	const char *(*col_text)(struct inv_q *q, int col);
	bool (*col_null)(struct inv_q *q, int col);
	int64_t (*changes)(struct inv_conn *c);
	enum inv_status (*exec)(struct inv_conn *c, const char *sql, const char *what,
				struct inv_err *err);
	enum inv_status (*txn)(struct inv_conn *c, enum inv_txn which, struct inv_err *err);

	/* Schema (schema.c runs them). migrations[v - 1] brings version v - 1
	 * to v ("" for a version that is only a data step). */
	const char *const *migrations;
	enum inv_status (*version_get)(struct inv_conn *c, int *v, struct inv_err *err);
	enum inv_status (*version_set)(struct inv_conn *c, int v, struct inv_err *err);
	/* Whether the database holds tables (a foreign one when version 0). */
	enum inv_status (*has_tables)(struct inv_conn *c, bool *any, struct inv_err *err);
	/* After a data step: leaves no copy of the old values (optional). */
	enum inv_status (*rebuild)(struct inv_conn *c, struct inv_err *err);
	/* Serializes migrations of several processes (optional). */
	enum inv_status (*migrate_lock)(struct inv_conn *c, bool lock, struct inv_err *err);

	/* Change notices between processes (optional; db_pg_listen.c): the
	 * statement every write group runs before its commit, and a
	 * connection that waits for other processes' commits. listen_wait
	 * answers 1 (a commit came), 0 (timeout) or -1 (connection lost:
	 * close it and open another). */
	const char *announce_sql;
	/* Run first by every write group (optional): one group of any
	 * process on the database at a time (db.c, take_turn). */
	const char *turn_sql;
	void *(*listen_open)(const char *database);
	int (*listen_wait)(void *l, int timeout_ms);
	void (*listen_close)(void *l);
};

/* PostgreSQL's channel of change notices */
#define INV_PG_CHANNEL "provisiond_changes"
void *inv_pg_listen_open(const char *database);
int inv_pg_listen_wait(void *l, int timeout_ms);
void inv_pg_listen_close(void *l);

extern const struct inv_backend inv_backend_sqlite;
extern const struct inv_backend inv_backend_pg;

#endif
