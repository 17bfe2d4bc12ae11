/* replicas.c - replicas' registration, heartbeats and take-over
 * (docs/scale-out.md, "Replicas"). */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct register_ctx {
	const char *name, *roles, *address;
	int64_t epoch;
};

static enum inv_status register_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct register_ctx *x = arg;
	struct inv_q *st = inv_stmt(c, SQL_REPLICA_REGISTER, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":name", x->name);
	inv_bind_text(st, ":roles", x->roles);
	inv_bind_text(st, ":address", x->address);
	inv_bind_int(st, ":now", inv_now_ms());
	enum inv_status s = inv_exec_done(st, "register replica", err);
	if (s != INV_OK || !(st = inv_stmt(c, SQL_REPLICA_EPOCH, err)))
		return s != INV_OK ? s : INV_IO;
	inv_bind_text(st, ":name", x->name);
	bool row = false;
	s = inv_step(st, &row, "read replica epoch", err);
	if (s == INV_OK && row)
		x->epoch = inv_col_int64(st, 0);
	else if (s == INV_OK)
		s = inv_fail(err, INV_IO, NULL, "replica %s vanished while registering", x->name);
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_replica_register(struct inv *inv, const char *name, const char *roles,
				     const char *address, int64_t *epoch, struct inv_err *err)
{
	struct register_ctx x = {.name = name, .roles = roles, .address = address};
	enum inv_status s = inv_write(inv, register_fn, &x, err);
	*epoch = x.epoch;
	return s;
}

struct heartbeat_ctx {
	const char *name;
	int64_t epoch;
};

static enum inv_status heartbeat_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct heartbeat_ctx *x = arg;
	struct inv_q *st = inv_stmt(c, SQL_REPLICA_HEARTBEAT, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":name", x->name);
	inv_bind_int(st, ":epoch", x->epoch);
	inv_bind_int(st, ":now", inv_now_ms());
	enum inv_status s = inv_exec_done(st, "replica heartbeat", err);
	if (s == INV_OK && inv_changes(c) != 1)
		s = inv_fail(
		    err, INV_CONFLICT, "epoch",
		    "replica %s was fenced: epoch %lld is over, its machines went to others",
		    x->name, (long long)x->epoch);
	return s;
}

enum inv_status inv_replica_heartbeat(struct inv *inv, const char *name, int64_t epoch,
				      struct inv_err *err)
{
	struct heartbeat_ctx x = {.name = name, .epoch = epoch};
	return inv_write(inv, heartbeat_fn, &x, err);
}

#define TAKE_OVER_MAX 32

struct take_over_ctx {
	const char *name;
	int64_t before;
	char stale[TAKE_OVER_MAX][INV_REPLICA_LEN];
	int64_t epochs[TAKE_OVER_MAX];
	int nstale, nlost, nmachines;
	bool lost[TAKE_OVER_MAX];
};

static enum inv_status read_stale(struct inv_conn *c, struct take_over_ctx *x, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_REPLICAS_STALE, err);
	if (!st)
		return INV_IO;
	inv_bind_int(st, ":before", x->before);
	inv_bind_text(st, ":name", x->name);
	bool row = false;
	enum inv_status s;
	while ((s = inv_step(st, &row, "read stale replicas", err)) == INV_OK && row &&
	       x->nstale < TAKE_OVER_MAX) {
		inv_col_copy(st, 0, x->stale[x->nstale], sizeof x->stale[0]);
		x->epochs[x->nstale++] = inv_col_int64(st, 1);
	}
	inv_stmt_done(st);
	return s;
}

/* Fences replica i (if nobody did meanwhile) and unclaims its machines. */
static enum inv_status take_one(struct inv_conn *c, struct take_over_ctx *x, int i,
				struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_REPLICA_FENCE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":name", x->stale[i]);
	inv_bind_int(st, ":epoch", x->epochs[i]);
	enum inv_status s = inv_exec_done(st, "fence replica", err);
	if (s != INV_OK || inv_changes(c) != 1)
		return s;
	if (!(st = inv_stmt(c, SQL_MACHINES_UNCLAIM, err)))
		return INV_IO;
	inv_bind_text(st, ":replica", x->stale[i]);
	inv_bind_int(st, ":now", inv_now_ms());
	if ((s = inv_exec_done(st, "unclaim machines", err)) == INV_OK) {
		x->nmachines += (int)inv_changes(c);
		x->lost[i] = true;
		x->nlost++;
	}
	return s;
}

