/* URL building and percent-encoding, plus the small string helpers the rest
 * of provclient uses. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "provisiond/client/pc_internal.h"

size_t pc_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size == 0)
		return n;
	size_t k = n < size - 1 ? n : size - 1;
	memcpy(dst, src, k);
	dst[k] = '\0';
	return n;
}

bool pc_has_crlf(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

static bool is_unreserved(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* Appends s percent-encoded; returns 0 or -1 once b failed. */
static int buf_encode(struct util_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
		if (is_unreserved(*p))
			util_buf_append(b, p, 1);
		else
			util_buf_append(b, enc, 3);
	}
	return b->failed ? -1 : 0;
}

char *pc_url_encode(const char *s)
{
	struct util_buf b = {0};

	if (s == NULL)
		return NULL;
	buf_encode(&b, s);
	return util_buf_take(&b, NULL);
}

char *pc_path_new(const char *prefix, ...)
{
	struct util_buf b = {0};
	va_list ap;
	int rc = util_buf_append(&b, prefix, strlen(prefix));

	va_start(ap, prefix);
	for (const char *seg = va_arg(ap, const char *); seg != NULL && rc == 0;
	     seg = va_arg(ap, const char *)) {
		/* An empty segment would silently address the collection, and
		 * "." or ".." would be resolved away by URL normalisation. */
		bool dots = strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0;
		if (seg[0] == '\0')
			rc = -1;
		else if (dots)
			rc = util_buf_append(&b, "/%2E%2E", seg[1] ? 7 : 4);
		else
			rc =
			    (util_buf_append(&b, "/", 1) != 0 || buf_encode(&b, seg) != 0) ? -1 : 0;
	}
	va_end(ap);
	if (rc != 0) {
		util_buf_free(&b);
		return NULL;
	}
	return util_buf_take(&b, NULL);
}

char *pc_url_build(const char *base, const char *path, const struct pc_query *q, size_t nq)
{
	struct util_buf b = {0};
	int rc = util_buf_append(&b, base, strlen(base));
	char sep = strchr(path, '?') ? '&' : '?';

	if (rc == 0)
		rc = util_buf_append(&b, path, strlen(path));
	for (size_t i = 0; i < nq && rc == 0; i++) {
		if (q[i].key == NULL || q[i].value == NULL)
			continue;
		rc = util_buf_append(&b, &sep, 1);
		sep = '&';
		if (rc == 0)
			rc = buf_encode(&b, q[i].key);
		if (rc == 0)
			rc = util_buf_append(&b, "=", 1);
		if (rc == 0)
			rc = buf_encode(&b, q[i].value);
	}
	if (rc != 0) {
		util_buf_free(&b);
		return NULL;
	}
	return util_buf_take(&b, NULL);
}
