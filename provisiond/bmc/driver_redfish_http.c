/* driver_redfish_http.c - one Redfish request with libcurl, and the error sentence
 * for an answer that is not a success.
 *
 * Every request ends by the deadline of the driver call it belongs to (the dispatch
 * layer's timeout_ms), connection included, so the driver reports its own timeout
 * before the watchdog has to. Bodies are capped: a BMC is not trusted to be small. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "provisiond/bmc/driver_redfish.h"

#define RF_MAX_BODY (4 * 1024 * 1024)

struct rf_buf {
	char *p;
	size_t n;
	bool too_big;
};

long long rf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rf_resp_free(struct rf_resp *r)
{
	json_decref(r->body);
	memset(r, 0, sizeof(*r));
}

const char *rf_path_of(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return url;
	p = strchr(p + 3, '/');
	return p ? p : "/";
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct rf_buf *b = ud;
	size_t len = size * nmemb;
	char *np;

	if (b->n + len > RF_MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	np = realloc(b->p, b->n + len + 1);
	if (np == NULL)
		return 0;
	memcpy(np + b->n, data, len);
	b->p = np;
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

/* "Name: value\r\n" -> dst when the name matches; the value trimmed. */
static void header_value(const char *line, size_t len, const char *name, char *dst, size_t dlen)
{
	size_t nl = strlen(name);

	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	line += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		len--;
	if (len >= dlen)
		len = dlen - 1;
	memcpy(dst, line, len);
	dst[len] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct rf_resp *r = ud;
	size_t len = size * nmemb;
	char ra[16] = "";

	header_value(data, len, "ETag", r->etag, sizeof(r->etag));
	header_value(data, len, "Location", r->location, sizeof(r->location));
	header_value(data, len, "X-Auth-Token", r->token, sizeof(r->token));
	header_value(data, len, "Retry-After", ra, sizeof(ra));
	if (ra[0] != '\0')
		r->retry_after_s = strtol(ra, NULL, 10);
	return len;
}

void rf_http_setup(CURL *h, const char *ca_file, bool insecure)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "provisiond-redfish/1");
	if (insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (ca_file != NULL && ca_file[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	}
}

static void add_header(struct curl_slist **l, bool *fail, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	if (n == NULL)
		*fail = true;
	else
		*l = n;
}

static struct curl_slist *make_headers(const char *auth, bool has_body, const char *if_match)
{
	struct curl_slist *l = NULL;
	char line[640];
	bool fail = false;

	add_header(&l, &fail, "Accept: application/json");
	add_header(&l, &fail, "OData-Version: 4.0");
	if (has_body)
		add_header(&l, &fail, "Content-Type: application/json");
	if (auth != NULL && auth[0] != '\0') {
		snprintf(line, sizeof(line), "X-Auth-Token: %s", auth);
		add_header(&l, &fail, line);
		explicit_bzero(line, sizeof(line));
	}
	if (if_match != NULL) {
		snprintf(line, sizeof(line), "If-Match: %s", if_match);
		add_header(&l, &fail, line);
	}
	if (fail) {
		curl_slist_free_all(l);
		return NULL;
	}
	return l;
}

/* A curl failure as a status: no connection made = nothing answered. */
static enum bmc_status transport_error(struct rf_inst *in, CURLcode cc, const char *method,
				       const char *path, const char *msg, struct bmc_error *e)
{
	curl_off_t connected = 0;

	curl_easy_getinfo(in->h, CURLINFO_CONNECT_TIME_T, &connected);
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL, "cannot resolve BMC host of %s",
				     in->c.base);
	case CURLE_COULDNT_CONNECT:
		return bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL,
				     "cannot connect to BMC at %s: %s", in->c.base, msg);
	case CURLE_OPERATION_TIMEDOUT:
		if (connected == 0)
			return bmc_error_set(e, BMC_ERR_UNREACHABLE, NULL,
					     "no answer from BMC at %s within %d ms", in->c.base,
					     in->timeout_ms);
		return bmc_error_set(e, BMC_ERR_TIMEOUT, NULL,
				     "BMC at %s did not answer %s %s within %d ms", in->c.base,
				     method, path, in->timeout_ms);
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return bmc_error_set(e, BMC_ERR_TIMEOUT, NULL,
				     "BMC at %s dropped the connection during %s %s: %s",
				     in->c.base, method, path, msg);
	default:
		break;
	}
	return bmc_error_set(e, BMC_ERR_FAILED, NULL, "BMC at %s: %s %s failed: %s", in->c.base,
			     method, path, msg);
}

