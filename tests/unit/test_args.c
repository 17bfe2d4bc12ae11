/* provisiond/args.c: every option of the table parses into struct
 * daemon_args (a table entry without a place there is refused, so it cannot
 * be documented by --help and the man page yet do nothing); stray arguments
 * and unknown options are refused; --help lists every option. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/args.h"

/* Parses argv (NULL-ended, without the program name). */
static int parse(const char *const *words, struct daemon_args *a)
{
	char *argv[8] = {"provisiond"};
	int argc = 1;

	for (; words[argc - 1] && argc < 7; argc++)
		argv[argc] = (char *)words[argc - 1];
	argv[argc] = NULL;
	memset(a, 0, sizeof *a);
	optind = 0; /* glibc: start afresh */
	opterr = 0;
	return daemon_parse_args(argc, argv, a);
}

/* Whether the option set something in *a. */
static bool set_any(const struct daemon_args *a)
{
	const char *const strs[] = {a->config, a->db,	      a->listen,    a->boot_listen,
				    a->skus,   a->token_file, a->ready_file};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		if (strs[i] && strcmp(strs[i], "V") == 0)
			return true;
	return a->init || a->init_if_new || a->write_dnsmasq || a->check_config;
}

static void test_every_option_parses(void **state)
{
	(void)state;
	size_t n = 0;
	for (const struct daemon_opt *o = daemon_opts; o->name; o++) {
		if (strcmp(o->name, "help") == 0 || strcmp(o->name, "version") == 0 ||
		    strcmp(o->name, "openapi") == 0)
			continue; /* they print and exit */
		char flag[64];
		snprintf(flag, sizeof flag, "--%s", o->name);
		const char *words[] = {flag, o->metavar ? "V" : NULL, NULL};
		struct daemon_args a;
		if (parse(words, &a) != 0 || !set_any(&a))
			fail_msg("--%s is in the table but does not parse into daemon_args",
				 o->name);
		if (o->short_name) {
			char s[3] = {'-', o->short_name, 0};
			const char *w2[] = {s, o->metavar ? "V" : NULL, NULL};
			if (parse(w2, &a) != 0 || !set_any(&a))
				fail_msg("-%c does not parse", o->short_name);
		}
		assert_non_null(o->help);
		n++;
	}
	assert_true(n >= 10);
}

static void test_refused(void **state)
{
	(void)state;
	struct daemon_args a;
	const char *stray[] = {"--init", "extra", NULL};
	const char *unknown[] = {"--no-such-option", NULL};
	const char *missing[] = {"--db", NULL};
	FILE *saved = stderr;
	stderr = fopen("/dev/null", "w"); /* the usage they print */
	int r1 = parse(stray, &a), r2 = parse(unknown, &a), r3 = parse(missing, &a);
	fclose(stderr);
	stderr = saved;
	assert_int_equal(r1, -1);
	assert_int_equal(r2, -1);
	assert_int_equal(r3, -1);
}

static void test_usage_lists_every_option(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	daemon_usage(f);
	fclose(f);
	for (const struct daemon_opt *o = daemon_opts; o->name; o++) {
		char flag[64];
		snprintf(flag, sizeof flag, "--%s", o->name);
		if (strstr(text, flag) == NULL)
			fail_msg("usage lacks %s", flag);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_option_parses),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_usage_lists_every_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
