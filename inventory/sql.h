/* sql.h - the inventory's statements by id, shared by every backend.
 *
 * The typed functions (machines.c, allocations.c, ...) name a statement by
 * its id; a backend supplies the text of every id (sql_sqlite.c for
 * SQLite). Parameters are named (:name) and bound by name, so a statement's
 * text can change order or grow a parameter without touching its callers.
 * A statement that returns rows returns the columns its reader expects, in
 * that order (named below). State names are always bound parameters, from
 * inv_state_name() / inv_alloc_state_name(), never literals in the text. */
#ifndef PROVISIOND_INVENTORY_SQL_H
#define PROVISIOND_INVENTORY_SQL_H

enum inv_sql {
	/* machines (machines.c); reads return read_machine()'s columns */
	SQL_MACHINE_BY_ID_OR_NAME, /* :key */
	SQL_MACHINE_BY_MAC,	   /* :mac */
	SQL_MACHINE_LIST,	   /* :after, :state, :sku, :owner, :site, :rack, :limit */
	SQL_MACHINES_DUE,	   /* :now, :per_rack, :limit, :replica */
	SQL_MACHINES_NEXT_WAKE,	   /* :replica -> min(wake_at) */
	SQL_MACHINE_INSERT,
	SQL_NIC_INSERT,
	SQL_BMC_INSERT,
	SQL_BMC_GET, /* :machine -> driver, address, username, password, options */
	SQL_BMC_DELETE,

	/* the compare-and-swap change (machine_change.c): SQL_MACHINE_CAS bumps
	 * the version, then one SQL_MACHINE_SET_* per field the change carries */
	SQL_MACHINE_CURRENT, /* :key -> id, state, version, replica, replica_epoch */
	SQL_MACHINE_CAS,     /* :id, :version, :now */
	SQL_MACHINE_SET_STATE,
	SQL_MACHINE_SET_PHASE,
	SQL_MACHINE_SET_ATTEMPTS,
	SQL_MACHINE_SET_WAKE,
	SQL_MACHINE_SET_DEADLINE,
	SQL_MACHINE_SET_LAST_ERROR,
	SQL_MACHINE_SET_POWER,
	SQL_MACHINE_SET_SKU,
	SQL_MACHINE_SET_FACTS,
	SQL_MACHINE_SET_MAINTENANCE,
	SQL_MACHINE_SET_NAME,
	SQL_MACHINE_SET_LOCATION,
	SQL_MACHINE_SET_ALLOCATION,
	SQL_MACHINE_DETACH_ALL,
	SQL_MACHINE_SET_CLAIM, /* :replica, :epoch */
	SQL_MACHINES_RECOVER,  /* :now, :state, :replica */

	/* replicas (replicas.c) */
	SQL_REPLICA_REGISTER,  /* :name, :roles, :address, :now */
	SQL_REPLICA_EPOCH,     /* :name -> epoch */
	SQL_REPLICA_HEARTBEAT, /* :name, :epoch, :now */
	SQL_REPLICAS_STALE,    /* :before, :name -> name, epoch */
	SQL_REPLICA_FENCE,     /* :name, :epoch */
	SQL_MACHINES_UNCLAIM,  /* :replica, :now: a lost replica's machines */
	SQL_REPLICA_LIST,      /* -> name, epoch, roles, address, started_at,
				* heartbeat_at, live, machines */

