/* api_common.c - authentication, validation and rendering helpers. */
#include "provisiond/api.h"

#include <ctype.h>
#include <openssl/crypto.h>
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
	_Static_assert(sizeof roles / sizeof roles[0] == sizeof role_names / sizeof role_names[0],
		       "role tables");
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (s && strcmp(s, role_names[i]) == 0) {
			*out = roles[i];
			return 0;
		}
	return -1;
}

const struct principal *api_auth(struct http_req *r, struct app *a, unsigned allowed)
{
	const char *h = r->authorization;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		atomic_fetch_add(&a->auth_failures, 1);
		http_error(r, 401, "unauthorized", NULL, "missing bearer token");
		return NULL;
	}
	char hash[65];
	tok_hash(h + 7, hash);
	struct inv_token t;
	struct inv_err e = {0};
	enum role role;
	if (inv_token_by_hash(a->inv, hash, &t, &e) != INV_OK ||
	    CRYPTO_memcmp(t.hash, hash, 64) != 0 || role_from_name(t.role, &role) != 0) {
		atomic_fetch_add(&a->auth_failures, 1);
		http_error(r, 401, "unauthorized", NULL, "invalid token");
		return NULL;
	}
	struct principal *p = calloc(1, sizeof *p);
	if (!p) {
		http_error(r, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	p->role = role;
	snprintf(p->owner, sizeof p->owner, "%s", t.owner);
	snprintf(p->token_id, sizeof p->token_id, "%s", t.id);
	snprintf(p->actor, sizeof p->actor, "%s:%s", t.role, t.name[0] ? t.name : t.id);
	free(r->principal);
	r->principal = p;
	if (!(allowed & role)) {
		http_error(r, 403, "forbidden", NULL, "role %s may not %s %s", t.role, r->method,
			   r->route ? r->route->pattern : r->path);
		return NULL;
	}
	return p;
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

bool api_valid_mac(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
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

void api_canonical_mac(const char *in, char out[18])
{
	for (int i = 0; i < 17; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[17] = 0;
}

static const char *kind_name(enum field_kind k)
{
	static const char *const names[] = {"a string",	 "an integer", "a boolean",
					    "an object", "an array",   "a value"};
	_Static_assert(sizeof names / sizeof names[0] == F_ANY + 1, "kind names");
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

void api_inv_error(struct http_req *r, const struct inv_err *e)
{
	static const struct {
		unsigned status;
		const char *code;
	} map[] = {
	    [INV_OK] = {500, "internal"},
	    [INV_NOT_FOUND] = {404, "not_found"},
	    [INV_CONFLICT] = {409, "conflict"},
	    [INV_DUPLICATE] = {409, "already_exists"},
	    [INV_INVALID] = {400, "invalid_value"},
	    [INV_CAPACITY] = {409, "insufficient_capacity"},
	    [INV_QUOTA] = {403, "quota_exceeded"},
	    [INV_IO] = {503, "storage_unavailable"},
	    [INV_CORRUPT] = {500, "storage_corrupt"},
	    [INV_SCHEMA_NEWER] = {500, "storage_schema"},
	};
	_Static_assert(sizeof map / sizeof map[0] == INV_SCHEMA_NEWER + 1, "inv error map");
	unsigned s = (unsigned)e->status < sizeof map / sizeof map[0] ? e->status : INV_IO;
	http_error(r, map[s].status, map[s].code, e->field, "%s", e->message);
	if (map[s].status == 503)
		snprintf(r->retry_after, sizeof r->retry_after, "1");
}

json_t *api_time(int64_t ms)
{
	if (ms <= 0)
		return json_null();
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char buf[40];
	size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms % 1000));
	return json_string(buf);
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
	http_error(r, 503, "frozen", NULL,
		   "the fleet is frozen: power and deploy actions are stopped (PUT /v1/freeze)");
	return true;
}
