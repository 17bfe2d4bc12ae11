/* log.h - one JSON object per line on stderr.
 *
 * log_event(level, fields...) takes key/value string pairs ending in NULL:
 *   log_event(LOG_INFO, "machine enrolled", "machine", id, "request_id", rid, NULL);
 * Values are JSON-escaped; NULL or empty values are left out. Thread-safe
 * (one write(2) per line). Never pass secrets. */
#ifndef PROVISIOND_LOG_H
#define PROVISIOND_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level min);
/* Returns 0 and sets *out for debug|info|warn|error, else -1. */
int log_level_from_name(const char *name, enum log_level *out);
void log_event(enum log_level level, const char *msg, ...) __attribute__((sentinel));

#endif
