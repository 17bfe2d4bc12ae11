/* buf.c - the growable byte buffer, see util.h. */
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_FIRST_CAP 256

/* Room for n more bytes and the NUL. */
static int reserve(struct util_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return -1;
	if (n > SIZE_MAX - b->len - 1)
		goto fail;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : BUF_FIRST_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		goto fail;
	b->p = p;
	b->cap = cap;
	return 0;
fail:
	b->failed = true;
	return -1;
}

int util_buf_append(struct util_buf *b, const void *data, size_t n)
{
	if (reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int util_buf_puts(struct util_buf *b, const char *s)
{
	return util_buf_append(b, s, strlen(s));
}

int util_buf_vprintf(struct util_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	if (reserve(b, 0) != 0)
		return -1;
	va_copy(again, ap);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	if (n >= 0 && (size_t)n >= b->cap - b->len) { /* did not fit: grow, format again */
		if (reserve(b, (size_t)n) == 0)
			vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
	}
	va_end(again);
	if (n < 0)
		b->failed = true;
	if (b->failed) {
		b->p[b->len] = '\0'; /* drop a partial write */
		return -1;
	}
	b->len += (size_t)n;
	return 0;
}

int util_buf_printf(struct util_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = util_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *util_buf_take(struct util_buf *b, size_t *len)
{
	char *p = NULL;

	if (len != NULL)
		*len = 0;
	if (reserve(b, 0) == 0) {
		b->p[b->len] = '\0';
		p = b->p;
		if (len != NULL)
			*len = b->len;
		b->p = NULL;
	}
	util_buf_free(b);
	return p;
}

void util_buf_free(struct util_buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	*b = (struct util_buf){0};
}
