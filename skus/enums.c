/* The one place where the module's enums meet their strings. */
#include <assert.h>
#include <string.h>

#include "skus/sku_internal.h"

static const char *const boot_mode_names[] = {
    [SKU_BOOT_BIOS] = "bios",
    [SKU_BOOT_UEFI] = "uefi",
};
static_assert(ARRAY_SIZE(boot_mode_names) == SKU_BOOT__COUNT, "boot mode table covers the enum");

static const char *const disk_kind_names[] = {
    [SKU_DISK_ANY] = "any",
    [SKU_DISK_SSD] = "ssd",
    [SKU_DISK_HDD] = "hdd",
    [SKU_DISK_NVME] = "nvme",
};
static_assert(ARRAY_SIZE(disk_kind_names) == SKU_DISK__COUNT, "disk kind table covers the enum");

/* Architectures as `uname -m` spells them; a typo like "x86-64" is caught at
 * load time instead of silently matching nothing. */
static const char *const arch_names[] = {"x86_64", "aarch64", "ppc64le", "s390x", "riscv64"};

static int lookup(const char *const *table, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++) {
		if (strcmp(table[i], s) == 0)
			return (int)i;
	}
	return -1;
}

const char *sku_boot_mode_str(enum sku_boot_mode m)
{
	return (unsigned)m < SKU_BOOT__COUNT ? boot_mode_names[m] : "?";
}

int sku_boot_mode_from_string(const char *s)
{
	return lookup(boot_mode_names, ARRAY_SIZE(boot_mode_names), s);
}

const char *sku_disk_kind_str(enum sku_disk_kind k)
{
	return (unsigned)k < SKU_DISK__COUNT ? disk_kind_names[k] : "?";
}

int sku_disk_kind_from_string(const char *s)
{
	return lookup(disk_kind_names, ARRAY_SIZE(disk_kind_names), s);
}

bool sku_arch_known(const char *s)
{
	return lookup(arch_names, ARRAY_SIZE(arch_names), s) >= 0;
}

const char *sku_arch_list(void)
{
	return "x86_64, aarch64, ppc64le, s390x, riscv64";
}