static enum inv_status take_over_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct take_over_ctx *x = arg;
	x->nstale = x->nlost = x->nmachines = 0;
	memset(x->lost, 0, sizeof x->lost);
	enum inv_status s = read_stale(c, x, err);
	for (int i = 0; s == INV_OK && i < x->nstale; i++)
		s = take_one(c, x, i, err);
	return s;
}

enum inv_status inv_replicas_take_over(struct inv *inv, const char *name, int64_t before,
				       char (*lost)[INV_REPLICA_LEN], int max, int *nlost,
				       int *nmachines, struct inv_err *err)
{
	struct take_over_ctx *x = calloc(1, sizeof *x);
	*nlost = *nmachines = 0;
	if (!x)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	x->name = name;
	x->before = before;
	enum inv_status s = inv_write(inv, take_over_fn, x, err);
	for (int i = 0, k = 0; s == INV_OK && i < x->nstale; i++)
		if (x->lost[i] && k < max)
			memcpy(lost[k++], x->stale[i], sizeof lost[0]);
	if (s == INV_OK) {
		*nlost = x->nlost;
		*nmachines = x->nmachines;
	}
	free(x);
	return s;
}

static enum inv_status resign_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct take_over_ctx *x = arg;
	x->nlost = x->nmachines = 0;
	x->lost[0] = false;
	return take_one(c, x, 0, err);
}

enum inv_status inv_replica_resign(struct inv *inv, const char *name, int64_t epoch, int *nmachines,
				   struct inv_err *err)
{
	struct take_over_ctx *x = calloc(1, sizeof *x);
	*nmachines = 0;
	if (!x)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	snprintf(x->stale[0], sizeof x->stale[0], "%s", name);
	x->epochs[0] = epoch;
	x->nstale = 1;
	enum inv_status s = inv_write(inv, resign_fn, x, err);
	if (s == INV_OK)
		*nmachines = x->nmachines;
	free(x);
	return s;
}

static void read_replica(struct inv_q *st, struct inv_replica *r)
{
	memset(r, 0, sizeof *r);
	inv_col_copy(st, 0, r->name, sizeof r->name);
	r->epoch = inv_col_int64(st, 1);
	inv_col_copy(st, 2, r->roles, sizeof r->roles);
	inv_col_copy(st, 3, r->address, sizeof r->address);
	r->started_at = inv_col_int64(st, 4);
	r->heartbeat_at = inv_col_int64(st, 5);
	r->fenced = inv_col_int64(st, 6) == 0;
	r->machines = inv_col_int64(st, 7);
}

enum inv_status inv_replica_list(struct inv *inv, struct inv_replica_list *out, struct inv_err *err)
{
	memset(out, 0, sizeof *out);
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_REPLICA_LIST, err) : NULL;
	if (!st)
		return INV_IO;
	bool row = false;
	enum inv_status s;
	size_t cap = 0;
	while ((s = inv_step(st, &row, "list replicas", err)) == INV_OK && row) {
		if (out->n == cap) {
			cap = cap ? cap * 2 : 8;
			struct inv_replica *n = realloc(out->items, cap * sizeof *n);
			if (!n) {
				s = inv_fail(err, INV_IO, NULL, "out of memory");
				break;
			}
			out->items = n;
		}
		read_replica(st, &out->items[out->n++]);
	}
	inv_stmt_done(st);
	if (s != INV_OK)
		inv_replica_list_clear(out);
	return s;
}

void inv_replica_list_clear(struct inv_replica_list *l)
{
	if (!l)
		return;
	free(l->items);
	memset(l, 0, sizeof *l);
}
