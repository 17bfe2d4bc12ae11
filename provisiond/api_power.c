/* api_power.c - machine actions and direct BMC control. */
#include "provisiond/routes.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/lifecycle/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bmc_target_of(const struct inv_machine *m, const struct inv_bmc *b,
			  struct bmc_target *t)
{
	/* no SKU boot mode: a tech's power or boot call leaves the BMC's mode alone */
	*t = (struct bmc_target){.key = m->id,
				 .driver = b->driver,
				 .address = b->address,
				 .username = b->username,
				 .password = b->password,
				 .options_json = b->options_json};
}

static unsigned bmc_http_status(enum bmc_status s)
{
	switch (s) {
	case BMC_ERR_INVALID:
	case BMC_ERR_UNSUPPORTED:
	case BMC_ERR_NOT_COMPILED:
		return 409;
	case BMC_ERR_BUSY:
		return 429;
	default:
		return 502;
	}
}

static void bmc_reply_error(struct http_req *r, const struct bmc_error *e)
{
	http_error(r, bmc_http_status(e->status), bmc_status_name(e->status), NULL, "%s",
		   e->message);
	if (e->status == BMC_ERR_BUSY)
		snprintf(r->retry_after, sizeof r->retry_after, "1");
}

/* The BMC access of a loaded machine; false with the response set (409
 * when it has none yet). */
static bool machine_bmc(struct api_call *c, const struct inv_machine *m, struct inv_bmc *b)
{
	struct inv_err e = {0};
	enum inv_status st = m->has_bmc ? inv_machine_bmc(c->a->inv, m->id, b, &e) : INV_NOT_FOUND;
	if (st == INV_OK)
		return true;
	if (st == INV_NOT_FOUND)
		http_error(c->r, 409, "no_bmc", "bmc", "machine %s has no BMC access yet", m->name);
	else
		api_fail_inv(c->r, "machine bmc read", &e);
	return false;
}

/* Loads the machine and its BMC access; false with the response set. */
static bool load_with_bmc(struct api_call *c, struct inv_machine *m, struct inv_bmc *b)
{
	if (!api_load_machine(c, c->r->params[0], m))
		return false;
	if (machine_bmc(c, m, b))
		return true;
	inv_machine_clear(m);
	return false;
}

/* Records the power state the BMC confirmed (compare-and-swap: a change the
 * engine made meanwhile is reloaded and the record tried again). */
static bool record_power(struct api_call *c, struct inv_machine *m, const char *power,
			 const char *reason)
{
	struct inv_err e = {0};
	char audit[160];
	snprintf(audit, sizeof audit, "{\"power\":\"%s\",\"reason\":\"%s\"}", power, reason);
	for (int attempt = 0; attempt < 8; attempt++) {
		struct inv_machine_change ch = {.expect_version = m->version,
						.set_power = true,
						.power = power,
						.always_event = true,
						.reason = reason,
						.actor = c->p->actor,
						.request_id = c->r->request_id,
						.audit_action = "machine.power",
						.audit_after_json = audit};
		enum inv_status st = inv_machine_change(c->a->inv, m->id, &ch, m, &e);
		if (st == INV_OK)
			return true;
		if (st != INV_CONFLICT || inv_machine_get(c->a->inv, m->id, m, &e) != INV_OK)
			break;
	}
	api_fail_inv(c->r, "record power state", &e);
	return false;
}

void api_machine_power_get(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	struct inv_machine m = {0};
	struct inv_bmc b = {0};
	if (!load_with_bmc(c, &m, &b))
		return;
	struct bmc_target t;
	bmc_target_of(&m, &b, &t);
	enum bmc_power_state ps;
	struct bmc_error e = {0};
	if (bmc_power_get(a->bmc, &t, &ps, &e) == BMC_OK)
		api_json(r, 200, json_pack("{s:s}", "power", bmc_power_state_name(ps)));
	else
		bmc_reply_error(r, &e);
	inv_bmc_clear(&b);
	inv_machine_clear(&m);
}

/* A machine serving an allocation loses power only on purpose. */
static bool guard_allocated(struct api_call *c, const struct inv_machine *m,
			    enum bmc_power_action act)
{
	if (!m->allocation_id[0] || act == BMC_POWER_ACTION_ON ||
	    json_is_true(json_object_get(c->body, "force")))
		return true;
	http_error(c->r, 409, "invalid_state", "force",
		   "machine %s serves allocation %s: power %s only with \"force\": true", m->name,
		   m->allocation_id, bmc_power_action_name(act));
	return false;
}

