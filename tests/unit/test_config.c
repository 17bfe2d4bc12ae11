/* provisiond/config.c: defaults, a valid file, and every kind of bad file
 * (each error names file:line and, when it is about an option, the option
 * as "section.key" in the field). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provisiond/config.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/test_config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

/* Writes text to DIR/name; the path goes to path. */
static void write_ini(const char *name, const char *text, char *path, size_t len)
{
	assert_true((size_t)snprintf(path, len, "%s/%s", dir, name) < len);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_defaults(void **state)
{
	(void)state;
	struct config c;
	config_defaults(&c);
	assert_string_equal(c.listen, "127.0.0.1:7480");
	assert_string_equal(c.boot_listen, "127.0.0.1:7481");
	assert_string_equal(c.boot_url, "");
	assert_string_equal(c.db_path, "/var/lib/provisiond/provisiond.db");
	assert_string_equal(c.skus_dir, PROVISIOND_DEFAULT_SKUS_DIR);
	assert_int_equal(c.lc_workers, 16);
	assert_int_equal(c.lc_max_per_rack, 8);
	assert_int_equal(c.verify_timeout_s, 60);
	assert_int_equal(c.deploy_timeout_s, 1800);
	assert_int_equal(c.max_attempts, 3);
	assert_int_equal(c.backoff_base_ms, 1000);
	assert_int_equal(c.backoff_max_ms, 60000);
	assert_int_equal(c.bmc_retries, 2);
	assert_string_equal(c.unknown_mac_policy, "discover");
	assert_string_equal(c.dnsmasq_mode, "off");
	assert_string_equal(c.log_level, "info");

	/* A file with nothing but comments changes nothing. */
	char path[512];
	struct config d;
	struct err e = {0};
	write_ini("empty.ini", "; nothing here\n# nor here\n\n", path, sizeof path);
	config_defaults(&d);
	assert_int_equal(config_load(&d, path, &e), ERR_OK);
	assert_memory_equal(&c, &d, sizeof c);
	unlink(path);
}

static void test_valid(void **state)
{
	(void)state;
	static const char text[] = "; a comment\n"
				   "[server]\n"
				   "listen = 0.0.0.0:8080\n"
				   "boot_url = http://10.0.0.1:7481\n"
				   "http_threads = 4\n"
				   "\n"
				   "[database]\n"
				   "path = /srv/p.db\n"
				   "[lifecycle]\n"
				   "workers = 16\n"
				   "max_attempts = 5\n"
				   "backoff_base_ms = 500\n"
				   "backoff_max_ms = 500\n"
				   "[boot]\n"
				   "unknown_mac = ignore\n"
				   "[dnsmasq]\n"
				   "mode = proxy\n"
				   "ipv6_ra = 1\n";
	char path[512];
	struct config c;
	struct err e = {0};
	write_ini("valid.ini", text, path, sizeof path);
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, &e), ERR_OK);
	assert_int_equal(e.status, ERR_OK);
	assert_string_equal(c.listen, "0.0.0.0:8080");
	assert_string_equal(c.boot_url, "http://10.0.0.1:7481");
	assert_int_equal(c.http_threads, 4);
	assert_string_equal(c.db_path, "/srv/p.db");
	assert_int_equal(c.lc_workers, 16);
	assert_int_equal(c.max_attempts, 5);
	assert_int_equal(c.backoff_base_ms, 500);
	assert_int_equal(c.backoff_max_ms, 500);
	assert_string_equal(c.unknown_mac_policy, "ignore");
	assert_string_equal(c.dnsmasq_mode, "proxy");
	assert_int_equal(c.dnsmasq_ipv6_ra, 1);
	/* what the file does not set keeps its default */
	assert_string_equal(c.boot_listen, "127.0.0.1:7481");
	assert_int_equal(c.api_workers, 32);
	assert_int_equal(c.verify_timeout_s, 60);
	unlink(path);
}

