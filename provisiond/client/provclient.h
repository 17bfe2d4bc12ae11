/*
 * provclient — C client library for the provisiond HTTP API (docs/api.md).
 *
 * Link: static library `provclient` (libcurl + jansson); installed by the
 * package libprovclient-dev: `pkg-config --cflags --libs provclient`. Prefix `pc_`.
 *
 * Conventions for every function below:
 *  - Return a pc_status: PC_OK on success (HTTP 2xx), otherwise the kind of
 *    failure, with details in the caller's `struct pc_error` (which may be
 *    NULL when the caller does not care). `err` is always fully written:
 *    on success its kind is PC_OK and the request id is filled in.
 *  - `json_t **out` results are NEW references owned by the caller
 *    (json_decref). On failure `*out` is set to NULL. `out` may be NULL
 *    when the caller does not need the body.
 *  - String arguments are borrowed for the duration of the call only.
 *  - Identifiers passed as arguments (machine ids or names, image names,
 *    owners, SKUs) are percent-encoded into the path by the library.
 *  - Thread-safety: a pc_client keeps one libcurl handle (for connection
 *    reuse) and is NOT safe to use from two threads at once; use one client
 *    per thread. Distinct clients may be used concurrently. Library-global
 *    libcurl initialisation is done once, thread-safely, by pc_client_new.
 *  - Secrets: the token and request bodies (which may hold BMC passwords)
 *    are never written to the trace stream nor copied into pc_error.
 */
#ifndef PROVCLIENT_H
#define PROVCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define PC_VERSION "0.1.0"
#define PC_DEFAULT_URL "http://127.0.0.1:7480"
#define PC_DEFAULT_TIMEOUT_MS 30000L

typedef enum pc_status {
	PC_OK = 0,
	PC_E_INVALID,	/* bad argument from the caller; nothing was sent */
	PC_E_NOMEM,	/* allocation failed */
	PC_E_TRANSPORT, /* connect/TLS/timeout/reset: no HTTP answer */
	PC_E_PROTOCOL,	/* 2xx answer whose body is not the JSON expected */
	PC_E_API,	/* non-2xx answer; code/message/field from the server */
} pc_status;

/* Stable lower-case name of a status ("ok", "api", "transport", ...). */
const char *pc_status_name(pc_status s);

#define PC_ERR_CODE_MAX 64
#define PC_ERR_MSG_MAX 512
#define PC_ERR_FIELD_MAX 128
#define PC_REQUEST_ID_MAX 128

/* Error details. Plain value type with fixed buffers: nothing to free.
 * Strings are always NUL-terminated (possibly truncated, possibly empty). */
struct pc_error {
	pc_status kind;
	long http_status;		    /* 0 when no HTTP answer arrived */
	char code[PC_ERR_CODE_MAX];	    /* server's error.code, or "http_NNN" */
	char message[PC_ERR_MSG_MAX];	    /* server's message or transport text */
	char field[PC_ERR_FIELD_MAX];	    /* server's error.field, "" if none */
	char request_id[PC_REQUEST_ID_MAX]; /* X-Request-Id of the answer */
	long retry_after_s;		    /* Retry-After in seconds, -1 if none */
};

/* Reset to kind PC_OK, empty strings, retry_after_s -1. Accepts NULL. */
void pc_error_clear(struct pc_error *err);

/* Parse a server error body {"error":{"code","message","field"}} of `len`
 * bytes into err (kind PC_E_API, http_status = status). A body that is not
 * that shape still yields PC_E_API with code "http_<status>" and a message
 * naming the status. Never fails; err must not be NULL. */
void pc_error_from_body(struct pc_error *err, long status, const char *body, size_t len);

/* ---- client object ---------------------------------------------------- */

typedef struct pc_client pc_client;

/* Allocates a client for base_url (http:// or https://; trailing '/' is
 * dropped; NULL means PC_DEFAULT_URL) and bearer token (NULL or "" sends no
 * Authorization header). Token must not contain CR/LF. Returns NULL on
 * failure with err filled (PC_E_INVALID or PC_E_NOMEM). Free with
 * pc_client_free. */
pc_client *pc_client_new(const char *base_url, const char *token, struct pc_error *err);

