/* http.c - libmicrohttpd front with suspend/resume and a worker pool. */
#include "provisiond/http.h"
#include "provisiond/log.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

enum { PH_NEW, PH_BODY, PH_QUEUED, PH_DONE };

struct http_stream {
	struct http_server *s;
	struct MHD_Connection *conn;
	http_stream_fill fill;
	void (*done)(void *ctx);
	void *ctx;
	bool suspended;
	struct http_stream *next;
};

#define NBUCKETS 12
static const double bucket_s[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					  0.05,	  0.1,	 0.25,	 0.5,	1,    5};

struct route_stats {
	atomic_ulong buckets[NBUCKETS + 1];
	atomic_ulong count;
	atomic_ullong sum_us;
};

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_table table;
	size_t nroutes;
	void *app;
	struct http_opts o;
	char name[16];
	int port;
	int listen_fd;
	pthread_t *workers;
	int nworkers;
	pthread_mutex_t mu;
	pthread_cond_t cv, idle_cv;
	struct http_req **queue; /* ring */
	int qhead, qlen, running;
	int finishing; /* of running: workers done with their request (answered
			* or parked) that have not taken the next yet */
	int qcap;      /* the in-flight maximum: workers + max_queue */
	bool stopping;
	/* parked requests (http_park): suspended, holding no worker */
	struct http_req *parked;
	int nparked;
	uint64_t park_gen; /* bumped by http_wake_parked */
	bool releasing;	   /* stopping: every parked request runs again now */
	pthread_t parker;
	bool parker_started, parker_running;
	pthread_cond_t park_cv;
	/* streaming answers (http_stream): smu guards the list and every
	 * stream's suspended flag, and is held while fill runs */
	pthread_mutex_t smu;
	struct http_stream *streams;
	atomic_int nstreams;
	bool streams_ending;	   /* stopping: every stream ends */
	struct route_stats *stats; /* nroutes + 1 (unmatched) */
	atomic_ulong codes[600];
	atomic_ulong shed; /* 503 overloaded: workers busy and the queue full */
};

int64_t http_now_us(void)
{
	return util_now_us();
}

const char *http_arg(const struct http_req *r, const char *key)
{
	for (int i = 0; i < r->nargs; i++)
		if (strcmp(r->arg_key[i], key) == 0)
			return r->arg_val[i];
	return NULL;
}

void http_reply(struct http_req *r, unsigned status, const char *ctype, char *body, size_t len)
{
	free(r->resp);
	r->status = status;
	r->content_type = ctype;
	r->resp = body;
	r->resp_len = len;
}

void http_reply_text(struct http_req *r, unsigned status, const char *ctype, const char *text)
{
	char *b = strdup(text);
	http_reply(r, status, ctype, b, b ? strlen(b) : 0);
}

/* A JSON string of s, also when s is not UTF-8 (a path or a query argument
 * from the network, echoed in an error): then every non-ASCII byte reads
 * '?', so the error still has its body. NULL only when out of memory. */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char *copy = j ? NULL : strdup(s);
	for (char *p = copy; p && *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	if (copy)
		j = json_string(copy);
	free(copy);
	return j;
}

void http_error(struct http_req *r, unsigned status, const char *code, const char *field,
		const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *e = json_pack("{s:s, s:o}", "code", code, "message", json_text(msg));
	if (field && *field)
		json_object_set_new(e, "field", json_text(field));
	json_t *o = json_pack("{s:o}", "error", e);
	char *body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	http_reply(r, status, "application/json", body, body ? strlen(body) : 0);
}

/* ------------------------------------------------------------- routing */

