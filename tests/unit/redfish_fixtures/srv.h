/* srv.h - a scripted Redfish responder for the redfish driver's unit tests:
 * libmicrohttpd on 127.0.0.1 (an ephemeral port, plain HTTP or HTTPS), answering
 * from a list of rules with recorded bodies (the *.json files beside this header),
 * and logging every request for the tests to assert on. Test-only code.
 *
 * Rules are tried in order; the first whose method, path and token match and that
 * has uses left answers. No match: 404 with a Redfish error body. Thread-safe. */
#ifndef REDFISH_TEST_SRV_H
#define REDFISH_TEST_SRV_H

#include <stdbool.h>
#include <stddef.h>

struct srv_rule {
	const char *method; /* NULL: any */
	const char *path;   /* NULL: any; else exact */
	const char *token;  /* NULL: any; "": no X-Auth-Token; else that token */
	int status;
	const char *body;    /* JSON text, "@file.json" (a fixture), or NULL */
	const char *headers; /* "Name: value|Name: value" or NULL */
	int count;	     /* uses; 0 = unlimited */
};

struct srv_req {
	char method[8], path[256], token[64], if_match[128], basic[128], body[1024];
};

/* Starts the server (cert_pem/key_pem: HTTPS with that certificate, else NULL).
 * Returns the port, or -1. */
int srv_start(const char *cert_pem, const char *key_pem);
void srv_stop(void);
/* Replaces the rules (copied; strings must stay valid) and clears the log. */
void srv_set(const struct srv_rule *rules, size_t n);
/* Puts one rule before the others. */
void srv_push(const struct srv_rule *r);
/* Requests so far; method or path NULL match any. */
int srv_count(const char *method, const char *path);
/* The i-th request (0-based), or NULL. Valid until the next srv_set. */
const struct srv_req *srv_req(int i);
int srv_nreq(void);
/* Index of the last request matching method and path, or -1. */
int srv_last(const char *method, const char *path);

#endif
