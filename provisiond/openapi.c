/* openapi.c - the OpenAPI 3.1 document of both listeners, made from the route
 * tables (routes.c) and the answer schemas (openapi_schemas.c), so the
 * contract cannot drift from the code. docs/openapi.yaml is this document
 * as YAML (scripts/openapi writes it; the openapi_document test compares).
 *
 * What the table does not say is derived here, once for every route: the
 * error answers dispatch gives (401 for authenticated routes, 403 when not
 * every role may call, 404 for routes with path parameters, 413 for routes
 * with a body, 429 for routes that queue, ...), the tag, the operationId
 * and the servers. */
#include "provisiond/log.h"
#include "provisiond/routes.h"

#include <stdio.h>
#include <string.h>

#define JSON(...) #__VA_ARGS__
#define SCHEMAS "#/components/schemas/"

/* ------------------------------------------------------------ parameters */

/* A path parameter: its name from the segment before it. */
static const struct {
	const char *segment, *name, *description;
} path_params[] = {
    {"owners", "owner", "an owner name"},
    {"quotas", "sku", "a SKU name"},
    {"skus", "name", "a SKU name"},
    {"images", "name", "an image name"},
    {"boot", "file", "a file of the deploy ramdisk (kernel, initrd)"},
    {"vmedia", "name", "the one-time name of a virtual-media deploy's ISO (SECRET.iso)"},
    {"machines", "id", "a machine's UUID or name"},
    {"allocations", "id", "an allocation's UUID or name (a name: the newest of that name)"},
    {"tokens", "id", "a token's UUID"},
    {"ui", "file", "a file of the web console (app.js, app.css)"},
};

/* The query arguments routes read (routes.c .query). pattern NULL: the
 * same on every route; else only on that route. Only mac is required. */
static const struct {
	const char *name, *pattern, *schema, *description;
} query_params[] = {
    {"limit", NULL, JSON({"type" : "integer", "minimum" : 1, "maximum" : 1000, "default" : 100}),
     "items per page"},
    {"cursor", NULL, JSON({"type" : "string", "pattern" : "^[0-9]+$"}),
     "next_cursor of the previous page"},
    {"state", "/v1/machines", JSON({"$ref" : "#/components/schemas/MachineState"}),
     "only machines in this state"},
    {"state", "/v1/allocations", JSON({"$ref" : "#/components/schemas/AllocationState"}),
     "only allocations in this state"},
    {"sku", NULL, JSON({"type" : "string"}), "only machines of this SKU"},
    {"owner", NULL, JSON({"$ref" : "#/components/schemas/Name"}),
     "only this owner's (a service's own, whatever it asks)"},
    {"wait", "/v1/allocations/{}", JSON({"type" : "integer", "minimum" : 0}),
     "seconds to wait for a state change (at most server.long_poll_max_s)"},
    {"wait", "/v1/machines/{}/console", JSON({"type" : "integer", "minimum" : 0}),
     "seconds to wait for console bytes after `after` (at most server.long_poll_max_s)"},
    {"after", "/v1/machines/{}/console",
     JSON({"type" : "integer", "minimum" : 0, "maximum" : 9007199254740992}),
     "only the console bytes after this offset (the `end` of the previous answer)"},
    {"wait", "/v1/agent/command", JSON({"type" : "integer", "minimum" : 0, "maximum" : 30}),
     "seconds to wait for a command"},
    {"seen", "/v1/allocations/{}", JSON({"$ref" : "#/components/schemas/AllocationState"}),
     "with wait: the state the client last saw; a different one answers at once"},
    {"watch", "/v1/allocations/{}", JSON({"type" : "string", "enum" : ["machines"]}),
     "machines: the long-poll also answers when one of its machines changes state"},
    {"by", "/v1/capacity", JSON({"type" : "string", "enum" : [ "sku", "rack", "site" ]}),
     "sku (default): counts per SKU; rack: counts per site and rack, for techs watching racks "
     "come up; site: counts per site"},
    {"site", "/v1/machines", JSON({"type" : "string"}), "only machines at this site"},
    {"rack", "/v1/machines", JSON({"type" : "string"}), "only machines in this rack"},
    {"order", "/v1/audit", JSON({"type" : "string", "enum" : [ "asc", "desc" ]}),
     "asc (default): oldest first; desc: newest first"},
    {"since", "/v1/audit", JSON({"type" : "string"}),
     "only entries at or after this time (RFC 3339)"},
    {"actor", "/v1/audit", JSON({"type" : "string"}),
     "only entries by this actor (role:name, or the name alone)"},
    {"action", "/v1/audit", JSON({"type" : "string"}),
     "only this action (machine.power), or a family of actions (machine)"},
    {"target", "/v1/audit", JSON({"type" : "string"}), "only entries about this target id"},
    {"mac", NULL, JSON({
	     "type" : "string",
	     "pattern" : "^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\\1[0-9A-Fa-f]{2}){4}$"
     }),
     "the MAC the firmware booted from"},
};