bool http_match(const char *pattern, const char *path, struct http_req *r)
{
	int np = 0;
	while (*pattern && *path) {
		if (pattern[0] == '{' && pattern[1] == '}') {
			const char *end = strchr(path, '/');
			size_t n = end ? (size_t)(end - path) : strlen(path);
			if (n == 0 || n >= sizeof r->params[0] || np >= HTTP_MAX_PARAMS)
				return false;
			memcpy(r->params[np], path, n);
			r->params[np++][n] = 0;
			pattern += 2;
			path += n;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	r->nparams = np;
	return !*pattern && !*path;
}

static const struct http_route *route_at(const struct http_server *s, size_t i)
{
	return (const struct http_route *)((const char *)s->table.base + i * s->table.stride);
}

/* Finds the route; sets 404/405 on r when none fits. */
static bool route(struct http_server *s, struct http_req *r)
{
	bool path_seen = false;
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct http_route *rt = route_at(s, i);
		if (!http_match(rt->pattern, r->path, r))
			continue;
		path_seen = true;
		if (strcmp(rt->method, r->method) == 0) {
			r->route = rt;
			r->route_index = (int)i;
			return true;
		}
	}
	r->route_index = (int)s->nroutes;
	if (path_seen)
		http_error(r, 405, "method_not_allowed", NULL, "%s is not allowed on %s", r->method,
			   r->path);
	else
		http_error(r, 404, "not_found", NULL, "no route %s %s", r->method, r->path);
	return false;
}

/* -------------------------------------------------------------- workers */

static bool enqueue_locked(struct http_server *s, struct http_req *r);

static void *worker_main(void *arg)
{
	struct http_server *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->qlen && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->qlen) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		struct http_req *r = s->queue[s->qhead];
		s->qhead = (s->qhead + 1) % s->qcap;
		s->qlen--;
		s->running++;
		pthread_mutex_unlock(&s->mu);

		r->park_until_us = 0;
		s->table.dispatch(r, s->app);
		pthread_mutex_lock(&s->mu);
		s->finishing++; /* its slot is free for admission from now on */
		bool park = r->park_until_us && !r->status;
		if (park && s->parker_running) { /* waits on the parker, holding no worker */
			r->park_next = s->parked;
			s->parked = r;
			s->nparked++;
			pthread_cond_signal(&s->park_cv);
		} else if (park) { /* stopping: run again now, so it answers */
			park = enqueue_locked(s, r);
		}
		pthread_mutex_unlock(&s->mu);
		if (!park) {
			r->phase = PH_DONE;
			MHD_resume_connection(r->conn);
		}

		pthread_mutex_lock(&s->mu);
		s->finishing--;
		s->running--;
		if (!s->qlen && !s->running)
			pthread_cond_broadcast(&s->idle_cv);
		pthread_mutex_unlock(&s->mu);
	}
}

/* With s->mu held. */
static bool enqueue_locked(struct http_server *s, struct http_req *r)
{
	/* in flight = queued + on a worker (parked requests hold no worker; an
	 * answered one no slot, though its worker still counts in running, so
	 * that http_busy() outlasts the resume of its connection) */
	bool ok = s->qlen + s->running - s->finishing < s->qcap && !s->stopping;
	if (ok) {
		s->queue[(s->qhead + s->qlen) % s->qcap] = r;
		s->qlen++;
		pthread_cond_signal(&s->cv);
	}
	return ok;
}

