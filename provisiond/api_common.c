/* api_common.c - roles, validation and rendering helpers. */
#include "provisiond/api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const role_names[] = {"admin", "tech", "service"};

const char *role_name(enum role r)
{
	return r == ROLE_ADMIN ? role_names[0] : r == ROLE_TECH ? role_names[1] : role_names[2];
}

int role_from_name(const char *s, enum role *out)
{
	static const enum role roles[] = {ROLE_ADMIN, ROLE_TECH, ROLE_SERVICE};
	_Static_assert(ARRAY_SIZE(roles) == ARRAY_SIZE(role_names), "role tables");
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
		if (s && strcmp(s, role_names[i]) == 0) {
			*out = roles[i];
			return 0;
		}
	return -1;
}

/* ----------------------------------------------------------- validation */

bool api_valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

bool api_valid_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-'
							      : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static const char *kind_name(enum field_kind k)
{
	static const char *const names[] = {"a string",	 "an integer", "a boolean",
					    "an object", "an array",   "a value"};
	_Static_assert(ARRAY_SIZE(names) == F_ANY + 1, "kind names");
	return names[k];
}

static bool kind_ok(json_t *v, enum field_kind k)
{
	switch (k) {
	case F_STR:
		return json_is_string(v);
	case F_INT:
		return json_is_integer(v);
	case F_BOOL:
		return json_is_boolean(v);
	case F_OBJ:
		return json_is_object(v);
	case F_ARR:
		return json_is_array(v);
	case F_ANY:
		return true;
	}
	return false;
}

static bool check_value(struct http_req *r, json_t *v, const struct field *f, const char *fname)
{
	if (!kind_ok(v, f->kind)) {
		http_error(r, 400, "invalid_type", fname, "%s must be %s", fname,
			   kind_name(f->kind));
		return false;
	}
	if (f->kind == F_INT) {
		json_int_t i = json_integer_value(v);
		if ((f->min || f->max) && (i < f->min || i > f->max)) {
			http_error(r, 400, "invalid_value", fname,
				   "%s must be between %lld and %lld", fname, f->min, f->max);
			return false;
		}
	}
	if (f->kind == F_STR) {
		const char *s = json_string_value(v);
		size_t n = strlen(s), max = f->max ? (size_t)f->max : 255;
		if (n < (size_t)f->min || n > max || strlen(s) != json_string_length(v)) {
			http_error(r, 400, "invalid_value", fname,
				   "%s must be %lld to %zu characters", fname, f->min, max);
			return false;
		}
		if (f->check && !f->check(s)) {
			http_error(r, 400, "invalid_value", fname, "%s %s", fname,
				   f->hint ? f->hint : "is not valid");
			return false;
		}
	}
	return true;
}

bool api_check_fields(struct http_req *r, json_t *obj, const char *prefix,
		      const struct field *fields, size_t n)
{
	char fname[128];
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		size_t i = 0;
		while (i < n && strcmp(fields[i].name, key) != 0)
			i++;
		snprintf(fname, sizeof fname, "%s%s", prefix, key);
		if (i == n) {
			http_error(r, 400, "unknown_field", fname, "unknown field %s", fname);
			return false;
		}
		if (!(json_is_null(v) && !fields[i].required) &&
		    !check_value(r, v, &fields[i], fname))
			return false;
	}
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(obj, fields[i].name);
		if (fields[i].required && (!v || json_is_null(v))) {
			snprintf(fname, sizeof fname, "%s%s", prefix, fields[i].name);
			http_error(r, 400, "missing_field", fname, "%s is required", fname);
			return false;
		}
	}
	return true;
}

json_t *api_body(struct http_req *r, const struct field *fields, size_t n)
{
	if (!r->body || !r->body_len) {
		http_error(r, 400, "invalid_json", NULL, "a JSON object body is required");
		return NULL;
	}
	json_error_t je;
	json_t *o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		/* jansson's text may quote the input (a password): never echo it */
		http_error(r, 400, "invalid_json", NULL, "malformed JSON at line %d column %d",
			   je.line, je.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		http_error(r, 400, "invalid_json", NULL, "the body must be a JSON object");
		return NULL;
	}
	if (!api_check_fields(r, o, "", fields, n)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ rendering */

void api_json(struct http_req *r, unsigned status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!s) {
		http_error(r, 500, "internal", NULL, "cannot render response");
		return;
	}
	http_reply(r, status, "application/json", s, strlen(s));
}

json_t *api_time(int64_t ms)
{
	if (ms <= 0)
		return json_null();
	char buf[UTIL_ISO_TIME_LEN];
	return json_string(util_iso_time(ms, buf, sizeof buf));
}

static bool parse_int_arg(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool api_page(struct http_req *r, int *limit, int64_t *after)
{
	long long v;
	const char *l = http_arg(r, "limit"), *c = http_arg(r, "cursor");
	*limit = 100;
	*after = 0;
	if (l) {
		if (!parse_int_arg(l, 1, 1000, &v)) {
			http_error(r, 400, "invalid_value", "limit", "limit must be 1..1000");
			return false;
		}
		*limit = (int)v;
	}
	if (c) {
		if (!parse_int_arg(c, 0, INT64_MAX, &v)) {
			http_error(r, 400, "invalid_value", "cursor", "cursor is not valid");
			return false;
		}
		*after = v;
	}
	return true;
}

json_t *api_list(json_t *items, int64_t next)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", (long long)next);
	return json_pack("{s:o, s:o}", "items", items, "next_cursor",
			 next ? json_string(buf) : json_null());
}

bool api_refuse_if_frozen(struct http_req *r, struct app *a)
{
	if (!atomic_load(&a->frozen))
		return false;
	atomic_fetch_add(&a->frozen_refused, 1);
	/* who froze it and why, so the caller knows whom to ask */
	char *v = NULL;
	struct inv_err e = {0};
	enum inv_status st = inv_setting_get(a->inv, "freeze", &v, &e);
	api_note_inv(r, "freeze read", st, &e);
	json_t *o = v ? json_loads(v, 0, NULL) : NULL;
	const char *by = json_string_value(json_object_get(o, "by"));
	const char *why = json_string_value(json_object_get(o, "reason"));
	snprintf(r->retry_after, sizeof r->retry_after, "%d", FREEZE_RETRY_AFTER_S);
	http_error(r, 503, "frozen", NULL,
		   "the fleet is frozen by %s (reason: %s): power and deploy actions are refused "
		   "until it is lifted with PUT /v1/freeze {\"frozen\":false}; nothing was "
		   "changed, retry later",
		   by && *by ? by : "an operator", why && *why ? why : "none given");
	json_decref(o);
	free(v);
	return true;
}