	/* allocations (allocations.c, alloc_reserve.c, alloc_state.c) */
	SQL_ALLOC_GET,	    /* :id -> read_alloc()'s columns */
	SQL_ALLOC_MEMBERS,  /* :id -> machine_id, name, state, detached, ip, image, address */
	SQL_ALLOC_LIST_IDS, /* :after, :owner, :state, :limit -> id */
	SQL_ALLOC_BY_NAME,  /* :name, :owner -> id of the newest of that name */
	SQL_ALLOC_INSERT,
	SQL_ALLOC_STATE, /* :id -> state */
	SQL_ALLOC_SET_STATE,
	SQL_ALLOC_RELEASE_EVENTS,
	SQL_ALLOC_RELEASE_MACHINES,
	SQL_ALLOC_DETACH_MACHINE,
	SQL_ALLOC_COUNT_SUBSTITUTION,
	SQL_ALLOC_SUBSTITUTE_PICK, /* -> id */
	SQL_ALLOC_MACHINE_INSERT,
	SQL_MACHINE_ATTACH,
	SQL_MACHINE_DROP_ALLOCATION,
	SQL_POOL_COUNT, /* -> count */
	SQL_POOL_PICK,	/* -> id */
	/* warm pools (pool_warm.c): warm machines first, then by seq */
	SQL_POOL_PICK_WARM, /* :sku, :available, :limit -> id */
	SQL_POOL_WARM,	    /* :sku, :available, :limit -> id, phase */
	SQL_POOL_COLD,	    /* :sku, :available, :limit -> id */
	SQL_OWNER_USAGE,
	SQL_IDEMPOTENCY_FIND, /* -> allocation_id */
	SQL_IDEMPOTENCY_INSERT,
	/* failure-domain spread (alloc_spread.c) */
	SQL_ALLOC_SET_SPREAD,  /* :id, :across, :mode */
	SQL_ALLOC_SPREAD,      /* :id, :site -> across, mode, domains, sku */
	SQL_ALLOC_SPREAD_USED, /* :id -> site, rack of each attached machine */
	/* an allocation's cloud-init user data (alloc_user_data.c) */
	SQL_ALLOC_SET_USER_DATA, /* :id, :user_data */
	SQL_ALLOC_USER_DATA,	 /* :id -> user_data (NULL: none) */
	/* an allocation's static network (alloc_network.c) */
	SQL_ALLOC_SET_NETWORK,	  /* :id, :network */
	SQL_ALLOC_ADDRESS_INSERT, /* :allocation, :slot, :address, :ip, :machine */
	SQL_ALLOC_ADDRESS_MOVE,	  /* :allocation, :old, :new */
	SQL_ADDRESS_HOLDER,	  /* :ip, :released -> allocation id, owner */
	/* the oldest available machine of sku in the first rack after (:site,
	 * :rack), or the first site after :site: a seek per rack (site) */
	SQL_POOL_NEXT_RACK, /* :sku, :available, :site, :rack -> site, rack, id */
	SQL_POOL_NEXT_SITE, /* :sku, :available, :site -> site, rack, id */
	/* the oldest available machine of sku in a rack (:by_site 1: a site) */
	SQL_POOL_OLDEST_DOMAIN, /* :sku, :available, :by_site -> site, rack, id */

	/* events, audit, capacity (records.c) */
	SQL_EVENT_INSERT,
	SQL_EVENT_LIST,
	SQL_EVENT_TENANT_CURSOR, /* :machine, :alloc -> the cursor before the tenant's first event
				  */
	SQL_AUDIT_INSERT,
	SQL_AUDIT_LIST,	      /* :after + AUDIT_FILTER's, :limit; oldest first */
	SQL_AUDIT_LIST_DESC,  /* :before + the same; newest first */
	SQL_CAPACITY,	      /* -> sku, state, count, maintenance count */
	SQL_CAPACITY_BY_RACK, /* -> site, rack, state, count, maintenance count */

