/* tenancy.c - what a machine's current tenant may see of its history. */
#include "inventory/internal.h"

/* The event cursor before the first event since machine_id joined
 * alloc_id: events after it are the tenant's own. */
enum inv_status inv_machine_tenant_cursor(struct inv *inv, const char *machine_id,
					  const char *alloc_id, int64_t *after_seq,
					  struct inv_err *err)
{
	sqlite3 *db = inv_reader(inv, err);
	sqlite3_stmt *st =
	    db ? inv_prep(db,
			  "SELECT coalesce(min(e.seq) - 1, (SELECT coalesce(max(seq), 0)"
			  "   FROM machine_events))"
			  " FROM machine_events e WHERE e.machine_id = :machine AND e.at >="
			  " (SELECT max(attached_at) FROM allocation_machines"
			  "   WHERE machine_id = :machine AND allocation_id = :alloc)",
			  err)
	       : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, sqlite3_bind_parameter_index(st, ":machine"), machine_id);
	inv_bind_text(st, sqlite3_bind_parameter_index(st, ":alloc"), alloc_id);
	enum inv_status s = INV_OK;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*after_seq = sqlite3_column_int64(st, 0);
	else
		s = inv_fail(err, INV_IO, NULL, "cannot read the events of machine %s: %s",
			     machine_id, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return s;
}
