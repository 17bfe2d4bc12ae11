/* machines.c - machines, their NICs and BMC access, compare-and-swap changes. */
#include "inventory/internal.h"
#include "inventory/secrets.h"

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

/* Machine reads return these columns in this order (sql_sqlite.c). */
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

static void read_machine(struct inv_q *st, struct inv_machine *m)
{
	memset(m, 0, sizeof *m);
	m->seq = inv_col_int64(st, 0);
	inv_col_copy(st, 1, m->id, sizeof m->id);
	inv_col_copy(st, 2, m->name, sizeof m->name);
	if (inv_state_from_name(inv_col_text(st, 3), &m->state) != 0)
		m->state = INV_ST_FAILED;
	m->version = inv_col_int64(st, 4);
	inv_col_copy(st, 5, m->sku, sizeof m->sku);
	inv_col_copy(st, 6, m->power, sizeof m->power);
	m->maintenance = inv_col_int(st, 7) != 0;
	inv_col_copy(st, 8, m->maintenance_reason, sizeof m->maintenance_reason);
	inv_col_copy(st, 9, m->last_error, sizeof m->last_error);
	inv_col_copy(st, 10, m->location.site, sizeof m->location.site);
	inv_col_copy(st, 11, m->location.rack, sizeof m->location.rack);
	m->location.unit = inv_col_int(st, 12);
	inv_col_copy(st, 13, m->allocation_id, sizeof m->allocation_id);
	inv_col_copy(st, 14, m->phase, sizeof m->phase);
	m->attempts = inv_col_int(st, 15);
	m->wake_at = inv_col_int64(st, 16);
	m->deadline_at = inv_col_int64(st, 17);
	m->facts_json = inv_col_dup(st, 18);
	m->created_at = inv_col_int64(st, 19);
	m->updated_at = inv_col_int64(st, 20);
	m->state_since = inv_col_int64(st, 21);
	m->has_bmc = !inv_col_null(st, 22);
	inv_col_copy(st, 22, m->bmc_driver, sizeof m->bmc_driver);
	inv_col_copy(st, 23, m->bmc_address, sizeof m->bmc_address);
	inv_col_copy(st, 24, m->bmc_username, sizeof m->bmc_username);
	m->bmc_options_json = inv_col_dup(st, 25);
	inv_col_copy(st, 26, m->owner, sizeof m->owner);
	inv_col_copy(st, 28, m->replica, sizeof m->replica);
	m->replica_epoch = inv_col_int64(st, 29);
	m->wakes = inv_col_int64(st, 30);
	split_macs(m, inv_col_text(st, 27));
}

/* Reads one machine with statement id, whose one parameter is name. */
static enum inv_status get_one(struct inv *inv, enum inv_sql id, const char *name, const char *key,
			       struct inv_machine *out, struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, id, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, name, key);
	bool row;
	enum inv_status s = inv_step(st, &row, "read machine", err);
	if (s == INV_OK && row)
		read_machine(st, out);
	else if (s == INV_OK)
		s = inv_fail(err, INV_NOT_FOUND, "id", "no machine '%s'", key);
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_machine_get(struct inv *inv, const char *id_or_name, struct inv_machine *out,
				struct inv_err *err)
{
	return get_one(inv, SQL_MACHINE_BY_ID_OR_NAME, ":key", id_or_name, out, err);
}

enum inv_status inv_machine_get_by_mac(struct inv *inv, const char *mac, struct inv_machine *out,
				       struct inv_err *err)
{
	return get_one(inv, SQL_MACHINE_BY_MAC, ":mac", mac, out, err);
}

/* Opens the sealed password of machine id into out->password. */
static enum inv_status open_password(const struct inv_key *key, const char *id, const char *sealed,
				     struct inv_bmc *out, struct inv_err *err)
{
	char ad[INV_AD_LEN];
	inv_bmc_password_ad(id, ad);
	struct inv_err e = {0};
	enum inv_status s = inv_unseal(key, ad, sealed, &out->password, &e);
	if (s == INV_CORRUPT)
		return inv_fail(err, s, "bmc.password",
				"the stored BMC password of machine %s %s; check [database]"
				" key_file, or set the password again",
				id, e.message);
	if (s != INV_OK)
		return inv_fail(err, s, NULL, "BMC password of machine %s: %s", id, e.message);
	return INV_OK;
}

enum inv_status inv_machine_bmc(struct inv *inv, const char *id, struct inv_bmc *out,
				struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_BMC_GET, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", id);
	memset(out, 0, sizeof *out);
	bool row;
	enum inv_status s = inv_step(st, &row, "read bmc", err);
	if (s == INV_OK && row) {
		inv_col_copy(st, 0, out->driver, sizeof out->driver);
		inv_col_copy(st, 1, out->address, sizeof out->address);
		inv_col_copy(st, 2, out->username, sizeof out->username);
		s = open_password(c->key, id, inv_col_text(st, 3), out, err);
		out->options_json = inv_col_dup(st, 4);
	} else if (s == INV_OK) {
		s = inv_fail(err, INV_NOT_FOUND, "bmc", "machine %s has no BMC access", id);
	}
	inv_stmt_done(st);
	if (s != INV_OK)
		inv_bmc_clear(out);
	return s;
}

