/* What each provisionctl command shows, against the loopback responder:
 * counts, the columns of every list, sizes, the terminal width, audit and
 * allocation views. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "provisiond/client/ctl.h"
#include "test_client.h"

/* Runs one command against one canned 200 answer; the request into req. */
static struct run one(const char *body, const char *const *args, char *req, size_t reqlen)
{
	char reply[8192];
	const char *replies[] = {srv_reply(reply, sizeof(reply), 200, "", body)};
	const char *argv[24] = {"--url", "URL", "--token", "t"};
	size_t n = 4;
	struct srv s;

	for (size_t i = 0; args[i] != NULL && n + 1 < 24; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	srv_start(&s, replies, 1);
	struct run r = cli(&s, argv);
	srv_stop(&s);
	if (req != NULL) {
		size_t n = strnlen(s.requests[0], reqlen - 1);
		memcpy(req, s.requests[0], n);
		req[n] = '\0';
	}
	return r;
}

/* Every line of text is at most width characters (UTF-8 aware). */
static void assert_fits(const char *text, size_t width)
{
	size_t w = 0;

	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			w = 0;
			continue;
		}
		if (((unsigned char)*p & 0xC0) != 0x80 && ++w > width)
			fail_msg("a line is wider than %zu:\n%s", width, text);
	}
}

/* sku list and capacity count the same machines the same way: maintenance
 * once, in TOTAL as in its column, and the rows in the same order. */
static void test_views_counts_agree(void **state)
{
	struct run a = one("{\"items\":[{\"name\":\"lab.small\",\"counts\":{\"available\":2,"
			   "\"maintenance\":1,\"in_maintenance\":1}},{\"name\":\"compute.c1\","
			   "\"counts\":{}}],\"next_cursor\":null}",
			   (const char *[]){"sku", "list", NULL}, NULL, 0);
	struct run b = one("{\"skus\":{\"lab.small\":{\"available\":2,\"maintenance\":1,"
			   "\"in_maintenance\":1},\"compute.c1\":{}}}",
			   (const char *[]){"capacity", NULL}, NULL, 0);

	(void)state;
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	assert_string_equal(a.out, "SKU         AVAILABLE  MAINTENANCE  TOTAL\n"
				   "compute.c1  0          0            0\n"
				   "lab.small   2          1            3\n");
	assert_string_equal(b.out, a.out);
	run_free(&a);
	run_free(&b);
}

/* machine list shows location, MACs and the maintenance reason; a column
 * empty in every row (ALLOCATION here) is left out. */
static void test_views_machine_list(void **state)
{
	struct run r = one(
	    "{\"items\":[{\"id\":\"m-1\",\"name\":\"r12-u07\",\"state\":\"maintenance\",\"sku\":"
	    "\"lab.small\",\"power\":\"off\",\"maintenance\":true,\"maintenance_reason\":\"fan\","
	    "\"location\":{\"site\":\"dc1\",\"rack\":\"r12\",\"unit\":7},\"macs\":["
	    "\"52:54:00:00:00:01\",\"52:54:00:00:00:02\"],\"allocation_id\":null},{\"id\":\"m-2\","
	    "\"name\":\"n2\",\"state\":\"available\",\"sku\":\"lab.small\",\"power\":\"on\","
	    "\"maintenance\":false,\"maintenance_reason\":\"\",\"location\":{\"site\":\"\","
	    "\"rack\":\"\",\"unit\":null},\"macs\":[],\"allocation_id\":null,"
	    "\"last_error\":\"\"}],\"next_cursor\":null}",
	    (const char *[]){"machine", "list", NULL}, NULL, 0);

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
			    "ID   NAME     STATE        SKU        POWER  LOCATION   MACS        "
			    "                         MAINTENANCE\n"
			    "m-1  r12-u07  maintenance  lab.small  off    dc1/r12/7  "
			    "52:54:00:00:00:01,52:54:00:00:00:02  fan\n"
			    "m-2  n2       available    lab.small  on     -          -           "
			    "                         -\n");
	run_free(&r);
}

