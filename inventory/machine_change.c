/* machine_change.c - the compare-and-swap update of one machine. */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct change_ctx {
	const char *id;
	const struct inv_machine_change *c;
	char real_id[INV_ID_LEN];
	struct inv_claim held;	/* the machine's claim before the change */
	int64_t wake_at, wakes; /* the machine's before the change */
	int64_t now;		/* the change's updated_at */
	struct inv_claim after; /* the claim after it */
	bool state_changes;
};

static enum inv_status read_current(struct inv_conn *c, struct change_ctx *x, char *state,
				    size_t len, int64_t *version, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_MACHINE_CURRENT, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":key", x->id);
	bool row;
	enum inv_status s = inv_step(st, &row, "read machine", err);
	if (s == INV_OK && row) {
		inv_col_copy(st, 0, x->real_id, sizeof x->real_id);
		inv_col_copy(st, 1, state, len);
		*version = inv_col_int64(st, 2);
		inv_col_copy(st, 3, x->held.replica, sizeof x->held.replica);
		x->held.epoch = inv_col_int64(st, 4);
		x->wake_at = inv_col_int64(st, 5);
		x->wakes = inv_col_int64(st, 6);
	} else if (s == INV_OK) {
		s = inv_fail(err, INV_NOT_FOUND, "id", "no machine '%s'", x->id);
	}
	inv_stmt_done(st);
	return s;
}

/* One named value of a field's update. */
struct val {
	const char *name;
	const char *text;
	int64_t num;
	bool is_text;
};
#define TEXT(n, v) ((struct val){.name = (n), .text = (v), .is_text = true})
#define NUM(n, v) ((struct val){.name = (n), .num = (v)})

/* The update of one field of the change: when `on`, statement id runs with
 * :id and these values. */
struct field {
	bool on;
	enum inv_sql id;
	struct val v[3];
};

static enum inv_status set_field(struct inv_conn *c, const char *mid, const struct field *f,
				 struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, f->id, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", mid);
	for (size_t i = 0; i < ARRAY_SIZE(f->v) && f->v[i].name; i++)
		if (f->v[i].is_text)
			inv_bind_text(st, f->v[i].name, f->v[i].text);
		else
			inv_bind_int(st, f->v[i].name, f->v[i].num);
	return inv_exec_done(st, "update machine", err);
}

/* Bumps the version if it is still version (0 rows: someone else changed
 * it) and stamps updated_at. */
static enum inv_status bump_version(struct inv_conn *c, const char *mid, int64_t version,
				    int64_t now, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_MACHINE_CAS, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", mid);
	inv_bind_int(st, ":version", version);
	inv_bind_int(st, ":now", now);
	enum inv_status s = inv_exec_done(st, "update machine", err);
	if (s == INV_OK && inv_changes(c) != 1)
		s = inv_fail(err, INV_CONFLICT, "version", "machine %s changed meanwhile", mid);
	return s;
}

/* Bumps the version, then updates each field the change carries, one
 * statement per field. All of it runs in this request's savepoint: it
 * commits whole or not at all. */
