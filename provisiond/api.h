/* api.h - helpers shared by the API handlers (api_*.c) and dispatch.
 *
 * Handlers run on HTTP workers (or inline for cheap reads) after
 * api_dispatch() (routes.h) authenticated the caller and validated the
 * body. They answer with api_json()/http_error(), and report a failed
 * inventory call with api_fail_inv() (which logs it with the request id).
 * Helpers that fail have already set the response: the handler just
 * returns. */
#ifndef PROVISIOND_API_H
#define PROVISIOND_API_H

#include "inventory/inventory.h"
#include "provisiond/app.h"
#include "provisiond/http.h"
#include "provisiond/tokens.h"
#include "util/util.h"

#include <jansson.h>
#include <stdbool.h>

enum role { ROLE_ADMIN = 1, ROLE_TECH = 2, ROLE_SERVICE = 4 };
#define ROLES_ALL (ROLE_ADMIN | ROLE_TECH | ROLE_SERVICE)
#define ROLES_STAFF (ROLE_ADMIN | ROLE_TECH)

struct principal {
	enum role role;
	char owner[64];
	char token_id[INV_ID_LEN];
	char actor[128]; /* "role:name" for events and audit */
};

const char *role_name(enum role r);
int role_from_name(const char *s, enum role *out);

/* The machine a boot-plane token of kind ("boot", "session", "instance")
 * belongs to, without using it up; 401 set otherwise (503 when the
 * inventory cannot answer). */
bool api_boot_token_machine(struct http_req *r, struct app *a, const char *kind,
			    char mid[INV_ID_LEN]);

/* Field validation. */
enum field_kind { F_STR, F_INT, F_BOOL, F_OBJ, F_ARR, F_ANY };
struct field {
	const char *name;
	enum field_kind kind;
	bool required;
	long long min, max;	      /* F_INT range; F_STR length range (max 0 = 255) */
	bool (*check)(const char *s); /* F_STR extra check */
	const char *hint;	      /* "must be ..." text for check failures */
	const struct field *sub;      /* F_OBJ: its members, for the API's documentation */
	size_t nsub;
	const char *schema; /* the OpenAPI document: a components/schemas name
			     * that says it better (an enumeration), or NULL */
};
/* Parses the body as a JSON object and checks it against fields (unknown
 * keys rejected). Returns a new reference or NULL with a 400 set.
 * api_check_fields checks an object already parsed; prefix names nested
 * objects in errors ("bmc."). */
json_t *api_body(struct http_req *r, const struct field *fields, size_t n);
bool api_check_fields(struct http_req *r, json_t *obj, const char *prefix,
		      const struct field *fields, size_t n);

bool api_valid_name(const char *s); /* [A-Za-z0-9][A-Za-z0-9._-]{0,62} */
/* A field whose value is a name (machines, images, owners, SKUs, ...). */
#define API_NAME_FIELD(n, req, hint_text)                                                          \
	{                                                                                          \
		.name = (n), .kind = F_STR, .required = (req), .min = 1, .max = 63,                \
		.check = api_valid_name, .hint = (hint_text)                                       \
	}
bool api_valid_uuid(const char *s);

/* Replies with status and the JSON (steals the reference). */
void api_json(struct http_req *r, unsigned status, json_t *body);
/* Fails the request with the status and error body an inventory error
 * maps to; server-side failures (5xx) are logged with the request id and
 * `what` (the call that failed). */
void api_fail_inv(struct http_req *r, const char *what, const struct inv_err *e);
/* For a best-effort inventory call whose failure must not fail the request
 * (e.g. recording when an agent was last seen): logs it when st != INV_OK. */
void api_note_inv(const struct http_req *r, const char *what, enum inv_status st,
		  const struct inv_err *e);
/* Fails the request with status and the shared error shape's field and
 * message; 5xx are logged with `what`. */
void api_fail(struct http_req *r, unsigned status, const char *what, const struct err *e);
/* RFC 3339 UTC time or JSON null for 0. */
json_t *api_time(int64_t ms);

/* Pagination: ?limit= (1..1000) and ?cursor=. false with 400 set. */
bool api_page(struct http_req *r, int *limit, int64_t *after);
json_t *api_list(json_t *items, int64_t next);

/* Renderings shared by several handlers. */
json_t *api_machine_json(const struct inv_machine *m, bool detail);
json_t *api_allocation_json(struct app *a, const struct inv_allocation *al);

/* An allocation's "network" (api_network.c). api_network_parse checks
 * body's "network" for an allocation of count machines: absent, null or
 * mode dhcp leave *out empty (json NULL); mode static fills it with the
 * canonical configuration (json, stored as is) and count addresses
 * (cidrs "10.0.0.5/24", ips "10.0.0.5"). false with a 400 naming the
 * field. api_network_clear frees (accepts an empty one). api_network_json
 * renders a stored configuration (NULL: {"mode":"dhcp"}); new reference. */
#define API_NETWORK_NFIELDS 4
extern const struct field network_fields[API_NETWORK_NFIELDS];
struct api_network {
	char *json;
	char **cidrs, **ips;
	int n;
};
bool api_network_parse(struct http_req *r, json_t *body, int count, struct api_network *out);
void api_network_clear(struct api_network *n);
json_t *api_network_json(const char *network_json);

/* The fleet freeze (big red switch): 503 frozen, naming who froze it and
 * why, with Retry-After: FREEZE_RETRY_AFTER_S, and true when frozen. */
#define FREEZE_RETRY_AFTER_S 60
bool api_refuse_if_frozen(struct http_req *r, struct app *a);

#endif
