/* The layout of a SKU file: which keys live in which section, which are
 * required, and how each value is checked and stored. docs/skus.md describes
 * the same table for humans; keep them together. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "skus/sku_internal.h"

const char *const sku_sections[] = {"sku", "cpu", "memory", "disks", "nics"};
const size_t sku_nsections = sizeof(sku_sections) / sizeof(sku_sections[0]);

int sku_section_index(const char *section)
{
	for (size_t i = 0; i < sku_nsections; i++) {
		if (strcmp(sku_sections[i], section) == 0)
			return (int)i;
	}
	return -1;
}

static int set_name(struct sku *s, const char *v, char *msg, size_t msglen)
{
	if (!sku_name_valid(v)) {
		snprintf(msg, msglen,
			 "\"%s\" is not a SKU name (1-%d of a-z, 0-9, '.', '-', '_'; starting "
			 "with a letter or digit)",
			 v, SKU_NAME_MAX);
		return -1;
	}
	s->name = strdup(v);
	return s->name ? 0 : -1;
}

static int set_description(struct sku *s, const char *v, char *msg, size_t msglen)
{
	if (*v == '\0') {
		snprintf(msg, msglen, "must not be empty");
		return -1;
	}
	/* GET /v1/skus shows it as a JSON string, which only UTF-8 text can be */
	json_t *text = json_string(v);
	if (!text) {
		snprintf(msg, msglen, "must be UTF-8 text");
		return -1;
	}
	json_decref(text);
	s->description = strdup(v);
	return s->description ? 0 : -1;
}

static int set_arch(struct sku *s, const char *v, char *msg, size_t msglen)
{
	if (!sku_arch_known(v)) {
		snprintf(msg, msglen, "\"%s\" is not an architecture (known: %s)", v,
			 sku_arch_list());
		return -1;
	}
	snprintf(s->arch, sizeof(s->arch), "%s", v);
	return 0;
}

static int set_boot_mode(struct sku *s, const char *v, char *msg, size_t msglen)
{
	int m = sku_boot_mode_from_string(v);
	if (m < 0) {
		snprintf(msg, msglen, "\"%s\" is not a boot mode (bios or uefi)", v);
		return -1;
	}
	s->boot_mode = (enum sku_boot_mode)m;
	return 0;
}

static int set_cores(struct sku *s, const char *v, char *msg, size_t msglen)
{
	return sku_parse_range(v, 1, 65536, &s->cores, msg, msglen);
}

static int set_memory_mib(struct sku *s, const char *v, char *msg, size_t msglen)
{
	return sku_parse_int(v, 1, 1LL << 32, &s->memory_mib, msg, msglen);
}

static int set_memory_tolerance(struct sku *s, const char *v, char *msg, size_t msglen)
{
	long long n = 0;
	if (sku_parse_int(v, 0, 50, &n, msg, msglen) < 0)
		return -1;
	s->memory_tolerance_pct = (int)n;
	return 0;
}

static int set_disk_count(struct sku *s, const char *v, char *msg, size_t msglen)
{
	return sku_parse_range(v, 0, SKU_MAX_DISKS, &s->disk_count, msg, msglen);
}

static int set_disk_min_size(struct sku *s, const char *v, char *msg, size_t msglen)
{
	if (sku_parse_size(v, &s->disk_min_bytes, &s->disk_min_decimal, msg, msglen) < 0)
		return -1;
	if (s->disk_min_bytes > 1ULL << 60) {
		snprintf(msg, msglen, "\"%s\" is larger than 1 EiB", v);
		return -1;
	}
	return 0;
}

static int set_disk_kind(struct sku *s, const char *v, char *msg, size_t msglen)
{
	int k = sku_disk_kind_from_string(v);
	if (k < 0) {
		snprintf(msg, msglen, "\"%s\" is not a disk kind (ssd, hdd, nvme or any)", v);
		return -1;
	}
	s->disk_kind = (enum sku_disk_kind)k;
	return 0;
}

static int set_nic_count(struct sku *s, const char *v, char *msg, size_t msglen)
{
	return sku_parse_range(v, 0, SKU_MAX_NICS, &s->nic_count, msg, msglen);
}

static int set_nic_speed(struct sku *s, const char *v, char *msg, size_t msglen)
{
	return sku_parse_int(v, 0, 10000000, &s->nic_min_mbps, msg, msglen);
}

static int set_fast_track(struct sku *s, const char *v, char *msg, size_t msglen)
{
	if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
		snprintf(msg, msglen, "\"%s\" is not true or false", v);
		return -1;
	}
	s->fast_track = strcmp(v, "true") == 0;
	return 0;
}

static int set_max_deploys(struct sku *s, const char *v, char *msg, size_t msglen)
{
	long long n = 0;
	if (sku_parse_int(v, 0, 100000, &n, msg, msglen) < 0)
		return -1;
	s->max_concurrent_deploys = (int)n;
	return 0;
}

static int set_warm_pool(struct sku *s, const char *v, char *msg, size_t msglen)
{
	long long n = 0;
	if (sku_parse_int(v, 0, 100000, &n, msg, msglen) < 0)
		return -1;
	s->warm_pool = (int)n;
	return 0;
}

static int set_deploy(struct sku *s, const char *v, char *msg, size_t msglen)
{
	if (strcmp(v, "pxe") != 0 && strcmp(v, "vmedia") != 0) {
		snprintf(msg, msglen, "\"%s\" is not a deploy interface (pxe or vmedia)", v);
		return -1;
	}
	snprintf(s->deploy, sizeof s->deploy, "%s", v);
	return 0;
}

static int set_boot_override_mode(struct sku *s, const char *v, char *msg, size_t msglen)
{
	const char *canon = strcasecmp(v, "uefi") == 0	   ? "UEFI"
			    : strcasecmp(v, "legacy") == 0 ? "Legacy"
							   : NULL;
	if (!canon) {
		snprintf(msg, msglen, "\"%s\" is not UEFI or Legacy", v);
		return -1;
	}
	snprintf(s->boot_override_mode, sizeof s->boot_override_mode, "%s", canon);
	return 0;
}

const struct sku_key sku_keys[] = {
    {"sku", "name", true, set_name},
    {"sku", "description", true, set_description},
    {"sku", "arch", true, set_arch},
    {"sku", "boot_mode", true, set_boot_mode},
    {"cpu", "cores", true, set_cores},
    {"memory", "mib", true, set_memory_mib},
    {"memory", "tolerance_pct", false, set_memory_tolerance},
    {"disks", "count", true, set_disk_count},
    {"disks", "min_size", true, set_disk_min_size},
    {"disks", "kind", true, set_disk_kind},
    {"nics", "count", true, set_nic_count},
    {"nics", "min_speed_mbps", true, set_nic_speed},
    {"sku", "fast_track", false, set_fast_track},
    {"sku", "max_concurrent_deploys", false, set_max_deploys},
    {"sku", "warm_pool", false, set_warm_pool},
    {"sku", "deploy", false, set_deploy},
    {"sku", "boot_override_mode", false, set_boot_override_mode},
};
const size_t sku_nkeys = sizeof(sku_keys) / sizeof(sku_keys[0]);
