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
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_SET_SPREAD, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", alloc_id);
	inv_bind_text(st, ":across", inv_spread_across_name(sp->across));
	inv_bind_text(st, ":mode", inv_spread_mode_name(sp->mode));
	return inv_exec_done(st, "store allocation spread", err);
}

/* across and mode of SQL_ALLOC_SPREAD's row; -1 for names not ours. */
static int read_names(struct inv_q *st, struct inv_spread *out)
{
	const char *across = inv_col_text(st, 0);
	const char *mode = inv_col_text(st, 1);
	if (inv_spread_across_from_name(across, &out->across) != 0)
		return -1;
	return out->across == INV_SPREAD_NONE ? 0 : inv_spread_mode_from_name(mode, &out->mode);
}

/* SQL_ALLOC_SPREAD's row for alloc_id into *out and, when sku is not
 * NULL, the allocation's SKU. */
static enum inv_status read_spread(struct inv_conn *c, const char *alloc_id, struct inv_spread *out,
				   char sku[64], struct inv_err *err)
{
	memset(out, 0, sizeof *out);
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_SPREAD, err);
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
		out->domains = inv_col_int(st, 2);
	if (s == INV_OK && sku)
		inv_col_copy(st, 3, sku, 64);
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_spread_read(struct inv_conn *c, const char *alloc_id, struct inv_spread *out,
				struct inv_err *err)
{
	return read_spread(c, alloc_id, out, NULL, err);
}

/* A rack (site and rack) or, spread across sites, a site (rack ""). */
struct domain {
	char site[64], rack[64];
};

/* The domain after *d that has an available machine of sku, with that
 * domain's oldest such machine: *d and mid updated, *found false when
 * there is none. One index seek (machines_pool_domain). */
static enum inv_status next_domain(struct inv_conn *c, const char *sku,
				   enum inv_spread_across across, struct domain *d,
				   char mid[INV_ID_LEN], bool *found, struct inv_err *err)
{
	bool by_site = across == INV_SPREAD_SITE;
	struct inv_q *st = inv_stmt(c, by_site ? SQL_POOL_NEXT_SITE : SQL_POOL_NEXT_RACK, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":sku", sku);
	inv_bind_text(st, ":available", inv_state_name(INV_ST_AVAILABLE));
	inv_bind_text(st, ":site", d->site);
	if (!by_site)
		inv_bind_text(st, ":rack", d->rack);
	enum inv_status s = inv_step(st, found, "pick machines", err);
	if (s == INV_OK && *found) {
		inv_col_copy(st, 0, d->site, sizeof d->site);
		if (!by_site)
			inv_col_copy(st, 1, d->rack, sizeof d->rack);
		inv_col_copy(st, 2, mid, INV_ID_LEN);
	}
	inv_stmt_done(st);
	return s;
}

/* The domain of the oldest available machine of sku that is in one, and
 * that machine (the oldest of its domain too): *found false when none. */
static enum inv_status oldest_domain(struct inv_conn *c, const char *sku,
				     enum inv_spread_across across, struct domain *d,
				     char mid[INV_ID_LEN], bool *found, struct inv_err *err)
{
	memset(d, 0, sizeof *d);
	struct inv_q *st = inv_stmt(c, SQL_POOL_OLDEST_DOMAIN, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":sku", sku);
	inv_bind_text(st, ":available", inv_state_name(INV_ST_AVAILABLE));
	inv_bind_int(st, ":by_site", across == INV_SPREAD_SITE);
	enum inv_status s = inv_step(st, found, "pick machines", err);
	if (s == INV_OK && *found) {
		inv_col_copy(st, 0, d->site, sizeof d->site);
		if (across != INV_SPREAD_SITE)
			inv_col_copy(st, 1, d->rack, sizeof d->rack);
		inv_col_copy(st, 2, mid, INV_ID_LEN);
	}
	inv_stmt_done(st);
	return s;
}

static int domain_cmp(const struct domain *a, const struct domain *b)
{
	int k = strcmp(a->site, b->site);
	return k ? k : strcmp(a->rack, b->rack);
}

