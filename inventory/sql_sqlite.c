/* sql_sqlite.c - the SQLite backend's texts: every statement id in sql.h,
 * and the migrations. Connections and statements are db_sqlite.c's.
 *
 * The seam for a second backend (issue 10: PostgreSQL behind the same
 * inventory.h): the typed functions in machines.c, allocations.c, ... name
 * statements by id and bind parameters by name; they hold no SQL. A backend
 * supplies
 *  - a table like sqlite_sql below, one complete statement per id, with
 *    the same named parameters and the same result columns (a backend
 *    whose driver numbers its parameters, like libpq's $1, rewrites
 *    :name to $n once when it prepares the text);
 *  - its connections, statements and transaction steps (backend.h;
 *    db_sqlite.c for SQLite, db_pg.c for PostgreSQL) and its migrations.
 * PostgreSQL's table (sql_pg.c) holds only the texts that differ from
 * these; every other id runs this text there too, so a new statement
 * here must be PostgreSQL as well or get its own entry there (the
 * statement test prepares every id on both).
 * Statements are prepared on first use and cached per connection
 * (struct inv_conn); tests/unit/test_inventory_sql.c prepares every one
 * against a migrated database.
 *
 * Why whole statements, even for the machine change (one UPDATE per field
 * it carries rather than one UPDATE with a CASE per column): every text is
 * complete, so each can be prepared once, cached and checked by the test,
 * and no SQL is assembled at run time. */
#include "inventory/backend.h"
#include "inventory/sql_shared.h"

#define MACHINE_SELECT                                                                             \
	SQL_MACHINE_SELECT("(SELECT group_concat(mac, ',') FROM (SELECT mac FROM nics"             \
			   " WHERE machine_id = m.id ORDER BY mac))")
#define ALLOC_SELECT                                                                               \
	"SELECT seq, id, name, owner, sku, image, count, min_count, state, version, last_error,"   \
	" ssh_keys, substitutions, created_at, ready_at, updated_at, network FROM allocations"
#define IMAGE_SELECT                                                                               \
	"SELECT seq, name, path, url, format, sha256, size, created_at, state, last_error,"        \
	" file_size, file_inode, updated_at FROM images"
#define AUDIT_FILTER SQL_AUDIT_FILTER("instr(actor, ':')")
#define TOKEN_SELECT "SELECT seq, id, name, role, owner, hash, created_at FROM tokens"
#define CMD_SELECT                                                                                 \
	"SELECT id, machine_id, name, args, state, message, details, created_at, updated_at"       \
	" FROM agent_commands"
/* The failure domain of machine m in allocation a's spread: its site when
 * spread across sites (:site binds "site"), else its site and rack; ''
 * when its location lacks it. */
#define DOMAIN_STORED                                                                              \
	"(CASE WHEN a.spread_across = :site THEN m.site WHEN m.rack = '' THEN ''"                  \
	" ELSE m.site || '/' || m.rack END)"
/* One column of one machine, by id (the compare-and-swap change). */
#define MACHINE_SET(cols) "UPDATE machines SET " cols " WHERE id = :id"