static bool enqueue(struct http_server *s, struct http_req *r)
{
	pthread_mutex_lock(&s->mu);
	bool ok = enqueue_locked(s, r);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* ------------------------------------------------------------- parking */

void http_park(struct http_req *r, int64_t until_us)
{
	r->park_until_us = until_us > 0 ? until_us : 1;
	r->park_gen = r->srv->park_gen;
	r->reruns++;
}

void http_defer_to_worker(struct http_req *r)
{
	r->defer = true;
}

bool http_on_worker(const struct http_req *r)
{
	return r->on_worker;
}

void http_wake_parked(struct http_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->park_gen++;
	if (s->nparked)
		pthread_cond_signal(&s->park_cv);
	pthread_mutex_unlock(&s->mu);
}

int http_parked(struct http_server *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->nparked;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Moves parked requests that are due (woken, past their time, or the
 * server is stopping) onto the worker queue; returns the earliest time a
 * remaining one is due. With s->mu held. */
static int64_t run_due_locked(struct http_server *s, int64_t now)
{
	int64_t next = now + 1000000;
	struct http_req **pp = &s->parked;
	while (*pp) {
		struct http_req *r = *pp;
		bool due = s->releasing || r->park_gen != s->park_gen || r->park_until_us <= now;
		if (due && enqueue_locked(s, r)) {
			*pp = r->park_next;
			s->nparked--;
			continue;
		}
		if (due) /* the queue is full: try again shortly */
			next = now + 10000;
		else if (r->park_until_us < next)
			next = r->park_until_us;
		pp = &r->park_next;
	}
	return next;
}

static void *parker_main(void *arg)
{
	struct http_server *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->releasing || s->nparked) {
		int64_t next = run_due_locked(s, http_now_us());
		if (s->releasing && s->nparked)
			next = http_now_us() + 10000;
		util_cond_wait_until_ms(&s->park_cv, &s->mu, (next + 999) / 1000);
	}
	s->parker_running = false;
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int http_busy(struct http_server *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->qlen + s->running + s->nparked + atomic_load(&s->nstreams);
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ------------------------------------------------------------ requests */

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	(void)kind;
	struct http_req *r = cls;
	if (r->nargs >= HTTP_MAX_ARGS || !key)
		return MHD_YES;
	r->arg_key[r->nargs] = strdup(key);
	r->arg_val[r->nargs] = strdup(value ? value : "");
	r->nargs++;
	return MHD_YES;
}

static char *header_dup(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	return v ? strdup(v) : NULL;
}

static bool valid_request_id(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n >= 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] == '-' || v[i] == '_' || v[i] == '.' || (v[i] >= '0' && v[i] <= '9') ||
		      (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z')))
			return false;
	return true;
}

/* Marks a connection whose request line had too many query arguments (see
 * uri_log): it becomes the request's first context instead of NULL. */
static char too_many_args;

/* Called by MHD with the raw request line's URI before it parses the query
 * into its per-connection memory pool. libmicrohttpd 0.9.75 closes the
 * connection without an answer (or stalls) when thousands of arguments
 * exhaust that pool, so a query with more than HTTP_MAX_ARGS arguments is
 * made one argument here (its separators overwritten in MHD's own writable
 * read buffer) and answered 400 once the request arrives. The api_hygiene
 * test holds MHD to this. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	char *q = strchr(uri, '?');
	int n = q && q[1] ? 1 : 0;
	for (const char *p = q; p && *p; p++)
		n += *p == '&';
	if (n <= HTTP_MAX_ARGS)
		return NULL;
	for (char *p = q + 1; *p; p++)
		if (*p == '&')
			*p = '_';
	return &too_many_args;
}

/* ----------------------------------------------------------- streaming */

static void stream_free(void *cls)
{
	struct http_stream *st = cls;
	struct http_server *s = st->s;
	pthread_mutex_lock(&s->smu);
	for (struct http_stream **pp = &s->streams; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	atomic_fetch_sub(&s->nstreams, 1);
	pthread_mutex_unlock(&s->smu);
	st->done(st->ctx);
	free(st);
}

/* MHD asks for more of the body. Nothing to send: the connection is
 * suspended (returning 0 alone would make MHD ask again at once) until
 * http_stream_wake(); smu makes the decision and the suspension one step,
 * so a wake cannot fall between them. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct http_stream *st = cls;
	struct http_server *s = st->s;
	pthread_mutex_lock(&s->smu);
	long n = s->streams_ending ? -1 : st->fill(st->ctx, buf, max);
	if (n == 0) {
		st->suspended = true;
		MHD_suspend_connection(st->conn);
	}
	pthread_mutex_unlock(&s->smu);
	return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

bool http_stream(struct http_req *r, const char *content_type, http_stream_fill fill,
		 void (*done)(void *ctx), void *ctx)
{
	struct http_server *s = r->srv;
	struct http_stream *st = calloc(1, sizeof *st);
	pthread_mutex_lock(&s->smu);
	bool room = st && !s->streams_ending && atomic_load(&s->nstreams) < s->o.max_streams;
	if (room) {
		*st = (struct http_stream){
		    .s = s, .conn = r->conn, .fill = fill, .done = done, .ctx = ctx};
		st->next = s->streams;
		s->streams = st;
		atomic_fetch_add(&s->nstreams, 1);
	}
	pthread_mutex_unlock(&s->smu);
	if (!room) {
		free(st);
		http_error(r, 503, "overloaded", NULL,
			   "provisiond has %d streams open, its maximum (server.max_streams); "
			   "retry later",
			   s->o.max_streams);
		snprintf(r->retry_after, sizeof r->retry_after, "5");
		return false;
	}
	/* a stream is quiet between events: no idle timeout (fill sends
	 * keep-alives, which notice a client that went away) */
	MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0);
	r->stream = st;
	r->status = 200;
	r->content_type = content_type;
	return true;
}

static void streams_wake_locked(struct http_server *s)
{
	for (struct http_stream *st = s->streams; st; st = st->next)
		if (st->suspended) {
			st->suspended = false;
			MHD_resume_connection(st->conn);
		}
}

void http_stream_wake(struct http_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->smu);
	streams_wake_locked(s);
	pthread_mutex_unlock(&s->smu);
}

