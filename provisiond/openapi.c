/* openapi.c - the OpenAPI 3 document of both listeners, made from the route
 * tables (routes.c), so the contract cannot drift from the code. */
#include "provisiond/routes.h"

#include <stdio.h>
#include <string.h>

/* The name of a {} path parameter: from the segment before it. */
static const char *param_name(const char *before)
{
	static const struct {
		const char *segment, *name;
	} names[] = {
	    {"owners", "owner"}, {"quotas", "sku"}, {"skus", "name"},
	    {"images", "name"},	 {"boot", "file"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(before, names[i].segment) == 0)
			return names[i].name;
	return "id";
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
			const char *name = param_name(seg);
			int n = snprintf(out + o, len - o, "{%s}", name);
			o = n > 0 && (size_t)n < len - o ? o + (size_t)n : len - 1;
			json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name",
								name, "in", "path", "required", 1,
								"schema", "type", "string"));
			p++;
			continue;
		}
		out[o++] = *p;
		out[o] = 0;
	}
}

static json_t *field_schema(const struct field *f)
{
	static const char *const types[] = {"string", "integer", "boolean",
					    "object", "array",	 NULL};
	_Static_assert(ARRAY_SIZE(types) == F_ANY + 1, "a type per field kind");
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

static json_t *operation(const struct api_route *rt, const char *listener, json_t *params)
{
	for (const char *const *q = rt->query; q && *q; q++)
		json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", *q,
							"in", "query", "required", 0, "schema",
							"type", "string"));
	json_t *op = json_pack("{s:s, s:[s], s:o, s:o, s:b, s:b, s:b, s:{s:{s:s}}}", "summary",
			       rt->summary, "tags", listener, "parameters", params, "security",
			       security(rt), "x-audited", rt->audited, "x-refused-when-frozen",
			       rt->refused_when_frozen, "x-inline", rt->http.inline_ok, "responses",
			       "default", "$ref", "#/components/responses/Error");
	if (rt->auth == AUTH_BEARER)
		json_object_set_new(op, "x-roles", roles(rt->roles));
	if (rt->body == BODY_JSON || rt->body == BODY_JSON_OPT)
		json_object_set_new(op, "requestBody",
				    json_pack("{s:b, s:{s:{s:o}}}", "required",
					      rt->body == BODY_JSON, "content", "application/json",
					      "schema",
					      object_schema(rt->schema->fields, rt->schema->n)));
	else if (rt->body == BODY_RAW)
		json_object_set_new(op, "requestBody",
				    json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content",
					      "application/json", "schema", "type", "object"));
	return op;
}

static void add_table(json_t *paths, const struct api_route *t, size_t n, const char *listener)
{
	for (size_t i = 0; i < n; i++) {
		char path[256], method[8];
		json_t *params = json_array();
		openapi_path(t[i].http.pattern, path, sizeof path, params);
		json_t *item = json_object_get(paths, path);
		if (!item) {
			item = json_object();
			json_object_set_new(paths, path, item);
		}
		size_t m = 0;
		for (; t[i].http.method[m] && m + 1 < sizeof method; m++)
			method[m] = (char)(t[i].http.method[m] | 0x20); /* lower case */
		method[m] = 0;
		if (json_object_get(item, method)) /* /healthz is on both listeners */
			json_decref(params);
		else
			json_object_set_new(item, method, operation(&t[i], listener, params));
	}
}

static json_t *components(void)
{
	return json_pack(
	    "{s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}, s:{s:{s:s, s:{s:{s:{s:s, "
	    "s:{s:{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}, s:[s, s]}}}}}}}}",
	    "securitySchemes", "api_token", "type", "http", "scheme", "bearer", "agent_session",
	    "type", "http", "scheme", "bearer", "description",
	    "the session token the agent got from /v1/agent/lookup", "instance_token", "type",
	    "http", "scheme", "bearer", "description",
	    "the one-time token written into the deployed OS", "responses", "Error", "description",
	    "an error", "content", "application/json", "schema", "type", "object", "properties",
	    "error", "type", "object", "properties", "code", "type", "string", "message", "type",
	    "string", "field", "type", "string", "required", "code", "message");
}

json_t *api_openapi(void)
{
	json_t *paths = json_object();
	add_table(paths, api_routes, api_nroutes, "management");
	add_table(paths, boot_routes, boot_nroutes, "boot plane");
	return json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:o}", "openapi", "3.0.3", "info", "title",
			 "provisiond", "version", "v1", "description",
			 "Bare-metal provisioning. Routes tagged 'boot plane' are served on the "
			 "boot listener, the others on the management listener.",
			 "paths", paths, "components", components());
}
