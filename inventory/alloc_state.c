/* alloc_state.c - allocation state changes and substitution (writer side).
 * Both move machines with them; docs/lifecycle.md, "Transitions the
 * inventory makes itself", lists what moves and which rows are written. */
#include "inventory/internal.h"

#include <stdio.h>
#include <string.h>

struct set_ctx {
	const char *id;
	unsigned from_mask;
	enum inv_alloc_state to;
	const char *last_error, *actor, *request_id;
};

static enum inv_status read_state(struct inv_conn *c, const char *id, enum inv_alloc_state *st_out,
				  struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_STATE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", id);
	bool row;
	enum inv_status s = inv_step(st, &row, "read allocation", err);
	if (s == INV_OK && !row)
		s = inv_fail(err, INV_NOT_FOUND, "id", "no allocation '%s'", id);
	else if (s == INV_OK && inv_alloc_state_from_name(inv_col_text(st, 0), st_out) != 0)
		s = inv_fail(err, INV_CORRUPT, NULL, "allocation %s has a bad state", id);
	inv_stmt_done(st);
	return s;
}

/* The machine states a release or failure takes machines from, bound as
 * :deploying and :active, and the one it moves them to (:releasing). */
static void bind_release_states(struct inv_q *st)
{
	inv_bind_text(st, ":deploying", inv_state_name(INV_ST_DEPLOYING));
	inv_bind_text(st, ":active", inv_state_name(INV_ST_ACTIVE));
	inv_bind_text(st, ":releasing", inv_state_name(INV_ST_RELEASING));
}

/* Every attached machine that is deploying or active goes to releasing
 * (one event each, written first while their old state is still there). */
static enum inv_status release_members(struct inv_conn *c, const struct set_ctx *x,
				       struct inv_err *err)
{
	char reason[128];
	snprintf(reason, sizeof reason, "allocation %s %s", x->id, inv_alloc_state_name(x->to));
	int64_t now = inv_now_ms();
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_RELEASE_EVENTS, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", x->id);
	inv_bind_int(st, ":now", now);
	inv_bind_text(st, ":actor", x->actor);
	inv_bind_text(st, ":reason", reason);
	inv_bind_text(st, ":request_id", x->request_id);
	bind_release_states(st);
	enum inv_status s = inv_exec_done(st, "release events", err);
	if (s != INV_OK)
		return s;
	if (!(st = inv_stmt(c, SQL_ALLOC_RELEASE_MACHINES, err)))
		return INV_IO;
	inv_bind_text(st, ":id", x->id);
	inv_bind_int(st, ":now", now);
	bind_release_states(st);
	return inv_exec_done(st, "release machines", err);
}

static enum inv_status set_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct set_ctx *x = arg;
	enum inv_alloc_state cur;
	enum inv_status s = read_state(c, x->id, &cur, err);
	if (s != INV_OK)
		return s;
	if (!(x->from_mask & (1u << cur)))
		return inv_fail(err, INV_CONFLICT, "state", "allocation %s is %s", x->id,
				inv_alloc_state_name(cur));
	int64_t now = inv_now_ms();
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_SET_STATE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", x->id);
	inv_bind_text(st, ":state", inv_alloc_state_name(x->to));
	inv_bind_int(st, ":now", now);
	if (x->to == INV_AL_READY)
		inv_bind_int(st, ":ready_at", now);
	else
		inv_bind_null_int(st, ":ready_at");	 /* keeps ready_at */
	inv_bind_text(st, ":last_error", x->last_error); /* NULL keeps last_error */
	s = inv_exec_done(st, "update allocation", err);
	bool releases = x->to == INV_AL_RELEASING || x->to == INV_AL_FAILED;
	if (s == INV_OK && releases)
		s = release_members(c, x, err);
	if (s == INV_OK && releases) {
		char before[64], after[64];
		snprintf(before, sizeof before, "{\"state\":\"%s\"}", inv_alloc_state_name(cur));
		snprintf(after, sizeof after, "{\"state\":\"%s\"}", inv_alloc_state_name(x->to));
		s = inv_audit_row(c, x->actor,
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

/* Detaches the failed machine from the allocation (it keeps its state). */
static enum inv_status detach_failed(struct inv_conn *c, const struct sub_ctx *x,
				     struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_DETACH_MACHINE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":allocation", x->alloc_id);
	inv_bind_text(st, ":machine", x->failed_id);
	enum inv_status s = inv_exec_done(st, "detach machine", err);
	if (s == INV_OK && inv_changes(c) != 1)
		return inv_fail(err, INV_NOT_FOUND, "machine",
				"machine %s is not part of allocation %s", x->failed_id,
				x->alloc_id);
	if (s != INV_OK)
		return s;
	if (!(st = inv_stmt(c, SQL_MACHINE_DROP_ALLOCATION, err)))
		return INV_IO;
	inv_bind_text(st, ":id", x->failed_id);
	inv_bind_text(st, ":allocation", x->alloc_id);
	return inv_exec_done(st, "detach machine", err);
}

/* An available machine for a still-deploying allocation that may take
 * another substitute; mid "" when there is none. */
static enum inv_status pick_substitute(struct inv_conn *c, const struct sub_ctx *x,
				       char mid[INV_ID_LEN], struct inv_err *err)
{
	mid[0] = 0;
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_SUBSTITUTE_PICK, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", x->alloc_id);
	inv_bind_text(st, ":alloc_state", inv_alloc_state_name(INV_AL_DEPLOYING));
	inv_bind_int(st, ":max_subs", x->max_subs);
	inv_bind_text(st, ":available", inv_state_name(INV_ST_AVAILABLE));
	bool row;
	enum inv_status s = inv_step(st, &row, "pick substitute", err);
	if (s == INV_OK && row)
		inv_col_copy(st, 0, mid, INV_ID_LEN);
	inv_stmt_done(st);
	return s;
}

static enum inv_status sub_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct sub_ctx *x = arg;
	x->substitute[0] = 0;
	char mid[INV_ID_LEN];
	enum inv_status s = detach_failed(c, x, err);
	if (s == INV_OK)
		s = pick_substitute(c, x, mid, err);
	if (s == INV_OK && mid[0])
		s = inv_spread_substitute(c, x->alloc_id, mid, err);
	if (s != INV_OK || !mid[0])
		return s;
	char reason[160];
	snprintf(reason, sizeof reason, "allocation %s: substitute for %s", x->alloc_id,
		 x->failed_id);
	s = inv_attach_machine(c, x->alloc_id, mid, inv_now_ms(), "lifecycle", reason, "", err);
	if (s == INV_OK) /* a static address stays with the allocation's slot */
		s = inv_network_move(c, x->alloc_id, x->failed_id, mid, err);
	struct inv_q *st = NULL;
	if (s == INV_OK && !(st = inv_stmt(c, SQL_ALLOC_COUNT_SUBSTITUTION, err)))
		s = INV_IO;
	if (s == INV_OK) {
		inv_bind_text(st, ":id", x->alloc_id);
		s = inv_exec_done(st, "count substitution", err);
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
