/* tenancy.c - what a machine's current tenant may see of its history. */
#include "inventory/internal.h"

enum inv_status inv_machine_tenant_cursor(struct inv *inv, const char *machine_id,
					  const char *alloc_id, int64_t *after_seq,
					  struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_EVENT_TENANT_CURSOR, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":machine", machine_id);
	inv_bind_text(st, ":alloc", alloc_id);
	bool row = false;
	enum inv_status s = inv_step(st, &row, "tenant cursor", err);
	if (s == INV_OK && row)
		*after_seq = inv_col_int64(st, 0);
	else if (s == INV_OK)
		s = inv_fail(err, INV_IO, NULL, "no tenant cursor for machine %s", machine_id);
	inv_stmt_done(st);
	return s;
}
