/* Status names and the error-message helper. */
#include "pxe/internal.h"
#include "pxe/pxe.h"

#include <stdio.h>

static const char *const status_names[] = {
    "ok", "invalid", "io", "nomem", "not_found", "child", "state",
};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == PXE_STATUS_COUNT,
	       "status_names must cover enum pxe_status");
_Static_assert(PXE_ERR_STATE == -(PXE_STATUS_COUNT - 1), "PXE_STATUS_COUNT is stale");

const char *pxe_status_name(int status)
{
	if (status > 0 || status <= -PXE_STATUS_COUNT)
		return "unknown";
	return status_names[-status];
}

int pxe_fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return status;
}
