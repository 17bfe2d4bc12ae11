/* address.c - parsing "host[:port]", see address.h. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "provisiond/bmc/address.h"
#include "provisiond/bmc/driver.h"

static bool host_chars_ok(const char *h, size_t n, bool v6)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!(isalnum(c) || c == '.' || c == '-' || c == '_' ||
		      (v6 && (c == ':' || c == '%'))))
			return false;
	}
	return true;
}

/* Digits only (no sign, no spaces), 1..65535. */
static int parse_port(const char *p, int *port)
{
	long v = 0;

	if (*p == '\0' || strlen(p) > 5)
		return -1;
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

enum bmc_status bmc_address_parse(const char *s, int default_port, char *host, size_t hlen,
				  int *port, struct bmc_error *e)
{
	const char *h = s, *rest, *colon;
	size_t n;
	bool v6 = false;

	if (s == NULL || s[0] == '\0')
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.address", "required (host[:port])");
	if (s[0] == '[') {
		rest = strchr(s, ']');
		if (rest == NULL)
			return bmc_error_set(e, BMC_ERR_INVALID, "bmc.address", "missing ']'");
		h = s + 1;
		n = (size_t)(rest - h);
		rest++;
		v6 = true;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return bmc_error_set(e, BMC_ERR_INVALID, "bmc.address",
					     "IPv6 addresses need brackets, e.g. [fd00::7]:623");
		n = colon ? (size_t)(colon - s) : strlen(s);
		rest = s + n;
	}
	if (!host_chars_ok(h, n, v6) || n >= hlen)
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.address", "bad host in '%.64s'", s);
	*port = default_port;
	if (*rest != '\0' && (*rest != ':' || parse_port(rest + 1, port) != 0))
		return bmc_error_set(e, BMC_ERR_INVALID, "bmc.address",
				     "bad port in '%.64s' (1-65535)", s);
	memcpy(host, h, n);
	host[n] = '\0';
	return BMC_OK;
}
