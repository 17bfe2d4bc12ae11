/* schema.c - numbered, forward-only migrations, the same versions on
 * every backend (the texts are the backend's: backend.h).
 *
 * Append a migration to add a version; never edit a released one. Every
 * migration runs in one transaction with the version bump, so a crash
 * mid-migration leaves the previous version intact.
 *
 * A migration that rewrites data in C (data_steps below: schema 5 seals
 * the BMC passwords) has no SQL text. Its step runs in one transaction,
 * then the backend rebuilds its storage (SQLite: VACUUM, and the WAL folded
 * in and emptied), so that no copy of the old values survives in free
 * pages, free space inside pages or the WAL; only then does the version
 * move. A crash in between
 * runs the step again, so every data step is idempotent. */
#include "inventory/backend.h"
#include "inventory/secrets.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_MIGRATIONS INV_SCHEMA_VERSIONS

int inv_schema_version(void)
{
	return N_MIGRATIONS;
}

static int user_version(struct inv_conn *c, struct inv_err *err)
{
	int v = -1;
	if (c->be->version_get(c, &v, err) != INV_OK)
		return -1;
	return v;
}

/* ---------------------------------------------------------- data steps */

/* Seals machine id's password value (stored in clear by an older
 * provisiond) with upd (:id, :sealed). A value that already opens is left
 * alone: that keeps the step idempotent. */
static int seal_one(struct inv_q *upd, const struct inv_key *key, const char *id, const char *value,
		    struct inv_err *err)
{
	char ad[INV_AD_LEN], *plain = NULL;
	inv_bmc_password_ad(id, ad);
	if (inv_unseal(key, ad, value, &plain, NULL) == INV_OK) {
		OPENSSL_cleanse(plain, strlen(plain));
		free(plain);
		return 0;
	}
	char *sealed = inv_seal(key, ad, value, err);
	if (!sealed)
		return -1;
	inv_bind_text(upd, ":id", id);
	inv_bind_text(upd, ":sealed", sealed);
	int rc = inv_exec_done(upd, "seal bmc password", err) == INV_OK ? 0 : -1;
	free(sealed);
	return rc;
}

/* Schema 5: every BMC password is stored sealed (inventory/secrets.h).
 * Rows are visited in machine_id order, one lookup each, so no statement
 * reads the table while another changes it. */
static int seal_passwords(struct inv_conn *c, const struct inv_key *key, struct inv_err *err)
{
	struct inv_q *next =
	    inv_prep(c,
		     "SELECT machine_id, password FROM bmcs WHERE machine_id > :after"
		     " ORDER BY machine_id LIMIT 1",
		     err);
	struct inv_q *upd =
	    next ? inv_prep(c, "UPDATE bmcs SET password = :sealed WHERE machine_id = :id", err)
		 : NULL;
	int rc = upd ? 0 : -1;
	char id[INV_ID_LEN + 64] = "";
	while (rc == 0) {
		inv_bind_text(next, ":after", id);
		bool row = false;
		if (inv_step(next, &row, "read bmc passwords", err) != INV_OK)
			rc = -1;
		if (rc != 0 || !row)
			break;
		inv_col_copy(next, 0, id, sizeof id);
		char *value = inv_col_dup(next, 1);
		inv_stmt_done(next);
		rc = seal_one(upd, key, id, value ? value : "", err);
		if (value) {
			OPENSSL_cleanse(value, strlen(value));
			free(value);
		}
	}
	inv_q_free(next);
	inv_q_free(upd);
	return rc;
}

typedef int (*data_step_fn)(struct inv_conn *c, const struct inv_key *key, struct inv_err *err);

static const struct {
	int version;
	data_step_fn fn;
} data_steps[] = {
    {.version = 5, .fn = seal_passwords},
};

static data_step_fn data_step(int version)
{
	for (size_t i = 0; i < ARRAY_SIZE(data_steps); i++)
		if (data_steps[i].version == version)
			return data_steps[i].fn;
	return NULL;
}

/* Fails the migration with the step's own message after its number. */
static int migration_failed(struct inv_conn *c, int to, struct inv_err *err)
{
	char msg[sizeof err->message];
	snprintf(msg, sizeof msg, "%s", err->message);
	inv_fail(err, err->status, NULL, "migration %d failed: %s", to, msg);
	struct inv_err ignored = {0};
	(void)inv_txn(c, INV_TXN_ROLLBACK, &ignored);
	return -1;
}