/* machine list at 100 columns: the ID and ALLOCATION columns (the NAME
 * names the machine) give way before anything is cut. */
static void test_views_machine_list_narrow(void **state)
{
	(void)state;
	setenv("COLUMNS", "100", 1);
	struct run r = one(
	    "{\"items\":[{\"id\":\"00000000-0000-0000-0000-0000075bcd15\",\"name\":\"r12-u01\","
	    "\"state\":\"active\",\"sku\":\"lab.small\",\"power\":\"on\",\"location\":{\"site\":"
	    "\"dc1\",\"rack\":\"r12\",\"unit\":1},\"macs\":[\"52:54:00:00:00:01\"],"
	    "\"allocation_id\":\"00000000-0000-0000-0000-00000000002a\",\"last_error\":\"BMC "
	    "verification failed after 5 attempts: connection refused by 10.0.0.7:623\"}],"
	    "\"next_cursor\":null}",
	    (const char *[]){"machine", "list", NULL}, NULL, 0);
	unsetenv("COLUMNS");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
			    "NAME     STATE   SKU        POWER  LOCATION   MACS               "
			    "LAST ERROR\n"
			    "r12-u01  active  lab.small  on     dc1/r12/1  52:54:00:00:00:01  "
			    "BMC verification failed after 5 ...\n");
	assert_fits(r.out, 100);
	run_free(&r);
}

static const char events_body[] =
    "{\"items\":[{\"seq\":1,\"at\":\"2026-11-22T13:36:02.926Z\",\"from\":null,\"to\":"
    "\"enrolled\",\"actor\":\"tech:alice\",\"reason\":\"enrolled\",\"request_id\":\"\"},"
    "{\"seq\":2,\"at\":\"2026-11-22T13:36:03.100Z\",\"from\":\"enrolled\",\"to\":\"failed\","
    "\"actor\":\"lifecycle\",\"reason\":\"BMC verification failed after 5 attempts: "
    "connection refused by 10.0.0.7:623 (check the address and the IPMI user)\","
    "\"request_id\":\"\"}],\"next_cursor\":null}";

/* Not a terminal and no COLUMNS: nothing is cut, and the REQUEST ID
 * column, empty in every row, takes no room. */
static void test_views_events_uncut(void **state)
{
	(void)state;
	unsetenv("COLUMNS");
	struct run r = one(events_body, (const char *[]){"machine", "events", "m1", NULL}, NULL, 0);
	assert_int_equal(r.rc, 0);
	assert_has(r.out, "(check the address and the IPMI user)\n");
	assert_null(strstr(r.out, "REQUEST ID"));
	assert_null(strstr(r.out, "..."));
	run_free(&r);
}

/* COLUMNS=80: the table fits; the free-text REASON is the column cut. */
static void test_views_events_fit_columns(void **state)
{
	(void)state;
	setenv("COLUMNS", "80", 1);
	struct run r = one(events_body, (const char *[]){"machine", "events", "m1", NULL}, NULL, 0);
	unsetenv("COLUMNS");
	assert_int_equal(r.rc, 0);
	assert_fits(r.out, 80);
	assert_has(r.out, "2026-11-22T13:36:03.100Z  enrolled  failed    lifecycle   BMC verif");
	assert_has(r.out, "...\n");
	run_free(&r);
}

/* Sizes in tables are human-readable; -o json stays raw. */
static void test_views_image_sizes(void **state)
{
	static const char body[] =
	    "{\"items\":[{\"name\":\"big\",\"format\":\"raw\",\"size\":1610612736,\"sha256\":"
	    "\"ab\",\"state\":\"ready\",\"path\":\"big.raw\",\"url\":null},{\"name\":\"tiny\","
	    "\"format\":\"raw\",\"size\":512,\"sha256\":\"cd\",\"state\":\"fetching\",\"path\":"
	    "null,\"url\":\"http://m/t.raw\"}],\"next_cursor\":null}";

	(void)state;
	struct run r = one(body, (const char *[]){"image", "list", NULL}, NULL, 0);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "NAME  FORMAT  SIZE     SHA256  STATE     SOURCE\n"
				   "big   raw     1.5 GiB  ab      ready     big.raw\n"
				   "tiny  raw     512 B    cd      fetching  http://m/t.raw\n");
	run_free(&r);
	r = one(body, (const char *[]){"-o", "json", "image", "list", NULL}, NULL, 0);
	assert_has(r.out, "\"size\": 1610612736");
	run_free(&r);
}