static void do_power(struct api_call *c, struct inv_machine *m, const struct inv_bmc *b,
		     enum bmc_power_action act, unsigned ok_status)
{
	struct http_req *r = c->r;
	if (!guard_allocated(c, m, act))
		return;
	struct bmc_target t;
	bmc_target_of(m, b, &t);
	struct bmc_error e = {0};
	if (bmc_power_set(c->a->bmc, &t, act, &e) != BMC_OK) {
		bmc_reply_error(r, &e);
		return;
	}
	const char *power =
	    act == BMC_POWER_ACTION_OFF || act == BMC_POWER_ACTION_SOFT_OFF ? "off" : "on";
	char reason[96];
	snprintf(reason, sizeof reason, "power %s (confirmed %s)", bmc_power_action_name(act),
		 power);
	if (!record_power(c, m, power, reason))
		return;
	if (ok_status == 200)
		api_json(r, 200, json_pack("{s:s}", "power", power));
	else
		api_json(r, ok_status, api_machine_json(m, true));
}

const struct field power_fields[] = {
    {.name = "action", .kind = F_STR, .required = true, .min = 1, .max = 16},
    {.name = "force", .kind = F_BOOL},
};
const struct api_schema power_schema = {power_fields, ARRAY_SIZE(power_fields)};

void api_machine_power_set(struct api_call *c)
{
	struct inv_machine m = {0};
	struct inv_bmc b = {0};
	enum bmc_power_action act;
	if (!load_with_bmc(c, &m, &b))
		return;
	const char *s = json_string_value(json_object_get(c->body, "action"));
	if (bmc_power_action_from_name(s, &act) != 0)
		http_error(c->r, 400, "invalid_value", "action",
			   "action must be on, off, cycle, reset or soft");
	else
		do_power(c, &m, &b, act, 200);
	inv_bmc_clear(&b);
	inv_machine_clear(&m);
}

const struct field bootdev_fields[] = {
    {.name = "device", .kind = F_STR, .required = true, .min = 1, .max = 16},
    {.name = "persistent", .kind = F_BOOL},
};
const struct api_schema bootdev_schema = {bootdev_fields, ARRAY_SIZE(bootdev_fields)};

void api_machine_bootdev(struct api_call *c)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	json_t *body = c->body;
	struct inv_machine m = {0};
	struct inv_bmc b = {0};
	enum bmc_boot_device d;
	if (!load_with_bmc(c, &m, &b))
		return;
	{
		bool persistent = json_is_true(json_object_get(body, "persistent"));
		struct bmc_target t;
		struct bmc_error e = {0};
		bmc_target_of(&m, &b, &t);
		if (bmc_boot_device_from_name(json_string_value(json_object_get(body, "device")),
					      &d) != 0)
			http_error(r, 400, "invalid_value", "device",
				   "device must be pxe, disk or cd");
		else if (bmc_boot_set(a->bmc, &t, d, persistent, &e) != BMC_OK)
			bmc_reply_error(r, &e);
		else
			api_json(r, 200,
				 json_pack("{s:s, s:b}", "device", bmc_boot_device_name(d),
					   "persistent", persistent));
	}
	inv_bmc_clear(&b);
	inv_machine_clear(&m);
}

const struct field action_fields[] = {
    {.name = "action", .kind = F_STR, .required = true, .min = 1, .max = 32},
    {.name = "reason", .kind = F_STR, .max = 255},
    {.name = "force", .kind = F_BOOL},
};
const struct api_schema action_schema = {action_fields, ARRAY_SIZE(action_fields)};

/* The audit row's "after" of an action: what was done and why, as the
 * event says it (malloc'd; NULL when out of memory, and the row has none). */
static char *action_audit_json(enum lc_action act, enum inv_state to, const char *why)
{
	json_t *what =
	    json_pack("{s:s, s:s}", "action", lc_action_name(act), "state", inv_state_name(to));
	if (what && why)
		json_object_set_new(what, "reason", json_string(why));
	char *text = what ? json_dumps(what, JSON_COMPACT) : NULL;
	json_decref(what);
	return text;
}

/* The state change of an action. true (nothing answered) when the engine
 * changed the machine meanwhile: the caller tries again on a fresh read. */
