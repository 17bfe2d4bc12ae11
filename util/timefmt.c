/* timefmt.c - wall-clock times as text, see util.h. */
#include "util/util.h"

#include <stdio.h>
#include <time.h>

char *util_iso_time(int64_t wall_ms, char *buf, size_t len)
{
	int64_t secs = wall_ms / 1000, frac = wall_ms % 1000;
	time_t t;
	struct tm tm;
	size_t n;

	if (len == 0)
		return buf;
	if (frac < 0) { /* before 1970: floor, so the fraction stays positive */
		secs--;
		frac += 1000;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL || (n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		buf[0] = '\0';
		return buf;
	}
	snprintf(buf + n, len - n, ".%03dZ", (int)frac);
	return buf;
}
