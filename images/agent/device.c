/* device.c — block devices and the regular files that stand in for them. */
#include "agent.h"

#include <errno.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZERO_CHUNK (1024 * 1024)

enum agent_rc agent_fd_size(int fd, const char *path, uint64_t *size, struct agent_err *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return agent_fail(err, AGENT_E_IO, "stat %s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return AGENT_OK;
	}
	if (!S_ISBLK(st.st_mode))
		return agent_fail(err, AGENT_E_USAGE, "%s is neither a block device nor a file",
				  path);
	unsigned long long bytes = 0;
	if (ioctl(fd, BLKGETSIZE64, &bytes) != 0)
		return agent_fail(err, AGENT_E_IO, "BLKGETSIZE64 %s: %s", path, strerror(errno));
	*size = bytes;
	return AGENT_OK;
}

enum agent_rc agent_zero_range(int fd, const char *path, uint64_t offset, uint64_t len,
			       struct agent_progress *progress, struct agent_err *err)
{
	static const unsigned char zeros[ZERO_CHUNK];
	while (len > 0) {
		size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
		ssize_t w = pwrite(fd, zeros, n, (off_t)offset);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return agent_fail(err, AGENT_E_IO, "zero %s at %llu: %s", path,
					  (unsigned long long)offset,
					  w < 0 ? strerror(errno) : "no progress");
		offset += (uint64_t)w;
		len -= (uint64_t)w;
		if (progress)
			atomic_fetch_add(&progress->bytes, (unsigned long long)w);
	}
	return AGENT_OK;
}

enum agent_rc agent_default_device(const struct agent_config *cfg, char **path,
				   struct agent_err *err)
{
	char **names = NULL;
	size_t n = 0;
	enum agent_rc rc = agent_disk_names(cfg->sysroot, &names, &n, err);
	if (rc)
		return rc;
	if (n == 0) {
		agent_strv_free(names, n);
		return agent_fail(err, AGENT_E_IO, "no disk found under %s/sys/block",
				  cfg->sysroot);
	}
	char rel[512];
	snprintf(rel, sizeof(rel), "/%s", names[0]);
	*path = agent_path_join(cfg->devroot, rel);
	agent_strv_free(names, n);
	return *path ? AGENT_OK : agent_fail(err, AGENT_E_NOMEM, "out of memory");
}
