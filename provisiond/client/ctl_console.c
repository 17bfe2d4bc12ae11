/* provisionctl machine console NAME [--follow]: a machine's serial console as
 * provisiond captured it (GET /v1/machines/{id}/console). --follow long-polls for
 * more from the end of each answer until interrupted (Ctrl-C ends it, like tail -f). */
#include <string.h>

#include "provisiond/client/ctl.h"
#include "util/util.h"

/* Long-poll length of --follow: below the server's default long_poll_max_s (60);
 * a server configured lower answers 400 on `wait`, and the loop then polls. */
#define FOLLOW_WAIT_S 20

static void show(struct ctl *ctl, const json_t *body, bool first)
{
	const char *data = json_string_value(json_object_get(body, "data"));

	if (ctl->json) {
		ctl_print_json(ctl->out, body);
	} else {
		if (first && json_is_true(json_object_get(body, "truncated")))
			fprintf(ctl->out, "[... older output dropped ...]\n");
		fputs(data != NULL ? data : "", ctl->out);
	}
	fflush(ctl->out);
}

/* One more answer of --follow; false ends the loop (with *code set). */
static bool follow_once(struct ctl *ctl, const char *id, long long *after, long *wait, int *code)
{
	struct pc_error err;
	json_t *body = NULL;
	pc_status rc = pc_machine_console(ctl->client, id, *after, *wait, &body, &err);

	if (rc == PC_E_API && err.http_status == 400 && strcmp(err.field, "wait") == 0 &&
	    *wait > 1) {
		*wait = 1; /* the server's long_poll_max_s is lower: poll every second */
		return true;
	}
	if (rc == PC_E_API && (err.http_status == 429 || err.http_status == 503)) {
		util_sleep_ms(1000 * (err.retry_after_s > 0 ? err.retry_after_s : 1));
		return true;
	}
	if (rc != PC_OK) {
		*code = ctl_fail(ctl, rc, &err);
		return false;
	}
	json_t *end = json_object_get(body, "end");
	if (json_is_integer(end))
		*after = (long long)json_integer_value(end);
	if (json_string_length(json_object_get(body, "data")) > 0 || ctl->json)
		show(ctl, body, false);
	json_decref(body);
	if (*wait == 1)
		util_sleep_ms(1000);
	return true;
}

int ctl_run_console(struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_args *a)
{
	struct pc_error err;
	json_t *body = NULL;
	const char *id = a->pos[0];
	long wait = FOLLOW_WAIT_S;
	int code = CTL_EXIT_OK;

	(void)cmd;
	pc_status rc = pc_machine_console(ctl->client, id, -1, 0, &body, &err);
	if (rc != PC_OK)
		return ctl_fail(ctl, rc, &err);
	show(ctl, body, true);
	long long after = (long long)json_integer_value(json_object_get(body, "end"));
	/* the server's machine id, so a rename while following changes nothing */
	char mid[64];
	snprintf(mid, sizeof(mid), "%s", json_string_value(json_object_get(body, "machine")));
	json_decref(body);
	if (!ctl_flag(a, "follow"))
		return CTL_EXIT_OK;
	while (follow_once(ctl, mid[0] ? mid : id, &after, &wait, &code))
		;
	return code;
}
