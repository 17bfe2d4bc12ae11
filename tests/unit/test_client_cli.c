/* provisionctl end to end against the loopback responder: exit codes,
 * tables, -o json, error reporting, secrets, help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provisiond/client/ctl.h"
#include "test_client.h"

struct run cli(const struct srv *s, const char *const *args)
{
	char *argv[40] = {"provisionctl"};
	int argc = 1;
	size_t olen = 0, elen = 0;
	struct run r = {0};

	for (; args[argc - 1] != NULL; argc++)
		argv[argc] =
		    (char *)(strcmp(args[argc - 1], "URL") == 0 && s ? s->url : args[argc - 1]);
	FILE *out = open_memstream(&r.out, &olen), *err = open_memstream(&r.err, &elen);
	r.rc = ctl_run(argc, argv, out, err);
	fclose(out);
	fclose(err);
	return r;
}

void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

void assert_has(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("'%s' not found in:\n%s", needle, hay);
}

static void test_cli_machine_list_table(void **state)
{
	char r1[1024];
	const char *replies[] = {srv_reply(
	    r1, sizeof(r1), 200, "",
	    "{\"items\":[{\"id\":\"m-1\",\"name\":\"r12-u07\",\"state\":\"available\",\"sku\":"
	    "\"lab.small\",\"power\":\"on\"},{\"id\":\"m-2\",\"name\":\"r12-u08\",\"state\":"
	    "\"failed\",\"sku\":\"lab.small\",\"last_error\":\"bmc timeout\"}],"
	    "\"next_cursor\":null}")};
	struct srv s;

	(void)state;
	srv_start(&s, replies, 1);
	struct run r = cli(&s, (const char *[]){"--url", "URL", "--token", "t", "machine", "list",
						"--state", "available", NULL});
	srv_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "ID   NAME     STATE      SKU        POWER  LAST ERROR\n"
				   "m-1  r12-u07  available  lab.small  on     -\n"
				   "m-2  r12-u08  failed     lab.small  -      bmc timeout\n");
	assert_true(strncmp(s.requests[0], "GET /v1/machines?state=available HTTP", 37) == 0);
	run_free(&r);
}

static void test_cli_json_output(void **state)
{
	char r1[256];
	const char *replies[] = {srv_reply(r1, sizeof(r1), 200, "", "{\"power\":\"off\"}")};
	struct srv s;

	(void)state;
	srv_start(&s, replies, 1);
	struct run r = cli(&s, (const char *[]){"-o", "json", "machine", "power", "status", "m 1",
						"--url", "URL", NULL});
	srv_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "{\n  \"power\": \"off\"\n}\n");
	assert_true(strncmp(s.requests[0], "GET /v1/machines/m%201/power HTTP", 33) == 0);
	run_free(&r);
}

static void test_cli_api_error(void **state)
{
	char r1[512];
	const char *replies[] = {srv_reply(
	    r1, sizeof(r1), 409, "X-Request-Id: req-77\r\n",
	    "{\"error\":{\"code\":\"insufficient_capacity\",\"message\":\"sku lab.small: 2 "
	    "available, 4 requested\",\"field\":\"count\"}}")};
	struct srv s;

	(void)state;
	srv_start(&s, replies, 1);
	struct run r = cli(&s, (const char *[]){"--url", "URL", "allocation", "create", "--sku",
						"lab.small", "--count", "4", "--image", "img",
						"--idempotency-key", "k-1", NULL});
	srv_stop(&s);
	assert_int_equal(r.rc, CTL_EXIT_API);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "provisionctl: sku lab.small: 2 available, 4 requested\n"
				   "  field: count\n"
				   "  error: insufficient_capacity (HTTP 409)\n"
				   "  request id: req-77\n");
	assert_has(s.requests[0], "\r\nIdempotency-Key: k-1\r\n");
	run_free(&r);
}

static void test_cli_transport_and_usage(void **state)
{
	struct srv s;

	(void)state;
	srv_start(&s, NULL, 0);
	srv_stop(&s); /* port now closed */
	struct run r = cli(&s, (const char *[]){"--url", "URL", "capacity", NULL});
	assert_int_equal(r.rc, CTL_EXIT_TRANSPORT);
	assert_has(r.err, "provisionctl: GET http://127.0.0.1:");
	run_free(&r);

	static const struct {
		const char *args[10];
		const char *msg;
	} cases[] = {
	    {{"machine", NULL}, "'machine' needs a subcommand"},
	    {{"frobnicate", NULL}, "unknown command 'frobnicate'"},
	    {{"machine", "show", NULL}, "missing argument: ID|NAME"},
	    {{"machine", "show", "a", "b", NULL}, "unexpected argument 'b'"},
	    {{"machine", "list", "--bogus", NULL}, "unknown option '--bogus'"},
	    {{"machine", "action", "explode", "m1", NULL}, "unknown action 'explode'"},
	    {{"machine", "power", "sideways", "m1", NULL}, "unknown power command 'sideways'"},
	    {{"machine", "bootdev", "usb", "m1", NULL}, "boot device must be pxe, disk or cd"},
	    {{"allocation", "create", "--sku", "s", NULL},
	     "--sku, --count and --image are required"},
	    {{"allocation", "create", "--sku", "s", "--count", "0", "--image", "i"}, "--count"},
	    {{"-o", "yaml", "capacity", NULL}, "--output must be table or json"},
	    {{"--url", "gopher://x", "capacity", NULL}, "server URL must start with http://"},
	    {{"--config", "/nonexistent.ini", "capacity", NULL}, "cannot read config"},
	    {{"freeze", "on", NULL}, "freeze on needs --reason"},
	    {{"image", "register", "--name", "x", NULL}, "exactly one of --path or --url"},
	    {{"quota", "set", "o", "s", "many", NULL}, "MACHINES must be a whole number"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = cli(NULL, cases[i].args);
		if (r.rc != CTL_EXIT_USAGE)
			fail_msg("case %zu: exit %d, stderr %s", i, r.rc, r.err);
		assert_has(r.err, cases[i].msg);
		run_free(&r);
	}
}

