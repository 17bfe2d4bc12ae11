/* api_agent.c - the deploy agent's calls on the boot listener. */
#include "images/agent/protocol.h"
#include "provisiond/api_routes.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "provisiond/log.h"
#include "provisiond/macs.h"
#include "skus/sku.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_TTL_MS (24LL * 3600 * 1000)
_Static_assert(AGENT_MAX_LOOKUP_MACS <= INV_MAX_MACS, "a lookup's MACs fit a machine");
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The machine a boot-plane token of kind belongs to; 401 set otherwise. */
static bool token_machine(struct http_req *r, struct app *a, const char *kind, bool consume,
			  char mid[INV_ID_LEN])
{
	const char *h = r->authorization;
	struct inv_err e = {0};
	char hash[65];
	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		http_error(r, 401, "unauthorized", NULL, "missing %s token", kind);
		return false;
	}
	tok_hash(h + 7, hash);
	if (inv_boot_token_take(a->inv, hash, kind, consume, mid, &e) != INV_OK) {
		atomic_fetch_add(&a->auth_failures, 1);
		http_error(r, 401, "unauthorized", NULL, "%s token unknown, used or expired", kind);
		return false;
	}
	return true;
}

/* Uses up a one-time token once the call it authorizes is sure to succeed
 * (a refused call leaves it valid); of two racing uses one wins. */
static bool consume_token(struct http_req *r, struct app *a, const char *kind)
{
	char hash[65], mid[INV_ID_LEN];
	struct inv_err e = {0};
	tok_hash(r->authorization + 7, hash);
	if (inv_boot_token_take(a->inv, hash, kind, true, mid, &e) == INV_OK)
		return true;
	http_error(r, 401, "unauthorized", NULL, "%s token already used", kind);
	return false;
}

static bool has_mac(const struct inv_machine *m, const char *mac)
{
	for (int i = 0; i < m->nmacs; i++)
		if (strcmp(m->macs[i], mac) == 0)
			return true;
	return false;
}

/* Validated, canonical MACs of a lookup body. */
static int body_macs(struct http_req *r, json_t *body, char macs[INV_MAX_MACS][18])
{
	struct err e = {0};
	int n;
	if (mac_list_parse(json_object_get(body, AGENT_LOOKUP_MACS), AGENT_LOOKUP_MACS, 1,
			   AGENT_MAX_LOOKUP_MACS, macs, &n, &e) == ERR_OK)
		return n;
	http_error(r, 400, "invalid_value", e.field, "%s", e.message);
	return -1;
}

/* Discovery: the machine with one of these MACs, created if none has. */
static bool discover(struct http_req *r, struct app *a, char macs[][18], int n,
		     struct inv_machine *m)
{
	struct inv_err e = {0};
	for (int attempt = 0; attempt < 3; attempt++) {
		for (int i = 0; i < n; i++)
			if (inv_machine_get_by_mac(a->inv, macs[i], m, &e) == INV_OK)
				return true;
		char name[64];
		snprintf(name, sizeof name, "disc-%.2s%.2s%.2s%.2s%.2s%.2s", macs[0], macs[0] + 3,
			 macs[0] + 6, macs[0] + 9, macs[0] + 12, macs[0] + 15);
		struct inv_machine_new nm = {.name = name,
					     .nmacs = n,
					     .actor = "discovery",
					     .request_id = r->request_id,
					     .location = {.unit = -1},
					     .audit_after_json = "{\"discovered\":true}"};
		for (int i = 0; i < n; i++)
			nm.macs[i] = macs[i];
		if (inv_machine_create(a->inv, &nm, m, &e) == INV_OK) {
			log_event(LOG_INFO, "machine discovered", "machine", m->id, "mac", macs[0],
				  NULL);
			return true;
		}
		if (e.status != INV_DUPLICATE) /* a racing lookup created it: look again */
			break;
	}
	api_inv_error(r, &e);
	return false;
}

static const struct field lookup_fields[] = {{AGENT_LOOKUP_MACS, F_ARR, true, 0, 0, NULL, NULL}};

