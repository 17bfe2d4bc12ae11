/* api_health.c - liveness, readiness and the API's own description. */
#include "provisiond/routes.h"

void api_health(struct api_call *c)
{
	http_reply_text(c->r, 200, "application/json", "{\"status\":\"ok\"}");
}

void api_ready(struct api_call *c)
{
	if (atomic_load(&c->a->ready))
		http_reply_text(c->r, 200, "application/json", "{\"status\":\"ready\"}");
	else
		http_error(c->r, 503, "not_ready", NULL, "provisiond is starting or draining");
}

json_t *api_version_json(void)
{
	return json_pack("{s:s, s:s, s:s, s:i}", "version", PROVISIOND_VERSION, "commit",
			 PROVISIOND_COMMIT, "api", "v1", "schema", inv_schema_version());
}

void api_version(struct api_call *c)
{
	api_json(c->r, 200, api_version_json());
}

void api_openapi_get(struct api_call *c)
{
	json_t *doc = api_openapi();
	if (!doc)
		http_error(c->r, 500, "internal", NULL, "cannot render the OpenAPI document");
	else
		api_json(c->r, 200, doc);
}