/* Frees the client and wipes the token copy. Accepts NULL. */
void pc_client_free(pc_client *c);

/* Whole-request timeout in milliseconds (default PC_DEFAULT_TIMEOUT_MS);
 * long-polls add their wait time on top. Values <= 0 restore the default. */
void pc_client_set_timeout(pc_client *c, long timeout_ms);

/* X-Request-Id sent with every following request (copied; NULL or "" to
 * stop sending one). Returns PC_E_INVALID if it contains CR/LF or is too
 * long (PC_REQUEST_ID_MAX - 1 bytes). */
pc_status pc_client_set_request_id(pc_client *c, const char *request_id);

/* One line per request to `trace` (method, URL, status, request id, time);
 * never headers or bodies. NULL turns tracing off. The FILE is borrowed. */
void pc_client_set_trace(pc_client *c, FILE *trace);

/* Base URL in use (owned by the client, valid until pc_client_free). */
const char *pc_client_base_url(const pc_client *c);

/* ---- generic request -------------------------------------------------- */

/* Query parameter; entries whose value is NULL are skipped. Both key and
 * value are percent-encoded by the library. */
struct pc_query {
	const char *key;
	const char *value;
};

/* Extra request header, e.g. {"Idempotency-Key", "k1"}. Entries whose
 * value is NULL are skipped; CR/LF in a name or value is PC_E_INVALID. */
struct pc_header {
	const char *name;
	const char *value;
};

struct pc_request {
	const char *method;	      /* "GET", "POST", ... */
	const char *path;	      /* already encoded; see pc_path_new */
	const struct pc_query *query; /* may be NULL */
	size_t nquery;
	const struct pc_header *headers; /* may be NULL */
	size_t nheaders;
	const json_t *body;    /* borrowed; NULL sends no body */
	long extra_timeout_ms; /* added to the client timeout */
};

/* What came back. Owned by the caller: release with pc_response_clear. */
struct pc_response {
	long status; /* HTTP status, 0 if none */
	char *text;  /* raw body, NUL-terminated, or NULL */
	size_t text_len;
	json_t *json;			    /* parsed body if it was JSON, else NULL */
	char request_id[PC_REQUEST_ID_MAX]; /* X-Request-Id ("" if absent) */
	long retry_after_s;		    /* Retry-After seconds, -1 if absent */
	bool idempotent_replayed;	    /* Idempotent-Replayed: true (a replay) */
};

/* Frees text and json and zeroes the struct. Accepts NULL. */
void pc_response_clear(struct pc_response *resp);

/* Performs one HTTP request. `resp` may be NULL. On return `resp` holds
 * whatever answer arrived, also for non-2xx answers (its json is then the
 * error body). A 2xx body that declares JSON but does not parse is
 * PC_E_PROTOCOL. Non-2xx is PC_E_API with err filled from the error body. */
pc_status pc_request(pc_client *c, const struct pc_request *req, struct pc_response *resp,
		     struct pc_error *err);

/* Shorthand for pc_request without query/headers: *out receives the parsed
 * JSON body (NULL for an empty body such as 204). */
pc_status pc_call(pc_client *c, const char *method, const char *path, const json_t *body,
		  json_t **out, struct pc_error *err);

/* GETs a list endpoint and follows next_cursor until the end or until
 * max_items items were gathered (0 = no cap). Accepts the list shape
 * {"items":[…],"next_cursor":…} (or a bare array). *out is a new object
 * {"items":[all items],"next_cursor":C} where C is the cursor to continue
 * from when stopped by max_items, else null. `query` must not contain
 * "cursor" or "limit" (pass start_cursor / max_items instead). */
pc_status pc_list(pc_client *c, const char *path, const struct pc_query *query, size_t nquery,
		  const char *start_cursor, size_t max_items, json_t **out, struct pc_error *err);

/* ---- encoding helpers ------------------------------------------------- */

/* Percent-encodes everything except RFC 3986 unreserved characters
 * (A-Z a-z 0-9 - . _ ~). Returns a malloc'd string (caller frees) or NULL
 * on allocation failure. */
char *pc_url_encode(const char *s);

/* Ends the segment list of pc_path_new (a typed null pointer, as a
 * variadic sentinel must be). */
