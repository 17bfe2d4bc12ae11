/* server.c - HTTP(S) with libmicrohttpd: request bodies, authentication, the route
 * table and the answer. Answers carry OData-Version, ETag on GET and PATCH, and echo
 * "Connection: close" when the client sent it (sushy sends it on every request, and
 * reuses a socket the server closed silently, which fails a POST now and then). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rbmc.h"

#define MAX_BODY (64 * 1024)

struct upload {
	char *buf;
	size_t n;
	bool too_big;
};

void rbmc_error(struct rbmc_req *q, int status, const char *id, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(q->doc);
	q->status = status;
	q->doc = json_pack("{s:{s:s, s:s, s:[{s:s, s:s, s:s}]}}", "error", "code", id, "message",
			   msg, "@Message.ExtendedInfo", "MessageId", id, "Message", msg,
			   "Severity", status >= 500 ? "Critical" : "Warning");
}

static void h_root(struct rbmc_req *q, struct rbmc_system *s)
{
	(void)s;
	rbmc_root(q);
}

static void h_login(struct rbmc_req *q, struct rbmc_system *s)
{
	(void)s;
	rbmc_session_create(q);
}

static void h_sessions(struct rbmc_req *q, struct rbmc_system *s)
{
	(void)s;
	rbmc_sessions_collection(q);
}

static void h_session(struct rbmc_req *q, struct rbmc_system *s)
{
	(void)s;
	rbmc_session_one(q, q->seg[2]);
}

static void h_insert(struct rbmc_req *q, struct rbmc_system *s)
{
	rbmc_media_action(q, s, true);
}

static void h_eject(struct rbmc_req *q, struct rbmc_system *s)
{
	rbmc_media_action(q, s, false);
}

/* Segments after /redfish/v1; "*" in Systems/Managers position 1 is a system id. */
static const struct route {
	const char *method, *pattern;
	void (*fn)(struct rbmc_req *q, struct rbmc_system *s);
	bool public, system;
} routes[] = {
    {.method = "GET", .pattern = "", .fn = h_root, .public = true},
    {.method = "POST", .pattern = "SessionService/Sessions", .fn = h_login, .public = true},
    {.method = "GET", .pattern = "SessionService/Sessions", .fn = h_sessions},
    {.method = "GET", .pattern = "SessionService/Sessions/*", .fn = h_session},
    {.method = "DELETE", .pattern = "SessionService/Sessions/*", .fn = h_session},
    {.method = "POST",
     .pattern = "Systems/*/Actions/ComputerSystem.Reset",
     .fn = rbmc_reset,
     .system = true},
    {.method = "PATCH", .pattern = "Systems/*", .fn = rbmc_patch_system, .system = true},
    {.method = "POST",
     .pattern = "Managers/*/VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia",
     .fn = h_insert,
     .system = true},
    {.method = "POST",
     .pattern = "Managers/*/VirtualMedia/Cd/Actions/VirtualMedia.EjectMedia",
     .fn = h_eject,
     .system = true},
};

static bool pattern_matches(const char *pattern, struct rbmc_req *q)
{
	char buf[128], *save = NULL;
	int i = 0;

	snprintf(buf, sizeof(buf), "%s", pattern);
	for (char *p = strtok_r(buf, "/", &save); p != NULL; p = strtok_r(NULL, "/", &save), i++)
		if (i >= q->nseg || (strcmp(p, "*") != 0 && strcmp(p, q->seg[i]) != 0))
			return false;
	return i == q->nseg;
}

static void route(struct rbmc_req *q, bool authed)
{
	const char *m = strcmp(q->method, "HEAD") == 0 ? "GET" : q->method;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];
		struct rbmc_system *s = NULL;
		if (strcmp(r->method, m) != 0 || !pattern_matches(r->pattern, q))
			continue;
		if (!r->public && !authed)
			break;
		if (r->system && (s = rbmc_system_find(q->b, q->seg[1])) == NULL) {
			rbmc_error(q, 404, "Base.1.8.ResourceMissingAtURI",
				   "The requested resource was not found.");
			return;
		}
		r->fn(q, s);
		return;
	}
	if (!authed) {
		rbmc_error(q, 401, "Base.1.8.NoValidSession",
			   "There is no valid session established with the implementation.");
		return;
	}
	if (strcmp(m, "GET") != 0) {
		rbmc_error(q, 405, "Base.1.8.OperationNotAllowed",
			   "The HTTP method is not allowed on this resource.");
		return;
	}
	rbmc_get(q);
}

/* "/redfish/v1/a/b/" -> seg = {a, b}. Returns -1 when not under /redfish/v1. */
static int split_path(char *path, struct rbmc_req *q)
{
	char *save = NULL;

	if (strncmp(path, "/redfish/v1", 11) != 0 || (path[11] != '\0' && path[11] != '/'))
		return -1;
	q->nseg = 0;
	for (char *p = strtok_r(path + 11, "/", &save); p != NULL; p = strtok_r(NULL, "/", &save))
		if (q->nseg < (int)(sizeof(q->seg) / sizeof(q->seg[0])))
			q->seg[q->nseg++] = p;
		else
			return -1;
	return 0;
}

