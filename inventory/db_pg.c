/* db_pg.c - the PostgreSQL backend (backend.h) on libpq: connections,
 * statements, the writer's transaction steps and the schema version. The
 * texts and the choice of setting are sql_pg.c's; why and how it differs
 * from SQLite is said there.
 *
 * Statements: the table's are prepared on the server (PQprepare) on their
 * first run on a connection, again after the connection was reset, and
 * again if a parameter is bound with another kind than when it was
 * prepared; others run with PQexecParams. A statement's rows are read
 * whole by its first step.
 *
 * Following a failover (a server restart, a Patroni switchover or the loss
 * of the primary): a connection that broke (libpq says CONNECTION_BAD, or
 * the server answered SQLSTATE class 08 or 57P0x, shutting down) or that
 * reached a server that no longer takes writes (25006) is reset before its
 * next use, never inside a transaction: PQreset walks a multi-host
 * setting's hosts again, so target_session_attrs=read-write finds the new
 * primary. What met the break:
 *  - a BEGIN is retried once on the reset connection: nothing was written;
 *  - a statement inside the writer's transaction fails, and so does the
 *    rest of that transaction without touching the network; its requests
 *    answer 503 (INV_IO). A COMMIT that met the break may or may not have
 *    committed: it is reported failed ("outcome unknown"), never as done,
 *    so an acknowledged write is one the server confirmed;
 *  - a reader's statement (read-only, outside any transaction) is run
 *    again once on the reset connection. */
#include "inventory/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* sql_pg.c */
bool inv_pg_takes(const char *database);
void inv_pg_display(const char *database, char *out, size_t len);
const char *inv_pg_sql_text(enum inv_sql id);
extern const char *const inv_pg_migrations[INV_SCHEMA_VERSIONS];

#ifndef HAVE_LIBPQ
/* Built without libpq: the setting is recognised and refused clearly. */
static enum inv_status pg_missing(struct inv_conn *c, const char *database, bool writer,
				  struct inv_err *err)
{
	(void)c;
	(void)database;
	(void)writer;
	return inv_fail(err, INV_INVALID, "database",
			"PostgreSQL support is not compiled in (libpq-dev was missing at build)");
}

static void pg_close_missing(struct inv_conn *c)
{
	(void)c;
}

const struct inv_backend inv_backend_pg = {
    .name = "PostgreSQL",
    .takes = inv_pg_takes,
    .display = inv_pg_display,
    .open = pg_missing,
    .close = pg_close_missing,
};
#else
#include <libpq-fe.h>

#define INT8_OID 20
#define TEXT_OID 25
/* migrations of several replicas starting at once take turns */
#define MIGRATE_LOCK_KEY "7480010"

struct pg_conn {
	PGconn *pg;
	unsigned gen;	  /* bumped by every reset: server-side statements are gone */
	unsigned next_id; /* names of prepared statements */
	int64_t changes;  /* rows of the last statement */
	bool read_only;	  /* a reader: its session's transactions are read-only */
	bool in_txn;	  /* BEGIN succeeded, no COMMIT or ROLLBACK since */
	bool stale;	  /* broke or reached a read-only server: reset before next use */
};

struct pg_q {
	struct inv_q q; /* first: query.c's view */
	char *sql;	/* the text with $n for :name */
	int n;		/* parameters */
	char **names;	/* names[i] is $i+1's ":name" */
	char **vals;	/* bound values (copies), NULL for NULL */
	unsigned *types, *prepared;
	bool persistent;
	unsigned gen; /* connection generation it was prepared in (0: not yet) */
	char name[24];
	PGresult *res;
	int row;
};

static struct pg_conn *pc_of(struct inv_conn *c)
{
	return c->h;
}

static struct pg_q *pq_of(struct inv_q *q)
{
	return (struct pg_q *)q;
}