#define PC_END ((const char *)NULL)

/* Builds "prefix/seg1/seg2..." where each segment is percent-encoded ("."
 * and ".." too) and the prefix is used as-is. The list ends with PC_END.
 * Returns a malloc'd string (caller frees), or NULL if a segment is empty
 * or memory ran out.
 * Example: pc_path_new("/v1/machines", "r12 u7", "events", PC_END). */
char *pc_path_new(const char *prefix, ...) __attribute__((sentinel));

/* ---- typed calls (docs/api.md) ----------------------------------------- */

/* GET /healthz (ready=false) or /readyz (ready=true). *text receives the
 * malloc'd body text (caller frees; may be NULL). */
pc_status pc_health(pc_client *c, bool ready, char **text, struct pc_error *err);

struct pc_machine_filter {
	const char *state; /* each NULL = no filter */
	const char *sku;
	const char *owner;
	const char *site;
	const char *rack;
	const char *cursor; /* start cursor, NULL = from the beginning */
	size_t max_items;   /* 0 = all pages */
};

pc_status pc_machine_enroll(pc_client *c, const json_t *body, json_t **out, struct pc_error *err);
/* `f` may be NULL. *out has the pc_list shape. */
pc_status pc_machine_list(pc_client *c, const struct pc_machine_filter *f, json_t **out,
			  struct pc_error *err);
pc_status pc_machine_get(pc_client *c, const char *id_or_name, json_t **out, struct pc_error *err);
pc_status pc_machine_patch(pc_client *c, const char *id, const json_t *patch, json_t **out,
			   struct pc_error *err);
/* action: inspect|clean|power_on|power_off|reboot|repair|retire|
 * maintenance_on|maintenance_off (not checked here); reason may be NULL. */
pc_status pc_machine_action(pc_client *c, const char *id, const char *action, const char *reason,
			    json_t **out, struct pc_error *err);
/* All events of a machine (pages followed); *out has the pc_list shape. */
pc_status pc_machine_events(pc_client *c, const char *id, json_t **out, struct pc_error *err);
/* DELETE /v1/machines/{id}: machines enrolled and never allocated, failed
 * or retired; PC_E_API (409 conflict) otherwise. */
pc_status pc_machine_delete(pc_client *c, const char *id, struct pc_error *err);

/* GET /v1/machines/{id}/console: the machine's serial console as text,
 * {"machine","start","end","data","truncated","capturing"}. after >= 0 asks
 * for the bytes after that stream offset (the `end` of the previous answer),
 * after < 0 for all the server keeps; wait_s > 0 long-polls until new bytes
 * come or wait_s passes. */
pc_status pc_machine_console(pc_client *c, const char *id, long long after, long wait_s,
			     json_t **out, struct pc_error *err);

/* GET/PUT /v1/machines/{id}/power; action: on|off|cycle|reset|soft. */
pc_status pc_power_get(pc_client *c, const char *id, json_t **out, struct pc_error *err);
pc_status pc_power_set(pc_client *c, const char *id, const char *action, json_t **out,
		       struct pc_error *err);
/* The same; force powers off or cycles a machine serving an allocation
 * (refused with 409 otherwise). */
pc_status pc_power_set_force(pc_client *c, const char *id, const char *action, bool force,
			     json_t **out, struct pc_error *err);
/* PUT /v1/machines/{id}/bootdev; device: pxe|disk|cd. */
pc_status pc_bootdev_set(pc_client *c, const char *id, const char *device, bool persistent,
			 json_t **out, struct pc_error *err);

struct pc_alloc_spec {
	const char *sku;	     /* required */
	long count;		     /* required, > 0 */
	long min_count;		     /* 0 = not sent (server default: count) */
	const char *image;	     /* required */
	const char *name;	     /* NULL = not sent */
	const char *const *ssh_keys; /* n_ssh_keys entries; may be NULL */
	size_t n_ssh_keys;
	const char *user_data;	     /* cloud-init user data text; NULL = not sent */
	const char *idempotency_key; /* sent as Idempotency-Key; NULL = none */
	const char *spread_across;   /* "rack" or "site": sent as spread.across; NULL = none */
	const char *spread_mode;     /* "strict" or "best_effort"; NULL = server default
				      * (strict); only sent with spread_across */
	/* A static network, sent when n_addresses > 0 (else DHCP, nothing
	 * sent): one address with its prefix length per machine, in order;
	 * gateway (NULL = none) and nameservers as the server takes them. */
	const char *const *addresses;
	size_t n_addresses;
	const char *gateway;
	const char *const *nameservers;
	size_t n_nameservers;
};

