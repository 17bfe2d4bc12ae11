/* Hardware facts JSON (docs/agent-protocol.md) -> struct sku_facts.
 * Only the fields matching needs are required; unknown fields are ignored so
 * the agent may add some. Every error names the field, e.g. "nics[0].mac". */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skus/sku_internal.h"

__attribute__((format(printf, 2, 3))) static int field_error(char **msg, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	*msg = strdup(text);
	return -1;
}

/* An integer member in [min, max]; 0 or -1 (missing, wrong type, range). */
static int get_int(const json_t *obj, const char *key, long long min, long long max, long long *out)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* An optional string member of at most len - 1 bytes; `fallback` if absent. */
static int get_name(const json_t *obj, const char *key, const char *fallback, char *out, size_t len)
{
	const json_t *v = json_object_get(obj, key);
	if (!v) {
		snprintf(out, len, "%s", fallback);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= len)
		return -1;
	snprintf(out, len, "%s", json_string_value(v));
	return 0;
}

static int parse_disk(const json_t *d, size_t i, struct sku_fact_disk *out, char **msg)
{
	char fallback[32];
	snprintf(fallback, sizeof(fallback), "disks[%zu]", i);
	if (!json_is_object(d))
		return field_error(msg, "disks[%zu]: must be an object", i);
	if (get_name(d, "name", fallback, out->name, sizeof(out->name)) < 0)
		return field_error(msg, "disks[%zu].name: must be a string of at most %zu bytes", i,
				   sizeof(out->name) - 1);
	long long size = 0;
	if (get_int(d, "size_bytes", 0, INT64_MAX, &size) < 0)
		return field_error(msg, "disks[%zu].size_bytes: must be a non-negative integer", i);
	out->size_bytes = (unsigned long long)size;
	int kind = sku_disk_kind_from_string(json_string_value(json_object_get(d, "kind")));
	if (kind < 0 || kind == SKU_DISK_ANY)
		return field_error(msg, "disks[%zu].kind: must be \"ssd\", \"hdd\" or \"nvme\"", i);
	out->kind = (enum sku_disk_kind)kind;
	return 0;
}

static int parse_nic(const json_t *n, size_t i, struct sku_fact_nic *out, char **msg)
{
	char fallback[32];
	snprintf(fallback, sizeof(fallback), "nics[%zu]", i);
	if (!json_is_object(n))
		return field_error(msg, "nics[%zu]: must be an object", i);
	if (get_name(n, "name", fallback, out->name, sizeof(out->name)) < 0)
		return field_error(msg, "nics[%zu].name: must be a string of at most %zu bytes", i,
				   sizeof(out->name) - 1);
	if (get_int(n, "speed_mbps", -1, INT32_MAX, &out->speed_mbps) < 0)
		return field_error(
		    msg, "nics[%zu].speed_mbps: must be an integer >= -1 (-1: unknown)", i);
	return 0;
}

static int parse_disks(const json_t *root, struct sku_facts *f, char **msg)
{
	const json_t *a = json_object_get(root, "disks");
	if (!json_is_array(a) || json_array_size(a) > SKU_MAX_DISKS)
		return field_error(msg, "disks: must be an array of at most %d disks",
				   SKU_MAX_DISKS);
	f->ndisks = json_array_size(a);
	f->disks = calloc(f->ndisks ? f->ndisks : 1, sizeof(*f->disks));
	if (!f->disks)
		return -1;
	for (size_t i = 0; i < f->ndisks; i++) {
		if (parse_disk(json_array_get(a, i), i, &f->disks[i], msg) < 0)
			return -1;
	}
	return 0;
}

static int parse_nics(const json_t *root, struct sku_facts *f, char **msg)
{
	const json_t *a = json_object_get(root, "nics");
	if (!json_is_array(a) || json_array_size(a) > SKU_MAX_NICS)
		return field_error(msg, "nics: must be an array of at most %d NICs", SKU_MAX_NICS);
	f->nnics = json_array_size(a);
	f->nics = calloc(f->nnics ? f->nnics : 1, sizeof(*f->nics));
	if (!f->nics)
		return -1;
	for (size_t i = 0; i < f->nnics; i++) {
		if (parse_nic(json_array_get(a, i), i, &f->nics[i], msg) < 0)
			return -1;
	}
	return 0;
}

static int parse_scalars(const json_t *root, struct sku_facts *f, char **msg)
{
	const json_t *arch = json_object_get(root, "arch");
	if (!json_is_string(arch) || json_string_length(arch) == 0 ||
	    json_string_length(arch) >= sizeof(f->arch))
		return field_error(msg, "arch: must be a non-empty string like \"x86_64\"");
	snprintf(f->arch, sizeof(f->arch), "%s", json_string_value(arch));
	int mode = sku_boot_mode_from_string(json_string_value(json_object_get(root, "boot_mode")));
	if (mode < 0)
		return field_error(msg, "boot_mode: must be \"bios\" or \"uefi\"");
	f->boot_mode = (enum sku_boot_mode)mode;
	const json_t *cpu = json_object_get(root, "cpu");
	if (!json_is_object(cpu))
		return field_error(msg, "cpu: must be an object with \"cores\"");
	if (get_int(cpu, "cores", 1, 1000000, &f->cores) < 0)
		return field_error(msg, "cpu.cores: must be a positive integer");
	if (get_int(root, "memory_mib", 1, 1LL << 40, &f->memory_mib) < 0)
		return field_error(msg, "memory_mib: must be a positive integer");
	return 0;
}

int sku_facts_parse(const char *text, struct sku_facts *f, char **msg)
{
	*f = (struct sku_facts){0};
	*msg = NULL;
	if (!text)
		return field_error(msg, "facts: missing");
	json_error_t je;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return field_error(msg, "facts: invalid JSON at line %d, column %d: %s", je.line,
				   je.column, je.text);
	int rc = -1;
	if (!json_is_object(root))
		field_error(msg, "facts: must be a JSON object");
	else if (parse_scalars(root, f, msg) == 0 && parse_disks(root, f, msg) == 0 &&
		 parse_nics(root, f, msg) == 0)
		rc = 0;
	json_decref(root);
	if (rc < 0)
		sku_facts_release(f);
	return rc;
}

void sku_facts_release(struct sku_facts *f)
{
	if (!f)
		return;
	free(f->disks);
	free(f->nics);
	*f = (struct sku_facts){0};
}
