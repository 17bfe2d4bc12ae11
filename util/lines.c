/* lines.c - formatted lines into a metrics sink. */
#include "util/util.h"

#include <stdio.h>

void util_linef(const struct util_lines *o, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	o->emit(o->ctx, buf);
}
