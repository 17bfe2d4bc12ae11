/* sql_shared.h - the statement texts both backends run with a dialect part
 * of their own: each macro takes the part that differs (the nics column, a
 * collation, a row lock) and the rest of the statement is written once here.
 * sql_sqlite.c passes SQLite's parts, sql_pg.c PostgreSQL's. */
#ifndef PROVISIOND_INVENTORY_SQL_SHARED_H
#define PROVISIOND_INVENTORY_SQL_SHARED_H

/* nics: a machine's MACs, comma-separated in order (group_concat or
 * string_agg) */
#define SQL_MACHINE_COLS(nics)                                                                     \
	"m.seq, m.id, m.name, m.state, m.version, m.sku, m.power, m.maintenance,"                  \
	" m.maintenance_reason, m.last_error, m.site, m.rack, m.unit, m.allocation_id, m.phase,"   \
	" m.attempts, m.wake_at, m.deadline_at, m.facts, m.created_at, m.updated_at,"              \
	" m.state_since, b.driver, b.address, b.username, b.options, a.owner, " nics               \
	", m.replica, m.replica_epoch, m.wakes"
#define SQL_MACHINE_SELECT(nics)                                                                   \
	"SELECT " SQL_MACHINE_COLS(                                                                \
	    nics) " FROM machines m LEFT JOIN bmcs b ON b.machine_id = m.id"                       \
		  " LEFT JOIN allocations a ON a.id = m.allocation_id"
#define SQL_MACHINE_BY_ID_OR_NAME_TEXT(select)                                                     \
	select " WHERE m.id = :key OR m.name = :key ORDER BY m.id = :key DESC LIMIT 1"
#define SQL_MACHINE_BY_MAC_TEXT(select)                                                            \
	select " WHERE m.id = (SELECT machine_id FROM nics WHERE mac = :mac)"
#define SQL_MACHINE_LIST_TEXT(select)                                                              \
	select " WHERE m.seq > :after"                                                             \
	       " AND (:state IS NULL OR m.state = :state)"                                         \
	       " AND (:sku IS NULL OR m.sku = :sku)"                                               \
	       " AND (:owner IS NULL OR a.owner = :owner)"                                         \
	       " AND (:site IS NULL OR m.site = :site)"                                            \
	       " AND (:rack IS NULL OR m.rack = :rack)"                                            \
	       " ORDER BY m.seq LIMIT :limit"
/* The due machines' id, name, site, rack and wake_at, at most :per_rack
 * of one rack. alias: PostgreSQL wants one on the subquery */
#define SQL_MACHINES_DUE_TEXT(alias)                                                               \
	"SELECT id, name, site, rack, wake_at FROM (SELECT id, name, site, rack, wake_at,"         \
	" row_number() OVER (PARTITION BY CASE WHEN rack = '' THEN id"                             \
	" ELSE site || '/' || rack END ORDER BY wake_at) AS n FROM machines"                       \
	" WHERE wake_at > 0 AND wake_at <= :now AND replica IN ('', :replica))" alias              \
	" WHERE n <= :per_rack ORDER BY wake_at LIMIT :limit"

/* The picks of available machines. lock: "" on SQLite (one writer), the row
 * lock on PostgreSQL (sql_pg.c: replicas skip each other's rows). */
#define SQL_POOL_PICK_TEXT(lock)                                                                   \
	"SELECT id FROM machines WHERE sku = :sku AND state = :available"                          \
	" AND maintenance = 0 ORDER BY seq LIMIT :limit" lock
#define SQL_POOL_PICK_WARM_TEXT(lock)                                                              \
	"SELECT id FROM machines WHERE sku = :sku AND state = :available"                          \
	" AND maintenance = 0 ORDER BY CASE WHEN phase IN ('warm', 'rotating') AND power = 'on'"   \
	" THEN 0 WHEN phase = 'warming' THEN 1 ELSE 2 END, seq LIMIT :limit" lock
