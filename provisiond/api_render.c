/* api_render.c - JSON views of machines and allocations. Never includes
 * BMC passwords: struct inv_machine does not even carry them. */
#include "provisiond/api.h"

#include <string.h>

static json_t *json_or_null(const char *text)
{
	if (!text)
		return json_null();
	json_t *v = json_loads(text, 0, NULL);
	return v ? v : json_null();
}

static json_t *location_json(const struct inv_location *l)
{
	return json_pack("{s:s, s:s, s:o}", "site", l->site, "rack", l->rack, "unit",
			 l->unit >= 0 ? json_integer(l->unit) : json_null());
}

json_t *api_machine_json(const struct inv_machine *m, bool detail)
{
	json_t *macs = json_array();
	for (int i = 0; i < m->nmacs; i++)
		json_array_append_new(macs, json_string(m->macs[i]));
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:o, s:s, s:b, s:s, s:s, s:o, s:o, s:o, s:o, s:I}", "id", m->id,
	    "name", m->name, "state", inv_state_name(m->state), "sku",
	    m->sku[0] ? json_string(m->sku) : json_null(), "power", m->power, "maintenance",
	    m->maintenance, "maintenance_reason", m->maintenance_reason, "last_error",
	    m->last_error, "location", location_json(&m->location), "macs", macs, "allocation_id",
	    m->allocation_id[0] ? json_string(m->allocation_id) : json_null(), "owner",
	    m->owner[0] ? json_string(m->owner) : json_null(), "version", (json_int_t)m->version);
	json_object_set_new(o, "created_at", api_time(m->created_at));
	json_object_set_new(o, "updated_at", api_time(m->updated_at));
	json_object_set_new(o, "state_since", api_time(m->state_since));
	json_object_set_new(o, "phase", json_string(m->phase));
	if (m->has_bmc)
		json_object_set_new(o, "bmc",
				    json_pack("{s:s, s:s, s:s, s:o}", "driver", m->bmc_driver,
					      "address", m->bmc_address, "username",
					      m->bmc_username, "options",
					      json_or_null(m->bmc_options_json)));
	else
		json_object_set_new(o, "bmc", json_null());
	if (detail) {
		json_object_set_new(o, "facts", json_or_null(m->facts_json));
		json_object_set_new(o, "attempts", json_integer(m->attempts));
		json_object_set_new(o, "deadline_at", api_time(m->deadline_at));
	}
	return o;
}

/* {"across", "mode", "domains": distinct racks (sites) of its machines}, or
 * null when none was asked. */
static json_t *spread_json(const struct inv_spread *sp)
{
	if (sp->across == INV_SPREAD_NONE)
		return json_null();
	return json_pack("{s:s, s:s, s:i}", "across", inv_spread_across_name(sp->across), "mode",
			 inv_spread_mode_name(sp->mode), "domains", sp->domains);
}

json_t *api_allocation_json(struct app *a, const struct inv_allocation *al)
{
	(void)a;
	json_t *ms = json_array();
	for (size_t i = 0; i < al->nmachines; i++) {
		const struct inv_alloc_machine *m = &al->machines[i];
		if (m->detached)
			continue;
		json_array_append_new(
		    ms, json_pack("{s:s, s:s, s:s, s:o, s:s, s:o}", "id", m->id, "name", m->name,
				  "state", inv_state_name(m->state), "ip",
				  m->ip[0] ? json_string(m->ip) : json_null(), "image",
				  m->image[0] ? m->image : al->image, "address",
				  m->address[0] ? json_string(m->address) : json_null()));
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:o, s:s, s:i}", "id",
			      al->id, "name", al->name, "owner", al->owner, "sku", al->sku, "count",
			      al->count, "min_count", al->min_count, "image", al->image, "state",
			      inv_alloc_state_name(al->state), "machines", ms, "last_error",
			      al->last_error, "substitutions", al->substitutions);
	json_object_set_new(o, "ssh_keys", json_or_null(al->ssh_keys_json));
	json_object_set_new(o, "spread", spread_json(&al->spread));
	json_object_set_new(o, "network", api_network_json(al->network_json));
	json_object_set_new(o, "created_at", api_time(al->created_at));
	json_object_set_new(o, "ready_at", api_time(al->ready_at));
	json_object_set_new(o, "updated_at", api_time(al->updated_at));
	return o;
}
