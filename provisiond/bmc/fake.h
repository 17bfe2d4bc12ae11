/* fake.h - test controls of the fake driver (internal; tests only, never the daemon).
 * All functions are thread-safe and act on the manager's fake machines by key. */
#ifndef PROVISIOND_BMC_FAKE_H
#define PROVISIOND_BMC_FAKE_H

#include "provisiond/bmc/bmc.h"

/* The next `count` calls of slot `call` ("open", "power_get", "power_set",
 * "boot_set") for key fail with status st (the machine is created if needed). */
int bmc_fake_inject(struct bmc_manager *m, const char *key, const char *call, enum bmc_status st,
		    int count);

/* Actions applied to key, comma-separated ("on,cycle,boot:pxe:next"). Returns the
 * length, or -1 if key is unknown. */
int bmc_fake_history(struct bmc_manager *m, const char *key, char *buf, size_t len);

/* Calls of slot `call` made for key (injected failures included). */
int bmc_fake_calls(struct bmc_manager *m, const char *key, const char *call);

/* Most calls in flight at once: in all fake machines, and in the one of key. */
int bmc_fake_max_in_flight(struct bmc_manager *m);
int bmc_fake_max_in_flight_key(struct bmc_manager *m, const char *key);

#endif