static enum inv_status update_machine(struct inv_conn *c, const char *mid,
				      const struct inv_machine_change *m, bool state_changes,
				      int64_t now, struct inv_err *err)
{
	enum inv_status s = bump_version(c, mid, m->expect_version, now, err);
	const struct inv_location *loc = &m->location;
	const char *alloc = m->allocation_id && *m->allocation_id ? m->allocation_id : NULL;
	const struct field fields[] = {
	    {.on = state_changes,
	     .id = SQL_MACHINE_SET_STATE,
	     .v = {TEXT(":state", inv_state_name(m->state)), NUM(":now", now)}},
	    {.on = m->set_phase,
	     .id = SQL_MACHINE_SET_PHASE,
	     .v = {TEXT(":phase", m->phase ? m->phase : "")}},
	    {.on = m->set_attempts,
	     .id = SQL_MACHINE_SET_ATTEMPTS,
	     .v = {NUM(":attempts", m->attempts)}},
	    {.on = m->set_wake,
	     .id = SQL_MACHINE_SET_WAKE,
	     .v = {NUM(":wake_at", m->wake_at), NUM(":keep", m->keep_woken),
		   NUM(":wakes_seen", m->wakes_seen)}},
	    {.on = m->set_deadline,
	     .id = SQL_MACHINE_SET_DEADLINE,
	     .v = {NUM(":deadline_at", m->deadline_at)}},
	    {.on = m->set_last_error,
	     .id = SQL_MACHINE_SET_LAST_ERROR,
	     .v = {TEXT(":last_error", m->last_error ? m->last_error : "")}},
	    {.on = m->set_power,
	     .id = SQL_MACHINE_SET_POWER,
	     .v = {TEXT(":power", m->power ? m->power : "unknown")}},
	    {.on = m->set_sku,
	     .id = SQL_MACHINE_SET_SKU,
	     .v = {TEXT(":sku", m->sku ? m->sku : "")}},
	    {.on = m->set_facts, .id = SQL_MACHINE_SET_FACTS, .v = {TEXT(":facts", m->facts_json)}},
	    {.on = m->set_maintenance,
	     .id = SQL_MACHINE_SET_MAINTENANCE,
	     .v = {NUM(":maintenance", m->maintenance),
		   TEXT(":reason", m->maintenance_reason ? m->maintenance_reason : "")}},
	    {.on = m->set_name,
	     .id = SQL_MACHINE_SET_NAME,
	     .v = {TEXT(":name", m->name ? m->name : "")}},
	    {.on = m->set_location,
	     .id = SQL_MACHINE_SET_LOCATION,
	     .v = {TEXT(":site", loc->site), TEXT(":rack", loc->rack), NUM(":unit", loc->unit)}},
	    {.on = m->set_allocation,
	     .id = SQL_MACHINE_SET_ALLOCATION,
	     .v = {TEXT(":allocation", alloc)}},
	};
	for (size_t i = 0; s == INV_OK && i < ARRAY_SIZE(fields); i++)
		if (fields[i].on)
			s = set_field(c, mid, &fields[i], err);
	return s;
}

static enum inv_status replace_bmc(struct inv_conn *c, const char *id, const struct inv_bmc *b,
				   struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_BMC_DELETE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", id);
	enum inv_status s = inv_exec_done(st, "remove bmc", err);
	if (s != INV_OK || !b)
		return s;
	return inv_insert_bmc(c, id, b, err);
}

/* Detaching a machine also detaches its allocation rows: one of the
 * inventory's own changes (docs/lifecycle.md, "Transitions the inventory
 * makes itself"). */
static enum inv_status detach_all(struct inv_conn *c, const char *id, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_MACHINE_DETACH_ALL, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", id);
	return inv_exec_done(st, "detach machine", err);
}

/* The engine's claim (inv_machine_change.claim): whether the change may
 * commit, and the claim the machine has after it into *after. */
static enum inv_status check_claim(const struct change_ctx *x, struct inv_claim *after,
				   struct inv_err *err)
{
	const struct inv_machine_change *c = x->c;
	const struct inv_claim *want = c->claim, *held = &x->held;
	*after = *held;
	if (!want)
		return INV_OK;
	bool mine = strcmp(held->replica, want->replica) == 0;
	if (!(mine && held->epoch == want->epoch) &&
	    !(c->take_claim && (!held->replica[0] || mine)))
		return inv_fail(err, INV_CONFLICT, "claim",
				"machine %s is driven by replica '%s' (epoch %lld), not by '%s' "
				"(epoch %lld)",
				x->real_id, held->replica, (long long)held->epoch, want->replica,
				(long long)want->epoch);
	if (c->take_claim)
		*after = *want;
	if (c->set_wake && c->wake_at == 0)
		*after = (struct inv_claim){0}; /* nothing left to do: given up */
	return INV_OK;
}