/* The server's message without its trailing newline. */
static enum inv_status pgfail(struct inv_err *err, enum inv_status st, const char *what,
			      const char *msg)
{
	int len = (int)strcspn(msg ? msg : "", "\n");
	return inv_fail(err, st, NULL, "%s: %.*s", what, len, msg ? msg : "");
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs (e.g. "relation exists, skipping") are not errors */
}

/* A broken connection (server restart, failover) is reset while idle;
 * with a multi-host setting libpq finds the new primary. */
#define READ_ONLY_SQL "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"

/* Whether r (NULL: no result at all) says the connection is of no more
 * use: broken, its server shutting down, or, for the writer, a server that
 * does not take writes (a standby); it is then marked for a reset. (A
 * reader's own session is read-only: 25006 there says nothing.) */
static bool lost(struct pg_conn *pc, const PGresult *r)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	bool gone = PQstatus(pc->pg) != CONNECTION_OK || !r ||
		    (st && (strncmp(st, "08", 2) == 0 || strncmp(st, "57P0", 4) == 0 ||
			    (!pc->read_only && strcmp(st, "25006") == 0)));
	pc->stale |= gone;
	return gone;
}

/* Resets the connection if it broke or was marked; only outside a
 * transaction. A reset session has no prepared statements (gen) and
 * needs a reader's setting again. */
static void revive(struct pg_conn *pc)
{
	if (pc->in_txn || (PQstatus(pc->pg) == CONNECTION_OK && !pc->stale))
		return;
	PQreset(pc->pg);
	pc->gen++;
	pc->stale = PQstatus(pc->pg) != CONNECTION_OK;
	if (pc->read_only && !pc->stale) /* a new session */
		PQclear(PQexec(pc->pg, READ_ONLY_SQL));
}

/* A new connection to database (db_pg_listen.c's too). */
PGconn *inv_pg_connect(const char *database)
{
	/* A server that does not answer must not hang a start or a reset for
	 * the minutes of TCP's own timeout: 10 s unless the setting says
	 * otherwise (later keywords override, and the setting comes last).
	 * Nor may a server that vanished without closing the connection (its
	 * machine powered off, a partition) hang a statement: data it does not
	 * acknowledge for 10 s (tcp_user_timeout) or an idle wait whose
	 * keepalive probes go unanswered (5 s, then 3 probes 2 s apart) breaks
	 * the connection, which is then reset like any broken one. A live
	 * server's kernel answers the probes, so a long statement or a commit
	 * waiting for a standby is not cut short. */
	static const char *const keys[] = {"connect_timeout",
					   "keepalives_idle",
					   "keepalives_interval",
					   "keepalives_count",
					   "tcp_user_timeout",
					   "dbname",
					   NULL};
	const char *const vals[] = {"10", "5", "2", "3", "10000", database, NULL};
	return PQconnectdbParams(keys, vals, 1);
}

static enum inv_status pg_open(struct inv_conn *c, const char *database, bool writer,
			       struct inv_err *err)
{
	(void)writer;
	struct pg_conn *pc = calloc(1, sizeof *pc);
	if (!pc)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	c->h = pc;
	pc->gen = 1;
	pc->pg = inv_pg_connect(database);
	if (!pc->pg || PQstatus(pc->pg) != CONNECTION_OK) {
		char name[256];
		inv_pg_display(database, name, sizeof name);
		return pgfail(err, INV_IO, name, pc->pg ? PQerrorMessage(pc->pg) : "out of memory");
	}
	PQsetNoticeProcessor(pc->pg, quiet, NULL);
	return INV_OK;
}

static enum inv_status pg_exec(struct inv_conn *c, const char *sql, const char *what,
			       struct inv_err *err)
{
	struct pg_conn *pc = pc_of(c);
	PGresult *r = PQexec(pc->pg, sql);
	ExecStatusType st = PQresultStatus(r);
	enum inv_status s = INV_OK;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		(void)lost(pc, r);
		s = pgfail(err, INV_IO, what, r ? PQresultErrorMessage(r) : PQerrorMessage(pc->pg));
	}
	PQclear(r);
	return s;
}

