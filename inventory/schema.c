/* schema.c - numbered, forward-only migrations (PRAGMA user_version).
 *
 * Append a migration to add a version; never edit a released one. Every
 * migration runs in one transaction with the user_version bump, so a crash
 * mid-migration leaves the previous version intact. */
#include "inventory/internal.h"

#include <stdio.h>

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

    /* 5: the image store. Images have a state (URL images are fetched into
     * the store before they are usable) and the identity of their file as
     * registered. Images given by URL used to be fetched by the agent from
     * the URL itself: they are fetched into the store now. */
    "ALTER TABLE images ADD COLUMN state TEXT NOT NULL DEFAULT 'ready';"
    "ALTER TABLE images ADD COLUMN last_error TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE images ADD COLUMN file_size INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE images ADD COLUMN file_inode INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE images ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;"
    "UPDATE images SET state = 'fetching' WHERE url != '';",
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

static int apply_one(sqlite3 *db, int to, struct inv_err *err)
{
	char bump[64];
	snprintf(bump, sizeof bump, "PRAGMA user_version=%d", to);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return inv_sqlfail(err, db, "begin migration");
	if (sqlite3_exec(db, migrations[to - 1], NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, bump, NULL, NULL, NULL) != SQLITE_OK) {
		inv_fail(err, INV_IO, NULL, "migration %d failed: %s", to, sqlite3_errmsg(db));
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
int inv_migrate_to(sqlite3 *db, int target, struct inv_err *err)
{
	if (target <= 0 || target > N_MIGRATIONS)
		target = N_MIGRATIONS;
	if (inv_schema_check(db, err) != 0)
		return -1;
	int v = user_version(db, err);
	for (int to = v + 1; to <= target; to++)
		if (apply_one(db, to, err) != 0)
			return -1;
	return 0;
}

int inv_migrate(sqlite3 *db, struct inv_err *err)
{
	return inv_migrate_to(db, 0, err);
}
