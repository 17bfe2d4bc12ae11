/* machine_change.c - the compare-and-swap update of one machine. */
#include "inventory/internal.h"

#include <stdio.h>
#include <string.h>

struct change_ctx {
	const char *id;
	const struct inv_machine_change *c;
	char real_id[INV_ID_LEN];
};

static enum inv_status read_current(sqlite3 *db, struct change_ctx *x, char *state, size_t len,
				    int64_t *version, struct inv_err *err)
{
	sqlite3_stmt *st = inv_prep(
	    db, "SELECT id, state, version FROM machines WHERE id = ?1 OR name = ?1 LIMIT 1", err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, x->id);
	int rc = sqlite3_step(st);
	enum inv_status s = INV_OK;
	if (rc == SQLITE_ROW) {
		inv_col_copy(st, 0, x->real_id, sizeof x->real_id);
		inv_col_copy(st, 1, state, len);
		*version = sqlite3_column_int64(st, 2);
	} else {
		s = rc == SQLITE_DONE ? inv_fail(err, INV_NOT_FOUND, "id", "no machine '%s'", x->id)
				      : inv_sqlfail(err, db, "read machine");
	}
	sqlite3_finalize(st);
	return s;
}

static const char UPDATE_SQL[] =
    "UPDATE machines SET version = version + 1, updated_at = ?1,"
    " state = CASE WHEN ?2 THEN ?3 ELSE state END,"
    " state_since = CASE WHEN ?2 AND ?3 <> state THEN ?1 ELSE state_since END,"
    " phase = CASE WHEN ?4 THEN ?5 ELSE phase END,"
    " attempts = CASE WHEN ?6 THEN ?7 ELSE attempts END,"
    " wake_at = CASE WHEN ?8 THEN ?9 ELSE wake_at END,"
    " deadline_at = CASE WHEN ?10 THEN ?11 ELSE deadline_at END,"
    " last_error = CASE WHEN ?12 THEN ?13 ELSE last_error END,"
    " power = CASE WHEN ?14 THEN ?15 ELSE power END,"
    " sku = CASE WHEN ?16 THEN ?17 ELSE sku END,"
    " facts = CASE WHEN ?18 THEN ?19 ELSE facts END,"
    " maintenance = CASE WHEN ?20 THEN ?21 ELSE maintenance END,"
    " maintenance_reason = CASE WHEN ?20 THEN ?22 ELSE maintenance_reason END,"
    " name = CASE WHEN ?23 THEN ?24 ELSE name END,"
    " site = CASE WHEN ?25 THEN ?26 ELSE site END,"
    " rack = CASE WHEN ?25 THEN ?27 ELSE rack END,"
    " unit = CASE WHEN ?25 THEN ?28 ELSE unit END,"
    " allocation_id = CASE WHEN ?29 THEN ?30 ELSE allocation_id END"
    " WHERE id = ?31 AND version = ?32";

static void bind_change(sqlite3_stmt *st, const struct inv_machine_change *c, const char *id)
{
	sqlite3_bind_int64(st, 1, inv_now_ms());
	sqlite3_bind_int(st, 2, c->set_state);
	inv_bind_text(st, 3, inv_state_name(c->state));
	sqlite3_bind_int(st, 4, c->set_phase);
	inv_bind_text(st, 5, c->phase ? c->phase : "");
	sqlite3_bind_int(st, 6, c->set_attempts);
	sqlite3_bind_int(st, 7, c->attempts);
	sqlite3_bind_int(st, 8, c->set_wake);
	sqlite3_bind_int64(st, 9, c->wake_at);
	sqlite3_bind_int(st, 10, c->set_deadline);
	sqlite3_bind_int64(st, 11, c->deadline_at);
	sqlite3_bind_int(st, 12, c->set_last_error);
	inv_bind_text(st, 13, c->last_error ? c->last_error : "");
	sqlite3_bind_int(st, 14, c->set_power);
	inv_bind_text(st, 15, c->power ? c->power : "unknown");
	sqlite3_bind_int(st, 16, c->set_sku);
	inv_bind_text(st, 17, c->sku ? c->sku : "");
	sqlite3_bind_int(st, 18, c->set_facts);
	inv_bind_text(st, 19, c->facts_json);
	sqlite3_bind_int(st, 20, c->set_maintenance);
	sqlite3_bind_int(st, 21, c->maintenance);
	inv_bind_text(st, 22, c->maintenance_reason ? c->maintenance_reason : "");
	sqlite3_bind_int(st, 23, c->set_name);
	inv_bind_text(st, 24, c->name ? c->name : "");
	sqlite3_bind_int(st, 25, c->set_location);
	inv_bind_text(st, 26, c->location.site);
	inv_bind_text(st, 27, c->location.rack);
	sqlite3_bind_int(st, 28, c->location.unit);
	sqlite3_bind_int(st, 29, c->set_allocation);
	inv_bind_text(st, 30, c->allocation_id && *c->allocation_id ? c->allocation_id : NULL);
	inv_bind_text(st, 31, id);
	sqlite3_bind_int64(st, 32, c->expect_version);
}