int http_streams(struct http_server *s)
{
	return s ? atomic_load(&s->nstreams) : 0;
}

static struct http_req *req_new(struct http_server *s, struct MHD_Connection *c, const char *method,
				const char *url)
{
	struct http_req *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->srv = s;
	r->conn = c;
	r->fd = -1;
	r->t_start_us = http_now_us();
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr,
			  r->client_ip, sizeof r->client_ip);
	snprintf(r->method, sizeof r->method, "%s", method);
	snprintf(r->path, sizeof r->path, "%s", url);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, r);
	r->too_many_headers =
	    MHD_get_connection_values(c, MHD_HEADER_KIND, NULL, NULL) > HTTP_MAX_HEADERS;
	r->authorization = header_dup(c, MHD_HTTP_HEADER_AUTHORIZATION);
	r->idempotency_key = header_dup(c, "Idempotency-Key");
	r->range = header_dup(c, MHD_HTTP_HEADER_RANGE);
	const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	if (rid && valid_request_id(rid)) {
		snprintf(r->request_id, sizeof r->request_id, "%s", rid);
	} else {
		uuid_t u;
		uuid_generate_random(u);
		uuid_unparse_lower(u, r->request_id);
	}
	return r;
}

static void req_free(struct http_req *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nargs; i++) {
		free(r->arg_key[i]);
		free(r->arg_val[i]);
	}
	free(r->authorization);
	free(r->idempotency_key);
	free(r->range);
	util_buf_free(&r->body_buf);
	if (r->stream) /* never handed to MHD */
		stream_free(r->stream);
	free(r->resp);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

static int append_body(struct http_req *r, const char *data, size_t n, size_t max)
{
	if (r->too_large || r->body_len + n > max) {
		r->too_large = true;
		return 0;
	}
	if (util_buf_append(&r->body_buf, data, n) != 0)
		return -1;
	r->body = r->body_buf.p;
	r->body_len = r->body_buf.len;
	return 0;
}

static struct MHD_Response *make_response(struct http_req *r)
{
	struct MHD_Response *resp;
	if (r->stream) {
		struct http_stream *st = r->stream;
		r->stream = NULL; /* the response's, which calls stream_free at its end */
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read,
							 st, stream_free);
		if (!resp)
			stream_free(st);
	} else if (r->fd >= 0) {
		resp = MHD_create_response_from_fd_at_offset64(r->fd_len, r->fd, r->fd_off);
		r->fd = -1; /* MHD closes it */
	} else {
		resp = MHD_create_response_from_buffer(r->resp_len, r->resp ? r->resp : (char *)"",
						       r->resp ? MHD_RESPMEM_MUST_FREE
							       : MHD_RESPMEM_PERSISTENT);
		r->resp = NULL;
	}
	if (!resp)
		return NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->content_type ? r->content_type : "application/json");
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	if (r->retry_after[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after);
	if (r->idempotent_replayed)
		MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	if (r->partial) {
		char cr[96];
		snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)r->fd_off,
			 (unsigned long long)(r->fd_off + r->fd_len - 1),
			 (unsigned long long)r->fd_total);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	}
	for (const char *const *h = r->headers; h && h[0] && h[1]; h += 2)
		MHD_add_response_header(resp, h[0], h[1]);
	if (!r->headers)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	return resp;
}