static void test_cli_help(void **state)
{
	const char *const *cmds[] = {
	    (const char *[]){"--help", NULL},
	    (const char *[]){"machine", "--help", NULL},
	    (const char *[]){"machine", "enroll", "--help", NULL},
	    (const char *[]){"help", "allocation", "create", NULL},
	    (const char *[]){"freeze", "-h", NULL},
	};
	static const char *const want[] = {"Commands:", "machine maintenance on|off ID",
					   "--bmc-password-file FILE", "--idempotency-key KEY",
					   "Usage: provisionctl freeze [options] on|off|status"};

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct run r = cli(NULL, cmds[i]);
		assert_int_equal(r.rc, 0);
		assert_has(r.out, want[i]);
		assert_has(r.out,
			   "Exit status: 0 ok, 1 API error, 2 usage error, 3 transport error.");
		run_free(&r);
	}
	struct run r = cli(NULL, (const char *[]){"version", NULL});
	assert_int_equal(r.rc, 0);
	assert_has(r.out, "provisionctl " PC_VERSION);
	run_free(&r);
}

/* The server is not trusted to keep a password out of its messages: the
 * CLI masks it wherever it prints an error. */
static void test_cli_password_never_printed(void **state)
{
	char r1[512];
	const char *replies[] = {
	    srv_reply(r1, sizeof(r1), 400, "",
		      "{\"error\":{\"code\":\"invalid\",\"message\":\"bad password 'Pw-S3cret!'\","
		      "\"field\":\"bmc.password=Pw-S3cret!\"}}")};
	struct srv s;

	(void)state;
	setenv("TEST_CLIENT_BMC_PW", "Pw-S3cret!", 1);
	srv_start(&s, replies, 1);
	struct run r =
	    cli(&s, (const char *[]){"-v", "--url", "URL", "machine", "enroll", "--name", "n1",
				     "--mac", "52:54:00:00:00:01", "--bmc-driver", "ipmi",
				     "--bmc-password-env", "TEST_CLIENT_BMC_PW", NULL});
	srv_stop(&s);
	assert_int_equal(r.rc, CTL_EXIT_API);
	assert_has(r.err, "bad password '***'");
	assert_has(r.err, "field: bmc.password=***");
	assert_has(r.err, "> POST ");
	assert_null(strstr(r.err, "Pw-S3cret!"));
	assert_null(strstr(r.out, "Pw-S3cret!"));
	assert_has(s.requests[0], "\"password\":\"Pw-S3cret!\"");
	run_free(&r);
}

