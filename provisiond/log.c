/* log.c - JSON line logging. */
#include "provisiond/log.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
_Static_assert(ARRAY_SIZE(level_names) == LOG_ERROR + 1, "level_names must cover enum log_level");

void log_set_level(enum log_level min)
{
	min_level = min;
}

int log_level_from_name(const char *name, enum log_level *out)
{
	for (int i = 0; i <= LOG_ERROR; i++)
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

/* Fields whose values are numbers: written as JSON numbers, so that a log
 * pipeline can compare and sum them. A value that does not parse as a
 * number stays a string rather than being lost. */
static const char *const numeric_fields[] = {"port", "status", "ms", "count"};
/* Fields whose values are "true" or "false": written as JSON booleans. */
static const char *const boolean_fields[] = {"ok"};

static bool is_one_of(const char *key, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(key, names[i]) == 0)
			return true;
	return false;
}

/* The JSON value of one field (new reference). */
static json_t *field_value(const char *key, const char *v)
{
	if (is_one_of(key, boolean_fields, ARRAY_SIZE(boolean_fields)) &&
	    (strcmp(v, "true") == 0 || strcmp(v, "false") == 0))
		return json_boolean(v[0] == 't');
	if (is_one_of(key, numeric_fields, ARRAY_SIZE(numeric_fields))) {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_integer(n);
		errno = 0;
		double d = strtod(v, &end);
		if (errno == 0 && *end == '\0' && isfinite(d))
			return json_real(d);
	}
	return json_string(v);
}

void log_event(enum log_level level, const char *msg, ...)
{
	if (level < min_level)
		return;
	char when[UTIL_ISO_TIME_LEN];
	util_iso_time(util_wall_ms(), when, sizeof when);
	json_t *o = json_object();
	json_object_set_new(o, "ts", json_string(when));
	json_object_set_new(o, "level", json_string(level_names[level]));
	json_object_set_new(o, "msg", json_string(msg));
	va_list ap;
	va_start(ap, msg);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		if (v && *v)
			json_object_set_new(o, k, field_value(k, v));
	}
	va_end(ap);
	char *line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!line)
		return;
	size_t len = strlen(line);
	line[len] = '\n'; /* json_dumps leaves room: replace NUL, write len+1 */
	ssize_t w = write(STDERR_FILENO, line, len + 1);
	(void)w;
	free(line);
}
