/* facts_nics.c — physical network interfaces from SYSROOT/sys/class/net. */
#include "agent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Physical NICs have a `device` link; lo, bridges, veth, tun do not. */
static bool is_physical_nic(const char *sysroot, const char *name)
{
	char rel[512];
	if (strcmp(name, "lo") == 0)
		return false;
	snprintf(rel, sizeof(rel), "/sys/class/net/%s/device", name);
	return agent_path_exists(sysroot, rel);
}

/* Reading `speed` fails (EINVAL) when the link is down; virtio reports -1. */
static long long nic_speed(const char *sysroot, const char *name)
{
	char rel[512];
	snprintf(rel, sizeof(rel), "/sys/class/net/%s/speed", name);
	char *v = NULL;
	if (agent_read_text(sysroot, rel, &v, NULL) != AGENT_OK)
		return -1;
	char *end = NULL;
	errno = 0;
	long long s = strtoll(v, &end, 10);
	bool bad = errno || end == v || *end || s <= 0;
	free(v);
	return bad ? -1 : s;
}

json_t *agent_facts_nics(const char *sysroot)
{
	json_t *nics = json_array();
	char **names = NULL;
	size_t n = 0;
	if (!nics || agent_list_dir(sysroot, "/sys/class/net", &names, &n, NULL) != AGENT_OK)
		return nics;
	for (size_t i = 0; i < n; i++) {
		if (!is_physical_nic(sysroot, names[i]))
			continue;
		char rel[512];
		snprintf(rel, sizeof(rel), "/sys/class/net/%s/address", names[i]);
		char *mac = agent_read_text_or_empty(sysroot, rel);
		json_array_append_new(nics, json_pack("{s:s, s:o, s:I}", "name", names[i], "mac",
						      agent_json_text(mac), "speed_mbps",
						      (json_int_t)nic_speed(sysroot, names[i])));
		free(mac);
	}
	agent_strv_free(names, n);
	return nics;
}
