/* pc_client: construction, settings and teardown of the client object. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/pc_internal.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

/* curl_global_init is not guaranteed thread-safe on every libcurl build;
 * doing it once here lets clients be created from any thread. */
static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool url_scheme_ok(const char *url)
{
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

static char *dup_base_url(const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return strndup(url, n);
}

static pc_status client_check_args(const char *base_url, const char *token, struct pc_error *err)
{
	if (!url_scheme_ok(base_url) || strlen(base_url) <= strlen("https://"))
		return pc_fail(err, PC_E_INVALID,
			       "server URL must start with http:// or https:// and name a host");
	if (pc_has_crlf(base_url) || strpbrk(base_url, " \t") != NULL)
		return pc_fail(err, PC_E_INVALID, "server URL contains whitespace");
	if (pc_has_crlf(token))
		return pc_fail(err, PC_E_INVALID, "token contains a line break");
	return PC_OK;
}

pc_client *pc_client_new(const char *base_url, const char *token, struct pc_error *err)
{
	pc_client *c;

	pc_error_clear(err);
	if (base_url == NULL || base_url[0] == '\0')
		base_url = PC_DEFAULT_URL;
	if (client_check_args(base_url, token, err) != PC_OK)
		return NULL;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		pc_fail(err, PC_E_TRANSPORT, "libcurl initialisation failed: %s",
			curl_easy_strerror(global_rc));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto nomem;
	c->timeout_ms = PC_DEFAULT_TIMEOUT_MS;
	c->curl = curl_easy_init();
	c->base_url = dup_base_url(base_url);
	c->token = strdup(token ? token : "");
	if (c->curl == NULL || c->base_url == NULL || c->token == NULL)
		goto nomem;
	return c;
nomem:
	pc_client_free(c);
	pc_fail(err, PC_E_NOMEM, "out of memory creating the client");
	return NULL;
}

void pc_client_free(pc_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->base_url);
	free(c);
}

void pc_client_set_timeout(pc_client *c, long timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : PC_DEFAULT_TIMEOUT_MS;
}

pc_status pc_client_set_request_id(pc_client *c, const char *request_id)
{
	if (request_id == NULL) {
		c->request_id[0] = '\0';
		return PC_OK;
	}
	if (pc_has_crlf(request_id) || strlen(request_id) >= sizeof(c->request_id))
		return PC_E_INVALID;
	pc_strlcpy(c->request_id, request_id, sizeof(c->request_id));
	return PC_OK;
}

void pc_client_set_trace(pc_client *c, FILE *trace)
{
	c->trace = trace;
}

const char *pc_client_base_url(const pc_client *c)
{
	return c->base_url;
}
