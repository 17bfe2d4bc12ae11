/* What provisionctl prints: JSON for scripts, tables and key/value lines
 * for people, and one format for every failure. */
#include <stdarg.h>
#include <string.h>

#include "provisiond/client/ctl.h"

int ctl_exit_code(pc_status rc)
{
	switch (rc) {
	case PC_OK:
		return CTL_EXIT_OK;
	case PC_E_INVALID:
		return CTL_EXIT_USAGE;
	case PC_E_TRANSPORT:
	case PC_E_PROTOCOL:
		return CTL_EXIT_TRANSPORT;
	default:
		return CTL_EXIT_API;
	}
}

void ctl_mask(char *dst, size_t size, const char *src, const char *secret)
{
	size_t slen = secret ? strlen(secret) : 0, n = 0;

	if (size == 0)
		return;
	while (*src && n + 1 < size) {
		if (slen > 0 && strncmp(src, secret, slen) == 0) {
			for (const char *m = "***"; *m && n + 1 < size; m++)
				dst[n++] = *m;
			src += slen;
		} else {
			dst[n++] = *src++;
		}
	}
	dst[n] = '\0';
}

int ctl_fail(struct ctl *ctl, pc_status rc, const struct pc_error *err)
{
	char msg[PC_ERR_MSG_MAX], field[PC_ERR_FIELD_MAX];

	ctl_mask(msg, sizeof(msg), err->message[0] ? err->message : pc_status_name(rc),
		 ctl->secret);
	ctl_mask(field, sizeof(field), err->field, ctl->secret);
	fprintf(ctl->err, "provisionctl: %s\n", msg);
	if (rc != PC_E_API)
		return ctl_exit_code(rc);
	if (field[0] != '\0')
		fprintf(ctl->err, "  field: %s\n", field);
	fprintf(ctl->err, "  error: %s (HTTP %ld)\n", err->code, err->http_status);
	if (err->retry_after_s >= 0)
		fprintf(ctl->err, "  retry after: %ld s\n", err->retry_after_s);
	if (err->request_id[0] != '\0')
		fprintf(ctl->err, "  request id: %s\n", err->request_id);
	if (err->http_status == 401 && ctl->no_token)
		fprintf(ctl->err, "  no token was given: set PROVISIOND_TOKEN_FILE (or "
				  "PROVISIOND_TOKEN), pass --token-file, or set token_file in the "
				  "config file\n");
	return ctl_exit_code(rc);
}

int ctl_usage(struct ctl *ctl, const struct ctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("provisionctl: ", ctl->err);
	va_start(ap, fmt);
	vfprintf(ctl->err, fmt, ap);
	va_end(ap);
	fprintf(ctl->err, "\nTry 'provisionctl %s%s--help'.\n", cmd ? cmd->words : "",
		cmd ? " " : "");
	return CTL_EXIT_USAGE;
}

void ctl_print_json(FILE *out, const json_t *j)
{
	if (j == NULL) {
		fputs("null\n", out);
		return;
	}
	json_dumpf(j, out, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', out);
}

int ctl_show(struct ctl *ctl, const json_t *obj)
{
	if (ctl->json)
		ctl_print_json(ctl->out, obj);
	else
		ctl_kv_print(ctl->out, obj);
	return CTL_EXIT_OK;
}

int ctl_show_list(struct ctl *ctl, const json_t *body, const struct ctl_col *cols, size_t ncols)
{
	json_t *items;
	struct ctl_table *t;

	if (ctl->json) {
		ctl_print_json(ctl->out, body);
		return CTL_EXIT_OK;
	}
	items = ctl_items_of(body, "name");
	t = ctl_table_from_json(cols, ncols, items);
	if (t != NULL)
		ctl_table_print(ctl->out, t, ctl_term_width(ctl->out));
	const char *cursor = json_string_value(json_object_get(body, "next_cursor"));
	if (cursor != NULL)
		fprintf(ctl->err, "(more: --cursor %s)\n", cursor);
	ctl_table_free(t);
	json_decref(items);
	return CTL_EXIT_OK;
}

int ctl_call_show(struct ctl *ctl, const char *method, const char *path, const json_t *body)
{
	struct pc_error err;
	json_t *res = NULL;
	pc_status rc;

	if (path == NULL) {
		fprintf(ctl->err, "provisionctl: out of memory\n");
		return CTL_EXIT_API;
	}
	rc = pc_call(ctl->client, method, path, body, &res, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	if (res != NULL)
		ctl_show(ctl, res);
	else if (!ctl->json)
		fprintf(ctl->out, "ok\n");
	json_decref(res);
	return CTL_EXIT_OK;
}

int ctl_call_list(struct ctl *ctl, const char *path, const struct pc_query *q, size_t nq,
		  const char *cursor, size_t max_items, const struct ctl_col *cols, size_t ncols)
{
	struct pc_error err;
	json_t *body = NULL;
	pc_status rc;

	if (path == NULL) {
		fprintf(ctl->err, "provisionctl: out of memory\n");
		return CTL_EXIT_API;
	}
	rc = pc_list(ctl->client, path, q, nq, cursor, max_items, &body, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	ctl_show_list(ctl, body, cols, ncols);
	json_decref(body);
	return CTL_EXIT_OK;
}
