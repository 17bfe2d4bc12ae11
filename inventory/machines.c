/* machines.c - machines, their NICs and BMC access, compare-and-swap changes. */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {
    [INV_ST_ENROLLED] = "enrolled",	  [INV_ST_VERIFYING] = "verifying",
    [INV_ST_INSPECTING] = "inspecting",	  [INV_ST_CLEANING] = "cleaning",
    [INV_ST_AVAILABLE] = "available",	  [INV_ST_DEPLOYING] = "deploying",
    [INV_ST_ACTIVE] = "active",		  [INV_ST_RELEASING] = "releasing",
    [INV_ST_MAINTENANCE] = "maintenance", [INV_ST_FAILED] = "failed",
    [INV_ST_RETIRED] = "retired",
};
_Static_assert(sizeof state_names / sizeof state_names[0] == INV_ST__COUNT,
	       "state_names must cover enum inv_state");

const char *inv_state_name(enum inv_state s)
{
	return (unsigned)s < INV_ST__COUNT ? state_names[s] : "unknown";
}

int inv_state_from_name(const char *name, enum inv_state *out)
{
	for (int i = 0; i < INV_ST__COUNT; i++)
		if (name && strcmp(name, state_names[i]) == 0) {
			*out = (enum inv_state)i;
			return 0;
		}
	return -1;
}

void inv_bmc_clear(struct inv_bmc *b)
{
	if (!b)
		return;
	if (b->password) {
		/* secrets do not linger in freed memory */
		memset(b->password, 0, strlen(b->password));
		free(b->password);
	}
	free(b->options_json);
	memset(b, 0, sizeof *b);
}

void inv_machine_clear(struct inv_machine *m)
{
	if (!m)
		return;
	free(m->facts_json);
	free(m->bmc_options_json);
	memset(m, 0, sizeof *m);
}

void inv_machine_list_clear(struct inv_machine_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		inv_machine_clear(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof *l);
}

#define MACHINE_COLS                                                                               \
	"m.seq, m.id, m.name, m.state, m.version, m.sku, m.power, m.maintenance,"                  \
	" m.maintenance_reason, m.last_error, m.site, m.rack, m.unit, m.allocation_id, m.phase,"   \
	" m.attempts, m.wake_at, m.deadline_at, m.facts, m.created_at, m.updated_at,"              \
	" m.state_since, b.driver, b.address, b.username, b.options, a.owner,"                     \
	" (SELECT group_concat(mac, ',') FROM (SELECT mac FROM nics WHERE machine_id = m.id"       \
	" ORDER BY mac))"
#define MACHINE_FROM                                                                               \
	" FROM machines m LEFT JOIN bmcs b ON b.machine_id = m.id"                                 \
	" LEFT JOIN allocations a ON a.id = m.allocation_id"

static void split_macs(struct inv_machine *m, const char *csv)
{
	m->nmacs = 0;
	while (csv && *csv && m->nmacs < INV_MAX_MACS) {
		const char *c = strchr(csv, ',');
		size_t n = c ? (size_t)(c - csv) : strlen(csv);
		snprintf(m->macs[m->nmacs++], sizeof m->macs[0], "%.*s", (int)n, csv);
		csv = c ? c + 1 : NULL;
	}
}

static void read_machine(sqlite3_stmt *st, struct inv_machine *m)
{
	memset(m, 0, sizeof *m);
	m->seq = sqlite3_column_int64(st, 0);
	inv_col_copy(st, 1, m->id, sizeof m->id);
	inv_col_copy(st, 2, m->name, sizeof m->name);
	if (inv_state_from_name((const char *)sqlite3_column_text(st, 3), &m->state) != 0)
		m->state = INV_ST_FAILED;
	m->version = sqlite3_column_int64(st, 4);
	inv_col_copy(st, 5, m->sku, sizeof m->sku);
	inv_col_copy(st, 6, m->power, sizeof m->power);
	m->maintenance = sqlite3_column_int(st, 7) != 0;
	inv_col_copy(st, 8, m->maintenance_reason, sizeof m->maintenance_reason);
	inv_col_copy(st, 9, m->last_error, sizeof m->last_error);
	inv_col_copy(st, 10, m->location.site, sizeof m->location.site);
	inv_col_copy(st, 11, m->location.rack, sizeof m->location.rack);
	m->location.unit = sqlite3_column_int(st, 12);
	inv_col_copy(st, 13, m->allocation_id, sizeof m->allocation_id);
	inv_col_copy(st, 14, m->phase, sizeof m->phase);
	m->attempts = sqlite3_column_int(st, 15);
	m->wake_at = sqlite3_column_int64(st, 16);
	m->deadline_at = sqlite3_column_int64(st, 17);
	m->facts_json = inv_col_dup(st, 18);
	m->created_at = sqlite3_column_int64(st, 19);
	m->updated_at = sqlite3_column_int64(st, 20);
	m->state_since = sqlite3_column_int64(st, 21);
	m->has_bmc = sqlite3_column_type(st, 22) != SQLITE_NULL;
	inv_col_copy(st, 22, m->bmc_driver, sizeof m->bmc_driver);
	inv_col_copy(st, 23, m->bmc_address, sizeof m->bmc_address);
	inv_col_copy(st, 24, m->bmc_username, sizeof m->bmc_username);
	m->bmc_options_json = inv_col_dup(st, 25);
	inv_col_copy(st, 26, m->owner, sizeof m->owner);
	split_macs(m, (const char *)sqlite3_column_text(st, 27));
}