#define SQL_ALLOC_SUBSTITUTE_PICK_TEXT(lock)                                                       \
	"SELECT m.id FROM allocations a JOIN machines m ON m.sku = a.sku"                          \
	" WHERE a.id = :id AND a.state = :alloc_state AND a.substitutions < :max_subs"             \
	" AND m.state = :available AND m.maintenance = 0 ORDER BY m.seq LIMIT 1" lock
/* The spread picks (alloc_spread.c); coll: the collation of site and rack,
 * "" where the database's own is bytes' order (SQLite's BINARY). */
#define SQL_POOL_NEXT_RACK_TEXT(coll, lock)                                                        \
	"SELECT site, rack, id FROM machines WHERE sku = :sku"                                     \
	" AND state = :available AND maintenance = 0 AND rack != ''"                               \
	" AND (site" coll ", rack" coll ") > (:site, :rack)"                                       \
	" ORDER BY site" coll ", rack" coll ", seq LIMIT 1" lock
#define SQL_POOL_NEXT_SITE_TEXT(coll, lock)                                                        \
	"SELECT site, rack, id FROM machines WHERE sku = :sku"                                     \
	" AND state = :available AND maintenance = 0 AND site" coll " > :site"                     \
	" ORDER BY site" coll ", rack" coll ", seq LIMIT 1" lock
#define SQL_POOL_OLDEST_DOMAIN_TEXT(lock)                                                          \
	"SELECT site, rack, id FROM machines WHERE sku = :sku"                                     \
	" AND state = :available AND maintenance = 0"                                              \
	" AND CASE WHEN :by_site = 1 THEN site ELSE rack END != ''"                                \
	" ORDER BY seq LIMIT 1" lock

/* The audit filters, each off when its parameter is NULL: rows at or after
 * :since; by :actor ("role:name", or the name alone); by :action (exact, or
 * the prefix before a dot: "machine" is every machine.*); by :target.
 * colon: where the ':' is in actor (instr or strpos). */
#define SQL_AUDIT_FILTER(colon)                                                                    \
	" AND (:since IS NULL OR at >= :since)"                                                    \
	" AND (:actor IS NULL OR actor = :actor"                                                   \
	"      OR substr(actor, " colon " + 1) = :actor)"                                          \
	" AND (:action IS NULL OR action = :action"                                                \
	"      OR substr(action, 1, length(:action) + 1) = :action || '.')"                        \
	" AND (:target IS NULL OR target_id = :target)"
#define SQL_AUDIT_SELECT                                                                           \
	"SELECT seq, at, actor, action, target_type, target_id, before, after, request_id"         \
	" FROM audit"
#define SQL_AUDIT_LIST_TEXT(filter)                                                                \
	SQL_AUDIT_SELECT " WHERE seq > :after" filter " ORDER BY seq LIMIT :limit"
#define SQL_AUDIT_LIST_DESC_TEXT(filter)                                                           \
	SQL_AUDIT_SELECT " WHERE seq < :before" filter " ORDER BY seq DESC LIMIT :limit"

/* recheck: PostgreSQL's " used_at = 0 AND" (of two replicas one wins) */
#define SQL_BOOT_GRANT_TAKE_TEXT(recheck)                                                          \
	"UPDATE boot_tokens SET used_at = :now WHERE" recheck " hash ="                            \
	" (SELECT hash FROM boot_tokens WHERE machine_id = :machine"                               \
	"  AND kind = :kind AND used_at = 0 AND expires_at > :now LIMIT 1)"
/* same_sku: 1 for a machine of :sku, else 0 */
#define SQL_DEPLOY_AHEAD_TEXT(same_sku)                                                            \
	"SELECT count(*), coalesce(sum(" same_sku "), 0) FROM machines"                            \
	" WHERE state = :state AND (state_since < :since"                                          \
	" OR (state_since = :since AND id < :id))"

#endif