static enum inv_status set_claim(struct inv_conn *cn, const struct change_ctx *x,
				 const struct inv_claim *after, struct inv_err *err)
{
	if (strcmp(after->replica, x->held.replica) == 0 && after->epoch == x->held.epoch)
		return INV_OK;
	const struct field f = {
	    .on = true,
	    .id = SQL_MACHINE_SET_CLAIM,
	    .v = {TEXT(":replica", after->replica), NUM(":epoch", after->epoch)}};
	return set_field(cn, x->real_id, &f, err);
}

/* inv_machine_change.end_agent_session: no agent heard from, and its
 * session's tokens used up. */
static enum inv_status end_agent(struct inv_conn *cn, const char *mid, struct inv_err *err)
{
	const struct field seen = {.on = true, .id = SQL_MACHINE_AGENT_SEEN, .v = {NUM(":at", 0)}};
	enum inv_status s = set_field(cn, mid, &seen, err);
	struct inv_q *st = s == INV_OK ? inv_stmt(cn, SQL_BOOT_TOKEN_REVOKE, err) : NULL;
	if (!st)
		return s == INV_OK ? INV_IO : s;
	inv_bind_text(st, ":machine", mid);
	inv_bind_text(st, ":kind", "session");
	inv_bind_int(st, ":now", inv_now_ms());
	return inv_exec_done(st, "revoke boot tokens", err);
}

static enum inv_status change_fn(struct inv_conn *cn, void *arg, struct inv_err *err)
{
	struct change_ctx *x = arg;
	const struct inv_machine_change *c = x->c;
	char from[16];
	int64_t version = 0;
	enum inv_status s = read_current(cn, x, from, sizeof from, &version, err);
	if (s != INV_OK)
		return s;
	if (version != c->expect_version)
		return inv_fail(err, INV_CONFLICT, "version",
				"machine %s changed meanwhile (version %lld, expected %lld)",
				x->real_id, (long long)version, (long long)c->expect_version);
	struct inv_claim claim;
	if ((s = check_claim(x, &claim, err)) != INV_OK)
		return s;
	x->after = claim;
	const char *to = c->set_state ? inv_state_name(c->state) : from;
	bool state_changes = strcmp(from, to) != 0;
	x->state_changes = state_changes;
	x->now = inv_now_ms();
	if ((s = update_machine(cn, x->real_id, c, state_changes, x->now, err)) != INV_OK)
		return s == INV_DUPLICATE
			   ? inv_fail(err, INV_DUPLICATE, "name",
				      "a machine named '%s' already exists", c->name ? c->name : "")
			   : s;
	if ((s = set_claim(cn, x, &claim, err)) != INV_OK)
		return s;
	if (c->set_bmc && (s = replace_bmc(cn, x->real_id, c->bmc, err)) != INV_OK)
		return s;
	if (c->set_allocation && (!c->allocation_id || !*c->allocation_id) &&
	    (s = detach_all(cn, x->real_id, err)) != INV_OK)
		return s;
	if (c->end_agent_session && (s = end_agent(cn, x->real_id, err)) != INV_OK)
		return s;
	if (state_changes || c->always_event)
		s = inv_event_row(cn, x->real_id, from, to, c->actor, c->reason, c->request_id,
				  err);
	if (s == INV_OK && c->audit_action)
		s = inv_audit_row(cn, c->actor, c->audit_action, "machine", x->real_id,
				  c->audit_before_json, c->audit_after_json, c->request_id, err);
	return s;
}

/* Whether out, the machine at expect_version, can be brought to what the
 * change committed without reading it again: not when the change touched
 * what the record reads from other tables (BMC access, the allocation's
 * owner). */
static bool patchable(const struct inv_machine_change *c, const struct inv_machine *out)
{
	return c->out_is_current && out && strcmp(out->id, "") != 0 &&
	       out->version == c->expect_version && !c->set_bmc &&
	       !(c->set_allocation && c->allocation_id && *c->allocation_id);
}

