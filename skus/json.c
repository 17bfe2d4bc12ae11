/* A SKU's constraints as JSON, for GET /v1/skus. The shape is documented in
 * docs/skus.md; within /v1 it may only grow. */
#include <jansson.h>

#include "skus/sku_internal.h"

static json_t *range_json(struct sku_range r)
{
	return json_pack("{s:I, s:I}", "min", (json_int_t)r.lo, "max", (json_int_t)r.hi);
}

char *sku_to_json(const struct sku *s)
{
	if (!s)
		return NULL;
	json_t *root = json_pack(
	    "{s:s, s:s, s:s, s:s, s:{s:o}, s:{s:I, s:i, s:I, s:I}, s:{s:o, s:s, s:I},"
	    " s:{s:o, s:I}}",
	    "name", s->name, "description", s->description, "arch", s->arch, "boot_mode",
	    sku_boot_mode_str(s->boot_mode), "cpu", "cores", range_json(s->cores), "memory", "mib",
	    (json_int_t)s->memory_mib, "tolerance_pct", s->memory_tolerance_pct, "min_mib",
	    (json_int_t)s->memory.lo, "max_mib", (json_int_t)s->memory.hi, "disks", "count",
	    range_json(s->disk_count), "kind", sku_disk_kind_str(s->disk_kind), "min_size_bytes",
	    (json_int_t)s->disk_min_bytes, "nics", "count", range_json(s->nic_count),
	    "min_speed_mbps", (json_int_t)s->nic_min_mbps);
	if (!root)
		return NULL;
	json_object_set_new(root, "fast_track", json_boolean(s->fast_track));
	if (s->warm_pool)
		json_object_set_new(root, "warm_pool", json_integer(s->warm_pool));
	if (s->max_concurrent_deploys)
		json_object_set_new(root, "max_concurrent_deploys",
				    json_integer(s->max_concurrent_deploys));
	json_object_set_new(root, "deploy", json_string(sku_deploy(s)));
	if (s->boot_override_mode[0])
		json_object_set_new(root, "boot_override_mode", json_string(s->boot_override_mode));
	char *text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}
