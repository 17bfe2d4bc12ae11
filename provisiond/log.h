/* log.h - one JSON object per line on stderr.
 *
 * log_event(level, fields...) takes key/value string pairs ending in NULL:
 *   log_event(LOG_INFO, "machine enrolled", "machine", id, "request_id", rid, NULL);
 * Values are JSON-escaped; NULL or empty values are left out. The values of
 * the numeric fields (port, status, ms, count: the table in log.c) are
 * written as JSON numbers when they parse as one; the key names a number
 * in every line that has it; "ok" ("true"/"false") is written as a boolean. Thread-safe
 * (one write(2) per line). Never pass secrets. */
#ifndef PROVISIOND_LOG_H
#define PROVISIOND_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level min);
/* Returns 0 and sets *out for debug|info|warn|error, else -1. */
int log_level_from_name(const char *name, enum log_level *out);
void log_event(enum log_level level, const char *msg, ...) __attribute__((sentinel));

#endif
