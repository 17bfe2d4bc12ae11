/* The HTTP server's in-flight maximum (workers + max_queue) counts only
 * requests that still need a worker: a request whose answer is on its way
 * holds no slot, so a client that sends its next request as soon as the
 * last answer arrives is never refused with 503 overloaded (api_admission
 * saw one admitted request fewer than the maximum under load). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "provisiond/http.h"

static const struct http_route routes[] = {{.method = "GET", .pattern = "/work"}};

static void handle(struct http_req *r, void *app)
{
	(void)app;
	http_reply_text(r, 200, "text/plain", "done\n");
}

static const struct http_table table = {
    .base = routes, .n = 1, .stride = sizeof routes[0], .dispatch = handle};

/* One GET /work on a new connection; the answer's status code, or 0. */
static int get_work(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int st = 0;
	static const char req[] = "GET /work HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1)) {
		char buf[256] = "";
		if (recv(fd, buf, sizeof buf - 1, 0) > 0)
			sscanf(buf, "HTTP/1.%*d %d", &st);
	}
	if (fd >= 0)
		close(fd);
	return st;
}

static atomic_bool burning;

/* Competes for the cores so that threads are preempted at any point. */
static void *burn(void *arg)
{
	(void)arg;
	volatile unsigned long x = 0;
	while (atomic_load(&burning))
		x++;
	return NULL;
}

/* One worker and no queue: the maximum is one request in flight. Requests
 * sent one after another, each once the last is answered, are all served. */
static void test_answered_request_holds_no_slot(void **state)
{
	(void)state;
	struct http_opts o = {.name = "api",
			      .threads = 1,
			      .workers = 1,
			      .max_queue = 0,
			      .connection_limit = 64,
			      .client_connection_limit = 64,
			      .connection_timeout_s = 10,
			      .max_body = 4096};
	char err[256];
	struct http_server *s = http_start("127.0.0.1:0", &table, NULL, &o, err, sizeof err);
	assert_non_null(s);
	pthread_t b[2];
	atomic_store(&burning, true);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&b[i], NULL, burn, NULL), 0);
	int ok = 0, shed = 0, other = 0;
	for (int i = 0; i < 3000; i++) {
		int st = get_work(http_port(s));
		ok += st == 200;
		shed += st == 503;
		other += st != 200 && st != 503;
	}
	atomic_store(&burning, false);
	for (int i = 0; i < 2; i++)
		pthread_join(b[i], NULL);
	print_message("3000 requests one after another: %d answered 200, %d 503, %d other\n", ok,
		      shed, other);
	assert_int_equal(shed, 0);
	assert_int_equal(other, 0);
	assert_int_equal(http_shed(s), 0);
	http_stop(s, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answered_request_holds_no_slot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
