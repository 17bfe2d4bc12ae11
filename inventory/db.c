/* db.c - opening the database, per-thread readers, the group-commit writer,
 * the same for every backend (the backend's part: backend.h). */
#include "inventory/backend.h"
#include "inventory/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#define WRITER_BATCH_MAX 128

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

struct reader {
	struct inv_conn conn;
	struct inv *inv;
	struct reader *next;
};

struct inv {
	char *path;	    /* the database setting: a path or a PostgreSQL conninfo */
	char name[256];	    /* the same for messages, without a password */
	struct inv_key key; /* wiped at inv_close */
	struct inv_conn w;  /* the writer's connection */
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t queue_cv, change_cv;
	struct wjob *head, *tail;
	bool stop;
	uint64_t changes;
	pthread_key_t rkey;
	struct reader *readers;	      /* every reader connection, closed at inv_close */
	struct util_hist commit_hist; /* each group: BEGIN to durable COMMIT */
	uint64_t writes;	      /* write requests run (inv_write calls); under mu */
	/* the last write group failed on storage (disk full, I/O error) and
	 * none has succeeded since: why, and since when (0: writable); under mu */
	char storage_error[sizeof((struct inv_err *)0)->message];
	int64_t storage_failed_at;
	char replica[INV_REPLICA_LEN]; /* inv_set_replica; set before readers use it */
	pthread_t listener;	       /* other processes' commits (backend's listen_*) */
	bool listening;
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
	inv->w.key = &inv->key;
	enum inv_status st = inv_conn_open(&inv->w, inv->path, true, err);
	if (st != INV_OK)
		return st;
	/* Refuse damaged, foreign and newer databases before anything
	 * (SQLite's journal mode included) is written to them. */
	if (inv_conn_check(&inv->w, err) != INV_OK || inv_schema_check(&inv->w, err) != 0 ||
	    inv_conn_configure(&inv->w, true, err) != INV_OK ||
	    inv_migrate_to(&inv->w, target, &inv->key, err) != 0) {
		char msg[sizeof err->message];
		snprintf(msg, sizeof msg, "%s", err->message);
		return inv_fail(err, err->status, NULL, "database %s: %s", inv->name, msg);
	}
	return INV_OK;
}

static bool stopping(struct inv *inv)
{
	pthread_mutex_lock(&inv->mu);
	bool s = inv->stop;
	pthread_mutex_unlock(&inv->mu);
	return s;
}

/* Another process committed: waiters wake as for one of ours. */
static void *listener_main(void *arg)
{
	struct inv *inv = arg;
	const struct inv_backend *be = inv->w.be;
	void *l = NULL;
	while (!stopping(inv)) {
		if (!l && !(l = be->listen_open(inv->path))) {
			util_sleep_ms(500);
			continue;
		}
		int rc = be->listen_wait(l, 250);
		if (rc < 0) {
			be->listen_close(l);
			l = NULL;
		} else if (rc > 0) {
			pthread_mutex_lock(&inv->mu);
			inv->changes++;
			pthread_cond_broadcast(&inv->change_cv);
			pthread_mutex_unlock(&inv->mu);
		}
	}
	if (l)
		be->listen_close(l);
	return NULL;
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
	inv_database_display(path, inv->name, sizeof inv->name);
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
	if (inv->w.be->listen_open)
		inv->listening = pthread_create(&inv->listener, NULL, listener_main, inv) == 0;
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
	if (inv->listening)
		pthread_join(inv->listener, NULL);
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
	r->conn.key = &inv->key;
	if (inv_conn_open(&r->conn, inv->path, false, err) != INV_OK ||
	    inv_conn_configure(&r->conn, false, err) != INV_OK) {
		inv_conn_close(&r->conn);
		free(r);
		return NULL;
	}
	r->inv = inv;
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
	struct inv_q *st = inv_stmt(c, SQL_SETTING_UPSERT, err);
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

/* Gives every job of the batch the same failure (BEGIN or COMMIT). */
static void fail_batch(struct wjob **batch, int n, const struct inv_err *e, bool only_ok)
{
	for (int i = 0; i < n; i++)
		if (!only_ok || batch[i]->st == INV_OK)
			batch[i]->st = inv_fail(batch[i]->err, e->status, NULL, "%s", e->message);
}

/* On a database several processes write (PostgreSQL), every write group
 * takes the database-wide turn first, before it locks any row: the groups
 * of all replicas commit one after another, as one writer's do. Without
 * it, groups that touch the same rows in different orders (the capacity
 * counts every machine change updates, a reservation's quota) deadlock
 * (deadlock_timeout each, and the group is lost), and an owner's quota or
 * idempotency key could miss another replica's reservation. */
static enum inv_status take_turn(struct inv_conn *w, struct inv_err *e)
{
	if (!w->be->turn_sql)
		return INV_OK;
	return w->be->exec(w, w->be->turn_sql, "wait for the writers' turn", e);
}

static void run_batch(struct inv *inv, struct wjob **batch, int n)
{
	struct inv_conn *w = &inv->w;
	struct inv_err e = {0}, ignored = {0};
	int64_t t0 = util_now_us();
	if (inv_txn(w, INV_TXN_BEGIN, &e) != INV_OK || take_turn(w, &e) != INV_OK) {
		fail_batch(batch, n, &e, false);
		(void)inv_txn(w, INV_TXN_ROLLBACK, &ignored);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct wjob *j = batch[i];
		(void)inv_txn(w, INV_TXN_SAVEPOINT, &ignored);
		j->st = j->fn(w, j->arg, j->err);
		if (j->st != INV_OK)
			(void)inv_txn(w, INV_TXN_ROLLBACK_TO, &ignored);
		(void)inv_txn(w, INV_TXN_RELEASE, &ignored);
	}
	/* other processes on the database learn of the commit (a failure here
	 * aborts the transaction: the commit below fails the batch) */
	if (w->be->announce_sql)
		(void)w->be->exec(w, w->be->announce_sql, "announce the commit", &ignored);
	if (inv_txn(w, INV_TXN_COMMIT, &e) != INV_OK) {
		fail_batch(batch, n, &e, true);
		(void)inv_txn(w, INV_TXN_ROLLBACK, &ignored);
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

void inv_set_replica(struct inv *inv, const char *name)
{
	snprintf(inv->replica, sizeof inv->replica, "%s", name ? name : "");
}

const char *inv_replica_of(struct inv *inv)
{
	return inv->replica;
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
