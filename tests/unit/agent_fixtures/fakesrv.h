/* fakesrv.h — the fake boot listener used by test_agent_flow (see
 * test_agent_fakesrv.c). Test-only. Fields marked "in" are set before
 * fakesrv_start(); "out" fields are recorded (read them after the agent is
 * done, or under `lock`). All json_t * are owned by the struct. */
#ifndef AGENT_TEST_FAKESRV_H
#define AGENT_TEST_FAKESRV_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct fakesrv {
	/* in */
	const char *boot_token;	   /* expected on lookup; NULL = expect no header */
	const char *session_token; /* handed out by lookup, required afterwards */
	int lookup_status;	   /* 200, or a refusal code */
	int poll_status;	   /* 0, or a refusal code for every command poll */
	int inventory_fail;	   /* answer this many 503s before 204 */
	json_t *commands;	   /* queue handed out by GET /v1/agent/command */
	unsigned char *image;	   /* borrowed */
	size_t image_len;
	size_t drop_after; /* dropped downloads end after this many bytes */
	int drops_left;
	bool ignore_range;	   /* answer 200 with the whole body to Range requests */
	const char *result_409_id; /* result for this command id: 409 unknown_command */
	/* out */
	json_t *lookup_body, *inventories, *heartbeats, *results, *ranges, *booted;
	char *lookup_auth, *booted_auth;
	int polls, image_requests;
	long last_wait;
	/* internal */
	struct MHD_Daemon *d;
	unsigned port;
	char url[64];
	pthread_mutex_t lock;
};

int fakesrv_start(struct fakesrv *s); /* 0 on success; s->url is set */
void fakesrv_stop(struct fakesrv *s);

#endif
