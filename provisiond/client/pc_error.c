/* pc_error: the one error type of provclient, and parsing of the server's
 * error body {"error":{"code","message","field"}}. */
#include <stdio.h>
#include <string.h>

#include "provisiond/client/pc_internal.h"

static const char *const status_names[] = {
    [PC_OK] = "ok",
    [PC_E_INVALID] = "invalid",
    [PC_E_NOMEM] = "nomem",
    [PC_E_TRANSPORT] = "transport",
    [PC_E_PROTOCOL] = "protocol",
    [PC_E_API] = "api",
};
_Static_assert(ARRAY_SIZE(status_names) == PC_E_API + 1, "status_names must cover pc_status");

const char *pc_status_name(pc_status s)
{
	if ((unsigned)s > PC_E_API)
		return "unknown";
	return status_names[s];
}

void pc_error_clear(struct pc_error *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
	err->kind = PC_OK;
	err->retry_after_s = -1;
}

/* Copies a server-supplied string, replacing control characters so that a
 * message can never move the cursor or inject lines into a terminal/log. */
static void copy_clean(char *dst, size_t size, const char *src)
{
	pc_strlcpy(dst, src, size);
	for (char *p = dst; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch == 0x7f)
			*p = ' ';
	}
}

pc_status pc_fail(struct pc_error *err, pc_status kind, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return kind;
	err->kind = kind;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (err->code[0] == '\0')
		pc_strlcpy(err->code, pc_status_name(kind), sizeof(err->code));
	return kind;
}

static void fallback_message(struct pc_error *err, long status, const char *body, size_t len)
{
	char snippet[200] = "";

	/* A short plain-text body (a proxy's "Service Unavailable") helps; an
	 * HTML page does not. */
	if (body != NULL && len > 0 && strchr("<{[", body[0]) == NULL) {
		size_t n = len < sizeof(snippet) - 1 ? len : sizeof(snippet) - 1;
		memcpy(snippet, body, n);
		snippet[n] = '\0';
		snippet[strcspn(snippet, "\r\n")] = '\0';
	}
	snprintf(err->code, sizeof(err->code), "http_%ld", status);
	if (snippet[0] != '\0') {
		char msg[PC_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "server answered HTTP %ld: %s", status, snippet);
		copy_clean(err->message, sizeof(err->message), msg);
	} else {
		snprintf(err->message, sizeof(err->message), "server answered HTTP %ld", status);
	}
}

void pc_error_from_body(struct pc_error *err, long status, const char *body, size_t len)
{
	json_t *root = NULL, *e;
	const char *code = NULL, *msg = NULL, *field = NULL;

	err->kind = PC_E_API;
	err->http_status = status;
	err->code[0] = err->message[0] = err->field[0] = '\0';
	if (body != NULL && len > 0)
		root = json_loadb(body, len, 0, NULL);
	e = json_object_get(root, "error");
	if (json_is_object(e)) {
		code = json_string_value(json_object_get(e, "code"));
		msg = json_string_value(json_object_get(e, "message"));
		field = json_string_value(json_object_get(e, "field"));
	}
	if (code == NULL && msg == NULL) {
		fallback_message(err, status, body, len);
	} else {
		if (code != NULL)
			copy_clean(err->code, sizeof(err->code), code);
		else
			snprintf(err->code, sizeof(err->code), "http_%ld", status);
		copy_clean(err->message, sizeof(err->message), msg ? msg : err->code);
		if (field != NULL)
			copy_clean(err->field, sizeof(err->field), field);
	}
	json_decref(root);
}
