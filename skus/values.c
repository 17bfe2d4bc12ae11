/* Parsers for the values of SKU files: integers, ranges ("16-32"), sizes
 * ("2GiB", "1.92TB") and names. Strict: no signs, spaces or junk that strtoll
 * would quietly accept. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skus/sku_internal.h"

/* Digits only (with a leading '-' when negatives are allowed). */
static int parse_digits(const char *v, long long min, long long max, long long *out)
{
	const char *d = (*v == '-' && min < 0) ? v + 1 : v;
	if (!isdigit((unsigned char)*d))
		return -1;
	errno = 0;
	char *end = NULL;
	long long n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

int sku_parse_int(const char *v, long long min, long long max, long long *out, char *msg,
		  size_t msglen)
{
	if (parse_digits(v, min, max, out) == 0)
		return 0;
	snprintf(msg, msglen, "\"%s\" is not an integer from %lld to %lld", v, min, max);
	return -1;
}

int sku_parse_range(const char *v, long long min, long long max, struct sku_range *out, char *msg,
		    size_t msglen)
{
	char lo[32], hi[32];
	const char *dash = strchr(v, '-');
	size_t n = dash ? (size_t)(dash - v) : strlen(v);
	if (n >= sizeof(lo) || (dash && strlen(dash + 1) >= sizeof(hi)))
		goto bad;
	memcpy(lo, v, n);
	lo[n] = '\0';
	snprintf(hi, sizeof(hi), "%s", dash ? dash + 1 : lo);
	if (parse_digits(lo, min, max, &out->lo) < 0 || parse_digits(hi, min, max, &out->hi) < 0)
		goto bad;
	if (out->lo > out->hi) {
		snprintf(msg, msglen, "range \"%s\" is reversed (write low-high)", v);
		return -1;
	}
	return 0;
bad:
	snprintf(msg, msglen, "\"%s\" is not a number or range like 16-32 (each from %lld to %lld)",
		 v, min, max);
	return -1;
}

struct size_unit {
	const char *name;
	unsigned long long bytes;
	bool decimal;
};

static const struct size_unit size_units[] = {
    {"B", 1ULL, false},		 {"KB", 1000ULL, true},		 {"MB", 1000000ULL, true},
    {"GB", 1000000000ULL, true}, {"TB", 1000000000000ULL, true}, {"KiB", 1ULL << 10, false},
    {"MiB", 1ULL << 20, false},	 {"GiB", 1ULL << 30, false},	 {"TiB", 1ULL << 40, false},
};

static const struct size_unit *find_unit(const char *s)
{
	for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		if (strcmp(size_units[i].name, s) == 0)
			return &size_units[i];
	}
	return NULL;
}

/* "<digits>[.<1-3 digits>][ ]<unit>"; the fraction rounds up, which is the
 * safe direction for a minimum. */
int sku_parse_size(const char *v, unsigned long long *out, bool *decimal, char *msg, size_t msglen)
{
	const char *p = v;
	unsigned long long whole = 0, frac = 0, scale = 1;
	if (!isdigit((unsigned char)*p))
		goto bad;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (ULLONG_MAX - 9) / 10)
			goto bad;
		whole = whole * 10 + (unsigned)(*p - '0');
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p) && scale < 1000; p++, scale *= 10)
			frac = frac * 10 + (unsigned)(*p - '0');
		if (scale == 1 || isdigit((unsigned char)*p))
			goto bad;
	}
	while (*p == ' ')
		p++;
	const struct size_unit *u = find_unit(p);
	if (!u || whole > ULLONG_MAX / u->bytes - 1)
		goto bad;
	*out = whole * u->bytes + (frac * u->bytes + scale - 1) / scale;
	*decimal = u->decimal;
	return 0;
bad:
	snprintf(msg, msglen,
		 "\"%s\" is not a size like 2GiB or 1.92TB (units B, KB, MB, GB, TB, KiB, MiB, "
		 "GiB, TiB)",
		 v);
	return -1;
}

/* Names end up in URLs, file names and metrics labels: keep them plain. */
bool sku_name_valid(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > SKU_NAME_MAX || !isalnum((unsigned char)v[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (!(islower(c) || isdigit(c) || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}