/* Request headers routes read (besides Authorization): method and
 * pattern NULL on every route. */
static const struct {
	const char *name, *method, *pattern, *schema, *description;
} header_params[] = {
    {"X-Request-Id", NULL, NULL, JSON({"type" : "string", "pattern" : "^[A-Za-z0-9._-]{1,63}$"}),
     "echoed in the answer and stored with the events and audit rows the request causes"},
    {"Idempotency-Key", "POST", "/v1/allocations",
     JSON({"type" : "string", "minLength" : 1, "maxLength" : 128}),
     "the same key from the same owner returns the allocation the first request made"},
    {"Range", "GET", "/images/{}", JSON({"type" : "string", "pattern" : "^bytes="}),
     "one byte range: the answer is 206 with that part"},
    {"Range", "GET", "/boot/{}", JSON({"type" : "string", "pattern" : "^bytes="}),
     "one byte range: the answer is 206 with that part"},
};

static void header_parameters(const struct api_route *rt, json_t *params)
{
	for (size_t i = 0; i < ARRAY_SIZE(header_params); i++) {
		if (header_params[i].method && (strcmp(header_params[i].method, rt->http.method) ||
						strcmp(header_params[i].pattern, rt->http.pattern)))
			continue;
		json_array_append_new(
		    params,
		    json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", header_params[i].name, "in",
			      "header", "required", 0, "description", header_params[i].description,
			      "schema", json_loads(header_params[i].schema, 0, NULL)));
	}
}

static void path_param(const char *segment, char *name, size_t len, json_t *params)
{
	const char *n = "id", *d = "an id";
	for (size_t i = 0; i < ARRAY_SIZE(path_params); i++)
		if (strcmp(segment, path_params[i].segment) == 0) {
			n = path_params[i].name;
			d = path_params[i].description;
			break;
		}
	snprintf(name, len, "%s", n);
	json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:s, s:{s:s}}", "name", n, "in",
						"path", "required", 1, "description", d, "schema",
						"type", "string"));
}

/* "/v1/owners/{}/quotas/{}" -> "/v1/owners/{owner}/quotas/{sku}", and the
 * parameters array for it. */
static void openapi_path(const char *pattern, char *out, size_t len, json_t *params)
{
	char seg[64] = "";	     /* the segment before the current one */
	const char *start = pattern; /* where the current segment began */
	size_t o = 0;
	out[0] = 0;
	for (const char *p = pattern; *p && o + 1 < len; p++) {
		if (*p == '/') {
			snprintf(seg, sizeof seg, "%.*s", (int)(p - start), start);
			start = p + 1;
		}
		if (p[0] == '{' && p[1] == '}') {
			char name[32];
			path_param(seg, name, sizeof name, params);
			int n = snprintf(out + o, len - o, "{%s}", name);
			o = n > 0 && (size_t)n < len - o ? o + (size_t)n : len - 1;
			p++;
			continue;
		}
		out[o++] = *p;
		out[o] = 0;
	}
}

