/* http.h - the HTTP front: libmicrohttpd listeners, routing, a worker pool.
 *
 * MHD's poll threads only parse and answer; a route handler that may block
 * (writes wait for the group commit, long-polls wait for changes) runs on a
 * worker: the connection is suspended, the worker fills the response and
 * resumes it (see docs/architecture.md). Handlers of routes marked inline
 * run on the poll thread and must not block.
 *
 * Request memory belongs to the server: handlers fill the response fields
 * with http_reply*() and never free the request. */
#ifndef PROVISIOND_HTTP_H
#define PROVISIOND_HTTP_H

#include "util/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_MAX_ARGS 16    /* more query arguments: 400 at once */
#define HTTP_MAX_HEADERS 64 /* more request headers: 431 at once */
#define HTTP_MAX_PARAMS 4

struct http_req;
typedef void (*http_handler)(struct http_req *r, void *app);

/* What the HTTP layer routes on. An application's route table is an array
 * of its own structs that each start with a struct http_route (see
 * struct http_table); the rest of the entry is the application's. */
struct http_route {
	const char *method;  /* GET, POST, ... */
	const char *pattern; /* "/v1/machines/{}/events": {} captures one segment */
	bool inline_ok;	     /* cheap and non-blocking: run on the poll thread */
	bool may_defer;	     /* inline_ok, but its handler may ask for a worker */
	bool secret_path;    /* captured segments are secrets: logs show the pattern */
};

/* n entries of stride bytes from base, each starting with a struct
 * http_route. The server matches method and pattern, answers 404/405
 * itself, and calls dispatch(r, app) for a match with r->route set (on the
 * poll thread for inline_ok routes, else on a worker). */
/* The path as logs may show it: r->path, or the route's pattern when the
 * route's captured segments are secrets. */
const char *http_log_path(const struct http_req *r);

struct http_table {
	const void *base;
	size_t n, stride;
	http_handler dispatch;
};

struct http_req {
	char method[8];
	char path[1024];
	int nargs;
	char *arg_key[HTTP_MAX_ARGS], *arg_val[HTTP_MAX_ARGS];
	char *authorization; /* header value or NULL */
	char *idempotency_key;
	char *range; /* Range header or NULL */
	char request_id[64];
	char client_ip[48]; /* the peer's address ("" if unknown) */
	char *body;	    /* NUL-terminated (a view of body_buf), or NULL */
	size_t body_len;
	const struct http_route *route; /* the matched entry of the table */
	char params[HTTP_MAX_PARAMS][256];
	int nparams;
	/* response */
	unsigned status;
	char *resp; /* malloc'd body */
	size_t resp_len;
	const char *content_type;
	char retry_after[16];
	bool idempotent_replayed;   /* sends Idempotent-Replayed: true */
	const char *const *headers; /* extra response headers: name, value, ...,
				     * NULL (static storage) */
	struct http_stream *stream; /* set by http_stream() */
	int fd;			    /* >= 0: send this file range (sendfile) and close it */
	uint64_t fd_off, fd_len, fd_total;
	bool partial;
	/* internals */
	struct http_server *srv;
	struct MHD_Connection *conn;
	int phase;
	bool too_large;
	bool too_many_args, too_many_headers;
	struct util_buf body_buf;
	int64_t t_start_us;
	int route_index;
	int64_t park_until_us; /* set by http_park */
	uint64_t park_gen;
	struct http_req *park_next;
	int reruns;		 /* times the handler parked this request */
	bool defer;		 /* http_defer_to_worker() was called */
	bool on_worker;		 /* the handler runs on a worker */
	int64_t app_deadline_us; /* the handler's own, kept across reruns */
};

struct http_opts {
	const char *name; /* "api" or "boot": metrics label */
	int threads;	  /* MHD poll threads */
	int workers;	  /* handler worker threads */
	int max_queue;	  /* queued requests before 429 */
	int connection_limit;
	int client_connection_limit; /* per client address */
	int connection_timeout_s;    /* a connection silent this long is closed (not
				      * while its request waits on a worker) */
	size_t max_body;	     /* larger bodies answer 413 */
	int max_streams;	     /* streaming answers open at once (0: none) */
	const char *netns;	     /* listen inside this network namespace (NULL: current) */
};

/* Starts listening on "host:port" (port 0 picks one; see http_port()). */
struct http_server *http_start(const char *listen, const struct http_table *routes, void *app,
			       const struct http_opts *o, char *err, size_t errlen);
