/* error.c - filling struct bmc_error: the one reporting path of the BMC layer. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "provisiond/bmc/driver.h"

void bmc_error_clear(struct bmc_error *e)
{
	e->status = BMC_OK;
	e->field[0] = '\0';
	e->message[0] = '\0';
	e->retry_in_ms = 0;
}

/* The message starts with "field: " when a field is named, so a log line or an API
 * error body carries the field even where only the message is shown. */
enum bmc_status bmc_error_set(struct bmc_error *e, enum bmc_status s, const char *field,
			      const char *fmt, ...)
{
	va_list ap;
	size_t n = 0;

	e->status = s;
	e->field[0] = '\0';
	e->retry_in_ms = 0;
	if (field != NULL) {
		snprintf(e->field, sizeof(e->field), "%s", field);
		n = (size_t)snprintf(e->message, sizeof(e->message), "%s: ", field);
		if (n >= sizeof(e->message))
			n = sizeof(e->message) - 1;
	}
	va_start(ap, fmt);
	vsnprintf(e->message + n, sizeof(e->message) - n, fmt, ap);
	va_end(ap);
	return s;
}