static enum MHD_Result send_reply(struct http_req *r)
{
	struct http_server *s = r->srv;
	if (!r->status)
		http_error(r, 500, "internal", NULL, "handler produced no response");
	struct MHD_Response *resp = make_response(r);
	if (!resp)
		return MHD_NO;
	enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	struct route_stats *st = &s->stats[r->route_index];
	int64_t us = http_now_us() - r->t_start_us;
	int b = 0;
	while (b < NBUCKETS && (double)us / 1e6 > bucket_s[b])
		b++;
	atomic_fetch_add(&st->buckets[b], 1);
	atomic_fetch_add(&st->count, 1);
	atomic_fetch_add(&st->sum_us, (unsigned long long)us);
	if (r->status < 600)
		atomic_fetch_add(&s->codes[r->status], 1);
	char code[8], ms[24];
	snprintf(code, sizeof code, "%u", r->status);
	snprintf(ms, sizeof ms, "%.3f", (double)us / 1000.0);
	/* one line per request is for debugging: at info it would bury the
	 * lines an operator acts on (docs/config.md, [log] level) */
	log_event(r->status >= 500 ? LOG_WARN : LOG_DEBUG, "request", "listener", s->name, "method",
		  r->method, "path", http_log_path(r), "status", code, "ms", ms, "request_id",
		  r->request_id, NULL);
	return ret;
}

const char *http_log_path(const struct http_req *r)
{
	return r->route && r->route->secret_path ? r->route->pattern : r->path;
}

/* Last call of a request: route it, then answer now or hand it to a worker. */
static enum MHD_Result dispatch(struct http_server *s, struct http_req *r)
{
	if (r->too_large || r->too_many_args || r->too_many_headers) {
		r->route_index = (int)s->nroutes;
		if (r->too_many_args)
			http_error(r, 400, "too_many_arguments", "query",
				   "at most %d query arguments", HTTP_MAX_ARGS);
		else if (r->too_many_headers)
			http_error(r, 431, "too_many_headers", NULL, "at most %d request headers",
				   HTTP_MAX_HEADERS);
		else
			http_error(r, 413, "body_too_large", NULL, "request body exceeds %zu bytes",
				   s->o.max_body);
		return send_reply(r);
	}
	if (!route(s, r))
		return send_reply(r);
	if (r->route->inline_ok) {
		s->table.dispatch(r, s->app);
		if (!r->defer || r->status)
			return send_reply(r);
	}
	r->on_worker = true;
	r->phase = PH_QUEUED;
	MHD_suspend_connection(r->conn);
	if (!enqueue(s, r)) {
		r->phase = PH_DONE;
		atomic_fetch_add(&s->shed, 1);
		http_error(r, 503, "overloaded", NULL,
			   "provisiond has %d requests in flight, its maximum; nothing was done, "
			   "retry after a second",
			   s->qcap);
		snprintf(r->retry_after, sizeof r->retry_after, "1");
		MHD_resume_connection(r->conn);
	}
	return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *data,
				 size_t *data_size, void **con_cls)
{
	(void)version;
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (!r || *con_cls == &too_many_args) {
		/* Answering on the first call would cost keep-alive: return first. */
		r = req_new(s, c, method, url);
		if (!r)
			return MHD_NO;
		r->too_many_args = *con_cls == &too_many_args;
		*con_cls = r;
		return MHD_YES;
	}
	if (r->phase == PH_DONE)
		return send_reply(r);
	if (r->phase == PH_QUEUED)
		return MHD_YES;
	if (*data_size) {
		if (append_body(r, data, *data_size, s->o.max_body) != 0)
			return MHD_NO;
		*data_size = 0;
		return MHD_YES;
	}
	return dispatch(s, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	if (*con_cls != &too_many_args)
		req_free(*con_cls);
	*con_cls = NULL;
}

/* ------------------------------------------------------------ listening */

static int parse_hostport(const char *s, struct sockaddr_in *sa, char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || (size_t)(colon - s) >= sizeof host) {
		snprintf(err, errlen, "listen address '%s' must be HOST:PORT", s);
		return -1;
	}
	snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
	char *end;
	long port = strtol(colon + 1, &end, 10);
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		snprintf(err, errlen, "listen address '%s' must be IPv4-HOST:PORT", s);
		return -1;
	}
	return 0;
}

bool http_listen_valid(const char *listen)
{
	struct sockaddr_in sa;
	char err[160];
	return parse_hostport(listen, &sa, err, sizeof err) == 0;
}