/* Reads up to limit machines from st (bound, limit + 1 rows asked) and
 * hands st back. */
static enum inv_status collect(struct inv_q *st, int limit, struct inv_machine_list *out,
			       struct inv_err *err)
{
	memset(out, 0, sizeof *out);
	out->items = calloc((size_t)limit + 1, sizeof *out->items);
	if (!out->items) {
		inv_stmt_done(st);
		return inv_fail(err, INV_IO, NULL, "out of memory");
	}
	bool row;
	enum inv_status s;
	while ((s = inv_step(st, &row, "list machines", err)) == INV_OK && row &&
	       out->n < (size_t)limit + 1)
		read_machine(st, &out->items[out->n++]);
	inv_stmt_done(st);
	if (s != INV_OK) {
		inv_machine_list_clear(out);
		return s;
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
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_MACHINE_LIST, err) : NULL;
	if (!st)
		return INV_IO;
	int limit = inv_clamp_limit(f->limit);
	inv_bind_int(st, ":after", f->after_seq);
	inv_bind_text(st, ":state",
		      f->state >= 0 ? inv_state_name((enum inv_state)f->state) : NULL);
	inv_bind_text(st, ":sku", f->sku);
	inv_bind_text(st, ":owner", f->owner);
	inv_bind_text(st, ":site", f->site);
	inv_bind_text(st, ":rack", f->rack);
	inv_bind_int(st, ":limit", limit + 1);
	return collect(st, limit, out, err);
}

enum inv_status inv_machines_due(struct inv *inv, int64_t now, int limit, int per_rack,
				 struct inv_machine_list *out, struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_MACHINES_DUE, err) : NULL;
	if (!st)
		return INV_IO;
	/* not clamped to a page: the engine reads past the machines it has in
	 * flight (due until their step writes), as many as its caps allow */
	if (limit <= 0)
		limit = inv_clamp_limit(limit);
	inv_bind_int(st, ":now", now);
	inv_bind_int(st, ":limit", limit);
	inv_bind_int(st, ":per_rack", per_rack > 0 ? per_rack : INT32_MAX);
	inv_bind_text(st, ":replica", inv_replica_of(inv));
	memset(out, 0, sizeof *out);
	out->items = calloc((size_t)limit, sizeof *out->items);
	if (!out->items) {
		inv_stmt_done(st);
		return inv_fail(err, INV_IO, NULL, "out of memory");
	}
	bool row;
	enum inv_status s;
	while ((s = inv_step(st, &row, "due machines", err)) == INV_OK && row &&
	       out->n < (size_t)limit) {
		struct inv_machine *m = &out->items[out->n++];
		inv_col_copy(st, 0, m->id, sizeof m->id);
		inv_col_copy(st, 1, m->name, sizeof m->name);
		inv_col_copy(st, 2, m->location.site, sizeof m->location.site);
		inv_col_copy(st, 3, m->location.rack, sizeof m->location.rack);
		m->wake_at = inv_col_int64(st, 4);
	}
	inv_stmt_done(st);
	if (s != INV_OK)
		inv_machine_list_clear(out);
	return s;
}

enum inv_status inv_machines_next_wake(struct inv *inv, int64_t after, int64_t *wake_at,
				       struct inv_err *err)
{
	*wake_at = 0;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_MACHINES_NEXT_WAKE, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":replica", inv_replica_of(inv));
	inv_bind_int(st, ":after", after > 0 ? after : 0);
	bool row;
	enum inv_status s = inv_step(st, &row, "next wake", err);
	if (s == INV_OK && row)
		*wake_at = inv_col_int64(st, 0); /* NULL (no machine waits) reads 0 */
	inv_stmt_done(st);
	return s;
}

/* ------------------------------------------------------------- create */

struct create_ctx {
	const struct inv_machine_new *n;
	char id[INV_ID_LEN];
};

/* The one store of BMC access (enrolment and PATCH): the password is
 * sealed under the inventory's key, bound to the machine id. */