int http_port(const struct http_server *s);
/* Whether listen is "IPv4-ADDRESS:PORT" as http_start takes it. */
bool http_listen_valid(const char *listen);
/* Stops accepting new connections; in-flight requests finish. */
void http_quiesce(struct http_server *s);
/* Waits up to timeout_ms for queued/running handlers, then stops. NULL ok. */
void http_stop(struct http_server *s, int timeout_ms);
/* Requests queued or running on workers. */
int http_busy(struct http_server *s);

/* Whether path fits pattern ("{}" matches one non-empty segment of at
 * most 255 bytes, at most HTTP_MAX_PARAMS of them); the captures go to
 * r->params / r->nparams. Pure; exposed for the route-matcher tests. */
bool http_match(const char *pattern, const char *path, struct http_req *r);

/* Parking (long-polls that hold no thread): a handler running on a worker
 * that has nothing to answer yet calls http_park() and returns without a
 * response. The connection stays suspended and no worker is held; the
 * handler runs again on a worker after http_wake_parked() or once until_us
 * (http_now_us's clock) has passed, with r->reruns counting the parkings,
 * and may park again. A parked request counts in http_busy(); on stop every
 * parked request runs again at once so it can answer. Not for inline
 * routes. */
void http_park(struct http_req *r, int64_t until_us);
/* Deferring: the handler of an inline_ok route (with may_defer) that finds
 * it must block, a write for instance, calls http_defer_to_worker() and
 * returns without a response; the request is then queued and its handler
 * runs again on a worker (http_on_worker() true), like a worker route's,
 * and may be refused 503 overloaded like one. Until it defers, the
 * handler must have changed nothing. */
void http_defer_to_worker(struct http_req *r);
bool http_on_worker(const struct http_req *r);
/* Runs every parked request of s again soon (something they wait for may
 * have changed). Thread-safe; NULL ok. */
void http_wake_parked(struct http_server *s);
/* Requests parked now. */
int http_parked(struct http_server *s);
/* Workers running a handler, requests queued for one, requests parked. */
void http_load(struct http_server *s, int *busy, int *queued, int *parked);
/* Requests refused with 503 overloaded: every worker busy and max_queue
 * more waiting (the in-flight maximum). */
unsigned long http_shed(struct http_server *s);

/* Streaming answers (server-sent events) that hold no thread: a handler
 * of an inline route calls http_stream() instead of http_reply(); the
 * answer's body is then whatever fill() gives, for as long as it gives it.
 * fill(ctx, buf, max) runs on a poll thread, must not block, and returns
 * the bytes it wrote, 0 when it has nothing now (the connection then
 * waits, holding no thread, until http_stream_wake()), or -1 to end the
 * answer. done(ctx) is called once when the stream is over (ended, the
 * client gone, or the server stopping), and never while fill runs.
 * Returns false with 503 overloaded set when o->max_streams streams are
 * open (ctx stays the caller's). Stream connections have no idle timeout:
 * fill should send something now and then (an SSE comment) so a client
 * that went away is noticed. Streams count in http_busy(); http_stop()
 * ends every one of them. */
typedef long (*http_stream_fill)(void *ctx, char *buf, size_t max);
bool http_stream(struct http_req *r, const char *content_type, http_stream_fill fill,
		 void (*done)(void *ctx), void *ctx);
/* Every stream of s that waits runs fill again soon. Thread-safe; NULL ok. */
void http_stream_wake(struct http_server *s);
/* Streams open now. Thread-safe; NULL ok (0). */
int http_streams(struct http_server *s);

/* Query argument value or NULL. */
const char *http_arg(const struct http_req *r, const char *key);

/* Response helpers: take ownership of body / build it. */
void http_reply(struct http_req *r, unsigned status, const char *ctype, char *body, size_t len);
void http_reply_text(struct http_req *r, unsigned status, const char *ctype, const char *text);
/* Error body {"error":{"code","message","field"?}}. */
void http_error(struct http_req *r, unsigned status, const char *code, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Prometheus samples for this server's requests, without HELP and TYPE
 * (the caller writes them once for both listeners): the latency histogram
 * provisiond_http_request_seconds per route, and
 * provisiond_http_responses_total per status code. Thread-safe. */
void http_metrics_latency(struct http_server *s, void (*emit)(void *ctx, const char *line),
			  void *ctx);
void http_metrics_responses(struct http_server *s, void (*emit)(void *ctx, const char *line),
			    void *ctx);

/* Current monotonic time in microseconds. */
int64_t http_now_us(void);

#endif
