/* records.c - machine events, audit rows, capacity counts. */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum inv_status inv_event_row(sqlite3 *db, const char *machine_id, const char *from, const char *to,
			      const char *actor, const char *reason, const char *request_id,
			      struct inv_err *err)
{
	sqlite3_stmt *st =
	    inv_prep(db,
		     "INSERT INTO machine_events(machine_id, at, from_state, to_state,"
		     " actor, reason, request_id) VALUES(?1,?2,?3,?4,?5,?6,?7)",
		     err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, machine_id);
	sqlite3_bind_int64(st, 2, inv_now_ms());
	inv_bind_text(st, 3, from ? from : "");
	inv_bind_text(st, 4, to ? to : "");
	inv_bind_text(st, 5, actor ? actor : "system");
	inv_bind_text(st, 6, reason ? reason : "");
	inv_bind_text(st, 7, request_id ? request_id : "");
	return inv_exec_done(db, st, "write event", err);
}

enum inv_status inv_audit_row(sqlite3 *db, const char *actor, const char *action,
			      const char *target_type, const char *target_id,
			      const char *before_json, const char *after_json,
			      const char *request_id, struct inv_err *err)
{
	sqlite3_stmt *st = inv_prep(db,
				    "INSERT INTO audit(at, actor, action, target_type, target_id,"
				    " before, after, request_id) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
				    err);
	if (!st)
		return INV_IO;
	sqlite3_bind_int64(st, 1, inv_now_ms());
	inv_bind_text(st, 2, actor ? actor : "system");
	inv_bind_text(st, 3, action);
	inv_bind_text(st, 4, target_type);
	inv_bind_text(st, 5, target_id ? target_id : "");
	inv_bind_text(st, 6, before_json);
	inv_bind_text(st, 7, after_json);
	inv_bind_text(st, 8, request_id ? request_id : "");
	return inv_exec_done(db, st, "write audit", err);
}

void inv_event_list_clear(struct inv_event_list *l)
{
	if (!l)
		return;
	free(l->items);
	memset(l, 0, sizeof *l);
}

enum inv_status inv_machine_events(struct inv *inv, const char *machine_id, int64_t after_seq,
				   int limit, struct inv_event_list *out, struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	if (!db)
		return INV_IO;
	limit = inv_clamp_limit(limit);
	sqlite3_stmt *st =
	    inv_prep(db,
		     "SELECT seq, at, machine_id, from_state, to_state, actor, reason,"
		     " request_id FROM machine_events WHERE machine_id = ?1 AND seq > ?2"
		     " ORDER BY seq LIMIT ?3",
		     err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, machine_id);
	sqlite3_bind_int64(st, 2, after_seq);
	sqlite3_bind_int(st, 3, limit + 1);
	memset(out, 0, sizeof *out);
	out->items = calloc((size_t)limit + 1, sizeof *out->items);
	if (!out->items) {
		sqlite3_finalize(st);
		return inv_fail(err, INV_IO, NULL, "out of memory");
	}
	while (sqlite3_step(st) == SQLITE_ROW && out->n < (size_t)limit + 1) {
		struct inv_event *e = &out->items[out->n++];
		e->seq = sqlite3_column_int64(st, 0);
		e->at = sqlite3_column_int64(st, 1);
		inv_col_copy(st, 2, e->machine_id, sizeof e->machine_id);
		inv_col_copy(st, 3, e->from_state, sizeof e->from_state);
		inv_col_copy(st, 4, e->to_state, sizeof e->to_state);
		inv_col_copy(st, 5, e->actor, sizeof e->actor);
		inv_col_copy(st, 6, e->reason, sizeof e->reason);
		inv_col_copy(st, 7, e->request_id, sizeof e->request_id);
	}
	sqlite3_finalize(st);
	if (out->n > (size_t)limit) {
		out->n--;
		out->next_seq = out->items[out->n - 1].seq;
	}
	return INV_OK;
}

void inv_audit_list_clear(struct inv_audit_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].before_json);
		free(l->items[i].after_json);
	}
	free(l->items);
	memset(l, 0, sizeof *l);
}

struct audit_ctx {
	const char *actor, *action, *type, *target, *before, *after, *rid;
};

static enum inv_status audit_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct audit_ctx *a = arg;
	return inv_audit_row(db, a->actor, a->action, a->type, a->target, a->before, a->after,
			     a->rid, err);
}

enum inv_status inv_audit_append(struct inv *inv, const char *actor, const char *action,
				 const char *target_type, const char *target_id,
				 const char *before_json, const char *after_json,
				 const char *request_id, struct inv_err *err)
{
	struct audit_ctx a = {actor,	   action,     target_type, target_id,
			      before_json, after_json, request_id};
	return inv_write(inv, audit_fn, &a, err);
}

enum inv_status inv_audit_list(struct inv *inv, int64_t after_seq, int limit,
			       struct inv_audit_list *out, struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	if (!db)
		return INV_IO;
	limit = inv_clamp_limit(limit);
	sqlite3_stmt *st =
	    inv_prep(db,
		     "SELECT seq, at, actor, action, target_type, target_id, before,"
		     " after, request_id FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
		     err);
	if (!st)
		return INV_IO;
	sqlite3_bind_int64(st, 1, after_seq);
	sqlite3_bind_int(st, 2, limit + 1);
	memset(out, 0, sizeof *out);
	out->items = calloc((size_t)limit + 1, sizeof *out->items);
	while (out->items && sqlite3_step(st) == SQLITE_ROW && out->n < (size_t)limit + 1) {
		struct inv_audit *a = &out->items[out->n++];
		a->seq = sqlite3_column_int64(st, 0);
		a->at = sqlite3_column_int64(st, 1);
		inv_col_copy(st, 2, a->actor, sizeof a->actor);
		inv_col_copy(st, 3, a->action, sizeof a->action);
		inv_col_copy(st, 4, a->target_type, sizeof a->target_type);
		inv_col_copy(st, 5, a->target_id, sizeof a->target_id);
		a->before_json = inv_col_dup(st, 6);
		a->after_json = inv_col_dup(st, 7);
		inv_col_copy(st, 8, a->request_id, sizeof a->request_id);
	}
	sqlite3_finalize(st);
	if (!out->items)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	if (out->n > (size_t)limit) {
		struct inv_audit *x = &out->items[--out->n];
		free(x->before_json);
		free(x->after_json);
		out->next_seq = out->items[out->n - 1].seq;
	}
	return INV_OK;
}

enum inv_status inv_capacity(struct inv *inv,
			     void (*fn)(void *ctx, const char *sku, enum inv_state st, int64_t n,
					int64_t maint),
			     void *ctx, struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	if (!db)
		return INV_IO;
	sqlite3_stmt *st = inv_prep(db,
				    "SELECT sku, state, count(*), sum(maintenance) FROM machines"
				    " GROUP BY sku, state ORDER BY sku, state",
				    err);
	if (!st)
		return INV_IO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		enum inv_state s;
		if (inv_state_from_name((const char *)sqlite3_column_text(st, 1), &s) == 0)
			fn(ctx, (const char *)sqlite3_column_text(st, 0), s,
			   sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
	}
	sqlite3_finalize(st);
	return INV_OK;
}
