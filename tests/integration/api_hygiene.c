/* api_hygiene.c - connection hygiene on both listeners, tried as a hostile
 * client would: too many query arguments or headers are answered with
 * 400/431 at once instead of holding the connection; idle sockets from one
 * address cannot lock another client out; a connection that never sends a
 * complete request is closed; past the connection limit newcomers wait. Raw sockets, so the tests
 * control exactly what is (not) sent and from which loopback address. */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static int setup(void **state)
{
	static struct h_daemon d;
	*state = &d;
	return h_start(&d, "[server]\nconnection_limit = 256\nclient_connection_limit = 32\n"
			   "request_timeout_s = 3\n");
}

/* A TCP connection to port from the loopback address src ("127.0.0.N"). */
static int connect_from(const char *src, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, src, &a.sin_addr);
	struct sockaddr_in b = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &b.sin_addr);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    connect(fd, (struct sockaddr *)&b, sizeof b) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* The status of the answer on fd within timeout_ms; 0 if none (closed or
 * silent), -1 if the peer closed without a status line. */
static int read_status(int fd, int timeout_ms)
{
	char buf[512];
	size_t got = 0;
	int64_t end = h_now_ms() + timeout_ms;
	while (got < sizeof buf - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = (int)(end - h_now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return 0;
		ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
		if (n <= 0)
			return got ? 0 : -1;
		got += (size_t)n;
		buf[got] = 0;
		int status;
		if (strchr(buf, '\n') && sscanf(buf, "HTTP/1.%*d %d", &status) == 1)
			return status;
	}
	return 0;
}

/* One GET from src with extra raw header lines; its status (see read_status). */
static int get_from(const char *src, int port, const char *path, const char *extra, int timeout_ms)
{
	int fd = connect_from(src, port);
	if (fd < 0)
		return -2;
	size_t n = strlen(path) + (extra ? strlen(extra) : 0) + 128;
	char *req = malloc(n);
	snprintf(req, n, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n", path,
		 extra ? extra : "");
	int st = send_all(fd, req, strlen(req)) ? read_status(fd, timeout_ms) : -2;
	free(req);
	close(fd);
	return st;
}

static char *many_args(int n)
{
	size_t len = (size_t)n * 12 + 32;
	char *q = malloc(len);
	size_t o = (size_t)snprintf(q, len, "/v1/skus?");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(q + o, len - o, "%sa%d=1", i ? "&" : "", i);
	return q;
}

static void test_query_arguments(void **state)
{
	struct h_daemon *d = *state;
	/* a few unknown arguments are fine (the route ignores them) */
	char *q = many_args(8);
	assert_int_equal(get_from("127.0.0.1", d->port, q, NULL, 10000), 401);
	free(q);
	/* hundreds or thousands: 400 at once, on both listeners; a request
	 * line longer than the server reads at all is 414 */
	static const struct {
		int n, status;
	} counts[] = {{100, 400}, {1000, 400}, {3000, 400}, {20000, 414}};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		q = many_args(counts[i].n);
		int st = get_from("127.0.0.1", d->port, q, NULL, 10000);
		if (st != counts[i].status)
			fail_msg("%d arguments: status %d, want %d", counts[i].n, st,
				 counts[i].status);
		size_t blen = strlen(q) + 8;
		char *b = malloc(blen);
		snprintf(b, blen, "/boot.ipxe?%s", strchr(q, '?') + 1);
		assert_int_equal(get_from("127.0.0.1", d->boot_port, b, NULL, 10000),
				 counts[i].status);
		free(b);
		free(q);
	}
	/* the daemon still answers */
	assert_int_equal(get_from("127.0.0.1", d->port, "/healthz", NULL, 10000), 200);
}

static void test_many_headers(void **state)
{
	struct h_daemon *d = *state;
	static const int counts[] = {200, 3000};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		size_t len = (size_t)counts[i] * 16 + 1, o = 0;
		char *h = malloc(len);
		for (int k = 0; k < counts[i]; k++)
			o += (size_t)snprintf(h + o, len - o, "X-H%d: v\r\n", k);
		int st = get_from("127.0.0.1", d->port, "/healthz", h, 10000);
		free(h);
		if (st != 431)
			fail_msg("%d headers: status %d, want 431", counts[i], st);
	}
	assert_int_equal(get_from("127.0.0.1", d->port, "/healthz", NULL, 10000), 200);
}

