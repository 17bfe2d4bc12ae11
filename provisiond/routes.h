/* routes.h - the route tables of both listeners and the contract between
 * dispatch and the handlers.
 *
 * One entry of a table says everything about a route: method and pattern,
 * handler, who may call it (bearer roles, an agent's boot-plane token, or
 * nobody), the body schema, whether the fleet freeze refuses it, whether it
 * may run on the poll thread, and whether it writes an audit record. The
 * OpenAPI document (GET /v1/openapi.json) and the access-matrix test are
 * made from these tables, so what a route promises is written once.
 * Query arguments a route does not list are refused, so a typo in a filter
 * (?row=r99) is an error, not a silently unfiltered answer.
 *
 * api_dispatch() does, in this order: authentication (401), the role check
 * (403), the query arguments (400), the freeze (503), body parsing and
 * validation against the schema
 * (400/413), then calls the handler with a struct api_call that holds the
 * caller's identity and the parsed body. Handlers never authenticate or
 * parse bodies themselves; they answer through api_json()/http_error() and
 * report failed inventory or BMC calls through the api_fail*() helpers of
 * api.h. A handler must set a response on every path (an empty one answers
 * 500 "handler produced no response"). */
#ifndef PROVISIOND_ROUTES_H
#define PROVISIOND_ROUTES_H

#include "provisiond/api.h"

/* How a route authenticates its caller. */
enum api_auth {
	AUTH_NONE,     /* open: health, metrics, the boot plane's unauthenticated files */
	AUTH_BEARER,   /* an API token; roles says which roles may call */
	AUTH_SESSION,  /* an agent's session token: c->machine_id is set */
	AUTH_INSTANCE, /* a deployed OS's one-time instance token: c->machine_id is set */
};

/* What a route accepts as a body. */
enum api_body_kind {
	BODY_NONE,     /* no body is read (one sent is ignored) */
	BODY_JSON,     /* a JSON object checked against body_fields; required */
	BODY_JSON_OPT, /* as BODY_JSON, but an empty body is fine (c->body NULL) */
	BODY_RAW,      /* the handler reads r->body itself (agent facts) */
};

/* What dispatch hands a handler. Everything is borrowed for the call. */
struct api_call {
	struct http_req *r;
	struct app *a;
	const struct api_route *route;
	const struct principal *p;   /* AUTH_BEARER routes; NULL otherwise */
	char machine_id[INV_ID_LEN]; /* AUTH_SESSION / AUTH_INSTANCE routes */
	json_t *body;		     /* BODY_JSON*: the validated object (dispatch frees it) */
};

typedef void (*api_handler)(struct api_call *c);

/* One answer a route gives: its status and, by name, the schema of its body
 * in the OpenAPI document's components (openapi_schemas.c), or NULL for
 * none (204). media is NULL for application/json. A route lists its
 * success answers, and the error answers worth naming (e.g. /readyz's 503);
 * the document adds the error answers dispatch itself gives (401, 403, 400
 * for query arguments and bodies, ...) and a default that is the shared
 * error shape. The integration tests check every answer they get against
 * these (tests/openapi/). */
struct api_response {
	unsigned status;
	const char *schema;
	const char *media;
	const char *description;
};

/* A body schema: the fields of a JSON object (api.h's struct field). */
struct api_schema {
	const struct field *fields;
	size_t n;
};

struct api_route {
	struct http_route http; /* method, pattern, inline_ok: what http.c routes on */
	api_handler handler;
	enum api_auth auth;
	unsigned roles; /* AUTH_BEARER: ROLE_* bits allowed */
	enum api_body_kind body;
	const struct api_schema *schema; /* BODY_JSON*: the top-level fields */
	const char *const *query;	 /* query arguments it reads (NULL-terminated; NULL: none);
					  * any other is 400 unknown_parameter */
	bool refused_when_frozen;	 /* 503 while the fleet freeze is on */
	bool audited;			 /* a success writes a row to /v1/audit */
	const char *summary;		 /* one line for the OpenAPI document */
	const struct api_response *responses; /* {0}-terminated; at least one */
};

/* The management listener's and the boot/agent listener's tables. */
extern const struct api_route api_routes[];
extern const size_t api_nroutes;
extern const struct api_route boot_routes[];
extern const size_t boot_nroutes;

/* The http_table of a route table, dispatching through api_dispatch. */
struct http_table api_http_table(const struct api_route *routes, size_t n);
/* Authenticates, checks, parses, then calls the route's handler. */
void api_dispatch(struct http_req *r, void *app);

/* The OpenAPI 3.1 document of both tables (new reference). docs/openapi.yaml
 * is this document as YAML (scripts/openapi regenerates it, a test compares
 * them). */
