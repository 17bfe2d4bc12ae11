/* test_agent_cmdline.c — kernel command line and flag parsing. */
#include "agent.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

char *tu_tempdir(void);
void tu_rmtree(const char *dir);
char *tu_path(const char *dir, const char *name);
int tu_write_file(const char *path, const void *data, size_t len);

struct cmdline_case {
	const char *line;
	enum agent_rc rc;	/* of agent_cmdline_parse */
	enum agent_rc check_rc; /* of agent_config_check (when parse ok) */
	const char *url;	/* expected, NULL = unset */
	enum agent_mode mode;
	const char *machine;
	const char *token;
	int heartbeat;
	const char *msg_part; /* substring of the error message */
};

static const struct cmdline_case cases[] = {
    {"console=ttyS0 provisiond.url=http://10.0.0.1:7481/ provisiond.mode=agent "
     "provisiond.machine=m-1 provisiond.token=t1 provisiond.heartbeat=5 quiet",
     AGENT_OK, AGENT_OK, "http://10.0.0.1:7481", AGENT_MODE_AGENT, "m-1", "t1", 5, NULL},
    {"provisiond.url=http://h:1 provisiond.mode=discover", AGENT_OK, AGENT_OK, "http://h:1",
     AGENT_MODE_DISCOVER, NULL, NULL, 10, NULL},
    {"provisiond.url=http://h:1", AGENT_OK, AGENT_E_USAGE, "http://h:1", AGENT_MODE_AGENT, NULL,
     NULL, 10, "provisiond.token missing"},
    {"quiet splash", AGENT_OK, AGENT_E_USAGE, NULL, AGENT_MODE_AGENT, NULL, NULL, 10,
     "no provisiond.url"},
    {"provisiond.url=http://h provisiond.token=\"a b\" x=\"q r\"", AGENT_OK, AGENT_OK, "http://h",
     AGENT_MODE_AGENT, NULL, "a b", 10, NULL},
    {"provisiond.url=http://h provisiond.token=t -- provisiond.token=init-arg", AGENT_OK, AGENT_OK,
     "http://h", AGENT_MODE_AGENT, NULL, "t", 10, NULL},
    {"  provisiond.url=https://h//  provisiond.token=t\n", AGENT_OK, AGENT_OK, "https://h",
     AGENT_MODE_AGENT, NULL, "t", 10, NULL},
    {"provisiond.url=ftp://h", AGENT_E_USAGE, AGENT_OK, NULL, AGENT_MODE_AGENT, NULL, NULL, 10,
     "must start with http://"},
    {"provisiond.mode=rescue", AGENT_E_USAGE, AGENT_OK, NULL, AGENT_MODE_AGENT, NULL, NULL, 10,
     "expected agent or discover"},
    {"provisiond.heartbeat=0", AGENT_E_USAGE, AGENT_OK, NULL, AGENT_MODE_AGENT, NULL, NULL, 10,
     "provisiond.heartbeat"},
    {"provisiond.heartbeat=5s", AGENT_E_USAGE, AGENT_OK, NULL, AGENT_MODE_AGENT, NULL, NULL, 10,
     "not an integer"},
    {"provisiond.heartbeat=99999", AGENT_E_USAGE, AGENT_OK, NULL, AGENT_MODE_AGENT, NULL, NULL, 10,
     "[1, 3600]"},
    {"provisiond.url", AGENT_E_USAGE, AGENT_OK, NULL, AGENT_MODE_AGENT, NULL, NULL, 10,
     "has no value"},
    {"provisiond.url=http://h provisiond.token=t provisiond.colour=blue", AGENT_OK, AGENT_OK,
     "http://h", AGENT_MODE_AGENT, NULL, "t", 10, NULL},
    {"provisiond.url=http://h provisiond.token=t provisiond.token= ", AGENT_OK, AGENT_E_USAGE,
     "http://h", AGENT_MODE_AGENT, NULL, NULL, 10, "token missing"},
};

static void assert_str_or_null(const char *want, const char *got)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(want, got);
}

static void test_cmdline_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cmdline_case *c = &cases[i];
		struct agent_config cfg;
		struct agent_err err = {0};
		print_message("case %zu: %s\n", i, c->line);
		assert_int_equal(agent_config_init(&cfg, NULL), AGENT_OK);
		enum agent_rc rc = agent_cmdline_parse(c->line, &cfg, &err);
		assert_int_equal(rc, c->rc);
		if (rc == AGENT_OK) {
			assert_str_or_null(c->url, cfg.url);
			assert_int_equal(cfg.mode, c->mode);
			assert_str_or_null(c->machine, cfg.machine);
			assert_str_or_null(c->token, cfg.token);
			assert_int_equal(cfg.heartbeat_s, c->heartbeat);
			rc = agent_config_check(&cfg, &err);
			assert_int_equal(rc, c->check_rc);
		}
		if (c->msg_part)
			assert_non_null(strstr(err.msg, c->msg_part));
		agent_config_free(&cfg);
	}
}

