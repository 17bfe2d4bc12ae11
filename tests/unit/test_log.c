/* provisiond/log.c: each line is one JSON object; the numeric fields are JSON
 * numbers when their value parses as one (else strings), "ok" is a boolean,
 * empty values are left out, and lines under the level are not written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provisiond/log.h"

/* Runs log_event(level, "m", key, value, NULL) with stderr in a temporary
 * file; returns the parsed line, or NULL when nothing was written. */
static json_t *one_line(enum log_level level, const char *key, const char *value)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	log_event(level, "m", key, value, NULL);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	char buf[1024] = "";
	rewind(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	if (n == 0)
		return NULL;
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', n - 1)); /* one line */
	json_error_t e;
	json_t *o = json_loads(buf, 0, &e);
	assert_non_null(o);
	return o;
}

static const struct {
	const char *key, *value;
	const char *json; /* the field as it must appear, or NULL: left out */
} cases[] = {
    {"status", "200", "200"},
    {"port", "7480", "7480"},
    {"count", "0", "0"},
    {"ms", "1.250", "1.25"},
    {"status", "not_found", "\"not_found\""}, /* not a number: kept as a string */
    {"ms", "1.5ms", "\"1.5ms\""},
    {"port", "nan", "\"nan\""},
    {"ok", "true", "true"},
    {"ok", "false", "false"},
    {"ok", "maybe", "\"maybe\""},
    {"machine", "42", "\"42\""}, /* names stay strings even when numeric */
    {"request_id", "7", "\"7\""},
    {"status", "", NULL},
    {"machine", NULL, NULL},
};

static void test_fields(void **state)
{
	(void)state;
	log_set_level(LOG_DEBUG);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *o = one_line(LOG_INFO, cases[i].key, cases[i].value);
		assert_non_null(o);
		json_t *v = json_object_get(o, cases[i].key);
		if (cases[i].json == NULL) {
			assert_null(v);
		} else {
			assert_non_null(v);
			char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			if (strcmp(text, cases[i].json) != 0)
				fail_msg("%s=%s logged as %s, want %s", cases[i].key,
					 cases[i].value, text, cases[i].json);
			free(text);
		}
		assert_string_equal(json_string_value(json_object_get(o, "msg")), "m");
		json_decref(o);
	}
}

static void test_levels(void **state)
{
	(void)state;
	log_set_level(LOG_INFO);
	assert_null(one_line(LOG_DEBUG, "status", "200"));
	json_t *o = one_line(LOG_WARN, "status", "500");
	assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
