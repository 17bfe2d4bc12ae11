/* dnsmasq.h - the dnsmasq that provisiond starts and supervises itself
 * ([dnsmasq] mode full|proxy; off leaves it to the operator, who can use
 * the same generated configuration). Thread-safe after start. */
#ifndef PROVISIOND_DNSMASQ_H
#define PROVISIOND_DNSMASQ_H

#include "provisiond/config.h"
#include "util/util.h"

#include <stddef.h>

struct boot_dnsmasq;

/* For an operator-run dnsmasq: writes DIR/dnsmasq.conf (checked with
 * dnsmasq --test), DIR/tftp and DIR/hosts, prints the config path. Errors
 * are pxe's (pxe/pxe.h) or ERR_IO. */
enum err_status boot_dnsmasq_write(const struct config *c, struct err *e);
/* Writes the configuration as boot_dnsmasq_write does and starts the
 * supervisor thread into *out. ERR_OK with *out NULL when mode is off;
 * on failure *out is NULL and e says why. */
enum err_status boot_dnsmasq_start(const struct config *c, struct boot_dnsmasq **out,
				   struct err *e);
void boot_dnsmasq_stop(struct boot_dnsmasq *b); /* NULL ok */
/* Lists a known MAC in the dhcp-hostsdir (picked up without restart). */
void boot_dnsmasq_add_host(struct boot_dnsmasq *b, const char *mac, const char *name);

/* Lists every known machine's MACs (at start). */
struct inv;
void boot_dnsmasq_sync(struct boot_dnsmasq *b, struct inv *inv);
/* provisiond_dnsmasq_up / _starts_total. */
void boot_dnsmasq_metrics(struct boot_dnsmasq *b, void (*emit)(void *ctx, const char *line),
			  void *ctx);

#endif
