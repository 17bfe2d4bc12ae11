/* api_trust.c - what a hostile host on the provisioning network and a
 * careless operator can and cannot do (docs/security.md): discovery floods
 * are capped per fleet and rate-limited per address while the daemon keeps
 * answering; discovered machines nobody enrolls expire; DELETE removes only
 * machines that never served or are out of service, and the audit log
 * keeps them. */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
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
	return h_start(&d, "[boot]\nunknown_mac = discover\ndiscovery_max = 10\n"
			   "discovery_rate_per_min = 30\ndiscovery_ttl_s = 8\n");
}

/* A tokenless agent lookup for MAC number n from loopback address src;
 * the HTTP status (0: no answer). */
static int lookup_from(const char *src, int port, unsigned n)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET}, b = {.sin_family = AF_INET};
	inet_pton(AF_INET, src, &a.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &b.sin_addr);
	b.sin_port = htons((uint16_t)port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    connect(fd, (struct sockaddr *)&b, sizeof b) != 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	char mac[18], body[64], req[512], resp[256] = "";
	h_mac(0x800000u + n, mac);
	int blen = snprintf(body, sizeof body, "{\"macs\":[\"%s\"]}", mac);
	int len = snprintf(req, sizeof req,
			   "POST /v1/agent/lookup HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
			   "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			   blen, body);
	int status = 0;
	if (send(fd, req, (size_t)len, MSG_NOSIGNAL) == len &&
	    recv(fd, resp, sizeof resp - 1, MSG_WAITALL) > 0)
		sscanf(resp, "HTTP/1.%*d %d", &status);
	close(fd);
	return status;
}

struct flood {
	struct h_daemon *d;
	unsigned first;
	int created, full, limited;
};

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	for (unsigned i = 0; i < 25; i++) {
		int st = lookup_from("127.0.0.1", f->d->boot_port, f->first + i);
		f->created += st == 200;
		f->full += st == 429; /* discovery_full or rate_limited */
		if (st != 200 && st != 429)
			fprintf(stderr, "lookup %u: status %d\n", f->first + i, st);
	}
	return NULL;
}

static int discovered(struct h_daemon *d)
{
	return (int)h_db_int(d, "SELECT count(*) FROM machines m WHERE NOT EXISTS"
				" (SELECT 1 FROM bmcs b WHERE b.machine_id = m.id)"
				" AND name LIKE 'disc-%'");
}

/* 8 threads x 25 lookups of new MACs from one address: at most
 * discovery_max machines appear, the rest is refused with 429, the API
 * answers meanwhile, and another address is not limited by this one. */
static void test_discovery_flood(void **state)
{
	struct h_daemon *d = *state;
	struct flood f[8];
	pthread_t t[8];
	for (int i = 0; i < 8; i++) {
		f[i] = (struct flood){.d = d, .first = (unsigned)i * 100};
		assert_int_equal(pthread_create(&t[i], NULL, flood_main, &f[i]), 0);
	}
	for (int i = 0; i < 20; i++) {
		assert_int_equal(h_call(d, NULL, "GET", "/healthz", NULL, NULL), 200);
		h_sleep_ms(5);
	}
	int created = 0, refused = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		created += f[i].created;
		refused += f[i].full;
	}
	assert_int_equal(created + refused, 200);
	assert_int_equal(discovered(d), 10);
	assert_true(created <= 30); /* known MACs answered 200 again at most within the burst */
	/* the address that flooded is rate-limited; another one is not (it
	 * meets the cap instead) */
	struct h_resp r;
	assert_int_equal(h_boot_request(d, NULL, "POST", "/v1/agent/lookup",
					"{\"macs\":[\"52:54:00:99:99:99\"]}", &r),
			 429);
	assert_string_equal(h_err_code(&r), "rate_limited");
	h_resp_clear(&r);
	assert_int_equal(lookup_from("127.0.0.2", d->boot_port, 5000), 429);
	assert_int_equal(discovered(d), 10);
}

/* Discovered machines nobody enrolls expire (discovery_ttl_s = 8 here) and
 * the audit log says so. */
static void test_discovered_expire(void **state)
{
	struct h_daemon *d = *state;
	int64_t end = h_now_ms() + 60000;
	while (discovered(d) > 0 && h_now_ms() < end)
		h_sleep_ms(200);
	assert_int_equal(discovered(d), 0);
	assert_true(h_db_int(d, "SELECT count(*) FROM audit WHERE action = 'machine.delete'"
				" AND actor = 'discovery'") >= 10);
}

static void test_delete_rules(void **state)
{
	struct h_daemon *d = *state;
	struct h_resp r;
	/* enrolled, never allocated: deleted; the audit row keeps it */
	assert_int_equal(
	    h_call(d, d->admin, "POST", "/v1/machines",
		   json_pack("{s:s, s:[s]}", "name", "oops", "macs", "52:54:00:77:00:01"), &r),
	    201);
	char id[H_ID_LEN], path[128];
	snprintf(id, sizeof id, "%s", h_str(&r, "id"));
	h_resp_clear(&r);
	snprintf(path, sizeof path, "/v1/machines/%s", id);
	assert_int_equal(h_call(d, d->admin, "DELETE", path, NULL, NULL), 204);
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, NULL), 404);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM audit WHERE action = 'machine.delete'"
				     " AND before LIKE '%\"oops\"%'"),
			 1);
	assert_int_equal(h_db_int(d, "SELECT count(*) FROM nics WHERE mac = '52:54:00:77:00:01'"),
			 0);
	/* the MAC is free again */
	assert_int_equal(
	    h_call(d, d->admin, "POST", "/v1/machines",
		   json_pack("{s:s, s:[s]}", "name", "again", "macs", "52:54:00:77:00:01"), NULL),
	    201);
	/* available (in the pool): refused, naming the state */
	assert_int_equal(h_enroll_fake(d, "pool-0", 0x7701, "lab.small", 10, 0, id), 201);
	assert_true(h_wait_machine(d, id, "available", 120));
	snprintf(path, sizeof path, "/v1/machines/%s", id);
	assert_int_equal(h_call(d, d->admin, "DELETE", path, NULL, &r), 409);
	assert_non_null(strstr(h_err_message(&r), "available"));
	h_resp_clear(&r);
	/* failed: deleted, by the CLI */
	assert_int_equal(h_enroll_fake(d, "broken", 0x7702, "lab.small", 10, 1.0, id), 201);
	assert_true(h_wait_machine(d, id, "failed", 120));
	const char *argv[] = {"machine", "delete", "broken", NULL};
	char *out = NULL;
	assert_int_equal(h_ctl(d, d->admin, &out, NULL, argv), 0);
	assert_non_null(strstr(out, "deleted machine broken"));
	free(out);
	snprintf(path, sizeof path, "/v1/machines/%s", id);
	assert_int_equal(h_call(d, d->admin, "GET", path, NULL, NULL), 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discovery_flood),
	    cmocka_unit_test(test_discovered_expire),
	    cmocka_unit_test(test_delete_rules),
	};
	return cmocka_run_group_tests(tests, setup, h_teardown);
}
