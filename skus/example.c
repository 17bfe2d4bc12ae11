/* Facts that match a SKU, for the fake BMC driver: the smallest machine the
 * SKU accepts (lowest counts, nominal memory, minimum sizes and speeds), with
 * at least one disk and one NIC when the SKU allows them, since the fake
 * machine has to PXE-boot and take an image. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "skus/sku_internal.h"

#define DEFAULT_MAC "02:00:00:00:00:01"

/* "aa:bb:cc:dd:ee:ff" (any case) -> 48-bit value. */
static int parse_mac(const char *mac, unsigned long long *out)
{
	if (strlen(mac) != 17)
		return -1;
	unsigned long long v = 0;
	for (int i = 0; i < 17; i++) {
		unsigned char c = (unsigned char)mac[i];
		if (i % 3 == 2) {
			if (c != ':')
				return -1;
			continue;
		}
		if (!isxdigit(c))
			return -1;
		v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	*out = v;
	return 0;
}

static void format_mac(unsigned long long v, char *buf, size_t len)
{
	v &= (1ULL << 48) - 1;
	snprintf(buf, len, "%02llx:%02llx:%02llx:%02llx:%02llx:%02llx", v >> 40 & 0xff,
		 v >> 32 & 0xff, v >> 24 & 0xff, v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff);
}

/* Linux names: sda..sdz, sdaa..; nvme0n1, nvme1n1, .. */
static void disk_name(enum sku_disk_kind kind, size_t i, char *buf, size_t len)
{
	if (kind == SKU_DISK_NVME) {
		snprintf(buf, len, "nvme%zun1", i);
		return;
	}
	char rev[8];
	size_t n = 0;
	for (size_t k = i + 1; k > 0 && n < sizeof(rev); k = (k - 1) / 26)
		rev[n++] = (char)('a' + (k - 1) % 26);
	char letters[8];
	for (size_t j = 0; j < n; j++)
		letters[j] = rev[n - 1 - j];
	snprintf(buf, len, "sd%.*s", (int)n, letters);
}

static long long pick_count(struct sku_range r)
{
	return r.lo > 0 ? r.lo : r.hi > 0 ? 1 : 0;
}

static json_t *example_disks(const struct sku *s, unsigned long long mac)
{
	enum sku_disk_kind kind = s->disk_kind == SKU_DISK_ANY ? SKU_DISK_SSD : s->disk_kind;
	static const char *const models[] = {[SKU_DISK_SSD] = "Fake SSD",
					     [SKU_DISK_HDD] = "Fake HDD",
					     [SKU_DISK_NVME] = "Fake NVMe"};
	/* A SKU without a minimum still gets a disk an image fits on. */
	unsigned long long size = s->disk_min_bytes ? s->disk_min_bytes : 8ULL << 30;
	json_t *a = json_array();
	for (long long i = 0; a && i < pick_count(s->disk_count); i++) {
		char name[32], serial[48];
		disk_name(kind, (size_t)i, name, sizeof(name));
		snprintf(serial, sizeof(serial), "fake-%012llx-%lld", mac, i);
		json_t *d =
		    json_pack("{s:s, s:I, s:b, s:s, s:s, s:s}", "name", name, "size_bytes",
			      (json_int_t)size, "rotational", kind == SKU_DISK_HDD, "kind",
			      sku_disk_kind_str(kind), "model", models[kind], "serial", serial);
		if (json_array_append_new(a, d) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *example_nics(const struct sku *s, unsigned long long mac)
{
	/* Speed unknown where the SKU does not care, as lab VMs report it. */
	json_int_t speed = s->nic_min_mbps > 0 ? s->nic_min_mbps : -1;
	json_t *a = json_array();
	for (long long i = 0; a && i < pick_count(s->nic_count); i++) {
		char name[32], text[18];
		snprintf(name, sizeof(name), "eth%lld", i);
		format_mac(mac + (unsigned long long)i, text, sizeof(text));
		json_t *n =
		    json_pack("{s:s, s:s, s:I}", "name", name, "mac", text, "speed_mbps", speed);
		if (json_array_append_new(a, n) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *example_dmi(const struct sku *s, unsigned long long mac)
{
	char product[96], serial[32], uuid[40];
	snprintf(product, sizeof(product), "fake %s", s->name);
	snprintf(serial, sizeof(serial), "fake-%012llx", mac);
	snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012llx", mac);
	return json_pack("{s:s, s:s, s:s, s:s}", "vendor", "provisiond", "product", product,
			 "serial", serial, "uuid", uuid);
}

char *sku_example_facts_json(const struct sku *s, const char *mac)
{
	unsigned long long m = 0;
	if (!s || parse_mac(mac ? mac : DEFAULT_MAC, &m) < 0)
		return NULL;
	json_t *disks = example_disks(s, m), *nics = example_nics(s, m), *dmi = example_dmi(s, m);
	if (!disks || !nics || !dmi) {
		json_decref(disks);
		json_decref(nics);
		json_decref(dmi);
		return NULL;
	}
	/* "o" steals the three references, also when json_pack fails. */
	json_t *root =
	    json_pack("{s:s, s:s, s:{s:I, s:s}, s:I, s:o, s:o, s:o}", "arch", s->arch, "boot_mode",
		      sku_boot_mode_str(s->boot_mode), "cpu", "cores", (json_int_t)s->cores.lo,
		      "model", "Fake CPU", "memory_mib", (json_int_t)s->memory_mib, "disks", disks,
		      "nics", nics, "dmi", dmi);
	if (!root)
		return NULL;
	char *text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}
