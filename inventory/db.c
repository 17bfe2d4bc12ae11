/* db.c - opening the database, per-thread readers, the group-commit writer. */
#include "inventory/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#define WRITER_BATCH_MAX 128
#define BUSY_TIMEOUT_MS 10000

struct wjob {
	inv_write_fn fn;
	void *arg;
	struct inv_err *err;
	enum inv_status st;
	bool done;
	/* signalled (under inv->mu) when this job's group committed: each
	 * commit wakes only its own requests, not every thread waiting on
	 * the writer */
	pthread_cond_t cv;
	struct wjob *next;
};

/* The writer's transaction statements, prepared once on its connection
 * rather than parsed for every group and every request in it. */
enum txn_stmt {
	TXN_BEGIN,
	TXN_COMMIT,
	TXN_ROLLBACK,
	TXN_SAVEPOINT,
	TXN_ROLLBACK_TO,
	TXN_RELEASE,
	TXN__COUNT
};
static const char *const txn_sql[TXN__COUNT] = {
    [TXN_BEGIN] = "BEGIN IMMEDIATE",	   [TXN_COMMIT] = "COMMIT",
    [TXN_ROLLBACK] = "ROLLBACK",	   [TXN_SAVEPOINT] = "SAVEPOINT req",
    [TXN_ROLLBACK_TO] = "ROLLBACK TO req", [TXN_RELEASE] = "RELEASE req",
};

struct reader {
	struct inv_conn conn;
	struct inv *inv;
	struct reader *next;
};

struct inv {
	char *path;
	struct inv_key key; /* wiped at inv_close */
	struct inv_conn w;  /* the writer's connection */
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t queue_cv, change_cv;
	struct wjob *head, *tail;
	bool stop;
	uint64_t changes;
	pthread_key_t rkey;
	struct reader *readers;	       /* every reader connection, closed at inv_close */
	struct util_hist commit_hist;  /* each group: BEGIN to durable COMMIT */
	uint64_t writes;	       /* write requests run (inv_write calls); under mu */
	sqlite3_stmt *txn[TXN__COUNT]; /* the writer's BEGIN, SAVEPOINT, ...: prepared once */
	/* the last write group failed on storage (disk full, I/O error) and
	 * none has succeeded since: why, and since when (0: writable); under mu */
	char storage_error[sizeof((struct inv_err *)0)->message];
	int64_t storage_failed_at;
};

/* Commit latency bounds: an fsync on a healthy disk is milliseconds; a
 * second means the disk or the writer is in trouble. */
static const double commit_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				   0.1,	  0.25,	  0.5,	 1,    2.5,   10};

static const char *const status_names[] = {
    [INV_OK] = "ok",
    [INV_NOT_FOUND] = "not_found",
    [INV_CONFLICT] = "conflict",
    [INV_DUPLICATE] = "duplicate",
    [INV_INVALID] = "invalid",
    [INV_CAPACITY] = "insufficient_capacity",
    [INV_QUOTA] = "quota_exceeded",
    [INV_IO] = "storage_error",
    [INV_CORRUPT] = "corrupt_database",
    [INV_SCHEMA_NEWER] = "schema_too_new",
};
_Static_assert(sizeof status_names / sizeof status_names[0] == INV_SCHEMA_NEWER + 1,
	       "status_names must cover enum inv_status");

const char *inv_status_name(enum inv_status s)
{
	if ((unsigned)s < sizeof status_names / sizeof status_names[0])
		return status_names[s];
	return "unknown";
}

int64_t inv_now_ms(void)
{
	return util_wall_ms();
}

void inv_uuid(char out[INV_ID_LEN])
{
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

int inv_clamp_limit(int limit)
{
	if (limit <= 0)
		return INV_LIMIT_DEFAULT;
	return limit > INV_LIMIT_MAX ? INV_LIMIT_MAX : limit;
}

enum inv_status inv_fail(struct inv_err *err, enum inv_status st, const char *field,
			 const char *fmt, ...)
{
	if (!err)
		return st;
	err->status = st;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return st;
}

enum inv_status inv_sqlfail(struct inv_err *err, sqlite3 *db, const char *what)
{
	int code = sqlite3_errcode(db);
	enum inv_status st = INV_IO;
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		st = INV_CORRUPT;
	return inv_fail(err, st, NULL, "%s: %s", what, sqlite3_errmsg(db));
}

sqlite3_stmt *inv_prep(sqlite3 *db, const char *sql, struct inv_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		inv_sqlfail(err, db, "prepare");
		return NULL;
	}
	return st;
}

