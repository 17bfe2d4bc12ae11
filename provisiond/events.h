/* events.h - the change feed behind GET /v1/stream (server-sent events).
 *
 * One thread (the hub) watches the inventory: after each commit (at most
 * five times a second) it reads the machines and the live allocations,
 * compares them with what it saw last, and appends one event per changed
 * object to a ring of recent events: "machine" (the machine as
 * GET /v1/machines lists it), "machine_deleted" ({"id"}), "allocation"
 * (as GET /v1/allocations/{id} answers). It reads only while a stream is
 * open, so an idle console costs nothing.
 *
 * Each stream has a reader: its own cursor into the ring and the caller's
 * view (a service sees only its own owner's machines, without "bmc", and
 * allocations; staff see everything). A reader that falls more than the
 * ring behind gets a "resync" event (reload everything) instead of the
 * events it missed. A reader starts with "hello" (after the hub holds a
 * snapshot taken after the reader joined, so a client that loads its view
 * on hello misses nothing) and a "retry" hint, and sends a comment every
 * 10 s so a client that went away is noticed (and its stream closed).
 *
 * Thread-safety: every function may be called from any thread. */
#ifndef PROVISIOND_EVENTS_H
#define PROVISIOND_EVENTS_H

#include "provisiond/api.h"

#include <stddef.h>

struct event_hub;
struct event_reader;

/* Starts the hub of a (which must have a->inv and a->api). *out is NULL on
 * failure, with e saying why. */
enum err_status event_hub_start(struct app *a, struct event_hub **out, struct err *e);
/* Stops the hub; readers still open end at their next fill. NULL ok.
 * Readers must be freed (their streams ended) before event_hub_free(). */
void event_hub_stop(struct event_hub *h);
void event_hub_free(struct event_hub *h);

/* A reader for one stream of a caller with role and owner (borrowed).
 * NULL when out of memory. Freed by event_reader_free (accepts NULL). */
struct event_reader *event_reader_new(struct event_hub *h, enum role role, const char *owner);
void event_reader_free(void *reader);
/* http_stream_fill for a reader (see http.h): the next bytes of the
 * stream, 0 when there is nothing yet, -1 once the hub stopped. */
long event_reader_fill(void *reader, char *buf, size_t max);

/* Events appended since the start (for /metrics and tests). */
unsigned long event_hub_events(struct event_hub *h);

#endif
