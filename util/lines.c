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

void util_metric_head(const struct util_lines *o, const char *family, const char *type,
		      const char *help)
{
	util_linef(o, "# HELP provisiond_%s %s", family, help);
	util_linef(o, "# TYPE provisiond_%s %s", family, type);
}

void util_metric_one(const struct util_lines *o, const char *family, const char *type,
		     const char *help, long long v)
{
	util_metric_head(o, family, type, help);
	util_linef(o, "provisiond_%s %lld", family, v);
}
