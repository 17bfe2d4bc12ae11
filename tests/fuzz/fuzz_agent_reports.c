/* fuzz_agent_reports.c - the deploy agent's reports other than its facts
 * (fuzz_facts), as provisiond's boot-plane handlers read them: the lookup's
 * MAC list (mac_list_parse with the agent's limits), the heartbeat, the
 * command result (its details are stored re-serialized) and the deployed
 * OS's booted call, each through its route's body schema first, as
 * api_dispatch does. Every input is tried as each report. */
#include "fuzz_common.h"
#include "images/agent/protocol.h"
#include "provisiond/macs.h"
#include "provisiond/routes.h"

/* The body through schema s as dispatch parses it; NULL when refused,
 * which must be a 400 with an error body. */
static json_t *parsed(struct http_req *r, const uint8_t *data, size_t size,
		      const struct api_schema *s)
{
	memset(r, 0, sizeof *r);
	r->fd = -1;
	r->body = fuzz_str(data, size);
	r->body_len = size;
	json_t *o = api_body(r, s->fields, s->n);
	FUZZ_CHECK(o ? json_is_object(o) : r->status == 400 && r->resp != NULL);
	return o;
}

static void done(struct http_req *r, json_t *o)
{
	json_decref(o);
	free(r->resp);
	free(r->body);
}

/* agent_api_lookup's MACs: 1..AGENT_MAX_LOOKUP_MACS distinct canonical
 * MACs, or an error naming the field. */
static void lookup(json_t *o)
{
	char macs[INV_MAX_MACS][MAC_STR_LEN], again[MAC_STR_LEN];
	struct err e = {0};
	int n = -1;
	if (mac_list_parse(json_object_get(o, AGENT_LOOKUP_MACS), AGENT_LOOKUP_MACS, 1,
			   AGENT_MAX_LOOKUP_MACS, macs, &n, &e) != ERR_OK) {
		FUZZ_CHECK(e.status == ERR_INVALID && strcmp(e.field, AGENT_LOOKUP_MACS) == 0 &&
			   fuzz_starts(e.message, AGENT_LOOKUP_MACS));
		return;
	}
	FUZZ_CHECK(n >= 1 && n <= AGENT_MAX_LOOKUP_MACS);
	for (int i = 0; i < n; i++) {
		FUZZ_CHECK(mac_canonical(macs[i], again) && strcmp(again, macs[i]) == 0);
		for (int j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(macs[i], macs[j]) != 0);
	}
}

/* agent_api_result: a command id, ok, a bounded message; the details are
 * stored as compact JSON that reads back as the same value. */
static void result(json_t *o)
{
	const char *id = json_string_value(json_object_get(o, AGENT_RESULT_ID));
	const char *msg = json_string_value(json_object_get(o, AGENT_RESULT_MESSAGE));
	json_t *det = json_object_get(o, AGENT_RESULT_DETAILS);
	FUZZ_CHECK(id && api_valid_uuid(id) &&
		   json_is_boolean(json_object_get(o, AGENT_RESULT_OK)));
	FUZZ_CHECK(!msg || strlen(msg) <= AGENT_MAX_RESULT_MESSAGE);
	if (!det)
		return;
	char *details = json_dumps(det, JSON_COMPACT);
	FUZZ_CHECK(details);
	json_t *back = json_loads(details, 0, NULL);
	FUZZ_CHECK(back && json_equal(back, det));
	json_decref(back);
	free(details);
}

/* agent_api_heartbeat reads the state and, for "error", the message. */
static void heartbeat(json_t *o)
{
	const char *state = json_string_value(json_object_get(o, AGENT_HB_STATE));
	const char *msg = json_string_value(json_object_get(o, AGENT_HB_MESSAGE));
	json_t *progress = json_object_get(o, AGENT_HB_PROGRESS);
	FUZZ_CHECK(!state || (*state && strlen(state) <= 16));
	FUZZ_CHECK(!msg || strlen(msg) <= AGENT_MAX_HEARTBEAT_MESSAGE);
	/* {"bytes":N,"total":N} or null (images/agent/protocol.h) */
	FUZZ_CHECK(!progress || json_is_object(progress) || json_is_null(progress));
}

/* agent_api_booted compares the claimed id with the token's machine. */
static void booted(json_t *o)
{
	const char *id = json_string_value(json_object_get(o, AGENT_BOOTED_MACHINE_ID));
	FUZZ_CHECK(!id || (strlen(id) == 36 && api_valid_uuid(id)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const struct api_schema *schema;
		void (*check)(json_t *o);
	} reports[] = {
	    {.schema = &lookup_schema, .check = lookup},
	    {.schema = &heartbeat_schema, .check = heartbeat},
	    {.schema = &result_schema, .check = result},
	    {.schema = &booted_schema, .check = booted},
	};
	for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++) {
		struct http_req r;
		json_t *o = parsed(&r, data, size, reports[i].schema);
		if (o)
			reports[i].check(o);
		done(&r, o);
	}
	return 0;
}
