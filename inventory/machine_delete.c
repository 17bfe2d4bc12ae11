/* machine_delete.c - removing a machine for good: one that never served
 * (enrolled, never allocated), or one out of service (failed, retired).
 * Its rows go; the audit row written in the same transaction keeps what it
 * was (docs/api.md). Also the discovery bookkeeping: how many discovered
 * machines wait for a tech, and which of them went stale. */
#include "inventory/internal.h"

#include <string.h>

struct delete_ctx {
	const char *key;
	const char *actor, *request_id, *before_json;
	char id[INV_ID_LEN];
};

/* The first column of a one-row count statement bound to :id. */
static enum inv_status count_for(struct inv_conn *c, enum inv_sql sql, const char *id, int64_t *n,
				 struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, sql, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", id);
	if (sql == SQL_MACHINE_LIVE_ALLOCATIONS) {
		inv_bind_text(st, ":released", inv_alloc_state_name(INV_AL_RELEASED));
		inv_bind_text(st, ":failed", inv_alloc_state_name(INV_AL_FAILED));
	}
	bool row = false;
	enum inv_status s = inv_step(st, &row, "count", err);
	*n = s == INV_OK && row ? inv_col_int64(st, 0) : 0;
	inv_stmt_done(st);
	return s;
}

/* Whether the machine may go; INV_CONFLICT naming why not. */
static enum inv_status check_deletable(struct inv_conn *c, struct delete_ctx *x,
				       struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_MACHINE_CURRENT, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":key", x->key);
	bool row = false;
	enum inv_state state = INV_ST_ENROLLED;
	enum inv_status s = inv_step(st, &row, "read machine", err);
	if (s == INV_OK && row) {
		inv_col_copy(st, 0, x->id, sizeof x->id);
		s = inv_state_from_name(inv_col_text(st, 1), &state) == 0
			? INV_OK
			: inv_fail(err, INV_CORRUPT, NULL, "machine %s: unknown state", x->key);
	}
	inv_stmt_done(st);
	if (s != INV_OK)
		return s;
	if (!row)
		return inv_fail(err, INV_NOT_FOUND, "id", "no machine '%s'", x->key);
	int64_t live = 0, ever = 0;
	if ((s = count_for(c, SQL_MACHINE_LIVE_ALLOCATIONS, x->id, &live, err)) != INV_OK ||
	    (s = count_for(c, SQL_MACHINE_EVER_ALLOCATED, x->id, &ever, err)) != INV_OK)
		return s;
	bool ok = (state == INV_ST_ENROLLED && ever == 0) ||
		  ((state == INV_ST_FAILED || state == INV_ST_RETIRED) && live == 0);
	if (!ok)
		return inv_fail(err, INV_CONFLICT, "id",
				"machine %s is %s%s: only machines enrolled and never allocated, "
				"failed or retired (and in no live allocation) can be deleted",
				x->key, inv_state_name(state), ever ? " and was allocated" : "");
	return INV_OK;
}

static enum inv_status delete_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct delete_ctx *x = arg;
	static const enum inv_sql steps[] = {
	    SQL_MACHINE_DELETE_ATTACHMENTS, SQL_MACHINE_DELETE_EVENTS, SQL_MACHINE_DELETE_COMMANDS,
	    SQL_MACHINE_DELETE_TOKENS,	    SQL_MACHINE_DELETE,
	};
	enum inv_status s = check_deletable(c, x, err);
	for (size_t i = 0; s == INV_OK && i < ARRAY_SIZE(steps); i++) {
		struct inv_q *st = inv_stmt(c, steps[i], err);
		if (!st)
			return INV_IO;
		inv_bind_text(st, ":id", x->id);
		s = inv_exec_done(st, "delete machine", err);
	}
	if (s == INV_OK)
		s = inv_audit_row(c, x->actor, "machine.delete", "machine", x->id, x->before_json,
				  NULL, x->request_id, err);
	return s;
}

enum inv_status inv_machine_delete(struct inv *inv, const char *id_or_name, const char *actor,
				   const char *request_id, const char *audit_before_json,
				   char deleted_id[INV_ID_LEN], struct inv_err *err)
{
	struct delete_ctx x = {.key = id_or_name,
			       .actor = actor,
			       .request_id = request_id,
			       .before_json = audit_before_json};
	enum inv_status s = inv_write(inv, delete_fn, &x, err);
	if (deleted_id)
		memcpy(deleted_id, x.id, INV_ID_LEN);
	return s;
}

enum inv_status inv_count_discovered(struct inv_conn *c, int64_t *n, struct inv_err *err)
{
	*n = 0;
	struct inv_q *st = inv_stmt(c, SQL_MACHINES_DISCOVERED, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":enrolled", inv_state_name(INV_ST_ENROLLED));
	inv_bind_text(st, ":discovery", INV_ACTOR_DISCOVERY);
	bool row = false;
	enum inv_status s = inv_step(st, &row, "count discovered machines", err);
	if (s == INV_OK && row)
		*n = inv_col_int64(st, 0);
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_machines_discovered(struct inv *inv, int64_t *n, struct inv_err *err)
{
	*n = 0;
	struct inv_conn *c = inv_reader(inv, err);
	return c ? inv_count_discovered(c, n, err) : INV_IO;
}

enum inv_status inv_machines_discovered_stale(struct inv *inv, int64_t before,
					      char (*ids)[INV_ID_LEN], int max, int *n,
					      struct inv_err *err)
{
	*n = 0;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_MACHINES_DISCOVERED_STALE, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":enrolled", inv_state_name(INV_ST_ENROLLED));
	inv_bind_text(st, ":discovery", INV_ACTOR_DISCOVERY);
	inv_bind_int(st, ":before", before);
	bool row = false;
	enum inv_status s;
	while ((s = inv_step(st, &row, "list stale discovered machines", err)) == INV_OK && row &&
	       *n < max)
		inv_col_copy(st, 0, ids[(*n)++], INV_ID_LEN);
	inv_stmt_done(st);
	return s;
}
