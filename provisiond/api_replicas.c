/* api_replicas.c - GET /v1/replicas: the provisiond processes sharing this
 * database, their roles, heartbeats and how many machines each drives
 * (docs/scale-out.md, "Replicas"). */
#include "provisiond/replica.h"
#include "provisiond/routes.h"

#include <string.h>

static json_t *replica_item(const struct inv_replica *r, int64_t now, int takeover_s,
			    const char *self)
{
	int64_t age = now - r->heartbeat_at;
	const char *status = r->fenced				? "fenced"
			     : age > (int64_t)takeover_s * 1000 ? "silent"
								: "live";
	json_t *roles = json_array();
	char buf[sizeof r->roles];
	snprintf(buf, sizeof buf, "%s", r->roles);
	char *save = NULL;
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		json_array_append_new(roles, json_string(t));
	return json_pack("{s:s, s:I, s:o, s:s, s:o, s:o, s:I, s:s, s:I, s:b}", "name", r->name,
			 "epoch", (json_int_t)r->epoch, "roles", roles, "address", r->address,
			 "started_at", api_time(r->started_at), "heartbeat_at",
			 api_time(r->heartbeat_at), "heartbeat_age_ms", (json_int_t)age, "status",
			 status, "machines", (json_int_t)r->machines, "self",
			 strcmp(r->name, self) == 0);
}

void api_replica_list(struct api_call *c)
{
	struct inv_replica_list l = {0};
	struct inv_err e = {0};
	if (inv_replica_list(c->a->inv, &l, &e) != INV_OK) {
		api_fail_inv(c->r, "replica list", &e);
		return;
	}
	int64_t now = inv_now_ms();
	const char *self = c->a->replica ? replica_name(c->a->replica) : "";
	int takeover_s =
	    c->a->replica ? replica_takeover_s(c->a->replica) : c->a->cfg.replica_takeover_s;
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(items, replica_item(&l.items[i], now, takeover_s, self));
	inv_replica_list_clear(&l);
	api_json(c->r, 200, api_list(items, 0));
}
