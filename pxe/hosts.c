/* Known machines as one dhcp-host file per MAC in dnsmasq's dhcp-hostsdir. */
#include "pxe/internal.h"
#include "pxe/pxe.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int hex_lower(char c)
{
	if (c >= '0' && c <= '9')
		return c;
	if (c >= 'a' && c <= 'f')
		return c;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 'a';
	return -1;
}

enum err_status pxe_mac_normalize(const char *mac, char out[18])
{
	char sep;

	if (!mac || strlen(mac) != 17)
		return ERR_INVALID;
	sep = mac[2];
	if (sep != ':' && sep != '-')
		return ERR_INVALID;
	for (int i = 0; i < 17; i++) {
		int c = i % 3 == 2 ? (mac[i] == sep ? ':' : -1) : hex_lower(mac[i]);

		if (c < 0)
			return ERR_INVALID;
		out[i] = (char)c;
	}
	out[17] = '\0';
	return ERR_OK;
}

/* DIR/aa-bb-cc-dd-ee-ff: dashes keep the name free of ':' for tools that
 * dislike it; the content carries the colon form dnsmasq expects. */
static enum err_status host_path(const char *dir, const char *mac, char norm[18], char *path,
				 size_t size, struct err *e)
{
	char fname[18];
	enum err_status rc = pxe_check_path("dir", dir, e);

	if (rc)
		return rc;
	if (pxe_mac_normalize(mac, norm))
		return pxe_fail(e, ERR_INVALID, "mac",
				"mac: not a MAC address (want aa:bb:cc:dd:ee:ff)");
	memcpy(fname, norm, sizeof(fname));
	for (char *p = fname; *p; p++)
		*p = *p == ':' ? '-' : *p;
	if (snprintf(path, size, "%s/%s", dir, fname) >= (int)size)
		return pxe_fail(e, ERR_INVALID, "dir", "dir: path too long");
	return ERR_OK;
}

enum err_status pxe_hosts_write(const char *dir, const char *mac, const char *name, const char *ip,
				struct err *e)
{
	char norm[18], path[PATH_MAX], line[128];
	enum err_status rc = host_path(dir, mac, norm, path, sizeof(path), e);
	int n;

	if (rc)
		return rc;
	if (name && *name && (rc = pxe_check_label("name", name, e)))
		return rc;
	if (ip && *ip && (rc = pxe_check_ipv4("ip", ip, NULL, e)))
		return rc;
	n = snprintf(line, sizeof(line), "%s%s%s%s%s\n", norm, ip && *ip ? "," : "",
		     ip && *ip ? ip : "", name && *name ? "," : "", name && *name ? name : "");
	if (n < 0 || n >= (int)sizeof(line))
		return pxe_fail(e, ERR_INVALID, "name", "name: too long");
	return pxe_write_atomic(path, line, (size_t)n, e);
}

enum err_status pxe_hosts_remove(const char *dir, const char *mac, struct err *e)
{
	char norm[18], path[PATH_MAX];
	enum err_status rc = host_path(dir, mac, norm, path, sizeof(path), e);

	if (rc)
		return rc;
	if (unlink(path) && errno != ENOENT)
		return pxe_fail(e, ERR_IO, NULL, "%s: unlink: %s", path, strerror(errno));
	return ERR_OK;
}