static bool state_action(struct api_call *c, struct inv_machine *m, enum lc_action act,
			 enum inv_state to, const char *why)
{
	struct http_req *r = c->r;
	struct app *a = c->a;
	const struct principal *p = c->p;
	char reason[320];
	snprintf(reason, sizeof reason, "%s%s%s", lc_action_name(act), why ? ": " : "",
		 why ? why : "");
	char *after = action_audit_json(act, to, why);
	struct inv_machine_change ch = {
	    .expect_version = m->version,
	    .set_state = true,
	    .state = to,
	    .set_phase = true,
	    .phase = "",
	    .set_attempts = true,
	    .set_wake = true,
	    .wake_at = to == INV_ST_RETIRED || to == INV_ST_MAINTENANCE ? 0 : inv_now_ms(),
	    .set_deadline = true,
	    .actor = p->actor,
	    .reason = reason,
	    .request_id = r->request_id,
	    .audit_action = "machine.action",
	    .audit_after_json = after,
	    .always_event = true};
	if (act == LC_ACT_REPAIR) {
		ch.set_last_error = true;
		ch.last_error = "";
	}
	if (act == LC_ACT_MAINTENANCE_ON || act == LC_ACT_MAINTENANCE_OFF) {
		ch.set_maintenance = true;
		ch.maintenance = act == LC_ACT_MAINTENANCE_ON;
		ch.maintenance_reason = why;
	}
	struct inv_err e = {0};
	enum inv_status st = inv_machine_change(a->inv, m->id, &ch, m, &e);
	free(after);
	if (st == INV_CONFLICT)
		return true;
	if (st != INV_OK) {
		api_fail_inv(r, "machine action", &e);
		return false;
	}
	if (to == INV_ST_RETIRED || to == INV_ST_MAINTENANCE)
		api_note_inv(r, "revoke agent session",
			     inv_boot_token_revoke(a->inv, m->id, "session", &e), &e);
	lc_kick(a->lc);
	api_json(r, 202, api_machine_json(m, true));
	return false;
}

/* Power actions go to the BMC now; the others are state changes the engine
 * carries out. The freeze stops power and deploy actions, not repairs,
 * retirement or maintenance. */
static bool run_action(struct api_call *c, struct inv_machine *m, enum lc_action act,
		       enum inv_state to, const char *why)
{
	bool power = act == LC_ACT_POWER_ON || act == LC_ACT_POWER_OFF || act == LC_ACT_REBOOT;
	bool always = act == LC_ACT_REPAIR || act == LC_ACT_RETIRE ||
		      act == LC_ACT_MAINTENANCE_ON || act == LC_ACT_MAINTENANCE_OFF;
	if (!always && api_refuse_if_frozen(c->r, c->a))
		return false;
	if (!power)
		return state_action(c, m, act, to, why);
	struct inv_bmc b = {0};
	if (machine_bmc(c, m, &b))
		do_power(c, m, &b,
			 act == LC_ACT_POWER_ON	   ? BMC_POWER_ACTION_ON
			 : act == LC_ACT_POWER_OFF ? BMC_POWER_ACTION_OFF
						   : BMC_POWER_ACTION_CYCLE,
			 202);
	inv_bmc_clear(&b);
	return false;
}

void api_machine_action(struct api_call *c)
{
	struct http_req *r = c->r;
	enum lc_action act;
	const char *name = json_string_value(json_object_get(c->body, "action"));
	const char *why = json_string_value(json_object_get(c->body, "reason"));
	if (lc_action_from_name(name, &act) != 0) {
		http_error(r, 400, "invalid_value", "action",
			   "action must be one of inspect, clean, power_on, power_off, reboot, "
			   "repair, retire, maintenance_on, maintenance_off");
		return;
	}
	/* The client sent no version: a change the engine made meanwhile is not
	 * the client's conflict. Decide again on the fresh record. */
	for (int attempt = 0; attempt < 8; attempt++) {
		struct inv_machine m = {0};
		enum inv_state to;
		char msg[256];
		bool again = false;
		if (!api_load_machine(c, r->params[0], &m))
			return;
		if (lc_manual(act, &m, &to, msg, sizeof msg) != 0)
			http_error(r, 409, "invalid_state", "action", "%s", msg);
		else
			again = run_action(c, &m, act, to, why);
		inv_machine_clear(&m);
		if (!again)
			return;
	}
	http_error(r, 409, "conflict", NULL, "machine %s keeps changing; try again", r->params[0]);
}
