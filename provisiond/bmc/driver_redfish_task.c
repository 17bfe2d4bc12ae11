/* driver_redfish_task.c - following a task monitor (202 Accepted + Location).
 *
 * A BMC that cannot finish a request at once answers 202 with a task monitor URI.
 * The monitor answers 202 while the task runs and the operation's own answer once
 * it is done; some BMCs answer 200 with the Task resource instead, whose TaskState
 * tells. The wait ends by the driver call's deadline (options.timeout_ms): a task
 * still running then is a BMC_ERR_TIMEOUT naming it. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "provisiond/bmc/driver_redfish.h"

#define RF_TASK_POLL_MS 500

static const char *const running_states[] = {"New",	"Starting",    "Running",  "Suspended",
					     "Pending", "Interrupted", "Stopping", "Cancelling",
					     "Service", NULL};

static bool task_running(const struct rf_resp *r)
{
	const char *s = json_string_value(json_object_get(r->body, "TaskState"));

	if (r->status == 202)
		return true;
	for (int i = 0; s != NULL && running_states[i] != NULL; i++)
		if (strcmp(s, running_states[i]) == 0)
			return true;
	return false;
}

/* A finished Task resource that did not complete, or reports a bad status. */
static enum bmc_status task_failed(struct rf_inst *in, const char *what, const struct rf_resp *r,
				   struct bmc_error *e)
{
	const char *state = json_string_value(json_object_get(r->body, "TaskState"));
	const char *status = json_string_value(json_object_get(r->body, "TaskStatus"));
	const json_t *msgs = json_object_get(r->body, "Messages");
	const char *msg = json_string_value(json_object_get(json_array_get(msgs, 0), "Message"));

	if (state == NULL || (strcmp(state, "Completed") == 0 &&
			      (status == NULL || strcmp(status, "Critical") != 0)))
		return BMC_OK;
	return bmc_error_set(e, BMC_ERR_FAILED, NULL, "BMC at %s: task for %s ended %s%s%s%s%s%s",
			     in->c.base, what, state, status ? " (" : "", status ? status : "",
			     status ? ")" : "", msg ? ": " : "", msg ? msg : "");
}

static void sleep_ms(long long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

enum bmc_status rf_task_wait(struct rf_inst *in, const char *what, struct rf_resp *r,
			     struct bmc_error *e)
{
	char monitor[sizeof(r->location)];
	enum bmc_status st;

	if (r->location[0] == '\0')
		return BMC_OK; /* accepted, nothing to follow: confirmation will tell */
	snprintf(monitor, sizeof(monitor), "%s", r->location);
	for (;;) {
		long long wait = r->retry_after_s > 0 ? r->retry_after_s * 1000 : RF_TASK_POLL_MS;
		if (rf_now_ms() + wait >= in->deadline)
			return bmc_error_set(e, BMC_ERR_TIMEOUT, NULL,
					     "BMC at %s: task %s for %s still running after %d ms",
					     in->c.base, rf_path_of(monitor), what, in->timeout_ms);
		sleep_ms(wait);
		rf_resp_free(r);
		st = rf_request(in, "GET", monitor, NULL, NULL, r, e);
		if (st != BMC_OK)
			return st;
		if (r->status >= 300)
			return rf_http_error(in, what, r, e);
		if (!task_running(r))
			return task_failed(in, what, r, e);
	}
}
