/* alloc_network.c - an allocation's static network: the configuration as
 * the service gave it (allocations.network) and its addresses, one row per
 * address (allocation_addresses) naming the machine that holds it now. A
 * substitute takes the row of the machine it replaces, so the address
 * stays with the allocation's "slot", not with a machine. Addresses are
 * validated and put in canonical form by the API (api_network.c); here
 * they are stored and checked against other live allocations, inside the
 * reservation's write transaction (one writer: two reservations never
 * both take an address). */
#include "inventory/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum inv_status inv_network_check(struct inv_conn *c, const struct inv_alloc_request *r,
				  struct inv_err *err)
{
	enum inv_status s = INV_OK;
	for (int i = 0; s == INV_OK && r->network_json && i < r->naddresses; i++) {
		struct inv_q *st = inv_stmt(c, SQL_ADDRESS_HOLDER, err);
		if (!st)
			return INV_IO;
		inv_bind_text(st, ":ip", r->address_ips[i]);
		inv_bind_text(st, ":released", inv_alloc_state_name(INV_AL_RELEASED));
		bool row = false;
		s = inv_step(st, &row, "read address holder", err);
		if (s == INV_OK && row) {
			char field[48], holder[INV_ID_LEN + 32] = "another owner's allocation";
			snprintf(field, sizeof field, "network.addresses[%d]", i);
			/* a service learns nothing of other owners' allocations */
			if (strcmp(inv_col_text(st, 1) ? inv_col_text(st, 1) : "", r->owner) == 0)
				snprintf(holder, sizeof holder, "allocation %s",
					 inv_col_text(st, 0));
			s = inv_fail(err, INV_CONFLICT, field,
				     "%s: address %s is held by %s (until it is released)", field,
				     r->address_ips[i], holder);
		}
		inv_stmt_done(st);
	}
	return s;
}

/* The ids of the allocation's machines as it lists them (n at most cap). */
static enum inv_status listed_machines(struct inv_conn *c, const char *alloc_id,
				       char (*ids)[INV_ID_LEN], int cap, int *n,
				       struct inv_err *err)
{
	*n = 0;
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_MEMBERS, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", alloc_id);
	bool row = false;
	enum inv_status s = INV_OK;
	while (*n < cap && (s = inv_step(st, &row, "read allocation machines", err)) == INV_OK &&
	       row)
		inv_col_copy(st, 0, ids[(*n)++], INV_ID_LEN);
	inv_stmt_done(st);
	return s;
}

static enum inv_status insert_address(struct inv_conn *c, const char *alloc_id, int slot,
				      const char *address, const char *ip, const char *mid,
				      struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_ADDRESS_INSERT, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":allocation", alloc_id);
	inv_bind_int(st, ":slot", slot);
	inv_bind_text(st, ":address", address);
	inv_bind_text(st, ":ip", ip);
	inv_bind_text(st, ":machine", mid);
	return inv_exec_done(st, "store allocation address", err);
}

enum inv_status inv_network_store(struct inv_conn *c, const char *alloc_id,
				  const struct inv_alloc_request *r, struct inv_err *err)
{
	if (!r->network_json)
		return INV_OK;
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_SET_NETWORK, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":id", alloc_id);
	inv_bind_text(st, ":network", r->network_json);
	enum inv_status s = inv_exec_done(st, "store allocation network", err);
	char(*ids)[INV_ID_LEN] = calloc((size_t)r->naddresses + 1, INV_ID_LEN);
	if (!ids)
		return inv_fail(err, INV_IO, NULL, "out of memory");
	int n = 0;
	if (s == INV_OK)
		s = listed_machines(c, alloc_id, ids, r->naddresses, &n, err);
	/* with min_count, machines may be fewer than addresses: the rest stay
	 * the allocation's, held by no machine */
	for (int i = 0; s == INV_OK && i < r->naddresses; i++)
		s = insert_address(c, alloc_id, i, r->addresses[i], r->address_ips[i],
				   i < n ? ids[i] : "", err);
	free(ids);
	return s;
}

enum inv_status inv_network_move(struct inv_conn *c, const char *alloc_id, const char *old_id,
				 const char *new_id, struct inv_err *err)
{
	struct inv_q *st = inv_stmt(c, SQL_ALLOC_ADDRESS_MOVE, err);
	if (!st)
		return INV_IO;
	inv_bind_text(st, ":allocation", alloc_id);
	inv_bind_text(st, ":old", old_id);
	inv_bind_text(st, ":new", new_id);
	return inv_exec_done(st, "move allocation address", err);
}
