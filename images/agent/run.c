/* run.c — the agent's life: lookup, inventory, then commands until a
 * reboot / poweroff or a failure it cannot get past. */
#include "agent.h"

#include <string.h>

/* Last words: an "error" heartbeat carrying the reason, so provisiond can
 * record why the agent stopped (best effort, one attempt). */
static void report_fatal(const struct agent_session *s, struct agent_status *st,
			 const struct agent_err *e)
{
	agent_log(AGENT_LOG_ERROR, "giving up: %s", e->msg);
	pthread_mutex_lock(&st->lock);
	snprintf(st->state, sizeof(st->state), AGENT_HB_STATE_ERROR);
	snprintf(st->message, sizeof(st->message), "%s", e->msg);
	pthread_mutex_unlock(&st->lock);
	struct agent_err ignored = {0};
	if (agent_post_heartbeat(s, st, &ignored) != AGENT_OK)
		agent_log(AGENT_LOG_WARN, "could not report the failure: %s", ignored.msg);
}

static enum agent_rc command_loop(const struct agent_config *cfg, const struct agent_session *s,
				  struct agent_status *st, enum agent_after *after,
				  struct agent_err *err)
{
	*after = AGENT_AFTER_NOTHING;
	while (*after == AGENT_AFTER_NOTHING) {
		json_t *cmd = NULL;
		enum agent_rc rc = agent_poll_command(s, cfg->poll_wait_s, &cmd, err);
		if (rc == AGENT_E_PROTO) {
			agent_log(AGENT_LOG_WARN, "%s", err->msg);
			agent_sleep(agent_jitter(cfg->retry_base_s, 0.2));
			continue;
		}
		if (rc)
			return rc;
		if (!cmd)
			continue;
		rc = agent_command_run(cfg, s, st, cmd, after, err);
		json_decref(cmd);
		if (rc == AGENT_E_PROTO)
			agent_log(AGENT_LOG_WARN, "%s", err->msg);
		else if (rc)
			return rc;
	}
	return AGENT_OK;
}

/* Everything after a successful lookup; failures are reported. */
static enum agent_rc serve(const struct agent_config *cfg, const struct agent_session *s,
			   struct agent_err *err)
{
	struct agent_status st;
	struct agent_heartbeat *hb = NULL;
	enum agent_after after = AGENT_AFTER_NOTHING;
	json_t *facts = NULL;
	agent_status_init(&st);
	enum agent_rc rc = agent_facts_collect(cfg->sysroot, &facts, err);
	if (rc == AGENT_OK)
		rc = agent_post_inventory(s, facts, err);
	if (rc == AGENT_OK)
		agent_log(AGENT_LOG_INFO, "inventory sent; waiting for commands");
	if (rc == AGENT_OK)
		rc = agent_heartbeat_start(s, &st, &hb, err);
	if (rc == AGENT_OK)
		rc = command_loop(cfg, s, &st, &after, err);
	agent_heartbeat_stop(hb);
	if (rc == AGENT_OK)
		rc = agent_power(cfg, after, err);
	if (rc)
		report_fatal(s, &st, err);
	json_decref(facts);
	agent_status_destroy(&st);
	return rc;
}

enum agent_rc agent_run(const struct agent_config *cfg, struct agent_err *err)
{
	enum agent_rc rc = agent_config_check(cfg, err);
	if (rc)
		return rc;
	json_t *nics = agent_facts_nics(cfg->sysroot);
	json_t *macs = agent_facts_macs(nics);
	json_decref(nics);
	if (!macs || json_array_size(macs) == 0) {
		json_decref(macs);
		return agent_fail(err, AGENT_E_IO, "no network interface with a MAC address");
	}
	struct agent_session s;
	agent_log(AGENT_LOG_INFO, "lookup at %s (%s mode, %zu MACs)", cfg->url,
		  cfg->mode == AGENT_MODE_DISCOVER ? AGENT_MODE_NAME_DISCOVER
						   : AGENT_MODE_NAME_AGENT,
		  json_array_size(macs));
	rc = agent_lookup(cfg, macs, &s, err);
	json_decref(macs);
	if (rc)
		return agent_err_prefix(err, "lookup");
	agent_log_set_machine(s.machine_id);
	agent_log(AGENT_LOG_INFO, "machine %s, heartbeat every %d s", s.machine_id, s.heartbeat_s);
	rc = serve(cfg, &s, err);
	agent_session_free(&s);
	return rc;
}
