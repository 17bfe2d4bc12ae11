/* api_agent.c - the deploy agent's calls on the boot listener. */
#include "provisiond/routes.h"
#include "images/agent/protocol.h"
#include "provisiond/lifecycle/lifecycle.h"
#include "provisiond/log.h"
#include "provisiond/macs.h"
#include "provisiond/ratelimit.h"
#include "skus/sku.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_TTL_MS (24LL * 3600 * 1000)
_Static_assert(AGENT_MAX_LOOKUP_MACS <= INV_MAX_MACS, "a lookup's MACs fit a machine");

/* Uses up a one-time token once the call it authorizes is sure to succeed
 * (a refused call leaves it valid); of two racing uses one wins. */
static bool consume_token(struct http_req *r, struct app *a, const char *kind)
{
	char hash[65], mid[INV_ID_LEN];
	struct inv_err e = {0};
	tok_hash(r->authorization + 7, hash);
	enum inv_status st = inv_boot_token_take(a->inv, hash, kind, true, mid, &e);
	if (st == INV_OK)
		return true;
	if (st == INV_IO || st == INV_CORRUPT)
		api_fail_inv(r, "boot token use", &e);
	else
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
	api_fail(r, 400, "lookup macs", &e);
	return -1;
}

/* Discovery: the machine with one of these MACs, created if none has. */
static bool discover(struct http_req *r, struct app *a, char macs[][18], int n,
		     struct inv_machine *m)
{
	struct inv_err e = {0};
	for (int attempt = 0; attempt < 3; attempt++) {
		for (int i = 0; i < n; i++) {
			enum inv_status st = inv_machine_get_by_mac(a->inv, macs[i], m, &e);
			if (st == INV_OK)
				return true;
			if (st != INV_NOT_FOUND) {
				api_fail_inv(r, "machine by mac", &e);
				return false;
			}
		}
		char name[64];
		snprintf(name, sizeof name, "disc-%.2s%.2s%.2s%.2s%.2s%.2s", macs[0], macs[0] + 3,
			 macs[0] + 6, macs[0] + 9, macs[0] + 12, macs[0] + 15);
		struct inv_machine_new nm = {.name = name,
					     .nmacs = n,
					     .actor = INV_ACTOR_DISCOVERY,
					     .request_id = r->request_id,
					     .location = {.unit = -1},
					     .audit_after_json = "{\"discovered\":true}",
					     .discovered_max = a->cfg.discovery_max};
		for (int i = 0; i < n; i++)
			nm.macs[i] = macs[i];
		if (inv_machine_create(a->inv, &nm, m, &e) == INV_OK) {
			log_event(LOG_INFO, "machine discovered", "machine", m->id, "mac", macs[0],
				  NULL);
			return true;
		}
		if (e.status == INV_CAPACITY) {
			atomic_fetch_add(&a->discovery_refused, 1);
			http_error(r, 429, "discovery_full", NULL, "%s", e.message);
			snprintf(r->retry_after, sizeof r->retry_after, "60");
			return false;
		}
		if (e.status != INV_DUPLICATE) /* a racing lookup created it: look again */
			break;
	}
	api_fail_inv(r, "machine discovery", &e);
	return false;
}

const struct field lookup_fields[] = {{.name = AGENT_LOOKUP_MACS, .kind = F_ARR, .required = true}};
const struct api_schema lookup_schema = {lookup_fields, ARRAY_SIZE(lookup_fields)};

