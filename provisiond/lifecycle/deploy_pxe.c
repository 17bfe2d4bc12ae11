/* deploy_pxe.c - the real deploy interface: the machine network-boots the
 * ramdisk agent (boot plane), which reports facts and runs the commands
 * queued here (docs/agent-protocol.md). Every wait is a queued command whose
 * completion wakes the engine; the state's deadline bounds it. */
#include "provisiond/lifecycle/deploy.h"

#include "images/agent/protocol.h"
#include "provisiond/log.h"
#include "provisiond/tokens.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An agent heard from this recently is still running: no reboot needed. */
#define AGENT_ALIVE_MS (AGENT_ALIVE_S * 1000)

static bool agent_alive(struct deploy_ctx *c)
{
	int64_t seen = 0;
	bool session = false;
	struct inv_err e = {0};
	/* heard from lately, and still holding a session that can take
	 * commands (failing, retiring or powering off ended it) */
	if (inv_machine_agent_seen_at(c->lc->inv, c->m->id, &seen, &e) != INV_OK ||
	    inv_boot_live(c->lc->inv, c->m->id, "session", &session, &e) != INV_OK) {
		log_event(LOG_WARN, "lifecycle: cannot read agent liveness, booting the agent",
			  "machine", c->m->id, "error", e.message, NULL);
		return false;
	}
	return session && seen && lc_now(c->lc) - seen < AGENT_ALIVE_MS;
}

/* The agent is up for a command: booted now when reboot or when it is not
 * alive. false when booting failed (recorded already). */
static bool ensure_agent(struct deploy_ctx *c, bool reboot)
{
	return (!reboot && agent_alive(c)) || c->boot_agent(c->step);
}

static enum dep_result queue_command(struct deploy_ctx *c, const char *name, const char *args,
				     bool external)
{
	struct inv_err e = {0};
	char id[INV_ID_LEN];
	if (inv_command_add(c->lc->inv, c->m->id, name, args, external, id, &e) != INV_OK) {
		snprintf(c->err, sizeof c->err, "cannot queue %s: %s", name, e.message);
		return DEP_ERROR;
	}
	c->phase_out = "agent";
	/* queued at the agent's boot: look again when it would be overdue
	 * (boot_overdue), unless it reports first */
	if (c->lc->limits.agent_boot_timeout_s > 0)
		c->wake_in_ms = (int64_t)c->lc->limits.agent_boot_timeout_s * 1000 + 500;
	return DEP_PENDING;
}

/* Milliseconds since the agent of this boot was last heard from; -1 before
 * a freshly booted agent holds its session (booting takes as long as it
 * takes: the state's deadline bounds that wait; a boot ends the previous
 * run's session, whose agent_seen_at may linger) or when it cannot be read. */
static int64_t agent_quiet_ms(struct deploy_ctx *c)
{
	int64_t seen = 0;
	bool session = false;
	struct inv_err e = {0};
	if (inv_boot_live(c->lc->inv, c->m->id, "session", &session, &e) != INV_OK || !session ||
	    inv_machine_agent_seen_at(c->lc->inv, c->m->id, &seen, &e) != INV_OK || !seen)
		return -1;
	int64_t quiet = lc_now(c->lc) - seen;
	return quiet > 0 ? quiet : 0;
}

/* Whether what was booted at booted_at (the agent, or the deployed OS) is
 * overdue: it has not called in within [lifecycle] agent_boot_timeout_s.
 * The machine lost its power in the middle of the boot (nothing powers it
 * on again), or never network-booted (no DHCP answer, a firmware that gave
 * up): waiting longer does not help, a fresh boot does. While it is not
 * overdue, the step looks again when it would be. */
static bool boot_overdue(struct deploy_ctx *c, int64_t booted_at, const char *what)
{
	int64_t limit = (int64_t)c->lc->limits.agent_boot_timeout_s * 1000;
	int64_t waited = lc_now(c->lc) - booted_at;
	if (limit <= 0 || booted_at <= 0)
		return false;
	if (waited < limit) {
		c->wake_in_ms = limit - waited + 500;
		return false;
	}
	snprintf(c->err, sizeof c->err,
		 "%s did not call in within %d s of its boot (the machine is off, or did not "
		 "boot it)",
		 what, c->lc->limits.agent_boot_timeout_s);
	return true;
}

/* How the command queued in phase "agent" went. An agent that was heard
 * from and then stays silent past AGENT_ALIVE_S (hung, killed, its machine
 * lost power or network) cannot finish it: a failed attempt (retried with a
 * fresh boot) instead of a wait for the state's deadline; so is an agent
 * that never calls in after its boot (boot_overdue). While it waits the
 * step looks again when the agent would count as silent or overdue. */
