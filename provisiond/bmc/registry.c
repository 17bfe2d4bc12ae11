/* registry.c - the table of BMC drivers. A driver whose library was left out of the
 * build is still listed, by name, with what is missing, so a target naming it gets
 * "driver 'ipmi' not compiled in" rather than "unknown driver". */
#include <string.h>

#include "provisiond/bmc/driver.h"

#ifdef HAVE_FREEIPMI
extern const struct bmc_driver bmc_driver_ipmi;
#else
static const struct bmc_driver bmc_driver_ipmi = {
    .name = "ipmi",
    .missing = "libfreeipmi; configure with -DWITH_FREEIPMI=ON",
};
#endif

#ifdef HAVE_LIBVIRT
extern const struct bmc_driver bmc_driver_libvirt;
#else
static const struct bmc_driver bmc_driver_libvirt = {
    .name = "libvirt",
    .missing = "libvirt; configure with -DWITH_LIBVIRT=ON",
};
#endif

#ifdef HAVE_REDFISH
extern const struct bmc_driver bmc_driver_redfish;
#else
static const struct bmc_driver bmc_driver_redfish = {
    .name = "redfish",
    .missing = "libcurl; configure with -DWITH_REDFISH=ON",
};
#endif

/* The last slot is for a driver registered by a test. */
static const struct bmc_driver *drivers[BMC_DRIVER_MAX] = {
    &bmc_driver_fake, &bmc_driver_ipmi, &bmc_driver_libvirt, &bmc_driver_redfish, NULL,
};

void bmc_registry_set_test_driver(const struct bmc_driver *d)
{
	drivers[BMC_DRIVER_MAX - 1] = d;
}

const struct bmc_driver *bmc_driver_lookup(const char *name)
{
	for (int i = 0; name != NULL && i < BMC_DRIVER_MAX; i++)
		if (drivers[i] != NULL && strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

const struct bmc_driver *bmc_driver_at(int index)
{
	return (index >= 0 && index < BMC_DRIVER_MAX) ? drivers[index] : NULL;
}

int bmc_driver_index(const struct bmc_driver *d)
{
	for (int i = 0; d != NULL && i < BMC_DRIVER_MAX; i++)
		if (drivers[i] == d)
			return i;
	return -1;
}

/* Slot bits come from the slots themselves, so a table cannot claim what it lacks. */
unsigned bmc_driver_caps_of(const struct bmc_driver *d)
{
	unsigned c = 0;

	if (d == NULL || d->missing != NULL || d->open == NULL)
		return 0;
	if (d->power_get != NULL)
		c |= BMC_CAP_POWER_GET;
	if (d->power_set != NULL)
		c |= BMC_CAP_POWER_SET | (d->caps & (BMC_CAP_SOFT_OFF | BMC_CAP_CYCLE_AT_ONCE));
	if (d->boot_set != NULL)
		c |= d->caps & (BMC_CAP_BOOT_NEXT | BMC_CAP_BOOT_PERSISTENT);
	if (d->media_insert != NULL && d->media_eject != NULL)
		c |= BMC_CAP_VMEDIA;
	if (d->console_open != NULL && d->console_read != NULL && d->console_close != NULL)
		c |= BMC_CAP_CONSOLE;
	return c;
}

unsigned bmc_driver_caps(const char *driver)
{
	return bmc_driver_caps_of(bmc_driver_lookup(driver));
}