void inv_col_copy(sqlite3_stmt *st, int col, char *dst, size_t len)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	snprintf(dst, len, "%s", s ? (const char *)s : "");
}

char *inv_col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return s ? strdup((const char *)s) : NULL;
}

/* ------------------------------------------------------------ opening */

static int set_pragmas(sqlite3 *db, bool writer, struct inv_err *err)
{
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
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		inv_sqlfail(err, db, "configure database");
		return -1;
	}
	return 0;
}

static int check_integrity(sqlite3 *db, struct inv_err *err)
{
	sqlite3_stmt *st = inv_prep(db, "PRAGMA quick_check(1)", err);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	int ok = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	if (!ok) {
		if (rc == SQLITE_ROW)
			inv_fail(err, INV_CORRUPT, NULL, "database failed its integrity check: %s",
				 (const char *)sqlite3_column_text(st, 0));
		else
			inv_sqlfail(err, db, "integrity check");
	}
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

static void *writer_main(void *arg);

/* A reading thread exits: close its connection and forget it. */
static void reader_gone(void *p)
{
	struct reader *r = p;
	struct inv *inv = r->inv;
	pthread_mutex_lock(&inv->mu);
	for (struct reader **pp = &inv->readers; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	pthread_mutex_unlock(&inv->mu);
	inv_conn_close(&r->conn);
	free(r);
}

static enum inv_status open_writer(struct inv *inv, int target, struct inv_err *err)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
	    inv->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	inv->w.db = db;
	inv->w.key = &inv->key;
	if (rc != SQLITE_OK)
		return inv_fail(err, INV_IO, NULL, "cannot open database %s: %s", inv->path,
				db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	/* The first statement reads the header: a non-database file fails here
	 * with NOTADB before anything is written. */
	/* Refuse foreign and newer files before anything (journal mode
	 * included) is written to them. */
	if (check_integrity(db, err) != 0 || inv_schema_check(db, err) != 0 ||
	    set_pragmas(db, true, err) != 0 || inv_migrate_to(db, target, &inv->key, err) != 0) {
		char msg[sizeof err->message];
		snprintf(msg, sizeof msg, "%s", err->message);
		return inv_fail(err, err->status, NULL, "database %s: %s", inv->path, msg);
	}
	return INV_OK;
}

enum inv_status inv_open_at(const char *path, int target, const struct inv_key *key,
			    struct inv **out, struct inv_err *err)
{
	struct inv_err local = {0};
	if (!err)
		err = &local;
	*out = NULL;
	if (!key)
		return inv_fail(err, INV_INVALID, "key_file", "database %s: no key given", path);
	struct inv *inv = calloc(1, sizeof *inv);
	if (!inv)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	inv->key = *key;
	inv->path = strdup(path);
	inv->commit_hist.le = commit_le;
	inv->commit_hist.nle = ARRAY_SIZE(commit_le);
	pthread_mutex_init(&inv->mu, NULL);
	pthread_cond_init(&inv->queue_cv, NULL);
	util_cond_init(&inv->change_cv); /* inv_wait_change uses util's clock */
	pthread_key_create(&inv->rkey, reader_gone);
	enum inv_status st = open_writer(inv, target, err);
	if (st == INV_OK && pthread_create(&inv->writer, NULL, writer_main, inv) != 0)
		st = inv_fail(err, INV_IO, NULL, "cannot start the writer thread");
	if (st != INV_OK) {
		inv_conn_close(&inv->w);
		pthread_key_delete(inv->rkey);
		inv_key_clear(&inv->key);
		free(inv->path);
		free(inv);
		return st;
	}
	*out = inv;
	return INV_OK;
}

enum inv_status inv_open(const char *path, const struct inv_key *key, struct inv **out,
			 struct inv_err *err)
{
	return inv_open_at(path, 0, key, out, err);
}

void inv_close(struct inv *inv)
{
	if (!inv)
		return;
	pthread_mutex_lock(&inv->mu);
	inv->stop = true;
	pthread_cond_broadcast(&inv->queue_cv);
	pthread_mutex_unlock(&inv->mu);
	pthread_join(inv->writer, NULL);
	for (int i = 0; i < TXN__COUNT; i++)
		sqlite3_finalize(inv->txn[i]);
	inv_conn_close(&inv->w);
	for (struct reader *r = inv->readers, *n; r; r = n) {
		n = r->next;
		inv_conn_close(&r->conn);
		free(r);
	}
	pthread_key_delete(inv->rkey);
	pthread_cond_destroy(&inv->queue_cv);
	pthread_cond_destroy(&inv->change_cv);
	pthread_mutex_destroy(&inv->mu);
	inv_key_clear(&inv->key);
	free(inv->path);
	free(inv);
}

struct inv_conn *inv_reader(struct inv *inv, struct inv_err *err)
{
	struct reader *r = pthread_getspecific(inv->rkey);
	if (r)
		return &r->conn;
	r = calloc(1, sizeof *r);
	if (!r) {
		inv_fail(err, INV_IO, NULL, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(inv->path, &r->conn.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    set_pragmas(r->conn.db, false, err) != 0) {
		inv_fail(err, INV_IO, NULL, "open reader: %s", sqlite3_errmsg(r->conn.db));
		inv_conn_close(&r->conn);
		free(r);
		return NULL;
	}
	r->inv = inv;
	r->conn.key = &inv->key;
	pthread_mutex_lock(&inv->mu);
	r->next = inv->readers;
	inv->readers = r;
	pthread_mutex_unlock(&inv->mu);
	pthread_setspecific(inv->rkey, r);
	return &r->conn;
}

/* ------------------------------------------------------------- writer */

/* Remembers whether the group hit a storage error (every job's own error
 * says which) or committed. */
static void note_storage(struct inv *inv, struct wjob **batch, int n)
{
	const struct inv_err *bad = NULL;
	bool ok = false;
	for (int i = 0; i < n; i++) {
		if (batch[i]->st == INV_IO && !bad)
			bad = batch[i]->err;
		ok |= batch[i]->st == INV_OK;
	}
	pthread_mutex_lock(&inv->mu);
	if (bad) {
		snprintf(inv->storage_error, sizeof inv->storage_error, "%s", bad->message);
		if (!inv->storage_failed_at)
			inv->storage_failed_at = inv_now_ms();
	} else if (ok) {
		inv->storage_failed_at = 0;
		inv->storage_error[0] = '\0';
	}
	pthread_mutex_unlock(&inv->mu);
}

static enum inv_status probe_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	(void)arg;
	sqlite3_stmt *st = inv_stmt(c, SQL_SETTING_UPSERT, err);
	if (!st)
		return INV_IO;
	char now[32];
	snprintf(now, sizeof now, "%lld", (long long)inv_now_ms());
	inv_bind_text(st, ":key", "storage_probe");
	inv_bind_text(st, ":value", now);
	inv_bind_int(st, ":now", inv_now_ms());
	return inv_exec_done(st, "storage probe", err);
}

void inv_storage_probe(struct inv *inv)
{
	pthread_mutex_lock(&inv->mu);
	bool failed = inv->storage_failed_at != 0;
	pthread_mutex_unlock(&inv->mu);
	struct inv_err e = {0};
	if (failed) /* the outcome lands in note_storage */
		(void)inv_write(inv, probe_fn, NULL, &e);
}

bool inv_storage_ok(struct inv *inv, char *why, size_t len, int64_t *since)
{
	pthread_mutex_lock(&inv->mu);
	bool failed = inv->storage_failed_at != 0;
	if (why)
		snprintf(why, len, "%s", inv->storage_error);
	if (since)
		*since = inv->storage_failed_at;
	pthread_mutex_unlock(&inv->mu);
	return !failed;
}

/* Runs one of the writer's transaction statements: SQLITE_OK or the
 * error (the connection's message says which). */
static int txn(struct inv *inv, enum txn_stmt which)
{
	sqlite3_stmt **st = &inv->txn[which];
	if (!*st && sqlite3_prepare_v2(inv->w.db, txn_sql[which], -1, st, NULL) != SQLITE_OK)
		return sqlite3_errcode(inv->w.db);
	int rc = sqlite3_step(*st);
	sqlite3_reset(*st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void run_batch(struct inv *inv, struct wjob **batch, int n)
{
	sqlite3 *db = inv->w.db;
	int64_t t0 = util_now_us();
	if (txn(inv, TXN_BEGIN) != SQLITE_OK) {
		for (int i = 0; i < n; i++)
			batch[i]->st = inv_sqlfail(batch[i]->err, db, "begin transaction");
		return;
	}
	for (int i = 0; i < n; i++) {
		struct wjob *j = batch[i];
		txn(inv, TXN_SAVEPOINT);
		j->st = j->fn(&inv->w, j->arg, j->err);
		if (j->st != INV_OK)
			txn(inv, TXN_ROLLBACK_TO);
		txn(inv, TXN_RELEASE);
	}
	if (txn(inv, TXN_COMMIT) != SQLITE_OK) {
		for (int i = 0; i < n; i++)
			if (batch[i]->st == INV_OK)
				batch[i]->st = inv_sqlfail(batch[i]->err, db, "commit");
		txn(inv, TXN_ROLLBACK);
	}
	util_hist_observe_us(&inv->commit_hist, util_now_us() - t0);
	note_storage(inv, batch, n);
}

void inv_metrics(struct inv *inv, void (*emit)(void *ctx, const char *line), void *ctx)
{
	emit(ctx, "# HELP provisiond_inventory_commit_seconds Time from BEGIN to durable COMMIT "
		  "of each group of inventory writes.");
	emit(ctx, "# TYPE provisiond_inventory_commit_seconds histogram");
	util_hist_render(&inv->commit_hist, "provisiond_inventory_commit_seconds", NULL, emit, ctx);
	pthread_mutex_lock(&inv->mu);
	uint64_t writes = inv->writes;
	pthread_mutex_unlock(&inv->mu);
	char line[96];
	emit(ctx, "# HELP provisiond_inventory_writes_total Write requests run by the writer "
		  "(several share one commit).");
	emit(ctx, "# TYPE provisiond_inventory_writes_total counter");
	snprintf(line, sizeof line, "provisiond_inventory_writes_total %llu",
		 (unsigned long long)writes);
	emit(ctx, line);
}

static void *writer_main(void *arg)
{
	struct inv *inv = arg;
	struct wjob *batch[WRITER_BATCH_MAX];
	for (;;) {
		pthread_mutex_lock(&inv->mu);
		while (!inv->head && !inv->stop)
			pthread_cond_wait(&inv->queue_cv, &inv->mu);
		if (!inv->head && inv->stop) {
			pthread_mutex_unlock(&inv->mu);
			break;
		}
		int n = 0;
		while (inv->head && n < WRITER_BATCH_MAX) {
			batch[n++] = inv->head;
			inv->head = inv->head->next;
		}
		if (!inv->head)
			inv->tail = NULL;
		pthread_mutex_unlock(&inv->mu);

		run_batch(inv, batch, n);

		pthread_mutex_lock(&inv->mu);
		for (int i = 0; i < n; i++) {
			batch[i]->done = true;
			pthread_cond_signal(&batch[i]->cv);
		}
		inv->changes++;
		inv->writes += (uint64_t)n;
		pthread_cond_broadcast(&inv->change_cv);
		pthread_mutex_unlock(&inv->mu);
	}
	return NULL;
}

enum inv_status inv_write(struct inv *inv, inv_write_fn fn, void *arg, struct inv_err *err)
{
	struct inv_err local = {0};
	struct wjob j = {.fn = fn, .arg = arg, .err = err ? err : &local};
	pthread_mutex_lock(&inv->mu);
	if (inv->stop) {
		pthread_mutex_unlock(&inv->mu);
		return inv_fail(err, INV_IO, NULL, "inventory is closing");
	}
	pthread_cond_init(&j.cv, NULL);
	if (inv->tail)
		inv->tail->next = &j;
	else
		inv->head = &j;
	inv->tail = &j;
	pthread_cond_signal(&inv->queue_cv);
	while (!j.done)
		pthread_cond_wait(&j.cv, &inv->mu);
	pthread_mutex_unlock(&inv->mu);
	pthread_cond_destroy(&j.cv);
	return j.st;
}

uint64_t inv_change_counter(struct inv *inv)
{
	pthread_mutex_lock(&inv->mu);
	uint64_t c = inv->changes;
	pthread_mutex_unlock(&inv->mu);
	return c;
}

bool inv_wait_change(struct inv *inv, uint64_t *seen, int timeout_ms)
{
	int64_t deadline = util_now_ms() + timeout_ms;
	pthread_mutex_lock(&inv->mu);
	while (inv->changes == *seen && !inv->stop)
		if (util_cond_wait_until_ms(&inv->change_cv, &inv->mu, deadline) == ETIMEDOUT)
			break;
	bool changed = inv->changes != *seen;
	*seen = inv->changes;
	pthread_mutex_unlock(&inv->mu);
	return changed;
}