static const char *const sqlite_sql[] = {
    /* machines */
    [SQL_MACHINE_BY_ID_OR_NAME] = SQL_MACHINE_BY_ID_OR_NAME_TEXT(MACHINE_SELECT),
    [SQL_MACHINE_BY_MAC] = SQL_MACHINE_BY_MAC_TEXT(MACHINE_SELECT),
    [SQL_MACHINE_LIST] = SQL_MACHINE_LIST_TEXT(MACHINE_SELECT),
    [SQL_MACHINES_DUE] = SQL_MACHINES_DUE_TEXT(""),
    /* wake_at > 0 too: the index on wake_at holds those rows only */
    [SQL_MACHINES_NEXT_WAKE] = "SELECT wake_at FROM machines WHERE wake_at > 0"
			       " AND wake_at > :after AND replica IN ('', :replica)"
			       " ORDER BY wake_at LIMIT 1",
    [SQL_MACHINE_INSERT] =
	"INSERT INTO machines(id, name, state, site, rack, unit, sku, facts, wake_at,"
	" created_at, updated_at, state_since) VALUES(:id, :name, :state, :site, :rack, :unit,"
	" :sku, :facts, :wake_at, :now, :now, :now)",
    [SQL_NIC_INSERT] = "INSERT INTO nics(mac, machine_id) VALUES(:mac, :machine)",
    [SQL_BMC_INSERT] = "INSERT INTO bmcs(machine_id, driver, address, username, password,"
		       " options) VALUES(:machine, :driver, :address, :username, :password,"
		       " :options)",
    [SQL_BMC_GET] = "SELECT driver, address, username, password, options FROM bmcs"
		    " WHERE machine_id = :machine",
    [SQL_BMC_DELETE] = "DELETE FROM bmcs WHERE machine_id = :machine",

    /* the compare-and-swap change */
    [SQL_MACHINE_CURRENT] = "SELECT id, state, version, replica, replica_epoch, wake_at, wakes"
			    " FROM machines"
			    " WHERE id = :key OR name = :key LIMIT 1",
    [SQL_MACHINE_CAS] = "UPDATE machines SET version = version + 1, updated_at = :now"
			" WHERE id = :id AND version = :version",
    [SQL_MACHINE_SET_STATE] = MACHINE_SET("state = :state, state_since = :now"),
    [SQL_MACHINE_SET_PHASE] = MACHINE_SET("phase = :phase"),
    [SQL_MACHINE_SET_ATTEMPTS] = MACHINE_SET("attempts = :attempts"),
    [SQL_MACHINE_SET_WAKE] = MACHINE_SET("wake_at = CASE WHEN :keep = 1 AND wakes <> :wakes_seen"
					 " THEN wake_at ELSE :wake_at END"),
    [SQL_MACHINE_SET_DEADLINE] = MACHINE_SET("deadline_at = :deadline_at"),
    [SQL_MACHINE_SET_LAST_ERROR] = MACHINE_SET("last_error = :last_error"),
    [SQL_MACHINE_SET_POWER] = MACHINE_SET("power = :power"),
    [SQL_MACHINE_SET_SKU] = MACHINE_SET("sku = :sku"),
    [SQL_MACHINE_SET_FACTS] = MACHINE_SET("facts = :facts"),
    [SQL_MACHINE_SET_MAINTENANCE] =
	MACHINE_SET("maintenance = :maintenance, maintenance_reason = :reason"),
    [SQL_MACHINE_SET_NAME] = MACHINE_SET("name = :name"),
    [SQL_MACHINE_SET_LOCATION] = MACHINE_SET("site = :site, rack = :rack, unit = :unit"),
    [SQL_MACHINE_SET_ALLOCATION] = MACHINE_SET("allocation_id = :allocation"),
    [SQL_MACHINE_DETACH_ALL] = "UPDATE allocation_machines SET detached = 1"
			       " WHERE machine_id = :machine AND detached = 0",
    [SQL_MACHINE_SET_CLAIM] = MACHINE_SET("replica = :replica, replica_epoch = :epoch"),
    [SQL_MACHINES_RECOVER] = "UPDATE machines SET wake_at = :now, replica = '', replica_epoch = 0,"
			     " version = version + 1 WHERE wake_at > :now AND state = :state"
			     " AND replica IN ('', :replica)",

    /* replicas */
    [SQL_REPLICA_REGISTER] =
	"INSERT INTO replicas(name, epoch, roles, address, started_at, heartbeat_at, live)"
	" VALUES(:name, 1, :roles, :address, :now, :now, 1) ON CONFLICT(name) DO UPDATE SET"
	" epoch = replicas.epoch + 1, roles = excluded.roles, address = excluded.address,"
	" started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, live = 1",
    [SQL_REPLICA_EPOCH] = "SELECT epoch FROM replicas WHERE name = :name",
    [SQL_REPLICA_HEARTBEAT] = "UPDATE replicas SET heartbeat_at = :now"
			      " WHERE name = :name AND epoch = :epoch AND live = 1",
    [SQL_REPLICAS_STALE] = "SELECT name, epoch FROM replicas WHERE live = 1"
			   " AND heartbeat_at < :before AND name <> :name",
    [SQL_REPLICA_FENCE] = "UPDATE replicas SET live = 0, epoch = epoch + 1"
			  " WHERE name = :name AND epoch = :epoch AND live = 1",
    [SQL_MACHINES_UNCLAIM] = "UPDATE machines SET replica = '', replica_epoch = 0,"
			     " version = version + 1,"
			     " wake_at = CASE WHEN wake_at > :now THEN :now ELSE wake_at END"
			     " WHERE replica = :replica",
    [SQL_REPLICA_LIST] = "SELECT r.name, r.epoch, r.roles, r.address, r.started_at,"
			 " r.heartbeat_at, r.live, (SELECT count(*) FROM machines m"
			 " WHERE m.replica = r.name) FROM replicas r ORDER BY r.name",

    /* allocations */
    [SQL_ALLOC_GET] = ALLOC_SELECT " WHERE id = :id",
    [SQL_ALLOC_MEMBERS] = "SELECT am.machine_id, m.name, m.state, am.detached, m.ip, am.image,"
			  " coalesce(x.address, '')"
			  " FROM allocation_machines am JOIN machines m ON m.id = am.machine_id"
			  " LEFT JOIN allocation_addresses x ON x.allocation_id = am.allocation_id"
			  " AND x.machine_id = am.machine_id AND am.detached = 0"
			  " WHERE am.allocation_id = :id ORDER BY am.detached, m.seq",
    [SQL_ALLOC_LIST_IDS] = "SELECT id FROM allocations WHERE seq > :after"
			   " AND (:owner IS NULL OR owner = :owner)"
			   " AND (:state IS NULL OR state = :state) ORDER BY seq LIMIT :limit",
    [SQL_ALLOC_BY_NAME] = "SELECT id FROM allocations WHERE name = :name"
			  " AND (:owner IS NULL OR owner = :owner) ORDER BY seq DESC LIMIT 1",
    [SQL_ALLOC_INSERT] =
	"INSERT INTO allocations(id, name, owner, sku, image, count, min_count, state,"
	" ssh_keys, created_at, updated_at) VALUES(:id, :name, :owner, :sku, :image, :count,"
	" :min_count, :state, :ssh_keys, :now, :now)",
    [SQL_ALLOC_STATE] = "SELECT state FROM allocations WHERE id = :id",
    [SQL_ALLOC_SET_STATE] =
	"UPDATE allocations SET state = :state, version = version + 1, updated_at = :now,"
	" ready_at = coalesce(:ready_at, ready_at), last_error = coalesce(:last_error,"
	" last_error) WHERE id = :id",
    [SQL_ALLOC_RELEASE_EVENTS] =
	"INSERT INTO machine_events(machine_id, at, from_state, to_state, actor, reason,"
	" request_id) SELECT m.id, :now, m.state, :releasing, :actor, :reason, :request_id"
	" FROM machines m JOIN allocation_machines am ON am.machine_id = m.id"
	" AND am.detached = 0 WHERE am.allocation_id = :id AND m.state IN (:deploying, :active)",
    [SQL_ALLOC_RELEASE_MACHINES] =
	"UPDATE machines SET state = :releasing, version = version + 1, phase = '',"
	" attempts = 0, wake_at = :now, deadline_at = 0, updated_at = :now, state_since = :now"
	" WHERE id IN (SELECT machine_id FROM allocation_machines WHERE allocation_id = :id"
	" AND detached = 0) AND state IN (:deploying, :active)",
    [SQL_ALLOC_DETACH_MACHINE] = "UPDATE allocation_machines SET detached = 1"
				 " WHERE allocation_id = :allocation AND machine_id = :machine",
    [SQL_ALLOC_COUNT_SUBSTITUTION] = "UPDATE allocations SET substitutions = substitutions + 1,"
				     " version = version + 1 WHERE id = :id",
    [SQL_ALLOC_SUBSTITUTE_PICK] = SQL_ALLOC_SUBSTITUTE_PICK_TEXT(""),
    [SQL_ALLOC_MACHINE_INSERT] = "INSERT INTO allocation_machines(allocation_id, machine_id,"
				 " attached_at) VALUES(:allocation, :machine, :now)",
    [SQL_MACHINE_ATTACH] =
	"UPDATE machines SET state = :deploying, version = version + 1,"
	" allocation_id = :allocation, phase = '', attempts = 0, wake_at = :wake_at,"
	" deadline_at = 0, last_error = '', updated_at = :now, state_since = :now"
	" WHERE id = :id AND state = :available",
    [SQL_MACHINE_DROP_ALLOCATION] = "UPDATE machines SET allocation_id = NULL,"
				    " version = version + 1"
				    " WHERE id = :id AND allocation_id = :allocation",
    [SQL_POOL_COUNT] = "SELECT count(*) FROM machines WHERE sku = :sku AND state = :available"
		       " AND maintenance = 0",
    [SQL_POOL_PICK] = SQL_POOL_PICK_TEXT(""),
    [SQL_POOL_PICK_WARM] = SQL_POOL_PICK_WARM_TEXT(""),
    [SQL_POOL_WARM] = "SELECT id, phase FROM machines WHERE sku = :sku AND state = :available"
		      " AND (phase IN ('warming', 'rotating') OR (phase = 'warm' AND power = 'on'))"
		      " ORDER BY seq LIMIT :limit",
    /* least recently changed first: a machine just rotated out is the last
     * one warmed again */
    [SQL_POOL_COLD] = "SELECT id FROM machines WHERE sku = :sku AND state = :available"
		      " AND maintenance = 0 AND phase = '' ORDER BY updated_at, seq LIMIT :limit",
    [SQL_OWNER_USAGE] = "SELECT count(*) FROM allocation_machines am"
			" JOIN allocations a ON a.id = am.allocation_id"
			" WHERE a.owner = :owner AND a.sku = :sku AND am.detached = 0",
    [SQL_IDEMPOTENCY_FIND] =
	"SELECT allocation_id FROM idempotency_keys WHERE owner = :owner AND key = :key",
    [SQL_IDEMPOTENCY_INSERT] = "INSERT INTO idempotency_keys(owner, key, allocation_id,"
			       " created_at) VALUES(:owner, :key, :allocation, :now)",
    [SQL_ALLOC_SET_SPREAD] = "UPDATE allocations SET spread_across = :across,"
			     " spread_mode = :mode WHERE id = :id",
    [SQL_ALLOC_SPREAD] =
	"SELECT a.spread_across, a.spread_mode, CASE WHEN a.spread_across = '' THEN 0 ELSE"
	" (SELECT count(DISTINCT " DOMAIN_STORED ") FROM allocation_machines am"
	"  JOIN machines m ON m.id = am.machine_id WHERE am.allocation_id = a.id"
	"  AND am.detached = 0 AND " DOMAIN_STORED " != '') END, a.sku"
	" FROM allocations a WHERE a.id = :id",
    [SQL_ALLOC_SET_USER_DATA] = "UPDATE allocations SET user_data = :user_data WHERE id = :id",
    [SQL_ALLOC_USER_DATA] = "SELECT user_data FROM allocations WHERE id = :id",
    [SQL_ALLOC_SET_NETWORK] = "UPDATE allocations SET network = :network WHERE id = :id",
    [SQL_ALLOC_ADDRESS_INSERT] =
	"INSERT INTO allocation_addresses(allocation_id, slot, address, ip, machine_id)"
	" VALUES(:allocation, :slot, :address, :ip, :machine)",
    [SQL_ALLOC_ADDRESS_MOVE] = "UPDATE allocation_addresses SET machine_id = :new"
			       " WHERE allocation_id = :allocation AND machine_id = :old",
    [SQL_ADDRESS_HOLDER] = "SELECT a.id, a.owner FROM allocation_addresses x"
			   " JOIN allocations a ON a.id = x.allocation_id"
			   " WHERE x.ip = :ip AND a.state <> :released LIMIT 1",
    [SQL_ALLOC_SPREAD_USED] = "SELECT m.site, m.rack FROM allocation_machines am"
			      " JOIN machines m ON m.id = am.machine_id"
			      " WHERE am.allocation_id = :id AND am.detached = 0",
    /* machines_pool_domain (schema 8) makes each a seek */
    [SQL_POOL_NEXT_RACK] = SQL_POOL_NEXT_RACK_TEXT("", ""),
    [SQL_POOL_NEXT_SITE] = SQL_POOL_NEXT_SITE_TEXT("", ""),
    [SQL_POOL_OLDEST_DOMAIN] = SQL_POOL_OLDEST_DOMAIN_TEXT(""),

    /* events, audit, capacity */
    [SQL_EVENT_INSERT] = "INSERT INTO machine_events(machine_id, at, from_state, to_state,"
			 " actor, reason, request_id) VALUES(:machine, :now, :from, :to,"
			 " :actor, :reason, :request_id)",
    [SQL_EVENT_LIST] = "SELECT seq, at, machine_id, from_state, to_state, actor, reason,"
		       " request_id FROM machine_events WHERE machine_id = :machine"
		       " AND seq > :after ORDER BY seq LIMIT :limit",
    [SQL_EVENT_TENANT_CURSOR] =
	"SELECT coalesce(min(e.seq) - 1, (SELECT coalesce(max(seq), 0) FROM machine_events))"
	" FROM machine_events e WHERE e.machine_id = :machine AND e.at >="
	" (SELECT max(attached_at) FROM allocation_machines"
	"  WHERE machine_id = :machine AND allocation_id = :alloc)",
    [SQL_AUDIT_INSERT] = "INSERT INTO audit(at, actor, action, target_type, target_id, before,"
			 " after, request_id) VALUES(:now, :actor, :action, :target_type,"
			 " :target_id, :before, :after, :request_id)",
    [SQL_AUDIT_LIST] = SQL_AUDIT_LIST_TEXT(AUDIT_FILTER),
    [SQL_AUDIT_LIST_DESC] = SQL_AUDIT_LIST_DESC_TEXT(AUDIT_FILTER),
    /* machine_counts: kept by triggers (schema 7) */
    [SQL_CAPACITY] = "SELECT sku, state, n, maintenance FROM machine_counts WHERE n > 0"
		     " ORDER BY sku, state",
    [SQL_CAPACITY_BY_RACK] = "SELECT site, rack, state, count(*), sum(maintenance) FROM machines"
			     " GROUP BY site, rack, state ORDER BY site, rack, state",

    /* images, tokens, quotas, settings, boot tokens */
    [SQL_IMAGE_INSERT] = "INSERT INTO images(name, path, url, format, sha256, size, created_at,"
			 " state, file_size, file_inode, updated_at) VALUES(:name, :path, :url,"
			 " :format, :sha256, :size, :now, :state, :file_size, :file_inode, :now)",
    [SQL_IMAGE_GET] = IMAGE_SELECT " WHERE name = :name",
    [SQL_IMAGE_LIST] = IMAGE_SELECT " WHERE seq > :after ORDER BY seq LIMIT :limit",
    [SQL_IMAGE_IN_USE] =
	"SELECT (SELECT count(*) FROM allocations WHERE image = :name"
	" AND state NOT IN (:released, :failed)) + (SELECT count(*) FROM allocation_machines am"
	" JOIN allocations a ON a.id = am.allocation_id WHERE am.image = :name"
	" AND am.detached = 0 AND a.state NOT IN (:released, :failed))"
	" + (SELECT count(*) FROM rollouts WHERE image = :name AND finished_at = 0)",
    [SQL_IMAGE_DELETE] = "DELETE FROM images WHERE name = :name",
    [SQL_IMAGE_FETCH_DONE] = "UPDATE images SET state = :state, last_error = :last_error,"
			     " path = :path, size = :size, file_size = :file_size,"
			     " file_inode = :file_inode, updated_at = :now"
			     " WHERE seq = :seq AND state = :fetching",
    [SQL_IMAGE_NEXT_FETCHING] = IMAGE_SELECT " WHERE state = :fetching AND seq > :after"
					     " ORDER BY seq LIMIT 1",
    [SQL_TOKEN_INSERT] = "INSERT INTO tokens(id, name, role, owner, hash, created_at)"
			 " VALUES(:id, :name, :role, :owner, :hash, :now)",
    [SQL_TOKEN_BY_HASH] = TOKEN_SELECT " WHERE hash = :hash",
    [SQL_TOKEN_LIST] = TOKEN_SELECT " WHERE seq > :after ORDER BY seq LIMIT :limit",
    [SQL_TOKEN_DELETE] = "DELETE FROM tokens WHERE id = :id",
    [SQL_QUOTA_UPSERT] = "INSERT INTO quotas(owner, sku, machines) VALUES(:owner, :sku,"
			 " :machines) ON CONFLICT(owner, sku) DO UPDATE SET machines = :machines",
    [SQL_QUOTA_DELETE] = "DELETE FROM quotas WHERE owner = :owner AND sku = :sku",
    [SQL_QUOTA_GET] = "SELECT machines FROM quotas WHERE owner = :owner AND sku = :sku",
    [SQL_QUOTA_LIST] = "SELECT q.sku, q.machines, (SELECT count(*) FROM allocation_machines am"
		       " JOIN allocations a ON a.id = am.allocation_id WHERE a.owner = q.owner"
		       " AND a.sku = q.sku AND am.detached = 0) FROM quotas q"
		       " WHERE q.owner = :owner ORDER BY q.sku",
    [SQL_SETTING_GET] = "SELECT value FROM settings WHERE key = :key",
    [SQL_SETTING_UPSERT] = "INSERT INTO settings(key, value, updated_at) VALUES(:key, :value,"
			   " :now) ON CONFLICT(key) DO UPDATE SET value = :value,"
			   " updated_at = :now",
    [SQL_BOOT_TOKEN_INSERT] = "INSERT INTO boot_tokens(hash, machine_id, kind, created_at,"
			      " expires_at) VALUES(:hash, :machine, :kind, :now, :expires_at)",
    [SQL_BOOT_TOKEN_FIND] = "SELECT machine_id FROM boot_tokens WHERE hash = :hash"
			    " AND kind = :kind AND used_at = 0 AND expires_at > :now",
    /* re-checks used_at = 0: of two racing uses exactly one changes the row */
    [SQL_BOOT_TOKEN_USE] =
	"UPDATE boot_tokens SET used_at = :now WHERE hash = :hash AND used_at = 0",
    [SQL_BOOT_TOKEN_REVOKE] = "UPDATE boot_tokens SET used_at = :now"
			      " WHERE machine_id = :machine AND (:kind IS NULL OR kind = :kind)"
			      " AND used_at = 0",
    [SQL_BOOT_GRANT_TAKE] = SQL_BOOT_GRANT_TAKE_TEXT(""),
    [SQL_BOOT_LIVE_COUNT] = "SELECT count(*) FROM boot_tokens WHERE machine_id = :machine"
			    " AND kind = :kind AND used_at = 0 AND expires_at > :now",
    [SQL_BOOT_TOKEN_PURGE] = "DELETE FROM boot_tokens WHERE used_at != 0 OR expires_at <= :now",
    [SQL_MACHINE_LIVE_ALLOCATIONS] =
	"SELECT count(*) FROM allocation_machines am JOIN allocations a"
	" ON a.id = am.allocation_id WHERE am.machine_id = :id AND am.detached = 0"
	" AND a.state NOT IN (:released, :failed)",
    [SQL_MACHINE_EVER_ALLOCATED] =
	"SELECT count(*) FROM allocation_machines WHERE machine_id = :id",
    [SQL_MACHINE_DELETE_ATTACHMENTS] = "DELETE FROM allocation_machines WHERE machine_id = :id",
    [SQL_MACHINE_DELETE_EVENTS] = "DELETE FROM machine_events WHERE machine_id = :id",
    [SQL_MACHINE_DELETE_COMMANDS] = "DELETE FROM agent_commands WHERE machine_id = :id",
    [SQL_MACHINE_DELETE_TOKENS] = "DELETE FROM boot_tokens WHERE machine_id = :id",
    [SQL_MACHINE_DELETE] = "DELETE FROM machines WHERE id = :id",
    [SQL_MACHINES_DISCOVERED] = "SELECT count(*) FROM machines m WHERE m.state = :enrolled"
				" AND NOT EXISTS (SELECT 1 FROM bmcs b WHERE b.machine_id = m.id)"
				" AND EXISTS (SELECT 1 FROM machine_events e"
				"  WHERE e.machine_id = m.id AND e.actor = :discovery)",
    [SQL_MACHINES_DISCOVERED_STALE] =
	"SELECT m.id FROM machines m WHERE m.state = :enrolled AND m.created_at < :before"
	" AND NOT EXISTS (SELECT 1 FROM bmcs b WHERE b.machine_id = m.id)"
	" AND EXISTS (SELECT 1 FROM machine_events e WHERE e.machine_id = m.id"
	"  AND e.actor = :discovery) LIMIT 100",

    /* agent commands, agent liveness */
    [SQL_CMD_SUPERSEDE] = "UPDATE agent_commands SET state = :failed, message = :message,"
			  " updated_at = :now WHERE machine_id = :machine"
			  " AND state IN (:pending, :sent, :external)",
    [SQL_CMD_INSERT] = "INSERT INTO agent_commands(id, machine_id, name, args, state,"
		       " created_at, updated_at) VALUES(:id, :machine, :name, :args, :state,"
		       " :now, :now)",
    [SQL_CMD_LATEST] =
	CMD_SELECT " WHERE machine_id = :machine AND name = :name ORDER BY seq DESC LIMIT 1",
    [SQL_CMD_NEXT_PENDING] =
	CMD_SELECT " WHERE machine_id = :machine AND state = :pending ORDER BY seq LIMIT 1",
    [SQL_CMD_SET_STATE] = "UPDATE agent_commands SET state = :state, updated_at = :now"
			  " WHERE id = :id",
    [SQL_CMD_FINISH] =
	"UPDATE agent_commands SET state = :state, message = :message, details = :details,"
	" updated_at = :now WHERE seq = (SELECT seq FROM agent_commands"
	" WHERE machine_id = :machine AND state IN (:pending, :sent, :external)"
	" AND (:id IS NULL OR id = :id) AND (:name IS NULL OR name = :name)"
	" ORDER BY seq DESC LIMIT 1)",
    [SQL_CMD_REQUEUE] = "UPDATE agent_commands SET state = :pending, updated_at = :now"
			" WHERE machine_id = :machine AND state = :sent",
    [SQL_MACHINE_WAKE_NOW] = "UPDATE machines SET wake_at = :now, wakes = wakes + 1"
			     " WHERE id = :id",
    [SQL_MACHINE_AGENT_SEEN] = "UPDATE machines SET agent_seen_at = :at WHERE id = :id",
    [SQL_MACHINE_AGENT_SEEN_AT] = "SELECT agent_seen_at FROM machines WHERE id = :id",
    [SQL_AGENT_SESSIONS_QUIET] =
	"SELECT count(DISTINCT t.machine_id) FROM boot_tokens t JOIN machines m"
	" ON m.id = t.machine_id WHERE t.kind = 'session' AND t.used_at = 0"
	" AND t.expires_at > :now AND m.agent_seen_at < :before",
    [SQL_MACHINE_SET_IP] = "UPDATE machines SET ip = :ip WHERE id = :id",
    [SQL_DEPLOY_AHEAD] = SQL_DEPLOY_AHEAD_TEXT("sku = :sku"),
    /* staged image rollouts */
    [SQL_ROLLOUT_INSERT] =
	"INSERT INTO rollouts(id, allocation_id, image, old_image, waves, max_failures, state,"
	" actor, request_id, created_at, updated_at) VALUES(:id, :alloc, :image, :old_image,"
	" :waves, :max_failures, :state, :actor, :request_id, :now, :now)",
    [SQL_ROLLOUT_MACHINE_INSERT] = "INSERT INTO rollout_machines(rollout_id, machine_id, wave,"
				   " state) VALUES(:id, :machine, :wave, :state)",
    [SQL_ROLLOUT_OPEN_OF] = "SELECT count(*) FROM rollouts WHERE allocation_id = :alloc"
			    " AND state IN (:running, :halting, :cancelling)",
    [SQL_ROLLOUT_GET] = "SELECT id, allocation_id, image, old_image, waves, max_failures, state,"
			" wave, wave_started_at, failures, reason, actor, created_at, updated_at,"
			" finished_at FROM rollouts WHERE id = :id",
    [SQL_ROLLOUT_LATEST] =
	"SELECT id FROM rollouts WHERE allocation_id = :alloc ORDER BY seq DESC LIMIT 1",
    [SQL_ROLLOUTS_OPEN] = "SELECT id FROM rollouts WHERE state IN (:running, :halting,"
			  " :cancelling) ORDER BY seq LIMIT :limit",
    [SQL_ROLLOUT_MACHINES] =
	"SELECT rm.machine_id, coalesce(m.name, ''), rm.wave, rm.state, rm.message,"
	" rm.started_at, rm.finished_at FROM rollout_machines rm LEFT JOIN machines m"
	" ON m.id = rm.machine_id WHERE rm.rollout_id = :id ORDER BY rm.wave, m.seq",
    [SQL_ROLLOUT_CAS] =
	"UPDATE rollouts SET state = :state, wave = :wave, wave_started_at = :wave_started_at,"
	" failures = failures + :failed, reason = :reason, updated_at = :now,"
	" finished_at = :finished_at WHERE id = :id AND state = :expect_state"
	" AND wave = :expect_wave",
    [SQL_ROLLOUT_MACHINE_SET] =
	"UPDATE rollout_machines SET state = :state, message = :message,"
	" started_at = :started_at, finished_at = :finished_at"
	" WHERE rollout_id = :id AND machine_id = :machine AND state = :expect",
    [SQL_ROLLOUT_SKIP_PENDING] = "UPDATE rollout_machines SET state = :skipped, message = :message,"
				 " finished_at = :now WHERE rollout_id = :id AND state = :pending",
    [SQL_ROLLOUT_REIMAGE] =
	"UPDATE machines SET state = :deploying, state_since = :now, version = version + 1,"
	" updated_at = :now, phase = '', attempts = 0, wake_at = :now, deadline_at = 0,"
	" last_error = '' WHERE id = :id AND state = :active AND allocation_id = :alloc"
	" AND maintenance = 0",
    [SQL_ALLOC_MACHINE_IMAGE] = "UPDATE allocation_machines SET image = :image"
				" WHERE allocation_id = :alloc AND machine_id = :machine",
    [SQL_ALLOC_SET_IMAGE] = "UPDATE allocations SET image = :image, version = version + 1,"
			    " updated_at = :now WHERE id = :id",
    [SQL_ALLOC_CLEAR_IMAGES] = "UPDATE allocation_machines SET image = ''"
			       " WHERE allocation_id = :id AND image = :image",
};
/* Catches a missing last entry; a hole in the middle is NULL, which the
 * statement test refuses. */