/* 200 idle sockets from one address: another address is still served, and
 * the idle ones are closed once the request timeout passes. */
static void test_idle_sockets(void **state)
{
	struct h_daemon *d = *state;
	int fds[200], open = 0;
	for (int i = 0; i < 200; i++)
		if ((fds[i] = connect_from("127.0.0.1", d->port)) >= 0)
			open++;
	assert_true(open > 0);
	assert_int_equal(get_from("127.0.0.2", d->port, "/healthz", NULL, 10000), 200);
	assert_int_equal(get_from("127.0.0.3", d->boot_port, "/healthz", NULL, 10000), 200);
	/* a half-sent request is closed after request_timeout_s (3 s here) */
	int slow = connect_from("127.0.0.4", d->port);
	assert_true(slow >= 0);
	assert_true(send_all(slow, "GET /healthz HTTP/1.1\r\n", 23));
	assert_int_equal(read_status(slow, 30000), -1);
	close(slow);
	for (int i = 0; i < 200; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* the server learns of the closes as it polls them: the address is
	 * served again within seconds (a busy machine may take a few) */
	int st = -1;
	for (int i = 0; i < 100 && st != 200; i++)
		if ((st = get_from("127.0.0.1", d->port, "/healthz", NULL, 2000)) != 200)
			h_sleep_ms(200);
	assert_int_equal(st, 200);
}

/* At connection_limit (256 here) a newcomer waits in the listening socket's
 * backlog, neither reset nor refused, and is served once connections close
 * (here: the idle ones, at request_timeout_s, 3 s after they opened). */
static void test_connection_limit_waits(void **state)
{
	struct h_daemon *d = *state;
	int fds[256], open = 0;
	int64_t opened = h_now_ms();
	for (int i = 0; i < 256; i++) {
		char src[16];
		snprintf(src, sizeof src, "127.0.0.%d", 10 + i / 32);
		if ((fds[i] = connect_from(src, d->port)) >= 0)
			open++;
	}
	assert_int_equal(open, 256);
	h_sleep_ms(300); /* the server took them all */
	int fd = connect_from("127.0.0.30", d->port);
	assert_true(fd >= 0);
	const char *req = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	assert_true(send_all(fd, req, strlen(req)));
	int st = read_status(fd, 1000);
	if (h_now_ms() - opened < 2500) /* the idle ones are still open: no answer yet */
		assert_int_equal(st, 0);
	if (st == 0)
		st = read_status(fd, 30000);
	assert_int_equal(st, 200);
	close(fd);
	for (int i = 0; i < 256; i++)
		close(fds[i]);
}

/* The request timeout closes silent connections, not requests that wait on
 * a worker: a long-poll twice as long as the timeout is answered. */
static void test_long_poll_outlives_timeout(void **state)
{
	struct h_daemon *d = *state;
	assert_int_equal(h_enroll_fake(d, "lp-0", 1, "lab.small", 10, 0, NULL), 201);
	assert_true(h_wait_count(d, "available", "lab.small", 1, 120));
	assert_int_equal(h_image(d, "img"), 201);
	char aid[H_ID_LEN], path[128];
	assert_int_equal(h_allocate(d, d->admin, "lab.small", 1, 0, "img", NULL, aid, NULL), 202);
	assert_true(h_wait_alloc(d, d->admin, aid, "ready", 120, NULL));
	snprintf(path, sizeof path, "/v1/allocations/%s?wait=7", aid);
	struct h_resp r;
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, &r), 200);
	assert_string_equal(h_str(&r, "state"), "ready");
	h_resp_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query_arguments),
	    cmocka_unit_test(test_many_headers),
	    cmocka_unit_test(test_idle_sockets),
	    cmocka_unit_test(test_connection_limit_waits),
	    cmocka_unit_test(test_long_poll_outlives_timeout),
	};
	return cmocka_run_group_tests(tests, setup, h_teardown);
}