static enum dep_result check_command(struct deploy_ctx *c, const char *name)
{
	struct inv_command cmd = {0};
	struct inv_err e = {0};
	enum dep_result r = DEP_PENDING;
	int64_t quiet = -1;
	if (inv_command_latest(c->lc->inv, c->m->id, name, &cmd, &e) != INV_OK) {
		snprintf(c->err, sizeof c->err, "%s command lost", name);
		r = DEP_ERROR;
	} else if (strcmp(cmd.state, "done") == 0) {
		r = DEP_DONE;
	} else if (strcmp(cmd.state, "failed") == 0) {
		snprintf(c->err, sizeof c->err, "agent: %s failed: %.400s", name, cmd.message);
		r = DEP_ERROR;
	} else if ((quiet = agent_quiet_ms(c)) >= AGENT_ALIVE_MS) {
		snprintf(c->err, sizeof c->err,
			 "agent silent for %lld s (no heartbeat within %d s) during %s",
			 (long long)(quiet / 1000), AGENT_ALIVE_S, name);
		r = DEP_ERROR;
	} else if (quiet >= 0) {
		c->wake_in_ms = AGENT_ALIVE_MS - quiet + 500;
	} else if (boot_overdue(c, cmd.created_at, "the agent")) {
		r = DEP_ERROR; /* the command was queued at the agent's boot */
	}
	c->phase_out = "agent";
	inv_command_clear(&cmd);
	return r;
}

/* Starts (phase "") or checks (phase "agent") one command. An external one
 * (the facts the agent reports as it starts) is expected before the machine
 * boots, once (a replay after a BMC wait keeps it): an agent that is up
 * before its power-on is confirmed finds it waiting instead of reporting to
 * nobody, and the step sees at once that it did. */
static enum dep_result run_command(struct deploy_ctx *c, const char *name, const char *args,
				   bool external, bool reboot)
{
	if (c->m->phase[0])
		return check_command(c, name);
	if (external && !c->replay && queue_command(c, name, args, true) == DEP_ERROR)
		return DEP_ERROR;
	if (!ensure_agent(c, reboot))
		return DEP_ABORT;
	if (external) /* it may have come while the power-on was confirmed */
		return check_command(c, name);
	return queue_command(c, name, args, false);
}

static enum dep_result pxe_inspect(struct deploy_ctx *c)
{
	/* Always a fresh boot: the agent reports its facts when it starts. */
	enum dep_result r = run_command(c, "inspect", "{}", true, true);
	if (r != DEP_DONE)
		return r;
	struct inv_machine m = {0};
	struct inv_err e = {0};
	if (inv_machine_get(c->lc->inv, c->m->id, &m, &e) == INV_OK && m.facts_json)
		c->facts_json = strdup(m.facts_json);
	inv_machine_clear(&m);
	if (!c->facts_json) {
		snprintf(c->err, sizeof c->err, "agent finished inspection without facts");
		return DEP_ERROR;
	}
	return DEP_DONE;
}

static enum dep_result pxe_clean(struct deploy_ctx *c)
{
	return run_command(c, AGENT_CMD_NAME_WIPE, "{\"" AGENT_WIPE_FULL "\":false}", false, false);
}

/* The machine's static network for the metadata (AGENT_META_NETWORK):
 * its address in the allocation, the allocation's gateway and
 * nameservers. NULL with c->err set when the allocation has a static
 * network but no address for this machine. */
static json_t *static_network(struct deploy_ctx *c, const struct inv_allocation *al)
{
	const char *address = NULL;
	for (size_t i = 0; i < al->nmachines; i++)
		if (!al->machines[i].detached && strcmp(al->machines[i].id, c->m->id) == 0)
			address = al->machines[i].address;
	json_t *net = json_loads(al->network_json, 0, NULL);
	if (!net || !address || !*address) {
		snprintf(c->err, sizeof c->err,
			 "allocation %s has a static network but no "
			 "address for this machine",
			 al->id);
		json_decref(net);
		return NULL;
	}
	json_t *gw = json_object_get(net, "gateway");
	json_t *o = json_pack("{s:s, s:O}", AGENT_NET_ADDRESS, address, AGENT_NET_NAMESERVERS,
			      json_object_get(net, "nameservers"));
	if (o && json_is_string(gw))
		json_object_set(o, AGENT_NET_GATEWAY, gw);
	json_decref(net);
	return o;
}

/* The metadata the agent writes to the disk (and the config drive's
 * contents): user_data is read here only, never kept or logged. */
static json_t *image_metadata(struct deploy_ctx *c, const struct inv_allocation *al,
			      const char *instance_token)
{
	json_t *keys = json_loads(al->ssh_keys_json ? al->ssh_keys_json : "[]", 0, NULL);
	json_t *meta =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:b}", AGENT_META_MACHINE_ID, c->m->id,
		      AGENT_META_ALLOCATION_ID, al->id, AGENT_META_HOSTNAME, c->m->name,
		      AGENT_META_API_URL, c->lc->boot_url, AGENT_META_TOKEN, instance_token,
		      AGENT_META_SSH_KEYS, keys ? keys : json_array(), AGENT_META_CONFIG_DRIVE, 1);
	char *user_data = NULL;
	struct inv_err e = {0};
	if (inv_allocation_user_data(c->lc->inv, al->id, &user_data, &e) != INV_OK) {
		snprintf(c->err, sizeof c->err, "cannot read the user data: %s", e.message);
		json_decref(meta);
		return NULL;
	}
	if (meta && user_data)
		json_object_set_new(meta, AGENT_META_USER_DATA, json_string(user_data));
	free(user_data);
	json_t *net = al->network_json ? static_network(c, al) : NULL;
	if (al->network_json && !net) {
		json_decref(meta);
		return NULL;
	}
	if (meta && net)
		json_object_set_new(meta, AGENT_META_NETWORK, net);
	return meta;
}

