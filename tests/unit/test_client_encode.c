/* Pure functions: URL encoding, error bodies, argument parsing, config
 * precedence, request bodies built from flags. No network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provisiond/client/ctl.h"
#include "provisiond/client/provclient.h"
#include "test_client.h"

static void test_url_encode(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"", ""},
	    {"abcXYZ019-._~", "abcXYZ019-._~"},
	    {"a b/c?d&e=f#g", "a%20b%2Fc%3Fd%26e%3Df%23g"},
	    {"100%", "100%25"},
	    {"é", "%C3%A9"},
	    {"r12:u07+x", "r12%3Au07%2Bx"},
	    {"\r\n", "%0D%0A"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *enc = pc_url_encode(cases[i].in);
		assert_non_null(enc);
		assert_string_equal(enc, cases[i].out);
		free(enc);
	}
	assert_null(pc_url_encode(NULL));
}

static void test_path_new(void **state)
{
	char *p;

	(void)state;
	p = pc_path_new("/v1/machines", "r12 u7", "events", PC_END);
	assert_string_equal(p, "/v1/machines/r12%20u7/events");
	free(p);
	p = pc_path_new("/v1/owners", "a/b", "quotas", "lab.small", PC_END);
	assert_string_equal(p, "/v1/owners/a%2Fb/quotas/lab.small");
	free(p);
	/* Dot segments must not be normalised into another resource. */
	p = pc_path_new("/v1/machines", "..", "power", PC_END);
	assert_string_equal(p, "/v1/machines/%2E%2E/power");
	free(p);
	p = pc_path_new("/v1/machines", ".", PC_END);
	assert_string_equal(p, "/v1/machines/%2E");
	free(p);
	assert_null(pc_path_new("/v1/machines", "", PC_END));
	p = pc_path_new("/v1/capacity", PC_END);
	assert_string_equal(p, "/v1/capacity");
	free(p);
}

static void test_error_body(void **state)
{
	static const struct {
		long status;
		const char *body, *code, *message, *field;
	} cases[] = {
	    {409,
	     "{\"error\":{\"code\":\"insufficient_capacity\",\"message\":\"sku X: 2 available, 4 "
	     "requested\",\"field\":\"count\"}}",
	     "insufficient_capacity", "sku X: 2 available, 4 requested", "count"},
	    {404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such machine\"}}",
	     "not_found", "no such machine", ""},
	    {403, "{\"error\":{\"message\":\"no\"}}", "http_403", "no", ""},
	    {400, "{\"error\":{\"code\":\"bad\",\"message\":\"a\\nb\\u001b[31m\"}}", "bad",
	     "a b [31m", ""},
	    {502, "<html>Bad gateway</html>", "http_502", "server answered HTTP 502", ""},
	    {503, "Service Unavailable\r\nmore", "http_503",
	     "server answered HTTP 503: Service Unavailable", ""},
	    {500, "", "http_500", "server answered HTTP 500", ""},
	    {500, "{\"error\":\"flat\"}", "http_500", "server answered HTTP 500", ""},
	    {418, "[1,2]", "http_418", "server answered HTTP 418", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pc_error e;
		pc_error_clear(&e);
		pc_error_from_body(&e, cases[i].status, cases[i].body, strlen(cases[i].body));
		assert_int_equal(e.kind, PC_E_API);
		assert_int_equal(e.http_status, cases[i].status);
		assert_string_equal(e.code, cases[i].code);
		assert_string_equal(e.message, cases[i].message);
		assert_string_equal(e.field, cases[i].field);
	}
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(pc_status_name(PC_OK), "ok");
	assert_string_equal(pc_status_name(PC_E_API), "api");
	assert_string_equal(pc_status_name(PC_E_TRANSPORT), "transport");
	assert_string_equal(pc_status_name((pc_status)99), "unknown");
	assert_int_equal(ctl_exit_code(PC_E_API), CTL_EXIT_API);
	assert_int_equal(ctl_exit_code(PC_E_TRANSPORT), CTL_EXIT_TRANSPORT);
	assert_int_equal(ctl_exit_code(PC_E_PROTOCOL), CTL_EXIT_TRANSPORT);
	assert_int_equal(ctl_exit_code(PC_E_INVALID), CTL_EXIT_USAGE);
}

static const struct ctl_opt g_opts[] = {
    {"url", 0, CTL_VALUE, "URL", ""},
    {"output", 'o', CTL_VALUE, "F", ""},
    {"verbose", 'v', CTL_FLAG, NULL, ""},
    {NULL, 0, 0, NULL, NULL},
};
static const struct ctl_opt c_opts[] = {
    {"mac", 0, CTL_MULTI, "MAC", ""},
    {"name", 0, CTL_VALUE, "N", ""},
    {"persistent", 0, CTL_FLAG, NULL, ""},
    {NULL, 0, 0, NULL, NULL},
};

static int parse(char **argv, struct ctl_args *a, char *err)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return ctl_args_parse(argc, argv, 1, g_opts, c_opts, a, err, 128);
}

