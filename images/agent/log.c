/* log.c — one JSON object per line on stderr (the ramdisk's console). */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_machine;
static enum agent_log_level log_min = AGENT_LOG_INFO;

static const char *const level_names[] = {
    [AGENT_LOG_DEBUG] = "debug",
    [AGENT_LOG_INFO] = "info",
    [AGENT_LOG_WARN] = "warn",
    [AGENT_LOG_ERROR] = "error",
};
_Static_assert(ARRAY_SIZE(level_names) == AGENT_LOG_ERROR + 1,
	       "level_names must cover enum agent_log_level");

void agent_log_set_machine(const char *machine)
{
	pthread_mutex_lock(&log_lock);
	free(log_machine);
	log_machine = machine ? strdup(machine) : NULL;
	pthread_mutex_unlock(&log_lock);
}

void agent_log_set_level(enum agent_log_level level)
{
	log_min = level;
}

void agent_log(enum agent_log_level level, const char *fmt, ...)
{
	if (level < log_min)
		return;
	char msg[1024];
	char ts[40];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	time_t now = (time_t)(util_wall_ms() / 1000);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

	pthread_mutex_lock(&log_lock);
	json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "time", ts, "level", level_names[level],
				 "component", "agent", "msg", msg);
	if (line && log_machine)
		json_object_set_new(line, "machine", json_string(log_machine));
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	if (text)
		fprintf(stderr, "%s\n", text);
	else
		fprintf(stderr, "%s %s\n", level_names[level], msg);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	free(text);
	json_decref(line);
}
