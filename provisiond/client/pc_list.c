/* pc_call and pc_list: JSON-in/JSON-out shorthand and cursor paging. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/pc_internal.h"

/* A server that never ends a cursor chain must not hang the client. */
#define PC_MAX_PAGES 100000
/* The largest ?limit= the server takes (docs/api.md, Pagination). */
#define PC_PAGE_MAX 1000

pc_status pc_call(pc_client *c, const char *method, const char *path, const json_t *body,
		  json_t **out, struct pc_error *err)
{
	struct pc_request req = {.method = method, .path = path, .body = body};
	struct pc_response resp;
	pc_status rc;

	if (out != NULL)
		*out = NULL;
	rc = pc_request(c, &req, &resp, err);
	if (rc == PC_OK && resp.text_len > 0 && resp.json == NULL)
		rc = pc_fail(err, PC_E_PROTOCOL, "%s %s: expected a JSON body", method, path);
	if (rc == PC_OK && out != NULL) {
		*out = resp.json;
		resp.json = NULL;
	}
	pc_response_clear(&resp);
	return rc;
}

static json_t *page_items(json_t *body)
{
	if (json_is_array(body))
		return body;
	json_t *items = json_object_get(body, "items");
	return json_is_array(items) ? items : NULL;
}

/* The next cursor as a malloc'd string, or NULL at the end of the list. */
static char *page_cursor(json_t *body)
{
	json_t *cur = json_object_get(body, "next_cursor");
	char num[32];

	if (json_is_string(cur) && json_string_length(cur) > 0)
		return strdup(json_string_value(cur));
	if (json_is_integer(cur)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(cur));
		return strdup(num);
	}
	return NULL;
}

/* Fetches one page into `items`; replaces *cursor with the next one. */
static pc_status list_page(pc_client *c, struct pc_request *req, struct pc_query *q, size_t nq,
			   size_t want, json_t *items, char **cursor, struct pc_error *err)
{
	struct pc_response resp;
	char limit[32];
	pc_status rc;

	q[nq].key = "cursor";
	q[nq].value = *cursor;
	q[nq + 1].key = "limit";
	q[nq + 1].value = NULL;
	if (want > 0) {
		snprintf(limit, sizeof(limit), "%zu", want < PC_PAGE_MAX ? want : PC_PAGE_MAX);
		q[nq + 1].value = limit;
	}
	rc = pc_request(c, req, &resp, err);
	json_t *page = rc == PC_OK ? page_items(resp.json) : NULL;
	if (rc == PC_OK && page == NULL)
		rc = pc_fail(err, PC_E_PROTOCOL, "GET %s: expected {\"items\":[...]}", req->path);
	if (rc == PC_OK && json_array_extend(items, page) != 0)
		rc = pc_fail(err, PC_E_NOMEM, "out of memory gathering list items");
	if (rc == PC_OK) {
		char *next = json_is_object(resp.json) ? page_cursor(resp.json) : NULL;
		if (next != NULL && *cursor != NULL && strcmp(next, *cursor) == 0) {
			rc = pc_fail(err, PC_E_PROTOCOL, "GET %s: server repeated cursor %s",
				     req->path, next);
			free(next);
			next = NULL;
		}
		free(*cursor);
		*cursor = next;
	}
	pc_response_clear(&resp);
	return rc;
}

static json_t *list_result(json_t *items, const char *cursor)
{
	json_t *o = json_object();

	if (o == NULL || json_object_set(o, "items", items) != 0 ||
	    json_object_set_new(o, "next_cursor", cursor ? json_string(cursor) : json_null()) !=
		0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

pc_status pc_list(pc_client *c, const char *path, const struct pc_query *query, size_t nquery,
		  const char *start_cursor, size_t max_items, json_t **out, struct pc_error *err)
{
	struct pc_query *q = calloc(nquery + 2, sizeof(*q));
	struct pc_request req = {.method = "GET", .path = path, .query = q, .nquery = nquery + 2};
	json_t *items = json_array();
	char *cursor = start_cursor ? strdup(start_cursor) : NULL;
	pc_status rc = PC_OK;

	*out = NULL;
	pc_error_clear(err);
	if (q == NULL || items == NULL || (start_cursor != NULL && cursor == NULL))
		rc = pc_fail(err, PC_E_NOMEM, "out of memory");
	if (rc == PC_OK && nquery > 0)
		memcpy(q, query, nquery * sizeof(*q));
	for (int page = 0; rc == PC_OK; page++) {
		size_t have = json_array_size(items);
		if (max_items > 0 && have >= max_items)
			break;
		if (page >= PC_MAX_PAGES) {
			rc = pc_fail(err, PC_E_PROTOCOL, "GET %s: more than %d pages", path,
				     PC_MAX_PAGES);
			break;
		}
		rc = list_page(c, &req, q, nquery, max_items ? max_items - have : 0, items, &cursor,
			       err);
		if (cursor == NULL)
			break;
	}
	if (rc == PC_OK && (*out = list_result(items, cursor)) == NULL)
		rc = pc_fail(err, PC_E_NOMEM, "out of memory");
	json_decref(items);
	free(cursor);
	free(q);
	return rc;
}
