/* metadata.c — the instance metadata block at the start of a disk's last
 * MiB: "PROVISIOND-METADATA-V1\n", compact JSON, NUL. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC_LEN (sizeof(AGENT_META_MAGIC) - 1)
/* The block ends 64 KiB before the disk does: a GPT's backup header and
 * table take the disk's last 33 sectors. */
#define META_MAX (AGENT_MIB - 64 * 1024)

enum agent_rc agent_meta_write(int fd, uint64_t disk_size, const json_t *meta,
			       struct agent_err *err)
{
	if (disk_size < AGENT_MIB)
		return agent_fail(err, AGENT_E_USAGE, "disk of %llu bytes has no room for metadata",
				  (unsigned long long)disk_size);
	char *json = json_dumps(meta, JSON_COMPACT);
	if (!json)
		return agent_fail(err, AGENT_E_USAGE, "metadata cannot be serialized");
	size_t jlen = strlen(json);
	size_t total = MAGIC_LEN + jlen + 1;
	if (total > META_MAX) {
		free(json);
		return agent_fail(err, AGENT_E_USAGE, "metadata is %zu bytes; at most %llu fit",
				  jlen, (unsigned long long)(META_MAX - MAGIC_LEN - 1));
	}
	char *block = malloc(total);
	if (!block) {
		free(json);
		return agent_fail(err, AGENT_E_NOMEM, "out of memory");
	}
	memcpy(block, AGENT_META_MAGIC, MAGIC_LEN);
	memcpy(block + MAGIC_LEN, json, jlen + 1);
	free(json);
	off_t at = (off_t)(disk_size - AGENT_MIB);
	size_t done = 0;
	enum agent_rc rc = AGENT_OK;
	while (done < total) {
		ssize_t n = pwrite(fd, block + done, total - done, at + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = agent_fail(err, AGENT_E_IO, "write metadata: %s",
					n < 0 ? strerror(errno) : "no progress");
			break;
		}
		done += (size_t)n;
	}
	free(block);
	return rc;
}

static enum agent_rc read_tail(int fd, const char *path, char *buf, size_t *len,
			       struct agent_err *err)
{
	uint64_t size = 0;
	enum agent_rc rc = agent_fd_size(fd, path, &size, err);
	if (rc)
		return rc;
	if (size < AGENT_MIB)
		return agent_fail(err, AGENT_E_IO, "%s: too small to hold metadata", path);
	size_t got = 0;
	while (got < AGENT_MIB) {
		ssize_t n = pread(fd, buf + got, AGENT_MIB - got, (off_t)(size - AGENT_MIB + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return agent_fail(err, AGENT_E_IO, "read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return AGENT_OK;
}

enum agent_rc agent_meta_read(const char *path, json_t **meta, struct agent_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return agent_fail(err, AGENT_E_IO, "open %s: %s", path, strerror(errno));
	char *buf = malloc(AGENT_MIB);
	size_t len = 0;
	enum agent_rc rc = buf ? read_tail(fd, path, buf, &len, err)
			       : agent_fail(err, AGENT_E_NOMEM, "out of memory");
	close(fd);
	if (rc == AGENT_OK && (len < MAGIC_LEN || memcmp(buf, AGENT_META_MAGIC, MAGIC_LEN) != 0))
		rc = agent_fail(err, AGENT_E_IO, "%s: no metadata block in its last MiB", path);
	const char *json = rc == AGENT_OK ? buf + MAGIC_LEN : NULL;
	const char *nul = json ? memchr(json, '\0', len - MAGIC_LEN) : NULL;
	if (rc == AGENT_OK && !nul)
		rc = agent_fail(err, AGENT_E_IO, "%s: metadata block is not NUL-terminated", path);
	if (rc == AGENT_OK) {
		json_error_t je;
		*meta = json_loadb(json, (size_t)(nul - json), 0, &je);
		if (!*meta || !json_is_object(*meta)) {
			json_decref(*meta);
			*meta = NULL;
			rc = agent_fail(err, AGENT_E_IO, "%s: metadata is not a JSON object: %s",
					path, je.text);
		}
	}
	free(buf);
	return rc;
}