/* Reads one machine by a WHERE clause with one text parameter. */
static enum inv_status get_where(sqlite3 *db, const char *where, const char *key,
				 struct inv_machine *out, struct inv_err *err)
{
	char sql[1024];
	snprintf(sql, sizeof sql, "SELECT " MACHINE_COLS MACHINE_FROM " WHERE %s", where);
	sqlite3_stmt *st = inv_prep(db, sql, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	enum inv_status s = INV_OK;
	if (rc == SQLITE_ROW)
		read_machine(st, out);
	else if (rc == SQLITE_DONE)
		s = inv_fail(err, INV_NOT_FOUND, "id", "no machine '%s'", key);
	else
		s = inv_sqlfail(err, db, "read machine");
	sqlite3_finalize(st);
	return s;
}

enum inv_status inv_machine_get(struct inv *inv, const char *id_or_name, struct inv_machine *out,
				struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	if (!db)
		return INV_IO;
	return get_where(db, "m.id = ?1 OR m.name = ?1 ORDER BY m.id = ?1 DESC LIMIT 1", id_or_name,
			 out, err);
}

enum inv_status inv_machine_get_by_mac(struct inv *inv, const char *mac, struct inv_machine *out,
				       struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	if (!db)
		return INV_IO;
	return get_where(db, "m.id = (SELECT machine_id FROM nics WHERE mac = ?1)", mac, out, err);
}

enum inv_status inv_machine_bmc(struct inv *inv, const char *id, struct inv_bmc *out,
				struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	if (!db)
		return INV_IO;
	sqlite3_stmt *st = inv_prep(
	    db, "SELECT driver, address, username, password, options FROM bmcs WHERE machine_id=?1",
	    err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, id);
	memset(out, 0, sizeof *out);
	enum inv_status s = INV_OK;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		inv_col_copy(st, 0, out->driver, sizeof out->driver);
		inv_col_copy(st, 1, out->address, sizeof out->address);
		inv_col_copy(st, 2, out->username, sizeof out->username);
		out->password = inv_col_dup(st, 3);
		out->options_json = inv_col_dup(st, 4);
	} else if (rc == SQLITE_DONE) {
		s = inv_fail(err, INV_NOT_FOUND, "bmc", "machine %s has no BMC access", id);
	} else {
		s = inv_sqlfail(err, db, "read bmc");
	}
	sqlite3_finalize(st);
	return s;
}

static enum inv_status collect(sqlite3 *db, sqlite3_stmt *st, int limit,
			       struct inv_machine_list *out, struct inv_err *err)
{
	memset(out, 0, sizeof *out);
	out->items = calloc((size_t)limit + 1, sizeof *out->items);
	if (!out->items) {
		sqlite3_finalize(st);
		return inv_fail(err, INV_IO, NULL, "out of memory");
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->n < (size_t)limit + 1)
		read_machine(st, &out->items[out->n++]);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		inv_machine_list_clear(out);
		return inv_sqlfail(err, db, "list machines");
	}
	if (out->n > (size_t)limit && limit > 0) { /* one extra row: a further page */
		inv_machine_clear(&out->items[--out->n]);
		out->next_seq = out->items[out->n - 1].seq;
	}
	return INV_OK;
}

enum inv_status inv_machine_list(struct inv *inv, const struct inv_machine_filter *f,
				 struct inv_machine_list *out, struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	if (!db)
		return INV_IO;
	int limit = inv_clamp_limit(f->limit);
	sqlite3_stmt *st =
	    inv_prep(db,
		     "SELECT " MACHINE_COLS MACHINE_FROM " WHERE m.seq > ?1"
		     " AND (?2 IS NULL OR m.state = ?2) AND (?3 IS NULL OR m.sku = ?3)"
		     " AND (?4 IS NULL OR a.owner = ?4) ORDER BY m.seq LIMIT ?5",
		     err);
	if (!st)
		return INV_IO;
	sqlite3_bind_int64(st, 1, f->after_seq);
	inv_bind_text(st, 2, f->state >= 0 ? inv_state_name((enum inv_state)f->state) : NULL);
	inv_bind_text(st, 3, f->sku);
	inv_bind_text(st, 4, f->owner);
	sqlite3_bind_int(st, 5, limit + 1);
	return collect(db, st, limit, out, err);
}