static void test_views_human_size(void **state)
{
	static const struct {
		long long n;
		const char *text;
	} cases[] = {
	    {0, "0 B"},
	    {1023, "1023 B"},
	    {1024, "1.0 KiB"},
	    {1536, "1.5 KiB"},
	    {4194304, "4.0 MiB"},
	    {1610612736, "1.5 GiB"},
	    {1099511627776LL, "1.0 TiB"},
	    {-5, "-5 B"},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(ctl_human_size(cases[i].n, buf, sizeof(buf)), cases[i].text);
}

/* token list has no column the server never fills (LAST USED). */
static void test_views_token_list(void **state)
{
	(void)state;
	struct run r = one("{\"items\":[{\"id\":\"t-1\",\"name\":\"ci\",\"role\":\"service\","
			   "\"owner\":\"search\",\"created_at\":\"2026-11-22T13:36:02.926Z\"}],"
			   "\"next_cursor\":null}",
			   (const char *[]){"token", "list", NULL}, NULL, 0);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "ID   NAME  ROLE     OWNER   CREATED\n"
				   "t-1  ci    service  search  2026-11-22T13:36:02.926Z\n");
	run_free(&r);
}

/* audit: newest first by default, the filters as query arguments, and
 * TARGET from target_type and target_id. */
static void test_views_audit(void **state)
{
	char req[2048];

	(void)state;
	struct run r =
	    one("{\"items\":[{\"seq\":9,\"at\":\"2026-11-22T13:36:02.926Z\",\"actor\":"
		"\"tech:alice\",\"action\":\"machine.enroll\",\"target_type\":"
		"\"machine\",\"target_id\":\"fc5c\",\"request_id\":\"\"}],"
		"\"next_cursor\":null}",
		(const char *[]){"audit", "--actor", "alice", "--action", "machine", "--target",
				 "m1", "--since", "2026-11-22T00:00:00Z", NULL},
		req, sizeof(req));
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
			    "TIME                      ACTOR       ACTION          TARGET\n"
			    "2026-11-22T13:36:02.926Z  tech:alice  machine.enroll  machine:fc5c\n");
	assert_has(req, "GET /v1/audit?order=desc&since=2026-11-22T00%3A00%3A00Z&actor=alice&"
			"action=machine&target=m1&limit=100 HTTP");
	run_free(&r);
	/* a relative --since is sent as a time */
	r = one("{\"items\":[],\"next_cursor\":null}",
		(const char *[]){"audit", "--since", "2h", "--limit", "5", NULL}, req, sizeof(req));
	assert_int_equal(r.rc, 0);
	assert_has(req, "&since=20");
	assert_has(req, "Z&limit=5 HTTP");
	run_free(&r);
	r = cli(NULL, (const char *[]){"audit", "--since", "yesterday", NULL});
	assert_int_equal(r.rc, CTL_EXIT_USAGE);
	assert_has(r.err, "--since");
	run_free(&r);
}

static void test_views_list_filters(void **state)
{
	char req[2048];

	(void)state;
	struct run r =
	    one("{\"items\":[],\"next_cursor\":null}",
		(const char *[]){"machine", "list", "--site", "dc1", "--rack", "r12", NULL}, req,
		sizeof(req));
	assert_int_equal(r.rc, 0);
	assert_has(req, "GET /v1/machines?site=dc1&rack=r12 HTTP");
	run_free(&r);
	r = one("{\"items\":[],\"next_cursor\":null}",
		(const char *[]){"allocation", "list", "--state", "ready", "--owner", "search",
				 "--limit", "5", NULL},
		req, sizeof(req));
	assert_int_equal(r.rc, 0);
	assert_has(req, "GET /v1/allocations?state=ready&owner=search&limit=5 HTTP");
	run_free(&r);
}

