/* timefmt.c - wall-clock times as text, see util.h. */
#include "util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* n digits at *p into *out; advances *p. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return false;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return true;
}

static bool expect(const char **p, const char *chars)
{
	if (**p == '\0' || strchr(chars, **p) == NULL)
		return false;
	(*p)++;
	return true;
}

/* ".123" (any number of digits, the first three kept) into *ms. */
static void fraction(const char **p, int *ms)
{
	int scale = 100;

	*ms = 0;
	if (**p != '.')
		return;
	for ((*p)++; isdigit((unsigned char)**p); (*p)++, scale /= 10)
		*ms += (**p - '0') * scale;
}

/* "Z" or "+hh:mm"/"-hh:mm" at the end of the text: offset in minutes. */
static bool zone(const char *p, int *minutes)
{
	int h, m, sign = *p == '-' ? -1 : 1;

	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*minutes = 0;
		return true;
	}
	if (!expect(&p, "+-") || !digits(&p, 2, &h) || !expect(&p, ":") || !digits(&p, 2, &m) ||
	    *p != '\0' || h > 23 || m > 59)
		return false;
	*minutes = sign * (h * 60 + m);
	return true;
}

int util_parse_iso_time(const char *s, int64_t *wall_ms)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, ms, off;
	const char *p = s;

	if (!digits(&p, 4, &y) || !expect(&p, "-") || !digits(&p, 2, &mo) || !expect(&p, "-") ||
	    !digits(&p, 2, &d) || !expect(&p, "Tt") || !digits(&p, 2, &h) || !expect(&p, ":") ||
	    !digits(&p, 2, &mi) || !expect(&p, ":") || !digits(&p, 2, &sec))
		return -1;
	fraction(&p, &ms);
	if (!zone(p, &off) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
		return -1;
	*wall_ms = ((int64_t)t - (int64_t)off * 60) * 1000 + ms;
	return 0;
}
