/* commands.c — dispatch of the commands the server sends; every command
 * gets exactly one result, success or failure. */
#include "agent.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum agent_rc (*agent_cmd_fn)(const struct agent_config *cfg, const struct agent_session *s,
				      struct agent_status *st, const json_t *args, json_t **details,
				      enum agent_after *after, struct agent_err *err);

static enum agent_rc cmd_wipe(const struct agent_config *cfg, const struct agent_session *s,
			      struct agent_status *st, const json_t *args, json_t **details,
			      enum agent_after *after, struct agent_err *err)
{
	(void)s, (void)after;
	json_t *full = json_object_get(args, AGENT_WIPE_FULL);
	if (full && !json_is_boolean(full))
		return agent_fail(err, AGENT_E_USAGE, "wipe: args.full must be a boolean");
	return agent_wipe_all(cfg, json_is_true(full), &st->progress, details, err);
}

static enum agent_rc cmd_write_image(const struct agent_config *cfg, const struct agent_session *s,
				     struct agent_status *st, const json_t *args, json_t **details,
				     enum agent_after *after, struct agent_err *err)
{
	(void)after;
	struct agent_image_args a;
	enum agent_rc rc = agent_image_args_parse(args, cfg, &a, err);
	if (rc == AGENT_OK)
		rc = agent_image_write(&s->client, &a, &st->progress, details, err);
	agent_image_args_free(&a);
	return rc;
}

/* Checked before the result is sent: once "ok" went out the agent must be
 * able to act on it. */
static enum agent_rc power_prepare(const struct agent_config *cfg, enum agent_after what,
				   enum agent_after *after, struct agent_err *err)
{
	sync();
	if (!cfg->no_power && geteuid() != 0)
		return agent_fail(err, AGENT_E_IO, "reboot(2) needs root (running as uid %u)",
				  (unsigned)geteuid());
	*after = what;
	return AGENT_OK;
}

static enum agent_rc cmd_reboot(const struct agent_config *cfg, const struct agent_session *s,
				struct agent_status *st, const json_t *args, json_t **details,
				enum agent_after *after, struct agent_err *err)
{
	(void)s, (void)st, (void)args, (void)details;
	return power_prepare(cfg, AGENT_AFTER_REBOOT, after, err);
}

static enum agent_rc cmd_poweroff(const struct agent_config *cfg, const struct agent_session *s,
				  struct agent_status *st, const json_t *args, json_t **details,
				  enum agent_after *after, struct agent_err *err)
{
	(void)s, (void)st, (void)args, (void)details;
	return power_prepare(cfg, AGENT_AFTER_POWEROFF, after, err);
}

static const struct {
	const char *name;
	agent_cmd_fn fn;
} command_table[] = {
    {AGENT_CMD_NAME_WIPE, cmd_wipe},
    {AGENT_CMD_NAME_WRITE_IMAGE, cmd_write_image},
    {AGENT_CMD_NAME_REBOOT, cmd_reboot},
    {AGENT_CMD_NAME_POWEROFF, cmd_poweroff},
};

static agent_cmd_fn find_command(const char *name)
{
	for (size_t i = 0; name && i < sizeof(command_table) / sizeof(command_table[0]); i++)
		if (strcmp(command_table[i].name, name) == 0)
			return command_table[i].fn;
	return NULL;
}

static char *success_message(const char *name, const json_t *details)
{
	char msg[256];
	json_t *bps = json_object_get(details, "bytes_per_sec");
	if (bps)
		snprintf(msg, sizeof(msg), "%s: %lld bytes at %.1f MB/s", name,
			 (long long)json_integer_value(json_object_get(details, "bytes")),
			 json_number_value(bps) / 1e6);
	else
		snprintf(msg, sizeof(msg), "%s: done", name);
	return strdup(msg);
}

enum agent_rc agent_command_run(const struct agent_config *cfg, const struct agent_session *s,
				struct agent_status *st, const json_t *cmd, enum agent_after *after,
				struct agent_err *err)
{
	const char *id = json_string_value(json_object_get(cmd, AGENT_CMD_ID));
	const char *name = json_string_value(json_object_get(cmd, AGENT_CMD_NAME));
	json_t *args = json_object_get(cmd, AGENT_CMD_ARGS);
	*after = AGENT_AFTER_NOTHING;
	if (!id || !*id)
		return agent_fail(err, AGENT_E_PROTO, "command without an id: cannot answer it");
	agent_cmd_fn fn = find_command(name);
	struct agent_err e = {0};
	json_t *details = NULL;
	agent_status_set_busy(st, id);
	agent_log(AGENT_LOG_INFO, "command %s: %s", id, name ? name : "(no name)");
	enum agent_rc rc =
	    fn ? fn(cfg, s, st, args, &details, after, &e)
	       : agent_fail(&e, AGENT_E_USAGE, "unknown command '%s'", name ? name : "");
	char *ok_msg = rc == AGENT_OK ? success_message(name, details) : NULL;
	if (rc)
		agent_log(AGENT_LOG_ERROR, "command %s (%s) failed: %s", id, name ? name : "",
			  e.msg);
	else
		agent_log(AGENT_LOG_INFO, "command %s ok: %s", id, ok_msg ? ok_msg : name);
	enum agent_rc sent =
	    agent_post_result(s, id, rc == AGENT_OK, rc ? e.msg : ok_msg, details, err);
	agent_status_set_idle(st);
	free(ok_msg);
	json_decref(details);
	if (sent && err && err->http_status == 409) {
		/* The server no longer waits for this command (superseded by a
		 * retry, or answered already): not a reason to stop serving. */
		agent_log(AGENT_LOG_WARN, "result of %s not wanted any more: %s", id, err->msg);
		*after = AGENT_AFTER_NOTHING;
		return AGENT_OK;
	}
	if (sent) {
		*after = AGENT_AFTER_NOTHING;
		return agent_err_prefix(err, "reporting the result of %s", id);
	}
	return AGENT_OK;
}
