/* test_agent_fakesrv.c — an in-process fake of provisiond's boot listener
 * (libmicrohttpd on 127.0.0.1, ephemeral port) that follows
 * docs/agent-protocol.md, records what the agent sent, and can misbehave on
 * purpose (5xx, dropped image downloads, Range ignored). Test-only code. */
#include "agent_fixtures/fakesrv.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct req {
	char *body;
	size_t len;
};

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned code, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    text ? strlen(text) : 0, text ? text : "", MHD_RESPMEM_MUST_COPY);
	free(text);
	if (code != 204)
		MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned code, const char *ecode,
				  const char *msg)
{
	return send_json(c, code,
			 json_pack("{s:{s:s, s:s}}", "error", "code", ecode, "message", msg));
}

static bool auth_is(struct MHD_Connection *c, const char *token)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	char want[256];
	snprintf(want, sizeof(want), "Bearer %s", token ? token : "");
	return h && strcmp(h, want) == 0;
}

static ssize_t drop_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct fakesrv *s = cls;
	if (pos >= s->drop_after)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	size_t n = s->drop_after - pos < max ? s->drop_after - pos : max;
	memcpy(buf, s->image + pos, n);
	return (ssize_t)n;
}

static enum MHD_Result serve_image(struct fakesrv *s, struct MHD_Connection *c)
{
	const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
	unsigned long long start = 0;
	pthread_mutex_lock(&s->lock);
	s->image_requests++;
	if (range)
		json_array_append_new(s->ranges, json_string(range));
	bool drop = s->drops_left > 0;
	if (drop)
		s->drops_left--;
	pthread_mutex_unlock(&s->lock);
	if (range && sscanf(range, "bytes=%llu-", &start) != 1)
		return send_error(c, 400, "bad_range", range);
	struct MHD_Response *r;
	unsigned code = MHD_HTTP_OK;
	if (drop && (start == 0 || s->ignore_range)) {
		r = MHD_create_response_from_callback(s->image_len, 16 * 1024, drop_reader, s,
						      NULL);
	} else if (range && !s->ignore_range) {
		char cr[128];
		snprintf(cr, sizeof(cr), "bytes %llu-%zu/%zu", start, s->image_len - 1,
			 s->image_len);
		r = MHD_create_response_from_buffer(s->image_len - start, s->image + start,
						    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Content-Range", cr);
		code = MHD_HTTP_PARTIAL_CONTENT;
	} else {
		r = MHD_create_response_from_buffer(s->image_len, s->image, MHD_RESPMEM_PERSISTENT);
	}
	enum MHD_Result ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_lookup(struct fakesrv *s, struct MHD_Connection *c, json_t *body)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	pthread_mutex_lock(&s->lock);
	json_decref(s->lookup_body);
	s->lookup_body = json_incref(body);
	free(s->lookup_auth);
	s->lookup_auth = h ? strdup(h) : NULL;
	pthread_mutex_unlock(&s->lock);
	if (s->lookup_status != 200)
		return send_error(c, (unsigned)s->lookup_status, "denied",
				  "lookup refused by test");
	if (s->boot_token ? !auth_is(c, s->boot_token) : h != NULL)
		return send_error(c, 401, "unauthorized", "wrong boot token");
	return send_json(c, 200,
			 json_pack("{s:s, s:s, s:i}", "machine_id", "m-1", "token",
				   s->session_token, "heartbeat_s", 1));
}

static enum MHD_Result serve_command(struct fakesrv *s, struct MHD_Connection *c)
{
	pthread_mutex_lock(&s->lock);
	int poll = s->polls++;
	const char *wait = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");
	s->last_wait = wait ? strtol(wait, NULL, 10) : -1;
	json_t *cmd =
	    json_array_size(s->commands) ? json_incref(json_array_get(s->commands, 0)) : NULL;
	if (cmd && poll > 0)
		json_array_remove(s->commands, 0);
	pthread_mutex_unlock(&s->lock);
	if (s->poll_status)
		return send_error(c, (unsigned)s->poll_status, "unauthorized", "session revoked");
	if (!cmd || poll == 0) {
		/* The first poll waits like a real long-poll so heartbeats flow. */
		json_decref(cmd);
		usleep(1500 * 1000);
		return send_json(c, 204, NULL);
	}
	return send_json(c, 200, cmd);
}

static void record(struct fakesrv *s, json_t *array, json_t *body)
{
	pthread_mutex_lock(&s->lock);
	json_array_append(array, body ? body : json_null());
	pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result route(struct fakesrv *s, struct MHD_Connection *c, const char *method,
			     const char *url, json_t *body)
{
	if (strcmp(url, "/img") == 0 && strcmp(method, "GET") == 0)
		return serve_image(s, c);
	if (strcmp(url, "/v1/agent/lookup") == 0)
		return serve_lookup(s, c, body);
	if (strcmp(url, "/v1/agent/booted") == 0) {
		const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		pthread_mutex_lock(&s->lock);
		s->booted_auth = h ? strdup(h) : NULL;
		s->booted = json_incref(body);
		pthread_mutex_unlock(&s->lock);
		return send_json(c, 204, NULL);
	}
	if (!auth_is(c, s->session_token))
		return send_error(c, 401, "unauthorized", "wrong session token");
	if (strcmp(url, "/v1/agent/inventory") == 0) {
		if (__atomic_fetch_sub(&s->inventory_fail, 1, __ATOMIC_SEQ_CST) > 0)
			return send_error(c, 503, "unavailable", "try again");
		record(s, s->inventories, body);
		return send_json(c, 204, NULL);
	}
	if (strcmp(url, "/v1/agent/command") == 0)
		return serve_command(s, c);
	if (strcmp(url, "/v1/agent/heartbeat") == 0) {
		record(s, s->heartbeats, body);
		return send_json(c, 204, NULL);
	}
	if (strcmp(url, "/v1/agent/result") == 0) {
		const char *id = json_string_value(json_object_get(body, "id"));
		if (s->result_409_id && id && strcmp(id, s->result_409_id) == 0)
			return send_error(c, 409, "unknown_command",
					  "superseded by a newer command");
		record(s, s->results, body);
		return send_json(c, 204, NULL);
	}
	return send_error(c, 404, "not_found", url);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	(void)version;
	struct req *r = *con_cls;
	if (!r) {
		*con_cls = calloc(1, sizeof(struct req));
		return MHD_YES;
	}
	if (*upload_size) {
		r->body = realloc(r->body, r->len + *upload_size + 1);
		memcpy(r->body + r->len, upload, *upload_size);
		r->len += *upload_size;
		r->body[r->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	json_t *body = r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	if (r->len && !body)
		return send_error(c, 400, "bad_json", "body is not JSON");
	enum MHD_Result ret = route(cls, c, method, url, body);
	json_decref(body);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	struct req *r = *con_cls;
	if (r)
		free(r->body);
	free(r);
	*con_cls = NULL;
}

int fakesrv_start(struct fakesrv *s)
{
	pthread_mutex_init(&s->lock, NULL);
	s->results = json_array();
	s->heartbeats = json_array();
	s->inventories = json_array();
	s->ranges = json_array();
	if (!s->commands)
		s->commands = json_array();
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
				NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
	if (!s->d)
		return -1;
	s->port = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT)->port;
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", s->port);
	return 0;
}

void fakesrv_stop(struct fakesrv *s)
{
	if (s->d)
		MHD_stop_daemon(s->d);
	json_decref(s->results);
	json_decref(s->heartbeats);
	json_decref(s->inventories);
	json_decref(s->ranges);
	json_decref(s->commands);
	json_decref(s->lookup_body);
	json_decref(s->booted);
	free(s->lookup_auth);
	free(s->booted_auth);
	pthread_mutex_destroy(&s->lock);
}