/* Resolves the caller to a machine: by boot token, or by discovery. */
static bool lookup_machine(struct http_req *r, struct app *a, char macs[][18], int n,
			   struct inv_machine *m)
{
	struct inv_err e = {0};
	char mid[INV_ID_LEN];
	if (r->authorization) {
		if (!token_machine(r, a, "boot", false, mid))
			return false;
		if (inv_machine_get(a->inv, mid, m, &e) != INV_OK)
			return api_inv_error(r, &e), false;
		for (int i = 0; i < n; i++)
			if (has_mac(m, macs[i]))
				return consume_token(r, a, "boot");
		http_error(r, 401, "unauthorized", AGENT_LOOKUP_MACS,
			   "the boot token belongs to another machine");
		return false;
	}
	if (strcmp(a->cfg.unknown_mac_policy, "discover") != 0) {
		http_error(r, 403, "discovery_disabled", NULL, "discovery of unknown MACs is off");
		return false;
	}
	if (!discover(r, a, macs, n, m))
		return false;
	if (m->has_bmc) {
		http_error(r, 401, "unauthorized", NULL,
			   "this MAC belongs to a managed machine: it boots with a token from "
			   "provisiond");
		return false;
	}
	return true;
}

void agent_lookup(struct http_req *r, void *app)
{
	struct app *a = app;
	json_t *body = api_body(r, lookup_fields, N(lookup_fields));
	char macs[INV_MAX_MACS][18], secret[80], hash[65];
	struct inv_machine m = {0};
	struct inv_err e = {0};
	int n;
	if (!body || (n = body_macs(r, body, macs)) < 0 || !lookup_machine(r, a, macs, n, &m)) {
		inv_machine_clear(&m);
		json_decref(body);
		return;
	}
	inv_boot_token_revoke(a->inv, m.id, "session", &e);
	if (tok_new_secret(secret, sizeof secret) != 0 || (tok_hash(secret, hash), 0) ||
	    inv_boot_token_add(a->inv, hash, m.id, "session", inv_now_ms() + SESSION_TTL_MS, &e) !=
		INV_OK) {
		http_error(r, 503, "storage_unavailable", NULL, "cannot issue a session token");
	} else {
		inv_machine_agent_seen(a->inv, m.id, inv_now_ms(), &e);
		inv_command_requeue(a->inv, m.id, &e);
		if (r->client_ip[0])
			inv_machine_set_ip(a->inv, m.id, r->client_ip, &e);
		api_json(r, 200,
			 json_pack(
			     "{s:s, s:s, s:s, s:i, s:s}", AGENT_LOOKUP_MACHINE_ID, m.id,
			     AGENT_LOOKUP_NAME, m.name, AGENT_LOOKUP_TOKEN, secret,
			     AGENT_LOOKUP_HEARTBEAT_S, AGENT_HEARTBEAT_DEFAULT_S, AGENT_LOOKUP_MODE,
			     r->authorization ? AGENT_MODE_NAME_AGENT : AGENT_MODE_NAME_DISCOVER));
	}
	inv_machine_clear(&m);
	json_decref(body);
}

/* Stores reported facts (compare-and-swap, retried on a racing change).
 * A machine without BMC access (discovered) also gets its SKU. */
static bool store_facts(struct app *a, const char *mid, const char *facts, const char *sku,
			const char *rid, struct inv_err *e)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		struct inv_machine m = {0};
		if (inv_machine_get(a->inv, mid, &m, e) != INV_OK)
			return false;
		struct inv_machine_change c = {.expect_version = m.version,
					       .set_facts = true,
					       .facts_json = facts,
					       .actor = "agent",
					       .request_id = rid};
		if (!m.has_bmc && sku) {
			c.set_sku = true;
			c.sku = sku;
			c.always_event = true;
			c.reason = "discovered: facts reported by the agent";
		}
		enum inv_status s = inv_machine_change(a->inv, mid, &c, NULL, e);
		inv_machine_clear(&m);
		if (s != INV_CONFLICT)
			return s == INV_OK;
	}
	return false;
}

