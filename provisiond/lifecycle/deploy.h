/* deploy.h - the boot/deploy interface behind the lifecycle engine: how a
 * machine gets inspected, cleaned and imaged. "fake" simulates the agent in
 * process (tests, demos); "pxe" drives the real ramdisk agent over the boot
 * plane (docs/agent-protocol.md); "vmedia" does the same with the agent
 * booted from a per-boot ISO the BMC mounts as a virtual CD (docs/bmc.md).
 *
 * Each op runs on an engine worker and may block briefly. Results:
 *  DEP_DONE     finished (inspect fills *facts_json, malloc'd);
 *  DEP_PENDING  started; the engine records phase_out and looks again
 *               shortly or when the agent reports (until the deadline);
 *  DEP_ERROR    failed; err says why, for a human;
 *  DEP_ABORT    failed and already recorded (a BMC error via boot_agent).
 * An op is called again with m->phase set to the phase it returned. */
#ifndef PROVISIOND_LIFECYCLE_DEPLOY_H
#define PROVISIOND_LIFECYCLE_DEPLOY_H

#include "inventory/inventory.h"
#include "provisiond/lifecycle/context.h"

#include <stdbool.h>
#include <stddef.h>

enum dep_result { DEP_DONE, DEP_PENDING, DEP_ERROR, DEP_ABORT };

struct deploy_ctx {
	const struct lc_ctx *lc; /* inventory, catalog, limits, clock */
	const struct inv_machine *m;
	const struct inv_bmc *bmc;
	/* Network-boots the machine into the agent (pxe next boot, power
	 * on or cycle). On false the failure is recorded already. */
	bool (*boot_agent)(void *step);
	/* Boots the agent from virtual media: inserts the ISO at url, sets the
	 * CD for the next boot, powers on or cycles. On false the failure is
	 * recorded already. */
	bool (*boot_media)(void *step, const char *url);
	/* Ejects the virtual media. Records nothing: false with err filled. */
	bool (*eject_media)(void *step, char *err, size_t len);
	void *step;
	/* This step run replays an earlier one (calls.h): what the earlier
	 * run did before its first BMC operation must not be done twice. */
	bool replay;
	char *facts_json;      /* out of inspect */
	const char *phase_out; /* with DEP_PENDING */
	/* With DEP_PENDING: look again after this long (a simulated wait).
	 * 0: when the agent reports (its command's result wakes the machine)
	 * or at the state's deadline. */
	int64_t wake_in_ms;
	char err[512];
};

struct deploy_driver {
	const char *name;
	enum dep_result (*inspect)(struct deploy_ctx *c);
	enum dep_result (*clean)(struct deploy_ctx *c);
	enum dep_result (*write_image)(struct deploy_ctx *c, const struct inv_image *img,
				       const struct inv_allocation *al);
	/* After the engine set boot-from-disk and power-cycled: has the
	 * deployed OS come up? */
	enum dep_result (*wait_booted)(struct deploy_ctx *c);
	/* Optional (NULL: the interface cannot keep a machine warm). An
	 * available machine of a warm pool in phase "warming": DEP_DONE once
	 * its agent is up and can take a deploy without a reboot; DEP_PENDING
	 * with phase_out "warming" while it boots (boot it with boot_agent
	 * when it is not on). */
	enum dep_result (*warm)(struct deploy_ctx *c);
	/* Optional. The machine's attempt ended (a failure, a missed deadline)
	 * or it left the state: give back what the interface holds (inserted
	 * virtual media). Best effort, logs what fails; idempotent and cheap
	 * when nothing is held. */
	void (*release)(struct deploy_ctx *c);
};

extern const struct deploy_driver deploy_fake;
extern const struct deploy_driver deploy_pxe;
extern const struct deploy_driver deploy_vmedia;

/* The deploy interface of machine m with BMC access bmc (deploy_select.c):
 * the BMC option "deploy" when set (fake: fake|pxe, redfish: pxe|vmedia),
 * else the SKU's [sku] deploy when the BMC driver can do it, else fake for
 * fake BMCs and pxe for every real one. NULL without BMC access. x may be
 * NULL (no SKU lookup). */
const struct deploy_driver *deploy_for(const struct lc_ctx *x, const struct inv_machine *m,
				       const struct inv_bmc *bmc);

#endif
