/* alloc_user_data.c - an allocation's cloud-init user data: stored by the
 * reservation, read back only by the deploy that writes the config drive.
 * The text never enters struct inv_allocation, audit rows or logs. */
#include "inventory/internal.h"

#include <stdlib.h>

enum inv_status inv_user_data_store(struct inv_conn *c, const char *alloc_id, const char *user_data,
				    struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_SET_USER_DATA, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", alloc_id);
	inv_bind_text(st, ":user_data", user_data);
	return inv_exec_done(st, "store allocation user data", err);
}

enum inv_status inv_allocation_user_data(struct inv *inv, const char *id, char **out,
					 struct inv_err *err)
{
	*out = NULL;
	struct inv_conn *c = inv_reader(inv, err);
	struct inv_q *st = c ? inv_stmt(c, SQL_ALLOC_USER_DATA, err) : NULL;
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", id);
	bool row = false;
	enum inv_status s = inv_step(st, &row, "read allocation user data", err);
	if (s == INV_OK && !row)
		s = inv_fail(err, INV_NOT_FOUND, "id", "no allocation '%s'", id);
	if (s == INV_OK && inv_col_text(st, 0)) {
		*out = inv_col_dup(st, 0);
		if (!*out)
			s = inv_fail(err, INV_IO, NULL, "out of memory");
	}
	inv_stmt_done(st);
	return s;
}
