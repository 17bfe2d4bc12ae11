/* alloc_reserve.c - the gang reservation: idempotent replay, admission
 * (capacity and owner quota), and attaching available machines to the new
 * allocation (inv_attach_machine, which substitution in alloc_state.c uses
 * too). State changes and substitution live in alloc_state.c. Everything
 * here runs on the writer. */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reserve_ctx {
	const struct inv_alloc_request *r;
	char id[INV_ID_LEN];
	bool replayed;
};

static int64_t scalar(sqlite3 *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = inv_prep(db, sql, NULL);
	if (!st)
		return -1;
	inv_bind_text(st, 1, a);
	inv_bind_text(st, 2, b);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return v;
}

static bool find_replay(sqlite3 *db, struct reserve_ctx *x)
{
	if (!x->r->idempotency_key)
		return false;
	sqlite3_stmt *st = inv_prep(
	    db, "SELECT allocation_id FROM idempotency_keys WHERE owner = ?1 AND key = ?2", NULL);
	if (!st)
		return false;
	inv_bind_text(st, 1, x->r->owner);
	inv_bind_text(st, 2, x->r->idempotency_key);
	if (sqlite3_step(st) == SQLITE_ROW) {
		inv_col_copy(st, 0, x->id, sizeof x->id);
		x->replayed = true;
	}
	sqlite3_finalize(st);
	return x->replayed;
}

/* Machines the owner holds of that SKU: attached to its unreleased allocations. */
static int64_t owner_usage(sqlite3 *db, const char *owner, const char *sku)
{
	return scalar(db,
		      "SELECT count(*) FROM allocation_machines am"
		      " JOIN allocations a ON a.id = am.allocation_id"
		      " WHERE a.owner = ?1 AND a.sku = ?2 AND am.detached = 0",
		      owner, sku);
}

/* Moves one available machine into the allocation. */
enum inv_status inv_attach_machine(sqlite3 *db, const char *alloc_id, const char *mid,
				   int64_t wake_at, const char *actor, const char *reason,
				   const char *request_id, struct inv_err *err)
{
	int64_t now = inv_now_ms();
	sqlite3_stmt *st =
	    inv_prep(db,
		     "UPDATE machines SET state = 'deploying', version = version + 1,"
		     " allocation_id = ?1, phase = '', attempts = 0, wake_at = ?2,"
		     " deadline_at = 0, last_error = '', updated_at = ?3,"
		     " state_since = ?3 WHERE id = ?4 AND state = 'available'",
		     err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, alloc_id);
	sqlite3_bind_int64(st, 2, wake_at);
	sqlite3_bind_int64(st, 3, now);
	inv_bind_text(st, 4, mid);
	enum inv_status s = inv_exec_done(db, st, "reserve machine", err);
	if (s == INV_OK && sqlite3_changes(db) != 1)
		s = inv_fail(err, INV_CONFLICT, NULL, "machine %s is no longer available", mid);
	if (s != INV_OK)
		return s;
	st = inv_prep(db,
		      "INSERT INTO allocation_machines(allocation_id, machine_id, attached_at)"
		      " VALUES(?1, ?2, ?3)",
		      err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, alloc_id);
	inv_bind_text(st, 2, mid);
	sqlite3_bind_int64(st, 3, now);
	s = inv_exec_done(db, st, "attach machine", err);
	if (s == INV_OK)
		s = inv_event_row(db, mid, "available", "deploying", actor, reason, request_id,
				  err);
	return s;
}

/* Up to want available machine ids of sku into ids; returns how many. */
static int pick_available(sqlite3 *db, const char *sku, int want, char (*ids)[INV_ID_LEN])
{
	sqlite3_stmt *st = inv_prep(db,
				    "SELECT id FROM machines WHERE sku = ?1 AND state = 'available'"
				    " AND maintenance = 0 ORDER BY seq LIMIT ?2",
				    NULL);
	if (!st)
		return -1;
	inv_bind_text(st, 1, sku);
	sqlite3_bind_int(st, 2, want);
	int n = 0;
	while (n < want && sqlite3_step(st) == SQLITE_ROW)
		inv_col_copy(st, 0, ids[n++], INV_ID_LEN);
	sqlite3_finalize(st);
	return n;
}

