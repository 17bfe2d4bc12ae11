/* pool_warm.c - the warm pool of a SKU as the lifecycle engine sees it:
 * which available machines are in the agent (phase warm or warming, or
 * rotating out of the pool), and which cold ones it may warm next. Plain reads on a reader
 * connection. */
#include "inventory/internal.h"

#include <string.h>

/* Reads up to max ids of query id into ids; with p (SQL_POOL_WARM), rows
 * by phase into p's warm/warming and rotating lists instead. */
static enum inv_status read_ids(struct inv_conn *c, enum inv_sql id, const char *sku, int max,
				char (*ids)[INV_ID_LEN], int *n, struct inv_warm_pool *p,
				struct inv_err *err)
{
	*n = 0;
	struct inv_q *st = inv_stmt(c, id, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":sku", sku);
	inv_bind_text(st, ":available", inv_state_name(INV_ST_AVAILABLE));
	inv_bind_int(st, ":limit", max);
	bool row;
	enum inv_status s = INV_OK;
	while (*n < max && (s = inv_step(st, &row, "read the warm pool", err)) == INV_OK && row) {
		const char *ph = p ? inv_col_text(st, 1) : NULL;
		if (ph && strcmp(ph, INV_PHASE_ROTATING) == 0) {
			inv_col_copy(st, 0, p->rotating[p->nrotating++], INV_ID_LEN);
			continue;
		}
		if (p)
			p->warming[*n] = ph && strcmp(ph, INV_PHASE_WARMING) == 0;
		inv_col_copy(st, 0, ids[(*n)++], INV_ID_LEN);
	}
	inv_stmt_done(st);
	return s;
}

enum inv_status inv_pool_warm(struct inv *inv, const char *sku, struct inv_warm_pool *p,
			      struct inv_err *err)
{
	struct inv_conn *c = inv_reader(inv, err);
	if (!c)
		return INV_IO;
	p->nrotating = 0;
	enum inv_status s =
	    read_ids(c, SQL_POOL_WARM, sku, INV_WARM_MAX, p->warm, &p->nwarm, p, err);
	int cold = p->size < INV_WARM_MAX ? p->size - p->nwarm : INV_WARM_MAX - p->nwarm;
	p->ncold = 0;
	if (s == INV_OK && cold > 0)
		s = read_ids(c, SQL_POOL_COLD, sku, cold, p->cold, &p->ncold, NULL, err);
	return s;
}