/* Appends the route's query arguments; false when one has no definition. */
static bool query_parameters(const struct api_route *rt, json_t *params)
{
	for (const char *const *q = rt->query; q && *q; q++) {
		size_t i = 0;
		for (; i < ARRAY_SIZE(query_params); i++)
			if (strcmp(query_params[i].name, *q) == 0 &&
			    (!query_params[i].pattern ||
			     strcmp(query_params[i].pattern, rt->http.pattern) == 0))
				break;
		json_t *schema = i < ARRAY_SIZE(query_params)
				     ? json_loads(query_params[i].schema, 0, NULL)
				     : NULL;
		if (!schema) {
			log_event(LOG_ERROR, "openapi: a query argument without a definition",
				  "argument", *q, "path", rt->http.pattern, NULL);
			return false;
		}
		json_array_append_new(
		    params, json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", *q, "in", "query",
				      "required", strcmp(*q, "mac") == 0, "description",
				      query_params[i].description, "schema", schema));
	}
	return true;
}

/* ---------------------------------------------------------------- bodies */

static json_t *field_schema(const struct field *f)
{
	static const char *const types[] = {"string", "integer", "boolean",
					    "object", "array",	 NULL};
	_Static_assert(ARRAY_SIZE(types) == F_ANY + 1, "a type per field kind");
	if (f->schema) {
		char ref[128];
		snprintf(ref, sizeof ref, "%s%s", SCHEMAS, f->schema);
		return json_pack("{s:s}", "$ref", ref);
	}
	json_t *s = types[f->kind] ? json_pack("{s:s}", "type", types[f->kind]) : json_object();
	if (f->kind == F_STR) {
		json_object_set_new(s, "minLength", json_integer(f->min));
		json_object_set_new(s, "maxLength", json_integer(f->max ? f->max : 255));
	} else if (f->kind == F_INT && (f->min || f->max)) {
		json_object_set_new(s, "minimum", json_integer(f->min));
		json_object_set_new(s, "maximum", json_integer(f->max));
	}
	if (f->hint)
		json_object_set_new(s, "description", json_string(f->hint));
	return s;
}

static json_t *object_schema(const struct field *fields, size_t n)
{
	json_t *props = json_object(), *req = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *s = fields[i].sub ? object_schema(fields[i].sub, fields[i].nsub)
					  : field_schema(&fields[i]);
		json_object_set_new(props, fields[i].name, s);
		if (fields[i].required)
			json_array_append_new(req, json_string(fields[i].name));
	}
	json_t *o = json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props,
			      "additionalProperties", 0);
	if (json_array_size(req))
		json_object_set_new(o, "required", req);
	else
		json_decref(req);
	return o;
}

static json_t *request_body(const struct api_route *rt)
{
	json_t *schema;
	if (rt->body == BODY_JSON || rt->body == BODY_JSON_OPT)
		schema = object_schema(rt->schema->fields, rt->schema->n);
	else if (rt->body == BODY_RAW)
		schema = json_pack("{s:s}", "type", "object");
	else
		return NULL;
	return json_pack("{s:b, s:{s:{s:o}}}", "required", rt->body != BODY_JSON_OPT, "content",
			 "application/json", "schema", schema);
}

/* ------------------------------------------------------------- responses */

/* The error answers dispatch and the HTTP layer give, by what a route is. */
static const struct {
	unsigned status;
	const char *name, *description;
} errors[] = {
    {400, "BadRequest", "a query argument or body that is not accepted"},
    {401, "Unauthorized", "no token, or one that is unknown, used or expired"},
    {403, "Forbidden", "the token's role may not call this route"},
    {404, "NotFound", "no such object, or none the caller may see"},
    {409, "Conflict", "the object is in a state that does not allow it, or changed meanwhile"},
    {413, "PayloadTooLarge", "the body is over 1 MiB"},
    {429, "Overloaded", "the request queue is full; Retry-After says when to try again"},
    {503, "Unavailable",
     "storage unavailable, or the fleet is frozen (Retry-After may say "
     "when to try again)"},
};

