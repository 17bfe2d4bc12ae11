/* sysfs.c — small-file reads under an overridable root (/proc, /sys). */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SMALL_FILE_MAX (64 * 1024)

char *agent_path_join(const char *root, const char *rel)
{
	size_t a = root ? strlen(root) : 0;
	size_t b = strlen(rel);
	char *out = malloc(a + b + 2);
	if (!out)
		return NULL;
	if (a)
		memcpy(out, root, a);
	if (a && root[a - 1] == '/' && rel[0] == '/')
		a--;
	memcpy(out + a, rel, b + 1);
	return out;
}

static void trim_right(char *s, size_t *len)
{
	while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == ' ' || s[*len - 1] == '\t' ||
			    s[*len - 1] == '\r' || s[*len - 1] == '\0'))
		s[--*len] = '\0';
}

static enum agent_rc read_fd(int fd, const char *path, char **out, struct agent_err *err)
{
	char *buf = malloc(SMALL_FILE_MAX + 1);
	if (!buf)
		return agent_fail(err, AGENT_E_NOMEM, "out of memory");
	size_t len = 0;
	while (len < SMALL_FILE_MAX) {
		ssize_t n = read(fd, buf + len, SMALL_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			return agent_fail(err, AGENT_E_IO, "read %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	trim_right(buf, &len);
	*out = buf;
	return AGENT_OK;
}

enum agent_rc agent_read_text(const char *root, const char *rel, char **out, struct agent_err *err)
{
	char *path = agent_path_join(root, rel);
	if (!path)
		return agent_fail(err, AGENT_E_NOMEM, "out of memory");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		agent_fail(err, AGENT_E_IO, "open %s: %s", path, strerror(e));
		free(path);
		return AGENT_E_IO;
	}
	enum agent_rc rc = read_fd(fd, path, out, err);
	close(fd);
	free(path);
	return rc;
}

char *agent_read_text_or_empty(const char *root, const char *rel)
{
	char *s = NULL;
	if (agent_read_text(root, rel, &s, NULL) == AGENT_OK)
		return s;
	return strdup("");
}

bool agent_path_exists(const char *root, const char *rel)
{
	char *path = agent_path_join(root, rel);
	struct stat st;
	bool ok = path && stat(path, &st) == 0;
	free(path);
	return ok;
}

void agent_strv_free(char **v, size_t count)
{
	if (!v)
		return;
	for (size_t i = 0; i < count; i++)
		free(v[i]);
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum agent_rc push_name(char ***v, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char **nv = realloc(*v, ncap * sizeof(*nv));
		if (!nv)
			return AGENT_E_NOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[*n] = strdup(name);
	if (!(*v)[*n])
		return AGENT_E_NOMEM;
	(*n)++;
	return AGENT_OK;
}

enum agent_rc agent_list_dir(const char *root, const char *rel, char ***names, size_t *count,
			     struct agent_err *err)
{
	char *path = agent_path_join(root, rel);
	DIR *d = path ? opendir(path) : NULL;
	if (!d) {
		int e = errno;
		agent_fail(err, AGENT_E_IO, "opendir %s: %s", path ? path : rel, strerror(e));
		free(path);
		return AGENT_E_IO;
	}
	char **v = NULL;
	size_t n = 0, cap = 0;
	enum agent_rc rc = AGENT_OK;
	struct dirent *de;
	while (rc == AGENT_OK && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = push_name(&v, &n, &cap, de->d_name);
	}
	closedir(d);
	free(path);
	if (rc) {
		agent_strv_free(v, n);
		return agent_fail(err, rc, "out of memory");
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*names = v;
	*count = n;
	return AGENT_OK;
}
