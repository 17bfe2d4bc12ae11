/* api_health.c - liveness, readiness and the API's own description. */
#include "provisiond/routes.h"

void api_health(struct api_call *c)
{
	http_reply_text(c->r, 200, "application/json", "{\"status\":\"ok\"}");
}

void api_ready(struct api_call *c)
{
	char why[320], at[32];
	int64_t since = 0;
	if (!atomic_load(&c->a->ready)) {
		http_error(c->r, 503, "not_ready", NULL, "provisiond is starting or draining");
	} else if (!inv_storage_ok(c->a->inv, why, sizeof why, &since)) {
		util_iso_time(since, at, sizeof at);
		snprintf(c->r->retry_after, sizeof c->r->retry_after, "1");
		http_error(c->r, 503, "storage_unavailable", NULL,
			   "the database takes no writes since %s: %s; reads still work", at, why);
	} else {
		http_reply_text(c->r, 200, "application/json", "{\"status\":\"ready\"}");
	}
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
