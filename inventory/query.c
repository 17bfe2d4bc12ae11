/* query.c - the statement calls of internal.h, dispatched to the backend
 * that opened the connection (backend.h), and the choice of backend by the
 * database setting. */
#include "inventory/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The backends, asked in order which takes the database setting; SQLite
 * takes any path and so comes last. */
static const struct inv_backend *const backends[] = {
    &inv_backend_pg,
    &inv_backend_sqlite,
};

static const struct inv_backend *backend_for(const char *database)
{
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (backends[i]->takes(database))
			return backends[i];
	return &inv_backend_sqlite;
}

bool inv_database_is_file(const char *database)
{
	return backend_for(database) == &inv_backend_sqlite;
}

void inv_database_display(const char *database, char *out, size_t len)
{
	const struct inv_backend *be = backend_for(database);
	if (be->display)
		be->display(database, out, len);
	else
		snprintf(out, len, "%s", database);
}

enum inv_status inv_conn_open(struct inv_conn *c, const char *database, bool writer,
			      struct inv_err *err)
{
	memset(c->stmt, 0, sizeof c->stmt);
	c->h = NULL;
	c->be = backend_for(database);
	return c->be->open(c, database, writer, err);
}

enum inv_status inv_conn_check(struct inv_conn *c, struct inv_err *err)
{
	return c->be->check ? c->be->check(c, err) : INV_OK;
}

enum inv_status inv_conn_configure(struct inv_conn *c, bool writer, struct inv_err *err)
{
	return c->be->configure(c, writer, err);
}

void inv_conn_close(struct inv_conn *c)
{
	if (!c || !c->be)
		return;
	for (int i = 0; i < SQL__COUNT; i++) {
		if (c->stmt[i])
			c->be->q_free(c->stmt[i]);
		c->stmt[i] = NULL;
	}
	c->be->close(c);
	c->h = NULL;
}

/* A bind to a name the statement lacks is a bug (the text and its caller
 * disagree). It is remembered here and reported by the thread's next
 * inv_step(), rather than letting the parameter silently stay NULL. */
static _Thread_local char unbound[48];	   /* the name ("" when none) */
static _Thread_local char unbound_in[200]; /* the start of its statement */

static void note_unbound(struct inv_q *q, const char *name)
{
	snprintf(unbound, sizeof unbound, "%s", name);
	snprintf(unbound_in, sizeof unbound_in, "%s", q->text ? q->text : "?");
}

struct inv_q *inv_stmt(struct inv_conn *c, enum inv_sql id, struct inv_err *err)
{
	const char *sql = (unsigned)id < SQL__COUNT ? c->be->sql_text(id) : NULL;
	if (!sql) {
		inv_fail(err, INV_IO, NULL, "no statement %d in the %s table", (int)id,
			 c->be->name);
		return NULL;
	}
	struct inv_q *q = c->stmt[id];
	if (q) {
		c->be->q_reset(q);
		return q;
	}
	q = c->be->prepare(c, sql, true, err);
	if (q)
		q->text = sql;
	c->stmt[id] = q;
	return q;
}

void inv_stmt_done(struct inv_q *q)
{
	if (q)
		q->c->be->q_reset(q);
}

void inv_bind_text(struct inv_q *q, const char *name, const char *s)
{
	if (!q->c->be->bind_text(q, name, s))
		note_unbound(q, name);
}

void inv_bind_int(struct inv_q *q, const char *name, int64_t v)
{
	if (!q->c->be->bind_int(q, name, v))
		note_unbound(q, name);
}

void inv_bind_null_int(struct inv_q *q, const char *name)
{
	if (!q->c->be->bind_null_int(q, name))
		note_unbound(q, name);
}

enum inv_status inv_step(struct inv_q *q, bool *row, const char *what, struct inv_err *err)
{
	*row = false;
	if (unbound[0]) {
		inv_fail(err, INV_IO, NULL, "%s: no parameter %s in: %s", what, unbound,
			 unbound_in);
		unbound[0] = 0;
		return INV_IO;
	}
	return q->c->be->step(q, row, what, err);
}

enum inv_status inv_exec_done(struct inv_q *q, const char *what, struct inv_err *err)
{
	bool row;
	enum inv_status s = inv_step(q, &row, what, err);
	inv_stmt_done(q);
	return s;
}

int64_t inv_changes(struct inv_conn *c)
{
	return c->be->changes(c);
}

int64_t inv_col_int64(struct inv_q *q, int col)
{
	return q->c->be->col_int(q, col);
}

int inv_col_int(struct inv_q *q, int col)
{
	return (int)q->c->be->col_int(q, col);
}

const char *inv_col_text(struct inv_q *q, int col)
{
	return q->c->be->col_text(q, col);
}

bool inv_col_null(struct inv_q *q, int col)
{
	return q->c->be->col_null(q, col);
}

void inv_col_copy(struct inv_q *q, int col, char *dst, size_t len)
{
	const char *s = inv_col_text(q, col);
	snprintf(dst, len, "%s", s ? s : "");
}

char *inv_col_dup(struct inv_q *q, int col)
{
	const char *s = inv_col_text(q, col);
	return s ? strdup(s) : NULL;
}

struct inv_q *inv_prep(struct inv_conn *c, const char *sql, struct inv_err *err)
{
	struct inv_q *q = c->be->prepare(c, sql, false, err);
	if (q)
		q->text = sql;
	return q;
}

void inv_q_free(struct inv_q *q)
{
	if (q)
		q->c->be->q_free(q);
}

enum inv_status inv_exec_sql(struct inv_conn *c, const char *sql, const char *what,
			     struct inv_err *err)
{
	return c->be->exec(c, sql, what, err);
}

enum inv_status inv_txn(struct inv_conn *c, enum inv_txn which, struct inv_err *err)
{
	return c->be->txn(c, which, err);
}
