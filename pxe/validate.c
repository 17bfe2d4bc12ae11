/* Validation of every value that ends up in a generated file. The rules are
 * deliberately narrower than the formats allow: iPXE expands ${...} and splits
 * on whitespace, dnsmasq splits on ',' and treats '#' as a comment, so such
 * characters are refused rather than escaped. */
#include "pxe/internal.h"
#include "pxe/pxe.h"

#include <arpa/inet.h>
#include <string.h>

#define URL_MAX 256
#define PATH_MAX_LEN 512

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static enum err_status bad_char(const char *field, unsigned char c, struct err *e)
{
	if (c == '\n' || c == '\r')
		return pxe_fail(e, ERR_INVALID, field, "%s: contains a newline", field);
	if (c == ' ' || c == '\t')
		return pxe_fail(e, ERR_INVALID, field, "%s: contains whitespace", field);
	if (c < 0x20 || c >= 0x7f)
		return pxe_fail(e, ERR_INVALID, field, "%s: contains byte 0x%02x", field, c);
	return pxe_fail(e, ERR_INVALID, field, "%s: contains '%c'", field, c);
}

static enum err_status check_len(const char *field, const char *v, size_t maxlen, struct err *e)
{
	if (!v || !*v)
		return pxe_fail(e, ERR_INVALID, field, "%s: is required", field);
	if (strlen(v) > maxlen)
		return pxe_fail(e, ERR_INVALID, field, "%s: longer than %zu bytes", field, maxlen);
	return ERR_OK;
}

enum err_status pxe_check_chars(const char *field, const char *v, const char *extra, size_t maxlen,
				struct err *e)
{
	enum err_status rc = check_len(field, v, maxlen, e);

	if (rc)
		return rc;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (!is_alnum(*p) && !strchr(extra, *p))
			return bad_char(field, *p, e);
	}
	return ERR_OK;
}

enum err_status pxe_check_printable(const char *field, const char *v, const char *banned,
				    size_t maxlen, struct err *e)
{
	enum err_status rc = check_len(field, v, maxlen, e);

	if (rc)
		return rc;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f || strchr(banned, *p))
			return bad_char(field, *p, e);
	}
	return ERR_OK;
}

enum err_status pxe_check_url(const char *field, const char *v, struct err *e)
{
	const char *host;
	size_t hostlen;
	enum err_status rc = pxe_check_chars(field, v, "-._~:/[]@!()*+;=%", URL_MAX, e);

	if (rc)
		return rc;
	if (!strncmp(v, "http://", 7))
		host = v + 7;
	else if (!strncmp(v, "https://", 8))
		host = v + 8;
	else
		return pxe_fail(e, ERR_INVALID, field, "%s: must start with http:// or https://",
				field);
	hostlen = strcspn(host, "/");
	if (hostlen == 0 || host[0] == ':')
		return pxe_fail(e, ERR_INVALID, field, "%s: has no host", field);
	for (size_t i = 0; i < hostlen; i++) {
		if (!is_alnum((unsigned char)host[i]) && !strchr("-.:[]", host[i]))
			return pxe_fail(e, ERR_INVALID, field, "%s: host contains '%c'", field,
					host[i]);
	}
	return ERR_OK;
}

enum err_status pxe_check_ipv4(const char *field, const char *v, uint32_t *out, struct err *e)
{
	struct in_addr a;
	enum err_status rc = check_len(field, v, 15, e);

	if (rc)
		return rc;
	if (inet_pton(AF_INET, v, &a) != 1)
		return pxe_fail(e, ERR_INVALID, field, "%s: not an IPv4 address: \"%.15s\"", field,
				v);
	if (out)
		*out = ntohl(a.s_addr);
	return ERR_OK;
}

enum err_status pxe_check_path(const char *field, const char *v, struct err *e)
{
	enum err_status rc = pxe_check_printable(field, v, " ,#\"'$\\", PATH_MAX_LEN, e);

	if (rc)
		return rc;
	if (v[0] != '/')
		return pxe_fail(e, ERR_INVALID, field, "%s: must be an absolute path", field);
	return ERR_OK;
}

enum err_status pxe_check_ifname(const char *field, const char *v, struct err *e)
{
	return pxe_check_chars(field, v, "._-", 15, e);
}

enum err_status pxe_check_label(const char *field, const char *v, struct err *e)
{
	enum err_status rc = pxe_check_chars(field, v, "-", 63, e);

	if (rc)
		return rc;
	if (v[0] == '-' || v[strlen(v) - 1] == '-')
		return pxe_fail(e, ERR_INVALID, field, "%s: may not start or end with '-'", field);
	return ERR_OK;
}

size_t pxe_url_base_len(const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return n;
}
