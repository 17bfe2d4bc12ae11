/* db_sqlite.c - the SQLite backend (backend.h): connections, statements,
 * the writer's transaction statements and the schema version. The texts of
 * the statements and migrations are in sql_sqlite.c.
 *
 * SQLite in WAL mode, synchronous=FULL on the writer: a group commits
 * durably before any of its requests is answered (db.c). */
#include "inventory/backend.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 10000

/* The texts of sql_sqlite.c. */
extern const char *const inv_sqlite_migrations[INV_SCHEMA_VERSIONS];

/* The writer's transaction statements, prepared once on its connection
 * rather than parsed for every group and every request in it. */
static const char *const txn_sql[INV_TXN__COUNT] = {
    [INV_TXN_BEGIN] = "BEGIN IMMEDIATE",       [INV_TXN_COMMIT] = "COMMIT",
    [INV_TXN_ROLLBACK] = "ROLLBACK",	       [INV_TXN_SAVEPOINT] = "SAVEPOINT req",
    [INV_TXN_ROLLBACK_TO] = "ROLLBACK TO req", [INV_TXN_RELEASE] = "RELEASE req",
};

struct sq_conn {
	sqlite3 *db;
	sqlite3_stmt *txn[INV_TXN__COUNT];
};

struct sq_q {
	struct inv_q q; /* first: query.c's view */
	sqlite3_stmt *st;
};

static sqlite3 *db_of(struct inv_conn *c)
{
	return ((struct sq_conn *)c->h)->db;
}

static sqlite3_stmt *st_of(struct inv_q *q)
{
	return ((struct sq_q *)q)->st;
}

static enum inv_status sqlfail(struct inv_err *err, sqlite3 *db, const char *what)
{
	int code = sqlite3_errcode(db);
	enum inv_status st = INV_IO;
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		st = INV_CORRUPT;
	return inv_fail(err, st, NULL, "%s: %s", what, sqlite3_errmsg(db));
}

static bool sq_takes(const char *database)
{
	(void)database;
	return true; /* any path: the last entry of query.c's table */
}

static enum inv_status sq_open(struct inv_conn *c, const char *database, bool writer,
			       struct inv_err *err)
{
	struct sq_conn *sc = calloc(1, sizeof *sc);
	if (!sc)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	c->h = sc;
	int flags = SQLITE_OPEN_NOMUTEX |
		    (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
	int rc = sqlite3_open_v2(database, &sc->db, flags, NULL);
	if (rc == SQLITE_OK)
		return INV_OK;
	if (writer)
		return inv_fail(err, INV_IO, NULL, "cannot open database %s: %s", database,
				sc->db ? sqlite3_errmsg(sc->db) : sqlite3_errstr(rc));
	return inv_fail(err, INV_IO, NULL, "open reader: %s", sqlite3_errmsg(sc->db));
}

static enum inv_status sq_configure(struct inv_conn *c, bool writer, struct inv_err *err)
{
	sqlite3 *db = db_of(c);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	/* Page caches sized on purpose: every thread that reads has its own
	 * connection (up to the API and boot workers, ~100), and SQLite's
	 * default of 2 MiB each would let a busy daemon hold ~200 MiB of cached
	 * pages that the kernel's page cache holds anyway. A reader keeps
	 * 512 KiB (the index and table pages one list page touches), the one
	 * writer its 2 MiB. */
	const char *sql = writer ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				   " PRAGMA foreign_keys=ON; PRAGMA cache_size=-2048;"
				 : "PRAGMA foreign_keys=ON; PRAGMA cache_size=-512;";
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sqlfail(err, db, "configure database");
	return INV_OK;
}

/* The first statement reads the header: a non-database file fails here
 * with NOTADB before anything is written. */
static enum inv_status sq_check(struct inv_conn *c, struct inv_err *err)
{
	sqlite3 *db = db_of(c);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK)
		return sqlfail(err, db, "prepare");
	int rc = sqlite3_step(st);
	const char *res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	enum inv_status s = INV_OK;
	if (res && strcmp(res, "ok") != 0)
		s = inv_fail(err, INV_CORRUPT, NULL, "database failed its integrity check: %s",
			     res);
	else if (!res)
		s = sqlfail(err, db, "integrity check");
	sqlite3_finalize(st);
	return s;
}

static void sq_close(struct inv_conn *c)
{
	struct sq_conn *sc = c->h;
	if (!sc)
		return;
	for (int i = 0; i < INV_TXN__COUNT; i++)
		sqlite3_finalize(sc->txn[i]);
	sqlite3_close(sc->db);
	free(sc);
}

/* ---------------------------------------------------------- statements */

static struct inv_q *sq_prepare(struct inv_conn *c, const char *sql, bool persistent,
				struct inv_err *err)
{
	struct sq_q *q = calloc(1, sizeof *q);
	if (!q) {
		inv_fail(err, INV_IO, NULL, "out of memory");
		return NULL;
	}
	q->q.c = c;
	unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0;
	if (sqlite3_prepare_v3(db_of(c), sql, -1, flags, &q->st, NULL) != SQLITE_OK) {
		sqlfail(err, db_of(c), "prepare");
		sqlite3_finalize(q->st);
		free(q);
		return NULL;
	}
	return &q->q;
}

static void sq_q_free(struct inv_q *q)
{
	sqlite3_finalize(st_of(q));
	free(q);
}

static void sq_q_reset(struct inv_q *q)
{
	sqlite3_reset(st_of(q));
	sqlite3_clear_bindings(st_of(q));
}

