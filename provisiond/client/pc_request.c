/* pc_request: one HTTP exchange over libcurl — headers out, body and the
 * headers we care about (X-Request-Id, Retry-After, Content-Type) in. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "provisiond/client/pc_internal.h"

/* Larger answers are refused rather than buffered without bound. */
#define PC_MAX_BODY (64u * 1024u * 1024u)

struct exchange {
	struct util_buf body;
	bool overflow;
	bool json_type;
	char request_id[PC_REQUEST_ID_MAX];
	long retry_after_s;
	bool replayed; /* Idempotent-Replayed: true */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct exchange *x = ud;
	size_t len = size * n;

	if (x->body.len + len > PC_MAX_BODY) {
		x->overflow = true;
		return 0;
	}
	return util_buf_append(&x->body, p, len) == 0 ? len : 0;
}

static long parse_retry_after(const char *v)
{
	char *end;
	long s;

	if (isdigit((unsigned char)v[0])) {
		s = strtol(v, &end, 10);
		return (*end == '\0' && s >= 0) ? s : -1;
	}
	time_t when = curl_getdate(v, NULL);
	if (when < 0)
		return -1;
	time_t now = time(NULL);
	return when > now ? (long)(when - now) : 0;
}

/* Called once per header line, value not terminated: copy and trim. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct exchange *x = ud;
	size_t len = size * n;
	char line[512];
	char *colon, *v;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new response block (after 100 Continue): forget earlier values. */
		x->request_id[0] = '\0';
		x->retry_after_s = -1;
		x->json_type = false;
		x->replayed = false;
		return len;
	}
	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	colon = strchr(line, ':');
	if (colon == NULL)
		return len;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (size_t k = strlen(v); k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t'); k--)
		v[k - 1] = '\0';
	if (strcasecmp(line, "X-Request-Id") == 0)
		pc_strlcpy(x->request_id, v, sizeof(x->request_id));
	else if (strcasecmp(line, "Retry-After") == 0)
		x->retry_after_s = parse_retry_after(v);
	else if (strcasecmp(line, "Content-Type") == 0)
		x->json_type = strcasestr(v, "json") != NULL;
	else if (strcasecmp(line, "Idempotent-Replayed") == 0)
		x->replayed = strcasecmp(v, "true") == 0;
	return len;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value,
				     bool *ok)
{
	struct util_buf b = {0};
	struct curl_slist *next = NULL;

	if (!*ok)
		return list;
	if (util_buf_append(&b, name, strlen(name)) == 0 && util_buf_append(&b, ": ", 2) == 0 &&
	    util_buf_append(&b, value, strlen(value)) == 0)
		next = curl_slist_append(list, b.p);
	if (b.p != NULL)
		explicit_bzero(b.p, b.len);
	util_buf_free(&b);
	if (next == NULL)
		*ok = false;
	return next ? next : list;
}

/* Header strings may hold the token: wipe them before libcurl frees them. */
static void free_headers(struct curl_slist *list)
{
	for (struct curl_slist *h = list; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(list);
}

static bool header_name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' && !pc_has_crlf(name) &&
	       strpbrk(name, ": \t") == NULL;
}

static pc_status build_headers(const pc_client *c, const struct pc_request *req,
			       struct curl_slist **out, struct pc_error *err)
{
	struct curl_slist *list = NULL;
	bool ok = true;

	for (size_t i = 0; i < req->nheaders; i++) {
		const struct pc_header *h = &req->headers[i];
		if (h->value != NULL && (!header_name_ok(h->name) || pc_has_crlf(h->value)))
			return pc_fail(err, PC_E_INVALID, "invalid request header %s",
				       header_name_ok(h->name) ? h->name : "(name)");
	}
	list = add_header(list, "Accept", "application/json", &ok);
	if (ok) {
		/* "Expect:" with no value stops libcurl's 100-continue round trip. */
		struct curl_slist *next = curl_slist_append(list, "Expect:");
		ok = next != NULL;
		list = next ? next : list;
	}
	if (req->body != NULL)
		list = add_header(list, "Content-Type", "application/json", &ok);
	if (c->token[0] != '\0') {
		char auth[16] = "Bearer ";
		struct util_buf v = {0};
		ok = ok && util_buf_append(&v, auth, strlen(auth)) == 0 &&
		     util_buf_append(&v, c->token, strlen(c->token)) == 0;
		list = add_header(list, "Authorization", v.p ? v.p : "", &ok);
		if (v.p != NULL)
			explicit_bzero(v.p, v.len);
		util_buf_free(&v);
	}
	if (c->request_id[0] != '\0')
		list = add_header(list, "X-Request-Id", c->request_id, &ok);
	for (size_t i = 0; i < req->nheaders; i++)
		if (req->headers[i].value != NULL)
			list = add_header(list, req->headers[i].name, req->headers[i].value, &ok);
	if (!ok) {
		free_headers(list);
		return pc_fail(err, PC_E_NOMEM, "out of memory building headers");
	}
	*out = list;
	return PC_OK;
}

static bool method_ok(const char *m)
{
	if (m == NULL || m[0] == '\0' || strlen(m) > 16)
		return false;
	for (; *m; m++)
		if (*m < 'A' || *m > 'Z')
			return false;
	return true;
}