#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const struct {
	const char *what, *text;
	int line;	   /* in the message: "FILE:LINE: " */
	const char *field; /* "section.key", "" for none */
	const char *want;  /* substring of the message after "FILE:LINE: " */
} bad_cases[] = {
    {"unknown key", "[lifecycle]\nworkerz = 3\n", 2, "lifecycle.workerz",
     "unknown option [lifecycle] workerz"},
    {"unknown section", "[server]\nlisten = :1\n[nope]\nx = 1\n", 4, "nope.x",
     "unknown option [nope] x"},
    {"key before any section", "workers = 1\n", 1, "workers", "unknown option [] workers"},
    {"integer below range", "[lifecycle]\nworkers = 0\n", 2, "lifecycle.workers",
     "lifecycle.workers must be an integer in 1..1024"},
    {"integer above range", "[bmc]\nretries = 21\n", 2, "bmc.retries",
     "bmc.retries must be an integer in 0..20"},
    {"not a number", "[server]\n\nhttp_threads = two\n", 3, "server.http_threads",
     "must be an integer"},
    {"number with junk", "[server]\nhttp_threads = 2x\n", 2, "server.http_threads",
     "must be an integer"},
    {"string too long", "[server]\nlisten = " X64 X64 "\n", 2, "server.listen",
     "server.listen is too long"},
    {"syntax error", "[server]\nlisten\n", 2, "", "syntax error"},
    {"unterminated section", "[server\nlisten = :1\n", 1, "", "syntax error"},
    {"syntax error before a bad key", "[server]\nfoo\n[lifecycle]\nworkerz = 1\n", 2, "",
     "syntax error"},
    {"the first bad key wins", "[lifecycle]\nworkers = 0\nworkerz = 1\n", 2, "lifecycle.workers",
     "lifecycle.workers must be"},
    {"bad unknown_mac", "[boot]\n\nunknown_mac = maybe\n", 3, "boot.unknown_mac",
     "boot.unknown_mac must be discover or ignore"},
    {"bad dnsmasq mode", "[dnsmasq]\nmode = on\n", 2, "dnsmasq.mode",
     "dnsmasq.mode must be off, full or proxy"},
    {"backoff max below the default base", "[lifecycle]\nbackoff_max_ms = 10\n", 2,
     "lifecycle.backoff_max_ms", "lifecycle.backoff_max_ms < backoff_base_ms"},
    {"backoff base above the default max", "[lifecycle]\nbackoff_base_ms = 100000\n", 2,
     "lifecycle.backoff_base_ms", "lifecycle.backoff_max_ms < backoff_base_ms"},
    {"backoff: the later line is named",
     "[lifecycle]\nbackoff_max_ms = 100\nbackoff_base_ms = 200\n", 3, "lifecycle.backoff_base_ms",
     "backoff_max_ms < backoff_base_ms"},
};

static void test_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		char path[512], prefix[600];
		struct config c;
		struct err e = {0};
		write_ini("bad.ini", bad_cases[i].text, path, sizeof path);
		config_defaults(&c);
		enum err_status rc = config_load(&c, path, &e);
		snprintf(prefix, sizeof prefix, "%s:%d: ", path, bad_cases[i].line);
		if (rc != ERR_INVALID || e.status != ERR_INVALID)
			fail_msg("case \"%s\": want invalid, got %s (%s)", bad_cases[i].what,
				 err_status_name(rc), e.message);
		if (strncmp(e.message, prefix, strlen(prefix)) ||
		    !strstr(e.message + strlen(prefix), bad_cases[i].want))
			fail_msg("case \"%s\":\n want %s...%s...\n got  %s", bad_cases[i].what,
				 prefix, bad_cases[i].want, e.message);
		if (strcmp(e.field, bad_cases[i].field))
			fail_msg("case \"%s\": want field \"%s\", got \"%s\"", bad_cases[i].what,
				 bad_cases[i].field, e.field);
		/* no error struct is fine too */
		config_defaults(&c);
		assert_int_equal(config_load(&c, path, NULL), ERR_INVALID);
		unlink(path);
	}
}

static void test_unreadable(void **state)
{
	(void)state;
	char path[512], want[600];
	struct config c;
	struct err e = {0};
	snprintf(path, sizeof path, "%s/missing.ini", dir);
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, &e), ERR_IO);
	snprintf(want, sizeof want, "%s:0: cannot read config file", path);
	assert_int_equal(strncmp(e.message, want, strlen(want)), 0);
	assert_string_equal(e.field, "");
}

struct seen {
	int n;
	char fields[8][64];
	int lines[8];
};

static void collect(void *ctx, const struct err *e)
{
	struct seen *s = ctx;
	const char *colon = strchr(e->message, ':');
	if (s->n < 8) {
		snprintf(s->fields[s->n], sizeof s->fields[0], "%s", e->field);
		s->lines[s->n] = colon ? (int)strtol(colon + 1, NULL, 10) : -1;
	}
	s->n++;
}

/* --check-config's engine: every problem, each with its line and field. */
static void test_check_every_problem(void **state)
{
	(void)state;
	static const struct {
		const char *field;
		int line;
	} want[] = {{"server.api_workers", 3},
		    {"bogus.x", 7},
		    {"boot.unknown_mac", 9},
		    {"log.level", 5},
		    {"server.listen", 2}};
	char path[512];
	write_ini("all.ini",
		  "[server]\nlisten = localhost\napi_workers = 0\n[log]\nlevel = loud\n"
		  "[bogus]\nx = 1\n[boot]\nunknown_mac = maybe\n",
		  path, sizeof path);
	struct config c;
	struct seen s = {0};
	config_defaults(&c);
	assert_int_equal(config_check(&c, path, collect, &s), 5);
	assert_int_equal(s.n, 5);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		bool found = false;
		for (int k = 0; k < s.n && !found; k++)
			found =
			    strcmp(s.fields[k], want[i].field) == 0 && s.lines[k] == want[i].line;
		if (!found)
			fail_msg("no problem reported for %s at line %d", want[i].field,
				 want[i].line);
	}
	unlink(path);
	write_ini("ok.ini", "[server]\nlisten = 127.0.0.1:0\n", path, sizeof path);
	memset(&s, 0, sizeof s);
	config_defaults(&c);
	assert_int_equal(config_check(&c, path, collect, &s), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_unreadable),
	    cmocka_unit_test(test_check_every_problem),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