static void test_args_ok(void **state)
{
	char *argv[] = {"x",	    "machine", "--mac", "m1",	    "-o", "json",	  "enroll",
			"--mac=m2", "--name",  "a",	"--name=b", "-v", "--persistent", "--",
			"-5",	    NULL};
	struct ctl_args a;
	char err[128];
	const char *macs[4];

	(void)state;
	assert_int_equal(parse(argv, &a, err), 0);
	assert_int_equal(a.npos, 3);
	assert_string_equal(a.pos[0], "machine");
	assert_string_equal(a.pos[1], "enroll");
	assert_string_equal(a.pos[2], "-5");
	assert_int_equal(ctl_arg_all(&a, "mac", macs, 4), 2);
	assert_string_equal(macs[0], "m1");
	assert_string_equal(macs[1], "m2");
	assert_string_equal(ctl_arg(&a, "name"), "b"); /* last wins */
	assert_string_equal(ctl_arg(&a, "output"), "json");
	assert_true(ctl_flag(&a, "verbose"));
	assert_true(ctl_flag(&a, "persistent"));
	assert_false(ctl_flag(&a, "url"));
}

static void test_args_errors(void **state)
{
	static const struct {
		char *argv[5];
		const char *msg;
	} cases[] = {
	    {{"x", "--nope", NULL}, "unknown option '--nope'"},
	    {{"x", "--name", NULL}, "option --name needs a value (N)"},
	    {{"x", "--persistent=yes", NULL}, "option --persistent takes no value"},
	    {{"x", "-q", NULL}, "unknown option '-q'"},
	    {{"x", "-ov", NULL}, "unknown option '-ov'"},
	};
	struct ctl_args a;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse((char **)cases[i].argv, &a, err), -1);
		assert_string_equal(err, cases[i].msg);
	}
}