void agent_inventory(struct http_req *r, void *app)
{
	struct app *a = app;
	char mid[INV_ID_LEN];
	if (!token_machine(r, a, "session", false, mid))
		return;
	char *reasons = NULL, sku[64] = "";
	const struct sku *s = NULL;
	char *facts = r->body ? strndup(r->body, r->body_len) : NULL;
	pthread_rwlock_rdlock(&a->catalog_lock);
	int rc = facts ? sku_match_json(a->catalog, facts, &s, &reasons) : -1;
	if (rc == 0)
		snprintf(sku, sizeof sku, "%s", sku_name(s));
	pthread_rwlock_unlock(&a->catalog_lock);
	struct inv_err e = {0};
	if (rc < 0) {
		const char *colon = reasons ? strstr(reasons, ": ") : NULL;
		char field[64];
		snprintf(field, sizeof field, "%.*s", colon ? (int)(colon - reasons) : 5,
			 colon ? reasons : "facts");
		http_error(r, 400, "invalid_value", field, "%s", reasons ? reasons : "no facts");
	} else if (!store_facts(a, mid, facts, rc == 0 ? sku : NULL, r->request_id, &e)) {
		api_inv_error(r, &e);
	} else {
		inv_machine_agent_seen(a->inv, mid, inv_now_ms(), &e);
		/* completes inspection if the engine waits for it */
		inv_command_finish(a->inv, mid, NULL, "inspect", true, "facts reported", NULL, &e);
		lc_kick(a->lc);
		http_reply(r, 204, "application/json", NULL, 0);
	}
	free(reasons);
	free(facts);
}

static const struct field heartbeat_fields[] = {
    {AGENT_HB_STATE, F_STR, false, 1, 16, NULL, NULL},
    {AGENT_HB_COMMAND_ID, F_STR, false, 0, 36, NULL, NULL},
    {AGENT_HB_PROGRESS, F_OBJ, false, 0, 0, NULL, NULL},
    {AGENT_HB_MESSAGE, F_STR, false, 0, AGENT_MAX_HEARTBEAT_MESSAGE, NULL, NULL},
};

void agent_heartbeat(struct http_req *r, void *app)
{
	struct app *a = app;
	char mid[INV_ID_LEN];
	struct inv_err e = {0};
	json_t *body = NULL;
	if (!token_machine(r, a, "session", false, mid) ||
	    (r->body_len && !(body = api_body(r, heartbeat_fields, N(heartbeat_fields)))))
		return;
	inv_machine_agent_seen(a->inv, mid, inv_now_ms(), &e);
	const char *state = json_string_value(json_object_get(body, AGENT_HB_STATE));
	if (state && strcmp(state, AGENT_HB_STATE_ERROR) == 0) {
		/* the agent is giving up: fail what it was doing, so the engine
		 * retries or reports it now instead of at the deadline */
		const char *msg = json_string_value(json_object_get(body, AGENT_HB_MESSAGE));
		char text[600];
		snprintf(text, sizeof text, "agent gave up: %.500s", msg ? msg : "no reason given");
		log_event(LOG_WARN, "agent error", "machine", mid, "message", text, "request_id",
			  r->request_id, NULL);
		inv_command_finish(a->inv, mid, NULL, NULL, false, text, NULL, &e);
		lc_kick(a->lc);
	}
	json_decref(body);
	http_reply(r, 204, "application/json", NULL, 0);
}

void agent_command(struct http_req *r, void *app)
{
	struct app *a = app;
	char mid[INV_ID_LEN];
	struct inv_err e = {0};
	if (!token_machine(r, a, "session", false, mid))
		return;
	const char *w = http_arg(r, AGENT_ARG_WAIT);
	long wait_s = w ? strtol(w, NULL, 10) : 0;
	if (wait_s < 0 || wait_s > AGENT_COMMAND_WAIT_MAX_S)
		wait_s = AGENT_COMMAND_WAIT_MAX_S;
	int64_t deadline = inv_now_ms() + wait_s * 1000;
	uint64_t seen = inv_change_counter(a->inv);
	inv_machine_agent_seen(a->inv, mid, inv_now_ms(), &e);
	struct inv_command c = {0};
	char hash[65];
	tok_hash(r->authorization + 7, hash);
	for (;;) {
		/* a session revoked meanwhile (machine powered off or a new
		 * agent run) must not take commands meant for its successor */
		char still[INV_ID_LEN];
		if (inv_boot_token_take(a->inv, hash, "session", false, still, &e) != INV_OK) {
			http_error(r, 401, "unauthorized", NULL, "session token revoked");
			return;
		}
		if (inv_command_next(a->inv, mid, &c, &e) == INV_OK) {
			json_t *args = json_loads(c.args_json ? c.args_json : "{}", 0, NULL);
			api_json(r, 200,
				 json_pack("{s:s, s:s, s:o}", AGENT_CMD_ID, c.id, AGENT_CMD_NAME,
					   c.name, AGENT_CMD_ARGS, args ? args : json_object()));
			log_event(LOG_INFO, "agent command sent", "machine", mid, "command", c.name,
				  "request_id", r->request_id, NULL);
			inv_command_clear(&c);
			return;
		}
		int64_t left = deadline - inv_now_ms();
		if (left <= 0 || atomic_load(&a->draining))
			break;
		inv_wait_change(a->inv, &seen, left > 1000 ? 1000 : (int)left);
	}
	http_reply(r, 204, "application/json", NULL, 0);
}

