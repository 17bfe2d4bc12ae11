/* Internal to provclient: not installed, not for other modules. */
#ifndef PC_INTERNAL_H
#define PC_INTERNAL_H

#include <stdarg.h>

#include <curl/curl.h>

#include "provisiond/client/provclient.h"
#include "util/util.h"

struct pc_client {
	CURL *curl;
	char *base_url;
	char *token;
	long timeout_ms;
	char request_id[PC_REQUEST_ID_MAX];
	FILE *trace;
};

/* Copies src into dst[size], always terminated; returns strlen(src). */
size_t pc_strlcpy(char *dst, const char *src, size_t size);

/* true when s contains CR or LF (header injection guard). */
bool pc_has_crlf(const char *s);

/* Fills err (if not NULL) with kind and a printf-style message; returns kind. */
pc_status pc_fail(struct pc_error *err, pc_status kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Builds the absolute URL base + path + "?" + encoded query. malloc'd. */
char *pc_url_build(const char *base, const char *path, const struct pc_query *q, size_t nq);

/* pc_request whose 2xx answer must be a JSON object: *out takes it (NULL
 * on any failure); *replayed (may be NULL) says whether it was an
 * idempotent replay. */
pc_status pc_request_object(pc_client *c, const struct pc_request *req, json_t **out,
			    bool *replayed, struct pc_error *err);

#endif /* PC_INTERNAL_H */