	/* images, tokens, quotas, settings, boot tokens (catalog.c) */
	SQL_IMAGE_INSERT,
	SQL_IMAGE_GET,	/* :name -> read_image()'s columns */
	SQL_IMAGE_LIST, /* :after, :limit */
	SQL_IMAGE_IN_USE,
	SQL_IMAGE_DELETE,
	SQL_IMAGE_FETCH_DONE,	 /* :seq, :fetching + the new :state and file columns */
	SQL_IMAGE_NEXT_FETCHING, /* :after, :fetching -> read_image()'s columns */
	SQL_TOKEN_INSERT,
	SQL_TOKEN_BY_HASH, /* :hash -> read_token()'s columns */
	SQL_TOKEN_LIST,	   /* :after, :limit */
	SQL_TOKEN_DELETE,
	SQL_QUOTA_UPSERT,
	SQL_QUOTA_DELETE,
	SQL_QUOTA_GET,
	SQL_QUOTA_LIST, /* :owner -> sku, machines, used */
	SQL_SETTING_GET,
	SQL_SETTING_UPSERT,
	SQL_BOOT_TOKEN_INSERT,
	SQL_BOOT_TOKEN_FIND, /* -> machine_id */
	SQL_BOOT_TOKEN_USE,
	SQL_BOOT_TOKEN_REVOKE,
	SQL_BOOT_GRANT_TAKE,  /* :machine, :kind, :now: uses one live grant */
	SQL_BOOT_LIVE_COUNT,  /* :machine, :kind, :now -> live tokens of kind */
	SQL_BOOT_TOKEN_PURGE, /* :now: drops used and expired tokens */
	/* deleting a machine (machine_delete.c) */
	SQL_MACHINE_LIVE_ALLOCATIONS, /* :id, :released, :failed -> attachments to live allocations
				       */
	SQL_MACHINE_EVER_ALLOCATED,   /* :id -> rows in allocation_machines */
	SQL_MACHINE_DELETE_ATTACHMENTS,
	SQL_MACHINE_DELETE_EVENTS,
	SQL_MACHINE_DELETE_COMMANDS,
	SQL_MACHINE_DELETE_TOKENS,
	SQL_MACHINE_DELETE,	       /* :id (nics and bmcs follow by ON DELETE CASCADE) */
	SQL_MACHINES_DISCOVERED,       /* :enrolled -> enrolled machines without BMC access */
	SQL_MACHINES_DISCOVERED_STALE, /* :enrolled, :before -> ids of those created before */

	/* agent commands and agent liveness (commands.c) */
	SQL_CMD_SUPERSEDE,
	SQL_CMD_INSERT,
	SQL_CMD_LATEST,	      /* -> read_cmd()'s columns */
	SQL_CMD_NEXT_PENDING, /* -> read_cmd()'s columns */
	SQL_CMD_SET_STATE,
	SQL_CMD_FINISH,
	SQL_CMD_REQUEUE,
	SQL_MACHINE_WAKE_NOW,
	SQL_MACHINE_AGENT_SEEN,
	SQL_MACHINE_AGENT_SEEN_AT, /* :id -> agent_seen_at */
	SQL_AGENT_SESSIONS_QUIET,  /* :now, :before -> live sessions of agents quiet since */
	SQL_MACHINE_SET_IP,
	SQL_DEPLOY_AHEAD, /* :state, :since, :id, :sku -> count, count of :sku */

	/* staged image rollouts (rollouts.c) */
	SQL_ROLLOUT_INSERT,
	SQL_ROLLOUT_MACHINE_INSERT,
	SQL_ROLLOUT_OPEN_OF,  /* :alloc, :running, :halting, :cancelling -> count */
	SQL_ROLLOUT_GET,      /* :id -> read_rollout()'s columns */
	SQL_ROLLOUT_LATEST,   /* :alloc -> id of the newest */
	SQL_ROLLOUTS_OPEN,    /* :running, :halting, :cancelling, :limit -> id */
	SQL_ROLLOUT_MACHINES, /* :id -> machine_id, name, wave, state, message, started, finished */
	SQL_ROLLOUT_CAS,      /* :id, :expect_state, :expect_wave + the new values */
	SQL_ROLLOUT_MACHINE_SET, /* :id, :machine, :expect + the new values */
	SQL_ROLLOUT_SKIP_PENDING,
	SQL_ROLLOUT_REIMAGE,	 /* :id, :alloc, :active, :deploying, :now: active -> deploying */
	SQL_ALLOC_MACHINE_IMAGE, /* :alloc, :machine, :image */
	SQL_ALLOC_SET_IMAGE,	 /* :id, :image, :now */
	SQL_ALLOC_CLEAR_IMAGES,	 /* :id, :image: memberships whose image is the allocation's */

	SQL__COUNT
};

/* The backend's text of id; NULL for an id out of range (or one the
 * backend's table lacks, which the tests refuse). */
const char *inv_sql_text(enum inv_sql id);

#endif
