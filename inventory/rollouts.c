/* rollouts.c - staged image rollouts: names, wave arithmetic and reads.
 * The writes (create and the engine's moves) are rollout_write.c's. */
#include "inventory/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rollout_state_names[] = {
    [INV_RO_RUNNING] = "running",	[INV_RO_HALTING] = "halting",
    [INV_RO_CANCELLING] = "cancelling", [INV_RO_COMPLETED] = "completed",
    [INV_RO_HALTED] = "halted",		[INV_RO_CANCELLED] = "cancelled",
};
_Static_assert(sizeof rollout_state_names / sizeof rollout_state_names[0] == INV_RO__COUNT,
	       "rollout_state_names must cover enum inv_rollout_state");

static const char *const rollout_mstate_names[] = {
    [INV_RM_PENDING] = "pending", [INV_RM_REIMAGING] = "reimaging", [INV_RM_DONE] = "done",
    [INV_RM_FAILED] = "failed",	  [INV_RM_SKIPPED] = "skipped",
};
_Static_assert(sizeof rollout_mstate_names / sizeof rollout_mstate_names[0] == INV_RM__COUNT,
	       "rollout_mstate_names must cover enum inv_rollout_mstate");

const char *inv_rollout_state_name(enum inv_rollout_state s)
{
	return (unsigned)s < INV_RO__COUNT ? rollout_state_names[s] : "unknown";
}

int inv_rollout_state_from_name(const char *name, enum inv_rollout_state *out)
{
	for (int i = 0; i < INV_RO__COUNT; i++)
		if (name && strcmp(name, rollout_state_names[i]) == 0) {
			*out = (enum inv_rollout_state)i;
			return 0;
		}
	return -1;
}

bool inv_rollout_open(enum inv_rollout_state s)
{
	return s == INV_RO_RUNNING || s == INV_RO_HALTING || s == INV_RO_CANCELLING;
}

const char *inv_rollout_mstate_name(enum inv_rollout_mstate s)
{
	return (unsigned)s < INV_RM__COUNT ? rollout_mstate_names[s] : "unknown";
}

static int mstate_from_name(const char *name)
{
	for (int i = 0; i < INV_RM__COUNT; i++)
		if (name && strcmp(name, rollout_mstate_names[i]) == 0)
			return i;
	return INV_RM_FAILED;
}

/* One wave's spec: "N" or "P%" with 1..7 characters; -1 when malformed.
 * *pct says which. */
static long parse_spec(const char *s, bool *pct)
{
	size_t len = s ? strlen(s) : 0;
	if (len == 0 || len > 7 || s[0] < '0' || s[0] > '9')
		return -1;
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	*pct = end && *end == '%';
	if (errno || !end || (*end && !(*pct && end[1] == 0)))
		return -1;
	return v;
}

/* The number of machines on the new image after spec i, or -1 with err. */
static int wave_total(const char *spec, int i, int n, struct inv_err *err)
{
	bool pct = false;
	long v = parse_spec(spec, &pct);
	if (v < 0)
		return inv_fail(err, INV_INVALID, "waves",
				"waves[%d] '%.16s' must be a count (\"2\") or a percentage "
				"(\"10%%\")",
				i, spec ? spec : ""),
		       -1;
	if (v == 0)
		return inv_fail(err, INV_INVALID, "waves", "waves[%d] must be at least 1 (or 1%%)",
				i),
		       -1;
	if (pct && v > 100)
		return inv_fail(err, INV_INVALID, "waves", "waves[%d] '%s' is above 100%%", i,
				spec),
		       -1;
	if (!pct && v > n)
		return inv_fail(err, INV_INVALID, "waves",
				"waves[%d] is %ld machines; the allocation has %d", i, v, n),
		       -1;
	/* rounded up: 10% of 4 machines is 1 */
	return pct ? (int)(((long long)n * v + 99) / 100) : (int)v;
}

enum inv_status inv_rollout_waves(const char *const *specs, int nspecs, int n, int *cum,
				  struct inv_err *err)
{
	if (nspecs <= 0)
		return inv_fail(err, INV_INVALID, "waves", "waves must list at least one wave");
	if (nspecs > INV_ROLLOUT_MAX_WAVES)
		return inv_fail(err, INV_INVALID, "waves", "at most %d waves",
				INV_ROLLOUT_MAX_WAVES);
	for (int i = 0; i < nspecs; i++) {
		if ((cum[i] = wave_total(specs[i], i, n, err)) < 0)
			return INV_INVALID;
		if (i > 0 && cum[i] < cum[i - 1])
			return inv_fail(err, INV_INVALID, "waves",
					"waves[%d] '%s' (%d machines) is below waves[%d] '%s' (%d "
					"machines): waves count machines in total",
					i, specs[i], cum[i], i - 1, specs[i - 1], cum[i - 1]);
	}
	if (cum[nspecs - 1] != n)
		return inv_fail(err, INV_INVALID, "waves",
				"the last wave '%s' reaches %d of the allocation's %d machines: it "
				"must reach all of them (\"100%%\")",
				specs[nspecs - 1], cum[nspecs - 1], n);
	return INV_OK;
}

void inv_rollout_clear(struct inv_rollout *r)
{
	if (!r)
		return;
	free(r->machines);
	memset(r, 0, sizeof *r);
}

