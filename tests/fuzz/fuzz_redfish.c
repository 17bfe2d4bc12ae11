/* fuzz_redfish.c - the redfish driver's handling of what a BMC answers (network
 * input): the input is split at 0x1e bytes into the bodies of the Systems
 * collection, the system, its manager, the VirtualMedia collection, the virtual
 * CD, the answer to actions and PATCHes, and the system's response headers; a
 * scripted responder on loopback (tests/unit/redfish_fixtures/srv.h) serves them
 * while the driver reads power, sets power and the boot device, and inserts and
 * ejects virtual media through the BMC layer's public API. Invariants: every
 * failure carries a message, results are in range, and (under ASan) nothing is
 * misread. The corpus holds recorded answers (redfish_*.bin). The same input,
 * as the bytes of a telnet console, goes through the console's telnet filter
 * (fuzz_telnet). */
#include "provisiond/bmc/bmc.h"
#include "provisiond/bmc/driver_redfish.h"
#include "redfish_fixtures/srv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPARTS 7

static struct bmc_manager *m;
static char addr[64];

static void init(void)
{
	struct bmc_limits l;
	int port = srv_start(NULL, NULL);

	if (port <= 0)
		abort();
	snprintf(addr, sizeof addr, "http://127.0.0.1:%d", port);
	bmc_limits_default(&l);
	l.call_timeout_ms = 500;
	l.confirm_timeout_ms = 30;
	l.confirm_poll_ms = 10;
	l.retries = 0;
	l.breaker_threshold = 1000000; /* every input gets the driver, not a fast failure */
	m = bmc_manager_new(&l);
	if (!m)
		abort();
}

/* Splits a copy of the input at 0x1e; a part starting with '@' (a fixture name
 * to srv.h) gets a blank first. Header part: no line breaks. */
static void split(const uint8_t *data, size_t size, char *parts[NPARTS])
{
	size_t start = 0;
	int k = 0;

	for (size_t i = 0; i <= size && k < NPARTS; i++) {
		if (i < size && data[i] != 0x1e)
			continue;
		size_t n = i - start;
		char *p = malloc(n + 2);
		if (!p)
			abort();
		p[0] = ' ';
		memcpy(p + 1, data + start, n);
		p[n + 1] = 0;
		for (size_t j = 1; j <= n; j++)
			if (p[j] == 0 || (k == NPARTS - 1 && (p[j] == '\r' || p[j] == '\n')))
				p[j] = ' ';
		parts[k++] = p;
		start = i + 1;
	}
	for (; k < NPARTS; k++)
		parts[k] = strdup(" ");
}

static void check(enum bmc_status st, const struct bmc_error *e)
{
	if ((unsigned)st >= BMC_STATUS__COUNT || e->status != st)
		abort();
	if (st != BMC_OK && (e->message[0] == 0 || !memchr(e->message, 0, sizeof e->message)))
		abort();
}

/* The console's telnet filter on the raw input, in one read and cut in two at a
 * place the input chooses: the same data and answers either way, never more data
 * than came, answers whole (three bytes each) and within their buffer. */
static void fuzz_telnet(const uint8_t *data, size_t size)
{
	unsigned char *a = malloc(size + 1), *b = malloc(size + 1);
	struct rf_telnet ta = {0}, tb = {0};
	size_t cut = size > 0 ? data[0] % (size + 1) : 0, na, nb;

	if (!a || !b)
		abort();
	memcpy(a, data, size);
	memcpy(b, data, size);
	na = rf_telnet_filter(&ta, a, size);
	nb = rf_telnet_filter(&tb, b, cut);
	memmove(b + nb, b + cut, size - cut);
	nb += rf_telnet_filter(&tb, b + nb, size - cut);
	if (na > size || na != nb || memcmp(a, b, na) != 0 || ta.nreply != tb.nreply ||
	    memcmp(ta.reply, tb.reply, ta.nreply) != 0 || ta.nreply % 3 != 0 ||
	    ta.nreply > sizeof ta.reply)
		abort();
	free(a);
	free(b);
}

/* The previous input's parts: freed once the responder holds the next rules
 * (a call the driver gave up on may still be answered from them until then). */
static char *prev[NPARTS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p[NPARTS];
	static unsigned long n;
	struct bmc_error e;
	enum bmc_power_state ps = BMC_POWER_UNKNOWN;
	enum bmc_status st;

	if (!m)
		init();
	fuzz_telnet(data, size);
	split(data, size, p);
	const struct srv_rule rules[] = {
	    {.method = "GET", .path = "/redfish/v1/", .status = 200, .body = "@root.json"},
	    {.method = "POST",
	     .path = "/redfish/v1/SessionService/Sessions",
	     .status = 201,
	     .body = "@session_created.json",
	     .headers = "X-Auth-Token: tok1|Location: /redfish/v1/SessionService/Sessions/1"},
	    {.method = "GET", .path = "/redfish/v1/Systems", .status = 200, .body = p[0]},
	    {.method = "GET",
	     .path = "/redfish/v1/Systems/1",
	     .status = 200,
	     .body = p[1],
	     .headers = p[6]},
	    {.method = "GET", .path = "/redfish/v1/Managers/1", .status = 200, .body = p[2]},
	    {.method = "GET",
	     .path = "/redfish/v1/Managers/1/VirtualMedia",
	     .status = 200,
	     .body = p[3]},
	    {.method = "GET",
	     .path = "/redfish/v1/Systems/1/VirtualMedia",
	     .status = 200,
	     .body = p[3]},
	    {.method = "GET", .status = 200, .body = p[4]}, /* any other GET: a member */
	    {.method = "POST", .status = n % 2 ? 400 : 204, .body = p[5]},
	    {.method = "PATCH", .status = n % 2 ? 204 : 412, .body = p[5]},
	};
	srv_set(rules, sizeof rules / sizeof rules[0]);
	for (int i = 0; i < NPARTS; i++) {
		free(prev[i]);
		prev[i] = p[i];
	}
	/* a new key per input: nothing cached from the previous one */
	char key[32];
	snprintf(key, sizeof key, "k%lu", n++);
	struct bmc_target t = {.key = key,
			       .driver = "redfish",
			       .address = addr,
			       .username = "admin",
			       .password = "pw",
			       .options_json = n % 2 ? "{\"system_id\":\"1\"}" : NULL,
			       .boot_mode = n % 3 ? NULL : "UEFI"};
	st = bmc_power_get(m, &t, &ps, &e);
	check(st, &e);
	if (st == BMC_OK && ps != BMC_POWER_ON && ps != BMC_POWER_OFF)
		abort();
	check(bmc_power_set(m, &t, (enum bmc_power_action)(n % BMC_POWER_ACTION__COUNT), &e), &e);
	check(bmc_boot_set(m, &t, BMC_BOOT_CD, n % 2, &e), &e);
	check(bmc_media_insert(m, &t, "http://10.0.0.1/vmedia/x.iso", &e), &e);
	check(bmc_media_eject(m, &t, &e), &e);
	return 0;
}
