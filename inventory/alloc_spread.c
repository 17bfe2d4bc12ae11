/* alloc_spread.c - failure-domain spread of an allocation (inventory.h,
 * struct inv_spread): the names, storing and reading an allocation's
 * spread, and the picks of the reservation and of substitution when one
 * is asked. Everything but inv_spread_read runs on the writer, inside the
 * reservation's or substitution's transaction, so two gangs racing for
 * the same racks are serialized like any two reservations. */
#include "inventory/internal.h"

#include <stdio.h>
#include <string.h>

static const char *const across_names[] = {
    [INV_SPREAD_NONE] = "",
    [INV_SPREAD_RACK] = "rack",
    [INV_SPREAD_SITE] = "site",
};
_Static_assert(sizeof across_names / sizeof across_names[0] == INV_SPREAD__COUNT,
	       "across_names must cover enum inv_spread_across");

static const char *const mode_names[] = {
    [INV_SPREAD_STRICT] = "strict",
    [INV_SPREAD_BEST_EFFORT] = "best_effort",
};
_Static_assert(sizeof mode_names / sizeof mode_names[0] == INV_SPREAD_MODE__COUNT,
	       "mode_names must cover enum inv_spread_mode");

const char *inv_spread_across_name(enum inv_spread_across a)
{
	return (unsigned)a < INV_SPREAD__COUNT ? across_names[a] : "unknown";
}

const char *inv_spread_mode_name(enum inv_spread_mode m)
{
	return (unsigned)m < INV_SPREAD_MODE__COUNT ? mode_names[m] : "unknown";
}

int inv_spread_across_from_name(const char *name, enum inv_spread_across *out)
{
	for (int i = 0; name && i < INV_SPREAD__COUNT; i++)
		if (strcmp(name, across_names[i]) == 0) {
			*out = (enum inv_spread_across)i;
			return 0;
		}
	return -1;
}

int inv_spread_mode_from_name(const char *name, enum inv_spread_mode *out)
{
	for (int i = 0; name && i < INV_SPREAD_MODE__COUNT; i++)
		if (strcmp(name, mode_names[i]) == 0) {
			*out = (enum inv_spread_mode)i;
			return 0;
		}
	return -1;
}

void inv_spread_audit(const struct inv_spread *sp, char *buf, size_t len)
{
	if (sp->across == INV_SPREAD_NONE)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, ",\"spread\":{\"across\":\"%s\",\"mode\":\"%s\"}",
			 inv_spread_across_name(sp->across), inv_spread_mode_name(sp->mode));
}