static bool sq_bind_text(struct inv_q *q, const char *name, const char *s)
{
	int i = sqlite3_bind_parameter_index(st_of(q), name);
	if (i == 0)
		return false;
	if (s)
		sqlite3_bind_text(st_of(q), i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st_of(q), i);
	return true;
}

static bool sq_bind_int(struct inv_q *q, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(st_of(q), name);
	if (i != 0)
		sqlite3_bind_int64(st_of(q), i, v);
	return i != 0;
}

static bool sq_bind_null_int(struct inv_q *q, const char *name)
{
	return sq_bind_text(q, name, NULL);
}

static enum inv_status sq_step(struct inv_q *q, bool *row, const char *what, struct inv_err *err)
{
	int rc = sqlite3_step(st_of(q));
	*row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return INV_OK;
	sqlite3 *db = db_of(q->c);
	if (rc == SQLITE_CONSTRAINT)
		return inv_fail(err, INV_DUPLICATE, NULL, "%s: %s", what, sqlite3_errmsg(db));
	return sqlfail(err, db, what);
}

static int64_t sq_col_int(struct inv_q *q, int col)
{
	return sqlite3_column_int64(st_of(q), col);
}

static const char *sq_col_text(struct inv_q *q, int col)
{
	return (const char *)sqlite3_column_text(st_of(q), col);
}

static bool sq_col_null(struct inv_q *q, int col)
{
	return sqlite3_column_type(st_of(q), col) == SQLITE_NULL;
}

static int64_t sq_changes(struct inv_conn *c)
{
	return sqlite3_changes(db_of(c));
}

static enum inv_status sq_exec(struct inv_conn *c, const char *sql, const char *what,
			       struct inv_err *err)
{
	if (sqlite3_exec(db_of(c), sql, NULL, NULL, NULL) != SQLITE_OK)
		return inv_fail(err, INV_IO, NULL, "%s: %s", what, sqlite3_errmsg(db_of(c)));
	return INV_OK;
}

static enum inv_status sq_txn(struct inv_conn *c, enum inv_txn which, struct inv_err *err)
{
	static const char *const what[INV_TXN__COUNT] = {
	    [INV_TXN_BEGIN] = "begin transaction", [INV_TXN_COMMIT] = "commit",
	    [INV_TXN_ROLLBACK] = "rollback",	   [INV_TXN_SAVEPOINT] = "savepoint",
	    [INV_TXN_ROLLBACK_TO] = "rollback to", [INV_TXN_RELEASE] = "release",
	};
	struct sq_conn *sc = c->h;
	sqlite3_stmt **st = &sc->txn[which];
	if (!*st && sqlite3_prepare_v2(sc->db, txn_sql[which], -1, st, NULL) != SQLITE_OK)
		return sqlfail(err, sc->db, what[which]);
	int rc = sqlite3_step(*st);
	sqlite3_reset(*st);
	return rc == SQLITE_DONE ? INV_OK : sqlfail(err, sc->db, what[which]);
}

/* -------------------------------------------------------------- schema */

/* One integer from sql (no parameters), or -1 (err filled). */
static int64_t scalar(sqlite3 *db, const char *sql, const char *what, struct inv_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		sqlfail(err, db, "prepare");
	else if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		sqlfail(err, db, what);
	sqlite3_finalize(st);
	return v;
}

static enum inv_status sq_version_get(struct inv_conn *c, int *v, struct inv_err *err)
{
	*v = (int)scalar(db_of(c), "PRAGMA user_version", "read schema version", err);
	return *v < 0 ? INV_IO : INV_OK;
}

static enum inv_status sq_version_set(struct inv_conn *c, int v, struct inv_err *err)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
	return sq_exec(c, sql, "set schema version", err);
}

static enum inv_status sq_has_tables(struct inv_conn *c, bool *any, struct inv_err *err)
{
	int64_t n = scalar(db_of(c), "SELECT count(*) FROM sqlite_master", "list tables", err);
	*any = n != 0;
	return n < 0 ? INV_IO : INV_OK;
}

/* Rewrites the whole file from its rows (VACUUM) and folds the WAL into it,
 * leaving the WAL empty. The checkpoint is best effort: a reader in another
 * process may hold the WAL, which the next checkpoint then folds in. */
static enum inv_status sq_rebuild(struct inv_conn *c, struct inv_err *err)
{
	enum inv_status s = sq_exec(c, "VACUUM", "rebuilding the file failed", err);
	if (s == INV_OK)
		sqlite3_exec(db_of(c), "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	return s;
}

const struct inv_backend inv_backend_sqlite = {
    .name = "SQLite",
    .takes = sq_takes,
    .open = sq_open,
    .configure = sq_configure,
    .check = sq_check,
    .close = sq_close,
    .sql_text = inv_sql_text,
    .prepare = sq_prepare,
    .q_free = sq_q_free,
    .q_reset = sq_q_reset,
    .bind_text = sq_bind_text,
    .bind_int = sq_bind_int,
    .bind_null_int = sq_bind_null_int,
    .step = sq_step,
    .col_int = sq_col_int,
    .col_text = sq_col_text,
    .col_null = sq_col_null,
    .changes = sq_changes,
    .exec = sq_exec,
    .txn = sq_txn,
    .migrations = inv_sqlite_migrations,
    .version_get = sq_version_get,
    .version_set = sq_version_set,
    .has_tables = sq_has_tables,
    .rebuild = sq_rebuild,
};