struct listen_job {
	struct sockaddr_in sa;
	const char *netns;
	int fd;
	char err[256];
};

static void *listen_thread(void *arg)
{
	struct listen_job *j = arg;
	j->fd = -1;
	if (j->netns) {
		char p[256];
		snprintf(p, sizeof p, "/var/run/netns/%s", j->netns);
		int nfd = open(p, O_RDONLY | O_CLOEXEC);
		if (nfd < 0 || setns(nfd, CLONE_NEWNET) != 0) {
			snprintf(j->err, sizeof j->err, "cannot enter network namespace %s",
				 j->netns);
			if (nfd >= 0)
				close(nfd);
			return NULL;
		}
		close(nfd);
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&j->sa, sizeof j->sa) != 0 ||
	    listen(fd, 1024) != 0) {
		snprintf(j->err, sizeof j->err, "cannot listen on %s:%d: %m",
			 inet_ntoa(j->sa.sin_addr), ntohs(j->sa.sin_port));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	j->fd = fd;
	return NULL;
}

/* A listening socket, created in a thread that entered netns if given, so
 * the daemon's other threads stay in their namespace. */
static int make_listener(const char *listen, const char *netns, char *err, size_t errlen)
{
	struct listen_job j = {.netns = netns};
	if (parse_hostport(listen, &j.sa, err, errlen) != 0)
		return -1;
	pthread_t t;
	if (pthread_create(&t, NULL, listen_thread, &j) != 0) {
		snprintf(err, errlen, "cannot start listener thread");
		return -1;
	}
	pthread_join(t, NULL);
	if (j.fd < 0)
		snprintf(err, errlen, "%s", j.err);
	return j.fd;
}

static int start_workers(struct http_server *s)
{
	s->qcap = s->o.workers + s->o.max_queue;
	s->queue = calloc((size_t)s->qcap, sizeof *s->queue);
	s->workers = calloc((size_t)s->o.workers, sizeof *s->workers);
	if (!s->queue || !s->workers || util_cond_init(&s->park_cv) != 0)
		return -1;
	s->parker_running = true;
	if (pthread_create(&s->parker, NULL, parker_main, s) != 0) {
		s->parker_running = false;
		return -1;
	}
	s->parker_started = true;
	for (int i = 0; i < s->o.workers; i++) {
		if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0)
			return -1;
		s->nworkers++;
	}
	return 0;
}

static void stop_workers(struct http_server *s)
{
	pthread_mutex_lock(&s->mu);
	s->releasing = true;
	pthread_cond_signal(&s->park_cv);
	pthread_mutex_unlock(&s->mu);
	if (s->parker_started) /* it ends once every parked request ran again */
		pthread_join(s->parker, NULL);
	s->parker_started = false;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	s->nworkers = 0;
}

static void server_free(struct http_server *s)
{
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s->queue);
	free(s->workers);
	free(s->stats);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->smu);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->idle_cv);
	pthread_cond_destroy(&s->park_cv);
	free(s);
}

struct http_server *http_start(const char *listen, const struct http_table *routes, void *app,
			       const struct http_opts *o, char *err, size_t errlen)
{
	struct http_server *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->table = *routes;
	s->nroutes = routes->n;
	s->app = app;
	s->o = *o;
	snprintf(s->name, sizeof s->name, "%s", o->name);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->smu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->idle_cv, NULL);
	s->stats = calloc(s->nroutes + 1, sizeof *s->stats);
	s->listen_fd = make_listener(listen, o->netns, err, errlen);
	if (s->listen_fd < 0 || !s->stats || start_workers(s) != 0) {
		if (s->listen_fd >= 0)
			snprintf(err, errlen, "cannot start workers");
		stop_workers(s);
		server_free(s);
		return NULL;
	}
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	getsockname(s->listen_fd, (struct sockaddr *)&sa, &sl);
	s->port = ntohs(sa.sin_port);
	/* poll, not epoll: with a thread pool on epoll, MHD_quiesce_daemon (the
	 * drain) edits the pool threads' epoll sets while they may edit them
	 * too, and libmicrohttpd 0.9.75 aborts when it loses that race ("Failed
	 * to remove listen FD from epoll set"); on poll it only flags them. */
	s->mhd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
	    NULL, on_access, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)o->threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->connection_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->connection_timeout_s,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)o->client_connection_limit,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    s, MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, errlen, "cannot start HTTP server on %s", listen);
		stop_workers(s);
		server_free(s);
		return NULL;
	}
	s->listen_fd = -1; /* MHD owns it now */
	return s;
}

