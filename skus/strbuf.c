/* A growable string for building messages, and human-readable sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skus/sku_internal.h"

static bool reserve(struct sku_buf *b, size_t extra)
{
	if (b->failed)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 128;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void sku_buf_printf(struct sku_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sku_buf_append(struct sku_buf *b, const char *s)
{
	size_t n = strlen(s);
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

char *sku_buf_take(struct sku_buf *b)
{
	if (!reserve(b, 0)) {
		sku_buf_release(b);
		return NULL;
	}
	b->p[b->len] = '\0';
	char *p = b->p;
	*b = (struct sku_buf){0};
	return p;
}

void sku_buf_release(struct sku_buf *b)
{
	free(b->p);
	*b = (struct sku_buf){0};
}

void sku_format_bytes(unsigned long long bytes, bool decimal, char *buf, size_t len)
{
	static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	static const char *const dec[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
	const char *const *units = decimal ? dec : bin;
	unsigned long long base = decimal ? 1000 : 1024;
	unsigned long long unit = 1;
	size_t u = 0;
	while (bytes / unit >= base && u + 1 < 7) {
		unit *= base;
		u++;
	}
	if (bytes % unit == 0) {
		snprintf(buf, len, "%llu %s", bytes / unit, units[u]);
		return;
	}
	/* One decimal, rounded down so "1.9 GiB" never reads as "2.0 GiB" next
	 * to a "want at least 2 GiB". */
	unsigned long long tenths = (bytes % unit) / (unit / 10);
	snprintf(buf, len, "%llu.%llu %s", bytes / unit, tenths, units[u]);
}
