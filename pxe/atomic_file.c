/* Atomic file replacement shared by the hosts directory and the TFTP root. */
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

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Best effort: makes the rename durable. */
static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

enum err_status pxe_write_atomic(const char *path, const void *data, size_t len, struct err *e)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t dlen;
	enum err_status rc = ERR_IO;
	int fd;

	if (!slash)
		return pxe_fail(e, ERR_IO, NULL, "%s: not a path with a directory", path);
	dlen = slash == path ? 1 : (size_t)(slash - path);
	if (dlen >= sizeof(dir) ||
	    snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1) >=
		(int)sizeof(tmp))
		return pxe_fail(e, ERR_IO, NULL, "%s: bad or too long path", path);
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return pxe_fail(e, ERR_IO, NULL, "%s: cannot create temp file: %s", dir,
				strerror(errno));
	if (write_all(fd, data, len) || fchmod(fd, 0644) || fsync(fd)) {
		pxe_fail(e, ERR_IO, NULL, "%s: write: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		pxe_fail(e, ERR_IO, NULL, "%s: close: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		pxe_fail(e, ERR_IO, NULL, "%s: rename: %s", path, strerror(errno));
		goto out;
	}
	fsync_dir(dir);
	rc = ERR_OK;
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	return rc;
}