static void set_method(CURL *h, const char *method, const char *data)
{
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		return;
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (data != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
	else if (strcmp(method, "DELETE") != 0)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
}

static void set_target(struct rf_inst *in, const char *path, const char *auth)
{
	char url[1024];

	snprintf(url, sizeof(url), "%s%s", in->c.base, rf_path_of(path));
	curl_easy_setopt(in->h, CURLOPT_URL, url);
	if (auth == NULL) {
		curl_easy_setopt(in->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(in->h, CURLOPT_USERNAME, in->c.user);
		curl_easy_setopt(in->h, CURLOPT_PASSWORD, in->c.pass);
	} else {
		curl_easy_setopt(in->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_NONE);
		curl_easy_setopt(in->h, CURLOPT_USERNAME, NULL);
		curl_easy_setopt(in->h, CURLOPT_PASSWORD, NULL);
	}
}

static enum bmc_status perform(struct rf_inst *in, const char *method, const char *path,
			       struct rf_buf *b, struct rf_resp *r, struct bmc_error *e)
{
	char msg[CURL_ERROR_SIZE] = "";
	long long left = in->deadline - rf_now_ms();
	CURLcode cc;

	if (left <= 0)
		return bmc_error_set(e, BMC_ERR_TIMEOUT, NULL,
				     "BMC at %s: no time left for %s %s within %d ms", in->c.base,
				     method, path, in->timeout_ms);
	curl_easy_setopt(in->h, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(in->h, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
	curl_easy_setopt(in->h, CURLOPT_ERRORBUFFER, msg);
	curl_easy_setopt(in->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(in->h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(in->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(in->h, CURLOPT_HEADERDATA, r);
	cc = curl_easy_perform(in->h);
	curl_easy_setopt(in->h, CURLOPT_ERRORBUFFER, NULL);
	if (b->too_big)
		return bmc_error_set(e, BMC_ERR_FAILED, NULL,
				     "BMC at %s sent more than %d bytes for %s %s", in->c.base,
				     RF_MAX_BODY, method, path);
	if (cc != CURLE_OK)
		return transport_error(in, cc, method, path, msg[0] ? msg : curl_easy_strerror(cc),
				       e);
	curl_easy_getinfo(in->h, CURLINFO_RESPONSE_CODE, &r->status);
	return BMC_OK;
}

enum bmc_status rf_http(struct rf_inst *in, const char *method, const char *path, const char *auth,
			const json_t *body, const char *if_match, struct rf_resp *r,
			struct bmc_error *e)
{
	struct rf_buf b = {0};
	char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct curl_slist *hdrs = make_headers(auth, data != NULL, if_match);
	enum bmc_status st;

	memset(r, 0, sizeof(*r));
	if (hdrs == NULL || (body != NULL && data == NULL)) {
		st = bmc_error_set(e, BMC_ERR_FAILED, NULL, "out of memory");
		goto out;
	}
	rf_http_setup(in->h, in->c.ca_file, in->c.insecure);
	set_target(in, path, auth);
	set_method(in->h, method, data);
	curl_easy_setopt(in->h, CURLOPT_HTTPHEADER, hdrs);
	st = perform(in, method, path, &b, r, e);
	if (st == BMC_OK && b.n > 0)
		r->body = json_loadb(b.p, b.n, 0, NULL);
out:
	curl_easy_setopt(in->h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(in->h, CURLOPT_PASSWORD, NULL);
	curl_slist_free_all(hdrs);
	if (data != NULL)
		explicit_bzero(data, strlen(data)); /* a login body holds the password */
	free(data);
	free(b.p);
	return st;
}

const char *rf_extended_message(const json_t *body)
{
	const json_t *err = json_object_get(body, "error");
	const json_t *info = json_object_get(err ? err : body, "@Message.ExtendedInfo");
	const json_t *msg = json_object_get(json_array_get(info, 0), "Message");

	if (json_is_string(msg))
		return json_string_value(msg);
	msg = json_object_get(err, "message");
	return json_is_string(msg) ? json_string_value(msg) : NULL;
}

static enum bmc_status status_of(long http)
{
	switch (http) {
	case 401:
	case 403:
		return BMC_ERR_AUTH;
	case 429:
	case 503:
		return BMC_ERR_BUSY;
	case 504:
		return BMC_ERR_TIMEOUT;
	case 404:
	case 405:
	case 501:
		return BMC_ERR_UNSUPPORTED;
	default:
		return BMC_ERR_FAILED;
	}
}

enum bmc_status rf_http_error(const struct rf_inst *in, const char *what, const struct rf_resp *r,
			      struct bmc_error *e)
{
	const char *msg = rf_extended_message(r->body);

	if (r->status == 401)
		return bmc_error_set(e, BMC_ERR_AUTH, NULL,
				     "BMC at %s rejected the credentials for user %s (HTTP 401 on "
				     "%s%s%s)",
				     in->c.base, in->c.user, what, msg ? ": " : "", msg ? msg : "");
	return bmc_error_set(e, status_of(r->status), NULL, "BMC at %s: HTTP %ld on %s%s%s",
			     in->c.base, r->status, what, msg ? ": " : "", msg ? msg : "");
}
