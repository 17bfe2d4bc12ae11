/* facts_disks.c — physical disks from SYSROOT/sys/block. */
#include "agent.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Virtual block devices never worth imaging or wiping. Physical disks also
 * have a `device` link, which loop/ram/zram/dm/md lack anyway. */
static bool is_physical_disk(const char *sysroot, const char *name)
{
	static const char *const skip[] = {"loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd"};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strncmp(name, skip[i], strlen(skip[i])) == 0)
			return false;
	char rel[512];
	snprintf(rel, sizeof(rel), "/sys/block/%s/device", name);
	return agent_path_exists(sysroot, rel);
}

static unsigned long long disk_sectors(const char *sysroot, const char *name)
{
	char rel[512];
	snprintf(rel, sizeof(rel), "/sys/block/%s/size", name);
	char *v = agent_read_text_or_empty(sysroot, rel);
	unsigned long long n = v ? strtoull(v, NULL, 10) : 0;
	free(v);
	return n;
}

enum agent_rc agent_disk_names(const char *sysroot, char ***names, size_t *count,
			       struct agent_err *err)
{
	char **all = NULL;
	size_t n = 0, kept = 0;
	enum agent_rc rc = agent_list_dir(sysroot, "/sys/block", &all, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (is_physical_disk(sysroot, all[i]) && disk_sectors(sysroot, all[i]) > 0) {
			all[kept++] = all[i];
			continue;
		}
		free(all[i]);
	}
	*names = all;
	*count = kept;
	return AGENT_OK;
}

/* SCSI/ATA serial: VPD page 0x80 = 4-byte header (length in byte 3), then
 * the ASCII serial. */
static char *vpd80_serial(const char *sysroot, const char *name)
{
	char rel[512];
	unsigned char buf[256];
	snprintf(rel, sizeof(rel), "/sys/block/%s/device/vpd_pg80", name);
	char *path = agent_path_join(sysroot, rel);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	free(path);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 4 || buf[1] != 0x80)
		return NULL;
	size_t len = buf[3];
	if (len > (size_t)n - 4)
		len = (size_t)n - 4;
	return strndup((const char *)buf + 4, len);
}

static char *disk_serial(const char *sysroot, const char *name)
{
	static const char *const files[] = {"serial", "device/serial"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char rel[512];
		char *v = NULL;
		snprintf(rel, sizeof(rel), "/sys/block/%s/%s", name, files[i]);
		if (agent_read_text(sysroot, rel, &v, NULL) == AGENT_OK && *v)
			return v;
		free(v);
	}
	char *v = vpd80_serial(sysroot, name);
	return v ? v : strdup("");
}

static json_t *disk_json(const char *sysroot, const char *name)
{
	char rel[512];
	snprintf(rel, sizeof(rel), "/sys/block/%s/queue/rotational", name);
	char *rot = agent_read_text_or_empty(sysroot, rel);
	bool rotational = rot && strcmp(rot, "1") == 0;
	free(rot);
	snprintf(rel, sizeof(rel), "/sys/block/%s/device/model", name);
	char *model = agent_read_text_or_empty(sysroot, rel);
	char *serial = disk_serial(sysroot, name);
	const char *kind = strncmp(name, "nvme", 4) == 0 ? "nvme" : rotational ? "hdd" : "ssd";
	json_t *d = json_pack("{s:s, s:I, s:b, s:s, s:o, s:o}", "name", name, "size_bytes",
			      (json_int_t)(disk_sectors(sysroot, name) * 512ULL), "rotational",
			      rotational, "kind", kind, "model", agent_json_text(model), "serial",
			      agent_json_text(serial));
	free(model);
	free(serial);
	return d;
}

json_t *agent_facts_disks(const char *sysroot)
{
	json_t *disks = json_array();
	char **names = NULL;
	size_t n = 0;
	if (!disks || agent_disk_names(sysroot, &names, &n, NULL) != AGENT_OK)
		return disks;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(disks, disk_json(sysroot, names[i]));
	agent_strv_free(names, n);
	return disks;
}
