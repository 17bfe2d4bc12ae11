/* driver_libvirt.h - pieces of the libvirt driver shared by its files (internal).
 *
 * Layout: driver_libvirt.c (the table, the connection cache, power and boot),
 * driver_libvirt_console.c (the domain's console through virDomainOpenConsole). */
#ifndef PROVISIOND_BMC_DRIVER_LIBVIRT_H
#define PROVISIOND_BMC_DRIVER_LIBVIRT_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "provisiond/bmc/driver.h"

/* The manager's connection cache (the driver's priv). */
struct lv_priv;

/* A new reference to the cached connection for uri (opened if needed), or NULL
 * with e filled. The caller closes it with virConnectClose. Thread-safe. */
virConnectPtr lv_connect(struct lv_priv *p, const char *uri, struct bmc_error *e);
/* The error libvirt recorded for this thread, as a status, with "libvirt at
 * LABEL: WHAT failed: <libvirt's message>". */
enum bmc_status lv_error(const char *label, const char *what, struct bmc_error *e);
/* The domain named by the target's options on conn, or NULL with e filled (the
 * label is "URI domain NAME", for messages). */
virDomainPtr lv_domain(virConnectPtr conn, const struct bmc_target *t, const json_t *opts,
		       char *label, size_t label_len, struct bmc_error *e);

/* driver_libvirt_console.c: the driver's console slots. */
enum bmc_status lv_console_open(void *priv, const struct bmc_target *t, const json_t *opts,
				int timeout_ms, void **cs, struct bmc_error *e);
enum bmc_status lv_console_read(void *cs, char *buf, size_t len, int wait_ms, size_t *got,
				struct bmc_error *e);
void lv_console_close(void *cs);
/* Registers libvirt's default event loop and runs it on a thread of its own, once
 * per process, before the first connection is opened (a console stream's data is
 * read by that loop). 0, or -1 when it could not start. */
int lv_event_loop_start(void);

#endif