static void setup_curl(pc_client *c, const struct pc_request *req, const char *url,
		       const char *body, struct curl_slist *headers, struct exchange *x,
		       char *errbuf)
{
	CURL *h = c->curl;
	long timeout = c->timeout_ms + (req->extra_timeout_ms > 0 ? req->extra_timeout_ms : 0);

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 c->timeout_ms < 10000 ? c->timeout_ms : 10000L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "provclient/" PC_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		return;
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	if (body != NULL || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
	}
}

static const char *first_non_space(const char *s)
{
	while (s != NULL && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	return s;
}

/* Fills resp and err from a completed exchange. Takes x->body. */
static pc_status finish(long status, struct exchange *x, struct pc_response *resp,
			struct pc_error *err)
{
	const char *start = first_non_space(x->body.p);
	bool looks_json = x->json_type || (start && (*start == '{' || *start == '['));
	pc_status rc = PC_OK;

	resp->status = status;
	resp->text = x->body.p;
	resp->text_len = x->body.len;
	x->body.p = NULL;
	pc_strlcpy(resp->request_id, x->request_id, sizeof(resp->request_id));
	resp->retry_after_s = x->retry_after_s;
	resp->idempotent_replayed = x->replayed;
	if (resp->text_len > 0 && looks_json)
		resp->json = json_loadb(resp->text, resp->text_len, 0, NULL);
	if (err != NULL) {
		err->http_status = status;
		pc_strlcpy(err->request_id, x->request_id, sizeof(err->request_id));
		err->retry_after_s = x->retry_after_s;
	}
	if (status < 200 || status > 299) {
		if (err != NULL)
			pc_error_from_body(err, status, resp->text, resp->text_len);
		rc = PC_E_API;
	} else if (resp->text_len > 0 && looks_json && resp->json == NULL) {
		rc = pc_fail(err, PC_E_PROTOCOL, "server answered HTTP %ld with invalid JSON",
			     status);
	}
	return rc;
}

static void trace_result(pc_client *c, long status, const struct exchange *x, double secs)
{
	if (c->trace == NULL)
		return;
	fprintf(c->trace, "< HTTP %ld (%.0f ms%s%s)\n", status, secs * 1000.0,
		x->request_id[0] ? ", request id " : "", x->request_id);
}

static pc_status perform(pc_client *c, const struct pc_request *req, const char *url,
			 const char *body, struct curl_slist *headers, struct pc_response *resp,
			 struct pc_error *err)
{
	struct exchange x = {.retry_after_s = -1};
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	double secs = 0;
	pc_status rc;

	setup_curl(c, req, url, body, headers, &x, errbuf);
	if (c->trace != NULL)
		fprintf(c->trace, "> %s %s\n", req->method, url);
	CURLcode cc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_TOTAL_TIME, &secs);
	if (x.overflow)
		rc = pc_fail(err, PC_E_PROTOCOL, "%s %s: answer larger than %u bytes", req->method,
			     url, PC_MAX_BODY);
	else if (cc != CURLE_OK)
		rc = pc_fail(err, PC_E_TRANSPORT, "%s %s: %s", req->method, url,
			     errbuf[0] ? errbuf : curl_easy_strerror(cc));
	else {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
		trace_result(c, status, &x, secs);
		rc = finish(status, &x, resp, err);
	}
	if (rc == PC_E_TRANSPORT && c->trace != NULL)
		fprintf(c->trace, "< error: %s\n", err ? err->message : curl_easy_strerror(cc));
	util_buf_free(&x.body);
	/* The handle keeps pointers to our stack buffers: drop them now. */
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	return rc;
}

pc_status pc_request(pc_client *c, const struct pc_request *req, struct pc_response *resp,
		     struct pc_error *err)
{
	struct pc_response scratch;
	struct curl_slist *headers = NULL;
	char *url = NULL, *body = NULL;
	pc_status rc;

	pc_error_clear(err);
	if (resp == NULL)
		resp = &scratch;
	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	if (c == NULL || req == NULL || !method_ok(req->method) || req->path == NULL ||
	    req->path[0] != '/' || pc_has_crlf(req->path))
		return pc_fail(err, PC_E_INVALID, "invalid request (method or path)");
	rc = build_headers(c, req, &headers, err);
	if (rc != PC_OK)
		return rc;
	url = pc_url_build(c->base_url, req->path, req->query, req->nquery);
	if (req->body != NULL)
		body = json_dumps(req->body, JSON_COMPACT);
	if (url == NULL || (req->body != NULL && body == NULL))
		rc = pc_fail(err, PC_E_NOMEM, "out of memory building the request");
	else
		rc = perform(c, req, url, body, headers, resp, err);
	/* Request bodies can carry BMC passwords. */
	if (body != NULL)
		explicit_bzero(body, strlen(body));
	free(body);
	free(url);
	free_headers(headers);
	if (resp == &scratch)
		pc_response_clear(&scratch);
	return rc;
}

void pc_response_clear(struct pc_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->text);
	json_decref(resp->json);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
}

pc_status pc_request_object(pc_client *c, const struct pc_request *req, json_t **out,
			    bool *replayed, struct pc_error *err)
{
	struct pc_response resp;
	pc_status rc = pc_request(c, req, &resp, err);

	*out = NULL;
	if (rc == PC_OK && !json_is_object(resp.json))
		rc = pc_fail(err, PC_E_PROTOCOL, "%s %s: expected a JSON object", req->method,
			     req->path);
	if (rc == PC_OK) {
		*out = resp.json;
		resp.json = NULL;
		if (replayed != NULL)
			*replayed = resp.idempotent_replayed;
	}
	pc_response_clear(&resp);
	return rc;
}
