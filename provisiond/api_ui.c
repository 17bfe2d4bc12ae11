/* api_ui.c - the web console's files (GET /ui/, /ui/{file}) and who the
 * caller is (GET /v1/whoami), which the console asks to decide what to
 * show. The files are the ones built into the binary (ui_assets.h); they
 * are public (the console logs in with an API token it keeps in the
 * browser tab's session storage, never in a URL), so they need no token. */
#include "provisiond/routes.h"
#include "provisiond/ui_assets.h"

#include <stdlib.h>
#include <string.h>

/* The console loads only its own files and talks only to this API: a
 * strict policy keeps an injected script or a framing page out. */
static const char *const ui_headers[] = {
    "Content-Security-Policy",
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options",
    "nosniff",
    "Referrer-Policy",
    "no-referrer",
    "Cache-Control",
    "no-cache",
    NULL};

static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".svg", "image/svg+xml"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

void api_ui_file(struct api_call *c)
{
	struct http_req *r = c->r;
	const char *name = r->nparams ? r->params[0] : "index.html";
	for (size_t i = 0; i < ui_nassets; i++) {
		if (strcmp(ui_assets[i].name, name) != 0)
			continue;
		char *body = malloc(ui_assets[i].len ? ui_assets[i].len : 1);
		if (!body) {
			http_error(r, 500, "internal", NULL, "out of memory");
			return;
		}
		memcpy(body, ui_assets[i].data, ui_assets[i].len);
		http_reply(r, 200, content_type(name), body, ui_assets[i].len);
		r->headers = ui_headers;
		return;
	}
	http_error(r, 404, "not_found", NULL, "the console has no file '%s'", name);
}

void api_whoami(struct api_call *c)
{
	const struct principal *p = c->p;
	json_t *o = json_pack("{s:s, s:s, s:s}", "role", role_name(p->role), "actor", p->actor,
			      "token_id", p->token_id);
	json_object_set_new(o, "owner", p->owner[0] ? json_string(p->owner) : json_null());
	api_json(c->r, 200, o);
}
