/* schema.c - numbered, forward-only migrations (PRAGMA user_version).
 *
 * Append a migration to add a version; never edit a released one. Every
 * migration runs in one transaction with the user_version bump, so a crash
 * mid-migration leaves the previous version intact.
 *
 * A migration that rewrites data in C (data_steps below: schema 5 seals
 * the BMC passwords) has no SQL text. Its step runs in one transaction,
 * then the file is rebuilt (VACUUM) and the WAL folded in and emptied, so
 * that no copy of the old values survives in free pages, free space inside
 * pages or the WAL; only then does user_version move. A crash in between
 * runs the step again, so every data step is idempotent. */
#include "inventory/internal.h"
#include "inventory/secrets.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    /* 1: core inventory */
    "CREATE TABLE machines ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL UNIQUE,"
    " state TEXT NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1,"
    " sku TEXT NOT NULL DEFAULT '',"
    " power TEXT NOT NULL DEFAULT 'unknown',"
    " maintenance INTEGER NOT NULL DEFAULT 0,"
    " maintenance_reason TEXT NOT NULL DEFAULT '',"
    " last_error TEXT NOT NULL DEFAULT '',"
    " site TEXT NOT NULL DEFAULT '', rack TEXT NOT NULL DEFAULT '', unit INTEGER NOT NULL DEFAULT "
    "-1,"
    " allocation_id TEXT,"
    " phase TEXT NOT NULL DEFAULT '',"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " wake_at INTEGER NOT NULL DEFAULT 0,"
    " deadline_at INTEGER NOT NULL DEFAULT 0,"
    " facts TEXT,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, state_since INTEGER NOT NULL);"
    "CREATE INDEX machines_pool ON machines(sku, state, maintenance);"
    "CREATE INDEX machines_wake ON machines(wake_at) WHERE wake_at > 0;"
    "CREATE INDEX machines_alloc ON machines(allocation_id);"
    "CREATE TABLE nics ("
    " mac TEXT PRIMARY KEY,"
    " machine_id TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE);"
    "CREATE INDEX nics_machine ON nics(machine_id);"
    "CREATE TABLE bmcs ("
    " machine_id TEXT PRIMARY KEY REFERENCES machines(id) ON DELETE CASCADE,"
    " driver TEXT NOT NULL, address TEXT NOT NULL DEFAULT '', username TEXT NOT NULL DEFAULT '',"
    " password TEXT NOT NULL DEFAULT '', options TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE machine_events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " machine_id TEXT NOT NULL, at INTEGER NOT NULL,"
    " from_state TEXT NOT NULL, to_state TEXT NOT NULL,"
    " actor TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', request_id TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX machine_events_m ON machine_events(machine_id, seq);"
    "CREATE TABLE images ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE, path TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '',"
    " format TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE allocations ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, owner TEXT NOT NULL, sku TEXT NOT NULL,"
    " image TEXT NOT NULL, count INTEGER NOT NULL, min_count INTEGER NOT NULL,"
    " state TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1, last_error TEXT NOT NULL DEFAULT '',"
    " ssh_keys TEXT NOT NULL DEFAULT '[]', substitutions INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, ready_at INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT "
    "NULL);"
    "CREATE INDEX allocations_owner ON allocations(owner, seq);"
    "CREATE TABLE allocation_machines ("
    " allocation_id TEXT NOT NULL REFERENCES allocations(id),"
    " machine_id TEXT NOT NULL REFERENCES machines(id),"
    " detached INTEGER NOT NULL DEFAULT 0, attached_at INTEGER NOT NULL,"
    " PRIMARY KEY (allocation_id, machine_id));"
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,"
    " action TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL,"
    " before TEXT, after TEXT, request_id TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE tokens ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT "
    "'',"
    " role TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '', hash TEXT NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE idempotency_keys ("
    " owner TEXT NOT NULL, key TEXT NOT NULL, allocation_id TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, PRIMARY KEY (owner, key));"
    "CREATE TABLE quotas ("
    " owner TEXT NOT NULL, sku TEXT NOT NULL, machines INTEGER NOT NULL,"
    " PRIMARY KEY (owner, sku));",

    /* 2: boot/agent plane tokens and fleet settings */
    "CREATE TABLE boot_tokens ("
    " hash TEXT PRIMARY KEY, machine_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER NOT NULL DEFAULT "
    "0);"
    "CREATE INDEX boot_tokens_m ON boot_tokens(machine_id, kind);"
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT "
    "NULL);",

    /* 3: deploy-agent commands and agent liveness */
    "CREATE TABLE agent_commands ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " machine_id TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL DEFAULT '{}',"
    " state TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', details TEXT,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX agent_commands_m ON agent_commands(machine_id, state, seq);"
    "ALTER TABLE machines ADD COLUMN agent_seen_at INTEGER NOT NULL DEFAULT 0;",

    /* 4: the address a machine last called from (agent or deployed OS) */
    "ALTER TABLE machines ADD COLUMN ip TEXT NOT NULL DEFAULT '';",

    /* 5: BMC passwords sealed under the key file's key: seal_passwords() */
    "",
    /* 6: the image store. Images have a state (URL images are fetched into
     * the store before they are usable) and the identity of their file as
     * registered. Images given by URL used to be fetched by the agent from
     * the URL itself: they are fetched into the store now. */
    "ALTER TABLE images ADD COLUMN state TEXT NOT NULL DEFAULT 'ready';"
    "ALTER TABLE images ADD COLUMN last_error TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE images ADD COLUMN file_size INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE images ADD COLUMN file_inode INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE images ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;"
    "UPDATE images SET state = 'fetching' WHERE url != '';",

    /* 7: machines by SKU and state, kept by triggers in the same
     * transaction as every change of a machine's sku, state or maintenance
     * flag, so /v1/capacity reads a few rows instead of counting the whole
     * fleet (a scan of 150,000 index entries was ~40-80 ms per request). */
    "CREATE TABLE machine_counts ("
    " sku TEXT NOT NULL, state TEXT NOT NULL,"
    " n INTEGER NOT NULL, maintenance INTEGER NOT NULL,"
    " PRIMARY KEY (sku, state)) WITHOUT ROWID;"
    "INSERT INTO machine_counts(sku, state, n, maintenance)"
    " SELECT sku, state, count(*), sum(maintenance) FROM machines GROUP BY sku, state;"
    "CREATE TRIGGER machine_counts_insert AFTER INSERT ON machines BEGIN"
    " INSERT INTO machine_counts(sku, state, n, maintenance)"
    "  VALUES (NEW.sku, NEW.state, 1, NEW.maintenance)"
    "  ON CONFLICT(sku, state) DO UPDATE SET n = n + 1, maintenance = maintenance +"
    "  NEW.maintenance;"
    " END;"
    "CREATE TRIGGER machine_counts_delete AFTER DELETE ON machines BEGIN"
    " UPDATE machine_counts SET n = n - 1, maintenance = maintenance - OLD.maintenance"
    "  WHERE sku = OLD.sku AND state = OLD.state;"
    " END;"
    "CREATE TRIGGER machine_counts_update AFTER UPDATE OF sku, state, maintenance ON machines"
    " WHEN OLD.sku != NEW.sku OR OLD.state != NEW.state OR OLD.maintenance != NEW.maintenance"
    " BEGIN"
    " UPDATE machine_counts SET n = n - 1, maintenance = maintenance - OLD.maintenance"
    "  WHERE sku = OLD.sku AND state = OLD.state;"
    " INSERT INTO machine_counts(sku, state, n, maintenance)"
    "  VALUES (NEW.sku, NEW.state, 1, NEW.maintenance)"
    "  ON CONFLICT(sku, state) DO UPDATE SET n = n + 1, maintenance = maintenance +"
    "  NEW.maintenance;"
    " END;",

    /* 8: an allocation's failure-domain spread (inv_spread): across 'rack'
     * or 'site' ('' none) and mode 'strict' or 'best_effort' ('' none); the
     * pool by site and rack, so a spread finds one machine per rack with a
     * seek per rack instead of reading the whole pool of the SKU (20,000
     * available machines: ~90 ms on the writer) */
    "ALTER TABLE allocations ADD COLUMN spread_across TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE allocations ADD COLUMN spread_mode TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX machines_pool_domain ON machines(sku, state, maintenance, site, rack);",
};

