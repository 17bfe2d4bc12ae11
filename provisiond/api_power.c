/* api_power.c - machine actions and direct BMC control. */
#include "provisiond/api_routes.h"
#include "provisiond/bmc/bmc.h"
#include "provisiond/lifecycle/lifecycle.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void bmc_target_of(const struct inv_machine *m, const struct inv_bmc *b,
			  struct bmc_target *t)
{
	*t = (struct bmc_target){m->id,	      b->driver,   b->address,
				 b->username, b->password, b->options_json};
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

/* Loads machine + BMC access for a staff caller; false with response set. */
static bool load_with_bmc(struct http_req *r, struct app *a, struct inv_machine *m,
			  struct inv_bmc *b)
{
	const struct principal *p = api_auth(r, a, ROLES_STAFF);
	if (!p || !api_load_machine(r, a, p, r->params[0], m))
		return false;
	struct inv_err e = {0};
	if (!m->has_bmc || inv_machine_bmc(a->inv, m->id, b, &e) != INV_OK) {
		http_error(r, 409, "no_bmc", "bmc", "machine %s has no BMC access yet", m->name);
		inv_machine_clear(m);
		return false;
	}
	return true;
}

static void record_power(struct app *a, struct inv_machine *m, const char *power,
			 const char *reason, const struct principal *p, const char *rid)
{
	struct inv_machine_change c = {.expect_version = m->version,
				       .set_power = true,
				       .power = power,
				       .always_event = true,
				       .reason = reason,
				       .actor = p ? p->actor : "api",
				       .request_id = rid};
	struct inv_err e = {0};
	inv_machine_change(a->inv, m->id, &c, m, &e);
}

void api_machine_power_get(struct http_req *r, void *app)
{
	struct app *a = app;
	struct inv_machine m = {0};
	struct inv_bmc b = {0};
	if (!load_with_bmc(r, a, &m, &b))
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

static void do_power(struct http_req *r, struct app *a, struct inv_machine *m,
		     const struct inv_bmc *b, enum bmc_power_action act, unsigned ok_status)
{
	struct bmc_target t;
	bmc_target_of(m, b, &t);
	struct bmc_error e = {0};
	if (bmc_power_set(a->bmc, &t, act, &e) != BMC_OK) {
		bmc_reply_error(r, &e);
		return;
	}
	const char *power =
	    act == BMC_POWER_ACTION_OFF || act == BMC_POWER_ACTION_SOFT_OFF ? "off" : "on";
	char reason[96];
	snprintf(reason, sizeof reason, "power %s (confirmed %s)", bmc_power_action_name(act),
		 power);
	record_power(a, m, power, reason, r->principal, r->request_id);
	if (ok_status == 200)
		api_json(r, 200, json_pack("{s:s}", "power", power));
	else
		api_json(r, ok_status, api_machine_json(m, true));
}

static const struct field power_fields[] = {{"action", F_STR, true, 1, 16, NULL, NULL}};

void api_machine_power_set(struct http_req *r, void *app)
{
	struct app *a = app;
	struct inv_machine m = {0};
	struct inv_bmc b = {0};
	json_t *body = NULL;
	enum bmc_power_action act;
	if (api_refuse_if_frozen(r, a) || !load_with_bmc(r, a, &m, &b))
		return;
	if ((body = api_body(r, power_fields, N(power_fields)))) {
		const char *s = json_string_value(json_object_get(body, "action"));
		if (bmc_power_action_from_name(s, &act) != 0)
			http_error(r, 400, "invalid_value", "action",
				   "action must be on, off, cycle, reset or soft");
		else
			do_power(r, a, &m, &b, act, 200);
	}
	json_decref(body);
	inv_bmc_clear(&b);
	inv_machine_clear(&m);
}

static const struct field bootdev_fields[] = {
    {"device", F_STR, true, 1, 16, NULL, NULL},
    {"persistent", F_BOOL, false, 0, 0, NULL, NULL},
};

void api_machine_bootdev(struct http_req *r, void *app)
{
	struct app *a = app;
	struct inv_machine m = {0};
	struct inv_bmc b = {0};
	json_t *body = NULL;
	enum bmc_boot_device d;
	if (api_refuse_if_frozen(r, a) || !load_with_bmc(r, a, &m, &b))
		return;
	if ((body = api_body(r, bootdev_fields, N(bootdev_fields)))) {
		bool persistent = json_is_true(json_object_get(body, "persistent"));
		struct bmc_target t;
		struct bmc_error e = {0};
		bmc_target_of(&m, &b, &t);
		if (bmc_boot_device_from_name(json_string_value(json_object_get(body, "device")),
					      &d) != 0)
			http_error(r, 400, "invalid_value", "device", "device must be pxe or disk");
		else if (bmc_boot_set(a->bmc, &t, d, persistent, &e) != BMC_OK)
			bmc_reply_error(r, &e);
		else
			api_json(r, 200,
				 json_pack("{s:s, s:b}", "device", bmc_boot_device_name(d),
					   "persistent", persistent));
	}
	json_decref(body);
	inv_bmc_clear(&b);
	inv_machine_clear(&m);
}

static const struct field action_fields[] = {
    {"action", F_STR, true, 1, 32, NULL, NULL},
    {"reason", F_STR, false, 0, 255, NULL, NULL},
};

static void state_action(struct http_req *r, struct app *a, struct inv_machine *m,
			 enum lc_action act, enum inv_state to, const char *why)
{
	const struct principal *p = r->principal;
	char reason[320];
	snprintf(reason, sizeof reason, "%s%s%s", lc_action_name(act), why ? ": " : "",
		 why ? why : "");
	struct inv_machine_change c = {
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
	    .audit_after_json = NULL,
	    .always_event = true};
	if (act == LC_ACT_REPAIR) {
		c.set_last_error = true;
		c.last_error = "";
	}
	if (act == LC_ACT_MAINTENANCE_ON || act == LC_ACT_MAINTENANCE_OFF) {
		c.set_maintenance = true;
		c.maintenance = act == LC_ACT_MAINTENANCE_ON;
		c.maintenance_reason = why;
	}
	struct inv_err e = {0};
	if (inv_machine_change(a->inv, m->id, &c, m, &e) != INV_OK) {
		api_inv_error(r, &e);
		return;
	}
	if (to == INV_ST_RETIRED || to == INV_ST_MAINTENANCE)
		inv_boot_token_revoke(a->inv, m->id, "session", &e);
	lc_kick(a->lc);
	api_json(r, 202, api_machine_json(m, true));
}

void api_machine_action(struct http_req *r, void *app)
{
	struct app *a = app;
	const struct principal *p = api_auth(r, a, ROLES_STAFF);
	struct inv_machine m = {0};
	json_t *body;
	if (!p || !(body = api_body(r, action_fields, N(action_fields))))
		return;
	enum lc_action act;
	const char *name = json_string_value(json_object_get(body, "action"));
	const char *why = json_string_value(json_object_get(body, "reason"));
	enum inv_state to;
	char msg[256];
	if (lc_action_from_name(name, &act) != 0)
		http_error(r, 400, "invalid_value", "action",
			   "action must be one of inspect, clean, power_on, power_off, reboot, "
			   "repair, retire, maintenance_on, maintenance_off");
	else if (api_load_machine(r, a, p, r->params[0], &m)) {
		if (lc_manual(act, &m, &to, msg, sizeof msg) != 0)
			http_error(r, 409, "invalid_state", "action", "%s", msg);
		else if (act == LC_ACT_POWER_ON || act == LC_ACT_POWER_OFF ||
			 act == LC_ACT_REBOOT) {
			struct inv_bmc b = {0};
			struct inv_err e = {0};
			if (!api_refuse_if_frozen(r, a) &&
			    inv_machine_bmc(a->inv, m.id, &b, &e) == INV_OK)
				do_power(r, a, &m, &b,
					 act == LC_ACT_POWER_ON	   ? BMC_POWER_ACTION_ON
					 : act == LC_ACT_POWER_OFF ? BMC_POWER_ACTION_OFF
								   : BMC_POWER_ACTION_CYCLE,
					 202);
			inv_bmc_clear(&b);
		} else if (act == LC_ACT_REPAIR || act == LC_ACT_RETIRE ||
			   act == LC_ACT_MAINTENANCE_ON || act == LC_ACT_MAINTENANCE_OFF ||
			   !api_refuse_if_frozen(r, a))
			state_action(r, a, &m, act, to, why);
	}
	inv_machine_clear(&m);
	json_decref(body);
}
