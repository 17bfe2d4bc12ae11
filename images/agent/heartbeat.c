/* heartbeat.c — the thread that POSTs /v1/agent/heartbeat every period
 * (jittered ±20 %) while the main thread long-polls or runs a command. */
#include "agent.h"

#include <errno.h>
#include <stdlib.h>

struct agent_heartbeat {
	pthread_t thread;
	const struct agent_session *session;
	struct agent_status *status;
};

/* Waits up to `seconds` or until stop is set; returns true when stopping. */
static bool wait_or_stop(struct agent_status *st, double seconds)
{
	int64_t until = util_now_ms() + (int64_t)(seconds * 1000.0);
	pthread_mutex_lock(&st->lock);
	while (!st->stop) {
		if (util_cond_wait_until_ms(&st->wake, &st->lock, until) == ETIMEDOUT)
			break;
	}
	bool stop = st->stop;
	pthread_mutex_unlock(&st->lock);
	return stop;
}

static void *heartbeat_main(void *arg)
{
	struct agent_heartbeat *hb = arg;
	double period = hb->session->heartbeat_s > 0 ? hb->session->heartbeat_s : 10;
	while (!wait_or_stop(hb->status, agent_jitter(period, 0.2))) {
		struct agent_err e = {0};
		if (agent_post_heartbeat(hb->session, hb->status, &e) != AGENT_OK)
			agent_log(AGENT_LOG_WARN, "heartbeat: %s", e.msg);
	}
	return NULL;
}

enum agent_rc agent_heartbeat_start(const struct agent_session *s, struct agent_status *st,
				    struct agent_heartbeat **out, struct agent_err *err)
{
	struct agent_heartbeat *hb = calloc(1, sizeof(*hb));
	if (!hb)
		return agent_fail(err, AGENT_E_NOMEM, "out of memory");
	hb->session = s;
	hb->status = st;
	pthread_mutex_lock(&st->lock);
	st->stop = false;
	pthread_mutex_unlock(&st->lock);
	int e = pthread_create(&hb->thread, NULL, heartbeat_main, hb);
	if (e) {
		free(hb);
		return agent_fail(err, AGENT_E_IO, "cannot start the heartbeat thread (error %d)",
				  e);
	}
	*out = hb;
	return AGENT_OK;
}

void agent_heartbeat_stop(struct agent_heartbeat *hb)
{
	if (!hb)
		return;
	pthread_mutex_lock(&hb->status->lock);
	hb->status->stop = true;
	pthread_cond_broadcast(&hb->status->wake);
	pthread_mutex_unlock(&hb->status->lock);
	pthread_join(hb->thread, NULL);
	free(hb);
}
