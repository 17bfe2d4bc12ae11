/* names.c - the enum <-> string tables of the BMC layer, one per enum, each checked
 * at compile time against its enum's __COUNT sentinel. API and log names come from
 * here only. */
#include <assert.h>
#include <string.h>

#include "provisiond/bmc/bmc.h"
#include "util/util.h"

static const char *const status_names[] = {
    [BMC_OK] = "ok",
    [BMC_ERR_INVALID] = "invalid",
    [BMC_ERR_UNSUPPORTED] = "unsupported",
    [BMC_ERR_NOT_COMPILED] = "not_compiled",
    [BMC_ERR_AUTH] = "auth",
    [BMC_ERR_TIMEOUT] = "timeout",
    [BMC_ERR_UNREACHABLE] = "unreachable",
    [BMC_ERR_CIRCUIT_OPEN] = "circuit_open",
    [BMC_ERR_BUSY] = "busy",
    [BMC_ERR_FAILED] = "failed",
};
static_assert(ARRAY_SIZE(status_names) == BMC_STATUS__COUNT, "status_names covers bmc_status");

static const char *const power_state_names[] = {
    [BMC_POWER_UNKNOWN] = "unknown",
    [BMC_POWER_OFF] = "off",
    [BMC_POWER_ON] = "on",
};
static_assert(ARRAY_SIZE(power_state_names) == BMC_POWER_STATE__COUNT,
	      "power_state_names covers bmc_power_state");

static const char *const power_action_names[] = {
    [BMC_POWER_ACTION_ON] = "on",	  [BMC_POWER_ACTION_OFF] = "off",
    [BMC_POWER_ACTION_CYCLE] = "cycle",	  [BMC_POWER_ACTION_RESET] = "reset",
    [BMC_POWER_ACTION_SOFT_OFF] = "soft",
};
static_assert(ARRAY_SIZE(power_action_names) == BMC_POWER_ACTION__COUNT,
	      "power_action_names covers bmc_power_action");

static const char *const boot_device_names[] = {
    [BMC_BOOT_PXE] = "pxe",
    [BMC_BOOT_DISK] = "disk",
    [BMC_BOOT_CD] = "cd",
};
static_assert(ARRAY_SIZE(boot_device_names) == BMC_BOOT_DEVICE__COUNT,
	      "boot_device_names covers bmc_boot_device");

static const char *name_at(const char *const *table, size_t n, int v)
{
	if (v < 0 || (size_t)v >= n || table[v] == NULL)
		return "?";
	return table[v];
}

static int index_of(const char *const *table, size_t n, const char *s)
{
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (table[i] != NULL && strcmp(table[i], s) == 0)
			return (int)i;
	return -1;
}

const char *bmc_status_name(enum bmc_status s)
{
	return name_at(status_names, ARRAY_SIZE(status_names), (int)s);
}

const char *bmc_power_state_name(enum bmc_power_state s)
{
	return name_at(power_state_names, ARRAY_SIZE(power_state_names), (int)s);
}

const char *bmc_power_action_name(enum bmc_power_action a)
{
	return name_at(power_action_names, ARRAY_SIZE(power_action_names), (int)a);
}

const char *bmc_boot_device_name(enum bmc_boot_device d)
{
	return name_at(boot_device_names, ARRAY_SIZE(boot_device_names), (int)d);
}

int bmc_power_action_from_name(const char *s, enum bmc_power_action *out)
{
	int i = index_of(power_action_names, ARRAY_SIZE(power_action_names), s);
	if (i < 0 || out == NULL)
		return -1;
	*out = (enum bmc_power_action)i;
	return 0;
}

int bmc_boot_device_from_name(const char *s, enum bmc_boot_device *out)
{
	int i = index_of(boot_device_names, ARRAY_SIZE(boot_device_names), s);
	if (i < 0 || out == NULL)
		return -1;
	*out = (enum bmc_boot_device)i;
	return 0;
}