/* Readers never write: their transactions are read-only. */
static enum inv_status pg_configure(struct inv_conn *c, bool writer, struct inv_err *err)
{
	if (writer)
		return INV_OK;
	pc_of(c)->read_only = true;
	return pg_exec(c, READ_ONLY_SQL, "configure reader", err);
}

static void pg_close(struct inv_conn *c)
{
	struct pg_conn *pc = c->h;
	if (!pc)
		return;
	PQfinish(pc->pg);
	free(pc);
}

/* ---------------------------------------------------------- statements */

/* Index of name in q's parameters, or -1. */
static int param_index(struct pg_q *q, const char *name, size_t len)
{
	for (int i = 0; i < q->n; i++)
		if (strlen(q->names[i]) == len && strncmp(q->names[i], name, len) == 0)
			return i;
	return -1;
}

/* Appends parameter name (":name", len bytes) to q: its index. */
static int add_param(struct pg_q *q, const char *name, size_t len)
{
	int i = param_index(q, name, len);
	if (i >= 0)
		return i;
	char **names = realloc(q->names, (size_t)(q->n + 1) * sizeof *names);
	if (!names)
		return -1;
	q->names = names;
	q->names[q->n] = strndup(name, len);
	return q->names[q->n] ? q->n++ : -1;
}

static bool is_name_char(char ch, bool first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
	       (!first && ch >= '0' && ch <= '9');
}

/* q->sql from sql with every :name replaced by $n (one n per name).
 * Literals ('...') and casts (::type) are copied as they are. 0 ok. */