json_t *api_openapi(void);
/* components/schemas of that document: the schemas routes name in
 * api_response.schema (openapi_schemas.c; new reference). */
json_t *api_openapi_schemas(void);

/* ----------------------------------------------------------- handlers */

/* api_health.c */
void api_health(struct api_call *c);
void api_ready(struct api_call *c);
void api_openapi_get(struct api_call *c);
void api_version(struct api_call *c);
/* {"version","commit","api","schema"} of this build (new reference). */
json_t *api_version_json(void);
/* api_metrics.c */
void api_metrics(struct api_call *c);
/* api_tokens.c */
void api_token_create(struct api_call *c);
void api_token_list(struct api_call *c);
void api_token_delete(struct api_call *c);
/* api_skus.c */
void api_sku_list(struct api_call *c);
void api_sku_get(struct api_call *c);
void api_replica_list(struct api_call *c);
void api_capacity(struct api_call *c);
/* api_machines.c */
void api_machine_enroll(struct api_call *c);
void api_machine_list(struct api_call *c);
void api_machine_get(struct api_call *c);
void api_machine_patch(struct api_call *c);
void api_machine_events(struct api_call *c);
void api_machine_delete(struct api_call *c);
/* api_console.c */
void api_machine_console(struct api_call *c);
/* api_power.c */
void api_machine_action(struct api_call *c);
void api_machine_power_get(struct api_call *c);
void api_machine_power_set(struct api_call *c);
void api_machine_bootdev(struct api_call *c);
/* api_images.c */
void api_image_create(struct api_call *c);
void api_image_list(struct api_call *c);
void api_image_get(struct api_call *c);
void api_image_delete(struct api_call *c);
/* api_allocations.c */
void api_alloc_create(struct api_call *c);
void api_alloc_list(struct api_call *c);
void api_alloc_get(struct api_call *c);
void api_alloc_delete(struct api_call *c);
/* The allocation named by {id} (its UUID or name) if the caller may see
 * it; false with a 404 (or 5xx) set otherwise. */
bool api_alloc_load(struct api_call *c, struct inv_allocation *al);
/* api_rollouts.c */
void api_alloc_rebuild(struct api_call *c);
void api_alloc_rebuild_get(struct api_call *c);
void api_alloc_rebuild_cancel(struct api_call *c);
/* A staged rollout as the API shows it (new reference). */
json_t *api_rollout_json(const struct inv_rollout *ro);
/* api_audit.c */
void api_audit_list(struct api_call *c);
/* api_quotas.c */
void api_quota_set(struct api_call *c);
void api_quota_list(struct api_call *c);
/* api_ui.c: the web console's files, and who the caller is */
void api_ui_file(struct api_call *c);
void api_whoami(struct api_call *c);
/* api_stream.c: server-sent events of changes; open BMC circuit breakers */
void api_stream(struct api_call *c);
void api_bmc_circuits(struct api_call *c);
/* api_freeze.c */
void api_freeze_get(struct api_call *c);
void api_freeze_set(struct api_call *c);

/* Boot/agent plane: api_boot.c (files and scripts), api_agent.c (the
 * agent's calls). Named boot_serve_* and agent_api_* so they never share a
 * name with the agent's own functions. */
void boot_serve_script(struct api_call *c);
void boot_serve_file(struct api_call *c);
void boot_serve_image(struct api_call *c);
void boot_serve_media(struct api_call *c);
void agent_api_lookup(struct api_call *c);
void agent_api_inventory(struct api_call *c);
void agent_api_heartbeat(struct api_call *c);
void agent_api_command(struct api_call *c);
void agent_api_result(struct api_call *c);
void agent_api_booted(struct api_call *c);

/* Body schemas the tables name (defined beside their handlers). */
#define API_SCHEMA(name) extern const struct api_schema name
API_SCHEMA(token_schema);
API_SCHEMA(enroll_schema);
API_SCHEMA(patch_schema);
API_SCHEMA(action_schema);
API_SCHEMA(power_schema);
API_SCHEMA(bootdev_schema);
API_SCHEMA(image_schema);
API_SCHEMA(alloc_schema);
API_SCHEMA(rebuild_schema);
API_SCHEMA(quota_schema);
API_SCHEMA(freeze_schema);
API_SCHEMA(lookup_schema);
API_SCHEMA(heartbeat_schema);
API_SCHEMA(result_schema);
API_SCHEMA(booted_schema);
#undef API_SCHEMA

/* Shared by machine handlers (api_machines.c). */
bool api_load_machine(struct api_call *c, const char *id, struct inv_machine *m);
bool api_parse_bmc(struct http_req *r, struct app *a, json_t *o, const struct inv_bmc *old,
		   struct inv_bmc *b);

#endif