/* "1,10%,100%" into r->waves. */
static void split_waves(const char *text, struct inv_rollout *r)
{
	r->nwaves = 0;
	const char *p = text ? text : "";
	while (*p && r->nwaves < INV_ROLLOUT_MAX_WAVES) {
		size_t len = strcspn(p, ",");
		snprintf(r->waves[r->nwaves++], sizeof r->waves[0], "%.*s", (int)len, p);
		p += len + (p[len] == ',');
	}
}

/* The columns of SQL_ROLLOUT_GET, in order. */
static void read_rollout(struct inv_q *st, struct inv_rollout *r)
{
	inv_col_copy(st, 0, r->id, sizeof r->id);
	inv_col_copy(st, 1, r->allocation_id, sizeof r->allocation_id);
	inv_col_copy(st, 2, r->image, sizeof r->image);
	inv_col_copy(st, 3, r->old_image, sizeof r->old_image);
	split_waves(inv_col_text(st, 4), r);
	r->max_failures = inv_col_int(st, 5);
	if (inv_rollout_state_from_name(inv_col_text(st, 6), &r->state) != 0)
		r->state = INV_RO_HALTED;
	r->wave = inv_col_int(st, 7);
	r->wave_started_at = inv_col_int64(st, 8);
	r->failures = inv_col_int(st, 9);
	inv_col_copy(st, 10, r->reason, sizeof r->reason);
	inv_col_copy(st, 11, r->actor, sizeof r->actor);
	r->created_at = inv_col_int64(st, 12);
	r->updated_at = inv_col_int64(st, 13);
	r->finished_at = inv_col_int64(st, 14);
}

static enum inv_status read_machines(struct inv_conn *c, struct inv_rollout *r, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ROLLOUT_MACHINES, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", r->id);
	size_t cap = 0;
	bool row;
	enum inv_status s;
	while ((s = inv_step(st, &row, "read rollout machines", err)) == INV_OK && row) {
		if (r->nmachines == cap) {
			cap = cap ? cap * 2 : 8;
			void *p = realloc(r->machines, cap * sizeof *r->machines);
			if (!p) {
				s = inv_fail(err, INV_IO, NULL, "out of memory");
				break;
			}
			r->machines = p;
		}
		struct inv_rollout_machine *m = &r->machines[r->nmachines++];
		memset(m, 0, sizeof *m);
		inv_col_copy(st, 0, m->id, sizeof m->id);
		inv_col_copy(st, 1, m->name, sizeof m->name);
		m->wave = inv_col_int(st, 2);
		m->state = (enum inv_rollout_mstate)mstate_from_name(inv_col_text(st, 3));
		inv_col_copy(st, 4, m->message, sizeof m->message);
		m->started_at = inv_col_int64(st, 5);
		m->finished_at = inv_col_int64(st, 6);
	}
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_rollout_read_on(struct inv_conn *c, const char *id, struct inv_rollout *out,
				    struct inv_err *err)
{
	inv_rollout_clear(out);
	struct inv_q *st = inv_stmt(c, SQL_ROLLOUT_GET, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", id);
	bool row;
	enum inv_status s = inv_step(st, &row, "read rollout", err);
	if (s == INV_OK && row)
		read_rollout(st, out);
	else if (s == INV_OK)
		s = inv_fail(err, INV_NOT_FOUND, "rebuild", "no rollout '%s'", id);
	inv_stmt_done(st);
	if (s == INV_OK)
		s = read_machines(c, out, err);
	if (s != INV_OK)
		inv_rollout_clear(out);
	return s;
}

enum inv_status inv_rollout_get(struct inv *inv, const char *id, struct inv_rollout *out,
				struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	return c ? inv_rollout_read_on(c, id, out, err) : INV_IO;
}

enum inv_status inv_rollout_latest(struct inv *inv, const char *alloc_id, struct inv_rollout *out,
				   struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_ROLLOUT_LATEST, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":alloc", alloc_id);
	bool row = false;
	char id[INV_ID_LEN] = "";
	enum inv_status s = inv_step(st, &row, "find rollout", err);
	if (s == INV_OK && row)
		inv_col_copy(st, 0, id, sizeof id);
	inv_stmt_done(st);
	if (s == INV_OK && !row)
		return inv_fail(err, INV_NOT_FOUND, "rebuild", "allocation %s was never rebuilt",
				alloc_id);
	return s == INV_OK ? inv_rollout_read_on(c, id, out, err) : s;
}

/* Binds the open states as :running, :halting, :cancelling. */
void inv_rollout_bind_open(struct inv_q *st)
{
	inv_bind_text(st, ":running", inv_rollout_state_name(INV_RO_RUNNING));
	inv_bind_text(st, ":halting", inv_rollout_state_name(INV_RO_HALTING));
	inv_bind_text(st, ":cancelling", inv_rollout_state_name(INV_RO_CANCELLING));
}

enum inv_status inv_rollouts_open(struct inv *inv, char (*ids)[INV_ID_LEN], int max, int *n,
				  struct inv_err *err)
{
	*n = 0;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_ROLLOUTS_OPEN, err) : NULL;
	if (!st)
		return INV_IO;
	inv_rollout_bind_open(st);
	inv_bind_int(st, ":limit", max);
	bool row;
	enum inv_status s = INV_OK;
	while (*n < max && (s = inv_step(st, &row, "list open rollouts", err)) == INV_OK && row)
		inv_col_copy(st, 0, ids[(*n)++], INV_ID_LEN);
	inv_stmt_done(st);
	return *n == max ? INV_OK : s;
}
