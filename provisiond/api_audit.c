/* api_audit.c - /v1/audit: who changed what configuration, when, from what
 * to what. */
#include "provisiond/routes.h"

#include <stdio.h>
#include <string.h>

static json_t *raw_json(const char *s)
{
	json_t *v = s ? json_loads(s, 0, NULL) : NULL;
	return v ? v : s ? json_string(s) : json_null();
}

static json_t *audit_json(const struct inv_audit *x)
{
	return json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "seq", (json_int_t)x->seq,
			 "at", api_time(x->at), "actor", x->actor, "action", x->action,
			 "target_type", x->target_type, "target_id", x->target_id, "before",
			 raw_json(x->before_json), "after", raw_json(x->after_json), "request_id",
			 x->request_id);
}

/* ?target= names a target_id; a machine may also be named by its name. */
static void resolve_target(struct api_call *c, const char *target, char id[INV_ID_LEN])
{
	struct inv_machine m = {0};
	struct inv_err e = {0};

	snprintf(id, INV_ID_LEN, "%s", "");
	if (!api_valid_uuid(target) && api_valid_name(target) &&
	    inv_machine_get(c->a->inv, target, &m, &e) == INV_OK)
		snprintf(id, INV_ID_LEN, "%s", m.id);
	inv_machine_clear(&m);
}

/* The filters of ?order= ?since= ?actor= ?action= ?target=; false with
 * the response set when one is not valid. */
static bool audit_filter(struct api_call *c, struct inv_audit_filter *f, char id[INV_ID_LEN])
{
	struct http_req *r = c->r;
	const char *order = http_arg(r, "order"), *since = http_arg(r, "since");

	if (!api_page(r, &f->limit, &f->cursor))
		return false;
	if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
		http_error(r, 400, "invalid_value", "order", "order must be asc or desc");
		return false;
	}
	f->newest_first = order && strcmp(order, "desc") == 0;
	if (since && util_parse_iso_time(since, &f->since) != 0) {
		http_error(r, 400, "invalid_value", "since",
			   "since must be an RFC 3339 time such as 2026-11-22T13:36:02Z");
		return false;
	}
	if (since && f->since <= 0)
		f->since = 1; /* the epoch itself or before: every row */
	f->actor = http_arg(r, "actor");
	f->action = http_arg(r, "action");
	f->target = http_arg(r, "target");
	if (f->target) {
		resolve_target(c, f->target, id);
		if (id[0])
			f->target = id;
	}
	return true;
}

void api_audit_list(struct api_call *c)
{
	struct inv_audit_filter f = {0};
	char id[INV_ID_LEN];
	if (!audit_filter(c, &f, id))
		return;
	struct inv_audit_list l = {0};
	struct inv_err e = {0};
	if (inv_audit_list(c->a->inv, &f, &l, &e) != INV_OK) {
		api_fail_inv(c->r, "audit list", &e);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(items, audit_json(&l.items[i]));
	api_json(c->r, 200, api_list(items, l.next_seq));
	inv_audit_list_clear(&l);
}
