/* sql_pg.c - the PostgreSQL backend's texts: statements, migrations, and
 * which database settings are PostgreSQL's. Connections and statements are
 * db_pg.c's (libpq).
 *
 * Chosen by the database setting: a postgresql:// or postgres:// URI, or a
 * libpq key=value string ("host=... dbname=..."). libpq follows multi-host
 * URIs with target_session_attrs=read-write, so after a failover a broken
 * connection is reset (PQreset) the next time it is idle and reaches the
 * new primary; the request that met the break fails (storage_error).
 *
 * Statements: the texts are SQLite's (sql_sqlite.c) where those are also
 * valid PostgreSQL, and this file's where the dialects differ (pg_sql
 * below); tests/unit/test_inventory_sql.c prepares every one on both.
 * Named parameters (:name) become $n when a statement is prepared, once per
 * connection. A parameter's type is the kind of its bind (inv_bind_int:
 * bigint, inv_bind_text: text), so "(:state IS NULL OR state = :state)"
 * needs no cast.
 *
 * Gang reservation under several replicas: the pick of available machines
 * locks them (FOR UPDATE SKIP LOCKED) in the writer's transaction, so two
 * replicas' reservations never pick the same machine and never wait for
 * each other; the attach then re-checks the state as on SQLite. Chosen over
 * SERIALIZABLE with retry because the pick is the only contended read, a
 * retry would re-run whole groups of unrelated requests (group commit), and
 * skipping locked rows keeps the allocation rate of concurrent replicas
 * instead of turning their overlap into serialization failures.
 *
 * Durability: every group commits before its requests are answered (db.c);
 * with the server's synchronous_commit=on (its default) a commit is on the
 * primary's disk, and with synchronous replication (Patroni) on a
 * standby's too. */
#include "inventory/backend.h"
#include "inventory/sql_shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool inv_pg_takes(const char *database)
{
	if (strncmp(database, "postgresql://", 13) == 0 ||
	    strncmp(database, "postgres://", 11) == 0)
		return true;
	/* a libpq key=value string: "word =" first ("host=db dbname=x") */
	const char *p = database;
	while (*p == ' ')
		p++;
	const char *w = p;
	while ((*p >= 'a' && *p <= 'z') || *p == '_')
		p++;
	while (*p == ' ')
		p++;
	return p > w && *p == '=';
}

/* database without its password: "user:***@" in a URI, "password=***" in
 * either form. */