static void test_options_override_cmdline(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *file = tu_path(dir, "cmdline");
	const char *line =
	    "provisiond.url=http://a:1 provisiond.token=boot provisiond.heartbeat=7\n";
	assert_int_equal(tu_write_file(file, line, strlen(line)), 0);
	char *argv[] = {
	    "provisiond-agent", "--cmdline",	file, "--url",	   "http://b:2/", "booted",
	    "--no-power",	"--retry-base", "50", "--devroot", dir,		  NULL};
	struct agent_config cfg;
	struct agent_err err = {0};
	const char *cmd = NULL;
	assert_int_equal(agent_config_init(&cfg, NULL), AGENT_OK);
	assert_int_equal(agent_options_parse(11, argv, &cfg, &cmd, &err), AGENT_OK);
	assert_string_equal(cmd, "booted");
	assert_string_equal(cfg.url, "http://b:2");
	assert_string_equal(cfg.token, "boot");
	assert_int_equal(cfg.heartbeat_s, 7);
	assert_true(cfg.no_power);
	assert_true(cfg.retry_base_s > 0.049 && cfg.retry_base_s < 0.051);
	assert_string_equal(cfg.devroot, dir);
	agent_config_free(&cfg);
	tu_rmtree(dir);
	free(file);
	free(dir);
}

static void test_options_sysroot_cmdline_and_errors(void **state)
{
	(void)state;
	char *argv[] = {"provisiond-agent", "--sysroot", AGENT_FIXTURES "/qemu-vm", NULL};
	struct agent_config cfg;
	struct agent_err err = {0};
	const char *cmd = NULL;
	assert_int_equal(agent_config_init(&cfg, NULL), AGENT_OK);
	assert_int_equal(agent_options_parse(3, argv, &cfg, &cmd, &err), AGENT_OK);
	assert_string_equal(cmd, "run");
	assert_string_equal(cfg.url, "http://10.77.0.1:7481");
	assert_string_equal(cfg.machine, "6f1c2d3e-0000-4000-8000-000000000001");
	assert_int_equal(cfg.heartbeat_s, 5);
	agent_config_free(&cfg);

	char *bad[] = {"provisiond-agent", "--heartbeat", "x", "--cmdline", "/nonexistent", NULL};
	assert_int_equal(agent_config_init(&cfg, NULL), AGENT_OK);
	assert_int_equal(agent_options_parse(5, bad, &cfg, &cmd, &err), AGENT_E_IO);
	assert_non_null(strstr(err.msg, "/nonexistent"));
	agent_config_free(&cfg);

	char *bad2[] = {"provisiond-agent", "--cmdline", AGENT_FIXTURES "/qemu-vm/proc/cmdline",
			"--mode",	    "x",	 NULL};
	assert_int_equal(agent_config_init(&cfg, NULL), AGENT_OK);
	assert_int_equal(agent_options_parse(5, bad2, &cfg, &cmd, &err), AGENT_E_USAGE);
	assert_non_null(strstr(err.msg, "--mode"));
	agent_config_free(&cfg);
}

static void test_parse_int(void **state)
{
	(void)state;
	long v = 0;
	assert_int_equal(agent_parse_int("42", 0, 100, &v, NULL), AGENT_OK);
	assert_int_equal(v, 42);
	assert_int_equal(agent_parse_int("", 0, 100, &v, NULL), AGENT_E_USAGE);
	assert_int_equal(agent_parse_int("4 2", 0, 100, &v, NULL), AGENT_E_USAGE);
	assert_int_equal(agent_parse_int("-1", 0, 100, &v, NULL), AGENT_E_USAGE);
	assert_int_equal(agent_parse_int("99999999999999999999", 0, 100, &v, NULL), AGENT_E_USAGE);
}

static void test_backoff(void **state)
{
	(void)state;
	struct agent_backoff b;
	agent_backoff_init(&b, 1.0, 30.0, 600);
	double expect = 1.0, d = 0;
	for (int i = 0; i < 8; i++) {
		assert_true(agent_backoff_next(&b, &d));
		assert_true(d >= expect / 2 - 1e-9 && d <= expect + 1e-9);
		expect = expect * 2 > 30 ? 30 : expect * 2;
	}
	agent_backoff_init(&b, 1.0, 30.0, 0);
	assert_false(agent_backoff_next(&b, &d));
	for (int i = 0; i < 1000; i++) {
		double j = agent_jitter(10, 0.2);
		assert_true(j >= 8.0 && j <= 12.0);
	}
}

int agent_test_cmdline(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cmdline_table),
	    cmocka_unit_test(test_options_override_cmdline),
	    cmocka_unit_test(test_options_sysroot_cmdline_and_errors),
	    cmocka_unit_test(test_parse_int),
	    cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests_name("agent_cmdline", tests, NULL, NULL);
}
