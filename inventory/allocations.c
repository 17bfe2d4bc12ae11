/* allocations.c - gang reservation, allocation state, substitution. */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const alloc_state_names[] = {
    [INV_AL_DEPLOYING] = "deploying", [INV_AL_READY] = "ready",	      [INV_AL_FAILED] = "failed",
    [INV_AL_RELEASING] = "releasing", [INV_AL_RELEASED] = "released",
};
_Static_assert(sizeof alloc_state_names / sizeof alloc_state_names[0] == INV_AL__COUNT,
	       "alloc_state_names must cover enum inv_alloc_state");

const char *inv_alloc_state_name(enum inv_alloc_state s)
{
	return (unsigned)s < INV_AL__COUNT ? alloc_state_names[s] : "unknown";
}

int inv_alloc_state_from_name(const char *name, enum inv_alloc_state *out)
{
	for (int i = 0; i < INV_AL__COUNT; i++)
		if (name && strcmp(name, alloc_state_names[i]) == 0) {
			*out = (enum inv_alloc_state)i;
			return 0;
		}
	return -1;
}

void inv_allocation_clear(struct inv_allocation *a)
{
	if (!a)
		return;
	free(a->ssh_keys_json);
	free(a->network_json);
	free(a->machines);
	memset(a, 0, sizeof *a);
}

void inv_alloc_list_clear(struct inv_alloc_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		inv_allocation_clear(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof *l);
}

/* Allocation reads return these columns in this order (sql_sqlite.c). */
static void read_alloc(struct inv_q *st, struct inv_allocation *a)
{
	memset(a, 0, sizeof *a);
	a->seq = inv_col_int64(st, 0);
	inv_col_copy(st, 1, a->id, sizeof a->id);
	inv_col_copy(st, 2, a->name, sizeof a->name);
	inv_col_copy(st, 3, a->owner, sizeof a->owner);
	inv_col_copy(st, 4, a->sku, sizeof a->sku);
	inv_col_copy(st, 5, a->image, sizeof a->image);
	a->count = inv_col_int(st, 6);
	a->min_count = inv_col_int(st, 7);
	if (inv_alloc_state_from_name(inv_col_text(st, 8), &a->state) != 0)
		a->state = INV_AL_FAILED;
	a->version = inv_col_int64(st, 9);
	inv_col_copy(st, 10, a->last_error, sizeof a->last_error);
	a->ssh_keys_json = inv_col_dup(st, 11);
	a->substitutions = inv_col_int(st, 12);
	a->created_at = inv_col_int64(st, 13);
	a->ready_at = inv_col_int64(st, 14);
	a->updated_at = inv_col_int64(st, 15);
	a->network_json = inv_col_dup(st, 16);
}

static enum inv_status read_members(struct inv_conn *c, struct inv_allocation *a,
				    struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_MEMBERS, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", a->id);
	size_t cap = 0;
	bool row;
	enum inv_status s;
	while ((s = inv_step(st, &row, "read allocation machines", err)) == INV_OK && row) {
		if (a->nmachines == cap) {
			cap = cap ? cap * 2 : 8;
			void *p = realloc(a->machines, cap * sizeof *a->machines);
			if (!p) {
				s = inv_fail(err, INV_IO, NULL, "out of memory");
				break;
			}
			a->machines = p;
		}
		struct inv_alloc_machine *m = &a->machines[a->nmachines++];
		inv_col_copy(st, 0, m->id, sizeof m->id);
		inv_col_copy(st, 1, m->name, sizeof m->name);
		if (inv_state_from_name(inv_col_text(st, 2), &m->state) != 0)
			m->state = INV_ST_FAILED;
		m->detached = inv_col_int(st, 3) != 0;
		inv_col_copy(st, 4, m->ip, sizeof m->ip);
		inv_col_copy(st, 5, m->image, sizeof m->image);
		inv_col_copy(st, 6, m->address, sizeof m->address);
	}
	inv_stmt_done(st);
	return s;
}

static enum inv_status get_on(struct inv_conn *c, const char *id, struct inv_allocation *out,
			      struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_GET, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", id);
	bool row;
	enum inv_status s = inv_step(st, &row, "read allocation", err);
	if (s == INV_OK && row)
		read_alloc(st, out);
	else if (s == INV_OK)
		s = inv_fail(err, INV_NOT_FOUND, "id", "no allocation '%s'", id);
	inv_stmt_done(st);
	if (s == INV_OK && (s = read_members(c, out, err)) != INV_OK)
		inv_allocation_clear(out);
	if (s == INV_OK && (s = inv_spread_read(c, out->id, &out->spread, err)) != INV_OK)
		inv_allocation_clear(out);
	return s;
}

enum inv_status inv_alloc_read_on(struct inv_conn *c, const char *id, struct inv_allocation *out,
				  struct inv_err *err)
{
	return get_on(c, id, out, err);
}

enum inv_status inv_allocation_get(struct inv *inv, const char *id, struct inv_allocation *out,
				   struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	if (!c)
		return INV_IO;
	return get_on(c, id, out, err);
}

enum inv_status inv_allocation_get_by_name(struct inv *inv, const char *name, const char *owner,
					   struct inv_allocation *out, struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_ALLOC_BY_NAME, err) : NULL;
	char id[INV_ID_LEN] = "";
	bool row = false;

	if (!st)
		return INV_IO;
	inv_bind_text(st, ":name", name);
	inv_bind_text(st, ":owner", owner);
	enum inv_status s = inv_step(st, &row, "find allocation", err);
	if (s == INV_OK && row)
		inv_col_copy(st, 0, id, sizeof id);
	inv_stmt_done(st);
	if (s != INV_OK)
		return s;
	if (!row)
		return inv_fail(err, INV_NOT_FOUND, "id", "no allocation '%s'", name);
	return get_on(c, id, out, err);
}

enum inv_status inv_allocation_list(struct inv *inv, const struct inv_alloc_filter *f,
				    struct inv_alloc_list *out, struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_ALLOC_LIST_IDS, err) : NULL;
	if (!st)
		return INV_IO;
	int limit = inv_clamp_limit(f->limit);
	inv_bind_int(st, ":after", f->after_seq);
	inv_bind_text(st, ":owner", f->owner);
	inv_bind_text(st, ":state",
		      f->state >= 0 ? inv_alloc_state_name((enum inv_alloc_state)f->state) : NULL);
	inv_bind_int(st, ":limit", limit + 1);
	memset(out, 0, sizeof *out);
	out->items = calloc((size_t)limit + 1, sizeof *out->items);
	enum inv_status s = out->items ? INV_OK : inv_fail(err, INV_IO, NULL, "out of memory");
	bool row = false;
	while (s == INV_OK && (s = inv_step(st, &row, "list allocations", err)) == INV_OK && row &&
	       out->n < (size_t)limit + 1) {
		/* get_on uses other statements while this one is open */
		s = get_on(c, inv_col_text(st, 0), &out->items[out->n], err);
		if (s == INV_OK)
			out->n++;
	}
	inv_stmt_done(st);
	if (s != INV_OK) {
		inv_alloc_list_clear(out);
		return s;
	}
	if (out->n > (size_t)limit) {
		inv_allocation_clear(&out->items[--out->n]);
		out->next_seq = out->items[out->n - 1].seq;
	}
	return INV_OK;
}
