/* api_audit.c - /v1/audit: who changed what configuration, when, from what
 * to what. */
#include "provisiond/routes.h"

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

void api_audit_list(struct api_call *c)
{
	int limit;
	int64_t after;
	if (!api_page(c->r, &limit, &after))
		return;
	struct inv_audit_list l = {0};
	struct inv_err e = {0};
	if (inv_audit_list(c->a->inv, after, limit, &l, &e) != INV_OK) {
		api_fail_inv(c->r, "audit list", &e);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(items, audit_json(&l.items[i]));
	api_json(c->r, 200, api_list(items, l.next_seq));
	inv_audit_list_clear(&l);
}