static bool route_may_fail(const struct api_route *rt, unsigned status)
{
	switch (status) {
	case 401:
		return rt->auth != AUTH_NONE;
	case 403:
		return rt->auth == AUTH_BEARER && rt->roles != ROLES_ALL;
	case 404:
		return strstr(rt->http.pattern, "{}") != NULL;
	case 409:
		return strcmp(rt->http.method, "GET") != 0 && rt->auth != AUTH_NONE;
	case 413:
		return rt->body != BODY_NONE;
	case 429:
		return !rt->http.inline_ok || rt->http.may_defer;
	case 503:
		return rt->auth != AUTH_NONE || rt->refused_when_frozen;
	default:
		return true; /* 400: every route refuses query arguments it does not read */
	}
}

static json_t *response(const struct api_response *r)
{
	json_t *o = json_pack("{s:s, s:{s:{s:s}}}", "description", r->description, "headers",
			      "X-Request-Id", "$ref", "#/components/headers/X-Request-Id");
	char ref[96];
	snprintf(ref, sizeof ref, SCHEMAS "%s", r->schema ? r->schema : "");
	if (r->schema)
		json_object_set_new(o, "content",
				    json_pack("{s:{s:{s:s}}}",
					      r->media ? r->media : "application/json", "schema",
					      "$ref", ref));
	else if (r->media)
		json_object_set_new(
		    o, "content", json_pack("{s:{s:{s:s}}}", r->media, "schema", "type", "string"));
	return o;
}

static json_t *responses(const struct api_route *rt)
{
	json_t *rs = json_object();
	char key[16], ref[96];
	for (const struct api_response *r = rt->responses; r && r->status; r++) {
		snprintf(key, sizeof key, "%u", r->status);
		json_t *o = response(r), *had = json_object_get(rs, key);
		/* one status in several media types (the console's files) */
		if (had && json_object_get(had, "content") && json_object_get(o, "content"))
			json_object_update(json_object_get(had, "content"),
					   json_object_get(o, "content"));
		if (had)
			json_decref(o);
		else
			json_object_set_new(rs, key, o);
	}
	for (size_t i = 0; i < ARRAY_SIZE(errors); i++) {
		snprintf(key, sizeof key, "%u", errors[i].status);
		snprintf(ref, sizeof ref, "#/components/responses/%s", errors[i].name);
		if (route_may_fail(rt, errors[i].status) && !json_object_get(rs, key))
			json_object_set_new(rs, key, json_pack("{s:s}", "$ref", ref));
	}
	json_object_set_new(rs, "default",
			    json_pack("{s:s}", "$ref", "#/components/responses/Error"));
	return rs;
}

/* Every error answer's shape, under each name errors[] gives it. */
static json_t *error_responses(void)
{
	json_t *all = json_object();
	for (size_t i = 0; i <= ARRAY_SIZE(errors); i++) {
		const char *name = i < ARRAY_SIZE(errors) ? errors[i].name : "Error";
		const char *d = i < ARRAY_SIZE(errors) ? errors[i].description : "an error";
		json_object_set_new(all, name,
				    json_pack("{s:s, s:{s:{s:s}, s:{s:s}}, s:{s:{s:{s:s}}}}",
					      "description", d, "headers", "X-Request-Id", "$ref",
					      "#/components/headers/X-Request-Id", "Retry-After",
					      "$ref", "#/components/headers/Retry-After", "content",
					      "application/json", "schema", "$ref",
					      SCHEMAS "Error"));
	}
	return all;
}

/* ------------------------------------------------------------ operations */

