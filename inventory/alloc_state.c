/* alloc_state.c - allocation state changes and substitution (writer side). */
#include "inventory/internal.h"

#include <stdio.h>
#include <string.h>

enum inv_status inv_attach_machine(sqlite3 *db, const char *alloc_id, const char *mid,
				   int64_t wake_at, const char *actor, const char *reason,
				   const char *request_id, struct inv_err *err);

struct set_ctx {
	const char *id;
	unsigned from_mask;
	enum inv_alloc_state to;
	const char *last_error, *actor, *request_id;
};

static enum inv_status read_state(sqlite3 *db, const char *id, enum inv_alloc_state *st_out,
				  struct inv_err *err)
{
	sqlite3_stmt *st = inv_prep(db, "SELECT state FROM allocations WHERE id = ?1", err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, id);
	enum inv_status s = INV_OK;
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (inv_alloc_state_from_name((const char *)sqlite3_column_text(st, 0), st_out) !=
		    0)
			s = inv_fail(err, INV_CORRUPT, NULL, "allocation %s has a bad state", id);
	} else {
		s = inv_fail(err, INV_NOT_FOUND, "id", "no allocation '%s'", id);
	}
	sqlite3_finalize(st);
	return s;
}

/* Every attached machine that is deploying or active goes to releasing. */
static enum inv_status release_members(sqlite3 *db, const struct set_ctx *x, struct inv_err *err)
{
	char reason[128];
	snprintf(reason, sizeof reason, "allocation %s %s", x->id, inv_alloc_state_name(x->to));
	sqlite3_stmt *ev = inv_prep(
	    db,
	    "INSERT INTO machine_events(machine_id, at, from_state, to_state, actor, reason,"
	    " request_id) SELECT m.id, ?2, m.state, 'releasing', ?3, ?4, ?5 FROM machines m"
	    " JOIN allocation_machines am ON am.machine_id = m.id AND am.detached = 0"
	    " WHERE am.allocation_id = ?1 AND m.state IN ('deploying', 'active')",
	    err);
	if (!ev)
		return INV_IO;
	int64_t now = inv_now_ms();
	inv_bind_text(ev, 1, x->id);
	sqlite3_bind_int64(ev, 2, now);
	inv_bind_text(ev, 3, x->actor);
	inv_bind_text(ev, 4, reason);
	inv_bind_text(ev, 5, x->request_id);
	enum inv_status s = inv_exec_done(db, ev, "release events", err);
	if (s != INV_OK)
		return s;
	sqlite3_stmt *st = inv_prep(
	    db,
	    "UPDATE machines SET state = 'releasing', version = version + 1, phase = '',"
	    " attempts = 0, wake_at = ?2, deadline_at = 0, updated_at = ?2, state_since = ?2"
	    " WHERE id IN (SELECT machine_id FROM allocation_machines WHERE allocation_id = ?1"
	    " AND detached = 0) AND state IN ('deploying', 'active')",
	    err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->id);
	sqlite3_bind_int64(st, 2, now);
	return inv_exec_done(db, st, "release machines", err);
}

static enum inv_status set_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct set_ctx *x = arg;
	enum inv_alloc_state cur;
	enum inv_status s = read_state(db, x->id, &cur, err);
	if (s != INV_OK)
		return s;
	if (!(x->from_mask & (1u << cur)))
		return inv_fail(err, INV_CONFLICT, "state", "allocation %s is %s", x->id,
				inv_alloc_state_name(cur));
	sqlite3_stmt *st =
	    inv_prep(db,
		     "UPDATE allocations SET state = ?2, version = version + 1, updated_at = ?3,"
		     " ready_at = CASE WHEN ?2 = 'ready' THEN ?3 ELSE ready_at END,"
		     " last_error = CASE WHEN ?4 IS NULL THEN last_error ELSE ?4 END WHERE id = ?1",
		     err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->id);
	inv_bind_text(st, 2, inv_alloc_state_name(x->to));
	sqlite3_bind_int64(st, 3, inv_now_ms());
	inv_bind_text(st, 4, x->last_error);
	s = inv_exec_done(db, st, "update allocation", err);
	if (s == INV_OK && (x->to == INV_AL_RELEASING || x->to == INV_AL_FAILED))
		s = release_members(db, x, err);
	if (s == INV_OK && (x->to == INV_AL_RELEASING || x->to == INV_AL_FAILED)) {
		char before[64], after[64];
		snprintf(before, sizeof before, "{\"state\":\"%s\"}", inv_alloc_state_name(cur));
		snprintf(after, sizeof after, "{\"state\":\"%s\"}", inv_alloc_state_name(x->to));
		s = inv_audit_row(db, x->actor,
				  x->to == INV_AL_FAILED ? "allocation.fail" : "allocation.release",
				  "allocation", x->id, before, after, x->request_id, err);
	}
	return s;
}