static enum inv_status insert_alloc(sqlite3 *db, struct reserve_ctx *x, struct inv_err *err)
{
	const struct inv_alloc_request *r = x->r;
	int64_t now = inv_now_ms();
	char name[64];
	snprintf(name, sizeof name, "%s", r->name && *r->name ? r->name : x->id);
	sqlite3_stmt *st = inv_prep(db,
				    "INSERT INTO allocations(id, name, owner, sku, image, count,"
				    " min_count, state, ssh_keys, created_at, updated_at)"
				    " VALUES(?1,?2,?3,?4,?5,?6,?7,'deploying',?8,?9,?9)",
				    err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->id);
	inv_bind_text(st, 2, name);
	inv_bind_text(st, 3, r->owner);
	inv_bind_text(st, 4, r->sku);
	inv_bind_text(st, 5, r->image);
	sqlite3_bind_int(st, 6, r->count);
	sqlite3_bind_int(st, 7, r->min_count);
	inv_bind_text(st, 8, r->ssh_keys_json ? r->ssh_keys_json : "[]");
	sqlite3_bind_int64(st, 9, now);
	enum inv_status s = inv_exec_done(db, st, "create allocation", err);
	if (s != INV_OK || !r->idempotency_key)
		return s;
	st = inv_prep(db,
		      "INSERT INTO idempotency_keys(owner, key, allocation_id, created_at)"
		      " VALUES(?1,?2,?3,?4)",
		      err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, r->owner);
	inv_bind_text(st, 2, r->idempotency_key);
	inv_bind_text(st, 3, x->id);
	sqlite3_bind_int64(st, 4, now);
	return inv_exec_done(db, st, "store idempotency key", err);
}

/* How many machines this request may take, or an error status. */
static enum inv_status admissible(sqlite3 *db, const struct inv_alloc_request *r, int *take,
				  struct inv_err *err)
{
	int want = r->count;
	if (r->quota >= 0) {
		int64_t used = owner_usage(db, r->owner, r->sku);
		int64_t room = r->quota - used;
		if (room < r->min_count)
			return inv_fail(
			    err, INV_QUOTA, "count",
			    "owner %s: quota for sku %s is %d machines, %lld in use, %d "
			    "requested",
			    r->owner, r->sku, r->quota, (long long)used, r->min_count);
		if (want > room)
			want = (int)room;
	}
	int64_t avail =
	    scalar(db,
		   "SELECT count(*) FROM machines WHERE sku = ?1 AND state = 'available'"
		   " AND maintenance = 0",
		   r->sku, NULL);
	if (avail < r->min_count)
		return inv_fail(err, INV_CAPACITY, "count", "sku %s: %lld available, %d requested",
				r->sku, (long long)avail, r->min_count);
	*take = want < avail ? want : (int)avail;
	return INV_OK;
}

static enum inv_status reserve_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct reserve_ctx *x = arg;
	const struct inv_alloc_request *r = x->r;
	if (find_replay(db, x))
		return INV_OK;
	int take = 0;
	enum inv_status s = admissible(db, r, &take, err);
	if (s != INV_OK)
		return s;
	char(*ids)[INV_ID_LEN] = calloc((size_t)take, INV_ID_LEN);
	if (!ids)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	int n = pick_available(db, r->sku, take, ids);
	s = n == take ? insert_alloc(db, x, err)
		      : inv_fail(err, INV_IO, NULL, "pool changed during reservation");
	char reason[128];
	snprintf(reason, sizeof reason, "allocation %s", x->id);
	for (int i = 0; s == INV_OK && i < n; i++)
		s = inv_attach_machine(db, x->id, ids[i], r->wake_at, r->actor, reason,
				       r->request_id, err);
	free(ids);
	if (s == INV_OK) {
		char after[256];
		snprintf(after, sizeof after,
			 "{\"sku\":\"%s\",\"count\":%d,\"reserved\":%d,\"image\":\"%s\"}", r->sku,
			 r->count, n, r->image);
		s = inv_audit_row(db, r->actor, "allocation.create", "allocation", x->id, NULL,
				  after, r->request_id, err);
	}
	return s;
}

enum inv_status inv_allocation_reserve(struct inv *inv, const struct inv_alloc_request *r,
				       struct inv_allocation *out, struct inv_err *err)
{
	if (r->count < 1 || r->count > INV_MAX_ALLOC)
		return inv_fail(err, INV_INVALID, "count", "count must be 1..%d", INV_MAX_ALLOC);
	if (r->min_count < 1 || r->min_count > r->count)
		return inv_fail(err, INV_INVALID, "min_count", "min_count must be 1..count");
	struct reserve_ctx x = {.r = r};
	inv_uuid(x.id);
	enum inv_status s = inv_write(inv, reserve_fn, &x, err);
	if (s == INV_OK) {
		inv_allocation_clear(out);
		s = inv_allocation_get(inv, x.id, out, err);
		out->replayed = x.replayed;
	}
	return s;
}
