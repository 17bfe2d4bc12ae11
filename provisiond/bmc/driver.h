/* driver.h - the BMC driver table (internal to provisiond/bmc/).
 *
 * One struct bmc_driver per kind of BMC, filled with named initializers. A NULL
 * operation slot means "unsupported"; the dispatch layer (bmc.c) reports that, checks
 * every argument before a slot is called, runs every slot on a watchdog thread with a
 * deadline (call.c), serializes operations per BMC and retries transient errors.
 * Drivers therefore see only valid arguments and need no locking of their instance.
 *
 * Contract for every slot:
 *  - timeout_ms is the time the call may take; a driver that can bound its own I/O
 *    (ipmi) uses it and returns BMC_ERR_TIMEOUT/UNREACHABLE itself; the watchdog
 *    catches the others a little later.
 *  - on failure the slot fills e (status and a sentence naming the address, never
 *    the password) and returns the same status.
 *  - slots may run on different threads one after another for one instance, never
 *    at the same time.
 *  - time comes from util (util_now_ms, util_sleep_ms), so tests can run it virtually.
 */
#ifndef PROVISIOND_BMC_DRIVER_H
#define PROVISIOND_BMC_DRIVER_H

#include <jansson.h>

#include "provisiond/bmc/bmc.h"
#include "util/util.h"

struct bmc_driver {
	const char *name;
	unsigned caps;	     /* refinements: BMC_CAP_SOFT_OFF, BMC_CAP_BOOT_* */
	const char *missing; /* non-NULL: not compiled in; names the missing library */

	/* Optional per-manager state (a connection cache, the fake machines). init
	 * returns 0 or -1 (allocation failure); fini accepts what init produced. */
	int (*init)(void **priv);
	void (*fini)(void *priv);

	/* No I/O. opts is the parsed options object; common options are checked. */
	enum bmc_status (*validate)(const struct bmc_target *t, const json_t *opts,
				    struct bmc_error *e);

	/* Allocates *inst (freed by close, which accepts NULL and must not block for
	 * longer than a call). The target strings are borrowed for this call only. */
	enum bmc_status (*open)(void *priv, const struct bmc_target *t, const json_t *opts,
				int timeout_ms, void **inst, struct bmc_error *e);
	void (*close)(void *inst);

	enum bmc_status (*power_get)(void *inst, int timeout_ms, enum bmc_power_state *out,
				     struct bmc_error *e);
	enum bmc_status (*power_set)(void *inst, int timeout_ms, enum bmc_power_action a,
				     struct bmc_error *e);
	enum bmc_status (*boot_set)(void *inst, int timeout_ms, enum bmc_boot_device d,
				    bool persistent, struct bmc_error *e);
	/* Virtual CD: insert the image at url (the BMC fetches it), or eject. Both
	 * or neither (BMC_CAP_VMEDIA comes from the slots). url is borrowed. */
	enum bmc_status (*media_insert)(void *inst, int timeout_ms, const char *url,
					struct bmc_error *e);
	enum bmc_status (*media_eject)(void *inst, int timeout_ms, struct bmc_error *e);

	/* Serial console capture (optional; all three or none, BMC_CAP_CONSOLE comes
	 * from the slots). Unlike the slots above these run outside the dispatch
	 * layer's serialization and watchdog: a capture is one long-lived session
	 * beside the BMC's short operations, read by one thread of the console
	 * module. Each slot therefore bounds its own I/O:
	 *  - console_open connects (at most timeout_ms; the libvirt driver cannot
	 *    bound libvirt's calls) and allocates *cs (freed by console_close,
	 *    which accepts NULL and returns within a second). BMC_ERR_UNSUPPORTED
	 *    when this machine has no console the driver can capture (final: the
	 *    console module does not retry it while the machine stays in its state).
	 *  - console_read waits at most wait_ms for bytes: BMC_OK with *got = 0 when
	 *    none came, *got > 0 bytes in buf otherwise; an error when the console
	 *    ended (the BMC closed the session), and the caller closes and reopens.
	 * Sessions of one driver may run on several threads at once, one thread
	 * per session. */
	enum bmc_status (*console_open)(void *priv, const struct bmc_target *t, const json_t *opts,
					int timeout_ms, void **cs, struct bmc_error *e);
	enum bmc_status (*console_read)(void *cs, char *buf, size_t len, int wait_ms, size_t *got,
					struct bmc_error *e);
	void (*console_close)(void *cs);
	/* Non-NULL: console capture left out of the build; names the library. */
	const char *console_missing;
};

/* Built-in drivers, defined in driver_*.c (or stubs in registry.c). */
extern const struct bmc_driver bmc_driver_fake;

/* Registry (registry.c). Lookup by name returns NULL for unknown names. Index is
 * stable for the process, 0 <= index < BMC_DRIVER_MAX, used for metrics and priv. */
#define BMC_DRIVER_MAX 5
const struct bmc_driver *bmc_driver_lookup(const char *name);
const struct bmc_driver *bmc_driver_at(int index);
int bmc_driver_index(const struct bmc_driver *d);
unsigned bmc_driver_caps_of(const struct bmc_driver *d);

/* Tests only: registers one extra driver in the last slot (NULL removes it). Call
 * before creating managers; not thread-safe. */
void bmc_registry_set_test_driver(const struct bmc_driver *d);

/* Per-manager state of a driver (NULL if it has none). */
void *bmc_manager_driver_priv(struct bmc_manager *m, const struct bmc_driver *d);

/* Error helpers (error.c). e must not be NULL. field may be NULL. */
enum bmc_status bmc_error_set(struct bmc_error *e, enum bmc_status s, const char *field,
			      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void bmc_error_clear(struct bmc_error *e);

#endif
