/* fuzz_routes.c - request paths and query strings against every pattern of
 * the real route tables (api_routes, boot_routes): the route matcher
 * http_match, then the dispatcher's query-argument check and the
 * pagination arguments, reached without a server through api_dispatch on a
 * copy of the matched route that needs no authentication and whose handler
 * only records that it ran.
 * Input: "PATH[?QUERY]"; QUERY is split at '&' and '=' (as libmicrohttpd
 * hands the arguments over, without the percent-decoding). */
#include "fuzz_common.h"
#include "provisiond/routes.h"

static bool handler_ran;

/* The stand-in handler: pagination as the list handlers read it. */
static void stub_handler(struct api_call *c)
{
	int limit = -1;
	int64_t after = -1;
	handler_ran = true;
	if (api_page(c->r, &limit, &after)) {
		FUZZ_CHECK(limit >= 1 && limit <= 1000 && after >= 0);
		http_reply(c->r, 204, "application/json", NULL, 0);
	} else {
		FUZZ_CHECK(c->r->status == 400 && c->r->resp);
	}
}

/* The query into r's arguments (pointers into q, which it cuts up). */
static void split_query(char *q, struct http_req *r)
{
	while (q && *q && r->nargs < HTTP_MAX_ARGS) {
		char *amp = strchr(q, '&');
		if (amp)
			*amp = 0;
		char *eq = strchr(q, '=');
		if (eq)
			*eq = 0;
		r->arg_key[r->nargs] = q;
		r->arg_val[r->nargs++] = eq ? eq + 1 : q + strlen(q);
		q = amp ? amp + 1 : NULL;
	}
}

/* A match captured exactly the path's segments: putting the captures back
 * into the pattern gives the path again. */
static void check_captures(const char *pattern, const char *path, const struct http_req *r)
{
	char back[sizeof r->path + 16] = "";
	size_t used = 0;
	int np = 0;
	for (const char *p = pattern; *p && used < sizeof back - 1;) {
		if (p[0] == '{' && p[1] == '}') {
			FUZZ_CHECK(np < r->nparams);
			const char *v = r->params[np++];
			FUZZ_CHECK(*v && !strchr(v, '/') && strlen(v) < sizeof r->params[0]);
			used += (size_t)snprintf(back + used, sizeof back - used, "%s", v);
			p += 2;
		} else {
			back[used++] = *p++;
			back[used] = 0;
		}
	}
	FUZZ_CHECK(np == r->nparams && strcmp(back, path) == 0);
}

/* The query check of api_dispatch: the handler runs exactly when every
 * argument is one the route lists; otherwise 400 naming the argument. */
static void check_dispatch(const struct api_route *rt, struct http_req *r)
{
	struct api_route stub = *rt;
	stub.handler = stub_handler;
	stub.auth = AUTH_NONE;
	stub.body = BODY_NONE;
	stub.refused_when_frozen = false;
	bool all_known = true;
	for (int i = 0; i < r->nargs; i++) {
		bool known = false;
		for (const char *const *q = rt->query; q && *q; q++)
			known = known || strcmp(*q, r->arg_key[i]) == 0;
		all_known = all_known && known;
	}
	handler_ran = false;
	r->route = &stub.http;
	api_dispatch(r, NULL);
	FUZZ_CHECK(handler_ran == all_known);
	if (!all_known)
		FUZZ_CHECK(r->status == 400 && r->resp && strstr(r->resp, "unknown_parameter"));
	free(r->resp);
	r->resp = NULL;
	r->status = 0;
}

static void one_table(const struct api_route *t, size_t n, const char *path, struct http_req *r)
{
	for (size_t i = 0; i < n; i++) {
		if (!http_match(t[i].http.pattern, path, r))
			continue;
		check_captures(t[i].http.pattern, path, r);
		check_dispatch(&t[i], r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct http_req r;
	memset(&r, 0, sizeof r);
	r.fd = -1;
	snprintf(r.method, sizeof r.method, "GET");
	char *q = strchr(s, '?');
	if (q)
		*q++ = 0;
	snprintf(r.path, sizeof r.path, "%s", s);
	split_query(q, &r);
	one_table(api_routes, api_nroutes, r.path, &r);
	one_table(boot_routes, boot_nroutes, r.path, &r);
	free(s);
	return 0;
}