static char *image_args(struct deploy_ctx *c, const struct inv_image *img,
			const struct inv_allocation *al, const char *instance_token)
{
	/* every image is served from the store, URL images too (fetched
	 * there): machines need to reach only the boot listener */
	char url[700];
	snprintf(url, sizeof url, "%s/images/%s", c->lc->boot_url, img->name);
	json_t *meta = image_metadata(c, al, instance_token);
	if (!meta)
		return NULL;
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:o}", AGENT_IMAGE_URL, url, AGENT_IMAGE_FORMAT,
			      img->format, AGENT_IMAGE_SHA256, img->sha256, AGENT_IMAGE_SIZE,
			      (json_int_t)img->size, AGENT_IMAGE_METADATA, meta);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* The write_image command's arguments with a new one-time instance token:
 * the deployed OS proves it booted with it. Issued after the agent's boot,
 * which ends every earlier token of the machine. NULL with c->err set. */
static char *write_args(struct deploy_ctx *c, const struct inv_image *img,
			const struct inv_allocation *al)
{
	char secret[80], hash[65];
	struct inv_err e = {0};
	int64_t ttl = (int64_t)c->lc->limits.deploy_timeout_s * 1000 + 3600000;
	if (tok_new_secret(secret, sizeof secret) != 0 ||
	    (tok_hash(secret, hash), inv_boot_token_add(c->lc->inv, hash, c->m->id, "instance",
							lc_now(c->lc) + ttl, &e) != INV_OK)) {
		snprintf(c->err, sizeof c->err, "cannot issue the instance token: %s", e.message);
		return NULL;
	}
	return image_args(c, img, al, secret);
}

static enum dep_result pxe_write(struct deploy_ctx *c, const struct inv_image *img,
				 const struct inv_allocation *al)
{
	enum dep_result r;
	if (c->m->phase[0]) {
		r = check_command(c, AGENT_CMD_NAME_WRITE_IMAGE);
	} else if (!ensure_agent(c, false)) {
		r = DEP_ABORT;
	} else {
		char *args = write_args(c, img, al);
		r = args ? queue_command(c, AGENT_CMD_NAME_WRITE_IMAGE, args, false) : DEP_ERROR;
		free(args);
	}
	if (r != DEP_DONE)
		return r;
	/* Expect the deployed OS's "booted" call before the engine reboots
	 * the machine into it: once. A replay (after the boot device or the
	 * cycle waited for the BMC) keeps the first expectation, which the OS
	 * may have met already while the cycle was being confirmed. */
	char id[INV_ID_LEN];
	struct inv_err e = {0};
	if (c->replay)
		return DEP_DONE;
	if (inv_command_add(c->lc->inv, c->m->id, "booted", "{}", true, id, &e) != INV_OK) {
		snprintf(c->err, sizeof c->err, "cannot expect the booted call: %s", e.message);
		return DEP_ERROR;
	}
	return DEP_DONE;
}

static enum dep_result pxe_booted(struct deploy_ctx *c)
{
	struct inv_command cmd = {0};
	struct inv_err e = {0};
	enum dep_result r = DEP_PENDING;
	c->phase_out = "disk";
	if (inv_command_latest(c->lc->inv, c->m->id, "booted", &cmd, &e) != INV_OK) {
		snprintf(c->err, sizeof c->err, "booted expectation lost");
		r = DEP_ERROR;
	} else if (strcmp(cmd.state, "done") == 0) {
		r = DEP_DONE;
	} else if (strcmp(cmd.state, "failed") == 0) {
		snprintf(c->err, sizeof c->err, "deployed OS: %.400s", cmd.message);
		r = DEP_ERROR;
	} else if (boot_overdue(c, cmd.created_at, "the deployed OS")) {
		r = DEP_ERROR; /* expected right before the cycle into it */
	}
	inv_command_clear(&cmd);
	return r;
}

/* Warming: the agent boots unless the machine is on already, and the
 * machine is warm once its agent holds a session (it polls for commands
 * while it waits). Looked at again every few seconds meanwhile. */
static enum dep_result pxe_warm(struct deploy_ctx *c)
{
	if (agent_alive(c))
		return DEP_DONE;
	if (strcmp(c->m->power, "on") != 0 && !c->boot_agent(c->step))
		return DEP_ABORT;
	c->phase_out = INV_PHASE_WARMING;
	c->wake_in_ms = 5000;
	return DEP_PENDING;
}

const struct deploy_driver deploy_pxe = {
    .name = "pxe",
    .inspect = pxe_inspect,
    .clean = pxe_clean,
    .write_image = pxe_write,
    .wait_booted = pxe_booted,
    .warm = pxe_warm,
};
