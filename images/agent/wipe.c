/* wipe.c — the wipe command: erase partition tables and filesystem
 * signatures (first MiB, last MiB and config drive) or whole disks. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The two ranges to zero; they merge when the device is under 2 MiB. The
 * tail range covers the config drive too (it holds the user data) on
 * disks large enough to have had one. */
static void wipe_ranges(uint64_t size, bool full, uint64_t r[2][2])
{
	uint64_t tail = (AGENT_CONFIG_DRIVE_MIB + 1) * AGENT_MIB;
	if (full || size <= 2 * AGENT_MIB) {
		r[0][0] = 0, r[0][1] = size;
		r[1][0] = 0, r[1][1] = 0;
		return;
	}
	if (size < 4 * tail)
		tail = AGENT_MIB;
	r[0][0] = 0, r[0][1] = AGENT_MIB;
	r[1][0] = size - tail, r[1][1] = tail;
}

enum agent_rc agent_wipe_device(const char *path, bool full, struct agent_progress *progress,
				uint64_t *zeroed, struct agent_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return agent_fail(err, AGENT_E_IO, "open %s: %s", path, strerror(errno));
	uint64_t size = 0, r[2][2];
	enum agent_rc rc = agent_fd_size(fd, path, &size, err);
	if (rc)
		goto out;
	wipe_ranges(size, full, r);
	if (progress)
		atomic_fetch_add(&progress->total, (unsigned long long)(r[0][1] + r[1][1]));
	for (int i = 0; i < 2 && rc == AGENT_OK; i++)
		rc = agent_zero_range(fd, path, r[i][0], r[i][1], progress, err);
	if (rc == AGENT_OK && fsync(fd) != 0)
		rc = agent_fail(err, AGENT_E_IO, "fsync %s: %s", path, strerror(errno));
	if (rc == AGENT_OK) {
		/* Let the kernel forget the old partitions; fails harmlessly on
		 * regular files and on disks that are in use. */
		(void)ioctl(fd, BLKRRPART);
		if (zeroed)
			*zeroed += r[0][1] + r[1][1];
	}
out:
	close(fd);
	return rc;
}

enum agent_rc agent_wipe_all(const struct agent_config *cfg, bool full,
			     struct agent_progress *progress, json_t **details,
			     struct agent_err *err)
{
	char **names = NULL;
	size_t n = 0;
	enum agent_rc rc = agent_disk_names(cfg->sysroot, &names, &n, err);
	if (rc)
		return rc;
	json_t *disks = json_array();
	uint64_t zeroed = 0;
	for (size_t i = 0; i < n && rc == AGENT_OK; i++) {
		char rel[512];
		snprintf(rel, sizeof(rel), "/%s", names[i]);
		char *path = agent_path_join(cfg->devroot, rel);
		if (!path) {
			rc = agent_fail(err, AGENT_E_NOMEM, "out of memory");
			break;
		}
		agent_log(AGENT_LOG_INFO, "wipe %s (%s)", path, full ? "full" : "first/last MiB");
		rc = agent_wipe_device(path, full, progress, &zeroed, err);
		json_array_append_new(disks, json_string(names[i]));
		free(path);
	}
	agent_strv_free(names, n);
	if (rc == AGENT_OK && n == 0)
		rc = agent_fail(err, AGENT_E_IO, "no disk found to wipe");
	if (rc) {
		json_decref(disks);
		return rc;
	}
	*details =
	    json_pack("{s:o, s:I, s:b}", "disks", disks, "bytes", (json_int_t)zeroed, "full", full);
	return AGENT_OK;
}