static int translate(struct pg_q *q, const char *sql)
{
	size_t cap = strlen(sql) * 2 + 16, n = 0;
	char *out = malloc(cap);
	if (!out)
		return -1;
	for (const char *p = sql; *p;) {
		if (*p == '\'') {
			const char *e = strchr(p + 1, '\'');
			size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
			memcpy(out + n, p, len);
			n += len;
			p += len;
		} else if (p[0] == ':' && p[1] == ':') {
			memcpy(out + n, p, 2);
			n += 2;
			p += 2;
		} else if (p[0] == ':' && is_name_char(p[1], true)) {
			size_t len = 1;
			while (is_name_char(p[len], false))
				len++;
			int i = add_param(q, p, len);
			if (i < 0) {
				free(out);
				return -1;
			}
			n += (size_t)snprintf(out + n, cap - n, "$%d", i + 1);
			p += len;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	q->sql = out;
	return 0;
}

static void pg_q_free(struct inv_q *iq)
{
	struct pg_q *q = pq_of(iq);
	PQclear(q->res);
	for (int i = 0; i < q->n; i++) {
		free(q->names[i]);
		free(q->vals ? q->vals[i] : NULL);
	}
	free(q->names);
	free(q->vals);
	free(q->types);
	free(q->prepared);
	free(q->sql);
	free(q);
}

static struct inv_q *pg_prepare(struct inv_conn *c, const char *sql, bool persistent,
				struct inv_err *err)
{
	struct pg_q *q = calloc(1, sizeof *q);
	if (!q || translate(q, sql) != 0) {
		if (q)
			pg_q_free(&q->q);
		inv_fail(err, INV_IO, NULL, "out of memory");
		return NULL;
	}
	q->q.c = c;
	q->persistent = persistent;
	size_t n = q->n ? (size_t)q->n : 1;
	q->vals = calloc(n, sizeof *q->vals);
	q->types = calloc(n, sizeof *q->types);
	q->prepared = calloc(n, sizeof *q->prepared);
	if (!q->vals || !q->types || !q->prepared) {
		pg_q_free(&q->q);
		inv_fail(err, INV_IO, NULL, "out of memory");
		return NULL;
	}
	return &q->q;
}

static void pg_q_reset(struct inv_q *iq)
{
	struct pg_q *q = pq_of(iq);
	PQclear(q->res);
	q->res = NULL;
	for (int i = 0; i < q->n; i++) {
		free(q->vals[i]);
		q->vals[i] = NULL;
	}
}

static bool bind(struct inv_q *iq, const char *name, const char *v, unsigned type)
{
	struct pg_q *q = pq_of(iq);
	int i = param_index(q, name, strlen(name));
	if (i < 0)
		return false;
	free(q->vals[i]);
	q->vals[i] = v ? strdup(v) : NULL;
	q->types[i] = type;
	return true;
}

static bool pg_bind_text(struct inv_q *q, const char *name, const char *s)
{
	return bind(q, name, s, TEXT_OID);
}

static bool pg_bind_null_int(struct inv_q *q, const char *name)
{
	return bind(q, name, NULL, INT8_OID);
}

static bool pg_bind_int(struct inv_q *q, const char *name, int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%lld", (long long)v);
	return bind(q, name, buf, INT8_OID);
}

/* Prepares q on the server if it is not, or not with these types. */
static enum inv_status ensure_prepared(struct pg_q *q, const char *what, struct inv_err *err)
{
	struct pg_conn *pc = pc_of(q->q.c);
	size_t sz = (size_t)q->n * sizeof *q->types;
	if (q->gen == pc->gen && (q->n == 0 || memcmp(q->types, q->prepared, sz) == 0))
		return INV_OK;
	snprintf(q->name, sizeof q->name, "inv%u", ++pc->next_id);
	PGresult *r = PQprepare(pc->pg, q->name, q->sql, q->n, (const Oid *)q->types);
	enum inv_status s = INV_OK;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		(void)lost(pc, r);
		s = pgfail(err, INV_IO, what, r ? PQresultErrorMessage(r) : PQerrorMessage(pc->pg));
	}
	PQclear(r);
	if (s == INV_OK) {
		if (q->n)
			memcpy(q->prepared, q->types, sz);
		q->gen = pc->gen;
	}
	return s;
}

/* Sends q once; its rows in q->res. */
static enum inv_status send_once(struct pg_q *q, const char *what, struct inv_err *err)
{
	struct pg_conn *pc = pc_of(q->q.c);
	const char *const *vals = (const char *const *)q->vals;
	if (q->persistent) {
		enum inv_status s = ensure_prepared(q, what, err);
		if (s != INV_OK)
			return s;
		q->res = PQexecPrepared(pc->pg, q->name, q->n, vals, NULL, NULL, 0);
	} else {
		q->res =
		    PQexecParams(pc->pg, q->sql, q->n, (const Oid *)q->types, vals, NULL, NULL, 0);
	}
	ExecStatusType st = PQresultStatus(q->res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		/* rows changed, as sqlite3_changes(): a SELECT leaves it */
		if (strncmp(PQcmdStatus(q->res), "SELECT", 6) != 0)
			pc->changes = strtoll(PQcmdTuples(q->res), NULL, 10);
		q->row = -1;
		return INV_OK;
	}
	const char *state = PQresultErrorField(q->res, PG_DIAG_SQLSTATE);
	/* class 23: integrity constraint violation (SQLite's CONSTRAINT) */
	enum inv_status s = state && strncmp(state, "23", 2) == 0 ? INV_DUPLICATE : INV_IO;
	(void)lost(pc, q->res);
	s = pgfail(err, s, what, q->res ? PQresultErrorMessage(q->res) : PQerrorMessage(pc->pg));
	PQclear(q->res);
	q->res = NULL;
	return s;
}

static enum inv_status run(struct pg_q *q, const char *what, struct inv_err *err)
{
	struct pg_conn *pc = pc_of(q->q.c);
	if (pc->in_txn && pc->stale)
		return inv_fail(err, INV_IO, NULL,
				"%s: the connection to the database was lost in this transaction",
				what);
	revive(pc);
	enum inv_status s = send_once(q, what, err);
	/* a read outside a transaction is simply read again */
	if (s != INV_OK && pc->stale && pc->read_only && !pc->in_txn) {
		revive(pc);
		s = send_once(q, what, err);
	}
	return s;
}

static enum inv_status pg_step(struct inv_q *iq, bool *row, const char *what, struct inv_err *err)
{
	struct pg_q *q = pq_of(iq);
	*row = false;
	if (!q->res) {
		enum inv_status s = run(q, what, err);
		if (s != INV_OK)
			return s;
	}
	if (q->row < PQntuples(q->res))
		q->row++;
	*row = q->row < PQntuples(q->res);
	return INV_OK;
}

static bool has_value(struct pg_q *q, int col)
{
	return q->res && q->row >= 0 && q->row < PQntuples(q->res) && col < PQnfields(q->res) &&
	       !PQgetisnull(q->res, q->row, col);
}

static int64_t pg_col_int(struct inv_q *iq, int col)
{
	struct pg_q *q = pq_of(iq);
	return has_value(q, col) ? strtoll(PQgetvalue(q->res, q->row, col), NULL, 10) : 0;
}

static const char *pg_col_text(struct inv_q *iq, int col)
{
	struct pg_q *q = pq_of(iq);
	return has_value(q, col) ? PQgetvalue(q->res, q->row, col) : NULL;
}

static bool pg_col_null(struct inv_q *iq, int col)
{
	return !has_value(pq_of(iq), col);
}

static int64_t pg_changes(struct inv_conn *c)
{
	return pc_of(c)->changes;
}

/* BEGIN, once more on a reset connection if the first met a break:
 * nothing was written yet. */
static enum inv_status begin(struct pg_conn *pc, struct inv_err *err)
{
	for (int attempt = 0;; attempt++) {
		revive(pc);
		PGresult *r = PQexec(pc->pg, "BEGIN");
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK, gone = !ok && lost(pc, r);
		enum inv_status s = INV_OK;
		if (!ok)
			s = pgfail(err, INV_IO, "BEGIN",
				   r ? PQresultErrorMessage(r) : PQerrorMessage(pc->pg));
		PQclear(r);
		pc->in_txn = ok;
		if (ok || !gone || attempt > 0)
			return s;
	}
}

/* The server ends the transaction of a connection that broke. */
static enum inv_status rollback(struct pg_conn *pc, struct inv_err *err)
{
	pc->in_txn = false;
	if (PQstatus(pc->pg) != CONNECTION_OK)
		return INV_OK;
	PGresult *r = PQexec(pc->pg, "ROLLBACK");
	enum inv_status s = INV_OK;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		(void)lost(pc, r);
		s = pgfail(err, INV_IO, "ROLLBACK",
			   r ? PQresultErrorMessage(r) : PQerrorMessage(pc->pg));
	}
	PQclear(r);
	return s;
}