/* A replayed Idempotency-Key says so; one whose allocation is released
 * ends without a dangling colon. */
static void test_views_alloc_replay(void **state)
{
	char r1[512], r2[512], r3[512];
	const char *replies[] = {
	    srv_reply(r1, sizeof(r1), 202, "Idempotent-Replayed: true\r\n",
		      "{\"id\":\"a-1\",\"name\":\"ci-42\",\"state\":\"released\",\"last_error\":"
		      "\"\",\"machines\":[]}"),
	    srv_reply(r2, sizeof(r2), 200, "",
		      "{\"id\":\"a-1\",\"name\":\"ci-42\",\"state\":\"released\",\"last_error\":"
		      "\"\",\"machines\":[]}"),
	    srv_reply(r3, sizeof(r3), 202, "",
		      "{\"id\":\"a-2\",\"state\":\"deploying\",\"machines\":[]}"),
	};
	struct srv s;

	(void)state;
	srv_start(&s, replies, 3);
	struct run a =
	    cli(&s, (const char *[]){"--url", "URL", "allocation", "create", "--sku", "lab.small",
				     "--count", "1", "--image", "img", "--idempotency-key", "ci-42",
				     "--wait", "30", NULL});
	struct run b =
	    cli(&s, (const char *[]){"--url", "URL", "allocation", "create", "--sku", "lab.small",
				     "--count", "1", "--image", "img", NULL});
	srv_stop(&s);
	assert_int_equal(a.rc, CTL_EXIT_API);
	assert_has(a.err, "Idempotency-Key 'ci-42' was used before: this is allocation a-1");
	assert_has(a.err, "allocation a-1 is released, not ready, after waiting\n");
	assert_null(strstr(a.err, "waiting:"));
	assert_int_equal(b.rc, 0);
	assert_null(strstr(b.err, "Idempotency-Key"));
	run_free(&a);
	run_free(&b);
}

/* create --wait, not on a terminal: one plain line per change. */
static void test_views_alloc_progress(void **state)
{
	char r[4][512];
	const char *replies[] = {
	    srv_reply(r[0], 512, 202, "", "{\"id\":\"a-1\",\"state\":\"deploying\"}"),
	    srv_reply(r[1], 512, 200, "",
		      "{\"id\":\"a-1\",\"state\":\"deploying\",\"machines\":[{\"name\":\"n1\","
		      "\"state\":\"deploying\"},{\"name\":\"n2\",\"state\":\"deploying\"}]}"),
	    srv_reply(r[2], 512, 200, "",
		      "{\"id\":\"a-1\",\"state\":\"deploying\",\"machines\":[{\"name\":\"n1\","
		      "\"state\":\"active\"},{\"name\":\"n2\",\"state\":\"deploying\"}]}"),
	    srv_reply(r[3], 512, 200, "",
		      "{\"id\":\"a-1\",\"state\":\"ready\",\"machines\":[{\"name\":\"n1\","
		      "\"state\":\"active\"},{\"name\":\"n2\",\"state\":\"active\"}]}"),
	};
	struct srv s;

	(void)state;
	srv_start(&s, replies, 4);
	struct run res =
	    cli(&s, (const char *[]){"--url", "URL", "allocation", "create", "--sku", "lab.small",
				     "--count", "2", "--image", "img", "--wait", "30", NULL});
	srv_stop(&s);
	assert_int_equal(res.rc, 0);
	assert_has(res.err, "allocation a-1 accepted; waiting up to 30 s\n"
			    "a-1: deploying, 0/2 machines active\n"
			    "  n1  deploying\n"
			    "  n2  deploying\n"
			    "  n1  deploying -> active\n"
			    "  n2  deploying -> active\n"
			    "a-1: deploying -> ready, 2/2 machines active\n");
	assert_null(strstr(res.err, "\033["));
	run_free(&res);
}

