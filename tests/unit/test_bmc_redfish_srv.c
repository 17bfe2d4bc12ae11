/* test_bmc_redfish_srv.c - the scripted Redfish responder, see
 * redfish_fixtures/srv.h. Test-only code. */
#include "redfish_fixtures/srv.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 64
#define MAX_REQS 4096

static struct MHD_Daemon *daemon_;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct srv_rule rules[MAX_RULES];
static int used[MAX_RULES];
static size_t nrules;
static struct srv_req *reqs;
static int nreqs;

struct upload {
	char buf[1024];
	size_t n;
};

static char *fixture(const char *name)
{
	char path[512];
	const char *dir = getenv("PROVISIOND_SOURCE_DIR");
	FILE *f;
	char *buf;
	long len;

	snprintf(path, sizeof(path), "%s/tests/unit/redfish_fixtures/%s", dir ? dir : ".", name);
	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "srv: no fixture %s\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	if (buf != NULL && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static bool rule_matches(const struct srv_rule *r, const char *method, const char *path,
			 const char *token)
{
	if (r->method != NULL && strcmp(r->method, method) != 0)
		return false;
	if (r->path != NULL && strcmp(r->path, path) != 0)
		return false;
	if (r->token != NULL && strcmp(r->token, token ? token : "") != 0)
		return false;
	return true;
}

static void log_req(struct MHD_Connection *c, const char *method, const char *path,
		    const char *token, const struct upload *u)
{
	const char *im = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match");
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(c, &pass);
	struct srv_req *q;

	if (nreqs < MAX_REQS) {
		q = &reqs[nreqs++];
		memset(q, 0, sizeof(*q));
		snprintf(q->method, sizeof(q->method), "%s", method);
		snprintf(q->path, sizeof(q->path), "%s", path);
		snprintf(q->token, sizeof(q->token), "%s", token ? token : "");
		snprintf(q->if_match, sizeof(q->if_match), "%s", im ? im : "");
		if (user != NULL)
			snprintf(q->basic, sizeof(q->basic), "%s:%s", user, pass ? pass : "");
		snprintf(q->body, sizeof(q->body), "%.*s", (int)u->n, u->buf);
	}
	MHD_free(user);
	MHD_free(pass);
}

static void add_headers(struct MHD_Response *resp, const char *headers)
{
	char buf[1024], *save = NULL;

	if (headers == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", headers);
	for (char *h = strtok_r(buf, "|", &save); h != NULL; h = strtok_r(NULL, "|", &save)) {
		char *colon = strchr(h, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		MHD_add_response_header(resp, h, colon + 1 + (colon[1] == ' '));
	}
}

static enum MHD_Result respond(struct MHD_Connection *c, const char *method, const char *path,
			       const char *token)
{
	int status = 404;
	const char *body = "{\"error\":{\"code\":\"Base.1.8.ResourceMissingAtURI\","
			   "\"message\":\"no rule\"}}",
		   *headers = NULL;
	char *loaded = NULL;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	for (size_t i = 0; i < nrules; i++) {
		if (!rule_matches(&rules[i], method, path, token) ||
		    (rules[i].count > 0 && used[i] >= rules[i].count))
			continue;
		used[i]++;
		status = rules[i].status;
		body = rules[i].body;
		headers = rules[i].headers;
		break;
	}
	if (body != NULL && body[0] == '@')
		body = loaded = fixture(body + 1);
	resp = MHD_create_response_from_buffer(body ? strlen(body) : 0, (void *)(body ? body : ""),
					       MHD_RESPMEM_MUST_COPY);
	if (body != NULL)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	add_headers(resp, headers);
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	free(loaded);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *size, void **ctx)
{
	struct upload *u = *ctx;
	const char *token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Auth-Token");
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (u == NULL) {
		*ctx = calloc(1, sizeof(struct upload));
		return *ctx ? MHD_YES : MHD_NO;
	}
	if (*size > 0) {
		size_t n = *size < sizeof(u->buf) - 1 - u->n ? *size : sizeof(u->buf) - 1 - u->n;
		memcpy(u->buf + u->n, data, n);
		u->n += n;
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&mu);
	log_req(c, method, url, token, u);
	ret = respond(c, method, url, token);
	pthread_mutex_unlock(&mu);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*ctx);
	*ctx = NULL;
}

int srv_start(const char *cert_pem, const char *key_pem)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	const union MHD_DaemonInfo *info;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	reqs = calloc(MAX_REQS, sizeof(*reqs));
	if (reqs == NULL)
		return -1;
	if (cert_pem != NULL)
		daemon_ = MHD_start_daemon(
		    flags | MHD_USE_TLS, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
		    MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
		    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	else
		daemon_ =
		    MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (daemon_ == NULL)
		return -1;
	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : -1;
}

void srv_stop(void)
{
	if (daemon_ != NULL)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	free(reqs);
	reqs = NULL;
}

void srv_set(const struct srv_rule *r, size_t n)
{
	pthread_mutex_lock(&mu);
	nrules = n < MAX_RULES ? n : MAX_RULES;
	memcpy(rules, r, nrules * sizeof(*r));
	memset(used, 0, sizeof(used));
	nreqs = 0;
	pthread_mutex_unlock(&mu);
}

void srv_push(const struct srv_rule *r)
{
	pthread_mutex_lock(&mu);
	if (nrules < MAX_RULES) {
		memmove(rules + 1, rules, nrules * sizeof(*rules));
		memmove(used + 1, used, nrules * sizeof(*used));
		rules[0] = *r;
		used[0] = 0;
		nrules++;
	}
	pthread_mutex_unlock(&mu);
}

static bool req_is(const struct srv_req *q, const char *method, const char *path)
{
	return (method == NULL || strcmp(q->method, method) == 0) &&
	       (path == NULL || strcmp(q->path, path) == 0);
}

int srv_count(const char *method, const char *path)
{
	int n = 0;

	pthread_mutex_lock(&mu);
	for (int i = 0; i < nreqs; i++)
		n += req_is(&reqs[i], method, path);
	pthread_mutex_unlock(&mu);
	return n;
}

int srv_last(const char *method, const char *path)
{
	int found = -1;

	pthread_mutex_lock(&mu);
	for (int i = 0; i < nreqs; i++)
		if (req_is(&reqs[i], method, path))
			found = i;
	pthread_mutex_unlock(&mu);
	return found;
}

const struct srv_req *srv_req(int i)
{
	return i >= 0 && i < nreqs ? &reqs[i] : NULL;
}

int srv_nreq(void)
{
	return nreqs;
}