static void test_parse_long(void **state)
{
	long v = 0;

	(void)state;
	assert_int_equal(ctl_parse_long("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(ctl_parse_long("0", 1, 100, &v), -1);
	assert_int_equal(ctl_parse_long("4x", 1, 100, &v), -1);
	assert_int_equal(ctl_parse_long("", 1, 100, &v), -1);
	assert_int_equal(ctl_parse_long(" 4", 1, 100, &v), -1);
	assert_int_equal(ctl_parse_long("99999999999999999999", 1, 100, &v), -1);
	assert_int_equal(ctl_parse_long(NULL, 1, 100, &v), -1);
}

/* ---- configuration precedence ----------------------------------------- */

static const char *fake_env_vals[16][2];

static const char *fake_env(const char *name)
{
	for (size_t i = 0; i < 16 && fake_env_vals[i][0] != NULL; i++)
		if (strcmp(fake_env_vals[i][0], name) == 0)
			return fake_env_vals[i][1];
	return NULL;
}

static char tmpdir[128];

static void write_file(const char *name, const char *text, mode_t mode, char *path, size_t n)
{
	if (tmpdir[0] == '\0') {
		/* Under the test's temporary HOME, which main() removes. */
		snprintf(tmpdir, sizeof(tmpdir), "%s/cfg", getenv("HOME"));
		assert_int_equal(mkdir(tmpdir, 0700), 0);
	}
	snprintf(path, n, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

struct cfg_case {
	const char *flag_url, *flag_token, *flag_token_file, *config_text, *env[4][2];
	const char *url, *url_from, *token, *token_from;
	long timeout_ms;
};

static void run_cfg_case(const struct cfg_case *c)
{
	char cfg_path[256], err[256], home[256];
	struct ctl_config cfg;

	memset(fake_env_vals, 0, sizeof(fake_env_vals));
	snprintf(home, sizeof(home), "%s/nohome", tmpdir[0] ? tmpdir : "/nonexistent");
	fake_env_vals[0][0] = "HOME";
	fake_env_vals[0][1] = home;
	for (size_t i = 0; i < 4 && c->env[i][0] != NULL; i++) {
		fake_env_vals[i + 1][0] = c->env[i][0];
		fake_env_vals[i + 1][1] = c->env[i][1];
	}
	if (c->config_text != NULL)
		write_file("p.ini", c->config_text, 0600, cfg_path, sizeof(cfg_path));
	struct ctl_config_src src = {.flag_url = c->flag_url,
				     .flag_token = c->flag_token,
				     .flag_token_file = c->flag_token_file,
				     .flag_config = c->config_text ? cfg_path : NULL,
				     .getenv = fake_env};
	assert_int_equal(ctl_config_resolve(&src, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.url, c->url);
	assert_string_equal(cfg.url_from, c->url_from);
	if (c->token == NULL)
		assert_null(cfg.token);
	else
		assert_string_equal(cfg.token, c->token);
	assert_string_equal(cfg.token_from, c->token_from);
	assert_int_equal(cfg.timeout_ms, c->timeout_ms);
	ctl_config_free(&cfg);
}

static void test_config_precedence(void **state)
{
	char ini[512];

	(void)state;
	snprintf(ini, sizeof(ini),
		 "; comment\n[provisionctl]\nurl = http://cfg:1\ntoken = cfgtok\ntimeout = 7\n");
	const struct cfg_case cases[] = {
	    /* nothing anywhere: defaults */
	    {.url = PC_DEFAULT_URL,
	     .url_from = "default",
	     .token_from = "none",
	     .timeout_ms = PC_DEFAULT_TIMEOUT_MS},
	    /* config only */
	    {.config_text = ini,
	     .url = "http://cfg:1",
	     .url_from = "config",
	     .token = "cfgtok",
	     .token_from = "config",
	     .timeout_ms = 7000},
	    /* env beats config */
	    {.config_text = ini,
	     .env = {{"PROVISIOND_URL", "http://env:2"}, {"PROVISIOND_TOKEN", "envtok"}},
	     .url = "http://env:2",
	     .url_from = "env",
	     .token = "envtok",
	     .token_from = "env",
	     .timeout_ms = 7000},
	    /* flags beat env */
	    {.flag_url = "http://flag:3",
	     .flag_token = "flagtok",
	     .config_text = ini,
	     .env = {{"PROVISIOND_URL", "http://env:2"}, {"PROVISIOND_TOKEN", "envtok"}},
	     .url = "http://flag:3",
	     .url_from = "flag",
	     .token = "flagtok",
	     .token_from = "flag",
	     .timeout_ms = 7000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_cfg_case(&cases[i]);
}

static void test_config_token_sources(void **state)
{
	char tf[256], tf2[256];

	(void)state;
	write_file("tok1", "secret-from-file\n", 0600, tf, sizeof(tf));
	write_file("tok2", "env-file-token\r\nsecond line\n", 0600, tf2, sizeof(tf2));
	const struct cfg_case cases[] = {
	    /* --token-file beats env token; inline flag would beat the file */
	    {.flag_token_file = tf,
	     .env = {{"PROVISIOND_TOKEN", "envtok"}},
	     .url = PC_DEFAULT_URL,
	     .url_from = "default",
	     .token = "secret-from-file",
	     .token_from = "flag",
	     .timeout_ms = PC_DEFAULT_TIMEOUT_MS},
	    {.flag_token = "inline",
	     .flag_token_file = tf,
	     .url = PC_DEFAULT_URL,
	     .url_from = "default",
	     .token = "inline",
	     .token_from = "flag",
	     .timeout_ms = PC_DEFAULT_TIMEOUT_MS},
	    /* env token file (first line, trimmed); env inline beats it */
	    {.env = {{"PROVISIOND_TOKEN_FILE", tf2}},
	     .url = PC_DEFAULT_URL,
	     .url_from = "default",
	     .token = "env-file-token",
	     .token_from = "env",
	     .timeout_ms = PC_DEFAULT_TIMEOUT_MS},
	    {.env = {{"PROVISIOND_TOKEN_FILE", tf2}, {"PROVISIOND_TOKEN", "e"}},
	     .url = PC_DEFAULT_URL,
	     .url_from = "default",
	     .token = "e",
	     .token_from = "env",
	     .timeout_ms = PC_DEFAULT_TIMEOUT_MS},
	    /* empty env values count as unset */
	    {.env = {{"PROVISIOND_URL", ""}},
	     .url = PC_DEFAULT_URL,
	     .url_from = "default",
	     .token_from = "none",
	     .timeout_ms = PC_DEFAULT_TIMEOUT_MS},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_cfg_case(&cases[i]);
}

static void test_config_default_file(void **state)
{
	char path[256], dir[256], err[256];
	struct ctl_config cfg;
	FILE *warn;
	char *warned = NULL;
	size_t wlen = 0;

	(void)state;
	write_file("tokfile", "tf-token\n", 0600, path, sizeof(path));
	snprintf(dir, sizeof(dir), "%s/xdg", tmpdir);
	mkdir(dir, 0700);
	write_file("xdg/provisionctl.ini", "url=http://xdg:9\ntoken_file=~/tokfile\n", 0644, path,
		   sizeof(path));
	memset(fake_env_vals, 0, sizeof(fake_env_vals));
	fake_env_vals[0][0] = "XDG_CONFIG_HOME";
	fake_env_vals[0][1] = dir;
	fake_env_vals[1][0] = "HOME";
	fake_env_vals[1][1] = tmpdir;
	warn = open_memstream(&warned, &wlen);
	struct ctl_config_src src = {.getenv = fake_env, .warn = warn};
	assert_int_equal(ctl_config_resolve(&src, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.url, "http://xdg:9");
	assert_string_equal(cfg.token, "tf-token");
	assert_string_equal(cfg.token_from, "config");
	assert_string_equal(cfg.config_path, path);
	ctl_config_free(&cfg);
	fclose(warn);
	/* token_file (not an inline token): no permission warning */
	assert_int_equal(wlen, 0);
	free(warned);

	write_file("xdg/provisionctl.ini", "token=abc\n", 0644, path, sizeof(path));
	warn = open_memstream(&warned, &wlen);
	src.warn = warn;
	assert_int_equal(ctl_config_resolve(&src, &cfg, err, sizeof(err)), 0);
	ctl_config_free(&cfg);
	fclose(warn);
	assert_non_null(strstr(warned, "readable by others"));
	free(warned);
}

/* A token file others can read gets a warning on stderr (the token is
 * still used); a private one does not. */
static void test_config_token_file_mode(void **state)
{
	static const struct {
		mode_t mode;
		bool warns;
	} cases[] = {{0644, true}, {0640, true}, {0600, false}, {0400, false}};
	char path[256], err[256];
	struct ctl_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *warned = NULL;
		size_t wlen = 0;
		FILE *warn = open_memstream(&warned, &wlen);
		write_file("modetok", "mode-token\n", cases[i].mode, path, sizeof(path));
		chmod(path, cases[i].mode);
		memset(fake_env_vals, 0, sizeof(fake_env_vals));
		fake_env_vals[0][0] = "PROVISIOND_TOKEN_FILE";
		fake_env_vals[0][1] = path;
		struct ctl_config_src src = {.getenv = fake_env, .warn = warn};
		assert_int_equal(ctl_config_resolve(&src, &cfg, err, sizeof(err)), 0);
		assert_string_equal(cfg.token, "mode-token");
		ctl_config_free(&cfg);
		fclose(warn);
		if (cases[i].warns) {
			assert_non_null(strstr(warned, path));
			assert_non_null(strstr(warned, "readable by others"));
		} else if (wlen != 0) {
			fail_msg("mode %o warned: %s", (unsigned)cases[i].mode, warned);
		}
		free(warned);
		unlink(path);
	}
}

static void test_config_errors(void **state)
{
	char path[256], err[256];
	struct ctl_config cfg;

	(void)state;
	memset(fake_env_vals, 0, sizeof(fake_env_vals));
	struct ctl_config_src src = {.getenv = fake_env, .flag_config = "/nonexistent/p.ini"};
	assert_int_equal(ctl_config_resolve(&src, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read config /nonexistent/p.ini"));
	ctl_config_free(&cfg);

	write_file("bad.ini", "url=http://x\ntokn=abc\n", 0600, path, sizeof(path));
	src.flag_config = path;
	assert_int_equal(ctl_config_resolve(&src, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2: unknown key 'tokn'"));
	ctl_config_free(&cfg);

	write_file("t.ini", "timeout=soon\n", 0600, path, sizeof(path));
	assert_int_equal(ctl_config_resolve(&src, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "timeout"));
	ctl_config_free(&cfg);

	src.flag_config = NULL;
	src.flag_token_file = "/nonexistent/token";
	assert_int_equal(ctl_config_resolve(&src, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/token"));
	ctl_config_free(&cfg);

	write_file("empty", "\n", 0600, path, sizeof(path));
	src.flag_token_file = path;
	assert_int_equal(ctl_config_resolve(&src, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is empty"));
	ctl_config_free(&cfg);
}

/* ---- request bodies ------------------------------------------------------ */

static void test_option_value(void **state)
{
	static const struct {
		const char *in, *json;
	} cases[] = {
	    {"50", "50"},	{"-3", "-3"},
	    {"0", "0"},		{"007", "\"007\""},
	    {"0.5", "0.5"},	{"true", "true"},
	    {"false", "false"}, {"lab.small", "\"lab.small\""},
	    {"1e3", "1000.0"},	{"inf", "\"inf\""},
	    {"", "\"\""},	{"12abc", "\"12abc\""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = ctl_option_value(cases[i].in);
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		assert_string_equal(s, cases[i].json);
		free(s);
		json_decref(v);
	}
}

static int body_of(char **argv, bool patch, json_t **body, char **secret, char *err)
{
	static const struct ctl_opt opts[] = {
	    {"name", 0, CTL_VALUE, NULL, NULL},
	    {"mac", 0, CTL_MULTI, NULL, NULL},
	    {"site", 0, CTL_VALUE, NULL, NULL},
	    {"rack", 0, CTL_VALUE, NULL, NULL},
	    {"unit", 0, CTL_VALUE, NULL, NULL},
	    {"bmc-driver", 0, CTL_VALUE, NULL, NULL},
	    {"bmc-address", 0, CTL_VALUE, NULL, NULL},
	    {"bmc-user", 0, CTL_VALUE, NULL, NULL},
	    {"bmc-password-file", 0, CTL_VALUE, NULL, NULL},
	    {"bmc-password-env", 0, CTL_VALUE, NULL, NULL},
	    {"bmc-option", 0, CTL_MULTI, NULL, NULL},
	    {"json", 0, CTL_VALUE, NULL, NULL},
	    {"maintenance", 0, CTL_VALUE, NULL, NULL},
	    {"maintenance-reason", 0, CTL_VALUE, NULL, NULL},
	    {NULL, 0, 0, NULL, NULL},
	};
	struct ctl_args a;
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	assert_int_equal(ctl_args_parse(argc, argv, 0, NULL, opts, &a, err, 256), 0);
	return ctl_machine_body(&a, patch, body, secret, err, 256);
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = json_loads(want_text, 0, NULL);
	assert_non_null(want);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS);
		fprintf(stderr, "got:  %s\nwant: %s\n", g, want_text);
		free(g);
		fail();
	}
	json_decref(want);
}

static void test_enroll_body(void **state)
{
	char *argv[] = {"--name",
			"r12-u07",
			"--mac",
			"52:54:00:12:34:56",
			"--mac",
			"52:54:00:00:00:01",
			"--site",
			"dc1",
			"--rack",
			"r12",
			"--unit",
			"7",
			"--bmc-driver",
			"ipmi",
			"--bmc-address",
			"10.0.0.7:623",
			"--bmc-user",
			"admin",
			"--bmc-password-env",
			"TEST_CLIENT_PW",
			"--bmc-option",
			"workarounds=opensesspriv",
			"--bmc-option",
			"delay_ms=50",
			NULL};
	json_t *body;
	char *secret, err[256];

	(void)state;
	setenv("TEST_CLIENT_PW", "hunter2", 1);
	assert_int_equal(body_of(argv, false, &body, &secret, err), 0);
	assert_json(body, "{\"name\":\"r12-u07\",\"location\":{\"site\":\"dc1\",\"rack\":\"r12\","
			  "\"unit\":7},\"macs\":[\"52:54:00:12:34:56\",\"52:54:00:00:00:01\"],"
			  "\"bmc\":{\"driver\":\"ipmi\",\"address\":\"10.0.0.7:623\",\"username\":"
			  "\"admin\",\"password\":\"hunter2\",\"options\":{\"workarounds\":"
			  "\"opensesspriv\",\"delay_ms\":50}}}");
	assert_string_equal(secret, "hunter2");
	json_decref(body);
	ctl_secret_free(secret);
}

static void test_body_errors(void **state)
{
	static const struct {
		bool patch;
		char *argv[6];
		const char *msg;
	} cases[] = {
	    {false, {NULL}, "nothing to enroll"},
	    {true, {NULL}, "nothing to change"},
	    {false, {"--json", "-", "--name", "x", NULL}, "--json cannot be combined with --name"},
	    {false, {"--unit", "seven", NULL}, "--unit must be a whole number"},
	    {false, {"--bmc-option", "novalue", NULL}, "--bmc-option wants KEY=VALUE"},
	    {false,
	     {"--bmc-password-env", "TEST_CLIENT_UNSET_VAR", NULL},
	     "environment variable TEST_CLIENT_UNSET_VAR is not set"},
	    {true, {"--maintenance", "maybe", NULL}, "--maintenance takes on or off"},
	    {false, {"--json", "/nonexistent.json", NULL}, "cannot read /nonexistent.json"},
	};
	json_t *body;
	char *secret, err[256];

	(void)state;
	unsetenv("TEST_CLIENT_UNSET_VAR");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    body_of((char **)cases[i].argv, cases[i].patch, &body, &secret, err), -1);
		assert_null(body);
		assert_null(secret);
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
	}
}

static void test_patch_and_json_body(void **state)
{
	char path[256], err[256], *secret;
	json_t *body;
	char *argv[] = {
	    "--maintenance", "on", "--maintenance-reason", "disk swap", "--rack", "r9", NULL};

	(void)state;
	assert_int_equal(body_of(argv, true, &body, &secret, err), 0);
	assert_json(body, "{\"maintenance\":true,\"maintenance_reason\":\"disk swap\","
			  "\"location\":{\"rack\":\"r9\"}}");
	assert_null(secret);
	json_decref(body);

	write_file("enroll.json",
		   "{\"name\":\"n\",\"bmc\":{\"driver\":\"fake\",\"password\":\"pw1\"}}", 0600,
		   path, sizeof(path));
	char *argv2[] = {"--json", path, NULL};
	assert_int_equal(body_of(argv2, false, &body, &secret, err), 0);
	assert_string_equal(secret, "pw1");
	assert_string_equal(json_string_value(json_object_get(body, "name")), "n");
	json_decref(body);
	ctl_secret_free(secret);

	write_file("bad.json", "{\"name\": \"pw-secret\" oops", 0600, path, sizeof(path));
	assert_int_equal(body_of(argv2, false, &body, &secret, err), -1);
	assert_non_null(strstr(err, "not a JSON object (line 1"));
	assert_null(strstr(err, "pw-secret")); /* the file's text is never echoed */
}

static void test_mask(void **state)
{
	char out[64];

	(void)state;
	ctl_mask(out, sizeof(out), "bad password hunter2 for hunter2", "hunter2");
	assert_string_equal(out, "bad password *** for ***");
	ctl_mask(out, sizeof(out), "nothing", NULL);
	assert_string_equal(out, "nothing");
	ctl_mask(out, sizeof(out), "x", "");
	assert_string_equal(out, "x");
	ctl_mask(out, 4, "abcdef", "zz");
	assert_string_equal(out, "abc");
}

const struct CMUnitTest client_encode_tests[] = {
    cmocka_unit_test(test_url_encode),
    cmocka_unit_test(test_path_new),
    cmocka_unit_test(test_error_body),
    cmocka_unit_test(test_status_names),
    cmocka_unit_test(test_args_ok),
    cmocka_unit_test(test_args_errors),
    cmocka_unit_test(test_parse_long),
    cmocka_unit_test(test_config_precedence),
    cmocka_unit_test(test_config_token_sources),
    cmocka_unit_test(test_config_token_file_mode),
    cmocka_unit_test(test_config_default_file),
    cmocka_unit_test(test_config_errors),
    cmocka_unit_test(test_option_value),
    cmocka_unit_test(test_enroll_body),
    cmocka_unit_test(test_body_errors),
    cmocka_unit_test(test_patch_and_json_body),
    cmocka_unit_test(test_mask),
};
const size_t client_encode_ntests = sizeof(client_encode_tests) / sizeof(client_encode_tests[0]);