static enum inv_status pg_txn(struct inv_conn *c, enum inv_txn which, struct inv_err *err)
{
	static const char *const sql[INV_TXN__COUNT] = {
	    [INV_TXN_BEGIN] = "BEGIN",
	    [INV_TXN_COMMIT] = "COMMIT",
	    [INV_TXN_ROLLBACK] = "ROLLBACK",
	    [INV_TXN_SAVEPOINT] = "SAVEPOINT req",
	    [INV_TXN_ROLLBACK_TO] = "ROLLBACK TO SAVEPOINT req",
	    [INV_TXN_RELEASE] = "RELEASE SAVEPOINT req",
	};
	struct pg_conn *pc = pc_of(c);
	if (which == INV_TXN_BEGIN)
		return begin(pc, err);
	if (which == INV_TXN_ROLLBACK)
		return rollback(pc, err);
	bool commit = which == INV_TXN_COMMIT;
	pc->in_txn &= !commit; /* a COMMIT ends the transaction, whatever its outcome */
	if (pc->stale)	       /* lost earlier in this transaction: nothing of it was committed */
		return inv_fail(err, INV_IO, NULL, "%s: the connection to the database was lost",
				sql[which]);
	PGresult *r = PQexec(pc->pg, sql[which]);
	enum inv_status s = INV_OK;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		bool gone = lost(pc, r);
		s = pgfail(err, INV_IO,
			   commit && gone ? "COMMIT (outcome unknown: the connection was lost)"
					  : sql[which],
			   r ? PQresultErrorMessage(r) : PQerrorMessage(pc->pg));
	}
	/* COMMIT of a transaction that failed answers ROLLBACK: not a commit */
	else if (commit && strcmp(PQcmdStatus(r), "COMMIT") != 0)
		s = inv_fail(err, INV_IO, NULL, "commit: the transaction was rolled back");
	PQclear(r);
	return s;
}

