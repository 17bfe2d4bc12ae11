/* The error helper: pxe reports through the shared struct err (util.h). */
#include "pxe/internal.h"

#include <stdio.h>
#include <string.h>

enum err_status pxe_fail(struct err *e, enum err_status status, const char *field, const char *fmt,
			 ...)
{
	va_list ap;

	if (!e)
		return status;
	va_start(ap, fmt);
	err_vset(e, status, NULL, fmt, ap);
	va_end(ap);
	if (field)
		snprintf(e->field, sizeof(e->field), "%.*s", (int)strcspn(field, " "), field);
	return status;
}
