/* status.c — what the agent is doing, shared with the heartbeat thread. */
#include "agent.h"

#include <string.h>

_Static_assert(sizeof(((struct agent_status *)0)->message) <= AGENT_MAX_HEARTBEAT_MESSAGE + 1,
	       "the heartbeat message fits the protocol's limit");

void agent_status_init(struct agent_status *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	util_cond_init(&s->wake); /* heartbeat.c waits on util's clock */
	snprintf(s->state, sizeof(s->state), AGENT_HB_STATE_IDLE);
}

void agent_status_destroy(struct agent_status *s)
{
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
}

void agent_status_set_busy(struct agent_status *s, const char *command_id)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->state, sizeof(s->state), AGENT_HB_STATE_BUSY);
	snprintf(s->command_id, sizeof(s->command_id), "%s", command_id ? command_id : "");
	s->message[0] = '\0';
	atomic_store(&s->progress.bytes, 0);
	atomic_store(&s->progress.total, 0);
	pthread_mutex_unlock(&s->lock);
}

void agent_status_set_idle(struct agent_status *s)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->state, sizeof(s->state), AGENT_HB_STATE_IDLE);
	s->command_id[0] = '\0';
	s->message[0] = '\0';
	atomic_store(&s->progress.bytes, 0);
	atomic_store(&s->progress.total, 0);
	pthread_mutex_unlock(&s->lock);
}

json_t *agent_status_heartbeat_body(struct agent_status *s)
{
	pthread_mutex_lock(&s->lock);
	json_t *body = json_pack("{s:s}", AGENT_HB_STATE, s->state);
	if (body) {
		json_object_set_new(body, AGENT_HB_COMMAND_ID,
				    s->command_id[0] ? json_string(s->command_id) : json_null());
		unsigned long long total = atomic_load(&s->progress.total);
		unsigned long long bytes = atomic_load(&s->progress.bytes);
		json_object_set_new(body, AGENT_HB_PROGRESS,
				    s->command_id[0]
					? json_pack("{s:I, s:I}", AGENT_HB_BYTES, (json_int_t)bytes,
						    AGENT_HB_TOTAL, (json_int_t)total)
					: json_null());
		if (s->message[0])
			json_object_set_new(body, AGENT_HB_MESSAGE, agent_json_text(s->message));
	}
	pthread_mutex_unlock(&s->lock);
	return body;
}
