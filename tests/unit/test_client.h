/* Shared declarations of the test_client executable (provclient + CLI). */
#ifndef TEST_CLIENT_H
#define TEST_CLIENT_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define SRV_MAX 16
#define SRV_REQ_MAX 16384

/* Tiny loopback HTTP responder: answers the i-th connection with the i-th
 * canned reply (raw HTTP text; NULL = accept, read, never answer) and
 * records each request's raw bytes. Serves `n` connections, then stops. */
struct srv {
	int fd;
	int port;
	pthread_t thread;
	const char *replies[SRV_MAX];
	size_t nreplies;
	char requests[SRV_MAX][SRV_REQ_MAX];
	size_t nrequests;
	char url[64];
};

void srv_start(struct srv *s, const char *const *replies, size_t n);
/* Waits for the responder thread; returns the number of requests seen. */
size_t srv_stop(struct srv *s);

/* Builds a canned reply into buf: status line, Content-Type JSON,
 * Content-Length, Connection: close, extra header lines ("" for none). */
const char *srv_reply(char *buf, size_t size, int status, const char *extra_headers,
		      const char *body);

/* One provisionctl run (test_client_cli.c): exit status, stdout, stderr. */
struct run {
	int rc;
	char *out;
	char *err;
};
/* Runs provisionctl with argv (NULL-terminated, without the program name);
 * "URL" in argv is replaced by the responder's URL. s may be NULL. */
struct run cli(const struct srv *s, const char *const *args);
void run_free(struct run *r);
/* Fails the test unless needle is in hay. */
void assert_has(const char *hay, const char *needle);

/* Test tables of each file. */
extern const struct CMUnitTest client_encode_tests[];
extern const size_t client_encode_ntests;
extern const struct CMUnitTest client_table_tests[];
extern const size_t client_table_ntests;
extern const struct CMUnitTest client_http_tests[];
extern const size_t client_http_ntests;
extern const struct CMUnitTest client_cli_tests[];
extern const size_t client_cli_ntests;
extern const struct CMUnitTest client_views_tests[];
extern const size_t client_views_ntests;

#endif
