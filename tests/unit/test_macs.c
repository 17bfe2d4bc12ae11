/* test_macs.c - provisiond/macs.c: MAC lists as enroll and the agent's lookup
 * read them, one table row per input. */
#include "provisiond/macs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define CAP 8

struct list_case {
	const char *name;
	const char *json; /* NULL: no member at all */
	int min, max;
	bool ok;
	const char *want; /* ok: the canonical MACs, comma-separated */
	const char *msg;  /* !ok: a part of the message */
};

static const struct list_case list_cases[] = {
    {.name = "absent is empty", .json = NULL, .min = 0, .max = 8, .ok = true, .want = ""},
    {.name = "null is empty", .json = "null", .min = 0, .max = 8, .ok = true, .want = ""},
    {.name = "empty", .json = "[]", .min = 0, .max = 8, .ok = true, .want = ""},
    {.name = "one, lower-cased",
     .json = "[\"52:54:00:AB:cD:eF\"]",
     .min = 1,
     .max = 8,
     .ok = true,
     .want = "52:54:00:ab:cd:ef"},
    {.name = "order kept",
     .json = "[\"52:54:00:00:00:02\",\"52:54:00:00:00:01\"]",
     .min = 1,
     .max = 8,
     .ok = true,
     .want = "52:54:00:00:00:02,52:54:00:00:00:01"},
    {.name = "eight",
     .json = "[\"00:00:00:00:00:01\",\"00:00:00:00:00:02\",\"00:00:00:00:00:03\","
	     "\"00:00:00:00:00:04\",\"00:00:00:00:00:05\",\"00:00:00:00:00:06\","
	     "\"00:00:00:00:00:07\",\"00:00:00:00:00:08\"]",
     .min = 1,
     .max = 8,
     .ok = true,
     .want = "00:00:00:00:00:01,00:00:00:00:00:02,00:00:00:00:00:03,00:00:00:00:00:04,"
	     "00:00:00:00:00:05,00:00:00:00:00:06,00:00:00:00:00:07,00:00:00:00:00:08"},
    {.name = "nine",
     .json = "[\"00:00:00:00:00:01\",\"00:00:00:00:00:02\",\"00:00:00:00:00:03\","
	     "\"00:00:00:00:00:04\",\"00:00:00:00:00:05\",\"00:00:00:00:00:06\","
	     "\"00:00:00:00:00:07\",\"00:00:00:00:00:08\",\"00:00:00:00:00:09\"]",
     .min = 1,
     .max = 8,
     .msg = "macs must list 1 to 8 MACs"},
    {.name = "too many, no minimum",
     .json = "[\"00:00:00:00:00:01\",\"00:00:00:00:00:02\"]",
     .min = 0,
     .max = 1,
     .msg = "macs may list at most 1 MACs"},
    {.name = "empty under a minimum", .json = "[]", .min = 1, .max = 8, .msg = "1 to 8"},
    {.name = "null under a minimum", .json = "null", .min = 1, .max = 8, .msg = "1 to 8"},
    {.name = "not an array",
     .json = "\"52:54:00:00:00:01\"",
     .min = 0,
     .max = 8,
     .msg = "macs must be an array"},
    {.name = "not a string", .json = "[7]", .min = 0, .max = 8, .msg = "macs[0] must be a MAC"},
    {.name = "dashes",
     .json = "[\"52-54-00-00-00-09\"]",
     .min = 0,
     .max = 8,
     .msg = "macs[0] must be a MAC"},
    {.name = "bad digit",
     .json = "[\"52:54:00:zz:00:01\"]",
     .min = 0,
     .max = 8,
     .msg = "macs[0] must be a MAC"},
    {.name = "short",
     .json = "[\"52:54:00:00:00:1\"]",
     .min = 0,
     .max = 8,
     .msg = "macs[0] must be a MAC"},
    {.name = "long",
     .json = "[\"52:54:00:00:00:011\"]",
     .min = 0,
     .max = 8,
     .msg = "macs[0] must be a MAC"},
    {.name = "no separators",
     .json = "[\"525400000001\"]",
     .min = 0,
     .max = 8,
     .msg = "macs[0] must be a MAC"},
    {.name = "empty string", .json = "[\"\"]", .min = 0, .max = 8, .msg = "macs[0] must be a MAC"},
    {.name = "the second bad",
     .json = "[\"52:54:00:00:00:01\",\"x\"]",
     .min = 0,
     .max = 8,
     .msg = "macs[1] must be a MAC"},
    {.name = "duplicate",
     .json = "[\"52:54:00:00:00:09\",\"52:54:00:00:00:09\"]",
     .min = 0,
     .max = 8,
     .msg = "macs[1]: MAC 52:54:00:00:00:09 is already listed as macs[0]"},
    {.name = "duplicate in another case",
     .json = "[\"52:54:00:00:00:0a\",\"52:54:00:00:00:01\",\"52:54:00:00:00:0A\"]",
     .min = 1,
     .max = 8,
     .msg = "macs[2]: MAC 52:54:00:00:00:0a is already listed as macs[0]"},
};

