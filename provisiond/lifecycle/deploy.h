/* deploy.h - the boot/deploy interface behind the lifecycle engine: how a
 * machine gets inspected, cleaned and imaged. "fake" simulates the agent in
 * process (tests, demos); "pxe" drives the real ramdisk agent over the boot
 * plane (docs/agent-protocol.md).
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
	void *step;
	char *facts_json;      /* out of inspect */
	const char *phase_out; /* with DEP_PENDING */
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
};

extern const struct deploy_driver deploy_fake;
extern const struct deploy_driver deploy_pxe;

/* The deploy interface for a machine's BMC driver: fake BMCs get the
 * simulated agent, every real BMC the pxe boot plane. */
const struct deploy_driver *deploy_for(const struct inv_bmc *bmc);

#endif