#define N_MIGRATIONS ((int)ARRAY_SIZE(migrations))

int inv_schema_version(void)
{
	return N_MIGRATIONS;
}

static int user_version(sqlite3 *db, struct inv_err *err)
{
	sqlite3_stmt *st = inv_prep(db, "PRAGMA user_version", err);
	if (!st)
		return -1;
	int v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else
		inv_sqlfail(err, db, "read schema version");
	sqlite3_finalize(st);
	return v;
}

/* ---------------------------------------------------------- data steps */

/* Seals machine id's password value (stored in clear by an older
 * provisiond) with upd (?1 id, ?2 sealed). A value that already opens is
 * left alone: that keeps the step idempotent. */
static int seal_one(sqlite3_stmt *upd, const struct inv_key *key, const char *id, const char *value,
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
	sqlite3_bind_text(upd, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(upd, 2, sealed, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(upd) == SQLITE_DONE ? 0 : -1;
	if (rc != 0)
		inv_sqlfail(err, sqlite3_db_handle(upd), "seal bmc password");
	sqlite3_reset(upd);
	sqlite3_clear_bindings(upd);
	free(sealed);
	return rc;
}

/* Schema 5: every BMC password is stored sealed (inventory/secrets.h).
 * Rows are visited in machine_id order, one lookup each, so no statement
 * reads the table while another changes it. */
static int seal_passwords(sqlite3 *db, const struct inv_key *key, struct inv_err *err)
{
	sqlite3_stmt *next = inv_prep(db,
				      "SELECT machine_id, password FROM bmcs WHERE machine_id > ?1"
				      " ORDER BY machine_id LIMIT 1",
				      err);
	sqlite3_stmt *upd =
	    next ? inv_prep(db, "UPDATE bmcs SET password = ?2 WHERE machine_id = ?1", err) : NULL;
	int rc = upd ? 0 : -1;
	char id[INV_ID_LEN + 64] = "";
	while (rc == 0) {
		sqlite3_bind_text(next, 1, id, -1, SQLITE_TRANSIENT);
		int step = sqlite3_step(next);
		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			rc = -1;
			inv_sqlfail(err, db, "read bmc passwords");
			break;
		}
		inv_col_copy(next, 0, id, sizeof id);
		char *value = inv_col_dup(next, 1);
		sqlite3_reset(next);
		rc = seal_one(upd, key, id, value ? value : "", err);
		if (value) {
			OPENSSL_cleanse(value, strlen(value));
			free(value);
		}
	}
	sqlite3_finalize(next);
	sqlite3_finalize(upd);
	return rc;
}

typedef int (*data_step_fn)(sqlite3 *db, const struct inv_key *key, struct inv_err *err);

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

/* One transaction: migration to's SQL, then fn (NULL: none), then the
 * user_version bump when bump is set. 0 ok; rolled back on failure. */
static int run_tx(sqlite3 *db, int to, data_step_fn fn, const struct inv_key *key, bool bump,
		  struct inv_err *err)
{
	char bump_sql[64];
	snprintf(bump_sql, sizeof bump_sql, "PRAGMA user_version=%d", to);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		inv_sqlfail(err, db, "begin migration");
		return -1;
	}
	if (sqlite3_exec(db, migrations[to - 1], NULL, NULL, NULL) != SQLITE_OK ||
	    (bump && sqlite3_exec(db, bump_sql, NULL, NULL, NULL) != SQLITE_OK)) {
		inv_fail(err, INV_IO, NULL, "migration %d failed: %s", to, sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (fn && fn(db, key, err) != 0) {
		char msg[sizeof err->message];
		snprintf(msg, sizeof msg, "%s", err->message);
		inv_fail(err, err->status, NULL, "migration %d failed: %s", to, msg);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		inv_sqlfail(err, db, "commit migration");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Rewrites the whole file from its rows (VACUUM) and folds the WAL into it,
 * leaving the WAL empty. The checkpoint is best effort: a reader in another
 * process may hold the WAL, which the next checkpoint then folds in. */
static int rebuild_file(sqlite3 *db, int to, struct inv_err *err)
{
	if (sqlite3_exec(db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK) {
		inv_fail(err, INV_IO, NULL, "migration %d: rebuilding the file failed: %s", to,
			 sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	return 0;
}

static int apply_one(sqlite3 *db, int to, const struct inv_key *key, struct inv_err *err)
{
	data_step_fn fn = data_step(to);
	if (!fn)
		return run_tx(db, to, NULL, key, true, err);
	if (run_tx(db, to, fn, key, false, err) != 0 || rebuild_file(db, to, err) != 0)
		return -1;
	return run_tx(db, to, NULL, key, true, err);
}

/* Refuses a database written by a newer provisiond or by something else
 * (tables but no user_version), without writing to it. */
int inv_schema_check(sqlite3 *db, struct inv_err *err)
{
	int v = user_version(db, err);
	if (v < 0)
		return -1;
	if (v > N_MIGRATIONS) {
		inv_fail(err, INV_SCHEMA_NEWER, NULL,
			 "database schema version %d is newer than this provisiond (%d); "
			 "run the newer provisiond or restore a backup",
			 v, N_MIGRATIONS);
		return -1;
	}
	if (v == 0) {
		sqlite3_stmt *st = inv_prep(db, "SELECT count(*) FROM sqlite_master", err);
		if (!st)
			return -1;
		int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
		sqlite3_finalize(st);
		if (n != 0) {
			inv_fail(err, INV_CORRUPT, NULL,
				 "database has tables but no provisiond schema version; refusing "
				 "to touch it");
			return -1;
		}
	}
	return 0;
}

/* Brings db to target (N_MIGRATIONS when target <= 0). A database that
 * already has tables but no user_version is not ours: refused. */
int inv_migrate_to(sqlite3 *db, int target, const struct inv_key *key, struct inv_err *err)
{
	struct inv_err local = {0};
	if (!err)
		err = &local;
	if (target <= 0 || target > N_MIGRATIONS)
		target = N_MIGRATIONS;
	if (inv_schema_check(db, err) != 0)
		return -1;
	int v = user_version(db, err);
	for (int to = v + 1; to <= target; to++)
		if (apply_one(db, to, key, err) != 0)
			return -1;
	return 0;
}

int inv_migrate(sqlite3 *db, const struct inv_key *key, struct inv_err *err)
{
	return inv_migrate_to(db, 0, key, err);
}