static const struct field result_fields[] = {
    {AGENT_RESULT_ID, F_STR, true, 36, 36, api_valid_uuid, "must be a command id"},
    {AGENT_RESULT_OK, F_BOOL, true, 0, 0, NULL, NULL},
    {AGENT_RESULT_MESSAGE, F_STR, false, 0, AGENT_MAX_RESULT_MESSAGE, NULL, NULL},
    {AGENT_RESULT_DETAILS, F_OBJ, false, 0, 0, NULL, NULL},
};

void agent_result(struct http_req *r, void *app)
{
	struct app *a = app;
	char mid[INV_ID_LEN];
	json_t *body;
	if (!token_machine(r, a, "session", false, mid) ||
	    !(body = api_body(r, result_fields, N(result_fields))))
		return;
	bool ok = json_is_true(json_object_get(body, AGENT_RESULT_OK));
	const char *id = json_string_value(json_object_get(body, AGENT_RESULT_ID));
	const char *msg = json_string_value(json_object_get(body, AGENT_RESULT_MESSAGE));
	json_t *det = json_object_get(body, AGENT_RESULT_DETAILS);
	char *details = det ? json_dumps(det, JSON_COMPACT) : NULL;
	struct inv_err e = {0};
	inv_machine_agent_seen(a->inv, mid, inv_now_ms(), &e);
	if (inv_command_finish(a->inv, mid, id, NULL, ok, msg, details, &e) == INV_OK) {
		log_event(ok ? LOG_INFO : LOG_WARN, "agent result", "machine", mid, "command", id,
			  "ok", ok ? "true" : "false", "message", msg, "request_id", r->request_id,
			  NULL);
		lc_kick(a->lc);
		http_reply(r, 204, "application/json", NULL, 0);
	} else {
		http_error(r, 409, "unknown_command", AGENT_RESULT_ID,
			   "command %s is not waiting for a result (finished or superseded)", id);
	}
	free(details);
	json_decref(body);
}

static const struct field booted_fields[] = {
    {AGENT_BOOTED_MACHINE_ID, F_STR, false, 36, 36, api_valid_uuid, "must be a machine id"},
};

void agent_booted(struct http_req *r, void *app)
{
	struct app *a = app;
	char mid[INV_ID_LEN];
	json_t *body = NULL;
	struct inv_err e = {0};
	if (r->body_len && !(body = api_body(r, booted_fields, N(booted_fields))))
		return;
	const char *claimed = json_string_value(json_object_get(body, AGENT_BOOTED_MACHINE_ID));
	if (token_machine(r, a, "instance", false, mid)) {
		if (claimed && strcmp(claimed, mid) != 0)
			http_error(r, 401, "unauthorized", AGENT_BOOTED_MACHINE_ID,
				   "the instance token belongs to another machine");
		else if (inv_command_finish(a->inv, mid, NULL, "booted", true, "deployed OS booted",
					    NULL, &e) == INV_OK &&
			 consume_token(r, a, "instance")) {
			log_event(LOG_INFO, "deployed OS booted", "machine", mid, "ip",
				  r->client_ip, NULL);
			if (r->client_ip[0])
				inv_machine_set_ip(a->inv, mid, r->client_ip, &e);
			lc_kick(a->lc);
			http_reply(r, 204, "application/json", NULL, 0);
		} else {
			http_error(r, 409, "not_deploying", NULL, "machine is not waiting to boot");
		}
	}
	json_decref(body);
}