int http_port(const struct http_server *s)
{
	return s->port;
}

/* The pool threads stop polling the socket at their next wake (the quiesce
 * wakes them); shutdown makes the kernel refuse newcomers and reset the
 * backlog at once, while a thread may still be inside poll() with it. */
void http_quiesce(struct http_server *s)
{
	if (s && s->mhd) {
		MHD_socket fd = MHD_quiesce_daemon(s->mhd);
		if (fd != MHD_INVALID_SOCKET) {
			shutdown(fd, SHUT_RDWR);
			close(fd);
		}
	}
}

void http_stop(struct http_server *s, int timeout_ms)
{
	if (!s)
		return;
	int64_t deadline = http_now_us() + (int64_t)timeout_ms * 1000;
	pthread_mutex_lock(&s->mu);
	s->releasing = true; /* parked requests run again and answer */
	pthread_cond_signal(&s->park_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_lock(&s->smu);
	s->streams_ending = true; /* every stream ends (MHD must not stop with one suspended) */
	streams_wake_locked(s);
	pthread_mutex_unlock(&s->smu);
	while (http_busy(s) && http_now_us() < deadline)
		util_real_sleep_ms(10);
	stop_workers(s);
	MHD_stop_daemon(s->mhd);
	server_free(s);
}

unsigned long http_shed(struct http_server *s)
{
	return atomic_load(&s->shed);
}

void http_load(struct http_server *s, int *busy, int *queued, int *parked)
{
	pthread_mutex_lock(&s->mu);
	*busy = s->running;
	*queued = s->qlen;
	*parked = s->nparked;
	pthread_mutex_unlock(&s->mu);
}

void http_metrics_latency(struct http_server *s, void (*emit)(void *ctx, const char *line),
			  void *ctx)
{
	char line[512];
	for (size_t i = 0; i <= s->nroutes; i++) {
		struct route_stats *st = &s->stats[i];
		unsigned long n = atomic_load(&st->count);
		if (!n)
			continue;
		char lbl[256];
		if (i < s->nroutes)
			snprintf(lbl, sizeof lbl, "listener=\"%s\",method=\"%s\",route=\"%s\"",
				 s->name, route_at(s, i)->method, route_at(s, i)->pattern);
		else /* Prometheus treats an empty label as absent: name the case */
			snprintf(lbl, sizeof lbl,
				 "listener=\"%s\",method=\"any\",route=\"unmatched\"", s->name);
		unsigned long cum = 0;
		for (int b = 0; b < NBUCKETS; b++) {
			cum += atomic_load(&st->buckets[b]);
			snprintf(line, sizeof line,
				 "provisiond_http_request_seconds_bucket{%s,le=\"%g\"} %lu", lbl,
				 bucket_s[b], cum);
			emit(ctx, line);
		}
		snprintf(line, sizeof line,
			 "provisiond_http_request_seconds_bucket{%s,le=\"+Inf\"} %lu", lbl, n);
		emit(ctx, line);
		snprintf(line, sizeof line, "provisiond_http_request_seconds_sum{%s} %.6f", lbl,
			 (double)atomic_load(&st->sum_us) / 1e6);
		emit(ctx, line);
		snprintf(line, sizeof line, "provisiond_http_request_seconds_count{%s} %lu", lbl,
			 n);
		emit(ctx, line);
	}
}

void http_metrics_responses(struct http_server *s, void (*emit)(void *ctx, const char *line),
			    void *ctx)
{
	char line[512];
	for (int c = 100; c < 600; c++) {
		unsigned long n = atomic_load(&s->codes[c]);
		if (!n)
			continue;
		snprintf(line, sizeof line,
			 "provisiond_http_responses_total{listener=\"%s\",code=\"%d\"} %lu",
			 s->name, c, n);
		emit(ctx, line);
	}
}
