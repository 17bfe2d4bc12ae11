/* alloc_reserve.c - the gang reservation: idempotent replay, admission
 * (capacity and owner quota), and attaching available machines to the new
 * allocation (inv_attach_machine, which substitution in alloc_state.c uses
 * too): machines move available -> deploying. State changes and
 * substitution live in alloc_state.c. Everything here runs on the writer.
 * The transitions made here are listed in docs/lifecycle.md, "Transitions
 * the inventory makes itself". */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reserve_ctx {
	const struct inv_alloc_request *r;
	char id[INV_ID_LEN];
	bool replayed;
};

/* The count(*) of statement id for sku, with one more text parameter. */
static enum inv_status count_of(struct inv_conn *c, enum inv_sql id, const char *sku,
				const char *name, const char *value, int64_t *n,
				struct inv_err *err)
{
	*n = 0;
	struct inv_q *st = inv_stmt(c, id, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":sku", sku);
	inv_bind_text(st, name, value);
	bool row;
	enum inv_status s = inv_step(st, &row, "count machines", err);
	if (s == INV_OK && row)
		*n = inv_col_int64(st, 0);
	inv_stmt_done(st);
	return s;
}

/* An earlier allocation of this owner under the same idempotency key:
 * x->id and x->replayed set. */
static enum inv_status find_replay(struct inv_conn *c, struct reserve_ctx *x, struct inv_err *err)
{
	if (!x->r->idempotency_key)
		return INV_OK;
	struct inv_q *st = inv_stmt(c, SQL_IDEMPOTENCY_FIND, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":owner", x->r->owner);
	inv_bind_text(st, ":key", x->r->idempotency_key);
	bool row;
	enum inv_status s = inv_step(st, &row, "read idempotency key", err);
	if (s == INV_OK && row) {
		inv_col_copy(st, 0, x->id, sizeof x->id);
		x->replayed = true;
	}
	inv_stmt_done(st);
	return s;
}

/* The inventory's own transition available -> deploying (reservation and
 * substitution): docs/lifecycle.md, "Transitions the inventory makes
 * itself". */