pc_status pc_alloc_create(pc_client *c, const struct pc_alloc_spec *spec, json_t **out,
			  struct pc_error *err);
/* The same; *replayed (may be NULL) tells whether the server answered an
 * Idempotency-Key it had seen with the allocation it made then (header
 * Idempotent-Replayed: true) rather than a new one. */
pc_status pc_alloc_create_ex(pc_client *c, const struct pc_alloc_spec *spec, json_t **out,
			     bool *replayed, struct pc_error *err);
/* wait_s > 0 long-polls (?wait=) until the state changes or wait_s passes. */
pc_status pc_alloc_get(pc_client *c, const char *id, long wait_s, json_t **out,
		       struct pc_error *err);
/* Repeats long-polls until the allocation leaves deploying/releasing or
 * total_s seconds pass (then PC_OK with the last state seen: the caller
 * checks "state"). A 429 answer is retried after Retry-After. */
pc_status pc_alloc_wait(pc_client *c, const char *id, long total_s, json_t **out,
			struct pc_error *err);
/* pc_alloc_wait that calls progress(ctx, alloc) with every answer it reads
 * (alloc borrowed for the call). With a progress function the long-polls
 * ask to be answered also when one of the machines changes state
 * (&watch=machines). progress may be NULL. */
pc_status pc_alloc_wait_progress(pc_client *c, const char *id, long total_s,
				 void (*progress)(void *ctx, const json_t *alloc), void *ctx,
				 json_t **out, struct pc_error *err);
/* Lists follow every page; *out has the pc_list shape. */
pc_status pc_alloc_list(pc_client *c, json_t **out, struct pc_error *err);

struct pc_alloc_filter {
	const char *state; /* each NULL = no filter */
	const char *owner;
	const char *cursor; /* start cursor, NULL = from the beginning */
	size_t max_items;   /* 0 = all pages */
};
/* GET /v1/allocations with filters (f may be NULL); *out has the pc_list
 * shape. */
pc_status pc_alloc_list_filter(pc_client *c, const struct pc_alloc_filter *f, json_t **out,
			       struct pc_error *err);
pc_status pc_alloc_release(pc_client *c, const char *id, json_t **out, struct pc_error *err);

/* Staged image rollouts (docs/allocations.md, "Staged rollouts"). */
struct pc_rebuild_spec {
	const char *image;	  /* required */
	const char *const *waves; /* "1", "10%", ...: machines on the new image in total */
	size_t nwaves;		  /* at least 1 */
	long max_failures;	  /* < 0: not sent (the server's default, 0) */
};
/* POST /v1/allocations/{id}/rebuild: *out gets the rollout (202). */
pc_status pc_alloc_rebuild(pc_client *c, const char *id, const struct pc_rebuild_spec *spec,
			   json_t **out, struct pc_error *err);
/* GET /v1/allocations/{id}/rebuild: the latest rollout, per wave. */
pc_status pc_alloc_rebuild_get(pc_client *c, const char *id, json_t **out, struct pc_error *err);
/* POST /v1/allocations/{id}/rebuild/cancel: *out gets the rollout. */
pc_status pc_alloc_rebuild_cancel(pc_client *c, const char *id, json_t **out, struct pc_error *err);

/* POST /v1/tokens. role: admin|tech|service; owner and name may be NULL.
 * *out holds the secret ("token"): it is shown once, handle with care. */
pc_status pc_token_create(pc_client *c, const char *role, const char *owner, const char *name,
			  json_t **out, struct pc_error *err);
pc_status pc_token_list(pc_client *c, json_t **out, struct pc_error *err);
pc_status pc_token_delete(pc_client *c, const char *id, struct pc_error *err);

#endif /* PROVCLIENT_H */