static void join(char macs[][MAC_STR_LEN], int n, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? "," : "", macs[i]);
}

static void test_mac_list_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof list_cases / sizeof list_cases[0]; c++) {
		const struct list_case *t = &list_cases[c];
		json_t *list = t->json ? json_loads(t->json, JSON_DECODE_ANY, NULL) : NULL;
		if (t->json && !list)
			fail_msg("%s: bad fixture JSON", t->name);
		char macs[CAP][MAC_STR_LEN], got[CAP * MAC_STR_LEN];
		struct err e = {0};
		int n = -1;
		enum err_status s = mac_list_parse(list, "macs", t->min, t->max, macs, &n, &e);
		if (t->ok) {
			if (s != ERR_OK)
				fail_msg("%s: refused: %s", t->name, e.message);
			join(macs, n, got, sizeof got);
			if (strcmp(got, t->want) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"", t->name, got, t->want);
		} else {
			if (s != ERR_INVALID || strcmp(e.field, "macs") != 0)
				fail_msg("%s: status %d field \"%s\", want invalid macs", t->name,
					 (int)s, e.field);
			if (!strstr(e.message, t->msg))
				fail_msg("%s: message \"%s\" lacks \"%s\"", t->name, e.message,
					 t->msg);
		}
		json_decref(list);
	}
}

/* The field name given is the one errors carry (the agent's lookup passes
 * its own spelling); e may be NULL. */
static void test_mac_list_field_and_null_err(void **state)
{
	(void)state;
	json_t *list = json_loads("[\"nope\"]", 0, NULL);
	char macs[CAP][MAC_STR_LEN];
	struct err e = {0};
	int n;
	assert_int_equal(mac_list_parse(list, "nics", 0, CAP, macs, &n, &e), ERR_INVALID);
	assert_string_equal(e.field, "nics");
	assert_non_null(strstr(e.message, "nics[0]"));
	assert_int_equal(mac_list_parse(list, "macs", 0, CAP, macs, &n, NULL), ERR_INVALID);
	json_decref(list);
}

static void test_mac_canonical(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want; /* want NULL: refused */
	} cases[] = {
	    {"52:54:00:12:34:56", "52:54:00:12:34:56"},
	    {"AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff"},
	    {"aA:0b:C0:d1:E2:f3", "aa:0b:c0:d1:e2:f3"},
	    {"52:54:00:12:34", NULL},
	    {"52:54:00:12:34:56:", NULL},
	    {"52:54:00:12:34:5g", NULL},
	    {"52.54.00.12.34.56", NULL},
	    {"52:54:00:12:345:6", NULL},
	    {" 52:54:00:12:34:5", NULL},
	    {"", NULL},
	    {NULL, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[MAC_STR_LEN] = "untouched";
		bool ok = mac_canonical(cases[i].in, out);
		if (ok != (cases[i].want != NULL))
			fail_msg("\"%s\": %s", cases[i].in ? cases[i].in : "(null)",
				 ok ? "accepted" : "refused");
		if (cases[i].want)
			assert_string_equal(out, cases[i].want);
		else
			assert_string_equal(out, "untouched");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mac_list_table),
	    cmocka_unit_test(test_mac_list_field_and_null_err),
	    cmocka_unit_test(test_mac_canonical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