/* Available machines of sku, not in maintenance, into *n. */
static enum inv_status pool_count(struct inv_conn *c, const char *sku, int64_t *n,
				  struct inv_err *err)
{
	*n = 0;
	struct inv_q *st = inv_stmt(c, SQL_POOL_COUNT, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":sku", sku);
	inv_bind_text(st, ":available", inv_state_name(INV_ST_AVAILABLE));
	bool row;
	enum inv_status s = inv_step(st, &row, "count machines", err);
	if (s == INV_OK && row)
		*n = inv_col_int64(st, 0);
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

static bool picked(char (*ids)[INV_ID_LEN], int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

/* Best effort, after one machine per domain: the oldest other available
 * machines of sku until there are want. */
static enum inv_status fill(struct inv_conn *c, const char *sku, int want, char (*ids)[INV_ID_LEN],
			    int *n, struct inv_err *err)
{
	int first = *n;
	if (first >= want)
		return INV_OK;
	struct inv_q *st = inv_stmt(c, SQL_POOL_PICK, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":sku", sku);
	inv_bind_text(st, ":available", inv_state_name(INV_ST_AVAILABLE));
	inv_bind_int(st, ":limit", want + first); /* those picked are still available */
	bool row;
	enum inv_status s = INV_OK;
	while (*n < want && (s = inv_step(st, &row, "pick machines", err)) == INV_OK && row) {
		const char *id = inv_col_text(st, 0);
		if (id && !picked(ids, first, id))
			snprintf(ids[(*n)++], INV_ID_LEN, "%s", id);
	}
	inv_stmt_done(st);
	return s;
}

/* One machine per domain (a seek each, never a read of the whole pool),
 * up to want; then strict checks min_count and best effort fills up.
 * Domains go in the order of their names from the one of the oldest
 * machine, around to it: the start moves as the pool is used, like the
 * plain reservation's oldest first, so gangs do not all land in the racks
 * whose names come first (and wait for the engine's max_per_rack). */
enum inv_status inv_spread_pick(struct inv_conn *c, const struct inv_alloc_request *r, int want,
				char (*ids)[INV_ID_LEN], int *n, struct inv_err *err)
{
	struct domain start, d;
	bool found, wrapped = false;
	enum inv_status s = oldest_domain(c, r->sku, r->spread.across, &start, ids[0], &found, err);
	*n = s == INV_OK && found ? 1 : 0;
	d = start;
	while (s == INV_OK && found && *n < want) {
		s = next_domain(c, r->sku, r->spread.across, &d, ids[*n], &found, err);
		if (s == INV_OK && !found && !wrapped) {
			wrapped = found = true; /* around: from the first domain */
			memset(&d, 0, sizeof d);
		} else if (s == INV_OK && found && (!wrapped || domain_cmp(&d, &start) < 0)) {
			(*n)++;
		} else {
			found = false; /* back at the start */
		}
	}
	if (s != INV_OK)
		return s;
	if (r->spread.mode == INV_SPREAD_STRICT)
		return *n < r->min_count ? strict_short(c, r, *n, err) : INV_OK;
	return fill(c, r->sku, want, ids, n, err);
}

/* The domains of the allocation's attached machines (machines in no
 * domain left out) into used, *n of them. */
static enum inv_status read_used(struct inv_conn *c, const char *alloc_id,
				 enum inv_spread_across across, struct domain *used, int *n,
				 struct inv_err *err)
{
	*n = 0;
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_SPREAD_USED, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", alloc_id);
	bool row;
	enum inv_status s;
	while ((s = inv_step(st, &row, "read allocation machines", err)) == INV_OK && row &&
	       *n < INV_MAX_ALLOC) {
		struct domain *u = &used[*n];
		inv_col_copy(st, 0, u->site, sizeof u->site);
		inv_col_copy(st, 1, u->rack, sizeof u->rack);
		if (across == INV_SPREAD_SITE)
			u->rack[0] = 0;
		if (across == INV_SPREAD_SITE ? u->site[0] != 0 : u->rack[0] != 0)
			(*n)++;
	}
	inv_stmt_done(st);
	return s;
}

static int uses(const struct domain *used, int n, const struct domain *d)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += strcmp(used[i].site, d->site) == 0 && strcmp(used[i].rack, d->rack) == 0;
	return k;
}

/* The oldest available machine of the first domain no attached machine is
 * in, else (best effort) of the domain the fewest are in: mid, "" when
 * there is none. A seek per domain with an available machine. */
static enum inv_status pick_domain(struct inv_conn *c, const char *sku, const struct inv_spread *sp,
				   const struct domain *used, int nused, char mid[INV_ID_LEN],
				   struct inv_err *err)
{
	struct domain d = {0};
	char id[INV_ID_LEN];
	bool found = true;
	int least = INV_MAX_ALLOC + 1;
	enum inv_status s = INV_OK;
	mid[0] = 0;
	while (s == INV_OK && found && least > 0) {
		s = next_domain(c, sku, sp->across, &d, id, &found, err);
		int k = s == INV_OK && found ? uses(used, nused, &d) : least;
		if (k < least && (k == 0 || sp->mode == INV_SPREAD_BEST_EFFORT)) {
			least = k;
			snprintf(mid, INV_ID_LEN, "%s", id);
		}
	}
	return s;
}

enum inv_status inv_spread_substitute(struct inv_conn *c, const char *alloc_id,
				      char mid[INV_ID_LEN], struct inv_err *err)
{
	struct inv_spread sp;
	char sku[64];
	enum inv_status s = read_spread(c, alloc_id, &sp, sku, err);
	if (s != INV_OK || sp.across == INV_SPREAD_NONE)
		return s;
	struct domain used[INV_MAX_ALLOC];
	int nused = 0;
	char oldest[INV_ID_LEN];
	snprintf(oldest, sizeof oldest, "%s", mid);
	s = read_used(c, alloc_id, sp.across, used, &nused, err);
	if (s == INV_OK)
		s = pick_domain(c, sku, &sp, used, nused, mid, err);
	/* best effort, no machine in any domain: the plain substitute */
	if (s == INV_OK && !mid[0] && sp.mode == INV_SPREAD_BEST_EFFORT)
		snprintf(mid, INV_ID_LEN, "%s", oldest);
	return s;
}