enum inv_status inv_spread_store(struct inv_conn *c, const char *alloc_id,
				 const struct inv_spread *sp, struct inv_err *err)
{
	sqlite3_stmt *st = inv_stmt(c, SQL_ALLOC_SET_SPREAD, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", alloc_id);
	inv_bind_text(st, ":across", inv_spread_across_name(sp->across));
	inv_bind_text(st, ":mode", inv_spread_mode_name(sp->mode));
	return inv_exec_done(st, "store allocation spread", err);
}

/* across and mode of SQL_ALLOC_SPREAD's row; -1 for names not ours. */
static int read_names(sqlite3_stmt *st, struct inv_spread *out)
{
	const char *across = (const char *)sqlite3_column_text(st, 0);
	const char *mode = (const char *)sqlite3_column_text(st, 1);
	if (inv_spread_across_from_name(across, &out->across) != 0)
		return -1;
	return out->across == INV_SPREAD_NONE ? 0 : inv_spread_mode_from_name(mode, &out->mode);
}

enum inv_status inv_spread_read(struct inv_conn *c, const char *alloc_id, struct inv_spread *out,
				struct inv_err *err)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = inv_stmt(c, SQL_ALLOC_SPREAD, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", alloc_id);
	inv_bind_text(st, ":site", inv_spread_across_name(INV_SPREAD_SITE));
	bool row;
	enum inv_status s = inv_step(st, &row, "read allocation spread", err);
	if (s == INV_OK && !row)
		s = inv_fail(err, INV_NOT_FOUND, "id", "no allocation '%s'", alloc_id);
	if (s == INV_OK && read_names(st, out) != 0)
		s = inv_fail(err, INV_CORRUPT, NULL, "allocation %s has a bad spread", alloc_id);
	if (s == INV_OK)
		out->domains = sqlite3_column_int(st, 2);
	inv_stmt_done(st);
	return s;
}

/* Available machines of sku, not in maintenance, into *n. */
static enum inv_status pool_count(struct inv_conn *c, const char *sku, int64_t *n,
				  struct inv_err *err)
{
	*n = 0;
	sqlite3_stmt *st = inv_stmt(c, SQL_POOL_COUNT, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":sku", sku);
	inv_bind_text(st, ":available", inv_state_name(INV_ST_AVAILABLE));
	bool row;
	enum inv_status s = inv_step(st, &row, "count machines", err);
	if (s == INV_OK && row)
		*n = sqlite3_column_int64(st, 0);
	inv_stmt_done(st);
	return s;
}

/* A strict spread found n domains, fewer than min_count: INV_CAPACITY
 * naming the domains, or, when the pool itself is short, the plain
 * reservation's "N available, M requested", which says that better. */
static enum inv_status strict_short(struct inv_conn *c, const struct inv_alloc_request *r, int n,
				    struct inv_err *err)
{
	int64_t pool;
	enum inv_status s = pool_count(c, r->sku, &pool, err);
	if (s != INV_OK)
		return s;
	if (pool < r->min_count)
		return inv_fail(err, INV_CAPACITY, "count", "sku %s: %lld available, %d requested",
				r->sku, (long long)pool, r->min_count);
	const char *across = inv_spread_across_name(r->spread.across);
	return inv_fail(err, INV_CAPACITY, "spread",
			"spread across %s needs %d %ss with an available %s machine; %d %s one",
			across, r->min_count, across, r->sku, n, n == 1 ? "has" : "have");
}

enum inv_status inv_spread_pick(struct inv_conn *c, const struct inv_alloc_request *r, int want,
				char (*ids)[INV_ID_LEN], int *n, struct inv_err *err)
{
	*n = 0;
	bool strict = r->spread.mode == INV_SPREAD_STRICT;
	sqlite3_stmt *st = inv_stmt(c, SQL_POOL_PICK_SPREAD, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":sku", r->sku);
	inv_bind_text(st, ":available", inv_state_name(INV_ST_AVAILABLE));
	inv_bind_int(st, ":by_site", r->spread.across == INV_SPREAD_SITE);
	inv_bind_int(st, ":strict", strict);
	inv_bind_int(st, ":limit", want);
	bool row;
	enum inv_status s = INV_OK;
	while (*n < want && (s = inv_step(st, &row, "pick machines", err)) == INV_OK && row)
		inv_col_copy(st, 0, ids[(*n)++], INV_ID_LEN);
	inv_stmt_done(st);
	if (s == INV_OK && strict && *n < r->min_count)
		s = strict_short(c, r, *n, err);
	return s;
}

enum inv_status inv_spread_pick_substitute(struct inv_conn *c, const char *alloc_id, int max_subs,
					   char mid[INV_ID_LEN], bool *spread, struct inv_err *err)
{
	mid[0] = 0;
	struct inv_spread sp;
	enum inv_status s = inv_spread_read(c, alloc_id, &sp, err);
	*spread = s == INV_OK && sp.across != INV_SPREAD_NONE;
	if (!*spread)
		return s;
	sqlite3_stmt *st = inv_stmt(c, SQL_ALLOC_SUBSTITUTE_PICK_SPREAD, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", alloc_id);
	inv_bind_text(st, ":alloc_state", inv_alloc_state_name(INV_AL_DEPLOYING));
	inv_bind_int(st, ":max_subs", max_subs);
	inv_bind_text(st, ":available", inv_state_name(INV_ST_AVAILABLE));
	inv_bind_int(st, ":by_site", sp.across == INV_SPREAD_SITE);
	inv_bind_int(st, ":strict", sp.mode == INV_SPREAD_STRICT);
	bool row;
	s = inv_step(st, &row, "pick substitute", err);
	if (s == INV_OK && row)
		inv_col_copy(st, 0, mid, INV_ID_LEN);
	inv_stmt_done(st);
	return s;
}