enum inv_status inv_machines_due(struct inv *inv, int64_t now, int limit,
				 struct inv_machine_list *out, struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	if (!db)
		return INV_IO;
	sqlite3_stmt *st =
	    inv_prep(db,
		     "SELECT " MACHINE_COLS MACHINE_FROM " WHERE m.wake_at > 0 AND m.wake_at <= ?1"
		     " ORDER BY m.wake_at LIMIT ?2",
		     err);
	if (!st)
		return INV_IO;
	limit = inv_clamp_limit(limit);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit + 1);
	enum inv_status s = collect(db, st, limit, out, err);
	out->next_seq = 0;
	return s;
}

int64_t inv_machines_next_wake(struct inv *inv)
{
	sqlite3 *db = inv_reader(inv, NULL);
	if (!db)
		return 0;
	sqlite3_stmt *st =
	    inv_prep(db, "SELECT min(wake_at) FROM machines WHERE wake_at > 0", NULL);
	if (!st)
		return 0;
	int64_t w = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return w;
}

/* ------------------------------------------------------------- create */

struct create_ctx {
	const struct inv_machine_new *n;
	char id[INV_ID_LEN];
};

enum inv_status inv_insert_bmc(sqlite3 *db, const char *id, const struct inv_bmc *b,
			       struct inv_err *err)
{
	sqlite3_stmt *st =
	    inv_prep(db,
		     "INSERT INTO bmcs(machine_id, driver, address, username, password,"
		     " options) VALUES(?1,?2,?3,?4,?5,?6)",
		     err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, id);
	inv_bind_text(st, 2, b->driver);
	inv_bind_text(st, 3, b->address);
	inv_bind_text(st, 4, b->username);
	inv_bind_text(st, 5, b->password ? b->password : "");
	inv_bind_text(st, 6, b->options_json ? b->options_json : "{}");
	return inv_exec_done(db, st, "store bmc", err);
}

static enum inv_status insert_nics(sqlite3 *db, const char *id, const struct inv_machine_new *n,
				   struct inv_err *err)
{
	for (int i = 0; i < n->nmacs; i++) {
		sqlite3_stmt *st =
		    inv_prep(db, "INSERT INTO nics(mac, machine_id) VALUES(?1, ?2)", err);
		if (!st)
			return INV_IO;
		inv_bind_text(st, 1, n->macs[i]);
		inv_bind_text(st, 2, id);
		if (inv_exec_done(db, st, "store nic", err) != INV_OK)
			return inv_fail(err, INV_DUPLICATE, "macs",
					"MAC %s already belongs to another machine", n->macs[i]);
	}
	return INV_OK;
}

static enum inv_status create_fn(sqlite3 *db, void *arg, struct inv_err *err)
{
	struct create_ctx *c = arg;
	const struct inv_machine_new *n = c->n;
	int64_t now = inv_now_ms();
	sqlite3_stmt *st =
	    inv_prep(db,
		     "INSERT INTO machines(id, name, state, site, rack, unit, sku, facts, wake_at,"
		     " created_at, updated_at, state_since) "
		     "VALUES(?1,?2,'enrolled',?3,?4,?5,?6,?7,?8,?9,?9,?9)",
		     err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, 1, c->id);
	inv_bind_text(st, 2, n->name);
	inv_bind_text(st, 3, n->location.site);
	inv_bind_text(st, 4, n->location.rack);
	sqlite3_bind_int(st, 5, n->location.unit);
	inv_bind_text(st, 6, n->sku ? n->sku : "");
	inv_bind_text(st, 7, n->facts_json);
	sqlite3_bind_int64(st, 8, n->wake_at);
	sqlite3_bind_int64(st, 9, now);
	if (inv_exec_done(db, st, "create machine", err) != INV_OK)
		return inv_fail(err, INV_DUPLICATE, "name", "a machine named '%s' already exists",
				n->name);
	enum inv_status s = insert_nics(db, c->id, n, err);
	if (s == INV_OK && n->bmc)
		s = inv_insert_bmc(db, c->id, n->bmc, err);
	if (s == INV_OK)
		s = inv_event_row(db, c->id, "", "enrolled", n->actor, "enrolled", n->request_id,
				  err);
	if (s == INV_OK)
		s = inv_audit_row(db, n->actor, "machine.enroll", "machine", c->id, NULL,
				  n->audit_after_json, n->request_id, err);
	return s;
}

enum inv_status inv_machine_create(struct inv *inv, const struct inv_machine_new *n,
				   struct inv_machine *out, struct inv_err *err)
{
	if (!n->name || !*n->name)
		return inv_fail(err, INV_INVALID, "name", "name is required");
	if (n->nmacs < 0 || n->nmacs > INV_MAX_MACS)
		return inv_fail(err, INV_INVALID, "macs", "between 0 and %d MACs", INV_MAX_MACS);
	struct create_ctx c = {.n = n};
	inv_uuid(c.id);
	enum inv_status s = inv_write(inv, create_fn, &c, err);
	if (s == INV_OK && out) {
		inv_machine_clear(out);
		s = inv_machine_get(inv, c.id, out, err);
	}
	return s;
}
