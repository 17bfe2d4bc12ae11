/* err.c - the shared error shape. */
#include "util/util.h"

#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
    [ERR_OK] = "ok",
    [ERR_INVALID] = "invalid",
    [ERR_NOT_FOUND] = "not_found",
    [ERR_CONFLICT] = "conflict",
    [ERR_IO] = "io",
    [ERR_UNSUPPORTED] = "unsupported",
    [ERR_INTERNAL] = "internal",
};
_Static_assert(ARRAY_SIZE(status_names) == ERR_STATUS__COUNT, "every err_status has a name");

const char *err_status_name(enum err_status s)
{
	return (unsigned)s < ARRAY_SIZE(status_names) ? status_names[s] : "internal";
}

enum err_status err_vset(struct err *e, enum err_status status, const char *field, const char *fmt,
			 va_list ap)
{
	if (!e)
		return status;
	e->status = status;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	return status;
}

enum err_status err_set(struct err *e, enum err_status status, const char *field, const char *fmt,
			...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(e, status, field, fmt, ap);
	va_end(ap);
	return status;
}

void err_clear(struct err *e)
{
	if (e)
		memset(e, 0, sizeof *e);
}
