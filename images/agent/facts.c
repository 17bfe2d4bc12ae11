/* facts.c — the inventory body: architecture, boot mode, CPU, memory, and
 * the assembly of disks / NICs / DMI (facts_*.c). */
#include "agent.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* "key\t: value" -> value when the line's key is `key`. */
static const char *cpuinfo_value(char *line, const char *key)
{
	size_t k = strlen(key);
	if (strncmp(line, key, k) != 0)
		return NULL;
	char *p = line + k;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ':')
		return NULL;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		p[--n] = '\0';
	return p;
}

json_t *agent_facts_cpu(const char *sysroot)
{
	char *text = NULL;
	if (agent_read_text(sysroot, "/proc/cpuinfo", &text, NULL))
		return NULL;
	long long cores = 0;
	char *model = NULL;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *v;
		if (cpuinfo_value(line, "processor"))
			cores++;
		else if (!model && (v = cpuinfo_value(line, "model name")) != NULL)
			model = strdup(v);
	}
	json_t *cpu =
	    json_pack("{s:I, s:s}", "cores", (json_int_t)cores, "model", model ? model : "");
	free(model);
	free(text);
	return cpu;
}

static long long memory_blocks_mib(const char *sysroot)
{
	char *bs = NULL;
	if (agent_read_text(sysroot, "/sys/devices/system/memory/block_size_bytes", &bs, NULL))
		return 0;
	unsigned long long block = strtoull(bs, NULL, 16);
	free(bs);
	char **names = NULL;
	size_t n = 0;
	if (!block ||
	    agent_list_dir(sysroot, "/sys/devices/system/memory", &names, &n, NULL) != AGENT_OK)
		return 0;
	unsigned long long online = 0;
	for (size_t i = 0; i < n; i++) {
		char rel[512];
		if (strncmp(names[i], "memory", 6) != 0 ||
		    strspn(names[i] + 6, "0123456789") != strlen(names[i] + 6) || !names[i][6])
			continue;
		snprintf(rel, sizeof(rel), "/sys/devices/system/memory/%s/state", names[i]);
		char *state = agent_read_text_or_empty(sysroot, rel);
		if (state && strcmp(state, "online") == 0)
			online++;
		free(state);
	}
	agent_strv_free(names, n);
	return (long long)(online * block / AGENT_MIB);
}

long long agent_facts_memory_mib(const char *sysroot)
{
	long long mib = memory_blocks_mib(sysroot);
	if (mib > 0)
		return mib;
	char *text = NULL;
	if (agent_read_text(sysroot, "/proc/meminfo", &text, NULL))
		return 0;
	const char *p = strstr(text, "MemTotal:");
	long long kib = p ? strtoll(p + strlen("MemTotal:"), NULL, 10) : 0;
	free(text);
	return kib / 1024;
}

static const char *machine_arch(void)
{
	static struct utsname u;
	if (uname(&u) != 0)
		return "unknown";
	return u.machine;
}

enum agent_rc agent_facts_collect(const char *sysroot, json_t **facts, struct agent_err *err)
{
	json_t *cpu = agent_facts_cpu(sysroot);
	if (!cpu)
		return agent_fail(err, AGENT_E_IO, "cannot read %s/proc/cpuinfo", sysroot);
	const char *boot = agent_path_exists(sysroot, "/sys/firmware/efi") ? "uefi" : "bios";
	json_t *f =
	    json_pack("{s:s, s:s, s:o, s:I, s:o, s:o, s:o}", "arch", machine_arch(), "boot_mode",
		      boot, "cpu", cpu, "memory_mib", (json_int_t)agent_facts_memory_mib(sysroot),
		      "disks", agent_facts_disks(sysroot), "nics", agent_facts_nics(sysroot), "dmi",
		      agent_facts_dmi(sysroot));
	if (!f)
		return agent_fail(err, AGENT_E_NOMEM, "cannot build the facts JSON");
	*facts = f;
	return AGENT_OK;
}

json_t *agent_facts_dmi(const char *sysroot)
{
	static const char *const keys[][2] = {
	    {"vendor", "sys_vendor"},
	    {"product", "product_name"},
	    {"serial", "product_serial"},
	    {"uuid", "product_uuid"},
	};
	json_t *dmi = json_object();
	for (size_t i = 0; dmi && i < sizeof(keys) / sizeof(keys[0]); i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "/sys/class/dmi/id/%s", keys[i][1]);
		char *v = agent_read_text_or_empty(sysroot, rel);
		json_object_set_new(dmi, keys[i][0], agent_json_text(v));
		free(v);
	}
	return dmi;
}

json_t *agent_json_text(const char *s)
{
	if (!s)
		return json_string("");
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	json_t *j = json_stringn(s, n);
	if (j)
		return j;
	char *copy = strndup(s, n);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* An Ethernet MAC "xx:xx:xx:xx:xx:xx" (other link types, e.g. InfiniBand's
 * 20-byte addresses, cannot identify a machine at lookup), lower-cased. */
static bool ethernet_mac(const char *s, char out[18])
{
	if (!s || strlen(s) != 17 || strcmp(s, "00:00:00:00:00:00") == 0)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[17] = '\0';
	return true;
}

static bool listed(const json_t *macs, const char *mac)
{
	for (size_t i = 0; i < json_array_size(macs); i++)
		if (strcmp(json_string_value(json_array_get(macs, i)), mac) == 0)
			return true;
	return false;
}

json_t *agent_facts_macs(const json_t *nics)
{
	json_t *macs = json_array();
	json_t *nic;
	size_t i;
	char mac[18];
	json_array_foreach(nics, i, nic)
	{
		if (!ethernet_mac(json_string_value(json_object_get(nic, "mac")), mac) ||
		    listed(macs, mac))
			continue;
		if (json_array_size(macs) == AGENT_MAX_LOOKUP_MACS) {
			agent_log(AGENT_LOG_WARN, "more than %d MACs: lookup sends the first %d",
				  AGENT_MAX_LOOKUP_MACS, AGENT_MAX_LOOKUP_MACS);
			break;
		}
		json_array_append_new(macs, json_string(mac));
	}
	return macs;
}
