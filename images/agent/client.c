/* client.c — the calls of docs/agent-protocol.md, one function each. */
#include "agent.h"

#include <stdlib.h>
#include <string.h>

#define CALL_TIMEOUT_S 30L

static enum agent_rc read_session(const json_t *reply, struct agent_session *out,
				  struct agent_err *err)
{
	const char *id = json_string_value(json_object_get(reply, AGENT_LOOKUP_MACHINE_ID));
	const char *token = json_string_value(json_object_get(reply, AGENT_LOOKUP_TOKEN));
	json_t *hb = json_object_get(reply, AGENT_LOOKUP_HEARTBEAT_S);
	if (!id || !*id || !token || !*token)
		return agent_fail(err, AGENT_E_PROTO, "lookup reply lacks machine_id or token");
	if (hb && (!json_is_integer(hb) || json_integer_value(hb) < AGENT_HEARTBEAT_MIN_S ||
		   json_integer_value(hb) > AGENT_HEARTBEAT_MAX_S))
		return agent_fail(err, AGENT_E_PROTO, "lookup reply: bad heartbeat_s");
	if (hb)
		out->heartbeat_s = (int)json_integer_value(hb);
	if (agent_set_str(&out->machine_id, id, err) ||
	    agent_set_str(&out->client.token, token, err))
		return AGENT_E_NOMEM;
	return AGENT_OK;
}

enum agent_rc agent_lookup(const struct agent_config *cfg, const json_t *macs,
			   struct agent_session *out, struct agent_err *err)
{
	memset(out, 0, sizeof(*out));
	out->heartbeat_s = cfg->heartbeat_s;
	const char *boot_token = cfg->mode == AGENT_MODE_AGENT ? cfg->token : NULL;
	enum agent_rc rc = agent_client_init(&out->client, cfg, cfg->url, boot_token, err);
	if (rc)
		return rc;
	json_t *body = json_pack("{s:O}", AGENT_LOOKUP_MACS, (json_t *)macs);
	json_t *reply = NULL;
	rc = body ? agent_http_call(&out->client, "POST", AGENT_PATH_LOOKUP, body, CALL_TIMEOUT_S,
				    &reply, NULL, err)
		  : agent_fail(err, AGENT_E_NOMEM, "out of memory");
	if (rc == AGENT_OK)
		rc = read_session(reply, out, err);
	if (rc == AGENT_OK && cfg->machine && strcmp(cfg->machine, out->machine_id) != 0)
		agent_log(AGENT_LOG_WARN, "kernel says machine %s, lookup answered %s",
			  cfg->machine, out->machine_id);
	json_decref(body);
	json_decref(reply);
	if (rc)
		agent_session_free(out);
	return rc;
}

void agent_session_free(struct agent_session *s)
{
	if (!s)
		return;
	agent_client_free(&s->client);
	free(s->machine_id);
	s->machine_id = NULL;
}

enum agent_rc agent_post_inventory(const struct agent_session *s, const json_t *facts,
				   struct agent_err *err)
{
	return agent_http_call(&s->client, "POST", AGENT_PATH_INVENTORY, facts, CALL_TIMEOUT_S,
			       NULL, NULL, err);
}

enum agent_rc agent_poll_command(const struct agent_session *s, int wait_s, json_t **cmd,
				 struct agent_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), AGENT_PATH_COMMAND "?" AGENT_ARG_WAIT "=%d", wait_s);
	*cmd = NULL;
	long status = 0;
	enum agent_rc rc = agent_http_call(&s->client, "GET", path, NULL, wait_s + CALL_TIMEOUT_S,
					   cmd, &status, err);
	if (rc == AGENT_OK && status == 200 && !json_is_object(*cmd)) {
		json_decref(*cmd);
		*cmd = NULL;
		return agent_fail(err, AGENT_E_PROTO, "command reply is not a JSON object");
	}
	if (rc == AGENT_OK && status != 200) {
		json_decref(*cmd);
		*cmd = NULL;
	}
	return rc;
}

/* Results carry at most RESULT_MESSAGE_MAX bytes of message, with room to
 * spare under the protocol's limit; cut on a UTF-8 character boundary. */
#define RESULT_MESSAGE_MAX 480
_Static_assert(RESULT_MESSAGE_MAX < AGENT_MAX_RESULT_MESSAGE, "result message limit");

static void cut_message(const char *in, char *out, size_t size)
{
	size_t n = strlen(in);
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)in[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, in, n);
	out[n] = '\0';
}

enum agent_rc agent_post_result(const struct agent_session *s, const char *id, bool ok,
				const char *message, json_t *details, struct agent_err *err)
{
	char msg[RESULT_MESSAGE_MAX + 1];
	cut_message(message ? message : "", msg, sizeof(msg));
	json_t *body = json_pack("{s:s, s:b, s:o, s:o}", AGENT_RESULT_ID, id, AGENT_RESULT_OK, ok,
				 AGENT_RESULT_MESSAGE, agent_json_text(msg), AGENT_RESULT_DETAILS,
				 details ? json_incref(details) : json_object());
	if (!body)
		return agent_fail(err, AGENT_E_NOMEM, "cannot build the result body");
	enum agent_rc rc = agent_http_call(&s->client, "POST", AGENT_PATH_RESULT, body,
					   CALL_TIMEOUT_S, NULL, NULL, err);
	json_decref(body);
	return rc;
}

enum agent_rc agent_post_heartbeat(const struct agent_session *s, struct agent_status *st,
				   struct agent_err *err)
{
	json_t *body = agent_status_heartbeat_body(st);
	if (!body)
		return agent_fail(err, AGENT_E_NOMEM, "cannot build the heartbeat body");
	enum agent_rc rc =
	    agent_http_once(&s->client, "POST", AGENT_PATH_HEARTBEAT, body, 10L, NULL, NULL, err);
	json_decref(body);
	return rc;
}
