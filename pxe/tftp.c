/* TFTP root preparation: the iPXE binaries that plain PXE ROMs chainload. */
#include "pxe/internal.h"
#include "pxe/pxe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* undionly.kpxe for legacy BIOS (client arch 0), ipxe.efi for x86-64 UEFI
 * (arch 7 and 9); dnsmasq_conf.c names the same files. */
static const char *const ipxe_files[] = {"undionly.kpxe", "ipxe.efi"};

#define IPXE_MAX_BYTES (64u << 20)

static enum err_status mkdir_p(const char *path, struct err *e)
{
	char buf[PATH_MAX];
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return pxe_fail(e, ERR_INVALID, "tftp_root", "tftp_root: path too long");
	for (char *p = buf + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return pxe_fail(e, ERR_IO, NULL, "tftp_root: mkdir %s: %s", buf,
					strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return pxe_fail(e, ERR_IO, NULL, "tftp_root: %s is not a directory", path);
	return ERR_OK;
}

/* Reads a whole regular file into a malloc'd buffer. */
static enum err_status slurp(const char *path, char **out, size_t *len, struct err *e)
{
	struct stat st;
	ssize_t n = 0;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return pxe_fail(e, ERR_NOT_FOUND, NULL,
				"ipxe_dir: %s not found (install the Debian package ipxe)", path);
	if (fd < 0)
		return pxe_fail(e, ERR_IO, NULL, "ipxe_dir: %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size > IPXE_MAX_BYTES) {
		close(fd);
		return pxe_fail(e, ERR_IO, NULL, "ipxe_dir: %s: not a regular file", path);
	}
	*out = malloc((size_t)st.st_size + 1);
	while (*out && got < (size_t)st.st_size) {
		n = read(fd, *out + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!*out || got != (size_t)st.st_size) {
		free(*out);
		*out = NULL;
		return pxe_fail(e, ERR_IO, NULL, "ipxe_dir: %s: short read", path);
	}
	*len = got;
	return ERR_OK;
}

enum err_status pxe_tftp_prepare(const char *tftp_root, const char *ipxe_dir, struct err *e)
{
	char src[PATH_MAX], dst[PATH_MAX];
	char *data = NULL;
	size_t len = 0;
	enum err_status rc;

	if (!ipxe_dir)
		ipxe_dir = PXE_IPXE_DIR_DEFAULT;
	if ((rc = pxe_check_path("tftp_root", tftp_root, e)) ||
	    (rc = pxe_check_path("ipxe_dir", ipxe_dir, e)) || (rc = mkdir_p(tftp_root, e)))
		return rc;
	for (size_t i = 0; i < sizeof(ipxe_files) / sizeof(ipxe_files[0]); i++) {
		if (snprintf(src, sizeof(src), "%s/%s", ipxe_dir, ipxe_files[i]) >=
			(int)sizeof(src) ||
		    snprintf(dst, sizeof(dst), "%s/%s", tftp_root, ipxe_files[i]) >=
			(int)sizeof(dst))
			return pxe_fail(e, ERR_INVALID, "tftp_root", "tftp_root: path too long");
		rc = slurp(src, &data, &len, e);
		if (!rc)
			rc = pxe_write_atomic(dst, data, len, e);
		free(data);
		data = NULL;
		if (rc)
			return rc;
	}
	return ERR_OK;
}