/* "/v1/owners/{}/quotas/{}" on the management table -> "quotas". */
static const char *tag_of(const char *pattern, bool boot)
{
	static const struct {
		const char *prefix, *tag;
	} tags[] = {
	    {"/v1/agent/", "agent"},
	    {"/v1/tokens", "tokens"},
	    {"/v1/skus", "skus"},
	    {"/v1/capacity", "skus"},
	    {"/v1/machines", "machines"},
	    {"/v1/images", "images"},
	    {"/v1/allocations", "allocations"},
	    {"/v1/audit", "audit"},
	    {"/v1/owners/", "quotas"},
	    {"/v1/freeze", "freeze"},
	    {"/v1/replicas", "replicas"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++)
		if (strncmp(pattern, tags[i].prefix, strlen(tags[i].prefix)) == 0)
			return tags[i].tag;
	return boot && strcmp(pattern, "/healthz") != 0 ? "boot" : "service";
}

static json_t *tag_list(void)
{
	return json_loads(
	    JSON([
		    {
			    "name" : "service",
			    "description" : "Health, metrics, version and this document"
		    },
		    {"name" : "tokens", "description" : "API tokens (admin)"},
		    {"name" : "skus", "description" : "The SKU catalog and capacity"},
		    {"name" : "machines", "description" : "Machines: enroll, change, act, power"},
		    {"name" : "images", "description" : "The image catalog and store"},
		    {"name" : "allocations", "description" : "Gangs of machines given to services"},
		    {"name" : "audit", "description" : "Who changed what configuration"},
		    {"name" : "quotas", "description" : "Machine quotas per owner and SKU"},
		    {"name" : "freeze", "description" : "The fleet freeze switch"},
		    {"name" : "replicas", "description" : "provisiond processes on one database"}, {
			    "name" : "boot",
			    "description" : "Boot listener: iPXE scripts, ramdisk and images"
		    },
		    {"name" : "agent", "description" : "Boot listener: the deploy agent's calls"}
	    ]),
	    0, NULL);
}

/* get + "/v1/owners/{owner}/quotas/{sku}" -> "get_owners_owner_quotas_sku";
 * routes of the boot listener get "boot_" first. */
static void operation_id(const char *method, const char *path, bool boot, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "%s%s", boot ? "boot_" : "", method);
	if (strncmp(path, "/v1/", 4) == 0)
		path += 3;
	for (; *path && o + 1 < len; path++) {
		bool sep = strchr("/.{}", *path) != NULL;
		if (!sep)
			out[o++] = *path;
		else if (out[o - 1] != '_')
			out[o++] = '_';
	}
	if (out[o - 1] == '_')
		o--;
	out[o] = 0;
}

static json_t *security(const struct api_route *rt)
{
	static const char *const schemes[] = {
	    [AUTH_NONE] = NULL,
	    [AUTH_BEARER] = "api_token",
	    [AUTH_SESSION] = "agent_session",
	    [AUTH_INSTANCE] = "instance_token",
	};
	json_t *s = json_array();
	if (schemes[rt->auth])
		json_array_append_new(s, json_pack("{s:[]}", schemes[rt->auth]));
	return s;
}

static json_t *roles(unsigned bits)
{
	static const enum role all[] = {ROLE_ADMIN, ROLE_TECH, ROLE_SERVICE};
	json_t *a = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (bits & all[i])
			json_array_append_new(a, json_string(role_name(all[i])));
	return a;
}

static json_t *operation(const struct api_route *rt, const char *method, const char *path,
			 bool boot, json_t *params)
{
	char id[96];
	operation_id(method, path, boot, id, sizeof id);
	header_parameters(rt, params);
	if (!query_parameters(rt, params)) {
		json_decref(params);
		return NULL;
	}
	json_t *op = json_pack(
	    "{s:s, s:s, s:[s], s:o, s:o, s:o, s:[s], s:b, s:b, s:b}", "operationId", id, "summary",
	    rt->summary, "tags", tag_of(rt->http.pattern, boot), "parameters", params, "security",
	    security(rt), "responses", responses(rt), "x-listener", boot ? "boot" : "management",
	    "x-audited", rt->audited, "x-refused-when-frozen", rt->refused_when_frozen, "x-inline",
	    rt->http.inline_ok);
	if (rt->auth == AUTH_BEARER)
		json_object_set_new(op, "x-roles", roles(rt->roles));
	json_t *body = request_body(rt);
	if (body)
		json_object_set_new(op, "requestBody", body);
	return op;
}