_Static_assert(sizeof sqlite_sql / sizeof sqlite_sql[0] == SQL__COUNT,
	       "sqlite_sql must cover enum inv_sql");

const char *inv_sql_text(enum inv_sql id)
{
	return (unsigned)id < SQL__COUNT ? sqlite_sql[id] : NULL;
}

/* The SQLite migrations, by version (schema.c runs them; PostgreSQL's are
 * in sql_pg.c). Append a migration to add a version; never edit a released
 * one. */
const char *const inv_sqlite_migrations[] = {
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

    /* 9: PostgreSQL's machines_pool_seq (sku, state, maintenance, seq) for
     * the picks in seq order; nothing here: machines_pool holds its rows in
     * that order already (seq is the rowid), EXPLAIN QUERY PLAN shows no
     * sort for them */
    "",

    /* 10: staged image rollouts (rollouts.c): a rollout per allocation and
     * wave, each machine's wave and outcome, and the image a machine runs
     * when a rollout gave it another than its allocation's ('' none) */
    "CREATE TABLE rollouts ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " allocation_id TEXT NOT NULL REFERENCES allocations(id),"
    " image TEXT NOT NULL, old_image TEXT NOT NULL, waves TEXT NOT NULL,"
    " max_failures INTEGER NOT NULL, state TEXT NOT NULL,"
    " wave INTEGER NOT NULL DEFAULT -1, wave_started_at INTEGER NOT NULL DEFAULT 0,"
    " failures INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',"
    " actor TEXT NOT NULL, request_id TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " finished_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX rollouts_alloc ON rollouts(allocation_id, seq);"
    "CREATE INDEX rollouts_state ON rollouts(state, seq);"
    "CREATE TABLE rollout_machines ("
    " rollout_id TEXT NOT NULL REFERENCES rollouts(id), machine_id TEXT NOT NULL,"
    " wave INTEGER NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',"
    " started_at INTEGER NOT NULL DEFAULT 0, finished_at INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (rollout_id, machine_id));"
    "ALTER TABLE allocation_machines ADD COLUMN image TEXT NOT NULL DEFAULT '';",

    /* 11: replicas (docs/scale-out.md, "Replicas"): who is alive, and which
     * replica's engine drives each machine under which epoch ('' none) */
    "CREATE TABLE replicas (name TEXT PRIMARY KEY, epoch INTEGER NOT NULL,"
    " roles TEXT NOT NULL, address TEXT NOT NULL DEFAULT '', started_at INTEGER NOT NULL,"
    " heartbeat_at INTEGER NOT NULL, live INTEGER NOT NULL DEFAULT 1);"
    "ALTER TABLE machines ADD COLUMN replica TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE machines ADD COLUMN replica_epoch INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX machines_replica ON machines(replica) WHERE replica <> '';",

    /* 12: an allocation's cloud-init user data (text, NULL: none); read
     * only by the deploy that writes the config drive, never listed */
    "ALTER TABLE allocations ADD COLUMN user_data TEXT;",

    /* 13: an allocation's static network (docs/allocations.md, "Static
     * network"): the configuration as given (NULL: DHCP), and one row per
     * address in the order given, with the machine that holds it now ('':
     * none); ip is the address without its prefix, the key no two live
     * allocations share */
    "ALTER TABLE allocations ADD COLUMN network TEXT;"
    "CREATE TABLE allocation_addresses ("
    " allocation_id TEXT NOT NULL REFERENCES allocations(id), slot INTEGER NOT NULL,"
    " address TEXT NOT NULL, ip TEXT NOT NULL, machine_id TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (allocation_id, slot));"
    "CREATE INDEX allocation_addresses_ip ON allocation_addresses(ip);",

    /* 14: how many times the inventory woke a machine (an agent's report):
     * the engine's step keeps a wake-up it did not see (docs/lifecycle.md,
     * "Crash-only recovery") */
    "ALTER TABLE machines ADD COLUMN wakes INTEGER NOT NULL DEFAULT 0;",
};
_Static_assert(sizeof inv_sqlite_migrations / sizeof inv_sqlite_migrations[0] ==
		   INV_SCHEMA_VERSIONS,
	       "a migration for every schema version");
