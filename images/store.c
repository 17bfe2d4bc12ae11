/* store.c - the image store: a path a client gave, checked to stay inside
 * the store directory, and a file of the store opened without following
 * links (see images.h).
 *
 * Why a component walk and not realpath() + a prefix check: a check on a
 * name and a later open of that name can see two different files (a link
 * swapped in between). Opening each directory relative to the previous one
 * with O_NOFOLLOW checks and opens the same objects. openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS would do it in one call but is
 * Linux 5.6+ and has no glibc wrapper on every distribution we build on; the
 * walk is a few more system calls per open and works everywhere. */
#include "images/images.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Length of dir without trailing slashes ("/" stays "/"). */
static size_t dir_len(const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n;
}

/* Every component of rel non-empty, not "." and not "..". */
static bool rel_ok(const char *rel)
{
	if (!*rel || *rel == '/')
		return false;
	for (const char *p = rel; *p;) {
		size_t k = strcspn(p, "/");
		if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += k;
		if (*p == '/' && !*++p)
			return false; /* trailing slash */
	}
	return true;
}

enum err_status img_store_rel(const char *dir, const char *path, char *rel, size_t rel_len,
			      struct err *e)
{
	size_t n = dir_len(dir);
	const char *r = path;
	if (path[0] == '/') {
		bool root = n == 1 && dir[0] == '/';
		if (root)
			r = path + 1;
		else if (strncmp(path, dir, n) == 0 && path[n] == '/')
			r = path + n + 1;
		else
			return err_set(e, ERR_INVALID, "path",
				       "%s is outside the image store %.*s: put the file in the "
				       "store and register its path relative to it",
				       path, (int)n, dir);
	}
	if (!rel_ok(r))
		return err_set(e, ERR_INVALID, "path",
			       "path must name a file inside the image store %.*s, without "
			       "empty, . or .. components",
			       (int)n, dir);
	if ((size_t)snprintf(rel, rel_len, "%s", r) >= rel_len)
		return err_set(e, ERR_INVALID, "path", "path is too long");
	return ERR_OK;
}

/* Why name (in directory fd at) cannot be opened: a clear sentence. */
static enum err_status refuse(int at, const char *name, const char *rel, int open_errno,
			      struct err *e)
{
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT || errno == ENOTDIR
			   ? err_set(e, ERR_NOT_FOUND, "path",
				     "%s: no such file in the image store", rel)
			   : err_set(e, ERR_IO, "path", "%s: %s", rel, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return err_set(e, ERR_INVALID, "path",
			       "%s: '%s' is a symbolic link; links are not followed in the image "
			       "store (copy the file into it)",
			       rel, name);
	if (open_errno == 0 || open_errno == ENOTDIR)
		return err_set(e, ERR_INVALID, "path", "%s: '%s' is not a %s", rel, name,
			       open_errno == ENOTDIR ? "directory" : "regular file");
	return err_set(e, ERR_IO, "path", "%s: %s", rel, strerror(open_errno));
}

/* Opens the directory that holds rel's last component into *at (the
 * store itself is opened following links: the operator chose it); *last
 * points to the last component. */
static enum err_status open_parent(const char *dir, const char *rel, int *at, const char **last,
				   struct err *e)
{
	*at = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*at < 0)
		return err_set(e, ERR_IO, "path", "image store %s: %s", dir, strerror(errno));
	const char *p = rel;
	size_t k;
	enum err_status rc = ERR_OK;
	while (rc == ERR_OK && p[k = strcspn(p, "/")] == '/') {
		char name[256];
		int sub = -1;
		if (k >= sizeof name) {
			rc = err_set(e, ERR_INVALID, "path", "%s: a component is too long", rel);
			close(*at);
			*at = -1;
			break;
		}
		memcpy(name, p, k);
		name[k] = 0;
		sub = openat(*at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			rc = refuse(*at, name, rel, errno, e);
		close(*at);
		*at = sub;
		p += k + 1;
	}
	*last = p;
	return rc;
}

enum err_status img_store_open(const char *dir, const char *rel, struct img_file *out,
			       struct err *e)
{
	out->fd = -1;
	const char *name = rel;
	int at;
	enum err_status rc = open_parent(dir, rel, &at, &name, e);
	if (rc != ERR_OK)
		return rc;
	/* Look before opening: opening a device can have effects and a FIFO
	 * would block; O_NONBLOCK covers one swapped in between. */
	struct stat st;
	int fd = -1;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		rc = refuse(at, name, rel, 0, e);
	else if ((fd = openat(at, name,
			      O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
		rc = refuse(at, name, rel, errno, e);
	else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = err_set(e, ERR_INVALID, "path", "%s is not a regular file", rel);
	else if (st.st_nlink != 1)
		rc = err_set(e, ERR_INVALID, "path",
			     "%s has %lu hard links; a file of the image store must have one "
			     "(copy it into the store instead of linking it)",
			     rel, (unsigned long)st.st_nlink);
	close(at);
	if (rc != ERR_OK) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	out->fd = fd;
	out->size = (int64_t)st.st_size;
	out->inode = (int64_t)st.st_ino;
	out->dev = (int64_t)st.st_dev;
	return ERR_OK;
}

enum err_status img_store_unlink(const char *dir, const char *rel, struct err *e)
{
	const char *name = rel;
	int at;
	enum err_status rc = open_parent(dir, rel, &at, &name, e);
	if (rc != ERR_OK)
		return rc;
	if (unlinkat(at, name, 0) != 0)
		rc = errno == ENOENT ? err_set(e, ERR_NOT_FOUND, "path", "%s: already gone", rel)
				     : err_set(e, ERR_IO, "path", "%s: %s", rel, strerror(errno));
	close(at);
	return rc;
}