static void test_cli_alloc_wait(void **state)
{
	char r[3][512];
	const char *replies[] = {
	    srv_reply(r[0], 512, 202, "",
		      "{\"id\":\"a-1\",\"state\":\"deploying\",\"machines\":[]}"),
	    srv_reply(r[1], 512, 200, "", "{\"id\":\"a-1\",\"state\":\"deploying\"}"),
	    srv_reply(r[2], 512, 200, "",
		      "{\"id\":\"a-1\",\"state\":\"failed\",\"last_error\":\"pool empty\","
		      "\"machines\":[{\"id\":\"m-1\",\"name\":\"n1\",\"state\":\"failed\","
		      "\"ip\":null}]}"),
	};
	struct srv s;

	(void)state;
	srv_start(&s, replies, 3);
	struct run res =
	    cli(&s, (const char *[]){"--url", "URL", "allocation", "create", "--sku", "lab.small",
				     "--count", "1", "--image", "img", "--wait", "30", NULL});
	srv_stop(&s);
	assert_int_equal(res.rc, CTL_EXIT_API);
	assert_has(res.out, "state:       failed\n");
	assert_has(res.out, "ID   NAME  STATE\nm-1  n1    failed\n"); /* IP unknown: left out */
	assert_has(res.err, "allocation a-1 is failed, not ready, after waiting: pool empty");
	run_free(&res);
}

static void test_cli_sku_counts_and_token(void **state)
{
	char r[3][512];
	const char *replies[] = {
	    srv_reply(r[0], 512, 200, "",
		      "{\"items\":[{\"name\":\"lab.small\",\"counts\":{\"available\":2,"
		      "\"active\":1}}]}"),
	    srv_reply(r[1], 512, 201, "",
		      "{\"id\":\"t-1\",\"token\":\"pvd_abc\",\"role\":\"service\",\"owner\":"
		      "\"search\"}"),
	    "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
	};
	struct srv s;

	(void)state;
	srv_start(&s, replies, 3);
	struct run a = cli(&s, (const char *[]){"--url", "URL", "sku", "list", NULL});
	struct run b = cli(&s, (const char *[]){"--url", "URL", "token", "create", "--role",
						"service", "--owner", "search", NULL});
	struct run c = cli(&s, (const char *[]){"--url", "URL", "token", "delete", "t-1", NULL});
	srv_stop(&s);
	assert_int_equal(a.rc, 0);
	assert_string_equal(a.out, "SKU        AVAILABLE  ACTIVE  TOTAL\n"
				   "lab.small  2          1       3\n");
	assert_int_equal(b.rc, 0);
	assert_has(b.out, "token:  pvd_abc\n");
	assert_has(b.err, "not show it again");
	assert_has(s.requests[1], "{\"role\":\"service\",\"owner\":\"search\"}");
	assert_int_equal(c.rc, 0);
	assert_string_equal(c.out, "deleted token t-1\n");
	assert_true(strncmp(s.requests[2], "DELETE /v1/tokens/t-1 HTTP", 26) == 0);
	run_free(&a);
	run_free(&b);
	run_free(&c);
}

static void test_cli_env_and_config(void **state)
{
	char r1[256], path[256];
	const char *replies[] = {srv_reply(r1, sizeof(r1), 200, "", "{\"frozen\":false}")};
	struct srv s;

	(void)state;
	srv_start(&s, replies, 1);
	snprintf(path, sizeof(path), "%s/.config", getenv("HOME"));
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.config/provisionctl.ini", getenv("HOME"));
	FILE *f = fopen(path, "w");
	fprintf(f, "url = %s\ntoken = from-config\n", s.url);
	fclose(f);
	chmod(path, 0600);
	setenv("PROVISIOND_TOKEN", "from-env", 1);
	struct run r = cli(&s, (const char *[]){"freeze", "status", NULL});
	unsetenv("PROVISIOND_TOKEN");
	unlink(path);
	srv_stop(&s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "frozen:  false\n");
	assert_has(s.requests[0], "Authorization: Bearer from-env\r\n");
	run_free(&r);
}

const struct CMUnitTest client_cli_tests[] = {
    cmocka_unit_test(test_cli_machine_list_table),
    cmocka_unit_test(test_cli_json_output),
    cmocka_unit_test(test_cli_api_error),
    cmocka_unit_test(test_cli_transport_and_usage),
    cmocka_unit_test(test_cli_help),
    cmocka_unit_test(test_cli_password_never_printed),
    cmocka_unit_test(test_cli_alloc_wait),
    cmocka_unit_test(test_cli_sku_counts_and_token),
    cmocka_unit_test(test_cli_env_and_config),
};
const size_t client_cli_ntests = sizeof(client_cli_tests) / sizeof(client_cli_tests[0]);
