/* address.h - "host[:port]" BMC addresses (internal). */
#ifndef PROVISIOND_BMC_ADDRESS_H
#define PROVISIOND_BMC_ADDRESS_H

#include <stddef.h>

#include "provisiond/bmc/bmc.h"

/* Accepts "host", "host:port", "[v6]" and "[v6]:port" (host: a name or an address).
 * On success host holds the bare host (no brackets) and *port the port, or
 * default_port. Otherwise BMC_ERR_INVALID with "bmc.address: ..." in e. No I/O. */
enum bmc_status bmc_address_parse(const char *s, int default_port, char *host, size_t hlen,
				  int *port, struct bmc_error *e);

#endif