static bool authenticate(struct MHD_Connection *c, struct rbmc_req *q)
{
	const char *token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Auth-Token");
	char *pass = NULL, *user = NULL;
	int rc;

	if (token == NULL)
		user = MHD_basic_auth_get_username_password(c, &pass);
	rc = rbmc_authenticate(q, token, user, pass);
	MHD_free(user);
	MHD_free(pass);
	return rc == 0;
}

static void add_header(struct MHD_Response *r, const char *name, const char *value)
{
	if (value != NULL && value[0] != '\0')
		MHD_add_response_header(r, name, value);
}

static enum MHD_Result send_answer(struct MHD_Connection *c, struct rbmc_req *q)
{
	char *text = q->doc ? json_dumps(q->doc, JSON_INDENT(1)) : NULL;
	const char *conn = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    text ? strlen(text) : 0, text ? text : (char *)"", MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	free(text);
	if (r == NULL)
		return MHD_NO;
	if (q->doc != NULL)
		add_header(r, "Content-Type", "application/json; charset=utf-8");
	add_header(r, "OData-Version", "4.0");
	add_header(r, "ETag", q->etag);
	add_header(r, "Location", q->location);
	add_header(r, "X-Auth-Token", q->token);
	if (q->status == 401)
		add_header(r, "WWW-Authenticate", "Basic realm=\"redfish\"");
	if (conn != NULL && strcasecmp(conn, "close") == 0)
		add_header(r, "Connection", "close");
	ret = MHD_queue_response(c, (unsigned)q->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer(struct rbmc *b, struct MHD_Connection *c, const char *url,
			      const char *method, struct upload *u)
{
	struct rbmc_req q = {.b = b, .method = method, .status = 500};
	char path[512];
	enum MHD_Result ret;

	q.if_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match");
	if (u->n > 0 && (q.body = json_loadb(u->buf, u->n, 0, NULL)) == NULL)
		q.body_bad = true;
	snprintf(path, sizeof(path), "%s", url);
	pthread_mutex_lock(&b->mu);
	if (strcmp(path, "/redfish") == 0 || strcmp(path, "/redfish/") == 0) {
		q.status = 200;
		q.doc = json_pack("{s:s}", "v1", "/redfish/v1/");
	} else if (u->too_big || q.body_bad) {
		rbmc_error(&q, u->too_big ? 413 : 400, "Base.1.8.MalformedJSON",
			   "The request body submitted was malformed JSON and could not be parsed "
			   "by the receiving service.");
	} else if (split_path(path, &q) != 0) {
		rbmc_error(&q, 404, "Base.1.8.ResourceMissingAtURI",
			   "The requested resource was not found.");
	} else {
		route(&q, authenticate(c, &q));
	}
	pthread_mutex_unlock(&b->mu);
	ret = send_answer(c, &q);
	json_decref(q.doc);
	json_decref(q.body);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *size, void **ctx)
{
	struct upload *u = *ctx;

	(void)version;
	if (u == NULL) {
		*ctx = calloc(1, sizeof(struct upload));
		return *ctx ? MHD_YES : MHD_NO;
	}
	if (*size > 0) {
		char *nb = u->n + *size <= MAX_BODY ? realloc(u->buf, u->n + *size + 1) : NULL;
		if (nb == NULL) {
			u->too_big = true;
		} else {
			memcpy(nb + u->n, data, *size);
			u->buf = nb;
			u->n += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	return answer(cls, c, url, method, u);
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx,
		      enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *ctx;

	(void)cls;
	(void)c;
	(void)toe;
	if (u != NULL)
		free(u->buf);
	free(u);
	*ctx = NULL;
}

int rbmc_parse_addr(const char *listen, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
		return -1;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = f ? calloc(1, 65536) : NULL;

	if (buf != NULL && fread(buf, 1, 65535, f) == 0) {
		free(buf);
		buf = NULL;
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

static void write_port(const char *port_file, unsigned port)
{
	char tmp[600];
	FILE *f;

	printf("listening on port %u\n", port);
	fflush(stdout);
	if (port_file == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	if ((f = fopen(tmp, "w")) == NULL)
		return;
	fprintf(f, "%u\n", port);
	fclose(f);
	rename(tmp, port_file);
}

int rbmc_serve(struct rbmc *b, const char *listen, const char *cert, const char *key,
	       const char *port_file)
{
	/* static: libmicrohttpd keeps using them while it runs, until the process ends */
	static char *c, *k;
	struct sockaddr_in sa = {0};
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;

	c = cert ? slurp(cert) : NULL;
	k = key ? slurp(key) : NULL;
	if (rbmc_parse_addr(listen, &sa) != 0 || (cert != NULL && (c == NULL || k == NULL))) {
		fprintf(stderr, "redfish-bmc: bad --listen or unreadable certificate/key\n");
		return -1;
	}
	if (c != NULL)
		d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, handle, b,
				     MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_HTTPS_MEM_CERT, c,
				     MHD_OPTION_HTTPS_MEM_KEY, k, MHD_OPTION_NOTIFY_COMPLETED,
				     completed, NULL, MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, 0, NULL, NULL, handle, b, MHD_OPTION_SOCK_ADDR, &sa,
				     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (info == NULL) {
		fprintf(stderr, "redfish-bmc: cannot listen on %s\n", listen);
		return -1;
	}
	write_port(port_file, info->port);
	return 0;
}