enum inv_status inv_allocation_set_state(struct inv *inv, const char *id, unsigned from_mask,
					 enum inv_alloc_state to, const char *last_error,
					 const char *actor, const char *request_id,
					 struct inv_err *err)
{
	struct set_ctx x = {id, from_mask, to, last_error, actor, request_id};
	return inv_write(inv, set_fn, &x, err);
}

struct sub_ctx {
	const char *alloc_id, *failed_id;
	int max_subs;
	char *substitute;
};

static enum inv_status sub_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct sub_ctx *x = arg;
	x->substitute[0] = 0;
	sqlite3_stmt *st = inv_prep(db,
				    "UPDATE allocation_machines SET detached = 1"
				    " WHERE allocation_id = ?1 AND machine_id = ?2",
				    err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->alloc_id);
	inv_bind_text(st, 2, x->failed_id);
	enum inv_status s = inv_exec_done(db, st, "detach machine", err);
	if (s == INV_OK && sqlite3_changes(db) != 1)
		return inv_fail(err, INV_NOT_FOUND, "machine",
				"machine %s is not part of allocation %s", x->failed_id,
				x->alloc_id);
	if (s != INV_OK)
		return s;
	st = inv_prep(db,
		      "UPDATE machines SET allocation_id = NULL, version = version + 1"
		      " WHERE id = ?1 AND allocation_id = ?2",
		      err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->failed_id);
	inv_bind_text(st, 2, x->alloc_id);
	if ((s = inv_exec_done(db, st, "detach machine", err)) != INV_OK)
		return s;
	st = inv_prep(db,
		      "SELECT m.id FROM allocations a JOIN machines m ON m.sku = a.sku"
		      " WHERE a.id = ?1 AND a.state = 'deploying' AND a.substitutions < ?2"
		      " AND m.state = 'available' AND m.maintenance = 0 ORDER BY m.seq LIMIT 1",
		      err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->alloc_id);
	sqlite3_bind_int(st, 2, x->max_subs);
	char mid[INV_ID_LEN] = "";
	if (sqlite3_step(st) == SQLITE_ROW)
		inv_col_copy(st, 0, mid, sizeof mid);
	sqlite3_finalize(st);
	if (!mid[0])
		return INV_OK;
	char reason[160];
	snprintf(reason, sizeof reason, "allocation %s: substitute for %s", x->alloc_id,
		 x->failed_id);
	s = inv_attach_machine(db, x->alloc_id, mid, inv_now_ms(), "lifecycle", reason, "", err);
	if (s == INV_OK &&
	    (st = inv_prep(db,
			   "UPDATE allocations SET substitutions = substitutions + 1,"
			   " version = version + 1 WHERE id = ?1",
			   err))) {
		inv_bind_text(st, 1, x->alloc_id);
		s = inv_exec_done(db, st, "count substitution", err);
	}
	if (s == INV_OK)
		snprintf(x->substitute, INV_ID_LEN, "%s", mid);
	return s;
}

enum inv_status inv_allocation_substitute(struct inv *inv, const char *alloc_id,
					  const char *failed_id, int max_subs,
					  char substitute[INV_ID_LEN], struct inv_err *err)
{
	struct sub_ctx x = {alloc_id, failed_id, max_subs, substitute};
	return inv_write(inv, sub_fn, &x, err);
}
