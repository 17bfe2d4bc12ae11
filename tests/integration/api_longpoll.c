/* api_longpoll.c - agent command long-polls hold no thread: 1,000 agents
 * wait for commands at once on a boot listener with 16 workers, the
 * listener keeps serving boot scripts meanwhile, and every poll is answered
 * when its wait runs out (commands reaching waiting agents: boot_plane.sh).
 * The p99 of /boot.ipxe meanwhile is printed for the record (figures
 * belong to bench/, not to assertions). */
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define AGENTS 1000

static int setup(void **state)
{
	static struct h_daemon d;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192) {
		rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
		setrlimit(RLIMIT_NOFILE, &rl); /* the daemon inherits it */
	}
	*state = &d;
	return h_start(&d, "[server]\nboot_workers = 16\nclient_connection_limit = 4000\n"
			   "connection_limit = 4000\n[boot]\nunknown_mac = discover\n"
			   "discovery_max = 5000\ndiscovery_rate_per_min = 100000\n");
}

static int connect_boot(struct h_daemon *d)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in b = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->boot_port)};
	inet_pton(AF_INET, "127.0.0.1", &b.sin_addr);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&b, sizeof b) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends a command long-poll with session token tok; the socket. */
static int start_poll(struct h_daemon *d, const char *tok, int wait_s)
{
	int fd = connect_boot(d);
	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET /v1/agent/command?wait=%d HTTP/1.1\r\nHost: t\r\n"
			 "Authorization: Bearer %s\r\nConnection: close\r\n\r\n",
			 wait_s, tok);
	if (fd >= 0 && send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The status line's code of an answer on fd within timeout_ms; 0 if none. */
static int answer(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[128] = "";
	int st = 0;
	if (poll(&p, 1, timeout_ms) == 1 && recv(fd, buf, sizeof buf - 1, 0) > 0)
		sscanf(buf, "HTTP/1.%*d %d", &st);
	return st;
}

static int64_t metric(struct h_daemon *d, const char *line_start)
{
	struct h_resp r;
	int64_t v = -1;
	if (h_call(d, NULL, "GET", "/metrics", NULL, &r) == 200) {
		const char *p = strstr(r.body, line_start);
		if (p)
			v = strtoll(p + strlen(line_start), NULL, 10);
	}
	h_resp_clear(&r);
	return v;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Discovers AGENTS machines; their session tokens into toks. */
static void sessions(struct h_daemon *d, char (*toks)[H_TOKEN_LEN])
{
	for (unsigned i = 0; i < AGENTS; i++) {
		char mac[18], body[64];
		struct h_resp r;
		h_mac(0x900000u + i, mac);
		snprintf(body, sizeof body, "{\"macs\":[\"%s\"]}", mac);
		assert_int_equal(h_boot_request(d, NULL, "POST", "/v1/agent/lookup", body, &r),
				 200);
		snprintf(toks[i], H_TOKEN_LEN, "%s", h_str(&r, "token"));
		h_resp_clear(&r);
	}
}

static void test_thousand_polls(void **state)
{
	struct h_daemon *d = *state;
	static char toks[AGENTS][H_TOKEN_LEN];
	static int fds[AGENTS];
	sessions(d, toks);
	for (int i = 0; i < AGENTS; i++)
		assert_true((fds[i] = start_poll(d, toks[i], 20)) >= 0);
	/* all of them parked at once, seen in one sample: a wake (any commit)
	 * puts them back on the queue for a moment, so a second sample may see
	 * fewer */
	int64_t end = h_now_ms() + 30000, parked = 0;
	while ((parked = metric(d, "provisiond_http_parked{listener=\"boot\"} ")) < AGENTS &&
	       h_now_ms() < end)
		h_sleep_ms(100);
	assert_int_equal(parked, AGENTS);
	/* parked polls hold no worker: were they holding one, all 64 would be
	 * busy all the time. A wake (any commit) reruns them for a moment, so
	 * the least of ten samples is what tells. */
	int64_t least = INT64_MAX;
	for (int i = 0; i < 10; i++, h_sleep_ms(100)) {
		int64_t busy = metric(d, "provisiond_http_workers_busy{listener=\"boot\"} ");
		least = busy >= 0 && busy < least ? busy : least;
	}
	assert_true(least < 16);
	/* the boot listener keeps serving while they wait */
	static int64_t ms[200];
	for (int i = 0; i < 200; i++) {
		int64_t t0 = h_now_ms();
		assert_int_equal(
		    h_boot_request(d, NULL, "GET", "/boot.ipxe?mac=52:54:00:01:02:03", NULL, NULL),
		    200);
		ms[i] = h_now_ms() - t0;
	}
	qsort(ms, 200, sizeof ms[0], cmp64);
	fprintf(stderr, "boot.ipxe with %d parked polls: p50 %lld ms, p99 %lld ms\n", AGENTS,
		(long long)ms[100], (long long)ms[198]);
	/* every poll is answered (204) when its wait runs out */
	int answered = 0;
	for (int i = 0; i < AGENTS; i++) {
		answered += answer(fds[i], 40000) == 204;
		close(fds[i]);
	}
	assert_int_equal(answered, AGENTS);
	assert_int_equal(metric(d, "provisiond_http_parked{listener=\"boot\"} "), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thousand_polls),
	};
	return cmocka_run_group_tests(tests, setup, h_teardown);
}