/* A pseudo-terminal cols wide: the master fd, the slave as a FILE. */
static int open_tty(unsigned short cols, FILE **slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	struct winsize ws = {.ws_row = 24, .ws_col = cols};

	if (m < 0)
		return -1; /* no pseudo-terminals here (a container without /dev/pts) */
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	int s = open(ptsname(m), O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	assert_int_equal(ioctl(s, TIOCSWINSZ, &ws), 0);
	*slave = fdopen(s, "w");
	assert_non_null(*slave);
	return m;
}

/* What the terminal got (without the \r the line discipline adds). */
static char *tty_text(int master)
{
	static char buf[16384];
	size_t n = 0;
	ssize_t k;

	fcntl(master, F_SETFL, O_NONBLOCK);
	while (n + 1 < sizeof(buf) && (k = read(master, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	char *w = buf;
	for (char *r = buf; *r; r++)
		if (*r != '\r')
			*w++ = *r;
	*w = '\0';
	return buf;
}

/* On a terminal: tables fit its width (TIOCGWINSZ, COLUMNS unset), and
 * --wait redraws its block of progress lines in place. */
static void test_views_tty(void **state)
{
	char r[4][1024], ev[4096];
	const char *replies[] = {
	    srv_reply(ev, sizeof(ev), 200, "", events_body),
	    srv_reply(r[0], 1024, 202, "", "{\"id\":\"a-1\",\"state\":\"deploying\"}"),
	    srv_reply(r[1], 1024, 200, "",
		      "{\"id\":\"a-1\",\"state\":\"deploying\",\"machines\":[{\"name\":\"n1\","
		      "\"state\":\"deploying\"},{\"name\":\"n2\",\"state\":\"deploying\"}]}"),
	    srv_reply(r[2], 1024, 200, "",
		      "{\"id\":\"a-1\",\"state\":\"ready\",\"machines\":[{\"name\":\"n1\","
		      "\"state\":\"active\"},{\"name\":\"n2\",\"state\":\"active\"}]}"),
	};
	struct srv s;
	FILE *tty = NULL;
	char *none = NULL;
	size_t nlen = 0;

	(void)state;
	unsetenv("COLUMNS");
	int m = open_tty(60, &tty);
	if (m < 0)
		skip();
	FILE *quiet = open_memstream(&none, &nlen);
	srv_start(&s, replies, 4);
	char *ev_argv[] = {"provisionctl", "--url", s.url, "machine", "events", "m1", NULL};
	assert_int_equal(ctl_run(6, ev_argv, tty, quiet), 0);
	fflush(tty);
	char *text = tty_text(m);
	assert_fits(text, 60);
	assert_has(text, "...\n");
	char *wait_argv[] = {
	    "provisionctl", "--url", s.url,	"allocation", "create", "--sku", "s",
	    "--count",	    "2",     "--image", "i",	      "--wait", "30",	 NULL};
	assert_int_equal(ctl_run(13, wait_argv, quiet, tty), 0);
	srv_stop(&s);
	fflush(tty);
	text = tty_text(m);
	assert_has(text, "\033[Ka-1: deploying, 0/2 machines active\n\033[K  n1");
	assert_has(text, "\033[3F\033[J\033[Ka-1: ready, 2/2 machines active\n");
	fclose(tty);
	fclose(quiet);
	free(none);
	close(m);
}

const struct CMUnitTest client_views_tests[] = {
    cmocka_unit_test(test_views_counts_agree),
    cmocka_unit_test(test_views_machine_list),
    cmocka_unit_test(test_views_machine_list_narrow),
    cmocka_unit_test(test_views_events_uncut),
    cmocka_unit_test(test_views_events_fit_columns),
    cmocka_unit_test(test_views_image_sizes),
    cmocka_unit_test(test_views_human_size),
    cmocka_unit_test(test_views_token_list),
    cmocka_unit_test(test_views_audit),
    cmocka_unit_test(test_views_list_filters),
    cmocka_unit_test(test_views_alloc_replay),
    cmocka_unit_test(test_views_alloc_progress),
    cmocka_unit_test(test_views_tty),
    /* one per line */
};
const size_t client_views_ntests = sizeof(client_views_tests) / sizeof(client_views_tests[0]);