static enum inv_status replace_bmc(sqlite3 *db, const char *id, const struct inv_bmc *b,
				   struct inv_err *err)
{
	sqlite3_stmt *st = inv_prep(db, "DELETE FROM bmcs WHERE machine_id = ?1", err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, id);
	enum inv_status s = inv_exec_done(db, st, "remove bmc", err);
	if (s != INV_OK || !b)
		return s;
	return inv_insert_bmc(db, id, b, err);
}

static enum inv_status detach_all(sqlite3 *db, const char *id, struct inv_err *err)
{
	sqlite3_stmt *st = inv_prep(
	    db,
	    "UPDATE allocation_machines SET detached = 1 WHERE machine_id = ?1 AND detached = 0",
	    err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, id);
	return inv_exec_done(db, st, "detach machine", err);
}

static enum inv_status change_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct change_ctx *x = arg;
	const struct inv_machine_change *c = x->c;
	char from[16];
	int64_t version = 0;
	enum inv_status s = read_current(db, x, from, sizeof from, &version, err);
	if (s != INV_OK)
		return s;
	if (version != c->expect_version)
		return inv_fail(err, INV_CONFLICT, "version",
				"machine %s changed meanwhile (version %lld, expected %lld)",
				x->real_id, (long long)version, (long long)c->expect_version);
	sqlite3_stmt *st = inv_prep(db, UPDATE_SQL, err);
	if (!st)
		return INV_IO;
	bind_change(st, c, x->real_id);
	if ((s = inv_exec_done(db, st, "update machine", err)) != INV_OK)
		return s == INV_DUPLICATE
			   ? inv_fail(err, INV_DUPLICATE, "name",
				      "a machine named '%s' already exists", c->name ? c->name : "")
			   : s;
	if (c->set_bmc && (s = replace_bmc(db, x->real_id, c->bmc, err)) != INV_OK)
		return s;
	if (c->set_allocation && (!c->allocation_id || !*c->allocation_id) &&
	    (s = detach_all(db, x->real_id, err)) != INV_OK)
		return s;
	const char *to = c->set_state ? inv_state_name(c->state) : from;
	if (strcmp(from, to) != 0 || c->always_event)
		s = inv_event_row(db, x->real_id, from, to, c->actor, c->reason, c->request_id,
				  err);
	if (s == INV_OK && c->audit_action)
		s = inv_audit_row(db, c->actor, c->audit_action, "machine", x->real_id,
				  c->audit_before_json, c->audit_after_json, c->request_id, err);
	return s;
}

enum inv_status inv_machine_change(struct inv *inv, const char *id,
				   const struct inv_machine_change *c, struct inv_machine *out,
				   struct inv_err *err)
{
	struct change_ctx x = {.id = id, .c = c};
	enum inv_status s = inv_write(inv, change_fn, &x, err);
	if (s == INV_OK && out) {
		inv_machine_clear(out);
		s = inv_machine_get(inv, x.real_id, out, err);
	}
	return s;
}

struct recover_ctx {
	int n;
};

static enum inv_status recover_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct recover_ctx *x = arg;
	sqlite3_stmt *st =
	    inv_prep(db,
		     "UPDATE machines SET wake_at = ?1 WHERE wake_at > ?1 AND state IN"
		     " ('verifying','inspecting','cleaning','deploying','releasing')",
		     err);
	if (!st)
		return INV_IO;
	sqlite3_bind_int64(st, 1, inv_now_ms());
	enum inv_status s = inv_exec_done(db, st, "recover machines", err);
	x->n = sqlite3_changes(db);
	return s;
}

enum inv_status inv_machines_recover(struct inv *inv, int *n, struct inv_err *err)
{
	struct recover_ctx x = {0};
	enum inv_status s = inv_write(inv, recover_fn, &x, err);
	*n = x.n;
	return s;
}