void inv_pg_display(const char *database, char *out, size_t len)
{
	size_t n = 0;
	const char *at = strchr(database, '@');
	const char *scheme = strstr(database, "://");
	for (const char *p = database; *p && n + 1 < len; p++) {
		bool uri_pw = scheme && at && p > scheme + 3 && p < at && *p == ':';
		bool kv_pw = strncmp(p, "password=", 9) == 0;
		if (uri_pw || kv_pw) {
			n += (size_t)snprintf(out + n, len - n, "%s",
					      uri_pw ? ":***" : "password=***");
			p = uri_pw ? at - 1 : p + strcspn(p, " &") - 1;
			if (n >= len)
				n = len - 1;
			continue;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
}

/* ---------------------------------------------------------- statements */

#define MACHINE_SELECT                                                                             \
	SQL_MACHINE_SELECT("(SELECT string_agg(mac, ',' ORDER BY mac) FROM nics"                   \
			   " WHERE machine_id = m.id)")
#define AUDIT_FILTER SQL_AUDIT_FILTER("strpos(actor, ':')")
/* the row lock of the picks (see the top of this file) */
#define SKIP_LOCKED " FOR UPDATE SKIP LOCKED"
#define COLL_C " COLLATE \"C\""

/* Only the statements whose SQLite text is not PostgreSQL (group_concat,
 * instr, a sum of booleans, a subquery without an alias), that lock rows
 * another replica may want (FOR UPDATE SKIP LOCKED) or that must order
 * text as SQLite does (COLLATE "C"); every other id uses
 * sql_sqlite.c's text. */
static const char *const pg_sql[SQL__COUNT] = {
    [SQL_MACHINE_BY_ID_OR_NAME] = SQL_MACHINE_BY_ID_OR_NAME_TEXT(MACHINE_SELECT),
    [SQL_MACHINE_BY_MAC] = SQL_MACHINE_BY_MAC_TEXT(MACHINE_SELECT),
    [SQL_MACHINE_LIST] = SQL_MACHINE_LIST_TEXT(MACHINE_SELECT),
    [SQL_MACHINES_DUE] = SQL_MACHINES_DUE_TEXT(MACHINE_SELECT, " AS due"),
    /* the gang's machines locked until the group commits; rows another
     * replica is reserving are skipped, not waited for */
    [SQL_POOL_PICK] = SQL_POOL_PICK_TEXT(SKIP_LOCKED),
    [SQL_POOL_PICK_WARM] = SQL_POOL_PICK_WARM_TEXT(SKIP_LOCKED),
    [SQL_ALLOC_SUBSTITUTE_PICK] = SQL_ALLOC_SUBSTITUTE_PICK_TEXT(" FOR UPDATE OF m SKIP LOCKED"),
    /* The spread picks (alloc_spread.c) lock their machine like the plain
     * pick, for the reservation and the substitute alike. Domains compare
     * and sort by bytes (COLLATE "C", as SQLite's and alloc_spread.c's
     * strcmp do, whatever the database's collation), on schema 8's
     * machines_pool_domain, which is in that collation and ends with seq,
     * so each pick stays one seek. */
    [SQL_POOL_NEXT_RACK] = SQL_POOL_NEXT_RACK_TEXT(COLL_C, SKIP_LOCKED),
    [SQL_POOL_NEXT_SITE] = SQL_POOL_NEXT_SITE_TEXT(COLL_C, SKIP_LOCKED),
    [SQL_POOL_OLDEST_DOMAIN] = SQL_POOL_OLDEST_DOMAIN_TEXT(SKIP_LOCKED),
    /* re-checks used_at = 0: of two replicas taking the grant one wins */
    [SQL_BOOT_GRANT_TAKE] = SQL_BOOT_GRANT_TAKE_TEXT(" used_at = 0 AND"),
    [SQL_AUDIT_LIST] = SQL_AUDIT_LIST_TEXT(AUDIT_FILTER),
    [SQL_AUDIT_LIST_DESC] = SQL_AUDIT_LIST_DESC_TEXT(AUDIT_FILTER),
    [SQL_DEPLOY_AHEAD] = SQL_DEPLOY_AHEAD_TEXT("CASE WHEN sku = :sku THEN 1 ELSE 0 END"),
};

const char *inv_pg_sql_text(enum inv_sql id)
{
	if ((unsigned)id >= SQL__COUNT)
		return NULL;
	return pg_sql[id] ? pg_sql[id] : inv_sql_text(id);
}

/* ---------------------------------------------------------- migrations */

/* The same versions as SQLite's (sql_sqlite.c), in PostgreSQL: bigint for
 * SQLite's INTEGER, identity columns for AUTOINCREMENT, a plpgsql trigger
 * for schema 7's counts. The version is the one row of provisiond_schema
 * (db_pg.c). */
const char *const inv_pg_migrations[] = {
    /* 1: core inventory */
    "CREATE TABLE machines ("
    " seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE, state TEXT NOT NULL,"
    " version BIGINT NOT NULL DEFAULT 1, sku TEXT NOT NULL DEFAULT '',"
    " power TEXT NOT NULL DEFAULT 'unknown', maintenance BIGINT NOT NULL DEFAULT 0,"
    " maintenance_reason TEXT NOT NULL DEFAULT '', last_error TEXT NOT NULL DEFAULT '',"
    " site TEXT NOT NULL DEFAULT '', rack TEXT NOT NULL DEFAULT '',"
    " unit BIGINT NOT NULL DEFAULT -1, allocation_id TEXT, phase TEXT NOT NULL DEFAULT '',"
    " attempts BIGINT NOT NULL DEFAULT 0, wake_at BIGINT NOT NULL DEFAULT 0,"
    " deadline_at BIGINT NOT NULL DEFAULT 0, facts TEXT,"
    " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, state_since BIGINT NOT NULL);"
    "CREATE INDEX machines_pool ON machines(sku, state, maintenance);"
    "CREATE INDEX machines_wake ON machines(wake_at) WHERE wake_at > 0;"
    "CREATE INDEX machines_alloc ON machines(allocation_id);"
    "CREATE TABLE nics (mac TEXT PRIMARY KEY,"
    " machine_id TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE);"
    "CREATE INDEX nics_machine ON nics(machine_id);"
    "CREATE TABLE bmcs ("
    " machine_id TEXT PRIMARY KEY REFERENCES machines(id) ON DELETE CASCADE,"
    " driver TEXT NOT NULL, address TEXT NOT NULL DEFAULT '', username TEXT NOT NULL DEFAULT '',"
    " password TEXT NOT NULL DEFAULT '', options TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE machine_events ("
    " seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " machine_id TEXT NOT NULL, at BIGINT NOT NULL,"
    " from_state TEXT NOT NULL, to_state TEXT NOT NULL,"
    " actor TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', request_id TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX machine_events_m ON machine_events(machine_id, seq);"
    "CREATE TABLE images ("
    " seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE, path TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '',"
    " format TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL);"
    "CREATE TABLE allocations ("
    " seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, owner TEXT NOT NULL, sku TEXT NOT NULL,"
    " image TEXT NOT NULL, count BIGINT NOT NULL, min_count BIGINT NOT NULL,"
    " state TEXT NOT NULL, version BIGINT NOT NULL DEFAULT 1, last_error TEXT NOT NULL DEFAULT '',"
    " ssh_keys TEXT NOT NULL DEFAULT '[]', substitutions BIGINT NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL, ready_at BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL);"
    "CREATE INDEX allocations_owner ON allocations(owner, seq);"
    "CREATE TABLE allocation_machines ("
    " allocation_id TEXT NOT NULL REFERENCES allocations(id),"
    " machine_id TEXT NOT NULL REFERENCES machines(id),"
    " detached BIGINT NOT NULL DEFAULT 0, attached_at BIGINT NOT NULL,"
    " PRIMARY KEY (allocation_id, machine_id));"
    "CREATE INDEX allocation_machines_m ON allocation_machines(machine_id);"
    "CREATE TABLE audit ("
    " seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, target_type TEXT NOT NULL,"
    " target_id TEXT NOT NULL, before TEXT, after TEXT, request_id TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE tokens ("
    " seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL DEFAULT '', role TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '',"
    " hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);"
    "CREATE TABLE idempotency_keys ("
    " owner TEXT NOT NULL, key TEXT NOT NULL, allocation_id TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, PRIMARY KEY (owner, key));"
    "CREATE TABLE quotas (owner TEXT NOT NULL, sku TEXT NOT NULL, machines BIGINT NOT NULL,"
    " PRIMARY KEY (owner, sku));",

    /* 2: boot/agent plane tokens and fleet settings */
    "CREATE TABLE boot_tokens ("
    " hash TEXT PRIMARY KEY, machine_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX boot_tokens_m ON boot_tokens(machine_id, kind);"
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL,"
    " updated_at BIGINT NOT NULL);",

    /* 3: deploy-agent commands and agent liveness */
    "CREATE TABLE agent_commands ("
    " seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " machine_id TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL DEFAULT '{}',"
    " state TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', details TEXT,"
    " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE INDEX agent_commands_m ON agent_commands(machine_id, state, seq);"
    "ALTER TABLE machines ADD COLUMN agent_seen_at BIGINT NOT NULL DEFAULT 0;",

    /* 4: the address a machine last called from */
    "ALTER TABLE machines ADD COLUMN ip TEXT NOT NULL DEFAULT '';",

    /* 5: BMC passwords sealed (schema.c's data step; a PostgreSQL database
     * never held them in clear, so the step finds nothing to seal) */
    "",

    /* 6: the image store */
    "ALTER TABLE images ADD COLUMN state TEXT NOT NULL DEFAULT 'ready';"
    "ALTER TABLE images ADD COLUMN last_error TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE images ADD COLUMN file_size BIGINT NOT NULL DEFAULT -1;"
    "ALTER TABLE images ADD COLUMN file_inode BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE images ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;"
    "UPDATE images SET state = 'fetching' WHERE url != '';",

    /* 7: machines by SKU and state, kept by a trigger in the transaction of
     * every change of a machine's sku, state or maintenance flag (SQLite's
     * three triggers as one function). */
    "CREATE TABLE machine_counts (sku TEXT NOT NULL, state TEXT NOT NULL,"
    " n BIGINT NOT NULL, maintenance BIGINT NOT NULL, PRIMARY KEY (sku, state));"
    "INSERT INTO machine_counts(sku, state, n, maintenance)"
    " SELECT sku, state, count(*), sum(maintenance) FROM machines GROUP BY sku, state;"
    "CREATE FUNCTION machine_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF TG_OP IN ('UPDATE', 'DELETE') THEN"
    "   UPDATE machine_counts SET n = n - 1, maintenance = maintenance - OLD.maintenance"
    "    WHERE sku = OLD.sku AND state = OLD.state;"
    "  END IF;"
    "  IF TG_OP IN ('UPDATE', 'INSERT') THEN"
    "   INSERT INTO machine_counts AS c(sku, state, n, maintenance)"
    "    VALUES (NEW.sku, NEW.state, 1, NEW.maintenance)"
    "    ON CONFLICT(sku, state) DO UPDATE SET n = c.n + 1,"
    "    maintenance = c.maintenance + EXCLUDED.maintenance;"
    "  END IF;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE TRIGGER machine_counts_insert AFTER INSERT OR DELETE ON machines"
    " FOR EACH ROW EXECUTE FUNCTION machine_counts_keep();"
    "CREATE TRIGGER machine_counts_update AFTER UPDATE OF sku, state, maintenance ON machines"
    " FOR EACH ROW WHEN (OLD.sku IS DISTINCT FROM NEW.sku OR OLD.state IS DISTINCT FROM"
    " NEW.state OR OLD.maintenance IS DISTINCT FROM NEW.maintenance)"
    " EXECUTE FUNCTION machine_counts_keep();",

    /* 8: an allocation's failure-domain spread, as SQLite's; the index's
     * site and rack in bytes' order (the spread picks' COLLATE "C") and
     * with seq last, which SQLite's index holds as its rowid */
    "ALTER TABLE allocations ADD COLUMN spread_across TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE allocations ADD COLUMN spread_mode TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX machines_pool_domain ON machines(sku, state, maintenance,"
    " site COLLATE \"C\", rack COLLATE \"C\", seq);",

    /* 9: the picks in seq order (pool, warm-first, substitute, oldest
     * domain) read the pool's machines in that order instead of walking
     * the primary key past every other machine or sorting the whole pool
     * (SQLite's machines_pool already ends with seq, its rowid) */
    "CREATE INDEX machines_pool_seq ON machines(sku, state, maintenance, seq);",

    /* 10: staged image rollouts, as SQLite's */
    "CREATE TABLE rollouts ("
    " seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " allocation_id TEXT NOT NULL REFERENCES allocations(id),"
    " image TEXT NOT NULL, old_image TEXT NOT NULL, waves TEXT NOT NULL,"
    " max_failures BIGINT NOT NULL, state TEXT NOT NULL,"
    " wave BIGINT NOT NULL DEFAULT -1, wave_started_at BIGINT NOT NULL DEFAULT 0,"
    " failures BIGINT NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',"
    " actor TEXT NOT NULL, request_id TEXT NOT NULL DEFAULT '',"
    " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " finished_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX rollouts_alloc ON rollouts(allocation_id, seq);"
    "CREATE INDEX rollouts_state ON rollouts(state, seq);"
    "CREATE TABLE rollout_machines ("
    " rollout_id TEXT NOT NULL REFERENCES rollouts(id), machine_id TEXT NOT NULL,"
    " wave BIGINT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',"
    " started_at BIGINT NOT NULL DEFAULT 0, finished_at BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (rollout_id, machine_id));"
    "ALTER TABLE allocation_machines ADD COLUMN image TEXT NOT NULL DEFAULT '';",

    /* 11: replicas, as SQLite's; names in bytes' order */
    "CREATE TABLE replicas (name TEXT COLLATE \"C\" PRIMARY KEY, epoch BIGINT NOT NULL,"
    " roles TEXT NOT NULL, address TEXT NOT NULL DEFAULT '', started_at BIGINT NOT NULL,"
    " heartbeat_at BIGINT NOT NULL, live BIGINT NOT NULL DEFAULT 1);"
    "ALTER TABLE machines ADD COLUMN replica TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE machines ADD COLUMN replica_epoch BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX machines_replica ON machines(replica) WHERE replica <> '';",

    /* 12: an allocation's cloud-init user data, as SQLite's */
    "ALTER TABLE allocations ADD COLUMN user_data TEXT;",

    /* 13: an allocation's static network, as SQLite's */
    "ALTER TABLE allocations ADD COLUMN network TEXT;"
    "CREATE TABLE allocation_addresses ("
    " allocation_id TEXT NOT NULL REFERENCES allocations(id), slot BIGINT NOT NULL,"
    " address TEXT NOT NULL, ip TEXT NOT NULL, machine_id TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (allocation_id, slot));"
    "CREATE INDEX allocation_addresses_ip ON allocation_addresses(ip);",
};
_Static_assert(sizeof inv_pg_migrations / sizeof inv_pg_migrations[0] == INV_SCHEMA_VERSIONS,
	       "a migration for every schema version");