/* -------------------------------------------------------------- schema */

/* One integer from sql, or -1 (err filled). */
static int64_t scalar(struct inv_conn *c, const char *sql, const char *what, struct inv_err *err)
{
	PGresult *r = PQexec(pc_of(c)->pg, sql);
	int64_t v = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		pgfail(err, INV_IO, what, PQresultErrorMessage(r));
	PQclear(r);
	return v;
}

/* The version is the one row of provisiond_schema; no table: 0. */
static enum inv_status pg_version_get(struct inv_conn *c, int *v, struct inv_err *err)
{
	int64_t has = scalar(c,
			     "SELECT count(*) FROM pg_tables WHERE schemaname ="
			     " current_schema() AND tablename = 'provisiond_schema'",
			     "read schema version", err);
	*v = has > 0 ? (int)scalar(c, "SELECT coalesce(max(version), 0) FROM provisiond_schema",
				   "read schema version", err)
		     : (int)has;
	return *v < 0 ? INV_IO : INV_OK;
}

static enum inv_status pg_version_set(struct inv_conn *c, int v, struct inv_err *err)
{
	char sql[160];
	snprintf(sql, sizeof sql,
		 "CREATE TABLE IF NOT EXISTS provisiond_schema (version BIGINT NOT NULL);"
		 " DELETE FROM provisiond_schema; INSERT INTO provisiond_schema VALUES (%d)",
		 v);
	return pg_exec(c, sql, "set schema version", err);
}

static enum inv_status pg_has_tables(struct inv_conn *c, bool *any, struct inv_err *err)
{
	int64_t n = scalar(c, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
			   "list tables", err);
	*any = n != 0;
	return n < 0 ? INV_IO : INV_OK;
}

static enum inv_status pg_migrate_lock(struct inv_conn *c, bool lock, struct inv_err *err)
{
	return pg_exec(c,
		       lock ? "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")"
			    : "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")",
		       "migration lock", err);
}

const struct inv_backend inv_backend_pg = {
    .name = "PostgreSQL",
    .takes = inv_pg_takes,
    .display = inv_pg_display,
    .open = pg_open,
    .announce_sql = "NOTIFY " INV_PG_CHANNEL,
    .turn_sql = "SELECT pg_advisory_xact_lock(7480012)",
    .listen_open = inv_pg_listen_open,
    .listen_wait = inv_pg_listen_wait,
    .listen_close = inv_pg_listen_close,
    .configure = pg_configure,
    .close = pg_close,
    .sql_text = inv_pg_sql_text,
    .prepare = pg_prepare,
    .q_free = pg_q_free,
    .q_reset = pg_q_reset,
    .bind_text = pg_bind_text,
    .bind_int = pg_bind_int,
    .bind_null_int = pg_bind_null_int,
    .step = pg_step,
    .col_int = pg_col_int,
    .col_text = pg_col_text,
    .col_null = pg_col_null,
    .changes = pg_changes,
    .exec = pg_exec,
    .txn = pg_txn,
    .migrations = inv_pg_migrations,
    .version_get = pg_version_get,
    .version_set = pg_version_set,
    .has_tables = pg_has_tables,
    .migrate_lock = pg_migrate_lock,
};
#endif
