/* records.c - machine events, audit rows, capacity counts. */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum inv_status inv_event_row(struct inv_conn *c, const char *machine_id, const char *from,
			      const char *to, const char *actor, const char *reason,
			      const char *request_id, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_EVENT_INSERT, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", machine_id);
	inv_bind_int(st, ":now", inv_now_ms());
	inv_bind_text(st, ":from", from ? from : "");
	inv_bind_text(st, ":to", to ? to : "");
	inv_bind_text(st, ":actor", actor ? actor : "system");
	inv_bind_text(st, ":reason", reason ? reason : "");
	inv_bind_text(st, ":request_id", request_id ? request_id : "");
	return inv_exec_done(st, "write event", err);
}

enum inv_status inv_audit_row(struct inv_conn *c, const char *actor, const char *action,
			      const char *target_type, const char *target_id,
			      const char *before_json, const char *after_json,
			      const char *request_id, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_AUDIT_INSERT, err);
	if (!st)
		return INV_IO;
	inv_bind_int(st, ":now", inv_now_ms());
	inv_bind_text(st, ":actor", actor ? actor : "system");
	inv_bind_text(st, ":action", action);
	inv_bind_text(st, ":target_type", target_type);
	inv_bind_text(st, ":target_id", target_id ? target_id : "");
	inv_bind_text(st, ":before", before_json);
	inv_bind_text(st, ":after", after_json);
	inv_bind_text(st, ":request_id", request_id ? request_id : "");
	return inv_exec_done(st, "write audit", err);
}

void inv_event_list_clear(struct inv_event_list *l)
{
	if (!l)
		return;
	free(l->items);
	memset(l, 0, sizeof *l);
}

static void read_event(struct inv_q *st, struct inv_event *e)
{
	e->seq = inv_col_int64(st, 0);
	e->at = inv_col_int64(st, 1);
	inv_col_copy(st, 2, e->machine_id, sizeof e->machine_id);
	inv_col_copy(st, 3, e->from_state, sizeof e->from_state);
	inv_col_copy(st, 4, e->to_state, sizeof e->to_state);
	inv_col_copy(st, 5, e->actor, sizeof e->actor);
	inv_col_copy(st, 6, e->reason, sizeof e->reason);
	inv_col_copy(st, 7, e->request_id, sizeof e->request_id);
}

enum inv_status inv_machine_events(struct inv *inv, const char *machine_id, int64_t after_seq,
				   int limit, struct inv_event_list *out, struct inv_err *err)
{
	memset(out, 0, sizeof *out);
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_EVENT_LIST, err) : NULL;
	if (!st)
		return INV_IO;
	limit = inv_clamp_limit(limit);
	inv_bind_text(st, ":machine", machine_id);
	inv_bind_int(st, ":after", after_seq);
	inv_bind_int(st, ":limit", limit + 1);
	out->items = calloc((size_t)limit + 1, sizeof *out->items);
	enum inv_status s = out->items ? INV_OK : inv_fail(err, INV_IO, NULL, "out of memory");
	bool row = false;
	while (s == INV_OK && (s = inv_step(st, &row, "list events", err)) == INV_OK && row &&
	       out->n < (size_t)limit + 1)
		read_event(st, &out->items[out->n++]);
	inv_stmt_done(st);
	if (s != INV_OK) {
		inv_event_list_clear(out);
		return s;
	}
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

static enum inv_status audit_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct audit_ctx *a = arg;
	return inv_audit_row(c, a->actor, a->action, a->type, a->target, a->before, a->after,
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

static void read_audit(struct inv_q *st, struct inv_audit *a)
{
	a->seq = inv_col_int64(st, 0);
	a->at = inv_col_int64(st, 1);
	inv_col_copy(st, 2, a->actor, sizeof a->actor);
	inv_col_copy(st, 3, a->action, sizeof a->action);
	inv_col_copy(st, 4, a->target_type, sizeof a->target_type);
	inv_col_copy(st, 5, a->target_id, sizeof a->target_id);
	a->before_json = inv_col_dup(st, 6);
	a->after_json = inv_col_dup(st, 7);
	inv_col_copy(st, 8, a->request_id, sizeof a->request_id);
}

static void bind_audit_filter(struct inv_q *st, const struct inv_audit_filter *f, int limit)
{
	if (f->newest_first)
		inv_bind_int(st, ":before", f->cursor > 0 ? f->cursor : INT64_MAX);
	else
		inv_bind_int(st, ":after", f->cursor);
	/* 0 lets every row through (at >= 0), and keeps :since a bigint on
	 * PostgreSQL, whose statements type a parameter by its binds */
	inv_bind_int(st, ":since", f->since > 0 ? f->since : 0);
	inv_bind_text(st, ":actor", f->actor);
	inv_bind_text(st, ":action", f->action);
	inv_bind_text(st, ":target", f->target);
	inv_bind_int(st, ":limit", limit + 1);
}

enum inv_status inv_audit_list(struct inv *inv, const struct inv_audit_filter *f,
			       struct inv_audit_list *out, struct inv_err *err)
{
	memset(out, 0, sizeof *out);
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st =
	    c ? inv_stmt(c, f->newest_first ? SQL_AUDIT_LIST_DESC : SQL_AUDIT_LIST, err) : NULL;
	if (!st)
		return INV_IO;
	int limit = inv_clamp_limit(f->limit);
	bind_audit_filter(st, f, limit);
	out->items = calloc((size_t)limit + 1, sizeof *out->items);
	enum inv_status s = out->items ? INV_OK : inv_fail(err, INV_IO, NULL, "out of memory");
	bool row = false;
	while (s == INV_OK && (s = inv_step(st, &row, "list audit", err)) == INV_OK && row &&
	       out->n < (size_t)limit + 1)
		read_audit(st, &out->items[out->n++]);
	inv_stmt_done(st);
	if (s != INV_OK) {
		inv_audit_list_clear(out);
		return s;
	}
	if (out->n > (size_t)limit) {
		struct inv_audit *x = &out->items[--out->n];
		free(x->before_json);
		free(x->after_json);
		out->next_seq = out->items[out->n - 1].seq;
	}
	return INV_OK;
}

enum inv_status inv_capacity_by_rack(struct inv *inv,
				     void (*fn)(void *ctx, const char *site, const char *rack,
						enum inv_state st, int64_t n, int64_t maint),
				     void *ctx, struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_CAPACITY_BY_RACK, err) : NULL;
	if (!st)
		return INV_IO;
	bool row;
	enum inv_status s;
	while ((s = inv_step(st, &row, "count capacity by rack", err)) == INV_OK && row) {
		enum inv_state state;
		const char *site = inv_col_text(st, 0);
		const char *rack = inv_col_text(st, 1);
		if (inv_state_from_name(inv_col_text(st, 2), &state) == 0)
			fn(ctx, site ? site : "", rack ? rack : "", state, inv_col_int64(st, 3),
			   inv_col_int64(st, 4));
	}
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_capacity(struct inv *inv,
			     void (*fn)(void *ctx, const char *sku, enum inv_state st, int64_t n,
					int64_t maint),
			     void *ctx, struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_CAPACITY, err) : NULL;
	if (!st)
		return INV_IO;
	bool row;
	enum inv_status s;
	while ((s = inv_step(st, &row, "count capacity", err)) == INV_OK && row) {
		enum inv_state state;
		if (inv_state_from_name(inv_col_text(st, 1), &state) == 0)
			fn(ctx, inv_col_text(st, 0), state, inv_col_int64(st, 2),
			   inv_col_int64(st, 3));
	}
	inv_stmt_done(st);
	return s;
}
