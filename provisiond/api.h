/* api.h - helpers shared by the management API handlers (api_*.c).
 *
 * Handlers run on HTTP workers (or inline for cheap reads). Each one
 * authenticates with api_auth(), validates its body with api_body() and
 * the field tables, and answers with api_json()/http_error(). Helpers that
 * fail have already set the response: the handler just returns. */
#ifndef PROVISIOND_API_H
#define PROVISIOND_API_H

#include "inventory/inventory.h"
#include "provisiond/app.h"
#include "provisiond/http.h"
#include "provisiond/tokens.h"

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

/* Authenticates the bearer token and checks its role against allowed.
 * On failure sets 401/403 and returns NULL. */
const struct principal *api_auth(struct http_req *r, struct app *a, unsigned allowed);

/* Field validation. */
enum field_kind { F_STR, F_INT, F_BOOL, F_OBJ, F_ARR, F_ANY };
struct field {
	const char *name;
	enum field_kind kind;
	bool required;
	long long min, max;	      /* F_INT range; F_STR length range (max 0 = 255) */
	bool (*check)(const char *s); /* F_STR extra check */
	const char *hint;	      /* "must be ..." text for check failures */
};
/* Parses the body as a JSON object and checks it against fields (unknown
 * keys rejected). prefix names nested objects in errors ("bmc."). Returns
 * a new reference or NULL with a 400 set. */
json_t *api_body(struct http_req *r, const struct field *fields, size_t n);
bool api_check_fields(struct http_req *r, json_t *obj, const char *prefix,
		      const struct field *fields, size_t n);

bool api_valid_name(const char *s); /* [A-Za-z0-9][A-Za-z0-9._-]{0,62} */
bool api_valid_mac(const char *s);  /* aa:bb:cc:dd:ee:ff, any case */
bool api_valid_uuid(const char *s);
void api_canonical_mac(const char *in, char out[18]);

/* Replies with status and the JSON (steals the reference). */
void api_json(struct http_req *r, unsigned status, json_t *body);
/* Maps an inventory error to the right status and error body. */
void api_inv_error(struct http_req *r, const struct inv_err *e);
/* RFC 3339 UTC time or JSON null for 0. */
json_t *api_time(int64_t ms);

/* Pagination: ?limit= (1..1000) and ?cursor=. false with 400 set. */
bool api_page(struct http_req *r, int *limit, int64_t *after);
json_t *api_list(json_t *items, int64_t next);

/* Renderings shared by several handlers. */
json_t *api_machine_json(const struct inv_machine *m, bool detail);
json_t *api_allocation_json(struct app *a, const struct inv_allocation *al);

/* The fleet freeze (big red switch): 503 set and true when frozen. */
bool api_refuse_if_frozen(struct http_req *r, struct app *a);

#endif