/* Resolves the caller to a machine: by boot token, or by discovery. */
static bool lookup_machine(struct http_req *r, struct app *a, char macs[][18], int n,
			   struct inv_machine *m)
{
	struct inv_err e = {0};
	char mid[INV_ID_LEN];
	if (r->authorization) {
		if (!api_boot_token_machine(r, a, "boot", mid))
			return false;
		if (inv_machine_get(a->inv, mid, m, &e) != INV_OK)
			return api_fail_inv(r, "machine get", &e), false;
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
	if (!rl_allow(a->discovery_rl, r->client_ip[0] ? r->client_ip : "?", inv_now_ms())) {
		atomic_fetch_add(&a->discovery_refused, 1);
		http_error(r, 429, "rate_limited", NULL,
			   "too many lookups without a boot token from %s (discovery_rate_per_min)",
			   r->client_ip);
		snprintf(r->retry_after, sizeof r->retry_after, "10");
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

/* Records that the agent of mid called: best effort (a failure is logged,
 * the call it came with still counts). */
static void seen(struct api_call *c, const char *mid)
{
	struct inv_err e = {0};
	api_note_inv(c->r, "agent seen", inv_machine_agent_seen(c->a->inv, mid, inv_now_ms(), &e),
		     &e);
}

/* A live agent session is never displaced by a later lookup: with a boot
 * token there can be none (the engine's power-on ended it); a discovered
 * machine's session yields only once its agent went quiet. false with the
 * response set. */
static bool no_live_session(struct api_call *c, const struct inv_machine *m)
{
	struct inv_err e = {0};
	bool live = false;
	int64_t seen = 0;
	if (inv_boot_live(c->a->inv, m->id, "session", &live, &e) != INV_OK ||
	    (live && !c->r->authorization &&
	     inv_machine_agent_seen_at(c->a->inv, m->id, &seen, &e) != INV_OK)) {
		api_fail_inv(c->r, "session check", &e);
		return false;
	}
	if (live && (c->r->authorization || inv_now_ms() - seen < AGENT_ALIVE_S * 1000LL)) {
		http_error(c->r, 409, "session_live", NULL,
			   "an agent session of machine %s is live; another starts only with the "
			   "next boot provisiond makes",
			   m->name);
		return false;
	}
	return true;
}

/* A new session for m: the previous one ends, commands sent to it are
 * queued again. false with the response set. */
static bool open_session(struct api_call *c, const struct inv_machine *m, char secret[80])
{
	char hash[65];
	struct inv_err e = {0};
	if (!no_live_session(c, m))
		return false;
	if (inv_boot_token_revoke(c->a->inv, m->id, "session", &e) != INV_OK) {
		api_fail_inv(c->r, "revoke old session", &e);
		return false;
	}
	/* heard from before the session exists and wakes the engine: a step
	 * never sees this session with the previous run's time (an agent
	 * silent for long) nor with none (no silence deadline to wake for) */
	seen(c, m->id);
	if (tok_new_secret(secret, 80) != 0) {
		http_error(c->r, 503, "storage_unavailable", NULL, "cannot issue a session token");
		return false;
	}
	tok_hash(secret, hash);
	if (inv_boot_token_add(c->a->inv, hash, m->id, "session", inv_now_ms() + SESSION_TTL_MS,
			       &e) != INV_OK ||
	    inv_command_requeue(c->a->inv, m->id, &e) != INV_OK) {
		api_fail_inv(c->r, "open session", &e);
		return false;
	}
	if (c->r->client_ip[0])
		api_note_inv(c->r, "record agent address",
			     inv_machine_set_ip(c->a->inv, m->id, c->r->client_ip, &e), &e);
	return true;
}

void agent_api_lookup(struct api_call *c)
{
	struct http_req *r = c->r;
	char macs[INV_MAX_MACS][18], secret[80];
	struct inv_machine m = {0};
	int n;
	if ((n = body_macs(r, c->body, macs)) >= 0 && lookup_machine(r, c->a, macs, n, &m) &&
	    open_session(c, &m, secret))
		api_json(r, 200,
			 json_pack(
			     "{s:s, s:s, s:s, s:i, s:s}", AGENT_LOOKUP_MACHINE_ID, m.id,
			     AGENT_LOOKUP_NAME, m.name, AGENT_LOOKUP_TOKEN, secret,
			     AGENT_LOOKUP_HEARTBEAT_S, AGENT_HEARTBEAT_DEFAULT_S, AGENT_LOOKUP_MODE,
			     r->authorization ? AGENT_MODE_NAME_AGENT : AGENT_MODE_NAME_DISCOVER));
	inv_machine_clear(&m);
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

/* 400 naming the fact the matcher rejected ("field: why" in reasons). */
static void facts_rejected(struct http_req *r, const char *reasons)
{
	const char *colon = reasons ? strstr(reasons, ": ") : NULL;
	char field[64];
	snprintf(field, sizeof field, "%.*s", colon ? (int)(colon - reasons) : 5,
		 colon ? reasons : "facts");
	http_error(r, 400, "invalid_value", field, "%s", reasons ? reasons : "no facts");
}

void agent_api_inventory(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	const char *mid = c->machine_id;
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
		facts_rejected(r, reasons);
	} else if (!store_facts(a, mid, facts, rc == 0 ? sku : NULL, r->request_id, &e)) {
		api_fail_inv(r, "store facts", &e);
	} else {
		seen(c, mid);
		/* completes inspection if the engine waits for it; none waiting
		 * (facts reported outside inspection) is fine */
		enum inv_status st = inv_command_finish(a->inv, mid, NULL, "inspect", true,
							"facts reported", NULL, &e);
		if (st != INV_OK && st != INV_NOT_FOUND && st != INV_CONFLICT) {
			api_fail_inv(r, "finish inspection", &e);
		} else {
			lc_kick(a->lc);
			http_reply(r, 204, "application/json", NULL, 0);
		}
	}
	free(reasons);
	free(facts);
}

const struct field heartbeat_fields[] = {
    {.name = AGENT_HB_STATE, .kind = F_STR, .min = 1, .max = 16},
    {.name = AGENT_HB_COMMAND_ID, .kind = F_STR, .max = 36},
    {.name = AGENT_HB_PROGRESS, .kind = F_OBJ},
    {.name = AGENT_HB_MESSAGE, .kind = F_STR, .max = AGENT_MAX_HEARTBEAT_MESSAGE},
};
const struct api_schema heartbeat_schema = {heartbeat_fields, ARRAY_SIZE(heartbeat_fields)};

/* The agent is giving up: fail what it was doing, so the engine retries or
 * reports it now instead of at the deadline. false with the response set. */
static bool agent_gave_up(struct api_call *c)
{
	const char *msg = json_string_value(json_object_get(c->body, AGENT_HB_MESSAGE));
	char text[600];
	struct inv_err e = {0};
	snprintf(text, sizeof text, "agent gave up: %.500s", msg ? msg : "no reason given");
	log_event(LOG_WARN, "agent error", "machine", c->machine_id, "message", text, "request_id",
		  c->r->request_id, NULL);
	enum inv_status st =
	    inv_command_finish(c->a->inv, c->machine_id, NULL, NULL, false, text, NULL, &e);
	if (st != INV_OK && st != INV_NOT_FOUND && st != INV_CONFLICT) {
		api_fail_inv(c->r, "fail agent command", &e);
		return false;
	}
	lc_kick(c->a->lc);
	return true;
}

void agent_api_heartbeat(struct api_call *c)
{
	seen(c, c->machine_id);
	const char *state = json_string_value(json_object_get(c->body, AGENT_HB_STATE));
	if (state && strcmp(state, AGENT_HB_STATE_ERROR) == 0 && !agent_gave_up(c))
		return;
	http_reply(c->r, 204, "application/json", NULL, 0);
}

/* The next command for mid as a 200 reply; false when none is queued (or
 * with the response set when the session ended or the inventory failed). */
static bool send_next_command(struct api_call *c, const char hash[65], bool *answered)
{
	struct http_req *r = c->r;
	struct inv_err e = {0};
	char still[INV_ID_LEN];
	/* a session revoked meanwhile (machine powered off or a new agent run)
	 * must not take commands meant for its successor */
	enum inv_status st = inv_boot_token_take(c->a->inv, hash, "session", false, still, &e);
	if (st != INV_OK) {
		if (st == INV_IO || st == INV_CORRUPT)
			api_fail_inv(r, "session check", &e);
		else
			http_error(r, 401, "unauthorized", NULL, "session token revoked");
		return *answered = true;
	}
	struct inv_command cmd = {0};
	st = inv_command_next(c->a->inv, c->machine_id, &cmd, &e);
	if (st == INV_NOT_FOUND)
		return false;
	*answered = true;
	if (st != INV_OK) {
		api_fail_inv(r, "next command", &e);
		return true;
	}
	json_t *args = json_loads(cmd.args_json ? cmd.args_json : "{}", 0, NULL);
	api_json(r, 200,
		 json_pack("{s:s, s:s, s:o}", AGENT_CMD_ID, cmd.id, AGENT_CMD_NAME, cmd.name,
			   AGENT_CMD_ARGS, args ? args : json_object()));
	log_event(LOG_INFO, "agent command sent", "machine", c->machine_id, "command", cmd.name,
		  "request_id", r->request_id, NULL);
	inv_command_clear(&cmd);
	return true;
}

/* The agent's command long-poll. It holds no worker while it waits: with
 * nothing to send it parks (http_park) until ?wait= runs out or the
 * inventory changes (main.c wakes the boot listener's parked requests),
 * then runs again; so a thousand polling agents cost no threads. */
void agent_api_command(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	if (!r->reruns) {
		const char *w = http_arg(r, AGENT_ARG_WAIT);
		long wait_s = w ? strtol(w, NULL, 10) : 0;
		if (wait_s < 0 || wait_s > AGENT_COMMAND_WAIT_MAX_S)
			wait_s = AGENT_COMMAND_WAIT_MAX_S;
		r->app_deadline_us = http_now_us() + wait_s * 1000000;
		seen(c, c->machine_id);
	}
	char hash[65];
	tok_hash(r->authorization + 7, hash);
	bool answered = false;
	if (send_next_command(c, hash, &answered) || answered)
		return;
	if (http_now_us() < r->app_deadline_us && !atomic_load(&a->draining))
		http_park(r, r->app_deadline_us);
	else
		http_reply(r, 204, "application/json", NULL, 0);
}

const struct field result_fields[] = {
    {.name = AGENT_RESULT_ID,
     .kind = F_STR,
     .required = true,
     .min = 36,
     .max = 36,
     .check = api_valid_uuid,
     .hint = "must be a command id"},
    {.name = AGENT_RESULT_OK, .kind = F_BOOL, .required = true},
    {.name = AGENT_RESULT_MESSAGE, .kind = F_STR, .max = AGENT_MAX_RESULT_MESSAGE},
    {.name = AGENT_RESULT_DETAILS, .kind = F_OBJ},
};
const struct api_schema result_schema = {result_fields, ARRAY_SIZE(result_fields)};

void agent_api_result(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	const char *mid = c->machine_id;
	bool ok = json_is_true(json_object_get(c->body, AGENT_RESULT_OK));
	const char *id = json_string_value(json_object_get(c->body, AGENT_RESULT_ID));
	const char *msg = json_string_value(json_object_get(c->body, AGENT_RESULT_MESSAGE));
	json_t *det = json_object_get(c->body, AGENT_RESULT_DETAILS);
	char *details = det ? json_dumps(det, JSON_COMPACT) : NULL;
	struct inv_err e = {0};
	seen(c, mid);
	enum inv_status st = inv_command_finish(a->inv, mid, id, NULL, ok, msg, details, &e);
	if (st == INV_OK) {
		log_event(ok ? LOG_INFO : LOG_WARN, "agent result", "machine", mid, "command", id,
			  "ok", ok ? "true" : "false", "message", msg, "request_id", r->request_id,
			  NULL);
		lc_kick(a->lc);
		http_reply(r, 204, "application/json", NULL, 0);
	} else if (st == INV_IO || st == INV_CORRUPT) {
		api_fail_inv(r, "command result", &e);
	} else {
		/* commands are looked up within the session's machine: another
		 * machine's command is unknown here and stays untouched */
		log_event(LOG_WARN, "agent result refused", "machine", mid, "command", id,
			  "request_id", r->request_id, NULL);
		http_error(r, 409, "unknown_command", AGENT_RESULT_ID,
			   "command %s is not waiting for a result from machine %s (finished, "
			   "superseded, or not this machine's)",
			   id, mid);
	}
	free(details);
}

const struct field booted_fields[] = {
    {.name = AGENT_BOOTED_MACHINE_ID,
     .kind = F_STR,
     .min = 36,
     .max = 36,
     .check = api_valid_uuid,
     .hint = "must be a machine id"},
};
const struct api_schema booted_schema = {booted_fields, ARRAY_SIZE(booted_fields)};

void agent_api_booted(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	const char *mid = c->machine_id;
	struct inv_err e = {0};
	const char *claimed = json_string_value(json_object_get(c->body, AGENT_BOOTED_MACHINE_ID));
	if (claimed && strcmp(claimed, mid) != 0) {
		http_error(r, 401, "unauthorized", AGENT_BOOTED_MACHINE_ID,
			   "the instance token belongs to another machine");
		return;
	}
	enum inv_status st =
	    inv_command_finish(a->inv, mid, NULL, "booted", true, "deployed OS booted", NULL, &e);
	if (st == INV_IO || st == INV_CORRUPT) {
		api_fail_inv(r, "finish deploy", &e);
		return;
	}
	if (st != INV_OK || !consume_token(r, a, "instance")) {
		if (!r->status)
			http_error(r, 409, "not_deploying", NULL, "machine is not waiting to boot");
		return;
	}
	log_event(LOG_INFO, "deployed OS booted", "machine", mid, "ip", r->client_ip, NULL);
	if (r->client_ip[0])
		api_note_inv(r, "record deployed address",
			     inv_machine_set_ip(a->inv, mid, r->client_ip, &e), &e);
	lc_kick(a->lc);
	http_reply(r, 204, "application/json", NULL, 0);
}
