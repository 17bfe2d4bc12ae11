/* openapi_schemas.c - the schemas of what the API answers: components/schemas
 * of the OpenAPI document, which route entries name in their responses
 * (routes.c). A new answer shape is one entry here; the integration tests
 * check every answer they get against these (tests/openapi/), and an
 * answer no schema covers fails them.
 *
 * Schemas are JSON Schema 2020-12 (OpenAPI 3.1), written as JSON through
 * JSON() so they read as what they are. Enumerations the code has a name
 * table for (states, power, boot devices, roles) are made from that table,
 * never written twice. Objects the API renders in full are closed
 * (additionalProperties false): a member added to an answer without its
 * schema, or one that must never appear (a BMC password), fails the tests. */
#include "provisiond/bmc/bmc.h"
#include "provisiond/routes.h"

#include <string.h>

#define JSON(...) #__VA_ARGS__
#define REF(name) "#/components/schemas/" name

typedef json_t *(*schema_builder)(void);

struct component {
	const char *name;
	const char *json;     /* the schema as JSON text, or */
	const char *list_of;  /* {"items":[list_of...],"next_cursor":...}, or */
	schema_builder build; /* a schema made from a name table */
};

/* An enumeration of the names a name table gives for 0..n-1. */
static json_t *names_enum(const char *(*name)(int), int n, const char *description)
{
	json_t *e = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(e, json_string(name(i)));
	return json_pack("{s:s, s:o, s:s}", "type", "string", "enum", e, "description",
			 description);
}

static const char *machine_state(int i)
{
	return inv_state_name((enum inv_state)i);
}

static const char *alloc_state(int i)
{
	return inv_alloc_state_name((enum inv_alloc_state)i);
}

/* Spreads across 1.. (0 is "no spread", never rendered as a name). */
static const char *spread_across(int i)
{
	return inv_spread_across_name((enum inv_spread_across)(i + 1));
}

static const char *spread_mode(int i)
{
	return inv_spread_mode_name((enum inv_spread_mode)i);
}

static const char *image_state(int i)
{
	return inv_image_state_name((enum inv_image_state)i);
}

static const char *power_state(int i)
{
	return bmc_power_state_name((enum bmc_power_state)i);
}

static const char *boot_device(int i)
{
	return bmc_boot_device_name((enum bmc_boot_device)i);
}

static const char *role(int i)
{
	static const enum role roles[] = {ROLE_ADMIN, ROLE_TECH, ROLE_SERVICE};
	return role_name(roles[i]);
}

static json_t *machine_states(void)
{
	return names_enum(machine_state, INV_ST__COUNT, "a machine's lifecycle state");
}

static json_t *alloc_states(void)
{
	return names_enum(alloc_state, INV_AL__COUNT, "an allocation's state");
}

static json_t *spread_acrosses(void)
{
	return names_enum(spread_across, INV_SPREAD__COUNT - 1,
			  "the failure domain an allocation's machines are spread across");
}

static json_t *spread_modes(void)
{
	return names_enum(spread_mode, INV_SPREAD_MODE__COUNT,
			  "strict (the default): every machine in its own domain, or no "
			  "reservation; best_effort: as many domains as the pool allows");
}

static json_t *image_states(void)
{
	return names_enum(image_state, INV_IMG__COUNT, "an image's state");
}

static json_t *power_states(void)
{
	return names_enum(power_state, BMC_POWER_STATE__COUNT, "a power state");
}

static json_t *boot_devices(void)
{
	return names_enum(boot_device, BMC_BOOT_DEVICE__COUNT, "a boot device");
}

static const char *rollout_state(int i)
{
	return inv_rollout_state_name((enum inv_rollout_state)i);
}

static const char *rollout_mstate(int i)
{
	return inv_rollout_mstate_name((enum inv_rollout_mstate)i);
}

