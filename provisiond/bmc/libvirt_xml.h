/* libvirt_xml.h - the boot order in a libvirt domain XML (internal; pure, no libvirt
 * calls, so it is unit-tested without a hypervisor). */
#ifndef PROVISIOND_BMC_LIBVIRT_XML_H
#define PROVISIOND_BMC_LIBVIRT_XML_H

#include "provisiond/bmc/bmc.h"

/* Returns a malloc'd copy of xml (as libvirt formats it: one element per line) whose
 * <os> element lists exactly the boot devices for d: pxe -> network, then hd;
 * disk -> hd; cd -> cdrom, then hd. Every other line is kept byte for byte. On failure returns NULL
 * with e filled: BMC_ERR_UNSUPPORTED when the domain orders boot per device
 * (<boot order='N'/>, which libvirt forbids mixing with <os><boot/>), BMC_ERR_FAILED
 * when there is no <os> element on lines of its own or no memory. */
char *bmc_libvirt_xml_set_boot(const char *xml, enum bmc_boot_device d, struct bmc_error *e);

#endif
