/* oplog.c - the operation log: one JSON object per line, flushed at once, so a
 * test can read what the BMC was asked to do, in order. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "rbmc.h"

double rbmc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void rbmc_log(struct rbmc *b, const char *op, ...)
{
	struct timeval tv;
	json_t *o;
	va_list ap;
	char *line;

	if (b->oplog == NULL)
		return;
	gettimeofday(&tv, NULL);
	o = json_pack("{s:f, s:s}", "ts", (double)tv.tv_sec + tv.tv_usec / 1e6, "op", op);
	va_start(ap, op);
	for (const char *k; o != NULL && (k = va_arg(ap, const char *)) != NULL;) {
		const char *v = va_arg(ap, const char *);
		json_object_set_new(o, k, v ? json_string(v) : json_null());
	}
	va_end(ap);
	line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (line != NULL) {
		fprintf(b->oplog, "%s\n", line);
		fflush(b->oplog);
	}
	free(line);
	json_decref(o);
}