/* One transaction: migration to's SQL, then fn (NULL: none), then the
 * version bump when bump is set. 0 ok; rolled back on failure. */
static int run_tx(struct inv_conn *c, int to, data_step_fn fn, const struct inv_key *key, bool bump,
		  struct inv_err *err)
{
	if (inv_txn(c, INV_TXN_BEGIN, err) != INV_OK) {
		char msg[sizeof err->message];
		snprintf(msg, sizeof msg, "%s", err->message);
		inv_fail(err, err->status, NULL, "begin migration: %s", msg);
		return -1;
	}
	const char *sql = c->be->migrations[to - 1];
	char what[48];
	snprintf(what, sizeof what, "migration %d failed", to);
	struct inv_err ignored = {0};
	if (*sql && inv_exec_sql(c, sql, what, err) != INV_OK) {
		(void)inv_txn(c, INV_TXN_ROLLBACK, &ignored);
		return -1;
	}
	if ((bump && c->be->version_set(c, to, err) != INV_OK) || (fn && fn(c, key, err) != 0))
		return migration_failed(c, to, err);
	if (inv_txn(c, INV_TXN_COMMIT, err) != INV_OK) {
		(void)inv_txn(c, INV_TXN_ROLLBACK, &ignored);
		return -1;
	}
	return 0;
}

static int apply_one(struct inv_conn *c, int to, const struct inv_key *key, struct inv_err *err)
{
	data_step_fn fn = data_step(to);
	if (!fn)
		return run_tx(c, to, NULL, key, true, err);
	if (run_tx(c, to, fn, key, false, err) != 0)
		return -1;
	if (c->be->rebuild && c->be->rebuild(c, err) != INV_OK) {
		char msg[sizeof err->message];
		snprintf(msg, sizeof msg, "%s", err->message);
		inv_fail(err, INV_IO, NULL, "migration %d: %s", to, msg);
		return -1;
	}
	return run_tx(c, to, NULL, key, true, err);
}

/* Refuses a database written by a newer provisiond or by something else
 * (tables but no schema version), without writing to it. */
int inv_schema_check(struct inv_conn *c, struct inv_err *err)
{
	int v = user_version(c, err);
	if (v < 0)
		return -1;
	if (v > N_MIGRATIONS) {
		inv_fail(err, INV_SCHEMA_NEWER, NULL,
			 "database schema version %d is newer than this provisiond (%d); "
			 "run the newer provisiond or restore a backup",
			 v, N_MIGRATIONS);
		return -1;
	}
	bool any = false;
	if (v == 0 && c->be->has_tables(c, &any, err) != INV_OK)
		return -1;
	if (any) {
		inv_fail(err, INV_CORRUPT, NULL,
			 "database has tables but no provisiond schema version; refusing "
			 "to touch it");
		return -1;
	}
	return 0;
}

static int migrate_locked(struct inv_conn *c, int target, const struct inv_key *key,
			  struct inv_err *err)
{
	if (inv_schema_check(c, err) != 0)
		return -1;
	int v = user_version(c, err);
	for (int to = v + 1; to <= target; to++)
		if (apply_one(c, to, key, err) != 0)
			return -1;
	return 0;
}

/* Brings the database to target (N_MIGRATIONS when target <= 0). A
 * database that already has tables but no version is not ours: refused. */
int inv_migrate_to(struct inv_conn *c, int target, const struct inv_key *key, struct inv_err *err)
{
	struct inv_err local = {0};
	if (!err)
		err = &local;
	if (target <= 0 || target > N_MIGRATIONS)
		target = N_MIGRATIONS;
	if (c->be->migrate_lock && c->be->migrate_lock(c, true, err) != INV_OK)
		return -1;
	int rc = migrate_locked(c, target, key, err);
	struct inv_err ignored = {0};
	if (c->be->migrate_lock)
		(void)c->be->migrate_lock(c, false, &ignored);
	return rc;
}

int inv_migrate(struct inv_conn *c, const struct inv_key *key, struct inv_err *err)
{
	return inv_migrate_to(c, 0, key, err);
}