static json_t *rollout_states(void)
{
	return names_enum(rollout_state, INV_RO__COUNT, "a staged rollout's state");
}

static json_t *rollout_mstates(void)
{
	return names_enum(rollout_mstate, INV_RM__COUNT,
			  "how a machine of a staged rollout is doing");
}

static json_t *roles(void)
{
	return names_enum(role, 3, "an API token's role");
}

static const struct component components[] = {
    {.name = "Error",
     .json = JSON({
	     "description" : "Every error answer: a code, a message, the input to blame",
	     "type" : "object",
	     "required" : ["error"],
	     "properties" : {
		     "error" : {
			     "type" : "object",
			     "required" : [ "code", "message" ],
			     "properties" : {
				     "code" : {"type" : "string", "pattern" : "^[a-z_]+$"},
				     "message" : {"type" : "string"},
				     "field" : {"type" : "string", "minLength" : 1}
			     },
			     "additionalProperties" : false
		     }
	     },
	     "additionalProperties" : false
     })},
    {.name = "Name",
     .json = JSON({
	     "type" : "string",
	     "pattern" : "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
	     "description" : "1-63 characters of [A-Za-z0-9._-], starting with a letter or digit"
     })},
    {.name = "Uuid", .json = JSON({"type" : "string", "format" : "uuid"})},
    {.name = "Time",
     .json = JSON({
	     "type" : [ "string", "null" ],
	     "format" : "date-time",
	     "description" : "RFC 3339 UTC with milliseconds; null when not (yet) set"
     })},
    {.name = "MachineState", .build = machine_states},
    {.name = "AllocationState", .build = alloc_states},
    {.name = "SpreadAcross", .build = spread_acrosses},
    {.name = "SpreadMode", .build = spread_modes},
    {.name = "ImageState", .build = image_states},
    {.name = "PowerState", .build = power_states},
    {.name = "BootDeviceName", .build = boot_devices},
    {.name = "Role", .build = roles},
    {.name = "RolloutState", .build = rollout_states},
    {.name = "RolloutMachineState", .build = rollout_mstates},
    {.name = "Status",
     .json = JSON({
	     "type" : "object",
	     "required" : ["status"],
	     "properties" : {"status" : {"type" : "string", "enum" : [ "ok", "ready" ]}},
	     "additionalProperties" : false
     })},
    {.name = "Version", .json = JSON({
				"type" : "object",
				"required" : [ "version", "commit", "api", "schema" ],
				"properties" : {
					"version" : {"type" : "string"},
					"commit" : {"type" : "string"},
					"api" : {"const" : "v1"},
					"schema" : {"type" : "integer", "minimum" : 1}
				},
				"additionalProperties" : false
			})},
    {.name = "OpenAPIDocument", .json = JSON({
					"description" : "this document",
					"type" : "object",
					"required" : [ "openapi", "info", "paths", "components" ],
					"properties" : {
						"openapi" : {"const" : "3.1.0"},
						"info" : {"type" : "object"},
						"paths" : {"type" : "object"},
						"components" : {"type" : "object"}
					}
				})},
    {.name = "Token",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "id", "name", "role", "owner", "created_at" ],
	     "properties" : {
		     "id" : {"$ref" : "#/components/schemas/Uuid"},
		     "name" : {"type" : "string"},
		     "role" : {"$ref" : "#/components/schemas/Role"},
		     "owner" :
			 {"anyOf" : [ {"$ref" : "#/components/schemas/Name"}, {"type" : "null"} ]},
		     "created_at" : {"$ref" : "#/components/schemas/Time"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "NewToken",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "id", "name", "role", "owner", "created_at", "token" ],
	     "properties" : {
		     "id" : {"$ref" : "#/components/schemas/Uuid"},
		     "name" : {"type" : "string"},
		     "role" : {"$ref" : "#/components/schemas/Role"},
		     "owner" :
			 {"anyOf" : [ {"$ref" : "#/components/schemas/Name"}, {"type" : "null"} ]},
		     "created_at" : {"$ref" : "#/components/schemas/Time"},
		     "token" : {
			     "type" : "string",
			     "pattern" : "^pvd_[0-9a-f]{64}$",
			     "description" : "the secret: shown here only"
		     }
	     },
	     "additionalProperties" : false
     })},
    {.name = "TokenList", .list_of = "Token"},
    {.name = "Range",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "min", "max" ],
	     "properties" : {"min" : {"type" : "integer"}, "max" : {"type" : "integer"}},
	     "additionalProperties" : false
     })},
    {.name = "StateCounts",
     .json = JSON({
	     "description" : "machines by state, how many are in maintenance, how many wait warm",
	     "type" : "object",
	     "propertyNames" : {
		     "anyOf" : [
			     {"$ref" : "#/components/schemas/MachineState"},
			     {"const" : "in_maintenance"}, {"const" : "warm"}
		     ]
	     },
	     "additionalProperties" : {"type" : "integer", "minimum" : 0}
     })},
    {.name = "Sku",
     .json = JSON({
	     "description" : "a catalog entry (docs/skus.md) with its machine counts",
	     "type" : "object",
	     "required" : [ "name", "counts" ],
	     "properties" : {
		     "name" : {"type" : "string"},
		     "description" : {"type" : "string"},
		     "arch" : {"type" : "string"},
		     "boot_mode" : {"type" : "string"},
		     "fast_track" : {"type" : "boolean"},
		     "deploy" : {"type" : "string", "enum" : [ "pxe", "vmedia" ]},
		     "boot_override_mode" : {"type" : "string", "enum" : [ "UEFI", "Legacy" ]},
		     "max_concurrent_deploys" : {"type" : "integer", "minimum" : 1},
		     "warm_pool" : {"type" : "integer", "minimum" : 1},
		     "cpu" : {
			     "type" : "object",
			     "properties" : {"cores" : {"$ref" : "#/components/schemas/Range"}},
			     "additionalProperties" : false
		     },
		     "memory" : {
			     "type" : "object",
			     "properties" : {
				     "mib" : {"type" : "integer"},
				     "tolerance_pct" : {"type" : "integer"},
				     "min_mib" : {"type" : "integer"},
				     "max_mib" : {"type" : "integer"}
			     },
			     "additionalProperties" : false
		     },
		     "disks" : {
			     "type" : "object",
			     "properties" : {
				     "count" : {"$ref" : "#/components/schemas/Range"},
				     "kind" : {"type" : "string"},
				     "min_size_bytes" : {"type" : "integer"}
			     },
			     "additionalProperties" : false
		     },
		     "nics" : {
			     "type" : "object",
			     "properties" : {
				     "count" : {"$ref" : "#/components/schemas/Range"},
				     "min_speed_mbps" : {"type" : "integer"}
			     },
			     "additionalProperties" : false
		     },
		     "counts" : {"$ref" : "#/components/schemas/StateCounts"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "SkuList", .list_of = "Sku"},
    {.name = "Replica",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "name", "epoch", "roles", "status", "machines" ],
	     "properties" : {
		     "name" : {"type" : "string"},
		     "epoch" : {
			     "description" : "new at each start and after each fencing",
			     "type" : "integer"
		     },
		     "roles" : {"type" : "array", "items" : {"enum" : [ "api", "boot", "engine" ]}},
		     "address" : {"description" : "its API listener", "type" : "string"},
		     "started_at" : {"type" : "string", "format" : "date-time"},
		     "heartbeat_at" : {"type" : "string", "format" : "date-time"},
		     "heartbeat_age_ms" : {"type" : "integer"},
		     "status" : {
			     "description" : "live, silent (about to be taken over) or fenced",
			     "enum" : [ "live", "silent", "fenced" ]
		     },
		     "machines" :
			 {"description" : "machines its engine drives now", "type" : "integer"},
		     "self" : {"description" : "the replica that answered", "type" : "boolean"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "ReplicaList", .list_of = "Replica"},
    {.name = "Capacity",
     .json = JSON({
	     "description" : "skus by default; racks with ?by=rack; sites with ?by=site",
	     "type" : "object",
	     "properties" : {
		     "skus" : {
			     "description" : "by SKU name; machines without one under (unmatched)",
			     "type" : "object",
			     "additionalProperties" :
				 {"$ref" : "#/components/schemas/StateCounts"}
		     },
		     "racks" : {
			     "description" :
				 "by site and rack; machines without a rack under rack \"\"",
			     "type" : "array",
			     "items" : {
				     "type" : "object",
				     "required" : [ "site", "rack", "counts" ],
				     "properties" : {
					     "site" : {"type" : "string"},
					     "rack" : {"type" : "string"},
					     "counts" :
						 {"$ref" : "#/components/schemas/StateCounts"}
				     },
				     "additionalProperties" : false
			     }
		     },
		     "sites" : {
			     "description" : "by site; machines without a site under site \"\"",
			     "type" : "array",
			     "items" : {
				     "type" : "object",
				     "required" : [ "site", "counts" ],
				     "properties" : {
					     "site" : {"type" : "string"},
					     "counts" :
						 {"$ref" : "#/components/schemas/StateCounts"}
				     },
				     "additionalProperties" : false
			     }
		     }
	     },
	     "additionalProperties" : false
     })},
    {.name = "Location",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "site", "rack", "unit" ],
	     "properties" : {
		     "site" : {"type" : "string", "maxLength" : 63},
		     "rack" : {"type" : "string", "maxLength" : 63},
		     "unit" : {"type" : [ "integer", "null" ], "minimum" : 0, "maximum" : 1000}
	     },
	     "additionalProperties" : false
     })},
    {.name = "MachineBmc", .json = JSON({
				   "description" : "BMC access; the password is never shown",
				   "type" : "object",
				   "required" : [ "driver", "address", "username", "options" ],
				   "properties" : {
					   "driver" : {"type" : "string"},
					   "address" : {"type" : "string"},
					   "username" : {"type" : "string"},
					   "options" : {"type" : [ "object", "null" ]}
				   },
				   "additionalProperties" : false
			   })},
    {.name = "Machine",
     .json = JSON({
	     "description" : "lists omit facts, attempts, deadline_at; services never see bmc",
	     "type" : "object",
	     "required" : [
		     "id", "name", "state", "sku", "power", "maintenance", "maintenance_reason",
		     "last_error", "location", "macs", "allocation_id", "owner", "version",
		     "created_at", "updated_at", "state_since"
	     ],
	     "properties" : {
		     "id" : {"$ref" : "#/components/schemas/Uuid"},
		     "name" : {"$ref" : "#/components/schemas/Name"},
		     "state" : {"$ref" : "#/components/schemas/MachineState"},
		     "sku" : {"type" : [ "string", "null" ]},
		     "power" : {"$ref" : "#/components/schemas/PowerState"},
		     "maintenance" : {"type" : "boolean"},
		     "maintenance_reason" : {"type" : "string"},
		     "last_error" : {"type" : "string"},
		     "location" : {"$ref" : "#/components/schemas/Location"},
		     "macs" : {
			     "type" : "array",
			     "maxItems" : 8,
			     "items" :
				 {"type" : "string", "pattern" : "^([0-9a-f]{2}:){5}[0-9a-f]{2}$"}
		     },
		     "allocation_id" :
			 {"anyOf" : [ {"$ref" : "#/components/schemas/Uuid"}, {"type" : "null"} ]},
		     "owner" : {"type" : [ "string", "null" ]},
		     "version" : {"type" : "integer", "minimum" : 1},
		     "created_at" : {"$ref" : "#/components/schemas/Time"},
		     "updated_at" : {"$ref" : "#/components/schemas/Time"},
		     "state_since" : {"$ref" : "#/components/schemas/Time"},
		     "bmc" : {
			     "anyOf" :
				 [ {"$ref" : "#/components/schemas/MachineBmc"},
				   {"type" : "null"} ]
		     },
		     "facts" : {
			     "description" : "the hardware facts the agent reported",
			     "type" : [ "object", "null" ]
		     },
		     "phase" : {"type" : "string"},
		     "attempts" : {"type" : "integer", "minimum" : 0},
		     "deadline_at" : {"$ref" : "#/components/schemas/Time"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "MachineList", .list_of = "Machine"},
    {.name = "Event",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "seq", "at", "from", "to", "actor", "reason", "request_id" ],
	     "properties" : {
		     "seq" : {"type" : "integer"},
		     "at" : {"$ref" : "#/components/schemas/Time"},
		     "from" : {
			     "anyOf" : [
				     {"$ref" : "#/components/schemas/MachineState"},
				     {"type" : "null"}
			     ]
		     },
		     "to" : {"$ref" : "#/components/schemas/MachineState"},
		     "actor" : {"type" : "string"},
		     "reason" : {"type" : "string"},
		     "request_id" : {"type" : "string"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "EventList", .list_of = "Event"},
    {.name = "Console",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "machine", "start", "end", "data", "truncated" ],
	     "properties" : {
		     "machine" : {"type" : "string", "description" : "the machine's id"},
		     "start" : {
			     "type" : "integer",
			     "minimum" : 0,
			     "description" : "stream offset of the first byte in data"
		     },
		     "end" : {
			     "type" : "integer",
			     "minimum" : 0,
			     "description" : "offset after data: the next after"
		     },
		     "data" :
			 {"type" : "string", "description" : "UTF-8 text, no control characters"},
		     "truncated" :
			 {"type" : "boolean", "description" : "asked-for bytes were dropped"},
		     "capturing" :
			 {"type" : "boolean", "description" : "a capture session runs now"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "Power",
     .json = JSON({
	     "type" : "object",
	     "required" : ["power"],
	     "properties" : {"power" : {"$ref" : "#/components/schemas/PowerState"}},
	     "additionalProperties" : false
     })},
    {.name = "BootDevice",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "device", "persistent" ],
	     "properties" : {
		     "device" : {"$ref" : "#/components/schemas/BootDeviceName"},
		     "persistent" : {"type" : "boolean"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "Image",
     .json = JSON({
	     "type" : "object",
	     "required" : [
		     "name", "path", "url", "format", "sha256", "size", "state", "last_error",
		     "created_at", "updated_at"
	     ],
	     "properties" : {
		     "name" : {"$ref" : "#/components/schemas/Name"},
		     "path" : {
			     "description" : "relative to the image store; null for URL images",
			     "type" : [ "string", "null" ]
		     },
		     "url" : {"type" : [ "string", "null" ]},
		     "format" : {"type" : "string", "enum" : [ "raw", "raw.zst" ]},
		     "sha256" : {"type" : "string", "pattern" : "^([0-9a-f]{64})?$"},
		     "size" : {"type" : "integer", "minimum" : 0},
		     "state" : {"$ref" : "#/components/schemas/ImageState"},
		     "last_error" : {"type" : [ "string", "null" ]},
		     "created_at" : {"$ref" : "#/components/schemas/Time"},
		     "updated_at" : {"$ref" : "#/components/schemas/Time"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "ImageList", .list_of = "Image"},
    {.name = "AllocationMachine",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "id", "name", "state", "ip" ],
	     "properties" : {
		     "id" : {"$ref" : "#/components/schemas/Uuid"},
		     "name" : {"$ref" : "#/components/schemas/Name"},
		     "state" : {"$ref" : "#/components/schemas/MachineState"},
		     "ip" : {
			     "description" : "where the machine last called the boot plane from",
			     "type" : [ "string", "null" ]
		     },
		     "image" : {
			     "description" : "the image it runs or is being reimaged with",
			     "type" : "string"
		     },
		     "address" : {
			     "description" : "its static address and prefix length; null with DHCP",
			     "type" : [ "string", "null" ]
		     }
	     },
	     "additionalProperties" : false
     })},
    {.name = "Network",
     .json = JSON({
	     "description" : "DHCP, or static addresses: one per machine, in request order",
	     "type" : "object",
	     "required" : ["mode"],
	     "properties" : {
		     "mode" : {"type" : "string", "enum" : [ "dhcp", "static" ]},
		     "addresses" : {
			     "type" : "array",
			     "items" : {"type" : "string"},
			     "minItems" : 1,
			     "maxItems" : 256
		     },
		     "gateway" : {"type" : [ "string", "null" ]},
		     "nameservers" :
			 {"type" : "array", "items" : {"type" : "string"}, "maxItems" : 8}
	     },
	     "additionalProperties" : false
     })},
    {.name = "Spread",
     .json = JSON({
	     "description" : "the failure-domain spread asked for, and the one its machines have",
	     "type" : "object",
	     "required" : [ "across", "mode", "domains" ],
	     "properties" : {
		     "across" : {"$ref" : "#/components/schemas/SpreadAcross"},
		     "mode" : {"$ref" : "#/components/schemas/SpreadMode"},
		     "domains" : {
			     "description" : "distinct racks (sites) its attached machines are in",
			     "type" : "integer",
			     "minimum" : 0
		     }
	     },
	     "additionalProperties" : false
     })},
    {.name = "Allocation",
     .json = JSON({
	     "type" : "object",
	     "required" : [
		     "id", "name", "owner", "sku", "count", "min_count", "image", "state",
		     "machines", "last_error", "substitutions", "ssh_keys", "spread", "network",
		     "created_at", "ready_at", "updated_at"
	     ],
	     "properties" : {
		     "id" : {"$ref" : "#/components/schemas/Uuid"},
		     "name" : {"type" : "string"},
		     "owner" : {"type" : "string"},
		     "sku" : {"type" : "string"},
		     "count" : {"type" : "integer", "minimum" : 1, "maximum" : 256},
		     "min_count" : {"type" : "integer", "minimum" : 1, "maximum" : 256},
		     "image" : {"type" : "string"},
		     "state" : {"$ref" : "#/components/schemas/AllocationState"},
		     "machines" : {
			     "type" : "array",
			     "items" : {"$ref" : "#/components/schemas/AllocationMachine"}
		     },
		     "last_error" : {"type" : "string"},
		     "substitutions" : {"type" : "integer", "minimum" : 0},
		     "ssh_keys" : {
			     "type" : [ "array", "null" ],
			     "items" : {"type" : "string"},
			     "maxItems" : 32
		     },
		     "spread" : {
			     "description" : "null when no spread was asked",
			     "oneOf" :
				 [ {"$ref" : "#/components/schemas/Spread"}, {"type" : "null"} ]
		     },
		     "network" : {"$ref" : "#/components/schemas/Network"},
		     "created_at" : {"$ref" : "#/components/schemas/Time"},
		     "ready_at" : {"$ref" : "#/components/schemas/Time"},
		     "updated_at" : {"$ref" : "#/components/schemas/Time"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "AllocationList", .list_of = "Allocation"},
    {.name = "RolloutMachine",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "id", "name", "state" ],
	     "properties" : {
		     "id" : {"$ref" : "#/components/schemas/Uuid"},
		     "name" : {"type" : "string"},
		     "state" : {"$ref" : "#/components/schemas/RolloutMachineState"},
		     "error" : {"description" : "why it failed or was skipped", "type" : "string"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "RolloutWave",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "wave", "size", "state", "reimaging", "done", "failures", "machines" ],
	     "properties" : {
		     "wave" : {"type" : "integer", "minimum" : 1},
		     "size" : {
			     "description" : "as asked: a count or a percentage of machines",
			     "type" : "string"
		     },
		     "state" : {"type" : "string", "enum" : [ "pending", "current", "done" ]},
		     "reimaging" : {"type" : "integer", "minimum" : 0},
		     "done" : {"type" : "integer", "minimum" : 0},
		     "failures" : {"type" : "integer", "minimum" : 0},
		     "machines" : {
			     "type" : "array",
			     "items" : {"$ref" : "#/components/schemas/RolloutMachine"}
		     }
	     },
	     "additionalProperties" : false
     })},
    {.name = "Rollout",
     .json = JSON({
	     "description" : "a staged image rollout of an allocation (docs/allocations.md)",
	     "type" : "object",
	     "required" : [
		     "id", "allocation_id", "image", "old_image", "state", "wave", "waves_total",
		     "max_failures", "failures", "actor", "reason", "waves", "created_at",
		     "updated_at", "finished_at"
	     ],
	     "properties" : {
		     "id" : {"$ref" : "#/components/schemas/Uuid"},
		     "allocation_id" : {"$ref" : "#/components/schemas/Uuid"},
		     "image" : {"type" : "string"},
		     "old_image" : {"type" : "string"},
		     "state" : {"$ref" : "#/components/schemas/RolloutState"},
		     "wave" : {
			     "description" : "the wave started last (0: none yet)",
			     "type" : "integer",
			     "minimum" : 0
		     },
		     "waves_total" : {"type" : "integer", "minimum" : 1},
		     "max_failures" : {"type" : "integer", "minimum" : 0},
		     "failures" : {"type" : "integer", "minimum" : 0},
		     "actor" : {"type" : "string"},
		     "reason" : {
			     "description" : "why it halted or was cancelled",
			     "type" : [ "string", "null" ]
		     },
		     "waves" : {
			     "type" : "array",
			     "items" : {"$ref" : "#/components/schemas/RolloutWave"}
		     },
		     "created_at" : {"$ref" : "#/components/schemas/Time"},
		     "updated_at" : {"$ref" : "#/components/schemas/Time"},
		     "finished_at" : {"$ref" : "#/components/schemas/Time"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "AuditEntry",
     .json = JSON({
	     "type" : "object",
	     "required" : [
		     "seq", "at", "actor", "action", "target_type", "target_id", "before", "after",
		     "request_id"
	     ],
	     "properties" : {
		     "seq" : {"type" : "integer"},
		     "at" : {"$ref" : "#/components/schemas/Time"},
		     "actor" : {"type" : "string"},
		     "action" : {"type" : "string", "pattern" : "^[a-z_]+\\.[a-z_]+$"},
		     "target_type" : {"type" : "string"},
		     "target_id" : {"type" : "string"},
		     "before" : {"description" : "the object before the change, or null"},
		     "after" : {"description" : "the object after the change, or null"},
		     "request_id" : {"type" : "string"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "AuditList", .list_of = "AuditEntry"},
    {.name = "Quota", .json = JSON({
			      "type" : "object",
			      "required" : [ "owner", "sku", "machines" ],
			      "properties" : {
				      "owner" : {"$ref" : "#/components/schemas/Name"},
				      "sku" : {"type" : "string"},
				      "machines" : {
					      "description" : "-1: the quota was removed",
					      "type" : "integer",
					      "minimum" : -1,
					      "maximum" : 100000
				      }
			      },
			      "additionalProperties" : false
		      })},
    {.name = "QuotaUse", .json = JSON({
				 "type" : "object",
				 "required" : [ "sku", "machines", "used" ],
				 "properties" : {
					 "sku" : {"type" : "string"},
					 "machines" : {"type" : "integer", "minimum" : 0},
					 "used" : {"type" : "integer", "minimum" : 0}
				 },
				 "additionalProperties" : false
			 })},
    {.name = "QuotaList", .list_of = "QuotaUse"},
    {.name = "Freeze",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "frozen", "reason" ],
	     "properties" : {
		     "frozen" : {"type" : "boolean"},
		     "reason" : {"type" : "string"},
		     "by" : {"description" : "who set it (role:token-name)", "type" : "string"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "WhoAmI",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "role", "owner", "actor", "token_id" ],
	     "properties" : {
		     "role" : {"type" : "string", "enum" : [ "admin", "tech", "service" ]},
		     "owner" :
			 {"description" : "a service token's owner", "type" : [ "string", "null" ]},
		     "actor" : {
			     "description" : "role:name, as events and audit rows name the caller",
			     "type" : "string"
		     },
		     "token_id" : {"$ref" : "#/components/schemas/Uuid"}
	     },
	     "additionalProperties" : false
     })},
    {.name = "Circuit",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "machine", "state", "failures", "retry_in_ms" ],
	     "properties" : {
		     "machine" : {"description" : "the machine whose BMC it is", "type" : "string"},
		     "state" : {"type" : "string", "enum" : [ "open", "half_open" ]},
		     "failures" : {
			     "description" : "consecutive operations that did not reach it",
			     "type" : "integer",
			     "minimum" : 0
		     },
		     "retry_in_ms" : {
			     "description" : "open: time until a trial operation may run",
			     "type" : "integer",
			     "minimum" : 0
		     }
	     },
	     "additionalProperties" : false
     })},
    {.name = "CircuitList",
     .json = JSON({
	     "type" : "object",
	     "required" : ["items"],
	     "properties" : {
		     "items" :
			 {"type" : "array", "items" : {"$ref" : "#/components/schemas/Circuit"}}
	     },
	     "additionalProperties" : false
     })},
    {.name = "AgentSession",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "machine_id", "name", "token", "heartbeat_s", "mode" ],
	     "properties" : {
		     "machine_id" : {"$ref" : "#/components/schemas/Uuid"},
		     "name" : {"type" : "string"},
		     "token" : {"description" : "the session token", "type" : "string"},
		     "heartbeat_s" : {"type" : "integer", "minimum" : 1, "maximum" : 3600},
		     "mode" : {"type" : "string", "enum" : [ "agent", "discover" ]}
	     },
	     "additionalProperties" : false
     })},
    {.name = "AgentCommand",
     .json = JSON({
	     "type" : "object",
	     "required" : [ "id", "name", "args" ],
	     "properties" : {
		     "id" : {"type" : "string"},
		     "name" : {
			     "type" : "string",
			     "enum" : [ "wipe", "write_image", "reboot", "poweroff" ]
		     },
		     "args" : {"type" : "object"}
	     },
	     "additionalProperties" : false
     })},
};

static json_t *list_schema(const char *item)
{
	char ref[128];
	snprintf(ref, sizeof ref, "%s%s", "#/components/schemas/", item);
	return json_pack("{s:s, s:[s, s], s:{s:{s:s, s:{s:s}}, s:{s:[s, s], s:s}}, s:b}", "type",
			 "object", "required", "items", "next_cursor", "properties", "items",
			 "type", "array", "items", "$ref", ref, "next_cursor", "type", "string",
			 "null", "pattern", "^[0-9]+$", "additionalProperties", 0);
}

json_t *api_openapi_schemas(void)
{
	json_t *all = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(components); i++) {
		const struct component *c = &components[i];
		json_error_t err;
		json_t *s = c->build	 ? c->build()
			    : c->list_of ? list_schema(c->list_of)
					 : json_loads(c->json, 0, &err);
		if (!s) {
			/* a schema that does not parse is a bug test_routes catches */
			json_decref(all);
			return NULL;
		}
		json_object_set_new(all, c->name, s);
	}
	return all;
}