enum inv_status inv_attach_machine(struct inv_conn *c, const char *alloc_id, const char *mid,
				   int64_t wake_at, const char *actor, const char *reason,
				   const char *request_id, struct inv_err *err)
{
	const char *available = inv_state_name(INV_ST_AVAILABLE);
	const char *deploying = inv_state_name(INV_ST_DEPLOYING);
	int64_t now = inv_now_ms();
	struct inv_q *st = inv_stmt(c, SQL_MACHINE_ATTACH, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", mid);
	inv_bind_text(st, ":allocation", alloc_id);
	inv_bind_text(st, ":available", available);
	inv_bind_text(st, ":deploying", deploying);
	inv_bind_int(st, ":wake_at", wake_at);
	inv_bind_int(st, ":now", now);
	enum inv_status s = inv_exec_done(st, "reserve machine", err);
	if (s == INV_OK && inv_changes(c) != 1)
		s = inv_fail(err, INV_CONFLICT, NULL, "machine %s is no longer available", mid);
	if (s != INV_OK)
		return s;
	if (!(st = inv_stmt(c, SQL_ALLOC_MACHINE_INSERT, err)))
		return INV_IO;
	inv_bind_text(st, ":allocation", alloc_id);
	inv_bind_text(st, ":machine", mid);
	inv_bind_int(st, ":now", now);
	s = inv_exec_done(st, "attach machine", err);
	if (s == INV_OK)
		s = inv_event_row(c, mid, available, deploying, actor, reason, request_id, err);
	return s;
}

/* Up to want available machine ids of sku into ids, oldest first (warm
 * machines before them with warm); *n gets how many. */
static enum inv_status pick_available(struct inv_conn *c, const char *sku, int want, bool warm,
				      char (*ids)[INV_ID_LEN], int *n, struct inv_err *err)
{
	*n = 0;
	struct inv_q *st = inv_stmt(c, warm ? SQL_POOL_PICK_WARM : SQL_POOL_PICK, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":sku", sku);
	inv_bind_text(st, ":available", inv_state_name(INV_ST_AVAILABLE));
	inv_bind_int(st, ":limit", want);
	bool row;
	enum inv_status s = INV_OK;
	while (*n < want && (s = inv_step(st, &row, "pick machines", err)) == INV_OK && row)
		inv_col_copy(st, 0, ids[(*n)++], INV_ID_LEN);
	inv_stmt_done(st);
	return s;
}

static enum inv_status insert_alloc(struct inv_conn *c, struct reserve_ctx *x, struct inv_err *err)
{
	const struct inv_alloc_request *r = x->r;
	int64_t now = inv_now_ms();
	char name[64];
	snprintf(name, sizeof name, "%s", r->name && *r->name ? r->name : x->id);
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_INSERT, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", x->id);
	inv_bind_text(st, ":name", name);
	inv_bind_text(st, ":owner", r->owner);
	inv_bind_text(st, ":sku", r->sku);
	inv_bind_text(st, ":image", r->image);
	inv_bind_int(st, ":count", r->count);
	inv_bind_int(st, ":min_count", r->min_count);
	inv_bind_text(st, ":state", inv_alloc_state_name(INV_AL_DEPLOYING));
	inv_bind_text(st, ":ssh_keys", r->ssh_keys_json ? r->ssh_keys_json : "[]");
	inv_bind_int(st, ":now", now);
	enum inv_status s = inv_exec_done(st, "create allocation", err);
	if (s != INV_OK || !r->idempotency_key)
		return s;
	if (!(st = inv_stmt(c, SQL_IDEMPOTENCY_INSERT, err)))
		return INV_IO;
	inv_bind_text(st, ":owner", r->owner);
	inv_bind_text(st, ":key", r->idempotency_key);
	inv_bind_text(st, ":allocation", x->id);
	inv_bind_int(st, ":now", now);
	return inv_exec_done(st, "store idempotency key", err);
}

/* How many machines this request may take by its owner's quota (count
 * without one), or an error status. */
static enum inv_status quota_room(struct inv_conn *c, const struct inv_alloc_request *r, int *want,
				  struct inv_err *err)
{
	*want = r->count;
	if (r->quota < 0)
		return INV_OK;
	/* machines the owner holds of that SKU: attached to its unreleased
	 * allocations */
	int64_t used;
	enum inv_status s = count_of(c, SQL_OWNER_USAGE, r->sku, ":owner", r->owner, &used, err);
	if (s != INV_OK)
		return s;
	int64_t room = r->quota - used;
	if (room < r->min_count)
		return inv_fail(err, INV_QUOTA, "count",
				"owner %s: quota for sku %s is %d machines, %lld in use, %d "
				"requested",
				r->owner, r->sku, r->quota, (long long)used, r->min_count);
	if (*want > room)
		*want = (int)room;
	return INV_OK;
}

/* The allocation.create row: what was asked and given, the static
 * network (stored as the API gave it: JSON) included. */
static enum inv_status audit_create(struct inv_conn *c, const struct reserve_ctx *x, int n,
				    struct inv_err *err)
{
	const struct inv_alloc_request *r = x->r;
	const char *net = r->network_json ? r->network_json : "{\"mode\":\"dhcp\"}";
	const char *image = r->image ? r->image : "";
	char spread[96];
	inv_spread_audit(&r->spread, spread, sizeof spread);
	size_t len = strlen(net) + strlen(r->sku) + strlen(image) + sizeof spread + 128;
	char *after = malloc(len);
	if (!after)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	snprintf(after, len,
		 "{\"sku\":\"%s\",\"count\":%d,\"reserved\":%d,\"image\":\"%s\"%s,\"network\":%s}",
		 r->sku, r->count, n, image, spread, net);
	enum inv_status s = inv_audit_row(c, r->actor, "allocation.create", "allocation", x->id,
					  NULL, after, r->request_id, err);
	free(after);
	return s;
}

static enum inv_status reserve_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct reserve_ctx *x = arg;
	const struct inv_alloc_request *r = x->r;
	enum inv_status s = find_replay(c, x, err);
	if (s != INV_OK || x->replayed)
		return s;
	int want = 0;
	if ((s = quota_room(c, r, &want, err)) != INV_OK ||
	    (s = inv_network_check(c, r, err)) != INV_OK)
		return s;
	/* One indexed pick of up to want machines: fewer than min_count back
	 * means that is all the pool holds (no count(*) over the pool, which
	 * cost a scan of every available machine per allocation). */
	char(*ids)[INV_ID_LEN] = calloc((size_t)want, INV_ID_LEN);
	if (!ids)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	int n = 0;
	if (r->spread.across == INV_SPREAD_NONE)
		s = pick_available(c, r->sku, want, r->prefer_warm, ids, &n, err);
	else
		s = inv_spread_pick(c, r, want, ids, &n, err);
	if (s == INV_OK && n < r->min_count)
		s = inv_fail(err, INV_CAPACITY, "count", "sku %s: %d available, %d requested",
			     r->sku, n, r->min_count);
	if (s == INV_OK)
		s = insert_alloc(c, x, err);
	if (s == INV_OK && r->spread.across != INV_SPREAD_NONE)
		s = inv_spread_store(c, x->id, &r->spread, err);
	if (s == INV_OK && r->user_data)
		s = inv_user_data_store(c, x->id, r->user_data, err);
	char reason[128];
	snprintf(reason, sizeof reason, "allocation %s", x->id);
	for (int i = 0; s == INV_OK && i < n; i++)
		s = inv_attach_machine(c, x->id, ids[i], r->wake_at, r->actor, reason,
				       r->request_id, err);
	free(ids);
	if (s == INV_OK)
		s = inv_network_store(c, x->id, r, err);
	if (s == INV_OK)
		s = audit_create(c, x, n, err);
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
