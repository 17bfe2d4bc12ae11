/* http.c — JSON requests to the boot listener over libcurl, with retries. */
#include "agent.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_MAX (4u << 20)

struct reply_buf {
	struct util_buf b;
	bool overflow;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	struct reply_buf *r = ud;
	size_t add = size * n;
	if (r->b.len + add > REPLY_MAX) {
		r->overflow = true;
		return 0;
	}
	return util_buf_append(&r->b, p, add) == 0 ? add : 0;
}

enum agent_rc agent_client_init(struct agent_client *c, const struct agent_config *cfg,
				const char *url, const char *token, struct agent_err *err)
{
	memset(c, 0, sizeof(*c));
	c->retry_base_s = cfg->retry_base_s;
	c->retry_cap_s = cfg->retry_cap_s;
	c->retry_max_s = cfg->retry_max_s;
	if (agent_set_str(&c->base_url, url, err) || agent_set_str(&c->token, token, err)) {
		agent_client_free(c);
		return AGENT_E_NOMEM;
	}
	size_t n = c->base_url ? strlen(c->base_url) : 0;
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
	return AGENT_OK;
}

void agent_client_free(struct agent_client *c)
{
	if (!c)
		return;
	free(c->base_url);
	free(c->token);
	c->base_url = c->token = NULL;
}

static struct curl_slist *json_headers(const struct agent_client *c)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	if (c->token) {
		size_t n = strlen(c->token) + 32;
		char *auth = malloc(n);
		if (auth) {
			snprintf(auth, n, "Authorization: Bearer %s", c->token);
			h = curl_slist_append(h, auth);
			free(auth);
		}
	}
	return h;
}

/* "HTTP 409 conflict: message" from the common error body, else the raw
 * start of the body. */
static enum agent_rc status_error(long status, const char *what, const struct util_buf *b,
				  struct agent_err *err)
{
	enum agent_rc rc = status >= 500   ? AGENT_E_NET
			   : status >= 400 ? AGENT_E_HTTP
					   : AGENT_E_PROTO;
	json_t *j = b->p ? json_loads(b->p, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	if (code || msg)
		agent_fail(err, rc, "%s: HTTP %ld %s: %s", what, status, code ? code : "",
			   msg ? msg : "");
	else
		agent_fail(err, rc, "%s: HTTP %ld %.120s", what, status, b->p ? b->p : "");
	json_decref(j);
	if (err)
		err->http_status = status;
	return rc;
}

static enum agent_rc parse_reply(const struct util_buf *b, const char *what, json_t **reply,
				 struct agent_err *err)
{
	if (!reply)
		return AGENT_OK;
	*reply = NULL;
	if (!b->len)
		return AGENT_OK;
	json_error_t je;
	*reply = json_loadb(b->p, b->len, 0, &je);
	if (!*reply)
		return agent_fail(err, AGENT_E_PROTO, "%s: reply is not JSON: %s", what, je.text);
	return AGENT_OK;
}

static void set_request(CURL *h, const char *method, const char *body)
{
	if (strcmp(method, "GET") == 0)
		return;
	if (strcmp(method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
}

enum agent_rc agent_http_once(const struct agent_client *c, const char *method, const char *path,
			      const json_t *body, long timeout_s, json_t **reply, long *status,
			      struct agent_err *err)
{
	char what[512];
	snprintf(what, sizeof(what), "%s %s%s", method, c->base_url, path);
	char *url = agent_path_join(c->base_url, path);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct curl_slist *hdr = json_headers(c);
	CURL *h = curl_easy_init();
	struct reply_buf r = {0};
	long code = 0;
	enum agent_rc rc = AGENT_OK;
	if (!url || !h || !hdr || (body && !text)) {
		rc = agent_fail(err, AGENT_E_NOMEM, "%s: out of memory", what);
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "provisiond-agent/0.1");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	set_request(h, method, text);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK) {
		rc = agent_fail(err, r.overflow ? AGENT_E_PROTO : AGENT_E_NET, "%s: %s", what,
				r.overflow ? "reply too large" : curl_easy_strerror(cc));
	} else if (code < 200 || code > 299) {
		rc = status_error(code, what, &r.b, err);
	} else {
		rc = parse_reply(&r.b, what, reply, err);
	}
out:
	if (status)
		*status = code;
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	util_buf_free(&r.b);
	free(text);
	free(url);
	return rc;
}

enum agent_rc agent_http_call(const struct agent_client *c, const char *method, const char *path,
			      const json_t *body, long timeout_s, json_t **reply, long *status,
			      struct agent_err *err)
{
	struct agent_backoff b;
	agent_backoff_init(&b, c->retry_base_s, c->retry_cap_s, c->retry_max_s);
	for (;;) {
		struct agent_err e = {0};
		enum agent_rc rc =
		    agent_http_once(c, method, path, body, timeout_s, reply, status, &e);
		double delay;
		if (rc != AGENT_E_NET || !agent_backoff_next(&b, &delay)) {
			if (rc && err)
				*err = e;
			if (rc == AGENT_E_NET)
				agent_err_prefix(err, "giving up after %d s of retries",
						 c->retry_max_s);
			return rc;
		}
		agent_log(AGENT_LOG_WARN, "%s; retrying in %.1f s", e.msg, delay);
		agent_sleep(delay);
	}
}
