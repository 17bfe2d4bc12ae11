/* api_stream.c - GET /v1/stream: machine and allocation changes as
 * server-sent events (events.h), and GET /v1/bmc/circuits: the BMCs whose
 * circuit breaker is open.
 *
 * The stream is authorized like every route (Authorization: Bearer), so a
 * browser reads it with fetch() rather than EventSource, which cannot send
 * headers; a token never has to go into a URL. It runs on the poll thread
 * and then holds no thread at all (http_stream), counts against
 * [server] max_streams, and ends when provisiond drains. */
#include "provisiond/bmc/bmc.h"
#include "provisiond/events.h"
#include "provisiond/routes.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const stream_headers[] = {"Cache-Control", "no-cache", "X-Accel-Buffering", "no",
					     NULL};

void api_stream(struct api_call *c)
{
	struct http_req *r = c->r;
	if (!c->a->events || atomic_load(&c->a->draining)) {
		http_error(r, 503, "not_ready", NULL, "the event stream is not running");
		snprintf(r->retry_after, sizeof r->retry_after, "1");
		return;
	}
	struct event_reader *rd = event_reader_new(c->a->events, c->p->role, c->p->owner);
	if (!rd) {
		http_error(r, 500, "internal", NULL, "out of memory");
		return;
	}
	if (!http_stream(r, "text/event-stream", event_reader_fill, event_reader_free, rd)) {
		event_reader_free(rd);
		return;
	}
	r->headers = stream_headers;
}

static void add_circuit(void *ctx, const struct bmc_circuit *b)
{
	json_array_append_new(ctx,
			      json_pack("{s:s, s:s, s:i, s:I}", "machine", b->key, "state",
					b->open ? "open" : "half_open", "failures", b->failures,
					"retry_in_ms", (json_int_t)b->retry_in_ms));
}

void api_bmc_circuits(struct api_call *c)
{
	json_t *items = json_array();
	bmc_manager_circuits(c->a->bmc, add_circuit, items);
	api_json(c->r, 200, json_pack("{s:o}", "items", items));
}