enum inv_status inv_insert_bmc(struct inv_conn *c, const char *id, const struct inv_bmc *b,
			       struct inv_err *err)
{
	char ad[INV_AD_LEN];
	inv_bmc_password_ad(id, ad);
	struct inv_err e = {0};
	char *sealed = inv_seal(c->key, ad, b->password ? b->password : "", &e);
	if (!sealed)
		return inv_fail(err, e.status, "bmc.password", "store bmc: %s", e.message);
	struct inv_q *st = inv_stmt(c, SQL_BMC_INSERT, err);
	if (!st) {
		free(sealed);
		return INV_IO;
	}
	inv_bind_text(st, ":machine", id);
	inv_bind_text(st, ":driver", b->driver);
	inv_bind_text(st, ":address", b->address);
	inv_bind_text(st, ":username", b->username);
	inv_bind_text(st, ":password", sealed);
	inv_bind_text(st, ":options", b->options_json ? b->options_json : "{}");
	free(sealed);
	return inv_exec_done(st, "store bmc", err);
}

/* Who holds mac, if anyone: "machine NAME" in name. Asked before the
 * insert, not after it fails: after a failed statement PostgreSQL runs
 * nothing more in the transaction until its savepoint is rolled back. */
static enum inv_status mac_holder(struct inv_conn *c, const char *mac, char name[80],
				  struct inv_err *err)
{
	name[0] = '\0';
	struct inv_q *st = inv_stmt(c, SQL_MACHINE_BY_MAC, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":mac", mac);
	bool row = false;
	enum inv_status s = inv_step(st, &row, "find mac holder", err);
	if (s == INV_OK && row) {
		char held[64];
		inv_col_copy(st, 2, held, sizeof held);
		snprintf(name, 80, "machine %s", held);
	}
	inv_stmt_done(st);
	return s;
}

static enum inv_status insert_nics(struct inv_conn *c, const char *id,
				   const struct inv_machine_new *n, struct inv_err *err)
{
	for (int i = 0; i < n->nmacs; i++) {
		char holder[80];
		enum inv_status s = mac_holder(c, n->macs[i], holder, err);
		if (s != INV_OK)
			return s;
		if (holder[0])
			return inv_fail(err, INV_DUPLICATE, "macs", "MAC %s already belongs to %s",
					n->macs[i], holder);
		struct inv_q *st = inv_stmt(c, SQL_NIC_INSERT, err);
		if (!st)
			return INV_IO;
		inv_bind_text(st, ":mac", n->macs[i]);
		inv_bind_text(st, ":machine", id);
		if (inv_exec_done(st, "store nic", err) !=
		    INV_OK) /* another replica's, meanwhile */
			return inv_fail(err, INV_DUPLICATE, "macs",
					"MAC %s already belongs to another machine", n->macs[i]);
	}
	return INV_OK;
}

/* The inventory's own transition (none) -> enrolled: see docs/lifecycle.md,
 * "Transitions the inventory makes itself". */
static enum inv_status create_fn(struct inv_conn *c, void *arg, struct inv_err *err)
{
	struct create_ctx *x = arg;
	const struct inv_machine_new *n = x->n;
	const char *enrolled = inv_state_name(INV_ST_ENROLLED);
	int64_t waiting = 0;
	if (n->discovered_max > 0) { /* counted in the creating write: exact under races */
		enum inv_status s = inv_count_discovered(c, &waiting, err);
		if (s != INV_OK)
			return s;
		if (waiting >= n->discovered_max)
			return inv_fail(err, INV_CAPACITY, NULL,
					"%lld discovered machines wait for a tech (discovery_max): "
					"enroll or delete some first",
					(long long)waiting);
	}
	struct inv_q *st = inv_stmt(c, SQL_MACHINE_INSERT, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", x->id);
	inv_bind_text(st, ":name", n->name);
	inv_bind_text(st, ":state", enrolled);
	inv_bind_text(st, ":site", n->location.site);
	inv_bind_text(st, ":rack", n->location.rack);
	inv_bind_int(st, ":unit", n->location.unit);
	inv_bind_text(st, ":sku", n->sku ? n->sku : "");
	inv_bind_text(st, ":facts", n->facts_json);
	inv_bind_int(st, ":wake_at", n->wake_at);
	inv_bind_int(st, ":now", inv_now_ms());
	if (inv_exec_done(st, "create machine", err) != INV_OK)
		return inv_fail(err, INV_DUPLICATE, "name", "a machine named '%s' already exists",
				n->name);
	enum inv_status s = insert_nics(c, x->id, n, err);
	if (s == INV_OK && n->bmc)
		s = inv_insert_bmc(c, x->id, n->bmc, err);
	if (s == INV_OK)
		s = inv_event_row(c, x->id, "", enrolled, n->actor, "enrolled", n->request_id, err);
	if (s == INV_OK)
		s = inv_audit_row(c, n->actor, "machine.enroll", "machine", x->id, NULL,
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
	struct create_ctx x = {.n = n};
	inv_uuid(x.id);
	enum inv_status s = inv_write(inv, create_fn, &x, err);
	if (s == INV_OK && out) {
		inv_machine_clear(out);
		s = inv_machine_get(inv, x.id, out, err);
	}
	return s;
}