static json_t *server(bool boot)
{
	return json_pack("{s:s, s:s}", "url",
			 boot ? "http://127.0.0.1:7481" : "http://127.0.0.1:7480", "description",
			 boot ? "the boot listener ([boot] listen)"
			      : "the management listener ([server] listen)");
}

/* The path item of a route, made when it is the first of its path. Boot
 * listener paths name their server. */
static json_t *path_item(json_t *paths, const char *path, bool boot)
{
	json_t *item = json_object_get(paths, path);
	if (item)
		return item;
	item = json_object();
	if (boot)
		json_object_set_new(item, "servers", json_pack("[o]", server(true)));
	json_object_set_new(paths, path, item);
	return item;
}

/* A route both listeners serve the same way: one operation, both servers. */
static void both_listeners(json_t *item, json_t *op)
{
	json_array_append_new(json_object_get(op, "x-listener"), json_string("boot"));
	json_object_set_new(item, "servers", json_pack("[o, o]", server(false), server(true)));
}

static bool add_table(json_t *paths, const struct api_route *t, size_t n, bool boot)
{
	for (size_t i = 0; i < n; i++) {
		char path[256], method[8];
		json_t *params = json_array();
		openapi_path(t[i].http.pattern, path, sizeof path, params);
		size_t m = 0;
		for (; t[i].http.method[m] && m + 1 < sizeof method; m++)
			method[m] = (char)(t[i].http.method[m] | 0x20); /* lower case */
		method[m] = 0;
		json_t *item = json_object_get(paths, path), *same;
		if (item && (same = json_object_get(item, method))) {
			both_listeners(item, same); /* /healthz */
			json_decref(params);
			continue;
		}
		json_t *op = operation(&t[i], method, path, boot, params);
		if (!op)
			return false;
		json_object_set_new(path_item(paths, path, boot), method, op);
	}
	return true;
}

static json_t *components(void)
{
	json_t *schemas = api_openapi_schemas();
	if (!schemas)
		return NULL;
	json_t *c = json_loads(
	    JSON({
		    "securitySchemes" : {
			    "api_token" : {
				    "type" : "http",
				    "scheme" : "bearer",
				    "description" : "an API token: pvd_ and 64 hex digits"
			    },
			    "agent_session" : {
				    "type" : "http",
				    "scheme" : "bearer",
				    "description" :
					"the session token the agent got from /v1/agent/lookup"
			    },
			    "instance_token" : {
				    "type" : "http",
				    "scheme" : "bearer",
				    "description" :
					"the one-time token written into the deployed OS"
			    }
		    },
		    "headers" : {
			    "X-Request-Id" : {
				    "description" : "the request's id: the one sent, or a new UUID",
				    "schema" : {"type" : "string"}
			    },
			    "Retry-After" : {
				    "description" : "seconds to wait before trying again",
				    "schema" : {"type" : "integer", "minimum" : 0}
			    }
		    }
	    }),
	    0, NULL);
	json_object_set_new(c, "schemas", schemas);
	json_object_set_new(c, "responses", error_responses());
	return c;
}

json_t *api_openapi(void)
{
	json_t *paths = json_object(), *comps = components();
	if (!comps || !add_table(paths, api_routes, api_nroutes, false) ||
	    !add_table(paths, boot_routes, boot_nroutes, true)) {
		json_decref(paths);
		json_decref(comps);
		return NULL;
	}
	return json_pack(
	    "{s:s, s:{s:s, s:s, s:s}, s:[o], s:o, s:o, s:o}", "openapi", "3.1.0", "info", "title",
	    "provisiond", "version", "v1", "description",
	    "Bare-metal provisioning. x-listener: the listeners that serve the operation "
	    "(management: [server] listen; boot: [boot] listen). x-roles: the API token roles that "
	    "may call; x-audited: a success writes an audit row; x-refused-when-frozen: 503 "
	    "while the fleet freeze is on. Made from provisiond's route table.",
	    "servers", server(false), "tags", tag_list(), "paths", paths, "components", comps);
}
