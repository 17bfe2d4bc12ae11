/* deploy.h - the boot/deploy interface behind the lifecycle engine: how a
 * machine gets inspected, cleaned and imaged. "fake" simulates the agent in
 * process (tests, demos); "pxe" drives the real ramdisk agent.
 *
 * Each op runs on an engine worker and may block for the simulated work.
 * DEP_DONE: finished; DEP_PENDING: started, completion arrives later (the
 * engine waits until the state's deadline); DEP_ERROR: failed, err says why
 * for a human. inspect fills *facts_json (malloc'd) on DEP_DONE. */
#ifndef PROVISIOND_LIFECYCLE_DEPLOY_H
#define PROVISIOND_LIFECYCLE_DEPLOY_H

#include "inventory/inventory.h"

#include <stddef.h>

struct app;

enum dep_result { DEP_DONE, DEP_PENDING, DEP_ERROR };

struct deploy_ctx {
	struct app *a;
	const struct inv_machine *m;
	const struct inv_bmc *bmc;
	char *facts_json; /* out of inspect */
	char err[512];
};

struct deploy_driver {
	const char *name;
	enum dep_result (*inspect)(struct deploy_ctx *c);
	enum dep_result (*clean)(struct deploy_ctx *c);
	enum dep_result (*write_image)(struct deploy_ctx *c, const struct inv_image *img,
				       const struct inv_allocation *al);
};

extern const struct deploy_driver deploy_fake;

/* The deploy interface for a machine's BMC driver. */
const struct deploy_driver *deploy_for(const struct inv_bmc *bmc);

#endif