static void copy_str(char *dst, size_t len, const char *v)
{
	snprintf(dst, len, "%s", v ? v : "");
}

/* Applies the committed change x to out (patchable). */
static void patch(const struct change_ctx *x, struct inv_machine *out)
{
	const struct inv_machine_change *c = x->c;
	out->version = c->expect_version + 1;
	out->updated_at = x->now;
	if (x->state_changes)
		out->state = c->state, out->state_since = x->now;
	if (c->set_phase)
		copy_str(out->phase, sizeof out->phase, c->phase);
	if (c->set_attempts)
		out->attempts = c->attempts;
	out->wakes = x->wakes;
	out->wake_at = x->wake_at;
	if (c->set_wake && !(c->keep_woken && x->wakes != c->wakes_seen))
		out->wake_at = c->wake_at;
	if (c->set_deadline)
		out->deadline_at = c->deadline_at;
	if (c->set_last_error)
		copy_str(out->last_error, sizeof out->last_error, c->last_error);
	if (c->set_power)
		copy_str(out->power, sizeof out->power, c->power ? c->power : "unknown");
	if (c->set_sku)
		copy_str(out->sku, sizeof out->sku, c->sku);
	if (c->set_facts) {
		free(out->facts_json);
		out->facts_json = c->facts_json ? strdup(c->facts_json) : NULL;
	}
	if (c->set_maintenance) {
		out->maintenance = c->maintenance;
		copy_str(out->maintenance_reason, sizeof out->maintenance_reason,
			 c->maintenance_reason);
	}
	if (c->set_name)
		copy_str(out->name, sizeof out->name, c->name);
	if (c->set_location)
		out->location = c->location;
	if (c->set_allocation) /* detached (patchable) */
		out->allocation_id[0] = out->owner[0] = 0;
	copy_str(out->replica, sizeof out->replica, x->after.replica);
	out->replica_epoch = x->after.epoch;
}

enum inv_status inv_machine_change(struct inv *inv, const char *id,
				   const struct inv_machine_change *c, struct inv_machine *out,
				   struct inv_err *err)
{
	struct change_ctx x = {.id = id, .c = c};
	enum inv_status s = inv_write(inv, change_fn, &x, err);
	if (s == INV_OK && patchable(c, out)) {
		patch(&x, out);
		if (!c->set_facts || !c->facts_json || out->facts_json)
			return INV_OK; /* else out of memory copying the facts: read them */
	}
	if (s == INV_OK && out) {
		inv_machine_clear(out);
		s = inv_machine_get(inv, x.real_id, out, err);
	}
	return s;
}

/* The states whose machines the engine is working on: recovery wakes
 * them (docs/lifecycle.md, "Crash-only recovery" and "Transitions the
 * inventory makes itself"). */
static const enum inv_state transitional[] = {
    INV_ST_VERIFYING, INV_ST_INSPECTING, INV_ST_CLEANING, INV_ST_DEPLOYING, INV_ST_RELEASING,
};

struct recover_ctx {
	int n;
	const char *replica;
};

static enum inv_status recover_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct recover_ctx *x = arg;
	int64_t now = inv_now_ms();
	enum inv_status s = INV_OK;
	for (size_t i = 0; s == INV_OK && i < ARRAY_SIZE(transitional); i++) {
		struct inv_q *st = inv_stmt(c, SQL_MACHINES_RECOVER, err);
		if (!st)
			return INV_IO;
		inv_bind_int(st, ":now", now);
		inv_bind_text(st, ":state", inv_state_name(transitional[i]));
		inv_bind_text(st, ":replica", x->replica);
		if ((s = inv_exec_done(st, "recover machines", err)) == INV_OK)
			x->n += inv_changes(c);
	}
	return s;
}

enum inv_status inv_machines_recover(struct inv *inv, int *n, struct inv_err *err)
{
	struct recover_ctx x = {.replica = inv_replica_of(inv)};
	enum inv_status s = inv_write(inv, recover_fn, &x, err);
	*n = x.n;
	return s;
}
